/*
 * fuzz_card_file.c - libFuzzer target for the card file parser: any bytes
 * must give SCL_OK or an error, never a crash, hang or leak.  A p256 PKI is
 * minted once so slot lines reach the key and certificate loaders.
 */
#include "vcard.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static char dir[] = "/tmp/scl-fuzz-card-file-XXXXXX";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void remove_dir(void)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (!mkdtemp(dir)) abort();
    atexit(remove_dir);
    /* card files in the corpus name 9a.crt, 9a.key, ... and ca/ca.key (RSA) */
    struct vc_mint_opts o = {.out_dir = dir, .holder = "Fuzz Holder", .alg = VC_ALG_P256};
    struct scl_err e;
    if (vc_pki_mint(&o, &e)) {
        fprintf(stderr, "fuzz_card_file: %s\n", e.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vc_card_spec spec;
    struct scl_err e;
    if (vc_card_file_parse("fuzz.conf", data, size, dir, &spec, &e) == SCL_OK)
        vc_card_spec_free(&spec);
    return 0;
}
