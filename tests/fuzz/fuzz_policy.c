/*
 * fuzz_policy.c - arbitrary bytes as a certprop policy file: the parser must
 * return OK or an error with a "name:line:" message, never crash or hang, and
 * leave only valid values in the policy.  Not a test of what values mean.
 */
#include "propagator.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cp_policy p;
    struct scl_err e = {0};
    cp_policy_defaults(&p);
    int rc = cp_policy_parse("fuzz.reg", data, size, &p, &e);
    if (rc != SCL_OK && strncmp(e.msg, "fuzz.reg:", 9) != 0) abort();
    if ((unsigned)p.root_cleanup > CP_ROOT_CLEANUP_ON_LOGOFF ||
        (p.key_provider != CP_KEY_PROVIDER_CSP && p.key_provider != CP_KEY_PROVIDER_KSP))
        abort();
    return 0;
}
