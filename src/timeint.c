/*
 * timeint.c: time intervals (Alertmanager time_intervals).  Owns the
 * parsed ranges; borrows zones.  Pure; any thread may read a built one.
 */
#include "tocsin/timeint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct range {
    int lo, hi;
};

enum field { F_TIMES, F_WDAYS, F_MDAYS, F_MONTHS, F_YEARS, F_N };

struct spec {
    struct range *r[F_N];
    size_t n[F_N];
    const struct tocsin_tz *loc;
};

struct tocsin_timeint {
    char *name;
    struct spec *specs;
    size_t nspecs;
};

static const char *const fname[F_N] = {"times", "weekdays", "days_of_month",
                                       "months", "years"};
static const char *const wdays[] = {"sunday",    "monday",   "tuesday",
                                    "wednesday", "thursday", "friday",
                                    "saturday"};
static const char *const mnames[] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

tocsin_err
tocsin_timeint_new(struct tocsin_timeint **out, const char *name)
{
    if (!out || !name)
        return TOCSIN_EINVAL;
    struct tocsin_timeint *ti = calloc(1, sizeof *ti);
    if (!ti || !(ti->name = strdup(name))) {
        free(ti);
        return TOCSIN_ENOMEM;
    }
    *out = ti;
    return TOCSIN_OK;
}

void
tocsin_timeint_free(struct tocsin_timeint *ti)
{
    if (!ti)
        return;
    for (size_t i = 0; i < ti->nspecs; i++)
        for (int f = 0; f < F_N; f++)
            free(ti->specs[i].r[f]);
    free(ti->specs);
    free(ti->name);
    free(ti);
}

const char *
tocsin_timeint_name(const struct tocsin_timeint *ti)
{
    return ti ? ti->name : NULL;
}

/* "HH:MM" into minutes, 0..1440; -1 if bad. */
static int
hhmm(const char *s, size_t n)
{
    if (n != 5 || !isdigit((unsigned char)s[0]) ||
        !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
    if (m > 59 || h > 24 || (h == 24 && m))
        return -1;
    return h * 60 + m;
}

/* One endpoint of field f: a name or an integer; INT_MIN-ish if bad. */
static int
endpoint(enum field f, const char *s, size_t n, int *out)
{
    const char *const *names = f == F_WDAYS    ? wdays
                               : f == F_MONTHS ? mnames
                                               : NULL;
    size_t nn = f == F_WDAYS ? 7 : 12;
    if (names)
        for (size_t i = 0; i < nn; i++)
            if (strlen(names[i]) == n && strncasecmp(names[i], s, n) == 0) {
                *out = f == F_MONTHS ? (int)i + 1 : (int)i;
                return 0;
            }
    if (f == F_WDAYS)
        return -1;
    char buf[16];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *e;
    long v = strtol(buf, &e, 10);
    if (*e)
        return -1;
    if (f == F_MONTHS && (v < 1 || v > 12))
        return -1;
    if (f == F_MDAYS && (v == 0 || v < -31 || v > 31))
        return -1;
    if (f == F_YEARS && (v < 1 || v > 9999))
        return -1;
    *out = (int)v;
    return 0;
}

static int
parse_range(enum field f, const char *s, struct range *r)
{
    if (f == F_TIMES) {
        const char *dash = strchr(s, '-');
        if (!dash)
            return -1;
        r->lo = hhmm(s, (size_t)(dash - s));
        r->hi = hhmm(dash + 1, strlen(dash + 1));
        return r->lo < 0 || r->hi < 0 || r->lo >= r->hi ? -1 : 0;
    }
    const char *colon = strchr(s, ':');
    size_t n1 = colon ? (size_t)(colon - s) : strlen(s);
    if (endpoint(f, s, n1, &r->lo))
        return -1;
    r->hi = r->lo;
    if (colon && endpoint(f, colon + 1, strlen(colon + 1), &r->hi))
        return -1;
    if (f == F_MDAYS) {
        /* Both the same sign; a positive range must not run backwards. */
        if ((r->lo < 0) != (r->hi < 0) || r->lo > r->hi)
            return -1;
        return 0;
    }
    return f == F_WDAYS || r->lo <= r->hi ? 0 : -1;
}

tocsin_err
tocsin_timeint_add(struct tocsin_timeint *ti,
                   const struct tocsin_timeint_spec *spec, char *err,
                   size_t errlen)
{
    if (!ti || !spec)
        return TOCSIN_EINVAL;
    const char *const *txt[F_N] = {spec->times, spec->weekdays,
                                   spec->days_of_month, spec->months,
                                   spec->years};
    size_t cnt[F_N] = {spec->ntimes, spec->nweekdays, spec->ndays_of_month,
                       spec->nmonths, spec->nyears};
    struct spec s;
    memset(&s, 0, sizeof s);
    s.loc = spec->location;
    tocsin_err rc = TOCSIN_OK;
    for (int f = 0; f < F_N && rc == TOCSIN_OK; f++) {
        if (!cnt[f])
            continue;
        if (!(s.r[f] = calloc(cnt[f], sizeof *s.r[f]))) {
            rc = TOCSIN_ENOMEM;
            break;
        }
        s.n[f] = cnt[f];
        for (size_t i = 0; i < cnt[f]; i++) {
            if (!txt[f][i] ||
                parse_range((enum field)f, txt[f][i], &s.r[f][i]) != 0) {
                if (err && errlen)
                    snprintf(err, errlen, "%s: \"%.60s\" is not a valid %s",
                             fname[f], txt[f][i] ? txt[f][i] : "",
                             f == F_TIMES ? "HH:MM-HH:MM range"
                                          : "value or range");
                rc = TOCSIN_EINVAL;
                break;
            }
        }
    }
    struct spec *ns = NULL;
    if (rc == TOCSIN_OK) {
        ns = realloc(ti->specs, (ti->nspecs + 1) * sizeof *ns);
        if (!ns)
            rc = TOCSIN_ENOMEM;
    }
    if (rc != TOCSIN_OK) {
        for (int f = 0; f < F_N; f++)
            free(s.r[f]);
        return rc;
    }
    ti->specs = ns;
    ti->specs[ti->nspecs++] = s;
    return TOCSIN_OK;
}

static int
in_ranges(const struct range *r, size_t n, int v)
{
    if (!n)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (v >= r[i].lo && v <= r[i].hi)
            return 1;
    return 0;
}

static int
spec_active(const struct spec *s, int64_t t)
{
    struct tocsin_civil c;
    tocsin_tz_civil(s->loc, t, &c);
    if (s->n[F_TIMES]) {
        int m = c.hour * 60 + c.min, ok = 0;
        for (size_t i = 0; i < s->n[F_TIMES] && !ok; i++)
            ok = m >= s->r[F_TIMES][i].lo && m < s->r[F_TIMES][i].hi;
        if (!ok)
            return 0;
    }
    if (s->n[F_WDAYS]) {
        int ok = 0;
        for (size_t i = 0; i < s->n[F_WDAYS] && !ok; i++) {
            const struct range *r = &s->r[F_WDAYS][i];
            /* A range may wrap the week: saturday:sunday. */
            ok = r->lo <= r->hi ? c.wday >= r->lo && c.wday <= r->hi
                                : c.wday >= r->lo || c.wday <= r->hi;
        }
        if (!ok)
            return 0;
    }
    if (s->n[F_MDAYS]) {
        int mdays =
            (int)(tocsin_days_from_civil(c.month == 12 ? c.year + 1 : c.year,
                                         c.month % 12 + 1, 1) -
                  tocsin_days_from_civil(c.year, c.month, 1));
        int ok = 0;
        for (size_t i = 0; i < s->n[F_MDAYS] && !ok; i++) {
            int lo = s->r[F_MDAYS][i].lo, hi = s->r[F_MDAYS][i].hi;
            if (lo < 0) {
                lo = mdays + 1 + lo;
                hi = mdays + 1 + hi;
            }
            ok = c.mday >= lo && c.mday <= hi;
        }
        if (!ok)
            return 0;
    }
    return in_ranges(s->r[F_MONTHS], s->n[F_MONTHS], c.month) &&
           in_ranges(s->r[F_YEARS], s->n[F_YEARS], c.year);
}

int
tocsin_timeint_active(const struct tocsin_timeint *ti, int64_t t)
{
    if (!ti)
        return 0;
    for (size_t i = 0; i < ti->nspecs; i++)
        if (spec_active(&ti->specs[i], t))
            return 1;
    return 0;
}
