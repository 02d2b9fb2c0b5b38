/*
 * sweep_owners.c - the owners file: which identities (UPN, e-mail, name)
 * belong to a profile, one line per profile, read through struct cur.
 * Not the matching of certificates against them (sweep_classify.c).
 */
#include "sweep_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OWNERS_FILE_MAX (16u << 20)

struct line_ctx {
    const char *name;
    size_t lineno;
};

/* Next blank-separated token of the line; "double quotes" keep blanks. */
static int next_token(struct cur *c, const struct line_ctx *lc, char *out, size_t cap, bool *got,
                      struct scl_err *e)
{
    *got = false;
    while (cur_left(c) && (c->p[c->off] == ' ' || c->p[c->off] == '\t' || c->p[c->off] == '\r'))
        cur_skip(c, 1);
    if (!cur_left(c) || c->p[c->off] == '#')
        return SCL_OK;
    bool quoted = c->p[c->off] == '"';
    size_t col = cur_off(c) + 1;
    if (quoted)
        cur_skip(c, 1);
    size_t n = 0;
    for (;;) {
        if (!cur_left(c)) {
            if (quoted)
                return scl_errf(e, SCL_E_FORMAT, "%s:%zu: column %zu: quote not closed",
                                lc->name, lc->lineno, col);
            break;
        }
        uint8_t ch = c->p[c->off];
        if (quoted ? ch == '"' : (ch == ' ' || ch == '\t' || ch == '\r'))
            break;
        if (ch == 0)
            return scl_errf(e, SCL_E_FORMAT, "%s:%zu: NUL byte", lc->name, lc->lineno);
        if (n + 1 >= cap)
            return scl_errf(e, SCL_E_FORMAT, "%s:%zu: column %zu: token longer than %zu bytes",
                            lc->name, lc->lineno, col, cap - 1);
        out[n++] = (char)cur_u8(c);
    }
    if (quoted)
        cur_skip(c, 1);
    out[n] = 0;
    if (n == 0)
        return scl_errf(e, SCL_E_FORMAT, "%s:%zu: column %zu: empty quoted identity", lc->name,
                        lc->lineno, col);
    *got = true;
    return SCL_OK;
}

static int parse_line(struct cur *line, const struct line_ctx *lc, struct sw_owners *o,
                      struct scl_err *e)
{
    struct sw_owner ow = {0};
    bool got;
    int rc = next_token(line, lc, ow.key, sizeof ow.key, &got, e);
    if (rc || !got)
        return rc; /* blank or comment line */
    while (!rc) {
        char id[SW_NAME_MAX];
        rc = next_token(line, lc, id, sizeof id, &got, e);
        if (rc || !got)
            break;
        if (ow.nids == SW_MAX_IDENTITIES)
            return scl_errf(e, SCL_E_FORMAT, "%s:%zu: '%s': more than %d identities", lc->name,
                            lc->lineno, ow.key, SW_MAX_IDENTITIES);
        snprintf(ow.ids[ow.nids++], SW_NAME_MAX, "%s", id);
    }
    if (rc)
        return rc;
    if (ow.nids == 0)
        return scl_errf(e, SCL_E_FORMAT, "%s:%zu: '%s': no identities after the profile name",
                        lc->name, lc->lineno, ow.key);
    for (size_t i = 0; i < o->n; i++)
        if (!strcasecmp(o->v[i].key, ow.key))
            return scl_errf(e, SCL_E_FORMAT, "%s:%zu: '%s' is listed twice", lc->name,
                            lc->lineno, ow.key);
    struct sw_owner *v = realloc(o->v, (o->n + 1) * sizeof *v);
    if (!v)
        return scl_errf(e, SCL_E_NOMEM, "%s: out of memory", lc->name);
    o->v = v;
    o->v[o->n++] = ow;
    return SCL_OK;
}

int sw_owners_parse(const char *name, const uint8_t *text, size_t len, struct sw_owners *o,
                    struct scl_err *e)
{
    memset(o, 0, sizeof *o);
    struct cur c;
    cur_init(&c, text, len);
    struct line_ctx lc = {name, 0};
    int rc = SCL_OK;
    while (!rc && cur_left(&c)) {
        lc.lineno++;
        const uint8_t *nl = memchr(c.p + c.off, '\n', cur_left(&c));
        size_t n = nl ? (size_t)(nl - (c.p + c.off)) : cur_left(&c);
        struct cur line;
        cur_sub(&c, n, &line);
        if (nl)
            cur_skip(&c, 1);
        rc = parse_line(&line, &lc, o, e);
    }
    if (rc)
        sw_owners_free(o);
    return rc;
}

int sw_owners_load(const char *path, struct sw_owners *o, struct scl_err *e)
{
    uint8_t *buf;
    size_t len;
    memset(o, 0, sizeof *o);
    int rc = scl_read_file(path, OWNERS_FILE_MAX, &buf, &len, e);
    if (rc)
        return rc;
    rc = sw_owners_parse(path, buf, len, o, e);
    free(buf);
    return rc;
}

void sw_owners_free(struct sw_owners *o)
{
    free(o->v);
    memset(o, 0, sizeof *o);
}

const struct sw_owner *sw_owners_find(const struct sw_owners *o, const char *server,
                                      const char *profile)
{
    char key[2 * SW_NAME_MAX + 2];
    snprintf(key, sizeof key, "%s/%s", server, profile);
    for (size_t i = 0; o && i < o->n; i++)
        if (!strcasecmp(o->v[i].key, key))
            return &o->v[i];
    for (size_t i = 0; o && i < o->n; i++)
        if (!strcasecmp(o->v[i].key, profile))
            return &o->v[i];
    return NULL;
}
