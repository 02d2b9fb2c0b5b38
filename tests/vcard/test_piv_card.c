/*
 * test_piv_card.c - the virtual PIV card answers APDUs the way OpenSC 0.23
 * and the Windows PIV minidriver expect: selection, objects, paging, PINs,
 * chaining and GENERAL AUTHENTICATE, checked with libcrypto.
 */
#include "vcard.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* Keys and certificates made once in main(); each test's card takes
 * references to them. */
static EVP_PKEY *rsa_key, *ec_key, *ec_key2;
static uint8_t *rsa_cert, *ec_cert, *ec_cert2;
static int rsa_cert_len, ec_cert_len, ec_cert2_len;

static const uint8_t test_guid[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                      0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x01};

/* Runs before the suite, so it reports failure by returning 0. */
static int make_cert(EVP_PKEY *key, const char *cn, uint8_t **der)
{
    X509 *x = X509_new();
    if (!x) return 0;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    *der = NULL;
    int n = X509_sign(x, key, EVP_sha256()) > 0 ? i2d_X509(x, der) : 0;
    X509_free(x);
    return n > 0 ? n : 0;
}

static void put_slot(struct vc_card_spec *spec, enum vc_slot_id id, EVP_PKEY *key,
                     const uint8_t *der, int len, enum vc_alg alg)
{
    struct vc_slot *s = &spec->slots[id];
    s->present = true;
    s->alg = alg;
    s->cert_der = malloc((size_t)len);
    memcpy(s->cert_der, der, (size_t)len);
    s->cert_len = (size_t)len;
    EVP_PKEY_up_ref(key);
    s->key = key;
}

/* 9A RSA-2048, 9C P-256, 9E another P-256; 9D absent. */
static struct vc_card *make_card(void)
{
    struct vc_card_spec spec = {0};
    snprintf(spec.holder, sizeof spec.holder, "Alice Example");
    memcpy(spec.guid, test_guid, sizeof test_guid);
    memset(spec.fascn, 0xD4, sizeof spec.fascn);
    strcpy(spec.pin, "123456");
    strcpy(spec.puk, "12345678");
    spec.pin_tries = 3;
    spec.puk_tries = 3;
    put_slot(&spec, VC_SLOT_9A, rsa_key, rsa_cert, rsa_cert_len, VC_ALG_RSA2048);
    put_slot(&spec, VC_SLOT_9C, ec_key, ec_cert, ec_cert_len, VC_ALG_P256);
    put_slot(&spec, VC_SLOT_9E, ec_key2, ec_cert2, ec_cert2_len, VC_ALG_P256);
    struct vc_card *card = vc_card_new(&spec);
    ck_assert_ptr_nonnull(card);
    return card;
}

/* ---- APDU helpers ------------------------------------------------------- */

static size_t tx_bytes(struct vc_card *c, const uint8_t *cmd, size_t n, uint8_t *resp)
{
    size_t r = vc_card_apdu(c, cmd, n, resp);
    ck_assert_uint_ge(r, 2);
    ck_assert_uint_le(r, VC_RESP_MAX);
    return r;
}

static size_t tx(struct vc_card *c, const char *hex, uint8_t *resp)
{
    uint8_t cmd[300];
    int n = scl_hex_decode(hex, cmd, sizeof cmd);
    ck_assert_int_ge(n, 0);
    return tx_bytes(c, cmd, (size_t)n, resp);
}

static unsigned sw(const uint8_t *resp, size_t n)
{
    return (unsigned)resp[n - 2] << 8 | resp[n - 1];
}

static unsigned tx_sw(struct vc_card *c, const char *hex)
{
    uint8_t r[VC_RESP_MAX];
    size_t n = tx(c, hex, r);
    return sw(r, n);
}

/* Send a command, then GET RESPONSE while the card says 61 xx; returns the
 * final SW and the reassembled data. */
static unsigned tx_all(struct vc_card *c, const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t r[VC_RESP_MAX];
    size_t n = tx(c, hex, r);
    *len = 0;
    for (;;) {
        ck_assert_uint_le(n - 2, 256);
        ck_assert_uint_le(*len + n - 2, cap);
        memcpy(out + *len, r, n - 2);
        *len += n - 2;
        if (r[n - 2] != 0x61) return sw(r, n);
        n = tx(c, "00 C0 00 00 00", r);
    }
}

static const char *const verify_good = "00 20 00 80 08 31 32 33 34 35 36 FF FF";
static const char *const verify_bad = "00 20 00 80 08 39 39 39 39 39 39 FF FF";

/* ---- ATR and selection -------------------------------------------------- */

START_TEST(test_atr_is_t1_with_valid_tck)
{
    struct vc_card *c = make_card();
    uint8_t atr[33];
    size_t n = vc_card_atr(c, atr, sizeof atr);
    ck_assert_uint_eq(n, 3 + 12 + 1);
    ck_assert_uint_eq(atr[0], 0x3B);
    ck_assert_uint_eq(atr[1] & 0x0F, 12);
    ck_assert_uint_eq(atr[2] & 0x0F, 1); /* TD1: T=1 first */
    uint8_t x = 0;
    for (size_t i = 1; i < n; i++)
        x ^= atr[i];
    ck_assert_uint_eq(x, 0);
    ck_assert_mem_eq(atr + 3, "scardlab PIV", 12);
    vc_card_free(c);
}
END_TEST

static void check_apt(const uint8_t *r, size_t n)
{
    ck_assert_uint_eq(sw(r, n), 0x9000);
    ck_assert_uint_eq(r[0], 0x61);
    ck_assert_uint_eq(r[1], n - 4);
    static const uint8_t pix[] = {0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x79,
                                  0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08};
    ck_assert_mem_eq(r + 2, pix, sizeof pix);
}

START_TEST(test_select_full_and_partial_aid_returns_apt)
{
    struct vc_card *c = make_card();
    uint8_t r[VC_RESP_MAX];
    check_apt(r, tx(c, "00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00", r));
    check_apt(r, tx(c, "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00", r));
    check_apt(r, tx(c, "00 A4 04 00 0A A0 00 00 03 08 00 00 10 00 01 00", r));
    ck_assert_uint_eq(tx_sw(c, "00 A4 04 0C 09 A0 00 00 03 08 00 00 10 00"), 0x9000);
    vc_card_free(c);
}
END_TEST

START_TEST(test_select_other_aid_6a82_keeps_piv_selected)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, "00 A4 04 00 07 A0 00 00 00 79 01 00 00"), 0x6A82);
    ck_assert_uint_eq(tx_sw(c, "00 A4 04 00 08 A0 00 00 03 08 00 00 10 00"), 0x6A82);
    ck_assert_uint_eq(tx_sw(c, "00 A4 00 0C 02 3F 00"), 0x6A82);
    /* PIV is still the application that answers */
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 03 5C 01 7E 00"), 0x9000);
    vc_card_free(c);
}
END_TEST

START_TEST(test_unknown_ins_6d00_and_cla_6e00)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, "00 CA 01 00 00"), 0x6D00);
    ck_assert_uint_eq(tx_sw(c, "00 FD 00 00 00"), 0x6D00);
    ck_assert_uint_eq(tx_sw(c, "80 56 01 00 00"), 0x6E00);
    ck_assert_uint_eq(tx_sw(c, "0C CB 3F FF 03 5C 01 7E 00"), 0x6E00);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 03 5C 01 7E 00"), 0x9000);
    vc_card_free(c);
}
END_TEST

/* ---- data objects and paging -------------------------------------------- */

START_TEST(test_discovery_object_bytes)
{
    struct vc_card *c = make_card();
    uint8_t r[VC_RESP_MAX];
    size_t n = tx(c, "00 CB 3F FF 03 5C 01 7E 00", r);
    static const uint8_t want[] = {0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03,
                                   0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x5F,
                                   0x2F, 0x02, 0x40, 0x00, 0x90, 0x00};
    ck_assert_uint_eq(n, sizeof want);
    ck_assert_mem_eq(r, want, sizeof want);
    vc_card_free(c);
}
END_TEST

START_TEST(test_get_data_probe_returns_53_82_header)
{
    struct vc_card *c = make_card();
    uint8_t r[VC_RESP_MAX];
    size_t n = tx(c, "00 CB 3F FF 05 5C 03 5F C1 05 08", r);
    ck_assert_uint_eq(n, 10);
    ck_assert_uint_eq(r[0], 0x53);
    ck_assert_uint_eq(r[1], 0x82);
    size_t body = (size_t)r[2] << 8 | r[3];
    ck_assert_uint_eq(body, 4 + (size_t)rsa_cert_len + 3 + 2);
    ck_assert_uint_eq(r[4], 0x70);
    ck_assert_uint_eq(r[8], 0x61);
    size_t rest = 4 + body - 8;
    ck_assert_uint_eq(r[9], rest > 255 ? 0 : rest);
    /* OpenSC then takes one GET RESPONSE it throws away */
    n = tx(c, "00 C0 00 00 00", r);
    ck_assert_uint_eq(r[n - 2], 0x61);
    vc_card_free(c);
}
END_TEST

static void read_cert_object(struct vc_card *c, const char *get_data, const uint8_t *der,
                             size_t der_len)
{
    uint8_t obj[4096];
    size_t len;
    ck_assert_uint_eq(tx_all(c, get_data, obj, sizeof obj, &len), 0x9000);
    struct cur cc, v53, v70, v71;
    cur_init(&cc, obj, len);
    uint32_t tag;
    ck_assert(cur_ber_tlv(&cc, &tag, &v53));
    ck_assert_uint_eq(tag, 0x53);
    ck_assert_uint_eq(cur_left(&cc), 0);
    ck_assert(cur_ber_find(&v53, 0x70, &v70));
    ck_assert_uint_eq(cur_left(&v70), der_len);
    ck_assert_mem_eq(v70.p + v70.off, der, der_len);
    ck_assert(cur_ber_find(&v53, 0x71, &v71));
    ck_assert_uint_eq(cur_left(&v71), 1);
    ck_assert_uint_eq(cur_u8(&v71), 0x00);
}

START_TEST(test_cert_read_via_get_response_is_exact_der)
{
    struct vc_card *c = make_card();
    read_cert_object(c, "00 CB 3F FF 05 5C 03 5F C1 05 00", rsa_cert, (size_t)rsa_cert_len);
    read_cert_object(c, "00 CB 3F FF 05 5C 03 5F C1 0A 00", ec_cert, (size_t)ec_cert_len);
    read_cert_object(c, "00 CB 3F FF 05 5C 03 5F C1 01 00", ec_cert2, (size_t)ec_cert2_len);
    vc_card_free(c);
}
END_TEST

START_TEST(test_response_never_exceeds_le)
{
    struct vc_card *c = make_card();
    uint8_t r[VC_RESP_MAX];
    size_t n = tx(c, "00 CB 3F FF 05 5C 03 5F C1 05 10", r);
    ck_assert_uint_eq(n, 0x10 + 2);
    ck_assert_uint_eq(r[n - 2], 0x61);
    n = tx(c, "00 C0 00 00 20", r);
    ck_assert_uint_eq(n, 0x20 + 2);
    ck_assert_uint_eq(r[n - 2], 0x61);
    vc_card_free(c);
}
END_TEST

START_TEST(test_get_response_without_pending_6985)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, "00 C0 00 00 00"), 0x6985);
    /* another command drops what was pending */
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 05 5C 03 5F C1 05 00") >> 8, 0x61);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80"), 0x63C3);
    ck_assert_uint_eq(tx_sw(c, "00 C0 00 00 00"), 0x6985);
    vc_card_free(c);
}
END_TEST

START_TEST(test_chuid_contains_guid)
{
    struct vc_card *c = make_card();
    uint8_t obj[512];
    size_t len;
    ck_assert_uint_eq(tx_all(c, "00 CB 3F FF 05 5C 03 5F C1 02 00", obj, sizeof obj, &len), 0x9000);
    struct cur cc, v53, v;
    cur_init(&cc, obj, len);
    uint32_t tag;
    ck_assert(cur_ber_tlv(&cc, &tag, &v53));
    ck_assert_uint_eq(tag, 0x53);
    ck_assert(cur_ber_find(&v53, 0x34, &v));
    ck_assert_uint_eq(cur_left(&v), 16);
    ck_assert_mem_eq(v.p + v.off, test_guid, 16);
    ck_assert(cur_ber_find(&v53, 0x30, &v));
    ck_assert_uint_eq(cur_left(&v), 25);
    ck_assert(cur_ber_find(&v53, 0x35, &v));
    ck_assert_uint_eq(cur_left(&v), 8);
    ck_assert(cur_ber_find(&v53, 0xFE, &v));
    vc_card_free(c);
}
END_TEST

START_TEST(test_ccc_has_card_identifier_and_versions)
{
    struct vc_card *c = make_card();
    uint8_t obj[512];
    size_t len;
    ck_assert_uint_eq(tx_all(c, "00 CB 3F FF 05 5C 03 5F C1 07 00", obj, sizeof obj, &len), 0x9000);
    struct cur cc, v53, v;
    cur_init(&cc, obj, len);
    uint32_t tag;
    ck_assert(cur_ber_tlv(&cc, &tag, &v53));
    ck_assert(cur_ber_find(&v53, 0xF0, &v));
    ck_assert_uint_eq(cur_left(&v), 21);
    ck_assert(cur_ber_find(&v53, 0xF1, &v));
    ck_assert_uint_eq(cur_u8(&v), 0x21);
    ck_assert(cur_ber_find(&v53, 0xF3, &v));
    ck_assert_uint_eq(cur_left(&v), 0); /* no CAC PKI: OpenSC must not treat it as dual CAC */
    vc_card_free(c);
}
END_TEST

START_TEST(test_absent_and_unknown_objects_6a82)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 05 5C 03 5F C1 0C 00"), 0x6A82); /* key history */
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 05 5C 03 5F C1 0B 00"), 0x6A82); /* 9D absent */
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 05 5C 03 5F C1 09 00"), 0x6A82);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 04 5C 02 7F 61 00"), 0x6A82);
    vc_card_free(c);
}
END_TEST

START_TEST(test_get_data_bad_request_6a80_6a86)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 05 5D 03 5F C1 05 00"), 0x6A80);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 05 5C 04 5F C1 05 00"), 0x6A80);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 06 5C 03 5F C1 05 00 00"), 0x6A80);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 02 5C 00 00"), 0x6A80);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 00"), 0x6A80);
    ck_assert_uint_eq(tx_sw(c, "00 CB 00 00 05 5C 03 5F C1 05 00"), 0x6A86);
    vc_card_free(c);
}
END_TEST

/* ---- PIN and PUK -------------------------------------------------------- */

START_TEST(test_verify_good_bad_and_status)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80"), 0x63C3);
    ck_assert_uint_eq(tx_sw(c, verify_bad), 0x63C2);
    ck_assert_uint_eq(vc_card_pin_tries_left(c), 2);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80"), 0x63C2);
    ck_assert_uint_eq(tx_sw(c, verify_good), 0x9000);
    ck_assert_uint_eq(vc_card_pin_tries_left(c), 3);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80"), 0x9000);
    ck_assert_uint_eq(tx_sw(c, "00 20 FF 80"), 0x9000); /* reset security status */
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80"), 0x63C3);
    vc_card_free(c);
}
END_TEST

START_TEST(test_verify_blocks_after_three_wrong)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, verify_bad), 0x63C2);
    ck_assert_uint_eq(tx_sw(c, verify_bad), 0x63C1);
    ck_assert_uint_eq(tx_sw(c, verify_bad), 0x63C0);
    ck_assert_uint_eq(tx_sw(c, verify_good), 0x6983);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80"), 0x6983);
    ck_assert_int_eq(vc_card_pin_tries_left(c), 0);
    vc_card_free(c);
}
END_TEST

START_TEST(test_verify_bad_params)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, "00 20 00 81 08 31 32 33 34 35 36 37 38"), 0x6A88);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 00 08 31 32 33 34 35 36 FF FF"), 0x6A88);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80 06 31 32 33 34 35 36"), 0x6700);
    ck_assert_uint_eq(tx_sw(c, "00 20 01 80 08 31 32 33 34 35 36 FF FF"), 0x6A86);
    ck_assert_int_eq(vc_card_pin_tries_left(c), 3);
    vc_card_free(c);
}
END_TEST

START_TEST(test_puk_reset_unblocks_pin)
{
    struct vc_card *c = make_card();
    for (int i = 0; i < 3; i++)
        tx_sw(c, verify_bad);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80"), 0x6983);
    /* wrong PUK counts down the PUK */
    ck_assert_uint_eq(tx_sw(c, "00 2C 00 80 10 31 31 31 31 31 31 31 31 "
                               "36 35 34 33 32 31 FF FF"),
                      0x63C2);
    ck_assert_uint_eq(tx_sw(c, "00 2C 00 80 10 31 32 33 34 35 36 37 38 "
                               "36 35 34 33 32 31 FF FF"),
                      0x9000);
    ck_assert_int_eq(vc_card_pin_tries_left(c), 3);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80 08 36 35 34 33 32 31 FF FF"), 0x9000);
    vc_card_free(c);
}
END_TEST

START_TEST(test_puk_blocks_after_three_wrong)
{
    struct vc_card *c = make_card();
    const char *bad = "00 2C 00 80 10 31 31 31 31 31 31 31 31 36 35 34 33 32 31 FF FF";
    ck_assert_uint_eq(tx_sw(c, bad), 0x63C2);
    ck_assert_uint_eq(tx_sw(c, bad), 0x63C1);
    ck_assert_uint_eq(tx_sw(c, bad), 0x63C0);
    ck_assert_uint_eq(tx_sw(c, "00 2C 00 80 10 31 32 33 34 35 36 37 38 "
                               "36 35 34 33 32 31 FF FF"),
                      0x6983);
    vc_card_free(c);
}
END_TEST

START_TEST(test_change_pin_and_puk)
{
    struct vc_card *c = make_card();
    /* new PIN too short: refused before the old one is tried */
    ck_assert_uint_eq(tx_sw(c, "00 24 00 80 10 31 32 33 34 35 36 FF FF "
                               "31 32 33 FF FF FF FF FF"),
                      0x6A80);
    ck_assert_int_eq(vc_card_pin_tries_left(c), 3);
    ck_assert_uint_eq(tx_sw(c, "00 24 00 80 10 39 39 39 39 39 39 FF FF "
                               "37 37 37 37 37 37 37 FF"),
                      0x63C2);
    ck_assert_uint_eq(tx_sw(c, "00 24 00 80 10 31 32 33 34 35 36 FF FF "
                               "37 37 37 37 37 37 37 FF"),
                      0x9000);
    ck_assert_uint_eq(tx_sw(c, verify_good), 0x63C2);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80 08 37 37 37 37 37 37 37 FF"), 0x9000);
    ck_assert_uint_eq(tx_sw(c, "00 24 00 81 10 31 32 33 34 35 36 37 38 "
                               "38 38 38 38 38 38 38 38"),
                      0x9000);
    ck_assert_uint_eq(tx_sw(c, "00 2C 00 80 10 38 38 38 38 38 38 38 38 "
                               "31 32 33 34 35 36 FF FF"),
                      0x9000);
    ck_assert_uint_eq(tx_sw(c, verify_good), 0x9000);
    vc_card_free(c);
}
END_TEST

/* ---- GENERAL AUTHENTICATE ----------------------------------------------- */

/* 7C 82 01 06 { 82 00, 81 82 01 00 <block> } chained at 255 bytes as OpenSC does. */
static unsigned ga_rsa_chained(struct vc_card *c, const uint8_t block[256], uint8_t *out,
                               size_t *out_len)
{
    uint8_t data[266];
    struct wcur w;
    wcur_init_fixed(&w, data, sizeof data);
    size_t h = wcur_tlv_begin(&w, 0x7C);
    wcur_tlv(&w, 0x82, NULL, 0);
    wcur_tlv(&w, 0x81, block, 256);
    wcur_tlv_end(&w, h);
    ck_assert(wcur_ok(&w));
    ck_assert_uint_eq(wcur_len(&w), 266);

    uint8_t cmd[300], r[VC_RESP_MAX];
    const uint8_t hdr1[] = {0x10, 0x87, 0x07, 0x9A, 0xFF};
    memcpy(cmd, hdr1, sizeof hdr1);
    memcpy(cmd + 5, data, 255);
    size_t n = tx_bytes(c, cmd, 5 + 255, r);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(sw(r, n), 0x9000);
    const uint8_t hdr2[] = {0x00, 0x87, 0x07, 0x9A, 0x0B};
    memcpy(cmd, hdr2, sizeof hdr2);
    memcpy(cmd + 5, data + 255, 11);
    cmd[5 + 11] = 0x00; /* Le */
    n = tx_bytes(c, cmd, 5 + 11 + 1, r);
    *out_len = 0;
    for (;;) {
        memcpy(out + *out_len, r, n - 2);
        *out_len += n - 2;
        if (r[n - 2] != 0x61) return sw(r, n);
        n = tx(c, "00 C0 00 00 00", r);
    }
}

static void rsa_block(uint8_t block[256])
{
    memset(block, 0xFF, 256);
    block[0] = 0x00;
    block[1] = 0x01;
    block[200] = 0x00;
    for (int i = 201; i < 256; i++)
        block[i] = (uint8_t)i;
}

START_TEST(test_ga_rsa_raw_chained_266_bytes_verifies)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, verify_good), 0x9000);
    uint8_t block[256], out[600];
    size_t len;
    rsa_block(block);
    ck_assert_uint_eq(ga_rsa_chained(c, block, out, &len), 0x9000);
    /* 7C 82 01 04 82 82 01 00 <256> */
    ck_assert_uint_eq(len, 264);
    ck_assert_uint_eq(out[0], 0x7C);
    ck_assert_uint_eq(out[4], 0x82);
    ck_assert_uint_eq(out[5], 0x82);
    ck_assert_uint_eq((size_t)out[6] << 8 | out[7], 256);
    /* s^e mod n with the public key gives the block back */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(rsa_key, NULL);
    ck_assert_int_gt(EVP_PKEY_encrypt_init(ctx), 0);
    ck_assert_int_gt(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 0);
    uint8_t back[256];
    size_t blen = sizeof back;
    ck_assert_int_gt(EVP_PKEY_encrypt(ctx, back, &blen, out + 8, 256), 0);
    EVP_PKEY_CTX_free(ctx);
    ck_assert_uint_eq(blen, 256);
    ck_assert_mem_eq(back, block, 256);
    vc_card_free(c);
}
END_TEST

START_TEST(test_ga_without_pin_6982)
{
    struct vc_card *c = make_card();
    uint8_t block[256], out[600];
    size_t len;
    rsa_block(block);
    ck_assert_uint_eq(ga_rsa_chained(c, block, out, &len), 0x6982);
    ck_assert_uint_eq(len, 0);
    vc_card_free(c);
}
END_TEST

/* 00 87 11 key 26 7C 24 82 00 81 20 <32-byte digest> 00 */
static unsigned ga_ecdsa(struct vc_card *c, uint8_t key_ref, const uint8_t digest[32], uint8_t *out,
                         size_t *out_len)
{
    uint8_t cmd[64], r[VC_RESP_MAX];
    struct wcur w;
    wcur_init_fixed(&w, cmd, sizeof cmd);
    const uint8_t hdr[] = {0x00, 0x87, 0x11, key_ref, 0x26};
    wcur_bytes(&w, hdr, sizeof hdr);
    size_t h = wcur_tlv_begin(&w, 0x7C);
    wcur_tlv(&w, 0x82, NULL, 0);
    wcur_tlv(&w, 0x81, digest, 32);
    wcur_tlv_end(&w, h);
    wcur_u8(&w, 0x00);
    ck_assert(wcur_ok(&w));
    size_t n = tx_bytes(c, cmd, wcur_len(&w), r);
    *out_len = n - 2;
    memcpy(out, r, n - 2);
    return sw(r, n);
}

static void check_ecdsa(const uint8_t *resp, size_t len, const uint8_t *cert, int cert_len,
                        const uint8_t digest[32])
{
    struct cur cc, v7c, v82;
    cur_init(&cc, resp, len);
    uint32_t tag;
    ck_assert(cur_ber_tlv(&cc, &tag, &v7c));
    ck_assert_uint_eq(tag, 0x7C);
    ck_assert(cur_ber_tlv(&v7c, &tag, &v82));
    ck_assert_uint_eq(tag, 0x82);
    const uint8_t *p = cert;
    X509 *x = d2i_X509(NULL, &p, cert_len);
    ck_assert_ptr_nonnull(x);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL);
    ck_assert_int_gt(EVP_PKEY_verify_init(ctx), 0);
    ck_assert_int_eq(EVP_PKEY_verify(ctx, v82.p + v82.off, cur_left(&v82), digest, 32), 1);
    EVP_PKEY_CTX_free(ctx);
    X509_free(x);
}

START_TEST(test_ga_ecdsa_p256_verifies_with_cert_key)
{
    struct vc_card *c = make_card();
    uint8_t digest[32], out[256];
    size_t len;
    for (int i = 0; i < 32; i++)
        digest[i] = (uint8_t)(i * 7 + 1);
    /* 9E (card authentication) needs no PIN */
    ck_assert_uint_eq(ga_ecdsa(c, 0x9E, digest, out, &len), 0x9000);
    check_ecdsa(out, len, ec_cert2, ec_cert2_len, digest);
    ck_assert_uint_eq(tx_sw(c, verify_good), 0x9000);
    ck_assert_uint_eq(ga_ecdsa(c, 0x9C, digest, out, &len), 0x9000);
    check_ecdsa(out, len, ec_cert, ec_cert_len, digest);
    vc_card_free(c);
}
END_TEST

START_TEST(test_ga_9c_needs_verify_before_each_signature)
{
    struct vc_card *c = make_card();
    uint8_t digest[32] = {1, 2, 3}, out[256];
    size_t len;
    ck_assert_uint_eq(ga_ecdsa(c, 0x9C, digest, out, &len), 0x6982);
    ck_assert_uint_eq(tx_sw(c, verify_good), 0x9000);
    ck_assert_uint_eq(ga_ecdsa(c, 0x9C, digest, out, &len), 0x9000);
    ck_assert_uint_eq(ga_ecdsa(c, 0x9C, digest, out, &len), 0x6982);
    ck_assert_uint_eq(tx_sw(c, verify_good), 0x9000);
    ck_assert_uint_eq(ga_ecdsa(c, 0x9C, digest, out, &len), 0x9000);
    /* 9A stays usable: the PIN itself is still verified */
    uint8_t block[256], rout[600];
    rsa_block(block);
    ck_assert_uint_eq(ga_rsa_chained(c, block, rout, &len), 0x9000);
    vc_card_free(c);
}
END_TEST

START_TEST(test_ga_bad_alg_key_and_template)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, verify_good), 0x9000);
    /* RSA alg against the P-256 key in 9C */
    ck_assert_uint_eq(tx_sw(c, "00 87 07 9C 06 7C 04 82 00 81 00 00"), 0x6A80);
    /* unknown alg */
    ck_assert_uint_eq(tx_sw(c, "00 87 42 9A 06 7C 04 82 00 81 00 00"), 0x6A86);
    /* 9D has no key; 85 is not a key reference we have */
    ck_assert_uint_eq(tx_sw(c, "00 87 07 9D 06 7C 04 82 00 81 00 00"), 0x6A88);
    ck_assert_uint_eq(tx_sw(c, "00 87 07 85 06 7C 04 82 00 81 00 00"), 0x6A88);
    /* not a 7C template, trailing bytes, short RSA block */
    ck_assert_uint_eq(tx_sw(c, "00 87 07 9A 06 7D 04 82 00 81 00 00"), 0x6A80);
    ck_assert_uint_eq(tx_sw(c, "00 87 07 9A 07 7C 04 82 00 81 00 00 00"), 0x6A80);
    ck_assert_uint_eq(tx_sw(c, "00 87 07 9A 08 7C 06 82 00 81 02 01 02 00"), 0x6A80);
    /* a witness (80) alone, or both 81 and 85, name no operation */
    ck_assert_uint_eq(tx_sw(c, "00 87 11 9C 08 7C 06 82 00 80 02 01 02 00"), 0x6A80);
    ck_assert_uint_eq(tx_sw(c, "00 87 11 9C 0A 7C 08 82 00 81 01 01 85 01 02 00"), 0x6A80);
    vc_card_free(c);
}
END_TEST

START_TEST(test_get_challenge_on_9b_returns_8_bytes)
{
    struct vc_card *c = make_card();
    uint8_t r[VC_RESP_MAX];
    size_t n = tx(c, "00 87 00 9B 04 7C 02 81 00 00", r);
    ck_assert_uint_eq(sw(r, n), 0x9000);
    ck_assert_uint_eq(n, 12 + 2);
    ck_assert_uint_eq(r[0], 0x7C);
    ck_assert_uint_eq(r[1], 0x0A);
    ck_assert_uint_eq(r[2], 0x81);
    ck_assert_uint_eq(r[3], 0x08);
    vc_card_free(c);
}
END_TEST

/* ---- framing and chaining ----------------------------------------------- */

START_TEST(test_malformed_apdus_get_67_00)
{
    struct vc_card *c = make_card();
    uint8_t r[VC_RESP_MAX];
    ck_assert_uint_eq(sw(r, tx_bytes(c, (const uint8_t *)"", 0, r)), 0x6700);
    ck_assert_uint_eq(tx_sw(c, "00"), 0x6700);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F"), 0x6700);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 05 5C 03"), 0x6700);          /* Lc past the end */
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 03 5C 01 7E 00 00"), 0x6700); /* two bytes extra */
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 00 00 03 5C 01 7E 00 00"), 0x6700); /* extended */
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 00 01 00"), 0x6700);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 03 5C 01 7E 00"), 0x9000);
    vc_card_free(c);
}
END_TEST

START_TEST(test_chain_that_changes_header_gets_68_83)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, "10 87 07 9A 02 7C 82"), 0x9000);
    ck_assert_uint_eq(tx_sw(c, "10 87 07 9C 02 01 06"), 0x6883);
    /* the chain was dropped: a plain command works again */
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 03 5C 01 7E 00"), 0x9000);
    ck_assert_uint_eq(tx_sw(c, "10 CB 3F FF 02 5C 01"), 0x9000);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80"), 0x6883);
    /* chaining is refused for GET RESPONSE and unknown INS */
    ck_assert_uint_eq(tx_sw(c, "10 C0 00 00 00"), 0x6884);
    ck_assert_uint_eq(tx_sw(c, "10 55 00 00 01 00"), 0x6D00);
    vc_card_free(c);
}
END_TEST

START_TEST(test_get_data_in_two_links_works)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, "10 CB 3F FF 02 5C 01"), 0x9000);
    uint8_t r[VC_RESP_MAX];
    size_t n = tx(c, "00 CB 3F FF 01 7E 00", r);
    ck_assert_uint_eq(sw(r, n), 0x9000);
    ck_assert_uint_eq(r[0], 0x7E);
    vc_card_free(c);
}
END_TEST

START_TEST(test_oversize_chain_gets_67_00)
{
    struct vc_card *c = make_card();
    char hex[5 * 3 + 255 * 3 + 1];
    int off = snprintf(hex, sizeof hex, "10 87 07 9A FF");
    for (int i = 0; i < 255; i++)
        off += snprintf(hex + off, sizeof hex - (size_t)off, " 00");
    unsigned last = 0;
    int links = 0;
    while ((last = tx_sw(c, hex)) == 0x9000)
        ck_assert_int_lt(++links, 100);
    ck_assert_uint_eq(last, 0x6700);
    ck_assert_int_eq(links, 4096 / 255);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 03 5C 01 7E 00"), 0x9000);
    vc_card_free(c);
}
END_TEST

START_TEST(test_reset_clears_pin_and_pending)
{
    struct vc_card *c = make_card();
    ck_assert_uint_eq(tx_sw(c, verify_good), 0x9000);
    ck_assert_uint_eq(tx_sw(c, "00 CB 3F FF 05 5C 03 5F C1 05 00") >> 8, 0x61);
    vc_card_reset(c);
    ck_assert_uint_eq(tx_sw(c, "00 C0 00 00 00"), 0x6985);
    ck_assert_uint_eq(tx_sw(c, "00 20 00 80"), 0x63C3);
    vc_card_free(c);
}
END_TEST

static Suite *piv_suite(void)
{
    Suite *s = suite_create("piv_card");
    TCase *t = tcase_create("apdu");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_atr_is_t1_with_valid_tck);
    tcase_add_test(t, test_select_full_and_partial_aid_returns_apt);
    tcase_add_test(t, test_select_other_aid_6a82_keeps_piv_selected);
    tcase_add_test(t, test_unknown_ins_6d00_and_cla_6e00);
    tcase_add_test(t, test_discovery_object_bytes);
    tcase_add_test(t, test_get_data_probe_returns_53_82_header);
    tcase_add_test(t, test_cert_read_via_get_response_is_exact_der);
    tcase_add_test(t, test_response_never_exceeds_le);
    tcase_add_test(t, test_get_response_without_pending_6985);
    tcase_add_test(t, test_chuid_contains_guid);
    tcase_add_test(t, test_ccc_has_card_identifier_and_versions);
    tcase_add_test(t, test_absent_and_unknown_objects_6a82);
    tcase_add_test(t, test_get_data_bad_request_6a80_6a86);
    tcase_add_test(t, test_verify_good_bad_and_status);
    tcase_add_test(t, test_verify_blocks_after_three_wrong);
    tcase_add_test(t, test_verify_bad_params);
    tcase_add_test(t, test_puk_reset_unblocks_pin);
    tcase_add_test(t, test_puk_blocks_after_three_wrong);
    tcase_add_test(t, test_change_pin_and_puk);
    tcase_add_test(t, test_ga_rsa_raw_chained_266_bytes_verifies);
    tcase_add_test(t, test_ga_without_pin_6982);
    tcase_add_test(t, test_ga_ecdsa_p256_verifies_with_cert_key);
    tcase_add_test(t, test_ga_9c_needs_verify_before_each_signature);
    tcase_add_test(t, test_ga_bad_alg_key_and_template);
    tcase_add_test(t, test_get_challenge_on_9b_returns_8_bytes);
    tcase_add_test(t, test_malformed_apdus_get_67_00);
    tcase_add_test(t, test_chain_that_changes_header_gets_68_83);
    tcase_add_test(t, test_get_data_in_two_links_works);
    tcase_add_test(t, test_oversize_chain_gets_67_00);
    tcase_add_test(t, test_reset_clears_pin_and_pending);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    rsa_key = EVP_RSA_gen(2048);
    ec_key = EVP_EC_gen("P-256");
    ec_key2 = EVP_EC_gen("P-256");
    if (!rsa_key || !ec_key || !ec_key2) return 1;
    rsa_cert_len = make_cert(rsa_key, "Alice 9A", &rsa_cert);
    ec_cert_len = make_cert(ec_key, "Alice 9C", &ec_cert);
    ec_cert2_len = make_cert(ec_key2, "Alice 9E", &ec_cert2);
    if (!rsa_cert_len || !ec_cert_len || !ec_cert2_len) return 1;

    SRunner *sr = srunner_create(piv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(ec_key2);
    OPENSSL_free(rsa_cert);
    OPENSSL_free(ec_cert);
    OPENSSL_free(ec_cert2);
    return failed ? 1 : 0;
}
