/*
 * fuzz_pcsock_wire.c - feeds bytes to pcsc-lite's request framing (header,
 * fixed body, send buffer, as pcsock reads them): every request that decodes
 * must re-encode to the bytes it came from.  Then the same bytes go to a
 * live endpoint (fake backend) as one client's stream; the endpoint must
 * close or answer, and still serve a fresh client afterwards (handle fields
 * of 1 in the input stand for a context and card opened just before).
 */
#include "pcsock.h"
#include "pcsock_int.h"
#include "pcsock_wire.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- framing ---------------------------------------------------------- */

static void check_framing(const uint8_t *data, size_t size)
{
    struct cur c;
    cur_init(&c, data, size);
    for (;;) {
        size_t start = cur_off(&c);
        struct pcsock_request r;
        if (pcsock_wire_next_request(&c, &r, NULL) != SCL_OK) break;
        size_t used = cur_off(&c) - start;
        static uint8_t again[8 + 512 + PCSOCK_MAX_BUFFER_EXTENDED];
        struct wcur w;
        wcur_init_fixed(&w, again, sizeof again);
        pcsock_wire_encode_header(&w, r.cmd->command, (uint32_t)r.cmd->size);
        pcsock_wire_encode_body(&w, r.cmd, &r.body);
        wcur_bytes(&w, r.extra, r.extra_len);
        if (!wcur_ok(&w) || wcur_len(&w) != used) __builtin_trap();
        /* Decoding terminates szReader; everything else must be the same bytes. */
        if (r.cmd->command == PCSOCK_SCARD_CONNECT) again[8 + 4 + 127] = data[start + 8 + 4 + 127];
        if (memcmp(again, data + start, used)) __builtin_trap();
    }
    struct pcsock_reader_state s;
    cur_init(&c, data, size);
    while (pcsock_wire_decode_reader_state(&c, &s, NULL) == SCL_OK)
        if (s.readerName[sizeof s.readerName - 1] || s.cardAtrLength > PCSOCK_ATR_MAX)
            __builtin_trap();
}

/* ---- a live endpoint with a backend that says yes ---------------------------- */

static int32_t fk_connect(void *be, const char *r, uint32_t s, uint32_t p, uint64_t *card,
                          uint32_t *proto)
{
    static uint64_t n;
    (void)be, (void)r, (void)s, (void)p;
    *card = ++n;
    *proto = 2;
    return 0;
}
static int32_t fk_reconnect(void *be, uint64_t c, uint32_t s, uint32_t p, uint32_t i, uint32_t *o)
{
    return (void)be, (void)c, (void)s, (void)p, (void)i, *o = 2, 0;
}
static int32_t fk_disconnect(void *be, uint64_t c, uint32_t d)
{
    return (void)be, (void)c, (void)d, 0;
}
static int32_t fk_begin(void *be, uint64_t c)
{
    return (void)be, (void)c, 0;
}
static int32_t fk_end(void *be, uint64_t c, uint32_t d)
{
    return (void)be, (void)c, (void)d, 0;
}
static int32_t fk_status(void *be, uint64_t c, char *r, size_t cap, uint32_t *st, uint32_t *pr,
                         uint8_t *atr, uint32_t *n)
{
    (void)be, (void)c, (void)r, (void)cap, (void)atr;
    *st = *pr = 0;
    *n = 0;
    return 0;
}
static int32_t fk_transmit(void *be, uint64_t c, uint32_t sp, const uint8_t *in, uint32_t n,
                           uint8_t *out, uint32_t *on, uint32_t *rp)
{
    (void)be, (void)c, (void)sp, (void)rp;
    if (*on < n) return (int32_t)0x80100008;
    memcpy(out, in, n);
    *on = n;
    return 0;
}
static int32_t fk_control(void *be, uint64_t c, uint32_t code, const uint8_t *in, uint32_t n,
                          uint8_t *out, uint32_t cap, uint32_t *got)
{
    (void)be, (void)c, (void)code;
    *got = n < cap ? n : cap;
    memcpy(out, in, *got);
    return 0;
}
static int32_t fk_get_attrib(void *be, uint64_t c, uint32_t id, uint8_t *a, uint32_t *n)
{
    (void)be, (void)c, (void)id;
    if (*n) a[0] = 0x3B, *n = 1;
    return 0;
}
static int32_t fk_set_attrib(void *be, uint64_t c, uint32_t id, const uint8_t *a, uint32_t n)
{
    return (void)be, (void)c, (void)id, (void)a, (void)n, 0;
}
/* The host's way: Transmit answered through done (here at once, on this
 * thread, which the contract allows). */
static int32_t fk_transmit_async(void *be, uint64_t c, uint32_t sp, const uint8_t *in, uint32_t n,
                                 uint32_t cap, pcsock_transmit_done done, void *ctx)
{
    uint8_t *out = malloc(cap ? cap : 1);
    if (!out) return (int32_t)0x80100006; /* SCARD_E_NO_MEMORY */
    uint32_t on = cap, rp = sp;
    int32_t rv = fk_transmit(be, c, sp, in, n, out, &on, &rp);
    done(ctx, rv, out, on, rp);
    free(out);
    return 0;
}
static const struct pcsock_ops ops = {fk_connect,    fk_reconnect,  fk_disconnect,    fk_begin,
                                      fk_end,        fk_status,     fk_transmit,      fk_control,
                                      fk_get_attrib, fk_set_attrib, fk_transmit_async};

static char sock_path[108];
static struct pcsock *ps;

static void endpoint_start(void)
{
    if (ps) return;
    char dir[] = "/tmp/fuzz_pcsock.XXXXXX";
    if (!mkdtemp(dir)) abort();
    snprintf(sock_path, sizeof sock_path, "%s/pcscd.comm", dir);
    struct scl_err e;
    if (pcsock_start(sock_path, &ops, NULL, getuid(), &ps, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        abort();
    }
    struct pcsock_reader r = {
        .name = "fuzz reader", .present = true, .atr = {0x3B, 0}, .atr_len = 2};
    pcsock_set_readers(ps, &r, 1);
}

static int endpoint_open(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, sock_path, sizeof sa.sun_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) abort();
    /* A reply that never comes is a hang, the one finding a timeout shows. */
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* libFuzzer's -timeout alarm (SIGALRM every timeout/2 + 1 s, installed
 * without SA_RESTART) interrupts a blocking recv or send: EINTR, or a short
 * count with MSG_WAITALL.  Both harness stops seen in the campaigns were
 * that (one each 31 s at -timeout=60), not the endpoint; so every transfer
 * here goes to the end. */
static ssize_t recv_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (uint8_t *)buf + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return got ? (ssize_t)got : r;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static bool send_full(int fd, const void *buf, size_t n)
{
    size_t put = 0;
    while (put < n) {
        ssize_t r = send(fd, (const uint8_t *)buf + put, n - put, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        put += (size_t)r;
    }
    return true;
}

/* A request/reply pair on fd, for the handshake below. */
static union pcsock_body call(int fd, uint32_t command, union pcsock_body b)
{
    const struct pcsock_wire_cmd *cmd = pcsock_wire_find(command);
    uint8_t buf[512];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    pcsock_wire_encode_header(&w, command, (uint32_t)cmd->size);
    pcsock_wire_encode_body(&w, cmd, &b);
    send_full(fd, buf, wcur_len(&w));
    ssize_t got = recv_full(fd, buf, cmd->size);
    if (got != (ssize_t)cmd->size) {
        fprintf(stderr, "fuzz_pcsock_wire: handshake %s: reply of %zd of %zu bytes (%s)\n",
                cmd->name, got, cmd->size, got < 0 ? strerror(errno) : "peer closed");
        __builtin_trap();
    }
    struct cur c;
    cur_init(&c, buf, cmd->size);
    pcsock_wire_decode_body(&c, cmd, &b, NULL);
    return b;
}

/* Handles are random, so the input cannot guess them: a context and a card
 * are opened first, and handle fields of 1 in the input stand for them. */
static void patch_handles(struct pcsock_request *r, uint32_t hContext, int32_t hCard)
{
    union pcsock_body *b = &r->body;
    switch (r->cmd->command) {
    case PCSOCK_SCARD_RELEASE_CONTEXT:
        if (b->release.hContext == 1) b->release.hContext = hContext;
        break;
    case PCSOCK_SCARD_CONNECT:
        if (b->connect.hContext == 1) b->connect.hContext = hContext;
        break;
    case PCSOCK_SCARD_CANCEL:
        if (b->cancel.hContext == 1) b->cancel.hContext = (int32_t)hContext;
        break;
    case PCSOCK_SCARD_RECONNECT:
        if (b->reconnect.hCard == 1) b->reconnect.hCard = hCard;
        break;
    case PCSOCK_SCARD_DISCONNECT:
        if (b->disconnect.hCard == 1) b->disconnect.hCard = hCard;
        break;
    case PCSOCK_SCARD_BEGIN_TRANSACTION:
        if (b->begin.hCard == 1) b->begin.hCard = hCard;
        break;
    case PCSOCK_SCARD_END_TRANSACTION:
        if (b->end.hCard == 1) b->end.hCard = hCard;
        break;
    case PCSOCK_SCARD_TRANSMIT:
        if (b->transmit.hCard == 1) b->transmit.hCard = hCard;
        break;
    case PCSOCK_SCARD_CONTROL:
        if (b->control.hCard == 1) b->control.hCard = hCard;
        break;
    case PCSOCK_SCARD_STATUS:
        if (b->status.hCard == 1) b->status.hCard = hCard;
        break;
    case PCSOCK_SCARD_GET_ATTRIB:
    case PCSOCK_SCARD_SET_ATTRIB:
        if (b->getset.hCard == 1) b->getset.hCard = hCard;
        break;
    }
}

/* Wait until the endpoint has let go of every client.  A client thread still
 * holding its buffers when the input ends counts as more mallocs than frees,
 * and libFuzzer then runs a full leak check after the input (most of the
 * time this target used to spend); a thread that never lets go is a hang. */
static void endpoint_wait_idle(void)
{
    pthread_mutex_lock(&ps->mu);
    while (ps->nclients)
        pthread_cond_wait(&ps->left, &ps->mu);
    pthread_mutex_unlock(&ps->mu);
}

/* Send the stream (known handles patched in), say we are done, read until
 * the endpoint closes. */
static void feed_endpoint(const uint8_t *data, size_t size)
{
    int fd = endpoint_open();
    union pcsock_body b = {.version = {4, 4, 0}};
    call(fd, PCSOCK_CMD_VERSION, b);
    b = (union pcsock_body){.establish = {2, 0, 0}};
    uint32_t hContext = call(fd, PCSOCK_SCARD_ESTABLISH_CONTEXT, b).establish.hContext;
    b = (union pcsock_body){.connect = {.hContext = hContext,
                                        .szReader = "fuzz reader",
                                        .dwShareMode = 2,
                                        .dwPreferredProtocols = 3}};
    int32_t hCard = call(fd, PCSOCK_SCARD_CONNECT, b).connect.hCard;

    static uint8_t out[8 + 512 + PCSOCK_MAX_BUFFER_EXTENDED];
    struct cur c;
    cur_init(&c, data, size);
    for (;;) {
        size_t start = cur_off(&c);
        struct pcsock_request r;
        if (pcsock_wire_next_request(&c, &r, NULL) != SCL_OK) {
            send_full(fd, data + start, size - start); /* the rest as it is */
            break;
        }
        patch_handles(&r, hContext, hCard);
        struct wcur w;
        wcur_init_fixed(&w, out, sizeof out);
        pcsock_wire_encode_header(&w, r.cmd->command, (uint32_t)r.cmd->size);
        pcsock_wire_encode_body(&w, r.cmd, &r.body);
        wcur_bytes(&w, r.extra, r.extra_len);
        if (!send_full(fd, out, wcur_len(&w))) break;
    }
    shutdown(fd, SHUT_WR);
    uint8_t buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0 || (n < 0 && errno == EINTR))
        ;
    if (n < 0 && errno != ECONNRESET) __builtin_trap(); /* neither answered nor closed */
    close(fd);
    endpoint_wait_idle();
    /* A fresh client is still served. */
    fd = endpoint_open();
    uint8_t h[8] = {0, 0, 0, 0, PCSOCK_CMD_GET_READERS_STATE, 0, 0, 0};
    send_full(fd, h, sizeof h);
    static uint8_t list[PCSOCK_READER_LIST_SIZE];
    if (recv_full(fd, list, sizeof list) != sizeof list) __builtin_trap();
    if (strcmp((const char *)list, "fuzz reader")) __builtin_trap();
    close(fd);
    endpoint_wait_idle();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_framing(data, size);
    endpoint_start();
    feed_endpoint(data, size);
    return 0;
}
