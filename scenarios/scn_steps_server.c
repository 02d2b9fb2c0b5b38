/*
 * scn_steps_server.c - the server steps: start, stop, disable or enable the
 * certificate propagation service, and change server policy (CertProp
 * values, fEnableSmartCard).  Console servers run certprop themselves; RDP
 * servers are told through their config and SIGHUP.  Judges nothing.
 */
#include "scn_int.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* service SERVER start|stop|disable|enable */
int scn_parse_service(struct scn_pctx *p, struct scn_step *st)
{
    static const char *const verbs[] = {"start", "stop", "disable", "enable", NULL};
    if ((st->server = scn_server_ref(p)) < 0) return SCL_E_FORMAT;
    int v = scn_choice(p, verbs, "start, stop, disable or enable");
    if (v < 0) return SCL_E_FORMAT;
    snprintf(st->word, sizeof st->word, "%s", verbs[v]);
    return SCL_OK;
}

/* Signal every certprop the host started for a session (pid files). */
static int hup_session_certprops(struct scn_rt *rt, int s)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/sessions", rt->servers[s].state);
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s/certprop.pid", dir, de->d_name);
        uint8_t *buf;
        size_t len;
        if (scl_read_file(path, 256, &buf, &len, NULL)) continue;
        long pid = strtol((char *)buf, NULL, 10);
        free(buf);
        if (pid > 1 && kill((pid_t)pid, SIGHUP) == 0) n++;
    }
    closedir(d);
    return n;
}

static int host_reload(struct scn_rt *rt, int s, struct scn_out *o)
{
    struct scn_rt_server *r = &rt->servers[s];
    if (scn_write_host_conf(rt, s, o)) return SCN_ERROR;
    if (r->host < 0 || !scn_alive(rt, r->host)) {
        scn_say(o, "server %s: the session host is not running", rt->sc->servers[s].name);
        return SCN_ERROR;
    }
    kill(rt->procs[r->host].pid, SIGHUP);
    return SCN_PASS;
}

int scn_run_service(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    const struct scn_server *sv = &rt->sc->servers[st->server];
    struct scn_rt_server *r = &rt->servers[st->server];
    const char *w = st->word;
    if (!strcmp(w, "start") && r->service == SCN_SVC_DISABLED) {
        /* as on Windows: a disabled service cannot be started */
        scn_say(o, "server %s: the service is disabled and cannot be started ('service %s enable' first)",
                sv->name, sv->name);
        return SCN_FAIL;
    }
    enum scn_service next = !strcmp(w, "start")     ? SCN_SVC_RUNNING
                            : !strcmp(w, "disable") ? SCN_SVC_DISABLED
                            : !strcmp(w, "enable")  ? (r->service == SCN_SVC_DISABLED ? SCN_SVC_STOPPED : r->service)
                                                    : SCN_SVC_STOPPED;
    r->service = next;
    if (sv->console >= 0) {
        if (next == SCN_SVC_RUNNING) {
            if (scn_console_start(rt, st->server, o)) return SCN_FAIL;
        } else scn_console_stop(rt, st->server);
    } else {
        int v = host_reload(rt, st->server, o);
        if (v != SCN_PASS) return v;
    }
    scn_say(o, "certificate propagation service on %s: %s", sv->name,
            next == SCN_SVC_RUNNING ? "running" : next == SCN_SVC_STOPPED ? "stopped" : "disabled");
    return SCN_PASS;
}

/* policy SERVER NAME=VALUE */
int scn_parse_policy(struct scn_pctx *p, struct scn_step *st)
{
    static const char *const names[] = {"CertPropEnabled", "fEnableSmartCard", NULL};
    if ((st->server = scn_server_ref(p)) < 0) return SCL_E_FORMAT;
    const struct scn_tok *t = scn_peek(p);
    int k = -1;
    for (int i = 0; t && names[i]; i++)
        if (!strcmp(t->key, names[i])) k = i;
    if (k < 0) return scn_perr(p, "CertPropEnabled=0|1 or fEnableSmartCard=0|1");
    if (strcmp(t->text, "0") && strcmp(t->text, "1"))
        return scn_perr_at(p, t->vcol, "%s: expected 0 or 1, found '%s'", t->key, t->text);
    if (k == 1 && p->sc->servers[st->server].console >= 0)
        return scn_perr_at(p, t->col, "fEnableSmartCard is an RDP host policy; server %s is a console",
                           p->sc->servers[st->server].name);
    snprintf(st->setting, sizeof st->setting, "%s", names[k]);
    st->value = t->text[0] - '0';
    p->pos++;
    return SCL_OK;
}

int scn_run_policy(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    const struct scn_server *sv = &rt->sc->servers[st->server];
    struct scn_rt_server *r = &rt->servers[st->server];
    if (!strcmp(st->setting, "CertPropEnabled")) {
        r->cert_prop_enabled = st->value;
        if (scn_write_policy(rt, st->server, o)) return SCN_ERROR;
        /* certprop re-reads its policy on SIGHUP (docs/certprop.md) */
        int n = 0;
        if (sv->console >= 0) {
            for (int u = 0; u < sv->nusers; u++)
                if (r->certprop[u] >= 0 && scn_alive(rt, r->certprop[u]) &&
                    kill(rt->procs[r->certprop[u]].pid, SIGHUP) == 0)
                    n++;
        } else n = hup_session_certprops(rt, st->server);
        scn_say(o, "server %s: CertPropEnabled=%d written to %s; %d running certprop told to reload", sv->name,
                st->value, r->policy, n);
        /* the reload is asynchronous; give it a moment so the next card sees it */
        if (n) scn_sleep_ms(200);
        return SCN_PASS;
    }
    /* fEnableSmartCard: read when the host starts; applies to new sessions */
    for (int i = 0; i < rt->sc->nclients; i++)
        if (rt->clients[i].server == st->server && rt->clients[i].connect >= 0) {
            scn_say(o, "server %s: fEnableSmartCard applies to new connections; disconnect %s first", sv->name,
                    rt->sc->clients[i].name);
            return SCN_ERROR;
        }
    r->enable_smartcard = st->value;
    scn_stop(rt, r->host);
    r->host = -1;
    if (scn_host_start(rt, st->server, o)) return SCN_ERROR;
    scn_say(o, "server %s: fEnableSmartCard=%d; session host restarted with it", sv->name, st->value);
    return SCN_PASS;
}
