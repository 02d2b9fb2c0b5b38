/*
 * naive_card.c - the same PIV card behind a deliberately naive vpcd link
 * (no TCP_QUICKACK, length and payload in two sends) to show what delayed
 * ACK costs.  Benchmark only; the real link is vcard/vpcd_link.c.
 */
#include "vcard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = read(fd, p, n);
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static void send_two(int fd, const uint8_t *p, size_t n)
{
    uint8_t hdr[2];
    struct wcur w;
    wcur_init_fixed(&w, hdr, sizeof hdr);
    wcur_u16be(&w, (uint16_t)n);
    send(fd, hdr, sizeof hdr, MSG_NOSIGNAL);
    send(fd, p, n, MSG_NOSIGNAL);
}

static void serve_naive(struct vc_card *card, int fd)
{
    uint8_t hdr[2], buf[2048], resp[VC_RESP_MAX];
    while (read_full(fd, hdr, 2)) {
        struct cur c;
        cur_init(&c, hdr, 2);
        uint16_t len = cur_u16be(&c);
        if (len == 0 || len > sizeof buf || !read_full(fd, buf, len)) return;
        if (len == 1 && buf[0] == 0x04) {
            size_t n = vc_card_atr(card, resp, sizeof resp);
            send_two(fd, resp, n);
        } else if (len == 1) {
            vc_card_reset(card);
        } else {
            send_two(fd, resp, vc_card_apdu(card, buf, len, resp));
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return fprintf(stderr,
                       "usage: naive_card PORT CARDFILE (inside the lab: scardlab lab exec)\n"),
               2;
    struct scl_err e = {0};
    struct vc_card_spec spec;
    memset(&spec, 0, sizeof spec);
    if (vc_card_file_load(argv[2], &spec, &e)) return fprintf(stderr, "naive_card: %s\n", e.msg), 1;
    struct vc_card *card = vc_card_new(&spec);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (!card || fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin))
        return perror("naive_card: connect"), 1;
    serve_naive(card, fd);
    close(fd);
    vc_card_free(card);
    return 0;
}
