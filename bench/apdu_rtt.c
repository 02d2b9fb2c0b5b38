/*
 * apdu_rtt.c - time PC/SC round trips (SCardTransmit -> pcscd or a session's
 * redirected socket -> ... -> card -> back) and print the median and spread
 * in microseconds.  Modes: one small APDU (default), the PIV mix (--mix:
 * SELECT, paged GET DATA, VERIFY, chained GENERAL AUTHENTICATE) and the
 * certprop-style read of CHUID + four certificates (--certread).  With
 * --toggle-pid, a SIGUSR1 to that client before every operation pauses or
 * resumes its trace, so traced and paused operations alternate one by one
 * and the machine's noise falls on both alike; two lines are printed.
 * Not a test: it asserts nothing beyond "the card answered 90 00".
 */
#include "common.h"

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum rtt_mode { MODE_ONE, MODE_MIX, MODE_CERTREAD };

struct rtt_opts {
    const char *reader, *label, *apdu_hex;
    int n, warmup, wait_ms;
    enum rtt_mode mode;
    pid_t toggle_pid; /* 0: no toggling */
};

struct rtt_link {
    SCARDHANDLE h;
    const SCARD_IO_REQUEST *pci;
    int apdus; /* SCardTransmit calls made, for the per-op count */
};

static const uint8_t piv_select[] = {0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03,
                                     0x08, 0x00, 0x00, 0x10, 0x00, 0x00};
/* CHUID, then the containers of 9A, 9C, 9D, 9E: what certprop reads. */
static const uint32_t certread_tags[] = {0x5FC102, 0x5FC105, 0x5FC10A, 0x5FC10B, 0x5FC101};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *sorted, int n, double p)
{
    int i = (int)(p * (n - 1) + 0.5);
    return (double)sorted[i] / 1000.0;
}

static int parse_opts(int argc, char **argv, struct rtt_opts *o)
{
    for (int i = 1; i < argc; i++) {
        bool v = i + 1 < argc;
        if (!strcmp(argv[i], "-n") && v)
            o->n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && v)
            o->warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reader") && v)
            o->reader = argv[++i];
        else if (!strcmp(argv[i], "--label") && v)
            o->label = argv[++i];
        else if (!strcmp(argv[i], "--apdu") && v)
            o->apdu_hex = argv[++i];
        else if (!strcmp(argv[i], "--wait-ms") && v)
            o->wait_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--toggle-pid") && v)
            o->toggle_pid = (pid_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mix"))
            o->mode = MODE_MIX;
        else if (!strcmp(argv[i], "--certread"))
            o->mode = MODE_CERTREAD;
        else {
            fprintf(stderr, "usage: apdu_rtt [-n N] [--warmup N] [--reader NAME] [--apdu HEX] "
                            "[--mix | --certread] [--wait-ms MS] [--label TEXT] [--toggle-pid PID]\n"
                            "  PCSCLITE_CSOCK_NAME selects the lab or session socket\n");
            return -1;
        }
    }
    return o->n > 0 ? 0 : -1;
}

/* A card that was just started needs a moment before pcscd reports it. */
static LONG connect_card(SCARDCONTEXT ctx, const struct rtt_opts *o, SCARDHANDLE *h, DWORD *proto)
{
    LONG rv;
    uint64_t deadline = scl_now_ns() + (uint64_t)o->wait_ms * 1000000u;
    for (;;) {
        rv = SCardConnect(ctx, o->reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                          h, proto);
        if (rv == SCARD_S_SUCCESS || scl_now_ns() >= deadline) return rv;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static int xmit_raw(struct rtt_link *l, const uint8_t *apdu, size_t alen, uint8_t *resp,
                    DWORD *rlen)
{
    l->apdus++;
    LONG rv = SCardTransmit(l->h, l->pci, apdu, (DWORD)alen, NULL, resp, rlen);
    if (rv != SCARD_S_SUCCESS)
        return fprintf(stderr, "apdu_rtt: SCardTransmit: %s\n", pcsc_stringify_error(rv)), -1;
    if (*rlen < 2) return fprintf(stderr, "apdu_rtt: answer shorter than a status word\n"), -1;
    return 0;
}

/* Send one command and follow 61 xx with GET RESPONSE, as certprop does;
 * the whole answer must end 90 00.  Returns the data length, or -1. */
static long xmit_paged(struct rtt_link *l, const uint8_t *apdu, size_t alen)
{
    uint8_t resp[258];
    uint8_t get_response[5] = {0x00, 0xC0, 0x00, 0x00, 0x00};
    long total = 0;
    for (;;) {
        DWORD rlen = sizeof resp;
        if (xmit_raw(l, apdu, alen, resp, &rlen)) return -1;
        uint8_t sw1 = resp[rlen - 2], sw2 = resp[rlen - 1];
        total += (long)rlen - 2;
        if (sw1 == 0x90 && sw2 == 0x00) return total;
        if (sw1 != 0x61) return fprintf(stderr, "apdu_rtt: card answered %02X %02X\n", sw1, sw2), -1;
        get_response[4] = sw2;
        apdu = get_response;
        alen = sizeof get_response;
    }
}

/* 00 CB 3F FF Lc 5C 03 <tag> 00 */
static long get_data(struct rtt_link *l, uint32_t tag)
{
    uint8_t buf[16], tagb[3] = {(uint8_t)(tag >> 16), (uint8_t)(tag >> 8), (uint8_t)tag};
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    wcur_bytes(&w, "\x00\xCB\x3F\xFF\x05", 5);
    wcur_tlv(&w, 0x5C, tagb, sizeof tagb);
    wcur_u8(&w, 0x00);
    return wcur_ok(&w) ? xmit_paged(l, wcur_data(&w), wcur_len(&w)) : -1;
}

/* VERIFY the default PIN (123456, FF-padded), then sign one RSA-2048 block
 * with key 9A: 7C { 82 00, 81 <256 bytes> } is 266 bytes, so two chained
 * links (CLA 10), and the 264-byte answer comes back paged. */
static int sign_9a(struct rtt_link *l)
{
    static const uint8_t verify[] = {0x00, 0x20, 0x00, 0x80, 0x08, '1',  '2',
                                     '3',  '4',  '5',  '6',  0xFF, 0xFF};
    if (xmit_paged(l, verify, sizeof verify) < 0) return -1;
    uint8_t block[256], tmpl[300], apdu[270];
    memset(block, 0xFF, sizeof block);
    block[0] = 0x00, block[1] = 0x01, block[200] = 0x00;
    struct wcur t;
    wcur_init_fixed(&t, tmpl, sizeof tmpl);
    size_t h = wcur_tlv_begin(&t, 0x7C);
    wcur_tlv(&t, 0x82, NULL, 0);
    wcur_tlv(&t, 0x81, block, sizeof block);
    wcur_tlv_end(&t, h);
    if (!wcur_ok(&t)) return -1;
    size_t len = wcur_len(&t), off = 0;
    while (off < len) {
        size_t part = len - off > 255 ? 255 : len - off;
        bool last = off + part == len;
        struct wcur w;
        wcur_init_fixed(&w, apdu, sizeof apdu);
        wcur_u8(&w, last ? 0x00 : 0x10);
        wcur_bytes(&w, "\x87\x07\x9A", 3);
        wcur_u8(&w, (uint8_t)part);
        wcur_bytes(&w, tmpl + off, part);
        if (last) wcur_u8(&w, 0x00);
        if (!wcur_ok(&w) || xmit_paged(l, apdu, wcur_len(&w)) < 0) return -1;
        off += part;
    }
    return 0;
}

static int op_mix(struct rtt_link *l)
{
    if (xmit_paged(l, piv_select, sizeof piv_select) < 0) return -1;
    if (get_data(l, 0x5FC105) < 0) return -1;
    return sign_9a(l);
}

static int op_certread(struct rtt_link *l)
{
    LONG rv = SCardBeginTransaction(l->h);
    if (rv != SCARD_S_SUCCESS)
        return fprintf(stderr, "apdu_rtt: BeginTransaction: %s\n", pcsc_stringify_error(rv)), -1;
    int bad = xmit_paged(l, piv_select, sizeof piv_select) < 0;
    for (size_t i = 0; !bad && i < sizeof certread_tags / sizeof *certread_tags; i++)
        bad = get_data(l, certread_tags[i]) < 0;
    SCardEndTransaction(l->h, SCARD_LEAVE_CARD);
    return bad ? -1 : 0;
}

static int op_one(struct rtt_link *l, const uint8_t *apdu, size_t alen)
{
    uint8_t resp[300];
    DWORD rlen = sizeof resp;
    return xmit_raw(l, apdu, alen, resp, &rlen);
}

/* Is signal sig pending for the whole of process pid (ShdPnd, a hex mask,
 * in its /proc status)?  -1 when that cannot be read. */
static int signal_pending(pid_t pid, int sig)
{
    char v[32], *end;
    if (scl_proc_status(pid, "ShdPnd", v, sizeof v, NULL)) return -1;
    unsigned long long mask = strtoull(v, &end, 16);
    if (end == v || *end) return -1;
    return (int)(mask >> (sig - 1) & 1);
}

/* SIGUSR1 to the client, and wait (up to 1 s) until a thread of it has
 * taken the signal, so the next operation runs in the new trace state. */
static int toggle_trace(pid_t pid)
{
    if (kill(pid, SIGUSR1)) return fprintf(stderr, "apdu_rtt: kill %d: %s\n", (int)pid, strerror(errno)), -1;
    for (int i = 0; i < 20000; i++) {
        int p = signal_pending(pid, SIGUSR1);
        if (p == 0) return 0;
        if (p < 0) break;
        nanosleep(&(struct timespec){.tv_nsec = 50000}, NULL);
    }
    return fprintf(stderr, "apdu_rtt: client %d did not take SIGUSR1\n", (int)pid), -1;
}

/* samples[i]: operation i.  With toggle_pid, odd i ran with the client's
 * trace as it was at the start, even i with it toggled; the trace is left
 * as it was found. */
static int measure(struct rtt_link *l, const struct rtt_opts *o, uint64_t *samples)
{
    uint8_t apdu[64];
    int alen = scl_hex_decode(o->apdu_hex, apdu, sizeof apdu);
    if (alen < 4) return fprintf(stderr, "apdu_rtt: bad --apdu '%s'\n", o->apdu_hex), -1;
    for (int i = -o->warmup; i < o->n; i++) {
        if (i == 0) l->apdus = 0;
        if (i >= 0 && o->toggle_pid && toggle_trace(o->toggle_pid)) return -1;
        uint64_t t0 = scl_now_ns();
        int rc = o->mode == MODE_MIX        ? op_mix(l)
                 : o->mode == MODE_CERTREAD ? op_certread(l)
                                            : op_one(l, apdu, (size_t)alen);
        uint64_t t1 = scl_now_ns();
        if (rc) return fprintf(stderr, "apdu_rtt: operation #%d failed\n", i), -1;
        if (i >= 0) samples[i] = t1 - t0;
    }
    if (o->toggle_pid && o->n % 2 && toggle_trace(o->toggle_pid)) return -1;
    return 0;
}

static void print_stats(const char *label, uint64_t *samples, int n, double apdus_per_op)
{
    qsort(samples, (size_t)n, sizeof *samples, cmp_u64);
    printf("%s\tn=%d\tmedian=%.1f\tp10=%.1f\tp90=%.1f\tp99=%.1f\tmin=%.1f\tmax=%.1f\tapdus_per_op=%.1f\n",
           label, n, pct_us(samples, n, 0.5), pct_us(samples, n, 0.1), pct_us(samples, n, 0.9),
           pct_us(samples, n, 0.99), pct_us(samples, n, 0.0), pct_us(samples, n, 1.0), apdus_per_op);
}

/* Odd operations (the trace as found) as "LABEL", even ones as "LABEL-toggled". */
static void print_toggled(const char *label, uint64_t *samples, int n, double apdus_per_op)
{
    int half = n / 2;
    uint64_t *odd = calloc((size_t)half + 1, sizeof *odd), *even = calloc((size_t)half + 1, sizeof *even);
    if (!odd || !even) {
        free(odd), free(even);
        return;
    }
    int no = 0, ne = 0;
    for (int i = 0; i < n; i++) {
        if (i % 2) odd[no++] = samples[i];
        else even[ne++] = samples[i];
    }
    char toggled[128];
    snprintf(toggled, sizeof toggled, "%s-toggled", label);
    print_stats(label, odd, no, apdus_per_op);
    print_stats(toggled, even, ne, apdus_per_op);
    free(odd), free(even);
}

int main(int argc, char **argv)
{
    struct rtt_opts o = {.reader = "scardlab 00 00",
                         .label = "card",
                         .apdu_hex = "00 20 00 80",
                         .n = 5000,
                         .warmup = 100,
                         .wait_ms = 10000};
    if (parse_opts(argc, argv, &o)) return 2;
    SCARDCONTEXT ctx;
    DWORD proto;
    struct rtt_link l = {0};
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv == SCARD_S_SUCCESS) rv = connect_card(ctx, &o, &l.h, &proto);
    if (rv != SCARD_S_SUCCESS)
        return fprintf(stderr, "apdu_rtt: %s: %s\n", o.reader, pcsc_stringify_error(rv)), 1;
    l.pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    uint64_t *samples = calloc((size_t)o.n, sizeof *samples);
    if (!samples || measure(&l, &o, samples)) return 1;
    if (o.toggle_pid)
        print_toggled(o.label, samples, o.n, (double)l.apdus / o.n);
    else
        print_stats(o.label, samples, o.n, (double)l.apdus / o.n);
    free(samples);
    SCardDisconnect(l.h, SCARD_LEAVE_CARD);
    SCardReleaseContext(ctx);
    return 0;
}
