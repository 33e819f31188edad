/*
 * escalation.h: escalation policies and the per-alert escalation state.
 *
 * A policy is a list of steps; each names targets ("schedule:primary",
 * "user:marie", "receiver:team-chat", or a bare receiver name) and how long
 * to wait for an acknowledgement before the next step.  After the last
 * step the policy starts again from the first, `repeat` more times, then
 * stops (exhausted).  `announce` names where acknowledgements and
 * resolutions are announced (the team channel).
 *
 * The state of one alert's escalation is a plain struct (so it can be
 * stored in Redis and reloaded by another instance): the step last run,
 * the round, and when the next step is due.  Steps are due relative to the
 * previous due time, not to when the caller happens to look, so a restart
 * continues at the right step.  Resolving or acknowledging stops it.
 *
 * A policy owns its steps; it is immutable once built (threads may share
 * it).  Pure: time is an argument.
 */
#ifndef TOCSIN_ESCALATION_H
#define TOCSIN_ESCALATION_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"

struct tocsin_escalation;

tocsin_err tocsin_escalation_new(struct tocsin_escalation **out,
                                 const char *name, int repeat);
void tocsin_escalation_free(struct tocsin_escalation *p);

/* Append a step.  At least one target; wait_s >= 0 (the wait after the
 * last step is the pause before the policy repeats). */
tocsin_err tocsin_escalation_add_step(struct tocsin_escalation *p,
                                      const char *const *targets,
                                      size_t ntargets, int wait_s);

/* Where acknowledgements and resolutions are announced (copied). */
tocsin_err tocsin_escalation_set_announce(struct tocsin_escalation *p,
                                          const char *const *targets, size_t n);

const char *tocsin_escalation_name(const struct tocsin_escalation *p);
size_t tocsin_escalation_nsteps(const struct tocsin_escalation *p);
int tocsin_escalation_repeat(const struct tocsin_escalation *p);

/* Step i's targets (borrowed) and wait; NULL/0 when i is out of range. */
const char *const *tocsin_escalation_step(const struct tocsin_escalation *p,
                                          size_t i, size_t *ntargets,
                                          int *wait_s);

/* The announce targets (borrowed). */
const char *const *tocsin_escalation_announce(const struct tocsin_escalation *p,
                                              size_t *n);

enum tocsin_esc_status {
    TOCSIN_ESC_IDLE = 0,      /* not started */
    TOCSIN_ESC_RUNNING = 1,   /* steps due at next_at */
    TOCSIN_ESC_ACKED = 2,     /* somebody has it */
    TOCSIN_ESC_EXHAUSTED = 3, /* every step and repeat ran, no ack */
    TOCSIN_ESC_RESOLVED = 4,  /* the alert resolved */
};

#define TOCSIN_ESC_WHO_MAX 64

struct tocsin_esc_state {
    enum tocsin_esc_status status;
    int step;        /* index of the step last run; -1 before the first */
    int round;       /* 0 for the first pass, then 1..repeat */
    int64_t next_at; /* when the next step is due (RUNNING only) */
    int64_t acked_at;
    char acked_by[TOCSIN_ESC_WHO_MAX];
};

/* Start: the first step is due at now. */
void tocsin_esc_start(struct tocsin_esc_state *st, int64_t now);

/*
 * Run the next step if it is due at now: returns 1 and writes the step
 * index and round it ran, 0 when nothing is due (or the policy is
 * exhausted: status becomes TOCSIN_ESC_EXHAUSTED).  Call in a loop: after
 * a long pause several steps may be due, each in order.
 */
int tocsin_esc_advance(const struct tocsin_escalation *p,
                       struct tocsin_esc_state *st, int64_t now, int *step,
                       int *round);

/*
 * Acknowledge by who at now.  TOCSIN_OK when this stopped a running or
 * exhausted escalation; TOCSIN_EINVAL when it was already acknowledged
 * or resolved (nothing changes) or never started.
 */
tocsin_err tocsin_esc_ack(struct tocsin_esc_state *st, const char *who,
                          int64_t now);

/* The alert resolved: stop. */
void tocsin_esc_resolve(struct tocsin_esc_state *st);

/* "idle", "running", "acked", "exhausted", "resolved". */
const char *tocsin_esc_status_name(enum tocsin_esc_status s);

#endif
