/*
 * pcsc_card.c - read a PIV card's CHUID and certificate containers over PC/SC,
 * the way Windows' inbox PIV minidriver does, and name the key containers.
 * Not a PIV client: no PIN, no keys, no writes; it never touches the store.
 */
#include "propagator.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIV_OBJECT_MAX (64 * 1024) /* larger than any PIV container */
#define PIV_PAGES_MAX 512          /* GET RESPONSE rounds before we call it a loop */
#define APDU_RESP_MAX (256 + 2)

#define SW_OK 0x9000
#define SW_NOT_FOUND 0x6A82

/* The certificate containers and the keys they belong to (SP 800-73-4 part 1
 * table 3), in the order the minidriver reads them. */
static const struct {
    uint32_t object_tag;
    uint8_t key_ref;
    const char *name;
} piv_cert_objects[CP_CARD_SLOTS] = {
    {0x5FC105, 0x9A, "X.509 Certificate for PIV Authentication"},
    {0x5FC10A, 0x9C, "X.509 Certificate for Digital Signature"},
    {0x5FC10B, 0x9D, "X.509 Certificate for Key Management"},
    {0x5FC101, 0x9E, "X.509 Certificate for Card Authentication"},
};

#define PIV_TAG_CHUID 0x5FC102

/* ---- parsers (fed the GET DATA response bytes) ------------------------- */

/* The 53 template that every GET DATA answer is wrapped in. */
static int open_template(const uint8_t *p, size_t n, const char *what, struct cur *val,
                         struct scl_err *e)
{
    struct cur c;
    uint32_t tag;
    cur_init(&c, p, n);
    if (!cur_ber_tlv(&c, &tag, val))
        return scl_errf(e, SCL_E_TRUNCATED, "%s: 53 template truncated (%zu bytes)", what, n);
    if (tag != 0x53)
        return scl_errf(e, SCL_E_FORMAT, "%s: offset 0: tag %X, expected 53", what, tag);
    if (cur_left(&c))
        return scl_errf(e, SCL_E_FORMAT, "%s: offset %zu: %zu bytes after the 53 template", what,
                        cur_off(&c), cur_left(&c));
    return SCL_OK;
}

int cp_piv_parse_chuid(const uint8_t *p, size_t n, uint8_t guid[16], struct scl_err *e)
{
    struct cur val, g;
    int rc = open_template(p, n, "CHUID", &val, e);
    if (rc != SCL_OK) return rc;
    /* Walk every TLV so a malformed one anywhere is reported, not skipped. */
    struct cur it = val;
    bool found = false;
    while (cur_left(&it)) {
        uint32_t tag;
        size_t at = cur_off(&it);
        struct cur v;
        if (!cur_ber_tlv(&it, &tag, &v))
            return scl_errf(e, SCL_E_TRUNCATED,
                            "CHUID: TLV at offset %zu of the template runs "
                            "past its end",
                            at);
        if (tag == 0x34) {
            g = v;
            found = true;
        }
    }
    if (!found) return scl_errf(e, SCL_E_FORMAT, "CHUID: no GUID (tag 34)");
    if (cur_left(&g) != 16)
        return scl_errf(e, SCL_E_FORMAT, "CHUID: GUID (tag 34) is %zu bytes, expected 16",
                        cur_left(&g));
    cur_copy(&g, guid, 16);
    return SCL_OK;
}

int cp_piv_parse_cert_object(const uint8_t *p, size_t n, const uint8_t **der, size_t *der_len,
                             bool *compressed, struct scl_err *e)
{
    struct cur val;
    int rc = open_template(p, n, "certificate object", &val, e);
    if (rc != SCL_OK) return rc;
    bool have_cert = false;
    *compressed = false;
    while (cur_left(&val)) {
        uint32_t tag;
        size_t at = cur_off(&val);
        struct cur v;
        if (!cur_ber_tlv(&val, &tag, &v))
            return scl_errf(e, SCL_E_TRUNCATED,
                            "certificate object: TLV at offset %zu of the template runs past "
                            "its end",
                            at);
        if (tag == 0x70) {
            size_t len;
            *der = cur_rest(&v, &len);
            *der_len = len;
            have_cert = true;
        } else if (tag == 0x71) {
            /* CertInfo: bit 0 = CompressionType gzip (SP 800-73-4 part 1 5.1). */
            *compressed = cur_left(&v) >= 1 && (cur_u8(&v) & 0x01);
        }
        /* FE (error detection code) and anything unknown: nothing to use. */
    }
    if (!have_cert || *der_len == 0)
        return scl_errf(e, SCL_E_NOTFOUND, "certificate object: no certificate (tag 70) in it");
    return SCL_OK;
}

void cp_container_name(const uint8_t guid[16], uint32_t object_tag, char out[CP_CONTAINER_NAME_MAX])
{
    uint8_t b[16];
    memcpy(b, guid, 13);
    b[13] = (uint8_t)(object_tag >> 16);
    b[14] = (uint8_t)(object_tag >> 8);
    b[15] = (uint8_t)object_tag;
    snprintf(out, CP_CONTAINER_NAME_MAX,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

/* ---- APDU exchange ------------------------------------------------------ */

static int exchange(const struct cp_apdu_io *io, const uint8_t *cmd, size_t len, struct wcur *data,
                    unsigned *sw, struct scl_err *e)
{
    uint8_t resp[APDU_RESP_MAX];
    size_t rlen = sizeof resp;
    int rc = io->transmit(io->ctx, cmd, len, resp, &rlen, e);
    if (rc != SCL_OK) return rc;
    if (rlen < 2 || rlen > sizeof resp)
        return scl_errf(e, SCL_E_FORMAT, "INS %02X: response of %zu bytes has no status word",
                        len > 1 ? cmd[1] : 0, rlen);
    *sw = (unsigned)resp[rlen - 2] << 8 | resp[rlen - 1];
    if (rlen > 2) /* a bare status word adds nothing (and wcur wants n > 0 on an empty buffer) */
        wcur_bytes(data, resp, rlen - 2);
    return SCL_OK;
}

/* Send cmd (whose last byte is Le) and collect the whole answer: 6C xx means
 * "resend with Le = xx", 61 xx means "xx more bytes: GET RESPONSE". */
static int transceive(const struct cp_apdu_io *io, const uint8_t *cmd, size_t len,
                      struct wcur *data, unsigned *sw, struct scl_err *e)
{
    uint8_t again[300];
    int rc = exchange(io, cmd, len, data, sw, e);
    if (rc == SCL_OK && (*sw >> 8) == 0x6C && len <= sizeof again) {
        memcpy(again, cmd, len);
        again[len - 1] = (uint8_t)*sw;
        rc = exchange(io, again, len, data, sw, e);
    }
    for (int page = 0; rc == SCL_OK && (*sw >> 8) == 0x61; page++) {
        uint8_t get_response[5] = {0x00, 0xC0, 0x00, 0x00, (uint8_t)*sw};
        if (page >= PIV_PAGES_MAX || wcur_len(data) > PIV_OBJECT_MAX)
            return scl_errf(e, SCL_E_FORMAT, "INS %02X: answer grows past %d bytes (61 xx loop)",
                            cmd[1], PIV_OBJECT_MAX);
        rc = exchange(io, get_response, sizeof get_response, data, sw, e);
    }
    if (rc == SCL_OK && !wcur_ok(data))
        return scl_errf(e, SCL_E_NOMEM, "INS %02X: out of memory collecting the answer", cmd[1]);
    return rc;
}

/* GET DATA of one object; SCL_E_NOTFOUND when the card answers 6A 82. */
static int get_data(const struct cp_apdu_io *io, uint32_t tag, struct wcur *data, struct scl_err *e)
{
    uint8_t buf[16];
    struct wcur cmd;
    unsigned sw = 0;
    wcur_init_fixed(&cmd, buf, sizeof buf);
    wcur_bytes(&cmd, "\x00\xCB\x3F\xFF\x05\x5C\x03", 7);
    wcur_u8(&cmd, (uint8_t)(tag >> 16));
    wcur_u16be(&cmd, (uint16_t)tag);
    wcur_u8(&cmd, 0x00); /* Le: everything */
    int rc = transceive(io, wcur_data(&cmd), wcur_len(&cmd), data, &sw, e);
    if (rc != SCL_OK) return rc;
    if (sw == SW_NOT_FOUND)
        return scl_errf(e, SCL_E_NOTFOUND, "GET DATA %06X: 6A 82 (no such object)", tag);
    if (sw != SW_OK) return scl_errf(e, SCL_E_FORMAT, "GET DATA %06X: status %04X", tag, sw);
    return SCL_OK;
}

static int select_piv(const struct cp_apdu_io *io, struct scl_err *e)
{
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00,
                                     0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00};
    struct wcur fci;
    unsigned sw = 0;
    wcur_init_dyn(&fci);
    int rc = transceive(io, select, sizeof select, &fci, &sw, e);
    wcur_free(&fci);
    if (rc != SCL_OK) return rc;
    if (sw != SW_OK)
        return scl_errf(e, SCL_E_NOTFOUND, "not a PIV card: SELECT PIV AID answered %02X %02X",
                        sw >> 8, sw & 0xff);
    return SCL_OK;
}

static void add_skip(struct cp_card *card, size_t i, const char *reason)
{
    struct cp_card_skip *s = &card->skips[card->nskips++];
    s->object_tag = piv_cert_objects[i].object_tag;
    s->key_ref = piv_cert_objects[i].key_ref;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
}

/* Check the DER with libcrypto and keep a copy; a reason when refused. */
static int accept_cert(struct cp_card *card, size_t i, const uint8_t *der, size_t len, char *why,
                       size_t cap)
{
    const uint8_t *q = der;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    if (!x || q != der + len) {
        snprintf(why, cap, "tag 70 is not one DER X.509 certificate (%zu bytes)", len);
        X509_free(x);
        return SCL_E_FORMAT;
    }
    X509_free(x);
    struct cp_card_cert *c = &card->certs[card->ncerts];
    c->der = malloc(len);
    if (!c->der) return SCL_E_NOMEM;
    memcpy(c->der, der, len);
    c->len = len;
    c->object_tag = piv_cert_objects[i].object_tag;
    c->key_ref = piv_cert_objects[i].key_ref;
    cp_container_name(card->guid, c->object_tag, c->container);
    card->ncerts++;
    return SCL_OK;
}

/* One container: a certificate, an empty slot, or a skip with its reason.
 * Only transport failures (card gone, PC/SC down) are returned as errors. */
static int read_cert_object(const struct cp_apdu_io *io, struct cp_card *card, size_t i,
                            struct scl_err *e)
{
    struct wcur obj;
    char why[160];
    const uint8_t *der = NULL;
    size_t der_len = 0;
    bool compressed = false;
    wcur_init_dyn(&obj);
    int rc = get_data(io, piv_cert_objects[i].object_tag, &obj, e);
    if (rc == SCL_OK)
        rc = cp_piv_parse_cert_object(wcur_data(&obj), wcur_len(&obj), &der, &der_len, &compressed,
                                      e);
    if (rc == SCL_E_NOTFOUND) {
        rc = SCL_OK; /* empty container */
    } else if (rc == SCL_E_FORMAT || rc == SCL_E_TRUNCATED) {
        add_skip(card, i, e->msg);
        rc = SCL_OK;
    } else if (rc == SCL_OK && compressed) {
        add_skip(card, i, "compressed certificate (CertInfo bit 0); not decompressed");
    } else if (rc == SCL_OK) {
        rc = accept_cert(card, i, der, der_len, why, sizeof why);
        if (rc == SCL_E_FORMAT) {
            add_skip(card, i, why);
            rc = SCL_OK;
        } else if (rc == SCL_E_NOMEM) {
            scl_errf(e, rc, "out of memory");
        }
    }
    wcur_free(&obj);
    return rc;
}

void cp_card_free(struct cp_card *card)
{
    for (size_t i = 0; i < card->ncerts; i++)
        free(card->certs[i].der);
    char reader[sizeof card->reader];
    memcpy(reader, card->reader, sizeof reader);
    memset(card, 0, sizeof *card);
    memcpy(card->reader, reader, sizeof reader);
}

int cp_piv_read_card(const struct cp_apdu_io *io, struct cp_card *out, struct scl_err *e)
{
    struct wcur chuid;
    out->ncerts = out->nskips = 0; /* reader name is the caller's */
    memset(out->guid, 0, sizeof out->guid);
    int rc = select_piv(io, e);
    if (rc != SCL_OK) return rc;
    wcur_init_dyn(&chuid);
    rc = get_data(io, PIV_TAG_CHUID, &chuid, e);
    if (rc == SCL_OK)
        rc = cp_piv_parse_chuid(wcur_data(&chuid), wcur_len(&chuid), out->guid, e);
    else if (rc == SCL_E_NOTFOUND)
        rc = scl_errf(e, SCL_E_FORMAT, "no CHUID (5FC102): cannot name the key containers");
    wcur_free(&chuid);
    for (size_t i = 0; rc == SCL_OK && i < CP_CARD_SLOTS; i++)
        rc = read_cert_object(io, out, i, e);
    if (rc != SCL_OK) cp_card_free(out);
    return rc;
}

/* ---- PC/SC transport ---------------------------------------------------- */

struct pcsc_link {
    SCARDHANDLE card;
    DWORD protocol;
};

/* The card went away or was reset under us: the whole read is void.  A card
 * pulled mid-APDU surfaces as SCARD_E_NOT_TRANSACTED: pcscd notices the
 * removal only at its next presence poll (~400 ms with vpcd). */
static bool pcsc_card_gone(LONG rv)
{
    return rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD || rv == SCARD_W_RESET_CARD ||
           rv == SCARD_E_NOT_TRANSACTED || rv == SCARD_E_READER_UNAVAILABLE ||
           rv == SCARD_W_UNPOWERED_CARD || rv == SCARD_E_UNKNOWN_READER;
}

static int pcsc_errf(struct scl_err *e, LONG rv, const char *call)
{
    return scl_errf(e, pcsc_card_gone(rv) ? SCL_E_STATE : SCL_E_PCSC, "%s: %s (0x%08lX)", call,
                    pcsc_stringify_error(rv), (unsigned long)rv);
}

static int pcsc_transmit(void *ctx, const uint8_t *cmd, size_t len, uint8_t *resp, size_t *rlen,
                         struct scl_err *e)
{
    struct pcsc_link *l = ctx;
    DWORD n = (DWORD)*rlen;
    const SCARD_IO_REQUEST *pci = l->protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    LONG rv = SCardTransmit(l->card, pci, cmd, (DWORD)len, NULL, resp, &n);
    if (rv != SCARD_S_SUCCESS) return pcsc_errf(e, rv, "SCardTransmit");
    *rlen = n;
    return SCL_OK;
}

int cp_pcsc_read_card(SCARDCONTEXT ctx, const char *reader, struct cp_card *out, struct scl_err *e)
{
    struct pcsc_link l = {0};
    memset(out, 0, sizeof *out);
    snprintf(out->reader, sizeof out->reader, "%s", reader);
    LONG rv = SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                           &l.card, &l.protocol);
    if (rv != SCARD_S_SUCCESS) return pcsc_errf(e, rv, "SCardConnect");
    /* One transaction for the whole card, like the minidriver: no other
     * application's APDUs interleave with our SELECT/GET DATA sequence. */
    rv = SCardBeginTransaction(l.card);
    if (rv != SCARD_S_SUCCESS) {
        SCardDisconnect(l.card, SCARD_LEAVE_CARD);
        return pcsc_errf(e, rv, "SCardBeginTransaction");
    }
    struct cp_apdu_io io = {pcsc_transmit, &l};
    int rc = cp_piv_read_card(&io, out, e);
    rv = SCardEndTransaction(l.card, SCARD_LEAVE_CARD);
    if (rc == SCL_OK && rv != SCARD_S_SUCCESS) {
        /* The card left after our last APDU: what we read may be from a
         * card that is no longer there; treat it as pulled mid-read. */
        rc = pcsc_errf(e, rv, "SCardEndTransaction");
        cp_card_free(out);
    }
    SCardDisconnect(l.card, SCARD_LEAVE_CARD);
    return rc;
}

/* ---- every card at once ------------------------------------------------- */

static bool card_present(SCARDCONTEXT ctx, const char *reader)
{
    SCARD_READERSTATE rs = {.szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    if (SCardGetStatusChange(ctx, 0, &rs, 1) != SCARD_S_SUCCESS) return false;
    return (rs.dwEventState & SCARD_STATE_PRESENT) && !(rs.dwEventState & SCARD_STATE_MUTE);
}

void cp_cards_free(struct cp_card *cards, size_t ncards)
{
    for (size_t i = 0; i < ncards; i++)
        cp_card_free(&cards[i]);
    free(cards);
}

static int read_reader_list(SCARDCONTEXT ctx, char **list, struct scl_err *e)
{
    DWORD n = 0;
    *list = NULL;
    LONG rv = SCardListReaders(ctx, NULL, NULL, &n);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return SCL_OK;
    if (rv != SCARD_S_SUCCESS) return pcsc_errf(e, rv, "SCardListReaders");
    *list = calloc(n + 1, 1);
    if (!*list) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    rv = SCardListReaders(ctx, NULL, *list, &n);
    if (rv == SCARD_S_SUCCESS) return SCL_OK;
    free(*list);
    *list = NULL;
    return rv == SCARD_E_NO_READERS_AVAILABLE ? SCL_OK : pcsc_errf(e, rv, "SCardListReaders");
}

static int read_present_cards(SCARDCONTEXT ctx, const char *list, struct cp_card **cards,
                              size_t *ncards, struct scl_err *e)
{
    for (const char *r = list; r && *r; r += strlen(r) + 1) {
        if (!card_present(ctx, r)) continue;
        struct cp_card *grown = realloc(*cards, (*ncards + 1) * sizeof **cards);
        if (!grown) return scl_errf(e, SCL_E_NOMEM, "out of memory");
        *cards = grown;
        int rc = cp_pcsc_read_card(ctx, r, &grown[*ncards], e);
        /* A non-PIV card, or one pulled while we read it, is simply not there. */
        if (rc == SCL_E_NOTFOUND || rc == SCL_E_STATE) continue;
        if (rc != SCL_OK) return scl_err_wrap(e, "reader '%s'", r);
        (*ncards)++;
    }
    return SCL_OK;
}

int cp_pcsc_read_cards(struct cp_card **cards, size_t *ncards, struct scl_err *e)
{
    SCARDCONTEXT ctx;
    char *list = NULL;
    *cards = NULL;
    *ncards = 0;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS) return pcsc_errf(e, rv, "SCardEstablishContext");
    int rc = read_reader_list(ctx, &list, e);
    if (rc == SCL_OK) rc = read_present_cards(ctx, list, cards, ncards, e);
    free(list);
    SCardReleaseContext(ctx);
    if (rc != SCL_OK) {
        cp_cards_free(*cards, *ncards);
        *cards = NULL;
        *ncards = 0;
    }
    return rc;
}
