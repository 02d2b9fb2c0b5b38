/*
 * scenario.h - scenario files (docs/scenario-format.md) and the runner that
 * plays them against the real components (docs/scenarios.md).
 *
 * Promises: a scenario file is parsed completely, through struct cur, into
 * typed declarations and steps before anything runs; every mistake is
 * reported as FILE:LINE:COLUMN with what was expected.  The runner stands up
 * every machine the scenario declares in its own temporary root (own labs,
 * own host port), runs the steps as `scardlab` child processes, stops every
 * process it started by pid even when a step fails, and reports each step's
 * verdict.  Does not: fake any component, or touch the machine's own pcscd.
 */
#ifndef SCL_SCENARIO_H
#define SCL_SCENARIO_H

#include "common.h"

#include <limits.h>
#include <stdio.h>

#define SCN_NAME_MAX 64
#define SCN_TEXT_MAX 512
#define SCN_MAX_CARDS 8
#define SCN_MAX_CLIENTS 4
#define SCN_MAX_SERVERS 4
#define SCN_MAX_USERS 4
#define SCN_MAX_RDP_FILES 4
#define SCN_MAX_LINES 16 /* lines of one .rdp file */
#define SCN_MAX_ALLOW 4
#define SCN_MAX_STEPS 128
#define SCN_MAX_ARGS 32
#define SCN_MAX_TIMEOUT_MS 600000

/* Where a declaration or step was written: for messages. */
struct scn_loc {
    int line, col;
};

struct scn_card {
    char name[SCN_NAME_MAX];
    struct scn_loc loc;
    /* minted on the fly (`scardlab pki mint`) ... */
    char holder[128], upn[128], serial[64], key[16], slots[32], pin[16];
    /* ... or an existing card file (absolute, resolved from the scenario's folder) */
    char file[PATH_MAX];
};

struct scn_rdp_file {
    char name[SCN_NAME_MAX]; /* "custom.rdp", written to the client's Documents */
    struct scn_loc loc;
    char lines[SCN_MAX_LINES][SCN_NAME_MAX * 2];
    int nlines;
};

struct scn_client {
    char name[SCN_NAME_MAX];
    struct scn_loc loc;
    /* Documents/Default.rdp: lines given (has_default), else the client
     * creates it with mstsc's defaults on first connect. */
    bool has_default;
    struct scn_rdp_file default_rdp;
    struct scn_rdp_file rdp[SCN_MAX_RDP_FILES];
    int nrdp;
    char allow[SCN_MAX_ALLOW][SCN_NAME_MAX * 2]; /* --reader-allow */
    int nallow;
};

enum scn_service { SCN_SVC_RUNNING, SCN_SVC_STOPPED, SCN_SVC_DISABLED };
enum scn_auth { SCN_AUTH_NLA, SCN_AUTH_TLS };

struct scn_user {
    char name[SCN_NAME_MAX];
    struct scn_loc loc;
    char password[128]; /* "" = generated per run */
    char password_env[SCN_NAME_MAX]; /* password=env:VAR */
    char owns[SCN_TEXT_MAX];         /* identities for the foreign check, comma separated */
};

struct scn_server {
    char name[SCN_NAME_MAX];
    struct scn_loc loc;
    int console; /* index of the client whose console this is, or -1 for an RDP host */
    bool enable_smartcard; /* fEnableSmartCard */
    enum scn_service service;
    enum scn_auth auth;
    int cert_prop_enabled;      /* CertPropEnabled: -1 = Windows' default */
    int root_propagation;       /* EnableRootCertificatePropagation: -1 default */
    int root_cleanup;           /* RootCertificateCleanupOption: -1 default */
    char key_provider[8];       /* "" default, CSP, KSP */
    struct scn_user users[SCN_MAX_USERS];
    int nusers;
};

/* How a store expectation picks certificates. */
enum scn_sel { SCN_SEL_CERTID, SCN_SEL_CARD, SCN_SEL_FOREIGN, SCN_SEL_ANY };
enum scn_tri { SCN_ANY = -1, SCN_NO = 0, SCN_YES = 1 };

struct scn_step_def; /* the step table's row (scn_parse.c) */

struct scn_step {
    const struct scn_step_def *def;
    bool expect;  /* an `expect` (judges) rather than a `step` (acts) */
    bool wait;    /* `step wait ...`: the expectation polled until it holds */
    int timeout_ms;
    struct scn_loc loc;
    char src[SCN_TEXT_MAX]; /* the statement as written, for the narration */
    /* operands; which ones mean something depends on def */
    int card, client, server, user, slot, rdp; /* indices, -1 = none */
    char word[SCN_NAME_MAX];                   /* verb: stop/start, has/lacks, apdu/ioctl ... */
    bool negate;                               /* lacks / not */
    char store[SCN_NAME_MAX];
    enum scn_sel sel;
    char certid[SCN_TEXT_MAX];
    int sel_card;
    int claimed, reachable; /* enum scn_tri */
    char provider[SCN_TEXT_MAX];
    int count; /* -1 = any */
    char text[SCN_TEXT_MAX];
    char setting[SCN_NAME_MAX]; /* policy name */
    int value;
    char *argv[SCN_MAX_ARGS + 1]; /* command words (owned), NULL-terminated */
    int argc;
    bool status_checked; /* the next statement is `expect status N` */
    char say[SCN_TEXT_MAX]; /* `say "..."` before it: the narration (demo) */
};

struct scenario {
    char path[PATH_MAX]; /* as given, for messages */
    char dir[PATH_MAX];  /* its folder: relative card files */
    char title[SCN_TEXT_MAX];
    struct scn_card cards[SCN_MAX_CARDS];
    int ncards;
    struct scn_client clients[SCN_MAX_CLIENTS];
    int nclients;
    struct scn_server servers[SCN_MAX_SERVERS];
    int nservers;
    struct scn_step steps[SCN_MAX_STEPS];
    int nsteps;
};

/* Parse text (name is used in "name:line:col:" messages; dir resolves
 * relative card files).  *sc is allocated; free with scn_free. */
int scn_parse(const char *name, const char *dir, const uint8_t *text, size_t len,
              struct scenario **sc, struct scl_err *e);
int scn_load(const char *path, struct scenario **sc, struct scl_err *e);
void scn_free(struct scenario *sc);
/* The step/expectation names the parser knows, for usage and docs. */
const char *scn_step_name(const struct scn_step *st);

/* ---- results and reports (scn_report.c) ---- */

enum scn_verdict { SCN_PASS, SCN_FAIL, SCN_ERROR, SCN_SKIP };

struct scn_step_result {
    int line;
    char src[SCN_TEXT_MAX];
    bool expect;
    enum scn_verdict verdict;
    char detail[2048]; /* why it failed, or what it saw */
    double seconds;
    char say[SCN_TEXT_MAX]; /* the step's narration, "" none */
};

struct scn_pid_note {
    pid_t pid;
    char what[96];
};

struct scn_result {
    char path[PATH_MAX];
    char title[SCN_TEXT_MAX];
    char root[PATH_MAX]; /* the run's temporary root */
    enum scn_verdict verdict; /* PASS only if every step and expectation held */
    char error[SCN_TEXT_MAX * 2]; /* parse or setup error, teardown trouble */
    struct scn_step_result *steps;
    int nsteps;
    struct scn_pid_note *pids; /* every process the runner started */
    int npids;
    double seconds;
};

void scn_result_free(struct scn_result *r);
const char *scn_verdict_name(enum scn_verdict v);
/* Narration, as the runner goes: one line per step, details indented. */
void scn_report_begin(FILE *f, const struct scn_result *r);
void scn_report_step(FILE *f, const struct scn_result *r, const struct scn_step_result *s);
void scn_report_end(FILE *f, const struct scn_result *r);
int scn_report_junit(FILE *f, const struct scn_result *rs, int n);
int scn_report_tap(FILE *f, const struct scn_result *rs, int n);
int scn_report_json(FILE *f, const struct scn_result *rs, int n);

/* ---- the runner (scn_run.c) ---- */

struct scn_run_opts {
    bool keep;        /* leave the temporary root (and say where) */
    FILE *narrate;    /* NULL = quiet */
    const char *exe;  /* the scardlab binary; NULL = /proc/self/exe */
    const char *report_dir; /* write DIR/<scenario>.html (scn_html.c); NULL none */
    bool pause;       /* wait for Enter before each narrated step (demo --step) */
    bool echo_output; /* narrate each command step's output too (demo) */
    const char *record; /* `--record FILE` (scn_record.c); NULL none */
    /* Made once for many runs (the matrix's rows, scn_shared_make): a
     * declared card NAME is DIR/NAME/card.conf instead of minted, every RDP
     * host uses DIR/server.{crt,key} instead of generating its own.  NULL:
     * each run makes its own. */
    const char *cards_dir, *tls_dir;
    char report_path[PATH_MAX]; /* out: the report written, "" none */
};

/* Run one parsed scenario; fills *r (caller frees).  Returns SCL_OK when it
 * ran (whatever the verdict), an error when it could not start at all. */
int scn_run(const struct scenario *sc, struct scn_run_opts *o, struct scn_result *r,
            struct scl_err *e);

/* The material many runs of sc can share (scn_shared.c): its cards minted
 * into DIR/cards/NAME/ (one CA, as a run mints them) and a self-signed TLS
 * certificate in DIR/tls/server.{crt,key}; pass DIR/cards and DIR/tls as
 * scn_run_opts.cards_dir and .tls_dir.  exe NULL = /proc/self/exe. */
int scn_shared_make(const struct scenario *sc, const char *exe, const char *dir, struct scl_err *e);

/* ---- the HTML report (scn_html.c) ---- */

/* A JSON-lines file read at teardown: a client's plug-in trace or a
 * session's certprop.json.  Hostile text: every byte is escaped. */
struct scn_html_src {
    char label[SCN_NAME_MAX * 2];
    const char *text;
    size_t len;
};

struct scn_html_in {
    const char *title;
    const struct scn_result *r; /* steps and verdicts; NULL for the matrix */
    const struct scn_html_src *traces;
    int ntraces;
    const struct scn_html_src *events;
    int nevents;
    const char *const *matrix_head; /* ncols names, then nrows * ncols cells */
    const char *const *matrix_cells;
    int ncols, nrows;
};

/* The whole report: one HTML document, inline CSS and SVG, no scripts. */
int scn_html_write(FILE *f, const struct scn_html_in *in);
/* Write it to dir/name.html (atomically); path gets the file's path. */
int scn_html_save(const char *dir, const char *name, const struct scn_html_in *in, char *path, size_t cap,
                  struct scl_err *e);

int scn_cmd_run(int argc, char **argv);    /* scardlab run FILE... */
int scn_cmd_demo(int argc, char **argv);   /* scardlab demo */
int scn_cmd_replay(int argc, char **argv); /* scardlab replay FILE */
int scn_cmd_matrix(int argc, char **argv); /* scardlab matrix */

#endif
