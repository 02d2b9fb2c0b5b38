/*
 * fuzz_apdu.c - feeds arbitrary APDU sequences to a fresh virtual PIV card
 * and checks the card's promises: it never fails, never answers with fewer
 * than 2 or more than VC_RESP_MAX bytes, never reads past a command.
 * Input: records of [L][L bytes]; L=0xFF means 255 + the next byte (to
 * reach 261-byte APDUs); L=0 resets the card.  Not a protocol test.
 */
#include "fuzz_card.h"

#include <stdlib.h>
#include <string.h>

/* 9A RSA-2048, 9C P-256, 9D P-384; 9E absent. */
static const enum vc_alg algs[VC_NSLOTS] = {VC_ALG_RSA2048, VC_ALG_P256, VC_ALG_P384, VC_ALG_NONE};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_card_keys(algs);
    struct vc_card *card = fuzz_card_new(1200, 200);
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
