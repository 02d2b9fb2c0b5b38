/*
 * fileio.c - whole-file reads and crash-safe writes (temp, fsync, rename,
 * fsync dir).  Not a general I/O layer: sockets live with their protocols.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int scl_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                     struct scl_err *e)
{
    char tmp[4096];
    static unsigned seq;
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), seq++);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return scl_errf(e, SCL_E_INVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return scl_errf(e, SCL_E_IO, "%s: create: %s", tmp, strerror(errno));
    if (write_all(fd, data, len) || fsync(fd)) {
        int err = errno;
        close(fd);
        unlink(tmp);
        return scl_errf(e, SCL_E_IO, "%s: write: %s", tmp, strerror(err));
    }
    close(fd);
    if (rename(tmp, path)) {
        int err = errno;
        unlink(tmp);
        return scl_errf(e, SCL_E_IO, "%s: rename: %s", path, strerror(err));
    }
    if (fsync_dir_of(path))
        return scl_errf(e, SCL_E_IO, "%s: fsync dir: %s", path, strerror(errno));
    return SCL_OK;
}

int scl_read_file(const char *path, size_t max, uint8_t **out, size_t *len, struct scl_err *e)
{
    return scl_read_file_at(AT_FDCWD, path, max, out, len, e);
}

int scl_read_file_at(int dirfd, const char *path, size_t max, uint8_t **out, size_t *len,
                     struct scl_err *e)
{
    *out = NULL;
    *len = 0;
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return scl_errf(e, errno == ENOENT ? SCL_E_NOTFOUND : SCL_E_IO, "%s: %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return scl_errf(e, SCL_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return scl_errf(e, SCL_E_FORMAT, "%s: %lld bytes, more than the %zu allowed", path,
                        (long long)st.st_size, max);
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return scl_errf(e, SCL_E_NOMEM, "%s: out of memory", path);
    }
    size_t got = scl_read_fd(fd, buf, (size_t)st.st_size);
    close(fd);
    buf[got] = 0;
    *out = buf;
    *len = got;
    return SCL_OK;
}

size_t scl_read_fd(int fd, void *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t k = read(fd, (uint8_t *)buf + got, cap - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

int scl_proc_status(pid_t pid, const char *key, char *val, size_t cap, struct scl_err *e)
{
    char path[64], buf[8192];
    if (pid)
        snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    else
        snprintf(path, sizeof path, "/proc/self/status");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return scl_errf(e, errno == ENOENT ? SCL_E_NOTFOUND : SCL_E_IO, "%s: %s", path,
                        strerror(errno));
    size_t n = scl_read_fd(fd, buf, sizeof buf); /* /proc says size 0: read to EOF */
    close(fd);
    size_t klen = strlen(key);
    struct cur c;
    cur_init(&c, buf, n);
    while (cur_left(&c)) {
        struct cur at = c;
        const uint8_t *k = cur_bytes(&at, klen + 1);
        if (k && !memcmp(k, key, klen) && k[klen] == ':') {
            for (struct cur t = at;; at = t) {
                uint8_t ch = cur_u8(&t);
                if (!cur_ok(&t) || (ch != ' ' && ch != '\t'))
                    break;
            }
            size_t v = 0;
            for (uint8_t ch; cur_left(&at) && (ch = cur_u8(&at)) != '\n' && v + 1 < cap;)
                val[v++] = (char)ch;
            if (cap)
                val[v] = 0;
            return SCL_OK;
        }
        while (cur_left(&c) && cur_u8(&c) != '\n')
            ;
    }
    return scl_errf(e, SCL_E_NOTFOUND, "%s: no %s line", path, key);
}

int scl_mkdirs(const char *path, mode_t mode, struct scl_err *e)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return scl_errf(e, SCL_E_INVAL, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            if (mkdir(buf, mode) && errno != EEXIST)
                return scl_errf(e, SCL_E_IO, "%s: mkdir: %s", buf, strerror(errno));
            *p = saved;
            if (!saved)
                break;
        }
    }
    return SCL_OK;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int scl_hex_decode(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        if (*s == ' ' || *s == ':' || *s == '\t')
            continue;
        int v = hexval(*s);
        if (v < 0)
            return -1;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    return hi < 0 ? (int)n : -1;
}

void scl_hex_encode(const uint8_t *p, size_t n, char *out, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

uint64_t scl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
