/*
 * esc_ndr.c - the NDR primitives MS-RDPESC objects are made of (pointers with
 * ReferentIDs, context/handle, conformant arrays, varying strings, UTF-16LE).
 * Not for the structures themselves (esc_calls.c, esc_returns.c) or headers.
 */
#include "esc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reader ---------------------------------------------------------------- */

void esc_rd_init(struct esc_rd *r, const uint8_t *p, size_t n, size_t base, const char *what,
                 struct scl_err *e)
{
    cur_init(&r->c, p, n);
    r->base = base;
    r->next_referent = ESC_NDR_FIRST_REFERENT;
    r->what = what;
    r->e = e;
    r->rc = SCL_OK;
}

bool esc_rd_ok(const struct esc_rd *r)
{
    return r->rc == SCL_OK;
}
size_t esc_rd_offset(const struct esc_rd *r)
{
    return r->base + cur_off(&r->c);
}

void esc_rd_fail(struct esc_rd *r, int code, const char *field, size_t off, const char *fmt, ...)
{
    if (r->rc) return;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    r->rc = scl_errf(r->e, code, "%s: %s: %s at offset %zu", r->what, field, what, off);
    cur_fail(&r->c);
}

/* Take n bytes or record a truncation naming the field. */
static const uint8_t *rd_take(struct esc_rd *r, const char *field, size_t n)
{
    if (r->rc) return NULL;
    size_t off = esc_rd_offset(r), left = cur_left(&r->c);
    const uint8_t *p = cur_bytes(&r->c, n);
    if (!p) esc_rd_fail(r, SCL_E_TRUNCATED, field, off, "needs %zu bytes, %zu left", n, left);
    return p;
}

uint32_t esc_rd_u32(struct esc_rd *r, const char *field)
{
    const uint8_t *p = rd_take(r, field, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
             : 0;
}

int32_t esc_rd_i32(struct esc_rd *r, const char *field)
{
    return (int32_t)esc_rd_u32(r, field);
}

void esc_rd_fixed(struct esc_rd *r, const char *field, void *dst, size_t n)
{
    const uint8_t *p = rd_take(r, field, n);
    if (p && n) memcpy(dst, p, n);
}

bool esc_rd_ptr(struct esc_rd *r, const char *field, bool required)
{
    size_t off = esc_rd_offset(r);
    uint32_t id = esc_rd_u32(r, field);
    if (r->rc) return false;
    if (id == 0) {
        if (required)
            esc_rd_fail(r, SCL_E_FORMAT, field, off, "NULL pointer where one is required");
        return false;
    }
    /* FreeRDP 2.11 refuses any ReferentID but the next in sequence. */
    if (id != r->next_referent) {
        esc_rd_fail(r, SCL_E_FORMAT, field, off, "ReferentID 0x%08x, expected 0x%08x", id,
                    r->next_referent);
        return false;
    }
    r->next_referent += 4;
    return true;
}

void esc_rd_cap(struct esc_rd *r, const char *field, uint32_t v, uint32_t max, size_t off)
{
    if (!r->rc && v > max)
        esc_rd_fail(r, SCL_E_FORMAT, field, off, "%u exceeds the limit %u", v, max);
}

/* NDR aligns every array to 4; the pad content is not checked (FreeRDP
 * skips it too). */
static void rd_align4(struct esc_rd *r, const char *field)
{
    size_t mis = cur_off(&r->c) % 4;
    if (mis) (void)rd_take(r, field, 4 - mis);
}

void esc_rd_context(struct esc_rd *r, struct esc_context *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    size_t off = esc_rd_offset(r);
    ctx->cbContext = esc_rd_u32(r, "cbContext");
    if (!r->rc && ctx->cbContext != 0 && ctx->cbContext != 4 && ctx->cbContext != 8)
        esc_rd_fail(r, SCL_E_FORMAT, "cbContext", off, "%u is not 0, 4 or 8", ctx->cbContext);
    off = esc_rd_offset(r);
    bool present = esc_rd_ptr(r, "pbContext", false);
    if (!r->rc && present != (ctx->cbContext != 0))
        esc_rd_fail(r, SCL_E_FORMAT, "pbContext", off, "pointer %s but cbContext %u",
                    present ? "set" : "NULL", ctx->cbContext);
}

void esc_rd_context_ref(struct esc_rd *r, struct esc_context *ctx)
{
    if (r->rc || ctx->cbContext == 0) return;
    size_t off = esc_rd_offset(r);
    uint32_t n = esc_rd_u32(r, "pbContext");
    if (!r->rc && n != ctx->cbContext)
        esc_rd_fail(r, SCL_E_FORMAT, "pbContext", off, "MaxCount %u != cbContext %u", n,
                    ctx->cbContext);
    esc_rd_fixed(r, "pbContext", ctx->pbContext, ctx->cbContext);
}

void esc_rd_handle(struct esc_rd *r, struct esc_handle *h)
{
    esc_rd_context(r, &h->Context);
    memset(h->pbHandle, 0, sizeof h->pbHandle);
    size_t off = esc_rd_offset(r);
    h->cbHandle = esc_rd_u32(r, "cbHandle");
    if (!r->rc && h->cbHandle != 4 && h->cbHandle != 8)
        esc_rd_fail(r, SCL_E_FORMAT, "cbHandle", off, "%u is not 4 or 8", h->cbHandle);
    (void)esc_rd_ptr(r, "pbHandle", true);
}

void esc_rd_handle_ref(struct esc_rd *r, struct esc_handle *h)
{
    size_t off = esc_rd_offset(r);
    uint32_t n = esc_rd_u32(r, "pbHandle");
    if (!r->rc && n != h->cbHandle)
        esc_rd_fail(r, SCL_E_FORMAT, "pbHandle", off, "MaxCount %u != cbHandle %u", n, h->cbHandle);
    esc_rd_fixed(r, "pbHandle", h->pbHandle, h->cbHandle);
}

/* MaxCount of a conformant array, which must equal the count the structure
 * announced (FreeRDP checks this for [size_is] buffers). */
bool esc_rd_max_count(struct esc_rd *r, const char *field, uint32_t count)
{
    size_t off = esc_rd_offset(r);
    uint32_t max = esc_rd_u32(r, field);
    if (!r->rc && max != count)
        esc_rd_fail(r, SCL_E_FORMAT, field, off, "MaxCount %u != announced count %u", max, count);
    return !r->rc;
}

uint8_t *esc_rd_bytes(struct esc_rd *r, const char *field, uint32_t count, uint32_t max)
{
    size_t off = esc_rd_offset(r);
    esc_rd_cap(r, field, count, max, off);
    if (!esc_rd_max_count(r, field, count)) return NULL;
    const uint8_t *p = rd_take(r, field, count);
    if (!p || count == 0) {
        rd_align4(r, field);
        return NULL;
    }
    uint8_t *out = malloc(count);
    if (!out) {
        esc_rd_fail(r, SCL_E_NOMEM, field, off, "out of memory");
        return NULL;
    }
    memcpy(out, p, count);
    rd_align4(r, field);
    if (r->rc) {
        free(out);
        return NULL;
    }
    return out;
}

/* The string's UTF-16 units, checked for the terminator, converted. */
static char *rd_utf16_units(struct esc_rd *r, const char *field, const uint8_t *p, uint32_t units,
                            size_t off)
{
    if (units == 0 || p[2 * units - 2] || p[2 * units - 1]) {
        esc_rd_fail(r, SCL_E_FORMAT, field, off, "string of %u units lacks its terminator", units);
        return NULL;
    }
    char *s = NULL;
    struct scl_err sub;
    if (esc_utf16le_to_utf8(p, units - 1, &s, &sub)) {
        esc_rd_fail(r, sub.code, field, off, "%s", sub.msg);
        return NULL;
    }
    return s;
}

char *esc_rd_wstring(struct esc_rd *r, const char *field)
{
    size_t off = esc_rd_offset(r);
    uint32_t max = esc_rd_u32(r, field);
    uint32_t offset = esc_rd_u32(r, field);
    uint32_t actual = esc_rd_u32(r, field);
    if (r->rc) return NULL;
    if ((uint64_t)offset + actual != max) {
        esc_rd_fail(r, SCL_E_FORMAT, field, off, "MaxCount %u != Offset+ActualCount %llu", max,
                    (unsigned long long)offset + actual);
        return NULL;
    }
    /* FreeRDP 2.11 reads MaxCount units from the start, so only Offset 0
     * means the same thing to both ends. */
    if (offset != 0) {
        esc_rd_fail(r, SCL_E_FORMAT, field, off + 4, "Offset %u is not 0", offset);
        return NULL;
    }
    esc_rd_cap(r, field, actual, ESC_MAX_STRING_UNITS, off + 8);
    const uint8_t *p = rd_take(r, field, (size_t)actual * 2);
    if (!p) return NULL;
    char *s = rd_utf16_units(r, field, p, actual, off + 12);
    rd_align4(r, field);
    if (r->rc) {
        free(s);
        return NULL;
    }
    return s;
}

void esc_msz_free(struct esc_msz *m)
{
    for (size_t i = 0; i < m->count; i++)
        free(m->names[i]);
    free(m->names);
    m->names = NULL;
    m->count = 0;
}

/* Split UTF-16LE "a\0b\0\0" into names; a lone "\0" is the empty list. */
static int msz_parse(const uint8_t *p, size_t n, struct esc_msz *out, struct scl_err *e)
{
    if (n % 2) return scl_errf(e, SCL_E_FORMAT, "odd byte count %zu", n);
    size_t units = n / 2;
    if (units == 0) return SCL_OK;
    if (p[n - 2] || p[n - 1]) return scl_errf(e, SCL_E_FORMAT, "multi-string lacks its final NUL");
    size_t i = 0;
    while (i < units - 1) {
        size_t j = i;
        while (p[2 * j] || p[2 * j + 1])
            j++; /* stops at the final NUL at the latest */
        if (j == i) return scl_errf(e, SCL_E_FORMAT, "empty name at unit %zu before the end", i);
        if (j == units - 1) return scl_errf(e, SCL_E_FORMAT, "multi-string lacks its final NUL");
        char **v = realloc(out->names, (out->count + 1) * sizeof *v);
        if (!v) return scl_errf(e, SCL_E_NOMEM, "out of memory");
        out->names = v;
        int rc = esc_utf16le_to_utf8(p + 2 * i, j - i, &v[out->count], e);
        if (rc) return rc;
        out->count++;
        i = j + 1;
    }
    return SCL_OK;
}

void esc_rd_msz(struct esc_rd *r, const char *field, uint32_t cBytes, bool present,
                struct esc_msz *out)
{
    memset(out, 0, sizeof *out);
    size_t off = esc_rd_offset(r);
    if (r->rc) return;
    if (!present) {
        if (cBytes)
            esc_rd_fail(r, SCL_E_FORMAT, field, off, "NULL pointer with %u bytes announced",
                        cBytes);
        return;
    }
    uint8_t *p = esc_rd_bytes(r, field, cBytes, ESC_MAX_BUFFER);
    if (r->rc) return;
    struct scl_err sub;
    if (msz_parse(p, cBytes, out, &sub)) {
        esc_msz_free(out);
        esc_rd_fail(r, sub.code, field, off + 4, "%s", sub.msg);
    }
    free(p);
}

void esc_rd_uuid(struct esc_rd *r, const char *field, struct esc_uuid **out)
{
    struct esc_uuid u = {0};
    esc_rd_fixed(r, field, u.b, sizeof u.b);
    if (r->rc) return;
    *out = malloc(sizeof u);
    if (!*out) {
        esc_rd_fail(r, SCL_E_NOMEM, field, esc_rd_offset(r), "out of memory");
        return;
    }
    **out = u;
}

void esc_rd_io_request_flat(struct esc_rd *r, const char *field, struct esc_io_request *io,
                            bool *extra_present)
{
    io->pbExtraBytes = NULL;
    io->dwProtocol = esc_rd_u32(r, field);
    size_t off = esc_rd_offset(r);
    io->cbExtraBytes = esc_rd_u32(r, field);
    esc_rd_cap(r, field, io->cbExtraBytes, ESC_MAX_EXTRA_BYTES, off);
    off = esc_rd_offset(r);
    *extra_present = esc_rd_ptr(r, field, false);
    /* A set pointer with cbExtraBytes 0 is harmless (MaxCount 0 follows);
     * FreeRDP refuses only the reverse. */
    if (!r->rc && !*extra_present && io->cbExtraBytes)
        esc_rd_fail(r, SCL_E_FORMAT, field, off, "pbExtraBytes NULL but cbExtraBytes %u",
                    io->cbExtraBytes);
}

void esc_rd_io_request_extra(struct esc_rd *r, const char *field, struct esc_io_request *io,
                             bool extra_present)
{
    if (extra_present)
        io->pbExtraBytes = esc_rd_bytes(r, field, io->cbExtraBytes, ESC_MAX_EXTRA_BYTES);
}

void esc_io_request_free(struct esc_io_request *io)
{
    if (io) {
        free(io->pbExtraBytes);
        io->pbExtraBytes = NULL;
    }
}

/* ---- writer ---------------------------------------------------------------- */

void esc_wr_init(struct esc_wr *w, struct wcur *wc, const char *what, struct scl_err *e)
{
    w->w = wc;
    w->next_referent = ESC_NDR_FIRST_REFERENT;
    w->what = what;
    w->e = e;
    w->rc = SCL_OK;
}

void esc_wr_fail(struct esc_wr *w, int code, const char *field, const char *fmt, ...)
{
    if (w->rc) return;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    w->rc = scl_errf(w->e, code, "%s: %s: %s", w->what, field, what);
}

void esc_wr_u32(struct esc_wr *w, uint32_t v)
{
    wcur_u32le(w->w, v);
}
void esc_wr_i32(struct esc_wr *w, int32_t v)
{
    wcur_u32le(w->w, (uint32_t)v);
}
void esc_wr_fixed(struct esc_wr *w, const void *p, size_t n)
{
    wcur_bytes(w->w, p, n);
}

void esc_wr_ptr(struct esc_wr *w, bool present)
{
    if (!present) {
        wcur_u32le(w->w, 0);
        return;
    }
    wcur_u32le(w->w, w->next_referent);
    w->next_referent += 4;
}

void esc_wr_context(struct esc_wr *w, const struct esc_context *ctx)
{
    if (ctx->cbContext != 0 && ctx->cbContext != 4 && ctx->cbContext != 8)
        esc_wr_fail(w, SCL_E_INVAL, "cbContext", "%u is not 0, 4 or 8", ctx->cbContext);
    esc_wr_u32(w, ctx->cbContext);
    esc_wr_ptr(w, ctx->cbContext != 0);
}

void esc_wr_context_ref(struct esc_wr *w, const struct esc_context *ctx)
{
    /* A NULL pbContext has no pointee (FreeRDP's own packer would still
     * write a 0 length here; its unpacker reads nothing). */
    if (ctx->cbContext == 0 || ctx->cbContext > 8) return;
    esc_wr_u32(w, ctx->cbContext);
    esc_wr_fixed(w, ctx->pbContext, ctx->cbContext);
}

void esc_wr_handle(struct esc_wr *w, const struct esc_handle *h)
{
    esc_wr_context(w, &h->Context);
    if (h->cbHandle != 4 && h->cbHandle != 8)
        esc_wr_fail(w, SCL_E_INVAL, "cbHandle", "%u is not 4 or 8", h->cbHandle);
    esc_wr_u32(w, h->cbHandle);
    esc_wr_ptr(w, true);
}

void esc_wr_handle_ref(struct esc_wr *w, const struct esc_handle *h)
{
    if (h->cbHandle > 8) return;
    esc_wr_u32(w, h->cbHandle);
    esc_wr_fixed(w, h->pbHandle, h->cbHandle);
}

void esc_wr_bytes(struct esc_wr *w, const char *field, const uint8_t *p, uint32_t n, uint32_t max)
{
    if (n > max) esc_wr_fail(w, SCL_E_INVAL, field, "%u bytes exceed the limit %u", n, max);
    if (n && !p) esc_wr_fail(w, SCL_E_INVAL, field, "%u bytes announced but no buffer", n);
    if (n == 0 || w->rc) return;
    esc_wr_u32(w, n);
    esc_wr_fixed(w, p, n);
    wcur_align(w->w, 4);
}

void esc_wr_wstring(struct esc_wr *w, const char *field, const char *s)
{
    if (!s) {
        esc_wr_fail(w, SCL_E_INVAL, field, "NULL string");
        return;
    }
    size_t hdr = wcur_len(w->w);
    esc_wr_u32(w, 0); /* MaxCount, patched below */
    esc_wr_u32(w, 0); /* Offset */
    esc_wr_u32(w, 0); /* ActualCount, patched below */
    struct scl_err sub;
    long units = esc_utf8_to_utf16le(s, w->w, &sub);
    if (units < 0) {
        esc_wr_fail(w, sub.code, field, "%s", sub.msg);
        return;
    }
    wcur_u16le(w->w, 0);
    units++;
    if (units > ESC_MAX_STRING_UNITS)
        esc_wr_fail(w, SCL_E_INVAL, field, "%ld units exceed the limit %d", units,
                    ESC_MAX_STRING_UNITS);
    wcur_patch_u32le(w->w, hdr, (uint32_t)units);
    wcur_patch_u32le(w->w, hdr + 8, (uint32_t)units);
    wcur_align(w->w, 4);
}

long esc_msz_wire_size(const struct esc_msz *m)
{
    if (m->count == 0) return 0;
    struct wcur tmp;
    wcur_init_dyn(&tmp);
    long total = 0;
    for (size_t i = 0; i < m->count; i++) {
        long u = m->names[i] && m->names[i][0] ? esc_utf8_to_utf16le(m->names[i], &tmp, NULL) : -1;
        if (u < 0) {
            wcur_free(&tmp);
            return -1;
        }
        total += 2 * (u + 1);
    }
    wcur_free(&tmp);
    return total + 2;
}

void esc_wr_msz(struct esc_wr *w, const char *field, const struct esc_msz *m)
{
    if (m->count == 0) return;
    long n = esc_msz_wire_size(m);
    if (n < 0 || n > ESC_MAX_BUFFER) {
        esc_wr_fail(w, SCL_E_INVAL, field, "names are empty, not UTF-8 or too long");
        return;
    }
    esc_wr_u32(w, (uint32_t)n);
    for (size_t i = 0; i < m->count; i++) {
        (void)esc_utf8_to_utf16le(m->names[i], w->w, NULL);
        wcur_u16le(w->w, 0);
    }
    wcur_u16le(w->w, 0);
    wcur_align(w->w, 4);
}

void esc_wr_io_request_flat(struct esc_wr *w, const struct esc_io_request *io)
{
    esc_wr_u32(w, io->dwProtocol);
    esc_wr_u32(w, io->cbExtraBytes);
    esc_wr_ptr(w, io->cbExtraBytes != 0);
}

void esc_wr_io_request_extra(struct esc_wr *w, const char *field, const struct esc_io_request *io)
{
    esc_wr_bytes(w, field, io->pbExtraBytes, io->cbExtraBytes, ESC_MAX_EXTRA_BYTES);
}

/* ---- UTF-16LE <-> UTF-8 ----------------------------------------------------- */

static size_t utf8_put(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int esc_utf16le_to_utf8(const uint8_t *p, size_t units, char **out, struct scl_err *e)
{
    *out = NULL;
    char *s = malloc(units * 3 + 1); /* a surrogate pair (2 units) makes 4 bytes */
    if (!s) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t u = (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
        if (u == 0) {
            free(s);
            return scl_errf(e, SCL_E_FORMAT, "embedded NUL at unit %zu", i);
        }
        if (u >= 0xDC00 && u <= 0xDFFF) {
            free(s);
            return scl_errf(e, SCL_E_FORMAT, "unpaired low surrogate 0x%04x at unit %zu", u, i);
        }
        if (u >= 0xD800 && u <= 0xDBFF) {
            uint32_t lo = i + 1 < units ? (uint32_t)p[2 * i + 2] | (uint32_t)p[2 * i + 3] << 8 : 0;
            if (lo < 0xDC00 || lo > 0xDFFF) {
                free(s);
                return scl_errf(e, SCL_E_FORMAT, "unpaired high surrogate 0x%04x at unit %zu", u,
                                i);
            }
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            i++;
        }
        o += utf8_put(u, s + o);
    }
    s[o] = 0;
    *out = s;
    return SCL_OK;
}

/* Next code point of UTF-8 at *s, advancing; -1 on bad UTF-8. */
static long utf8_next(const unsigned char **s)
{
    const unsigned char *p = *s;
    uint32_t cp;
    int n;
    if (p[0] < 0x80) {
        cp = p[0];
        n = 0;
    } else if ((p[0] & 0xE0) == 0xC0) {
        cp = p[0] & 0x1F;
        n = 1;
    } else if ((p[0] & 0xF0) == 0xE0) {
        cp = p[0] & 0x0F;
        n = 2;
    } else if ((p[0] & 0xF8) == 0xF0) {
        cp = p[0] & 0x07;
        n = 3;
    } else {
        return -1;
    }
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) return -1; /* also stops at the NUL */
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    *s = p + n + 1;
    return (long)cp;
}

long esc_utf8_to_utf16le(const char *str, struct wcur *w, struct scl_err *e)
{
    const unsigned char *s = (const unsigned char *)str;
    long units = 0;
    while (*s) {
        size_t at = (size_t)(s - (const unsigned char *)str);
        long cp = utf8_next(&s);
        if (cp < 0) {
            scl_errf(e, SCL_E_INVAL, "bad UTF-8 at byte %zu", at);
            return -1;
        }
        if (cp >= 0x10000) {
            wcur_u16le(w, (uint16_t)(0xD800 + ((cp - 0x10000) >> 10)));
            wcur_u16le(w, (uint16_t)(0xDC00 + ((cp - 0x10000) & 0x3FF)));
            units += 2;
        } else {
            wcur_u16le(w, (uint16_t)cp);
            units++;
        }
    }
    return units;
}
