/*
 * test_scn_report.c - the reports a run writes: JUnit XML, TAP and JSON
 * from a hand-made result (verdict counts, escaping, the failing step's
 * message), and the terminal narration's lines.  Runs no scenario.
 */
#include "scenario.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct scn_step_result steps[3];
static struct scn_pid_note pids[1];
static struct scn_result res;

static void setup(void)
{
    memset(steps, 0, sizeof steps);
    memset(&res, 0, sizeof res);
    steps[0] = (struct scn_step_result){.line = 5, .verdict = SCN_PASS, .seconds = 0.5};
    snprintf(steps[0].src, sizeof steps[0].src, "step insert alice-card into laptop");
    snprintf(steps[0].detail, sizeof steps[0].detail, "card is in");
    steps[1] = (struct scn_step_result){.line = 6, .expect = true, .verdict = SCN_FAIL};
    snprintf(steps[1].src, sizeof steps[1].src, "expect store ts1 alice My lacks \"<Firstname & Lastname>\" # x");
    snprintf(steps[1].detail, sizeof steps[1].detail, "store ts1/alice My should hold no certificate, holds 4\nsecond line");
    steps[2] = (struct scn_step_result){.line = 7, .verdict = SCN_SKIP};
    snprintf(steps[2].src, sizeof steps[2].src, "step remove alice-card from laptop");
    snprintf(steps[2].detail, sizeof steps[2].detail, "not run: an earlier step failed");
    pids[0] = (struct scn_pid_note){.pid = 4242};
    snprintf(pids[0].what, sizeof pids[0].what, "host ts1");
    snprintf(res.path, sizeof res.path, "files/story.scn");
    snprintf(res.title, sizeof res.title, "The \"story\"");
    snprintf(res.root, sizeof res.root, "/tmp/scl-run-x");
    res.verdict = SCN_FAIL;
    res.steps = steps;
    res.nsteps = 3;
    res.pids = pids;
    res.npids = 1;
}

static char *render(int (*fn)(FILE *, const struct scn_result *, int))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fn(f, &res, 1), 0);
    fclose(f);
    return buf;
}

START_TEST(test_junit_counts_failures_and_skips_and_escapes_markup)
{
    char *x = render(scn_report_junit);
    ck_assert_ptr_nonnull(strstr(x, "<testsuites name=\"scardlab run\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\">"));
    ck_assert_ptr_nonnull(strstr(x, "<testsuite name=\"The &quot;story&quot;\" tests=\"3\" failures=\"1\""));
    ck_assert_ptr_nonnull(strstr(x, "name=\"line 6: expect store ts1 alice My lacks &quot;&lt;Firstname &amp; Lastname&gt;&quot; # x\""));
    ck_assert_ptr_nonnull(strstr(x, "<failure message=\"store ts1/alice My should hold no certificate, holds 4\nsecond line\"/>"));
    ck_assert_ptr_nonnull(strstr(x, "<skipped message=\"not run: an earlier step failed\"/>"));
    ck_assert_ptr_null(strstr(x, "<Firstname"));
    free(x);
}
END_TEST

START_TEST(test_junit_reports_a_setup_error_as_its_own_testcase)
{
    snprintf(res.error, sizeof res.error, "setup: lab up failed");
    char *x = render(scn_report_junit);
    ck_assert_ptr_nonnull(strstr(x, "tests=\"4\" failures=\"1\" errors=\"1\""));
    ck_assert_ptr_nonnull(strstr(x, "name=\"setup and teardown\"><error message=\"setup: lab up failed\"/>"));
    free(x);
}
END_TEST

START_TEST(test_tap_has_plan_not_ok_with_yaml_and_skip_directive)
{
    char *t = render(scn_report_tap);
    ck_assert_ptr_nonnull(strstr(t, "TAP version 13\n1..3\n"));
    ck_assert_ptr_nonnull(strstr(t, "\nok 1 - files/story.scn:5 step insert alice-card into laptop\n"));
    /* '#' in a description would start a directive: it is replaced */
    ck_assert_ptr_nonnull(strstr(t, "\nnot ok 2 - files/story.scn:6 expect store ts1 alice My lacks \"<Firstname & Lastname>\" _ x\n"));
    ck_assert_ptr_nonnull(strstr(t, "  ---\n  verdict: fail\n  message: |\n    store ts1/alice My should hold no certificate, holds 4\n    second line\n  ...\n"));
    ck_assert_ptr_nonnull(strstr(t, "\nok 3 - files/story.scn:7 step remove alice-card from laptop # SKIP not run: an earlier step failed\n"));
    free(t);
}
END_TEST

START_TEST(test_json_round_trips_through_cjson)
{
    char *j = render(scn_report_json);
    cJSON *root = cJSON_Parse(j);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(cJSON_GetObjectItem(root, "verdict")->valuestring, "fail");
    cJSON *sc = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "scenarios"), 0);
    ck_assert_str_eq(cJSON_GetObjectItem(sc, "title")->valuestring, "The \"story\"");
    ck_assert_str_eq(cJSON_GetObjectItem(sc, "verdict")->valuestring, "fail");
    cJSON *st = cJSON_GetObjectItem(sc, "steps");
    ck_assert_int_eq(cJSON_GetArraySize(st), 3);
    cJSON *s1 = cJSON_GetArrayItem(st, 1);
    ck_assert_int_eq(cJSON_GetObjectItem(s1, "line")->valueint, 6);
    ck_assert_str_eq(cJSON_GetObjectItem(s1, "kind")->valuestring, "expect");
    ck_assert_str_eq(cJSON_GetObjectItem(s1, "verdict")->valuestring, "fail");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(st, 2), "verdict")->valuestring, "skip");
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(sc, "processes"), 0);
    ck_assert_int_eq(cJSON_GetObjectItem(p, "pid")->valueint, 4242);
    cJSON_Delete(root);
    free(j);
}
END_TEST

START_TEST(test_narration_tags_each_step_and_indents_details)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    scn_report_begin(f, &res);
    for (int i = 0; i < 3; i++) scn_report_step(f, &res, &steps[i]);
    scn_report_end(f, &res);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "=== The \"story\"  (files/story.scn)\n"));
    ck_assert_ptr_nonnull(strstr(buf, "[ok  ] line   5  step insert alice-card into laptop  (0.50s)\n        card is in\n"));
    ck_assert_ptr_nonnull(strstr(buf, "[FAIL] line   6  expect store"));
    ck_assert_ptr_nonnull(strstr(buf, "        store ts1/alice My should hold no certificate, holds 4\n        second line\n"));
    ck_assert_ptr_nonnull(strstr(buf, "[skip] line   7  step remove alice-card from laptop\n"));
    ck_assert_ptr_nonnull(strstr(buf, ": FAIL  (1 passed, 1 failed, 0 errors, 1 skipped;"));
    free(buf);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("scenario-report");
    TCase *tc = tcase_create("report");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_junit_counts_failures_and_skips_and_escapes_markup);
    tcase_add_test(tc, test_junit_reports_a_setup_error_as_its_own_testcase);
    tcase_add_test(tc, test_tap_has_plan_not_ok_with_yaml_and_skip_directive);
    tcase_add_test(tc, test_json_round_trips_through_cjson);
    tcase_add_test(tc, test_narration_tags_each_step_and_indents_details);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(report_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
