/*
 * cert_info.c - the few X.509 facts certutil shows and CertIds match on
 * (serial, names, validity, e-mail/UPN, root or not), read with libcrypto.
 * Not chain building or revocation: nothing here decides trust.
 */
#include "propagator.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static X509 *parse_x509(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x && (size_t)(p - der) != len) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* certutil writes names most specific first, RDNs joined by ", ". */
static void name_to_string(const X509_NAME *nm, char *out, size_t cap)
{
    out[0] = 0;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return;
    unsigned long flags = (XN_FLAG_RFC2253 & ~XN_FLAG_SEP_MASK & ~ASN1_STRFLGS_ESC_MSB) |
                          XN_FLAG_SEP_CPLUS_SPC;
    if (X509_NAME_print_ex(b, nm, 0, flags) >= 0) {
        int n = BIO_read(b, out, (int)cap - 1);
        out[n > 0 ? n : 0] = 0;
    }
    BIO_free(b);
}

static void asn1_to_utf8(const ASN1_STRING *s, char *out, size_t cap)
{
    out[0] = 0;
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, s);
    if (n >= 0)
        snprintf(out, cap, "%.*s", n, (const char *)u);
    OPENSSL_free(u);
}

static void last_entry_by_nid(const X509_NAME *nm, int nid, char *out, size_t cap)
{
    out[0] = 0;
    int idx = -1, last = -1;
    while ((idx = X509_NAME_get_index_by_NID(nm, nid, idx)) >= 0)
        last = idx;
    if (last >= 0)
        asn1_to_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, last)), out, cap);
}

static void add_name(char list[][256], size_t *n, const char *v)
{
    if (*n < CS_CERT_MAX_NAMES && v[0])
        snprintf(list[(*n)++], 256, "%s", v);
}

static void read_alt_names(X509 *x, struct cs_cert_info *ci)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    char buf[256];
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_EMAIL) {
            asn1_to_utf8(g->d.rfc822Name, buf, sizeof buf);
            add_name(ci->emails, &ci->nemails, buf);
        } else if (g->type == GEN_OTHERNAME &&
                   OBJ_obj2nid(g->d.otherName->type_id) == NID_ms_upn &&
                   g->d.otherName->value->type == V_ASN1_UTF8STRING) {
            asn1_to_utf8(g->d.otherName->value->value.utf8string, buf, sizeof buf);
            add_name(ci->upns, &ci->nupns, buf);
        }
    }
    GENERAL_NAMES_free(gens);
    const X509_NAME *subj = X509_get_subject_name(x);
    int idx = -1;
    while ((idx = X509_NAME_get_index_by_NID(subj, NID_pkcs9_emailAddress, idx)) >= 0) {
        asn1_to_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)), buf, sizeof buf);
        add_name(ci->emails, &ci->nemails, buf);
    }
}

/* Serial bytes as DER encodes them: a leading 00 when the top bit is set. */
static void read_serial(X509 *x, struct cs_cert_info *ci)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    const unsigned char *p = ASN1_STRING_get0_data(sn);
    size_t n = (size_t)ASN1_STRING_length(sn);
    size_t k = 0;
    if (n && (p[0] & 0x80) && ASN1_STRING_type(sn) == V_ASN1_INTEGER)
        ci->serial[k++] = 0;
    if (n > sizeof ci->serial - k)
        n = sizeof ci->serial - k;
    memcpy(ci->serial + k, p, n);
    ci->serial_len = k + n;
}

static int read_time(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return -1;
    *out = timegm(&tm);
    return 0;
}

int cs_cert_info(const uint8_t *der, size_t len, struct cs_cert_info *ci, struct scl_err *e)
{
    memset(ci, 0, sizeof *ci);
    X509 *x = parse_x509(der, len);
    if (!x)
        return scl_errf(e, SCL_E_FORMAT, "certificate: not a DER X.509 certificate");
    read_serial(x, ci);
    name_to_string(X509_get_subject_name(x), ci->subject, sizeof ci->subject);
    name_to_string(X509_get_issuer_name(x), ci->issuer, sizeof ci->issuer);
    last_entry_by_nid(X509_get_subject_name(x), NID_commonName, ci->subject_cn,
                      sizeof ci->subject_cn);
    int rc = SCL_OK;
    if (read_time(X509_get0_notBefore(x), &ci->not_before) ||
        read_time(X509_get0_notAfter(x), &ci->not_after))
        rc = scl_errf(e, SCL_E_FORMAT, "certificate: validity times do not parse");
    ci->self_signed = X509_self_signed(x, 1) == 1;
    read_alt_names(x, ci);
    X509_free(x);
    ERR_clear_error(); /* a failed self-signature check is an answer, not an error */
    return rc;
}

bool cs_cert_same_public_key(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    X509 *xa = parse_x509(a, alen), *xb = parse_x509(b, blen);
    bool same = false;
    if (xa && xb) {
        EVP_PKEY *ka = X509_get0_pubkey(xa), *kb = X509_get0_pubkey(xb);
        same = ka && kb && EVP_PKEY_eq(ka, kb) == 1;
    }
    X509_free(xa);
    X509_free(xb);
    return same;
}
