/*
 * sweep_backup.c - the backup a sweep writes before it deletes anything: one
 * .sst per profile and an append-only manifest (a JSON object per line), made
 * durable a batch at a time by sw_backup_sync.  Not the restore (sweep_restore.c).
 */
#include "sweep_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_NAME "manifest.jsonl"
#define SST_DIR "sst"
#define REMOVED_DIR "removed"

struct sw_backup {
    char dir[SW_PATH_MAX];
    int fd;         /* the manifest, O_APPEND */
    int removed_fd; /* the folder removed element files are moved into */
    pthread_mutex_t mu;
};

static int fsync_dir(const char *dir, struct scl_err *e)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return scl_errf(e, SCL_E_IO, "%s: %s", dir, strerror(errno));
    int rc = fsync(fd) == 0 ? SCL_OK : scl_errf(e, SCL_E_IO, "%s: fsync: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

static int write_all(int fd, const char *path, const void *p, size_t len, struct scl_err *e)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, (const uint8_t *)p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return scl_errf(e, SCL_E_IO, "%s: write: %s", path, strerror(errno));
        off += (size_t)w;
    }
    return SCL_OK;
}

int sw_backup_open(const char *dir, struct sw_backup **b, struct scl_err *e)
{
    *b = NULL;
    char sst[SW_PATH_MAX + 16], man[SW_PATH_MAX + 32], removed[SW_PATH_MAX + 16];
    snprintf(sst, sizeof sst, "%s/" SST_DIR, dir);
    snprintf(man, sizeof man, "%s/" MANIFEST_NAME, dir);
    snprintf(removed, sizeof removed, "%s/" REMOVED_DIR, dir);
    int rc = scl_mkdirs(sst, 0700, e);
    if (!rc)
        rc = scl_mkdirs(removed, 0700, e);
    if (rc)
        return rc;
    int fd = open(man, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return scl_errf(e, errno == EEXIST ? SCL_E_STATE : SCL_E_IO, "%s: %s", man,
                        errno == EEXIST ? "a backup is already there; name a new folder"
                                        : strerror(errno));
    struct sw_backup *bk = calloc(1, sizeof *bk);
    if (!bk) {
        close(fd);
        return scl_errf(e, SCL_E_NOMEM, "backup: out of memory");
    }
    snprintf(bk->dir, sizeof bk->dir, "%s", dir);
    bk->fd = fd;
    bk->removed_fd = open(removed, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    pthread_mutex_init(&bk->mu, NULL);
    static const char head[] = "{\"format\":\"scardlab-sweep-backup\",\"version\":1}\n";
    rc = bk->removed_fd < 0 ? scl_errf(e, SCL_E_IO, "%s: %s", removed, strerror(errno)) : SCL_OK;
    if (!rc)
        rc = write_all(fd, man, head, strlen(head), e);
    if (!rc && fdatasync(fd) != 0)
        rc = scl_errf(e, SCL_E_IO, "%s: fdatasync: %s", man, strerror(errno));
    if (!rc)
        rc = fsync_dir(dir, e); /* the manifest's own name must survive too */
    if (rc) {
        sw_backup_close(bk);
        return rc;
    }
    *b = bk;
    return SCL_OK;
}

void sw_backup_close(struct sw_backup *b)
{
    if (!b)
        return;
    close(b->fd);
    if (b->removed_fd >= 0)
        close(b->removed_fd);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static void file_safe(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++) {
        char c = in[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        out[i] = ok ? c : '_';
    }
    out[i] = 0;
}

static char *manifest_entry(size_t seq, const struct sw_profile *p, const char *abs,
                            const char *sst_rel, const struct cs_element *const *els, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    cJSON_AddStringToObject(o, "server", p->server);
    cJSON_AddStringToObject(o, "profile", p->name);
    cJSON_AddStringToObject(o, "path", abs);
    cJSON_AddStringToObject(o, "store", CS_STORE_MY);
    cJSON_AddStringToObject(o, "sst", sst_rel);
    cJSON *tp = cJSON_AddArrayToObject(o, "thumbprints");
    for (size_t i = 0; tp && i < n; i++) {
        char hex[41];
        scl_hex_encode(els[i]->sha1, 20, hex, true);
        cJSON_AddItemToArray(tp, cJSON_CreateString(hex));
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Written in place and not synced: nothing refers to the file until the
 * batch's sw_backup_sync, and nothing is deleted before that, so a torn or
 * missing .sst after a crash only ever stands for certificates still in
 * their store (restore reports it).  This is the one departure from
 * scl_write_atomic, and it is what makes --apply cost one sync per batch
 * instead of three per profile. */
static int write_sst(const char *path, const struct cs_element *const *els, size_t n,
                     struct scl_err *e)
{
    struct cs_element *flat = malloc((n ? n : 1) * sizeof *flat);
    if (!flat)
        return scl_errf(e, SCL_E_NOMEM, "backup: out of memory");
    for (size_t i = 0; i < n; i++)
        flat[i] = *els[i]; /* shallow: cs_sst_encode only reads */
    uint8_t *buf;
    size_t len;
    int rc = cs_sst_encode(flat, n, &buf, &len, e);
    free(flat);
    if (rc)
        return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        rc = scl_errf(e, SCL_E_IO, "%s: %s", path, strerror(errno));
    else
        rc = write_all(fd, path, buf, len, e);
    if (fd >= 0 && close(fd) != 0 && !rc)
        rc = scl_errf(e, SCL_E_IO, "%s: close: %s", path, strerror(errno));
    free(buf);
    return rc;
}

int sw_backup_write_sst(struct sw_backup *b, size_t seq, const struct sw_profile *p,
                        const struct cs_element *const *els, size_t n, char rel[SW_SST_REL_MAX],
                        struct scl_err *e)
{
    char server[SW_NAME_MAX], name[SW_NAME_MAX], path[SW_PATH_MAX * 2];
    file_safe(p->server, server, sizeof server);
    file_safe(p->name, name, sizeof name);
    snprintf(rel, SW_SST_REL_MAX, SST_DIR "/%06zu-%s-%s.sst", seq, server, name);
    snprintf(path, sizeof path, "%s/%s", b->dir, rel);
    int rc = write_sst(path, els, n, e);
    return rc ? scl_err_wrap(e, "backup of %s", p->path) : SCL_OK;
}

int sw_backup_append_entry(struct sw_backup *b, size_t seq, const struct sw_profile *p,
                           const char *rel, const struct cs_element *const *els, size_t n,
                           struct scl_err *e)
{
    char abs[SW_PATH_MAX];
    if (!realpath(p->path, abs))
        return scl_errf(e, SCL_E_IO, "%s: %s", p->path, strerror(errno));
    char *line = manifest_entry(seq, p, abs, rel, els, n);
    if (!line)
        return scl_errf(e, SCL_E_NOMEM, "backup: out of memory");
    size_t len = strlen(line);
    char *nl = realloc(line, len + 2);
    if (!nl) {
        free(line);
        return scl_errf(e, SCL_E_NOMEM, "backup: out of memory");
    }
    memcpy(nl + len, "\n", 2);
    char man[SW_PATH_MAX + 32];
    snprintf(man, sizeof man, "%s/" MANIFEST_NAME, b->dir);
    int rc;
    pthread_mutex_lock(&b->mu); /* whole lines: one writer at a time */
    rc = write_all(b->fd, man, nl, len + 1, e);
    pthread_mutex_unlock(&b->mu);
    free(nl);
    return rc;
}

int sw_backup_profile(struct sw_backup *b, size_t seq, const struct sw_profile *p,
                      const struct cs_element *const *els, size_t n, struct scl_err *e)
{
    char rel[SW_SST_REL_MAX];
    int rc = sw_backup_write_sst(b, seq, p, els, n, rel, e);
    return rc ? rc : sw_backup_append_entry(b, seq, p, rel, els, n, e);
}

/* syncfs(2): every .sst and manifest line written so far (by any worker),
 * the sst folder's entries included, in one journal commit; fsyncing each
 * file costs a commit per file. */
int sw_backup_sync(struct sw_backup *b, struct scl_err *e)
{
    if (syncfs(b->fd) != 0)
        return scl_errf(e, SCL_E_IO, "%s: syncfs: %s", b->dir, strerror(errno));
    return SCL_OK;
}

int sw_backup_removed_dir(const struct sw_backup *b) { return b->removed_fd; }
