/*
 * test_pcsock_server.c - the endpoint against a fake backend: the stock
 * libpcsclite client (list, connect, transmit, status, attributes, events,
 * cancel) and a raw client that checks what pcsc-lite's library cannot see:
 * exactly one 8-byte message per wait, handles of another context refused,
 * a dead client's handles given back, a malformed request closing only its
 * own socket.  Needs no root and no pcscd.
 */
#include "pcsock.h"
#include "pcsock_wire.h"

#include <PCSC/reader.h>
#include <PCSC/winscard.h>
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READER "fake reader 00"
static const uint8_t ATR[] = {0x3B, 0x88, 0x80, 0x01, 0x00, 0x73, 0xC8,
                              0x40, 0x13, 0x00, 0x90, 0x00, 0x71};

/* ---- the fake backend ---------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    int connects, disconnects;
    uint32_t last_disposition;
} fake = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};

static int32_t fk_connect(void *be, const char *reader, uint32_t share, uint32_t pref,
                          uint64_t *card, uint32_t *proto)
{
    (void)be, (void)share, (void)pref;
    if (strcmp(reader, READER)) return (int32_t)SCARD_E_UNKNOWN_READER;
    pthread_mutex_lock(&fake.mu);
    *card = 1000 + (uint64_t)++fake.connects;
    pthread_mutex_unlock(&fake.mu);
    *proto = SCARD_PROTOCOL_T1;
    return SCARD_S_SUCCESS;
}
static int32_t fk_reconnect(void *be, uint64_t card, uint32_t s, uint32_t p, uint32_t i,
                            uint32_t *proto)
{
    (void)be, (void)card, (void)s, (void)p, (void)i;
    *proto = SCARD_PROTOCOL_T1;
    return SCARD_S_SUCCESS;
}
static int32_t fk_disconnect(void *be, uint64_t card, uint32_t disp)
{
    (void)be, (void)card;
    pthread_mutex_lock(&fake.mu);
    fake.disconnects++;
    fake.last_disposition = disp;
    pthread_mutex_unlock(&fake.mu);
    return SCARD_S_SUCCESS;
}
static int32_t fk_begin(void *be, uint64_t card)
{
    return (void)be, (void)card, SCARD_S_SUCCESS;
}
static int32_t fk_end(void *be, uint64_t card, uint32_t d)
{
    return (void)be, (void)card, (void)d, SCARD_S_SUCCESS;
}
static int32_t fk_status(void *be, uint64_t card, char *reader, size_t cap, uint32_t *state,
                         uint32_t *proto, uint8_t *atr, uint32_t *atr_len)
{
    (void)be, (void)card, (void)reader, (void)cap, (void)atr;
    *state = SCARD_SPECIFIC;
    *proto = SCARD_PROTOCOL_T1;
    *atr_len = 0;
    return SCARD_S_SUCCESS;
}
/* Echo the APDU, then 90 00. */
static int32_t fk_transmit(void *be, uint64_t card, uint32_t sp, const uint8_t *send, uint32_t n,
                           uint8_t *recv, uint32_t *rn, uint32_t *rp)
{
    (void)be, (void)card, (void)sp;
    if (*rn < n + 2) return (int32_t)SCARD_E_INSUFFICIENT_BUFFER;
    memcpy(recv, send, n);
    recv[n] = 0x90, recv[n + 1] = 0x00;
    *rn = n + 2;
    *rp = SCARD_PROTOCOL_T1;
    return SCARD_S_SUCCESS;
}
static int32_t fk_control(void *be, uint64_t card, uint32_t code, const uint8_t *in, uint32_t n,
                          uint8_t *out, uint32_t cap, uint32_t *got)
{
    (void)be, (void)card, (void)in, (void)n;
    if (cap < 4) return (int32_t)SCARD_E_INSUFFICIENT_BUFFER;
    memcpy(out, &code, 4);
    *got = 4;
    return SCARD_S_SUCCESS;
}
static int32_t fk_get_attrib(void *be, uint64_t card, uint32_t id, uint8_t *attr, uint32_t *len)
{
    (void)be, (void)card, (void)id;
    if (*len < sizeof ATR) return *len = sizeof ATR, (int32_t)SCARD_E_INSUFFICIENT_BUFFER;
    memcpy(attr, ATR, sizeof ATR);
    *len = sizeof ATR;
    return SCARD_S_SUCCESS;
}
static int32_t fk_set_attrib(void *be, uint64_t card, uint32_t id, const uint8_t *a, uint32_t n)
{
    return (void)be, (void)card, (void)id, (void)a, (void)n, SCARD_S_SUCCESS;
}

static const struct pcsock_ops fake_ops = {fk_connect,    fk_reconnect,  fk_disconnect, fk_begin,
                                           fk_end,        fk_status,     fk_transmit,   fk_control,
                                           fk_get_attrib, fk_set_attrib, NULL};

/* transmit_async as the session host's backend does it: the answer comes
 * later, from another thread (here after 20 ms), as the echo above. */
struct fk_later {
    uint8_t apdu[300];
    uint32_t n, cap;
    pcsock_transmit_done done;
    void *ctx;
};

static struct {
    pthread_mutex_t mu;
    int answered; /* answers whose done returned */
} later = {PTHREAD_MUTEX_INITIALIZER, 0};

static void *fk_answer_later(void *arg)
{
    struct fk_later *l = arg;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    uint8_t recv[302];
    uint32_t rn = l->cap < sizeof recv ? l->cap : (uint32_t)sizeof recv, rp = 0;
    int32_t rv = fk_transmit(NULL, 0, 0, l->apdu, l->n, recv, &rn, &rp);
    l->done(l->ctx, rv, recv, rn, rp);
    pthread_mutex_lock(&later.mu);
    later.answered++;
    pthread_mutex_unlock(&later.mu);
    free(l);
    return NULL;
}

static int32_t fk_transmit_async(void *be, uint64_t card, uint32_t sp, const uint8_t *send,
                                 uint32_t n, uint32_t cap, pcsock_transmit_done done, void *ctx)
{
    (void)be, (void)card, (void)sp;
    struct fk_later *l = calloc(1, sizeof *l);
    if (!l || n > sizeof l->apdu) return free(l), (int32_t)SCARD_E_INVALID_PARAMETER;
    *l = (struct fk_later){.n = n, .cap = cap, .done = done, .ctx = ctx};
    memcpy(l->apdu, send, n);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fk_answer_later, l), 0);
    pthread_detach(t);
    return SCARD_S_SUCCESS;
}

static const struct pcsock_ops fake_async_ops = {
    fk_connect,  fk_reconnect, fk_disconnect, fk_begin,      fk_end,           fk_status,
    fk_transmit, fk_control,   fk_get_attrib, fk_set_attrib, fk_transmit_async};

/* ---- one endpoint per test (each test runs in its own fork) -------------- */

static char dir[64], sock[128];
static struct pcsock *ps;

static void set_card(bool present)
{
    struct pcsock_reader r = {.present = present};
    strcpy(r.name, READER);
    if (present) memcpy(r.atr, ATR, sizeof ATR), r.atr_len = sizeof ATR;
    pcsock_set_readers(ps, &r, 1);
}

static void setup_with(const struct pcsock_ops *ops)
{
    strcpy(dir, "/tmp/test_pcsock.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock, sizeof sock, "%s/pcscd.comm", dir);
    struct scl_err e = {0};
    ck_assert_msg(!pcsock_start(sock, ops, NULL, getuid(), &ps, &e), "%s", e.msg);
    set_card(true);
    setenv("PCSCLITE_CSOCK_NAME", sock, 1);
}

static void setup(void)
{
    setup_with(&fake_ops);
}

static void setup_async(void)
{
    setup_with(&fake_async_ops);
}

static void teardown(void)
{
    pcsock_stop(ps);
    struct stat st;
    ck_assert_int_ne(stat(sock, &st), 0); /* the socket file goes with the endpoint */
    rmdir(dir);
}

/* ---- a raw client: what libpcsclite sends, checked byte by byte ---------- */

static int raw_open(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, sock);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {5, 0}; /* a missing reply fails the test instead of hanging it */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void raw_send(int fd, uint32_t command, const union pcsock_body *b, const void *extra,
                     size_t n)
{
    const struct pcsock_wire_cmd *cmd = pcsock_wire_find(command);
    uint8_t buf[512];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    pcsock_wire_encode_header(&w, command, (uint32_t)cmd->size);
    if (b) pcsock_wire_encode_body(&w, cmd, b);
    wcur_bytes(&w, extra, n);
    ck_assert(wcur_ok(&w));
    ck_assert_int_eq(send(fd, buf, wcur_len(&w), MSG_NOSIGNAL), (ssize_t)wcur_len(&w));
}

/* Exactly n bytes, or fewer if the server closed / said nothing in 5 s. */
static size_t raw_recv(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (uint8_t *)buf + got, n - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

static union pcsock_body raw_call(int fd, uint32_t command, union pcsock_body b)
{
    raw_send(fd, command, &b, NULL, 0);
    const struct pcsock_wire_cmd *cmd = pcsock_wire_find(command);
    uint8_t buf[400];
    ck_assert_uint_eq(raw_recv(fd, buf, cmd->size), cmd->size);
    struct cur c;
    cur_init(&c, buf, cmd->size);
    ck_assert(!pcsock_wire_decode_body(&c, cmd, &b, NULL));
    return b;
}

/* Version exchange and a context, as SCardEstablishContext does. */
static uint32_t raw_context(int fd)
{
    union pcsock_body b = {.version = {4, 4, 0}};
    b = raw_call(fd, PCSOCK_CMD_VERSION, b);
    ck_assert_uint_eq(b.version.rv, SCARD_S_SUCCESS);
    b = (union pcsock_body){.establish = {SCARD_SCOPE_SYSTEM, 0, 0}};
    b = raw_call(fd, PCSOCK_SCARD_ESTABLISH_CONTEXT, b);
    ck_assert_uint_eq(b.establish.rv, SCARD_S_SUCCESS);
    ck_assert_uint_ne(b.establish.hContext, 0);
    return b.establish.hContext;
}

static int32_t raw_connect(int fd, uint32_t hContext)
{
    union pcsock_body b = {.connect = {.hContext = hContext,
                                       .dwShareMode = SCARD_SHARE_SHARED,
                                       .dwPreferredProtocols = SCARD_PROTOCOL_T1}};
    strcpy(b.connect.szReader, READER);
    b = raw_call(fd, PCSOCK_SCARD_CONNECT, b);
    ck_assert_uint_eq(b.connect.rv, SCARD_S_SUCCESS);
    ck_assert_int_gt(b.connect.hCard, 0);
    return b.connect.hCard;
}

/* A Transmit of a 4-byte APDU on hCard, room for 258 bytes back. */
static union pcsock_body raw_transmit_body(int32_t hCard)
{
    return (union pcsock_body){.transmit = {.hCard = hCard,
                                            .ioSendPciProtocol = SCARD_PROTOCOL_T1,
                                            .ioSendPciLength = 16,
                                            .cbSendLength = 4,
                                            .pcbRecvLength = 258}};
}

static void raw_reader_states(int fd, uint32_t command, struct pcsock_reader_state *first)
{
    raw_send(fd, command, NULL, NULL, 0);
    uint8_t buf[PCSOCK_READER_LIST_SIZE];
    ck_assert_uint_eq(raw_recv(fd, buf, sizeof buf), sizeof buf);
    struct cur c;
    cur_init(&c, buf, sizeof buf);
    ck_assert(!pcsock_wire_decode_reader_state(&c, first, NULL));
}

static struct pcsock_wait raw_wait_signal(int fd)
{
    uint8_t buf[8];
    ck_assert_uint_eq(raw_recv(fd, buf, sizeof buf), sizeof buf);
    struct cur c;
    cur_init(&c, buf, sizeof buf);
    struct pcsock_wait m;
    ck_assert(!pcsock_wire_decode_wait(&c, &m, NULL));
    return m;
}

/* Closed without a reply: EOF, or a reset when our bytes were left unread. */
static bool closed_by_server(int fd)
{
    uint8_t b;
    ssize_t r = recv(fd, &b, 1, 0);
    return r == 0 || (r < 0 && errno == ECONNRESET);
}

/* ---- the stock client ------------------------------------------------------ */

/* The echo comes back whole; a buffer too small gets the error, not bytes. */
static void stock_transmits(SCARDHANDLE h)
{
    uint8_t apdu[] = {0x00, 0xA4, 0x04, 0x00, 0x00}, resp[64];
    DWORD rlen = sizeof resp;
    ck_assert_int_eq(SCardTransmit(h, SCARD_PCI_T1, apdu, sizeof apdu, NULL, resp, &rlen),
                     SCARD_S_SUCCESS);
    ck_assert_uint_eq(rlen, sizeof apdu + 2);
    ck_assert(!memcmp(resp, apdu, sizeof apdu) && resp[5] == 0x90 && resp[6] == 0x00);
    rlen = 3; /* too small: the size comes back, not the bytes */
    ck_assert_int_eq(SCardTransmit(h, SCARD_PCI_T1, apdu, sizeof apdu, NULL, resp, &rlen),
                     SCARD_E_INSUFFICIENT_BUFFER);
}

START_TEST(test_stock_client_lists_connects_transmits_and_reads_status)
{
    SCARDCONTEXT ctx;
    ck_assert_int_eq(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), SCARD_S_SUCCESS);
    char readers[256];
    DWORD len = sizeof readers;
    ck_assert_int_eq(SCardListReaders(ctx, NULL, readers, &len), SCARD_S_SUCCESS);
    ck_assert_str_eq(readers, READER);
    SCARDHANDLE h;
    DWORD proto;
    ck_assert_int_eq(SCardConnect(ctx, READER, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY, &h, &proto),
                     SCARD_S_SUCCESS);
    ck_assert_uint_eq(proto, SCARD_PROTOCOL_T1);
    ck_assert_int_eq(SCardBeginTransaction(h), SCARD_S_SUCCESS);
    stock_transmits(h);
    ck_assert_int_eq(SCardEndTransaction(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);

    char name[128];
    DWORD nlen = sizeof name, state, sproto, alen;
    uint8_t atr[64];
    alen = sizeof atr;
    ck_assert_int_eq(SCardStatus(h, name, &nlen, &state, &sproto, atr, &alen), SCARD_S_SUCCESS);
    ck_assert_str_eq(name, READER);
    ck_assert_uint_eq(alen, sizeof ATR);
    ck_assert(!memcmp(atr, ATR, sizeof ATR));
    ck_assert(state & SCARD_PRESENT);
    ck_assert_uint_eq(sproto, SCARD_PROTOCOL_T1); /* from our own handle's connect */

    alen = sizeof atr;
    ck_assert_int_eq(SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, atr, &alen), SCARD_S_SUCCESS);
    ck_assert_uint_eq(alen, sizeof ATR);
    uint8_t out[16];
    DWORD got = 0;
    ck_assert_int_eq(SCardControl(h, 0x42000D48, NULL, 0, out, sizeof out, &got), SCARD_S_SUCCESS);
    ck_assert_uint_eq(got, 4);
    ck_assert_int_eq(SCardSetAttrib(h, SCARD_ATTR_ATR_STRING, ATR, sizeof ATR), SCARD_S_SUCCESS);
    ck_assert_int_eq(
        SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &proto),
        SCARD_S_SUCCESS);
    ck_assert_int_eq(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
    ck_assert_int_eq(SCardReleaseContext(ctx), SCARD_S_SUCCESS);
    ck_assert_int_eq(fake.disconnects, 1);
}
END_TEST

START_TEST(test_stock_client_unknown_reader_is_refused)
{
    SCARDCONTEXT ctx;
    ck_assert_int_eq(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), SCARD_S_SUCCESS);
    SCARDHANDLE h;
    DWORD proto;
    ck_assert_int_eq(
        SCardConnect(ctx, "no such reader", SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY, &h, &proto),
        SCARD_E_UNKNOWN_READER);
    SCardReleaseContext(ctx);
}
END_TEST

static void *insert_later(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 200 * 1000000};
    nanosleep(&ts, NULL);
    set_card(true);
    return NULL;
}

START_TEST(test_stock_client_sees_insertion_in_get_status_change)
{
    set_card(false);
    SCARDCONTEXT ctx;
    ck_assert_int_eq(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), SCARD_S_SUCCESS);
    SCARD_READERSTATE rs = {.szReader = READER, .dwCurrentState = SCARD_STATE_UNAWARE};
    ck_assert_int_eq(SCardGetStatusChange(ctx, 0, &rs, 1), SCARD_S_SUCCESS);
    ck_assert(rs.dwEventState & SCARD_STATE_EMPTY);
    rs.dwCurrentState = rs.dwEventState;
    pthread_t t;
    pthread_create(&t, NULL, insert_later, NULL);
    ck_assert_int_eq(SCardGetStatusChange(ctx, INFINITE, &rs, 1), SCARD_S_SUCCESS);
    pthread_join(t, NULL);
    ck_assert(rs.dwEventState & SCARD_STATE_PRESENT);
    ck_assert(rs.dwEventState & SCARD_STATE_CHANGED);
    ck_assert_uint_eq(rs.cbAtr, sizeof ATR);
    ck_assert_uint_eq(rs.dwEventState >> 16, 2); /* removed, inserted: two card events */
    SCardReleaseContext(ctx);
}
END_TEST

struct waiter {
    SCARDCONTEXT ctx;
    LONG rv;
    volatile bool done;
};

static void *wait_forever(void *arg)
{
    struct waiter *w = arg;
    SCARD_READERSTATE rs = {.szReader = READER, .dwCurrentState = SCARD_STATE_UNAWARE};
    SCardGetStatusChange(w->ctx, 0, &rs, 1);
    rs.dwCurrentState = rs.dwEventState;
    w->rv = SCardGetStatusChange(w->ctx, INFINITE, &rs, 1);
    w->done = true;
    return NULL;
}

/* SCardCancel works only while the other thread is inside the wait (before
 * that it is a no-op), so it is repeated until the waiter returns. */
START_TEST(test_stock_client_cancel_ends_an_infinite_wait)
{
    struct waiter w = {0};
    ck_assert_int_eq(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &w.ctx),
                     SCARD_S_SUCCESS);
    pthread_t t;
    pthread_create(&t, NULL, wait_forever, &w);
    while (!w.done) {
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
        ck_assert_int_eq(SCardCancel(w.ctx), SCARD_S_SUCCESS);
    }
    pthread_join(t, NULL);
    ck_assert_int_eq(w.rv, SCARD_E_CANCELLED);
    /* The context still works: the cancel was its one signal, no stray bytes. */
    SCARD_READERSTATE rs = {.szReader = READER, .dwCurrentState = SCARD_STATE_UNAWARE};
    ck_assert_int_eq(SCardGetStatusChange(w.ctx, 0, &rs, 1), SCARD_S_SUCCESS);
    ck_assert(rs.dwEventState & SCARD_STATE_PRESENT);
    SCardReleaseContext(w.ctx);
}
END_TEST

/* ---- the raw client ---------------------------------------------------------- */

START_TEST(test_stop_waiting_gets_exactly_one_reply)
{
    int fd = raw_open();
    raw_context(fd);
    struct pcsock_reader_state s;
    raw_reader_states(fd, PCSOCK_CMD_WAIT_READER_STATE_CHANGE, &s);
    ck_assert_str_eq(s.readerName, READER);
    raw_send(fd, PCSOCK_CMD_STOP_WAITING_READER_STATE_CHANGE, NULL, NULL, 0);
    struct pcsock_wait m = raw_wait_signal(fd);
    ck_assert_uint_eq(m.rv, SCARD_S_SUCCESS);
    /* Next on the socket is the reader list, not a second 8-byte message. */
    raw_reader_states(fd, PCSOCK_CMD_GET_READERS_STATE, &s);
    ck_assert_str_eq(s.readerName, READER);
    close(fd);
}
END_TEST

START_TEST(test_event_signal_replaces_the_stop_reply)
{
    int fd = raw_open();
    raw_context(fd);
    struct pcsock_reader_state s;
    raw_reader_states(fd, PCSOCK_CMD_WAIT_READER_STATE_CHANGE, &s);
    set_card(false);
    struct pcsock_wait m = raw_wait_signal(fd);
    ck_assert_uint_eq(m.rv, SCARD_S_SUCCESS);
    raw_send(fd, PCSOCK_CMD_STOP_WAITING_READER_STATE_CHANGE, NULL, NULL, 0);
    raw_reader_states(fd, PCSOCK_CMD_GET_READERS_STATE, &s);
    ck_assert_str_eq(s.readerName, READER);
    ck_assert_uint_eq(s.readerState, SCARD_ABSENT);
    close(fd);
}
END_TEST

START_TEST(test_event_counter_counts_card_changes_only)
{
    set_card(false);
    set_card(true);
    set_card(true); /* nothing changed: no count */
    int fd = raw_open();
    struct pcsock_reader_state s;
    raw_reader_states(fd, PCSOCK_CMD_GET_READERS_STATE, &s);
    ck_assert_uint_eq(s.eventCounter, 2);
    ck_assert_uint_eq(s.readerState, SCARD_PRESENT | SCARD_POWERED | SCARD_NEGOTIABLE);
    ck_assert_uint_eq(s.cardAtrLength, sizeof ATR);
    ck_assert(!memcmp(s.cardAtr, ATR, sizeof ATR));
    ck_assert_int_eq(s.readerSharing, 0);
    close(fd);
}
END_TEST

START_TEST(test_cancel_from_a_fresh_socket_signals_the_waiter)
{
    int a = raw_open();
    uint32_t hContext = raw_context(a);
    struct pcsock_reader_state s;
    raw_reader_states(a, PCSOCK_CMD_WAIT_READER_STATE_CHANGE, &s);
    int b = raw_open(); /* no version exchange, as SCardCancel does */
    union pcsock_body m = {.cancel = {(int32_t)hContext, 0}};
    m = raw_call(b, PCSOCK_SCARD_CANCEL, m);
    ck_assert_uint_eq(m.cancel.rv, SCARD_S_SUCCESS);
    ck_assert_uint_eq(raw_wait_signal(a).rv, (uint32_t)SCARD_E_CANCELLED);
    /* Nobody waits any more: pcscd answers invalid handle. */
    m = raw_call(b, PCSOCK_SCARD_CANCEL, m);
    ck_assert_uint_eq(m.cancel.rv, (uint32_t)SCARD_E_INVALID_HANDLE);
    close(a);
    close(b);
}
END_TEST

START_TEST(test_handle_of_another_context_is_refused)
{
    int a = raw_open(), b = raw_open();
    int32_t hCard = raw_connect(a, raw_context(a));
    raw_context(b);
    union pcsock_body m = raw_transmit_body(hCard);
    raw_send(b, PCSOCK_SCARD_TRANSMIT, &m, "\x00\xCA\x00\x00", 4);
    uint8_t buf[32];
    ck_assert_uint_eq(raw_recv(b, buf, 32), 32);
    struct cur c;
    cur_init(&c, buf, 32);
    pcsock_wire_decode_body(&c, pcsock_wire_find(PCSOCK_SCARD_TRANSMIT), &m, NULL);
    ck_assert_uint_eq(m.transmit.rv, (uint32_t)SCARD_E_INVALID_HANDLE);
    ck_assert_uint_eq(m.transmit.pcbRecvLength, 0);
    /* Its owner still can. */
    m.transmit.rv = 0;
    m.transmit.pcbRecvLength = 258;
    raw_send(a, PCSOCK_SCARD_TRANSMIT, &m, "\x00\xCA\x00\x00", 4);
    ck_assert_uint_eq(raw_recv(a, buf, 32), 32);
    cur_init(&c, buf, 32);
    pcsock_wire_decode_body(&c, pcsock_wire_find(PCSOCK_SCARD_TRANSMIT), &m, NULL);
    ck_assert_uint_eq(m.transmit.rv, SCARD_S_SUCCESS);
    ck_assert_uint_eq(m.transmit.pcbRecvLength, 6);
    ck_assert_uint_eq(raw_recv(a, buf, 6), 6);
    ck_assert(!memcmp(buf, "\x00\xCA\x00\x00\x90\x00", 6));
    close(a);
    close(b);
}
END_TEST

/* ---- Transmit answered on another thread (the session host's way) -------- */

START_TEST(test_async_transmit_reaches_the_stock_client)
{
    SCARDCONTEXT ctx;
    SCARDHANDLE h;
    DWORD proto;
    ck_assert_int_eq(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), SCARD_S_SUCCESS);
    ck_assert_int_eq(SCardConnect(ctx, READER, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY, &h, &proto),
                     SCARD_S_SUCCESS);
    stock_transmits(h);
    ck_assert_int_eq(SCardReleaseContext(ctx), SCARD_S_SUCCESS);
    pthread_mutex_lock(&later.mu);
    ck_assert_int_eq(later.answered, 2); /* both went the asynchronous way */
    pthread_mutex_unlock(&later.mu);
}
END_TEST

static void raw_transmit_reply(int fd, const char *apdu4)
{
    uint8_t buf[32];
    union pcsock_body m;
    ck_assert_uint_eq(raw_recv(fd, buf, 32), 32);
    struct cur c;
    cur_init(&c, buf, 32);
    ck_assert(!pcsock_wire_decode_body(&c, pcsock_wire_find(PCSOCK_SCARD_TRANSMIT), &m, NULL));
    ck_assert_uint_eq(m.transmit.rv, SCARD_S_SUCCESS);
    ck_assert_uint_eq(m.transmit.pcbRecvLength, 6);
    ck_assert_uint_eq(raw_recv(fd, buf, 6), 6);
    ck_assert(!memcmp(buf, apdu4, 4) && buf[4] == 0x90 && buf[5] == 0x00);
}

/* A second request sent before the first is answered waits for that answer:
 * the replies come in order, each with its own APDU. */
START_TEST(test_async_transmits_sent_back_to_back_are_answered_in_order)
{
    int fd = raw_open();
    int32_t hCard = raw_connect(fd, raw_context(fd));
    union pcsock_body m = raw_transmit_body(hCard);
    raw_send(fd, PCSOCK_SCARD_TRANSMIT, &m, "\x00\xCA\x00\x01", 4);
    raw_send(fd, PCSOCK_SCARD_TRANSMIT, &m, "\x00\xCA\x00\x02", 4);
    raw_transmit_reply(fd, "\x00\xCA\x00\x01");
    raw_transmit_reply(fd, "\x00\xCA\x00\x02");
    close(fd);
}
END_TEST

/* The program leaves before its answer: the answering thread is not held,
 * and the endpoint goes on serving. */
START_TEST(test_async_answer_for_a_gone_client_is_dropped)
{
    int fd = raw_open();
    int32_t hCard = raw_connect(fd, raw_context(fd));
    union pcsock_body m = raw_transmit_body(hCard);
    raw_send(fd, PCSOCK_SCARD_TRANSMIT, &m, "\x00\xCA\x00\x01", 4);
    close(fd);
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&later.mu);
        int n = later.answered;
        pthread_mutex_unlock(&later.mu);
        if (n == 1) break;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&later.mu);
    ck_assert_int_eq(later.answered, 1);
    pthread_mutex_unlock(&later.mu);
    int again = raw_open();
    hCard = raw_connect(again, raw_context(again));
    m.transmit.hCard = hCard;
    raw_send(again, PCSOCK_SCARD_TRANSMIT, &m, "\x00\xCA\x00\x03", 4);
    raw_transmit_reply(again, "\x00\xCA\x00\x03");
    close(again);
}
END_TEST

static bool wait_disconnects(int n)
{
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&fake.mu);
        bool ok = fake.disconnects >= n;
        pthread_mutex_unlock(&fake.mu);
        if (ok) return true;
        struct timespec ts = {0, 25 * 1000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

START_TEST(test_dead_client_handles_are_disconnected_with_reset_in_transaction)
{
    int fd = raw_open();
    int32_t hCard = raw_connect(fd, raw_context(fd));
    union pcsock_body m = {.begin = {hCard, 0}};
    m = raw_call(fd, PCSOCK_SCARD_BEGIN_TRANSACTION, m);
    ck_assert_uint_eq(m.begin.rv, SCARD_S_SUCCESS);
    close(fd);
    ck_assert_msg(wait_disconnects(1), "the dead client's handle was never disconnected");
    ck_assert_uint_eq(fake.last_disposition, SCARD_RESET_CARD);

    fd = raw_open();
    raw_connect(fd, raw_context(fd));
    close(fd);
    ck_assert(wait_disconnects(2));
    ck_assert_uint_eq(fake.last_disposition, SCARD_LEAVE_CARD);
}
END_TEST

START_TEST(test_malformed_request_closes_only_that_client)
{
    int good = raw_open();
    raw_context(good);
    int bad = raw_open();
    uint8_t hdr[8 + 151] = {151, 0, 0, 0, PCSOCK_SCARD_CONNECT, 0, 0, 0};
    send(bad, hdr, sizeof hdr, MSG_NOSIGNAL);
    ck_assert(closed_by_server(bad));
    close(bad);
    bad = raw_open();
    uint8_t unknown[8] = {0, 0, 0, 0, 0x42, 0, 0, 0};
    send(bad, unknown, sizeof unknown, MSG_NOSIGNAL);
    ck_assert(closed_by_server(bad));
    close(bad);
    struct pcsock_reader_state s;
    raw_reader_states(good, PCSOCK_CMD_GET_READERS_STATE, &s);
    ck_assert_str_eq(s.readerName, READER);
    close(good);
}
END_TEST

START_TEST(test_version_mismatch_is_refused_with_service_stopped)
{
    int fd = raw_open();
    union pcsock_body b = {.version = {4, 3, 0}};
    b = raw_call(fd, PCSOCK_CMD_VERSION, b);
    ck_assert_uint_eq(b.version.rv, (uint32_t)SCARD_E_SERVICE_STOPPED);
    ck_assert_int_eq(b.version.major, 4);
    ck_assert_int_eq(b.version.minor, 4);
    close(fd);
}
END_TEST

START_TEST(test_start_refuses_a_directory_others_can_enter)
{
    char d[64];
    strcpy(d, "/tmp/test_pcsock_open.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    chmod(d, 0755);
    char p[128];
    snprintf(p, sizeof p, "%s/pcscd.comm", d);
    struct pcsock *other = NULL;
    struct scl_err e = {0};
    ck_assert_int_eq(pcsock_start(p, &fake_ops, NULL, getuid(), &other, &e), SCL_E_INVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "must be a 0700 directory"));
    rmdir(d);
}
END_TEST

static Suite *server_suite(void)
{
    Suite *s = suite_create("pcsock_server");
    TCase *t = tcase_create("server");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_stock_client_lists_connects_transmits_and_reads_status);
    tcase_add_test(t, test_stock_client_unknown_reader_is_refused);
    tcase_add_test(t, test_stock_client_sees_insertion_in_get_status_change);
    tcase_add_test(t, test_stock_client_cancel_ends_an_infinite_wait);
    tcase_add_test(t, test_stop_waiting_gets_exactly_one_reply);
    tcase_add_test(t, test_event_signal_replaces_the_stop_reply);
    tcase_add_test(t, test_event_counter_counts_card_changes_only);
    tcase_add_test(t, test_cancel_from_a_fresh_socket_signals_the_waiter);
    tcase_add_test(t, test_handle_of_another_context_is_refused);
    tcase_add_test(t, test_dead_client_handles_are_disconnected_with_reset_in_transaction);
    tcase_add_test(t, test_malformed_request_closes_only_that_client);
    tcase_add_test(t, test_version_mismatch_is_refused_with_service_stopped);
    tcase_add_test(t, test_start_refuses_a_directory_others_can_enter);
    suite_add_tcase(s, t);
    TCase *a = tcase_create("async transmit");
    tcase_add_checked_fixture(a, setup_async, teardown);
    tcase_set_timeout(a, 30);
    tcase_add_test(a, test_async_transmit_reaches_the_stock_client);
    tcase_add_test(a, test_async_transmits_sent_back_to_back_are_answered_in_order);
    tcase_add_test(a, test_async_answer_for_a_gone_client_is_dropped);
    suite_add_tcase(s, a);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(server_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
