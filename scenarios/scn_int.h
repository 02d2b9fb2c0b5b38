/*
 * scn_int.h - private to the scenario runner: the step table's row, the
 * parser's token cursor the step parsers use, and the runner's live state.
 * Nothing outside scenarios/scn_*.c includes it.
 */
#ifndef SCL_SCN_INT_H
#define SCL_SCN_INT_H

#include "scenario.h"

#include <sys/types.h>

/* ---- parsing ---- */

#define SCN_MAX_TOKENS 48

struct scn_tok {
    char text[SCN_TEXT_MAX]; /* unquoted value (for key=value, the value) */
    char key[SCN_NAME_MAX];  /* key of key=value, "" otherwise */
    int col, vcol;           /* column of the token, and of its value */
    bool quoted;
};

struct scn_pctx {
    const char *name; /* file name for messages */
    struct scenario *sc;
    int line;
    struct scn_tok tok[SCN_MAX_TOKENS];
    int ntok, pos;
    int eol_col; /* column just past the last token: "end of line" errors */
    char say[SCN_TEXT_MAX]; /* a `say` waiting for its step */
    int say_line;
    struct scl_err *e;
};

/* "name:line:col: expected WHAT, found 'X'" at the current token (or end of line). */
int scn_perr(struct scn_pctx *p, const char *what);
/* An error at a given column. */
int scn_perr_at(struct scn_pctx *p, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The next token, or NULL (no error yet) at end of line. */
const struct scn_tok *scn_peek(struct scn_pctx *p);
/* The next plain word (no key=); error naming what when missing. */
const struct scn_tok *scn_next(struct scn_pctx *p, const char *what);
/* The next token must be exactly word. */
int scn_keyword(struct scn_pctx *p, const char *word);
/* The next token if it is word (consumed), else false. */
bool scn_accept(struct scn_pctx *p, const char *word);
/* One of choices[] (NULL-terminated); returns its index or -1 with error. */
int scn_choice(struct scn_pctx *p, const char *const *choices, const char *what);
int scn_card_ref(struct scn_pctx *p);
int scn_client_ref(struct scn_pctx *p);
int scn_server_ref(struct scn_pctx *p);
int scn_user_ref(struct scn_pctx *p, int server);
/* "5s", "500ms", "2m": 1 ms .. SCN_MAX_TIMEOUT_MS. */
int scn_duration(struct scn_pctx *p, int *ms);
int scn_int_tok(struct scn_pctx *p, const char *what, int lo, int hi, int *out);
/* No tokens may follow. */
int scn_end(struct scn_pctx *p);
/* The rest of the line as command words (owned copies; ${...} checked). */
int scn_rest_argv(struct scn_pctx *p, struct scn_step *st, const char *what);
/* Is ${...} in s a variable the scenario can expand?  col for the message. */
int scn_check_vars(struct scn_pctx *p, const char *s, int col);

/* ---- running ---- */

#define SCN_MAX_PROCS 64

struct scn_proc {
    pid_t pid;
    char what[96];
    char out[PATH_MAX]; /* stdout+stderr file */
    bool alive;
    int status;
};

struct scn_rt_card {
    char dir[PATH_MAX], conf[PATH_MAX];
    int client, slot; /* where it is inserted, -1 */
    uint8_t sha1[4][20]; /* the card's certificates (a PIV card has 4 key slots) */
    int ncerts;
};

struct scn_rt_client {
    char dir[PATH_MAX], lab[PATH_MAX], profile[PATH_MAX], trace[PATH_MAX];
    bool lab_up;
    char connect_log[PATH_MAX]; /* output of the latest connect ("" before any) */
    int connect; /* proc index or -1 */
    int server, user; /* where it is connected, -1 */
};

struct scn_rt_server {
    char dir[PATH_MAX], conf[PATH_MAX], state[PATH_MAX], policy[PATH_MAX], profiles[PATH_MAX];
    int port;
    int host; /* proc index or -1 */
    enum scn_service service;
    bool enable_smartcard;
    int cert_prop_enabled;
    int certprop[SCN_MAX_USERS]; /* console: proc index of each user's certprop, -1 */
    char password[SCN_MAX_USERS][128];
};

struct scn_rt {
    const struct scenario *sc;
    char root[PATH_MAX];
    char exe[PATH_MAX];
    struct scn_proc procs[SCN_MAX_PROCS];
    int nprocs;
    struct scn_rt_card cards[SCN_MAX_CARDS];
    struct scn_rt_client clients[SCN_MAX_CLIENTS];
    struct scn_rt_server servers[SCN_MAX_SERVERS];
    int nstep; /* index of the running step */
    char *output; /* the last command's stdout+stderr */
    int status;   /* its exit status */
    bool have_output;
    struct scn_result *res;
    /* material made once for many runs (scn_run_opts; NULL: made here) */
    const char *cards_dir, *tls_dir;
    /* read at teardown, before the root goes (scn_html.c) */
    struct scn_html_src traces[SCN_MAX_CLIENTS];
    int ntraces;
    struct scn_html_src events[SCN_MAX_SERVERS * SCN_MAX_USERS * 2];
    int nevents;
};

/* The report's inputs, read before the temporary root is removed; the
 * report itself once the verdict is final; then the inputs freed. */
void scn_html_collect(struct scn_rt *rt);
int scn_html_report(struct scn_rt *rt, struct scn_run_opts *o, struct scl_err *e);
void scn_html_release(struct scn_rt *rt);
/* `--record FILE`: the collected traces and events as a replayable record. */
int scn_record_save(struct scn_rt *rt, const char *path, struct scl_err *e);
/* A record's card side for one reader (NULL: the first recorded), and its
 * answer to one command APDU: the recorded response, 6A 82 for an unrecorded
 * SELECT/GET DATA, 6D 00 otherwise.  resp holds 2048 bytes. */
struct rec_card;
int scn_replay_load(const char *path, const char *reader, struct rec_card **out, struct scl_err *e);
size_t scn_replay_answer(struct rec_card *rc, const uint8_t *cmd, size_t len, uint8_t *resp);
void scn_replay_free(struct rec_card *rc);

/* A step's verdict plus what to say about it. */
struct scn_out {
    char *detail;
    size_t cap;
};
void scn_say(struct scn_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the step table ---- */

struct scn_step_def {
    const char *name;
    bool expect; /* an expectation: after `expect` or `step wait` */
    int (*parse)(struct scn_pctx *p, struct scn_step *st);
    /* Returns enum scn_verdict. */
    int (*run)(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
};

const struct scn_step_def *scn_step_find(const char *name, bool expect);
/* "insert, remove, ..." for messages */
void scn_step_names(bool expect, char *out, size_t cap);

/* Families (scn_steps_*.c). */
int scn_parse_insert(struct scn_pctx *p, struct scn_step *st);
int scn_run_insert(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_remove(struct scn_pctx *p, struct scn_step *st);
int scn_run_remove(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_connect(struct scn_pctx *p, struct scn_step *st);
int scn_run_connect(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_disconnect(struct scn_pctx *p, struct scn_step *st);
int scn_run_disconnect(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_service(struct scn_pctx *p, struct scn_step *st);
int scn_run_service(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_policy(struct scn_pctx *p, struct scn_step *st);
int scn_run_policy(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_exec(struct scn_pctx *p, struct scn_step *st);
int scn_run_exec(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_certutil(struct scn_pctx *p, struct scn_step *st);
int scn_run_certutil(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_sweep(struct scn_pctx *p, struct scn_step *st);
int scn_run_sweep(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_run(struct scn_pctx *p, struct scn_step *st);
int scn_run_run(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_store(struct scn_pctx *p, struct scn_step *st);
int scn_check_store(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_event(struct scn_pctx *p, struct scn_step *st);
int scn_check_event(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_trace(struct scn_pctx *p, struct scn_step *st);
int scn_check_trace(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_log(struct scn_pctx *p, struct scn_step *st);
int scn_check_log(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_output(struct scn_pctx *p, struct scn_step *st);
int scn_check_output(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);
int scn_parse_status(struct scn_pctx *p, struct scn_step *st);
int scn_check_status(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o);

/* ---- runner services the steps use (scn_run.c) ---- */

/* Start exe (NULL = scardlab) with argv and extra env ("K=V", NULL-terminated);
 * stdout+stderr to out.  Returns the proc index or -1 (o says why). */
int scn_spawn(struct scn_rt *rt, const char *what, const char *const *argv,
              const char *const *env, const char *out, struct scn_out *o);
/* Run to completion (bounded by timeout_ms; killed past it).  The output is
 * kept as the runner's last output.  Returns the exit status, or -1. */
int scn_run_cmd(struct scn_rt *rt, const char *what, const char *const *argv,
                const char *const *env, int timeout_ms, struct scn_out *o);
/* Stop a proc by its pid: SIGTERM, wait up to 3 s, SIGKILL. */
void scn_stop(struct scn_rt *rt, int proc);
/* Reap without blocking; false once it has exited. */
bool scn_alive(struct scn_rt *rt, int proc);
/* Tail of a file for a failure message. */
void scn_say_tail(struct scn_out *o, const char *path, int lines);
/* Expand ${...} in s. */
int scn_expand(struct scn_rt *rt, const char *s, char *out, size_t cap, struct scn_out *o);
/* The PC/SC socket a user's PC/SC programs use on server s ("" when none). */
void scn_user_pcsc(struct scn_rt *rt, int s, int u, char *out, size_t cap);
/* The user's profile folder on server s. */
void scn_user_profile(struct scn_rt *rt, int s, int u, char *out, size_t cap);
/* Console servers: start/stop the certprop of every user; write policy file. */
int scn_console_start(struct scn_rt *rt, int s, struct scn_out *o);
void scn_console_stop(struct scn_rt *rt, int s);
int scn_write_policy(struct scn_rt *rt, int s, struct scn_out *o);
/* Mint (or, with rt->cards_dir, find) every declared card; their SHA-1s. */
int scn_setup_cards(struct scn_rt *rt, struct scn_out *o);
int scn_write_host_conf(struct scn_rt *rt, int s, struct scn_out *o);
int scn_host_start(struct scn_rt *rt, int s, struct scn_out *o);
void scn_sleep_ms(int ms);
bool scn_interrupted(void);

/* Parse each line of a JSON-lines text (a trace, certprop events) through
 * the cursor; fn gets every object and returns true when it keeps it (else
 * it is freed here).  Lines that are not JSON objects are skipped. */
struct cJSON;
void scn_json_lines(const struct scn_html_src *src, bool (*fn)(struct cJSON *, void *), void *ctx);

#endif
