/*
 * client.c - the headless FreeRDP 2 client behind `scardlab connect`: picks
 * the .rdp file (mstsc's Default.rdp when none is given), connects, prints
 * one line per connection event, and stays until a signal or the server ends
 * the session.  Not for argument parsing (cmd_connect.c) or settings
 * (client_settings.c).
 */
#include "rdp_channel.h"

#include <freerdp/channels/channels.h>
#include <freerdp/channels/rdpgfx.h>
#include <freerdp/client/channels.h>
#include <freerdp/client/cmdline.h>
#include <freerdp/client/rdpgfx.h>
#include <freerdp/event.h>
#include <freerdp/freerdp.h>
#include <freerdp/gdi/gdi.h>
#include <freerdp/gdi/gfx.h>
#include <freerdp/settings.h>
#include <winpr/synch.h>

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rc_client_load_plugin(const struct rc_connect_opts *o, char *path, size_t cap,
                          struct scl_err *e);
int rc_client_send_rdpdr(const uint8_t *pdu, size_t n);

/* Held whenever the main thread works the transport, so the plug-in can send
 * its completions from rdpdr's thread (OpenSSL's SSL object takes one thread
 * at a time).  Recursive: the plug-in also answers on the main thread, inside
 * freerdp_check_event_handles. */
static pthread_mutex_t transport_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static freerdp *lent_instance; /* set while connected; under transport_lock */
static UINT16 lent_rdpdr_id;

int rc_client_send_rdpdr(const uint8_t *pdu, size_t n)
{
    pthread_mutex_lock(&transport_lock);
    int r = 0;
    if (lent_instance && lent_rdpdr_id)
        r = !pdu || lent_instance->SendChannelData(lent_instance, lent_rdpdr_id, pdu, n) ? 1 : -1;
    pthread_mutex_unlock(&transport_lock);
    return r;
}

static void client_lend_transport(freerdp *instance)
{
    pthread_mutex_lock(&transport_lock);
    lent_instance = instance;
    lent_rdpdr_id = instance ? freerdp_channels_get_id_by_name(instance, "rdpdr") : 0;
    pthread_mutex_unlock(&transport_lock);
}

struct rc_context {
    rdpContext context; /* first: FreeRDP casts */
    bool cert_refused;
};

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* One line per event on stdout, flushed: tests and users follow it live. */
static void client_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void client_event(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("scardlab connect: ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
}

static void on_channel_connected(void *ctx, ChannelConnectedEventArgs *e)
{
    rdpContext *context = ctx;
    client_event("channel %s connected", e->name);
    if (!strcmp(e->name, RDPGFX_DVC_CHANNEL_NAME))
        gdi_graphics_pipeline_init(context->gdi, (RdpgfxClientContext *)e->pInterface);
}

static void on_channel_disconnected(void *ctx, ChannelDisconnectedEventArgs *e)
{
    rdpContext *context = ctx;
    if (!strcmp(e->name, RDPGFX_DVC_CHANNEL_NAME))
        gdi_graphics_pipeline_uninit(context->gdi, (RdpgfxClientContext *)e->pInterface);
}

static BOOL client_pre_connect(freerdp *instance)
{
    rdpSettings *s = instance->settings;
    s->OsMajorType = OSMAJORTYPE_UNIX;
    s->OsMinorType = OSMINORTYPE_NATIVE_XSERVER;
    PubSub_SubscribeChannelConnected(instance->context->pubSub, on_channel_connected);
    PubSub_SubscribeChannelDisconnected(instance->context->pubSub, on_channel_disconnected);
    if (!freerdp_client_load_addins(instance->context->channels, s)) {
        client_event("failed: FreeRDP could not load the channels");
        return FALSE;
    }
    return TRUE;
}

/* Nothing is shown: a frame only resets the invalid region.  FreeRDP
 * treats a missing EndPaint as failure and drops the connection. */
static BOOL client_begin_paint(rdpContext *context)
{
    context->gdi->primary->hdc->hwnd->invalid->null = TRUE;
    return TRUE;
}

static BOOL client_end_paint(rdpContext *context)
{
    (void)context;
    return TRUE;
}

static BOOL client_post_connect(freerdp *instance)
{
    /* A framebuffer nobody looks at: the server's drawing orders need one. */
    if (!gdi_init(instance, PIXEL_FORMAT_XRGB32)) return FALSE;
    instance->update->BeginPaint = client_begin_paint;
    instance->update->EndPaint = client_end_paint;
    return TRUE;
}

static void client_post_disconnect(freerdp *instance)
{
    PubSub_UnsubscribeChannelConnected(instance->context->pubSub, on_channel_connected);
    PubSub_UnsubscribeChannelDisconnected(instance->context->pubSub, on_channel_disconnected);
    gdi_free(instance);
}

/* Headless: never prompt.  Credentials come from the file, /u: and
 * --password-env, or the connection fails. */
static BOOL client_authenticate(freerdp *instance, char **username, char **password, char **domain)
{
    (void)instance;
    (void)domain;
    if (*username && **username && *password) return TRUE;
    client_event("failed: credentials needed (username:s: or /u:, and --password-env VAR)");
    return FALSE;
}

static DWORD client_verify_certificate(freerdp *instance, const char *host, UINT16 port,
                                       const char *common_name, const char *subject,
                                       const char *issuer, const char *fingerprint, DWORD flags)
{
    (void)common_name;
    (void)issuer;
    (void)flags;
    ((struct rc_context *)instance->context)->cert_refused = true;
    client_event("certificate refused: %s:%u subject '%s' fingerprint %s is not trusted "
                 "(accept it with /cert:ignore or 'authentication level:i:0')",
                 host, port, subject, fingerprint);
    return 0;
}

static DWORD client_verify_changed_certificate(freerdp *instance, const char *host, UINT16 port,
                                               const char *common_name, const char *subject,
                                               const char *issuer, const char *fingerprint,
                                               const char *old_subject, const char *old_issuer,
                                               const char *old_fingerprint, DWORD flags)
{
    (void)old_subject;
    (void)old_issuer;
    (void)old_fingerprint;
    return client_verify_certificate(instance, host, port, common_name, subject, issuer,
                                     fingerprint, flags);
}

static BOOL client_new(freerdp *instance, rdpContext *context)
{
    (void)context;
    instance->PreConnect = client_pre_connect;
    instance->PostConnect = client_post_connect;
    instance->PostDisconnect = client_post_disconnect;
    instance->Authenticate = client_authenticate;
    instance->VerifyCertificateEx = client_verify_certificate;
    instance->VerifyChangedCertificateEx = client_verify_changed_certificate;
    return TRUE;
}

static void client_entry_points(RDP_CLIENT_ENTRY_POINTS *ep)
{
    memset(ep, 0, sizeof *ep);
    ep->Version = RDP_CLIENT_INTERFACE_VERSION;
    ep->Size = sizeof(RDP_CLIENT_ENTRY_POINTS_V1);
    ep->ContextSize = sizeof(struct rc_context);
    ep->ClientNew = client_new;
}

/* The file to use: the one given, or the profile's Default.rdp (created). */
static int pick_rdp_file(const struct rc_connect_opts *o, char *path, size_t cap)
{
    struct scl_err e = {0};
    if (o->rdp_file) {
        snprintf(path, cap, "%s", o->rdp_file);
        return SCL_OK;
    }
    const char *profile = o->profile ? o->profile : getenv("HOME");
    if (!profile) {
        client_event("failed: no --profile and no $HOME");
        return RC_EXIT_USAGE;
    }
    bool created;
    if (rc_default_rdp_ensure(profile, path, cap, &created, &e)) {
        client_event("failed: %s", e.msg);
        return RC_EXIT_RDPFILE;
    }
    client_event("%s %s", created ? "created" : "using", path);
    return SCL_OK;
}

/* After freerdp_connect: loop until told to stop or the session ends. */
static int client_loop(freerdp *instance)
{
    rdpContext *context = instance->context;
    while (!freerdp_shall_disconnect(instance) && !stop_signal) {
        HANDLE handles[64];
        DWORD n = freerdp_get_event_handles(context, handles, 64);
        if (n == 0) break;
        if (WaitForMultipleObjects(n, handles, FALSE, 100) == WAIT_FAILED) break;
        pthread_mutex_lock(&transport_lock);
        BOOL ok = freerdp_check_event_handles(context);
        pthread_mutex_unlock(&transport_lock);
        if (!ok) break;
    }
    if (stop_signal) {
        client_event("disconnecting: signal %d", (int)stop_signal);
        return RC_EXIT_OK;
    }
    UINT32 info = freerdp_error_info(instance);
    UINT32 last = freerdp_get_last_error(context);
    if (info) {
        client_event("server ended the session: %s", freerdp_get_error_info_string(info));
        return RC_EXIT_OK;
    }
    if (last == FREERDP_ERROR_SUCCESS) {
        client_event("server ended the session");
        return RC_EXIT_OK;
    }
    client_event("connection lost: %s", freerdp_get_last_error_string(last));
    return RC_EXIT_LOST;
}

static int client_connect(rdpContext *context)
{
    freerdp *instance = context->instance;
    rdpSettings *s = context->settings;
    client_event("connecting to %s:%u as %s", s->ServerHostname, s->ServerPort,
                 s->Username ? s->Username : "(no user)");
    if (!freerdp_connect(instance)) {
        UINT32 last = freerdp_get_last_error(context);
        bool cert = ((struct rc_context *)context)->cert_refused;
        client_event("failed: %s", freerdp_get_last_error_string(last));
        return cert ? RC_EXIT_CERT : RC_EXIT_CONNECT;
    }
    client_event("connected to %s:%u", s->ServerHostname, s->ServerPort);
    client_lend_transport(instance);
    int rc = client_loop(instance);
    client_lend_transport(NULL);
    freerdp_disconnect(instance);
    client_event("disconnected");
    return rc;
}

/* Settings from the file and options, the plug-in if smart cards go. */
static int client_prepare(rdpContext *context, struct rc_connect_opts *o)
{
    char path[PATH_MAX];
    int rc = pick_rdp_file(o, path, sizeof path);
    if (rc) return rc;
    struct rc_rdpfile f;
    struct scl_err e = {0};
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    if (rc_rdpfile_load(path, &f, &raw, &rawlen, &e)) {
        client_event("failed: %s", e.msg);
        return RC_EXIT_RDPFILE;
    }
    rc = rc_client_apply_settings(context->settings, o, path, &f, raw, rawlen, &e);
    rc_rdpfile_free(&f);
    free(raw);
    if (rc) {
        client_event("failed: %s", e.msg);
        return rc == SCL_E_FORMAT ? RC_EXIT_RDPFILE : RC_EXIT_USAGE;
    }
    if (!context->settings->ServerHostname || !context->settings->ServerHostname[0]) {
        client_event("failed: no server: set 'full address:s:' in %s or give /v:HOST", path);
        return RC_EXIT_USAGE;
    }
    if (!rc_client_redirects_smartcards(context->settings)) {
        client_event("smart cards not redirected (redirectsmartcards:i:0)");
        return SCL_OK;
    }
    char plugin[PATH_MAX];
    if (rc_client_load_plugin(o, plugin, sizeof plugin, &e)) {
        client_event("failed: smart-card plug-in: %s", e.msg);
        return RC_EXIT_PLUGIN;
    }
    client_event("smart cards redirected through %s", plugin);
    return SCL_OK;
}

int rc_client_run(struct rc_connect_opts *o)
{
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    RDP_CLIENT_ENTRY_POINTS ep;
    client_entry_points(&ep);
    rdpContext *context = freerdp_client_context_new(&ep);
    if (!context) {
        client_event("failed: FreeRDP could not create a client context");
        return RC_EXIT_CONNECT;
    }
    int rc = client_prepare(context, o);
    if (rc == SCL_OK) {
        if (freerdp_client_start(context) != 0) {
            client_event("failed: FreeRDP client start");
            rc = RC_EXIT_CONNECT;
        } else {
            rc = client_connect(context);
            freerdp_client_stop(context);
        }
    }
    freerdp_client_context_free(context);
    return rc;
}
