/*
 * pcsock_cancel_helper.c - e2e helper: one thread blocks in
 * SCardGetStatusChange(INFINITE) on READER, the main thread calls SCardCancel
 * until it returns; exit 0 if it returned SCARD_E_CANCELLED and the context
 * still answers afterwards.  Judges nothing else; PCSCLITE_CSOCK_NAME picks
 * the socket.
 */
#include <PCSC/winscard.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

struct waiter {
    SCARDCONTEXT ctx;
    const char *reader;
    LONG rv;
    volatile bool done;
};

static void *wait_forever(void *arg)
{
    struct waiter *w = arg;
    SCARD_READERSTATE rs = {.szReader = w->reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    w->rv = SCardGetStatusChange(w->ctx, 0, &rs, 1);
    if (w->rv == SCARD_S_SUCCESS) {
        rs.dwCurrentState = rs.dwEventState;
        w->rv = SCardGetStatusChange(w->ctx, INFINITE, &rs, 1);
    }
    w->done = true;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) return fprintf(stderr, "usage: pcsock_cancel_helper READER\n"), 2;
    struct waiter w = {.reader = argv[1]};
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &w.ctx);
    if (rv != SCARD_S_SUCCESS)
        return fprintf(stderr, "establish: %s\n", pcsc_stringify_error(rv)), 1;
    pthread_t t;
    pthread_create(&t, NULL, wait_forever, &w);
    /* A cancel before the wait has started is a no-op in libpcsclite: repeat. */
    int tries = 0;
    while (!w.done) {
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
        SCardCancel(w.ctx);
        tries++;
    }
    pthread_join(t, NULL);
    printf("SCardGetStatusChange: %s (0x%08lX) after %d cancel call(s)\n",
           pcsc_stringify_error(w.rv), (unsigned long)w.rv, tries);
    if (w.rv != SCARD_E_CANCELLED) return 1;
    SCARD_READERSTATE rs = {.szReader = argv[1], .dwCurrentState = SCARD_STATE_UNAWARE};
    rv = SCardGetStatusChange(w.ctx, 0, &rs, 1);
    printf("then SCardGetStatusChange(0): %s\n", pcsc_stringify_error(rv));
    SCardReleaseContext(w.ctx);
    return rv == SCARD_S_SUCCESS ? 0 : 1;
}
