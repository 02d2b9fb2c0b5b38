/*
 * scn_html.c - the self-contained HTML report of a run (`--report DIR`): the
 * steps and their verdicts, the matrix table, and an SVG sequence diagram of
 * where the certificates crossed, drawn from the plug-in trace and certprop's
 * events.  Not the terminal/JUnit/TAP/JSON reports (scn_report.c).
 */
#include "scn_int.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTML_SRC_MAX (16 * 1024 * 1024)
#define HTML_MAX_ARROWS 300
#define HTML_LABEL_MAX 110
#define HTML_LANE_W 170
#define HTML_ROW_H 26
#define HTML_TOP 60

/* The lifelines, left to right, as the issue names them. */
enum lane { L_CARD, L_CLIENT, L_RDP, L_SESSION, L_CERTPROP, L_STORE, L_COUNT };
static const char *const lane_names[L_COUNT] = {"card",    "client (plug-in)", "RDP",
                                                "session", "certprop",         "store"};

struct arrow {
    enum lane from, to;
    char label[HTML_LABEL_MAX + 8];
    const char *cls; /* "cert" for a certificate crossing, "" otherwise */
};

struct diagram {
    struct arrow a[HTML_MAX_ARROWS];
    int n, dropped;
};

/* ---- escaping: every piece of text from a trace, a file or a step ---- */

static void put_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            /* control bytes would make the document invalid XML inside <svg>;
             * a CR is the tail of a Windows line end (.rdp files): drop it */
            if (c == '\r')
                break;
            if (c < 0x20 && c != '\n' && c != '\t')
                fputs("&#xFFFD;", f);
            else
                fputc(c, f);
        }
    }
}

/* Cut at max bytes without splitting a UTF-8 sequence. */
static void clip(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    memcpy(s + max, "...", 4);
}

static void add_arrow(struct diagram *d, enum lane from, enum lane to, const char *cls,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void add_arrow(struct diagram *d, enum lane from, enum lane to, const char *cls,
                      const char *fmt, ...)
{
    if (d->n >= HTML_MAX_ARROWS) {
        d->dropped++;
        return;
    }
    struct arrow *a = &d->a[d->n++];
    a->from = from, a->to = to, a->cls = cls;
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    clip(tmp, HTML_LABEL_MAX);
    snprintf(a->label, sizeof a->label, "%s", tmp);
}

/* ---- reading the trace: JSON lines, through struct cur, each through cJSON ---- */

void scn_json_lines(const struct scn_html_src *src, bool (*fn)(cJSON *, void *), void *ctx)
{
    struct cur c;
    cur_init(&c, src->text, src->len);
    while (cur_left(&c) > 0) {
        size_t n = 0, left = cur_left(&c);
        const uint8_t *ln = c.p + cur_off(&c);
        while (n < left && ln[n] != '\n')
            n++;
        struct cur lc;
        cur_sub(&c, n, &lc);
        if (cur_left(&c)) cur_skip(&c, 1);
        cJSON *j = cJSON_ParseWithLength((const char *)ln, n);
        if (!cJSON_IsObject(j) || !fn(j, ctx))
            cJSON_Delete(j);
    }
}

/* The report only looks at each object: it lends them to fn. */
struct lend {
    void (*fn)(const cJSON *, void *);
    void *ctx;
};

static bool lend_line(cJSON *j, void *p)
{
    struct lend *l = p;
    l->fn(j, l->ctx);
    return false;
}

static void each_json_line(const struct scn_html_src *src, void (*fn)(const cJSON *, void *),
                           void *ctx)
{
    struct lend l = {fn, ctx};
    scn_json_lines(src, lend_line, &l);
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* PIV data objects that are certificates (SP 800-73-4 table 3). */
static const struct {
    uint32_t tag;
    const char *name;
} piv_objects[] = {
    {0x5FC105, "X.509 Certificate for PIV Authentication (9A)"},
    {0x5FC10A, "X.509 Certificate for Digital Signature (9C)"},
    {0x5FC10B, "X.509 Certificate for Key Management (9D)"},
    {0x5FC101, "X.509 Certificate for Card Authentication (9E)"},
    {0x5FC102, "Card Holder Unique Identifier"},
    {0x5FC107, "Card Capability Container"},
    {0x5FC108, "Cardholder Fingerprints"},
    {0x5FC10C, "Key History Object"},
};

static const char *piv_object_name(uint32_t tag, bool *cert)
{
    for (size_t i = 0; i < sizeof piv_objects / sizeof piv_objects[0]; i++)
        if (piv_objects[i].tag == tag) {
            *cert = strstr(piv_objects[i].name, "Certificate") != NULL;
            return piv_objects[i].name;
        }
    *cert = false;
    return "data object";
}

struct trace_state {
    struct diagram *d;
    uint8_t ins[256]; /* the INS of each pending Transmit by CompletionId % 256 */
    uint32_t tag[256];
    /* the GET DATA whose response is being collected (61xx chaining) */
    bool collecting;
    uint32_t ctag;
    size_t cbytes;
    int lines, transmits;
};

/* A hex APDU from the trace into bytes; false when it is not hex. */
static bool apdu_bytes(const char *hex, uint8_t *out, size_t cap, size_t *n)
{
    int k = scl_hex_decode(hex, out, cap);
    if (k < 0) return false;
    *n = (size_t)k;
    return true;
}

static void trace_call(struct trace_state *ts, const cJSON *j, int id)
{
    const char *ioctl = jstr(j, "ioctl");
    if (!ioctl) return;
    if (!strcmp(ioctl, "ConnectW") || !strcmp(ioctl, "ConnectA")) {
        const char *rd = jstr(j, "szReader");
        add_arrow(ts->d, L_SESSION, L_CLIENT, "", "%s \"%s\"", ioctl, rd ? rd : "?");
        return;
    }
    if (strcmp(ioctl, "Transmit")) return;
    ts->transmits++;
    const char *hex = jstr(j, "pbSendBuffer");
    uint8_t b[512];
    size_t n;
    if (!hex || !apdu_bytes(hex, b, sizeof b, &n)) return;
    struct cur c;
    cur_init(&c, b, n);
    uint8_t cla = cur_u8(&c), ins = cur_u8(&c), p1 = cur_u8(&c), p2 = cur_u8(&c);
    (void)cla;
    if (!cur_ok(&c)) return;
    ts->ins[id & 0xff] = ins;
    ts->tag[id & 0xff] = 0;
    if (ins == 0xA4) {
        uint8_t lc = cur_u8(&c);
        const uint8_t *aid = cur_bytes(&c, lc);
        char h[520] = "";
        if (aid) scl_hex_encode(aid, lc, h, false);
        add_arrow(ts->d, L_SESSION, L_CARD, "", "SELECT (00 A4 %02X %02X) AID %s", p1, p2, h);
    } else if (ins == 0xCB) {
        /* GET DATA: 5C 03 <tag> names the object */
        uint8_t lc = cur_u8(&c);
        struct cur body;
        uint32_t tag = 0;
        struct cur val;
        if (cur_sub(&c, lc, &body) && cur_ber_find(&body, 0x5C, &val) && cur_left(&val) == 3)
            tag = (uint32_t)cur_u8(&val) << 16 | (uint32_t)cur_u8(&val) << 8 | cur_u8(&val);
        ts->tag[id & 0xff] = tag;
        bool cert;
        const char *name = piv_object_name(tag, &cert);
        add_arrow(ts->d, L_SESSION, L_CARD, cert ? "cert" : "", "GET DATA %06X (%s)", tag, name);
    }
}

/* A response completes the GET DATA it belongs to unless it says 61xx
 * (more bytes: GET RESPONSE follows). */
static void trace_return(struct trace_state *ts, const cJSON *j, int id)
{
    const char *ioctl = jstr(j, "ioctl");
    if (!ioctl) return;
    if (!strcmp(ioctl, "ListReadersW") || !strcmp(ioctl, "ListReadersA")) {
        const cJSON *msz = cJSON_GetObjectItemCaseSensitive(j, "msz");
        char names[600] = "";
        const cJSON *it;
        cJSON_ArrayForEach(it, msz) if (cJSON_IsString(it))
        {
            size_t k = strlen(names);
            snprintf(names + k, sizeof names - k, "%s\"%s\"", k ? ", " : "", it->valuestring);
        }
        add_arrow(ts->d, L_CLIENT, L_SESSION, "", "%s: %s", ioctl, names[0] ? names : "(none)");
        return;
    }
    if (strcmp(ioctl, "Transmit")) return;
    const char *hex = jstr(j, "pbRecvBuffer");
    uint8_t b[65600];
    size_t n;
    if (!hex || !apdu_bytes(hex, b, sizeof b, &n) || n < 2) return;
    uint8_t sw1 = b[n - 2], sw2 = b[n - 1];
    uint8_t ins = ts->ins[id & 0xff];
    if (ins == 0xCB) {
        ts->collecting = true;
        ts->ctag = ts->tag[id & 0xff];
        ts->cbytes = 0;
    } else if (ins != 0xC0 || !ts->collecting) {
        if (ins == 0xA4)
            add_arrow(ts->d, L_CARD, L_SESSION, "", "SELECT answered SW %02X %02X, %zu bytes", sw1,
                      sw2, n - 2);
        return;
    }
    ts->cbytes += n - 2;
    if (sw1 == 0x61) return;
    ts->collecting = false;
    bool cert;
    const char *name = piv_object_name(ts->ctag, &cert);
    add_arrow(ts->d, L_CARD, L_SESSION, cert && ts->cbytes > 8 ? "cert" : "",
              "%06X: %zu bytes, SW %02X %02X (%s)", ts->ctag, ts->cbytes, sw1, sw2, name);
}

static void trace_line(const cJSON *j, void *ctx)
{
    struct trace_state *ts = ctx;
    ts->lines++;
    const cJSON *idv = cJSON_GetObjectItemCaseSensitive(j, "CompletionId");
    int id = cJSON_IsNumber(idv) ? idv->valueint : 0;
    const char *dir = jstr(j, "dir");
    if (dir && !strcmp(dir, "call"))
        trace_call(ts, j, id);
    else if (dir && !strcmp(dir, "return"))
        trace_return(ts, j, id);
}

/* certprop.json: what the service did with what it read. */
static void event_line(const cJSON *j, void *ctx)
{
    struct diagram *d = ctx;
    const char *ev = jstr(j, "event"), *rd = jstr(j, "reader"), *sha1 = jstr(j, "sha1");
    const char *subject = jstr(j, "subject"), *store = jstr(j, "store");
    if (!ev) return;
    if (!strcmp(ev, "card_inserted") || !strcmp(ev, "card_removed"))
        add_arrow(d, L_SESSION, L_CERTPROP, "", "%s in \"%s\"", ev, rd ? rd : "?");
    else if (!strcmp(ev, "cert_added") || !strcmp(ev, "cert_removed"))
        add_arrow(d, L_CERTPROP, L_STORE, !strcmp(ev, "cert_added") ? "cert" : "", "%s %s\\%s %s",
                  ev, store ? store : "My", sha1 ? sha1 : "?", subject ? subject : "");
    else
        add_arrow(d, L_CERTPROP, L_CERTPROP, "", "%s", ev);
}

/* ---- drawing ---- */

static int lane_x(enum lane l)
{
    return 90 + (int)l * HTML_LANE_W;
}

static void put_svg(FILE *f, const struct diagram *d)
{
    int w = lane_x(L_COUNT - 1) + 120, h = HTML_TOP + (d->n + 1) * HTML_ROW_H + 20;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"seq\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"sequence diagram\">\n",
            w, h, w, h);
    fputs("<defs><marker id=\"ah\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" "
          "orient=\"auto\">"
          "<path d=\"M0,0 L8,4 L0,8 z\"/></marker></defs>\n",
          f);
    for (int l = 0; l < L_COUNT; l++) {
        fprintf(
            f,
            "<g class=\"lifeline\"><rect x=\"%d\" y=\"10\" width=\"140\" height=\"28\" rx=\"4\"/>"
            "<text x=\"%d\" y=\"29\" text-anchor=\"middle\">",
            lane_x((enum lane)l) - 70, lane_x((enum lane)l));
        put_esc(f, lane_names[l]);
        fprintf(f, "</text><line x1=\"%d\" y1=\"38\" x2=\"%d\" y2=\"%d\"/></g>\n",
                lane_x((enum lane)l), lane_x((enum lane)l), h - 10);
    }
    for (int i = 0; i < d->n; i++) {
        const struct arrow *a = &d->a[i];
        int y = HTML_TOP + (i + 1) * HTML_ROW_H, x1 = lane_x(a->from), x2 = lane_x(a->to);
        fprintf(f, "<g class=\"msg %s\">", a->cls);
        if (x1 == x2)
            fprintf(f, "<path d=\"M%d,%d h30 v8 h-30\" fill=\"none\" marker-end=\"url(#ah)\"/>", x1,
                    y - 4);
        else
            fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" marker-end=\"url(#ah)\"/>",
                    x1, y, x2, y);
        /* the message passes through the lifelines between its ends */
        int lo = a->from < a->to ? a->from : a->to, hi = a->from < a->to ? a->to : a->from;
        for (int l = lo + 1; l < hi; l++)
            fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"3\"/>", lane_x((enum lane)l), y);
        int tx = (x1 < x2 ? x1 : x2) + 6;
        fprintf(f, "<text x=\"%d\" y=\"%d\">", tx, y - 5);
        put_esc(f, a->label);
        fputs("</text></g>\n", f);
    }
    fputs("</svg>\n", f);
}

/* ---- the document ---- */

static const char *verdict_class(enum scn_verdict v)
{
    return v == SCN_PASS ? "pass" : v == SCN_SKIP ? "skip" : "fail";
}

static void put_steps(FILE *f, const struct scn_result *r)
{
    fputs(
        "<h2>Steps</h2>\n<table class=\"steps\"><tr><th>line</th><th>statement</th><th>verdict</th>"
        "<th>seconds</th><th>detail</th></tr>\n",
        f);
    for (int i = 0; i < r->nsteps; i++) {
        const struct scn_step_result *s = &r->steps[i];
        if (s->say[0]) {
            fputs("<tr class=\"say\"><td></td><td colspan=\"4\">", f);
            put_esc(f, s->say);
            fputs("</td></tr>\n", f);
        }
        fprintf(f, "<tr class=\"verdict %s\"><td>%d</td><td><code>", verdict_class(s->verdict),
                s->line);
        put_esc(f, s->src);
        fprintf(f, "</code></td><td>%s</td><td>%.2f</td><td><pre>", scn_verdict_name(s->verdict),
                s->seconds);
        put_esc(f, s->detail);
        fputs("</pre></td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void put_matrix(FILE *f, const struct scn_html_in *in)
{
    fputs("<h2>Matrix</h2>\n<table class=\"matrix\"><tr>", f);
    for (int c = 0; c < in->ncols; c++) {
        fputs("<th>", f);
        put_esc(f, in->matrix_head[c]);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (int r = 0; r < in->nrows; r++) {
        const char *last = in->matrix_cells[r * in->ncols + in->ncols - 1];
        fprintf(f, "<tr class=\"verdict %s\">", !strcmp(last, "ok") ? "pass" : "fail");
        for (int c = 0; c < in->ncols; c++) {
            fputs("<td>", f);
            put_esc(f, in->matrix_cells[r * in->ncols + c]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void put_diagram(FILE *f, const struct scn_html_in *in)
{
    struct diagram *d = calloc(1, sizeof *d);
    struct trace_state *ts = calloc(1, sizeof *ts);
    if (!d || !ts) {
        free(d), free(ts);
        fputs("<p>out of memory drawing the diagram</p>\n", f);
        return;
    }
    ts->d = d;
    fputs("<h2>Where the certificates crossed</h2>\n", f);
    for (int i = 0; i < in->ntraces; i++)
        each_json_line(&in->traces[i], trace_line, ts);
    for (int i = 0; i < in->nevents; i++)
        each_json_line(&in->events[i], event_line, d);
    fputs("<p class=\"note\">", f);
    for (int i = 0; i < in->ntraces; i++) {
        fputs("Plug-in trace ", f);
        put_esc(f, in->traces[i].label);
        fputs(". ", f);
    }
    for (int i = 0; i < in->nevents; i++) {
        fputs("certprop events ", f);
        put_esc(f, in->events[i].label);
        fputs(". ", f);
    }
    fprintf(
        f,
        "%d trace lines, %d Transmit calls; drawn: ConnectW, ListReaders, SELECT, GET DATA (its "
        "GET RESPONSE chain summed), then certprop's events in their order (certprop.json has no "
        "timestamps). Red: certificate bytes and the store writes.",
        ts->lines, ts->transmits);
    if (d->dropped) fprintf(f, " %d more messages not drawn.", d->dropped);
    fputs("</p>\n", f);
    if (!d->n)
        fputs("<p>No plug-in trace and no certprop events in this run.</p>\n", f);
    else
        put_svg(f, d);
    free(ts);
    free(d);
}

static const char css[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:1em "
    "0}"
    "td,th{border:1px solid #bbb;padding:3px 6px;vertical-align:top;text-align:left;font-size:13px}"
    "pre{margin:0;white-space:pre-wrap;font-size:12px}tr.pass td:nth-child(3){background:#d8f5d8}"
    "tr.fail td{background:#fbdcdc}tr.skip td{color:#888}tr.say "
    "td{background:#eef3ff;font-style:italic}"
    ".matrix tr.pass td{background:#eef9ee}"
    "svg.seq{border:1px solid #ccc;background:#fff}svg.seq text{font:12px monospace;fill:#222}"
    ".lifeline rect{fill:#e8eef7;stroke:#456}.lifeline line{stroke:#999;stroke-dasharray:4 3}"
    ".msg line,.msg path{stroke:#345;stroke-width:1.3}.msg circle{fill:#345}marker path{fill:#345}"
    ".msg.cert line{stroke:#c00;stroke-width:2}.msg.cert "
    "text{fill:#a00}.note{font-size:13px;color:#555}"
    ".banner{padding:6px "
    "10px;font-weight:bold}.banner.pass{background:#d8f5d8}.banner.fail{background:#fbdcdc}";

int scn_html_write(FILE *f, const struct scn_html_in *in)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
          "'unsafe-inline'; "
          "img-src data:\"><title>",
          f);
    put_esc(f, in->title ? in->title : "scardlab report");
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>", css);
    put_esc(f, in->title ? in->title : "scardlab report");
    fputs("</h1>\n", f);
    if (in->r) {
        const struct scn_result *r = in->r;
        fprintf(f, "<p class=\"banner %s\">verdict: %s (%.1f s)</p>\n<p>scenario file: <code>",
                r->verdict == SCN_PASS ? "pass" : "fail", scn_verdict_name(r->verdict), r->seconds);
        put_esc(f, r->path);
        fputs("</code></p>\n", f);
        if (r->error[0]) {
            fputs("<p class=\"banner fail\">", f);
            put_esc(f, r->error);
            fputs("</p>\n", f);
        }
        put_steps(f, r);
    }
    if (in->nrows) put_matrix(f, in);
    if (in->r || in->ntraces || in->nevents) put_diagram(f, in);
    fputs("</body></html>\n", f);
    return ferror(f) ? -1 : 0;
}

int scn_html_save(const char *dir, const char *name, const struct scn_html_in *in, char *path,
                  size_t cap, struct scl_err *e)
{
    int rc = scl_mkdirs(dir, 0755, e);
    if (rc) return rc;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return scl_errf(e, SCL_E_NOMEM, "open_memstream: %s", strerror(errno));
    int w = scn_html_write(f, in);
    if (fclose(f) || w) {
        free(buf);
        return scl_errf(e, SCL_E_IO, "composing the HTML report failed");
    }
    snprintf(path, cap, "%s/%s.html", dir, name);
    rc = scl_write_atomic(path, buf, len, 0644, e);
    free(buf);
    return rc;
}

/* ---- the runner's side: collect before the root goes, then report ---- */

static void read_src(struct scn_html_src *s, const char *path, const char *label)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(s, 0, sizeof *s);
    snprintf(s->label, sizeof s->label, "%s", label);
    if (scl_read_file(path, HTML_SRC_MAX, &buf, &len, NULL)) return;
    s->text = (const char *)buf;
    s->len = len;
}

static void collect_events(struct scn_rt *rt, int s)
{
    const struct scn_server *sv = &rt->sc->servers[s];
    const int cap = (int)(sizeof rt->events / sizeof rt->events[0]);
    char path[PATH_MAX + 300], label[SCN_NAME_MAX * 2];
    if (sv->console >= 0) {
        for (int u = 0; u < sv->nusers && rt->nevents < cap; u++) {
            snprintf(path, sizeof path, "%s/%s.certprop.json", rt->servers[s].dir,
                     sv->users[u].name);
            snprintf(label, sizeof label, "%s/%s", sv->name, sv->users[u].name);
            read_src(&rt->events[rt->nevents++], path, label);
        }
        return;
    }
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/sessions", rt->servers[s].state);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) && rt->nevents < cap) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s/certprop.json", dir, de->d_name);
        snprintf(label, sizeof label, "%s session %.60s", sv->name, de->d_name);
        read_src(&rt->events[rt->nevents++], path, label);
    }
    closedir(d);
}

void scn_html_collect(struct scn_rt *rt)
{
    scn_html_release(rt);
    for (int i = 0; i < rt->sc->nclients; i++) {
        char label[SCN_NAME_MAX * 2];
        snprintf(label, sizeof label, "of client %s", rt->sc->clients[i].name);
        read_src(&rt->traces[rt->ntraces++], rt->clients[i].trace, label);
    }
    for (int s = 0; s < rt->sc->nservers; s++)
        collect_events(rt, s);
}

void scn_html_release(struct scn_rt *rt)
{
    for (int i = 0; i < rt->ntraces; i++)
        free((void *)rt->traces[i].text);
    for (int i = 0; i < rt->nevents; i++)
        free((void *)rt->events[i].text);
    rt->ntraces = rt->nevents = 0;
}

int scn_html_report(struct scn_rt *rt, struct scn_run_opts *o, struct scl_err *e)
{
    /* the report is named after the scenario file */
    char name[SCN_NAME_MAX * 2];
    const char *base = strrchr(rt->sc->path, '/');
    snprintf(name, sizeof name, "%s", base ? base + 1 : rt->sc->path);
    char *dot = strrchr(name, '.');
    if (dot && dot != name) *dot = 0;
    for (char *q = name; *q; q++)
        if (*q == '/' || *q == '\\' || (unsigned char)*q < 0x20) *q = '_';
    struct scn_html_in in = {.title = rt->sc->title,
                             .r = rt->res,
                             .traces = rt->traces,
                             .ntraces = rt->ntraces,
                             .events = rt->events,
                             .nevents = rt->nevents};
    return scn_html_save(o->report_dir, name, &in, o->report_path, sizeof o->report_path, e);
}
