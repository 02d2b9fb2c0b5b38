/*
 * pcsc_connect.c - SCardConnect to a reader named on the command line, through
 * whatever PCSCLITE_CSOCK_NAME names; prints the result code.  A judge for
 * tests/e2e/connect_reader_policy.sh (OpenSC connects only to listed readers).
 */
#include <PCSC/winscard.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pcsc_connect READER\n");
        return 2;
    }
    SCARDCONTEXT ctx;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS) {
        printf("SCardEstablishContext: 0x%08lX\n", (unsigned long)rv);
        return 1;
    }
    SCARDHANDLE h;
    DWORD proto;
    rv = SCardConnect(ctx, argv[1], SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                      &proto);
    printf("SCardConnect: 0x%08lX\n", (unsigned long)rv);
    if (rv == SCARD_S_SUCCESS) SCardDisconnect(h, SCARD_LEAVE_CARD);
    SCardReleaseContext(ctx);
    return rv == SCARD_S_SUCCESS ? 0 : 1;
}
