/*
 * esc_trace.c - renders a decoded MS-RDPESC call or return as one JSON object
 * (cJSON) with the table's IOCTL name and the spec's field names; bytes as hex.
 * Not a logger: the caller decides where the line goes.
 */
#include "esc_internal.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- field helpers ------------------------------------------------------------ */

/* Integers go in as raw JSON text: cJSON prints a number past INT_MAX with
 * "%1.15g" and reads it back with sscanf to check it, which was a fifth of
 * the trace's CPU time, on the path of every traced IRP. */
static void add_u32(cJSON *o, const char *k, uint32_t v)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%" PRIu32, v);
    cJSON_AddRawToObject(o, k, buf);
}
static void add_i32(cJSON *o, const char *k, int32_t v)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%" PRId32, v);
    cJSON_AddRawToObject(o, k, buf);
}

/* Return codes read best as the 0x8010xxxx form the PC/SC headers use. */
static void add_code(cJSON *o, const char *k, int32_t v)
{
    char buf[16];
    snprintf(buf, sizeof buf, "0x%08X", (uint32_t)v);
    cJSON_AddStringToObject(o, k, buf);
}

static void add_hex(cJSON *o, const char *k, const uint8_t *p, size_t n)
{
    if (!p && n) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    char *s = malloc(2 * n + 1);
    if (!s) return;
    scl_hex_encode(p, n, s, false);
    cJSON_AddStringToObject(o, k, s);
    free(s);
}

static void add_str(cJSON *o, const char *k, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, k, s);
    else
        cJSON_AddNullToObject(o, k);
}

static void add_context(cJSON *o, const char *k, const struct esc_context *c)
{
    cJSON *x = cJSON_AddObjectToObject(o, k);
    if (!x) return;
    add_u32(x, "cbContext", c->cbContext);
    add_hex(x, "pbContext", c->pbContext, c->cbContext <= 8 ? c->cbContext : 0);
}

static void add_handle(cJSON *o, const char *k, const struct esc_handle *h)
{
    cJSON *x = cJSON_AddObjectToObject(o, k);
    if (!x) return;
    add_context(x, "Context", &h->Context);
    add_u32(x, "cbHandle", h->cbHandle);
    add_hex(x, "pbHandle", h->pbHandle, h->cbHandle <= 8 ? h->cbHandle : 0);
}

static void add_msz(cJSON *o, const char *k, const struct esc_msz *m)
{
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (size_t i = 0; a && i < m->count; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(m->names[i] ? m->names[i] : ""));
}

static void fill_common(cJSON *x, const struct esc_reader_state_common *s)
{
    add_u32(x, "dwCurrentState", s->dwCurrentState);
    add_u32(x, "dwEventState", s->dwEventState);
    add_u32(x, "cbAtr", s->cbAtr);
    add_hex(x, "rgbAtr", s->rgbAtr, s->cbAtr <= ESC_ATR_BYTES ? s->cbAtr : ESC_ATR_BYTES);
}

static void add_reader_states(cJSON *o, const struct esc_reader_state *v, uint32_t n)
{
    cJSON *a = cJSON_AddArrayToObject(o, "rgReaderStates");
    for (uint32_t i = 0; a && v && i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        add_str(x, "szReader", v[i].szReader);
        fill_common(x, &v[i].Common);
        cJSON_AddItemToArray(a, x);
    }
}

static void add_io_request(cJSON *o, const char *k, const struct esc_io_request *io)
{
    if (!io) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    cJSON *x = cJSON_AddObjectToObject(o, k);
    if (!x) return;
    add_u32(x, "dwProtocol", io->dwProtocol);
    add_u32(x, "cbExtraBytes", io->cbExtraBytes);
    add_hex(x, "pbExtraBytes", io->pbExtraBytes, io->cbExtraBytes);
}

static void add_uuid(cJSON *o, const char *k, const struct esc_uuid *u)
{
    if (u)
        add_hex(o, k, u->b, sizeof u->b);
    else
        cJSON_AddNullToObject(o, k);
}

/* ---- one renderer per structure -------------------------------------------------- */

typedef void (*render_fn)(cJSON *o, const union esc_body *b);

static void r_establish_context_call(cJSON *o, const union esc_body *b)
{
    add_u32(o, "dwScope", b->establish_context_call.dwScope);
}

static void r_context_call(cJSON *o, const union esc_body *b)
{
    add_context(o, "Context", &b->context_call.Context);
}

static void r_list_readers_call(cJSON *o, const union esc_body *b)
{
    const struct esc_list_readers_call *c = &b->list_readers_call;
    add_context(o, "Context", &c->Context);
    add_msz(o, "mszGroups", &c->mszGroups);
    add_i32(o, "fmszReadersIsNULL", c->fmszReadersIsNULL);
    add_u32(o, "cchReaders", c->cchReaders);
}

static void r_get_status_change_call(cJSON *o, const union esc_body *b)
{
    const struct esc_get_status_change_call *c = &b->get_status_change_call;
    add_context(o, "Context", &c->Context);
    add_u32(o, "dwTimeOut", c->dwTimeOut);
    add_u32(o, "cReaders", c->cReaders);
    add_reader_states(o, c->rgReaderStates, c->cReaders);
}

static void r_connect_call(cJSON *o, const union esc_body *b)
{
    const struct esc_connect_call *c = &b->connect_call;
    add_str(o, "szReader", c->szReader);
    add_context(o, "Context", &c->Context);
    add_u32(o, "dwShareMode", c->dwShareMode);
    add_u32(o, "dwPreferredProtocols", c->dwPreferredProtocols);
}

static void r_reconnect_call(cJSON *o, const union esc_body *b)
{
    const struct esc_reconnect_call *c = &b->reconnect_call;
    add_handle(o, "hCard", &c->hCard);
    add_u32(o, "dwShareMode", c->dwShareMode);
    add_u32(o, "dwPreferredProtocols", c->dwPreferredProtocols);
    add_u32(o, "dwInitialization", c->dwInitialization);
}

static void r_hcard_and_disposition_call(cJSON *o, const union esc_body *b)
{
    add_handle(o, "hCard", &b->hcard_and_disposition_call.hCard);
    add_u32(o, "dwDisposition", b->hcard_and_disposition_call.dwDisposition);
}

static void r_state_call(cJSON *o, const union esc_body *b)
{
    add_handle(o, "hCard", &b->state_call.hCard);
    add_i32(o, "fpbAtrIsNULL", b->state_call.fpbAtrIsNULL);
    add_u32(o, "cbAtrLen", b->state_call.cbAtrLen);
}

static void r_status_call(cJSON *o, const union esc_body *b)
{
    const struct esc_status_call *c = &b->status_call;
    add_handle(o, "hCard", &c->hCard);
    add_i32(o, "fmszReaderNamesIsNULL", c->fmszReaderNamesIsNULL);
    add_u32(o, "cchReaderLen", c->cchReaderLen);
    add_u32(o, "cbAtrLen", c->cbAtrLen);
}

static void r_transmit_call(cJSON *o, const union esc_body *b)
{
    const struct esc_transmit_call *c = &b->transmit_call;
    add_handle(o, "hCard", &c->hCard);
    add_io_request(o, "ioSendPci", &c->ioSendPci);
    add_u32(o, "cbSendLength", c->cbSendLength);
    add_hex(o, "pbSendBuffer", c->pbSendBuffer, c->cbSendLength);
    add_io_request(o, "pioRecvPci", c->pioRecvPci);
    add_i32(o, "fpbRecvBufferIsNULL", c->fpbRecvBufferIsNULL);
    add_u32(o, "cbRecvLength", c->cbRecvLength);
}

static void r_control_call(cJSON *o, const union esc_body *b)
{
    const struct esc_control_call *c = &b->control_call;
    add_handle(o, "hCard", &c->hCard);
    add_u32(o, "dwControlCode", c->dwControlCode);
    add_u32(o, "cbInBufferSize", c->cbInBufferSize);
    add_hex(o, "pvInBuffer", c->pvInBuffer, c->cbInBufferSize);
    add_i32(o, "fpvOutBufferIsNULL", c->fpvOutBufferIsNULL);
    add_u32(o, "cbOutBufferSize", c->cbOutBufferSize);
}

static void r_get_attrib_call(cJSON *o, const union esc_body *b)
{
    const struct esc_get_attrib_call *c = &b->get_attrib_call;
    add_handle(o, "hCard", &c->hCard);
    add_u32(o, "dwAttrId", c->dwAttrId);
    add_i32(o, "fpbAttrIsNULL", c->fpbAttrIsNULL);
    add_u32(o, "cbAttrLen", c->cbAttrLen);
}

static void r_set_attrib_call(cJSON *o, const union esc_body *b)
{
    const struct esc_set_attrib_call *c = &b->set_attrib_call;
    add_handle(o, "hCard", &c->hCard);
    add_u32(o, "dwAttrId", c->dwAttrId);
    add_u32(o, "cbAttrLen", c->cbAttrLen);
    add_hex(o, "pbAttr", c->pbAttr, c->cbAttrLen);
}

static void r_long_call(cJSON *o, const union esc_body *b)
{
    add_i32(o, "Unused", b->long_call.Unused);
}

static void r_read_cache_call(cJSON *o, const union esc_body *b)
{
    const struct esc_read_cache_call *c = &b->read_cache_call;
    add_str(o, "szLookupName", c->szLookupName);
    add_context(o, "Context", &c->Context);
    add_uuid(o, "CardIdentifier", c->CardIdentifier);
    add_u32(o, "FreshnessCounter", c->FreshnessCounter);
    add_i32(o, "fPbDataIsNULL", c->fPbDataIsNULL);
    add_u32(o, "cbDataLen", c->cbDataLen);
}

static void r_write_cache_call(cJSON *o, const union esc_body *b)
{
    const struct esc_write_cache_call *c = &b->write_cache_call;
    add_str(o, "szLookupName", c->szLookupName);
    add_context(o, "Context", &c->Context);
    add_uuid(o, "CardIdentifier", c->CardIdentifier);
    add_u32(o, "FreshnessCounter", c->FreshnessCounter);
    add_u32(o, "cbDataLen", c->cbDataLen);
    add_hex(o, "pbData", c->pbData, c->cbDataLen);
}

static void r_get_transmit_count_call(cJSON *o, const union esc_body *b)
{
    add_handle(o, "hCard", &b->get_transmit_count_call.hCard);
}

static void r_locate_cards_by_atr_call(cJSON *o, const union esc_body *b)
{
    const struct esc_locate_cards_by_atr_call *c = &b->locate_cards_by_atr_call;
    add_context(o, "Context", &c->Context);
    add_u32(o, "cAtrs", c->cAtrs);
    cJSON *a = cJSON_AddArrayToObject(o, "rgAtrMasks");
    for (uint32_t i = 0; a && c->rgAtrMasks && i < c->cAtrs; i++) {
        cJSON *x = cJSON_CreateObject();
        uint32_t n = c->rgAtrMasks[i].cbAtr <= ESC_ATR_BYTES ? c->rgAtrMasks[i].cbAtr : 0;
        add_u32(x, "cbAtr", c->rgAtrMasks[i].cbAtr);
        add_hex(x, "rgbAtr", c->rgAtrMasks[i].rgbAtr, n);
        add_hex(x, "rgbMask", c->rgAtrMasks[i].rgbMask, n);
        cJSON_AddItemToArray(a, x);
    }
    add_u32(o, "cReaders", c->cReaders);
    add_reader_states(o, c->rgReaderStates, c->cReaders);
}

static void r_context_and_string_call(cJSON *o, const union esc_body *b)
{
    add_context(o, "Context", &b->context_and_string_call.Context);
    add_str(o, "szReaderName", b->context_and_string_call.szReaderName);
}

static void r_long_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->long_return.ReturnCode);
}

static void r_establish_context_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->establish_context_return.ReturnCode);
    add_context(o, "Context", &b->establish_context_return.Context);
}

static void r_list_readers_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->list_readers_return.ReturnCode);
    long n = esc_msz_wire_size(&b->list_readers_return.msz);
    add_u32(o, "cBytes", n > 0 ? (uint32_t)n : 0);
    add_msz(o, "msz", &b->list_readers_return.msz);
}

static void r_get_status_change_return(cJSON *o, const union esc_body *b)
{
    const struct esc_get_status_change_return *x = &b->get_status_change_return;
    add_code(o, "ReturnCode", x->ReturnCode);
    add_u32(o, "cReaders", x->cReaders);
    cJSON *a = cJSON_AddArrayToObject(o, "rgReaderStates");
    for (uint32_t i = 0; a && x->rgReaderStates && i < x->cReaders; i++) {
        cJSON *s = cJSON_CreateObject();
        fill_common(s, &x->rgReaderStates[i]);
        cJSON_AddItemToArray(a, s);
    }
}

static void r_connect_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->connect_return.ReturnCode);
    add_handle(o, "hCard", &b->connect_return.hCard);
    add_u32(o, "dwActiveProtocol", b->connect_return.dwActiveProtocol);
}

static void r_reconnect_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->reconnect_return.ReturnCode);
    add_u32(o, "dwActiveProtocol", b->reconnect_return.dwActiveProtocol);
}

static void r_state_return(cJSON *o, const union esc_body *b)
{
    const struct esc_state_return *x = &b->state_return;
    add_code(o, "ReturnCode", x->ReturnCode);
    add_u32(o, "dwState", x->dwState);
    add_u32(o, "dwProtocol", x->dwProtocol);
    add_u32(o, "cbAtrLen", x->cbAtrLen);
    add_hex(o, "rgAtr", x->rgAtr, x->cbAtrLen);
}

static void r_status_return(cJSON *o, const union esc_body *b)
{
    const struct esc_status_return *x = &b->status_return;
    add_code(o, "ReturnCode", x->ReturnCode);
    add_msz(o, "mszReaderNames", &x->mszReaderNames);
    add_u32(o, "dwState", x->dwState);
    add_u32(o, "dwProtocol", x->dwProtocol);
    add_u32(o, "cbAtrLen", x->cbAtrLen);
    add_hex(o, "pbAtr", x->pbAtr,
            x->cbAtrLen <= ESC_STATUS_ATR_BYTES ? x->cbAtrLen : ESC_STATUS_ATR_BYTES);
}

static void r_transmit_return(cJSON *o, const union esc_body *b)
{
    const struct esc_transmit_return *x = &b->transmit_return;
    add_code(o, "ReturnCode", x->ReturnCode);
    add_io_request(o, "pioRecvPci", x->pioRecvPci);
    add_u32(o, "cbRecvLength", x->cbRecvLength);
    add_hex(o, "pbRecvBuffer", x->pbRecvBuffer, x->cbRecvLength);
}

static void r_control_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->control_return.ReturnCode);
    add_u32(o, "cbOutBufferSize", b->control_return.cbOutBufferSize);
    add_hex(o, "pvOutBuffer", b->control_return.pvOutBuffer, b->control_return.cbOutBufferSize);
}

static void r_get_attrib_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->get_attrib_return.ReturnCode);
    add_u32(o, "cbAttrLen", b->get_attrib_return.cbAttrLen);
    add_hex(o, "pbAttr", b->get_attrib_return.pbAttr, b->get_attrib_return.cbAttrLen);
}

static void r_read_cache_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->read_cache_return.ReturnCode);
    add_u32(o, "cbDataLen", b->read_cache_return.cbDataLen);
    add_hex(o, "pbData", b->read_cache_return.pbData, b->read_cache_return.cbDataLen);
}

static void r_get_transmit_count_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->get_transmit_count_return.ReturnCode);
    add_u32(o, "cTransmitCount", b->get_transmit_count_return.cTransmitCount);
}

static void r_get_reader_icon_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->get_reader_icon_return.ReturnCode);
    add_u32(o, "cbDataLen", b->get_reader_icon_return.cbDataLen);
    add_hex(o, "pbData", b->get_reader_icon_return.pbData, b->get_reader_icon_return.cbDataLen);
}

static void r_get_device_type_id_return(cJSON *o, const union esc_body *b)
{
    add_code(o, "ReturnCode", b->get_device_type_id_return.ReturnCode);
    add_u32(o, "dwDeviceId", b->get_device_type_id_return.dwDeviceId);
}

static const render_fn renderers[ESC_T_COUNT] = {
    [ESC_T_ESTABLISH_CONTEXT_CALL] = r_establish_context_call,
    [ESC_T_CONTEXT_CALL] = r_context_call,
    [ESC_T_LIST_READERS_CALL] = r_list_readers_call,
    [ESC_T_GET_STATUS_CHANGE_CALL] = r_get_status_change_call,
    [ESC_T_CONNECT_CALL] = r_connect_call,
    [ESC_T_RECONNECT_CALL] = r_reconnect_call,
    [ESC_T_HCARD_AND_DISPOSITION_CALL] = r_hcard_and_disposition_call,
    [ESC_T_STATE_CALL] = r_state_call,
    [ESC_T_STATUS_CALL] = r_status_call,
    [ESC_T_TRANSMIT_CALL] = r_transmit_call,
    [ESC_T_CONTROL_CALL] = r_control_call,
    [ESC_T_GET_ATTRIB_CALL] = r_get_attrib_call,
    [ESC_T_SET_ATTRIB_CALL] = r_set_attrib_call,
    [ESC_T_LONG_CALL] = r_long_call,
    [ESC_T_READ_CACHE_CALL] = r_read_cache_call,
    [ESC_T_WRITE_CACHE_CALL] = r_write_cache_call,
    [ESC_T_GET_TRANSMIT_COUNT_CALL] = r_get_transmit_count_call,
    [ESC_T_LOCATE_CARDS_BY_ATR_CALL] = r_locate_cards_by_atr_call,
    [ESC_T_CONTEXT_AND_STRING_CALL] = r_context_and_string_call,
    [ESC_T_LONG_RETURN] = r_long_return,
    [ESC_T_ESTABLISH_CONTEXT_RETURN] = r_establish_context_return,
    [ESC_T_LIST_READERS_RETURN] = r_list_readers_return,
    [ESC_T_GET_STATUS_CHANGE_RETURN] = r_get_status_change_return,
    [ESC_T_CONNECT_RETURN] = r_connect_return,
    [ESC_T_RECONNECT_RETURN] = r_reconnect_return,
    [ESC_T_STATE_RETURN] = r_state_return,
    [ESC_T_STATUS_RETURN] = r_status_return,
    [ESC_T_TRANSMIT_RETURN] = r_transmit_return,
    [ESC_T_CONTROL_RETURN] = r_control_return,
    [ESC_T_GET_ATTRIB_RETURN] = r_get_attrib_return,
    [ESC_T_READ_CACHE_RETURN] = r_read_cache_return,
    [ESC_T_GET_TRANSMIT_COUNT_RETURN] = r_get_transmit_count_return,
    [ESC_T_GET_READER_ICON_RETURN] = r_get_reader_icon_return,
    [ESC_T_GET_DEVICE_TYPE_ID_RETURN] = r_get_device_type_id_return,
};

struct cJSON *esc_trace_object(const struct esc_msg *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char code[16];
    snprintf(code, sizeof code, "0x%08X", m->ioctl);
    cJSON_AddStringToObject(o, "ioctl", esc_ioctl_name(m->ioctl));
    cJSON_AddStringToObject(o, "code", code);
    bool ret = m->type >= ESC_T_LONG_RETURN && m->type < ESC_T_COUNT;
    cJSON_AddStringToObject(o, "dir", ret ? "return" : "call");
    cJSON_AddStringToObject(o, "type", esc_type_name(m->type));
    if (m->body_absent) cJSON_AddBoolToObject(o, "body_absent", true);
    if ((unsigned)m->type < ESC_T_COUNT && renderers[m->type]) renderers[m->type](o, &m->u);
    return o;
}

char *esc_trace_json(const struct esc_msg *m)
{
    cJSON *o = esc_trace_object(m);
    if (!o) return NULL;
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}
