/*
 * test_certid.c - each kind of CertId certutil accepts names the right
 * certificate, in the spellings users paste (spaced, any case, curly quotes).
 * Not store access: elements are built in memory.
 */
#include "propagator.h"
#include "testcert.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define CONTAINER "0c5a29e3-1f4b-4c1d-9e8a-2b7c6d5fc105"

static struct cs_element story, other;

static void setup(void)
{
    size_t len;
    uint8_t *der = tc_story_cert(&len);
    struct scl_err e = {0};
    ck_assert_int_eq(cs_element_from_cert(der, len, &story, &e), SCL_OK);
    free(der);
    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, CONTAINER, CS_AT_KEYEXCHANGE);
    uint8_t *v;
    size_t vlen;
    ck_assert_int_eq(cs_kpi_encode(&kpi, &v, &vlen, &e), SCL_OK);
    ck_assert_int_eq(cs_element_set_prop(&story, CS_PROP_KEY_PROV_INFO, v, vlen, &e), SCL_OK);
    free(v);

    static const uint8_t high_serial[2] = {0x80, 0x01}; /* DER adds a leading 00 */
    struct tc_spec s = {.serial = high_serial, .serial_len = 2, .cn = "Other Person",
                        .email = "other@example.test", .email_rdn = "rdn@example.test"};
    der = tc_make_cert(&s, &len);
    ck_assert_int_eq(cs_element_from_cert(der, len, &other, &e), SCL_OK);
    free(der);
}

static void teardown(void)
{
    cs_element_free(&story);
    cs_element_free(&other);
}

START_TEST(test_certid_index_is_zero_based)
{
    ck_assert(cs_certid_match("0", &story, 0));
    ck_assert(!cs_certid_match("1", &story, 0));
    ck_assert(cs_certid_match("1", &other, 1));
}
END_TEST

START_TEST(test_certid_matches_spaced_serial_any_case)
{
    ck_assert(cs_certid_match("05 05 1c 00 22 7f 3c dd fa 98", &story, 0));
    ck_assert(cs_certid_match("05051C00227F3CDDFA98", &story, 0));
    ck_assert(cs_certid_match("05:05:1c:00:22:7f:3c:dd:fa:98", &story, 0));
    ck_assert(!cs_certid_match("05 05 1c 00 22 7f 3c dd fa 99", &story, 0));
    ck_assert(!cs_certid_match("05 05 1c 00 22 7f 3c dd fa 98", &other, 0));
}
END_TEST

START_TEST(test_certid_serial_with_or_without_leading_zero)
{
    ck_assert(cs_certid_match("00 80 01", &other, 0));
    /* "8001" alone would be an index (all decimal digits), as in certutil */
    ck_assert(cs_certid_match("80 01", &other, 0));
    ck_assert(!cs_certid_match("8001", &other, 0));
}
END_TEST

START_TEST(test_certid_curly_quotes_are_stripped)
{
    ck_assert(cs_certid_match("\xE2\x80\x9C" "05 05 1c 00 22 7f 3c dd fa 98" "\xE2\x80\x9D", &story, 0));
    ck_assert(cs_certid_match("\xE2\x80\x9C" "Firstname Lastname" "\xE2\x80\x9D", &story, 0));
    ck_assert(cs_certid_match("\"Firstname Lastname\"", &story, 0));
}
END_TEST

START_TEST(test_certid_matches_sha1_spaced_or_not)
{
    char hex[41], spaced[80];
    scl_hex_encode(story.sha1, 20, hex, false);
    ck_assert(cs_certid_match(hex, &story, 0));
    size_t n = 0;
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(spaced + n, sizeof spaced - n, "%02X ", story.sha1[i]);
    ck_assert(cs_certid_match(spaced, &story, 0));
    ck_assert(!cs_certid_match(hex, &other, 0));
}
END_TEST

START_TEST(test_certid_matches_subject_cn_case_insensitive)
{
    ck_assert(cs_certid_match("Firstname Lastname", &story, 0));
    ck_assert(cs_certid_match("firstname lastname", &story, 0));
    ck_assert(!cs_certid_match("Firstname", &story, 0));
    ck_assert(!cs_certid_match("Firstname Lastname", &other, 0));
}
END_TEST

START_TEST(test_certid_matches_upn_and_emails)
{
    ck_assert(cs_certid_match("firstname.lastname@example.test", &story, 0));
    ck_assert(cs_certid_match("other@example.test", &other, 0));
    ck_assert(cs_certid_match("rdn@example.test", &other, 0));
    ck_assert(!cs_certid_match("other@example.test", &story, 0));
}
END_TEST

START_TEST(test_certid_matches_container_and_provider)
{
    ck_assert(cs_certid_match(CONTAINER, &story, 0));
    ck_assert(cs_certid_match("Microsoft Base Smart Card Crypto Provider", &story, 0));
    ck_assert(!cs_certid_match("Microsoft Base Smart Card Crypto Provider", &other, 0));
}
END_TEST

START_TEST(test_certid_empty_matches_nothing)
{
    ck_assert(!cs_certid_match("", &story, 0));
    ck_assert(!cs_certid_match("\xE2\x80\x9C\xE2\x80\x9D", &story, 0));
}
END_TEST

static Suite *certid_suite(void)
{
    Suite *s = suite_create("certid");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_certid_index_is_zero_based);
    tcase_add_test(tc, test_certid_matches_spaced_serial_any_case);
    tcase_add_test(tc, test_certid_serial_with_or_without_leading_zero);
    tcase_add_test(tc, test_certid_curly_quotes_are_stripped);
    tcase_add_test(tc, test_certid_matches_sha1_spaced_or_not);
    tcase_add_test(tc, test_certid_matches_subject_cn_case_insensitive);
    tcase_add_test(tc, test_certid_matches_upn_and_emails);
    tcase_add_test(tc, test_certid_matches_container_and_provider);
    tcase_add_test(tc, test_certid_empty_matches_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(certid_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
