/*
 * lab.h - the private PC/SC lab: a pcscd with vsmartcard's vpcd driver in its
 * own mount and network namespaces, and virtual cards inserted into its slots.
 *
 * Promises: the machine's own pcscd, its /run and its USB readers are never
 * touched; vpcd's port is reachable only inside the lab; every process the lab
 * starts is recorded by pid in the lab folder and stopped by that pid.
 * Does not know about PIV: a card is whatever `scardlab card-serve` runs.
 */
#ifndef SCL_LAB_H
#define SCL_LAB_H

#include "common.h"

#define SCN_LAB_SLOTS 2

/* Start the lab in dir (created 0700); returns once pcscd lists the reader. */
int scn_lab_up(const char *dir, struct scl_err *e);
/* Stop every process the lab started (cards, pcscd, namespace holder). */
int scn_lab_down(const char *dir, struct scl_err *e);
/* Path of the lab's pcscd socket, for PCSCLITE_CSOCK_NAME. */
int scn_lab_socket(const char *dir, char *out, size_t cap, struct scl_err *e);
/* Reader name of a slot as pcscd lists it ("scardlab 00 00"). */
int scn_lab_reader(const char *dir, int slot, char *out, size_t cap, struct scl_err *e);
/* Insert a card file into slot; returns once pcscd reports the card present. */
int scn_card_insert(const char *dir, int slot, const char *card_file, struct scl_err *e);
/* Pull the card; returns once pcscd reports the slot empty. */
int scn_card_remove(const char *dir, int slot, struct scl_err *e);

int scn_cmd_lab(int argc, char **argv);  /* scardlab lab up|down|env|status --dir D */
int scn_cmd_card(int argc, char **argv); /* scardlab card insert|remove --lab D ... */

#endif
