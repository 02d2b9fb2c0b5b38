/*
 * pcsock_cmd.h - the `scardlab pcsock-serve` verb (internal): a pcsock
 * endpoint backed by a lab's pcscd, for tests and measurements.
 */
#ifndef SCL_PCSOCK_CMD_H
#define SCL_PCSOCK_CMD_H

int pcsock_cmd_serve(int argc, char **argv);

#endif
