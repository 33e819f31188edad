/*
 * timeint.h: named time intervals with Alertmanager's time_intervals
 * semantics, used as mute windows (quiet hours), active windows (office
 * hours) and schedule layer restrictions (weekends only, nights only).
 *
 * An interval is a list of specs; it is active at an instant when any spec
 * is.  A spec is active when every field it gives matches the local civil
 * time in its location (default UTC):
 *   times          "HH:MM-HH:MM", start inclusive, end exclusive, end <= 24:00
 *   weekdays       "monday", "monday:friday" (inclusive ranges)
 *   days_of_month  "1", "1:5", "-1" (last day), "-3:-1"
 *   months         "january:march", "12", "1:3"
 *   years          "2026", "2026:2027"
 *
 * Owns its specs; borrows the zone given to tocsin_timeint_add (which must
 * outlive it).  Pure; immutable once built, so threads may share it.
 */
#ifndef TOCSIN_TIMEINT_H
#define TOCSIN_TIMEINT_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"
#include "tocsin/tz.h"

struct tocsin_timeint;

/* The text of one spec; a NULL/0 field is not constrained. */
struct tocsin_timeint_spec {
    const char *const *times;
    size_t ntimes;
    const char *const *weekdays;
    size_t nweekdays;
    const char *const *days_of_month;
    size_t ndays_of_month;
    const char *const *months;
    size_t nmonths;
    const char *const *years;
    size_t nyears;
    const struct tocsin_tz *location; /* borrowed; NULL: UTC */
};

/* A new interval with no specs (never active).  *out only on success. */
tocsin_err tocsin_timeint_new(struct tocsin_timeint **out, const char *name);

/* NULL does nothing. */
void tocsin_timeint_free(struct tocsin_timeint *ti);

/*
 * Add a spec.  TOCSIN_EINVAL with a message in err (errlen bytes, may be
 * NULL) naming the bad value, e.g. "weekdays: \"funday\" is not a day".
 */
tocsin_err tocsin_timeint_add(struct tocsin_timeint *ti,
                              const struct tocsin_timeint_spec *spec, char *err,
                              size_t errlen);

/* The interval's name (borrowed). */
const char *tocsin_timeint_name(const struct tocsin_timeint *ti);

/* 1 when ti is active at instant t (epoch seconds), else 0. */
int tocsin_timeint_active(const struct tocsin_timeint *ti, int64_t t);

#endif
