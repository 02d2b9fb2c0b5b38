/*
 * certutil.c - how the certutil-style tool prints a certificate, its
 * properties, and the two private-key facts (claimed by the store, reachable
 * on a card now).  Not argument parsing or verbs (cmd_certutil.c).
 */
#include "certutil_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NO_CARDS_ENV "PCSCLITE_CSOCK_NAME"

void cu_format_time(time_t t, char *out, size_t cap)
{
    struct tm tm;
    if (!localtime_r(&t, &tm)) {
        snprintf(out, cap, "?");
        return;
    }
    int h12 = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
    snprintf(out, cap, "%d/%d/%d %d:%02d %s", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900, h12,
             tm.tm_min, tm.tm_hour < 12 ? "AM" : "PM");
}

static void print_hex_line(FILE *f, const char *prefix, const uint8_t *p, size_t n)
{
    fputs(prefix, f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
    fputc('\n', f);
}

static void print_header(struct cu_ctx *cx, size_t index)
{
    fprintf(cx->out, "================ Certificate %zu ================\n", index);
}

/* The store's decoder only checks a certificate's outer shape, so the X.509
 * parse can still fail here: say so for this one and carry on. */
static bool parse_or_say(struct cu_ctx *cx, const struct cs_element *el, size_t index,
                         struct cs_cert_info *ci)
{
    struct scl_err e = {0};
    if (cs_cert_info(el->cert_der, el->cert_len, ci, &e) == SCL_OK)
        return true;
    char hex[41];
    scl_hex_encode(el->sha1, 20, hex, false);
    fprintf(cx->out, "Certificate does not parse: %s\n", e.msg);
    fprintf(cx->err, "CertUtil: warning: certificate %zu (%s): %s\n", index, hex, e.msg);
    return false;
}

void cu_print_cert_brief(struct cu_ctx *cx, const struct cs_element *el, size_t index)
{
    struct cs_cert_info ci;
    print_header(cx, index);
    if (!parse_or_say(cx, el, index, &ci))
        return;
    print_hex_line(cx->out, "Serial Number: ", ci.serial, ci.serial_len);
    fprintf(cx->out, "Subject: %s\n", ci.subject);
}

static const char *key_spec_text(uint32_t spec)
{
    return spec == CS_AT_KEYEXCHANGE ? " -- AT_KEYEXCHANGE"
           : spec == CS_AT_SIGNATURE ? " -- AT_SIGNATURE"
                                     : "";
}

static void print_kpi_block(struct cu_ctx *cx, const struct cs_prop *pr)
{
    struct cs_key_prov_info kpi;
    struct scl_err e = {0};
    if (cs_kpi_decode(pr->val, pr->len, &kpi, &e)) {
        fprintf(cx->out, "  (does not decode: %s)\n", e.msg);
        return;
    }
    fprintf(cx->out, "  Key Container = %s\n", kpi.container);
    fprintf(cx->out, "  Provider = %s\n", kpi.provider);
    fprintf(cx->out, "  ProviderType = %x\n", kpi.prov_type);
    fprintf(cx->out, "  Flags = %x\n", kpi.flags);
    fprintf(cx->out, "  KeySpec = %u%s\n", kpi.key_spec, key_spec_text(kpi.key_spec));
}

/* certutil -v: one block per stored property, named as wincrypt.h names it. */
static void print_props(struct cu_ctx *cx, const struct cs_element *el)
{
    for (size_t i = 0; i < el->nprops; i++) {
        const struct cs_prop *pr = &el->props[i];
        const char *name = cs_prop_name(pr->id);
        fputc('\n', cx->out);
        if (name)
            fprintf(cx->out, "%s(%u):\n", name, pr->id);
        else
            fprintf(cx->out, "Unknown Property(%u):\n", pr->id);
        if (pr->id == CS_PROP_KEY_PROV_INFO)
            print_kpi_block(cx, pr);
        else
            print_hex_line(cx->out, "  ", pr->val, pr->len);
    }
}

static void print_short_kpi(struct cu_ctx *cx, const struct cs_element *el)
{
    struct cs_key_prov_info kpi;
    struct scl_err e = {0};
    int rc = cs_element_kpi(el, &kpi, &e);
    if (rc == SCL_E_NOTFOUND) {
        fprintf(cx->out, "No key provider information\n");
    } else if (rc) {
        fprintf(cx->out, "  Key provider information does not decode: %s\n", e.msg);
    } else {
        fprintf(cx->out, "  Key Container = %s\n", kpi.container);
        fprintf(cx->out, "  Provider = %s\n", kpi.provider);
    }
}

void cu_print_cert(struct cu_ctx *cx, const struct cs_element *el, size_t index)
{
    struct cs_cert_info ci;
    print_header(cx, index);
    if (!parse_or_say(cx, el, index, &ci)) {
        print_hex_line(cx->out, "Cert Hash(sha1): ", el->sha1, 20); /* still deletable by hash */
        return;
    }
    char nb[64], na[64];
    cu_format_time(ci.not_before, nb, sizeof nb);
    cu_format_time(ci.not_after, na, sizeof na);
    print_hex_line(cx->out, "Serial Number: ", ci.serial, ci.serial_len);
    fprintf(cx->out, "Issuer: %s\n NotBefore: %s\n NotAfter: %s\nSubject: %s\n", ci.issuer, nb,
            na, ci.subject);
    if (ci.self_signed)
        fprintf(cx->out, "Signature matches Public Key\nRoot Certificate: Subject matches Issuer\n");
    else
        fprintf(cx->out, "Non-root Certificate\n");
    print_hex_line(cx->out, "Cert Hash(sha1): ", el->sha1, 20);
    if (cx->verbose)
        print_props(cx, el);
    else
        print_short_kpi(cx, el);
    cu_print_key_facts(cx, el);
}

/* ---- private-key facts ------------------------------------------------ */

void cu_cards_release(struct cu_cards *cc)
{
    if (cc->cards)
        cp_cards_free(cc->cards, cc->n);
    memset(cc, 0, sizeof *cc);
}

/* Only the PC/SC that PCSCLITE_CSOCK_NAME names is asked: never the
 * machine's own pcscd. */
static void load_cards(struct cu_cards *cc)
{
    if (cc->loaded)
        return;
    cc->loaded = true;
    const char *sock = getenv(NO_CARDS_ENV);
    if (!sock || !sock[0]) {
        snprintf(cc->reason, sizeof cc->reason, "%s is not set", NO_CARDS_ENV);
        return;
    }
    struct scl_err e = {0};
    if (cp_pcsc_read_cards(&cc->cards, &cc->n, &e) != SCL_OK) {
        snprintf(cc->reason, sizeof cc->reason, "%s", e.msg);
        cc->cards = NULL;
        cc->n = 0;
        return;
    }
    cc->available = true;
}

/* The reader whose card holds container with this certificate's key, or NULL. */
static const char *find_key(const struct cu_cards *cc, const char *container,
                            const struct cs_element *el)
{
    for (size_t i = 0; i < cc->n; i++)
        for (size_t j = 0; j < cc->cards[i].ncerts; j++) {
            const struct cp_card_cert *cc_cert = &cc->cards[i].certs[j];
            if (!strcasecmp(cc_cert->container, container) &&
                cs_cert_same_public_key(cc_cert->der, cc_cert->len, el->cert_der, el->cert_len))
                return cc->cards[i].reader;
        }
    return NULL;
}

bool cu_print_key_facts(struct cu_ctx *cx, const struct cs_element *el)
{
    struct cs_key_prov_info kpi;
    int rc = cs_element_kpi(el, &kpi, NULL);
    if (rc == SCL_E_NOTFOUND) {
        fprintf(cx->out, "Private key claimed: no (no CERT_KEY_PROV_INFO_PROP_ID)\n");
        fprintf(cx->out, "Private key reachable: no (no key container named)\n");
        return false;
    }
    fprintf(cx->out, "Private key claimed: yes -- the General tab says \"You have a private key "
                     "that corresponds to this certificate.\"\n");
    if (rc) {
        fprintf(cx->out, "Private key reachable: unknown (CERT_KEY_PROV_INFO_PROP_ID does not decode)\n");
        return false;
    }
    struct cs_cert_info ci;
    if (cs_cert_info(el->cert_der, el->cert_len, &ci, NULL) != SCL_OK) {
        fprintf(cx->out, "Private key reachable: unknown (the certificate does not parse, so its public key cannot be compared)\n");
        return false;
    }
    load_cards(&cx->cards);
    if (!cx->cards.available) {
        fprintf(cx->out, "Private key reachable: unknown (no PC/SC: %s)\n", cx->cards.reason);
        return false;
    }
    const char *reader = find_key(&cx->cards, kpi.container, el);
    if (reader) {
        fprintf(cx->out, "Private key reachable: yes (card in reader \"%s\" holds key container %s)\n",
                reader, kpi.container);
        return false;
    }
    fprintf(cx->out, "Private key reachable: no (%zu card(s) present; none holds key container %s "
                     "with this public key)\n",
            cx->cards.n, kpi.container);
    return true;
}
