/*
 * wcursor.c - the writing cursor that mirrors struct cur: fixed or growable
 * buffer, failure is sticky, encoders never compute offsets by hand.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

void wcur_init_fixed(struct wcur *w, void *buf, size_t cap)
{
    *w = (struct wcur){.p = buf, .cap = buf ? cap : 0};
}

void wcur_init_dyn(struct wcur *w) { *w = (struct wcur){.growable = true}; }

void wcur_free(struct wcur *w)
{
    if (w->growable)
        free(w->p);
    *w = (struct wcur){.failed = true};
}

uint8_t *wcur_take(struct wcur *w, size_t *len)
{
    if (!w->growable || w->failed) {
        wcur_free(w);
        *len = 0;
        return NULL;
    }
    uint8_t *p = w->p ? w->p : malloc(1);
    *len = w->len;
    *w = (struct wcur){.failed = true};
    return p;
}

bool wcur_ok(const struct wcur *w) { return !w->failed; }
size_t wcur_len(const struct wcur *w) { return w->len; }
const uint8_t *wcur_data(const struct wcur *w) { return w->p; }

/* Make room for n more bytes; the only place that may grow or fail. */
static uint8_t *room(struct wcur *w, size_t n)
{
    static uint8_t nowhere[1]; /* target of zero-byte writes to an empty buffer */
    if (w->failed)
        return NULL;
    if (n == 0)
        return w->p ? w->p + w->len : nowhere;
    if (n > SIZE_MAX / 2 - w->len) {
        w->failed = true;
        return NULL;
    }
    if (w->len + n > w->cap) {
        if (!w->growable) {
            w->failed = true;
            return NULL;
        }
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->failed = true;
            return NULL;
        }
        w->p = p;
        w->cap = cap;
    }
    uint8_t *p = w->p + w->len;
    w->len += n;
    return p;
}

void wcur_u8(struct wcur *w, uint8_t v)
{
    uint8_t *p = room(w, 1);
    if (p)
        p[0] = v;
}

void wcur_u16le(struct wcur *w, uint16_t v)
{
    uint8_t *p = room(w, 2);
    if (p) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
    }
}

void wcur_u16be(struct wcur *w, uint16_t v)
{
    uint8_t *p = room(w, 2);
    if (p) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
    }
}

void wcur_u32le(struct wcur *w, uint32_t v)
{
    uint8_t *p = room(w, 4);
    if (p)
        for (int i = 0; i < 4; i++)
            p[i] = (uint8_t)(v >> (8 * i));
}

void wcur_u32be(struct wcur *w, uint32_t v)
{
    uint8_t *p = room(w, 4);
    if (p)
        for (int i = 0; i < 4; i++)
            p[i] = (uint8_t)(v >> (24 - 8 * i));
}

void wcur_u64le(struct wcur *w, uint64_t v)
{
    wcur_u32le(w, (uint32_t)v);
    wcur_u32le(w, (uint32_t)(v >> 32));
}

void wcur_bytes(struct wcur *w, const void *src, size_t n)
{
    uint8_t *p = room(w, n);
    if (p && n)
        memcpy(p, src, n);
}

void wcur_zeros(struct wcur *w, size_t n)
{
    uint8_t *p = room(w, n);
    if (p && n)
        memset(p, 0, n);
}

void wcur_align(struct wcur *w, size_t n)
{
    if (n > 1 && w->len % n)
        wcur_zeros(w, n - w->len % n);
}

void wcur_patch_u32le(struct wcur *w, size_t off, uint32_t v)
{
    if (w->failed || off > w->len || w->len - off < 4) {
        w->failed = true;
        return;
    }
    for (int i = 0; i < 4; i++)
        w->p[off + i] = (uint8_t)(v >> (8 * i));
}

void wcur_ber_tag(struct wcur *w, uint32_t tag)
{
    if (tag > 0xffff)
        wcur_u8(w, (uint8_t)(tag >> 16));
    if (tag > 0xff)
        wcur_u8(w, (uint8_t)(tag >> 8));
    wcur_u8(w, (uint8_t)tag);
}

static size_t ber_len_size(size_t len)
{
    return len < 0x80 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : 4;
}

void wcur_ber_len(struct wcur *w, size_t len)
{
    if (len < 0x80) {
        wcur_u8(w, (uint8_t)len);
    } else if (len <= 0xff) {
        wcur_u8(w, 0x81);
        wcur_u8(w, (uint8_t)len);
    } else if (len <= 0xffff) {
        wcur_u8(w, 0x82);
        wcur_u16be(w, (uint16_t)len);
    } else if (len <= 0xffffff) {
        wcur_u8(w, 0x83);
        wcur_u8(w, (uint8_t)(len >> 16));
        wcur_u16be(w, (uint16_t)len);
    } else {
        w->failed = true;
    }
}

void wcur_tlv(struct wcur *w, uint32_t tag, const void *p, size_t n)
{
    wcur_ber_tag(w, tag);
    wcur_ber_len(w, n);
    wcur_bytes(w, p, n);
}

size_t wcur_tlv_begin(struct wcur *w, uint32_t tag)
{
    wcur_ber_tag(w, tag);
    size_t h = w->len;
    wcur_u8(w, 0); /* one-byte length placeholder, widened in tlv_end */
    return h;
}

void wcur_tlv_end(struct wcur *w, size_t h)
{
    if (w->failed || h >= w->len) {
        w->failed = true;
        return;
    }
    size_t body = w->len - h - 1;
    size_t extra = ber_len_size(body) - 1;
    if (extra && !room(w, extra))
        return;
    memmove(w->p + h + 1 + extra, w->p + h + 1, body);
    size_t end = w->len;
    w->len = h;
    wcur_ber_len(w, body);
    w->len = end;
}
