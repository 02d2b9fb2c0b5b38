/*
 * smartcard_device.c - loads the wrapped smart-card device for the test
 * programs (smartcard_device.h).  Not for sending IRPs: each program has
 * its own completion bookkeeping.
 */
#include "smartcard_device.h"

#include <freerdp/addin.h>
#include <freerdp/client/channels.h>
#include <freerdp/settings.h>

#include <limits.h>
#include <stdio.h>

int rc_client_load_plugin(const struct rc_connect_opts *o, char *path, size_t cap,
                          struct scl_err *e);

static DEVICE *registered;

static UINT register_device(DEVMAN *devman, DEVICE *d)
{
    (void)devman;
    registered = d;
    return CHANNEL_RC_OK;
}

DEVICE *test_smartcard_device(const struct rc_connect_opts *o, const char *who)
{
    char path[PATH_MAX];
    struct scl_err e = {0};
    if (rc_client_load_plugin(o, path, sizeof path, &e)) {
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
