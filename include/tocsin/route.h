/*
 * route.h: the routing tree (Alertmanager's route, in tocsin's words).
 *
 * Each node has matchers and, optionally: a receiver (a receiver name,
 * "schedule:NAME" for whoever is on call, or "user:NAME"), an escalation
 * policy name, group_by labels ("..." groups by every label), group_wait,
 * group_interval, repeat_interval, mute_time_intervals,
 * active_time_intervals and `continue`.  A child inherits every setting
 * its parent has and it does not set.  An alert goes down the tree: at
 * each node the children are tried in order; a child that matches (with
 * its own subtree) takes the alert, and unless it has `continue` the
 * search stops there.  When no child matches, the node itself takes it.
 * The root matches every alert.
 *
 * Quiet hours: while a mute interval is active, or outside every active
 * interval, a route holds back notifications, but never those of critical
 * alerts (severity="critical"), which always go through.
 *
 * The tree owns its nodes; time intervals are borrowed.  Pure; immutable
 * once built, so threads may share it.
 */
#ifndef TOCSIN_ROUTE_H
#define TOCSIN_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"
#include "tocsin/matcher.h"
#include "tocsin/timeint.h"

/* Defaults at the root (Alertmanager's): */
#define TOCSIN_ROUTE_GROUP_WAIT      30
#define TOCSIN_ROUTE_GROUP_INTERVAL  300
#define TOCSIN_ROUTE_REPEAT_INTERVAL 14400

struct tocsin_route_spec {
    const char *const *matchers; /* ignored at the root */
    size_t nmatchers;
    const char *receiver;   /* NULL: inherit */
    const char *escalation; /* NULL: inherit */
    const char *const *group_by;
    size_t ngroup_by;
    int group_by_set; /* 0: inherit (root default: alertname, topic) */
    int group_wait_s, group_interval_s, repeat_interval_s; /* -1: inherit */
    int continue_;
    const struct tocsin_timeint *const *mute; /* borrowed */
    size_t nmute;
    int mute_set; /* 0: inherit */
    const struct tocsin_timeint *const *active;
    size_t nactive;
    int active_set; /* 0: inherit */
};

/* A spec that inherits everything and has no matchers. */
void tocsin_route_spec_init(struct tocsin_route_spec *s);

struct tocsin_route;

/* The root.  TOCSIN_EINVAL with a message in err for bad matchers. */
tocsin_err tocsin_route_new(struct tocsin_route **out,
                            const struct tocsin_route_spec *spec, char *err,
                            size_t errlen);

/* Free the whole tree (only call on the root).  NULL does nothing. */
void tocsin_route_free(struct tocsin_route *root);

/* Add a child of parent (after its other children); *child (may be NULL)
 * is borrowed from the tree. */
tocsin_err tocsin_route_add(struct tocsin_route *parent,
                            const struct tocsin_route_spec *spec,
                            struct tocsin_route **child, char *err,
                            size_t errlen);

/* The routes that take an alert with labels ls, in tree order, at most
 * max of them written to out (borrowed); returns how many matched. */
size_t tocsin_route_match(const struct tocsin_route *root,
                          const struct tocsin_labelset *ls,
                          const struct tocsin_route **out, size_t max);

/* Effective (inherited) settings. */
const char *tocsin_route_receiver(const struct tocsin_route *r); /* or NULL */
const char *tocsin_route_escalation(const struct tocsin_route *r);
const char *const *tocsin_route_group_by(const struct tocsin_route *r,
                                         size_t *n);
int tocsin_route_group_wait(const struct tocsin_route *r);
int tocsin_route_group_interval(const struct tocsin_route *r);
int tocsin_route_repeat_interval(const struct tocsin_route *r);
/* A stable name of the node: "root", "root/0", "root/0/2" ... */
const char *tocsin_route_id(const struct tocsin_route *r);

/*
 * Whether a notification of an alert with severity sev on route r is held
 * back at t: 0 to send, 1 to hold (then *why, if not NULL, is the name of
 * the mute interval in force, or of the first active interval when outside
 * all of them).  Critical never holds.
 */
int tocsin_route_held(const struct tocsin_route *r, const char *sev, int64_t t,
                      const char **why);

#endif
