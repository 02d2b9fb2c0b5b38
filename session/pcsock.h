/*
 * pcsock.h - (private to session/) a per-session PC/SC endpoint that speaks
 * pcsc-lite 1.9.9's client/daemon wire protocol (4.4) on a unix socket, so
 * the stock libpcsclite in any program (OpenSC, pcsc_scan, certprop) works
 * against it unchanged.
 *
 * Promises: every request gets a reply (an error reply when it cannot be
 * served), never silence; malformed or oversized messages close that client
 * only; peers with another uid are refused; reader states come from the
 * backend (pcsock_set_readers) and card calls go to the backend's ops.
 * Does not know where cards really are: the backend may be a lab's pcscd
 * (tests) or a client's reader over RDP (the session host).
 *
 * All values crossing this interface use pcsc-lite's constants (SCARD_*
 * from <winscard.h> / <pcsclite.h> on Linux); translating Windows values is
 * the backend's job.
 */
#ifndef SCL_PCSOCK_H
#define SCL_PCSOCK_H

#include "common.h"

#include <sys/types.h>

#define PCSOCK_MAX_READERS 16 /* PCSCLITE_MAX_READERS_CONTEXTS */
#define PCSOCK_READER_NAME_MAX 128
#define PCSOCK_ATR_MAX 33

struct pcsock_reader {
    char name[PCSOCK_READER_NAME_MAX];
    bool present; /* a card is in the reader */
    bool in_use;  /* some handle holds it exclusively (for SCARD_STATE_EXCLUSIVE/INUSE) */
    uint8_t atr[PCSOCK_ATR_MAX];
    uint32_t atr_len;
    uint32_t protocol; /* SCARD_PROTOCOL_* active, 0 if none */
};

/* The answer to transmit_async: rv, and on SCARD_S_SUCCESS the response
 * (recv, valid until this returns) and the receive protocol. */
typedef void (*pcsock_transmit_done)(void *ctx, int32_t rv, const uint8_t *recv, uint32_t len,
                                     uint32_t ioRecvPciProtocol);

/* Card operations, each blocking until the backend has the answer, each
 * returning a pcsc-lite LONG (SCARD_S_SUCCESS or an SCARD_E_* / SCARD_W_*).
 * be is the backend's own pointer.  card is the backend's handle; pcsock maps
 * it to the 32-bit hCard of the wire.  Called from pcsock's client threads,
 * possibly concurrently: the backend serialises what it must. */
struct pcsock_ops {
    int32_t (*connect)(void *be, const char *reader, uint32_t dwShareMode,
                       uint32_t dwPreferredProtocols, uint64_t *card, uint32_t *dwActiveProtocol);
    int32_t (*reconnect)(void *be, uint64_t card, uint32_t dwShareMode,
                         uint32_t dwPreferredProtocols, uint32_t dwInitialization,
                         uint32_t *dwActiveProtocol);
    int32_t (*disconnect)(void *be, uint64_t card, uint32_t dwDisposition);
    int32_t (*begin_transaction)(void *be, uint64_t card);
    int32_t (*end_transaction)(void *be, uint64_t card, uint32_t dwDisposition);
    int32_t (*status)(void *be, uint64_t card, char *reader, size_t reader_cap, uint32_t *dwState,
                      uint32_t *dwProtocol, uint8_t *atr, uint32_t *atr_len);
    int32_t (*transmit)(void *be, uint64_t card, uint32_t ioSendPciProtocol, const uint8_t *send,
                        uint32_t cbSendLength, uint8_t *recv, uint32_t *pcbRecvLength,
                        uint32_t *ioRecvPciProtocol);
    int32_t (*control)(void *be, uint64_t card, uint32_t dwControlCode, const uint8_t *in,
                       uint32_t cbInBufferSize, uint8_t *out, uint32_t cbOutBufferSize,
                       uint32_t *lpBytesReturned);
    int32_t (*get_attrib)(void *be, uint64_t card, uint32_t dwAttrId, uint8_t *attr,
                          uint32_t *pcbAttrLen);
    int32_t (*set_attrib)(void *be, uint64_t card, uint32_t dwAttrId, const uint8_t *attr,
                          uint32_t cbAttrLen);
    /* Optional: transmit, with the answer given to done instead of returned,
     * so the thread that receives it can reply to the program at once; when
     * it is given, transmit is never called and may be NULL.  On
     * SCARD_S_SUCCESS done runs exactly once, on any thread, perhaps before
     * this returns; any other value is the call's failure and done never
     * runs.  cbRecvLength is the most the reply may carry. */
    int32_t (*transmit_async)(void *be, uint64_t card, uint32_t ioSendPciProtocol,
                              const uint8_t *send, uint32_t cbSendLength, uint32_t cbRecvLength,
                              pcsock_transmit_done done, void *ctx);
};

struct pcsock;

/* Which peers (by SO_PEERCRED uid) are served; every other one is closed
 * at accept, with a log line naming its pid and uid. */
enum pcsock_peers {
    PCSOCK_PEERS_UID_AND_ROOT, /* allowed_uid, and root */
    PCSOCK_PEERS_UID_ONLY,     /* allowed_uid alone: not root, not our own uid */
};

/* Create the socket (its directory must exist and be 0700; the socket file
 * stays for the endpoint's whole life, since clients stat it) and start
 * serving on background threads.  The socket file is 0600; when we run as
 * root it is owned by allowed_uid.  Only peers whose uid is allowed_uid (or
 * root) are served. */
int pcsock_start(const char *socket_path, const struct pcsock_ops *ops, void *be, uid_t allowed_uid,
                 struct pcsock **out, struct scl_err *e);
/* The same, with the peer rule spelled out. */
int pcsock_start_peers(const char *socket_path, const struct pcsock_ops *ops, void *be,
                       uid_t allowed_uid, enum pcsock_peers peers, struct pcsock **out,
                       struct scl_err *e);
/* Replace the reader list; changed readers get a new event counter and every
 * client waiting in SCardGetStatusChange is woken. */
void pcsock_set_readers(struct pcsock *ps, const struct pcsock_reader *readers, size_t n);
/* Stop serving: waiting clients get an error reply, sockets close, threads
 * join, the socket file is removed. */
void pcsock_stop(struct pcsock *ps);

#endif
