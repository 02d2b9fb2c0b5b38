/*
 * pcsock_passthrough.c - a pcsock backend over libpcsclite: each card handle
 * gets its own upstream context (so calls on different handles never queue
 * behind each other), and a watcher mirrors the upstream readers.  Test
 * infrastructure; not the session host's rdpdr backend.
 */
#include "pcsock_passthrough.h"

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WATCH_TIMEOUT_MS 1000 /* the watcher looks at its stop flag this often */
#define MAX_WATCHED PCSOCK_MAX_READERS
#define PNP_READER "\\\\?PnP?\\Notification"

struct pcsock_passthrough {
    struct pcsock *ps;
    pthread_t watcher;
    bool watching;
    pthread_mutex_t mu; /* stop, wctx */
    bool stop;
    SCARDCONTEXT wctx; /* the watcher's, for SCardCancel; 0 when none */
};

/* libpcsclite, bound by hand: libwinpr2 exports the same SCard* names, and
 * in a binary that also links FreeRDP the dynamic linker may bind some calls
 * to WinPR's wrapper and others to libpcsclite (handles then go missing). */
static struct {
    __typeof__(&SCardEstablishContext) SCardEstablishContext;
    __typeof__(&SCardReleaseContext) SCardReleaseContext;
    __typeof__(&SCardConnect) SCardConnect;
    __typeof__(&SCardReconnect) SCardReconnect;
    __typeof__(&SCardDisconnect) SCardDisconnect;
    __typeof__(&SCardBeginTransaction) SCardBeginTransaction;
    __typeof__(&SCardEndTransaction) SCardEndTransaction;
    __typeof__(&SCardStatus) SCardStatus;
    __typeof__(&SCardTransmit) SCardTransmit;
    __typeof__(&SCardControl) SCardControl;
    __typeof__(&SCardGetAttrib) SCardGetAttrib;
    __typeof__(&SCardSetAttrib) SCardSetAttrib;
    __typeof__(&SCardListReaders) SCardListReaders;
    __typeof__(&SCardGetStatusChange) SCardGetStatusChange;
    __typeof__(&SCardCancel) SCardCancel;
    __typeof__(&pcsc_stringify_error) pcsc_stringify_error;
} up;
static const char *up_error;

static void up_load(void)
{
    void *lib = dlopen("libpcsclite.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        up_error = dlerror();
        return;
    }
#define UP_SYM(n)                                                                                  \
    {                                                                                              \
#n, (void **)&up.n                                                                         \
    }
    const struct {
        const char *name;
        void **slot;
    } syms[] = {
        UP_SYM(SCardEstablishContext), UP_SYM(SCardReleaseContext),  UP_SYM(SCardConnect),
        UP_SYM(SCardReconnect),        UP_SYM(SCardDisconnect),      UP_SYM(SCardBeginTransaction),
        UP_SYM(SCardEndTransaction),   UP_SYM(SCardStatus),          UP_SYM(SCardTransmit),
        UP_SYM(SCardControl),          UP_SYM(SCardGetAttrib),       UP_SYM(SCardSetAttrib),
        UP_SYM(SCardListReaders),      UP_SYM(SCardGetStatusChange), UP_SYM(SCardCancel),
        UP_SYM(pcsc_stringify_error),
    };
#undef UP_SYM
    for (size_t i = 0; i < sizeof syms / sizeof syms[0] && !up_error; i++)
        if (!(*syms[i].slot = dlsym(lib, syms[i].name))) up_error = dlerror();
}

static int up_bind(struct scl_err *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, up_load);
    if (up_error) return scl_errf(e, SCL_E_PCSC, "libpcsclite.so.1: %s", up_error);
    return SCL_OK;
}

/* One upstream handle with its own context. */
struct pt_card {
    SCARDCONTEXT ctx;
    SCARDHANDLE h;
};

static struct pt_card *card_of(uint64_t card)
{
    return (struct pt_card *)(uintptr_t)card;
}

static int32_t pt_connect(void *be, const char *reader, uint32_t dwShareMode,
                          uint32_t dwPreferredProtocols, uint64_t *card, uint32_t *dwActiveProtocol)
{
    (void)be;
    struct pt_card *pc = calloc(1, sizeof *pc);
    if (!pc) return (int32_t)SCARD_E_NO_MEMORY;
    LONG rv = up.SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &pc->ctx);
    if (rv != SCARD_S_SUCCESS) {
        free(pc);
        return (int32_t)rv;
    }
    DWORD proto = 0;
    rv = up.SCardConnect(pc->ctx, reader, dwShareMode, dwPreferredProtocols, &pc->h, &proto);
    if (rv != SCARD_S_SUCCESS) {
        up.SCardReleaseContext(pc->ctx);
        free(pc);
        return (int32_t)rv;
    }
    *card = (uint64_t)(uintptr_t)pc;
    *dwActiveProtocol = (uint32_t)proto;
    return SCARD_S_SUCCESS;
}

static int32_t pt_reconnect(void *be, uint64_t card, uint32_t dwShareMode,
                            uint32_t dwPreferredProtocols, uint32_t dwInitialization,
                            uint32_t *dwActiveProtocol)
{
    (void)be;
    DWORD proto = 0;
    LONG rv = up.SCardReconnect(card_of(card)->h, dwShareMode, dwPreferredProtocols,
                                dwInitialization, &proto);
    *dwActiveProtocol = (uint32_t)proto;
    return (int32_t)rv;
}

/* pcsock forgets the handle only on success; a failure here keeps it for
 * the context release, which disconnects again. */
static int32_t pt_disconnect(void *be, uint64_t card, uint32_t dwDisposition)
{
    (void)be;
    struct pt_card *pc = card_of(card);
    LONG rv = up.SCardDisconnect(pc->h, dwDisposition);
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_INVALID_HANDLE && rv != SCARD_E_NO_SERVICE)
        return (int32_t)rv;
    up.SCardReleaseContext(pc->ctx);
    free(pc);
    return SCARD_S_SUCCESS;
}

static int32_t pt_begin(void *be, uint64_t card)
{
    (void)be;
    return (int32_t)up.SCardBeginTransaction(card_of(card)->h);
}

static int32_t pt_end(void *be, uint64_t card, uint32_t dwDisposition)
{
    (void)be;
    return (int32_t)up.SCardEndTransaction(card_of(card)->h, dwDisposition);
}

static int32_t pt_status(void *be, uint64_t card, char *reader, size_t reader_cap,
                         uint32_t *dwState, uint32_t *dwProtocol, uint8_t *atr, uint32_t *atr_len)
{
    (void)be;
    DWORD rlen = (DWORD)reader_cap, st = 0, pr = 0, alen = *atr_len;
    LONG rv = up.SCardStatus(card_of(card)->h, reader, &rlen, &st, &pr, atr, &alen);
    *dwState = (uint32_t)st;
    *dwProtocol = (uint32_t)pr;
    *atr_len = (uint32_t)alen;
    return (int32_t)rv;
}

static int32_t pt_transmit(void *be, uint64_t card, uint32_t ioSendPciProtocol, const uint8_t *send,
                           uint32_t cbSendLength, uint8_t *recv, uint32_t *pcbRecvLength,
                           uint32_t *ioRecvPciProtocol)
{
    (void)be;
    SCARD_IO_REQUEST spci = {ioSendPciProtocol, sizeof(SCARD_IO_REQUEST)};
    SCARD_IO_REQUEST rpci = {*ioRecvPciProtocol, sizeof(SCARD_IO_REQUEST)};
    DWORD len = *pcbRecvLength;
    LONG rv = up.SCardTransmit(card_of(card)->h, &spci, send, cbSendLength, &rpci, recv, &len);
    *pcbRecvLength = (uint32_t)len;
    *ioRecvPciProtocol = (uint32_t)rpci.dwProtocol;
    return (int32_t)rv;
}

static int32_t pt_control(void *be, uint64_t card, uint32_t dwControlCode, const uint8_t *in,
                          uint32_t cbInBufferSize, uint8_t *out, uint32_t cbOutBufferSize,
                          uint32_t *lpBytesReturned)
{
    (void)be;
    DWORD got = 0;
    LONG rv = up.SCardControl(card_of(card)->h, dwControlCode, in, cbInBufferSize, out,
                              cbOutBufferSize, &got);
    *lpBytesReturned = (uint32_t)got;
    return (int32_t)rv;
}

static int32_t pt_get_attrib(void *be, uint64_t card, uint32_t dwAttrId, uint8_t *attr,
                             uint32_t *pcbAttrLen)
{
    (void)be;
    DWORD len = *pcbAttrLen;
    LONG rv = up.SCardGetAttrib(card_of(card)->h, dwAttrId, attr, &len);
    *pcbAttrLen = (uint32_t)len;
    return (int32_t)rv;
}

static int32_t pt_set_attrib(void *be, uint64_t card, uint32_t dwAttrId, const uint8_t *attr,
                             uint32_t cbAttrLen)
{
    (void)be;
    return (int32_t)up.SCardSetAttrib(card_of(card)->h, dwAttrId, attr, cbAttrLen);
}

static const struct pcsock_ops pt_ops = {
    .connect = pt_connect,
    .reconnect = pt_reconnect,
    .disconnect = pt_disconnect,
    .begin_transaction = pt_begin,
    .end_transaction = pt_end,
    .status = pt_status,
    .transmit = pt_transmit,
    .control = pt_control,
    .get_attrib = pt_get_attrib,
    .set_attrib = pt_set_attrib,
};

const struct pcsock_ops *pcsock_passthrough_ops(void)
{
    return &pt_ops;
}

int pcsock_passthrough_open(struct pcsock_passthrough **out, struct scl_err *e)
{
    *out = NULL;
    if (up_bind(e)) return e->code;
    SCARDCONTEXT ctx;
    LONG rv = up.SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS)
        return scl_errf(e, SCL_E_PCSC, "upstream pcscd (PCSCLITE_CSOCK_NAME=%s): %s",
                        getenv("PCSCLITE_CSOCK_NAME") ? getenv("PCSCLITE_CSOCK_NAME") : "(unset)",
                        up.pcsc_stringify_error(rv));
    up.SCardReleaseContext(ctx);
    struct pcsock_passthrough *pt = calloc(1, sizeof *pt);
    if (!pt) return scl_errf(e, SCL_E_NOMEM, "passthrough: out of memory");
    pthread_mutex_init(&pt->mu, NULL);
    *out = pt;
    return SCL_OK;
}

/* ---- the watcher ----------------------------------------------------------- */

struct watch_set {
    char names[MAX_WATCHED][PCSOCK_READER_NAME_MAX];
    SCARD_READERSTATE st[MAX_WATCHED + 1]; /* the readers, then PnP */
    size_t n;
};

static LONG watch_list(SCARDCONTEXT ctx, struct watch_set *ws)
{
    char buf[MAX_WATCHED * PCSOCK_READER_NAME_MAX + 1];
    DWORD len = sizeof buf;
    memset(ws, 0, sizeof *ws);
    LONG rv = up.SCardListReaders(ctx, NULL, buf, &len);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) rv = SCARD_S_SUCCESS, len = 0;
    if (rv != SCARD_S_SUCCESS) return rv;
    if (len > sizeof buf) len = sizeof buf;
    buf[sizeof buf - 1] = 0;
    for (const char *r = buf; r < buf + len && *r && ws->n < MAX_WATCHED; r += strlen(r) + 1) {
        snprintf(ws->names[ws->n], PCSOCK_READER_NAME_MAX, "%s", r);
        ws->st[ws->n].szReader = ws->names[ws->n];
        ws->st[ws->n].dwCurrentState = SCARD_STATE_UNAWARE;
        ws->n++;
    }
    ws->st[ws->n].szReader = PNP_READER;
    ws->st[ws->n].dwCurrentState = SCARD_STATE_UNAWARE;
    return SCARD_S_SUCCESS;
}

static void watch_publish(struct pcsock_passthrough *pt, const struct watch_set *ws)
{
    struct pcsock_reader rd[MAX_WATCHED];
    memset(rd, 0, sizeof rd);
    for (size_t i = 0; i < ws->n; i++) {
        const SCARD_READERSTATE *s = &ws->st[i];
        snprintf(rd[i].name, sizeof rd[i].name, "%s", ws->names[i]);
        rd[i].present = (s->dwEventState & SCARD_STATE_PRESENT) != 0;
        rd[i].in_use = (s->dwEventState & SCARD_STATE_EXCLUSIVE) != 0;
        if (rd[i].present) {
            rd[i].atr_len = s->cbAtr > PCSOCK_ATR_MAX ? PCSOCK_ATR_MAX : (uint32_t)s->cbAtr;
            memcpy(rd[i].atr, s->rgbAtr, rd[i].atr_len);
        }
    }
    pcsock_set_readers(pt->ps, rd, ws->n);
}

static bool watch_stopping(struct pcsock_passthrough *pt)
{
    pthread_mutex_lock(&pt->mu);
    bool s = pt->stop;
    pthread_mutex_unlock(&pt->mu);
    return s;
}

/* Follow one upstream context until the reader list changes or it fails. */
static void watch_follow(struct pcsock_passthrough *pt, SCARDCONTEXT ctx)
{
    struct watch_set ws;
    if (watch_list(ctx, &ws) != SCARD_S_SUCCESS) return;
    LONG rv = up.SCardGetStatusChange(ctx, 0, ws.st, (DWORD)ws.n + 1);
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) return;
    watch_publish(pt, &ws);
    while (!watch_stopping(pt)) {
        for (size_t i = 0; i <= ws.n; i++)
            ws.st[i].dwCurrentState = ws.st[i].dwEventState & ~SCARD_STATE_CHANGED;
        rv = up.SCardGetStatusChange(ctx, WATCH_TIMEOUT_MS, ws.st, (DWORD)ws.n + 1);
        if (rv == SCARD_E_TIMEOUT) continue;
        if (rv != SCARD_S_SUCCESS) return;
        if (ws.st[ws.n].dwEventState & SCARD_STATE_CHANGED) return; /* readers came or went */
        watch_publish(pt, &ws);
    }
}

static void *watch_main(void *arg)
{
    struct pcsock_passthrough *pt = arg;
    while (!watch_stopping(pt)) {
        SCARDCONTEXT ctx;
        if (up.SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS) {
            pcsock_set_readers(pt->ps, NULL, 0); /* upstream gone: no readers */
            usleep(500 * 1000);
            continue;
        }
        pthread_mutex_lock(&pt->mu);
        pt->wctx = ctx;
        pthread_mutex_unlock(&pt->mu);
        watch_follow(pt, ctx);
        pthread_mutex_lock(&pt->mu);
        pt->wctx = 0;
        pthread_mutex_unlock(&pt->mu);
        up.SCardReleaseContext(ctx);
    }
    return NULL;
}

int pcsock_passthrough_watch(struct pcsock_passthrough *pt, struct pcsock *ps, struct scl_err *e)
{
    pt->ps = ps;
    /* The first picture before anyone connects: clients see the readers at once. */
    SCARDCONTEXT ctx;
    LONG rv = up.SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS)
        return scl_errf(e, SCL_E_PCSC, "upstream pcscd: %s", up.pcsc_stringify_error(rv));
    struct watch_set ws;
    rv = watch_list(ctx, &ws);
    if (rv == SCARD_S_SUCCESS) rv = up.SCardGetStatusChange(ctx, 0, ws.st, (DWORD)ws.n + 1);
    up.SCardReleaseContext(ctx);
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
        return scl_errf(e, SCL_E_PCSC, "upstream readers: %s", up.pcsc_stringify_error(rv));
    watch_publish(pt, &ws);
    if (pthread_create(&pt->watcher, NULL, watch_main, pt))
        return scl_errf(e, SCL_E_IO, "passthrough: cannot start the watcher thread");
    pt->watching = true;
    return SCL_OK;
}

void pcsock_passthrough_unwatch(struct pcsock_passthrough *pt)
{
    if (!pt || !pt->watching) return;
    pthread_mutex_lock(&pt->mu);
    pt->stop = true;
    if (pt->wctx) up.SCardCancel(pt->wctx);
    pthread_mutex_unlock(&pt->mu);
    pthread_join(pt->watcher, NULL);
    pt->watching = false;
}

void pcsock_passthrough_close(struct pcsock_passthrough *pt)
{
    if (!pt) return;
    pcsock_passthrough_unwatch(pt);
    pthread_mutex_destroy(&pt->mu);
    free(pt);
}
