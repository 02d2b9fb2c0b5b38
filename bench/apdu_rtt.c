/*
 * apdu_rtt.c - measure the PC/SC round trip of one small APDU
 * (SCardTransmit -> pcscd -> vpcd -> card -> back) in a lab; prints the
 * median and spread in microseconds.  Not a test: it asserts nothing.
 */
#include "common.h"

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rtt_opts {
    const char *reader, *label, *apdu_hex;
    int n, warmup, wait_ms;
};

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
        else {
            fprintf(stderr, "usage: apdu_rtt [-n N] [--warmup N] [--reader NAME] [--apdu HEX] "
                            "[--wait-ms MS] [--label TEXT]\n"
                            "  PCSCLITE_CSOCK_NAME selects the lab (scardlab lab env)\n");
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

static int measure(SCARDHANDLE h, DWORD proto, const struct rtt_opts *o, uint64_t *samples)
{
    uint8_t apdu[64], resp[300];
    int alen = scl_hex_decode(o->apdu_hex, apdu, sizeof apdu);
    if (alen < 4) return fprintf(stderr, "apdu_rtt: bad --apdu '%s'\n", o->apdu_hex), -1;
    const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    for (int i = -o->warmup; i < o->n; i++) {
        DWORD rlen = sizeof resp;
        uint64_t t0 = scl_now_ns();
        LONG rv = SCardTransmit(h, pci, apdu, (DWORD)alen, NULL, resp, &rlen);
        uint64_t t1 = scl_now_ns();
        if (rv != SCARD_S_SUCCESS)
            return fprintf(stderr, "apdu_rtt: SCardTransmit #%d: %s\n", i,
                           pcsc_stringify_error(rv)),
                   -1;
        if (i >= 0) samples[i] = t1 - t0;
    }
    return 0;
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
    SCARDHANDLE h;
    DWORD proto;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv == SCARD_S_SUCCESS) rv = connect_card(ctx, &o, &h, &proto);
    if (rv != SCARD_S_SUCCESS)
        return fprintf(stderr, "apdu_rtt: %s: %s\n", o.reader, pcsc_stringify_error(rv)), 1;
    uint64_t *samples = calloc((size_t)o.n, sizeof *samples);
    if (!samples || measure(h, proto, &o, samples)) return 1;
    qsort(samples, (size_t)o.n, sizeof *samples, cmp_u64);
    printf("%s\tn=%d\tmedian=%.1f\tp10=%.1f\tp90=%.1f\tp99=%.1f\tmin=%.1f\tmax=%.1f\n", o.label,
           o.n, pct_us(samples, o.n, 0.5), pct_us(samples, o.n, 0.1), pct_us(samples, o.n, 0.9),
           pct_us(samples, o.n, 0.99), pct_us(samples, o.n, 0.0), pct_us(samples, o.n, 1.0));
    free(samples);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
    SCardReleaseContext(ctx);
    return 0;
}
