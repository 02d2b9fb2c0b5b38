/*
 * pcsock_passthrough.h - (private to session/) a pcsock backend that hands
 * every card call to a real pcscd through libpcsclite, and mirrors that
 * pcscd's readers into the endpoint.  Test infrastructure (and a baseline for
 * hardening work), not the session host's backend.
 *
 * libpcsclite reads PCSCLITE_CSOCK_NAME once per process: it must name the
 * upstream pcscd before pcsock_passthrough_open.
 */
#ifndef SCL_PCSOCK_PASSTHROUGH_H
#define SCL_PCSOCK_PASSTHROUGH_H

#include "pcsock.h"

struct pcsock_passthrough;

/* Check the upstream answers (one context established and released). */
int pcsock_passthrough_open(struct pcsock_passthrough **out, struct scl_err *e);
const struct pcsock_ops *pcsock_passthrough_ops(void);
/* Feed ps with the upstream readers now, then on every change from a
 * watcher thread (SCardGetStatusChange on the upstream readers). */
int pcsock_passthrough_watch(struct pcsock_passthrough *pt, struct pcsock *ps, struct scl_err *e);
/* Stop the watcher (before pcsock_stop); then, after pcsock_stop, close. */
void pcsock_passthrough_unwatch(struct pcsock_passthrough *pt);
void pcsock_passthrough_close(struct pcsock_passthrough *pt);

#endif
