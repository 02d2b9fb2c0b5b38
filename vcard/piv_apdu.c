/*
 * piv_apdu.c - the PIV instruction table (SP 800-73-4 part 2, section 3)
 * and its handlers: SELECT, GET DATA, VERIFY, CHANGE REFERENCE DATA,
 * RESET RETRY COUNTER, GENERAL AUTHENTICATE, GET RESPONSE.
 * Not for APDU framing, chaining or paging (card.c) nor key maths (piv_crypto.c).
 */
#include "piv_internal.h"

#include <openssl/crypto.h>
#include <string.h>

typedef uint16_t (*ins_handler)(struct vc_card *card, const struct vc_apdu *a, struct vc_out *out);

/* ---- references: PIN and PUK ------------------------------------------ */

#define KEY_REF_PIN 0x80
#define KEY_REF_PUK 0x81
#define PIN_MIN_DIGITS 6

/* Check presented reference data; counts a failure, restores the counter
 * on success.  The attempt that uses the last try answers 63 C0; after that
 * the reference is blocked (69 83). */
static uint16_t ref_check(struct vc_ref *r, const uint8_t *v)
{
    if (r->left <= 0) return SW_AUTH_BLOCKED;
    if (CRYPTO_memcmp(r->value, v, VC_PIN_LEN) != 0) {
        r->left--;
        return (uint16_t)(SW_VERIFY_FAILED | r->left);
    }
    r->left = r->limit;
    return SW_OK;
}

/* A new PIN: 6 to 8 ASCII digits padded with FF (FIPS 201 4.1.7.1). */
static bool pin_format_ok(const uint8_t *v)
{
    size_t n = 0;
    while (n < VC_PIN_LEN && v[n] >= '0' && v[n] <= '9')
        n++;
    for (size_t i = n; i < VC_PIN_LEN; i++)
        if (v[i] != 0xFF) return false;
    return n >= PIN_MIN_DIGITS;
}

static void security_clear(struct vc_card *card)
{
    card->pin_verified = false;
    card->pin_always = false;
}

static uint16_t pin_status(const struct vc_card *card)
{
    if (card->pin.left <= 0) return SW_AUTH_BLOCKED;
    return card->pin_verified ? SW_OK : (uint16_t)(SW_VERIFY_FAILED | card->pin.left);
}

/* 00 20 00 80 08 <PIN>: verify; no data: ask the status.
 * 00 20 FF 80 (no data): reset the security status (SP 800-73-4 3.2.1). */
static uint16_t do_verify(struct vc_card *card, const struct vc_apdu *a, struct vc_out *out)
{
    (void)out;
    if (a->p1 != 0x00 && a->p1 != 0xFF) return SW_WRONG_P1P2;
    if (a->p2 != KEY_REF_PIN) return SW_REF_NOT_FOUND;
    if (a->p1 == 0xFF) {
        if (a->lc) return SW_WRONG_LENGTH;
        security_clear(card);
        return SW_OK;
    }
    if (a->lc == 0) return pin_status(card);
    if (a->lc != VC_PIN_LEN) return SW_WRONG_LENGTH;
    uint16_t sw = ref_check(&card->pin, a->data);
    if (sw != SW_OK) {
        security_clear(card);
        return sw;
    }
    card->pin_verified = true;
    card->pin_always = true;
    return SW_OK;
}

/* 00 24 00 80|81 10 <old 8><new 8> */
static uint16_t do_change_reference(struct vc_card *card, const struct vc_apdu *a,
                                    struct vc_out *out)
{
    (void)out;
    if (a->p1 != 0x00) return SW_WRONG_P1P2;
    if (a->p2 != KEY_REF_PIN && a->p2 != KEY_REF_PUK) return SW_REF_NOT_FOUND;
    if (a->lc != 2 * VC_PIN_LEN) return SW_WRONG_LENGTH;
    bool is_pin = a->p2 == KEY_REF_PIN;
    const uint8_t *new_value = a->data + VC_PIN_LEN;
    if (is_pin && !pin_format_ok(new_value))
        return SW_WRONG_DATA; /* checked first: a bad new PIN costs no try */
    struct vc_ref *r = is_pin ? &card->pin : &card->puk;
    uint16_t sw = ref_check(r, a->data);
    if (sw != SW_OK) {
        if (is_pin) security_clear(card);
        return sw;
    }
    memcpy(r->value, new_value, VC_PIN_LEN);
    if (is_pin) { /* the old PIN was just presented correctly */
        card->pin_verified = true;
        card->pin_always = true;
    }
    return SW_OK;
}

/* 00 2C 00 80 10 <PUK 8><new PIN 8>: unblock and set the PIN. */
static uint16_t do_reset_retry(struct vc_card *card, const struct vc_apdu *a, struct vc_out *out)
{
    (void)out;
    if (a->p1 != 0x00) return SW_WRONG_P1P2;
    if (a->p2 != KEY_REF_PIN) return SW_REF_NOT_FOUND;
    if (a->lc != 2 * VC_PIN_LEN) return SW_WRONG_LENGTH;
    if (!pin_format_ok(a->data + VC_PIN_LEN)) return SW_WRONG_DATA;
    uint16_t sw = ref_check(&card->puk, a->data);
    if (sw != SW_OK) return sw;
    memcpy(card->pin.value, a->data + VC_PIN_LEN, VC_PIN_LEN);
    card->pin.left = card->pin.limit;
    security_clear(card);
    return SW_OK;
}

/* ---- SELECT, GET DATA, GET RESPONSE ------------------------------------ */

/* 00 A4 04 00 <AID>: the PIV AID answers its property template; every other
 * AID or file is not found, and PIV stays selected (other OpenSC drivers
 * probe with their own AIDs before PIV's turn). */
static uint16_t do_select(struct vc_card *card, const struct vc_apdu *a, struct vc_out *out)
{
    static const uint8_t file_p1[] = {0x00, 0x01, 0x02, 0x03, 0x08, 0x09};
    if (a->p1 != 0x04) return memchr(file_p1, a->p1, sizeof file_p1) ? SW_NOT_FOUND : SW_WRONG_P1P2;
    if (a->p2 != 0x00 && a->p2 != 0x0C) return SW_WRONG_P1P2;
    if (!vc_objects_is_piv_aid(a->data, a->lc)) return SW_NOT_FOUND;
    if (a->p2 == 0x00) /* 0C: no response data wanted */
        vc_objects_apt(card, out);
    return SW_OK;
}

/* 00 CB 3F FF Lc 5C <tag> */
static uint16_t do_get_data(struct vc_card *card, const struct vc_apdu *a, struct vc_out *out)
{
    if (a->p1 != 0x3F || a->p2 != 0xFF) return SW_WRONG_P1P2;
    struct cur c, val;
    cur_init(&c, a->data, a->lc);
    uint32_t tag;
    if (!cur_ber_tlv(&c, &tag, &val) || tag != 0x5C || cur_left(&c) != 0 || cur_left(&val) < 1 ||
        cur_left(&val) > 3)
        return SW_WRONG_DATA;
    uint32_t obj = 0;
    while (cur_left(&val))
        obj = obj << 8 | cur_u8(&val);
    return vc_objects_find(card, obj, out) ? SW_OK : SW_NOT_FOUND;
}

/* 00 C0 00 00 Le: the next part of the pending answer. */
static uint16_t do_get_response(struct vc_card *card, const struct vc_apdu *a, struct vc_out *out)
{
    if (a->p1 != 0x00 || a->p2 != 0x00) return SW_WRONG_P1P2;
    if (!card->pending_len) return SW_CONDITIONS_NOT_SATISFIED;
    out->data = card->pending;
    out->len = card->pending_len;
    return SW_OK;
}

/* ---- GENERAL AUTHENTICATE ---------------------------------------------- */

#define KEY_REF_MANAGEMENT 0x9B

/* The dynamic authentication template 7C and what it carries. */
struct dyn_auth {
    bool has_witness, has_challenge, has_response, has_exponent;
    struct cur challenge, response, exponent;
};

static bool dyn_auth_parse(const struct vc_apdu *a, struct dyn_auth *d)
{
    *d = (struct dyn_auth){0};
    struct cur c, t;
    cur_init(&c, a->data, a->lc);
    uint32_t tag;
    if (!cur_ber_tlv(&c, &tag, &t) || tag != 0x7C || cur_left(&c) != 0) return false;
    while (cur_left(&t)) {
        struct cur v;
        if (!cur_ber_tlv(&t, &tag, &v)) return false;
        switch (tag) {
        case 0x80:
            d->has_witness = true;
            break;
        case 0x81:
            d->has_challenge = true;
            d->challenge = v;
            break;
        case 0x82:
            d->has_response = true;
            d->response = v;
            break;
        case 0x85:
            d->has_exponent = true;
            d->exponent = v;
            break;
        default:
            return false;
        }
    }
    return true;
}

/* SP 800-78-4 table 6-2: algorithms a client may name.  Naming one that
 * does not fit the key is wrong data; naming none of these is a bad P1. */
static bool alg_known(uint8_t alg)
{
    static const uint8_t algs[] = {0x00, 0x03, 0x05, 0x06, 0x07, 0x08, 0x0A, 0x0C, 0x11, 0x14};
    return memchr(algs, alg, sizeof algs) != NULL;
}

static int slot_of_key_ref(uint8_t key_ref)
{
    for (int i = 0; i < VC_NSLOTS; i++)
        if (vc_slot_key_ref[i] == key_ref) return i;
    return -1;
}

/* 9B with an empty challenge request (7C 02 81 00): OpenSC's GET CHALLENGE. */
static uint16_t auth_challenge(struct vc_card *card, const struct dyn_auth *d, struct vc_out *out)
{
    if (!d->has_challenge || cur_left(&d->challenge) != 0 || d->has_response || d->has_exponent)
        return SW_REF_NOT_FOUND; /* no card management key to authenticate with */
    struct wcur w;
    wcur_init_fixed(&w, card->scratch, sizeof card->scratch);
    size_t h = wcur_tlv_begin(&w, 0x7C);
    size_t h81 = wcur_tlv_begin(&w, 0x81);
    uint16_t sw = vc_crypto_random(8, &w);
    wcur_tlv_end(&w, h81);
    wcur_tlv_end(&w, h);
    if (sw != SW_OK || !wcur_ok(&w)) return sw != SW_OK ? sw : SW_WRONG_DATA;
    out->data = card->scratch;
    out->len = wcur_len(&w);
    return SW_OK;
}

static uint16_t auth_key_op(const struct vc_slot *s, const struct dyn_auth *d, struct wcur *w)
{
    bool rsa = s->alg == VC_ALG_RSA2048 || s->alg == VC_ALG_RSA3072;
    if (d->has_challenge == d->has_exponent) /* exactly one input */
        return SW_WRONG_DATA;
    struct cur in = d->has_challenge ? d->challenge : d->exponent;
    size_t n = cur_left(&in);
    if (n == 0) return SW_WRONG_DATA;
    const uint8_t *p = cur_bytes(&in, n);
    if (rsa) return d->has_challenge ? vc_crypto_rsa_raw(s->key, p, n, w) : SW_WRONG_DATA;
    return d->has_challenge ? vc_crypto_ecdsa(s->key, p, n, w) : vc_crypto_ecdh(s->key, p, n, w);
}

/* 00 87 alg key Lc 7C { 82 00, 81 <block or digest> | 85 <point> } */
static uint16_t do_general_auth(struct vc_card *card, const struct vc_apdu *a, struct vc_out *out)
{
    struct dyn_auth d;
    if (!dyn_auth_parse(a, &d)) return SW_WRONG_DATA;
    if (!alg_known(a->p1)) return SW_WRONG_P1P2;
    if (a->p2 == KEY_REF_MANAGEMENT) return auth_challenge(card, &d, out);
    int slot = slot_of_key_ref(a->p2);
    if (slot < 0) return SW_REF_NOT_FOUND;
    const struct vc_slot *s = &card->spec.slots[slot];
    if (!s->present || !s->key || s->alg == VC_ALG_NONE) return SW_REF_NOT_FOUND;
    if (a->p1 != s->alg) return SW_WRONG_DATA;
    bool pin_always = slot == VC_SLOT_9C;
    if (slot != VC_SLOT_9E && (!card->pin_verified || (pin_always && !card->pin_always)))
        return SW_SECURITY_STATUS;
    if (!d.has_response || cur_left(&d.response) != 0) return SW_WRONG_DATA;

    struct wcur w;
    wcur_init_fixed(&w, card->scratch, sizeof card->scratch);
    size_t h = wcur_tlv_begin(&w, 0x7C);
    size_t h82 = wcur_tlv_begin(&w, 0x82);
    uint16_t sw = auth_key_op(s, &d, &w);
    wcur_tlv_end(&w, h82);
    wcur_tlv_end(&w, h);
    if (sw != SW_OK) return sw;
    if (!wcur_ok(&w)) return SW_WRONG_DATA;
    if (pin_always) /* "PIN always": one signature per VERIFY */
        card->pin_always = false;
    out->data = card->scratch;
    out->len = wcur_len(&w);
    return SW_OK;
}

/* ---- the table ---------------------------------------------------------- */

static const struct ins_entry {
    uint8_t ins;
    const char *name;
    ins_handler handler;
    bool chains; /* may arrive in several links with CLA bit 0x10 */
} ins_table[] = {
    {0xA4, "SELECT", do_select, false},
    {0xCB, "GET DATA", do_get_data, true},
    {0x20, "VERIFY", do_verify, true},
    {0x24, "CHANGE REFERENCE DATA", do_change_reference, true},
    {0x2C, "RESET RETRY COUNTER", do_reset_retry, true},
    {0x87, "GENERAL AUTHENTICATE", do_general_auth, true},
    {0xC0, "GET RESPONSE", do_get_response, false},
};

static const struct ins_entry *ins_find(uint8_t ins)
{
    for (size_t i = 0; i < sizeof ins_table / sizeof ins_table[0]; i++)
        if (ins_table[i].ins == ins) return &ins_table[i];
    return NULL;
}

bool vc_piv_ins_known(uint8_t ins)
{
    return ins_find(ins) != NULL;
}

bool vc_piv_ins_chains(uint8_t ins)
{
    const struct ins_entry *e = ins_find(ins);
    return e && e->chains;
}

const char *vc_piv_ins_name(uint8_t ins)
{
    const struct ins_entry *e = ins_find(ins);
    return e ? e->name : "UNKNOWN";
}

uint16_t vc_piv_dispatch(struct vc_card *card, const struct vc_apdu *a, struct vc_out *out)
{
    const struct ins_entry *e = ins_find(a->ins);
    return e ? e->handler(card, a, out) : SW_INS_NOT_SUPPORTED;
}
