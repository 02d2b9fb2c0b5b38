/*
 * store_element.c - the serialized certificate store element: a row of
 * {propId, encoding, cb, bytes} entries ending with the certificate (0x20).
 * Not the folder store (store.c) and not the .sst container (sst.c).
 */
#include "propagator.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_HDR_LEN 12
#define ENCODING_X509_ASN 1 /* X509_ASN_ENCODING: the only value Windows writes */
#define PROP_CRL 33
#define PROP_CTL 34
#define ELEMENT_MAX_PROPS 64

struct prop_name {
    uint32_t id;
    const char *name;
};

/* Names as wincrypt.h (and so certutil -v) spells them. */
static const struct prop_name prop_names[] = {
    {1, "CERT_KEY_PROV_HANDLE_PROP_ID"},
    {2, "CERT_KEY_PROV_INFO_PROP_ID"},
    {3, "CERT_SHA1_HASH_PROP_ID"},
    {4, "CERT_MD5_HASH_PROP_ID"},
    {5, "CERT_KEY_CONTEXT_PROP_ID"},
    {6, "CERT_KEY_SPEC_PROP_ID"},
    {9, "CERT_ENHKEY_USAGE_PROP_ID"},
    {10, "CERT_NEXT_UPDATE_LOCATION_PROP_ID"},
    {11, "CERT_FRIENDLY_NAME_PROP_ID"},
    {12, "CERT_PVK_FILE_PROP_ID"},
    {13, "CERT_DESCRIPTION_PROP_ID"},
    {14, "CERT_ACCESS_STATE_PROP_ID"},
    {15, "CERT_SIGNATURE_HASH_PROP_ID"},
    {16, "CERT_SMART_CARD_DATA_PROP_ID"},
    {17, "CERT_EFS_PROP_ID"},
    {19, "CERT_ARCHIVED_PROP_ID"},
    {20, "CERT_KEY_IDENTIFIER_PROP_ID"},
    {21, "CERT_AUTO_ENROLL_PROP_ID"},
    {22, "CERT_PUBKEY_ALG_PARA_PROP_ID"},
    {23, "CERT_CROSS_CERT_DIST_POINTS_PROP_ID"},
    {24, "CERT_ISSUER_PUBLIC_KEY_MD5_HASH_PROP_ID"},
    {25, "CERT_SUBJECT_PUBLIC_KEY_MD5_HASH_PROP_ID"},
    {26, "CERT_ENROLLMENT_PROP_ID"},
    {27, "CERT_DATE_STAMP_PROP_ID"},
    {28, "CERT_ISSUER_SERIAL_NUMBER_MD5_HASH_PROP_ID"},
    {29, "CERT_SUBJECT_NAME_MD5_HASH_PROP_ID"},
    {30, "CERT_EXTENDED_ERROR_INFO_PROP_ID"},
    {32, "CERT_CERT_PROP_ID"},
    {33, "CERT_CRL_PROP_ID"},
    {34, "CERT_CTL_PROP_ID"},
    {35, "CERT_RENEWAL_PROP_ID"},
    {36, "CERT_ARCHIVED_KEY_HASH_PROP_ID"},
    {42, "CERT_REQUEST_ORIGINATOR_PROP_ID"},
    {47, "CERT_SMART_CARD_ROOT_INFO_PROP_ID"},
};

const char *cs_prop_name(uint32_t id)
{
    for (size_t i = 0; i < sizeof prop_names / sizeof prop_names[0]; i++)
        if (prop_names[i].id == id)
            return prop_names[i].name;
    return NULL;
}

void cs_element_free(struct cs_element *el)
{
    if (!el)
        return;
    for (size_t i = 0; i < el->nprops; i++)
        free(el->props[i].val);
    free(el->props);
    free(el->cert_der);
    free(el->raw);
    memset(el, 0, sizeof *el);
}

void cs_elements_free(struct cs_element *els, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cs_element_free(&els[i]);
    free(els);
}

const struct cs_prop *cs_element_prop(const struct cs_element *el, uint32_t id)
{
    for (size_t i = 0; i < el->nprops; i++)
        if (el->props[i].id == id)
            return &el->props[i];
    return NULL;
}

/* Properties are kept sorted by id so re-encoding a store is deterministic. */
int cs_element_set_prop(struct cs_element *el, uint32_t id, const void *val, size_t len,
                        struct scl_err *e)
{
    if (id == CS_PROP_CERT || id == 0 || id == PROP_CRL || id == PROP_CTL)
        return scl_errf(e, SCL_E_INVAL, "property %u: not settable as a property", id);
    if (len > UINT32_MAX)
        return scl_errf(e, SCL_E_INVAL, "property %u: %zu bytes is too long", id, len);
    free(el->raw); /* the bytes we read no longer describe this element */
    el->raw = NULL;
    el->raw_len = 0;
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return scl_errf(e, SCL_E_NOMEM, "property %u: out of memory", id);
        memcpy(copy, val, len);
    }
    for (size_t i = 0; i < el->nprops; i++)
        if (el->props[i].id == id) {
            free(el->props[i].val);
            el->props[i].val = copy;
            el->props[i].len = len;
            return SCL_OK;
        }
    struct cs_prop *np = realloc(el->props, (el->nprops + 1) * sizeof *np);
    if (!np) {
        free(copy);
        return scl_errf(e, SCL_E_NOMEM, "property %u: out of memory", id);
    }
    el->props = np;
    size_t at = el->nprops;
    while (at > 0 && np[at - 1].id > id) {
        np[at] = np[at - 1];
        at--;
    }
    np[at] = (struct cs_prop){.id = id, .val = copy, .len = len};
    el->nprops++;
    return SCL_OK;
}

/* Decoding: one DER SEQUENCE (definite length) spanning exactly the bytes.
 * Its contents are left to cs_cert_info: d2i_X509 builds an EVP_PKEY for
 * every certificate, which made listing a fleet's stores cost ~100 us each. */
static int check_cert_shape(const uint8_t *der, size_t len, struct scl_err *e)
{
    if (len > LONG_MAX)
        return scl_errf(e, SCL_E_FORMAT, "certificate: %zu bytes is too long", len);
    const unsigned char *p = der;
    long body = 0;
    int tag = 0, xclass = 0;
    int r = ASN1_get_object(&p, &body, &tag, &xclass, (long)len);
    if (r & 0x80) {
        ERR_clear_error();
        return scl_errf(e, SCL_E_FORMAT, "certificate: not DER (bad tag or length at byte 0)");
    }
    if (r != V_ASN1_CONSTRUCTED || xclass != V_ASN1_UNIVERSAL || tag != V_ASN1_SEQUENCE)
        return scl_errf(e, SCL_E_FORMAT, "certificate: byte 0: not a definite-length SEQUENCE");
    size_t end = (size_t)(p - der) + (size_t)body;
    if (end != len)
        return scl_errf(e, SCL_E_FORMAT, "certificate: %zu bytes after the DER SEQUENCE",
                        len - end);
    return SCL_OK;
}

/* A new certificate entering a store: one whole DER X.509 certificate. */
static int check_cert_x509(const uint8_t *der, size_t len, struct scl_err *e)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x) {
        ERR_clear_error();
        return scl_errf(e, SCL_E_FORMAT, "certificate: not a DER X.509 certificate");
    }
    X509_free(x);
    if ((size_t)(p - der) != len)
        return scl_errf(e, SCL_E_FORMAT, "certificate: %zu bytes after the DER structure",
                        len - (size_t)(p - der));
    return SCL_OK;
}

static int set_cert(struct cs_element *el, const uint8_t *der, size_t len, bool full,
                    struct scl_err *e)
{
    int rc = full ? check_cert_x509(der, len, e) : check_cert_shape(der, len, e);
    if (rc)
        return rc;
    el->cert_der = malloc(len);
    if (!el->cert_der)
        return scl_errf(e, SCL_E_NOMEM, "certificate: out of memory");
    memcpy(el->cert_der, der, len);
    el->cert_len = len;
    unsigned int mdlen = 0;
    if (!EVP_Digest(der, len, el->sha1, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return scl_errf(e, SCL_E_CRYPTO, "certificate: SHA-1 failed");
    return SCL_OK;
}

int cs_element_from_cert(const uint8_t *der, size_t len, struct cs_element *el,
                         struct scl_err *e)
{
    memset(el, 0, sizeof *el);
    int rc = set_cert(el, der, len, true, e);
    if (rc)
        cs_element_free(el);
    return rc;
}

/* One entry: header then value, all inside c. */
static int read_entry(struct cur *c, uint32_t *id, const uint8_t **val, size_t *cb,
                      struct scl_err *e)
{
    size_t at = cur_off(c);
    *id = cur_u32le(c);
    uint32_t encoding = cur_u32le(c);
    uint32_t len = cur_u32le(c);
    if (!cur_ok(c))
        return scl_errf(e, SCL_E_TRUNCATED, "offset %zu: entry header needs %d bytes, %zu left",
                        at, ENTRY_HDR_LEN, c->len - at);
    if (encoding != ENCODING_X509_ASN)
        return scl_errf(e, SCL_E_FORMAT, "offset %zu: propId %u: encoding %u, expected 1", at,
                        *id, encoding);
    *val = cur_bytes(c, len);
    if (!*val)
        return scl_errf(e, SCL_E_TRUNCATED, "offset %zu: propId %u: cb %u runs past the end (%zu left)",
                        at, *id, len, c->len - at - ENTRY_HDR_LEN);
    *cb = len;
    return SCL_OK;
}

static int decode_entries(struct cur *c, struct cs_element *el, struct scl_err *e)
{
    for (;;) {
        if (cur_left(c) == 0)
            return scl_errf(e, SCL_E_FORMAT, "offset %zu: element ends without a certificate entry (propId 0x20)",
                            cur_off(c));
        size_t at = cur_off(c);
        uint32_t id = 0;
        const uint8_t *val = NULL;
        size_t cb = 0;
        int rc = read_entry(c, &id, &val, &cb, e);
        if (rc)
            return rc;
        if (id == CS_PROP_CERT) {
            rc = set_cert(el, val, cb, false, e);
            return rc ? scl_err_wrap(e, "offset %zu", at) : SCL_OK;
        }
        if (id == 0 || id == PROP_CRL || id == PROP_CTL)
            return scl_errf(e, SCL_E_FORMAT, "offset %zu: propId %u where a certificate property was expected",
                            at, id);
        if (cs_element_prop(el, id))
            return scl_errf(e, SCL_E_FORMAT, "offset %zu: propId %u appears twice", at, id);
        if (el->nprops >= ELEMENT_MAX_PROPS)
            return scl_errf(e, SCL_E_FORMAT, "offset %zu: more than %d properties", at,
                            ELEMENT_MAX_PROPS);
        rc = cs_element_set_prop(el, id, val, cb, e);
        if (rc)
            return rc;
    }
}

static int keep_raw(struct cs_element *el, const uint8_t *p, size_t n, struct scl_err *e)
{
    el->raw = malloc(n);
    if (!el->raw)
        return scl_errf(e, SCL_E_NOMEM, "element: out of memory");
    memcpy(el->raw, p, n);
    el->raw_len = n;
    return SCL_OK;
}

int cs_element_decode_cur(struct cur *c, struct cs_element *el, struct scl_err *e)
{
    memset(el, 0, sizeof *el);
    size_t start = cur_off(c);
    int rc = decode_entries(c, el, e);
    if (!rc)
        rc = keep_raw(el, c->p + start, cur_off(c) - start, e);
    if (rc)
        cs_element_free(el);
    return rc;
}

int cs_element_decode(const uint8_t *p, size_t n, struct cs_element *el, struct scl_err *e)
{
    struct cur c;
    cur_init(&c, p, n);
    int rc = cs_element_decode_cur(&c, el, e);
    if (rc)
        return rc;
    if (cur_left(&c)) {
        size_t at = cur_off(&c), left = cur_left(&c);
        cs_element_free(el);
        return scl_errf(e, SCL_E_FORMAT, "offset %zu: %zu bytes after the certificate entry (it must be last)",
                        at, left);
    }
    return SCL_OK;
}

static void write_entry(struct wcur *w, uint32_t id, const uint8_t *val, size_t len)
{
    wcur_u32le(w, id);
    wcur_u32le(w, ENCODING_X509_ASN);
    wcur_u32le(w, (uint32_t)len);
    if (len)
        wcur_bytes(w, val, len);
}

int cs_element_encode(const struct cs_element *el, uint8_t **out, size_t *n, struct scl_err *e)
{
    *out = NULL;
    *n = 0;
    if (!el->cert_der || !el->cert_len || el->cert_len > UINT32_MAX)
        return scl_errf(e, SCL_E_INVAL, "element: no certificate to encode");
    struct wcur w;
    wcur_init_dyn(&w);
    for (size_t i = 0; i < el->nprops; i++)
        write_entry(&w, el->props[i].id, el->props[i].val, el->props[i].len);
    write_entry(&w, CS_PROP_CERT, el->cert_der, el->cert_len);
    *out = wcur_take(&w, n);
    if (!*out)
        return scl_errf(e, SCL_E_NOMEM, "element: out of memory while encoding");
    return SCL_OK;
}
