/*
 * host_tls.c - the NTLM SAM file NLA checks passwords against (WinPR's
 * hash).  Not the TLS certificate (host_tls_cert.c, no FreeRDP) nor the
 * handshake itself (libfreerdp does it).
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <winpr/ntlm.h>
#include <winpr/ssl.h>

int host_sam_write(const struct host_config *cfg, const char *path, struct scl_err *e)
{
    struct wcur w;
    /* WinPR's MD4 needs OpenSSL 3's legacy provider, which this loads (once). */
    winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT);
    wcur_init_dyn(&w);
    for (size_t i = 0; i < cfg->nusers; i++) {
        const struct host_user *u = &cfg->users[i];
        uint8_t nt[16];
        char hex[33], line[HOST_NAME_MAX_LEN + 64];
        if (!NTOWFv1A((LPSTR)u->password, (UINT32)strlen(u->password), nt)) {
            wcur_free(&w);
            return scl_errf(e, SCL_E_CRYPTO, "SAM: NT hash of user %s failed", u->name);
        }
        scl_hex_encode(nt, sizeof nt, hex, false);
        int n = snprintf(line, sizeof line, "%s:::%s:::\n", u->name, hex);
        wcur_bytes(&w, line, (size_t)n);
    }
    int rc = wcur_ok(&w) ? scl_write_atomic(path, wcur_data(&w), wcur_len(&w), 0600, e)
                         : scl_errf(e, SCL_E_NOMEM, "SAM: out of memory");
    wcur_free(&w);
    return rc;
}
