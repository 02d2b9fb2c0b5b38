/*
 * cmd_host.c - `scardlab host` (hands over to bin/scardlab-host) and
 * `scardlab session exec` (run a program in a user's current session, as its
 * local account when mapped).  No FreeRDP here; the host is host_main.c.
 */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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
               "and SCARDLAB_PROFILE its profile folder.  Exits with CMD's status.\n"
               "Run as root for a user mapped to a local account (local_account=), CMD\n"
               "runs as that account (its groups, gid, uid, HOME, USER, LOGNAME).\n");
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

/* DIR/profile, written by the host.  A mapped user's folder belongs to the
 * account, which could put a symlink to a secret there for root to read
 * into CMD's environment: only a regular file of STATE's owner is taken. */
static int session_read_profile(const char *state, const char *path, char *out, size_t cap,
                                struct scl_err *e)
{
    struct stat sst, st;
    if (stat(state, &sst))
        return scl_errf(e, SCL_E_IO, "%s: %s", state, strerror(errno));
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return scl_errf(e, SCL_E_IO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != sst.st_uid) {
        close(fd);
        return scl_errf(e, SCL_E_STATE, "%s: not a regular file written by the host (uid %lu)",
                        path, (unsigned long)sst.st_uid);
    }
    size_t got = scl_read_fd(fd, out, cap - 1);
    close(fd);
    out[got] = 0;
    if (!got || got == cap - 1 || strlen(out) != got)
        return scl_errf(e, SCL_E_FORMAT, "%s: expected a path of 1..%zu bytes without NUL", path,
                        cap - 2);
    return SCL_OK;
}

/* A mapped user's session folder belongs to the local account, not to the
 * host (the owner of STATE).  Its socket serves that uid alone, so root
 * runs CMD as the account: groups, gid, uid, then HOME/USER/LOGNAME. */
static int session_become_owner(const char *state, const char *dir, struct scl_err *e)
{
    struct stat sst, dst;
    struct passwd pw, *found = NULL;
    char buf[16384];
    if (geteuid() != 0)
        return SCL_OK;
    if (stat(state, &sst) || stat(dir, &dst))
        return scl_errf(e, SCL_E_IO, "%s: %s", dir, strerror(errno));
    if (dst.st_uid == sst.st_uid)
        return SCL_OK;
    int rc = getpwuid_r(dst.st_uid, &pw, buf, sizeof buf, &found);
    if (rc || !found)
        return scl_errf(e, SCL_E_NOTFOUND, "%s: owned by uid %lu, which has no passwd entry%s%s",
                        dir, (unsigned long)dst.st_uid, rc ? ": " : "", rc ? strerror(rc) : "");
    if (initgroups(pw.pw_name, pw.pw_gid))
        return scl_errf(e, SCL_E_IO, "initgroups(%s): %s", pw.pw_name, strerror(errno));
    if (setgid(pw.pw_gid))
        return scl_errf(e, SCL_E_IO, "setgid(%lu): %s", (unsigned long)pw.pw_gid, strerror(errno));
    if (setuid(pw.pw_uid))
        return scl_errf(e, SCL_E_IO, "setuid(%lu): %s", (unsigned long)pw.pw_uid, strerror(errno));
    if (pw.pw_uid != 0 && setuid(0) == 0)
        return scl_errf(e, SCL_E_STATE, "setuid(%lu) left root regainable",
                        (unsigned long)pw.pw_uid);
    setenv("HOME", pw.pw_dir, 1);
    setenv("USER", pw.pw_name, 1);
    setenv("LOGNAME", pw.pw_name, 1);
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
    char dir[PATH_MAX], sock[PATH_MAX + 16], prof[PATH_MAX + 16], profile[PATH_MAX + 1];
    struct scl_err e;
    struct stat st;
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
    if (session_read_profile(state, prof, profile, sizeof profile, &e) ||
        session_become_owner(state, dir, &e)) {
        fprintf(stderr, "scardlab session exec: %s\n", e.msg);
        return 1;
    }
    setenv("PCSCLITE_CSOCK_NAME", sock, 1);
    setenv("SCARDLAB_PROFILE", profile, 1);
    execvp(argv[i], argv + i);
    fprintf(stderr, "scardlab session exec: %s: %s\n", argv[i], strerror(errno));
    return 127;
}
