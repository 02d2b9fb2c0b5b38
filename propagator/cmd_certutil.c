/*
 * cmd_certutil.c - `scardlab certutil`: the argument spellings users copy
 * from articles (en/em dashes, curly quotes, any case) and the verbs table.
 * Not the printers (certutil.c) and not the store itself (store.c).
 */
#include "certutil_int.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARG_MAX_LEN 1024
#define MAX_POSITIONAL 4
#define FILE_MAX (64u << 20)

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2

/* HRESULTs certutil prints on failure. */
#define HR_NOT_FOUND "0x80092004 (-2146885628 CRYPT_E_NOT_FOUND)"
#define HR_BAD_KEYSET "0x80090016 (-2146893802 NTE_BAD_KEYSET)"
#define HR_INVALID_ARG "0x80070057 (WIN32: 87 ERROR_INVALID_PARAMETER)"
#define HR_FILE "0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)"
#define HR_DATA "0x8009310b (ASN: 267 CRYPT_E_ASN1_BADTAG)"

struct cu_args {
    bool user, verbose, silent, force;
    const char *profile, *machine;
    const struct cu_verb *verb;
    char pos[MAX_POSITIONAL][ARG_MAX_LEN];
    size_t npos;
};

struct cu_verb {
    const char *name; /* as typed after the dash, and as printed in "CertUtil: -name command" */
    size_t min_args, max_args;
    int (*run)(struct cu_ctx *cx, const struct cu_args *a);
    const char *usage;
};

static int verb_store(struct cu_ctx *cx, const struct cu_args *a);
static int verb_delstore(struct cu_ctx *cx, const struct cu_args *a);
static int verb_verifykeys(struct cu_ctx *cx, const struct cu_args *a);
static int verb_exportsst(struct cu_ctx *cx, const struct cu_args *a);
static int verb_importsst(struct cu_ctx *cx, const struct cu_args *a);
static int verb_addstore(struct cu_ctx *cx, const struct cu_args *a);

static const struct cu_verb verbs[] = {
    {"store", 0, 2, verb_store, "[StoreName [CertId]]   show certificates (StoreName defaults to My)"},
    {"delstore", 2, 2, verb_delstore, "StoreName CertId       delete every certificate CertId names"},
    {"verifykeys", 0, 1, verb_verifykeys, "[StoreName]            private key claimed vs reachable on a card now"},
    {"exportsst", 2, 2, verb_exportsst, "StoreName FILE.sst     save the whole store as a serialized store"},
    {"importsst", 2, 2, verb_importsst, "StoreName FILE.sst     add every element of a serialized store"},
    {"addstore", 2, 2, verb_addstore, "StoreName FILE         add a .sst, or a .cer (DER or PEM)"},
};

static void print_usage(FILE *f)
{
    fprintf(f, "usage: scardlab certutil [--profile DIR] [--machine DIR] [-user] [-v] [-silent] [-f] -VERB ARGS\n\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  -%-11s %s\n", verbs[i].name, verbs[i].usage);
    fprintf(f, "\n-user picks the profile's stores (--profile, or $SCARDLAB_PROFILE); without it the\n"
               "machine's (--machine, or $SCARDLAB_MACHINE).  CertId: index, serial number, SHA-1,\n"
               "subject CN, e-mail/UPN, key container or provider name.  Dashes may be -, en or em.\n");
}

/* "–user", "—user" and "−user" (en dash, em dash, minus sign) read as "-user". */
static const char *undash(const char *arg)
{
    static const char *const dashes[] = {"\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x88\x92"};
    for (size_t i = 0; i < sizeof dashes / sizeof dashes[0]; i++)
        if (!strncmp(arg, dashes[i], 3))
            return arg + 3;
    if (arg[0] == '-' && arg[1] == '-')
        return arg + 2;
    if (arg[0] == '-' && arg[1])
        return arg + 1;
    return NULL;
}

static const struct cu_verb *find_verb(const char *name)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (!strcasecmp(verbs[i].name, name))
            return &verbs[i];
    return NULL;
}

static int usage_error(FILE *err, const char *fmt, const char *what)
{
    fprintf(err, "CertUtil: ");
    fprintf(err, fmt, what);
    fprintf(err, "\n");
    print_usage(err);
    return EXIT_USAGE;
}

/* One option (dash already removed); returns the number of argv slots used, or -1. */
static int parse_option(const char *opt, int i, int argc, char **argv, struct cu_args *a,
                        FILE *err)
{
    if (!strcasecmp(opt, "user"))
        return a->user = true, 1;
    if (!strcasecmp(opt, "v"))
        return a->verbose = true, 1;
    if (!strcasecmp(opt, "silent"))
        return a->silent = true, 1;
    if (!strcasecmp(opt, "f"))
        return a->force = true, 1;
    if (!strcasecmp(opt, "profile") || !strcasecmp(opt, "machine")) {
        if (i + 1 >= argc) {
            usage_error(err, "option %s needs a folder", opt);
            return -1;
        }
        *(!strcasecmp(opt, "profile") ? &a->profile : &a->machine) = argv[i + 1];
        return 2;
    }
    const struct cu_verb *v = find_verb(opt);
    if (!v) {
        usage_error(err, "Unknown arg: -%s", opt);
        return -1;
    }
    if (a->verb) {
        usage_error(err, "more than one verb (-%s)", opt);
        return -1;
    }
    a->verb = v;
    return 1;
}

#define LEFT_QUOTE "\xE2\x80\x9C"
#define RIGHT_QUOTE "\xE2\x80\x9D"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* A shell does not treat curly quotes as quotes, so a pasted
 * “05 05 1c ... 98” arrives as several words: join them back up to the
 * closing curly quote.  Returns the number of argv slots used. */
static int join_curly_quoted(int argc, char **argv, int i, char *out, size_t cap)
{
    snprintf(out, cap, "%s", argv[i]);
    if (strncmp(argv[i], LEFT_QUOTE, 3) || (strlen(argv[i]) > 3 && ends_with(argv[i], RIGHT_QUOTE)))
        return 1;
    int j = i + 1;
    for (; j < argc; j++) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, " %s", argv[j]);
        if (ends_with(argv[j], RIGHT_QUOTE))
            return j - i + 1;
    }
    snprintf(out, cap, "%s", argv[i]); /* no closing quote: take the word alone */
    return 1;
}

static int parse_args(int argc, char **argv, struct cu_args *a, FILE *err)
{
    for (int i = 1; i < argc;) {
        const char *opt = undash(argv[i]);
        if (opt) {
            int used = parse_option(opt, i, argc, argv, a, err);
            if (used < 0)
                return EXIT_USAGE;
            i += used;
            continue;
        }
        if (a->npos >= MAX_POSITIONAL)
            return usage_error(err, "too many arguments at '%s'", argv[i]);
        char joined[ARG_MAX_LEN];
        i += join_curly_quoted(argc, argv, i, joined, sizeof joined);
        cs_certid_normalize(joined, a->pos[a->npos++], ARG_MAX_LEN);
    }
    if (!a->verb)
        return usage_error(err, "%s", "no verb given (for example -store)");
    if (a->npos < a->verb->min_args || a->npos > a->verb->max_args)
        return usage_error(err, "-%s: wrong number of arguments", a->verb->name);
    return EXIT_OK;
}

static int failed(struct cu_ctx *cx, const struct cu_args *a, const char *hr, const char *detail)
{
    if (detail && detail[0])
        fprintf(cx->err, "CertUtil: %s\n", detail);
    fprintf(cx->out, "CertUtil: -%s command FAILED: %s\n", a->verb->name, hr);
    return EXIT_FAILED;
}

static int succeeded(struct cu_ctx *cx, const struct cu_args *a)
{
    fprintf(cx->out, "CertUtil: -%s command completed successfully.\n", a->verb->name);
    return EXIT_OK;
}

/* ---- stores ----------------------------------------------------------- */

static int open_store(struct cu_ctx *cx, const struct cu_args *a, const char *name, bool create,
                      struct cs_store **st)
{
    const char *root = a->user ? a->profile : a->machine;
    if (!root) {
        root = getenv(a->user ? "SCARDLAB_PROFILE" : "SCARDLAB_MACHINE");
    }
    if (!root || !root[0]) {
        fprintf(cx->err, "CertUtil: %s\n", a->user ? "-user needs --profile DIR (or $SCARDLAB_PROFILE)"
                                                   : "machine stores need --machine DIR (or $SCARDLAB_MACHINE); add -user for the profile's stores");
        return EXIT_USAGE;
    }
    struct scl_err e = {0};
    if (cs_store_open(a->user ? CS_SCOPE_USER : CS_SCOPE_MACHINE, root, name, create, st, &e))
        return failed(cx, a, HR_INVALID_ARG, e.msg);
    return EXIT_OK;
}

static int list_store(struct cu_ctx *cx, const struct cu_args *a, struct cs_store *st,
                      struct cs_listing *l)
{
    struct scl_err e = {0};
    if (cs_store_list(st, l, &e))
        return failed(cx, a, HR_FILE, e.msg);
    for (size_t i = 0; i < l->nwarnings; i++)
        fprintf(cx->err, "CertUtil: warning: %s\n", l->warnings[i]);
    return EXIT_OK;
}

static void print_store_title(struct cu_ctx *cx, const struct cs_store *st)
{
    const char *name = cs_store_name(st), *disp = cs_store_display_name(name);
    if (strcmp(name, disp))
        fprintf(cx->out, "%s \"%s\"\n", name, disp);
    else
        fprintf(cx->out, "%s\n", name);
}

/* Run fn on each element certid names (all of them when certid is NULL). */
static size_t for_matches(struct cu_ctx *cx, const struct cs_listing *l, const char *certid,
                          void (*fn)(struct cu_ctx *, const struct cs_element *, size_t))
{
    size_t hits = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!certid || cs_certid_match(certid, &l->elements[i], i)) {
            fn(cx, &l->elements[i], i);
            hits++;
        }
    return hits;
}

static int verb_store(struct cu_ctx *cx, const struct cu_args *a)
{
    struct cs_store *st;
    int rc = open_store(cx, a, a->npos ? a->pos[0] : CS_STORE_MY, false, &st);
    if (rc)
        return rc;
    struct cs_listing l;
    rc = list_store(cx, a, st, &l);
    if (!rc) {
        print_store_title(cx, st);
        const char *certid = a->npos > 1 ? a->pos[1] : NULL;
        size_t hits = for_matches(cx, &l, certid, cu_print_cert);
        rc = certid && !hits ? failed(cx, a, HR_NOT_FOUND, NULL) : succeeded(cx, a);
        cs_listing_free(&l);
    }
    cs_store_close(st);
    return rc;
}

static int delete_matches(struct cu_ctx *cx, const struct cu_args *a, struct cs_store *st,
                          const struct cs_listing *l, size_t *hits)
{
    *hits = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (!cs_certid_match(a->pos[1], &l->elements[i], i))
            continue;
        cu_print_cert_brief(cx, &l->elements[i], i);
        struct scl_err e = {0};
        /* Someone else deleting it first (a sweep, a second certutil) is fine. */
        int rc = cs_store_delete(st, l->elements[i].sha1, &e);
        if (rc && rc != SCL_E_NOTFOUND)
            return failed(cx, a, HR_FILE, e.msg);
        fprintf(cx->out, "Deleting Certificate %zu\n", i);
        (*hits)++;
    }
    return EXIT_OK;
}

static int verb_delstore(struct cu_ctx *cx, const struct cu_args *a)
{
    struct cs_store *st;
    int rc = open_store(cx, a, a->pos[0], false, &st);
    if (rc)
        return rc;
    struct cs_listing l;
    rc = list_store(cx, a, st, &l);
    if (!rc) {
        print_store_title(cx, st);
        size_t hits;
        rc = delete_matches(cx, a, st, &l, &hits);
        if (!rc)
            rc = hits ? succeeded(cx, a) : failed(cx, a, HR_NOT_FOUND, NULL);
        cs_listing_free(&l);
    }
    cs_store_close(st);
    return rc;
}

static int verb_verifykeys(struct cu_ctx *cx, const struct cu_args *a)
{
    struct cs_store *st;
    int rc = open_store(cx, a, a->npos ? a->pos[0] : CS_STORE_MY, false, &st);
    if (rc)
        return rc;
    struct cs_listing l;
    rc = list_store(cx, a, st, &l);
    if (!rc) {
        print_store_title(cx, st);
        size_t stale = 0;
        for (size_t i = 0; i < l.n; i++) {
            cu_print_cert_brief(cx, &l.elements[i], i);
            fprintf(cx->out, "Cert Hash(sha1): ");
            for (size_t k = 0; k < 20; k++)
                fprintf(cx->out, "%02x", l.elements[i].sha1[k]);
            fprintf(cx->out, "\n");
            stale += cu_print_key_facts(cx, &l.elements[i]);
        }
        if (stale)
            fprintf(cx->err, "CertUtil: %zu certificate(s) claim a private key no present card holds\n",
                    stale);
        rc = stale ? failed(cx, a, HR_BAD_KEYSET, NULL) : succeeded(cx, a);
        cs_listing_free(&l);
    }
    cs_store_close(st);
    return rc;
}

/* ---- files ------------------------------------------------------------ */

static int verb_exportsst(struct cu_ctx *cx, const struct cu_args *a)
{
    struct cs_store *st;
    int rc = open_store(cx, a, a->pos[0], false, &st);
    if (rc)
        return rc;
    struct cs_listing l;
    rc = list_store(cx, a, st, &l);
    if (!rc) {
        uint8_t *buf = NULL;
        size_t len = 0;
        struct scl_err e = {0};
        if (cs_sst_encode(l.elements, l.n, &buf, &len, &e) ||
            scl_write_atomic(a->pos[1], buf, len, 0644, &e))
            rc = failed(cx, a, HR_FILE, e.msg);
        else {
            fprintf(cx->out, "%zu certificate(s) exported to %s\n", l.n, a->pos[1]);
            rc = succeeded(cx, a);
        }
        free(buf);
        cs_listing_free(&l);
    }
    cs_store_close(st);
    return rc;
}

static const char *outcome_text(enum cs_add_outcome oc)
{
    return oc == CS_ADDED ? "added to store" : oc == CS_REPLACED ? "replaced in store" : "already in store";
}

static int add_elements(struct cu_ctx *cx, const struct cu_args *a, struct cs_store *st,
                        const struct cs_element *els, size_t n, enum cs_add_disposition disp)
{
    for (size_t i = 0; i < n; i++) {
        enum cs_add_outcome oc;
        struct scl_err e = {0};
        if (cs_store_add_element(st, &els[i], disp, &oc, &e))
            return failed(cx, a, HR_FILE, e.msg);
        struct cs_cert_info ci;
        const char *cn = cs_cert_info(els[i].cert_der, els[i].cert_len, &ci, NULL) ? "?" : ci.subject_cn;
        fprintf(cx->out, "Certificate \"%s\" %s.\n", cn, outcome_text(oc));
    }
    return succeeded(cx, a);
}

static int read_input(struct cu_ctx *cx, const struct cu_args *a, uint8_t **buf, size_t *len)
{
    struct scl_err e = {0};
    if (scl_read_file(a->pos[1], FILE_MAX, buf, len, &e))
        return failed(cx, a, HR_FILE, e.msg);
    return EXIT_OK;
}

static int import_sst_bytes(struct cu_ctx *cx, const struct cu_args *a, const uint8_t *buf,
                            size_t len)
{
    struct cs_element *els;
    size_t n;
    struct scl_err e = {0};
    if (cs_sst_decode(buf, len, &els, &n, &e))
        return failed(cx, a, HR_DATA, e.msg);
    struct cs_store *st;
    int rc = open_store(cx, a, a->pos[0], true, &st);
    if (!rc) {
        rc = add_elements(cx, a, st, els, n, a->force ? CS_ADD_REPLACE_EXISTING : CS_ADD_REPLACE_INHERIT);
        cs_store_close(st);
    }
    cs_elements_free(els, n);
    return rc;
}

static int verb_importsst(struct cu_ctx *cx, const struct cu_args *a)
{
    uint8_t *buf;
    size_t len;
    int rc = read_input(cx, a, &buf, &len);
    if (rc)
        return rc;
    rc = import_sst_bytes(cx, a, buf, len);
    free(buf);
    return rc;
}

/* A .cer is DER, or PEM ("-----BEGIN CERTIFICATE-----"), decoded by libcrypto. */
static int cert_from_file_bytes(const uint8_t *buf, size_t len, uint8_t **der, size_t *der_len)
{
    *der = NULL;
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!x) {
        ERR_clear_error();
        *der = OPENSSL_malloc(len ? len : 1);
        if (!*der)
            return -1;
        memcpy(*der, buf, len);
        *der_len = len;
        return 0;
    }
    unsigned char *out = NULL;
    int n = i2d_X509(x, &out);
    X509_free(x);
    if (n <= 0)
        return -1;
    *der = out;
    *der_len = (size_t)n;
    return 0;
}

static int add_cer_bytes(struct cu_ctx *cx, const struct cu_args *a, const uint8_t *buf, size_t len)
{
    uint8_t *der;
    size_t der_len;
    if (cert_from_file_bytes(buf, len, &der, &der_len))
        return failed(cx, a, HR_DATA, "certificate file does not decode");
    struct cs_element el;
    struct scl_err e = {0};
    int rc = EXIT_OK;
    if (cs_element_from_cert(der, der_len, &el, &e))
        rc = failed(cx, a, HR_DATA, e.msg);
    OPENSSL_free(der);
    if (rc)
        return rc;
    struct cs_store *st;
    rc = open_store(cx, a, a->pos[0], true, &st);
    if (!rc) {
        rc = add_elements(cx, a, st, &el, 1, a->force ? CS_ADD_REPLACE_INHERIT : CS_ADD_USE_EXISTING);
        cs_store_close(st);
    }
    cs_element_free(&el);
    return rc;
}

static int verb_addstore(struct cu_ctx *cx, const struct cu_args *a)
{
    uint8_t *buf;
    size_t len;
    int rc = read_input(cx, a, &buf, &len);
    if (rc)
        return rc;
    static const uint8_t sst_magic[8] = {0, 0, 0, 0, 'C', 'E', 'R', 'T'};
    if (len >= sizeof sst_magic && !memcmp(buf, sst_magic, sizeof sst_magic))
        rc = import_sst_bytes(cx, a, buf, len);
    else
        rc = add_cer_bytes(cx, a, buf, len);
    free(buf);
    return rc;
}

/* ---- entry points ----------------------------------------------------- */

int cu_run(int argc, char **argv, FILE *out, FILE *err)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || !strcmp(argv[i], "-?")) {
            print_usage(out);
            return EXIT_OK;
        }
    struct cu_args a = {0};
    int rc = parse_args(argc, argv, &a, err);
    if (rc)
        return rc;
    struct cu_ctx cx = {.out = out, .err = err, .verbose = a.verbose};
    rc = a.verb->run(&cx, &a);
    cu_cards_release(&cx.cards);
    fflush(out);
    return rc;
}

int cp_cmd_certutil(int argc, char **argv) { return cu_run(argc, argv, stdout, stderr); }
