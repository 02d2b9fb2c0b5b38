/*
 * sst.c - .sst files (CertSaveStore with CERT_STORE_SAVE_AS_STORE): a magic,
 * store elements back to back, and a 12-byte all-zero end entry.
 * Not PKCS#7 (.p7b) export, and CRL/CTL elements are refused, not kept.
 */
#include "propagator.h"

#include <stdlib.h>
#include <string.h>

#define SST_MAX_ELEMENTS 100000

static const uint8_t sst_magic[8] = {0, 0, 0, 0, 'C', 'E', 'R', 'T'};

int cs_sst_encode(const struct cs_element *els, size_t n, uint8_t **out, size_t *len,
                  struct scl_err *e)
{
    struct wcur w;
    wcur_init_dyn(&w);
    wcur_bytes(&w, sst_magic, sizeof sst_magic);
    for (size_t i = 0; i < n; i++) {
        if (els[i].raw) {
            wcur_bytes(&w, els[i].raw, els[i].raw_len);
            continue;
        }
        uint8_t *buf;
        size_t blen;
        int rc = cs_element_encode(&els[i], &buf, &blen, e);
        if (rc) {
            wcur_free(&w);
            return scl_err_wrap(e, "element %zu", i);
        }
        wcur_bytes(&w, buf, blen);
        free(buf);
    }
    wcur_u32le(&w, 0); /* end entry: propId 0 */
    wcur_u32le(&w, 0); /* encoding 0 */
    wcur_u32le(&w, 0); /* cb 0 */
    *out = wcur_take(&w, len);
    return *out ? SCL_OK : scl_errf(e, SCL_E_NOMEM, ".sst: out of memory");
}

/* At the end entry?  It must be all zero and the last thing in the file. */
static int at_end_entry(struct cur *c, bool *end, struct scl_err *e)
{
    struct cur peek = *c;
    uint32_t prop_id = cur_u32le(&peek);
    *end = false;
    if (!cur_ok(&peek) || prop_id != 0)
        return SCL_OK; /* the element decoder reports truncation precisely */
    size_t at = cur_off(c);
    uint32_t encoding = cur_u32le(&peek);
    uint32_t cb = cur_u32le(&peek);
    if (!cur_ok(&peek))
        return scl_errf(e, SCL_E_TRUNCATED, "offset %zu: end entry needs 12 bytes, %zu left", at,
                        cur_left(c));
    if (encoding != 0 || cb != 0)
        return scl_errf(e, SCL_E_FORMAT, "offset %zu: propId 0 with encoding %u cb %u (end entry must be 12 zero bytes)",
                        at, encoding, cb);
    if (cur_left(&peek))
        return scl_errf(e, SCL_E_FORMAT, "offset %zu: %zu bytes after the end entry",
                        cur_off(&peek), cur_left(&peek));
    *c = peek;
    *end = true;
    return SCL_OK;
}

static int push_element(struct cs_element **els, size_t *n, struct cs_element *el,
                        struct scl_err *e)
{
    struct cs_element *ne = realloc(*els, (*n + 1) * sizeof *ne);
    if (!ne)
        return scl_errf(e, SCL_E_NOMEM, ".sst: out of memory");
    *els = ne;
    ne[(*n)++] = *el;
    return SCL_OK;
}

static int decode_body(struct cur *c, struct cs_element **els, size_t *n, struct scl_err *e)
{
    for (;;) {
        if (cur_left(c) == 0)
            return scl_errf(e, SCL_E_TRUNCATED, "offset %zu: file ends without the 12-byte end entry",
                            cur_off(c));
        bool end;
        int rc = at_end_entry(c, &end, e);
        if (rc || end)
            return rc;
        if (*n >= SST_MAX_ELEMENTS)
            return scl_errf(e, SCL_E_FORMAT, "offset %zu: more than %d elements", cur_off(c),
                            SST_MAX_ELEMENTS);
        size_t at = cur_off(c);
        struct cs_element el;
        rc = cs_element_decode_cur(c, &el, e);
        if (rc)
            return scl_err_wrap(e, "element %zu at offset %zu", *n, at);
        rc = push_element(els, n, &el, e);
        if (rc) {
            cs_element_free(&el);
            return rc;
        }
    }
}

int cs_sst_decode(const uint8_t *p, size_t len, struct cs_element **els, size_t *n,
                  struct scl_err *e)
{
    *els = NULL;
    *n = 0;
    struct cur c;
    cur_init(&c, p, len);
    const uint8_t *magic = cur_bytes(&c, sizeof sst_magic);
    if (!magic)
        return scl_errf(e, SCL_E_TRUNCATED, ".sst: %zu bytes, the header alone is 8", len);
    if (memcmp(magic, sst_magic, sizeof sst_magic))
        return scl_errf(e, SCL_E_FORMAT, ".sst: offset 0: header is not 00 00 00 00 'CERT'");
    struct cur body;
    cur_init(&body, p, len);
    cur_skip(&body, sizeof sst_magic);
    int rc = decode_body(&body, els, n, e);
    if (rc) {
        cs_elements_free(*els, *n);
        *els = NULL;
        *n = 0;
        return scl_err_wrap(e, ".sst");
    }
    return SCL_OK;
}
