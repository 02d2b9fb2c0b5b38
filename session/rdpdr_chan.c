/*
 * rdpdr_chan.c - the server's side of the rdpdr handshake and the Device
 * Control IRP correlation that lets any thread make a blocking MS-RDPESC
 * call.  Not for PC/SC semantics (scard_backend.c) or transport (host_peer.c).
 */
#include "rdpdr.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RDPDR_VERSION_MAJOR 1
#define RDPDR_VERSION_MINOR 0x000C
#define RDPDR_MAX_PENDING 64
/* MS-RDPESC 3.2.5.1: OutputBufferLength SHOULD be 2048 (FreeRDP ignores it). */
#define RDPDR_OUTPUT_BUFFER_LENGTH 2048

enum chan_state {
    CHAN_NEW,           /* nothing sent yet */
    CHAN_ANNOUNCED,     /* Server Announce sent; waiting for the Announce Reply */
    CHAN_REPLIED,       /* waiting for Client Name */
    CHAN_CONFIRMED,     /* Server Capability + Client ID Confirm sent */
};

struct pending_irp {
    bool used, done;
    /* Its caller gave up when the device was removed; the slot (and the
     * CompletionId) stay taken until the client completes it or the session
     * ends, and that completion is then dropped. */
    bool orphan;
    uint32_t device_gen; /* ch->scard_gen when it was sent */
    uint32_t CompletionId;
    uint32_t ioctl;
    /* An asynchronous call's answer goes here; NULL for a waiting caller,
     * and once the answer (or the failure) is handed over. */
    rdpdr_chan_done_fn done_fn;
    void *done_ctx;
    uint32_t IoStatus;
    uint8_t *out;
    size_t outlen;
    /* Only its own caller waits here: a completion wakes one thread, not
     * every caller (the status thread's long GetStatusChange included). */
    pthread_cond_t answered;
};

struct rdpdr_chan {
    struct rdpdr_chan_cb cb;
    bool enable_smartcard;
    uint32_t ClientId;
    enum chan_state state;
    bool client_caps_seen;
    uint32_t client_extendedPDU;
    bool loggedon_sent;

    pthread_mutex_t mu;
    pthread_cond_t slot_free; /* callers waiting for a pending slot */
    bool closed;
    bool has_scard;
    uint32_t scard_DeviceId;
    uint32_t scard_gen; /* bumped when the smart-card device comes or goes */
    uint32_t next_completion_id;
    struct pending_irp pending[RDPDR_MAX_PENDING];
};

static void chan_log(struct rdpdr_chan *ch, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void chan_log(struct rdpdr_chan *ch, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    if (!ch->cb.log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ch->cb.log(ch->cb.ctx, line);
}

/* The device went or the channel closed: every caller rechecks; called locked. */
static void chan_wake_all(struct rdpdr_chan *ch)
{
    for (size_t i = 0; i < RDPDR_MAX_PENDING; i++)
        if (ch->pending[i].used)
            pthread_cond_signal(&ch->pending[i].answered);
    pthread_cond_broadcast(&ch->slot_free);
}

/* An asynchronous call's answer, taken out of its slot to be handed over
 * without the lock. */
struct chan_answer {
    rdpdr_chan_done_fn fn;
    void *ctx;
    uint32_t ioctl;
    uint32_t IoStatus;
    uint8_t *out;
    size_t outlen;
};

/* Take irp's answer-to-be and mark it handed over; called locked. */
static struct chan_answer chan_take_answer(struct pending_irp *irp)
{
    struct chan_answer a = {irp->done_fn, irp->done_ctx, irp->ioctl, irp->IoStatus,
                            irp->out, irp->outlen};
    irp->done_fn = NULL;
    irp->out = NULL;
    irp->outlen = 0;
    return a;
}

static int chan_finish(uint32_t ioctl, uint32_t IoStatus, const uint8_t *out, size_t outlen,
                       struct esc_msg *ret, struct scl_err *e)
{
    if (IoStatus != RDPDR_STATUS_SUCCESS)
        return scl_errf(e, SCL_E_PCSC, "%s: the client completed the IRP with IoStatus 0x%08X",
                        esc_ioctl_name(ioctl), IoStatus);
    return esc_decode_return(ioctl, out, outlen, ret, e);
}

/* Hand an answer over: decoded when the client sent one (why == NULL),
 * else the failure why names. */
static void chan_deliver(struct chan_answer *a, const char *why)
{
    struct scl_err e = {0};
    struct esc_msg ret = {0};
    int rc = why ? scl_errf(&e, SCL_E_STATE, "%s: %s", esc_ioctl_name(a->ioctl), why)
                 : chan_finish(a->ioctl, a->IoStatus, a->out, a->outlen, &ret, &e);
    free(a->out);
    a->fn(a->ctx, rc, &ret, &e);
    esc_msg_free(&ret);
}

/* Every asynchronous call still open (of gen only, unless any_gen) answered
 * with why; each slot stays an orphan when keep, else is freed.  Called
 * unlocked. */
static void chan_fail_async(struct rdpdr_chan *ch, bool any_gen, uint32_t gen, bool keep,
                            const char *why)
{
    struct chan_answer a[RDPDR_MAX_PENDING];
    size_t n = 0;
    pthread_mutex_lock(&ch->mu);
    for (size_t i = 0; i < RDPDR_MAX_PENDING; i++) {
        struct pending_irp *irp = &ch->pending[i];
        if (!irp->used || irp->done || !irp->done_fn || (!any_gen && irp->device_gen != gen))
            continue;
        a[n++] = chan_take_answer(irp);
        irp->orphan = keep;
        irp->used = keep;
    }
    pthread_cond_broadcast(&ch->slot_free);
    pthread_mutex_unlock(&ch->mu);
    for (size_t i = 0; i < n; i++)
        chan_deliver(&a[i], why);
}

static int chan_send(struct rdpdr_chan *ch, const struct rdpdr_pdu *p, struct scl_err *e)
{
    struct wcur w;
    wcur_init_dyn(&w);
    int rc = rdpdr_pdu_encode(p, &w, e);
    if (!rc && !ch->cb.write(ch->cb.ctx, wcur_data(&w), wcur_len(&w)))
        rc = scl_errf(e, SCL_E_IO, "rdpdr: %s: channel write failed", rdpdr_pdu_name(p->type));
    wcur_free(&w);
    return rc;
}

struct rdpdr_chan *rdpdr_chan_new(const struct rdpdr_chan_cb *cb, bool enable_smartcard,
                                  uint32_t ClientId)
{
    struct rdpdr_chan *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    ch->cb = *cb;
    ch->enable_smartcard = enable_smartcard;
    ch->ClientId = ClientId;
    ch->next_completion_id = 1;
    pthread_mutex_init(&ch->mu, NULL);
    pthread_cond_init(&ch->slot_free, NULL);
    for (size_t i = 0; i < RDPDR_MAX_PENDING; i++)
        pthread_cond_init(&ch->pending[i].answered, NULL);
    return ch;
}

int rdpdr_chan_start(struct rdpdr_chan *ch, struct scl_err *e)
{
    struct rdpdr_pdu p = {.type = RDPDR_PDU_SERVER_ANNOUNCE};
    p.u.announce.VersionMajor = RDPDR_VERSION_MAJOR;
    p.u.announce.VersionMinor = RDPDR_VERSION_MINOR;
    p.u.announce.ClientId = ch->ClientId;
    ch->state = CHAN_ANNOUNCED;
    return chan_send(ch, &p, e);
}

static int chan_send_caps_and_confirm(struct rdpdr_chan *ch, struct scl_err *e)
{
    struct rdpdr_pdu p = {.type = RDPDR_PDU_SERVER_CAPABILITY};
    struct rdpdr_caps *k = &p.u.caps;
    k->numCapabilities = 2;
    k->caps[0].CapabilityType = CAP_GENERAL_TYPE;
    k->caps[0].Version = GENERAL_CAPABILITY_VERSION_02;
    k->caps[0].general.protocolMajorVersion = RDPDR_VERSION_MAJOR;
    k->caps[0].general.protocolMinorVersion = RDPDR_VERSION_MINOR;
    k->caps[0].general.ioCode1 = 0x0000FFFF; /* every IRP_MJ bit MS-RDPEFS lists */
    k->caps[0].general.extendedPDU =
        RDPDR_DEVICE_REMOVE_PDUS | RDPDR_CLIENT_DISPLAY_NAME_PDU | RDPDR_USER_LOGGEDON_PDU;
    k->caps[0].general.extraFlags1 = ENABLE_ASYNCIO;
    k->caps[1].CapabilityType = CAP_SMARTCARD_TYPE;
    k->caps[1].Version = SMARTCARD_CAPABILITY_VERSION_01;
    int rc = chan_send(ch, &p, e);
    if (rc)
        return rc;
    struct rdpdr_pdu c = {.type = RDPDR_PDU_CLIENTID_CONFIRM};
    c.u.announce.VersionMajor = RDPDR_VERSION_MAJOR;
    c.u.announce.VersionMinor = RDPDR_VERSION_MINOR;
    c.u.announce.ClientId = ch->ClientId;
    ch->state = CHAN_CONFIRMED;
    return chan_send(ch, &c, e);
}

static uint32_t chan_device_verdict(struct rdpdr_chan *ch, const struct rdpdr_device *d,
                                    bool *fresh)
{
    *fresh = false;
    if (d->DeviceType != RDPDR_DTYP_SMARTCARD) {
        chan_log(ch, "rdpdr: device %u type 0x%x '%s' refused (only smart cards are redirected)",
                 d->DeviceId, d->DeviceType, d->PreferredDosName);
        return RDPDR_STATUS_NOT_SUPPORTED;
    }
    if (!ch->enable_smartcard) {
        chan_log(ch, "rdpdr: smart-card device %u refused by policy fEnableSmartCard=0",
                 d->DeviceId);
        return RDPDR_STATUS_UNSUCCESSFUL;
    }
    pthread_mutex_lock(&ch->mu);
    uint32_t verdict = RDPDR_STATUS_SUCCESS;
    if (!ch->has_scard) {
        ch->has_scard = true;
        ch->scard_DeviceId = d->DeviceId;
        ch->scard_gen++;
        *fresh = true;
    } else if (ch->scard_DeviceId != d->DeviceId) {
        verdict = RDPDR_STATUS_NOT_SUPPORTED; /* one smart-card device per session */
    }
    pthread_mutex_unlock(&ch->mu);
    if (*fresh)
        chan_log(ch, "rdpdr: smart-card device %u '%s' accepted", d->DeviceId,
                 d->PreferredDosName);
    else if (verdict == RDPDR_STATUS_SUCCESS)
        chan_log(ch, "rdpdr: smart-card device %u announced again (de-duplicated)", d->DeviceId);
    else
        chan_log(ch, "rdpdr: second smart-card device %u refused", d->DeviceId);
    return verdict;
}

static int chan_on_device_list(struct rdpdr_chan *ch, const struct rdpdr_device_list *l,
                               struct scl_err *e)
{
    int rc = SCL_OK;
    for (uint32_t i = 0; i < l->DeviceCount && !rc; i++) {
        bool fresh;
        struct rdpdr_pdu r = {.type = RDPDR_PDU_DEVICE_REPLY};
        r.u.device_reply.DeviceId = l->devices[i].DeviceId;
        r.u.device_reply.ResultCode = chan_device_verdict(ch, &l->devices[i], &fresh);
        rc = chan_send(ch, &r, e);
        if (!rc && fresh && ch->cb.smartcard_ready)
            ch->cb.smartcard_ready(ch->cb.ctx, l->devices[i].DeviceId);
    }
    if (!rc && !ch->loggedon_sent && (ch->client_extendedPDU & RDPDR_USER_LOGGEDON_PDU)) {
        struct rdpdr_pdu u = {.type = RDPDR_PDU_USER_LOGGEDON};
        ch->loggedon_sent = true;
        rc = chan_send(ch, &u, e);
    }
    return rc;
}

static void chan_on_device_remove(struct rdpdr_chan *ch, const struct rdpdr_device_remove *r)
{
    for (uint32_t i = 0; i < r->DeviceCount; i++) {
        bool gone = false;
        pthread_mutex_lock(&ch->mu);
        uint32_t gen = ch->scard_gen;
        if (ch->has_scard && ch->scard_DeviceId == r->DeviceIds[i]) {
            ch->has_scard = false;
            ch->scard_gen++; /* wakes and fails the calls still waiting on it */
            gone = true;
            chan_wake_all(ch);
        }
        pthread_mutex_unlock(&ch->mu);
        if (gone) {
            chan_fail_async(ch, false, gen, true,
                            "the device was removed before the client answered");
            chan_log(ch, "rdpdr: smart-card device %u removed by the client", r->DeviceIds[i]);
            if (ch->cb.smartcard_removed)
                ch->cb.smartcard_removed(ch->cb.ctx, r->DeviceIds[i]);
        }
    }
}

static int chan_on_completion(struct rdpdr_chan *ch, const struct rdpdr_io_completion *c,
                              struct scl_err *e)
{
    pthread_mutex_lock(&ch->mu);
    struct pending_irp *irp = NULL;
    for (size_t i = 0; i < RDPDR_MAX_PENDING; i++)
        if (ch->pending[i].used && !ch->pending[i].done &&
            ch->pending[i].CompletionId == c->CompletionId)
            irp = &ch->pending[i];
    if (!irp) {
        pthread_mutex_unlock(&ch->mu);
        return scl_errf(e, SCL_E_FORMAT,
                        "PAKID_CORE_DEVICE_IOCOMPLETION: CompletionId %u matches no open IRP",
                        c->CompletionId);
    }
    if (irp->orphan) {
        irp->used = irp->orphan = false;
        pthread_cond_signal(&ch->slot_free);
        pthread_mutex_unlock(&ch->mu);
        chan_log(ch, "rdpdr: CompletionId %u answers a call of a removed device: dropped",
                 c->CompletionId);
        return SCL_OK;
    }
    irp->IoStatus = c->IoStatus;
    irp->outlen = c->has_output ? c->OutputBufferLength : 0;
    irp->out = irp->outlen ? malloc(irp->outlen) : NULL;
    if (irp->out)
        memcpy(irp->out, c->OutputBuffer, irp->outlen);
    else
        irp->outlen = 0;
    if (irp->done_fn) {
        struct chan_answer a = chan_take_answer(irp);
        irp->used = false;
        pthread_cond_signal(&ch->slot_free);
        pthread_mutex_unlock(&ch->mu);
        chan_deliver(&a, NULL);
        return SCL_OK;
    }
    irp->done = true;
    pthread_cond_signal(&irp->answered);
    pthread_mutex_unlock(&ch->mu);
    return SCL_OK;
}

static int chan_out_of_order(struct rdpdr_chan *ch, enum rdpdr_pdu_type t, struct scl_err *e)
{
    return scl_errf(e, SCL_E_STATE, "rdpdr: %s not expected in handshake state %d",
                    rdpdr_pdu_name(t), (int)ch->state);
}

int rdpdr_chan_receive(struct rdpdr_chan *ch, const uint8_t *buf, size_t len, struct scl_err *e)
{
    struct rdpdr_pdu p;
    int rc = rdpdr_pdu_decode(buf, len, &p, e);
    if (rc)
        return rc;
    switch (p.type) {
    case RDPDR_PDU_CLIENTID_CONFIRM: /* the client's Announce Reply */
        if (ch->state != CHAN_ANNOUNCED)
            return chan_out_of_order(ch, p.type, e);
        if (p.u.announce.VersionMajor != RDPDR_VERSION_MAJOR)
            return scl_errf(e, SCL_E_FORMAT, "PAKID_CORE_CLIENTID_CONFIRM: VersionMajor %u != 1",
                            p.u.announce.VersionMajor);
        ch->state = CHAN_REPLIED;
        return SCL_OK;
    case RDPDR_PDU_CLIENT_NAME:
        if (ch->state != CHAN_REPLIED)
            return chan_out_of_order(ch, p.type, e);
        chan_log(ch, "rdpdr: client name '%s'", p.u.client_name.ComputerName);
        return chan_send_caps_and_confirm(ch, e);
    case RDPDR_PDU_CLIENT_CAPABILITY:
        if (ch->state != CHAN_CONFIRMED)
            return chan_out_of_order(ch, p.type, e);
        ch->client_caps_seen = true;
        for (uint16_t i = 0; i < p.u.caps.numCapabilities; i++)
            if (p.u.caps.caps[i].CapabilityType == CAP_GENERAL_TYPE)
                ch->client_extendedPDU = p.u.caps.caps[i].general.extendedPDU;
        return SCL_OK;
    case RDPDR_PDU_DEVICELIST_ANNOUNCE:
        if (ch->state != CHAN_CONFIRMED)
            return chan_out_of_order(ch, p.type, e);
        return chan_on_device_list(ch, &p.u.device_list, e);
    case RDPDR_PDU_DEVICELIST_REMOVE:
        if (ch->state != CHAN_CONFIRMED)
            return chan_out_of_order(ch, p.type, e);
        chan_on_device_remove(ch, &p.u.device_remove);
        return SCL_OK;
    case RDPDR_PDU_DEVICE_IOCOMPLETION:
        return chan_on_completion(ch, &p.u.io_completion, e);
    default:
        return scl_errf(e, SCL_E_FORMAT, "rdpdr: %s is a server PDU; a client may not send it",
                        rdpdr_pdu_name(p.type));
    }
}

bool rdpdr_chan_has_smartcard(struct rdpdr_chan *ch)
{
    pthread_mutex_lock(&ch->mu);
    bool r = ch->has_scard && !ch->closed;
    pthread_mutex_unlock(&ch->mu);
    return r;
}

/* A free pending slot with a CompletionId no open IRP uses; called locked. */
static struct pending_irp *chan_claim_irp(struct rdpdr_chan *ch)
{
    for (;;) {
        if (ch->closed || !ch->has_scard)
            return NULL;
        for (size_t i = 0; i < RDPDR_MAX_PENDING; i++) {
            struct pending_irp *irp = &ch->pending[i];
            if (irp->used)
                continue;
            bool clash;
            do {
                clash = false;
                uint32_t id = ch->next_completion_id++;
                for (size_t j = 0; j < RDPDR_MAX_PENDING; j++)
                    clash |= ch->pending[j].used && ch->pending[j].CompletionId == id;
                irp->CompletionId = id;
            } while (clash);
            irp->used = true;
            irp->done = false;
            irp->orphan = false;
            irp->device_gen = ch->scard_gen;
            irp->out = NULL;
            irp->outlen = 0;
            irp->done_fn = NULL;
            return irp;
        }
        pthread_cond_wait(&ch->slot_free, &ch->mu);
    }
}

/* Claim a slot (answered through done when not NULL) and send the IRP.
 * *slot is the claimed slot, NULL when none could be. */
static int chan_send_irp(struct rdpdr_chan *ch, uint32_t ioctl, const uint8_t *in, size_t inlen,
                         rdpdr_chan_done_fn done, void *done_ctx, struct pending_irp **slot,
                         struct scl_err *e)
{
    struct rdpdr_pdu p = {.type = RDPDR_PDU_DEVICE_IOREQUEST};
    struct wcur w;
    pthread_mutex_lock(&ch->mu);
    struct pending_irp *irp = *slot = chan_claim_irp(ch);
    if (!irp) {
        pthread_mutex_unlock(&ch->mu);
        return scl_errf(e, SCL_E_STATE, "%s: no smart-card device (session closing or refused)",
                        esc_ioctl_name(ioctl));
    }
    irp->ioctl = ioctl;
    irp->done_fn = done;
    irp->done_ctx = done_ctx;
    p.u.control_req.DeviceId = ch->scard_DeviceId;
    p.u.control_req.CompletionId = irp->CompletionId;
    p.u.control_req.MajorFunction = IRP_MJ_DEVICE_CONTROL;
    p.u.control_req.OutputBufferLength = RDPDR_OUTPUT_BUFFER_LENGTH;
    p.u.control_req.InputBufferLength = (uint32_t)inlen;
    p.u.control_req.IoControlCode = ioctl;
    p.u.control_req.InputBuffer = in;
    pthread_mutex_unlock(&ch->mu);

    wcur_init_dyn(&w);
    int rc = rdpdr_pdu_encode(&p, &w, e);
    if (!rc && !ch->cb.write(ch->cb.ctx, wcur_data(&w), wcur_len(&w)))
        rc = scl_errf(e, SCL_E_IO, "%s: channel write failed", esc_ioctl_name(ioctl));
    wcur_free(&w);
    return rc;
}

static int chan_transact(struct rdpdr_chan *ch, uint32_t ioctl, const uint8_t *in, size_t inlen,
                         uint8_t **out, size_t *outlen, uint32_t *IoStatus, struct scl_err *e)
{
    struct pending_irp *irp;
    int rc = chan_send_irp(ch, ioctl, in, inlen, NULL, NULL, &irp, e);
    if (!irp)
        return rc;
    pthread_mutex_lock(&ch->mu);
    while (!rc && !irp->done && !ch->closed && ch->scard_gen == irp->device_gen)
        pthread_cond_wait(&irp->answered, &ch->mu);
    if (!rc && !irp->done && !ch->closed) {
        irp->orphan = true;
        pthread_mutex_unlock(&ch->mu);
        return scl_errf(e, SCL_E_STATE, "%s: the device was removed before the client answered",
                        esc_ioctl_name(ioctl));
    }
    if (!rc && !irp->done)
        rc = scl_errf(e, SCL_E_STATE, "%s: session closed before the client answered",
                      esc_ioctl_name(ioctl));
    if (!rc) {
        *out = irp->out;
        *outlen = irp->outlen;
        *IoStatus = irp->IoStatus;
    } else {
        free(irp->out);
    }
    irp->used = false;
    irp->out = NULL;
    pthread_cond_signal(&ch->slot_free);
    pthread_mutex_unlock(&ch->mu);
    return rc;
}

static int chan_encode_call(const struct esc_msg *call, uint8_t **in, size_t *inlen,
                            struct scl_err *e)
{
    const struct esc_ioctl *io = esc_ioctl_find(call->ioctl);
    if (!io)
        return scl_errf(e, SCL_E_INVAL, "rdpdr: IOCTL 0x%08X is not in the codec's table",
                        call->ioctl);
    struct esc_msg typed = *call; /* shallow: the codec wants the spec type named */
    typed.type = io->call_type;
    return esc_encode_call(&typed, in, inlen, e);
}

int rdpdr_chan_call(struct rdpdr_chan *ch, const struct esc_msg *call, struct esc_msg *ret,
                    struct scl_err *e)
{
    uint8_t *in = NULL, *out = NULL;
    size_t inlen = 0, outlen = 0;
    uint32_t IoStatus = 0;
    memset(ret, 0, sizeof *ret);
    int rc = chan_encode_call(call, &in, &inlen, e);
    if (rc)
        return rc;
    rc = chan_transact(ch, call->ioctl, in, inlen, &out, &outlen, &IoStatus, e);
    free(in);
    if (rc)
        return rc;
    rc = chan_finish(call->ioctl, IoStatus, out, outlen, ret, e);
    free(out);
    return rc;
}

int rdpdr_chan_call_async(struct rdpdr_chan *ch, const struct esc_msg *call,
                          rdpdr_chan_done_fn done, void *ctx, struct scl_err *e)
{
    uint8_t *in = NULL;
    size_t inlen = 0;
    int rc = chan_encode_call(call, &in, &inlen, e);
    if (rc)
        return rc;
    struct pending_irp *irp;
    rc = chan_send_irp(ch, call->ioctl, in, inlen, done, ctx, &irp, e);
    free(in);
    if (!rc || !irp)
        return rc;
    /* Not sent.  Unless a close or a removal answered it meanwhile, the
     * caller hears of it here and done never runs. */
    pthread_mutex_lock(&ch->mu);
    bool unanswered = irp->done_fn != NULL;
    if (unanswered) {
        irp->done_fn = NULL;
        irp->used = false;
        pthread_cond_signal(&ch->slot_free);
    }
    pthread_mutex_unlock(&ch->mu);
    return unanswered ? rc : SCL_OK;
}

void rdpdr_chan_close(struct rdpdr_chan *ch)
{
    pthread_mutex_lock(&ch->mu);
    ch->closed = true;
    chan_wake_all(ch);
    pthread_mutex_unlock(&ch->mu);
    chan_fail_async(ch, true, 0, false, "session closed before the client answered");
}

void rdpdr_chan_free(struct rdpdr_chan *ch)
{
    if (!ch)
        return;
    for (size_t i = 0; i < RDPDR_MAX_PENDING; i++) {
        free(ch->pending[i].out);
        pthread_cond_destroy(&ch->pending[i].answered);
    }
    pthread_cond_destroy(&ch->slot_free);
    pthread_mutex_destroy(&ch->mu);
    free(ch);
}
