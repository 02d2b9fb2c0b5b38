/*
 * test_store.c - the folder store: file names are SHA-1s, dispositions keep
 * or drop properties as Windows does, bad files are skipped and reported, and
 * two processes writing at once lose nothing.  Not byte formats (test_store_format.c).
 */
#include "propagator.h"
#include "testcert.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONTAINER "0c5a29e3-1f4b-4c1d-9e8a-2b7c6d5fc105"

static char root[256];

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/scl-test-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

static uint8_t *make(const char *cn, size_t *len)
{
    struct tc_spec s = {.cn = cn};
    uint8_t *der = tc_make_cert(&s, len);
    ck_assert_ptr_nonnull(der);
    return der;
}

static struct cs_store *open_my(void)
{
    struct cs_store *st;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_open(CS_SCOPE_USER, root, "My", true, &st, &e), SCL_OK);
    return st;
}

START_TEST(test_add_writes_file_named_by_upper_sha1_under_my_certificates)
{
    struct cs_store *st = open_my();
    size_t len;
    uint8_t *der = make("Firstname Lastname", &len);
    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, CONTAINER, CS_AT_KEYEXCHANGE);
    enum cs_add_outcome oc;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_add(st, der, len, &kpi, CS_ADD_REPLACE_INHERIT, &oc, &e), SCL_OK);
    ck_assert_int_eq(oc, CS_ADDED);

    struct cs_element el;
    ck_assert_int_eq(cs_element_from_cert(der, len, &el, &e), SCL_OK);
    char hex[41], path[600];
    scl_hex_encode(el.sha1, 20, hex, true);
    snprintf(path, sizeof path, "%s/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates/%s",
             root, hex);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);

    struct cs_listing l;
    ck_assert_int_eq(cs_store_list(st, &l, &e), SCL_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(l.nwarnings, 0);
    struct cs_key_prov_info back;
    ck_assert_int_eq(cs_element_kpi(&l.elements[0], &back, &e), SCL_OK);
    ck_assert_str_eq(back.container, CONTAINER);
    ck_assert_str_eq(back.provider, CS_BASE_CSP_NAME);
    ck_assert_ptr_nonnull(cs_element_prop(&l.elements[0], CS_PROP_SHA1_HASH));
    cs_listing_free(&l);

    ck_assert_int_eq(cs_store_delete(st, el.sha1, &e), SCL_OK);
    ck_assert_int_eq(cs_store_delete(st, el.sha1, &e), SCL_E_NOTFOUND);
    ck_assert_int_eq(cs_store_list(st, &l, &e), SCL_OK);
    ck_assert_uint_eq(l.n, 0);
    cs_listing_free(&l);
    cs_element_free(&el);
    free(der);
    cs_store_close(st);
}
END_TEST

static bool stored_has_kpi(struct cs_store *st)
{
    struct cs_listing l;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_list(st, &l, &e), SCL_OK);
    ck_assert_uint_eq(l.n, 1);
    bool has = cs_element_prop(&l.elements[0], CS_PROP_KEY_PROV_INFO) != NULL;
    cs_listing_free(&l);
    return has;
}

START_TEST(test_replace_inherit_keeps_old_key_prov_info_replace_existing_drops_it)
{
    struct cs_store *st = open_my();
    size_t len;
    uint8_t *der = make("Firstname Lastname", &len);
    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, CONTAINER, CS_AT_KEYEXCHANGE);
    enum cs_add_outcome oc;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_add(st, der, len, &kpi, CS_ADD_REPLACE_INHERIT, &oc, &e), SCL_OK);
    ck_assert_int_eq(cs_store_add(st, der, len, NULL, CS_ADD_REPLACE_INHERIT, &oc, &e), SCL_OK);
    ck_assert_int_eq(oc, CS_REPLACED);
    ck_assert(stored_has_kpi(st));
    ck_assert_int_eq(cs_store_add(st, der, len, NULL, CS_ADD_NEW, &oc, &e), SCL_E_STATE);
    ck_assert_int_eq(cs_store_add(st, der, len, NULL, CS_ADD_USE_EXISTING, &oc, &e), SCL_OK);
    ck_assert_int_eq(oc, CS_KEPT);
    ck_assert(stored_has_kpi(st));
    ck_assert_int_eq(cs_store_add(st, der, len, NULL, CS_ADD_REPLACE_EXISTING, &oc, &e), SCL_OK);
    ck_assert(!stored_has_kpi(st));
    free(der);
    cs_store_close(st);
}
END_TEST

static void write_raw(const char *name, const void *p, size_t n)
{
    char path[600];
    struct cs_store *st = open_my();
    snprintf(path, sizeof path, "%s/%s", cs_store_dir(st), name);
    struct scl_err e = {0};
    ck_assert_int_eq(scl_write_atomic(path, p, n, 0600, &e), SCL_OK);
    cs_store_close(st);
}

START_TEST(test_misnamed_and_corrupt_files_are_skipped_with_warnings)
{
    struct cs_store *st = open_my();
    size_t len;
    uint8_t *der = make("Good", &len);
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_add(st, der, len, NULL, CS_ADD_REPLACE_INHERIT, NULL, &e), SCL_OK);
    struct cs_element el;
    ck_assert_int_eq(cs_element_from_cert(der, len, &el, &e), SCL_OK);
    uint8_t *blob;
    size_t blen;
    ck_assert_int_eq(cs_element_encode(&el, &blob, &blen, &e), SCL_OK);
    write_raw("0000000000000000000000000000000000000000", blob, blen); /* wrong name */
    write_raw("1111111111111111111111111111111111111111", blob, blen - 1); /* truncated */
    write_raw("notes.txt", "hi", 2);

    struct cs_listing l;
    ck_assert_int_eq(cs_store_list(st, &l, &e), SCL_OK);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_uint_eq(l.nwarnings, 3);
    bool saw_name = false;
    for (size_t i = 0; i < l.nwarnings; i++)
        saw_name |= strstr(l.warnings[i], "not its file name") != NULL;
    ck_assert(saw_name);
    cs_listing_free(&l);
    cs_element_free(&el);
    free(blob);
    free(der);
    cs_store_close(st);
}
END_TEST

START_TEST(test_missing_store_lists_empty_and_is_not_created)
{
    struct cs_store *st;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_open(CS_SCOPE_USER, root, "Request", false, &st, &e), SCL_OK);
    struct cs_listing l;
    ck_assert_int_eq(cs_store_list(st, &l, &e), SCL_OK);
    ck_assert_uint_eq(l.n, 0);
    struct stat sb;
    ck_assert_int_ne(stat(cs_store_dir(st), &sb), 0);
    cs_store_close(st);
    ck_assert_int_eq(cs_store_open(CS_SCOPE_USER, root, "../x", false, &st, &e), SCL_E_INVAL);
}
END_TEST

START_TEST(test_machine_smartcardroot_path)
{
    char path[600], want[600];
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_path(CS_SCOPE_MACHINE, "/m", "smartcardroot", path, sizeof path, &e),
                     SCL_OK);
    snprintf(want, sizeof want, "/m/ProgramData/Microsoft/SystemCertificates/SmartCardRoot/Certificates");
    ck_assert_str_eq(path, want);
    ck_assert_str_eq(cs_store_display_name("My"), "Personal");
}
END_TEST

#define PER_WRITER 40
#define SHARED_ROUNDS 25
#define SHARED_PROP(who, i) (100u + 100u * (uint32_t)(who) + (uint32_t)(i))

/* One writer: add its own certificates and a shared one, then delete every
 * third of its own. */
static int writer(uint8_t **ders, size_t *lens, uint8_t *shared, size_t shared_len, int who)
{
    struct cs_store *st;
    struct scl_err e = {0};
    if (cs_store_open(CS_SCOPE_USER, root, "My", true, &st, &e))
        return 1;
    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, who ? "writer-1" : "writer-0", CS_AT_KEYEXCHANGE);
    for (uint32_t i = 0; i < PER_WRITER; i++) {
        if (cs_store_add(st, ders[i], lens[i], &kpi, CS_ADD_REPLACE_INHERIT, NULL, &e))
            return 2;
        /* Each writer adds a new property to the shared element every round:
         * without the store lock a read-modify-write drops the other's. */
        struct cs_element sh;
        uint32_t prop = SHARED_PROP(who, i % SHARED_ROUNDS);
        if (cs_element_from_cert(shared, shared_len, &sh, &e) ||
            cs_element_set_prop(&sh, prop, &i, sizeof i, &e) ||
            cs_store_add_element(st, &sh, CS_ADD_REPLACE_INHERIT, NULL, &e))
            return 3;
        cs_element_free(&sh);
    }
    for (uint32_t i = 0; i < PER_WRITER; i += 3) {
        struct cs_element el;
        if (cs_element_from_cert(ders[i], lens[i], &el, &e) || cs_store_delete(st, el.sha1, &e))
            return 4;
        cs_element_free(&el);
    }
    cs_store_close(st);
    return 0;
}

START_TEST(test_two_processes_adding_and_deleting_lose_nothing)
{
    uint8_t *ders[2][PER_WRITER];
    size_t lens[2][PER_WRITER];
    char cn[64];
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < PER_WRITER; i++) {
            snprintf(cn, sizeof cn, "writer %d cert %d", w, i);
            ders[w][i] = make(cn, &lens[w][i]);
        }
    size_t shared_len;
    uint8_t *shared = make("shared", &shared_len);
    pid_t pids[2];
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        ck_assert_int_ge(pids[w], 0);
        if (pids[w] == 0)
            _exit(writer(ders[w], lens[w], shared, shared_len, w));
    }
    for (int w = 0; w < 2; w++) {
        int status;
        ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    }
    struct cs_store *st = open_my();
    struct cs_listing l;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_list(st, &l, &e), SCL_OK);
    ck_assert_uint_eq(l.nwarnings, 0); /* every file parses, no temp files left */
    size_t kept_per_writer = PER_WRITER - (PER_WRITER + 2) / 3;
    ck_assert_uint_eq(l.n, 2 * kept_per_writer + 1);
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < PER_WRITER; i++) {
            struct cs_element el;
            ck_assert_int_eq(cs_element_from_cert(ders[w][i], lens[w][i], &el, &e), SCL_OK);
            bool found = false;
            for (size_t k = 0; k < l.n; k++)
                found |= !memcmp(l.elements[k].sha1, el.sha1, 20);
            ck_assert_int_eq(found, i % 3 != 0);
            cs_element_free(&el);
            free(ders[w][i]);
        }
    struct cs_element sh;
    ck_assert_int_eq(cs_element_from_cert(shared, shared_len, &sh, &e), SCL_OK);
    for (size_t k = 0; k < l.n; k++)
        if (!memcmp(l.elements[k].sha1, sh.sha1, 20)) {
            for (int w = 0; w < 2; w++)
                for (int i = 0; i < SHARED_ROUNDS; i++)
                    ck_assert_ptr_nonnull(cs_element_prop(&l.elements[k], SHARED_PROP(w, i)));
        }
    cs_element_free(&sh);
    cs_listing_free(&l);
    free(shared);
    cs_store_close(st);
}
END_TEST

static struct cs_listing list_my(struct cs_store *st)
{
    struct cs_listing l;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_list(st, &l, &e), SCL_OK);
    return l;
}

START_TEST(test_delete_if_same_refuses_an_element_rewritten_since_it_was_listed)
{
    struct cs_store *st = open_my();
    size_t len;
    uint8_t *der = make("Rewritten", &len);
    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, CONTAINER, CS_AT_KEYEXCHANGE);
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_add(st, der, len, &kpi, CS_ADD_REPLACE_INHERIT, NULL, &e), SCL_OK);
    struct cs_listing l = list_my(st);
    ck_assert_uint_eq(l.n, 1);
    /* a propagator rewrites it between our listing and our delete */
    cs_kpi_base_csp(&kpi, "another-container", CS_AT_SIGNATURE);
    ck_assert_int_eq(cs_store_add(st, der, len, &kpi, CS_ADD_REPLACE_EXISTING, NULL, &e), SCL_OK);
    ck_assert_int_eq(cs_store_delete_if_same(st, &l.elements[0], &e), SCL_E_STATE);
    ck_assert_ptr_nonnull(strstr(e.msg, "rewritten since it was read"));
    struct cs_listing now = list_my(st);
    ck_assert_uint_eq(now.n, 1);
    struct cs_key_prov_info got;
    ck_assert_int_eq(cs_element_kpi(&now.elements[0], &got, &e), SCL_OK);
    ck_assert_str_eq(got.container, "another-container");
    ck_assert_int_eq(cs_store_delete_if_same(st, &now.elements[0], &e), SCL_OK);
    ck_assert_int_eq(cs_store_delete_if_same(st, &now.elements[0], &e), SCL_E_NOTFOUND);
    cs_listing_free(&now);
    cs_listing_free(&l);
    free(der);
    cs_store_close(st);
}
END_TEST

START_TEST(test_add_raw_puts_back_another_writers_layout_byte_identical)
{
    struct cs_store *st = open_my();
    size_t len;
    uint8_t *der = make("Foreign Layout", &len);
    struct cs_element el;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_element_from_cert(der, len, &el, &e), SCL_OK);
    /* properties in the order Windows may leave them, not sorted by id */
    struct wcur w;
    wcur_init_dyn(&w);
    const uint32_t ids[] = {CS_PROP_FRIENDLY_NAME, CS_PROP_SHA1_HASH, CS_PROP_CERT};
    const void *vals[] = {"f\0", el.sha1, der};
    const size_t lens[] = {2, 20, len};
    for (size_t i = 0; i < 3; i++) {
        wcur_u32le(&w, ids[i]);
        wcur_u32le(&w, 1);
        wcur_u32le(&w, (uint32_t)lens[i]);
        wcur_bytes(&w, vals[i], lens[i]);
    }
    char hex[41];
    scl_hex_encode(el.sha1, 20, hex, true);
    write_raw(hex, wcur_data(&w), wcur_len(&w));
    struct cs_listing l = list_my(st);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_int_eq(cs_store_delete_if_same(st, &l.elements[0], &e), SCL_OK);
    enum cs_add_outcome oc;
    ck_assert_int_eq(cs_store_add_raw(st, &l.elements[0], &oc, &e), SCL_OK);
    ck_assert_int_eq(oc, CS_ADDED);
    ck_assert_int_eq(cs_store_add_raw(st, &l.elements[0], &oc, &e), SCL_OK);
    ck_assert_int_eq(oc, CS_KEPT);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", cs_store_dir(st), hex);
    uint8_t *back;
    size_t blen;
    ck_assert_int_eq(scl_read_file(path, 1 << 20, &back, &blen, &e), SCL_OK);
    ck_assert_uint_eq(blen, wcur_len(&w));
    ck_assert_mem_eq(back, wcur_data(&w), blen);
    free(back);
    cs_listing_free(&l);
    cs_element_free(&el);
    wcur_free(&w);
    free(der);
    cs_store_close(st);
}
END_TEST

START_TEST(test_replace_inherit_takes_nothing_from_a_file_holding_another_certificate)
{
    struct cs_store *st = open_my();
    size_t alen, blen;
    uint8_t *a = make("Alpha", &alen), *b = make("Beta", &blen);
    struct cs_element ea, eb;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_element_from_cert(a, alen, &ea, &e), SCL_OK);
    ck_assert_int_eq(cs_element_from_cert(b, blen, &eb, &e), SCL_OK);
    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, CONTAINER, CS_AT_KEYEXCHANGE);
    uint8_t *v;
    size_t vlen;
    ck_assert_int_eq(cs_kpi_encode(&kpi, &v, &vlen, &e), SCL_OK);
    ck_assert_int_eq(cs_element_set_prop(&eb, CS_PROP_KEY_PROV_INFO, v, vlen, &e), SCL_OK);
    uint8_t *blob;
    size_t bloblen;
    ck_assert_int_eq(cs_element_encode(&eb, &blob, &bloblen, &e), SCL_OK);
    char hex[41];
    scl_hex_encode(ea.sha1, 20, hex, true);
    write_raw(hex, blob, bloblen); /* Beta's element under Alpha's name */
    ck_assert_int_eq(cs_store_add(st, a, alen, NULL, CS_ADD_REPLACE_INHERIT, NULL, &e), SCL_OK);
    ck_assert(!stored_has_kpi(st));
    free(v);
    free(blob);
    cs_element_free(&ea);
    cs_element_free(&eb);
    free(a);
    free(b);
    cs_store_close(st);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_add_writes_file_named_by_upper_sha1_under_my_certificates);
    tcase_add_test(tc, test_replace_inherit_keeps_old_key_prov_info_replace_existing_drops_it);
    tcase_add_test(tc, test_misnamed_and_corrupt_files_are_skipped_with_warnings);
    tcase_add_test(tc, test_missing_store_lists_empty_and_is_not_created);
    tcase_add_test(tc, test_machine_smartcardroot_path);
    tcase_add_test(tc, test_two_processes_adding_and_deleting_lose_nothing);
    tcase_add_test(tc, test_delete_if_same_refuses_an_element_rewritten_since_it_was_listed);
    tcase_add_test(tc, test_add_raw_puts_back_another_writers_layout_byte_identical);
    tcase_add_test(tc, test_replace_inherit_takes_nothing_from_a_file_holding_another_certificate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
