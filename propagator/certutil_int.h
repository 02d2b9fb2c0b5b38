/*
 * certutil_int.h - private to certutil.c and cmd_certutil.c: the printing
 * context and the certificate/claim printers the verbs share.
 */
#ifndef SCL_CERTUTIL_INT_H
#define SCL_CERTUTIL_INT_H

#include "propagator.h"

/* The cards present on the lab's PC/SC, read once per command. */
struct cu_cards {
    bool loaded;    /* tried already */
    bool available; /* PC/SC answered */
    char reason[400];
    struct cp_card *cards;
    size_t n;
};

struct cu_ctx {
    FILE *out, *err;
    bool verbose;
    struct cu_cards cards;
};

/* certutil's time layout: "11/26/2026 11:07 PM", local time. */
void cu_format_time(time_t t, char *out, size_t cap);
/* The block certutil prints for one certificate (-store). */
void cu_print_cert(struct cu_ctx *cx, const struct cs_element *el, size_t index);
/* Serial and subject (what -delstore says it deleted). */
void cu_print_cert_brief(struct cu_ctx *cx, const struct cs_element *el, size_t index);
/* The two private-key facts: claimed (KEY_PROV_INFO present) and reachable
 * (a present card holds that container with this public key).  Returns
 * true when a claim is stale (claimed, and PC/SC says no such card). */
bool cu_print_key_facts(struct cu_ctx *cx, const struct cs_element *el);
void cu_cards_release(struct cu_cards *cc);

#endif
