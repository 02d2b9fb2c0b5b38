/*
 * lab_pcsc.c - the lab's own questions to its pcscd through libpcsclite:
 * are the readers listed, is a card present.  Not a PC/SC client library for
 * others; one lab per process, because libpcsclite reads the socket name once.
 */
#include "lab_int.h"

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define POLL_MS 200

int lab_pcsc_use(const char *dir, struct scl_err *e)
{
    char sock[4096];
    if (scn_lab_socket(dir, sock, sizeof sock, e)) return e->code;
    const char *cur = getenv("PCSCLITE_CSOCK_NAME");
    if (cur && strcmp(cur, sock))
        fprintf(stderr, "lab: note: PCSCLITE_CSOCK_NAME was %s; using this lab's %s\n", cur, sock);
    setenv("PCSCLITE_CSOCK_NAME", sock, 1);
    return SCL_OK;
}

/* Our child ended early?  Fills *e and returns true. */
static bool watch_died(pid_t watch, const char *what, struct scl_err *e)
{
    if (watch <= 0) return false;
    int status;
    if (waitpid(watch, &status, WNOHANG) != watch) return false;
    scl_errf(e, SCL_E_STATE, "%s (pid %ld) ended early (%s %d)", what, (long)watch,
             WIFEXITED(status) ? "exit status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return true;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000};
    nanosleep(&ts, NULL);
}

/* Are both slot readers in the list?  The list is a multi-string. */
static bool readers_listed(SCARDCONTEXT ctx)
{
    char buf[4096];
    DWORD len = sizeof buf;
    if (SCardListReaders(ctx, NULL, buf, &len) != SCARD_S_SUCCESS || len == 0 || len > sizeof buf)
        return false;
    buf[len - 1] = 0;
    int found = 0;
    for (int slot = 0; slot < SCN_LAB_SLOTS; slot++) {
        char want[64];
        snprintf(want, sizeof want, LAB_READER_NAME " 00 %02d", slot);
        for (const char *r = buf; r < buf + len && *r; r += strlen(r) + 1)
            if (!strcmp(r, want)) {
                found++;
                break;
            }
    }
    return found == SCN_LAB_SLOTS;
}

int lab_pcsc_wait_readers(int timeout_ms, pid_t watch, struct scl_err *e)
{
    uint64_t deadline = scl_now_ns() + (uint64_t)timeout_ms * 1000000u;
    LONG last = SCARD_S_SUCCESS;
    for (;;) {
        SCARDCONTEXT ctx;
        /* pcscd's socket appears a moment after it starts; until then the
         * library answers SCARD_E_NO_SERVICE. */
        last = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
        if (last == SCARD_S_SUCCESS) {
            bool ok = readers_listed(ctx);
            SCardReleaseContext(ctx);
            if (ok) return SCL_OK;
        }
        if (watch_died(watch, "lab holder", e)) return e->code;
        if (scl_now_ns() >= deadline)
            return scl_errf(e, SCL_E_TIMEOUT,
                            "pcscd did not list readers '" LAB_READER_NAME
                            " 00 00' and '... 00 01' within %d ms (last: %s)",
                            timeout_ms, pcsc_stringify_error(last));
        sleep_ms(50);
    }
}

static bool state_matches(DWORD ev, bool present)
{
    if (ev & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE)) return false;
    if (present) return (ev & SCARD_STATE_PRESENT) && !(ev & SCARD_STATE_MUTE);
    return (ev & SCARD_STATE_EMPTY) != 0;
}

int lab_pcsc_wait_card(const char *reader, bool present, int timeout_ms, pid_t watch,
                       struct scl_err *e)
{
    SCARDCONTEXT ctx;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS)
        return scl_errf(e, SCL_E_PCSC, "SCardEstablishContext: %s", pcsc_stringify_error(rv));
    SCARD_READERSTATE rs = {.szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    uint64_t deadline = scl_now_ns() + (uint64_t)timeout_ms * 1000000u;
    int rc = SCL_OK;
    for (DWORD wait = 0;; wait = POLL_MS) {
        rv = SCardGetStatusChange(ctx, wait, &rs, 1);
        if (rv == SCARD_S_SUCCESS) {
            if (state_matches(rs.dwEventState, present)) break;
            rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
        } else if (rv != SCARD_E_TIMEOUT) {
            rc = scl_errf(e, SCL_E_PCSC, "SCardGetStatusChange('%s'): %s", reader,
                          pcsc_stringify_error(rv));
            break;
        }
        if (watch_died(watch, "card process", e)) {
            rc = e->code;
            break;
        }
        if (scl_now_ns() >= deadline) {
            rc = scl_errf(e, SCL_E_TIMEOUT, "reader '%s' still %s after %d ms (state 0x%lx)",
                          reader, present ? "without a working card" : "holds a card", timeout_ms,
                          (unsigned long)rs.dwEventState);
            break;
        }
    }
    SCardReleaseContext(ctx);
    return rc;
}

int lab_pcsc_card_state(const char *reader, struct scl_err *e)
{
    SCARDCONTEXT ctx;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS)
        return scl_errf(e, SCL_E_PCSC, "SCardEstablishContext: %s", pcsc_stringify_error(rv)), -1;
    SCARD_READERSTATE rs = {.szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE};
    rv = SCardGetStatusChange(ctx, 0, &rs, 1);
    SCardReleaseContext(ctx);
    if (rv != SCARD_S_SUCCESS)
        return scl_errf(e, SCL_E_PCSC, "SCardGetStatusChange('%s'): %s", reader,
                        pcsc_stringify_error(rv)),
               -1;
    return (rs.dwEventState & SCARD_STATE_PRESENT) ? 1 : 0;
}
