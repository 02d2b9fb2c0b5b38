/*
 * scardlab.c - the one user-facing command.  It only dispatches: every verb
 * lives in its component, named in the table below.
 */
#include "common.h"
#include "lab.h"
#include "pcsock_cmd.h"
#include "propagator.h"
#include "rdp_channel.h"
#include "scenario.h"
#include "session.h"
#include "vcard.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"pki", vc_cmd_pki, "mint a test CA, user certificates and a card file"},
    {"lab", scn_cmd_lab, "start, stop or describe a private PC/SC lab"},
    {"card", scn_cmd_card, "insert a card into a lab reader, or remove it"},
    {"card-serve", vc_cmd_card_serve, "(internal) run a card on a vpcd socket"},
    {"certutil", cp_cmd_certutil, "inspect and delete certificates in a profile's stores"},
    {"certprop", cp_cmd_certprop, "run the Certificate Propagation Service emulation"},
    {"sweep", sw_cmd_sweep, "find and remove propagated or foreign certificates across profiles"},
    {"pcsock-serve", pcsock_cmd_serve, "(internal) serve a PC/SC socket backed by a lab"},
    {"connect", rc_cmd_connect, "connect to an RDP host like mstsc, redirecting smart cards"},
    {"host", host_cmd_host, "run the RDP session host that redirects smart cards into sessions"},
    {"session", host_cmd_session, "run a command inside a user's current session (PC/SC, profile)"},
    {"run", scn_cmd_run, "play scenario files against real components; exit 0 only if all held"},
    {"matrix", scn_cmd_matrix, "run the four-condition truth table (16 rows + 2 policies)"},
    {"replay", scn_cmd_replay, "put a card that answers a recorded run's APDUs into a lab slot"},
    {"demo", scn_cmd_demo, "tell the incident over real RDP for a classroom, ending at the HTML report"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: scardlab <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].summary[0] != '(')
            fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'scardlab <command> --help' describes one command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "scardlab: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
