/*
 * fuzz_vpcd_frame.c - vsmartcard's vpcd framing as our card side decodes it:
 * the input is the byte stream vpcd would send (2-byte big-endian length,
 * 1-byte control messages, APDU frames), played into a fresh card until the
 * first frame the link would refuse.  Every reply must be one well-formed
 * frame of the right size for what was asked.  Not for APDU semantics
 * (fuzz_apdu) nor for the socket loop around it.
 */
#include "fuzz_card.h"
#include "vpcd_frame.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keys are minted once: a card per input only takes references.  9A
 * RSA-2048 and 9C P-256; 9D and 9E absent. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const enum vc_alg algs[VC_NSLOTS] = {VC_ALG_RSA2048, VC_ALG_P256};
    (void)argc, (void)argv;
    fuzz_card_keys(algs);
    return 0;
}

/* The reply must be exactly one frame: a length that covers the rest, and a
 * payload that fits what the frame asked for. */
static void check_reply(const struct vc_vpcd_frame *f, const struct wcur *w)
{
    struct cur c;
    cur_init(&c, wcur_data(w), wcur_len(w));
    if (f->kind != VC_VPCD_APDU && f->kind != VC_VPCD_CTRL_ATR) {
        if (wcur_len(w) != 0) __builtin_trap(); /* power off/on/reset: silence */
        return;
    }
    uint16_t n = cur_u16be(&c);
    if (!cur_ok(&c) || n != cur_left(&c)) __builtin_trap();
    if (f->kind == VC_VPCD_CTRL_ATR && (n < 2 || n > 33)) __builtin_trap(); /* ISO 7816-3 ATR */
    if (f->kind == VC_VPCD_APDU && (n < 2 || n > VC_RESP_MAX)) __builtin_trap();
    if (2 + (size_t)n > VC_VPCD_REPLY_MAX) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vc_card *card = fuzz_card_new(600, 0);
    struct cur c;
    cur_init(&c, data, size);
    while (cur_left(&c)) {
        struct vc_vpcd_frame f;
        struct scl_err e = {0};
        size_t start = cur_off(&c);
        if (vc_vpcd_frame_decode(&c, 0, &f, &e) != SCL_OK) {
            /* The link would close here, with a message that says where. */
            if (strncmp(e.msg, "vpcd: byte ", 11) ||
                (e.code != SCL_E_FORMAT && e.code != SCL_E_TRUNCATED))
                __builtin_trap();
            break;
        }
        if (cur_off(&c) - start < 3) __builtin_trap(); /* a length and at least one byte */
        uint8_t buf[VC_VPCD_REPLY_MAX];
        struct wcur w;
        wcur_init_fixed(&w, buf, sizeof buf);
        if (vc_vpcd_frame_handle(card, &f, &w, &e) != SCL_OK) __builtin_trap();
        check_reply(&f, &w);
    }
    vc_card_free(card);
    ERR_clear_error();
    return 0;
}
