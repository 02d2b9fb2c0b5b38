/*
 * fuzz_sst.c - libFuzzer target for .sst import: any bytes give SCL_OK or an
 * error, never a crash, hang or leak; an accepted file re-encodes to the
 * same bytes (our writer and reader agree on the layout, raw bytes kept).
 */
#include "propagator.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_element *els;
    size_t n;
    struct scl_err e = {0};
    if (cs_sst_decode(data, size, &els, &n, &e) != SCL_OK)
        return 0;
    uint8_t *buf;
    size_t len;
    if (cs_sst_encode(els, n, &buf, &len, &e))
        abort();
    /* Decoded elements keep their raw bytes, so the file comes back exactly. */
    if (len != size || memcmp(buf, data, size))
        abort();
    free(buf);
    cs_elements_free(els, n);
    return 0;
}
