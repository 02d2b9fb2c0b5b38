/*
 * scn_parse.c - the scenario format (docs/scenario-format.md): tokenizer on
 * struct cur, the declarations, and the step table.  Produces typed structs
 * or a FILE:LINE:COLUMN error; runs nothing (each step's own parser lives
 * with its runner in scn_steps_*.c).
 */
#include "scn_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCN_FILE_MAX (256 * 1024)
#define SCN_LINE_MAX 1024

/* ---- the step table: name as written after `step` / `expect`, parser, runner ---- */

static int parse_wait(struct scn_pctx *p, struct scn_step *st);

static const struct scn_step_def step_defs[] = {
    {"insert", false, scn_parse_insert, scn_run_insert},
    {"remove", false, scn_parse_remove, scn_run_remove},
    {"connect", false, scn_parse_connect, scn_run_connect},
    {"disconnect", false, scn_parse_disconnect, scn_run_disconnect},
    {"service", false, scn_parse_service, scn_run_service},
    {"policy", false, scn_parse_policy, scn_run_policy},
    {"exec", false, scn_parse_exec, scn_run_exec},
    {"certutil", false, scn_parse_certutil, scn_run_certutil},
    {"sweep", false, scn_parse_sweep, scn_run_sweep},
    {"run", false, scn_parse_run, scn_run_run},
    {"wait", false, parse_wait, NULL}, /* becomes the expectation it waits for */
    {"store", true, scn_parse_store, scn_check_store},
    {"event", true, scn_parse_event, scn_check_event},
    {"trace", true, scn_parse_trace, scn_check_trace},
    {"log", true, scn_parse_log, scn_check_log},
    {"output", true, scn_parse_output, scn_check_output},
    {"status", true, scn_parse_status, scn_check_status},
};

const struct scn_step_def *scn_step_find(const char *name, bool expect)
{
    for (size_t i = 0; i < sizeof step_defs / sizeof step_defs[0]; i++)
        if (step_defs[i].expect == expect && !strcmp(step_defs[i].name, name))
            return &step_defs[i];
    return NULL;
}

void scn_step_names(bool expect, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof step_defs / sizeof step_defs[0]; i++) {
        if (step_defs[i].expect != expect) continue;
        int k = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", step_defs[i].name);
        if (k < 0 || (size_t)k >= cap - n) break;
        n += (size_t)k;
    }
}

const char *scn_step_name(const struct scn_step *st)
{
    return st->def ? st->def->name : "?";
}

/* ---- errors ---- */

int scn_perr_at(struct scn_pctx *p, int col, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return scl_errf(p->e, SCL_E_FORMAT, "%s:%d:%d: %s", p->name, p->line, col, msg);
}

int scn_perr(struct scn_pctx *p, const char *what)
{
    if (p->pos >= p->ntok) return scn_perr_at(p, p->eol_col, "expected %s, found end of line", what);
    const struct scn_tok *t = &p->tok[p->pos];
    if (t->key[0])
        return scn_perr_at(p, t->col, "expected %s, found '%s=%s'", what, t->key, t->text);
    return scn_perr_at(p, t->col, "expected %s, found '%s'", what, t->text);
}

/* ---- tokens ---- */

const struct scn_tok *scn_peek(struct scn_pctx *p)
{
    return p->pos < p->ntok ? &p->tok[p->pos] : NULL;
}

const struct scn_tok *scn_next(struct scn_pctx *p, const char *what)
{
    const struct scn_tok *t = scn_peek(p);
    if (!t || t->key[0]) {
        scn_perr(p, what);
        return NULL;
    }
    p->pos++;
    return t;
}

bool scn_accept(struct scn_pctx *p, const char *word)
{
    const struct scn_tok *t = scn_peek(p);
    if (!t || t->key[0] || t->quoted || strcmp(t->text, word)) return false;
    p->pos++;
    return true;
}

int scn_keyword(struct scn_pctx *p, const char *word)
{
    if (scn_accept(p, word)) return SCL_OK;
    char what[80];
    snprintf(what, sizeof what, "'%s'", word);
    return scn_perr(p, what);
}

int scn_choice(struct scn_pctx *p, const char *const *choices, const char *what)
{
    const struct scn_tok *t = scn_peek(p);
    if (t && !t->key[0])
        for (int i = 0; choices[i]; i++)
            if (!strcmp(t->text, choices[i])) {
                p->pos++;
                return i;
            }
    scn_perr(p, what);
    return -1;
}

int scn_end(struct scn_pctx *p)
{
    if (p->pos >= p->ntok) return SCL_OK;
    return scn_perr(p, "end of line");
}

/* "undeclared card 'x' (declared: a, b)" */
static int undeclared(struct scn_pctx *p, const struct scn_tok *t, const char *kind,
                      const char *names, size_t stride, int n)
{
    char list[300] = "";
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof list - 1; i++) {
        int k = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names + stride * (size_t)i);
        if (k < 0) break;
        len += (size_t)k;
    }
    return scn_perr_at(p, t->col, "undeclared %s '%s' (declared: %s)", kind, t->text,
                       n ? list : "none");
}

int scn_card_ref(struct scn_pctx *p)
{
    const struct scn_tok *t = scn_next(p, "a card name");
    if (!t) return -1;
    for (int i = 0; i < p->sc->ncards; i++)
        if (!strcmp(p->sc->cards[i].name, t->text)) return i;
    undeclared(p, t, "card", p->sc->cards[0].name, sizeof p->sc->cards[0], p->sc->ncards);
    return -1;
}

int scn_client_ref(struct scn_pctx *p)
{
    const struct scn_tok *t = scn_next(p, "a client name");
    if (!t) return -1;
    for (int i = 0; i < p->sc->nclients; i++)
        if (!strcmp(p->sc->clients[i].name, t->text)) return i;
    undeclared(p, t, "client", p->sc->clients[0].name, sizeof p->sc->clients[0], p->sc->nclients);
    return -1;
}

int scn_server_ref(struct scn_pctx *p)
{
    const struct scn_tok *t = scn_next(p, "a server name");
    if (!t) return -1;
    for (int i = 0; i < p->sc->nservers; i++)
        if (!strcmp(p->sc->servers[i].name, t->text)) return i;
    undeclared(p, t, "server", p->sc->servers[0].name, sizeof p->sc->servers[0], p->sc->nservers);
    return -1;
}

int scn_user_ref(struct scn_pctx *p, int server)
{
    const struct scn_tok *t = scn_next(p, "a user name");
    if (!t) return -1;
    const struct scn_server *s = &p->sc->servers[server];
    for (int i = 0; i < s->nusers; i++)
        if (!strcmp(s->users[i].name, t->text)) return i;
    char kind[100];
    snprintf(kind, sizeof kind, "user of server %s", s->name);
    undeclared(p, t, kind, s->users[0].name, sizeof s->users[0], s->nusers);
    return -1;
}

int scn_int_tok(struct scn_pctx *p, const char *what, int lo, int hi, int *out)
{
    const struct scn_tok *t = scn_peek(p);
    if (!t || t->key[0]) return scn_perr(p, what);
    char *end;
    errno = 0;
    long v = strtol(t->text, &end, 10);
    if (!t->text[0] || *end || errno || v < lo || v > hi) return scn_perr(p, what);
    *out = (int)v;
    p->pos++;
    return SCL_OK;
}

int scn_duration(struct scn_pctx *p, int *ms)
{
    const struct scn_tok *t = scn_peek(p);
    const char *what = "a timeout such as 5s, 500ms or 2m (1ms to 10m)";
    if (!t || t->key[0]) return scn_perr(p, what);
    const char *s = t->text;
    long long v = 0;
    int digits = 0;
    while (isdigit((unsigned char)*s) && digits < 9) v = v * 10 + (*s++ - '0'), digits++;
    long long mult = !strcmp(s, "ms") ? 1 : !strcmp(s, "s") ? 1000 : !strcmp(s, "m") ? 60000 : 0;
    if (!digits || !mult || v * mult < 1 || v * mult > SCN_MAX_TIMEOUT_MS) return scn_perr(p, what);
    *ms = (int)(v * mult);
    p->pos++;
    return SCL_OK;
}

/* ${root} ${CLIENT.lab|profile|trace} ${SERVER.profiles|state} ${SERVER.USER.profile}
 * ${CARD.dir|file} ${scardlab} */
int scn_check_vars(struct scn_pctx *p, const char *s, int col)
{
    for (const char *q = strstr(s, "${"); q; q = strstr(q + 2, "${")) {
        const char *end = strchr(q, '}');
        int c = col + (int)(q - s);
        if (!end) return scn_perr_at(p, c, "'${' without a closing '}'");
        char var[200];
        size_t n = (size_t)(end - q - 2);
        if (n >= sizeof var) return scn_perr_at(p, c, "variable name too long");
        memcpy(var, q + 2, n);
        var[n] = 0;
        char a[100] = "", b[100] = "", d[100] = "";
        int parts = sscanf(var, "%99[^.].%99[^.].%99s", a, b, d);
        bool ok = !strcmp(var, "root") || !strcmp(var, "scardlab");
        for (int i = 0; !ok && i < p->sc->nclients; i++)
            ok = parts == 2 && !strcmp(a, p->sc->clients[i].name) &&
                 (!strcmp(b, "lab") || !strcmp(b, "profile") || !strcmp(b, "trace"));
        for (int i = 0; !ok && i < p->sc->ncards; i++)
            ok = parts == 2 && !strcmp(a, p->sc->cards[i].name) &&
                 (!strcmp(b, "dir") || !strcmp(b, "file"));
        for (int i = 0; !ok && i < p->sc->nservers; i++) {
            const struct scn_server *sv = &p->sc->servers[i];
            if (strcmp(a, sv->name)) continue;
            ok = parts == 2 && (!strcmp(b, "profiles") || !strcmp(b, "state"));
            for (int u = 0; !ok && u < sv->nusers; u++)
                ok = parts == 3 && !strcmp(b, sv->users[u].name) && !strcmp(d, "profile");
        }
        if (!ok)
            return scn_perr_at(p, c,
                               "unknown variable '${%s}' (expected ${root}, ${scardlab}, "
                               "${CLIENT.lab|profile|trace}, ${SERVER.profiles|state}, "
                               "${SERVER.USER.profile} or ${CARD.dir|file})",
                               var);
    }
    return SCL_OK;
}

int scn_rest_argv(struct scn_pctx *p, struct scn_step *st, const char *what)
{
    if (p->pos >= p->ntok) return scn_perr(p, what);
    while (p->pos < p->ntok) {
        const struct scn_tok *t = &p->tok[p->pos];
        if (st->argc >= SCN_MAX_ARGS)
            return scn_perr_at(p, t->col, "more than %d command words", SCN_MAX_ARGS);
        char w[SCN_TEXT_MAX + SCN_NAME_MAX + 2];
        if (t->key[0]) snprintf(w, sizeof w, "%s=%s", t->key, t->text);
        else snprintf(w, sizeof w, "%s", t->text);
        if (scn_check_vars(p, t->text, t->vcol)) return SCL_E_FORMAT;
        st->argv[st->argc] = strdup(w);
        if (!st->argv[st->argc]) return scl_errf(p->e, SCL_E_NOMEM, "out of memory");
        st->argc++;
        p->pos++;
    }
    st->argv[st->argc] = NULL;
    return SCL_OK;
}

/* One line into tokens.  Quoted values may hold blanks and '#'; \" and \\
 * are the escapes.  A closing quote must be followed by a blank, a comment
 * or the end of the line. */
static int tokenize(struct scn_pctx *p, struct cur *c)
{
    p->ntok = p->pos = 0;
    p->eol_col = 1;
    while (cur_ok(c) && cur_left(c) > 0) {
        size_t start = cur_off(c);
        uint8_t ch = c->p[c->off];
        if (ch == ' ' || ch == '\t') {
            cur_skip(c, 1);
            continue;
        }
        if (ch == '#') break;
        if (p->ntok >= SCN_MAX_TOKENS)
            return scn_perr_at(p, (int)start + 1, "more than %d words on a line", SCN_MAX_TOKENS);
        struct scn_tok *t = &p->tok[p->ntok];
        memset(t, 0, sizeof *t);
        t->col = t->vcol = (int)start + 1;
        size_t n = 0;
        bool in_quote = false, was_quoted = false;
        int quote_col = 0;
        while (cur_left(c) > 0) {
            ch = c->p[c->off];
            if (!in_quote && (ch == ' ' || ch == '\t' || ch == '#')) break;
            cur_skip(c, 1);
            if (ch == '"') {
                if (in_quote) {
                    in_quote = false;
                    uint8_t nx = cur_left(c) ? c->p[c->off] : ' ';
                    if (nx != ' ' && nx != '\t' && nx != '#')
                        return scn_perr_at(p, (int)cur_off(c) + 1,
                                           "expected a blank after the closing quote, found '%c'",
                                           isprint(nx) ? nx : '?');
                    continue;
                }
                if (was_quoted || (n && !(t->key[0] == 0 && t->text[n - 1] == '=')))
                    return scn_perr_at(p, (int)cur_off(c),
                                       "a quote may only open a word or follow 'name='");
                in_quote = was_quoted = true;
                quote_col = (int)cur_off(c);
                if (n) { /* name="value": split off the key */
                    if (n - 1 >= sizeof t->key)
                        return scn_perr_at(p, t->col, "attribute name longer than %zu bytes", sizeof t->key - 1);
                    memcpy(t->key, t->text, n - 1);
                    t->key[n - 1] = 0;
                    n = 0;
                    t->vcol = (int)cur_off(c) + 1;
                }
                continue;
            }
            if (in_quote && ch == '\\' && cur_left(c) > 0 &&
                (c->p[c->off] == '"' || c->p[c->off] == '\\'))
                ch = cur_u8(c);
            if (n + 1 >= sizeof t->text)
                return scn_perr_at(p, t->col, "word longer than %zu bytes", sizeof t->text - 1);
            t->text[n++] = (char)ch;
            t->text[n] = 0;
        }
        if (in_quote) return scn_perr_at(p, quote_col, "quote not closed before the end of the line");
        t->quoted = was_quoted;
        if (!t->key[0] && !was_quoted) {
            /* name=value without quotes; a leading '=' or an odd name stays a word */
            char *eq = strchr(t->text, '=');
            bool name_ok = eq && eq != t->text && isalpha((unsigned char)t->text[0]) &&
                           (size_t)(eq - t->text) < sizeof t->key;
            for (char *q = t->text; name_ok && q < eq; q++)
                name_ok = isalnum((unsigned char)*q) || *q == '-' || *q == '_';
            if (name_ok) {
                memcpy(t->key, t->text, (size_t)(eq - t->text));
                t->key[eq - t->text] = 0;
                t->vcol = t->col + (int)(eq - t->text) + 1;
                memmove(t->text, eq + 1, strlen(eq + 1) + 1);
            }
        }
        p->ntok++;
        p->eol_col = (int)cur_off(c) + 1;
    }
    return SCL_OK;
}

/* ---- declarations ---- */

static bool valid_name(const char *s)
{
    if (!isalpha((unsigned char)s[0])) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.') return false;
    return true;
}

static int decl_name(struct scn_pctx *p, const char *kind, char *out, size_t cap)
{
    char what[80];
    snprintf(what, sizeof what, "a %s name", kind);
    const struct scn_tok *t = scn_next(p, what);
    if (!t) return SCL_E_FORMAT;
    if (!valid_name(t->text) || strlen(t->text) >= cap)
        return scn_perr_at(p, t->col,
                           "%s name '%s' must start with a letter and hold only letters, digits, "
                           "'-', '_' and '.' (at most %zu)",
                           kind, t->text, cap - 1);
    snprintf(out, cap, "%s", t->text);
    return SCL_OK;
}

/* Names are shared between cards, clients, servers: one namespace. */
static int check_unique(struct scn_pctx *p, const char *name, int col)
{
    const struct scenario *sc = p->sc;
    for (int i = 0; i < sc->ncards; i++)
        if (!strcmp(sc->cards[i].name, name))
            return scn_perr_at(p, col, "'%s' already declared (card at line %d)", name, sc->cards[i].loc.line);
    for (int i = 0; i < sc->nclients; i++)
        if (!strcmp(sc->clients[i].name, name))
            return scn_perr_at(p, col, "'%s' already declared (client at line %d)", name,
                               sc->clients[i].loc.line);
    for (int i = 0; i < sc->nservers; i++)
        if (!strcmp(sc->servers[i].name, name))
            return scn_perr_at(p, col, "'%s' already declared (server at line %d)", name,
                               sc->servers[i].loc.line);
    return SCL_OK;
}

static int attr_copy(struct scn_pctx *p, const struct scn_tok *t, char *out, size_t cap)
{
    if (strlen(t->text) >= cap)
        return scn_perr_at(p, t->vcol, "%s: value longer than %zu bytes", t->key, cap - 1);
    snprintf(out, cap, "%s", t->text);
    return SCL_OK;
}

static int attr_bool(struct scn_pctx *p, const struct scn_tok *t, int *out)
{
    if (!strcmp(t->text, "0") || !strcmp(t->text, "1")) {
        *out = t->text[0] - '0';
        return SCL_OK;
    }
    return scn_perr_at(p, t->vcol, "%s: expected 0 or 1, found '%s'", t->key, t->text);
}

static int unknown_attr(struct scn_pctx *p, const struct scn_tok *t, const char *kind, const char *list)
{
    if (!t->key[0]) return scn_perr_at(p, t->col, "expected a %s attribute (%s), found '%s'", kind, list, t->text);
    return scn_perr_at(p, t->col, "unknown %s attribute '%s' (expected %s)", kind, t->key, list);
}

static int parse_card(struct scn_pctx *p, int col)
{
    struct scenario *sc = p->sc;
    if (sc->ncards >= SCN_MAX_CARDS) return scn_perr_at(p, col, "more than %d cards", SCN_MAX_CARDS);
    struct scn_card *cd = &sc->cards[sc->ncards];
    memset(cd, 0, sizeof *cd);
    cd->loc = (struct scn_loc){p->line, col};
    int ncol = scn_peek(p) ? scn_peek(p)->col : p->eol_col;
    if (decl_name(p, "card", cd->name, sizeof cd->name) || check_unique(p, cd->name, ncol))
        return SCL_E_FORMAT;
    const char *list = "holder=, upn=, serial=, key=, slots=, pin= or file=";
    const struct scn_tok *t;
    while ((t = scn_peek(p))) {
        int rc = SCL_OK;
        if (!strcmp(t->key, "holder")) rc = attr_copy(p, t, cd->holder, sizeof cd->holder);
        else if (!strcmp(t->key, "upn")) rc = attr_copy(p, t, cd->upn, sizeof cd->upn);
        else if (!strcmp(t->key, "serial")) {
            uint8_t b[20];
            if (scl_hex_decode(t->text, b, sizeof b) < 1)
                return scn_perr_at(p, t->vcol, "serial: expected 1 to 20 hex bytes, found '%s'", t->text);
            rc = attr_copy(p, t, cd->serial, sizeof cd->serial);
        } else if (!strcmp(t->key, "key")) {
            static const char *const keys[] = {"rsa2048", "rsa3072", "p256", "p384", NULL};
            bool ok = false;
            for (int i = 0; keys[i]; i++) ok |= !strcmp(keys[i], t->text);
            if (!ok) return scn_perr_at(p, t->vcol, "key: expected rsa2048, rsa3072, p256 or p384, found '%s'", t->text);
            rc = attr_copy(p, t, cd->key, sizeof cd->key);
        } else if (!strcmp(t->key, "slots")) {
            for (const char *q = t->text; *q; q += (q[2] == ',') ? 3 : 2)
                if (strncmp(q, "9a", 2) && strncmp(q, "9c", 2) && strncmp(q, "9d", 2) &&
                    strncmp(q, "9e", 2))
                    return scn_perr_at(p, t->vcol + (int)(q - t->text),
                                       "slots: expected a list of 9a, 9c, 9d, 9e such as 9a,9c");
            if (!t->text[0]) return scn_perr_at(p, t->vcol, "slots: expected a list of 9a, 9c, 9d, 9e");
            rc = attr_copy(p, t, cd->slots, sizeof cd->slots);
        } else if (!strcmp(t->key, "pin")) rc = attr_copy(p, t, cd->pin, sizeof cd->pin);
        else if (!strcmp(t->key, "file")) {
            if (t->text[0] == '/') rc = attr_copy(p, t, cd->file, sizeof cd->file);
            else snprintf(cd->file, sizeof cd->file, "%s/%s", sc->dir, t->text);
        } else return unknown_attr(p, t, "card", list);
        if (rc) return rc;
        p->pos++;
    }
    if (cd->file[0] && (cd->holder[0] || cd->upn[0] || cd->serial[0] || cd->key[0] || cd->slots[0]))
        return scn_perr_at(p, col, "card %s: file= and minting attributes (holder=, upn=, ...) exclude each other", cd->name);
    if (!cd->file[0] && !cd->holder[0])
        return scn_perr_at(p, p->eol_col, "card %s: expected holder=\"NAME\" (to mint it) or file=CARD.conf", cd->name);
    sc->ncards++;
    return SCL_OK;
}

static int parse_client(struct scn_pctx *p, int col)
{
    struct scenario *sc = p->sc;
    if (sc->nclients >= SCN_MAX_CLIENTS) return scn_perr_at(p, col, "more than %d clients", SCN_MAX_CLIENTS);
    struct scn_client *cl = &sc->clients[sc->nclients];
    memset(cl, 0, sizeof *cl);
    cl->loc = (struct scn_loc){p->line, col};
    int ncol = scn_peek(p) ? scn_peek(p)->col : p->eol_col;
    if (decl_name(p, "client", cl->name, sizeof cl->name) || check_unique(p, cl->name, ncol))
        return SCL_E_FORMAT;
    const struct scn_tok *t;
    while ((t = scn_peek(p))) {
        if (strcmp(t->key, "reader-allow")) return unknown_attr(p, t, "client", "reader-allow=");
        if (cl->nallow >= SCN_MAX_ALLOW) return scn_perr_at(p, t->col, "more than %d reader-allow", SCN_MAX_ALLOW);
        if (attr_copy(p, t, cl->allow[cl->nallow], sizeof cl->allow[0])) return SCL_E_FORMAT;
        cl->nallow++;
        p->pos++;
    }
    sc->nclients++;
    return SCL_OK;
}

static int rdp_lines(struct scn_pctx *p, struct scn_rdp_file *f)
{
    const struct scn_tok *t;
    if (!scn_peek(p)) return scn_perr(p, "an .rdp line such as \"redirectsmartcards:i:1\"");
    while ((t = scn_peek(p))) {
        char line[SCN_TEXT_MAX];
        if (t->key[0]) snprintf(line, sizeof line, "%s=%s", t->key, t->text);
        else snprintf(line, sizeof line, "%s", t->text);
        const char *c1 = strchr(line, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c1 || c1 == line || !c2 || c2 - c1 != 2 || !strchr("isb", c1[1]))
            return scn_perr_at(p, t->col, "expected an .rdp line KEY:TYPE:VALUE (TYPE i, s or b), found '%s'", line);
        if (f->nlines >= SCN_MAX_LINES) return scn_perr_at(p, t->col, "more than %d .rdp lines", SCN_MAX_LINES);
        if (strlen(line) >= sizeof f->lines[0]) return scn_perr_at(p, t->col, ".rdp line too long");
        snprintf(f->lines[f->nlines++], sizeof f->lines[0], "%s", line);
        p->pos++;
    }
    return SCL_OK;
}

static int parse_default_rdp(struct scn_pctx *p, int col, int last)
{
    if (last < 0) return scn_perr_at(p, col, "'default-rdp' must follow a 'client' declaration");
    struct scn_client *cl = &p->sc->clients[last];
    if (cl->has_default) return scn_perr_at(p, col, "client %s: second 'default-rdp' (first at line %d)", cl->name, cl->default_rdp.loc.line);
    cl->has_default = true;
    cl->default_rdp.loc = (struct scn_loc){p->line, col};
    snprintf(cl->default_rdp.name, sizeof cl->default_rdp.name, "Default.rdp");
    return rdp_lines(p, &cl->default_rdp);
}

static int parse_rdp_file(struct scn_pctx *p, int col, int last)
{
    if (last < 0) return scn_perr_at(p, col, "'rdp-file' must follow a 'client' declaration");
    struct scn_client *cl = &p->sc->clients[last];
    if (cl->nrdp >= SCN_MAX_RDP_FILES) return scn_perr_at(p, col, "more than %d rdp files", SCN_MAX_RDP_FILES);
    struct scn_rdp_file *f = &cl->rdp[cl->nrdp];
    memset(f, 0, sizeof *f);
    f->loc = (struct scn_loc){p->line, col};
    const struct scn_tok *t = scn_peek(p);
    if (decl_name(p, "rdp file", f->name, sizeof f->name)) return SCL_E_FORMAT;
    size_t n = strlen(f->name);
    if (n < 5 || strcmp(f->name + n - 4, ".rdp") || !strcmp(f->name, "Default.rdp"))
        return scn_perr_at(p, t->col, "expected a file name ending in .rdp other than Default.rdp (use default-rdp), found '%s'", f->name);
    for (int i = 0; i < cl->nrdp; i++)
        if (!strcmp(cl->rdp[i].name, f->name))
            return scn_perr_at(p, t->col, "client %s: rdp file '%s' already declared at line %d", cl->name, f->name, cl->rdp[i].loc.line);
    if (rdp_lines(p, f)) return SCL_E_FORMAT;
    cl->nrdp++;
    return SCL_OK;
}

static int parse_server(struct scn_pctx *p, int col)
{
    struct scenario *sc = p->sc;
    if (sc->nservers >= SCN_MAX_SERVERS) return scn_perr_at(p, col, "more than %d servers", SCN_MAX_SERVERS);
    struct scn_server *sv = &sc->servers[sc->nservers];
    memset(sv, 0, sizeof *sv);
    sv->loc = (struct scn_loc){p->line, col};
    sv->enable_smartcard = true;
    sv->cert_prop_enabled = sv->root_propagation = sv->root_cleanup = -1;
    int ncol = scn_peek(p) ? scn_peek(p)->col : p->eol_col;
    if (decl_name(p, "server", sv->name, sizeof sv->name) || check_unique(p, sv->name, ncol))
        return SCL_E_FORMAT;
    static const char *const kinds[] = {"rdp", "console", NULL};
    int kind = scn_choice(p, kinds, "'rdp' (an RDP session host) or 'console' CLIENT (certprop on that client's own readers)");
    if (kind < 0) return SCL_E_FORMAT;
    sv->console = -1;
    if (kind == 1 && (sv->console = scn_client_ref(p)) < 0) return SCL_E_FORMAT;
    const char *list = "fEnableSmartCard=, certprop=, auth=, CertPropEnabled=, "
                       "EnableRootCertificatePropagation=, RootCertificateCleanupOption=, KeyProvider=";
    const struct scn_tok *t;
    while ((t = scn_peek(p))) {
        int v, rc = SCL_OK;
        if (!strcmp(t->key, "fEnableSmartCard")) {
            if (sv->console >= 0)
                return scn_perr_at(p, t->col, "fEnableSmartCard is an RDP host policy; server %s is a console", sv->name);
            rc = attr_bool(p, t, &v);
            sv->enable_smartcard = v;
        } else if (!strcmp(t->key, "certprop")) {
            if (!strcmp(t->text, "running")) sv->service = SCN_SVC_RUNNING;
            else if (!strcmp(t->text, "stopped")) sv->service = SCN_SVC_STOPPED;
            else if (!strcmp(t->text, "disabled")) sv->service = SCN_SVC_DISABLED;
            else return scn_perr_at(p, t->vcol, "certprop: expected running, stopped or disabled, found '%s'", t->text);
        } else if (!strcmp(t->key, "auth")) {
            if (sv->console >= 0) return scn_perr_at(p, t->col, "auth= is for rdp servers; server %s is a console", sv->name);
            if (!strcmp(t->text, "nla")) sv->auth = SCN_AUTH_NLA;
            else if (!strcmp(t->text, "tls")) sv->auth = SCN_AUTH_TLS;
            else return scn_perr_at(p, t->vcol, "auth: expected nla or tls, found '%s'", t->text);
        } else if (!strcmp(t->key, "CertPropEnabled")) rc = attr_bool(p, t, &sv->cert_prop_enabled);
        else if (!strcmp(t->key, "EnableRootCertificatePropagation")) rc = attr_bool(p, t, &sv->root_propagation);
        else if (!strcmp(t->key, "RootCertificateCleanupOption")) {
            if (strlen(t->text) != 1 || t->text[0] < '0' || t->text[0] > '2')
                return scn_perr_at(p, t->vcol, "RootCertificateCleanupOption: expected 0, 1 or 2, found '%s'", t->text);
            sv->root_cleanup = t->text[0] - '0';
        } else if (!strcmp(t->key, "KeyProvider")) {
            if (strcmp(t->text, "CSP") && strcmp(t->text, "KSP"))
                return scn_perr_at(p, t->vcol, "KeyProvider: expected CSP or KSP, found '%s'", t->text);
            rc = attr_copy(p, t, sv->key_provider, sizeof sv->key_provider);
        } else return unknown_attr(p, t, "server", list);
        if (rc) return rc;
        p->pos++;
    }
    sc->nservers++;
    return SCL_OK;
}

static int parse_user(struct scn_pctx *p, int col, int last)
{
    if (last < 0) return scn_perr_at(p, col, "'user' must follow a 'server' declaration");
    struct scn_server *sv = &p->sc->servers[last];
    if (sv->nusers >= SCN_MAX_USERS) return scn_perr_at(p, col, "more than %d users on a server", SCN_MAX_USERS);
    struct scn_user *u = &sv->users[sv->nusers];
    memset(u, 0, sizeof *u);
    u->loc = (struct scn_loc){p->line, col};
    const struct scn_tok *nt = scn_peek(p);
    if (decl_name(p, "user", u->name, sizeof u->name)) return SCL_E_FORMAT;
    for (int i = 0; i < sv->nusers; i++)
        if (!strcmp(sv->users[i].name, u->name))
            return scn_perr_at(p, nt->col, "server %s: user '%s' already declared at line %d", sv->name, u->name, sv->users[i].loc.line);
    const struct scn_tok *t;
    while ((t = scn_peek(p))) {
        int rc;
        if (!strcmp(t->key, "password")) {
            if (!strncmp(t->text, "env:", 4)) {
                if (!valid_name(t->text + 4)) return scn_perr_at(p, t->vcol + 4, "password=env: expected a variable name");
                snprintf(u->password_env, sizeof u->password_env, "%s", t->text + 4);
                rc = SCL_OK;
            } else rc = attr_copy(p, t, u->password, sizeof u->password);
        } else if (!strcmp(t->key, "owns")) rc = attr_copy(p, t, u->owns, sizeof u->owns);
        else return unknown_attr(p, t, "user", "password= or owns=");
        if (rc) return rc;
        p->pos++;
    }
    sv->nusers++;
    return SCL_OK;
}

/* ---- steps ---- */

static int parse_wait(struct scn_pctx *p, struct scn_step *st)
{
    const struct scn_tok *t = scn_peek(p);
    char names[200], what[300];
    scn_step_names(true, names, sizeof names);
    snprintf(what, sizeof what, "what to wait for (%s)", names);
    if (!t || t->key[0]) return scn_perr(p, what);
    const struct scn_step_def *d = scn_step_find(t->text, true);
    if (!d || !strcmp(d->name, "status") || !strcmp(d->name, "output"))
        return scn_perr_at(p, t->col, "cannot wait for '%s' (expected store, event, trace or log)", t->text);
    p->pos++;
    /* the inner parser stops at "within" */
    int within = -1;
    for (int i = p->pos; i < p->ntok; i++)
        if (!p->tok[i].key[0] && !p->tok[i].quoted && !strcmp(p->tok[i].text, "within")) within = i;
    if (within < 0) return scn_perr_at(p, p->eol_col, "expected 'within DURATION' at the end of a wait");
    int ntok = p->ntok;
    p->ntok = within;
    int eol = p->eol_col;
    p->eol_col = p->tok[within].col;
    st->def = d;
    int rc = d->parse(p, st);
    if (!rc) rc = scn_end(p); /* with the line cut at 'within' */
    p->ntok = ntok;
    p->eol_col = eol;
    if (rc) return rc;
    p->pos++; /* within */
    if (scn_duration(p, &st->timeout_ms)) return SCL_E_FORMAT;
    st->wait = true;
    return scn_end(p);
}

static void step_init(struct scn_step *st)
{
    memset(st, 0, sizeof *st);
    st->card = st->client = st->server = st->user = st->rdp = st->sel_card = -1;
    st->claimed = st->reachable = SCN_ANY;
    st->count = -1;
}

static int parse_step(struct scn_pctx *p, bool expect, int col, const char *src)
{
    struct scenario *sc = p->sc;
    if (sc->nsteps >= SCN_MAX_STEPS) return scn_perr_at(p, col, "more than %d steps", SCN_MAX_STEPS);
    struct scn_step *st = &sc->steps[sc->nsteps];
    step_init(st);
    st->loc = (struct scn_loc){p->line, col};
    st->expect = expect;
    snprintf(st->src, sizeof st->src, "%s", src);
    snprintf(st->say, sizeof st->say, "%s", p->say);
    p->say[0] = 0;
    const struct scn_tok *t = scn_peek(p);
    char names[300];
    scn_step_names(expect, names, sizeof names);
    if (!t || t->key[0]) {
        char what[400];
        snprintf(what, sizeof what, "%s name (%s)", expect ? "an expectation" : "a step", names);
        return scn_perr(p, what);
    }
    const struct scn_step_def *d = scn_step_find(t->text, expect);
    if (!d) {
        const char *hint = scn_step_find(t->text, !expect) ? (expect ? " (it is a step: write 'step')" : " (it is an expectation: write 'expect', or 'step wait')") : "";
        return scn_perr_at(p, t->col, "unknown %s '%s'%s (expected %s)", expect ? "expectation" : "step", t->text, hint, names);
    }
    p->pos++;
    st->def = d;
    sc->nsteps++; /* counted now so a failed parse still frees its argv */
    return d->parse(p, st);
}

/* A command step whose exit status the next statement judges. */
static void link_status(struct scenario *sc)
{
    for (int i = 0; i + 1 < sc->nsteps; i++) {
        struct scn_step *a = &sc->steps[i], *b = &sc->steps[i + 1];
        if (a->argc && !a->expect && b->expect && b->def && !strcmp(b->def->name, "status"))
            a->status_checked = true;
    }
}

/* `say "TEXT"`: the narration of the next step (the demo tells it). */
static int parse_say(struct scn_pctx *p, int col)
{
    if (p->say[0]) return scn_perr_at(p, col, "second 'say' before a step (one 'say' per step)");
    const struct scn_tok *t = scn_next(p, "the narration in quotes");
    if (!t) return SCL_E_FORMAT;
    if (!t->text[0]) return scn_perr_at(p, t->col, "empty narration");
    snprintf(p->say, sizeof p->say, "%s", t->text);
    p->say_line = p->line;
    return scn_end(p);
}

static int parse_line(struct scn_pctx *p, const char *src, int *last_client, int *last_server,
                      bool *have_title)
{
    const struct scn_tok *t = scn_peek(p);
    if (!t) return SCL_OK;
    if (t->key[0] || t->quoted)
        return scn_perr(p, "a statement (scenario, card, client, default-rdp, rdp-file, server, user, step, expect)");
    int col = t->col;
    char kw[SCN_NAME_MAX];
    snprintf(kw, sizeof kw, "%s", t->text);
    p->pos++;
    bool is_step = !strcmp(kw, "step") || !strcmp(kw, "expect");
    if (!strcmp(kw, "say")) return parse_say(p, col);
    if (!is_step && p->sc->nsteps > 0 && strcmp(kw, "scenario"))
        return scn_perr_at(p, col, "'%s' declaration after the first step: declare machines and cards before the steps", kw);
    if (!strcmp(kw, "scenario")) {
        if (*have_title) return scn_perr_at(p, col, "second 'scenario' statement");
        const struct scn_tok *tt = scn_next(p, "the scenario's title in quotes");
        if (!tt) return SCL_E_FORMAT;
        snprintf(p->sc->title, sizeof p->sc->title, "%s", tt->text);
        *have_title = true;
        return scn_end(p);
    }
    int rc;
    if (!strcmp(kw, "card")) {
        *last_client = *last_server = -1;
        return parse_card(p, col);
    }
    if (!strcmp(kw, "client")) {
        *last_server = -1;
        rc = parse_client(p, col);
        *last_client = rc ? -1 : p->sc->nclients - 1;
        return rc;
    }
    if (!strcmp(kw, "default-rdp")) return parse_default_rdp(p, col, *last_client);
    if (!strcmp(kw, "rdp-file")) return parse_rdp_file(p, col, *last_client);
    if (!strcmp(kw, "server")) {
        *last_client = -1;
        rc = parse_server(p, col);
        *last_server = rc ? -1 : p->sc->nservers - 1;
        return rc;
    }
    if (!strcmp(kw, "user")) return parse_user(p, col, *last_server);
    if (is_step) {
        *last_client = *last_server = -1;
        if ((rc = parse_step(p, !strcmp(kw, "expect"), col, src))) return rc;
        return scn_end(p);
    }
    return scn_perr_at(p, col,
                       "unknown statement '%s' (expected scenario, card, client, default-rdp, "
                       "rdp-file, server, user, step or expect)",
                       kw);
}

static int finish(struct scn_pctx *p)
{
    struct scenario *sc = p->sc;
    p->pos = p->ntok = 0;
    p->eol_col = 1;
    p->line = 1; /* file-level mistakes are reported at its start */
    if (!sc->title[0]) return scn_perr_at(p, 1, "missing 'scenario \"TITLE\"' statement");
    for (int i = 0; i < sc->nservers; i++)
        if (!sc->servers[i].nusers) {
            p->line = sc->servers[i].loc.line;
            return scn_perr_at(p, sc->servers[i].loc.col, "server %s: declares no user (add 'user NAME' after it)", sc->servers[i].name);
        }
    p->line = 1;
    if (!sc->nsteps) return scn_perr_at(p, 1, "no 'step' or 'expect' statement");
    if (p->say[0]) {
        p->line = p->say_line;
        return scn_perr_at(p, 1, "'say' with no step after it");
    }
    link_status(sc);
    return SCL_OK;
}

int scn_parse(const char *name, const char *dir, const uint8_t *text, size_t len,
              struct scenario **out, struct scl_err *e)
{
    *out = NULL;
    if (len > SCN_FILE_MAX)
        return scl_errf(e, SCL_E_FORMAT, "%s:1:1: file is larger than %d bytes", name, SCN_FILE_MAX);
    struct scenario *sc = calloc(1, sizeof *sc);
    if (!sc) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    snprintf(sc->path, sizeof sc->path, "%s", name);
    snprintf(sc->dir, sizeof sc->dir, "%s", dir ? dir : ".");
    struct scn_pctx p = {.name = name, .sc = sc, .e = e};
    struct cur c;
    cur_init(&c, text, len);
    int last_client = -1, last_server = -1, rc = SCL_OK;
    bool have_title = false;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) cur_skip(&c, 3);
    while (cur_left(&c) > 0 && !rc) {
        p.line++;
        size_t n = 0;
        const uint8_t *ln = c.p + c.off;
        while (n < cur_left(&c) && ln[n] != '\n') n++;
        struct cur lc;
        cur_sub(&c, n, &lc);
        if (cur_left(&c)) cur_skip(&c, 1);
        if (n && ln[n - 1] == '\r') lc.len--;
        if (lc.len > SCN_LINE_MAX) {
            rc = scl_errf(e, SCL_E_FORMAT, "%s:%d:%d: line longer than %d bytes", name, p.line,
                          SCN_LINE_MAX + 1, SCN_LINE_MAX);
            break;
        }
        for (size_t i = 0; i < lc.len && !rc; i++)
            if ((ln[i] < 0x20 && ln[i] != '\t') || ln[i] == 0x7f)
                rc = scl_errf(e, SCL_E_FORMAT, "%s:%d:%zu: control byte 0x%02x (the file must be text)",
                              name, p.line, i + 1, ln[i]);
        if (rc) break;
        char src[SCN_TEXT_MAX];
        size_t sl = lc.len < sizeof src - 1 ? lc.len : sizeof src - 1;
        memcpy(src, ln, sl);
        src[sl] = 0;
        /* narration shows the statement without leading blanks or comment */
        char *s = src;
        while (*s == ' ' || *s == '\t') s++;
        if ((rc = tokenize(&p, &lc))) break;
        if (p.ntok) {
            /* cut the trailing comment off the narration line */
            size_t end = (size_t)p.eol_col - 1 - (size_t)(s - src);
            if (end < strlen(s)) s[end] = 0;
        }
        rc = parse_line(&p, s, &last_client, &last_server, &have_title);
    }
    if (!rc) rc = finish(&p);
    if (rc) {
        scn_free(sc);
        return rc;
    }
    *out = sc;
    return SCL_OK;
}

int scn_load(const char *path, struct scenario **sc, struct scl_err *e)
{
    uint8_t *buf;
    size_t len;
    *sc = NULL;
    int rc = scl_read_file(path, SCN_FILE_MAX + 1, &buf, &len, e);
    if (rc) return rc;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    rc = scn_parse(path, dir, buf, len, sc, e);
    free(buf);
    return rc;
}

void scn_free(struct scenario *sc)
{
    if (!sc) return;
    for (int i = 0; i < sc->nsteps; i++)
        for (int k = 0; k < sc->steps[i].argc; k++) free(sc->steps[i].argv[k]);
    free(sc);
}
