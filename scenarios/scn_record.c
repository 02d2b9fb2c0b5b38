/*
 * scn_record.c - record and replay: `scardlab run --record FILE` keeps a run's
 * plug-in traces, certprop events and, per reader, every APDU with its
 * response; `scardlab replay FILE --lab D --slot N` puts a card into a lab
 * slot that answers the recorded APDUs.  Not a card emulation: a replayed card
 * knows only what was recorded (docs/record-replay.md).
 */
#include "lab_int.h"
#include "scn_int.h"
#include "vcard.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define REC_FILE_MAX (64 * 1024 * 1024)
#define REC_APDU_MAX 2048
#define REC_VPCD_FRAME_MAX 2048

/* ---- recording: derived from the plug-in trace at teardown ---- */

struct rec_pending {
    int id;
    char reader[256]; /* ConnectW's szReader */
    char handle[64];  /* Transmit's hCard.pbHandle */
    char command[REC_APDU_MAX * 2 + 1];
    char names[8][256]; /* GetStatusChangeW's readers: its return has only their states */
    int nnames;
};

struct rec_state {
    cJSON *out; /* array of record lines */
    const char *client;
    struct rec_pending pend[64]; /* calls waiting for their return, by CompletionId */
    struct rec_handle {
        char handle[64];  /* hCard as the trace prints it */
        char reader[256]; /* the reader ConnectW named */
    } handles[64];
    int nhandles;
    char atr_reader[8][256];
    int natr;
};

static const char *rec_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *rec_handle(const cJSON *o)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hCard");
    return rec_str(h, "pbHandle");
}

static struct rec_pending *rec_slot(struct rec_state *s, int id)
{
    return &s->pend[(unsigned)id % 64];
}

static void rec_add(struct rec_state *s, const char *kind, cJSON *body)
{
    cJSON *line = cJSON_CreateObject();
    cJSON_AddItemToObject(line, kind, body);
    cJSON_AddItemToArray(s->out, line);
}

/* The ATR of each reader, from GetStatusChange's rgbAtr: once per reader. */
static void rec_atrs(struct rec_state *s, const cJSON *j, const struct rec_pending *p)
{
    const cJSON *states = cJSON_GetObjectItemCaseSensitive(j, "rgReaderStates");
    const cJSON *st;
    int k = 0;
    cJSON_ArrayForEach(st, states)
    {
        const char *rd = k < p->nnames ? p->names[k] : NULL, *atr = rec_str(st, "rgbAtr");
        k++;
        if (!rd || !atr || !atr[0] || s->natr >= 8) continue;
        bool seen = false;
        for (int i = 0; i < s->natr; i++)
            seen |= !strcmp(s->atr_reader[i], rd);
        if (seen) continue;
        snprintf(s->atr_reader[s->natr++], sizeof s->atr_reader[0], "%s", rd);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "client", s->client);
        cJSON_AddStringToObject(c, "reader", rd);
        cJSON_AddStringToObject(c, "atr", atr);
        rec_add(s, "card", c);
    }
}

static void rec_line(const cJSON *j, struct rec_state *s)
{
    const char *ioctl = rec_str(j, "ioctl"), *dir = rec_str(j, "dir");
    const cJSON *idv = cJSON_GetObjectItemCaseSensitive(j, "CompletionId");
    if (!ioctl || !dir || !cJSON_IsNumber(idv)) return;
    struct rec_pending *p = rec_slot(s, idv->valueint);
    bool call = !strcmp(dir, "call");
    if (call) {
        memset(p, 0, sizeof *p);
        p->id = idv->valueint;
    }
    if (!strcmp(ioctl, "ConnectW") && call) {
        const char *rd = rec_str(j, "szReader");
        snprintf(p->reader, sizeof p->reader, "%s", rd ? rd : "");
    } else if (!strcmp(ioctl, "ConnectW") && p->id == idv->valueint) {
        const char *h = rec_handle(j);
        if (h && s->nhandles < 64) {
            /* Through a named entry: GCC's -Wrestrict misreads the indexed form. */
            struct rec_handle *m = &s->handles[s->nhandles++];
            snprintf(m->handle, sizeof m->handle, "%s", h);
            _Static_assert(sizeof m->reader == sizeof p->reader, "reader fields differ");
            memcpy(m->reader, p->reader, sizeof m->reader);
        }
    } else if (!strcmp(ioctl, "Transmit") && call) {
        const char *h = rec_handle(j), *cmd = rec_str(j, "pbSendBuffer");
        snprintf(p->handle, sizeof p->handle, "%s", h ? h : "");
        snprintf(p->command, sizeof p->command, "%s", cmd ? cmd : "");
    } else if (!strcmp(ioctl, "Transmit") && p->id == idv->valueint && p->command[0]) {
        const char *resp = rec_str(j, "pbRecvBuffer");
        const char *reader = "";
        /* the latest Connect that returned this handle names the reader */
        for (int i = s->nhandles - 1; i >= 0 && !reader[0]; i--)
            if (!strcmp(s->handles[i].handle, p->handle)) reader = s->handles[i].reader;
        if (!resp) return;
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "client", s->client);
        cJSON_AddStringToObject(x, "reader", reader);
        cJSON_AddStringToObject(x, "command", p->command);
        cJSON_AddStringToObject(x, "response", resp);
        rec_add(s, "exchange", x);
    } else if (!strcmp(ioctl, "GetStatusChangeW") && call) {
        const cJSON *st;
        cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(j, "rgReaderStates"))
        {
            const char *rd = rec_str(st, "szReader");
            if (p->nnames < 8)
                snprintf(p->names[p->nnames++], sizeof p->names[0], "%s", rd ? rd : "");
        }
    } else if (!strcmp(ioctl, "GetStatusChangeW") && p->id == idv->valueint)
        rec_atrs(s, j, p);
}


struct rec_raw {
    struct rec_state *s;
    const char *kind, *label;
};

/* Keeps the line (ownership moves into the record). */
static bool rec_keep(cJSON *j, void *ctx)
{
    struct rec_raw *r = ctx;
    if (!strcmp(r->kind, "trace")) rec_line(j, r->s);
    cJSON *w = cJSON_CreateObject();
    cJSON_AddStringToObject(w, "source", r->label);
    cJSON_AddItemToObject(w, "line", j);
    rec_add(r->s, r->kind, w);
    return true; /* the record owns the line now */
}

int scn_record_save(struct scn_rt *rt, const char *path, struct scl_err *e)
{
    struct rec_state *s = calloc(1, sizeof *s);
    if (!s) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    s->out = cJSON_CreateArray();
    cJSON *h = cJSON_CreateObject();
    cJSON_AddNumberToObject(h, "version", 1);
    cJSON_AddStringToObject(h, "scenario", rt->sc->path);
    cJSON_AddStringToObject(h, "title", rt->sc->title);
    rec_add(s, "scardlab_record", h);
    for (int i = 0; i < rt->ntraces; i++) {
        s->client = rt->sc->clients[i].name;
        s->nhandles = 0;
        struct rec_raw r = {s, "trace", rt->sc->clients[i].name};
        scn_json_lines(&rt->traces[i], rec_keep, &r);
    }
    for (int i = 0; i < rt->nevents; i++) {
        struct rec_raw r = {s, "events", rt->events[i].label};
        scn_json_lines(&rt->events[i], rec_keep, &r);
    }
    /* one JSON object per line, in order */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = SCL_OK;
    const cJSON *line;
    cJSON_ArrayForEach(line, s->out)
    {
        char *t = cJSON_PrintUnformatted(line);
        if (!t || !f) {
            free(t);
            rc = scl_errf(e, SCL_E_NOMEM, "out of memory writing the record");
            break;
        }
        fprintf(f, "%s\n", t);
        free(t);
    }
    if (f) fclose(f);
    if (!rc) rc = scl_write_atomic(path, buf, len, 0600, e);
    free(buf);
    cJSON_Delete(s->out);
    free(s);
    return rc;
}

/* ---- replay: the recorded exchanges of one reader, answered in order ---- */

struct rec_exchange {
    uint8_t cmd[REC_APDU_MAX], resp[REC_APDU_MAX];
    size_t cmd_len, resp_len;
};

struct rec_card {
    char reader[256];
    uint8_t atr[64];
    size_t atr_len;
    struct rec_exchange *x;
    int n, cursor;
    int matched, unmatched;
};

/* One record line: an exchange or a card of the chosen reader. */
static int rec_load_line(struct rec_card *rc, const cJSON *j, const char *name, int line,
                         struct scl_err *e)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, "exchange");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "card");
    if (c) {
        const char *rd = rec_str(c, "reader"), *atr = rec_str(c, "atr");
        if (!rd || !atr)
            return scl_errf(e, SCL_E_FORMAT, "%s:%d: card without reader or atr", name, line);
        if (rc->reader[0] && strcmp(rc->reader, rd)) return SCL_OK;
        int k = scl_hex_decode(atr, rc->atr, sizeof rc->atr);
        if (k <= 0)
            return scl_errf(e, SCL_E_FORMAT, "%s:%d: field atr: not hex (at most 64 bytes)", name,
                            line);
        rc->atr_len = (size_t)k;
        snprintf(rc->reader, sizeof rc->reader, "%s", rd);
        return SCL_OK;
    }
    if (!x) return SCL_OK;
    const char *rd = rec_str(x, "reader"), *cmd = rec_str(x, "command"),
               *resp = rec_str(x, "response");
    if (!rd || !cmd || !resp)
        return scl_errf(e, SCL_E_FORMAT, "%s:%d: exchange without reader, command or response",
                        name, line);
    if (rc->reader[0] && strcmp(rc->reader, rd)) return SCL_OK;
    if (!rc->reader[0]) snprintf(rc->reader, sizeof rc->reader, "%s", rd);
    struct rec_exchange *nx = realloc(rc->x, sizeof *nx * (size_t)(rc->n + 1));
    if (!nx) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    rc->x = nx;
    struct rec_exchange *ex = &rc->x[rc->n];
    int a = scl_hex_decode(cmd, ex->cmd, sizeof ex->cmd),
        b = scl_hex_decode(resp, ex->resp, sizeof ex->resp);
    if (a < 4 || b < 2)
        return scl_errf(e, SCL_E_FORMAT, "%s:%d: field %s: not a hex APDU (%s)", name, line,
                        a < 4 ? "command" : "response",
                        a < 4 ? "at least 4 bytes" : "at least SW1 SW2");
    ex->cmd_len = (size_t)a, ex->resp_len = (size_t)b;
    rc->n++;
    return SCL_OK;
}

static int rec_load(const char *path, struct rec_card *rc, struct scl_err *e);

int scn_replay_load(const char *path, const char *reader, struct rec_card **out, struct scl_err *e)
{
    struct rec_card *rc = calloc(1, sizeof *rc);
    if (!rc) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    if (reader) snprintf(rc->reader, sizeof rc->reader, "%s", reader);
    int r = rec_load(path, rc, e);
    if (r) {
        scn_replay_free(rc);
        return r;
    }
    *out = rc;
    return SCL_OK;
}

void scn_replay_free(struct rec_card *rc)
{
    if (!rc) return;
    free(rc->x);
    free(rc);
}

static int rec_load(const char *path, struct rec_card *rc, struct scl_err *e)
{
    uint8_t *buf;
    size_t len;
    int r = scl_read_file(path, REC_FILE_MAX, &buf, &len, e);
    if (r) return r;
    struct cur c;
    cur_init(&c, buf, len);
    int line = 0;
    while (cur_left(&c) > 0 && !r) {
        line++;
        size_t n = 0, left = cur_left(&c);
        const uint8_t *ln = c.p + cur_off(&c);
        while (n < left && ln[n] != '\n')
            n++;
        struct cur lc;
        cur_sub(&c, n, &lc);
        if (cur_left(&c)) cur_skip(&c, 1);
        if (!n) continue;
        cJSON *j = cJSON_ParseWithLength((const char *)ln, n);
        if (!cJSON_IsObject(j))
            r = scl_errf(e, SCL_E_FORMAT, "%s:%d: not a JSON object", path, line);
        else if (line == 1 && !cJSON_GetObjectItemCaseSensitive(j, "scardlab_record"))
            r = scl_errf(e, SCL_E_FORMAT,
                         "%s:1: not a scardlab record (no \"scardlab_record\" header)", path);
        else
            r = rec_load_line(rc, j, path, line, e);
        cJSON_Delete(j);
    }
    free(buf);
    if (!r && !rc->n)
        r = scl_errf(e, SCL_E_NOTFOUND, "%s: no APDU exchange%s%s recorded", path,
                     rc->reader[0] ? " for reader " : "", rc->reader);
    if (!r && !rc->atr_len)
        r = scl_errf(e, SCL_E_NOTFOUND, "%s: no ATR recorded for reader %s", path, rc->reader);
    return r;
}

/* The recorded response to cmd: the first equal command at or after the
 * cursor, else the first one before it (programs re-read objects in another
 * order).  Unmatched: 6A 82 (not found) for SELECT/GET DATA, else 6D 00. */
size_t scn_replay_answer(struct rec_card *rc, const uint8_t *cmd, size_t len, uint8_t *resp)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = pass ? 0 : rc->cursor; i < (pass ? rc->cursor : rc->n); i++) {
            const struct rec_exchange *x = &rc->x[i];
            if (x->cmd_len != len || memcmp(x->cmd, cmd, len)) continue;
            rc->cursor = i + 1;
            rc->matched++;
            memcpy(resp, x->resp, x->resp_len);
            return x->resp_len;
        }
    rc->unmatched++;
    uint8_t ins = len > 1 ? cmd[1] : 0;
    resp[0] = ins == 0xA4 || ins == 0xCB ? 0x6A : 0x6D;
    resp[1] = ins == 0xA4 || ins == 0xCB ? 0x82 : 0x00;
    return 2;
}

static volatile sig_atomic_t rec_stop;
static void rec_on_term(int sig)
{
    (void)sig;
    rec_stop = 1;
}

static bool rec_read_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR && !rec_stop) continue;
        if (k <= 0) return false;
        p += k, n -= (size_t)k;
    }
    return true;
}

static bool rec_send(int fd, const uint8_t *p, size_t n)
{
    uint8_t frame[2 + REC_VPCD_FRAME_MAX];
    struct wcur w;
    wcur_init_fixed(&w, frame, sizeof frame);
    wcur_u16be(&w, (uint16_t)n);
    wcur_bytes(&w, p, n);
    return wcur_ok(&w) && send(fd, frame, wcur_len(&w), MSG_NOSIGNAL) == (ssize_t)wcur_len(&w);
}

/* vpcd's protocol: 2-byte length, then 1 byte of control (power off/on,
 * reset, ATR) or an APDU. */
static int rec_serve(struct rec_card *rc, int fd, struct scl_err *e)
{
    for (;;) {
        uint8_t hdr[2], payload[REC_VPCD_FRAME_MAX], resp[REC_APDU_MAX];
        if (!rec_read_all(fd, hdr, 2)) return SCL_OK; /* vpcd closed, or we were stopped */
        struct cur c;
        cur_init(&c, hdr, 2);
        uint16_t len = cur_u16be(&c);
        if (!len || len > sizeof payload)
            return scl_errf(e, SCL_E_FORMAT, "vpcd: frame length %u (1 to %zu)", len,
                            sizeof payload);
        if (!rec_read_all(fd, payload, len)) return SCL_OK;
        if (len == 1) {
            if (payload[0] == 0x04 && !rec_send(fd, rc->atr, rc->atr_len))
                return scl_errf(e, SCL_E_IO, "vpcd: send ATR: %s", strerror(errno));
            continue;
        }
        size_t n = scn_replay_answer(rc, payload, len, resp);
        char hex[64];
        scl_hex_encode(payload, len < 24 ? len : 24, hex, false);
        fprintf(stderr, "replay: %s%s -> %02x%02x%s\n", hex, len > 24 ? "..." : "", resp[n - 2],
                resp[n - 1],
                n == 2 && (resp[0] == 0x6A || resp[0] == 0x6D) ? " (not recorded)" : "");
        if (!rec_send(fd, resp, n)) return scl_errf(e, SCL_E_IO, "vpcd: send: %s", strerror(errno));
    }
}

/* The child in the lab: join its network, connect to the slot's vpcd, serve. */
static void rec_child(struct rec_card *rc, const char *abs, int slot, pid_t holder)
{
    char log[4096], name[32];
    struct scl_err e = {0};
    setsid();
    snprintf(name, sizeof name, "slot%d.log", slot);
    if (lab_path(abs, name, log, sizeof log, NULL)) _exit(126);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    setvbuf(stderr, NULL, _IOLBF, 0);
    struct sigaction sa = {.sa_handler = rec_on_term};
    sigaction(SIGTERM, &sa, NULL);
    if (lab_ns_join(holder, &e)) {
        fprintf(stderr, "replay: %s\n", e.msg);
        _exit(125);
    }
    int sock = vc_vpcd_connect("127.0.0.1", LAB_VPCD_PORT + slot, 5000, &e);
    if (sock < 0) {
        fprintf(stderr, "replay: %s\n", e.msg);
        _exit(124);
    }
    fprintf(stderr, "replay: %d recorded exchanges of reader \"%s\"\n", rc->n, rc->reader);
    int r = rec_serve(rc, sock, &e);
    fprintf(stderr, "replay: %d commands answered from the record, %d not recorded%s%s\n",
            rc->matched, rc->unmatched, r ? "; " : "", r ? e.msg : "");
    _exit(r ? 1 : 0);
}

static int rec_insert(struct rec_card *rc, const char *dir, int slot, struct scl_err *e)
{
    char abs[4096], reader[64], name[16], pidf[4096];
    struct lab_pid holder, occupant;
    if (lab_abs_dir(dir, abs, sizeof abs, e) || scn_lab_reader(abs, slot, reader, sizeof reader, e))
        return e->code;
    if (!lab_pidfile_alive(abs, "lab.pid", &holder))
        return scl_errf(e, SCL_E_STATE, "%s: no lab is running here (scardlab lab up --dir %s)",
                        abs, abs);
    snprintf(name, sizeof name, "slot%d.pid", slot);
    if (lab_pidfile_alive(abs, name, &occupant))
        return scl_errf(e, SCL_E_STATE, "slot %d already holds a card (process %ld)", slot,
                        (long)occupant.pid);
    if (lab_pcsc_use(abs, e)) return e->code;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return scl_errf(e, SCL_E_IO, "fork: %s", strerror(errno));
    if (pid == 0) rec_child(rc, abs, slot, holder.pid);
    /* the slot's pid file: `scardlab card remove` and `lab down` stop it */
    if (lab_path(abs, name, pidf, sizeof pidf, e) || lab_pidfile_write(pidf, pid, e) ||
        lab_pcsc_wait_card(reader, true, LAB_CARD_TIMEOUT_MS, pid, e)) {
        lab_child_stop(pid, LAB_STOP_GRACE_MS);
        unlink(pidf);
        return scl_err_wrap(e, "replayed card into slot %d", slot);
    }
    printf(
        "replaying %d exchanges recorded from reader \"%s\" in %s slot %d (reader '%s', pid %ld); "
        "its log: %s/slot%d.log\n",
        rc->n, rc->reader, abs, slot, reader, (long)pid, abs, slot);
    return SCL_OK;
}

int scn_cmd_replay(int argc, char **argv)
{
    const char *file = NULL, *lab = NULL, *reader = NULL;
    struct rec_card *rc = NULL;
    int slot = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lab") && i + 1 < argc)
            lab = argv[++i];
        else if (!strcmp(argv[i], "--slot") && i + 1 < argc)
            slot = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reader") && i + 1 < argc)
            reader = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf(
                stderr,
                "usage: scardlab replay FILE [--lab DIR [--slot 0|1]] [--reader NAME]\n"
                "  FILE from `scardlab run --record FILE`.  With --lab: a card answering the\n"
                "  recorded APDUs of one reader (the first recorded, or NAME) goes into the slot;\n"
                "  `scardlab card remove` pulls it.  Without: what the record holds.\n");
            return 2;
        }
    }
    if (!file || slot < 0 || slot > 1) {
        fprintf(stderr, "scardlab replay: FILE needed; --slot is 0 or 1\n");
        return 2;
    }
    struct scl_err e = {0};
    if (scn_replay_load(file, reader, &rc, &e)) {
        fprintf(stderr, "scardlab replay: %s\n", e.msg);
        return 1;
    }
    int rcode = 0;
    if (!lab) {
        char atr[129];
        scl_hex_encode(rc->atr, rc->atr_len, atr, false);
        printf("reader \"%s\": ATR %s, %d APDU exchanges\n", rc->reader, atr, rc->n);
    } else if (rec_insert(rc, lab, slot, &e)) {
        fprintf(stderr, "scardlab replay: %s\n", e.msg);
        rcode = 1;
    }
    scn_replay_free(rc);
    return rcode;
}
