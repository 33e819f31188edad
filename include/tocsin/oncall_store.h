/*
 * oncall_store.h: the on-call state in Redis, so that a restart (or a
 * second instance taking over) continues where it was.
 *
 * Keys (prefix is redis.prefix, default "tocsin:"):
 *   <prefix>oncall:alerts     hash fingerprint -> alert JSON (labels,
 *                             status, escalation position, ack, history)
 *   <prefix>oncall:groups     hash group key -> group JSON (route,
 *                             receiver, timers, seq, members sent or
 *                             resolved since its last notification),
 *                             written in the transaction of its alerts
 *   <prefix>oncall:silences   hash id -> silence JSON (matchers, starts,
 *                             ends, comment, created_by)
 *   <prefix>oncall:ack:<id>   a used ack link, expiring with the link
 *                             (SET EXAT, under WATCH, in the transaction
 *                             of its ack), so a link works once across
 *                             instances
 *
 * An edge module: it does Redis I/O on the connection it is given
 * (borrowed; blocking hiredis), on the thread that owns the tocsin_oncall
 * (the daemon's main loop).  It owns only its key names.
 */
#ifndef TOCSIN_ONCALL_STORE_H
#define TOCSIN_ONCALL_STORE_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "tocsin/ack.h"
#include "tocsin/err.h"
#include "tocsin/oncall.h"

struct tocsin_oncall_store;

/* prefix may be NULL ("tocsin:").  *out only on success. */
tocsin_err tocsin_oncall_store_new(struct tocsin_oncall_store **out,
                                   const char *prefix);
void tocsin_oncall_store_free(struct tocsin_oncall_store *st);

/*
 * Write what changed in oc since the last save (alerts and groups changed
 * or gone; the silences when touched) in one MULTI/EXEC, then clear
 * oc's dirty marks.  TOCSIN_EIO on a connection failure or error reply
 * (the marks stay, so the next save retries).
 */
tocsin_err tocsin_oncall_store_save(struct tocsin_oncall_store *st,
                                    redisContext *c, struct tocsin_oncall *oc);

/*
 * The same writes without MULTI/EXEC, queued (redisAppendCommandArgv) on c
 * inside a transaction the caller opened, e.g. the ingest checkpoint, so
 * that the on-call state commits with the outbox entries it caused.
 * *queued is increased by the number of commands queued (their replies
 * are the caller's to read).  The dirty marks stay: call
 * tocsin_oncall_clear_dirty once EXEC has succeeded.  TOCSIN_EIO when a
 * command could not be queued or built (abandon the transaction).
 */
tocsin_err tocsin_oncall_store_append(struct tocsin_oncall_store *st,
                                      redisContext *c, struct tocsin_oncall *oc,
                                      size_t *queued);

/* Load every stored silence, alert and group into oc (at start, and
 * when the state is rebuilt after a lost connection).  A record that does
 * not parse is skipped and counted in *skipped (may be NULL); a group
 * whose route is gone is dropped (logged, not counted). */
tocsin_err tocsin_oncall_store_load(struct tocsin_oncall_store *st,
                                    redisContext *c, struct tocsin_oncall *oc,
                                    int64_t now, size_t *skipped);

/*
 * A used link is recorded in the same transaction as the acknowledgement
 * it made, so that a failed commit neither loses the ack nor burns the
 * link:
 *
 *   tocsin_oncall_store_ack_watch   WATCH the link's key and check it is
 *                                   unused (TOCSIN_EINVAL: used already,
 *                                   here or by another instance; the
 *                                   watch is then dropped)
 *   ... act on the link in memory ...
 *   MULTI, the on-call changes (tocsin_oncall_store_append),
 *   tocsin_oncall_store_ack_append (SET key EXAT expiry), EXEC
 *
 * EXEC answers nil when another instance used the link in between (the
 * watch fired): nothing was written, the caller rebuilds from Redis.
 * TOCSIN_EIO on a connection failure or error reply.
 */
tocsin_err tocsin_oncall_store_ack_watch(struct tocsin_oncall_store *st,
                                         redisContext *c,
                                         const struct tocsin_ack_claims *cl);
tocsin_err tocsin_oncall_store_ack_append(struct tocsin_oncall_store *st,
                                          redisContext *c,
                                          const struct tocsin_ack_claims *cl,
                                          size_t *queued);
/* Drop a watch (the link was refused after all).  Errors are ignored: a
 * broken connection is found by the next command. */
void tocsin_oncall_store_unwatch(redisContext *c);

#endif
