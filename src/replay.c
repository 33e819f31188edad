/*
 * replay.c: mentions from JSON lines through the engine (see replay.h).
 * Owns the engine for the duration of the call.  Single-threaded.
 */
#include "tocsin/replay.h"

#include <jansson.h>
#include <stdint.h>
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
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f}", "topic",
                          row->topic, "ts", (json_int_t)row->ts_ms, "count",
                          (json_int_t)row->count, "negative",
                          (json_int_t)row->negative, "scored",
                          (json_int_t)row->scored, "volume_score",
                          row->volume_score, "negativity_score",
                          row->negativity_score);
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

tocsin_err
tocsin_replay_run(const struct tocsin_config *cfg, FILE *in, const char *name,
                  FILE *out, FILE *err, int scores,
                  const struct tocsin_sentiment *scorer,
                  struct tocsin_replay_result *res)
{
    struct tocsin_replay_result rr = {0};
    struct replay r = {out,
                       cfg->nreceivers ? cfg->receivers[0].name : "replay",
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
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t max_ts = INT64_MIN;
    char reason[256];
    while ((n = getline(&line, &cap, in)) > 0) {
        rr.lines++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        struct tocsin_mention m;
        if (tocsin_mention_decode_json(&m, line, (size_t)n, INT64_MIN, &lim,
                                       reason, sizeof reason)) {
            fprintf(err, "%s:%llu: %s\n", name, rr.lines, reason);
            rr.rejected++;
            continue;
        }
        if (m.ts_ms == INT64_MIN) {
            fprintf(err, "%s:%llu: ts: missing (required in replay)\n", name,
                    rr.lines);
            tocsin_mention_release(&m);
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
            fprintf(err, "%s:%llu: topic limit reached (max_topics %d)\n",
                    name, rr.lines, cfg->detection.max_topics);
            rr.rejected++;
        } else {
            rr.mentions++;
        }
        tocsin_mention_release(&m);
        if (r.failed)
            break;
    }
    free(line);
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
