/*
 * test_card_file.c - card files: a valid file loads with every field right,
 * each mistake is reported at its FILE:LINE with a useful message, key and
 * certificate files are checked against each other and the declared slot.
 */
#include "vcard.h"

#include <check.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SCL_TEST_DATA
#define SCL_TEST_DATA "tests/vcard/data"
#endif

/* Minted once (in the parent, before the forked tests): p256 keys for every
 * slot in TMP/pki, and an RSA-2048 pair in TMP/pki/ca (the CA's own). */
static char tmp[] = "/tmp/scl-test-card-file-XXXXXX";
static char pki[sizeof tmp + 8];

static void mint_fixture(void)
{
    if (!mkdtemp(tmp)) abort();
    snprintf(pki, sizeof pki, "%s/pki", tmp);
    struct vc_mint_opts o = {.out_dir = pki, .holder = "Firstname Lastname", .alg = VC_ALG_P256};
    struct scl_err e = {0};
    if (vc_pki_mint(&o, &e)) {
        fprintf(stderr, "fixture: %s\n", e.msg);
        abort();
    }
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void remove_fixture(void)
{
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text (len bytes, or strlen) to PKI/name; returns the full path. */
static const char *write_card(const char *name, const char *text, size_t len)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", pki, name);
    struct scl_err e;
    ck_assert_int_eq(scl_write_atomic(path, text, len ? len : strlen(text), 0644, &e), SCL_OK);
    return path;
}

static uint8_t *file_der_cert(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", pki, rel);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(x);
    uint8_t *der = NULL;
    int n = i2d_X509(x, &der);
    X509_free(x);
    ck_assert_int_gt(n, 0);
    *len = (size_t)n;
    return der;
}

#define HEADER                                                                                     \
    "scardlab-card 1\nholder \"Firstname Lastname\"\nguid 00112233445566778899aabbccddeeff\n"

START_TEST(test_valid_card_file_loads_every_field)
{
    const char *path =
        write_card("full.conf",
                   "# a card with everything\r\n"
                   "scardlab-card 1\r\n"
                   "\n"
                   "holder \"Jos\xc3\xa9 \\\"Q\\\" O'Neil\"   # quoted, with escapes\n"
                   "guid 3f9c5a1e-0b7d-4c2e-9a11-7d3b2c1e0f42\n"
                   "fascn 0102030405060708090a0b0c0d0e0f10111213141516171819\n"
                   "pin 87654321\n"
                   "puk 11223344\n"
                   "pin-tries 5\n"
                   "puk-tries 15\n"
                   "\tslot 9A rsa2048 key=ca/ca.key cert=ca/ca.crt\n"
                   "slot 9c p256 cert=9c.crt key=9c.key\n"
                   "slot 9e P256 cert=\"9e.crt\" key=9e.key\n",
                   0);
    struct vc_card_spec spec;
    struct scl_err e = {0};
    ck_assert_msg(vc_card_file_load(path, &spec, &e) == SCL_OK, "%s", e.msg);
    ck_assert_str_eq(spec.holder, "Jos\xc3\xa9 \"Q\" O'Neil");
    const uint8_t guid[16] = {0x3f, 0x9c, 0x5a, 0x1e, 0x0b, 0x7d, 0x4c, 0x2e,
                              0x9a, 0x11, 0x7d, 0x3b, 0x2c, 0x1e, 0x0f, 0x42};
    ck_assert_mem_eq(spec.guid, guid, 16);
    for (int i = 0; i < 25; i++)
        ck_assert_uint_eq(spec.fascn[i], i + 1);
    ck_assert_str_eq(spec.pin, "87654321");
    ck_assert_str_eq(spec.puk, "11223344");
    ck_assert_int_eq(spec.pin_tries, 5);
    ck_assert_int_eq(spec.puk_tries, 15);
    ck_assert(spec.slots[VC_SLOT_9A].present && spec.slots[VC_SLOT_9A].alg == VC_ALG_RSA2048);
    ck_assert(spec.slots[VC_SLOT_9C].present && spec.slots[VC_SLOT_9C].alg == VC_ALG_P256);
    ck_assert(!spec.slots[VC_SLOT_9D].present && !spec.slots[VC_SLOT_9D].key);
    ck_assert(spec.slots[VC_SLOT_9E].present && spec.slots[VC_SLOT_9E].alg == VC_ALG_P256);
    size_t n;
    uint8_t *der = file_der_cert("9c.crt", &n);
    ck_assert_uint_eq(spec.slots[VC_SLOT_9C].cert_len, n);
    ck_assert_mem_eq(spec.slots[VC_SLOT_9C].cert_der, der, n);
    OPENSSL_free(der);
    der = file_der_cert("ca/ca.crt", &n);
    ck_assert_mem_eq(spec.slots[VC_SLOT_9A].cert_der, der, n);
    OPENSSL_free(der);
    ck_assert_int_eq(EVP_PKEY_get_bits(spec.slots[VC_SLOT_9A].key), 2048);
    vc_card_spec_free(&spec);
}
END_TEST

START_TEST(test_defaults_apply_when_optional_statements_are_missing)
{
    const char *path = write_card("min.conf", HEADER "slot 9d p256 cert=9d.crt key=9d.key\n", 0);
    struct vc_card_spec spec;
    struct scl_err e = {0};
    ck_assert_msg(vc_card_file_load(path, &spec, &e) == SCL_OK, "%s", e.msg);
    ck_assert_str_eq(spec.pin, "123456");
    ck_assert_str_eq(spec.puk, "12345678");
    ck_assert_int_eq(spec.pin_tries, 3);
    ck_assert_int_eq(spec.puk_tries, 3);
    const uint8_t fascn[25] = {0xd4, 0xe7, 0x39, 0xda, 0x73, 0x9c, 0xed, 0x39, 0xce,
                               0x73, 0x9d, 0x83, 0x68, 0x58, 0x21, 0x08, 0x42, 0x10,
                               0x84, 0x21, 0xc8, 0x42, 0x10, 0xc3, 0xeb};
    ck_assert_mem_eq(spec.fascn, fascn, 25);
    vc_card_spec_free(&spec);
}
END_TEST

START_TEST(test_relative_paths_resolve_against_card_file_folder)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/cards/alice", tmp);
    ck_assert_int_eq(scl_mkdirs(dir, 0700, NULL), SCL_OK);
    snprintf(path, sizeof path, "%s/card.conf", dir);
    char text[1024];
    snprintf(text, sizeof text,
             HEADER "slot 9a p256 cert=../../pki/9a.crt key=../../pki/9a.key\n"
                    "slot 9c p256 cert=%s/9c.crt key=%s/9c.key\n",
             pki, pki);
    ck_assert_int_eq(scl_write_atomic(path, text, strlen(text), 0644, NULL), SCL_OK);
    ck_assert_int_eq(chdir("/"), 0); /* forked test: the cwd must not matter */
    struct vc_card_spec spec;
    struct scl_err e = {0};
    ck_assert_msg(vc_card_file_load(path, &spec, &e) == SCL_OK, "%s", e.msg);
    ck_assert(spec.slots[VC_SLOT_9A].present && spec.slots[VC_SLOT_9C].present);
    vc_card_spec_free(&spec);
    /* the same card from its own folder, named without a directory */
    ck_assert_int_eq(chdir(dir), 0);
    ck_assert_msg(vc_card_file_load("card.conf", &spec, &e) == SCL_OK, "%s", e.msg);
    vc_card_spec_free(&spec);
}
END_TEST

START_TEST(test_der_key_and_certificate_files_load)
{
    struct vc_card_spec spec;
    struct scl_err e = {0};
    /* Re-encode 9c's PEM files as DER (PKCS#8 key) under new names. */
    char path[512];
    snprintf(path, sizeof path, "%s/9c.key", pki);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(k);
    uint8_t *der = NULL;
    int n = i2d_PrivateKey(k, &der);
    ck_assert_int_gt(n, 0);
    write_card("9c.key.der", (const char *)der, (size_t)n);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    size_t cn;
    der = file_der_cert("9c.crt", &cn);
    write_card("9c.crt.der", (const char *)der, cn);
    const char *card =
        write_card("der.conf", HEADER "slot 9c p256 cert=9c.crt.der key=9c.key.der\n", 0);
    ck_assert_msg(vc_card_file_load(card, &spec, &e) == SCL_OK, "%s", e.msg);
    ck_assert_mem_eq(spec.slots[VC_SLOT_9C].cert_der, der, cn);
    OPENSSL_free(der);
    vc_card_spec_free(&spec);
}
END_TEST

/* One wrong card file each: the line the error must name and words it must say. */
static const struct bad_case {
    const char *text;
    size_t len; /* 0: strlen */
    unsigned line;
    const char *says;
} bad_cases[] = {
    {"scardlab-card 1\nholder \"A B\"\nholdr x\n", 0, 3,
     "unknown statement 'holdr' (expected holder, guid, fascn, pin, puk, pin-tries, puk-tries, "
     "slot)"},
    {"holder \"A B\"\nscardlab-card 1\n", 0, 1, "'holder' before 'scardlab-card 1'"},
    {"scardlab-card 2\n", 0, 1, "unsupported card file version '2' (expected 1)"},
    {HEADER "holder \"C D\"\n", 0, 4, "duplicate 'holder' statement (first at line 2)"},
    {HEADER "slot 9a p256 cert=9a.crt key=9a.key\n\nslot 9A p256 cert=9a.crt key=9a.key\n", 0, 6,
     "slot 9a declared twice (first at line 4)"},
    {"scardlab-card 1\nguid 00112233445566778899aabbccddeeff\nslot 9a p256 cert=9a.crt "
     "key=9a.key\n# end\n",
     0, 4, "end of file: missing 'holder"},
    {"scardlab-card 1\nholder x\nslot 9a p256 cert=9a.crt key=9a.key\n", 0, 3,
     "end of file: missing 'guid'"},
    {HEADER "pin 654321\n", 0, 4, "end of file: no 'slot' statement"},
    {"", 0, 1, "end of file: missing 'scardlab-card 1'"},
    {"scardlab-card 1\nholder x\nguid 00112233-4455-6677-8899-aabbccddeeXY\n", 0, 3,
     "guid: bad value '00112233-4455-6677-8899-aabbccddeeXY' (expected 32 hex digits"},
    {"scardlab-card 1\nholder x\nguid 00112233445566778899aabbccddeef\n", 0, 3, "guid: bad value"},
    {HEADER "fascn d4e739da\n", 0, 4, "fascn: bad value 'd4e739da' (expected 50 hex digits"},
    {HEADER "pin 12345\n", 0, 4, "pin: bad value (expected 6 to 8 digits)"},
    {HEADER "pin 12345a\n", 0, 4, "pin: bad value"},
    {HEADER "puk 1234567\n", 0, 4, "puk: bad value (expected 8 digits)"},
    {HEADER "pin-tries 0\n", 0, 4, "pin-tries: bad value '0' (expected a number from 1 to 15)"},
    {HEADER "puk-tries 16\n", 0, 4, "puk-tries: bad value '16'"},
    {HEADER "slot 9c p256 cert=9c.crt key=k9c.pem\n", 0, 4,
     "slot 9c: key file 'k9c.pem' not found"},
    {HEADER "slot 9c p256 cert=nope.crt key=9c.key\n", 0, 4,
     "slot 9c: certificate file 'nope.crt' not found"},
    {HEADER "slot 9a rsa2048 cert=9a.crt key=9a.key\n", 0, 4,
     "slot 9a: key file '9a.key' holds an EC key on curve prime256v1, but the slot declares "
     "rsa2048"},
    {HEADER "slot 9a p384 cert=ca/ca.crt key=ca/ca.key\n", 0, 4,
     "holds an RSA-2048 key, but the slot declares p384"},
    {HEADER "slot 9a p256 cert=9a.crt key=9c.key\n", 0, 4,
     "slot 9a: certificate '9a.crt' public key does not match the private key in '9c.key'"},
    {HEADER "slot 9a p256 cert=9a.crt key=9a.crt\n", 0, 4,
     "slot 9a: key file '9a.crt' is not an unencrypted PEM or DER private key"},
    {HEADER "slot 9a p256 cert=9a.key key=9a.key\n", 0, 4,
     "slot 9a: certificate file '9a.key' is not a PEM or DER certificate"},
    {HEADER "slot 9b p256 cert=9a.crt key=9a.key\n", 0, 4,
     "slot: unknown key slot '9b' (expected 9a, 9c, 9d, 9e)"},
    {HEADER "slot 9a rsa1024 cert=9a.crt key=9a.key\n", 0, 4,
     "slot 9a: unknown algorithm 'rsa1024' (expected rsa2048, rsa3072, p256, p384)"},
    {HEADER "slot 9a p256 cert=9a.crt kee=9a.key\n", 0, 4,
     "slot 9a: unknown attribute 'kee=9a.key'"},
    {HEADER "slot 9a p256 cert=9a.crt cert=9a.key\n", 0, 4, "slot 9a: 'cert' given twice"},
    {HEADER "slot 9a p256 cert=9a.crt\n", 0, 4, "slot: expected 4 values, found 3"},
    {HEADER "slot 9a p256 cert=9a.crt key=\n", 0, 4, "slot 9a: empty file name in 'key='"},
    {"scardlab-card 1\nholder Firstname Lastname\n", 0, 2,
     "holder: expected 1 value, found 2 (usage: holder \"Firstname Lastname\")"},
    {"scardlab-card 1\nholder \"Firstname Lastname\n", 0, 2, "unterminated quote"},
    {"scardlab-card 1\nholder \"A\"B\n", 0, 2, "text right after a closing quote at column 11"},
    {"scardlab-card 1\nholder \"A\\nB\"\n", 0, 2, "bad escape at column 10"},
    {"scardlab-card 1\nholder \"\"\n", 0, 2, "holder: name must be 1..127 bytes, found 0"},
    {"scardlab-card 1\n\nhol\0der x\n", 27, 3, "NUL byte at column 4"},
    {"scardlab-card 1\nholder \"\xff\"\n", 0, 2, "bytes at column 9 are not UTF-8"},
    {"scardlab-card 1\nholder \"\xc0\xaf\"\n", 0, 2, "are not UTF-8"},
    {"scardlab-card 1\nholder \"\xed\xa0\x80\"\n", 0, 2, "bytes at column 9 are not UTF-8"},
    {"scardlab-card 1\nholder \"a\x01\"\n", 0, 2, "control byte 0x01 at column 10"},
    {"scardlab-card 1 2\n", 0, 1, "scardlab-card: expected 1 value, found 2"},
    {HEADER "slot 9a p256 cert=9a.crt key=\"no such/9a.key\"\n", 0, 4,
     "slot 9a: key file 'no such/9a.key' not found"},
    {"scardlab-card 1\nholder a\"b\"\n", 0, 2, "quote inside a word at column 9"},
};

START_TEST(test_bad_card_file_names_file_line_and_problem)
{
    const struct bad_case *bc = &bad_cases[_i];
    const char *path = write_card("bad.conf", bc->text, bc->len);
    char want[600];
    snprintf(want, sizeof want, "%s:%u: ", path, bc->line);
    struct vc_card_spec spec;
    struct scl_err e = {0};
    ck_assert_int_ne(vc_card_file_load(path, &spec, &e), SCL_OK);
    ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0, "case %d: want prefix '%s', got '%s'",
                  _i, want, e.msg);
    ck_assert_msg(strstr(e.msg, bc->says) != NULL, "case %d: want '%s' in '%s'", _i, bc->says,
                  e.msg);
    /* on error nothing is left to free */
    for (int s = 0; s < VC_NSLOTS; s++)
        ck_assert(!spec.slots[s].key && !spec.slots[s].cert_der);
}
END_TEST

START_TEST(test_slot_error_after_loaded_slots_frees_them)
{
    const char *path = write_card("late.conf",
                                  HEADER "slot 9a p256 cert=9a.crt key=9a.key\n"
                                         "slot 9c p256 cert=9c.crt key=9c.key\n"
                                         "slot 9d p256 cert=9d.crt key=9e.key\n",
                                  0);
    struct vc_card_spec spec;
    struct scl_err e = {0};
    ck_assert_int_ne(vc_card_file_load(path, &spec, &e), SCL_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "late.conf:6: slot 9d: certificate '9d.crt'"));
    ck_assert_ptr_null(spec.slots[VC_SLOT_9A].key);
    ck_assert_ptr_null(spec.slots[VC_SLOT_9C].cert_der);
}
END_TEST

START_TEST(test_overlong_line_is_refused_at_its_line)
{
    char text[2200];
    int n = snprintf(text, sizeof text, "scardlab-card 1\nholder \"");
    memset(text + n, 'a', 1100);
    strcpy(text + n + 1100, "\"\n");
    const char *path = write_card("long.conf", text, 0);
    struct vc_card_spec spec;
    struct scl_err e = {0};
    ck_assert_int_ne(vc_card_file_load(path, &spec, &e), SCL_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "long.conf:2: line longer than 1024 bytes"));
}
END_TEST

START_TEST(test_file_over_64k_is_refused)
{
    size_t big = VC_CARD_FILE_MAX + 1;
    char *text = malloc(big);
    ck_assert_ptr_nonnull(text);
    memset(text, '#', big);
    const char *path = write_card("big.conf", text, big);
    struct vc_card_spec spec;
    struct scl_err e = {0};
    ck_assert_int_ne(vc_card_file_load(path, &spec, &e), SCL_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "big.conf:1: file is larger than 65536 bytes"));
    ck_assert_int_ne(vc_card_file_parse("mem", (uint8_t *)text, big, pki, &spec, &e), SCL_OK);
    ck_assert_str_eq(e.msg, "mem:1: file is 65537 bytes, more than the 65536 allowed");
    free(text);
}
END_TEST

START_TEST(test_missing_card_file_is_not_found)
{
    struct vc_card_spec spec;
    struct scl_err e = {0};
    ck_assert_int_eq(vc_card_file_load("/nonexistent/card.conf", &spec, &e), SCL_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/card.conf"));
}
END_TEST

/* The shipped example file (docs/card-file.md) loads once its files exist. */
START_TEST(test_shipped_example_card_file_loads)
{
    uint8_t *buf;
    size_t len;
    struct scl_err e = {0};
    ck_assert_msg(scl_read_file(SCL_TEST_DATA "/example.conf", 65536, &buf, &len, &e) == SCL_OK,
                  "%s", e.msg);
    struct vc_card_spec spec;
    int rc = vc_card_file_parse("example.conf", buf, len, pki, &spec, &e);
    free(buf);
    ck_assert_msg(rc == SCL_OK, "%s", e.msg);
    ck_assert_str_eq(spec.holder, "Firstname Lastname");
    ck_assert_str_eq(spec.pin, "123456");
    ck_assert(spec.slots[VC_SLOT_9A].present && spec.slots[VC_SLOT_9E].present);
    vc_card_spec_free(&spec);
}
END_TEST

static Suite *card_file_suite(void)
{
    Suite *s = suite_create("card_file");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, mint_fixture, remove_fixture);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_valid_card_file_loads_every_field);
    tcase_add_test(tc, test_defaults_apply_when_optional_statements_are_missing);
    tcase_add_test(tc, test_relative_paths_resolve_against_card_file_folder);
    tcase_add_test(tc, test_der_key_and_certificate_files_load);
    tcase_add_loop_test(tc, test_bad_card_file_names_file_line_and_problem, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_slot_error_after_loaded_slots_frees_them);
    tcase_add_test(tc, test_overlong_line_is_refused_at_its_line);
    tcase_add_test(tc, test_file_over_64k_is_refused);
    tcase_add_test(tc, test_missing_card_file_is_not_found);
    tcase_add_test(tc, test_shipped_example_card_file_loads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(card_file_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
