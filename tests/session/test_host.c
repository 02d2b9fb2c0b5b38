/*
 * test_host.c - the session host's config file (values, defaults, FILE:LINE
 * errors, local_account), its SAM file, and the backend's Windows <->
 * pcsc-lite constants.  Not for running a host (tests/e2e/host_*.sh).
 */
#include "host_int.h"

#include <check.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <winscard.h>

static const char good[] = "# session host\n"
                           "[host]\n"
                           "listen = 127.0.0.1:40001\n"
                           "state_dir = state\n"
                           "auth = tls\n"
                           "[policy]\n"
                           "fEnableSmartCard=0\n"
                           "certprop_service=stopped\n"
                           "certprop_policy=/etc/certprop.reg\n"
                           "[user alice]\n"
                           "password=Passw0rd1\n"
                           "profile=/home/alice\n";

START_TEST(test_config_reads_every_key)
{
    static struct host_config cfg;
    struct scl_err e;
    ck_assert_msg(host_config_parse(good, strlen(good), "h.conf", "/base", &cfg, &e) == SCL_OK,
                  "%s", e.msg);
    ck_assert_str_eq(cfg.listen_host, "127.0.0.1");
    ck_assert_uint_eq(cfg.port, 40001);
    ck_assert_str_eq(cfg.state_dir, "/base/state");
    ck_assert_int_eq(cfg.auth, HOST_AUTH_TLS);
    ck_assert(!cfg.enable_smartcard);
    ck_assert_int_eq(cfg.certprop_service, HOST_SVC_STOPPED);
    ck_assert_str_eq(cfg.certprop_policy, "/etc/certprop.reg");
    const struct host_user *u = host_config_user(&cfg, "alice");
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->password, "Passw0rd1");
    ck_assert_str_eq(u->profile, "/home/alice");
    ck_assert_ptr_null(host_config_user(&cfg, "bob"));
}
END_TEST

START_TEST(test_config_defaults_to_loopback_nla_and_service_running)
{
    static const char t[] = "[host]\nstate_dir=/s\n[user bob]\npassword=x\nprofile=/p\n";
    static struct host_config cfg;
    struct scl_err e;
    ck_assert_int_eq(host_config_parse(t, strlen(t), "h.conf", NULL, &cfg, &e), SCL_OK);
    ck_assert_str_eq(cfg.listen_host, "127.0.0.1");
    ck_assert_uint_eq(cfg.port, HOST_DEFAULT_PORT);
    ck_assert_int_eq(cfg.auth, HOST_AUTH_NLA);
    ck_assert(cfg.enable_smartcard);
    ck_assert_int_eq(cfg.certprop_service, HOST_SVC_RUNNING);
}
END_TEST

static void expect_error(const char *text, const char *msg)
{
    static struct host_config cfg;
    struct scl_err e;
    ck_assert_int_ne(host_config_parse(text, strlen(text), "h.conf", NULL, &cfg, &e), SCL_OK);
    ck_assert_str_eq(e.msg, msg);
}

START_TEST(test_config_errors_name_file_and_line)
{
    expect_error("[host]\nstate_dir=/s\nlisten=127.0.0.1:99999\n",
                 "h.conf:3: listen: expected HOST:PORT with PORT 1..65535, got '127.0.0.1:99999'");
    expect_error("[host]\nbogus=1\n", "h.conf:2: unknown key in this section: 'bogus'");
    expect_error("[policy]\nfEnableSmartCard=yes\n",
                 "h.conf:2: fEnableSmartCard: expected 0 or 1, got 'yes'");
    expect_error("[policy]\ncertprop_service=paused\n",
                 "h.conf:2: certprop_service: expected running, stopped or disabled, got 'paused'");
    expect_error("[user a/b]\n", "h.conf:1: user name must be 1-63 of [A-Za-z0-9_.-], got 'a/b'");
    expect_error("\n\nstate_dir=/s\n", "h.conf:3: key before any section: 'state_dir'");
    expect_error("[host]\nstate_dir=/s\n[user a]\npassword=x\n",
                 "h.conf: [user a] has no profile=");
    expect_error("[host]\nstate_dir=/s\n[user a]\nprofile=/p\n[user a]\n",
                 "h.conf:5: user defined twice: 'a'");
}
END_TEST

static const char mapped[] = "[host]\nstate_dir=/s\n"
                             "[user alice]\npassword=x\nprofile=/p\nlocal_account = nobody\n"
                             "[user bob]\npassword=y\nprofile=/q\n";

START_TEST(test_config_local_account_resolves_uid_and_gid)
{
    static struct host_config cfg;
    struct scl_err e;
    struct passwd *pw = getpwnam("nobody");
    ck_assert_ptr_nonnull(pw);
    if (geteuid() != 0) { /* not root: the mapping itself is the error */
        ck_assert_int_ne(host_config_parse(mapped, strlen(mapped), "h.conf", NULL, &cfg, &e), 0);
        ck_assert_ptr_nonnull(strstr(e.msg, "h.conf:6: local_account 'nobody' needs the host"));
        return;
    }
    ck_assert_msg(host_config_parse(mapped, strlen(mapped), "h.conf", NULL, &cfg, &e) == SCL_OK,
                  "%s", e.msg);
    const struct host_user *a = host_config_user(&cfg, "alice"), *b = host_config_user(&cfg, "bob");
    ck_assert_str_eq(a->local_account, "nobody");
    ck_assert_uint_eq(a->uid, pw->pw_uid);
    ck_assert_uint_eq(a->gid, pw->pw_gid);
    ck_assert_str_eq(b->local_account, ""); /* unmapped: the host's own uid */
}
END_TEST

START_TEST(test_config_unknown_local_account_names_file_and_line)
{
    expect_error("[host]\nstate_dir=/s\n[user a]\npassword=x\nprofile=/p\n"
                 "local_account=scl-no-such-account\n",
                 "h.conf:6: local_account: no such account in the passwd database: "
                 "'scl-no-such-account'");
    expect_error("[host]\nstate_dir=/s\n[user a]\nlocal_account=\n",
                 "h.conf:4: local_account: expected a local account name, got ''");
    expect_error("[host]\nlocal_account=root\n",
                 "h.conf:2: unknown key in this section: 'local_account'");
}
END_TEST

/* Run as root, drop to nobody in a child of our own (whatever Check's fork
 * mode) and load the same mapping there. */
START_TEST(test_config_local_account_refused_when_not_root)
{
    static struct host_config cfg;
    struct scl_err e;
    struct passwd *pw = getpwnam("nobody");
    ck_assert_ptr_nonnull(pw);
    if (geteuid() != 0) {
        ck_assert_int_ne(host_config_parse(mapped, strlen(mapped), "h.conf", NULL, &cfg, &e), 0);
        ck_assert_ptr_nonnull(strstr(e.msg, "needs the host to run as root"));
        return;
    }
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(fds[0]);
        if (setgid(pw->pw_gid) || setuid(pw->pw_uid)) _exit(2);
        int rc = host_config_parse(mapped, strlen(mapped), "h.conf", NULL, &cfg, &e);
        if (rc && write(fds[1], e.msg, strlen(e.msg)) < 0) _exit(3);
        _exit(rc ? 0 : 1);
    }
    close(fds[1]);
    char msg[512] = {0};
    ssize_t n = read(fds[0], msg, sizeof msg - 1);
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the mapping should be refused as uid %u (child status 0x%x)",
                  (unsigned)pw->pw_uid, (unsigned)status);
    ck_assert_int_gt(n, 0);
    char want[128];
    snprintf(want, sizeof want,
             "h.conf:6: local_account 'nobody' needs the host to run as root "
             "(euid %u)",
             (unsigned)pw->pw_uid);
    ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(test_sam_line_matches_winpr_hash)
{
    /* `winpr-hash -u alice -p alicepw -f sam` prints this line. */
    static struct host_config cfg;
    char path[] = "/tmp/test_host_sam.XXXXXX";
    uint8_t *text;
    size_t len;
    struct scl_err e;
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    cfg.nusers = 1;
    strcpy(cfg.users[0].name, "alice");
    strcpy(cfg.users[0].password, "alicepw");
    ck_assert_msg(host_sam_write(&cfg, path, &e) == SCL_OK, "%s", e.msg);
    ck_assert_int_eq(scl_read_file(path, 4096, &text, &len, &e), SCL_OK);
    ck_assert_str_eq((char *)text, "alice:::6d79e54cfc7ee9b0285bfbfeacc048c5:::\n");
    free(text);
    unlink(path);
}
END_TEST

START_TEST(test_protocols_translate_raw_both_ways)
{
    ck_assert_uint_eq(scard_protocol_to_win(SCARD_PROTOCOL_RAW), 0x00010000);
    ck_assert_uint_eq(scard_protocol_to_win(SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1), 3);
    ck_assert_uint_eq(scard_protocol_from_win(0x00010000), SCARD_PROTOCOL_RAW);
    ck_assert_uint_eq(scard_protocol_from_win(2), SCARD_PROTOCOL_T1);
}
END_TEST

START_TEST(test_card_state_becomes_pcsclite_bits)
{
    ck_assert_uint_eq(scard_card_state_from_win(1), SCARD_ABSENT);
    ck_assert_uint_eq(scard_card_state_from_win(6), SCARD_PRESENT | SCARD_POWERED | SCARD_SPECIFIC);
    ck_assert_uint_eq(scard_card_state_from_win(99), SCARD_UNKNOWN);
}
END_TEST

START_TEST(test_control_code_becomes_windows_ctl_code)
{
    /* CM_IOCTL_GET_FEATURE_REQUEST: pcsc-lite SCARD_CTL_CODE(3400). */
    ck_assert_uint_eq(scard_control_code_to_win(0x42000000 + 3400), 0x00310000 | (3400 << 2));
    ck_assert_uint_eq(scard_control_code_to_win(0x00313520), 0x00313520);
}
END_TEST

START_TEST(test_windows_unsupported_feature_is_translated)
{
    ck_assert_int_eq(scard_rv_from_win((int32_t)0x80100022), (int32_t)SCARD_E_UNSUPPORTED_FEATURE);
    ck_assert_int_eq(scard_rv_from_win((int32_t)SCARD_W_REMOVED_CARD),
                     (int32_t)SCARD_W_REMOVED_CARD);
}
END_TEST

static Suite *host_suite(void)
{
    Suite *s = suite_create("host");
    TCase *c = tcase_create("config");
    tcase_add_test(c, test_config_reads_every_key);
    tcase_add_test(c, test_config_defaults_to_loopback_nla_and_service_running);
    tcase_add_test(c, test_config_errors_name_file_and_line);
    tcase_add_test(c, test_config_local_account_resolves_uid_and_gid);
    tcase_add_test(c, test_config_unknown_local_account_names_file_and_line);
    tcase_add_test(c, test_config_local_account_refused_when_not_root);
    tcase_add_test(c, test_sam_line_matches_winpr_hash);
    suite_add_tcase(s, c);
    TCase *k = tcase_create("constants");
    tcase_add_test(k, test_protocols_translate_raw_both_ways);
    tcase_add_test(k, test_card_state_becomes_pcsclite_bits);
    tcase_add_test(k, test_control_code_becomes_windows_ctl_code);
    tcase_add_test(k, test_windows_unsupported_feature_is_translated);
    suite_add_tcase(s, k);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(host_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
