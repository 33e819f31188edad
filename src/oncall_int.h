/*
 * oncall_int.h: the state of a tocsin_oncall, shared by oncall.c (the
 * core: routing, grouping, escalation, acknowledgement) and oncall_view.c
 * (its text views and JSON).  Internal to those two; not thread-safe (one
 * oncall belongs to one thread, the daemon's main loop).
 */
#ifndef TOCSIN_ONCALL_INT_H
#define TOCSIN_ONCALL_INT_H

#include <stdint.h>

#include "tocsin/oncall.h"

#define MAX_ROUTES 16 /* routes one alert may match */

struct hist {
    int64_t at;
    char *text;
};

struct alert {
    char *fp;
    char **ln, **lv;
    struct tocsin_label *lab;
    size_t nl;
    char *summary;
    char *alert_json; /* the engine's webhook alert object, or NULL */
    int firing;
    int64_t starts, ends;
    char *policy; /* escalation policy in use, or NULL */
    struct tocsin_esc_state esc;
    int acked;
    int64_t acked_at;
    char *acked_by;
    char **notified; /* receivers told about it */
    size_t nnotified;
    struct hist *hist;
    size_t nhist;
    unsigned logged; /* oncall.c's LOG_* bits: reasons in the history */
    int held;          /* escalation held: a step came due while muted */
    int64_t hold_next; /* held: when to look at the mute again */
};

struct member {
    struct alert *a;
    int sent;
    int gone; /* resolved since the group's last notification: listed
                 (as resolved) in the next one, then dropped */
};

struct group {
    char *key;
    const struct tocsin_route *route;
    struct member *m;
    size_t nm;
    int dirty, flushed;
    int64_t next_flush, last_flush;
    uint64_t seq; /* notifications made by this group (flushes, repeats) */
};

struct tocsin_oncall {
    const struct tocsin_oncall_config *cfg;
    struct alert **alerts;
    size_t nalerts;
    struct group **groups;
    size_t ngroups;
    struct tocsin_silences *silences;
    struct tocsin_ack_ledger *ledger;
    char **dirty; /* fingerprints of alerts changed since the last save */
    size_t ndirty;
    char **gdirty; /* keys of groups changed (or gone) since then */
    size_t ngdirty;
    int silences_dirty;
    int oom;
};

/* The alert with fingerprint fp, or NULL. */
struct alert *oncall_find_alert(const struct tocsin_oncall *oc, const char *fp);
/* a's labels (borrowed from a). */
struct tocsin_labelset oncall_labels_of(const struct alert *a);
/* t as local "HH:MM" (with_date: "YYYY-MM-DD HH:MM") in the announcements'
 * zone. */
void oncall_local_hhmm(const struct tocsin_oncall *oc, int64_t t, char *buf,
                       size_t n, int with_date);

#endif
