/*
 * esc_ioctl.c - the IOCTL table and the type-serialization envelope (common
 * and private type headers, 8-byte padding, trailing-bytes policy).
 * Not for the structures inside (esc_calls.c, esc_returns.c) or rdpdr framing.
 */
#include "esc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODEC(c, r) esc_decode_##c, esc_encode_##c, esc_decode_##r, esc_encode_##r

/* The IOCTLs FreeRDP 2.11 serves that a W-only Windows server sends. */
const struct esc_ioctl esc_ioctls[] = {
    {SCARD_IOCTL_ESTABLISHCONTEXT, "EstablishContext",
     CODEC(establish_context_call, establish_context_return), ESC_T_ESTABLISH_CONTEXT_CALL,
     ESC_T_ESTABLISH_CONTEXT_RETURN, true},
    {SCARD_IOCTL_RELEASECONTEXT, "ReleaseContext", CODEC(context_call, long_return),
     ESC_T_CONTEXT_CALL, ESC_T_LONG_RETURN, true},
    {SCARD_IOCTL_ISVALIDCONTEXT, "IsValidContext", CODEC(context_call, long_return),
     ESC_T_CONTEXT_CALL, ESC_T_LONG_RETURN, true},
    {SCARD_IOCTL_LISTREADERSW, "ListReadersW", CODEC(list_readers_call, list_readers_return),
     ESC_T_LIST_READERS_CALL, ESC_T_LIST_READERS_RETURN, true},
    {SCARD_IOCTL_GETSTATUSCHANGEW, "GetStatusChangeW",
     CODEC(get_status_change_call, get_status_change_return), ESC_T_GET_STATUS_CHANGE_CALL,
     ESC_T_GET_STATUS_CHANGE_RETURN, true},
    {SCARD_IOCTL_CANCEL, "Cancel", CODEC(context_call, long_return), ESC_T_CONTEXT_CALL,
     ESC_T_LONG_RETURN, true},
    {SCARD_IOCTL_CONNECTW, "ConnectW", CODEC(connect_call, connect_return), ESC_T_CONNECT_CALL,
     ESC_T_CONNECT_RETURN, true},
    {SCARD_IOCTL_RECONNECT, "Reconnect", CODEC(reconnect_call, reconnect_return),
     ESC_T_RECONNECT_CALL, ESC_T_RECONNECT_RETURN, true},
    {SCARD_IOCTL_DISCONNECT, "Disconnect", CODEC(hcard_and_disposition_call, long_return),
     ESC_T_HCARD_AND_DISPOSITION_CALL, ESC_T_LONG_RETURN, true},
    {SCARD_IOCTL_BEGINTRANSACTION, "BeginTransaction",
     CODEC(hcard_and_disposition_call, long_return), ESC_T_HCARD_AND_DISPOSITION_CALL,
     ESC_T_LONG_RETURN, true},
    {SCARD_IOCTL_ENDTRANSACTION, "EndTransaction", CODEC(hcard_and_disposition_call, long_return),
     ESC_T_HCARD_AND_DISPOSITION_CALL, ESC_T_LONG_RETURN, true},
    {SCARD_IOCTL_STATE, "State", CODEC(state_call, state_return), ESC_T_STATE_CALL,
     ESC_T_STATE_RETURN, true},
    {SCARD_IOCTL_STATUSW, "StatusW", CODEC(status_call, status_return), ESC_T_STATUS_CALL,
     ESC_T_STATUS_RETURN, true},
    {SCARD_IOCTL_TRANSMIT, "Transmit", CODEC(transmit_call, transmit_return), ESC_T_TRANSMIT_CALL,
     ESC_T_TRANSMIT_RETURN, true},
    {SCARD_IOCTL_CONTROL, "Control", CODEC(control_call, control_return), ESC_T_CONTROL_CALL,
     ESC_T_CONTROL_RETURN, true},
    {SCARD_IOCTL_GETATTRIB, "GetAttrib", CODEC(get_attrib_call, get_attrib_return),
     ESC_T_GET_ATTRIB_CALL, ESC_T_GET_ATTRIB_RETURN, true},
    {SCARD_IOCTL_SETATTRIB, "SetAttrib", CODEC(set_attrib_call, long_return), ESC_T_SET_ATTRIB_CALL,
     ESC_T_LONG_RETURN, true},
    {SCARD_IOCTL_ACCESSSTARTEDEVENT, "AccessStartedEvent", CODEC(long_call, long_return),
     ESC_T_LONG_CALL, ESC_T_LONG_RETURN, false},
    {SCARD_IOCTL_RELEASETARTEDEVENT, "ReleaseStartedEvent", CODEC(long_call, long_return),
     ESC_T_LONG_CALL, ESC_T_LONG_RETURN, false},
    {SCARD_IOCTL_LOCATECARDSBYATRW, "LocateCardsByATRW",
     CODEC(locate_cards_by_atr_call, get_status_change_return), ESC_T_LOCATE_CARDS_BY_ATR_CALL,
     ESC_T_GET_STATUS_CHANGE_RETURN, true},
    {SCARD_IOCTL_READCACHEW, "ReadCacheW", CODEC(read_cache_call, read_cache_return),
     ESC_T_READ_CACHE_CALL, ESC_T_READ_CACHE_RETURN, true},
    {SCARD_IOCTL_WRITECACHEW, "WriteCacheW", CODEC(write_cache_call, long_return),
     ESC_T_WRITE_CACHE_CALL, ESC_T_LONG_RETURN, true},
    {SCARD_IOCTL_GETTRANSMITCOUNT, "GetTransmitCount",
     CODEC(get_transmit_count_call, get_transmit_count_return), ESC_T_GET_TRANSMIT_COUNT_CALL,
     ESC_T_GET_TRANSMIT_COUNT_RETURN, true},
    {SCARD_IOCTL_GETREADERICON, "GetReaderIcon",
     CODEC(context_and_string_call, get_reader_icon_return), ESC_T_CONTEXT_AND_STRING_CALL,
     ESC_T_GET_READER_ICON_RETURN, true},
    {SCARD_IOCTL_GETDEVICETYPEID, "GetDeviceTypeId",
     CODEC(context_and_string_call, get_device_type_id_return), ESC_T_CONTEXT_AND_STRING_CALL,
     ESC_T_GET_DEVICE_TYPE_ID_RETURN, true},
};
const size_t esc_ioctl_count = sizeof esc_ioctls / sizeof esc_ioctls[0];

static const char *const type_names[ESC_T_COUNT] = {
    [ESC_T_NONE] = "None",
    [ESC_T_ESTABLISH_CONTEXT_CALL] = "EstablishContext_Call",
    [ESC_T_CONTEXT_CALL] = "Context_Call",
    [ESC_T_LIST_READERS_CALL] = "ListReaders_Call",
    [ESC_T_GET_STATUS_CHANGE_CALL] = "GetStatusChangeW_Call",
    [ESC_T_CONNECT_CALL] = "ConnectW_Call",
    [ESC_T_RECONNECT_CALL] = "Reconnect_Call",
    [ESC_T_HCARD_AND_DISPOSITION_CALL] = "HCardAndDisposition_Call",
    [ESC_T_STATE_CALL] = "State_Call",
    [ESC_T_STATUS_CALL] = "Status_Call",
    [ESC_T_TRANSMIT_CALL] = "Transmit_Call",
    [ESC_T_CONTROL_CALL] = "Control_Call",
    [ESC_T_GET_ATTRIB_CALL] = "GetAttrib_Call",
    [ESC_T_SET_ATTRIB_CALL] = "SetAttrib_Call",
    [ESC_T_LONG_CALL] = "ScardAccessStartedEvent_Call",
    [ESC_T_READ_CACHE_CALL] = "ReadCacheW_Call",
    [ESC_T_WRITE_CACHE_CALL] = "WriteCacheW_Call",
    [ESC_T_GET_TRANSMIT_COUNT_CALL] = "GetTransmitCount_Call",
    [ESC_T_LOCATE_CARDS_BY_ATR_CALL] = "LocateCardsByATRW_Call",
    [ESC_T_CONTEXT_AND_STRING_CALL] = "ContextAndStringW_Call",
    [ESC_T_LONG_RETURN] = "Long_Return",
    [ESC_T_ESTABLISH_CONTEXT_RETURN] = "EstablishContext_Return",
    [ESC_T_LIST_READERS_RETURN] = "ListReaders_Return",
    [ESC_T_GET_STATUS_CHANGE_RETURN] = "GetStatusChange_Return",
    [ESC_T_CONNECT_RETURN] = "Connect_Return",
    [ESC_T_RECONNECT_RETURN] = "Reconnect_Return",
    [ESC_T_STATE_RETURN] = "State_Return",
    [ESC_T_STATUS_RETURN] = "Status_Return",
    [ESC_T_TRANSMIT_RETURN] = "Transmit_Return",
    [ESC_T_CONTROL_RETURN] = "Control_Return",
    [ESC_T_GET_ATTRIB_RETURN] = "GetAttrib_Return",
    [ESC_T_READ_CACHE_RETURN] = "ReadCache_Return",
    [ESC_T_GET_TRANSMIT_COUNT_RETURN] = "GetTransmitCount_Return",
    [ESC_T_GET_READER_ICON_RETURN] = "GetReaderIcon_Return",
    [ESC_T_GET_DEVICE_TYPE_ID_RETURN] = "GetDeviceTypeId_Return",
};

const struct esc_ioctl *esc_ioctl_find(uint32_t code)
{
    for (size_t i = 0; i < esc_ioctl_count; i++)
        if (esc_ioctls[i].code == code) return &esc_ioctls[i];
    return NULL;
}

const char *esc_ioctl_name(uint32_t code)
{
    const struct esc_ioctl *io = esc_ioctl_find(code);
    return io ? io->name : "Unknown";
}

const char *esc_type_name(enum esc_type t)
{
    return (unsigned)t < ESC_T_COUNT && type_names[t] ? type_names[t] : "Unknown";
}

static bool type_is_return(enum esc_type t)
{
    return t >= ESC_T_LONG_RETURN && t < ESC_T_COUNT;
}

void esc_msg_free(struct esc_msg *m)
{
    if (!m) return;
    if (type_is_return(m->type))
        esc_free_return_body(m->type, &m->u);
    else
        esc_free_call_body(m->type, &m->u);
    memset(m, 0, sizeof *m);
}

/* ---- the envelope ------------------------------------------------------------ */

/* "Transmit_Call" / "Transmit_Return" for messages. */
static void msg_what(char *buf, size_t n, const struct esc_ioctl *io, bool is_return)
{
    snprintf(buf, n, "%s_%s", io->name, is_return ? "Return" : "Call");
}

/* Check the common and private type headers (MS-RPCE 2.2.6); on success *obj
 * is the object with its exact length. */
static int unwrap_headers(const char *what, const uint8_t *buf, size_t len, struct cur *obj,
                          struct scl_err *e)
{
    struct cur c;
    cur_init(&c, buf, len);
    uint8_t version = cur_u8(&c), endianness = cur_u8(&c);
    uint16_t common_len = cur_u16le(&c);
    uint32_t filler = cur_u32le(&c);
    uint32_t object_len = cur_u32le(&c);
    uint32_t filler2 = cur_u32le(&c);
    if (!cur_ok(&c))
        return scl_errf(e, SCL_E_TRUNCATED, "%s: type headers need 16 bytes, have %zu", what, len);
    if (version != 1)
        return scl_errf(e, SCL_E_FORMAT, "%s: Version %u is not 1 at offset 0", what, version);
    if (endianness != 0x10)
        return scl_errf(e, SCL_E_FORMAT, "%s: Endianness 0x%02x is not 0x10 at offset 1", what,
                        endianness);
    if (common_len != 8)
        return scl_errf(e, SCL_E_FORMAT, "%s: CommonHeaderLength %u is not 8 at offset 2", what,
                        common_len);
    if (filler != 0xCCCCCCCCu)
        return scl_errf(e, SCL_E_FORMAT, "%s: Filler 0x%08x is not 0xCCCCCCCC at offset 4", what,
                        filler);
    if (object_len != cur_left(&c))
        return scl_errf(e, SCL_E_FORMAT,
                        "%s: ObjectBufferLength %u but %zu bytes follow at offset 8", what,
                        object_len, cur_left(&c));
    if (filler2 != 0)
        return scl_errf(e, SCL_E_FORMAT, "%s: private Filler 0x%08x is not 0 at offset 12", what,
                        filler2);
    cur_sub(&c, object_len, obj);
    return SCL_OK;
}

/* Run the structure decoder over an object; *consumed says how far it read. */
static int decode_object(const struct esc_ioctl *io, bool is_return, const uint8_t *p, size_t n,
                         size_t base, struct esc_msg *m, size_t *consumed, struct scl_err *e)
{
    char what[64];
    msg_what(what, sizeof what, io, is_return);
    memset(m, 0, sizeof *m);
    m->ioctl = io->code;
    m->type = is_return ? io->return_type : io->call_type;
    struct esc_rd r;
    esc_rd_init(&r, p, n, base, what, e);
    (is_return ? io->decode_return : io->decode_call)(&r, &m->u);
    *consumed = cur_off(&r.c);
    return r.rc;
}

int esc_decode_object(const struct esc_ioctl *io, bool is_return, const uint8_t *p, size_t n,
                      struct esc_msg *m, size_t *consumed, struct scl_err *e)
{
    return decode_object(io, is_return, p, n, ESC_NDR_HEADERS_LEN, m, consumed, e);
}

/* How many bytes may follow the structure.  NDR allows only the padding to
 * the next multiple of 8 (content unchecked).  FreeRDP 2.11 pads the
 * rgReaderStates array of GetStatusChange and LocateCards returns by element
 * COUNT, not bytes (pack_write_size_align(cReaders, 4)), then realigns to 8,
 * so those two returns may carry up to 15 bytes: FreeRDP is the peer. */
static size_t trailing_slack(const struct esc_ioctl *io, bool is_return)
{
    bool counts_pad = is_return && (io->code == SCARD_IOCTL_GETSTATUSCHANGEW ||
                                    io->code == SCARD_IOCTL_LOCATECARDSBYATRW);
    return counts_pad ? 16 : 8;
}

static int check_trailing(const char *what, size_t slack, size_t base, size_t consumed, size_t n,
                          struct scl_err *e)
{
    if (n - consumed >= slack)
        return scl_errf(e, SCL_E_FORMAT, "%s: %zu bytes after the structure at offset %zu", what,
                        n - consumed, base + consumed);
    return SCL_OK;
}

/* FreeRDP answers a failed call with ReturnCode alone (and padding) for
 * several IOCTLs; accept that form when ReturnCode says failure. */
static bool is_short_failure(const uint8_t *p, size_t n)
{
    if (n < 4 || n >= 12) return false;
    int32_t rc = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
    return rc != 0;
}

static int decode_buffer(uint32_t ioctl, bool is_return, const uint8_t *buf, size_t len,
                         struct esc_msg *m, struct scl_err *e)
{
    memset(m, 0, sizeof *m);
    const struct esc_ioctl *io = esc_ioctl_find(ioctl);
    if (!io) return scl_errf(e, SCL_E_NOTFOUND, "IOCTL 0x%08x is not in the table", ioctl);
    char what[64];
    msg_what(what, sizeof what, io, is_return);
    struct cur obj;
    size_t base = 0;
    if (is_return || io->call_has_ndr_headers) {
        int rc = unwrap_headers(what, buf, len, &obj, e);
        if (rc) return rc;
        base = ESC_NDR_HEADERS_LEN;
    } else {
        cur_init(&obj, buf, len);
    }
    size_t consumed, n = cur_left(&obj);
    const uint8_t *p = cur_bytes(&obj, n);
    int rc = decode_object(io, is_return, p, n, base, m, &consumed, e);
    if (rc && is_return && rc == SCL_E_TRUNCATED && is_short_failure(p, n)) {
        int32_t code = m->u.long_return.ReturnCode;
        esc_msg_free(m);
        m->ioctl = io->code;
        m->type = io->return_type;
        m->body_absent = true;
        m->u.long_return.ReturnCode = code; /* every return starts with ReturnCode */
        return SCL_OK;
    }
    if (!rc) rc = check_trailing(what, trailing_slack(io, is_return), base, consumed, n, e);
    return rc;
}

int esc_decode_call(uint32_t ioctl, const uint8_t *buf, size_t len, struct esc_msg *m,
                    struct scl_err *e)
{
    return decode_buffer(ioctl, false, buf, len, m, e);
}

int esc_decode_return(uint32_t ioctl, const uint8_t *buf, size_t len, struct esc_msg *m,
                      struct scl_err *e)
{
    return decode_buffer(ioctl, true, buf, len, m, e);
}

static int encode_buffer(const struct esc_msg *m, bool is_return, uint8_t **out, size_t *outlen,
                         struct scl_err *e)
{
    *out = NULL;
    *outlen = 0;
    const struct esc_ioctl *io = esc_ioctl_find(m->ioctl);
    if (!io) return scl_errf(e, SCL_E_NOTFOUND, "IOCTL 0x%08x is not in the table", m->ioctl);
    enum esc_type want = is_return ? io->return_type : io->call_type;
    if (m->type != want)
        return scl_errf(e, SCL_E_INVAL, "%s: message type %s, expected %s", io->name,
                        esc_type_name(m->type), esc_type_name(want));
    char what[64];
    msg_what(what, sizeof what, io, is_return);
    bool headers = is_return || io->call_has_ndr_headers;
    struct wcur wc;
    wcur_init_dyn(&wc);
    if (headers) {
        static const uint8_t common[8] = {0x01, 0x10, 0x08, 0x00, 0xCC, 0xCC, 0xCC, 0xCC};
        wcur_bytes(&wc, common, sizeof common);
        wcur_u32le(&wc, 0); /* ObjectBufferLength, patched below */
        wcur_u32le(&wc, 0);
    }
    struct esc_wr w;
    esc_wr_init(&w, &wc, what, e);
    (is_return ? io->encode_return : io->encode_call)(&w, &m->u);
    /* FreeRDP pads every object to 8 except the StartedEvent ones. */
    if (headers && io->call_has_ndr_headers) wcur_align(&wc, 8);
    if (headers) wcur_patch_u32le(&wc, 8, (uint32_t)(wcur_len(&wc) - ESC_NDR_HEADERS_LEN));
    if (w.rc) {
        wcur_free(&wc);
        return w.rc;
    }
    *out = wcur_take(&wc, outlen);
    if (!*out) return scl_errf(e, SCL_E_NOMEM, "%s: out of memory", what);
    return SCL_OK;
}

int esc_encode_call(const struct esc_msg *m, uint8_t **out, size_t *outlen, struct scl_err *e)
{
    return encode_buffer(m, false, out, outlen, e);
}

int esc_encode_return(const struct esc_msg *m, uint8_t **out, size_t *outlen, struct scl_err *e)
{
    return encode_buffer(m, true, out, outlen, e);
}
