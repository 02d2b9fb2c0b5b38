/*
 * rdpdr.h - (private to session/) the server end of MS-RDPEFS device
 * redirection, as far as smart cards need it.
 *
 * Two layers.  The PDU codec turns one rdpdr PDU (a whole static-channel
 * message) into a typed struct and back, through a table keyed by
 * Component/PacketId; decoders reject short, oversized or inconsistent PDUs
 * with the PDU name, field and byte offset.  The channel runs the server's
 * side of the handshake (Server Announce .. Device Announce Response, User
 * Logged On, announce de-duplication, the fEnableSmartCard refusal) and
 * correlates Device Control IRPs with their completions by unique
 * CompletionId, so any thread can make a blocking MS-RDPESC call.
 * Does not know how bytes reach the client: the caller supplies a writer
 * (WTSVirtualChannelWrite in the host) and feeds received PDUs in.
 */
#ifndef SCL_RDPDR_H
#define SCL_RDPDR_H

#include "common.h"
#include "rdpesc.h"

#include <stdbool.h>
#include <stdint.h>

enum rdpdr_component {
    RDPDR_CTYP_CORE = 0x4472,
    RDPDR_CTYP_PRN = 0x5052,
};

enum rdpdr_packet_id {
    PAKID_CORE_SERVER_ANNOUNCE = 0x496E,
    PAKID_CORE_CLIENTID_CONFIRM = 0x4343,
    PAKID_CORE_CLIENT_NAME = 0x434E,
    PAKID_CORE_DEVICELIST_ANNOUNCE = 0x4441,
    PAKID_CORE_DEVICE_REPLY = 0x6472,
    PAKID_CORE_DEVICE_IOREQUEST = 0x4952,
    PAKID_CORE_DEVICE_IOCOMPLETION = 0x4943,
    PAKID_CORE_SERVER_CAPABILITY = 0x5350,
    PAKID_CORE_CLIENT_CAPABILITY = 0x4350,
    PAKID_CORE_DEVICELIST_REMOVE = 0x444D,
    PAKID_CORE_USER_LOGGEDON = 0x554C,
};

/* Which PDU a struct rdpdr_pdu holds.  CLIENTID_CONFIRM is both the client's
 * Announce Reply and the server's Client ID Confirm (same layout). */
enum rdpdr_pdu_type {
    RDPDR_PDU_NONE = 0,
    RDPDR_PDU_SERVER_ANNOUNCE,
    RDPDR_PDU_CLIENTID_CONFIRM,
    RDPDR_PDU_CLIENT_NAME,
    RDPDR_PDU_SERVER_CAPABILITY,
    RDPDR_PDU_CLIENT_CAPABILITY,
    RDPDR_PDU_DEVICELIST_ANNOUNCE,
    RDPDR_PDU_DEVICE_REPLY,
    RDPDR_PDU_DEVICELIST_REMOVE,
    RDPDR_PDU_USER_LOGGEDON,
    RDPDR_PDU_DEVICE_IOREQUEST,
    RDPDR_PDU_DEVICE_IOCOMPLETION,
};

#define RDPDR_DTYP_SERIAL 0x01
#define RDPDR_DTYP_PARALLEL 0x02
#define RDPDR_DTYP_PRINT 0x04
#define RDPDR_DTYP_FILESYSTEM 0x08
#define RDPDR_DTYP_SMARTCARD 0x20

#define CAP_GENERAL_TYPE 0x0001
#define CAP_PRINTER_TYPE 0x0002
#define CAP_PORT_TYPE 0x0003
#define CAP_DRIVE_TYPE 0x0004
#define CAP_SMARTCARD_TYPE 0x0005
#define GENERAL_CAPABILITY_VERSION_02 0x00000002
#define SMARTCARD_CAPABILITY_VERSION_01 0x00000001

#define RDPDR_DEVICE_REMOVE_PDUS 0x1
#define RDPDR_CLIENT_DISPLAY_NAME_PDU 0x2
#define RDPDR_USER_LOGGEDON_PDU 0x4
#define ENABLE_ASYNCIO 0x1

#define IRP_MJ_DEVICE_CONTROL 0x0000000E

#define RDPDR_STATUS_SUCCESS 0x00000000u
#define RDPDR_STATUS_UNSUCCESSFUL 0xC0000001u
#define RDPDR_STATUS_NOT_SUPPORTED 0xC00000BBu

#define RDPDR_MAX_CAPS 8
#define RDPDR_MAX_DEVICES 32
#define RDPDR_MAX_PDU (1u << 20)

struct rdpdr_announce { /* DR_CORE_SERVER_ANNOUNCE_REQ / _RSP / DR_CORE_CLIENTID_CONFIRM */
    uint16_t VersionMajor;
    uint16_t VersionMinor;
    uint32_t ClientId;
};

struct rdpdr_client_name { /* DR_CORE_CLIENT_NAME_REQ */
    uint32_t UnicodeFlag;
    uint32_t CodePage;
    char ComputerName[256]; /* UTF-8 */
};

struct rdpdr_general_caps { /* GENERAL_CAPS_SET body */
    uint32_t osType, osVersion;
    uint16_t protocolMajorVersion, protocolMinorVersion;
    uint32_t ioCode1, ioCode2, extendedPDU, extraFlags1, extraFlags2;
    uint32_t SpecialTypeDeviceCap; /* version 2 only */
};

struct rdpdr_capability { /* CAPABILITY_HEADER + body */
    uint16_t CapabilityType;
    uint16_t CapabilityLength; /* header included; derived when encoding */
    uint32_t Version;
    struct rdpdr_general_caps general; /* CapabilityType == CAP_GENERAL_TYPE */
};

struct rdpdr_caps { /* DR_CORE_CAPABILITY_REQ / _RSP */
    uint16_t numCapabilities;
    struct rdpdr_capability caps[RDPDR_MAX_CAPS];
};

struct rdpdr_device { /* DEVICE_ANNOUNCE */
    uint32_t DeviceType;
    uint32_t DeviceId;
    char PreferredDosName[9]; /* 8 bytes on the wire, NUL added */
    uint32_t DeviceDataLength;
    const uint8_t *DeviceData; /* into the decoded buffer */
};

struct rdpdr_device_list { /* DR_CORE_DEVICELIST_ANNOUNCE_REQ */
    uint32_t DeviceCount;
    struct rdpdr_device devices[RDPDR_MAX_DEVICES];
};

struct rdpdr_device_reply { /* DR_CORE_DEVICE_ANNOUNCE_RSP */
    uint32_t DeviceId;
    uint32_t ResultCode;
};

struct rdpdr_device_remove { /* DR_DEVICELIST_REMOVE */
    uint32_t DeviceCount;
    uint32_t DeviceIds[RDPDR_MAX_DEVICES];
};

struct rdpdr_control_req { /* DR_DEVICE_IOREQUEST + DR_CONTROL_REQ */
    uint32_t DeviceId, FileId, CompletionId, MajorFunction, MinorFunction;
    uint32_t OutputBufferLength;
    uint32_t InputBufferLength; /* derived when encoding */
    uint32_t IoControlCode;
    const uint8_t *InputBuffer;
};

struct rdpdr_io_completion { /* DR_DEVICE_IOCOMPLETION + DR_CONTROL_RSP */
    uint32_t DeviceId, CompletionId, IoStatus;
    bool has_output; /* FreeRDP omits OutputBufferLength on a refused IRP */
    uint32_t OutputBufferLength;
    const uint8_t *OutputBuffer;
};

struct rdpdr_pdu {
    enum rdpdr_pdu_type type;
    union {
        struct rdpdr_announce announce;
        struct rdpdr_client_name client_name;
        struct rdpdr_caps caps;
        struct rdpdr_device_list device_list;
        struct rdpdr_device_reply device_reply;
        struct rdpdr_device_remove device_remove;
        struct rdpdr_control_req control_req;
        struct rdpdr_io_completion io_completion;
    } u;
};

/* "PAKID_CORE_CLIENT_NAME" and the like; "unknown" otherwise. */
const char *rdpdr_pdu_name(enum rdpdr_pdu_type t);
/* Decode one PDU; pointers in *p point into buf.  Errors name the PDU, field
 * and byte offset. */
int rdpdr_pdu_decode(const uint8_t *buf, size_t len, struct rdpdr_pdu *p, struct scl_err *e);
/* Append the PDU (header included) to w. */
int rdpdr_pdu_encode(const struct rdpdr_pdu *p, struct wcur *w, struct scl_err *e);

/* ---- the channel -------------------------------------------------------- */

struct rdpdr_chan;

struct rdpdr_chan_cb {
    void *ctx;
    /* Queue one whole PDU for the client; false when the channel is gone. */
    bool (*write)(void *ctx, const uint8_t *p, size_t n);
    /* A smart-card device was accepted (first announce only).  Runs on the
     * receiving thread: must not make rdpdr calls itself. */
    void (*smartcard_ready)(void *ctx, uint32_t DeviceId);
    /* The client removed it. */
    void (*smartcard_removed)(void *ctx, uint32_t DeviceId);
    /* One line per event, for the session log. */
    void (*log)(void *ctx, const char *line);
};

struct rdpdr_chan *rdpdr_chan_new(const struct rdpdr_chan_cb *cb, bool enable_smartcard,
                                  uint32_t ClientId);
/* Send the Server Announce. */
int rdpdr_chan_start(struct rdpdr_chan *ch, struct scl_err *e);
/* Handle one client PDU.  An error means the client broke the protocol: the
 * caller drops the session. */
int rdpdr_chan_receive(struct rdpdr_chan *ch, const uint8_t *buf, size_t len, struct scl_err *e);
/* Blocking MS-RDPESC call on the smart-card device from any thread: encode
 * call, send a Device Control IRP with a fresh CompletionId, wait for its
 * completion, decode the return into *ret (free with esc_msg_free).  Fails
 * with SCL_E_STATE when the channel closes, SCL_E_PCSC when the client
 * refused the IRP (IoStatus in the message). */
int rdpdr_chan_call(struct rdpdr_chan *ch, const struct esc_msg *call, struct esc_msg *ret,
                    struct scl_err *e);
/* The answer to an asynchronous call: rc and e as rdpdr_chan_call's, and on
 * SCL_OK the decoded return in *ret, valid until done returns. */
typedef void (*rdpdr_chan_done_fn)(void *ctx, int rc, struct esc_msg *ret,
                                   const struct scl_err *e);
/* The same call without a waiting thread: done gets the answer on the thread
 * that receives it (the transport's), so no thread is woken only to hand it
 * on.  On SCL_OK done runs exactly once, perhaps before this returns: with
 * the return, or with SCL_E_STATE when the device goes or the channel closes
 * first.  On an error here done never runs.  done must not block: it runs
 * where every other completion of the session waits behind it. */
int rdpdr_chan_call_async(struct rdpdr_chan *ch, const struct esc_msg *call,
                          rdpdr_chan_done_fn done, void *ctx, struct scl_err *e);
/* True once a smart-card device is accepted and not removed. */
bool rdpdr_chan_has_smartcard(struct rdpdr_chan *ch);
/* Fail every waiting and future call, and answer every asynchronous one
 * (client gone). */
void rdpdr_chan_close(struct rdpdr_chan *ch);
/* Free; no call may be running. */
void rdpdr_chan_free(struct rdpdr_chan *ch);

#endif
