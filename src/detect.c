/*
 * detect.c: baselines and scores (see detect.h).  Pure; any thread.
 */
#include "tocsin/detect.h"
#include "tocsin/intdiv.h"

#include <math.h>
#include <string.h>

#include "tocsin/stats.h"
#include "tocsin/tz.h"

#define HOUR_MS               3600000.0
#define DAY_MS                86400000.0
#define FAST_HALF_LIFE        (1 * HOUR_MS)
#define SLOW_HALF_LIFE        (24 * HOUR_MS)
#define DISP_HALF_LIFE        (24 * HOUR_MS)
#define NEG_HALF_LIFE         (6 * HOUR_MS)
#define ONSET_HALF_LIFE       (24 * HOUR_MS) /* an episode's peak surprise */
#define SEASON_HALF_LIFE_DAYS 4.0            /* per hour slot */
#define WEEK_HALF_LIFE_DAYS   14.0
#define NEG_PRIOR_SHARE       0.15
#define NEG_PRIOR_N           20.0
#define EXP_FLOOR             0.01 /* mentions per bucket */
#define DISP_MAX              1000.0
#define DISP_START            10   /* buckets before the noise is learned */
#define CUSUM_SHIFT           0.25 /* negative share change */
#define NEG_DECADES           1.5  /* see neg_score */
#define TAIL_U                2.0  /* decades: excursions start above p = 0.01 */
#define TAIL_PER_WEEK         0.5  /* topic-calibrated pages per topic-week */
#define TAIL_HALF_LIFE        (14 * DAY_MS) /* of the excursion rate */
#define TAIL_SHAPE_MIN        (-0.5)
#define TAIL_SHAPE_MAX        0.5
#define EW_LEVEL_ERR          0.05 /* the baseline's, over a long window */
#define COPY_PRIOR_HOURS      0.25 /* what a copied hour profile counts for */
/* Bits of struct tocsin_baseline's `started`, per day type k. */
#define STARTED(k)            (1u << (k))
#define STARTED_ANY           (STARTED(0) | STARTED(1))
#define COPIED(k)             (4u << (k)) /* started as the other's copy */

static double
rate_for(double half_life_ms, double bucket_ms)
{
    return 1.0 - pow(2.0, -bucket_ms / half_life_ms);
}

void
tocsin_detect_params_init(struct tocsin_detect_params *p, int64_t bucket_ms,
                          double sensitivity, double min_mentions,
                          double min_ratio, double min_negative)
{
    memset(p, 0, sizeof *p);
    double B = (double)bucket_ms;
    p->bucket_ms = bucket_ms;
    p->seasonal = bucket_ms <= 3600000;
    p->a_fast = rate_for(FAST_HALF_LIFE, B);
    p->a_slow = rate_for(SLOW_HALF_LIFE, B);
    p->a_disp = rate_for(DISP_HALF_LIFE, B);
    p->a_neg = rate_for(NEG_HALF_LIFE, B);
    /* An hour slot is seen 3600/B times a day. */
    double per_day_slot = HOUR_MS / B;
    p->g_season = 1.0 - pow(2.0, -1.0 / (SEASON_HALF_LIFE_DAYS * per_day_slot));
    p->g_week = 1.0 - pow(2.0, -1.0 / (WEEK_HALF_LIFE_DAYS * DAY_MS / B / 3.5));
    p->ew_len[0] = 60;
    p->ew_len[1] = 240;
    /* Set on the crisis simulator once weekends had their own profile
     * (with one profile for all days, these floors gave 7 to 9 false
     * alarms per 100 topic-days); ratios, so they hold at any size. */
    p->ew_floor[0] = 1.0 / 3.0;
    p->ew_floor[1] = 1.0 / 4.0;
    for (int k = 0; k < TOCSIN_NEWIN; k++)
        p->beta[k] = 1.0 / p->ew_len[k];
    if (sensitivity < 0)
        sensitivity = 0;
    if (sensitivity > 1)
        sensitivity = 1;
    /* Score 0.9 at p = 1e-9 for sensitivity 0.5; each 0.5 step halves or
     * doubles the decades needed. */
    p->score_k = 9.0 / log(10.0) * pow(4.0, 0.5 - sensitivity);
    p->onset_keep = pow(2.0, -B / ONSET_HALF_LIFE);
    p->cusum_shift = CUSUM_SHIFT;
    /* As much surprise as a score of 0.95 holds: a run comes down from
     * there within minutes to hours once the episode is over. */
    p->cusum_cap = -p->score_k * log(0.05) * log(10.0);
    p->min_mentions = min_mentions;
    p->min_ratio = min_ratio;
    p->min_negative = min_negative;
    p->tail_u = TAIL_U;
    double tpw = TAIL_PER_WEEK;
    /* Each 0.5 of sensitivity doubles (or halves) the rate. */
    p->tail_rate = tpw * pow(2.0, 2.0 * (sensitivity - 0.5)) * B /
                   (7.0 * DAY_MS);
    p->tail_keep = pow(2.0, -B / TAIL_HALF_LIFE);
    /* Visits count for the floors' trust in a slot (3 hours of buckets,
     * tocsin_baseline_ew_floor) and for the average of its first visits
     * (g0 in learn_season, until it falls below g_season). */
    double cap = ceil(fmax(3.0 * per_day_slot, 1.0 / p->g_season));
    p->visits_cap = cap < (double)UINT32_MAX ? (uint32_t)cap : UINT32_MAX;
}

void
tocsin_baseline_init(struct tocsin_baseline *b)
{
    memset(b, 0, sizeof *b);
    b->disp = 1.0f;
    for (int k = 0; k < 2; k++)
        for (int h = 0; h < 24; h++)
            b->season[k][h] = 1.0f;
    b->week[0] = b->week[1] = 1.0f;
}

/* Seconds east of UTC at instant ms in the audience's zone. */
static int64_t
utoff_ms(const struct tocsin_detect_params *p, int64_t ms)
{
    if (!p->tz)
        return 0;
    int64_t s = tocsin_floor_div(ms, 1000);
    struct tocsin_tz_memo *m = p->memo;
    if (!m)
        return 1000 * (int64_t)tocsin_tz_utoff(p->tz, s);
    for (int k = 0; k < 2; k++)
        if (s >= m->from_s[k] && s < m->until_s[k])
            return 1000 * (int64_t)m->off_s[k];
    int k = m->next;
    m->next = 1 - k;
    m->off_s[k] = tocsin_tz_span(p->tz, s, &m->from_s[k], &m->until_s[k]);
    return 1000 * (int64_t)m->off_s[k];
}

/* The start of bucket bucket_idx on the audience's clock (ms since the
 * epoch as if their local time were UTC). */
static int64_t
local_ms(const struct tocsin_detect_params *p, int64_t bucket_idx)
{
    int64_t ms = bucket_idx * p->bucket_ms;
    return ms + utoff_ms(p, ms);
}


static int
hour_of(const struct tocsin_detect_params *p, int64_t bucket_idx)
{
    int64_t h = tocsin_floor_div(local_ms(p, bucket_idx), 3600000) % 24;
    return (int)(h < 0 ? h + 24 : h);
}

static int
weekend_of_day(int64_t day)
{
    int64_t dow = (day + 4) % 7; /* 1970-01-01 was a Thursday; 0 = Sunday */
    if (dow < 0)
        dow += 7;
    return dow == 0 || dow == 6;
}

static int
weekend_of(const struct tocsin_detect_params *p, int64_t bucket_idx)
{
    return weekend_of_day(tocsin_floor_div(local_ms(p, bucket_idx), 86400000));
}

/* The first bucket starting at or after ms. */
static int64_t
bucket_at_or_after(int64_t ms, int64_t bucket_ms)
{
    return -tocsin_floor_div(-ms, bucket_ms);
}

/* Buckets of [a, z] starting in [lo_ms, hi_ms). */
static uint64_t
buckets_in(int64_t lo_ms, int64_t hi_ms, int64_t a, int64_t z, int64_t B)
{
    int64_t lo = bucket_at_or_after(lo_ms, B);
    int64_t hi = bucket_at_or_after(hi_ms, B) - 1;
    lo = lo > a ? lo : a;
    hi = hi < z ? hi : z;
    return hi >= lo ? (uint64_t)(hi - lo + 1) : 0;
}

/* Buckets of [a, z] starting in the local hour [lm, lm + 1 h): the
 * instants of one interval, or of none (skipped by a DST change) or two
 * (repeated).  The offset changes at most once within a day of it. */
static uint64_t
local_hour_buckets(const struct tocsin_detect_params *p, int64_t lm,
                   int64_t a, int64_t z)
{
    int64_t B = p->bucket_ms, H = 3600000;
    int64_t ob = utoff_ms(p, lm - 86400000), oa = utoff_ms(p, lm + 86400000);
    if (ob == oa)
        return buckets_in(lm - ob, lm + H - ob, a, z, B);
    /* The change, to the second: the first instant with offset oa. */
    int64_t lo = lm - 86400000, hi = lm + 86400000;
    while (hi - lo > 1000) {
        int64_t mid = lo + (hi - lo) / 2;
        if (utoff_ms(p, mid) == oa)
            hi = mid;
        else
            lo = mid;
    }
    int64_t T = tocsin_floor_div(hi, 1000) * 1000;
    int64_t end_b = lm + H - ob < T ? lm + H - ob : T;
    int64_t start_a = lm - oa > T ? lm - oa : T;
    return buckets_in(lm - ob, end_b, a, z, B) +
           buckets_in(start_a, lm + H - oa, a, z, B);
}

uint32_t
tocsin_baseline_visits(const struct tocsin_baseline *b,
                       const struct tocsin_detect_params *p, int wk, int h)
{
    uint32_t since = b->since[wk], cap = p->visits_cap;
    if (!since)
        return 0;
    int64_t z = b->last, a = z - (int64_t)since + 1, B = p->bucket_ms;
    uint64_t n = 0;
    if (a < 0) { /* before 1970: one bucket at a time */
        for (int64_t x = a; x <= z && n < cap; x++)
            n += weekend_of(p, x) == wk && hour_of(p, x) == h;
        return (uint32_t)n;
    }
    /* 29 days hold 4 full weeks: 4 * (5 or 2) days of the type, each with
     * at least floor(1 h / bucket) buckets in the slot. */
    int64_t per_hour = 3600000 / B;
    if ((z - a + 1) * B >= 29 * 86400000LL &&
        (uint64_t)(4 * (wk ? 2 : 5) * per_hour) >= cap)
        return cap;
    /* Day by day (the audience's days) from the profile's start: at most
     * a few weeks until the count reaches cap. */
    int64_t d0 = tocsin_floor_div(local_ms(p, a), 86400000);
    int64_t d1 = tocsin_floor_div(local_ms(p, z), 86400000);
    for (int64_t d = d0; d <= d1 && n < cap; d++) {
        if (weekend_of_day(d) != wk)
            continue;
        n += local_hour_buckets(p, d * 86400000 + (int64_t)h * 3600000, a,
                                z);
    }
    return n < cap ? (uint32_t)n : cap;
}

/* The profile that reads bucket_idx: its own day type's once that type
 * has been learned, else the other's (a topic first seen on a Tuesday
 * reads its first Saturday with the weekday profile and level). */
static int
day_type(const struct tocsin_baseline *b,
         const struct tocsin_detect_params *p, int64_t bucket_idx)
{
    int wk = weekend_of(p, bucket_idx);
    if (!(b->started & STARTED(wk)) && (b->started & STARTED_ANY))
        wk = 1 - wk;
    return wk;
}

/* How much the seasonal model counts: 0 for the first day, 1 after two. */
static double
season_weight(const struct tocsin_baseline *b,
              const struct tocsin_detect_params *p)
{
    if (!p->seasonal)
        return 1.0;
    double days = (double)b->n * (double)p->bucket_ms / DAY_MS;
    double w = days - 1.0;
    return w < 0 ? 0 : (w > 1 ? 1 : w);
}

/* The hour factor as the expectation reads it: neighbouring hours are
 * alike, so the slot is read with a quarter of each neighbour, which
 * halves the noise of a slot learned from a few visits (each slot itself
 * stays the plain average of its own counts). */
static double
season_at(const struct tocsin_baseline *b, int wk, int h)
{
    const float *s = b->season[wk];
    return 0.25 * s[(h + 23) % 24] + 0.5 * s[h] + 0.25 * s[(h + 1) % 24];
}

double
tocsin_baseline_expected(const struct tocsin_baseline *b,
                         const struct tocsin_detect_params *p,
                         int64_t bucket_idx)
{
    double w = season_weight(b, p);
    double s = b->slow;
    if (p->seasonal) {
        int wk = day_type(b, p, bucket_idx);
        s *= season_at(b, wk, hour_of(p, bucket_idx)) * b->week[wk];
    }
    double e = (1.0 - w) * b->fast + w * s;
    return e > EXP_FLOOR ? e : EXP_FLOOR;
}

double
tocsin_baseline_ew_floor(const struct tocsin_baseline *b,
                         const struct tocsin_detect_params *p,
                         int64_t bucket_idx, int j, double min_ratio)
{
    /* Trust in the bucket's hour factor: its visits, up to 3 days'
     * worth. */
    double w = 1.0;
    if (p->seasonal) {
        /* Its own visits: a day type read with the other's profile is
         * not trusted yet. */
        int wk = weekend_of(p, bucket_idx), h = hour_of(p, bucket_idx);
        double seen = tocsin_baseline_visits(b, p, wk, h);
        w = seen / (3.0 * HOUR_MS / (double)p->bucket_ms);
        w = w > 1 ? 1 : w;
    }
    w *= season_weight(b, p);
    double f = (1.0 - w) * 0.5 + w * p->ew_floor[j];
    return 1.0 + (min_ratio - 1.0) * f;
}

double
tocsin_baseline_dispersion(const struct tocsin_baseline *b)
{
    return b->disp > 1.0f ? b->disp : 1.0;
}

double
tocsin_baseline_ew_variance(const struct tocsin_baseline *b,
                            const struct tocsin_detect_params *p, int j,
                            double exp_now, double E)
{
    /* A weighted sum's variance, plus the baseline's own error, which
     * lasts as long as the window does: with the first alone, noisy hours
     * at 1.6 times their usual count paged (0.3 false alarms per 100
     * topic-days in the crisis simulator, 0.15 with both). */
    double keep = 1.0 - p->beta[j];
    return tocsin_baseline_dispersion(b) *
               (keep * keep * b->ewv[j] + exp_now) +
           EW_LEVEL_ERR * EW_LEVEL_ERR * E * E;
}

double
tocsin_baseline_neg_share(const struct tocsin_baseline *b)
{
    return (b->neg_ew + NEG_PRIOR_SHARE * NEG_PRIOR_N) /
           (b->scored_ew + NEG_PRIOR_N);
}

static void
cusum_add(struct tocsin_cusum *c, double llr, double cap, double X, double E,
          double K, double N)
{
    double s = c->s + llr;
    if (!(s > 0)) {
        memset(c, 0, sizeof *c);
        return;
    }
    c->s = (float)(s < cap ? s : cap);
    c->x += (float)X;
    c->e += (float)E;
    c->k += (float)K;
    c->n += (float)N;
    if (c->len < UINT32_MAX)
        c->len++;
}

void
tocsin_cusum_negativity(const struct tocsin_detect_params *p,
                        struct tocsin_cusum *c, double X, double E, double K,
                        double N, double p0)
{
    if (N <= 0 && c->s <= 0)
        return;
    double p1 = p0 + p->cusum_shift;
    if (p1 > 0.95)
        p1 = 0.95;
    double llr = K * log(p1 / p0) + (N - K) * log((1.0 - p1) / (1.0 - p0));
    cusum_add(c, llr, p->cusum_cap, X, E, K, N);
}

static void
clamp_factors(float *f, int n, float lo, float hi)
{
    for (int i = 0; i < n; i++)
        f[i] = f[i] < lo ? lo : (f[i] > hi ? hi : f[i]);
}

/* Keep each hour profile at a mean of 1 and the week factors at a mean of
 * 1 over the week, moving the level into the factor above: the
 * expectation does not change. */
static void
normalise_season(struct tocsin_baseline *b)
{
    for (int k = 0; k < 2; k++) {
        if (!(b->started & STARTED(k)))
            continue;
        double m = 0;
        for (int i = 0; i < 24; i++)
            m += b->season[k][i];
        m /= 24.0;
        if (m > 0) {
            for (int i = 0; i < 24; i++)
                b->season[k][i] = (float)(b->season[k][i] / m);
            b->week[k] = (float)(b->week[k] * m);
        }
    }
    /* A day type not learned yet has no factor of its own: it keeps the
     * other's (left at 1 while the other was normalised, it drifted, up
     * or down: a topic first seen on a Monday expected its first weekend
     * at 0.15 to 2.5 times its weekdays). */
    unsigned any = b->started & STARTED_ANY;
    if (any == STARTED(0) || any == STARTED(1)) {
        int seen = any == STARTED(1);
        b->week[1 - seen] = b->week[seen];
    }
    double mw = (5.0 * b->week[0] + 2.0 * b->week[1]) / 7.0;
    if (mw > 0) {
        b->week[0] = (float)(b->week[0] / mw);
        b->week[1] = (float)(b->week[1] / mw);
        b->slow *= mw;
    }
}

/* Learn the level and the factors of a seasonal baseline from a clipped
 * count, at learning weight slow_w and level rate as. */
static void
learn_season(struct tocsin_baseline *b, const struct tocsin_detect_params *p,
             int64_t bucket_idx, double c_level, double slow_w, double as)
{
    int h = hour_of(p, bucket_idx), wk = weekend_of(p, bucket_idx);
    /* The visits so far (this bucket is counted once learned). */
    uint32_t ns = tocsin_baseline_visits(b, p, wk, h);
    b->last = bucket_idx;
    for (int k = 0; k < 2; k++)
        if ((b->started & STARTED(k)) && b->since[k] < UINT32_MAX)
            b->since[k]++;
    /* The profile of the day type seen second starts as a copy of the
     * other, factor included: the shape and level of a day, until its own
     * hours are seen.  An empty bucket before the topic's first mention
     * teaches nothing and starts nothing (for a stream starting at Monday
     * 00:00, the first bucket closed was an empty Sunday 23:59, which
     * marked the weekend as learned). */
    if (!(b->started & STARTED(wk))) {
        if (!(b->slow > EXP_FLOOR) && !(c_level > 0))
            return;
        if (b->started & STARTED_ANY) {
            memcpy(b->season[wk], b->season[1 - wk], sizeof b->season[wk]);
            b->week[wk] = b->week[1 - wk];
            b->started |= COPIED(wk);
        }
        b->started |= STARTED(wk);
        b->since[wk] = 1;
    }
    /* The level learns against the factor as the expectation reads it
     * (with its neighbours): a young slot's own factor is noisy on a
     * small topic, and c / f over a noisy f comes out high on average. */
    double fr = season_at(b, wk, h) * b->week[wk];
    if (fr < 0.05)
        fr = 0.05;
    b->slow += slow_w * as * (c_level / fr - b->slow);
    double f = (double)b->season[wk][h] * b->week[wk];
    if (f < 0.05)
        f = 0.05;
    if (b->slow > EXP_FLOOR) {
        double rel = c_level / (b->slow * f); /* this bucket vs usual */
        /* Average a slot's first visits, then forget slowly.  A copied
         * slot counts as COPY_PRIOR_HOURS of visits: without it the first
         * bucket of each weekend hour replaced the copy, and a small
         * topic's first weekend (0 or 1 mention a bucket) threw its hour
         * factors to their clamps and its level to four times its own. */
        double prior = (b->started & COPIED(wk))
                           ? COPY_PRIOR_HOURS * HOUR_MS / (double)p->bucket_ms
                           : 0.0;
        double g0 = 1.0 / ((double)ns + 1.0 + prior);
        double gs = p->g_season > g0 ? p->g_season : g0;
        b->season[wk][h] =
            (float)(b->season[wk][h] * (1.0 + slow_w * gs * (rel - 1.0)));
        b->week[wk] =
            (float)(b->week[wk] * (1.0 + slow_w * p->g_week * (rel - 1.0)));
        clamp_factors(b->season[wk], 24, 0.02f, 20.0f);
        clamp_factors(b->week, 2, 0.1f, 10.0f);
    }
    /* Once a day: on the first bucket of the local day (a zone's offset
     * may be a half or quarter hour). */
    int64_t lm = local_ms(p, bucket_idx);
    if (h == 0 && lm - tocsin_floor_div(lm, 3600000) * 3600000 < p->bucket_ms)
        normalise_season(b);
}

/* The noise, from a count clipped far above the level's clip, so that
 * bursts that did not page widen it.  Learned once the level means
 * something (the first buckets' expectation is still climbing from
 * zero). */
void
tocsin_baseline_learn_dispersion(struct tocsin_baseline *b,
                                 const struct tocsin_detect_params *p,
                                 double c, double E)
{
    if (b->n < DISP_START)
        return;
    double d = tocsin_baseline_dispersion(b);
    if (b->n >= 30) {
        double dcap = E + 20.0 * sqrt(d * E) + 5.0;
        c = c < dcap ? c : dcap;
    }
    double r = (c - E) * (c - E) / (E > EXP_FLOOR ? E : EXP_FLOOR);
    double a1 = 1.0 / (b->n - DISP_START + 1.0);
    double ad = p->a_disp > a1 ? p->a_disp : a1;
    double nd = d + ad * (r - d);
    b->disp = (float)(nd < 1.0 ? 1.0 : (nd > DISP_MAX ? DISP_MAX : nd));
}

void
tocsin_baseline_learn(struct tocsin_baseline *b,
                      const struct tocsin_detect_params *p, int64_t bucket_idx,
                      double c, double neg, double scored, double E,
                      unsigned flags)
{
    int vol_firing = (flags & TOCSIN_LEARN_VOL_HOT) != 0;
    int neg_firing = (flags & TOCSIN_LEARN_NEG_HOT) != 0;
    double d = tocsin_baseline_dispersion(b);
    tocsin_cusum_negativity(p, &b->cn, c, E, neg, scored,
                            tocsin_baseline_neg_share(b));
    /* Long windows see every count as it is. */
    for (int k = 0; k < TOCSIN_NEWIN; k++) {
        double keep = 1.0 - p->beta[k];
        b->ewm[k] = (float)(keep * b->ewm[k] + c);
        b->ewe[k] = (float)(keep * b->ewe[k] + E);
        b->ewv[k] = (float)(keep * keep * b->ewv[k] + E);
        b->ewk[k] = (float)(keep * b->ewk[k] + neg);
        b->ewn[k] = (float)(keep * b->ewn[k] + scored);
    }
    /* The levels learn from clipped counts (the dispersion from counts
     * clipped much higher, see tocsin_baseline_learn_dispersion). */
    double c_level = c;
    if (b->n >= 30) {
        double cap = E + 4.0 * sqrt(d * E) + 2.0;
        c_level = c < cap ? c : cap;
    }
    double slow_w = vol_firing ? 0.25 : 1.0;
    double a0 = 1.0 / (b->n + 1.0);
    double af = p->a_fast > a0 ? p->a_fast : a0;
    double as = p->a_slow > a0 ? p->a_slow : a0;
    b->fast += slow_w * af * (c_level - b->fast);
    if (p->seasonal)
        learn_season(b, p, bucket_idx, c_level, slow_w, as);
    else
        b->slow += slow_w * as * (c_level - b->slow);
    double nw = neg_firing || vol_firing ? 0.25 : 1.0;
    double an = p->a_neg * nw;
    b->neg_ew = (1.0 - an) * b->neg_ew + an * neg / p->a_neg;
    b->scored_ew = (1.0 - an) * b->scored_ew + an * scored / p->a_neg;
    if (b->n < UINT32_MAX)
        b->n++;
}

double
tocsin_detect_score(const struct tocsin_detect_params *p, double log_p)
{
    if (!(log_p < 0))
        return 0;
    double z = -log_p / log(10.0);
    return 1.0 - exp(-z / p->score_k);
}

static double
clamp01(double x)
{
    return x < 0 ? 0 : (x > 1 ? 1 : x);
}

static double
volume_gate(const struct tocsin_detect_params *p, double X, double E,
            double min_ratio)
{
    return clamp01(X / p->min_mentions) *
           clamp01((X / E - 1.0) / (min_ratio - 1.0));
}

double
tocsin_volume_score(const struct tocsin_detect_params *p, double X, double E,
                    double V)
{
    return tocsin_volume_score_floor(p, X, E, V, p->min_ratio);
}

double
tocsin_volume_score_floor(const struct tocsin_detect_params *p, double X,
                          double E, double V, double min_ratio)
{
    if (X <= 0)
        return 0;
    if (E < EXP_FLOOR)
        E = EXP_FLOOR;
    if (!(V > 0))
        V = E;
    double raw = tocsin_detect_score(p, tocsin_count_log_sf(X, E, V));
    return raw * volume_gate(p, X, E, min_ratio);
}

/* The binomial tail is exact once the usual share is known (counts only
 * follow their model roughly): a negativity score of 0.9 needs p = 1e-6
 * where a volume score needs 1e-9 (at sensitivity 0.5). */
static double
neg_score(const struct tocsin_detect_params *p, double log_p)
{
    return tocsin_detect_score(p, log_p * NEG_DECADES);
}

static double
negativity_gate(const struct tocsin_detect_params *p, double K, double N,
                double p0)
{
    return clamp01(K / p->min_negative) * clamp01((K / N - p0 - 0.05) / 0.15);
}

double
tocsin_negativity_score(const struct tocsin_detect_params *p, double K,
                        double N, double p0)
{
    if (N <= 0 || K <= 0)
        return 0;
    double raw = neg_score(p, tocsin_binom_log_sf(K, N, p0));
    return raw * negativity_gate(p, K, N, p0);
}

double
tocsin_cusum_negativity_score(const struct tocsin_detect_params *p,
                              const struct tocsin_cusum *c, double p0)
{
    if (!(c->s > 0) || c->n <= 0 || c->k <= 0)
        return 0;
    return neg_score(p, -(double)c->s) * negativity_gate(p, c->k, c->n, p0);
}

double
tocsin_onset_score(const struct tocsin_detect_params *p, double score,
                   float *peak)
{
    if (score >= 1.0)
        score = 1.0 - 1e-15;
    double z = score > 0 ? -p->score_k * log1p(-score) : 0;
    double prev = (double)*peak * p->onset_keep;
    double gain = z - prev;
    *peak = (float)(z > prev ? z : prev);
    return gain > 0 ? 1.0 - exp(-gain / p->score_k) : 0;
}

/* ---- a topic's own tail ---- */

void
tocsin_tail_init(struct tocsin_tail *t)
{
    memset(t, 0, sizeof *t);
}

static void
tail_push(struct tocsin_tail *t, const struct tocsin_detect_params *p)
{
    double c = 32.0 * log2(1.0 + ((double)t->cur - p->tail_u));
    c = c < 0 ? 0 : (c > 255 ? 255 : c);
    t->peak[t->head] = (uint8_t)(c + 0.5);
    t->head = (uint8_t)((t->head + 1) % TOCSIN_TAIL_PEAKS);
    if (t->npeak < TOCSIN_TAIL_PEAKS)
        t->npeak++;
}

void
tocsin_tail_observe(struct tocsin_tail *t, const struct tocsin_detect_params *p,
                    double z, int learn)
{
    t->age_ew = (float)(p->tail_keep * t->age_ew + 1.0);
    t->exc_ew = (float)(p->tail_keep * t->exc_ew);
    if (!(z >= p->tail_u)) {
        if (t->open)
            tail_push(t, p);
        t->open = 0;
        t->cur = 0;
        return;
    }
    if (!t->open) {
        t->open = 1;
        t->exc_ew += 1.0f;
        t->cur = (float)p->tail_u;
    }
    if (learn && z > t->cur)
        t->cur = (float)z;
}

double
tocsin_tail_threshold(const struct tocsin_tail *t,
                      const struct tocsin_detect_params *p)
{
    if (t->npeak < TOCSIN_TAIL_MIN || !(t->age_ew > 0))
        return 0;
    double lambda = t->exc_ew / t->age_ew; /* excursions per bucket */
    double q = p->tail_rate / (lambda > 1e-12 ? lambda : 1e-12);
    if (q >= 1)
        return 0;
    /* Method of moments on the excesses over the lowest peak held (every
     * peak exceeds it, so lambda is its rate): excursion peaks sit well
     * above tail_u, and a tail fitted from there would be too wide. */
    double y[TOCSIN_TAIL_PEAKS], lo = HUGE_VAL;
    for (int i = 0; i < t->npeak; i++) {
        y[i] = exp2(t->peak[i] / 32.0) - 1.0;
        lo = y[i] < lo ? y[i] : lo;
    }
    double m = 0, v = 0;
    for (int i = 0; i < t->npeak; i++)
        m += y[i] - lo;
    m /= t->npeak;
    for (int i = 0; i < t->npeak; i++)
        v += (y[i] - lo - m) * (y[i] - lo - m);
    v /= t->npeak - 1;
    double u = p->tail_u + lo;
    if (!(v > 1e-9) || !(m > 0))
        return u + m;
    double xi = 0.5 * (1.0 - m * m / v);
    xi = xi < TAIL_SHAPE_MIN ? TAIL_SHAPE_MIN
                             : (xi > TAIL_SHAPE_MAX ? TAIL_SHAPE_MAX : xi);
    /* The scale that keeps the mean excess (sigma / (1 - xi)): a clamped
     * shape must not take the scale of the unclamped one with it. */
    double sigma = m * (1.0 - xi);
    double yq = fabs(xi) < 1e-6 ? sigma * -log(q)
                                : sigma / xi * (pow(q, -xi) - 1.0);
    return u + yq;
}

double
tocsin_tail_calibrate(double score, double z_model, double z_thr)
{
    if (!(z_thr > z_model) || !(score > 0))
        return score;
    if (score >= 1.0)
        score = 1.0 - 1e-15;
    return 1.0 - pow(1.0 - score, z_model / z_thr);
}

double
tocsin_score_decades(const struct tocsin_detect_params *p, double score)
{
    if (!(score > 0))
        return 0;
    if (score >= 1.0)
        score = 1.0 - 1e-15;
    return -p->score_k * log1p(-score);
}
