/*
 * pcsock_wire.h - (private to session/) pcsc-lite 1.9.9's client/daemon
 * messages (protocol 4.4) as typed structs, and their codec.
 *
 * Promises: every message is read through struct cur and written through
 * struct wcur; a header whose size does not match its command's fixed body,
 * an unknown command, a short body or an oversized variable part is an error
 * with the byte offset, never a crash.  The wire is host byte order with
 * natural alignment (little-endian on every platform we build for; the codec
 * refuses to compile elsewhere).  Knows nothing of sockets or threads.
 */
#ifndef SCL_PCSOCK_WIRE_H
#define SCL_PCSOCK_WIRE_H

#include "common.h"
#include "pcsock.h"

#define PCSOCK_PROTOCOL_MAJOR 4
#define PCSOCK_PROTOCOL_MINOR 4
#define PCSOCK_HEADER_SIZE 8
#define PCSOCK_MAX_BUFFER 264 /* MAX_BUFFER_SIZE: getset_struct.pbAttr */
/* MAX_BUFFER_SIZE_EXTENDED: 64K APDU + header, Lc, Le, SW */
#define PCSOCK_MAX_BUFFER_EXTENDED (4 + 3 + (1 << 16) + 3 + 2)
#define PCSOCK_READER_STATE_SIZE 184
#define PCSOCK_READER_LIST_SIZE (PCSOCK_MAX_READERS * PCSOCK_READER_STATE_SIZE)
#define PCSOCK_WAIT_SIZE 8 /* wait_reader_state_change: event, stop and cancel signals */

/* pcsc_msg_commands */
enum pcsock_command {
    PCSOCK_SCARD_ESTABLISH_CONTEXT = 0x01,
    PCSOCK_SCARD_RELEASE_CONTEXT = 0x02,
    PCSOCK_SCARD_LIST_READERS = 0x03, /* never sent by the 1.9.9 client */
    PCSOCK_SCARD_CONNECT = 0x04,
    PCSOCK_SCARD_RECONNECT = 0x05,
    PCSOCK_SCARD_DISCONNECT = 0x06,
    PCSOCK_SCARD_BEGIN_TRANSACTION = 0x07,
    PCSOCK_SCARD_END_TRANSACTION = 0x08,
    PCSOCK_SCARD_TRANSMIT = 0x09,
    PCSOCK_SCARD_CONTROL = 0x0A,
    PCSOCK_SCARD_STATUS = 0x0B,
    PCSOCK_SCARD_GET_STATUS_CHANGE = 0x0C, /* client side only */
    PCSOCK_SCARD_CANCEL = 0x0D,
    PCSOCK_SCARD_CANCEL_TRANSACTION = 0x0E, /* never sent */
    PCSOCK_SCARD_GET_ATTRIB = 0x0F,
    PCSOCK_SCARD_SET_ATTRIB = 0x10,
    PCSOCK_CMD_VERSION = 0x11,
    PCSOCK_CMD_GET_READERS_STATE = 0x12,
    PCSOCK_CMD_WAIT_READER_STATE_CHANGE = 0x13,
    PCSOCK_CMD_STOP_WAITING_READER_STATE_CHANGE = 0x14,
};

struct pcsock_header {
    uint32_t size; /* of the body that follows, header excluded */
    uint32_t command;
};

/* The request and its reply share one struct per command (the daemon fills in
 * the out fields and rv and sends the struct back), as in pcsc-lite. */
struct pcsock_version {
    int32_t major, minor;
    uint32_t rv;
};
struct pcsock_establish {
    uint32_t dwScope, hContext, rv;
};
struct pcsock_release {
    uint32_t hContext, rv;
};
struct pcsock_connect {
    uint32_t hContext;
    char szReader[PCSOCK_READER_NAME_MAX];
    uint32_t dwShareMode, dwPreferredProtocols;
    int32_t hCard;
    uint32_t dwActiveProtocol, rv;
};
struct pcsock_reconnect {
    int32_t hCard;
    uint32_t dwShareMode, dwPreferredProtocols, dwInitialization, dwActiveProtocol, rv;
};
struct pcsock_disconnect {
    int32_t hCard;
    uint32_t dwDisposition, rv;
};
struct pcsock_begin {
    int32_t hCard;
    uint32_t rv;
};
struct pcsock_end {
    int32_t hCard;
    uint32_t dwDisposition, rv;
};
struct pcsock_cancel {
    int32_t hContext;
    uint32_t rv;
};
struct pcsock_status {
    int32_t hCard;
    uint32_t rv;
};
struct pcsock_transmit {
    int32_t hCard;
    uint32_t ioSendPciProtocol, ioSendPciLength, cbSendLength;
    uint32_t ioRecvPciProtocol, ioRecvPciLength, pcbRecvLength, rv;
};
struct pcsock_control {
    int32_t hCard;
    uint32_t dwControlCode, cbSendLength, cbRecvLength, dwBytesReturned, rv;
};
struct pcsock_getset {
    int32_t hCard;
    uint32_t dwAttrId;
    uint8_t pbAttr[PCSOCK_MAX_BUFFER];
    uint32_t cbAttrLen, rv;
};
struct pcsock_wait {
    uint32_t timeOut, rv;
};

/* READER_STATE (pubReaderStatesList) */
struct pcsock_reader_state {
    char readerName[PCSOCK_READER_NAME_MAX];
    uint32_t eventCounter;
    uint32_t readerState;  /* SCARD_ABSENT, SCARD_PRESENT, SCARD_POWERED, ... (pcsclite.h) */
    int32_t readerSharing; /* PCSCLITE_SHARING_*: -1 exclusive, 0 none, n users */
    uint8_t cardAtr[PCSOCK_ATR_MAX];
    uint32_t cardAtrLength, cardProtocol;
};
#define PCSOCK_SHARING_EXCLUSIVE_CONTEXT (-1)
#define PCSOCK_SHARING_NO_CONTEXT 0

union pcsock_body {
    struct pcsock_version version;
    struct pcsock_establish establish;
    struct pcsock_release release;
    struct pcsock_connect connect;
    struct pcsock_reconnect reconnect;
    struct pcsock_disconnect disconnect;
    struct pcsock_begin begin;
    struct pcsock_end end;
    struct pcsock_cancel cancel;
    struct pcsock_status status;
    struct pcsock_transmit transmit;
    struct pcsock_control control;
    struct pcsock_getset getset;
    struct pcsock_wait wait;
};

/* One row per command the 1.9.9 client sends: its code, the name logs use,
 * the exact body size, and the codec of that body (NULL: no body). */
struct pcsock_wire_cmd {
    uint32_t command;
    const char *name;
    size_t size;
    void (*decode)(struct cur *c, union pcsock_body *b);
    void (*encode)(struct wcur *w, const union pcsock_body *b);
};

/* The row of a command, or NULL if the 1.9.9 client never sends it. */
const struct pcsock_wire_cmd *pcsock_wire_find(uint32_t command);
/* Name of any command code for logs ("SCARD_CONNECT", "unknown 0x42"). */
const char *pcsock_wire_name(uint32_t command, char *buf, size_t cap);

/* Read the 8-byte header and check command and size against the table. */
int pcsock_wire_decode_header(struct cur *c, struct pcsock_header *h,
                              const struct pcsock_wire_cmd **cmd, struct scl_err *e);
/* Read exactly cmd->size bytes into *b. */
int pcsock_wire_decode_body(struct cur *c, const struct pcsock_wire_cmd *cmd, union pcsock_body *b,
                            struct scl_err *e);
/* Bytes of variable data that follow this request's body (transmit and
 * control send buffers); an error if more than the protocol allows. */
int pcsock_wire_extra_len(const struct pcsock_wire_cmd *cmd, const union pcsock_body *b,
                          uint32_t *len, struct scl_err *e);
/* The reply (or request) body of cmd, as the wire carries it. */
void pcsock_wire_encode_body(struct wcur *w, const struct pcsock_wire_cmd *cmd,
                             const union pcsock_body *b);
void pcsock_wire_encode_header(struct wcur *w, uint32_t command, uint32_t size);

/* A whole request from a byte stream: header, body and variable data (*extra
 * points into the stream).  The per-client request framing, kept pure so it
 * can be tested and fuzzed without sockets. */
struct pcsock_request {
    const struct pcsock_wire_cmd *cmd;
    union pcsock_body body;
    const uint8_t *extra;
    uint32_t extra_len;
};
int pcsock_wire_next_request(struct cur *c, struct pcsock_request *r, struct scl_err *e);

void pcsock_wire_encode_wait(struct wcur *w, const struct pcsock_wait *m);
int pcsock_wire_decode_wait(struct cur *c, struct pcsock_wait *m, struct scl_err *e);
void pcsock_wire_encode_reader_state(struct wcur *w, const struct pcsock_reader_state *s);
int pcsock_wire_decode_reader_state(struct cur *c, struct pcsock_reader_state *s,
                                    struct scl_err *e);

#endif
