/*
 * scn_steps_cards.c - the card steps: insert a declared card into a client's
 * lab reader, pull it out.  Drives `scardlab card insert|remove`; knows
 * nothing of PIV (the card process does) nor of what the insertion causes.
 */
#include "lab.h"
#include "scn_int.h"

#include <stdio.h>
#include <string.h>

#define CARD_CMD_TIMEOUT_MS 30000

/* insert CARD into CLIENT [slot 0|1] */
int scn_parse_insert(struct scn_pctx *p, struct scn_step *st)
{
    if ((st->card = scn_card_ref(p)) < 0 || scn_keyword(p, "into") ||
        (st->client = scn_client_ref(p)) < 0)
        return SCL_E_FORMAT;
    st->slot = 0;
    if (scn_accept(p, "slot") && scn_int_tok(p, "a slot number, 0 or 1", 0, SCN_LAB_SLOTS - 1, &st->slot))
        return SCL_E_FORMAT;
    return SCL_OK;
}

int scn_run_insert(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    const struct scenario *sc = rt->sc;
    struct scn_rt_card *cd = &rt->cards[st->card];
    if (cd->client >= 0) {
        scn_say(o, "card %s is already in client %s slot %d", sc->cards[st->card].name,
                sc->clients[cd->client].name, cd->slot);
        return SCN_FAIL;
    }
    for (int i = 0; i < sc->ncards; i++)
        if (rt->cards[i].client == st->client && rt->cards[i].slot == st->slot) {
            scn_say(o, "client %s slot %d already holds card %s", sc->clients[st->client].name, st->slot,
                    sc->cards[i].name);
            return SCN_FAIL;
        }
    char slot[8];
    snprintf(slot, sizeof slot, "%d", st->slot);
    const char *argv[] = {rt->exe, "card", "insert", "--lab", rt->clients[st->client].lab, "--slot", slot,
                          cd->conf, NULL};
    int rc = scn_run_cmd(rt, "card-insert", argv, NULL, CARD_CMD_TIMEOUT_MS, o);
    if (rc != 0) {
        scn_say(o, "scardlab card insert failed (exit %d): %s", rc, rt->output ? rt->output : "");
        return SCN_FAIL;
    }
    cd->client = st->client;
    cd->slot = st->slot;
    scn_say(o, "card %s (%d certificates) is in reader 'scardlab 00 %02d' of %s",
            sc->cards[st->card].name, cd->ncerts, st->slot, sc->clients[st->client].name);
    return SCN_PASS;
}

/* remove CARD from CLIENT */
int scn_parse_remove(struct scn_pctx *p, struct scn_step *st)
{
    if ((st->card = scn_card_ref(p)) < 0 || scn_keyword(p, "from") ||
        (st->client = scn_client_ref(p)) < 0)
        return SCL_E_FORMAT;
    return SCL_OK;
}

int scn_run_remove(struct scn_rt *rt, const struct scn_step *st, struct scn_out *o)
{
    const struct scenario *sc = rt->sc;
    struct scn_rt_card *cd = &rt->cards[st->card];
    if (cd->client != st->client) {
        scn_say(o, "card %s is not in client %s", sc->cards[st->card].name, sc->clients[st->client].name);
        return SCN_FAIL;
    }
    char slot[8];
    snprintf(slot, sizeof slot, "%d", cd->slot);
    const char *argv[] = {rt->exe, "card", "remove", "--lab", rt->clients[st->client].lab, "--slot", slot, NULL};
    int rc = scn_run_cmd(rt, "card-remove", argv, NULL, CARD_CMD_TIMEOUT_MS, o);
    if (rc != 0) {
        scn_say(o, "scardlab card remove failed (exit %d): %s", rc, rt->output ? rt->output : "");
        return SCN_FAIL;
    }
    scn_say(o, "reader 'scardlab 00 %02d' of %s is empty", cd->slot, sc->clients[st->client].name);
    cd->client = cd->slot = -1;
    return SCN_PASS;
}
