/*
 * certprop.c - the Certificate Propagation Service emulation: watch every
 * PC/SC reader, copy the certificates of each inserted PIV card into the
 * user's My store with a key-provider claim that is written once and never
 * refreshed, and self-signed CA certificates into the smart-card root store.
 * Not the card reader (pcsc_card.c) and not the store format (store*.c).
 */
#include "propagator.h"

#include <cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CP_READERS_MAX 16 /* pcsc-lite's PCSCLITE_MAX_READERS_CONTEXTS */
#define CP_WAIT_MS 2000   /* safety net if a cancel lands between waits */
#define CP_BACKOFF_MIN_MS 100
#define CP_BACKOFF_MAX_MS 5000
#define CP_ROOTS_MAX 64
static const char cp_pnp_reader[] = "\\\\?PnP?\\Notification";

/* ---- events: one line per decision on stderr, one JSON object on stdout -- */

enum cp_event_kind {
    CP_EV_CARD_INSERTED,
    CP_EV_CERT_ADDED,
    CP_EV_CERT_REMOVED,
    CP_EV_SKIPPED,
    CP_EV_CARD_REMOVED,
    CP_EV_ERROR,
    CP_EV_INFO,
};

struct cp_event {
    enum cp_event_kind kind;
    const char *reader, *guid, *sha1, *subject, *container, *provider, *store, *reason;
};

typedef void (*cp_event_text_fn)(const struct cp_event *ev, char *out, size_t cap);

static void text_card_inserted(const struct cp_event *ev, char *out, size_t cap)
{
    if (ev->guid)
        snprintf(out, cap, "card inserted in '%s' (GUID %s)", ev->reader, ev->guid);
    else
        snprintf(out, cap, "card inserted in '%s'", ev->reader);
}

static void text_cert_added(const struct cp_event *ev, char *out, size_t cap)
{
    if (ev->provider)
        snprintf(out, cap, "added %s %s to %s (container %s, provider %s)", ev->sha1, ev->subject,
                 ev->store, ev->container, ev->provider);
    else
        snprintf(out, cap, "added %s %s to %s (no key)", ev->sha1, ev->subject, ev->store);
}

static void text_cert_removed(const struct cp_event *ev, char *out, size_t cap)
{
    snprintf(out, cap, "removed %s %s from %s: %s", ev->sha1, ev->subject ? ev->subject : "",
             ev->store, ev->reason);
}

static void text_skipped(const struct cp_event *ev, char *out, size_t cap)
{
    if (ev->sha1)
        snprintf(out, cap, "skipped %s %s: %s", ev->sha1, ev->subject ? ev->subject : "",
                 ev->reason);
    else if (ev->container)
        snprintf(out, cap, "skipped container %s in '%s': %s", ev->container, ev->reader,
                 ev->reason);
    else
        snprintf(out, cap, "skipped card in '%s': %s", ev->reader, ev->reason);
}

static void text_card_removed(const struct cp_event *ev, char *out, size_t cap)
{
    snprintf(out, cap, "card removed from '%s'", ev->reader);
}

static void text_error(const struct cp_event *ev, char *out, size_t cap)
{
    if (ev->reader)
        snprintf(out, cap, "error: '%s': %s", ev->reader, ev->reason);
    else
        snprintf(out, cap, "error: %s", ev->reason);
}

static void text_info(const struct cp_event *ev, char *out, size_t cap)
{
    snprintf(out, cap, "%s", ev->reason);
}

/* The name is the "event" value in the JSON stream; info lines are text only. */
static const struct {
    enum cp_event_kind kind;
    const char *name;
    cp_event_text_fn text;
} cp_events[] = {
    {CP_EV_CARD_INSERTED, "card_inserted", text_card_inserted},
    {CP_EV_CERT_ADDED, "cert_added", text_cert_added},
    {CP_EV_CERT_REMOVED, "cert_removed", text_cert_removed},
    {CP_EV_SKIPPED, "skipped", text_skipped},
    {CP_EV_CARD_REMOVED, "card_removed", text_card_removed},
    {CP_EV_ERROR, "error", text_error},
    {CP_EV_INFO, NULL, text_info},
};

static void emit_json(const char *name, const struct cp_event *ev)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return;
    cJSON_AddStringToObject(o, "event", name);
    const struct {
        const char *key, *val;
    } fields[] = {
        {"reader", ev->reader},   {"guid", ev->guid},           {"sha1", ev->sha1},
        {"subject", ev->subject}, {"container", ev->container}, {"provider", ev->provider},
        {"store", ev->store},     {"reason", ev->reason},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].val) cJSON_AddStringToObject(o, fields[i].key, fields[i].val);
    char *line = cJSON_PrintUnformatted(o);
    if (line) {
        printf("%s\n", line);
        fflush(stdout);
    }
    cJSON_free(line);
    cJSON_Delete(o);
}

static void cp_emit(bool json, const struct cp_event *ev)
{
    char text[1024];
    for (size_t i = 0; i < sizeof cp_events / sizeof cp_events[0]; i++) {
        if (cp_events[i].kind != ev->kind) continue;
        cp_events[i].text(ev, text, sizeof text);
        fprintf(stderr, "certprop: %s\n", text);
        if (json && cp_events[i].name) emit_json(cp_events[i].name, ev);
        return;
    }
}

static void cp_info(bool json, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cp_info(bool json, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct cp_event ev = {.kind = CP_EV_INFO, .reason = msg};
    cp_emit(json, &ev);
}

/* ---- signals: a thread that sigwaits and cancels the blocking wait ------- */

struct cp_signals {
    pthread_t thread;
    bool running;
    sigset_t set;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    SCARDCONTEXT ctx; /* the context the main loop waits on, if have_ctx */
    bool have_ctx;
    bool stop, reload;
};

/* SCardCancel is how a PC/SC application breaks its own blocking
 * SCardGetStatusChange; running it here rather than in a handler keeps the
 * signal path free of locks a handler could interrupt. */
static void *signal_thread(void *arg)
{
    struct cp_signals *s = arg;
    for (;;) {
        int sig;
        if (sigwait(&s->set, &sig) != 0) continue;
        pthread_mutex_lock(&s->lock);
        if (sig == SIGHUP)
            s->reload = true;
        else
            s->stop = true;
        if (s->have_ctx) SCardCancel(s->ctx);
        pthread_cond_broadcast(&s->wake);
        bool done = s->stop;
        pthread_mutex_unlock(&s->lock);
        if (done) return NULL;
    }
}

static int signals_start(struct cp_signals *s, struct scl_err *e)
{
    sigemptyset(&s->set);
    sigaddset(&s->set, SIGTERM);
    sigaddset(&s->set, SIGINT);
    sigaddset(&s->set, SIGHUP);
    /* Blocked here, so every thread pcsc-lite starts later inherits the mask
     * and only signal_thread ever takes these signals. */
    int rc = pthread_sigmask(SIG_BLOCK, &s->set, NULL);
    if (rc == 0) rc = pthread_create(&s->thread, NULL, signal_thread, s);
    if (rc != 0) return scl_errf(e, SCL_E_STATE, "signal thread: %s", strerror(rc));
    s->running = true;
    return SCL_OK;
}

static void signals_stop(struct cp_signals *s)
{
    if (!s->running) return;
    pthread_mutex_lock(&s->lock);
    bool done = s->stop;
    pthread_mutex_unlock(&s->lock);
    if (!done) pthread_cancel(s->thread);
    pthread_join(s->thread, NULL);
    s->running = false;
    pthread_sigmask(SIG_UNBLOCK, &s->set, NULL);
}

static bool signals_stopping(struct cp_signals *s)
{
    pthread_mutex_lock(&s->lock);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

static bool signals_take_reload(struct cp_signals *s)
{
    pthread_mutex_lock(&s->lock);
    bool reload = s->reload;
    s->reload = false;
    pthread_mutex_unlock(&s->lock);
    return reload;
}

/* Sleep up to ms, cut short by a stop signal. */
static void signals_sleep(struct cp_signals *s, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&s->lock);
}

/* ---- service state ------------------------------------------------------ */

struct cp_root {
    uint8_t sha1[20];
    char reader[128]; /* the reader whose card put it there */
};

struct cp_reader {
    char name[128];
    DWORD state;  /* last dwEventState seen, passed back as dwCurrentState */
    bool handled; /* the card now in the reader has been processed */
};

struct cp_service {
    const struct cp_service_opts *o;
    struct cp_policy policy;
    struct cp_signals sig;
    struct cs_store *my, *root;
    SCARDCONTEXT ctx;
    bool have_ctx;
    DWORD pnp_state;
    struct cp_reader readers[CP_READERS_MAX];
    size_t nreaders;
    struct cp_root roots[CP_ROOTS_MAX]; /* roots we added that cleanup may remove */
    size_t nroots;
};

static void set_context(struct cp_service *s, SCARDCONTEXT ctx, bool have)
{
    pthread_mutex_lock(&s->sig.lock);
    s->sig.ctx = ctx;
    s->sig.have_ctx = have;
    pthread_mutex_unlock(&s->sig.lock);
    s->ctx = ctx;
    s->have_ctx = have;
}

static void drop_context(struct cp_service *s)
{
    if (!s->have_ctx) return;
    SCARDCONTEXT ctx = s->ctx;
    set_context(s, 0, false);
    SCardReleaseContext(ctx);
    for (size_t i = 0; i < s->nreaders; i++) {
        s->readers[i].state = SCARD_STATE_UNAWARE;
        s->readers[i].handled = false;
    }
    s->pnp_state = SCARD_STATE_UNAWARE;
}

static bool pcsc_service_gone(LONG rv)
{
    return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED ||
           rv == SCARD_E_INVALID_HANDLE || rv == SCARD_F_COMM_ERROR;
}

/* EstablishContext, retrying with backoff while pcscd is away.  Logs the
 * first failure, then only at 1, 2, 4, 8... attempts, then that it is back. */
static int ensure_context(struct cp_service *s, struct scl_err *e)
{
    unsigned delay = CP_BACKOFF_MIN_MS, attempt = 0;
    while (!s->have_ctx) {
        SCARDCONTEXT ctx;
        LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
        if (rv == SCARD_S_SUCCESS) {
            set_context(s, ctx, true);
            if (attempt) cp_info(s->o->json, "PC/SC service is back after %u attempts", attempt);
            return SCL_OK;
        }
        if (s->o->once)
            return scl_errf(e, SCL_E_PCSC, "SCardEstablishContext: %s (0x%08lX)",
                            pcsc_stringify_error(rv), (unsigned long)rv);
        attempt++;
        if ((attempt & (attempt - 1)) == 0)
            cp_info(s->o->json, "PC/SC service unavailable (%s); retrying (attempt %u)",
                    pcsc_stringify_error(rv), attempt);
        signals_sleep(&s->sig, delay);
        if (signals_stopping(&s->sig)) return SCL_OK;
        delay = delay * 2 > CP_BACKOFF_MAX_MS ? CP_BACKOFF_MAX_MS : delay * 2;
    }
    return SCL_OK;
}

/* ---- root certificates -------------------------------------------------- */

/* reader NULL: every root we added. */
static void remove_roots(struct cp_service *s, const char *reader, const char *why)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->nroots; i++) {
        struct cp_root *r = &s->roots[i];
        if (reader && strcmp(r->reader, reader) != 0) {
            s->roots[kept++] = *r;
            continue;
        }
        struct scl_err e = {0};
        char hex[41];
        scl_hex_encode(r->sha1, 20, hex, true);
        struct cp_event ev = {.kind = CP_EV_CERT_REMOVED,
                              .sha1 = hex,
                              .store = CS_STORE_SMARTCARD_ROOT,
                              .reason = why};
        int rc = s->root ? cs_store_delete(s->root, r->sha1, &e) : SCL_E_STATE;
        if (rc != SCL_OK && rc != SCL_E_NOTFOUND) {
            ev.kind = CP_EV_ERROR;
            ev.reason = e.msg;
        }
        if (rc != SCL_E_NOTFOUND) cp_emit(s->o->json, &ev);
    }
    s->nroots = kept;
}

static void track_root(struct cp_service *s, const uint8_t sha1[20], const char *reader)
{
    for (size_t i = 0; i < s->nroots; i++)
        if (!memcmp(s->roots[i].sha1, sha1, 20)) return;
    if (s->nroots == CP_ROOTS_MAX)
        return; /* cleanup is best effort past this many distinct roots */
    memcpy(s->roots[s->nroots].sha1, sha1, 20);
    snprintf(s->roots[s->nroots].reader, sizeof s->roots[0].reader, "%s", reader);
    s->nroots++;
}

/* ---- one card ----------------------------------------------------------- */

struct cp_cert_facts {
    bool ecc;
    bool self_signed_ca;
};

static int classify_cert(const uint8_t *der, size_t len, struct cp_cert_facts *f, struct scl_err *e)
{
    const uint8_t *q = der;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    if (!x) return scl_errf(e, SCL_E_CRYPTO, "certificate does not parse");
    EVP_PKEY *pk = X509_get0_pubkey(x);
    f->ecc = pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC;
    /* X509_check_issued on itself = subject matches issuer and the key ids
     * agree; X509_check_ca >= 1 = basicConstraints cA (or a v1 root). */
    f->self_signed_ca = X509_check_issued(x, x) == X509_V_OK && X509_check_ca(x) >= 1 && pk &&
                        X509_verify(x, pk) == 1;
    X509_free(x);
    return SCL_OK;
}

static int open_store(struct cp_service *s, bool root, struct scl_err *e)
{
    if (root && !s->root)
        return cs_store_open(CS_SCOPE_MACHINE, s->o->machine, CS_STORE_SMARTCARD_ROOT, true,
                             &s->root, e);
    if (!root && !s->my)
        return cs_store_open(CS_SCOPE_USER, s->o->profile, CS_STORE_MY, true, &s->my, e);
    return SCL_OK;
}

static void propagate_root(struct cp_service *s, const struct cp_card_cert *c, struct cp_event *ev)
{
    struct scl_err e = {0};
    enum cs_add_outcome outcome;
    const char *why = !s->policy.enable_root_propagation
                          ? "self-signed CA certificate; EnableRootCertificatePropagation is 0"
                      : !s->o->machine ? "self-signed CA certificate; no --machine root given"
                                       : NULL;
    ev->store = CS_STORE_SMARTCARD_ROOT;
    if (why) {
        ev->kind = CP_EV_SKIPPED;
        ev->reason = why;
    } else if (open_store(s, true, &e) != SCL_OK ||
               cs_store_add(s->root, c->der, c->len, NULL, CS_ADD_REPLACE_INHERIT, &outcome, &e) !=
                   SCL_OK) {
        ev->kind = CP_EV_ERROR;
        ev->reason = e.msg;
    } else {
        ev->kind = CP_EV_CERT_ADDED;
        ev->container = NULL;
        /* Only roots this service created are ours to clean up. */
        uint8_t sha1[20];
        if (outcome == CS_ADDED && scl_hex_decode(ev->sha1, sha1, sizeof sha1) == 20)
            track_root(s, sha1, ev->reader);
    }
    cp_emit(s->o->json, ev);
}

static void propagate_personal(struct cp_service *s, const struct cp_card_cert *c, bool ecc,
                               struct cp_event *ev)
{
    struct scl_err e = {0};
    struct cs_key_prov_info kpi;
    /* The CSP cannot hold ECC keys, so those always get the KSP form. */
    if (ecc || s->policy.key_provider == CP_KEY_PROVIDER_KSP)
        cs_kpi_ksp(&kpi, c->container);
    else
        cs_kpi_base_csp(&kpi, c->container, CS_AT_KEYEXCHANGE);
    ev->store = CS_STORE_MY;
    ev->provider = kpi.provider;
    /* Written once: nothing ever revisits this property after the card leaves. */
    if (open_store(s, false, &e) != SCL_OK ||
        cs_store_add(s->my, c->der, c->len, &kpi, CS_ADD_REPLACE_INHERIT, NULL, &e) != SCL_OK) {
        ev->kind = CP_EV_ERROR;
        ev->reason = e.msg;
        ev->provider = NULL;
    } else {
        ev->kind = CP_EV_CERT_ADDED;
    }
    cp_emit(s->o->json, ev);
}

static void propagate_cert(struct cp_service *s, int reader, const struct cp_card_cert *c)
{
    struct scl_err e = {0};
    struct cs_cert_info *ci = calloc(1, sizeof *ci);
    struct cp_cert_facts f = {0};
    char sha1[41] = "";
    uint8_t md[20];
    unsigned mdlen = 0;
    EVP_Digest(c->der, c->len, md, &mdlen, EVP_sha1(), NULL);
    scl_hex_encode(md, 20, sha1, true);
    struct cp_event ev = {
        .reader = s->readers[reader].name, .sha1 = sha1, .container = c->container};
    if (!ci || cs_cert_info(c->der, c->len, ci, &e) != SCL_OK ||
        classify_cert(c->der, c->len, &f, &e) != SCL_OK) {
        ev.kind = CP_EV_ERROR;
        ev.reason = ci ? e.msg : "out of memory";
        cp_emit(s->o->json, &ev);
        free(ci);
        return;
    }
    char subject[sizeof ci->subject + 4];
    snprintf(subject, sizeof subject, "%s", ci->subject);
    ev.subject = subject;
    if (f.self_signed_ca)
        propagate_root(s, c, &ev);
    else
        propagate_personal(s, c, f.ecc, &ev);
    free(ci);
}

static void emit_card_skips(struct cp_service *s, const struct cp_card *card)
{
    for (size_t i = 0; i < card->nskips; i++) {
        char container[CP_CONTAINER_NAME_MAX];
        cp_container_name(card->guid, card->skips[i].object_tag, container);
        struct cp_event ev = {.kind = CP_EV_SKIPPED,
                              .reader = card->reader,
                              .container = container,
                              .reason = card->skips[i].reason};
        cp_emit(s->o->json, &ev);
    }
}

static void format_guid(const uint8_t g[16], char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[0],
             g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13],
             g[14], g[15]);
}

/* A card arrived in reader i: read it whole, then write.  Reading everything
 * first is what keeps a card pulled mid-read from leaving a partial store. */
static void process_card(struct cp_service *s, int i)
{
    const char *reader = s->readers[i].name;
    struct cp_event ev = {.kind = CP_EV_CARD_INSERTED, .reader = reader};
    if (!s->policy.cert_prop_enabled) {
        cp_emit(s->o->json, &ev);
        ev.kind = CP_EV_SKIPPED;
        ev.reason = "propagation disabled by policy (CertPropEnabled=0)";
        cp_emit(s->o->json, &ev);
        return;
    }
    struct cp_card card;
    struct scl_err e = {0};
    char guid[37];
    int rc = cp_pcsc_read_card(s->ctx, reader, &card, &e);
    if (rc == SCL_OK) {
        format_guid(card.guid, guid);
        ev.guid = guid;
    }
    cp_emit(s->o->json, &ev);
    if (rc != SCL_OK) {
        ev.kind = rc == SCL_E_NOTFOUND ? CP_EV_SKIPPED : CP_EV_ERROR;
        if (rc == SCL_E_STATE)
            scl_err_wrap(&e, "card pulled (or stopped answering) during the read; nothing written");
        ev.reason = e.msg;
        cp_emit(s->o->json, &ev);
        return;
    }
    emit_card_skips(s, &card);
    for (size_t k = 0; k < card.ncerts; k++)
        propagate_cert(s, i, &card.certs[k]);
    cp_card_free(&card);
}

static void process_removal(struct cp_service *s, int i)
{
    struct cp_event ev = {.kind = CP_EV_CARD_REMOVED, .reader = s->readers[i].name};
    cp_emit(s->o->json, &ev);
    /* Personal certificates stay: CertPropSvc never removes them. */
    if (s->policy.root_cleanup == CP_ROOT_CLEANUP_ON_REMOVAL)
        remove_roots(s, s->readers[i].name, "RootCertificateCleanupOption=1 (card removed)");
}

/* ---- readers ------------------------------------------------------------ */

static int find_reader(const struct cp_service *s, const char *name)
{
    for (size_t i = 0; i < s->nreaders; i++)
        if (!strcmp(s->readers[i].name, name)) return (int)i;
    return -1;
}

static int refresh_readers(struct cp_service *s, struct scl_err *e)
{
    DWORD n = 0;
    char *list = NULL;
    LONG rv = SCardListReaders(s->ctx, NULL, NULL, &n);
    if (rv == SCARD_S_SUCCESS && (list = calloc(n + 1, 1)) != NULL)
        rv = SCardListReaders(s->ctx, NULL, list, &n);
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_NO_READERS_AVAILABLE) {
        free(list);
        return scl_errf(e, SCL_E_PCSC, "SCardListReaders: %s", pcsc_stringify_error(rv));
    }
    struct cp_reader next[CP_READERS_MAX];
    size_t nnext = 0;
    for (const char *r = rv == SCARD_S_SUCCESS ? list : NULL; r && *r && nnext < CP_READERS_MAX;
         r += strlen(r) + 1) {
        int old = find_reader(s, r);
        if (old >= 0) {
            next[nnext] = s->readers[old];
        } else {
            memset(&next[nnext], 0, sizeof next[nnext]);
            snprintf(next[nnext].name, sizeof next[nnext].name, "%s", r);
            cp_info(s->o->json, "watching reader '%s'", r);
        }
        nnext++;
    }
    for (size_t i = 0; i < s->nreaders; i++) {
        bool kept = false;
        for (size_t k = 0; k < nnext; k++)
            kept |= !strcmp(next[k].name, s->readers[i].name);
        /* A reader that vanished took its card with it. */
        if (!kept && s->readers[i].handled) process_removal(s, (int)i);
    }
    memcpy(s->readers, next, nnext * sizeof next[0]);
    s->nreaders = nnext;
    free(list);
    return SCL_OK;
}

/* A transition in one reader: removal, insertion, or a swap between waits
 * (pcsc-lite counts card events in the high word of dwEventState). */
static void handle_reader_event(struct cp_service *s, int i, DWORD ev)
{
    struct cp_reader *r = &s->readers[i];
    bool present = ev & SCARD_STATE_PRESENT;
    bool swapped = r->handled && (r->state & 0xFFFF0000u) != (ev & 0xFFFF0000u);
    r->state = ev & ~(DWORD)SCARD_STATE_CHANGED;
    if (r->handled && (!present || swapped)) {
        r->handled = false;
        process_removal(s, i);
    }
    if (!present || r->handled) return;
    r->handled = true;
    if (ev & SCARD_STATE_MUTE) {
        struct cp_event e = {
            .kind = CP_EV_SKIPPED, .reader = r->name, .reason = "card does not answer (mute)"};
        cp_emit(s->o->json, &e);
        return;
    }
    process_card(s, i);
}

/* One SCardGetStatusChange round over the PnP pseudo-reader and every reader. */
static int wait_round(struct cp_service *s, DWORD timeout, bool *relist, struct scl_err *e)
{
    SCARD_READERSTATE rs[CP_READERS_MAX + 1];
    memset(rs, 0, sizeof rs);
    rs[0].szReader = cp_pnp_reader;
    rs[0].dwCurrentState = s->pnp_state;
    for (size_t i = 0; i < s->nreaders; i++) {
        rs[i + 1].szReader = s->readers[i].name;
        rs[i + 1].dwCurrentState = s->readers[i].state;
    }
    if (signals_stopping(&s->sig)) return SCL_OK;
    LONG rv = SCardGetStatusChange(s->ctx, timeout, rs, (DWORD)s->nreaders + 1);
    if (rv == SCARD_E_TIMEOUT || rv == SCARD_E_CANCELLED) return SCL_OK;
    if (rv == SCARD_E_UNKNOWN_READER) {
        *relist = true;
        return SCL_OK;
    }
    if (rv != SCARD_S_SUCCESS)
        return scl_errf(e, pcsc_service_gone(rv) ? SCL_E_IO : SCL_E_PCSC,
                        "SCardGetStatusChange: %s (0x%08lX)", pcsc_stringify_error(rv),
                        (unsigned long)rv);
    if (rs[0].dwEventState & SCARD_STATE_CHANGED) *relist = true;
    s->pnp_state = rs[0].dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
    for (size_t i = 0; i < s->nreaders && !signals_stopping(&s->sig); i++) {
        DWORD ev = rs[i + 1].dwEventState;
        if (ev & (SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE))
            *relist = true;
        else if ((ev & SCARD_STATE_CHANGED) || s->readers[i].state == SCARD_STATE_UNAWARE)
            handle_reader_event(s, (int)i, ev);
    }
    return SCL_OK;
}

static void reload_policy(struct cp_service *s)
{
    struct scl_err e = {0};
    if (!s->o->policy_path) {
        cp_info(s->o->json, "SIGHUP: no --policy file; defaults stay in force");
        return;
    }
    if (cp_policy_load(s->o->policy_path, &s->policy, &e) != SCL_OK) {
        struct cp_event ev = {.kind = CP_EV_ERROR, .reason = e.msg};
        cp_emit(s->o->json, &ev);
        cp_info(s->o->json, "SIGHUP: policy unchanged");
        return;
    }
    cp_info(s->o->json,
            "SIGHUP: policy reloaded: CertPropEnabled=%d "
            "EnableRootCertificatePropagation=%d RootCertificateCleanupOption=%d",
            s->policy.cert_prop_enabled, s->policy.enable_root_propagation,
            (int)s->policy.root_cleanup);
}

/* The loop: (re)connect, (re)list readers, wait, act; until a stop signal. */
static int run_loop(struct cp_service *s, struct scl_err *e)
{
    bool relist = true;
    while (!signals_stopping(&s->sig)) {
        int rc = ensure_context(s, e);
        if (rc != SCL_OK || signals_stopping(&s->sig)) return rc;
        if (signals_take_reload(&s->sig)) reload_policy(s);
        if (relist) {
            relist = false;
            rc = refresh_readers(s, e);
        }
        if (rc == SCL_OK) rc = wait_round(s, s->o->once ? 0 : CP_WAIT_MS, &relist, e);
        if (rc == SCL_OK && s->o->once) return SCL_OK;
        if (rc == SCL_OK) continue;
        if (s->o->once) return rc;
        /* pcscd went away (or refused): start over with a fresh context. */
        cp_info(s->o->json, "%s; reconnecting", e->msg);
        drop_context(s);
        relist = true;
        signals_sleep(&s->sig, CP_BACKOFF_MIN_MS);
    }
    return SCL_OK;
}

static void log_policy(const struct cp_service *s)
{
    cp_info(s->o->json,
            "policy%s%s: CertPropEnabled=%d EnableRootCertificatePropagation=%d "
            "RootCertificateCleanupOption=%d (%s) KeyProvider=%s",
            s->o->policy_path ? " from " : " (defaults)",
            s->o->policy_path ? s->o->policy_path : "", s->policy.cert_prop_enabled,
            s->policy.enable_root_propagation, (int)s->policy.root_cleanup,
            cp_root_cleanup_name(s->policy.root_cleanup),
            s->policy.key_provider == CP_KEY_PROVIDER_KSP ? "KSP" : "CSP");
    if (!s->policy.cert_prop_enabled) cp_info(s->o->json, "propagation disabled by policy");
}

int cp_service_run(const struct cp_service_opts *o, struct scl_err *e)
{
    struct cp_service *s = calloc(1, sizeof *s);
    if (!s) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    s->o = o;
    cp_policy_defaults(&s->policy);
    pthread_mutex_init(&s->sig.lock, NULL);
    pthread_cond_init(&s->sig.wake, NULL);
    int rc = o->policy_path ? cp_policy_load(o->policy_path, &s->policy, e) : SCL_OK;
    if (rc == SCL_OK && !o->once) rc = signals_start(&s->sig, e);
    if (rc == SCL_OK) {
        log_policy(s);
        rc = run_loop(s, e);
    }
    /* "Logoff": the service ending is the session ending. */
    if (s->policy.root_cleanup == CP_ROOT_CLEANUP_ON_LOGOFF && !o->once)
        remove_roots(s, NULL, "RootCertificateCleanupOption=2 (logoff)");
    drop_context(s);
    signals_stop(&s->sig);
    if (s->my) cs_store_close(s->my);
    if (s->root) cs_store_close(s->root);
    pthread_cond_destroy(&s->sig.wake);
    pthread_mutex_destroy(&s->sig.lock);
    free(s);
    return rc;
}
