/*
 * propagator.h - Windows-format certificate stores, the certutil-style tool
 * and the Certificate Propagation Service emulation.
 *
 * Promises (store, prefix cs_): read and write certificate-store folders laid
 * out and encoded the way Windows keeps them on disk (one serialized element
 * per file, named by the certificate's SHA-1), .sst files, and the
 * CERT_KEY_PROV_INFO property; every decoder rejects malformed bytes with a
 * precise error; every store write is atomic and serialized by a per-store
 * lock.  Does not talk to PC/SC, and does not verify chains or signatures.
 */
#ifndef SCL_PROPAGATOR_H
#define SCL_PROPAGATOR_H

#include "common.h"

#include <stdio.h>
#include <time.h>
#include <winscard.h> /* SCARDCONTEXT for cp_pcsc_read_card */

/* ==== serialized store elements (MS-GPEF 2.2.1.1 / CertSerializeCertificateStoreElement) ==== */

/* Property ids as wincrypt.h numbers them (CERT_*_PROP_ID). */
enum cs_prop_id {
    CS_PROP_KEY_PROV_INFO = 2,
    CS_PROP_SHA1_HASH = 3,
    CS_PROP_MD5_HASH = 4,
    CS_PROP_FRIENDLY_NAME = 11,
    CS_PROP_KEY_IDENTIFIER = 20,
    CS_PROP_SUBJECT_PUBLIC_KEY_MD5_HASH = 25,
    CS_PROP_CERT = 0x20, /* the certificate itself; always the last entry */
};

/* "CERT_KEY_PROV_INFO_PROP_ID" for 2; NULL for ids we have no name for. */
const char *cs_prop_name(uint32_t id);

struct cs_prop {
    uint32_t id;
    uint8_t *val; /* owned, may be NULL when len == 0 */
    size_t len;
};

/* One store element: a certificate and its properties (certificate entry
 * excluded from props; props keep file order). */
struct cs_element {
    uint8_t *cert_der; /* owned */
    size_t cert_len;
    uint8_t sha1[20]; /* SHA-1 of cert_der: the file name and the identity */
    struct cs_prop *props; /* owned */
    size_t nprops;
    /* The exact bytes this element was decoded from (owned), so a backup and
     * a restore can be byte-identical even for files another writer laid out
     * differently; NULL for elements built in memory, and dropped as soon as
     * a property changes. */
    uint8_t *raw;
    size_t raw_len;
};

/* Decoders check the certificate entry structurally only: one DER SEQUENCE
 * spanning exactly its bytes (a full X.509 parse costs ~100 us each, which a
 * fleet-wide listing cannot afford).  cs_cert_info does the X.509 parse, so
 * every consumer must cope with a certificate that decodes here but fails
 * there.  Decoded elements carry raw. */
/* Decode one element from exactly n bytes (trailing bytes are an error). */
int cs_element_decode(const uint8_t *p, size_t n, struct cs_element *el, struct scl_err *e);
/* Decode one element from the cursor, stopping after the certificate entry
 * (used by .sst import, where elements follow each other). */
int cs_element_decode_cur(struct cur *c, struct cs_element *el, struct scl_err *e);
/* Encode: props in order, then the certificate entry. *out is malloc'd. */
int cs_element_encode(const struct cs_element *el, uint8_t **out, size_t *n, struct scl_err *e);
/* Start an element from a DER certificate (fully parsed with libcrypto's
 * d2i_X509: this is how new certificates enter a store; sha1 filled; no
 * properties). */
int cs_element_from_cert(const uint8_t *der, size_t len, struct cs_element *el,
                         struct scl_err *e);
void cs_element_free(struct cs_element *el);
void cs_elements_free(struct cs_element *els, size_t n);
/* The property with this id, or NULL. */
const struct cs_prop *cs_element_prop(const struct cs_element *el, uint32_t id);
/* Add or replace a property (copies val).  id CS_PROP_CERT is refused. */
int cs_element_set_prop(struct cs_element *el, uint32_t id, const void *val, size_t len,
                        struct scl_err *e);

/* ==== CERT_KEY_PROV_INFO (CRYPT_KEY_PROV_INFO serialized) ==== */

#define CS_BASE_CSP_NAME "Microsoft Base Smart Card Crypto Provider"
#define CS_KSP_NAME "Microsoft Smart Card Key Storage Provider"
#define CS_AT_KEYEXCHANGE 1
#define CS_AT_SIGNATURE 2
#define CS_PROV_RSA_FULL 1 /* dwProvType of the Base CSP */
#define CS_KPI_NAME_MAX 256

/* In memory the names are UTF-8; on disk UTF-16LE. */
struct cs_key_prov_info {
    char container[CS_KPI_NAME_MAX]; /* pwszContainerName */
    char provider[CS_KPI_NAME_MAX];  /* pwszProvName */
    uint32_t prov_type;              /* dwProvType */
    uint32_t flags;                  /* dwFlags */
    uint32_t key_spec;               /* dwKeySpec */
};

/* CSP form: Base Smart Card Crypto Provider, ProvType 1, key_spec 1 or 2. */
void cs_kpi_base_csp(struct cs_key_prov_info *kpi, const char *container, uint32_t key_spec);
/* KSP form: Smart Card Key Storage Provider, ProvType 0, KeySpec 0. */
void cs_kpi_ksp(struct cs_key_prov_info *kpi, const char *container);
int cs_kpi_encode(const struct cs_key_prov_info *kpi, uint8_t **out, size_t *n,
                  struct scl_err *e);
int cs_kpi_decode(const uint8_t *p, size_t n, struct cs_key_prov_info *kpi, struct scl_err *e);
/* Decoded KEY_PROV_INFO of el: SCL_E_NOTFOUND when the property is absent. */
int cs_element_kpi(const struct cs_element *el, struct cs_key_prov_info *kpi, struct scl_err *e);

/* ==== store folders ==== */

/* User stores live under PROFILE/AppData/Roaming/Microsoft/SystemCertificates/<name>,
 * machine stores under MACHINE/ProgramData/Microsoft/SystemCertificates/<name>;
 * elements in <store>/Certificates/<SHA-1 upper hex>. */
enum cs_scope { CS_SCOPE_USER, CS_SCOPE_MACHINE };

#define CS_STORE_MY "My"
#define CS_STORE_REQUEST "Request"
#define CS_STORE_SMARTCARD_ROOT "SmartCardRoot"

/* Folder holding the element files of a store (".../<name>/Certificates"). */
int cs_store_path(enum cs_scope scope, const char *root, const char *name, char *out, size_t cap,
                  struct scl_err *e);
/* Display name certutil prints after the store name ("Personal" for My). */
const char *cs_store_display_name(const char *name);

struct cs_store; /* opaque */

/* Open a store.  create: make the folders if missing; without it a missing
 * store reads as empty and cannot be written. name: letters and digits. */
int cs_store_open(enum cs_scope scope, const char *root, const char *name, bool create,
                  struct cs_store **st, struct scl_err *e);
void cs_store_close(struct cs_store *st);
const char *cs_store_name(const struct cs_store *st);
const char *cs_store_dir(const struct cs_store *st);

/* Add dispositions, numbered as wincrypt.h's CERT_STORE_ADD_*. */
enum cs_add_disposition {
    CS_ADD_NEW = 1,               /* fail with SCL_E_STATE if present */
    CS_ADD_USE_EXISTING = 2,      /* keep the present element untouched */
    CS_ADD_REPLACE_EXISTING = 3,  /* overwrite, dropping old properties */
    CS_ADD_REPLACE_INHERIT = 5,   /* overwrite, keeping old properties the new one lacks */
};
enum cs_add_outcome { CS_ADDED, CS_REPLACED, CS_KEPT };

/* Add a certificate (with an optional KEY_PROV_INFO; NULL = none) under the
 * store lock.  outcome may be NULL. */
int cs_store_add(struct cs_store *st, const uint8_t *cert_der, size_t len,
                 const struct cs_key_prov_info *kpi, enum cs_add_disposition disp,
                 enum cs_add_outcome *outcome, struct scl_err *e);
/* Same, for a whole element with its properties (import). */
int cs_store_add_element(struct cs_store *st, const struct cs_element *el,
                         enum cs_add_disposition disp, enum cs_add_outcome *outcome,
                         struct scl_err *e);
/* Remove the element with this SHA-1; SCL_E_NOTFOUND if none. */
int cs_store_delete(struct cs_store *st, const uint8_t sha1[20], struct scl_err *e);
/* Compare-and-delete under the store lock: remove el's file only if its bytes
 * are still el->raw (or el's encoding when raw is NULL), i.e. what the caller
 * listed and backed up.  SCL_E_STATE and nothing deleted when someone rewrote
 * it since; SCL_E_NOTFOUND when it is gone.  No fsync: a delete lost in a
 * crash leaves the certificate where it was. */
int cs_store_delete_if_same(struct cs_store *st, const struct cs_element *el, struct scl_err *e);
/* The same for many elements under one lock (a sweep deletes several per
 * profile).  seen() gets each element's outcome in order, as the call above
 * would return it, and returning false stops before the next one.  With
 * keep, each file is moved (renamed) into keep->dirfd as keep->prefix + its
 * thumbprint instead of unlinked; where that folder is on another file
 * system the file is unlinked.  Fails, touching nothing, only when the
 * store cannot be locked or opened. */
typedef bool (*cs_delete_seen)(void *ctx, size_t i, int rc, const struct scl_err *e);
struct cs_keep {
    int dirfd;
    const char *prefix;
};
int cs_store_delete_each_if_same(struct cs_store *st, const struct cs_element *const *els,
                                 size_t n, const struct cs_keep *keep, cs_delete_seen seen,
                                 void *ctx, struct scl_err *e);
/* Restore: write el->raw (which must be set) verbatim under the store lock,
 * unless a readable element of the same certificate is there (then CS_KEPT,
 * untouched; an unreadable file in its place is CS_REPLACED).  The
 * certificate is not re-parsed: el came from our own decoder. */
int cs_store_add_raw(struct cs_store *st, const struct cs_element *el,
                     enum cs_add_outcome *outcome, struct scl_err *e);

/* A store's contents, ordered by file name (so certutil's indexes are stable).
 * Files that fail to parse or whose name is not their SHA-1 are skipped and
 * described in warnings (Windows ignores them too). */
struct cs_listing {
    struct cs_element *elements;
    size_t n;
    char **warnings;
    size_t nwarnings;
};
int cs_store_list(struct cs_store *st, struct cs_listing *out, struct scl_err *e);
void cs_listing_free(struct cs_listing *l);

/* ==== .sst (serialized store, CERT_STORE_SAVE_AS_STORE) ==== */

/* Encode writes an element's raw bytes when it has them (so an .sst of a
 * store holds each file byte for byte), its encoding otherwise. */
int cs_sst_encode(const struct cs_element *els, size_t n, uint8_t **out, size_t *len,
                  struct scl_err *e);
int cs_sst_decode(const uint8_t *p, size_t len, struct cs_element **els, size_t *n,
                  struct scl_err *e);

/* ==== X.509 facts (libcrypto) for display and matching ==== */

#define CS_CERT_MAX_NAMES 8
struct cs_cert_info {
    uint8_t serial[64]; /* big-endian bytes as encoded (leading 00 kept) */
    size_t serial_len;
    char subject[512];  /* "CN=Firstname Lastname, O=..." (certutil order) */
    char issuer[512];
    char subject_cn[256];
    time_t not_before, not_after;
    bool self_signed; /* subject == issuer and signature verifies with own key */
    char emails[CS_CERT_MAX_NAMES][256]; /* SAN rfc822Name and emailAddress RDN */
    size_t nemails;
    char upns[CS_CERT_MAX_NAMES][256]; /* SAN otherName msUPN 1.3.6.1.4.1.311.20.2.3 */
    size_t nupns;
};
int cs_cert_info(const uint8_t *der, size_t len, struct cs_cert_info *ci, struct scl_err *e);
/* True when both certificates carry the same public key. */
bool cs_cert_same_public_key(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* ==== CertId matching (certutil's CertId argument) ==== */

/* Does certid name the element at this 0-based index?  Accepts: index, serial
 * number, SHA-1 hash (hex, spaced or not, any case), subject CN, e-mail/UPN,
 * key container or provider name.  Curly quotes around it are stripped. */
bool cs_certid_match(const char *certid, const struct cs_element *el, size_t index);
/* Copy an argument without surrounding blanks and quote marks (" ' and the
 * curly ones users paste from articles). */
void cs_certid_normalize(const char *in, char *out, size_t cap);

/* ==== certprop (prefix cp_): the Certificate Propagation Service emulation ====
 * Promises: read PIV cards over PC/SC the way Windows' inbox PIV minidriver
 * does; copy every certificate tied to a key container into a profile's My
 * store with a KEY_PROV_INFO written once and never refreshed (the stale claim
 * is the point); follow the CertProp policy.  Never writes a partial card. */

/* ---- policy (policy.c; format in docs/policy-file.md) ---- */

enum cp_key_provider { CP_KEY_PROVIDER_CSP, CP_KEY_PROVIDER_KSP };
enum cp_root_cleanup { /* RootCertificateCleanupOption */
    CP_ROOT_CLEANUP_NONE = 0,
    CP_ROOT_CLEANUP_ON_REMOVAL = 1,
    CP_ROOT_CLEANUP_ON_LOGOFF = 2,
};

struct cp_policy {
    bool cert_prop_enabled;            /* CertPropEnabled (default 1) */
    bool enable_root_propagation;      /* EnableRootCertificatePropagation (default 1) */
    enum cp_root_cleanup root_cleanup; /* RootCertificateCleanupOption (default 2) */
    /* scardlab extension, HKLM\Software\scardlab\CertProp KeyProvider="CSP"|"KSP"
     * (default CSP; ECC keys always get the KSP form). */
    enum cp_key_provider key_provider;
};

void cp_policy_defaults(struct cp_policy *p);
const char *cp_root_cleanup_name(enum cp_root_cleanup o);
/* Apply the settings in text to *p (defaults first if the caller wants them).
 * name is used in "name:line: ..." errors. */
int cp_policy_parse(const char *name, const uint8_t *text, size_t len, struct cp_policy *p,
                    struct scl_err *e);
/* Defaults overlaid with the file; *p is untouched when the file is bad. */
int cp_policy_load(const char *path, struct cp_policy *p, struct scl_err *e);

/* ---- PIV cards over PC/SC (pcsc_card.c) ---- */

#define CP_CONTAINER_NAME_MAX 40
#define CP_CARD_SLOTS 4

struct cp_card_cert {
    uint8_t *der; /* owned; parsed by d2i_X509 before it was accepted */
    size_t len;
    uint32_t object_tag; /* 0x5FC105 ... */
    uint8_t key_ref;     /* 0x9A ... */
    char container[CP_CONTAINER_NAME_MAX];
};
/* A container that held something we did not accept (compressed, not X.509,
 * unreadable): the service reports it as skipped. */
struct cp_card_skip {
    uint32_t object_tag;
    uint8_t key_ref;
    char reason[160];
};
struct cp_card {
    char reader[128];
    uint8_t guid[16]; /* CHUID GUID (tag 34) */
    size_t ncerts;
    struct cp_card_cert certs[CP_CARD_SLOTS];
    size_t nskips;
    struct cp_card_skip skips[CP_CARD_SLOTS];
};

/* Error codes the reader returns besides SCL_E_PCSC / SCL_E_FORMAT:
 * SCL_E_NOTFOUND = not a PIV card (SELECT refused): log and ignore;
 * SCL_E_STATE = the card went away or was reset mid-read: nothing returned. */

/* Read every card present on the PC/SC that PCSCLITE_CSOCK_NAME names (0
 * cards is not an error; readers whose card is not PIV are left out). */
int cp_pcsc_read_cards(struct cp_card **cards, size_t *ncards, struct scl_err *e);
void cp_cards_free(struct cp_card *cards, size_t ncards);
/* Connect to the card in reader (shared, T0|T1), read it inside one
 * transaction, disconnect.  On error *out is empty. */
int cp_pcsc_read_card(SCARDCONTEXT ctx, const char *reader, struct cp_card *out,
                      struct scl_err *e);
void cp_card_free(struct cp_card *card);

/* The reading logic on its own, over any APDU transport (tests feed it a card
 * emulator).  transmit returns SCL_OK with the response (data + SW1 SW2) or
 * an error already described in e. */
struct cp_apdu_io {
    int (*transmit)(void *ctx, const uint8_t *cmd, size_t len, uint8_t *resp, size_t *rlen,
                    struct scl_err *e);
    void *ctx;
};
int cp_piv_read_card(const struct cp_apdu_io *io, struct cp_card *out, struct scl_err *e);

/* Parsers the reader uses, exposed for tests and fuzzing. */
/* CHUID (the value of 5FC102's 53 template or the whole 53 TLV): GUID tag 34. */
int cp_piv_parse_chuid(const uint8_t *p, size_t n, uint8_t guid[16], struct scl_err *e);
/* A certificate object 53 { 70 cert, 71 certinfo, FE lrc }.  *der points into p.
 * *compressed is set from CertInfo bit 0. */
int cp_piv_parse_cert_object(const uint8_t *p, size_t n, const uint8_t **der, size_t *der_len,
                             bool *compressed, struct scl_err *e);
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxx5fc105": the GUID with its last 3 bytes
 * replaced by the object tag. */
void cp_container_name(const uint8_t guid[16], uint32_t object_tag,
                       char out[CP_CONTAINER_NAME_MAX]);

/* ---- the service (certprop.c) ---- */

struct cp_service_opts {
    const char *profile;     /* user profile root (My store) */
    const char *machine;     /* machine root (SmartCardRoot store); NULL = no root propagation */
    const char *policy_path; /* NULL = defaults */
    bool json;               /* one JSON object per decision on stdout */
    bool once;               /* process the cards present now, then return */
};
/* Runs until SIGTERM/SIGINT (or once).  Returns SCL_OK on a clean stop. */
int cp_service_run(const struct cp_service_opts *o, struct scl_err *e);

/* ==== the certutil-style tool (certutil.c, cmd_certutil.c; docs/certutil.md) ==== */

/* Run `scardlab certutil ARGS` writing to out/err; returns the exit code
 * (0 success, 1 failure such as CRYPT_E_NOT_FOUND, 2 usage). */
int cu_run(int argc, char **argv, FILE *out, FILE *err);

/* ==== sweep (prefix sw_) ====
 * Promises: walk a fleet of profiles (ROOT/<server>/<profile> or
 * ROOT/<profile>), classify every certificate of every My store as the
 * user's own, propagated from a smart card, or foreign (docs/sweep.md), and
 * with apply remove the selected ones only after a per-profile .sst backup and
 * its manifest entry are on disk; restore puts them back.  Store access goes
 * through cs_store_* only.  A bad profile is reported and skipped. */

enum sw_reason {
    SW_REASON_PROPAGATED = 1u << 0, /* smart-card provider, no key in the profile */
    SW_REASON_FOREIGN = 1u << 1,    /* names someone other than the profile's owner */
};
#define SW_MAX_PROVIDERS 16

struct sw_opts {
    const char *const *roots;
    size_t nroots;
    unsigned rules;              /* SW_REASON_* bits to report/remove; 0 = both */
    const char *owners_path;     /* owners file; NULL = folder names only */
    const char *issuer, *subject; /* case-insensitive substrings; NULL = any */
    uint8_t serial[64];          /* exact serial (leading 00 ignored) */
    size_t serial_len;           /* 0 = any */
    int older_than_days;         /* notBefore at least this old; < 0 = any */
    const char *extra_providers[SW_MAX_PROVIDERS]; /* more smart-card CSP/KSP names */
    size_t nextra_providers;
    bool apply;
    const char *backup_dir;      /* required with apply */
    unsigned jobs;               /* worker threads; 0 = online CPUs */
    bool progress;               /* allow progress lines (only ever on a TTY stderr) */
    time_t now;                  /* 0 = time(NULL); tests pin it */
};

struct sw_finding {
    char *server, *profile, *profile_path, *subject, *issuer, *provider, *container;
    char thumbprint[41]; /* SHA-1, upper hex */
    char serial[129];    /* lower hex, no spaces */
    unsigned reasons;    /* SW_REASON_* */
    bool removed;
};
struct sw_result {
    struct sw_finding *findings;
    size_t nfindings;
    char **problems; /* skipped profiles, ignored files, failed deletes */
    size_t nproblems;
    size_t profiles, skipped, certificates, own, removed;
};
void sw_opts_defaults(struct sw_opts *o);
int sw_sweep(const struct sw_opts *o, struct sw_result *r, struct scl_err *e);
void sw_result_free(struct sw_result *r);

struct sw_restore_result {
    size_t entries, restored, already_present, differing;
    char **problems;
    size_t nproblems;
};
/* Put back every certificate a sweep --apply removed, byte-identical with its
 * properties; running it twice changes nothing the second time. */
int sw_restore(const char *backup_dir, struct sw_restore_result *r, struct scl_err *e);
void sw_restore_result_free(struct sw_restore_result *r);

int sw_cmd_sweep(int argc, char **argv);

/* ==== commands ==== */

int cp_cmd_certutil(int argc, char **argv);
int cp_cmd_certprop(int argc, char **argv);

#endif
