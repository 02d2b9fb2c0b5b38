/*
 * fuzz_card.h - the card the card-side fuzz targets play their inputs into:
 * keys minted once per process, a fresh card per input that only takes
 * references to them.  Not a card-file path: the spec is built in memory.
 */
#ifndef SCL_FUZZ_CARD_H
#define SCL_FUZZ_CARD_H

#include "vcard.h"

/* Mint one key per slot whose algs[] entry is not VC_ALG_NONE (once). */
void fuzz_card_keys(const enum vc_alg algs[VC_NSLOTS]);
/* A fresh card with those keys, PIN 123456 and PUK 12345678 (3 tries
 * each) and a fake certificate of cert_len - slot * shrink bytes per slot
 * (at most 1200).  Aborts on failure: a harness has no way to go on. */
struct vc_card *fuzz_card_new(size_t cert_len, size_t shrink);

#endif
