/*
 * plugin.c - scardlab-smartcard.so, the FreeRDP add-in for the "smartcard"
 * device: it runs FreeRDP's own smart-card device and puts itself in front of
 * it, so every IRP_MJ_DEVICE_CONTROL is decoded, traced and judged by the
 * reader policy, and every completion is decoded, traced and filtered.
 * Not for PC/SC or NDR work of its own: FreeRDP's device talks to PC/SC
 * (but for the plain Transmits plugin_direct.c makes) and the codec
 * (rdpesc.h) does the NDR.
 */
#include "plugin_int.h"
#include "rdp_channel.h"

#include <freerdp/channels/rdpdr.h>
#include <freerdp/client/channels.h>
#include <freerdp/svc.h>
#include <winpr/stream.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN_STATUS_UNSUCCESSFUL 0xC0000001u
/* DR_CONTROL_REQ after DR_DEVICE_IOREQUEST: OutputBufferLength,
 * InputBufferLength, IoControlCode, 20 bytes Padding, InputBuffer. */
#define CONTROL_REQ_HEADER 32
/* DR_DEVICE_IOCOMPLETION: RDPDR_HEADER, DeviceId, CompletionId, IoStatus;
 * then DR_CONTROL_RSP's OutputBufferLength and OutputBuffer. */
#define IOCOMPLETION_HEADER 16

/* An IRP we forwarded: what to restore and what its call was. */
struct pending {
    IRP *irp;
    pcIRPResponse complete; /* FreeRDP's irp->Complete */
    uint32_t ioctl;
    bool decoded;
    struct esc_msg call;
    struct pending *next;
};

static struct {
    pthread_mutex_t lock;
    bool configured;
    bool freerdp_transmit; /* no Transmit made here (plugin_direct.c) */
    struct rc_policy policy;
    struct rc_trace *trace;
    pcRegisterDevice register_device; /* devman's */
    DEVICE *device;                   /* FreeRDP's smart-card device */
    pcIRPRequest irp_request;         /* its IRPRequest */
    pcFreeDevice free_device;         /* its Free */
    struct pending *pending;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The only symbols the .so exports (the rest is hidden). */
#define PLUGIN_EXPORT __attribute__((visibility("default")))
PLUGIN_EXPORT UINT VCAPITYPE DeviceServiceEntry(PDEVICE_SERVICE_ENTRY_POINTS pEntryPoints);
PLUGIN_EXPORT unsigned int scardlab_smartcard_configure(int argc, char **argv);
PLUGIN_EXPORT void scardlab_smartcard_lend_sender(rc_rdpdr_send_fn send);
PLUGIN_EXPORT int scardlab_smartcard_channel_data(const uint8_t *data, size_t len, int whole);

/* The client's rdpdr sender, when it lent one (scardlab connect does). */
static _Atomic(rc_rdpdr_send_fn) lent_send;

void scardlab_smartcard_lend_sender(rc_rdpdr_send_fn send)
{
    atomic_store(&lent_send, send);
}

/* "trace-toggle" (benchmarks): each SIGUSR1 pauses or resumes the trace, so
 * one client in one session is measured with and without it.  Only a flag is
 * flipped in the handler; a paused trace costs what no trace costs. */
static atomic_int trace_paused; /* lock-free: safe in the handler and across threads */

static void on_trace_toggle(int sig)
{
    (void)sig;
    atomic_fetch_xor_explicit(&trace_paused, 1, memory_order_relaxed);
}

static int plugin_trace_toggle_install(struct scl_err *e)
{
    struct sigaction sa = {.sa_handler = on_trace_toggle, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL))
        return scl_errf(e, SCL_E_IO, "trace-toggle: sigaction(SIGUSR1): %s", strerror(errno));
    return SCL_OK;
}

static struct rc_trace *plugin_trace(void)
{
    return atomic_load_explicit(&trace_paused, memory_order_relaxed) ? NULL : g.trace;
}

static void plugin_reset_config(void)
{
    rc_policy_free(&g.policy);
    rc_trace_close(g.trace);
    g.trace = NULL;
    g.freerdp_transmit = false;
    g.configured = false;
}

/* ADDIN_ARGV-style args from the client: "trace:FILE", "trace-toggle",
 * "freerdp-transmit", "allow:NAME". */
unsigned int scardlab_smartcard_configure(int argc, char **argv)
{
    struct scl_err e = {0};
    plugin_reset_config();
    for (int i = 0; i < argc; i++) {
        int rc = SCL_OK;
        if (!strncmp(argv[i], "trace:", 6))
            rc = rc_trace_open(argv[i] + 6, &g.trace, &e);
        else if (!strcmp(argv[i], "trace-toggle"))
            rc = plugin_trace_toggle_install(&e);
        else if (!strcmp(argv[i], "freerdp-transmit"))
            g.freerdp_transmit = true;
        else if (!strncmp(argv[i], "allow:", 6))
            rc = rc_policy_add(&g.policy, argv[i] + 6, &e);
        else
            rc = scl_errf(&e, SCL_E_INVAL, "unknown argument '%s'", argv[i]);
        if (rc) {
            fprintf(stderr, "scardlab-smartcard: %s\n", e.msg);
            plugin_reset_config();
            return ERROR_INVALID_PARAMETER;
        }
    }
    g.configured = true;
    return CHANNEL_RC_OK;
}

/* Loaded by something other than our client: take the config from the env. */
static UINT plugin_config_from_env(void)
{
    struct scl_err e = {0};
    const char *trace = getenv("SCARDLAB_SC_TRACE");
    const char *allow = getenv("SCARDLAB_SC_READER_ALLOW");
    if (trace && trace[0] && rc_trace_open(trace, &g.trace, &e)) goto bad;
    if (allow && allow[0] && rc_policy_add_list(&g.policy, allow, &e)) goto bad;
    g.configured = true;
    return CHANNEL_RC_OK;
bad:
    fprintf(stderr, "scardlab-smartcard: %s\n", e.msg);
    plugin_reset_config();
    return ERROR_INVALID_PARAMETER;
}

static void pending_push(struct pending *p)
{
    pthread_mutex_lock(&g.lock);
    p->next = g.pending;
    g.pending = p;
    pthread_mutex_unlock(&g.lock);
}

static struct pending *pending_take(IRP *irp)
{
    pthread_mutex_lock(&g.lock);
    struct pending **pp = &g.pending, *found = NULL;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->irp == irp) {
            found = *pp;
            *pp = found->next;
            break;
        }
    pthread_mutex_unlock(&g.lock);
    return found;
}

static void pending_free(struct pending *p)
{
    if (!p) return;
    esc_msg_free(&p->call);
    free(p);
}

/* Replace the DR_CONTROL_RSP in irp->output with OutputBuffer buf. */
static bool output_replace(IRP *irp, const uint8_t *buf, size_t len)
{
    Stream_SetPosition(irp->output, IOCOMPLETION_HEADER);
    if (!Stream_EnsureRemainingCapacity(irp->output, 4 + len)) return false;
    Stream_Write_UINT32(irp->output, (UINT32)len); /* OutputBufferLength */
    Stream_Write(irp->output, buf, len);
    Stream_SealLength(irp->output);
    return true;
}

/* A failed call's data buffer, dropped.  FreeRDP 2.11 mallocs the buffer
 * for Transmit, Control and GetAttrib, and when PC/SC fails the call it still
 * packs the whole requested length, uninitialised: up to 64 KiB of client
 * heap per call, which can hold earlier returns, such as a reader list from
 * before the policy filtered it.  Windows sends no data with a failure.
 * Returns the bytes dropped. */
static uint32_t scrub_failed_return(struct esc_msg *r)
{
    uint32_t *len = NULL;
    uint8_t **buf = NULL;
    switch (r->type) {
    case ESC_T_TRANSMIT_RETURN:
        len = &r->u.transmit_return.cbRecvLength;
        buf = &r->u.transmit_return.pbRecvBuffer;
        break;
    case ESC_T_CONTROL_RETURN:
        len = &r->u.control_return.cbOutBufferSize;
        buf = &r->u.control_return.pvOutBuffer;
        break;
    case ESC_T_GET_ATTRIB_RETURN:
        len = &r->u.get_attrib_return.cbAttrLen;
        buf = &r->u.get_attrib_return.pbAttr;
        break;
    default:
        return 0;
    }
    uint32_t dropped = *len;
    if (r->u.long_return.ReturnCode == 0 || dropped == 0) return 0;
    free(*buf);
    *buf = NULL;
    *len = 0;
    return dropped;
}

/* Encode r in place of FreeRDP's OutputBuffer.  When that fails, fail the
 * call rather than let the unedited bytes through. */
static bool output_reencode(IRP *irp, const struct esc_msg *r)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    struct scl_err e = {0};
    bool ok = esc_encode_return(r, &buf, &n, &e) == SCL_OK && output_replace(irp, buf, n);
    free(buf);
    if (!ok) {
        irp->IoStatus = PLUGIN_STATUS_UNSUCCESSFUL;
        Stream_SetPosition(irp->output, IOCOMPLETION_HEADER);
        Stream_SealLength(irp->output);
    }
    return ok;
}

/* Decode, scrub, fix (policy) and trace the return FreeRDP's device produced. */
static void plugin_inspect_return(IRP *irp, struct pending *p)
{
    size_t len = Stream_GetPosition(irp->output);
    struct cur c;
    cur_init(&c, Stream_Buffer(irp->output), len);
    cur_skip(&c, IOCOMPLETION_HEADER);
    uint32_t out_len = cur_u32le(&c);
    const uint8_t *out = cur_ok(&c) ? cur_bytes(&c, out_len) : NULL;
    if (!cur_ok(&c) || !out) {
        /* FreeRDP could not decode the call: IoStatus only, no OutputBuffer. */
        rc_trace_return(plugin_trace(), irp->CompletionId, p->ioctl, irp->IoStatus, NULL,
                        "no OutputBuffer", NULL);
        return;
    }
    if (!esc_ioctl_find(p->ioctl)) {
        rc_trace_return(plugin_trace(), irp->CompletionId, p->ioctl, irp->IoStatus, NULL,
                        "IOCTL not in the codec's table", NULL);
        return;
    }
    struct esc_msg r;
    struct scl_err e = {0};
    if (esc_decode_return(p->ioctl, out, out_len, &r, &e)) {
        rc_trace_return(plugin_trace(), irp->CompletionId, p->ioctl, irp->IoStatus, NULL, e.msg, NULL);
        esc_msg_free(&r);
        return;
    }
    if (p->decoded) direct_note_return(&p->call, &r);
    const char *policy = NULL;
    bool scrubbed = scrub_failed_return(&r) != 0;
    bool filtered = rc_policy_fix_return(&g.policy, p->decoded ? &p->call : NULL, &r);
    if ((scrubbed || filtered) && !output_reencode(irp, &r))
        policy = "refused: return could not be filtered";
    else if (filtered)
        policy = "filtered: denied readers removed";
    else if (scrubbed)
        policy = "scrubbed: failed call's uninitialised buffer dropped";
    rc_trace_return(plugin_trace(), irp->CompletionId, p->ioctl, irp->IoStatus, &r, NULL, policy);
    esc_msg_free(&r);
}

static UINT plugin_irp_complete(IRP *irp)
{
    struct pending *p = pending_take(irp);
    if (!p) return CHANNEL_RC_OK; /* cannot happen: we only install it with a record */
    plugin_inspect_return(irp, p);
    pcIRPResponse complete = p->complete;
    irp->Complete = complete;
    pending_free(p);
    return complete(irp);
}

/* Send the completion of an IRP answered here from this thread, through the
 * client's sender: FreeRDP's own way queues it for its main thread, one more
 * wake-up per call.  Without a sender, or before the client is connected,
 * FreeRDP's way. */
static UINT plugin_complete(IRP *irp)
{
    rc_rdpdr_send_fn send = atomic_load(&lent_send);
    if (!send) return irp->Complete(irp);
    size_t len = Stream_GetPosition(irp->output);
    Stream_SetPosition(irp->output, IOCOMPLETION_HEADER - 4);
    Stream_Write_UINT32(irp->output, irp->IoStatus); /* as FreeRDP's irp_complete does */
    Stream_SetPosition(irp->output, len);
    int sent = send(Stream_Buffer(irp->output), len);
    if (sent == 0) return irp->Complete(irp);
    irp->Discard(irp); /* sent, or the transport failed: the session is ending */
    return CHANNEL_RC_OK;
}

/* Complete irp ourselves with return a (or IoStatus failure when a is NULL). */
UINT plugin_answer(IRP *irp, uint32_t ioctl, const struct esc_msg *a, const char *why)
{
    struct scl_err e = {0};
    uint8_t *buf = NULL;
    size_t n = 0;
    irp->IoStatus = 0;
    Stream_SetPosition(irp->output, IOCOMPLETION_HEADER);
    if (!a || esc_encode_return(a, &buf, &n, &e) || !output_replace(irp, buf, n)) {
        irp->IoStatus = PLUGIN_STATUS_UNSUCCESSFUL;
        Stream_SetPosition(irp->output, IOCOMPLETION_HEADER);
        Stream_SealLength(irp->output);
        a = NULL;
    }
    free(buf);
    rc_trace_return(plugin_trace(), irp->CompletionId, ioctl, irp->IoStatus, a, NULL, why);
    return plugin_complete(irp);
}

/* Put an edited call back into the IRP's InputBuffer (same length only). */
static bool input_replace(uint8_t *in, size_t in_len, const struct esc_msg *m)
{
    uint8_t *buf;
    size_t n;
    struct scl_err e = {0};
    if (esc_encode_call(m, &buf, &n, &e)) return false;
    bool ok = n == in_len;
    if (ok) memcpy(in, buf, n);
    free(buf);
    return ok;
}

/* Whether FreeRDP's device has nothing of ctx's in hand, so a call made
 * here cannot overtake one queued before it on ctx's thread. */
bool plugin_context_idle(const struct esc_context *ctx)
{
    bool idle = true;
    pthread_mutex_lock(&g.lock);
    for (struct pending *p = g.pending; p && idle; p = p->next) {
        struct esc_context other;
        idle = p->decoded && direct_call_context(&p->call, &other) &&
               !direct_context_same(&other, ctx);
    }
    pthread_mutex_unlock(&g.lock);
    return idle;
}

static UINT plugin_forward(DEVICE *device, IRP *irp, uint32_t ioctl, struct esc_msg *call,
                           bool decoded)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        esc_msg_free(call);
        return g.irp_request(device, irp);
    }
    p->irp = irp;
    p->complete = irp->Complete;
    p->ioctl = ioctl;
    p->decoded = decoded;
    p->call = *call; /* ownership moves to the record */
    irp->Complete = plugin_irp_complete;
    pending_push(p);
    UINT rc = g.irp_request(device, irp);
    if (rc) {
        /* rdpdr discards the IRP: forget it. */
        pending_free(pending_take(irp));
    }
    return rc;
}

/* The verdict on a call: the reader policy's, and then the refusal of a
 * card handle named under another context (plugin_direct.c). */
static enum rc_verdict plugin_judge(bool known, bool decoded, struct esc_msg *call,
                                    struct esc_msg *answer, const char **why)
{
    enum rc_verdict v = rc_policy_judge_call(&g.policy, known, call, answer, why);
    if (decoded && v != RC_REFUSE && direct_handle_misnamed(call)) {
        v = RC_REFUSE;
        *why = "refused: card handle named under another context";
    }
    return v;
}

/* Whether a decoded call with verdict v is a Transmit the add-in makes
 * itself, on whichever thread holds it. */
static bool plugin_transmits_here(enum rc_verdict v, const struct esc_msg *call)
{
    return v == RC_FORWARD && !g.freerdp_transmit && direct_transmit_ok(call);
}

static UINT plugin_irp_dispatch(DEVICE *device, IRP *irp)
{
    if (device != g.device || irp->MajorFunction != IRP_MJ_DEVICE_CONTROL)
        return g.irp_request(device, irp);
    /* Read DR_CONTROL_REQ without moving the stream: FreeRDP reads it next. */
    struct cur c;
    cur_init(&c, Stream_Pointer(irp->input), Stream_GetRemainingLength(irp->input));
    cur_u32le(&c); /* OutputBufferLength */
    uint32_t in_len = cur_u32le(&c);
    uint32_t ioctl = cur_u32le(&c);
    cur_skip(&c, 20);
    uint8_t *in = (uint8_t *)(cur_ok(&c) ? cur_bytes(&c, in_len) : NULL);
    struct esc_msg call = {0}, answer = {0};
    if (!in) {
        rc_trace_call(plugin_trace(), irp->CompletionId, ioctl, NULL, "DR_CONTROL_REQ truncated", NULL);
        struct esc_msg none = {0};
        return plugin_forward(device, irp, ioctl, &none, false); /* FreeRDP refuses it */
    }
    bool known = esc_ioctl_find(ioctl) != NULL;
    struct scl_err e = {0};
    bool decoded = known && esc_decode_call(ioctl, in, in_len, &call, &e) == SCL_OK;
    if (known && !decoded) {
        rc_trace_call(plugin_trace(), irp->CompletionId, ioctl, NULL, e.msg, NULL);
        esc_msg_free(&call);
        /* FreeRDP's own decoder would refuse it too; let it, unless strict. */
        if (rc_policy_active(&g.policy))
            return plugin_answer(irp, ioctl, NULL, "refused: undecodable");
        return plugin_forward(device, irp, ioctl, &call, false);
    }
    const char *why = NULL;
    enum rc_verdict v = plugin_judge(known, decoded, &call, &answer, &why);
    if (v == RC_FORWARD_EDITED && !input_replace(in, in_len, &call)) {
        v = RC_REFUSE;
        why = "refused: call could not be edited";
    }
    rc_trace_call(plugin_trace(), irp->CompletionId, ioctl, known ? &call : NULL,
                  known ? NULL : "IOCTL not in the codec's table", why);
    UINT rc;
    switch (v) {
    case RC_ANSWER:
        rc = plugin_answer(irp, ioctl, &answer, why);
        esc_msg_free(&call);
        break;
    case RC_REFUSE:
        rc = plugin_answer(irp, ioctl, NULL, why);
        esc_msg_free(&call);
        break;
    default:
        if (decoded && plugin_transmits_here(v, &call)) {
            rc = direct_transmit(irp, &call.u.transmit_call);
            esc_msg_free(&call);
        } else {
            rc = plugin_forward(device, irp, ioctl, &call, decoded);
        }
        break;
    }
    esc_msg_free(&answer);
    return rc;
}

/* ---- on the client's main thread ------------------------------------------
 * The client shows the plug-in each rdpdr PDU before FreeRDP queues it for
 * rdpdr's thread (RC_PLUGIN_CHANNEL_DATA).  A plain Transmit that may be
 * made at once (plugin_direct.c) is made right there and its completion sent:
 * rdpdr's thread is never woken for it. */

/* IRPs for our device passed on to rdpdr's thread that plugin_irp_request
 * has not finished: while there is one, the main thread answers nothing, or
 * it could overtake it. */
static atomic_uint passed_on;

static UINT plugin_irp_request(DEVICE *device, IRP *irp)
{
    UINT rc = plugin_irp_dispatch(device, irp);
    /* Only down to 0: an IRP handed to the device without the client's main
     * thread (a test harness) was never counted. */
    unsigned n = atomic_load(&passed_on);
    while (device == g.device && n && !atomic_compare_exchange_weak(&passed_on, &n, n - 1))
        ;
    return rc;
}

/* A DR_DEVICE_IOREQUEST, as far as the main thread needs it. */
struct ioreq {
    uint32_t DeviceId, CompletionId, MajorFunction, ioctl, in_len;
    const uint8_t *in; /* NULL unless a whole Device Control */
};

static bool ioreq_parse(const uint8_t *data, size_t len, struct ioreq *q)
{
    struct cur c;
    cur_init(&c, data, len);
    uint16_t component = cur_u16le(&c), packet = cur_u16le(&c);
    q->DeviceId = cur_u32le(&c);
    cur_skip(&c, 4); /* FileId */
    q->CompletionId = cur_u32le(&c);
    q->MajorFunction = cur_u32le(&c);
    cur_skip(&c, 4); /* MinorFunction */
    if (!cur_ok(&c) || component != RDPDR_CTYP_CORE || packet != PAKID_CORE_DEVICE_IOREQUEST)
        return false;
    q->ioctl = q->in_len = 0;
    q->in = NULL;
    if (q->MajorFunction == IRP_MJ_DEVICE_CONTROL) {
        cur_skip(&c, 4); /* OutputBufferLength */
        q->in_len = cur_u32le(&c);
        q->ioctl = cur_u32le(&c);
        cur_skip(&c, 20);
        q->in = cur_ok(&c) ? cur_bytes(&c, q->in_len) : NULL;
    }
    return true;
}

/* DR_DEVICE_IOCOMPLETION of q with return r (NULL: STATUS_UNSUCCESSFUL and
 * no body, FreeRDP's refused form), sent through the client. */
static void ioreq_complete(const struct ioreq *q, const struct esc_msg *r, rc_rdpdr_send_fn send)
{
    struct scl_err e = {0};
    uint8_t *out = NULL;
    size_t n = 0;
    if (r && esc_encode_return(r, &out, &n, &e)) r = NULL;
    struct wcur w;
    wcur_init_dyn(&w);
    wcur_u16le(&w, RDPDR_CTYP_CORE);
    wcur_u16le(&w, PAKID_CORE_DEVICE_IOCOMPLETION);
    wcur_u32le(&w, q->DeviceId);
    wcur_u32le(&w, q->CompletionId);
    wcur_u32le(&w, r ? 0 : PLUGIN_STATUS_UNSUCCESSFUL);
    if (r) {
        wcur_u32le(&w, (uint32_t)n);
        wcur_bytes(&w, out, n);
    }
    rc_trace_return(plugin_trace(), q->CompletionId, q->ioctl, r ? 0 : PLUGIN_STATUS_UNSUCCESSFUL,
                    r, NULL, NULL);
    if (wcur_ok(&w)) send(wcur_data(&w), wcur_len(&w)); /* failed: the session is ending */
    wcur_free(&w);
    free(out);
}

/* Make q's Transmit here if nothing can tell the difference; false: pass it on. */
static bool ioreq_transmit_here(const struct ioreq *q)
{
    rc_rdpdr_send_fn send = atomic_load(&lent_send);
    /* The probe: once the Transmit is made, the completion must go out here. */
    if (!send || q->ioctl != SCARD_IOCTL_TRANSMIT || !q->in || atomic_load(&passed_on) ||
        send(NULL, 0) != 1)
        return false;
    struct esc_msg call = {0}, answer = {0};
    struct scl_err e = {0};
    const char *why = NULL;
    bool here = esc_decode_call(q->ioctl, q->in, q->in_len, &call, &e) == SCL_OK &&
                plugin_transmits_here(plugin_judge(true, true, &call, &answer, &why), &call);
    if (here) {
        struct esc_msg r;
        uint8_t *buf;
        rc_trace_call(plugin_trace(), q->CompletionId, q->ioctl, &call, NULL, NULL);
        direct_transmit_make(&call.u.transmit_call, &r, &buf);
        ioreq_complete(q, &r, send);
        free(buf);
    }
    esc_msg_free(&call);
    esc_msg_free(&answer);
    return here;
}

int scardlab_smartcard_channel_data(const uint8_t *data, size_t len, int whole)
{
    struct ioreq q;
    if (!ioreq_parse(data, len, &q)) return 0;
    pthread_mutex_lock(&g.lock);
    bool ours = g.device && q.DeviceId == g.device->id;
    pthread_mutex_unlock(&g.lock);
    if (!ours) return 0;
    if (whole && ioreq_transmit_here(&q)) return 1;
    atomic_fetch_add(&passed_on, 1);
    return 0;
}

static UINT plugin_free_device(DEVICE *device)
{
    pcFreeDevice free_device = g.free_device;
    UINT rc = free_device ? free_device(device) : CHANNEL_RC_OK;
    pthread_mutex_lock(&g.lock);
    struct pending *p = g.pending;
    g.pending = NULL;
    g.device = NULL;
    pthread_mutex_unlock(&g.lock);
    direct_forget_all();
    while (p) {
        struct pending *next = p->next;
        pending_free(p);
        p = next;
    }
    return rc;
}

/* devman's RegisterDevice, seen first: FreeRDP's device is cast back from
 * the DEVICE pointer inside its handlers, so it is patched in place, not
 * copied. */
static UINT plugin_register_device(DEVMAN *devman, DEVICE *device)
{
    if (device && device->type == RDPDR_DTYP_SMARTCARD && !g.device) {
        g.device = device;
        g.irp_request = device->IRPRequest;
        g.free_device = device->Free;
        device->IRPRequest = plugin_irp_request;
        device->Free = plugin_free_device;
    }
    return g.register_device(devman, device);
}

UINT VCAPITYPE DeviceServiceEntry(PDEVICE_SERVICE_ENTRY_POINTS pEntryPoints)
{
    if (!g.configured && plugin_config_from_env()) return ERROR_INVALID_PARAMETER;
    PDEVICE_SERVICE_ENTRY builtin = (PDEVICE_SERVICE_ENTRY)freerdp_channels_load_static_addin_entry(
        "smartcard", NULL, "DeviceServiceEntry", 0);
    if (!builtin) {
        fprintf(stderr, "scardlab-smartcard: FreeRDP has no built-in smartcard device\n");
        return ERROR_INTERNAL_ERROR;
    }
    DEVICE_SERVICE_ENTRY_POINTS ep = *pEntryPoints;
    g.register_device = pEntryPoints->RegisterDevice;
    ep.RegisterDevice = plugin_register_device;
    fprintf(stderr, "scardlab-smartcard: wrapping FreeRDP's smartcard device (reader policy: %s)\n",
            rc_policy_active(&g.policy) ? "allow list" : "none");
    return builtin(&ep);
}
