/*
 * oncall_view.h: what the on-call state shows, for tocsinctl, the Redis
 * store and the notifications: `routes test` and `oncall` as text, an
 * alert as JSON, a note's webhook body.  Reads a tocsin_oncall (oncall.h)
 * on its thread; no I/O.  Strings out are the caller's to free.
 */
#ifndef TOCSIN_ONCALL_VIEW_H
#define TOCSIN_ONCALL_VIEW_H

#include "tocsin/oncall.h"

/* `routes test`: which routes and receivers an alert with labels would
 * reach at now, as text (caller frees). */
tocsin_err tocsin_oncall_routes_test(const struct tocsin_oncall *oc,
                                     const struct tocsin_labelset *labels,
                                     int64_t now, char **out);

/* `oncall`: who is on call now and next for each schedule (caller frees). */
tocsin_err tocsin_oncall_who(const struct tocsin_oncall *oc, int64_t now,
                             char **out);

/* One alert as JSON (labels, status, escalation, history); caller frees.
 * TOCSIN_ENOENT if unknown. */
tocsin_err tocsin_oncall_alert_json(const struct tocsin_oncall *oc,
                                    const char *fingerprint, char **out);

/* One group as JSON (the record tocsin_oncall_import_group reads:
 * version, key, route id, receiver, escalation, timers, seq, members with
 * sent/resolved); caller frees.  TOCSIN_ENOENT if there is no group key. */
tocsin_err tocsin_oncall_group_json(const struct tocsin_oncall *oc,
                                    const char *key, char **out);

/*
 * The webhook body of note n (caller frees): Alertmanager webhook v4 like
 * tocsin_event_body, with the engine's evidence when the alert came from
 * tocsin_oncall_on_event, annotations.summary set to the note's text (a
 * group's note: each alert's own summary, every alert of n->alerts in
 * alerts[], at most TOCSIN_NOTE_MAX_ALERTS, the rest counted in
 * truncatedAlerts; commonLabels what they share; groupLabels the route's
 * group_by values), and
 * per alert an object "tocsin_oncall": {kind, user, step, round, acked_by,
 * ack_url, resolve_url}.  Both links are <external_url>/ack/<token> (the
 * token says the action: give it to tocsin_oncall_use_link), signed for
 * the note's person (or receiver), present while the alert is
 * unacknowledged and an ack secret is configured.  TOCSIN_ENOENT when the
 * alert is gone.
 */
tocsin_err tocsin_oncall_note_body(const struct tocsin_oncall *oc,
                                   const struct tocsin_note *n,
                                   const char *external_url, char **out);

#endif
