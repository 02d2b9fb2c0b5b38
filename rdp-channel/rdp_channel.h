/*
 * rdp_channel.h - the client side of smart-card redirection over real RDP:
 * the .rdp file (mstsc's Default.rdp), the strict reader policy, the JSON-lines
 * trace, and `scardlab connect`, a headless FreeRDP 2 client whose smart-card
 * device is our plug-in (build/lib/scardlab-smartcard.so) wrapped around
 * FreeRDP's own.
 *
 * Promises: a .rdp file is read with a bound on its size and line length, in
 * UTF-16LE (with BOM, as mstsc writes it) or UTF-8, and anything that is not
 * `key:type:value` is refused with file:line; the reader policy decides for
 * every reader name and rewrites ListReaders returns through the MS-RDPESC
 * codec (rdpesc.h); the trace writes one JSON object per line.
 * Does not: speak rdpdr or PC/SC itself (FreeRDP does), or serve sessions.
 */
#ifndef SCL_RDP_CHANNEL_H
#define SCL_RDP_CHANNEL_H

#include "common.h"
#include "rdpesc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- .rdp files (rdpfile.c) ---------------------------------------------- */

#define RC_RDPFILE_MAX_BYTES (256u * 1024u) /* mstsc's files are a few KiB */
#define RC_RDPFILE_MAX_LINE 16384           /* bytes of UTF-8 in one line */
#define RC_RDPFILE_MAX_KEY 128

struct rc_rdp_entry {
    char *key;   /* as written; lookups ignore case, as FreeRDP's do */
    char type;   /* 'i', 's' or 'b' */
    char *value; /* UTF-8 */
    int line;
};

struct rc_rdpfile {
    struct rc_rdp_entry *entries;
    size_t count;
    bool utf16; /* the file was UTF-16LE with BOM */
};

/* Check and split a .rdp file held in memory; name is used in errors
 * ("Default.rdp:12: ..."). */
int rc_rdpfile_parse(const char *name, const uint8_t *buf, size_t len, struct rc_rdpfile *f,
                     struct scl_err *e);
/* Read path (at most RC_RDPFILE_MAX_BYTES) and parse it; raw and rawlen (if
 * non-NULL) get the bytes read, for FreeRDP's own parser. */
int rc_rdpfile_load(const char *path, struct rc_rdpfile *f, uint8_t **raw, size_t *rawlen,
                    struct scl_err *e);
void rc_rdpfile_free(struct rc_rdpfile *f);
/* The last entry for key (case-insensitive), or NULL. */
const struct rc_rdp_entry *rc_rdpfile_find(const struct rc_rdpfile *f, const char *key);
/* The integer value of an 'i' key, or def when absent. */
long rc_rdpfile_int(const struct rc_rdpfile *f, const char *key, long def);

/* mstsc's Default.rdp, line by line (docs/client.md lists it). */
extern const char *const rc_default_rdp_lines[];
/* PROFILE + "/Documents/Default.rdp". */
int rc_default_rdp_path(const char *profile, char *out, size_t cap, struct scl_err *e);
/* Create PROFILE/Documents/Default.rdp with mstsc's defaults (UTF-16LE, BOM,
 * CRLF) unless it exists; *created says which. */
int rc_default_rdp_ensure(const char *profile, char *path, size_t cap, bool *created,
                          struct scl_err *e);

/* ---- the strict reader policy (reader_policy.c) --------------------------- */

#define RC_POLICY_MAX 32
#define RC_PNP_READER "\\\\?PnP?\\Notification"

/* An empty allow list means no policy: every reader is allowed.  An entry
 * ending in '*' is a prefix; any other entry must equal the whole name. */
struct rc_policy {
    size_t count;
    char *allow[RC_POLICY_MAX];
};

int rc_policy_add(struct rc_policy *p, const char *entry, struct scl_err *e);
/* Entries separated by ';' (the form the env var and plug-in args use). */
int rc_policy_add_list(struct rc_policy *p, const char *list, struct scl_err *e);
void rc_policy_free(struct rc_policy *p);
bool rc_policy_active(const struct rc_policy *p);
/* The PnP pseudo-reader is always allowed; so is everything without a policy. */
bool rc_policy_allows(const struct rc_policy *p, const char *reader);

/* What the plug-in does with one call (decided before forwarding). */
enum rc_verdict {
    RC_FORWARD,        /* pass to FreeRDP's device unchanged */
    RC_FORWARD_EDITED, /* pass on the call in m, re-encoded (same length) */
    RC_ANSWER,         /* do not forward: answer with the return in *answer */
    RC_REFUSE,         /* do not forward: complete with STATUS_UNSUCCESSFUL, no body */
};

/* Decide on a decoded call.  For GetStatusChangeW the call in m may be edited
 * (denied readers get SCARD_STATE_IGNORE in dwCurrentState) and *answer may
 * be filled; *answer is zeroed first and must be freed with esc_msg_free.
 * known is false when the IOCTL is not in the codec's table (m is unused). */
enum rc_verdict rc_policy_judge_call(const struct rc_policy *p, bool known, struct esc_msg *m,
                                     struct esc_msg *answer, const char **why);
/* Rewrite a decoded return so it names no denied reader (ListReadersW
 * filtered; GetStatusChangeW entries whose call named a denied reader become
 * UNKNOWN|IGNORE).  call is the decoded call it answers (may be NULL).
 * Returns true if r changed. */
bool rc_policy_fix_return(const struct rc_policy *p, const struct esc_msg *call, struct esc_msg *r);

/* SCard codes and states the policy uses (winscard's values). */
#define RC_SCARD_S_SUCCESS 0x00000000
#define RC_SCARD_E_UNKNOWN_READER ((int32_t)0x80100009)
#define RC_SCARD_E_NO_READERS_AVAILABLE ((int32_t)0x8010002E)
#define RC_SCARD_STATE_IGNORE 0x0001
#define RC_SCARD_STATE_CHANGED 0x0002
#define RC_SCARD_STATE_UNKNOWN 0x0004

/* ---- trace (trace.c) -------------------------------------------------------- */

struct rc_trace;
/* Open path for appending (created 0600). */
int rc_trace_open(const char *path, struct rc_trace **t, struct scl_err *e);
void rc_trace_close(struct rc_trace *t);
/* One line for a call: {"time":..,"dir":"call","CompletionId":..,<codec fields>,
 * "policy":..}.  m may be NULL when decoding failed (err says why). */
void rc_trace_call(struct rc_trace *t, uint32_t completion_id, uint32_t ioctl,
                   const struct esc_msg *m, const char *decode_err, const char *policy);
/* One line for a return; IoStatus is the rdpdr completion status. */
void rc_trace_return(struct rc_trace *t, uint32_t completion_id, uint32_t ioctl, uint32_t io_status,
                     const struct esc_msg *m, const char *decode_err, const char *policy);
/* The line rc_trace_call would write, malloc'd, without newline (tests). */
char *rc_trace_line(const char *dir, uint32_t completion_id, uint32_t ioctl,
                    const uint32_t *io_status, const struct esc_msg *m, const char *decode_err,
                    const char *policy);

/* ---- the plug-in's configuration ---------------------------------------------
 * The client dlopens the plug-in and calls this before FreeRDP loads the
 * device, with args of the ADDIN_ARGV form {"trace:FILE", "allow:NAME", ...}.
 * Without it the plug-in reads SCARDLAB_SC_TRACE and SCARDLAB_SC_READER_ALLOW
 * (';'-separated).  Returns 0 or a Win32 error code. */
#define RC_PLUGIN_CONFIGURE "scardlab_smartcard_configure"
typedef unsigned int (*rc_plugin_configure_fn)(int argc, char **argv);
/* The client's rdpdr sender: sends one whole PDU on the rdpdr channel from
 * the calling thread.  1 sent, 0 not now (not connected: use FreeRDP's
 * queue), -1 the write failed.  With pdu NULL it only says whether it
 * would send now (1) or not (0). */
typedef int (*rc_rdpdr_send_fn)(const uint8_t *pdu, size_t n);
/* The client lends the plug-in that sender (optional): the completions the
 * plug-in makes itself then go out from rdpdr's thread instead of waking
 * FreeRDP's main thread to send them. */
#define RC_PLUGIN_LEND_SENDER "scardlab_smartcard_lend_sender"
typedef void (*rc_plugin_lend_sender_fn)(rc_rdpdr_send_fn send);
/* rdpdr channel data as the client's main thread receives it, before it is
 * queued for rdpdr's thread: the first chunk of each PDU, whole when it is
 * the PDU.  Returns 1 when the plug-in answered the PDU there (a plain
 * Transmit; the PDU is consumed), 0 to pass it on. */
#define RC_PLUGIN_CHANNEL_DATA "scardlab_smartcard_channel_data"
typedef int (*rc_plugin_channel_data_fn)(const uint8_t *data, size_t len, int whole);
#define RC_PLUGIN_FILE "scardlab-smartcard.so"
#define RC_PLUGIN_ENV "SCARDLAB_SMARTCARD_PLUGIN"

/* ---- the command (cmd_connect.c) ----------------------------------------------- */

/* Exit codes of `scardlab connect`. */
enum rc_exit {
    RC_EXIT_OK = 0,      /* disconnected: signal or the server ended the session */
    RC_EXIT_CONNECT = 1, /* could not connect (network, TLS, credentials) */
    RC_EXIT_USAGE = 2,   /* bad arguments */
    RC_EXIT_RDPFILE = 3, /* the .rdp file is unreadable or malformed */
    RC_EXIT_CERT = 4,    /* the server's certificate was not accepted */
    RC_EXIT_PLUGIN = 5,  /* the smart-card plug-in could not be loaded */
    RC_EXIT_LOST = 6,    /* the connection broke after it was established */
};

#define RC_MAX_OVERRIDES 64

/* What `scardlab connect` was told (cmd_connect.c fills it, client.c runs it). */
struct rc_connect_opts {
    const char *rdp_file;     /* NULL: PROFILE/Documents/Default.rdp */
    const char *profile;      /* NULL: $HOME */
    const char *password_env; /* name of the env var holding the password */
    const char *trace;        /* JSON-lines trace for the plug-in */
    bool trace_toggle;        /* SIGUSR1 pauses/resumes the trace (benchmarks) */
    bool freerdp_transmit;    /* every Transmit through FreeRDP's device threads */
    struct rc_policy policy;  /* --reader-allow */
    int n_overrides;          /* FreeRDP-style arguments, applied after the file */
    char *overrides[RC_MAX_OVERRIDES];
};

/* Split argv (after "connect") into opts; SCL_E_INVAL with a message on misuse. */
int rc_connect_parse_args(int argc, char **argv, struct rc_connect_opts *o, struct scl_err *e);
/* Build FreeRDP settings the way the client does: the checked .rdp bytes
 * through freerdp_client_parse_rdp_file_buffer + populate, then the
 * overrides, the password, and 'authentication level:i:0' as /cert:ignore.
 * Messages in *e; SCL_E_FORMAT for the file, SCL_E_INVAL for overrides. */
struct rdp_settings;
int rc_client_apply_settings(struct rdp_settings *settings, const struct rc_connect_opts *o,
                             const char *rdp_path, const struct rc_rdpfile *f, const uint8_t *raw,
                             size_t rawlen, struct scl_err *e);
/* Will FreeRDP load a smart-card device with these settings? */
bool rc_client_redirects_smartcards(struct rdp_settings *settings);

/* Run the client until a signal or the server ends the session; an rc_exit. */
int rc_client_run(struct rc_connect_opts *o);

/* scardlab connect [FILE.rdp] [options]: checks the arguments, then execs
 * RC_CLIENT_FILE from scardlab's own directory (FreeRDP stays out of the
 * scardlab binary, whose PC/SC calls must bind to libpcsclite, not WinPR). */
int rc_cmd_connect(int argc, char **argv);
#define RC_CLIENT_FILE "scardlab-connect"

#endif
