/*
 * sweep_walk.c - find the profiles of a fleet: a folder holding AppData/ is a
 * profile; ROOT/<server>/<profile> and ROOT/<profile> are both accepted.
 * Not reading stores (sweep.c) and not deciding who owns a profile.
 */
#include "sweep_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct plist {
    struct sw_profile *v;
    size_t n, cap;
};

static bool is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* 1: a profile; 0: not one; -1: cannot tell (no permission), which the
 * caller treats as a profile so that the sweep reports it unreadable. */
static int is_profile(const char *path)
{
    char app[SW_PATH_MAX + 16];
    snprintf(app, sizeof app, "%s/AppData", path);
    struct stat sb;
    if (stat(app, &sb) == 0)
        return S_ISDIR(sb.st_mode);
    return errno == EACCES ? -1 : 0;
}

static const char *base_name(const char *path, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", path);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = 0;
    const char *s = strrchr(buf, '/');
    return s && s[1] ? s + 1 : buf;
}

static int push_profile(struct plist *l, const char *path, const char *server, const char *name,
                        struct scl_err *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct sw_profile *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return scl_errf(e, SCL_E_NOMEM, "walk: out of memory");
        l->v = v;
        l->cap = cap;
    }
    struct sw_profile *p = &l->v[l->n++];
    snprintf(p->path, sizeof p->path, "%s", path);
    snprintf(p->server, sizeof p->server, "%s", server);
    snprintf(p->name, sizeof p->name, "%s", name);
    return SCL_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the sub-folders of dir (dot-names left out). */
static int list_subdirs(const char *dir, char ***names, size_t *n, struct scl_err *e)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return scl_errf(e, SCL_E_IO, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    size_t cap = 0;
    int rc = SCL_OK;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            char **v = realloc(*names, cap * sizeof *v);
            if (!v) {
                rc = scl_errf(e, SCL_E_NOMEM, "%s: out of memory", dir);
                break;
            }
            *names = v;
        }
        if (!((*names)[*n] = strdup(de->d_name)))
            rc = scl_errf(e, SCL_E_NOMEM, "%s: out of memory", dir);
        else
            (*n)++;
    }
    closedir(d);
    if (!rc && *n)
        qsort(*names, *n, sizeof **names, cmp_str);
    return rc;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* A server folder: its sub-folders that hold AppData/ are its profiles.  An
 * unreadable server folder is skipped silently here: it holds no profile we
 * could sweep, and the caller reports profiles, not folders. */
static int walk_server(struct plist *l, const char *dir, const char *server, struct scl_err *e)
{
    char **names;
    size_t n;
    struct scl_err ignore;
    if (list_subdirs(dir, &names, &n, &ignore))
        return SCL_OK;
    int rc = SCL_OK;
    for (size_t i = 0; !rc && i < n; i++) {
        char path[SW_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path)
            continue;
        if (is_profile(path) != 0)
            rc = push_profile(l, path, server, names[i], e);
    }
    free_names(names, n);
    return rc;
}

static int walk_root(struct plist *l, const char *root, struct scl_err *e)
{
    char rb[SW_PATH_MAX], pb[SW_PATH_MAX];
    if (!is_dir(root))
        return scl_errf(e, SCL_E_NOTFOUND, "%s: not a folder", root);
    if (is_profile(root) == 1) { /* a single profile named directly */
        snprintf(pb, sizeof pb, "%s/..", root);
        char parent[SW_PATH_MAX];
        const char *server = realpath(pb, parent) ? base_name(parent, pb, sizeof pb) : "";
        return push_profile(l, root, server, base_name(root, rb, sizeof rb), e);
    }
    char **names;
    size_t n;
    int rc = list_subdirs(root, &names, &n, e);
    if (rc)
        return rc;
    char abs[SW_PATH_MAX];
    const char *root_name = base_name(realpath(root, abs) ? abs : root, rb, sizeof rb);
    for (size_t i = 0; !rc && i < n; i++) {
        char path[SW_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", root, names[i]) >= (int)sizeof path)
            continue;
        if (is_profile(path) != 0)
            rc = push_profile(l, path, root_name, names[i], e);
        else
            rc = walk_server(l, path, names[i], e);
    }
    free_names(names, n);
    return rc;
}

int sw_walk_roots(const char *const *roots, size_t nroots, struct sw_profile **out, size_t *n,
                  struct scl_err *e)
{
    struct plist l = {0};
    int rc = SCL_OK;
    for (size_t i = 0; !rc && i < nroots; i++)
        rc = walk_root(&l, roots[i], e);
    if (rc) {
        free(l.v);
        l.v = NULL;
        l.n = 0;
    }
    *out = l.v;
    *n = l.n;
    return rc;
}
