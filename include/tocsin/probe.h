/*
 * probe.h: the HTTP endpoint for operators (libmicrohttpd).
 *
 *   GET /metrics    Prometheus text format, names prefixed tocsin_
 *   GET /-/healthy  200 while the main loop turns, else 503
 *   GET /-/ready    200 once Redis answers and the state is restored
 *   GET|POST /ack/<token>
 *                   a signed ack link (on call): handed to the main
 *                   thread, which answers 200 done, 403 forged, 410
 *                   expired or alert ended, 409 already used or already
 *                   acknowledged, 404 not a link, 503 try again; the body
 *                   is a small HTML page for a person on a phone
 *
 * Owns the listening socket and libmicrohttpd's thread, which serves the
 * requests.  The main thread hands it a snapshot of its figures with
 * tocsin_probe_update() (copied under a mutex); receiver counters come
 * straight from the notifier, whose stats call is thread-safe.  Ack links
 * go the other way: a connection's thread queues the token and waits (up
 * to 15 s) while the main thread takes it with tocsin_probe_next_link and
 * answers with tocsin_probe_link_done.
 */
#ifndef TOCSIN_PROBE_H
#define TOCSIN_PROBE_H

#include <stdint.h>

#include "tocsin/ack.h"
#include "tocsin/err.h"
#include "tocsin/ingest.h"

/* Longest text of an ack page. */
#define TOCSIN_PROBE_TEXT_MAX 512

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
 * Main thread: take the next ack link waiting for an answer.  Returns 1
 * and writes the token (n bytes, TOCSIN_ACK_TOKEN_MAX is enough) and its
 * ticket, or 0 when none waits.
 */
int tocsin_probe_next_link(struct tocsin_probe *p, char *token, size_t n,
                           uint64_t *ticket);

/* Main thread: the answer to ticket: an HTTP status and a line of text
 * for the person (shown as a small page).  A ticket whose request gave
 * up waiting is ignored. */
void tocsin_probe_link_done(struct tocsin_probe *p, uint64_t ticket,
                            unsigned status, const char *text);

/*
 * Write the /metrics text for st (and the notifier's counters, may be
 * NULL) into a new string *out (caller frees).  Exposed for tests.
 */
tocsin_err tocsin_probe_metrics(char **out, const struct tocsin_probe_state *st,
                                struct tocsin_notifier *notifier,
                                int64_t started_ms);

#endif
