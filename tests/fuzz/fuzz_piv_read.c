/*
 * fuzz_piv_read.c - certprop's PIV reader against a card that answers with
 * arbitrary bytes: it must end with OK or an error, return only certificates
 * that parse, and never loop, crash or read past a response.
 * Input: records [L][L bytes], each the next response APDU (data + SW1 SW2);
 * when they run out the card is "pulled".  Not a test of a real card.
 */
#include "propagator.h"

#include <openssl/x509.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct script {
    struct cur in;
    int napdus;
};

static int scripted_transmit(void *ctx, const uint8_t *cmd, size_t len, uint8_t *resp, size_t *rlen,
                             struct scl_err *e)
{
    struct script *s = ctx;
    (void)cmd;
    (void)len;
    /* Bounded: the reader must give up on an endless 61 xx chain by itself. */
    if (++s->napdus > 4000) abort();
    uint8_t n = cur_u8(&s->in);
    if (!cur_ok(&s->in) || n > *rlen || !cur_copy(&s->in, resp, n))
        return scl_errf(e, SCL_E_STATE, "card pulled");
    *rlen = n;
    return SCL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct script s = {.napdus = 0};
    struct cp_card card = {0};
    struct scl_err e = {0};
    cur_init(&s.in, data, size);
    struct cp_apdu_io io = {scripted_transmit, &s};
    int rc = cp_piv_read_card(&io, &card, &e);
    if (rc != SCL_OK && (card.ncerts || card.nskips)) abort(); /* nothing partial on failure */
    for (size_t i = 0; i < card.ncerts; i++) {
        const uint8_t *q = card.certs[i].der;
        X509 *x = d2i_X509(NULL, &q, (long)card.certs[i].len);
        if (!x) abort();
        X509_free(x);
    }
    cp_card_free(&card);
    return 0;
}
