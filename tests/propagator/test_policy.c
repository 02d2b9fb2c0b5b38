/*
 * test_policy.c - the certprop policy file: every value, the defaults, the
 * regedit spellings we accept, and file:line errors for everything else.
 */
#include "propagator.h"

#include <check.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static const char key_line[] = "[HKLM\\Software\\Policies\\Microsoft\\Windows\\CertProp]\n";

static int parse(const char *text, struct cp_policy *p, struct scl_err *e)
{
    cp_policy_defaults(p);
    memset(e, 0, sizeof *e);
    return cp_policy_parse("pol.reg", (const uint8_t *)text, strlen(text), p, e);
}

START_TEST(test_defaults_match_windows)
{
    struct cp_policy p;
    cp_policy_defaults(&p);
    ck_assert(p.cert_prop_enabled);
    ck_assert(p.enable_root_propagation);
    ck_assert_int_eq(p.root_cleanup, CP_ROOT_CLEANUP_ON_LOGOFF);
    ck_assert_int_eq(p.key_provider, CP_KEY_PROVIDER_CSP);
}
END_TEST

START_TEST(test_empty_file_keeps_defaults)
{
    struct cp_policy p;
    struct scl_err e;
    ck_assert_int_eq(parse("; nothing here\n\n", &p, &e), SCL_OK);
    ck_assert(p.cert_prop_enabled);
    ck_assert_int_eq(p.root_cleanup, CP_ROOT_CLEANUP_ON_LOGOFF);
}
END_TEST

START_TEST(test_cert_prop_enabled_zero_disables)
{
    struct cp_policy p;
    struct scl_err e;
    char text[256];
    snprintf(text, sizeof text, "%sCertPropEnabled=dword:00000000\n", key_line);
    ck_assert_int_eq(parse(text, &p, &e), SCL_OK);
    ck_assert(!p.cert_prop_enabled);
    snprintf(text, sizeof text, "%sCertPropEnabled=dword:00000002\n", key_line);
    ck_assert_int_eq(parse(text, &p, &e), SCL_OK);
    ck_assert(p.cert_prop_enabled); /* any non-zero dword is on, as in the registry */
}
END_TEST

START_TEST(test_enable_root_propagation_zero_disables)
{
    struct cp_policy p;
    struct scl_err e;
    char text[256];
    snprintf(text, sizeof text, "%sEnableRootCertificatePropagation=dword:0\n", key_line);
    ck_assert_int_eq(parse(text, &p, &e), SCL_OK);
    ck_assert(!p.enable_root_propagation);
}
END_TEST

START_TEST(test_root_cleanup_option_every_value)
{
    struct cp_policy p;
    struct scl_err e;
    char text[256];
    for (unsigned v = 0; v <= 2; v++) {
        snprintf(text, sizeof text, "%sRootCertificateCleanupOption=dword:%08x\n", key_line, v);
        ck_assert_int_eq(parse(text, &p, &e), SCL_OK);
        ck_assert_int_eq(p.root_cleanup, (int)v);
    }
}
END_TEST

START_TEST(test_root_cleanup_option_3_is_an_error_with_line)
{
    struct cp_policy p;
    struct scl_err e;
    char text[256];
    snprintf(text, sizeof text, "; c\n%sRootCertificateCleanupOption=dword:00000003\n", key_line);
    ck_assert_int_eq(parse(text, &p, &e), SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "pol.reg:3:"), "%s", e.msg);
    ck_assert_msg(strstr(e.msg, "RootCertificateCleanupOption"), "%s", e.msg);
}
END_TEST

START_TEST(test_seed_policy_file_with_regedit_header_and_crlf)
{
    struct cp_policy p;
    struct scl_err e;
    const char *text = "\xef\xbb\xbfWindows Registry Editor Version 5.00\r\n\r\n"
                       "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\CertProp]\r\n"
                       "\"CertPropEnabled\"=dword:00000001\r\n"
                       "EnableRootCertificatePropagation=dword:00000000 \r\n"
                       "  rootcertificatecleanupoption = dword:00000001\r\n";
    ck_assert_msg(parse(text, &p, &e) == SCL_OK, "%s", e.msg);
    ck_assert(p.cert_prop_enabled);
    ck_assert(!p.enable_root_propagation);
    ck_assert_int_eq(p.root_cleanup, CP_ROOT_CLEANUP_ON_REMOVAL);
}
END_TEST

START_TEST(test_key_provider_extension_under_scardlab_key)
{
    struct cp_policy p;
    struct scl_err e;
    ck_assert_int_eq(parse("[HKLM\\Software\\scardlab\\CertProp]\nKeyProvider=\"KSP\"\n", &p, &e),
                     SCL_OK);
    ck_assert_int_eq(p.key_provider, CP_KEY_PROVIDER_KSP);
    ck_assert_int_eq(parse("[HKLM\\Software\\scardlab\\CertProp]\nKeyProvider=\"csp\"\n", &p, &e),
                     SCL_OK);
    ck_assert_int_eq(p.key_provider, CP_KEY_PROVIDER_CSP);
}
END_TEST

START_TEST(test_key_provider_under_windows_key_is_unknown)
{
    struct cp_policy p;
    struct scl_err e;
    char text[256];
    snprintf(text, sizeof text, "%sKeyProvider=\"KSP\"\n", key_line);
    ck_assert_int_eq(parse(text, &p, &e), SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "pol.reg:2: unknown value name 'KeyProvider'"), "%s", e.msg);
}
END_TEST

START_TEST(test_bad_key_provider_string)
{
    struct cp_policy p;
    struct scl_err e;
    ck_assert_int_eq(parse("[HKLM\\Software\\scardlab\\CertProp]\nKeyProvider=\"TPM\"\n", &p, &e),
                     SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "pol.reg:2:") && strstr(e.msg, "TPM"), "%s", e.msg);
    ck_assert_int_eq(parse("[HKLM\\Software\\scardlab\\CertProp]\nKeyProvider=dword:1\n", &p, &e),
                     SCL_E_FORMAT);
}
END_TEST

START_TEST(test_value_before_key_is_an_error)
{
    struct cp_policy p;
    struct scl_err e;
    ck_assert_int_eq(parse("CertPropEnabled=dword:00000000\n", &p, &e), SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "pol.reg:1:") && strstr(e.msg, "before any [key]"), "%s", e.msg);
    ck_assert(p.cert_prop_enabled);
}
END_TEST

START_TEST(test_unknown_key_is_an_error)
{
    struct cp_policy p;
    struct scl_err e;
    ck_assert_int_eq(parse("\n[HKLM\\Software\\Policies\\Microsoft\\Windows\\CertPropX]\n", &p, &e),
                     SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "pol.reg:2: unknown key"), "%s", e.msg);
    ck_assert_int_eq(parse("[HKCU\\Software\\Policies\\Microsoft\\Windows\\CertProp]\n", &p, &e),
                     SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "HKLM"), "%s", e.msg);
}
END_TEST

START_TEST(test_unknown_value_name_is_an_error)
{
    struct cp_policy p;
    struct scl_err e;
    char text[256];
    snprintf(text, sizeof text, "%sCertPropEnable=dword:00000000\n", key_line);
    ck_assert_int_eq(parse(text, &p, &e), SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "pol.reg:2:") && strstr(e.msg, "CertPropEnable'"), "%s", e.msg);
}
END_TEST

START_TEST(test_bad_dword_forms_are_errors)
{
    static const char *const bad[] = {
        "CertPropEnabled=1",               /* no type */
        "CertPropEnabled=dword:",          /* no digits */
        "CertPropEnabled=dword:000000001", /* nine digits */
        "CertPropEnabled=dword:0000000g",  /* not hex */
        "CertPropEnabled=hex:01,00,00,00", /* another type */
        "CertPropEnabled=-",               /* delete value */
        "CertPropEnabled",                 /* no '=' */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cp_policy p;
        struct scl_err e;
        char text[256];
        snprintf(text, sizeof text, "%s%s\n", key_line, bad[i]);
        ck_assert_msg(parse(text, &p, &e) == SCL_E_FORMAT, "accepted '%s'", bad[i]);
        ck_assert_msg(strstr(e.msg, "pol.reg:2:"), "'%s': %s", bad[i], e.msg);
    }
}
END_TEST

START_TEST(test_key_line_forms_are_checked)
{
    struct cp_policy p;
    struct scl_err e;
    ck_assert_int_eq(parse("[-HKLM\\Software\\Policies\\Microsoft\\Windows\\CertProp]\n", &p, &e),
                     SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "not supported"), "%s", e.msg);
    ck_assert_int_eq(parse("[HKLM\\Software\\Policies\\Microsoft\\Windows\\CertProp\n", &p, &e),
                     SCL_E_FORMAT);
    ck_assert_int_eq(parse("[HKLM\\Software\\Policies\\Microsoft\\Windows\\CertProp] x\n", &p, &e),
                     SCL_E_FORMAT);
}
END_TEST

START_TEST(test_regedit_header_only_on_first_line)
{
    struct cp_policy p;
    struct scl_err e;
    char text[256];
    snprintf(text, sizeof text, "%sREGEDIT4\n", key_line);
    ck_assert_int_eq(parse(text, &p, &e), SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "pol.reg:2:"), "%s", e.msg);
}
END_TEST

START_TEST(test_utf16_and_nul_bytes_are_refused)
{
    struct cp_policy p;
    struct scl_err e;
    const uint8_t utf16[] = {0xff, 0xfe, 'W', 0, 'i', 0};
    cp_policy_defaults(&p);
    ck_assert_int_eq(cp_policy_parse("pol.reg", utf16, sizeof utf16, &p, &e), SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "UTF-16"), "%s", e.msg);
    const uint8_t nul[] = {';', 0, '\n'};
    ck_assert_int_eq(cp_policy_parse("pol.reg", nul, sizeof nul, &p, &e), SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "offset 1"), "%s", e.msg);
}
END_TEST

START_TEST(test_load_bad_file_leaves_policy_untouched)
{
    char path[] = "/tmp/test_policy_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct scl_err e;
    const char good[] = "[HKLM\\Software\\Policies\\Microsoft\\Windows\\CertProp]\n"
                        "CertPropEnabled=dword:00000000\n";
    ck_assert_int_eq(scl_write_atomic(path, good, strlen(good), 0600, &e), SCL_OK);
    struct cp_policy p;
    cp_policy_defaults(&p);
    ck_assert_int_eq(cp_policy_load(path, &p, &e), SCL_OK);
    ck_assert(!p.cert_prop_enabled);
    const char bad[] = "[HKLM\\Software\\Policies\\Microsoft\\Windows\\CertProp]\n"
                       "RootCertificateCleanupOption=dword:00000001\nBogus=dword:1\n";
    ck_assert_int_eq(scl_write_atomic(path, bad, strlen(bad), 0600, &e), SCL_OK);
    ck_assert_int_eq(cp_policy_load(path, &p, &e), SCL_E_FORMAT);
    ck_assert(!p.cert_prop_enabled);
    ck_assert_int_eq(p.root_cleanup, CP_ROOT_CLEANUP_ON_LOGOFF);
    ck_assert_msg(strstr(e.msg, ":3: unknown value name 'Bogus'"), "%s", e.msg);
    unlink(path);
    ck_assert_int_ne(cp_policy_load(path, &p, &e), SCL_OK);
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("certprop policy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_defaults_match_windows);
    tcase_add_test(tc, test_empty_file_keeps_defaults);
    tcase_add_test(tc, test_cert_prop_enabled_zero_disables);
    tcase_add_test(tc, test_enable_root_propagation_zero_disables);
    tcase_add_test(tc, test_root_cleanup_option_every_value);
    tcase_add_test(tc, test_root_cleanup_option_3_is_an_error_with_line);
    tcase_add_test(tc, test_seed_policy_file_with_regedit_header_and_crlf);
    tcase_add_test(tc, test_key_provider_extension_under_scardlab_key);
    tcase_add_test(tc, test_key_provider_under_windows_key_is_unknown);
    tcase_add_test(tc, test_bad_key_provider_string);
    tcase_add_test(tc, test_value_before_key_is_an_error);
    tcase_add_test(tc, test_unknown_key_is_an_error);
    tcase_add_test(tc, test_unknown_value_name_is_an_error);
    tcase_add_test(tc, test_bad_dword_forms_are_errors);
    tcase_add_test(tc, test_key_line_forms_are_checked);
    tcase_add_test(tc, test_regedit_header_only_on_first_line);
    tcase_add_test(tc, test_utf16_and_nul_bytes_are_refused);
    tcase_add_test(tc, test_load_bad_file_leaves_policy_untouched);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(policy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
