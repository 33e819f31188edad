/*
 * mention.c: decoding and validating mentions (flat stream fields or JSON).
 *
 * Owns nothing: a decoded mention borrows from its input, or from the JSON
 * document it keeps in m->doc.  Pure and thread-safe; called by the ingest
 * loop and by replay.
 */
#include "tocsin/mention.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_MAX_BYTES 256
#define COUNT_MAX       1000000000u

static tocsin_err
fail(char *reason, size_t reasonlen, const char *fmt, ...)
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
str_to_ll(const char *s, size_t n, long long min, long long max,
          long long *out)
{
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
    static const struct {
        const char *name;
        enum attr a;
    } names[] = {
        {"topic", A_TOPIC},         {"topics", A_TOPICS},
        {"ts", A_TS},               {"id", A_ID},
        {"text", A_TEXT},           {"lang", A_LANG},
        {"source", A_SOURCE},       {"author", A_AUTHOR},
        {"followers", A_FOLLOWERS}, {"url", A_URL},
        {"sentiment", A_SENTIMENT}, {"count", A_COUNT},
        {"negative", A_NEGATIVE},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, s, n) == 0)
            return names[i].a;
    return A_UNKNOWN;
}

struct decode {
    struct tocsin_mention m;
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
    if (!utf8_valid(s, n))
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
    if (!utf8_valid(s, n))
        return fail(d->reason, d->reasonlen, "%s: invalid UTF-8",
                    attr_name(a));
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
        return fail(d->reason, d->reasonlen,
                    "sentiment: %g is outside [-1, 1]", v);
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
                             char *reason, size_t reasonlen)
{
    size_t total = 0;
    for (size_t i = 0; i < nfields; i++)
        total += names[i].n + values[i].n;
    if (total > lim->max_entry_bytes)
        return fail(reason, reasonlen,
                    "entry: %zu bytes is over the limit %zu", total,
                    lim->max_entry_bytes);
    if (nfields == 1 && names[0].n == 4 && memcmp(names[0].p, "json", 4) == 0)
        return tocsin_mention_decode_json(m, values[0].p, values[0].n,
                                          default_ts_ms, lim, reason,
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

static const char *
json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

static tocsin_err
json_value(struct decode *d, enum attr a, json_t *v)
{
    if (json_is_null(v) || a == A_UNKNOWN)
        return TOCSIN_OK;
    switch (a) {
    case A_TOPIC:
        if (!json_is_string(v))
            break;
        return add_topic(d, json_string_value(v), json_string_length(v));
    case A_TOPICS: {
        if (!json_is_array(v))
            return fail(d->reason, d->reasonlen,
                        "topics: expected an array of strings, got %s",
                        json_type_name(v));
        size_t i;
        json_t *t;
        json_array_foreach(v, i, t)
        {
            if (!json_is_string(t))
                return fail(d->reason, d->reasonlen,
                            "topics[%zu]: expected a string, got %s", i,
                            json_type_name(t));
            tocsin_err e =
                add_topic(d, json_string_value(t), json_string_length(t));
            if (e)
                return e;
        }
        return TOCSIN_OK;
    }
    case A_TS:
        if (json_is_string(v))
            return set_ts_string(d, json_string_value(v),
                                 json_string_length(v));
        if (json_is_integer(v) && json_integer_value(v) >= 0 &&
            json_integer_value(v) < 1000000000000000LL) {
            d->m.ts_ms = json_integer_value(v);
            d->has_ts = 1;
            return TOCSIN_OK;
        }
        if (json_is_real(v) && json_real_value(v) >= 0 &&
            json_real_value(v) < 1e15) {
            d->m.ts_ms = (int64_t)json_real_value(v);
            d->has_ts = 1;
            return TOCSIN_OK;
        }
        if (json_is_number(v))
            return fail(d->reason, d->reasonlen, "ts: %g is out of range",
                        json_number_value(v));
        return fail(d->reason, d->reasonlen,
                    "ts: expected epoch milliseconds or an RFC 3339 "
                    "string, got %s",
                    json_type_name(v));
    case A_FOLLOWERS:
    case A_COUNT:
    case A_NEGATIVE:
        if (json_is_integer(v))
            return set_integer(d, a, json_integer_value(v));
        if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
            fabs(json_real_value(v)) < 1e15)
            return set_integer(d, a, (long long)json_real_value(v));
        return fail(d->reason, d->reasonlen,
                    "%s: expected an integer, got %s", attr_name(a),
                    json_type_name(v));
    case A_SENTIMENT:
        if (!json_is_number(v))
            return fail(d->reason, d->reasonlen,
                        "sentiment: expected a number, got %s",
                        json_type_name(v));
        return set_sentiment(d, json_number_value(v));
    default:
        if (!json_is_string(v))
            break;
        return set_string(d, a, json_string_value(v), json_string_length(v));
    }
    return fail(d->reason, d->reasonlen, "%s: expected a string, got %s",
                attr_name(a), json_type_name(v));
}

tocsin_err
tocsin_mention_decode_json(struct tocsin_mention *m, const char *text,
                           size_t len, int64_t default_ts_ms,
                           const struct tocsin_mention_limits *lim,
                           char *reason, size_t reasonlen)
{
    if (len > lim->max_entry_bytes)
        return fail(reason, reasonlen, "entry: %zu bytes is over the limit %zu",
                    len, lim->max_entry_bytes);
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return fail(reason, reasonlen, "not JSON: %s at column %d", jerr.text,
                    jerr.column);
    if (!json_is_object(doc)) {
        tocsin_err e = fail(reason, reasonlen, "not a JSON object but %s",
                            json_type_name(doc));
        json_decref(doc);
        return e;
    }
    struct decode d;
    decode_init(&d, default_ts_ms, lim, reason, reasonlen);
    const char *key;
    json_t *v;
    tocsin_err e = TOCSIN_OK;
    json_object_foreach(doc, key, v)
    {
        e = json_value(&d, attr_of(key, strlen(key)), v);
        if (e)
            break;
    }
    if (!e)
        e = decode_finish(&d, m);
    if (e) {
        json_decref(doc);
        return e;
    }
    m->doc = doc;
    return TOCSIN_OK;
}

void
tocsin_mention_release(struct tocsin_mention *m)
{
    if (m && m->doc) {
        json_decref(m->doc);
        m->doc = NULL;
    }
}
