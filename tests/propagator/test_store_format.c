/*
 * test_store_format.c - byte-exact vectors for the store element, the
 * CERT_KEY_PROV_INFO value and .sst files, and errors (never crashes) on
 * every truncation and corruption.  Not the folder store (test_store.c).
 */
#include "propagator.h"
#include "testcert.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define CONTAINER "0c5a29e3-1f4b-4c1d-9e8a-2b7c6d5fc105" /* 36 chars, GUID-style */

static uint8_t *cert;
static size_t cert_len;

static void setup(void)
{
    struct tc_spec s = {.cn = "Firstname Lastname", .upn = "fl@example.test"};
    cert = tc_make_cert(&s, &cert_len);
    ck_assert_ptr_nonnull(cert);
}

static void teardown(void) { free(cert); }

/* Append s as UTF-16LE with its NUL, as the spec lays the names out. */
static size_t put_utf16_ascii(uint8_t *p, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        p[n++] = (uint8_t)*s;
        p[n++] = 0;
    }
    p[n++] = 0;
    p[n++] = 0;
    return n;
}

START_TEST(test_kpi_base_csp_is_186_bytes_pinned)
{
    /* MS-GPEF CRYPT_KEY_PROV_INFO: offsets container=28, provider=28+74=102 (0x66),
     * dwProvType 1, dwFlags 0, cProvParam 0, rgProvParam 0, dwKeySpec 1. */
    static const uint8_t hdr[28] = {0x1c, 0, 0, 0, 0x66, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                                    0,    0, 0, 0, 0,    0, 0, 0, 1, 0, 0, 0};
    uint8_t want[186];
    memcpy(want, hdr, sizeof hdr);
    size_t n = sizeof hdr;
    n += put_utf16_ascii(want + n, CONTAINER);
    n += put_utf16_ascii(want + n, "Microsoft Base Smart Card Crypto Provider");
    ck_assert_uint_eq(n, 186);

    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, CONTAINER, CS_AT_KEYEXCHANGE);
    uint8_t *got;
    size_t len;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_kpi_encode(&kpi, &got, &len, &e), SCL_OK);
    ck_assert_uint_eq(len, 186);
    ck_assert_mem_eq(got, want, 186);
    free(got);
}
END_TEST

START_TEST(test_kpi_ksp_form_has_type_0_keyspec_0)
{
    struct cs_key_prov_info kpi, back;
    cs_kpi_ksp(&kpi, CONTAINER);
    uint8_t *got;
    size_t len;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_kpi_encode(&kpi, &got, &len, &e), SCL_OK);
    ck_assert_uint_eq(len, 28 + 74 + (41 + 1) * 2);
    ck_assert_int_eq(cs_kpi_decode(got, len, &back, &e), SCL_OK);
    ck_assert_str_eq(back.provider, "Microsoft Smart Card Key Storage Provider");
    ck_assert_str_eq(back.container, CONTAINER);
    ck_assert_uint_eq(back.prov_type, 0);
    ck_assert_uint_eq(back.key_spec, 0);
    free(got);
}
END_TEST

START_TEST(test_kpi_roundtrips_non_ascii_names)
{
    struct cs_key_prov_info kpi = {.prov_type = 1, .key_spec = 2}, back;
    strcpy(kpi.container, "J\xC3\xBCrgen-\xF0\x9F\x94\x91"); /* ü and a non-BMP key sign */
    strcpy(kpi.provider, CS_BASE_CSP_NAME);
    uint8_t *got;
    size_t len;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_kpi_encode(&kpi, &got, &len, &e), SCL_OK);
    /* J ü r g e n - (7 units) + surrogate pair (2) + NUL = 10 units */
    ck_assert_uint_eq(len, 28 + 10 * 2 + 42 * 2);
    ck_assert_int_eq(cs_kpi_decode(got, len, &back, &e), SCL_OK);
    ck_assert_str_eq(back.container, kpi.container);
    ck_assert_uint_eq(back.key_spec, 2);
    free(got);
}
END_TEST

START_TEST(test_kpi_decode_rejects_every_truncation)
{
    struct cs_key_prov_info kpi, back;
    cs_kpi_base_csp(&kpi, CONTAINER, 1);
    uint8_t *got;
    size_t len;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_kpi_encode(&kpi, &got, &len, &e), SCL_OK);
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, got, n);
        ck_assert_int_ne(cs_kpi_decode(copy, n, &back, &e), SCL_OK);
        free(copy);
    }
    free(got);
}
END_TEST

START_TEST(test_kpi_decode_rejects_bad_offsets_and_surrogates)
{
    struct cs_key_prov_info back;
    struct scl_err e = {0};
    uint8_t v[40] = {0};
    v[0] = 0xF0; /* container offset 240, past the end */
    ck_assert_int_eq(cs_kpi_decode(v, sizeof v, &back, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "pwszContainerName"));
    memset(v, 0, sizeof v);
    v[0] = 4; /* inside the header */
    ck_assert_int_eq(cs_kpi_decode(v, sizeof v, &back, &e), SCL_E_FORMAT);
    memset(v, 0, sizeof v);
    v[0] = 28;
    v[28] = 0x00;
    v[29] = 0xDC; /* lone low surrogate */
    ck_assert_int_eq(cs_kpi_decode(v, sizeof v, &back, &e), SCL_E_FORMAT);
    memset(v, 0, sizeof v);
    v[16] = 1; /* cProvParam 1 at rgProvParam offset 0 */
    ck_assert_int_ne(cs_kpi_decode(v, sizeof v, &back, &e), SCL_OK);
}
END_TEST

static void build_element(struct cs_element *el)
{
    struct scl_err e = {0};
    ck_assert_int_eq(cs_element_from_cert(cert, cert_len, el, &e), SCL_OK);
    ck_assert_int_eq(cs_element_set_prop(el, CS_PROP_SHA1_HASH, el->sha1, 20, &e), SCL_OK);
}

START_TEST(test_element_layout_pinned_props_then_cert_last)
{
    struct cs_element el;
    build_element(&el);
    uint8_t *got;
    size_t len;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_element_encode(&el, &got, &len, &e), SCL_OK);
    ck_assert_uint_eq(len, 12 + 20 + 12 + cert_len);
    static const uint8_t sha_hdr[12] = {3, 0, 0, 0, 1, 0, 0, 0, 20, 0, 0, 0};
    ck_assert_mem_eq(got, sha_hdr, 12);
    ck_assert_mem_eq(got + 12, el.sha1, 20);
    uint8_t cert_hdr[12] = {0x20, 0, 0, 0, 1, 0, 0, 0, (uint8_t)cert_len, (uint8_t)(cert_len >> 8), 0, 0};
    ck_assert_mem_eq(got + 32, cert_hdr, 12);
    ck_assert_mem_eq(got + 44, cert, cert_len);

    struct cs_element back;
    ck_assert_int_eq(cs_element_decode(got, len, &back, &e), SCL_OK);
    ck_assert_uint_eq(back.nprops, 1);
    ck_assert_mem_eq(back.sha1, el.sha1, 20);
    cs_element_free(&back);
    cs_element_free(&el);
    free(got);
}
END_TEST

START_TEST(test_element_decode_rejects_every_truncation)
{
    struct cs_element el, back;
    build_element(&el);
    uint8_t *got;
    size_t len;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_element_encode(&el, &got, &len, &e), SCL_OK);
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, got, n);
        ck_assert_int_ne(cs_element_decode(copy, n, &back, &e), SCL_OK);
        free(copy);
    }
    cs_element_free(&el);
    free(got);
}
END_TEST

/* Hand-built element from entries {id, encoding, cb, bytes}. */
static void put_entry(struct wcur *w, uint32_t id, uint32_t enc, const void *p, size_t n)
{
    wcur_u32le(w, id);
    wcur_u32le(w, enc);
    wcur_u32le(w, (uint32_t)n);
    wcur_bytes(w, p, n);
}

static int decode_built(struct wcur *w, struct scl_err *e)
{
    struct cs_element el;
    int rc = cs_element_decode(wcur_data(w), wcur_len(w), &el, e);
    if (!rc)
        cs_element_free(&el);
    wcur_free(w);
    return rc;
}

START_TEST(test_element_decode_rejects_malformed_entries)
{
    struct wcur w;
    struct scl_err e = {0};
    static const uint8_t name[4] = {'a', 0, 0, 0};

    wcur_init_dyn(&w); /* no certificate entry */
    put_entry(&w, CS_PROP_FRIENDLY_NAME, 1, name, 4);
    ck_assert_int_eq(decode_built(&w, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "without a certificate"));

    wcur_init_dyn(&w); /* certificate not last */
    put_entry(&w, CS_PROP_CERT, 1, cert, cert_len);
    put_entry(&w, CS_PROP_FRIENDLY_NAME, 1, name, 4);
    ck_assert_int_eq(decode_built(&w, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "must be last"));

    wcur_init_dyn(&w); /* duplicate property */
    put_entry(&w, CS_PROP_FRIENDLY_NAME, 1, name, 4);
    put_entry(&w, CS_PROP_FRIENDLY_NAME, 1, name, 4);
    put_entry(&w, CS_PROP_CERT, 1, cert, cert_len);
    ck_assert_int_eq(decode_built(&w, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "twice"));

    wcur_init_dyn(&w); /* encoding other than 1 */
    put_entry(&w, CS_PROP_FRIENDLY_NAME, 2, name, 4);
    put_entry(&w, CS_PROP_CERT, 1, cert, cert_len);
    ck_assert_int_eq(decode_built(&w, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "encoding 2"));

    wcur_init_dyn(&w); /* certificate bytes are not DER */
    put_entry(&w, CS_PROP_CERT, 1, name, 4);
    ck_assert_int_eq(decode_built(&w, &e), SCL_E_FORMAT);

    wcur_init_dyn(&w); /* cb runs past the end */
    wcur_u32le(&w, CS_PROP_CERT);
    wcur_u32le(&w, 1);
    wcur_u32le(&w, 0xFFFFFFF0u);
    wcur_bytes(&w, cert, cert_len);
    ck_assert_int_eq(decode_built(&w, &e), SCL_E_TRUNCATED);
    ck_assert_ptr_nonnull(strstr(e.msg, "runs past the end"));

    wcur_init_dyn(&w); /* DER with trailing bytes inside the entry */
    uint8_t *padded = malloc(cert_len + 1);
    memcpy(padded, cert, cert_len);
    padded[cert_len] = 0;
    put_entry(&w, CS_PROP_CERT, 1, padded, cert_len + 1);
    free(padded);
    ck_assert_int_eq(decode_built(&w, &e), SCL_E_FORMAT);
}
END_TEST

START_TEST(test_prop_names_follow_wincrypt)
{
    ck_assert_str_eq(cs_prop_name(2), "CERT_KEY_PROV_INFO_PROP_ID");
    ck_assert_str_eq(cs_prop_name(3), "CERT_SHA1_HASH_PROP_ID");
    ck_assert_str_eq(cs_prop_name(11), "CERT_FRIENDLY_NAME_PROP_ID");
    ck_assert_str_eq(cs_prop_name(20), "CERT_KEY_IDENTIFIER_PROP_ID");
    ck_assert_str_eq(cs_prop_name(25), "CERT_SUBJECT_PUBLIC_KEY_MD5_HASH_PROP_ID");
    ck_assert_ptr_null(cs_prop_name(9999));
}
END_TEST

START_TEST(test_sst_layout_pinned_magic_elements_end_entry)
{
    struct cs_element el;
    build_element(&el);
    uint8_t *elem, *sst;
    size_t elen, slen;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_element_encode(&el, &elem, &elen, &e), SCL_OK);
    ck_assert_int_eq(cs_sst_encode(&el, 1, &sst, &slen, &e), SCL_OK);
    static const uint8_t magic[8] = {0, 0, 0, 0, 'C', 'E', 'R', 'T'};
    static const uint8_t end[12] = {0};
    ck_assert_uint_eq(slen, 8 + elen + 12);
    ck_assert_mem_eq(sst, magic, 8);
    ck_assert_mem_eq(sst + 8, elem, elen);
    ck_assert_mem_eq(sst + 8 + elen, end, 12);

    struct cs_element *els;
    size_t n;
    ck_assert_int_eq(cs_sst_decode(sst, slen, &els, &n, &e), SCL_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_mem_eq(els[0].sha1, el.sha1, 20);
    cs_elements_free(els, n);
    cs_element_free(&el);
    free(elem);
    free(sst);
}
END_TEST

START_TEST(test_sst_empty_store_is_20_bytes)
{
    uint8_t *sst;
    size_t slen;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_sst_encode(NULL, 0, &sst, &slen, &e), SCL_OK);
    ck_assert_uint_eq(slen, 20);
    struct cs_element *els;
    size_t n;
    ck_assert_int_eq(cs_sst_decode(sst, slen, &els, &n, &e), SCL_OK);
    ck_assert_uint_eq(n, 0);
    free(sst);
}
END_TEST

START_TEST(test_sst_decode_rejects_truncation_and_corruption)
{
    struct cs_element el[2];
    build_element(&el[0]);
    build_element(&el[1]);
    uint8_t *sst;
    size_t slen;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_sst_encode(el, 2, &sst, &slen, &e), SCL_OK);
    struct cs_element *els;
    size_t n;
    for (size_t k = 0; k < slen; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        memcpy(copy, sst, k);
        ck_assert_int_ne(cs_sst_decode(copy, k, &els, &n, &e), SCL_OK);
        ck_assert_ptr_null(els);
        free(copy);
    }
    uint8_t *more = malloc(slen + 1);
    memcpy(more, sst, slen);
    more[slen] = 0;
    ck_assert_int_eq(cs_sst_decode(more, slen + 1, &els, &n, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "after the end entry"));
    more[4] = 'X';
    ck_assert_int_eq(cs_sst_decode(more, slen, &els, &n, &e), SCL_E_FORMAT);
    more[4] = 'C';
    more[slen - 4] = 1; /* end entry with cb 1 */
    ck_assert_int_eq(cs_sst_decode(more, slen, &els, &n, &e), SCL_E_FORMAT);
    free(more);
    free(sst);
    cs_element_free(&el[0]);
    cs_element_free(&el[1]);
}
END_TEST

/* SEQUENCE { INTEGER 7, NULL }: DER-shaped, but no X.509 certificate. */
static const uint8_t not_x509[] = {0x30, 0x05, 0x02, 0x01, 0x07, 0x05, 0x00};

START_TEST(test_element_decode_checks_certificate_shape_and_leaves_x509_to_cert_info)
{
    struct wcur w;
    struct scl_err e = {0};
    wcur_init_dyn(&w);
    put_entry(&w, CS_PROP_CERT, 1, not_x509, sizeof not_x509);
    struct cs_element el;
    ck_assert_int_eq(cs_element_decode(wcur_data(&w), wcur_len(&w), &el, &e), SCL_OK);
    wcur_free(&w);
    struct cs_cert_info ci;
    ck_assert_int_eq(cs_cert_info(el.cert_der, el.cert_len, &ci, &e), SCL_E_FORMAT);
    ck_assert_str_eq(e.msg, "certificate: not a DER X.509 certificate");
    struct cs_element fresh;
    ck_assert_int_eq(cs_element_from_cert(el.cert_der, el.cert_len, &fresh, &e), SCL_E_FORMAT);
    cs_element_free(&el);

    static const uint8_t integer[] = {0x02, 0x01, 0x07};
    static const uint8_t trailing[] = {0x30, 0x03, 0x02, 0x01, 0x07, 0x00};
    static const uint8_t indefinite[] = {0x30, 0x80, 0x02, 0x01, 0x07, 0x00, 0x00};
    static const uint8_t too_long[] = {0x30, 0x09, 0x02, 0x01, 0x07};
    static const struct {
        const uint8_t *p;
        size_t n;
        const char *msg;
    } bad[] = {
        {integer, sizeof integer, "offset 0: certificate: byte 0: not a definite-length SEQUENCE"},
        {trailing, sizeof trailing, "offset 0: certificate: 1 bytes after the DER SEQUENCE"},
        {indefinite, sizeof indefinite, "offset 0: certificate: byte 0: not a definite-length SEQUENCE"},
        {too_long, sizeof too_long, "offset 0: certificate: not DER (bad tag or length at byte 0)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wcur_init_dyn(&w);
        put_entry(&w, CS_PROP_CERT, 1, bad[i].p, bad[i].n);
        ck_assert_int_eq(decode_built(&w, &e), SCL_E_FORMAT);
        ck_assert_str_eq(e.msg, bad[i].msg);
    }
}
END_TEST

START_TEST(test_decoded_element_keeps_raw_bytes_and_sst_writes_them_verbatim)
{
    /* Another writer's order: FRIENDLY_NAME (11) before SHA1_HASH (3). */
    struct cs_element el;
    build_element(&el);
    struct wcur w;
    struct scl_err e = {0};
    wcur_init_dyn(&w);
    put_entry(&w, CS_PROP_FRIENDLY_NAME, 1, "n\0a\0", 4);
    put_entry(&w, CS_PROP_SHA1_HASH, 1, el.sha1, 20);
    put_entry(&w, CS_PROP_CERT, 1, cert, cert_len);
    cs_element_free(&el);
    ck_assert_int_eq(cs_element_decode(wcur_data(&w), wcur_len(&w), &el, &e), SCL_OK);
    ck_assert_uint_eq(el.raw_len, wcur_len(&w));
    ck_assert_mem_eq(el.raw, wcur_data(&w), wcur_len(&w));
    uint8_t *enc, *sst;
    size_t enc_len, sst_len;
    ck_assert_int_eq(cs_element_encode(&el, &enc, &enc_len, &e), SCL_OK);
    ck_assert_uint_eq(enc_len, wcur_len(&w));
    ck_assert(memcmp(enc, wcur_data(&w), enc_len) != 0); /* re-encoding sorts by id */
    ck_assert_int_eq(cs_sst_encode(&el, 1, &sst, &sst_len, &e), SCL_OK);
    ck_assert_uint_eq(sst_len, 8 + wcur_len(&w) + 12);
    ck_assert_mem_eq(sst + 8, wcur_data(&w), wcur_len(&w));
    struct cs_element *back;
    size_t n;
    ck_assert_int_eq(cs_sst_decode(sst, sst_len, &back, &n, &e), SCL_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(back[0].raw_len, wcur_len(&w));
    ck_assert_mem_eq(back[0].raw, wcur_data(&w), wcur_len(&w));
    cs_elements_free(back, n);
    ck_assert_int_eq(cs_element_set_prop(&el, CS_PROP_FRIENDLY_NAME, "x\0", 2, &e), SCL_OK);
    ck_assert_ptr_null(el.raw); /* changed: the bytes read no longer describe it */
    cs_element_free(&el);
    free(enc);
    free(sst);
    wcur_free(&w);
}
END_TEST

static Suite *store_format_suite(void)
{
    Suite *s = suite_create("store_format");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_kpi_base_csp_is_186_bytes_pinned);
    tcase_add_test(tc, test_kpi_ksp_form_has_type_0_keyspec_0);
    tcase_add_test(tc, test_kpi_roundtrips_non_ascii_names);
    tcase_add_test(tc, test_kpi_decode_rejects_every_truncation);
    tcase_add_test(tc, test_kpi_decode_rejects_bad_offsets_and_surrogates);
    tcase_add_test(tc, test_element_layout_pinned_props_then_cert_last);
    tcase_add_test(tc, test_element_decode_rejects_every_truncation);
    tcase_add_test(tc, test_element_decode_rejects_malformed_entries);
    tcase_add_test(tc, test_element_decode_checks_certificate_shape_and_leaves_x509_to_cert_info);
    tcase_add_test(tc, test_decoded_element_keeps_raw_bytes_and_sst_writes_them_verbatim);
    tcase_add_test(tc, test_prop_names_follow_wincrypt);
    tcase_add_test(tc, test_sst_layout_pinned_magic_elements_end_entry);
    tcase_add_test(tc, test_sst_empty_store_is_20_bytes);
    tcase_add_test(tc, test_sst_decode_rejects_truncation_and_corruption);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_format_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
