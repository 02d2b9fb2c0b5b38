/*
 * cmd_card_serve.c - `scardlab card-serve`: load a card file, connect to vpcd
 * and answer it until vpcd closes the link or SIGTERM arrives.
 * Not for namespaces or pid files: whoever starts it (the lab) does those.
 */
#include "vcard.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t serve_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
}

/* No SA_RESTART: a blocking read returns EINTR so the loop sees the flag. */
static void install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: scardlab card-serve [--host HOST] --port PORT [--connect-timeout MS] CARDFILE\n"
            "  Runs the card in CARDFILE on vpcd's socket at HOST:PORT (default host\n"
            "  127.0.0.1).  Normally started by `scardlab card insert`.\n");
}

struct serve_args {
    const char *host, *card_file;
    int port, timeout_ms;
};

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, struct serve_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(arg, "--host") && has_val)
            a->host = argv[++i];
        else if (!strcmp(arg, "--port") && has_val) {
            if (parse_int(argv[++i], 1, 65535, &a->port))
                return fprintf(stderr, "card-serve: --port '%s': not a port number\n", argv[i]), -1;
        } else if (!strcmp(arg, "--connect-timeout") && has_val) {
            if (parse_int(argv[++i], 0, 3600000, &a->timeout_ms))
                return fprintf(stderr, "card-serve: --connect-timeout '%s': not milliseconds\n",
                               argv[i]),
                       -1;
        } else if (arg[0] == '-' && arg[1])
            return fprintf(stderr, "card-serve: unknown or incomplete option '%s'\n", arg), -1;
        else if (!a->card_file)
            a->card_file = arg;
        else
            return fprintf(stderr, "card-serve: one card file only ('%s')\n", arg), -1;
    }
    if (!a->card_file || !a->port)
        return fprintf(stderr, "card-serve: need --port and a card file\n"), -1;
    return 0;
}

int vc_cmd_card_serve(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    struct serve_args a = {.host = "127.0.0.1", .timeout_ms = 5000};
    if (parse_args(argc, argv, &a)) {
        usage(stderr);
        return 2;
    }
    install_stop_handlers();
    struct scl_err e = {0};
    struct vc_card_spec spec;
    memset(&spec, 0, sizeof spec);
    if (vc_card_file_load(a.card_file, &spec, &e)) {
        fprintf(stderr, "card-serve: %s\n", e.msg);
        vc_card_spec_free(&spec);
        return 1;
    }
    struct vc_card *card = vc_card_new(&spec);
    if (!card) {
        fprintf(stderr, "card-serve: %s: could not build the card\n", a.card_file);
        vc_card_spec_free(&spec);
        return 1;
    }
    int fd = vc_vpcd_connect(a.host, a.port, a.timeout_ms, &e);
    int rc = 1;
    if (fd < 0) {
        fprintf(stderr, "card-serve: %s\n", e.msg);
    } else if (vc_vpcd_serve(card, fd, &serve_stop, &e)) {
        fprintf(stderr, "card-serve: %s\n", e.msg);
    } else {
        fprintf(stderr, "card-serve: %s\n",
                serve_stop ? "stopped by signal" : "vpcd closed the link");
        rc = 0;
    }
    if (fd >= 0) close(fd);
    vc_card_free(card);
    return rc;
}
