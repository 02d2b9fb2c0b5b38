/*
 * fuzz_store_element.c - libFuzzer target for the store element decoder and
 * the CERT_KEY_PROV_INFO decoder: any bytes give SCL_OK or an error, never a
 * crash, hang or leak; what decodes re-encodes and decodes to the same thing.
 */
#include "propagator.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

static void check_roundtrip(const struct cs_element *el)
{
    uint8_t *buf;
    size_t len;
    struct scl_err e = {0};
    if (cs_element_encode(el, &buf, &len, &e))
        abort();
    struct cs_element back;
    if (cs_element_decode(buf, len, &back, &e) || back.nprops != el->nprops ||
        memcmp(back.sha1, el->sha1, 20))
        abort();
    cs_element_free(&back);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_element el;
    struct scl_err e = {0};
    if (cs_element_decode(data, size, &el, &e) == SCL_OK) {
        if (el.raw_len != size || memcmp(el.raw, data, size))
            abort(); /* raw must be exactly what was decoded */
        struct cs_key_prov_info kpi;
        (void)cs_element_kpi(&el, &kpi, &e);
        (void)cs_certid_match("Firstname Lastname", &el, 0);
        check_roundtrip(&el);
        cs_element_free(&el);
    }
    struct cs_key_prov_info kpi;
    (void)cs_kpi_decode(data, size, &kpi, &e);
    /* A failed d2i leaves its reasons on OpenSSL's error queue; left there,
     * they count as more mallocs than frees, and libFuzzer then runs a full
     * leak check after the input (most of the time this target used to spend). */
    ERR_clear_error();
    return 0;
}
