/*
 * sweep_restore.c - `sweep restore BACKUP`: every manifest entry's .sst goes
 * back into its profile's store with its properties; present ones are kept,
 * so a second run changes nothing.  Not the writing of backups (sweep_backup.c).
 */
#include "sweep_int.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MANIFEST_MAX (1u << 30)
#define SST_MAX (256u << 20)
#define ELEMENT_MAX (1u << 20)

static void problem(struct sw_restore_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct sw_restore_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sw_strv_vaddf(&r->problems, &r->nproblems, fmt, ap);
    va_end(ap);
}

/* Is the stored file exactly the element we backed up? */
static bool stored_identical(const struct cs_store *st, const struct cs_element *el)
{
    char hex[41], path[SW_PATH_MAX + 64];
    scl_hex_encode(el->sha1, 20, hex, true);
    snprintf(path, sizeof path, "%s/%s", cs_store_dir(st), hex);
    uint8_t *have, *enc = NULL;
    size_t hn, wn = el->raw_len;
    struct scl_err e;
    if (scl_read_file(path, ELEMENT_MAX, &have, &hn, &e))
        return false;
    const uint8_t *want = el->raw;
    if (!want && cs_element_encode(el, &enc, &wn, &e) == SCL_OK)
        want = enc;
    bool same = want && hn == wn && !memcmp(have, want, hn);
    free(enc);
    free(have);
    return same;
}

static void restore_elements(struct cs_store *st, const char *where, struct cs_element *els,
                             size_t n, struct sw_restore_result *r)
{
    for (size_t i = 0; i < n; i++) {
        char hex[41];
        scl_hex_encode(els[i].sha1, 20, hex, true);
        enum cs_add_outcome oc;
        struct scl_err e = {0};
        /* The .sst holds each element as its file held it: put those bytes back. */
        int rc = els[i].raw ? cs_store_add_raw(st, &els[i], &oc, &e)
                            : cs_store_add_element(st, &els[i], CS_ADD_USE_EXISTING, &oc, &e);
        if (rc) {
            problem(r, "%s: %s: not restored: %s", where, hex, e.msg);
            continue;
        }
        if (oc != CS_KEPT)
            r->restored++;
        else
            r->already_present++;
        if (!stored_identical(st, &els[i])) {
            r->differing++;
            problem(r, "%s: %s: the store holds a different version (kept; the backup's is in the .sst)",
                    where, hex);
        }
    }
}

static void restore_entry(const char *dir, const cJSON *o, size_t lineno,
                          struct sw_restore_result *r)
{
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(o, "path"));
    const char *store = cJSON_GetStringValue(cJSON_GetObjectItem(o, "store"));
    const char *sst = cJSON_GetStringValue(cJSON_GetObjectItem(o, "sst"));
    if (!path || !store || !sst || strstr(sst, "..")) {
        problem(r, "manifest line %zu: needs \"path\", \"store\" and \"sst\"", lineno);
        return;
    }
    r->entries++;
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        problem(r, "%s: profile folder is gone; its certificates stay in %s/%s", path, dir, sst);
        return;
    }
    char sp[SW_PATH_MAX * 2];
    snprintf(sp, sizeof sp, "%s/%s", dir, sst);
    uint8_t *buf;
    size_t len;
    struct cs_element *els = NULL;
    size_t n = 0;
    struct scl_err e = {0};
    int rc = scl_read_file(sp, SST_MAX, &buf, &len, &e);
    if (!rc) {
        rc = cs_sst_decode(buf, len, &els, &n, &e);
        free(buf);
    }
    struct cs_store *st = NULL;
    if (!rc)
        rc = cs_store_open(CS_SCOPE_USER, path, store, true, &st, &e);
    if (rc)
        problem(r, "manifest line %zu: %s; nothing restored from it (a sweep deletes only after "
                   "its backup is synced: if it stopped before that, the certificates are still in %s)",
                lineno, e.msg, path);
    else
        restore_elements(st, path, els, n, r);
    cs_store_close(st);
    cs_elements_free(els, n);
}

static void restore_line(const char *dir, const uint8_t *p, size_t n, size_t lineno, bool last,
                         struct sw_restore_result *r)
{
    cJSON *o = cJSON_ParseWithLength((const char *)p, n);
    if (!o || !cJSON_IsObject(o)) {
        if (last)
            problem(r, "manifest line %zu: incomplete (written when the sweep stopped; nothing it names was deleted)",
                    lineno);
        else
            problem(r, "manifest line %zu: not a JSON object; skipped", lineno);
    } else if (lineno == 1) {
        const char *fmt = cJSON_GetStringValue(cJSON_GetObjectItem(o, "format"));
        if (!fmt || strcmp(fmt, "scardlab-sweep-backup"))
            problem(r, "manifest line 1: not a scardlab sweep manifest");
    } else {
        restore_entry(dir, o, lineno, r);
    }
    cJSON_Delete(o);
}

int sw_restore(const char *dir, struct sw_restore_result *r, struct scl_err *e)
{
    memset(r, 0, sizeof *r);
    char man[SW_PATH_MAX + 32];
    snprintf(man, sizeof man, "%s/manifest.jsonl", dir);
    uint8_t *buf;
    size_t len;
    int rc = scl_read_file(man, MANIFEST_MAX, &buf, &len, e);
    if (rc)
        return rc;
    struct cur c;
    cur_init(&c, buf, len);
    for (size_t lineno = 1; cur_left(&c); lineno++) {
        const uint8_t *start = c.p + cur_off(&c);
        const uint8_t *nl = memchr(start, '\n', cur_left(&c));
        size_t n = nl ? (size_t)(nl - start) : cur_left(&c);
        const uint8_t *line = cur_bytes(&c, n);
        if (nl)
            cur_skip(&c, 1);
        if (n)
            restore_line(dir, line, n, lineno, !nl, r);
    }
    free(buf);
    return SCL_OK;
}

void sw_restore_result_free(struct sw_restore_result *r)
{
    for (size_t i = 0; i < r->nproblems; i++)
        free(r->problems[i]);
    free(r->problems);
    memset(r, 0, sizeof *r);
}
