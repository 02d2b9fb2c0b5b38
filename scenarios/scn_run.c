/*
 * scn_run.c - the runner: a temporary root per scenario, the machines it
 * declares (cards, labs, console or RDP servers) started as `scardlab` child
 * processes, the steps in order, and teardown by pid whatever happened.
 * Not the steps themselves (scn_steps_*.c) nor the reports (scn_report.c).
 */
#include "scn_int.h"
#include "vcard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SCN_OUTPUT_MAX (1024 * 1024)
#define SCN_CMD_TIMEOUT_MS 120000
#define SCN_HOST_READY_MS 20000

static volatile sig_atomic_t interrupted;

bool scn_interrupted(void)
{
    return interrupted != 0;
}

void scn_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void scn_say(struct scn_out *o, const char *fmt, ...)
{
    size_t n = strlen(o->detail);
    if (n + 1 >= o->cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->detail + n, o->cap - n, fmt, ap);
    va_end(ap);
}

void scn_say_tail(struct scn_out *o, const char *path, int lines)
{
    uint8_t *buf;
    size_t len;
    if (scl_read_file(path, SCN_OUTPUT_MAX, &buf, &len, NULL)) return;
    size_t start = len;
    int seen = 0;
    while (start > 0 && seen <= lines)
        if (buf[--start] == '\n' && start + 1 < len) seen++;
    if (seen > lines) start++;
    scn_say(o, "\n  last lines of %s:\n", path);
    for (char *line = strtok((char *)buf + start, "\n"); line; line = strtok(NULL, "\n"))
        scn_say(o, "    | %s\n", line);
    free(buf);
}

/* ---- processes ---- */

int scn_spawn(struct scn_rt *rt, const char *what, const char *const *argv,
              const char *const *env, const char *out, struct scn_out *o)
{
    if (rt->nprocs >= SCN_MAX_PROCS) {
        scn_say(o, "too many processes (more than %d)", SCN_MAX_PROCS);
        return -1;
    }
    struct scn_proc *pr = &rt->procs[rt->nprocs];
    memset(pr, 0, sizeof *pr);
    snprintf(pr->what, sizeof pr->what, "%s", what);
    snprintf(pr->out, sizeof pr->out, "%s", out);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        scn_say(o, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* If the runner dies, the long-running children follow it. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || nul < 0) _exit(126);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        for (int i = 0; env && env[i]; i++) putenv((char *)env[i]);
        signal(SIGPIPE, SIG_DFL);
        if (strchr(argv[0], '/')) execv(argv[0], (char *const *)argv);
        else execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "scardlab run: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    pr->pid = pid;
    pr->alive = true;
    rt->nprocs++;
    return rt->nprocs - 1;
}

bool scn_alive(struct scn_rt *rt, int proc)
{
    struct scn_proc *pr = &rt->procs[proc];
    if (!pr->alive) return false;
    int st;
    pid_t w = waitpid(pr->pid, &st, WNOHANG);
    if (w == pr->pid || (w < 0 && errno == ECHILD)) {
        pr->alive = false;
        pr->status = w == pr->pid ? st : 0;
    }
    return pr->alive;
}

/* Wait for exit up to ms; true if it exited. */
static bool wait_exit(struct scn_rt *rt, int proc, int ms)
{
    for (int waited = 0; scn_alive(rt, proc); waited += 10) {
        if (waited >= ms) return false;
        scn_sleep_ms(10);
    }
    return true;
}

void scn_stop(struct scn_rt *rt, int proc)
{
    if (proc < 0 || !scn_alive(rt, proc)) return;
    kill(rt->procs[proc].pid, SIGTERM);
    if (wait_exit(rt, proc, 3000)) return;
    kill(rt->procs[proc].pid, SIGKILL);
    wait_exit(rt, proc, 3000);
}

static int exit_code(int st)
{
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

int scn_run_cmd(struct scn_rt *rt, const char *what, const char *const *argv,
                const char *const *env, int timeout_ms, struct scn_out *o)
{
    char out[PATH_MAX], name[100];
    snprintf(name, sizeof name, "%s", what);
    for (char *q = name; *q; q++)
        if (*q == '/' || *q == ' ') *q = '-';
    snprintf(out, sizeof out, "%s/logs/%02d-%s.out", rt->root, rt->nstep + 1, name);
    unlink(out);
    int pr = scn_spawn(rt, what, argv, env, out, o);
    if (pr < 0) return -1;
    if (!wait_exit(rt, pr, timeout_ms)) {
        scn_stop(rt, pr);
        scn_say(o, "%s did not finish within %d s; stopped", what, timeout_ms / 1000);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    if (scl_read_file(out, SCN_OUTPUT_MAX, &buf, &len, NULL)) buf = (uint8_t *)strdup("");
    free(rt->output);
    rt->output = (char *)buf;
    rt->have_output = true;
    rt->status = exit_code(rt->procs[pr].status);
    return rt->status;
}

/* ---- paths and variables ---- */

void scn_user_profile(struct scn_rt *rt, int s, int u, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", rt->servers[s].profiles, rt->sc->servers[s].users[u].name);
}

void scn_user_pcsc(struct scn_rt *rt, int s, int u, char *out, size_t cap)
{
    const struct scn_server *sv = &rt->sc->servers[s];
    out[0] = 0;
    if (sv->console >= 0) {
        snprintf(out, cap, "%s/run/pcscd/pcscd.comm", rt->clients[sv->console].lab);
        return;
    }
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/users/%s/current/pcscd.comm", rt->servers[s].state, sv->users[u].name);
    if (access(p, F_OK) == 0) snprintf(out, cap, "%s", p);
}

static int var_value(struct scn_rt *rt, const char *var, char *out, size_t cap)
{
    const struct scenario *sc = rt->sc;
    char a[100] = "", b[100] = "", d[100] = "";
    int parts = sscanf(var, "%99[^.].%99[^.].%99s", a, b, d);
    if (!strcmp(var, "root")) return snprintf(out, cap, "%s", rt->root), 0;
    if (!strcmp(var, "scardlab")) return snprintf(out, cap, "%s", rt->exe), 0;
    for (int i = 0; i < sc->nclients && parts == 2; i++) {
        if (strcmp(a, sc->clients[i].name)) continue;
        const struct scn_rt_client *c = &rt->clients[i];
        if (!strcmp(b, "lab")) return snprintf(out, cap, "%s", c->lab), 0;
        if (!strcmp(b, "profile")) return snprintf(out, cap, "%s", c->profile), 0;
        if (!strcmp(b, "trace")) return snprintf(out, cap, "%s", c->trace), 0;
    }
    for (int i = 0; i < sc->ncards && parts == 2; i++) {
        if (strcmp(a, sc->cards[i].name)) continue;
        if (!strcmp(b, "dir")) return snprintf(out, cap, "%s", rt->cards[i].dir), 0;
        if (!strcmp(b, "file")) return snprintf(out, cap, "%s", rt->cards[i].conf), 0;
    }
    for (int i = 0; i < sc->nservers; i++) {
        if (strcmp(a, sc->servers[i].name)) continue;
        if (parts == 2 && !strcmp(b, "profiles")) return snprintf(out, cap, "%s", rt->servers[i].profiles), 0;
        if (parts == 2 && !strcmp(b, "state")) return snprintf(out, cap, "%s", rt->servers[i].state), 0;
        for (int u = 0; parts == 3 && u < sc->servers[i].nusers; u++)
            if (!strcmp(b, sc->servers[i].users[u].name) && !strcmp(d, "profile")) {
                scn_user_profile(rt, i, u, out, cap);
                return 0;
            }
    }
    return -1;
}

int scn_expand(struct scn_rt *rt, const char *s, char *out, size_t cap, struct scn_out *o)
{
    size_t n = 0;
    while (*s) {
        if (s[0] == '$' && s[1] == '{' && strchr(s, '}')) {
            const char *end = strchr(s, '}');
            char var[200], val[PATH_MAX];
            snprintf(var, sizeof var, "%.*s", (int)(end - s - 2), s + 2);
            if (var_value(rt, var, val, sizeof val)) {
                scn_say(o, "unknown variable ${%s}", var);
                return -1;
            }
            int k = snprintf(out + n, cap - n, "%s", val);
            if (k < 0 || (size_t)k >= cap - n) goto toolong;
            n += (size_t)k;
            s = end + 1;
            continue;
        }
        if (n + 1 >= cap) goto toolong;
        out[n++] = *s++;
    }
    out[n] = 0;
    return 0;
toolong:
    scn_say(o, "argument too long after expanding variables");
    return -1;
}

/* out = dir/name.  Through a copy: out and dir are often fields of one struct. */
static void path_under(char *out, size_t cap, const char *dir, const char *name)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    snprintf(out, cap, "%s/%s", tmp, name);
}

/* ---- setup ---- */

static int mkdirs(const char *path, struct scn_out *o)
{
    struct scl_err e = {0};
    if (scl_mkdirs(path, 0700, &e)) {
        scn_say(o, "%s", e.msg);
        return -1;
    }
    return 0;
}

static int write_file(const char *path, const char *text, struct scn_out *o)
{
    struct scl_err e = {0};
    if (scl_write_atomic(path, text, strlen(text), 0600, &e)) {
        scn_say(o, "%s", e.msg);
        return -1;
    }
    return 0;
}

static int card_hashes(struct scn_rt *rt, int i, struct scn_out *o)
{
    struct vc_card_spec spec;
    struct scl_err e = {0};
    if (vc_card_file_load(rt->cards[i].conf, &spec, &e)) {
        scn_say(o, "card %s: %s", rt->sc->cards[i].name, e.msg);
        return -1;
    }
    rt->cards[i].ncerts = 0;
    for (int k = 0; k < VC_NSLOTS && rt->cards[i].ncerts < 4; k++) {
        if (!spec.slots[k].present) continue;
        unsigned int n = 20;
        EVP_Digest(spec.slots[k].cert_der, spec.slots[k].cert_len, rt->cards[i].sha1[rt->cards[i].ncerts++],
                   &n, EVP_sha1(), NULL);
    }
    vc_card_spec_free(&spec);
    return 0;
}

int scn_setup_cards(struct scn_rt *rt, struct scn_out *o)
{
    const struct scenario *sc = rt->sc;
    int first_minted = -1;
    for (int i = 0; i < sc->ncards; i++) {
        const struct scn_card *cd = &sc->cards[i];
        struct scn_rt_card *rc = &rt->cards[i];
        rc->client = rc->slot = -1;
        if (cd->file[0]) {
            snprintf(rc->conf, sizeof rc->conf, "%s", cd->file);
            snprintf(rc->dir, sizeof rc->dir, "%s", cd->file);
            char *sl = strrchr(rc->dir, '/');
            if (sl) *sl = 0;
        } else if (rt->cards_dir) {
            /* minted once for all runs (the matrix): the same declaration */
            snprintf(rc->dir, sizeof rc->dir, "%s/%s", rt->cards_dir, cd->name);
            path_under(rc->conf, sizeof rc->conf, rc->dir, "card.conf");
        } else {
            snprintf(rc->dir, sizeof rc->dir, "%s/cards/%s", rt->root, cd->name);
            path_under(rc->conf, sizeof rc->conf, rc->dir, "card.conf");
            char ca[PATH_MAX];
            const char *argv[24] = {rt->exe, "pki", "mint", "--out", rc->dir, "--holder", cd->holder};
            int n = 7;
            if (cd->upn[0]) argv[n++] = "--upn", argv[n++] = cd->upn;
            if (cd->serial[0]) argv[n++] = "--serial", argv[n++] = cd->serial;
            if (cd->key[0]) argv[n++] = "--key", argv[n++] = cd->key;
            if (cd->slots[0]) argv[n++] = "--slots", argv[n++] = cd->slots;
            if (cd->pin[0]) argv[n++] = "--pin", argv[n++] = cd->pin;
            if (first_minted >= 0) {
                /* one test CA per scenario, as one enterprise CA issues every card */
                snprintf(ca, sizeof ca, "%s/ca", rt->cards[first_minted].dir);
                argv[n++] = "--ca", argv[n++] = ca;
            }
            argv[n] = NULL;
            char what[100];
            snprintf(what, sizeof what, "mint-%s", cd->name);
            int st = scn_run_cmd(rt, what, argv, NULL, SCN_CMD_TIMEOUT_MS, o);
            if (st != 0) {
                scn_say(o, "card %s: scardlab pki mint failed (exit %d): %s", cd->name, st,
                        rt->output ? rt->output : "");
                return -1;
            }
            if (first_minted < 0) first_minted = i;
        }
        if (card_hashes(rt, i, o)) return -1;
    }
    return 0;
}

/* .rdp files as mstsc reads them: CRLF lines (UTF-8; the client accepts it). */
static int write_rdp(const char *path, const struct scn_rdp_file *f, struct scn_out *o)
{
    char text[SCN_MAX_LINES * (SCN_NAME_MAX * 2 + 2) + 1] = "";
    size_t n = 0;
    for (int i = 0; i < f->nlines; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\r\n", f->lines[i]);
    return write_file(path, text, o);
}

static int setup_clients(struct scn_rt *rt, struct scn_out *o)
{
    const struct scenario *sc = rt->sc;
    for (int i = 0; i < sc->nclients; i++) {
        const struct scn_client *cl = &sc->clients[i];
        struct scn_rt_client *c = &rt->clients[i];
        c->connect = c->server = c->user = -1;
        snprintf(c->dir, sizeof c->dir, "%s/clients/%s", rt->root, cl->name);
        path_under(c->lab, sizeof c->lab, c->dir, "lab");
        path_under(c->profile, sizeof c->profile, c->dir, "profile");
        path_under(c->trace, sizeof c->trace, c->dir, "trace.jsonl");
        char docs[PATH_MAX], path[PATH_MAX];
        snprintf(docs, sizeof docs, "%s/Documents", c->profile);
        if (mkdirs(docs, o)) return -1;
        if (cl->has_default) {
            snprintf(path, sizeof path, "%s/Default.rdp", docs);
            if (write_rdp(path, &cl->default_rdp, o)) return -1;
        }
        for (int k = 0; k < cl->nrdp; k++) {
            snprintf(path, sizeof path, "%s/%s", docs, cl->rdp[k].name);
            if (write_rdp(path, &cl->rdp[k], o)) return -1;
        }
        const char *argv[] = {rt->exe, "lab", "up", "--dir", c->lab, NULL};
        char what[100];
        snprintf(what, sizeof what, "lab-up-%s", cl->name);
        c->lab_up = true; /* lab down is idempotent: try it even after a failed up */
        int st = scn_run_cmd(rt, what, argv, NULL, SCN_CMD_TIMEOUT_MS, o);
        if (st != 0) {
            scn_say(o, "client %s: scardlab lab up failed (exit %d): %s", cl->name, st,
                    rt->output ? rt->output : "");
            return -1;
        }
    }
    return 0;
}

int scn_write_policy(struct scn_rt *rt, int s, struct scn_out *o)
{
    const struct scn_server *sv = &rt->sc->servers[s];
    const struct scn_rt_server *r = &rt->servers[s];
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "Windows Registry Editor Version 5.00\r\n"
                                "; written by scardlab run for server %s\r\n"
                                "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\CertProp]\r\n",
                                sv->name);
    if (r->cert_prop_enabled >= 0)
        n += (size_t)snprintf(text + n, sizeof text - n, "\"CertPropEnabled\"=dword:%08x\r\n", r->cert_prop_enabled);
    if (sv->root_propagation >= 0)
        n += (size_t)snprintf(text + n, sizeof text - n, "\"EnableRootCertificatePropagation\"=dword:%08x\r\n",
                              sv->root_propagation);
    if (sv->root_cleanup >= 0)
        n += (size_t)snprintf(text + n, sizeof text - n, "\"RootCertificateCleanupOption\"=dword:%08x\r\n",
                              sv->root_cleanup);
    if (sv->key_provider[0])
        snprintf(text + n, sizeof text - n, "[HKLM\\Software\\scardlab\\CertProp]\r\nKeyProvider=\"%s\"\r\n",
                 sv->key_provider);
    return write_file(r->policy, text, o);
}

static const char *svc_name(enum scn_service s)
{
    return s == SCN_SVC_RUNNING ? "running" : s == SCN_SVC_STOPPED ? "stopped" : "disabled";
}

int scn_write_host_conf(struct scn_rt *rt, int s, struct scn_out *o)
{
    const struct scn_server *sv = &rt->sc->servers[s];
    const struct scn_rt_server *r = &rt->servers[s];
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "# written by scardlab run for server %s\n[host]\nlisten=127.0.0.1:%d\n"
                                "state_dir=%s\nauth=%s\n",
                                sv->name, r->port, r->state, sv->auth == SCN_AUTH_TLS ? "tls" : "nla");
    /* one certificate for many runs' hosts: an RSA key per host costs a
     * CPU-bound fraction of a second and changes nothing a run judges */
    if (rt->tls_dir)
        n += (size_t)snprintf(text + n, sizeof text - n, "tls_cert=%s/server.crt\ntls_key=%s/server.key\n",
                              rt->tls_dir, rt->tls_dir);
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "[policy]\nfEnableSmartCard=%d\ncertprop_service=%s\ncertprop_policy=%s\n",
                          r->enable_smartcard ? 1 : 0, svc_name(r->service), r->policy);
    for (int u = 0; u < sv->nusers && n < sizeof text; u++) {
        char prof[PATH_MAX];
        scn_user_profile(rt, s, u, prof, sizeof prof);
        n += (size_t)snprintf(text + n, sizeof text - n, "[user %s]\npassword=%s\nprofile=%s\n",
                              sv->users[u].name, r->password[u], prof);
    }
    return write_file(r->conf, text, o);
}

/* A port nobody listens on now: the kernel picks it (bind to 0). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int port = -1;
    if (!bind(fd, (struct sockaddr *)&a, sizeof a) && !getsockname(fd, (struct sockaddr *)&a, &al))
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool port_listening(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

int scn_host_start(struct scn_rt *rt, int s, struct scn_out *o)
{
    struct scn_rt_server *r = &rt->servers[s];
    if (scn_write_host_conf(rt, s, o)) return -1;
    char what[100], out[PATH_MAX];
    snprintf(what, sizeof what, "host %s", rt->sc->servers[s].name);
    snprintf(out, sizeof out, "%s/host.log", r->dir);
    const char *argv[] = {rt->exe, "host", "--config", r->conf, NULL};
    r->host = scn_spawn(rt, what, argv, NULL, out, o);
    if (r->host < 0) return -1;
    for (int waited = 0; waited < SCN_HOST_READY_MS; waited += 20) {
        if (!scn_alive(rt, r->host)) {
            scn_say(o, "server %s: scardlab host exited (status %d) before listening", rt->sc->servers[s].name,
                    exit_code(rt->procs[r->host].status));
            scn_say_tail(o, out, 10);
            return -1;
        }
        if (port_listening(r->port)) return 0;
        scn_sleep_ms(20);
    }
    scn_say(o, "server %s: scardlab host does not listen on 127.0.0.1:%d after %d s", rt->sc->servers[s].name,
            r->port, SCN_HOST_READY_MS / 1000);
    scn_say_tail(o, out, 10);
    return -1;
}

int scn_console_start(struct scn_rt *rt, int s, struct scn_out *o)
{
    const struct scn_server *sv = &rt->sc->servers[s];
    struct scn_rt_server *r = &rt->servers[s];
    for (int u = 0; u < sv->nusers; u++) {
        if (r->certprop[u] >= 0 && scn_alive(rt, r->certprop[u])) continue;
        char prof[PATH_MAX], sock[PATH_MAX], env[PATH_MAX + 32], what[160], out[PATH_MAX], json[PATH_MAX];
        scn_user_profile(rt, s, u, prof, sizeof prof);
        scn_user_pcsc(rt, s, u, sock, sizeof sock);
        snprintf(env, sizeof env, "PCSCLITE_CSOCK_NAME=%s", sock);
        snprintf(what, sizeof what, "certprop %s/%s", sv->name, sv->users[u].name);
        snprintf(out, sizeof out, "%s/%s.certprop.log", r->dir, sv->users[u].name);
        snprintf(json, sizeof json, "%s/%s.certprop.json", r->dir, sv->users[u].name);
        /* stdout (the JSON events) and stderr apart: a shell keeps them apart for us */
        const char *argv[] = {"/bin/sh", "-c", "exec \"$0\" certprop --profile \"$1\" --policy \"$2\" --json >>\"$3\"",
                              rt->exe, prof, r->policy, json, NULL};
        const char *envv[] = {env, NULL};
        r->certprop[u] = scn_spawn(rt, what, argv, envv, out, o);
        if (r->certprop[u] < 0) return -1;
        /* ready once it watches the lab's readers (its log says so) */
        int waited = 0;
        for (;; waited += 20) {
            uint8_t *buf = NULL;
            size_t len = 0;
            bool ready = !scl_read_file(out, SCN_OUTPUT_MAX, &buf, &len, NULL) &&
                         strstr((char *)buf, "watching reader");
            free(buf);
            if (ready) break;
            if (!scn_alive(rt, r->certprop[u]) || waited > 10000) {
                scn_say(o, "%s did not start watching the readers", what);
                scn_say_tail(o, out, 10);
                return -1;
            }
            scn_sleep_ms(20);
        }
    }
    return 0;
}

void scn_console_stop(struct scn_rt *rt, int s)
{
    for (int u = 0; u < rt->sc->servers[s].nusers; u++) {
        scn_stop(rt, rt->servers[s].certprop[u]);
        rt->servers[s].certprop[u] = -1;
    }
}

static void random_password(char *out, size_t cap)
{
    uint8_t b[9] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, b, sizeof b) != (ssize_t)sizeof b) memset(b, 0x5a, sizeof b);
        close(fd);
    }
    char hex[19];
    scl_hex_encode(b, sizeof b, hex, false);
    snprintf(out, cap, "Scn-%s", hex);
}

static int setup_servers(struct scn_rt *rt, struct scn_out *o)
{
    const struct scenario *sc = rt->sc;
    for (int s = 0; s < sc->nservers; s++) {
        const struct scn_server *sv = &sc->servers[s];
        struct scn_rt_server *r = &rt->servers[s];
        r->host = -1;
        for (int u = 0; u < SCN_MAX_USERS; u++) r->certprop[u] = -1;
        r->service = sv->service;
        r->enable_smartcard = sv->enable_smartcard;
        r->cert_prop_enabled = sv->cert_prop_enabled;
        snprintf(r->dir, sizeof r->dir, "%s/servers/%s", rt->root, sv->name);
        path_under(r->profiles, sizeof r->profiles, r->dir, "profiles");
        path_under(r->state, sizeof r->state, r->dir, "state");
        path_under(r->conf, sizeof r->conf, r->dir, "host.conf");
        path_under(r->policy, sizeof r->policy, r->dir, "certprop.reg");
        for (int u = 0; u < sv->nusers; u++) {
            char prof[PATH_MAX];
            scn_user_profile(rt, s, u, prof, sizeof prof);
            if (mkdirs(prof, o)) return -1;
            const struct scn_user *us = &sv->users[u];
            if (us->password_env[0]) {
                const char *v = getenv(us->password_env);
                if (!v) {
                    scn_say(o, "server %s user %s: password=env:%s but %s is not set", sv->name, us->name,
                            us->password_env, us->password_env);
                    return -1;
                }
                snprintf(r->password[u], sizeof r->password[u], "%s", v);
            } else if (us->password[0]) snprintf(r->password[u], sizeof r->password[u], "%s", us->password);
            else random_password(r->password[u], sizeof r->password[u]);
        }
        if (mkdirs(r->state, o) || scn_write_policy(rt, s, o)) return -1;
        if (sv->console >= 0) {
            if (r->service == SCN_SVC_RUNNING && scn_console_start(rt, s, o)) return -1;
            continue;
        }
        if ((r->port = free_port()) < 0) {
            scn_say(o, "server %s: no free loopback port", sv->name);
            return -1;
        }
        if (scn_host_start(rt, s, o)) return -1;
    }
    return 0;
}

/* ---- teardown ---- */

static void note_pid(struct scn_result *r, pid_t pid, const char *what)
{
    struct scn_pid_note *n = realloc(r->pids, sizeof *n * (size_t)(r->npids + 1));
    if (!n) return;
    r->pids = n;
    n[r->npids].pid = pid;
    snprintf(n[r->npids].what, sizeof n[r->npids].what, "%s", what);
    r->npids++;
}

/* Processes others started for us (lab daemons, the host's certprop): their
 * pid files, noted so a test can check that none is left. */
static void note_pid_files(struct scn_result *r, const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".pid")) continue;
        char path[PATH_MAX], what[96];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        uint8_t *buf;
        size_t len;
        if (scl_read_file(path, 256, &buf, &len, NULL)) continue;
        long pid = strtol((char *)buf, NULL, 10);
        free(buf);
        snprintf(what, sizeof what, "%s %.*s", prefix, (int)(n - 4), de->d_name);
        if (pid > 1) note_pid(r, (pid_t)pid, what);
    }
    closedir(d);
}

static void note_session_pids(struct scn_rt *rt, int s)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/sessions", rt->servers[s].state);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char sub[PATH_MAX], what[96];
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        snprintf(what, sizeof what, "%s session %s", rt->sc->servers[s].name, de->d_name);
        note_pid_files(rt->res, sub, what);
    }
    closedir(d);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void teardown(struct scn_rt *rt, struct scn_out *o, bool keep)
{
    const struct scenario *sc = rt->sc;
    for (int i = 0; i < sc->nclients; i++) {
        scn_stop(rt, rt->clients[i].connect);
        rt->clients[i].connect = -1;
    }
    for (int s = 0; s < sc->nservers; s++) {
        note_session_pids(rt, s);
        scn_stop(rt, rt->servers[s].host);
        scn_console_stop(rt, s);
    }
    for (int p = 0; p < rt->nprocs; p++) scn_stop(rt, p);
    for (int i = 0; i < sc->nclients; i++) {
        if (!rt->clients[i].lab_up) continue;
        char what[96];
        snprintf(what, sizeof what, "lab %s", sc->clients[i].name);
        note_pid_files(rt->res, rt->clients[i].lab, what);
        const char *argv[] = {rt->exe, "lab", "down", "--dir", rt->clients[i].lab, NULL};
        snprintf(what, sizeof what, "teardown-lab-down-%s", sc->clients[i].name);
        int st = scn_run_cmd(rt, what, argv, NULL, 30000, o);
        if (st != 0) scn_say(o, "teardown: lab down %s failed (exit %d); ", rt->clients[i].lab, st);
    }
    for (int p = 0; p < rt->nprocs; p++) note_pid(rt->res, rt->procs[p].pid, rt->procs[p].what);
    scn_html_collect(rt);
    if (!keep) nftw(rt->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the run ---- */

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_s(void)
{
    return (double)scl_now_ns() / 1e9;
}

static void notify(const struct scn_run_opts *o, const struct scn_result *r, const struct scn_step_result *s)
{
    if (o->narrate) scn_report_step(o->narrate, r, s);
}

/* The step's narration (`say`), and the demo's pause before it: Enter on a
 * terminal; never a wait when nobody can press it. */
static void tell(const struct scn_run_opts *o, const struct scn_step *st)
{
    if (!o->narrate) return;
    fprintf(o->narrate, "\n  >> %s\n", st->say);
    if (o->pause && isatty(STDIN_FILENO)) {
        fprintf(o->narrate, "     [Enter] ");
        fflush(o->narrate);
        int ch;
        while ((ch = getchar()) != EOF && ch != '\n') {
        }
    }
    fflush(o->narrate);
}

/* A command's output as the class sees it, indented under its step. */
static void echo_output(FILE *f, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "        | %.*s\n", n, p);
        p += n + (nl != NULL);
    }
}

static int run_step(struct scn_rt *rt, const struct scn_step *st, struct scn_out *out)
{
    if (!st->wait) return st->def->run(rt, st, out);
    /* a wait polls its expectation; the last attempt's words explain a timeout */
    uint64_t deadline = scl_now_ns() + (uint64_t)st->timeout_ms * 1000000ull;
    for (;;) {
        out->detail[0] = 0;
        int v = st->def->run(rt, st, out);
        if (v == SCN_PASS || v == SCN_ERROR) return v;
        if (scl_now_ns() >= deadline || scn_interrupted()) {
            char last[1024];
            snprintf(last, sizeof last, "%s", out->detail);
            out->detail[0] = 0;
            scn_say(out, "timed out after %d ms waiting for %s (line %d); last check: %s", st->timeout_ms,
                    st->def->name, st->loc.line, last);
            return SCN_FAIL;
        }
        scn_sleep_ms(25);
    }
}

int scn_run(const struct scenario *sc, struct scn_run_opts *o, struct scn_result *r, struct scl_err *e)
{
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", sc->path);
    snprintf(r->title, sizeof r->title, "%s", sc->title);
    r->steps = calloc((size_t)sc->nsteps, sizeof *r->steps);
    struct scn_rt *rt = calloc(1, sizeof *rt);
    if (!r->steps || !rt) {
        free(rt);
        return scl_errf(e, SCL_E_NOMEM, "out of memory");
    }
    rt->sc = sc;
    rt->res = r;
    rt->cards_dir = o->cards_dir;
    rt->tls_dir = o->tls_dir;
    if (o->exe) snprintf(rt->exe, sizeof rt->exe, "%s", o->exe);
    else {
        ssize_t n = readlink("/proc/self/exe", rt->exe, sizeof rt->exe - 1);
        if (n < 0) {
            free(rt);
            return scl_errf(e, SCL_E_IO, "readlink /proc/self/exe: %s", strerror(errno));
        }
        rt->exe[n] = 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(rt->root, sizeof rt->root, "%s/scl-run-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(rt->root)) {
        int err = errno;
        free(rt);
        return scl_errf(e, SCL_E_IO, "mkdtemp %s: %s", tmp ? tmp : "/tmp", strerror(err));
    }
    snprintf(r->root, sizeof r->root, "%s", rt->root);
    char logs[PATH_MAX + 8];
    snprintf(logs, sizeof logs, "%s/logs", rt->root);
    mkdir(logs, 0700);

    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    interrupted = 0;

    double t0 = now_s();
    if (o->narrate) scn_report_begin(o->narrate, r);
    char detail[2048] = "";
    struct scn_out out = {detail, sizeof detail};
    bool setup_ok = !scn_setup_cards(rt, &out) && !setup_clients(rt, &out) && !setup_servers(rt, &out);
    r->verdict = SCN_PASS;
    if (!setup_ok) {
        snprintf(r->error, sizeof r->error, "setup: %s", detail);
        r->verdict = SCN_ERROR;
    }
    bool stop = !setup_ok;
    for (int i = 0; i < sc->nsteps; i++) {
        const struct scn_step *st = &sc->steps[i];
        struct scn_step_result *sr = &r->steps[i];
        r->nsteps = i + 1;
        sr->line = st->loc.line;
        sr->expect = st->expect;
        snprintf(sr->src, sizeof sr->src, "%s", st->src);
        if (stop || scn_interrupted()) {
            sr->verdict = SCN_SKIP;
            snprintf(sr->detail, sizeof sr->detail, "%s",
                     scn_interrupted() ? "not run: interrupted" : "not run: an earlier step failed");
            notify(o, r, sr);
            continue;
        }
        rt->nstep = i;
        snprintf(sr->say, sizeof sr->say, "%s", st->say);
        if (st->say[0]) tell(o, st);
        struct scn_out so = {sr->detail, sizeof sr->detail};
        double ts = now_s();
        sr->verdict = run_step(rt, st, &so);
        sr->seconds = now_s() - ts;
        if (sr->verdict != SCN_PASS && r->verdict == SCN_PASS) r->verdict = SCN_FAIL;
        if (sr->verdict == SCN_ERROR) r->verdict = SCN_ERROR;
        /* a failed action leaves the machines in an unknown state: stop;
         * a failed expectation does not change them: go on judging */
        if (sr->verdict != SCN_PASS && !st->expect) stop = true;
        notify(o, r, sr);
        if (o->echo_output && o->narrate && st->argc && rt->have_output) echo_output(o->narrate, rt->output);
    }
    detail[0] = 0;
    teardown(rt, &out, o->keep);
    if (detail[0]) {
        size_t n = strlen(r->error);
        snprintf(r->error + n, sizeof r->error - n, "%s%s", n ? "; " : "", detail);
        if (r->verdict == SCN_PASS) r->verdict = SCN_ERROR;
    }
    if (scn_interrupted() && r->verdict == SCN_PASS) r->verdict = SCN_ERROR;
    r->seconds = now_s() - t0;
    struct scl_err he = {0};
    if (o->report_dir && scn_html_report(rt, o, &he)) {
        size_t n = strlen(r->error);
        snprintf(r->error + n, sizeof r->error - n, "%sreport: %s", n ? "; " : "", he.msg);
        if (r->verdict == SCN_PASS) r->verdict = SCN_ERROR;
    }
    if (o->record && scn_record_save(rt, o->record, &he)) {
        size_t n = strlen(r->error);
        snprintf(r->error + n, sizeof r->error - n, "%srecord: %s", n ? "; " : "", he.msg);
        if (r->verdict == SCN_PASS) r->verdict = SCN_ERROR;
    }
    scn_html_release(rt);
    if (o->narrate) scn_report_end(o->narrate, r);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(rt->output);
    free(rt);
    return SCL_OK;
}
