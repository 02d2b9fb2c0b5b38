/*
 * lab_card.c - insert a card into a lab slot (a `scardlab card-serve` process
 * inside the lab's network namespace) and pull it again, each time waiting
 * until pcscd agrees.  Not for what the card says: that is vcard's business.
 */
#include "lab_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int running_holder(const char *abs, struct lab_pid *holder, struct scl_err *e)
{
    if (!lab_pidfile_alive(abs, "lab.pid", holder))
        return scl_errf(e, SCL_E_STATE, "%s: no lab is running here (scardlab lab up --dir %s)",
                        abs, abs);
    return SCL_OK;
}

static int slot_file(const char *abs, int slot, const char *ext, char *out, size_t cap,
                     struct scl_err *e)
{
    char name[32];
    snprintf(name, sizeof name, "slot%d.%s", slot, ext);
    return lab_path(abs, name, out, cap, e);
}

/* The child: join the lab's network, log to slotN.log, become card-serve. */
static void exec_card_serve(const char *abs, int slot, pid_t holder, const char *self,
                            const char *card)
{
    char log[4096], port[16];
    struct scl_err e = {0};
    setsid();
    if (slot_file(abs, slot, "log", log, sizeof log, NULL)) _exit(126);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    close_range(3, ~0U, 0);
    if (lab_ns_join(holder, &e)) {
        fprintf(stderr, "card insert: %s\n", e.msg);
        _exit(125);
    }
    snprintf(port, sizeof port, "%d", LAB_VPCD_PORT + slot);
    char *argv[] = {"scardlab", "card-serve", "--port", port, (char *)card, NULL};
    execv(self, argv);
    fprintf(stderr, "card insert: exec %s: %s\n", self, strerror(errno));
    _exit(127);
}

static int record_card(const char *abs, int slot, pid_t pid, const char *card, struct scl_err *e)
{
    char path[4096];
    if (slot_file(abs, slot, "pid", path, sizeof path, e) || lab_pidfile_write(path, pid, e))
        return e->code;
    if (slot_file(abs, slot, "card", path, sizeof path, e)) return e->code;
    char line[PATH_MAX + 2];
    int n = snprintf(line, sizeof line, "%s\n", card);
    return scl_write_atomic(path, line, (size_t)n, 0600, e);
}

static int insert_failed(const char *abs, int slot, pid_t pid, struct scl_err *e)
{
    char log[4096], tail[300], name[16];
    lab_child_stop(pid, LAB_STOP_GRACE_MS);
    snprintf(name, sizeof name, "slot%d.pid", slot);
    lab_pidfile_stop(abs, name, LAB_STOP_GRACE_MS, NULL);
    slot_file(abs, slot, "log", log, sizeof log, NULL);
    lab_log_tail(log, tail, sizeof tail);
    return scl_err_wrap(e, "card insert into slot %d failed; %s says: '%s'", slot, log, tail);
}

int scn_card_insert(const char *dir, int slot, const char *card_file, struct scl_err *e)
{
    char abs[4096], card[PATH_MAX], self[PATH_MAX], reader[64], name[16];
    struct lab_pid holder, occupant;
    if (lab_abs_dir(dir, abs, sizeof abs, e) || running_holder(abs, &holder, e) ||
        scn_lab_reader(abs, slot, reader, sizeof reader, e))
        return e->code;
    snprintf(name, sizeof name, "slot%d.pid", slot);
    if (lab_pidfile_alive(abs, name, &occupant))
        return scl_errf(e, SCL_E_STATE,
                        "slot %d already holds a card (process %ld); remove it first with "
                        "'scardlab card remove --lab %s --slot %d'",
                        slot, (long)occupant.pid, dir, slot);
    if (!realpath(card_file, card))
        return scl_errf(e, SCL_E_NOTFOUND, "card file %s: %s", card_file, strerror(errno));
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return scl_errf(e, SCL_E_IO, "/proc/self/exe: %s", strerror(errno));
    self[n] = 0;
    if (lab_pcsc_use(abs, e)) return e->code;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return scl_errf(e, SCL_E_IO, "card insert: fork: %s", strerror(errno));
    if (pid == 0) exec_card_serve(abs, slot, holder.pid, self, card);
    if (record_card(abs, slot, pid, card, e) ||
        lab_pcsc_wait_card(reader, true, LAB_CARD_TIMEOUT_MS, pid, e))
        return insert_failed(abs, slot, pid, e);
    return SCL_OK;
}

int scn_card_remove(const char *dir, int slot, struct scl_err *e)
{
    char abs[4096], reader[64], name[16], path[4096];
    struct lab_pid holder, card;
    if (lab_abs_dir(dir, abs, sizeof abs, e) || scn_lab_reader(abs, slot, reader, sizeof reader, e))
        return e->code;
    snprintf(name, sizeof name, "slot%d.pid", slot);
    if (!lab_pidfile_alive(abs, name, &card)) {
        lab_pidfile_stop(abs, name, 0, NULL); /* drop a stale file */
        return scl_errf(e, SCL_E_STATE, "slot %d of %s holds no card", slot, abs);
    }
    if (lab_pidfile_stop(abs, name, LAB_STOP_GRACE_MS, e)) return e->code;
    if (slot_file(abs, slot, "card", path, sizeof path, e)) return e->code;
    unlink(path);
    /* With the lab gone there is no reader left to ask. */
    if (running_holder(abs, &holder, NULL)) return SCL_OK;
    if (lab_pcsc_use(abs, e) || lab_pcsc_wait_card(reader, false, LAB_CARD_TIMEOUT_MS, 0, e))
        return e->code;
    return SCL_OK;
}
