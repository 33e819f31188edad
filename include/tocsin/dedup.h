/*
 * dedup.h: mention ids seen recently, so a record written twice is counted
 * once.
 *
 * Collectors deliver at least once: after a lost connection they send the
 * last minutes again, and counted twice those minutes look like a burst.
 * A set of the ids seen in the current and the previous window of event
 * time (each `window_ms` long, started on multiples of it) answers "seen
 * before?", so an id is remembered for one to two windows.  Ids are kept
 * as 64-bit hashes (a false "seen" needs two of a few million ids to
 * share 64 bits).  Memory is bounded: a window holding `max_ids` ids
 * starts the next one early.
 *
 * Owns its two hash tables.  Pure (event time is an argument, no I/O); one
 * thread at a time (the engine's).
 */
#ifndef TOCSIN_DEDUP_H
#define TOCSIN_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"

struct tocsin_dedup;

/* window_ms > 0, max_ids >= 1.  *out is written only on success. */
tocsin_err tocsin_dedup_new(struct tocsin_dedup **out, int64_t window_ms,
                            size_t max_ids);

/* NULL does nothing. */
void tocsin_dedup_free(struct tocsin_dedup *d);

/*
 * Whether id (n bytes) was seen in the current or the previous window;
 * if not, it is remembered in the window of ts_ms (the latest window seen
 * when ts_ms is older).  Returns 1 (seen), 0 (new), or -1 when memory ran
 * out (the id is then taken as new and not remembered).
 */
int tocsin_dedup_seen(struct tocsin_dedup *d, const char *id, size_t n,
                      int64_t ts_ms);

/* Ids remembered now (both windows). */
size_t tocsin_dedup_size(const struct tocsin_dedup *d);

#endif
