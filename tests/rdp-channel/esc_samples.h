/*
 * esc_samples.h - one filled-in call and return per IOCTL for the codec tests
 * and the fuzz seed generator.  Every heap field is malloc'd, so esc_msg_free
 * releases a sample.  Not a fixture of real traffic.
 */
#ifndef SCL_ESC_SAMPLES_H
#define SCL_ESC_SAMPLES_H

#include "rdpesc.h"

#include <stdlib.h>
#include <string.h>

static inline uint8_t *esc_sample_bytes(size_t n, uint8_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 7 * i);
    return p;
}

static inline struct esc_context esc_sample_context(void)
{
    struct esc_context c = {.cbContext = 8, .pbContext = {1, 2, 3, 4, 5, 6, 7, 8}};
    return c;
}

static inline struct esc_handle esc_sample_handle(void)
{
    struct esc_handle h = {.Context = esc_sample_context(),
                           .cbHandle = 8,
                           .pbHandle = {0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7}};
    return h;
}

static inline struct esc_msz esc_sample_msz(void)
{
    struct esc_msz m = {.count = 2, .names = malloc(2 * sizeof(char *))};
    m.names[0] = strdup("Virtual PCD 00 00");
    m.names[1] = strdup("Lecteur \xc3\xa9\xf0\x9f\x94\x91"); /* é and U+1F511 */
    return m;
}

static inline struct esc_reader_state *esc_sample_states(uint32_t n)
{
    struct esc_reader_state *v = calloc(n, sizeof *v);
    for (uint32_t i = 0; i < n; i++) {
        v[i].szReader = i == 1 ? NULL : strdup(i ? "\\\\?PnP?\\Notification" : "Virtual PCD 00 00");
        v[i].Common.dwCurrentState = 0x10 + i;
        v[i].Common.dwEventState = 0x22 + i;
        v[i].Common.cbAtr = 11;
        memcpy(v[i].Common.rgbAtr, "\x3b\x8a\x80\x01\x80\x31\x80\x65\xb0\x85\x03", 11);
    }
    return v;
}

static inline struct esc_io_request *esc_sample_pci(void)
{
    struct esc_io_request *io = calloc(1, sizeof *io);
    io->dwProtocol = 2;
    io->cbExtraBytes = 3;
    io->pbExtraBytes = esc_sample_bytes(3, 0x50);
    return io;
}

/* A call for table entry io (every optional part present where it can be). */
static inline void esc_sample_call(const struct esc_ioctl *io, struct esc_msg *m)
{
    memset(m, 0, sizeof *m);
    m->ioctl = io->code;
    m->type = io->call_type;
    union esc_body *b = &m->u;
    switch (io->call_type) {
    case ESC_T_ESTABLISH_CONTEXT_CALL:
        b->establish_context_call.dwScope = 2;
        break;
    case ESC_T_CONTEXT_CALL:
        b->context_call.Context = esc_sample_context();
        break;
    case ESC_T_LIST_READERS_CALL:
        b->list_readers_call.Context = esc_sample_context();
        b->list_readers_call.mszGroups = esc_sample_msz();
        b->list_readers_call.fmszReadersIsNULL = 0;
        b->list_readers_call.cchReaders = 0xFFFFFFFF;
        break;
    case ESC_T_GET_STATUS_CHANGE_CALL:
        b->get_status_change_call.Context = esc_sample_context();
        b->get_status_change_call.dwTimeOut = 60000;
        b->get_status_change_call.cReaders = 3;
        b->get_status_change_call.rgReaderStates = esc_sample_states(3);
        break;
    case ESC_T_CONNECT_CALL:
        b->connect_call.Context = esc_sample_context();
        b->connect_call.szReader = strdup("Virtual PCD 00 00");
        b->connect_call.dwShareMode = 2;
        b->connect_call.dwPreferredProtocols = 3;
        break;
    case ESC_T_RECONNECT_CALL:
        b->reconnect_call.hCard = esc_sample_handle();
        b->reconnect_call.dwShareMode = 2;
        b->reconnect_call.dwPreferredProtocols = 1;
        b->reconnect_call.dwInitialization = 1;
        break;
    case ESC_T_HCARD_AND_DISPOSITION_CALL:
        b->hcard_and_disposition_call.hCard = esc_sample_handle();
        b->hcard_and_disposition_call.dwDisposition = 1;
        break;
    case ESC_T_STATE_CALL:
        b->state_call.hCard = esc_sample_handle();
        b->state_call.cbAtrLen = 36;
        break;
    case ESC_T_STATUS_CALL:
        b->status_call.hCard = esc_sample_handle();
        b->status_call.cchReaderLen = 0xFFFFFFFF;
        b->status_call.cbAtrLen = 32;
        break;
    case ESC_T_TRANSMIT_CALL: {
        struct esc_transmit_call *c = &b->transmit_call;
        c->hCard = esc_sample_handle();
        c->ioSendPci.dwProtocol = 2;
        c->ioSendPci.cbExtraBytes = 2;
        c->ioSendPci.pbExtraBytes = esc_sample_bytes(2, 0x40);
        c->cbSendLength = 5;
        c->pbSendBuffer = esc_sample_bytes(5, 0);
        c->pioRecvPci = esc_sample_pci();
        c->cbRecvLength = 258;
        break;
    }
    case ESC_T_CONTROL_CALL:
        b->control_call.hCard = esc_sample_handle();
        b->control_call.dwControlCode = 0x00313520;
        b->control_call.cbInBufferSize = 6;
        b->control_call.pvInBuffer = esc_sample_bytes(6, 9);
        b->control_call.cbOutBufferSize = 1024;
        break;
    case ESC_T_GET_ATTRIB_CALL:
        b->get_attrib_call.hCard = esc_sample_handle();
        b->get_attrib_call.dwAttrId = 0x00090303;
        b->get_attrib_call.cbAttrLen = 0xFFFFFFFF;
        break;
    case ESC_T_SET_ATTRIB_CALL:
        b->set_attrib_call.hCard = esc_sample_handle();
        b->set_attrib_call.dwAttrId = 0x7FFF0003;
        b->set_attrib_call.cbAttrLen = 7;
        b->set_attrib_call.pbAttr = esc_sample_bytes(7, 3);
        break;
    case ESC_T_LONG_CALL:
        b->long_call.Unused = 0;
        break;
    case ESC_T_READ_CACHE_CALL:
        b->read_cache_call.szLookupName = strdup("Cached_CardProperty_Read Only Mode_0");
        b->read_cache_call.Context = esc_sample_context();
        b->read_cache_call.CardIdentifier = calloc(1, sizeof(struct esc_uuid));
        memset(b->read_cache_call.CardIdentifier->b, 0x5A, 16);
        b->read_cache_call.FreshnessCounter = 3;
        b->read_cache_call.cbDataLen = 0xFFFFFFFF;
        break;
    case ESC_T_WRITE_CACHE_CALL:
        b->write_cache_call.szLookupName = strdup("Cached_GeneralFile/mscp/cmapfile");
        b->write_cache_call.Context = esc_sample_context();
        b->write_cache_call.CardIdentifier = calloc(1, sizeof(struct esc_uuid));
        memset(b->write_cache_call.CardIdentifier->b, 0x33, 16);
        b->write_cache_call.FreshnessCounter = 4;
        b->write_cache_call.cbDataLen = 9;
        b->write_cache_call.pbData = esc_sample_bytes(9, 0x90);
        break;
    case ESC_T_GET_TRANSMIT_COUNT_CALL:
        b->get_transmit_count_call.hCard = esc_sample_handle();
        break;
    case ESC_T_LOCATE_CARDS_BY_ATR_CALL: {
        struct esc_locate_cards_by_atr_call *c = &b->locate_cards_by_atr_call;
        c->Context = esc_sample_context();
        c->cAtrs = 2;
        c->rgAtrMasks = calloc(2, sizeof *c->rgAtrMasks);
        for (int i = 0; i < 2; i++) {
            c->rgAtrMasks[i].cbAtr = 4;
            memset(c->rgAtrMasks[i].rgbAtr, 0x3B + i, 4);
            memset(c->rgAtrMasks[i].rgbMask, 0xFF, 4);
        }
        c->cReaders = 2;
        c->rgReaderStates = esc_sample_states(2);
        break;
    }
    case ESC_T_CONTEXT_AND_STRING_CALL:
        b->context_and_string_call.Context = esc_sample_context();
        b->context_and_string_call.szReaderName = strdup("Virtual PCD 00 01");
        break;
    default:
        break;
    }
}

/* A successful return for table entry io, every buffer non-empty. */
static inline void esc_sample_return(const struct esc_ioctl *io, struct esc_msg *m)
{
    memset(m, 0, sizeof *m);
    m->ioctl = io->code;
    m->type = io->return_type;
    union esc_body *b = &m->u;
    switch (io->return_type) {
    case ESC_T_ESTABLISH_CONTEXT_RETURN:
        b->establish_context_return.Context = esc_sample_context();
        break;
    case ESC_T_LIST_READERS_RETURN:
        b->list_readers_return.msz = esc_sample_msz();
        break;
    case ESC_T_GET_STATUS_CHANGE_RETURN:
        b->get_status_change_return.cReaders = 2;
        b->get_status_change_return.rgReaderStates =
            calloc(2, sizeof(struct esc_reader_state_common));
        for (int i = 0; i < 2; i++) {
            b->get_status_change_return.rgReaderStates[i].dwCurrentState = 0x10;
            b->get_status_change_return.rgReaderStates[i].dwEventState = 0x00010022 + i;
            b->get_status_change_return.rgReaderStates[i].cbAtr = 2;
            b->get_status_change_return.rgReaderStates[i].rgbAtr[0] = 0x3B;
            b->get_status_change_return.rgReaderStates[i].rgbAtr[1] = (uint8_t)i;
        }
        break;
    case ESC_T_CONNECT_RETURN:
        b->connect_return.hCard = esc_sample_handle();
        b->connect_return.dwActiveProtocol = 2;
        break;
    case ESC_T_RECONNECT_RETURN:
        b->reconnect_return.dwActiveProtocol = 1;
        break;
    case ESC_T_STATE_RETURN:
        b->state_return.dwState = 6;
        b->state_return.dwProtocol = 2;
        b->state_return.cbAtrLen = 11;
        b->state_return.rgAtr = esc_sample_bytes(11, 0x3B);
        break;
    case ESC_T_STATUS_RETURN:
        b->status_return.mszReaderNames = esc_sample_msz();
        b->status_return.dwState = 6;
        b->status_return.dwProtocol = 2;
        b->status_return.cbAtrLen = 11;
        memset(b->status_return.pbAtr, 0x3B, 11);
        break;
    case ESC_T_TRANSMIT_RETURN:
        b->transmit_return.pioRecvPci = esc_sample_pci();
        b->transmit_return.cbRecvLength = 2;
        b->transmit_return.pbRecvBuffer = esc_sample_bytes(2, 0x90);
        break;
    case ESC_T_CONTROL_RETURN:
        b->control_return.cbOutBufferSize = 5;
        b->control_return.pvOutBuffer = esc_sample_bytes(5, 1);
        break;
    case ESC_T_GET_ATTRIB_RETURN:
        b->get_attrib_return.cbAttrLen = 4;
        b->get_attrib_return.pbAttr = esc_sample_bytes(4, 0x20);
        break;
    case ESC_T_READ_CACHE_RETURN:
        b->read_cache_return.cbDataLen = 13;
        b->read_cache_return.pbData = esc_sample_bytes(13, 0x70);
        break;
    case ESC_T_GET_TRANSMIT_COUNT_RETURN:
        b->get_transmit_count_return.cTransmitCount = 42;
        break;
    case ESC_T_GET_READER_ICON_RETURN:
        b->get_reader_icon_return.cbDataLen = 3;
        b->get_reader_icon_return.pbData = esc_sample_bytes(3, 0x89);
        break;
    case ESC_T_GET_DEVICE_TYPE_ID_RETURN:
        b->get_device_type_id_return.dwDeviceId = 0x00000014;
        break;
    default:
        break; /* Long_Return: ReturnCode 0 */
    }
}

#endif
