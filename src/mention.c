/*
 * mention.c: decoding and validating mentions (flat stream fields or JSON).
 *
 * Owns nothing: a decoded mention borrows from its input, or from the
 * caller's scratch buffer (strings that had JSON escapes).  Allocates
 * nothing per entry.  Pure and thread-safe; called by the ingest loop and by
 * replay.
 */
#include "tocsin/mention.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_MAX_BYTES 256
#define COUNT_MAX       1000000000u

static tocsin_err fail(char *reason, size_t reasonlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static tocsin_err
fail(char *reason, size_t reasonlen, const char *fmt, ...)
{
    if (reasonlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, reasonlen, fmt, ap);
        va_end(ap);
    }
    return TOCSIN_EINVAL;
}

/* Returns 1 when s[0..n) is well-formed UTF-8 without NUL bytes. */
static int
utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        /* Eight ASCII bytes without NUL at a time. */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if ((w & 0x8080808080808080u) ||
                ((w - 0x0101010101010101u) & ~w & 0x8080808080808080u))
                break;
            p += 8;
        }
        if (p == end)
            break;
        unsigned c = *p;
        size_t len;
        unsigned min;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) < len)
            return 0;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        p += len;
    }
    return 1;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
    if (at + count > n)
        return -1;
    int v = 0;
    for (size_t i = 0; i < count; i++) {
        char c = s[at + i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return 0;
}

tocsin_err
tocsin_parse_time(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 64)
        return TOCSIN_EINVAL;
    /* Epoch milliseconds: digits with an optional fraction. */
    size_t i = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i > 0 && (i == n || s[i] == '.')) {
        if (i > 15)
            return TOCSIN_EINVAL; /* past the year 33658 */
        int64_t v = 0;
        for (size_t k = 0; k < i; k++)
            v = v * 10 + (s[k] - '0');
        if (i < n) {
            size_t k = i + 1;
            if (k == n)
                return TOCSIN_EINVAL;
            for (; k < n; k++)
                if (s[k] < '0' || s[k] > '9')
                    return TOCSIN_EINVAL;
        }
        *out = v;
        return TOCSIN_OK;
    }
    /* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
    int Y, M, D, h, mi, sec;
    if (digits(s, n, 0, 4, &Y) || n < 20 || s[4] != '-' ||
        digits(s, n, 5, 2, &M) || s[7] != '-' || digits(s, n, 8, 2, &D) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s, n, 11, 2, &h) || s[13] != ':' || digits(s, n, 14, 2, &mi) ||
        s[16] != ':' || digits(s, n, 17, 2, &sec))
        return TOCSIN_EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 ||
        sec > 60)
        return TOCSIN_EINVAL;
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap)
        return TOCSIN_EINVAL;
    size_t p = 19;
    int64_t frac_ms = 0;
    if (p < n && s[p] == '.') {
        p++;
        size_t start = p;
        int scale = 100;
        while (p < n && s[p] >= '0' && s[p] <= '9') {
            frac_ms += (s[p] - '0') * scale;
            scale /= 10;
            p++;
        }
        if (p == start)
            return TOCSIN_EINVAL;
    }
    int64_t offset_s = 0;
    if (p < n && (s[p] == 'Z' || s[p] == 'z')) {
        p++;
    } else if (p < n && (s[p] == '+' || s[p] == '-')) {
        int oh, om;
        if (digits(s, n, p + 1, 2, &oh) || p + 3 >= n || s[p + 3] != ':' ||
            digits(s, n, p + 4, 2, &om) || oh > 23 || om > 59)
            return TOCSIN_EINVAL;
        offset_s = (int64_t)(oh * 3600 + om * 60) * (s[p] == '+' ? 1 : -1);
        p += 6;
    } else {
        return TOCSIN_EINVAL;
    }
    if (p != n)
        return TOCSIN_EINVAL;
    int64_t days = days_from_civil(Y, (unsigned)M, (unsigned)D);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    if (secs < 0)
        return TOCSIN_EINVAL;
    *out = secs * 1000 + frac_ms;
    return TOCSIN_OK;
}

void
tocsin_format_time(int64_t ms, char *buf, size_t n)
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t msr = ms - secs * 1000;
    int64_t z = secs / 86400 + 719468;
    int64_t rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        z--;
    }
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(buf, n, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m,
             d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
             (int)msr);
}

/* Parse a whole string as a base-10 integer in [min, max]. */
static int
str_to_ll(const char *s, size_t n, long long min, long long max, long long *out)
{
    /* The usual case, [-]digits that cannot overflow, without a copy. */
    size_t neg = n > 0 && s[0] == '-';
    if (n > neg && n - neg <= 18) {
        long long v = 0;
        size_t i = neg;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            v = v * 10 + (s[i++] - '0');
        if (i == n) {
            v = neg ? -v : v;
            if (v < min || v > max)
                return -1;
            *out = v;
            return 0;
        }
    }
    char buf[32];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int
str_to_double(const char *s, size_t n, double *out)
{
    /*
     * The usual case, [-]digits[.digits] with at most 15 digits: the digits
     * as an integer (exact in a double) divided by a power of ten (exact up
     * to 1e22) is correctly rounded, so it equals what strtod gives.
     */
    static const double p10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    size_t i = n > 0 && s[0] == '-', digits = 0, frac = 0;
    int neg = (int)i, dot = 0;
    int64_t m = 0;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            m = m * 10 + (s[i] - '0');
            digits++;
            frac += (size_t)dot;
        } else if (s[i] == '.' && !dot && digits) {
            dot = 1;
        } else {
            break;
        }
    }
    if (i == n && digits && digits <= 15 && (!dot || frac)) {
        double v = (double)m / p10[frac];
        *out = neg ? -v : v;
        return 0;
    }
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* The attributes of the contract, for both decoders. */
enum attr {
    A_UNKNOWN,
    A_TOPIC,
    A_TOPICS,
    A_TS,
    A_ID,
    A_TEXT,
    A_LANG,
    A_SOURCE,
    A_AUTHOR,
    A_FOLLOWERS,
    A_URL,
    A_SENTIMENT,
    A_COUNT,
    A_NEGATIVE,
};

static enum attr
attr_of(const char *s, size_t n)
{
#define IS(lit) (memcmp(s, lit, sizeof lit - 1) == 0)
    switch (n) {
    case 2:
        return IS("ts") ? A_TS : IS("id") ? A_ID : A_UNKNOWN;
    case 3:
        return IS("url") ? A_URL : A_UNKNOWN;
    case 4:
        return IS("text") ? A_TEXT : IS("lang") ? A_LANG : A_UNKNOWN;
    case 5:
        return IS("topic") ? A_TOPIC : IS("count") ? A_COUNT : A_UNKNOWN;
    case 6:
        return IS("topics")   ? A_TOPICS
               : IS("source") ? A_SOURCE
               : IS("author") ? A_AUTHOR
                              : A_UNKNOWN;
    case 8:
        return IS("negative") ? A_NEGATIVE : A_UNKNOWN;
    case 9:
        return IS("followers")   ? A_FOLLOWERS
               : IS("sentiment") ? A_SENTIMENT
                                 : A_UNKNOWN;
    default:
        return A_UNKNOWN;
    }
#undef IS
}

struct decode {
    struct tocsin_mention m;
    int utf8_checked; /* strings come checked (from the JSON reader) */
    int has_ts;
    int has_count;
    long long negative;
    char *reason;
    size_t reasonlen;
    const struct tocsin_mention_limits *lim;
};

static tocsin_err
add_topic(struct decode *d, const char *s, size_t n)
{
    if (n == 0)
        return fail(d->reason, d->reasonlen, "topic: empty");
    if (n > TOPIC_MAX_BYTES)
        return fail(d->reason, d->reasonlen,
                    "topic: %zu bytes is over the limit %d", n,
                    TOPIC_MAX_BYTES);
    if (!d->utf8_checked && !utf8_valid(s, n))
        return fail(d->reason, d->reasonlen, "topic: invalid UTF-8");
    for (size_t i = 0; i < d->m.ntopics; i++)
        if (d->m.topics[i].n == n && memcmp(d->m.topics[i].p, s, n) == 0)
            return TOCSIN_OK;
    if (d->m.ntopics == TOCSIN_MENTION_MAX_TOPICS)
        return fail(d->reason, d->reasonlen, "topics: more than %d",
                    TOCSIN_MENTION_MAX_TOPICS);
    d->m.topics[d->m.ntopics].p = s;
    d->m.topics[d->m.ntopics].n = n;
    d->m.ntopics++;
    return TOCSIN_OK;
}

static const char *
attr_name(enum attr a)
{
    static const char *names[] = {"?",      "topic",     "topics", "ts",
                                  "id",     "text",      "lang",   "source",
                                  "author", "followers", "url",    "sentiment",
                                  "count",  "negative"};
    return names[a];
}

/* A string-valued attribute, from either decoder. */
static tocsin_err
set_string(struct decode *d, enum attr a, const char *s, size_t n)
{
    if (n > d->lim->max_field_bytes)
        return fail(d->reason, d->reasonlen,
                    "%s: %zu bytes is over the limit %zu", attr_name(a), n,
                    d->lim->max_field_bytes);
    if (!d->utf8_checked && !utf8_valid(s, n))
        return fail(d->reason, d->reasonlen, "%s: invalid UTF-8", attr_name(a));
    struct tocsin_str v = {s, n};
    switch (a) {
    case A_ID:
        d->m.id = v;
        break;
    case A_TEXT:
        d->m.text = v;
        break;
    case A_LANG:
        d->m.lang = v;
        break;
    case A_SOURCE:
        d->m.source = v;
        break;
    case A_AUTHOR:
        d->m.author = v;
        break;
    case A_URL:
        d->m.url = v;
        break;
    default:
        break;
    }
    return TOCSIN_OK;
}

static tocsin_err
set_sentiment(struct decode *d, double v)
{
    if (!(v >= -1.0 && v <= 1.0))
        return fail(d->reason, d->reasonlen, "sentiment: %g is outside [-1, 1]",
                    v);
    d->m.sentiment = v;
    d->m.has_sentiment = 1;
    return TOCSIN_OK;
}

static tocsin_err
set_integer(struct decode *d, enum attr a, long long v)
{
    switch (a) {
    case A_FOLLOWERS:
        if (v < 0)
            return fail(d->reason, d->reasonlen, "followers: %lld is negative",
                        v);
        d->m.followers = v;
        return TOCSIN_OK;
    case A_COUNT:
        if (v < 1 || v > COUNT_MAX)
            return fail(d->reason, d->reasonlen,
                        "count: %lld is outside [1, %u]", v, COUNT_MAX);
        d->m.count = (uint32_t)v;
        d->has_count = 1;
        return TOCSIN_OK;
    case A_NEGATIVE:
        if (v < 0 || v > COUNT_MAX)
            return fail(d->reason, d->reasonlen,
                        "negative: %lld is outside [0, %u]", v, COUNT_MAX);
        d->negative = v;
        d->m.has_negative = 1;
        return TOCSIN_OK;
    default:
        return TOCSIN_OK;
    }
}

static tocsin_err
set_ts_string(struct decode *d, const char *s, size_t n)
{
    int64_t ts;
    if (tocsin_parse_time(s, n, &ts) != TOCSIN_OK)
        return fail(d->reason, d->reasonlen, "ts: cannot parse \"%.*s\"",
                    (int)(n > 40 ? 40 : n), s);
    d->m.ts_ms = ts;
    d->has_ts = 1;
    return TOCSIN_OK;
}

static void
decode_init(struct decode *d, int64_t default_ts_ms,
            const struct tocsin_mention_limits *lim, char *reason,
            size_t reasonlen)
{
    memset(d, 0, sizeof *d);
    d->m.followers = -1;
    d->m.count = 1;
    d->m.ts_ms = default_ts_ms;
    d->reason = reason;
    d->reasonlen = reasonlen;
    d->lim = lim;
    if (reasonlen)
        reason[0] = '\0';
}

static tocsin_err
decode_finish(struct decode *d, struct tocsin_mention *m)
{
    if (d->m.ntopics == 0)
        return fail(d->reason, d->reasonlen, "missing topic");
    if (d->m.has_negative) {
        if (d->negative > (long long)d->m.count)
            return fail(d->reason, d->reasonlen,
                        "negative: %lld is more than count %u", d->negative,
                        d->m.count);
        d->m.negative = (uint32_t)d->negative;
    }
    *m = d->m;
    return TOCSIN_OK;
}

/* Flat strings that must be integers or numbers. */
static tocsin_err
flat_value(struct decode *d, enum attr a, const char *s, size_t n)
{
    long long ll;
    double x;
    switch (a) {
    case A_TOPIC:
        return add_topic(d, s, n);
    case A_TOPICS: {
        /* A comma-separated list; "[...]" holds a JSON array instead. */
        if (n > 0 && s[0] == '[')
            return fail(d->reason, d->reasonlen,
                        "topics: a JSON array needs the json field");
        size_t start = 0;
        for (size_t i = 0; i <= n; i++) {
            if (i == n || s[i] == ',') {
                tocsin_err e = add_topic(d, s + start, i - start);
                if (e)
                    return e;
                start = i + 1;
            }
        }
        return TOCSIN_OK;
    }
    case A_TS:
        return set_ts_string(d, s, n);
    case A_FOLLOWERS:
    case A_COUNT:
    case A_NEGATIVE:
        if (str_to_ll(s, n, -(1LL << 62), 1LL << 62, &ll))
            return fail(d->reason, d->reasonlen,
                        "%s: expected an integer, got \"%.*s\"", attr_name(a),
                        (int)(n > 32 ? 32 : n), s);
        return set_integer(d, a, ll);
    case A_SENTIMENT:
        if (str_to_double(s, n, &x))
            return fail(d->reason, d->reasonlen,
                        "sentiment: expected a number, got \"%.*s\"",
                        (int)(n > 32 ? 32 : n), s);
        return set_sentiment(d, x);
    case A_UNKNOWN:
        return TOCSIN_OK;
    default:
        return set_string(d, a, s, n);
    }
}

tocsin_err
tocsin_mention_decode_fields(struct tocsin_mention *m,
                             const struct tocsin_str *names,
                             const struct tocsin_str *values, size_t nfields,
                             int64_t default_ts_ms,
                             const struct tocsin_mention_limits *lim,
                             struct tocsin_mention_scratch *sc, char *reason,
                             size_t reasonlen)
{
    size_t total = 0;
    for (size_t i = 0; i < nfields; i++)
        total += names[i].n + values[i].n;
    if (total > lim->max_entry_bytes)
        return fail(reason, reasonlen, "entry: %zu bytes is over the limit %zu",
                    total, lim->max_entry_bytes);
    if (nfields == 1 && names[0].n == 4 && memcmp(names[0].p, "json", 4) == 0)
        return tocsin_mention_decode_json(m, values[0].p, values[0].n,
                                          default_ts_ms, lim, sc, reason,
                                          reasonlen);
    struct decode d;
    decode_init(&d, default_ts_ms, lim, reason, reasonlen);
    for (size_t i = 0; i < nfields; i++) {
        if (names[i].n == 4 && memcmp(names[i].p, "json", 4) == 0)
            return fail(reason, reasonlen,
                        "json: must be the only field of the entry");
        tocsin_err e = flat_value(&d, attr_of(names[i].p, names[i].n),
                                  values[i].p, values[i].n);
        if (e)
            return e;
    }
    return decode_finish(&d, m);
}

/* ---- JSON ----
 *
 * A small validating JSON reader for one mention object, in place of a
 * general DOM (jansson) per entry: nothing is allocated per entry.  Strings
 * without escapes are borrowed from the input; the others are unescaped
 * into the caller's scratch buffer, which the input's length bounds (an
 * escape never decodes longer than it is written).  It accepts and rejects
 * what json_loadb(JSON_REJECT_DUPLICATES) does, with the same depth limit
 * (tests/unit/mention_test.c compares them); duplicate keys are looked
 * for among the first MAX_KEYS keys of the objects open at a time.  As with the
 * DOM, the whole document is checked for syntax before an attribute's error is
 * reported.
 */

#define MAX_DEPTH 2048
#define MAX_KEYS  256 /* top-level keys checked for duplicates */
#define NUM_MAX   512 /* longest number literal */

enum jtype { J_NULL, J_BOOL, J_INT, J_REAL, J_STRING, J_ARRAY, J_OBJECT };

struct jval {
    enum jtype t;
    const char *s; /* J_STRING: the (unescaped) bytes */
    size_t n;
    long long i; /* J_INT */
    double x;    /* J_INT and J_REAL */
};

struct jp {
    const char *start, *p, *end;
    struct tocsin_mention_scratch *sc;
    size_t used;     /* bytes of scratch in use */
    const char *err; /* syntax error, or NULL */
    size_t err_at;
    size_t base; /* containers open around the value being parsed */
    /* The keys of the objects open (for duplicates), from the top level
     * on; an object's keys past MAX_KEYS in all are not checked. */
    struct tocsin_str keys[MAX_KEYS];
    size_t nkeys;
};

static int
key_seen(const struct tocsin_str *keys, size_t nkeys, const char *k, size_t n)
{
    for (size_t i = 0; i < nkeys; i++)
        if (keys[i].n == n && memcmp(keys[i].p, k, n) == 0)
            return 1;
    return 0;
}

/* Check key k of the object whose keys start at keys[from]; remember it. */
static int
jkey(struct jp *j, size_t from, const char *k, size_t n)
{
    if (key_seen(j->keys + from, j->nkeys - from, k, n))
        return -1;
    if (j->nkeys < MAX_KEYS) {
        j->keys[j->nkeys].p = k;
        j->keys[j->nkeys++].n = n;
    }
    return 0;
}

static const char *
jtype_name(enum jtype t)
{
    switch (t) {
    case J_OBJECT:
        return "an object";
    case J_ARRAY:
        return "an array";
    case J_STRING:
        return "a string";
    case J_INT:
        return "an integer";
    case J_REAL:
        return "a number";
    case J_BOOL:
        return "a boolean";
    case J_NULL:
        return "null";
    }
    return "?";
}

static int
jerr(struct jp *j, const char *what)
{
    if (!j->err) {
        j->err = what;
        j->err_at = (size_t)(j->p - j->start);
    }
    return -1;
}

static void
jws(struct jp *j)
{
    while (j->p < j->end &&
           (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static int
hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t
put_utf8(char *o, unsigned c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Length of the well-formed UTF-8 sequence at p (a non-ASCII lead byte),
 * or 0. */
static size_t
utf8_seq(const char *p, const char *end)
{
    unsigned c = (unsigned char)*p;
    size_t k = (c & 0xE0) == 0xC0   ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (!k || (size_t)(end - p) < k || !utf8_valid(p, k))
        return 0;
    return k;
}

/* A byte that stands for itself in a JSON string: ASCII from 0x20 on, but
 * '"' and '\\'. */
static int
plain(unsigned char c)
{
    return (unsigned)c - 0x20u < 0x60u && c != '"' && c != '\\';
}

/*
 * Parse a string at j->p (on the opening quote).  With out, the string is
 * returned: borrowed from the input when it has no escape, else unescaped
 * into the scratch.
 */
static int
jstring(struct jp *j, const char **out, size_t *outn)
{
    const char *s = ++j->p, *p = s, *end = j->end;
    /* The common case: plain ASCII, no escape. */
    while (p < end && plain((unsigned char)*p))
        p++;
    char *o = NULL;              /* the unescaped copy, from the first escape */
    size_t on = (size_t)(p - s); /* its length so far */
    for (;;) {
        if (p >= end) {
            j->p = p;
            return jerr(j, "premature end of input in a string");
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20) {
            j->p = p;
            return jerr(j, "control character in a string");
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(p, end);
            if (!k) {
                j->p = p;
                return jerr(j, "invalid UTF-8 in a string");
            }
            if (o)
                memcpy(o + on, p, k);
            on += k;
            p += k;
            continue;
        }
        if (c != '\\') {
            if (o)
                o[on] = (char)c;
            on++;
            p++;
            continue;
        }
        if (out && !o) {
            o = j->sc->buf + j->used;
            memcpy(o, s, on);
        }
        if (p + 1 >= end) {
            j->p = p;
            return jerr(j, "premature end of input in a string");
        }
        char d;
        switch (p[1]) {
        case '"':
        case '\\':
        case '/':
            d = p[1];
            break;
        case 'b':
            d = '\b';
            break;
        case 'f':
            d = '\f';
            break;
        case 'n':
            d = '\n';
            break;
        case 'r':
            d = '\r';
            break;
        case 't':
            d = '\t';
            break;
        case 'u': {
            unsigned u;
            if (end - p < 6 || hex4(p + 2, &u)) {
                j->p = p;
                return jerr(j, "invalid \\u escape");
            }
            p += 6;
            if (u >= 0xD800 && u <= 0xDBFF) {
                unsigned lo;
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                    hex4(p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    j->p = p;
                    return jerr(j, "invalid Unicode surrogate pair");
                }
                p += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
                j->p = p;
                return jerr(j, "invalid Unicode surrogate pair");
            } else if (u == 0) {
                j->p = p;
                return jerr(j, "\\u0000 is not allowed");
            }
            char tmp[4];
            size_t k = put_utf8(tmp, u);
            if (o)
                memcpy(o + on, tmp, k);
            on += k;
            continue;
        }
        default:
            j->p = p;
            return jerr(j, "invalid escape");
        }
        if (o)
            o[on] = d;
        on++;
        p += 2;
    }
    if (out) {
        if (o) {
            *out = o;
            j->used += on;
        } else {
            *out = s;
        }
        *outn = on;
    }
    j->p = p + 1;
    return 0;
}

static int
jliteral(struct jp *j, const char *word, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return jerr(j, "invalid token");
    j->p += n;
    return 0;
}

static int
jnumber(struct jp *j, struct jval *v)
{
    const char *s = j->p, *p = s, *end = j->end;
    int real = 0;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        j->p = p;
        return jerr(j, "invalid token");
    }
    /* A fraction, then an exponent: each needs a digit. */
    for (int part = 0; part < 2; part++) {
        if (p >= end || (part == 0 ? *p != '.' : (*p != 'e' && *p != 'E')))
            continue;
        real = 1;
        p++;
        if (part == 1 && p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9') {
            j->p = p;
            return jerr(j, "invalid number");
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    size_t n = (size_t)(p - s);
    if (!real) {
        /* Digits only: accumulate with an overflow check. */
        int neg = *s == '-';
        unsigned long long u = 0;
        for (const char *q = s + neg; q < p; q++) {
            unsigned d = (unsigned)(*q - '0');
            if (u > (ULLONG_MAX - d) / 10) {
                u = ULLONG_MAX;
                break;
            }
            u = u * 10 + d;
        }
        if (neg ? u > (unsigned long long)LLONG_MAX + 1
                : u > (unsigned long long)LLONG_MAX)
            return jerr(j,
                        neg ? "too big negative integer" : "too big integer");
        v->t = J_INT;
        v->i = neg ? (long long)(0 - u) : (long long)u;
        v->x = (double)v->i;
    } else {
        char buf[NUM_MAX];
        if (n >= sizeof buf)
            return jerr(j, "number too long");
        memcpy(buf, s, n);
        buf[n] = '\0';
        errno = 0;
        double x = strtod(buf, NULL);
        if (errno == ERANGE && (x > 1 || x < -1))
            return jerr(j, "real number overflow");
        v->t = J_REAL;
        v->x = x;
    }
    j->p = p;
    return 0;
}

static int jvalue(struct jp *j, struct jval *v, int want_str);

/*
 * Skip (validating) the array or object at j->p, with a stack of the open
 * brackets instead of recursion.  Apart from jvalue, so that parsing a
 * scalar does not reserve the stack this needs.
 */
static __attribute__((noinline)) int
jcontainer(struct jp *j, struct jval *v)
{
    /* A set bit: an object. */
    unsigned char stack[MAX_DEPTH / 8];
    size_t from[MAX_DEPTH]; /* where each open object's keys start */
    size_t depth = 0;
    int obj;
    struct jval tmp;
    v->t = *j->p == '[' ? J_ARRAY : J_OBJECT;
    for (;;) {
        /* At an opening bracket. */
        if (j->base + depth == MAX_DEPTH)
            return jerr(j, "maximum parsing depth reached");
        obj = *j->p == '{';
        if (obj)
            stack[depth / 8] |= (unsigned char)(1u << (depth % 8));
        else
            stack[depth / 8] &= (unsigned char)~(1u << (depth % 8));
        from[depth] = j->nkeys;
        depth++;
        j->p++;
        jws(j);
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
            j->p++;
            depth--;
            goto after;
        }
    member:
        if (obj) {
            jws(j);
            if (j->p >= j->end || *j->p != '"')
                return jerr(j, "string expected");
            const char *k;
            size_t kn;
            if (jstring(j, &k, &kn))
                return -1;
            if (jkey(j, from[depth - 1], k, kn))
                return jerr(j, "duplicate object key");
            jws(j);
            if (j->p >= j->end || *j->p != ':')
                return jerr(j, "':' expected");
            j->p++;
            jws(j);
        }
        if (j->p < j->end && (*j->p == '[' || *j->p == '{'))
            continue; /* descend */
        if (jvalue(j, &tmp, 0))
            return -1;
    after:
        if (depth == 0)
            return 0;
        obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            jws(j);
            goto member;
        }
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
            j->p++;
            depth--;
            j->nkeys = from[depth]; /* its keys are done with */
            goto after;
        }
        return jerr(j, obj ? "'}' expected" : "']' expected");
    }
}

/*
 * Parse a scalar, or skip (validating) an array or object.  With want_str,
 * a string's bytes are returned in v.
 */
static int
jvalue(struct jp *j, struct jval *v, int want_str)
{
    jws(j);
    if (j->p >= j->end)
        return jerr(j, "premature end of input");
    switch (*j->p) {
    case '"':
        v->t = J_STRING;
        return jstring(j, want_str ? &v->s : NULL, &v->n);
    case 't':
        v->t = J_BOOL;
        return jliteral(j, "true", 4);
    case 'f':
        v->t = J_BOOL;
        return jliteral(j, "false", 5);
    case 'n':
        v->t = J_NULL;
        return jliteral(j, "null", 4);
    case '[':
    case '{':
        break;
    default:
        return jnumber(j, v);
    }
    return jcontainer(j, v);
}

/* The value of attribute a (kept in v) into the mention. */
static tocsin_err
json_attr(struct decode *d, enum attr a, const struct jval *v)
{
    switch (a) {
    case A_TOPIC:
        if (v->t != J_STRING)
            break;
        return add_topic(d, v->s, v->n);
    case A_TS:
        if (v->t == J_STRING)
            return set_ts_string(d, v->s, v->n);
        if (v->t == J_INT && v->i >= 0 && v->i < 1000000000000000LL) {
            d->m.ts_ms = v->i;
            d->has_ts = 1;
            return TOCSIN_OK;
        }
        if (v->t == J_REAL && v->x >= 0 && v->x < 1e15) {
            d->m.ts_ms = (int64_t)v->x;
            d->has_ts = 1;
            return TOCSIN_OK;
        }
        if (v->t == J_INT || v->t == J_REAL)
            return fail(d->reason, d->reasonlen, "ts: %g is out of range",
                        v->x);
        return fail(d->reason, d->reasonlen,
                    "ts: expected epoch milliseconds or an RFC 3339 "
                    "string, got %s",
                    jtype_name(v->t));
    case A_FOLLOWERS:
    case A_COUNT:
    case A_NEGATIVE:
        if (v->t == J_INT)
            return set_integer(d, a, v->i);
        if (v->t == J_REAL && v->x == floor(v->x) && fabs(v->x) < 1e15)
            return set_integer(d, a, (long long)v->x);
        return fail(d->reason, d->reasonlen, "%s: expected an integer, got %s",
                    attr_name(a), jtype_name(v->t));
    case A_SENTIMENT:
        if (v->t != J_INT && v->t != J_REAL)
            return fail(d->reason, d->reasonlen,
                        "sentiment: expected a number, got %s",
                        jtype_name(v->t));
        return set_sentiment(d, v->x);
    default:
        if (v->t != J_STRING)
            break;
        return set_string(d, a, v->s, v->n);
    }
    return fail(d->reason, d->reasonlen, "%s: expected a string, got %s",
                attr_name(a), jtype_name(v->t));
}

/* The `topics` array, at its '['. */
static int
json_topics(struct jp *j, struct decode *d, tocsin_err *e)
{
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (size_t i = 0;; i++) {
        struct jval v;
        j->base = 2;
        int bad = jvalue(j, &v, 1);
        j->base = 1;
        if (bad)
            return -1;
        if (!*e) {
            if (v.t != J_STRING)
                *e = fail(d->reason, d->reasonlen,
                          "topics[%zu]: expected a string, got %s", i,
                          jtype_name(v.t));
            else
                *e = add_topic(d, v.s, v.n);
        }
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return 0;
        }
        return jerr(j, "']' expected");
    }
}

tocsin_err
tocsin_mention_decode_json(struct tocsin_mention *m, const char *text,
                           size_t len, int64_t default_ts_ms,
                           const struct tocsin_mention_limits *lim,
                           struct tocsin_mention_scratch *sc, char *reason,
                           size_t reasonlen)
{
    if (len > lim->max_entry_bytes)
        return fail(reason, reasonlen, "entry: %zu bytes is over the limit %zu",
                    len, lim->max_entry_bytes);
    if (sc->cap < len) {
        /* Grows to the longest input seen, at most max_entry_bytes. */
        char *buf = realloc(sc->buf, len);
        if (!buf)
            return TOCSIN_ENOMEM;
        sc->buf = buf;
        sc->cap = len;
    }
    struct jp j;
    j.start = j.p = text;
    j.end = text + len;
    j.sc = sc;
    j.used = 0;
    j.err = NULL;
    j.err_at = 0;
    j.base = 1;
    j.nkeys = 0;
    struct decode d;
    decode_init(&d, default_ts_ms, lim, reason, reasonlen);
    d.utf8_checked = 1;       /* jstring refuses bad UTF-8 and NUL */
    tocsin_err e = TOCSIN_OK; /* the first attribute error */
    uint32_t known = 0; /* attributes seen (duplicates past MAX_KEYS too) */
    jws(&j);
    if (j.p < j.end && *j.p == '[') {
        struct jval v;
        j.base = 0;
        if (jvalue(&j, &v, 0) == 0) {
            jws(&j);
            if (j.p != j.end)
                jerr(&j, "end of file expected");
        }
        if (!j.err)
            return fail(reason, reasonlen, "not a JSON object but an array");
        goto syntax;
    }
    if (j.p >= j.end || *j.p != '{') {
        jerr(&j, "'[' or '{' expected");
        goto syntax;
    }
    j.p++;
    jws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
    } else {
        for (;;) {
            jws(&j);
            if (j.p >= j.end || *j.p != '"') {
                jerr(&j, "string or '}' expected");
                goto syntax;
            }
            const char *k;
            size_t kn;
            if (jstring(&j, &k, &kn))
                goto syntax;
            enum attr a = attr_of(k, kn);
            int dup =
                a != A_UNKNOWN ? (int)((known >> a) & 1u) : jkey(&j, 0, k, kn);
            if (dup) {
                jerr(&j, "duplicate object key");
                goto syntax;
            }
            known |= 1u << a;
            jws(&j);
            if (j.p >= j.end || *j.p != ':') {
                jerr(&j, "':' expected");
                goto syntax;
            }
            j.p++;
            jws(&j);
            if (a == A_TOPICS && j.p < j.end && *j.p == '[') {
                if (json_topics(&j, &d, &e))
                    goto syntax;
            } else {
                struct jval v;
                if (jvalue(&j, &v, a != A_UNKNOWN))
                    goto syntax;
                if (!e && a == A_TOPICS && v.t != J_NULL)
                    e = fail(reason, reasonlen,
                             "topics: expected an array of strings, got %s",
                             jtype_name(v.t));
                else if (!e && a != A_UNKNOWN && v.t != J_NULL)
                    e = json_attr(&d, a, &v);
            }
            jws(&j);
            if (j.p < j.end && *j.p == ',') {
                j.p++;
                continue;
            }
            if (j.p < j.end && *j.p == '}') {
                j.p++;
                break;
            }
            jerr(&j, "'}' expected");
            goto syntax;
        }
    }
    jws(&j);
    if (j.p != j.end) {
        jerr(&j, "end of file expected");
        goto syntax;
    }
    if (e)
        return e;
    return decode_finish(&d, m);
syntax:
    return fail(reason, reasonlen, "not JSON: %s at column %zu", j.err,
                j.err_at + 1);
}

void
tocsin_mention_scratch_init(struct tocsin_mention_scratch *sc)
{
    sc->buf = NULL;
    sc->cap = 0;
}

void
tocsin_mention_scratch_fini(struct tocsin_mention_scratch *sc)
{
    if (!sc)
        return;
    free(sc->buf);
    sc->buf = NULL;
    sc->cap = 0;
}
