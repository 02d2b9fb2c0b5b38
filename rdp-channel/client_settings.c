/*
 * client_settings.c - from a checked .rdp file and the command line to
 * FreeRDP settings, and the add-in provider that hands FreeRDP our smart-card
 * plug-in.  Not for the connection loop (client.c).
 */
#include "rdp_channel.h"

#include <freerdp/addin.h>
#include <freerdp/client/channels.h>
#include <freerdp/client/cmdline.h>
#include <freerdp/client/file.h>
#include <freerdp/freerdp.h>
#include <freerdp/settings.h>
#include <freerdp/svc.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* FreeRDP's command-line parser, applied on top of the file's settings. */
static int apply_overrides(rdpSettings *settings, const struct rc_connect_opts *o,
                           struct scl_err *e)
{
    if (o->n_overrides == 0) return SCL_OK;
    char *argv[RC_MAX_OVERRIDES + 2];
    argv[0] = "scardlab-connect";
    for (int i = 0; i < o->n_overrides; i++)
        argv[i + 1] = o->overrides[i];
    argv[o->n_overrides + 1] = NULL;
    int status =
        freerdp_client_settings_parse_command_line(settings, o->n_overrides + 1, argv, FALSE);
    if (status != 0)
        return scl_errf(e, SCL_E_INVAL,
                        "FreeRDP refused the options (status %d); see "
                        "'xfreerdp /help' for their syntax",
                        status);
    return SCL_OK;
}

static int apply_password(rdpSettings *settings, const struct rc_connect_opts *o, struct scl_err *e)
{
    if (!o->password_env) return SCL_OK;
    const char *pw = getenv(o->password_env);
    if (!pw)
        return scl_errf(e, SCL_E_INVAL, "--password-env %s: variable not set", o->password_env);
    if (!freerdp_settings_set_string(settings, FreeRDP_Password, pw))
        return scl_errf(e, SCL_E_NOMEM, "out of memory");
    return SCL_OK;
}

int rc_client_apply_settings(struct rdp_settings *settings, const struct rc_connect_opts *o,
                             const char *rdp_path, const struct rc_rdpfile *f, const uint8_t *raw,
                             size_t rawlen, struct scl_err *e)
{
    /* The buffer we checked, not the path: no second read that could differ. */
    rdpFile *file = freerdp_client_rdp_file_new();
    if (!file) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    bool ok = freerdp_client_parse_rdp_file_buffer(file, raw, rawlen) &&
              freerdp_client_populate_settings_from_rdp_file(file, settings);
    freerdp_client_rdp_file_free(file);
    if (!ok) return scl_errf(e, SCL_E_FORMAT, "%s: FreeRDP could not apply the file", rdp_path);
    int rc = apply_overrides(settings, o, e);
    if (!rc) rc = apply_password(settings, o, e);
    if (rc) return rc;
    /* 'Connect and don't warn me': the only file-borne way to skip checks. */
    if (rc_rdpfile_int(f, "authentication level", 2) == 0)
        freerdp_settings_set_bool(settings, FreeRDP_IgnoreCertificate, TRUE);
    return SCL_OK;
}

bool rc_client_redirects_smartcards(struct rdp_settings *settings)
{
    return freerdp_settings_get_bool(settings, FreeRDP_RedirectSmartCards) ||
           freerdp_device_collection_find_type(settings, RDPDR_DTYP_SMARTCARD) != NULL;
}

/* ---- the add-in provider ----------------------------------------------------- */

static PVIRTUALCHANNELENTRY plugin_entry;
static rc_plugin_channel_data_fn plugin_channel_data;

/* FreeRDP's rdpdr channel, with its data shown to the plug-in on the main
 * thread first, so a plain Transmit is answered there instead of being
 * queued for rdpdr's thread (docs/client.md).  One rdpdr per client. */
static PVIRTUALCHANNELENTRYEX rdpdr_entry;
static PVIRTUALCHANNELOPENEX rdpdr_open;
static PCHANNEL_OPEN_EVENT_EX_FN rdpdr_event;

static VOID VCAPITYPE rdpdr_event_shown(LPVOID user, DWORD open, UINT event, LPVOID data,
                                        UINT32 len, UINT32 total, UINT32 flags)
{
    if (event == CHANNEL_EVENT_DATA_RECEIVED && data && (flags & CHANNEL_FLAG_FIRST) &&
        plugin_channel_data(data, len, (flags & CHANNEL_FLAG_LAST) && len == total))
        return;
    rdpdr_event(user, open, event, data, len, total, flags);
}

static UINT VCAPITYPE rdpdr_open_shown(LPVOID init, LPDWORD open, PCHAR name,
                                       PCHANNEL_OPEN_EVENT_EX_FN event)
{
    rdpdr_event = event;
    return rdpdr_open(init, open, name, rdpdr_event_shown);
}

static BOOL VCAPITYPE rdpdr_entry_shown(PCHANNEL_ENTRY_POINTS_EX ep, PVOID init)
{
    const CHANNEL_ENTRY_POINTS_FREERDP_EX *in = (const void *)ep;
    if (in->cbSize < sizeof *in) return rdpdr_entry(ep, init);
    CHANNEL_ENTRY_POINTS_FREERDP_EX copy = *in; /* rdpdr keeps a copy of its own */
    rdpdr_open = copy.pVirtualChannelOpenEx;
    copy.pVirtualChannelOpenEx = rdpdr_open_shown;
    return rdpdr_entry((PCHANNEL_ENTRY_POINTS_EX)&copy, init);
}

static PVIRTUALCHANNELENTRY provide_addin(LPCSTR name, LPCSTR subsystem, LPCSTR type, DWORD flags)
{
    if (plugin_entry && name && !strcmp(name, "smartcard") && !subsystem && type &&
        !strcmp(type, "DeviceServiceEntry"))
        return plugin_entry;
    PVIRTUALCHANNELENTRY entry =
        freerdp_channels_load_static_addin_entry(name, subsystem, type, flags);
    if (entry && plugin_channel_data && name && !strcmp(name, "rdpdr") && !subsystem &&
        (flags & FREERDP_ADDIN_CHANNEL_ENTRYEX)) {
        rdpdr_entry = (PVIRTUALCHANNELENTRYEX)(void *)entry;
        return (PVIRTUALCHANNELENTRY)(void *)rdpdr_entry_shown;
    }
    return entry;
}

/* $SCARDLAB_SMARTCARD_PLUGIN, else ../lib/ and then the binary's own dir. */
static int find_plugin(char *out, size_t cap, struct scl_err *e)
{
    const char *env = getenv(RC_PLUGIN_ENV);
    if (env && env[0]) {
        snprintf(out, cap, "%s", env);
        return access(out, R_OK) == 0
                   ? SCL_OK
                   : scl_errf(e, SCL_E_NOTFOUND, "%s=%s: not readable", RC_PLUGIN_ENV, env);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return scl_errf(e, SCL_E_IO, "cannot find our own binary");
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    *slash = 0;
    snprintf(out, cap, "%s/../lib/%s", exe, RC_PLUGIN_FILE);
    if (access(out, R_OK) == 0) return SCL_OK;
    snprintf(out, cap, "%s/%s", exe, RC_PLUGIN_FILE);
    if (access(out, R_OK) == 0) return SCL_OK;
    return scl_errf(e, SCL_E_NOTFOUND, "%s not found next to %s or in ../lib (set %s)",
                    RC_PLUGIN_FILE, exe, RC_PLUGIN_ENV);
}

int rc_client_send_rdpdr(const uint8_t *pdu, size_t n); /* client.c */

/* dlopen the plug-in, hand it its args, and make the provider return it. */
int rc_client_load_plugin(const struct rc_connect_opts *o, char *path, size_t cap,
                          struct scl_err *e);
int rc_client_load_plugin(const struct rc_connect_opts *o, char *path, size_t cap,
                          struct scl_err *e)
{
    int rc = find_plugin(path, cap, e);
    if (rc) return rc;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) return scl_errf(e, SCL_E_IO, "%s", dlerror());
    PVIRTUALCHANNELENTRY entry = (PVIRTUALCHANNELENTRY)dlsym(h, "DeviceServiceEntry");
    rc_plugin_configure_fn configure = (rc_plugin_configure_fn)dlsym(h, RC_PLUGIN_CONFIGURE);
    rc_plugin_lend_sender_fn lend = (rc_plugin_lend_sender_fn)dlsym(h, RC_PLUGIN_LEND_SENDER);
    plugin_channel_data = (rc_plugin_channel_data_fn)dlsym(h, RC_PLUGIN_CHANNEL_DATA);
    if (!entry || !configure)
        return scl_errf(e, SCL_E_FORMAT, "%s: no DeviceServiceEntry or %s", path,
                        RC_PLUGIN_CONFIGURE);
    char *args[RC_POLICY_MAX + 3]; /* trace, trace-toggle, freerdp-transmit, the allows */
    char bufs[RC_POLICY_MAX + 3][PATH_MAX + 8];
    int argc = 0;
    if (o->trace) {
        snprintf(bufs[argc], sizeof bufs[argc], "trace:%s", o->trace);
        args[argc] = bufs[argc];
        argc++;
    }
    if (o->trace_toggle) {
        snprintf(bufs[argc], sizeof bufs[argc], "trace-toggle");
        args[argc] = bufs[argc];
        argc++;
    }
    if (o->freerdp_transmit) {
        snprintf(bufs[argc], sizeof bufs[argc], "freerdp-transmit");
        args[argc] = bufs[argc];
        argc++;
    }
    for (size_t i = 0; i < o->policy.count; i++) {
        snprintf(bufs[argc], sizeof bufs[argc], "allow:%s", o->policy.allow[i]);
        args[argc] = bufs[argc];
        argc++;
    }
    if (configure(argc, args) != 0)
        return scl_errf(e, SCL_E_INVAL, "%s refused its configuration", path);
    if (lend) lend(rc_client_send_rdpdr);
    plugin_entry = entry;
    /* Replaces the provider freerdp_client_context_new registered. */
    freerdp_register_addin_provider(provide_addin, 0);
    return SCL_OK;
}
