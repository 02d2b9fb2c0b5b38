/*
 * pki_mint.c - mint a test PKI with libcrypto: a root CA (or reuse one), one
 * key and certificate per PIV slot, and a card file naming them.  Test keys
 * only (plain PEM on disk).  Not for parsing card files or running a card.
 */
#include "vcard.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERIAL_MAX 20 /* RFC 5280 4.1.2.2 */
#define RANDOM_SERIAL_LEN 10
#define DAY (24L * 60 * 60)
#define OID_MS_UPN "1.3.6.1.4.1.311.20.2.3"

static const char ca_subject_cn[] = "scardlab Test Root CA";
static const char subject_o[] = "scardlab test";

/* What each PIV key is for (SP 800-73-4 / Windows smart-card logon). */
static const struct slot_profile {
    enum vc_slot_id slot;
    const char *usage_rsa, *usage_ec; /* keyUsage, critical */
    const char *eku;
} slot_profiles[VC_NSLOTS] = {
    {VC_SLOT_9A, "critical,digitalSignature,keyEncipherment", "critical,digitalSignature",
     "clientAuth,1.3.6.1.4.1.311.20.2.2"}, /* PIV authentication: smartcardLogon */
    {VC_SLOT_9C, "critical,digitalSignature,nonRepudiation",
     "critical,digitalSignature,nonRepudiation", "emailProtection"}, /* digital signature */
    {VC_SLOT_9D, "critical,keyEncipherment", "critical,keyAgreement",
     "emailProtection"}, /* key management */
    {VC_SLOT_9E, "critical,digitalSignature", "critical,digitalSignature",
     "2.16.840.1.101.3.6.8"}, /* card authentication: id-PIV-cardAuth */
};

static int crypto_err(struct scl_err *e, const char *what)
{
    unsigned long code = ERR_peek_last_error();
    char reason[160] = "no detail";
    if (code) ERR_error_string_n(code, reason, sizeof reason);
    ERR_clear_error();
    return scl_errf(e, SCL_E_CRYPTO, "%s: %s", what, reason);
}

static bool is_rsa(enum vc_alg a)
{
    return a == VC_ALG_RSA2048 || a == VC_ALG_RSA3072;
}

/* ---- keys ---------------------------------------------------------------- */

static EVP_PKEY *mint_key(enum vc_alg alg)
{
    switch (alg) {
    case VC_ALG_RSA2048:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    case VC_ALG_RSA3072:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    case VC_ALG_P256:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    case VC_ALG_P384:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    default:
        return NULL;
    }
}

/* Write a PEM produced by fn into path; secmem so key bytes are wiped. */
static int write_pem(const char *path, mode_t mode, int (*fn)(BIO *, const void *), const void *obj,
                     struct scl_err *e)
{
    BIO *b = BIO_new(BIO_s_secmem());
    if (!b || !fn(b, obj)) {
        BIO_free(b);
        return crypto_err(e, path);
    }
    char *data;
    long n = BIO_get_mem_data(b, &data);
    int rc = scl_write_atomic(path, data, (size_t)n, mode, e);
    BIO_free(b);
    return rc;
}

static int pem_key(BIO *b, const void *k)
{
    /* PKCS#8 "BEGIN PRIVATE KEY", unencrypted: these are test keys. */
    return PEM_write_bio_PrivateKey(b, (EVP_PKEY *)k, NULL, NULL, 0, NULL, NULL);
}

static int pem_cert(BIO *b, const void *x)
{
    return PEM_write_bio_X509(b, (X509 *)x);
}

/* ---- certificates -------------------------------------------------------- */

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value, struct scl_err *e)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    if (!ext || !X509_add_ext(x, ext, -1)) {
        X509_EXTENSION_free(ext);
        return crypto_err(e, OBJ_nid2sn(nid));
    }
    X509_EXTENSION_free(ext);
    return SCL_OK;
}

static int set_serial(X509 *x, const uint8_t *p, size_t n, struct scl_err *e)
{
    BIGNUM *bn = BN_bin2bn(p, (int)n, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    BN_free(bn);
    int ok = ai && X509_set_serialNumber(x, ai);
    ASN1_INTEGER_free(ai);
    if (!ok) return crypto_err(e, "serial number");
    /* The bytes users type (certutil's "05 05 1c ...") must be the DER
     * content bytes exactly; a leading 00 or a top bit would change them. */
    const ASN1_INTEGER *got = X509_get0_serialNumber(x);
    if ((size_t)ASN1_STRING_length(got) != n || memcmp(ASN1_STRING_get0_data(got), p, n) != 0 ||
        ASN1_STRING_type(got) != V_ASN1_INTEGER)
        return scl_errf(e, SCL_E_INVAL,
                        "serial must be a positive number written in its shortest form "
                        "(no leading 00, first byte below 80)");
    return SCL_OK;
}

static int set_name(X509_NAME *name, const char *cn, struct scl_err *e)
{
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)subject_o, -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0))
        return crypto_err(e, "subject name");
    return SCL_OK;
}

/* A version 3 certificate for key with subject CN=cn, not yet signed. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, long days, const uint8_t *serial,
                      size_t serial_len, struct scl_err *e)
{
    X509 *x = X509_new();
    if (!x) {
        crypto_err(e, "X509_new");
        return NULL;
    }
    if (!X509_set_version(x, X509_VERSION_3) || !X509_gmtime_adj(X509_getm_notBefore(x), -DAY) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), days * DAY) || !X509_set_pubkey(x, key)) {
        crypto_err(e, "certificate fields");
        X509_free(x);
        return NULL;
    }
    if (set_serial(x, serial, serial_len, e) || set_name(X509_get_subject_name(x), cn, e)) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int sign_cert(X509 *x, EVP_PKEY *ca_key, struct scl_err *e)
{
    if (!X509_sign(x, ca_key, EVP_sha256())) return crypto_err(e, "signing certificate");
    return SCL_OK;
}

static int random_serial(uint8_t *out, struct scl_err *e)
{
    if (RAND_bytes(out, RANDOM_SERIAL_LEN) != 1) return crypto_err(e, "RAND_bytes");
    out[0] &= 0x7F;
    if (out[0] == 0) out[0] = 0x01; /* keep all ten bytes in the DER form */
    return SCL_OK;
}

/* otherName UPN (UTF8String) and rfc822Name with the same address. */
static int add_upn_san(X509 *x, const char *upn, struct scl_err *e)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *upn_name = GENERAL_NAME_new(), *mail = GENERAL_NAME_new();
    ASN1_TYPE *val = ASN1_TYPE_new();
    ASN1_UTF8STRING *u8 = ASN1_UTF8STRING_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    ASN1_OBJECT *oid = OBJ_txt2obj(OID_MS_UPN, 1);
    int ok = names && upn_name && mail && val && u8 && ia5 && oid && ASN1_STRING_set(u8, upn, -1) &&
             ASN1_STRING_set(ia5, upn, -1);
    if (ok) {
        ASN1_TYPE_set(val, V_ASN1_UTF8STRING, u8);
        u8 = NULL;
        ok = GENERAL_NAME_set0_othername(upn_name, oid, val);
    }
    if (ok) {
        oid = NULL, val = NULL;
        GENERAL_NAME_set0_value(mail, GEN_EMAIL, ia5);
        ia5 = NULL;
        ok = sk_GENERAL_NAME_push(names, upn_name);
    }
    if (ok) {
        upn_name = NULL;
        ok = sk_GENERAL_NAME_push(names, mail);
    }
    if (ok) {
        mail = NULL;
        ok = X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT);
    }
    ASN1_OBJECT_free(oid);
    ASN1_TYPE_free(val);
    ASN1_UTF8STRING_free(u8);
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(upn_name);
    GENERAL_NAME_free(mail);
    GENERAL_NAMES_free(names);
    return ok ? SCL_OK : crypto_err(e, "subjectAltName");
}

static X509 *mint_ca_cert(EVP_PKEY *key, struct scl_err *e)
{
    uint8_t serial[RANDOM_SERIAL_LEN];
    if (random_serial(serial, e)) return NULL;
    X509 *x = new_cert(key, ca_subject_cn, 10 * 365, serial, sizeof serial, e);
    if (!x) return NULL;
    if (!X509_set_issuer_name(x, X509_get_subject_name(x))) {
        crypto_err(e, "CA issuer name");
        X509_free(x);
        return NULL;
    }
    if (add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE", e) ||
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign", e) ||
        add_ext(x, x, NID_subject_key_identifier, "hash", e) ||
        add_ext(x, x, NID_authority_key_identifier, "keyid:always", e) || sign_cert(x, key, e)) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static X509 *mint_user_cert(const struct vc_mint_opts *o, enum vc_slot_id slot, EVP_PKEY *key,
                            const uint8_t *serial, size_t serial_len, X509 *ca, EVP_PKEY *ca_key,
                            struct scl_err *e)
{
    const struct slot_profile *sp = &slot_profiles[slot];
    X509 *x = new_cert(key, o->holder, 365, serial, serial_len, e);
    if (!x) return NULL;
    if (!X509_set_issuer_name(x, X509_get_subject_name(ca))) {
        crypto_err(e, "issuer name");
        X509_free(x);
        return NULL;
    }
    if (add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE", e) ||
        add_ext(x, ca, NID_key_usage, is_rsa(o->alg) ? sp->usage_rsa : sp->usage_ec, e) ||
        add_ext(x, ca, NID_ext_key_usage, sp->eku, e) ||
        add_ext(x, ca, NID_subject_key_identifier, "hash", e) ||
        add_ext(x, ca, NID_authority_key_identifier, "keyid:always", e) ||
        (o->upn && add_upn_san(x, o->upn, e)) || sign_cert(x, ca_key, e)) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* ---- the CA ---------------------------------------------------------------- */

struct ca {
    X509 *cert;
    EVP_PKEY *key;
};

static void ca_free(struct ca *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
}

static int ca_load(const char *dir, struct ca *ca, struct scl_err *e)
{
    char path[4096];
    uint8_t *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    int rc = scl_read_file(path, 64 * 1024, &buf, &len, e);
    if (rc) return rc;
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    ca->cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    free(buf);
    if (!ca->cert) return crypto_err(e, path);
    snprintf(path, sizeof path, "%s/ca.key", dir);
    if ((rc = scl_read_file(path, 64 * 1024, &buf, &len, e))) return rc;
    b = BIO_new_mem_buf(buf, (int)len);
    ca->key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
    BIO_free(b);
    OPENSSL_clear_free(buf, len + 1);
    if (!ca->key) return crypto_err(e, path);
    if (EVP_PKEY_eq(X509_get0_pubkey(ca->cert), ca->key) != 1 || X509_check_ca(ca->cert) < 1) {
        ERR_clear_error();
        return scl_errf(e, SCL_E_FORMAT,
                        "%s: ca.key does not match ca.crt, or ca.crt is not a CA certificate", dir);
    }
    return SCL_OK;
}

static int ca_mint(const char *out_dir, struct ca *ca, struct scl_err *e)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/ca", out_dir);
    int rc = scl_mkdirs(dir, 0700, e);
    if (rc) return rc;
    if (!(ca->key = mint_key(VC_ALG_RSA2048))) return crypto_err(e, "CA key");
    if (!(ca->cert = mint_ca_cert(ca->key, e))) return e ? e->code : SCL_E_CRYPTO;
    snprintf(path, sizeof path, "%s/ca.key", dir);
    if ((rc = write_pem(path, 0600, pem_key, ca->key, e))) return rc;
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    return write_pem(path, 0644, pem_cert, ca->cert, e);
}

/* ---- checks on the options ------------------------------------------------- */

static bool digits_only(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* The holder goes into a quoted card-file value and a CN: no control bytes. */
static bool holder_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof((struct vc_card_spec *)0)->holder) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F) return false;
    return true;
}

/* rfc822Name is an IA5String: printable ASCII, one '@', no blanks. */
static bool upn_ok(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@') || strlen(s) > 256) return false;
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7F) return false;
    return true;
}

static int check_opts(const struct vc_mint_opts *o, uint8_t *serial, size_t *serial_len,
                      struct scl_err *e)
{
    if (!o->out_dir || !o->out_dir[0])
        return scl_errf(e, SCL_E_INVAL, "an output directory is required");
    if (strlen(o->out_dir) > 3000 || (o->ca_dir && strlen(o->ca_dir) > 3000))
        return scl_errf(e, SCL_E_INVAL, "directory path too long");
    if (!o->holder || !holder_ok(o->holder))
        return scl_errf(e, SCL_E_INVAL,
                        "holder must be 1..127 bytes of text without control characters");
    if (o->upn && !upn_ok(o->upn))
        return scl_errf(e, SCL_E_INVAL, "bad UPN '%s' (expected name@domain, ASCII, no blanks)",
                        o->upn);
    if (o->pin && !digits_only(o->pin, 6, 8))
        return scl_errf(e, SCL_E_INVAL, "PIN must be 6 to 8 digits");
    if (o->puk && !digits_only(o->puk, 8, 8))
        return scl_errf(e, SCL_E_INVAL, "PUK must be 8 digits");
    if (!strcmp(vc_alg_name(o->alg), "none"))
        return scl_errf(e, SCL_E_INVAL, "unknown key algorithm %d", (int)o->alg);
    *serial_len = 0;
    if (o->serial_hex) {
        int n = scl_hex_decode(o->serial_hex, serial, SERIAL_MAX);
        if (n <= 0)
            return scl_errf(e, SCL_E_INVAL,
                            "bad serial '%s' (expected 1 to 20 bytes of hex, e.g. \"05 05 1c\")",
                            o->serial_hex);
        if (serial[0] >= 0x80 || (n > 1 && serial[0] == 0 && serial[1] < 0x80))
            return scl_errf(e, SCL_E_INVAL,
                            "bad serial '%s' (a serial is a positive number in its shortest "
                            "form: first byte below 80, no leading 00)",
                            o->serial_hex);
        *serial_len = (size_t)n;
    }
    return SCL_OK;
}

/* ---- the card ------------------------------------------------------------- */

/* Serial of the k-th minted slot: the first gets the given serial, the next
 * ones the same number plus k (so one card's certificates sort together). */
static void serial_plus(const uint8_t *base, size_t n, unsigned k, uint8_t *out)
{
    memcpy(out, base, n);
    for (size_t i = n; i-- > 0 && k;) {
        unsigned v = out[i] + k;
        out[i] = (uint8_t)v;
        k = v >> 8;
    }
}

static int mint_slot(const struct vc_mint_opts *o, enum vc_slot_id slot, const uint8_t *serial,
                     size_t serial_len, struct ca *ca, struct scl_err *e)
{
    char path[4096];
    EVP_PKEY *key = mint_key(o->alg);
    if (!key) return crypto_err(e, "key generation");
    X509 *x = mint_user_cert(o, slot, key, serial, serial_len, ca->cert, ca->key, e);
    int rc = x ? SCL_OK : (e ? e->code : SCL_E_CRYPTO);
    if (!rc) {
        snprintf(path, sizeof path, "%s/%s.key", o->out_dir, vc_slot_name(slot));
        rc = write_pem(path, 0600, pem_key, key, e);
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/%s.crt", o->out_dir, vc_slot_name(slot));
        rc = write_pem(path, 0644, pem_cert, x, e);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    if (rc) scl_err_wrap(e, "slot %s", vc_slot_name(slot));
    return rc;
}

/* Card file text; the holder is quoted with \" and \\ escaped. */
static int write_card_file(const struct vc_mint_opts *o, unsigned slots, struct scl_err *e)
{
    uint8_t guid[16];
    if (RAND_bytes(guid, sizeof guid) != 1) return crypto_err(e, "RAND_bytes");
    guid[6] = (uint8_t)((guid[6] & 0x0F) | 0x40); /* RFC 4122 version 4 */
    guid[8] = (uint8_t)((guid[8] & 0x3F) | 0x80);
    char hex[33], path[4096];
    scl_hex_encode(guid, sizeof guid, hex, false);
    struct wcur w;
    wcur_init_dyn(&w);
    char line[512];
    int n = snprintf(line, sizeof line,
                     "# Card file minted by 'scardlab pki mint' (test keys only).\n"
                     "scardlab-card 1\nholder \"");
    wcur_bytes(&w, line, (size_t)n);
    for (const char *p = o->holder; *p; p++) {
        if (*p == '"' || *p == '\\') wcur_u8(&w, '\\');
        wcur_u8(&w, (uint8_t)*p);
    }
    n = snprintf(line, sizeof line, "\"\nguid %.8s-%.4s-%.4s-%.4s-%.12s\npin %s\npuk %s\n", hex,
                 hex + 8, hex + 12, hex + 16, hex + 20, o->pin ? o->pin : "123456",
                 o->puk ? o->puk : "12345678");
    wcur_bytes(&w, line, (size_t)n);
    for (int s = 0; s < VC_NSLOTS; s++) {
        if (!(slots & 1u << s)) continue;
        const char *name = vc_slot_name((enum vc_slot_id)s);
        n = snprintf(line, sizeof line, "slot %s %s cert=%s.crt key=%s.key\n", name,
                     vc_alg_name(o->alg), name, name);
        wcur_bytes(&w, line, (size_t)n);
    }
    if (!wcur_ok(&w)) {
        wcur_free(&w);
        return scl_errf(e, SCL_E_NOMEM, "card file: out of memory");
    }
    snprintf(path, sizeof path, "%s/card.conf", o->out_dir);
    int rc = scl_write_atomic(path, wcur_data(&w), wcur_len(&w), 0644, e);
    wcur_free(&w);
    return rc;
}

/* Read the card file back: what we wrote must load, keys matching certs. */
static int check_card_file(const char *out_dir, struct scl_err *e)
{
    char path[4096];
    struct vc_card_spec spec;
    snprintf(path, sizeof path, "%s/card.conf", out_dir);
    int rc = vc_card_file_load(path, &spec, e);
    vc_card_spec_free(&spec);
    return rc;
}

int vc_pki_mint(const struct vc_mint_opts *opts, struct scl_err *e)
{
    struct vc_mint_opts o = *opts;
    uint8_t serial[SERIAL_MAX], cur_serial[SERIAL_MAX];
    size_t serial_len;
    if (o.alg == VC_ALG_NONE) o.alg = VC_ALG_RSA2048;
    unsigned slots = o.slots ? o.slots & ((1u << VC_NSLOTS) - 1) : (1u << VC_NSLOTS) - 1;
    int rc = check_opts(&o, serial, &serial_len, e);
    if (rc) return rc;
    if (!slots) return scl_errf(e, SCL_E_INVAL, "no PIV slot selected");
    if ((rc = scl_mkdirs(o.out_dir, 0700, e))) return rc;
    struct ca ca = {0};
    rc = o.ca_dir ? ca_load(o.ca_dir, &ca, e) : ca_mint(o.out_dir, &ca, e);
    unsigned k = 0;
    for (int s = 0; !rc && s < VC_NSLOTS; s++) {
        if (!(slots & 1u << s)) continue;
        size_t len = serial_len ? serial_len : RANDOM_SERIAL_LEN;
        if (serial_len)
            serial_plus(serial, serial_len, k++, cur_serial);
        else
            rc = random_serial(cur_serial, e);
        if (!rc) rc = mint_slot(&o, (enum vc_slot_id)s, cur_serial, len, &ca, e);
    }
    ca_free(&ca);
    if (!rc) rc = write_card_file(&o, slots, e);
    if (!rc) rc = check_card_file(o.out_dir, e);
    return rc;
}
