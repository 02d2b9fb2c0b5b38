/*
 * common.h - the few things every scardlab component shares.
 *
 * Promises: a checked byte cursor for reading (struct cur) and writing
 * (struct wcur) that never runs past its end; a small error record that says
 * what failed and where; atomic file writes.  Every parser in the project reads
 * through struct cur.  Nothing here knows about smart cards or RDP.
 */
#ifndef SCL_COMMON_H
#define SCL_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- errors ------------------------------------------------------------ */

enum scl_code {
    SCL_OK = 0,
    SCL_E_INVAL,     /* bad argument or bad input value */
    SCL_E_FORMAT,    /* input does not follow its format */
    SCL_E_TRUNCATED, /* input ends early */
    SCL_E_IO,        /* file or socket I/O failed */
    SCL_E_NOTFOUND,  /* named thing does not exist */
    SCL_E_STATE,     /* operation not allowed in the current state */
    SCL_E_TIMEOUT,   /* waited long enough */
    SCL_E_CRYPTO,    /* libcrypto refused */
    SCL_E_PCSC,      /* PC/SC call failed */
    SCL_E_NOMEM,
};

struct scl_err {
    int code;
    char msg[512]; /* "where: what" ready to print */
};

/* Fill *e (if non-NULL) and return code.  The message should already say
 * where: a file:line, a field name or a byte offset. */
int scl_errf(struct scl_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the message already in *e with "prefix: " (adds context on the way up). */
int scl_err_wrap(struct scl_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *scl_code_name(int code);

/* ---- reading cursor ---------------------------------------------------- */

struct cur {
    const uint8_t *p;
    size_t len, off;
    bool failed;
};

void cur_init(struct cur *c, const void *p, size_t len);
bool cur_ok(const struct cur *c);
size_t cur_left(const struct cur *c);
size_t cur_off(const struct cur *c);
/* Mark failed; later reads return zero.  Always returns false. */
bool cur_fail(struct cur *c);

uint8_t cur_u8(struct cur *c);
uint16_t cur_u16le(struct cur *c);
uint16_t cur_u16be(struct cur *c);
uint32_t cur_u32le(struct cur *c);
uint32_t cur_u32be(struct cur *c);
uint64_t cur_u64le(struct cur *c);
/* Pointer to the next n bytes, or NULL (and failed) if fewer remain. */
const uint8_t *cur_bytes(struct cur *c, size_t n);
bool cur_copy(struct cur *c, void *dst, size_t n);
void cur_skip(struct cur *c, size_t n);
/* Skip to the next multiple of n from the cursor's start (NDR alignment). */
void cur_align(struct cur *c, size_t n);
/* Carve the next n bytes out as their own cursor. */
bool cur_sub(struct cur *c, size_t n, struct cur *sub);
/* Remaining bytes, consumed. */
const uint8_t *cur_rest(struct cur *c, size_t *n);

/* BER-TLV (ISO 7816-4 / X.690 definite lengths): tag of 1..3 bytes, length in
 * short form or 81/82/83.  On success *tag holds the tag bytes big-endian
 * (0x5FC102) and *val a cursor over the value. */
bool cur_ber_tlv(struct cur *c, uint32_t *tag, struct cur *val);
/* Search the TLVs in c (one level) for tag; val gets its value. */
bool cur_ber_find(const struct cur *c, uint32_t tag, struct cur *val);

/* ---- writing cursor ---------------------------------------------------- */

struct wcur {
    uint8_t *p;
    size_t cap, len;
    bool failed;
    bool growable; /* p is ours and realloc'd */
};

/* Write into a caller's fixed buffer; overflow marks the cursor failed. */
void wcur_init_fixed(struct wcur *w, void *buf, size_t cap);
/* Write into a heap buffer that grows; free with wcur_free or take it. */
void wcur_init_dyn(struct wcur *w);
void wcur_free(struct wcur *w);
/* Hand the heap buffer to the caller (NULL if failed). */
uint8_t *wcur_take(struct wcur *w, size_t *len);
bool wcur_ok(const struct wcur *w);
size_t wcur_len(const struct wcur *w);
const uint8_t *wcur_data(const struct wcur *w);

void wcur_u8(struct wcur *w, uint8_t v);
void wcur_u16le(struct wcur *w, uint16_t v);
void wcur_u16be(struct wcur *w, uint16_t v);
void wcur_u32le(struct wcur *w, uint32_t v);
void wcur_u32be(struct wcur *w, uint32_t v);
void wcur_u64le(struct wcur *w, uint64_t v);
void wcur_bytes(struct wcur *w, const void *p, size_t n);
void wcur_zeros(struct wcur *w, size_t n);
/* Pad with zeros to a multiple of n from the start. */
void wcur_align(struct wcur *w, size_t n);
/* Patch a u32le written earlier at offset off (returned by wcur_len before). */
void wcur_patch_u32le(struct wcur *w, size_t off, uint32_t v);

/* BER-TLV writing.  wcur_tlv(w, tag, p, n) writes a whole TLV.  For nested
 * TLVs: size_t h = wcur_tlv_begin(w, tag); ...children...; wcur_tlv_end(w, h);
 * the length is filled in (and bytes moved) by tlv_end. */
void wcur_ber_tag(struct wcur *w, uint32_t tag);
void wcur_ber_len(struct wcur *w, size_t len);
void wcur_tlv(struct wcur *w, uint32_t tag, const void *p, size_t n);
size_t wcur_tlv_begin(struct wcur *w, uint32_t tag);
void wcur_tlv_end(struct wcur *w, size_t handle);

/* ---- files ------------------------------------------------------------- */

/* Write data to path atomically: temp file in the same dir, fsync, rename,
 * fsync the directory.  A crash leaves either the old or the new content. */
int scl_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                     struct scl_err *e);
/* Read a whole file of at most max bytes into a malloc'd buffer (NUL added). */
int scl_read_file(const char *path, size_t max, uint8_t **out, size_t *len, struct scl_err *e);
/* Same, with path relative to the open folder dirfd (or AT_FDCWD): a store
 * of thousands of small files is read without walking its full path each time. */
int scl_read_file_at(int dirfd, const char *path, size_t max, uint8_t **out, size_t *len,
                     struct scl_err *e);
/* Read from fd until cap bytes or end of file (EINTR retried, an error
 * ends it like EOF); returns how many.  For files whose size stat cannot
 * be trusted (/proc) or must not be (a bounded read of a short file). */
size_t scl_read_fd(int fd, void *buf, size_t cap);
/* The text after "KEY:" (blanks skipped, up to the line's end) in
 * /proc/PID/status, pid 0 meaning this process: VmRSS, ShdPnd, ...
 * SCL_E_NOTFOUND when the process or the line is not there. */
int scl_proc_status(pid_t pid, const char *key, char *val, size_t cap, struct scl_err *e);
/* mkdir -p with mode for every created component. */
int scl_mkdirs(const char *path, mode_t mode, struct scl_err *e);

/* ---- small helpers ----------------------------------------------------- */

/* Parse hex with optional spaces/colons ("05 05 1c", "05:05:1C", "05051c").
 * Returns the byte count or -1 on a bad digit or odd count or overflow. */
int scl_hex_decode(const char *s, uint8_t *out, size_t cap);
/* Lower- or upper-case hex, NUL terminated; out needs 2n+1. */
void scl_hex_encode(const uint8_t *p, size_t n, char *out, bool upper);
/* Monotonic clock in nanoseconds. */
uint64_t scl_now_ns(void);

#endif
