/*
 * test_certutil.c - `scardlab certutil` as users type it (the story's
 * commands, en/em dashes, curly quotes): output lines, exit codes, and the
 * claimed-vs-reachable key facts.  Not the store's byte formats.
 */
#include "propagator.h"
#include "testcert.h"

#include <check.h>
#include <ctype.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTAINER "0c5a29e3-1f4b-4c1d-9e8a-2b7c6d5fc105"
#define EN_DASH "\xE2\x80\x93"
#define EM_DASH "\xE2\x80\x94"
#define LQ "\xE2\x80\x9C"
#define RQ "\xE2\x80\x9D"

static char root[256];
static char *out_text, *err_text;
static uint8_t story_sha1[20];

static void free_outputs(void)
{
    free(out_text);
    free(err_text);
    out_text = err_text = NULL;
}

/* Run certutil with --profile root prepended; NULL-terminated args. */
static int run(const char *first, ...)
{
    const char *argv[32] = {"certutil", "--profile", root};
    int argc = 3;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    free_outputs();
    size_t olen, elen;
    FILE *out = open_memstream(&out_text, &olen), *err = open_memstream(&err_text, &elen);
    int rc = cu_run(argc, (char **)argv, out, err);
    fclose(out);
    fclose(err);
    return rc;
}

static size_t count_lines_containing(const char *text, const char *needle, char *first, size_t cap)
{
    size_t n = 0;
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        if (strstr(line, needle)) {
            if (n == 0 && first)
                snprintf(first, cap, "%s", line);
            n++;
        }
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

static void add_story_cert(void)
{
    size_t len;
    uint8_t *der = tc_story_cert(&len);
    ck_assert_ptr_nonnull(der);
    struct cs_store *st;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_open(CS_SCOPE_USER, root, "My", true, &st, &e), SCL_OK);
    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, CONTAINER, CS_AT_KEYEXCHANGE);
    ck_assert_int_eq(cs_store_add(st, der, len, &kpi, CS_ADD_REPLACE_INHERIT, NULL, &e), SCL_OK);
    struct cs_element el;
    ck_assert_int_eq(cs_element_from_cert(der, len, &el, &e), SCL_OK);
    memcpy(story_sha1, el.sha1, 20);
    cs_element_free(&el);
    cs_store_close(st);
    free(der);
}

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/scl-test-certutil-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    unsetenv("PCSCLITE_CSOCK_NAME");
    add_story_cert();
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
    free_outputs();
}

START_TEST(test_story_store_verbose_grep_provider_prints_exactly_one_line)
{
    ck_assert_int_eq(run("-v", "-silent", "-user", "-store", "My", LQ "05 05 1c 00 22 7f 3c dd fa 98" RQ, NULL), 0);
    char line[1024];
    ck_assert_uint_eq(count_lines_containing(out_text, "Provider =", line, sizeof line), 1);
    ck_assert_str_eq(line, "  Provider = Microsoft Base Smart Card Crypto Provider");
    ck_assert_uint_eq(count_lines_containing(out_text, "CERT_KEY_PROV_INFO_PROP_ID(2):", NULL, 0), 1);
    ck_assert_uint_eq(count_lines_containing(out_text, "  KeySpec = 1 -- AT_KEYEXCHANGE", NULL, 0), 1);
    ck_assert_uint_eq(count_lines_containing(out_text, "  ProviderType = 1", NULL, 0), 1);
    ck_assert_uint_eq(count_lines_containing(out_text, "  Key Container = " CONTAINER, NULL, 0), 1);
    ck_assert_uint_eq(count_lines_containing(out_text, "CERT_SHA1_HASH_PROP_ID(3):", NULL, 0), 1);
    ck_assert_ptr_nonnull(strstr(out_text, "CertUtil: -store command completed successfully.\n"));
}
END_TEST

START_TEST(test_story_serial_pasted_with_curly_quotes_split_by_the_shell)
{
    /* bash hands "certutil ... My “05 05 1c 00 22 7f 3c dd fa 98”" over as ten words */
    ck_assert_int_eq(run(EN_DASH "v", EN_DASH "silent", EN_DASH "user", EN_DASH "store", "My",
                         LQ "05", "05", "1c", "00", "22", "7f", "3c", "dd", "fa", "98" RQ, NULL), 0);
    ck_assert_uint_eq(count_lines_containing(out_text, "Provider =", NULL, 0), 1);
}
END_TEST

START_TEST(test_store_layout_follows_certutil)
{
    ck_assert_int_eq(run("-user", "-store", "My", NULL), 0);
    char hex[41], want[80];
    scl_hex_encode(story_sha1, 20, hex, false);
    snprintf(want, sizeof want, "\nCert Hash(sha1): %s\n", hex);
    ck_assert_ptr_eq(strstr(out_text, "My \"Personal\"\n================ Certificate 0 ================\n"
                                      "Serial Number: 05051c00227f3cddfa98\nIssuer: CN=scardlab Test CA\n NotBefore: "),
                     out_text);
    ck_assert_ptr_nonnull(strstr(out_text, "\nSubject: CN=Firstname Lastname\nNon-root Certificate\n"));
    ck_assert_ptr_nonnull(strstr(out_text, want));
    ck_assert_ptr_nonnull(strstr(out_text, "\n  Key Container = " CONTAINER "\n  Provider = Microsoft Base Smart Card Crypto Provider\n"));
    ck_assert_ptr_nonnull(strstr(out_text, "Private key claimed: yes"));
    ck_assert_ptr_nonnull(strstr(out_text, "You have a private key that corresponds to this certificate."));
}
END_TEST

START_TEST(test_store_no_match_fails_with_crypt_e_not_found)
{
    ck_assert_int_eq(run("-user", "-store", "My", "Nobody Here", NULL), 1);
    ck_assert_ptr_nonnull(strstr(out_text, "CertUtil: -store command FAILED: 0x80092004 (-2146885628 CRYPT_E_NOT_FOUND)\n"));
}
END_TEST

START_TEST(test_delstore_with_en_dashes_removes_story_cert)
{
    ck_assert_int_eq(run(EN_DASH "user", EN_DASH "delstore", "My", LQ "Firstname Lastname" RQ, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "Serial Number: 05051c00227f3cddfa98\nSubject: CN=Firstname Lastname\nDeleting Certificate 0\n"));
    ck_assert_ptr_nonnull(strstr(out_text, "CertUtil: -delstore command completed successfully.\n"));
    ck_assert_int_eq(run("-user", "-store", "My", "Firstname Lastname", NULL), 1);
    ck_assert_int_eq(run("-user", "-delstore", "My", "Firstname Lastname", NULL), 1);
    ck_assert_ptr_nonnull(strstr(out_text, "CRYPT_E_NOT_FOUND"));
}
END_TEST

START_TEST(test_delstore_em_dash_uppercase_verb_and_serial)
{
    ck_assert_int_eq(run(EM_DASH "USER", EM_DASH "DelStore", "my", "05051C00227F3CDDFA98", NULL), 0);
    ck_assert_int_eq(run("-user", "-store", "My", "0", NULL), 1);
}
END_TEST

START_TEST(test_usage_errors_exit_2)
{
    ck_assert_int_eq(run("-user", "-frobnicate", NULL), 2);
    ck_assert_ptr_nonnull(strstr(err_text, "Unknown arg: -frobnicate"));
    ck_assert_int_eq(run("-user", NULL), 2);
    ck_assert_int_eq(run("-user", "-delstore", "My", NULL), 2);
}
END_TEST

START_TEST(test_verifykeys_without_pcsc_reports_claimed_and_unknown)
{
    ck_assert_int_eq(run("-user", "-verifykeys", "My", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "Private key claimed: yes"));
    ck_assert_ptr_nonnull(strstr(out_text, "Private key reachable: unknown (no PC/SC: PCSCLITE_CSOCK_NAME is not set)"));
}
END_TEST

START_TEST(test_verifykeys_with_dead_pcsc_socket_is_unknown_not_a_crash)
{
    char sock[300];
    snprintf(sock, sizeof sock, "%s/no-such-pcscd.comm", root);
    setenv("PCSCLITE_CSOCK_NAME", sock, 1);
    ck_assert_int_eq(run("-user", "-verifykeys", NULL), 0);
    unsetenv("PCSCLITE_CSOCK_NAME");
    ck_assert_ptr_nonnull(strstr(out_text, "Private key reachable: unknown (no PC/SC: "));
}
END_TEST

START_TEST(test_exportsst_then_importsst_keeps_key_prov_info)
{
    char sst[300];
    snprintf(sst, sizeof sst, "%s/my.sst", root);
    ck_assert_int_eq(run("-user", "-exportsst", "My", sst, NULL), 0);
    ck_assert_int_eq(run("-user", "-delstore", "My", "0", NULL), 0);
    ck_assert_int_eq(run("-user", "-store", "My", "0", NULL), 1);
    ck_assert_int_eq(run("-user", "-importsst", "My", sst, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "Certificate \"Firstname Lastname\" added to store."));
    ck_assert_int_eq(run("-v", "-user", "-store", "My", CONTAINER, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "  KeySpec = 1 -- AT_KEYEXCHANGE\n"));
    ck_assert_int_eq(run("-user", "-addstore", "My", sst, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "replaced in store"));
}
END_TEST

START_TEST(test_addstore_pem_cer_without_key_info)
{
    struct tc_spec s = {.cn = "Plain Cert", .self_signed = true};
    size_t len;
    uint8_t *der = tc_make_cert(&s, &len);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    char path[300];
    snprintf(path, sizeof path, "%s/plain.cer", root);
    FILE *f = fopen(path, "w");
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
    free(der);
    ck_assert_int_eq(run("-user", "-addstore", "My", path, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "Certificate \"Plain Cert\" added to store."));
    ck_assert_int_eq(run("-user", "-addstore", "My", path, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "already in store"));
    ck_assert_int_eq(run("-user", "-store", "My", "Plain Cert", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "Root Certificate: Subject matches Issuer\n"));
    ck_assert_ptr_nonnull(strstr(out_text, "No key provider information\n"));
    ck_assert_ptr_nonnull(strstr(out_text, "Private key claimed: no"));
}
END_TEST

START_TEST(test_ksp_form_prints_keyspec_0)
{
    struct tc_spec s = {.cn = "Ksp User"};
    size_t len;
    uint8_t *der = tc_make_cert(&s, &len);
    struct cs_store *st;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_open(CS_SCOPE_USER, root, "My", true, &st, &e), SCL_OK);
    struct cs_key_prov_info kpi;
    cs_kpi_ksp(&kpi, "ksp-container");
    ck_assert_int_eq(cs_store_add(st, der, len, &kpi, CS_ADD_REPLACE_INHERIT, NULL, &e), SCL_OK);
    cs_store_close(st);
    free(der);
    ck_assert_int_eq(run("-v", "-user", "-store", "My", "Ksp User", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "  Provider = Microsoft Smart Card Key Storage Provider\n  ProviderType = 0\n  Flags = 0\n  KeySpec = 0\n"));
}
END_TEST

/* An element whose certificate is DER-shaped (SEQUENCE { INTEGER 7, NULL })
 * but no X.509 certificate: the store lists it, cs_cert_info refuses it. */
static void put_unparsable(char hex[41])
{
    static const uint8_t not_x509[] = {0x30, 0x05, 0x02, 0x01, 0x07, 0x05, 0x00};
    struct cs_element el = {0};
    struct scl_err e = {0};
    el.cert_der = malloc(sizeof not_x509);
    memcpy(el.cert_der, not_x509, sizeof not_x509);
    el.cert_len = sizeof not_x509;
    unsigned mdlen;
    ck_assert(EVP_Digest(not_x509, sizeof not_x509, el.sha1, &mdlen, EVP_sha1(), NULL));
    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, "broken-container", CS_AT_KEYEXCHANGE);
    uint8_t *v, *blob;
    size_t vlen, blen;
    ck_assert_int_eq(cs_kpi_encode(&kpi, &v, &vlen, &e), SCL_OK);
    ck_assert_int_eq(cs_element_set_prop(&el, CS_PROP_KEY_PROV_INFO, v, vlen, &e), SCL_OK);
    ck_assert_int_eq(cs_element_encode(&el, &blob, &blen, &e), SCL_OK);
    scl_hex_encode(el.sha1, 20, hex, true);
    char path[600];
    snprintf(path, sizeof path, "%s/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates/%s",
             root, hex);
    ck_assert_int_eq(scl_write_atomic(path, blob, blen, 0600, &e), SCL_OK);
    free(v);
    free(blob);
    cs_element_free(&el);
}

START_TEST(test_certificate_that_does_not_parse_is_reported_per_certificate_and_deletable_by_hash)
{
    char hex[41];
    put_unparsable(hex);
    ck_assert_int_eq(run("-user", "-store", "My", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "Certificate does not parse: certificate: not a DER X.509 certificate\n"));
    ck_assert_ptr_nonnull(strstr(out_text, "\nSubject: CN=Firstname Lastname\n")); /* the rest still shows */
    ck_assert_ptr_nonnull(strstr(err_text, "CertUtil: warning: certificate "));
    char lower[41];
    for (size_t i = 0; i < 41; i++)
        lower[i] = (char)tolower((unsigned char)hex[i]);
    ck_assert_ptr_nonnull(strstr(err_text, lower));

    ck_assert_int_eq(run("-user", "-verifykeys", "My", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "Private key reachable: unknown (the certificate does not parse"));
    ck_assert_int_eq(run("-user", "-delstore", "My", "Nobody Here", NULL), 1);

    ck_assert_int_eq(run("-user", "-delstore", "My", hex, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "Deleting Certificate "));
    ck_assert_int_eq(run("-user", "-store", "My", NULL), 0);
    ck_assert_ptr_null(strstr(out_text, "does not parse"));
    ck_assert_ptr_nonnull(strstr(out_text, "Subject: CN=Firstname Lastname"));
}
END_TEST

static Suite *certutil_suite(void)
{
    Suite *s = suite_create("certutil");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_story_store_verbose_grep_provider_prints_exactly_one_line);
    tcase_add_test(tc, test_story_serial_pasted_with_curly_quotes_split_by_the_shell);
    tcase_add_test(tc, test_store_layout_follows_certutil);
    tcase_add_test(tc, test_store_no_match_fails_with_crypt_e_not_found);
    tcase_add_test(tc, test_delstore_with_en_dashes_removes_story_cert);
    tcase_add_test(tc, test_delstore_em_dash_uppercase_verb_and_serial);
    tcase_add_test(tc, test_usage_errors_exit_2);
    tcase_add_test(tc, test_verifykeys_without_pcsc_reports_claimed_and_unknown);
    tcase_add_test(tc, test_verifykeys_with_dead_pcsc_socket_is_unknown_not_a_crash);
    tcase_add_test(tc, test_exportsst_then_importsst_keeps_key_prov_info);
    tcase_add_test(tc, test_addstore_pem_cer_without_key_info);
    tcase_add_test(tc, test_ksp_form_prints_keyspec_0);
    tcase_add_test(tc, test_certificate_that_does_not_parse_is_reported_per_certificate_and_deletable_by_hash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(certutil_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
