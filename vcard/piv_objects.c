/*
 * piv_objects.c - the PIV data objects (SP 800-73-4 part 1, appendix A):
 * CHUID, CCC, Discovery and the certificate containers, encoded once when
 * the card is made so GET DATA costs a lookup.  Not for access rules or
 * paging; piv_apdu.c and card.c do those.
 */
#include "piv_internal.h"

#include <stdlib.h>
#include <string.h>

#define TAG_CHUID 0x5FC102
#define TAG_CCC 0x5FC107
#define TAG_DISCOVERY 0x7E

/* Fixed, far enough ahead that no test or client sees an expired card. */
static const char chuid_expiry[8] = {'2', '0', '3', '5', '1', '2', '3', '1'};

/* Discovery: the PIV AID and PIN usage policy 40 00 (PIV PIN only).  It is
 * its own template 7E, not wrapped in 53. */
static const uint8_t discovery[] = {0x7E, 0x12, 0x4F, 0x0B, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                                    0x00, 0x10, 0x00, 0x01, 0x00, 0x5F, 0x2F, 0x02, 0x40, 0x00};

/* Card identifier prefix: GSC-IS RID A0 00 00 01 16, manufacturer FF (not
 * a registered one), card type 01.  The 14 bytes after it come from the
 * GUID so the CCC is as unique as the CHUID. */
static const uint8_t ccc_id_prefix[7] = {0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x01};

/* The PIV AID: RID A0 00 00 03 08, PIX 00 00 10 00 01 00 (version 01 00). */
static const uint8_t piv_aid[11] = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                                    0x00, 0x10, 0x00, 0x01, 0x00};
#define PIV_RID_LEN 5
#define PIV_AID_SHORT 9 /* without the version: what OpenSC selects */
static const char apt_label[] = "scardlab virtual PIV";

static bool obj_take(struct wcur *w, struct vc_obj *o)
{
    o->bytes = wcur_take(w, &o->len);
    return o->bytes != NULL;
}

static bool build_chuid(struct vc_card *card)
{
    struct wcur w;
    wcur_init_dyn(&w);
    size_t h = wcur_tlv_begin(&w, 0x53);
    wcur_tlv(&w, 0x30, card->spec.fascn, sizeof card->spec.fascn);
    wcur_tlv(&w, 0x34, card->spec.guid, sizeof card->spec.guid);
    wcur_tlv(&w, 0x35, chuid_expiry, sizeof chuid_expiry);
    wcur_tlv(&w, 0x3E, NULL, 0); /* issuer asymmetric signature: unsigned card */
    wcur_tlv(&w, 0xFE, NULL, 0); /* error detection code */
    wcur_tlv_end(&w, h);
    return obj_take(&w, &card->chuid);
}

static bool build_ccc(struct vc_card *card)
{
    uint8_t id[21];
    memcpy(id, ccc_id_prefix, sizeof ccc_id_prefix);
    memcpy(id + sizeof ccc_id_prefix, card->spec.guid, sizeof id - sizeof ccc_id_prefix);
    static const uint8_t v21 = 0x21, v00 = 0x00, v10 = 0x10;
    struct wcur w;
    wcur_init_dyn(&w);
    size_t h = wcur_tlv_begin(&w, 0x53);
    wcur_tlv(&w, 0xF0, id, sizeof id); /* card identifier */
    wcur_tlv(&w, 0xF1, &v21, 1);       /* capability container version */
    wcur_tlv(&w, 0xF2, &v21, 1);       /* capability grammar version */
    wcur_tlv(&w, 0xF3, NULL, 0);       /* applications CardURL */
    wcur_tlv(&w, 0xF4, &v00, 1);       /* PKCS#15 */
    wcur_tlv(&w, 0xF5, &v10, 1);       /* registered data model number */
    static const uint8_t empty_tags[] = {0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE};
    for (size_t i = 0; i < sizeof empty_tags; i++)
        wcur_tlv(&w, empty_tags[i], NULL, 0);
    wcur_tlv_end(&w, h);
    return obj_take(&w, &card->ccc);
}

/* 53 { 70 <certificate DER>, 71 01 00 (CertInfo: not compressed), FE 00 } */
static bool build_cert(struct vc_card *card, int slot)
{
    const struct vc_slot *s = &card->spec.slots[slot];
    if (!s->present) return true;
    static const uint8_t cert_info = 0x00;
    struct wcur w;
    wcur_init_dyn(&w);
    size_t h = wcur_tlv_begin(&w, 0x53);
    wcur_tlv(&w, 0x70, s->cert_der, s->cert_len);
    wcur_tlv(&w, 0x71, &cert_info, 1);
    wcur_tlv(&w, 0xFE, NULL, 0);
    wcur_tlv_end(&w, h);
    return obj_take(&w, &card->certs[slot]);
}

/* 61 { 4F PIX, 79 { 4F RID }, 50 label } (SP 800-73-4 part 2, 3.1.1) */
static bool build_apt(struct vc_card *card)
{
    struct wcur w;
    wcur_init_dyn(&w);
    size_t h = wcur_tlv_begin(&w, 0x61);
    wcur_tlv(&w, 0x4F, piv_aid + PIV_RID_LEN, sizeof piv_aid - PIV_RID_LEN);
    size_t h79 = wcur_tlv_begin(&w, 0x79);
    wcur_tlv(&w, 0x4F, piv_aid, PIV_RID_LEN);
    wcur_tlv_end(&w, h79);
    wcur_tlv(&w, 0x50, apt_label, sizeof apt_label - 1);
    wcur_tlv_end(&w, h);
    return obj_take(&w, &card->apt);
}

bool vc_objects_build(struct vc_card *card)
{
    if (!build_apt(card) || !build_chuid(card) || !build_ccc(card)) return false;
    for (int i = 0; i < VC_NSLOTS; i++)
        if (!build_cert(card, i)) return false;
    return true;
}

void vc_objects_free(struct vc_card *card)
{
    free(card->apt.bytes);
    free(card->chuid.bytes);
    free(card->ccc.bytes);
    for (int i = 0; i < VC_NSLOTS; i++)
        free(card->certs[i].bytes);
}

static bool obj_out(const struct vc_obj *o, struct vc_out *out)
{
    if (!o->bytes) return false;
    out->data = o->bytes;
    out->len = o->len;
    return true;
}

bool vc_objects_find(const struct vc_card *card, uint32_t tag, struct vc_out *out)
{
    switch (tag) {
    case TAG_DISCOVERY:
        out->data = discovery;
        out->len = sizeof discovery;
        return true;
    case TAG_CHUID:
        return obj_out(&card->chuid, out);
    case TAG_CCC:
        return obj_out(&card->ccc, out);
    }
    for (int i = 0; i < VC_NSLOTS; i++)
        if (tag == vc_slot_object_tag[i]) return obj_out(&card->certs[i], out);
    return false; /* Key History 5FC10C and everything else: 6A 82 */
}

void vc_objects_apt(const struct vc_card *card, struct vc_out *out)
{
    out->data = card->apt.bytes;
    out->len = card->apt.len;
}

/* ISO 7816-4 partial selection: a right-truncated AID selects the
 * application, down to the 9 bytes without the version. */
bool vc_objects_is_piv_aid(const uint8_t *aid, size_t n)
{
    return n >= PIV_AID_SHORT && n <= sizeof piv_aid && memcmp(aid, piv_aid, n) == 0;
}
