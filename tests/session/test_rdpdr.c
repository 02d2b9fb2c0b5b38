/*
 * test_rdpdr.c - the session host's rdpdr server end: the PDU codec (round
 * trips, FreeRDP's quirks, malformed PDUs) and the channel (handshake order,
 * de-duplication, fEnableSmartCard=0, CompletionId correlation, close).
 * Not for the transport: a fake writer captures what the host would send.
 */
#include "rdpdr.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------------- */

static size_t enc(const struct rdpdr_pdu *p, uint8_t *buf, size_t cap)
{
    struct wcur w;
    struct scl_err e;
    wcur_init_fixed(&w, buf, cap);
    ck_assert_int_eq(rdpdr_pdu_encode(p, &w, &e), SCL_OK);
    return wcur_len(&w);
}

/* A FreeRDP 2.11 Client Name Request: Unicode, terminator counted twice. */
static size_t freerdp_client_name(uint8_t *buf, size_t cap)
{
    struct wcur w;
    wcur_init_fixed(&w, buf, cap);
    wcur_u16le(&w, RDPDR_CTYP_CORE);
    wcur_u16le(&w, PAKID_CORE_CLIENT_NAME);
    wcur_u32le(&w, 1);
    wcur_u32le(&w, 0);
    wcur_u32le(&w, 8); /* "vm" + NUL (6 bytes) + another NUL */
    wcur_bytes(&w, "v\0m\0\0\0\0\0", 8);
    return wcur_len(&w);
}

static size_t scard_device_list(uint8_t *buf, size_t cap, uint32_t id)
{
    struct rdpdr_pdu p = {.type = RDPDR_PDU_DEVICELIST_ANNOUNCE};
    p.u.device_list.DeviceCount = 1;
    p.u.device_list.devices[0].DeviceType = RDPDR_DTYP_SMARTCARD;
    p.u.device_list.devices[0].DeviceId = id;
    strcpy(p.u.device_list.devices[0].PreferredDosName, "SCARD");
    p.u.device_list.devices[0].DeviceDataLength = 6;
    p.u.device_list.devices[0].DeviceData = (const uint8_t *)"SCARD";
    return enc(&p, buf, cap);
}

/* ---- codec ------------------------------------------------------------------------- */

START_TEST(test_server_announce_bytes_are_exact)
{
    static const uint8_t want[] = {0x72, 0x44, 0x6E, 0x49, 0x01, 0x00,
                                   0x0C, 0x00, 0x07, 0x00, 0x00, 0x00};
    struct rdpdr_pdu p = {.type = RDPDR_PDU_SERVER_ANNOUNCE};
    uint8_t buf[64];
    p.u.announce.VersionMajor = 1;
    p.u.announce.VersionMinor = 0x0C;
    p.u.announce.ClientId = 7;
    ck_assert_uint_eq(enc(&p, buf, sizeof buf), sizeof want);
    ck_assert_mem_eq(buf, want, sizeof want);
}
END_TEST

START_TEST(test_every_pdu_round_trips)
{
    struct rdpdr_pdu in[8];
    size_t n = 0;
    memset(in, 0, sizeof in);
    in[n].type = RDPDR_PDU_CLIENTID_CONFIRM;
    in[n++].u.announce = (struct rdpdr_announce){1, 0x0C, 42};
    in[n].type = RDPDR_PDU_CLIENT_NAME;
    in[n].u.client_name.UnicodeFlag = 1;
    strcpy(in[n++].u.client_name.ComputerName, "client-\xc3\xa9");
    in[n].type = RDPDR_PDU_SERVER_CAPABILITY;
    in[n].u.caps.numCapabilities = 2;
    in[n].u.caps.caps[0].CapabilityType = CAP_GENERAL_TYPE;
    in[n].u.caps.caps[0].Version = GENERAL_CAPABILITY_VERSION_02;
    in[n].u.caps.caps[0].general.extendedPDU = 7;
    in[n].u.caps.caps[0].general.SpecialTypeDeviceCap = 3;
    in[n].u.caps.caps[1].CapabilityType = CAP_SMARTCARD_TYPE;
    in[n++].u.caps.caps[1].Version = 1;
    in[n].type = RDPDR_PDU_DEVICE_REPLY;
    in[n++].u.device_reply = (struct rdpdr_device_reply){3, RDPDR_STATUS_UNSUCCESSFUL};
    in[n].type = RDPDR_PDU_DEVICELIST_REMOVE;
    in[n].u.device_remove.DeviceCount = 2;
    in[n].u.device_remove.DeviceIds[0] = 1;
    in[n++].u.device_remove.DeviceIds[1] = 9;
    in[n++].type = RDPDR_PDU_USER_LOGGEDON;
    in[n].type = RDPDR_PDU_DEVICE_IOREQUEST;
    in[n].u.control_req.DeviceId = 1;
    in[n].u.control_req.CompletionId = 77;
    in[n].u.control_req.MajorFunction = IRP_MJ_DEVICE_CONTROL;
    in[n].u.control_req.IoControlCode = SCARD_IOCTL_TRANSMIT;
    in[n].u.control_req.InputBufferLength = 3;
    in[n++].u.control_req.InputBuffer = (const uint8_t *)"abc";
    in[n].type = RDPDR_PDU_DEVICE_IOCOMPLETION;
    in[n].u.io_completion.CompletionId = 77;
    in[n].u.io_completion.has_output = true;
    in[n].u.io_completion.OutputBufferLength = 2;
    in[n++].u.io_completion.OutputBuffer = (const uint8_t *)"xy";
    for (size_t i = 0; i < n; i++) {
        uint8_t a[512], b[512];
        struct rdpdr_pdu out;
        struct scl_err e;
        size_t la = enc(&in[i], a, sizeof a);
        ck_assert_msg(rdpdr_pdu_decode(a, la, &out, &e) == SCL_OK, "%s: %s",
                      rdpdr_pdu_name(in[i].type), e.msg);
        ck_assert_int_eq(out.type, in[i].type);
        size_t lb = enc(&out, b, sizeof b);
        ck_assert_uint_eq(la, lb);
        ck_assert_mem_eq(a, b, la);
    }
}
END_TEST

START_TEST(test_client_name_with_double_nul_decodes)
{
    uint8_t buf[64];
    struct rdpdr_pdu p;
    struct scl_err e;
    size_t n = freerdp_client_name(buf, sizeof buf);
    ck_assert_int_eq(rdpdr_pdu_decode(buf, n, &p, &e), SCL_OK);
    ck_assert_str_eq(p.u.client_name.ComputerName, "vm");
}
END_TEST

START_TEST(test_every_prefix_of_device_list_is_refused)
{
    uint8_t buf[128];
    size_t n = scard_device_list(buf, sizeof buf, 1);
    for (size_t i = 0; i < n; i++) {
        struct rdpdr_pdu p;
        struct scl_err e;
        ck_assert_int_ne(rdpdr_pdu_decode(buf, i, &p, &e), SCL_OK);
    }
}
END_TEST

START_TEST(test_unknown_packet_id_names_it)
{
    static const uint8_t pdu[] = {0x72, 0x44, 0x34, 0x12};
    struct rdpdr_pdu p;
    struct scl_err e;
    ck_assert_int_eq(rdpdr_pdu_decode(pdu, sizeof pdu, &p, &e), SCL_E_FORMAT);
    ck_assert_str_eq(e.msg, "rdpdr: unknown Component 0x4472 PacketId 0x1234 at offset 0");
}
END_TEST

START_TEST(test_device_count_over_32_is_refused)
{
    uint8_t buf[16] = {0x72, 0x44, 0x41, 0x44, 33, 0, 0, 0};
    struct rdpdr_pdu p;
    struct scl_err e;
    ck_assert_int_eq(rdpdr_pdu_decode(buf, 8, &p, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "DeviceCount"));
}
END_TEST

START_TEST(test_capability_length_below_header_is_refused)
{
    static const uint8_t pdu[] = {0x72, 0x44, 0x50, 0x43, 1, 0, 0, 0, 0x05, 0, 4, 0, 1, 0, 0, 0};
    struct rdpdr_pdu p;
    struct scl_err e;
    ck_assert_int_eq(rdpdr_pdu_decode(pdu, sizeof pdu, &p, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "CapabilityLength"));
}
END_TEST

START_TEST(test_general_capset_of_wrong_length_is_refused)
{
    struct rdpdr_pdu p = {.type = RDPDR_PDU_CLIENT_CAPABILITY}, out;
    uint8_t buf[128];
    struct scl_err e;
    p.u.caps.numCapabilities = 1;
    p.u.caps.caps[0].CapabilityType = CAP_GENERAL_TYPE;
    p.u.caps.caps[0].Version = GENERAL_CAPABILITY_VERSION_02;
    size_t n = enc(&p, buf, sizeof buf);
    buf[10] = (uint8_t)(buf[10] + 4); /* CapabilityLength 48: 4 bytes more than there are */
    ck_assert_int_ne(rdpdr_pdu_decode(buf, n, &out, &e), SCL_OK);
    buf[10] = (uint8_t)(buf[10] - 8); /* 40: body 32, but version 2 needs 36 */
    ck_assert_int_eq(rdpdr_pdu_decode(buf, n, &out, &e), SCL_E_FORMAT);
}
END_TEST

START_TEST(test_refused_irp_completion_without_output_decodes)
{
    /* FreeRDP's completion of an IRP it could not decode: 16 bytes. */
    static const uint8_t pdu[] = {0x72, 0x44, 0x43, 0x49, 1,    0,    0,    0,
                                  5,    0,    0,    0,    0x01, 0x00, 0x00, 0xC0};
    struct rdpdr_pdu p;
    struct scl_err e;
    ck_assert_int_eq(rdpdr_pdu_decode(pdu, sizeof pdu, &p, &e), SCL_OK);
    ck_assert(!p.u.io_completion.has_output);
    ck_assert_uint_eq(p.u.io_completion.IoStatus, RDPDR_STATUS_UNSUCCESSFUL);
    ck_assert_uint_eq(p.u.io_completion.CompletionId, 5);
}
END_TEST

START_TEST(test_output_buffer_longer_than_pdu_is_refused)
{
    static const uint8_t pdu[] = {0x72, 0x44, 0x43, 0x49, 1, 0, 0, 0, 5, 0,  0,
                                  0,    0,    0,    0,    0, 9, 0, 0, 0, 'a'};
    struct rdpdr_pdu p;
    struct scl_err e;
    ck_assert_int_eq(rdpdr_pdu_decode(pdu, sizeof pdu, &p, &e), SCL_E_TRUNCATED);
}
END_TEST

/* ---- channel ----------------------------------------------------------------------- */

struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t pdus[16][4096];
    size_t lens[16];
    size_t n;
    unsigned ready_calls;
};

static bool fake_write(void *ctx, const uint8_t *p, size_t n)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    ck_assert_uint_lt(f->n, 16);
    ck_assert_uint_le(n, sizeof f->pdus[0]);
    memcpy(f->pdus[f->n], p, n);
    f->lens[f->n++] = n;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return true;
}

static void fake_ready(void *ctx, uint32_t id)
{
    struct fake *f = ctx;
    (void)id;
    f->ready_calls++;
}

static struct fake fk;

static struct rdpdr_chan *fake_chan(bool enable_smartcard)
{
    memset(&fk, 0, sizeof fk);
    pthread_mutex_init(&fk.mu, NULL);
    pthread_cond_init(&fk.cv, NULL);
    struct rdpdr_chan_cb cb = {.ctx = &fk, .write = fake_write, .smartcard_ready = fake_ready};
    return rdpdr_chan_new(&cb, enable_smartcard, 7);
}

static struct rdpdr_pdu sent(size_t i)
{
    struct rdpdr_pdu p;
    struct scl_err e;
    ck_assert_uint_lt(i, fk.n);
    ck_assert_msg(rdpdr_pdu_decode(fk.pdus[i], fk.lens[i], &p, &e) == SCL_OK, "%s", e.msg);
    return p;
}

static void feed(struct rdpdr_chan *ch, const struct rdpdr_pdu *p)
{
    uint8_t buf[512];
    struct scl_err e;
    size_t n = enc(p, buf, sizeof buf);
    ck_assert_msg(rdpdr_chan_receive(ch, buf, n, &e) == SCL_OK, "%s", e.msg);
}

/* Announce .. Client Name .. Capability .. Device List, as FreeRDP does. */
static void handshake(struct rdpdr_chan *ch)
{
    struct scl_err e;
    uint8_t buf[128];
    ck_assert_int_eq(rdpdr_chan_start(ch, &e), SCL_OK);
    struct rdpdr_pdu r = {.type = RDPDR_PDU_CLIENTID_CONFIRM};
    r.u.announce = (struct rdpdr_announce){1, 0x0C, 7};
    feed(ch, &r);
    size_t n = freerdp_client_name(buf, sizeof buf);
    ck_assert_int_eq(rdpdr_chan_receive(ch, buf, n, &e), SCL_OK);
    struct rdpdr_pdu c = {.type = RDPDR_PDU_CLIENT_CAPABILITY};
    c.u.caps.numCapabilities = 1;
    c.u.caps.caps[0].CapabilityType = CAP_GENERAL_TYPE;
    c.u.caps.caps[0].Version = GENERAL_CAPABILITY_VERSION_02;
    c.u.caps.caps[0].general.extendedPDU = RDPDR_USER_LOGGEDON_PDU | RDPDR_DEVICE_REMOVE_PDUS;
    feed(ch, &c);
    n = scard_device_list(buf, sizeof buf, 1);
    ck_assert_int_eq(rdpdr_chan_receive(ch, buf, n, &e), SCL_OK);
}

START_TEST(test_handshake_sends_pdus_in_the_order_freerdp_expects)
{
    struct rdpdr_chan *ch = fake_chan(true);
    handshake(ch);
    ck_assert_uint_eq(fk.n, 5);
    ck_assert_int_eq(sent(0).type, RDPDR_PDU_SERVER_ANNOUNCE);
    struct rdpdr_pdu caps = sent(1);
    ck_assert_int_eq(caps.type, RDPDR_PDU_SERVER_CAPABILITY);
    ck_assert_uint_eq(caps.u.caps.caps[0].CapabilityLength, 44); /* General capset v2 */
    ck_assert_uint_eq(caps.u.caps.caps[1].CapabilityType, CAP_SMARTCARD_TYPE);
    ck_assert_int_eq(sent(2).type, RDPDR_PDU_CLIENTID_CONFIRM);
    ck_assert_uint_eq(sent(2).u.announce.ClientId, 7);
    struct rdpdr_pdu reply = sent(3);
    ck_assert_int_eq(reply.type, RDPDR_PDU_DEVICE_REPLY);
    ck_assert_uint_eq(reply.u.device_reply.ResultCode, RDPDR_STATUS_SUCCESS);
    ck_assert_int_eq(sent(4).type, RDPDR_PDU_USER_LOGGEDON);
    ck_assert_uint_eq(fk.ready_calls, 1);
    ck_assert(rdpdr_chan_has_smartcard(ch));
    rdpdr_chan_free(ch);
}
END_TEST

START_TEST(test_reannounced_device_is_deduplicated)
{
    struct rdpdr_chan *ch = fake_chan(true);
    struct scl_err e;
    uint8_t buf[128];
    handshake(ch);
    size_t n = scard_device_list(buf, sizeof buf, 1);
    ck_assert_int_eq(rdpdr_chan_receive(ch, buf, n, &e), SCL_OK);
    ck_assert_uint_eq(fk.ready_calls, 1);
    ck_assert_uint_eq(sent(fk.n - 1).u.device_reply.ResultCode, RDPDR_STATUS_SUCCESS);
    rdpdr_chan_free(ch);
}
END_TEST

START_TEST(test_policy_off_refuses_the_smartcard_device)
{
    struct rdpdr_chan *ch = fake_chan(false);
    handshake(ch);
    ck_assert_uint_eq(sent(3).u.device_reply.ResultCode, RDPDR_STATUS_UNSUCCESSFUL);
    ck_assert_uint_eq(fk.ready_calls, 0);
    ck_assert(!rdpdr_chan_has_smartcard(ch));
    struct esc_msg call = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT}, ret;
    struct scl_err e;
    ck_assert_int_eq(rdpdr_chan_call(ch, &call, &ret, &e), SCL_E_STATE);
    rdpdr_chan_free(ch);
}
END_TEST

START_TEST(test_device_list_before_client_name_is_a_protocol_error)
{
    struct rdpdr_chan *ch = fake_chan(true);
    struct scl_err e;
    uint8_t buf[128];
    ck_assert_int_eq(rdpdr_chan_start(ch, &e), SCL_OK);
    size_t n = scard_device_list(buf, sizeof buf, 1);
    ck_assert_int_eq(rdpdr_chan_receive(ch, buf, n, &e), SCL_E_STATE);
    ck_assert_ptr_nonnull(strstr(e.msg, "PAKID_CORE_DEVICELIST_ANNOUNCE"));
    rdpdr_chan_free(ch);
}
END_TEST

START_TEST(test_client_sending_a_server_pdu_is_dropped)
{
    struct rdpdr_chan *ch = fake_chan(true);
    struct rdpdr_pdu p = {.type = RDPDR_PDU_SERVER_ANNOUNCE};
    uint8_t buf[64];
    struct scl_err e;
    size_t n = enc(&p, buf, sizeof buf);
    ck_assert_int_eq(rdpdr_chan_receive(ch, buf, n, &e), SCL_E_FORMAT);
    rdpdr_chan_free(ch);
}
END_TEST

struct call_arg {
    struct rdpdr_chan *ch;
    int rc;
    struct esc_msg ret;
    struct scl_err e;
};

static void *call_thread(void *arg)
{
    struct call_arg *a = arg;
    struct esc_msg call = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT};
    call.u.establish_context_call.dwScope = 2;
    a->rc = rdpdr_chan_call(a->ch, &call, &a->ret, &a->e);
    return NULL;
}

/* Wait for the IRP the call thread sent; returns its decoded request. */
static struct rdpdr_pdu wait_irp(size_t index)
{
    pthread_mutex_lock(&fk.mu);
    while (fk.n <= index)
        pthread_cond_wait(&fk.cv, &fk.mu);
    pthread_mutex_unlock(&fk.mu);
    struct rdpdr_pdu p = sent(index);
    ck_assert_int_eq(p.type, RDPDR_PDU_DEVICE_IOREQUEST);
    return p;
}

START_TEST(test_call_is_answered_by_its_completion_id)
{
    struct rdpdr_chan *ch = fake_chan(true);
    handshake(ch);
    struct call_arg a = {.ch = ch}, b = {.ch = ch};
    pthread_t ta, tb;
    size_t base = fk.n;
    pthread_create(&ta, NULL, call_thread, &a);
    struct rdpdr_pdu ra = wait_irp(base);
    pthread_create(&tb, NULL, call_thread, &b);
    struct rdpdr_pdu rb = wait_irp(base + 1);
    ck_assert_uint_ne(ra.u.control_req.CompletionId, rb.u.control_req.CompletionId);
    ck_assert_uint_eq(ra.u.control_req.IoControlCode, SCARD_IOCTL_ESTABLISHCONTEXT);
    ck_assert_uint_eq(ra.u.control_req.DeviceId, 1);

    /* Answer the second call first, each with its own context bytes. */
    struct rdpdr_pdu *order[2] = {&rb, &ra};
    for (int i = 0; i < 2; i++) {
        struct esc_msg r = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT,
                            .type = ESC_T_ESTABLISH_CONTEXT_RETURN};
        uint8_t *out;
        size_t outlen;
        struct scl_err e;
        r.u.establish_context_return.Context.cbContext = 8;
        memset(r.u.establish_context_return.Context.pbContext, order[i] == &ra ? 0xAA : 0xBB, 8);
        ck_assert_int_eq(esc_encode_return(&r, &out, &outlen, &e), SCL_OK);
        struct rdpdr_pdu c = {.type = RDPDR_PDU_DEVICE_IOCOMPLETION};
        c.u.io_completion.DeviceId = 1;
        c.u.io_completion.CompletionId = order[i]->u.control_req.CompletionId;
        c.u.io_completion.has_output = true;
        c.u.io_completion.OutputBufferLength = (uint32_t)outlen;
        c.u.io_completion.OutputBuffer = out;
        feed(ch, &c);
        free(out);
    }
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ck_assert_msg(a.rc == SCL_OK, "%s", a.e.msg);
    ck_assert_int_eq(b.rc, SCL_OK);
    ck_assert_uint_eq(a.ret.u.establish_context_return.Context.pbContext[0], 0xAA);
    ck_assert_uint_eq(b.ret.u.establish_context_return.Context.pbContext[0], 0xBB);
    esc_msg_free(&a.ret);
    esc_msg_free(&b.ret);
    rdpdr_chan_free(ch);
}
END_TEST

START_TEST(test_completion_for_unknown_id_is_a_protocol_error)
{
    struct rdpdr_chan *ch = fake_chan(true);
    handshake(ch);
    struct rdpdr_pdu c = {.type = RDPDR_PDU_DEVICE_IOCOMPLETION};
    uint8_t buf[64];
    struct scl_err e;
    c.u.io_completion.CompletionId = 999;
    size_t n = enc(&c, buf, sizeof buf);
    ck_assert_int_eq(rdpdr_chan_receive(ch, buf, n, &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "CompletionId 999"));
    rdpdr_chan_free(ch);
}
END_TEST

START_TEST(test_refused_irp_fails_the_call_with_its_iostatus)
{
    struct rdpdr_chan *ch = fake_chan(true);
    handshake(ch);
    struct call_arg a = {.ch = ch};
    pthread_t t;
    size_t base = fk.n;
    pthread_create(&t, NULL, call_thread, &a);
    struct rdpdr_pdu r = wait_irp(base);
    struct rdpdr_pdu c = {.type = RDPDR_PDU_DEVICE_IOCOMPLETION};
    c.u.io_completion.CompletionId = r.u.control_req.CompletionId;
    c.u.io_completion.IoStatus = RDPDR_STATUS_UNSUCCESSFUL;
    feed(ch, &c);
    pthread_join(t, NULL);
    ck_assert_int_eq(a.rc, SCL_E_PCSC);
    ck_assert_ptr_nonnull(strstr(a.e.msg, "0xC0000001"));
    rdpdr_chan_free(ch);
}
END_TEST

START_TEST(test_close_wakes_a_waiting_call)
{
    struct rdpdr_chan *ch = fake_chan(true);
    handshake(ch);
    struct call_arg a = {.ch = ch};
    pthread_t t;
    size_t base = fk.n;
    pthread_create(&t, NULL, call_thread, &a);
    wait_irp(base);
    rdpdr_chan_close(ch);
    pthread_join(t, NULL);
    ck_assert_int_eq(a.rc, SCL_E_STATE);
    rdpdr_chan_free(ch);
}
END_TEST

static Suite *rdpdr_suite(void)
{
    Suite *s = suite_create("rdpdr");
    TCase *c = tcase_create("codec");
    tcase_add_test(c, test_server_announce_bytes_are_exact);
    tcase_add_test(c, test_every_pdu_round_trips);
    tcase_add_test(c, test_client_name_with_double_nul_decodes);
    tcase_add_test(c, test_every_prefix_of_device_list_is_refused);
    tcase_add_test(c, test_unknown_packet_id_names_it);
    tcase_add_test(c, test_device_count_over_32_is_refused);
    tcase_add_test(c, test_capability_length_below_header_is_refused);
    tcase_add_test(c, test_general_capset_of_wrong_length_is_refused);
    tcase_add_test(c, test_refused_irp_completion_without_output_decodes);
    tcase_add_test(c, test_output_buffer_longer_than_pdu_is_refused);
    suite_add_tcase(s, c);
    TCase *h = tcase_create("channel");
    tcase_add_test(h, test_handshake_sends_pdus_in_the_order_freerdp_expects);
    tcase_add_test(h, test_reannounced_device_is_deduplicated);
    tcase_add_test(h, test_policy_off_refuses_the_smartcard_device);
    tcase_add_test(h, test_device_list_before_client_name_is_a_protocol_error);
    tcase_add_test(h, test_client_sending_a_server_pdu_is_dropped);
    tcase_add_test(h, test_call_is_answered_by_its_completion_id);
    tcase_add_test(h, test_completion_for_unknown_id_is_a_protocol_error);
    tcase_add_test(h, test_refused_irp_fails_the_call_with_its_iostatus);
    tcase_add_test(h, test_close_wakes_a_waiting_call);
    suite_add_tcase(s, h);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(rdpdr_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
