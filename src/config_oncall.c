/*
 * config_oncall.c: the on-call sections of tocsind.conf: oncall,
 * time_intervals, people, schedules, escalation_policies, route and
 * inhibit_rules, parsed into a struct tocsin_oncall_config after the rest
 * of the file (so receiver names can be checked).  Every error is reported
 * as file:line through config.c's context; nothing stops at the first.
 * Owns nothing past the call: what it builds goes to cfg->oncall.  Runs
 * on the loader's thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define MAX_LIST 256

typedef struct ctx ctx;
#define ERR(...) tocsin_config_int_error(c, __VA_ARGS__)

/* Report members of g not in names (NULL-terminated). */
static void
check_keys(ctx *c, const config_setting_t *g, const char *path,
           const char *const *names)
{
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(g, i);
        const char *k = config_setting_name(m);
        size_t j;
        for (j = 0; names[j]; j++)
            if (k && strcmp(k, names[j]) == 0)
                break;
        if (!names[j])
            ERR(m, "%s: unknown key \"%s\"", path, k ? k : "?");
    }
}

static const char *
get_str(ctx *c, const config_setting_t *g, const char *path, const char *name,
        int required)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    if (!s) {
        if (required)
            ERR(g, "%s: missing required key \"%s\"", path, name);
        return NULL;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        ERR(s, "%s.%s: expected a string", path, name);
        return NULL;
    }
    const char *v = config_setting_get_string(s);
    if (!v || !*v) {
        ERR(s, "%s.%s: must not be empty", path, name);
        return NULL;
    }
    return v;
}

/* An int member in [lo, hi]; returns def when absent, -1 if bad. */
static long long
get_int(ctx *c, const config_setting_t *g, const char *path, const char *name,
        long long lo, long long hi, long long def)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    if (!s)
        return def;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
        ERR(s, "%s.%s: expected an integer", path, name);
        return -1;
    }
    long long v = config_setting_get_int64(s);
    if (v < lo || v > hi) {
        ERR(s, "%s.%s: %lld is outside [%lld, %lld]", path, name, v, lo, hi);
        return -1;
    }
    return v;
}

static int
get_bool(ctx *c, const config_setting_t *g, const char *path, const char *name)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        ERR(s, "%s.%s: expected a boolean (true or false)", path, name);
        return 0;
    }
    return config_setting_get_bool(s);
}

/* A list of strings into v (borrowed, at most MAX_LIST); -1 if bad,
 * else the count (0 when absent; *given says whether it was). */
static int
get_strs(ctx *c, const config_setting_t *g, const char *path, const char *name,
         const char **v, int *given)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    if (given)
        *given = s != NULL;
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
        ERR(s, "%s.%s: expected a list of strings", path, name);
        return -1;
    }
    int n = config_setting_length(s);
    if (n > MAX_LIST) {
        ERR(s, "%s.%s: more than %d entries", path, name, MAX_LIST);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            ERR(e, "%s.%s[%d]: expected a string", path, name, i);
            return -1;
        }
        v[i] = config_setting_get_string(e);
    }
    return n;
}

/* A list of groups; NULL (after reporting) when it is something else. */
static const config_setting_t *
get_list(ctx *c, const config_setting_t *root, const char *name)
{
    const config_setting_t *s = config_setting_get_member(root, name);
    if (!s)
        return NULL;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_LIST &&
        !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)) {
        ERR(s, "%s: expected a list of groups ( {...}, ... )", name);
        return NULL;
    }
    for (int i = 0; i < config_setting_length(s); i++)
        if (!config_setting_is_group(config_setting_get_elem(s, i))) {
            ERR(config_setting_get_elem(s, i), "%s[%d]: expected a group", name,
                i);
            return NULL;
        }
    return s;
}

/* The member key of g as a list of at least one `what`; NULL (after
 * reporting) when it is absent, empty or not a list. */
static const config_setting_t *
some_of(ctx *c, const config_setting_t *g, const char *path, const char *key,
        const char *what)
{
    const config_setting_t *l = config_setting_get_member(g, key);
    if (!l || config_setting_type(l) != CONFIG_TYPE_LIST ||
        config_setting_length(l) == 0) {
        ERR(l ? l : g, "%s.%s: expected a list of at least one %s", path, key,
            what);
        return NULL;
    }
    return l;
}

/* Element j of the list at path.key as a group, its keys checked and its
 * own path written to ep; NULL (after reporting) when it is not a group. */
static const config_setting_t *
group_at(ctx *c, const config_setting_t *l, int j, const char *path,
         const char *key, const char *const *keys, char *ep, size_t size)
{
    const config_setting_t *g = config_setting_get_elem(l, j);
    snprintf(ep, size, "%s.%s[%d]", path, key, j);
    if (!config_setting_is_group(g)) {
        ERR(g, "%s: expected a group", ep);
        return NULL;
    }
    check_keys(c, g, ep, keys);
    return g;
}

static int
push(ctx *c, void *vp, size_t *n, void *item)
{
    void ***v = vp;
    void **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) {
        tocsin_config_int_oom(c);
        return -1;
    }
    *v = nv;
    nv[(*n)++] = item;
    return 0;
}

/* ---- oncall = { ... } ---- */

static void
parse_general(ctx *c, const config_setting_t *root,
              struct tocsin_oncall_config *oc)
{
    static const char *const keys[] = {"timezone",          "ack_secret",
                                       "ack_secret_file",   "ack_ttl",
                                       "silence_retention", NULL};
    const config_setting_t *g = config_setting_get_member(root, "oncall");
    if (!g)
        return;
    if (!config_setting_is_group(g)) {
        ERR(g, "oncall: expected a group");
        return;
    }
    check_keys(c, g, "oncall", keys);
    const char *tz = get_str(c, g, "oncall", "timezone", 0);
    if (tz) {
        const struct tocsin_tz *z = NULL;
        if (tocsin_oncall_config_zone(oc, tz, &z) != TOCSIN_OK)
            ERR(config_setting_get_member(g, "timezone"),
                "oncall.timezone: unknown time zone \"%s\"", tz);
        else
            oc->tz = (struct tocsin_tz *)z;
    }
    const char *sec = get_str(c, g, "oncall", "ack_secret", 0);
    const char *file = get_str(c, g, "oncall", "ack_secret_file", 0);
    if (sec && file)
        ERR(config_setting_get_member(g, "ack_secret_file"),
            "oncall: give ack_secret or ack_secret_file, not both");
    else if (sec && !(oc->ack_secret = strdup(sec)))
        tocsin_config_int_oom(c);
    else if (file)
        oc->ack_secret = tocsin_config_int_secret_file(
            c, config_setting_get_member(g, "ack_secret_file"),
            "oncall.ack_secret_file", file);
    long long v = get_int(c, g, "oncall", "ack_ttl", 60, 30 * 86400, 86400);
    if (v > 0)
        oc->ack_ttl_s = (int)v;
    v = get_int(c, g, "oncall", "silence_retention", 0, 365 * 86400, 432000);
    if (v >= 0)
        oc->silence_retention_s = (int)v;
}

/* A zone by name for setting s (error reported); NULL: bad or absent. */
static const struct tocsin_tz *
zone(ctx *c, struct tocsin_oncall_config *oc, const config_setting_t *g,
     const char *path, const char *key, int *bad)
{
    const char *name = get_str(c, g, path, key, 0);
    const struct tocsin_tz *z = NULL;
    *bad = 0;
    if (!name) {
        *bad = config_setting_get_member(g, key) != NULL;
        return oc->tz;
    }
    if (tocsin_oncall_config_zone(oc, name, &z) != TOCSIN_OK) {
        ERR(config_setting_get_member(g, key),
            "%s.%s: unknown time zone \"%s\"", path, key, name);
        *bad = 1;
    }
    return z;
}

/* ---- time_intervals ---- */

static void
parse_intervals(ctx *c, const config_setting_t *root,
                struct tocsin_oncall_config *oc)
{
    static const char *const keys[] = {"name", "time_intervals", NULL};
    static const char *const skeys[] = {"times",  "weekdays", "days_of_month",
                                        "months", "years",    "location",
                                        NULL};
    const config_setting_t *l = get_list(c, root, "time_intervals");
    for (int i = 0; l && i < config_setting_length(l); i++) {
        const config_setting_t *g = config_setting_get_elem(l, i);
        char path[64];
        snprintf(path, sizeof path, "time_intervals[%d]", i);
        check_keys(c, g, path, keys);
        const char *name = get_str(c, g, path, "name", 1);
        if (!name)
            continue;
        if (tocsin_oncall_config_interval(oc, name)) {
            ERR(config_setting_get_member(g, "name"),
                "%s.name: duplicate time interval \"%s\"", path, name);
            continue;
        }
        struct tocsin_timeint *ti = NULL;
        if (tocsin_timeint_new(&ti, name) != TOCSIN_OK ||
            push(c, &oc->intervals, &oc->nintervals, ti)) {
            tocsin_timeint_free(ti);
            tocsin_config_int_oom(c);
            return;
        }
        const config_setting_t *specs =
            config_setting_get_member(g, "time_intervals");
        if (!specs || config_setting_type(specs) != CONFIG_TYPE_LIST) {
            ERR(specs ? specs : g,
                "%s.time_intervals: expected a list of "
                "groups",
                path);
            continue;
        }
        for (int j = 0; j < config_setting_length(specs); j++) {
            char sp[96];
            const config_setting_t *sg = group_at(
                c, specs, j, path, "time_intervals", skeys, sp, sizeof sp);
            if (!sg)
                continue;
            int bad;
            struct tocsin_timeint_spec spec = {0};
            spec.location = zone(c, oc, sg, sp, "location", &bad);
            if (!config_setting_get_member(sg, "location"))
                spec.location = NULL; /* Alertmanager: UTC by default */
            const char *wd[MAX_LIST], *md[MAX_LIST], *mo[MAX_LIST],
                *yr[MAX_LIST];
            int nw = get_strs(c, sg, sp, "weekdays", wd, NULL);
            int nd = get_strs(c, sg, sp, "days_of_month", md, NULL);
            int nm = get_strs(c, sg, sp, "months", mo, NULL);
            int ny = get_strs(c, sg, sp, "years", yr, NULL);
            /* times = ( { start_time = "HH:MM"; end_time = "HH:MM"; } ) */
            char tbuf[64][16];
            const char *tv[64];
            int nt = 0;
            const config_setting_t *ts = config_setting_get_member(sg, "times");
            if (ts && config_setting_type(ts) != CONFIG_TYPE_LIST) {
                ERR(ts, "%s.times: expected a list of groups", sp);
                bad = 1;
            }
            for (int k = 0; ts && !bad && k < config_setting_length(ts); k++) {
                const config_setting_t *tg = config_setting_get_elem(ts, k);
                char tp[128];
                snprintf(tp, sizeof tp, "%s.times[%d]", sp, k);
                static const char *const tk[] = {"start_time", "end_time",
                                                 NULL};
                if (!config_setting_is_group(tg) || k >= 64) {
                    ERR(tg, "%s: expected a group", tp);
                    bad = 1;
                    break;
                }
                check_keys(c, tg, tp, tk);
                const char *st = get_str(c, tg, tp, "start_time", 1);
                const char *en = get_str(c, tg, tp, "end_time", 1);
                if (!st || !en || strlen(st) > 5 || strlen(en) > 5) {
                    if (st && en)
                        ERR(tg, "%s: times are HH:MM", tp);
                    bad = 1;
                    continue;
                }
                snprintf(tbuf[nt], sizeof tbuf[nt], "%s-%s", st, en);
                tv[nt] = tbuf[nt];
                nt++;
            }
            if (bad || nw < 0 || nd < 0 || nm < 0 || ny < 0)
                continue;
            spec.times = tv;
            spec.ntimes = (size_t)nt;
            spec.weekdays = wd;
            spec.nweekdays = (size_t)nw;
            spec.days_of_month = md;
            spec.ndays_of_month = (size_t)nd;
            spec.months = mo;
            spec.nmonths = (size_t)nm;
            spec.years = yr;
            spec.nyears = (size_t)ny;
            char why[160];
            tocsin_err rc = tocsin_timeint_add(ti, &spec, why, sizeof why);
            if (rc == TOCSIN_EINVAL)
                ERR(sg, "%s.%s", sp, why);
            else if (rc != TOCSIN_OK)
                tocsin_config_int_oom(c);
        }
    }
}

/* ---- people ---- */

static void
parse_people(ctx *c, const config_setting_t *root, struct tocsin_config *cfg,
             struct tocsin_oncall_config *oc)
{
    static const char *const keys[] = {"name", "full_name", "receivers", NULL};
    const config_setting_t *l = get_list(c, root, "people");
    int n = l ? config_setting_length(l) : 0;
    if (n == 0)
        return;
    oc->people = calloc((size_t)n, sizeof *oc->people);
    if (!oc->people) {
        tocsin_config_int_oom(c);
        return;
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(l, i);
        char path[64];
        snprintf(path, sizeof path, "people[%d]", i);
        check_keys(c, g, path, keys);
        const char *name = get_str(c, g, path, "name", 1);
        const char *full = get_str(c, g, path, "full_name", 0);
        const char *rv[MAX_LIST];
        int nr = get_strs(c, g, path, "receivers", rv, NULL);
        if (!name || nr < 0)
            continue;
        if (tocsin_oncall_config_person(oc, name)) {
            ERR(config_setting_get_member(g, "name"),
                "%s.name: duplicate person \"%s\"", path, name);
            continue;
        }
        if (nr == 0)
            ERR(g, "%s: a person needs at least one receiver", path);
        for (int j = 0; j < nr; j++)
            if (!tocsin_config_receiver(cfg, rv[j]))
                ERR(config_setting_get_member(g, "receivers"),
                    "%s.receivers: no receiver named \"%s\"", path, rv[j]);
        struct tocsin_person *p = &oc->people[oc->npeople++];
        p->name = strdup(name);
        p->full_name = strdup(full ? full : name);
        p->receivers = calloc(nr ? (size_t)nr : 1, sizeof *p->receivers);
        if (!p->name || !p->full_name || !p->receivers) {
            tocsin_config_int_oom(c);
            return;
        }
        for (int j = 0; j < nr; j++) {
            if (!(p->receivers[j] = strdup(rv[j]))) {
                tocsin_config_int_oom(c);
                return;
            }
            p->nreceivers++;
        }
    }
}

/* ---- schedules ---- */

static int
local_time(const struct tocsin_tz *tz, const char *s, int64_t *out)
{
    int y, mo, d, h, mi;
    char tail;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%c", &y, &mo, &d, &h, &mi, &tail) != 5 ||
        strlen(s) != 16 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59)
        return -1;
    *out = tocsin_tz_mktime(tz, y, mo, d, h, mi, 0);
    return 0;
}

static void
parse_schedules(ctx *c, const config_setting_t *root,
                struct tocsin_oncall_config *oc)
{
    static const char *const keys[] = {"name", "timezone", "layers",
                                       "overrides", NULL};
    static const char *const lkeys[] = {
        "name", "users", "rotation", "start", "handoff", "restriction", NULL};
    static const char *const okeys[] = {"user", "start", "end", NULL};
    const config_setting_t *l = get_list(c, root, "schedules");
    for (int i = 0; l && i < config_setting_length(l); i++) {
        const config_setting_t *g = config_setting_get_elem(l, i);
        char path[64];
        snprintf(path, sizeof path, "schedules[%d]", i);
        check_keys(c, g, path, keys);
        const char *name = get_str(c, g, path, "name", 1);
        int bad;
        const struct tocsin_tz *tz = zone(c, oc, g, path, "timezone", &bad);
        if (!name || bad)
            continue;
        if (tocsin_oncall_config_schedule(oc, name)) {
            ERR(config_setting_get_member(g, "name"),
                "%s.name: duplicate schedule \"%s\"", path, name);
            continue;
        }
        struct tocsin_schedule *s = NULL;
        if (tocsin_schedule_new(&s, name, tz) != TOCSIN_OK ||
            push(c, &oc->schedules, &oc->nschedules, s)) {
            tocsin_schedule_free(s);
            tocsin_config_int_oom(c);
            return;
        }
        const config_setting_t *ls = some_of(c, g, path, "layers", "layer");
        if (!ls)
            continue;
        for (int j = 0; j < config_setting_length(ls); j++) {
            char lp[96];
            const config_setting_t *lg =
                group_at(c, ls, j, path, "layers", lkeys, lp, sizeof lp);
            if (!lg)
                continue;
            const char *users[MAX_LIST];
            int nu = get_strs(c, lg, lp, "users", users, NULL);
            const char *rot = get_str(c, lg, lp, "rotation", 1);
            const char *start = get_str(c, lg, lp, "start", 1);
            const char *handoff = get_str(c, lg, lp, "handoff", 0);
            const char *rname = get_str(c, lg, lp, "restriction", 0);
            const struct tocsin_timeint *restr =
                tocsin_oncall_config_interval(oc, rname);
            int ok = nu >= 0 && rot && start;
            for (int k = 0; k < nu; k++)
                if (!tocsin_oncall_config_person(oc, users[k])) {
                    ERR(config_setting_get_member(lg, "users"),
                        "%s.users: no person named \"%s\"", lp, users[k]);
                    ok = 0;
                }
            if (rname && !restr) {
                ERR(config_setting_get_member(lg, "restriction"),
                    "%s.restriction: no time interval named \"%s\"", lp, rname);
                ok = 0;
            }
            enum tocsin_rotation r = TOCSIN_ROTATION_DAILY;
            if (rot && strcmp(rot, "weekly") == 0)
                r = TOCSIN_ROTATION_WEEKLY;
            else if (rot && strcmp(rot, "daily") != 0) {
                ERR(config_setting_get_member(lg, "rotation"),
                    "%s.rotation: \"%s\" is not daily or weekly", lp, rot);
                ok = 0;
            }
            if (!ok)
                continue;
            struct tocsin_schedule_layer layer = {get_str(c, lg, lp, "name", 0),
                                                  users,
                                                  (size_t)nu,
                                                  r,
                                                  start,
                                                  handoff,
                                                  restr};
            char why[128];
            tocsin_err rc =
                tocsin_schedule_add_layer(s, &layer, why, sizeof why);
            if (rc == TOCSIN_EINVAL)
                ERR(lg, "%s: %s", lp, why);
            else if (rc != TOCSIN_OK)
                tocsin_config_int_oom(c);
        }
        const config_setting_t *os = config_setting_get_member(g, "overrides");
        if (os && config_setting_type(os) != CONFIG_TYPE_LIST &&
            !(config_setting_type(os) == CONFIG_TYPE_ARRAY &&
              config_setting_length(os) == 0)) {
            ERR(os, "%s.overrides: expected a list of groups", path);
            continue;
        }
        for (int j = 0; os && j < config_setting_length(os); j++) {
            char op[96];
            const config_setting_t *og =
                group_at(c, os, j, path, "overrides", okeys, op, sizeof op);
            if (!og)
                continue;
            const char *u = get_str(c, og, op, "user", 1);
            const char *st = get_str(c, og, op, "start", 1);
            const char *en = get_str(c, og, op, "end", 1);
            int64_t t1 = 0, t2 = 0;
            if (u && !tocsin_oncall_config_person(oc, u)) {
                ERR(config_setting_get_member(og, "user"),
                    "%s.user: no person named \"%s\"", op, u);
                continue;
            }
            if (st && local_time(tz, st, &t1)) {
                ERR(config_setting_get_member(og, "start"),
                    "%s.start: expected local time YYYY-MM-DDTHH:MM", op);
                continue;
            }
            if (en && local_time(tz, en, &t2)) {
                ERR(config_setting_get_member(og, "end"),
                    "%s.end: expected local time YYYY-MM-DDTHH:MM", op);
                continue;
            }
            if (!u || !st || !en)
                continue;
            if (t2 <= t1)
                ERR(config_setting_get_member(og, "end"),
                    "%s.end: must be after start", op);
            else if (tocsin_schedule_add_override(s, u, t1, t2) != TOCSIN_OK)
                tocsin_config_int_oom(c);
        }
    }
}

/* ---- targets ---- */

static int
check_target(ctx *c, const config_setting_t *s, const char *path, const char *t,
             const struct tocsin_config *cfg,
             const struct tocsin_oncall_config *oc)
{
    if (strncmp(t, "schedule:", 9) == 0) {
        if (tocsin_oncall_config_schedule(oc, t + 9))
            return 0;
        ERR(s, "%s: no schedule named \"%s\"", path, t + 9);
    } else if (strncmp(t, "user:", 5) == 0) {
        if (tocsin_oncall_config_person(oc, t + 5))
            return 0;
        ERR(s, "%s: no person named \"%s\"", path, t + 5);
    } else {
        const char *r = strncmp(t, "receiver:", 9) == 0 ? t + 9 : t;
        if (tocsin_config_receiver(cfg, r))
            return 0;
        ERR(s, "%s: no receiver named \"%s\"", path, r);
    }
    return -1;
}

/* ---- escalation_policies ---- */

static void
parse_policies(ctx *c, const config_setting_t *root,
               const struct tocsin_config *cfg, struct tocsin_oncall_config *oc)
{
    static const char *const keys[] = {"name", "steps", "repeat", "announce",
                                       NULL};
    static const char *const skeys[] = {"notify", "wait", NULL};
    const config_setting_t *l = get_list(c, root, "escalation_policies");
    for (int i = 0; l && i < config_setting_length(l); i++) {
        const config_setting_t *g = config_setting_get_elem(l, i);
        char path[64];
        snprintf(path, sizeof path, "escalation_policies[%d]", i);
        check_keys(c, g, path, keys);
        const char *name = get_str(c, g, path, "name", 1);
        long long rep = get_int(c, g, path, "repeat", 0, 100, 0);
        const char *ann[MAX_LIST];
        int na = get_strs(c, g, path, "announce", ann, NULL);
        for (int k = 0; k < na; k++)
            check_target(c, config_setting_get_member(g, "announce"), path,
                         ann[k], cfg, oc);
        if (!name || rep < 0 || na < 0)
            continue;
        if (tocsin_oncall_config_policy(oc, name)) {
            ERR(config_setting_get_member(g, "name"),
                "%s.name: duplicate escalation policy \"%s\"", path, name);
            continue;
        }
        struct tocsin_escalation *p = NULL;
        if (tocsin_escalation_new(&p, name, (int)rep) != TOCSIN_OK ||
            push(c, &oc->policies, &oc->npolicies, p) ||
            tocsin_escalation_set_announce(p, ann, (size_t)na) != TOCSIN_OK) {
            if (!oc->npolicies || oc->policies[oc->npolicies - 1] != p)
                tocsin_escalation_free(p);
            tocsin_config_int_oom(c);
            return;
        }
        const config_setting_t *ss = some_of(c, g, path, "steps", "step");
        if (!ss)
            continue;
        for (int j = 0; j < config_setting_length(ss); j++) {
            char sp[96];
            const config_setting_t *sg =
                group_at(c, ss, j, path, "steps", skeys, sp, sizeof sp);
            if (!sg)
                continue;
            const char *t[MAX_LIST];
            int nt = get_strs(c, sg, sp, "notify", t, NULL);
            long long w = get_int(c, sg, sp, "wait", 0, 7 * 86400, 300);
            if (nt == 0)
                ERR(sg, "%s.notify: at least one target", sp);
            int bad = nt <= 0 || w < 0;
            for (int k = 0; k < nt; k++)
                bad |= check_target(c, config_setting_get_member(sg, "notify"),
                                    sp, t[k], cfg, oc) != 0;
            if (!bad && tocsin_escalation_add_step(p, t, (size_t)nt, (int)w) !=
                            TOCSIN_OK)
                tocsin_config_int_oom(c);
        }
    }
}

/* ---- route ---- */

static int
intervals(ctx *c, const config_setting_t *g, const char *path, const char *key,
          const struct tocsin_oncall_config *oc,
          const struct tocsin_timeint **out, int *given)
{
    const char *names[MAX_LIST];
    int n = get_strs(c, g, path, key, names, given);
    for (int i = 0; i < n; i++)
        if (!(out[i] = tocsin_oncall_config_interval(oc, names[i]))) {
            ERR(config_setting_get_member(g, key),
                "%s.%s: no time interval named \"%s\"", path, key, names[i]);
            n = -1;
            break;
        }
    return n;
}

static void
parse_route(ctx *c, const config_setting_t *g, const char *path,
            struct tocsin_route *parent, const struct tocsin_config *cfg,
            struct tocsin_oncall_config *oc, int depth)
{
    static const char *const keys[] = {"matchers",
                                       "receiver",
                                       "escalation",
                                       "group_by",
                                       "group_wait",
                                       "group_interval",
                                       "repeat_interval",
                                       "continue",
                                       "mute_time_intervals",
                                       "active_time_intervals",
                                       "routes",
                                       NULL};
    if (!config_setting_is_group(g)) {
        ERR(g, "%s: expected a group", path);
        return;
    }
    if (depth > 16) {
        ERR(g, "%s: routes nest deeper than 16", path);
        return;
    }
    check_keys(c, g, path, keys);
    struct tocsin_route_spec s;
    tocsin_route_spec_init(&s);
    const char *m[MAX_LIST], *gb[MAX_LIST];
    const struct tocsin_timeint *mute[MAX_LIST], *act[MAX_LIST];
    int nm = get_strs(c, g, path, "matchers", m, NULL);
    int ngb = get_strs(c, g, path, "group_by", gb, &s.group_by_set);
    int nmu =
        intervals(c, g, path, "mute_time_intervals", oc, mute, &s.mute_set);
    int nac =
        intervals(c, g, path, "active_time_intervals", oc, act, &s.active_set);
    if (!parent && nm > 0)
        ERR(config_setting_get_member(g, "matchers"),
            "%s.matchers: the root route matches every alert", path);
    s.receiver = get_str(c, g, path, "receiver", 0);
    s.escalation = get_str(c, g, path, "escalation", 0);
    if (s.receiver && check_target(c, config_setting_get_member(g, "receiver"),
                                   "route receiver", s.receiver, cfg, oc))
        s.receiver = NULL;
    if (s.escalation && !tocsin_oncall_config_policy(oc, s.escalation))
        ERR(config_setting_get_member(g, "escalation"),
            "%s.escalation: no escalation policy named \"%s\"", path,
            s.escalation);
    long long gw = get_int(c, g, path, "group_wait", 0, 86400, -1);
    long long gi = get_int(c, g, path, "group_interval", 1, 7 * 86400, -1);
    long long ri = get_int(c, g, path, "repeat_interval", 60, 30 * 86400, -1);
    s.group_wait_s = (int)gw;
    s.group_interval_s = (int)gi;
    s.repeat_interval_s = (int)ri;
    s.continue_ = get_bool(c, g, path, "continue");
    /* Build the node even after an error, so its children are checked
     * too (the load fails anyway). */
    nm = nm < 0 ? 0 : nm;
    ngb = ngb < 0 ? 0 : ngb;
    nmu = nmu < 0 ? 0 : nmu;
    nac = nac < 0 ? 0 : nac;
    s.matchers = m;
    s.nmatchers = parent ? (size_t)nm : 0;
    s.group_by = gb;
    s.ngroup_by = (size_t)ngb;
    s.mute = mute;
    s.nmute = (size_t)nmu;
    s.active = act;
    s.nactive = (size_t)nac;
    char why[160];
    struct tocsin_route *node = NULL;
    tocsin_err rc = parent
                        ? tocsin_route_add(parent, &s, &node, why, sizeof why)
                        : tocsin_route_new(&oc->route, &s, why, sizeof why);
    if (!parent)
        node = oc->route;
    if (rc == TOCSIN_EINVAL) {
        ERR(config_setting_get_member(g, "matchers"), "%s.matchers: %s", path,
            why);
        return;
    }
    if (rc != TOCSIN_OK) {
        tocsin_config_int_oom(c);
        return;
    }
    const config_setting_t *kids = config_setting_get_member(g, "routes");
    if (kids && config_setting_type(kids) != CONFIG_TYPE_LIST) {
        ERR(kids, "%s.routes: expected a list of groups", path);
        return;
    }
    for (int i = 0; kids && i < config_setting_length(kids); i++) {
        char kp[256];
        snprintf(kp, sizeof kp, "%s.routes[%d]", path, i);
        parse_route(c, config_setting_get_elem(kids, i), kp, node, cfg, oc,
                    depth + 1);
    }
}

/* ---- inhibit_rules ---- */

static void
parse_inhibit(ctx *c, const config_setting_t *root,
              struct tocsin_oncall_config *oc)
{
    static const char *const keys[] = {"source_matchers", "target_matchers",
                                       "equal", NULL};
    const config_setting_t *l = get_list(c, root, "inhibit_rules");
    if (!l)
        return;
    if (tocsin_inhibit_new(&oc->inhibit) != TOCSIN_OK) {
        tocsin_config_int_oom(c);
        return;
    }
    for (int i = 0; i < config_setting_length(l); i++) {
        const config_setting_t *g = config_setting_get_elem(l, i);
        char path[64];
        snprintf(path, sizeof path, "inhibit_rules[%d]", i);
        check_keys(c, g, path, keys);
        const char *src[MAX_LIST], *tgt[MAX_LIST], *eq[MAX_LIST];
        int ns = get_strs(c, g, path, "source_matchers", src, NULL);
        int nt = get_strs(c, g, path, "target_matchers", tgt, NULL);
        int ne = get_strs(c, g, path, "equal", eq, NULL);
        if (ns == 0 || nt == 0)
            ERR(g, "%s: needs source_matchers and target_matchers", path);
        if (ns <= 0 || nt <= 0 || ne < 0)
            continue;
        char why[160];
        tocsin_err rc =
            tocsin_inhibit_add(oc->inhibit, src, (size_t)ns, tgt, (size_t)nt,
                               eq, (size_t)ne, why, sizeof why);
        if (rc == TOCSIN_EINVAL)
            ERR(g, "%s: %s", path, why);
        else if (rc != TOCSIN_OK)
            tocsin_config_int_oom(c);
    }
}

void
tocsin_config_oncall_parse(struct ctx *c, const config_setting_t *root,
                           struct tocsin_config *cfg)
{
    static const char *const sections[] = {
        "oncall", "time_intervals",      "people",       "schedules",
        "route",  "escalation_policies", "inhibit_rules"};
    size_t k;
    for (k = 0; k < sizeof sections / sizeof sections[0]; k++)
        if (config_setting_get_member(root, sections[k]))
            break;
    if (k == sizeof sections / sizeof sections[0])
        return; /* no on-call configuration */
    struct tocsin_oncall_config *oc = NULL;
    if (tocsin_oncall_config_new(&oc) != TOCSIN_OK) {
        tocsin_config_int_oom(c);
        return;
    }
    cfg->oncall = oc;
    parse_general(c, root, oc);
    parse_intervals(c, root, oc);
    parse_people(c, root, cfg, oc);
    parse_schedules(c, root, oc);
    parse_policies(c, root, cfg, oc);
    const config_setting_t *r = config_setting_get_member(root, "route");
    if (r)
        parse_route(c, r, "route", NULL, cfg, oc, 0);
    parse_inhibit(c, root, oc);
}
