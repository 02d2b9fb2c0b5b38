/*
 * test_pcsc_card.c - the PIV reader certprop uses, fed bytes: the 53{70,71,FE}
 * and CHUID parsers, container names, and the APDU sequence over a scripted
 * card (61 xx paging, 6C xx, 6A 82, non-PIV cards, a card pulled mid-read).
 */
#include "propagator.h"

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* ---- test material ------------------------------------------------------ */

static uint8_t *make_cert(const char *cn, size_t *len)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(k);
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
    uint8_t *der = NULL;
    int n = i2d_X509(x, &der);
    ck_assert_int_gt(n, 0);
    *len = (size_t)n;
    X509_free(x);
    EVP_PKEY_free(k);
    return der;
}

/* 53 { 70 der, 71 certinfo, FE } as a card stores it. */
static uint8_t *make_cert_object(const uint8_t *der, size_t len, uint8_t certinfo, size_t *n)
{
    struct wcur w;
    wcur_init_dyn(&w);
    size_t h = wcur_tlv_begin(&w, 0x53);
    wcur_tlv(&w, 0x70, der, len);
    wcur_tlv(&w, 0x71, &certinfo, 1);
    wcur_tlv(&w, 0xFE, NULL, 0);
    wcur_tlv_end(&w, h);
    return wcur_take(&w, n);
}

static const uint8_t test_guid[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static uint8_t *make_chuid(const uint8_t *guid, size_t guid_len, size_t *n)
{
    uint8_t fascn[25] = {0xd4, 0x32};
    struct wcur w;
    wcur_init_dyn(&w);
    size_t h = wcur_tlv_begin(&w, 0x53);
    wcur_tlv(&w, 0x30, fascn, sizeof fascn);
    if (guid) wcur_tlv(&w, 0x34, guid, guid_len);
    wcur_tlv(&w, 0x35, "20301231", 8);
    wcur_tlv(&w, 0x3E, NULL, 0);
    wcur_tlv(&w, 0xFE, NULL, 0);
    wcur_tlv_end(&w, h);
    return wcur_take(&w, n);
}

/* ---- a scripted card ---------------------------------------------------- */

struct fake_obj {
    uint32_t tag;
    uint8_t *blob;
    size_t len;
};

struct fake_card {
    struct fake_obj objs[6];
    size_t nobjs;
    bool not_piv;
    bool answer_6c; /* first GET DATA with Le 00 gets 6C <exact length> */
    size_t chunk;   /* bytes per response before 61 xx */
    int pull_at;    /* APDU number (1-based) at which the card is "pulled"; 0 never */
    int napdus;
    const uint8_t *pending;
    size_t pending_left;
};

static void fake_add(struct fake_card *f, uint32_t tag, uint8_t *blob, size_t len)
{
    f->objs[f->nobjs++] = (struct fake_obj){tag, blob, len};
}

static void fake_add_cert(struct fake_card *f, uint32_t tag, const uint8_t *der, size_t len,
                          uint8_t certinfo)
{
    size_t n;
    uint8_t *obj = make_cert_object(der, len, certinfo, &n);
    fake_add(f, tag, obj, n);
}

static void fake_free(struct fake_card *f)
{
    for (size_t i = 0; i < f->nobjs; i++)
        free(f->objs[i].blob);
}

static size_t fake_sw(uint8_t *resp, size_t off, unsigned sw)
{
    resp[off] = (uint8_t)(sw >> 8);
    resp[off + 1] = (uint8_t)sw;
    return off + 2;
}

static size_t fake_page(struct fake_card *f, uint8_t *resp)
{
    size_t n = f->pending_left < f->chunk ? f->pending_left : f->chunk;
    memcpy(resp, f->pending, n);
    f->pending += n;
    f->pending_left -= n;
    if (!f->pending_left) return fake_sw(resp, n, 0x9000);
    return fake_sw(resp, n, 0x6100 | (f->pending_left > 255 ? 0 : f->pending_left));
}

static size_t fake_get_data(struct fake_card *f, struct cur *c, uint8_t *resp)
{
    cur_skip(c, 2); /* P1 P2 */
    uint8_t lc = cur_u8(c);
    struct cur data, tl;
    cur_sub(c, lc, &data);
    uint8_t le = cur_u8(c);
    uint32_t tag;
    ck_assert(cur_ber_tlv(&data, &tag, &tl) && tag == 0x5C && cur_left(&tl) == 3);
    uint32_t obj = (uint32_t)cur_u8(&tl) << 16 | cur_u16be(&tl);
    for (size_t i = 0; i < f->nobjs; i++) {
        if (f->objs[i].tag != obj) continue;
        if (f->answer_6c && le == 0 && f->objs[i].len < 256)
            return fake_sw(resp, 0, 0x6C00 | f->objs[i].len);
        f->pending = f->objs[i].blob;
        f->pending_left = f->objs[i].len;
        return fake_page(f, resp);
    }
    return fake_sw(resp, 0, 0x6A82);
}

static int fake_transmit(void *ctx, const uint8_t *cmd, size_t len, uint8_t *resp, size_t *rlen,
                         struct scl_err *e)
{
    struct fake_card *f = ctx;
    struct cur c;
    if (++f->napdus == f->pull_at)
        return scl_errf(e, SCL_E_STATE, "SCardTransmit: Card was removed");
    cur_init(&c, cmd, len);
    cur_u8(&c);
    uint8_t ins = cur_u8(&c);
    if (ins == 0xA4)
        *rlen = fake_sw(resp, 0, f->not_piv ? 0x6A82 : 0x9000);
    else if (ins == 0xCB)
        *rlen = fake_get_data(f, &c, resp);
    else if (ins == 0xC0)
        *rlen = fake_page(f, resp);
    else
        *rlen = fake_sw(resp, 0, 0x6D00);
    return SCL_OK;
}

/* A card with a CHUID and certificates in 9A and 9D. */
static void fake_standard(struct fake_card *f, uint8_t **der9a, size_t *len9a)
{
    size_t n;
    memset(f, 0, sizeof *f);
    f->chunk = 256;
    uint8_t *chuid = make_chuid(test_guid, 16, &n);
    fake_add(f, 0x5FC102, chuid, n);
    *der9a = make_cert("Firstname Lastname", len9a);
    fake_add_cert(f, 0x5FC105, *der9a, *len9a, 0x00);
    size_t l9d;
    uint8_t *d9d = make_cert("Key Management", &l9d);
    fake_add_cert(f, 0x5FC10B, d9d, l9d, 0x00);
    OPENSSL_free(d9d);
}

static int read_fake(struct fake_card *f, struct cp_card *card, struct scl_err *e)
{
    struct cp_apdu_io io = {fake_transmit, f};
    memset(card, 0, sizeof *card);
    return cp_piv_read_card(&io, card, e);
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(test_container_name_replaces_last_three_guid_bytes_with_object_tag)
{
    char name[CP_CONTAINER_NAME_MAX];
    cp_container_name(test_guid, 0x5FC105, name);
    ck_assert_str_eq(name, "00112233-4455-6677-8899-aabbcc5fc105");
    cp_container_name(test_guid, 0x5FC101, name);
    ck_assert_str_eq(name, "00112233-4455-6677-8899-aabbcc5fc101");
}
END_TEST

START_TEST(test_cert_object_parse_returns_der_and_certinfo)
{
    size_t dlen, n, got_len = 0;
    uint8_t *der = make_cert("A", &dlen);
    uint8_t *obj = make_cert_object(der, dlen, 0x00, &n);
    const uint8_t *got = NULL;
    bool compressed = true;
    struct scl_err e;
    ck_assert_int_eq(cp_piv_parse_cert_object(obj, n, &got, &got_len, &compressed, &e), SCL_OK);
    ck_assert_uint_eq(got_len, dlen);
    ck_assert(!memcmp(got, der, dlen));
    ck_assert(!compressed);
    free(obj);
    obj = make_cert_object(der, dlen, 0x01, &n);
    ck_assert_int_eq(cp_piv_parse_cert_object(obj, n, &got, &got_len, &compressed, &e), SCL_OK);
    ck_assert(compressed);
    free(obj);
    OPENSSL_free(der);
}
END_TEST

START_TEST(test_cert_object_without_certificate_is_notfound)
{
    const uint8_t empty[] = {0x53, 0x00};
    const uint8_t no70[] = {0x53, 0x05, 0x71, 0x01, 0x00, 0xFE, 0x00};
    const uint8_t *der;
    size_t len;
    bool comp;
    struct scl_err e;
    ck_assert_int_eq(cp_piv_parse_cert_object(empty, sizeof empty, &der, &len, &comp, &e),
                     SCL_E_NOTFOUND);
    ck_assert_int_eq(cp_piv_parse_cert_object(no70, sizeof no70, &der, &len, &comp, &e),
                     SCL_E_NOTFOUND);
}
END_TEST

START_TEST(test_cert_object_malformed_bytes_are_errors_with_offsets)
{
    const uint8_t inner_short[] = {0x53, 0x04, 0x70, 0x05, 0x30, 0x00};
    const uint8_t outer_short[] = {0x53, 0x82, 0x01, 0x00, 0x70};
    const uint8_t wrong_tag[] = {0x54, 0x02, 0x70, 0x00};
    const uint8_t trailing[] = {0x53, 0x02, 0x70, 0x00, 0x90};
    const uint8_t *der;
    size_t len;
    bool comp;
    struct scl_err e;
    ck_assert_int_eq(
        cp_piv_parse_cert_object(inner_short, sizeof inner_short, &der, &len, &comp, &e),
        SCL_E_TRUNCATED);
    ck_assert_msg(strstr(e.msg, "offset 0"), "%s", e.msg);
    ck_assert_int_eq(
        cp_piv_parse_cert_object(outer_short, sizeof outer_short, &der, &len, &comp, &e),
        SCL_E_TRUNCATED);
    ck_assert_int_eq(cp_piv_parse_cert_object(wrong_tag, sizeof wrong_tag, &der, &len, &comp, &e),
                     SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "expected 53"), "%s", e.msg);
    ck_assert_int_eq(cp_piv_parse_cert_object(trailing, sizeof trailing, &der, &len, &comp, &e),
                     SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "offset 4"), "%s", e.msg);
}
END_TEST

START_TEST(test_chuid_yields_guid_and_rejects_bad_guid)
{
    uint8_t guid[16];
    size_t n;
    struct scl_err e;
    uint8_t *chuid = make_chuid(test_guid, 16, &n);
    ck_assert_int_eq(cp_piv_parse_chuid(chuid, n, guid, &e), SCL_OK);
    ck_assert(!memcmp(guid, test_guid, 16));
    free(chuid);
    chuid = make_chuid(test_guid, 15, &n);
    ck_assert_int_eq(cp_piv_parse_chuid(chuid, n, guid, &e), SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "15 bytes"), "%s", e.msg);
    free(chuid);
    chuid = make_chuid(NULL, 0, &n);
    ck_assert_int_eq(cp_piv_parse_chuid(chuid, n, guid, &e), SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "tag 34"), "%s", e.msg);
    free(chuid);
}
END_TEST

START_TEST(test_read_card_names_containers_and_leaves_empty_slots_out)
{
    struct fake_card f;
    struct cp_card card;
    struct scl_err e;
    uint8_t *der;
    size_t len;
    fake_standard(&f, &der, &len);
    ck_assert_msg(read_fake(&f, &card, &e) == SCL_OK, "%s", e.msg);
    ck_assert_uint_eq(card.ncerts, 2);
    ck_assert_uint_eq(card.nskips, 0);
    ck_assert(!memcmp(card.guid, test_guid, 16));
    ck_assert_uint_eq(card.certs[0].key_ref, 0x9A);
    ck_assert_uint_eq(card.certs[0].object_tag, 0x5FC105);
    ck_assert_str_eq(card.certs[0].container, "00112233-4455-6677-8899-aabbcc5fc105");
    ck_assert_uint_eq(card.certs[0].len, len);
    ck_assert(!memcmp(card.certs[0].der, der, len));
    ck_assert_uint_eq(card.certs[1].key_ref, 0x9D);
    ck_assert_str_eq(card.certs[1].container, "00112233-4455-6677-8899-aabbcc5fc10b");
    cp_card_free(&card);
    OPENSSL_free(der);
    fake_free(&f);
}
END_TEST

START_TEST(test_read_card_follows_61xx_paging)
{
    struct fake_card f;
    struct cp_card card;
    struct scl_err e;
    uint8_t *der;
    size_t len;
    fake_standard(&f, &der, &len);
    f.chunk = 37; /* many GET RESPONSE rounds per object */
    ck_assert_msg(read_fake(&f, &card, &e) == SCL_OK, "%s", e.msg);
    ck_assert_uint_eq(card.ncerts, 2);
    ck_assert(!memcmp(card.certs[0].der, der, len));
    ck_assert_int_gt(f.napdus, 20);
    cp_card_free(&card);
    OPENSSL_free(der);
    fake_free(&f);
}
END_TEST

START_TEST(test_read_card_resends_with_le_from_6c)
{
    struct fake_card f;
    struct cp_card card;
    struct scl_err e;
    uint8_t *der;
    size_t len;
    fake_standard(&f, &der, &len);
    f.answer_6c = true;
    ck_assert_msg(read_fake(&f, &card, &e) == SCL_OK, "%s", e.msg);
    ck_assert(!memcmp(card.guid, test_guid, 16)); /* CHUID is < 256 bytes: went via 6C */
    ck_assert_uint_eq(card.ncerts, 2);
    cp_card_free(&card);
    OPENSSL_free(der);
    fake_free(&f);
}
END_TEST

START_TEST(test_read_card_non_piv_is_notfound)
{
    struct fake_card f;
    struct cp_card card;
    struct scl_err e;
    uint8_t *der;
    size_t len;
    fake_standard(&f, &der, &len);
    f.not_piv = true;
    ck_assert_int_eq(read_fake(&f, &card, &e), SCL_E_NOTFOUND);
    ck_assert_msg(strstr(e.msg, "not a PIV card"), "%s", e.msg);
    ck_assert_uint_eq(card.ncerts, 0);
    OPENSSL_free(der);
    fake_free(&f);
}
END_TEST

START_TEST(test_card_pulled_mid_read_returns_nothing)
{
    /* Pull at every APDU in turn: never a partial card. */
    for (int at = 1; at <= 12; at++) {
        struct fake_card f;
        struct cp_card card;
        struct scl_err e;
        uint8_t *der;
        size_t len;
        fake_standard(&f, &der, &len);
        f.chunk = 200;
        f.pull_at = at;
        int rc = read_fake(&f, &card, &e);
        if (f.napdus >= at) {
            ck_assert_int_eq(rc, SCL_E_STATE);
            ck_assert_uint_eq(card.ncerts, 0);
            ck_assert_uint_eq(card.nskips, 0);
        } else {
            ck_assert_int_eq(rc, SCL_OK);
            cp_card_free(&card);
        }
        OPENSSL_free(der);
        fake_free(&f);
    }
}
END_TEST

START_TEST(test_compressed_and_garbage_containers_are_skipped_with_reasons)
{
    struct fake_card f;
    struct cp_card card;
    struct scl_err e;
    uint8_t *der;
    size_t len;
    fake_standard(&f, &der, &len);
    fake_add_cert(&f, 0x5FC10A, der, len, 0x01); /* 9C gzip */
    const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    fake_add_cert(&f, 0x5FC101, junk, sizeof junk, 0x00); /* 9E */
    ck_assert_msg(read_fake(&f, &card, &e) == SCL_OK, "%s", e.msg);
    ck_assert_uint_eq(card.ncerts, 2);
    ck_assert_uint_eq(card.nskips, 2);
    ck_assert_uint_eq(card.skips[0].key_ref, 0x9C);
    ck_assert_msg(strstr(card.skips[0].reason, "compressed"), "%s", card.skips[0].reason);
    ck_assert_uint_eq(card.skips[1].key_ref, 0x9E);
    ck_assert_msg(strstr(card.skips[1].reason, "X.509"), "%s", card.skips[1].reason);
    cp_card_free(&card);
    OPENSSL_free(der);
    fake_free(&f);
}
END_TEST

START_TEST(test_missing_chuid_is_an_error)
{
    struct fake_card f = {.chunk = 256};
    struct cp_card card;
    struct scl_err e;
    ck_assert_int_eq(read_fake(&f, &card, &e), SCL_E_FORMAT);
    ck_assert_msg(strstr(e.msg, "CHUID"), "%s", e.msg);
}
END_TEST

static Suite *pcsc_card_suite(void)
{
    Suite *s = suite_create("certprop PIV reader");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_container_name_replaces_last_three_guid_bytes_with_object_tag);
    tcase_add_test(tc, test_cert_object_parse_returns_der_and_certinfo);
    tcase_add_test(tc, test_cert_object_without_certificate_is_notfound);
    tcase_add_test(tc, test_cert_object_malformed_bytes_are_errors_with_offsets);
    tcase_add_test(tc, test_chuid_yields_guid_and_rejects_bad_guid);
    tcase_add_test(tc, test_read_card_names_containers_and_leaves_empty_slots_out);
    tcase_add_test(tc, test_read_card_follows_61xx_paging);
    tcase_add_test(tc, test_read_card_resends_with_le_from_6c);
    tcase_add_test(tc, test_read_card_non_piv_is_notfound);
    tcase_add_test(tc, test_card_pulled_mid_read_returns_nothing);
    tcase_add_test(tc, test_compressed_and_garbage_containers_are_skipped_with_reasons);
    tcase_add_test(tc, test_missing_chuid_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pcsc_card_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
