/*
 * dedup.c: mention ids seen recently (see dedup.h).
 *
 * Two open-addressing tables of 64-bit hashes (0 marks an empty slot), the
 * current window's and the previous one's.  A table grows by doubling at
 * half load.  Runs on the engine's thread.
 */
#include "tocsin/dedup.h"

#include "tocsin/hash.h"
#include "tocsin/intdiv.h"

#include <stdlib.h>
#include <string.h>

#define INIT_SLOTS 1024

struct idset {
    uint64_t *slot;
    size_t cap; /* power of two, or 0 */
    size_t n;
};

struct tocsin_dedup {
    int64_t window_ms;
    size_t max_ids;
    int64_t cur_start; /* start of the current window; INT64_MIN: none */
    struct idset cur, prev;
};

static uint64_t
hash_id(const char *p, size_t n)
{
    uint64_t h = tocsin_fnv1a(TOCSIN_FNV_OFFSET, p, n);
    /* Mix the high bits into the low ones the slot index uses. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

static int
set_has(const struct idset *s, uint64_t h)
{
    if (!s->cap)
        return 0;
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == h)
            return 1;
        if (!s->slot[i])
            return 0;
    }
}

static void
set_put(struct idset *s, uint64_t h)
{
    size_t i = h & (s->cap - 1);
    while (s->slot[i])
        i = (i + 1) & (s->cap - 1);
    s->slot[i] = h;
    s->n++;
}

/* Room for one more at under half load. */
static int
set_reserve(struct idset *s)
{
    if (s->cap && 2 * (s->n + 1) <= s->cap)
        return 0;
    size_t cap = s->cap ? 2 * s->cap : INIT_SLOTS;
    uint64_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    struct idset bigger = {slot, cap, 0};
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i])
            set_put(&bigger, s->slot[i]);
    free(s->slot);
    *s = bigger;
    return 0;
}

static void
set_clear(struct idset *s)
{
    free(s->slot);
    memset(s, 0, sizeof *s);
}

tocsin_err
tocsin_dedup_new(struct tocsin_dedup **out, int64_t window_ms, size_t max_ids)
{
    if (window_ms <= 0 || max_ids < 1)
        return TOCSIN_EINVAL;
    struct tocsin_dedup *d = calloc(1, sizeof *d);
    if (!d)
        return TOCSIN_ENOMEM;
    d->window_ms = window_ms;
    d->max_ids = max_ids;
    d->cur_start = INT64_MIN;
    *out = d;
    return TOCSIN_OK;
}

void
tocsin_dedup_free(struct tocsin_dedup *d)
{
    if (!d)
        return;
    set_clear(&d->cur);
    set_clear(&d->prev);
    free(d);
}

static int64_t
window_of(const struct tocsin_dedup *d, int64_t ts)
{
    return tocsin_floor_div(ts, d->window_ms) * d->window_ms;
}

/* The current window becomes the previous one. */
static void
rotate(struct tocsin_dedup *d, int64_t start)
{
    set_clear(&d->prev);
    d->prev = d->cur;
    memset(&d->cur, 0, sizeof d->cur);
    d->cur_start = start;
}

int
tocsin_dedup_seen(struct tocsin_dedup *d, const char *id, size_t n,
                  int64_t ts_ms)
{
    uint64_t h = hash_id(id, n);
    if (set_has(&d->cur, h) || set_has(&d->prev, h))
        return 1;
    int64_t w = window_of(d, ts_ms);
    if (d->cur_start == INT64_MIN) {
        d->cur_start = w;
    } else if (w >= d->cur_start + d->window_ms) {
        /* Past the next window too: nothing of before is remembered. */
        if (w >= d->cur_start + 2 * d->window_ms)
            rotate(d, w);
        rotate(d, w);
    }
    if (d->cur.n >= d->max_ids)
        rotate(d, d->cur_start);
    if (set_reserve(&d->cur))
        return -1;
    set_put(&d->cur, h);
    return 0;
}

size_t
tocsin_dedup_size(const struct tocsin_dedup *d)
{
    return d->cur.n + d->prev.n;
}
