/*
 * scn_shared.c - material many runs of one scenario share (the matrix's
 * rows): its cards minted once, one self-signed TLS certificate for every
 * row's session host.  Not the runs themselves (scn_run.c).
 */
#include "scn_int.h"
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int shared_tls_make(const char *dir, struct scl_err *e)
{
    char crt[PATH_MAX], key[PATH_MAX];
    if (scl_mkdirs(dir, 0700, e)) return e->code;
    snprintf(crt, sizeof crt, "%s/server.crt", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    return host_tls_ensure(crt, key, e); /* what `scardlab host` makes for itself */
}

int scn_shared_make(const struct scenario *sc, const char *exe, const char *dir, struct scl_err *e)
{
    struct scn_rt *rt = calloc(1, sizeof *rt);
    if (!rt) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    rt->sc = sc;
    snprintf(rt->root, sizeof rt->root, "%s", dir);
    if (exe) snprintf(rt->exe, sizeof rt->exe, "%s", exe);
    else {
        ssize_t n = readlink("/proc/self/exe", rt->exe, sizeof rt->exe - 1);
        if (n > 0) rt->exe[n] = 0;
    }
    char logs[PATH_MAX + 8], tls[PATH_MAX + 8];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(tls, sizeof tls, "%s/tls", dir);
    int rc = scl_mkdirs(logs, 0700, e);
    /* the TLS key in a child while `pki mint` makes the cards: two cores */
    fflush(NULL);
    pid_t pid = rc ? -1 : fork();
    if (pid == 0) {
        struct scl_err ce = {0};
        int crc = shared_tls_make(tls, &ce);
        if (crc) fprintf(stderr, "%s\n", ce.msg);
        _exit(crc ? 1 : 0);
    }
    if (!rc && pid < 0) rc = scl_errf(e, SCL_E_IO, "fork: %s", strerror(errno));
    char detail[2048] = "";
    struct scn_out out = {detail, sizeof detail};
    if (!rc && scn_setup_cards(rt, &out)) rc = scl_errf(e, SCL_E_IO, "minting the shared cards: %s", detail);
    int st = 0;
    if (pid > 0 && (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) && !rc)
        rc = scl_errf(e, SCL_E_CRYPTO, "the shared TLS certificate in %s could not be made", tls);
    for (int p = 0; p < rt->nprocs; p++) scn_stop(rt, p);
    free(rt->output);
    free(rt);
    return rc;
}
