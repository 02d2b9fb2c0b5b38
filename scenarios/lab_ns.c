/*
 * lab_ns.c - the lab's namespace holder: a process that owns a private mount
 * and network namespace, mounts the lab's /run and hides the USB reader
 * driver, raises lo, and runs pcscd there until told to stop.
 * Not for talking PC/SC, nor for cards (they only join the network namespace).
 */
#include "lab_int.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t holder_stop;

static void on_holder_signal(int sig)
{
    (void)sig;
    holder_stop = 1;
}

/* Point fd at path (or /dev/null); the holder must not keep the caller's
 * pipes open, or `$(scardlab lab up)` and ctest would wait forever. */
static int redirect_fd(int fd, const char *path, int flags)
{
    int nfd = open(path, flags | O_CLOEXEC, 0600);
    if (nfd < 0) return -1;
    int rc = dup2(nfd, fd);
    close(nfd);
    return rc < 0 ? -1 : 0;
}

static int bind_mount(const char *src, const char *dst)
{
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL)) {
        fprintf(stderr, "lab holder: bind %s over %s: %s\n", src, dst, strerror(errno));
        return -1;
    }
    return 0;
}

static int raise_loopback(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    if (rc) fprintf(stderr, "lab holder: raise lo: %s\n", strerror(errno));
    close(s);
    return rc;
}

/* The private world pcscd will see: its own /run, no CCID driver, only lo. */
static int write_proc_self(const char *name, const char *text)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/%s", name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));
    int err = errno;
    if (fd >= 0) close(fd);
    if (n != (ssize_t)strlen(text)) {
        fprintf(stderr, "lab holder: write %s: %s\n", path, strerror(err));
        return -1;
    }
    return 0;
}

/* Not root: a user namespace of our own, where we are root (uid 0 maps to
 * us), lets us make the mount and network namespaces; nothing outside it
 * gains any right. */
static int become_ns_root(void)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    char map[64];
    if (unshare(CLONE_NEWUSER)) {
        fprintf(stderr,
                "lab holder: unshare(CLONE_NEWUSER): %s (not root, and unprivileged "
                "user namespaces are off; see docs/lab.md)\n",
                strerror(errno));
        return -1;
    }
    snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)uid);
    if (write_proc_self("uid_map", map) || write_proc_self("setgroups", "deny")) return -1;
    snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)gid);
    return write_proc_self("gid_map", map);
}

static int enter_private_world(const char *dir)
{
    char run[4096], empty[4096];
    if (geteuid() != 0 && become_ns_root()) return -1;
    if (unshare(CLONE_NEWNS | CLONE_NEWNET)) {
        fprintf(stderr, "lab holder: unshare(CLONE_NEWNS|CLONE_NEWNET): %s\n", strerror(errno));
        return -1;
    }
    /* Without this our mounts would propagate back to the machine's /run. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
        fprintf(stderr, "lab holder: make / private: %s\n", strerror(errno));
        return -1;
    }
    if (lab_path(dir, "run", run, sizeof run, NULL) ||
        lab_path(dir, "empty", empty, sizeof empty, NULL))
        return -1;
    if (bind_mount(run, "/run")) return -1;
    struct stat st;
    if (stat(LAB_CCID_BUNDLE, &st) == 0 && S_ISDIR(st.st_mode) &&
        bind_mount(empty, LAB_CCID_BUNDLE))
        return -1;
    return raise_loopback();
}

static pid_t spawn_pcscd(const struct lab_ns_opts *o)
{
    char conf[4096], log[4096];
    if (lab_path(o->dir, "conf", conf, sizeof conf, NULL) ||
        lab_path(o->dir, "pcscd.log", log, sizeof log, NULL))
        return -1;
    pid_t pid = fork();
    if (pid != 0) return pid;
    signal(SIGTERM, SIG_DFL);
    if (redirect_fd(1, log, O_WRONLY | O_CREAT | O_APPEND) || dup2(1, 2) < 0) _exit(127);
    char *argv_apdu[] = {"pcscd", "--foreground", "--apdu", "--debug", "--config", conf, NULL};
    char *argv_plain[] = {"pcscd", "--foreground", "--config", conf, NULL};
    execvp("pcscd", o->apdu_log ? argv_apdu : argv_plain);
    fprintf(stderr, "lab holder: exec pcscd: %s\n", strerror(errno));
    _exit(127);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Wait for pcscd; on SIGTERM pass it on, and SIGKILL after the grace period. */
static int supervise_pcscd(pid_t pcscd)
{
    int status = 0, waited = 0;
    bool termed = false;
    for (;;) {
        if (holder_stop && !termed) {
            kill(pcscd, SIGTERM);
            termed = true;
        }
        pid_t r = waitpid(pcscd, &status, termed ? WNOHANG : 0);
        if (r == pcscd) break;
        if (r < 0 && errno != EINTR) return 1;
        if (termed) {
            sleep_ms(10);
            if ((waited += 10) == LAB_STOP_GRACE_MS) kill(pcscd, SIGKILL);
        }
    }
    fprintf(stderr, "lab holder: pcscd %ld ended (%s %d)\n", (long)pcscd,
            WIFEXITED(status) ? "exit" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static void run_holder(const struct lab_ns_opts *o)
{
    char log[4096], pidfile[4096];
    if (lab_path(o->dir, "lab.log", log, sizeof log, NULL) ||
        lab_path(o->dir, "pcscd.pid", pidfile, sizeof pidfile, NULL))
        _exit(126);
    setsid();
    prctl(PR_SET_NAME, "scardlab-lab");
    if (redirect_fd(0, "/dev/null", O_RDONLY) ||
        redirect_fd(1, log, O_WRONLY | O_CREAT | O_APPEND) || dup2(1, 2) < 0)
        _exit(126);
    close_range(3, ~0U, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_holder_signal; /* no SA_RESTART: waitpid must return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (enter_private_world(o->dir)) _exit(125);
    pid_t pcscd = spawn_pcscd(o);
    if (pcscd < 0) {
        fprintf(stderr, "lab holder: fork pcscd: %s\n", strerror(errno));
        _exit(124);
    }
    struct scl_err e = {0};
    if (lab_pidfile_write(pidfile, pcscd, &e)) fprintf(stderr, "lab holder: %s\n", e.msg);
    fprintf(stderr, "lab holder: pcscd started as pid %ld\n", (long)pcscd);
    _exit(supervise_pcscd(pcscd));
}

pid_t lab_ns_start(const struct lab_ns_opts *o, struct scl_err *e)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return scl_errf(e, SCL_E_IO, "lab: fork: %s", strerror(errno)), -1;
    if (pid == 0) run_holder(o);
    return pid;
}

static int join_ns(pid_t holder, const char *kind, int nstype, struct scl_err *e)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/ns/%s", (long)holder, kind);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return scl_errf(e, SCL_E_IO, "%s: %s", path, strerror(errno));
    int rc = setns(fd, nstype);
    int err = errno;
    close(fd);
    if (rc) return scl_errf(e, SCL_E_IO, "setns(%s): %s", path, strerror(err));
    return SCL_OK;
}

static bool same_ns(pid_t holder, const char *kind)
{
    char a[64], b[64];
    struct stat sa, sb;
    snprintf(a, sizeof a, "/proc/%ld/ns/%s", (long)holder, kind);
    snprintf(b, sizeof b, "/proc/self/ns/%s", kind);
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
           sa.st_dev == sb.st_dev;
}

int lab_ns_join(pid_t holder, struct scl_err *e)
{
    /* A lab made without root lives in its own user namespace; its network
     * namespace only lets in processes that are root there. */
    if (!same_ns(holder, "user") && join_ns(holder, "user", CLONE_NEWUSER, e)) return e->code;
    return join_ns(holder, "net", CLONE_NEWNET, e);
}
