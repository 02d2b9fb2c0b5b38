/*
 * smartcard_device.c - loads the wrapped smart-card device for the test
 * programs (smartcard_device.h).  Not for sending IRPs: each program has
 * its own completion bookkeeping.
 */
#include "smartcard_device.h"

#include <freerdp/addin.h>
#include <freerdp/client/channels.h>
#include <freerdp/settings.h>

#include <winpr/stream.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rc_client_load_plugin(const struct rc_connect_opts *o, char *path, size_t cap,
                          struct scl_err *e);

static DEVICE *registered;
static char plugin_path[PATH_MAX];

struct test_plugin_client test_plugin_client(void)
{
    struct test_plugin_client c = {0};
    void *h = plugin_path[0] ? dlopen(plugin_path, RTLD_NOW | RTLD_NOLOAD) : NULL;
    if (h) {
        c.channel_data = (rc_plugin_channel_data_fn)dlsym(h, RC_PLUGIN_CHANNEL_DATA);
        c.lend_sender = (rc_plugin_lend_sender_fn)dlsym(h, RC_PLUGIN_LEND_SENDER);
        dlclose(h); /* the reference NOLOAD took; the plug-in stays */
    }
    return c;
}

static UINT register_device(DEVMAN *devman, DEVICE *d)
{
    (void)devman;
    registered = d;
    return CHANNEL_RC_OK;
}

DEVICE *test_smartcard_device(const struct rc_connect_opts *o, const char *who)
{
    char *path = plugin_path;
    struct scl_err e = {0};
    if (rc_client_load_plugin(o, path, sizeof plugin_path, &e)) {
        fprintf(stderr, "%s: %s\n", who, e.msg);
        return NULL;
    }
    /* What devman does: the provider answers for "smartcard". */
    PDEVICE_SERVICE_ENTRY entry = (PDEVICE_SERVICE_ENTRY)freerdp_load_channel_addin_entry(
        "smartcard", NULL, "DeviceServiceEntry", 0);
    static RDPDR_DEVICE dev = {.Type = RDPDR_DTYP_SMARTCARD};
    DEVICE_SERVICE_ENTRY_POINTS ep = {.RegisterDevice = register_device, .device = &dev};
    if (!entry || entry(&ep) != CHANNEL_RC_OK || !registered) {
        fprintf(stderr, "%s: smartcard device did not load\n", who);
        return NULL;
    }
    return registered;
}

IRP *test_control_irp(DEVICE *d, uint32_t completion_id, uint32_t ioctl, const uint8_t *in,
                      size_t n, uint32_t declared, size_t hdr_cut, UINT (*complete)(IRP *),
                      UINT (*discard)(IRP *))
{
    IRP *irp = aligned_alloc(16, (sizeof(IRP) + 15) / 16 * 16);
    if (!irp) abort();
    memset(irp, 0, sizeof *irp);
    irp->device = d;
    irp->CompletionId = completion_id;
    irp->MajorFunction = IRP_MJ_DEVICE_CONTROL;
    irp->input = Stream_New(NULL, 56 + n);
    Stream_Write_UINT16(irp->input, RDPDR_CTYP_CORE);
    Stream_Write_UINT16(irp->input, PAKID_CORE_DEVICE_IOREQUEST);
    Stream_Write_UINT32(irp->input, d->id);
    Stream_Write_UINT32(irp->input, 0); /* FileId */
    Stream_Write_UINT32(irp->input, completion_id);
    Stream_Write_UINT32(irp->input, IRP_MJ_DEVICE_CONTROL);
    Stream_Write_UINT32(irp->input, 0); /* MinorFunction */
    uint8_t hdr[32] = {0};
    struct wcur w;
    wcur_init_fixed(&w, hdr, sizeof hdr);
    wcur_u32le(&w, 2048); /* OutputBufferLength */
    wcur_u32le(&w, declared);
    wcur_u32le(&w, ioctl);
    Stream_Write(irp->input, hdr, hdr_cut < 32 ? hdr_cut : 32);
    if (hdr_cut >= 32 && n)
        Stream_Write(irp->input, in, n);
    Stream_SealLength(irp->input);
    Stream_SetPosition(irp->input, 24);
    irp->output = Stream_New(NULL, 256);
    Stream_Write_UINT16(irp->output, RDPDR_CTYP_CORE);
    Stream_Write_UINT16(irp->output, PAKID_CORE_DEVICE_IOCOMPLETION);
    Stream_Write_UINT32(irp->output, d->id);
    Stream_Write_UINT32(irp->output, completion_id);
    Stream_Write_UINT32(irp->output, 0);
    irp->Complete = complete;
    irp->Discard = discard;
    return irp;
}
