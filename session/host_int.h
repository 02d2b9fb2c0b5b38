/*
 * host_int.h - (private to session/) how the session host's parts meet: the
 * smart-card backend (pcsock ops over rdpdr), the certprop launcher and the
 * listener.  Not a public interface; session.h is.
 */
#ifndef SCL_HOST_INT_H
#define SCL_HOST_INT_H

#include "common.h"
#include "pcsock.h"
#include "rdpdr.h"
#include "session.h"

#include <sys/types.h>

/* One line for the host log, "session alice-1: ...". */
typedef void (*host_log_fn)(void *ctx, const char *line);

/* ---- scard_backend.c --------------------------------------------------------- */

struct scard_backend;

/* Start the session's PC/SC socket (pcsock) at sock_path for uid (and root,
 * as peers says), served by calls over ch.  The readers stay empty until
 * scard_backend_device_ready. */
int scard_backend_start(struct rdpdr_chan *ch, const char *sock_path, uid_t uid,
                        enum pcsock_peers peers, host_log_fn log, void *log_ctx,
                        struct scard_backend **out, struct scl_err *e);
/* The client's smart-card device is there: establish the two contexts and
 * start the status loop (on its own thread; returns at once). */
void scard_backend_device_ready(struct scard_backend *be);
/* Orderly teardown (Cancel, wait, EndTransaction, Disconnect,
 * ReleaseContext), then stop the socket and free.  Needs the channel still
 * pumped by another thread unless the channel is closed. */
void scard_backend_stop(struct scard_backend *be);

/* Windows <-> pcsc-lite constants (exposed for the unit tests). */
uint32_t scard_protocol_to_win(uint32_t pcsc);
uint32_t scard_protocol_from_win(uint32_t win);
uint32_t scard_card_state_from_win(uint32_t win);
uint32_t scard_control_code_to_win(uint32_t pcsc);
int32_t scard_rv_from_win(int32_t win);

/* ---- services.c ----------------------------------------------------------------- */

/* Start `BIN/scardlab certprop --profile P [--policy F] --json` (BIN: our
 * own folder) with
 * PCSCLITE_CSOCK_NAME=sock, stdout to DIR/certprop.json, stderr to
 * DIR/certprop.log; writes DIR/certprop.pid.  For a user with a
 * local_account it runs as that account (groups, gid, uid dropped before
 * exec).  Does nothing (pid 0) unless cfg says the service is running. */
int host_certprop_start(const struct host_config *cfg, enum host_service state,
                        const struct host_user *u, const char *session_dir, const char *sock,
                        pid_t *pid, struct scl_err *e);
/* SIGTERM, wait up to 5 s, then SIGKILL; removes DIR/certprop.pid. */
void host_certprop_stop(pid_t pid, const char *session_dir);

/* ---- host_peer.c ------------------------------------------------------------------ */

/* Run the listener until SIGTERM/SIGINT; SIGHUP re-reads the service state. */
int host_run(struct host_config *cfg, struct scl_err *e);

#endif
