/*
 * services.c - the session host's service launcher: CertPropSvc for each
 * session (our `scardlab certprop` on the session's PC/SC socket, as the
 * user's local account when mapped), recorded by pid in the session folder
 * and stopped by that pid.  Not for certprop's logic or other services.
 */
#include "host_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A mapped user's session folder belongs to the account, which may have
 * put a symlink or a FIFO where these files go: neither is followed or
 * waited on, and only a regular file is accepted. */
static int svc_open_out(const char *dir, const char *name, struct scl_err *e)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (fd < 0) {
        scl_errf(e, SCL_E_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, O_APPEND)) {
        scl_errf(e, SCL_E_IO, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    return fd;
}

/* What the child needs to become a mapped user's account, gathered before
 * fork: after it, a multithreaded host's child may only make async-signal-
 * safe calls (no passwd or group lookups, no malloc, no printf). */
struct svc_account {
    bool mapped;
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* the account's supplementary groups (getgrouplist) */
    int ngroups;
    char why[256]; /* message prefix for a failed drop */
};

static int svc_account_prepare(const struct host_user *u, struct svc_account *a,
                               struct scl_err *e)
{
    memset(a, 0, sizeof *a);
    if (!u->local_account[0])
        return SCL_OK;
    a->mapped = true;
    a->uid = u->uid;
    a->gid = u->gid;
    int n = 16;
    for (int tries = 0; tries < 4; tries++) {
        gid_t *g = realloc(a->groups, (size_t)n * sizeof *g);
        if (!g)
            break;
        a->groups = g;
        int want = n;
        if (getgrouplist(u->local_account, u->gid, a->groups, &want) >= 0) {
            a->ngroups = want;
            snprintf(a->why, sizeof a->why,
                     "scardlab host: certprop child: cannot become local account %s (uid %lu): ",
                     u->local_account, (unsigned long)u->uid);
            return SCL_OK;
        }
        n = want > n ? want : n * 2;
    }
    free(a->groups);
    a->groups = NULL;
    return scl_errf(e, SCL_E_IO, "certprop: groups of local account %s: lookup failed",
                    u->local_account);
}

static void svc_child_fail(const struct svc_account *a, const char *step, int err)
{
    char num[16];
    size_t i = sizeof num;
    unsigned v = (unsigned)err;
    num[--i] = '\n';
    num[--i] = ')';
    do
        num[--i] = (char)('0' + v % 10);
    while ((v /= 10) && i > 1);
    ssize_t r = write(2, a->why, strlen(a->why));
    r = write(2, step, strlen(step));
    r = write(2, " failed (errno ", 15);
    r = write(2, num + i, sizeof num - i);
    (void)r;
    _exit(126);
}

/* Groups, then gid, then uid: each needs the privilege the next one drops. */
static void svc_child_become(const struct svc_account *a)
{
    if (!a->mapped)
        return;
    if (setgroups((size_t)a->ngroups, a->groups))
        svc_child_fail(a, "setgroups", errno);
    if (setgid(a->gid))
        svc_child_fail(a, "setgid", errno);
    if (setuid(a->uid))
        svc_child_fail(a, "setuid", errno);
    if (a->uid != 0 && setuid(0) == 0)
        svc_child_fail(a, "setuid (root could be regained)", 0);
}

extern char **environ;

/* The child's environment, built before fork (the host is multithreaded, so
 * the child may only exec). */
static char **svc_env(const char *sock, const char *profile)
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PCSCLITE_CSOCK_NAME=", 20) &&
            strncmp(environ[i], "SCARDLAB_PROFILE=", 17))
            env[k++] = strdup(environ[i]);
    if (asprintf(&env[k++], "PCSCLITE_CSOCK_NAME=%s", sock) < 0)
        env[k - 1] = NULL;
    if (asprintf(&env[k++], "SCARDLAB_PROFILE=%s", profile) < 0)
        env[k - 1] = NULL;
    for (size_t i = 0; i < k; i++)
        if (!env[i]) {
            for (size_t j = 0; j < k; j++)
                free(env[j]);
            free(env);
            return NULL;
        }
    return env;
}

static void svc_env_free(char **env)
{
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

int host_certprop_start(const struct host_config *cfg, enum host_service state,
                        const struct host_user *u, const char *session_dir, const char *sock,
                        pid_t *pid, struct scl_err *e)
{
    char exe[PATH_MAX], pidpath[PATH_MAX], pidtxt[32];
    *pid = 0;
    if (state != HOST_SVC_RUNNING)
        return SCL_OK;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return scl_errf(e, SCL_E_IO, "certprop: /proc/self/exe: %s", strerror(errno));
    exe[n] = 0;
    /* certprop runs from the scardlab binary next to us: this executable
     * links WinPR, whose SCard* exports would capture certprop's PC/SC. */
    char *slash = strrchr(exe, '/');
    if (!slash || (size_t)(slash - exe) + sizeof "/scardlab" > sizeof exe)
        return scl_errf(e, SCL_E_IO, "certprop: cannot place scardlab next to %s", exe);
    strcpy(slash + 1, "scardlab");
    int out = svc_open_out(session_dir, "certprop.json", e);
    if (out < 0)
        return SCL_E_IO;
    int err = svc_open_out(session_dir, "certprop.log", e);
    if (err < 0) {
        close(out);
        return SCL_E_IO;
    }
    const char *argv[8] = {exe, "certprop", "--profile", u->profile};
    int argc = 4;
    if (cfg->certprop_policy[0]) {
        argv[argc++] = "--policy";
        argv[argc++] = cfg->certprop_policy;
    }
    argv[argc++] = "--json";
    argv[argc] = NULL;
    struct svc_account acct;
    char **envp = svc_env(sock, u->profile);
    if (!envp || svc_account_prepare(u, &acct, e)) {
        if (envp)
            svc_env_free(envp);
        close(out);
        close(err);
        return envp ? SCL_E_IO : scl_errf(e, SCL_E_NOMEM, "certprop: out of memory");
    }
    pid_t parent = getpid();
    pid_t p = fork();
    if (p < 0) {
        svc_env_free(envp);
        free(acct.groups);
        close(out);
        close(err);
        return scl_errf(e, SCL_E_IO, "certprop: fork: %s", strerror(errno));
    }
    if (p == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* the host blocks TERM for its signal thread */
        signal(SIGPIPE, SIG_DFL);
        /* Before PR_SET_PDEATHSIG, which a change of uid or gid clears; and
         * while stderr is still the host log, where a failure belongs. */
        svc_child_become(&acct);
        dup2(out, 1);
        dup2(err, 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        /* Inherited descriptors include peers' RDP sockets: a child holding
         * one keeps that TCP connection open after the host dies, and the
         * client never learns the session is gone. */
        close_range(3, ~0U, 0);
        /* certprop must not outlive the host (or the session thread that
         * started it): a SIGKILLed host cannot stop it by pid. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0);
        execve(exe, (char *const *)argv, envp);
        _exit(127);
    }
    svc_env_free(envp);
    free(acct.groups);
    close(out);
    close(err);
    snprintf(pidpath, sizeof pidpath, "%s/certprop.pid", session_dir);
    int len = snprintf(pidtxt, sizeof pidtxt, "%d\n", (int)p);
    if (scl_write_atomic(pidpath, pidtxt, (size_t)len, 0600, e)) {
        host_certprop_stop(p, NULL);
        return SCL_E_IO;
    }
    *pid = p;
    return SCL_OK;
}

static bool svc_wait(pid_t pid, unsigned ms)
{
    for (unsigned t = 0; t < ms; t += 20) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return true;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

void host_certprop_stop(pid_t pid, const char *session_dir)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        if (!svc_wait(pid, 5000)) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
    }
    if (session_dir) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/certprop.pid", session_dir);
        unlink(path);
    }
}
