/*
 * policy.c - the certprop policy file: a small subset of .reg syntax that
 * mirrors HKLM\Software\Policies\Microsoft\Windows\CertProp (docs/policy-file.md).
 * Not a registry: no other keys, no value types but dword (and one string).
 */
#include "propagator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define POL_LINE_MAX 1024
#define POL_FILE_MAX (256 * 1024)

/* The keys we know.  The Windows policy key is the one CertPropSvc reads; the
 * scardlab key holds our own extension so nobody mistakes it for a Windows
 * policy value. */
enum pol_key { POL_KEY_NONE, POL_KEY_CERTPROP, POL_KEY_SCARDLAB };

static const struct {
    enum pol_key key;
    const char *path; /* after the hive */
} pol_keys[] = {
    {POL_KEY_CERTPROP, "Software\\Policies\\Microsoft\\Windows\\CertProp"},
    {POL_KEY_SCARDLAB, "Software\\scardlab\\CertProp"},
};

struct pol_line {
    const char *file;
    size_t lineno;
};

typedef int (*pol_value_fn)(struct cp_policy *p, struct cur *val, const struct pol_line *at,
                            struct scl_err *e);

static int set_cert_prop_enabled(struct cp_policy *p, struct cur *v, const struct pol_line *at,
                                 struct scl_err *e);
static int set_enable_root(struct cp_policy *p, struct cur *v, const struct pol_line *at,
                           struct scl_err *e);
static int set_root_cleanup(struct cp_policy *p, struct cur *v, const struct pol_line *at,
                            struct scl_err *e);
static int set_key_provider(struct cp_policy *p, struct cur *v, const struct pol_line *at,
                            struct scl_err *e);

/* Value names as the registry spells them; matched case-insensitively like
 * the registry does. */
static const struct {
    enum pol_key key;
    const char *name;
    pol_value_fn set;
} pol_values[] = {
    {POL_KEY_CERTPROP, "CertPropEnabled", set_cert_prop_enabled},
    {POL_KEY_CERTPROP, "EnableRootCertificatePropagation", set_enable_root},
    {POL_KEY_CERTPROP, "RootCertificateCleanupOption", set_root_cleanup},
    {POL_KEY_SCARDLAB, "KeyProvider", set_key_provider},
};

void cp_policy_defaults(struct cp_policy *p)
{
    p->cert_prop_enabled = true;
    p->enable_root_propagation = true;
    p->root_cleanup = CP_ROOT_CLEANUP_ON_LOGOFF;
    p->key_provider = CP_KEY_PROVIDER_CSP;
}

const char *cp_root_cleanup_name(enum cp_root_cleanup o)
{
    switch (o) {
    case CP_ROOT_CLEANUP_NONE:
        return "none";
    case CP_ROOT_CLEANUP_ON_REMOVAL:
        return "on card removal";
    case CP_ROOT_CLEANUP_ON_LOGOFF:
        return "on logoff";
    }
    return "?";
}

/* ---- text helpers over the checked cursor ------------------------------ */

static bool is_blank(uint8_t b)
{
    return b == ' ' || b == '\t';
}

static void skip_blanks(struct cur *c)
{
    while (cur_left(c) && is_blank(c->p[c->off]))
        cur_skip(c, 1);
}

/* Trim trailing blanks (and a CR left by CRLF line ends) off a line cursor. */
static void trim_end(struct cur *c)
{
    while (c->len > c->off && (is_blank(c->p[c->len - 1]) || c->p[c->len - 1] == '\r'))
        c->len--;
}

static bool cur_eq_ci(const struct cur *c, const char *s)
{
    size_t n = strlen(s);
    if (cur_left(c) != n) return false;
    return n == 0 || strncasecmp((const char *)c->p + c->off, s, n) == 0;
}

/* Split c at the first byte ch: head gets the bytes before it, c continues
 * after it.  False if ch does not occur; head then holds all of c (for the
 * error message) and c is left as it was. */
static bool split_at(struct cur *c, uint8_t ch, struct cur *head)
{
    const uint8_t *start = c->p + c->off;
    const uint8_t *hit = memchr(start, ch, cur_left(c));
    *head = *c;
    if (!hit) return false;
    cur_sub(c, (size_t)(hit - start), head);
    cur_skip(c, 1);
    return cur_ok(c);
}

/* Printable copy of a field for error messages. */
static const char *show(const struct cur *c, char *buf, size_t cap)
{
    size_t n = cur_left(c) < cap - 1 ? cur_left(c) : cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = c->p[c->off + i];
        buf[i] = (b >= 0x20 && b < 0x7f) ? (char)b : '?';
    }
    buf[n] = 0;
    return buf;
}

static int line_err(struct scl_err *e, const struct pol_line *at, const char *fmt, const char *arg)
{
    char what[400];
    snprintf(what, sizeof what, fmt, arg);
    return scl_errf(e, SCL_E_FORMAT, "%s:%zu: %s", at->file, at->lineno, what);
}

/* ---- values ------------------------------------------------------------- */

/* "dword:XXXXXXXX": one to eight hex digits, as regedit writes them. */
static int parse_dword(struct cur *v, uint32_t *out, const struct pol_line *at, struct scl_err *e)
{
    char buf[80];
    static const char prefix[] = "dword:";
    struct cur whole = *v;
    const uint8_t *p = cur_bytes(v, sizeof prefix - 1);
    if (!p || strncasecmp((const char *)p, prefix, sizeof prefix - 1) != 0)
        return line_err(e, at, "value must be dword:XXXXXXXX (8 hex digits), got '%s'",
                        show(&whole, buf, sizeof buf));
    size_t n = cur_left(v);
    if (n < 1 || n > 8)
        return line_err(e, at, "dword needs 1 to 8 hex digits, got '%s'", show(v, buf, sizeof buf));
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = cur_u8(v);
        int d = (b >= '0' && b <= '9')   ? b - '0'
                : (b >= 'a' && b <= 'f') ? b - 'a' + 10
                : (b >= 'A' && b <= 'F') ? b - 'A' + 10
                                         : -1;
        if (d < 0) {
            char c[2] = {(char)b, 0};
            return line_err(e, at, "bad hex digit '%s' in dword", c);
        }
        x = x << 4 | (uint32_t)d;
    }
    *out = x;
    return SCL_OK;
}

/* Registry semantics: any non-zero dword switches a boolean policy on. */
static int set_cert_prop_enabled(struct cp_policy *p, struct cur *v, const struct pol_line *at,
                                 struct scl_err *e)
{
    uint32_t x;
    int rc = parse_dword(v, &x, at, e);
    if (rc == SCL_OK) p->cert_prop_enabled = x != 0;
    return rc;
}

static int set_enable_root(struct cp_policy *p, struct cur *v, const struct pol_line *at,
                           struct scl_err *e)
{
    uint32_t x;
    int rc = parse_dword(v, &x, at, e);
    if (rc == SCL_OK) p->enable_root_propagation = x != 0;
    return rc;
}

static int set_root_cleanup(struct cp_policy *p, struct cur *v, const struct pol_line *at,
                            struct scl_err *e)
{
    uint32_t x;
    int rc = parse_dword(v, &x, at, e);
    if (rc != SCL_OK) return rc;
    if (x > CP_ROOT_CLEANUP_ON_LOGOFF) {
        char n[16];
        snprintf(n, sizeof n, "%u", x);
        return line_err(e, at,
                        "RootCertificateCleanupOption must be 0 (none), 1 (on removal) or "
                        "2 (on logoff), got %s",
                        n);
    }
    p->root_cleanup = (enum cp_root_cleanup)x;
    return SCL_OK;
}

static int set_key_provider(struct cp_policy *p, struct cur *v, const struct pol_line *at,
                            struct scl_err *e)
{
    char buf[80];
    struct cur s;
    if (cur_left(v) < 2 || v->p[v->off] != '"' || v->p[v->len - 1] != '"')
        return line_err(e, at, "KeyProvider must be a string, \"CSP\" or \"KSP\", got '%s'",
                        show(v, buf, sizeof buf));
    cur_skip(v, 1);
    cur_sub(v, cur_left(v) - 1, &s);
    if (cur_eq_ci(&s, "CSP"))
        p->key_provider = CP_KEY_PROVIDER_CSP;
    else if (cur_eq_ci(&s, "KSP"))
        p->key_provider = CP_KEY_PROVIDER_KSP;
    else
        return line_err(e, at, "KeyProvider must be \"CSP\" or \"KSP\", got \"%s\"",
                        show(&s, buf, sizeof buf));
    return SCL_OK;
}

/* ---- lines -------------------------------------------------------------- */

/* "[HKLM\...]" or "[HKEY_LOCAL_MACHINE\...]" -> which key. */
static int parse_key_line(struct cur *c, enum pol_key *key, const struct pol_line *at,
                          struct scl_err *e)
{
    char buf[300];
    struct cur path;
    cur_skip(c, 1); /* '[' */
    if (!split_at(c, ']', &path) || cur_left(c))
        return line_err(e, at, "key line must be [HKLM\\...] with nothing after ']': '%s'",
                        show(&path, buf, sizeof buf));
    if (cur_left(&path) && path.p[path.off] == '-')
        return line_err(e, at, "deleting a key ('[-...]') is not supported: '%s'",
                        show(&path, buf, sizeof buf));
    struct cur hive;
    if (!split_at(&path, '\\', &hive) ||
        !(cur_eq_ci(&hive, "HKLM") || cur_eq_ci(&hive, "HKEY_LOCAL_MACHINE")))
        return line_err(e, at, "key must be under HKLM (HKEY_LOCAL_MACHINE): '%s'",
                        show(&hive, buf, sizeof buf));
    for (size_t i = 0; i < sizeof pol_keys / sizeof pol_keys[0]; i++) {
        if (cur_eq_ci(&path, pol_keys[i].path)) {
            *key = pol_keys[i].key;
            return SCL_OK;
        }
    }
    return line_err(e, at,
                    "unknown key 'HKLM\\%s'; expected "
                    "HKLM\\Software\\Policies\\Microsoft\\Windows\\CertProp or "
                    "HKLM\\Software\\scardlab\\CertProp",
                    show(&path, buf, sizeof buf));
}

/* Name=value, the name bare or in double quotes as regedit writes it. */
static int parse_value_line(struct cur *c, enum pol_key key, struct cp_policy *p,
                            const struct pol_line *at, struct scl_err *e)
{
    char buf[300];
    struct cur name;
    if (!split_at(c, '=', &name))
        return line_err(e, at, "expected Name=dword:XXXXXXXX, got '%s'", show(c, buf, sizeof buf));
    trim_end(&name);
    skip_blanks(c);
    if (cur_left(&name) >= 2 && name.p[name.off] == '"' && name.p[name.len - 1] == '"') {
        name.off++;
        name.len--;
    }
    if (key == POL_KEY_NONE)
        return line_err(e, at, "value '%s' before any [key] line", show(&name, buf, sizeof buf));
    if (cur_eq_ci(c, "-"))
        return line_err(e, at, "deleting a value ('%s=-') is not supported",
                        show(&name, buf, sizeof buf));
    for (size_t i = 0; i < sizeof pol_values / sizeof pol_values[0]; i++)
        if (pol_values[i].key == key && cur_eq_ci(&name, pol_values[i].name))
            return pol_values[i].set(p, c, at, e);
    return line_err(e, at, "unknown value name '%s' under this key (see docs/policy-file.md)",
                    show(&name, buf, sizeof buf));
}

/* *first: no statement seen yet (the regedit header may only come first). */
static int parse_line(struct cur *line, enum pol_key *key, bool *first, struct cp_policy *p,
                      const struct pol_line *at, struct scl_err *e)
{
    trim_end(line);
    skip_blanks(line);
    if (!cur_left(line) || line->p[line->off] == ';') return SCL_OK;
    bool was_first = *first;
    *first = false;
    /* regedit's header lines, so an exported file loads as it is. */
    if (was_first &&
        (cur_eq_ci(line, "Windows Registry Editor Version 5.00") || cur_eq_ci(line, "REGEDIT4")))
        return SCL_OK;
    if (line->p[line->off] == '[') return parse_key_line(line, key, at, e);
    return parse_value_line(line, *key, p, at, e);
}

int cp_policy_parse(const char *name, const uint8_t *text, size_t len, struct cp_policy *p,
                    struct scl_err *e)
{
    struct cur c;
    struct pol_line at = {name, 1};
    enum pol_key key = POL_KEY_NONE;
    bool first = true;
    cur_init(&c, text, len);
    if (len >= 2 && ((text[0] == 0xff && text[1] == 0xfe) || (text[0] == 0xfe && text[1] == 0xff)))
        return line_err(e, &at, "%s", "UTF-16 text is not supported; save the file as UTF-8");
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) cur_skip(&c, 3);
    if (memchr(text, 0, len))
        return scl_errf(e, SCL_E_FORMAT, "%s: NUL byte at offset %zu; not a text file", name,
                        (size_t)((const uint8_t *)memchr(text, 0, len) - text));
    while (cur_left(&c)) {
        struct cur line;
        if (!split_at(&c, '\n', &line)) cur_sub(&c, cur_left(&c), &line);
        if (cur_left(&line) > POL_LINE_MAX)
            return line_err(e, &at, "%s", "line longer than 1024 bytes");
        int rc = parse_line(&line, &key, &first, p, &at, e);
        if (rc != SCL_OK) return rc;
        at.lineno++;
    }
    return SCL_OK;
}

int cp_policy_load(const char *path, struct cp_policy *p, struct scl_err *e)
{
    uint8_t *text;
    size_t len;
    struct cp_policy next;
    int rc = scl_read_file(path, POL_FILE_MAX, &text, &len, e);
    if (rc != SCL_OK) return rc;
    /* Parse into a copy so a bad file leaves the policy in force untouched. */
    cp_policy_defaults(&next);
    rc = cp_policy_parse(path, text, len, &next, e);
    free(text);
    if (rc == SCL_OK) *p = next;
    return rc;
}
