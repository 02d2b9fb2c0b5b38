/*
 * scn_report.c - what a run says: the narration on the terminal as steps
 * finish, and JUnit XML, TAP and JSON (cJSON) for CI.  Reads results only;
 * never runs anything.
 */
#include "scenario.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *scn_verdict_name(enum scn_verdict v)
{
    switch (v) {
    case SCN_PASS: return "pass";
    case SCN_FAIL: return "fail";
    case SCN_ERROR: return "error";
    case SCN_SKIP: return "skip";
    }
    return "?";
}

void scn_result_free(struct scn_result *r)
{
    free(r->steps);
    free(r->pids);
    r->steps = NULL;
    r->pids = NULL;
    r->nsteps = r->npids = 0;
}

/* ---- narration ---- */

static void indent(FILE *f, const char *text, const char *prefix)
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        if (n) fprintf(f, "%s%.*s\n", prefix, (int)n, p);
        p += n;
        if (*p) p++;
    }
}

void scn_report_begin(FILE *f, const struct scn_result *r)
{
    fprintf(f, "=== %s  (%s)\n    machines in %s\n", r->title, r->path, r->root);
    fflush(f);
}

void scn_report_step(FILE *f, const struct scn_result *r, const struct scn_step_result *s)
{
    (void)r;
    static const char *const tag[] = {"ok  ", "FAIL", "ERR ", "skip"};
    fprintf(f, "[%s] line %3d  %s", tag[s->verdict], s->line, s->src);
    if (s->verdict != SCN_SKIP) fprintf(f, "  (%.2fs)", s->seconds);
    fputc('\n', f);
    if (s->detail[0] && s->verdict != SCN_SKIP) indent(f, s->detail, "        ");
    fflush(f);
}

void scn_report_end(FILE *f, const struct scn_result *r)
{
    int counts[4] = {0};
    for (int i = 0; i < r->nsteps; i++) counts[r->steps[i].verdict]++;
    if (r->error[0]) indent(f, r->error, "!!! ");
    fprintf(f, "=== %s: %s  (%d passed, %d failed, %d errors, %d skipped; %.1fs)\n", r->title,
            r->verdict == SCN_PASS ? "PASS" : r->verdict == SCN_FAIL ? "FAIL" : "ERROR", counts[SCN_PASS],
            counts[SCN_FAIL], counts[SCN_ERROR], counts[SCN_SKIP], r->seconds);
    fflush(f);
}

/* ---- JUnit XML: one testsuite per scenario, one testcase per step ---- */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<') fputs("&lt;", f);
        else if (c == '>') fputs("&gt;", f);
        else if (c == '&') fputs("&amp;", f);
        else if (c == '"') fputs("&quot;", f);
        else if (c < 0x20 && c != '\n' && c != '\t') fputc('?', f); /* not allowed in XML 1.0 */
        else fputc(c, f);
    }
}

int scn_report_junit(FILE *f, const struct scn_result *rs, int n)
{
    int tests = 0, failures = 0, errors = 0, skipped = 0;
    for (int i = 0; i < n; i++) {
        tests += rs[i].nsteps + (rs[i].error[0] ? 1 : 0);
        for (int k = 0; k < rs[i].nsteps; k++) {
            failures += rs[i].steps[k].verdict == SCN_FAIL;
            errors += rs[i].steps[k].verdict == SCN_ERROR;
            skipped += rs[i].steps[k].verdict == SCN_SKIP;
        }
        errors += rs[i].error[0] ? 1 : 0;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"scardlab run\" tests=\"%d\" "
               "failures=\"%d\" errors=\"%d\" skipped=\"%d\">\n", tests, failures, errors, skipped);
    for (int i = 0; i < n; i++) {
        const struct scn_result *r = &rs[i];
        int sf = 0, se = r->error[0] ? 1 : 0, ss = 0;
        for (int k = 0; k < r->nsteps; k++) {
            sf += r->steps[k].verdict == SCN_FAIL;
            se += r->steps[k].verdict == SCN_ERROR;
            ss += r->steps[k].verdict == SCN_SKIP;
        }
        fputs("  <testsuite name=\"", f);
        xml_text(f, r->title);
        fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\" file=\"",
                r->nsteps + (r->error[0] ? 1 : 0), sf, se, ss, r->seconds);
        xml_text(f, r->path);
        fputs("\">\n", f);
        for (int k = 0; k < r->nsteps; k++) {
            const struct scn_step_result *s = &r->steps[k];
            fprintf(f, "    <testcase classname=\"");
            xml_text(f, r->path);
            fprintf(f, "\" name=\"line %d: ", s->line);
            xml_text(f, s->src);
            fprintf(f, "\" time=\"%.3f\">", s->seconds);
            if (s->verdict == SCN_PASS) {
                fputs("<system-out>", f);
                xml_text(f, s->detail);
                fputs("</system-out>", f);
            } else {
                const char *el = s->verdict == SCN_FAIL ? "failure" : s->verdict == SCN_ERROR ? "error" : "skipped";
                fprintf(f, "\n      <%s message=\"", el);
                xml_text(f, s->detail);
                fprintf(f, "\"/>\n    ");
            }
            fputs("</testcase>\n", f);
        }
        if (r->error[0]) {
            fputs("    <testcase classname=\"", f);
            xml_text(f, r->path);
            fputs("\" name=\"setup and teardown\"><error message=\"", f);
            xml_text(f, r->error);
            fputs("\"/></testcase>\n", f);
        }
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
    return ferror(f) ? -1 : 0;
}

/* ---- TAP 13: one test point per step ---- */

int scn_report_tap(FILE *f, const struct scn_result *rs, int n)
{
    int total = 0;
    for (int i = 0; i < n; i++) total += rs[i].nsteps + (rs[i].error[0] ? 1 : 0);
    fprintf(f, "TAP version 13\n1..%d\n", total);
    int k = 0;
    for (int i = 0; i < n; i++) {
        const struct scn_result *r = &rs[i];
        fprintf(f, "# %s (%s)\n", r->title, r->path);
        for (int j = 0; j < r->nsteps; j++) {
            const struct scn_step_result *s = &r->steps[j];
            /* '#' would start a TAP directive inside the description */
            char desc[SCN_TEXT_MAX];
            snprintf(desc, sizeof desc, "%s", s->src);
            for (char *q = desc; *q; q++)
                if (*q == '#') *q = '_';
            fprintf(f, "%s %d - %s:%d %s", s->verdict == SCN_PASS || s->verdict == SCN_SKIP ? "ok" : "not ok", ++k,
                    r->path, s->line, desc);
            if (s->verdict == SCN_SKIP) fprintf(f, " # SKIP %s", s->detail);
            fputc('\n', f);
            if (s->verdict == SCN_FAIL || s->verdict == SCN_ERROR) {
                fprintf(f, "  ---\n  verdict: %s\n  message: |\n", scn_verdict_name(s->verdict));
                indent(f, s->detail, "    ");
                fprintf(f, "  ...\n");
            }
        }
        if (r->error[0]) {
            fprintf(f, "not ok %d - %s setup and teardown\n  ---\n  message: |\n", ++k, r->path);
            indent(f, r->error, "    ");
            fprintf(f, "  ...\n");
        }
    }
    return ferror(f) ? -1 : 0;
}

/* ---- JSON ---- */

int scn_report_json(FILE *f, const struct scn_result *rs, int n)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "scenarios");
    bool all = true;
    for (int i = 0; i < n; i++) {
        const struct scn_result *r = &rs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", r->path);
        cJSON_AddStringToObject(o, "title", r->title);
        cJSON_AddStringToObject(o, "verdict", scn_verdict_name(r->verdict));
        cJSON_AddStringToObject(o, "root", r->root);
        cJSON_AddNumberToObject(o, "seconds", r->seconds);
        if (r->error[0]) cJSON_AddStringToObject(o, "error", r->error);
        cJSON *steps = cJSON_AddArrayToObject(o, "steps");
        for (int k = 0; k < r->nsteps; k++) {
            const struct scn_step_result *s = &r->steps[k];
            cJSON *so = cJSON_CreateObject();
            cJSON_AddNumberToObject(so, "line", s->line);
            cJSON_AddStringToObject(so, "kind", s->expect ? "expect" : "step");
            cJSON_AddStringToObject(so, "statement", s->src);
            cJSON_AddStringToObject(so, "verdict", scn_verdict_name(s->verdict));
            cJSON_AddStringToObject(so, "detail", s->detail);
            cJSON_AddNumberToObject(so, "seconds", s->seconds);
            cJSON_AddItemToArray(steps, so);
        }
        cJSON *pids = cJSON_AddArrayToObject(o, "processes");
        for (int k = 0; k < r->npids; k++) {
            cJSON *po = cJSON_CreateObject();
            cJSON_AddNumberToObject(po, "pid", r->pids[k].pid);
            cJSON_AddStringToObject(po, "what", r->pids[k].what);
            cJSON_AddItemToArray(pids, po);
        }
        all = all && r->verdict == SCN_PASS;
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddStringToObject(root, "verdict", all ? "pass" : "fail");
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return -1;
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return ferror(f) ? -1 : 0;
}
