/*
 * plugin_direct.c - Transmit made by the add-in itself, on rdpdr's thread,
 * with the same WinPR SCardTransmit FreeRDP's device calls.  FreeRDP 2.11
 * hands each IRP from rdpdr's thread to its device thread, then to the
 * context's own thread, and the completion back the same way: four thread
 * hand-offs on every APDU, the redirection's hottest path
 * (docs/benchmarks.md, item 1).  Everything other than a plain Transmit
 * still goes to FreeRDP's device.
 *
 * A Transmit is made here only when that cannot change what the client
 * does:
 *  - its handle came from a Connect in the same context (the handle map
 *    below), so a server cannot name an idle context and block rdpdr's
 *    thread on a busy one's handle;
 *  - FreeRDP holds no call of that context, so the Transmit cannot overtake
 *    one queued before it, and no other thread uses the context meanwhile;
 *  - it asks for a receive buffer (the plain case).
 * While it runs, rdpdr's thread waits for the card, as FreeRDP's context
 * thread would; later IRPs wait behind it.
 *
 * The same handle map refuses any call that names a card under another
 * context than the one it was connected in.  FreeRDP would run it on the
 * named context's thread, where pcsc-lite's client takes its global lock and
 * then waits for the handle's own context: with that context in
 * GetStatusChange, every PC/SC call of the client then waits for good, the
 * SCardCancel that would end the wait included (found by plugin_hostile).
 */
#include "plugin_int.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <winpr/smartcard.h>

/* Handles remembered (pcsc-lite allows 200 per context); a handle beyond
 * them takes FreeRDP's path unchecked. */
#define DIRECT_MAX_CARDS 256

static struct {
    pthread_mutex_t lock;
    struct esc_handle cards[DIRECT_MAX_CARDS];
    size_t n;
} map = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Where each call type keeps its card handle or, without one, its context
 * (offsets in union esc_body). */
#define NO_HANDLE SIZE_MAX
/* clang-format off */
#define BY_HANDLE(t, m) {t, offsetof(union esc_body, m.hCard), offsetof(union esc_body, m.hCard.Context)}
#define BY_CONTEXT(t, m) {t, NO_HANDLE, offsetof(union esc_body, m.Context)}
/* clang-format on */
static const struct call_fields {
    enum esc_type type;
    size_t handle, context;
} call_fields[] = {
    BY_CONTEXT(ESC_T_CONTEXT_CALL, context_call),
    BY_CONTEXT(ESC_T_LIST_READERS_CALL, list_readers_call),
    BY_CONTEXT(ESC_T_GET_STATUS_CHANGE_CALL, get_status_change_call),
    BY_CONTEXT(ESC_T_CONNECT_CALL, connect_call),
    BY_HANDLE(ESC_T_RECONNECT_CALL, reconnect_call),
    BY_HANDLE(ESC_T_HCARD_AND_DISPOSITION_CALL, hcard_and_disposition_call),
    BY_HANDLE(ESC_T_STATE_CALL, state_call),
    BY_HANDLE(ESC_T_STATUS_CALL, status_call),
    BY_HANDLE(ESC_T_TRANSMIT_CALL, transmit_call),
    BY_HANDLE(ESC_T_CONTROL_CALL, control_call),
    BY_HANDLE(ESC_T_GET_ATTRIB_CALL, get_attrib_call),
    BY_HANDLE(ESC_T_SET_ATTRIB_CALL, set_attrib_call),
};

static const struct call_fields *fields_of(const struct esc_msg *m)
{
    for (size_t i = 0; i < sizeof call_fields / sizeof call_fields[0]; i++)
        if (call_fields[i].type == m->type) return &call_fields[i];
    return NULL;
}

bool direct_call_context(const struct esc_msg *m, struct esc_context *ctx)
{
    const struct call_fields *f = fields_of(m);
    if (f) memcpy(ctx, (const char *)&m->u + f->context, sizeof *ctx);
    return f != NULL;
}

/* The card handle a decoded call names, if any. */
static const struct esc_handle *call_handle(const struct esc_msg *m)
{
    const struct call_fields *f = fields_of(m);
    return f && f->handle != NO_HANDLE ? (const void *)((const char *)&m->u + f->handle) : NULL;
}

bool direct_context_same(const struct esc_context *a, const struct esc_context *b)
{
    return a->cbContext == b->cbContext && a->cbContext <= sizeof a->pbContext &&
           !memcmp(a->pbContext, b->pbContext, a->cbContext);
}

static bool handle_same(const struct esc_handle *a, const struct esc_handle *b)
{
    return direct_context_same(&a->Context, &b->Context) && a->cbHandle == b->cbHandle &&
           a->cbHandle <= sizeof a->pbHandle && !memcmp(a->pbHandle, b->pbHandle, a->cbHandle);
}

/* Drop the cards matching h (by handle, any context), or every card of ctx. */
static void map_forget(const struct esc_handle *h, const struct esc_context *ctx)
{
    pthread_mutex_lock(&map.lock);
    for (size_t i = 0; i < map.n;) {
        const struct esc_handle *c = &map.cards[i];
        bool gone = h ? c->cbHandle == h->cbHandle && !memcmp(c->pbHandle, h->pbHandle, c->cbHandle)
                      : direct_context_same(&c->Context, ctx);
        if (gone)
            map.cards[i] = map.cards[--map.n];
        else
            i++;
    }
    pthread_mutex_unlock(&map.lock);
}

enum map_verdict { MAP_UNKNOWN, MAP_SAME_CONTEXT, MAP_OTHER_CONTEXT };

static enum map_verdict map_lookup(const struct esc_handle *h)
{
    enum map_verdict v = MAP_UNKNOWN;
    pthread_mutex_lock(&map.lock);
    for (size_t i = 0; i < map.n && v == MAP_UNKNOWN; i++) {
        const struct esc_handle *c = &map.cards[i];
        if (c->cbHandle == h->cbHandle && !memcmp(c->pbHandle, h->pbHandle, c->cbHandle))
            v = handle_same(c, h) ? MAP_SAME_CONTEXT : MAP_OTHER_CONTEXT;
    }
    pthread_mutex_unlock(&map.lock);
    return v;
}

bool direct_handle_misnamed(const struct esc_msg *call)
{
    const struct esc_handle *h = call_handle(call);
    return h && map_lookup(h) == MAP_OTHER_CONTEXT;
}

/* A handle is forgotten when its Disconnect or its context's release has
 * succeeded, not when asked: until then it is live in PC/SC, and a call
 * naming it under another context must still be refused. */
void direct_note_return(const struct esc_msg *call, const struct esc_msg *ret)
{
    if (ret->u.long_return.ReturnCode != SCARD_S_SUCCESS) return;
    if (call->ioctl == SCARD_IOCTL_DISCONNECT) {
        map_forget(&call->u.hcard_and_disposition_call.hCard, NULL);
        return;
    }
    if (call->ioctl == SCARD_IOCTL_RELEASECONTEXT) {
        map_forget(NULL, &call->u.context_call.Context);
        return;
    }
    if (call->type != ESC_T_CONNECT_CALL || ret->type != ESC_T_CONNECT_RETURN) return;
    struct esc_handle h = ret->u.connect_return.hCard;
    h.Context = call->u.connect_call.Context; /* the context it was made in, not what it says */
    map_forget(&h, NULL);                     /* a handle value reused: the new one counts */
    pthread_mutex_lock(&map.lock);
    if (map.n < DIRECT_MAX_CARDS) map.cards[map.n++] = h;
    pthread_mutex_unlock(&map.lock);
}

void direct_forget_all(void)
{
    pthread_mutex_lock(&map.lock);
    map.n = 0;
    pthread_mutex_unlock(&map.lock);
}

bool direct_transmit_ok(const struct esc_msg *call)
{
    if (call->type != ESC_T_TRANSMIT_CALL) return false;
    const struct esc_transmit_call *t = &call->u.transmit_call;
    return t->hCard.cbHandle == sizeof(SCARDHANDLE) && !t->fpbRecvBufferIsNULL &&
           t->cbRecvLength > 0 && map_lookup(&t->hCard) == MAP_SAME_CONTEXT &&
           plugin_context_idle(&t->hCard.Context);
}

/* WinPR's SCARD_IO_REQUEST with its extra bytes behind it, as FreeRDP's
 * decoder builds it. */
static SCARD_IO_REQUEST *pci_new(const struct esc_io_request *r)
{
    SCARD_IO_REQUEST *pci = malloc(sizeof *pci + r->cbExtraBytes);
    if (!pci) return NULL;
    pci->dwProtocol = r->dwProtocol;
    pci->cbPciLength = (DWORD)(sizeof *pci + r->cbExtraBytes);
    if (r->cbExtraBytes) memcpy(pci + 1, r->pbExtraBytes, r->cbExtraBytes);
    return pci;
}

void direct_transmit_make(struct esc_transmit_call *t, struct esc_msg *r, uint8_t **buf_out)
{
    SCARDHANDLE h;
    memcpy(&h, t->hCard.pbHandle, sizeof h);
    uint32_t cap = t->cbRecvLength < ESC_MAX_BUFFER ? t->cbRecvLength : ESC_MAX_BUFFER;
    SCARD_IO_REQUEST *spci = pci_new(&t->ioSendPci);
    SCARD_IO_REQUEST *rpci = t->pioRecvPci ? pci_new(t->pioRecvPci) : NULL;
    uint8_t *buf = malloc(cap);
    *r = (struct esc_msg){.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_RETURN};
    struct esc_transmit_return *tr = &r->u.transmit_return;
    if (!spci || !buf || (t->pioRecvPci && !rpci)) {
        tr->ReturnCode = (int32_t)SCARD_E_NO_MEMORY;
    } else {
        DWORD len = cap;
        tr->ReturnCode = SCardTransmit(h, spci, t->pbSendBuffer, t->cbSendLength, rpci, buf, &len);
        /* Data only with success, as Windows answers (and unlike FreeRDP,
         * whose failed returns the add-in scrubs). */
        if (tr->ReturnCode == SCARD_S_SUCCESS && len <= cap) {
            tr->cbRecvLength = len;
            tr->pbRecvBuffer = len ? buf : NULL;
        }
        if (rpci) {
            /* FreeRDP's answer: the caller's receive PCI with the extra
             * bytes PC/SC left in it. */
            tr->pioRecvPci = t->pioRecvPci;
            if (t->pioRecvPci->cbExtraBytes)
                memcpy(t->pioRecvPci->pbExtraBytes, rpci + 1, t->pioRecvPci->cbExtraBytes);
        }
    }
    free(spci);
    free(rpci);
    *buf_out = buf;
}

UINT direct_transmit(IRP *irp, struct esc_transmit_call *t)
{
    struct esc_msg r;
    uint8_t *buf;
    direct_transmit_make(t, &r, &buf);
    UINT rc = plugin_answer(irp, SCARD_IOCTL_TRANSMIT, &r, NULL);
    free(buf);
    return rc;
}
