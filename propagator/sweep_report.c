/*
 * sweep_report.c - what a sweep found, as a table for the terminal and as
 * JSON (one object per finding) for scripts.  Not the progress line
 * (sweep_progress.c) and not deciding anything.
 */
#include "sweep_int.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

const char *sw_reason_names(unsigned reasons)
{
    switch (reasons & (SW_REASON_PROPAGATED | SW_REASON_FOREIGN)) {
    case SW_REASON_PROPAGATED:
        return "propagated";
    case SW_REASON_FOREIGN:
        return "foreign";
    case SW_REASON_PROPAGATED | SW_REASON_FOREIGN:
        return "propagated,foreign";
    }
    return "own";
}

void sw_report_table(FILE *f, const struct sw_result *r)
{
    if (r->nfindings)
        fprintf(f, "%-12s %-20s %-18s %-40s %-20s %s\n", "SERVER", "PROFILE", "REASON",
                "THUMBPRINT", "SERIAL", "SUBJECT");
    for (size_t i = 0; i < r->nfindings; i++) {
        const struct sw_finding *x = &r->findings[i];
        fprintf(f, "%-12s %-20s %-18s %-40s %-20s %s%s\n", x->server, x->profile,
                sw_reason_names(x->reasons), x->thumbprint, x->serial, x->subject,
                x->removed ? "  [removed]" : "");
    }
}

static cJSON *finding_json(const struct sw_finding *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "server", x->server);
    cJSON_AddStringToObject(o, "profile", x->profile);
    cJSON_AddStringToObject(o, "path", x->profile_path);
    cJSON_AddStringToObject(o, "thumbprint", x->thumbprint);
    cJSON_AddStringToObject(o, "serial", x->serial);
    cJSON_AddStringToObject(o, "subject", x->subject);
    cJSON_AddStringToObject(o, "issuer", x->issuer);
    cJSON_AddStringToObject(o, "reason", sw_reason_names(x->reasons));
    cJSON_AddStringToObject(o, "provider", x->provider);
    cJSON_AddStringToObject(o, "container", x->container);
    cJSON_AddBoolToObject(o, "removed", x->removed);
    return o;
}

int sw_report_json(const char *path, const struct sw_result *r, struct scl_err *e)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return scl_errf(e, SCL_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < r->nfindings; i++)
        cJSON_AddItemToArray(arr, finding_json(&r->findings[i]));
    char *text = cJSON_Print(arr);
    cJSON_Delete(arr);
    if (!text)
        return scl_errf(e, SCL_E_NOMEM, "%s: out of memory", path);
    size_t len = strlen(text);
    int rc = !strcmp(path, "-") ? (fwrite(text, 1, len, stdout) == len && fputc('\n', stdout) != EOF
                                       ? SCL_OK
                                       : scl_errf(e, SCL_E_IO, "stdout: write failed"))
                                : scl_write_atomic(path, text, len, 0644, e);
    free(text);
    return rc;
}
