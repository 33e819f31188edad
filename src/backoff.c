/*
 * backoff.c: retry delay arithmetic and HTTP-date parsing.  Owns no state;
 * called from the notifier thread (and tests).
 */
#include "tocsin/backoff.h"
#include "tocsin/tz.h"

#include <ctype.h>
#include <string.h>

static void
clamp(int64_t *min_ms, int64_t *max_ms)
{
    if (*min_ms <= 0)
        *min_ms = 1;
    if (*max_ms < *min_ms)
        *max_ms = *min_ms;
}

/* Uniform in [lo, hi] (hi >= lo). */
static int64_t
uniform(int64_t lo, int64_t hi, uint64_t rnd)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(rnd % span);
}

int64_t
tocsin_backoff_full(unsigned attempt, int64_t min_ms, int64_t max_ms,
                    uint64_t rnd)
{
    clamp(&min_ms, &max_ms);
    int64_t ceiling = min_ms;
    for (unsigned i = 0; i < attempt && ceiling < max_ms; i++)
        ceiling = ceiling > max_ms / 2 ? max_ms : ceiling * 2;
    if (ceiling > max_ms)
        ceiling = max_ms;
    return uniform(min_ms, ceiling, rnd);
}

int64_t
tocsin_backoff_decorrelated(int64_t prev_ms, int64_t min_ms, int64_t max_ms,
                            uint64_t rnd)
{
    clamp(&min_ms, &max_ms);
    if (prev_ms < min_ms)
        prev_ms = min_ms;
    int64_t hi = prev_ms > max_ms / 3 ? max_ms : prev_ms * 3;
    if (hi < min_ms)
        hi = min_ms;
    return uniform(min_ms, hi, rnd);
}

static int
parse_month(const char **p)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++) {
        if (strncmp(*p, names + 3 * i, 3) == 0) {
            *p += 3;
            return i + 1;
        }
    }
    return 0;
}

/* Exactly n..m digits; returns -1 if not. */
static long
parse_digits(const char **p, int nmin, int nmax)
{
    long v = 0;
    int n = 0;
    while (n < nmax && isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n >= nmin ? v : -1;
}

static int
expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

/* "HH:MM:SS" */
static int
parse_time(const char **p, long *h, long *mi, long *s)
{
    *h = parse_digits(p, 2, 2);
    if (*h < 0 || expect(p, ':'))
        return -1;
    *mi = parse_digits(p, 2, 2);
    if (*mi < 0 || expect(p, ':'))
        return -1;
    *s = parse_digits(p, 2, 2);
    if (*s < 0 || *h > 23 || *mi > 59 || *s > 60)
        return -1;
    return 0;
}

static int
days_in_month(long y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

tocsin_err
tocsin_http_date_parse(const char *s, int64_t *out)
{
    const char *p = s;
    long day, year, h, mi, sec;
    int mon;
    size_t wd = 0;
    while (isalpha((unsigned char)p[wd]))
        wd++;
    if (wd < 3)
        return TOCSIN_EINVAL;
    p += wd;
    if (*p == ',') {
        p++;
        if (expect(&p, ' '))
            return TOCSIN_EINVAL;
        day = parse_digits(&p, 2, 2);
        if (day < 0)
            return TOCSIN_EINVAL;
        if (*p == ' ') { /* IMF-fixdate */
            p++;
            if (!(mon = parse_month(&p)) || expect(&p, ' '))
                return TOCSIN_EINVAL;
            year = parse_digits(&p, 4, 4);
        } else { /* RFC 850 */
            if (expect(&p, '-') || !(mon = parse_month(&p)) || expect(&p, '-'))
                return TOCSIN_EINVAL;
            year = parse_digits(&p, 2, 2);
            if (year >= 0)
                year += year < 70 ? 2000 : 1900;
        }
        if (year < 0 || expect(&p, ' ') || parse_time(&p, &h, &mi, &sec) ||
            strcmp(p, " GMT") != 0)
            return TOCSIN_EINVAL;
    } else { /* asctime: "Sun Nov  6 08:49:37 1994" */
        if (expect(&p, ' ') || !(mon = parse_month(&p)) || expect(&p, ' '))
            return TOCSIN_EINVAL;
        if (*p == ' ')
            p++;
        day = parse_digits(&p, 1, 2);
        if (day < 0 || expect(&p, ' ') || parse_time(&p, &h, &mi, &sec) ||
            expect(&p, ' '))
            return TOCSIN_EINVAL;
        year = parse_digits(&p, 4, 4);
        if (year < 0 || *p)
            return TOCSIN_EINVAL;
    }
    if (day < 1 || day > days_in_month(year, mon))
        return TOCSIN_EINVAL;
    *out = tocsin_days_from_civil(year, mon, (int)day) * 86400 + h * 3600 +
           mi * 60 + sec;
    return TOCSIN_OK;
}

tocsin_err
tocsin_retry_after_parse(const char *value, int64_t now_ms, int64_t *delay_ms)
{
    char buf[64];
    if (!value)
        return TOCSIN_EINVAL;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' ||
                     value[n - 1] == '\r' || value[n - 1] == '\n'))
        n--;
    if (n == 0 || n >= sizeof buf)
        return TOCSIN_EINVAL;
    memcpy(buf, value, n);
    buf[n] = '\0';

    if (isdigit((unsigned char)buf[0])) {
        int64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)buf[i]))
                return TOCSIN_EINVAL;
            if (v > (INT64_MAX / 1000 - 9) / 10)
                return TOCSIN_EINVAL;
            v = v * 10 + (buf[i] - '0');
        }
        *delay_ms = v * 1000;
        return TOCSIN_OK;
    }
    int64_t when;
    if (tocsin_http_date_parse(buf, &when) != TOCSIN_OK)
        return TOCSIN_EINVAL;
    int64_t d = when * 1000 - now_ms;
    *delay_ms = d > 0 ? d : 0;
    return TOCSIN_OK;
}
