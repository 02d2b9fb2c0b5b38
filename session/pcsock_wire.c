/*
 * pcsock_wire.c - the codec of pcsc-lite 1.9.9's client/daemon messages and
 * the table of commands the stock client sends.  Not the server: no sockets,
 * no state; pcsock.c decides what each message means.
 */
#include "pcsock_wire.h"

#include <stdio.h>
#include <string.h>

/* The wire is the host's byte order; we read and write it little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pcsock: little-endian hosts only");

static int32_t cur_i32(struct cur *c)
{
    return (int32_t)cur_u32le(c);
}
static void wcur_i32(struct wcur *w, int32_t v)
{
    wcur_u32le(w, (uint32_t)v);
}

static void dec_version(struct cur *c, union pcsock_body *b)
{
    b->version.major = cur_i32(c);
    b->version.minor = cur_i32(c);
    b->version.rv = cur_u32le(c);
}
static void enc_version(struct wcur *w, const union pcsock_body *b)
{
    wcur_i32(w, b->version.major);
    wcur_i32(w, b->version.minor);
    wcur_u32le(w, b->version.rv);
}

static void dec_establish(struct cur *c, union pcsock_body *b)
{
    b->establish.dwScope = cur_u32le(c);
    b->establish.hContext = cur_u32le(c);
    b->establish.rv = cur_u32le(c);
}
static void enc_establish(struct wcur *w, const union pcsock_body *b)
{
    wcur_u32le(w, b->establish.dwScope);
    wcur_u32le(w, b->establish.hContext);
    wcur_u32le(w, b->establish.rv);
}

static void dec_release(struct cur *c, union pcsock_body *b)
{
    b->release.hContext = cur_u32le(c);
    b->release.rv = cur_u32le(c);
}
static void enc_release(struct wcur *w, const union pcsock_body *b)
{
    wcur_u32le(w, b->release.hContext);
    wcur_u32le(w, b->release.rv);
}

static void dec_connect(struct cur *c, union pcsock_body *b)
{
    struct pcsock_connect *m = &b->connect;
    m->hContext = cur_u32le(c);
    cur_copy(c, m->szReader, sizeof m->szReader);
    m->dwShareMode = cur_u32le(c);
    m->dwPreferredProtocols = cur_u32le(c);
    m->hCard = cur_i32(c);
    m->dwActiveProtocol = cur_u32le(c);
    m->rv = cur_u32le(c);
}
static void enc_connect(struct wcur *w, const union pcsock_body *b)
{
    const struct pcsock_connect *m = &b->connect;
    wcur_u32le(w, m->hContext);
    wcur_bytes(w, m->szReader, sizeof m->szReader);
    wcur_u32le(w, m->dwShareMode);
    wcur_u32le(w, m->dwPreferredProtocols);
    wcur_i32(w, m->hCard);
    wcur_u32le(w, m->dwActiveProtocol);
    wcur_u32le(w, m->rv);
}

static void dec_reconnect(struct cur *c, union pcsock_body *b)
{
    struct pcsock_reconnect *m = &b->reconnect;
    m->hCard = cur_i32(c);
    m->dwShareMode = cur_u32le(c);
    m->dwPreferredProtocols = cur_u32le(c);
    m->dwInitialization = cur_u32le(c);
    m->dwActiveProtocol = cur_u32le(c);
    m->rv = cur_u32le(c);
}
static void enc_reconnect(struct wcur *w, const union pcsock_body *b)
{
    const struct pcsock_reconnect *m = &b->reconnect;
    wcur_i32(w, m->hCard);
    wcur_u32le(w, m->dwShareMode);
    wcur_u32le(w, m->dwPreferredProtocols);
    wcur_u32le(w, m->dwInitialization);
    wcur_u32le(w, m->dwActiveProtocol);
    wcur_u32le(w, m->rv);
}

/* disconnect_struct and end_struct have the same shape: {hCard, dwDisposition, rv}. */
static void dec_disconnect(struct cur *c, union pcsock_body *b)
{
    b->disconnect.hCard = cur_i32(c);
    b->disconnect.dwDisposition = cur_u32le(c);
    b->disconnect.rv = cur_u32le(c);
}
static void enc_disconnect(struct wcur *w, const union pcsock_body *b)
{
    wcur_i32(w, b->disconnect.hCard);
    wcur_u32le(w, b->disconnect.dwDisposition);
    wcur_u32le(w, b->disconnect.rv);
}
static void dec_end(struct cur *c, union pcsock_body *b)
{
    b->end.hCard = cur_i32(c);
    b->end.dwDisposition = cur_u32le(c);
    b->end.rv = cur_u32le(c);
}
static void enc_end(struct wcur *w, const union pcsock_body *b)
{
    wcur_i32(w, b->end.hCard);
    wcur_u32le(w, b->end.dwDisposition);
    wcur_u32le(w, b->end.rv);
}

/* begin_struct, status_struct and cancel_struct: {int32 handle, rv}. */
static void dec_begin(struct cur *c, union pcsock_body *b)
{
    b->begin.hCard = cur_i32(c);
    b->begin.rv = cur_u32le(c);
}
static void enc_begin(struct wcur *w, const union pcsock_body *b)
{
    wcur_i32(w, b->begin.hCard);
    wcur_u32le(w, b->begin.rv);
}
static void dec_status(struct cur *c, union pcsock_body *b)
{
    b->status.hCard = cur_i32(c);
    b->status.rv = cur_u32le(c);
}
static void enc_status(struct wcur *w, const union pcsock_body *b)
{
    wcur_i32(w, b->status.hCard);
    wcur_u32le(w, b->status.rv);
}
static void dec_cancel(struct cur *c, union pcsock_body *b)
{
    b->cancel.hContext = cur_i32(c);
    b->cancel.rv = cur_u32le(c);
}
static void enc_cancel(struct wcur *w, const union pcsock_body *b)
{
    wcur_i32(w, b->cancel.hContext);
    wcur_u32le(w, b->cancel.rv);
}

static void dec_transmit(struct cur *c, union pcsock_body *b)
{
    struct pcsock_transmit *m = &b->transmit;
    m->hCard = cur_i32(c);
    m->ioSendPciProtocol = cur_u32le(c);
    m->ioSendPciLength = cur_u32le(c);
    m->cbSendLength = cur_u32le(c);
    m->ioRecvPciProtocol = cur_u32le(c);
    m->ioRecvPciLength = cur_u32le(c);
    m->pcbRecvLength = cur_u32le(c);
    m->rv = cur_u32le(c);
}
static void enc_transmit(struct wcur *w, const union pcsock_body *b)
{
    const struct pcsock_transmit *m = &b->transmit;
    wcur_i32(w, m->hCard);
    wcur_u32le(w, m->ioSendPciProtocol);
    wcur_u32le(w, m->ioSendPciLength);
    wcur_u32le(w, m->cbSendLength);
    wcur_u32le(w, m->ioRecvPciProtocol);
    wcur_u32le(w, m->ioRecvPciLength);
    wcur_u32le(w, m->pcbRecvLength);
    wcur_u32le(w, m->rv);
}

static void dec_control(struct cur *c, union pcsock_body *b)
{
    struct pcsock_control *m = &b->control;
    m->hCard = cur_i32(c);
    m->dwControlCode = cur_u32le(c);
    m->cbSendLength = cur_u32le(c);
    m->cbRecvLength = cur_u32le(c);
    m->dwBytesReturned = cur_u32le(c);
    m->rv = cur_u32le(c);
}
static void enc_control(struct wcur *w, const union pcsock_body *b)
{
    const struct pcsock_control *m = &b->control;
    wcur_i32(w, m->hCard);
    wcur_u32le(w, m->dwControlCode);
    wcur_u32le(w, m->cbSendLength);
    wcur_u32le(w, m->cbRecvLength);
    wcur_u32le(w, m->dwBytesReturned);
    wcur_u32le(w, m->rv);
}

static void dec_getset(struct cur *c, union pcsock_body *b)
{
    struct pcsock_getset *m = &b->getset;
    m->hCard = cur_i32(c);
    m->dwAttrId = cur_u32le(c);
    cur_copy(c, m->pbAttr, sizeof m->pbAttr);
    m->cbAttrLen = cur_u32le(c);
    m->rv = cur_u32le(c);
}
static void enc_getset(struct wcur *w, const union pcsock_body *b)
{
    const struct pcsock_getset *m = &b->getset;
    wcur_i32(w, m->hCard);
    wcur_u32le(w, m->dwAttrId);
    wcur_bytes(w, m->pbAttr, sizeof m->pbAttr);
    wcur_u32le(w, m->cbAttrLen);
    wcur_u32le(w, m->rv);
}

/* Sizes are those of pcsc-lite's structs on the wire (natural alignment,
 * no padding inside any of them). */
static const struct pcsock_wire_cmd wire_cmds[] = {
    {PCSOCK_SCARD_ESTABLISH_CONTEXT, "SCARD_ESTABLISH_CONTEXT", 12, dec_establish, enc_establish},
    {PCSOCK_SCARD_RELEASE_CONTEXT, "SCARD_RELEASE_CONTEXT", 8, dec_release, enc_release},
    {PCSOCK_SCARD_CONNECT, "SCARD_CONNECT", 4 + PCSOCK_READER_NAME_MAX + 20, dec_connect,
     enc_connect},
    {PCSOCK_SCARD_RECONNECT, "SCARD_RECONNECT", 24, dec_reconnect, enc_reconnect},
    {PCSOCK_SCARD_DISCONNECT, "SCARD_DISCONNECT", 12, dec_disconnect, enc_disconnect},
    {PCSOCK_SCARD_BEGIN_TRANSACTION, "SCARD_BEGIN_TRANSACTION", 8, dec_begin, enc_begin},
    {PCSOCK_SCARD_END_TRANSACTION, "SCARD_END_TRANSACTION", 12, dec_end, enc_end},
    {PCSOCK_SCARD_TRANSMIT, "SCARD_TRANSMIT", 32, dec_transmit, enc_transmit},
    {PCSOCK_SCARD_CONTROL, "SCARD_CONTROL", 24, dec_control, enc_control},
    {PCSOCK_SCARD_STATUS, "SCARD_STATUS", 8, dec_status, enc_status},
    {PCSOCK_SCARD_CANCEL, "SCARD_CANCEL", 8, dec_cancel, enc_cancel},
    {PCSOCK_SCARD_GET_ATTRIB, "SCARD_GET_ATTRIB", 8 + PCSOCK_MAX_BUFFER + 8, dec_getset,
     enc_getset},
    {PCSOCK_SCARD_SET_ATTRIB, "SCARD_SET_ATTRIB", 8 + PCSOCK_MAX_BUFFER + 8, dec_getset,
     enc_getset},
    {PCSOCK_CMD_VERSION, "CMD_VERSION", 12, dec_version, enc_version},
    {PCSOCK_CMD_GET_READERS_STATE, "CMD_GET_READERS_STATE", 0, NULL, NULL},
    {PCSOCK_CMD_WAIT_READER_STATE_CHANGE, "CMD_WAIT_READER_STATE_CHANGE", 0, NULL, NULL},
    {PCSOCK_CMD_STOP_WAITING_READER_STATE_CHANGE, "CMD_STOP_WAITING_READER_STATE_CHANGE", 0, NULL,
     NULL},
};

const struct pcsock_wire_cmd *pcsock_wire_find(uint32_t command)
{
    for (size_t i = 0; i < sizeof wire_cmds / sizeof wire_cmds[0]; i++)
        if (wire_cmds[i].command == command) return &wire_cmds[i];
    return NULL;
}

const char *pcsock_wire_name(uint32_t command, char *buf, size_t cap)
{
    const struct pcsock_wire_cmd *cmd = pcsock_wire_find(command);
    if (cmd) return cmd->name;
    snprintf(buf, cap, "unknown command 0x%x", command);
    return buf;
}

int pcsock_wire_decode_header(struct cur *c, struct pcsock_header *h,
                              const struct pcsock_wire_cmd **cmd, struct scl_err *e)
{
    size_t at = cur_off(c);
    h->size = cur_u32le(c);
    h->command = cur_u32le(c);
    if (!cur_ok(c))
        return scl_errf(e, SCL_E_TRUNCATED, "rxHeader at byte %zu: %zu of 8 bytes", at,
                        cur_left(c) + (cur_off(c) - at));
    *cmd = pcsock_wire_find(h->command);
    char nb[40];
    if (!*cmd)
        return scl_errf(e, SCL_E_FORMAT, "rxHeader at byte %zu: command: %s", at,
                        pcsock_wire_name(h->command, nb, sizeof nb));
    if (h->size != (*cmd)->size)
        return scl_errf(e, SCL_E_FORMAT, "rxHeader at byte %zu: size: %s needs %zu bytes, got %u",
                        at, (*cmd)->name, (*cmd)->size, h->size);
    return SCL_OK;
}

int pcsock_wire_decode_body(struct cur *c, const struct pcsock_wire_cmd *cmd, union pcsock_body *b,
                            struct scl_err *e)
{
    memset(b, 0, sizeof *b);
    if (!cmd->decode) return SCL_OK;
    size_t at = cur_off(c);
    struct cur body;
    if (!cur_sub(c, cmd->size, &body))
        return scl_errf(e, SCL_E_TRUNCATED, "%s at byte %zu: body needs %zu bytes, %zu left",
                        cmd->name, at, cmd->size, cur_left(c));
    cmd->decode(&body, b);
    /* The table's size and the decoder must agree; a mismatch is our bug. */
    if (!cur_ok(&body) || cur_left(&body))
        return scl_errf(e, SCL_E_FORMAT, "%s at byte %zu: decoder read %zu of %zu bytes", cmd->name,
                        at, cur_off(&body), cmd->size);
    if (cmd->command == PCSOCK_SCARD_CONNECT)
        b->connect.szReader[sizeof b->connect.szReader - 1] = 0;
    return SCL_OK;
}

int pcsock_wire_extra_len(const struct pcsock_wire_cmd *cmd, const union pcsock_body *b,
                          uint32_t *len, struct scl_err *e)
{
    *len = 0;
    if (cmd->command == PCSOCK_SCARD_TRANSMIT)
        *len = b->transmit.cbSendLength;
    else if (cmd->command == PCSOCK_SCARD_CONTROL)
        *len = b->control.cbSendLength;
    if (*len > PCSOCK_MAX_BUFFER_EXTENDED)
        return scl_errf(e, SCL_E_FORMAT, "%s: cbSendLength %u is over the %u-byte limit", cmd->name,
                        *len, (unsigned)PCSOCK_MAX_BUFFER_EXTENDED);
    if ((cmd->command == PCSOCK_SCARD_GET_ATTRIB || cmd->command == PCSOCK_SCARD_SET_ATTRIB) &&
        b->getset.cbAttrLen > PCSOCK_MAX_BUFFER)
        return scl_errf(e, SCL_E_FORMAT, "%s: cbAttrLen %u is over the %u-byte pbAttr", cmd->name,
                        b->getset.cbAttrLen, (unsigned)PCSOCK_MAX_BUFFER);
    return SCL_OK;
}

void pcsock_wire_encode_body(struct wcur *w, const struct pcsock_wire_cmd *cmd,
                             const union pcsock_body *b)
{
    if (cmd->encode) cmd->encode(w, b);
}

void pcsock_wire_encode_header(struct wcur *w, uint32_t command, uint32_t size)
{
    wcur_u32le(w, size);
    wcur_u32le(w, command);
}

int pcsock_wire_next_request(struct cur *c, struct pcsock_request *r, struct scl_err *e)
{
    struct pcsock_header h;
    memset(r, 0, sizeof *r);
    int rc = pcsock_wire_decode_header(c, &h, &r->cmd, e);
    if (!rc) rc = pcsock_wire_decode_body(c, r->cmd, &r->body, e);
    if (!rc) rc = pcsock_wire_extra_len(r->cmd, &r->body, &r->extra_len, e);
    if (rc) return rc;
    size_t at = cur_off(c);
    r->extra = r->extra_len ? cur_bytes(c, r->extra_len) : NULL;
    if (r->extra_len && !r->extra)
        return scl_errf(e, SCL_E_TRUNCATED, "%s at byte %zu: %u bytes of send buffer, %zu left",
                        r->cmd->name, at, r->extra_len, cur_left(c));
    return SCL_OK;
}

void pcsock_wire_encode_wait(struct wcur *w, const struct pcsock_wait *m)
{
    wcur_u32le(w, m->timeOut);
    wcur_u32le(w, m->rv);
}

void pcsock_wire_encode_reader_state(struct wcur *w, const struct pcsock_reader_state *s)
{
    size_t start = wcur_len(w);
    wcur_bytes(w, s->readerName, sizeof s->readerName);
    wcur_u32le(w, s->eventCounter);
    wcur_u32le(w, s->readerState);
    wcur_i32(w, s->readerSharing);
    wcur_bytes(w, s->cardAtr, sizeof s->cardAtr);
    wcur_zeros(w, 3); /* cardAtrLength is 4-aligned */
    wcur_u32le(w, s->cardAtrLength);
    wcur_u32le(w, s->cardProtocol);
    if (wcur_ok(w) && wcur_len(w) - start != PCSOCK_READER_STATE_SIZE) w->failed = true;
}

int pcsock_wire_decode_reader_state(struct cur *c, struct pcsock_reader_state *s, struct scl_err *e)
{
    size_t at = cur_off(c);
    memset(s, 0, sizeof *s);
    cur_copy(c, s->readerName, sizeof s->readerName);
    s->eventCounter = cur_u32le(c);
    s->readerState = cur_u32le(c);
    s->readerSharing = cur_i32(c);
    cur_copy(c, s->cardAtr, sizeof s->cardAtr);
    cur_skip(c, 3);
    s->cardAtrLength = cur_u32le(c);
    s->cardProtocol = cur_u32le(c);
    if (!cur_ok(c))
        return scl_errf(e, SCL_E_TRUNCATED, "READER_STATE at byte %zu: needs %d bytes", at,
                        PCSOCK_READER_STATE_SIZE);
    s->readerName[sizeof s->readerName - 1] = 0;
    if (s->cardAtrLength > PCSOCK_ATR_MAX)
        return scl_errf(e, SCL_E_FORMAT, "READER_STATE at byte %zu: cardAtrLength %u > %d", at,
                        s->cardAtrLength, PCSOCK_ATR_MAX);
    return SCL_OK;
}

int pcsock_wire_decode_wait(struct cur *c, struct pcsock_wait *m, struct scl_err *e)
{
    size_t at = cur_off(c);
    m->timeOut = cur_u32le(c);
    m->rv = cur_u32le(c);
    if (!cur_ok(c))
        return scl_errf(e, SCL_E_TRUNCATED, "wait_reader_state_change at byte %zu: needs %d bytes",
                        at, PCSOCK_WAIT_SIZE);
    return SCL_OK;
}
