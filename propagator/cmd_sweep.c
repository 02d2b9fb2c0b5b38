/*
 * cmd_sweep.c - `scardlab sweep` and `scardlab sweep restore`: options to
 * sw_opts, then the table, the JSON file, problems and the exit code.
 * Not the sweep (sweep.c) and not the rules (sweep_classify.c).
 */
#include "sweep_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define MAX_ROOTS 1024

struct cmd_args {
    struct sw_opts o;
    const char *roots[MAX_ROOTS];
    const char *json;
    char backup[SW_PATH_MAX];
    bool quiet;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: scardlab sweep --profiles ROOT [ROOT...] [options]\n"
            "       scardlab sweep restore BACKUP\n\n"
            "Finds certificates in every profile's My store that were propagated from a smart\n"
            "card (no key in the profile) or that name someone other than the profile's owner.\n"
            "A dry run unless --apply.  ROOT holds <server>/<profile>/AppData or <profile>/AppData.\n\n"
            "  --rule LIST          propagated,foreign (default both)\n"
            "  --owners FILE        identities of each profile's owner (docs/sweep.md)\n"
            "  --issuer TEXT        only findings whose issuer contains TEXT\n"
            "  --subject TEXT       only findings whose subject contains TEXT\n"
            "  --serial HEX         only the finding with this serial number\n"
            "  --older-than DAYS    only findings issued (notBefore) at least DAYS ago\n"
            "  --sc-provider NAME   count NAME as a smart-card key provider too (repeatable)\n"
            "  --json FILE          one JSON object per finding (FILE - = stdout)\n"
            "  --apply              remove what matched, after writing the backup\n"
            "  --backup DIR         backup folder (default ./scardlab-sweep-backup-UTCTIME)\n"
            "  --jobs N             worker threads (default: online CPUs, twice that with --apply)\n"
            "  --quiet              no table and no progress line\n\n"
            "Exit status: 0 done, 1 some profile or certificate could not be handled, 2 usage.\n");
}

static int parse_rules(const char *s, unsigned *rules)
{
    *rules = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "propagated"))
            *rules |= SW_REASON_PROPAGATED;
        else if (!strcmp(t, "foreign"))
            *rules |= SW_REASON_FOREIGN;
        else
            return -1;
    }
    return *rules ? 0 : -1;
}

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "scardlab sweep: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
}

/* One option with its value; returns EXIT_OK or EXIT_USAGE. */
static int take_value(struct cmd_args *a, const char *opt, const char *v)
{
    struct sw_opts *o = &a->o;
    char *end;
    if (!strcmp(opt, "--rule"))
        return parse_rules(v, &o->rules) ? bad("--rule '%s': propagated, foreign or both", v) : 0;
    if (!strcmp(opt, "--owners"))
        o->owners_path = v;
    else if (!strcmp(opt, "--issuer"))
        o->issuer = v;
    else if (!strcmp(opt, "--subject"))
        o->subject = v;
    else if (!strcmp(opt, "--json"))
        a->json = v;
    else if (!strcmp(opt, "--backup"))
        snprintf(a->backup, sizeof a->backup, "%s", v);
    else if (!strcmp(opt, "--serial")) {
        int n = scl_hex_decode(v, o->serial, sizeof o->serial);
        if (n <= 0)
            return bad("--serial '%s': hex bytes expected", v);
        o->serial_len = (size_t)n;
    } else if (!strcmp(opt, "--older-than")) {
        long d = strtol(v, &end, 10);
        if (*end || d < 0 || d > 100000)
            return bad("--older-than '%s': a number of days expected", v);
        o->older_than_days = (int)d;
    } else if (!strcmp(opt, "--jobs")) {
        long j = strtol(v, &end, 10);
        if (*end || j < 1 || j > 64)
            return bad("--jobs '%s': 1 to 64", v);
        o->jobs = (unsigned)j;
    } else if (!strcmp(opt, "--sc-provider")) {
        if (o->nextra_providers == SW_MAX_PROVIDERS)
            return bad("%s: too many --sc-provider names", v);
        o->extra_providers[o->nextra_providers++] = v;
    } else
        return bad("unknown option '%s' (see --help)", opt);
    return EXIT_OK;
}

static int parse_args(int argc, char **argv, struct cmd_args *a)
{
    sw_opts_defaults(&a->o);
    a->o.roots = a->roots;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--profiles")) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) && a->o.nroots < MAX_ROOTS)
                a->roots[a->o.nroots++] = argv[++i];
        } else if (!strcmp(s, "--apply"))
            a->o.apply = true;
        else if (!strcmp(s, "--quiet"))
            a->quiet = true;
        else if (i + 1 >= argc || strncmp(s, "--", 2))
            return bad(strncmp(s, "--", 2) ? "unexpected argument '%s' (see --help)"
                                           : "%s needs a value",
                       s);
        else if (take_value(a, s, argv[++i]))
            return EXIT_USAGE;
    }
    if (!a->o.nroots)
        return bad("%s", "--profiles ROOT is required");
    return EXIT_OK;
}

static void default_backup(char *out, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, cap, "scardlab-sweep-backup-%s", stamp);
}

static int report(const struct cmd_args *a, const struct sw_result *r)
{
    FILE *out = a->json && !strcmp(a->json, "-") ? stderr : stdout;
    if (!a->quiet && out == stdout)
        sw_report_table(stdout, r);
    for (size_t i = 0; i < r->nproblems; i++)
        fprintf(stderr, "sweep: %s\n", r->problems[i]);
    fprintf(out, "sweep: %zu profiles (%zu skipped), %zu certificates, %zu own, %zu findings, %zu removed%s\n",
            r->profiles, r->skipped, r->certificates, r->own, r->nfindings, r->removed,
            a->o.apply ? "" : " (dry run: --apply removes)");
    if (a->o.apply && r->nfindings)
        fprintf(out, "sweep: backup in %s (scardlab sweep restore %s)\n", a->o.backup_dir,
                a->o.backup_dir);
    struct scl_err e = {0};
    if (a->json && sw_report_json(a->json, r, &e)) {
        fprintf(stderr, "sweep: %s\n", e.msg);
        return EXIT_FAILED;
    }
    return r->nproblems ? EXIT_FAILED : EXIT_OK;
}

static int cmd_restore(int argc, char **argv)
{
    if (argc != 2 || !strncmp(argv[1], "--", 2)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    struct sw_restore_result r;
    struct scl_err e = {0};
    if (sw_restore(argv[1], &r, &e)) {
        fprintf(stderr, "sweep restore: %s\n", e.msg);
        return EXIT_FAILED;
    }
    for (size_t i = 0; i < r.nproblems; i++)
        fprintf(stderr, "sweep restore: %s\n", r.problems[i]);
    printf("sweep restore: %zu entries, %zu certificates restored, %zu already present, %zu differ\n",
           r.entries, r.restored, r.already_present, r.differing);
    int rc = r.nproblems ? EXIT_FAILED : EXIT_OK;
    sw_restore_result_free(&r);
    return rc;
}

int sw_cmd_sweep(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "restore"))
        return cmd_restore(argc - 1, argv + 1);
    static struct cmd_args a;
    memset(&a, 0, sizeof a);
    if (parse_args(argc, argv, &a)) {
        fprintf(stderr, "usage: scardlab sweep --profiles ROOT [ROOT...] [options] (see --help)\n");
        return EXIT_USAGE;
    }
    if (a.o.apply && !a.backup[0])
        default_backup(a.backup, sizeof a.backup);
    a.o.backup_dir = a.o.apply ? a.backup : NULL;
    a.o.progress = !a.quiet;
    struct sw_result r;
    struct scl_err e = {0};
    if (sw_sweep(&a.o, &r, &e)) {
        fprintf(stderr, "sweep: %s\n", e.msg);
        return EXIT_FAILED;
    }
    int rc = report(&a, &r);
    sw_result_free(&r);
    return rc;
}
