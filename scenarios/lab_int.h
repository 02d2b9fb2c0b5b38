/*
 * lab_int.h - what the lab's own files share: paths inside a lab folder, pid
 * files, the namespace holder and the PC/SC waits.  Private to scenarios/lab*.c;
 * other components use lab.h.
 */
#ifndef SCL_LAB_INT_H
#define SCL_LAB_INT_H

#include "lab.h"

#include <sys/types.h>

/* vpcd listens on this port (slot 0) and the next (slot 1) inside the lab's
 * own network namespace, so every lab can use the same numbers. */
#define LAB_VPCD_PORT 35963
#define LAB_READER_NAME "scardlab"
#define LAB_CCID_BUNDLE "/usr/lib/pcsc/drivers/ifd-ccid.bundle"
#define LAB_VPCD_DRIVER "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
#define LAB_UP_TIMEOUT_MS 10000
#define LAB_CARD_TIMEOUT_MS 10000
#define LAB_STOP_GRACE_MS 3000

/* "dir/name" into out; error if it does not fit. */
int lab_path(const char *dir, const char *name, char *out, size_t cap, struct scl_err *e);
/* Absolute, resolved form of an existing lab dir. */
int lab_abs_dir(const char *dir, char *out, size_t cap, struct scl_err *e);

/* lab up with pcscd's APDU log (--apdu --debug) into pcscd.log. */
int scn_lab_up_opts(const char *dir, bool apdu_log, struct scl_err *e);
/* Print the lab's state; SCL_E_STATE when it is down. */
int scn_lab_status(const char *dir, struct scl_err *e);

/* ---- pid files: "PID STARTTIME\n"; the start time tells a recycled pid apart ---- */
struct lab_pid {
    pid_t pid;
    unsigned long long start; /* /proc/PID/stat field 22 */
};
int lab_pid_of(pid_t pid, struct lab_pid *out, struct scl_err *e);
int lab_pidfile_write(const char *path, pid_t pid, struct scl_err *e);
/* SCL_NOTFOUND when the file is absent. */
int lab_pidfile_read(const char *path, struct lab_pid *out, struct scl_err *e);
/* Still running (not a zombie) and still the process we recorded. */
bool lab_pid_alive(const struct lab_pid *p);
/* Read the pid file in dir; true if it names a live process of ours. */
bool lab_pidfile_alive(const char *dir, const char *name, struct lab_pid *out);
/* SIGTERM, wait up to grace_ms, SIGKILL; then remove the pid file.  A missing
 * file or a stale pid is not an error. */
int lab_pidfile_stop(const char *dir, const char *name, int grace_ms, struct scl_err *e);
/* Stop our own child (its pid file may not exist yet) and reap it. */
void lab_child_stop(pid_t pid, int grace_ms);
/* Last non-empty line of a log file, for error messages ("" if none). */
void lab_log_tail(const char *path, char *out, size_t cap);

/* ---- the namespace holder (lab_ns.c) ---- */
struct lab_ns_opts {
    const char *dir; /* absolute */
    bool apdu_log;   /* pcscd --apdu --debug */
};
/* Fork the holder; it unshares mount+net namespaces, mounts, raises lo and
 * runs pcscd.  Returns the holder's pid (our child) or -1. */
pid_t lab_ns_start(const struct lab_ns_opts *o, struct scl_err *e);
/* Move the calling process into the holder's network namespace. */
int lab_ns_join(pid_t holder, struct scl_err *e);

/* ---- PC/SC (lab_pcsc.c); one lab per process: libpcsclite reads the socket
 * name once ---- */
int lab_pcsc_use(const char *dir, struct scl_err *e);
/* Wait until pcscd lists every slot's reader; watch (if > 0) is our child
 * that must stay alive meanwhile. */
int lab_pcsc_wait_readers(int timeout_ms, pid_t watch, struct scl_err *e);
/* Wait until reader's card is present (and answered) or gone. */
int lab_pcsc_wait_card(const char *reader, bool present, int timeout_ms, pid_t watch,
                       struct scl_err *e);
/* Current state: 1 card present, 0 empty, -1 with *e on failure. */
int lab_pcsc_card_state(const char *reader, struct scl_err *e);

#endif
