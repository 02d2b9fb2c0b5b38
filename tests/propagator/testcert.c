/*
 * testcert.c - mint throwaway X.509 certificates for tests with libcrypto's
 * EVP and X509 APIs.  Not for anything but tests: keys are never kept.
 */
#include "testcert.h"

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

const uint8_t tc_story_serial[10] = {0x05, 0x05, 0x1c, 0x00, 0x22, 0x7f, 0x3c, 0xdd, 0xfa, 0x98};

EVP_PKEY *tc_rsa_key(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048); }
EVP_PKEY *tc_ec_key(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); }

static int add_san(X509 *x, const struct tc_spec *s)
{
    if (!s->email && !s->upn)
        return 1;
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    if (s->email) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
        ASN1_STRING_set(ia5, s->email, -1);
        GENERAL_NAME_set0_value(g, GEN_EMAIL, ia5);
        sk_GENERAL_NAME_push(gens, g);
    }
    if (s->upn) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_TYPE *val = ASN1_TYPE_new();
        ASN1_UTF8STRING *u = ASN1_UTF8STRING_new();
        ASN1_STRING_set(u, s->upn, -1);
        ASN1_TYPE_set(val, V_ASN1_UTF8STRING, u);
        GENERAL_NAME_set0_othername(g, OBJ_nid2obj(NID_ms_upn), val);
        sk_GENERAL_NAME_push(gens, g);
    }
    int ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0);
    GENERAL_NAMES_free(gens);
    return ok;
}

uint8_t *tc_make_cert(const struct tc_spec *s, size_t *len)
{
    EVP_PKEY *key = s->key ? s->key : tc_ec_key();
    X509 *x = X509_new();
    static const uint8_t one = 1;
    BIGNUM *bn = BN_bin2bn(s->serial ? s->serial : &one, s->serial ? (int)s->serial_len : 1, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_set_version(x, 2);
    X509_NAME *subj = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn, -1, -1, 0);
    if (s->email_rdn)
        X509_NAME_add_entry_by_NID(subj, NID_pkcs9_emailAddress, MBSTRING_ASC,
                                   (const unsigned char *)s->email_rdn, -1, -1, 0);
    X509_NAME *iss = X509_get_issuer_name(x);
    if (s->self_signed)
        X509_set_issuer_name(x, subj);
    else
        X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_UTF8,
                                   (const unsigned char *)"scardlab Test CA", -1, -1, 0);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
    X509_set_pubkey(x, key);
    add_san(x, s);
    uint8_t *der = NULL;
    if (X509_sign(x, key, EVP_sha256()) > 0) {
        unsigned char *out = NULL;
        int n = i2d_X509(x, &out);
        if (n > 0) {
            der = malloc((size_t)n);
            memcpy(der, out, (size_t)n);
            *len = (size_t)n;
        }
        OPENSSL_free(out);
    }
    X509_free(x);
    if (!s->key)
        EVP_PKEY_free(key);
    return der;
}

uint8_t *tc_story_cert(size_t *len)
{
    EVP_PKEY *k = tc_rsa_key();
    struct tc_spec s = {.serial = tc_story_serial, .serial_len = sizeof tc_story_serial,
                        .cn = "Firstname Lastname", .upn = "firstname.lastname@example.test",
                        .key = k};
    uint8_t *der = tc_make_cert(&s, len);
    EVP_PKEY_free(k);
    return der;
}
