/*
 * test_pcsock_wire.c - unit tests of pcsc-lite 1.9.9's message codec: the
 * size of every struct as pcsc-lite lays it out, byte positions of the fields
 * that matter, round trips, size-mismatch and unknown-command rejection, and
 * truncation at every length.  No sockets here (test_pcsock_server has them).
 */
#include "pcsock_wire.h"

#include <check.h>
#include <string.h>

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t encode(uint32_t command, const union pcsock_body *b, uint8_t *out, size_t cap)
{
    const struct pcsock_wire_cmd *cmd = pcsock_wire_find(command);
    ck_assert_ptr_nonnull(cmd);
    struct wcur w;
    wcur_init_fixed(&w, out, cap);
    pcsock_wire_encode_body(&w, cmd, b);
    ck_assert(wcur_ok(&w));
    return wcur_len(&w);
}

/* Sizes of winscard_msg.h's structs on x86-64 / any LP64 or ILP32 host. */
START_TEST(test_every_body_has_pcsc_lite_struct_size)
{
    static const struct {
        uint32_t command;
        size_t size;
    } want[] = {
        {PCSOCK_SCARD_ESTABLISH_CONTEXT, 12},
        {PCSOCK_SCARD_RELEASE_CONTEXT, 8},
        {PCSOCK_SCARD_CONNECT, 152},
        {PCSOCK_SCARD_RECONNECT, 24},
        {PCSOCK_SCARD_DISCONNECT, 12},
        {PCSOCK_SCARD_BEGIN_TRANSACTION, 8},
        {PCSOCK_SCARD_END_TRANSACTION, 12},
        {PCSOCK_SCARD_TRANSMIT, 32},
        {PCSOCK_SCARD_CONTROL, 24},
        {PCSOCK_SCARD_STATUS, 8},
        {PCSOCK_SCARD_CANCEL, 8},
        {PCSOCK_SCARD_GET_ATTRIB, 280},
        {PCSOCK_SCARD_SET_ATTRIB, 280},
        {PCSOCK_CMD_VERSION, 12},
        {PCSOCK_CMD_GET_READERS_STATE, 0},
        {PCSOCK_CMD_WAIT_READER_STATE_CHANGE, 0},
        {PCSOCK_CMD_STOP_WAITING_READER_STATE_CHANGE, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct pcsock_wire_cmd *cmd = pcsock_wire_find(want[i].command);
        ck_assert_ptr_nonnull(cmd);
        ck_assert_msg(cmd->size == want[i].size, "%s: %zu bytes, pcsc-lite has %zu", cmd->name,
                      cmd->size, want[i].size);
        union pcsock_body b;
        memset(&b, 0, sizeof b);
        uint8_t buf[400];
        ck_assert_uint_eq(encode(want[i].command, &b, buf, sizeof buf), want[i].size);
    }
}
END_TEST

START_TEST(test_commands_the_client_never_sends_are_unknown)
{
    ck_assert_ptr_null(pcsock_wire_find(PCSOCK_SCARD_LIST_READERS));
    ck_assert_ptr_null(pcsock_wire_find(PCSOCK_SCARD_GET_STATUS_CHANGE));
    ck_assert_ptr_null(pcsock_wire_find(PCSOCK_SCARD_CANCEL_TRANSACTION));
    ck_assert_ptr_null(pcsock_wire_find(0));
    ck_assert_ptr_null(pcsock_wire_find(0x15));
    char nb[40];
    ck_assert_str_eq(pcsock_wire_name(0x42, nb, sizeof nb), "unknown command 0x42");
    ck_assert_str_eq(pcsock_wire_name(PCSOCK_SCARD_TRANSMIT, nb, sizeof nb), "SCARD_TRANSMIT");
}
END_TEST

START_TEST(test_connect_fields_sit_where_pcsc_lite_puts_them)
{
    union pcsock_body b;
    memset(&b, 0, sizeof b);
    b.connect.hContext = 0x11223344;
    strcpy(b.connect.szReader, "scardlab 00 00");
    b.connect.dwShareMode = 2;
    b.connect.dwPreferredProtocols = 3;
    b.connect.hCard = -2;
    b.connect.dwActiveProtocol = 1;
    b.connect.rv = 0x80100009;
    uint8_t buf[200];
    ck_assert_uint_eq(encode(PCSOCK_SCARD_CONNECT, &b, buf, sizeof buf), 152);
    ck_assert_uint_eq(le32(buf), 0x11223344);
    ck_assert_str_eq((const char *)buf + 4, "scardlab 00 00");
    ck_assert_uint_eq(le32(buf + 132), 2);
    ck_assert_uint_eq(le32(buf + 136), 3);
    ck_assert_uint_eq(le32(buf + 140), 0xFFFFFFFE);
    ck_assert_uint_eq(le32(buf + 144), 1);
    ck_assert_uint_eq(le32(buf + 148), 0x80100009);
}
END_TEST

START_TEST(test_transmit_and_getset_fields_sit_where_pcsc_lite_puts_them)
{
    union pcsock_body b;
    memset(&b, 0, sizeof b);
    b.transmit = (struct pcsock_transmit){7, 2, 8, 5, 2, 8, 258, 0};
    uint8_t buf[300];
    ck_assert_uint_eq(encode(PCSOCK_SCARD_TRANSMIT, &b, buf, sizeof buf), 32);
    ck_assert_uint_eq(le32(buf + 12), 5);   /* cbSendLength */
    ck_assert_uint_eq(le32(buf + 24), 258); /* pcbRecvLength */
    memset(&b, 0, sizeof b);
    b.getset.hCard = 9;
    b.getset.dwAttrId = 0x90303;
    b.getset.pbAttr[0] = 0xAA;
    b.getset.pbAttr[263] = 0xBB;
    b.getset.cbAttrLen = 264;
    b.getset.rv = 0x1234;
    ck_assert_uint_eq(encode(PCSOCK_SCARD_GET_ATTRIB, &b, buf, sizeof buf), 280);
    ck_assert_uint_eq(buf[8], 0xAA);
    ck_assert_uint_eq(buf[271], 0xBB);
    ck_assert_uint_eq(le32(buf + 272), 264);
    ck_assert_uint_eq(le32(buf + 276), 0x1234);
}
END_TEST

/* Every row: distinct bytes in, decoded, encoded again: the same bytes. */
START_TEST(test_every_body_round_trips_byte_for_byte)
{
    for (uint32_t code = 1; code <= 0x14; code++) {
        const struct pcsock_wire_cmd *cmd = pcsock_wire_find(code);
        if (!cmd || !cmd->size) continue;
        uint8_t in[400], out[400];
        for (size_t i = 0; i < cmd->size; i++)
            in[i] = (uint8_t)(i * 7 + code);
        if (code == PCSOCK_SCARD_CONNECT)
            in[4 + 127] = 0; /* szReader is NUL-terminated on decode */
        struct cur c;
        cur_init(&c, in, cmd->size);
        union pcsock_body b;
        struct scl_err e = {0};
        ck_assert_msg(!pcsock_wire_decode_body(&c, cmd, &b, &e), "%s: %s", cmd->name, e.msg);
        ck_assert_uint_eq(cur_left(&c), 0);
        ck_assert_uint_eq(encode(code, &b, out, sizeof out), cmd->size);
        ck_assert_msg(!memcmp(in, out, cmd->size), "%s: bytes differ after a round trip",
                      cmd->name);
    }
}
END_TEST

START_TEST(test_connect_reader_name_is_always_terminated)
{
    uint8_t in[152];
    memset(in, 'A', sizeof in);
    struct cur c;
    cur_init(&c, in, sizeof in);
    union pcsock_body b;
    ck_assert(!pcsock_wire_decode_body(&c, pcsock_wire_find(PCSOCK_SCARD_CONNECT), &b, NULL));
    ck_assert_uint_eq(strlen(b.connect.szReader), 127);
}
END_TEST

static int header_of(uint32_t size, uint32_t command, struct scl_err *e)
{
    uint8_t buf[8];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    pcsock_wire_encode_header(&w, command, size);
    struct cur c;
    cur_init(&c, buf, sizeof buf);
    struct pcsock_header h;
    const struct pcsock_wire_cmd *cmd;
    return pcsock_wire_decode_header(&c, &h, &cmd, e);
}

START_TEST(test_header_with_wrong_size_is_rejected)
{
    struct scl_err e = {0};
    ck_assert_int_eq(header_of(152, PCSOCK_SCARD_CONNECT, &e), SCL_OK);
    ck_assert_int_eq(header_of(151, PCSOCK_SCARD_CONNECT, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "SCARD_CONNECT needs 152 bytes, got 151"));
    ck_assert_int_eq(header_of(4, PCSOCK_CMD_GET_READERS_STATE, &e), SCL_E_FORMAT);
    ck_assert_int_eq(header_of(0xFFFFFFFF, PCSOCK_SCARD_TRANSMIT, &e), SCL_E_FORMAT);
}
END_TEST

START_TEST(test_header_with_unknown_command_is_rejected)
{
    struct scl_err e = {0};
    ck_assert_int_eq(header_of(0, 0x42, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "unknown command 0x42"));
    ck_assert_int_eq(header_of(0, PCSOCK_SCARD_GET_STATUS_CHANGE, &e), SCL_E_FORMAT);
}
END_TEST

/* A transmit request: header, body, 5 bytes of APDU. */
static size_t transmit_request(uint8_t *buf, size_t cap, uint32_t cbSendLength)
{
    struct wcur w;
    wcur_init_fixed(&w, buf, cap);
    pcsock_wire_encode_header(&w, PCSOCK_SCARD_TRANSMIT, 32);
    union pcsock_body b;
    memset(&b, 0, sizeof b);
    b.transmit.hCard = 0x1234;
    b.transmit.cbSendLength = cbSendLength;
    b.transmit.pcbRecvLength = 258;
    pcsock_wire_encode_body(&w, pcsock_wire_find(PCSOCK_SCARD_TRANSMIT), &b);
    wcur_bytes(&w, "\x00\xA4\x04\x00\x00", 5);
    ck_assert(wcur_ok(&w));
    return wcur_len(&w);
}

START_TEST(test_request_framing_fails_at_every_truncation)
{
    uint8_t buf[64];
    size_t n = transmit_request(buf, sizeof buf, 5);
    ck_assert_uint_eq(n, 8 + 32 + 5);
    for (size_t cut = 0; cut < n; cut++) {
        struct cur c;
        cur_init(&c, buf, cut);
        struct pcsock_request r;
        struct scl_err e = {0};
        ck_assert_msg(pcsock_wire_next_request(&c, &r, &e) == SCL_E_TRUNCATED, "cut at %zu: %s",
                      cut, e.msg);
    }
    struct cur c;
    cur_init(&c, buf, n);
    struct pcsock_request r;
    ck_assert_int_eq(pcsock_wire_next_request(&c, &r, NULL), SCL_OK);
    ck_assert_uint_eq(r.cmd->command, PCSOCK_SCARD_TRANSMIT);
    ck_assert_int_eq(r.body.transmit.hCard, 0x1234);
    ck_assert_uint_eq(r.extra_len, 5);
    ck_assert(!memcmp(r.extra, "\x00\xA4\x04\x00\x00", 5));
    ck_assert_uint_eq(cur_left(&c), 0);
}
END_TEST

START_TEST(test_oversized_send_buffer_is_rejected)
{
    uint8_t buf[64];
    transmit_request(buf, sizeof buf, PCSOCK_MAX_BUFFER_EXTENDED + 1);
    struct cur c;
    cur_init(&c, buf, sizeof buf);
    struct pcsock_request r;
    struct scl_err e = {0};
    ck_assert_int_eq(pcsock_wire_next_request(&c, &r, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "cbSendLength 65549 is over the 65548-byte limit"));

    union pcsock_body b;
    memset(&b, 0, sizeof b);
    b.getset.cbAttrLen = PCSOCK_MAX_BUFFER + 1;
    uint32_t len;
    ck_assert_int_eq(pcsock_wire_extra_len(pcsock_wire_find(PCSOCK_SCARD_SET_ATTRIB), &b, &len, &e),
                     SCL_E_FORMAT);
    b.getset.cbAttrLen = PCSOCK_MAX_BUFFER;
    ck_assert_int_eq(pcsock_wire_extra_len(pcsock_wire_find(PCSOCK_SCARD_GET_ATTRIB), &b, &len, &e),
                     SCL_OK);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_reader_state_is_184_bytes_with_aligned_atr_length)
{
    struct pcsock_reader_state s;
    memset(&s, 0, sizeof s);
    strcpy(s.readerName, "scardlab 00 00");
    s.eventCounter = 3;
    s.readerState = 0x34;
    s.readerSharing = -1;
    memset(s.cardAtr, 0x3B, 33);
    s.cardAtrLength = 33;
    s.cardProtocol = 2;
    uint8_t buf[PCSOCK_READER_LIST_SIZE];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    for (int i = 0; i < PCSOCK_MAX_READERS; i++)
        pcsock_wire_encode_reader_state(&w, &s);
    ck_assert(wcur_ok(&w));
    ck_assert_uint_eq(wcur_len(&w), 16 * 184);
    ck_assert_uint_eq(le32(buf + 128), 3);
    ck_assert_uint_eq(le32(buf + 132), 0x34);
    ck_assert_uint_eq(le32(buf + 136), 0xFFFFFFFF);
    ck_assert_uint_eq(buf[140 + 32], 0x3B);
    ck_assert_uint_eq(le32(buf + 176), 33); /* 173 rounded up to 4 */
    ck_assert_uint_eq(le32(buf + 180), 2);
    ck_assert_str_eq((const char *)buf + 15 * 184, "scardlab 00 00");

    struct cur c;
    cur_init(&c, buf + 184, 184);
    struct pcsock_reader_state back;
    ck_assert_int_eq(pcsock_wire_decode_reader_state(&c, &back, NULL), SCL_OK);
    ck_assert(!memcmp(&back, &s, sizeof s));
}
END_TEST

START_TEST(test_reader_state_decode_refuses_short_and_overlong_atr)
{
    uint8_t buf[184];
    memset(buf, 0, sizeof buf);
    buf[176] = 34;
    struct cur c;
    cur_init(&c, buf, 183);
    struct pcsock_reader_state s;
    ck_assert_int_eq(pcsock_wire_decode_reader_state(&c, &s, NULL), SCL_E_TRUNCATED);
    cur_init(&c, buf, 184);
    struct scl_err e = {0};
    ck_assert_int_eq(pcsock_wire_decode_reader_state(&c, &s, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "cardAtrLength 34"));
}
END_TEST

START_TEST(test_wait_signal_is_timeout_then_rv)
{
    uint8_t buf[8];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    pcsock_wire_encode_wait(&w, &(struct pcsock_wait){0, 0x80100002});
    ck_assert_uint_eq(wcur_len(&w), PCSOCK_WAIT_SIZE);
    ck_assert_uint_eq(le32(buf), 0);
    ck_assert_uint_eq(le32(buf + 4), 0x80100002);
    struct cur c;
    cur_init(&c, buf, 7);
    struct pcsock_wait m;
    ck_assert_int_eq(pcsock_wire_decode_wait(&c, &m, NULL), SCL_E_TRUNCATED);
}
END_TEST

static Suite *wire_suite(void)
{
    Suite *s = suite_create("pcsock_wire");
    TCase *t = tcase_create("wire");
    tcase_add_test(t, test_every_body_has_pcsc_lite_struct_size);
    tcase_add_test(t, test_commands_the_client_never_sends_are_unknown);
    tcase_add_test(t, test_connect_fields_sit_where_pcsc_lite_puts_them);
    tcase_add_test(t, test_transmit_and_getset_fields_sit_where_pcsc_lite_puts_them);
    tcase_add_test(t, test_every_body_round_trips_byte_for_byte);
    tcase_add_test(t, test_connect_reader_name_is_always_terminated);
    tcase_add_test(t, test_header_with_wrong_size_is_rejected);
    tcase_add_test(t, test_header_with_unknown_command_is_rejected);
    tcase_add_test(t, test_request_framing_fails_at_every_truncation);
    tcase_add_test(t, test_oversized_send_buffer_is_rejected);
    tcase_add_test(t, test_reader_state_is_184_bytes_with_aligned_atr_length);
    tcase_add_test(t, test_reader_state_decode_refuses_short_and_overlong_atr);
    tcase_add_test(t, test_wait_signal_is_timeout_then_rv);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wire_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
