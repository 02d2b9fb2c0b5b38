/*
 * host_peer.c - the RDP listener and one thread per connected client: TLS /
 * NLA setup, user check, the session's life (folder, PC/SC socket, rdpdr
 * channel, certprop), the peer loop that pumps the transport and the rdpdr
 * static channel, and teardown.  Not for rdpdr or PC/SC logic themselves.
 */
#include "host_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <freerdp/channels/channels.h>
#include <freerdp/channels/wtsvc.h>
#include <freerdp/freerdp.h>
#include <freerdp/listener.h>
#include <freerdp/peer.h>
#include <freerdp/settings.h>
#include <winpr/ssl.h>
#include <winpr/synch.h>
#include <winpr/wtsapi.h>

#define HOST_TEARDOWN_MS 10000
#define HOST_EXIT_WAIT_S 30

struct host_server {
    struct host_config *cfg;
    char sam[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
    HANDLE stop; /* manual-reset: SIGTERM/SIGINT */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned live; /* peer threads running */
    enum host_service svc;
    uint32_t next_client_id;
    struct host_peer *peers;
};

struct host_peer {
    rdpContext ctx; /* first: libfreerdp allocates ContextSize bytes */
    struct host_server *srv;
    HANDLE vcm;
    HANDLE rdpdr_h;
    UINT16 rdpdr_id;
    HANDLE rdpdr_event;
    /* Held around every use of the transport (recursive: the peer thread
     * writes rdpdr PDUs while it drains them).  OpenSSL's SSL object takes
     * one thread at a time, and with it a card call's thread sends its own
     * IRP instead of waking the peer thread to send it. */
    pthread_mutex_t io;
    /* The Server Announce waits until libfreerdp is done with the turn that
     * logged the user on (its Demand Active goes first). */
    bool announce_due;
    struct rdpdr_chan *rdpdr;
    struct scard_backend *be;
    char nla_user[HOST_NAME_MAX_LEN];
    const struct host_user *user;
    char name[HOST_NAME_MAX_LEN + 16]; /* "alice-1", or the client address before logon */
    char dir[PATH_MAX], sock[PATH_MAX];
    pid_t certprop; /* under srv->mu */
    bool started;
    volatile bool teardown_done;
    struct host_peer *next;
};

static void host_logf(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void host_logf(const char *who, const char *fmt, ...)
{
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "scardlab host: %s: %s\n", who, line);
}

static void peer_log_line(void *ctx, const char *line)
{
    struct host_peer *p = ctx;
    host_logf(p->name, "%s", line);
}

/* ---- rdpdr channel glue --------------------------------------------------------- */

/* Sent at once on the caller's thread, not queued for the peer thread:
 * every rdpdr PDU takes this path, so their order holds. */
static bool peer_rdpdr_write(void *ctx, const uint8_t *buf, size_t n)
{
    struct host_peer *p = ctx;
    freerdp_peer *client = p->ctx.peer;
    pthread_mutex_lock(&p->io);
    bool ok = p->rdpdr_h && client->SendChannelData(client, p->rdpdr_id, buf, n);
    pthread_mutex_unlock(&p->io);
    return ok;
}

static void peer_smartcard_ready(void *ctx, uint32_t DeviceId)
{
    struct host_peer *p = ctx;
    (void)DeviceId;
    if (p->be)
        scard_backend_device_ready(p->be);
}

/* Hand every queued rdpdr PDU to the channel; false: drop the session. */
static bool peer_rdpdr_drain(struct host_peer *p)
{
    ULONG n = 0;
    while (p->rdpdr_h && WTSVirtualChannelRead(p->rdpdr_h, 0, NULL, 0, &n)) {
        struct scl_err e;
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
            return false;
        ULONG got = 0;
        if (!WTSVirtualChannelRead(p->rdpdr_h, 0, (PCHAR)buf, n, &got)) {
            free(buf);
            return false;
        }
        int rc = rdpdr_chan_receive(p->rdpdr, buf, got, &e);
        free(buf);
        if (rc) {
            host_logf(p->name, "rdpdr protocol error, dropping the session: %s", e.msg);
            return false;
        }
    }
    return true;
}

static bool peer_rdpdr_announce(struct host_peer *p)
{
    struct scl_err e;
    p->announce_due = false;
    if (rdpdr_chan_start(p->rdpdr, &e)) {
        host_logf(p->name, "%s", e.msg);
        return false;
    }
    host_logf(p->name, "rdpdr: Server Announce sent");
    return true;
}

/* One turn of the transport, the channel manager and rdpdr; false, with
 * *why, when the session cannot go on. */
static bool peer_pump(freerdp_peer *client, struct host_peer *p, const char **why)
{
    pthread_mutex_lock(&p->io);
    *why = !client->CheckFileDescriptor(client)                  ? "client disconnected"
           : p->announce_due && !peer_rdpdr_announce(p)           ? "rdpdr announce failed"
           : !WTSVirtualChannelManagerCheckFileDescriptor(p->vcm) ? "virtual channels failed"
           : !peer_rdpdr_drain(p)                                 ? "rdpdr protocol error"
                                                                  : NULL;
    pthread_mutex_unlock(&p->io);
    return !*why;
}

/* ---- session life --------------------------------------------------------------- */

static int peer_session_dir(struct host_peer *p, struct scl_err *e)
{
    const struct host_config *cfg = p->srv->cfg;
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s/sessions", cfg->state_dir);
    if (scl_mkdirs(base, 0700, e))
        return SCL_E_IO;
    for (unsigned n = 1; n < 100000; n++) {
        snprintf(p->dir, sizeof p->dir, "%s/%s-%u", base, p->user->name, n);
        if (!mkdir(p->dir, 0700)) {
            snprintf(p->name, sizeof p->name, "%s-%u", p->user->name, n);
            snprintf(p->sock, sizeof p->sock, "%s/pcscd.comm", p->dir);
            return SCL_OK;
        }
        if (errno != EEXIST)
            return scl_errf(e, SCL_E_IO, "%s: %s", p->dir, strerror(errno));
    }
    return scl_errf(e, SCL_E_IO, "%s: no free session number", base);
}

/* STATE/users/<user>/current -> the session folder, replaced atomically. */
static int peer_link_current(struct host_peer *p, struct scl_err *e)
{
    char udir[PATH_MAX], tmp[PATH_MAX + 32], cur[PATH_MAX + 16];
    snprintf(udir, sizeof udir, "%s/users/%s", p->srv->cfg->state_dir, p->user->name);
    if (scl_mkdirs(udir, 0700, e))
        return SCL_E_IO;
    snprintf(tmp, sizeof tmp, "%s/.current.%d.%p", udir, (int)getpid(), (void *)p);
    snprintf(cur, sizeof cur, "%s/current", udir);
    unlink(tmp);
    if (symlink(p->dir, tmp) || rename(tmp, cur)) {
        unlink(tmp);
        return scl_errf(e, SCL_E_IO, "%s: %s", cur, strerror(errno));
    }
    return SCL_OK;
}

static void peer_unlink_current(struct host_peer *p)
{
    char cur[PATH_MAX + 16], target[PATH_MAX];
    snprintf(cur, sizeof cur, "%s/users/%s/current", p->srv->cfg->state_dir, p->user->name);
    ssize_t n = readlink(cur, target, sizeof target - 1);
    if (n > 0) {
        target[n] = 0;
        if (!strcmp(target, p->dir))
            unlink(cur); /* a newer session of the same user keeps its link */
    }
}

/* Start or stop this session's certprop to match the service state; called
 * with srv->mu held. */
static void peer_service_apply(struct host_peer *p, enum host_service svc)
{
    struct scl_err e;
    if (!p->started)
        return;
    if (svc == HOST_SVC_RUNNING && !p->certprop) {
        if (host_certprop_start(p->srv->cfg, svc, p->user, p->dir, p->sock, &p->certprop, &e))
            host_logf(p->name, "certprop not started: %s", e.msg);
        else
            host_logf(p->name, "certprop started, pid %d", (int)p->certprop);
    } else if (svc != HOST_SVC_RUNNING && p->certprop) {
        host_certprop_stop(p->certprop, p->dir);
        host_logf(p->name, "certprop pid %d stopped (service %s)", (int)p->certprop,
                  host_service_name(svc));
        p->certprop = 0;
    }
}

/* A mapped user's profile folder: made 0700 for the account when missing.
 * An existing one must already be the account's: root does not hand over a
 * folder that belongs to someone else. */
static int peer_profile_own(const struct host_user *u, struct scl_err *e)
{
    struct stat st;
    if (!mkdir(u->profile, 0700)) {
        /* lchown: a swapped-in symlink is not followed to its target. */
        if (lchown(u->profile, u->uid, u->gid))
            return scl_errf(e, SCL_E_IO, "profile %s: chown to %s: %s", u->profile,
                            u->local_account, strerror(errno));
        return SCL_OK;
    }
    if (errno != EEXIST)
        return scl_errf(e, SCL_E_IO, "profile %s: mkdir: %s", u->profile, strerror(errno));
    if (lstat(u->profile, &st))
        return scl_errf(e, SCL_E_IO, "profile %s: %s", u->profile, strerror(errno));
    if (!S_ISDIR(st.st_mode) || st.st_uid != u->uid)
        return scl_errf(e, SCL_E_STATE,
                        "profile %s: must be a folder owned by local account %s (uid %lu); it is "
                        "%s owned by uid %lu",
                        u->profile, u->local_account, (unsigned long)u->uid,
                        S_ISDIR(st.st_mode) ? "a folder" : "not a folder",
                        (unsigned long)st.st_uid);
    return SCL_OK;
}

/* Hand a mapped user's session to the account, once the host has written
 * everything it writes as root in the folder (the socket among them). */
static int peer_session_own(struct host_peer *p, struct scl_err *e)
{
    const struct host_user *u = p->user;
    if (!u->local_account[0])
        return SCL_OK;
    if (lchown(p->dir, u->uid, u->gid))
        return scl_errf(e, SCL_E_IO, "%s: chown to %s: %s", p->dir, u->local_account,
                        strerror(errno));
    return peer_profile_own(u, e);
}

static bool peer_resolve_user(struct host_peer *p)
{
    const struct host_config *cfg = p->srv->cfg;
    rdpSettings *s = p->ctx.peer->settings;
    const char *name = cfg->auth == HOST_AUTH_NLA ? p->nla_user : s->Username;
    if (!name || !name[0]) {
        host_logf(p->name, "refused: no user name");
        return false;
    }
    const struct host_user *u = host_config_user(cfg, name);
    if (!u) {
        host_logf(p->name, "refused: unknown user '%s'", name);
        return false;
    }
    /* TLS-only: the password arrives in the Client Info PDU (weaker: no
     * proof before the session starts, and the server sees the password). */
    if (cfg->auth == HOST_AUTH_TLS && (!s->Password || strcmp(s->Password, u->password))) {
        host_logf(p->name, "refused: wrong password for '%s'", name);
        return false;
    }
    p->user = u;
    return true;
}

static int peer_session_start(struct host_peer *p, struct scl_err *e)
{
    struct host_server *srv = p->srv;
    int rc = peer_session_dir(p, e);
    if (rc)
        return rc;
    struct rdpdr_chan_cb cb = {.ctx = p,
                               .write = peer_rdpdr_write,
                               .smartcard_ready = peer_smartcard_ready,
                               .log = peer_log_line};
    pthread_mutex_lock(&srv->mu);
    uint32_t client_id = ++srv->next_client_id;
    pthread_mutex_unlock(&srv->mu);
    p->rdpdr = rdpdr_chan_new(&cb, srv->cfg->enable_smartcard, client_id);
    if (!p->rdpdr)
        return scl_errf(e, SCL_E_NOMEM, "rdpdr: out of memory");
    /* A mapped user's socket serves the account alone: "refuses every other
     * uid", root and the host's own included. */
    const struct host_user *u = p->user;
    bool mapped = u->local_account[0] != 0;
    if ((rc = scard_backend_start(p->rdpdr, p->sock, mapped ? u->uid : getuid(),
                                  mapped ? PCSOCK_PEERS_UID_ONLY : PCSOCK_PEERS_UID_AND_ROOT,
                                  peer_log_line, p, &p->be, e)))
        return rc;
    char prof[PATH_MAX + 16];
    snprintf(prof, sizeof prof, "%s/profile", p->dir);
    if ((rc = scl_write_atomic(prof, p->user->profile, strlen(p->user->profile), 0600, e)))
        return rc;
    if ((rc = peer_session_own(p, e)) || (rc = peer_link_current(p, e)))
        return rc;
    if (mapped)
        host_logf(p->name,
                  "session started for user %s (local account %s, uid %lu): dir %s, "
                  "PC/SC socket %s",
                  u->name, u->local_account, (unsigned long)u->uid, p->dir, p->sock);
    else
        host_logf(p->name, "session started for user %s: dir %s, PC/SC socket %s", u->name, p->dir,
                  p->sock);
    pthread_mutex_lock(&srv->mu);
    p->started = true;
    peer_service_apply(p, srv->svc);
    pthread_mutex_unlock(&srv->mu);
    if (WTSVirtualChannelManagerIsChannelJoined(p->vcm, "rdpdr")) {
        void *ev = NULL;
        DWORD n = 0;
        p->rdpdr_h = WTSVirtualChannelOpen(p->vcm, WTS_CURRENT_SESSION, "rdpdr");
        if (!p->rdpdr_h)
            return scl_errf(e, SCL_E_IO, "rdpdr: WTSVirtualChannelOpen failed");
        if (!WTSVirtualChannelQuery(p->rdpdr_h, WTSVirtualEventHandle, &ev, &n) || !ev)
            return scl_errf(e, SCL_E_IO, "rdpdr: no event handle for the channel");
        p->rdpdr_event = *(HANDLE *)ev;
        free(ev);
        p->rdpdr_id = WTSChannelGetId(p->ctx.peer, "rdpdr");
        p->announce_due = true;
    } else {
        host_logf(p->name, "client did not join rdpdr: no device redirection");
    }
    return SCL_OK;
}

/* Certprop first (the user logs off), then the smart-card teardown, then
 * the socket; the caller keeps pumping the channel meanwhile. */
static void peer_session_end(struct host_peer *p)
{
    struct host_server *srv = p->srv;
    pthread_mutex_lock(&srv->mu);
    pid_t cp = p->certprop;
    p->certprop = 0;
    p->started = false;
    pthread_mutex_unlock(&srv->mu);
    if (cp) {
        host_certprop_stop(cp, p->dir);
        host_logf(p->name, "certprop pid %d stopped (logoff)", (int)cp);
    }
    scard_backend_stop(p->be);
    p->be = NULL;
    if (p->user && p->dir[0])
        peer_unlink_current(p);
    p->teardown_done = true;
}

static void *peer_teardown_thread(void *arg)
{
    peer_session_end(arg);
    return NULL;
}

/* ---- libfreerdp callbacks ----------------------------------------------------------- */

static BOOL peer_context_new(freerdp_peer *client, rdpContext *ctx)
{
    struct host_peer *p = (struct host_peer *)ctx;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&p->io, &a);
    pthread_mutexattr_destroy(&a);
    p->srv = client->ContextExtra;
    p->vcm = WTSOpenServerA((LPSTR)ctx);
    snprintf(p->name, sizeof p->name, "peer %s", client->hostname);
    return p->vcm && p->vcm != INVALID_HANDLE_VALUE;
}

static void peer_context_free(freerdp_peer *client, rdpContext *ctx)
{
    struct host_peer *p = (struct host_peer *)ctx;
    (void)client;
    if (p->rdpdr_h)
        WTSVirtualChannelClose(p->rdpdr_h);
    p->rdpdr_h = NULL;
    if (p->vcm && p->vcm != INVALID_HANDLE_VALUE)
        WTSCloseServer(p->vcm);
    rdpdr_chan_free(p->rdpdr);
    p->rdpdr = NULL;
    pthread_mutex_destroy(&p->io);
}

static BOOL peer_logon(freerdp_peer *client, SEC_WINNT_AUTH_IDENTITY *identity, BOOL automatic)
{
    struct host_peer *p = (struct host_peer *)client->context;
    if (automatic && identity && identity->User && identity->UserLength) {
        char *u = NULL;
        if (ConvertFromUnicode(CP_UTF8, 0, (WCHAR *)identity->User, (int)identity->UserLength, &u,
                               0, NULL, NULL) > 0 && u) {
            snprintf(p->nla_user, sizeof p->nla_user, "%s", u);
            host_logf(p->name, "NLA authenticated user '%s'", p->nla_user);
        }
        free(u);
    }
    return TRUE;
}

static BOOL peer_post_connect(freerdp_peer *client)
{
    struct host_peer *p = (struct host_peer *)client->context;
    struct scl_err e;
    if (!peer_resolve_user(p))
        return FALSE;
    if (peer_session_start(p, &e)) {
        host_logf(p->name, "session start failed: %s", e.msg);
        return FALSE;
    }
    return TRUE;
}

/* One small black bitmap: clients treat a session that never draws as not
 * yet active. */
static BOOL peer_activate(freerdp_peer *client)
{
    rdpSettings *s = client->settings;
    uint32_t bpp = s->ColorDepth == 15 ? 16 : s->ColorDepth ? s->ColorDepth : 32;
    const uint32_t w = 64, h = 64;
    uint8_t *pixels = calloc((size_t)w * h, (bpp + 7) / 8);
    if (!pixels)
        return FALSE;
    BITMAP_DATA bd = {.destLeft = 0, .destTop = 0, .destRight = w - 1, .destBottom = h - 1,
                      .width = w, .height = h, .bitsPerPixel = s->ColorDepth ? s->ColorDepth : 32,
                      .bitmapLength = (uint32_t)(w * h * ((bpp + 7) / 8)),
                      .bitmapDataStream = pixels};
    BITMAP_UPDATE bu = {.count = 1, .number = 1, .rectangles = &bd, .skipCompression = TRUE};
    BOOL ok = client->update->BitmapUpdate(client->context, &bu);
    free(pixels);
    return ok;
}

/* ---- the peer thread ------------------------------------------------------------------- */

static void peer_configure(freerdp_peer *client, struct host_server *srv)
{
    rdpSettings *s = client->settings;
    bool nla = srv->cfg->auth == HOST_AUTH_NLA;
    freerdp_settings_set_string(s, FreeRDP_CertificateFile, srv->cert);
    freerdp_settings_set_string(s, FreeRDP_PrivateKeyFile, srv->key);
    freerdp_settings_set_string(s, FreeRDP_NtlmSamFile, srv->sam);
    freerdp_settings_set_bool(s, FreeRDP_RdpSecurity, FALSE);
    freerdp_settings_set_bool(s, FreeRDP_TlsSecurity, !nla);
    freerdp_settings_set_bool(s, FreeRDP_NlaSecurity, nla);
    freerdp_settings_set_uint32(s, FreeRDP_ColorDepth, 32);
    client->Logon = peer_logon;
    client->PostConnect = peer_post_connect;
    client->Activate = peer_activate;
}

/* Keep pumping the transport and rdpdr while the teardown thread runs, so
 * the orderly smart-card goodbye reaches the client. */
static void peer_pump_teardown(freerdp_peer *client, struct host_peer *p)
{
    pthread_t t;
    if (pthread_create(&t, NULL, peer_teardown_thread, p)) {
        rdpdr_chan_close(p->rdpdr);
        peer_session_end(p);
        return;
    }
    uint64_t deadline = scl_now_ns() + (uint64_t)HOST_TEARDOWN_MS * 1000000u;
    bool alive = true;
    while (!p->teardown_done && scl_now_ns() < deadline && alive) {
        HANDLE h[40];
        DWORD n = client->GetEventHandles(client, h, 36);
        if (!n)
            break;
        h[n++] = WTSVirtualChannelManagerGetEventHandle(p->vcm);
        if (p->rdpdr_event)
            h[n++] = p->rdpdr_event;
        WaitForMultipleObjects(n, h, FALSE, 50);
        const char *why;
        alive = peer_pump(client, p, &why);
    }
    rdpdr_chan_close(p->rdpdr); /* gone or too slow: fail what still waits */
    pthread_join(t, NULL);
}

static const char *peer_loop(freerdp_peer *client, struct host_peer *p)
{
    HANDLE stop = p->srv->stop;
    for (;;) {
        HANDLE h[40];
        DWORD n = client->GetEventHandles(client, h, 36);
        if (!n)
            return "no transport handles";
        h[n++] = WTSVirtualChannelManagerGetEventHandle(p->vcm);
        if (p->rdpdr_event)
            h[n++] = p->rdpdr_event;
        h[n++] = stop;
        if (WaitForMultipleObjects(n, h, FALSE, INFINITE) == WAIT_FAILED)
            return "wait failed";
        if (WaitForSingleObject(stop, 0) == WAIT_OBJECT_0)
            return NULL;
        const char *why;
        if (!peer_pump(client, p, &why))
            return why;
    }
}

static void server_peer_add(struct host_server *srv, struct host_peer *p)
{
    pthread_mutex_lock(&srv->mu);
    p->next = srv->peers;
    srv->peers = p;
    pthread_mutex_unlock(&srv->mu);
}

static void server_peer_remove(struct host_server *srv, struct host_peer *p)
{
    pthread_mutex_lock(&srv->mu);
    for (struct host_peer **pp = &srv->peers; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    srv->live--;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

static void *peer_thread(void *arg)
{
    freerdp_peer *client = arg;
    struct host_server *srv = client->ContextExtra;
    client->ContextSize = sizeof(struct host_peer);
    client->ContextNew = peer_context_new;
    client->ContextFree = peer_context_free;
    if (!freerdp_peer_context_new(client)) {
        host_logf(client->hostname, "peer context failed");
        freerdp_peer_free(client);
        server_peer_remove(srv, NULL);
        return NULL;
    }
    struct host_peer *p = (struct host_peer *)client->context;
    server_peer_add(srv, p);
    peer_configure(client, srv);
    client->Initialize(client);
    host_logf(p->name, "connected");
    const char *why = peer_loop(client, p);
    if (!why) {
        host_logf(p->name, "host stopping: closing the session");
        if (p->be)
            peer_pump_teardown(client, p);
        /* Deactivate All + Disconnect Provider Ultimatum: the client learns
         * the server ended the session, rather than seeing a lost link. */
        client->Close(client);
    } else {
        host_logf(p->name, "%s", why);
        if (p->rdpdr)
            rdpdr_chan_close(p->rdpdr);
        if (p->be)
            peer_session_end(p);
    }
    host_logf(p->name, "session ended");
    server_peer_remove(srv, p);
    client->Disconnect(client);
    freerdp_peer_context_free(client);
    freerdp_peer_free(client);
    return NULL;
}

static BOOL server_peer_accepted(freerdp_listener *l, freerdp_peer *client)
{
    struct host_server *srv = l->info;
    pthread_t t;
    pthread_attr_t a;
    client->ContextExtra = srv;
    pthread_mutex_lock(&srv->mu);
    srv->live++;
    pthread_mutex_unlock(&srv->mu);
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &a, peer_thread, client);
    pthread_attr_destroy(&a);
    if (rc) {
        server_peer_remove(srv, NULL);
        return FALSE;
    }
    return TRUE;
}

/* ---- signals and the main loop ------------------------------------------------------------ */

static void server_reload_service(struct host_server *srv)
{
    struct host_config fresh;
    struct scl_err e;
    if (host_config_load(srv->cfg->path, &fresh, &e)) {
        host_logf("host", "SIGHUP: config not re-read: %s", e.msg);
        return;
    }
    pthread_mutex_lock(&srv->mu);
    srv->svc = fresh.certprop_service;
    host_logf("host", "SIGHUP: certprop service is now %s", host_service_name(srv->svc));
    for (struct host_peer *p = srv->peers; p; p = p->next)
        peer_service_apply(p, srv->svc);
    pthread_mutex_unlock(&srv->mu);
}

static void *server_signal_thread(void *arg)
{
    struct host_server *srv = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig))
            continue;
        if (sig == SIGHUP) {
            server_reload_service(srv);
            continue;
        }
        host_logf("host", "signal %d: stopping", sig);
        SetEvent(srv->stop);
        return NULL;
    }
}

/* Mapped accounts must reach their socket, STATE/sessions/U-N/pcscd.comm:
 * STATE and STATE/sessions become 0711 (enter, not list).  Each session
 * folder stays 0700, the account's; everything else in STATE stays 0600/0700. */
static int server_open_state(const struct host_config *cfg, struct scl_err *e)
{
    char sessions[PATH_MAX + 16];
    bool any = false;
    for (size_t i = 0; i < cfg->nusers; i++)
        any |= cfg->users[i].local_account[0] != 0;
    if (!any)
        return SCL_OK;
    snprintf(sessions, sizeof sessions, "%s/sessions", cfg->state_dir);
    if (scl_mkdirs(sessions, 0700, e))
        return SCL_E_IO;
    if (chmod(cfg->state_dir, 0711) || chmod(sessions, 0711))
        return scl_errf(e, SCL_E_IO, "%s: chmod 0711 (for local accounts): %s", cfg->state_dir,
                        strerror(errno));
    for (size_t i = 0; i < cfg->nusers; i++)
        if (cfg->users[i].local_account[0])
            host_logf("host", "user %s maps to local account %s (uid %lu, gid %lu)",
                      cfg->users[i].name, cfg->users[i].local_account,
                      (unsigned long)cfg->users[i].uid, (unsigned long)cfg->users[i].gid);
    return SCL_OK;
}

static int server_prepare(struct host_server *srv, struct scl_err *e)
{
    struct host_config *cfg = srv->cfg;
    char tls[PATH_MAX];
    if (scl_mkdirs(cfg->state_dir, 0700, e))
        return SCL_E_IO;
    if (cfg->tls_cert[0]) {
        snprintf(srv->cert, sizeof srv->cert, "%s", cfg->tls_cert);
        snprintf(srv->key, sizeof srv->key, "%s", cfg->tls_key);
    } else {
        snprintf(tls, sizeof tls, "%s/tls", cfg->state_dir);
        if (scl_mkdirs(tls, 0700, e))
            return SCL_E_IO;
        snprintf(srv->cert, sizeof srv->cert, "%s/server.crt", tls);
        snprintf(srv->key, sizeof srv->key, "%s/server.key", tls);
        if (host_tls_ensure(srv->cert, srv->key, e))
            return SCL_E_CRYPTO;
    }
    snprintf(srv->sam, sizeof srv->sam, "%s/sam", cfg->state_dir);
    int rc = host_sam_write(cfg, srv->sam, e);
    return rc ? rc : server_open_state(cfg, e);
}

static void server_wait_peers(struct host_server *srv)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += HOST_EXIT_WAIT_S;
    pthread_mutex_lock(&srv->mu);
    while (srv->live)
        if (pthread_cond_timedwait(&srv->cv, &srv->mu, &until))
            break;
    if (srv->live)
        host_logf("host", "%u session(s) did not end in %d s", srv->live, HOST_EXIT_WAIT_S);
    pthread_mutex_unlock(&srv->mu);
}

static int server_listen_loop(struct host_server *srv, freerdp_listener *l)
{
    for (;;) {
        HANDLE h[33];
        DWORD n = l->GetEventHandles(l, h, 32);
        if (!n)
            return SCL_E_IO;
        h[n++] = srv->stop;
        if (WaitForMultipleObjects(n, h, FALSE, INFINITE) == WAIT_FAILED)
            return SCL_E_IO;
        if (WaitForSingleObject(srv->stop, 0) == WAIT_OBJECT_0)
            return SCL_OK;
        if (!l->CheckFileDescriptor(l))
            return SCL_E_IO;
    }
}

int host_run(struct host_config *cfg, struct scl_err *e)
{
    struct host_server srv = {.cfg = cfg, .svc = cfg->certprop_service};
    sigset_t set;
    pthread_t sig;
    char pidfile[PATH_MAX];
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread; the signal thread sigwaits */
    signal(SIGPIPE, SIG_IGN);
    /* Before the SAM file: WinPR's MD4 (NT hash) needs OpenSSL 3's legacy
     * provider, which this loads. */
    winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT);
    int rc = server_prepare(&srv, e);
    if (rc)
        return rc;
    pthread_mutex_init(&srv.mu, NULL);
    pthread_cond_init(&srv.cv, NULL);
    WTSRegisterWtsApiFunctionTable(FreeRDP_InitWtsApi());
    srv.stop = CreateEvent(NULL, TRUE, FALSE, NULL);
    freerdp_listener *l = freerdp_listener_new();
    if (!l || !srv.stop)
        return scl_errf(e, SCL_E_NOMEM, "host: listener setup failed");
    l->info = &srv;
    l->PeerAccepted = server_peer_accepted;
    if (!l->Open(l, cfg->listen_host, cfg->port)) {
        freerdp_listener_free(l);
        CloseHandle(srv.stop);
        return scl_errf(e, SCL_E_IO, "host: cannot listen on %s:%u", cfg->listen_host, cfg->port);
    }
    snprintf(pidfile, sizeof pidfile, "%s/host.pid", cfg->state_dir);
    char pidtxt[32];
    int n = snprintf(pidtxt, sizeof pidtxt, "%d\n", (int)getpid());
    scl_write_atomic(pidfile, pidtxt, (size_t)n, 0600, NULL);
    pthread_create(&sig, NULL, server_signal_thread, &srv);
    host_logf("host", "listening on %s:%u (%s), state %s, fEnableSmartCard=%d, certprop %s",
              cfg->listen_host, cfg->port, cfg->auth == HOST_AUTH_NLA ? "TLS+NLA" : "TLS only",
              cfg->state_dir, cfg->enable_smartcard, host_service_name(srv.svc));
    rc = server_listen_loop(&srv, l);
    l->Close(l);
    SetEvent(srv.stop);
    server_wait_peers(&srv);
    if (rc == SCL_OK)
        pthread_join(sig, NULL);
    else
        pthread_detach(sig);
    unlink(pidfile);
    freerdp_listener_free(l);
    CloseHandle(srv.stop);
    host_logf("host", "stopped");
    return rc ? scl_errf(e, rc, "host: listener failed") : SCL_OK;
}
