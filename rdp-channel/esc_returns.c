/*
 * esc_returns.c - the MS-RDPESC return structures (client -> server), laid out
 * as FreeRDP 2.11's smartcard_pack_*_return writes them.
 * Not for headers, padding, the ReturnCode-only short form (esc_ioctl.c) or calls.
 */
#include "esc_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- {ReturnCode, cb, [size_is(cb)] pb}: Control, GetAttrib, ReadCache,
 * GetReaderIcon ------------------------------------------------------------ */

struct bytes_fields {
    const char *cb_name, *pb_name;
};

static void rd_bytes_return(struct esc_rd *r, int32_t *rc, uint32_t *cb, uint8_t **pb,
                            struct bytes_fields f)
{
    *rc = esc_rd_i32(r, "ReturnCode");
    size_t off = esc_rd_offset(r);
    *cb = esc_rd_u32(r, f.cb_name);
    esc_rd_cap(r, f.cb_name, *cb, ESC_MAX_BUFFER, off);
    off = esc_rd_offset(r);
    bool present = esc_rd_ptr(r, f.pb_name, false);
    if (!r->rc && !present && *cb)
        esc_rd_fail(r, SCL_E_FORMAT, f.pb_name, off, "NULL pointer with %u bytes announced", *cb);
    if (present) *pb = esc_rd_bytes(r, f.pb_name, *cb, ESC_MAX_BUFFER);
}

static void wr_bytes_return(struct esc_wr *w, int32_t rc, uint32_t cb, const uint8_t *pb,
                            struct bytes_fields f)
{
    esc_wr_i32(w, rc);
    esc_wr_u32(w, cb);
    esc_wr_ptr(w, cb != 0);
    esc_wr_bytes(w, f.pb_name, pb, cb, ESC_MAX_BUFFER);
}

static const struct bytes_fields control_fields = {"cbOutBufferSize", "pvOutBuffer"};
static const struct bytes_fields attrib_fields = {"cbAttrLen", "pbAttr"};
static const struct bytes_fields data_fields = {"cbDataLen", "pbData"};

void esc_decode_control_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_control_return *x = &b->control_return;
    rd_bytes_return(r, &x->ReturnCode, &x->cbOutBufferSize, &x->pvOutBuffer, control_fields);
}

void esc_encode_control_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_control_return *x = &b->control_return;
    wr_bytes_return(w, x->ReturnCode, x->cbOutBufferSize, x->pvOutBuffer, control_fields);
}

void esc_decode_get_attrib_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_get_attrib_return *x = &b->get_attrib_return;
    rd_bytes_return(r, &x->ReturnCode, &x->cbAttrLen, &x->pbAttr, attrib_fields);
}

void esc_encode_get_attrib_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_get_attrib_return *x = &b->get_attrib_return;
    wr_bytes_return(w, x->ReturnCode, x->cbAttrLen, x->pbAttr, attrib_fields);
}

void esc_decode_read_cache_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_read_cache_return *x = &b->read_cache_return;
    rd_bytes_return(r, &x->ReturnCode, &x->cbDataLen, &x->pbData, data_fields);
}

void esc_encode_read_cache_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_read_cache_return *x = &b->read_cache_return;
    wr_bytes_return(w, x->ReturnCode, x->cbDataLen, x->pbData, data_fields);
}

void esc_decode_get_reader_icon_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_get_reader_icon_return *x = &b->get_reader_icon_return;
    rd_bytes_return(r, &x->ReturnCode, &x->cbDataLen, &x->pbData, data_fields);
}

void esc_encode_get_reader_icon_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_get_reader_icon_return *x = &b->get_reader_icon_return;
    wr_bytes_return(w, x->ReturnCode, x->cbDataLen, x->pbData, data_fields);
}

/* ---- {ReturnCode, DWORD}: Long, Reconnect, GetTransmitCount, GetDeviceTypeId ---- */

void esc_decode_long_return(struct esc_rd *r, union esc_body *b)
{
    b->long_return.ReturnCode = esc_rd_i32(r, "ReturnCode");
}

void esc_encode_long_return(struct esc_wr *w, const union esc_body *b)
{
    esc_wr_i32(w, b->long_return.ReturnCode);
}

void esc_decode_reconnect_return(struct esc_rd *r, union esc_body *b)
{
    b->reconnect_return.ReturnCode = esc_rd_i32(r, "ReturnCode");
    b->reconnect_return.dwActiveProtocol = esc_rd_u32(r, "dwActiveProtocol");
}

void esc_encode_reconnect_return(struct esc_wr *w, const union esc_body *b)
{
    esc_wr_i32(w, b->reconnect_return.ReturnCode);
    esc_wr_u32(w, b->reconnect_return.dwActiveProtocol);
}

void esc_decode_get_transmit_count_return(struct esc_rd *r, union esc_body *b)
{
    b->get_transmit_count_return.ReturnCode = esc_rd_i32(r, "ReturnCode");
    b->get_transmit_count_return.cTransmitCount = esc_rd_u32(r, "cTransmitCount");
}

void esc_encode_get_transmit_count_return(struct esc_wr *w, const union esc_body *b)
{
    esc_wr_i32(w, b->get_transmit_count_return.ReturnCode);
    esc_wr_u32(w, b->get_transmit_count_return.cTransmitCount);
}

void esc_decode_get_device_type_id_return(struct esc_rd *r, union esc_body *b)
{
    b->get_device_type_id_return.ReturnCode = esc_rd_i32(r, "ReturnCode");
    b->get_device_type_id_return.dwDeviceId = esc_rd_u32(r, "dwDeviceId");
}

void esc_encode_get_device_type_id_return(struct esc_wr *w, const union esc_body *b)
{
    esc_wr_i32(w, b->get_device_type_id_return.ReturnCode);
    esc_wr_u32(w, b->get_device_type_id_return.dwDeviceId);
}

/* ---- EstablishContext_Return / Connect_Return ----------------------------------- */

void esc_decode_establish_context_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_establish_context_return *x = &b->establish_context_return;
    x->ReturnCode = esc_rd_i32(r, "ReturnCode");
    esc_rd_context(r, &x->Context);
    esc_rd_context_ref(r, &x->Context);
}

void esc_encode_establish_context_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_establish_context_return *x = &b->establish_context_return;
    esc_wr_i32(w, x->ReturnCode);
    esc_wr_context(w, &x->Context);
    esc_wr_context_ref(w, &x->Context);
}

void esc_decode_connect_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_connect_return *x = &b->connect_return;
    x->ReturnCode = esc_rd_i32(r, "ReturnCode");
    esc_rd_handle(r, &x->hCard);
    x->dwActiveProtocol = esc_rd_u32(r, "dwActiveProtocol");
    esc_rd_context_ref(r, &x->hCard.Context);
    esc_rd_handle_ref(r, &x->hCard);
}

void esc_encode_connect_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_connect_return *x = &b->connect_return;
    esc_wr_i32(w, x->ReturnCode);
    esc_wr_handle(w, &x->hCard);
    esc_wr_u32(w, x->dwActiveProtocol);
    esc_wr_context_ref(w, &x->hCard.Context);
    esc_wr_handle_ref(w, &x->hCard);
}

/* ---- ListReaders_Return ------------------------------------------------------------ */

void esc_decode_list_readers_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_list_readers_return *x = &b->list_readers_return;
    x->ReturnCode = esc_rd_i32(r, "ReturnCode");
    uint32_t cBytes = esc_rd_u32(r, "cBytes");
    bool present = esc_rd_ptr(r, "msz", false);
    esc_rd_msz(r, "msz", cBytes, present, &x->msz);
}

void esc_encode_list_readers_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_list_readers_return *x = &b->list_readers_return;
    long cBytes = esc_msz_wire_size(&x->msz);
    if (cBytes < 0) esc_wr_fail(w, SCL_E_INVAL, "msz", "a name is empty or not UTF-8");
    esc_wr_i32(w, x->ReturnCode);
    esc_wr_u32(w, cBytes > 0 ? (uint32_t)cBytes : 0);
    esc_wr_ptr(w, cBytes > 0);
    esc_wr_msz(w, "msz", &x->msz);
}

/* ---- GetStatusChange_Return (also LocateCards_Return) -------------------------------- */

void esc_decode_get_status_change_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_get_status_change_return *x = &b->get_status_change_return;
    x->ReturnCode = esc_rd_i32(r, "ReturnCode");
    size_t off = esc_rd_offset(r);
    x->cReaders = esc_rd_u32(r, "cReaders");
    esc_rd_cap(r, "cReaders", x->cReaders, ESC_MAX_READERS, off);
    off = esc_rd_offset(r);
    bool present = esc_rd_ptr(r, "rgReaderStates", false);
    if (!r->rc && !present && x->cReaders)
        esc_rd_fail(r, SCL_E_FORMAT, "rgReaderStates", off, "NULL pointer for %u readers",
                    x->cReaders);
    if (!present || !esc_rd_max_count(r, "rgReaderStates", x->cReaders)) return;
    x->rgReaderStates = calloc(x->cReaders ? x->cReaders : 1, sizeof *x->rgReaderStates);
    if (!x->rgReaderStates) {
        esc_rd_fail(r, SCL_E_NOMEM, "rgReaderStates", off, "out of memory");
        return;
    }
    for (uint32_t i = 0; i < x->cReaders; i++) {
        struct esc_reader_state_common *s = &x->rgReaderStates[i];
        s->dwCurrentState = esc_rd_u32(r, "dwCurrentState");
        s->dwEventState = esc_rd_u32(r, "dwEventState");
        off = esc_rd_offset(r);
        s->cbAtr = esc_rd_u32(r, "cbAtr");
        esc_rd_cap(r, "cbAtr", s->cbAtr, ESC_ATR_BYTES, off);
        esc_rd_fixed(r, "rgbAtr", s->rgbAtr, ESC_ATR_BYTES);
    }
}

void esc_encode_get_status_change_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_get_status_change_return *x = &b->get_status_change_return;
    if (x->cReaders > ESC_MAX_READERS || (x->cReaders && !x->rgReaderStates)) {
        esc_wr_fail(w, SCL_E_INVAL, "cReaders", "%u readers (limit %u)", x->cReaders,
                    ESC_MAX_READERS);
        return;
    }
    esc_wr_i32(w, x->ReturnCode);
    esc_wr_u32(w, x->cReaders);
    esc_wr_ptr(w, x->cReaders != 0);
    if (!x->cReaders) return;
    esc_wr_u32(w, x->cReaders);
    for (uint32_t i = 0; i < x->cReaders; i++) {
        esc_wr_u32(w, x->rgReaderStates[i].dwCurrentState);
        esc_wr_u32(w, x->rgReaderStates[i].dwEventState);
        esc_wr_u32(w, x->rgReaderStates[i].cbAtr);
        esc_wr_fixed(w, x->rgReaderStates[i].rgbAtr, ESC_ATR_BYTES);
    }
}

/* ---- State_Return / Status_Return ----------------------------------------------------- */

void esc_decode_state_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_state_return *x = &b->state_return;
    x->ReturnCode = esc_rd_i32(r, "ReturnCode");
    x->dwState = esc_rd_u32(r, "dwState");
    x->dwProtocol = esc_rd_u32(r, "dwProtocol");
    size_t off = esc_rd_offset(r);
    x->cbAtrLen = esc_rd_u32(r, "cbAtrLen");
    esc_rd_cap(r, "cbAtrLen", x->cbAtrLen, ESC_ATR_BYTES, off);
    off = esc_rd_offset(r);
    bool present = esc_rd_ptr(r, "rgAtr", false);
    if (!r->rc && !present && x->cbAtrLen)
        esc_rd_fail(r, SCL_E_FORMAT, "rgAtr", off, "NULL pointer with %u bytes announced",
                    x->cbAtrLen);
    if (present) x->rgAtr = esc_rd_bytes(r, "rgAtr", x->cbAtrLen, ESC_ATR_BYTES);
}

void esc_encode_state_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_state_return *x = &b->state_return;
    esc_wr_i32(w, x->ReturnCode);
    esc_wr_u32(w, x->dwState);
    esc_wr_u32(w, x->dwProtocol);
    esc_wr_u32(w, x->cbAtrLen);
    esc_wr_ptr(w, x->cbAtrLen != 0);
    esc_wr_bytes(w, "rgAtr", x->rgAtr, x->cbAtrLen, ESC_ATR_BYTES);
}

void esc_decode_status_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_status_return *x = &b->status_return;
    x->ReturnCode = esc_rd_i32(r, "ReturnCode");
    uint32_t cBytes = esc_rd_u32(r, "cBytes");
    bool present = esc_rd_ptr(r, "mszReaderNames", false);
    x->dwState = esc_rd_u32(r, "dwState");
    x->dwProtocol = esc_rd_u32(r, "dwProtocol");
    esc_rd_fixed(r, "pbAtr", x->pbAtr, ESC_STATUS_ATR_BYTES);
    size_t off = esc_rd_offset(r);
    x->cbAtrLen = esc_rd_u32(r, "cbAtrLen");
    esc_rd_cap(r, "cbAtrLen", x->cbAtrLen, ESC_STATUS_ATR_BYTES, off);
    esc_rd_msz(r, "mszReaderNames", cBytes, present, &x->mszReaderNames);
}

void esc_encode_status_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_status_return *x = &b->status_return;
    long cBytes = esc_msz_wire_size(&x->mszReaderNames);
    if (cBytes < 0) esc_wr_fail(w, SCL_E_INVAL, "mszReaderNames", "a name is empty or not UTF-8");
    esc_wr_i32(w, x->ReturnCode);
    esc_wr_u32(w, cBytes > 0 ? (uint32_t)cBytes : 0);
    esc_wr_ptr(w, cBytes > 0);
    esc_wr_u32(w, x->dwState);
    esc_wr_u32(w, x->dwProtocol);
    esc_wr_fixed(w, x->pbAtr, ESC_STATUS_ATR_BYTES);
    esc_wr_u32(w, x->cbAtrLen);
    esc_wr_msz(w, "mszReaderNames", &x->mszReaderNames);
}

/* ---- Transmit_Return -------------------------------------------------------------------- */

void esc_decode_transmit_return(struct esc_rd *r, union esc_body *b)
{
    struct esc_transmit_return *x = &b->transmit_return;
    x->ReturnCode = esc_rd_i32(r, "ReturnCode");
    bool pci = esc_rd_ptr(r, "pioRecvPci", false);
    size_t off = esc_rd_offset(r);
    x->cbRecvLength = esc_rd_u32(r, "cbRecvLength");
    esc_rd_cap(r, "cbRecvLength", x->cbRecvLength, ESC_MAX_BUFFER, off);
    off = esc_rd_offset(r);
    bool recv = esc_rd_ptr(r, "pbRecvBuffer", false);
    if (!r->rc && !recv && x->cbRecvLength)
        esc_rd_fail(r, SCL_E_FORMAT, "pbRecvBuffer", off, "NULL pointer with %u bytes announced",
                    x->cbRecvLength);
    if (pci && esc_rd_ok(r)) {
        bool extra;
        x->pioRecvPci = calloc(1, sizeof *x->pioRecvPci);
        if (!x->pioRecvPci) {
            esc_rd_fail(r, SCL_E_NOMEM, "pioRecvPci", off, "out of memory");
            return;
        }
        esc_rd_io_request_flat(r, "pioRecvPci", x->pioRecvPci, &extra);
        esc_rd_io_request_extra(r, "pioRecvPci.pbExtraBytes", x->pioRecvPci, extra);
    }
    if (recv) x->pbRecvBuffer = esc_rd_bytes(r, "pbRecvBuffer", x->cbRecvLength, ESC_MAX_BUFFER);
}

void esc_encode_transmit_return(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_transmit_return *x = &b->transmit_return;
    esc_wr_i32(w, x->ReturnCode);
    esc_wr_ptr(w, x->pioRecvPci != NULL);
    esc_wr_u32(w, x->cbRecvLength);
    esc_wr_ptr(w, x->cbRecvLength != 0);
    if (x->pioRecvPci) {
        esc_wr_io_request_flat(w, x->pioRecvPci);
        esc_wr_io_request_extra(w, "pioRecvPci.pbExtraBytes", x->pioRecvPci);
    }
    esc_wr_bytes(w, "pbRecvBuffer", x->pbRecvBuffer, x->cbRecvLength, ESC_MAX_BUFFER);
}

/* ---- freeing ---------------------------------------------------------------------------- */

void esc_free_return_body(enum esc_type t, union esc_body *b)
{
    switch (t) {
    case ESC_T_LIST_READERS_RETURN:
        esc_msz_free(&b->list_readers_return.msz);
        break;
    case ESC_T_GET_STATUS_CHANGE_RETURN:
        free(b->get_status_change_return.rgReaderStates);
        break;
    case ESC_T_STATE_RETURN:
        free(b->state_return.rgAtr);
        break;
    case ESC_T_STATUS_RETURN:
        esc_msz_free(&b->status_return.mszReaderNames);
        break;
    case ESC_T_TRANSMIT_RETURN:
        esc_io_request_free(b->transmit_return.pioRecvPci);
        free(b->transmit_return.pioRecvPci);
        free(b->transmit_return.pbRecvBuffer);
        break;
    case ESC_T_CONTROL_RETURN:
        free(b->control_return.pvOutBuffer);
        break;
    case ESC_T_GET_ATTRIB_RETURN:
        free(b->get_attrib_return.pbAttr);
        break;
    case ESC_T_READ_CACHE_RETURN:
        free(b->read_cache_return.pbData);
        break;
    case ESC_T_GET_READER_ICON_RETURN:
        free(b->get_reader_icon_return.pbData);
        break;
    default:
        break; /* no heap fields */
    }
}
