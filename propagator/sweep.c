/*
 * sweep.c - the sweep itself: a pool of workers takes profiles one by one,
 * lists the My store, classifies, and with apply backs up a batch of profiles,
 * syncs the backup once, then deletes.  Not the command line (cmd_sweep.c),
 * the rules (sweep_classify.c) or output.
 */
#include "sweep_int.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_JOBS 64

/* What one profile produced; merged in profile order after the workers end. */
struct profile_out {
    struct sw_finding *f;
    size_t nf;
    char **problems;
    size_t np;
    size_t certs, own, removed;
    bool skipped;
};

/* A profile whose backup is written but not yet synced: its listing and
 * store stay open until the batch's deletes. */
struct pending {
    size_t idx;
    struct cs_store *st;
    struct cs_listing l;
    const struct cs_element **sel; /* pointers into l */
    size_t nsel;
    size_t first; /* its first finding in outs[idx].f, in sel order */
};
struct batch {
    struct pending v[SW_BATCH_PROFILES];
    size_t n, cap;
};

struct pool {
    const struct sw_opts *o;
    const struct sw_hooks *hooks;
    atomic_bool crashed; /* a test hook stopped the sweep */
    const struct sw_owners *owners;
    const struct sw_profile *profiles;
    size_t n;
    struct profile_out *outs;
    atomic_size_t next;
    struct sw_backup *bk;
    struct sw_progress *pg;
    time_t now;
};

void sw_opts_defaults(struct sw_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rules = SW_REASON_PROPAGATED | SW_REASON_FOREIGN;
    o->older_than_days = -1;
    o->progress = true;
}

static void add_problem(struct profile_out *po, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void sw_strv_vaddf(char ***v, size_t *n, const char *fmt, va_list ap)
{
    char buf[1200];
    vsnprintf(buf, sizeof buf, fmt, ap);
    char **grown = realloc(*v, (*n + 1) * sizeof *grown);
    if (!grown)
        return; /* out of memory: the message is lost, the sweep goes on */
    *v = grown;
    if ((grown[*n] = strdup(buf)))
        (*n)++;
}

static void add_problem(struct profile_out *po, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sw_strv_vaddf(&po->problems, &po->np, fmt, ap);
    va_end(ap);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static int add_finding(struct profile_out *po, const struct sw_profile *p,
                       const struct cs_element *el, const struct cs_cert_info *ci,
                       const struct cs_key_prov_info *kpi, unsigned reasons)
{
    struct sw_finding *v = realloc(po->f, (po->nf + 1) * sizeof *v);
    if (!v)
        return SCL_E_NOMEM;
    po->f = v;
    struct sw_finding *f = &v[po->nf++];
    memset(f, 0, sizeof *f);
    f->server = dup_or_empty(p->server);
    f->profile = dup_or_empty(p->name);
    f->profile_path = dup_or_empty(p->path);
    f->subject = dup_or_empty(ci->subject);
    f->issuer = dup_or_empty(ci->issuer);
    f->provider = dup_or_empty(kpi->provider);
    f->container = dup_or_empty(kpi->container);
    scl_hex_encode(el->sha1, 20, f->thumbprint, true);
    scl_hex_encode(ci->serial, ci->serial_len, f->serial, false);
    f->reasons = reasons;
    return SCL_OK;
}

/* A store folder that exists but is not a folder is a corrupt profile. */
static bool store_dir_corrupt(const struct cs_store *st)
{
    struct stat sb;
    return stat(cs_store_dir(st), &sb) == 0 && !S_ISDIR(sb.st_mode);
}

/* Classify every element; the selected ones go to *sel (pointers into l). */
static void classify_all(struct pool *pl, struct sw_cert_cache *cache, const struct sw_profile *p,
                         const struct cs_listing *l, const struct sw_keyset *ks,
                         struct profile_out *po, const struct cs_element **sel, size_t *nsel)
{
    struct sw_owner_ids ow;
    sw_owner_ids_for(pl->owners, p, &ow);
    *nsel = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct cs_element *el = &l->elements[i];
        unsigned reasons;
        struct cs_key_prov_info kpi;
        const struct cs_cert_info *ci = NULL;
        struct scl_err e = {0};
        po->certs++;
        if (sw_classify(pl->o, cache, el, ks, &ow, &reasons, &kpi, &e) ||
            ((reasons & pl->o->rules) && sw_cert_facts(cache, el, &ci, &e))) {
            char hex[41];
            scl_hex_encode(el->sha1, 20, hex, true);
            add_problem(po, "%s: %s: cannot classify (%s); left alone", p->path, hex, e.msg);
            continue;
        }
        if (!reasons)
            po->own++;
        if (!(reasons & pl->o->rules) || !sw_filters_match(pl->o, ci, pl->now))
            continue;
        if (add_finding(po, p, el, ci, &kpi, reasons)) {
            add_problem(po, "%s: out of memory", p->path);
            continue;
        }
        sel[(*nsel)++] = el;
    }
}

/* The test seam: true when the sweep must stop here (now or earlier). */
static bool stop_at(struct pool *pl, enum sw_phase ph, const char *detail)
{
    if (atomic_load(&pl->crashed))
        return true;
    if (pl->hooks && pl->hooks->at && pl->hooks->at(pl->hooks->ctx, ph, detail))
        atomic_store(&pl->crashed, true);
    return atomic_load(&pl->crashed);
}

static void pending_free(struct pending *pd)
{
    cs_listing_free(&pd->l);
    cs_store_close(pd->st);
    free(pd->sel);
}

struct delete_ctx {
    struct pool *pl;
    struct pending *pd;
};

/* Each element's outcome: a finding removed, or a problem saying why not. */
static bool note_delete(void *ctx, size_t i, int rc, const struct scl_err *e)
{
    struct delete_ctx *dc = ctx;
    const struct sw_profile *p = &dc->pl->profiles[dc->pd->idx];
    struct profile_out *po = &dc->pl->outs[dc->pd->idx];
    if (rc == SCL_E_STATE) {
        add_problem(po, "%s: %s; left in the store (the backup holds the version listed)",
                    p->path, e->msg);
        return true;
    }
    if (rc && rc != SCL_E_NOTFOUND) {
        add_problem(po, "%s: delete failed (the backup has it): %s", p->path, e->msg);
        return true;
    }
    po->f[dc->pd->first + i].removed = true;
    po->removed++;
    char hex[41];
    scl_hex_encode(dc->pd->sel[i]->sha1, 20, hex, true);
    return !stop_at(dc->pl, SW_AT_DELETED, hex);
}

/* Only a synced backup lets the deletes happen, and each delete only takes
 * the exact bytes that went into the backup. */
static void delete_pending(struct pool *pl, struct pending *pd)
{
    struct delete_ctx dc = {.pl = pl, .pd = pd};
    struct scl_err e = {0};
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%06zu-", pd->idx + 1); /* the .sst's seq */
    struct cs_keep keep = {.dirfd = sw_backup_removed_dir(pl->bk), .prefix = prefix};
    if (cs_store_delete_each_if_same(pd->st, pd->sel, pd->nsel, &keep, note_delete, &dc, &e))
        add_problem(&pl->outs[pd->idx], "%s: nothing removed (the backup has it all): %s",
                    pl->profiles[pd->idx].path, e.msg);
}

/* One sync for the whole batch's backups, then its deletes. */
static void flush_batch(struct pool *pl, struct batch *b)
{
    struct scl_err e = {0};
    bool synced = false;
    if (b->n && !atomic_load(&pl->crashed)) {
        synced = sw_backup_sync(pl->bk, &e) == SCL_OK;
        for (size_t i = 0; !synced && i < b->n; i++)
            add_problem(&pl->outs[b->v[i].idx], "%s: backup not made durable, nothing removed: %s",
                        pl->profiles[b->v[i].idx].path, e.msg);
    }
    if (synced && !stop_at(pl, SW_AT_SYNCED, pl->o->backup_dir)) {
        for (size_t i = 0; i < b->n && !atomic_load(&pl->crashed); i++)
            delete_pending(pl, &b->v[i]);
        stop_at(pl, SW_AT_BATCH_DONE, pl->o->backup_dir);
    }
    for (size_t i = 0; i < b->n; i++)
        pending_free(&b->v[i]);
    b->n = 0;
}

/* Write the profile's backup (unsynced) and queue its deletes; false when it
 * was not queued (the caller still owns everything). */
static bool queue_profile(struct pool *pl, struct batch *b, size_t idx, struct cs_store *st,
                          struct cs_listing *l, const struct cs_element **sel, size_t nsel)
{
    const struct sw_profile *p = &pl->profiles[idx];
    struct profile_out *po = &pl->outs[idx];
    struct scl_err e = {0};
    char rel[SW_SST_REL_MAX];
    if (atomic_load(&pl->crashed))
        return false;
    if (sw_backup_write_sst(pl->bk, idx + 1, p, sel, nsel, rel, &e)) {
        add_problem(po, "%s: backup failed, nothing removed: %s", p->path, e.msg);
        return false;
    }
    if (stop_at(pl, SW_AT_SST_WRITTEN, rel))
        return false;
    if (sw_backup_append_entry(pl->bk, idx + 1, p, rel, sel, nsel, &e)) {
        add_problem(po, "%s: backup failed, nothing removed: %s", p->path, e.msg);
        return false;
    }
    if (stop_at(pl, SW_AT_ENTRY_WRITTEN, rel))
        return false;
    b->v[b->n++] = (struct pending){.idx = idx, .st = st, .l = *l, .sel = sel, .nsel = nsel,
                                    .first = po->nf - nsel};
    if (b->n == b->cap)
        flush_batch(pl, b);
    return true;
}

static void sweep_profile(struct pool *pl, struct sw_cert_cache *cache, struct batch *b,
                          size_t idx)
{
    const struct sw_profile *p = &pl->profiles[idx];
    struct profile_out *po = &pl->outs[idx];
    struct scl_err e = {0};
    struct sw_keyset ks;
    struct cs_store *st = NULL;
    struct cs_listing l = {0};
    int rc = sw_keyset_load(p->path, &ks, &e);
    if (!rc && !(rc = cs_store_open(CS_SCOPE_USER, p->path, CS_STORE_MY, false, &st, &e)) &&
        store_dir_corrupt(st))
        rc = scl_errf(&e, SCL_E_FORMAT, "%s: not a folder", cs_store_dir(st));
    if (!rc)
        rc = cs_store_list(st, &l, &e);
    if (rc) {
        po->skipped = true;
        add_problem(po, "%s: profile skipped: %s", p->path, e.msg);
    } else {
        for (size_t i = 0; i < l.nwarnings; i++)
            add_problem(po, "%s", l.warnings[i]);
        const struct cs_element **sel = malloc((l.n ? l.n : 1) * sizeof *sel);
        size_t nsel = 0;
        if (!sel)
            add_problem(po, "%s: out of memory", p->path);
        else
            classify_all(pl, cache, p, &l, &ks, po, sel, &nsel);
        if (pl->o->apply && nsel && queue_profile(pl, b, idx, st, &l, sel, nsel)) {
            sw_keyset_free(&ks);
            return; /* the batch owns st, l and sel now */
        }
        free(sel);
    }
    cs_listing_free(&l);
    cs_store_close(st);
    sw_keyset_free(&ks);
}

static void *worker(void *arg)
{
    struct pool *pl = arg;
    struct sw_cert_cache *cache = sw_cert_cache_new();
    struct batch *b = calloc(1, sizeof *b);
    unsigned want = pl->hooks && pl->hooks->batch ? pl->hooks->batch : SW_BATCH_PROFILES;
    if (b)
        b->cap = want < SW_BATCH_PROFILES ? want : SW_BATCH_PROFILES;
    while (!atomic_load(&pl->crashed)) {
        size_t i = atomic_fetch_add(&pl->next, 1);
        if (i >= pl->n)
            break;
        if (cache && b)
            sweep_profile(pl, cache, b, i);
        else
            add_problem(&pl->outs[i], "%s: out of memory", pl->profiles[i].path);
        sw_progress_tick(pl->pg);
    }
    if (b)
        flush_batch(pl, b);
    free(b);
    sw_cert_cache_free(cache);
    return NULL;
}

static unsigned pick_jobs(const struct sw_opts *o, size_t n)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned j = cpus > 0 ? (unsigned)cpus : 1;
    /* --apply waits on syncfs and on the unlinks' journal commits (with
     * discard); twice the workers keeps the CPUs busy meanwhile. */
    if (o->apply)
        j *= 2;
    if (o->jobs)
        j = o->jobs;
    if (j > MAX_JOBS)
        j = MAX_JOBS;
    if (j > n)
        j = n ? (unsigned)n : 1;
    return j;
}

static void run_pool(struct pool *pl, unsigned jobs)
{
    pthread_t th[MAX_JOBS];
    unsigned started = 0;
    for (unsigned i = 1; i < jobs; i++)
        if (pthread_create(&th[started], NULL, worker, pl) == 0)
            started++;
    worker(pl); /* the calling thread works too */
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

static void merge(struct pool *pl, struct sw_result *r)
{
    size_t nf = 0, np = 0;
    for (size_t i = 0; i < pl->n; i++)
        nf += pl->outs[i].nf, np += pl->outs[i].np;
    r->findings = calloc(nf ? nf : 1, sizeof *r->findings);
    r->problems = calloc(np ? np : 1, sizeof *r->problems);
    r->profiles = pl->n;
    for (size_t i = 0; i < pl->n; i++) {
        struct profile_out *po = &pl->outs[i];
        for (size_t k = 0; k < po->nf && r->findings; k++)
            r->findings[r->nfindings++] = po->f[k];
        for (size_t k = 0; k < po->np && r->problems; k++)
            r->problems[r->nproblems++] = po->problems[k];
        r->certificates += po->certs;
        r->own += po->own;
        r->removed += po->removed;
        r->skipped += po->skipped;
        free(po->f);
        free(po->problems);
    }
}

static int sweep_profiles(const struct sw_opts *o, const struct sw_hooks *h,
                          const struct sw_owners *owners, const struct sw_profile *profiles,
                          size_t n, struct sw_backup *bk, struct sw_result *r, struct scl_err *e)
{
    struct pool pl = {.o = o, .hooks = h, .owners = owners, .profiles = profiles, .n = n, .bk = bk};
    pl.now = o->now ? o->now : time(NULL);
    atomic_init(&pl.next, 0);
    atomic_init(&pl.crashed, false);
    pl.outs = calloc(n ? n : 1, sizeof *pl.outs);
    if (!pl.outs)
        return scl_errf(e, SCL_E_NOMEM, "sweep: out of memory");
    struct sw_progress pg;
    sw_progress_start(&pg, n, o->progress);
    pl.pg = &pg;
    run_pool(&pl, pick_jobs(o, n));
    sw_progress_finish(&pg);
    merge(&pl, r);
    free(pl.outs);
    return SCL_OK;
}

int sw_sweep(const struct sw_opts *opts, struct sw_result *r, struct scl_err *e)
{
    return sw_sweep_hooked(opts, NULL, r, e);
}

int sw_sweep_hooked(const struct sw_opts *opts, const struct sw_hooks *h, struct sw_result *r,
                    struct scl_err *e)
{
    memset(r, 0, sizeof *r);
    struct sw_opts o = *opts;
    if (!o.rules)
        o.rules = SW_REASON_PROPAGATED | SW_REASON_FOREIGN;
    if (o.apply && !o.backup_dir)
        return scl_errf(e, SCL_E_INVAL, "--apply needs a backup folder");
    struct sw_owners owners = {0};
    int rc = o.owners_path ? sw_owners_load(o.owners_path, &owners, e) : SCL_OK;
    struct sw_profile *profiles = NULL;
    size_t n = 0;
    if (!rc)
        rc = sw_walk_roots(o.roots, o.nroots, &profiles, &n, e);
    struct sw_backup *bk = NULL;
    if (!rc && o.apply)
        rc = sw_backup_open(o.backup_dir, &bk, e);
    if (!rc)
        rc = sweep_profiles(&o, h, &owners, profiles, n, bk, r, e);
    sw_backup_close(bk);
    free(profiles);
    sw_owners_free(&owners);
    return rc;
}

void sw_result_free(struct sw_result *r)
{
    for (size_t i = 0; i < r->nfindings; i++) {
        struct sw_finding *f = &r->findings[i];
        free(f->server), free(f->profile), free(f->profile_path), free(f->subject);
        free(f->issuer), free(f->provider), free(f->container);
    }
    free(r->findings);
    for (size_t i = 0; i < r->nproblems; i++)
        free(r->problems[i]);
    free(r->problems);
    memset(r, 0, sizeof *r);
}
