/*
 * rdpesc.h - the MS-RDPESC (smart-card redirection) codec, both directions.
 *
 * Promises: decode and encode the NDR type-serialization buffer of every call
 * and return of the 25 IOCTLs in esc_ioctls[] (the InputBuffer of a
 * DR_CONTROL_REQ and the OutputBuffer of a DR_CONTROL_RSP: common type header,
 * private type header, object padded to 8) into typed structs that use the
 * spec's field names; encoders produce exactly what FreeRDP 2.11's
 * smartcard_unpack_* accept; decoders reject truncated, oversized or
 * inconsistent input with a message naming the structure, the field and the
 * byte offset.  Strings are UTF-8 in memory and UTF-16LE on the wire; reader
 * lists are string lists.  Renders a decoded message as one JSON object.
 *
 * Does not: frame rdpdr PDUs (DR_CONTROL_REQ/RSP headers, CompletionIds),
 * keep any context/handle state, or talk to PC/SC.  The A (ANSI) IOCTLs are
 * not in the table.
 */
#ifndef SCL_RDPESC_H
#define SCL_RDPESC_H

#include "common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- IOCTL codes: CTL_CODE(FILE_DEVICE_FILE_SYSTEM, n, METHOD_BUFFERED,
 * FILE_ANY_ACCESS) = 0x00090000 | n << 2, as in MS-RDPESC 2.2.2 ---------- */
enum esc_ioctl_code {
    SCARD_IOCTL_ESTABLISHCONTEXT = 0x00090014,
    SCARD_IOCTL_RELEASECONTEXT = 0x00090018,
    SCARD_IOCTL_ISVALIDCONTEXT = 0x0009001C,
    SCARD_IOCTL_LISTREADERSW = 0x0009002C,
    SCARD_IOCTL_GETSTATUSCHANGEW = 0x000900A4,
    SCARD_IOCTL_CANCEL = 0x000900A8,
    SCARD_IOCTL_CONNECTW = 0x000900B0,
    SCARD_IOCTL_RECONNECT = 0x000900B4,
    SCARD_IOCTL_DISCONNECT = 0x000900B8,
    SCARD_IOCTL_BEGINTRANSACTION = 0x000900BC,
    SCARD_IOCTL_ENDTRANSACTION = 0x000900C0,
    SCARD_IOCTL_STATE = 0x000900C4,
    SCARD_IOCTL_STATUSW = 0x000900CC,
    SCARD_IOCTL_TRANSMIT = 0x000900D0,
    SCARD_IOCTL_CONTROL = 0x000900D4,
    SCARD_IOCTL_GETATTRIB = 0x000900D8,
    SCARD_IOCTL_SETATTRIB = 0x000900DC,
    SCARD_IOCTL_ACCESSSTARTEDEVENT = 0x000900E0,
    SCARD_IOCTL_RELEASETARTEDEVENT = 0x000900E4, /* sic, the spec's spelling */
    SCARD_IOCTL_LOCATECARDSBYATRW = 0x000900EC,
    SCARD_IOCTL_READCACHEW = 0x000900F4,
    SCARD_IOCTL_WRITECACHEW = 0x000900FC,
    SCARD_IOCTL_GETTRANSMITCOUNT = 0x00090100,
    SCARD_IOCTL_GETREADERICON = 0x00090104,
    SCARD_IOCTL_GETDEVICETYPEID = 0x00090108,
};

/* ---- limits the decoders enforce (FreeRDP 2.11's where it has one) ----- */
#define ESC_MAX_READERS 11 /* MAXIMUM_SMARTCARD_READERS 10 + the PnP pseudo-reader */
#define ESC_MAX_ATR_MASKS 11
#define ESC_MAX_BUFFER 66560      /* FreeRDP's cap on cbSendLength / cbRecvLength */
#define ESC_MAX_EXTRA_BYTES 1024  /* FreeRDP's cap on SCardIO_Request.cbExtraBytes */
#define ESC_MAX_STRING_UNITS 1024 /* UTF-16 code units in one string, terminator included */
#define ESC_ATR_BYTES 36          /* rgbAtr[36] in reader states and ATR masks */
#define ESC_STATUS_ATR_BYTES 32   /* pbAtr[32] in Status_Return */

/* ---- building blocks ---------------------------------------------------- */

/* REDIR_SCARDCONTEXT: opaque bytes the client made up; echoed back as is. */
struct esc_context {
    uint32_t cbContext; /* 0, 4 or 8 */
    uint8_t pbContext[8];
};

/* REDIR_SCARDHANDLE: the context it was made in plus the opaque card handle. */
struct esc_handle {
    struct esc_context Context;
    uint32_t cbHandle; /* 4 or 8 */
    uint8_t pbHandle[8];
};

/* A multi-string (msz): on the wire UTF-16LE names each NUL-terminated plus a
 * final NUL; here a list of UTF-8 names.  count == 0 travels as a NULL pointer. */
struct esc_msz {
    size_t count;
    char **names;
};

/* ReaderState_Common_Call and ReaderState_Return have the same fields. */
struct esc_reader_state_common {
    uint32_t dwCurrentState;
    uint32_t dwEventState;
    uint32_t cbAtr; /* <= 36 */
    uint8_t rgbAtr[ESC_ATR_BYTES];
};

/* ReaderStateW: szReader may be NULL (FreeRDP skips such entries' strings). */
struct esc_reader_state {
    char *szReader;
    struct esc_reader_state_common Common;
};

struct esc_atr_mask {
    uint32_t cbAtr;
    uint8_t rgbAtr[ESC_ATR_BYTES];
    uint8_t rgbMask[ESC_ATR_BYTES];
};

/* SCardIO_Request. */
struct esc_io_request {
    uint32_t dwProtocol;
    uint32_t cbExtraBytes; /* <= 1024 */
    uint8_t *pbExtraBytes; /* NULL iff cbExtraBytes == 0 */
};

struct esc_uuid {
    uint8_t b[16];
};

/* ---- calls (server -> client) ------------------------------------------ */

struct esc_establish_context_call {
    uint32_t dwScope;
};

/* Context_Call: ReleaseContext, IsValidContext, Cancel. */
struct esc_context_call {
    struct esc_context Context;
};

/* ListReaders_Call (W): mszGroups' byte count cBytes is derived. */
struct esc_list_readers_call {
    struct esc_context Context;
    struct esc_msz mszGroups;
    int32_t fmszReadersIsNULL;
    uint32_t cchReaders;
};

struct esc_get_status_change_call {
    struct esc_context Context;
    uint32_t dwTimeOut;
    uint32_t cReaders; /* <= ESC_MAX_READERS */
    struct esc_reader_state *rgReaderStates;
};

struct esc_connect_call {
    struct esc_context Context; /* Common.Context */
    char *szReader;             /* UTF-8, non-NULL */
    uint32_t dwShareMode;
    uint32_t dwPreferredProtocols;
};

struct esc_reconnect_call {
    struct esc_handle hCard;
    uint32_t dwShareMode;
    uint32_t dwPreferredProtocols;
    uint32_t dwInitialization;
};

/* HCardAndDisposition_Call: Disconnect, BeginTransaction, EndTransaction. */
struct esc_hcard_and_disposition_call {
    struct esc_handle hCard;
    uint32_t dwDisposition;
};

struct esc_state_call {
    struct esc_handle hCard;
    int32_t fpbAtrIsNULL;
    uint32_t cbAtrLen;
};

struct esc_status_call {
    struct esc_handle hCard;
    int32_t fmszReaderNamesIsNULL;
    uint32_t cchReaderLen;
    uint32_t cbAtrLen;
};

struct esc_transmit_call {
    struct esc_handle hCard;
    struct esc_io_request ioSendPci;
    uint32_t cbSendLength;             /* <= ESC_MAX_BUFFER */
    uint8_t *pbSendBuffer;             /* NULL iff cbSendLength == 0 */
    struct esc_io_request *pioRecvPci; /* NULL: no receive PCI */
    int32_t fpbRecvBufferIsNULL;
    uint32_t cbRecvLength;
};

struct esc_control_call {
    struct esc_handle hCard;
    uint32_t dwControlCode;
    uint32_t cbInBufferSize;
    uint8_t *pvInBuffer; /* NULL iff cbInBufferSize == 0 */
    int32_t fpvOutBufferIsNULL;
    uint32_t cbOutBufferSize;
};

struct esc_get_attrib_call {
    struct esc_handle hCard;
    uint32_t dwAttrId;
    int32_t fpbAttrIsNULL;
    uint32_t cbAttrLen;
};

struct esc_set_attrib_call {
    struct esc_handle hCard;
    uint32_t dwAttrId;
    uint32_t cbAttrLen;
    uint8_t *pbAttr; /* NULL iff cbAttrLen == 0 */
};

/* ScardAccessStartedEvent_Call (and the unused ReleaseStartedEvent): 4 raw
 * bytes, no NDR headers. */
struct esc_long_call {
    int32_t Unused;
};

struct esc_read_cache_call {
    char *szLookupName;              /* UTF-8; may be NULL as FreeRDP allows */
    struct esc_context Context;      /* Common.Context */
    struct esc_uuid *CardIdentifier; /* may be NULL */
    uint32_t FreshnessCounter;
    int32_t fPbDataIsNULL;
    uint32_t cbDataLen;
};

struct esc_write_cache_call {
    char *szLookupName; /* may be NULL */
    struct esc_context Context;
    struct esc_uuid *CardIdentifier;
    uint32_t FreshnessCounter;
    uint32_t cbDataLen;
    uint8_t *pbData; /* NULL iff cbDataLen == 0 */
};

struct esc_get_transmit_count_call {
    struct esc_handle hCard;
};

struct esc_locate_cards_by_atr_call {
    struct esc_context Context;
    uint32_t cAtrs; /* <= ESC_MAX_ATR_MASKS */
    struct esc_atr_mask *rgAtrMasks;
    uint32_t cReaders; /* <= ESC_MAX_READERS */
    struct esc_reader_state *rgReaderStates;
};

/* GetReaderIcon_Call and GetDeviceTypeId_Call. */
struct esc_context_and_string_call {
    struct esc_context Context;
    char *szReaderName;
};

/* ---- returns (client -> server) ---------------------------------------- */

struct esc_long_return {
    int32_t ReturnCode;
};

struct esc_establish_context_return {
    int32_t ReturnCode;
    struct esc_context Context;
};

/* ListReaders_Return: cBytes is derived from msz (bytes of UTF-16LE). */
struct esc_list_readers_return {
    int32_t ReturnCode;
    struct esc_msz msz;
};

/* GetStatusChange_Return and LocateCards_Return. */
struct esc_get_status_change_return {
    int32_t ReturnCode;
    uint32_t cReaders;
    struct esc_reader_state_common *rgReaderStates;
};

struct esc_connect_return {
    int32_t ReturnCode;
    struct esc_handle hCard;
    uint32_t dwActiveProtocol;
};

struct esc_reconnect_return {
    int32_t ReturnCode;
    uint32_t dwActiveProtocol;
};

struct esc_state_return {
    int32_t ReturnCode;
    uint32_t dwState;
    uint32_t dwProtocol;
    uint32_t cbAtrLen; /* <= 36 */
    uint8_t *rgAtr;    /* NULL iff cbAtrLen == 0 */
};

struct esc_status_return {
    int32_t ReturnCode;
    struct esc_msz mszReaderNames;
    uint32_t dwState;
    uint32_t dwProtocol;
    uint8_t pbAtr[ESC_STATUS_ATR_BYTES];
    uint32_t cbAtrLen; /* <= 32 */
};

struct esc_transmit_return {
    int32_t ReturnCode;
    struct esc_io_request *pioRecvPci; /* may be NULL */
    uint32_t cbRecvLength;
    uint8_t *pbRecvBuffer; /* NULL iff cbRecvLength == 0 */
};

struct esc_control_return {
    int32_t ReturnCode;
    uint32_t cbOutBufferSize;
    uint8_t *pvOutBuffer;
};

struct esc_get_attrib_return {
    int32_t ReturnCode;
    uint32_t cbAttrLen;
    uint8_t *pbAttr;
};

struct esc_read_cache_return {
    int32_t ReturnCode;
    uint32_t cbDataLen;
    uint8_t *pbData;
};

struct esc_get_transmit_count_return {
    int32_t ReturnCode;
    uint32_t cTransmitCount;
};

struct esc_get_reader_icon_return {
    int32_t ReturnCode;
    uint32_t cbDataLen;
    uint8_t *pbData;
};

struct esc_get_device_type_id_return {
    int32_t ReturnCode;
    uint32_t dwDeviceId;
};

/* ---- one message -------------------------------------------------------- */

/* Which union member of struct esc_msg is valid; named for the spec's
 * structure. */
enum esc_type {
    ESC_T_NONE = 0,
    ESC_T_ESTABLISH_CONTEXT_CALL,
    ESC_T_CONTEXT_CALL,
    ESC_T_LIST_READERS_CALL,
    ESC_T_GET_STATUS_CHANGE_CALL,
    ESC_T_CONNECT_CALL,
    ESC_T_RECONNECT_CALL,
    ESC_T_HCARD_AND_DISPOSITION_CALL,
    ESC_T_STATE_CALL,
    ESC_T_STATUS_CALL,
    ESC_T_TRANSMIT_CALL,
    ESC_T_CONTROL_CALL,
    ESC_T_GET_ATTRIB_CALL,
    ESC_T_SET_ATTRIB_CALL,
    ESC_T_LONG_CALL,
    ESC_T_READ_CACHE_CALL,
    ESC_T_WRITE_CACHE_CALL,
    ESC_T_GET_TRANSMIT_COUNT_CALL,
    ESC_T_LOCATE_CARDS_BY_ATR_CALL,
    ESC_T_CONTEXT_AND_STRING_CALL,
    ESC_T_LONG_RETURN,
    ESC_T_ESTABLISH_CONTEXT_RETURN,
    ESC_T_LIST_READERS_RETURN,
    ESC_T_GET_STATUS_CHANGE_RETURN,
    ESC_T_CONNECT_RETURN,
    ESC_T_RECONNECT_RETURN,
    ESC_T_STATE_RETURN,
    ESC_T_STATUS_RETURN,
    ESC_T_TRANSMIT_RETURN,
    ESC_T_CONTROL_RETURN,
    ESC_T_GET_ATTRIB_RETURN,
    ESC_T_READ_CACHE_RETURN,
    ESC_T_GET_TRANSMIT_COUNT_RETURN,
    ESC_T_GET_READER_ICON_RETURN,
    ESC_T_GET_DEVICE_TYPE_ID_RETURN,
    ESC_T_COUNT
};

union esc_body {
    struct esc_establish_context_call establish_context_call;
    struct esc_context_call context_call;
    struct esc_list_readers_call list_readers_call;
    struct esc_get_status_change_call get_status_change_call;
    struct esc_connect_call connect_call;
    struct esc_reconnect_call reconnect_call;
    struct esc_hcard_and_disposition_call hcard_and_disposition_call;
    struct esc_state_call state_call;
    struct esc_status_call status_call;
    struct esc_transmit_call transmit_call;
    struct esc_control_call control_call;
    struct esc_get_attrib_call get_attrib_call;
    struct esc_set_attrib_call set_attrib_call;
    struct esc_long_call long_call;
    struct esc_read_cache_call read_cache_call;
    struct esc_write_cache_call write_cache_call;
    struct esc_get_transmit_count_call get_transmit_count_call;
    struct esc_locate_cards_by_atr_call locate_cards_by_atr_call;
    struct esc_context_and_string_call context_and_string_call;
    struct esc_long_return long_return;
    struct esc_establish_context_return establish_context_return;
    struct esc_list_readers_return list_readers_return;
    struct esc_get_status_change_return get_status_change_return;
    struct esc_connect_return connect_return;
    struct esc_reconnect_return reconnect_return;
    struct esc_state_return state_return;
    struct esc_status_return status_return;
    struct esc_transmit_return transmit_return;
    struct esc_control_return control_return;
    struct esc_get_attrib_return get_attrib_return;
    struct esc_read_cache_return read_cache_return;
    struct esc_get_transmit_count_return get_transmit_count_return;
    struct esc_get_reader_icon_return get_reader_icon_return;
    struct esc_get_device_type_id_return get_device_type_id_return;
};

struct esc_msg {
    uint32_t ioctl;     /* SCARD_IOCTL_* */
    enum esc_type type; /* which member of u */
    /* Returns only: the peer sent just ReturnCode (plus padding) for a
     * failed call, as FreeRDP does for e.g. ListReadersW; the other fields
     * are zero. */
    bool body_absent;
    union esc_body u;
};

/* ---- the IOCTL table ------------------------------------------------------ */

struct esc_rd;
struct esc_wr;
typedef void (*esc_decode_fn)(struct esc_rd *r, union esc_body *b);
typedef void (*esc_encode_fn)(struct esc_wr *w, const union esc_body *b);

struct esc_ioctl {
    uint32_t code;
    const char *name; /* "ConnectW": used in errors, traces and logs */
    esc_decode_fn decode_call;
    esc_encode_fn encode_call;
    esc_decode_fn decode_return;
    esc_encode_fn encode_return;
    enum esc_type call_type, return_type;
    bool call_has_ndr_headers; /* false for the two StartedEvent calls */
};

extern const struct esc_ioctl esc_ioctls[];
extern const size_t esc_ioctl_count;

/* The entry for code, or NULL. */
const struct esc_ioctl *esc_ioctl_find(uint32_t code);
/* Its name, or "Unknown". */
const char *esc_ioctl_name(uint32_t code);
/* The spec's structure name for a type ("ConnectW_Call"). */
const char *esc_type_name(enum esc_type t);

/* ---- whole buffers ---------------------------------------------------------
 * Decoders fill *m (zeroed first; free with esc_msg_free even on error) and
 * return SCL_OK or SCL_E_TRUNCATED / SCL_E_FORMAT / SCL_E_INVAL / SCL_E_NOMEM
 * with e->msg like "ConnectW_Call: szReader: MaxCount 5 != Offset+ActualCount
 * 7 at offset 36" (offsets count from the start of buf).
 * Encoders set m->type themselves from the table; on success *out is malloc'd. */
int esc_decode_call(uint32_t ioctl, const uint8_t *buf, size_t len, struct esc_msg *m,
                    struct scl_err *e);
int esc_decode_return(uint32_t ioctl, const uint8_t *buf, size_t len, struct esc_msg *m,
                      struct scl_err *e);
int esc_encode_call(const struct esc_msg *m, uint8_t **out, size_t *outlen, struct scl_err *e);
int esc_encode_return(const struct esc_msg *m, uint8_t **out, size_t *outlen, struct scl_err *e);

/* Free everything a decoder (or a caller, with malloc) put in m; m is zeroed. */
void esc_msg_free(struct esc_msg *m);

/* ---- strings ---------------------------------------------------------------- */

/* UTF-16LE (n code units, no terminator expected) to a malloc'd UTF-8 string.
 * Rejects unpaired surrogates and embedded NULs. */
int esc_utf16le_to_utf8(const uint8_t *p, size_t units, char **out, struct scl_err *e);
/* Append s (UTF-8, checked: no overlongs, surrogates or > U+10FFFF) as
 * UTF-16LE without terminator; returns code units written or -1. */
long esc_utf8_to_utf16le(const char *s, struct wcur *w, struct scl_err *e);

/* ---- trace -------------------------------------------------------------------- */

/* One JSON object (no newline) for a decoded message:
 * {"ioctl":"Transmit","code":"0x000900D0","dir":"call","type":"Transmit_Call",
 *  "hCard":{...},"cbSendLength":5,"pbSendBuffer":"00a4040000",...}.
 * malloc'd; NULL on allocation failure. */
char *esc_trace_json(const struct esc_msg *m);
/* The same as a cJSON object, for callers that add fields (time, session);
 * free with cJSON_Delete. */
struct cJSON;
struct cJSON *esc_trace_object(const struct esc_msg *m);

#endif
