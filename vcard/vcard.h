/*
 * vcard.h - a virtual PIV smart card (NIST SP 800-73-4 subset) and its test PKI.
 *
 * Promises: load a card file into a typed card spec (file:line errors);
 * run a card that answers ISO 7816-4 APDUs the way OpenSC 0.23 and the
 * Windows inbox PIV minidriver expect; serve it over vsmartcard's vpcd
 * protocol on a connected socket; mint a test CA, user certificates and a
 * card file with libcrypto.  Does not know about pcscd, labs or RDP.
 */
#ifndef SCL_VCARD_H
#define SCL_VCARD_H

#include "common.h"

#include <openssl/types.h>
#include <signal.h>

/* PIV key references and their certificate objects. */
enum vc_slot_id { VC_SLOT_9A, VC_SLOT_9C, VC_SLOT_9D, VC_SLOT_9E, VC_NSLOTS };

/* PIV algorithm identifiers (SP 800-78-4 table 6-2). */
enum vc_alg {
    VC_ALG_NONE = 0,
    VC_ALG_RSA3072 = 0x05,
    VC_ALG_RSA2048 = 0x07,
    VC_ALG_P256 = 0x11,
    VC_ALG_P384 = 0x14,
};

struct vc_slot {
    bool present;
    enum vc_alg alg;
    uint8_t *cert_der; /* owned */
    size_t cert_len;
    EVP_PKEY *key; /* owned; private key */
};

#define VC_PIN_MAX 8

/* What a card file declares, parsed and checked. */
struct vc_card_spec {
    char holder[128];
    uint8_t guid[16];  /* CHUID GUID, unique per card */
    uint8_t fascn[25]; /* CHUID FASC-N */
    char pin[VC_PIN_MAX + 1];
    char puk[VC_PIN_MAX + 1];
    int pin_tries, puk_tries; /* retry limits */
    struct vc_slot slots[VC_NSLOTS];
};

extern const uint8_t vc_slot_key_ref[VC_NSLOTS];   /* 9A 9C 9D 9E */
extern const uint32_t vc_slot_object_tag[VC_NSLOTS]; /* 5FC105 5FC10A 5FC10B 5FC101 */
const char *vc_slot_name(enum vc_slot_id s);         /* "9a" ... */
const char *vc_alg_name(enum vc_alg a);              /* "rsa2048" ... */
/* Parse "9a"/"9A" -> slot; -1 if not a PIV key slot we emulate. */
int vc_slot_parse(const char *s);
int vc_alg_parse(const char *s); /* "rsa2048"... -> enum, -1 if unknown */
/* The PIV algorithm of a private key; VC_ALG_NONE if not one we emulate. */
enum vc_alg vc_alg_of_key(const EVP_PKEY *key);

int vc_card_file_load(const char *path, struct vc_card_spec *spec, struct scl_err *e);
/* The parser behind vc_card_file_load, over bytes already read (fuzzers use
 * it): name prefixes messages, relative cert=/key= paths start at base_dir.
 * On error spec holds nothing to free. */
#define VC_CARD_FILE_MAX (64 * 1024)
int vc_card_file_parse(const char *name, const uint8_t *buf, size_t len, const char *base_dir,
                       struct vc_card_spec *spec, struct scl_err *e);
void vc_card_spec_free(struct vc_card_spec *spec);

/* ---- the card ---------------------------------------------------------- */

struct vc_card;

/* Takes ownership of spec's buffers and keys (spec is zeroed). */
struct vc_card *vc_card_new(struct vc_card_spec *spec);
void vc_card_free(struct vc_card *card);
/* The ATR; returns its length. */
size_t vc_card_atr(const struct vc_card *card, uint8_t *out, size_t cap);
/* Power on / reset: PIV selected, security status cleared, chains dropped. */
void vc_card_reset(struct vc_card *card);
/* One command APDU in, one response APDU (data + SW1 SW2) out.  Never fails:
 * bad input gets an ISO status word.  resp must hold VC_RESP_MAX bytes. */
#define VC_RESP_MAX (256 + 2)
size_t vc_card_apdu(struct vc_card *card, const uint8_t *cmd, size_t len, uint8_t *resp);
/* PIN retries left (for tests and traces). */
int vc_card_pin_tries_left(const struct vc_card *card);
/* The instruction's name as the card's INS table spells it ("GET DATA"),
 * "UNKNOWN" for one the card does not implement; for traces. */
const char *vc_piv_ins_name(uint8_t ins);

/* ---- vpcd link ---------------------------------------------------------- */

/* Connect to vpcd at host:port, retrying until timeout_ms.  Sets TCP_NODELAY. */
int vc_vpcd_connect(const char *host, int port, int timeout_ms, struct scl_err *e);
/* Serve the card on a connected vpcd socket until the peer closes it or
 * *stop becomes non-zero.  Re-arms TCP_QUICKACK after every read and writes
 * each reply in one send, so no APDU waits on delayed ACK. */
int vc_vpcd_serve(struct vc_card *card, int fd, volatile sig_atomic_t *stop, struct scl_err *e);

/* ---- test PKI ----------------------------------------------------------- */

struct vc_mint_opts {
    const char *out_dir;    /* created; receives card.conf, certs, keys */
    const char *holder;     /* "Firstname Lastname" -> CN */
    const char *upn;        /* optional UPN (and e-mail) SAN */
    const char *serial_hex; /* optional serial, spaced or not */
    const char *ca_dir;     /* optional existing CA (ca.crt, ca.key); else minted into out_dir/ca */
    const char *pin, *puk;  /* defaults 123456 / 12345678 */
    unsigned slots;         /* bit per enum vc_slot_id; 0 = all four */
    enum vc_alg alg;        /* default RSA-2048 */
};
int vc_pki_mint(const struct vc_mint_opts *o, struct scl_err *e);

/* ---- commands ----------------------------------------------------------- */

int vc_cmd_pki(int argc, char **argv);  /* scardlab pki mint ... */
int vc_cmd_card_serve(int argc, char **argv); /* scardlab card-serve (internal) */

#endif
