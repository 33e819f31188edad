/*
 * tz.h: time zones from the TZ database, without touching the process's TZ.
 *
 * A zone is read from a TZif file (RFC 8536, versions 1 to 4) under
 * $TZDIR or /usr/share/zoneinfo, transitions and footer rule included, so
 * converting an instant to local civil time in any zone is a pure function
 * that needs neither setenv("TZ") nor tzset() (which race between threads).
 * "UTC" and "Etc/UTC" need no file.
 *
 * A loaded zone is immutable and may be shared by threads.  Only
 * tocsin_tz_load reads a file; everything else is pure.
 */
#ifndef TOCSIN_TZ_H
#define TOCSIN_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"

struct tocsin_tz;

/* Local civil time. */
struct tocsin_civil {
    int year;
    int month; /* 1..12 */
    int mday;  /* 1..31 */
    int hour, min, sec;
    int wday;      /* 0 = Sunday .. 6 = Saturday */
    int yday;      /* 0..365 */
    int32_t utoff; /* seconds east of UTC */
    int isdst;
};

/*
 * Load zone `name` ("Europe/Paris", "UTC").  *out is written only on
 * success.  TOCSIN_EINVAL for a name with ".." or a leading '/',
 * TOCSIN_ENOENT when there is no such zone, TOCSIN_EPROTO for a file that
 * is not TZif, TOCSIN_ENOMEM.
 */
tocsin_err tocsin_tz_load(struct tocsin_tz **out, const char *name);

/* Build a zone from TZif bytes (borrowed).  Errors as tocsin_tz_load. */
tocsin_err tocsin_tz_parse(struct tocsin_tz **out, const char *name,
                           const unsigned char *data, size_t len);

/* NULL does nothing. */
void tocsin_tz_free(struct tocsin_tz *tz);

/* The zone's name as loaded (borrowed). */
const char *tocsin_tz_name(const struct tocsin_tz *tz);

/* Seconds east of UTC in force at instant t (epoch seconds) in tz (NULL:
 * UTC, 0). */
int32_t tocsin_tz_utoff(const struct tocsin_tz *tz, int64_t t);

/* The same, and the instants [*from, *until) around t over which that
 * offset holds (INT64_MIN / INT64_MAX when unbounded): callers reading
 * many nearby instants keep the span and look up again only past it. */
int32_t tocsin_tz_span(const struct tocsin_tz *tz, int64_t t, int64_t *from,
                       int64_t *until);

/* Local civil time of instant t (epoch seconds) in tz (NULL: UTC). */
void tocsin_tz_civil(const struct tocsin_tz *tz, int64_t t,
                     struct tocsin_civil *out);

/*
 * The instant of a local civil time in tz (NULL: UTC).  A time skipped by
 * a DST gap maps to the instant it would be with the offset in force just
 * before the gap; an ambiguous one to its first occurrence.
 */
int64_t tocsin_tz_mktime(const struct tocsin_tz *tz, int year, int month,
                         int mday, int hour, int min, int sec);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t tocsin_days_from_civil(int64_t y, int m, int d);

#endif
