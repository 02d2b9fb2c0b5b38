/*
 * sweep_int.h - private to the sweep files: the fleet walk, the owners file,
 * the key-container index, classification, backups and progress.
 * Not for other components: they use the sw_ section of propagator.h.
 */
#ifndef SCL_SWEEP_INT_H
#define SCL_SWEEP_INT_H

#include "propagator.h"

#include <stdarg.h>

#include <pthread.h>

#define SW_PATH_MAX 4096
#define SW_NAME_MAX 256
#define SW_MAX_IDENTITIES 16

/* ---- the fleet walk (sweep_walk.c) ---- */

struct sw_profile {
    char path[SW_PATH_MAX];
    char server[SW_NAME_MAX];
    char name[SW_NAME_MAX]; /* the profile folder's name: the owner's user name */
};

/* Every profile under the roots, in a stable order (roots as given, then
 * names sorted).  A root that cannot be read is an error. */
int sw_walk_roots(const char *const *roots, size_t nroots, struct sw_profile **out, size_t *n,
                  struct scl_err *e);

/* ---- the owners file (sweep_owners.c; format in docs/sweep.md) ---- */

struct sw_owner {
    char key[2 * SW_NAME_MAX]; /* "profile" or "server/profile" */
    char ids[SW_MAX_IDENTITIES][SW_NAME_MAX];
    size_t nids;
};
struct sw_owners {
    struct sw_owner *v;
    size_t n;
};
/* name is used in "name:line: ..." errors. */
int sw_owners_parse(const char *name, const uint8_t *text, size_t len, struct sw_owners *o,
                    struct scl_err *e);
int sw_owners_load(const char *path, struct sw_owners *o, struct scl_err *e);
void sw_owners_free(struct sw_owners *o);
/* The mapped identities of a profile ("server/profile" first, then "profile"), or NULL. */
const struct sw_owner *sw_owners_find(const struct sw_owners *o, const char *server,
                                      const char *profile);

/* ---- software key containers in a profile (sweep_keys.c) ---- */

struct sw_keyset {
    char **names; /* lower-cased file names, sorted */
    size_t n;
};
/* Index the key container files of one profile.  Missing folders are an
 * empty set; an unreadable one is an error. */
int sw_keyset_load(const char *profile, struct sw_keyset *ks, struct scl_err *e);
bool sw_keyset_has(const struct sw_keyset *ks, const char *container);
void sw_keyset_free(struct sw_keyset *ks);

/* ---- classification and filters (sweep_classify.c) ---- */

/* The certificate facts classification needs, cached per worker by SHA-1
 * because the same certificates recur across profiles and servers. */
struct sw_cert_cache;
struct sw_cert_cache *sw_cert_cache_new(void);
void sw_cert_cache_free(struct sw_cert_cache *c);
/* cs_cert_info of el, from the cache when seen before (pointer valid until
 * the next call on this cache). */
int sw_cert_facts(struct sw_cert_cache *c, const struct cs_element *el,
                  const struct cs_cert_info **ci, struct scl_err *e);

struct sw_owner_ids {
    const char *ids[SW_MAX_IDENTITIES + 1];
    size_t n;
};
/* The profile's owner: its folder name plus what the owners file maps to it. */
void sw_owner_ids_for(const struct sw_owners *o, const struct sw_profile *p,
                      struct sw_owner_ids *out);

bool sw_provider_is_smart_card(const struct sw_opts *o, const char *provider);
/* Does any subject CN, UPN or e-mail of ci belong to the owner?  *has_ids is
 * false when the certificate names nobody (then it is never foreign). */
bool sw_cert_belongs(const struct cs_cert_info *ci, const struct sw_owner_ids *ow,
                     bool *has_ids);
/* Reasons (SW_REASON_* bits) el is a finding in this profile; 0 = the user's own. */
int sw_classify(const struct sw_opts *o, struct sw_cert_cache *cache, const struct cs_element *el,
                const struct sw_keyset *ks, const struct sw_owner_ids *ow, unsigned *reasons,
                struct cs_key_prov_info *kpi, struct scl_err *e);
/* Do the --issuer/--subject/--serial/--older-than filters keep this finding? */
bool sw_filters_match(const struct sw_opts *o, const struct cs_cert_info *ci, time_t now);

/* ---- backups (sweep_backup.c; layout in docs/sweep.md) ---- */

struct sw_backup;
/* Create BACKUP (must not hold a manifest yet) and its manifest. */
int sw_backup_open(const char *dir, struct sw_backup **b, struct scl_err *e);
void sw_backup_close(struct sw_backup *b);
/* Group commit: write a profile's .sst, append its manifest entry (neither
 * synced), repeat for a batch of profiles, then sw_backup_sync once; only
 * after that returns SCL_OK may the batch's elements be deleted. */
#define SW_SST_REL_MAX (3 * SW_NAME_MAX)
/* Write seq-server-profile.sst with els (raw bytes kept); rel gets its name
 * relative to the backup folder. */
int sw_backup_write_sst(struct sw_backup *b, size_t seq, const struct sw_profile *p,
                        const struct cs_element *const *els, size_t n, char rel[SW_SST_REL_MAX],
                        struct scl_err *e);
/* Append the manifest entry naming rel and els' thumbprints, one whole line. */
int sw_backup_append_entry(struct sw_backup *b, size_t seq, const struct sw_profile *p,
                           const char *rel, const struct cs_element *const *els, size_t n,
                           struct scl_err *e);
/* Both of the above, for tests that build backups by hand. */
int sw_backup_profile(struct sw_backup *b, size_t seq, const struct sw_profile *p,
                      const struct cs_element *const *els, size_t n, struct scl_err *e);
/* Make everything written to the backup so far durable (one syncfs). */
int sw_backup_sync(struct sw_backup *b, struct scl_err *e);
/* The backup's removed/ folder: the deletes move element files there (as
 * seq-thumbprint) instead of unlinking them, when it is on their file system. */
int sw_backup_removed_dir(const struct sw_backup *b);

/* ---- apply batches and the test seam (sweep.c) ---- */

#define SW_BATCH_PROFILES 256 /* profiles with findings per sync, per worker */

/* The points between the steps of an apply batch, in order. */
enum sw_phase {
    SW_AT_SST_WRITTEN,   /* detail: the .sst's path */
    SW_AT_ENTRY_WRITTEN, /* detail: the .sst's path */
    SW_AT_SYNCED,        /* detail: the backup folder */
    SW_AT_DELETED,       /* detail: the thumbprint just deleted */
    SW_AT_BATCH_DONE,    /* detail: the backup folder */
};
/* Tests only: at() runs at every phase point; returning true stops the sweep
 * right there as a crash would (no later write, sync or delete happens). */
struct sw_hooks {
    unsigned batch; /* profiles per batch; 0 = SW_BATCH_PROFILES */
    bool (*at)(void *ctx, enum sw_phase ph, const char *detail);
    void *ctx;
};
int sw_sweep_hooked(const struct sw_opts *o, const struct sw_hooks *h, struct sw_result *r,
                    struct scl_err *e);

/* ---- progress on a terminal (sweep_progress.c) ---- */

struct sw_progress {
    pthread_mutex_t mu;
    bool enabled;
    size_t total, done;
    uint64_t start_ns, last_ns;
};
void sw_progress_start(struct sw_progress *pg, size_t total, bool enabled);
void sw_progress_tick(struct sw_progress *pg);
void sw_progress_finish(struct sw_progress *pg);
/* The line itself, for tests: "profiles 10/40, 5.0/s, 6 s left". */
void sw_progress_format(size_t done, size_t total, uint64_t elapsed_ns, char *out, size_t cap);

/* ---- output (sweep_report.c) ---- */

void sw_report_table(FILE *f, const struct sw_result *r);
int sw_report_json(const char *path, const struct sw_result *r, struct scl_err *e);
/* "propagated", "foreign" or "propagated,foreign". */
const char *sw_reason_names(unsigned reasons);

/* Append a formatted message to a growable list of strings (problems and
 * warnings reported at the end of a sweep or restore). */
void sw_strv_vaddf(char ***v, size_t *n, const char *fmt, va_list ap);

#endif
