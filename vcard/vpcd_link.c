/*
 * vpcd_link.c - vsmartcard's vpcd framing over a TCP socket: connect to the
 * driver, then answer its control bytes and APDUs with the card.
 * Not for APDU semantics (card.c) nor for choosing ports or namespaces (the lab).
 */
#include "vcard.h"

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

/* A frame longer than this is not an APDU our card could take (short APDUs
 * are at most 261 bytes; OpenSC chains longer ones), so the peer is not vpcd. */
#define VPCD_FRAME_MAX 2048

/* vpcd's control bytes (a 1-byte payload); names as in vsmartcard's vpcd.h. */
enum { VPCD_CTRL_OFF = 0x00, VPCD_CTRL_ON = 0x01, VPCD_CTRL_RESET = 0x02, VPCD_CTRL_ATR = 0x04 };

struct link {
    int fd;
    struct vc_card *card;
    volatile sig_atomic_t *stop;
    uint64_t offset; /* bytes read from the peer so far, for error messages */
};

typedef int (*ctrl_fn)(struct link *l, struct scl_err *e);

static int send_frame(struct link *l, const uint8_t *p, size_t n, struct scl_err *e);

static int ctrl_power_off(struct link *l, struct scl_err *e)
{
    (void)e;
    vc_card_reset(l->card); /* power loss drops the security status too */
    return SCL_OK;
}

static int ctrl_power_on(struct link *l, struct scl_err *e)
{
    (void)e;
    vc_card_reset(l->card);
    return SCL_OK;
}

static int ctrl_get_atr(struct link *l, struct scl_err *e)
{
    uint8_t atr[64];
    size_t n = vc_card_atr(l->card, atr, sizeof atr);
    return send_frame(l, atr, n, e);
}

static const struct {
    uint8_t code;
    const char *name;
    ctrl_fn handler;
} vpcd_ctrl_table[] = {
    {VPCD_CTRL_OFF, "VPCD_CTRL_OFF", ctrl_power_off},
    {VPCD_CTRL_ON, "VPCD_CTRL_ON", ctrl_power_on},
    {VPCD_CTRL_RESET, "VPCD_CTRL_RESET", ctrl_power_on},
    {VPCD_CTRL_ATR, "VPCD_CTRL_ATR", ctrl_get_atr},
};

static void set_quickack(int fd)
{
    /* The kernel clears QUICKACK on its own; re-arm it after every read so the
     * ACK for vpcd's first send (the 2-byte length) goes out at once. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/* Reply with the length and the payload in ONE send: two sends would leave
 * the second behind Nagle until vpcd's delayed ACK, ~40 ms per APDU. */
static int send_frame(struct link *l, const uint8_t *p, size_t n, struct scl_err *e)
{
    uint8_t buf[2 + VC_RESP_MAX + 64];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    wcur_u16be(&w, (uint16_t)n);
    wcur_bytes(&w, p, n);
    if (!wcur_ok(&w) || n > 0xFFFF)
        return scl_errf(e, SCL_E_INVAL, "vpcd: reply of %zu bytes does not fit a frame", n);
    size_t off = 0, len = wcur_len(&w);
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

static int handle_ctrl(struct link *l, uint8_t code, struct scl_err *e)
{
    for (size_t i = 0; i < sizeof vpcd_ctrl_table / sizeof vpcd_ctrl_table[0]; i++)
        if (vpcd_ctrl_table[i].code == code) return vpcd_ctrl_table[i].handler(l, e);
    return scl_errf(e, SCL_E_FORMAT, "vpcd: byte %llu: unknown control byte %02X",
                    (unsigned long long)l->offset - 1, code);
}

static int handle_apdu(struct link *l, const uint8_t *cmd, size_t n, struct scl_err *e)
{
    uint8_t resp[VC_RESP_MAX];
    size_t rn = vc_card_apdu(l->card, cmd, n, resp);
    return send_frame(l, resp, rn, e);
}

/* One frame: read, check, dispatch.  Returns 1 to go on, 0 on a clean end. */
static int serve_one(struct link *l, struct scl_err *e)
{
    int r = wait_readable(l, e);
    if (r <= 0) return r;
    uint8_t hdr[2], payload[VPCD_FRAME_MAX];
    ssize_t k = read_exact(l, hdr, sizeof hdr, true, e);
    if (k <= 0) return (int)k;
    struct cur c;
    cur_init(&c, hdr, sizeof hdr);
    uint16_t len = cur_u16be(&c);
    if (!cur_ok(&c) || len == 0 || len > VPCD_FRAME_MAX)
        return scl_errf(e, SCL_E_FORMAT, "vpcd: byte %llu: frame length %u (allowed 1..%d)",
                        (unsigned long long)l->offset - 2, len, VPCD_FRAME_MAX),
               -1;
    if (read_exact(l, payload, len, false, e) < 0) return -1;
    cur_init(&c, payload, len);
    if (len == 1) return handle_ctrl(l, cur_u8(&c), e) == SCL_OK ? 1 : -1;
    size_t n;
    const uint8_t *apdu = cur_rest(&c, &n);
    return handle_apdu(l, apdu, n, e) == SCL_OK ? 1 : -1;
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
