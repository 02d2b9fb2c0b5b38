/*
 * host_main.c - main() of bin/scardlab-host, the session host executable
 * (`scardlab host` execs it; it links FreeRDP, the scardlab binary does not).
 * Option parsing only.
 */
#include "host_int.h"

#include <stdio.h>
#include <string.h>

static void host_usage(FILE *f)
{
    fprintf(f, "usage: scardlab host --config FILE\n"
               "\n"
               "Run the RDP session host (docs/session-host.md).  It listens where [host]\n"
               "listen= says (127.0.0.1:%d by default) and logs one line per session event\n"
               "on stderr.  SIGTERM/SIGINT close every session and exit; SIGHUP re-reads\n"
               "[policy] certprop_service.\n",
            HOST_DEFAULT_PORT);
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            host_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config = argv[++i];
            continue;
        }
        fprintf(stderr, "scardlab host: unexpected argument '%s'\n", argv[i]);
        host_usage(stderr);
        return 2;
    }
    if (!config) {
        fprintf(stderr, "scardlab host: --config FILE is required\n");
        host_usage(stderr);
        return 2;
    }
    static struct host_config cfg;
    struct scl_err e;
    if (host_config_load(config, &cfg, &e) || host_run(&cfg, &e)) {
        fprintf(stderr, "scardlab host: %s\n", e.msg);
        return 1;
    }
    return 0;
}
