/*
 * plugin_hostile.c - a malicious RDP server against our smart-card plug-in
 * (scardlab-smartcard.so around FreeRDP's device), with no server at all:
 * IRP_MJ_DEVICE_CONTROL IRPs that are truncated, oversized, undecodable,
 * out of order or never answered, sent straight to the device's IRPRequest.
 * Every IRP must complete within a bound, undecodable ones must not succeed,
 * and the device must free (with a blocking call pending) within a bound.
 * Not a client, and not the happy path (tests/rdp-channel/plugin_harness.c).
 *
 * usage: plugin_hostile [--reader-allow NAME [--denied NAME]] [--seed N] [--rounds N]
 *                       [--memory-rounds N [--memory-bound-kib K]]
 * Prints one line per case; exits 0 when every case held, 1 otherwise.
 * --memory-rounds N repeats the structured cases plus a whole valid card
 * session N times (no random or mutated input) and fails when VmRSS grows by
 * K KiB (default 2048) or more between round N/10 and round N.
 */
#include "rdp_channel.h"
#include "smartcard_device.h"

#include <freerdp/addin.h>
#include <freerdp/channels/rdpdr.h>
#include <freerdp/client/channels.h>
#include <freerdp/settings.h>
#include <winpr/stream.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#define HOSTILE_WAIT_S 20  /* an IRP not completed by then is a hang */
#define HOSTILE_CANCEL_S 2 /* a call still waiting by then gets SCardCancel */

static DEVICE *device;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static IRP *done[64];
static pthread_t done_by[64]; /* the thread that completed done[i] */
static size_t n_done;
static uint32_t next_id = 1;
static int failures;
/* With --reader-allow: a reader the policy hides; no completion may name it. */
static const char *denied;
/* The context the random and mutated calls use, which a server cancels
 * when one of them waits (NULL outside those rounds). */
static const struct esc_context *cancel_ctx;

static UINT hostile_complete(IRP *irp)
{
    pthread_mutex_lock(&lock);
    if (n_done < sizeof done / sizeof done[0]) {
        done_by[n_done] = pthread_self();
        done[n_done++] = irp;
    }
    pthread_cond_broadcast(&done_cv);
    pthread_mutex_unlock(&lock);
    return CHANNEL_RC_OK;
}

/* --memory-rounds: thousands of rounds, so only failures are printed. */
static bool quiet;

static void hostile_check(bool ok, const char *name, const char *what)
{
    if (!ok || !quiet) {
        printf("%s %s: %s\n", ok ? "ok" : "FAIL", name, what);
        fflush(stdout);
    }
    failures += !ok;
}

/* An IRP whose DR_CONTROL_REQ claims InputBufferLength declared and carries
 * the n bytes of in (declared and n need not agree; hdr_cut < 32 cuts the
 * DR_CONTROL_REQ header itself). */
static IRP *hostile_irp(uint32_t ioctl, const uint8_t *in, size_t n, uint32_t declared,
                        size_t hdr_cut)
{
    return test_control_irp(device, next_id++, ioctl, in, n, declared, hdr_cut, hostile_complete,
                            hostile_complete);
}

static void hostile_irp_free(IRP *irp)
{
    Stream_Free(irp->input, TRUE);
    Stream_Free(irp->output, TRUE);
    free(irp);
}

/* Whether irp is completed already, by this very thread (the add-in's own
 * Transmit), without taking it off the list. */
static bool hostile_completed_here(IRP *irp)
{
    bool here = false;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_done; i++)
        if (done[i] == irp) here = pthread_equal(done_by[i], pthread_self());
    pthread_mutex_unlock(&lock);
    return here;
}

/* Wait for irp's completion until seconds from now; true if it came. */
static bool hostile_wait(IRP *irp, int seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    bool found = false;
    pthread_mutex_lock(&lock);
    for (;;) {
        for (size_t i = 0; i < n_done && !found; i++)
            if (done[i] == irp) {
                done[i] = done[--n_done];
                found = true;
            }
        if (found || pthread_cond_timedwait(&done_cv, &lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&lock);
    return found;
}

static IRP *hostile_irp_of(const struct esc_msg *call)
{
    uint8_t *in;
    size_t n;
    struct scl_err e;
    if (esc_encode_call(call, &in, &n, &e))
        return NULL;
    IRP *irp = hostile_irp(call->ioctl, in, n, (uint32_t)n, 32);
    free(in);
    return irp;
}

/* What a server does with a call that waits longer than it wants: Cancel
 * on the call's context.  A mutated GetStatusChange can legitimately ask
 * for hours (dwTimeOut 0x01000000 with a state the reader is not in), and it
 * holds FreeRDP's context thread, so later calls on that context queue
 * behind it; that is a wait, not a hang, once Cancel ends it. */
static void hostile_cancel(const struct esc_context *ctx)
{
    struct esc_msg c = {.ioctl = SCARD_IOCTL_CANCEL, .type = ESC_T_CONTEXT_CALL};
    c.u.context_call.Context = *ctx;
    IRP *irp = hostile_irp_of(&c);
    if (irp && device->IRPRequest(device, irp) == CHANNEL_RC_OK && hostile_wait(irp, HOSTILE_WAIT_S))
        hostile_irp_free(irp);
    /* else leaked on purpose: FreeRDP may still touch it */
}

/* Send; wait (bounded) for its completion, cancelling it on cancel_ctx if it
 * waits.  false: it hung.  Refused at IRPRequest is a completion (*io_status
 * is then the UINT it returned). */
static bool hostile_send(IRP *irp, uint32_t *io_status, bool *cancelled)
{
    UINT rc = device->IRPRequest(device, irp);
    if (rc != CHANNEL_RC_OK) {
        *io_status = rc; /* rdpdr would discard it: refused */
        return true;
    }
    bool found = hostile_wait(irp, cancel_ctx ? HOSTILE_CANCEL_S : HOSTILE_WAIT_S);
    if (!found && cancel_ctx) {
        *cancelled = true;
        hostile_cancel(cancel_ctx);
        found = hostile_wait(irp, HOSTILE_WAIT_S);
    }
    *io_status = irp->IoStatus;
    return found;
}

/* Bytes of data a failed call's return carries: a failure has no data, and
 * anything there is whatever the client's buffer held. */
static uint32_t hostile_failed_data(const struct esc_msg *r)
{
    if (r->u.long_return.ReturnCode == 0)
        return 0;
    switch (r->type) {
    case ESC_T_TRANSMIT_RETURN:
        return r->u.transmit_return.cbRecvLength;
    case ESC_T_CONTROL_RETURN:
        return r->u.control_return.cbOutBufferSize;
    case ESC_T_GET_ATTRIB_RETURN:
        return r->u.get_attrib_return.cbAttrLen;
    default:
        return 0;
    }
}

/* The MS-RDPESC ReturnCode in the completion (0 when there is none, -1 when
 * it does not decode), and the data a failed call carries. */
static int32_t hostile_return_code(IRP *irp, uint32_t ioctl, uint32_t *failed_data)
{
    size_t len = Stream_GetPosition(irp->output);
    *failed_data = 0;
    if (len <= 20)
        return 0;
    struct esc_msg r;
    struct scl_err e;
    int32_t code = 0;
    if (esc_decode_return(ioctl, Stream_Buffer(irp->output) + 20, len - 20, &r, &e) == SCL_OK) {
        code = r.u.long_return.ReturnCode;
        *failed_data = hostile_failed_data(&r);
    } else {
        code = -1;
    }
    esc_msg_free(&r);
    return code;
}

/* One hostile IRP; it must complete in time and must not report success
 * (IoStatus 0 with ReturnCode 0) unless may_succeed. */
static void hostile_case(const char *name, uint32_t ioctl, const uint8_t *in, size_t n,
                         uint32_t declared, size_t hdr_cut, bool may_succeed)
{
    IRP *irp = hostile_irp(ioctl, in, n, declared, hdr_cut);
    uint32_t io = 0;
    bool cancelled = false;
    if (!hostile_send(irp, &io, &cancelled)) {
        hostile_check(false, name,
                      cancelled ? "no completion within the bound, even after SCardCancel (hang)"
                                : "no completion within the bound (hang)");
        return; /* leaked on purpose: FreeRDP may still touch it */
    }
    uint32_t failed_data;
    int32_t rc = hostile_return_code(irp, ioctl, &failed_data);
    if (failed_data) {
        char what[96];
        snprintf(what, sizeof what, "ReturnCode 0x%08X with %u bytes of data", (uint32_t)rc,
                 failed_data);
        hostile_check(false, name, what);
    }
    if (denied) {
        uint8_t u16[128];
        size_t k = 0;
        for (const char *p = denied; *p && k + 2 <= sizeof u16; p++) {
            u16[k++] = (uint8_t)*p;
            u16[k++] = 0;
        }
        bool leaked = memmem(Stream_Buffer(irp->output), Stream_GetPosition(irp->output), u16,
                             k) != NULL;
        if (leaked)
            hostile_check(false, name, "a completion names the denied reader");
    }
    char what[160];
    snprintf(what, sizeof what, "IoStatus=0x%08X ReturnCode=0x%08X%s", io, (uint32_t)rc,
             cancelled ? " (waited; completed after SCardCancel)" : "");
    hostile_check(may_succeed || io != 0 || rc != 0, name, what);
    hostile_irp_free(irp);
}

static int hostile_call(const struct esc_msg *call, struct esc_msg *ret)
{
    struct scl_err e;
    memset(ret, 0, sizeof *ret);
    IRP *irp = hostile_irp_of(call);
    if (!irp)
        return -1;
    uint32_t io = 0;
    bool cancelled = false;
    if (!hostile_send(irp, &io, &cancelled))
        return -2;
    size_t len = Stream_GetPosition(irp->output);
    int rc = io ? -1
                : esc_decode_return(call->ioctl, Stream_Buffer(irp->output) + 20,
                                    len > 20 ? len - 20 : 0, ret, &e);
    hostile_irp_free(irp);
    return rc;
}

static void hostile_garbage(const struct esc_context *ctx, unsigned seed, unsigned rounds)
{
    static const uint8_t tail[] = {0x01, 0x10, 0x08, 0x00, 0xCC, 0xCC, 0xCC, 0xCC};
    uint8_t buf[512];
    srand(seed);
    for (unsigned r = 0; r < rounds; r++) {
        const struct esc_ioctl *io = &esc_ioctls[(unsigned)rand() % esc_ioctl_count];
        size_t n = (size_t)rand() % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand();
        /* Half the time a valid type-serialization header and our context,
         * so the junk gets past the first checks. */
        if (r % 2 && n >= 24) {
            memcpy(buf, tail, sizeof tail);
            memcpy(buf + 16, ctx->pbContext, 8);
        }
        char name[64];
        snprintf(name, sizeof name, "garbage %s #%u (%zu bytes)", io->name, r, n);
        /* Random bytes may happen to decode into a harmless valid call. */
        hostile_case(name, io->code, buf, n, (uint32_t)n, 32, true);
    }
}

/* Valid calls on our context with 1..4 bytes changed or the tail cut: the
 * hardest input for a decoder, since most of it is still well-formed. */
static void hostile_mutants(const struct esc_context *ctx, const char *reader, unsigned rounds)
{
    struct esc_reader_state st = {.szReader = (char *)reader};
    uint8_t apdu[] = {0x00, 0xA4, 0x04, 0x00, 0x00};
    struct esc_msg calls[4] = {
        {.ioctl = SCARD_IOCTL_LISTREADERSW, .type = ESC_T_LIST_READERS_CALL},
        {.ioctl = SCARD_IOCTL_GETSTATUSCHANGEW, .type = ESC_T_GET_STATUS_CHANGE_CALL},
        {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_CALL},
        {.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_CALL},
    };
    calls[0].u.list_readers_call.Context = *ctx;
    calls[0].u.list_readers_call.cchReaders = 0xFFFFFFFF;
    calls[1].u.get_status_change_call.Context = *ctx;
    calls[1].u.get_status_change_call.cReaders = 1;
    calls[1].u.get_status_change_call.rgReaderStates = &st;
    calls[2].u.connect_call.Context = *ctx;
    calls[2].u.connect_call.szReader = (char *)reader;
    calls[2].u.connect_call.dwShareMode = 2;
    calls[2].u.connect_call.dwPreferredProtocols = 3;
    calls[3].u.transmit_call.hCard.Context = *ctx;
    calls[3].u.transmit_call.hCard.cbHandle = 4;
    calls[3].u.transmit_call.ioSendPci.dwProtocol = 2;
    calls[3].u.transmit_call.cbSendLength = sizeof apdu;
    calls[3].u.transmit_call.pbSendBuffer = apdu;
    calls[3].u.transmit_call.cbRecvLength = 258;
    for (unsigned r = 0; r < rounds; r++) {
        const struct esc_msg *m = &calls[r % 4];
        uint8_t *in;
        size_t n;
        struct scl_err e;
        if (esc_encode_call(m, &in, &n, &e)) {
            hostile_check(false, "mutant", e.msg);
            continue;
        }
        for (int k = 1 + rand() % 4; k > 0; k--)
            in[(size_t)rand() % n] ^= (uint8_t)(1u << (rand() % 8));
        size_t cut = r % 3 == 0 ? (size_t)rand() % n : n;
        char name[64];
        snprintf(name, sizeof name, "mutant %s #%u (%zu of %zu bytes)", esc_ioctl_name(m->ioctl),
                 r, cut, n);
        hostile_case(name, m->ioctl, in, cut, (uint32_t)cut, 32, true);
        free(in);
    }
}

/* GetStatusChange with an infinite timeout that nobody answers: the device
 * must still free, within the bound. */
static void *hostile_free_thread(void *arg)
{
    (void)arg;
    device->Free(device);
    pthread_mutex_lock(&lock);
    device = NULL;
    pthread_cond_broadcast(&done_cv);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void hostile_never_answered(const struct esc_context *ctx, const char *reader)
{
    struct esc_reader_state st = {.szReader = (char *)reader};
    st.Common.dwCurrentState = 0x10; /* SCARD_STATE_EMPTY: wait for anything else */
    struct esc_msg c = {.ioctl = SCARD_IOCTL_GETSTATUSCHANGEW, .type = ESC_T_GET_STATUS_CHANGE_CALL};
    c.u.get_status_change_call.Context = *ctx;
    c.u.get_status_change_call.dwTimeOut = 0xFFFFFFFF; /* INFINITE */
    c.u.get_status_change_call.cReaders = 1;
    c.u.get_status_change_call.rgReaderStates = &st;
    IRP *irp = hostile_irp_of(&c);
    if (!irp) {
        hostile_check(false, "never answered", "the call encodes");
        return;
    }
    hostile_check(device->IRPRequest(device, irp) == CHANNEL_RC_OK, "never answered",
                  "blocking GetStatusChangeW(INFINITE) accepted");
    /* Let the call reach pcscd first.  FreeRDP 2.11's Free cancels the
     * contexts' calls with SCardCancel; a call still queued in its threads at
     * that moment is not cancelled and then waits forever, so Free never
     * returns (seen 1 run in 3 on a loaded machine).  That race is FreeRDP's;
     * what this case proves is that a call blocked in pcscd does not hold
     * the device. */
    nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
    pthread_t t;
    pthread_create(&t, NULL, hostile_free_thread, NULL);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HOSTILE_WAIT_S;
    pthread_mutex_lock(&lock);
    while (device && pthread_cond_timedwait(&done_cv, &lock, &until) != ETIMEDOUT)
        ;
    bool freed = device == NULL;
    pthread_mutex_unlock(&lock);
    hostile_check(freed, "never answered", "device freed with the call pending, within the bound");
    if (freed)
        pthread_join(t, NULL);
    /* The pending IRP is FreeRDP's to complete or drop; not freed here. */
}

/* Malformed DR_CONTROL_REQs and calls on a context and a card handle never
 * issued (valid before any context exists, too). */
static void hostile_malformed(void)
{
    static const uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (size_t cut = 0; cut < 32; cut += 4) {
        char name[64];
        snprintf(name, sizeof name, "DR_CONTROL_REQ cut at %zu of 32 bytes", cut);
        hostile_case(name, SCARD_IOCTL_ESTABLISHCONTEXT, junk, 0, 0, cut, false);
    }
    hostile_case("InputBufferLength 0xFFFFFFFF, 8 bytes present", SCARD_IOCTL_ESTABLISHCONTEXT,
                 junk, sizeof junk, 0xFFFFFFFFu, 32, false);
    hostile_case("InputBufferLength 0, EstablishContext", SCARD_IOCTL_ESTABLISHCONTEXT, junk, 0, 0,
                 32, false);
    hostile_case("unknown IoControlCode 0x00090FFC", 0x00090FFCu, junk, sizeof junk, sizeof junk,
                 32, false);
    size_t big_n = 1u << 20;
    uint8_t *big = malloc(big_n);
    memset(big, 0x5A, big_n);
    hostile_case("1 MiB InputBuffer of 0x5A to Transmit", SCARD_IOCTL_TRANSMIT, big, big_n,
                 (uint32_t)big_n, 32, false);
    free(big);

    struct esc_msg c = {.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_CALL}, r;
    uint8_t apdu[] = {0x00, 0xA4, 0x04, 0x00, 0x00};
    c.u.transmit_call.hCard.Context.cbContext = 8;
    memset(c.u.transmit_call.hCard.Context.pbContext, 0x77, 8);
    c.u.transmit_call.hCard.cbHandle = 8;
    memset(c.u.transmit_call.hCard.pbHandle, 0x66, 8);
    c.u.transmit_call.ioSendPci.dwProtocol = 2;
    c.u.transmit_call.cbSendLength = sizeof apdu;
    c.u.transmit_call.pbSendBuffer = apdu;
    c.u.transmit_call.cbRecvLength = 258;
    int rc = hostile_call(&c, &r);
    hostile_check(rc == -1 || (rc == 0 && r.u.long_return.ReturnCode != 0),
                  "Transmit on a handle never connected", "refused");
    hostile_check(rc != 0 || hostile_failed_data(&r) == 0, "Transmit on a handle never connected",
                  "the failure carries no data (FreeRDP packs its uninitialised buffer)");
    esc_msg_free(&r);
}

static bool hostile_establish(struct esc_context *ctx, const char *name)
{
    struct esc_msg ec = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT, .type = ESC_T_ESTABLISH_CONTEXT_CALL};
    struct esc_msg r;
    ec.u.establish_context_call.dwScope = 2;
    int rc = hostile_call(&ec, &r);
    bool ok = rc == 0 && r.u.establish_context_return.ReturnCode == 0;
    hostile_check(ok, name, "a real context after the junk");
    if (ok)
        *ctx = r.u.establish_context_return.Context;
    esc_msg_free(&r);
    return ok;
}

/* A whole valid session on ctx: list, connect, SELECT the PIV application,
 * disconnect; the happy path the plug-in decodes, traces and filters. */
static void hostile_valid_session(const struct esc_context *ctx, const char *reader)
{
    static const uint8_t select_piv[] = {0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00,
                                         0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00};
    struct esc_msg m = {.ioctl = SCARD_IOCTL_LISTREADERSW, .type = ESC_T_LIST_READERS_CALL}, r;
    m.u.list_readers_call.Context = *ctx;
    m.u.list_readers_call.cchReaders = 0xFFFFFFFF;
    int rc = hostile_call(&m, &r);
    hostile_check(rc == 0 && r.u.list_readers_return.ReturnCode == 0, "valid ListReadersW", "listed");
    esc_msg_free(&r);
    struct esc_msg cn = {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_CALL};
    cn.u.connect_call.Context = *ctx;
    cn.u.connect_call.szReader = (char *)reader;
    cn.u.connect_call.dwShareMode = 2;
    cn.u.connect_call.dwPreferredProtocols = 3;
    rc = hostile_call(&cn, &r);
    bool connected = rc == 0 && r.u.connect_return.ReturnCode == 0;
    hostile_check(connected, "valid ConnectW", "connected to the card");
    struct esc_handle h = r.u.connect_return.hCard;
    uint32_t proto = r.u.connect_return.dwActiveProtocol;
    esc_msg_free(&r);
    if (!connected)
        return;
    struct esc_msg t = {.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_CALL};
    t.u.transmit_call.hCard = h;
    t.u.transmit_call.ioSendPci.dwProtocol = proto;
    t.u.transmit_call.cbSendLength = sizeof select_piv;
    t.u.transmit_call.pbSendBuffer = (uint8_t *)select_piv;
    t.u.transmit_call.cbRecvLength = 258;
    rc = hostile_call(&t, &r);
    hostile_check(rc == 0 && r.u.transmit_return.ReturnCode == 0 &&
                      r.u.transmit_return.cbRecvLength >= 2,
                  "valid Transmit (SELECT PIV)", "answered");
    esc_msg_free(&r);
    struct esc_msg d = {.ioctl = SCARD_IOCTL_DISCONNECT, .type = ESC_T_HCARD_AND_DISPOSITION_CALL};
    d.u.hcard_and_disposition_call.hCard = h;
    rc = hostile_call(&d, &r);
    hostile_check(rc == 0 && r.u.long_return.ReturnCode == 0, "valid Disconnect", "disconnected");
    esc_msg_free(&r);
}

static bool hostile_connect(const struct esc_context *ctx, const char *reader, struct esc_handle *h,
                            uint32_t *proto)
{
    struct esc_msg cn = {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_CALL}, r;
    cn.u.connect_call.Context = *ctx;
    cn.u.connect_call.szReader = (char *)reader;
    cn.u.connect_call.dwShareMode = 2;
    cn.u.connect_call.dwPreferredProtocols = 3;
    bool ok = hostile_call(&cn, &r) == 0 && r.u.connect_return.ReturnCode == 0;
    *h = r.u.connect_return.hCard;
    *proto = r.u.connect_return.dwActiveProtocol;
    esc_msg_free(&r);
    return ok;
}

static struct esc_msg hostile_select_call(const struct esc_handle *h, uint32_t proto)
{
    static const uint8_t select_piv[] = {0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00,
                                         0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00};
    struct esc_msg t = {.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_CALL};
    t.u.transmit_call.hCard = *h;
    t.u.transmit_call.ioSendPci.dwProtocol = proto;
    t.u.transmit_call.cbSendLength = sizeof select_piv;
    t.u.transmit_call.pbSendBuffer = (uint8_t *)select_piv;
    t.u.transmit_call.cbRecvLength = 258;
    return t;
}

static IRP *hostile_select_irp(const struct esc_handle *h, uint32_t proto)
{
    struct esc_msg t = hostile_select_call(h, proto);
    return hostile_irp_of(&t);
}

/* ---- the client's main thread, played by the harness ---------------------------- */

static struct test_plugin_client main_thread;
static struct {
    pthread_mutex_t mu;
    uint8_t pdu[1024];
    size_t n;
    int sends;
} sent = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The sender the client lends the plug-in: keeps the last PDU. */
static int hostile_sender(const uint8_t *pdu, size_t n)
{
    if (!pdu) return 1; /* the probe: it would send */
    pthread_mutex_lock(&sent.mu);
    sent.n = n < sizeof sent.pdu ? n : 0;
    memcpy(sent.pdu, pdu, sent.n);
    sent.sends++;
    pthread_mutex_unlock(&sent.mu);
    return 1;
}

static int hostile_sends(void)
{
    pthread_mutex_lock(&sent.mu);
    int n = sent.sends;
    pthread_mutex_unlock(&sent.mu);
    return n;
}

/* call as the DR_DEVICE_IOREQUEST PDU rdpdr would receive for device id. */
static size_t hostile_ioreq_pdu(uint32_t id, uint32_t completion_id, const struct esc_msg *call,
                                uint8_t *buf, size_t cap)
{
    uint8_t *in;
    size_t n;
    struct scl_err e;
    struct wcur w;
    if (esc_encode_call(call, &in, &n, &e)) return 0;
    wcur_init_fixed(&w, buf, cap);
    wcur_u16le(&w, RDPDR_CTYP_CORE);
    wcur_u16le(&w, PAKID_CORE_DEVICE_IOREQUEST);
    wcur_u32le(&w, id);
    wcur_u32le(&w, 0); /* FileId */
    wcur_u32le(&w, completion_id);
    wcur_u32le(&w, IRP_MJ_DEVICE_CONTROL);
    wcur_u32le(&w, 0); /* MinorFunction */
    wcur_u32le(&w, 2048);
    wcur_u32le(&w, (uint32_t)n);
    wcur_u32le(&w, call->ioctl);
    for (int i = 0; i < 5; i++)
        wcur_u32le(&w, 0); /* Padding */
    wcur_bytes(&w, in, n);
    free(in);
    return wcur_ok(&w) ? wcur_len(&w) : 0;
}

/* The last PDU sent completes completion_id with a Transmit that worked. */
static bool hostile_sent_transmit_ok(uint32_t completion_id)
{
    pthread_mutex_lock(&sent.mu);
    struct cur c;
    cur_init(&c, sent.pdu, sent.n);
    bool ok = cur_u16le(&c) == RDPDR_CTYP_CORE && cur_u16le(&c) == PAKID_CORE_DEVICE_IOCOMPLETION &&
              cur_u32le(&c) == device->id && cur_u32le(&c) == completion_id && cur_u32le(&c) == 0;
    uint32_t n = cur_u32le(&c);
    const uint8_t *out = cur_ok(&c) ? cur_bytes(&c, n) : NULL;
    struct esc_msg r = {0};
    struct scl_err e;
    ok = ok && out && !esc_decode_return(SCARD_IOCTL_TRANSMIT, out, n, &r, &e) &&
         r.u.transmit_return.ReturnCode == 0 && r.u.transmit_return.cbRecvLength >= 2;
    esc_msg_free(&r);
    pthread_mutex_unlock(&sent.mu);
    return ok;
}

/* The other cases complete through FreeRDP's way, as without a client. */
static void hostile_main_thread_done(void)
{
    if (main_thread.lend_sender) main_thread.lend_sender(NULL);
}

/* The main thread answers a plain Transmit itself, but not while an IRP it
 * passed on has yet to reach the device (it could overtake it), and not in
 * pieces or for another device. */
static void hostile_main_thread_idle(const struct esc_handle *ha, uint32_t pa)
{
    main_thread = test_plugin_client();
    hostile_check(main_thread.channel_data && main_thread.lend_sender, "main thread",
                  "the plug-in offers channel data and takes a sender");
    if (!main_thread.channel_data || !main_thread.lend_sender) return;
    main_thread.lend_sender(hostile_sender);
    struct esc_msg t = hostile_select_call(ha, pa);
    uint8_t pdu[256];
    size_t n = hostile_ioreq_pdu(device->id, 9001, &t, pdu, sizeof pdu);
    int before = hostile_sends();
    hostile_check(n && main_thread.channel_data(pdu, n, 1) == 1 && hostile_sends() == before + 1 &&
                      hostile_sent_transmit_ok(9001),
                  "main thread: Transmit on an idle context", "answered there, completion sent");
    hostile_check(main_thread.channel_data(pdu, n, 0) == 0, "main thread: a PDU in pieces",
                  "passed on");
    hostile_check(main_thread.channel_data(pdu, n, 1) == 0 && hostile_sends() == before + 1,
                  "main thread: Transmit behind an IRP on its way to rdpdr's thread", "passed on");
    for (int i = 0; i < 2; i++) { /* the two passed on reach the device */
        IRP *irp = hostile_select_irp(ha, pa);
        hostile_check(irp && device->IRPRequest(device, irp) == CHANNEL_RC_OK &&
                          hostile_wait(irp, HOSTILE_WAIT_S),
                      "main thread: an IRP passed on", "answered on rdpdr's thread");
        if (irp) hostile_irp_free(irp);
    }
    n = hostile_ioreq_pdu(device->id, 9002, &t, pdu, sizeof pdu);
    hostile_check(main_thread.channel_data(pdu, n, 1) == 1 && hostile_sent_transmit_ok(9002),
                  "main thread: once rdpdr's thread has it", "answers there again");
    n = hostile_ioreq_pdu(device->id + 1, 9003, &t, pdu, sizeof pdu);
    hostile_check(main_thread.channel_data(pdu, n, 1) == 0, "main thread: another device's IRP",
                  "passed on");
}

/* GetStatusChangeW(INFINITE) on ctx that waits: the reader's own state
 * given back.  The IRP, sent; NULL if it could not be. */
static IRP *hostile_blocking_wait(const struct esc_context *ctx, const char *reader)
{
    struct esc_reader_state st = {.szReader = (char *)reader};
    struct esc_msg c = {.ioctl = SCARD_IOCTL_GETSTATUSCHANGEW,
                        .type = ESC_T_GET_STATUS_CHANGE_CALL},
                   r;
    c.u.get_status_change_call.Context = *ctx;
    c.u.get_status_change_call.dwTimeOut = 0;
    c.u.get_status_change_call.cReaders = 1;
    c.u.get_status_change_call.rgReaderStates = &st;
    if (hostile_call(&c, &r) || r.u.get_status_change_return.cReaders != 1) {
        esc_msg_free(&r);
        return NULL;
    }
    st.Common.dwCurrentState = r.u.get_status_change_return.rgReaderStates[0].dwEventState &
                               ~0x2u; /* without SCARD_STATE_CHANGED */
    esc_msg_free(&r);
    c.u.get_status_change_call.dwTimeOut = 0xFFFFFFFF;
    IRP *irp = hostile_irp_of(&c);
    if (irp && device->IRPRequest(device, irp) != CHANNEL_RC_OK) return NULL;
    nanosleep(&(struct timespec){.tv_nsec = 300 * 1000000}, NULL); /* let it reach pcscd */
    return irp;
}

/* The add-in makes a plain Transmit itself (completed on the thread that
 * handed it over) only when that cannot block that thread or overtake a
 * call: not while its context has a call in FreeRDP's hands.  A handle
 * named under another context than its own is refused outright: passed on,
 * it would wait for its own context (here in GetStatusChange) inside
 * pcsc-lite's global lock, and the Cancel that ends the wait would wait for
 * that lock: the whole client stuck. */
static void hostile_direct_transmit(const char *reader)
{
    struct esc_context a, b;
    struct esc_handle ha, hb;
    uint32_t pa, pb;
    if (!hostile_establish(&a, "direct: context A") || !hostile_establish(&b, "direct: context B"))
        return;
    if (!hostile_connect(&a, reader, &ha, &pa) || !hostile_connect(&b, reader, &hb, &pb)) {
        hostile_check(false, "direct", "both contexts connect");
        return;
    }
    IRP *t = hostile_select_irp(&ha, pa);
    hostile_check(t && device->IRPRequest(device, t) == CHANNEL_RC_OK && hostile_completed_here(t),
                  "direct: Transmit on an idle context", "made by the add-in on this thread");
    uint32_t io = 0;
    hostile_check(t && hostile_wait(t, HOSTILE_WAIT_S) && (io = t->IoStatus) == 0,
                  "direct: Transmit on an idle context", "answered");
    if (t) hostile_irp_free(t);
    hostile_main_thread_idle(&ha, pa);

    IRP *w = hostile_blocking_wait(&b, reader);
    hostile_check(w != NULL, "direct: B waits in GetStatusChange", "sent");
    if (!w) {
        hostile_main_thread_done();
        return;
    }
    struct esc_handle mixed = hb;
    mixed.Context = a;
    IRP *m = hostile_select_irp(&mixed, pb);
    hostile_check(m && device->IRPRequest(device, m) == CHANNEL_RC_OK &&
                      hostile_completed_here(m) && m->IoStatus != 0,
                  "direct: B's handle named with idle A", "refused by the add-in at once");
    /* B's own handle while B waits: queued behind the wait, made neither on
     * the main thread nor on rdpdr's. */
    if (main_thread.channel_data) {
        struct esc_msg tb = hostile_select_call(&hb, pb);
        uint8_t pdu[256];
        size_t n = hostile_ioreq_pdu(device->id, 9004, &tb, pdu, sizeof pdu);
        hostile_check(main_thread.channel_data(pdu, n, 1) == 0,
                      "main thread: Transmit on a context with a call pending", "passed on");
    }
    IRP *q = hostile_select_irp(&hb, pb);
    hostile_check(q && device->IRPRequest(device, q) == CHANNEL_RC_OK && !hostile_completed_here(q),
                  "direct: Transmit on a context with a call pending", "left to FreeRDP");
    hostile_cancel(&b);
    hostile_check(hostile_wait(w, HOSTILE_WAIT_S), "direct: B's wait", "ends with Cancel");
    hostile_check(m && hostile_wait(m, 0), "direct: B's handle named with idle A",
                  "completed once");
    hostile_check(q && hostile_wait(q, HOSTILE_WAIT_S), "direct: Transmit behind the wait",
                  "answered once the wait ends");
    hostile_irp_free(w);
    if (m) hostile_irp_free(m);
    if (q) hostile_irp_free(q);
    const struct esc_context *both[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        struct esc_msg rel = {.ioctl = SCARD_IOCTL_RELEASECONTEXT, .type = ESC_T_CONTEXT_CALL}, r;
        rel.u.context_call.Context = *both[i];
        hostile_check(hostile_call(&rel, &r) == 0 && r.u.long_return.ReturnCode == 0,
                      "direct: ReleaseContext", "released");
        esc_msg_free(&r);
    }
    hostile_main_thread_done();
}

/* ReleaseContext twice, then a call on the released context. */
static void hostile_released(const struct esc_context *ctx)
{
    struct esc_msg rel = {.ioctl = SCARD_IOCTL_RELEASECONTEXT, .type = ESC_T_CONTEXT_CALL}, r;
    rel.u.context_call.Context = *ctx;
    int rc = hostile_call(&rel, &r);
    esc_msg_free(&r);
    rc = hostile_call(&rel, &r);
    hostile_check(rc != -2 && (rc != 0 || r.u.long_return.ReturnCode != 0),
                  "ReleaseContext twice", "the second is refused");
    esc_msg_free(&r);
    struct esc_msg lr = {.ioctl = SCARD_IOCTL_LISTREADERSW, .type = ESC_T_LIST_READERS_CALL};
    lr.u.list_readers_call.Context = *ctx;
    lr.u.list_readers_call.cchReaders = 0xFFFFFFFF;
    rc = hostile_call(&lr, &r);
    hostile_check(rc != -2 && (rc != 0 || r.u.list_readers_return.ReturnCode != 0),
                  "ListReadersW on a released context", "refused");
    esc_msg_free(&r);
}

/* VmRSS of this process in KiB ("1234 kB"); 0 if unreadable. */
static unsigned long hostile_rss_kib(void)
{
    char v[64], *end;
    if (scl_proc_status(0, "VmRSS", v, sizeof v, NULL))
        return 0;
    unsigned long kib = strtoul(v, &end, 10);
    return end != v && !strcmp(end, " kB") ? kib : 0;
}

/* The memory bound: the structured cases and a valid session, rounds times;
 * the first tenth warms FreeRDP's and libc's caches up, and RSS may grow by
 * less than bound_kib over the rest. */
static void hostile_memory(const char *reader, unsigned rounds, unsigned long bound_kib)
{
    unsigned check = rounds / 10 ? rounds / 10 : 1;
    unsigned long rss_check = 0;
    quiet = true;
    for (unsigned r = 1; r <= rounds; r++) {
        struct esc_context ctx;
        hostile_malformed();
        if (hostile_establish(&ctx, "EstablishContext")) {
            hostile_valid_session(&ctx, reader);
            hostile_released(&ctx);
        }
        if (r == check)
            rss_check = hostile_rss_kib();
    }
    unsigned long rss_end = hostile_rss_kib();
    long growth = (long)rss_end - (long)rss_check;
    char what[160];
    snprintf(what, sizeof what, "VmRSS %lu KiB after round %u, %lu KiB after round %u: %+ld KiB (bound %lu)",
             rss_check, check, rss_end, rounds, growth, bound_kib);
    quiet = false;
    hostile_check(rss_check && rss_end && growth < (long)bound_kib, "memory bound", what);
}

int main(int argc, char **argv)
{
    struct rc_connect_opts o = {0};
    struct scl_err e = {0};
    unsigned seed = 1, rounds = 200, memory_rounds = 0;
    unsigned long bound_kib = 2048;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--reader-allow"))
            rc_policy_add(&o.policy, argv[i + 1], &e);
        else if (!strcmp(argv[i], "--denied"))
            denied = argv[i + 1];
        else if (!strcmp(argv[i], "--seed"))
            seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--rounds"))
            rounds = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--memory-rounds"))
            memory_rounds = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--memory-bound-kib"))
            bound_kib = strtoul(argv[i + 1], NULL, 10);
    }
    if (!(device = test_smartcard_device(&o, "plugin_hostile")))
        return 2;

    struct esc_context ctx;
    if (memory_rounds) {
        /* Memory only: the never-answered free is hostile_plugin_server's. */
        hostile_memory("scardlab 00 00", memory_rounds, bound_kib);
        device->Free(device); /* nothing pending: LeakSanitizer sees a clean exit */
    } else {
        hostile_malformed();
        /* Before the mutants: one of them may hold the card exclusively. */
        hostile_direct_transmit("scardlab 00 00");
        if (hostile_establish(&ctx, "EstablishContext")) {
            cancel_ctx = &ctx;
            hostile_garbage(&ctx, seed, rounds);
            hostile_mutants(&ctx, "scardlab 00 00", rounds);
            cancel_ctx = NULL;
            hostile_released(&ctx);
        }
        if (hostile_establish(&ctx, "EstablishContext (never answered)"))
            hostile_never_answered(&ctx, "scardlab 00 00");
    }
    rc_policy_free(&o.policy);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
