/*
 * cmd_demo.c - `scardlab demo`: the classroom telling of the incident over
 * real RDP.  The demo IS the incident scenario file (its `say` lines are the
 * narration), played by the runner; this file only frames it.  Not a second
 * implementation of any step.
 */
#include "scenario.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SCL_DEMO_SCENARIO
#define SCL_DEMO_SCENARIO "scenarios/files/rdp-story.scn"
#endif

static void demo_usage(FILE *f)
{
    fprintf(f,
            "usage: scardlab demo [--step] [--report DIR] [--keep] [--file SCENARIO]\n"
            "  tells the incident for a classroom, over real RDP: each step explained, the four\n"
            "  conditions named as they become true, ending at the HTML report.\n"
            "  --step        wait for Enter before each step (only when stdin is a terminal)\n"
            "  --report DIR  where the HTML report goes (default: demo-report next to the binary's "
            "folder)\n"
            "  --keep        leave the machines' folders for inspection\n"
            "  --file F      another narrated scenario (default %s)\n",
            SCL_DEMO_SCENARIO);
}

static bool demo_labs_possible(void)
{
    if (geteuid() == 0) return true;
    pid_t pid = fork();
    if (pid == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
    int st;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* build/bin/scardlab -> build/demo-report: beside the build, not in the sources */
static void demo_default_report(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, cap, "demo-report");
        return;
    }
    exe[n] = 0;
    for (int up = 0; up < 2; up++) {
        char *sl = strrchr(exe, '/');
        if (sl && sl != exe) *sl = 0;
    }
    snprintf(out, cap, "%s/demo-report", exe);
}

static void demo_intro(const struct scenario *sc)
{
    printf(
        "=== scardlab demo: %s ===\n\n"
        "Alice works from her laptop.  She double-clicks the Remote Desktop client and connects to "
        "a\n"
        "terminal server.  Four conditions decide whether her smart card's certificates end up in "
        "her\n"
        "Windows certificate store on that server:\n"
        "  1. her card is in the reader;\n"
        "  2. she uses no custom .rdp file, so Documents\\Default.rdp applies;\n"
        "  3. smart cards are checked in it (redirectsmartcards:i:1, mstsc's default);\n"
        "  4. the Certificate Propagation Service runs on the server.\n"
        "Everything below is real: a PC/SC lab with a virtual card, FreeRDP with our plug-in, the\n"
        "session host, the propagation service and certutil.  Lines starting with >> explain the\n"
        "next step; [ok  ] lines are what the runner saw.\n",
        sc->title);
}

static void demo_outro(const struct scn_result *r, const struct scn_run_opts *o)
{
    printf("\n=== What happened ===\n");
    if (r->verdict == SCN_PASS)
        printf("All four conditions held, so the card's certificates crossed RDP into Alice's "
               "store on the\n"
               "server, claiming the Base Smart Card Crypto Provider.  Pulling the card left the "
               "claim behind\n"
               "(-verifykeys: claimed, not reachable); only the manual certutil -delstore removed "
               "them.\n"
               "Remove any one condition and nothing crosses: `scardlab matrix` proves all 16 "
               "combinations.\n");
    else
        printf("The story did not play as told: verdict %s.  %s\n", scn_verdict_name(r->verdict),
               r->error[0] ? r->error : "See the failed step above.");
    if (o->report_path[0])
        printf("\nThe HTML report (steps, verdicts and the sequence diagram of where the "
               "certificates crossed):\n"
               "  %s\n  open it in a browser: file://%s\n",
               o->report_path, o->report_path);
    if (o->keep) printf("The machines' folders are kept in %s\n", r->root);
}

int scn_cmd_demo(int argc, char **argv)
{
    struct scn_run_opts o = {.echo_output = true};
    const char *file = SCL_DEMO_SCENARIO;
    char report[PATH_MAX];
    demo_default_report(report, sizeof report);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            demo_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--step"))
            o.pause = true;
        else if (!strcmp(argv[i], "--keep"))
            o.keep = true;
        else if (!strcmp(argv[i], "--report") && i + 1 < argc)
            snprintf(report, sizeof report, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--file") && i + 1 < argc)
            file = argv[++i];
        else {
            fprintf(stderr, "scardlab demo: unknown or incomplete option '%s'\n", argv[i]);
            demo_usage(stderr);
            return 2;
        }
    }
    struct scenario *sc;
    struct scl_err e = {0};
    if (scn_load(file, &sc, &e)) {
        fprintf(stderr, "scardlab demo: %s\n", e.msg);
        return 3;
    }
    if (!demo_labs_possible()) {
        fprintf(
            stderr,
            "scardlab demo: the private PC/SC labs need root or user namespaces (docs/lab.md)\n");
        scn_free(sc);
        return 77;
    }
    o.report_dir = report;
    o.narrate = stdout;
    setvbuf(stdout, NULL, _IOLBF, 0);
    demo_intro(sc);
    struct scn_result r;
    int rc = scn_run(sc, &o, &r, &e);
    if (rc) {
        fprintf(stderr, "scardlab demo: %s\n", e.msg);
        scn_free(sc);
        return 1;
    }
    demo_outro(&r, &o);
    rc = r.verdict == SCN_PASS ? 0 : 1;
    scn_result_free(&r);
    scn_free(sc);
    return rc;
}
