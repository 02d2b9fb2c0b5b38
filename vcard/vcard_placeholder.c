/* vcard_placeholder.c - placeholder until the card lands; replaced, not kept. */
#include "vcard.h"
#include <stdio.h>
int vc_cmd_pki(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pki: not built yet\n"); return 2; }
int vc_cmd_card_serve(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "card-serve: not built yet\n"); return 2; }
