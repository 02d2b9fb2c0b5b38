/*
 * cmd_pcsock.c - `scardlab pcsock-serve --upstream LABDIR --socket PATH`: a
 * pcsock endpoint whose backend is a lab's pcscd (the passthrough), until
 * SIGTERM.  Internal: for end-to-end tests and measurements, not for users.
 */
#include "pcsock_cmd.h"
#include "lab.h"
#include "pcsock.h"
#include "pcsock_passthrough.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct serve_args {
    const char *upstream, *socket;
    uid_t allow_uid;
};

static void serve_usage(FILE *f)
{
    fprintf(f, "usage: scardlab pcsock-serve --upstream LABDIR --socket PATH [--allow-uid UID]\n"
               "  Serve pcsc-lite's client protocol on PATH (its directory must be 0700),\n"
               "  every call forwarded to the lab's pcscd.  Peers other than UID (default:\n"
               "  ours) and root are refused.  Prints 'ready' once clients may connect;\n"
               "  SIGTERM or SIGINT stops it (exit 0).  PCSOCK_TRACE=1 logs every request.\n");
}

static int parse_serve_args(int argc, char **argv, struct serve_args *a)
{
    a->allow_uid = getuid();
    for (int i = 1; i < argc; i++) {
        bool v = i + 1 < argc;
        if (!strcmp(argv[i], "--upstream") && v)
            a->upstream = argv[++i];
        else if (!strcmp(argv[i], "--socket") && v)
            a->socket = argv[++i];
        else if (!strcmp(argv[i], "--allow-uid") && v) {
            char *end;
            errno = 0;
            unsigned long u = strtoul(argv[++i], &end, 10);
            if (errno || *end || end == argv[i])
                return fprintf(stderr, "--allow-uid '%s': not a uid\n", argv[i]), -1;
            a->allow_uid = (uid_t)u;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            serve_usage(stdout);
            exit(0);
        } else
            return fprintf(stderr, "unknown or incomplete option '%s'\n", argv[i]), -1;
    }
    if (!a->upstream || !a->socket)
        return fprintf(stderr, "--upstream LABDIR and --socket PATH are required\n"), -1;
    return 0;
}

/* Signals go to sigwait below: blocked before any thread starts, so every
 * thread inherits the mask.  SIGPIPE is ignored: libpcsclite writes to the
 * upstream socket without MSG_NOSIGNAL. */
static void block_signals(sigset_t *set)
{
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

int pcsock_cmd_serve(int argc, char **argv)
{
    struct serve_args a = {0};
    if (parse_serve_args(argc, argv, &a)) return serve_usage(stderr), 2;
    struct scl_err e = {0};
    char sock[4096];
    if (scn_lab_socket(a.upstream, sock, sizeof sock, &e))
        return fprintf(stderr, "pcsock-serve: %s\n", e.msg), 1;
    setenv("PCSCLITE_CSOCK_NAME", sock, 1);

    sigset_t set;
    block_signals(&set);
    struct pcsock_passthrough *pt = NULL;
    struct pcsock *ps = NULL;
    int rc = pcsock_passthrough_open(&pt, &e);
    if (!rc) rc = pcsock_start(a.socket, pcsock_passthrough_ops(), pt, a.allow_uid, &ps, &e);
    if (!rc) rc = pcsock_passthrough_watch(pt, ps, &e);
    if (rc) {
        fprintf(stderr, "pcsock-serve: %s\n", e.msg);
        pcsock_passthrough_unwatch(pt);
        pcsock_stop(ps);
        pcsock_passthrough_close(pt);
        return 1;
    }
    printf("ready %s (upstream %s)\n", a.socket, sock);
    fflush(stdout);
    int sig = 0;
    while (sigwait(&set, &sig))
        ;
    fprintf(stderr, "pcsock-serve: signal %d, stopping\n", sig);
    pcsock_passthrough_unwatch(pt); /* it feeds ps: stop it first */
    pcsock_stop(ps);
    pcsock_passthrough_close(pt);
    return 0;
}
