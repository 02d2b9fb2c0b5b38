/*
 * prop_lat.c - one propagation-latency sample: a PC/SC waiter on the
 * client's pcscd (PCSCLITE_CSOCK_NAME) timestamps the moment pcscd reports
 * the card present, and inotify on the remote My store folder timestamps each
 * certificate renamed into place.  Prints CLOCK_REALTIME nanoseconds; the
 * script does the arithmetic.  Not a test and not a general event monitor.
 */
#include "common.h"

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

struct lat_state {
    const char *reader;
    SCARDCONTEXT ctx;
    DWORD known; /* reader state before the wait, read before "ready" */
    uint64_t t_present;
    LONG rv;
};

static uint64_t now_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Block until pcscd says PRESENT; pcsc-lite answers as soon as its own
 * presence poll (in the IFD handler thread) has seen the card. */
static void *wait_present(void *arg)
{
    struct lat_state *s = arg;
    SCARD_READERSTATE rs = {.szReader = s->reader, .dwCurrentState = s->known};
    for (;;) {
        s->rv = SCardGetStatusChange(s->ctx, 30000, &rs, 1);
        if (s->rv != SCARD_S_SUCCESS) return NULL;
        if (rs.dwEventState & SCARD_STATE_PRESENT) {
            s->t_present = now_real_ns();
            return NULL;
        }
        rs.dwCurrentState = rs.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
    }
}

static int read_initial(struct lat_state *s)
{
    SCARD_READERSTATE rs = {.szReader = s->reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &s->ctx);
    if (rv == SCARD_S_SUCCESS) rv = SCardGetStatusChange(s->ctx, 0, &rs, 1);
    if (rv != SCARD_S_SUCCESS)
        return fprintf(stderr, "prop_lat: %s: %s\n", s->reader, pcsc_stringify_error(rv)), -1;
    if (rs.dwEventState & SCARD_STATE_PRESENT)
        return fprintf(stderr, "prop_lat: %s already holds a card\n", s->reader), -1;
    s->known = rs.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
    return 0;
}

/* Count certificates renamed into STORE (scl_write_atomic's final rename). */
static int watch_store(int fd, int want, int timeout_ms, uint64_t *first, uint64_t *last)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int got = 0;
    uint64_t deadline = now_real_ns() + (uint64_t)timeout_ms * 1000000u;
    while (got < want) {
        uint64_t now = now_real_ns();
        if (now >= deadline) return got;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) <= 0) continue;
        ssize_t n = read(fd, buf, sizeof buf);
        uint64_t t = now_real_ns();
        for (ssize_t off = 0; n > 0 && off < n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
            if ((ev->mask & IN_MOVED_TO) && ev->len && !strstr(ev->name, ".tmp.")) {
                if (got++ == 0) *first = t;
                *last = t;
            }
            off += (ssize_t)sizeof *ev + ev->len;
        }
    }
    return got;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: prop_lat READER STORE_DIR NCERTS TIMEOUT_MS\n"
                        "  prints 'ready', then 'present=NS first=NS last=NS certs=N'\n");
        return 2;
    }
    struct lat_state s = {.reader = argv[1]};
    int want = atoi(argv[3]), timeout_ms = atoi(argv[4]);
    int fd = inotify_init1(IN_CLOEXEC);
    if (fd < 0 || inotify_add_watch(fd, argv[2], IN_MOVED_TO) < 0)
        return perror("prop_lat: inotify"), 1;
    if (read_initial(&s)) return 1;
    pthread_t th;
    if (pthread_create(&th, NULL, wait_present, &s)) return 1;
    printf("ready\n");
    fflush(stdout);
    uint64_t first = 0, last = 0;
    int got = watch_store(fd, want, timeout_ms, &first, &last);
    if (got < want) SCardCancel(s.ctx);
    pthread_join(th, NULL);
    printf("present=%llu first=%llu last=%llu certs=%d\n", (unsigned long long)s.t_present,
           (unsigned long long)first, (unsigned long long)last, got);
    SCardReleaseContext(s.ctx);
    close(fd);
    return got == want && s.t_present ? 0 : 1;
}
