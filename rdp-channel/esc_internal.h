/*
 * esc_internal.h - private to the MS-RDPESC codec (and its unit tests): the
 * NDR reader/writer state and primitives the structure codecs are built on.
 */
#ifndef SCL_ESC_INTERNAL_H
#define SCL_ESC_INTERNAL_H

#include "rdpesc.h"

#define ESC_NDR_FIRST_REFERENT 0x00020000u
#define ESC_NDR_HEADERS_LEN 16 /* common + private type header */

/* Reading one object.  Errors are sticky: the first one is kept in *e and
 * every later primitive does nothing, so a structure decoder reads its fields
 * in a row and the caller checks rc once. */
struct esc_rd {
    struct cur c;           /* over the object (after the private header) */
    size_t base;            /* offset of the object in the caller's buffer */
    uint32_t next_referent; /* the ReferentID the next non-NULL pointer must carry */
    const char *what;       /* structure name for messages: "ConnectW_Call" */
    struct scl_err *e;
    int rc;
};

struct esc_wr {
    struct wcur *w;
    uint32_t next_referent;
    const char *what;
    struct scl_err *e;
    int rc;
};

void esc_rd_init(struct esc_rd *r, const uint8_t *p, size_t n, size_t base, const char *what,
                 struct scl_err *e);
bool esc_rd_ok(const struct esc_rd *r);
/* Offset of the cursor in the caller's buffer (for messages). */
size_t esc_rd_offset(const struct esc_rd *r);
/* Record an error (first one wins); fmt describes the problem, the field and
 * offset are added. */
void esc_rd_fail(struct esc_rd *r, int code, const char *field, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

uint32_t esc_rd_u32(struct esc_rd *r, const char *field);
int32_t esc_rd_i32(struct esc_rd *r, const char *field);
void esc_rd_fixed(struct esc_rd *r, const char *field, void *dst, size_t n);
/* A pointer: 0 is NULL (allowed unless required), anything else must be the
 * next ReferentID.  Returns whether the pointee follows. */
bool esc_rd_ptr(struct esc_rd *r, const char *field, bool required);
/* Check a count against its cap. */
void esc_rd_cap(struct esc_rd *r, const char *field, uint32_t v, uint32_t max, size_t off);

void esc_rd_context(struct esc_rd *r, struct esc_context *ctx);
void esc_rd_context_ref(struct esc_rd *r, struct esc_context *ctx);
void esc_rd_handle(struct esc_rd *r, struct esc_handle *h);
void esc_rd_handle_ref(struct esc_rd *r, struct esc_handle *h);
/* Conformant byte array [size_is(count)]: MaxCount must equal count.  Returns
 * malloc'd bytes (NULL for count 0); skips the 4-byte alignment pad. */
uint8_t *esc_rd_bytes(struct esc_rd *r, const char *field, uint32_t count, uint32_t max);
/* MaxCount of an array of structures; must equal count. */
bool esc_rd_max_count(struct esc_rd *r, const char *field, uint32_t count);
/* Conformant varying UTF-16LE string: MaxCount, Offset 0, ActualCount with
 * the terminator counted; returns malloc'd UTF-8. */
char *esc_rd_wstring(struct esc_rd *r, const char *field);
/* Conformant byte array holding a UTF-16LE multi-string of cBytes bytes. */
void esc_rd_msz(struct esc_rd *r, const char *field, uint32_t cBytes, bool present,
                struct esc_msz *out);
void esc_rd_uuid(struct esc_rd *r, const char *field, struct esc_uuid **out);
void esc_rd_io_request_flat(struct esc_rd *r, const char *field, struct esc_io_request *io,
                            bool *extra_present);
void esc_rd_io_request_extra(struct esc_rd *r, const char *field, struct esc_io_request *io,
                             bool extra_present);

void esc_wr_init(struct esc_wr *w, struct wcur *wc, const char *what, struct scl_err *e);
void esc_wr_fail(struct esc_wr *w, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void esc_wr_u32(struct esc_wr *w, uint32_t v);
void esc_wr_i32(struct esc_wr *w, int32_t v);
void esc_wr_fixed(struct esc_wr *w, const void *p, size_t n);
/* Writes the next ReferentID (present) or 0. */
void esc_wr_ptr(struct esc_wr *w, bool present);
void esc_wr_context(struct esc_wr *w, const struct esc_context *ctx);
void esc_wr_context_ref(struct esc_wr *w, const struct esc_context *ctx);
void esc_wr_handle(struct esc_wr *w, const struct esc_handle *h);
void esc_wr_handle_ref(struct esc_wr *w, const struct esc_handle *h);
/* Conformant byte array: MaxCount, bytes, pad to 4.  Nothing for n == 0
 * (the pointer was NULL). */
void esc_wr_bytes(struct esc_wr *w, const char *field, const uint8_t *p, uint32_t n, uint32_t max);
void esc_wr_wstring(struct esc_wr *w, const char *field, const char *s);
/* Byte size of msz as UTF-16LE (0 for an empty list); -1 on bad UTF-8. */
long esc_msz_wire_size(const struct esc_msz *m);
void esc_wr_msz(struct esc_wr *w, const char *field, const struct esc_msz *m);
void esc_wr_io_request_flat(struct esc_wr *w, const struct esc_io_request *io);
void esc_wr_io_request_extra(struct esc_wr *w, const char *field, const struct esc_io_request *io);

void esc_msz_free(struct esc_msz *m);
void esc_io_request_free(struct esc_io_request *io);

/* The per-type free functions live with the codecs. */
void esc_free_call_body(enum esc_type t, union esc_body *b);
void esc_free_return_body(enum esc_type t, union esc_body *b);

/* Call and return codecs, referenced by the IOCTL table. */
#define ESC_CODEC(name)                                                                            \
    void esc_decode_##name(struct esc_rd *r, union esc_body *b);                                   \
    void esc_encode_##name(struct esc_wr *w, const union esc_body *b)

ESC_CODEC(establish_context_call);
ESC_CODEC(context_call);
ESC_CODEC(list_readers_call);
ESC_CODEC(get_status_change_call);
ESC_CODEC(connect_call);
ESC_CODEC(reconnect_call);
ESC_CODEC(hcard_and_disposition_call);
ESC_CODEC(state_call);
ESC_CODEC(status_call);
ESC_CODEC(transmit_call);
ESC_CODEC(control_call);
ESC_CODEC(get_attrib_call);
ESC_CODEC(set_attrib_call);
ESC_CODEC(long_call);
ESC_CODEC(read_cache_call);
ESC_CODEC(write_cache_call);
ESC_CODEC(get_transmit_count_call);
ESC_CODEC(locate_cards_by_atr_call);
ESC_CODEC(context_and_string_call);
ESC_CODEC(long_return);
ESC_CODEC(establish_context_return);
ESC_CODEC(list_readers_return);
ESC_CODEC(get_status_change_return);
ESC_CODEC(connect_return);
ESC_CODEC(reconnect_return);
ESC_CODEC(state_return);
ESC_CODEC(status_return);
ESC_CODEC(transmit_return);
ESC_CODEC(control_return);
ESC_CODEC(get_attrib_return);
ESC_CODEC(read_cache_return);
ESC_CODEC(get_transmit_count_return);
ESC_CODEC(get_reader_icon_return);
ESC_CODEC(get_device_type_id_return);

/* Decode just the object (no headers) with the table's body decoder; sets
 * *consumed to the bytes the structure used (before the 8-byte padding).
 * For tests that truncate bodies. */
int esc_decode_object(const struct esc_ioctl *io, bool is_return, const uint8_t *p, size_t n,
                      struct esc_msg *m, size_t *consumed, struct scl_err *e);

#endif
