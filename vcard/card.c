/*
 * card.c - the card's life: creation from a spec, ATR, reset, and the APDU
 * entry point (short-APDU framing, command chaining, response paging).
 * Not for what any instruction means: that is piv_apdu.c's table.
 */
#include "piv_internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* The ATR is our own: TS 3B; T0 8C (TD1 follows, 12 historical bytes);
 * TD1 01 (T=1, nothing more).  T=1 must come first because pcsc-lite takes
 * the protocol in TD1 as the card's default, and under T=0 OpenSC would drop
 * Le from case-4 commands.  The historical bytes name no card OpenSC knows,
 * so OpenSC finds the PIV applet by probing (SELECT, GET DATA 7E). */
static const uint8_t atr_head[] = {0x3B, 0x8C, 0x01};
static const char atr_hist[12] = {'s', 'c', 'a', 'r', 'd', 'l', 'a', 'b', ' ', 'P', 'I', 'V'};

#define DEFAULT_TRIES 3
#define MAX_TRIES 15 /* 63 Cx carries the count in one nibble */

static bool ref_set(struct vc_ref *r, const char *secret, int tries)
{
    size_t n = strlen(secret);
    if (n < 1 || n > VC_PIN_LEN) return false;
    memset(r->value, 0xFF, sizeof r->value);
    memcpy(r->value, secret, n);
    r->limit = tries <= 0 ? DEFAULT_TRIES : tries > MAX_TRIES ? MAX_TRIES : tries;
    r->left = r->limit;
    return true;
}

/* A slot is usable only if its key is one we emulate; the key, not the
 * declared alg, decides what GENERAL AUTHENTICATE accepts. */
static void slots_settle(struct vc_card_spec *spec)
{
    for (int i = 0; i < VC_NSLOTS; i++) {
        struct vc_slot *s = &spec->slots[i];
        if (!s->present || !s->cert_der) s->present = false;
        if (s->key) s->alg = vc_alg_of_key(s->key);
    }
}

struct vc_card *vc_card_new(struct vc_card_spec *spec)
{
    struct vc_card *card = calloc(1, sizeof *card);
    if (!card) return NULL;
    card->spec = *spec;
    memset(spec, 0, sizeof *spec); /* ownership moved, even on failure */
    slots_settle(&card->spec);
    if (!ref_set(&card->pin, card->spec.pin, card->spec.pin_tries) ||
        !ref_set(&card->puk, card->spec.puk, card->spec.puk_tries) || !vc_objects_build(card)) {
        vc_card_free(card);
        return NULL;
    }
    vc_card_reset(card);
    return card;
}

void vc_card_free(struct vc_card *card)
{
    if (!card) return;
    vc_objects_free(card);
    vc_card_spec_free(&card->spec);
    OPENSSL_cleanse(card, sizeof *card);
    free(card);
}

size_t vc_card_atr(const struct vc_card *card, uint8_t *out, size_t cap)
{
    (void)card;
    struct wcur w;
    wcur_init_fixed(&w, out, cap);
    wcur_bytes(&w, atr_head, sizeof atr_head);
    wcur_bytes(&w, atr_hist, sizeof atr_hist);
    uint8_t tck = 0; /* XOR of T0 .. last historical byte */
    for (size_t i = 1; i < sizeof atr_head; i++)
        tck ^= atr_head[i];
    for (size_t i = 0; i < sizeof atr_hist; i++)
        tck ^= (uint8_t)atr_hist[i];
    wcur_u8(&w, tck);
    return wcur_ok(&w) ? wcur_len(&w) : 0;
}

void vc_card_reset(struct vc_card *card)
{
    card->pin_verified = false;
    card->pin_always = false;
    card->pending = NULL;
    card->pending_len = 0;
    card->chaining = false;
    card->chain_len = 0;
}

int vc_card_pin_tries_left(const struct vc_card *card)
{
    return card->pin.left;
}

/* ISO 7816-3 short APDU cases, told apart by length alone.  Extended
 * lengths (Lc byte 00 followed by two bytes) are refused with 67 00. */
uint16_t vc_apdu_parse(const uint8_t *cmd, size_t len, struct vc_apdu *a)
{
    struct cur c;
    cur_init(&c, cmd, len);
    *a = (struct vc_apdu){.le = 256};
    a->cla = cur_u8(&c);
    a->ins = cur_u8(&c);
    a->p1 = cur_u8(&c);
    a->p2 = cur_u8(&c);
    if (!cur_ok(&c)) return SW_WRONG_LENGTH;
    if (cur_left(&c) == 0) return SW_OK; /* case 1 */
    uint8_t b = cur_u8(&c);
    if (cur_left(&c) == 0) { /* case 2 */
        a->has_le = true;
        a->le = b ? b : 256;
        return SW_OK;
    }
    if (b == 0) return SW_WRONG_LENGTH; /* extended length */
    a->lc = b;
    a->data = cur_bytes(&c, a->lc);
    if (!a->data) return SW_WRONG_LENGTH;
    if (cur_left(&c) == 1) { /* case 4 */
        uint8_t le = cur_u8(&c);
        a->has_le = true;
        a->le = le ? le : 256;
    }
    return cur_left(&c) == 0 ? SW_OK : SW_WRONG_LENGTH;
}

static void chain_drop(struct vc_card *card)
{
    card->chaining = false;
    card->chain_len = 0;
}

/* Command chaining (ISO 7816-4 5.1.1.1): links with CLA bit 0x10 are
 * collected; the last link (bit clear) runs with all the data.  Returns
 * 0 when *a is ready to run, else the SW to answer with. */
static uint16_t chain_step(struct vc_card *card, struct vc_apdu *a)
{
    bool link = a->cla & VC_CLA_CHAIN;
    if (card->chaining &&
        (a->ins != card->chain_ins || a->p1 != card->chain_p1 || a->p2 != card->chain_p2)) {
        chain_drop(card);
        return SW_LAST_CMD_EXPECTED;
    }
    if (!link && !card->chaining) return 0;
    if (link && !vc_piv_ins_chains(a->ins))
        return vc_piv_ins_known(a->ins) ? SW_CHAINING_UNSUPPORTED : SW_INS_NOT_SUPPORTED;
    if (a->lc > sizeof card->chain_buf - card->chain_len) {
        chain_drop(card);
        return SW_WRONG_LENGTH;
    }
    if (a->lc) memcpy(card->chain_buf + card->chain_len, a->data, a->lc);
    card->chain_len += a->lc;
    if (link) {
        card->chaining = true;
        card->chain_ins = a->ins;
        card->chain_p1 = a->p1;
        card->chain_p2 = a->p2;
        return SW_OK;
    }
    a->data = card->chain_buf;
    a->lc = card->chain_len;
    card->chaining = false; /* the buffer stays valid until the next command */
    card->chain_len = 0;
    return 0;
}

static uint16_t card_run(struct vc_card *card, struct vc_apdu *a, struct vc_out *out)
{
    if ((a->cla & ~VC_CLA_CHAIN) != 0x00) return SW_CLA_NOT_SUPPORTED;
    if (a->ins != 0xC0) { /* anything but GET RESPONSE ends a pending answer */
        card->pending = NULL;
        card->pending_len = 0;
    }
    uint16_t sw = chain_step(card, a);
    if (sw) return sw;
    return vc_piv_dispatch(card, a, out);
}

/* Send at most Ne bytes; keep the rest for GET RESPONSE and say 61 xx. */
static uint16_t page_out(struct vc_card *card, const struct vc_apdu *a, const struct vc_out *out,
                         uint16_t sw, struct wcur *w)
{
    if (!out->len) return sw;
    size_t n = out->len < a->le ? out->len : a->le;
    wcur_bytes(w, out->data, n);
    size_t rest = out->len - n;
    card->pending = rest ? out->data + n : NULL;
    card->pending_len = rest;
    if (!rest) return sw;
    return (uint16_t)(SW_BYTES_REMAINING | (rest > 0xFF ? 0 : rest));
}

size_t vc_card_apdu(struct vc_card *card, const uint8_t *cmd, size_t len, uint8_t *resp)
{
    struct wcur w;
    wcur_init_fixed(&w, resp, VC_RESP_MAX);
    struct vc_apdu a;
    struct vc_out out = {0};
    uint16_t sw = vc_apdu_parse(cmd, len, &a);
    if (sw == SW_OK)
        sw = card_run(card, &a, &out);
    else { /* unparseable: whatever was in progress is over */
        chain_drop(card);
        card->pending = NULL;
        card->pending_len = 0;
    }
    if (sw == SW_OK) sw = page_out(card, &a, &out, sw, &w);
    wcur_u16be(&w, sw);
    /* a.le <= 256 keeps data + SW within VC_RESP_MAX */
    return wcur_ok(&w) ? wcur_len(&w) : 0;
}
