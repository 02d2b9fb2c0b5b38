/*
 * key_prov_info.c - the CERT_KEY_PROV_INFO_PROP_ID value: a CRYPT_KEY_PROV_INFO
 * flattened with offsets in place of pointers and UTF-16LE names after it.
 * Not a CSP: it records where a key is said to live and never checks it.
 */
#include "propagator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KPI_HDR_LEN 28 /* seven u32 fields */
#define KPI_PARAM_LEN 16 /* serialized CRYPT_KEY_PROV_PARAM: dwParam, offset, cbData, dwFlags */
#define KPI_MAX_PARAMS 64

void cs_kpi_base_csp(struct cs_key_prov_info *kpi, const char *container, uint32_t key_spec)
{
    memset(kpi, 0, sizeof *kpi);
    snprintf(kpi->container, sizeof kpi->container, "%s", container);
    snprintf(kpi->provider, sizeof kpi->provider, "%s", CS_BASE_CSP_NAME);
    kpi->prov_type = CS_PROV_RSA_FULL;
    kpi->key_spec = key_spec;
}

void cs_kpi_ksp(struct cs_key_prov_info *kpi, const char *container)
{
    memset(kpi, 0, sizeof *kpi);
    snprintf(kpi->container, sizeof kpi->container, "%s", container);
    snprintf(kpi->provider, sizeof kpi->provider, "%s", CS_KSP_NAME);
}

/* Next code point of a NUL-terminated UTF-8 string; -1 on a bad sequence. */
static long utf8_next(const unsigned char **s)
{
    const unsigned char *p = *s;
    long cp;
    int extra;
    if (p[0] < 0x80) {
        cp = p[0];
        extra = 0;
    } else if ((p[0] & 0xE0) == 0xC0) {
        cp = p[0] & 0x1F;
        extra = 1;
    } else if ((p[0] & 0xF0) == 0xE0) {
        cp = p[0] & 0x0F;
        extra = 2;
    } else if ((p[0] & 0xF8) == 0xF0) {
        cp = p[0] & 0x07;
        extra = 3;
    } else {
        return -1;
    }
    for (int i = 1; i <= extra; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const long min_for_len[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *s = p + extra + 1;
    return cp;
}

/* UTF-8 name to UTF-16LE with its NUL. */
static int write_utf16(struct wcur *w, const char *s, const char *field, struct scl_err *e)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        long cp = utf8_next(&p);
        if (cp < 0)
            return scl_errf(e, SCL_E_INVAL, "%s: not valid UTF-8", field);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            wcur_u16le(w, (uint16_t)(0xD800 | (cp >> 10)));
            wcur_u16le(w, (uint16_t)(0xDC00 | (cp & 0x3FF)));
        } else {
            wcur_u16le(w, (uint16_t)cp);
        }
    }
    wcur_u16le(w, 0);
    return SCL_OK;
}

int cs_kpi_encode(const struct cs_key_prov_info *kpi, uint8_t **out, size_t *n,
                  struct scl_err *e)
{
    struct wcur w;
    wcur_init_dyn(&w);
    size_t at_container = wcur_len(&w);
    wcur_u32le(&w, 0); /* pwszContainerName, patched below */
    size_t at_provider = wcur_len(&w);
    wcur_u32le(&w, 0); /* pwszProvName, patched below */
    wcur_u32le(&w, kpi->prov_type);
    wcur_u32le(&w, kpi->flags);
    wcur_u32le(&w, 0); /* cProvParam */
    wcur_u32le(&w, 0); /* rgProvParam: none */
    wcur_u32le(&w, kpi->key_spec);
    int rc = SCL_OK;
    if (kpi->container[0]) {
        wcur_patch_u32le(&w, at_container, (uint32_t)wcur_len(&w));
        rc = write_utf16(&w, kpi->container, "pwszContainerName", e);
    }
    if (!rc && kpi->provider[0]) {
        wcur_patch_u32le(&w, at_provider, (uint32_t)wcur_len(&w));
        rc = write_utf16(&w, kpi->provider, "pwszProvName", e);
    }
    if (rc) {
        wcur_free(&w);
        return rc;
    }
    *out = wcur_take(&w, n);
    return *out ? SCL_OK : scl_errf(e, SCL_E_NOMEM, "CRYPT_KEY_PROV_INFO: out of memory");
}

static void put_utf8(char *out, size_t cap, size_t *len, long cp, bool *overflow)
{
    char buf[4];
    size_t k;
    if (cp < 0x80) {
        buf[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        buf[0] = (char)(0xF0 | (cp >> 18));
        buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    if (*len + k >= cap) {
        *overflow = true;
        return;
    }
    memcpy(out + *len, buf, k);
    *len += k;
}

/* The UTF-16LE NUL-terminated string at offset off of the whole value. */
static int read_utf16_at(const uint8_t *p, size_t n, uint32_t off, char *out, size_t cap,
                         const char *field, struct scl_err *e)
{
    out[0] = 0;
    if (off == 0)
        return SCL_OK; /* NULL pointer */
    if (off < KPI_HDR_LEN || off >= n)
        return scl_errf(e, SCL_E_FORMAT, "CRYPT_KEY_PROV_INFO: %s offset %u outside %u..%zu", field,
                        off, KPI_HDR_LEN, n);
    struct cur c;
    cur_init(&c, p, n);
    cur_skip(&c, off);
    size_t len = 0;
    bool overflow = false;
    for (;;) {
        size_t at = cur_off(&c);
        uint16_t u = cur_u16le(&c);
        if (!cur_ok(&c))
            return scl_errf(e, SCL_E_TRUNCATED, "CRYPT_KEY_PROV_INFO: %s at offset %u has no NUL terminator",
                            field, off);
        if (u == 0)
            break;
        long cp = u;
        if (u >= 0xD800 && u <= 0xDBFF) {
            uint16_t lo = cur_u16le(&c);
            if (!cur_ok(&c) || lo < 0xDC00 || lo > 0xDFFF)
                return scl_errf(e, SCL_E_FORMAT, "CRYPT_KEY_PROV_INFO: %s: unpaired surrogate at offset %zu",
                                field, at);
            cp = 0x10000 + ((long)(u - 0xD800) << 10) + (lo - 0xDC00);
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            return scl_errf(e, SCL_E_FORMAT, "CRYPT_KEY_PROV_INFO: %s: unpaired surrogate at offset %zu",
                            field, at);
        }
        put_utf8(out, cap, &len, cp, &overflow);
        if (overflow)
            return scl_errf(e, SCL_E_FORMAT, "CRYPT_KEY_PROV_INFO: %s longer than %zu bytes", field,
                            cap - 1);
    }
    out[len] = 0;
    return SCL_OK;
}

/* Parameters are checked to lie inside the value; we do not keep them. */
static int check_params(const uint8_t *p, size_t n, uint32_t count, uint32_t off,
                        struct scl_err *e)
{
    if (count == 0)
        return SCL_OK;
    if (count > KPI_MAX_PARAMS)
        return scl_errf(e, SCL_E_FORMAT, "CRYPT_KEY_PROV_INFO: cProvParam %u is more than %d", count,
                        KPI_MAX_PARAMS);
    struct cur c;
    cur_init(&c, p, n);
    if (off < KPI_HDR_LEN)
        return scl_errf(e, SCL_E_FORMAT, "CRYPT_KEY_PROV_INFO: rgProvParam offset %u inside the header", off);
    cur_skip(&c, off);
    for (uint32_t i = 0; i < count; i++) {
        cur_u32le(&c); /* dwParam */
        uint32_t data_off = cur_u32le(&c);
        uint32_t cb = cur_u32le(&c);
        cur_u32le(&c); /* dwFlags */
        if (!cur_ok(&c))
            return scl_errf(e, SCL_E_TRUNCATED, "CRYPT_KEY_PROV_INFO: rgProvParam[%u] runs past the end", i);
        if (cb && ((uint64_t)data_off + cb > n || data_off < KPI_HDR_LEN))
            return scl_errf(e, SCL_E_FORMAT, "CRYPT_KEY_PROV_INFO: rgProvParam[%u] data %u+%u outside %zu bytes",
                            i, data_off, cb, n);
    }
    return SCL_OK;
}

int cs_kpi_decode(const uint8_t *p, size_t n, struct cs_key_prov_info *kpi, struct scl_err *e)
{
    memset(kpi, 0, sizeof *kpi);
    struct cur c;
    cur_init(&c, p, n);
    uint32_t container_off = cur_u32le(&c);
    uint32_t provider_off = cur_u32le(&c);
    kpi->prov_type = cur_u32le(&c);
    kpi->flags = cur_u32le(&c);
    uint32_t nparams = cur_u32le(&c);
    uint32_t params_off = cur_u32le(&c);
    kpi->key_spec = cur_u32le(&c);
    if (!cur_ok(&c))
        return scl_errf(e, SCL_E_TRUNCATED, "CRYPT_KEY_PROV_INFO: %zu bytes, header needs %d", n,
                        KPI_HDR_LEN);
    int rc = read_utf16_at(p, n, container_off, kpi->container, sizeof kpi->container,
                           "pwszContainerName", e);
    if (!rc)
        rc = read_utf16_at(p, n, provider_off, kpi->provider, sizeof kpi->provider,
                           "pwszProvName", e);
    if (!rc)
        rc = check_params(p, n, nparams, params_off, e);
    return rc;
}

int cs_element_kpi(const struct cs_element *el, struct cs_key_prov_info *kpi, struct scl_err *e)
{
    const struct cs_prop *pr = cs_element_prop(el, CS_PROP_KEY_PROV_INFO);
    if (!pr)
        return scl_errf(e, SCL_E_NOTFOUND, "no CERT_KEY_PROV_INFO_PROP_ID");
    return cs_kpi_decode(pr->val, pr->len, kpi, e);
}
