/*
 * control.h: the daemon's nanomsg sockets for operators.
 *
 *  - REP control socket (control.listen, ipc by default, file mode 0600):
 *    one JSON request, one JSON reply.  Requests are objects with a "cmd":
 *      {"cmd":"status"}                  uptime, ingest rate, per-stream
 *                                        lag/pending/dead letters, outbox
 *                                        depth, receivers' last outcomes
 *      {"cmd":"topics","top":N}          rate vs baseline, negative share,
 *                                        scores, most anomalous first
 *      {"cmd":"alerts"}                  active (firing) alerts
 *      {"cmd":"test-receiver","name":R}  send a test notification (by a
 *                                        worker thread: ingestion goes on;
 *                                        the reply, and the next request,
 *                                        wait for its outcome)
 *      {"cmd":"reload"}                  reload the configuration
 *      on call: silence-add, silence-query, silence-expire, routes-test,
 *      oncall, ack, oncall-alerts (control_oncall.h); with on call,
 *      "alerts" also lists the on-call alerts under "oncall"
 *    Replies are objects with "ok" (true/false) and, on failure, "error".
 *  - PUB socket (publish.listen): every alert event, as "TOPIC\tJSON" (the
 *    webhook body), so that subscribers can filter on "TOPIC\t"; the
 *    delivery thread's ReceiverDown events too (TOPIC: the receiver's
 *    name, handed over by tocsin_notifier_take_published).
 *
 * Owns both sockets, a small cache of the active alerts' last events and
 * the test-receiver worker thread.  Main thread only: requests are served
 * between ingest steps, so what a command reads is consistent and needs no
 * lock.
 */
#ifndef TOCSIN_CONTROL_H
#define TOCSIN_CONTROL_H

#include <stdint.h>

#include "tocsin/config.h"
#include "tocsin/err.h"

struct tocsin_control;
struct tocsin_ingest;
struct tocsin_notifier;

/* Separator between the topic and the JSON in a published message. */
#define TOCSIN_PUBLISH_SEP '\t'

/* Largest control request accepted (bytes). */
#define TOCSIN_CONTROL_MAX_REQUEST 65536

/*
 * Bind the control socket to cfg->control.listen and the publisher to
 * cfg->publish.listen.  An ipc control socket is made mode 0600.  Fails
 * with TOCSIN_EIO (logged as CONTROL-BIND) when an address cannot be bound,
 * e.g. because another tocsind holds it.  *out written only on success.
 */
tocsin_err tocsin_control_new(struct tocsin_control **out,
                              const struct tocsin_config *cfg);
/* Close the sockets (an ipc socket file is removed).  NULL does nothing. */
void tocsin_control_free(struct tocsin_control *c);

/*
 * Try a connection to the unix stream socket at path: 0 when something
 * accepts it, else the errno of the failure (ENOENT, ECONNREFUSED: nobody
 * listens; EACCES; ENAMETOOLONG when path does not fit a socket address).
 * Lets the daemon refuse an address another tocsind holds and tocsinctl
 * say why it cannot connect.  Any thread.
 */
int tocsin_control_ipc_probe(const char *path);

/* What a request may look at; borrowed for the call. */
struct tocsin_control_view {
    const struct tocsin_config *cfg;
    struct tocsin_ingest *ingest; /* NULL while Redis is unreachable */
    struct tocsin_notifier *notifier;
    int64_t started_ms; /* epoch ms the daemon started */
    int ready;          /* READY sent, ingest running */
    /* Reload the configuration now.  Returns 0, or -1 with the errors (one
     * per line) in a new string *errors (caller frees).  The view's ingest
     * is stale afterwards. */
    int (*reload)(void *arg, char **errors);
    void *arg;
};

/*
 * Serve the requests waiting on the control socket (none: returns at
 * once).  now_ms is the wall clock.
 */
void tocsin_control_poll(struct tocsin_control *c,
                         const struct tocsin_control_view *v, int64_t now_ms);

/*
 * Wait for a test-receiver in progress, if any, and send its reply.  Call
 * before freeing the config that was in the view when it was asked (the
 * worker borrows it); tocsin_control_free waits too.
 */
void tocsin_control_settle(struct tocsin_control *c);

/*
 * Publish one alert event (from the ingest publish hook) and remember it
 * for the "alerts" command.  Never blocks: a slow subscriber loses
 * messages, the daemon does not wait.
 */
void tocsin_control_publish(struct tocsin_control *c, const char *topic,
                            const char *alertname, const char *status,
                            const char *json);

/* Reply to one request (exposed for tests): a new JSON string.  Waits for
 * a test-receiver's outcome. */
char *tocsin_control_handle(struct tocsin_control *c,
                            const struct tocsin_control_view *v,
                            const char *request, int64_t now_ms);

#endif
