/*
 * vpcd_link.c - vsmartcard's vpcd framing (decode a frame, answer it with the
 * card: vpcd_frame.h) and serving it over a TCP socket to the driver.
 * Not for APDU semantics (card.c) nor for choosing ports or namespaces (the lab).
 */
#include "vpcd_frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- frames, apart from the socket ---------------------------------------- */

typedef int (*vpcd_fn)(struct vc_card *card, const struct vc_vpcd_frame *f, struct wcur *reply,
                       struct scl_err *e);

/* Length and payload in one buffer, so the link can write a reply in one send. */
static int encode_reply(struct wcur *reply, const uint8_t *p, size_t n, struct scl_err *e)
{
    if (n <= 0xFFFF) {
        wcur_u16be(reply, (uint16_t)n);
        wcur_bytes(reply, p, n);
    }
    if (n > 0xFFFF || !wcur_ok(reply))
        return scl_errf(e, SCL_E_INVAL, "vpcd: reply of %zu bytes does not fit a frame", n);
    return SCL_OK;
}

static int vpcd_power_off(struct vc_card *card, const struct vc_vpcd_frame *f, struct wcur *reply,
                          struct scl_err *e)
{
    (void)f, (void)reply, (void)e;
    vc_card_reset(card); /* power loss drops the security status too */
    return SCL_OK;
}

static int vpcd_power_on(struct vc_card *card, const struct vc_vpcd_frame *f, struct wcur *reply,
                         struct scl_err *e)
{
    (void)f, (void)reply, (void)e;
    vc_card_reset(card);
    return SCL_OK;
}

static int vpcd_get_atr(struct vc_card *card, const struct vc_vpcd_frame *f, struct wcur *reply,
                        struct scl_err *e)
{
    (void)f;
    uint8_t atr[64];
    size_t n = vc_card_atr(card, atr, sizeof atr);
    return encode_reply(reply, atr, n, e);
}

static int vpcd_apdu(struct vc_card *card, const struct vc_vpcd_frame *f, struct wcur *reply,
                     struct scl_err *e)
{
    uint8_t resp[VC_RESP_MAX];
    size_t n = vc_card_apdu(card, f->apdu, f->apdu_len, resp);
    return encode_reply(reply, resp, n, e);
}

static const struct {
    enum vc_vpcd_kind code;
    const char *name;
    vpcd_fn handler;
} vpcd_table[] = {
    {VC_VPCD_CTRL_OFF, "VPCD_CTRL_OFF", vpcd_power_off},
    {VC_VPCD_CTRL_ON, "VPCD_CTRL_ON", vpcd_power_on},
    {VC_VPCD_CTRL_RESET, "VPCD_CTRL_RESET", vpcd_power_on},
    {VC_VPCD_CTRL_ATR, "VPCD_CTRL_ATR", vpcd_get_atr},
    {VC_VPCD_APDU, "APDU", vpcd_apdu},
};
#define VPCD_TABLE_LEN (sizeof vpcd_table / sizeof vpcd_table[0])

static size_t find_kind(enum vc_vpcd_kind kind)
{
    size_t i = 0;
    while (i < VPCD_TABLE_LEN && vpcd_table[i].code != kind)
        i++;
    return i;
}

const char *vc_vpcd_kind_name(enum vc_vpcd_kind kind)
{
    size_t i = find_kind(kind);
    return i < VPCD_TABLE_LEN ? vpcd_table[i].name : "UNKNOWN";
}

int vc_vpcd_frame_len(struct cur *c, uint64_t base, uint16_t *len, struct scl_err *e)
{
    uint64_t at = base + cur_off(c);
    *len = cur_u16be(c);
    if (!cur_ok(c))
        return scl_errf(e, SCL_E_TRUNCATED, "vpcd: byte %llu: frame length cut short",
                        (unsigned long long)at);
    if (*len == 0 || *len > VC_VPCD_FRAME_MAX)
        return scl_errf(e, SCL_E_FORMAT, "vpcd: byte %llu: frame length %u (allowed 1..%d)",
                        (unsigned long long)at, *len, VC_VPCD_FRAME_MAX);
    return SCL_OK;
}

int vc_vpcd_frame_decode(struct cur *c, uint64_t base, struct vc_vpcd_frame *f, struct scl_err *e)
{
    uint16_t len;
    int rc = vc_vpcd_frame_len(c, base, &len, e);
    if (rc) return rc;
    uint64_t at = base + cur_off(c);
    size_t left = cur_left(c);
    struct cur payload;
    if (!cur_sub(c, len, &payload))
        return scl_errf(e, SCL_E_TRUNCATED, "vpcd: byte %llu: frame of %u bytes, %zu left",
                        (unsigned long long)at, len, left);
    *f = (struct vc_vpcd_frame){.kind = VC_VPCD_APDU};
    if (len == 1) {
        f->kind = (enum vc_vpcd_kind)cur_u8(&payload);
        if (find_kind(f->kind) == VPCD_TABLE_LEN)
            return scl_errf(e, SCL_E_FORMAT, "vpcd: byte %llu: unknown control byte %02X",
                            (unsigned long long)at, (unsigned)f->kind);
        return SCL_OK;
    }
    f->apdu = cur_rest(&payload, &f->apdu_len);
    return SCL_OK;
}

int vc_vpcd_frame_handle(struct vc_card *card, const struct vc_vpcd_frame *f, struct wcur *reply,
                         struct scl_err *e)
{
    size_t i = find_kind(f->kind);
    if (i == VPCD_TABLE_LEN)
        return scl_errf(e, SCL_E_INVAL, "vpcd: frame kind %d not decoded here", (int)f->kind);
    return vpcd_table[i].handler(card, f, reply, e);
}

/* ---- the socket ------------------------------------------------------------ */

struct link {
    int fd;
    struct vc_card *card;
    volatile sig_atomic_t *stop;
    uint64_t offset; /* bytes read from the peer so far, for error messages */
};

static void set_quickack(int fd)
{
    /* The kernel clears QUICKACK on its own; re-arm it after every read so the
     * ACK for vpcd's first send (the 2-byte length) goes out at once. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/* Each reply goes out in ONE send (encode_reply put the length in front):
 * two sends would leave the second behind Nagle until vpcd's delayed ACK,
 * ~40 ms per APDU. */
static int send_all(struct link *l, const uint8_t *buf, size_t len, struct scl_err *e)
{
    size_t off = 0;
    while (off < len) {
        /* A signal does not cut a reply short: finish it, then stop. */
        ssize_t k = send(l->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return scl_errf(e, SCL_E_IO, "vpcd: send: %s", strerror(errno));
        off += (size_t)k;
    }
    return SCL_OK;
}

/* Wait until the socket is readable or we are told to stop.  Returns 1 when
 * readable, 0 when stopping. */
static int wait_readable(struct link *l, struct scl_err *e)
{
    for (;;) {
        if (*l->stop) return 0;
        struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
        /* The timeout only bounds how late a signal that raced the check is seen. */
        int r = poll(&pfd, 1, 250);
        if (r < 0 && errno != EINTR)
            return scl_errf(e, SCL_E_IO, "vpcd: poll: %s", strerror(errno)), -1;
        if (r > 0) return 1;
    }
}

/* Read exactly n bytes.  Returns n, 0 on a clean close before the first byte
 * (when at_boundary), or -1 with *e filled. */
static ssize_t read_exact(struct link *l, uint8_t *p, size_t n, bool at_boundary, struct scl_err *e)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(l->fd, p + got, n - got);
        if (k < 0 && errno == EINTR) {
            if (*l->stop)
                return scl_errf(e, SCL_E_STATE, "vpcd: stopped inside a frame at byte %llu",
                                (unsigned long long)(l->offset + got)),
                       -1;
            continue;
        }
        if (k < 0) return scl_errf(e, SCL_E_IO, "vpcd: read: %s", strerror(errno)), -1;
        if (k == 0) {
            if (got == 0 && at_boundary) return 0;
            return scl_errf(e, SCL_E_TRUNCATED,
                            "vpcd: peer closed inside a frame at byte %llu (%zu of %zu read)",
                            (unsigned long long)(l->offset + got), got, n),
                   -1;
        }
        got += (size_t)k;
        set_quickack(l->fd);
    }
    l->offset += n;
    return (ssize_t)n;
}

/* One frame: read, decode, answer.  Returns 1 to go on, 0 on a clean end. */
static int serve_one(struct link *l, struct scl_err *e)
{
    int r = wait_readable(l, e);
    if (r <= 0) return r;
    uint8_t frame[2 + VC_VPCD_FRAME_MAX];
    uint64_t base = l->offset;
    ssize_t k = read_exact(l, frame, 2, true, e);
    if (k <= 0) return (int)k;
    struct cur c;
    uint16_t len;
    cur_init(&c, frame, 2);
    /* Check the length before reading on: a bad one means the peer is not vpcd. */
    if (vc_vpcd_frame_len(&c, base, &len, e)) return -1;
    if (read_exact(l, frame + 2, len, false, e) < 0) return -1;
    struct vc_vpcd_frame f;
    cur_init(&c, frame, 2 + (size_t)len);
    if (vc_vpcd_frame_decode(&c, base, &f, e)) return -1;
    uint8_t reply[VC_VPCD_REPLY_MAX];
    struct wcur w;
    wcur_init_fixed(&w, reply, sizeof reply);
    if (vc_vpcd_frame_handle(l->card, &f, &w, e)) return -1;
    return send_all(l, wcur_data(&w), wcur_len(&w), e) == SCL_OK ? 1 : -1;
}

int vc_vpcd_serve(struct vc_card *card, int fd, volatile sig_atomic_t *stop, struct scl_err *e)
{
    static volatile sig_atomic_t never;
    struct link l = {.fd = fd, .card = card, .stop = stop ? stop : &never};
    set_quickack(fd);
    for (;;) {
        int r = serve_one(&l, e);
        if (r < 0) return e ? e->code : SCL_E_IO;
        if (r == 0) return SCL_OK;
    }
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int connect_once(const struct addrinfo *ai, int *err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        set_nodelay(fd);
        return fd;
    }
    *err = errno;
    close(fd);
    return -1;
}

int vc_vpcd_connect(const char *host, int port, int timeout_ms, struct scl_err *e)
{
    if (port <= 0 || port > 65535)
        return scl_errf(e, SCL_E_INVAL, "vpcd: port %d out of range", port), -1;
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai) return scl_errf(e, SCL_E_INVAL, "vpcd: host '%s': %s", host, gai_strerror(gai)), -1;
    uint64_t deadline = scl_now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
    int err = 0;
    for (;;) {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            int fd = connect_once(ai, &err);
            if (fd >= 0) {
                freeaddrinfo(res);
                return fd;
            }
        }
        /* vpcd opens its port only once pcscd has loaded the driver. */
        if (scl_now_ns() >= deadline) break;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    freeaddrinfo(res);
    return scl_errf(e, err == ECONNREFUSED ? SCL_E_TIMEOUT : SCL_E_IO,
                    "vpcd: connect %s:%d: %s (waited %d ms)", host, port, strerror(err),
                    timeout_ms),
           -1;
}
