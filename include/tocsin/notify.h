/*
 * notify.h: delivery of alert events to webhook receivers.
 *
 * The ingest side writes one entry per (alert event, receiver) to the
 * outbox stream "<prefix>outbox", atomically with the XACK of the mentions
 * that caused it.  Fields:
 *
 *     delivery  delivery id, unique per event and receiver, the same on
 *               every retry; sent as X-Tocsin-Delivery (idempotency key)
 *     receiver  a receiver name from the config
 *     body      the JSON body to POST, ready-made
 *     created   epoch milliseconds when the entry was written
 *
 * The notifier thread reads the outbox with consumer group
 * "<group>-notify" and consumer "<consumer>", POSTs each body (libcurl
 * multi, at most max_concurrency requests in flight per receiver, so a
 * slow receiver delays nobody else) and:
 *
 *  - on 2xx, in one MULTI/EXEC: XACK + XDEL the entry and ZADD the delivery
 *    id to "<prefix>delivered" (score: epoch ms; entries older than a week
 *    are trimmed), so an entry seen again after a crash is not re-sent;
 *  - on a connection error, timeout, 5xx, 408 or 429: keeps the entry
 *    pending (not acked) and retries it later, after exponential backoff
 *    with jitter or after the receiver's Retry-After (capped at
 *    backoff_max_ms);
 *  - on a non-retryable answer (other 4xx, 3xx), when the event is older
 *    than the receiver's give_up_s, for an unknown receiver or a malformed
 *    entry, in one MULTI/EXEC: XADD the entry's fields plus `reason` and
 *    `status` to "<prefix>outbox:dead", XACK + XDEL.
 *
 * On (re)connecting to Redis it re-reads its own pending entries, and it
 * claims (XAUTOCLAIM) entries idle for claim_idle_ms in other consumers.
 * When Redis is down, deliveries in memory go on and their acks wait for
 * the reconnection; nothing is dropped.
 *
 * Threads: tocsin_notifier_start() runs one delivery thread with its own
 * Redis connection.  The other functions may be called from any thread
 * (the main thread, in tocsind); stats is safe at any time.
 */
#ifndef TOCSIN_NOTIFY_H
#define TOCSIN_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/config.h"
#include "tocsin/err.h"

struct tocsin_notifier;

/*
 * Create a notifier for cfg (borrowed: it must stay valid until it is
 * replaced by tocsin_notifier_set_config or the notifier is freed).  No
 * thread runs yet.  *out is written only on success.
 */
tocsin_err tocsin_notifier_new(struct tocsin_notifier **out,
                               const struct tocsin_config *cfg);

/*
 * Start the delivery thread.  It connects to Redis itself, and reconnects
 * with backoff (logging NOTIFY-REDIS) whenever the connection fails.
 * TOCSIN_EINVAL if already running or the config has no redis.url.
 */
tocsin_err tocsin_notifier_start(struct tocsin_notifier *n);

/*
 * Swap in a new config (borrowed as in _new).  Takes effect at the
 * thread's next loop; returns once the thread has let go of the previous
 * config, which the caller may then free.  If redis.url, prefix, group or
 * consumer changed, deliveries in memory are abandoned (they stay pending
 * in the old outbox) and the thread reconnects.
 */
void tocsin_notifier_set_config(struct tocsin_notifier *n,
                                const struct tocsin_config *cfg);

/*
 * Stop the thread and join it; idempotent.  Prompt (well under a second):
 * requests still in flight are abandoned and their entries stay pending in
 * Redis, to be sent again after the next start.
 */
void tocsin_notifier_stop(struct tocsin_notifier *n);

/* Stop if needed and free.  NULL does nothing. */
void tocsin_notifier_free(struct tocsin_notifier *n);

/* Why an attempt failed (tocsin_receiver_stats.failed_by). */
enum tocsin_fail_reason {
    TOCSIN_FAIL_NETWORK = 0, /* connection refused, DNS, TLS, ... */
    TOCSIN_FAIL_TIMEOUT,     /* no answer within timeout_ms */
    TOCSIN_FAIL_HTTP_4XX,    /* 4xx other than 408 and 429 */
    TOCSIN_FAIL_HTTP_429,    /* rate limited (and 408) */
    TOCSIN_FAIL_HTTP_5XX,    /* 5xx, 3xx and other statuses */
    TOCSIN_FAIL_NREASONS
};
/* Their names in metrics: "network", "timeout", "http_4xx", ... */
const char *tocsin_fail_reason_name(enum tocsin_fail_reason r);

/* Upper bounds (seconds) of the delivery latency histogram's buckets, from
 * the outbox entry's creation to the 2xx answer; +Inf is implied. */
#define TOCSIN_LATENCY_NBOUNDS 10
extern const double tocsin_latency_bounds[TOCSIN_LATENCY_NBOUNDS];

struct tocsin_receiver_stats {
    char name[64];
    uint64_t sent;           /* 2xx answers */
    uint64_t failed;         /* failed attempts (any reason) */
    uint64_t retried;        /* retries scheduled */
    uint64_t dead;           /* entries dead-lettered */
    int64_t last_success_ms; /* epoch ms, 0 if never */
    int64_t last_failure_ms;
    int last_status;      /* last HTTP status, 0 for none */
    char last_error[128]; /* last failure, "" if none */
    uint64_t failed_by[TOCSIN_FAIL_NREASONS];
    /* Deliveries by latency: [i] counts those <= bounds[i] and above the
     * previous bound (not cumulative); the last slot is above them all. */
    uint64_t latency[TOCSIN_LATENCY_NBOUNDS + 1];
    double latency_sum_s;
};

/*
 * Snapshot of the counters of every receiver seen so far: up to max of
 * them are written to out, their total count to *nout, and the outbox
 * length (as of the thread's last check, about once a second) to
 * *outbox_depth.  Either out pointer may be NULL.  Thread-safe.
 */
tocsin_err tocsin_notifier_stats(struct tocsin_notifier *n,
                                 struct tocsin_receiver_stats *out, size_t max,
                                 size_t *nout, uint64_t *outbox_depth);

/* Called with each ReceiverDown event to publish: topic is the receiver's
 * name (the alert's topic label), status "firing" or "resolved", json the
 * Alertmanager-v4 body with receiver "publish". */
typedef void (*tocsin_notifier_publish_fn)(void *arg, const char *topic,
                                           const char *alertname,
                                           const char *status,
                                           const char *json);

/*
 * Hand the ReceiverDown events raised (and written to the outbox) since
 * the last call to fn, oldest first, on the calling thread (the main
 * thread, which owns the PUB socket).  At most 64 wait; older ones are
 * dropped when nobody takes them.
 */
void tocsin_notifier_take_published(struct tocsin_notifier *n,
                                    tocsin_notifier_publish_fn fn, void *arg);

/*
 * Send body through the receiver called name, synchronously, with the
 * usual headers (delivery id "test-<epoch ms>") and signature, for
 * `tocsinctl test-receiver`.  TOCSIN_OK on a 2xx answer; otherwise an
 * error code and a one-line explanation in errbuf (errlen bytes, may be
 * NULL): TOCSIN_ENOENT for an unknown receiver, TOCSIN_EPROTO for a non-2xx
 * answer, TOCSIN_EIO or TOCSIN_ETIMEDOUT for transport failures.
 */
tocsin_err tocsin_notifier_test_receiver(const struct tocsin_config *cfg,
                                         const char *name, const char *body,
                                         char *errbuf, size_t errlen);

#endif
