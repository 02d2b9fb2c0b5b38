/*
 * plugin_int.h - (private to the add-in, plugin*.c) what plugin.c, which
 * wraps FreeRDP's smart-card device, and plugin_direct.c, which answers
 * plain Transmits itself, share.
 */
#ifndef SCL_PLUGIN_INT_H
#define SCL_PLUGIN_INT_H

#include "rdpesc.h"

#include <freerdp/channels/rdpdr.h>

/* plugin.c */
/* Complete irp here with return a (NULL: IoStatus failure), traced. */
UINT plugin_answer(IRP *irp, uint32_t ioctl, const struct esc_msg *a, const char *why);
/* No call of ctx is in FreeRDP's device (queued or running). */
bool plugin_context_idle(const struct esc_context *ctx);

/* plugin_direct.c */
/* The context a decoded call runs in; false when it names none. */
bool direct_call_context(const struct esc_msg *call, struct esc_context *ctx);
bool direct_context_same(const struct esc_context *a, const struct esc_context *b);
/* Every decoded return: a Connect's handle is remembered with its context;
 * a Disconnect or a ReleaseContext that succeeded forgets it. */
void direct_note_return(const struct esc_msg *call, const struct esc_msg *ret);
/* The call names a card under another context than it was connected in:
 * refused, never sent to PC/SC (see plugin_direct.c). */
bool direct_handle_misnamed(const struct esc_msg *call);
/* Whether call is a Transmit this add-in may make itself (see plugin_direct.c). */
bool direct_transmit_ok(const struct esc_msg *call);
UINT direct_transmit(IRP *irp, struct esc_transmit_call *t);
/* The Transmit itself: its return in *r, whose data points into *buf (the
 * caller frees *buf; r holds nothing else of its own). */
void direct_transmit_make(struct esc_transmit_call *t, struct esc_msg *r, uint8_t **buf);
/* The device is gone: forget every handle. */
void direct_forget_all(void);

#endif
