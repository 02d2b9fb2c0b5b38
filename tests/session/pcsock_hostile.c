/*
 * pcsock_hostile.c - e2e helper: throws garbage, half messages, lies about
 * sizes and never-read waits at a pcsock socket, then exits 0 if every
 * attempt ended with the server closing (or replying to) that connection.
 * Whether the endpoint survived is judged by the test with a normal client.
 */
#include "pcsock_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *sock;

static int open_sock(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        perror("connect");
        exit(1);
    }
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* The server must close the connection (EOF) within the receive timeout. */
static bool server_closes(int fd)
{
    uint8_t b[4096];
    for (;;) {
        ssize_t r = recv(fd, b, sizeof b, 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) return true;
        if (r < 0) return false; /* timeout: it neither answered nor closed */
    }
}

static void header(uint8_t *out, uint32_t size, uint32_t command)
{
    struct wcur w;
    wcur_init_fixed(&w, out, 8);
    pcsock_wire_encode_header(&w, command, size);
}

static int failures;

static void expect(bool ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) failures++;
}

static void attack_random_bytes(void)
{
    int fd = open_sock();
    uint8_t junk[65536];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)rand();
    junk[4] = 0x42; /* no such command */
    send(fd, junk, sizeof junk, MSG_NOSIGNAL);
    expect(server_closes(fd), "64 KiB of random bytes: closed");
    close(fd);
}

static void attack_wrong_sizes(void)
{
    static const uint32_t sizes[] = {0, 1, 151, 153, 0xFFFFFFFF, 0x7FFFFFFF};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int fd = open_sock();
        uint8_t h[8];
        header(h, sizes[i], PCSOCK_SCARD_CONNECT);
        send(fd, h, sizeof h, MSG_NOSIGNAL);
        char what[80];
        snprintf(what, sizeof what, "SCARD_CONNECT claiming %u bytes: closed", sizes[i]);
        expect(server_closes(fd), what);
        close(fd);
    }
}

static void attack_half_messages(void)
{
    uint8_t h[8];
    header(h, 12, PCSOCK_CMD_VERSION);
    for (size_t cut = 1; cut < 8 + 12; cut++) {
        int fd = open_sock();
        uint8_t msg[20] = {0};
        memcpy(msg, h, 8);
        send(fd, msg, cut, MSG_NOSIGNAL);
        shutdown(fd, SHUT_WR); /* and nothing more */
        if (!server_closes(fd)) {
            expect(false, "half a CMD_VERSION then EOF: closed");
            close(fd);
            return;
        }
        close(fd);
    }
    expect(true, "every prefix of CMD_VERSION then EOF: closed");
}

static void attack_huge_transmit(void)
{
    int fd = open_sock();
    uint8_t buf[8 + 32];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    pcsock_wire_encode_header(&w, PCSOCK_SCARD_TRANSMIT, 32);
    union pcsock_body b = {.transmit = {.hCard = 1, .cbSendLength = 0x7FFFFFFF}};
    pcsock_wire_encode_body(&w, pcsock_wire_find(PCSOCK_SCARD_TRANSMIT), &b);
    send(fd, buf, sizeof buf, MSG_NOSIGNAL);
    expect(server_closes(fd), "SCARD_TRANSMIT with cbSendLength 2^31-1: closed");
    close(fd);
}

/* Registered for events, never reads, goes away: the server must not stick. */
static void attack_wait_and_vanish(void)
{
    for (int i = 0; i < 20; i++) {
        int fd = open_sock();
        uint8_t h[8];
        header(h, 0, PCSOCK_CMD_WAIT_READER_STATE_CHANGE);
        send(fd, h, sizeof h, MSG_NOSIGNAL);
        close(fd);
    }
    expect(true, "20 waits abandoned unread");
}

static void attack_foreign_cancel(void)
{
    int fd = open_sock();
    uint8_t buf[16];
    struct wcur w;
    wcur_init_fixed(&w, buf, sizeof buf);
    pcsock_wire_encode_header(&w, PCSOCK_SCARD_CANCEL, 8);
    union pcsock_body b = {.cancel = {0x1234567, 0}};
    pcsock_wire_encode_body(&w, pcsock_wire_find(PCSOCK_SCARD_CANCEL), &b);
    send(fd, buf, sizeof buf, MSG_NOSIGNAL);
    uint8_t r[8];
    ssize_t n = recv(fd, r, sizeof r, MSG_WAITALL);
    expect(n == 8 && r[4] == 0x03 && r[7] == 0x80,
           "SCARD_CANCEL of an unknown context: invalid handle");
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 2) return fprintf(stderr, "usage: pcsock_hostile SOCKET\n"), 2;
    sock = argv[1];
    srand(4);
    attack_random_bytes();
    attack_wrong_sizes();
    attack_half_messages();
    attack_huge_transmit();
    attack_wait_and_vanish();
    attack_foreign_cancel();
    return failures ? 1 : 0;
}
