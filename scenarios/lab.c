/*
 * lab.c - bring a private PC/SC lab up and down in a folder, and describe it.
 * The folder holds everything: reader.conf, the lab's /run, logs, pid files.
 * Not for namespaces (lab_ns.c), pid handling (lab_proc.c) or cards (lab_card.c).
 */
#include "lab_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *const lab_subdirs[] = {"run", "conf", "empty"};
static const char *const lab_pidfiles[] = {"slot0.pid", "slot1.pid", "pcscd.pid", "lab.pid"};

int scn_lab_socket(const char *dir, char *out, size_t cap, struct scl_err *e)
{
    char abs[4096];
    if (lab_abs_dir(dir, abs, sizeof abs, e) || lab_path(abs, "run/pcscd/pcscd.comm", out, cap, e))
        return e->code;
    struct sockaddr_un sun;
    if (strlen(out) >= sizeof sun.sun_path)
        return scl_errf(e, SCL_E_INVAL, "%s: longer than a unix socket path may be (%zu)", out,
                        sizeof sun.sun_path - 1);
    return SCL_OK;
}

int scn_lab_reader(const char *dir, int slot, char *out, size_t cap, struct scl_err *e)
{
    (void)dir; /* every lab names its readers alike: they live in separate pcscds */
    if (slot < 0 || slot >= SCN_LAB_SLOTS)
        return scl_errf(e, SCL_E_INVAL, "slot %d: the lab has slots 0 and 1", slot);
    int n = snprintf(out, cap, LAB_READER_NAME " 00 %02d", slot);
    if (n < 0 || (size_t)n >= cap) return scl_errf(e, SCL_E_INVAL, "reader name buffer too small");
    return SCL_OK;
}

static int write_text(const char *dir, const char *name, const char *text, struct scl_err *e)
{
    char path[4096];
    if (lab_path(dir, name, path, sizeof path, e)) return e->code;
    return scl_write_atomic(path, text, strlen(text), 0600, e);
}

/* One reader.conf entry = one vpcd instance with two slots; a second entry
 * would share the driver's global state. */
static int write_reader_conf(const char *dir, struct scl_err *e)
{
    char conf[512];
    snprintf(conf, sizeof conf,
             "# written by scardlab lab up; vpcd listens inside the lab's netns only\n"
             "FRIENDLYNAME \"%s\"\nDEVICENAME   /dev/null:%d\nLIBPATH      %s\nCHANNELID    %d\n",
             LAB_READER_NAME, LAB_VPCD_PORT, LAB_VPCD_DRIVER, LAB_VPCD_PORT);
    return write_text(dir, "conf/reader.conf", conf, e);
}

static int make_lab_dirs(const char *dir, char *abs, size_t cap, struct scl_err *e)
{
    if (scl_mkdirs(dir, 0700, e)) return e->code;
    if (chmod(dir, 0700)) return scl_errf(e, SCL_E_IO, "%s: chmod 0700: %s", dir, strerror(errno));
    if (lab_abs_dir(dir, abs, cap, e)) return e->code;
    for (size_t i = 0; i < sizeof lab_subdirs / sizeof lab_subdirs[0]; i++) {
        char sub[4096];
        if (lab_path(abs, lab_subdirs[i], sub, sizeof sub, e) || scl_mkdirs(sub, 0700, e))
            return e->code;
    }
    return SCL_OK;
}

/* Leftovers of a lab that died without `lab down`. */
static int clear_stale(const char *abs, struct scl_err *e)
{
    for (size_t i = 0; i < sizeof lab_pidfiles / sizeof lab_pidfiles[0]; i++)
        if (lab_pidfile_stop(abs, lab_pidfiles[i], LAB_STOP_GRACE_MS, e)) return e->code;
    static const char *const files[] = {"run/pcscd/pcscd.comm", "run/pcscd/pcscd.pid", "slot0.card",
                                        "slot1.card"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        if (lab_path(abs, files[i], path, sizeof path, e)) return e->code;
        unlink(path);
    }
    return SCL_OK;
}

struct up_opts {
    bool apdu_log;
};

static int lab_up(const char *dir, const struct up_opts *uo, struct scl_err *e)
{
    char abs[4096], sock[4096];
    if (make_lab_dirs(dir, abs, sizeof abs, e)) return e->code;
    struct lab_pid holder;
    if (lab_pidfile_alive(abs, "lab.pid", &holder))
        return scl_errf(e, SCL_E_STATE,
                        "%s: a lab is already running here (holder pid %ld); "
                        "run 'scardlab lab down --dir %s' first",
                        abs, (long)holder.pid, dir);
    if (clear_stale(abs, e) || scn_lab_socket(abs, sock, sizeof sock, e) ||
        write_reader_conf(abs, e) || write_text(abs, "pcscd.log", "", e) ||
        write_text(abs, "lab.log", "", e))
        return e->code;
    struct lab_ns_opts o = {.dir = abs, .apdu_log = uo->apdu_log};
    pid_t pid = lab_ns_start(&o, e);
    if (pid < 0) return e->code;
    char pidfile[4096];
    int rc = lab_path(abs, "lab.pid", pidfile, sizeof pidfile, e);
    if (!rc) rc = lab_pidfile_write(pidfile, pid, e);
    if (!rc) rc = lab_pcsc_use(abs, e);
    if (!rc) rc = lab_pcsc_wait_readers(LAB_UP_TIMEOUT_MS, pid, e);
    if (rc) {
        char tail[256], logs[4096];
        struct scl_err ignored;
        lab_path(abs, "pcscd.log", logs, sizeof logs, NULL);
        lab_log_tail(logs, tail, sizeof tail);
        if (!tail[0]) {
            lab_path(abs, "lab.log", logs, sizeof logs, NULL);
            lab_log_tail(logs, tail, sizeof tail);
        }
        lab_child_stop(pid, LAB_STOP_GRACE_MS); /* takes pcscd with it */
        scn_lab_down(abs, &ignored);
        return scl_err_wrap(e, "lab up %s (see %s: '%s')", abs, logs, tail);
    }
    return SCL_OK;
}

int scn_lab_up(const char *dir, struct scl_err *e)
{
    struct up_opts uo = {0};
    return lab_up(dir, &uo, e);
}

int scn_lab_up_opts(const char *dir, bool apdu_log, struct scl_err *e)
{
    struct up_opts uo = {.apdu_log = apdu_log};
    return lab_up(dir, &uo, e);
}

int scn_lab_down(const char *dir, struct scl_err *e)
{
    char abs[4096];
    int rc = lab_abs_dir(dir, abs, sizeof abs, e);
    if (rc == SCL_E_NOTFOUND) return SCL_OK; /* nothing was ever up here */
    if (rc) return rc;
    /* Cards first, so vpcd sees them leave; then pcscd; then its namespaces. */
    return clear_stale(abs, e);
}

static void print_slot(const char *abs, int slot, bool up)
{
    char name[16], reader[64], cardpath[4096];
    snprintf(name, sizeof name, "slot%d.pid", slot);
    scn_lab_reader(abs, slot, reader, sizeof reader, NULL);
    struct lab_pid p;
    bool alive = lab_pidfile_alive(abs, name, &p);
    snprintf(name, sizeof name, "slot%d.card", slot);
    lab_path(abs, name, cardpath, sizeof cardpath, NULL);
    char card[1024] = "";
    lab_log_tail(cardpath, card, sizeof card);
    struct scl_err e = {0};
    int present = up ? lab_pcsc_card_state(reader, &e) : 0;
    printf("slot %d: reader '%s': %s", slot, reader,
           !up           ? "-"
           : present < 0 ? e.msg
           : present     ? "card present"
                         : "empty");
    if (alive) printf("; card process %ld (%s)", (long)p.pid, card);
    printf("\n");
}

int scn_lab_status(const char *dir, struct scl_err *e)
{
    char abs[4096];
    if (lab_abs_dir(dir, abs, sizeof abs, e)) return e->code;
    struct lab_pid holder, pcscd;
    bool up = lab_pidfile_alive(abs, "lab.pid", &holder);
    bool pcscd_up = lab_pidfile_alive(abs, "pcscd.pid", &pcscd);
    if (!up) {
        printf("lab %s: down\n", abs);
        return SCL_E_STATE;
    }
    char sock[4096];
    if (scn_lab_socket(abs, sock, sizeof sock, e)) return e->code;
    printf("lab %s: up (holder pid %ld, pcscd %s%ld)\nsocket: %s\n", abs, (long)holder.pid,
           pcscd_up ? "pid " : "NOT RUNNING, last pid ", (long)pcscd.pid, sock);
    if (pcscd_up && lab_pcsc_use(abs, e)) return e->code;
    for (int slot = 0; slot < SCN_LAB_SLOTS; slot++)
        print_slot(abs, slot, pcscd_up);
    return pcscd_up ? SCL_OK : SCL_E_STATE;
}
