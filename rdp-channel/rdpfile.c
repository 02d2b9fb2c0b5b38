/*
 * rdpfile.c - .rdp files as mstsc writes them: the bounded pre-check that
 * gives file:line errors, key lookup, and mstsc's Default.rdp.
 * Not for turning keys into FreeRDP settings: FreeRDP's own parser does that
 * once this check has passed (client.c).
 */
#include "rdp_channel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* mstsc's Default.rdp (Windows 10/11 "Remote Desktop Connection", nothing
 * changed in its options dialog).  redirectsmartcards:i:1 is the default that
 * makes the leak possible. */
const char *const rc_default_rdp_lines[] = {
    "screen mode id:i:2",
    "use multimon:i:0",
    "desktopwidth:i:1920",
    "desktopheight:i:1080",
    "session bpp:i:32",
    "winposstr:s:0,3,0,0,800,600",
    "compression:i:1",
    "keyboardhook:i:2",
    "audiocapturemode:i:0",
    "videoplaybackmode:i:1",
    "connection type:i:7",
    "networkautodetect:i:1",
    "bandwidthautodetect:i:1",
    "displayconnectionbar:i:1",
    "enableworkspacereconnect:i:0",
    "disable wallpaper:i:0",
    "allow font smoothing:i:0",
    "allow desktop composition:i:0",
    "disable full window drag:i:1",
    "disable menu anims:i:1",
    "disable themes:i:0",
    "disable cursor setting:i:0",
    "bitmapcachepersistenable:i:1",
    "full address:s:",
    "audiomode:i:0",
    "redirectprinters:i:1",
    "redirectcomports:i:0",
    "redirectsmartcards:i:1",
    "redirectclipboard:i:1",
    "redirectposdevices:i:0",
    "autoreconnection enabled:i:1",
    "authentication level:i:2",
    "prompt for credentials:i:0",
    "negotiate security layer:i:1",
    "remoteapplicationmode:i:0",
    "alternate shell:s:",
    "shell working directory:s:",
    "gatewayhostname:s:",
    "gatewayusagemethod:i:4",
    "gatewaycredentialssource:i:4",
    "gatewayprofileusagemethod:i:0",
    "promptcredentialonce:i:0",
    "gatewaybrokeringtype:i:0",
    "use redirection server name:i:0",
    "rdgiskdcproxy:i:0",
    "kdcproxyname:s:",
    "drivestoredirect:s:",
    "username:s:",
    NULL,
};

void rc_rdpfile_free(struct rc_rdpfile *f)
{
    for (size_t i = 0; i < f->count; i++) {
        free(f->entries[i].key);
        free(f->entries[i].value);
    }
    free(f->entries);
    memset(f, 0, sizeof *f);
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return false;
    return true;
}

/* An 'i' value as FreeRDP reads it (strtol into 32 bits), but strict: an
 * optional '-', 1..10 digits, within int32/uint32. */
static bool int_value_ok(const char *v)
{
    const char *d = v[0] == '-' ? v + 1 : v;
    size_t n = strlen(d);
    if (n == 0 || n > 10 || strspn(d, "0123456789") != n) return false;
    long long x = strtoll(v, NULL, 10);
    return x >= -2147483648LL && x <= 4294967295LL;
}

static bool hex_value_ok(const char *v)
{
    size_t n = strlen(v);
    return n % 2 == 0 && strspn(v, "0123456789abcdefABCDEF") == n;
}

/* Split one line (UTF-8, no newline) into an entry. */
static int parse_line(const char *name, int lineno, char *s, struct rc_rdpfile *f,
                      struct scl_err *e)
{
    size_t n = strlen(s);
    if (n && s[n - 1] == '\r') s[--n] = 0;
    if (is_blank(s)) return SCL_OK;
    char *c1 = strchr(s, ':');
    if (!c1)
        return scl_errf(e, SCL_E_FORMAT, "%s:%d: expected key:type:value, found no ':'", name,
                        lineno);
    size_t klen = (size_t)(c1 - s);
    if (klen == 0) return scl_errf(e, SCL_E_FORMAT, "%s:%d: empty key", name, lineno);
    if (klen > RC_RDPFILE_MAX_KEY)
        return scl_errf(e, SCL_E_FORMAT, "%s:%d: key of %zu bytes (limit %d)", name, lineno, klen,
                        RC_RDPFILE_MAX_KEY);
    for (size_t i = 0; i < klen; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return scl_errf(e, SCL_E_FORMAT, "%s:%d: control character 0x%02x in key at column %zu",
                            name, lineno, (unsigned char)s[i], i + 1);
    char type = c1[1];
    if (!type || c1[2] != ':')
        return scl_errf(e, SCL_E_FORMAT, "%s:%d: key '%.*s': expected ':i:', ':s:' or ':b:'", name,
                        lineno, (int)klen, s);
    if (type != 'i' && type != 's' && type != 'b')
        return scl_errf(e, SCL_E_FORMAT, "%s:%d: key '%.*s': type '%c' is not i, s or b", name,
                        lineno, (int)klen, s, type);
    const char *v = c1 + 3;
    if (type == 'i' && !int_value_ok(v))
        return scl_errf(e, SCL_E_FORMAT, "%s:%d: key '%.*s': '%s' is not a 32-bit integer", name,
                        lineno, (int)klen, s, v);
    if (type == 'b' && !hex_value_ok(v))
        return scl_errf(e, SCL_E_FORMAT, "%s:%d: key '%.*s': binary value is not hex", name, lineno,
                        (int)klen, s);
    struct rc_rdp_entry *grown = realloc(f->entries, (f->count + 1) * sizeof *grown);
    if (!grown) return scl_errf(e, SCL_E_NOMEM, "%s:%d: out of memory", name, lineno);
    f->entries = grown;
    struct rc_rdp_entry *x = &f->entries[f->count];
    x->key = strndup(s, klen);
    x->value = strdup(v);
    x->type = type;
    x->line = lineno;
    if (!x->key || !x->value) {
        free(x->key);
        free(x->value);
        return scl_errf(e, SCL_E_NOMEM, "%s:%d: out of memory", name, lineno);
    }
    f->count++;
    return SCL_OK;
}

/* UTF-8 lines: each must be valid UTF-8 (checked by the codec's converter,
 * which refuses overlongs, surrogates and NULs). */
static int parse_utf8(const char *name, struct cur *c, struct rc_rdpfile *f, struct scl_err *e)
{
    int lineno = 0;
    while (cur_left(c) > 0) {
        lineno++;
        size_t left = cur_left(c);
        const uint8_t *p = c->p + c->off;
        const uint8_t *nl = memchr(p, '\n', left);
        size_t n = nl ? (size_t)(nl - p) : left;
        cur_skip(c, nl ? n + 1 : n);
        if (n > RC_RDPFILE_MAX_LINE)
            return scl_errf(e, SCL_E_FORMAT, "%s:%d: line of %zu bytes (limit %d)", name, lineno, n,
                            RC_RDPFILE_MAX_LINE);
        if (memchr(p, 0, n))
            return scl_errf(e, SCL_E_FORMAT, "%s:%d: NUL byte (UTF-16 without a byte-order mark?)",
                            name, lineno);
        char *s = strndup((const char *)p, n);
        if (!s) return scl_errf(e, SCL_E_NOMEM, "%s:%d: out of memory", name, lineno);
        struct wcur scratch;
        wcur_init_dyn(&scratch);
        struct scl_err ue;
        long units = esc_utf8_to_utf16le(s, &scratch, &ue);
        wcur_free(&scratch);
        int rc = units < 0 ? scl_errf(e, SCL_E_FORMAT, "%s:%d: not UTF-8: %s", name, lineno, ue.msg)
                           : parse_line(name, lineno, s, f, e);
        free(s);
        if (rc) return rc;
    }
    return SCL_OK;
}

/* UTF-16LE lines (after the BOM): split on U+000A, convert each line. */
static int parse_utf16(const char *name, struct cur *c, struct rc_rdpfile *f, struct scl_err *e)
{
    if (cur_left(c) % 2)
        return scl_errf(e, SCL_E_FORMAT, "%s: UTF-16LE file has an odd length (%zu bytes)", name,
                        c->len);
    int lineno = 0;
    while (cur_left(c) > 0) {
        lineno++;
        size_t start = cur_off(c), units = 0;
        bool nl = false;
        while (cur_left(c) >= 2) {
            if (cur_u16le(c) == 0x000A) {
                nl = true;
                break;
            }
            units++;
        }
        if (units * 3 > RC_RDPFILE_MAX_LINE)
            return scl_errf(e, SCL_E_FORMAT, "%s:%d: line of %zu UTF-16 units (limit %d)", name,
                            lineno, units, RC_RDPFILE_MAX_LINE / 3);
        char *s = NULL;
        struct scl_err ue;
        if (esc_utf16le_to_utf8(c->p + start, units, &s, &ue))
            return scl_errf(e, SCL_E_FORMAT, "%s:%d: bad UTF-16LE: %s", name, lineno, ue.msg);
        int rc = parse_line(name, lineno, s, f, e);
        free(s);
        if (rc) return rc;
        (void)nl;
    }
    return SCL_OK;
}

int rc_rdpfile_parse(const char *name, const uint8_t *buf, size_t len, struct rc_rdpfile *f,
                     struct scl_err *e)
{
    memset(f, 0, sizeof *f);
    if (len > RC_RDPFILE_MAX_BYTES)
        return scl_errf(e, SCL_E_FORMAT, "%s: %zu bytes (limit %u)", name, len,
                        RC_RDPFILE_MAX_BYTES);
    struct cur c;
    cur_init(&c, buf, len);
    int rc;
    if (len >= 2 && buf[0] == 0xFF && buf[1] == 0xFE) {
        cur_skip(&c, 2);
        f->utf16 = true;
        rc = parse_utf16(name, &c, f, e);
    } else if (len >= 2 && buf[0] == 0xFE && buf[1] == 0xFF) {
        rc = scl_errf(e, SCL_E_FORMAT,
                      "%s:1: UTF-16BE is not a .rdp encoding (mstsc writes "
                      "UTF-16LE)",
                      name);
    } else {
        if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) cur_skip(&c, 3);
        rc = parse_utf8(name, &c, f, e);
    }
    if (rc) rc_rdpfile_free(f);
    return rc;
}

int rc_rdpfile_load(const char *path, struct rc_rdpfile *f, uint8_t **raw, size_t *rawlen,
                    struct scl_err *e)
{
    memset(f, 0, sizeof *f);
    struct stat st;
    if (stat(path, &st) != 0) return scl_errf(e, SCL_E_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return scl_errf(e, SCL_E_INVAL, "%s: not a regular file", path);
    if ((uint64_t)st.st_size > RC_RDPFILE_MAX_BYTES)
        return scl_errf(e, SCL_E_FORMAT, "%s: %lld bytes (limit %u)", path, (long long)st.st_size,
                        RC_RDPFILE_MAX_BYTES);
    uint8_t *buf;
    size_t len;
    int rc = scl_read_file(path, RC_RDPFILE_MAX_BYTES, &buf, &len, e);
    if (rc) return rc;
    rc = rc_rdpfile_parse(path, buf, len, f, e);
    if (rc == SCL_OK && raw) {
        *raw = buf;
        *rawlen = len;
    } else {
        free(buf);
    }
    return rc;
}

const struct rc_rdp_entry *rc_rdpfile_find(const struct rc_rdpfile *f, const char *key)
{
    for (size_t i = f->count; i-- > 0;)
        if (!strcasecmp(f->entries[i].key, key)) return &f->entries[i];
    return NULL;
}

long rc_rdpfile_int(const struct rc_rdpfile *f, const char *key, long def)
{
    const struct rc_rdp_entry *x = rc_rdpfile_find(f, key);
    if (!x || x->type != 'i') return def;
    return strtol(x->value, NULL, 10);
}

int rc_default_rdp_path(const char *profile, char *out, size_t cap, struct scl_err *e)
{
    int n = snprintf(out, cap, "%s/Documents/Default.rdp", profile);
    if (n < 0 || (size_t)n >= cap)
        return scl_errf(e, SCL_E_INVAL, "profile path '%s' is too long", profile);
    return SCL_OK;
}

/* mstsc writes UTF-16LE with a BOM and CRLF line ends. */
static int encode_default_rdp(uint8_t **out, size_t *len, struct scl_err *e)
{
    struct wcur w;
    wcur_init_dyn(&w);
    wcur_u8(&w, 0xFF);
    wcur_u8(&w, 0xFE);
    for (size_t i = 0; rc_default_rdp_lines[i]; i++) {
        if (esc_utf8_to_utf16le(rc_default_rdp_lines[i], &w, e) < 0) {
            wcur_free(&w);
            return SCL_E_INVAL;
        }
        wcur_u16le(&w, '\r');
        wcur_u16le(&w, '\n');
    }
    *out = wcur_take(&w, len);
    return *out ? SCL_OK : scl_errf(e, SCL_E_NOMEM, "Default.rdp: out of memory");
}

int rc_default_rdp_ensure(const char *profile, char *path, size_t cap, bool *created,
                          struct scl_err *e)
{
    *created = false;
    int rc = rc_default_rdp_path(profile, path, cap, e);
    if (rc) return rc;
    struct stat st;
    if (stat(path, &st) == 0) return SCL_OK;
    if (errno != ENOENT) return scl_errf(e, SCL_E_IO, "%s: %s", path, strerror(errno));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/Documents", profile);
    if ((rc = scl_mkdirs(dir, 0700, e))) return rc;
    uint8_t *buf;
    size_t len;
    if ((rc = encode_default_rdp(&buf, &len, e))) return rc;
    rc = scl_write_atomic(path, buf, len, 0600, e);
    free(buf);
    if (rc == SCL_OK) *created = true;
    return rc;
}
