/*
 * silence.h: silences, Alertmanager style: label matchers, a start, an end,
 * a comment and who made it.  A silence is active from starts (inclusive)
 * to ends (exclusive); an active silence that matches an alert's labels
 * keeps it from notifying anyone.  Expiring a silence sets its end to now.
 *
 * The set owns its silences.  Pure: time is an argument and ids are given
 * by the caller or derived from the silence and a counter.  Not
 * thread-safe: one set belongs to one thread (the on-call loop).
 */
#ifndef TOCSIN_SILENCE_H
#define TOCSIN_SILENCE_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"
#include "tocsin/matcher.h"

#define TOCSIN_SILENCE_ID_MAX 64

struct tocsin_silence {
    char id[TOCSIN_SILENCE_ID_MAX];
    struct tocsin_matchers *matchers; /* owned by the set */
    int64_t starts, ends;             /* epoch seconds */
    char *comment, *created_by;
};

struct tocsin_silences;

tocsin_err tocsin_silences_new(struct tocsin_silences **out);
void tocsin_silences_free(struct tocsin_silences *s);

/*
 * Add a silence.  id may be NULL (one is made: "s" and 16 hex digits) or a
 * string of [A-Za-z0-9_-], at most 63 bytes; an existing id is replaced.
 * At least one matcher; ends > starts.  The id is copied to id_out
 * (TOCSIN_SILENCE_ID_MAX bytes, may be NULL).  TOCSIN_EINVAL with a
 * message in err for bad matchers, times or id.
 */
tocsin_err tocsin_silences_add(struct tocsin_silences *s, const char *id,
                               const char *const *matchers, size_t nmatchers,
                               int64_t starts, int64_t ends,
                               const char *comment, const char *created_by,
                               char *id_out, char *err, size_t errlen);

/* Expire silence id at now (its end becomes now unless already past).
 * TOCSIN_ENOENT if there is no such silence. */
tocsin_err tocsin_silences_expire(struct tocsin_silences *s, const char *id,
                                  int64_t now);

/* The first silence active at now that matches ls (borrowed), or NULL. */
const struct tocsin_silence *
tocsin_silences_match(const struct tocsin_silences *s,
                      const struct tocsin_labelset *ls, int64_t now);

/* Forget silences that ended more than retention seconds before now. */
void tocsin_silences_gc(struct tocsin_silences *s, int64_t now,
                        int64_t retention);

size_t tocsin_silences_count(const struct tocsin_silences *s);

/* The i-th silence, in order of addition (borrowed), or NULL. */
const struct tocsin_silence *
tocsin_silences_get(const struct tocsin_silences *s, size_t i);

/* "pending", "active" or "expired" at now. */
const char *tocsin_silence_state(const struct tocsin_silence *sl, int64_t now);

#endif
