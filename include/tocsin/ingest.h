/*
 * ingest.h: the Redis edge of detection.  Reads mention streams through a
 * consumer group into the engine, dead-letters entries that break the
 * contract, and commits durably.
 *
 * Durability: nothing is acknowledged when it is read.  A checkpoint is one
 * MULTI/EXEC that writes the dirty topics' state and the engine's meta, adds
 * the alert events to the outbox stream (one entry per receiver) and the
 * bad entries to their dead-letter streams, and XACKs every entry processed
 * since the last checkpoint.  After a crash or a lost connection the state
 * is reloaded from Redis and the entries still pending are read again, so no
 * mention is counted twice or missed and no alert event is lost or made
 * twice.
 *
 * On call (cfg->oncall set): alert events go through tocsin_oncall
 * (routing, grouping, silences, escalation) instead of to every receiver;
 * its notifications become the outbox entries, its due steps run on every
 * step, and its state (alerts, escalation positions, acknowledgements,
 * silences) is written in the same MULTI/EXEC as those entries, so a
 * crash can neither lose a step nor send one twice.  After a lost
 * connection it is rebuilt from Redis like the engine.
 *
 * Owns its hiredis context and the engine it drives.  Runs on the main
 * thread (the daemon's loop); not thread-safe.
 */
#ifndef TOCSIN_INGEST_H
#define TOCSIN_INGEST_H

#include <stdint.h>

#include "tocsin/ack.h"
#include "tocsin/config.h"
#include "tocsin/engine.h"
#include "tocsin/err.h"

struct tocsin_ingest;
struct tocsin_oncall;
struct tocsin_notes;
struct tocsin_sentiment;

struct tocsin_ingest_stats {
    uint64_t entries;       /* stream entries processed */
    uint64_t dead;          /* dead-lettered */
    uint64_t checkpoints;
    uint64_t outbox;        /* outbox entries written */
    uint64_t reconnects;
    uint64_t claimed;       /* taken over from dead consumers */
    uint64_t scored;        /* mentions scored by the built-in scorer */
    int caught_up;          /* 1 once the backlog is read */
    int64_t last_entry_ms;  /* time in the id of the last entry read */
    struct tocsin_engine_stats engine;
};

/*
 * Connect, create the groups (MKSTREAM, from the start of each stream),
 * restore the engine from Redis.  The sentiment scorer is borrowed and may
 * be NULL (then mentions without a score do not count for negativity).
 * Returns TOCSIN_EIO when Redis cannot be reached (retry later).
 */
tocsin_err tocsin_ingest_new(struct tocsin_ingest **out,
                             const struct tocsin_config *cfg,
                             const struct tocsin_sentiment *scorer);
void tocsin_ingest_free(struct tocsin_ingest *in);

/*
 * One step: read a batch (blocking up to block_ms when caught up), feed the
 * engine, checkpoint when due.  now_ms is the wall clock.  On a Redis
 * failure it reconnects (with backoff, up to a few seconds per call) and
 * rebuilds its state from Redis; returns TOCSIN_EAGAIN while Redis is away.
 */
tocsin_err tocsin_ingest_step(struct tocsin_ingest *in, int64_t now_ms);

/* Commit what is in hand (on shutdown). */
tocsin_err tocsin_ingest_checkpoint(struct tocsin_ingest *in, int64_t now_ms);

void tocsin_ingest_get_stats(const struct tocsin_ingest *in,
                             struct tocsin_ingest_stats *out);

/*
 * Called for each alert event once the checkpoint that wrote it to the
 * outbox has committed (so a published event is never taken back): the
 * topic, "MentionVolumeSpike"/"NegativityShift", "firing"/"resolved" and
 * the event as JSON (the webhook body, receiver "publish").  Strings are
 * borrowed for the call.  Main thread.  fn may be NULL (the default).
 */
typedef void (*tocsin_ingest_publish_fn)(void *arg, const char *topic,
                                         const char *alertname,
                                         const char *status,
                                         const char *json);
void tocsin_ingest_set_publish(struct tocsin_ingest *in,
                               tocsin_ingest_publish_fn fn, void *arg);

/* The engine, borrowed (read-only views for operators). */
const struct tocsin_engine *tocsin_ingest_engine(const struct tocsin_ingest *in);

/*
 * The on-call state, borrowed (main thread only), or NULL without an
 * on-call configuration or while Redis is away.  A caller that changes it
 * (silences, acknowledgements) commits with tocsin_ingest_deliver (with
 * the notes it got, maybe none).  Valid until the next step.
 */
struct tocsin_oncall *tocsin_ingest_oncall(struct tocsin_ingest *in);

/*
 * For a reload: take the on-call state out of in (the caller owns it), but
 * only when everything in it is committed (connected, nothing dirty,
 * nothing waiting to be queued), so that it can go on under the new
 * configuration (tocsin_oncall_reconfigure) with its groups' timers; NULL
 * otherwise (the next ingest rebuilds it from Redis).
 */
struct tocsin_oncall *tocsin_ingest_take_oncall(struct tocsin_ingest *in);

/*
 * Use oc (owned from now on, already reconfigured for in's configuration)
 * instead of the state in just loaded from Redis.  When in has no on-call
 * state (not configured, or Redis away), or the loaded state was already
 * changed (the engine's rebuild fed it events), oc is freed and the state
 * from Redis goes on.
 */
void tocsin_ingest_adopt_oncall(struct tocsin_ingest *in,
                                struct tocsin_oncall *oc);

/*
 * Turn notes (from tocsin_oncall_ack and the like; emptied, the caller
 * still frees notes->v) into outbox entries and commit them with the
 * on-call state at once (a checkpoint).  TOCSIN_EAGAIN without on call or
 * while Redis is away; a checkpoint error otherwise (the state is then
 * rebuilt from Redis, as after any failed checkpoint).
 */
tocsin_err tocsin_ingest_deliver(struct tocsin_ingest *in,
                                 struct tocsin_notes *notes, int64_t now_ms);

/*
 * Use a signed ack link (the HTTP /ack/<token> endpoint): verify it,
 * record it as used in Redis (so it works once, across instances and
 * restarts), acknowledge or resolve the alert, deliver the announcements
 * and commit.  *verdict always written.  TOCSIN_OK done; TOCSIN_EINVAL
 * refused (the verdict says why; TOCSIN_ACK_VALID: the alert was already
 * acknowledged); TOCSIN_ENOENT the alert is no longer firing;
 * TOCSIN_EAGAIN / TOCSIN_EIO on call not running or Redis failing.
 * claims (may be NULL) gets the token's claims when it verified.
 */
tocsin_err tocsin_ingest_use_link(struct tocsin_ingest *in, const char *token,
                                  int64_t now_ms,
                                  enum tocsin_ack_verdict *verdict,
                                  struct tocsin_ack_claims *claims);

/* Engine options from a config (shared with replay). */
void tocsin_engine_opts_from_config(struct tocsin_engine_opts *o,
                                    const struct tocsin_config *cfg);

#endif
