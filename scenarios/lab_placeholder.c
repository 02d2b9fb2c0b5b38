/* lab_placeholder.c - placeholder until the lab lands; replaced, not kept. */
#include "lab.h"
#include <stdio.h>
int scn_cmd_lab(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "lab: not built yet\n"); return 2; }
int scn_cmd_card(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "card: not built yet\n"); return 2; }
