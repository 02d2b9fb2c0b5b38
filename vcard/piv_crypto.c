/*
 * piv_crypto.c - the private-key operations behind GENERAL AUTHENTICATE:
 * raw RSA, ECDSA over a caller's digest, ECDH, card random; all libcrypto
 * EVP.  Not for TLV framing, key references or access rules (piv_apdu.c).
 */
#include "piv_internal.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <string.h>

#define RSA_MAX_BYTES 512   /* RSA-4096 would fit; we emulate up to 3072 */
#define ECDSA_MAX_DIGEST 64 /* SHA-512; libcrypto truncates to the order */

static const struct {
    int base_id;
    int bits;          /* RSA modulus bits */
    const char *group; /* EC curve name as libcrypto spells it */
    enum vc_alg alg;
} key_algs[] = {
    {EVP_PKEY_RSA, 2048, NULL, VC_ALG_RSA2048},
    {EVP_PKEY_RSA, 3072, NULL, VC_ALG_RSA3072},
    {EVP_PKEY_EC, 0, "prime256v1", VC_ALG_P256},
    {EVP_PKEY_EC, 0, "secp384r1", VC_ALG_P384},
};

enum vc_alg vc_alg_of_key(const EVP_PKEY *key)
{
    if (!key) return VC_ALG_NONE;
    char group[64] = "";
    int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_EC && !EVP_PKEY_get_group_name(key, group, sizeof group, NULL))
        return VC_ALG_NONE;
    for (size_t i = 0; i < sizeof key_algs / sizeof key_algs[0]; i++) {
        if (key_algs[i].base_id != id) continue;
        if (key_algs[i].group ? strcmp(group, key_algs[i].group) == 0
                              : EVP_PKEY_get_bits(key) == key_algs[i].bits)
            return key_algs[i].alg;
    }
    return VC_ALG_NONE;
}

/* The client (OpenSC, the minidriver) has already padded the block, so the
 * card does only m^d mod n.  Any input that is not a full-size block less
 * than the modulus is wrong data. */
uint16_t vc_crypto_rsa_raw(EVP_PKEY *key, const uint8_t *in, size_t n, struct wcur *out)
{
    int size = EVP_PKEY_get_size(key);
    if (size <= 0 || size > RSA_MAX_BYTES || n != (size_t)size) return SW_WRONG_DATA;
    uint8_t buf[RSA_MAX_BYTES];
    size_t len = sizeof buf;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    bool ok = ctx && EVP_PKEY_decrypt_init(ctx) > 0 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) > 0 &&
              EVP_PKEY_decrypt(ctx, buf, &len, in, n) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return SW_WRONG_DATA; /* block >= modulus */
    wcur_bytes(out, buf, len);
    OPENSSL_cleanse(buf, sizeof buf);
    return SW_OK;
}

/* ECDSA over the digest the client sends; the answer is the DER
 * SEQUENCE { r INTEGER, s INTEGER } that SP 800-73-4 asks for. */
uint16_t vc_crypto_ecdsa(EVP_PKEY *key, const uint8_t *digest, size_t n, struct wcur *out)
{
    if (n == 0 || n > ECDSA_MAX_DIGEST) return SW_WRONG_DATA;
    uint8_t sig[160]; /* P-384 DER signature is at most 104 bytes */
    size_t len = sizeof sig;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    bool ok = ctx && EVP_PKEY_sign_init(ctx) > 0 && EVP_PKEY_sign(ctx, sig, &len, digest, n) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return SW_WRONG_DATA;
    wcur_bytes(out, sig, len);
    return SW_OK;
}

/* Key agreement (tag 85): the peer's uncompressed point in, the shared
 * secret's x coordinate out. */
uint16_t vc_crypto_ecdh(EVP_PKEY *key, const uint8_t *point, size_t n, struct wcur *out)
{
    uint8_t z[66];
    size_t len = sizeof z;
    EVP_PKEY *peer = EVP_PKEY_new();
    EVP_PKEY_CTX *ctx = NULL;
    bool ok = peer && EVP_PKEY_copy_parameters(peer, key) > 0 &&
              EVP_PKEY_set1_encoded_public_key(peer, point, n) > 0 &&
              (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) != NULL &&
              EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, peer) > 0 &&
              EVP_PKEY_derive(ctx, z, &len) > 0;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    if (!ok) return SW_WRONG_DATA;
    wcur_bytes(out, z, len);
    OPENSSL_cleanse(z, sizeof z);
    return SW_OK;
}

uint16_t vc_crypto_random(size_t n, struct wcur *out)
{
    uint8_t buf[64];
    if (n > sizeof buf || RAND_bytes(buf, (int)n) != 1) return SW_WRONG_DATA;
    wcur_bytes(out, buf, n);
    return SW_OK;
}
