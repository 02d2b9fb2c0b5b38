/*
 * cmd_host.c - `scardlab host` (hands over to bin/scardlab-host) and
 * `scardlab session exec --host-dir D --user U -- CMD...` (run a program
 * inside U's current session).  No FreeRDP here; the host is host_main.c.
 */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The session host links FreeRDP, whose WinPR exports SCard* names that
 * would capture this binary's own PC/SC calls: it runs as bin/scardlab-host. */
int host_cmd_host(int argc, char **argv)
{
    char exe[PATH_MAX], host[PATH_MAX + 16];
    (void)argc; /* argv is NULL-terminated: handed over as is */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "scardlab host: /proc/self/exe: %s\n", strerror(errno));
        return 1;
    }
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    snprintf(host, sizeof host, "%s/scardlab-host", exe);
    argv[0] = "scardlab-host";
    execv(host, argv);
    fprintf(stderr, "scardlab host: %s: %s\n", host, strerror(errno));
    return 127;
}

static void session_usage(FILE *f)
{
    fprintf(f, "usage: scardlab session exec --host-dir STATE --user NAME -- CMD [ARG...]\n"
               "\n"
               "Run CMD inside NAME's current session on the session host whose\n"
               "state_dir is STATE: PCSCLITE_CSOCK_NAME names the session's PC/SC socket\n"
               "and SCARDLAB_PROFILE its profile folder.  Exits with CMD's status.\n");
}

/* The live session folder of user, from STATE/users/<user>/current. */
static int session_find(const char *state, const char *user, char *dir, size_t cap,
                        struct scl_err *e)
{
    char link[PATH_MAX];
    snprintf(link, sizeof link, "%s/users/%s/current", state, user);
    ssize_t n = readlink(link, dir, cap - 1);
    if (n <= 0)
        return scl_errf(e, SCL_E_NOTFOUND, "%s: user %s has no current session (%s)", link, user,
                        strerror(errno));
    dir[n] = 0;
    return SCL_OK;
}

int host_cmd_session(int argc, char **argv)
{
    const char *state = NULL, *user = NULL;
    int i = 1;
    if (argc < 2 || strcmp(argv[1], "exec")) {
        bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
        session_usage(help ? stdout : stderr);
        return help ? 0 : 2;
    }
    for (i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "--host-dir") && i + 1 < argc)
            state = argv[++i];
        else if (!strcmp(argv[i], "--user") && i + 1 < argc)
            user = argv[++i];
        else {
            fprintf(stderr, "scardlab session exec: unexpected argument '%s'\n", argv[i]);
            session_usage(stderr);
            return 2;
        }
    }
    if (!state || !user || i >= argc) {
        fprintf(stderr, "scardlab session exec: --host-dir, --user and -- CMD are required\n");
        session_usage(stderr);
        return 2;
    }
    char dir[PATH_MAX], sock[PATH_MAX + 16], prof[PATH_MAX + 16];
    struct scl_err e;
    struct stat st;
    uint8_t *profile = NULL;
    size_t plen;
    if (session_find(state, user, dir, sizeof dir, &e)) {
        fprintf(stderr, "scardlab session exec: %s\n", e.msg);
        return 1;
    }
    snprintf(sock, sizeof sock, "%s/pcscd.comm", dir);
    snprintf(prof, sizeof prof, "%s/profile", dir);
    if (stat(sock, &st) || !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "scardlab session exec: %s: no PC/SC socket (session ending?)\n", sock);
        return 1;
    }
    if (scl_read_file(prof, PATH_MAX, &profile, &plen, &e)) {
        fprintf(stderr, "scardlab session exec: %s\n", e.msg);
        return 1;
    }
    setenv("PCSCLITE_CSOCK_NAME", sock, 1);
    setenv("SCARDLAB_PROFILE", (const char *)profile, 1);
    free(profile);
    execvp(argv[i], argv + i);
    fprintf(stderr, "scardlab session exec: %s: %s\n", argv[i], strerror(errno));
    return 127;
}
