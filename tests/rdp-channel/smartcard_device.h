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
/* The plug-in test_smartcard_device loaded: what the client's main thread
 * calls (rdpdr data first shown to it, the sender it lends).  NULLs before. */
struct test_plugin_client {
    rc_plugin_channel_data_fn channel_data;
    rc_plugin_lend_sender_fn lend_sender;
};
struct test_plugin_client test_plugin_client(void);

/* An IRP_MJ_DEVICE_CONTROL IRP as rdpdr builds it: the DR_CONTROL_REQ header
 * with InputBufferLength declared (need not be n) and the n bytes of in,
 * cut after hdr_cut bytes of the 32-byte header when hdr_cut < 32; its
 * output stream holds the DR_DEVICE_IOCOMPLETION header. */
IRP *test_control_irp(DEVICE *d, uint32_t completion_id, uint32_t ioctl, const uint8_t *in,
                      size_t n, uint32_t declared, size_t hdr_cut, UINT (*complete)(IRP *),
                      UINT (*discard)(IRP *));

#endif
