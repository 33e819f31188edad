/*
 * tz.c: a TZif reader and a POSIX TZ rule evaluator.  Owns each zone's
 * transition tables.  tocsin_tz_load reads one file; conversions are pure
 * and any thread may run them on a shared zone.
 */
#include "tocsin/tz.h"

#include "tocsin/intdiv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_MAX_FILE (1 << 20)

struct ttype {
    int32_t utoff;
    int isdst;
};

/* A POSIX TZ rule date: kind 'J' (Jn), 'N' (n), 'M' (Mm.w.d). */
struct rdate {
    char kind;
    int m, w, d, n;
    int32_t time; /* seconds after local midnight (may be <0 or >24h) */
};

struct rule {
    int ok;
    int32_t std_utoff, dst_utoff;
    int has_dst;
    struct rdate start, end;
};

struct tocsin_tz {
    char *name;
    int64_t *trans;
    unsigned char *idx;
    size_t ntrans;
    struct ttype *types;
    size_t ntypes;
    struct rule rule;
};

int64_t
tocsin_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* ---- POSIX TZ strings ---- */

static const char *
p_name(const char *p)
{
    if (*p == '<') {
        while (*p && *p != '>')
            p++;
        return *p == '>' ? p + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] into *secs; NULL on error. */
static const char *
p_time(const char *p, int32_t *secs)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return NULL;
    long h = strtol(p, (char **)&p, 10), mi = 0, s = 0;
    if (*p == ':') {
        mi = strtol(p + 1, (char **)&p, 10);
        if (*p == ':')
            s = strtol(p + 1, (char **)&p, 10);
    }
    if (h > 167 || mi > 59 || s > 59)
        return NULL;
    *secs = (int32_t)(sign * (h * 3600 + mi * 60 + s));
    return p;
}

static const char *
p_rdate(const char *p, struct rdate *r)
{
    r->time = 7200;
    if (*p == 'M') {
        r->kind = 'M';
        r->m = (int)strtol(p + 1, (char **)&p, 10);
        if (*p != '.')
            return NULL;
        r->w = (int)strtol(p + 1, (char **)&p, 10);
        if (*p != '.')
            return NULL;
        r->d = (int)strtol(p + 1, (char **)&p, 10);
        if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 ||
            r->d > 6)
            return NULL;
    } else if (*p == 'J') {
        r->kind = 'J';
        r->n = (int)strtol(p + 1, (char **)&p, 10);
        if (r->n < 1 || r->n > 365)
            return NULL;
    } else if (isdigit((unsigned char)*p)) {
        r->kind = 'N';
        r->n = (int)strtol(p, (char **)&p, 10);
        if (r->n > 365)
            return NULL;
    } else {
        return NULL;
    }
    if (*p == '/')
        p = p_time(p + 1, &r->time);
    return p;
}

static int
parse_rule(struct rule *r, const char *p)
{
    int32_t off;
    memset(r, 0, sizeof *r);
    if (!(p = p_name(p)) || !(p = p_time(p, &off)))
        return -1;
    r->std_utoff = -off;
    if (!*p) {
        r->ok = 1;
        return 0;
    }
    if (!(p = p_name(p)))
        return -1;
    r->has_dst = 1;
    r->dst_utoff = r->std_utoff + 3600;
    if (*p && *p != ',') {
        if (!(p = p_time(p, &off)))
            return -1;
        r->dst_utoff = -off;
    }
    if (*p != ',') {
        /* No rule: POSIX leaves it to the implementation; use the US one
         * like glibc (M3.2.0,M11.1.0). */
        r->start = (struct rdate){'M', 3, 2, 0, 0, 7200};
        r->end = (struct rdate){'M', 11, 1, 0, 0, 7200};
    } else {
        if (!(p = p_rdate(p + 1, &r->start)) || *p != ',' ||
            !(p = p_rdate(p + 1, &r->end)) || *p)
            return -1;
    }
    r->ok = 1;
    return 0;
}

/* Seconds since epoch of local midnight of the rule date in year y. */
static int64_t
rdate_day(const struct rdate *r, int y)
{
    int64_t jan1 = tocsin_days_from_civil(y, 1, 1);
    if (r->kind == 'J')
        return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
    if (r->kind == 'N')
        return jan1 + r->n;
    int64_t first = tocsin_days_from_civil(y, r->m, 1);
    int wd = (int)((first + 4) % 7 + 7) % 7; /* 1970-01-01 was Thursday */
    int64_t day = first + (r->d - wd + 7) % 7 + 7 * (r->w - 1);
    while (day - first >= month_days(y, r->m))
        day -= 7;
    return day;
}

static const struct ttype *
rule_type(const struct rule *r, int64_t t, struct ttype *buf)
{
    buf->utoff = r->std_utoff;
    buf->isdst = 0;
    if (!r->has_dst)
        return buf;
    int y, m, d;
    civil_from_days(tocsin_floor_div(t + r->std_utoff, 86400), &y, &m, &d);
    int64_t start =
        rdate_day(&r->start, y) * 86400 + r->start.time - r->std_utoff;
    int64_t end = rdate_day(&r->end, y) * 86400 + r->end.time - r->dst_utoff;
    int dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    if (dst) {
        buf->utoff = r->dst_utoff;
        buf->isdst = 1;
    }
    return buf;
}

/* ---- TZif ---- */

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static int64_t
be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

void
tocsin_tz_free(struct tocsin_tz *tz)
{
    if (!tz)
        return;
    free(tz->name);
    free(tz->trans);
    free(tz->idx);
    free(tz->types);
    free(tz);
}

static tocsin_err
utc_zone(struct tocsin_tz **out, const char *name)
{
    struct tocsin_tz *tz = calloc(1, sizeof *tz);
    if (!tz || !(tz->name = strdup(name))) {
        free(tz);
        return TOCSIN_ENOMEM;
    }
    tz->rule.ok = 1;
    *out = tz;
    return TOCSIN_OK;
}

tocsin_err
tocsin_tz_parse(struct tocsin_tz **out, const char *name,
                const unsigned char *data, size_t len)
{
    if (!out || !name || !data)
        return TOCSIN_EINVAL;
    if (len < 44 || memcmp(data, "TZif", 4) != 0)
        return TOCSIN_EPROTO;
    int version = data[4] ? data[4] - '0' : 1;
    const unsigned char *h = data;
    size_t cnt[6];
    for (int i = 0; i < 6; i++)
        cnt[i] = be32(h + 20 + 4 * i);
    /* isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
    size_t v1 = cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
    int tsize = 4;
    if (version >= 2) {
        if (44 + v1 + 44 > len)
            return TOCSIN_EPROTO;
        h = data + 44 + v1;
        if (memcmp(h, "TZif", 4) != 0)
            return TOCSIN_EPROTO;
        for (int i = 0; i < 6; i++)
            cnt[i] = be32(h + 20 + 4 * i);
        tsize = 8;
    }
    size_t body = cnt[3] * (size_t)(tsize + 1) + cnt[4] * 6 + cnt[5] +
                  cnt[2] * (size_t)(tsize + 4) + cnt[1] + cnt[0];
    const unsigned char *p = h + 44, *end = data + len;
    if (cnt[4] == 0 || cnt[3] > 100000 || cnt[4] > 256 ||
        (size_t)(end - p) < body)
        return TOCSIN_EPROTO;
    struct tocsin_tz *tz = calloc(1, sizeof *tz);
    if (!tz)
        return TOCSIN_ENOMEM;
    tz->name = strdup(name);
    tz->ntrans = cnt[3];
    tz->ntypes = cnt[4];
    tz->trans = malloc((tz->ntrans + 1) * sizeof *tz->trans);
    tz->idx = malloc(tz->ntrans + 1);
    tz->types = malloc(tz->ntypes * sizeof *tz->types);
    if (!tz->name || !tz->trans || !tz->idx || !tz->types) {
        tocsin_tz_free(tz);
        return TOCSIN_ENOMEM;
    }
    for (size_t i = 0; i < tz->ntrans; i++, p += tsize)
        tz->trans[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
    for (size_t i = 0; i < tz->ntrans; i++) {
        tz->idx[i] = *p++;
        if (tz->idx[i] >= tz->ntypes) {
            tocsin_tz_free(tz);
            return TOCSIN_EPROTO;
        }
    }
    for (size_t i = 0; i < tz->ntypes; i++, p += 6) {
        tz->types[i].utoff = (int32_t)be32(p);
        tz->types[i].isdst = p[4];
    }
    p += cnt[5] + cnt[2] * (size_t)(tsize + 4) + cnt[1] + cnt[0];
    if (version >= 2 && p < end && *p == '\n') {
        const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
        if (nl && nl - p - 1 < 128) {
            char buf[128];
            memcpy(buf, p + 1, (size_t)(nl - p - 1));
            buf[nl - p - 1] = '\0';
            if (buf[0] && parse_rule(&tz->rule, buf) != 0)
                tz->rule.ok = 0;
        }
    }
    *out = tz;
    return TOCSIN_OK;
}

tocsin_err
tocsin_tz_load(struct tocsin_tz **out, const char *name)
{
    if (!out || !name || !name[0] || name[0] == '/' || strstr(name, ".."))
        return TOCSIN_EINVAL;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return utc_zone(out, name);
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return TOCSIN_EINVAL;
    FILE *f = fopen(path, "rbe");
    if (!f)
        return errno == ENOENT || errno == ENOTDIR ? TOCSIN_ENOENT : TOCSIN_EIO;
    unsigned char *buf = malloc(TZ_MAX_FILE);
    if (!buf) {
        fclose(f);
        return TOCSIN_ENOMEM;
    }
    size_t n = fread(buf, 1, TZ_MAX_FILE, f);
    int bad = ferror(f);
    fclose(f);
    tocsin_err rc = bad ? TOCSIN_ENOENT : tocsin_tz_parse(out, name, buf, n);
    free(buf);
    return rc;
}

const char *
tocsin_tz_name(const struct tocsin_tz *tz)
{
    return tz ? tz->name : "UTC";
}

/* The last transition at or before t (trans[0] <= t < trans[ntrans - 1]
 * or past it). */
static size_t
trans_index(const struct tocsin_tz *tz, int64_t t)
{
    size_t lo = 0, hi = tz->ntrans; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static struct ttype
type_at(const struct tocsin_tz *tz, int64_t t)
{
    struct ttype buf = {0, 0};
    if (!tz)
        return buf;
    if (tz->ntrans == 0 || t < tz->trans[0]) {
        if (tz->ntrans == 0 && tz->rule.ok)
            return *rule_type(&tz->rule, t, &buf);
        return tz->ntypes ? tz->types[0] : buf;
    }
    if (t >= tz->trans[tz->ntrans - 1] && tz->rule.ok)
        return *rule_type(&tz->rule, t, &buf);
    return tz->types[tz->idx[trans_index(tz, t)]];
}

int32_t
tocsin_tz_utoff(const struct tocsin_tz *tz, int64_t t)
{
    return type_at(tz, t).utoff;
}

/* The rule's changes nearest t: the last at or before it and the first
 * after it, from the years around t's. */
static void
rule_bounds(const struct rule *r, int64_t t, int64_t *from, int64_t *until)
{
    int y, m, d;
    civil_from_days(tocsin_floor_div(t + r->std_utoff, 86400), &y, &m, &d);
    for (int yy = y - 1; yy <= y + 1; yy++) {
        int64_t c[2] = {
            rdate_day(&r->start, yy) * 86400 + r->start.time - r->std_utoff,
            rdate_day(&r->end, yy) * 86400 + r->end.time - r->dst_utoff};
        for (int k = 0; k < 2; k++) {
            if (c[k] <= t && c[k] > *from)
                *from = c[k];
            if (c[k] > t && c[k] < *until)
                *until = c[k];
        }
    }
}

int32_t
tocsin_tz_span(const struct tocsin_tz *tz, int64_t t, int64_t *from,
               int64_t *until)
{
    *from = INT64_MIN;
    *until = INT64_MAX;
    int32_t off = type_at(tz, t).utoff;
    if (!tz)
        return off;
    size_t n = tz->ntrans;
    if (n == 0 || t >= tz->trans[n - 1]) {
        if (n)
            *from = tz->trans[n - 1];
        if (tz->rule.ok && tz->rule.has_dst)
            rule_bounds(&tz->rule, t, from, until);
        return off;
    }
    if (t < tz->trans[0]) {
        *until = tz->trans[0];
        return off;
    }
    size_t lo = trans_index(tz, t);
    *from = tz->trans[lo];
    *until = tz->trans[lo + 1];
    return off;
}

void
tocsin_tz_civil(const struct tocsin_tz *tz, int64_t t, struct tocsin_civil *out)
{
    struct ttype ty = type_at(tz, t);
    int64_t lt = t + ty.utoff;
    int64_t days = tocsin_floor_div(lt, 86400);
    int64_t sod = lt - days * 86400;
    civil_from_days(days, &out->year, &out->month, &out->mday);
    out->hour = (int)(sod / 3600);
    out->min = (int)(sod / 60 % 60);
    out->sec = (int)(sod % 60);
    out->wday = (int)(((days + 4) % 7 + 7) % 7);
    out->yday = (int)(days - tocsin_days_from_civil(out->year, 1, 1));
    out->utoff = ty.utoff;
    out->isdst = ty.isdst;
}

int64_t
tocsin_tz_mktime(const struct tocsin_tz *tz, int year, int month, int mday,
                 int hour, int min, int sec)
{
    int64_t local = tocsin_days_from_civil(year, month, mday) * 86400 +
                    hour * 3600 + min * 60 + sec;
    /* Try the offsets in force a day before and after; keep the earliest
     * instant that reads back as the wanted local time. */
    int32_t o1 = type_at(tz, local - 86400).utoff;
    int32_t o2 = type_at(tz, local + 86400).utoff;
    int64_t best = INT64_MAX;
    int32_t offs[2] = {o1, o2};
    for (int i = 0; i < 2; i++) {
        int64_t t = local - offs[i];
        if (type_at(tz, t).utoff == offs[i] && t < best)
            best = t;
    }
    if (best == INT64_MAX)
        best = local - o1; /* in a gap: the offset before it */
    return best;
}
