/*
 * fuzz_card.c - the in-memory card shared by fuzz_apdu and fuzz_vpcd_frame
 * (fuzz_card.h).  Not for checking anything: the targets do that.
 */
#include "fuzz_card.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

static EVP_PKEY *keys[VC_NSLOTS];
static enum vc_alg key_algs[VC_NSLOTS];
static uint8_t fake_cert[1200]; /* the card wraps certificate bytes unread */

static EVP_PKEY *key_gen(enum vc_alg alg)
{
    switch (alg) {
    case VC_ALG_RSA2048: return EVP_RSA_gen(2048);
    case VC_ALG_P256: return EVP_EC_gen("P-256");
    case VC_ALG_P384: return EVP_EC_gen("P-384");
    default: return NULL;
    }
}

void fuzz_card_keys(const enum vc_alg algs[VC_NSLOTS])
{
    for (int i = 0; i < VC_NSLOTS; i++) {
        if (keys[i] || algs[i] == VC_ALG_NONE) continue;
        if (!(keys[i] = key_gen(algs[i]))) abort();
        key_algs[i] = algs[i];
    }
    for (size_t i = 0; !fake_cert[1] && i < sizeof fake_cert; i++)
        fake_cert[i] = (uint8_t)(i * 31);
}

struct vc_card *fuzz_card_new(size_t cert_len, size_t shrink)
{
    struct vc_card_spec spec = {0};
    memset(spec.guid, 0x42, sizeof spec.guid);
    memset(spec.fascn, 0xD4, sizeof spec.fascn);
    strcpy(spec.pin, "123456");
    strcpy(spec.puk, "12345678");
    spec.pin_tries = 3;
    spec.puk_tries = 3;
    if (cert_len > sizeof fake_cert) abort();
    for (int i = 0; i < VC_NSLOTS; i++) {
        if (!keys[i]) continue;
        struct vc_slot *s = &spec.slots[i];
        s->present = true;
        s->alg = key_algs[i];
        s->cert_len = cert_len - (size_t)i * shrink;
        if (!(s->cert_der = malloc(s->cert_len))) abort();
        memcpy(s->cert_der, fake_cert, s->cert_len);
        EVP_PKEY_up_ref(keys[i]);
        s->key = keys[i];
    }
    struct vc_card *card = vc_card_new(&spec);
    if (!card) abort();
    return card;
}
