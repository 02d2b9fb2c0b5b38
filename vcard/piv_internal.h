/*
 * piv_internal.h - private to vcard/: the card's state, the typed command
 * APDU, and the seams between card.c (framing, chaining, paging),
 * piv_apdu.c (INS table), piv_objects.c (data objects) and piv_crypto.c.
 * Nothing outside vcard/ includes this; the public face is vcard.h.
 */
#ifndef SCL_PIV_INTERNAL_H
#define SCL_PIV_INTERNAL_H

#include "vcard.h"

/* ISO 7816-4 status words we answer with. */
enum {
    SW_OK = 0x9000,
    SW_BYTES_REMAINING = 0x6100, /* | remaining (00 = 256 or more) */
    SW_VERIFY_FAILED = 0x63C0,   /* | tries left */
    SW_WRONG_LENGTH = 0x6700,
    SW_LAST_CMD_EXPECTED = 0x6883,
    SW_CHAINING_UNSUPPORTED = 0x6884,
    SW_SECURITY_STATUS = 0x6982,
    SW_AUTH_BLOCKED = 0x6983,
    SW_CONDITIONS_NOT_SATISFIED = 0x6985,
    SW_WRONG_DATA = 0x6A80,
    SW_NOT_FOUND = 0x6A82,
    SW_WRONG_P1P2 = 0x6A86,
    SW_REF_NOT_FOUND = 0x6A88,
    SW_INS_NOT_SUPPORTED = 0x6D00,
    SW_CLA_NOT_SUPPORTED = 0x6E00,
};

#define VC_CLA_CHAIN 0x10
#define VC_CHAIN_MAX 4096   /* largest command data we accumulate */
#define VC_SCRATCH_MAX 1024 /* largest computed response (RSA-3072 + TLV) */
#define VC_PIN_LEN 8        /* PIV reference data is always padded to 8 */

/* One command APDU, parsed and checked (short form only). */
struct vc_apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* lc bytes */
    size_t lc;
    size_t le; /* Ne: 1..256; 256 when absent or 00 */
    bool has_le;
};

/* A PIN or PUK: padded reference data and its retry counter. */
struct vc_ref {
    uint8_t value[VC_PIN_LEN];
    int limit, left;
};

/* Response data a handler produces; card.c pages it out. */
struct vc_out {
    const uint8_t *data;
    size_t len;
};

struct vc_obj {
    uint8_t *bytes; /* complete GET DATA answer, pre-encoded */
    size_t len;
};

struct vc_card {
    struct vc_card_spec spec; /* owns keys and certificates */
    struct vc_ref pin, puk;
    bool pin_verified;
    bool pin_always; /* one 9C operation allowed since the last VERIFY */

    struct vc_obj apt, chuid, ccc, certs[VC_NSLOTS];

    /* Response chaining: what GET RESPONSE continues with. */
    const uint8_t *pending;
    size_t pending_len;

    /* Command chaining (CLA bit 0x10). */
    bool chaining;
    uint8_t chain_ins, chain_p1, chain_p2;
    size_t chain_len;
    uint8_t chain_buf[VC_CHAIN_MAX];

    uint8_t scratch[VC_SCRATCH_MAX]; /* computed responses live here */
};

/* card.c */
uint16_t vc_apdu_parse(const uint8_t *cmd, size_t len, struct vc_apdu *a);

/* piv_apdu.c: run one complete (de-chained) command. */
uint16_t vc_piv_dispatch(struct vc_card *card, const struct vc_apdu *a, struct vc_out *out);
/* Whether INS may be sent with CLA bit 0x10; false for unknown INS. */
bool vc_piv_ins_chains(uint8_t ins);
bool vc_piv_ins_known(uint8_t ins);

/* piv_objects.c */
bool vc_objects_build(struct vc_card *card);
void vc_objects_free(struct vc_card *card);
/* The GET DATA answer for an object tag (0x7E, 0x5FC102, ...). */
bool vc_objects_find(const struct vc_card *card, uint32_t tag, struct vc_out *out);
/* The SELECT answer: application property template 61. */
void vc_objects_apt(const struct vc_card *card, struct vc_out *out);
/* Whether an AID in a SELECT names the PIV application (full or truncated). */
bool vc_objects_is_piv_aid(const uint8_t *aid, size_t n);

/* piv_crypto.c: each returns an SW and writes the raw result into out. */
uint16_t vc_crypto_rsa_raw(EVP_PKEY *key, const uint8_t *in, size_t n, struct wcur *out);
uint16_t vc_crypto_ecdsa(EVP_PKEY *key, const uint8_t *digest, size_t n, struct wcur *out);
uint16_t vc_crypto_ecdh(EVP_PKEY *key, const uint8_t *point, size_t n, struct wcur *out);
uint16_t vc_crypto_random(size_t n, struct wcur *out);

#endif
