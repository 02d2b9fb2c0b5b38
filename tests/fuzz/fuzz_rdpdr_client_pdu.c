/*
 * fuzz_rdpdr_client_pdu.c - a malicious RDP client's PDUs into the session
 * host's rdpdr channel (rdpdr_chan_receive).  Byte 0 picks the start: bit 0
 * runs the FreeRDP handshake first, bit 1 also leaves one MS-RDPESC call
 * waiting (CompletionId 1).  The rest is records: u16le length, then a PDU.
 * Feeding stops at the first error (the host drops the session); then the
 * channel closes and the waiting call must return.  Not for the PDU codec
 * alone (every record goes through it anyway).
 */
#include "rdpdr.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned irps;
};

static bool fz_write(void *ctx, const uint8_t *b, size_t n)
{
    struct fz *f = ctx;
    struct rdpdr_pdu p;
    struct scl_err e;
    /* What the host writes must always decode. */
    if (rdpdr_pdu_decode(b, n, &p, &e) != SCL_OK)
        __builtin_trap();
    pthread_mutex_lock(&f->mu);
    f->irps += p.type == RDPDR_PDU_DEVICE_IOREQUEST;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return true;
}

static void fz_feed(struct rdpdr_chan *ch, const struct rdpdr_pdu *p)
{
    struct wcur w;
    struct scl_err e;
    wcur_init_dyn(&w);
    if (rdpdr_pdu_encode(p, &w, &e) || rdpdr_chan_receive(ch, wcur_data(&w), wcur_len(&w), &e))
        __builtin_trap();
    wcur_free(&w);
}

static void fz_handshake(struct rdpdr_chan *ch)
{
    struct scl_err e;
    if (rdpdr_chan_start(ch, &e))
        __builtin_trap();
    struct rdpdr_pdu p = {.type = RDPDR_PDU_CLIENTID_CONFIRM};
    p.u.announce = (struct rdpdr_announce){1, 0x0C, 7};
    fz_feed(ch, &p);
    memset(&p, 0, sizeof p);
    p.type = RDPDR_PDU_CLIENT_NAME;
    p.u.client_name.UnicodeFlag = 1;
    strcpy(p.u.client_name.ComputerName, "fuzz");
    fz_feed(ch, &p);
    memset(&p, 0, sizeof p);
    p.type = RDPDR_PDU_CLIENT_CAPABILITY;
    p.u.caps.numCapabilities = 1;
    p.u.caps.caps[0].CapabilityType = CAP_GENERAL_TYPE;
    p.u.caps.caps[0].Version = GENERAL_CAPABILITY_VERSION_02;
    p.u.caps.caps[0].general.extendedPDU = RDPDR_USER_LOGGEDON_PDU | RDPDR_DEVICE_REMOVE_PDUS;
    fz_feed(ch, &p);
    memset(&p, 0, sizeof p);
    p.type = RDPDR_PDU_DEVICELIST_ANNOUNCE;
    p.u.device_list.DeviceCount = 1;
    p.u.device_list.devices[0].DeviceType = RDPDR_DTYP_SMARTCARD;
    p.u.device_list.devices[0].DeviceId = 1;
    strcpy(p.u.device_list.devices[0].PreferredDosName, "SCARD");
    fz_feed(ch, &p);
}

static void fz_call(struct rdpdr_chan *ch)
{
    struct esc_msg m = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT}, ret;
    struct scl_err e;
    m.u.establish_context_call.dwScope = 2;
    if (rdpdr_chan_call(ch, &m, &ret, &e) == SCL_OK)
        esc_msg_free(&ret);
}

/* One caller thread for the whole run (creating one per input was a large
 * share of each input's time under ASan).  It makes one call on caller.ch,
 * then sets caller.ch back to NULL. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct rdpdr_chan *ch;
} caller = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL};

static void *caller_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&caller.mu);
    for (;;) {
        while (!caller.ch)
            pthread_cond_wait(&caller.cv, &caller.mu);
        struct rdpdr_chan *ch = caller.ch;
        pthread_mutex_unlock(&caller.mu);
        fz_call(ch);
        pthread_mutex_lock(&caller.mu);
        caller.ch = NULL;
        pthread_cond_broadcast(&caller.cv);
    }
    return NULL;
}

static bool caller_start(struct rdpdr_chan *ch)
{
    static bool running;
    pthread_t t;
    if (!running) {
        if (pthread_create(&t, NULL, caller_main, NULL))
            return false;
        pthread_detach(t);
        running = true;
    }
    pthread_mutex_lock(&caller.mu);
    caller.ch = ch;
    pthread_cond_broadcast(&caller.cv);
    pthread_mutex_unlock(&caller.mu);
    return true;
}

/* The call has returned (the channel closed under it, at the latest). */
static void caller_wait(void)
{
    pthread_mutex_lock(&caller.mu);
    while (caller.ch)
        pthread_cond_wait(&caller.cv, &caller.mu);
    pthread_mutex_unlock(&caller.mu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct fz f = {.irps = 0};
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    struct rdpdr_chan_cb cb = {.ctx = &f, .write = fz_write};
    struct rdpdr_chan *ch = rdpdr_chan_new(&cb, true, 7);
    bool calling = false;
    if (data[0] & 1) {
        fz_handshake(ch);
        if ((data[0] & 2) && caller_start(ch)) {
            calling = true;
            pthread_mutex_lock(&f.mu);
            while (!f.irps)
                pthread_cond_wait(&f.cv, &f.mu);
            pthread_mutex_unlock(&f.mu);
        }
    } else {
        struct scl_err e;
        rdpdr_chan_start(ch, &e);
    }
    struct cur c;
    cur_init(&c, data + 1, size - 1);
    while (cur_left(&c) >= 2) {
        uint16_t n = cur_u16le(&c);
        const uint8_t *pdu = cur_bytes(&c, n);
        struct scl_err e;
        if (!pdu)
            break;
        if (rdpdr_chan_receive(ch, pdu, n, &e))
            break;
    }
    rdpdr_chan_close(ch);
    if (calling)
        caller_wait();
    rdpdr_chan_free(ch);
    pthread_cond_destroy(&f.cv);
    pthread_mutex_destroy(&f.mu);
    return 0;
}
