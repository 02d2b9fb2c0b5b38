/*
 * rdpdr_pdu.c - MS-RDPEFS PDU codec for the handshake and Device Control
 * IRPs, one table row per PacketId.  Not for state: which PDU may come when
 * is rdpdr_chan.c's business.
 */
#include "rdpdr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*pdu_decode_fn)(struct cur *c, struct rdpdr_pdu *p, const char **why);
typedef void (*pdu_encode_fn)(struct wcur *w, const struct rdpdr_pdu *p);

struct pdu_kind {
    uint16_t Component;
    uint16_t PacketId;
    enum rdpdr_pdu_type type;
    const char *name;
    pdu_decode_fn decode;
    pdu_encode_fn encode;
};

/* ---- announce / client id confirm ----------------------------------------- */

static void dec_announce(struct cur *c, struct rdpdr_pdu *p, const char **why)
{
    (void)why;
    p->u.announce.VersionMajor = cur_u16le(c);
    p->u.announce.VersionMinor = cur_u16le(c);
    p->u.announce.ClientId = cur_u32le(c);
}

static void enc_announce(struct wcur *w, const struct rdpdr_pdu *p)
{
    wcur_u16le(w, p->u.announce.VersionMajor);
    wcur_u16le(w, p->u.announce.VersionMinor);
    wcur_u32le(w, p->u.announce.ClientId);
}

/* ---- client name ----------------------------------------------------------- */

static void dec_client_name(struct cur *c, struct rdpdr_pdu *p, const char **why)
{
    struct rdpdr_client_name *n = &p->u.client_name;
    n->UnicodeFlag = cur_u32le(c) & 1; /* the other 31 bits are to be ignored */
    n->CodePage = cur_u32le(c);
    uint32_t len = cur_u32le(c);
    const uint8_t *name = cur_bytes(c, len);
    if (!cur_ok(c))
        return;
    if (n->UnicodeFlag) {
        char *u8 = NULL;
        struct scl_err e;
        if (len < 2 || len % 2 || len > 512 || name[len - 1] || name[len - 2]) {
            *why = "ComputerNameLen: Unicode name must be 2..512 even bytes ending in NUL";
            return;
        }
        /* FreeRDP 2.11 counts the terminator twice: the name ends in two NULs. */
        size_t units = 0;
        while (units < len / 2 && (name[2 * units] || name[2 * units + 1]))
            units++;
        for (size_t i = units; i < len / 2; i++)
            if (name[2 * i] || name[2 * i + 1]) {
                *why = "ComputerName: characters after the NUL terminator";
                return;
            }
        if (esc_utf16le_to_utf8(name, units, &u8, &e) || strlen(u8) >= sizeof n->ComputerName) {
            free(u8);
            *why = "ComputerName: not valid UTF-16";
            return;
        }
        snprintf(n->ComputerName, sizeof n->ComputerName, "%s", u8);
        free(u8);
    } else {
        if (len < 1 || len > 256 || name[len - 1]) {
            *why = "ComputerNameLen: ASCII name must be 1..256 bytes ending in NUL";
            return;
        }
        snprintf(n->ComputerName, sizeof n->ComputerName, "%.*s", (int)(len - 1), name);
    }
}

static void enc_client_name(struct wcur *w, const struct rdpdr_pdu *p)
{
    struct wcur name;
    const struct rdpdr_client_name *n = &p->u.client_name;
    wcur_u32le(w, n->UnicodeFlag ? 1 : 0);
    wcur_u32le(w, n->CodePage);
    if (!n->UnicodeFlag) {
        wcur_u32le(w, (uint32_t)strlen(n->ComputerName) + 1);
        wcur_bytes(w, n->ComputerName, strlen(n->ComputerName) + 1);
        return;
    }
    wcur_init_dyn(&name);
    if (esc_utf8_to_utf16le(n->ComputerName, &name, NULL) < 0)
        w->failed = true;
    wcur_u16le(&name, 0);
    wcur_u32le(w, (uint32_t)wcur_len(&name));
    wcur_bytes(w, wcur_data(&name), wcur_len(&name));
    wcur_free(&name);
}

/* ---- capabilities ------------------------------------------------------------ */

static void dec_general_caps(struct cur *c, struct rdpdr_capability *cap, const char **why)
{
    struct rdpdr_general_caps *g = &cap->general;
    size_t want = cap->Version == GENERAL_CAPABILITY_VERSION_02 ? 36 : 32;
    if (cur_left(c) != want) {
        *why = "CapabilityLength: GENERAL_CAPS_SET body must be 32 bytes (36 for version 2)";
        return;
    }
    g->osType = cur_u32le(c);
    g->osVersion = cur_u32le(c);
    g->protocolMajorVersion = cur_u16le(c);
    g->protocolMinorVersion = cur_u16le(c);
    g->ioCode1 = cur_u32le(c);
    g->ioCode2 = cur_u32le(c);
    g->extendedPDU = cur_u32le(c);
    g->extraFlags1 = cur_u32le(c);
    g->extraFlags2 = cur_u32le(c);
    if (want == 36)
        g->SpecialTypeDeviceCap = cur_u32le(c);
}

static void dec_caps(struct cur *c, struct rdpdr_pdu *p, const char **why)
{
    struct rdpdr_caps *k = &p->u.caps;
    k->numCapabilities = cur_u16le(c);
    cur_u16le(c); /* Padding */
    if (k->numCapabilities > RDPDR_MAX_CAPS) {
        *why = "numCapabilities: more than 8";
        return;
    }
    for (uint16_t i = 0; i < k->numCapabilities && cur_ok(c) && !*why; i++) {
        struct rdpdr_capability *cap = &k->caps[i];
        struct cur body;
        cap->CapabilityType = cur_u16le(c);
        cap->CapabilityLength = cur_u16le(c);
        cap->Version = cur_u32le(c);
        if (cur_ok(c) && cap->CapabilityLength < 8) {
            *why = "CapabilityLength: less than the 8-byte header";
            return;
        }
        if (!cur_sub(c, cap->CapabilityLength - 8u, &body))
            return;
        if (cap->CapabilityType == CAP_GENERAL_TYPE)
            dec_general_caps(&body, cap, why);
    }
}

static void enc_caps(struct wcur *w, const struct rdpdr_pdu *p)
{
    const struct rdpdr_caps *k = &p->u.caps;
    wcur_u16le(w, k->numCapabilities);
    wcur_u16le(w, 0);
    for (uint16_t i = 0; i < k->numCapabilities && i < RDPDR_MAX_CAPS; i++) {
        const struct rdpdr_capability *cap = &k->caps[i];
        size_t start = wcur_len(w);
        wcur_u16le(w, cap->CapabilityType);
        wcur_u16le(w, 0); /* CapabilityLength, patched below */
        wcur_u32le(w, cap->Version);
        if (cap->CapabilityType == CAP_GENERAL_TYPE) {
            const struct rdpdr_general_caps *g = &cap->general;
            wcur_u32le(w, g->osType);
            wcur_u32le(w, g->osVersion);
            wcur_u16le(w, g->protocolMajorVersion);
            wcur_u16le(w, g->protocolMinorVersion);
            wcur_u32le(w, g->ioCode1);
            wcur_u32le(w, g->ioCode2);
            wcur_u32le(w, g->extendedPDU);
            wcur_u32le(w, g->extraFlags1);
            wcur_u32le(w, g->extraFlags2);
            if (cap->Version == GENERAL_CAPABILITY_VERSION_02)
                wcur_u32le(w, g->SpecialTypeDeviceCap);
        }
        if (wcur_ok(w)) {
            uint16_t n = (uint16_t)(wcur_len(w) - start);
            w->p[start + 2] = (uint8_t)n;
            w->p[start + 3] = (uint8_t)(n >> 8);
        }
    }
}

/* ---- device list, reply, remove --------------------------------------------- */

static void dec_device_list(struct cur *c, struct rdpdr_pdu *p, const char **why)
{
    struct rdpdr_device_list *l = &p->u.device_list;
    l->DeviceCount = cur_u32le(c);
    if (l->DeviceCount > RDPDR_MAX_DEVICES) {
        *why = "DeviceCount: more than 32 devices";
        return;
    }
    for (uint32_t i = 0; i < l->DeviceCount && cur_ok(c); i++) {
        struct rdpdr_device *d = &l->devices[i];
        d->DeviceType = cur_u32le(c);
        d->DeviceId = cur_u32le(c);
        cur_copy(c, d->PreferredDosName, 8);
        d->PreferredDosName[8] = 0;
        d->DeviceDataLength = cur_u32le(c);
        d->DeviceData = cur_bytes(c, d->DeviceDataLength);
    }
}

static void enc_device_list(struct wcur *w, const struct rdpdr_pdu *p)
{
    const struct rdpdr_device_list *l = &p->u.device_list;
    wcur_u32le(w, l->DeviceCount);
    for (uint32_t i = 0; i < l->DeviceCount && i < RDPDR_MAX_DEVICES; i++) {
        const struct rdpdr_device *d = &l->devices[i];
        char dos[8] = {0};
        memcpy(dos, d->PreferredDosName, strnlen(d->PreferredDosName, 8));
        wcur_u32le(w, d->DeviceType);
        wcur_u32le(w, d->DeviceId);
        wcur_bytes(w, dos, 8);
        wcur_u32le(w, d->DeviceDataLength);
        wcur_bytes(w, d->DeviceData, d->DeviceDataLength);
    }
}

static void dec_device_reply(struct cur *c, struct rdpdr_pdu *p, const char **why)
{
    (void)why;
    p->u.device_reply.DeviceId = cur_u32le(c);
    p->u.device_reply.ResultCode = cur_u32le(c);
}

static void enc_device_reply(struct wcur *w, const struct rdpdr_pdu *p)
{
    wcur_u32le(w, p->u.device_reply.DeviceId);
    wcur_u32le(w, p->u.device_reply.ResultCode);
}

static void dec_device_remove(struct cur *c, struct rdpdr_pdu *p, const char **why)
{
    struct rdpdr_device_remove *r = &p->u.device_remove;
    r->DeviceCount = cur_u32le(c);
    if (r->DeviceCount > RDPDR_MAX_DEVICES) {
        *why = "DeviceCount: more than 32 devices";
        return;
    }
    for (uint32_t i = 0; i < r->DeviceCount; i++)
        r->DeviceIds[i] = cur_u32le(c);
}

static void enc_device_remove(struct wcur *w, const struct rdpdr_pdu *p)
{
    const struct rdpdr_device_remove *r = &p->u.device_remove;
    wcur_u32le(w, r->DeviceCount);
    for (uint32_t i = 0; i < r->DeviceCount && i < RDPDR_MAX_DEVICES; i++)
        wcur_u32le(w, r->DeviceIds[i]);
}

static void dec_empty(struct cur *c, struct rdpdr_pdu *p, const char **why)
{
    (void)c, (void)p, (void)why;
}

static void enc_empty(struct wcur *w, const struct rdpdr_pdu *p)
{
    (void)w, (void)p;
}

/* ---- Device Control IRP and its completion ----------------------------------- */

static void dec_control_req(struct cur *c, struct rdpdr_pdu *p, const char **why)
{
    struct rdpdr_control_req *r = &p->u.control_req;
    r->DeviceId = cur_u32le(c);
    r->FileId = cur_u32le(c);
    r->CompletionId = cur_u32le(c);
    r->MajorFunction = cur_u32le(c);
    r->MinorFunction = cur_u32le(c);
    if (cur_ok(c) && r->MajorFunction != IRP_MJ_DEVICE_CONTROL) {
        *why = "MajorFunction: only IRP_MJ_DEVICE_CONTROL (0x0E) is used";
        return;
    }
    r->OutputBufferLength = cur_u32le(c);
    r->InputBufferLength = cur_u32le(c);
    r->IoControlCode = cur_u32le(c);
    cur_skip(c, 20); /* Padding */
    r->InputBuffer = cur_bytes(c, r->InputBufferLength);
}

static void enc_control_req(struct wcur *w, const struct rdpdr_pdu *p)
{
    const struct rdpdr_control_req *r = &p->u.control_req;
    wcur_u32le(w, r->DeviceId);
    wcur_u32le(w, r->FileId);
    wcur_u32le(w, r->CompletionId);
    wcur_u32le(w, IRP_MJ_DEVICE_CONTROL);
    wcur_u32le(w, r->MinorFunction);
    wcur_u32le(w, r->OutputBufferLength);
    wcur_u32le(w, r->InputBufferLength);
    wcur_u32le(w, r->IoControlCode);
    wcur_zeros(w, 20);
    wcur_bytes(w, r->InputBuffer, r->InputBufferLength);
}

static void dec_io_completion(struct cur *c, struct rdpdr_pdu *p, const char **why)
{
    struct rdpdr_io_completion *r = &p->u.io_completion;
    (void)why;
    r->DeviceId = cur_u32le(c);
    r->CompletionId = cur_u32le(c);
    r->IoStatus = cur_u32le(c);
    /* FreeRDP completes a refused IRP with the 16-byte header alone, and an
     * IRP for an unknown device with 240 zero bytes after it. */
    r->has_output = cur_ok(c) && cur_left(c) >= 4;
    if (!r->has_output)
        return;
    r->OutputBufferLength = cur_u32le(c);
    r->OutputBuffer = cur_bytes(c, r->OutputBufferLength);
    size_t rest;
    cur_rest(c, &rest); /* DR_CONTROL_RSP may carry padding */
}

static void enc_io_completion(struct wcur *w, const struct rdpdr_pdu *p)
{
    const struct rdpdr_io_completion *r = &p->u.io_completion;
    wcur_u32le(w, r->DeviceId);
    wcur_u32le(w, r->CompletionId);
    wcur_u32le(w, r->IoStatus);
    if (!r->has_output)
        return;
    wcur_u32le(w, r->OutputBufferLength);
    wcur_bytes(w, r->OutputBuffer, r->OutputBufferLength);
}

static const struct pdu_kind pdu_kinds[] = {
    {RDPDR_CTYP_CORE, PAKID_CORE_SERVER_ANNOUNCE, RDPDR_PDU_SERVER_ANNOUNCE,
     "PAKID_CORE_SERVER_ANNOUNCE", dec_announce, enc_announce},
    {RDPDR_CTYP_CORE, PAKID_CORE_CLIENTID_CONFIRM, RDPDR_PDU_CLIENTID_CONFIRM,
     "PAKID_CORE_CLIENTID_CONFIRM", dec_announce, enc_announce},
    {RDPDR_CTYP_CORE, PAKID_CORE_CLIENT_NAME, RDPDR_PDU_CLIENT_NAME, "PAKID_CORE_CLIENT_NAME",
     dec_client_name, enc_client_name},
    {RDPDR_CTYP_CORE, PAKID_CORE_SERVER_CAPABILITY, RDPDR_PDU_SERVER_CAPABILITY,
     "PAKID_CORE_SERVER_CAPABILITY", dec_caps, enc_caps},
    {RDPDR_CTYP_CORE, PAKID_CORE_CLIENT_CAPABILITY, RDPDR_PDU_CLIENT_CAPABILITY,
     "PAKID_CORE_CLIENT_CAPABILITY", dec_caps, enc_caps},
    {RDPDR_CTYP_CORE, PAKID_CORE_DEVICELIST_ANNOUNCE, RDPDR_PDU_DEVICELIST_ANNOUNCE,
     "PAKID_CORE_DEVICELIST_ANNOUNCE", dec_device_list, enc_device_list},
    {RDPDR_CTYP_CORE, PAKID_CORE_DEVICE_REPLY, RDPDR_PDU_DEVICE_REPLY, "PAKID_CORE_DEVICE_REPLY",
     dec_device_reply, enc_device_reply},
    {RDPDR_CTYP_CORE, PAKID_CORE_DEVICELIST_REMOVE, RDPDR_PDU_DEVICELIST_REMOVE,
     "PAKID_CORE_DEVICELIST_REMOVE", dec_device_remove, enc_device_remove},
    {RDPDR_CTYP_CORE, PAKID_CORE_USER_LOGGEDON, RDPDR_PDU_USER_LOGGEDON,
     "PAKID_CORE_USER_LOGGEDON", dec_empty, enc_empty},
    {RDPDR_CTYP_CORE, PAKID_CORE_DEVICE_IOREQUEST, RDPDR_PDU_DEVICE_IOREQUEST,
     "PAKID_CORE_DEVICE_IOREQUEST", dec_control_req, enc_control_req},
    {RDPDR_CTYP_CORE, PAKID_CORE_DEVICE_IOCOMPLETION, RDPDR_PDU_DEVICE_IOCOMPLETION,
     "PAKID_CORE_DEVICE_IOCOMPLETION", dec_io_completion, enc_io_completion},
};

#define PDU_KIND_COUNT (sizeof pdu_kinds / sizeof pdu_kinds[0])

const char *rdpdr_pdu_name(enum rdpdr_pdu_type t)
{
    for (size_t i = 0; i < PDU_KIND_COUNT; i++)
        if (pdu_kinds[i].type == t)
            return pdu_kinds[i].name;
    return "unknown";
}

int rdpdr_pdu_decode(const uint8_t *buf, size_t len, struct rdpdr_pdu *p, struct scl_err *e)
{
    struct cur c;
    const char *why = NULL;
    memset(p, 0, sizeof *p);
    if (len > RDPDR_MAX_PDU)
        return scl_errf(e, SCL_E_FORMAT, "rdpdr: PDU of %zu bytes is over the 1 MiB limit", len);
    cur_init(&c, buf, len);
    uint16_t component = cur_u16le(&c), packet = cur_u16le(&c);
    if (!cur_ok(&c))
        return scl_errf(e, SCL_E_TRUNCATED, "rdpdr: PDU of %zu bytes has no 4-byte header", len);
    const struct pdu_kind *k = NULL;
    for (size_t i = 0; i < PDU_KIND_COUNT; i++)
        if (pdu_kinds[i].Component == component && pdu_kinds[i].PacketId == packet)
            k = &pdu_kinds[i];
    if (!k)
        return scl_errf(e, SCL_E_FORMAT,
                        "rdpdr: unknown Component 0x%04X PacketId 0x%04X at offset 0", component,
                        packet);
    p->type = k->type;
    k->decode(&c, p, &why);
    if (why)
        return scl_errf(e, SCL_E_FORMAT, "%s: %s (near offset %zu)", k->name, why, cur_off(&c));
    if (!cur_ok(&c))
        return scl_errf(e, SCL_E_TRUNCATED, "%s: truncated at offset %zu of %zu", k->name,
                        cur_off(&c), len);
    if (cur_left(&c))
        return scl_errf(e, SCL_E_FORMAT, "%s: %zu unexpected bytes at offset %zu", k->name,
                        cur_left(&c), cur_off(&c));
    return SCL_OK;
}

int rdpdr_pdu_encode(const struct rdpdr_pdu *p, struct wcur *w, struct scl_err *e)
{
    for (size_t i = 0; i < PDU_KIND_COUNT; i++) {
        if (pdu_kinds[i].type != p->type)
            continue;
        wcur_u16le(w, pdu_kinds[i].Component);
        wcur_u16le(w, pdu_kinds[i].PacketId);
        pdu_kinds[i].encode(w, p);
        if (!wcur_ok(w))
            return scl_errf(e, SCL_E_INVAL, "%s: encoding failed (bad field or out of memory)",
                            pdu_kinds[i].name);
        return SCL_OK;
    }
    return scl_errf(e, SCL_E_INVAL, "rdpdr: no encoder for PDU type %d", (int)p->type);
}
