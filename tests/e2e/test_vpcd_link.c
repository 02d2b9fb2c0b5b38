/*
 * test_vpcd_link.c - vpcd framing (vcard/vpcd_link.c) against a stand-in card
 * over a socketpair: replies, control bytes, and bad frames closing the link.
 * Not a test of the PIV card; the stand-in answers 90 00 to everything.
 */
#include "vcard.h"

#include <check.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the stand-in card ---- */
struct vc_card {
    int resets, apdus;
};
static const uint8_t stub_atr[] = {0x3B, 0x80, 0x80, 0x01, 0x01};

size_t vc_card_atr(const struct vc_card *card, uint8_t *out, size_t cap)
{
    (void)card;
    ck_assert_uint_ge(cap, sizeof stub_atr);
    memcpy(out, stub_atr, sizeof stub_atr);
    return sizeof stub_atr;
}

void vc_card_reset(struct vc_card *card)
{
    card->resets++;
}

size_t vc_card_apdu(struct vc_card *card, const uint8_t *cmd, size_t len, uint8_t *resp)
{
    (void)cmd;
    (void)len;
    card->apdus++;
    resp[0] = 0x90;
    resp[1] = 0x00;
    return 2;
}

/* ---- harness: write input, close, serve, collect replies ---- */
struct run {
    int rc;
    struct scl_err e;
    uint8_t out[512];
    ssize_t out_len;
    struct vc_card card;
};

static void serve_bytes(const void *in, size_t n, volatile sig_atomic_t *stop, struct run *r)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(write(sv[1], in, n), (ssize_t)n);
    shutdown(sv[1], SHUT_WR);
    memset(r, 0, sizeof *r);
    r->rc = vc_vpcd_serve(&r->card, sv[0], stop, &r->e);
    close(sv[0]);
    r->out_len = read(sv[1], r->out, sizeof r->out);
    close(sv[1]);
}

START_TEST(test_atr_request_answers_atr_in_one_frame)
{
    struct run r;
    serve_bytes("\x00\x01\x04", 3, NULL, &r);
    ck_assert_int_eq(r.rc, SCL_OK);
    ck_assert_int_eq(r.out_len, 2 + (ssize_t)sizeof stub_atr);
    ck_assert_int_eq(r.out[0], 0);
    ck_assert_int_eq(r.out[1], sizeof stub_atr);
    ck_assert_mem_eq(r.out + 2, stub_atr, sizeof stub_atr);
}
END_TEST

START_TEST(test_apdu_gets_length_prefixed_response)
{
    struct run r;
    serve_bytes("\x00\x04\x00\x20\x00\x80", 6, NULL, &r);
    ck_assert_int_eq(r.rc, SCL_OK);
    ck_assert_int_eq(r.card.apdus, 1);
    ck_assert_int_eq(r.out_len, 4);
    ck_assert_mem_eq(r.out, "\x00\x02\x90\x00", 4);
}
END_TEST

START_TEST(test_power_on_and_reset_reset_card_without_reply)
{
    struct run r;
    serve_bytes("\x00\x01\x01\x00\x01\x02\x00\x01\x00", 9, NULL, &r);
    ck_assert_int_eq(r.rc, SCL_OK);
    ck_assert_int_eq(r.card.resets, 3);
    ck_assert_int_eq(r.out_len, 0);
}
END_TEST

START_TEST(test_zero_length_frame_closes_link_with_error)
{
    struct run r;
    serve_bytes("\x00\x00\x00\x01\x04", 5, NULL, &r);
    ck_assert_int_eq(r.rc, SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(r.e.msg, "frame length 0"));
    ck_assert_int_le(r.out_len, 0); /* the ATR request after it is not served */
}
END_TEST

START_TEST(test_oversized_frame_closes_link_with_error)
{
    struct run r;
    serve_bytes("\xff\xff\x00", 3, NULL, &r);
    ck_assert_int_eq(r.rc, SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(r.e.msg, "frame length 65535"));
}
END_TEST

START_TEST(test_frame_cut_short_reports_truncation_offset)
{
    struct run r;
    serve_bytes("\x00\x01\x04\x00\x05\x00\xa4", 7, NULL, &r);
    ck_assert_int_eq(r.rc, SCL_E_TRUNCATED);
    ck_assert_ptr_nonnull(strstr(r.e.msg, "byte 7 (2 of 5 read)"));
    ck_assert_int_eq(r.out_len, 2 + (ssize_t)sizeof stub_atr); /* first frame was answered */
}
END_TEST

START_TEST(test_unknown_control_byte_closes_link)
{
    struct run r;
    serve_bytes("\x00\x01\x07", 3, NULL, &r);
    ck_assert_int_eq(r.rc, SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(r.e.msg, "unknown control byte 07"));
}
END_TEST

START_TEST(test_stop_flag_ends_serving_before_next_frame)
{
    struct run r;
    volatile sig_atomic_t stop = 1;
    serve_bytes("\x00\x01\x04", 3, &stop, &r);
    ck_assert_int_eq(r.rc, SCL_OK);
    ck_assert_int_le(r.out_len, 0);
}
END_TEST

START_TEST(test_connect_to_closed_port_times_out_with_message)
{
    struct scl_err e = {0};
    /* Port 1 on loopback: nothing listens there in a test environment. */
    int fd = vc_vpcd_connect("127.0.0.1", 1, 0, &e);
    ck_assert_int_lt(fd, 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "127.0.0.1:1"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vpcd_link");
    TCase *tc = tcase_create("framing");
    tcase_add_test(tc, test_atr_request_answers_atr_in_one_frame);
    tcase_add_test(tc, test_apdu_gets_length_prefixed_response);
    tcase_add_test(tc, test_power_on_and_reset_reset_card_without_reply);
    tcase_add_test(tc, test_zero_length_frame_closes_link_with_error);
    tcase_add_test(tc, test_oversized_frame_closes_link_with_error);
    tcase_add_test(tc, test_frame_cut_short_reports_truncation_offset);
    tcase_add_test(tc, test_unknown_control_byte_closes_link);
    tcase_add_test(tc, test_stop_flag_ends_serving_before_next_frame);
    tcase_add_test(tc, test_connect_to_closed_port_times_out_with_message);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
