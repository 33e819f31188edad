/*
 * schedule.c: rotations, layers and overrides.  Owns them; borrows zones
 * and intervals.  Pure; one writer.
 */
#include "tocsin/schedule.h"

#include "tocsin/intdiv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct layer {
    char *name;
    char **users;
    size_t nusers;
    int days;       /* rotation length */
    int64_t anchor; /* local day number of the start date */
    int handoff;    /* seconds after local midnight */
    const struct tocsin_timeint *restriction;
};

struct override {
    char *user;
    int64_t start, end;
};

struct tocsin_schedule {
    char *name;
    const struct tocsin_tz *tz;
    struct layer *layers;
    size_t nlayers;
    struct override *ovr;
    size_t novr;
};

tocsin_err
tocsin_schedule_new(struct tocsin_schedule **out, const char *name,
                    const struct tocsin_tz *tz)
{
    if (!out || !name)
        return TOCSIN_EINVAL;
    struct tocsin_schedule *s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        return TOCSIN_ENOMEM;
    }
    s->tz = tz;
    *out = s;
    return TOCSIN_OK;
}

static void
layer_clear(struct layer *l)
{
    for (size_t i = 0; i < l->nusers; i++)
        free(l->users[i]);
    free(l->users);
    free(l->name);
}

void
tocsin_schedule_free(struct tocsin_schedule *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nlayers; i++)
        layer_clear(&s->layers[i]);
    free(s->layers);
    for (size_t i = 0; i < s->novr; i++)
        free(s->ovr[i].user);
    free(s->ovr);
    free(s->name);
    free(s);
}

const char *
tocsin_schedule_name(const struct tocsin_schedule *s)
{
    return s ? s->name : NULL;
}

static int
parse_date(const char *s, int64_t *day)
{
    int y, m, d;
    char tail;
    if (!s || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
        strlen(s) != 10 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    *day = tocsin_days_from_civil(y, m, d);
    int64_t next = m == 12 ? tocsin_days_from_civil(y + 1, 1, 1)
                           : tocsin_days_from_civil(y, m + 1, 1);
    return *day < next ? 0 : -1;
}

static int
parse_hhmm(const char *s, int *secs)
{
    int h, m;
    char tail;
    if (!s) {
        *secs = 0;
        return 0;
    }
    if (strlen(s) != 5 || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 ||
        h > 23 || h < 0 || m < 0 || m > 59)
        return -1;
    *secs = h * 3600 + m * 60;
    return 0;
}

tocsin_err
tocsin_schedule_add_layer(struct tocsin_schedule *s,
                          const struct tocsin_schedule_layer *l, char *err,
                          size_t errlen)
{
    if (!s || !l)
        return TOCSIN_EINVAL;
    struct layer n;
    memset(&n, 0, sizeof n);
    const char *why = NULL;
    if (l->nusers == 0 || !l->users)
        why = "a layer needs at least one user";
    else if (l->rotation != TOCSIN_ROTATION_DAILY &&
             l->rotation != TOCSIN_ROTATION_WEEKLY)
        why = "rotation must be daily or weekly";
    else if (parse_date(l->start, &n.anchor))
        why = "start must be a date YYYY-MM-DD";
    else if (parse_hhmm(l->handoff, &n.handoff))
        why = "handoff must be a time HH:MM";
    if (why) {
        if (err && errlen)
            snprintf(err, errlen, "%s", why);
        return TOCSIN_EINVAL;
    }
    n.days = (int)l->rotation;
    n.restriction = l->restriction;
    n.name = strdup(l->name ? l->name : "");
    n.users = calloc(l->nusers, sizeof *n.users);
    int oom = !n.name || !n.users;
    for (size_t i = 0; !oom && i < l->nusers; i++) {
        n.nusers = i + 1;
        oom = !(n.users[i] = strdup(l->users[i] ? l->users[i] : ""));
    }
    struct layer *v =
        oom ? NULL : realloc(s->layers, (s->nlayers + 1) * sizeof *v);
    if (!v) {
        layer_clear(&n);
        return TOCSIN_ENOMEM;
    }
    s->layers = v;
    s->layers[s->nlayers++] = n;
    return TOCSIN_OK;
}

tocsin_err
tocsin_schedule_add_override(struct tocsin_schedule *s, const char *user,
                             int64_t start, int64_t end)
{
    if (!s || !user || !*user || end <= start)
        return TOCSIN_EINVAL;
    struct override *v = realloc(s->ovr, (s->novr + 1) * sizeof *v);
    if (!v)
        return TOCSIN_ENOMEM;
    s->ovr = v;
    if (!(v[s->novr].user = strdup(user)))
        return TOCSIN_ENOMEM;
    v[s->novr].start = start;
    v[s->novr].end = end;
    s->novr++;
    return TOCSIN_OK;
}

static const char *
layer_user(const struct layer *l, const struct tocsin_civil *c, int64_t t)
{
    if (l->restriction && !tocsin_timeint_active(l->restriction, t))
        return NULL;
    int64_t day = tocsin_days_from_civil(c->year, c->month, c->mday);
    int sod = c->hour * 3600 + c->min * 60 + c->sec;
    if (sod < l->handoff)
        day--; /* still the previous day's shift */
    int64_t shift = tocsin_floor_div(day - l->anchor, l->days);
    int64_t idx = shift % (int64_t)l->nusers;
    if (idx < 0)
        idx += (int64_t)l->nusers;
    return l->users[idx];
}

const char *
tocsin_schedule_oncall(const struct tocsin_schedule *s, int64_t t)
{
    if (!s)
        return NULL;
    for (size_t i = s->novr; i-- > 0;)
        if (t >= s->ovr[i].start && t < s->ovr[i].end)
            return s->ovr[i].user;
    struct tocsin_civil c;
    tocsin_tz_civil(s->tz, t, &c);
    for (size_t i = s->nlayers; i-- > 0;) {
        const char *u = layer_user(&s->layers[i], &c, t);
        if (u)
            return u;
    }
    return NULL;
}

static int
same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

#define SCAN_STEP 300

tocsin_err
tocsin_schedule_next(const struct tocsin_schedule *s, int64_t t,
                     int64_t horizon, int64_t *at, const char **user)
{
    if (!s || !at || !user || horizon <= 0)
        return TOCSIN_EINVAL;
    const char *now = tocsin_schedule_oncall(s, t);
    int64_t prev = t;
    while (prev < t + horizon) {
        /* Step by SCAN_STEP, but stop at any override boundary so that a
         * short swap is not stepped over. */
        int64_t cur = prev + SCAN_STEP;
        for (size_t i = 0; i < s->novr; i++) {
            if (s->ovr[i].start > prev && s->ovr[i].start < cur)
                cur = s->ovr[i].start;
            if (s->ovr[i].end > prev && s->ovr[i].end < cur)
                cur = s->ovr[i].end;
        }
        if (cur > t + horizon)
            cur = t + horizon;
        if (!same(tocsin_schedule_oncall(s, cur), now)) {
            int64_t lo = prev, hi = cur; /* same at lo, differs at hi */
            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                if (same(tocsin_schedule_oncall(s, mid), now))
                    lo = mid;
                else
                    hi = mid;
            }
            *at = hi;
            *user = tocsin_schedule_oncall(s, hi);
            return TOCSIN_OK;
        }
        prev = cur;
    }
    return TOCSIN_ENOENT;
}
