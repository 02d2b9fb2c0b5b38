/*
 * test_reader_policy.c - the strict reader policy: allow/deny decisions, the
 * verdict for each call that names a reader, ListReaders returns filtered
 * and re-encoded through the codec, and the trace line's shape.
 */
#include "rdp_channel.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const struct esc_context ctx8 = {8, {1, 2, 3, 4, 5, 6, 7, 8}};

static void policy_of(struct rc_policy *p, const char *list)
{
    struct scl_err e = {0};
    memset(p, 0, sizeof *p);
    ck_assert_msg(rc_policy_add_list(p, list, &e) == SCL_OK, "%s", e.msg);
}

START_TEST(test_exact_entry_allows_only_that_reader)
{
    struct rc_policy p;
    policy_of(&p, "scardlab 00 00");
    ck_assert(rc_policy_active(&p));
    ck_assert(rc_policy_allows(&p, "scardlab 00 00"));
    ck_assert(!rc_policy_allows(&p, "scardlab 00 01"));
    ck_assert(!rc_policy_allows(&p, "scardlab 00 0"));
    ck_assert(!rc_policy_allows(&p, "Yubico YubiKey"));
    rc_policy_free(&p);
}
END_TEST

START_TEST(test_star_entry_is_a_prefix)
{
    struct rc_policy p;
    policy_of(&p, "scardlab*;Other 00 00");
    ck_assert(rc_policy_allows(&p, "scardlab 00 00"));
    ck_assert(rc_policy_allows(&p, "scardlab 00 01"));
    ck_assert(rc_policy_allows(&p, "Other 00 00"));
    ck_assert(!rc_policy_allows(&p, "Other 00 01"));
    ck_assert(!rc_policy_allows(&p, "scard"));
    rc_policy_free(&p);
}
END_TEST

START_TEST(test_no_policy_allows_everything_and_pnp_is_always_allowed)
{
    struct rc_policy none = {0};
    ck_assert(!rc_policy_active(&none));
    ck_assert(rc_policy_allows(&none, "anything"));
    struct rc_policy p;
    policy_of(&p, "nomatch");
    ck_assert(rc_policy_allows(&p, "\\\\?PnP?\\Notification"));
    ck_assert(!rc_policy_allows(&p, "scardlab 00 00"));
    rc_policy_free(&p);
}
END_TEST

/* A ListReaders_Return as FreeRDP packs it, through the codec both ways. */
static void list_readers_bytes(const char *const *names, size_t n, uint8_t **buf, size_t *len)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_LISTREADERSW, .type = ESC_T_LIST_READERS_RETURN};
    m.u.list_readers_return.msz.count = n;
    m.u.list_readers_return.msz.names = (char **)names;
    struct scl_err e = {0};
    ck_assert_msg(esc_encode_return(&m, buf, len, &e) == SCL_OK, "%s", e.msg);
}

START_TEST(test_list_readers_return_is_filtered_and_reencoded)
{
    const char *names[] = {"scardlab 00 00", "scardlab 00 01", "Secret Reader 00 00"};
    uint8_t *buf;
    size_t len;
    list_readers_bytes(names, 3, &buf, &len);
    struct esc_msg r;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_return(SCARD_IOCTL_LISTREADERSW, buf, len, &r, &e), SCL_OK);
    struct rc_policy p;
    policy_of(&p, "scardlab 00 01");
    ck_assert(rc_policy_fix_return(&p, NULL, &r));
    uint8_t *out;
    size_t outlen;
    ck_assert_msg(esc_encode_return(&r, &out, &outlen, &e) == SCL_OK, "%s", e.msg);
    esc_msg_free(&r);
    ck_assert_int_eq(esc_decode_return(SCARD_IOCTL_LISTREADERSW, out, outlen, &r, &e), SCL_OK);
    ck_assert_int_eq(r.u.list_readers_return.ReturnCode, 0);
    ck_assert_uint_eq(r.u.list_readers_return.msz.count, 1);
    ck_assert_str_eq(r.u.list_readers_return.msz.names[0], "scardlab 00 01");
    ck_assert_uint_lt(outlen, len);
    esc_msg_free(&r);
    free(out);
    rc_policy_free(&p);
    /* Nothing allowed: the session is told there is no reader at all. */
    policy_of(&p, "nomatch");
    ck_assert_int_eq(esc_decode_return(SCARD_IOCTL_LISTREADERSW, buf, len, &r, &e), SCL_OK);
    ck_assert(rc_policy_fix_return(&p, NULL, &r));
    ck_assert_int_eq(r.u.list_readers_return.ReturnCode, RC_SCARD_E_NO_READERS_AVAILABLE);
    ck_assert_uint_eq(r.u.list_readers_return.msz.count, 0);
    ck_assert_int_eq(esc_encode_return(&r, &out, &outlen, &e), SCL_OK);
    free(out);
    esc_msg_free(&r);
    rc_policy_free(&p);
    free(buf);
}
END_TEST

START_TEST(test_connect_to_denied_reader_is_answered_unknown_reader)
{
    struct rc_policy p;
    policy_of(&p, "nomatch");
    struct esc_msg m = {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_CALL};
    m.u.connect_call.Context = ctx8;
    m.u.connect_call.szReader = strdup("scardlab 00 00");
    m.u.connect_call.dwShareMode = 2;
    m.u.connect_call.dwPreferredProtocols = 3;
    struct esc_msg a;
    const char *why;
    ck_assert_int_eq(rc_policy_judge_call(&p, true, &m, &a, &why), RC_ANSWER);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(a.u.connect_return.ReturnCode, RC_SCARD_E_UNKNOWN_READER);
    uint8_t *buf;
    size_t len;
    struct scl_err e = {0};
    ck_assert_msg(esc_encode_return(&a, &buf, &len, &e) == SCL_OK, "%s", e.msg);
    struct esc_msg d;
    ck_assert_int_eq(esc_decode_return(SCARD_IOCTL_CONNECTW, buf, len, &d, &e), SCL_OK);
    ck_assert_int_eq(d.u.connect_return.ReturnCode, RC_SCARD_E_UNKNOWN_READER);
    esc_msg_free(&d);
    free(buf);
    esc_msg_free(&a);
    rc_policy_free(&p);
    /* The allowed name goes through untouched. */
    policy_of(&p, "scardlab*");
    ck_assert_int_eq(rc_policy_judge_call(&p, true, &m, &a, &why), RC_FORWARD);
    rc_policy_free(&p);
    esc_msg_free(&m);
}
END_TEST

static void gsc_call(struct esc_msg *m, uint32_t denied_current_state)
{
    memset(m, 0, sizeof *m);
    m->ioctl = SCARD_IOCTL_GETSTATUSCHANGEW;
    m->type = ESC_T_GET_STATUS_CHANGE_CALL;
    struct esc_get_status_change_call *c = &m->u.get_status_change_call;
    c->Context = ctx8;
    c->dwTimeOut = 0xFFFFFFFF;
    c->cReaders = 2;
    c->rgReaderStates = calloc(2, sizeof *c->rgReaderStates);
    c->rgReaderStates[0].szReader = strdup("\\\\?PnP?\\Notification");
    c->rgReaderStates[0].Common.dwCurrentState = 0x00010000;
    c->rgReaderStates[1].szReader = strdup("scardlab 00 00");
    c->rgReaderStates[1].Common.dwCurrentState = denied_current_state;
}

START_TEST(test_get_status_change_naming_denied_reader_reports_it_unknown_at_once)
{
    struct rc_policy p;
    policy_of(&p, "nomatch");
    struct esc_msg m, a;
    gsc_call(&m, 0x0000); /* SCARD_STATE_UNAWARE: the caller does not know yet */
    const char *why;
    ck_assert_int_eq(rc_policy_judge_call(&p, true, &m, &a, &why), RC_ANSWER);
    const struct esc_get_status_change_return *r = &a.u.get_status_change_return;
    ck_assert_int_eq(r->ReturnCode, 0);
    ck_assert_uint_eq(r->cReaders, 2);
    ck_assert_uint_eq(r->rgReaderStates[1].dwEventState,
                      RC_SCARD_STATE_UNKNOWN | RC_SCARD_STATE_CHANGED | RC_SCARD_STATE_IGNORE);
    ck_assert_uint_eq(r->rgReaderStates[0].dwEventState & RC_SCARD_STATE_CHANGED, 0);
    uint8_t *buf;
    size_t len;
    struct scl_err e = {0};
    ck_assert_msg(esc_encode_return(&a, &buf, &len, &e) == SCL_OK, "%s", e.msg);
    free(buf);
    esc_msg_free(&a);
    esc_msg_free(&m);
    rc_policy_free(&p);
}
END_TEST

START_TEST(test_get_status_change_with_known_unknown_reader_is_forwarded_with_ignore)
{
    struct rc_policy p;
    policy_of(&p, "nomatch");
    struct esc_msg m, a;
    gsc_call(&m, RC_SCARD_STATE_UNKNOWN | RC_SCARD_STATE_IGNORE);
    uint8_t *before;
    size_t before_len;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_encode_call(&m, &before, &before_len, &e), SCL_OK);
    const char *why;
    ck_assert_int_eq(rc_policy_judge_call(&p, true, &m, &a, &why), RC_FORWARD_EDITED);
    ck_assert(m.u.get_status_change_call.rgReaderStates[1].Common.dwCurrentState &
              RC_SCARD_STATE_IGNORE);
    uint8_t *after;
    size_t after_len;
    ck_assert_int_eq(esc_encode_call(&m, &after, &after_len, &e), SCL_OK);
    ck_assert_uint_eq(before_len, after_len); /* edited in place in the IRP */
    /* FreeRDP's answer (the card is there) is rewritten to UNKNOWN|IGNORE. */
    struct esc_msg r = {.ioctl = SCARD_IOCTL_GETSTATUSCHANGEW,
                        .type = ESC_T_GET_STATUS_CHANGE_RETURN};
    r.u.get_status_change_return.cReaders = 2;
    r.u.get_status_change_return.rgReaderStates = calloc(2, sizeof(struct esc_reader_state_common));
    r.u.get_status_change_return.rgReaderStates[1].dwEventState = 0x0022; /* PRESENT|CHANGED */
    r.u.get_status_change_return.rgReaderStates[1].cbAtr = 3;
    ck_assert(rc_policy_fix_return(&p, &m, &r));
    ck_assert_uint_eq(r.u.get_status_change_return.rgReaderStates[1].dwEventState,
                      RC_SCARD_STATE_UNKNOWN | RC_SCARD_STATE_IGNORE);
    ck_assert_uint_eq(r.u.get_status_change_return.rgReaderStates[1].cbAtr, 0);
    esc_msg_free(&r);
    free(before);
    free(after);
    esc_msg_free(&m);
    rc_policy_free(&p);
}
END_TEST

START_TEST(test_uncheckable_ioctl_is_refused_only_under_a_policy)
{
    struct esc_msg m = {0}, a;
    const char *why;
    struct rc_policy none = {0};
    ck_assert_int_eq(rc_policy_judge_call(&none, false, &m, &a, &why), RC_FORWARD);
    struct rc_policy p;
    policy_of(&p, "scardlab*");
    ck_assert_int_eq(rc_policy_judge_call(&p, false, &m, &a, &why), RC_REFUSE);
    rc_policy_free(&p);
}
END_TEST

START_TEST(test_trace_line_has_time_completion_id_and_apdu_hex)
{
    static const uint8_t apdu[] = {0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C,
                                   0x03, 0x5F, 0xC1, 0x05, 0x00};
    struct esc_msg m = {.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_CALL};
    m.u.transmit_call.hCard.Context = ctx8;
    m.u.transmit_call.hCard.cbHandle = 8;
    m.u.transmit_call.ioSendPci.dwProtocol = 2;
    m.u.transmit_call.cbSendLength = sizeof apdu;
    m.u.transmit_call.pbSendBuffer = (uint8_t *)apdu;
    m.u.transmit_call.cbRecvLength = 258;
    char *line = rc_trace_line("call", 42, m.ioctl, NULL, &m, NULL, NULL);
    ck_assert_ptr_nonnull(line);
    ck_assert_ptr_null(strchr(line, '\n'));
    cJSON *o = cJSON_Parse(line);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(o->child->string, "time");
    ck_assert_int_eq(cJSON_GetObjectItem(o, "CompletionId")->valueint, 42);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "ioctl")->valuestring, "Transmit");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "pbSendBuffer")->valuestring, "00cb3fff055c035fc10500");
    cJSON_Delete(o);
    free(line);
    uint32_t io = 0xC0000001;
    line = rc_trace_line("return", 7, SCARD_IOCTL_CONNECTW, &io, NULL, "no OutputBuffer", "x");
    o = cJSON_Parse(line);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "IoStatus")->valuestring, "0xC0000001");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "ioctl")->valuestring, "ConnectW");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "dir")->valuestring, "return");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "decode_error")->valuestring, "no OutputBuffer");
    cJSON_Delete(o);
    free(line);
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("reader_policy");
    TCase *t = tcase_create("policy");
    tcase_add_test(t, test_exact_entry_allows_only_that_reader);
    tcase_add_test(t, test_star_entry_is_a_prefix);
    tcase_add_test(t, test_no_policy_allows_everything_and_pnp_is_always_allowed);
    tcase_add_test(t, test_list_readers_return_is_filtered_and_reencoded);
    tcase_add_test(t, test_connect_to_denied_reader_is_answered_unknown_reader);
    tcase_add_test(t, test_get_status_change_naming_denied_reader_reports_it_unknown_at_once);
    tcase_add_test(t, test_get_status_change_with_known_unknown_reader_is_forwarded_with_ignore);
    tcase_add_test(t, test_uncheckable_ioctl_is_refused_only_under_a_policy);
    tcase_add_test(t, test_trace_line_has_time_completion_id_and_apdu_hex);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(policy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
