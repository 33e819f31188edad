/*
 * schedule.h: on-call schedules: who is on call now, and who is next.
 *
 * A schedule has a time zone and layers.  A layer rotates through its
 * users daily or weekly: the first user's shift begins on the layer's
 * start date at the hand-off time (local), the next one a day or a week
 * later, and so on round the list; days are counted on the local
 * calendar, so a hand-off stays at 09:00 across DST changes.  A layer may
 * be restricted to a time interval (weekends only, nights only): outside
 * it the layer has nobody.  Later layers take precedence over earlier ones
 * where they have somebody; overrides (a swap: user U from t1 to t2) take
 * precedence over every layer, the latest added first.
 *
 * Owns its layers and overrides; borrows the zone and the restriction
 * intervals (which must outlive it).  Pure: time is an argument.  Not
 * thread-safe to modify; read-only use may be shared.
 */
#ifndef TOCSIN_SCHEDULE_H
#define TOCSIN_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"
#include "tocsin/timeint.h"
#include "tocsin/tz.h"

enum tocsin_rotation { TOCSIN_ROTATION_DAILY = 1, TOCSIN_ROTATION_WEEKLY = 7 };

struct tocsin_schedule_layer {
    const char *name;
    const char *const *users; /* at least one; copied */
    size_t nusers;
    enum tocsin_rotation rotation;
    const char *start;   /* "YYYY-MM-DD", local: the first user's shift */
    const char *handoff; /* "HH:MM", local; NULL: "00:00" */
    const struct tocsin_timeint *restriction; /* borrowed; NULL: always */
};

struct tocsin_schedule;

/* A schedule in zone tz (borrowed; NULL: UTC).  *out only on success. */
tocsin_err tocsin_schedule_new(struct tocsin_schedule **out, const char *name,
                               const struct tocsin_tz *tz);
void tocsin_schedule_free(struct tocsin_schedule *s);

const char *tocsin_schedule_name(const struct tocsin_schedule *s);

/* Add a layer (above the ones before).  TOCSIN_EINVAL with a message in
 * err for no users, a bad start date or hand-off time. */
tocsin_err tocsin_schedule_add_layer(struct tocsin_schedule *s,
                                     const struct tocsin_schedule_layer *l,
                                     char *err, size_t errlen);

/* user is on call from start (inclusive) to end (exclusive), epoch s. */
tocsin_err tocsin_schedule_add_override(struct tocsin_schedule *s,
                                        const char *user, int64_t start,
                                        int64_t end);

/* Who is on call at t (borrowed), or NULL when nobody is. */
const char *tocsin_schedule_oncall(const struct tocsin_schedule *s, int64_t t);

/*
 * The next change after t within horizon seconds: *at is when, *user who
 * takes over (NULL: nobody).  TOCSIN_ENOENT when nothing changes in the
 * horizon (outputs untouched).
 */
tocsin_err tocsin_schedule_next(const struct tocsin_schedule *s, int64_t t,
                                int64_t horizon, int64_t *at,
                                const char **user);

#endif
