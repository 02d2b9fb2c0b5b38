/*
 * cmd_run.c - `scardlab run FILE...` (play scenario files) and `scardlab
 * matrix` (the four-condition truth table, each row a generated scenario).
 * Option handling and exit codes only; the runner is scn_run.c.
 */
#include "scenario.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_SKIP 77

static void run_usage(FILE *f)
{
    fprintf(f, "usage: scardlab run FILE... [--junit FILE] [--tap] [--json FILE] [--report DIR] [--record FILE] [--keep] [--quiet] [--check]\n"
               "  plays each scenario file (docs/scenario-format.md) against real components\n"
               "  --junit FILE  JUnit XML report      --tap   TAP on stdout (narration to stderr)\n"
               "  --json FILE   JSON report           --keep  leave the machines' folders\n"
               "  --quiet       no narration          --check parse only, run nothing\n"
               "  --report DIR  DIR/<scenario>.html: steps, verdicts, the sequence diagram (no scripts)\n"
               "  --record FILE the run's traces, events and APDUs per reader, for `scardlab replay`\n"
               "exit: 0 every expectation held, 1 a step or expectation failed, 2 usage,\n"
               "      3 a scenario file has an error, 77 cannot make labs here (not root, no user namespaces)\n");
}

/* Labs need root or unprivileged user namespaces (docs/lab.md). */
static bool labs_possible(void)
{
    if (geteuid() == 0) return true;
    pid_t pid = fork();
    if (pid == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
    int st;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int write_report(const char *path, int (*fn)(FILE *, const struct scn_result *, int),
                        const struct scn_result *rs, int n)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "scardlab run: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = fn(f, rs, n);
    if (f != stdout && fclose(f)) rc = -1;
    if (rc) fprintf(stderr, "scardlab run: writing %s failed\n", path);
    return rc;
}

static int run_all(struct scenario **scs, int n, struct scn_run_opts *o, const char *junit, const char *json,
                   bool tap)
{
    struct scn_result *rs = calloc((size_t)n, sizeof *rs);
    if (!rs) return 1;
    int exit_code = 0;
    for (int i = 0; i < n; i++) {
        struct scl_err e = {0};
        o->report_path[0] = 0;
        if (scn_run(scs[i], o, &rs[i], &e)) {
            fprintf(stderr, "scardlab run: %s: %s\n", scs[i]->path, e.msg);
            snprintf(rs[i].path, sizeof rs[i].path, "%s", scs[i]->path);
            snprintf(rs[i].error, sizeof rs[i].error, "%s", e.msg);
            rs[i].verdict = SCN_ERROR;
        }
        if (rs[i].verdict != SCN_PASS) exit_code = 1;
        if (o->keep && o->narrate) fprintf(o->narrate, "    kept: %s\n", rs[i].root);
        if (o->report_path[0] && o->narrate) fprintf(o->narrate, "    report: %s\n", o->report_path);
    }
    if (junit && write_report(junit, scn_report_junit, rs, n)) exit_code = 1;
    if (json && write_report(json, scn_report_json, rs, n)) exit_code = 1;
    if (tap && scn_report_tap(stdout, rs, n)) exit_code = 1;
    for (int i = 0; i < n; i++) scn_result_free(&rs[i]);
    free(rs);
    return exit_code;
}

int scn_cmd_run(int argc, char **argv)
{
    const char *junit = NULL, *json = NULL;
    bool tap = false, quiet = false, check = false;
    struct scn_run_opts o = {0};
    const char *files[64];
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            run_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--junit") && i + 1 < argc) junit = argv[++i];
        else if (!strcmp(a, "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(a, "--tap")) tap = true;
        else if (!strcmp(a, "--keep")) o.keep = true;
        else if (!strcmp(a, "--report") && i + 1 < argc) o.report_dir = argv[++i];
        else if (!strcmp(a, "--record") && i + 1 < argc) o.record = argv[++i];
        else if (!strcmp(a, "--quiet")) quiet = true;
        else if (!strcmp(a, "--check")) check = true;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "scardlab run: unknown or incomplete option '%s'\n", a);
            run_usage(stderr);
            return 2;
        } else if (nfiles < 64) files[nfiles++] = a;
        else {
            fprintf(stderr, "scardlab run: at most 64 files at once\n");
            return 2;
        }
    }
    if (o.record && nfiles != 1) {
        fprintf(stderr, "scardlab run: --record takes one scenario file\n");
        return 2;
    }
    if (!nfiles) {
        run_usage(stderr);
        return 2;
    }
    /* every file is parsed before anything runs: a typo in the last file
     * should not cost the minutes the first one takes */
    struct scenario *scs[64];
    int bad = 0;
    for (int i = 0; i < nfiles; i++) {
        struct scl_err e = {0};
        if (scn_load(files[i], &scs[i], &e)) {
            fprintf(stderr, "%s\n", e.msg);
            bad++;
        }
    }
    int rc;
    if (bad) rc = 3;
    else if (check) {
        for (int i = 0; i < nfiles; i++)
            printf("%s: %s: %d cards, %d clients, %d servers, %d steps\n", files[i], scs[i]->title, scs[i]->ncards,
                   scs[i]->nclients, scs[i]->nservers, scs[i]->nsteps);
        rc = 0;
    } else if (!labs_possible()) {
        fprintf(stderr, "scardlab run: SKIP: not root and unprivileged user namespaces are off (docs/lab.md)\n");
        rc = EXIT_SKIP;
    } else {
        o.narrate = quiet ? NULL : tap ? stderr : stdout;
        rc = run_all(scs, nfiles, &o, junit, json, tap);
    }
    for (int i = 0; i < nfiles; i++)
        if (!bad || scs[i]) scn_free(scs[i]);
    return rc;
}

/* ---- the matrix ---- */

#define MATRIX_ROWS 18

struct matrix_row {
    bool card, no_custom, checked, running;
    const char *extra; /* "fEnableSmartCard=0", "CertPropEnabled=0" or "" */
    bool leak;         /* what the story says happens */
};

static void matrix_row(int i, struct matrix_row *r)
{
    if (i < 16) {
        r->card = i & 8, r->no_custom = i & 4, r->checked = i & 2, r->running = i & 1;
        r->extra = "";
    } else {
        r->card = r->no_custom = r->checked = r->running = true;
        r->extra = i == 16 ? "fEnableSmartCard=0" : "CertPropEnabled=0";
    }
    r->leak = r->card && r->no_custom && r->checked && r->running && !r->extra[0];
}

/* One row as a scenario: the same file a tester could write by hand. */
static void matrix_text(int i, char *out, size_t cap)
{
    struct matrix_row r;
    matrix_row(i, &r);
    size_t n = (size_t)snprintf(
        out, cap,
        "scenario \"matrix row %d: card %s, %s, smart cards %s, service %s%s%s\"\n"
        "card alice-card holder=\"Firstname Lastname\" upn=first.last@contoso.test serial=\"05 05 1c 00 22 7f 3c dd fa 98\"\n"
        "client laptop\n"
        "  default-rdp \"redirectsmartcards:i:%d\"\n"
        "  rdp-file custom.rdp \"redirectsmartcards:i:0\"\n"
        "server ts1 rdp certprop=%s%s%s\n"
        "  user alice\n",
        i, r.card ? "present" : "absent", r.no_custom ? "Default.rdp" : "custom .rdp",
        r.checked ? "checked" : "unchecked", r.running ? "running" : "stopped", r.extra[0] ? ", " : "", r.extra,
        r.checked ? 1 : 0, r.running ? "running" : "stopped", r.extra[0] ? " " : "", r.extra);
    if (r.card) n += (size_t)snprintf(out + n, cap - n, "step insert alice-card into laptop slot 0\n");
    n += (size_t)snprintf(out + n, cap - n, "step connect laptop to ts1 as alice%s\n",
                          r.no_custom ? "" : " with custom.rdp");
    if (r.leak) {
        snprintf(out + n, cap - n,
                 "step wait store ts1 alice My has card alice-card within 30s\n"
                 "expect store ts1 alice My has card alice-card key-claimed yes\n");
        return;
    }
    /* Nothing announces that nothing happened, but each link of the chain
     * logs its decision: wait for the line of the first link this row cuts,
     * then judge the store.  Past that line nothing in the session can
     * write the card's certificates (a leak, when it happens, is in the
     * store within a second of it). */
    if (!r.no_custom || !r.checked)
        n += (size_t)snprintf(out + n, cap - n, "step wait log laptop has \"smart cards not redirected\" within 15s\n");
    else if (!strcmp(r.extra, "fEnableSmartCard=0"))
        n += (size_t)snprintf(out + n, cap - n,
                              "step wait log ts1 has \"refused by policy fEnableSmartCard=0\" within 15s\n");
    else if (!r.running)
        /* the host starts (or not) certprop as the session starts, before
         * it talks rdpdr: once the readers are in, the decision is logged */
        n += (size_t)snprintf(out + n, cap - n,
                              "step wait log ts1 has \"scard: client has\" within 15s\n"
                              "expect log ts1 lacks \"certprop started\"\n");
    else if (!r.card)
        n += (size_t)snprintf(out + n, cap - n,
                              "step wait log ts1 alice has \"watching reader 'scardlab 00 00'\" within 15s\n");
    else
        n += (size_t)snprintf(out + n, cap - n, "step wait event ts1 alice has skipped within 15s\n");
    snprintf(out + n, cap - n, "expect store ts1 alice My lacks card alice-card\n");
}

static void matrix_usage(FILE *f)
{
    fprintf(f, "usage: scardlab matrix [-j N] [--row N]... [--print N] [--keep] [--verbose] [--json FILE] [--report DIR]\n"
               "  runs the 16 combinations of the four conditions (card present, no custom .rdp,\n"
               "  smart cards checked in Default.rdp, service running) plus fEnableSmartCard=0 and\n"
               "  CertPropEnabled=0, prints the truth table, exits 1 if any row disagrees.\n"
               "  --print N prints row N as a scenario file.  --report DIR writes DIR/matrix.html.\n"
               "  -j N rows at once (default: 5 per CPU, at most 16, evened out: 9 on 2 CPUs)\n");
}

/* Rows mostly wait (FreeRDP's connection sequence sleeps, pcscd polls): a
 * row keeps a CPU busy about a tenth of its wall time.  Measured on 2 CPUs
 * (docs/bench-matrix.md) the wall time falls until about 9 rows at once,
 * then stays flat; so 5 per CPU, and evened out so the last wave of rows
 * is not a lone straggler (8 would run 8+8+2, 9 runs 9+9). */
static int matrix_default_jobs(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs = cpus < 1 ? 2 : cpus > 3 ? 16 : (int)cpus * 5;
    int waves = (MATRIX_ROWS + jobs - 1) / jobs;
    return (MATRIX_ROWS + waves - 1) / waves;
}

/* Row in a child process (parallel rows; libpcsclite state stays per process).
 * Exit 0 as expected, 1 not as expected, 2 could not run. */
static int matrix_child(int i, bool keep, bool verbose, const char *logdir)
{
    char cards[PATH_MAX], tls[PATH_MAX];
    snprintf(cards, sizeof cards, "%s/shared/cards", logdir);
    snprintf(tls, sizeof tls, "%s/shared/tls", logdir);
    char text[4096], name[64], log[PATH_MAX];
    matrix_text(i, text, sizeof text);
    snprintf(name, sizeof name, "matrix-row-%02d.scn", i);
    struct scenario *sc;
    struct scl_err e = {0};
    if (scn_parse(name, ".", (const uint8_t *)text, strlen(text), &sc, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    snprintf(log, sizeof log, "%s/row-%02d.log", logdir, i);
    FILE *f = verbose ? stdout : fopen(log, "w");
    struct scn_run_opts o = {.keep = keep, .narrate = f, .cards_dir = cards, .tls_dir = tls};
    struct scn_result r;
    int rc = scn_run(sc, &o, &r, &e) ? 2 : r.verdict == SCN_PASS ? 0 : r.verdict == SCN_FAIL ? 1 : 2;
    /* a failure before the last expectation is not a verdict on the row */
    if (rc == 1 && r.nsteps && r.steps[r.nsteps - 1].verdict != SCN_FAIL) rc = 2;
    if (f && f != stdout) fclose(f);
    if (!rc || rc == 1) scn_result_free(&r);
    scn_free(sc);
    return rc;
}

/* Every row declares the same card and one RDP host: mint the card and
 * make the host's TLS certificate once, in DIR/shared, for all rows (each
 * row minting its own cost more CPU than the rest of the row). */
static int matrix_shared(const char *logdir)
{
    char text[4096], dir[PATH_MAX];
    matrix_text(MATRIX_ROWS - 1, text, sizeof text);
    snprintf(dir, sizeof dir, "%s/shared", logdir);
    struct scenario *sc;
    struct scl_err e = {0};
    int rc = scn_parse("matrix-shared.scn", ".", (const uint8_t *)text, strlen(text), &sc, &e);
    if (!rc) {
        rc = scn_shared_make(sc, NULL, dir, &e);
        scn_free(sc);
    }
    if (rc) fprintf(stderr, "scardlab matrix: %s\n", e.msg);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* The row logs of a matrix that passed: nobody needs them. */
static void rm_logs(const char *dir)
{
    char shared[PATH_MAX];
    snprintf(shared, sizeof shared, "%s/shared", dir);
    nftw(shared, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "row-", 4)) continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int scn_cmd_matrix(int argc, char **argv)
{
    int jobs = matrix_default_jobs();
    bool keep = false, verbose = false, only[MATRIX_ROWS] = {0}, any_only = false;
    const char *json = NULL, *report = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            matrix_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "-j") && i + 1 < argc) jobs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--keep")) keep = true;
        else if (!strcmp(argv[i], "--verbose")) verbose = true;
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(argv[i], "--report") && i + 1 < argc) report = argv[++i];
        else if ((!strcmp(argv[i], "--print") || !strcmp(argv[i], "--row")) && i + 1 < argc) {
            int row = atoi(argv[i + 1]);
            if (row < 0 || row >= MATRIX_ROWS) {
                fprintf(stderr, "scardlab matrix: rows are 0 to %d\n", MATRIX_ROWS - 1);
                return 2;
            }
            if (!strcmp(argv[i], "--print")) {
                char text[4096];
                matrix_text(row, text, sizeof text);
                fputs(text, stdout);
                return 0;
            }
            only[row] = any_only = true;
            i++;
        } else {
            matrix_usage(stderr);
            return 2;
        }
    }
    if (jobs < 1 || jobs > 16) {
        fprintf(stderr, "scardlab matrix: -j must be 1 to 16\n");
        return 2;
    }
    if (!labs_possible()) {
        fprintf(stderr, "scardlab matrix: SKIP: not root and unprivileged user namespaces are off\n");
        return EXIT_SKIP;
    }
    char logdir[] = "/tmp/scl-matrix-XXXXXX";
    if (!mkdtemp(logdir)) {
        perror("scardlab matrix: mkdtemp");
        return 1;
    }
    if (matrix_shared(logdir)) {
        printf("FAIL: the rows' shared card and TLS certificate could not be made; see %s\n", logdir);
        return 1;
    }
    int result[MATRIX_ROWS];
    pid_t pids[MATRIX_ROWS] = {0};
    int running = 0, next = 0;
    for (int i = 0; i < MATRIX_ROWS; i++) result[i] = any_only && !only[i] ? -1 : 2;
    fflush(NULL);
    while (next < MATRIX_ROWS || running) {
        while (next < MATRIX_ROWS && running < jobs) {
            if (result[next] == -1) {
                next++;
                continue;
            }
            pid_t pid = fork();
            if (pid == 0) _exit(matrix_child(next, keep, verbose, logdir));
            if (pid > 0) pids[next] = pid, running++;
            next++;
        }
        if (!running) break;
        int st;
        pid_t w = wait(&st);
        if (w < 0) break;
        for (int i = 0; i < MATRIX_ROWS; i++)
            if (pids[i] == w) {
                pids[i] = 0;
                running--;
                result[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
            }
    }
    printf("row  card     .rdp         smart cards  service   policy              expected   observed   verdict\n");
    int bad = 0;
    cJSON *rows = cJSON_CreateArray();
    static const char *const head[9] = {"row", "card", ".rdp", "smart cards", "service", "policy", "expected",
                                        "observed", "verdict"};
    char cellbuf[MATRIX_ROWS][2][8];
    const char *cells[MATRIX_ROWS * 9];
    int nrows = 0;
    for (int i = 0; i < MATRIX_ROWS; i++) {
        if (result[i] == -1) continue;
        struct matrix_row r;
        matrix_row(i, &r);
        const char *exp = r.leak ? "leak" : "no leak";
        const char *obs = result[i] == 0 ? exp : result[i] == 1 ? (r.leak ? "no leak" : "leak") : "error";
        bad += result[i] != 0;
        printf("%3d  %-8s %-12s %-12s %-9s %-19s %-10s %-10s %s\n", i, r.card ? "present" : "absent",
               r.no_custom ? "Default.rdp" : "custom.rdp", r.checked ? "checked" : "unchecked",
               r.running ? "running" : "stopped", r.extra[0] ? r.extra : "-", exp, obs,
               result[i] == 0 ? "ok" : "DISAGREES");
        snprintf(cellbuf[nrows][0], sizeof cellbuf[nrows][0], "%d", i);
        const char *row[9] = {cellbuf[nrows][0], r.card ? "present" : "absent",
                              r.no_custom ? "Default.rdp" : "custom.rdp", r.checked ? "checked" : "unchecked",
                              r.running ? "running" : "stopped", r.extra[0] ? r.extra : "-", exp, obs,
                              result[i] == 0 ? "ok" : "DISAGREES"};
        memcpy(&cells[nrows++ * 9], row, sizeof row);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "row", i);
        cJSON_AddBoolToObject(o, "card_present", r.card);
        cJSON_AddBoolToObject(o, "custom_rdp", !r.no_custom);
        cJSON_AddBoolToObject(o, "smartcards_checked", r.checked);
        cJSON_AddBoolToObject(o, "service_running", r.running);
        cJSON_AddStringToObject(o, "policy", r.extra);
        cJSON_AddStringToObject(o, "expected", exp);
        cJSON_AddStringToObject(o, "observed", obs);
        cJSON_AddItemToArray(rows, o);
    }
    if (json) {
        char *text = cJSON_Print(rows);
        FILE *jf = fopen(json, "w");
        if (!text || !jf || fputs(text, jf) < 0 || fclose(jf)) {
            fprintf(stderr, "scardlab matrix: cannot write %s\n", json);
            bad++;
        }
        free(text);
    }
    cJSON_Delete(rows);
    if (report) {
        struct scn_html_in in = {.title = "The four-condition matrix", .matrix_head = head, .matrix_cells = cells,
                                 .ncols = 9, .nrows = nrows};
        char path[PATH_MAX];
        struct scl_err e = {0};
        if (scn_html_save(report, "matrix", &in, path, sizeof path, &e)) {
            fprintf(stderr, "scardlab matrix: %s\n", e.msg);
            bad++;
        } else printf("report: %s\n", path);
    }
    printf("%s: %d rows disagree", bad ? "FAIL" : "PASS", bad);
    if (bad || keep) printf("; row logs in %s (scardlab matrix --print N shows a row's scenario)", logdir);
    else rm_logs(logdir);
    printf("\n");
    return bad ? 1 : 0;
}
