/*
 * trace.c - the plug-in's JSON-lines trace: one line per smart-card call and
 * per return, the codec's rendering plus time, CompletionId, IoStatus and
 * what the reader policy did.  Not for decoding (rdpesc.h does that).
 */
#include "rdp_channel.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct rc_trace {
    pthread_mutex_t lock; /* calls and returns are traced from two threads */
    int fd;
};

int rc_trace_open(const char *path, struct rc_trace **t, struct scl_err *e)
{
    *t = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return scl_errf(e, SCL_E_IO, "trace %s: %s", path, strerror(errno));
    struct rc_trace *x = calloc(1, sizeof *x);
    if (!x) {
        close(fd);
        return scl_errf(e, SCL_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&x->lock, NULL);
    x->fd = fd;
    *t = x;
    return SCL_OK;
}

void rc_trace_close(struct rc_trace *t)
{
    if (!t) return;
    close(t->fd);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static void add_time(cJSON *o)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[48];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%06ldZ", ts.tv_nsec / 1000);
    cJSON_AddStringToObject(o, "time", buf);
}

char *rc_trace_line(const char *dir, uint32_t completion_id, uint32_t ioctl,
                    const uint32_t *io_status, const struct esc_msg *m, const char *decode_err,
                    const char *policy)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    add_time(o);
    char id[16];
    snprintf(id, sizeof id, "%" PRIu32, completion_id); /* raw: see esc_trace.c's add_u32 */
    cJSON_AddRawToObject(o, "CompletionId", id);
    if (io_status) {
        char s[16];
        snprintf(s, sizeof s, "0x%08X", *io_status);
        cJSON_AddStringToObject(o, "IoStatus", s);
    }
    cJSON *body = m ? esc_trace_object(m) : NULL;
    if (body) {
        /* Move the codec's fields over, keeping its order after ours. */
        while (body->child) {
            cJSON *item = cJSON_DetachItemViaPointer(body, body->child);
            cJSON_AddItemToObject(o, item->string, item);
        }
        cJSON_Delete(body);
    } else {
        char code[16];
        snprintf(code, sizeof code, "0x%08X", ioctl);
        cJSON_AddStringToObject(o, "ioctl", esc_ioctl_name(ioctl));
        cJSON_AddStringToObject(o, "code", code);
        cJSON_AddStringToObject(o, "dir", dir);
    }
    if (decode_err) cJSON_AddStringToObject(o, "decode_error", decode_err);
    if (policy) cJSON_AddStringToObject(o, "policy", policy);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void write_line(struct rc_trace *t, char *s)
{
    if (!t || !s) {
        free(s);
        return;
    }
    size_t n = strlen(s);
    s[n] = '\n'; /* overwrite the NUL; write n+1 bytes in one append */
    pthread_mutex_lock(&t->lock);
    size_t off = 0;
    while (off < n + 1) {
        ssize_t w = write(t->fd, s + off, n + 1 - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    pthread_mutex_unlock(&t->lock);
    free(s);
}

void rc_trace_call(struct rc_trace *t, uint32_t completion_id, uint32_t ioctl,
                   const struct esc_msg *m, const char *decode_err, const char *policy)
{
    if (!t) return;
    write_line(t, rc_trace_line("call", completion_id, ioctl, NULL, m, decode_err, policy));
}

void rc_trace_return(struct rc_trace *t, uint32_t completion_id, uint32_t ioctl, uint32_t io_status,
                     const struct esc_msg *m, const char *decode_err, const char *policy)
{
    if (!t) return;
    write_line(t, rc_trace_line("return", completion_id, ioctl, &io_status, m, decode_err, policy));
}
