/*
 * session.h - the session host: an RDP server (FreeRDP 2 libfreerdp-server)
 * that redirects each client's smart card into a per-session PC/SC socket.
 *
 * Promises: `scardlab host --config FILE` listens (loopback by default) with
 * TLS (a self-signed certificate it generates when none is configured) and
 * NLA (NTLM against a SAM file it writes from the configured users) or
 * TLS-only; maps users to profile folders; runs several sessions at once,
 * one thread each.  Per session: a 0700 directory STATE/sessions/<user>-<n>/
 * holding pcscd.comm (pcsc-lite wire protocol, backed by the client's reader
 * over rdpdr + MS-RDPESC), certprop.pid/.json/.log; STATE/users/<user>/current
 * points at the live one.  Server policy from the config: fEnableSmartCard,
 * the CertProp service state and policy file.  SIGTERM closes every session
 * (orderly smart-card teardown, certprop stopped, sockets removed); SIGHUP
 * re-reads the [policy] certprop_service line.  A user mapped to a local
 * account (local_account=, root hosts only) gets a session folder, socket
 * and profile owned by that account, a socket that serves that uid alone,
 * and certprop run as that account.
 * Does not: draw a desktop (one small bitmap so clients call the session
 * active), redirect anything but smart cards, or log anyone in (no PAM, no
 * login session: a mapped account only owns files and runs certprop).
 */
#ifndef SCL_SESSION_H
#define SCL_SESSION_H

#include "common.h"

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#define HOST_MAX_USERS 16
#define HOST_NAME_MAX_LEN 64
#define HOST_DEFAULT_PORT 33890

enum host_auth { HOST_AUTH_NLA, HOST_AUTH_TLS };
enum host_service { HOST_SVC_RUNNING, HOST_SVC_STOPPED, HOST_SVC_DISABLED };

struct host_user {
    char name[HOST_NAME_MAX_LEN];
    char password[128];
    char profile[PATH_MAX];
    /* local_account=NAME: the session belongs to this passwd account.
     * Empty: it belongs to the host's own uid (and root). */
    char local_account[HOST_NAME_MAX_LEN];
    uid_t uid; /* the account's, resolved when the config is loaded */
    gid_t gid; /* its primary group */
};

struct host_config {
    char path[PATH_MAX];  /* the config file, for messages */
    char listen_host[64]; /* "127.0.0.1" */
    uint16_t port;
    char state_dir[PATH_MAX];
    char tls_cert[PATH_MAX]; /* empty: STATE/tls/server.crt, generated */
    char tls_key[PATH_MAX];
    enum host_auth auth;
    bool enable_smartcard;              /* fEnableSmartCard */
    enum host_service certprop_service; /* CertPropSvc state */
    char certprop_policy[PATH_MAX];     /* empty: Windows' defaults */
    struct host_user users[HOST_MAX_USERS];
    size_t nusers;
};

/* Parse a config file (INI subset, docs/session-host.md); relative paths are
 * taken from the file's folder.  Errors say "FILE:LINE: ...".  A
 * local_account is looked up in the passwd database here, and is an error
 * unless the caller runs as root (geteuid() == 0). */
int host_config_load(const char *path, struct host_config *cfg, struct scl_err *e);
/* The same from text; name is used in messages, base_dir resolves paths. */
int host_config_parse(const char *text, size_t len, const char *name, const char *base_dir,
                      struct host_config *cfg, struct scl_err *e);
const struct host_user *host_config_user(const struct host_config *cfg, const char *name);
const char *host_service_name(enum host_service s);

/* Write a self-signed RSA-2048 certificate and key (PEM) unless both exist. */
int host_tls_ensure(const char *cert_path, const char *key_path, struct scl_err *e);
/* Write the NTLM SAM file ("USER:::NTHASH:::" lines, as winpr-hash -f sam). */
int host_sam_write(const struct host_config *cfg, const char *path, struct scl_err *e);

int host_cmd_host(int argc, char **argv);    /* scardlab host --config FILE */
int host_cmd_session(int argc, char **argv); /* scardlab session exec --host-dir D --user U -- CMD */

#endif
