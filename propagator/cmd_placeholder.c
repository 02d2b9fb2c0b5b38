/* cmd_placeholder.c - placeholder until issue 3 lands; replaced, not kept. */
#include "propagator.h"
#include <stdio.h>
int cp_cmd_certutil(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "certutil: not built yet\n"); return 2; }
int cp_cmd_certprop(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "certprop: not built yet\n"); return 2; }
