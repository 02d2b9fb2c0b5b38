/*
 * test_sweep.c - the fleet sweep over synthetic fleets written with the real
 * store code: walk, every classification, filters, apply, restore byte for
 * byte, crash points, corrupt profiles.  Not the CLI (tests/e2e/sweep_*.sh).
 */
#include "sweep_int.h"
#include "testcert.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <glob.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SID "S-1-5-21-1004336348-1177238915-682003330-1001"
#define CT_OWN_CARD "11111111-2222-3333-4444-5555555fc105"
#define CT_STORY "0c5a29e3-1f4b-4c1d-9e8a-2b7c6d5fc105"
#define CT_SOFT "{7f1c2a9e-0b3d-4e6f-8a21-c3d4e5f60718}"
#define CT_KSP "aa11bb22-cc33-dd44-ee55-ff66005fc10a"

static char tmp[256], root[300], root2[300];

/* What each profile of the standard fleet holds, by role. */
enum role { OWN_PLAIN, OWN_CARD_WITH_KEY, OWN_KSP_WITH_KEY, OWN_CARD_NO_KEY, FOREIGN_PLAIN, STORY, NROLES };
static const unsigned expected[NROLES] = {
    [OWN_PLAIN] = 0,
    [OWN_CARD_WITH_KEY] = 0,
    [OWN_KSP_WITH_KEY] = 0,
    [OWN_CARD_NO_KEY] = SW_REASON_PROPAGATED,
    [FOREIGN_PLAIN] = SW_REASON_FOREIGN,
    [STORY] = SW_REASON_PROPAGATED | SW_REASON_FOREIGN,
};

struct placed {
    char path[400];
    char thumb[41];
    enum role role;
};
static struct placed placed[64];
static size_t nplaced;

static void sh(const char *fmt, const char *arg)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, fmt, arg);
    ck_assert_int_eq(system(cmd), 0);
}

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/scl-test-sweep-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(root, sizeof root, "%s/fleet", tmp);
    snprintf(root2, sizeof root2, "%s/srvC", tmp);
    nplaced = 0;
}

static void teardown(void) { sh("rm -rf '%s'", tmp); }

static void touch(const char *profile, const char *sub)
{
    char p[800];
    snprintf(p, sizeof p, "%s/AppData/Roaming/Microsoft/Crypto/%s", profile, sub);
    char *slash = strrchr(p, '/');
    *slash = 0;
    struct scl_err e;
    ck_assert_int_eq(scl_mkdirs(p, 0700, &e), SCL_OK);
    *slash = '/';
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("key", f);
    fclose(f);
}

static void put(const char *profile, const uint8_t *der, size_t len,
                const struct cs_key_prov_info *kpi, enum role role)
{
    struct cs_store *st;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_open(CS_SCOPE_USER, profile, "My", true, &st, &e), SCL_OK);
    ck_assert_int_eq(cs_store_add(st, der, len, kpi, CS_ADD_REPLACE_INHERIT, NULL, &e), SCL_OK);
    cs_store_close(st);
    struct cs_element el;
    ck_assert_int_eq(cs_element_from_cert(der, len, &el, &e), SCL_OK);
    struct placed *p = &placed[nplaced++];
    snprintf(p->path, sizeof p->path, "%s", profile);
    scl_hex_encode(el.sha1, 20, p->thumb, true);
    p->role = role;
    cs_element_free(&el);
}

static void put_spec(const char *profile, const struct tc_spec *s,
                     const struct cs_key_prov_info *kpi, enum role role)
{
    size_t len;
    uint8_t *der = tc_make_cert(s, &len);
    ck_assert_ptr_nonnull(der);
    put(profile, der, len, kpi, role);
    free(der);
}

/* A profile owned by user `name` with one certificate of every role. */
static void make_profile(const char *dir, const char *name)
{
    char upn[128];
    snprintf(upn, sizeof upn, "%s@corp.test", name);
    struct scl_err e;
    char app[600];
    snprintf(app, sizeof app, "%s/AppData", dir);
    ck_assert_int_eq(scl_mkdirs(app, 0700, &e), SCL_OK);
    struct cs_key_prov_info kpi;
    put_spec(dir, &(struct tc_spec){.cn = name, .upn = upn}, NULL, OWN_PLAIN);

    char ct[128];
    snprintf(ct, sizeof ct, "%s-%s", CT_SOFT, name);
    cs_kpi_base_csp(&kpi, ct, CS_AT_KEYEXCHANGE);
    char keyfile[300];
    snprintf(keyfile, sizeof keyfile, "RSA/" SID "/%s", ct);
    touch(dir, keyfile);
    put_spec(dir, &(struct tc_spec){.cn = "Card Login", .upn = upn}, &kpi, OWN_CARD_WITH_KEY);

    cs_kpi_ksp(&kpi, CT_KSP);
    touch(dir, "Keys/" CT_KSP);
    put_spec(dir, &(struct tc_spec){.cn = name, .email = upn}, &kpi, OWN_KSP_WITH_KEY);

    cs_kpi_base_csp(&kpi, CT_OWN_CARD, CS_AT_SIGNATURE);
    put_spec(dir, &(struct tc_spec){.cn = "Signing", .upn = upn}, &kpi, OWN_CARD_NO_KEY);

    put_spec(dir, &(struct tc_spec){.cn = "Mallory Other", .upn = "mallory@corp.test"}, NULL,
             FOREIGN_PLAIN);

    size_t len;
    uint8_t *story = tc_story_cert(&len);
    cs_kpi_base_csp(&kpi, CT_STORY, CS_AT_KEYEXCHANGE);
    put(dir, story, len, &kpi, STORY);
    free(story);
}

/* fleet/srvA/{alice,bob}, fleet/srvB/alice, srvC/dave (profiles straight under the root). */
static void make_fleet(void)
{
    char d[400];
    const char *ps[] = {"srvA/alice", "srvA/bob", "srvB/alice"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(d, sizeof d, "%s/%s", root, ps[i]);
        make_profile(d, strrchr(ps[i], '/') + 1);
    }
    snprintf(d, sizeof d, "%s/dave", root2);
    make_profile(d, "dave");
    snprintf(d, sizeof d, "%s/srvB/not-a-profile/Documents", root);
    struct scl_err e;
    ck_assert_int_eq(scl_mkdirs(d, 0700, &e), SCL_OK);
}

static const char *roots2[2];

static void opts(struct sw_opts *o)
{
    sw_opts_defaults(o);
    roots2[0] = root;
    roots2[1] = root2;
    o->roots = roots2;
    o->nroots = 2;
    o->progress = false;
}

/* opts() for --apply with its backup in backup. */
static void apply_opts(struct sw_opts *o, const char *backup)
{
    opts(o);
    o->apply = true;
    o->backup_dir = backup;
}

static const struct placed *placed_by(const char *path, const char *thumb)
{
    for (size_t i = 0; i < nplaced; i++)
        if (!strcmp(placed[i].thumb, thumb) && !strcmp(placed[i].path, path))
            return &placed[i];
    return NULL;
}

static size_t count_expected(unsigned rules)
{
    size_t n = 0;
    for (size_t i = 0; i < nplaced; i++)
        n += (expected[placed[i].role] & rules) != 0;
    return n;
}

static void sweep(const struct sw_opts *o, struct sw_result *r)
{
    struct scl_err e = {0};
    ck_assert_msg(sw_sweep(o, r, &e) == SCL_OK, "%s", e.msg);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    uint8_t *b;
    struct scl_err e;
    ck_assert_msg(scl_read_file(path, 1u << 20, &b, len, &e) == SCL_OK, "%s", e.msg);
    return b;
}

static void element_path(const struct placed *p, char *out, size_t cap)
{
    snprintf(out, cap, "%s/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates/%s",
             p->path, p->thumb);
}

START_TEST(test_walk_finds_profiles_in_both_layouts_with_server_names)
{
    make_fleet();
    struct sw_profile *ps;
    size_t n;
    struct scl_err e = {0};
    const char *roots[] = {root, root2};
    ck_assert_int_eq(sw_walk_roots(roots, 2, &ps, &n, &e), SCL_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(ps[0].server, "srvA");
    ck_assert_str_eq(ps[0].name, "alice");
    ck_assert_str_eq(ps[1].name, "bob");
    ck_assert_str_eq(ps[2].server, "srvB");
    ck_assert_str_eq(ps[2].name, "alice");
    ck_assert_str_eq(ps[3].server, "srvC"); /* the root's own name */
    ck_assert_str_eq(ps[3].name, "dave");
    free(ps);
}
END_TEST

START_TEST(test_walk_missing_root_is_an_error)
{
    struct sw_profile *ps;
    size_t n;
    struct scl_err e = {0};
    const char *roots[] = {"/nonexistent/scl-sweep"};
    ck_assert_int_eq(sw_walk_roots(roots, 1, &ps, &n, &e), SCL_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/scl-sweep"));
}
END_TEST

START_TEST(test_dry_run_classifies_every_certificate_and_changes_nothing)
{
    make_fleet();
    struct sw_opts o;
    opts(&o);
    struct sw_result r;
    sweep(&o, &r);
    ck_assert_uint_eq(r.profiles, 4);
    ck_assert_uint_eq(r.skipped, 0);
    ck_assert_uint_eq(r.certificates, nplaced);
    ck_assert_uint_eq(r.own, 4 * 3);
    ck_assert_uint_eq(r.nfindings, count_expected(SW_REASON_PROPAGATED | SW_REASON_FOREIGN));
    ck_assert_uint_eq(r.nfindings, 4 * 3);
    for (size_t i = 0; i < r.nfindings; i++) {
        const struct placed *p = placed_by(r.findings[i].profile_path, r.findings[i].thumbprint);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(r.findings[i].reasons, expected[p->role]);
        ck_assert(!r.findings[i].removed);
    }
    ck_assert_uint_eq(r.removed, 0);
    for (size_t i = 0; i < nplaced; i++) {
        char path[600];
        element_path(&placed[i], path, sizeof path);
        ck_assert_int_eq(access(path, F_OK), 0);
    }
    sw_result_free(&r);
}
END_TEST

START_TEST(test_story_finding_names_server_profile_serial_and_provider)
{
    make_fleet();
    struct sw_opts o;
    opts(&o);
    o.serial_len = (size_t)scl_hex_decode("05 05 1c 00 22 7f 3c dd fa 98", o.serial, sizeof o.serial);
    struct sw_result r;
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, 4);
    ck_assert_str_eq(r.findings[0].server, "srvA");
    ck_assert_str_eq(r.findings[0].profile, "alice");
    ck_assert_str_eq(r.findings[0].serial, "05051c00227f3cddfa98");
    ck_assert_ptr_nonnull(strstr(r.findings[0].subject, "CN=Firstname Lastname"));
    ck_assert_str_eq(r.findings[0].provider, CS_BASE_CSP_NAME);
    ck_assert_str_eq(r.findings[0].container, CT_STORY);
    ck_assert_str_eq(sw_reason_names(r.findings[0].reasons), "propagated,foreign");
    sw_result_free(&r);
}
END_TEST

START_TEST(test_key_container_file_in_profile_means_not_propagated)
{
    char d[400];
    snprintf(d, sizeof d, "%s/srv/erin", root);
    struct scl_err e;
    char app[500];
    snprintf(app, sizeof app, "%s/AppData", d);
    ck_assert_int_eq(scl_mkdirs(app, 0700, &e), SCL_OK);
    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, CT_OWN_CARD, CS_AT_KEYEXCHANGE);
    put_spec(d, &(struct tc_spec){.cn = "erin"}, &kpi, OWN_CARD_NO_KEY);
    struct sw_opts o;
    opts(&o);
    o.nroots = 1;
    struct sw_result r;
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, 1);
    ck_assert_uint_eq(r.findings[0].reasons, SW_REASON_PROPAGATED);
    sw_result_free(&r);

    touch(d, "RSA/" SID "/" CT_OWN_CARD); /* container name, any case matches */
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, 0);
    ck_assert_uint_eq(r.own, 1);
    sw_result_free(&r);
}
END_TEST

START_TEST(test_key_in_other_profile_does_not_count)
{
    make_fleet();
    /* bob holds a key file named like the story container; alice still has none */
    char bob[400];
    snprintf(bob, sizeof bob, "%s/srvA/bob", root);
    touch(bob, "Keys/" CT_STORY);
    struct sw_opts o;
    opts(&o);
    o.rules = SW_REASON_PROPAGATED;
    o.subject = "Firstname";
    struct sw_result r;
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, 3); /* srvA/alice, srvB/alice, dave; not bob */
    for (size_t i = 0; i < r.nfindings; i++)
        ck_assert_str_ne(r.findings[i].profile, "bob");
    sw_result_free(&r);
}
END_TEST

START_TEST(test_owners_file_makes_mapped_identity_own)
{
    make_fleet();
    char path[400];
    snprintf(path, sizeof path, "%s/owners.txt", tmp);
    FILE *f = fopen(path, "w");
    fputs("# who is who\nsrvA/alice  \"Firstname Lastname\" alice@corp.test\n"
          "bob mallory@corp.test\n",
          f);
    fclose(f);
    struct sw_opts o;
    opts(&o);
    o.owners_path = path;
    struct sw_result r;
    sweep(&o, &r);
    for (size_t i = 0; i < r.nfindings; i++) {
        const struct sw_finding *x = &r.findings[i];
        bool srva_alice = !strcmp(x->server, "srvA") && !strcmp(x->profile, "alice");
        if (srva_alice && strstr(x->subject, "Firstname"))
            ck_assert_uint_eq(x->reasons, SW_REASON_PROPAGATED); /* still no key: propagated */
        if (!strcmp(x->profile, "bob"))
            ck_assert_str_ne(x->subject, "CN=Mallory Other");
    }
    /* srvA/alice: story no longer foreign; bob: Mallory no longer a finding. */
    ck_assert_uint_eq(r.nfindings, 12 - 1);
    sw_result_free(&r);
}
END_TEST

START_TEST(test_owners_parse_errors_name_file_and_line)
{
    struct sw_owners ow;
    struct scl_err e = {0};
    const char *bad1 = "alice a@x\nbob\n";
    ck_assert_int_eq(sw_owners_parse("own.txt", (const uint8_t *)bad1, strlen(bad1), &ow, &e),
                     SCL_E_FORMAT);
    ck_assert_str_eq(e.msg, "own.txt:2: 'bob': no identities after the profile name");
    const char *bad2 = "alice \"Alice";
    ck_assert_int_eq(sw_owners_parse("own.txt", (const uint8_t *)bad2, strlen(bad2), &ow, &e),
                     SCL_E_FORMAT);
    ck_assert_str_eq(e.msg, "own.txt:1: column 7: quote not closed");
    const char *bad3 = "alice a@x\nALICE b@x\n";
    ck_assert_int_eq(sw_owners_parse("own.txt", (const uint8_t *)bad3, strlen(bad3), &ow, &e),
                     SCL_E_FORMAT);
    ck_assert_str_eq(e.msg, "own.txt:2: 'ALICE' is listed twice");
    const char *good = "\r\n  # c\nweb01/bob  \"Bob B\"\tbob@x # trailing\r\n";
    ck_assert_int_eq(sw_owners_parse("own.txt", (const uint8_t *)good, strlen(good), &ow, &e),
                     SCL_OK);
    ck_assert_uint_eq(ow.n, 1);
    ck_assert_uint_eq(ow.v[0].nids, 2);
    ck_assert_str_eq(ow.v[0].ids[0], "Bob B");
    ck_assert_ptr_nonnull(sw_owners_find(&ow, "WEB01", "bob"));
    ck_assert_ptr_null(sw_owners_find(&ow, "web02", "bob"));
    sw_owners_free(&ow);
}
END_TEST

START_TEST(test_belongs_matches_upn_local_part_and_dotted_cn)
{
    struct cs_cert_info ci = {0};
    snprintf(ci.subject_cn, sizeof ci.subject_cn, "Firstname Lastname");
    struct sw_profile p = {.name = "firstname.lastname"};
    struct sw_owner_ids ow;
    sw_owner_ids_for(NULL, &p, &ow);
    bool has;
    ck_assert(sw_cert_belongs(&ci, &ow, &has) && has);
    snprintf(p.name, sizeof p.name, "flast");
    sw_owner_ids_for(NULL, &p, &ow);
    ck_assert(!sw_cert_belongs(&ci, &ow, &has) && has);
    snprintf(ci.upns[ci.nupns++], 256, "FLast@corp.test");
    ck_assert(sw_cert_belongs(&ci, &ow, &has));
    struct cs_cert_info none = {0};
    ck_assert(!sw_cert_belongs(&none, &ow, &has) && !has);
}
END_TEST

START_TEST(test_rule_propagated_only_leaves_foreign_alone)
{
    make_fleet();
    struct sw_opts o;
    opts(&o);
    o.rules = SW_REASON_PROPAGATED;
    struct sw_result r;
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, count_expected(SW_REASON_PROPAGATED));
    for (size_t i = 0; i < r.nfindings; i++)
        ck_assert(r.findings[i].reasons & SW_REASON_PROPAGATED);
    sw_result_free(&r);
    o.rules = SW_REASON_FOREIGN;
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, count_expected(SW_REASON_FOREIGN));
    sw_result_free(&r);
}
END_TEST

START_TEST(test_filters_issuer_subject_and_age)
{
    make_fleet();
    struct sw_opts o;
    opts(&o);
    struct sw_result r;
    o.issuer = "no such issuer";
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, 0);
    sw_result_free(&r);
    o.issuer = "scardlab test ca"; /* case-insensitive */
    o.subject = "mallory";
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, 4);
    sw_result_free(&r);
    o.subject = NULL;
    o.issuer = NULL;
    o.now = time(NULL) + 10 * 86400;
    o.older_than_days = 20;
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, 0);
    sw_result_free(&r);
    o.older_than_days = 5;
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, 12);
    sw_result_free(&r);
}
END_TEST

/* Bytes of every placed element file, to compare after restore. */
struct snapshot {
    uint8_t *b[64];
    size_t n[64];
};

static void take_snapshot(struct snapshot *s)
{
    for (size_t i = 0; i < nplaced; i++) {
        char path[600];
        element_path(&placed[i], path, sizeof path);
        s->b[i] = read_all(path, &s->n[i]);
    }
}

static void check_snapshot(struct snapshot *s)
{
    for (size_t i = 0; i < nplaced; i++) {
        char path[600];
        element_path(&placed[i], path, sizeof path);
        size_t n;
        uint8_t *b = read_all(path, &n);
        ck_assert_uint_eq(n, s->n[i]);
        ck_assert_msg(!memcmp(b, s->b[i], n), "%s differs after restore", path);
        free(b);
    }
}

static void free_snapshot(struct snapshot *s)
{
    for (size_t i = 0; i < nplaced; i++)
        free(s->b[i]);
}

START_TEST(test_apply_removes_exactly_findings_then_restore_is_byte_identical_and_idempotent)
{
    make_fleet();
    struct snapshot snap;
    take_snapshot(&snap);
    char backup[400];
    snprintf(backup, sizeof backup, "%s/backup", tmp);
    struct sw_opts o;
    apply_opts(&o, backup);
    o.jobs = 2;
    struct sw_result r;
    sweep(&o, &r);
    ck_assert_uint_eq(r.removed, 12);
    ck_assert_uint_eq(r.nproblems, 0);
    sw_result_free(&r);
    for (size_t i = 0; i < nplaced; i++) {
        char path[600];
        element_path(&placed[i], path, sizeof path);
        ck_assert_int_eq(access(path, F_OK) == 0, expected[placed[i].role] == 0);
    }
    o.apply = false; /* a re-run finds nothing */
    sweep(&o, &r);
    ck_assert_uint_eq(r.nfindings, 0);
    ck_assert_uint_eq(r.own, 12);
    sw_result_free(&r);

    struct sw_restore_result rr;
    struct scl_err e = {0};
    ck_assert_int_eq(sw_restore(backup, &rr, &e), SCL_OK);
    ck_assert_uint_eq(rr.entries, 4);
    ck_assert_uint_eq(rr.restored, 12);
    ck_assert_uint_eq(rr.differing, 0);
    ck_assert_uint_eq(rr.nproblems, 0);
    sw_restore_result_free(&rr);
    check_snapshot(&snap);
    ck_assert_int_eq(sw_restore(backup, &rr, &e), SCL_OK); /* again: nothing changes */
    ck_assert_uint_eq(rr.restored, 0);
    ck_assert_uint_eq(rr.already_present, 12);
    ck_assert_uint_eq(rr.differing, 0);
    sw_restore_result_free(&rr);
    check_snapshot(&snap);
    free_snapshot(&snap);
}
END_TEST

/* Files in removed/ whose name ends with -thumb and whose bytes are want. */
static size_t kept_copies(const char *backup, const char *thumb, const uint8_t *want, size_t n)
{
    char pat[700];
    snprintf(pat, sizeof pat, "%s/removed/*-%s", backup, thumb);
    glob_t g;
    size_t same = 0;
    if (glob(pat, 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t len;
        uint8_t *b = read_all(g.gl_pathv[i], &len);
        same += len == n && !memcmp(b, want, n);
        free(b);
    }
    globfree(&g);
    return same;
}

static size_t count_files(const char *dir)
{
    char pat[700];
    snprintf(pat, sizeof pat, "%s/*", dir);
    glob_t g;
    size_t n = glob(pat, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
    globfree(&g);
    return n;
}

START_TEST(test_apply_moves_each_removed_file_into_the_backup_byte_identical)
{
    make_fleet();
    struct snapshot snap;
    take_snapshot(&snap);
    char backup[400], removed[420];
    snprintf(backup, sizeof backup, "%s/backup", tmp);
    snprintf(removed, sizeof removed, "%s/removed", backup);
    struct sw_opts o;
    apply_opts(&o, backup);
    struct sw_result r;
    sweep(&o, &r);
    ck_assert_uint_eq(r.removed, 12);
    sw_result_free(&r);
    ck_assert_uint_eq(count_files(removed), 12);
    for (size_t i = 0; i < nplaced; i++)
        if (expected[placed[i].role])
            ck_assert_uint_ge(kept_copies(backup, placed[i].thumb, snap.b[i], snap.n[i]), 1);
    free_snapshot(&snap);
}
END_TEST

/* A backup on another file system cannot take the files by rename: they
 * are unlinked, and the .sst files still hold them. */
START_TEST(test_apply_with_backup_on_another_file_system_unlinks)
{
    struct stat a, b;
    if (stat("/dev/shm", &b) != 0 || stat(tmp, &a) != 0 || a.st_dev == b.st_dev)
        return; /* no second file system here: nothing to prove */
    make_fleet();
    struct snapshot snap;
    take_snapshot(&snap);
    char backup[] = "/dev/shm/scl-test-sweep-backup-XXXXXX", removed[80];
    ck_assert_ptr_nonnull(mkdtemp(backup));
    char inner[80];
    snprintf(inner, sizeof inner, "%s/b", backup);
    struct sw_opts o;
    apply_opts(&o, inner);
    struct sw_result r;
    sweep(&o, &r);
    ck_assert_uint_eq(r.removed, 12);
    ck_assert_uint_eq(r.nproblems, 0);
    sw_result_free(&r);
    snprintf(removed, sizeof removed, "%s/removed", inner);
    ck_assert_uint_eq(count_files(removed), 0);
    struct sw_restore_result rr;
    struct scl_err e = {0};
    ck_assert_int_eq(sw_restore(inner, &rr, &e), SCL_OK);
    ck_assert_uint_eq(rr.restored, 12);
    sw_restore_result_free(&rr);
    check_snapshot(&snap);
    free_snapshot(&snap);
    sh("rm -rf '%s'", backup);
}
END_TEST

START_TEST(test_apply_refuses_a_backup_folder_already_used)
{
    make_fleet();
    char backup[400];
    snprintf(backup, sizeof backup, "%s/backup", tmp);
    struct sw_opts o;
    apply_opts(&o, backup);
    o.rules = SW_REASON_FOREIGN;
    o.subject = "Mallory";
    struct sw_result r;
    sweep(&o, &r);
    ck_assert_uint_eq(r.removed, 4);
    sw_result_free(&r);
    struct scl_err e = {0};
    ck_assert_int_eq(sw_sweep(&o, &r, &e), SCL_E_STATE);
    ck_assert_ptr_nonnull(strstr(e.msg, "manifest.jsonl"));
}
END_TEST

/* The crash points: backup written but delete never ran; a manifest line torn. */
START_TEST(test_crash_between_backup_and_delete_loses_nothing)
{
    make_fleet();
    char backup[400];
    snprintf(backup, sizeof backup, "%s/backup", tmp);
    struct sw_backup *bk;
    struct scl_err e = {0};
    ck_assert_int_eq(sw_backup_open(backup, &bk, &e), SCL_OK);
    struct sw_profile p = {.server = "srvA", .name = "alice"};
    snprintf(p.path, sizeof p.path, "%s/srvA/alice", root);
    struct cs_store *st;
    ck_assert_int_eq(cs_store_open(CS_SCOPE_USER, p.path, "My", false, &st, &e), SCL_OK);
    struct cs_listing l;
    ck_assert_int_eq(cs_store_list(st, &l, &e), SCL_OK);
    const struct cs_element *els[2] = {&l.elements[0], &l.elements[1]};
    ck_assert_int_eq(sw_backup_profile(bk, 1, &p, els, 2, &e), SCL_OK);
    ck_assert_int_eq(cs_store_delete(st, els[0]->sha1, &e), SCL_OK); /* crash after one delete */
    sw_backup_close(bk);
    char man[500];
    snprintf(man, sizeof man, "%s/manifest.jsonl", backup);
    FILE *f = fopen(man, "a");
    fputs("{\"seq\":2,\"server\":\"srvA\",\"prof", f); /* torn last line */
    fclose(f);

    struct sw_restore_result rr;
    ck_assert_int_eq(sw_restore(backup, &rr, &e), SCL_OK);
    ck_assert_uint_eq(rr.entries, 1);
    ck_assert_uint_eq(rr.restored, 1);
    ck_assert_uint_eq(rr.already_present, 1);
    ck_assert_uint_eq(rr.nproblems, 1);
    ck_assert_ptr_nonnull(strstr(rr.problems[0], "line 3: incomplete"));
    sw_restore_result_free(&rr);
    struct cs_listing l2;
    ck_assert_int_eq(cs_store_list(st, &l2, &e), SCL_OK);
    ck_assert_uint_eq(l2.n, l.n);
    cs_listing_free(&l2);
    cs_listing_free(&l);
    cs_store_close(st);
}
END_TEST

START_TEST(test_corrupt_and_broken_profiles_are_reported_and_skipped)
{
    make_fleet();
    char d[600];
    /* srvB/carol: My/Certificates is a file, not a folder */
    snprintf(d, sizeof d, "%s/srvB/carol/AppData/Roaming/Microsoft/SystemCertificates/My", root);
    struct scl_err e;
    ck_assert_int_eq(scl_mkdirs(d, 0700, &e), SCL_OK);
    strcat(d, "/Certificates");
    FILE *f = fopen(d, "w");
    fputs("junk", f);
    fclose(f);
    /* srvA/bob: one element file is garbage; the rest is swept */
    snprintf(d, sizeof d,
             "%s/srvA/bob/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates/"
             "0000000000000000000000000000000000000000",
             root);
    f = fopen(d, "w");
    fputs("\x20\x00\x00\x00garbage", f);
    fclose(f);
    struct sw_opts o;
    opts(&o);
    struct sw_result r;
    sweep(&o, &r);
    ck_assert_uint_eq(r.profiles, 5);
    ck_assert_uint_eq(r.skipped, 1);
    ck_assert_uint_eq(r.nfindings, 12);
    ck_assert_uint_eq(r.nproblems, 2);
    bool saw_carol = false, saw_garbage = false;
    for (size_t i = 0; i < r.nproblems; i++) {
        saw_carol |= strstr(r.problems[i], "carol") && strstr(r.problems[i], "skipped");
        saw_garbage |= strstr(r.problems[i], "0000000000000000000000000000000000000000") != NULL;
    }
    ck_assert(saw_carol && saw_garbage);
    sw_result_free(&r);
}
END_TEST

/* An element with a smart-card KEY_PROV_INFO whose certificate is DER-shaped
 * (SEQUENCE { INTEGER 7, NULL }) but no X.509 certificate. */
static void put_unparsable(const char *profile, char hex[41])
{
    static const uint8_t not_x509[] = {0x30, 0x05, 0x02, 0x01, 0x07, 0x05, 0x00};
    struct cs_element el = {0};
    struct scl_err e = {0};
    el.cert_der = malloc(sizeof not_x509);
    memcpy(el.cert_der, not_x509, sizeof not_x509);
    el.cert_len = sizeof not_x509;
    unsigned mdlen;
    ck_assert(EVP_Digest(not_x509, sizeof not_x509, el.sha1, &mdlen, EVP_sha1(), NULL));
    struct cs_key_prov_info kpi;
    cs_kpi_base_csp(&kpi, CT_STORY, CS_AT_KEYEXCHANGE);
    uint8_t *v, *blob;
    size_t vlen, blen;
    ck_assert_int_eq(cs_kpi_encode(&kpi, &v, &vlen, &e), SCL_OK);
    ck_assert_int_eq(cs_element_set_prop(&el, CS_PROP_KEY_PROV_INFO, v, vlen, &e), SCL_OK);
    ck_assert_int_eq(cs_element_encode(&el, &blob, &blen, &e), SCL_OK);
    scl_hex_encode(el.sha1, 20, hex, true);
    char path[800];
    snprintf(path, sizeof path, "%s/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates/%s",
             profile, hex);
    ck_assert_int_eq(scl_write_atomic(path, blob, blen, 0600, &e), SCL_OK);
    free(v);
    free(blob);
    cs_element_free(&el);
}

static bool problem_has(const struct sw_result *r, const char *a, const char *b)
{
    for (size_t i = 0; i < r->nproblems; i++)
        if (strstr(r->problems[i], a) && strstr(r->problems[i], b))
            return true;
    return false;
}

START_TEST(test_certificate_that_does_not_parse_is_left_alone_with_a_problem)
{
    make_fleet();
    char alice[400], hex[41], path[900];
    snprintf(alice, sizeof alice, "%s/srvA/alice", root);
    put_unparsable(alice, hex);
    snprintf(path, sizeof path, "%s/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates/%s",
             alice, hex);
    char backup[400];
    snprintf(backup, sizeof backup, "%s/backup", tmp);
    struct sw_opts o;
    opts(&o);
    struct sw_result r;
    const unsigned rules[] = {0, SW_REASON_PROPAGATED}; /* the second skips the X.509 parse */
    for (size_t k = 0; k < 2; k++) {
        o.rules = rules[k];
        o.apply = k == 1;
        o.backup_dir = backup;
        sweep(&o, &r);
        ck_assert_uint_eq(r.certificates, nplaced + 1);
        ck_assert_uint_eq(r.nproblems, 1);
        ck_assert_msg(problem_has(&r, hex, "cannot classify (certificate: not a DER X.509 certificate); left alone"),
                      "%s", r.problems[0]);
        for (size_t i = 0; i < r.nfindings; i++)
            ck_assert_str_ne(r.findings[i].thumbprint, hex);
        ck_assert_uint_eq(r.removed, o.apply ? count_expected(SW_REASON_PROPAGATED) : 0);
        sw_result_free(&r);
        ck_assert_int_eq(access(path, F_OK), 0);
    }
}
END_TEST

/* Crash emulation: the hook stops the sweep at the nth time it reaches
 * phase; then "power fails": every .sst written since the last sync is torn
 * in half (unsynced data may be lost), the deletes done are kept (worst case). */
struct crash {
    enum sw_phase phase;
    unsigned nth, seen, deleted;
    bool stopped;
    char unsynced[16][SW_SST_REL_MAX];
    size_t nunsynced;
};

static bool crash_at(void *ctx, enum sw_phase ph, const char *detail)
{
    struct crash *c = ctx;
    if (ph == SW_AT_SST_WRITTEN && c->nunsynced < 16)
        snprintf(c->unsynced[c->nunsynced++], SW_SST_REL_MAX, "%s", detail);
    if (ph == SW_AT_SYNCED)
        c->nunsynced = 0;
    if (ph == SW_AT_DELETED)
        c->deleted++;
    if (ph == c->phase && ++c->seen == c->nth)
        c->stopped = true;
    return c->stopped;
}

static void tear(const char *backup, const char *rel)
{
    char path[900];
    snprintf(path, sizeof path, "%s/%s", backup, rel);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(truncate(path, sb.st_size / 2), 0);
}

static size_t count_missing(void)
{
    size_t n = 0;
    for (size_t i = 0; i < nplaced; i++) {
        char path[600];
        element_path(&placed[i], path, sizeof path);
        n += access(path, F_OK) != 0;
    }
    return n;
}

START_TEST(test_crash_at_every_phase_of_a_batch_leaves_each_certificate_in_store_or_backup)
{
    make_fleet();
    struct snapshot snap;
    take_snapshot(&snap);
    char backup[400];
    snprintf(backup, sizeof backup, "%s/backup", tmp);
    /* 4 profiles, 3 findings each, 2 profiles per batch, one worker: */
    static const struct {
        enum sw_phase phase;
        unsigned nth;
    } points[] = {
        {SW_AT_SST_WRITTEN, 1},   {SW_AT_SST_WRITTEN, 2}, {SW_AT_SST_WRITTEN, 3},
        {SW_AT_ENTRY_WRITTEN, 1}, {SW_AT_ENTRY_WRITTEN, 2}, {SW_AT_ENTRY_WRITTEN, 4},
        {SW_AT_SYNCED, 1},        {SW_AT_SYNCED, 2},      {SW_AT_DELETED, 1},
        {SW_AT_DELETED, 6},       {SW_AT_DELETED, 7},     {SW_AT_DELETED, 12},
        {SW_AT_BATCH_DONE, 1},    {SW_AT_BATCH_DONE, 2},
    };
    for (size_t k = 0; k < sizeof points / sizeof points[0]; k++) {
        struct crash c = {.phase = points[k].phase, .nth = points[k].nth};
        struct sw_hooks h = {.batch = 2, .at = crash_at, .ctx = &c};
        struct sw_opts o;
        apply_opts(&o, backup);
        o.jobs = 1;
        struct sw_result r;
        struct scl_err e = {0};
        ck_assert_int_eq(sw_sweep_hooked(&o, &h, &r, &e), SCL_OK);
        sw_result_free(&r);
        ck_assert_msg(c.stopped, "point %zu never reached", k);
        for (size_t i = 0; i < c.nunsynced; i++)
            tear(backup, c.unsynced[i]);
        ck_assert_uint_eq(count_missing(), c.deleted);
        /* Restore must bring back every deleted certificate from synced .sst files. */
        struct sw_restore_result rr;
        ck_assert_int_eq(sw_restore(backup, &rr, &e), SCL_OK);
        ck_assert_uint_eq(rr.restored, c.deleted);
        ck_assert_uint_eq(rr.differing, 0);
        sw_restore_result_free(&rr);
        ck_assert_uint_eq(count_missing(), 0);
        check_snapshot(&snap);
        sh("rm -rf '%s'", backup);
    }
    free_snapshot(&snap);
}
END_TEST

/* A propagator rewrites a selected element after the listing and backup. */
struct rewrite {
    const char *profile;
    bool done;
};

static bool rewrite_at(void *ctx, enum sw_phase ph, const char *detail)
{
    (void)detail;
    struct rewrite *rw = ctx;
    if (ph != SW_AT_SYNCED || rw->done)
        return false;
    rw->done = true;
    struct cs_store *st;
    struct scl_err e = {0};
    ck_assert_int_eq(cs_store_open(CS_SCOPE_USER, rw->profile, "My", false, &st, &e), SCL_OK);
    struct cs_listing l;
    ck_assert_int_eq(cs_store_list(st, &l, &e), SCL_OK);
    size_t hits = 0;
    for (size_t i = 0; i < l.n; i++) {
        struct cs_key_prov_info kpi;
        if (cs_element_kpi(&l.elements[i], &kpi, &e) || strcmp(kpi.container, CT_STORY))
            continue;
        cs_kpi_base_csp(&kpi, "rewritten-by-certprop", CS_AT_KEYEXCHANGE);
        ck_assert_int_eq(cs_store_add(st, l.elements[i].cert_der, l.elements[i].cert_len, &kpi,
                                      CS_ADD_REPLACE_EXISTING, NULL, &e),
                         SCL_OK);
        hits++;
    }
    ck_assert_uint_eq(hits, 1);
    cs_listing_free(&l);
    cs_store_close(st);
    return false;
}

START_TEST(test_element_rewritten_between_backup_and_delete_stays_and_is_reported)
{
    make_fleet();
    char alice[400], backup[400];
    snprintf(alice, sizeof alice, "%s/srvA/alice", root);
    snprintf(backup, sizeof backup, "%s/backup", tmp);
    struct rewrite rw = {.profile = alice};
    struct sw_hooks h = {.at = rewrite_at, .ctx = &rw};
    struct sw_opts o;
    apply_opts(&o, backup);
    o.jobs = 1;
    struct sw_result r;
    struct scl_err e = {0};
    ck_assert_int_eq(sw_sweep_hooked(&o, &h, &r, &e), SCL_OK);
    ck_assert(rw.done);
    ck_assert_uint_eq(r.removed, 11);
    ck_assert_uint_eq(r.nproblems, 1);
    ck_assert_msg(problem_has(&r, alice, "rewritten since it was read; not deleted"), "%s", r.problems[0]);
    size_t kept = 0;
    for (size_t i = 0; i < r.nfindings; i++)
        kept += !r.findings[i].removed;
    ck_assert_uint_eq(kept, 1);
    sw_result_free(&r);
    /* the store keeps the new version; restore says the backup's differs */
    struct sw_restore_result rr;
    ck_assert_int_eq(sw_restore(backup, &rr, &e), SCL_OK);
    ck_assert_uint_eq(rr.restored, 11);
    ck_assert_uint_eq(rr.already_present, 1);
    ck_assert_uint_eq(rr.differing, 1);
    sw_restore_result_free(&rr);
}
END_TEST

START_TEST(test_json_has_one_record_per_finding_with_required_fields)
{
    make_fleet();
    struct sw_opts o;
    opts(&o);
    struct sw_result r;
    sweep(&o, &r);
    char path[400];
    snprintf(path, sizeof path, "%s/out.json", tmp);
    struct scl_err e = {0};
    ck_assert_int_eq(sw_report_json(path, &r, &e), SCL_OK);
    size_t len;
    uint8_t *b = read_all(path, &len);
    cJSON *a = cJSON_ParseWithLength((const char *)b, len);
    ck_assert(cJSON_IsArray(a));
    ck_assert_int_eq(cJSON_GetArraySize(a), (int)r.nfindings);
    const char *keys[] = {"server", "profile", "thumbprint", "serial", "subject", "reason"};
    for (int i = 0; i < cJSON_GetArraySize(a); i++)
        for (size_t k = 0; k < 6; k++)
            ck_assert_ptr_nonnull(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(a, i), keys[k])));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "server")), "srvA");
    cJSON_Delete(a);
    free(b);
    sw_result_free(&r);
}
END_TEST

START_TEST(test_progress_line_says_done_rate_and_time_left)
{
    char line[160];
    sw_progress_format(10, 40, 2000000000ull, line, sizeof line);
    ck_assert_str_eq(line, "profiles 10/40, 5.0/s, 6 s left");
    sw_progress_format(40, 40, 4000000000ull, line, sizeof line);
    ck_assert_str_eq(line, "profiles 40/40, 10.0/s");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sweep");
    TCase *t = tcase_create("sweep");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_walk_finds_profiles_in_both_layouts_with_server_names);
    tcase_add_test(t, test_walk_missing_root_is_an_error);
    tcase_add_test(t, test_dry_run_classifies_every_certificate_and_changes_nothing);
    tcase_add_test(t, test_story_finding_names_server_profile_serial_and_provider);
    tcase_add_test(t, test_key_container_file_in_profile_means_not_propagated);
    tcase_add_test(t, test_key_in_other_profile_does_not_count);
    tcase_add_test(t, test_owners_file_makes_mapped_identity_own);
    tcase_add_test(t, test_owners_parse_errors_name_file_and_line);
    tcase_add_test(t, test_belongs_matches_upn_local_part_and_dotted_cn);
    tcase_add_test(t, test_rule_propagated_only_leaves_foreign_alone);
    tcase_add_test(t, test_filters_issuer_subject_and_age);
    tcase_add_test(t, test_apply_removes_exactly_findings_then_restore_is_byte_identical_and_idempotent);
    tcase_add_test(t, test_apply_moves_each_removed_file_into_the_backup_byte_identical);
    tcase_add_test(t, test_apply_with_backup_on_another_file_system_unlinks);
    tcase_add_test(t, test_apply_refuses_a_backup_folder_already_used);
    tcase_add_test(t, test_crash_between_backup_and_delete_loses_nothing);
    tcase_add_test(t, test_corrupt_and_broken_profiles_are_reported_and_skipped);
    tcase_add_test(t, test_certificate_that_does_not_parse_is_left_alone_with_a_problem);
    tcase_add_test(t, test_crash_at_every_phase_of_a_batch_leaves_each_certificate_in_store_or_backup);
    tcase_add_test(t, test_element_rewritten_between_backup_and_delete_stays_and_is_reported);
    tcase_add_test(t, test_json_has_one_record_per_finding_with_required_fields);
    tcase_add_test(t, test_progress_line_says_done_rate_and_time_left);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
