/*
 * cmd_certprop.c - `scardlab certprop`: options in, the service run, exit code out.
 * Not the service itself (certprop.c).
 */
#include "propagator.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void certprop_usage(FILE *f)
{
    fprintf(f, "usage: scardlab certprop --profile DIR [--machine DIR] [--policy FILE] [--json] "
               "[--once]\n"
               "\n"
               "Emulates the Windows Certificate Propagation Service on the PC/SC service that\n"
               "PCSCLITE_CSOCK_NAME names: each PIV card inserted into any reader has its\n"
               "certificates copied into DIR's My store with a key-provider property.\n"
               "\n"
               "  --profile DIR   user profile root (My store under AppData/Roaming/...)\n"
               "  --machine DIR   machine root for the SmartCardRoot store (root propagation)\n"
               "  --policy FILE   policy file, .reg subset (docs/policy-file.md)\n"
               "  --json          one JSON object per decision on stdout\n"
               "  --once          process the cards present now and exit\n"
               "\n"
               "SIGTERM/SIGINT stop it (exit 0); SIGHUP re-reads --policy.\n");
}

int cp_cmd_certprop(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"machine", required_argument, NULL, 'm'},
        {"policy", required_argument, NULL, 'P'},
        {"json", no_argument, NULL, 'j'},
        {"once", no_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cp_service_opts o = {0};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            o.profile = optarg;
            break;
        case 'm':
            o.machine = optarg;
            break;
        case 'P':
            o.policy_path = optarg;
            break;
        case 'j':
            o.json = true;
            break;
        case 'o':
            o.once = true;
            break;
        case 'h':
            certprop_usage(stdout);
            return 0;
        default:
            certprop_usage(stderr);
            return 2;
        }
    }
    if (!o.profile || optind != argc) {
        fprintf(stderr, "certprop: %s\n",
                !o.profile ? "--profile DIR is required" : "unexpected argument");
        certprop_usage(stderr);
        return 2;
    }
    struct scl_err e = {0};
    if (cp_service_run(&o, &e) != SCL_OK) {
        fprintf(stderr, "certprop: %s\n", e.msg);
        return 1;
    }
    return 0;
}
