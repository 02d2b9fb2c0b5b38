/*
 * fuzz_scenario.c - arbitrary bytes as a scenario file: the parser must
 * return a scenario or an error starting "fuzz.scn:LINE:COL:", never crash,
 * hang or leak.  Not a test of what a scenario does (nothing is run).
 */
#include "scenario.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scenario *sc = NULL;
    struct scl_err e = {0};
    int rc = scn_parse("fuzz.scn", "/nonexistent", data, size, &sc, &e);
    if (rc != SCL_OK) {
        if (strncmp(e.msg, "fuzz.scn:", 9) != 0 || sc) abort();
        return 0;
    }
    /* a parsed scenario is internally consistent */
    if (!sc || !sc->title[0] || sc->nsteps < 1 || sc->nsteps > SCN_MAX_STEPS) abort();
    for (int i = 0; i < sc->nsteps; i++) {
        const struct scn_step *st = &sc->steps[i];
        if (!st->def || st->card >= sc->ncards || st->client >= sc->nclients || st->server >= sc->nservers) abort();
        if (st->wait && (st->timeout_ms < 1 || st->timeout_ms > SCN_MAX_TIMEOUT_MS)) abort();
    }
    scn_free(sc);
    return 0;
}
