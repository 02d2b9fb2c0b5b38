/*
 * smartcard_device.h - for test programs that drive the smart-card device
 * with no RDP server (plugin_harness, plugin_hostile): load it the way
 * FreeRDP's devman does, through our add-in provider, so that our plug-in
 * wraps FreeRDP's own device.  Not a client.
 */
#ifndef SCL_TEST_SMARTCARD_DEVICE_H
#define SCL_TEST_SMARTCARD_DEVICE_H

#include "rdp_channel.h"

#include <freerdp/channels/rdpdr.h>

/* The wrapped device for opts, or NULL after a message naming who. */
DEVICE *test_smartcard_device(const struct rc_connect_opts *o, const char *who);

#endif
