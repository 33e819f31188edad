/* engine_test.c: the detection core, with time as an argument. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/engine.h"
#include "tocsin/event.h"
#include "tocsin/tz.h"
#include "tocsin_test.h"

#define MAXEV 64
struct rec {
    struct tocsin_alert_event ev[MAXEV];
    char *body[MAXEV];
    int n;
    int rows;
};

static void
on_event(void *arg, const struct tocsin_alert_event *ev)
{
    struct rec *r = arg;
    if (r->n < MAXEV) {
        r->ev[r->n] = *ev;
        tocsin_event_body(&r->body[r->n], ev, "oncall", "");
        r->ev[r->n].nsamples = ev->nsamples; /* pointers die after the call */
        r->n++;
    }
}

static void
on_score(void *arg, const struct tocsin_score_row *row)
{
    struct rec *r = arg;
    (void)row;
    r->rows++;
}

static void
rec_free(struct rec *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->body[i]);
}

static struct tocsin_engine *
engine(struct rec *r, int scores)
{
    struct tocsin_engine_opts o;
    tocsin_engine_opts_default(&o);
    struct tocsin_engine_hooks h = {on_event, scores ? on_score : NULL, r};
    struct tocsin_engine *e = NULL;
    CHECK_OK(tocsin_engine_new(&e, &o, &h));
    return e;
}

static void
add(struct tocsin_engine *e, const char *topic, int64_t ts, double sent,
    const char *text, int64_t followers)
{
    struct tocsin_mention m;
    memset(&m, 0, sizeof m);
    m.topics[0].p = topic;
    m.topics[0].n = strlen(topic);
    m.ntopics = 1;
    m.ts_ms = ts;
    m.count = 1;
    m.followers = followers;
    if (sent > -2) {
        m.sentiment = sent;
        m.has_sentiment = 1;
    }
    if (text) {
        m.text.p = text;
        m.text.n = strlen(text);
        m.author.p = "someone";
        m.author.n = 7;
    }
    CHECK_OK(tocsin_engine_add(e, &m, INT64_MAX));
}

#define T0 1699999980000LL /* a whole minute */
#define MIN 60000LL

/* Steady traffic: `per_min` mentions a minute, 10% negative, for `mins`. */
static int64_t
steady(struct tocsin_engine *e, const char *topic, int per_min, int64_t from,
       int mins)
{
    int64_t ts = from;
    for (int m = 0; m < mins; m++)
        for (int k = 0; k < per_min; k++) {
            ts = from + m * MIN + k * (MIN / per_min);
            add(e, topic, ts, (k % 10) == 0 ? -0.6 : 0.3,
                (k % 3) ? "bon vol, merci" : "flight was fine today", 10);
        }
    return from + mins * MIN;
}

static void
test_calm_topic_never_fires(void)
{
    struct rec r = {0};
    struct tocsin_engine *e = engine(&r, 0);
    steady(e, "calm", 12, T0, 240);
    CHECK(r.n == 0);
    tocsin_engine_free(e);
    rec_free(&r);
}

static void
test_burst_fires_within_60s_and_resolves_once(void)
{
    struct rec r = {0};
    struct tocsin_engine *e = engine(&r, 0);
    int64_t t = steady(e, "AirNova", 10, T0, 120);
    int64_t onset = t + 7000; /* mid-bucket */
    /* 10x: 100 a minute for 10 minutes, 70% negative, with texts. */
    for (int i = 0; i < 1000; i++) {
        int64_t ts = onset + i * 600;
        add(e, "AirNova", ts, (i % 10) < 7 ? -0.7 : 0.2,
            (i % 10) < 7 ? "panne encore, remboursement ?" : "ok",
            i == 500 ? 250000 : i);
    }
    steady(e, "AirNova", 10, onset + 10 * MIN + MIN, 30);
    REQUIRE(r.n >= 2);
    int fired = 0, resolved = 0;
    for (int i = 0; i < r.n; i++) {
        if (r.ev[i].kind != TOCSIN_ALERT_VOLUME)
            continue;
        if (r.ev[i].status == TOCSIN_ALERT_FIRING) {
            fired++;
            CHECK(r.ev[i].at_ms - onset <= 60000);
            CHECK(r.ev[i].observed > 3 * r.ev[i].expected);
            CHECK_STR(r.ev[i].severity, "critical");
            CHECK(strstr(r.body[i], "\"alertname\":\"MentionVolumeSpike\""));
            CHECK(strstr(r.body[i], "\"version\":\"4\""));
            CHECK(r.ev[i].nsamples > 0);
            CHECK(r.ev[i].nterms >= 1);
            CHECK(strstr(r.body[i], "\"emerging_terms\":[\"") != NULL);
            CHECK(strstr(r.body[i], "talk of ") != NULL);
        } else {
            resolved++;
            CHECK(r.ev[i].ends_ms > r.ev[i].starts_ms);
        }
    }
    CHECK(fired == 1);
    CHECK(resolved == 1);
    tocsin_engine_free(e);
    rec_free(&r);
}

static void
test_small_absolute_change_is_no_crisis(void)
{
    struct rec r = {0};
    struct tocsin_engine *e = engine(&r, 0);
    /* A topic that is silent, then gets 2 mentions. */
    add(e, "tiny", T0, 0.1, NULL, 1);
    steady(e, "other", 5, T0, 120);
    add(e, "tiny", T0 + 120 * MIN + 1000, -0.9, NULL, 1);
    add(e, "tiny", T0 + 120 * MIN + 2000, -0.9, NULL, 1);
    steady(e, "other", 5, T0 + 121 * MIN, 30);
    CHECK(r.n == 0);
    tocsin_engine_free(e);
    rec_free(&r);
}

static void
test_negativity_shift_at_constant_volume(void)
{
    struct rec r = {0};
    struct tocsin_engine *e = engine(&r, 0);
    int64_t t = steady(e, "Canal", 20, T0, 180);
    for (int m = 0; m < 10; m++)
        for (int k = 0; k < 20; k++)
            add(e, "Canal", t + m * MIN + k * 3000, k < 14 ? -0.8 : 0.4,
                "nul", 5);
    int neg = 0, vol = 0;
    for (int i = 0; i < r.n; i++) {
        neg += r.ev[i].kind == TOCSIN_ALERT_NEGATIVITY &&
               r.ev[i].status == TOCSIN_ALERT_FIRING;
        vol += r.ev[i].kind == TOCSIN_ALERT_VOLUME;
    }
    CHECK(neg == 1);
    CHECK(vol == 0);
    tocsin_engine_free(e);
    rec_free(&r);
}

static void
test_late_mentions_are_counted_not_bucketed(void)
{
    struct rec r = {0};
    struct tocsin_engine *e = engine(&r, 0);
    steady(e, "x", 5, T0, 10);
    add(e, "x", T0, 0.1, NULL, 1); /* 10 min late, lateness is 30 s */
    add(e, "x", T0 + 10 * MIN - 20000, 0.1, NULL, 1); /* within lateness */
    struct tocsin_engine_stats st;
    tocsin_engine_get_stats(e, &st);
    CHECK(st.late == 1);
    CHECK(st.mentions == 51);
    tocsin_engine_free(e);
    rec_free(&r);
}

static void
test_scores_one_row_per_topic_and_bucket(void)
{
    struct rec r = {0};
    struct tocsin_engine *e = engine(&r, 1);
    for (int m = 0; m < 10; m++) {
        steady(e, "a", 2, T0 + m * MIN, 1);
        steady(e, "b", 2, T0 + m * MIN, 1);
    }
    tocsin_engine_advance(e, T0 + 10 * MIN, INT64_MAX);
    /* Ten minutes each, plus for "a" the minute before its first mention,
     * still open for late mentions when the engine started ("b" came after
     * that minute had closed). */
    CHECK(r.rows == 21);
    tocsin_engine_free(e);
    rec_free(&r);
}

struct blobs {
    char *topic[16];
    void *blob[16];
    size_t len[16];
    int n;
};

static int
put(void *arg, const char *topic, const void *blob, size_t len)
{
    struct blobs *b = arg;
    if (b->n == 16)
        return -1;
    b->topic[b->n] = strdup(topic);
    b->blob[b->n] = malloc(len);
    memcpy(b->blob[b->n], blob, len);
    b->len[b->n++] = len;
    return 0;
}

/* Save b's topics and meta into bl, free it and restore a new engine
 * from them (topics in reverse order: restore_done puts them back). */
static struct tocsin_engine *
restart(struct tocsin_engine *b, struct rec *rb, struct blobs *bl)
{
    char meta[512];
    size_t mlen = 0;
    CHECK_OK(tocsin_engine_save_dirty(b, put, bl));
    CHECK_OK(tocsin_engine_save_meta(b, meta, sizeof meta, &mlen));
    tocsin_engine_free(b);
    b = engine(rb, 0);
    CHECK_OK(tocsin_engine_restore_meta(b, meta, mlen));
    for (int i = bl->n - 1; i >= 0; i--)
        CHECK_OK(tocsin_engine_restore_topic(b, bl->topic[i], bl->blob[i],
                                             bl->len[i]));
    tocsin_engine_restore_done(b);
    return b;
}

static void
restart_free(struct tocsin_engine *a, struct tocsin_engine *b,
             struct rec *ra, struct rec *rb, struct blobs *bl)
{
    for (int i = 0; i < bl->n; i++) {
        free(bl->topic[i]);
        free(bl->blob[i]);
    }
    tocsin_engine_free(a);
    tocsin_engine_free(b);
    rec_free(ra);
    rec_free(rb);
}

/* 12 mentions a minute with ids for 4 hours; from 3 h on, for 10
 * minutes, a second and a third collector deliver each one again within
 * seconds.  Returns the engine's duplicates count. */
static uint64_t
feed_with_copies(int64_t dedup_window_ms, struct rec *r)
{
    struct tocsin_engine_opts o;
    tocsin_engine_opts_default(&o);
    o.dedup_window_ms = dedup_window_ms;
    struct tocsin_engine_hooks h = {on_event, NULL, r};
    struct tocsin_engine *e = NULL;
    CHECK_OK(tocsin_engine_new(&e, &o, &h));
    struct tocsin_mention m;
    memset(&m, 0, sizeof m);
    m.topics[0].p = "AirNova";
    m.topics[0].n = 7;
    m.ntopics = 1;
    m.count = 1;
    m.followers = -1;
    m.has_sentiment = 1;
    char id[32];
    for (int i = 0; i < 240 * 12; i++) {
        int copies = i >= 180 * 12 && i < 190 * 12 ? 3 : 1;
        snprintf(id, sizeof id, "tw:%d", i);
        m.id.p = id;
        m.id.n = strlen(id);
        m.sentiment = i % 10 ? 0.3 : -0.6;
        for (int c = 0; c < copies; c++) {
            m.ts_ms = T0 + i * (MIN / 12) + c * 1000;
            CHECK_OK(tocsin_engine_add(e, &m, INT64_MAX));
        }
    }
    struct tocsin_engine_stats st;
    tocsin_engine_get_stats(e, &st);
    tocsin_engine_free(e);
    return st.duplicates;
}

static void
test_a_mention_delivered_twice_counts_once(void)
{
    /* At least once delivery: a mention written again (a collector's
     * retry, two collectors matching the same post) carries the same
     * id.  Counted three times, ten minutes of them page as a 3x spike;
     * by id, they are the usual traffic. */
    struct rec r = {0};
    CHECK(feed_with_copies(3600000, &r) == 2 * 10 * 12);
    CHECK(r.n == 0);
    rec_free(&r);
    struct rec off = {0};
    CHECK(feed_with_copies(0, &off) == 0);
    CHECK(off.n >= 1 &&
          off.ev[0].kind == TOCSIN_ALERT_VOLUME);
    rec_free(&off);
}

static void
test_state_learned_under_other_settings_is_refused(void)
{
    /* Hours and weekends learned in another zone, or buckets of another
     * width, would be read wrong: the meta says what the state was
     * learned under, and restoring it elsewhere fails (ingest then
     * rebuilds the state from the streams' history). */
    struct rec r = {0};
    struct tocsin_tz *ny = NULL, *paris = NULL;
    REQUIRE(tocsin_tz_load(&ny, "America/New_York") == TOCSIN_OK);
    REQUIRE(tocsin_tz_load(&paris, "Europe/Paris") == TOCSIN_OK);
    struct tocsin_engine_opts o;
    tocsin_engine_opts_default(&o);
    struct tocsin_engine_hooks h = {on_event, NULL, &r};
    const struct tocsin_tz *zones[3] = {NULL, ny, paris};
    char meta[3][512];
    size_t len[3];
    for (int i = 0; i < 3; i++) {
        struct tocsin_engine *e = NULL;
        o.tz = zones[i];
        CHECK_OK(tocsin_engine_new(&e, &o, &h));
        steady(e, "AirNova", 10, T0, 30);
        CHECK_OK(tocsin_engine_save_meta(e, meta[i], sizeof meta[i], &len[i]));
        tocsin_engine_free(e);
    }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            struct tocsin_engine *e = NULL;
            o.tz = zones[j];
            CHECK_OK(tocsin_engine_new(&e, &o, &h));
            tocsin_err want = i == j ? TOCSIN_OK : TOCSIN_EINVAL;
            CHECK_ERR(tocsin_engine_restore_meta(e, meta[i], len[i]), want);
            tocsin_engine_free(e);
        }
    struct tocsin_engine *e = NULL;
    o.tz = NULL;
    o.bucket_ms = 300000;
    CHECK_OK(tocsin_engine_new(&e, &o, &h));
    CHECK_ERR(tocsin_engine_restore_meta(e, meta[0], len[0]), TOCSIN_EINVAL);
    tocsin_engine_free(e);
    /* Per-topic zones are settings too: the same ones read back, others
     * (another pattern, or none) do not. */
    char *pats[] = {"* US"}, *other[] = {"*-us"};
    struct tocsin_topic_zone zus = {ny, pats, 1}, zother = {ny, other, 1};
    o.bucket_ms = 60000;
    o.zones = &zus;
    o.nzones = 1;
    char zmeta[512];
    size_t zlen;
    CHECK_OK(tocsin_engine_new(&e, &o, &h));
    CHECK_OK(tocsin_engine_save_meta(e, zmeta, sizeof zmeta, &zlen));
    tocsin_engine_free(e);
    CHECK_OK(tocsin_engine_new(&e, &o, &h));
    CHECK_OK(tocsin_engine_restore_meta(e, zmeta, zlen));
    CHECK_ERR(tocsin_engine_restore_meta(e, meta[0], len[0]), TOCSIN_EINVAL);
    tocsin_engine_free(e);
    o.zones = &zother;
    CHECK_OK(tocsin_engine_new(&e, &o, &h));
    CHECK_ERR(tocsin_engine_restore_meta(e, zmeta, zlen), TOCSIN_EINVAL);
    tocsin_engine_free(e);
    o.zones = NULL;
    o.nzones = 0;
    CHECK_OK(tocsin_engine_new(&e, &o, &h));
    CHECK_ERR(tocsin_engine_restore_meta(e, zmeta, zlen), TOCSIN_EINVAL);
    tocsin_engine_free(e);
    tocsin_tz_free(ny);
    tocsin_tz_free(paris);
    rec_free(&r);
}

/* Alerts of topic `name` firing, by kind (bit k). */
struct firing_of {
    const char *name;
    int bits;
};

static void
firing_cb(void *arg, const struct tocsin_topic_info *t)
{
    struct firing_of *f = arg;
    if (strcmp(t->name, f->name) == 0)
        f->bits = t->firing[0] | t->firing[1] << 1;
}

static int
firing_bits(const struct tocsin_engine *e, const char *name)
{
    struct firing_of f = {name, 0};
    tocsin_engine_foreach_topic(e, firing_cb, &f);
    return f.bits;
}

static void
test_snapshot_restore_continues_identically(void)
{
    /* Run A straight through; run B is saved and restored midway. */
    struct rec ra = {0}, rb = {0};
    struct tocsin_engine *a = engine(&ra, 0), *b = engine(&rb, 0);
    int64_t t = steady(a, "AirNova", 10, T0, 120);
    steady(b, "AirNova", 10, T0, 120);
    steady(a, "Canal", 3, T0, 120);
    steady(b, "Canal", 3, T0, 120);
    for (int i = 0; i < 300; i++)
        add(a, "AirNova", t + i * 600, -0.7, "en panne", i);
    for (int i = 0; i < 150; i++)
        add(b, "AirNova", t + i * 600, -0.7, "en panne", i);
    struct blobs bl = {0};
    /* Saved while its alerts fire (a topic keeps their state only then),
     * restored firing. */
    int before = firing_bits(b, "AirNova");
    CHECK(before != 0);
    CHECK(firing_bits(b, "Canal") == 0);
    b = restart(b, &rb, &bl);
    CHECK(firing_bits(b, "AirNova") == before);
    CHECK(firing_bits(b, "Canal") == 0);
    struct tocsin_engine_stats st;
    tocsin_engine_get_stats(b, &st);
    CHECK(st.firing == (uint64_t)((before & 1) + (before >> 1)));
    for (int i = 150; i < 300; i++)
        add(b, "AirNova", t + i * 600, -0.7, "en panne", i);
    steady(a, "AirNova", 10, t + 4 * MIN, 30);
    steady(b, "AirNova", 10, t + 4 * MIN, 30);
    REQUIRE(ra.n > 0);
    CHECK(ra.n == rb.n);
    for (int i = 0; i < ra.n && i < rb.n; i++)
        CHECK_STR(ra.body[i], rb.body[i]);
    /* Resolved in both, after the restart as before it. */
    CHECK(firing_bits(a, "AirNova") == firing_bits(b, "AirNova"));
    CHECK_ERR(tocsin_engine_restore_topic(b, "junk", "xx", 2),
              TOCSIN_EINVAL);
    restart_free(a, b, &ra, &rb, &bl);
}

/* 20 a minute as one record per minute, with a one-minute spike to 4x
 * every 4 hours, over minutes [from, to); a 10x minute at `burst`. */
static void
spiky(struct tocsin_engine *e, int64_t from, int64_t to, int64_t burst)
{
    for (int64_t m = from; m < to; m++) {
        struct tocsin_mention mm;
        memset(&mm, 0, sizeof mm);
        mm.topics[0].p = "spiky";
        mm.topics[0].n = 5;
        mm.ntopics = 1;
        mm.count = m == burst ? 200 : (m % 240 == 117 ? 80 : 20);
        mm.ts_ms = T0 + m * MIN + MIN - 1;
        mm.followers = -1;
        CHECK_OK(tocsin_engine_add(e, &mm, INT64_MAX));
    }
}

static void
test_snapshot_keeps_a_topic_s_own_tail(void)
{
    /* A topic that has learned its spikes keeps them across a restart: a
     * restored engine pages like one that ran straight through (for the
     * 10x minute, not for the 4x spikes, which a fresh topic pages for). */
    struct rec ra = {0}, rb = {0};
    struct tocsin_engine *a = engine(&ra, 0), *b = engine(&rb, 0);
    int64_t day = 1440, burst = 3 * day + 600;
    spiky(a, 0, 4 * day, burst);
    spiky(b, 0, 2 * day, burst);
    struct blobs bl = {0};
    int before = rb.n;
    b = restart(b, &rb, &bl);
    spiky(b, 2 * day, 4 * day, burst);
    REQUIRE(ra.n == rb.n);
    for (int i = 0; i < ra.n; i++)
        CHECK_STR(ra.body[i], rb.body[i]);
    /* After the restart the 10x minute fires; of the 12 spikes, one at
     * most (a fresh tail would let the model page for 8 of them). */
    int fired = 0, burst_fired = 0;
    for (int i = before; i < rb.n; i++) {
        if (rb.ev[i].status != TOCSIN_ALERT_FIRING)
            continue;
        if (rb.ev[i].at_ms == T0 + (burst + 1) * MIN)
            burst_fired = 1;
        else
            fired++;
    }
    CHECK(burst_fired);
    CHECK(fired <= 1);
    restart_free(a, b, &ra, &rb, &bl);
}

/* Two hours of "old" with a crisis, read a day later. */
static void
feed_old_crisis(struct tocsin_engine *e)
{
    int64_t now = T0 + 24 * 60 * MIN; /* a day after the data */
    int64_t t = T0;
    for (int m = 0; m < 120; m++)
        for (int k = 0; k < 10; k++) {
            struct tocsin_mention mm;
            memset(&mm, 0, sizeof mm);
            mm.topics[0].p = "old";
            mm.topics[0].n = 3;
            mm.ntopics = 1;
            mm.count = m >= 60 && m < 70 ? 10 : 1; /* a crisis */
            mm.ts_ms = t + m * MIN + k * 6000;
            mm.followers = -1;
            CHECK_OK(tocsin_engine_add(e, &mm, now));
        }
}

static void
test_catch_up_pages_nobody_for_old_crises(void)
{
    struct tocsin_engine_opts o;
    tocsin_engine_opts_default(&o);
    o.catchup_max_age_ms = 15 * MIN;
    struct rec r = {0};
    struct tocsin_engine_hooks h = {on_event, NULL, &r};
    struct tocsin_engine *e = NULL;
    CHECK_OK(tocsin_engine_new(&e, &o, &h));
    feed_old_crisis(e);
    struct tocsin_engine_stats st;
    tocsin_engine_get_stats(e, &st);
    CHECK(r.n == 0);
    CHECK(st.past_crises == 1);
    tocsin_engine_free(e);
    rec_free(&r);
}

/* set_catchup turns catch-up on for an engine made to page everything
 * (the ingest loop rebuilding state from history), and off again. */
static void
test_set_catchup(void)
{
    struct tocsin_engine_opts o;
    tocsin_engine_opts_default(&o);
    o.catchup_max_age_ms = 0;
    for (int set = 0; set < 2; set++) {
        struct rec r = {0};
        struct tocsin_engine_hooks h = {on_event, NULL, &r};
        struct tocsin_engine *e = NULL;
        CHECK_OK(tocsin_engine_new(&e, &o, &h));
        if (set)
            tocsin_engine_set_catchup(e, 15 * MIN);
        feed_old_crisis(e);
        struct tocsin_engine_stats st;
        tocsin_engine_get_stats(e, &st);
        if (set) {
            CHECK(r.n == 0);
            CHECK(st.past_crises == 1);
        } else {
            CHECK(r.n == 2); /* fired and resolved, a day late */
            CHECK(st.past_crises == 0);
        }
        tocsin_engine_free(e);
        rec_free(&r);
    }
}

static void
test_bad_options_rejected(void)
{
    struct tocsin_engine_opts o;
    tocsin_engine_opts_default(&o);
    o.lateness_ms = 9 * o.bucket_ms;
    struct tocsin_engine *e = (struct tocsin_engine *)&o;
    CHECK_ERR(tocsin_engine_new(&e, &o, NULL), TOCSIN_EINVAL);
    CHECK(e == (struct tocsin_engine *)&o);
    tocsin_engine_free(NULL);
}

TOCSIN_TESTS(TOCSIN_TEST(test_calm_topic_never_fires),
             TOCSIN_TEST(test_state_learned_under_other_settings_is_refused),
             TOCSIN_TEST(test_a_mention_delivered_twice_counts_once),
             TOCSIN_TEST(test_set_catchup),
             TOCSIN_TEST(test_burst_fires_within_60s_and_resolves_once),
             TOCSIN_TEST(test_small_absolute_change_is_no_crisis),
             TOCSIN_TEST(test_negativity_shift_at_constant_volume),
             TOCSIN_TEST(test_late_mentions_are_counted_not_bucketed),
             TOCSIN_TEST(test_scores_one_row_per_topic_and_bucket),
             TOCSIN_TEST(test_snapshot_restore_continues_identically),
             TOCSIN_TEST(test_snapshot_keeps_a_topic_s_own_tail),
             TOCSIN_TEST(test_catch_up_pages_nobody_for_old_crises),
             TOCSIN_TEST(test_bad_options_rejected));
