/*
 * store.c - a certificate store as a folder of element files named by SHA-1,
 * the way a profile's SystemCertificates folder holds them; one flock per store.
 * Not the element codec (store_element.c) and not matching or display.
 */
#include "propagator.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_PATH_MAX 4096
#define ELEMENT_FILE_MAX (1u << 20)
#define LOCK_FILE_NAME ".scardlab-store.lock"

struct cs_store {
    char name[64];
    char dir[STORE_PATH_MAX];  /* .../<name>/Certificates */
    char lock[STORE_PATH_MAX]; /* .../<name>/.scardlab-store.lock */
    bool exists;
};

struct store_display {
    const char *name;
    const char *display;
};

/* What certutil prints after the store name. */
static const struct store_display displays[] = {
    {"My", "Personal"},
    {"Request", "Certificate Enrollment Requests"},
    {"SmartCardRoot", "Smart Card Trusted Roots"},
    {"Root", "Trusted Root Certification Authorities"},
    {"CA", "Intermediate Certification Authorities"},
    {"TrustedPeople", "Trusted People"},
};

const char *cs_store_display_name(const char *name)
{
    for (size_t i = 0; i < sizeof displays / sizeof displays[0]; i++)
        if (!strcasecmp(displays[i].name, name))
            return displays[i].display;
    return name;
}

static bool store_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]))
            return false;
    return true;
}

/* Canonical spelling for known stores, so "my" and "MY" name the same folder. */
static const char *canonical_name(const char *name)
{
    for (size_t i = 0; i < sizeof displays / sizeof displays[0]; i++)
        if (!strcasecmp(displays[i].name, name))
            return displays[i].name;
    return name;
}

static int store_base(enum cs_scope scope, const char *root, const char *name, char *out,
                      size_t cap, struct scl_err *e)
{
    if (!store_name_ok(name))
        return scl_errf(e, SCL_E_INVAL, "store name '%s': letters and digits only", name);
    const char *mid = scope == CS_SCOPE_USER ? "AppData/Roaming/Microsoft/SystemCertificates"
                                             : "ProgramData/Microsoft/SystemCertificates";
    int n = snprintf(out, cap, "%s/%s/%s", root, mid, canonical_name(name));
    if (n < 0 || (size_t)n >= cap)
        return scl_errf(e, SCL_E_INVAL, "%s: store path too long", root);
    return SCL_OK;
}

int cs_store_path(enum cs_scope scope, const char *root, const char *name, char *out, size_t cap,
                  struct scl_err *e)
{
    char base[STORE_PATH_MAX];
    int rc = store_base(scope, root, name, base, sizeof base, e);
    if (rc)
        return rc;
    int n = snprintf(out, cap, "%s/Certificates", base);
    if (n < 0 || (size_t)n >= cap)
        return scl_errf(e, SCL_E_INVAL, "%s: store path too long", root);
    return SCL_OK;
}

int cs_store_open(enum cs_scope scope, const char *root, const char *name, bool create,
                  struct cs_store **st, struct scl_err *e)
{
    *st = NULL;
    struct cs_store *s = calloc(1, sizeof *s);
    if (!s)
        return scl_errf(e, SCL_E_NOMEM, "store: out of memory");
    char base[STORE_PATH_MAX];
    int rc = store_base(scope, root, name, base, sizeof base, e);
    if (!rc)
        rc = cs_store_path(scope, root, name, s->dir, sizeof s->dir, e);
    if (!rc && snprintf(s->lock, sizeof s->lock, "%s/%s", base, LOCK_FILE_NAME) >= (int)sizeof s->lock)
        rc = scl_errf(e, SCL_E_INVAL, "%s: store path too long", root);
    if (!rc && create)
        rc = scl_mkdirs(s->dir, 0700, e);
    if (rc) {
        free(s);
        return rc;
    }
    snprintf(s->name, sizeof s->name, "%s", canonical_name(name));
    struct stat sb;
    s->exists = stat(s->dir, &sb) == 0 && S_ISDIR(sb.st_mode);
    *st = s;
    return SCL_OK;
}

void cs_store_close(struct cs_store *st) { free(st); }
const char *cs_store_name(const struct cs_store *st) { return st->name; }
const char *cs_store_dir(const struct cs_store *st) { return st->dir; }

/* Whole-store lock: writers exclusive, readers shared.  Returns the fd. */
static int lock_store(const struct cs_store *st, int how, int *fd, struct scl_err *e)
{
    *fd = open(st->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return scl_errf(e, SCL_E_IO, "%s: open lock: %s", st->lock, strerror(errno));
    while (flock(*fd, how) != 0) {
        if (errno == EINTR)
            continue;
        int err = errno;
        close(*fd);
        *fd = -1;
        return scl_errf(e, SCL_E_IO, "%s: flock: %s", st->lock, strerror(err));
    }
    return SCL_OK;
}

static void unlock_store(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the only descriptor releases the flock */
}

static void element_path(const struct cs_store *st, const uint8_t sha1[20], char *out, size_t cap)
{
    char hex[41];
    scl_hex_encode(sha1, 20, hex, true);
    snprintf(out, cap, "%s/%s", st->dir, hex);
}

/* Read the element stored under sha1: SCL_E_NOTFOUND when there is none. */
static int read_element(const char *path, struct cs_element *el, struct scl_err *e)
{
    uint8_t *buf;
    size_t len;
    int rc = scl_read_file(path, ELEMENT_FILE_MAX, &buf, &len, e);
    if (rc)
        return rc;
    rc = cs_element_decode(buf, len, el, e);
    free(buf);
    return rc ? scl_err_wrap(e, "%s", path) : SCL_OK;
}

static int copy_missing_props(struct cs_element *to, const struct cs_element *from,
                              struct scl_err *e)
{
    for (size_t i = 0; i < from->nprops; i++)
        if (!cs_element_prop(to, from->props[i].id)) {
            int rc = cs_element_set_prop(to, from->props[i].id, from->props[i].val,
                                         from->props[i].len, e);
            if (rc)
                return rc;
        }
    return SCL_OK;
}

static int write_element(const char *path, const struct cs_element *el, struct scl_err *e)
{
    uint8_t *buf;
    size_t len;
    int rc = cs_element_encode(el, &buf, &len, e);
    if (rc)
        return rc;
    rc = scl_write_atomic(path, buf, len, 0600, e);
    free(buf);
    return rc;
}

/* Decide what to write given the element already stored (old may be NULL). */
static int merge_for_disposition(struct cs_element *out, const struct cs_element *old,
                                 enum cs_add_disposition disp, enum cs_add_outcome *oc,
                                 struct scl_err *e)
{
    if (!old) {
        *oc = CS_ADDED;
        return SCL_OK;
    }
    switch (disp) {
    case CS_ADD_NEW:
        return scl_errf(e, SCL_E_STATE, "certificate already in the store (CERT_STORE_ADD_NEW)");
    case CS_ADD_USE_EXISTING:
        *oc = CS_KEPT;
        return SCL_OK;
    case CS_ADD_REPLACE_EXISTING:
        *oc = CS_REPLACED;
        return SCL_OK;
    case CS_ADD_REPLACE_INHERIT:
        *oc = CS_REPLACED;
        return copy_missing_props(out, old, e);
    }
    return scl_errf(e, SCL_E_INVAL, "add disposition %d not supported", (int)disp);
}

static int add_locked(struct cs_store *st, struct cs_element *el, enum cs_add_disposition disp,
                      enum cs_add_outcome *oc, struct scl_err *e)
{
    char path[STORE_PATH_MAX + 48];
    element_path(st, el->sha1, path, sizeof path);
    struct cs_element old;
    struct scl_err olde = {0};
    int rc = read_element(path, &old, &olde);
    /* A stored file that does not parse, or holds another certificate than
     * its name says, is replaced without inheriting anything: Windows ignores
     * it anyway. */
    bool have_old = rc == SCL_OK;
    if (have_old && memcmp(old.sha1, el->sha1, 20)) {
        cs_element_free(&old);
        have_old = false;
    }
    rc = merge_for_disposition(el, have_old ? &old : NULL, disp, oc, e);
    if (!rc && *oc != CS_KEPT)
        rc = write_element(path, el, e);
    if (have_old)
        cs_element_free(&old);
    return rc;
}

int cs_store_add_element(struct cs_store *st, const struct cs_element *el,
                         enum cs_add_disposition disp, enum cs_add_outcome *outcome,
                         struct scl_err *e)
{
    enum cs_add_outcome oc_local;
    enum cs_add_outcome *oc = outcome ? outcome : &oc_local;
    struct stat sb;
    st->exists = stat(st->dir, &sb) == 0 && S_ISDIR(sb.st_mode); /* someone may have made it since */
    if (!st->exists)
        return scl_errf(e, SCL_E_STATE, "%s: store does not exist (open it with create)", st->dir);
    struct cs_element copy;
    int rc = cs_element_from_cert(el->cert_der, el->cert_len, &copy, e);
    if (rc)
        return rc;
    rc = copy_missing_props(&copy, el, e);
    /* The hash property always states the real hash, as Windows recomputes it. */
    if (!rc)
        rc = cs_element_set_prop(&copy, CS_PROP_SHA1_HASH, copy.sha1, 20, e);
    int fd = -1;
    if (!rc)
        rc = lock_store(st, LOCK_EX, &fd, e);
    if (!rc)
        rc = add_locked(st, &copy, disp, oc, e);
    unlock_store(fd);
    cs_element_free(&copy);
    return rc;
}

int cs_store_add(struct cs_store *st, const uint8_t *cert_der, size_t len,
                 const struct cs_key_prov_info *kpi, enum cs_add_disposition disp,
                 enum cs_add_outcome *outcome, struct scl_err *e)
{
    struct cs_element el;
    int rc = cs_element_from_cert(cert_der, len, &el, e);
    if (rc)
        return rc;
    if (kpi) {
        uint8_t *v;
        size_t vlen;
        rc = cs_kpi_encode(kpi, &v, &vlen, e);
        if (!rc) {
            rc = cs_element_set_prop(&el, CS_PROP_KEY_PROV_INFO, v, vlen, e);
            free(v);
        }
    }
    if (!rc)
        rc = cs_store_add_element(st, &el, disp, outcome, e);
    cs_element_free(&el);
    return rc;
}

int cs_store_delete(struct cs_store *st, const uint8_t sha1[20], struct scl_err *e)
{
    char path[STORE_PATH_MAX + 48];
    element_path(st, sha1, path, sizeof path);
    if (!st->exists)
        return scl_errf(e, SCL_E_NOTFOUND, "%s: no such element", path);
    int fd;
    int rc = lock_store(st, LOCK_EX, &fd, e);
    if (rc)
        return rc;
    if (unlink(path) != 0)
        rc = scl_errf(e, errno == ENOENT ? SCL_E_NOTFOUND : SCL_E_IO, "%s: %s", path,
                      strerror(errno));
    unlock_store(fd);
    return rc;
}

/* The store's folder, open for the *at() calls of one locked operation. */
static int open_dir(const struct cs_store *st, int *dfd, struct scl_err *e)
{
    *dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*dfd < 0)
        return scl_errf(e, errno == ENOENT ? SCL_E_NOTFOUND : SCL_E_IO, "%s: %s", st->dir,
                        strerror(errno));
    return SCL_OK;
}

/* An element file's bytes by name; errors name it by its full path. */
static int read_bytes_at(const struct cs_store *st, int dfd, const char *name, uint8_t **buf,
                         size_t *len, struct scl_err *e)
{
    struct scl_err re = {0};
    int rc = scl_read_file_at(dfd, name, ELEMENT_FILE_MAX, buf, len, &re);
    return rc ? scl_errf(e, rc, "%s/%s", st->dir, re.msg) : SCL_OK; /* re.msg starts with name */
}

/* Read one element file by name. */
static int read_element_at(const struct cs_store *st, int dfd, const char *name,
                           struct cs_element *el, struct scl_err *e)
{
    uint8_t *buf;
    size_t len;
    int rc = read_bytes_at(st, dfd, name, &buf, &len, e);
    if (rc)
        return rc;
    rc = cs_element_decode(buf, len, el, e);
    free(buf);
    return rc ? scl_err_wrap(e, "%s/%s", st->dir, name) : SCL_OK;
}

/* Are the file's bytes still what the caller read (el->raw, else el encoded)? */
static int file_is(const struct cs_store *st, int dfd, const char *name,
                   const struct cs_element *el, bool *same, struct scl_err *e)
{
    uint8_t *have, *enc = NULL;
    size_t hn, wn = el->raw_len;
    int rc = read_bytes_at(st, dfd, name, &have, &hn, e);
    if (rc)
        return rc;
    const uint8_t *want = el->raw;
    if (!want) {
        rc = cs_element_encode(el, &enc, &wn, e);
        want = enc;
    }
    *same = !rc && hn == wn && !memcmp(have, want, hn);
    free(enc);
    free(have);
    return rc;
}

/* Take the file out of the store: moved into keep when given (a rename frees
 * no blocks, so it costs no discard on file systems mounted with one), else
 * unlinked. */
static int remove_file(int dfd, const char *name, const struct cs_keep *keep)
{
    if (keep) {
        char kept[256 + 41];
        snprintf(kept, sizeof kept, "%s%s", keep->prefix, name);
        if (renameat(dfd, name, keep->dirfd, kept) == 0)
            return 0;
        if (errno != EXDEV)
            return -1;
    }
    return unlinkat(dfd, name, 0);
}

/* One compare-and-delete inside an already locked, already open store. */
static int delete_one_if_same(const struct cs_store *st, int dfd, const struct cs_element *el,
                              const struct cs_keep *keep, struct scl_err *e)
{
    char name[41];
    scl_hex_encode(el->sha1, 20, name, true);
    bool same = false;
    int rc = file_is(st, dfd, name, el, &same, e);
    if (!rc && !same)
        rc = scl_errf(e, SCL_E_STATE, "%s/%s: rewritten since it was read; not deleted", st->dir,
                      name);
    if (!rc && remove_file(dfd, name, keep) != 0)
        rc = scl_errf(e, errno == ENOENT ? SCL_E_NOTFOUND : SCL_E_IO, "%s/%s: %s", st->dir, name,
                      strerror(errno));
    return rc;
}

int cs_store_delete_each_if_same(struct cs_store *st, const struct cs_element *const *els,
                                 size_t n, const struct cs_keep *keep, cs_delete_seen seen,
                                 void *ctx, struct scl_err *e)
{
    if (!st->exists)
        return scl_errf(e, SCL_E_NOTFOUND, "%s: no such store folder", st->dir);
    int lock, dfd;
    int rc = lock_store(st, LOCK_EX, &lock, e);
    if (rc)
        return rc;
    if ((rc = open_dir(st, &dfd, e))) {
        unlock_store(lock);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        struct scl_err one = {0};
        int orc = delete_one_if_same(st, dfd, els[i], keep, &one);
        if (!seen(ctx, i, orc, &one))
            break;
    }
    close(dfd);
    unlock_store(lock);
    return SCL_OK;
}

struct single_delete {
    int rc;
    struct scl_err *e;
};

static bool note_single(void *ctx, size_t i, int rc, const struct scl_err *one)
{
    struct single_delete *sd = ctx;
    (void)i;
    sd->rc = rc;
    if (rc)
        *sd->e = *one;
    return true;
}

int cs_store_delete_if_same(struct cs_store *st, const struct cs_element *el, struct scl_err *e)
{
    if (!st->exists) {
        char path[STORE_PATH_MAX + 48];
        element_path(st, el->sha1, path, sizeof path);
        return scl_errf(e, SCL_E_NOTFOUND, "%s: no such element", path);
    }
    struct single_delete sd = {.rc = SCL_OK, .e = e};
    int rc = cs_store_delete_each_if_same(st, &el, 1, NULL, note_single, &sd, e);
    return rc ? rc : sd.rc;
}

int cs_store_add_raw(struct cs_store *st, const struct cs_element *el,
                     enum cs_add_outcome *outcome, struct scl_err *e)
{
    if (!el->raw)
        return scl_errf(e, SCL_E_INVAL, "element: no raw bytes to restore");
    struct stat sb;
    st->exists = stat(st->dir, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (!st->exists)
        return scl_errf(e, SCL_E_STATE, "%s: store does not exist (open it with create)", st->dir);
    char path[STORE_PATH_MAX + 48];
    element_path(st, el->sha1, path, sizeof path);
    int fd;
    int rc = lock_store(st, LOCK_EX, &fd, e);
    if (rc)
        return rc;
    /* Like CERT_STORE_ADD_USE_EXISTING in add_locked: only a readable element
     * of the same certificate counts as present. */
    struct cs_element old;
    struct scl_err olde = {0};
    enum cs_add_outcome oc = CS_KEPT;
    if (read_element(path, &old, &olde) == SCL_OK) {
        if (memcmp(old.sha1, el->sha1, 20))
            oc = CS_REPLACED;
        cs_element_free(&old);
    } else {
        oc = olde.code == SCL_E_NOTFOUND ? CS_ADDED : CS_REPLACED;
    }
    if (oc != CS_KEPT)
        rc = scl_write_atomic(path, el->raw, el->raw_len, 0600, e);
    unlock_store(fd);
    if (outcome)
        *outcome = oc;
    return rc;
}

/* ---- listing ---------------------------------------------------------- */

static int add_warning(struct cs_listing *l, struct scl_err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int add_warning(struct cs_listing *l, struct scl_err *e, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **w = realloc(l->warnings, (l->nwarnings + 1) * sizeof *w);
    if (!w)
        return scl_errf(e, SCL_E_NOMEM, "listing: out of memory");
    l->warnings = w;
    if (!(w[l->nwarnings] = strdup(buf)))
        return scl_errf(e, SCL_E_NOMEM, "listing: out of memory");
    l->nwarnings++;
    return SCL_OK;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int read_names(const char *dir, int dfd, char ***names, size_t *n, struct scl_err *e)
{
    *names = NULL;
    *n = 0;
    int own = dup(dfd); /* closedir closes it; dfd stays open for the reads */
    DIR *d = own < 0 ? NULL : fdopendir(own);
    if (!d) {
        int err = errno;
        if (own >= 0)
            close(own);
        return scl_errf(e, SCL_E_IO, "%s: %s", dir, strerror(err));
    }
    struct dirent *de;
    int rc = SCL_OK;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char **nn = realloc(*names, (*n + 1) * sizeof *nn);
        if (!nn || !(nn[*n] = strdup(de->d_name))) {
            if (nn)
                *names = nn;
            rc = scl_errf(e, SCL_E_NOMEM, "%s: out of memory", dir);
            break;
        }
        *names = nn;
        (*n)++;
    }
    closedir(d);
    if (!rc && *n > 1)
        qsort(*names, *n, sizeof **names, cmp_names);
    return rc;
}

static bool name_is_sha1(const char *name, uint8_t sha1[20])
{
    return strlen(name) == 40 && scl_hex_decode(name, sha1, 20) == 20;
}

/* Read one file into the listing, or describe why it was skipped. */
static int list_one(const struct cs_store *st, int dfd, const char *name, struct cs_listing *l,
                    struct scl_err *e)
{
    uint8_t named[20];
    if (!name_is_sha1(name, named))
        return add_warning(l, e, "%s/%s: name is not a SHA-1; skipped", st->dir, name);
    struct cs_element el;
    struct scl_err re = {0};
    if (read_element_at(st, dfd, name, &el, &re))
        return add_warning(l, e, "%s; skipped", re.msg);
    if (memcmp(el.sha1, named, 20)) {
        char hex[41];
        scl_hex_encode(el.sha1, 20, hex, true);
        cs_element_free(&el);
        return add_warning(l, e, "%s/%s: certificate's SHA-1 is %s, not its file name; skipped",
                           st->dir, name, hex);
    }
    struct cs_element *ne = realloc(l->elements, (l->n + 1) * sizeof *ne);
    if (!ne) {
        cs_element_free(&el);
        return scl_errf(e, SCL_E_NOMEM, "listing: out of memory");
    }
    l->elements = ne;
    l->elements[l->n++] = el;
    return SCL_OK;
}

int cs_store_list(struct cs_store *st, struct cs_listing *out, struct scl_err *e)
{
    memset(out, 0, sizeof *out);
    struct stat sb;
    st->exists = stat(st->dir, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (!st->exists)
        return SCL_OK; /* a store nobody wrote to yet is empty */
    int fd, dfd;
    int rc = lock_store(st, LOCK_SH, &fd, e);
    if (rc)
        return rc;
    if ((rc = open_dir(st, &dfd, e))) {
        unlock_store(fd);
        return rc == SCL_E_NOTFOUND ? SCL_OK : rc; /* removed since the stat: empty */
    }
    char **names = NULL;
    size_t nnames = 0;
    rc = read_names(st->dir, dfd, &names, &nnames, e);
    for (size_t i = 0; !rc && i < nnames; i++)
        rc = list_one(st, dfd, names[i], out, e);
    close(dfd);
    unlock_store(fd);
    free_names(names, nnames);
    if (rc)
        cs_listing_free(out);
    return rc;
}

void cs_listing_free(struct cs_listing *l)
{
    cs_elements_free(l->elements, l->n);
    for (size_t i = 0; i < l->nwarnings; i++)
        free(l->warnings[i]);
    free(l->warnings);
    memset(l, 0, sizeof *l);
}
