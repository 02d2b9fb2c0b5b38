/*
 * client_main.c - main() of bin/scardlab-connect, the executable `scardlab
 * connect` hands over to.  Not for anything but parsing and running.
 */
#include "rdp_channel.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct rc_connect_opts o;
    struct scl_err e = {0};
    if (rc_connect_parse_args(argc, argv, &o, &e)) {
        fprintf(stderr, "scardlab connect: %s (see 'scardlab connect --help')\n", e.msg);
        rc_policy_free(&o.policy);
        return RC_EXIT_USAGE;
    }
    int rc = rc_client_run(&o);
    rc_policy_free(&o.policy);
    return rc;
}
