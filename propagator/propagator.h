/*
 * propagator.h - Windows-format certificate stores, the certutil-style tool
 * and the Certificate Propagation Service emulation.
 * (Interface grows with issue 3.)
 */
#ifndef SCL_PROPAGATOR_H
#define SCL_PROPAGATOR_H

#include "common.h"

int cp_cmd_certutil(int argc, char **argv);
int cp_cmd_certprop(int argc, char **argv);

#endif
