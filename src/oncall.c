/*
 * oncall.c: the on-call core (routing, grouping, silences, inhibition,
 * quiet hours, escalation, acknowledgement, history, import from JSON).
 * Owns its alerts, groups, silences and ack ledger; borrows its
 * configuration.  Its views, JSON and bodies are in oncall_view.c.  No
 * I/O, time is an argument; one thread (the daemon's main loop).
 */
#include "tocsin/oncall.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oncall_int.h"
#include "tocsin/event.h"
#include "tocsin/hash.h"
#include "tocsin/mention.h"

/* ---- configuration ---- */

tocsin_err
tocsin_oncall_config_new(struct tocsin_oncall_config **out)
{
    if (!out)
        return TOCSIN_EINVAL;
    struct tocsin_oncall_config *c = calloc(1, sizeof *c);
    if (!c)
        return TOCSIN_ENOMEM;
    c->ack_ttl_s = 86400;
    c->silence_retention_s = 432000;
    *out = c;
    return TOCSIN_OK;
}

void
tocsin_oncall_config_free(struct tocsin_oncall_config *c)
{
    if (!c)
        return;
    tocsin_route_free(c->route);
    tocsin_inhibit_free(c->inhibit);
    for (size_t i = 0; i < c->nschedules; i++)
        tocsin_schedule_free(c->schedules[i]);
    free(c->schedules);
    for (size_t i = 0; i < c->npolicies; i++)
        tocsin_escalation_free(c->policies[i]);
    free(c->policies);
    for (size_t i = 0; i < c->nintervals; i++)
        tocsin_timeint_free(c->intervals[i]);
    free(c->intervals);
    for (size_t i = 0; i < c->npeople; i++) {
        struct tocsin_person *p = &c->people[i];
        free(p->name);
        free(p->full_name);
        for (size_t j = 0; j < p->nreceivers; j++)
            free(p->receivers[j]);
        free(p->receivers);
    }
    free(c->people);
    for (size_t i = 0; i < c->nzones; i++)
        tocsin_tz_free(c->zones[i]);
    free(c->zones);
    if (c->ack_secret) {
        memset(c->ack_secret, 0, strlen(c->ack_secret));
        free(c->ack_secret);
    }
    free(c);
}

tocsin_err
tocsin_oncall_config_zone(struct tocsin_oncall_config *c, const char *name,
                          const struct tocsin_tz **out)
{
    if (!c || !name || !out)
        return TOCSIN_EINVAL;
    for (size_t i = 0; i < c->nzones; i++)
        if (strcmp(tocsin_tz_name(c->zones[i]), name) == 0) {
            *out = c->zones[i];
            return TOCSIN_OK;
        }
    struct tocsin_tz *tz = NULL;
    tocsin_err rc = tocsin_tz_load(&tz, name);
    if (rc != TOCSIN_OK)
        return rc;
    struct tocsin_tz **v = realloc(c->zones, (c->nzones + 1) * sizeof *v);
    if (!v) {
        tocsin_tz_free(tz);
        return TOCSIN_ENOMEM;
    }
    c->zones = v;
    v[c->nzones++] = tz;
    *out = tz;
    return TOCSIN_OK;
}

const struct tocsin_timeint *
tocsin_oncall_config_interval(const struct tocsin_oncall_config *c,
                              const char *name)
{
    for (size_t i = 0; c && name && i < c->nintervals; i++)
        if (strcmp(tocsin_timeint_name(c->intervals[i]), name) == 0)
            return c->intervals[i];
    return NULL;
}

const struct tocsin_schedule *
tocsin_oncall_config_schedule(const struct tocsin_oncall_config *c,
                              const char *name)
{
    for (size_t i = 0; c && name && i < c->nschedules; i++)
        if (strcmp(tocsin_schedule_name(c->schedules[i]), name) == 0)
            return c->schedules[i];
    return NULL;
}

const struct tocsin_escalation *
tocsin_oncall_config_policy(const struct tocsin_oncall_config *c,
                            const char *name)
{
    for (size_t i = 0; c && name && i < c->npolicies; i++)
        if (strcmp(tocsin_escalation_name(c->policies[i]), name) == 0)
            return c->policies[i];
    return NULL;
}

const struct tocsin_person *
tocsin_oncall_config_person(const struct tocsin_oncall_config *c,
                            const char *name)
{
    for (size_t i = 0; c && name && i < c->npeople; i++)
        if (strcmp(c->people[i].name, name) == 0)
            return &c->people[i];
    return NULL;
}

/* ---- notes ---- */

void
tocsin_notes_clear(struct tocsin_notes *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        free(n->v[i].receiver);
        free(n->v[i].user);
        free(n->v[i].fingerprint);
        free(n->v[i].group_key);
        free(n->v[i].text);
        for (size_t k = 0; k < n->v[i].nalerts; k++)
            free(n->v[i].alerts[k]);
        free(n->v[i].alerts);
    }
    free(n->v);
    memset(n, 0, sizeof *n);
}

const char *
tocsin_note_kind_name(enum tocsin_note_kind k)
{
    static const char *const names[] = {"firing", "repeat", "escalation", "ack",
                                        "resolved"};
    return (unsigned)k < 5 ? names[k] : "?";
}

/* ---- state (the structs: oncall_int.h) ---- */

#define LOG_SILENCED  1u
#define LOG_INHIBITED 2u
#define LOG_HELD      4u

static char *
xstrdup(struct tocsin_oncall *oc, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        oc->oom = 1;
    return d;
}

static void
labels_clear(struct alert *a)
{
    for (size_t i = 0; i < a->nl; i++) {
        free(a->ln[i]);
        free(a->lv[i]);
    }
    free(a->ln);
    free(a->lv);
    free(a->lab);
    a->ln = a->lv = NULL;
    a->lab = NULL;
    a->nl = 0;
}

static void
alert_free(struct alert *a)
{
    if (!a)
        return;
    free(a->fp);
    labels_clear(a);
    free(a->summary);
    free(a->alert_json);
    free(a->policy);
    free(a->acked_by);
    for (size_t i = 0; i < a->nnotified; i++)
        free(a->notified[i]);
    free(a->notified);
    for (size_t i = 0; i < a->nhist; i++)
        free(a->hist[i].text);
    free(a->hist);
    free(a);
}

static void
group_free(struct group *g)
{
    if (!g)
        return;
    free(g->key);
    free(g->m);
    free(g);
}

tocsin_err
tocsin_oncall_new(struct tocsin_oncall **out,
                  const struct tocsin_oncall_config *cfg)
{
    if (!out || !cfg)
        return TOCSIN_EINVAL;
    struct tocsin_oncall *oc = calloc(1, sizeof *oc);
    if (!oc)
        return TOCSIN_ENOMEM;
    oc->cfg = cfg;
    if (tocsin_silences_new(&oc->silences) != TOCSIN_OK ||
        tocsin_ack_ledger_new(&oc->ledger) != TOCSIN_OK) {
        tocsin_oncall_free(oc);
        return TOCSIN_ENOMEM;
    }
    *out = oc;
    return TOCSIN_OK;
}

void
tocsin_oncall_free(struct tocsin_oncall *oc)
{
    if (!oc)
        return;
    for (size_t i = 0; i < oc->nalerts; i++)
        alert_free(oc->alerts[i]);
    free(oc->alerts);
    for (size_t i = 0; i < oc->ngroups; i++)
        group_free(oc->groups[i]);
    free(oc->groups);
    for (size_t i = 0; i < oc->ndirty; i++)
        free(oc->dirty[i]);
    free(oc->dirty);
    for (size_t i = 0; i < oc->ngdirty; i++)
        free(oc->gdirty[i]);
    free(oc->gdirty);
    tocsin_silences_free(oc->silences);
    tocsin_ack_ledger_free(oc->ledger);
    free(oc);
}

/* Add s to the set *v of *n strings (the names of what to save). */
static void
mark_in(struct tocsin_oncall *oc, char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], s) == 0)
            return;
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) {
        oc->oom = 1;
        return;
    }
    *v = nv;
    if ((nv[*n] = xstrdup(oc, s)))
        (*n)++;
}

static void
mark_dirty(struct tocsin_oncall *oc, const char *fp)
{
    mark_in(oc, &oc->dirty, &oc->ndirty, fp);
}

/* g changed (timers, members, count) or is about to go: saved (or
 * deleted) with the next checkpoint. */
static void
touch_group(struct tocsin_oncall *oc, const struct group *g)
{
    mark_in(oc, &oc->gdirty, &oc->ngdirty, g->key);
}

struct alert *
oncall_find_alert(const struct tocsin_oncall *oc, const char *fp)
{
    for (size_t i = 0; i < oc->nalerts; i++)
        if (strcmp(oc->alerts[i]->fp, fp) == 0)
            return oc->alerts[i];
    return NULL;
}

static void hist_add(struct tocsin_oncall *oc, struct alert *a, int64_t at,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
hist_add(struct tocsin_oncall *oc, struct alert *a, int64_t at, const char *fmt,
         ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    struct hist *h = realloc(a->hist, (a->nhist + 1) * sizeof *h);
    if (!h) {
        oc->oom = 1;
        return;
    }
    a->hist = h;
    h[a->nhist].at = at;
    if ((h[a->nhist].text = xstrdup(oc, buf)))
        a->nhist++;
    mark_dirty(oc, a->fp);
}

struct tocsin_labelset
oncall_labels_of(const struct alert *a)
{
    struct tocsin_labelset ls = {a->lab, a->nl};
    return ls;
}

static int
set_labels(struct alert *a, const struct tocsin_labelset *ls)
{
    a->ln = calloc(ls->n ? ls->n : 1, sizeof *a->ln);
    a->lv = calloc(ls->n ? ls->n : 1, sizeof *a->lv);
    a->lab = calloc(ls->n ? ls->n : 1, sizeof *a->lab);
    if (!a->ln || !a->lv || !a->lab)
        return -1;
    for (size_t i = 0; i < ls->n; i++) {
        a->ln[i] = strdup(ls->v[i].name ? ls->v[i].name : "");
        a->lv[i] = strdup(ls->v[i].value ? ls->v[i].value : "");
        a->nl = i + 1;
        if (!a->ln[i] || !a->lv[i])
            return -1;
        a->lab[i].name = a->ln[i];
        a->lab[i].value = a->lv[i];
    }
    return 0;
}

void
oncall_local_hhmm(const struct tocsin_oncall *oc, int64_t t, char *buf, size_t n,
           int with_date)
{
    struct tocsin_civil c;
    tocsin_tz_civil(oc->cfg->tz, t, &c);
    if (with_date)
        snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.mday,
                 c.hour, c.min);
    else
        snprintf(buf, n, "%02d:%02d", c.hour, c.min);
}

static const char *
display_name(const struct tocsin_oncall *oc, const char *who)
{
    const struct tocsin_person *p = tocsin_oncall_config_person(oc->cfg, who);
    return p && p->full_name ? p->full_name : who;
}

/* ---- notes out ---- */

/* The alerts one notification is about: one alert (escalation steps,
 * announcements), or a group's alerts at a flush or repeat (grouped: the
 * note lists them all, most severe first). */
struct batch {
    struct alert *const *v;
    size_t n;
    int grouped;
    uint64_t seq; /* grouped: the group's notification number */
};

static void
add_note(struct tocsin_oncall *oc, struct tocsin_notes *out,
         enum tocsin_note_kind kind, const char *receiver, const char *user,
         const struct batch *b, const char *gkey, const char *text, int step,
         int round, int64_t now)
{
    if (!out || b->n == 0)
        return;
    const struct alert *a = b->v[0];
    for (size_t i = 0; i < out->n; i++) /* one per receiver and change */
        if (out->v[i].kind == kind &&
            strcmp(out->v[i].receiver, receiver) == 0 &&
            strcmp(out->v[i].fingerprint, a->fp) == 0 &&
            out->v[i].step == step && out->v[i].round == round)
            return;
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        struct tocsin_note *v = realloc(out->v, cap * sizeof *v);
        if (!v) {
            oc->oom = 1;
            return;
        }
        out->v = v;
        out->cap = cap;
    }
    struct tocsin_note *n = &out->v[out->n++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->receiver = xstrdup(oc, receiver);
    n->user = user ? xstrdup(oc, user) : NULL;
    n->fingerprint = xstrdup(oc, a->fp);
    n->group_key = xstrdup(oc, gkey ? gkey : "");
    n->text = xstrdup(oc, text);
    n->step = step;
    n->round = round;
    n->at = now;
    if (!b->grouped)
        return;
    n->seq = b->seq;
    if (!(n->alerts = calloc(b->n, sizeof *n->alerts))) {
        oc->oom = 1;
        return;
    }
    for (size_t i = 0; i < b->n; i++)
        if ((n->alerts[i] = xstrdup(oc, b->v[i]->fp)))
            n->nalerts = i + 1;
}

static void
remember_notified(struct tocsin_oncall *oc, struct alert *a, const char *rcv)
{
    for (size_t i = 0; i < a->nnotified; i++)
        if (strcmp(a->notified[i], rcv) == 0)
            return;
    char **v = realloc(a->notified, (a->nnotified + 1) * sizeof *v);
    if (!v) {
        oc->oom = 1;
        return;
    }
    a->notified = v;
    if ((v[a->nnotified] = xstrdup(oc, rcv)))
        a->nnotified++;
}

/* Send to one target; returns how many receivers it reached.  Every alert
 * of b gets the history line and remembers the receivers. */
static int
send_target(struct tocsin_oncall *oc, struct tocsin_notes *out,
            enum tocsin_note_kind kind, const char *target,
            const struct batch *b, const char *gkey, const char *text,
            int step, int round, int64_t now, const char *what)
{
    const char *user = NULL, *r = NULL;
    const struct tocsin_person *p = NULL;
    char line[256];
    if (strncmp(target, "schedule:", 9) == 0) {
        const struct tocsin_schedule *s =
            tocsin_oncall_config_schedule(oc->cfg, target + 9);
        user = s ? tocsin_schedule_oncall(s, now) : NULL;
        if (!user) {
            for (size_t k = 0; k < b->n; k++)
                hist_add(oc, b->v[k], now, "%s: nobody on call in schedule %s",
                         what, target + 9);
            return 0;
        }
        p = tocsin_oncall_config_person(oc->cfg, user);
    } else if (strncmp(target, "user:", 5) == 0) {
        user = target + 5;
        p = tocsin_oncall_config_person(oc->cfg, user);
    } else {
        r = strncmp(target, "receiver:", 9) == 0 ? target + 9 : target;
    }
    if (!r && (!p || p->nreceivers == 0)) {
        for (size_t k = 0; k < b->n; k++)
            hist_add(oc, b->v[k], now, "%s: %s has no receivers", what, user);
        return 0;
    }
    size_t nr = r ? 1 : p->nreceivers;
    for (size_t i = 0; i < nr; i++) {
        const char *ri = r ? r : p->receivers[i];
        add_note(oc, out, kind, ri, user, b, gkey, text, step, round, now);
        for (size_t k = 0; k < b->n; k++)
            remember_notified(oc, b->v[k], ri);
    }
    if (r)
        snprintf(line, sizeof line, "%s: sent to %s", what, r);
    else
        snprintf(line, sizeof line, "%s: sent to %s via %s%s", what, user,
                 p->receivers[0], p->nreceivers > 1 ? " and others" : "");
    for (size_t k = 0; k < b->n; k++) {
        if (b->n > 1)
            hist_add(oc, b->v[k], now, "%s (with %zu other alert%s)", line,
                     b->n - 1, b->n > 2 ? "s" : "");
        else
            hist_add(oc, b->v[k], now, "%s", line);
    }
    return (int)nr;
}

/* ---- grouping ---- */

static char *
group_key(struct tocsin_oncall *oc, const struct tocsin_route *r,
          const struct alert *a)
{
    size_t n;
    const char *const *gb = tocsin_route_group_by(r, &n);
    struct tocsin_labelset ls = oncall_labels_of(a);
    size_t len = strlen(tocsin_route_id(r)) + 4;
    int all = n == 1 && strcmp(gb[0], "...") == 0;
    size_t cnt = all ? a->nl : n;
    for (size_t i = 0; i < cnt; i++) {
        const char *k = all ? a->ln[i] : gb[i];
        len += strlen(k) + strlen(tocsin_labels_get(&ls, k)) + 6;
    }
    char *key = malloc(len);
    if (!key) {
        oc->oom = 1;
        return NULL;
    }
    size_t o = (size_t)snprintf(key, len, "%s:{", tocsin_route_id(r));
    for (size_t i = 0; i < cnt; i++) {
        const char *k = all ? a->ln[i] : gb[i];
        o += (size_t)snprintf(key + o, len - o, "%s%s=\"%s\"", i ? "," : "", k,
                              tocsin_labels_get(&ls, k));
    }
    snprintf(key + o, len - o, "}");
    return key;
}

/* Whether a's first notification went out (or its escalation started,
 * or somebody has it). */
static int
told(const struct alert *a)
{
    return a->nnotified > 0 || a->esc.status != TOCSIN_ESC_IDLE || a->acked;
}

static struct group *
find_group(struct group **v, size_t n, const char *key)
{
    for (size_t i = 0; key && i < n; i++)
        if (strcmp(v[i]->key, key) == 0)
            return v[i];
    return NULL;
}

static struct group *
join_group(struct tocsin_oncall *oc, const struct tocsin_route *r,
           struct alert *a, int64_t now, int sent)
{
    char *key = group_key(oc, r, a);
    if (!key)
        return NULL;
    struct group *g = NULL;
    for (size_t i = 0; i < oc->ngroups && !g; i++)
        if (strcmp(oc->groups[i]->key, key) == 0)
            g = oc->groups[i];
    if (!g) {
        struct group **v = realloc(oc->groups, (oc->ngroups + 1) * sizeof *v);
        g = calloc(1, sizeof *g);
        if (v)
            oc->groups = v;
        if (!v || !g) {
            free(g);
            free(key);
            oc->oom = 1;
            return NULL;
        }
        oc->groups = v;
        v[oc->ngroups++] = g;
        g->key = key;
        g->route = r;
        g->next_flush = now + tocsin_route_group_wait(r);
        if (sent) { /* restored: as if flushed now */
            g->flushed = 1;
            g->last_flush = now;
        }
    } else {
        free(key);
    }
    for (size_t i = 0; i < g->nm; i++)
        if (g->m[i].a == a) {
            if (!sent && !g->m[i].sent && !g->dirty) {
                g->dirty = 1;
                touch_group(oc, g);
            }
            return g;
        }
    struct member *m = realloc(g->m, (g->nm + 1) * sizeof *m);
    if (!m) {
        oc->oom = 1;
        return g;
    }
    g->m = m;
    m[g->nm++] = (struct member){a, sent, 0};
    touch_group(oc, g);
    if (!sent) {
        if (g->flushed) {
            int64_t t = g->last_flush + tocsin_route_group_interval(r);
            g->next_flush = t > now ? t : now;
        }
        g->dirty = 1;
    }
    return g;
}

/* Take a out of every group, except those of the nkeep routes keep. */
static void
leave_groups_but(struct tocsin_oncall *oc, const struct alert *a,
                 const struct tocsin_route *const *keep, size_t nkeep)
{
    for (size_t i = 0; i < oc->ngroups; i++) {
        struct group *g = oc->groups[i];
        size_t j = 0, k;
        for (k = 0; k < nkeep; k++)
            if (keep[k] == g->route)
                break;
        if (k < nkeep)
            continue;
        for (size_t m = 0; m < g->nm; m++)
            if (g->m[m].a != a)
                g->m[j++] = g->m[m];
        if (j != g->nm)
            touch_group(oc, g);
        g->nm = j;
    }
    size_t j = 0; /* drop empty groups */
    for (size_t i = 0; i < oc->ngroups; i++) {
        if (oc->groups[i]->nm == 0) {
            touch_group(oc, oc->groups[i]); /* deleted from the store */
            group_free(oc->groups[i]);
        } else {
            oc->groups[j++] = oc->groups[i];
        }
    }
    oc->ngroups = j;
}

static void
leave_groups(struct tocsin_oncall *oc, const struct alert *a)
{
    leave_groups_but(oc, a, NULL, 0);
}

/* a resolved: it stays, as gone, in the groups whose receiver was told of
 * it (their next notification lists it as resolved), leaves the others. */
static void
retire_from_groups(struct tocsin_oncall *oc, const struct alert *a)
{
    for (size_t i = 0; i < oc->ngroups; i++) {
        struct group *g = oc->groups[i];
        int told_here = tocsin_route_receiver(g->route) &&
                        !tocsin_route_escalation(g->route);
        size_t j = 0;
        for (size_t m = 0; m < g->nm; m++) {
            if (g->m[m].a == a) {
                touch_group(oc, g);
                if (!g->m[m].sent || !told_here)
                    continue;
                g->m[m].gone = 1;
            }
            g->m[j++] = g->m[m];
        }
        g->nm = j;
    }
    leave_groups_but(oc, NULL, NULL, 0); /* drops the empty ones */
}

/* Drop the gone members of g (after its notification). */
static void
drop_gone(struct group *g)
{
    size_t j = 0;
    for (size_t m = 0; m < g->nm; m++)
        if (!g->m[m].gone)
            g->m[j++] = g->m[m];
    g->nm = j;
}

/* ---- blocking: silences, inhibition, quiet hours ---- */

static int
inhibited(const struct tocsin_oncall *oc, const struct alert *a)
{
    if (!oc->cfg->inhibit)
        return 0;
    const struct tocsin_labelset *firing[256];
    struct tocsin_labelset sets[256];
    size_t n = 0;
    for (size_t i = 0; i < oc->nalerts && n < 256; i++) {
        const struct alert *b = oc->alerts[i];
        if (!b->firing || b == a)
            continue;
        sets[n] = oncall_labels_of(b);
        firing[n] = &sets[n];
        n++;
    }
    struct tocsin_labelset t = oncall_labels_of(a);
    return tocsin_inhibit_check(oc->cfg->inhibit, &t, firing, n) >= 0;
}

/* 1 when a must not be notified now (and notes why in its history);
 * *until is when to look again. */
static int
blocked(struct tocsin_oncall *oc, struct alert *a, const struct tocsin_route *r,
        int64_t now, int64_t *until)
{
    *until = now - now % 60 + 60; /* intervals have minute edges */
    struct tocsin_labelset ls = oncall_labels_of(a);
    const struct tocsin_silence *s =
        tocsin_silences_match(oc->silences, &ls, now);
    if (s) {
        if (!(a->logged & LOG_SILENCED))
            hist_add(oc, a, now, "silenced by %s (%s, by %s)", s->id,
                     s->comment, s->created_by);
        a->logged |= LOG_SILENCED;
        *until = s->ends;
        return 1;
    }
    if (inhibited(oc, a)) {
        if (!(a->logged & LOG_INHIBITED))
            hist_add(oc, a, now, "inhibited");
        a->logged |= LOG_INHIBITED;
        return 1;
    }
    const char *why = NULL;
    if (r &&
        tocsin_route_held(r, tocsin_labels_get(&ls, "severity"), now, &why)) {
        if (!(a->logged & LOG_HELD))
            hist_add(oc, a, now, "held back by quiet hours (%s)", why);
        a->logged |= LOG_HELD;
        return 1;
    }
    return 0;
}

/* ---- events ---- */

static const struct tocsin_escalation *
policy_of(const struct tocsin_oncall *oc, const struct alert *a)
{
    return a->policy ? tocsin_oncall_config_policy(oc->cfg, a->policy) : NULL;
}

static void
announce(struct tocsin_oncall *oc, struct tocsin_notes *out,
         enum tocsin_note_kind kind, struct alert *a, const char *text,
         int64_t now)
{
    size_t n = 0;
    const char *const *t = tocsin_escalation_announce(policy_of(oc, a), &n);
    struct batch one = {&a, 1, 0, 0};
    for (size_t i = 0; i < n; i++)
        send_target(oc, out, kind, t[i], &one, NULL, text, -1, -1, now,
                    kind == TOCSIN_NOTE_ACK ? "announced" : "resolution");
    /* whoever was notified is told too (copy: send_target may grow it) */
    size_t nn = a->nnotified;
    for (size_t i = 0; i < nn && i < a->nnotified; i++) {
        char *r = strdup(a->notified[i]);
        if (!r) {
            oc->oom = 1;
            return;
        }
        add_note(oc, out, kind, r, NULL, &one, NULL, text, -1, -1, now);
        free(r);
    }
}

static void
end_alert(struct tocsin_oncall *oc, struct alert *a, const char *who,
          int64_t now, struct tocsin_notes *out)
{
    a->firing = 0;
    a->ends = now;
    a->held = 0;
    tocsin_esc_resolve(&a->esc);
    retire_from_groups(oc, a);
    for (size_t i = 0; i < oc->nalerts; i++) /* it may have inhibited */
        oc->alerts[i]->hold_next = INT64_MIN;
    for (size_t i = 0; i < oc->ngroups; i++)
        if (oc->groups[i]->dirty && oc->groups[i]->next_flush > now) {
            oc->groups[i]->next_flush = now;
            touch_group(oc, oc->groups[i]);
        }
    char text[640];
    if (who) {
        hist_add(oc, a, now, "resolved by %s", display_name(oc, who));
        snprintf(text, sizeof text, "%s: resolved by %s", a->summary,
                 display_name(oc, who));
    } else {
        hist_add(oc, a, now, "resolved");
        snprintf(text, sizeof text, "%s: resolved", a->summary);
    }
    announce(oc, out, TOCSIN_NOTE_RESOLVED, a, text, now);
    mark_dirty(oc, a->fp);
}

static int
same_labels(const struct alert *a, const struct tocsin_labelset *ls)
{
    struct tocsin_labelset mine = oncall_labels_of(a);
    if (ls->n != a->nl)
        return 0;
    for (size_t i = 0; i < ls->n; i++)
        if (strcmp(tocsin_labels_get(&mine, ls->v[i].name),
                   ls->v[i].value ? ls->v[i].value : "") != 0)
            return 0;
    return 1;
}

/* A firing alert's labels changed (a warning became critical): take the
 * new labels and join the routes they lead to; a new route notifies (a
 * critical one even in quiet hours). */
static void
relabel(struct tocsin_oncall *oc, struct alert *a,
        const struct tocsin_labelset *ls, int64_t now)
{
    struct alert tmp;
    memset(&tmp, 0, sizeof tmp);
    if (set_labels(&tmp, ls)) {
        oc->oom = 1;
        labels_clear(&tmp);
    } else {
        labels_clear(a);
        a->ln = tmp.ln;
        a->lv = tmp.lv;
        a->lab = tmp.lab;
        a->nl = tmp.nl;
    }
    a->logged = 0;
    hist_add(oc, a, now, "now %s", tocsin_labels_get(ls, "severity"));
    const struct tocsin_route *r[MAX_ROUTES];
    size_t n = tocsin_route_match(oc->cfg->route, ls, r, MAX_ROUTES);
    if (n > MAX_ROUTES)
        n = MAX_ROUTES;
    leave_groups_but(oc, a, r, n);
    for (size_t i = 0; i < n; i++)
        join_group(oc, r[i], a, now, 0);
}

tocsin_err
tocsin_oncall_on_alert(struct tocsin_oncall *oc, const char *fingerprint,
                       const struct tocsin_labelset *labels, int firing,
                       const char *summary, int64_t now,
                       struct tocsin_notes *out)
{
    if (!oc || !fingerprint || !*fingerprint || !labels)
        return TOCSIN_EINVAL;
    struct alert *a = oncall_find_alert(oc, fingerprint);
    if (!firing) {
        if (a && a->firing)
            end_alert(oc, a, NULL, now, out);
        return oc->oom ? TOCSIN_ENOMEM : TOCSIN_OK;
    }
    if (a && a->firing) { /* an update: keep its state */
        if (summary) {
            char *s = xstrdup(oc, summary);
            if (s) {
                free(a->summary);
                a->summary = s;
            }
        }
        if (!same_labels(a, labels))
            relabel(oc, a, labels, now);
        return oc->oom ? TOCSIN_ENOMEM : TOCSIN_OK;
    }
    if (a) { /* fired again after resolving: a new episode */
        leave_groups(oc, a);
        for (size_t i = 0; i < oc->nalerts; i++)
            if (oc->alerts[i] == a) {
                oc->alerts[i] = oc->alerts[--oc->nalerts];
                break;
            }
        alert_free(a);
    }
    struct alert **v = realloc(oc->alerts, (oc->nalerts + 1) * sizeof *v);
    if (!v)
        return TOCSIN_ENOMEM;
    oc->alerts = v;
    a = calloc(1, sizeof *a);
    if (!a)
        return TOCSIN_ENOMEM;
    a->fp = strdup(fingerprint);
    a->summary = strdup(summary ? summary : tocsin_labels_get(labels, "topic"));
    if (!a->fp || !a->summary || set_labels(a, labels)) {
        alert_free(a);
        return TOCSIN_ENOMEM;
    }
    a->firing = 1;
    a->starts = now;
    a->esc.step = -1;
    v[oc->nalerts++] = a;
    hist_add(oc, a, now, "firing: %s", a->summary);
    const struct tocsin_route *r[MAX_ROUTES];
    size_t n = tocsin_route_match(oc->cfg->route, labels, r, MAX_ROUTES);
    if (n > MAX_ROUTES)
        n = MAX_ROUTES;
    if (n == 0)
        hist_add(oc, a, now, "no route");
    for (size_t i = 0; i < n; i++)
        join_group(oc, r[i], a, now, 0);
    return oc->oom ? TOCSIN_ENOMEM : TOCSIN_OK;
}

tocsin_err
tocsin_oncall_on_event(struct tocsin_oncall *oc,
                       const struct tocsin_alert_event *ev, int64_t now,
                       struct tocsin_notes *out)
{
    if (!oc || !ev)
        return TOCSIN_EINVAL;
    char summary[512];
    tocsin_event_summary(ev, summary, sizeof summary);
    struct tocsin_label l[] = {
        {"alertname", tocsin_alertname(ev->kind)},
        {"topic", ev->topic},
        {"kind", ev->kind == TOCSIN_ALERT_VOLUME ? "volume" : "negativity"},
        {"severity", ev->severity}};
    struct tocsin_labelset ls = {l, 4};
    tocsin_err rc = tocsin_oncall_on_alert(oc, ev->fingerprint, &ls,
                                           ev->status == TOCSIN_ALERT_FIRING,
                                           summary, now, out);
    struct alert *a = oncall_find_alert(oc, ev->fingerprint);
    if (rc != TOCSIN_OK || !a)
        return rc;
    /* Keep the evidence for the notifications' bodies. */
    char *body = NULL;
    if (tocsin_event_body(&body, ev, "", "") != TOCSIN_OK)
        return TOCSIN_ENOMEM;
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    char *txt = json_dumps(json_array_get(json_object_get(o, "alerts"), 0),
                           JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (!txt)
        return TOCSIN_ENOMEM;
    free(a->alert_json);
    a->alert_json = txt;
    mark_dirty(oc, a->fp);
    return TOCSIN_OK;
}

/* ---- time ---- */

/* Severity rank: most severe first. */
static int
severity_rank(const struct alert *a)
{
    static const char *const order[] = {"critical", "error", "warning",
                                        "info"};
    struct tocsin_labelset ls = oncall_labels_of(a);
    const char *s = tocsin_labels_get(&ls, "severity");
    for (int i = 0; i < 4; i++)
        if (strcmp(s, order[i]) == 0)
            return i;
    return 4;
}

static int
by_severity(const void *x, const void *y)
{
    const struct alert *a = *(struct alert *const *)x;
    const struct alert *b = *(struct alert *const *)y;
    if (a->firing != b->firing)
        return a->firing ? -1 : 1;
    int d = severity_rank(a) - severity_rank(b);
    if (d)
        return d;
    if (a->starts != b->starts)
        return a->starts < b->starts ? -1 : 1;
    return strcmp(a->fp, b->fp);
}

/* One notification to the route's receiver listing the nv alerts of v (a
 * group flush or repeat): "3 alerts: s1 (critical), s2 (warning), ...". */
static void
notify_group(struct tocsin_oncall *oc, struct group *g,
             enum tocsin_note_kind kind, struct alert **v, size_t nv,
             int64_t now, struct tocsin_notes *out, const char *what)
{
    if (nv == 0)
        return;
    qsort(v, nv, sizeof *v, by_severity);
    char text[640];
    if (nv == 1) {
        snprintf(text, sizeof text, "%s", v[0]->summary);
    } else {
        size_t o = (size_t)snprintf(text, sizeof text, "%zu alerts: ", nv);
        for (size_t i = 0; i < nv && o < sizeof text; i++) {
            struct tocsin_labelset ls = oncall_labels_of(v[i]);
            o += (size_t)snprintf(text + o, sizeof text - o, "%s%s (%s%s)",
                                  i ? ", " : "", v[i]->summary,
                                  tocsin_labels_get(&ls, "severity"),
                                  v[i]->firing ? "" : ", resolved");
        }
    }
    struct batch b = {v, nv, 1, ++g->seq};
    send_target(oc, out, kind, tocsin_route_receiver(g->route), &b, g->key,
                text, -1, -1, now, what);
}

static void
flush(struct tocsin_oncall *oc, struct group *g, int64_t now,
      struct tocsin_notes *out)
{
    const char *policy = tocsin_route_escalation(g->route);
    const char *rcv = tocsin_route_receiver(g->route);
    int esc = policy && tocsin_oncall_config_policy(oc->cfg, policy);
    int pending = 0;
    size_t nv = 0, fresh = 0;
    struct alert **v = calloc(g->nm ? g->nm : 1, sizeof *v);
    if (!v) {
        oc->oom = 1;
        return;
    }
    int64_t recheck = INT64_MAX, until;
    for (size_t i = 0; i < g->nm; i++) {
        struct member *m = &g->m[i];
        struct alert *a = m->a;
        if (m->gone && rcv && !esc) /* resolved since: listed as such */
            v[nv++] = a;
        if (!a->firing || a->acked || (m->sent && esc))
            continue;
        if (blocked(oc, a, g->route, now, &until)) {
            if (!m->sent) {
                pending = 1;
                if (until < recheck)
                    recheck = until;
            }
            continue;
        }
        if (esc) { /* escalation steps are per alert */
            m->sent = 1;
            if (a->esc.status == TOCSIN_ESC_IDLE) {
                char *p = xstrdup(oc, policy);
                free(a->policy);
                a->policy = p;
                tocsin_esc_start(&a->esc, now);
                hist_add(oc, a, now, "escalation %s started", policy);
            }
        } else if (!rcv) {
            if (!m->sent)
                hist_add(oc, a, now, "route %s has no receiver",
                         tocsin_route_id(g->route));
            m->sent = 1;
        } else {
            /* The notification lists every alert of the group that is
             * firing, unacknowledged and not held, new or not. */
            fresh += !m->sent;
            m->sent = 1;
            v[nv++] = a;
        }
    }
    if (fresh)
        notify_group(oc, g, TOCSIN_NOTE_FIRING, v, nv, now, out, "notified");
    free(v);
    if (fresh)
        drop_gone(g);
    g->flushed = 1;
    g->last_flush = now;
    g->dirty = pending;
    g->next_flush = pending ? recheck : now;
    touch_group(oc, g);
}

static void
repeat(struct tocsin_oncall *oc, struct group *g, int64_t now,
       struct tocsin_notes *out)
{
    const char *rcv = tocsin_route_receiver(g->route);
    g->last_flush = now;
    touch_group(oc, g);
    if (tocsin_route_escalation(g->route) || !rcv)
        return;
    struct alert **v = calloc(g->nm ? g->nm : 1, sizeof *v);
    if (!v) {
        oc->oom = 1;
        return;
    }
    size_t nv = 0;
    for (size_t i = 0; i < g->nm; i++) {
        struct alert *a = g->m[i].a;
        int64_t until;
        if (!g->m[i].sent || !a->firing || a->acked ||
            blocked(oc, a, g->route, now, &until))
            continue;
        v[nv++] = a;
    }
    notify_group(oc, g, TOCSIN_NOTE_REPEAT, v, nv, now, out, "repeated");
    free(v);
    drop_gone(g); /* a repeat is about what still fires */
}

/* A running (or held) escalation whose policy is no longer configured (a
 * reload removed it) stops: written in the history, status exhausted; the
 * alert stays firing and can be acknowledged. */
static void
stop_if_policy_gone(struct tocsin_oncall *oc, struct alert *a, int64_t now)
{
    if (!a->firing || a->esc.status != TOCSIN_ESC_RUNNING || policy_of(oc, a))
        return;
    a->esc.status = TOCSIN_ESC_EXHAUSTED;
    a->held = 0;
    hist_add(oc, a, now,
             "escalation %s stopped: the policy is no longer configured",
             a->policy ? a->policy : "?");
}

/* Whether a is muted now (a silence or inhibition), and by what: the
 * silence, or NULL for inhibition.  *until: when to look again. */
static int
muted(const struct tocsin_oncall *oc, const struct alert *a, int64_t now,
      const struct tocsin_silence **by, int64_t *until)
{
    struct tocsin_labelset ls = oncall_labels_of(a);
    *by = tocsin_silences_match(oc->silences, &ls, now);
    if (*by) {
        *until = (*by)->ends;
        return 1;
    }
    *until = now - now % 60 + 60; /* inhibition: look again each minute */
    return inhibited(oc, a);
}

/*
 * A step comes due while the alert is muted (silenced or inhibited): the
 * escalation is held, no step runs.  When the mute ends (still firing,
 * not acknowledged), it resumes at the step it had reached, whose wait
 * starts again then.  Both are written to the history.
 */
static int
hold_escalation(struct tocsin_oncall *oc, struct alert *a,
                const struct tocsin_escalation *p, int64_t now)
{
    const struct tocsin_silence *s;
    int64_t until;
    if (muted(oc, a, now, &s, &until)) {
        if (!a->held) {
            a->held = 1;
            if (s)
                hist_add(oc, a, now, "escalation held by silence %s (%s)",
                         s->id, s->comment);
            else
                hist_add(oc, a, now, "escalation held by inhibition");
        }
        a->hold_next = until;
        return 1;
    }
    if (a->held) {
        int wait = 0;
        if (a->esc.step >= 0)
            tocsin_escalation_step(p, (size_t)a->esc.step, NULL, &wait);
        a->held = 0;
        a->hold_next = 0;
        a->esc.next_at = now + wait;
        if (a->esc.step >= 0)
            hist_add(oc, a, now,
                     "escalation resumed at step %d/%zu, next step in %d s",
                     a->esc.step + 1, tocsin_escalation_nsteps(p), wait);
        else
            hist_add(oc, a, now, "escalation resumed");
        return wait > 0;
    }
    return 0;
}

static void
escalate(struct tocsin_oncall *oc, struct alert *a, int64_t now,
         struct tocsin_notes *out)
{
    if (a->esc.status != TOCSIN_ESC_RUNNING || now < a->esc.next_at ||
        (a->held && now < a->hold_next))
        return;
    const struct tocsin_escalation *p = policy_of(oc, a);
    if (!p) {
        stop_if_policy_gone(oc, a, now);
        return;
    }
    if (hold_escalation(oc, a, p, now))
        return;
    int step, round;
    while (tocsin_esc_advance(p, &a->esc, now, &step, &round)) {
        size_t nt;
        const char *const *t =
            tocsin_escalation_step(p, (size_t)step, &nt, NULL);
        char what[96], text[640];
        snprintf(what, sizeof what, "escalation step %d/%zu (round %d)",
                 step + 1, tocsin_escalation_nsteps(p), round + 1);
        snprintf(text, sizeof text, "%s (%s)", a->summary, what);
        struct batch one = {&a, 1, 0, 0};
        for (size_t i = 0; i < nt; i++)
            send_target(oc, out, TOCSIN_NOTE_ESCALATION, t[i], &one, NULL,
                        text, step, round, now, what);
    }
    if (a->esc.status == TOCSIN_ESC_EXHAUSTED)
        hist_add(oc, a, now, "escalation %s exhausted without an ack",
                 a->policy);
    mark_dirty(oc, a->fp);
}

tocsin_err
tocsin_oncall_tick(struct tocsin_oncall *oc, int64_t now,
                   struct tocsin_notes *out)
{
    if (!oc)
        return TOCSIN_EINVAL;
    for (size_t i = 0; i < oc->ngroups; i++) {
        struct group *g = oc->groups[i];
        if (g->dirty && now >= g->next_flush)
            flush(oc, g, now, out);
        else if (g->flushed && !g->dirty &&
                 now >= g->last_flush + tocsin_route_repeat_interval(g->route))
            repeat(oc, g, now, out);
    }
    leave_groups_but(oc, NULL, NULL, 0); /* groups left empty go */
    for (size_t i = 0; i < oc->nalerts; i++)
        if (oc->alerts[i]->firing)
            escalate(oc, oc->alerts[i], now, out);
    return oc->oom ? TOCSIN_ENOMEM : TOCSIN_OK;
}

int64_t
tocsin_oncall_next_due(const struct tocsin_oncall *oc)
{
    int64_t t = INT64_MAX;
    for (size_t i = 0; oc && i < oc->ngroups; i++) {
        const struct group *g = oc->groups[i];
        int64_t d = g->dirty ? g->next_flush
                    : g->flushed
                        ? g->last_flush + tocsin_route_repeat_interval(g->route)
                        : INT64_MAX;
        if (d < t)
            t = d;
    }
    for (size_t i = 0; oc && i < oc->nalerts; i++) {
        const struct alert *a = oc->alerts[i];
        if (!a->firing || a->esc.status != TOCSIN_ESC_RUNNING)
            continue;
        int64_t d = a->held && a->hold_next > a->esc.next_at ? a->hold_next
                                                              : a->esc.next_at;
        if (d < t)
            t = d;
    }
    return t;
}

/* ---- acknowledge, resolve ---- */

tocsin_err
tocsin_oncall_ack(struct tocsin_oncall *oc, const char *fingerprint,
                  const char *who, int64_t now, struct tocsin_notes *out)
{
    if (!oc || !fingerprint || !who || !*who)
        return TOCSIN_EINVAL;
    struct alert *a = oncall_find_alert(oc, fingerprint);
    if (!a || !a->firing)
        return TOCSIN_ENOENT;
    if (a->acked)
        return TOCSIN_EINVAL;
    char *by = xstrdup(oc, who);
    if (!by)
        return TOCSIN_ENOMEM;
    a->acked = 1;
    a->acked_at = now;
    a->acked_by = by;
    a->held = 0; /* an ack during a hold ends the escalation */
    tocsin_esc_ack(&a->esc, who, now);
    char hhmm[32], text[640];
    oncall_local_hhmm(oc, now, hhmm, sizeof hhmm, 0);
    hist_add(oc, a, now, "acknowledged by %s at %s", display_name(oc, who),
             hhmm);
    snprintf(text, sizeof text, "%s: acknowledged by %s at %s", a->summary,
             display_name(oc, who), hhmm);
    announce(oc, out, TOCSIN_NOTE_ACK, a, text, now);
    mark_dirty(oc, a->fp);
    return oc->oom ? TOCSIN_ENOMEM : TOCSIN_OK;
}

tocsin_err
tocsin_oncall_resolve(struct tocsin_oncall *oc, const char *fingerprint,
                      const char *who, int64_t now, struct tocsin_notes *out)
{
    if (!oc || !fingerprint)
        return TOCSIN_EINVAL;
    struct alert *a = oncall_find_alert(oc, fingerprint);
    if (!a || !a->firing)
        return TOCSIN_ENOENT;
    end_alert(oc, a, who && *who ? who : "someone", now, out);
    return oc->oom ? TOCSIN_ENOMEM : TOCSIN_OK;
}

tocsin_err
tocsin_oncall_ack_link(const struct tocsin_oncall *oc, const char *fingerprint,
                       const char *action, const char *who, int64_t now,
                       char *out, size_t outlen)
{
    if (!oc || !fingerprint || !action)
        return TOCSIN_EINVAL;
    if (!oc->cfg->ack_secret)
        return TOCSIN_ENOENT;
    return tocsin_ack_sign(oc->cfg->ack_secret, fingerprint, action,
                           now + oc->cfg->ack_ttl_s, who ? who : "", out,
                           outlen);
}

tocsin_err
tocsin_oncall_use_link(struct tocsin_oncall *oc, const char *token, int64_t now,
                       struct tocsin_notes *out,
                       struct tocsin_ack_claims *claims,
                       enum tocsin_ack_verdict *verdict)
{
    enum tocsin_ack_verdict dummy;
    if (!verdict)
        verdict = &dummy;
    *verdict = TOCSIN_ACK_MALFORMED;
    if (!oc || !oc->cfg->ack_secret)
        return TOCSIN_EINVAL;
    struct tocsin_ack_claims c;
    tocsin_err rc = tocsin_ack_ledger_use(oc->ledger, oc->cfg->ack_secret,
                                          token, now, &c, verdict);
    if (rc != TOCSIN_OK)
        return rc;
    if (claims)
        *claims = c;
    const char *who = c.nonce[0] ? c.nonce : "link";
    if (strcmp(c.action, "ack") == 0)
        return tocsin_oncall_ack(oc, c.alert, who, now, out);
    if (strcmp(c.action, "resolve") == 0)
        return tocsin_oncall_resolve(oc, c.alert, who, now, out);
    *verdict = TOCSIN_ACK_MALFORMED;
    return TOCSIN_EINVAL;
}

struct tocsin_ack_ledger *
tocsin_oncall_ledger(struct tocsin_oncall *oc)
{
    return oc ? oc->ledger : NULL;
}

struct tocsin_silences *
tocsin_oncall_silences(struct tocsin_oncall *oc)
{
    return oc ? oc->silences : NULL;
}

void
tocsin_oncall_touch_silences(struct tocsin_oncall *oc)
{
    if (!oc)
        return;
    oc->silences_dirty = 1;
    for (size_t i = 0; i < oc->ngroups; i++) /* look again at once */
        if (oc->groups[i]->dirty) {
            oc->groups[i]->next_flush = INT64_MIN;
            touch_group(oc, oc->groups[i]);
        }
    for (size_t i = 0; i < oc->nalerts; i++)
        oc->alerts[i]->hold_next = INT64_MIN;
}

/* ---- import (export: oncall_view.c) ---- */

static enum tocsin_esc_status
esc_status_from(const char *s)
{
    for (int i = 0; i <= TOCSIN_ESC_RESOLVED; i++)
        if (s &&
            strcmp(s, tocsin_esc_status_name((enum tocsin_esc_status)i)) == 0)
            return (enum tocsin_esc_status)i;
    return TOCSIN_ESC_IDLE;
}

tocsin_err
tocsin_oncall_import_alert(struct tocsin_oncall *oc, const char *json,
                           int64_t now)
{
    if (!oc || !json)
        return TOCSIN_EINVAL;
    json_t *o = json_loads(json, 0, NULL);
    json_t *l = json_object_get(o, "labels");
    json_t *e = json_object_get(o, "escalation");
    const char *fp = json_string_value(json_object_get(o, "fingerprint"));
    const char *st = json_string_value(json_object_get(o, "status"));
    if (!json_is_object(l) || !json_is_object(e) || !fp || !*fp || !st) {
        json_decref(o);
        return TOCSIN_EPROTO;
    }
    size_t nl = json_object_size(l), i = 0;
    struct tocsin_label *lab = calloc(nl ? nl : 1, sizeof *lab);
    struct alert *a = calloc(1, sizeof *a);
    struct alert **v = realloc(oc->alerts, (oc->nalerts + 1) * sizeof *v);
    if (v)
        oc->alerts = v;
    tocsin_err rc = TOCSIN_ENOMEM;
    if (!lab || !a || !v)
        goto out;
    const char *k;
    json_t *val;
    json_object_foreach(l, k, val)
    {
        lab[i].name = k;
        lab[i].value = json_is_string(val) ? json_string_value(val) : "";
        i++;
    }
    struct tocsin_labelset ls = {lab, nl};
    const char *sum = json_string_value(json_object_get(o, "summary"));
    const char *pol = json_string_value(json_object_get(o, "policy"));
    const char *ab = json_string_value(json_object_get(o, "acked_by"));
    const char *aj = json_string_value(json_object_get(o, "alert"));
    a->fp = strdup(fp);
    a->alert_json = aj ? strdup(aj) : NULL;
    a->summary = strdup(sum ? sum : "");
    a->policy = pol ? strdup(pol) : NULL;
    a->acked_by = ab ? strdup(ab) : NULL;
    if (!a->fp || !a->summary || (pol && !a->policy) || (ab && !a->acked_by) ||
        set_labels(a, &ls))
        goto out;
    a->firing = strcmp(st, "firing") == 0;
    a->starts = json_integer_value(json_object_get(o, "starts"));
    a->ends = json_integer_value(json_object_get(o, "ends"));
    a->acked = ab != NULL;
    a->acked_at = json_integer_value(json_object_get(o, "acked_at"));
    a->esc.status =
        esc_status_from(json_string_value(json_object_get(e, "status")));
    a->esc.step = (int)json_integer_value(json_object_get(e, "step"));
    a->esc.round = (int)json_integer_value(json_object_get(e, "round"));
    a->esc.next_at = json_integer_value(json_object_get(e, "next_at"));
    a->esc.acked_at = json_integer_value(json_object_get(e, "acked_at"));
    a->held = json_is_true(json_object_get(e, "held"));
    snprintf(a->esc.acked_by, sizeof a->esc.acked_by, "%s",
             json_string_value(json_object_get(e, "acked_by"))
                 ? json_string_value(json_object_get(e, "acked_by"))
                 : "");
    json_t *h = json_object_get(o, "history"), *x;
    size_t idx;
    json_array_foreach(h, idx, x)
    {
        const char *t = json_string_value(json_object_get(x, "text"));
        struct hist *hv = realloc(a->hist, (a->nhist + 1) * sizeof *hv);
        if (!hv)
            goto out;
        a->hist = hv;
        hv[a->nhist].at = json_integer_value(json_object_get(x, "at"));
        if (!(hv[a->nhist].text = strdup(t ? t : "")))
            goto out;
        a->nhist++;
    }
    json_array_foreach(json_object_get(o, "notified"), idx, x)
    {
        if (json_is_string(x))
            remember_notified(oc, a, json_string_value(x));
    }
    /* replace a record of the same alert */
    struct alert *old = oncall_find_alert(oc, fp);
    if (old) {
        leave_groups(oc, old);
        for (size_t j = 0; j < oc->nalerts; j++)
            if (oc->alerts[j] == old) {
                oc->alerts[j] = oc->alerts[--oc->nalerts];
                break;
            }
        alert_free(old);
    }
    oc->alerts[oc->nalerts++] = a;
    if (a->firing) {
        /* Told somebody already: rejoin as notified (no first
         * notification again); else it was waiting (group_wait, a
         * silence, quiet hours) and waits again. */
        int sent = told(a);
        const struct tocsin_route *r[MAX_ROUTES];
        size_t n = tocsin_route_match(oc->cfg->route, &ls, r, MAX_ROUTES);
        for (size_t j = 0; j < n && j < MAX_ROUTES; j++)
            join_group(oc, r[j], a, now, sent);
        stop_if_policy_gone(oc, a, now);
    }
    a = NULL;
    rc = oc->oom ? TOCSIN_ENOMEM : TOCSIN_OK;
out:
    alert_free(a);
    free(lab);
    json_decref(o);
    return rc;
}

/* The route of a group record: the one with id rid that puts a (of the
 * record's members) in group key under the current configuration. */
static const struct tocsin_route *
route_of_member(struct tocsin_oncall *oc, struct alert *a, const char *rid,
                const char *key)
{
    struct tocsin_labelset ls = oncall_labels_of(a);
    const struct tocsin_route *r[MAX_ROUTES];
    size_t n = tocsin_route_match(oc->cfg->route, &ls, r, MAX_ROUTES);
    for (size_t j = 0; j < n && j < MAX_ROUTES; j++) {
        if (strcmp(tocsin_route_id(r[j]), rid) != 0)
            continue;
        char *k = group_key(oc, r[j], a);
        int same = k && strcmp(k, key) == 0;
        free(k);
        if (same)
            return r[j];
    }
    return NULL;
}

/* A new, empty group (its timers are the caller's to set). */
static struct group *
new_group(struct tocsin_oncall *oc, const struct tocsin_route *r,
          const char *key)
{
    struct group **v = realloc(oc->groups, (oc->ngroups + 1) * sizeof *v);
    struct group *g = calloc(1, sizeof *g);
    if (v)
        oc->groups = v;
    if (!v || !g || !(g->key = strdup(key))) {
        free(g);
        oc->oom = 1;
        return NULL;
    }
    g->route = r;
    v[oc->ngroups++] = g;
    return g;
}

static int
same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/*
 * The record was made by tocsin_oncall_group_json after (or in the same
 * transaction as) its alerts' records, which tocsin_oncall_import_alert
 * has restored first: their firing alerts have joined the groups of the
 * current routes (as sent when somebody was told).  The record puts back
 * what the alerts do not say: the timers, the count, which members were
 * sent, and the members resolved since the last notification.
 */
tocsin_err
tocsin_oncall_import_group(struct tocsin_oncall *oc, const char *json,
                           int64_t now)
{
    if (!oc || !json)
        return TOCSIN_EINVAL;
    json_t *o = json_loads(json, 0, NULL), *ms = json_object_get(o, "members");
    const char *key = json_string_value(json_object_get(o, "key"));
    const char *rid = json_string_value(json_object_get(o, "route"));
    json_t *rcv = json_object_get(o, "receiver");
    json_int_t ver = json_integer_value(json_object_get(o, "version"));
    tocsin_err rc = TOCSIN_EPROTO;
    if (!key || !rid || !json_is_array(ms) || ver < 1 ||
        ver > TOCSIN_ONCALL_GROUP_VERSION ||
        !(json_is_string(rcv) || json_is_null(rcv)))
        goto out;
    struct group *g = find_group(oc->groups, oc->ngroups, key);
    const struct tocsin_route *r = g ? g->route : NULL;
    size_t i;
    json_t *x;
    json_array_foreach(ms, i, x)
    {
        const char *fp = json_string_value(json_object_get(x, "fingerprint"));
        struct alert *a = fp ? oncall_find_alert(oc, fp) : NULL;
        if (!r && a && !a->firing &&
            json_is_true(json_object_get(x, "resolved")))
            r = route_of_member(oc, a, rid, key);
    }
    rc = TOCSIN_ENOENT;
    /* Its route is gone (or now sends elsewhere): the alerts stay in the
     * groups the current routes gave them. */
    if (!r || strcmp(tocsin_route_id(r), rid) != 0 ||
        !same_str(tocsin_route_receiver(r), json_string_value(rcv)) ||
        !same_str(tocsin_route_escalation(r),
                  json_string_value(json_object_get(o, "escalation"))))
        goto drop;
    if (!g && !(g = new_group(oc, r, key))) {
        rc = TOCSIN_ENOMEM;
        goto out;
    }
    json_array_foreach(ms, i, x)
    {
        const char *fp = json_string_value(json_object_get(x, "fingerprint"));
        struct alert *a = fp ? oncall_find_alert(oc, fp) : NULL;
        if (!a)
            continue; /* forgotten since */
        int sent = json_is_true(json_object_get(x, "sent"));
        if (!a->firing) { /* resolved since the last notification */
            if (!json_is_true(json_object_get(x, "resolved")) ||
                !route_of_member(oc, a, rid, key))
                continue;
            size_t m;
            for (m = 0; m < g->nm && g->m[m].a != a; m++)
                ;
            if (m < g->nm)
                continue;
            struct member *v = realloc(g->m, (g->nm + 1) * sizeof *v);
            if (!v) {
                rc = TOCSIN_ENOMEM;
                goto out;
            }
            g->m = v;
            v[g->nm++] = (struct member){a, 1, 1};
            continue;
        }
        for (size_t m = 0; m < g->nm; m++) /* joined by its alert */
            if (g->m[m].a == a)
                g->m[m].sent = sent;
    }
    g->flushed = json_is_true(json_object_get(o, "flushed"));
    g->dirty = json_is_true(json_object_get(o, "pending"));
    g->last_flush = json_integer_value(json_object_get(o, "last_flush"));
    g->next_flush = json_integer_value(json_object_get(o, "next_flush"));
    g->seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
    for (size_t m = 0; m < g->nm && !g->dirty; m++)
        if (!g->m[m].sent && g->m[m].a->firing) { /* not in the record */
            g->dirty = 1;
            g->next_flush = g->flushed
                                ? g->last_flush + tocsin_route_group_interval(r)
                                : now + tocsin_route_group_wait(r);
        }
    if (g->nm == 0) {
        leave_groups_but(oc, NULL, NULL, 0); /* drops it, deletes the record */
        goto out;
    }
    rc = oc->oom ? TOCSIN_ENOMEM : TOCSIN_OK;
    goto out;
drop:
    if (g) /* rebuilt from its alerts: saved again so */
        touch_group(oc, g);
    else
        mark_in(oc, &oc->gdirty, &oc->ngdirty, key); /* deleted */
out:
    json_decref(o);
    return rc;
}

size_t
tocsin_oncall_nalerts(const struct tocsin_oncall *oc)
{
    return oc ? oc->nalerts : 0;
}

const char *
tocsin_oncall_alert_at(const struct tocsin_oncall *oc, size_t i)
{
    return oc && i < oc->nalerts ? oc->alerts[i]->fp : NULL;
}

const struct tocsin_esc_state *
tocsin_oncall_escalation(const struct tocsin_oncall *oc,
                         const char *fingerprint)
{
    const struct alert *a =
        oc && fingerprint ? oncall_find_alert(oc, fingerprint) : NULL;
    return a ? &a->esc : NULL;
}

size_t
tocsin_oncall_ndirty(const struct tocsin_oncall *oc)
{
    return oc ? oc->ndirty : 0;
}

const char *
tocsin_oncall_dirty_at(const struct tocsin_oncall *oc, size_t i)
{
    return oc && i < oc->ndirty ? oc->dirty[i] : NULL;
}

int
tocsin_oncall_silences_dirty(const struct tocsin_oncall *oc)
{
    return oc ? oc->silences_dirty : 0;
}

void
tocsin_oncall_clear_dirty(struct tocsin_oncall *oc)
{
    if (!oc)
        return;
    for (size_t i = 0; i < oc->ndirty; i++)
        free(oc->dirty[i]);
    oc->ndirty = 0;
    for (size_t i = 0; i < oc->ngdirty; i++)
        free(oc->gdirty[i]);
    oc->ngdirty = 0;
    oc->silences_dirty = 0;
}

int
tocsin_oncall_unsaved(const struct tocsin_oncall *oc)
{
    return oc && (oc->ndirty > 0 || oc->ngdirty > 0 || oc->silences_dirty);
}

size_t
tocsin_oncall_ngroups_dirty(const struct tocsin_oncall *oc)
{
    return oc ? oc->ngdirty : 0;
}

const char *
tocsin_oncall_group_dirty_at(const struct tocsin_oncall *oc, size_t i)
{
    return oc && i < oc->ngdirty ? oc->gdirty[i] : NULL;
}

size_t
tocsin_oncall_ngroups(const struct tocsin_oncall *oc)
{
    return oc ? oc->ngroups : 0;
}

const char *
tocsin_oncall_group_at(const struct tocsin_oncall *oc, size_t i)
{
    return oc && i < oc->ngroups ? oc->groups[i]->key : NULL;
}

void
tocsin_oncall_gc(struct tocsin_oncall *oc, int64_t now, int64_t keep_s)
{
    if (!oc)
        return;
    size_t j = 0;
    for (size_t i = 0; i < oc->nalerts; i++) {
        struct alert *a = oc->alerts[i];
        if (!a->firing && a->ends + keep_s < now) {
            mark_dirty(oc, a->fp);
            leave_groups(oc, a);
            alert_free(a);
        } else {
            oc->alerts[j++] = a;
        }
    }
    oc->nalerts = j;
    size_t before = tocsin_silences_count(oc->silences);
    tocsin_silences_gc(oc->silences, now, oc->cfg->silence_retention_s);
    if (tocsin_silences_count(oc->silences) != before)
        oc->silences_dirty = 1;
}

/* ---- bodies ---- */

void
tocsin_note_delivery(const struct tocsin_note *n, char out[33])
{
    /* FNV-1a, twice with different seeds, of what makes a note unique: a
     * group's notification is one per group, receiver and flush (its
     * number and time) and its first alert (which tells apart the
     * one-alert notes it is split into for PagerDuty and Opsgenie). */
    uint64_t h[2] = {TOCSIN_FNV_OFFSET, 0x84222325cbf29ce4ULL};
    char buf[96];
    if (n->alerts)
        snprintf(buf, sizeof buf, "|g|%d|%llu|%lld|", (int)n->kind,
                 (unsigned long long)n->seq, (long long)n->at);
    else
        snprintf(buf, sizeof buf, "|%d|%d|%d|%lld|", (int)n->kind, n->step,
                 n->round, (long long)n->at);
    const char *parts[] = {n->alerts ? n->group_key : n->fingerprint, buf,
                           n->receiver, n->alerts ? n->fingerprint : NULL};
    for (int k = 0; k < 2; k++)
        for (size_t p = 0; p < 4; p++)
            if (parts[p])
                h[k] = tocsin_fnv1a(h[k], parts[p], strlen(parts[p]));
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h[0],
             (unsigned long long)h[1]);
}

/*
 * In memory: alerts, escalations, silences and used links stay as they
 * are; groups are rebuilt from the new route tree, and a group whose key
 * is unchanged (same route id and group_by values) keeps its timers (a
 * pending flush stays due when it was) and which of its alerts were sent.
 * An alert in a new group is sent there if it was told somebody before.
 * An escalation whose policy is gone stops now.
 */
tocsin_err
tocsin_oncall_reconfigure(struct tocsin_oncall *oc,
                          const struct tocsin_oncall_config *cfg, int64_t now)
{
    if (!oc || !cfg)
        return TOCSIN_EINVAL;
    struct group **old = oc->groups;
    size_t nold = oc->ngroups;
    oc->groups = NULL;
    oc->ngroups = 0;
    oc->cfg = cfg;
    for (size_t i = 0; i < oc->nalerts; i++) {
        struct alert *a = oc->alerts[i];
        if (!a->firing)
            continue;
        stop_if_policy_gone(oc, a, now);
        struct tocsin_labelset ls = oncall_labels_of(a);
        const struct tocsin_route *r[MAX_ROUTES];
        size_t n = tocsin_route_match(cfg->route, &ls, r, MAX_ROUTES);
        for (size_t j = 0; j < n && j < MAX_ROUTES; j++) {
            char *key = group_key(oc, r[j], a);
            struct group *og = find_group(old, nold, key);
            free(key);
            int sent = told(a);
            for (size_t m = 0; og && m < og->nm; m++)
                if (og->m[m].a == a)
                    sent = og->m[m].sent;
            int fresh = og && !find_group(oc->groups, oc->ngroups, og->key);
            /* In a kept group: joined as sent, then marked as waiting. */
            struct group *g = join_group(oc, r[j], a, now, og ? 1 : sent);
            if (!g || !og)
                continue;
            if (fresh) { /* first member: the old group's timers */
                g->flushed = og->flushed;
                g->last_flush = og->last_flush;
                g->seq = og->seq;
                g->dirty = og->dirty;
                g->next_flush = og->next_flush;
            }
            if (!sent) { /* still waiting for its flush */
                for (size_t m = 0; m < g->nm; m++)
                    if (g->m[m].a == a)
                        g->m[m].sent = 0;
                if (!g->dirty) {
                    g->dirty = 1;
                    g->next_flush =
                        g->flushed
                            ? g->last_flush + tocsin_route_group_interval(r[j])
                            : now + tocsin_route_group_wait(r[j]);
                }
            }
        }
    }
    for (size_t i = 0; i < nold; i++) {
        touch_group(oc, old[i]); /* saved again, or deleted */
        group_free(old[i]);
    }
    free(old);
    for (size_t i = 0; i < oc->ngroups; i++)
        touch_group(oc, oc->groups[i]);
    return oc->oom ? TOCSIN_ENOMEM : TOCSIN_OK;
}
