/*
 * test_scn_parse.c - the scenario format: every step and expectation parses
 * into the right typed fields, and every mistake gets its exact
 * file:line:column message.  Runs nothing (no lab, no processes).
 */
#include "scn_int.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Declarations every test builds on: lines 1-8. */
static const char decl[] =
    "scenario \"t\"\n"                                                               /* 1 */
    "card alice-card holder=\"Firstname Lastname\" upn=first.last@contoso.test "
    "serial=\"05 05 1c 00 22 7f 3c dd fa 98\" key=rsa2048 slots=9a,9c\n"             /* 2 */
    "card file-card file=cards/card.conf\n"                                           /* 3 */
    "client laptop reader-allow=\"scardlab 00 00\"\n"                                 /* 4 */
    "  default-rdp \"redirectsmartcards:i:1\"\n"                                      /* 5 */
    "  rdp-file custom.rdp \"redirectsmartcards:i:0\" \"username:s:alice\"\n"        /* 6 */
    "server ts1 rdp fEnableSmartCard=0 certprop=stopped auth=tls CertPropEnabled=0\n" /* 7 */
    "  user alice password=env:ALICE_PW owns=\"Firstname Lastname\"\n"               /* 8 */
    "server con console laptop certprop=disabled KeyProvider=KSP\n"                   /* 9 */
    "  user bob\n";                                                                   /* 10 */

static struct scenario *sc;
static struct scl_err err;

static int parse_with(const char *steps)
{
    char text[8192];
    snprintf(text, sizeof text, "%s%s", decl, steps);
    scn_free(sc);
    sc = NULL;
    memset(&err, 0, sizeof err);
    return scn_parse("t.scn", "/base", (const uint8_t *)text, strlen(text), &sc, &err);
}

static int parse_raw(const char *text)
{
    scn_free(sc);
    sc = NULL;
    memset(&err, 0, sizeof err);
    return scn_parse("t.scn", "/base", (const uint8_t *)text, strlen(text), &sc, &err);
}

static void teardown(void)
{
    scn_free(sc);
    sc = NULL;
}

/* The error message must be exactly msg. */
#define ck_err(steps, expected_msg)                                                                 \
    do {                                                                                            \
        ck_assert_int_ne(parse_with(steps), SCL_OK);                                                \
        ck_assert_str_eq(err.msg, expected_msg);                                                    \
    } while (0)

START_TEST(test_declarations_parse_into_typed_fields)
{
    ck_assert_int_eq(parse_with("step insert alice-card into laptop\n"), SCL_OK);
    ck_assert_str_eq(sc->title, "t");
    ck_assert_int_eq(sc->ncards, 2);
    ck_assert_str_eq(sc->cards[0].holder, "Firstname Lastname");
    ck_assert_str_eq(sc->cards[0].upn, "first.last@contoso.test");
    ck_assert_str_eq(sc->cards[0].serial, "05 05 1c 00 22 7f 3c dd fa 98");
    ck_assert_str_eq(sc->cards[0].slots, "9a,9c");
    ck_assert_str_eq(sc->cards[1].file, "/base/cards/card.conf");
    ck_assert_int_eq(sc->nclients, 1);
    ck_assert_str_eq(sc->clients[0].allow[0], "scardlab 00 00");
    ck_assert(sc->clients[0].has_default);
    ck_assert_str_eq(sc->clients[0].default_rdp.lines[0], "redirectsmartcards:i:1");
    ck_assert_int_eq(sc->clients[0].nrdp, 1);
    ck_assert_str_eq(sc->clients[0].rdp[0].name, "custom.rdp");
    ck_assert_int_eq(sc->clients[0].rdp[0].nlines, 2);
    ck_assert_int_eq(sc->nservers, 2);
    ck_assert_int_eq(sc->servers[0].console, -1);
    ck_assert(!sc->servers[0].enable_smartcard);
    ck_assert_int_eq(sc->servers[0].service, SCN_SVC_STOPPED);
    ck_assert_int_eq(sc->servers[0].auth, SCN_AUTH_TLS);
    ck_assert_int_eq(sc->servers[0].cert_prop_enabled, 0);
    ck_assert_str_eq(sc->servers[0].users[0].password_env, "ALICE_PW");
    ck_assert_str_eq(sc->servers[0].users[0].owns, "Firstname Lastname");
    ck_assert_int_eq(sc->servers[1].console, 0);
    ck_assert_int_eq(sc->servers[1].service, SCN_SVC_DISABLED);
    ck_assert_str_eq(sc->servers[1].key_provider, "KSP");
}
END_TEST

START_TEST(test_every_step_parses)
{
    static const char steps[] =
        "step insert alice-card into laptop slot 1\n"                                      /* 11 */
        "step remove alice-card from laptop\n"                                             /* 12 */
        "step connect laptop to ts1 as alice with custom.rdp\n"                            /* 13 */
        "step disconnect laptop\n"                                                         /* 14 */
        "step service ts1 disable\n"                                                       /* 15 */
        "step policy ts1 CertPropEnabled=1\n"                                              /* 16 */
        "step exec ts1 alice pkcs15-tool --list-certificates\n"                            /* 17 */
        "step certutil ts1 alice -v -user -store My \"05 05 1c\"   # a comment\n"          /* 18 */
        "step sweep --profiles ${ts1.profiles} --json ${root}/s.json\n"                    /* 19 */
        "step run sh -c \"echo x=1\"\n"                                                    /* 20 */
        "step wait store ts1 alice My has card alice-card count 4 within 5s\n"             /* 21 */
        "step wait event ts1 alice has cert_added within 500ms\n"                          /* 22 */
        "step wait trace laptop has apdu \"00 A4 04 00\" within 2m\n"                       /* 23 */
        "expect store ts1 alice My has \"Firstname Lastname\" key-claimed yes reachable no "
        "provider \"Microsoft Base Smart Card Crypto Provider\"\n"                         /* 24 */
        "expect store ts1 alice My lacks foreign\n"                                        /* 25 */
        "expect event con bob lacks error\n"                                               /* 26 */
        "expect trace laptop lacks ioctl Transmit\n"                                       /* 27 */
        "expect output matches \"^Provider = .*Smart Card\"\n"                             /* 28 */
        "expect status 0\n";                                                               /* 29 */
    ck_assert_msg(parse_with(steps) == SCL_OK, "%s", err.msg);
    ck_assert_int_eq(sc->nsteps, 19);
    const struct scn_step *s = sc->steps;
    ck_assert_str_eq(s[0].def->name, "insert");
    ck_assert_int_eq(s[0].card, 0);
    ck_assert_int_eq(s[0].client, 0);
    ck_assert_int_eq(s[0].slot, 1);
    ck_assert_int_eq(s[0].loc.line, 11);
    ck_assert_str_eq(s[1].def->name, "remove");
    ck_assert_str_eq(s[2].def->name, "connect");
    ck_assert_int_eq(s[2].server, 0);
    ck_assert_int_eq(s[2].user, 0);
    ck_assert_int_eq(s[2].rdp, 0);
    ck_assert_str_eq(s[4].word, "disable");
    ck_assert_str_eq(s[5].setting, "CertPropEnabled");
    ck_assert_int_eq(s[5].value, 1);
    ck_assert_int_eq(s[6].argc, 2);
    ck_assert_str_eq(s[6].argv[0], "pkcs15-tool");
    ck_assert_int_eq(s[7].argc, 5);
    ck_assert_str_eq(s[7].argv[4], "05 05 1c");
    ck_assert_str_eq(s[7].src, "step certutil ts1 alice -v -user -store My \"05 05 1c\"");
    ck_assert_str_eq(s[8].argv[1], "${ts1.profiles}");
    ck_assert_str_eq(s[9].argv[2], "echo x=1");
    ck_assert(s[10].wait);
    ck_assert_str_eq(s[10].def->name, "store");
    ck_assert_int_eq(s[10].sel, SCN_SEL_CARD);
    ck_assert_int_eq(s[10].count, 4);
    ck_assert_int_eq(s[10].timeout_ms, 5000);
    ck_assert_int_eq(s[11].timeout_ms, 500);
    ck_assert_str_eq(s[11].word, "cert_added");
    ck_assert_str_eq(s[12].text, "00a40400");
    ck_assert_int_eq(s[12].timeout_ms, 120000);
    ck_assert(s[13].expect);
    ck_assert_int_eq(s[13].sel, SCN_SEL_CERTID);
    ck_assert_str_eq(s[13].certid, "Firstname Lastname");
    ck_assert_int_eq(s[13].claimed, SCN_YES);
    ck_assert_int_eq(s[13].reachable, SCN_NO);
    ck_assert_str_eq(s[13].provider, "Microsoft Base Smart Card Crypto Provider");
    ck_assert_int_eq(s[14].sel, SCN_SEL_FOREIGN);
    ck_assert(s[14].negate);
    ck_assert(s[15].negate);
    ck_assert_str_eq(s[16].word, "ioctl");
    ck_assert_str_eq(s[16].text, "Transmit");
    ck_assert_str_eq(s[17].word, "matches");
    ck_assert_int_eq(s[18].value, 0);
}
END_TEST

START_TEST(test_command_followed_by_expect_status_is_not_judged_by_its_exit)
{
    ck_assert_int_eq(parse_with("step certutil ts1 alice -user -delstore My nobody\nexpect status 1\n"
                                "step run true\nexpect output lacks x\n"),
                     SCL_OK);
    ck_assert(sc->steps[0].status_checked);
    ck_assert(!sc->steps[2].status_checked);
}
END_TEST

START_TEST(test_unknown_step_names_the_known_ones)
{
    ck_err("step insrt alice-card into laptop\n",
           "t.scn:11:6: unknown step 'insrt' (expected insert, remove, connect, disconnect, service, "
           "policy, exec, certutil, sweep, run, wait)");
}
END_TEST

START_TEST(test_expectation_written_as_step_gets_a_hint)
{
    ck_err("step store ts1 alice My has any\n",
           "t.scn:11:6: unknown step 'store' (it is an expectation: write 'expect', or 'step wait') "
           "(expected insert, remove, connect, disconnect, service, policy, exec, certutil, sweep, run, wait)");
    ck_err("expect insert alice-card into laptop\n",
           "t.scn:11:8: unknown expectation 'insert' (it is a step: write 'step') "
           "(expected store, event, trace, log, output, status)");
}
END_TEST

START_TEST(test_undeclared_card_lists_the_declared_ones)
{
    ck_err("step insert bob-card into laptop\n",
           "t.scn:11:13: undeclared card 'bob-card' (declared: alice-card, file-card)");
    ck_err("expect store ts1 alice My lacks card nope\n",
           "t.scn:11:38: undeclared card 'nope' (declared: alice-card, file-card)");
}
END_TEST

START_TEST(test_undeclared_client_server_and_user)
{
    ck_err("step insert alice-card into desktop\n", "t.scn:11:29: undeclared client 'desktop' (declared: laptop)");
    ck_err("step disconnect ts1\n", "t.scn:11:17: undeclared client 'ts1' (declared: laptop)");
    ck_err("step connect laptop to ts9 as alice\n", "t.scn:11:24: undeclared server 'ts9' (declared: ts1, con)");
    ck_err("step connect laptop to ts1 as bob\n",
           "t.scn:11:31: undeclared user of server ts1 'bob' (declared: alice)");
}
END_TEST

START_TEST(test_missing_keyword_says_what_was_expected)
{
    ck_err("step insert alice-card laptop\n", "t.scn:11:24: expected 'into', found 'laptop'");
    ck_err("step insert alice-card\n", "t.scn:11:23: expected 'into', found end of line");
    ck_err("step insert alice-card into laptop slot 2\n",
           "t.scn:11:41: expected a slot number, 0 or 1, found '2'");
    ck_err("step remove alice-card from laptop now\n", "t.scn:11:36: expected end of line, found 'now'");
}
END_TEST

START_TEST(test_bad_timeouts)
{
    const char *why = "expected a timeout such as 5s, 500ms or 2m (1ms to 10m)";
    char want[200];
    snprintf(want, sizeof want, "t.scn:11:49: %s, found '5'", why);
    ck_err("step wait event ts1 alice has cert_added within 5\n", want);
    snprintf(want, sizeof want, "t.scn:11:49: %s, found '0s'", why);
    ck_err("step wait event ts1 alice has cert_added within 0s\n", want);
    snprintf(want, sizeof want, "t.scn:11:49: %s, found '11m'", why);
    ck_err("step wait event ts1 alice has cert_added within 11m\n", want);
    snprintf(want, sizeof want, "t.scn:11:49: %s, found '5h'", why);
    ck_err("step wait event ts1 alice has cert_added within 5h\n", want);
    snprintf(want, sizeof want, "t.scn:11:49: %s, found '-5s'", why);
    ck_err("step wait event ts1 alice has cert_added within -5s\n", want);
    snprintf(want, sizeof want, "t.scn:11:48: %s, found end of line", why);
    ck_err("step wait event ts1 alice has cert_added within\n", want);
    ck_err("step wait event ts1 alice has cert_added\n",
           "t.scn:11:41: expected 'within DURATION' at the end of a wait");
    ck_err("step wait status 0 within 5s\n", "t.scn:11:11: cannot wait for 'status' (expected store, event, trace or log)");
    ck_err("step wait event ts1 alice has cert_added within 5s 6s\n",
           "t.scn:11:52: expected end of line, found '6s'");
}
END_TEST

START_TEST(test_quotes_and_comments)
{
    ck_err("step run echo \"unclosed\n", "t.scn:11:15: quote not closed before the end of the line");
    ck_err("step run echo \"a\"b\n", "t.scn:11:18: expected a blank after the closing quote, found 'b'");
    ck_err("step run echo a\"b\"\n", "t.scn:11:16: a quote may only open a word or follow 'name='");
    ck_assert_int_eq(parse_with("step run echo \"a # not a comment\" \"q\\\"uote\" # comment\n"), SCL_OK);
    ck_assert_int_eq(sc->steps[0].argc, 3);
    ck_assert_str_eq(sc->steps[0].argv[1], "a # not a comment");
    ck_assert_str_eq(sc->steps[0].argv[2], "q\"uote");
}
END_TEST

START_TEST(test_declaration_errors)
{
    ck_assert_int_ne(parse_raw("scenario \"x\"\ncard c1 upn=a@b\nstep run true\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:2:16: card c1: expected holder=\"NAME\" (to mint it) or file=CARD.conf");
    ck_assert_int_ne(parse_raw("scenario \"x\"\ncard c1 holder=h colour=red\nstep run true\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:2:18: unknown card attribute 'colour' (expected holder=, upn=, serial=, key=, "
                              "slots=, pin= or file=)");
    ck_assert_int_ne(parse_raw("scenario \"x\"\ncard c1 holder=h key=rsa1024\nstep run true\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:2:22: key: expected rsa2048, rsa3072, p256 or p384, found 'rsa1024'");
    ck_assert_int_ne(parse_raw("scenario \"x\"\ncard c1 holder=h\nclient c1\nstep run true\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:3:8: 'c1' already declared (card at line 2)");
    ck_assert_int_ne(parse_raw("scenario \"x\"\nuser alice\nstep run true\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:2:1: 'user' must follow a 'server' declaration");
    ck_assert_int_ne(parse_raw("scenario \"x\"\nserver s1 rdp\nstep run true\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:2:1: server s1: declares no user (add 'user NAME' after it)");
    ck_assert_int_ne(parse_raw("scenario \"x\"\nserver s1 vm\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:2:11: expected 'rdp' (an RDP session host) or 'console' CLIENT (certprop on "
                              "that client's own readers), found 'vm'");
    ck_assert_int_ne(parse_raw("card c1 holder=h\nstep run true\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:1:1: missing 'scenario \"TITLE\"' statement");
    ck_assert_int_ne(parse_raw("scenario \"x\"\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:1:1: no 'step' or 'expect' statement");
    ck_assert_int_ne(parse_raw("scenario \"x\"\nfrobnicate\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:2:1: unknown statement 'frobnicate' (expected scenario, card, client, "
                              "default-rdp, rdp-file, server, user, step or expect)");
    ck_assert_int_ne(parse_raw("scenario \"x\"\nclient l\n  rdp-file Default.rdp \"a:i:1\"\nstep run true\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:3:12: expected a file name ending in .rdp other than Default.rdp (use "
                              "default-rdp), found 'Default.rdp'");
    ck_assert_int_ne(parse_raw("scenario \"x\"\nclient l\n  default-rdp redirectsmartcards=1\nstep run true\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:3:15: expected an .rdp line KEY:TYPE:VALUE (TYPE i, s or b), found "
                              "'redirectsmartcards=1'");
    ck_assert_int_ne(parse_raw("scenario \"x\"\nstep run true\ncard c1 holder=h\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:3:1: 'card' declaration after the first step: declare machines and cards "
                              "before the steps");
}
END_TEST

START_TEST(test_step_semantic_errors)
{
    ck_err("step connect laptop to con as bob\n",
           "t.scn:11:24: server con is the console of laptop: nothing to connect to (declare it 'rdp')");
    ck_err("step connect laptop to ts1 as alice with other.rdp\n", "t.scn:11:42: client laptop has no rdp-file 'other.rdp'");
    ck_err("step policy con fEnableSmartCard=0\n",
           "t.scn:11:17: fEnableSmartCard is an RDP host policy; server con is a console");
    ck_err("step policy ts1 fEnableSmartCard=2\n", "t.scn:11:34: fEnableSmartCard: expected 0 or 1, found '2'");
    ck_err("step service ts1 restart\n", "t.scn:11:18: expected start, stop, disable or enable, found 'restart'");
    ck_err("expect store ts1 alice My lacks any key-claimed yes\n",
           "t.scn:11:37: 'lacks' takes no qualifiers (use 'has ... count N' or a second expectation)");
    ck_err("expect store ts1 alice My has any colour red\n",
           "t.scn:11:35: expected key-claimed, reachable, provider, count or end of line, found 'colour'");
    ck_err("expect store ts1 alice My/x has any\n",
           "t.scn:11:24: expected a store name such as My (letters and digits), found 'My/x'");
    ck_err("expect trace laptop has apdu \"zz\"\n",
           "t.scn:11:30: expected hex bytes such as \"00 a4 04 00\", found 'zz'");
    ck_err("expect output matches \"(\"\n", "t.scn:11:23: bad regular expression: Unmatched ( or \\(");
    /* shapes that make glibc's regcomp allocate without bound (fuzz_scenario) */
    ck_err("expect output matches \"^a +++\"\n",
           "t.scn:11:23: regular expression refused: a repetition right after another (\"++\")");
    ck_err("expect output matches \"((a+)+)+\"\n",
           "t.scn:11:23: regular expression refused: repeated groups nested more than 2 deep");
    ck_err("expect output matches \"a{99}\"\n", "t.scn:11:23: regular expression refused: a bound over 32");
    ck_assert_msg(parse_with("expect output matches \"(ab)+c{2,3}[+*]\\\\+x*\"\n") == SCL_OK, "%s", err.msg);
    ck_err("step run cat ${ts2.profiles}/x\n",
           "t.scn:11:14: unknown variable '${ts2.profiles}' (expected ${root}, ${scardlab}, "
           "${CLIENT.lab|profile|trace}, ${SERVER.profiles|state}, ${SERVER.USER.profile} or ${CARD.dir|file})");
    ck_err("step run\n", "t.scn:11:9: expected a command, found end of line");
    ck_err("expect status 300\n", "t.scn:11:15: expected an exit status from 0 to 255, found '300'");
}
END_TEST

START_TEST(test_log_expectation_parses_and_names_a_console_without_host_log)
{
    ck_assert_msg(parse_with("expect log laptop has \"smart cards not redirected\"\n"
                             "expect log ts1 lacks \"certprop started\"\n"
                             "step wait log ts1 alice has \"cert_added\" count 4 within 5s\n") == SCL_OK,
                  "%s", err.msg);
    ck_assert_int_eq(sc->nsteps, 3);
    ck_assert_str_eq(sc->steps[0].def->name, "log");
    ck_assert_int_eq(sc->steps[0].client, 0);
    ck_assert_str_eq(sc->steps[0].text, "smart cards not redirected");
    ck_assert(sc->steps[1].negate);
    ck_assert_int_eq(sc->steps[1].server, 0);
    ck_assert_int_lt(sc->steps[1].user, 0);
    ck_assert_int_eq(sc->steps[2].user, 0);
    ck_assert_int_eq(sc->steps[2].count, 4);
    ck_err("expect log con has \"x\"\n",
           "t.scn:11:12: server con is a console: it has no host log (name a user for their certprop log)");
    ck_err("expect log nowhere has \"x\"\n", "t.scn:11:12: undeclared client or server 'nowhere'");
    ck_err("expect log ts1 lacks \"x\" count 2\n", "t.scn:11:26: expected end of line, found 'count'");
}
END_TEST

START_TEST(test_control_bytes_and_long_lines_are_refused)
{
    ck_assert_int_ne(parse_raw("scenario \"x\"\nstep run tr\x01ue\n"), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:2:12: control byte 0x01 (the file must be text)");
    char big[1200];
    memset(big, 'a', sizeof big);
    memcpy(big, "scenario \"x\"\nstep run ", 22);
    big[sizeof big - 1] = 0;
    ck_assert_int_ne(parse_raw(big), SCL_OK);
    ck_assert_str_eq(err.msg, "t.scn:2:1025: line longer than 1024 bytes");
}
END_TEST

START_TEST(test_crlf_and_bom_are_accepted)
{
    ck_assert_int_eq(parse_raw("\xEF\xBB\xBFscenario \"x\"\r\nstep run true\r\n"), SCL_OK);
    ck_assert_str_eq(sc->steps[0].argv[0], "true");
    ck_assert_int_eq(sc->steps[0].loc.line, 2);
}
END_TEST

START_TEST(test_shipped_scenario_files_parse)
{
    static const char *const files[] = {"console-story.scn", "console-foreign-user.scn", "rdp-story.scn",
                                        "rdp-cleanup.scn", "rdp-server-policy.scn"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/scenarios/files/%s", SCL_SOURCE_DIR, files[i]);
        struct scenario *s = NULL;
        struct scl_err e = {0};
        ck_assert_msg(scn_load(path, &s, &e) == SCL_OK, "%s", e.msg);
        ck_assert_int_gt(s->nsteps, 3);
        scn_free(s);
    }
}
END_TEST

static Suite *parse_suite(void)
{
    Suite *s = suite_create("scenario-parse");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_declarations_parse_into_typed_fields);
    tcase_add_test(tc, test_every_step_parses);
    tcase_add_test(tc, test_command_followed_by_expect_status_is_not_judged_by_its_exit);
    tcase_add_test(tc, test_unknown_step_names_the_known_ones);
    tcase_add_test(tc, test_expectation_written_as_step_gets_a_hint);
    tcase_add_test(tc, test_undeclared_card_lists_the_declared_ones);
    tcase_add_test(tc, test_undeclared_client_server_and_user);
    tcase_add_test(tc, test_missing_keyword_says_what_was_expected);
    tcase_add_test(tc, test_bad_timeouts);
    tcase_add_test(tc, test_quotes_and_comments);
    tcase_add_test(tc, test_declaration_errors);
    tcase_add_test(tc, test_step_semantic_errors);
    tcase_add_test(tc, test_log_expectation_parses_and_names_a_console_without_host_log);
    tcase_add_test(tc, test_control_bytes_and_long_lines_are_refused);
    tcase_add_test(tc, test_crlf_and_bom_are_accepted);
    tcase_add_test(tc, test_shipped_scenario_files_parse);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(parse_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
