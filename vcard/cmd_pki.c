/*
 * cmd_pki.c - the `scardlab pki` command: options in, vc_pki_mint, a short
 * summary out.  Not for minting itself (pki_mint.c) or card-file parsing.
 */
#include "vcard.h"

#include <getopt.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char pki_usage[] =
    "usage: scardlab pki mint --out DIR --holder \"Firstname Lastname\" [options]\n"
    "\n"
    "Mint a test PKI: a root CA (unless --ca), one key and certificate per PIV\n"
    "slot, and DIR/card.conf naming them (see docs/card-file.md).\n"
    "\n"
    "  --out DIR          where card.conf, <slot>.crt and <slot>.key go (made 0700)\n"
    "  --holder NAME      certificate subject CN and card holder\n"
    "  --upn ADDR         add UPN (otherName) and e-mail SANs, e.g. alice@contoso.test\n"
    "  --serial HEX       serial of the first slot, e.g. \"05 05 1c 00 22 7f 3c dd fa 98\";\n"
    "                     later slots get the same number +1, +2, +3 (default: random)\n"
    "  --slots LIST       PIV slots, comma separated (default 9a,9c,9d,9e)\n"
    "  --key ALG          rsa2048 (default), rsa3072, p256, p384\n"
    "  --ca DIR           issue under DIR/ca.crt + DIR/ca.key instead of minting OUT/ca\n"
    "  --pin N            card PIN, 6-8 digits (default 123456)\n"
    "  --puk N            card PUK, 8 digits (default 12345678)\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "scardlab pki: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'scardlab pki mint --help')\n");
    return 2;
}

/* "9a,9c" -> bit set of enum vc_slot_id; 0 on a bad list. */
static unsigned parse_slot_list(const char *s)
{
    struct cur c;
    cur_init(&c, s, strlen(s));
    unsigned set = 0;
    for (;;) {
        char word[8];
        size_t n = 0;
        bool comma = false;
        while (cur_left(&c)) {
            char ch = (char)cur_u8(&c);
            if ((comma = ch == ',')) break;
            if (n + 1 >= sizeof word) return 0;
            word[n++] = ch;
        }
        word[n] = 0;
        int id = vc_slot_parse(word);
        if (id < 0 || set & 1u << id) return 0;
        set |= 1u << id;
        if (!comma) return set;
    }
}

static void print_serial(const struct vc_slot *s)
{
    const unsigned char *p = s->cert_der;
    X509 *x = d2i_X509(NULL, &p, (long)s->cert_len);
    const ASN1_INTEGER *sn = x ? X509_get0_serialNumber(x) : NULL;
    for (int i = 0; sn && i < ASN1_STRING_length(sn); i++)
        printf("%s%02x", i ? " " : "", ASN1_STRING_get0_data(sn)[i]);
    X509_free(x);
}

static int print_summary(const struct vc_mint_opts *o)
{
    char path[4096];
    struct vc_card_spec spec;
    struct scl_err e = {0};
    snprintf(path, sizeof path, "%s/card.conf", o->out_dir);
    if (vc_card_file_load(path, &spec, &e)) {
        fprintf(stderr, "scardlab pki: %s\n", e.msg);
        return 1;
    }
    printf("card file: %s\nholder:    %s\n", path, spec.holder);
    for (int i = 0; i < VC_NSLOTS; i++) {
        if (!spec.slots[i].present) continue;
        printf("slot %s:   %s, serial ", vc_slot_name((enum vc_slot_id)i),
               vc_alg_name(spec.slots[i].alg));
        print_serial(&spec.slots[i]);
        printf("\n");
    }
    if (o->ca_dir)
        printf("CA:        %s (reused)\n", o->ca_dir);
    else
        printf("CA:        %s/ca (minted: ca.crt, ca.key)\n", o->out_dir);
    vc_card_spec_free(&spec);
    return 0;
}

enum { OPT_OUT = 1, OPT_HOLDER, OPT_UPN, OPT_SERIAL, OPT_SLOTS, OPT_KEY, OPT_CA, OPT_PIN, OPT_PUK };

static int cmd_mint(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, OPT_OUT},
        {"holder", required_argument, NULL, OPT_HOLDER},
        {"upn", required_argument, NULL, OPT_UPN},
        {"serial", required_argument, NULL, OPT_SERIAL},
        {"slots", required_argument, NULL, OPT_SLOTS},
        {"key", required_argument, NULL, OPT_KEY},
        {"ca", required_argument, NULL, OPT_CA},
        {"pin", required_argument, NULL, OPT_PIN},
        {"puk", required_argument, NULL, OPT_PUK},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct vc_mint_opts o = {0};
    int opt, alg;
    optind = 0; /* GNU: full re-initialisation, so tests may call us twice */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(pki_usage, stdout);
            return 0;
        case OPT_OUT:
            o.out_dir = optarg;
            break;
        case OPT_HOLDER:
            o.holder = optarg;
            break;
        case OPT_UPN:
            o.upn = optarg;
            break;
        case OPT_SERIAL:
            o.serial_hex = optarg;
            break;
        case OPT_CA:
            o.ca_dir = optarg;
            break;
        case OPT_PIN:
            o.pin = optarg;
            break;
        case OPT_PUK:
            o.puk = optarg;
            break;
        case OPT_SLOTS:
            if (!(o.slots = parse_slot_list(optarg)))
                return usage_error("bad --slots '%s' (expected a list like 9a,9c,9d,9e)", optarg);
            break;
        case OPT_KEY:
            if ((alg = vc_alg_parse(optarg)) < 0)
                return usage_error("unknown --key '%s' (expected rsa2048, rsa3072, p256, p384)",
                                   optarg);
            o.alg = (enum vc_alg)alg;
            break;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return usage_error("unexpected argument '%s'", argv[optind]);
    if (!o.out_dir || !o.holder)
        return usage_error("%s is required", !o.out_dir ? "--out DIR" : "--holder NAME");
    struct scl_err e = {0};
    if (vc_pki_mint(&o, &e)) {
        fprintf(stderr, "scardlab pki: %s\n", e.msg);
        return e.code == SCL_E_INVAL ? 2 : 1;
    }
    return print_summary(&o);
}

/* Subcommands of `scardlab pki`; the name is what users type. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} pki_cmds[] = {
    {"mint", cmd_mint},
};

int vc_cmd_pki(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(pki_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof pki_cmds / sizeof pki_cmds[0]; i++)
        if (!strcmp(argv[1], pki_cmds[i].name)) return pki_cmds[i].run(argc - 1, argv + 1);
    return usage_error("unknown subcommand '%s' (expected mint)", argv[1]);
}
