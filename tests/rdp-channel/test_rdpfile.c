/*
 * test_rdpfile.c - .rdp files: mstsc's Default.rdp is created when missing,
 * UTF-16LE and UTF-8 files parse, garbage gets file:line errors, and
 * redirectsmartcards:i:0 keeps FreeRDP from loading a smart-card device.
 */
#include "rdp_channel.h"

#include <check.h>
#include <freerdp/client.h>
#include <freerdp/client/cmdline.h>
#include <freerdp/freerdp.h>
#include <freerdp/settings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void make_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_rdpfile.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tmp(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* UTF-16LE with BOM from an ASCII text, as mstsc writes. */
static uint8_t *utf16_file(const char *text, size_t *len)
{
    size_t n = strlen(text);
    uint8_t *b = malloc(2 + 2 * n);
    b[0] = 0xFF;
    b[1] = 0xFE;
    for (size_t i = 0; i < n; i++) {
        b[2 + 2 * i] = (uint8_t)text[i];
        b[3 + 2 * i] = 0;
    }
    *len = 2 + 2 * n;
    return b;
}

static void parse_fails_with(const uint8_t *buf, size_t len, const char *want)
{
    struct rc_rdpfile f;
    struct scl_err e = {0};
    ck_assert_int_ne(rc_rdpfile_parse("x.rdp", buf, len, &f, &e), SCL_OK);
    ck_assert_msg(strstr(e.msg, want), "error '%s' should contain '%s'", e.msg, want);
}

START_TEST(test_missing_default_rdp_is_created_with_mstsc_defaults)
{
    make_tmp();
    char path[512];
    bool created = false;
    struct scl_err e = {0};
    ck_assert_msg(rc_default_rdp_ensure(tmpdir, path, sizeof path, &created, &e) == SCL_OK, "%s",
                  e.msg);
    ck_assert(created);
    ck_assert_ptr_nonnull(strstr(path, "/Documents/Default.rdp"));
    struct rc_rdpfile f;
    uint8_t *raw;
    size_t len;
    ck_assert_msg(rc_rdpfile_load(path, &f, &raw, &len, &e) == SCL_OK, "%s", e.msg);
    ck_assert(f.utf16);
    ck_assert_uint_eq(raw[0], 0xFF);
    ck_assert_uint_eq(raw[1], 0xFE);
    ck_assert_uint_eq(raw[2 + 2 * strlen(rc_default_rdp_lines[0])], '\r'); /* CRLF */
    ck_assert_int_eq(rc_rdpfile_int(&f, "redirectsmartcards", -1), 1);
    ck_assert_int_eq(rc_rdpfile_int(&f, "screen mode id", -1), 2);
    ck_assert_int_eq(rc_rdpfile_int(&f, "authentication level", -1), 2);
    const struct rc_rdp_entry *fa = rc_rdpfile_find(&f, "full address");
    ck_assert_ptr_nonnull(fa);
    ck_assert_str_eq(fa->value, "");
    ck_assert_ptr_nonnull(rc_rdpfile_find(&f, "username"));
    size_t lines = 0;
    while (rc_default_rdp_lines[lines])
        lines++;
    ck_assert_uint_eq(f.count, lines);
    rc_rdpfile_free(&f);
    free(raw);
    /* A second run keeps the user's file. */
    FILE *fp = fopen(path, "w");
    fputs("full address:s:host.example\n", fp);
    fclose(fp);
    ck_assert_int_eq(rc_default_rdp_ensure(tmpdir, path, sizeof path, &created, &e), SCL_OK);
    ck_assert(!created);
    ck_assert_int_eq(rc_rdpfile_load(path, &f, NULL, NULL, &e), SCL_OK);
    ck_assert_uint_eq(f.count, 1);
    rc_rdpfile_free(&f);
    rm_tmp();
}
END_TEST

START_TEST(test_utf16le_bom_file_parses)
{
    size_t len;
    uint8_t *b = utf16_file("full address:s:10.0.0.1:3390\r\nusername:s:alice\r\n"
                            "redirectsmartcards:i:0\r\n",
                            &len);
    struct rc_rdpfile f;
    struct scl_err e = {0};
    ck_assert_msg(rc_rdpfile_parse("x.rdp", b, len, &f, &e) == SCL_OK, "%s", e.msg);
    ck_assert(f.utf16);
    ck_assert_uint_eq(f.count, 3);
    ck_assert_str_eq(rc_rdpfile_find(&f, "FULL ADDRESS")->value, "10.0.0.1:3390");
    ck_assert_str_eq(rc_rdpfile_find(&f, "username")->value, "alice");
    ck_assert_int_eq(rc_rdpfile_int(&f, "redirectsmartcards", 1), 0);
    rc_rdpfile_free(&f);
    free(b);
}
END_TEST

START_TEST(test_utf8_file_with_and_without_bom_parses)
{
    const char *text = "username:s:J\xc3\xa9r\xc3\xb4me\nredirectsmartcards:i:1\n\n";
    struct rc_rdpfile f;
    struct scl_err e = {0};
    ck_assert_msg(rc_rdpfile_parse("x.rdp", (const uint8_t *)text, strlen(text), &f, &e) == SCL_OK,
                  "%s", e.msg);
    ck_assert(!f.utf16);
    ck_assert_uint_eq(f.count, 2);
    ck_assert_str_eq(rc_rdpfile_find(&f, "username")->value, "J\xc3\xa9r\xc3\xb4me");
    rc_rdpfile_free(&f);
    char bom[128];
    snprintf(bom, sizeof bom, "\xef\xbb\xbf%s", text);
    ck_assert_int_eq(rc_rdpfile_parse("x.rdp", (const uint8_t *)bom, strlen(bom), &f, &e), SCL_OK);
    ck_assert_str_eq(f.entries[0].key, "username");
    rc_rdpfile_free(&f);
}
END_TEST

START_TEST(test_garbage_lines_give_file_line_errors)
{
    const char *no_colon = "username:s:alice\nthis is garbage\n";
    parse_fails_with((const uint8_t *)no_colon, strlen(no_colon),
                     "x.rdp:2: expected key:type:value");
    const char *bad_type = "a:i:1\nb:i:2\nkey:x:1\n";
    parse_fails_with((const uint8_t *)bad_type, strlen(bad_type), "x.rdp:3: key 'key': type 'x'");
    const char *bad_int = "redirectsmartcards:i:yes\n";
    parse_fails_with((const uint8_t *)bad_int, strlen(bad_int),
                     "x.rdp:1: key 'redirectsmartcards'");
    const char *big_int = "desktopwidth:i:99999999999\n";
    parse_fails_with((const uint8_t *)big_int, strlen(big_int), "not a 32-bit integer");
    const char *bad_utf8 = "username:s:\xc0\xaf\n";
    parse_fails_with((const uint8_t *)bad_utf8, strlen(bad_utf8), "x.rdp:1: not UTF-8");
    const uint8_t no_bom[] = {'a', 0, ':', 0, 's', 0};
    parse_fails_with(no_bom, sizeof no_bom, "x.rdp:1: NUL byte");
    const uint8_t odd[] = {0xFF, 0xFE, 'a', 0, ':'};
    parse_fails_with(odd, sizeof odd, "odd length");
    size_t len;
    uint8_t *b = utf16_file("a:s:1\r\nb:s:2\r\nc:s:x\r\n", &len);
    b[2 + 2 * 18] = 0x00; /* 'x' on line 3 becomes an unpaired high surrogate */
    b[3 + 2 * 18] = 0xD8;
    parse_fails_with(b, len, "x.rdp:3: bad UTF-16LE");
    free(b);
}
END_TEST

START_TEST(test_oversized_file_and_line_are_refused)
{
    size_t n = RC_RDPFILE_MAX_BYTES + 1;
    uint8_t *big = malloc(n);
    memset(big, 'a', n);
    parse_fails_with(big, n, "limit");
    char *line = malloc(RC_RDPFILE_MAX_LINE + 32);
    memcpy(line, "a:s:\nb:s:", 9);
    memset(line + 9, 'v', RC_RDPFILE_MAX_LINE);
    parse_fails_with((uint8_t *)line, 9 + RC_RDPFILE_MAX_LINE, "x.rdp:2: line of");
    free(line);
    free(big);
    /* And on disk, before reading: a large file is refused by its size. */
    make_tmp();
    char path[512];
    snprintf(path, sizeof path, "%s/big.rdp", tmpdir);
    FILE *fp = fopen(path, "w");
    ck_assert_int_eq(ftruncate(fileno(fp), 64 * 1024 * 1024), 0);
    fclose(fp);
    struct rc_rdpfile f;
    struct scl_err e = {0};
    ck_assert_int_ne(rc_rdpfile_load(path, &f, NULL, NULL, &e), SCL_OK);
    ck_assert_ptr_nonnull(strstr(e.msg, "bytes (limit"));
    rm_tmp();
}
END_TEST

/* What FreeRDP would load: settings as the client builds them, then
 * freerdp_client_load_addins, then look for a smart-card device. */
static bool smartcard_device_loaded(const char *text)
{
    RDP_CLIENT_ENTRY_POINTS ep = {0};
    ep.Version = RDP_CLIENT_INTERFACE_VERSION;
    ep.Size = sizeof(RDP_CLIENT_ENTRY_POINTS_V1);
    ep.ContextSize = sizeof(rdpContext);
    rdpContext *ctx = freerdp_client_context_new(&ep);
    ck_assert_ptr_nonnull(ctx);
    struct rc_rdpfile f;
    struct scl_err e = {0};
    ck_assert_int_eq(rc_rdpfile_parse("t.rdp", (const uint8_t *)text, strlen(text), &f, &e),
                     SCL_OK);
    struct rc_connect_opts o = {0};
    ck_assert_msg(rc_client_apply_settings(ctx->settings, &o, "t.rdp", &f, (const uint8_t *)text,
                                           strlen(text), &e) == SCL_OK,
                  "%s", e.msg);
    ck_assert(freerdp_client_load_addins(ctx->channels, ctx->settings));
    bool loaded = freerdp_device_collection_find_type(ctx->settings, RDPDR_DTYP_SMARTCARD) != NULL;
    ck_assert_int_eq(loaded, rc_client_redirects_smartcards(ctx->settings));
    rc_rdpfile_free(&f);
    freerdp_client_context_free(ctx);
    return loaded;
}

START_TEST(test_redirectsmartcards_0_loads_no_smartcard_device)
{
    ck_assert(!smartcard_device_loaded("full address:s:127.0.0.1\nredirectsmartcards:i:0\n"
                                       "redirectprinters:i:0\n"));
    ck_assert(smartcard_device_loaded("full address:s:127.0.0.1\nredirectsmartcards:i:1\n"
                                      "redirectprinters:i:0\n"));
}
END_TEST

START_TEST(test_authentication_level_0_means_ignore_certificate)
{
    RDP_CLIENT_ENTRY_POINTS ep = {0};
    ep.Version = RDP_CLIENT_INTERFACE_VERSION;
    ep.Size = sizeof(RDP_CLIENT_ENTRY_POINTS_V1);
    ep.ContextSize = sizeof(rdpContext);
    const char *levels[] = {"authentication level:i:0\n", "authentication level:i:2\n"};
    for (int i = 0; i < 2; i++) {
        rdpContext *ctx = freerdp_client_context_new(&ep);
        struct rc_rdpfile f;
        struct scl_err e = {0};
        const char *t = levels[i];
        ck_assert_int_eq(rc_rdpfile_parse("t.rdp", (const uint8_t *)t, strlen(t), &f, &e), SCL_OK);
        struct rc_connect_opts o = {0};
        ck_assert_int_eq(rc_client_apply_settings(ctx->settings, &o, "t.rdp", &f,
                                                  (const uint8_t *)t, strlen(t), &e),
                         SCL_OK);
        ck_assert_int_eq(freerdp_settings_get_bool(ctx->settings, FreeRDP_IgnoreCertificate),
                         i == 0);
        rc_rdpfile_free(&f);
        freerdp_client_context_free(ctx);
    }
}
END_TEST

START_TEST(test_command_line_overrides_the_file_and_password_comes_from_env)
{
    RDP_CLIENT_ENTRY_POINTS ep = {0};
    ep.Version = RDP_CLIENT_INTERFACE_VERSION;
    ep.Size = sizeof(RDP_CLIENT_ENTRY_POINTS_V1);
    ep.ContextSize = sizeof(rdpContext);
    rdpContext *ctx = freerdp_client_context_new(&ep);
    const char *t = "full address:s:file.example:3389\nusername:s:bob\n";
    struct rc_rdpfile f;
    struct scl_err e = {0};
    ck_assert_int_eq(rc_rdpfile_parse("t.rdp", (const uint8_t *)t, strlen(t), &f, &e), SCL_OK);
    char *argv[] = {"connect", "/v:127.0.0.1:3390", "/u:alice", "--password-env", "TEST_RDP_PW"};
    struct rc_connect_opts o;
    ck_assert_msg(rc_connect_parse_args(5, argv, &o, &e) == SCL_OK, "%s", e.msg);
    setenv("TEST_RDP_PW", "s3cret", 1);
    ck_assert_msg(rc_client_apply_settings(ctx->settings, &o, "t.rdp", &f, (const uint8_t *)t,
                                           strlen(t), &e) == SCL_OK,
                  "%s", e.msg);
    ck_assert_str_eq(ctx->settings->ServerHostname, "127.0.0.1");
    ck_assert_uint_eq(ctx->settings->ServerPort, 3390);
    ck_assert_str_eq(ctx->settings->Username, "alice");
    ck_assert_str_eq(ctx->settings->Password, "s3cret");
    rc_rdpfile_free(&f);
    freerdp_client_context_free(ctx);
    /* A password on the command line is refused outright. */
    char *bad[] = {"connect", "/p:s3cret"};
    ck_assert_int_eq(rc_connect_parse_args(2, bad, &o, &e), SCL_E_INVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "--password-env"));
    /* Pausing a trace that does not exist is a usage error. */
    char *toggle[] = {"connect", "--trace-toggle"};
    ck_assert_int_eq(rc_connect_parse_args(2, toggle, &o, &e), SCL_E_INVAL);
    ck_assert_ptr_nonnull(strstr(e.msg, "--trace FILE"));
    char *both[] = {"connect", "--trace", "t.jsonl", "--trace-toggle"};
    ck_assert_int_eq(rc_connect_parse_args(4, both, &o, &e), SCL_OK);
    ck_assert(o.trace_toggle);
    ck_assert(!o.freerdp_transmit);
    char *stock[] = {"connect", "--freerdp-transmit"};
    ck_assert_int_eq(rc_connect_parse_args(2, stock, &o, &e), SCL_OK);
    ck_assert(o.freerdp_transmit);
}
END_TEST

static Suite *rdpfile_suite(void)
{
    Suite *s = suite_create("rdpfile");
    TCase *t = tcase_create("file");
    tcase_add_test(t, test_missing_default_rdp_is_created_with_mstsc_defaults);
    tcase_add_test(t, test_utf16le_bom_file_parses);
    tcase_add_test(t, test_utf8_file_with_and_without_bom_parses);
    tcase_add_test(t, test_garbage_lines_give_file_line_errors);
    tcase_add_test(t, test_oversized_file_and_line_are_refused);
    suite_add_tcase(s, t);
    TCase *r = tcase_create("freerdp");
    tcase_add_test(r, test_redirectsmartcards_0_loads_no_smartcard_device);
    tcase_add_test(r, test_authentication_level_0_means_ignore_certificate);
    tcase_add_test(r, test_command_line_overrides_the_file_and_password_comes_from_env);
    suite_add_tcase(s, r);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rdpfile_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
