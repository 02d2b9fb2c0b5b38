/*
 * card_file.c - parse and check a card file (docs/card-file.md) into a
 * struct vc_card_spec, with FILE:LINE errors.  Reads the key and certificate
 * files it names through libcrypto.  Not for minting keys or running a card.
 */
#include "vcard.h"

#include <libgen.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 1024
#define ARGS_MAX 8
#define KEYFILE_MAX (64 * 1024)

/* The test FASC-N used when a card file gives none (SP 800-73-4 sample
 * layout: agency 9999, system 9999, credential 999999). */
static const char default_fascn_hex[] = "d4e739da739ced39ce739d836858210842108421c84210c3eb";

enum stmt_id {
    ST_HEADER,
    ST_HOLDER,
    ST_GUID,
    ST_FASCN,
    ST_PIN,
    ST_PUK,
    ST_PIN_TRIES,
    ST_PUK_TRIES,
    ST_SLOT,
    ST_COUNT
};

struct pstate {
    const char *name;     /* file name as the user gave it, for messages */
    const char *base_dir; /* relative key/cert paths start here */
    struct vc_card_spec *spec;
    struct scl_err *e;
    unsigned line;
    unsigned seen_line[ST_COUNT];  /* line of first occurrence, 0 = not yet */
    unsigned slot_line[VC_NSLOTS]; /* same, per key slot */
};

static int perr(struct pstate *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(struct pstate *ps, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return scl_errf(ps->e, code, "%s:%u: %s", ps->name, ps->line, msg);
}

/* ---- values ------------------------------------------------------------- */

static bool all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* Exactly n bytes of hex, with '-' allowed between digits (GUID spelling). */
static bool decode_hex_exact(const char *s, uint8_t *out, size_t n)
{
    char digits[2 * 32 + 1];
    size_t k = 0;
    for (; *s; s++) {
        if (*s == '-') continue;
        bool hex = (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F');
        if (!hex || k >= 2 * n) return false;
        digits[k++] = *s;
    }
    digits[k] = 0;
    return k == 2 * n && scl_hex_decode(digits, out, n) == (int)n;
}

static int parse_small_int(const char *s, int lo, int hi)
{
    if (!all_digits(s, 1, 2)) return -1;
    int v = atoi(s);
    return v >= lo && v <= hi ? v : -1;
}

/* ---- key and certificate files ----------------------------------------- */

/* Never prompt on a terminal for an encrypted key: test keys are plain. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

static EVP_PKEY *decode_private_key(const uint8_t *p, size_t n)
{
    EVP_PKEY *k = NULL;
    BIO *b = BIO_new_mem_buf(p, (int)n);
    if (b) k = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
    BIO_free(b);
    if (!k) {
        const unsigned char *q = p;
        k = d2i_AutoPrivateKey(NULL, &q, (long)n);
    }
    ERR_clear_error();
    return k;
}

static X509 *decode_certificate(const uint8_t *p, size_t n)
{
    X509 *x = NULL;
    BIO *b = BIO_new_mem_buf(p, (int)n);
    if (b) x = PEM_read_bio_X509(b, NULL, no_password, NULL);
    BIO_free(b);
    if (!x) {
        const unsigned char *q = p;
        x = d2i_X509(NULL, &q, (long)n);
    }
    ERR_clear_error();
    return x;
}

/* The PIV algorithm a key is, or VC_ALG_NONE; *what describes it in words. */
static enum vc_alg key_alg(const EVP_PKEY *k, char *what, size_t cap)
{
    if (EVP_PKEY_is_a(k, "RSA")) {
        int bits = EVP_PKEY_get_bits(k);
        snprintf(what, cap, "an RSA-%d key", bits);
        return bits == 2048 ? VC_ALG_RSA2048 : bits == 3072 ? VC_ALG_RSA3072 : VC_ALG_NONE;
    }
    if (EVP_PKEY_is_a(k, "EC")) {
        char group[64] = "";
        size_t glen = 0;
        EVP_PKEY_get_group_name(k, group, sizeof group, &glen);
        int nid = OBJ_sn2nid(group);
        if (nid == NID_undef) nid = EC_curve_nist2nid(group);
        snprintf(what, cap, "an EC key on curve %s", group[0] ? group : "(unnamed)");
        return nid == NID_X9_62_prime256v1 ? VC_ALG_P256
               : nid == NID_secp384r1      ? VC_ALG_P384
                                           : VC_ALG_NONE;
    }
    snprintf(what, cap, "a %s key", EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "?");
    return VC_ALG_NONE;
}

static int resolve_path(struct pstate *ps, const char *rel, char *out, size_t cap)
{
    int n = rel[0] == '/' ? snprintf(out, cap, "%s", rel)
                          : snprintf(out, cap, "%s/%s", ps->base_dir ? ps->base_dir : ".", rel);
    if (n < 0 || (size_t)n >= cap) return perr(ps, SCL_E_INVAL, "path '%s' is too long", rel);
    return SCL_OK;
}

/* Read one file a slot names; what is "key" or "certificate". */
static int read_slot_file(struct pstate *ps, const char *slot, const char *what, const char *rel,
                          uint8_t **buf, size_t *len)
{
    char path[4096];
    struct scl_err fe;
    int rc = resolve_path(ps, rel, path, sizeof path);
    if (rc) return rc;
    rc = scl_read_file(path, KEYFILE_MAX, buf, len, &fe);
    if (rc == SCL_E_NOTFOUND)
        return perr(ps, rc, "slot %s: %s file '%s' not found", slot, what, rel);
    if (rc) return perr(ps, rc, "slot %s: %s file '%s': %s", slot, what, rel, fe.msg);
    return SCL_OK;
}

static int load_slot_key(struct pstate *ps, const char *slot, const char *rel, enum vc_alg alg,
                         EVP_PKEY **out)
{
    uint8_t *buf;
    size_t len;
    int rc = read_slot_file(ps, slot, "key", rel, &buf, &len);
    if (rc) return rc;
    EVP_PKEY *k = decode_private_key(buf, len);
    OPENSSL_clear_free(buf, len);
    if (!k)
        return perr(ps, SCL_E_FORMAT,
                    "slot %s: key file '%s' is not an unencrypted PEM or DER private key", slot,
                    rel);
    char what[96];
    if (key_alg(k, what, sizeof what) != alg) {
        EVP_PKEY_free(k);
        return perr(ps, SCL_E_FORMAT, "slot %s: key file '%s' holds %s, but the slot declares %s",
                    slot, rel, what, vc_alg_name(alg));
    }
    *out = k;
    return SCL_OK;
}

static int load_slot_cert(struct pstate *ps, const char *slot, const char *rel, const char *key_rel,
                          struct vc_slot *s)
{
    uint8_t *buf;
    size_t len;
    int rc = read_slot_file(ps, slot, "certificate", rel, &buf, &len);
    if (rc) return rc;
    X509 *x = decode_certificate(buf, len);
    free(buf);
    if (!x)
        return perr(ps, SCL_E_FORMAT,
                    "slot %s: certificate file '%s' is not a PEM or DER certificate", slot, rel);
    if (EVP_PKEY_eq(X509_get0_pubkey(x), s->key) != 1) {
        X509_free(x);
        ERR_clear_error();
        return perr(ps, SCL_E_FORMAT,
                    "slot %s: certificate '%s' public key does not match the private key in '%s'",
                    slot, rel, key_rel);
    }
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    X509_free(x);
    if (n <= 0)
        return perr(ps, SCL_E_CRYPTO, "slot %s: cannot re-encode certificate '%s'", slot, rel);
    s->cert_der = malloc((size_t)n);
    if (!s->cert_der) {
        OPENSSL_free(der);
        return perr(ps, SCL_E_NOMEM, "out of memory");
    }
    memcpy(s->cert_der, der, (size_t)n);
    s->cert_len = (size_t)n;
    OPENSSL_free(der);
    return SCL_OK;
}

/* ---- statements ---------------------------------------------------------- */

static int parse_header(struct pstate *ps, int argc, char **argv)
{
    (void)argc;
    if (strcmp(argv[1], "1") != 0)
        return perr(ps, SCL_E_FORMAT, "unsupported card file version '%s' (expected 1)", argv[1]);
    return SCL_OK;
}

static int parse_holder(struct pstate *ps, int argc, char **argv)
{
    (void)argc;
    size_t n = strlen(argv[1]);
    if (n == 0 || n >= sizeof ps->spec->holder)
        return perr(ps, SCL_E_FORMAT, "holder: name must be 1..%zu bytes, found %zu",
                    sizeof ps->spec->holder - 1, n);
    memcpy(ps->spec->holder, argv[1], n + 1);
    return SCL_OK;
}

static int parse_guid(struct pstate *ps, int argc, char **argv)
{
    (void)argc;
    if (!decode_hex_exact(argv[1], ps->spec->guid, sizeof ps->spec->guid))
        return perr(ps, SCL_E_FORMAT,
                    "guid: bad value '%s' (expected 32 hex digits, dashes optional)", argv[1]);
    return SCL_OK;
}

static int parse_fascn(struct pstate *ps, int argc, char **argv)
{
    (void)argc;
    if (!decode_hex_exact(argv[1], ps->spec->fascn, sizeof ps->spec->fascn))
        return perr(ps, SCL_E_FORMAT, "fascn: bad value '%s' (expected 50 hex digits, 25 bytes)",
                    argv[1]);
    return SCL_OK;
}

static int parse_pin(struct pstate *ps, int argc, char **argv)
{
    (void)argc;
    if (!all_digits(argv[1], 6, 8))
        return perr(ps, SCL_E_FORMAT, "pin: bad value (expected 6 to 8 digits)");
    snprintf(ps->spec->pin, sizeof ps->spec->pin, "%s", argv[1]);
    return SCL_OK;
}

static int parse_puk(struct pstate *ps, int argc, char **argv)
{
    (void)argc;
    if (!all_digits(argv[1], 8, 8))
        return perr(ps, SCL_E_FORMAT, "puk: bad value (expected 8 digits)");
    snprintf(ps->spec->puk, sizeof ps->spec->puk, "%s", argv[1]);
    return SCL_OK;
}

static int parse_tries(struct pstate *ps, char **argv, int *out)
{
    int v = parse_small_int(argv[1], 1, 15);
    if (v < 0)
        return perr(ps, SCL_E_FORMAT, "%s: bad value '%s' (expected a number from 1 to 15)",
                    argv[0], argv[1]);
    *out = v;
    return SCL_OK;
}

static int parse_pin_tries(struct pstate *ps, int argc, char **argv)
{
    (void)argc;
    return parse_tries(ps, argv, &ps->spec->pin_tries);
}

static int parse_puk_tries(struct pstate *ps, int argc, char **argv)
{
    (void)argc;
    return parse_tries(ps, argv, &ps->spec->puk_tries);
}

/* "name=value": the value of attribute name, NULL if arg is another one. */
static const char *attr_value(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

static int parse_slot_attrs(struct pstate *ps, const char *slot, int argc, char **argv,
                            const char **cert, const char **key)
{
    *cert = *key = NULL;
    for (int i = 3; i < argc; i++) {
        const char *v;
        const char **dst;
        if ((v = attr_value(argv[i], "cert")))
            dst = cert;
        else if ((v = attr_value(argv[i], "key")))
            dst = key;
        else
            return perr(ps, SCL_E_FORMAT,
                        "slot %s: unknown attribute '%s' (expected cert=FILE, key=FILE)", slot,
                        argv[i]);
        if (*dst)
            return perr(ps, SCL_E_FORMAT, "slot %s: '%.*s' given twice", slot,
                        (int)(v - argv[i] - 1), argv[i]);
        if (!*v) return perr(ps, SCL_E_FORMAT, "slot %s: empty file name in '%s'", slot, argv[i]);
        *dst = v;
    }
    if (!*cert || !*key)
        return perr(ps, SCL_E_FORMAT, "slot %s: missing %s (expected cert=FILE key=FILE)", slot,
                    !*cert ? "cert=FILE" : "key=FILE");
    return SCL_OK;
}

static int parse_slot(struct pstate *ps, int argc, char **argv)
{
    int id = vc_slot_parse(argv[1]);
    if (id < 0)
        return perr(ps, SCL_E_FORMAT, "slot: unknown key slot '%s' (expected 9a, 9c, 9d, 9e)",
                    argv[1]);
    const char *slot = vc_slot_name((enum vc_slot_id)id);
    if (ps->slot_line[id])
        return perr(ps, SCL_E_FORMAT, "slot %s declared twice (first at line %u)", slot,
                    ps->slot_line[id]);
    ps->slot_line[id] = ps->line;
    int alg = vc_alg_parse(argv[2]);
    if (alg < 0)
        return perr(ps, SCL_E_FORMAT,
                    "slot %s: unknown algorithm '%s' (expected rsa2048, rsa3072, p256, p384)", slot,
                    argv[2]);
    const char *cert, *key;
    int rc = parse_slot_attrs(ps, slot, argc, argv, &cert, &key);
    if (rc) return rc;
    struct vc_slot *s = &ps->spec->slots[id];
    if ((rc = load_slot_key(ps, slot, key, (enum vc_alg)alg, &s->key))) return rc;
    s->alg = (enum vc_alg)alg;
    s->present = true;
    return load_slot_cert(ps, slot, cert, key, s);
}

/* The statements a card file may hold; the name is the keyword users write. */
static const struct stmt {
    enum stmt_id id;
    const char *name;
    int min_args, max_args; /* values after the keyword */
    const char *usage;
    int (*parse)(struct pstate *ps, int argc, char **argv);
} stmts[] = {
    {ST_HEADER, "scardlab-card", 1, 1, "scardlab-card 1", parse_header},
    {ST_HOLDER, "holder", 1, 1, "holder \"Firstname Lastname\"", parse_holder},
    {ST_GUID, "guid", 1, 1, "guid 32-HEX-DIGITS", parse_guid},
    {ST_FASCN, "fascn", 1, 1, "fascn 50-HEX-DIGITS", parse_fascn},
    {ST_PIN, "pin", 1, 1, "pin 123456", parse_pin},
    {ST_PUK, "puk", 1, 1, "puk 12345678", parse_puk},
    {ST_PIN_TRIES, "pin-tries", 1, 1, "pin-tries 3", parse_pin_tries},
    {ST_PUK_TRIES, "puk-tries", 1, 1, "puk-tries 3", parse_puk_tries},
    {ST_SLOT, "slot", 4, 4, "slot 9a rsa2048 cert=FILE key=FILE", parse_slot},
};

static const struct stmt *find_stmt(const char *name)
{
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        if (!strcmp(stmts[i].name, name)) return &stmts[i];
    return NULL;
}

static int run_stmt(struct pstate *ps, int argc, char **argv)
{
    const struct stmt *st = find_stmt(argv[0]);
    if (!st)
        return perr(ps, SCL_E_FORMAT,
                    "unknown statement '%s' (expected holder, guid, fascn, pin, puk, pin-tries, "
                    "puk-tries, slot)",
                    argv[0]);
    if (!ps->seen_line[ST_HEADER] && st->id != ST_HEADER)
        return perr(ps, SCL_E_FORMAT,
                    "'%s' before 'scardlab-card 1' (expected 'scardlab-card 1' as the first "
                    "statement)",
                    argv[0]);
    if (st->id != ST_SLOT && ps->seen_line[st->id])
        return perr(ps, SCL_E_FORMAT, "duplicate '%s' statement (first at line %u)", st->name,
                    ps->seen_line[st->id]);
    if (argc - 1 < st->min_args || argc - 1 > st->max_args)
        return perr(ps, SCL_E_FORMAT, "%s: expected %d value%s, found %d (usage: %s)", st->name,
                    st->min_args, st->min_args == 1 ? "" : "s", argc - 1, st->usage);
    if (!ps->seen_line[st->id]) ps->seen_line[st->id] = ps->line;
    return st->parse(ps, argc, argv);
}

/* ---- lines and tokens ----------------------------------------------------- */

/* Length of the UTF-8 sequence starting at s[i], or 0 if it is not one. */
static size_t utf8_seq_len(const uint8_t *s, size_t n, size_t i)
{
    uint8_t b = s[i];
    size_t k = b < 0x80             ? 1
               : (b & 0xE0) == 0xC0 ? 2
               : (b & 0xF0) == 0xE0 ? 3
               : (b & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (k == 0 || i + k > n || (k == 2 && b < 0xC2) || (k == 4 && b > 0xF4)) return 0;
    for (size_t j = 1; j < k; j++)
        if ((s[i + j] & 0xC0) != 0x80) return 0;
    if ((k == 3 && b == 0xE0 && s[i + 1] < 0xA0) || (k == 4 && b == 0xF0 && s[i + 1] < 0x90))
        return 0; /* overlong */
    if ((k == 3 && b == 0xED && s[i + 1] >= 0xA0) || (k == 4 && b == 0xF4 && s[i + 1] >= 0x90))
        return 0; /* UTF-16 surrogate, or past U+10FFFF */
    return k;
}

static int check_line_text(struct pstate *ps, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F)
            return perr(ps, SCL_E_FORMAT, "control byte 0x%02x at column %zu (expected text)", s[i],
                        i + 1);
        size_t k = utf8_seq_len(s, n, i);
        if (!k) return perr(ps, SCL_E_FORMAT, "bytes at column %zu are not UTF-8", i + 1);
        i += k;
    }
    return SCL_OK;
}

/* Split one line into words: blanks separate, '#' outside quotes starts a
 * comment, "double quotes" (a whole word, or the value after '=') keep
 * blanks and take \" and \\ escapes.  Words
 * are written NUL-terminated into store (as long as the line plus one). */
static int split_words(struct pstate *ps, const uint8_t *s, size_t n, char *store, char **argv,
                       int *argc)
{
    struct cur c;
    cur_init(&c, s, n);
    enum { BLANK, BARE, QUOTED, CLOSED } st = BLANK;
    size_t out = 0;
    *argc = 0;
    while (cur_left(&c)) {
        size_t col = cur_off(&c) + 1;
        char ch = (char)cur_u8(&c);
        bool blank = ch == ' ' || ch == '\t';
        if (st == QUOTED) {
            if (ch == '"') {
                st = CLOSED;
                store[out++] = 0;
            } else if (ch == '\\') {
                char nx = (char)cur_u8(&c);
                if (!cur_ok(&c) || (nx != '"' && nx != '\\'))
                    return perr(ps, SCL_E_FORMAT,
                                "bad escape at column %zu (expected \\\" or \\\\ inside quotes)",
                                col);
                store[out++] = nx;
            } else {
                store[out++] = ch;
            }
            continue;
        }
        if (blank || ch == '#') {
            if (st == BARE) store[out++] = 0;
            st = BLANK;
            if (ch == '#') break;
            continue;
        }
        if (st == CLOSED)
            return perr(ps, SCL_E_FORMAT, "text right after a closing quote at column %zu", col);
        if (st == BARE && ch == '"') {
            /* key="my keys/9a.key": a quoted value may follow '=' */
            if (store[out - 1] != '=')
                return perr(ps, SCL_E_FORMAT, "quote inside a word at column %zu", col);
            st = QUOTED;
            continue;
        }
        if (st == BLANK) {
            if (*argc == ARGS_MAX)
                return perr(ps, SCL_E_FORMAT, "more than %d words on one line", ARGS_MAX);
            argv[(*argc)++] = store + out;
            st = ch == '"' ? QUOTED : BARE;
            if (st == QUOTED) continue;
        }
        store[out++] = ch;
    }
    if (st == QUOTED) return perr(ps, SCL_E_FORMAT, "unterminated quote (expected a closing \")");
    if (st == BARE) store[out++] = 0;
    return SCL_OK;
}

/* Next line from the file cursor into buf (no newline, no trailing CR). */
static int read_line(struct pstate *ps, struct cur *file, uint8_t *buf, size_t *n)
{
    *n = 0;
    while (cur_left(file)) {
        uint8_t b = cur_u8(file);
        if (b == '\n') break;
        if (b == 0) return perr(ps, SCL_E_FORMAT, "NUL byte at column %zu (expected text)", *n + 1);
        if (*n == LINE_MAX_BYTES)
            return perr(ps, SCL_E_FORMAT, "line longer than %d bytes", LINE_MAX_BYTES);
        buf[(*n)++] = b;
    }
    if (*n && buf[*n - 1] == '\r') (*n)--;
    return SCL_OK;
}

static int parse_lines(struct pstate *ps, struct cur *file)
{
    uint8_t line[LINE_MAX_BYTES];
    char store[LINE_MAX_BYTES + 1];
    char *argv[ARGS_MAX];
    while (cur_left(file)) {
        size_t n;
        int argc, rc;
        ps->line++;
        if ((rc = read_line(ps, file, line, &n)) || (rc = check_line_text(ps, line, n)) ||
            (rc = split_words(ps, line, n, store, argv, &argc)))
            return rc;
        if (argc && (rc = run_stmt(ps, argc, argv))) return rc;
    }
    return SCL_OK;
}

static int check_complete(struct pstate *ps)
{
    if (ps->line == 0) ps->line = 1;
    static const struct {
        enum stmt_id id;
        const char *what;
    } required[] = {
        {ST_HEADER, "'scardlab-card 1' (the first statement of every card file)"},
        {ST_HOLDER, "'holder \"Firstname Lastname\"'"},
        {ST_GUID, "'guid' (32 hex digits)"},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!ps->seen_line[required[i].id])
            return perr(ps, SCL_E_FORMAT, "end of file: missing %s", required[i].what);
    if (!ps->seen_line[ST_SLOT])
        return perr(ps, SCL_E_FORMAT,
                    "end of file: no 'slot' statement (a card needs at least one key slot)");
    return SCL_OK;
}

static void set_defaults(struct vc_card_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    scl_hex_decode(default_fascn_hex, spec->fascn, sizeof spec->fascn);
    strcpy(spec->pin, "123456");
    strcpy(spec->puk, "12345678");
    spec->pin_tries = 3;
    spec->puk_tries = 3;
}

int vc_card_file_parse(const char *name, const uint8_t *buf, size_t len, const char *base_dir,
                       struct vc_card_spec *spec, struct scl_err *e)
{
    struct pstate ps = {
        .name = name ? name : "(card file)", .base_dir = base_dir, .spec = spec, .e = e};
    set_defaults(spec);
    if (len > VC_CARD_FILE_MAX) {
        ps.line = 1;
        return perr(&ps, SCL_E_FORMAT, "file is %zu bytes, more than the %d allowed", len,
                    VC_CARD_FILE_MAX);
    }
    struct cur file;
    cur_init(&file, buf, len);
    int rc = parse_lines(&ps, &file);
    if (!rc) rc = check_complete(&ps);
    if (rc) vc_card_spec_free(spec);
    return rc;
}

int vc_card_file_load(const char *path, struct vc_card_spec *spec, struct scl_err *e)
{
    uint8_t *buf;
    size_t len;
    memset(spec, 0, sizeof *spec);
    int rc = scl_read_file(path, VC_CARD_FILE_MAX, &buf, &len, e);
    if (rc == SCL_E_FORMAT) /* the only format check a read makes is the size cap */
        return scl_errf(e, rc, "%s:1: file is larger than %d bytes, the most a card file may be",
                        path, VC_CARD_FILE_MAX);
    if (rc) return rc;
    char *copy = strdup(path);
    if (!copy) {
        free(buf);
        return scl_errf(e, SCL_E_NOMEM, "%s: out of memory", path);
    }
    rc = vc_card_file_parse(path, buf, len, dirname(copy), spec, e);
    free(copy);
    OPENSSL_clear_free(buf, len + 1);
    return rc;
}
