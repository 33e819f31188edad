/*
 * escalation.c: escalation policies and the per-alert state machine.
 * Policies own their steps; states are plain values.  Pure.
 */
#include "tocsin/escalation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct step {
    char **targets;
    size_t n;
    int wait_s;
};

struct tocsin_escalation {
    char *name;
    int repeat;
    struct step *steps;
    size_t nsteps;
    char **announce;
    size_t nannounce;
};

static void
strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static char **
strv_dup(const char *const *v, size_t n)
{
    char **d = calloc(n ? n : 1, sizeof *d);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(d[i] = strdup(v[i] ? v[i] : ""))) {
            strv_free(d, i);
            return NULL;
        }
    return d;
}

tocsin_err
tocsin_escalation_new(struct tocsin_escalation **out, const char *name,
                      int repeat)
{
    if (!out || !name || repeat < 0)
        return TOCSIN_EINVAL;
    struct tocsin_escalation *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(name))) {
        free(p);
        return TOCSIN_ENOMEM;
    }
    p->repeat = repeat;
    *out = p;
    return TOCSIN_OK;
}

void
tocsin_escalation_free(struct tocsin_escalation *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nsteps; i++)
        strv_free(p->steps[i].targets, p->steps[i].n);
    free(p->steps);
    strv_free(p->announce, p->nannounce);
    free(p->name);
    free(p);
}

tocsin_err
tocsin_escalation_add_step(struct tocsin_escalation *p,
                           const char *const *targets, size_t ntargets,
                           int wait_s)
{
    if (!p || !targets || ntargets == 0 || wait_s < 0)
        return TOCSIN_EINVAL;
    struct step *v = realloc(p->steps, (p->nsteps + 1) * sizeof *v);
    if (!v)
        return TOCSIN_ENOMEM;
    p->steps = v;
    char **t = strv_dup(targets, ntargets);
    if (!t)
        return TOCSIN_ENOMEM;
    v[p->nsteps++] = (struct step){t, ntargets, wait_s};
    return TOCSIN_OK;
}

tocsin_err
tocsin_escalation_set_announce(struct tocsin_escalation *p,
                               const char *const *targets, size_t n)
{
    if (!p || (n && !targets))
        return TOCSIN_EINVAL;
    char **t = strv_dup(targets, n);
    if (!t)
        return TOCSIN_ENOMEM;
    strv_free(p->announce, p->nannounce);
    p->announce = t;
    p->nannounce = n;
    return TOCSIN_OK;
}

const char *
tocsin_escalation_name(const struct tocsin_escalation *p)
{
    return p ? p->name : NULL;
}

size_t
tocsin_escalation_nsteps(const struct tocsin_escalation *p)
{
    return p ? p->nsteps : 0;
}

int
tocsin_escalation_repeat(const struct tocsin_escalation *p)
{
    return p ? p->repeat : 0;
}

const char *const *
tocsin_escalation_step(const struct tocsin_escalation *p, size_t i,
                       size_t *ntargets, int *wait_s)
{
    if (!p || i >= p->nsteps) {
        if (ntargets)
            *ntargets = 0;
        if (wait_s)
            *wait_s = 0;
        return NULL;
    }
    if (ntargets)
        *ntargets = p->steps[i].n;
    if (wait_s)
        *wait_s = p->steps[i].wait_s;
    return (const char *const *)p->steps[i].targets;
}

const char *const *
tocsin_escalation_announce(const struct tocsin_escalation *p, size_t *n)
{
    *n = p ? p->nannounce : 0;
    return p ? (const char *const *)p->announce : NULL;
}

void
tocsin_esc_start(struct tocsin_esc_state *st, int64_t now)
{
    memset(st, 0, sizeof *st);
    st->status = TOCSIN_ESC_RUNNING;
    st->step = -1;
    st->next_at = now;
}

int
tocsin_esc_advance(const struct tocsin_escalation *p,
                   struct tocsin_esc_state *st, int64_t now, int *step,
                   int *round)
{
    if (!p || !st || st->status != TOCSIN_ESC_RUNNING || now < st->next_at)
        return 0;
    int s = st->step + 1, r = st->round;
    if ((size_t)s >= p->nsteps) {
        s = 0;
        r++;
    }
    if (p->nsteps == 0 || r > p->repeat) {
        st->status = TOCSIN_ESC_EXHAUSTED;
        return 0;
    }
    st->step = s;
    st->round = r;
    st->next_at += p->steps[s].wait_s;
    if (step)
        *step = s;
    if (round)
        *round = r;
    return 1;
}

tocsin_err
tocsin_esc_ack(struct tocsin_esc_state *st, const char *who, int64_t now)
{
    if (!st || (st->status != TOCSIN_ESC_RUNNING &&
                st->status != TOCSIN_ESC_EXHAUSTED))
        return TOCSIN_EINVAL;
    st->status = TOCSIN_ESC_ACKED;
    st->acked_at = now;
    snprintf(st->acked_by, sizeof st->acked_by, "%s", who ? who : "");
    return TOCSIN_OK;
}

void
tocsin_esc_resolve(struct tocsin_esc_state *st)
{
    if (st)
        st->status = TOCSIN_ESC_RESOLVED;
}

const char *
tocsin_esc_status_name(enum tocsin_esc_status s)
{
    static const char *const n[] = {"idle", "running", "acked", "exhausted",
                                    "resolved"};
    return (unsigned)s < 5 ? n[s] : "?";
}
