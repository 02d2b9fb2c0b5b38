/*
 * scard_backend.c - the session's PC/SC backend: pcsock's card operations
 * become MS-RDPESC calls to the client's reader over rdpdr, on two contexts
 * (one held by the long GetStatusChange loop that feeds pcsock's reader
 * list, one for card I/O), with Windows <-> pcsc-lite constant translation.
 * Not for the wire protocol on either side (pcsock.c, rdpesc codec).
 */
#include "host_int.h"
#include "pcsock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <winscard.h>

/* Windows values where they differ from pcsc-lite's (winscard.h, winsmcrd.h). */
#define WIN_SCARD_PROTOCOL_RAW 0x00010000u
#define WIN_SCARD_E_UNSUPPORTED_FEATURE ((int32_t)0x80100022)
#define WIN_FILE_DEVICE_SMARTCARD 0x00000031u
#define WIN_SCARD_SCOPE_SYSTEM 2u
#define WIN_INFINITE 0xFFFFFFFFu
#define PNP_READER "\\\\?PnP?\\Notification"

#define BE_MAX_CARDS 32
#define BE_POLL_MS 2000u /* used only when the client cannot wait on the PnP reader */

struct be_card {
    bool used;
    bool in_transaction;
    uint32_t gen;
    struct esc_handle h;
};

struct scard_backend {
    struct rdpdr_chan *ch;
    struct pcsock *ps;
    host_log_fn log;
    void *log_ctx;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool device, ready, failed, stopping;
    unsigned inflight; /* card ops between be_enter and be_leave */
    struct esc_context status_ctx, io_ctx;
    bool have_status_ctx, have_io_ctx;
    pthread_t status_thread;
    bool thread_started;
    struct be_card cards[BE_MAX_CARDS];
    uint32_t next_gen;
    /* Who may use the card I/O context for a lock-taking call: the handle
     * holding a transaction, BE_GATE_CONNECT during a Connect, or 0. */
    uint64_t gate_owner;
    /* How many holds gate_owner has: Connects in flight together, or a
     * card's nested BeginTransactions.  The gate opens at 0, not at the
     * first release (one Connect ending must not open it under another). */
    unsigned gate_holds;
};

#define BE_GATE_CONNECT UINT64_MAX

static void be_logf(struct scard_backend *be, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void be_logf(struct scard_backend *be, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (be->log)
        be->log(be->log_ctx, line);
}

/* ---- constant translation -------------------------------------------------------- */

uint32_t scard_protocol_to_win(uint32_t pcsc)
{
    uint32_t win = pcsc & (SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1);
    if (pcsc & SCARD_PROTOCOL_RAW)
        win |= WIN_SCARD_PROTOCOL_RAW;
    return win;
}

uint32_t scard_protocol_from_win(uint32_t win)
{
    uint32_t pcsc = win & (SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1);
    if (win & WIN_SCARD_PROTOCOL_RAW)
        pcsc |= SCARD_PROTOCOL_RAW;
    return pcsc;
}

/* Windows reports one enumerated state (SCARD_ABSENT=1 .. SCARD_SPECIFIC=6);
 * pcsc-lite a bit mask where a powered card is also present. */
uint32_t scard_card_state_from_win(uint32_t win)
{
    static const uint32_t map[] = {
        SCARD_UNKNOWN,
        SCARD_ABSENT,
        SCARD_PRESENT,
        SCARD_PRESENT | SCARD_SWALLOWED,
        SCARD_PRESENT | SCARD_SWALLOWED | SCARD_POWERED,
        SCARD_PRESENT | SCARD_POWERED | SCARD_NEGOTIABLE,
        SCARD_PRESENT | SCARD_POWERED | SCARD_SPECIFIC,
    };
    return win < sizeof map / sizeof map[0] ? map[win] : SCARD_UNKNOWN;
}

/* pcsc-lite SCARD_CTL_CODE(n) = 0x42000000 + n; Windows CTL_CODE(FILE_DEVICE_SMARTCARD, n,
 * METHOD_BUFFERED, FILE_ANY_ACCESS). */
uint32_t scard_control_code_to_win(uint32_t pcsc)
{
    if (pcsc >= 0x42000000u && pcsc < 0x42000000u + 0x1000u)
        return (WIN_FILE_DEVICE_SMARTCARD << 16) | ((pcsc - 0x42000000u) << 2);
    return pcsc;
}

int32_t scard_rv_from_win(int32_t win)
{
    if (win == WIN_SCARD_E_UNSUPPORTED_FEATURE)
        return (int32_t)SCARD_E_UNSUPPORTED_FEATURE;
    return win;
}

/* ---- calls -------------------------------------------------------------------------- */

/* A call's outcome as a PC/SC code: the return's, or the transport
 * failure's. */
static int32_t be_rv(struct scard_backend *be, int rc, const struct esc_msg *ret,
                     const struct scl_err *e)
{
    if (rc == SCL_OK)
        return scard_rv_from_win(ret->u.long_return.ReturnCode);
    if (rc != SCL_E_STATE)
        be_logf(be, "scard: %s", e->msg);
    if (rc == SCL_E_STATE)
        return (int32_t)SCARD_E_NO_SERVICE;
    if (rc == SCL_E_PCSC)
        return (int32_t)SCARD_F_INTERNAL_ERROR;
    return (int32_t)SCARD_F_COMM_ERROR;
}

/* One MS-RDPESC call; a transport failure becomes a PC/SC error code. */
static int32_t be_call(struct scard_backend *be, struct esc_msg *call, struct esc_msg *ret)
{
    struct scl_err e;
    int rc = rdpdr_chan_call(be->ch, call, ret, &e);
    return be_rv(be, rc, ret, &e);
}

static int32_t be_context_call(struct scard_backend *be, uint32_t ioctl,
                               const struct esc_context *ctx)
{
    struct esc_msg call = {.ioctl = ioctl}, ret;
    call.u.context_call.Context = *ctx;
    int32_t rv = be_call(be, &call, &ret);
    esc_msg_free(&ret);
    return rv;
}

static int32_t be_establish(struct scard_backend *be, struct esc_context *ctx)
{
    struct esc_msg call = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT}, ret;
    call.u.establish_context_call.dwScope = WIN_SCARD_SCOPE_SYSTEM;
    int32_t rv = be_call(be, &call, &ret);
    if (rv == SCARD_S_SUCCESS)
        *ctx = ret.u.establish_context_return.Context;
    esc_msg_free(&ret);
    return rv;
}

/* ---- the status loop ---------------------------------------------------------------- */

struct be_reader {
    char *name;
    struct esc_reader_state_common st;
};

struct be_watch {
    struct be_reader r[ESC_MAX_READERS];
    size_t n; /* the last one is the PnP pseudo-reader */
};

static void watch_clear(struct be_watch *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->r[i].name);
    w->n = 0;
}

/* Re-list the client's readers, keeping what we knew about the ones that stay. */
static int32_t watch_relist(struct scard_backend *be, struct be_watch *w)
{
    struct esc_msg call = {.ioctl = SCARD_IOCTL_LISTREADERSW}, ret;
    struct be_watch old = *w;
    call.u.list_readers_call.Context = be->status_ctx;
    call.u.list_readers_call.cchReaders = 4096; /* a real buffer, no SCARD_AUTOALLOCATE */
    int32_t rv = be_call(be, &call, &ret);
    w->n = 0;
    if (rv == SCARD_S_SUCCESS || rv == (int32_t)SCARD_E_NO_READERS_AVAILABLE) {
        const struct esc_msz *m = &ret.u.list_readers_return.msz;
        for (size_t i = 0; rv == SCARD_S_SUCCESS && i < m->count && w->n < ESC_MAX_READERS - 1;
             i++) {
            struct be_reader *r = &w->r[w->n++];
            memset(r, 0, sizeof *r);
            r->name = strdup(m->names[i]);
            for (size_t j = 0; j + 1 < old.n; j++)
                if (!strcmp(old.r[j].name, m->names[i]))
                    r->st = old.r[j].st;
        }
        rv = SCARD_S_SUCCESS;
    }
    struct be_reader *pnp = &w->r[w->n++];
    memset(pnp, 0, sizeof *pnp);
    pnp->name = strdup(PNP_READER);
    if (old.n)
        pnp->st = old.r[old.n - 1].st;
    esc_msg_free(&ret);
    for (size_t i = 0; i < old.n; i++)
        free(old.r[i].name);
    return rv;
}

static void watch_publish(struct scard_backend *be, const struct be_watch *w)
{
    struct pcsock_reader pr[PCSOCK_MAX_READERS];
    size_t n = 0;
    memset(pr, 0, sizeof pr);
    for (size_t i = 0; i + 1 < w->n && n < PCSOCK_MAX_READERS; i++, n++) {
        const struct esc_reader_state_common *st = &w->r[i].st;
        snprintf(pr[n].name, sizeof pr[n].name, "%s", w->r[i].name);
        pr[n].present = (st->dwEventState & SCARD_STATE_PRESENT) != 0;
        pr[n].in_use = (st->dwEventState & SCARD_STATE_EXCLUSIVE) != 0;
        pr[n].atr_len = st->cbAtr <= PCSOCK_ATR_MAX ? st->cbAtr : 0;
        memcpy(pr[n].atr, st->rgbAtr, pr[n].atr_len);
    }
    pcsock_set_readers(be->ps, pr, n);
}

/* One GetStatusChangeW; *changed says whether any reader (or the PnP reader)
 * moved, *relist whether the reader list itself changed. */
static int32_t watch_wait(struct scard_backend *be, struct be_watch *w, uint32_t timeout,
                          bool *changed, bool *relist)
{
    struct esc_msg call = {.ioctl = SCARD_IOCTL_GETSTATUSCHANGEW}, ret;
    struct esc_reader_state rs[ESC_MAX_READERS];
    *changed = *relist = false;
    for (size_t i = 0; i < w->n; i++) {
        rs[i].szReader = w->r[i].name;
        rs[i].Common = w->r[i].st;
        rs[i].Common.dwCurrentState = w->r[i].st.dwEventState & ~(uint32_t)SCARD_STATE_CHANGED;
    }
    call.u.get_status_change_call.Context = be->status_ctx;
    call.u.get_status_change_call.dwTimeOut = timeout;
    call.u.get_status_change_call.cReaders = (uint32_t)w->n;
    call.u.get_status_change_call.rgReaderStates = rs;
    int32_t rv = be_call(be, &call, &ret);
    const struct esc_get_status_change_return *r = &ret.u.get_status_change_return;
    if (rv == SCARD_S_SUCCESS && r->cReaders == w->n) {
        for (size_t i = 0; i < w->n; i++) {
            bool moved = (r->rgReaderStates[i].dwEventState & SCARD_STATE_CHANGED) != 0;
            *changed |= moved;
            if (i + 1 == w->n)
                *relist |= moved;
            if (r->rgReaderStates[i].dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE))
                *relist = true;
            w->r[i].st = r->rgReaderStates[i];
        }
    } else if (rv == SCARD_S_SUCCESS) {
        rv = (int32_t)SCARD_F_COMM_ERROR;
    }
    esc_msg_free(&ret);
    return rv;
}

static bool be_stopping(struct scard_backend *be)
{
    pthread_mutex_lock(&be->mu);
    bool s = be->stopping;
    pthread_mutex_unlock(&be->mu);
    return s;
}

static void be_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void status_loop(struct scard_backend *be)
{
    struct be_watch w = {0};
    bool relist = true, poll = false;
    while (!be_stopping(be) && rdpdr_chan_has_smartcard(be->ch)) {
        bool changed = false;
        int32_t rv = SCARD_S_SUCCESS;
        if (relist) {
            rv = watch_relist(be, &w);
            watch_publish(be, &w);
            be_logf(be, "scard: client has %zu reader(s)", w.n - 1);
        }
        if (rv == SCARD_S_SUCCESS)
            rv = watch_wait(be, &w, poll ? BE_POLL_MS : WIN_INFINITE, &changed, &relist);
        if (poll && rv == (int32_t)SCARD_E_TIMEOUT)
            relist = true;
        if (rv == SCARD_S_SUCCESS && changed)
            watch_publish(be, &w);
        if (rv == SCARD_S_SUCCESS && !changed && !poll) {
            /* The client answered at once with nothing new: its PC/SC cannot
             * wait on the PnP reader, so poll for reader changes instead. */
            be_logf(be, "scard: client cannot wait for reader changes; polling every %u ms",
                    BE_POLL_MS);
            poll = true;
        }
        if (rv == (int32_t)SCARD_E_UNKNOWN_READER || rv == (int32_t)SCARD_E_READER_UNAVAILABLE)
            relist = true;
        else if (rv != SCARD_S_SUCCESS && rv != (int32_t)SCARD_E_TIMEOUT &&
                 rv != (int32_t)SCARD_E_CANCELLED) {
            if (rv == (int32_t)SCARD_E_NO_SERVICE)
                break;
            be_logf(be, "scard: GetStatusChangeW failed 0x%08X; retrying", (uint32_t)rv);
            be_sleep_ms(500);
            relist = true;
        }
    }
    watch_clear(&w);
    pcsock_set_readers(be->ps, NULL, 0);
}

static void *status_thread(void *arg)
{
    struct scard_backend *be = arg;
    struct esc_context sc = {0}, ic = {0};
    int32_t rv1 = be_establish(be, &sc);
    int32_t rv2 = rv1 == SCARD_S_SUCCESS ? be_establish(be, &ic) : rv1;
    pthread_mutex_lock(&be->mu);
    be->have_status_ctx = rv1 == SCARD_S_SUCCESS;
    be->have_io_ctx = rv2 == SCARD_S_SUCCESS;
    be->status_ctx = sc;
    be->io_ctx = ic;
    be->ready = be->have_io_ctx;
    be->failed = !be->ready;
    pthread_cond_broadcast(&be->cv);
    pthread_mutex_unlock(&be->mu);
    if (!be->ready) {
        be_logf(be, "scard: EstablishContext failed 0x%08X", (uint32_t)(rv1 ? rv1 : rv2));
        return NULL;
    }
    be_logf(be, "scard: contexts established (status loop + card I/O)");
    status_loop(be);
    return NULL;
}

void scard_backend_device_ready(struct scard_backend *be)
{
    pthread_mutex_lock(&be->mu);
    if (!be->thread_started && !be->stopping) {
        be->device = true;
        be->thread_started = pthread_create(&be->status_thread, NULL, status_thread, be) == 0;
    }
    pthread_mutex_unlock(&be->mu);
}

/* ---- card operations (pcsock_ops) ------------------------------------------------------ */

/* Enter a card op: waits (bounded) for the contexts; false when there is no
 * card service in this session. */
static bool be_enter(struct scard_backend *be)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&be->mu);
    while (be->device && !be->ready && !be->failed && !be->stopping)
        if (pthread_cond_timedwait(&be->cv, &be->mu, &until))
            break;
    bool ok = be->ready && !be->stopping;
    if (ok)
        be->inflight++;
    pthread_mutex_unlock(&be->mu);
    return ok;
}

static void be_leave(struct scard_backend *be)
{
    pthread_mutex_lock(&be->mu);
    be->inflight--;
    pthread_cond_broadcast(&be->cv);
    pthread_mutex_unlock(&be->mu);
}

/* The client's pcscd makes SCardConnect, SCardBeginTransaction and a
 * resetting SCardDisconnect wait while another handle holds a transaction,
 * and FreeRDP runs every call on our one card I/O context on one thread.
 * Sent through, such a call would block that thread, and the holder's own
 * Transmit and EndTransaction would queue behind it forever (seen:
 * pkcs15-tool connecting while certprop read the card).  So the wait
 * happens here, on our side, and the context stays free. */
static bool be_gate_claim(struct scard_backend *be, uint64_t owner)
{
    pthread_mutex_lock(&be->mu);
    while (be->gate_owner && be->gate_owner != owner && !be->stopping && !be->failed)
        pthread_cond_wait(&be->cv, &be->mu);
    bool ok = !be->stopping && !be->failed;
    if (ok) {
        be->gate_owner = owner;
        be->gate_holds++;
    }
    pthread_mutex_unlock(&be->mu);
    return ok;
}

/* One hold of owner's ends; all of them when all (a Disconnect ends every
 * nested transaction of its handle). */
static void be_gate_release_holds(struct scard_backend *be, uint64_t owner, bool all)
{
    pthread_mutex_lock(&be->mu);
    if (be->gate_owner == owner && be->gate_holds) {
        be->gate_holds = all ? 0 : be->gate_holds - 1;
        if (!be->gate_holds) {
            be->gate_owner = 0;
            pthread_cond_broadcast(&be->cv);
        }
    }
    pthread_mutex_unlock(&be->mu);
}

static void be_gate_release(struct scard_backend *be, uint64_t owner)
{
    be_gate_release_holds(be, owner, false);
}

static struct be_card *be_card(struct scard_backend *be, uint64_t card)
{
    uint32_t slot = (uint32_t)card & 0xFFFF, gen = (uint32_t)(card >> 32);
    if (slot == 0 || slot > BE_MAX_CARDS)
        return NULL;
    struct be_card *c = &be->cards[slot - 1];
    return c->used && c->gen == gen ? c : NULL;
}

/* Look a handle up, copying it out under the lock. */
static bool be_handle(struct scard_backend *be, uint64_t card, struct esc_handle *h)
{
    pthread_mutex_lock(&be->mu);
    struct be_card *c = be_card(be, card);
    if (c)
        *h = c->h;
    pthread_mutex_unlock(&be->mu);
    return c != NULL;
}

static int32_t op_connect(void *ctx, const char *reader, uint32_t dwShareMode,
                          uint32_t dwPreferredProtocols, uint64_t *card,
                          uint32_t *dwActiveProtocol)
{
    struct scard_backend *be = ctx;
    struct esc_msg call = {.ioctl = SCARD_IOCTL_CONNECTW}, ret;
    if (!be_enter(be))
        return (int32_t)SCARD_E_NO_SERVICE;
    call.u.connect_call.Context = be->io_ctx;
    call.u.connect_call.szReader = (char *)reader;
    call.u.connect_call.dwShareMode = dwShareMode;
    call.u.connect_call.dwPreferredProtocols = scard_protocol_to_win(dwPreferredProtocols);
    if (!be_gate_claim(be, BE_GATE_CONNECT)) {
        be_leave(be);
        return (int32_t)SCARD_E_NO_SERVICE;
    }
    int32_t rv = be_call(be, &call, &ret);
    be_gate_release(be, BE_GATE_CONNECT);
    if (rv == SCARD_S_SUCCESS) {
        pthread_mutex_lock(&be->mu);
        size_t i = 0;
        while (i < BE_MAX_CARDS && be->cards[i].used)
            i++;
        if (i == BE_MAX_CARDS) {
            rv = (int32_t)SCARD_E_NO_MEMORY;
        } else {
            struct be_card *c = &be->cards[i];
            c->used = true;
            c->in_transaction = false;
            c->gen = ++be->next_gen;
            c->h = ret.u.connect_return.hCard;
            *card = ((uint64_t)c->gen << 32) | (i + 1);
            *dwActiveProtocol = scard_protocol_from_win(ret.u.connect_return.dwActiveProtocol);
        }
        pthread_mutex_unlock(&be->mu);
    }
    esc_msg_free(&ret);
    be_leave(be);
    return rv;
}

static int32_t op_reconnect(void *ctx, uint64_t card, uint32_t dwShareMode,
                            uint32_t dwPreferredProtocols, uint32_t dwInitialization,
                            uint32_t *dwActiveProtocol)
{
    struct scard_backend *be = ctx;
    struct esc_msg call = {.ioctl = SCARD_IOCTL_RECONNECT}, ret;
    if (!be_enter(be))
        return (int32_t)SCARD_E_NO_SERVICE;
    int32_t rv = (int32_t)SCARD_E_INVALID_HANDLE;
    if (be_handle(be, card, &call.u.reconnect_call.hCard)) {
        call.u.reconnect_call.dwShareMode = dwShareMode;
        call.u.reconnect_call.dwPreferredProtocols = scard_protocol_to_win(dwPreferredProtocols);
        call.u.reconnect_call.dwInitialization = dwInitialization;
        rv = be_call(be, &call, &ret);
        if (rv == SCARD_S_SUCCESS)
            *dwActiveProtocol = scard_protocol_from_win(ret.u.reconnect_return.dwActiveProtocol);
        esc_msg_free(&ret);
    }
    be_leave(be);
    return rv;
}

/* Disconnect, Begin/EndTransaction share HCardAndDisposition_Call. */
static int32_t be_hcard_call(struct scard_backend *be, uint32_t ioctl, uint64_t card,
                             uint32_t dwDisposition)
{
    struct esc_msg call = {.ioctl = ioctl}, ret;
    if (!be_handle(be, card, &call.u.hcard_and_disposition_call.hCard))
        return (int32_t)SCARD_E_INVALID_HANDLE;
    call.u.hcard_and_disposition_call.dwDisposition = dwDisposition;
    int32_t rv = be_call(be, &call, &ret);
    esc_msg_free(&ret);
    pthread_mutex_lock(&be->mu);
    struct be_card *c = be_card(be, card);
    if (c && rv == SCARD_S_SUCCESS && ioctl == SCARD_IOCTL_BEGINTRANSACTION)
        c->in_transaction = true;
    if (c && ioctl == SCARD_IOCTL_ENDTRANSACTION)
        c->in_transaction = false;
    if (c && ioctl == SCARD_IOCTL_DISCONNECT &&
        (rv == SCARD_S_SUCCESS || rv == (int32_t)SCARD_E_INVALID_HANDLE))
        c->used = false;
    pthread_mutex_unlock(&be->mu);
    return rv;
}

static int32_t op_disconnect(void *ctx, uint64_t card, uint32_t dwDisposition)
{
    struct scard_backend *be = ctx;
    if (!be_enter(be))
        return (int32_t)SCARD_E_NO_SERVICE;
    /* pcscd holds a Disconnect that resets or unpowers the card while
     * another handle's transaction lasts: through the gate, like Connect. */
    if (dwDisposition != SCARD_LEAVE_CARD && !be_gate_claim(be, card)) {
        be_leave(be);
        return (int32_t)SCARD_E_NO_SERVICE;
    }
    int32_t rv = be_hcard_call(be, SCARD_IOCTL_DISCONNECT, card, dwDisposition);
    be_gate_release_holds(be, card, true); /* disconnecting ends its transactions too */
    be_leave(be);
    return rv;
}

static int32_t op_begin_transaction(void *ctx, uint64_t card)
{
    struct scard_backend *be = ctx;
    if (!be_enter(be))
        return (int32_t)SCARD_E_NO_SERVICE;
    if (!be_gate_claim(be, card)) {
        be_leave(be);
        return (int32_t)SCARD_E_NO_SERVICE;
    }
    int32_t rv = be_hcard_call(be, SCARD_IOCTL_BEGINTRANSACTION, card, 0);
    if (rv != SCARD_S_SUCCESS)
        be_gate_release(be, card);
    be_leave(be);
    return rv;
}

static int32_t op_end_transaction(void *ctx, uint64_t card, uint32_t dwDisposition)
{
    struct scard_backend *be = ctx;
    if (!be_enter(be))
        return (int32_t)SCARD_E_NO_SERVICE;
    int32_t rv = be_hcard_call(be, SCARD_IOCTL_ENDTRANSACTION, card, dwDisposition);
    be_gate_release(be, card);
    be_leave(be);
    return rv;
}

static int32_t op_status(void *ctx, uint64_t card, char *reader, size_t reader_cap,
                         uint32_t *dwState, uint32_t *dwProtocol, uint8_t *atr, uint32_t *atr_len)
{
    struct scard_backend *be = ctx;
    struct esc_msg call = {.ioctl = SCARD_IOCTL_STATUSW}, ret;
    if (!be_enter(be))
        return (int32_t)SCARD_E_NO_SERVICE;
    int32_t rv = (int32_t)SCARD_E_INVALID_HANDLE;
    if (be_handle(be, card, &call.u.status_call.hCard)) {
        call.u.status_call.cchReaderLen = 1024;
        call.u.status_call.cbAtrLen = ESC_STATUS_ATR_BYTES;
        rv = be_call(be, &call, &ret);
        const struct esc_status_return *r = &ret.u.status_return;
        if (rv == SCARD_S_SUCCESS) {
            snprintf(reader, reader_cap, "%s",
                     r->mszReaderNames.count ? r->mszReaderNames.names[0] : "");
            *dwState = scard_card_state_from_win(r->dwState);
            *dwProtocol = scard_protocol_from_win(r->dwProtocol);
            uint32_t n = r->cbAtrLen < *atr_len ? r->cbAtrLen : *atr_len;
            memcpy(atr, r->pbAtr, n);
            *atr_len = n;
        }
        esc_msg_free(&ret);
    }
    be_leave(be);
    return rv;
}

/* A Transmit under way without a waiting thread. */
struct be_transmit {
    struct scard_backend *be;
    uint32_t ioSendPciProtocol, cap;
    pcsock_transmit_done done;
    void *ctx;
};

/* Runs on the thread that received the completion (the peer thread). */
static void transmit_answered(void *arg, int rc, struct esc_msg *ret, const struct scl_err *e)
{
    struct be_transmit *tx = arg;
    struct scard_backend *be = tx->be;
    int32_t rv = be_rv(be, rc, ret, e);
    const struct esc_transmit_return *r = &ret->u.transmit_return;
    if (rv == SCARD_S_SUCCESS && r->cbRecvLength > tx->cap)
        rv = (int32_t)SCARD_E_INSUFFICIENT_BUFFER;
    if (rv == SCARD_S_SUCCESS)
        tx->done(tx->ctx, rv, r->pbRecvBuffer, r->cbRecvLength,
                 r->pioRecvPci ? scard_protocol_from_win(r->pioRecvPci->dwProtocol)
                               : tx->ioSendPciProtocol);
    else
        tx->done(tx->ctx, rv, NULL, 0, 0);
    free(tx);
    be_leave(be);
}

static int32_t op_transmit_async(void *ctx, uint64_t card, uint32_t ioSendPciProtocol,
                                 const uint8_t *send, uint32_t cbSendLength,
                                 uint32_t cbRecvLength, pcsock_transmit_done done, void *done_ctx)
{
    struct scard_backend *be = ctx;
    struct esc_msg call = {.ioctl = SCARD_IOCTL_TRANSMIT};
    struct be_transmit *tx = malloc(sizeof *tx);
    if (!tx)
        return (int32_t)SCARD_E_NO_MEMORY;
    *tx = (struct be_transmit){be, ioSendPciProtocol, cbRecvLength, done, done_ctx};
    if (!be_enter(be)) {
        free(tx);
        return (int32_t)SCARD_E_NO_SERVICE;
    }
    if (!be_handle(be, card, &call.u.transmit_call.hCard)) {
        free(tx);
        be_leave(be);
        return (int32_t)SCARD_E_INVALID_HANDLE;
    }
    struct esc_transmit_call *t = &call.u.transmit_call;
    t->ioSendPci.dwProtocol = scard_protocol_to_win(ioSendPciProtocol);
    t->cbSendLength = cbSendLength;
    t->pbSendBuffer = (uint8_t *)send;
    t->cbRecvLength = cbRecvLength < ESC_MAX_BUFFER ? cbRecvLength : ESC_MAX_BUFFER;
    struct scl_err e;
    int rc = rdpdr_chan_call_async(be->ch, &call, transmit_answered, tx, &e);
    if (rc == SCL_OK)
        return SCARD_S_SUCCESS; /* transmit_answered leaves */
    free(tx);
    int32_t rv = be_rv(be, rc, NULL, &e);
    be_leave(be);
    return rv;
}

static int32_t op_control(void *ctx, uint64_t card, uint32_t dwControlCode, const uint8_t *in,
                          uint32_t cbInBufferSize, uint8_t *out, uint32_t cbOutBufferSize,
                          uint32_t *lpBytesReturned)
{
    struct scard_backend *be = ctx;
    struct esc_msg call = {.ioctl = SCARD_IOCTL_CONTROL}, ret;
    if (!be_enter(be))
        return (int32_t)SCARD_E_NO_SERVICE;
    int32_t rv = (int32_t)SCARD_E_INVALID_HANDLE;
    struct esc_control_call *c = &call.u.control_call;
    if (be_handle(be, card, &c->hCard)) {
        c->dwControlCode = scard_control_code_to_win(dwControlCode);
        c->cbInBufferSize = cbInBufferSize;
        c->pvInBuffer = (uint8_t *)in;
        c->cbOutBufferSize = cbOutBufferSize < ESC_MAX_BUFFER ? cbOutBufferSize : ESC_MAX_BUFFER;
        rv = be_call(be, &call, &ret);
        const struct esc_control_return *r = &ret.u.control_return;
        if (rv == SCARD_S_SUCCESS && r->cbOutBufferSize > cbOutBufferSize)
            rv = (int32_t)SCARD_E_INSUFFICIENT_BUFFER;
        if (rv == SCARD_S_SUCCESS) {
            memcpy(out, r->pvOutBuffer, r->cbOutBufferSize);
            *lpBytesReturned = r->cbOutBufferSize;
        }
        esc_msg_free(&ret);
    }
    be_leave(be);
    return rv;
}

static int32_t op_get_attrib(void *ctx, uint64_t card, uint32_t dwAttrId, uint8_t *attr,
                             uint32_t *pcbAttrLen)
{
    struct scard_backend *be = ctx;
    struct esc_msg call = {.ioctl = SCARD_IOCTL_GETATTRIB}, ret;
    if (!be_enter(be))
        return (int32_t)SCARD_E_NO_SERVICE;
    int32_t rv = (int32_t)SCARD_E_INVALID_HANDLE;
    struct esc_get_attrib_call *g = &call.u.get_attrib_call;
    if (be_handle(be, card, &g->hCard)) {
        /* SCARD_ATTR_VALUE(class, tag) numbers the attributes the same way
         * in pcsc-lite's reader.h and Windows' winsmcrd.h: no translation. */
        g->dwAttrId = dwAttrId;
        g->cbAttrLen = *pcbAttrLen < ESC_MAX_BUFFER ? *pcbAttrLen : ESC_MAX_BUFFER;
        rv = be_call(be, &call, &ret);
        const struct esc_get_attrib_return *r = &ret.u.get_attrib_return;
        if (rv == SCARD_S_SUCCESS && r->cbAttrLen > *pcbAttrLen)
            rv = (int32_t)SCARD_E_INSUFFICIENT_BUFFER;
        if (rv == SCARD_S_SUCCESS) {
            memcpy(attr, r->pbAttr, r->cbAttrLen);
            *pcbAttrLen = r->cbAttrLen;
        }
        esc_msg_free(&ret);
    }
    be_leave(be);
    return rv;
}

static int32_t op_set_attrib(void *ctx, uint64_t card, uint32_t dwAttrId, const uint8_t *attr,
                             uint32_t cbAttrLen)
{
    struct scard_backend *be = ctx;
    struct esc_msg call = {.ioctl = SCARD_IOCTL_SETATTRIB}, ret;
    if (!be_enter(be))
        return (int32_t)SCARD_E_NO_SERVICE;
    int32_t rv = (int32_t)SCARD_E_INVALID_HANDLE;
    struct esc_set_attrib_call *s = &call.u.set_attrib_call;
    if (be_handle(be, card, &s->hCard)) {
        s->dwAttrId = dwAttrId;
        s->cbAttrLen = cbAttrLen;
        s->pbAttr = (uint8_t *)attr;
        rv = be_call(be, &call, &ret);
        esc_msg_free(&ret);
    }
    be_leave(be);
    return rv;
}

static const struct pcsock_ops be_ops = {
    .connect = op_connect,
    .reconnect = op_reconnect,
    .disconnect = op_disconnect,
    .begin_transaction = op_begin_transaction,
    .end_transaction = op_end_transaction,
    .status = op_status,
    .transmit_async = op_transmit_async, /* pcsock needs no blocking transmit beside it */
    .control = op_control,
    .get_attrib = op_get_attrib,
    .set_attrib = op_set_attrib,
};

/* ---- life cycle ------------------------------------------------------------------------ */

int scard_backend_start(struct rdpdr_chan *ch, const char *sock_path, uid_t uid,
                        enum pcsock_peers peers, host_log_fn log, void *log_ctx,
                        struct scard_backend **out, struct scl_err *e)
{
    struct scard_backend *be = calloc(1, sizeof *be);
    if (!be)
        return scl_errf(e, SCL_E_NOMEM, "scard backend: out of memory");
    be->ch = ch;
    be->log = log;
    be->log_ctx = log_ctx;
    pthread_mutex_init(&be->mu, NULL);
    pthread_cond_init(&be->cv, NULL);
    int rc = pcsock_start_peers(sock_path, &be_ops, be, uid, peers, &be->ps, e);
    if (rc) {
        pthread_cond_destroy(&be->cv);
        pthread_mutex_destroy(&be->mu);
        free(be);
        return rc;
    }
    *out = be;
    return SCL_OK;
}

/* Close what the client still holds for us, in the order that never leaves
 * its smart-card threads waiting: Cancel the status loop, wait for it,
 * end transactions, disconnect cards, release both contexts. */
static void be_teardown(struct scard_backend *be)
{
    pthread_mutex_lock(&be->mu);
    be->stopping = true;
    pthread_cond_broadcast(&be->cv);
    while (be->inflight)
        pthread_cond_wait(&be->cv, &be->mu);
    bool started = be->thread_started;
    pthread_mutex_unlock(&be->mu);
    if (!started)
        return;
    if (be->have_status_ctx)
        be_context_call(be, SCARD_IOCTL_CANCEL, &be->status_ctx);
    pthread_join(be->status_thread, NULL);
    unsigned closed = 0;
    for (size_t i = 0; i < BE_MAX_CARDS; i++) {
        struct be_card *c = &be->cards[i];
        uint64_t id = ((uint64_t)c->gen << 32) | (i + 1);
        if (!c->used)
            continue;
        if (c->in_transaction)
            be_hcard_call(be, SCARD_IOCTL_ENDTRANSACTION, id, SCARD_LEAVE_CARD);
        be_hcard_call(be, SCARD_IOCTL_DISCONNECT, id, SCARD_LEAVE_CARD);
        c->used = false;
        closed++;
    }
    if (be->have_io_ctx)
        be_context_call(be, SCARD_IOCTL_RELEASECONTEXT, &be->io_ctx);
    if (be->have_status_ctx)
        be_context_call(be, SCARD_IOCTL_RELEASECONTEXT, &be->status_ctx);
    be_logf(be, "scard: teardown done (%u card handle(s) closed, contexts released)", closed);
}

void scard_backend_stop(struct scard_backend *be)
{
    if (!be)
        return;
    be_teardown(be);
    pcsock_stop(be->ps);
    pthread_cond_destroy(&be->cv);
    pthread_mutex_destroy(&be->mu);
    free(be);
}
