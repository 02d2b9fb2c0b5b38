/*
 * spec.c - PIV slot and algorithm names, and the lifetime of a card spec.
 * Shared vocabulary for the card file parser, the minting code and the card.
 * Not for parsing card files or answering APDUs.
 */
#include "vcard.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const uint8_t vc_slot_key_ref[VC_NSLOTS] = {0x9A, 0x9C, 0x9D, 0x9E};
const uint32_t vc_slot_object_tag[VC_NSLOTS] = {0x5FC105, 0x5FC10A, 0x5FC10B, 0x5FC101};

static const char *const slot_names[VC_NSLOTS] = {"9a", "9c", "9d", "9e"};

static const struct {
    enum vc_alg alg;
    const char *name;
} alg_names[] = {
    {VC_ALG_RSA2048, "rsa2048"},
    {VC_ALG_RSA3072, "rsa3072"},
    {VC_ALG_P256, "p256"},
    {VC_ALG_P384, "p384"},
};

const char *vc_slot_name(enum vc_slot_id s)
{
    return (unsigned)s < VC_NSLOTS ? slot_names[s] : "?";
}

const char *vc_alg_name(enum vc_alg a)
{
    for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
        if (alg_names[i].alg == a) return alg_names[i].name;
    return "none";
}

int vc_slot_parse(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < VC_NSLOTS; i++)
        if (strcasecmp(s, slot_names[i]) == 0) return i;
    return -1;
}

int vc_alg_parse(const char *s)
{
    if (!s) return -1;
    for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
        if (strcasecmp(s, alg_names[i].name) == 0) return (int)alg_names[i].alg;
    return -1;
}

void vc_card_spec_free(struct vc_card_spec *spec)
{
    if (!spec) return;
    for (int i = 0; i < VC_NSLOTS; i++) {
        free(spec->slots[i].cert_der);
        EVP_PKEY_free(spec->slots[i].key);
    }
    /* The PIN and PUK are secrets; do not leave them in freed memory. */
    OPENSSL_cleanse(spec, sizeof *spec);
}
