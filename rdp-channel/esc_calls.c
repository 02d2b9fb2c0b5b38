/*
 * esc_calls.c - the MS-RDPESC call structures (server -> client), each read
 * and written in the field order FreeRDP 2.11's smartcard_unpack_*_call uses.
 * Not for headers, padding or dispatch (esc_ioctl.c) or returns.
 */
#include "esc_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- shared pieces ---------------------------------------------------------- */

static void rd_reader_state_common(struct esc_rd *r, struct esc_reader_state_common *s)
{
    s->dwCurrentState = esc_rd_u32(r, "dwCurrentState");
    s->dwEventState = esc_rd_u32(r, "dwEventState");
    size_t off = esc_rd_offset(r);
    s->cbAtr = esc_rd_u32(r, "cbAtr");
    esc_rd_cap(r, "cbAtr", s->cbAtr, ESC_ATR_BYTES, off);
    esc_rd_fixed(r, "rgbAtr", s->rgbAtr, ESC_ATR_BYTES);
}

static void wr_reader_state_common(struct esc_wr *w, const struct esc_reader_state_common *s)
{
    esc_wr_u32(w, s->dwCurrentState);
    esc_wr_u32(w, s->dwEventState);
    esc_wr_u32(w, s->cbAtr);
    esc_wr_fixed(w, s->rgbAtr, ESC_ATR_BYTES);
}

/* ReaderStateW[cReaders]: the array (each entry a szReader pointer and the
 * common fields), then the strings of the non-NULL pointers in order. */
static struct esc_reader_state *rd_reader_states(struct esc_rd *r, uint32_t cReaders)
{
    if (!esc_rd_max_count(r, "rgReaderStates", cReaders)) return NULL;
    struct esc_reader_state *v = calloc(cReaders ? cReaders : 1, sizeof *v);
    bool *has = calloc(cReaders ? cReaders : 1, sizeof *has);
    if (!v || !has) {
        esc_rd_fail(r, SCL_E_NOMEM, "rgReaderStates", esc_rd_offset(r), "out of memory");
        free(has);
        return v;
    }
    for (uint32_t i = 0; i < cReaders; i++) {
        has[i] = esc_rd_ptr(r, "szReader", false);
        rd_reader_state_common(r, &v[i].Common);
    }
    for (uint32_t i = 0; i < cReaders; i++)
        if (has[i]) v[i].szReader = esc_rd_wstring(r, "szReader");
    free(has);
    return v;
}

static void wr_reader_states(struct esc_wr *w, const struct esc_reader_state *v, uint32_t n)
{
    esc_wr_u32(w, n);
    for (uint32_t i = 0; i < n; i++) {
        esc_wr_ptr(w, v[i].szReader != NULL);
        wr_reader_state_common(w, &v[i].Common);
    }
    for (uint32_t i = 0; i < n; i++)
        if (v[i].szReader) esc_wr_wstring(w, "szReader", v[i].szReader);
}

static void free_reader_states(struct esc_reader_state *v, uint32_t n)
{
    for (uint32_t i = 0; v && i < n; i++)
        free(v[i].szReader);
    free(v);
}

/* A [size_is(n)] pointer to n reader states: NULL only when n is 0. */
static void check_states_ptr(struct esc_rd *r, bool present, uint32_t n, size_t off)
{
    if (!r->rc && !present && n)
        esc_rd_fail(r, SCL_E_FORMAT, "rgReaderStates", off, "NULL pointer for %u readers", n);
}

static void check_buffer_ptr(struct esc_rd *r, const char *field, bool present, uint32_t n,
                             size_t off)
{
    if (!r->rc && !present && n)
        esc_rd_fail(r, SCL_E_FORMAT, field, off, "NULL pointer with %u bytes announced", n);
}

/* ---- EstablishContext_Call -------------------------------------------------- */

void esc_decode_establish_context_call(struct esc_rd *r, union esc_body *b)
{
    b->establish_context_call.dwScope = esc_rd_u32(r, "dwScope");
}

void esc_encode_establish_context_call(struct esc_wr *w, const union esc_body *b)
{
    esc_wr_u32(w, b->establish_context_call.dwScope);
}

/* ---- Context_Call ------------------------------------------------------------- */

void esc_decode_context_call(struct esc_rd *r, union esc_body *b)
{
    esc_rd_context(r, &b->context_call.Context);
    esc_rd_context_ref(r, &b->context_call.Context);
}

void esc_encode_context_call(struct esc_wr *w, const union esc_body *b)
{
    esc_wr_context(w, &b->context_call.Context);
    esc_wr_context_ref(w, &b->context_call.Context);
}

/* ---- ListReaders_Call ----------------------------------------------------------- */

void esc_decode_list_readers_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_list_readers_call *c = &b->list_readers_call;
    esc_rd_context(r, &c->Context);
    uint32_t cBytes = esc_rd_u32(r, "cBytes");
    bool groups = esc_rd_ptr(r, "mszGroups", false);
    c->fmszReadersIsNULL = esc_rd_i32(r, "fmszReadersIsNULL");
    c->cchReaders = esc_rd_u32(r, "cchReaders");
    esc_rd_context_ref(r, &c->Context);
    esc_rd_msz(r, "mszGroups", cBytes, groups, &c->mszGroups);
}

void esc_encode_list_readers_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_list_readers_call *c = &b->list_readers_call;
    long cBytes = esc_msz_wire_size(&c->mszGroups);
    if (cBytes < 0) esc_wr_fail(w, SCL_E_INVAL, "mszGroups", "a name is empty or not UTF-8");
    esc_wr_context(w, &c->Context);
    esc_wr_u32(w, cBytes > 0 ? (uint32_t)cBytes : 0);
    esc_wr_ptr(w, cBytes > 0);
    esc_wr_i32(w, c->fmszReadersIsNULL);
    esc_wr_u32(w, c->cchReaders);
    esc_wr_context_ref(w, &c->Context);
    esc_wr_msz(w, "mszGroups", &c->mszGroups);
}

/* ---- GetStatusChangeW_Call ------------------------------------------------------ */

void esc_decode_get_status_change_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_get_status_change_call *c = &b->get_status_change_call;
    esc_rd_context(r, &c->Context);
    c->dwTimeOut = esc_rd_u32(r, "dwTimeOut");
    size_t off = esc_rd_offset(r);
    c->cReaders = esc_rd_u32(r, "cReaders");
    esc_rd_cap(r, "cReaders", c->cReaders, ESC_MAX_READERS, off);
    off = esc_rd_offset(r);
    bool states = esc_rd_ptr(r, "rgReaderStates", false);
    check_states_ptr(r, states, c->cReaders, off);
    esc_rd_context_ref(r, &c->Context);
    if (states && esc_rd_ok(r))
        c->rgReaderStates = rd_reader_states(r, c->cReaders);
    else if (esc_rd_ok(r))
        c->cReaders = 0;
}

void esc_encode_get_status_change_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_get_status_change_call *c = &b->get_status_change_call;
    if (c->cReaders > ESC_MAX_READERS || (c->cReaders && !c->rgReaderStates))
        esc_wr_fail(w, SCL_E_INVAL, "cReaders", "%u readers (limit %u)", c->cReaders,
                    ESC_MAX_READERS);
    esc_wr_context(w, &c->Context);
    esc_wr_u32(w, c->dwTimeOut);
    esc_wr_u32(w, c->cReaders);
    esc_wr_ptr(w, c->cReaders != 0);
    esc_wr_context_ref(w, &c->Context);
    if (c->cReaders && !w->rc) wr_reader_states(w, c->rgReaderStates, c->cReaders);
}

/* ---- ConnectW_Call ------------------------------------------------------------- */

void esc_decode_connect_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_connect_call *c = &b->connect_call;
    (void)esc_rd_ptr(r, "szReader", true);
    esc_rd_context(r, &c->Context);
    c->dwShareMode = esc_rd_u32(r, "dwShareMode");
    c->dwPreferredProtocols = esc_rd_u32(r, "dwPreferredProtocols");
    c->szReader = esc_rd_wstring(r, "szReader");
    esc_rd_context_ref(r, &c->Context);
}

void esc_encode_connect_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_connect_call *c = &b->connect_call;
    esc_wr_ptr(w, true);
    esc_wr_context(w, &c->Context);
    esc_wr_u32(w, c->dwShareMode);
    esc_wr_u32(w, c->dwPreferredProtocols);
    esc_wr_wstring(w, "szReader", c->szReader);
    esc_wr_context_ref(w, &c->Context);
}

/* ---- Reconnect_Call -------------------------------------------------------------- */

void esc_decode_reconnect_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_reconnect_call *c = &b->reconnect_call;
    esc_rd_handle(r, &c->hCard);
    c->dwShareMode = esc_rd_u32(r, "dwShareMode");
    c->dwPreferredProtocols = esc_rd_u32(r, "dwPreferredProtocols");
    c->dwInitialization = esc_rd_u32(r, "dwInitialization");
    esc_rd_context_ref(r, &c->hCard.Context);
    esc_rd_handle_ref(r, &c->hCard);
}

void esc_encode_reconnect_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_reconnect_call *c = &b->reconnect_call;
    esc_wr_handle(w, &c->hCard);
    esc_wr_u32(w, c->dwShareMode);
    esc_wr_u32(w, c->dwPreferredProtocols);
    esc_wr_u32(w, c->dwInitialization);
    esc_wr_context_ref(w, &c->hCard.Context);
    esc_wr_handle_ref(w, &c->hCard);
}

/* ---- HCardAndDisposition_Call ------------------------------------------------------ */

void esc_decode_hcard_and_disposition_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_hcard_and_disposition_call *c = &b->hcard_and_disposition_call;
    esc_rd_handle(r, &c->hCard);
    c->dwDisposition = esc_rd_u32(r, "dwDisposition");
    esc_rd_context_ref(r, &c->hCard.Context);
    esc_rd_handle_ref(r, &c->hCard);
}

void esc_encode_hcard_and_disposition_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_hcard_and_disposition_call *c = &b->hcard_and_disposition_call;
    esc_wr_handle(w, &c->hCard);
    esc_wr_u32(w, c->dwDisposition);
    esc_wr_context_ref(w, &c->hCard.Context);
    esc_wr_handle_ref(w, &c->hCard);
}

/* ---- State_Call ------------------------------------------------------------------ */

void esc_decode_state_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_state_call *c = &b->state_call;
    esc_rd_handle(r, &c->hCard);
    c->fpbAtrIsNULL = esc_rd_i32(r, "fpbAtrIsNULL");
    c->cbAtrLen = esc_rd_u32(r, "cbAtrLen");
    esc_rd_context_ref(r, &c->hCard.Context);
    esc_rd_handle_ref(r, &c->hCard);
}

void esc_encode_state_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_state_call *c = &b->state_call;
    esc_wr_handle(w, &c->hCard);
    esc_wr_i32(w, c->fpbAtrIsNULL);
    esc_wr_u32(w, c->cbAtrLen);
    esc_wr_context_ref(w, &c->hCard.Context);
    esc_wr_handle_ref(w, &c->hCard);
}

/* ---- Status_Call ------------------------------------------------------------------ */

void esc_decode_status_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_status_call *c = &b->status_call;
    esc_rd_handle(r, &c->hCard);
    c->fmszReaderNamesIsNULL = esc_rd_i32(r, "fmszReaderNamesIsNULL");
    c->cchReaderLen = esc_rd_u32(r, "cchReaderLen");
    c->cbAtrLen = esc_rd_u32(r, "cbAtrLen");
    esc_rd_context_ref(r, &c->hCard.Context);
    esc_rd_handle_ref(r, &c->hCard);
}

void esc_encode_status_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_status_call *c = &b->status_call;
    esc_wr_handle(w, &c->hCard);
    esc_wr_i32(w, c->fmszReaderNamesIsNULL);
    esc_wr_u32(w, c->cchReaderLen);
    esc_wr_u32(w, c->cbAtrLen);
    esc_wr_context_ref(w, &c->hCard.Context);
    esc_wr_handle_ref(w, &c->hCard);
}

/* ---- Transmit_Call ------------------------------------------------------------------ */

void esc_decode_transmit_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_transmit_call *c = &b->transmit_call;
    bool send_extra, recv_extra = false;
    esc_rd_handle(r, &c->hCard);
    esc_rd_io_request_flat(r, "ioSendPci", &c->ioSendPci, &send_extra);
    size_t off = esc_rd_offset(r);
    c->cbSendLength = esc_rd_u32(r, "cbSendLength");
    esc_rd_cap(r, "cbSendLength", c->cbSendLength, ESC_MAX_BUFFER, off);
    off = esc_rd_offset(r);
    bool send = esc_rd_ptr(r, "pbSendBuffer", false);
    check_buffer_ptr(r, "pbSendBuffer", send, c->cbSendLength, off);
    bool recv_pci = esc_rd_ptr(r, "pioRecvPci", false);
    c->fpbRecvBufferIsNULL = esc_rd_i32(r, "fpbRecvBufferIsNULL");
    c->cbRecvLength = esc_rd_u32(r, "cbRecvLength");
    esc_rd_context_ref(r, &c->hCard.Context);
    esc_rd_handle_ref(r, &c->hCard);
    esc_rd_io_request_extra(r, "ioSendPci.pbExtraBytes", &c->ioSendPci, send_extra);
    if (send) c->pbSendBuffer = esc_rd_bytes(r, "pbSendBuffer", c->cbSendLength, ESC_MAX_BUFFER);
    if (!recv_pci || !esc_rd_ok(r)) return;
    c->pioRecvPci = calloc(1, sizeof *c->pioRecvPci);
    if (!c->pioRecvPci) {
        esc_rd_fail(r, SCL_E_NOMEM, "pioRecvPci", esc_rd_offset(r), "out of memory");
        return;
    }
    esc_rd_io_request_flat(r, "pioRecvPci", c->pioRecvPci, &recv_extra);
    esc_rd_io_request_extra(r, "pioRecvPci.pbExtraBytes", c->pioRecvPci, recv_extra);
}

void esc_encode_transmit_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_transmit_call *c = &b->transmit_call;
    esc_wr_handle(w, &c->hCard);
    esc_wr_io_request_flat(w, &c->ioSendPci);
    esc_wr_u32(w, c->cbSendLength);
    esc_wr_ptr(w, c->cbSendLength != 0);
    esc_wr_ptr(w, c->pioRecvPci != NULL);
    esc_wr_i32(w, c->fpbRecvBufferIsNULL);
    esc_wr_u32(w, c->cbRecvLength);
    esc_wr_context_ref(w, &c->hCard.Context);
    esc_wr_handle_ref(w, &c->hCard);
    esc_wr_io_request_extra(w, "ioSendPci.pbExtraBytes", &c->ioSendPci);
    esc_wr_bytes(w, "pbSendBuffer", c->pbSendBuffer, c->cbSendLength, ESC_MAX_BUFFER);
    if (c->pioRecvPci) {
        esc_wr_io_request_flat(w, c->pioRecvPci);
        esc_wr_io_request_extra(w, "pioRecvPci.pbExtraBytes", c->pioRecvPci);
    }
}

/* ---- Control_Call -------------------------------------------------------------------- */

void esc_decode_control_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_control_call *c = &b->control_call;
    esc_rd_handle(r, &c->hCard);
    c->dwControlCode = esc_rd_u32(r, "dwControlCode");
    size_t off = esc_rd_offset(r);
    c->cbInBufferSize = esc_rd_u32(r, "cbInBufferSize");
    esc_rd_cap(r, "cbInBufferSize", c->cbInBufferSize, ESC_MAX_BUFFER, off);
    off = esc_rd_offset(r);
    bool in = esc_rd_ptr(r, "pvInBuffer", false);
    check_buffer_ptr(r, "pvInBuffer", in, c->cbInBufferSize, off);
    c->fpvOutBufferIsNULL = esc_rd_i32(r, "fpvOutBufferIsNULL");
    c->cbOutBufferSize = esc_rd_u32(r, "cbOutBufferSize");
    esc_rd_context_ref(r, &c->hCard.Context);
    esc_rd_handle_ref(r, &c->hCard);
    if (in) c->pvInBuffer = esc_rd_bytes(r, "pvInBuffer", c->cbInBufferSize, ESC_MAX_BUFFER);
}

void esc_encode_control_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_control_call *c = &b->control_call;
    esc_wr_handle(w, &c->hCard);
    esc_wr_u32(w, c->dwControlCode);
    esc_wr_u32(w, c->cbInBufferSize);
    esc_wr_ptr(w, c->cbInBufferSize != 0);
    esc_wr_i32(w, c->fpvOutBufferIsNULL);
    esc_wr_u32(w, c->cbOutBufferSize);
    esc_wr_context_ref(w, &c->hCard.Context);
    esc_wr_handle_ref(w, &c->hCard);
    esc_wr_bytes(w, "pvInBuffer", c->pvInBuffer, c->cbInBufferSize, ESC_MAX_BUFFER);
}

/* ---- GetAttrib_Call / SetAttrib_Call -------------------------------------------------- */

void esc_decode_get_attrib_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_get_attrib_call *c = &b->get_attrib_call;
    esc_rd_handle(r, &c->hCard);
    c->dwAttrId = esc_rd_u32(r, "dwAttrId");
    c->fpbAttrIsNULL = esc_rd_i32(r, "fpbAttrIsNULL");
    c->cbAttrLen = esc_rd_u32(r, "cbAttrLen");
    esc_rd_context_ref(r, &c->hCard.Context);
    esc_rd_handle_ref(r, &c->hCard);
}

void esc_encode_get_attrib_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_get_attrib_call *c = &b->get_attrib_call;
    esc_wr_handle(w, &c->hCard);
    esc_wr_u32(w, c->dwAttrId);
    esc_wr_i32(w, c->fpbAttrIsNULL);
    esc_wr_u32(w, c->cbAttrLen);
    esc_wr_context_ref(w, &c->hCard.Context);
    esc_wr_handle_ref(w, &c->hCard);
}

void esc_decode_set_attrib_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_set_attrib_call *c = &b->set_attrib_call;
    esc_rd_handle(r, &c->hCard);
    c->dwAttrId = esc_rd_u32(r, "dwAttrId");
    size_t off = esc_rd_offset(r);
    c->cbAttrLen = esc_rd_u32(r, "cbAttrLen");
    esc_rd_cap(r, "cbAttrLen", c->cbAttrLen, ESC_MAX_BUFFER, off);
    off = esc_rd_offset(r);
    bool attr = esc_rd_ptr(r, "pbAttr", false);
    check_buffer_ptr(r, "pbAttr", attr, c->cbAttrLen, off);
    esc_rd_context_ref(r, &c->hCard.Context);
    esc_rd_handle_ref(r, &c->hCard);
    if (attr) c->pbAttr = esc_rd_bytes(r, "pbAttr", c->cbAttrLen, ESC_MAX_BUFFER);
}

void esc_encode_set_attrib_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_set_attrib_call *c = &b->set_attrib_call;
    esc_wr_handle(w, &c->hCard);
    esc_wr_u32(w, c->dwAttrId);
    esc_wr_u32(w, c->cbAttrLen);
    esc_wr_ptr(w, c->cbAttrLen != 0);
    esc_wr_context_ref(w, &c->hCard.Context);
    esc_wr_handle_ref(w, &c->hCard);
    esc_wr_bytes(w, "pbAttr", c->pbAttr, c->cbAttrLen, ESC_MAX_BUFFER);
}

/* ---- ScardAccessStartedEvent_Call (raw, no NDR) ------------------------------------------ */

void esc_decode_long_call(struct esc_rd *r, union esc_body *b)
{
    b->long_call.Unused = esc_rd_i32(r, "Unused");
}

void esc_encode_long_call(struct esc_wr *w, const union esc_body *b)
{
    esc_wr_i32(w, b->long_call.Unused);
}

/* ---- ReadCacheW_Call / WriteCacheW_Call ---------------------------------------------------- */

void esc_decode_read_cache_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_read_cache_call *c = &b->read_cache_call;
    bool name = esc_rd_ptr(r, "szLookupName", false);
    esc_rd_context(r, &c->Context);
    bool card = esc_rd_ptr(r, "CardIdentifier", false);
    c->FreshnessCounter = esc_rd_u32(r, "FreshnessCounter");
    c->fPbDataIsNULL = esc_rd_i32(r, "fPbDataIsNULL");
    c->cbDataLen = esc_rd_u32(r, "cbDataLen");
    if (name) c->szLookupName = esc_rd_wstring(r, "szLookupName");
    esc_rd_context_ref(r, &c->Context);
    if (card) esc_rd_uuid(r, "CardIdentifier", &c->CardIdentifier);
}

void esc_encode_read_cache_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_read_cache_call *c = &b->read_cache_call;
    esc_wr_ptr(w, c->szLookupName != NULL);
    esc_wr_context(w, &c->Context);
    esc_wr_ptr(w, c->CardIdentifier != NULL);
    esc_wr_u32(w, c->FreshnessCounter);
    esc_wr_i32(w, c->fPbDataIsNULL);
    esc_wr_u32(w, c->cbDataLen);
    if (c->szLookupName) esc_wr_wstring(w, "szLookupName", c->szLookupName);
    esc_wr_context_ref(w, &c->Context);
    if (c->CardIdentifier) esc_wr_fixed(w, c->CardIdentifier->b, sizeof c->CardIdentifier->b);
}

void esc_decode_write_cache_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_write_cache_call *c = &b->write_cache_call;
    bool name = esc_rd_ptr(r, "szLookupName", false);
    esc_rd_context(r, &c->Context);
    bool card = esc_rd_ptr(r, "CardIdentifier", false);
    c->FreshnessCounter = esc_rd_u32(r, "FreshnessCounter");
    size_t off = esc_rd_offset(r);
    c->cbDataLen = esc_rd_u32(r, "cbDataLen");
    esc_rd_cap(r, "cbDataLen", c->cbDataLen, ESC_MAX_BUFFER, off);
    off = esc_rd_offset(r);
    bool data = esc_rd_ptr(r, "pbData", false);
    check_buffer_ptr(r, "pbData", data, c->cbDataLen, off);
    if (name) c->szLookupName = esc_rd_wstring(r, "szLookupName");
    esc_rd_context_ref(r, &c->Context);
    if (card) esc_rd_uuid(r, "CardIdentifier", &c->CardIdentifier);
    if (data) c->pbData = esc_rd_bytes(r, "pbData", c->cbDataLen, ESC_MAX_BUFFER);
}

void esc_encode_write_cache_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_write_cache_call *c = &b->write_cache_call;
    esc_wr_ptr(w, c->szLookupName != NULL);
    esc_wr_context(w, &c->Context);
    esc_wr_ptr(w, c->CardIdentifier != NULL);
    esc_wr_u32(w, c->FreshnessCounter);
    esc_wr_u32(w, c->cbDataLen);
    esc_wr_ptr(w, c->cbDataLen != 0);
    if (c->szLookupName) esc_wr_wstring(w, "szLookupName", c->szLookupName);
    esc_wr_context_ref(w, &c->Context);
    if (c->CardIdentifier) esc_wr_fixed(w, c->CardIdentifier->b, sizeof c->CardIdentifier->b);
    esc_wr_bytes(w, "pbData", c->pbData, c->cbDataLen, ESC_MAX_BUFFER);
}

/* ---- GetTransmitCount_Call ----------------------------------------------------------------- */

void esc_decode_get_transmit_count_call(struct esc_rd *r, union esc_body *b)
{
    esc_rd_handle(r, &b->get_transmit_count_call.hCard);
    esc_rd_context_ref(r, &b->get_transmit_count_call.hCard.Context);
    esc_rd_handle_ref(r, &b->get_transmit_count_call.hCard);
}

void esc_encode_get_transmit_count_call(struct esc_wr *w, const union esc_body *b)
{
    esc_wr_handle(w, &b->get_transmit_count_call.hCard);
    esc_wr_context_ref(w, &b->get_transmit_count_call.hCard.Context);
    esc_wr_handle_ref(w, &b->get_transmit_count_call.hCard);
}

/* ---- LocateCardsByATRW_Call ------------------------------------------------------------------ */

static void rd_atr_masks(struct esc_rd *r, struct esc_locate_cards_by_atr_call *c)
{
    if (!esc_rd_max_count(r, "rgAtrMasks", c->cAtrs)) return;
    c->rgAtrMasks = calloc(c->cAtrs ? c->cAtrs : 1, sizeof *c->rgAtrMasks);
    if (!c->rgAtrMasks) {
        esc_rd_fail(r, SCL_E_NOMEM, "rgAtrMasks", esc_rd_offset(r), "out of memory");
        return;
    }
    for (uint32_t i = 0; i < c->cAtrs; i++) {
        struct esc_atr_mask *m = &c->rgAtrMasks[i];
        size_t off = esc_rd_offset(r);
        m->cbAtr = esc_rd_u32(r, "cbAtr");
        esc_rd_cap(r, "cbAtr", m->cbAtr, ESC_ATR_BYTES, off);
        esc_rd_fixed(r, "rgbAtr", m->rgbAtr, ESC_ATR_BYTES);
        esc_rd_fixed(r, "rgbMask", m->rgbMask, ESC_ATR_BYTES);
    }
}

void esc_decode_locate_cards_by_atr_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_locate_cards_by_atr_call *c = &b->locate_cards_by_atr_call;
    esc_rd_context(r, &c->Context);
    size_t off = esc_rd_offset(r);
    c->cAtrs = esc_rd_u32(r, "cAtrs");
    esc_rd_cap(r, "cAtrs", c->cAtrs, ESC_MAX_ATR_MASKS, off);
    off = esc_rd_offset(r);
    bool masks = esc_rd_ptr(r, "rgAtrMasks", false);
    if (!r->rc && masks != (c->cAtrs != 0))
        esc_rd_fail(r, SCL_E_FORMAT, "rgAtrMasks", off, "pointer %s but cAtrs %u",
                    masks ? "set" : "NULL", c->cAtrs);
    off = esc_rd_offset(r);
    c->cReaders = esc_rd_u32(r, "cReaders");
    esc_rd_cap(r, "cReaders", c->cReaders, ESC_MAX_READERS, off);
    off = esc_rd_offset(r);
    bool states = esc_rd_ptr(r, "rgReaderStates", false);
    check_states_ptr(r, states, c->cReaders, off);
    esc_rd_context_ref(r, &c->Context);
    if (masks && esc_rd_ok(r)) rd_atr_masks(r, c);
    if (states && esc_rd_ok(r))
        c->rgReaderStates = rd_reader_states(r, c->cReaders);
    else if (esc_rd_ok(r))
        c->cReaders = 0;
}

void esc_encode_locate_cards_by_atr_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_locate_cards_by_atr_call *c = &b->locate_cards_by_atr_call;
    if (c->cAtrs > ESC_MAX_ATR_MASKS || (c->cAtrs && !c->rgAtrMasks))
        esc_wr_fail(w, SCL_E_INVAL, "cAtrs", "%u masks (limit %u)", c->cAtrs, ESC_MAX_ATR_MASKS);
    if (c->cReaders > ESC_MAX_READERS || (c->cReaders && !c->rgReaderStates))
        esc_wr_fail(w, SCL_E_INVAL, "cReaders", "%u readers (limit %u)", c->cReaders,
                    ESC_MAX_READERS);
    if (w->rc) return;
    esc_wr_context(w, &c->Context);
    esc_wr_u32(w, c->cAtrs);
    esc_wr_ptr(w, c->cAtrs != 0);
    esc_wr_u32(w, c->cReaders);
    esc_wr_ptr(w, c->cReaders != 0);
    esc_wr_context_ref(w, &c->Context);
    if (c->cAtrs) {
        esc_wr_u32(w, c->cAtrs);
        for (uint32_t i = 0; i < c->cAtrs; i++) {
            esc_wr_u32(w, c->rgAtrMasks[i].cbAtr);
            esc_wr_fixed(w, c->rgAtrMasks[i].rgbAtr, ESC_ATR_BYTES);
            esc_wr_fixed(w, c->rgAtrMasks[i].rgbMask, ESC_ATR_BYTES);
        }
    }
    if (c->cReaders) wr_reader_states(w, c->rgReaderStates, c->cReaders);
}

/* ---- GetReaderIcon_Call / GetDeviceTypeId_Call --------------------------------------------- */

void esc_decode_context_and_string_call(struct esc_rd *r, union esc_body *b)
{
    struct esc_context_and_string_call *c = &b->context_and_string_call;
    esc_rd_context(r, &c->Context);
    (void)esc_rd_ptr(r, "szReaderName", true);
    esc_rd_context_ref(r, &c->Context);
    c->szReaderName = esc_rd_wstring(r, "szReaderName");
}

void esc_encode_context_and_string_call(struct esc_wr *w, const union esc_body *b)
{
    const struct esc_context_and_string_call *c = &b->context_and_string_call;
    esc_wr_context(w, &c->Context);
    esc_wr_ptr(w, true);
    esc_wr_context_ref(w, &c->Context);
    esc_wr_wstring(w, "szReaderName", c->szReaderName);
}

/* ---- freeing -------------------------------------------------------------------------------- */

void esc_free_call_body(enum esc_type t, union esc_body *b)
{
    switch (t) {
    case ESC_T_LIST_READERS_CALL:
        esc_msz_free(&b->list_readers_call.mszGroups);
        break;
    case ESC_T_GET_STATUS_CHANGE_CALL:
        free_reader_states(b->get_status_change_call.rgReaderStates,
                           b->get_status_change_call.cReaders);
        break;
    case ESC_T_CONNECT_CALL:
        free(b->connect_call.szReader);
        break;
    case ESC_T_TRANSMIT_CALL:
        esc_io_request_free(&b->transmit_call.ioSendPci);
        free(b->transmit_call.pbSendBuffer);
        esc_io_request_free(b->transmit_call.pioRecvPci);
        free(b->transmit_call.pioRecvPci);
        break;
    case ESC_T_CONTROL_CALL:
        free(b->control_call.pvInBuffer);
        break;
    case ESC_T_SET_ATTRIB_CALL:
        free(b->set_attrib_call.pbAttr);
        break;
    case ESC_T_READ_CACHE_CALL:
        free(b->read_cache_call.szLookupName);
        free(b->read_cache_call.CardIdentifier);
        break;
    case ESC_T_WRITE_CACHE_CALL:
        free(b->write_cache_call.szLookupName);
        free(b->write_cache_call.CardIdentifier);
        free(b->write_cache_call.pbData);
        break;
    case ESC_T_LOCATE_CARDS_BY_ATR_CALL:
        free(b->locate_cards_by_atr_call.rgAtrMasks);
        free_reader_states(b->locate_cards_by_atr_call.rgReaderStates,
                           b->locate_cards_by_atr_call.cReaders);
        break;
    case ESC_T_CONTEXT_AND_STRING_CALL:
        free(b->context_and_string_call.szReaderName);
        break;
    default:
        break; /* no heap fields */
    }
}
