/*
 * test_cursor.c - the checked cursor: reads never pass the end, failure is
 * sticky, BER-TLV lengths in every form, writer mirrors reader.
 */
#include "common.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_reads_both_byte_orders)
{
    const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    struct cur c;
    cur_init(&c, b, sizeof b);
    ck_assert_uint_eq(cur_u16le(&c), 0x0201);
    ck_assert_uint_eq(cur_u16be(&c), 0x0304);
    ck_assert_uint_eq(cur_u32le(&c), 0x08070605);
    ck_assert(cur_ok(&c));
    ck_assert_uint_eq(cur_left(&c), 0);
    cur_init(&c, b, sizeof b);
    ck_assert_uint_eq(cur_u32be(&c), 0x01020304);
    cur_init(&c, b, sizeof b);
    ck_assert(cur_u64le(&c) == 0x0807060504030201ull);
}
END_TEST

START_TEST(test_read_past_end_fails_and_sticks)
{
    const uint8_t b[] = {0xaa, 0xbb, 0xcc};
    struct cur c;
    cur_init(&c, b, sizeof b);
    ck_assert_uint_eq(cur_u32le(&c), 0);
    ck_assert(!cur_ok(&c));
    /* a later read that would fit still returns zero */
    ck_assert_uint_eq(cur_u8(&c), 0);
    ck_assert_ptr_null(cur_bytes(&c, 1));
    ck_assert_uint_eq(cur_left(&c), 0);
}
END_TEST

START_TEST(test_huge_length_does_not_wrap)
{
    const uint8_t b[] = {1, 2, 3, 4};
    struct cur c;
    cur_init(&c, b, sizeof b);
    cur_u8(&c);
    ck_assert_ptr_null(cur_bytes(&c, SIZE_MAX));
    ck_assert(!cur_ok(&c));
}
END_TEST

START_TEST(test_align_and_sub)
{
    const uint8_t b[] = {9, 0, 0, 0, 0xde, 0xad, 7};
    struct cur c, s;
    cur_init(&c, b, sizeof b);
    cur_u8(&c);
    cur_align(&c, 4);
    ck_assert_uint_eq(cur_off(&c), 4);
    ck_assert(cur_sub(&c, 2, &s));
    ck_assert_uint_eq(cur_u16be(&s), 0xdead);
    ck_assert_uint_eq(cur_u8(&s), 0);
    ck_assert(!cur_ok(&s));
    ck_assert(cur_ok(&c));
    ck_assert_uint_eq(cur_u8(&c), 7);
    ck_assert(!cur_sub(&c, 1, &s));
}
END_TEST

START_TEST(test_ber_tlv_length_forms)
{
    /* 5FC102 with 82 length, then 53 with 81 length, then 7E short */
    uint8_t b[3 + 3 + 300 + 2 + 2 + 130 + 2 + 1];
    size_t n = 0;
    b[n++] = 0x5f; b[n++] = 0xc1; b[n++] = 0x02;
    b[n++] = 0x82; b[n++] = 0x01; b[n++] = 0x2c;
    memset(b + n, 0x11, 300); n += 300;
    b[n++] = 0x53; b[n++] = 0x81; b[n++] = 130;
    memset(b + n, 0x22, 130); n += 130;
    b[n++] = 0x7e; b[n++] = 0x01; b[n++] = 0x33;
    struct cur c, v;
    uint32_t tag;
    cur_init(&c, b, n);
    ck_assert(cur_ber_tlv(&c, &tag, &v));
    ck_assert_uint_eq(tag, 0x5fc102);
    ck_assert_uint_eq(cur_left(&v), 300);
    ck_assert(cur_ber_tlv(&c, &tag, &v));
    ck_assert_uint_eq(tag, 0x53);
    ck_assert_uint_eq(cur_left(&v), 130);
    ck_assert(cur_ber_tlv(&c, &tag, &v));
    ck_assert_uint_eq(tag, 0x7e);
    ck_assert_uint_eq(cur_u8(&v), 0x33);
    ck_assert_uint_eq(cur_left(&c), 0);
}
END_TEST

START_TEST(test_ber_tlv_truncated_value_fails)
{
    const uint8_t b[] = {0x53, 0x82, 0x01, 0x00, 0xaa};
    struct cur c, v;
    uint32_t tag;
    cur_init(&c, b, sizeof b);
    ck_assert(!cur_ber_tlv(&c, &tag, &v));
    ck_assert(!cur_ok(&c));
    ck_assert(!cur_ok(&v));
}
END_TEST

START_TEST(test_ber_indefinite_length_rejected)
{
    const uint8_t b[] = {0x30, 0x80, 0x00, 0x00};
    struct cur c, v;
    uint32_t tag;
    cur_init(&c, b, sizeof b);
    ck_assert(!cur_ber_tlv(&c, &tag, &v));
}
END_TEST

START_TEST(test_ber_find)
{
    const uint8_t b[] = {0x4f, 0x02, 1, 2, 0x79, 0x01, 9};
    struct cur c, v;
    cur_init(&c, b, sizeof b);
    ck_assert(cur_ber_find(&c, 0x79, &v));
    ck_assert_uint_eq(cur_u8(&v), 9);
    ck_assert(!cur_ber_find(&c, 0x50, &v));
    ck_assert_uint_eq(cur_off(&c), 0);
}
END_TEST

START_TEST(test_writer_fixed_overflow_fails)
{
    uint8_t buf[3];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    wcur_u16be(&w, 0x0102);
    ck_assert(wcur_ok(&w));
    wcur_u16be(&w, 0x0304);
    ck_assert(!wcur_ok(&w));
    ck_assert_uint_eq(wcur_len(&w), 2);
}
END_TEST

START_TEST(test_writer_nested_tlv_widens_length)
{
    struct wcur w;
    wcur_init_dyn(&w);
    size_t outer = wcur_tlv_begin(&w, 0x53);
    uint8_t cert[300];
    memset(cert, 0xab, sizeof cert);
    wcur_tlv(&w, 0x70, cert, sizeof cert);
    wcur_tlv(&w, 0x71, "\x00", 1);
    wcur_tlv_end(&w, outer);
    ck_assert(wcur_ok(&w));
    size_t n;
    uint8_t *p = wcur_take(&w, &n);
    ck_assert_uint_eq(n, 1 + 3 + (1 + 3 + 300) + 3);
    const uint8_t head[] = {0x53, 0x82, 0x01, 0x33, 0x70, 0x82, 0x01, 0x2c};
    ck_assert_mem_eq(p, head, sizeof head);
    /* and the reader agrees */
    struct cur c, v, in;
    uint32_t tag;
    cur_init(&c, p, n);
    ck_assert(cur_ber_tlv(&c, &tag, &v));
    ck_assert(cur_ber_find(&v, 0x71, &in));
    ck_assert_uint_eq(cur_u8(&in), 0);
    free(p);
}
END_TEST

START_TEST(test_writer_le_and_patch)
{
    struct wcur w;
    wcur_init_dyn(&w);
    wcur_u8(&w, 1);
    wcur_align(&w, 4);
    size_t at = wcur_len(&w);
    wcur_u32le(&w, 0);
    wcur_u16le(&w, 0xbeef);
    wcur_patch_u32le(&w, at, 0x11223344);
    const uint8_t want[] = {1, 0, 0, 0, 0x44, 0x33, 0x22, 0x11, 0xef, 0xbe};
    ck_assert_uint_eq(wcur_len(&w), sizeof want);
    ck_assert_mem_eq(wcur_data(&w), want, sizeof want);
    wcur_patch_u32le(&w, 8, 0);
    ck_assert(!wcur_ok(&w));
    wcur_free(&w);
}
END_TEST

START_TEST(test_hex_decode_accepts_article_spellings)
{
    uint8_t out[16];
    ck_assert_int_eq(scl_hex_decode("05 05 1c 00 22 7f 3c dd fa 98", out, sizeof out), 10);
    ck_assert_uint_eq(out[2], 0x1c);
    ck_assert_int_eq(scl_hex_decode("05051C00227F3CDDFA98", out, sizeof out), 10);
    ck_assert_uint_eq(out[9], 0x98);
    ck_assert_int_eq(scl_hex_decode("0g", out, sizeof out), -1);
    ck_assert_int_eq(scl_hex_decode("abc", out, sizeof out), -1);
    ck_assert_int_eq(scl_hex_decode("0102", out, 1), -1);
}
END_TEST

START_TEST(test_proc_status_reads_a_line_by_key)
{
    char v[64];
    struct scl_err e = {0};
    ck_assert_int_eq(scl_proc_status(0, "Pid", v, sizeof v, &e), SCL_OK);
    ck_assert_int_eq(atoi(v), (int)getpid());
    ck_assert_int_eq(scl_proc_status(getpid(), "Name", v, sizeof v, &e), SCL_OK);
    ck_assert_str_eq(v, "test_cursor"); /* blanks after the colon skipped */
    /* A key is a whole name: "Pi" is not "Pid". */
    ck_assert_int_eq(scl_proc_status(0, "Pi", v, sizeof v, &e), SCL_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(e.msg, "no Pi line"));
    char small[3];
    ck_assert_int_eq(scl_proc_status(0, "Name", small, sizeof small, &e), SCL_OK);
    ck_assert_str_eq(small, "te"); /* cut to fit, still terminated */
}
END_TEST

static Suite *cursor_suite(void)
{
    Suite *s = suite_create("cursor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_reads_both_byte_orders);
    tcase_add_test(tc, test_read_past_end_fails_and_sticks);
    tcase_add_test(tc, test_huge_length_does_not_wrap);
    tcase_add_test(tc, test_align_and_sub);
    tcase_add_test(tc, test_ber_tlv_length_forms);
    tcase_add_test(tc, test_ber_tlv_truncated_value_fails);
    tcase_add_test(tc, test_ber_indefinite_length_rejected);
    tcase_add_test(tc, test_ber_find);
    tcase_add_test(tc, test_writer_fixed_overflow_fails);
    tcase_add_test(tc, test_writer_nested_tlv_widens_length);
    tcase_add_test(tc, test_writer_le_and_patch);
    tcase_add_test(tc, test_hex_decode_accepts_article_spellings);
    tcase_add_test(tc, test_proc_status_reads_a_line_by_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cursor_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
