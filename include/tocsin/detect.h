/*
 * detect.h: a topic's baseline and the detectors' scores.
 *
 * The baseline predicts the count of the next bucket:
 *
 *   expected = (1 - w) * fast
 *            + w * slow * season[weekend][hour] * week[weekend]
 *
 * `fast` is a recent level (half-life 1 h), `slow` a deseasonalised level
 * (half-life 1 day), `season` 24 hour-of-day factors for weekdays and 24
 * for weekends (people wake later on Sundays: one profile for both puts
 * weekend mornings at 1.7 times what they hold), and `week` a weekday and
 * a weekend factor, all learned from the counts.  A profile is read with
 * a quarter of each neighbouring hour (halving the noise of a slot seen a
 * few times).  Until a topic has seen a day of the other type, that type
 * is read with the profile and factor of the type it has seen; its own
 * profile then starts as a copy of the other, counted as a quarter hour
 * of visits per hour slot.  The level learns against the factors as they
 * are read.  w grows from 0 to 1 over the first two days of history, so a
 * young topic falls back to its recent level until its cycles are learned.
 * Counts far above the expectation are clipped before they are learned (a
 * spike does not become the new normal), and learning slows to a quarter
 * while an alert fires.
 * The dispersion (variance / mean of counts around the expectation) is
 * learned too, from counts clipped much higher, so retweet cascades make a
 * topic's noise wider instead of looking impossible.
 *
 * Besides the exact windows the engine sums from its ring of buckets, the
 * baseline keeps exponentially weighted windows (effective lengths 60 and
 * 240 buckets) of observed and expected counts and of negatives, for slow
 * build-ups and for small topics that need hours to show anything (their
 * variance is that of a weighted sum, about half their expected mass,
 * plus the baseline's own error over the window), and a CUSUM on the
 * negative share (see struct tocsin_cusum).
 *
 * Scores: the tail probability p of what was observed becomes
 * 1 - exp(-(-log10 p) / k), in [0, 1) and increasing, where k follows the
 * sensitivity (at 0.5 a volume score of 0.9 means p = 1e-9, a negativity
 * score of 0.9 p = 1e-6: the binomial is exact given the usual share),
 * times gates for the floors (minimum mentions, minimum ratio, minimum
 * negatives).  The onset score turns a topic's stream of scores into one
 * that ranks the starts of episodes (replay --scores).
 *
 * Pure functions on plain structs; no I/O, no clock.  Thread-safe, but
 * for parameters given a tz memo (one thread's, the engine's).
 */
#ifndef TOCSIN_DETECT_H
#define TOCSIN_DETECT_H

#include <stdint.h>

#define TOCSIN_NEWIN 2 /* exponentially weighted windows */

struct tocsin_tz;

/* The spans of instants (seconds) over which a zone's offsets last looked
 * up hold: a memo the owner of the parameters may give them, so that
 * reading many instants costs one lookup per DST period.  Two spans:
 * a topic's hour profile reaches weeks back, often over a DST change. */
struct tocsin_tz_memo {
    int64_t from_s[2], until_s[2]; /* empty when from_s >= until_s */
    int32_t off_s[2];
    int next; /* the entry replaced next */
};

struct tocsin_detect_params {
    int64_t bucket_ms;
    const struct tocsin_tz *tz; /* hours and weekends in this zone; NULL:
                                   UTC (borrowed, immutable) */
    struct tocsin_tz_memo *memo; /* NULL, or written by every read: the
                                    params are then one thread's */
    int seasonal;          /* buckets of an hour or less */
    double a_fast, a_slow; /* level learning rates per bucket */
    double a_disp;         /* dispersion learning rate */
    double g_season, g_week;
    double a_neg; /* usual negative share learning rate */
    double beta[TOCSIN_NEWIN];
    double ew_len[TOCSIN_NEWIN];   /* effective lengths, in buckets */
    double ew_floor[TOCSIN_NEWIN]; /* see tocsin_baseline_ew_floor */
    double score_k;
    double onset_keep;  /* per-bucket decay of the episode's peak */
    double cusum_shift; /* the negativity CUSUM's: usual share + this */
    double cusum_cap;   /* nats a CUSUM may hold */
    double min_mentions, min_ratio, min_negative;
    /* Per-topic tail (struct tocsin_tail). */
    double tail_u;      /* decades: an excursion starts above this */
    double tail_rate;   /* target excursions past the threshold per bucket */
    double tail_keep;   /* per-bucket decay of the excursion rate */
    uint32_t visits_cap; /* hour slot visits past which none matters */
};

void tocsin_detect_params_init(struct tocsin_detect_params *p,
                               int64_t bucket_ms, double sensitivity,
                               double min_mentions, double min_ratio,
                               double min_negative);

/*
 * A CUSUM run: the log-likelihood ratio (nats) of "changed" against
 * "usual" summed since it last fell to zero, and what the run holds.  The
 * fastest test there is for a lasting change of a known size: it needs no
 * window length, so a build-up or a shift of the negative share is caught
 * as soon as the evidence adds up.
 */
struct tocsin_cusum {
    float s;          /* nats, in [0, cusum_cap] */
    float x, e, k, n; /* mentions, expected, negatives, scored */
    uint32_t len;     /* buckets in the run; 0 when s is 0 */
};

/*
 * A baseline is learned one bucket after the other, every bucket (the
 * engine closes them in order, and the exponentially weighted windows
 * decay once a call), so the buckets each hour factor has learned from
 * are those of its slot among the `since[k]` buckets up to `last`: they
 * are counted from those (tocsin_baseline_visits) instead of kept, 16
 * bytes instead of 96.
 */
struct tocsin_baseline {
    double fast, slow; /* levels, mentions per bucket */
    double neg_ew, scored_ew;
    int64_t last;        /* the last bucket learned (seasonal) */
    float disp;          /* >= 1 */
    float season[2][24]; /* weekday, weekend hour factors (mean 1) */
    float week[2];
    uint32_t since[2];       /* buckets learned since profile k started,
                                that one included (0: not started) */
    uint32_t started;        /* bit k: profile k is in use; bit 2 + k:
                                it started as a copy of the other */
    float ewm[TOCSIN_NEWIN]; /* observed mass */
    float ewe[TOCSIN_NEWIN]; /* expected mass */
    float ewv[TOCSIN_NEWIN]; /* expected mass with squared weights */
    float ewk[TOCSIN_NEWIN]; /* negatives */
    float ewn[TOCSIN_NEWIN]; /* mentions with a known sentiment */
    struct tocsin_cusum cn;  /* negativity: share usual + cusum_shift */
    uint32_t n;              /* buckets learned */
};

void tocsin_baseline_init(struct tocsin_baseline *b);

/*
 * Buckets hour slot h (0-23) of profile wk (0: weekdays, 1: weekends) has
 * learned from, up to p->visits_cap: 3 hours of buckets, and where the
 * average of a slot's first visits gives way to its slow learning rate;
 * past it, visits change nothing.
 */
uint32_t tocsin_baseline_visits(const struct tocsin_baseline *b,
                                const struct tocsin_detect_params *p, int wk,
                                int h);

/* Expected count of bucket `bucket_idx` (index = start / bucket_ms). */
double tocsin_baseline_expected(const struct tocsin_baseline *b,
                                const struct tocsin_detect_params *p,
                                int64_t bucket_idx);

/* Variance / mean of counts around the expectation (>= 1). */
double tocsin_baseline_dispersion(const struct tocsin_baseline *b);

/*
 * Ratio floor of exponentially weighted window j, for a min_ratio of the
 * short windows: hours of a rate well above the usual are rarer than
 * minutes of it, so at min_ratio 3 an hour at 1.67 times the usual and
 * four hours at 1.5 times score fully.  Until the hour factor of bucket
 * `bucket_idx` has been seen on 3 days (a young topic, the first weekend)
 * the floors lean towards 2: an expectation from a profile seen once or
 * twice is not good to 1.5 times.
 */
double tocsin_baseline_ew_floor(const struct tocsin_baseline *b,
                                const struct tocsin_detect_params *p,
                                int64_t bucket_idx, int j, double min_ratio);

/* The variance of exponentially weighted window j (0 or 1) whose
 * expected mass is E, this bucket's expectation exp_now included: the
 * counts' (dispersion times the squared weights' sum) plus a 5 % error of
 * the baseline over the window. */
double tocsin_baseline_ew_variance(const struct tocsin_baseline *b,
                                   const struct tocsin_detect_params *p,
                                   int j, double exp_now, double E);

/* The usual negative share (with a prior of 15 % over 20 mentions). */
double tocsin_baseline_neg_share(const struct tocsin_baseline *b);

/* What a topic's alerts say about the bucket being learned. */
enum {
    TOCSIN_LEARN_VOL_HOT = 1,   /* volume elevated or alerting: learn slowly */
    TOCSIN_LEARN_NEG_HOT = 2,   /* the same for the negative share */
};

/*
 * Learn a closed bucket: count, negatives, scored, and the expectation it
 * was predicted with.  flags (TOCSIN_LEARN_*): a hot topic learns its
 * levels slowly.  The dispersion is not learned here but with
 * tocsin_baseline_learn_dispersion (a crisis is not the topic's noise: the
 * engine learns a bucket's noise later, once it is known not to be the
 * start of one).
 */
void tocsin_baseline_learn(struct tocsin_baseline *b,
                           const struct tocsin_detect_params *p,
                           int64_t bucket_idx, double count, double neg,
                           double scored, double expected, unsigned flags);

/* Learn the dispersion alone from a closed bucket's count and the
 * expectation it was predicted with. */
void tocsin_baseline_learn_dispersion(struct tocsin_baseline *b,
                                      const struct tocsin_detect_params *p,
                                      double count, double expected);

/* Volume score of X observed where E was expected, with variance V. */
double tocsin_volume_score(const struct tocsin_detect_params *p, double X,
                           double E, double V);

/* The same with another ratio floor (long windows use lower ones, see
 * tocsin_baseline_ew_floor). */
double tocsin_volume_score_floor(const struct tocsin_detect_params *p, double X,
                                 double E, double V, double min_ratio);

/* Negativity score of K negatives among N scored, usual share p0. */
double tocsin_negativity_score(const struct tocsin_detect_params *p, double K,
                               double N, double p0);

/*
 * Add a bucket to a negativity CUSUM: K negatives among N scored mentions
 * (X mentions, E expected), against the usual share p0 and the share
 * p0 + cusum_shift.  X, E, K, N of the run are kept as evidence.
 */
void tocsin_cusum_negativity(const struct tocsin_detect_params *p,
                             struct tocsin_cusum *c, double X, double E,
                             double K, double N, double p0);

/* Score of a run: the ratio e^-s read as a tail probability, with the
 * same floors as a window (min_negative, a share well above p0). */
double tocsin_cusum_negativity_score(const struct tocsin_detect_params *p,
                                     const struct tocsin_cusum *c, double p0);

/*
 * Onset score of a bucket whose detection score is `score`: the surprise
 * (in decades of p) it adds beyond the decaying peak of the topic's recent
 * scores, as a score again.  *peak (decades, starts at 0) is updated.  A
 * long episode scores once, at its start, and again only when it grows;
 * the peak halves every few hours, so a topic whose baseline has adapted
 * scores anew for a new spike.  This ranks buckets for a single threshold
 * (replay --scores), where the detection score stays high all episode.
 */
double tocsin_onset_score(const struct tocsin_detect_params *p, double score,
                          float *peak);

/*
 * A topic's own tail of surprise (peaks over threshold, after SPOT:
 * Siffer et al., KDD 2017).  Topics differ in how spiky they are: a fixed
 * p-value pages every few days for one with retweet cascades.  Each run of
 * closed buckets whose volume surprise (decades of p, gated) stays at or
 * above tail_u is an excursion; its peak (up to the bucket where an alert
 * fired: what the alert then grows to is not learned, so a crisis does not
 * raise the bar for the next one) goes into a ring of the last
 * TOCSIN_TAIL_PEAKS.  A Generalized Pareto tail fitted to the peaks (method
 * of moments, over the lowest peak held) and the topic's rate of
 * excursions give the surprise that the topic's noise reaches tail_rate
 * times per bucket: the topic's own threshold.  With fewer than
 * TOCSIN_TAIL_MIN peaks, or fewer excursions than tail_rate, there is
 * none: the model's threshold holds.
 */
#define TOCSIN_TAIL_PEAKS 32
#define TOCSIN_TAIL_MIN   8

struct tocsin_tail {
    uint8_t peak[TOCSIN_TAIL_PEAKS]; /* decades y above tail_u, stored as
                                        32 log2(1 + y): 2 % steps */
    float cur;     /* the open excursion's peak (decades), 0: none */
    float exc_ew;  /* excursions, decayed */
    float age_ew;  /* buckets, decayed */
    uint8_t head;  /* next ring slot */
    uint8_t npeak; /* peaks held, up to TOCSIN_TAIL_PEAKS */
    uint8_t open;  /* an excursion runs */
};

void tocsin_tail_init(struct tocsin_tail *t);

/*
 * A closed bucket whose best volume surprise is z decades (raw: before
 * the topic's own threshold).  `learn` is 0 while an alert that fired in
 * an earlier bucket still fires: the bucket ends no excursion early but
 * does not raise its peak.
 */
void tocsin_tail_observe(struct tocsin_tail *t,
                         const struct tocsin_detect_params *p, double z,
                         int learn);

/* The topic's own threshold in decades of surprise (0: none yet). */
double tocsin_tail_threshold(const struct tocsin_tail *t,
                             const struct tocsin_detect_params *p);

/*
 * A score read against a threshold of z_thr decades instead of z_model
 * (the decades fire_score stands for): the decades are scaled by
 * z_model / z_thr when z_thr is higher, so the same fire_score fires at
 * max(model, topic) and scores mean the same across topics.
 */
double tocsin_tail_calibrate(double score, double z_model, double z_thr);

/* Decades of surprise a score stands for (the inverse of the score). */
double tocsin_score_decades(const struct tocsin_detect_params *p,
                            double score);

/* Score of a log tail probability, before gates (exposed for tests). */
double tocsin_detect_score(const struct tocsin_detect_params *p, double log_p);

#endif
