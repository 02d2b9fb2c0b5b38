/*
 * test_pki_mint.c - the minted test PKI: certificates chain to the CA, carry
 * the story's serial, subject, UPN and per-slot key usage; keys are private
 * files; card.conf loads back; an existing CA can be reused.
 */
#include "vcard.h"

#include <check.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[] = "/tmp/scl-test-pki-mint-XXXXXX";
static char alice[sizeof tmp + 8];

static const uint8_t story_serial[10] = {0x05, 0x05, 0x1c, 0x00, 0x22,
                                         0x7f, 0x3c, 0xdd, 0xfa, 0x98};

/* Minted once in the parent: the story's card, RSA-2048, all four slots. */
static void mint_alice(void)
{
    if (!mkdtemp(tmp)) abort();
    snprintf(alice, sizeof alice, "%s/alice", tmp);
    struct vc_mint_opts o = {.out_dir = alice,
                             .holder = "Firstname Lastname",
                             .upn = "alice@contoso.test",
                             .serial_hex = "05 05 1c 00 22 7f 3c dd fa 98"};
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

static void remove_tmp(void)
{
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static X509 *read_cert(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(x);
    return x;
}

static bool chains_to(X509 *leaf, X509 *ca)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

static void serial_bytes(X509 *x, uint8_t *out, int *n)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    *n = ASN1_STRING_length(sn);
    ck_assert_int_le(*n, 20);
    memcpy(out, ASN1_STRING_get0_data(sn), (size_t)*n);
}

static bool has_eku_oid(X509 *x, const char *oid)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    bool found = false;
    for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
        char txt[80];
        OBJ_obj2txt(txt, sizeof txt, sk_ASN1_OBJECT_value(eku, i), 1);
        found |= strcmp(txt, oid) == 0;
    }
    EXTENDED_KEY_USAGE_free(eku);
    return found;
}

START_TEST(test_minted_certs_chain_to_the_minted_ca)
{
    X509 *ca = read_cert(alice, "ca/ca.crt");
    const char *names[] = {"9a.crt", "9c.crt", "9d.crt", "9e.crt"};
    for (int i = 0; i < 4; i++) {
        X509 *x = read_cert(alice, names[i]);
        ck_assert_msg(chains_to(x, ca), "%s does not chain", names[i]);
        X509_free(x);
    }
    /* the CA: a real root */
    ck_assert_int_ge(X509_check_ca(ca), 1);
    ck_assert(X509_get_key_usage(ca) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    char cn[80];
    X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn);
    ck_assert_str_eq(cn, "scardlab Test Root CA");
    ck_assert_ptr_nonnull(X509_get0_subject_key_id(ca));
    ck_assert_int_eq(X509_check_issued(ca, ca), X509_V_OK);
    X509_free(ca);
}
END_TEST

START_TEST(test_subject_cn_is_the_holder)
{
    X509 *x = read_cert(alice, "9a.crt");
    char cn[128];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    ck_assert_str_eq(cn, "Firstname Lastname");
    ck_assert_ptr_nonnull(X509_get0_authority_key_id(x));
    ck_assert_int_eq(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
    X509_free(x);
}
END_TEST

START_TEST(test_story_serial_goes_to_9a_and_counts_up)
{
    const char *names[] = {"9a.crt", "9c.crt", "9d.crt", "9e.crt"};
    for (int i = 0; i < 4; i++) {
        X509 *x = read_cert(alice, names[i]);
        uint8_t got[20], want[10];
        int n;
        serial_bytes(x, got, &n);
        memcpy(want, story_serial, 10);
        want[9] = (uint8_t)(want[9] + i);
        ck_assert_int_eq(n, 10);
        ck_assert_mem_eq(got, want, 10);
        X509_free(x);
    }
}
END_TEST

START_TEST(test_upn_san_decodes_as_utf8_othername_and_email)
{
    X509 *x = read_cert(alice, "9a.crt");
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    ck_assert_ptr_nonnull(gens);
    bool upn = false, mail = false;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_OTHERNAME) {
            char oid[64];
            OBJ_obj2txt(oid, sizeof oid, g->d.otherName->type_id, 1);
            ck_assert_str_eq(oid, "1.3.6.1.4.1.311.20.2.3");
            ASN1_TYPE *v = g->d.otherName->value;
            ck_assert_int_eq(v->type, V_ASN1_UTF8STRING);
            ck_assert_int_eq(ASN1_STRING_length(v->value.utf8string), 18);
            ck_assert_mem_eq(ASN1_STRING_get0_data(v->value.utf8string), "alice@contoso.test", 18);
            upn = true;
        } else if (g->type == GEN_EMAIL) {
            ck_assert_str_eq((const char *)ASN1_STRING_get0_data(g->d.rfc822Name),
                             "alice@contoso.test");
            mail = true;
        }
    }
    GENERAL_NAMES_free(gens);
    ck_assert(upn && mail);
    X509_free(x);
}
END_TEST

START_TEST(test_key_usage_follows_piv_slot)
{
    X509 *x = read_cert(alice, "9a.crt");
    ck_assert_uint_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    ck_assert(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
    ck_assert(has_eku_oid(x, "1.3.6.1.4.1.311.20.2.2")); /* smartcardLogon */
    X509_free(x);
    x = read_cert(alice, "9c.crt");
    ck_assert_uint_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
    ck_assert_uint_eq(X509_get_extended_key_usage(x), XKU_SMIME);
    X509_free(x);
    x = read_cert(alice, "9d.crt");
    ck_assert_uint_eq(X509_get_key_usage(x), KU_KEY_ENCIPHERMENT);
    ck_assert_uint_eq(X509_get_extended_key_usage(x), XKU_SMIME);
    X509_free(x);
    x = read_cert(alice, "9e.crt");
    ck_assert_uint_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
    ck_assert(has_eku_oid(x, "2.16.840.1.101.3.6.8")); /* id-PIV-cardAuth */
    ck_assert(!has_eku_oid(x, "1.3.6.1.4.1.311.20.2.2"));
    X509_free(x);
}
END_TEST

START_TEST(test_key_files_are_mode_0600)
{
    const char *names[] = {"9a.key", "9c.key", "9d.key", "9e.key", "ca/ca.key"};
    for (int i = 0; i < 5; i++) {
        char path[512];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", alice, names[i]);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_msg((st.st_mode & 0777) == 0600, "%s has mode %o", names[i], st.st_mode & 0777);
    }
    struct stat st;
    ck_assert_int_eq(stat(alice, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
}
END_TEST

START_TEST(test_card_conf_loads_back_with_matching_keys)
{
    char path[512];
    snprintf(path, sizeof path, "%s/card.conf", alice);
    struct vc_card_spec spec;
    struct scl_err e = {0};
    ck_assert_msg(vc_card_file_load(path, &spec, &e) == SCL_OK, "%s", e.msg);
    ck_assert_str_eq(spec.holder, "Firstname Lastname");
    ck_assert_str_eq(spec.pin, "123456");
    ck_assert_str_eq(spec.puk, "12345678");
    uint8_t zero[16] = {0};
    ck_assert(memcmp(spec.guid, zero, 16) != 0);
    for (int s = 0; s < VC_NSLOTS; s++) {
        struct vc_slot *sl = &spec.slots[s];
        ck_assert(sl->present && sl->alg == VC_ALG_RSA2048);
        const unsigned char *p = sl->cert_der;
        X509 *x = d2i_X509(NULL, &p, (long)sl->cert_len);
        ck_assert_ptr_nonnull(x);
        ck_assert_int_eq(EVP_PKEY_eq(X509_get0_pubkey(x), sl->key), 1);
        X509_free(x);
    }
    vc_card_spec_free(&spec);
}
END_TEST

START_TEST(test_ca_dir_reuse_issues_under_the_same_ca)
{
    char bob[512], ca_dir[512], path[600];
    snprintf(bob, sizeof bob, "%s/bob", tmp);
    snprintf(ca_dir, sizeof ca_dir, "%s/ca", alice);
    struct vc_mint_opts o = {.out_dir = bob,
                             .holder = "Bob Builder",
                             .ca_dir = ca_dir,
                             .alg = VC_ALG_P256,
                             .slots = 1u << VC_SLOT_9A | 1u << VC_SLOT_9D,
                             .pin = "24681357",
                             .puk = "87654321"};
    struct scl_err e = {0};
    ck_assert_msg(vc_pki_mint(&o, &e) == SCL_OK, "%s", e.msg);
    snprintf(path, sizeof path, "%s/ca", bob);
    ck_assert_int_ne(access(path, F_OK), 0); /* no second CA */
    X509 *ca = read_cert(alice, "ca/ca.crt");
    X509 *x = read_cert(bob, "9a.crt");
    ck_assert(chains_to(x, ca));
    ck_assert(!has_eku_oid(x, "1.3.6.1.4.1.311.20.2.3"));
    ck_assert_int_lt(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), 0); /* no --upn */
    uint8_t sn[20];
    int n;
    serial_bytes(x, sn, &n);
    ck_assert_int_eq(n, 10);
    ck_assert_uint_lt(sn[0], 0x80);
    X509_free(x);
    x = read_cert(bob, "9d.crt");
    ck_assert_uint_eq(X509_get_key_usage(x), KU_KEY_AGREEMENT); /* EC key management */
    ck_assert_int_eq(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
    X509_free(x);
    X509_free(ca);
    snprintf(path, sizeof path, "%s/card.conf", bob);
    struct vc_card_spec spec;
    ck_assert_msg(vc_card_file_load(path, &spec, &e) == SCL_OK, "%s", e.msg);
    ck_assert(spec.slots[VC_SLOT_9A].present && spec.slots[VC_SLOT_9D].present);
    ck_assert(!spec.slots[VC_SLOT_9C].present && !spec.slots[VC_SLOT_9E].present);
    ck_assert_str_eq(spec.pin, "24681357");
    ck_assert_str_eq(spec.puk, "87654321");
    vc_card_spec_free(&spec);
}
END_TEST

/* Each other key type, on one slot to keep key generation short. */
static const struct {
    enum vc_alg alg;
    enum vc_slot_id slot;
    const char *type;
    int bits;
} other_keys[] = {
    {VC_ALG_P384, VC_SLOT_9E, "EC", 384},
    {VC_ALG_P256, VC_SLOT_9C, "EC", 256},
    {VC_ALG_RSA3072, VC_SLOT_9A, "RSA", 3072},
};

START_TEST(test_other_key_types_mint_and_load)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/keys%d", tmp, _i);
    snprintf(path, sizeof path, "%s/ca", alice);
    struct vc_mint_opts o = {.out_dir = dir,
                             .holder = "Key Type",
                             .ca_dir = path,
                             .alg = other_keys[_i].alg,
                             .slots = 1u << other_keys[_i].slot};
    struct scl_err e = {0};
    ck_assert_msg(vc_pki_mint(&o, &e) == SCL_OK, "%s", e.msg);
    snprintf(path, sizeof path, "%s/card.conf", dir);
    struct vc_card_spec spec;
    ck_assert_msg(vc_card_file_load(path, &spec, &e) == SCL_OK, "%s", e.msg);
    struct vc_slot *sl = &spec.slots[other_keys[_i].slot];
    ck_assert(sl->present && sl->alg == other_keys[_i].alg);
    ck_assert(EVP_PKEY_is_a(sl->key, other_keys[_i].type));
    ck_assert_int_eq(EVP_PKEY_get_bits(sl->key), other_keys[_i].bits);
    vc_card_spec_free(&spec);
}
END_TEST

START_TEST(test_bad_options_are_refused_before_writing)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/refused", tmp);
    struct vc_mint_opts base = {.out_dir = dir, .holder = "X Y", .alg = VC_ALG_P256};
    struct scl_err e = {0};
    struct vc_mint_opts o = base;
    o.serial_hex = "85 01"; /* would be negative */
    ck_assert_int_eq(vc_pki_mint(&o, &e), SCL_E_INVAL);
    o = base;
    o.serial_hex = "zz";
    ck_assert_int_eq(vc_pki_mint(&o, &e), SCL_E_INVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "bad serial 'zz'"));
    o = base;
    o.upn = "not an address";
    ck_assert_int_eq(vc_pki_mint(&o, &e), SCL_E_INVAL);
    o = base;
    o.pin = "12345";
    ck_assert_int_eq(vc_pki_mint(&o, &e), SCL_E_INVAL);
    o = base;
    o.holder = "line\nbreak";
    ck_assert_int_eq(vc_pki_mint(&o, &e), SCL_E_INVAL);
    ck_assert_int_ne(access(dir, F_OK), 0);
}
END_TEST

START_TEST(test_holder_with_quotes_round_trips_through_card_conf)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/quoted", tmp);
    snprintf(path, sizeof path, "%s/ca", alice);
    struct vc_mint_opts o = {.out_dir = dir,
                             .holder = "Ann \"Q\" \\ Lee",
                             .ca_dir = path,
                             .alg = VC_ALG_P256,
                             .slots = 1u << VC_SLOT_9A};
    struct scl_err e = {0};
    ck_assert_msg(vc_pki_mint(&o, &e) == SCL_OK, "%s", e.msg);
    snprintf(path, sizeof path, "%s/card.conf", dir);
    struct vc_card_spec spec;
    ck_assert_msg(vc_card_file_load(path, &spec, &e) == SCL_OK, "%s", e.msg);
    ck_assert_str_eq(spec.holder, "Ann \"Q\" \\ Lee");
    vc_card_spec_free(&spec);
}
END_TEST

START_TEST(test_pki_command_exit_codes)
{
    char *help[] = {"pki", "mint", "--help", NULL};
    ck_assert_int_eq(vc_cmd_pki(3, help), 0);
    char *top_help[] = {"pki", "--help", NULL};
    ck_assert_int_eq(vc_cmd_pki(2, top_help), 0);
    char *no_out[] = {"pki", "mint", "--holder", "A B", NULL};
    ck_assert_int_eq(vc_cmd_pki(4, no_out), 2);
    char *bad_opt[] = {"pki", "mint", "--bogus", NULL};
    ck_assert_int_eq(vc_cmd_pki(3, bad_opt), 2);
    char *bad_slots[] = {"pki", "mint", "--out", "/tmp/x", "--holder", "A", "--slots", "9a,", NULL};
    ck_assert_int_eq(vc_cmd_pki(8, bad_slots), 2);
    char *bad_sub[] = {"pki", "burn", NULL};
    ck_assert_int_eq(vc_cmd_pki(2, bad_sub), 2);
    char dir[512], ca[512];
    snprintf(dir, sizeof dir, "%s/cmd", tmp);
    snprintf(ca, sizeof ca, "%s/ca", alice);
    char *ok[] = {"pki",   "mint", "--out", dir, "--holder", "Cmd User", "--slots", "9e,9c",
                  "--key", "p256", "--ca",  ca,  "--serial", "0a0b",     NULL};
    ck_assert_int_eq(vc_cmd_pki(14, ok), 0);
    X509 *x = read_cert(dir, "9e.crt");
    uint8_t sn[20];
    int n;
    serial_bytes(x, sn, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(sn[1], 0x0c); /* 9c is minted first, 9e second */
    X509_free(x);
    char *bad_ca[] = {"pki", "mint", "--out", dir, "--holder", "A", "--ca", "/nonexistent", NULL};
    ck_assert_int_eq(vc_cmd_pki(8, bad_ca), 1);
}
END_TEST

static Suite *pki_mint_suite(void)
{
    Suite *s = suite_create("pki_mint");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, mint_alice, remove_tmp);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_minted_certs_chain_to_the_minted_ca);
    tcase_add_test(tc, test_subject_cn_is_the_holder);
    tcase_add_test(tc, test_story_serial_goes_to_9a_and_counts_up);
    tcase_add_test(tc, test_upn_san_decodes_as_utf8_othername_and_email);
    tcase_add_test(tc, test_key_usage_follows_piv_slot);
    tcase_add_test(tc, test_key_files_are_mode_0600);
    tcase_add_test(tc, test_card_conf_loads_back_with_matching_keys);
    tcase_add_test(tc, test_ca_dir_reuse_issues_under_the_same_ca);
    tcase_add_loop_test(tc, test_other_key_types_mint_and_load, 0,
                        (int)(sizeof other_keys / sizeof other_keys[0]));
    tcase_add_test(tc, test_bad_options_are_refused_before_writing);
    tcase_add_test(tc, test_holder_with_quotes_round_trips_through_card_conf);
    tcase_add_test(tc, test_pki_command_exit_codes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pki_mint_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
