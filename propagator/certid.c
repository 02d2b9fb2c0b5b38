/*
 * certid.c - what certutil's CertId argument may name: an index, a serial
 * number, a SHA-1 hash, a subject CN, an e-mail/UPN, a key container or provider.
 * Not command-line parsing (certutil.c) and not store access.
 */
#include "propagator.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CERTID_MAX 512
#define INDEX_MAX_DIGITS 6

/* Quote marks users paste from articles: " ' and the UTF-8 curly ones. */
static const char *const quote_marks[] = {"\"", "'", "\xE2\x80\x9C", "\xE2\x80\x9D",
                                          "\xE2\x80\x98", "\xE2\x80\x99"};

static size_t quote_len_at(const char *s)
{
    for (size_t i = 0; i < sizeof quote_marks / sizeof quote_marks[0]; i++)
        if (!strncmp(s, quote_marks[i], strlen(quote_marks[i])))
            return strlen(quote_marks[i]);
    return 0;
}

static size_t quote_len_before(const char *s, size_t end)
{
    for (size_t i = 0; i < sizeof quote_marks / sizeof quote_marks[0]; i++) {
        size_t k = strlen(quote_marks[i]);
        if (end >= k && !strncmp(s + end - k, quote_marks[i], k))
            return k;
    }
    return 0;
}

/* Copy certid without surrounding blanks and quote marks. */
void cs_certid_normalize(const char *in, char *out, size_t cap)
{
    size_t b = 0, e = strlen(in);
    for (;;) {
        while (b < e && isspace((unsigned char)in[b]))
            b++;
        while (e > b && isspace((unsigned char)in[e - 1]))
            e--;
        size_t q1 = b < e ? quote_len_at(in + b) : 0;
        size_t q2 = e > b + q1 ? quote_len_before(in, e) : 0;
        if (!q1 && !q2)
            break;
        b += q1;
        e -= q2;
    }
    snprintf(out, cap, "%.*s", (int)(e - b), in + b);
}

static bool parse_index(const char *s, size_t *idx)
{
    size_t n = strlen(s);
    if (n == 0 || n > INDEX_MAX_DIGITS)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    *idx = (size_t)strtoul(s, NULL, 10);
    return true;
}

/* Serial numbers compare with or without a leading 00 byte. */
static bool same_serial(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    while (alen > 1 && a[0] == 0) {
        a++;
        alen--;
    }
    while (blen > 1 && b[0] == 0) {
        b++;
        blen--;
    }
    return alen == blen && !memcmp(a, b, alen);
}

static bool match_hex(const char *id, const struct cs_element *el, const struct cs_cert_info *ci)
{
    uint8_t bytes[64];
    int n = scl_hex_decode(id, bytes, sizeof bytes);
    if (n <= 0)
        return false;
    if (n == 20 && !memcmp(bytes, el->sha1, 20))
        return true;
    return same_serial(bytes, (size_t)n, ci->serial, ci->serial_len);
}

static bool match_text(const char *id, const struct cs_element *el, const struct cs_cert_info *ci)
{
    if (!strcasecmp(id, ci->subject_cn) || !strcasecmp(id, ci->subject))
        return true;
    for (size_t i = 0; i < ci->nemails; i++)
        if (!strcasecmp(id, ci->emails[i]))
            return true;
    for (size_t i = 0; i < ci->nupns; i++)
        if (!strcasecmp(id, ci->upns[i]))
            return true;
    struct cs_key_prov_info kpi;
    if (cs_element_kpi(el, &kpi, NULL) == SCL_OK &&
        ((kpi.container[0] && !strcasecmp(id, kpi.container)) ||
         (kpi.provider[0] && !strcasecmp(id, kpi.provider))))
        return true;
    return false;
}

bool cs_certid_match(const char *certid, const struct cs_element *el, size_t index)
{
    char id[CERTID_MAX];
    cs_certid_normalize(certid, id, sizeof id);
    if (!id[0])
        return false;
    size_t want;
    if (parse_index(id, &want))
        return want == index;
    struct cs_cert_info ci;
    if (cs_cert_info(el->cert_der, el->cert_len, &ci, NULL) != SCL_OK) {
        /* A certificate that does not parse can still be named by its hash,
         * so certutil -delstore can remove it. */
        uint8_t h[20];
        return scl_hex_decode(id, h, sizeof h) == 20 && !memcmp(h, el->sha1, 20);
    }
    return match_hex(id, el, &ci) || match_text(id, el, &ci);
}
