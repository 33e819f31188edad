/*
 * engine.c: the detection core (see engine.h).
 *
 * Owns the topic table (an insertion-ordered array plus an open-addressing
 * index), each topic's bucket ring, baselines, alert states and evidence
 * samples.  Runs on one thread: the ingest loop, or replay.  No I/O, no
 * clock.
 *
 * Detectors, per closed bucket, over windows of 1, 5 and 15 buckets, two
 * exponentially weighted windows (detect.h) and, for negativity, a CUSUM
 * run; per open bucket (partial_test) over it and the 1 or 2 before it:
 *  - volume: observed count X against the baseline's expectation E for the
 *    window, as an overdispersed count (quasi-Poisson with the dispersion
 *    learned by the baseline); the tail probability becomes a score in
 *    [0, 1], gated by the floors min_mentions and min_ratio.
 *  - negativity: negatives K among N scored mentions against the topic's
 *    usual share p0 (binomial tail, or the CUSUM's likelihood ratio),
 *    gated by min_negative and by how far the share rose.
 * Volume scores are read against the higher of the model's threshold and
 * the topic's own (struct tocsin_tail: how far its noise usually goes,
 * learned from the raw surprise of each closed bucket).
 * The best window's score drives the alert lifecycle; score rows carry
 * the alert's score on the bucket where it fired and, under fire_score,
 * the onset score (tocsin_onset_score), which ranks episode starts.
 * The baseline (detect.c) is seasonal, learned from winsorised counts (a
 * spike does not inflate it) and slowed while a topic runs hot.
 *
 * Topics with no mention for 15 closed buckets and no alert are "dormant":
 * global bucket closing skips them and they catch up, identically, when a
 * mention arrives (unless score rows are wanted, which needs every row).
 */
#include "tocsin/engine.h"

#include <fnmatch.h>
#include <math.h>
#include <stddef.h>
#include "tocsin/dedup.h"
#include "tocsin/detect.h"
#include "tocsin/hash.h"
#include "tocsin/intdiv.h"
#include "tocsin/stats.h"
#include "tocsin/terms.h"
#include "tocsin/tz.h"
#include <stdlib.h>
#include <string.h>

#define OPEN_MAX        10 /* open buckets at most: lateness <= 8 buckets */
#define NEXACT          3 /* windows summed from the ring */
#define NCUSUM          (NEXACT + TOCSIN_NEWIN) /* the negativity CUSUM */
#define NWIN            (NCUSUM + 1) /* plus the long ones and the CUSUM */
#define MAX_WIN         15
#define LASTS_FRACTION  0.25 /* see negativity_lasts */
#define LASTS_WIN       3    /* buckets: back to usual within minutes */
#define LASTS_LOG_P     (-4.605170185988091) /* ln 0.01, see share_still_up */
#define LASTS_HOLD_AGE  60   /* buckets, see calm_needed */
#define WARM_RATIO      1.25 /* see lifecycle_closed */
/* The ring holds the longest window's closed buckets, every open one and
 * the slot cleared ahead for the next: no more (12 bytes a slot).  What
 * the baseline expected of a bucket is known once it closes and read only
 * for the last MAX_WIN closed ones: a ring of its own, by bucket index. */
#define RING            (MAX_WIN + OPEN_MAX + 1)
#define EXP_RING        16 /* a power of two, at least MAX_WIN */
_Static_assert(EXP_RING >= MAX_WIN && (EXP_RING & (EXP_RING - 1)) == 0,
               "the expectation ring keeps the MAX_WIN closed buckets");
#define PARTIAL_PREV    2 /* closed buckets added to the open one */
#define DISP_LAG        6 /* buckets: past the 5-bucket window, see learn() */
_Static_assert(DISP_LAG <= MAX_WIN, "the ring keeps MAX_WIN closed buckets");
#define HOT_SAMPLES     TOCSIN_ENGINE_MAX_SAMPLES
#define BUCKET_SAMPLES  3
#define TEXT_MAX        560
#define AUTHOR_MAX      64
#define URL_MAX         512
#define ID_MAX          64
#define MU_FLOOR        0.01
#define DEDUP_MAX_IDS   1000000 /* ids a dedup window holds at most */
#define SNAP_VERSION    9u
#define META_VERSION    2u
#define META_ZONE_MAX   64

static const int windows[NEXACT] = {1, 5, MAX_WIN};

/* Ring slot of bucket index b (any sign). */
static inline size_t
slot(int64_t b)
{
    int64_t r = b % RING;
    return (size_t)(r < 0 ? r + RING : r);
}

struct bucket {
    uint32_t count, neg, scored;
};

struct alert_state {
    uint8_t firing;
    uint8_t announced;
    uint8_t critical;
    uint8_t win;  /* index of the window that fired (calm is judged there) */
    uint32_t calm;
    int64_t starts_ms;
    int64_t window_ms;
    float score, observed, expected, negatives, scored, neg_base;
};

/* Everything about a topic that is persisted, as one plain struct. */
struct topic_state {
    uint64_t seq;         /* insertion order */
    int64_t closed_upto;  /* buckets with an index below this are closed */
    int64_t next_eval_ms; /* next partial-bucket test */
    uint32_t nclosed;     /* closed buckets so far (saturating) */
    uint32_t zero_run;    /* consecutive closed buckets without mentions */
    int64_t agg_bidx;     /* last bucket fed a pre-aggregated record */
    struct tocsin_baseline base;
    struct tocsin_tail tail; /* the topic's own tail of volume surprise */
    float last_vol, last_neg;
    float onset_peak[2];   /* decaying peak surprise (decades), by kind */
    int64_t fire_after[2]; /* windows starting before this bucket may not
                              fire again (they hold the last episode) */
    struct bucket ring[RING];
    float exp[EXP_RING]; /* by bucket index: the count the baseline
                            expected for each of the last closed buckets */
};

/* The expectation of closed bucket b, one of the last MAX_WIN closed. */
static inline float *
exp_at(struct topic_state *s, int64_t b)
{
    return &s->exp[(uint64_t)b & (EXP_RING - 1)];
}

static inline double
exp_of(const struct topic_state *s, int64_t b)
{
    return s->exp[(uint64_t)b & (EXP_RING - 1)];
}

/*
 * A sample post kept as evidence: one allocation, the header then the
 * strings.  A topic's samples are pointers (NULL: an empty slot), so the
 * slots cost 8 bytes until they are used.
 */
struct sample_rec {
    int64_t followers;
    int64_t ts;
    uint32_t len;
    uint8_t neg;
    char blob[]; /* text \0 author \0 url \0 id \0 */
};

#define SAMPLE_BLOB_MAX (TEXT_MAX + AUTHOR_MAX + URL_MAX + ID_MAX + 4)

struct samples {
    int64_t bidx[2];
    struct sample_rec *bucket[2][BUCKET_SAMPLES];
    struct sample_rec *hot[HOT_SAMPLES];
};

/* A topic and its name, one allocation.  The name's hash (the index's) is
 * computed again when the index grows rather than kept: 8 bytes a topic.
 * Its alerts' state (2 x 48 bytes) exists only while one of them fires:
 * nothing of an alert that does not fire is read (firing starts it
 * afresh). */
struct topic {
    struct samples *samples;
    struct tocsin_terms *terms; /* only for topics whose mentions have text */
    struct alert_state *alert;  /* [kind], or NULL: neither fires */
    struct topic_state s;
    uint8_t dirty;
    /* Score rows only (not saved): bit k set once a row has shown the
     * firing of the current alert of kind k. */
    uint8_t row_shown;
    uint8_t zone; /* 0: the engine's; k: opts.zones[k - 1] (by name) */
    char name[]; /* NUL-terminated, in the topic's own allocation */
};

struct tocsin_engine {
    struct tocsin_engine_opts o;
    struct tocsin_engine_hooks hooks;
    struct tocsin_detect_params dp;   /* the engine's zone */
    struct tocsin_detect_params *dps; /* [nzones]: dp in each topic zone */
    struct tocsin_tz_memo *memos;     /* [1 + nzones]: each one's offsets */
    double z_fire; /* decades of surprise fire_score stands for */
    int64_t watermark;
    int64_t max_ts;
    int64_t closed_upto; /* global: buckets below are closed */
    int64_t now;
    uint64_t next_seq;
    struct topic **topics; /* insertion order */
    size_t ntopics, cap;
    uint32_t *index; /* open addressing: topic position + 1, 0 = empty */
    size_t index_cap;
    struct tocsin_dedup *dedup; /* NULL when dedup_window_ms is 0 */
    struct tocsin_engine_stats st;
};

/* The detection parameters of topic t: its zone's. */
static inline const struct tocsin_detect_params *
dp_of(const struct tocsin_engine *e, const struct topic *t)
{
    return t->zone ? &e->dps[t->zone - 1] : &e->dp;
}

static const char *const alertnames[2] = {"MentionVolumeSpike",
                                          "NegativityShift"};

void
tocsin_engine_opts_default(struct tocsin_engine_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bucket_ms = 60000;
    o->lateness_ms = 30000;
    o->min_mentions = 10;
    o->min_ratio = 3.0;
    o->fire_score = 0.9;
    o->resolve_score = 0.5;
    o->resolve_buckets = 5;
    o->min_negative = 5;
    o->negative_threshold = -0.05;
    o->warmup_buckets = 30;
    o->catchup_max_age_ms = 0;
    o->max_topics = 1000000;
    o->sensitivity = 0.5;
    o->dedup_window_ms = 3600000;
}


tocsin_err
tocsin_engine_new(struct tocsin_engine **out,
                  const struct tocsin_engine_opts *opts,
                  const struct tocsin_engine_hooks *hooks)
{
    if (opts->bucket_ms < 1000 || opts->lateness_ms < 0 ||
        opts->lateness_ms > 8 * opts->bucket_ms || opts->max_topics < 1 ||
        opts->resolve_buckets < 1 || !(opts->fire_score > 0) ||
        !(opts->resolve_score < opts->fire_score) || opts->min_ratio <= 1.0 ||
        opts->dedup_window_ms < 0 || opts->nzones > 255 ||
        (opts->nzones && !opts->zones))
        return TOCSIN_EINVAL;
    struct tocsin_engine *e = calloc(1, sizeof *e);
    if (!e)
        return TOCSIN_ENOMEM;
    if (opts->dedup_window_ms > 0 &&
        tocsin_dedup_new(&e->dedup, opts->dedup_window_ms, DEDUP_MAX_IDS) !=
            TOCSIN_OK) {
        free(e);
        return TOCSIN_ENOMEM;
    }
    e->o = *opts;
    if (hooks)
        e->hooks = *hooks;
    tocsin_detect_params_init(&e->dp, opts->bucket_ms, opts->sensitivity,
                              opts->min_mentions, opts->min_ratio,
                              opts->min_negative);
    e->dp.tz = opts->tz;
    e->memos = calloc(1 + opts->nzones, sizeof *e->memos);
    e->dps = opts->nzones ? calloc(opts->nzones, sizeof *e->dps) : NULL;
    if (!e->memos || (opts->nzones && !e->dps)) {
        free(e->memos);
        free(e->dps);
        tocsin_dedup_free(e->dedup);
        free(e);
        return TOCSIN_ENOMEM;
    }
    e->dp.memo = &e->memos[0];
    for (size_t k = 0; k < opts->nzones; k++) {
        e->dps[k] = e->dp;
        e->dps[k].tz = opts->zones[k].tz;
        e->dps[k].memo = &e->memos[1 + k];
    }
    e->z_fire = tocsin_score_decades(&e->dp, opts->fire_score);
    e->watermark = INT64_MIN;
    e->max_ts = INT64_MIN;
    e->closed_upto = INT64_MIN;
    *out = e;
    return TOCSIN_OK;
}

static void
sample_clear(struct sample_rec **r)
{
    free(*r);
    *r = NULL;
}

static void
samples_free(struct samples *s)
{
    if (!s)
        return;
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < BUCKET_SAMPLES; i++)
            free(s->bucket[b][i]);
    for (int i = 0; i < HOT_SAMPLES; i++)
        free(s->hot[i]);
    free(s);
}

void
tocsin_engine_free(struct tocsin_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->ntopics; i++) {
        samples_free(e->topics[i]->samples);
        tocsin_terms_free(e->topics[i]->terms);
        free(e->topics[i]->alert);
        free(e->topics[i]);
    }
    free(e->topics);
    free(e->index);
    tocsin_dedup_free(e->dedup);
    free(e->dps);
    free(e->memos);
    free(e);
}

/* ---- topic table ---- */

static struct topic *
topic_find(const struct tocsin_engine *e, const char *name, size_t n,
           uint64_t h)
{
    if (!e->index_cap)
        return NULL;
    size_t mask = e->index_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t v = e->index[i];
        if (!v)
            return NULL;
        struct topic *t = e->topics[v - 1];
        if (strncmp(t->name, name, n) == 0 && t->name[n] == '\0')
            return t;
    }
}

static uint64_t
topic_hash(const struct topic *t)
{
    return tocsin_fnv1a(TOCSIN_FNV_OFFSET, t->name, strlen(t->name));
}

static int
index_grow(struct tocsin_engine *e)
{
    size_t cap = e->index_cap ? e->index_cap * 2 : 64;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return -1;
    for (size_t k = 0; k < e->ntopics; k++) {
        size_t i = (size_t)topic_hash(e->topics[k]) & (cap - 1);
        while (idx[i])
            i = (i + 1) & (cap - 1);
        idx[i] = (uint32_t)(k + 1);
    }
    free(e->index);
    e->index = idx;
    e->index_cap = cap;
    return 0;
}

/* The zone of a topic by its name: 1 + the first opts.zones entry with a
 * matching pattern, or 0 (the engine's). */
static uint8_t
zone_of(const struct tocsin_engine *e, const char *name)
{
    for (size_t k = 0; k < e->o.nzones; k++)
        for (size_t i = 0; i < e->o.zones[k].npatterns; i++)
            if (fnmatch(e->o.zones[k].patterns[i], name, 0) == 0)
                return (uint8_t)(k + 1);
    return 0;
}

static struct topic *
topic_add(struct tocsin_engine *e, const char *name, size_t n, uint64_t h)
{
    if (e->ntopics >= e->o.max_topics)
        return NULL;
    if ((e->ntopics + 1) * 10 > e->index_cap * 7 && index_grow(e))
        return NULL;
    if (e->ntopics == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        struct topic **v = realloc(e->topics, cap * sizeof *v);
        if (!v)
            return NULL;
        e->topics = v;
        e->cap = cap;
    }
    size_t size = offsetof(struct topic, name) + n + 1;
    struct topic *t = calloc(1, size > sizeof *t ? size : sizeof *t);
    if (!t)
        return NULL;
    memcpy(t->name, name, n);
    t->name[n] = '\0';
    t->zone = zone_of(e, t->name);
    t->s.seq = e->next_seq++;
    t->s.closed_upto = e->closed_upto;
    t->s.fire_after[0] = t->s.fire_after[1] = INT64_MIN;
    t->s.agg_bidx = INT64_MIN;
    tocsin_baseline_init(&t->s.base);
    tocsin_tail_init(&t->s.tail);
    t->dirty = 1;
    e->topics[e->ntopics++] = t;
    size_t mask = e->index_cap - 1;
    size_t i = (size_t)h & mask;
    while (e->index[i])
        i = (i + 1) & mask;
    e->index[i] = (uint32_t)e->ntopics;
    e->st.topics = e->ntopics;
    return t;
}

/* ---- samples (evidence) ---- */

/* Copy at most max bytes of s without cutting a UTF-8 sequence. */
static size_t
utf8_prefix(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k;
}

static int
rank_before(const struct sample_rec *a, const struct sample_rec *b,
            int prefer_neg)
{
    if (prefer_neg && a->neg != b->neg)
        return a->neg > b->neg;
    if (a->followers != b->followers)
        return a->followers > b->followers;
    if (a->ts != b->ts)
        return a->ts < b->ts;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->blob, b->blob, n);
    return c ? c < 0 : a->len < b->len;
}

static int
sample_same(const struct sample_rec *a, const struct sample_rec *b)
{
    return a->len == b->len && memcmp(a->blob, b->blob, a->len) == 0;
}

/* Insert a copy of r into the ranked array v[0..n); returns -1 on ENOMEM. */
static int
ranked_insert(struct sample_rec **v, int n, const struct sample_rec *r,
              int prefer_neg)
{
    for (int i = 0; i < n; i++)
        if (v[i] && sample_same(v[i], r))
            return 0;
    int pos = n;
    for (int i = 0; i < n; i++) {
        if (!v[i] || rank_before(r, v[i], prefer_neg)) {
            pos = i;
            break;
        }
    }
    if (pos == n)
        return 0;
    struct sample_rec *c = malloc(sizeof *c + r->len);
    if (!c)
        return -1;
    memcpy(c, r, sizeof *c + r->len);
    free(v[n - 1]);
    memmove(&v[pos + 1], &v[pos], (size_t)(n - 1 - pos) * sizeof *v);
    v[pos] = c;
    return 0;
}

static int
is_firing(const struct topic *t, int kind)
{
    return t->alert && t->alert[kind].firing;
}

static int
any_firing(const struct topic *t)
{
    return is_firing(t, 0) || is_firing(t, 1);
}

/*
 * Whether a post could rank before last, the lowest kept of a full set
 * (NULL: the set has room), judging by what precedes the strings in
 * rank_before; a tie is settled by the strings, so it may.
 */
static int
may_rank(const struct sample_rec *last, const struct tocsin_mention *m,
         int neg, int prefer_neg)
{
    if (!last)
        return 1;
    if (prefer_neg && (uint8_t)neg != last->neg)
        return (uint8_t)neg > last->neg;
    if (m->followers != last->followers)
        return m->followers > last->followers;
    if (m->ts_ms != last->ts)
        return m->ts_ms < last->ts;
    return 1;
}

static void
sample_add(struct topic *t, const struct tocsin_mention *m, int64_t b,
           int neg)
{
    if (!m->text.n && !m->author.n && !m->url.n)
        return;
    if (!t->samples) {
        t->samples = calloc(1, sizeof *t->samples);
        if (!t->samples)
            return;
        t->samples->bidx[0] = t->samples->bidx[1] = INT64_MIN;
    }
    struct samples *S = t->samples;
    int slot = (int)(b & 1);
    if (S->bidx[slot] != b) {
        if (S->bidx[slot] != INT64_MIN && b < S->bidx[slot])
            goto hot; /* an older bucket than kept: only the hot set */
        for (int i = 0; i < BUCKET_SAMPLES; i++)
            sample_clear(&S->bucket[slot][i]);
        S->bidx[slot] = b;
    }
hot:;
    /* Most posts rank below every kept one on followers alone: stop before
     * copying their strings. */
    int to_bucket = S->bidx[slot] == b &&
                    may_rank(S->bucket[slot][BUCKET_SAMPLES - 1], m, neg, 0);
    int prefer_neg = is_firing(t, TOCSIN_ALERT_NEGATIVITY);
    int to_hot =
        any_firing(t) && may_rank(S->hot[HOT_SAMPLES - 1], m, neg, prefer_neg);
    if (!to_bucket && !to_hot)
        return;
    /* The candidate, built on the stack; copied only if it ranks. */
    _Alignas(struct sample_rec) char buf[sizeof(struct sample_rec) +
                                         SAMPLE_BLOB_MAX];
    struct sample_rec *r = (struct sample_rec *)buf;
    size_t o = 0;
    const struct tocsin_str parts[4] = {m->text, m->author, m->url, m->id};
    const size_t caps[4] = {TEXT_MAX, AUTHOR_MAX, URL_MAX, ID_MAX};
    for (int i = 0; i < 4; i++) {
        size_t k = utf8_prefix(parts[i].p, parts[i].n, caps[i]);
        if (k)
            memcpy(r->blob + o, parts[i].p, k);
        o += k;
        r->blob[o++] = '\0';
    }
    r->followers = m->followers;
    r->ts = m->ts_ms;
    r->len = (uint32_t)o;
    r->neg = (uint8_t)neg;
    if (to_bucket)
        ranked_insert(S->bucket[slot], BUCKET_SAMPLES, r, 0);
    if (to_hot)
        ranked_insert(S->hot, HOT_SAMPLES, r, prefer_neg);
}

/* The evidence samples for an alert: the best of the recent buckets and
 * the hot set, newer than since_ms. */
static void
collect_samples(struct topic *t, int prefer_neg, int64_t since_ms,
                struct tocsin_alert_event *ev)
{
    ev->nsamples = 0;
    struct samples *S = t->samples;
    if (!S)
        return;
    struct sample_rec *best[HOT_SAMPLES] = {0};
    const struct sample_rec *cands[2 * BUCKET_SAMPLES + HOT_SAMPLES];
    int nc = 0;
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < BUCKET_SAMPLES; i++)
            if (S->bucket[b][i])
                cands[nc++] = S->bucket[b][i];
    for (int i = 0; i < HOT_SAMPLES; i++)
        if (S->hot[i])
            cands[nc++] = S->hot[i];
    for (int i = 0; i < nc; i++)
        if (cands[i]->ts >= since_ms)
            ranked_insert(best, HOT_SAMPLES, cands[i], prefer_neg);
    /* Keep them in the hot set so the resolved event can show them. */
    for (int i = 0; i < HOT_SAMPLES; i++) {
        if (!best[i])
            break;
        ranked_insert(S->hot, HOT_SAMPLES, best[i], prefer_neg);
    }
    for (int i = 0; i < HOT_SAMPLES && best[i]; i++)
        sample_clear(&best[i]);
    for (int i = 0; i < HOT_SAMPLES && S->hot[i]; i++) {
        const struct sample_rec *r = S->hot[i];
        struct tocsin_sample *o = &ev->samples[ev->nsamples++];
        o->text = r->blob;
        o->author = o->text + strlen(o->text) + 1;
        o->url = o->author + strlen(o->author) + 1;
        o->id = o->url + strlen(o->url) + 1;
        o->followers = r->followers;
        o->ts_ms = r->ts;
        o->negative = r->neg;
    }
}

/* ---- detectors ---- */

struct evidence {
    int64_t window_ms;
    double observed, expected, negatives, scored, neg_base, score;
    int critical; /* any window tested was critical */
    int win;      /* which window scored best (0: the shortest) */
    double win_score[NWIN]; /* each closed window's score */
    unsigned char high[NWIN]; /* exact windows: bit 0, still at its ratio
                                 floor; bit 1, at WARM_RATIO times the
                                 usual or more (see lifecycle_closed) */
};

static int is_critical(enum tocsin_alert_kind kind, const struct evidence *v);

/* The volume threshold of a topic in decades: the model's (fire_score at
 * the sensitivity) or, when higher, the topic's own tail's. */
static double
tail_threshold(const struct tocsin_engine *e, const struct topic *t)
{
    double z = tocsin_tail_threshold(&t->s.tail, dp_of(e, t));
    return z > e->z_fire ? z : e->z_fire;
}

/* Read a closed bucket's volume scores against the topic's threshold. */
static void
calibrate_volume(double z_fire, double z_thr, struct evidence *v)
{
    v->score = tocsin_tail_calibrate(v->score, z_fire, z_thr);
    for (int k = 0; k < NWIN; k++)
        v->win_score[k] = tocsin_tail_calibrate(v->win_score[k], z_fire, z_thr);
}

static double
neg_baseline(const struct topic *t)
{
    return tocsin_baseline_neg_share(&t->s.base);
}

static double
dispersion(const struct topic *t)
{
    return tocsin_baseline_dispersion(&t->s.base);
}

/* ---- alert lifecycle ---- */

static void
make_ids(struct tocsin_alert_event *ev)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t h = tocsin_fnv1a(TOCSIN_FNV_OFFSET, alertnames[ev->kind],
                       strlen(alertnames[ev->kind]) + 1);
    h = tocsin_fnv1a(h, ev->topic, strlen(ev->topic));
    for (int i = 0; i < 16; i++)
        ev->fingerprint[i] = hex[(h >> (60 - 4 * i)) & 15];
    ev->fingerprint[16] = '\0';
    unsigned char st = (unsigned char)ev->status;
    uint64_t a = tocsin_fnv1a(TOCSIN_FNV_OFFSET, ev->fingerprint, 16);
    a = tocsin_fnv1a(a, &ev->starts_ms, sizeof ev->starts_ms);
    a = tocsin_fnv1a(a, &st, 1);
    uint64_t b = tocsin_fnv1a(a ^ 0x9e3779b97f4a7c15ULL, ev->topic,
                       strlen(ev->topic));
    b = tocsin_fnv1a(b, &ev->starts_ms, sizeof ev->starts_ms);
    for (int i = 0; i < 16; i++) {
        ev->delivery[i] = hex[(a >> (60 - 4 * i)) & 15];
        ev->delivery[16 + i] = hex[(b >> (60 - 4 * i)) & 15];
    }
    ev->delivery[32] = '\0';
}

static void
emit(struct tocsin_engine *e, struct topic *t, enum tocsin_alert_kind kind,
     enum tocsin_alert_status status, int64_t at_ms)
{
    const struct alert_state *a = &t->alert[kind];
    struct tocsin_alert_event ev;
    memset(&ev, 0, sizeof ev);
    ev.topic = t->name;
    ev.kind = kind;
    ev.status = status;
    ev.severity = a->critical ? "critical" : "warning";
    ev.starts_ms = a->starts_ms;
    ev.ends_ms = status == TOCSIN_ALERT_RESOLVED ? at_ms : 0;
    ev.at_ms = at_ms;
    ev.window_ms = a->window_ms;
    ev.observed = a->observed;
    ev.expected = a->expected;
    ev.negatives = a->negatives;
    ev.scored = a->scored;
    ev.negative_share = a->scored > 0 ? a->negatives / a->scored : -1;
    ev.negative_baseline = a->neg_base;
    ev.score = a->score;
    make_ids(&ev);
    ev.nterms = tocsin_terms_top(t->terms, ev.terms);
    collect_samples(t, kind == TOCSIN_ALERT_NEGATIVITY,
                    a->starts_ms - a->window_ms - e->o.bucket_ms, &ev);
    e->st.events++;
    if (e->hooks.on_event)
        e->hooks.on_event(e->hooks.arg, &ev);
}

static int
is_recent(const struct tocsin_engine *e, int64_t at_ms)
{
    return e->o.catchup_max_age_ms <= 0 || e->now == INT64_MAX ||
           e->now - at_ms <= e->o.catchup_max_age_ms;
}

/*
 * Severity.  A volume spike is critical when it is large (5x) and not
 * clearly positive, or when it is 3x and clearly more negative than usual;
 * otherwise (a launch, a TV mention) it is a warning.  A negativity shift
 * is critical when half the conversation or more is negative.
 */
static int
is_critical(enum tocsin_alert_kind kind, const struct evidence *v)
{
    double ratio = v->observed / (v->expected > MU_FLOOR ? v->expected
                                                         : MU_FLOOR);
    double share = v->scored > 0 ? v->negatives / v->scored : -1;
    double p0 = v->neg_base;
    if (kind == TOCSIN_ALERT_VOLUME) {
        int negative = share >= 0 && share >= p0 + 0.15 && share >= 0.3;
        int positive = share >= 0 && share < p0 + 0.05;
        return (ratio >= 5.0 && !positive) || (ratio >= 3.0 && negative);
    }
    return share >= 0.5;
}

static void
note_peak(struct alert_state *a, const struct evidence *v)
{
    if (v->score < a->score && a->firing)
        return;
    a->score = (float)v->score;
    a->window_ms = v->window_ms;
    a->observed = (float)v->observed;
    a->expected = (float)v->expected;
    a->negatives = (float)v->negatives;
    a->scored = (float)v->scored;
    a->neg_base = (float)v->neg_base;
    a->critical = (uint8_t)(a->critical || v->critical);
}

static void
maybe_fire(struct tocsin_engine *e, struct topic *t,
           enum tocsin_alert_kind kind, const struct evidence *v,
           int64_t at_ms)
{
    if (is_firing(t, kind) || v->score < e->o.fire_score ||
        t->s.nclosed < (uint32_t)e->o.warmup_buckets)
        return;
    /* Out of memory, the alert fires at the next test that still finds
     * it (the next closed or partial bucket), not now. */
    if (!t->alert && !(t->alert = calloc(2, sizeof *t->alert)))
        return;
    struct alert_state *a = &t->alert[kind];
    memset(a, 0, sizeof *a);
    note_peak(a, v);
    a->win = (uint8_t)v->win;
    a->firing = 1;
    t->row_shown &= (uint8_t)~(1u << kind);
    a->starts_ms = at_ms;
    e->st.firing++;
    t->dirty = 1;
    if (is_recent(e, at_ms)) {
        a->announced = 1;
        emit(e, t, kind, TOCSIN_ALERT_FIRING, at_ms);
    } else {
        e->st.suppressed++;
    }
}

/*
 * How far up a negativity alert's share must still be for the shift to
 * last: a quarter of the way from the usual share to the one the alert
 * saw (its shift counted up to the 25 points the CUSUM looks for: the
 * alert's own window may be a short one with an extreme share).  -1 when
 * the alert saw no shift.
 */
static double
lasts_threshold(const struct tocsin_engine *e, const struct alert_state *a)
{
    if (a->scored <= 0)
        return -1;
    double shift = (double)a->negatives / a->scored - a->neg_base;
    if (shift > e->dp.cusum_shift)
        shift = e->dp.cusum_shift;
    return shift > 0 ? a->neg_base + LASTS_FRACTION * shift : -1;
}

/* k negatives of n are above the threshold, and significantly above the
 * usual share (p < 0.01; for an exponential window k and n are weighted
 * sums, so this is rough: it only decides how long calm must last). */
static int
share_still_up(double k, double n, double thr, double usual)
{
    return thr >= 0 && n > 0 && k / n > thr &&
           tocsin_binom_log_sf(k, n, usual) < LASTS_LOG_P;
}

/* The alert has fired for LASTS_HOLD_AGE buckets or more. */
static int
lasted(const struct tocsin_engine *e, const struct alert_state *a,
       int64_t at_ms)
{
    return at_ms - a->starts_ms >= LASTS_HOLD_AGE * e->o.bucket_ms;
}

/*
 * A negativity shift is not over while the last LASTS_WIN buckets hold
 * min_negative negatives at a share past lasts_threshold, or, once it has
 * lasted an hour, while the last MAX_WIN buckets' share is past it.  A
 * weak, lasting shift's evidence comes and goes around the thresholds:
 * judged on significance alone, it resolved and fired again two or three
 * times in one crisis; judged on 3 buckets alone, at a few mentions a
 * minute (30 % negative against 15 %, as in a build-up), their share
 * dipped back by chance and the alert resolved before the crisis ended in
 * 10 of 15 (crisis simulator, 8 seeds).  A few minutes' negative burst is
 * over when 3 buckets say so: 15 would hold it for 15 more minutes.
 */
static int
negativity_lasts(const struct tocsin_engine *e, const struct topic *t,
                 const struct alert_state *a, int64_t at_ms)
{
    double thr = lasts_threshold(e, a);
    if (thr < 0)
        return 0;
    int64_t b = tocsin_floor_div(at_ms, e->o.bucket_ms) - 1;
    int len = lasted(e, a, at_ms) ? MAX_WIN : LASTS_WIN;
    double k = 0, n = 0;
    for (int i = 0; i < len; i++) {
        const struct bucket *bk = &t->s.ring[slot(b - i)];
        k += bk->neg;
        n += bk->scored;
        if (i == LASTS_WIN - 1 && k >= e->o.min_negative && k / n > thr)
            return 1;
    }
    return n > 0 && k / n > thr;
}

/* Calm buckets it takes to resolve: resolve_buckets, and for a volume
 * spike at least the length of the window that fired it (up to the
 * longest exact window): on a small brand at 30 mentions an hour, five
 * quiet minutes in a row come by chance, and the 15-minute window's
 * alert resolved two hours before the crisis ended.  For a negativity
 * shift that has lasted LASTS_HOLD_AGE buckets, MAX_WIN while the last
 * hour (the 60-bucket window) still holds it: at 8 mentions a minute, 30 %
 * negative against 15 %, the last 15 minutes' share dipped under
 * lasts_threshold for five buckets by chance in 2 of 10 six-hour shifts.
 * (Not for a younger one: after a few minutes' negative burst the last
 * hour stays up for an hour, and five calm buckets say it is over.) */
static int
calm_needed(const struct tocsin_engine *e, const struct topic *t,
            enum tocsin_alert_kind kind, const struct alert_state *a,
            int64_t at_ms)
{
    int n = e->o.resolve_buckets;
    int len = 0;
    if (kind == TOCSIN_ALERT_VOLUME)
        len = a->win < NEXACT ? windows[a->win] : MAX_WIN;
    else if (lasted(e, a, at_ms) &&
             share_still_up(t->s.base.ewk[0], t->s.base.ewn[0],
                            lasts_threshold(e, a), a->neg_base))
        len = MAX_WIN;
    return len > n ? len : n;
}

/* After a closed bucket: count calm buckets, resolve, or announce late. */
static void
lifecycle_closed(struct tocsin_engine *e, struct topic *t,
                 enum tocsin_alert_kind kind, const struct evidence *v,
                 int64_t at_ms)
{
    if (!is_firing(t, kind)) {
        maybe_fire(e, t, kind, v, at_ms);
        return;
    }
    struct alert_state *a = &t->alert[kind];
    note_peak(a, v);
    /* Calm is judged on the window that fired: a burst caught in one
     * bucket is over when single buckets are calm again, a slow build-up
     * caught over 15 buckets when those are.  Not on fewer than 5 buckets:
     * on a small topic a single bucket often holds fewer mentions than
     * the floor, and looked calm while the burst went on at 10x. */
    double ws = v->win_score[a->win];
    if (a->win < 1 && v->win_score[1] > ws)
        ws = v->win_score[1];
    int calm = ws < e->o.resolve_score;
    /* ...and a volume spike is not over while that window (an exact one:
     * the long ones remember hours) still holds its ratio floor (3x) and
     * half the floor on mentions: on a small brand at 30 an hour (2
     * usual), 15 minutes of 4 or 5 mentions are weak evidence but no
     * return to normal, and the alert resolved two hours before the
     * crisis ended. */
    if (kind == TOCSIN_ALERT_VOLUME &&
        ((v->high[a->win] & 1) || (a->win < 1 && (v->high[1] & 1))))
        calm = 0;
    /* A spike caught on an hours-long window is over when the last
     * MAX_WIN buckets are back under WARM_RATIO times the usual and
     * unremarkable, not only once its own window has forgotten it: that
     * took 1 to 4 hours after a build-up or a small brand's crisis, and
     * the alert still firing swallowed new spikes of the topic (two on
     * NAB's CRM, 25 times the usual, paged nobody). */
    if (kind == TOCSIN_ALERT_VOLUME && a->win >= NEXACT && !calm &&
        !(v->high[NEXACT - 1] & 2) &&
        v->win_score[NEXACT - 1] < e->o.resolve_score)
        calm = 1;
    /* A negative share still shifted keeps its alert, whichever window
     * fired it: the CUSUM run says whether the shift is over.  But only
     * while the last hour or so (the 60-bucket window) holds at least
     * min_negative negatives: the run comes down only as mentions come,
     * and on a brand of 2 mentions an hour the alert resolved 9 hours
     * after its crisis (median; up to 23). */
    int cusum_stale = (double)t->s.base.ewk[0] < (double)e->o.min_negative;
    if (kind == TOCSIN_ALERT_NEGATIVITY && a->win == NCUSUM && cusum_stale)
        calm = 1;
    if (kind == TOCSIN_ALERT_NEGATIVITY &&
        v->win_score[NCUSUM] >= e->o.resolve_score && !cusum_stale)
        calm = 0;
    if (kind == TOCSIN_ALERT_NEGATIVITY && calm &&
        negativity_lasts(e, t, a, at_ms))
        calm = 0;
    a->calm = calm ? a->calm + 1 : 0;
    int needed = calm_needed(e, t, kind, a, at_ms);
    if (!a->announced && is_recent(e, at_ms) && (int)a->calm < needed) {
        a->announced = 1;
        emit(e, t, kind, TOCSIN_ALERT_FIRING, at_ms);
    }
    if ((int)a->calm >= needed) {
        t->s.fire_after[kind] =
            tocsin_floor_div(at_ms, e->o.bucket_ms) - e->o.resolve_buckets;
        /* The episode's CUSUM run is over with it. */
        if (kind == TOCSIN_ALERT_NEGATIVITY)
            memset(&t->s.base.cn, 0, sizeof t->s.base.cn);
        if (a->announced) {
            emit(e, t, kind, TOCSIN_ALERT_RESOLVED, at_ms);
        } else {
            e->st.suppressed++;
            e->st.past_crises++;
        }
        a->firing = 0;
        e->st.firing--;
        if (!any_firing(t)) {
            free(t->alert);
            t->alert = NULL;
        }
        if (!any_firing(t) && t->samples)
            for (int i = 0; i < HOT_SAMPLES; i++)
                sample_clear(&t->samples->hot[i]);
        if (!any_firing(t) && t->terms)
            tocsin_terms_cool(t->terms);
    }
}

/* ---- bucket closing ---- */

/* Window k ending with closed bucket b: observed, expected, variance,
 * negatives, scored, length and first bucket.  Returns 0 when the topic's
 * history is too short for it. */
struct window {
    double X, E, V, K, N;
    int64_t len_ms, start;
    int cusum; /* the negativity CUSUM, not a window */
    double cs; /* its score */
};

static int
window_at(const struct tocsin_engine *e, const struct topic *t, int64_t b,
          int k, struct window *w)
{
    const struct tocsin_baseline *base = &t->s.base;
    const struct bucket *cur = &t->s.ring[slot(b)];
    double d = dispersion(t);
    memset(w, 0, sizeof *w);
    if (k < NEXACT) {
        if ((int64_t)t->s.nclosed + 1 < windows[k])
            return 0;
        for (int i = 0; i < windows[k]; i++) {
            const struct bucket *bk = &t->s.ring[slot(b - i)];
            w->X += bk->count;
            w->E += exp_of(&t->s, b - i);
            w->K += bk->neg;
            w->N += bk->scored;
        }
        w->V = d * w->E;
        w->len_ms = windows[k] * e->o.bucket_ms;
        w->start = b - windows[k] + 1;
        return 1;
    }
    if (k == NCUSUM) {
        /* The negativity CUSUM's run, with this bucket added. */
        double p0 = neg_baseline(t);
        struct tocsin_cusum c = base->cn;
        if (t->s.nclosed < (uint32_t)e->o.warmup_buckets)
            return 0;
        tocsin_cusum_negativity(dp_of(e, t), &c, cur->count, exp_of(&t->s, b),
                                cur->neg, cur->scored, p0);
        if (!c.len)
            return 0;
        w->cusum = 1;
        w->cs = tocsin_cusum_negativity_score(dp_of(e, t), &c, p0);
        w->X = c.x;
        w->E = c.e;
        w->V = d * c.e;
        w->K = c.k;
        w->N = c.n;
        w->len_ms = (int64_t)c.len * e->o.bucket_ms;
        w->start = b - (int64_t)c.len + 1;
        return 1;
    }
    int j = k - NEXACT;
    double len = e->dp.ew_len[j], keep = 1.0 - e->dp.beta[j];
    if (t->s.nclosed < (uint32_t)(len / 2))
        return 0;
    /* The baseline's sums, with this bucket included. */
    w->X = keep * base->ewm[j] + cur->count;
    double cur_exp = exp_of(&t->s, b);
    w->E = keep * base->ewe[j] + cur_exp;
    w->V = tocsin_baseline_ew_variance(base, dp_of(e, t), j, cur_exp, w->E);
    w->K = keep * base->ewk[j] + cur->neg;
    w->N = keep * base->ewn[j] + cur->scored;
    w->len_ms = (int64_t)(len * (double)e->o.bucket_ms);
    /* An exponential window still holds an episode for about 3 lengths. */
    w->start = b - (int64_t)(3 * len) + 1;
    return 1;
}

static void
best_windows(const struct tocsin_engine *e, const struct topic *t, int64_t b,
             struct evidence *vol, struct evidence *neg)
{
    memset(vol, 0, sizeof *vol);
    memset(neg, 0, sizeof *neg);
    double p0 = neg_baseline(t);
    for (int k = 0; k < NWIN; k++) {
        struct window w;
        if (!window_at(e, t, b, k, &w))
            continue;
        double floor = k > NEXACT - 1 && k < NCUSUM
                           ? tocsin_baseline_ew_floor(&t->s.base, dp_of(e, t), b,
                                                      k - NEXACT,
                                                      e->o.min_ratio)
                           : e->o.min_ratio;
        double vs = 0, ns = 0;
        if (w.start >= t->s.fire_after[TOCSIN_ALERT_VOLUME] ||
            is_firing(t, TOCSIN_ALERT_VOLUME))
            vs = w.cusum
                     ? 0
                     : tocsin_volume_score_floor(dp_of(e, t), w.X, w.E, w.V, floor);
        if (w.start >= t->s.fire_after[TOCSIN_ALERT_NEGATIVITY] ||
            is_firing(t, TOCSIN_ALERT_NEGATIVITY))
            ns = w.cusum ? w.cs : tocsin_negativity_score(dp_of(e, t), w.K, w.N, p0);
        struct evidence v = {w.len_ms, w.X, w.E, w.K, w.N, p0, 0, 0, k, {0},
                             {0}};
        int vc = vol->critical || is_critical(TOCSIN_ALERT_VOLUME, &v);
        int nc = neg->critical || is_critical(TOCSIN_ALERT_NEGATIVITY, &v);
        double vws[NWIN], nws[NWIN];
        unsigned char hi[NWIN];
        memcpy(vws, vol->win_score, sizeof vws);
        memcpy(nws, neg->win_score, sizeof nws);
        memcpy(hi, vol->high, sizeof hi);
        vws[k] = vs;
        nws[k] = ns;
        hi[k] = (unsigned char)((k < NEXACT &&
                                 w.X >= e->o.min_mentions / 2.0 &&
                                 w.X >= floor * w.E) |
                                (k < NEXACT && w.X >= WARM_RATIO * w.E) << 1);
        if (vs > vol->score || k == 0) {
            *vol = v;
            vol->score = vs;
        }
        if (ns > neg->score || k == 0) {
            *neg = v;
            neg->score = ns;
        }
        vol->critical = vc;
        neg->critical = nc;
        memcpy(vol->win_score, vws, sizeof vws);
        memcpy(neg->win_score, nws, sizeof nws);
        memcpy(vol->high, hi, sizeof hi);
    }
}

/* Learn bucket b; an elevated topic (a score past resolve_score) learns
 * slowly even before it fires, so a slow build-up is not absorbed. */
static void
learn(struct tocsin_engine *e, struct topic *t, int64_t b,
      const struct bucket *bk, const struct evidence *vol,
      const struct evidence *neg)
{
    int vol_alert = is_firing(t, TOCSIN_ALERT_VOLUME);
    unsigned flags = 0;
    if (vol_alert || vol->score >= e->o.resolve_score)
        flags |= TOCSIN_LEARN_VOL_HOT;
    if (is_firing(t, TOCSIN_ALERT_NEGATIVITY) ||
        neg->score >= e->o.resolve_score)
        flags |= TOCSIN_LEARN_NEG_HOT;
    tocsin_baseline_learn(&t->s.base, dp_of(e, t), b, bk->count, bk->neg, bk->scored,
                          exp_of(&t->s, b), flags);
    /* The noise is learned DISP_LAG buckets late, once the bucket has
     * left the short windows, and not while a volume alert fires: a
     * crisis is not noise (learned while firing, a 10x burst resolved
     * after ten minutes and fired again), and the first buckets of a
     * burst, learned at once, widened the noise before the next ones were
     * tested (17 mentions against 0.5 expected on a small topic did not
     * page).  A spike that paged and is over by then is learned: it is
     * the topic's noise, as its own tail also learns. */
    int64_t x = b - DISP_LAG;
    if (!vol_alert && t->s.nclosed >= (uint32_t)DISP_LAG) {
        const struct bucket *xb = &t->s.ring[slot(x)];
        tocsin_baseline_learn_dispersion(&t->s.base, dp_of(e, t), xb->count,
                                         exp_of(&t->s, x));
    }
}

static int
is_dormant(const struct tocsin_engine *e, const struct topic *t)
{
    return !e->hooks.on_score && !any_firing(t) && t->s.zero_run >= MAX_WIN;
}

/*
 * A score row's value for one kind: at or above fire_score on the row of
 * the bucket where an alert of that kind fired (its score), the onset
 * score scaled under fire_score elsewhere.  So a threshold at fire_score
 * gives exactly the alerts tocsind sends, and a lower one adds the
 * episodes a higher sensitivity would page for, strongest first.
 */
static double
row_score(struct tocsin_engine *e, struct topic *t,
          enum tocsin_alert_kind kind, double onset, int64_t end_ms)
{
    double fire = e->o.fire_score;
    uint8_t bit = (uint8_t)(1u << kind);
    if (!is_firing(t, kind))
        return onset * fire * 0.999;
    const struct alert_state *a = &t->alert[kind];
    if (a->announced && a->starts_ms <= end_ms && !(t->row_shown & bit)) {
        t->row_shown |= bit;
        return a->score > fire ? a->score : fire;
    }
    return onset * fire * 0.999;
}

static void
close_bucket(struct tocsin_engine *e, struct topic *t)
{
    int64_t b = t->s.closed_upto;
    struct bucket *bk = &t->s.ring[slot(b)];
    *exp_at(&t->s, b) = (float)tocsin_baseline_expected(&t->s.base, dp_of(e, t), b);
    struct evidence vol, neg;
    best_windows(e, t, b, &vol, &neg);
    learn(e, t, b, bk, &vol, &neg);
    /* The topic's own tail: its threshold from past excursions reads this
     * bucket, then the bucket's raw surprise is learned (not what an
     * alert fired in an earlier bucket grows to). */
    double z_thr = tail_threshold(e, t);
    if (t->s.nclosed > (uint32_t)e->o.warmup_buckets) {
        int grows =
            is_firing(t, TOCSIN_ALERT_VOLUME) &&
            t->alert[TOCSIN_ALERT_VOLUME].starts_ms <= b * e->o.bucket_ms;
        tocsin_tail_observe(&t->s.tail, dp_of(e, t),
                            tocsin_score_decades(dp_of(e, t), vol.score), !grows);
    }
    calibrate_volume(e->z_fire, z_thr, &vol);
    if (t->s.nclosed < UINT32_MAX)
        t->s.nclosed++;
    t->s.zero_run = bk->count ? 0 : t->s.zero_run + 1;
    int64_t end_ms = (b + 1) * e->o.bucket_ms;
    lifecycle_closed(e, t, TOCSIN_ALERT_VOLUME, &vol, end_ms);
    lifecycle_closed(e, t, TOCSIN_ALERT_NEGATIVITY, &neg, end_ms);
    t->s.last_vol = (float)vol.score;
    t->s.last_neg = (float)neg.score;
    if (t->terms && tocsin_terms_is_hot(t->terms) && !any_firing(t) &&
        vol.score < e->o.resolve_score && neg.score < e->o.resolve_score)
        tocsin_terms_cool(t->terms);
    /* Before the warm-up the expectation is still being learned: its
     * scores neither show nor count towards the onset peaks. */
    double vo = 0, no = 0;
    if (t->s.nclosed > (uint32_t)e->o.warmup_buckets) {
        vo = tocsin_onset_score(dp_of(e, t), vol.score, &t->s.onset_peak[0]);
        no = tocsin_onset_score(dp_of(e, t), neg.score, &t->s.onset_peak[1]);
    }
    if (e->hooks.on_score) {
        vo = row_score(e, t, TOCSIN_ALERT_VOLUME, vo, end_ms);
        no = row_score(e, t, TOCSIN_ALERT_NEGATIVITY, no, end_ms);
        struct tocsin_score_row row = {t->name, b * e->o.bucket_ms,
                                       bk->count, bk->neg, bk->scored,
                                       vo, no};
        e->hooks.on_score(e->hooks.arg, &row);
    }
    /* The slot OPEN_MAX ahead will hold a future open bucket. */
    memset(&t->s.ring[slot(b + OPEN_MAX)], 0, sizeof(struct bucket));
    t->s.closed_upto = b + 1;
    t->dirty = 1;
    if (t->samples && is_dormant(e, t)) {
        samples_free(t->samples);
        t->samples = NULL;
    }
}

/* Bring a topic's closed buckets up to the global position. */
static void
topic_catch_up(struct tocsin_engine *e, struct topic *t)
{
    if (t->s.closed_upto == INT64_MIN || e->closed_upto == INT64_MIN)
        t->s.closed_upto = e->closed_upto;
    while (t->s.closed_upto < e->closed_upto)
        close_bucket(e, t);
}

static void
set_watermark(struct tocsin_engine *e, int64_t wm)
{
    if (wm <= e->watermark)
        return;
    e->watermark = wm;
    int64_t target = tocsin_floor_div(wm, e->o.bucket_ms);
    if (e->closed_upto == INT64_MIN) {
        e->closed_upto = target;
        for (size_t i = 0; i < e->ntopics; i++)
            if (e->topics[i]->s.closed_upto == INT64_MIN)
                e->topics[i]->s.closed_upto = target;
        return;
    }
    while (e->closed_upto < target) {
        int64_t b = e->closed_upto;
        for (size_t i = 0; i < e->ntopics; i++) {
            struct topic *t = e->topics[i];
            if (t->s.closed_upto == b && !is_dormant(e, t))
                close_bucket(e, t);
        }
        e->closed_upto = b + 1;
    }
}

void
tocsin_engine_advance(struct tocsin_engine *e, int64_t watermark_ms,
                      int64_t now_ms)
{
    e->now = now_ms;
    set_watermark(e, watermark_ms);
}

void
tocsin_engine_set_catchup(struct tocsin_engine *e, int64_t max_age_ms)
{
    e->o.catchup_max_age_ms = max_age_ms;
}

int64_t
tocsin_engine_watermark(const struct tocsin_engine *e)
{
    return e->watermark;
}

/* A topic runs hot while an alert fires, while its last closed bucket
 * scored past resolve_score, or while the open bucket already holds more
 * than twice (and three more) what was expected by now. */
static int
runs_hot(const struct tocsin_engine *e, const struct topic *t, int64_t b)
{
    if (any_firing(t) || t->s.last_vol >= e->o.resolve_score ||
        t->s.last_neg >= e->o.resolve_score)
        return 1;
    if (t->s.nclosed < (uint32_t)e->o.warmup_buckets)
        return 0;
    /* Against the expectation for the part of the bucket gone by (the
     * latest event time seen stands for "now"). */
    double f = (double)(e->max_ts - b * e->o.bucket_ms) /
               (double)e->o.bucket_ms;
    f = f < 0.05 ? 0.05 : (f > 1 ? 1 : f);
    double E = f * tocsin_baseline_expected(&t->s.base, dp_of(e, t), b);
    return t->s.ring[slot(b)].count > 2.0 * E + 3.0;
}

/* Words of the text: usual talk while calm, the hot window while hot. */
static void
terms_add(struct tocsin_engine *e, struct topic *t,
          const struct tocsin_mention *m, int64_t b)
{
    if (!t->terms && !(t->terms = tocsin_terms_new()))
        return;
    if (runs_hot(e, t, b))
        tocsin_terms_hot(t->terms, m->text.p, m->text.n, t->name);
    else
        tocsin_terms_learn(t->terms, m->text.p, m->text.n, t->name);
}

/* Test the open bucket holding ts before it closes (event time). */
static void
partial_test(struct tocsin_engine *e, struct topic *t, int64_t ts)
{
    int64_t step = e->o.bucket_ms / 6;
    if (step < 1000)
        step = 1000;
    if (ts < t->s.next_eval_ms || t->s.nclosed < (uint32_t)e->o.warmup_buckets)
        return;
    int64_t b = tocsin_floor_div(ts, e->o.bucket_ms);
    double f = (double)(ts - b * e->o.bucket_ms) / (double)e->o.bucket_ms;
    if (f < 1.0 / 6.0)
        return;
    t->s.next_eval_ms = ts + step;
    const struct bucket *cur = &t->s.ring[slot(b)];
    double d = dispersion(t);
    double p0 = neg_baseline(t);
    double e_cur = f * tocsin_baseline_expected(&t->s.base, dp_of(e, t), b);
    double z_thr = tail_threshold(e, t);
    struct evidence best_v = {0}, best_n = {0};
    /* The open bucket alone, then with the PARTIAL_PREV closed ones
     * before it. */
    double X = 0, K = 0, N = 0, E = 0;
    for (int k = 0; k <= PARTIAL_PREV; k++) {
        if (k) {
            const struct bucket *pb = &t->s.ring[slot(b - k)];
            X += pb->count;
            K += pb->neg;
            N += pb->scored;
            E += tocsin_baseline_expected(&t->s.base, dp_of(e, t), b - k);
        } else {
            X = cur->count;
            K = cur->neg;
            N = cur->scored;
            E = e_cur;
        }
        double span = f + k;
        struct evidence v = {(int64_t)(span * (double)e->o.bucket_ms),
                             X, E, K, N, p0, 0, 0, 0, {0}, {0}};
        int64_t start = b - k;
        /* A pre-aggregated record stands for a whole bucket: its count
         * cannot be compared with a fraction of one. */
        int agg = t->s.agg_bidx >= start;
        double vs = start >= t->s.fire_after[TOCSIN_ALERT_VOLUME] && !agg
                        ? tocsin_tail_calibrate(
                              tocsin_volume_score(dp_of(e, t), X, E, d * E),
                              e->z_fire, z_thr)
                        : 0;
        double ns = start >= t->s.fire_after[TOCSIN_ALERT_NEGATIVITY]
                        ? tocsin_negativity_score(dp_of(e, t), K, N, p0)
                        : 0;
        int vc = best_v.critical || is_critical(TOCSIN_ALERT_VOLUME, &v);
        int nc = best_n.critical || is_critical(TOCSIN_ALERT_NEGATIVITY, &v);
        if (vs > best_v.score) {
            best_v = v;
            best_v.score = vs;
        }
        if (ns > best_n.score) {
            best_n = v;
            best_n.score = ns;
        }
        best_v.critical = vc;
        best_n.critical = nc;
    }
    /* The negativity CUSUM's run with the open bucket so far. */
    struct tocsin_cusum c = t->s.base.cn;
    tocsin_cusum_negativity(dp_of(e, t), &c, cur->count, e_cur, cur->neg,
                            cur->scored, p0);
    int64_t cstart = b - (int64_t)c.len + 1;
    if (c.len && cstart >= t->s.fire_after[TOCSIN_ALERT_NEGATIVITY]) {
        double cs = tocsin_cusum_negativity_score(dp_of(e, t), &c, p0);
        struct evidence v = {
            (int64_t)((c.len - 1 + f) * (double)e->o.bucket_ms),
            c.x,
            c.e,
            c.k,
            c.n,
            p0,
            0,
            0,
            0,
            {0},
            {0}};
        int nc = best_n.critical || is_critical(TOCSIN_ALERT_NEGATIVITY, &v);
        if (cs > best_n.score) {
            best_n = v;
            best_n.score = cs;
        }
        best_n.critical = nc;
    }
    maybe_fire(e, t, TOCSIN_ALERT_VOLUME, &best_v, ts);
    maybe_fire(e, t, TOCSIN_ALERT_NEGATIVITY, &best_n, ts);
    for (int k = 0; k < 2; k++) {
        const struct evidence *v = k ? &best_n : &best_v;
        if (is_firing(t, k) && v->score > t->alert[k].score)
            note_peak(&t->alert[k], v);
    }
}

tocsin_err
tocsin_engine_add(struct tocsin_engine *e, const struct tocsin_mention *m,
                  int64_t now_ms)
{
    e->now = now_ms;
    int64_t ts = m->ts_ms;
    if (ts > e->max_ts) {
        e->max_ts = ts;
        set_watermark(e, ts - e->o.lateness_ms);
    }
    int64_t b = tocsin_floor_div(ts, e->o.bucket_ms);
    if (e->closed_upto != INT64_MIN && b < e->closed_upto) {
        e->st.late++;
        return TOCSIN_OK;
    }
    /* Sent twice (a collector's retry): counted once.  Out of memory, the
     * id is taken as new. */
    if (e->dedup && m->id.n &&
        tocsin_dedup_seen(e->dedup, m->id.p, m->id.n, ts) == 1) {
        e->st.duplicates++;
        return TOCSIN_OK;
    }
    uint32_t neg = 0, scored = 0;
    if (m->has_negative) {
        neg = m->negative;
        scored = m->count;
    } else if (m->has_sentiment) {
        scored = m->count;
        neg = m->sentiment <= e->o.negative_threshold ? m->count : 0;
    }
    /* Find or create every topic first, so a full table adds nothing. */
    struct topic *ts_[TOCSIN_MENTION_MAX_TOPICS];
    for (size_t i = 0; i < m->ntopics; i++) {
        const struct tocsin_str *n = &m->topics[i];
        uint64_t h = tocsin_fnv1a(TOCSIN_FNV_OFFSET, n->p, n->n);
        struct topic *t = topic_find(e, n->p, n->n, h);
        if (!t) {
            t = topic_add(e, n->p, n->n, h);
            if (!t) {
                e->st.rejected++;
                return TOCSIN_ERANGE;
            }
        }
        ts_[i] = t;
    }
    for (size_t i = 0; i < m->ntopics; i++) {
        struct topic *t = ts_[i];
        topic_catch_up(e, t);
        struct bucket *bk = &t->s.ring[slot(b)];
        bk->count += m->count;
        bk->neg += neg;
        bk->scored += scored;
        if (m->count > 1 && b > t->s.agg_bidx)
            t->s.agg_bidx = b;
        t->dirty = 1;
        sample_add(t, m, b, neg > 0);
        if (m->text.n)
            terms_add(e, t, m, b);
        partial_test(e, t, ts);
        e->st.mentions++;
    }
    return TOCSIN_OK;
}

void
tocsin_engine_get_stats(const struct tocsin_engine *e,
                        struct tocsin_engine_stats *out)
{
    *out = e->st;
}

void
tocsin_engine_foreach_topic(const struct tocsin_engine *e,
                            void (*cb)(void *arg,
                                       const struct tocsin_topic_info *t),
                            void *arg)
{
    double per_min = 60000.0 / (double)e->o.bucket_ms;
    for (size_t i = 0; i < e->ntopics; i++) {
        const struct topic *t = e->topics[i];
        int64_t lb = t->s.closed_upto == INT64_MIN ? 0 : t->s.closed_upto - 1;
        const struct bucket *last = &t->s.ring[slot(lb)];
        struct tocsin_topic_info info = {
            t->name,
            last->count * per_min,
            tocsin_baseline_expected(&t->s.base, dp_of(e, t), lb) * per_min,
            last->scored ? (double)last->neg / last->scored : -1,
            neg_baseline(t),
            t->s.last_vol,
            t->s.last_neg,
            {is_firing(t, 0), is_firing(t, 1)},
        };
        cb(arg, &info);
    }
}

/* ---- persistence ---- */

struct wbuf {
    unsigned char *p;
    size_t len, cap;
};

static int
wput(struct wbuf *w, const void *p, size_t n)
{
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1024;
        while (cap < w->len + n)
            cap *= 2;
        unsigned char *np = realloc(w->p, cap);
        if (!np)
            return -1;
        w->p = np;
        w->cap = cap;
    }
    if (n)
        memcpy(w->p + w->len, p, n);
    w->len += n;
    return 0;
}

static int
wput_cb(void *arg, const void *p, size_t n)
{
    return wput(arg, p, n);
}

/* A sample slot (NULL: empty, saved as zeros). */
static int
put_sample(struct wbuf *w, const struct sample_rec *r)
{
    static const struct sample_rec empty;
    if (!r)
        r = &empty;
    return wput(w, &r->followers, 8) || wput(w, &r->ts, 8) ||
           wput(w, &r->neg, 1) || wput(w, &r->len, 4) ||
           wput(w, r->blob, r->len);
}

tocsin_err
tocsin_engine_save_dirty(struct tocsin_engine *e,
                         int (*put)(void *arg, const char *topic,
                                    const void *blob, size_t len),
                         void *arg)
{
    struct wbuf w = {0};
    tocsin_err err = TOCSIN_OK;
    for (size_t i = 0; i < e->ntopics; i++) {
        struct topic *t = e->topics[i];
        if (!t->dirty)
            continue;
        w.len = 0;
        uint32_t hdr[2] = {SNAP_VERSION, (uint32_t)sizeof t->s};
        int bad = wput(&w, hdr, sizeof hdr) || wput(&w, &t->s, sizeof t->s);
        uint8_t has_alert = t->alert != NULL;
        bad = bad || wput(&w, &has_alert, 1) ||
              (has_alert && wput(&w, t->alert, 2 * sizeof *t->alert));
        uint8_t has = t->samples != NULL;
        bad = bad || wput(&w, &has, 1);
        if (has) {
            const struct samples *S = t->samples;
            bad = bad || wput(&w, S->bidx, sizeof S->bidx);
            for (int b = 0; b < 2; b++)
                for (int k = 0; k < BUCKET_SAMPLES; k++)
                    bad = bad || put_sample(&w, S->bucket[b][k]);
            for (int k = 0; k < HOT_SAMPLES; k++)
                bad = bad || put_sample(&w, S->hot[k]);
        }
        uint8_t has_terms = t->terms != NULL;
        bad = bad || wput(&w, &has_terms, 1) ||
              (has_terms && tocsin_terms_save(t->terms, wput_cb, &w));
        if (bad) {
            err = TOCSIN_ENOMEM;
            break;
        }
        if (put(arg, t->name, w.p, w.len)) {
            err = TOCSIN_EIO;
            break;
        }
        t->dirty = 0;
    }
    free(w.p);
    return err;
}

/* The engine's own state, and what the topics' states were learned
 * under: a bucket width or a time zone of another run makes them unusable
 * (restore_meta refuses them, and ingest rebuilds the state from the
 * streams' history). */
struct meta {
    uint32_t version, size;
    int64_t watermark, max_ts, closed_upto;
    uint64_t next_seq;
    struct tocsin_engine_stats st;
    int64_t bucket_ms;
    char zone[META_ZONE_MAX]; /* "" for UTC */
    uint64_t zones_sig;       /* of the per-topic zones, see zones_sig */
};

/* A hash of opts.zones: each entry's zone name and patterns, in order. */
static uint64_t
zones_sig(const struct tocsin_engine *e)
{
    uint64_t h = TOCSIN_FNV_OFFSET;
    for (size_t k = 0; k < e->o.nzones; k++) {
        const struct tocsin_topic_zone *z = &e->o.zones[k];
        const char *name = z->tz ? tocsin_tz_name(z->tz) : "UTC";
        h = tocsin_fnv1a(h, name, strlen(name) + 1);
        for (size_t i = 0; i < z->npatterns; i++)
            h = tocsin_fnv1a(h, z->patterns[i], strlen(z->patterns[i]) + 1);
        h = tocsin_fnv1a(h, "\1", 1);
    }
    return h;
}

static void
meta_zone(const struct tocsin_engine *e, char *out)
{
    memset(out, 0, META_ZONE_MAX);
    const char *name = e->dp.tz ? tocsin_tz_name(e->dp.tz) : "";
    size_t n = strlen(name);
    memcpy(out, name, n < META_ZONE_MAX - 1 ? n : META_ZONE_MAX - 1);
}

tocsin_err
tocsin_engine_save_meta(const struct tocsin_engine *e, void *buf, size_t cap,
                        size_t *len)
{
    struct meta m;
    memset(&m, 0, sizeof m);
    m.version = META_VERSION;
    m.size = sizeof m;
    m.watermark = e->watermark;
    m.max_ts = e->max_ts;
    m.closed_upto = e->closed_upto;
    m.next_seq = e->next_seq;
    m.st = e->st;
    m.bucket_ms = e->o.bucket_ms;
    meta_zone(e, m.zone);
    m.zones_sig = zones_sig(e);
    if (cap < sizeof m)
        return TOCSIN_ERANGE;
    memcpy(buf, &m, sizeof m);
    *len = sizeof m;
    return TOCSIN_OK;
}

tocsin_err
tocsin_engine_restore_meta(struct tocsin_engine *e, const void *blob,
                           size_t len)
{
    struct meta m;
    if (len != sizeof m)
        return TOCSIN_EINVAL;
    memcpy(&m, blob, sizeof m);
    char zone[META_ZONE_MAX];
    meta_zone(e, zone);
    if (m.version != META_VERSION || m.size != sizeof m ||
        m.bucket_ms != e->o.bucket_ms || memcmp(m.zone, zone, sizeof zone) ||
        m.zones_sig != zones_sig(e))
        return TOCSIN_EINVAL;
    e->watermark = m.watermark;
    e->max_ts = m.max_ts;
    e->closed_upto = m.closed_upto;
    e->next_seq = m.next_seq;
    uint64_t topics = e->st.topics;
    e->st = m.st;
    e->st.topics = topics;
    return TOCSIN_OK;
}

struct rbuf {
    const unsigned char *p;
    size_t len, off;
};

static int
rget(struct rbuf *r, void *out, size_t n)
{
    if (r->off + n > r->len)
        return -1;
    memcpy(out, r->p + r->off, n);
    r->off += n;
    return 0;
}

/* A sample slot; an empty one (len 0) stays NULL. */
static int
get_sample(struct rbuf *r, struct sample_rec **out)
{
    struct sample_rec h;
    memset(&h, 0, sizeof h);
    if (rget(r, &h.followers, 8) || rget(r, &h.ts, 8) ||
        rget(r, &h.neg, 1) || rget(r, &h.len, 4))
        return -1;
    if (!h.len)
        return 0;
    if (h.len > r->len - r->off || h.len > 4096)
        return -1;
    struct sample_rec *s = malloc(sizeof *s + h.len);
    if (!s)
        return -1;
    *s = h;
    *out = s;
    return rget(r, s->blob, s->len);
}

static int
topic_cmp_seq(const void *a, const void *b)
{
    const struct topic *x = *(struct topic *const *)a;
    const struct topic *y = *(struct topic *const *)b;
    return x->s.seq < y->s.seq ? -1 : x->s.seq > y->s.seq;
}

tocsin_err
tocsin_engine_restore_topic(struct tocsin_engine *e, const char *topic,
                            const void *blob, size_t len)
{
    struct rbuf r = {blob, len, 0};
    uint32_t hdr[2];
    struct topic_state s;
    if (rget(&r, hdr, sizeof hdr) || hdr[0] != SNAP_VERSION ||
        hdr[1] != sizeof s || rget(&r, &s, sizeof s))
        return TOCSIN_EINVAL;
    size_t n = strlen(topic);
    uint64_t h = tocsin_fnv1a(TOCSIN_FNV_OFFSET, topic, n);
    if (topic_find(e, topic, n, h))
        return TOCSIN_EINVAL;
    /* Parts of the topic; each is NULL when the snapshot has none. */
    struct alert_state *A = NULL;
    struct samples *S = NULL;
    struct tocsin_terms *T = NULL;
    tocsin_err err = TOCSIN_EINVAL;
    struct alert_state al[2];
    uint8_t has_alert, has, has_terms;
    if (rget(&r, &has_alert, 1) || has_alert > 1 ||
        (has_alert && rget(&r, al, sizeof al)))
        goto out;
    if (has_alert && (al[0].firing || al[1].firing)) {
        if (!(A = malloc(sizeof al))) {
            err = TOCSIN_ENOMEM;
            goto out;
        }
        memcpy(A, al, sizeof al);
    }
    if (rget(&r, &has, 1) || has > 1)
        goto out;
    if (has) {
        if (!(S = calloc(1, sizeof *S))) {
            err = TOCSIN_ENOMEM;
            goto out;
        }
        int bad = rget(&r, S->bidx, sizeof S->bidx);
        for (int b = 0; b < 2 && !bad; b++)
            for (int k = 0; k < BUCKET_SAMPLES && !bad; k++)
                bad = get_sample(&r, &S->bucket[b][k]);
        for (int k = 0; k < HOT_SAMPLES && !bad; k++)
            bad = get_sample(&r, &S->hot[k]);
        if (bad)
            goto out;
    }
    if (rget(&r, &has_terms, 1) || has_terms > 1)
        goto out;
    if (has_terms) {
        const unsigned char *tp = r.p + r.off;
        if (tocsin_terms_load(&T, &tp, r.p + r.len))
            goto out;
        r.off = (size_t)(tp - r.p);
    }
    if (r.off != len)
        goto out;
    struct topic *t = topic_add(e, topic, n, h);
    if (!t) {
        err = TOCSIN_ENOMEM;
        goto out;
    }
    t->s = s;
    t->alert = A;
    t->samples = S;
    t->terms = T;
    t->dirty = 0;
    if (s.seq >= e->next_seq)
        e->next_seq = s.seq + 1;
    return TOCSIN_OK;
out:
    free(A);
    samples_free(S);
    tocsin_terms_free(T);
    return err;
}

void
tocsin_engine_restore_done(struct tocsin_engine *e)
{
    if (!e->ntopics)
        return;
    /* Topics come back in hash order: restore insertion order. */
    qsort(e->topics, e->ntopics, sizeof *e->topics, topic_cmp_seq);
    memset(e->index, 0, e->index_cap * sizeof *e->index);
    for (size_t k = 0; k < e->ntopics; k++) {
        size_t i = (size_t)topic_hash(e->topics[k]) & (e->index_cap - 1);
        while (e->index[i])
            i = (i + 1) & (e->index_cap - 1);
        e->index[i] = (uint32_t)(k + 1);
    }
    uint64_t firing = 0;
    for (size_t k = 0; k < e->ntopics; k++)
        firing += (uint64_t)is_firing(e->topics[k], 0) +
                  (uint64_t)is_firing(e->topics[k], 1);
    e->st.firing = firing;
}
