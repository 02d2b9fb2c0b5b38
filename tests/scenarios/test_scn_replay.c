/*
 * test_scn_replay.c - the replayed card's answers from a fixed record: in
 * recorded order, repeats found again, GET RESPONSE chains kept in order,
 * unrecorded commands 6A 82 / 6D 00, bad records refused with file:line.
 * Not the vpcd link or the lab (record_replay.sh does those).
 */
#include "scn_int.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char record[] =
    "{\"scardlab_record\":{\"version\":1}}\n"
    "{\"card\":{\"client\":\"laptop\",\"reader\":\"r0\",\"atr\":\"3b8c01\"}}\n"
    "{\"exchange\":{\"client\":\"laptop\",\"reader\":\"r0\",\"command\":\"00cb3fff055c035fc10500\","
    "\"response\":\"aa6102\"}}\n"
    "{\"exchange\":{\"client\":\"laptop\",\"reader\":\"r0\",\"command\":\"00c0000000\","
    "\"response\":\"bbbb9000\"}}\n"
    "{\"card\":{\"client\":\"laptop\",\"reader\":\"r1\",\"atr\":\"3b8c02\"}}\n"
    "{\"exchange\":{\"client\":\"laptop\",\"reader\":\"r1\",\"command\":\"00c0000000\","
    "\"response\":\"eeee9000\"}}\n"
    "{\"exchange\":{\"client\":\"laptop\",\"reader\":\"r0\",\"command\":\"00cb3fff055c035fc10a00\","
    "\"response\":\"cc6102\"}}\n"
    "{\"exchange\":{\"client\":\"laptop\",\"reader\":\"r0\",\"command\":\"00c0000000\","
    "\"response\":\"dddd9000\"}}\n";

static char path[64];

static void write_record(const char *text)
{
    snprintf(path, sizeof path, "/tmp/test-scn-replay-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static struct rec_card *load(const char *text, const char *reader)
{
    write_record(text);
    struct rec_card *rc = NULL;
    struct scl_err e = {0};
    int r = scn_replay_load(path, reader, &rc, &e);
    unlink(path);
    ck_assert_msg(r == 0, "%s", e.msg);
    return rc;
}

static void expect_answer(struct rec_card *rc, const char *cmd_hex, const char *want_hex)
{
    uint8_t cmd[64], resp[2048], want[64];
    int n = scl_hex_decode(cmd_hex, cmd, sizeof cmd),
        w = scl_hex_decode(want_hex, want, sizeof want);
    size_t got = scn_replay_answer(rc, cmd, (size_t)n, resp);
    ck_assert_uint_eq(got, (size_t)w);
    ck_assert_mem_eq(resp, want, (size_t)w);
}

START_TEST(test_get_response_chains_answer_in_recorded_order)
{
    struct rec_card *rc = load(record, NULL);
    expect_answer(rc, "00cb3fff055c035fc10500", "aa6102");
    expect_answer(rc, "00c0000000", "bbbb9000");
    expect_answer(rc, "00cb3fff055c035fc10a00", "cc6102");
    expect_answer(rc, "00c0000000", "dddd9000");
    scn_replay_free(rc);
}
END_TEST

START_TEST(test_reread_object_is_found_before_the_cursor)
{
    struct rec_card *rc = load(record, NULL);
    expect_answer(rc, "00cb3fff055c035fc10a00", "cc6102");
    expect_answer(rc, "00c0000000", "dddd9000");
    /* certprop reads 9A after pkcs15-tool read 9C: wraps to the start */
    expect_answer(rc, "00cb3fff055c035fc10500", "aa6102");
    expect_answer(rc, "00c0000000", "bbbb9000");
    scn_replay_free(rc);
}
END_TEST

START_TEST(test_unrecorded_get_data_is_6a82_and_other_ins_6d00)
{
    struct rec_card *rc = load(record, NULL);
    expect_answer(rc, "00cb3fff055c035fc10b00", "6a82");
    expect_answer(rc, "00a4040009a0000003080000100000", "6a82");
    expect_answer(rc, "0020008008313233343536ffff", "6d00");
    scn_replay_free(rc);
}
END_TEST

START_TEST(test_other_reader_exchanges_are_not_answered)
{
    struct rec_card *rc = load(record, "r1");
    expect_answer(rc, "00c0000000", "eeee9000");
    expect_answer(rc, "00cb3fff055c035fc10500", "6a82");
    scn_replay_free(rc);
}
END_TEST

START_TEST(test_bad_record_is_refused_with_file_and_line)
{
    write_record("{\"scardlab_record\":{}}\n{\"exchange\":{\"reader\":\"r0\",\"command\":\"00zz\","
                 "\"response\":\"9000\"}}\n");
    struct rec_card *rc = NULL;
    struct scl_err e = {0};
    ck_assert_int_ne(scn_replay_load(path, NULL, &rc, &e), 0);
    unlink(path);
    ck_assert_ptr_null(rc);
    ck_assert_ptr_nonnull(strstr(e.msg, ":2: field command"));
    write_record("{\"not\":\"a record\"}\n");
    ck_assert_int_ne(scn_replay_load(path, NULL, &rc, &e), 0);
    unlink(path);
    ck_assert_ptr_nonnull(strstr(e.msg, ":1: not a scardlab record"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scn_replay");
    TCase *tc = tcase_create("replay");
    tcase_add_test(tc, test_get_response_chains_answer_in_recorded_order);
    tcase_add_test(tc, test_reread_object_is_found_before_the_cursor);
    tcase_add_test(tc, test_unrecorded_get_data_is_6a82_and_other_ins_6d00);
    tcase_add_test(tc, test_other_reader_exchanges_are_not_answered);
    tcase_add_test(tc, test_bad_record_is_refused_with_file_and_line);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
