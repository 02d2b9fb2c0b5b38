/*
 * cmd_lab.c - the `scardlab lab ...` and `scardlab card ...` commands: parse
 * options, call the lab, print errors.  Not for lab mechanics (lab*.c).
 */
#include "lab_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lab_args {
    const char *dir;
    int slot;
    bool apdu_log;
    const char *positional; /* card file */
    char **rest;            /* after "--" (lab exec) */
    int nrest;
};

static int parse_slot(const char *s, int *slot)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v >= SCN_LAB_SLOTS) return -1;
    *slot = (int)v;
    return 0;
}

/* Options shared by every verb; dir_flag is "--dir" for lab, "--lab" for card. */
static int parse_lab_args(int argc, char **argv, const char *dir_flag, struct lab_args *a)
{
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(arg, "--")) {
            a->rest = argv + i + 1;
            a->nrest = argc - i - 1;
            break;
        } else if (!strcmp(arg, dir_flag) && has_val)
            a->dir = argv[++i];
        else if (!strcmp(arg, "--slot") && has_val) {
            if (parse_slot(argv[++i], &a->slot))
                return fprintf(stderr, "--slot '%s': the lab has slots 0 and 1\n", argv[i]), -1;
        } else if (!strcmp(arg, "--apdu-log"))
            a->apdu_log = true;
        else if (arg[0] == '-')
            return fprintf(stderr, "unknown or incomplete option '%s'\n", arg), -1;
        else if (!a->positional)
            a->positional = arg;
        else
            return fprintf(stderr, "unexpected argument '%s'\n", arg), -1;
    }
    if (!a->dir) return fprintf(stderr, "%s DIR is required\n", dir_flag), -1;
    return 0;
}

static int report(const char *verb, int rc, const struct scl_err *e)
{
    if (rc == SCL_OK) return 0;
    fprintf(stderr, "scardlab %s: %s\n", verb, e->msg);
    return 1;
}

static int lab_verb_up(struct lab_args *a)
{
    struct scl_err e = {0};
    int rc = scn_lab_up_opts(a->dir, a->apdu_log, &e);
    if (!rc) {
        char sock[4096];
        scn_lab_socket(a->dir, sock, sizeof sock, &e);
        printf("lab up: %s\nexport PCSCLITE_CSOCK_NAME=%s\n", a->dir, sock);
    }
    return report("lab up", rc, &e);
}

static int lab_verb_down(struct lab_args *a)
{
    struct scl_err e = {0};
    return report("lab down", scn_lab_down(a->dir, &e), &e);
}

static int lab_verb_env(struct lab_args *a)
{
    struct scl_err e = {0};
    char sock[4096];
    int rc = scn_lab_socket(a->dir, sock, sizeof sock, &e);
    if (!rc) printf("export PCSCLITE_CSOCK_NAME=%s\n", sock);
    return report("lab env", rc, &e);
}

static int lab_verb_status(struct lab_args *a)
{
    struct scl_err e = {0};
    int rc = scn_lab_status(a->dir, &e);
    if (rc == SCL_E_STATE) return 3; /* down: like `systemctl status` */
    return report("lab status", rc, &e);
}

/* Run a command inside the lab's network namespace (vicc, a benchmark card)
 * with PCSCLITE_CSOCK_NAME pointing at the lab. */
static int lab_verb_exec(struct lab_args *a)
{
    struct scl_err e = {0};
    char abs[4096], sock[4096];
    struct lab_pid holder;
    if (!a->nrest) return fprintf(stderr, "scardlab lab exec: nothing to run after '--'\n"), 2;
    if (lab_abs_dir(a->dir, abs, sizeof abs, &e) || scn_lab_socket(abs, sock, sizeof sock, &e))
        return report("lab exec", e.code, &e);
    if (!lab_pidfile_alive(abs, "lab.pid", &holder))
        return fprintf(stderr, "scardlab lab exec: no lab is running in %s\n", abs), 1;
    if (lab_ns_join(holder.pid, &e)) return report("lab exec", e.code, &e);
    setenv("PCSCLITE_CSOCK_NAME", sock, 1);
    execvp(a->rest[0], a->rest);
    fprintf(stderr, "scardlab lab exec: %s: %s\n", a->rest[0], strerror(errno));
    return 127;
}

struct lab_verb {
    const char *name;
    int (*run)(struct lab_args *a);
    const char *usage;
};

static const struct lab_verb lab_verbs[] = {
    {"up", lab_verb_up, "lab up --dir D [--apdu-log]   start pcscd+vpcd in private namespaces"},
    {"down", lab_verb_down, "lab down --dir D              stop cards, pcscd and the namespaces"},
    {"env", lab_verb_env, "lab env --dir D               print export PCSCLITE_CSOCK_NAME=..."},
    {"status", lab_verb_status,
     "lab status --dir D            processes and reader states (3 = down)"},
    {"exec", lab_verb_exec, "lab exec --dir D -- CMD ...   run CMD inside the lab's network"},
};

static int card_verb_insert(struct lab_args *a)
{
    struct scl_err e = {0};
    if (!a->positional) return fprintf(stderr, "scardlab card insert: which card file?\n"), 2;
    return report("card insert", scn_card_insert(a->dir, a->slot, a->positional, &e), &e);
}

static int card_verb_remove(struct lab_args *a)
{
    struct scl_err e = {0};
    return report("card remove", scn_card_remove(a->dir, a->slot, &e), &e);
}

static const struct lab_verb card_verbs[] = {
    {"insert", card_verb_insert, "card insert --lab D [--slot 0|1] CARDFILE"},
    {"remove", card_verb_remove, "card remove --lab D [--slot 0|1]"},
};

static int print_usage(const struct lab_verb *verbs, size_t n, FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  scardlab %s\n", verbs[i].usage);
    return f == stdout ? 0 : 2;
}

static int dispatch(const char *cmd, const char *dir_flag, const struct lab_verb *verbs, size_t n,
                    int argc, char **argv)
{
    if (argc < 2) return print_usage(verbs, n, stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return print_usage(verbs, n, stdout);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(argv[1], verbs[i].name)) {
            struct lab_args a = {0};
            if (parse_lab_args(argc, argv, dir_flag, &a))
                return fprintf(stderr, "usage: scardlab %s\n", verbs[i].usage), 2;
            return verbs[i].run(&a);
        }
    fprintf(stderr, "scardlab %s: unknown verb '%s'\n", cmd, argv[1]);
    return print_usage(verbs, n, stderr);
}

int scn_cmd_lab(int argc, char **argv)
{
    return dispatch("lab", "--dir", lab_verbs, sizeof lab_verbs / sizeof lab_verbs[0], argc, argv);
}

int scn_cmd_card(int argc, char **argv)
{
    return dispatch("card", "--lab", card_verbs, sizeof card_verbs / sizeof card_verbs[0], argc,
                    argv);
}
