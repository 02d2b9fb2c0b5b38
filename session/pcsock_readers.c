/*
 * pcsock_readers.c - the endpoint's reader slots as pcsc-lite clients see
 * them (READER_STATE, event counters) and the thread that wakes clients
 * waiting in SCardGetStatusChange.  Not the card calls: pcsock.c has those.
 */
#include "pcsock_int.h"

#include <PCSC/pcsclite.h>
#include <PCSC/winscard.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The client keeps the counter in the upper 16 bits of dwCurrentState. */
#define EVENT_COUNTER_MASK 0xFFFFu

int pcsock_readers_find(const struct pcsock *ps, const char *name)
{
    for (int i = 0; i < PCSOCK_MAX_READERS; i++)
        if (ps->slots[i].used && !strcmp(ps->slots[i].r.name, name)) return i;
    return -1;
}

/* pcscd's readerSharing: -1 if someone holds the reader exclusively, else
 * how many of our handles use it. */
static int32_t slot_sharing(const struct pcsock *ps, int slot, uint32_t *protocol)
{
    int32_t n = 0;
    bool exclusive = ps->slots[slot].r.in_use;
    for (size_t i = 0; i < ps->nhandles; i++) {
        const struct pcsock_handle *h = &ps->handles[i];
        if (h->slot != slot) continue;
        n++;
        exclusive = exclusive || h->exclusive;
        if (!*protocol) *protocol = h->dwActiveProtocol;
    }
    return exclusive ? PCSOCK_SHARING_EXCLUSIVE_CONTEXT : n;
}

static void slot_state(const struct pcsock *ps, int i, struct pcsock_reader_state *s)
{
    memset(s, 0, sizeof *s);
    const struct pcsock_slot *sl = &ps->slots[i];
    if (!sl->used) return;
    memcpy(s->readerName, sl->r.name, sizeof s->readerName);
    s->readerName[sizeof s->readerName - 1] = 0;
    s->eventCounter = sl->eventCounter;
    uint32_t protocol = sl->r.protocol;
    s->readerSharing = slot_sharing(ps, i, &protocol);
    if (!sl->r.present) {
        s->readerState = SCARD_ABSENT;
        return;
    }
    s->readerState = SCARD_PRESENT | SCARD_POWERED | (protocol ? SCARD_SPECIFIC : SCARD_NEGOTIABLE);
    s->cardAtrLength = sl->r.atr_len > PCSOCK_ATR_MAX ? PCSOCK_ATR_MAX : sl->r.atr_len;
    memcpy(s->cardAtr, sl->r.atr, s->cardAtrLength);
    s->cardProtocol = protocol;
}

void pcsock_readers_encode(const struct pcsock *ps, uint8_t out[PCSOCK_READER_LIST_SIZE])
{
    struct wcur w;
    wcur_init_fixed(&w, out, PCSOCK_READER_LIST_SIZE);
    for (int i = 0; i < PCSOCK_MAX_READERS; i++) {
        struct pcsock_reader_state s;
        slot_state(ps, i, &s);
        pcsock_wire_encode_reader_state(&w, &s);
    }
    /* 16 fixed-size records into a buffer of exactly that size. */
    assert(wcur_ok(&w) && wcur_len(&w) == PCSOCK_READER_LIST_SIZE);
}

/* A card came or went, or another card is in: that is what the counter counts. */
static bool card_changed(const struct pcsock_reader *a, const struct pcsock_reader *b)
{
    return a->present != b->present || a->atr_len != b->atr_len ||
           memcmp(a->atr, b->atr, a->atr_len > PCSOCK_ATR_MAX ? PCSOCK_ATR_MAX : a->atr_len);
}

static bool reader_same(const struct pcsock_reader *a, const struct pcsock_reader *b)
{
    return !card_changed(a, b) && a->in_use == b->in_use && a->protocol == b->protocol;
}

/* The new list, named readers first kept in their slots (clients remember
 * readers by name; a slot that moved would look like a removal). */
static bool slots_update(struct pcsock *ps, const struct pcsock_reader *rd, size_t n)
{
    bool keep[PCSOCK_MAX_READERS] = {0}, changed = false;
    int place[PCSOCK_MAX_READERS];
    for (size_t j = 0; j < n; j++) {
        char name[PCSOCK_READER_NAME_MAX];
        memcpy(name, rd[j].name, sizeof name);
        name[sizeof name - 1] = 0;
        place[j] = name[0] ? pcsock_readers_find(ps, name) : -2;
        if (place[j] >= 0) keep[place[j]] = true;
    }
    for (int i = 0; i < PCSOCK_MAX_READERS; i++)
        if (ps->slots[i].used && !keep[i]) {
            memset(&ps->slots[i], 0, sizeof ps->slots[i]);
            changed = true;
        }
    for (size_t j = 0; j < n; j++) {
        if (place[j] == -2) continue; /* a nameless reader cannot be addressed */
        int i = place[j];
        for (int k = 0; i < 0 && k < PCSOCK_MAX_READERS; k++)
            if (!ps->slots[k].used) i = k;
        if (i < 0) continue;
        struct pcsock_slot *sl = &ps->slots[i];
        struct pcsock_reader nr = rd[j];
        nr.name[sizeof nr.name - 1] = 0;
        if (nr.atr_len > PCSOCK_ATR_MAX) nr.atr_len = PCSOCK_ATR_MAX;
        if (!sl->used) {
            sl->used = true;
            sl->eventCounter = 0;
            changed = true;
        } else if (card_changed(&sl->r, &nr)) {
            sl->eventCounter = (sl->eventCounter + 1) & EVENT_COUNTER_MASK;
            changed = true;
        } else if (!reader_same(&sl->r, &nr)) {
            changed = true;
        }
        sl->r = nr;
    }
    return changed;
}

void pcsock_set_readers(struct pcsock *ps, const struct pcsock_reader *readers, size_t n)
{
    if (n > PCSOCK_MAX_READERS) {
        pcsock_log(ps, "%zu readers offered, the protocol carries %d: the rest are left out", n,
                   PCSOCK_MAX_READERS);
        n = PCSOCK_MAX_READERS;
    }
    pthread_mutex_lock(&ps->mu);
    if (slots_update(ps, readers, n)) {
        ps->gen++;
        pthread_cond_broadcast(&ps->changed);
    }
    pthread_mutex_unlock(&ps->mu);
}

/* Take every client registered before generation gen off the wait list (each
 * owes exactly one signal), with a reference each.  mu held. */
static size_t take_waiters(struct pcsock *ps, uint64_t gen, struct pcsock_client ***out)
{
    size_t n = 0;
    struct pcsock_client **v = NULL;
    for (struct pcsock_client *c = ps->clients; c; c = c->next) {
        if (c->gone || !c->waiting || c->wait_gen >= gen) continue;
        struct pcsock_client **nv = realloc(v, (n + 1) * sizeof *v);
        if (!nv) break; /* the rest stay registered and get the next change */
        v = nv;
        c->waiting = false;
        c->refs++;
        v[n++] = c;
    }
    *out = v;
    return n;
}

/* The notifier: on every reader change, one SCARD_S_SUCCESS signal to each
 * waiting client, written outside mu so a slow client holds up nobody else. */
void *pcsock_notify_main(void *arg)
{
    struct pcsock *ps = arg;
    pthread_mutex_lock(&ps->mu);
    /* The generation pcsock_start began with, not the one this thread
     * first sees: a change made before it ran (its start can be slow) would
     * otherwise never be signalled to a client already waiting for it. */
    uint64_t seen = 0;
    while (!ps->stopping) {
        if (ps->gen == seen) {
            pthread_cond_wait(&ps->changed, &ps->mu);
            continue;
        }
        seen = ps->gen;
        struct pcsock_client **v;
        size_t n = take_waiters(ps, seen, &v);
        pthread_mutex_unlock(&ps->mu);
        for (size_t i = 0; i < n; i++) {
            pcsock_client_signal(v[i], SCARD_S_SUCCESS);
            pcsock_client_unref(v[i]);
        }
        free(v);
        pthread_mutex_lock(&ps->mu);
    }
    pthread_mutex_unlock(&ps->mu);
    return NULL;
}

size_t pcsock_readers_take_all_waiters(struct pcsock *ps, struct pcsock_client ***out)
{
    return take_waiters(ps, UINT64_MAX, out);
}
