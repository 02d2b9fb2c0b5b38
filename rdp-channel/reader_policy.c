/*
 * reader_policy.c - the strict reader policy: which reader names the session
 * may see, and what each smart-card call that names a reader becomes.
 * Not for moving bytes: the plug-in (plugin.c) decodes, forwards and answers.
 */
#include "rdp_channel.h"

#include <stdlib.h>
#include <string.h>

int rc_policy_add(struct rc_policy *p, const char *entry, struct scl_err *e)
{
    if (!entry[0]) return scl_errf(e, SCL_E_INVAL, "reader allow entry is empty");
    if (p->count >= RC_POLICY_MAX)
        return scl_errf(e, SCL_E_INVAL, "more than %d reader allow entries", RC_POLICY_MAX);
    if (!(p->allow[p->count] = strdup(entry))) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    p->count++;
    return SCL_OK;
}

int rc_policy_add_list(struct rc_policy *p, const char *list, struct scl_err *e)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy) return scl_errf(e, SCL_E_NOMEM, "out of memory");
    int rc = SCL_OK;
    for (char *tok = strtok_r(copy, ";", &save); tok && !rc; tok = strtok_r(NULL, ";", &save))
        rc = rc_policy_add(p, tok, e);
    free(copy);
    return rc;
}

void rc_policy_free(struct rc_policy *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->allow[i]);
    memset(p, 0, sizeof *p);
}

bool rc_policy_active(const struct rc_policy *p)
{
    return p && p->count > 0;
}

static bool entry_matches(const char *entry, const char *reader)
{
    size_t n = strlen(entry);
    if (n > 0 && entry[n - 1] == '*') return !strncmp(entry, reader, n - 1);
    return !strcmp(entry, reader);
}

bool rc_policy_allows(const struct rc_policy *p, const char *reader)
{
    if (!rc_policy_active(p)) return true;
    if (!reader) return true; /* FreeRDP skips NULL names: nothing is named */
    if (!strcmp(reader, RC_PNP_READER)) return true;
    for (size_t i = 0; i < p->count; i++)
        if (entry_matches(p->allow[i], reader)) return true;
    return false;
}

/* A return of the call's IOCTL carrying only ReturnCode (and what the
 * return type needs to be encodable: a Connect_Return needs a handle). */
static void answer_with_code(const struct esc_msg *call, struct esc_msg *a, int32_t code)
{
    const struct esc_ioctl *io = esc_ioctl_find(call->ioctl);
    memset(a, 0, sizeof *a);
    a->ioctl = call->ioctl;
    a->type = io ? io->return_type : ESC_T_LONG_RETURN;
    a->u.long_return.ReturnCode = code; /* every return starts with ReturnCode */
    if (a->type == ESC_T_CONNECT_RETURN) {
        a->u.connect_return.hCard.Context = call->u.connect_call.Context;
        a->u.connect_return.hCard.cbHandle = 8;
    }
}

/* GetStatusChangeW naming denied readers.  A reader the resource manager
 * does not know is reported SCARD_STATE_UNKNOWN|CHANGED|IGNORE (as Windows
 * documents), at once if the caller did not know yet; otherwise the call goes
 * on with those entries marked IGNORE so PC/SC waits only on the rest. */
static enum rc_verdict judge_get_status_change(const struct rc_policy *p, struct esc_msg *m,
                                               struct esc_msg *a)
{
    struct esc_get_status_change_call *c = &m->u.get_status_change_call;
    bool denied = false, news = false;
    for (uint32_t i = 0; i < c->cReaders; i++) {
        if (rc_policy_allows(p, c->rgReaderStates[i].szReader)) continue;
        denied = true;
        if (!(c->rgReaderStates[i].Common.dwCurrentState & RC_SCARD_STATE_UNKNOWN)) news = true;
    }
    if (!denied) return RC_FORWARD;
    if (news) {
        a->ioctl = m->ioctl;
        a->type = ESC_T_GET_STATUS_CHANGE_RETURN;
        struct esc_get_status_change_return *r = &a->u.get_status_change_return;
        r->ReturnCode = RC_SCARD_S_SUCCESS;
        r->cReaders = c->cReaders;
        r->rgReaderStates = calloc(c->cReaders ? c->cReaders : 1, sizeof *r->rgReaderStates);
        if (!r->rgReaderStates) {
            r->cReaders = 0;
            r->ReturnCode = (int32_t)0x80100006; /* SCARD_E_NO_MEMORY */
            return RC_ANSWER;
        }
        for (uint32_t i = 0; i < c->cReaders; i++) {
            struct esc_reader_state_common *s = &r->rgReaderStates[i];
            s->dwCurrentState = c->rgReaderStates[i].Common.dwCurrentState;
            /* Allowed readers: no change reported; the caller asks again. */
            s->dwEventState = s->dwCurrentState & ~(uint32_t)RC_SCARD_STATE_CHANGED;
            if (!rc_policy_allows(p, c->rgReaderStates[i].szReader))
                s->dwEventState =
                    RC_SCARD_STATE_UNKNOWN | RC_SCARD_STATE_CHANGED | RC_SCARD_STATE_IGNORE;
        }
        return RC_ANSWER;
    }
    for (uint32_t i = 0; i < c->cReaders; i++)
        if (!rc_policy_allows(p, c->rgReaderStates[i].szReader))
            c->rgReaderStates[i].Common.dwCurrentState |= RC_SCARD_STATE_IGNORE;
    return RC_FORWARD_EDITED;
}

enum rc_verdict rc_policy_judge_call(const struct rc_policy *p, bool known, struct esc_msg *m,
                                     struct esc_msg *answer, const char **why)
{
    memset(answer, 0, sizeof *answer);
    *why = NULL;
    if (!rc_policy_active(p)) return RC_FORWARD;
    if (!known) {
        /* The A variants, LocateCards and the reader-group calls name readers
         * in forms the codec does not decode: refuse what we cannot check. */
        *why = "refused: IOCTL not checkable";
        return RC_REFUSE;
    }
    switch (m->ioctl) {
    case SCARD_IOCTL_CONNECTW:
        if (rc_policy_allows(p, m->u.connect_call.szReader)) return RC_FORWARD;
        answer_with_code(m, answer, RC_SCARD_E_UNKNOWN_READER);
        *why = "denied: reader not allowed";
        return RC_ANSWER;
    case SCARD_IOCTL_GETREADERICON:
    case SCARD_IOCTL_GETDEVICETYPEID:
        if (rc_policy_allows(p, m->u.context_and_string_call.szReaderName)) return RC_FORWARD;
        answer_with_code(m, answer, RC_SCARD_E_UNKNOWN_READER);
        *why = "denied: reader not allowed";
        return RC_ANSWER;
    case SCARD_IOCTL_LOCATECARDSBYATRW:
        for (uint32_t i = 0; i < m->u.locate_cards_by_atr_call.cReaders; i++)
            if (!rc_policy_allows(p, m->u.locate_cards_by_atr_call.rgReaderStates[i].szReader)) {
                answer_with_code(m, answer, RC_SCARD_E_UNKNOWN_READER);
                *why = "denied: reader not allowed";
                return RC_ANSWER;
            }
        return RC_FORWARD;
    case SCARD_IOCTL_GETSTATUSCHANGEW: {
        enum rc_verdict v = judge_get_status_change(p, m, answer);
        if (v == RC_ANSWER) *why = "answered: denied reader reported UNKNOWN";
        if (v == RC_FORWARD_EDITED) *why = "edited: denied reader marked IGNORE";
        return v;
    }
    default:
        return RC_FORWARD;
    }
}

/* Keep only allowed names; an empty list becomes SCARD_E_NO_READERS_AVAILABLE,
 * which is what the client's PC/SC says when it has no reader. */
static bool fix_list_readers(const struct rc_policy *p, struct esc_list_readers_return *r)
{
    if (r->ReturnCode != RC_SCARD_S_SUCCESS) return false;
    size_t kept = 0;
    for (size_t i = 0; i < r->msz.count; i++) {
        if (rc_policy_allows(p, r->msz.names[i]))
            r->msz.names[kept++] = r->msz.names[i];
        else
            free(r->msz.names[i]);
    }
    bool changed = kept != r->msz.count;
    r->msz.count = kept;
    if (kept == 0) {
        free(r->msz.names);
        r->msz.names = NULL;
        r->ReturnCode = RC_SCARD_E_NO_READERS_AVAILABLE;
    }
    return changed;
}

static bool fix_get_status_change(const struct rc_policy *p, const struct esc_msg *call,
                                  struct esc_get_status_change_return *r)
{
    if (!call || call->type != ESC_T_GET_STATUS_CHANGE_CALL) return false;
    const struct esc_get_status_change_call *c = &call->u.get_status_change_call;
    bool changed = false;
    for (uint32_t i = 0; i < c->cReaders && i < r->cReaders; i++) {
        if (rc_policy_allows(p, c->rgReaderStates[i].szReader)) continue;
        struct esc_reader_state_common *s = &r->rgReaderStates[i];
        s->dwEventState = RC_SCARD_STATE_UNKNOWN | RC_SCARD_STATE_IGNORE;
        s->cbAtr = 0;
        memset(s->rgbAtr, 0, sizeof s->rgbAtr);
        changed = true;
    }
    return changed;
}

bool rc_policy_fix_return(const struct rc_policy *p, const struct esc_msg *call, struct esc_msg *r)
{
    if (!rc_policy_active(p) || r->body_absent) return false;
    switch (r->type) {
    case ESC_T_LIST_READERS_RETURN:
        return fix_list_readers(p, &r->u.list_readers_return);
    case ESC_T_GET_STATUS_CHANGE_RETURN:
        if (r->ioctl == SCARD_IOCTL_GETSTATUSCHANGEW)
            return fix_get_status_change(p, call, &r->u.get_status_change_return);
        return false;
    default:
        return false;
    }
}
