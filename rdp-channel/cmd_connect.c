/*
 * cmd_connect.c - `scardlab connect`: its arguments and help text, and the
 * hand-over to bin/scardlab-connect.  Not for the RDP connection itself
 * (client.c): FreeRDP's WinPR exports SCard* names that would capture
 * scardlab's own PC/SC calls, so FreeRDP lives in its own executable.
 */
#include "rdp_channel.h"

#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>

static const char connect_usage[] =
    "usage: scardlab connect [FILE.rdp] [--profile DIR] [--password-env VAR]\n"
    "                        [--trace FILE [--trace-toggle]] [--reader-allow NAME]...\n"
    "                        [--freerdp-transmit]\n"
    "                        [FreeRDP options: /v:HOST:PORT /u:USER\n"
    "                        /smartcard /cert:ignore ...]\n"
    "\n"
    "A headless RDP client that behaves like mstsc: without FILE.rdp it uses\n"
    "DIR/Documents/Default.rdp (DIR defaults to $HOME), creating it with mstsc's\n"
    "defaults (redirectsmartcards:i:1) when missing.  FreeRDP options given here\n"
    "override the file.  The password comes only from the variable named by\n"
    "--password-env.  The server's certificate is accepted unverified only with\n"
    "/cert:ignore or 'authentication level:i:0'.  Smart cards are redirected\n"
    "through the scardlab-smartcard plug-in; --trace writes every smart-card call\n"
    "and return as JSON lines (with --trace-toggle, each SIGUSR1 pauses or\n"
    "resumes it, so one session can be measured with and without it);\n"
    "--reader-allow (repeatable, NAME or PREFIX*) hides\n"
    "every other reader from the session.  The plug-in makes a plain Transmit\n"
    "itself; --freerdp-transmit leaves every one to FreeRDP's device threads, as\n"
    "stock FreeRDP does.  Runs until SIGTERM/SIGINT or until the\n"
    "server ends the session.\n"
    "\n"
    "exit: 0 disconnected, 1 connection failed, 2 usage, 3 bad .rdp file,\n"
    "      4 certificate refused, 5 plug-in not loadable, 6 connection lost\n";

static bool is_rdp_file(const char *a)
{
    size_t n = strlen(a);
    return n > 4 && !strcasecmp(a + n - 4, ".rdp") && !strchr(a, ':');
}

static bool is_freerdp_option(const char *a)
{
    return (a[0] == '/' || a[0] == '+' || (a[0] == '-' && a[1] != '-')) && a[1];
}

int rc_connect_parse_args(int argc, char **argv, struct rc_connect_opts *o, struct scl_err *e)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--trace-toggle")) {
            o->trace_toggle = true;
            continue;
        }
        if (!strcmp(a, "--freerdp-transmit")) {
            o->freerdp_transmit = true;
            continue;
        }
        if (!strcmp(a, "--profile"))
            slot = &o->profile;
        else if (!strcmp(a, "--password-env"))
            slot = &o->password_env;
        else if (!strcmp(a, "--trace"))
            slot = &o->trace;
        if (slot || !strcmp(a, "--reader-allow")) {
            if (i + 1 >= argc) return scl_errf(e, SCL_E_INVAL, "%s needs a value", a);
            const char *v = argv[++i];
            if (slot)
                *slot = v;
            else if (rc_policy_add(&o->policy, v, e))
                return SCL_E_INVAL;
        } else if (is_rdp_file(a)) {
            if (o->rdp_file)
                return scl_errf(e, SCL_E_INVAL, "two .rdp files: '%s' and '%s'", o->rdp_file, a);
            o->rdp_file = a;
        } else if (is_freerdp_option(a)) {
            if (!strncasecmp(a, "/p:", 3) || !strncasecmp(a, "/password:", 10))
                return scl_errf(e, SCL_E_INVAL,
                                "no passwords on the command line: use --password-env VAR");
            if (o->n_overrides >= RC_MAX_OVERRIDES)
                return scl_errf(e, SCL_E_INVAL, "more than %d FreeRDP options", RC_MAX_OVERRIDES);
            o->overrides[o->n_overrides++] = argv[i];
        } else {
            return scl_errf(e, SCL_E_INVAL, "unexpected argument '%s' (a file must end in .rdp)",
                            a);
        }
    }
    if (o->trace_toggle && !o->trace)
        return scl_errf(e, SCL_E_INVAL, "--trace-toggle needs --trace FILE");
    return SCL_OK;
}

int rc_cmd_connect(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(connect_usage, stdout);
            return RC_EXIT_OK;
        }
    struct rc_connect_opts o;
    struct scl_err e = {0};
    if (rc_connect_parse_args(argc, argv, &o, &e)) {
        fprintf(stderr, "scardlab connect: %s\n%s", e.msg, connect_usage);
        rc_policy_free(&o.policy);
        return RC_EXIT_USAGE;
    }
    rc_policy_free(&o.policy);
    char exe[PATH_MAX], client[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "scardlab connect: cannot find our own binary\n");
        return RC_EXIT_CONNECT;
    }
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    snprintf(client, sizeof client, "%s/%s", exe, RC_CLIENT_FILE);
    argv[0] = client;
    execv(client, argv);
    fprintf(stderr, "scardlab connect: %s: %m\n", client);
    return RC_EXIT_CONNECT;
}
