/*
 * host_config.c - the session host's config file: an INI subset with [host],
 * [policy] and [user NAME] sections (local_account resolved through passwd),
 * parsed through struct cur with FILE:LINE errors.  Not for run-time choices.
 */
#include "session.h"

#include <errno.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOST_CONFIG_MAX (256 * 1024)

enum cfg_section { SEC_NONE, SEC_HOST, SEC_POLICY, SEC_USER };

struct cfg_parse {
    const char *name;     /* file name for messages */
    const char *base_dir; /* for relative paths */
    size_t line;
    enum cfg_section sec;
    struct host_user *user; /* current [user NAME] */
    struct host_config *cfg;
};

typedef int (*cfg_key_fn)(struct cfg_parse *p, const char *val, struct scl_err *e);

struct cfg_key {
    enum cfg_section sec;
    const char *name;
    cfg_key_fn set;
};

const char *host_service_name(enum host_service s)
{
    switch (s) {
    case HOST_SVC_RUNNING: return "running";
    case HOST_SVC_STOPPED: return "stopped";
    case HOST_SVC_DISABLED: return "disabled";
    }
    return "?";
}

static int cfg_errf(struct cfg_parse *p, struct scl_err *e, const char *what, const char *val)
{
    return scl_errf(e, SCL_E_FORMAT, "%s:%zu: %s '%s'", p->name, p->line, what, val);
}

static int cfg_path(struct cfg_parse *p, const char *val, char *out, size_t cap,
                    struct scl_err *e)
{
    int n;
    if (!val[0])
        return cfg_errf(p, e, "empty path", val);
    if (val[0] == '/' || !p->base_dir)
        n = snprintf(out, cap, "%s", val);
    else
        n = snprintf(out, cap, "%s/%s", p->base_dir, val);
    if (n < 0 || (size_t)n >= cap)
        return cfg_errf(p, e, "path too long", val);
    return SCL_OK;
}

static int set_listen(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    const char *colon = strrchr(val, ':');
    const char *port = colon ? colon + 1 : val;
    size_t hl = colon ? (size_t)(colon - val) : 0;
    char *end;
    errno = 0;
    long v = strtol(port, &end, 10);
    if (errno || *end || end == port || v < 1 || v > 65535)
        return cfg_errf(p, e, "listen: expected HOST:PORT with PORT 1..65535, got", val);
    if (hl >= sizeof p->cfg->listen_host)
        return cfg_errf(p, e, "listen: host too long", val);
    if (colon) {
        memcpy(p->cfg->listen_host, val, hl);
        p->cfg->listen_host[hl] = 0;
    }
    p->cfg->port = (uint16_t)v;
    return SCL_OK;
}

static int set_state_dir(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    return cfg_path(p, val, p->cfg->state_dir, sizeof p->cfg->state_dir, e);
}

static int set_tls_cert(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    return cfg_path(p, val, p->cfg->tls_cert, sizeof p->cfg->tls_cert, e);
}

static int set_tls_key(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    return cfg_path(p, val, p->cfg->tls_key, sizeof p->cfg->tls_key, e);
}

static int set_auth(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    if (!strcmp(val, "nla"))
        p->cfg->auth = HOST_AUTH_NLA;
    else if (!strcmp(val, "tls"))
        p->cfg->auth = HOST_AUTH_TLS;
    else
        return cfg_errf(p, e, "auth: expected nla or tls, got", val);
    return SCL_OK;
}

static int set_enable_smartcard(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    if (!strcmp(val, "1"))
        p->cfg->enable_smartcard = true;
    else if (!strcmp(val, "0"))
        p->cfg->enable_smartcard = false;
    else
        return cfg_errf(p, e, "fEnableSmartCard: expected 0 or 1, got", val);
    return SCL_OK;
}

static int set_certprop_service(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    static const enum host_service all[] = {HOST_SVC_RUNNING, HOST_SVC_STOPPED,
                                            HOST_SVC_DISABLED};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(val, host_service_name(all[i]))) {
            p->cfg->certprop_service = all[i];
            return SCL_OK;
        }
    return cfg_errf(p, e, "certprop_service: expected running, stopped or disabled, got", val);
}

static int set_certprop_policy(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    return cfg_path(p, val, p->cfg->certprop_policy, sizeof p->cfg->certprop_policy, e);
}

static int set_password(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    if (strlen(val) >= sizeof p->user->password)
        return cfg_errf(p, e, "password too long for user", p->user->name);
    snprintf(p->user->password, sizeof p->user->password, "%s", val);
    return SCL_OK;
}

static int set_profile(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    return cfg_path(p, val, p->user->profile, sizeof p->user->profile, e);
}

/* The account must exist now (a typo is a load error, not a session that
 * fails later) and only root can hand sockets and files to another uid. */
static int set_local_account(struct cfg_parse *p, const char *val, struct scl_err *e)
{
    struct passwd pw, *found = NULL;
    char buf[16384];
    if (!val[0] || strlen(val) >= sizeof p->user->local_account)
        return cfg_errf(p, e, "local_account: expected a local account name, got", val);
    int rc = getpwnam_r(val, &pw, buf, sizeof buf, &found);
    if (rc)
        return scl_errf(e, SCL_E_IO, "%s:%zu: local_account: passwd lookup of '%s': %s", p->name,
                        p->line, val, strerror(rc));
    if (!found)
        return cfg_errf(p, e, "local_account: no such account in the passwd database:", val);
    if (geteuid() != 0)
        return scl_errf(e, SCL_E_STATE,
                        "%s:%zu: local_account '%s' needs the host to run as root (euid %lu)",
                        p->name, p->line, val, (unsigned long)geteuid());
    snprintf(p->user->local_account, sizeof p->user->local_account, "%s", val);
    p->user->uid = pw.pw_uid;
    p->user->gid = pw.pw_gid;
    return SCL_OK;
}

static const struct cfg_key cfg_keys[] = {
    {SEC_HOST, "listen", set_listen},
    {SEC_HOST, "state_dir", set_state_dir},
    {SEC_HOST, "tls_cert", set_tls_cert},
    {SEC_HOST, "tls_key", set_tls_key},
    {SEC_HOST, "auth", set_auth},
    {SEC_POLICY, "fEnableSmartCard", set_enable_smartcard},
    {SEC_POLICY, "certprop_service", set_certprop_service},
    {SEC_POLICY, "certprop_policy", set_certprop_policy},
    {SEC_USER, "password", set_password},
    {SEC_USER, "profile", set_profile},
    {SEC_USER, "local_account", set_local_account},
};

static bool cfg_user_name_ok(const char *s)
{
    if (!s[0] || strlen(s) >= HOST_NAME_MAX_LEN)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

static char *cfg_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

static int cfg_section(struct cfg_parse *p, char *s, struct scl_err *e)
{
    size_t n = strlen(s);
    if (n < 2 || s[n - 1] != ']')
        return cfg_errf(p, e, "section header must end with ']':", s);
    s[n - 1] = 0;
    char *name = cfg_trim(s + 1);
    p->user = NULL;
    if (!strcmp(name, "host")) {
        p->sec = SEC_HOST;
    } else if (!strcmp(name, "policy")) {
        p->sec = SEC_POLICY;
    } else if (!strncmp(name, "user ", 5)) {
        char *u = cfg_trim(name + 5);
        if (!cfg_user_name_ok(u))
            return cfg_errf(p, e, "user name must be 1-63 of [A-Za-z0-9_.-], got", u);
        if (host_config_user(p->cfg, u))
            return cfg_errf(p, e, "user defined twice:", u);
        if (p->cfg->nusers == HOST_MAX_USERS)
            return cfg_errf(p, e, "too many users (16 at most); at", u);
        p->user = &p->cfg->users[p->cfg->nusers++];
        snprintf(p->user->name, sizeof p->user->name, "%s", u);
        p->sec = SEC_USER;
    } else {
        return cfg_errf(p, e, "unknown section (host, policy, user NAME):", name);
    }
    return SCL_OK;
}

static int cfg_line(struct cfg_parse *p, char *s, struct scl_err *e)
{
    s = cfg_trim(s);
    if (!s[0] || s[0] == '#' || s[0] == ';')
        return SCL_OK;
    if (s[0] == '[')
        return cfg_section(p, s, e);
    char *eq = strchr(s, '=');
    if (!eq)
        return cfg_errf(p, e, "expected KEY=VALUE, got", s);
    *eq = 0;
    char *key = cfg_trim(s), *val = cfg_trim(eq + 1);
    if (p->sec == SEC_NONE)
        return cfg_errf(p, e, "key before any section:", key);
    for (size_t i = 0; i < sizeof cfg_keys / sizeof cfg_keys[0]; i++)
        if (cfg_keys[i].sec == p->sec && !strcmp(cfg_keys[i].name, key))
            return cfg_keys[i].set(p, val, e);
    return cfg_errf(p, e, "unknown key in this section:", key);
}

static void cfg_defaults(struct host_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
    cfg->port = HOST_DEFAULT_PORT;
    cfg->auth = HOST_AUTH_NLA;
    cfg->enable_smartcard = true;
    cfg->certprop_service = HOST_SVC_RUNNING;
}

static int cfg_check(const struct cfg_parse *p, struct scl_err *e)
{
    const struct host_config *cfg = p->cfg;
    if (!cfg->state_dir[0])
        return scl_errf(e, SCL_E_FORMAT, "%s: [host] state_dir is required", p->name);
    if (!cfg->tls_cert[0] != !cfg->tls_key[0])
        return scl_errf(e, SCL_E_FORMAT, "%s: [host] tls_cert and tls_key go together", p->name);
    for (size_t i = 0; i < cfg->nusers; i++) {
        if (!cfg->users[i].profile[0])
            return scl_errf(e, SCL_E_FORMAT, "%s: [user %s] has no profile=", p->name,
                            cfg->users[i].name);
        if (!cfg->users[i].password[0])
            return scl_errf(e, SCL_E_FORMAT, "%s: [user %s] has no password=", p->name,
                            cfg->users[i].name);
    }
    if (!cfg->nusers)
        return scl_errf(e, SCL_E_FORMAT, "%s: no [user NAME] section", p->name);
    return SCL_OK;
}

int host_config_parse(const char *text, size_t len, const char *name, const char *base_dir,
                      struct host_config *cfg, struct scl_err *e)
{
    struct cfg_parse p = {.name = name, .base_dir = base_dir, .cfg = cfg};
    struct cur c;
    char buf[4096];
    int rc = SCL_OK;
    cfg_defaults(cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", name);
    cur_init(&c, text, len);
    while (cur_left(&c) && rc == SCL_OK) {
        size_t n = 0;
        p.line++;
        while (cur_left(&c)) {
            uint8_t ch = cur_u8(&c);
            if (ch == '\n')
                break;
            if (ch == 0)
                return scl_errf(e, SCL_E_FORMAT, "%s:%zu: NUL byte at offset %zu", name, p.line,
                                cur_off(&c) - 1);
            if (n + 1 >= sizeof buf)
                return scl_errf(e, SCL_E_FORMAT, "%s:%zu: line longer than %zu bytes", name,
                                p.line, sizeof buf - 1);
            buf[n++] = (char)ch;
        }
        buf[n] = 0;
        rc = cfg_line(&p, buf, e);
    }
    return rc ? rc : cfg_check(&p, e);
}

int host_config_load(const char *path, struct host_config *cfg, struct scl_err *e)
{
    uint8_t *text;
    size_t len;
    char dir[PATH_MAX], abs[PATH_MAX];
    if (scl_read_file(path, HOST_CONFIG_MAX, &text, &len, e))
        return scl_err_wrap(e, "config");
    snprintf(dir, sizeof dir, "%s", path);
    const char *d = dirname(dir);
    if (!realpath(d, abs))
        snprintf(abs, sizeof abs, "%s", d);
    int rc = host_config_parse((const char *)text, len, path, abs, cfg, e);
    free(text);
    return rc;
}

const struct host_user *host_config_user(const struct host_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nusers; i++)
        if (!strcmp(cfg->users[i].name, name))
            return &cfg->users[i];
    return NULL;
}
