/*
 * host_tls_cert.c - the session host's TLS identity on disk: a self-signed
 * RSA-2048 certificate made with libcrypto when none is configured.  No
 * FreeRDP here, so the scenario runner can make one certificate for many
 * hosts.  Not the handshake (libfreerdp) nor the SAM file (host_tls.c).
 */
#include "session.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tls_pem_write(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert,
                         struct scl_err *e)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    int ok = b != NULL;
    if (ok && key)
        ok = PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    if (ok && cert)
        ok = PEM_write_bio_X509(b, cert);
    if (!ok) {
        BIO_free(b);
        return scl_errf(e, SCL_E_CRYPTO, "%s: PEM encoding failed", path);
    }
    long n = BIO_get_mem_data(b, &data);
    int rc = scl_write_atomic(path, data, (size_t)n, mode, e);
    BIO_free(b);
    return rc;
}

static X509 *tls_self_sign(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_NAME *name;
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    uint8_t serial[8];
    BIGNUM *bn;
    if (!x)
        return NULL;
    FILE *r = fopen("/dev/urandom", "rb");
    size_t got = r ? fread(serial, 1, sizeof serial, r) : 0;
    if (r)
        fclose(r);
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, (int)got, NULL);
    bool ok = got == sizeof serial && bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
              X509_set_version(x, 2) && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
              X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400) && X509_set_pubkey(x, key);
    BN_free(bn);
    name = X509_get_subject_name(x);
    ok = ok &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"scardlab session host", -1, -1, 0) &&
         X509_set_issuer_name(x, name);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = ok ? X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage, "serverAuth") : NULL;
    ok = ok && ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ok = ok && X509_sign(x, key, EVP_sha256());
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int host_tls_ensure(const char *cert_path, const char *key_path, struct scl_err *e)
{
    if (!access(cert_path, R_OK) && !access(key_path, R_OK))
        return SCL_OK;
    EVP_PKEY *key = EVP_RSA_gen(2048);
    if (!key)
        return scl_errf(e, SCL_E_CRYPTO, "TLS key: RSA-2048 generation failed");
    X509 *cert = tls_self_sign(key);
    int rc;
    if (!cert)
        rc = scl_errf(e, SCL_E_CRYPTO, "TLS certificate: self-signing failed");
    else if (!(rc = tls_pem_write(key_path, 0600, key, NULL, e)))
        rc = tls_pem_write(cert_path, 0644, NULL, cert, e);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}
