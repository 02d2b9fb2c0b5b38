/*
 * fuzz_esc_call.c - feeds MS-RDPESC call buffers to the codec: the first 4
 * bytes (LE, modulo the table size) pick the IOCTL, the rest is the buffer.
 * Whatever decodes must trace, re-encode and re-decode to the same bytes.
 */
#include "rdpesc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    uint32_t pick = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                    (uint32_t)data[3] << 24;
    const struct esc_ioctl *io = &esc_ioctls[pick % esc_ioctl_count];
    struct esc_msg m, again;
    struct scl_err e;
    if (esc_decode_call(io->code, data + 4, size - 4, &m, &e) == SCL_OK) {
        free(esc_trace_json(&m));
        uint8_t *b1, *b2;
        size_t n1, n2;
        /* A decoded call is always encodable, and encoding is a fixed point. */
        if (esc_encode_call(&m, &b1, &n1, &e) != SCL_OK) __builtin_trap();
        if (esc_decode_call(io->code, b1, n1, &again, &e) != SCL_OK) __builtin_trap();
        if (esc_encode_call(&again, &b2, &n2, &e) != SCL_OK || n1 != n2 || memcmp(b1, b2, n1))
            __builtin_trap();
        esc_msg_free(&again);
        free(b1);
        free(b2);
    }
    esc_msg_free(&m);
    return 0;
}
