/*
 * fuzz_apdu.c - feeds arbitrary APDU sequences to a fresh virtual PIV card
 * and checks the card's promises: it never fails, never answers with fewer
 * than 2 or more than VC_RESP_MAX bytes, never reads past a command.
 * Input: records of [L][L bytes]; L=0xFF means 255 + the next byte (to
 * reach 261-byte APDUs); L=0 resets the card.  Not a protocol test.
 */
#include "vcard.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <stdlib.h>
#include <string.h>

static EVP_PKEY *keys[VC_NSLOTS];
static uint8_t fake_cert[1200]; /* the card wraps certificate bytes unread */

static void keys_make(void)
{
    keys[VC_SLOT_9A] = EVP_RSA_gen(2048);
    keys[VC_SLOT_9C] = EVP_EC_gen("P-256");
    keys[VC_SLOT_9D] = EVP_EC_gen("P-384");
    if (!keys[VC_SLOT_9A] || !keys[VC_SLOT_9C] || !keys[VC_SLOT_9D]) abort();
    for (size_t i = 0; i < sizeof fake_cert; i++)
        fake_cert[i] = (uint8_t)(i * 31);
}

/* 9A RSA-2048, 9C P-256, 9D P-384; 9E absent. */
static struct vc_card *card_make(void)
{
    static const enum vc_alg algs[VC_NSLOTS] = {VC_ALG_RSA2048, VC_ALG_P256, VC_ALG_P384,
                                                VC_ALG_NONE};
    struct vc_card_spec spec = {0};
    memset(spec.guid, 0x42, sizeof spec.guid);
    memset(spec.fascn, 0xD4, sizeof spec.fascn);
    strcpy(spec.pin, "123456");
    strcpy(spec.puk, "12345678");
    spec.pin_tries = 3;
    spec.puk_tries = 3;
    for (int i = 0; i < VC_NSLOTS; i++) {
        if (!keys[i]) continue;
        struct vc_slot *s = &spec.slots[i];
        s->present = true;
        s->alg = algs[i];
        s->cert_len = sizeof fake_cert - (size_t)i * 200;
        s->cert_der = malloc(s->cert_len);
        if (!s->cert_der) abort();
        memcpy(s->cert_der, fake_cert, s->cert_len);
        EVP_PKEY_up_ref(keys[i]);
        s->key = keys[i];
    }
    struct vc_card *card = vc_card_new(&spec);
    if (!card) abort();
    return card;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!keys[VC_SLOT_9A]) keys_make();
    struct vc_card *card = card_make();
    struct cur c;
    cur_init(&c, data, size);
    while (cur_left(&c)) {
        size_t len = cur_u8(&c);
        if (len == 0xFF) len += cur_u8(&c);
        if (len == 0) {
            vc_card_reset(card);
            continue;
        }
        if (len > cur_left(&c)) len = cur_left(&c);
        if (len == 0) break;
        /* A heap copy of exactly len bytes so ASan sees any over-read. */
        uint8_t *cmd = malloc(len);
        if (!cmd) abort();
        memcpy(cmd, cur_bytes(&c, len), len);
        uint8_t resp[VC_RESP_MAX];
        size_t n = vc_card_apdu(card, cmd, len, resp);
        free(cmd);
        if (n < 2 || n > VC_RESP_MAX) abort();
    }
    vc_card_free(card);
    return 0;
}
