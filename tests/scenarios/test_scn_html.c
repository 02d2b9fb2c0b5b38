/*
 * test_scn_html.c - the HTML report generator on a fixed small trace: hostile
 * text is escaped, the lifelines, verdict rows, certificate crossings and the
 * matrix table are present.  Not the rendering (report_chromium.sh does that).
 */
#include "scenario.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const char trace[] =
    "{\"CompletionId\":3,\"ioctl\":\"ListReadersW\",\"dir\":\"return\",\"msz\":[\"<script>alert(1)<"
    "/script>\"]}\n"
    "{\"CompletionId\":4,\"ioctl\":\"ConnectW\",\"dir\":\"call\",\"szReader\":\"<script>alert(1)</"
    "script>\"}\n"
    "{\"CompletionId\":5,\"ioctl\":\"Transmit\",\"dir\":\"call\",\"pbSendBuffer\":"
    "\"00a4040009a0000003080000100000\"}\n"
    "{\"CompletionId\":5,\"ioctl\":\"Transmit\",\"dir\":\"return\",\"pbRecvBuffer\":\"61119000\"}\n"
    "not json at all <b>\n"
    "{\"CompletionId\":6,\"ioctl\":\"Transmit\",\"dir\":\"call\",\"pbSendBuffer\":"
    "\"00cb3fff055c035fc10500\"}\n"
    "{\"CompletionId\":6,\"ioctl\":\"Transmit\",\"dir\":\"return\",\"pbRecvBuffer\":"
    "\"5382000a0102030405066110\"}\n"
    "{\"CompletionId\":7,\"ioctl\":\"Transmit\",\"dir\":\"call\",\"pbSendBuffer\":\"00c0000010\"}\n"
    "{\"CompletionId\":7,\"ioctl\":\"Transmit\",\"dir\":\"return\",\"pbRecvBuffer\":"
    "\"000102030405060708090a0b0c0d0e0f9000\"}\n"
    "{\"CompletionId\":8,\"ioctl\":\"Transmit\",\"dir\":\"call\",\"pbSendBuffer\":\"00cb\"}\n";

static const char events[] =
    "{\"event\":\"card_inserted\",\"reader\":\"r&d <reader>\"}\n"
    "{\"event\":\"cert_added\",\"sha1\":\"13AA8A6A2DF151F7E2BB2493E90C2BAE4419F477\",\"subject\":"
    "\"CN=\\\"x\\\"\",\"store\":\"My\"}\n";

static char *render(const struct scn_html_in *in)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(scn_html_write(f, in), 0);
    fclose(f);
    return buf;
}

static char *render_fixed(void)
{
    static struct scn_step_result steps[2];
    memset(steps, 0, sizeof steps);
    steps[0].line = 3, steps[0].verdict = SCN_PASS;
    snprintf(steps[0].src, sizeof steps[0].src, "step insert c into laptop");
    snprintf(steps[0].say, sizeof steps[0].say, "Condition 1 <of 4>");
    steps[1].line = 4, steps[1].verdict = SCN_FAIL, steps[1].expect = true;
    snprintf(steps[1].src, sizeof steps[1].src, "expect output contains \"</td><script>\"");
    static struct scn_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.title, sizeof r.title, "t <script>x</script>");
    r.steps = steps, r.nsteps = 2, r.verdict = SCN_FAIL;
    static struct scn_html_src tr, ev;
    tr = (struct scn_html_src){.label = "of client laptop", .text = trace, .len = sizeof trace - 1};
    ev = (struct scn_html_src){.label = "ts1 <session>", .text = events, .len = sizeof events - 1};
    struct scn_html_in in = {
        .title = r.title, .r = &r, .traces = &tr, .ntraces = 1, .events = &ev, .nevents = 1};
    return render(&in);
}

START_TEST(test_reader_name_script_is_escaped_everywhere)
{
    char *h = render_fixed();
    ck_assert_ptr_null(strstr(h, "<script"));
    ck_assert_ptr_nonnull(strstr(h, "ConnectW &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;"));
    ck_assert_ptr_nonnull(strstr(h, "&lt;/td&gt;&lt;script&gt;"));
    ck_assert_ptr_nonnull(strstr(h, "r&amp;d &lt;reader&gt;"));
    ck_assert_ptr_null(strstr(h, "<b>"));
    free(h);
}
END_TEST

START_TEST(test_report_has_svg_lifelines_and_verdict_rows)
{
    char *h = render_fixed();
    ck_assert_ptr_nonnull(strstr(h, "<svg"));
    const char *lanes[] = {">card</text>",    ">client (plug-in)</text>", ">RDP</text>",
                           ">session</text>", ">certprop</text>",         ">store</text>"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_msg(strstr(h, lanes[i]) != NULL, "lifeline %s", lanes[i]);
    ck_assert_ptr_nonnull(strstr(h, "<tr class=\"verdict pass\"><td>3</td>"));
    ck_assert_ptr_nonnull(strstr(h, "<tr class=\"verdict fail\"><td>4</td>"));
    ck_assert_ptr_nonnull(strstr(h, "Condition 1 &lt;of 4&gt;"));
    free(h);
}
END_TEST

START_TEST(test_get_data_chain_is_summed_and_marked_as_certificate)
{
    char *h = render_fixed();
    ck_assert_ptr_nonnull(strstr(h, "SELECT (00 A4 04 00) AID a00000030800001000"));
    ck_assert_ptr_nonnull(
        strstr(h, "GET DATA 5FC105 (X.509 Certificate for PIV Authentication (9A))"));
    /* 10 bytes before 61 10, then 16 after GET RESPONSE: 26 */
    ck_assert_ptr_nonnull(strstr(h, "5FC105: 26 bytes, SW 90 00"));
    ck_assert_ptr_nonnull(
        strstr(h, "cert_added My\\13AA8A6A2DF151F7E2BB2493E90C2BAE4419F477 CN=&quot;x&quot;"));
    ck_assert_ptr_nonnull(strstr(h, "<g class=\"msg cert\">"));
    free(h);
}
END_TEST

START_TEST(test_matrix_table_rows_carry_their_verdict)
{
    const char *head[] = {"row", "verdict"};
    const char *cells[] = {"0", "ok", "1", "DISAGREES"};
    struct scn_html_in in = {
        .title = "m", .matrix_head = head, .matrix_cells = cells, .ncols = 2, .nrows = 2};
    char *h = render(&in);
    ck_assert_ptr_nonnull(strstr(h, "<table class=\"matrix\">"));
    ck_assert_ptr_nonnull(strstr(h, "<tr class=\"verdict pass\"><td>0</td><td>ok</td></tr>"));
    ck_assert_ptr_nonnull(
        strstr(h, "<tr class=\"verdict fail\"><td>1</td><td>DISAGREES</td></tr>"));
    ck_assert_ptr_null(strstr(h, "<svg"));
    free(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scn_html");
    TCase *tc = tcase_create("html");
    tcase_add_test(tc, test_reader_name_script_is_escaped_everywhere);
    tcase_add_test(tc, test_report_has_svg_lifelines_and_verdict_rows);
    tcase_add_test(tc, test_get_data_chain_is_summed_and_marked_as_certificate);
    tcase_add_test(tc, test_matrix_table_rows_carry_their_verdict);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
