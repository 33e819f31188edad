/*
 * oncall.h: the on-call core: alerts in, notifications out.
 *
 * tocsin_oncall ties the pure pieces together: the route tree picks the
 * routes of an alert; alerts are grouped per route and group_by labels and
 * flushed after group_wait, group_interval, and again every
 * repeat_interval while nobody has acknowledged them; silences, inhibition
 * rules and quiet hours (warnings only) hold notifications back; a route
 * with an escalation policy runs its steps (schedule -> wait -> emergency
 * push -> secondary and team channel -> repeat) until somebody
 * acknowledges; an acknowledgement stops it everywhere and is announced
 * ("AirNova: acknowledged by Marie at 21:04"); a resolution tells whoever
 * was notified.  Every step is written to the alert's history.
 *
 * Targets: "schedule:NAME" (whoever is on call, through their receivers),
 * "user:NAME" (a person's receivers), "receiver:NAME" or a bare receiver
 * name.
 *
 * No I/O: time is an argument and notifications come out as a list the
 * caller delivers (the daemon turns each into an outbox entry).  State can
 * be exported and imported as JSON, which is what oncall_store.c keeps in
 * Redis, so another instance continues an escalation at the right step.
 *
 * struct tocsin_oncall_config is built by config_oncall.c and is
 * immutable; a tocsin_oncall borrows it (it must outlive the oncall).  A
 * tocsin_oncall owns its alerts, groups, silences and ack ledger.  Not
 * thread-safe: one oncall belongs to one thread (the daemon's main loop).
 */
#ifndef TOCSIN_ONCALL_H
#define TOCSIN_ONCALL_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/ack.h"
#include "tocsin/engine.h"
#include "tocsin/err.h"
#include "tocsin/escalation.h"
#include "tocsin/inhibit.h"
#include "tocsin/matcher.h"
#include "tocsin/route.h"
#include "tocsin/schedule.h"
#include "tocsin/silence.h"
#include "tocsin/timeint.h"
#include "tocsin/tz.h"

/* ---- configuration (built by config_oncall.c, or by hand in tests) ---- */

struct tocsin_person {
    char *name;       /* the id used in schedules, "user:NAME" */
    char *full_name;  /* shown in announcements; default name */
    char **receivers; /* receiver names */
    size_t nreceivers;
};

struct tocsin_oncall_config {
    struct tocsin_tz **zones; /* every zone loaded (owned) */
    size_t nzones;
    struct tocsin_tz *tz; /* announcements' zone (one of zones; NULL: UTC) */
    struct tocsin_timeint **intervals;
    size_t nintervals;
    struct tocsin_route *route; /* NULL: no routing configured */
    struct tocsin_inhibit *inhibit;
    struct tocsin_schedule **schedules;
    size_t nschedules;
    struct tocsin_escalation **policies;
    size_t npolicies;
    struct tocsin_person *people;
    size_t npeople;
    char *ack_secret;        /* NULL: no ack links */
    int ack_ttl_s;           /* link lifetime, default 86400 */
    int silence_retention_s; /* keep expired silences, default 432000 */
};

/* An empty config (defaults).  *out only on success. */
tocsin_err tocsin_oncall_config_new(struct tocsin_oncall_config **out);
/* Frees everything it holds.  NULL does nothing. */
void tocsin_oncall_config_free(struct tocsin_oncall_config *c);

/* The zone name loaded into c (cached: loaded once).  Borrowed. */
tocsin_err tocsin_oncall_config_zone(struct tocsin_oncall_config *c,
                                     const char *name,
                                     const struct tocsin_tz **out);

/* Lookups by name (borrowed, or NULL). */
const struct tocsin_timeint *
tocsin_oncall_config_interval(const struct tocsin_oncall_config *c,
                              const char *name);
const struct tocsin_schedule *
tocsin_oncall_config_schedule(const struct tocsin_oncall_config *c,
                              const char *name);
const struct tocsin_escalation *
tocsin_oncall_config_policy(const struct tocsin_oncall_config *c,
                            const char *name);
const struct tocsin_person *
tocsin_oncall_config_person(const struct tocsin_oncall_config *c,
                            const char *name);

/* ---- notifications ---- */

enum tocsin_note_kind {
    TOCSIN_NOTE_FIRING = 0,     /* first notification of an alert */
    TOCSIN_NOTE_REPEAT = 1,     /* repeat_interval passed, still firing */
    TOCSIN_NOTE_ESCALATION = 2, /* an escalation step */
    TOCSIN_NOTE_ACK = 3,        /* announcement: somebody acknowledged */
    TOCSIN_NOTE_RESOLVED = 4,   /* the alert resolved */
};

/*
 * A note is about one alert (escalation steps, acknowledgements and
 * resolutions), or, for a group's notification (FIRING at a flush, REPEAT
 * at repeat_interval), about every alert of the group that is firing,
 * unacknowledged and not held: alerts lists them, most severe first
 * (fingerprint is alerts[0]), as Alertmanager sends one notification per
 * route, group and receiver.
 */
struct tocsin_note {
    enum tocsin_note_kind kind;
    char *receiver;    /* receiver name to deliver to */
    char *user;        /* the person it reaches, or NULL */
    char *fingerprint; /* the alert (a group's: its most severe) */
    char **alerts;     /* a group's notification: its alerts, else NULL */
    size_t nalerts;
    uint64_t seq;      /* a group's notification: its number in the group */
    char *group_key;   /* "<route id>:{label=\"v\",...}" */
    char *text;        /* one line, e.g. "AirNova: acknowledged by ...",
                          "3 alerts: AirNova: ... (critical), ..." */
    int step, round;   /* ESCALATION: step index and round; else -1 */
    int64_t at;
};

/* A group's notification lists at most this many alerts in its body; the
 * others are counted in truncatedAlerts. */
#define TOCSIN_NOTE_MAX_ALERTS 25

struct tocsin_notes {
    struct tocsin_note *v;
    size_t n, cap;
};

/* Free the notes' contents and empty the list (the list may be reused). */
void tocsin_notes_clear(struct tocsin_notes *n);

/* "firing", "repeat", "escalation", "ack", "resolved". */
const char *tocsin_note_kind_name(enum tocsin_note_kind k);

/* A delivery id for n (32 hex digits): the same note gives the same id,
 * so the outbox can tell a retry from a new notification. */
void tocsin_note_delivery(const struct tocsin_note *n, char out[33]);

/* ---- the on-call state ---- */

struct tocsin_oncall;

/* cfg is borrowed.  *out only on success. */
tocsin_err tocsin_oncall_new(struct tocsin_oncall **out,
                             const struct tocsin_oncall_config *cfg);
void tocsin_oncall_free(struct tocsin_oncall *oc);

/*
 * Switch to a new configuration (SIGHUP), keeping alerts, escalations,
 * silences and used links; groups are rebuilt from the new route tree.
 * The old configuration may be freed after this returns.
 */
tocsin_err tocsin_oncall_reconfigure(struct tocsin_oncall *oc,
                                     const struct tocsin_oncall_config *cfg,
                                     int64_t now);

/*
 * An engine event (firing or resolved).  Appends what must be sent now
 * (resolutions) to out; first notifications come from tocsin_oncall_tick
 * once group_wait has passed.
 */
tocsin_err tocsin_oncall_on_event(struct tocsin_oncall *oc,
                                  const struct tocsin_alert_event *ev,
                                  int64_t now, struct tocsin_notes *out);

/*
 * The same for an alert given by labels (alertname, topic, kind,
 * severity, ...), e.g. from tocsinctl or tests.  fingerprint identifies
 * the alert; summary is a one-line description (may be NULL).
 */
tocsin_err tocsin_oncall_on_alert(struct tocsin_oncall *oc,
                                  const char *fingerprint,
                                  const struct tocsin_labelset *labels,
                                  int firing, const char *summary, int64_t now,
                                  struct tocsin_notes *out);

/* Move time on: flush due groups, repeats and escalation steps. */
tocsin_err tocsin_oncall_tick(struct tocsin_oncall *oc, int64_t now,
                              struct tocsin_notes *out);

/* The earliest time something is due (for the loop's timeout), or
 * INT64_MAX. */
int64_t tocsin_oncall_next_due(const struct tocsin_oncall *oc);

/*
 * Acknowledge alert fingerprint by who at now: stops its escalation and
 * repeats, announces it.  TOCSIN_ENOENT for no such firing alert,
 * TOCSIN_EINVAL when it was already acknowledged.
 */
tocsin_err tocsin_oncall_ack(struct tocsin_oncall *oc, const char *fingerprint,
                             const char *who, int64_t now,
                             struct tocsin_notes *out);

/*
 * Resolve by hand: ends the alert and tells whoever was notified.
 * TOCSIN_ENOENT for no such firing alert.
 */
tocsin_err tocsin_oncall_resolve(struct tocsin_oncall *oc,
                                 const char *fingerprint, const char *who,
                                 int64_t now, struct tocsin_notes *out);

/*
 * A signed link token for alert fingerprint, action "ack" or "resolve",
 * for person who (may be ""), expiring ack_ttl_s after now, into out
 * (TOCSIN_ACK_TOKEN_MAX bytes).  TOCSIN_ENOENT without an ack secret.
 */
tocsin_err tocsin_oncall_ack_link(const struct tocsin_oncall *oc,
                                  const char *fingerprint, const char *action,
                                  const char *who, int64_t now, char *out,
                                  size_t outlen);

/*
 * Use a link token (the HTTP ack endpoint): verify, check it was not used
 * before, then ack or resolve.  *verdict always written.  TOCSIN_EINVAL
 * when refused (forged, expired, reused, malformed); otherwise as
 * tocsin_oncall_ack / tocsin_oncall_resolve.  The token's id is then in
 * claims->id (for oncall_store to record across instances).
 */
tocsin_err tocsin_oncall_use_link(struct tocsin_oncall *oc, const char *token,
                                  int64_t now, struct tocsin_notes *out,
                                  struct tocsin_ack_claims *claims,
                                  enum tocsin_ack_verdict *verdict);

/* The ledger of used links (to mark ids loaded from Redis).  Borrowed. */
struct tocsin_ack_ledger *tocsin_oncall_ledger(struct tocsin_oncall *oc);

/* The silences (add/expire/query from tocsinctl).  Borrowed.  Call
 * tocsin_oncall_touch_silences after changing them: they are then saved,
 * and alerts held by a silence are looked at again on the next tick. */
struct tocsin_silences *tocsin_oncall_silences(struct tocsin_oncall *oc);
void tocsin_oncall_touch_silences(struct tocsin_oncall *oc);


/* ---- views (tocsinctl) ---- */

/* The views (routes test, who, alert JSON, bodies): oncall_view.h. */

/* The number of alerts and the i-th one's fingerprint (borrowed). */
size_t tocsin_oncall_nalerts(const struct tocsin_oncall *oc);
const char *tocsin_oncall_alert_at(const struct tocsin_oncall *oc, size_t i);

/* The escalation state of an alert (borrowed), or NULL. */
const struct tocsin_esc_state *
tocsin_oncall_escalation(const struct tocsin_oncall *oc,
                         const char *fingerprint);

/* ---- persistence (oncall_store.c) ---- */

/* Restore an alert from tocsin_oncall_alert_json's text: it rejoins its
 * groups as already notified (if somebody was told), its escalation
 * continues where it was.  Import every alert before the groups. */
tocsin_err tocsin_oncall_import_alert(struct tocsin_oncall *oc,
                                      const char *json, int64_t now);

/* The version of tocsin_oncall_group_json's records; a record of a later
 * version is refused (TOCSIN_EPROTO), fields it does not know are
 * ignored. */
#define TOCSIN_ONCALL_GROUP_VERSION 1

/*
 * Restore a group from tocsin_oncall_group_json's text, once every stored
 * alert was imported: its timers (a pending flush stays due when it was),
 * its notification count (seq, so delivery ids stay unique), which of its
 * alerts were sent, and those resolved since its last notification (the
 * next one lists them).  TOCSIN_ENOENT when the group is not one of the
 * current configuration's (its route is gone or sends elsewhere, or none
 * of its alerts is left): it is dropped, its alerts stay in the groups of
 * the routes they match now, and its key is listed as changed so the
 * store deletes (or rewrites) the record.  TOCSIN_EPROTO for a record
 * that does not parse or is of a later version.
 */
tocsin_err tocsin_oncall_import_group(struct tocsin_oncall *oc,
                                      const char *json, int64_t now);

/* The groups (keys "<route id>:{label=\"v\",...}", borrowed). */
size_t tocsin_oncall_ngroups(const struct tocsin_oncall *oc);
const char *tocsin_oncall_group_at(const struct tocsin_oncall *oc, size_t i);

/* Keys of groups changed (or gone) since the last clear (borrowed). */
size_t tocsin_oncall_ngroups_dirty(const struct tocsin_oncall *oc);
const char *tocsin_oncall_group_dirty_at(const struct tocsin_oncall *oc,
                                         size_t i);

/* Fingerprints of alerts changed since the last clear (borrowed). */
size_t tocsin_oncall_ndirty(const struct tocsin_oncall *oc);
const char *tocsin_oncall_dirty_at(const struct tocsin_oncall *oc, size_t i);
int tocsin_oncall_silences_dirty(const struct tocsin_oncall *oc);
/* Whether anything (alerts, groups, silences) changed since the last
 * clear. */
int tocsin_oncall_unsaved(const struct tocsin_oncall *oc);
void tocsin_oncall_clear_dirty(struct tocsin_oncall *oc);

/* Forget resolved alerts that ended more than keep_s before now (and
 * expired silences past retention).  Forgotten fingerprints are listed as
 * dirty, so the store deletes them. */
void tocsin_oncall_gc(struct tocsin_oncall *oc, int64_t now, int64_t keep_s);

#endif
