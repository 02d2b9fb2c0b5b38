/*
 * err.c - the error record every fallible function fills in.
 * Not a logger: it only formats one message for the caller to print.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>

int scl_errf(struct scl_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int scl_err_wrap(struct scl_err *e, const char *fmt, ...)
{
    if (!e)
        return SCL_E_INVAL;
    char prefix[256], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old);
    return e->code;
}

const char *scl_code_name(int code)
{
    static const char *const names[] = {
        [SCL_OK] = "ok",
        [SCL_E_INVAL] = "invalid",
        [SCL_E_FORMAT] = "bad format",
        [SCL_E_TRUNCATED] = "truncated",
        [SCL_E_IO] = "I/O error",
        [SCL_E_NOTFOUND] = "not found",
        [SCL_E_STATE] = "wrong state",
        [SCL_E_TIMEOUT] = "timed out",
        [SCL_E_CRYPTO] = "crypto error",
        [SCL_E_PCSC] = "PC/SC error",
        [SCL_E_NOMEM] = "out of memory",
    };
    if (code < 0 || (size_t)code >= sizeof names / sizeof names[0] || !names[code])
        return "unknown error";
    return names[code];
}
