/*
 * route.c: the routing tree.  Owns its nodes (each with its matchers and
 * copies of inherited settings); borrows time intervals.  Pure.
 */
#include "tocsin/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tocsin_route {
    char *id;
    struct tocsin_matchers *matchers;
    char *receiver, *escalation;
    char **group_by;
    size_t ngroup_by;
    int group_wait, group_interval, repeat_interval, cont;
    const struct tocsin_timeint **mute, **active;
    size_t nmute, nactive;
    struct tocsin_route **kids;
    size_t nkids;
};

void
tocsin_route_spec_init(struct tocsin_route_spec *s)
{
    memset(s, 0, sizeof *s);
    s->group_wait_s = s->group_interval_s = s->repeat_interval_s = -1;
}

static void
node_free(struct tocsin_route *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nkids; i++)
        node_free(r->kids[i]);
    free(r->kids);
    free(r->id);
    tocsin_matchers_free(r->matchers);
    free(r->receiver);
    free(r->escalation);
    for (size_t i = 0; i < r->ngroup_by; i++)
        free(r->group_by[i]);
    free(r->group_by);
    free(r->mute);
    free(r->active);
    free(r);
}

void
tocsin_route_free(struct tocsin_route *root)
{
    node_free(root);
}

static char *
dup_or(const char *a, const char *b)
{
    const char *s = a ? a : b;
    return s ? strdup(s) : NULL;
}

static const struct tocsin_timeint **
ti_dup(const struct tocsin_timeint *const *v, size_t n)
{
    const struct tocsin_timeint **d = calloc(n ? n : 1, sizeof *d);
    if (d && n)
        memcpy(d, v, n * sizeof *d);
    return d;
}

static struct tocsin_route *
build(const struct tocsin_route *parent, const struct tocsin_route_spec *sp,
      const char *id, int root, char *err, size_t errlen, tocsin_err *rc)
{
    struct tocsin_route *r = calloc(1, sizeof *r);
    *rc = TOCSIN_ENOMEM;
    if (!r)
        return NULL;
    if (!root) {
        *rc = tocsin_matchers_parse(&r->matchers, sp->matchers, sp->nmatchers,
                                    err, errlen);
        if (*rc != TOCSIN_OK) {
            node_free(r);
            return NULL;
        }
        *rc = TOCSIN_ENOMEM;
    }
    r->id = strdup(id);
    r->receiver = dup_or(sp->receiver, parent ? parent->receiver : NULL);
    r->escalation = dup_or(sp->escalation, parent ? parent->escalation : NULL);
    static const char *const defgb[] = {"alertname", "topic"};
    const char *const *gb = sp->group_by_set ? sp->group_by
                            : parent ? (const char *const *)parent->group_by
                                     : defgb;
    size_t ngb = sp->group_by_set ? sp->ngroup_by
                 : parent         ? parent->ngroup_by
                                  : 2;
    r->group_by = calloc(ngb ? ngb : 1, sizeof *r->group_by);
    int oom = !r->id || !r->group_by || (sp->receiver && !r->receiver) ||
              (sp->escalation && !r->escalation);
    for (size_t i = 0; !oom && i < ngb; i++) {
        r->ngroup_by = i + 1;
        oom = !(r->group_by[i] = strdup(gb[i]));
    }
#define INH(f, sf, d) r->f = sp->sf >= 0 ? sp->sf : parent ? parent->f : (d)
    INH(group_wait, group_wait_s, TOCSIN_ROUTE_GROUP_WAIT);
    INH(group_interval, group_interval_s, TOCSIN_ROUTE_GROUP_INTERVAL);
    INH(repeat_interval, repeat_interval_s, TOCSIN_ROUTE_REPEAT_INTERVAL);
#undef INH
    r->cont = sp->continue_;
    if (sp->mute_set || !parent) {
        r->nmute = sp->mute_set ? sp->nmute : 0;
        r->mute = ti_dup(sp->mute, r->nmute);
    } else {
        r->nmute = parent->nmute;
        r->mute = ti_dup(parent->mute, r->nmute);
    }
    if (sp->active_set || !parent) {
        r->nactive = sp->active_set ? sp->nactive : 0;
        r->active = ti_dup(sp->active, r->nactive);
    } else {
        r->nactive = parent->nactive;
        r->active = ti_dup(parent->active, r->nactive);
    }
    if (oom || !r->mute || !r->active) {
        node_free(r);
        return NULL;
    }
    *rc = TOCSIN_OK;
    return r;
}

tocsin_err
tocsin_route_new(struct tocsin_route **out,
                 const struct tocsin_route_spec *spec, char *err, size_t errlen)
{
    if (!out || !spec)
        return TOCSIN_EINVAL;
    tocsin_err rc;
    struct tocsin_route *r = build(NULL, spec, "root", 1, err, errlen, &rc);
    if (r)
        *out = r;
    return rc;
}

tocsin_err
tocsin_route_add(struct tocsin_route *parent,
                 const struct tocsin_route_spec *spec,
                 struct tocsin_route **child, char *err, size_t errlen)
{
    if (!parent || !spec)
        return TOCSIN_EINVAL;
    char id[512];
    snprintf(id, sizeof id, "%s/%zu", parent->id, parent->nkids);
    struct tocsin_route **k =
        realloc(parent->kids, (parent->nkids + 1) * sizeof *k);
    if (!k)
        return TOCSIN_ENOMEM;
    parent->kids = k;
    tocsin_err rc;
    struct tocsin_route *r = build(parent, spec, id, 0, err, errlen, &rc);
    if (!r)
        return rc;
    k[parent->nkids++] = r;
    if (child)
        *child = r;
    return TOCSIN_OK;
}

static size_t
match(const struct tocsin_route *r, const struct tocsin_labelset *ls,
      const struct tocsin_route **out, size_t max, size_t n)
{
    if (!tocsin_matchers_match(r->matchers, ls))
        return n;
    size_t start = n;
    for (size_t i = 0; i < r->nkids; i++) {
        size_t before = n;
        n = match(r->kids[i], ls, out, max, n);
        if (n > before && !r->kids[i]->cont)
            break;
    }
    if (n == start) {
        if (n < max)
            out[n] = r;
        n++;
    }
    return n;
}

size_t
tocsin_route_match(const struct tocsin_route *root,
                   const struct tocsin_labelset *ls,
                   const struct tocsin_route **out, size_t max)
{
    if (!root)
        return 0;
    return match(root, ls, out, max, 0);
}

const char *
tocsin_route_receiver(const struct tocsin_route *r)
{
    return r->receiver;
}

const char *
tocsin_route_escalation(const struct tocsin_route *r)
{
    return r->escalation;
}

const char *const *
tocsin_route_group_by(const struct tocsin_route *r, size_t *n)
{
    *n = r->ngroup_by;
    return (const char *const *)r->group_by;
}

int
tocsin_route_group_wait(const struct tocsin_route *r)
{
    return r->group_wait;
}

int
tocsin_route_group_interval(const struct tocsin_route *r)
{
    return r->group_interval;
}

int
tocsin_route_repeat_interval(const struct tocsin_route *r)
{
    return r->repeat_interval;
}

const char *
tocsin_route_id(const struct tocsin_route *r)
{
    return r->id;
}

int
tocsin_route_held(const struct tocsin_route *r, const char *sev, int64_t t,
                  const char **why)
{
    if (sev && strcmp(sev, "critical") == 0)
        return 0;
    for (size_t i = 0; i < r->nmute; i++)
        if (tocsin_timeint_active(r->mute[i], t)) {
            if (why)
                *why = tocsin_timeint_name(r->mute[i]);
            return 1;
        }
    if (r->nactive) {
        for (size_t i = 0; i < r->nactive; i++)
            if (tocsin_timeint_active(r->active[i], t))
                return 0;
        if (why)
            *why = tocsin_timeint_name(r->active[0]);
        return 1;
    }
    return 0;
}
