/*
 * probe.h: the HTTP endpoint for operators (libmicrohttpd).
 *
 *   GET /metrics    Prometheus text format, names prefixed tocsin_
 *   GET /-/healthy  200 while the main loop turns, else 503
 *   GET /-/ready    200 once Redis answers and the state is restored
 *
 * Owns the listening socket and libmicrohttpd's thread, which serves the
 * requests.  The main thread hands it a snapshot of its figures with
 * tocsin_probe_update() (copied under a mutex); receiver counters come
 * straight from the notifier, whose stats call is thread-safe.
 */
#ifndef TOCSIN_PROBE_H
#define TOCSIN_PROBE_H

#include <stdint.h>

#include "tocsin/err.h"
#include "tocsin/ingest.h"

struct tocsin_probe;
struct tocsin_notifier;

/* What the main thread knows, as of its last turn. */
struct tocsin_probe_state {
    struct tocsin_ingest_stats ingest; /* counters summed over reloads */
    double lag_seconds;                /* behind the stream heads */
    uint64_t firing[2];                /* alerts firing, by alert kind */
    uint64_t events[2][2];             /* alert events, by kind, status */
    int ready;                         /* Redis answers, state restored */
    int64_t heartbeat_ms;              /* wall ms of the loop's last turn */
};

/*
 * Listen on listen ("HOST:PORT", "[V6]:PORT" or "*:PORT") and serve from
 * libmicrohttpd's own thread.  The notifier is borrowed (may be NULL) and
 * must outlive the probe.  TOCSIN_EIO (logged as HTTP-BIND) when the
 * address cannot be bound.  *out is written only on success.
 */
tocsin_err tocsin_probe_new(struct tocsin_probe **out, const char *listen,
                            struct tocsin_notifier *notifier,
                            int64_t started_ms);

/* Stop the thread, close the socket.  NULL does nothing. */
void tocsin_probe_free(struct tocsin_probe *p);

/* Replace the snapshot (main thread). */
void tocsin_probe_update(struct tocsin_probe *p,
                         const struct tocsin_probe_state *st);

/* The port actually bound (useful with port 0). */
int tocsin_probe_port(const struct tocsin_probe *p);

/*
 * Write the /metrics text for st (and the notifier's counters, may be
 * NULL) into a new string *out (caller frees).  Exposed for tests.
 */
tocsin_err tocsin_probe_metrics(char **out, const struct tocsin_probe_state *st,
                                struct tocsin_notifier *notifier,
                                int64_t started_ms);

#endif
