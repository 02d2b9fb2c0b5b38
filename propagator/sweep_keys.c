/*
 * sweep_keys.c - "a private key for it exists in the profile": the software
 * key container files under AppData/Roaming/Microsoft/Crypto/RSA/<SID>/ (CSP
 * keys) and Crypto/Keys/ (KSP keys), indexed once per profile by file name.
 * Not reading or checking key material: the name is what CryptoAPI looks up.
 */
#include "sweep_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CRYPTO_DIR "AppData/Roaming/Microsoft/Crypto"

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static int push_name(struct sw_keyset *ks, const char *name, struct scl_err *e)
{
    char **v = realloc(ks->names, (ks->n + 1) * sizeof *v);
    if (!v)
        return scl_errf(e, SCL_E_NOMEM, "keys: out of memory");
    ks->names = v;
    if (!(v[ks->n] = strdup(name)))
        return scl_errf(e, SCL_E_NOMEM, "keys: out of memory");
    lower(v[ks->n++]);
    return SCL_OK;
}

/* Add the regular files of dir; a missing dir adds nothing. */
static int add_files(struct sw_keyset *ks, const char *dir, struct scl_err *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR
                   ? SCL_OK
                   : scl_errf(e, SCL_E_IO, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = SCL_OK;
    while (!rc && (de = readdir(d)))
        if (de->d_name[0] != '.' && de->d_type != DT_DIR)
            rc = push_name(ks, de->d_name, e);
    closedir(d);
    return rc;
}

/* CSP keys sit one level down, in a folder named by the user's SID. */
static int add_rsa_sids(struct sw_keyset *ks, const char *rsa, struct scl_err *e)
{
    DIR *d = opendir(rsa);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR
                   ? SCL_OK
                   : scl_errf(e, SCL_E_IO, "%s: %s", rsa, strerror(errno));
    struct dirent *de;
    int rc = SCL_OK;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[SW_PATH_MAX + 300];
        snprintf(sub, sizeof sub, "%s/%s", rsa, de->d_name);
        rc = add_files(ks, sub, e);
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int sw_keyset_load(const char *profile, struct sw_keyset *ks, struct scl_err *e)
{
    memset(ks, 0, sizeof *ks);
    char dir[SW_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/" CRYPTO_DIR "/RSA", profile);
    int rc = add_rsa_sids(ks, dir, e);
    if (!rc) {
        snprintf(dir, sizeof dir, "%s/" CRYPTO_DIR "/Keys", profile);
        rc = add_files(ks, dir, e);
    }
    if (rc) {
        sw_keyset_free(ks);
        return rc;
    }
    if (ks->n)
        qsort(ks->names, ks->n, sizeof *ks->names, cmp_str);
    return SCL_OK;
}

bool sw_keyset_has(const struct sw_keyset *ks, const char *container)
{
    if (!container[0] || ks->n == 0)
        return false;
    char key[CS_KPI_NAME_MAX];
    snprintf(key, sizeof key, "%s", container);
    lower(key);
    const char *k = key;
    return bsearch(&k, ks->names, ks->n, sizeof *ks->names, cmp_str) != NULL;
}

void sw_keyset_free(struct sw_keyset *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->names[i]);
    free(ks->names);
    memset(ks, 0, sizeof *ks);
}
