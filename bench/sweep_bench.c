/*
 * sweep_bench.c - writes a synthetic fleet for bench/sweep.sh: SERVERS x
 * USERS profiles, each My store with CERTS elements (own ones and 3 leaked
 * card certificates), minted once with libcrypto and encoded with
 * cs_element_encode.  Not a timer: the script times the real command.
 */
#include "propagator.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LEAKED 3
#define MY_REL "AppData/Roaming/Microsoft/SystemCertificates/My/Certificates"
#define KEYS_REL "AppData/Roaming/Microsoft/Crypto/Keys"

struct blob {
    uint8_t *p;
    size_t n;
    char name[41];
};

static EVP_PKEY *ec_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* A user-like certificate: CN, UPN-as-e-mail SAN, distinct serial. */
static uint8_t *mint(EVP_PKEY *key, const char *cn, const char *mail, long serial, size_t *len)
{
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_set_version(x, 2);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_issuer_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"Bench Issuing CA", -1, -1, 0);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
    X509_set_pubkey(x, key);
    char san[300];
    snprintf(san, sizeof san, "email:%s", mail);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, key, EVP_sha256());
    unsigned char *out = NULL;
    int n = i2d_X509(x, &out);
    X509_free(x);
    uint8_t *der = malloc((size_t)n);
    memcpy(der, out, (size_t)n);
    OPENSSL_free(out);
    *len = (size_t)n;
    return der;
}

/* Element bytes with KEY_PROV_INFO (kpi may be NULL) and the SHA-1 property. */
static struct blob element(const uint8_t *der, size_t len, const struct cs_key_prov_info *kpi)
{
    struct cs_element el;
    struct scl_err e;
    struct blob b = {0};
    if (cs_element_from_cert(der, len, &el, &e))
        abort();
    cs_element_set_prop(&el, CS_PROP_SHA1_HASH, el.sha1, 20, &e);
    if (kpi) {
        uint8_t *v;
        size_t vn;
        cs_kpi_encode(kpi, &v, &vn, &e);
        cs_element_set_prop(&el, CS_PROP_KEY_PROV_INFO, v, vn, &e);
        free(v);
    }
    cs_element_encode(&el, &b.p, &b.n, &e);
    scl_hex_encode(el.sha1, 20, b.name, true);
    cs_element_free(&el);
    return b;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: sweep_bench DIR SERVERS USERS CERTS\n");
        return 2;
    }
    const char *dir = argv[1];
    int servers = atoi(argv[2]), users = atoi(argv[3]), certs = atoi(argv[4]);
    if (servers < 1 || users < 1 || certs <= LEAKED)
        return 2;
    int own = certs - LEAKED;
    /* users*own own certificates (the first KSP-backed with a key file), 3 leaked cards. */
    struct blob *b = calloc((size_t)(users * own + LEAKED), sizeof *b);
    long serial = 1000;
    for (int u = 0; u < users; u++) {
        EVP_PKEY *k = ec_key();
        char cn[64], mail[96], ct[64];
        snprintf(cn, sizeof cn, "user%02d", u);
        snprintf(mail, sizeof mail, "user%02d@corp.example", u);
        snprintf(ct, sizeof ct, "bench-ksp-user%02d", u);
        for (int i = 0; i < own; i++) {
            size_t len;
            uint8_t *der = mint(k, cn, mail, serial++, &len);
            struct cs_key_prov_info kpi;
            cs_kpi_ksp(&kpi, ct);
            b[u * own + i] = element(der, len, i == 0 ? &kpi : NULL);
            free(der);
        }
        EVP_PKEY_free(k);
    }
    for (int c = 0; c < LEAKED; c++) {
        EVP_PKEY *k = ec_key();
        char cn[64], mail[96], ct[64];
        snprintf(cn, sizeof cn, "Card Holder %d", c);
        snprintf(mail, sizeof mail, "holder%d@partner.example", c);
        snprintf(ct, sizeof ct, "0c5a29e3-1f4b-4c1d-9e8a-2b7c6d%06x", 0x5fc105 + c);
        size_t len;
        uint8_t *der = mint(k, cn, mail, serial++, &len);
        struct cs_key_prov_info kpi;
        cs_kpi_base_csp(&kpi, ct, CS_AT_KEYEXCHANGE);
        b[users * own + c] = element(der, len, &kpi);
        free(der);
        EVP_PKEY_free(k);
    }
    struct scl_err e;
    char path[4096];
    for (int s = 0; s < servers; s++)
        for (int u = 0; u < users; u++) {
            char prof[3000];
            snprintf(prof, sizeof prof, "%s/srv%04d/user%02d", dir, s, u);
            snprintf(path, sizeof path, "%s/" MY_REL, prof);
            if (scl_mkdirs(path, 0700, &e) != SCL_OK) {
                fprintf(stderr, "%s\n", e.msg);
                return 1;
            }
            for (int i = 0; i < own; i++) {
                snprintf(path, sizeof path, "%s/" MY_REL "/%s", prof, b[u * own + i].name);
                write_file(path, b[u * own + i].p, b[u * own + i].n);
            }
            for (int c = 0; c < LEAKED; c++) {
                snprintf(path, sizeof path, "%s/" MY_REL "/%s", prof, b[users * own + c].name);
                write_file(path, b[users * own + c].p, b[users * own + c].n);
            }
            snprintf(path, sizeof path, "%s/" KEYS_REL, prof);
            scl_mkdirs(path, 0700, &e);
            snprintf(path, sizeof path, "%s/" KEYS_REL "/bench-ksp-user%02d", prof, u);
            write_file(path, "key", 3);
        }
    printf("%d profiles x %d certificates (%d leaked per profile) in %s\n", servers * users,
           certs, LEAKED, dir);
    return 0;
}
