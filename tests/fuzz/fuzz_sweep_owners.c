/*
 * fuzz_sweep_owners.c - libFuzzer target for sweep's owners file: any text
 * gives SCL_OK or a "name:line: ..." error, never a crash, hang or leak; an
 * accepted file has at least one identity per entry.
 */
#include "sweep_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sw_owners o;
    struct scl_err e = {0};
    if (sw_owners_parse("owners", data, size, &o, &e) != SCL_OK) {
        if (strncmp(e.msg, "owners:", 7))
            abort();
        return 0;
    }
    for (size_t i = 0; i < o.n; i++)
        if (o.v[i].nids == 0 || !o.v[i].key[0])
            abort();
    if (o.n)
        (void)sw_owners_find(&o, "srv", o.v[0].key);
    sw_owners_free(&o);
    return 0;
}
