/*
 * pcsock.c - the per-session PC/SC endpoint: the listening socket, one
 * thread per client socket, and the table of pcsc-lite commands it serves by
 * calling the backend.  Not the message layout (pcsock_wire.c) nor the reader
 * states and event signals (pcsock_readers.c).
 */
#include "pcsock_int.h"

#include <PCSC/winscard.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SEND_TIMEOUT_S 10 /* a client that reads nothing for this long is dropped */

void pcsock_log(const struct pcsock *ps, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pcsock %s: %s\n", ps->path, msg);
}

/* ---- socket I/O ---------------------------------------------------------- */

static bool read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

/* a then b in one sendmsg where it fits: a program waiting for a reply's
 * fixed part and then its data wakes once, not twice. */
static bool write_full(int fd, const void *a, size_t na, const void *b, size_t nb, int flags)
{
    struct iovec iov[2] = {{(void *)a, na}, {(void *)b, nb}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = nb ? 2 : 1};
    while (m.msg_iovlen) {
        ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL | flags);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        for (size_t done = (size_t)r; done && m.msg_iovlen;) {
            size_t step = done < m.msg_iov->iov_len ? done : m.msg_iov->iov_len;
            m.msg_iov->iov_base = (uint8_t *)m.msg_iov->iov_base + step;
            m.msg_iov->iov_len -= step;
            done -= step;
            if (!m.msg_iov->iov_len) m.msg_iov++, m.msg_iovlen--;
        }
    }
    return true;
}

/* A failed write means the client is gone or stuck: end its thread too.
 * flags MSG_DONTWAIT: a client whose socket cannot take the reply at once
 * counts as stuck (one waiting for its reply has room for it). */
static bool client_write_flags(struct pcsock_client *c, const void *a, size_t na, const void *b,
                               size_t nb, int flags)
{
    pthread_mutex_lock(&c->wmu);
    bool ok = write_full(c->fd, a, na, b, nb, flags);
    pthread_mutex_unlock(&c->wmu);
    if (!ok) shutdown(c->fd, SHUT_RDWR);
    return ok;
}

static bool client_write(struct pcsock_client *c, const void *a, size_t na, const void *b,
                         size_t nb)
{
    return client_write_flags(c, a, na, b, nb, 0);
}

bool pcsock_client_signal(struct pcsock_client *c, uint32_t rv)
{
    uint8_t buf[PCSOCK_WAIT_SIZE];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    pcsock_wire_encode_wait(&w, &(struct pcsock_wait){.timeOut = 0, .rv = rv});
    return client_write(c, buf, sizeof buf, NULL, 0);
}

static void client_free(struct pcsock_client *c)
{
    close(c->fd);
    pthread_mutex_destroy(&c->wmu);
    pthread_cond_destroy(&c->tx_cv);
    free(c->send_buf);
    free(c->recv_buf);
    free(c);
}

void pcsock_client_unref(struct pcsock_client *c)
{
    struct pcsock *ps = c->ps;
    pthread_mutex_lock(&ps->mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&ps->mu);
    if (last) client_free(c);
}

/* The reply body of a request: the same struct, out fields and rv filled in. */
static bool reply_flags(struct pcsock_client *c, const struct pcsock_request *r,
                        const void *extra, size_t nextra, int flags)
{
    uint8_t buf[sizeof(union pcsock_body)];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    pcsock_wire_encode_body(&w, r->cmd, &r->body);
    if (!wcur_ok(&w)) return false;
    if (c->ps->trace) {
        uint32_t rv; /* every reply body ends with rv */
        memcpy(&rv, buf + wcur_len(&w) - sizeof rv, sizeof rv);
        pcsock_log(c->ps, "client %u: %s -> rv 0x%08x", c->id, r->cmd->name, rv);
    }
    return client_write_flags(c, buf, wcur_len(&w), extra, nextra, flags);
}

static bool reply(struct pcsock_client *c, const struct pcsock_request *r, const void *extra,
                  size_t nextra)
{
    return reply_flags(c, r, extra, nextra, 0);
}

/* ---- handles and contexts ---------------------------------------------- */

/* Positive 31-bit values, as pcscd's: programs keep handles in signed and
 * 64-bit types, and a negative hCard would sign-extend. */
static uint32_t random_handle(void)
{
    uint32_t v = 0;
    while (getrandom(&v, sizeof v, 0) != sizeof v)
        ;
    return v & 0x7FFFFFFFu;
}

/* mu held */
static struct pcsock_handle *handle_of(struct pcsock *ps, struct pcsock_client *c, int32_t hCard)
{
    for (size_t i = 0; i < ps->nhandles; i++)
        if (ps->handles[i].hCard == hCard && ps->handles[i].owner == c) return &ps->handles[i];
    return NULL;
}

/* A copy of this client's handle (card calls run without mu; only the owner's
 * thread changes its own handles, so the copy stays true). */
static bool handle_get(struct pcsock_client *c, int32_t hCard, struct pcsock_handle *out)
{
    pthread_mutex_lock(&c->ps->mu);
    struct pcsock_handle *h = handle_of(c->ps, c, hCard);
    if (h) *out = *h;
    pthread_mutex_unlock(&c->ps->mu);
    if (!h && c->ps->trace)
        pcsock_log(c->ps, "client %u: hCard 0x%08x is not one of its handles", c->id,
                   (uint32_t)hCard);
    return h != NULL;
}

static void handle_update(struct pcsock_client *c, const struct pcsock_handle *nh)
{
    pthread_mutex_lock(&c->ps->mu);
    struct pcsock_handle *h = handle_of(c->ps, c, nh->hCard);
    if (h) *h = *nh;
    pthread_mutex_unlock(&c->ps->mu);
}

static void handle_remove(struct pcsock_client *c, int32_t hCard)
{
    struct pcsock *ps = c->ps;
    pthread_mutex_lock(&ps->mu);
    struct pcsock_handle *h = handle_of(ps, c, hCard);
    if (h) *h = ps->handles[--ps->nhandles];
    pthread_mutex_unlock(&ps->mu);
}

static bool hcard_taken(const struct pcsock *ps, int32_t hCard)
{
    for (size_t i = 0; i < ps->nhandles; i++)
        if (ps->handles[i].hCard == hCard) return true;
    return false;
}

/* Random wire handles, as pcscd's: unique across the endpoint (the client
 * library looks handles up across all its contexts) and hard to guess. */
static int32_t handle_add(struct pcsock_client *c, struct pcsock_handle *nh)
{
    struct pcsock *ps = c->ps;
    int32_t hCard = 0;
    pthread_mutex_lock(&ps->mu);
    size_t mine = 0;
    for (size_t i = 0; i < ps->nhandles; i++)
        mine += ps->handles[i].owner == c;
    if (mine >= PCSOCK_MAX_HANDLES_PER_CLIENT) goto out;
    if (ps->nhandles == ps->cap_handles) {
        size_t cap = ps->cap_handles ? 2 * ps->cap_handles : 16;
        struct pcsock_handle *v = realloc(ps->handles, cap * sizeof *v);
        if (!v) goto out;
        ps->handles = v;
        ps->cap_handles = cap;
    }
    do
        hCard = (int32_t)random_handle();
    while (!hCard || hcard_taken(ps, hCard));
    nh->hCard = hCard;
    nh->owner = c;
    ps->handles[ps->nhandles++] = *nh;
out:
    pthread_mutex_unlock(&ps->mu);
    return hCard;
}

/* Everything the context held goes back: handles disconnected (reset when
 * the handle was inside a transaction, as pcscd does, so a verified PIN does
 * not outlive the program that typed it). */
static void context_release(struct pcsock_client *c)
{
    struct pcsock *ps = c->ps;
    for (;;) {
        struct pcsock_handle h;
        bool found = false;
        pthread_mutex_lock(&ps->mu);
        for (size_t i = 0; i < ps->nhandles && !found; i++)
            if (ps->handles[i].owner == c) h = ps->handles[i], found = true;
        pthread_mutex_unlock(&ps->mu);
        if (!found) break;
        int32_t rv = ps->ops->disconnect(ps->be, h.card,
                                         h.in_transaction ? SCARD_RESET_CARD : SCARD_LEAVE_CARD);
        if (rv != SCARD_S_SUCCESS)
            pcsock_log(ps, "client %u: releasing hCard 0x%08x: backend disconnect rv 0x%08x", c->id,
                       (uint32_t)h.hCard, (uint32_t)rv);
        handle_remove(c, h.hCard);
    }
    pthread_mutex_lock(&ps->mu);
    c->hContext = 0;
    pthread_mutex_unlock(&ps->mu);
}

static bool context_taken(const struct pcsock *ps, uint32_t hContext)
{
    for (const struct pcsock_client *k = ps->clients; k; k = k->next)
        if (!k->gone && k->hContext == hContext) return true;
    return false;
}

/* ---- the commands -------------------------------------------------------- */

/* Each returns false to close the client (its socket failed or it broke the
 * protocol); otherwise it has replied. */
typedef bool (*serve_fn)(struct pcsock_client *c, struct pcsock_request *r);

static bool serve_version(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_version *m = &r->body.version;
    bool same = m->major == PCSOCK_PROTOCOL_MAJOR && m->minor == PCSOCK_PROTOCOL_MINOR;
    if (!same)
        pcsock_log(c->ps, "client %u: protocol %d.%d, we speak %d.%d", c->id, m->major, m->minor,
                   PCSOCK_PROTOCOL_MAJOR, PCSOCK_PROTOCOL_MINOR);
    m->rv = same ? SCARD_S_SUCCESS : (uint32_t)SCARD_E_SERVICE_STOPPED;
    m->major = PCSOCK_PROTOCOL_MAJOR;
    m->minor = PCSOCK_PROTOCOL_MINOR;
    return reply(c, r, NULL, 0);
}

static bool serve_establish(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_establish *m = &r->body.establish;
    /* The client asks again on the same socket when the context number
     * collides with one of its own; the old one held nothing yet. */
    context_release(c);
    struct pcsock *ps = c->ps;
    pthread_mutex_lock(&ps->mu);
    if (ps->stopping) {
        m->rv = SCARD_E_NO_SERVICE;
    } else {
        do
            m->hContext = random_handle();
        while (!m->hContext || context_taken(ps, m->hContext));
        c->hContext = m->hContext;
        m->rv = SCARD_S_SUCCESS;
    }
    pthread_mutex_unlock(&ps->mu);
    return reply(c, r, NULL, 0);
}

static bool serve_release(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_release *m = &r->body.release;
    pthread_mutex_lock(&c->ps->mu);
    uint32_t mine = c->hContext;
    pthread_mutex_unlock(&c->ps->mu);
    if (!mine)
        m->rv = SCARD_E_INVALID_HANDLE;
    else if (mine != m->hContext)
        m->rv = SCARD_E_INVALID_VALUE;
    else {
        context_release(c);
        m->rv = SCARD_S_SUCCESS;
    }
    return reply(c, r, NULL, 0);
}

static bool serve_connect(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_connect *m = &r->body.connect;
    struct pcsock *ps = c->ps;
    pthread_mutex_lock(&ps->mu);
    bool ctx_ok = c->hContext && c->hContext == m->hContext;
    int slot = pcsock_readers_find(ps, m->szReader);
    pthread_mutex_unlock(&ps->mu);
    m->hCard = 0;
    m->dwActiveProtocol = 0;
    if (!ctx_ok)
        m->rv = SCARD_E_INVALID_HANDLE;
    else if (slot < 0)
        m->rv = SCARD_E_UNKNOWN_READER;
    else {
        uint64_t card = 0;
        uint32_t proto = 0;
        m->rv = (uint32_t)ps->ops->connect(ps->be, m->szReader, m->dwShareMode,
                                           m->dwPreferredProtocols, &card, &proto);
        if (m->rv == SCARD_S_SUCCESS) {
            struct pcsock_handle h = {.card = card,
                                      .slot = slot,
                                      .dwActiveProtocol = proto,
                                      .exclusive = m->dwShareMode == SCARD_SHARE_EXCLUSIVE};
            m->hCard = handle_add(c, &h);
            m->dwActiveProtocol = proto;
            if (!m->hCard) {
                ps->ops->disconnect(ps->be, card, SCARD_LEAVE_CARD);
                m->rv = SCARD_E_NO_MEMORY;
            }
        }
    }
    return reply(c, r, NULL, 0);
}

static bool serve_reconnect(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_reconnect *m = &r->body.reconnect;
    struct pcsock_handle h;
    m->dwActiveProtocol = 0;
    if (!handle_get(c, m->hCard, &h)) {
        m->rv = SCARD_E_INVALID_HANDLE;
        return reply(c, r, NULL, 0);
    }
    m->rv =
        (uint32_t)c->ps->ops->reconnect(c->ps->be, h.card, m->dwShareMode, m->dwPreferredProtocols,
                                        m->dwInitialization, &m->dwActiveProtocol);
    if (m->rv == SCARD_S_SUCCESS) {
        h.exclusive = m->dwShareMode == SCARD_SHARE_EXCLUSIVE;
        h.dwActiveProtocol = m->dwActiveProtocol;
        /* A reset or unpower ends the transaction with the card state. */
        if (m->dwInitialization != SCARD_LEAVE_CARD) h.in_transaction = false;
        handle_update(c, &h);
    }
    return reply(c, r, NULL, 0);
}

static bool serve_disconnect(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_disconnect *m = &r->body.disconnect;
    struct pcsock_handle h;
    if (!handle_get(c, m->hCard, &h)) {
        m->rv = SCARD_E_INVALID_HANDLE;
        return reply(c, r, NULL, 0);
    }
    m->rv = (uint32_t)c->ps->ops->disconnect(c->ps->be, h.card, m->dwDisposition);
    if (m->rv == SCARD_S_SUCCESS) handle_remove(c, m->hCard);
    return reply(c, r, NULL, 0);
}

static bool serve_begin(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_begin *m = &r->body.begin;
    struct pcsock_handle h;
    if (!handle_get(c, m->hCard, &h)) {
        m->rv = SCARD_E_INVALID_HANDLE;
        return reply(c, r, NULL, 0);
    }
    m->rv = (uint32_t)c->ps->ops->begin_transaction(c->ps->be, h.card);
    if (m->rv == SCARD_S_SUCCESS) {
        h.in_transaction = true;
        handle_update(c, &h);
    }
    return reply(c, r, NULL, 0);
}

static bool serve_end(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_end *m = &r->body.end;
    struct pcsock_handle h;
    if (!handle_get(c, m->hCard, &h)) {
        m->rv = SCARD_E_INVALID_HANDLE;
        return reply(c, r, NULL, 0);
    }
    m->rv = (uint32_t)c->ps->ops->end_transaction(c->ps->be, h.card, m->dwDisposition);
    if (m->rv == SCARD_S_SUCCESS) {
        h.in_transaction = false;
        handle_update(c, &h);
    }
    return reply(c, r, NULL, 0);
}

/* Only rv travels: the client takes reader name, state and ATR from the
 * reader states it fetched just before. */
static bool serve_status(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_status *m = &r->body.status;
    struct pcsock_handle h;
    if (!handle_get(c, m->hCard, &h)) {
        m->rv = SCARD_E_INVALID_HANDLE;
        return reply(c, r, NULL, 0);
    }
    char reader[PCSOCK_READER_NAME_MAX];
    uint8_t atr[PCSOCK_ATR_MAX];
    uint32_t state = 0, proto = 0, atr_len = sizeof atr;
    m->rv = (uint32_t)c->ps->ops->status(c->ps->be, h.card, reader, sizeof reader, &state, &proto,
                                         atr, &atr_len);
    return reply(c, r, NULL, 0);
}

/* m's reply from the backend's answer (got: the length it left); returns
 * how many response bytes travel with it. */
static uint32_t transmit_settle(struct pcsock_client *c, struct pcsock_transmit *m, int32_t rv,
                                uint32_t got, uint32_t recv_proto)
{
    m->rv = (uint32_t)rv;
    if (m->rv == SCARD_S_SUCCESS && got > PCSOCK_MAX_BUFFER_EXTENDED) {
        pcsock_log(c->ps, "backend transmit returned %u bytes into %u", got,
                   (unsigned)PCSOCK_MAX_BUFFER_EXTENDED);
        m->rv = SCARD_F_INTERNAL_ERROR;
    } else if (m->rv == SCARD_S_SUCCESS && got > m->pcbRecvLength) {
        /* The client's buffer is smaller: it learns the size, not the bytes. */
        m->rv = SCARD_E_INSUFFICIENT_BUFFER;
    }
    m->ioRecvPciProtocol = recv_proto;
    m->pcbRecvLength = got;
    return m->rv == SCARD_S_SUCCESS ? got : 0;
}

/* The backend's answer, on its thread: the reply goes straight to the
 * program, and the client's own thread, waiting in serve_transmit_async,
 * only learns that it went. */
static void transmit_answered(void *ctx, int32_t rv, const uint8_t *recv, uint32_t len,
                              uint32_t ioRecvPciProtocol)
{
    struct pcsock_client *c = ctx;
    struct pcsock_request *r = c->tx_req;
    struct pcsock_transmit *m = &r->body.transmit;
    /* On failure, what the blocking op leaves: the length and protocol asked. */
    uint32_t n = rv == SCARD_S_SUCCESS
                     ? transmit_settle(c, m, rv, len, ioRecvPciProtocol)
                     : transmit_settle(c, m, rv, PCSOCK_MAX_BUFFER_EXTENDED, m->ioRecvPciProtocol);
    bool ok = reply_flags(c, r, recv, n, MSG_DONTWAIT);
    pthread_mutex_lock(&c->wmu);
    c->tx_answered = true;
    c->tx_ok = ok;
    pthread_cond_signal(&c->tx_cv);
    pthread_mutex_unlock(&c->wmu);
}

static bool serve_transmit_async(struct pcsock_client *c, struct pcsock_request *r,
                                 const struct pcsock_handle *h)
{
    struct pcsock_transmit *m = &r->body.transmit;
    pthread_mutex_lock(&c->wmu);
    c->tx_req = r;
    c->tx_answered = false;
    pthread_mutex_unlock(&c->wmu);
    int32_t rv = c->ps->ops->transmit_async(c->ps->be, h->card, m->ioSendPciProtocol, r->extra,
                                            m->cbSendLength, PCSOCK_MAX_BUFFER_EXTENDED,
                                            transmit_answered, c);
    if (rv != SCARD_S_SUCCESS) {
        transmit_settle(c, m, rv, PCSOCK_MAX_BUFFER_EXTENDED, m->ioRecvPciProtocol);
        return reply(c, r, NULL, 0);
    }
    /* r and the socket stay this request's until its reply is out. */
    pthread_mutex_lock(&c->wmu);
    while (!c->tx_answered)
        pthread_cond_wait(&c->tx_cv, &c->wmu);
    bool ok = c->tx_ok;
    pthread_mutex_unlock(&c->wmu);
    return ok;
}

static bool serve_transmit(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_transmit *m = &r->body.transmit;
    struct pcsock_handle h;
    if (!handle_get(c, m->hCard, &h)) {
        m->rv = SCARD_E_INVALID_HANDLE;
        m->pcbRecvLength = 0;
        return reply(c, r, NULL, 0);
    }
    if (c->ps->ops->transmit_async)
        return serve_transmit_async(c, r, &h);
    uint32_t got = PCSOCK_MAX_BUFFER_EXTENDED;
    uint32_t recv_proto = m->ioRecvPciProtocol;
    int32_t rv = c->ps->ops->transmit(c->ps->be, h.card, m->ioSendPciProtocol, r->extra,
                                      m->cbSendLength, c->recv_buf, &got, &recv_proto);
    uint32_t n = transmit_settle(c, m, rv, got, recv_proto);
    return reply(c, r, c->recv_buf, n);
}

static bool serve_control(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_control *m = &r->body.control;
    struct pcsock_handle h;
    uint32_t got = 0;
    if (!handle_get(c, m->hCard, &h)) {
        m->rv = SCARD_E_INVALID_HANDLE;
    } else {
        m->rv = (uint32_t)c->ps->ops->control(c->ps->be, h.card, m->dwControlCode, r->extra,
                                              m->cbSendLength, c->recv_buf,
                                              PCSOCK_MAX_BUFFER_EXTENDED, &got);
        if (got > PCSOCK_MAX_BUFFER_EXTENDED) {
            pcsock_log(c->ps, "backend control returned %u bytes into %u", got,
                       (unsigned)PCSOCK_MAX_BUFFER_EXTENDED);
            m->rv = SCARD_F_INTERNAL_ERROR;
            got = 0;
        } else if (m->rv == SCARD_S_SUCCESS && got > m->cbRecvLength) {
            m->rv = SCARD_E_INSUFFICIENT_BUFFER;
        }
    }
    m->dwBytesReturned = got;
    bool data = m->rv == SCARD_S_SUCCESS;
    return reply(c, r, c->recv_buf, data ? got : 0);
}

static bool serve_get_attrib(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_getset *m = &r->body.getset;
    struct pcsock_handle h;
    uint32_t cap = m->cbAttrLen; /* at most PCSOCK_MAX_BUFFER: pcsock_wire_extra_len checked */
    memset(m->pbAttr, 0, sizeof m->pbAttr);
    if (!handle_get(c, m->hCard, &h)) {
        m->rv = SCARD_E_INVALID_HANDLE;
        return reply(c, r, NULL, 0);
    }
    uint32_t len = cap;
    m->rv = (uint32_t)c->ps->ops->get_attrib(c->ps->be, h.card, m->dwAttrId, m->pbAttr, &len);
    if (m->rv == SCARD_S_SUCCESS && len > cap) m->rv = SCARD_E_INSUFFICIENT_BUFFER;
    /* Over cap the bytes were not written; the length tells the client what it needs. */
    m->cbAttrLen = len;
    return reply(c, r, NULL, 0);
}

static bool serve_set_attrib(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_getset *m = &r->body.getset;
    struct pcsock_handle h;
    if (!handle_get(c, m->hCard, &h))
        m->rv = SCARD_E_INVALID_HANDLE;
    else
        m->rv = (uint32_t)c->ps->ops->set_attrib(c->ps->be, h.card, m->dwAttrId, m->pbAttr,
                                                 m->cbAttrLen);
    return reply(c, r, NULL, 0);
}

/* SCardCancel: a fresh socket names another socket's context; that socket,
 * if it waits in SCardGetStatusChange, gets its one signal: cancelled. */
static bool serve_cancel(struct pcsock_client *c, struct pcsock_request *r)
{
    struct pcsock_cancel *m = &r->body.cancel;
    struct pcsock *ps = c->ps;
    struct pcsock_client *target = NULL;
    pthread_mutex_lock(&ps->mu);
    for (struct pcsock_client *k = ps->clients; k && !target; k = k->next)
        if (!k->gone && k->hContext && k->hContext == (uint32_t)m->hContext && k->waiting)
            target = k;
    if (target) {
        target->waiting = false;
        target->refs++;
    }
    pthread_mutex_unlock(&ps->mu);
    m->rv = SCARD_E_INVALID_HANDLE; /* pcscd's answer when nobody waits there */
    if (target) {
        m->rv = pcsock_client_signal(target, SCARD_E_CANCELLED) ? SCARD_S_SUCCESS
                                                                : (uint32_t)SCARD_F_COMM_ERROR;
        pcsock_client_unref(target);
    }
    return reply(c, r, NULL, 0);
}

static bool send_reader_states(struct pcsock_client *c, bool and_wait)
{
    static __thread uint8_t list[PCSOCK_READER_LIST_SIZE];
    struct pcsock *ps = c->ps;
    /* wmu first: a signal for this registration cannot overtake the array. */
    pthread_mutex_lock(&c->wmu);
    pthread_mutex_lock(&ps->mu);
    if (and_wait) {
        c->waiting = true;
        c->wait_gen = ps->gen;
    }
    pcsock_readers_encode(ps, list);
    pthread_mutex_unlock(&ps->mu);
    bool ok = write_full(c->fd, list, sizeof list, NULL, 0, 0);
    pthread_mutex_unlock(&c->wmu);
    if (!ok) shutdown(c->fd, SHUT_RDWR);
    return ok;
}

static bool serve_get_readers_state(struct pcsock_client *c, struct pcsock_request *r)
{
    (void)r;
    return send_reader_states(c, false);
}

static bool serve_wait(struct pcsock_client *c, struct pcsock_request *r)
{
    (void)r;
    return send_reader_states(c, true);
}

/* One 8-byte reply, only if the registration still stands: otherwise the
 * event or cancel signal already was that reply. */
static bool serve_stop_waiting(struct pcsock_client *c, struct pcsock_request *r)
{
    (void)r;
    pthread_mutex_lock(&c->ps->mu);
    bool was = c->waiting;
    c->waiting = false;
    pthread_mutex_unlock(&c->ps->mu);
    return was ? pcsock_client_signal(c, SCARD_S_SUCCESS) : true;
}

static const struct serve_row {
    uint32_t command;
    serve_fn serve;
} serve_rows[] = {
    {PCSOCK_CMD_VERSION, serve_version},
    {PCSOCK_SCARD_ESTABLISH_CONTEXT, serve_establish},
    {PCSOCK_SCARD_RELEASE_CONTEXT, serve_release},
    {PCSOCK_SCARD_CONNECT, serve_connect},
    {PCSOCK_SCARD_RECONNECT, serve_reconnect},
    {PCSOCK_SCARD_DISCONNECT, serve_disconnect},
    {PCSOCK_SCARD_BEGIN_TRANSACTION, serve_begin},
    {PCSOCK_SCARD_END_TRANSACTION, serve_end},
    {PCSOCK_SCARD_TRANSMIT, serve_transmit},
    {PCSOCK_SCARD_CONTROL, serve_control},
    {PCSOCK_SCARD_STATUS, serve_status},
    {PCSOCK_SCARD_CANCEL, serve_cancel},
    {PCSOCK_SCARD_GET_ATTRIB, serve_get_attrib},
    {PCSOCK_SCARD_SET_ATTRIB, serve_set_attrib},
    {PCSOCK_CMD_GET_READERS_STATE, serve_get_readers_state},
    {PCSOCK_CMD_WAIT_READER_STATE_CHANGE, serve_wait},
    {PCSOCK_CMD_STOP_WAITING_READER_STATE_CHANGE, serve_stop_waiting},
};

static serve_fn serve_find(uint32_t command)
{
    for (size_t i = 0; i < sizeof serve_rows / sizeof serve_rows[0]; i++)
        if (serve_rows[i].command == command) return serve_rows[i].serve;
    return NULL;
}

/* ---- one client ---------------------------------------------------------- */

/* Read one whole request off the socket (header, body, send buffer) and
 * decode it with the same framing the fuzzer drives.  False: close. */
static bool client_read_request(struct pcsock_client *c, struct pcsock_request *r, uint8_t *raw)
{
    struct scl_err e = {0};
    struct cur cur;
    struct pcsock_header h;
    if (!read_full(c->fd, raw, PCSOCK_HEADER_SIZE)) return false; /* gone: the usual end */
    cur_init(&cur, raw, PCSOCK_HEADER_SIZE);
    if (pcsock_wire_decode_header(&cur, &h, &r->cmd, &e)) goto bad;
    if (h.size && !read_full(c->fd, raw + PCSOCK_HEADER_SIZE, h.size)) goto cut;
    cur_init(&cur, raw + PCSOCK_HEADER_SIZE, h.size);
    if (pcsock_wire_decode_body(&cur, r->cmd, &r->body, &e) ||
        pcsock_wire_extra_len(r->cmd, &r->body, &r->extra_len, &e))
        goto bad;
    r->extra = c->send_buf;
    if (r->extra_len && !read_full(c->fd, c->send_buf, r->extra_len)) goto cut;
    return true;
bad:
    pcsock_log(c->ps, "client %u: %s; closing it", c->id, e.msg);
    return false;
cut:
    pcsock_log(c->ps, "client %u: closed in the middle of %s", c->id, r->cmd->name);
    return false;
}

static void client_serve(struct pcsock_client *c)
{
    /* Header + the largest fixed body (getset_struct). */
    uint8_t raw[PCSOCK_HEADER_SIZE + sizeof(union pcsock_body)];
    for (;;) {
        struct pcsock_request r;
        memset(&r, 0, sizeof r);
        if (!client_read_request(c, &r, raw)) break;
        serve_fn serve = serve_find(r.cmd->command);
        if (!serve) {
            pcsock_log(c->ps, "client %u: %s has no server side; closing it", c->id, r.cmd->name);
            break;
        }
        if (c->ps->trace) pcsock_log(c->ps, "client %u: %s", c->id, r.cmd->name);
        if (!serve(c, &r)) break;
    }
}

static void *client_main(void *arg)
{
    struct pcsock_client *c = arg;
    struct pcsock *ps = c->ps;
    client_serve(c);
    /* Whatever it held goes back; it can no longer receive signals. */
    pthread_mutex_lock(&ps->mu);
    c->waiting = false;
    pthread_mutex_unlock(&ps->mu);
    context_release(c);
    shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_lock(&ps->mu);
    for (struct pcsock_client **p = &ps->clients; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    c->gone = true;
    bool last = --c->refs == 0;
    ps->nclients--;
    pthread_cond_broadcast(&ps->left);
    pthread_mutex_unlock(&ps->mu);
    if (last) client_free(c);
    return NULL;
}

/* ---- accepting ----------------------------------------------------------- */

static bool peer_allowed(struct pcsock *ps, int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof cred) {
        pcsock_log(ps, "refused a peer: SO_PEERCRED failed: %s", strerror(errno));
        return false;
    }
    bool root_ok = ps->peers == PCSOCK_PEERS_UID_AND_ROOT;
    if (cred.uid == ps->allowed_uid || (root_ok && cred.uid == 0)) return true;
    pcsock_log(ps, "refused peer pid %ld uid %lu: only uid %lu%s may use this socket",
               (long)cred.pid, (unsigned long)cred.uid, (unsigned long)ps->allowed_uid,
               root_ok ? " (and root)" : "");
    return false;
}

static void accept_one(struct pcsock *ps, int fd)
{
    struct timeval tv = {SEND_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (!peer_allowed(ps, fd)) {
        close(fd);
        return;
    }
    struct pcsock_client *c = calloc(1, sizeof *c);
    if (c) {
        c->send_buf = malloc(PCSOCK_MAX_BUFFER_EXTENDED);
        c->recv_buf = malloc(PCSOCK_MAX_BUFFER_EXTENDED);
    }
    if (!c || !c->send_buf || !c->recv_buf) {
        pcsock_log(ps, "out of memory for a new client; closing it");
        if (c) free(c->send_buf), free(c->recv_buf), free(c);
        close(fd);
        return;
    }
    c->ps = ps;
    c->fd = fd;
    c->refs = 1; /* its thread's */
    pthread_mutex_init(&c->wmu, NULL);
    pthread_cond_init(&c->tx_cv, NULL);
    pthread_mutex_lock(&ps->mu);
    bool full = ps->nclients >= PCSOCK_MAX_CLIENTS || ps->stopping;
    if (!full) {
        c->id = ++ps->next_id;
        c->next = ps->clients;
        ps->clients = c;
        ps->nclients++;
    }
    pthread_mutex_unlock(&ps->mu);
    if (full) {
        pcsock_log(ps, "%d clients already (or stopping); closing a new one", PCSOCK_MAX_CLIENTS);
        c->refs = 0;
        client_free(c);
        return;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    if (pthread_create(&t, &attr, client_main, c)) {
        pcsock_log(ps, "no thread for client %u; closing it", c->id);
        c->gone = true; /* client_main's exit path, by hand */
        pthread_mutex_lock(&ps->mu);
        for (struct pcsock_client **p = &ps->clients; *p; p = &(*p)->next)
            if (*p == c) {
                *p = c->next;
                break;
            }
        ps->nclients--;
        pthread_mutex_unlock(&ps->mu);
        client_free(c);
    }
    pthread_attr_destroy(&attr);
}

static void *accept_main(void *arg)
{
    struct pcsock *ps = arg;
    struct pollfd pf[2] = {{ps->listen_fd, POLLIN, 0}, {ps->wake_pipe[0], POLLIN, 0}};
    for (;;) {
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR) continue;
            pcsock_log(ps, "poll: %s; no longer accepting", strerror(errno));
            return NULL;
        }
        if (pf[1].revents) return NULL; /* pcsock_stop */
        int fd = accept4(ps->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            accept_one(ps, fd);
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            pcsock_log(ps, "accept: %s; pausing", strerror(errno));
            usleep(100 * 1000);
        }
    }
}

/* ---- start and stop ------------------------------------------------------ */

static int check_dir(const char *socket_path, struct scl_err *e)
{
    char tmp[sizeof((struct sockaddr_un *)0)->sun_path];
    snprintf(tmp, sizeof tmp, "%s", socket_path);
    const char *dir = dirname(tmp);
    struct stat st;
    if (stat(dir, &st))
        return scl_errf(e, SCL_E_IO, "%s: socket directory %s: %s", socket_path, dir,
                        strerror(errno));
    if (!S_ISDIR(st.st_mode) || (st.st_mode & 077))
        return scl_errf(e, SCL_E_INVAL,
                        "%s: socket directory %s is mode %04o; it must be a 0700 directory",
                        socket_path, dir, (unsigned)(st.st_mode & 07777));
    return SCL_OK;
}

static int listen_on(struct pcsock *ps, const char *path, struct scl_err *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return scl_errf(e, SCL_E_INVAL, "%s: socket path longer than %zu bytes", path,
                        sizeof sa.sun_path - 1);
    if (check_dir(path, e)) return e->code;
    struct stat st;
    if (!lstat(path, &st)) {
        if (!S_ISSOCK(st.st_mode))
            return scl_errf(e, SCL_E_STATE, "%s: exists and is not a socket", path);
        unlink(path); /* a stale socket from an endpoint that died */
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    snprintf(ps->path, sizeof ps->path, "%s", path);
    ps->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ps->listen_fd < 0) return scl_errf(e, SCL_E_IO, "%s: socket: %s", path, strerror(errno));
    if (bind(ps->listen_fd, (struct sockaddr *)&sa, sizeof sa))
        return scl_errf(e, SCL_E_IO, "%s: bind: %s", path, strerror(errno));
    /* The 0700 directory keeps others out meanwhile; the peer check stays the rule. */
    if (chmod(path, 0600) ||
        (ps->allowed_uid != geteuid() && !geteuid() && chown(path, ps->allowed_uid, (gid_t)-1)))
        return scl_errf(e, SCL_E_IO, "%s: chmod/chown: %s", path, strerror(errno));
    if (listen(ps->listen_fd, 64))
        return scl_errf(e, SCL_E_IO, "%s: listen: %s", path, strerror(errno));
    return SCL_OK;
}

static void pcsock_free(struct pcsock *ps)
{
    if (ps->listen_fd >= 0) close(ps->listen_fd);
    if (ps->wake_pipe[0] >= 0) close(ps->wake_pipe[0]), close(ps->wake_pipe[1]);
    pthread_mutex_destroy(&ps->mu);
    pthread_cond_destroy(&ps->changed);
    pthread_cond_destroy(&ps->left);
    free(ps->handles);
    free(ps);
}

int pcsock_start(const char *socket_path, const struct pcsock_ops *ops, void *be, uid_t allowed_uid,
                 struct pcsock **out, struct scl_err *e)
{
    return pcsock_start_peers(socket_path, ops, be, allowed_uid, PCSOCK_PEERS_UID_AND_ROOT, out, e);
}

int pcsock_start_peers(const char *socket_path, const struct pcsock_ops *ops, void *be,
                       uid_t allowed_uid, enum pcsock_peers peers, struct pcsock **out,
                       struct scl_err *e)
{
    *out = NULL;
    struct pcsock *ps = calloc(1, sizeof *ps);
    if (!ps) return scl_errf(e, SCL_E_NOMEM, "%s: out of memory", socket_path);
    ps->listen_fd = ps->wake_pipe[0] = ps->wake_pipe[1] = -1;
    ps->ops = ops;
    ps->be = be;
    ps->allowed_uid = allowed_uid;
    ps->peers = peers;
    const char *trace = getenv("PCSOCK_TRACE");
    ps->trace = trace && !strcmp(trace, "1");
    pthread_mutex_init(&ps->mu, NULL);
    pthread_cond_init(&ps->changed, NULL);
    pthread_cond_init(&ps->left, NULL);
    int rc = listen_on(ps, socket_path, e);
    if (!rc && pipe2(ps->wake_pipe, O_CLOEXEC))
        rc = scl_errf(e, SCL_E_IO, "%s: pipe: %s", socket_path, strerror(errno));
    if (!rc && pthread_create(&ps->notify_thread, NULL, pcsock_notify_main, ps))
        rc = scl_errf(e, SCL_E_IO, "%s: cannot start the notifier thread", socket_path);
    if (!rc && pthread_create(&ps->accept_thread, NULL, accept_main, ps)) {
        pthread_mutex_lock(&ps->mu);
        ps->stopping = true;
        pthread_cond_broadcast(&ps->changed);
        pthread_mutex_unlock(&ps->mu);
        pthread_join(ps->notify_thread, NULL);
        rc = scl_errf(e, SCL_E_IO, "%s: cannot start the accept thread", socket_path);
    }
    if (rc) {
        if (ps->listen_fd >= 0 && ps->path[0]) unlink(ps->path);
        pcsock_free(ps);
        return rc;
    }
    *out = ps;
    return SCL_OK;
}

void pcsock_stop(struct pcsock *ps)
{
    if (!ps) return;
    struct pcsock_client **v;
    pthread_mutex_lock(&ps->mu);
    ps->stopping = true;
    pthread_cond_broadcast(&ps->changed);
    size_t n = pcsock_readers_take_all_waiters(ps, &v);
    pthread_mutex_unlock(&ps->mu);
    for (size_t i = 0; i < n; i++) {
        pcsock_client_signal(v[i], SCARD_E_NO_SERVICE);
        pcsock_client_unref(v[i]);
    }
    free(v);
    if (write(ps->wake_pipe[1], "x", 1) != 1) pcsock_log(ps, "cannot wake the accept thread");
    pthread_join(ps->accept_thread, NULL);
    pthread_join(ps->notify_thread, NULL);
    /* Client threads leave once their socket is shut (after any backend call
     * in progress returns) and give back what their contexts held. */
    pthread_mutex_lock(&ps->mu);
    for (struct pcsock_client *c = ps->clients; c; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    while (ps->nclients)
        pthread_cond_wait(&ps->left, &ps->mu);
    pthread_mutex_unlock(&ps->mu);
    unlink(ps->path);
    pcsock_free(ps);
}
