/*
 * oncall_view.c: what a tocsin_oncall shows: `routes test` and `oncall`
 * as text, an alert as JSON (kept in Redis by oncall_store.c, shown by
 * `tocsinctl alerts`), and a notification's webhook body.  Reads the state
 * (oncall_int.h), owns nothing; no I/O; the oncall's thread.
 */
#include "tocsin/oncall_view.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oncall_int.h"
#include "tocsin/event.h"
#include "tocsin/strbuf.h"

/* ---- text views ---- */

/* The text built into *out, or TOCSIN_ENOMEM. */
static tocsin_err
sb_done(struct tocsin_strbuf *b, char **out)
{
    char *s = tocsin_strbuf_take(b);
    if (!s)
        return TOCSIN_ENOMEM;
    *out = s;
    return TOCSIN_OK;
}

static void
describe_target(const struct tocsin_oncall *oc, struct tocsin_strbuf *b,
                const char *target, int64_t now)
{
    const char *user = NULL;
    if (strncmp(target, "schedule:", 9) == 0) {
        const struct tocsin_schedule *s =
            tocsin_oncall_config_schedule(oc->cfg, target + 9);
        user = s ? tocsin_schedule_oncall(s, now) : NULL;
        if (!user) {
            tocsin_strbuf_printf(b, "%s (nobody on call now)", target);
            return;
        }
        tocsin_strbuf_printf(b, "%s (now %s: ", target, user);
    } else if (strncmp(target, "user:", 5) == 0) {
        user = target + 5;
        tocsin_strbuf_printf(b, "%s (", target);
    } else {
        tocsin_strbuf_printf(b, "%s",
                             strncmp(target, "receiver:", 9) == 0 ? target + 9
                                                                  : target);
        return;
    }
    const struct tocsin_person *p = tocsin_oncall_config_person(oc->cfg, user);
    for (size_t i = 0; p && i < p->nreceivers; i++)
        tocsin_strbuf_printf(b, "%s%s", i ? ", " : "", p->receivers[i]);
    tocsin_strbuf_printf(b, ")");
}

tocsin_err
tocsin_oncall_routes_test(const struct tocsin_oncall *oc,
                          const struct tocsin_labelset *labels, int64_t now,
                          char **out)
{
    if (!oc || !labels || !out)
        return TOCSIN_EINVAL;
    struct tocsin_strbuf b = {0};
    const struct tocsin_route *r[MAX_ROUTES];
    size_t n = tocsin_route_match(oc->cfg->route, labels, r, MAX_ROUTES);
    if (n == 0)
        tocsin_strbuf_printf(&b, "no route: the alert would only be logged\n");
    for (size_t i = 0; i < n && i < MAX_ROUTES; i++) {
        size_t ng;
        const char *const *gb = tocsin_route_group_by(r[i], &ng);
        tocsin_strbuf_printf(&b, "route %s: ", tocsin_route_id(r[i]));
        const char *pol = tocsin_route_escalation(r[i]);
        const struct tocsin_escalation *p =
            tocsin_oncall_config_policy(oc->cfg, pol);
        if (p) {
            tocsin_strbuf_printf(&b, "escalation %s\n", pol);
            for (size_t s = 0; s < tocsin_escalation_nsteps(p); s++) {
                size_t nt;
                int w;
                const char *const *t = tocsin_escalation_step(p, s, &nt, &w);
                tocsin_strbuf_printf(&b, "  step %zu: ", s + 1);
                for (size_t k = 0; k < nt; k++) {
                    tocsin_strbuf_printf(&b, "%s", k ? ", " : "");
                    describe_target(oc, &b, t[k], now);
                }
                tocsin_strbuf_printf(&b, "; then wait %ds\n", w);
            }
            tocsin_strbuf_printf(&b, "  repeat %d more time(s)\n",
                                 tocsin_escalation_repeat(p));
        } else if (tocsin_route_receiver(r[i])) {
            describe_target(oc, &b, tocsin_route_receiver(r[i]), now);
            tocsin_strbuf_printf(&b, "\n");
        } else {
            tocsin_strbuf_printf(&b, "no receiver\n");
        }
        tocsin_strbuf_printf(&b, "  group_by [");
        for (size_t k = 0; k < ng; k++)
            tocsin_strbuf_printf(&b, "%s%s", k ? ", " : "", gb[k]);
        tocsin_strbuf_printf(&b,
                             "], group_wait %ds, group_interval %ds, "
                             "repeat_interval %ds\n",
                             tocsin_route_group_wait(r[i]),
                             tocsin_route_group_interval(r[i]),
                             tocsin_route_repeat_interval(r[i]));
        const char *why = NULL;
        if (tocsin_route_held(r[i], tocsin_labels_get(labels, "severity"), now,
                              &why))
            tocsin_strbuf_printf(&b, "  held now by quiet hours (%s)\n", why);
    }
    const struct tocsin_silence *s =
        tocsin_silences_match(oc->silences, labels, now);
    if (s)
        tocsin_strbuf_printf(&b, "silenced now by %s (%s)\n", s->id,
                             s->comment);
    return sb_done(&b, out);
}

tocsin_err
tocsin_oncall_who(const struct tocsin_oncall *oc, int64_t now, char **out)
{
    if (!oc || !out)
        return TOCSIN_EINVAL;
    struct tocsin_strbuf b = {0};
    if (oc->cfg->nschedules == 0)
        tocsin_strbuf_printf(&b, "no schedules\n");
    for (size_t i = 0; i < oc->cfg->nschedules; i++) {
        const struct tocsin_schedule *s = oc->cfg->schedules[i];
        const char *u = tocsin_schedule_oncall(s, now);
        tocsin_strbuf_printf(&b, "%s: %s now", tocsin_schedule_name(s),
                             u ? u : "nobody");
        int64_t at;
        const char *next;
        if (tocsin_schedule_next(s, now, 30 * 86400, &at, &next) == TOCSIN_OK) {
            char when[32];
            oncall_local_hhmm(oc, at, when, sizeof when, 1);
            tocsin_strbuf_printf(&b, ", then %s from %s %s",
                                 next ? next : "nobody", when,
                                 tocsin_tz_name(oc->cfg->tz));
        }
        tocsin_strbuf_printf(&b, "\n");
    }
    return sb_done(&b, out);
}

/* ---- JSON ---- */

static json_t *
alert_to_json(const struct alert *a)
{
    json_t *o = json_object(), *l = json_object(), *h = json_array(),
           *nt = json_array();
    if (!o || !l || !h || !nt)
        goto fail;
    for (size_t i = 0; i < a->nl; i++)
        json_object_set_new(l, a->ln[i], json_string(a->lv[i]));
    for (size_t i = 0; i < a->nhist; i++)
        json_array_append_new(h, json_pack("{s:I,s:s}", "at",
                                           (json_int_t)a->hist[i].at, "text",
                                           a->hist[i].text));
    for (size_t i = 0; i < a->nnotified; i++)
        json_array_append_new(nt, json_string(a->notified[i]));
    json_t *esc = json_pack(
        "{s:s,s:i,s:i,s:I,s:I,s:s}", "status",
        tocsin_esc_status_name(a->esc.status), "step", a->esc.step, "round",
        a->esc.round, "next_at", (json_int_t)a->esc.next_at, "acked_at",
        (json_int_t)a->esc.acked_at, "acked_by", a->esc.acked_by);
    if (!esc)
        goto fail;
    json_object_set_new(o, "fingerprint", json_string(a->fp));
    json_object_set_new(o, "labels", l);
    json_object_set_new(o, "summary", json_string(a->summary));
    json_object_set_new(o, "status",
                        json_string(a->firing ? "firing" : "resolved"));
    json_object_set_new(o, "starts", json_integer(a->starts));
    json_object_set_new(o, "ends", json_integer(a->ends));
    json_object_set_new(o, "policy",
                        a->policy ? json_string(a->policy) : json_null());
    json_object_set_new(o, "escalation", esc);
    json_object_set_new(o, "acked_by",
                        a->acked ? json_string(a->acked_by) : json_null());
    json_object_set_new(o, "acked_at", json_integer(a->acked_at));
    json_object_set_new(esc, "held", json_boolean(a->held));
    json_object_set_new(o, "notified", nt);
    json_object_set_new(o, "history", h);
    json_object_set_new(
        o, "alert", a->alert_json ? json_string(a->alert_json) : json_null());
    return o;
fail:
    json_decref(o);
    json_decref(l);
    json_decref(h);
    json_decref(nt);
    return NULL;
}

tocsin_err
tocsin_oncall_alert_json(const struct tocsin_oncall *oc,
                         const char *fingerprint, char **out)
{
    if (!oc || !fingerprint || !out)
        return TOCSIN_EINVAL;
    const struct alert *a = oncall_find_alert(oc, fingerprint);
    if (!a)
        return TOCSIN_ENOENT;
    json_t *o = alert_to_json(a);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!s)
        return TOCSIN_ENOMEM;
    *out = s;
    return TOCSIN_OK;
}

tocsin_err
tocsin_oncall_group_json(const struct tocsin_oncall *oc, const char *key,
                         char **out)
{
    if (!oc || !key || !out)
        return TOCSIN_EINVAL;
    const struct group *g = NULL;
    for (size_t i = 0; i < oc->ngroups && !g; i++)
        if (strcmp(oc->groups[i]->key, key) == 0)
            g = oc->groups[i];
    if (!g)
        return TOCSIN_ENOENT;
    json_t *ms = json_array();
    for (size_t i = 0; ms && i < g->nm; i++)
        json_array_append_new(ms, json_pack("{s:s,s:b,s:b}", "fingerprint",
                                            g->m[i].a->fp, "sent", g->m[i].sent,
                                            "resolved", g->m[i].gone));
    const char *rcv = tocsin_route_receiver(g->route);
    const char *esc = tocsin_route_escalation(g->route);
    json_t *o = json_pack(
        "{s:i,s:s,s:s,s:o,s:o,s:b,s:b,s:I,s:I,s:I,s:o}", "version",
        TOCSIN_ONCALL_GROUP_VERSION, "key", g->key, "route",
        tocsin_route_id(g->route), "receiver",
        rcv ? json_string(rcv) : json_null(), "escalation",
        esc ? json_string(esc) : json_null(), "flushed", g->flushed, "pending",
        g->dirty, "last_flush", (json_int_t)g->last_flush, "next_flush",
        (json_int_t)g->next_flush, "seq", (json_int_t)g->seq, "members", ms);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!s)
        return TOCSIN_ENOMEM;
    *out = s;
    return TOCSIN_OK;
}

/* ---- bodies ---- */

static int
set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, v ? json_string(v) : json_null());
}

/* The alert object of a, from the engine's or made from its labels. */
static json_t *
alert_object(const struct alert *a)
{
    json_t *al = a->alert_json ? json_loads(a->alert_json, 0, NULL) : NULL;
    if (json_is_object(al))
        return al;
    json_decref(al);
    al = json_object();
    json_t *l = json_object();
    char starts[40];
    tocsin_format_time(a->starts * 1000, starts, sizeof starts);
    for (size_t i = 0; l && i < a->nl; i++)
        json_object_set_new(l, a->ln[i], json_string(a->lv[i]));
    if (!al || !l || json_object_set_new(al, "labels", l) ||
        set_str(al, "startsAt", starts) || set_str(al, "fingerprint", a->fp)) {
        json_decref(al);
        return NULL;
    }
    return al;
}

/* The webhook alert object of a in note n: its status, summary (the
 * note's text for a note about one alert, its own in a group's), links
 * signed for the note's person, and "tocsin_oncall". */
static json_t *
note_alert(const struct tocsin_oncall *oc, const struct alert *a,
           const struct tocsin_note *n, const char *external_url)
{
    int resolved = n->kind == TOCSIN_NOTE_RESOLVED || !a->firing;
    char ends[40] = "0001-01-01T00:00:00Z", gen[600];
    if (resolved)
        tocsin_format_time(a->ends * 1000, ends, sizeof ends);
    snprintf(gen, sizeof gen, "%s/alerts/%s", external_url, a->fp);
    json_t *al = alert_object(a), *oc_o = json_object();
    if (!al || !oc_o)
        goto fail;
    json_t *ann = json_object_get(al, "annotations");
    if (!json_is_object(ann)) {
        ann = json_object();
        if (!ann || json_object_set_new(al, "annotations", ann))
            goto fail;
    }
    if (set_str(ann, "summary", n->alerts ? a->summary : n->text) ||
        set_str(al, "status", resolved ? "resolved" : "firing") ||
        set_str(al, "endsAt", ends) || set_str(al, "generatorURL", gen) ||
        set_str(oc_o, "kind", tocsin_note_kind_name(n->kind)) ||
        set_str(oc_o, "user", n->user) ||
        json_object_set_new(oc_o, "step", json_integer(n->step)) ||
        json_object_set_new(oc_o, "round", json_integer(n->round)) ||
        set_str(oc_o, "acked_by", a->acked ? a->acked_by : NULL))
        goto fail;
    if (!resolved && !a->acked && oc->cfg->ack_secret) {
        const char *who = n->user ? n->user : n->receiver;
        static const char *const actions[] = {"ack", "resolve"};
        for (int i = 0; i < 2; i++) {
            char tok[TOCSIN_ACK_TOKEN_MAX], url[TOCSIN_ACK_TOKEN_MAX + 600];
            if (tocsin_ack_sign(oc->cfg->ack_secret, a->fp, actions[i],
                                n->at + oc->cfg->ack_ttl_s, who, tok,
                                sizeof tok) != TOCSIN_OK)
                continue; /* e.g. a name with '|': no link */
            snprintf(url, sizeof url, "%s/ack/%s", external_url, tok);
            if (set_str(oc_o, i ? "resolve_url" : "ack_url", url))
                goto fail;
        }
    }
    if (json_object_set_new(al, "tocsin_oncall", oc_o))
        oc_o = NULL;
    else
        return al;
fail:
    json_decref(oc_o);
    json_decref(al);
    return NULL;
}

/* What the objects of arr all have under key (labels, annotations): the
 * pairs equal in every one. */
static json_t *
common_of(json_t *arr, const char *key)
{
    json_t *c = json_deep_copy(json_object_get(json_array_get(arr, 0), key));
    if (!json_is_object(c)) {
        json_decref(c);
        return json_object();
    }
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        json_t *o = json_object_get(x, key);
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(c, tmp, k, v)
        {
            if (!json_equal(v, json_object_get(o, k)))
                json_object_del(c, k);
        }
    }
    return c;
}

tocsin_err
tocsin_oncall_note_body(const struct tocsin_oncall *oc,
                        const struct tocsin_note *n, const char *external_url,
                        char **out)
{
    if (!oc || !n || !out)
        return TOCSIN_EINVAL;
    if (!external_url)
        external_url = "";
    tocsin_err rc = TOCSIN_ENOMEM;
    json_t *body = json_object(), *arr = json_array(), *gl = NULL;
    if (!body || !arr || json_object_set_new(body, "alerts", arr)) {
        json_decref(body);
        return rc;
    }
    /* The alerts it is about (those gone since are left out). */
    size_t total = n->alerts ? n->nalerts : 1, firing = 0, shown = 0;
    const struct alert *first = NULL;
    for (size_t i = 0; i < total; i++) {
        const struct alert *a =
            oncall_find_alert(oc, n->alerts ? n->alerts[i] : n->fingerprint);
        if (!a)
            continue;
        if (!first)
            first = a;
        firing += a->firing && n->kind != TOCSIN_NOTE_RESOLVED;
        if (shown == TOCSIN_NOTE_MAX_ALERTS)
            continue;
        json_t *al = note_alert(oc, a, n, external_url);
        if (!al || json_array_append_new(arr, al))
            goto out;
        shown++;
    }
    if (!first) {
        rc = TOCSIN_ENOENT;
        goto out;
    }
    struct tocsin_labelset ls = oncall_labels_of(first);
    size_t ngb = 0;
    const struct group *g = NULL;
    for (size_t i = 0; n->alerts && i < oc->ngroups && !g; i++)
        if (strcmp(oc->groups[i]->key, n->group_key) == 0)
            g = oc->groups[i];
    const char *const *gb = g ? tocsin_route_group_by(g->route, &ngb) : NULL;
    if (g && !(ngb == 1 && strcmp(gb[0], "...") == 0)) {
        gl = json_object(); /* the labels it was grouped by */
        for (size_t i = 0; gl && i < ngb; i++)
            if (set_str(gl, gb[i], tocsin_labels_get(&ls, gb[i])))
                goto out;
    } else if (n->alerts) {
        gl = common_of(arr, "labels");
    } else {
        gl = json_object();
        if (gl && (set_str(gl, "alertname", tocsin_labels_get(&ls, "alertname")) ||
                   set_str(gl, "topic", tocsin_labels_get(&ls, "topic"))))
            goto out;
    }
    if (!gl || set_str(body, "version", "4") ||
        set_str(body, "groupKey",
                n->group_key && *n->group_key ? n->group_key : "{}") ||
        json_object_set_new(body, "truncatedAlerts",
                            json_integer((json_int_t)(total - shown))) ||
        set_str(body, "status", firing ? "firing" : "resolved") ||
        set_str(body, "receiver", n->receiver) ||
        json_object_set(body, "groupLabels", gl) ||
        json_object_set_new(body, "commonLabels", common_of(arr, "labels")) ||
        json_object_set_new(body, "commonAnnotations",
                            common_of(arr, "annotations")) ||
        set_str(body, "externalURL", external_url))
        goto out;
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (text) {
        *out = text;
        rc = TOCSIN_OK;
    }
out:
    json_decref(gl);
    json_decref(body);
    return rc;
}
