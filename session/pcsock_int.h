/*
 * pcsock_int.h - (private to pcsock*.c) the endpoint's shared state: clients,
 * card handles, reader slots, and the locks that guard them.
 */
#ifndef SCL_PCSOCK_INT_H
#define SCL_PCSOCK_INT_H

#include "pcsock.h"
#include "pcsock_wire.h"

#include <pthread.h>

#define PCSOCK_MAX_CLIENTS 256            /* sockets served at once; more are closed */
#define PCSOCK_MAX_HANDLES_PER_CLIENT 200 /* pcscd's --max-card-handle-per-thread */

/* One connected socket (pcsc-lite: one per SCARDCONTEXT, plus short-lived
 * SCardCancel sockets).  Its thread reads requests and replies in order;
 * event and cancel signals are written by other threads under wmu. */
struct pcsock_client {
    struct pcsock *ps;
    struct pcsock_client *next; /* ps->clients, under ps->mu */
    int fd;
    unsigned id;         /* for logs */
    unsigned refs;       /* under ps->mu; the fd closes with the last ref */
    bool gone;           /* its thread has finished; under ps->mu */
    uint32_t hContext;   /* 0: none established on this socket; under ps->mu */
    bool waiting;        /* registered for reader events (owes one 8-byte signal); under ps->mu */
    uint64_t wait_gen;   /* ps->gen when it registered */
    pthread_mutex_t wmu; /* one writer at a time: the state array goes out before its signal */
    /* A Transmit answered on another thread (ops->transmit_async): its
     * request, and whether its reply went out; under wmu. */
    struct pcsock_request *tx_req;
    bool tx_answered, tx_ok;
    pthread_cond_t tx_cv;
    uint8_t *send_buf, *recv_buf; /* PCSOCK_MAX_BUFFER_EXTENDED each */
};

/* A card handle as the wire knows it (hCard) and as the backend does (card). */
struct pcsock_handle {
    int32_t hCard;
    uint64_t card;
    struct pcsock_client *owner;
    int slot;
    bool exclusive;      /* connected with SCARD_SHARE_EXCLUSIVE */
    bool in_transaction; /* between a successful Begin and End */
    uint32_t dwActiveProtocol;
};

struct pcsock_slot {
    bool used;
    struct pcsock_reader r;
    uint32_t eventCounter;
};

struct pcsock {
    char path[108];
    int listen_fd, wake_pipe[2];
    const struct pcsock_ops *ops;
    void *be;
    uid_t allowed_uid;
    enum pcsock_peers peers;
    bool trace; /* PCSOCK_TRACE=1: log every request by its wire name */
    pthread_t accept_thread, notify_thread;

    pthread_mutex_t mu;     /* everything below */
    pthread_cond_t changed; /* gen moved or stopping: the notifier wakes */
    pthread_cond_t left;    /* a client thread finished */
    bool stopping;
    uint64_t gen; /* bumped on every reader change */
    struct pcsock_slot slots[PCSOCK_MAX_READERS];
    struct pcsock_client *clients;
    unsigned nclients, next_id;
    struct pcsock_handle *handles;
    size_t nhandles, cap_handles;
};

void pcsock_log(const struct pcsock *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* pcsock_readers.c */
/* The 16 READER_STATE records as the wire carries them; ps->mu held. */
void pcsock_readers_encode(const struct pcsock *ps, uint8_t out[PCSOCK_READER_LIST_SIZE]);
int pcsock_readers_find(const struct pcsock *ps, const char *name); /* slot or -1; mu held */
void *pcsock_notify_main(void *arg);
/* Every registered client, off the list with a reference each (pcsock_stop
 * sends each its one signal, an error); mu held. */
size_t pcsock_readers_take_all_waiters(struct pcsock *ps, struct pcsock_client ***out);

/* pcsock.c */
/* Write the 8-byte wait_reader_state_change signal (event, cancel, stop). */
bool pcsock_client_signal(struct pcsock_client *c, uint32_t rv);
void pcsock_client_unref(struct pcsock_client *c);

#endif
