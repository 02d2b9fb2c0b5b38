/*
 * scn_steps_cmd.c - the command steps: a command inside a user's session
 * (exec), certutil on a user's profile, a sweep, any command (run).  Each
 * keeps its output and exit status for `expect output` / `expect status`.
 * Does not judge the output itself.
 */
#include "scn_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_TIMEOUT_MS 120000

int scn_parse_exec(struct scn_pctx *p, struct scn_step *st)
{
    if ((st->server = scn_server_ref(p)) < 0 || (st->user = scn_user_ref(p, st->server)) < 0) return SCL_E_FORMAT;
    return scn_rest_argv(p, st, "a command to run in the session");
}

int scn_parse_certutil(struct scn_pctx *p, struct scn_step *st)
{
    if ((st->server = scn_server_ref(p)) < 0 || (st->user = scn_user_ref(p, st->server)) < 0) return SCL_E_FORMAT;
    return scn_rest_argv(p, st, "certutil arguments such as -user -store My");
}

int scn_parse_sweep(struct scn_pctx *p, struct scn_step *st)
{
    return scn_rest_argv(p, st, "sweep arguments such as --profiles ${ts1.profiles}");
}

int scn_parse_run(struct scn_pctx *p, struct scn_step *st)
{
    return scn_rest_argv(p, st, "a command");
}

/* argv = prefix + the step's words expanded; a leading word "scardlab" is the
 * runner's own binary. */
static int build_argv(struct scn_rt *rt, const struct scn_step *st, const char *const *prefix, char **store,
                      const char **argv, struct scn_out *o)
{
    int n = 0;
    for (; prefix && prefix[n]; n++) argv[n] = prefix[n];
    for (int i = 0; i < st->argc; i++) {
        store[i] = malloc(PATH_MAX * 2);
        if (!store[i] || scn_expand(rt, st->argv[i], store[i], PATH_MAX * 2, o)) return -1;
        bool self = n == 0 && !strcmp(store[i], "scardlab");
        argv[n++] = self ? rt->exe : store[i];
    }
    argv[n] = NULL;
    return 0;
}

static int finish(struct scn_rt *rt, const struct scn_step *st, const char *what, int rc, struct scn_out *o)
{
    size_t len = rt->output ? strlen(rt->output) : 0;
    if (rc < 0) return SCN_ERROR;
    if (rc != 0 && !st->status_checked) {
        scn_say(o, "%s exited with status %d (write 'expect status %d' after it if that is expected)", what, rc, rc);
        if (len) scn_say(o, "\n  output:\n%.1500s", rt->output);
        return SCN_FAIL;
    }
    scn_say(o, "%s exited with status %d, %zu bytes of output", what, rc, len);
    /* short outputs are worth reading in the narration */
    if (len && len <= 600) scn_say(o, ":\n%s", rt->output);
    return SCN_PASS;
}

static int run_with(struct scn_rt *rt, const struct scn_step *st, const char *what, const char *const *prefix,
                    const char *const *env, struct scn_out *o)
{
    char *store[SCN_MAX_ARGS] = {0};
    const char *argv[SCN_MAX_ARGS + 16];
    int v = SCN_ERROR;
    if (!build_argv(rt, st, prefix, store, argv, o)) {
        int rc = scn_run_cmd(rt, what, argv, env, CMD_TIMEOUT_MS, o);
        v = finish(rt, st, what, rc, o);
    }
    for (int i = 0; i < SCN_MAX_ARGS; i++) free(store[i]);
    return v;
}

int scn_run_exec(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    const struct scn_server *sv = &rt->sc->servers[st->server];
    const char *user = sv->users[st->user].name;
    if (sv->console < 0) {
        const char *prefix[] = {rt->exe, "session", "exec", "--host-dir", rt->servers[st->server].state, "--user",
                                user, "--", NULL};
        /* "scardlab" as the session command means this binary too */
        if (st->argc && !strcmp(st->argv[0], "scardlab")) {
            struct scn_step copy = *st;
            copy.argv[0] = rt->exe;
            return run_with(rt, &copy, "exec", prefix, NULL, o);
        }
        return run_with(rt, st, "exec", prefix, NULL, o);
    }
    /* at the console the user's programs see the lab and their profile */
    char sock[PATH_MAX], prof[PATH_MAX], e1[PATH_MAX + 32], e2[PATH_MAX + 32], e3[PATH_MAX + 8];
    scn_user_pcsc(rt, st->server, st->user, sock, sizeof sock);
    scn_user_profile(rt, st->server, st->user, prof, sizeof prof);
    snprintf(e1, sizeof e1, "PCSCLITE_CSOCK_NAME=%s", sock);
    snprintf(e2, sizeof e2, "SCARDLAB_PROFILE=%s", prof);
    snprintf(e3, sizeof e3, "HOME=%s", prof);
    const char *env[] = {e1, e2, e3, NULL};
    return run_with(rt, st, "exec", NULL, env, o);
}

int scn_run_certutil(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    char sock[PATH_MAX], prof[PATH_MAX], e1[PATH_MAX + 32];
    scn_user_pcsc(rt, st->server, st->user, sock, sizeof sock);
    scn_user_profile(rt, st->server, st->user, prof, sizeof prof);
    /* no PC/SC (no session): certutil says "reachable: unknown" rather than
     * asking the machine's own pcscd */
    snprintf(e1, sizeof e1, "PCSCLITE_CSOCK_NAME=%s", sock);
    const char *env[] = {sock[0] ? e1 : NULL, NULL};
    const char *prefix[] = {rt->exe, "certutil", "--profile", prof, NULL};
    return run_with(rt, st, "certutil", prefix, env, o);
}

int scn_run_sweep(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    const char *prefix[] = {rt->exe, "sweep", NULL};
    return run_with(rt, st, "sweep", prefix, NULL, o);
}

int scn_run_run(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    return run_with(rt, st, "run", NULL, NULL, o);
}
