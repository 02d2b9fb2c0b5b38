/*
 * fuzz_rdpfile.c - feeds any bytes to the .rdp pre-check: it must accept or
 * refuse with a message, never crash; what it accepts must be well formed.
 */
#include "rdp_channel.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rc_rdpfile f;
    struct scl_err e = {0};
    if (rc_rdpfile_parse("fuzz.rdp", data, size, &f, &e) != SCL_OK) {
        if (!e.msg[0]) __builtin_trap(); /* a refusal always says why */
        return 0;
    }
    for (size_t i = 0; i < f.count; i++) {
        const struct rc_rdp_entry *x = &f.entries[i];
        if (!x->key[0] || strchr(x->key, ':') || strlen(x->key) > RC_RDPFILE_MAX_KEY)
            __builtin_trap();
        if (x->type != 'i' && x->type != 's' && x->type != 'b') __builtin_trap();
        if (rc_rdpfile_find(&f, x->key) == NULL) __builtin_trap();
    }
    (void)rc_rdpfile_int(&f, "redirectsmartcards", 1);
    rc_rdpfile_free(&f);
    return 0;
}
