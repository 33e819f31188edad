/*
 * engine.h: the detection core.  Mentions in, alert events out.
 *
 * Per topic the engine keeps event-time buckets (a ring of recent buckets),
 * a volume baseline and a negativity baseline, and one alert state per kind
 * (volume, negativity).  Buckets close when the watermark (the largest event
 * time seen, less the allowed lateness) passes their end; closing runs the
 * detectors, updates the baselines and drives the alert lifecycle
 * (firing -> resolved, with hysteresis).  While a bucket is open the engine
 * also tests the partial count every few seconds of event time, so a sudden
 * burst fires before its bucket closes.
 *
 * The engine does no I/O and never reads the clock: event time comes with
 * the mentions, and `now` (used only to decide whether an event is recent
 * enough to page anyone) is an argument.  The same input gives the same
 * events, byte for byte, live or in replay.
 *
 * Owns its topics and their state; events and score rows are handed to the
 * hooks as borrowed structs valid during the call.  Not thread-safe: one
 * engine belongs to one thread (the ingest loop, or replay).
 */
#ifndef TOCSIN_ENGINE_H
#define TOCSIN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"
#include "tocsin/mention.h"

#define TOCSIN_ENGINE_MAX_SAMPLES 5

struct tocsin_engine;
struct tocsin_tz;

/* Topics whose audience lives in another zone than the engine's: the
 * first entry with a pattern (fnmatch(3): "AirNova US", "*-us") matching
 * a topic's name gives its zone. */
struct tocsin_topic_zone {
    const struct tocsin_tz *tz; /* NULL: UTC */
    char **patterns;
    size_t npatterns;
};

struct tocsin_engine_opts {
    int64_t bucket_ms;          /* bucket width */
    int64_t lateness_ms;        /* allowed lateness, <= 8 buckets */
    double min_mentions;        /* volume floor in the tested window */
    double min_ratio;           /* observed/expected floor */
    double fire_score;          /* score that fires */
    double resolve_score;       /* score under which a bucket is calm */
    int resolve_buckets;        /* calm closed buckets before resolving */
    int min_negative;           /* negatives floor in the tested window */
    double negative_threshold;  /* sentiment <= this is negative */
    int warmup_buckets;         /* history needed before alerting */
    int64_t catchup_max_age_ms; /* 0: page every event; else events whose
                                   time is older than now minus this are
                                   counted, not emitted, unless the alert is
                                   still firing once caught up */
    size_t max_topics;
    double sensitivity;         /* in [0, 1]; 0.5 is the default */
    /* Hours of the day and weekends are those of this zone (the
     * audience's); NULL: UTC.  Borrowed: it must outlive the engine. */
    const struct tocsin_tz *tz;
    /* Per-topic zones, first match wins (at most 255 entries; borrowed,
     * like tz). */
    const struct tocsin_topic_zone *zones;
    size_t nzones;
    /* A mention whose id was seen within one to two of these windows of
     * event time is a duplicate: counted in stats.duplicates, not added
     * (struct tocsin_dedup).  0: off.  Default 1 hour. */
    int64_t dedup_window_ms;
};

/* Fill opts with the defaults (bucket 60 s, lateness 30 s, ...). */
void tocsin_engine_opts_default(struct tocsin_engine_opts *opts);

enum tocsin_alert_kind {
    TOCSIN_ALERT_VOLUME = 0,     /* MentionVolumeSpike */
    TOCSIN_ALERT_NEGATIVITY = 1, /* NegativityShift */
};

enum tocsin_alert_status {
    TOCSIN_ALERT_FIRING = 0,
    TOCSIN_ALERT_RESOLVED = 1,
};

struct tocsin_sample {
    const char *text, *author, *url, *id; /* NUL-terminated, may be "" */
    int64_t followers;                    /* -1 when unknown */
    int64_t ts_ms;
    int negative;
};

struct tocsin_alert_event {
    const char *topic;
    enum tocsin_alert_kind kind;
    enum tocsin_alert_status status;
    const char *severity;  /* "critical" or "warning" */
    int64_t starts_ms;     /* when the alert started (event time) */
    int64_t ends_ms;       /* when it resolved; 0 while firing */
    int64_t at_ms;         /* event time of this transition */
    /* Evidence, from the window that scored highest (for a resolved
     * event: the peak of the episode). */
    int64_t window_ms;
    double observed;       /* mentions in the window */
    double expected;       /* the baseline's expectation for it */
    double negatives;      /* negative mentions in the window */
    double scored;         /* mentions with a known sentiment */
    double negative_share; /* negatives / scored, or -1 if unknown */
    double negative_baseline; /* the topic's usual share */
    double score;          /* in [0, 1] */
    struct tocsin_sample samples[TOCSIN_ENGINE_MAX_SAMPLES];
    size_t nsamples;
    const char *terms[5]; /* emerging terms, strongest first */
    size_t nterms;
    char fingerprint[17];  /* hex of a hash of alertname and topic */
    char delivery[33];     /* unique per event, stable across retries */
};

/* One row per topic and closed bucket (replay --scores). */
struct tocsin_score_row {
    const char *topic;
    int64_t ts_ms; /* bucket start */
    uint64_t count, negative, scored;
    double volume_score, negativity_score;
};

struct tocsin_engine_hooks {
    void (*on_event)(void *arg, const struct tocsin_alert_event *ev);
    void (*on_score)(void *arg, const struct tocsin_score_row *row); /* or
                                                                     NULL */
    void *arg;
};

struct tocsin_engine_stats {
    uint64_t mentions;     /* records added (each topic counted once) */
    uint64_t late;         /* too late for their bucket: counted only */
    uint64_t duplicates;   /* ids seen before (dedup_window_ms): dropped */
    uint64_t topics;
    uint64_t rejected;     /* topic limit reached */
    uint64_t events;       /* events emitted */
    uint64_t suppressed;   /* events not emitted during catch-up */
    uint64_t past_crises;  /* alerts that fired and resolved in the past */
    uint64_t firing;       /* alerts firing now */
};

tocsin_err tocsin_engine_new(struct tocsin_engine **out,
                             const struct tocsin_engine_opts *opts,
                             const struct tocsin_engine_hooks *hooks);
void tocsin_engine_free(struct tocsin_engine *e);

/*
 * Add one decoded mention (to each of its topics).  now_ms is the wall
 * clock of the caller (INT64_MAX in replay).  Returns TOCSIN_OK, or
 * TOCSIN_ERANGE when a new topic would pass max_topics (nothing added).
 * A mention older than the closed buckets is counted as late; one whose
 * id was seen recently, as a duplicate (neither is added).
 */
tocsin_err tocsin_engine_add(struct tocsin_engine *e,
                             const struct tocsin_mention *m, int64_t now_ms);

/*
 * Move the watermark to at least watermark_ms (buckets ending at or before
 * it close), e.g. when the stream is idle or at the end of a replay.
 */
void tocsin_engine_advance(struct tocsin_engine *e, int64_t watermark_ms,
                           int64_t now_ms);

/*
 * Change opts.catchup_max_age_ms of a running engine (the ingest loop
 * rebuilding state from old history pages nobody for what ended long ago,
 * even when the configuration pages every event).
 */
void tocsin_engine_set_catchup(struct tocsin_engine *e, int64_t max_age_ms);

/* The current watermark (INT64_MIN before any mention). */
int64_t tocsin_engine_watermark(const struct tocsin_engine *e);

void tocsin_engine_get_stats(const struct tocsin_engine *e,
                             struct tocsin_engine_stats *out);

/* Per-topic view for operators (tocsinctl topics). */
struct tocsin_topic_info {
    const char *name;
    double rate_per_min;      /* last closed bucket */
    double baseline_per_min;
    double negative_share;    /* last closed bucket, -1 unknown */
    double negative_baseline;
    double volume_score, negativity_score;
    int firing[2];            /* by tocsin_alert_kind */
};
/* Calls cb for each topic in insertion order. */
void tocsin_engine_foreach_topic(const struct tocsin_engine *e,
                                 void (*cb)(void *arg,
                                            const struct tocsin_topic_info *t),
                                 void *arg);

/*
 * Persistence.  save_dirty calls put() for every topic changed since the
 * last call (then forgets they were dirty); put returns 0 or -1 to stop.
 * The blobs are opaque, versioned, and only readable by restore_topic.
 * The meta blob holds the watermark and counters.
 */
tocsin_err tocsin_engine_save_dirty(struct tocsin_engine *e,
                                    int (*put)(void *arg, const char *topic,
                                               const void *blob, size_t len),
                                    void *arg);
/* Writes the meta blob into buf (cap bytes); *len set on success. */
tocsin_err tocsin_engine_save_meta(const struct tocsin_engine *e, void *buf,
                                   size_t cap, size_t *len);
tocsin_err tocsin_engine_restore_meta(struct tocsin_engine *e,
                                      const void *blob, size_t len);
tocsin_err tocsin_engine_restore_topic(struct tocsin_engine *e,
                                       const char *topic, const void *blob,
                                       size_t len);
/* Call once after the last restore_topic: puts topics back in insertion
 * order and recounts firing alerts. */
void tocsin_engine_restore_done(struct tocsin_engine *e);

#endif
