/*
 * scn_steps_expect.c - the expectations (also what `step wait` polls):
 * certificates in a user's store (by certutil CertId, by card, or foreign to
 * the user), certprop's JSON events, the client's smart-card trace, and the
 * last command's output and status.  Each check looks once and says what it
 * saw; it never changes a machine.
 */
#include "propagator.h"
#include "scn_int.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXT_MAX (8 * 1024 * 1024)

static int has_lacks(struct scn_pctx *p, struct scn_step *st)
{
    static const char *const hl[] = {"has", "lacks", NULL};
    int v = scn_choice(p, hl, "'has' or 'lacks'");
    if (v < 0) return SCL_E_FORMAT;
    st->negate = v == 1;
    return SCL_OK;
}

static int yes_no(struct scn_pctx *p, int *out)
{
    static const char *const yn[] = {"no", "yes", NULL};
    int v = scn_choice(p, yn, "'yes' or 'no'");
    if (v < 0) return SCL_E_FORMAT;
    *out = v;
    return SCL_OK;
}

/* ---- store ---- */

/* store SERVER USER STORE has|lacks SELECTOR [key-claimed yes|no] [reachable yes|no]
 *       [provider "NAME"] [count N]
 * SELECTOR: card NAME | foreign | any | CERTID */
int scn_parse_store(struct scn_pctx *p, struct scn_step *st)
{
    if ((st->server = scn_server_ref(p)) < 0 || (st->user = scn_user_ref(p, st->server)) < 0) return SCL_E_FORMAT;
    const struct scn_tok *t = scn_next(p, "a store name such as My");
    if (!t) return SCL_E_FORMAT;
    bool ok = t->text[0] && strlen(t->text) < sizeof st->store;
    for (const char *q = t->text; *q; q++) ok = ok && isalnum((unsigned char)*q);
    if (!ok) return scn_perr_at(p, t->col, "expected a store name such as My (letters and digits), found '%s'", t->text);
    snprintf(st->store, sizeof st->store, "%s", t->text);
    if (has_lacks(p, st)) return SCL_E_FORMAT;
    if (scn_accept(p, "card")) {
        st->sel = SCN_SEL_CARD;
        if ((st->sel_card = scn_card_ref(p)) < 0) return SCL_E_FORMAT;
    } else if (scn_accept(p, "foreign")) st->sel = SCN_SEL_FOREIGN;
    else if (scn_accept(p, "any")) st->sel = SCN_SEL_ANY;
    else {
        t = scn_next(p, "which certificates: a CertId (serial, SHA-1, name, UPN...), 'card NAME', 'foreign' or 'any'");
        if (!t) return SCL_E_FORMAT;
        st->sel = SCN_SEL_CERTID;
        snprintf(st->certid, sizeof st->certid, "%s", t->text);
    }
    while (scn_peek(p)) {
        const struct scn_tok *q = scn_peek(p);
        if (st->negate)
            return scn_perr_at(p, q->col, "'lacks' takes no qualifiers (use 'has ... count N' or a second expectation)");
        if (scn_accept(p, "key-claimed")) {
            if (yes_no(p, &st->claimed)) return SCL_E_FORMAT;
        } else if (scn_accept(p, "reachable")) {
            if (yes_no(p, &st->reachable)) return SCL_E_FORMAT;
        } else if (scn_accept(p, "provider")) {
            if (!(t = scn_next(p, "a provider name in quotes"))) return SCL_E_FORMAT;
            snprintf(st->provider, sizeof st->provider, "%s", t->text);
        } else if (scn_accept(p, "count")) {
            if (scn_int_tok(p, "a count from 1 to 1000", 1, 1000, &st->count)) return SCL_E_FORMAT;
        } else return scn_perr(p, "key-claimed, reachable, provider, count or end of line");
    }
    return SCL_OK;
}

/* SHA-1s (upper hex) of the certificates sweep calls foreign in this profile. */
static int foreign_set(struct scn_rt *rt, const struct scn_step *st, const char *prof, char ***out, size_t *n,
                       struct scn_out *o)
{
    const struct scn_user *u = &rt->sc->servers[st->server].users[st->user];
    char owners[PATH_MAX];
    struct sw_opts so;
    sw_opts_defaults(&so);
    const char *roots[] = {prof};
    so.roots = roots;
    so.nroots = 1;
    so.rules = SW_REASON_FOREIGN;
    so.jobs = 1;
    if (u->owns[0]) {
        /* the owners file maps the profile to the identities the user owns */
        char text[SCN_TEXT_MAX * 2 + 64], ids[SCN_TEXT_MAX];
        snprintf(ids, sizeof ids, "%s", u->owns);
        size_t k = (size_t)snprintf(text, sizeof text, "%s", u->name);
        for (char *id = strtok(ids, ","); id; id = strtok(NULL, ","))
            k += (size_t)snprintf(text + k, sizeof text - k, " \"%s\"", id);
        snprintf(text + k, sizeof text - k, "\n");
        snprintf(owners, sizeof owners, "%s/servers/%s/owners-%s.txt", rt->root, rt->sc->servers[st->server].name,
                 u->name);
        struct scl_err e = {0};
        if (scl_write_atomic(owners, text, strlen(text), 0600, &e)) {
            scn_say(o, "%s", e.msg);
            return -1;
        }
        so.owners_path = owners;
    }
    struct sw_result r;
    struct scl_err e = {0};
    if (sw_sweep(&so, &r, &e)) {
        scn_say(o, "foreign check (sweep): %s", e.msg);
        return -1;
    }
    *out = calloc(r.nfindings + 1, sizeof **out);
    *n = 0;
    for (size_t i = 0; *out && i < r.nfindings; i++)
        if (r.findings[i].reasons & SW_REASON_FOREIGN) (*out)[(*n)++] = strdup(r.findings[i].thumbprint);
    sw_result_free(&r);
    return *out ? 0 : -1;
}

/* "Private key reachable: ..." per SHA-1 from `scardlab certutil -store`,
 * run with the user's PC/SC (a child: libpcsclite binds one socket per process). */
static char *reachability(struct scn_rt *rt, const struct scn_step *st, const char *prof, struct scn_out *o)
{
    char sock[PATH_MAX], env[PATH_MAX + 32], out[PATH_MAX];
    scn_user_pcsc(rt, st->server, st->user, sock, sizeof sock);
    snprintf(env, sizeof env, "PCSCLITE_CSOCK_NAME=%s", sock);
    snprintf(out, sizeof out, "%s/logs/%02d-reachable.out", rt->root, rt->nstep + 1);
    unlink(out);
    const char *argv[] = {rt->exe, "certutil", "--profile", prof, "-user", "-store", st->store, NULL};
    const char *envv[] = {sock[0] ? env : NULL, NULL};
    int pr = scn_spawn(rt, "certutil-reachable", argv, envv, out, o);
    if (pr < 0) return NULL;
    for (int waited = 0; scn_alive(rt, pr); waited += 10) {
        if (waited > 60000) {
            scn_stop(rt, pr);
            scn_say(o, "certutil -store (reachability) did not finish in 60 s");
            return NULL;
        }
        scn_sleep_ms(10);
    }
    uint8_t *buf;
    size_t len;
    if (scl_read_file(out, TEXT_MAX, &buf, &len, NULL)) return NULL;
    return (char *)buf;
}

/* The reachability line for the certificate with this hash in certutil's output. */
static void reach_of(const char *text, const char *sha1_lower, char *out, size_t cap)
{
    snprintf(out, cap, "not listed");
    const char *h = text;
    char needle[64];
    snprintf(needle, sizeof needle, "Cert Hash(sha1): %s", sha1_lower);
    if (!(h = strstr(text, needle))) return;
    const char *r = strstr(h, "Private key reachable: ");
    if (!r) return;
    r += strlen("Private key reachable: ");
    size_t n = strcspn(r, "\n");
    snprintf(out, cap, "%.*s", (int)n, r);
}

static bool sel_match(struct scn_rt *rt, const struct scn_step *st, const struct cs_element *el, size_t idx,
                      char **foreign, size_t nforeign)
{
    char hex[41];
    switch (st->sel) {
    case SCN_SEL_ANY: return true;
    case SCN_SEL_CERTID: return cs_certid_match(st->certid, el, idx);
    case SCN_SEL_CARD:
        for (int i = 0; i < rt->cards[st->sel_card].ncerts; i++)
            if (!memcmp(rt->cards[st->sel_card].sha1[i], el->sha1, 20)) return true;
        return false;
    case SCN_SEL_FOREIGN:
        scl_hex_encode(el->sha1, 20, hex, true);
        for (size_t i = 0; i < nforeign; i++)
            if (!strcmp(foreign[i], hex)) return true;
        return false;
    }
    return false;
}

static void describe_sel(const struct scn_rt *rt, const struct scn_step *st, char *out, size_t cap)
{
    if (st->sel == SCN_SEL_CERTID) snprintf(out, cap, "\"%s\"", st->certid);
    else if (st->sel == SCN_SEL_CARD) snprintf(out, cap, "from card %s", rt->sc->cards[st->sel_card].name);
    else if (st->sel == SCN_SEL_FOREIGN) snprintf(out, cap, "foreign to %s", rt->sc->servers[st->server].users[st->user].name);
    else snprintf(out, cap, "(any)");
}

int scn_check_store(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    char prof[PATH_MAX], sel[SCN_TEXT_MAX + 32];
    scn_user_profile(rt, st->server, st->user, prof, sizeof prof);
    describe_sel(rt, st, sel, sizeof sel);
    const char *who = rt->sc->servers[st->server].users[st->user].name;
    const char *srv = rt->sc->servers[st->server].name;
    struct cs_store *store;
    struct cs_listing l = {0};
    struct scl_err e = {0};
    if (cs_store_open(CS_SCOPE_USER, prof, st->store, false, &store, &e)) {
        scn_say(o, "store %s/%s %s: %s", srv, who, st->store, e.msg);
        return SCN_ERROR;
    }
    int lrc = cs_store_list(store, &l, &e);
    cs_store_close(store);
    if (lrc) {
        scn_say(o, "store %s/%s %s: %s", srv, who, st->store, e.msg);
        return SCN_ERROR;
    }
    char **foreign = NULL;
    size_t nforeign = 0;
    if (st->sel == SCN_SEL_FOREIGN && foreign_set(rt, st, prof, &foreign, &nforeign, o)) {
        cs_listing_free(&l);
        return SCN_ERROR;
    }
    char *reach = NULL;
    int verdict = SCN_PASS, matched = 0;
    for (size_t i = 0; i < l.n; i++) {
        const struct cs_element *el = &l.elements[i];
        if (!sel_match(rt, st, el, i, foreign, nforeign)) continue;
        matched++;
        struct cs_cert_info ci;
        struct cs_key_prov_info kpi;
        char hex[41], rline[200] = "";
        scl_hex_encode(el->sha1, 20, hex, false);
        if (cs_cert_info(el->cert_der, el->cert_len, &ci, NULL)) snprintf(ci.subject, sizeof ci.subject, "?");
        bool claimed = cs_element_kpi(el, &kpi, NULL) == SCL_OK;
        if (st->reachable != SCN_ANY) {
            if (!reach && !(reach = reachability(rt, st, prof, o))) {
                verdict = SCN_ERROR;
                break;
            }
            reach_of(reach, hex, rline, sizeof rline);
        }
        bool bad = false;
        scn_say(o, "%s %s: %s, key %s", st->negate ? "unexpected" : "found", hex, ci.subject,
                claimed ? "claimed" : "not claimed");
        if (claimed) scn_say(o, " (%s, container %s)", kpi.provider, kpi.container);
        if (rline[0]) scn_say(o, ", reachable: %s", rline);
        if (st->claimed != SCN_ANY && claimed != (st->claimed == SCN_YES)) {
            scn_say(o, " -- expected key-claimed %s", st->claimed ? "yes" : "no");
            bad = true;
        }
        if (st->provider[0] && (!claimed || strcmp(kpi.provider, st->provider))) {
            scn_say(o, " -- expected provider \"%s\"", st->provider);
            bad = true;
        }
        /* "unknown" (no PC/SC in reach) is not a reachable key */
        bool reachable = !strncmp(rline, "yes", 3);
        if (st->reachable != SCN_ANY && reachable != (st->reachable == SCN_YES)) {
            scn_say(o, " -- expected reachable %s", st->reachable ? "yes" : "no");
            bad = true;
        }
        scn_say(o, "\n");
        if (bad) verdict = SCN_FAIL;
    }
    if (verdict != SCN_ERROR) {
        if (st->negate && matched) {
            scn_say(o, "store %s/%s %s should hold no certificate %s, holds %d", srv, who, st->store, sel, matched);
            verdict = SCN_FAIL;
        } else if (!st->negate && !matched) {
            scn_say(o, "store %s/%s %s holds no certificate %s (%zu certificates in it)", srv, who, st->store, sel, l.n);
            verdict = SCN_FAIL;
        } else if (st->count >= 0 && matched != st->count) {
            scn_say(o, "store %s/%s %s: expected %d certificates %s, found %d", srv, who, st->store, st->count, sel,
                    matched);
            verdict = SCN_FAIL;
        } else if (verdict == SCN_PASS && !matched)
            scn_say(o, "store %s/%s %s holds no certificate %s (%zu in it)", srv, who, st->store, sel, l.n);
        else if (verdict == SCN_FAIL)
            scn_say(o, "store %s/%s %s: a certificate %s does not have the expected properties", srv, who, st->store, sel);
    }
    for (size_t i = 0; i < nforeign; i++) free(foreign[i]);
    free(foreign);
    free(reach);
    cs_listing_free(&l);
    return verdict;
}

/* ---- JSON-lines files: certprop events, the client's trace ---- */

typedef bool (*line_pred)(const cJSON *obj, const char *raw, const struct scn_step *st);

static int count_lines(const char *path, const struct scn_step *st, line_pred pred, int *total)
{
    uint8_t *buf;
    size_t len;
    *total = 0;
    if (access(path, F_OK) != 0) return 0;
    if (scl_read_file(path, TEXT_MAX, &buf, &len, NULL)) return -1;
    int n = 0;
    for (char *line = strtok((char *)buf, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *obj = cJSON_Parse(line);
        if (!obj) continue; /* a line being written; the next poll sees it whole */
        (*total)++;
        if (pred(obj, line, st)) n++;
        cJSON_Delete(obj);
    }
    free(buf);
    return n;
}

static int judge_count(const struct scn_step *st, int n, struct scn_out *o, const char *what)
{
    if (st->negate ? n == 0 : (st->count >= 0 ? n == st->count : n > 0)) {
        scn_say(o, "%s: %d", what, n);
        return SCN_PASS;
    }
    if (st->negate) scn_say(o, "%s: expected none, found %d", what, n);
    else if (st->count >= 0) scn_say(o, "%s: expected %d, found %d", what, st->count, n);
    else scn_say(o, "%s: expected at least one, found none", what);
    return SCN_FAIL;
}

/* event SERVER USER has|lacks NAME [count N] */
int scn_parse_event(struct scn_pctx *p, struct scn_step *st)
{
    static const char *const events[] = {"card_inserted", "cert_added", "cert_removed", "skipped",
                                         "card_removed", "error", NULL};
    if ((st->server = scn_server_ref(p)) < 0 || (st->user = scn_user_ref(p, st->server)) < 0 || has_lacks(p, st))
        return SCL_E_FORMAT;
    int v = scn_choice(p, events, "a certprop event (card_inserted, cert_added, cert_removed, skipped, card_removed, error)");
    if (v < 0) return SCL_E_FORMAT;
    snprintf(st->word, sizeof st->word, "%s", events[v]);
    if (!st->negate && scn_accept(p, "count") && scn_int_tok(p, "a count from 1 to 1000", 1, 1000, &st->count))
        return SCL_E_FORMAT;
    return SCL_OK;
}

static bool event_pred(const cJSON *obj, const char *raw, const struct scn_step *st)
{
    (void)raw;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(obj, "event");
    return cJSON_IsString(ev) && !strcmp(ev->valuestring, st->word);
}

int scn_check_event(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    const struct scn_server *sv = &rt->sc->servers[st->server];
    char path[PATH_MAX], what[300];
    if (sv->console >= 0)
        snprintf(path, sizeof path, "%s/%s.certprop.json", rt->servers[st->server].dir, sv->users[st->user].name);
    else
        snprintf(path, sizeof path, "%s/users/%s/current/certprop.json", rt->servers[st->server].state,
                 sv->users[st->user].name);
    int total;
    int n = count_lines(path, st, event_pred, &total);
    if (n < 0) {
        scn_say(o, "cannot read %s", path);
        return SCN_ERROR;
    }
    snprintf(what, sizeof what, "certprop events '%s' for %s on %s (of %d events)", st->word,
             sv->users[st->user].name, sv->name, total);
    return judge_count(st, n, o, what);
}

/* trace CLIENT has|lacks ioctl NAME | apdu HEXPREFIX | response HEXPREFIX | text "S" [count N] */
int scn_parse_trace(struct scn_pctx *p, struct scn_step *st)
{
    static const char *const kinds[] = {"ioctl", "apdu", "response", "text", NULL};
    if ((st->client = scn_client_ref(p)) < 0 || has_lacks(p, st)) return SCL_E_FORMAT;
    int k = scn_choice(p, kinds, "ioctl NAME, apdu HEX, response HEX or text \"S\"");
    if (k < 0) return SCL_E_FORMAT;
    snprintf(st->word, sizeof st->word, "%s", kinds[k]);
    const struct scn_tok *t = scn_next(p, k == 0 ? "an IOCTL name such as Transmit" : k == 3 ? "text in quotes" : "hex bytes such as \"00 a4 04 00\"");
    if (!t) return SCL_E_FORMAT;
    if (k == 1 || k == 2) {
        /* kept as the trace writes it: lowercase hex, no blanks */
        uint8_t b[SCN_TEXT_MAX / 2];
        int n = scl_hex_decode(t->text, b, sizeof b);
        if (n < 1) return scn_perr_at(p, t->col, "expected hex bytes such as \"00 a4 04 00\", found '%s'", t->text);
        scl_hex_encode(b, (size_t)n, st->text, false);
    } else snprintf(st->text, sizeof st->text, "%s", t->text);
    if (!st->negate && scn_accept(p, "count") && scn_int_tok(p, "a count from 1 to 100000", 1, 100000, &st->count))
        return SCL_E_FORMAT;
    return SCL_OK;
}

static bool trace_pred(const cJSON *obj, const char *raw, const struct scn_step *st)
{
    if (!strcmp(st->word, "text")) return strstr(raw, st->text) != NULL;
    const char *field = !strcmp(st->word, "ioctl") ? "ioctl" : !strcmp(st->word, "apdu") ? "pbSendBuffer" : "pbRecvBuffer";
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!cJSON_IsString(v)) return false;
    if (!strcmp(st->word, "ioctl")) return !strcmp(v->valuestring, st->text);
    return !strncmp(v->valuestring, st->text, strlen(st->text));
}

int scn_check_trace(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    const char *path = rt->clients[st->client].trace;
    int total;
    int n = count_lines(path, st, trace_pred, &total);
    if (n < 0) {
        scn_say(o, "cannot read %s", path);
        return SCN_ERROR;
    }
    char what[SCN_TEXT_MAX + 200];
    snprintf(what, sizeof what, "trace lines of %s with %s %s (of %d lines)", rt->sc->clients[st->client].name,
             st->word, st->text, total);
    return judge_count(st, n, o, what);
}

/* ---- the machines' own logs ---- */

/* log CLIENT|SERVER [USER] has|lacks "TEXT" [count N]
 * CLIENT: its latest `scardlab connect` output; SERVER: the session host's
 * log; SERVER USER: that user's certprop log (console, or current session). */
int scn_parse_log(struct scn_pctx *p, struct scn_step *st)
{
    const struct scn_tok *t = scn_peek(p);
    if (!t || t->key[0]) return scn_perr(p, "a client or server name");
    for (int i = 0; i < p->sc->nclients; i++)
        if (!strcmp(p->sc->clients[i].name, t->text)) st->client = i;
    for (int i = 0; i < p->sc->nservers; i++)
        if (!strcmp(p->sc->servers[i].name, t->text)) st->server = i;
    if (st->client < 0 && st->server < 0)
        return scn_perr_at(p, t->col, "undeclared client or server '%s'", t->text);
    p->pos++;
    const struct scn_tok *u = scn_peek(p);
    bool verb = u && !u->key[0] && (!strcmp(u->text, "has") || !strcmp(u->text, "lacks"));
    if (st->server >= 0 && u && !verb) {
        if ((st->user = scn_user_ref(p, st->server)) < 0) return SCL_E_FORMAT;
    } else if (st->server >= 0 && p->sc->servers[st->server].console >= 0)
        return scn_perr_at(p, t->col, "server %s is a console: it has no host log (name a user for their certprop log)",
                           t->text);
    if (has_lacks(p, st)) return SCL_E_FORMAT;
    if (!(t = scn_next(p, "text in quotes"))) return SCL_E_FORMAT;
    snprintf(st->text, sizeof st->text, "%s", t->text);
    if (!st->negate && scn_accept(p, "count") && scn_int_tok(p, "a count from 1 to 100000", 1, 100000, &st->count))
        return SCL_E_FORMAT;
    return SCL_OK;
}

/* Which file, and how to name it in the narration; false if none yet. */
static bool log_path(struct scn_rt *rt, const struct scn_step *st, char *path, size_t cap, char *what, size_t wcap)
{
    if (st->client >= 0) {
        snprintf(path, cap, "%s", rt->clients[st->client].connect_log);
        snprintf(what, wcap, "client %s's connect log", rt->sc->clients[st->client].name);
        return path[0] != 0;
    }
    const struct scn_server *sv = &rt->sc->servers[st->server];
    const struct scn_rt_server *r = &rt->servers[st->server];
    if (st->user < 0) {
        snprintf(path, cap, "%s/host.log", r->dir);
        snprintf(what, wcap, "the host log of %s", sv->name);
    } else if (sv->console >= 0) {
        snprintf(path, cap, "%s/%s.certprop.log", r->dir, sv->users[st->user].name);
        snprintf(what, wcap, "%s's certprop log on %s", sv->users[st->user].name, sv->name);
    } else {
        snprintf(path, cap, "%s/users/%s/current/certprop.log", r->state, sv->users[st->user].name);
        snprintf(what, wcap, "%s's certprop log in the current session on %s", sv->users[st->user].name, sv->name);
    }
    return true;
}

int scn_check_log(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    char path[PATH_MAX], what[SCN_TEXT_MAX + 300], first[200] = "";
    if (!log_path(rt, st, path, sizeof path, what, sizeof what)) {
        scn_say(o, "%s: the client has not connected yet", what);
        return SCN_ERROR;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int n = 0;
    /* no file yet (no session, nothing logged) holds no line */
    if (access(path, F_OK) == 0 && scl_read_file(path, TEXT_MAX, &buf, &len, NULL)) {
        scn_say(o, "cannot read %s", path);
        return SCN_ERROR;
    }
    for (char *line = buf ? strtok((char *)buf, "\n") : NULL; line; line = strtok(NULL, "\n"))
        if (strstr(line, st->text) && n++ == 0) snprintf(first, sizeof first, "%s", line);
    free(buf);
    if (first[0]) scn_say(o, "| %s\n", first);
    size_t k = strlen(what);
    snprintf(what + k, sizeof what - k, ": lines with \"%s\"", st->text);
    return judge_count(st, n, o, what);
}

/* ---- the last command ---- */

/* glibc's regcomp copies the tree of a repeated group for every bound it
 * expands, so stacked repetitions ("a+++...", "((a+)+)+", "a{99}{99}")
 * make it allocate without bound: a hostile scenario file could exhaust
 * memory before any step runs.  POSIX leaves adjacent duplication symbols
 * undefined anyway; refuse them, bounds over 32, and repeated groups nested
 * deeper than 2 (false, and why, when the pattern is refused). */
#define RE_BOUND_MAX 32
#define RE_REPEAT_DEPTH_MAX 2
static bool regex_is_tame(const char *re, char *why, size_t cap)
{
    int depth = 0, repeats[64] = {0}; /* repeated groups inside each open paren */
    int last_repeats = 0;             /* of the group just closed, or 0 */
    bool after_dup = false;
    for (const char *c = re; *c; c++) {
        bool dup = *c == '*' || *c == '+' || *c == '?' || *c == '{';
        if (*c == '\\' && c[1]) {
            c++;
        } else if (*c == '[') { /* a bracket expression is one atom: skip it */
            const char *e = c + 1 + (c[1] == '^');
            if (*e == ']') e++;
            while (*e && *e != ']') e++;
            if (!*e) break; /* regcomp reports the missing ] */
            c = e;
        } else if (dup) {
            if (after_dup) return snprintf(why, cap, "a repetition right after another (\"%.2s\")", c - 1), false;
            if (*c == '{') {
                long n = 0;
                for (c++; *c && *c != '}'; c++)
                    if (*c >= '0' && *c <= '9' && (n = n * 10 + (*c - '0')) > RE_BOUND_MAX)
                        return snprintf(why, cap, "a bound over %d", RE_BOUND_MAX), false;
                if (!*c) break;
            }
            if (last_repeats + 1 > RE_REPEAT_DEPTH_MAX)
                return snprintf(why, cap, "repeated groups nested more than %d deep", RE_REPEAT_DEPTH_MAX), false;
            if (depth > 0 && depth < 64 && repeats[depth - 1] < last_repeats + 1)
                repeats[depth - 1] = last_repeats + 1;
            after_dup = true, last_repeats = 0;
            continue;
        } else if (*c == '(') {
            if (++depth < 64) repeats[depth - 1] = 0;
            after_dup = false, last_repeats = 0;
            continue;
        } else if (*c == ')') {
            last_repeats = depth > 0 && depth <= 64 ? repeats[depth - 1] : 0;
            if (depth > 0) depth--;
            after_dup = false;
            continue;
        }
        after_dup = false, last_repeats = 0;
    }
    return true;
}

/* output contains|lacks|matches "TEXT" */
int scn_parse_output(struct scn_pctx *p, struct scn_step *st)
{
    static const char *const ops[] = {"contains", "lacks", "matches", NULL};
    int k = scn_choice(p, ops, "contains, lacks or matches");
    if (k < 0) return SCL_E_FORMAT;
    snprintf(st->word, sizeof st->word, "%s", ops[k]);
    const struct scn_tok *t = scn_next(p, k == 2 ? "an extended regular expression in quotes" : "text in quotes");
    if (!t) return SCL_E_FORMAT;
    if (k == 2) {
        char why[120];
        if (!regex_is_tame(t->text, why, sizeof why))
            return scn_perr_at(p, t->col, "regular expression refused: %s", why);
        regex_t re;
        int rc = regcomp(&re, t->text, REG_EXTENDED | REG_NEWLINE | REG_NOSUB);
        if (rc) {
            char msg[160];
            regerror(rc, &re, msg, sizeof msg);
            return scn_perr_at(p, t->col, "bad regular expression: %s", msg);
        }
        regfree(&re);
    }
    snprintf(st->text, sizeof st->text, "%s", t->text);
    return SCL_OK;
}

int scn_check_output(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    if (!rt->have_output) {
        scn_say(o, "no command has run yet: 'expect output' judges the last exec, certutil, sweep or run step");
        return SCN_ERROR;
    }
    bool hit;
    if (!strcmp(st->word, "matches")) {
        regex_t re;
        if (regcomp(&re, st->text, REG_EXTENDED | REG_NEWLINE | REG_NOSUB)) return SCN_ERROR;
        hit = regexec(&re, rt->output, 0, NULL, 0) == 0;
        regfree(&re);
    } else hit = strstr(rt->output, st->text) != NULL;
    bool want = strcmp(st->word, "lacks") != 0;
    if (hit == want) {
        scn_say(o, "output %s \"%s\"", want ? (strcmp(st->word, "matches") ? "contains" : "matches") : "lacks", st->text);
        return SCN_PASS;
    }
    scn_say(o, "the last command's output %s \"%s\"; output was:\n%.1500s", want ? "does not contain/match" : "contains",
            st->text, rt->output);
    return SCN_FAIL;
}

/* status N */
int scn_parse_status(struct scn_pctx *p, struct scn_step *st)
{
    return scn_int_tok(p, "an exit status from 0 to 255", 0, 255, &st->value);
}

int scn_check_status(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    if (!rt->have_output) {
        scn_say(o, "no command has run yet: 'expect status' judges the last exec, certutil, sweep or run step");
        return SCN_ERROR;
    }
    if (rt->status == st->value) {
        scn_say(o, "exit status %d", rt->status);
        return SCN_PASS;
    }
    scn_say(o, "expected exit status %d, the last command exited with %d", st->value, rt->status);
    return SCN_FAIL;
}
