/*
 * scn_steps_client.c - the client steps: connect a client machine to an RDP
 * server as a user (Default.rdp or a named .rdp file), and disconnect.
 * Drives `scardlab connect`; does not look inside the session (the
 * expectations do).
 */
#include "scn_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define CONNECT_TIMEOUT_MS 30000

/* connect CLIENT to SERVER as USER [with FILE.rdp] */
int scn_parse_connect(struct scn_pctx *p, struct scn_step *st)
{
    if ((st->client = scn_client_ref(p)) < 0 || scn_keyword(p, "to")) return SCL_E_FORMAT;
    const struct scn_tok *t = scn_peek(p);
    if ((st->server = scn_server_ref(p)) < 0) return SCL_E_FORMAT;
    const struct scn_server *sv = &p->sc->servers[st->server];
    if (sv->console >= 0)
        return scn_perr_at(p, t->col, "server %s is the console of %s: nothing to connect to (declare it 'rdp')",
                           sv->name, p->sc->clients[sv->console].name);
    if (scn_keyword(p, "as") || (st->user = scn_user_ref(p, st->server)) < 0) return SCL_E_FORMAT;
    if (!scn_accept(p, "with")) return SCL_OK;
    const struct scn_client *cl = &p->sc->clients[st->client];
    t = scn_next(p, "an .rdp file declared with rdp-file");
    if (!t) return SCL_E_FORMAT;
    for (int i = 0; i < cl->nrdp; i++)
        if (!strcmp(cl->rdp[i].name, t->text)) st->rdp = i;
    if (st->rdp < 0)
        return scn_perr_at(p, t->col, "client %s has no rdp-file '%s'%s", cl->name, t->text,
                           !strcmp(t->text, "Default.rdp") ? " (leave 'with' out to use Default.rdp)" : "");
    return SCL_OK;
}

static bool output_has(const char *path, const char *needle)
{
    uint8_t *buf;
    size_t len;
    if (scl_read_file(path, 1 << 20, &buf, &len, NULL)) return false;
    bool hit = strstr((char *)buf, needle) != NULL;
    free(buf);
    return hit;
}

int scn_run_connect(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    const struct scenario *sc = rt->sc;
    struct scn_rt_client *c = &rt->clients[st->client];
    const struct scn_server *sv = &sc->servers[st->server];
    struct scn_rt_server *r = &rt->servers[st->server];
    if (c->connect >= 0 && scn_alive(rt, c->connect)) {
        scn_say(o, "client %s is already connected to %s", sc->clients[st->client].name,
                sc->servers[c->server].name);
        return SCN_FAIL;
    }
    if (r->host < 0 || !scn_alive(rt, r->host)) {
        scn_say(o, "server %s: the session host is not running", sv->name);
        return SCN_ERROR;
    }
    char rdp[PATH_MAX] = "", target[64], user[SCN_NAME_MAX + 4], sock[PATH_MAX + 32], pw[160], out[PATH_MAX];
    if (st->rdp >= 0)
        snprintf(rdp, sizeof rdp, "%s/Documents/%s", c->profile, sc->clients[st->client].rdp[st->rdp].name);
    snprintf(target, sizeof target, "/v:127.0.0.1:%d", r->port);
    snprintf(user, sizeof user, "/u:%s", sv->users[st->user].name);
    snprintf(sock, sizeof sock, "PCSCLITE_CSOCK_NAME=%s/run/pcscd/pcscd.comm", c->lab);
    snprintf(pw, sizeof pw, "SCL_SCN_PASSWORD=%s", r->password[st->user]);
    snprintf(out, sizeof out, "%s/connect-%d.log", c->dir, st->loc.line);
    snprintf(c->connect_log, sizeof c->connect_log, "%s", out);
    const char *argv[SCN_MAX_ALLOW * 2 + 16];
    int n = 0;
    argv[n++] = rt->exe;
    argv[n++] = "connect";
    if (rdp[0]) argv[n++] = rdp;
    argv[n++] = "--profile", argv[n++] = c->profile;
    argv[n++] = "--password-env", argv[n++] = "SCL_SCN_PASSWORD";
    argv[n++] = "--trace", argv[n++] = c->trace;
    for (int i = 0; i < sc->clients[st->client].nallow; i++)
        argv[n++] = "--reader-allow", argv[n++] = sc->clients[st->client].allow[i];
    argv[n++] = target, argv[n++] = user, argv[n++] = "/cert:ignore";
    argv[n] = NULL;
    const char *env[] = {sock, pw, NULL};
    char what[160];
    snprintf(what, sizeof what, "connect %s->%s", sc->clients[st->client].name, sv->name);
    c->connect = scn_spawn(rt, what, argv, env, out, o);
    if (c->connect < 0) return SCN_ERROR;
    c->server = st->server;
    c->user = st->user;
    for (int waited = 0; waited < CONNECT_TIMEOUT_MS; waited += 20) {
        if (output_has(out, "scardlab connect: connected to")) {
            scn_say(o, "%s is connected to %s as %s with %s", sc->clients[st->client].name, sv->name,
                    sv->users[st->user].name, rdp[0] ? sc->clients[st->client].rdp[st->rdp].name : "Documents/Default.rdp");
            return SCN_PASS;
        }
        if (!scn_alive(rt, c->connect)) {
            int s = rt->procs[c->connect].status;
            scn_say(o, "scardlab connect exited (status %d) before connecting", WIFEXITED(s) ? WEXITSTATUS(s) : -1);
            scn_say_tail(o, out, 12);
            c->connect = -1;
            return SCN_FAIL;
        }
        if (scn_interrupted()) break;
        scn_sleep_ms(20);
    }
    scn_say(o, "scardlab connect did not report 'connected' within %d s", CONNECT_TIMEOUT_MS / 1000);
    scn_say_tail(o, out, 12);
    scn_stop(rt, c->connect);
    c->connect = -1;
    return SCN_FAIL;
}

/* disconnect CLIENT */
int scn_parse_disconnect(struct scn_pctx *p, struct scn_step *st)
{
    return (st->client = scn_client_ref(p)) < 0 ? SCL_E_FORMAT : SCL_OK;
}

int scn_run_disconnect(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    struct scn_rt_client *c = &rt->clients[st->client];
    const char *name = rt->sc->clients[st->client].name;
    if (c->connect < 0) {
        scn_say(o, "client %s is not connected", name);
        return SCN_FAIL;
    }
    bool was_alive = scn_alive(rt, c->connect);
    scn_stop(rt, c->connect);
    int s = rt->procs[c->connect].status;
    c->connect = c->server = c->user = -1;
    if (!was_alive) {
        scn_say(o, "client %s had already lost its session (exit status %d)", name,
                WIFEXITED(s) ? WEXITSTATUS(s) : -1);
        return SCN_FAIL;
    }
    scn_say(o, "client %s disconnected (exit status %d)", name, WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s));
    return SCN_PASS;
}
