/*
 * test_rdpdr_hostile.c - a malicious RDP client against the session host's
 * rdpdr channel (session/rdpdr_chan.c), driven by bytes: bad DR_CONTROL_RSPs,
 * wrong or repeated CompletionIds, oversized OutputBufferLength, replies that
 * never come, announce floods.  Each case runs two sessions side by side and
 * checks the well-behaved one keeps working.  Not for the PDU codec's
 * vectors (tests/session/test_rdpdr.c) or the transport (host_peer.c).
 */
#include "rdpdr.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a fake client end: what the host wrote, and which IRPs it sent ---------- */

#define PEER_MAX_IRPS 256

struct peer {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t writes;
    uint32_t irp_ids[PEER_MAX_IRPS];
    size_t n_irps;
    uint32_t last_result; /* ResultCode of the last DR_CORE_DEVICE_ANNOUNCE_RSP */
    size_t refused_devices;
    unsigned ready_calls;
    bool write_fails;
};

static bool peer_write(void *ctx, const uint8_t *b, size_t n)
{
    struct peer *pe = ctx;
    struct rdpdr_pdu p;
    struct scl_err e;
    ck_assert_msg(rdpdr_pdu_decode(b, n, &p, &e) == SCL_OK, "host sent a bad PDU: %s", e.msg);
    pthread_mutex_lock(&pe->mu);
    pe->writes++;
    if (p.type == RDPDR_PDU_DEVICE_IOREQUEST) {
        ck_assert_uint_lt(pe->n_irps, PEER_MAX_IRPS);
        pe->irp_ids[pe->n_irps++] = p.u.control_req.CompletionId;
    } else if (p.type == RDPDR_PDU_DEVICE_REPLY) {
        pe->last_result = p.u.device_reply.ResultCode;
        pe->refused_devices += p.u.device_reply.ResultCode != RDPDR_STATUS_SUCCESS;
    }
    bool ok = !pe->write_fails;
    pthread_cond_broadcast(&pe->cv);
    pthread_mutex_unlock(&pe->mu);
    return ok;
}

static void peer_ready(void *ctx, uint32_t id)
{
    struct peer *pe = ctx;
    (void)id;
    pe->ready_calls++;
}

static struct rdpdr_chan *peer_chan(struct peer *pe)
{
    memset(pe, 0, sizeof *pe);
    pthread_mutex_init(&pe->mu, NULL);
    pthread_cond_init(&pe->cv, NULL);
    struct rdpdr_chan_cb cb = {.ctx = pe, .write = peer_write, .smartcard_ready = peer_ready};
    return rdpdr_chan_new(&cb, true, 7);
}

static uint32_t peer_wait_irp(struct peer *pe, size_t index)
{
    pthread_mutex_lock(&pe->mu);
    while (pe->n_irps <= index)
        pthread_cond_wait(&pe->cv, &pe->mu);
    uint32_t id = pe->irp_ids[index];
    pthread_mutex_unlock(&pe->mu);
    return id;
}

static int feed_raw(struct rdpdr_chan *ch, const uint8_t *b, size_t n, struct scl_err *e)
{
    return rdpdr_chan_receive(ch, b, n, e);
}

static void feed_ok(struct rdpdr_chan *ch, const struct rdpdr_pdu *p)
{
    struct wcur w;
    struct scl_err e;
    wcur_init_dyn(&w);
    ck_assert_int_eq(rdpdr_pdu_encode(p, &w, &e), SCL_OK);
    ck_assert_msg(feed_raw(ch, wcur_data(&w), wcur_len(&w), &e) == SCL_OK, "%s", e.msg);
    wcur_free(&w);
}

/* A device list of `count` devices with ids first.. (all smart cards). */
static size_t device_list(struct wcur *w, uint32_t first, uint32_t count)
{
    struct rdpdr_pdu p = {.type = RDPDR_PDU_DEVICELIST_ANNOUNCE};
    struct scl_err e;
    p.u.device_list.DeviceCount = count;
    for (uint32_t i = 0; i < count; i++) {
        struct rdpdr_device *d = &p.u.device_list.devices[i];
        d->DeviceType = RDPDR_DTYP_SMARTCARD;
        d->DeviceId = first + i;
        strcpy(d->PreferredDosName, "SCARD");
    }
    ck_assert_int_eq(rdpdr_pdu_encode(&p, w, &e), SCL_OK);
    return wcur_len(w);
}

static void handshake(struct rdpdr_chan *ch)
{
    struct scl_err e;
    ck_assert_int_eq(rdpdr_chan_start(ch, &e), SCL_OK);
    struct rdpdr_pdu r = {.type = RDPDR_PDU_CLIENTID_CONFIRM};
    r.u.announce = (struct rdpdr_announce){1, 0x0C, 7};
    feed_ok(ch, &r);
    struct rdpdr_pdu n = {.type = RDPDR_PDU_CLIENT_NAME};
    n.u.client_name.UnicodeFlag = 1;
    strcpy(n.u.client_name.ComputerName, "hostile");
    feed_ok(ch, &n);
    struct rdpdr_pdu c = {.type = RDPDR_PDU_CLIENT_CAPABILITY};
    c.u.caps.numCapabilities = 1;
    c.u.caps.caps[0].CapabilityType = CAP_GENERAL_TYPE;
    c.u.caps.caps[0].Version = GENERAL_CAPABILITY_VERSION_02;
    c.u.caps.caps[0].general.extendedPDU = RDPDR_USER_LOGGEDON_PDU | RDPDR_DEVICE_REMOVE_PDUS;
    feed_ok(ch, &c);
    struct wcur w;
    wcur_init_dyn(&w);
    device_list(&w, 1, 1);
    ck_assert_int_eq(feed_raw(ch, wcur_data(&w), wcur_len(&w), &e), SCL_OK);
    wcur_free(&w);
}

/* DR_DEVICE_IOCOMPLETION + DR_CONTROL_RSP with whatever lengths the caller
 * claims: OutputBufferLength and the bytes present need not agree. */
static void completion(struct wcur *w, uint32_t CompletionId, uint32_t IoStatus,
                       uint32_t OutputBufferLength, const uint8_t *out, size_t outlen)
{
    wcur_u16le(w, RDPDR_CTYP_CORE);
    wcur_u16le(w, PAKID_CORE_DEVICE_IOCOMPLETION);
    wcur_u32le(w, 1);
    wcur_u32le(w, CompletionId);
    wcur_u32le(w, IoStatus);
    wcur_u32le(w, OutputBufferLength);
    if (outlen)
        wcur_bytes(w, out, outlen);
}

/* A well-formed EstablishContext return for CompletionId, marked with tag. */
static void good_completion(struct wcur *w, uint32_t CompletionId, uint8_t tag)
{
    struct esc_msg r = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT,
                        .type = ESC_T_ESTABLISH_CONTEXT_RETURN};
    uint8_t *out;
    size_t outlen;
    struct scl_err e;
    r.u.establish_context_return.Context.cbContext = 8;
    memset(r.u.establish_context_return.Context.pbContext, tag, 8);
    ck_assert_int_eq(esc_encode_return(&r, &out, &outlen, &e), SCL_OK);
    completion(w, CompletionId, RDPDR_STATUS_SUCCESS, (uint32_t)outlen, out, outlen);
    free(out);
}

struct call {
    struct rdpdr_chan *ch;
    pthread_t t;
    int rc;
    struct esc_msg ret;
    struct scl_err e;
};

static void *call_thread(void *arg)
{
    struct call *c = arg;
    struct esc_msg m = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT};
    m.u.establish_context_call.dwScope = 2;
    c->rc = rdpdr_chan_call(c->ch, &m, &c->ret, &c->e);
    return NULL;
}

static void call_start(struct call *c, struct rdpdr_chan *ch)
{
    memset(c, 0, sizeof *c);
    c->ch = ch;
    ck_assert_int_eq(pthread_create(&c->t, NULL, call_thread, c), 0);
}

static int call_join(struct call *c)
{
    pthread_join(c->t, NULL);
    esc_msg_free(&c->ret);
    return c->rc;
}

/* A good completion of id the channel takes. */
static void feed_good(struct rdpdr_chan *ch, uint32_t id, uint8_t tag)
{
    struct wcur w;
    struct scl_err e;
    wcur_init_dyn(&w);
    good_completion(&w, id, tag);
    ck_assert_msg(feed_raw(ch, wcur_data(&w), wcur_len(&w), &e) == SCL_OK, "%s", e.msg);
    wcur_free(&w);
}

/* The other session: one call answered normally, its context intact. */
static void assert_session_works(struct rdpdr_chan *ch, struct peer *pe, uint8_t tag)
{
    struct call c;
    size_t base = pe->n_irps;
    call_start(&c, ch);
    feed_good(ch, peer_wait_irp(pe, base), tag);
    pthread_join(c.t, NULL);
    ck_assert_msg(c.rc == SCL_OK, "%s", c.e.msg);
    ck_assert_uint_eq(c.ret.u.establish_context_return.Context.pbContext[0], tag);
    esc_msg_free(&c.ret);
}

/* The client removes smart-card device 1. */
static void remove_device_1(struct rdpdr_chan *ch)
{
    struct rdpdr_pdu r = {.type = RDPDR_PDU_DEVICELIST_REMOVE};
    r.u.device_remove.DeviceCount = 1;
    r.u.device_remove.DeviceIds[0] = 1;
    feed_ok(ch, &r);
}

/* ---- cases ------------------------------------------------------------------------ */

static struct peer pa, pb;

/* Session a (peer pa) after the handshake, with one call sent: the IRP's
 * CompletionId in *id, the call waiting in c. */
static struct rdpdr_chan *chan_with_one_call(struct call *c, uint32_t *id)
{
    struct rdpdr_chan *a = peer_chan(&pa);
    handshake(a);
    call_start(c, a);
    *id = peer_wait_irp(&pa, 0);
    return a;
}


START_TEST(test_control_rsp_longer_than_its_pdu_drops_only_that_session)
{
    struct rdpdr_chan *a = peer_chan(&pa), *b = peer_chan(&pb);
    handshake(a);
    handshake(b);
    struct call c;
    call_start(&c, a);
    uint32_t id = peer_wait_irp(&pa, 0);
    struct wcur w;
    struct scl_err e;
    wcur_init_dyn(&w);
    completion(&w, id, RDPDR_STATUS_SUCCESS, 4096, (const uint8_t *)"abc", 3);
    ck_assert_int_ne(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_OK);
    wcur_free(&w);
    rdpdr_chan_close(a); /* what host_peer does on a receive error */
    ck_assert_int_eq(call_join(&c), SCL_E_STATE);
    assert_session_works(b, &pb, 0xB1);
    rdpdr_chan_free(a);
    rdpdr_chan_free(b);
}
END_TEST

START_TEST(test_every_truncation_of_a_control_rsp_is_refused)
{
    struct call c;
    uint32_t id;
    struct rdpdr_chan *a = chan_with_one_call(&c, &id);
    struct wcur w;
    struct scl_err e;
    wcur_init_dyn(&w);
    good_completion(&w, id, 0xA1);
    /* 16 bytes is FreeRDP's refused-IRP form (no OutputBufferLength): skip it. */
    for (size_t n = 0; n < wcur_len(&w); n++)
        if (n != 16)
            ck_assert_msg(feed_raw(a, wcur_data(&w), n, &e) != SCL_OK, "prefix %zu accepted", n);
    /* Nothing above completed the IRP: the whole PDU still does. */
    ck_assert_msg(feed_raw(a, wcur_data(&w), wcur_len(&w), &e) == SCL_OK, "%s", e.msg);
    wcur_free(&w);
    ck_assert_int_eq(call_join(&c), SCL_OK);
    rdpdr_chan_free(a);
}
END_TEST

START_TEST(test_wrong_completion_id_neither_completes_nor_disturbs_calls)
{
    struct rdpdr_chan *a = peer_chan(&pa), *b = peer_chan(&pb);
    handshake(a);
    handshake(b);
    struct call ca, cb;
    call_start(&ca, a);
    call_start(&cb, b);
    uint32_t ida = peer_wait_irp(&pa, 0);
    uint32_t idb = peer_wait_irp(&pb, 0);
    struct wcur w;
    struct scl_err e;
    /* Session A answers with B's id (+1000): it matches nothing in A. */
    wcur_init_dyn(&w);
    good_completion(&w, ida + idb + 1000, 0xEE);
    ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "matches no open IRP"));
    wcur_free(&w);
    /* Both calls still wait for their own answer. */
    feed_good(b, idb, 0xB2);
    pthread_join(cb.t, NULL);
    ck_assert_int_eq(cb.rc, SCL_OK);
    ck_assert_uint_eq(cb.ret.u.establish_context_return.Context.pbContext[0], 0xB2);
    esc_msg_free(&cb.ret);
    rdpdr_chan_close(a);
    ck_assert_int_eq(call_join(&ca), SCL_E_STATE);
    rdpdr_chan_free(a);
    rdpdr_chan_free(b);
}
END_TEST

START_TEST(test_second_completion_for_the_same_id_is_refused)
{
    struct call c;
    uint32_t id;
    struct rdpdr_chan *a = chan_with_one_call(&c, &id);
    struct wcur w;
    struct scl_err e;
    wcur_init_dyn(&w);
    good_completion(&w, id, 0xA2);
    ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_OK);
    ck_assert_int_eq(call_join(&c), SCL_OK);
    ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_E_FORMAT);
    wcur_free(&w);
    rdpdr_chan_free(a);
}
END_TEST

START_TEST(test_oversized_output_buffer_fails_the_call_not_the_host)
{
    struct rdpdr_chan *a = peer_chan(&pa);
    handshake(a);
    /* 512 KiB of 'A' claimed and present (under RDPDR_MAX_PDU): the channel
     * takes it; the MS-RDPESC return decoder must refuse it. */
    size_t big = 512u * 1024u;
    uint8_t *junk = malloc(big);
    memset(junk, 'A', big);
    struct call c;
    call_start(&c, a);
    uint32_t id = peer_wait_irp(&pa, 0);
    struct wcur w;
    struct scl_err e;
    wcur_init_dyn(&w);
    completion(&w, id, RDPDR_STATUS_SUCCESS, (uint32_t)big, junk, big);
    ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_OK);
    wcur_free(&w);
    ck_assert_int_ne(call_join(&c), SCL_OK);
    ck_assert_int_ne(c.rc, SCL_E_STATE);
    /* 0xFFFFFFFF claimed, 3 bytes present: refused at the PDU. */
    call_start(&c, a);
    id = peer_wait_irp(&pa, 1);
    wcur_init_dyn(&w);
    completion(&w, id, RDPDR_STATUS_SUCCESS, 0xFFFFFFFFu, junk, 3);
    ck_assert_int_ne(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_OK);
    wcur_free(&w);
    /* Over RDPDR_MAX_PDU, even when consistent. */
    size_t huge = RDPDR_MAX_PDU + 1;
    uint8_t *hj = calloc(1, huge);
    wcur_init_dyn(&w);
    completion(&w, id, RDPDR_STATUS_SUCCESS, (uint32_t)huge, hj, huge);
    ck_assert_int_ne(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_OK);
    wcur_free(&w);
    free(hj);
    rdpdr_chan_close(a);
    ck_assert_int_eq(call_join(&c), SCL_E_STATE);
    free(junk);
    rdpdr_chan_free(a);
}
END_TEST

START_TEST(test_success_without_output_or_with_garbage_fails_the_call)
{
    static const uint8_t garbage[][12] = {
        {0},
        {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
        {0x01, 0x10, 0x08, 0x00, 0xCC, 0xCC, 0xCC, 0xCC, 0xFF, 0xFF, 0xFF, 0x7F},
    };
    struct rdpdr_chan *a = peer_chan(&pa);
    handshake(a);
    for (size_t i = 0; i <= sizeof garbage / sizeof garbage[0]; i++) {
        struct call c;
        call_start(&c, a);
        uint32_t id = peer_wait_irp(&pa, i);
        struct wcur w;
        struct scl_err e;
        wcur_init_dyn(&w);
        if (i == sizeof garbage / sizeof garbage[0])
            completion(&w, id, RDPDR_STATUS_SUCCESS, 0, NULL, 0);
        else
            completion(&w, id, RDPDR_STATUS_SUCCESS, 12, garbage[i], 12);
        ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_OK);
        wcur_free(&w);
        ck_assert_msg(call_join(&c) != SCL_OK, "garbage %zu decoded", i);
    }
    rdpdr_chan_free(a);
}
END_TEST

START_TEST(test_never_answered_calls_are_all_woken_by_close)
{
    enum { N = 70 }; /* more than the 64 pending slots: 6 wait for a slot */
    struct rdpdr_chan *a = peer_chan(&pa), *b = peer_chan(&pb);
    handshake(a);
    handshake(b);
    static struct call c[N];
    for (int i = 0; i < N; i++)
        call_start(&c[i], a);
    peer_wait_irp(&pa, 63); /* every slot is taken */
    assert_session_works(b, &pb, 0xB3);
    rdpdr_chan_close(a);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(call_join(&c[i]), SCL_E_STATE);
    ck_assert_uint_eq(pa.n_irps, 64);
    rdpdr_chan_free(a);
    rdpdr_chan_free(b);
}
END_TEST

START_TEST(test_device_announce_flood_accepts_one_smartcard)
{
    struct rdpdr_chan *a = peer_chan(&pa), *b = peer_chan(&pb);
    handshake(a);
    handshake(b);
    struct scl_err e;
    for (uint32_t round = 0; round < 2000; round++) {
        struct wcur w;
        wcur_init_dyn(&w);
        device_list(&w, 100 + round * RDPDR_MAX_DEVICES, RDPDR_MAX_DEVICES);
        ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_OK);
        wcur_free(&w);
    }
    ck_assert_uint_eq(pa.ready_calls, 1);
    ck_assert_uint_eq(pa.refused_devices, 2000u * RDPDR_MAX_DEVICES);
    ck_assert(rdpdr_chan_has_smartcard(a));
    assert_session_works(a, &pa, 0xA3);
    assert_session_works(b, &pb, 0xB4);
    rdpdr_chan_free(a);
    rdpdr_chan_free(b);
}
END_TEST

START_TEST(test_pdus_before_the_handshake_are_refused)
{
    struct rdpdr_chan *a = peer_chan(&pa);
    struct scl_err e;
    struct wcur w;
    wcur_init_dyn(&w);
    device_list(&w, 1, 1);
    ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_E_STATE);
    wcur_free(&w);
    wcur_init_dyn(&w);
    good_completion(&w, 1, 0xA4);
    ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_E_FORMAT);
    wcur_free(&w);
    ck_assert_uint_eq(pa.ready_calls, 0);
    ck_assert(!rdpdr_chan_has_smartcard(a));
    rdpdr_chan_free(a);
}
END_TEST

START_TEST(test_client_gone_on_write_fails_the_call)
{
    struct rdpdr_chan *a = peer_chan(&pa);
    handshake(a);
    pa.write_fails = true;
    struct call c;
    call_start(&c, a);
    ck_assert_int_eq(call_join(&c), SCL_E_IO);
    rdpdr_chan_free(a);
}
END_TEST

START_TEST(test_device_removed_then_calls_fail_fast)
{
    struct rdpdr_chan *a = peer_chan(&pa);
    handshake(a);
    remove_device_1(a);
    ck_assert(!rdpdr_chan_has_smartcard(a));
    struct call c;
    call_start(&c, a);
    ck_assert_int_eq(call_join(&c), SCL_E_STATE);
    ck_assert_uint_eq(pa.n_irps, 0);
    rdpdr_chan_free(a);
}
END_TEST

/* A call the client never answered fails when the client removes the
 * device, instead of waiting for the session's end; the client's late
 * completion of it is dropped, not a protocol error; and a device
 * announced again serves calls. */
START_TEST(test_pending_call_fails_when_its_device_is_removed)
{
    struct call c;
    uint32_t id;
    struct rdpdr_chan *a = chan_with_one_call(&c, &id);
    remove_device_1(a);
    ck_assert_int_eq(call_join(&c), SCL_E_STATE);
    ck_assert_ptr_nonnull(strstr(c.e.msg, "device was removed"));
    feed_good(a, id, 0x11);
    struct wcur w;
    struct scl_err e;
    wcur_init_dyn(&w);
    device_list(&w, 2, 1);
    ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_OK);
    wcur_free(&w);
    assert_session_works(a, &pa, 0x22);
    /* The same CompletionId again is unknown now: its slot was released. */
    wcur_init_dyn(&w);
    good_completion(&w, id, 0x11);
    ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_E_FORMAT);
    wcur_free(&w);
    rdpdr_chan_free(a);
}
END_TEST

/* ---- asynchronous calls (the host's Transmit path) ---------------------------------- */

struct answer {
    int calls; /* how many times done ran: must end at exactly one */
    int rc;
    uint8_t tag;
    pthread_t thread;
    char msg[256];
};

static void answer_done(void *ctx, int rc, struct esc_msg *ret, const struct scl_err *e)
{
    struct answer *a = ctx;
    a->calls++;
    a->rc = rc;
    a->thread = pthread_self();
    if (rc == SCL_OK)
        a->tag = ret->u.establish_context_return.Context.pbContext[0];
    else
        snprintf(a->msg, sizeof a->msg, "%s", e->msg);
}

static int async_start(struct rdpdr_chan *ch, struct answer *a)
{
    struct esc_msg call = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT};
    struct scl_err e;
    memset(a, 0, sizeof *a);
    call.u.establish_context_call.dwScope = 2;
    return rdpdr_chan_call_async(ch, &call, answer_done, a, &e);
}

/* The answer is handed over by the thread that received it, decoded, once;
 * nobody waits for it. */
START_TEST(test_async_call_is_answered_by_the_receiving_thread)
{
    struct rdpdr_chan *a = peer_chan(&pa);
    handshake(a);
    struct answer x, y;
    ck_assert_int_eq(async_start(a, &x), SCL_OK);
    ck_assert_int_eq(async_start(a, &y), SCL_OK);
    uint32_t idx = peer_wait_irp(&pa, 0), idy = peer_wait_irp(&pa, 1);
    ck_assert_int_eq(x.calls + y.calls, 0);
    feed_good(a, idy, 0x59);
    feed_good(a, idx, 0x58);
    ck_assert_int_eq(x.calls, 1);
    ck_assert_int_eq(y.calls, 1);
    ck_assert_int_eq(x.rc, SCL_OK);
    ck_assert_uint_eq(x.tag, 0x58);
    ck_assert_uint_eq(y.tag, 0x59);
    ck_assert(pthread_equal(x.thread, pthread_self()));
    /* Answered means released: the id is unknown now. */
    struct wcur w;
    struct scl_err e;
    wcur_init_dyn(&w);
    good_completion(&w, idx, 0x58);
    ck_assert_int_eq(feed_raw(a, wcur_data(&w), wcur_len(&w), &e), SCL_E_FORMAT);
    wcur_free(&w);
    ck_assert_int_eq(x.calls, 1);
    rdpdr_chan_free(a);
}
END_TEST

/* Removal answers it at once with the failure; the client's late completion
 * is dropped and does not answer it twice. */
START_TEST(test_async_call_fails_once_when_its_device_is_removed)
{
    struct rdpdr_chan *a = peer_chan(&pa);
    handshake(a);
    struct answer x;
    ck_assert_int_eq(async_start(a, &x), SCL_OK);
    uint32_t id = peer_wait_irp(&pa, 0);
    remove_device_1(a);
    ck_assert_int_eq(x.calls, 1);
    ck_assert_int_eq(x.rc, SCL_E_STATE);
    ck_assert_ptr_nonnull(strstr(x.msg, "device was removed"));
    feed_good(a, id, 0x11);
    ck_assert_int_eq(x.calls, 1);
    rdpdr_chan_close(a);
    ck_assert_int_eq(x.calls, 1);
    rdpdr_chan_free(a);
}
END_TEST

START_TEST(test_async_calls_never_answered_are_answered_by_close)
{
    struct rdpdr_chan *a = peer_chan(&pa);
    handshake(a);
    struct answer x[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(async_start(a, &x[i]), SCL_OK);
    rdpdr_chan_close(a);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(x[i].calls, 1);
        ck_assert_int_eq(x[i].rc, SCL_E_STATE);
        ck_assert_ptr_nonnull(strstr(x[i].msg, "session closed"));
    }
    struct answer late;
    ck_assert_int_eq(async_start(a, &late), SCL_E_STATE);
    ck_assert_int_eq(late.calls, 0);
    rdpdr_chan_free(a);
}
END_TEST

/* Not sent: the caller hears it from the return value, and done never runs. */
START_TEST(test_async_call_that_cannot_be_sent_is_refused_not_answered)
{
    struct rdpdr_chan *a = peer_chan(&pa);
    handshake(a);
    pa.write_fails = true;
    struct answer x;
    ck_assert_int_eq(async_start(a, &x), SCL_E_IO);
    rdpdr_chan_close(a);
    ck_assert_int_eq(x.calls, 0);
    rdpdr_chan_free(a);
}
END_TEST

static Suite *hostile_suite(void)
{
    Suite *s = suite_create("rdpdr_hostile");
    TCase *t = tcase_create("malicious_client");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_control_rsp_longer_than_its_pdu_drops_only_that_session);
    tcase_add_test(t, test_every_truncation_of_a_control_rsp_is_refused);
    tcase_add_test(t, test_wrong_completion_id_neither_completes_nor_disturbs_calls);
    tcase_add_test(t, test_second_completion_for_the_same_id_is_refused);
    tcase_add_test(t, test_oversized_output_buffer_fails_the_call_not_the_host);
    tcase_add_test(t, test_success_without_output_or_with_garbage_fails_the_call);
    tcase_add_test(t, test_never_answered_calls_are_all_woken_by_close);
    tcase_add_test(t, test_device_announce_flood_accepts_one_smartcard);
    tcase_add_test(t, test_pdus_before_the_handshake_are_refused);
    tcase_add_test(t, test_client_gone_on_write_fails_the_call);
    tcase_add_test(t, test_device_removed_then_calls_fail_fast);
    tcase_add_test(t, test_pending_call_fails_when_its_device_is_removed);
    tcase_add_test(t, test_async_call_is_answered_by_the_receiving_thread);
    tcase_add_test(t, test_async_call_fails_once_when_its_device_is_removed);
    tcase_add_test(t, test_async_calls_never_answered_are_answered_by_close);
    tcase_add_test(t, test_async_call_that_cannot_be_sent_is_refused_not_answered);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(hostile_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
