/*
 * replay.c: mentions from JSON lines through the engine (see replay.h).
 * Owns the engine and the input buffer for the duration of the call; reads
 * the input in blocks and decodes each line in place.  Single-threaded.
 */
#include "tocsin/replay.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/engine.h"
#include "tocsin/event.h"
#include "tocsin/ingest.h"
#include "tocsin/mention.h"
#include "tocsin/sentiment.h"

struct replay {
    FILE *out;
    const char *receiver;
    const char *external_url;
    struct tocsin_replay_result *res;
    int failed;
};

static void
on_event(void *arg, const struct tocsin_alert_event *ev)
{
    struct replay *r = arg;
    char *body = NULL;
    if (tocsin_event_body(&body, ev, r->receiver, r->external_url)) {
        r->failed = 1;
        return;
    }
    fputs(body, r->out);
    fputc('\n', r->out);
    free(body);
    r->res->events++;
}

static void
on_score(void *arg, const struct tocsin_score_row *row)
{
    struct replay *r = arg;
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f}", "topic", row->topic,
                  "ts", (json_int_t)row->ts_ms, "count", (json_int_t)row->count,
                  "negative", (json_int_t)row->negative, "scored",
                  (json_int_t)row->scored, "volume_score", row->volume_score,
                  "negativity_score", row->negativity_score);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                       JSON_REAL_PRECISION(6))
                   : NULL;
    if (!text) {
        r->failed = 1;
    } else {
        fputs(text, r->out);
        fputc('\n', r->out);
        r->res->rows++;
    }
    free(text);
    json_decref(o);
}

/* ---- reading lines in blocks ---- */

#define BLOCK (1u << 20) /* bytes read at a time */

/*
 * The input read in blocks of BLOCK bytes into one buffer; lines are handed
 * out in place.  A line longer than the entry limit is not kept: it is
 * skipped to its end and reported by its length.
 */
struct lines {
    FILE *in;
    char *buf;
    size_t cap;      /* BLOCK + the longest line kept */
    size_t off, len; /* unread bytes are buf[off, len) */
    size_t max;      /* the longest line kept */
    size_t skipped;  /* length of the over-long line just skipped */
    int eof;
    tocsin_err err;
};

static tocsin_err
lines_init(struct lines *L, FILE *in, size_t max)
{
    memset(L, 0, sizeof *L);
    L->in = in;
    L->max = max;
    L->cap = BLOCK + max + 1;
    L->buf = malloc(L->cap);
    return L->buf ? TOCSIN_OK : TOCSIN_ENOMEM;
}

static void
lines_fini(struct lines *L)
{
    free(L->buf);
    L->buf = NULL;
}

/* Read more after the unread bytes (moved to the front); 0 at EOF. */
static size_t
lines_fill(struct lines *L)
{
    if (L->eof)
        return 0;
    if (L->off) {
        memmove(L->buf, L->buf + L->off, L->len - L->off);
        L->len -= L->off;
        L->off = 0;
    }
    size_t room = L->cap - L->len;
    size_t got = fread(L->buf + L->len, 1, room < BLOCK ? room : BLOCK, L->in);
    if (got == 0) {
        L->eof = 1;
        if (ferror(L->in))
            L->err = TOCSIN_EIO;
    }
    L->len += got;
    return got;
}

/*
 * The next line, without its newline, in line and n; n is SIZE_MAX for a line
 * over the limit (its length in L->skipped).  Returns 0 at the end.
 */
static int
lines_next(struct lines *L, const char **line, size_t *n)
{
    size_t scanned = 0; /* bytes of the current line known to hold no \n */
    for (;;) {
        char *s = L->buf + L->off;
        size_t avail = L->len - L->off;
        char *nl =
            avail > scanned ? memchr(s + scanned, '\n', avail - scanned) : NULL;
        if (nl) {
            *line = s;
            *n = (size_t)(nl - s);
            L->off += *n + 1;
            return 1;
        }
        scanned = avail;
        if (avail > L->max) {
            /* Too long to keep: skip to the end of the line. */
            size_t total = avail;
            L->off = L->len = 0;
            for (;;) {
                if (!lines_fill(L))
                    break;
                nl = memchr(L->buf, '\n', L->len);
                if (nl) {
                    total += (size_t)(nl - L->buf);
                    L->off = (size_t)(nl - L->buf) + 1;
                    break;
                }
                total += L->len;
                L->len = 0;
            }
            L->skipped = total;
            *line = NULL;
            *n = SIZE_MAX;
            return 1;
        }
        if (!lines_fill(L)) {
            if (avail == 0)
                return 0;
            /* The last line, without a newline. */
            *line = L->buf + L->off;
            *n = avail;
            L->off = L->len;
            return 1;
        }
    }
}

tocsin_err
tocsin_replay_run(const struct tocsin_config *cfg, FILE *in, const char *name,
                  FILE *out, FILE *err, int scores,
                  const struct tocsin_sentiment *scorer,
                  struct tocsin_replay_result *res)
{
    struct tocsin_replay_result rr = {0};
    struct replay r = {out, cfg->nreceivers ? cfg->receivers[0].name : "replay",
                       cfg->alerts.external_url, &rr, 0};
    struct tocsin_engine_opts o;
    tocsin_engine_opts_from_config(&o, cfg);
    o.catchup_max_age_ms = 0;
    struct tocsin_engine_hooks h = {on_event, scores ? on_score : NULL, &r};
    struct tocsin_engine *e = NULL;
    tocsin_err rc = tocsin_engine_new(&e, &o, &h);
    if (rc)
        return rc;
    struct tocsin_mention_limits lim = {(size_t)cfg->redis.max_entry_bytes,
                                        (size_t)cfg->redis.max_field_bytes};
    struct tocsin_mention_scratch sc;
    tocsin_mention_scratch_init(&sc);
    struct lines L;
    rc = lines_init(&L, in, lim.max_entry_bytes);
    const char *line;
    size_t n;
    int64_t max_ts = INT64_MIN;
    char reason[256];
    while (!rc && !r.failed && lines_next(&L, &line, &n)) {
        rr.lines++;
        if (n == SIZE_MAX) {
            fprintf(err, "%s:%llu: entry: %zu bytes is over the limit %zu\n",
                    name, rr.lines, L.skipped, lim.max_entry_bytes);
            rr.rejected++;
            continue;
        }
        while (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        struct tocsin_mention m;
        tocsin_err de = tocsin_mention_decode_json(&m, line, n, INT64_MIN, &lim,
                                                   &sc, reason, sizeof reason);
        if (de == TOCSIN_ENOMEM) {
            rc = de;
            break;
        }
        if (de) {
            fprintf(err, "%s:%llu: %s\n", name, rr.lines, reason);
            rr.rejected++;
            continue;
        }
        if (m.ts_ms == INT64_MIN) {
            fprintf(err, "%s:%llu: ts: missing (required in replay)\n", name,
                    rr.lines);
            rr.rejected++;
            continue;
        }
        if (scorer && !m.has_sentiment && !m.has_negative && m.text.n) {
            char lang[16] = "";
            if (m.lang.n && m.lang.n < sizeof lang) {
                memcpy(lang, m.lang.p, m.lang.n);
                lang[m.lang.n] = '\0';
            }
            m.sentiment = tocsin_sentiment_score(scorer, m.text.p, m.text.n,
                                                 tocsin_lang_parse(lang));
            m.has_sentiment = 1;
        }
        if (m.ts_ms > max_ts)
            max_ts = m.ts_ms;
        if (tocsin_engine_add(e, &m, INT64_MAX) == TOCSIN_ERANGE) {
            fprintf(err, "%s:%llu: topic limit reached (max_topics %d)\n", name,
                    rr.lines, cfg->detection.max_topics);
            rr.rejected++;
        } else {
            rr.mentions++;
        }
    }
    if (!rc && L.err)
        rc = L.err;
    lines_fini(&L);
    tocsin_mention_scratch_fini(&sc);
    if (rc) {
        tocsin_engine_free(e);
        return rc;
    }
    if (max_ts != INT64_MIN && !r.failed) {
        /* Close every bucket that holds data. */
        int64_t b = o.bucket_ms;
        int64_t end = (max_ts >= 0 ? max_ts / b : (max_ts - b + 1) / b) * b + b;
        tocsin_engine_advance(e, end, INT64_MAX);
    }
    tocsin_engine_free(e);
    fflush(out);
    if (res)
        *res = rr;
    if (r.failed)
        return TOCSIN_ENOMEM;
    if (ferror(in) || ferror(out))
        return TOCSIN_EIO;
    return TOCSIN_OK;
}
