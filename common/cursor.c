/*
 * cursor.c - the checked reading cursor (after OpenSSH's sshbuf).
 * A failed read marks the cursor failed and every later read returns zero,
 * so a decoder reads a whole structure and checks cur_ok() once.
 */
#include "common.h"

#include <string.h>

void cur_init(struct cur *c, const void *p, size_t len)
{
    c->p = p;
    c->len = p ? len : 0;
    c->off = 0;
    c->failed = false;
}

bool cur_ok(const struct cur *c) { return !c->failed; }
size_t cur_left(const struct cur *c) { return c->failed ? 0 : c->len - c->off; }
size_t cur_off(const struct cur *c) { return c->off; }

bool cur_fail(struct cur *c)
{
    c->failed = true;
    return false;
}

/* The one place that decides whether n more bytes may be read. */
static const uint8_t *take(struct cur *c, size_t n)
{
    if (c->failed || n > c->len - c->off) {
        c->failed = true;
        return NULL;
    }
    /* An empty cursor may have p == NULL; NULL + 0 is undefined in C. */
    static const uint8_t empty[1];
    const uint8_t *p = c->p ? c->p + c->off : empty;
    c->off += n;
    return p;
}

uint8_t cur_u8(struct cur *c)
{
    const uint8_t *p = take(c, 1);
    return p ? p[0] : 0;
}

uint16_t cur_u16le(struct cur *c)
{
    const uint8_t *p = take(c, 2);
    return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint16_t cur_u16be(struct cur *c)
{
    const uint8_t *p = take(c, 2);
    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t cur_u32le(struct cur *c)
{
    const uint8_t *p = take(c, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
             : 0;
}

uint32_t cur_u32be(struct cur *c)
{
    const uint8_t *p = take(c, 4);
    return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3]
             : 0;
}

uint64_t cur_u64le(struct cur *c)
{
    uint64_t lo = cur_u32le(c);
    uint64_t hi = cur_u32le(c);
    return c->failed ? 0 : lo | hi << 32;
}

const uint8_t *cur_bytes(struct cur *c, size_t n) { return take(c, n); }

bool cur_copy(struct cur *c, void *dst, size_t n)
{
    const uint8_t *p = take(c, n);
    if (!p)
        return false;
    if (n)
        memcpy(dst, p, n);
    return true;
}

void cur_skip(struct cur *c, size_t n) { (void)take(c, n); }

void cur_align(struct cur *c, size_t n)
{
    if (n > 1 && c->off % n)
        cur_skip(c, n - c->off % n);
}

bool cur_sub(struct cur *c, size_t n, struct cur *sub)
{
    const uint8_t *p = take(c, n);
    cur_init(sub, p, p ? n : 0);
    if (!p)
        sub->failed = true;
    return p != NULL;
}

const uint8_t *cur_rest(struct cur *c, size_t *n)
{
    *n = cur_left(c);
    return take(c, *n);
}

static uint32_t ber_tag(struct cur *c)
{
    uint32_t tag = cur_u8(c);
    if ((tag & 0x1f) != 0x1f)
        return tag;
    /* Multi-byte tag: continuation bit set on all but the last byte; we take
     * at most three bytes, which covers every tag PIV and X.509 use. */
    for (int i = 0; i < 2; i++) {
        uint8_t b = cur_u8(c);
        tag = tag << 8 | b;
        if (!(b & 0x80))
            return tag;
    }
    cur_fail(c);
    return 0;
}

static size_t ber_len(struct cur *c)
{
    uint8_t b = cur_u8(c);
    if (b < 0x80)
        return b;
    if (b == 0x81)
        return cur_u8(c);
    if (b == 0x82)
        return cur_u16be(c);
    if (b == 0x83) {
        size_t hi = cur_u8(c);
        return hi << 16 | cur_u16be(c);
    }
    cur_fail(c); /* indefinite or > 16 MiB lengths are not ours */
    return 0;
}

bool cur_ber_tlv(struct cur *c, uint32_t *tag, struct cur *val)
{
    *tag = ber_tag(c);
    size_t n = ber_len(c);
    if (!cur_ok(c)) {
        cur_init(val, NULL, 0);
        val->failed = true;
        return false;
    }
    return cur_sub(c, n, val);
}

bool cur_ber_find(const struct cur *c, uint32_t tag, struct cur *val)
{
    struct cur it = *c;
    while (cur_left(&it)) {
        uint32_t t;
        if (!cur_ber_tlv(&it, &t, val))
            return false;
        if (t == tag)
            return true;
    }
    cur_init(val, NULL, 0);
    val->failed = true;
    return false;
}
