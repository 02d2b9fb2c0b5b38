/*
 * test_esc_codec.c - unit tests of the MS-RDPESC codec: round trips of every
 * call and return, byte-exact vectors laid out by hand from FreeRDP 2.11's
 * packers, truncation at every length, hostile fields, and the JSON trace.
 */
#include "esc_internal.h"
#include "esc_samples.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------ */

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    int n = scl_hex_decode(s, out, cap);
    ck_assert_int_ge(n, 0);
    return (size_t)n;
}

/* Two messages are equal when every field the trace renders is equal. */
static void assert_msgs_equal(const struct esc_msg *a, const struct esc_msg *b)
{
    cJSON *ja = esc_trace_object(a), *jb = esc_trace_object(b);
    ck_assert_ptr_nonnull(ja);
    ck_assert_ptr_nonnull(jb);
    if (!cJSON_Compare(ja, jb, true)) {
        char *sa = cJSON_PrintUnformatted(ja), *sb = cJSON_PrintUnformatted(jb);
        ck_abort_msg("messages differ:\n  %s\n  %s", sa, sb);
    }
    cJSON_Delete(ja);
    cJSON_Delete(jb);
}

typedef int (*encode_fn)(const struct esc_msg *, uint8_t **, size_t *, struct scl_err *);
typedef int (*decode_fn)(uint32_t, const uint8_t *, size_t, struct esc_msg *, struct scl_err *);

static void check_round_trip(struct esc_msg *m, encode_fn enc, decode_fn dec)
{
    struct scl_err e = {0};
    uint8_t *buf, *buf2;
    size_t len, len2;
    ck_assert_msg(enc(m, &buf, &len, &e) == SCL_OK, "%s", e.msg);
    struct esc_msg d;
    ck_assert_msg(dec(m->ioctl, buf, len, &d, &e) == SCL_OK, "%s", e.msg);
    assert_msgs_equal(m, &d);
    ck_assert_msg(enc(&d, &buf2, &len2, &e) == SCL_OK, "%s", e.msg);
    ck_assert_uint_eq(len, len2);
    ck_assert_mem_eq(buf, buf2, len);
    esc_msg_free(&d);
    free(buf);
    free(buf2);
}

/* Every proper prefix of the buffer must be refused, and every proper prefix
 * of the object re-wrapped with an honest length must be refused too. */
static void check_truncations(struct esc_msg *m, encode_fn enc, decode_fn dec, bool is_return)
{
    struct scl_err e = {0};
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(enc(m, &buf, &len, &e), SCL_OK);
    struct esc_msg d;
    for (size_t l = 0; l < len; l++) {
        ck_assert_msg(dec(m->ioctl, buf, l, &d, &e) != SCL_OK, "%s accepted at %zu of %zu",
                      esc_ioctl_name(m->ioctl), l, len);
        esc_msg_free(&d);
    }
    const struct esc_ioctl *io = esc_ioctl_find(m->ioctl);
    bool headers = is_return || io->call_has_ndr_headers;
    const uint8_t *obj = buf + (headers ? ESC_NDR_HEADERS_LEN : 0);
    size_t n = len - (headers ? ESC_NDR_HEADERS_LEN : 0), used;
    ck_assert_int_eq(esc_decode_object(io, is_return, obj, n, &d, &used, &e), SCL_OK);
    esc_msg_free(&d);
    ck_assert_uint_le(used, n);
    ck_assert_uint_lt(n - used, 8);
    for (size_t l = 0; l < used; l++) {
        ck_assert_msg(esc_decode_object(io, is_return, obj, l, &d, &used, &e) != SCL_OK,
                      "%s object accepted at %zu", esc_ioctl_name(m->ioctl), l);
        esc_msg_free(&d);
    }
    free(buf);
}

/* ---- round trips and truncation, one loop iteration per IOCTL ------------------ */

START_TEST(test_every_call_round_trips)
{
    struct esc_msg m;
    esc_sample_call(&esc_ioctls[_i], &m);
    check_round_trip(&m, esc_encode_call, esc_decode_call);
    esc_msg_free(&m);
}
END_TEST

START_TEST(test_every_return_round_trips)
{
    struct esc_msg m;
    esc_sample_return(&esc_ioctls[_i], &m);
    check_round_trip(&m, esc_encode_return, esc_decode_return);
    esc_msg_free(&m);
}
END_TEST

START_TEST(test_every_call_refuses_every_truncation)
{
    struct esc_msg m;
    esc_sample_call(&esc_ioctls[_i], &m);
    check_truncations(&m, esc_encode_call, esc_decode_call, false);
    esc_msg_free(&m);
}
END_TEST

START_TEST(test_every_return_refuses_every_truncation)
{
    struct esc_msg m;
    esc_sample_return(&esc_ioctls[_i], &m);
    check_truncations(&m, esc_encode_return, esc_decode_return, true);
    esc_msg_free(&m);
}
END_TEST

START_TEST(test_empty_optional_parts_round_trip)
{
    /* The NULL-pointer forms: no groups, no readers, no buffers. */
    struct esc_msg m = {.ioctl = SCARD_IOCTL_LISTREADERSW, .type = ESC_T_LIST_READERS_CALL};
    m.u.list_readers_call.Context = esc_sample_context();
    check_round_trip(&m, esc_encode_call, esc_decode_call);
    struct esc_msg t = {.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_CALL};
    t.u.transmit_call.hCard = esc_sample_handle();
    check_round_trip(&t, esc_encode_call, esc_decode_call);
    struct esc_msg r = {.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_RETURN};
    check_round_trip(&r, esc_encode_return, esc_decode_return);
    struct esc_msg g = {.ioctl = SCARD_IOCTL_GETSTATUSCHANGEW,
                        .type = ESC_T_GET_STATUS_CHANGE_CALL};
    check_round_trip(&g, esc_encode_call, esc_decode_call);
}
END_TEST

/* ---- byte-exact vectors (laid out from FreeRDP 2.11 smartcard_pack.c) ---------- */

static void check_vector(const struct esc_msg *m, bool is_return, const char *want_hex)
{
    uint8_t want[512], *got;
    size_t n = hex(want_hex, want, sizeof want), len;
    struct scl_err e = {0};
    int rc = is_return ? esc_encode_return(m, &got, &len, &e) : esc_encode_call(m, &got, &len, &e);
    ck_assert_msg(rc == SCL_OK, "%s", e.msg);
    ck_assert_uint_eq(len, n);
    ck_assert_mem_eq(got, want, n);
    struct esc_msg d;
    rc = is_return ? esc_decode_return(m->ioctl, want, n, &d, &e)
                   : esc_decode_call(m->ioctl, want, n, &d, &e);
    ck_assert_msg(rc == SCL_OK, "%s", e.msg);
    assert_msgs_equal(m, &d);
    esc_msg_free(&d);
    free(got);
}

/* One line per NDR field, so formatting stays off here. */
/* clang-format off */
#define HDR(len) "01100800CCCCCCCC" len "00000000"

START_TEST(test_establish_context_return_bytes)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT,
                        .type = ESC_T_ESTABLISH_CONTEXT_RETURN};
    m.u.establish_context_return.Context = esc_sample_context();
    check_vector(&m, true,
                 HDR("18000000") "00000000"        /* ReturnCode */
                 "08000000" "00000200"            /* cbContext, pbContext referent */
                 "08000000" "0102030405060708");  /* MaxCount, pbContext */
}
END_TEST

START_TEST(test_connect_call_bytes)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_CALL};
    m.u.connect_call.Context = esc_sample_context();
    m.u.connect_call.szReader = "AB";
    m.u.connect_call.dwShareMode = 2;
    m.u.connect_call.dwPreferredProtocols = 3;
    check_vector(&m, false,
                 HDR("38000000") "00000200"       /* szReader referent */
                 "08000000" "04000200"            /* Context */
                 "02000000" "03000000"            /* dwShareMode, dwPreferredProtocols */
                 "03000000" "00000000" "03000000" /* MaxCount, Offset, ActualCount */
                 "410042000000" "0000"            /* "AB\0" + align 4 */
                 "08000000" "0102030405060708"    /* pbContext */
                 "00000000");                     /* pad to 8 */
}
END_TEST

START_TEST(test_transmit_call_with_5_byte_apdu_bytes)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_CALL};
    struct esc_transmit_call *c = &m.u.transmit_call;
    uint8_t apdu[5] = {0x00, 0xA4, 0x04, 0x00, 0x00};
    c->hCard = esc_sample_handle();
    c->ioSendPci.dwProtocol = 1;
    c->cbSendLength = 5;
    c->pbSendBuffer = apdu;
    c->cbRecvLength = 258;
    check_vector(&m, false,
                 HDR("58000000") "08000000" "00000200" /* Context */
                 "08000000" "04000200"                 /* cbHandle, pbHandle */
                 "01000000" "00000000" "00000000"      /* ioSendPci: T=0, no extra */
                 "05000000" "08000200"                 /* cbSendLength, pbSendBuffer */
                 "00000000" "00000000" "02010000"      /* pioRecvPci, fpbRecv.., cbRecvLength */
                 "08000000" "0102030405060708"         /* pbContext */
                 "08000000" "A0A1A2A3A4A5A6A7"         /* pbHandle */
                 "05000000" "00A4040000" "000000"      /* pbSendBuffer + align 4 */
                 "00000000");                          /* pad to 8 */
}
END_TEST

#define ATR36 "000000000000000000000000000000000000000000000000000000000000000000000000"

START_TEST(test_get_status_change_call_with_two_readers_bytes)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_GETSTATUSCHANGEW,
                        .type = ESC_T_GET_STATUS_CHANGE_CALL};
    struct esc_reader_state st[2] = {{.szReader = "A"}, {.szReader = "B"}};
    st[1].Common.dwCurrentState = 0x00020000;
    m.u.get_status_change_call.Context = esc_sample_context();
    m.u.get_status_change_call.dwTimeOut = 0xFFFFFFFF;
    m.u.get_status_change_call.cReaders = 2;
    m.u.get_status_change_call.rgReaderStates = st;
    check_vector(&m, false,
                 HDR("B0000000") "08000000" "00000200" /* Context */
                 "FFFFFFFF" "02000000" "04000200"      /* dwTimeOut, cReaders, rgReaderStates */
                 "08000000" "0102030405060708"         /* pbContext */
                 "02000000"                            /* MaxCount */
                 "08000200" "00000000" "00000000" "00000000" ATR36 /* [0] szReader, Common */
                 "0C000200" "00000200" "00000000" "00000000" ATR36 /* [1] */
                 "02000000" "00000000" "02000000" "41000000"       /* "A" */
                 "02000000" "00000000" "02000000" "42000000"       /* "B" */
                 "00000000");                                      /* pad to 8 */
}
END_TEST

START_TEST(test_list_readers_return_bytes)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_LISTREADERSW, .type = ESC_T_LIST_READERS_RETURN};
    char *names[2] = {"A", "B"};
    m.u.list_readers_return.msz.count = 2;
    m.u.list_readers_return.msz.names = names;
    check_vector(&m, true,
                 HDR("20000000") "00000000"                   /* ReturnCode */
                 "0A000000" "00000200"                        /* cBytes, msz referent */
                 "0A000000" "41000000420000000000" "0000"     /* MaxCount, "A\0B\0\0", align */
                 "00000000");                                 /* pad to 8 */
}
END_TEST
/* clang-format on */

START_TEST(test_access_started_event_has_no_ndr_headers)
{
    uint8_t raw[4] = {0};
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_call(SCARD_IOCTL_ACCESSSTARTEDEVENT, raw, 4, &d, &e), SCL_OK);
    /* FreeRDP answers with headers, ReturnCode and no padding. */
    struct esc_msg r = {.ioctl = SCARD_IOCTL_ACCESSSTARTEDEVENT, .type = ESC_T_LONG_RETURN};
    check_vector(&r, true, HDR("04000000") "00000000");
}
END_TEST

/* ---- hostile input ------------------------------------------------------------------ */

static uint8_t *encode_sample_call(uint32_t code, size_t *len)
{
    struct esc_msg m;
    uint8_t *buf;
    esc_sample_call(esc_ioctl_find(code), &m);
    ck_assert_int_eq(esc_encode_call(&m, &buf, len, NULL), SCL_OK);
    esc_msg_free(&m);
    return buf;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

START_TEST(test_connect_call_names_bad_max_count_and_offset)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_CALL};
    m.u.connect_call.Context = esc_sample_context();
    m.u.connect_call.szReader = "ABCDEF";
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(esc_encode_call(&m, &buf, &len, NULL), SCL_OK);
    put32(buf + 36, 5); /* MaxCount 5, ActualCount stays 7 */
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_call(SCARD_IOCTL_CONNECTW, buf, len, &d, &e), SCL_E_FORMAT);
    ck_assert_str_eq(e.msg,
                     "ConnectW_Call: szReader: MaxCount 5 != Offset+ActualCount 7 at offset 36");
    esc_msg_free(&d);
    free(buf);
}
END_TEST

START_TEST(test_out_of_order_referent_id_is_refused)
{
    size_t len;
    uint8_t *buf = encode_sample_call(SCARD_IOCTL_CONNECTW, &len);
    put32(buf + 16, 0x00020004);
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_call(SCARD_IOCTL_CONNECTW, buf, len, &d, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "ReferentID 0x00020004, expected 0x00020000 at offset 16"));
    esc_msg_free(&d);
    free(buf);
}
END_TEST

START_TEST(test_twelve_readers_are_refused)
{
    size_t len;
    uint8_t *buf = encode_sample_call(SCARD_IOCTL_GETSTATUSCHANGEW, &len);
    put32(buf + 16 + 12, 12); /* cReaders */
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_call(SCARD_IOCTL_GETSTATUSCHANGEW, buf, len, &d, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "cReaders: 12 exceeds the limit 11"));
    esc_msg_free(&d);
    free(buf);
}
END_TEST

START_TEST(test_oversized_send_length_is_refused)
{
    size_t len;
    uint8_t *buf = encode_sample_call(SCARD_IOCTL_TRANSMIT, &len);
    put32(buf + 16 + 28, ESC_MAX_BUFFER + 1); /* cbSendLength */
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_call(SCARD_IOCTL_TRANSMIT, buf, len, &d, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "cbSendLength: 66561 exceeds the limit 66560"));
    esc_msg_free(&d);
    free(buf);
}
END_TEST

START_TEST(test_wrong_object_length_and_filler_are_refused)
{
    size_t len;
    uint8_t *buf = encode_sample_call(SCARD_IOCTL_CANCEL, &len);
    struct esc_msg d;
    struct scl_err e = {0};
    put32(buf + 8, (uint32_t)len - 16 + 8);
    ck_assert_int_eq(esc_decode_call(SCARD_IOCTL_CANCEL, buf, len, &d, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "ObjectBufferLength"));
    put32(buf + 8, (uint32_t)len - 16);
    buf[4] = 0;
    ck_assert_int_eq(esc_decode_call(SCARD_IOCTL_CANCEL, buf, len, &d, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "Filler"));
    free(buf);
}
END_TEST

START_TEST(test_bytes_beyond_the_padding_are_refused)
{
    size_t len;
    uint8_t *buf = encode_sample_call(SCARD_IOCTL_CANCEL, &len);
    uint8_t *big = calloc(len + 8, 1);
    memcpy(big, buf, len);
    put32(big + 8, (uint32_t)len + 8 - 16);
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_call(SCARD_IOCTL_CANCEL, big, len + 8, &d, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "after the structure"));
    free(big);
    free(buf);
}
END_TEST

START_TEST(test_unpaired_surrogate_in_reader_name_is_refused)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_CALL};
    m.u.connect_call.Context = esc_sample_context();
    m.u.connect_call.szReader = "AB";
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(esc_encode_call(&m, &buf, &len, NULL), SCL_OK);
    buf[48] = 0x00;
    buf[49] = 0xD8; /* 'A' becomes a lone high surrogate */
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_call(SCARD_IOCTL_CONNECTW, buf, len, &d, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "unpaired high surrogate"));
    free(buf);
}
END_TEST

START_TEST(test_odd_multi_string_length_is_refused)
{
    uint8_t buf[64];
    size_t n = hex(HDR("18000000") "00000000"
                                   "03000000"
                                   "00000200"
                                   "03000000"
                                   "410000"
                                   "00"
                                   "00000000",
                   buf, sizeof buf);
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_return(SCARD_IOCTL_LISTREADERSW, buf, n, &d, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "odd byte count 3"));
    esc_msg_free(&d);
}
END_TEST

START_TEST(test_invalid_utf8_is_not_encoded)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_CALL};
    m.u.connect_call.Context = esc_sample_context();
    m.u.connect_call.szReader = "bad \xc0\xaf overlong";
    uint8_t *buf;
    size_t len;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_encode_call(&m, &buf, &len, &e), SCL_E_INVAL);
    ck_assert_ptr_null(buf);
    ck_assert_ptr_nonnull(strstr(e.msg, "szReader: bad UTF-8 at byte 4"));
}
END_TEST

START_TEST(test_failed_return_may_be_just_the_return_code)
{
    /* FreeRDP's ListReadersW with no readers: ReturnCode and padding only. */
    uint8_t buf[32];
    size_t n = hex(HDR("08000000") "2E001080"
                                   "00000000",
                   buf, sizeof buf);
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_return(SCARD_IOCTL_LISTREADERSW, buf, n, &d, &e), SCL_OK);
    ck_assert(d.body_absent);
    ck_assert_int_eq((uint32_t)d.u.list_readers_return.ReturnCode, 0x8010002E);
    ck_assert_uint_eq(d.u.list_readers_return.msz.count, 0);
    esc_msg_free(&d);
    /* The same bytes with ReturnCode 0 are a truncated body. */
    memset(buf + 16, 0, 4);
    ck_assert_int_eq(esc_decode_return(SCARD_IOCTL_LISTREADERSW, buf, n, &d, &e), SCL_E_TRUNCATED);
    esc_msg_free(&d);
}
END_TEST

/* FreeRDP 2.11 pads rgReaderStates by element count, then to 8: with three
 * readers its GetStatusChangeW return carries 8 more bytes than NDR allows.
 * FreeRDP is the peer, so that return decodes; other returns stay strict. */
static uint8_t *with_extra_padding(const struct esc_msg *m, size_t extra, size_t *n)
{
    uint8_t *enc;
    size_t len;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_encode_return(m, &enc, &len, &e), SCL_OK);
    enc = realloc(enc, len + extra);
    memset(enc + len, 0, extra);
    uint32_t obj = (uint32_t)(len + extra - 16); /* ObjectBufferLength at offset 8 */
    for (int i = 0; i < 4; i++) enc[8 + i] = (uint8_t)(obj >> (8 * i));
    *n = len + extra;
    return enc;
}

START_TEST(test_get_status_change_return_accepts_freerdp_count_padding)
{
    struct esc_reader_state_common rs[3] = {0};
    for (int i = 0; i < 3; i++) rs[i].dwEventState = 0x22;
    struct esc_msg m = {.ioctl = SCARD_IOCTL_GETSTATUSCHANGEW,
                        .type = ESC_T_GET_STATUS_CHANGE_RETURN};
    m.u.get_status_change_return.cReaders = 3;
    m.u.get_status_change_return.rgReaderStates = rs;
    size_t n;
    uint8_t *buf = with_extra_padding(&m, 8, &n);
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_msg(esc_decode_return(SCARD_IOCTL_GETSTATUSCHANGEW, buf, n, &d, &e) == SCL_OK,
                  "%s", e.msg);
    ck_assert_uint_eq(d.u.get_status_change_return.cReaders, 3);
    esc_msg_free(&d);
    free(buf);
    /* 16 stray bytes are more than any peer pads: still refused. */
    buf = with_extra_padding(&m, 16, &n);
    ck_assert_int_eq(esc_decode_return(SCARD_IOCTL_GETSTATUSCHANGEW, buf, n, &d, &e), SCL_E_FORMAT);
    esc_msg_free(&d);
    free(buf);
}
END_TEST

START_TEST(test_connect_return_refuses_eight_trailing_bytes)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_RETURN};
    m.u.connect_return.dwActiveProtocol = 2;
    m.u.connect_return.hCard.Context.cbContext = 8;
    m.u.connect_return.hCard.cbHandle = 8;
    size_t n;
    uint8_t *buf = with_extra_padding(&m, 8, &n);
    struct esc_msg d;
    struct scl_err e = {0};
    ck_assert_int_eq(esc_decode_return(SCARD_IOCTL_CONNECTW, buf, n, &d, &e), SCL_E_FORMAT);
    esc_msg_free(&d);
    free(buf);
}
END_TEST

START_TEST(test_ioctl_codes_follow_ctl_code)
{
    /* CTL_CODE(FILE_DEVICE_FILE_SYSTEM, n, METHOD_BUFFERED, FILE_ANY_ACCESS). */
    static const struct {
        uint32_t code;
        unsigned n;
    } want[] = {{SCARD_IOCTL_ESTABLISHCONTEXT, 5},    {SCARD_IOCTL_LISTREADERSW, 11},
                {SCARD_IOCTL_GETSTATUSCHANGEW, 41},   {SCARD_IOCTL_TRANSMIT, 52},
                {SCARD_IOCTL_RELEASETARTEDEVENT, 57}, {SCARD_IOCTL_GETDEVICETYPEID, 66}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_uint_eq(want[i].code, 0x00090000u | want[i].n << 2);
    ck_assert_uint_eq(esc_ioctl_count, 25);
    ck_assert_str_eq(esc_ioctl_name(0x000900D0), "Transmit");
    ck_assert_str_eq(esc_ioctl_name(0x12345678), "Unknown");
}
END_TEST

/* ---- trace ------------------------------------------------------------------------------- */

START_TEST(test_trace_of_transmit_call_shows_apdu_hex)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_CALL};
    uint8_t apdu[5] = {0x00, 0xA4, 0x04, 0x00, 0x00};
    m.u.transmit_call.hCard = esc_sample_handle();
    m.u.transmit_call.ioSendPci.dwProtocol = 2;
    m.u.transmit_call.cbSendLength = 5;
    m.u.transmit_call.pbSendBuffer = apdu;
    m.u.transmit_call.cbRecvLength = 258;
    char *s = esc_trace_json(&m);
    ck_assert_ptr_nonnull(s);
    cJSON *o = cJSON_Parse(s);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "ioctl")->valuestring, "Transmit");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "code")->valuestring, "0x000900D0");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "dir")->valuestring, "call");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "pbSendBuffer")->valuestring, "00a4040000");
    ck_assert_int_eq(cJSON_GetObjectItem(o, "cbSendLength")->valueint, 5);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "cbRecvLength")->valueint, 258);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "pioRecvPci")));
    cJSON *pci = cJSON_GetObjectItem(o, "ioSendPci");
    ck_assert_int_eq(cJSON_GetObjectItem(pci, "dwProtocol")->valueint, 2);
    cJSON *h = cJSON_GetObjectItem(o, "hCard");
    ck_assert_str_eq(cJSON_GetObjectItem(h, "pbHandle")->valuestring, "a0a1a2a3a4a5a6a7");
    ck_assert_ptr_null(strchr(s, '\n'));
    cJSON_Delete(o);
    free(s);
}
END_TEST

START_TEST(test_trace_of_connect_call_shows_reader_and_modes)
{
    size_t len;
    uint8_t *buf;
    struct esc_msg m = {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_CALL};
    m.u.connect_call.Context = esc_sample_context();
    m.u.connect_call.szReader = "Lecteur \xc3\xa9";
    m.u.connect_call.dwShareMode = 2;
    m.u.connect_call.dwPreferredProtocols = 3;
    ck_assert_int_eq(esc_encode_call(&m, &buf, &len, NULL), SCL_OK);
    struct esc_msg d;
    ck_assert_int_eq(esc_decode_call(SCARD_IOCTL_CONNECTW, buf, len, &d, NULL), SCL_OK);
    char *s = esc_trace_json(&d);
    cJSON *o = cJSON_Parse(s);
    ck_assert_str_eq(cJSON_GetObjectItem(o, "ioctl")->valuestring, "ConnectW");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "type")->valuestring, "ConnectW_Call");
    ck_assert_str_eq(cJSON_GetObjectItem(o, "szReader")->valuestring, "Lecteur \xc3\xa9");
    ck_assert_int_eq(cJSON_GetObjectItem(o, "dwShareMode")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "dwPreferredProtocols")->valueint, 3);
    cJSON *ctx = cJSON_GetObjectItem(o, "Context");
    ck_assert_int_eq(cJSON_GetObjectItem(ctx, "cbContext")->valueint, 8);
    ck_assert_str_eq(cJSON_GetObjectItem(ctx, "pbContext")->valuestring, "0102030405060708");
    cJSON_Delete(o);
    free(s);
    esc_msg_free(&d);
    free(buf);
}
END_TEST

static Suite *esc_suite(void)
{
    Suite *s = suite_create("rdpesc");
    TCase *rt = tcase_create("round_trip");
    tcase_add_loop_test(rt, test_every_call_round_trips, 0, (int)esc_ioctl_count);
    tcase_add_loop_test(rt, test_every_return_round_trips, 0, (int)esc_ioctl_count);
    tcase_add_loop_test(rt, test_every_call_refuses_every_truncation, 0, (int)esc_ioctl_count);
    tcase_add_loop_test(rt, test_every_return_refuses_every_truncation, 0, (int)esc_ioctl_count);
    tcase_add_test(rt, test_empty_optional_parts_round_trip);
    suite_add_tcase(s, rt);
    TCase *v = tcase_create("vectors");
    tcase_add_test(v, test_establish_context_return_bytes);
    tcase_add_test(v, test_connect_call_bytes);
    tcase_add_test(v, test_transmit_call_with_5_byte_apdu_bytes);
    tcase_add_test(v, test_get_status_change_call_with_two_readers_bytes);
    tcase_add_test(v, test_list_readers_return_bytes);
    tcase_add_test(v, test_access_started_event_has_no_ndr_headers);
    tcase_add_test(v, test_ioctl_codes_follow_ctl_code);
    suite_add_tcase(s, v);
    TCase *h = tcase_create("hostile");
    tcase_add_test(h, test_connect_call_names_bad_max_count_and_offset);
    tcase_add_test(h, test_out_of_order_referent_id_is_refused);
    tcase_add_test(h, test_twelve_readers_are_refused);
    tcase_add_test(h, test_oversized_send_length_is_refused);
    tcase_add_test(h, test_wrong_object_length_and_filler_are_refused);
    tcase_add_test(h, test_bytes_beyond_the_padding_are_refused);
    tcase_add_test(h, test_unpaired_surrogate_in_reader_name_is_refused);
    tcase_add_test(h, test_odd_multi_string_length_is_refused);
    tcase_add_test(h, test_invalid_utf8_is_not_encoded);
    tcase_add_test(h, test_failed_return_may_be_just_the_return_code);
    tcase_add_test(h, test_get_status_change_return_accepts_freerdp_count_padding);
    tcase_add_test(h, test_connect_return_refuses_eight_trailing_bytes);
    suite_add_tcase(s, h);
    TCase *t = tcase_create("trace");
    tcase_add_test(t, test_trace_of_transmit_call_shows_apdu_hex);
    tcase_add_test(t, test_trace_of_connect_call_shows_reader_and_modes);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(esc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
