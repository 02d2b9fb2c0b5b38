/*
 * sweep_classify.c - decide what a certificate in a profile's My store is:
 * the user's own, propagated from a smart card, or someone else's; and whether
 * the --issuer/--subject/--serial/--older-than filters keep a finding.
 * Not walking, reading or writing stores.
 */
#include "sweep_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Key providers that hold keys on a smart card (docs/sweep.md lists them). */
static const char *const smart_card_providers[] = {
    CS_BASE_CSP_NAME,
    CS_KSP_NAME,
};

/* Open addressing on the SHA-1 (already uniform).  Emptied when half full,
 * which bounds memory at CACHE_SLOTS / 2 parsed certificates per worker. */
#define CACHE_SLOTS 8192

struct cache_slot {
    uint8_t sha1[20];
    struct cs_cert_info *ci; /* NULL = empty */
};
struct sw_cert_cache {
    struct cache_slot slot[CACHE_SLOTS];
    size_t used;
};

struct sw_cert_cache *sw_cert_cache_new(void) { return calloc(1, sizeof(struct sw_cert_cache)); }

static void cache_clear(struct sw_cert_cache *c)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(c->slot[i].ci);
        c->slot[i].ci = NULL;
    }
    c->used = 0;
}

void sw_cert_cache_free(struct sw_cert_cache *c)
{
    if (c)
        cache_clear(c);
    free(c);
}

int sw_cert_facts(struct sw_cert_cache *c, const struct cs_element *el,
                  const struct cs_cert_info **ci, struct scl_err *e)
{
    size_t i = (el->sha1[0] | el->sha1[1] << 8 | (size_t)el->sha1[2] << 16) % CACHE_SLOTS;
    for (; c->slot[i].ci; i = (i + 1) % CACHE_SLOTS)
        if (!memcmp(c->slot[i].sha1, el->sha1, 20)) {
            *ci = c->slot[i].ci;
            return SCL_OK;
        }
    if (c->used >= CACHE_SLOTS / 2) {
        cache_clear(c);
        i = (el->sha1[0] | el->sha1[1] << 8 | (size_t)el->sha1[2] << 16) % CACHE_SLOTS;
    }
    struct cs_cert_info *n = malloc(sizeof *n);
    if (!n)
        return scl_errf(e, SCL_E_NOMEM, "certificate facts: out of memory");
    int rc = cs_cert_info(el->cert_der, el->cert_len, n, e);
    if (rc) {
        free(n);
        return rc;
    }
    memcpy(c->slot[i].sha1, el->sha1, 20);
    c->slot[i].ci = n;
    c->used++;
    *ci = n;
    return SCL_OK;
}

void sw_owner_ids_for(const struct sw_owners *o, const struct sw_profile *p,
                      struct sw_owner_ids *out)
{
    out->n = 0;
    out->ids[out->n++] = p->name;
    const struct sw_owner *ow = o ? sw_owners_find(o, p->server, p->name) : NULL;
    for (size_t i = 0; ow && i < ow->nids; i++)
        out->ids[out->n++] = ow->ids[i];
}

bool sw_provider_is_smart_card(const struct sw_opts *o, const char *provider)
{
    for (size_t i = 0; i < sizeof smart_card_providers / sizeof *smart_card_providers; i++)
        if (!strcasecmp(provider, smart_card_providers[i]))
            return true;
    for (size_t i = 0; i < o->nextra_providers; i++)
        if (!strcasecmp(provider, o->extra_providers[i]))
            return true;
    return false;
}

/* "alice" names alice@corp.example: profile folders carry the account name. */
static bool local_part_is(const char *addr, const char *name)
{
    const char *at = strchr(addr, '@');
    size_t n = at ? (size_t)(at - addr) : strlen(addr);
    return n == strlen(name) && !strncasecmp(addr, name, n);
}

/* "Firstname Lastname" is the owner of the folder firstname.lastname. */
static bool cn_dotted_is(const char *cn, const char *name)
{
    size_t n = strlen(cn);
    if (n != strlen(name))
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = cn[i] == ' ' ? '.' : cn[i];
        if (strncasecmp(&a, &name[i], 1))
            return false;
    }
    return true;
}

static bool id_matches(const char *owner, const struct cs_cert_info *ci)
{
    bool is_addr = strchr(owner, '@') != NULL;
    for (size_t i = 0; i < ci->nupns + ci->nemails; i++) {
        const char *a = i < ci->nupns ? ci->upns[i] : ci->emails[i - ci->nupns];
        if (is_addr ? !strcasecmp(a, owner) : local_part_is(a, owner))
            return true;
    }
    return !is_addr && ci->subject_cn[0] &&
           (!strcasecmp(ci->subject_cn, owner) || cn_dotted_is(ci->subject_cn, owner));
}

bool sw_cert_belongs(const struct cs_cert_info *ci, const struct sw_owner_ids *ow, bool *has_ids)
{
    *has_ids = ci->subject_cn[0] || ci->nupns || ci->nemails;
    for (size_t i = 0; i < ow->n; i++)
        if (id_matches(ow->ids[i], ci))
            return true;
    return false;
}

int sw_classify(const struct sw_opts *o, struct sw_cert_cache *cache, const struct cs_element *el,
                const struct sw_keyset *ks, const struct sw_owner_ids *ow, unsigned *reasons,
                struct cs_key_prov_info *kpi, struct scl_err *e)
{
    *reasons = 0;
    struct scl_err ke;
    /* A KEY_PROV_INFO that does not decode claims nothing we can trust. */
    bool has_kpi = cs_element_kpi(el, kpi, &ke) == SCL_OK;
    if (!has_kpi)
        memset(kpi, 0, sizeof *kpi);
    if (has_kpi && sw_provider_is_smart_card(o, kpi->provider) && !sw_keyset_has(ks, kpi->container))
        *reasons |= SW_REASON_PROPAGATED;
    if (!(o->rules & SW_REASON_FOREIGN) && !(*reasons & o->rules))
        return SCL_OK; /* nothing selected can come of it: spare the X.509 parse */
    const struct cs_cert_info *ci;
    int rc = sw_cert_facts(cache, el, &ci, e);
    if (rc)
        return rc;
    bool has_ids;
    if (!sw_cert_belongs(ci, ow, &has_ids) && has_ids)
        *reasons |= SW_REASON_FOREIGN;
    return SCL_OK;
}

/* Serials compare as numbers: a leading 00 (DER sign byte) does not count. */
static bool serial_equal(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    while (an > 1 && a[0] == 0)
        a++, an--;
    while (bn > 1 && b[0] == 0)
        b++, bn--;
    return an == bn && !memcmp(a, b, an);
}

bool sw_filters_match(const struct sw_opts *o, const struct cs_cert_info *ci, time_t now)
{
    if (o->issuer && !strcasestr(ci->issuer, o->issuer))
        return false;
    if (o->subject && !strcasestr(ci->subject, o->subject))
        return false;
    if (o->serial_len && !serial_equal(ci->serial, ci->serial_len, o->serial, o->serial_len))
        return false;
    if (o->older_than_days >= 0 && ci->not_before > now - (time_t)o->older_than_days * 86400)
        return false;
    return true;
}
