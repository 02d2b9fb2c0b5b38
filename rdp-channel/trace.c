/*
 * trace.c - the plug-in's JSON-lines trace: one line per smart-card call and
 * per return, the codec's rendering plus time, CompletionId, IoStatus and
 * what the reader policy did.  Not for decoding (rdpesc.h does that).
 *
 * Lines are rendered and written by the trace's own thread, not on the IRP's
 * path: tracing an IRP copies the message (NDR-encoded, a few hundred bytes)
 * into a queue; the writer decodes, renders and appends it within
 * TRACE_BATCH_MS.  Rendering on the path cost the redirected APDU mix about
 * 10% (docs/benchmarks.md, item 4).  rc_trace_close writes what is queued.
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

#define TRACE_BATCH_MS 10 /* the writer gathers this long after a wake-up */

/* One line to come: what rc_trace_line takes, copied. */
struct trace_item {
    struct trace_item *next;
    struct timespec when;
    bool is_return, has_msg, body_absent;
    uint32_t completion_id, ioctl, io_status;
    char *decode_err, *policy;
    size_t ndr_len;
    uint8_t *ndr; /* the message, NDR-encoded (has_msg) */
};

struct rc_trace {
    int fd;
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct trace_item *head, **tail; /* FIFO: lines keep the order of the IRPs */
    bool closing;
};

static void add_time(cJSON *o, const struct timespec *ts)
{
    struct tm tm;
    gmtime_r(&ts->tv_sec, &tm);
    char buf[48];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%06ldZ", ts->tv_nsec / 1000);
    cJSON_AddStringToObject(o, "time", buf);
}

static char *render_line(const char *dir, const struct timespec *when, uint32_t completion_id,
                         uint32_t ioctl, const uint32_t *io_status, const struct esc_msg *m,
                         const char *decode_err, const char *policy)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    add_time(o, when);
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

char *rc_trace_line(const char *dir, uint32_t completion_id, uint32_t ioctl,
                    const uint32_t *io_status, const struct esc_msg *m, const char *decode_err,
                    const char *policy)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return render_line(dir, &now, completion_id, ioctl, io_status, m, decode_err, policy);
}

static void write_line(int fd, char *s)
{
    if (!s) return;
    size_t n = strlen(s);
    s[n] = '\n'; /* overwrite the NUL; write n+1 bytes in one append */
    size_t off = 0;
    while (off < n + 1) {
        ssize_t w = write(fd, s + off, n + 1 - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    free(s);
}

static void item_free(struct trace_item *it)
{
    free(it->decode_err);
    free(it->policy);
    free(it->ndr);
    free(it);
}

/* Decode the copy back and render it, on the writer thread. */
static void item_write(int fd, const struct trace_item *it)
{
    const char *dir = it->is_return ? "return" : "call";
    struct esc_msg m = {0};
    struct scl_err e;
    bool have = false;
    if (it->has_msg) {
        int rc = it->is_return ? esc_decode_return(it->ioctl, it->ndr, it->ndr_len, &m, &e)
                               : esc_decode_call(it->ioctl, it->ndr, it->ndr_len, &m, &e);
        have = rc == SCL_OK;
        m.body_absent = it->body_absent;
    }
    write_line(fd, render_line(dir, &it->when, it->completion_id, it->ioctl,
                               it->is_return ? &it->io_status : NULL, have ? &m : NULL,
                               it->decode_err, it->policy));
    esc_msg_free(&m);
}

static struct trace_item *take_all(struct rc_trace *t)
{
    struct trace_item *all = t->head;
    t->head = NULL;
    t->tail = &t->head;
    return all;
}

static void *writer_main(void *arg)
{
    struct rc_trace *t = arg;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->head && !t->closing)
            pthread_cond_wait(&t->wake, &t->mu);
        if (!t->head) break; /* closing, and all written */
        if (!t->closing) {
            /* Gather a batch: one wake-up per TRACE_BATCH_MS, not per line. */
            pthread_mutex_unlock(&t->mu);
            nanosleep(&(struct timespec){.tv_nsec = TRACE_BATCH_MS * 1000000L}, NULL);
            pthread_mutex_lock(&t->mu);
        }
        struct trace_item *it = take_all(t);
        pthread_mutex_unlock(&t->mu);
        while (it) {
            struct trace_item *next = it->next;
            item_write(t->fd, it);
            item_free(it);
            it = next;
        }
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

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
    x->fd = fd;
    x->tail = &x->head;
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->wake, NULL);
    int rc = pthread_create(&x->writer, NULL, writer_main, x);
    if (rc) {
        pthread_cond_destroy(&x->wake);
        pthread_mutex_destroy(&x->mu);
        close(fd);
        free(x);
        return scl_errf(e, SCL_E_IO, "trace %s: no writer thread: %s", path, strerror(rc));
    }
    *t = x;
    return SCL_OK;
}

void rc_trace_close(struct rc_trace *t)
{
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->closing = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->writer, NULL);
    close(t->fd);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Copy one line's facts into the queue; the writer is woken only when the
 * queue was empty, so a burst of IRPs costs one wake-up. */
static void enqueue(struct rc_trace *t, bool is_return, uint32_t completion_id, uint32_t ioctl,
                    uint32_t io_status, const struct esc_msg *m, const char *decode_err,
                    const char *policy)
{
    struct trace_item *it = calloc(1, sizeof *it);
    if (!it) return;
    clock_gettime(CLOCK_REALTIME, &it->when);
    it->is_return = is_return;
    it->completion_id = completion_id;
    it->ioctl = ioctl;
    it->io_status = io_status;
    it->decode_err = dup_or_null(decode_err);
    it->policy = dup_or_null(policy);
    if (m) {
        struct scl_err e;
        int rc = is_return ? esc_encode_return(m, &it->ndr, &it->ndr_len, &e)
                           : esc_encode_call(m, &it->ndr, &it->ndr_len, &e);
        it->has_msg = rc == SCL_OK;
        it->body_absent = m->body_absent;
        if (rc && !it->decode_err) it->decode_err = dup_or_null(e.msg); /* say why it is bare */
    }
    pthread_mutex_lock(&t->mu);
    bool was_empty = !t->head;
    *t->tail = it;
    t->tail = &it->next;
    if (was_empty) pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->mu);
}

void rc_trace_call(struct rc_trace *t, uint32_t completion_id, uint32_t ioctl,
                   const struct esc_msg *m, const char *decode_err, const char *policy)
{
    if (!t) return;
    enqueue(t, false, completion_id, ioctl, 0, m, decode_err, policy);
}

void rc_trace_return(struct rc_trace *t, uint32_t completion_id, uint32_t ioctl, uint32_t io_status,
                     const struct esc_msg *m, const char *decode_err, const char *policy)
{
    if (!t) return;
    enqueue(t, true, completion_id, ioctl, io_status, m, decode_err, policy);
}
