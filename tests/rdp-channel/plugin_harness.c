/*
 * plugin_harness.c - drives the smart-card device the way rdpdr does, with
 * no RDP server: loads it through our add-in provider (so the plug-in wraps
 * FreeRDP's device), sends IRP_MJ_DEVICE_CONTROL IRPs built with the codec,
 * and prints each return.  For tests/e2e/connect_plugin_lab.sh; not a client.
 *
 * usage: plugin_harness [--trace F] [--reader-allow N]... [--probe READER]
 *                       [--connect READER] [--freerdp-transmit]
 */
#include "rdp_channel.h"
#include "smartcard_device.h"

#include <freerdp/addin.h>
#include <freerdp/channels/rdpdr.h>
#include <freerdp/client/channels.h>
#include <freerdp/settings.h>
#include <winpr/stream.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static DEVICE *device;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static IRP *done;
static uint32_t next_id = 1;

static UINT harness_complete(IRP *irp)
{
    pthread_mutex_lock(&lock);
    done = irp;
    pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&lock);
    return CHANNEL_RC_OK;
}

static UINT harness_discard(IRP *irp)
{
    return harness_complete(irp);
}

/* One IRP: DR_DEVICE_IOREQUEST + DR_CONTROL_REQ around the encoded call. */
static int send_call(const struct esc_msg *call, struct esc_msg *ret, uint32_t *io_status)
{
    uint8_t *in;
    size_t in_len;
    struct scl_err e = {0};
    if (esc_encode_call(call, &in, &in_len, &e)) {
        fprintf(stderr, "harness: %s\n", e.msg);
        return -1;
    }
    IRP *irp = test_control_irp(device, next_id++, call->ioctl, in, in_len, (uint32_t)in_len, 32,
                                harness_complete, harness_discard);
    free(in);
    pthread_mutex_lock(&lock);
    done = NULL;
    pthread_mutex_unlock(&lock);
    if (device->IRPRequest(device, irp) != CHANNEL_RC_OK) {
        fprintf(stderr, "harness: IRPRequest failed\n");
        return -1;
    }
    pthread_mutex_lock(&lock);
    while (done != irp)
        pthread_cond_wait(&done_cv, &lock);
    pthread_mutex_unlock(&lock);
    *io_status = irp->IoStatus;
    int rc = 1; /* no OutputBuffer */
    size_t len = Stream_GetPosition(irp->output);
    if (len > 20) {
        rc = esc_decode_return(call->ioctl, Stream_Buffer(irp->output) + 20, len - 20, ret, &e);
        if (rc) fprintf(stderr, "harness: return: %s\n", e.msg);
    }
    Stream_Free(irp->input, TRUE);
    Stream_Free(irp->output, TRUE);
    free(irp);
    return rc;
}

/* Send, print "NAME IoStatus=.. <json>", return ReturnCode (or -1). */
static int32_t call_and_print(const struct esc_msg *call, struct esc_msg *ret)
{
    uint32_t io = 0;
    memset(ret, 0, sizeof *ret);
    int rc = send_call(call, ret, &io);
    if (rc) {
        printf("%s IoStatus=0x%08X no-return\n", esc_ioctl_name(call->ioctl), io);
        fflush(stdout);
        return -1;
    }
    char *json = esc_trace_json(ret);
    printf("%s IoStatus=0x%08X %s\n", esc_ioctl_name(call->ioctl), io, json ? json : "");
    fflush(stdout);
    free(json);
    return ret->u.long_return.ReturnCode;
}

static void transmit(const struct esc_handle *h, const char *hex)
{
    uint8_t apdu[300];
    int n = scl_hex_decode(hex, apdu, sizeof apdu);
    struct esc_msg c = {.ioctl = SCARD_IOCTL_TRANSMIT, .type = ESC_T_TRANSMIT_CALL}, r;
    c.u.transmit_call.hCard = *h;
    c.u.transmit_call.ioSendPci.dwProtocol = 2; /* T=1 */
    c.u.transmit_call.cbSendLength = (uint32_t)n;
    c.u.transmit_call.pbSendBuffer = apdu;
    c.u.transmit_call.cbRecvLength = 258;
    call_and_print(&c, &r);
    esc_msg_free(&r);
}

static void run_connect(const struct esc_context *ctx, const char *reader)
{
    struct esc_msg c = {.ioctl = SCARD_IOCTL_CONNECTW, .type = ESC_T_CONNECT_CALL}, r;
    c.u.connect_call.Context = *ctx;
    c.u.connect_call.szReader = (char *)reader;
    c.u.connect_call.dwShareMode = 2;
    c.u.connect_call.dwPreferredProtocols = 3;
    if (call_and_print(&c, &r) != 0) {
        esc_msg_free(&r);
        return;
    }
    struct esc_handle h = r.u.connect_return.hCard;
    esc_msg_free(&r);
    transmit(&h, "00a4040009a0000003080000100000"); /* SELECT PIV, partial AID, Le 00 */
    transmit(&h, "00cb3fff055c035fc10208");         /* GET DATA CHUID, probe */
    struct esc_msg d = {.ioctl = SCARD_IOCTL_DISCONNECT, .type = ESC_T_HCARD_AND_DISPOSITION_CALL};
    d.u.hcard_and_disposition_call.hCard = h;
    call_and_print(&d, &r);
    esc_msg_free(&r);
}

static void run_status_change(const struct esc_context *ctx, const struct esc_msz *readers,
                              const char *probe)
{
    struct esc_reader_state states[ESC_MAX_READERS] = {0};
    uint32_t n = 0;
    states[n++].szReader = RC_PNP_READER;
    for (size_t i = 0; i < readers->count && n < ESC_MAX_READERS - 1; i++)
        states[n++].szReader = readers->names[i];
    if (probe) states[n++].szReader = (char *)probe;
    struct esc_msg c = {.ioctl = SCARD_IOCTL_GETSTATUSCHANGEW,
                        .type = ESC_T_GET_STATUS_CHANGE_CALL},
                   r;
    c.u.get_status_change_call.Context = *ctx;
    c.u.get_status_change_call.dwTimeOut = 0;
    c.u.get_status_change_call.cReaders = n;
    c.u.get_status_change_call.rgReaderStates = states;
    call_and_print(&c, &r);
    esc_msg_free(&r);
}

int main(int argc, char **argv)
{
    struct rc_connect_opts o = {0};
    const char *probe = NULL, *connect = NULL;
    struct scl_err e = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--freerdp-transmit")) {
            o.freerdp_transmit = true;
            continue;
        }
        if (i + 1 >= argc) break;
        if (!strcmp(argv[i], "--trace"))
            o.trace = argv[i + 1];
        else if (!strcmp(argv[i], "--reader-allow"))
            rc_policy_add(&o.policy, argv[i + 1], &e);
        else if (!strcmp(argv[i], "--probe"))
            probe = argv[i + 1];
        else if (!strcmp(argv[i], "--connect"))
            connect = argv[i + 1];
        i++;
    }
    if (!(device = test_smartcard_device(&o, "harness")))
        return 2;
    struct esc_msg c = {.ioctl = SCARD_IOCTL_ESTABLISHCONTEXT,
                        .type = ESC_T_ESTABLISH_CONTEXT_CALL},
                   r;
    c.u.establish_context_call.dwScope = 2;
    if (call_and_print(&c, &r) != 0) return 1;
    struct esc_context ctx = r.u.establish_context_return.Context;
    esc_msg_free(&r);
    struct esc_msg l = {.ioctl = SCARD_IOCTL_LISTREADERSW, .type = ESC_T_LIST_READERS_CALL};
    l.u.list_readers_call.Context = ctx;
    l.u.list_readers_call.cchReaders = 0xFFFFFFFF; /* SCARD_AUTOALLOCATE */
    call_and_print(&l, &r);
    for (size_t i = 0; i < r.u.list_readers_return.msz.count; i++)
        printf("reader: %s\n", r.u.list_readers_return.msz.names[i]);
    run_status_change(&ctx, &r.u.list_readers_return.msz, probe);
    esc_msg_free(&r);
    if (connect) run_connect(&ctx, connect);
    struct esc_msg rel = {.ioctl = SCARD_IOCTL_RELEASECONTEXT, .type = ESC_T_CONTEXT_CALL};
    rel.u.context_call.Context = ctx;
    call_and_print(&rel, &r);
    esc_msg_free(&r);
    device->Free(device);
    rc_policy_free(&o.policy);
    return 0;
}
