/*
 * lab_proc.c - pid files for the processes a lab starts, and stopping them by
 * that pid (never by name).  A pid file holds "PID STARTTIME" so a recycled pid
 * is never mistaken for ours.  Not for starting processes.
 */
#include "lab_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int lab_path(const char *dir, const char *name, char *out, size_t cap, struct scl_err *e)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return scl_errf(e, SCL_E_INVAL, "%s/%s: path too long", dir, name);
    return SCL_OK;
}

int lab_abs_dir(const char *dir, char *out, size_t cap, struct scl_err *e)
{
    char buf[PATH_MAX];
    if (!realpath(dir, buf))
        return scl_errf(e, errno == ENOENT ? SCL_E_NOTFOUND : SCL_E_IO, "%s: %s", dir,
                        strerror(errno));
    if (strlen(buf) >= cap) return scl_errf(e, SCL_E_INVAL, "%s: path too long", buf);
    strcpy(out, buf);
    return SCL_OK;
}

/* Unsigned decimal through the cursor; fails on no digits or overflow. */
static unsigned long long cur_decimal(struct cur *c)
{
    unsigned long long v = 0;
    size_t digits = 0;
    while (cur_left(c) && c->p[c->off] >= '0' && c->p[c->off] <= '9') {
        unsigned d = (unsigned)(cur_u8(c) - '0');
        if (v > (ULLONG_MAX - d) / 10) return cur_fail(c), 0;
        v = v * 10 + d;
        digits++;
    }
    if (!digits) cur_fail(c);
    return v;
}

/* Field 22 (starttime) and field 3 (state) of /proc/PID/stat.  The comm field
 * may hold spaces and parentheses, so fields are counted after the LAST ')'. */
static int read_proc_stat(pid_t pid, unsigned long long *start, char *state, struct scl_err *e)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    /* /proc files report size 0, so scl_read_file would read nothing. */
    uint8_t buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return scl_errf(e, SCL_E_NOTFOUND, "%s: %s", path, strerror(errno));
    ssize_t got = read(fd, buf, sizeof buf);
    close(fd);
    if (got <= 0) return scl_errf(e, SCL_E_IO, "%s: empty", path);
    size_t len = (size_t)got;
    size_t rparen = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == ')') rparen = i + 1;
    struct cur c;
    cur_init(&c, buf, len);
    cur_skip(&c, rparen);
    cur_skip(&c, 1); /* space */
    *state = (char)cur_u8(&c);
    /* Fields 4..21 come before starttime. */
    for (int field = 4; field <= 22 && cur_ok(&c); field++) {
        cur_skip(&c, 1);
        while (cur_left(&c) && c.p[c.off] != ' ' && field < 22)
            cur_skip(&c, 1);
        if (field == 22) *start = cur_decimal(&c);
    }
    bool ok = cur_ok(&c) && rparen;
    if (!ok) return scl_errf(e, SCL_E_FORMAT, "%s: no starttime field", path);
    return SCL_OK;
}

int lab_pid_of(pid_t pid, struct lab_pid *out, struct scl_err *e)
{
    char state;
    out->pid = pid;
    return read_proc_stat(pid, &out->start, &state, e);
}

int lab_pidfile_write(const char *path, pid_t pid, struct scl_err *e)
{
    struct lab_pid p;
    if (lab_pid_of(pid, &p, e)) return e->code;
    char line[64];
    int n = snprintf(line, sizeof line, "%ld %llu\n", (long)p.pid, p.start);
    return scl_write_atomic(path, line, (size_t)n, 0600, e);
}

int lab_pidfile_read(const char *path, struct lab_pid *out, struct scl_err *e)
{
    uint8_t *buf;
    size_t len;
    int rc = scl_read_file(path, 256, &buf, &len, e);
    if (rc) return rc;
    struct cur c;
    cur_init(&c, buf, len);
    unsigned long long pid = cur_decimal(&c);
    if (cur_u8(&c) != ' ') cur_fail(&c);
    out->start = cur_decimal(&c);
    bool ok = cur_ok(&c) && pid > 1 && pid < INT_MAX;
    free(buf);
    if (!ok)
        return scl_errf(e, SCL_E_FORMAT, "%s: byte %zu: expected 'PID STARTTIME'", path,
                        cur_off(&c));
    out->pid = (pid_t)pid;
    return SCL_OK;
}

bool lab_pid_alive(const struct lab_pid *p)
{
    unsigned long long start = 0;
    char state = 0;
    if (p->pid <= 1 || read_proc_stat(p->pid, &start, &state, NULL)) return false;
    return start == p->start && state != 'Z' && state != 'X';
}

bool lab_pidfile_alive(const char *dir, const char *name, struct lab_pid *out)
{
    char path[4096];
    struct lab_pid p;
    if (lab_path(dir, name, path, sizeof path, NULL) || lab_pidfile_read(path, &p, NULL))
        return false;
    if (out) *out = p;
    return lab_pid_alive(&p);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* Wait for p to end; reaps it when it happens to be our child. */
static bool wait_gone(const struct lab_pid *p, int ms)
{
    for (int waited = 0;; waited += 10) {
        waitpid(p->pid, NULL, WNOHANG);
        if (!lab_pid_alive(p)) return true;
        if (waited >= ms) return false;
        sleep_ms(10);
    }
}

int lab_pidfile_stop(const char *dir, const char *name, int grace_ms, struct scl_err *e)
{
    char path[4096];
    struct lab_pid p;
    if (lab_path(dir, name, path, sizeof path, e)) return e->code;
    int rc = lab_pidfile_read(path, &p, e);
    if (rc == SCL_E_NOTFOUND) return SCL_OK;
    if (rc == SCL_OK && lab_pid_alive(&p)) {
        kill(p.pid, SIGTERM);
        if (!wait_gone(&p, grace_ms)) {
            kill(p.pid, SIGKILL);
            if (!wait_gone(&p, 2000))
                return scl_errf(e, SCL_E_STATE, "%s: pid %ld survived SIGKILL", path, (long)p.pid);
        }
    }
    /* A garbled pid file names nothing we can stop; drop it like a stale one. */
    if (unlink(path) && errno != ENOENT)
        return scl_errf(e, SCL_E_IO, "%s: unlink: %s", path, strerror(errno));
    return SCL_OK;
}

void lab_child_stop(pid_t pid, int grace_ms)
{
    kill(pid, SIGTERM);
    for (int ms = 0; waitpid(pid, NULL, WNOHANG) == 0; ms += 10) {
        if (ms == grace_ms) kill(pid, SIGKILL);
        sleep_ms(10);
    }
}

void lab_log_tail(const char *path, char *out, size_t cap)
{
    out[0] = 0;
    uint8_t *buf;
    size_t len;
    if (scl_read_file(path, 1 << 24, &buf, &len, NULL)) return;
    size_t end = len;
    while (end && (buf[end - 1] == '\n' || buf[end - 1] == '\r' || buf[end - 1] == ' '))
        end--;
    size_t begin = end;
    while (begin && buf[begin - 1] != '\n')
        begin--;
    size_t n = end - begin < cap - 1 ? end - begin : cap - 1;
    memcpy(out, buf + begin, n);
    out[n] = 0;
    free(buf);
}
