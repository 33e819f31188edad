/*
 * event.c: building the webhook body of an alert event with jansson.
 * Owns nothing past the returned string.  Called by the ingest loop (to
 * fill the outbox) and by replay.
 */
#include "tocsin/event.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/mention.h"

const char *
tocsin_alertname(enum tocsin_alert_kind kind)
{
    return kind == TOCSIN_ALERT_VOLUME ? "MentionVolumeSpike"
                                       : "NegativityShift";
}

static double
ratio_of(const struct tocsin_alert_event *ev)
{
    return ev->expected > 0 ? ev->observed / ev->expected : 0;
}

/* "10 min", "45 s", "2 h" */
static void
span_text(int64_t ms, char *buf, size_t n)
{
    int64_t s = ms / 1000;
    if (s >= 7200 && s % 3600 == 0)
        snprintf(buf, n, "%lld h", (long long)(s / 3600));
    else if (s >= 120)
        snprintf(buf, n, "%lld min", (long long)((s + 30) / 60));
    else
        snprintf(buf, n, "%lld s", (long long)s);
}

/* Round for display: keeps the JSON short and stable. */
static double
round_to(double x, double unit)
{
    return round(x / unit) * unit;
}

void
tocsin_event_summary(const struct tocsin_alert_event *ev, char *buf, size_t n)
{
    double share = ev->negative_share;
    if (ev->kind == TOCSIN_ALERT_VOLUME) {
        if (share >= 0)
            snprintf(buf, n, "%s: volume %.1f\xc3\x97 normal, %.0f%% negative",
                     ev->topic, ratio_of(ev), 100 * share);
        else
            snprintf(buf, n, "%s: volume %.1f\xc3\x97 normal", ev->topic,
                     ratio_of(ev));
    } else {
        snprintf(buf, n, "%s: %.0f%% negative (usual %.0f%%)", ev->topic,
                 100 * (share > 0 ? share : 0), 100 * ev->negative_baseline);
    }
}

static void
description(const struct tocsin_alert_event *ev, char *buf, size_t n)
{
    char span[32];
    span_text(ev->window_ms, span, sizeof span);
    int k = snprintf(buf, n,
                     "%.0f mentions in %s, %.1f\xc3\x97 the usual for this "
                     "time (%.1f expected)",
                     ev->observed, span, ratio_of(ev), ev->expected);
    if (k < 0 || (size_t)k >= n)
        return;
    if (ev->negative_share >= 0) {
        int m = snprintf(buf + k, n - (size_t)k,
                         "; %.0f%% negative (usual %.0f%%)",
                         100 * ev->negative_share, 100 * ev->negative_baseline);
        if (m < 0 || (size_t)(k + m) >= n)
            return;
        k += m;
    }
    for (size_t i = 0; i < ev->nterms; i++) {
        int m = snprintf(buf + k, n - (size_t)k, "%s%s",
                         i ? ", " : "; talk of ", ev->terms[i]);
        if (m < 0 || (size_t)(k + m) >= n)
            return;
        k += m;
    }
}

static int
set_new(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *
labels_of(const struct tocsin_alert_event *ev)
{
    json_t *l = json_object();
    if (!l || set_new(l, "alertname", json_string(tocsin_alertname(ev->kind))) ||
        set_new(l, "topic", json_string(ev->topic)) ||
        set_new(l, "severity", json_string(ev->severity))) {
        json_decref(l);
        return NULL;
    }
    return l;
}

static json_t *
terms_of(const struct tocsin_alert_event *ev)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < ev->nterms; i++)
        if (json_array_append_new(a, json_string(ev->terms[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *
evidence_of(const struct tocsin_alert_event *ev)
{
    json_t *o = json_object();
    json_t *samples = json_array();
    if (!o || !samples)
        goto fail;
    for (size_t i = 0; i < ev->nsamples; i++) {
        const struct tocsin_sample *s = &ev->samples[i];
        json_t *j = json_object();
        char ts[40];
        tocsin_format_time(s->ts_ms, ts, sizeof ts);
        if (!j || json_array_append_new(samples, j) ||
            set_new(j, "text", json_string(s->text)) ||
            set_new(j, "author", json_string(s->author)) ||
            set_new(j, "followers",
                    s->followers >= 0 ? json_integer(s->followers)
                                      : json_null()) ||
            set_new(j, "url", json_string(s->url)) ||
            set_new(j, "id", json_string(s->id)) ||
            set_new(j, "ts", json_string(ts)) ||
            set_new(j, "negative", json_boolean(s->negative)))
            goto fail;
    }
    if (set_new(o, "window_seconds", json_integer(ev->window_ms / 1000)) ||
        set_new(o, "observed", json_real(round_to(ev->observed, 1))) ||
        set_new(o, "expected", json_real(round_to(ev->expected, 0.01))) ||
        set_new(o, "ratio", json_real(round_to(ratio_of(ev), 0.01))) ||
        set_new(o, "negatives", json_real(round_to(ev->negatives, 1))) ||
        set_new(o, "scored", json_real(round_to(ev->scored, 1))) ||
        set_new(o, "negative_share",
                ev->negative_share >= 0
                    ? json_real(round_to(ev->negative_share, 0.001))
                    : json_null()) ||
        set_new(o, "negative_baseline",
                json_real(round_to(ev->negative_baseline, 0.001))) ||
        set_new(o, "score", json_real(round_to(ev->score, 0.001))) ||
        set_new(o, "emerging_terms", terms_of(ev)) ||
        set_new(o, "samples", samples))
        goto fail_o;
    return o;
fail:
    json_decref(samples);
fail_o:
    json_decref(o);
    return NULL;
}

tocsin_err
tocsin_event_body(char **out, const struct tocsin_alert_event *ev,
                  const char *receiver, const char *external_url)
{
    const char *status =
        ev->status == TOCSIN_ALERT_FIRING ? "firing" : "resolved";
    char starts[40], ends[40], summary[512], desc[512], gkey[600], gen[600];
    tocsin_format_time(ev->starts_ms, starts, sizeof starts);
    if (ev->status == TOCSIN_ALERT_RESOLVED)
        tocsin_format_time(ev->ends_ms, ends, sizeof ends);
    else
        snprintf(ends, sizeof ends, "0001-01-01T00:00:00Z");
    tocsin_event_summary(ev, summary, sizeof summary);
    description(ev, desc, sizeof desc);
    snprintf(gkey, sizeof gkey, "{}:{alertname=\"%s\", topic=\"%s\"}",
             tocsin_alertname(ev->kind), ev->topic);
    snprintf(gen, sizeof gen, "%s/alerts/%s", external_url, ev->fingerprint);

    tocsin_err err = TOCSIN_ENOMEM;
    json_t *body = json_object();
    json_t *alerts = json_array();
    json_t *alert = json_object();
    json_t *ann = json_object();
    if (!body || !alerts || !alert || !ann)
        goto out;
    if (set_new(ann, "summary", json_string(summary)) ||
        set_new(ann, "description", json_string(desc)))
        goto out;
    if (set_new(alert, "status", json_string(status)) ||
        set_new(alert, "labels", labels_of(ev)) ||
        set_new(alert, "annotations", json_deep_copy(ann)) ||
        set_new(alert, "startsAt", json_string(starts)) ||
        set_new(alert, "endsAt", json_string(ends)) ||
        set_new(alert, "generatorURL", json_string(gen)) ||
        set_new(alert, "fingerprint", json_string(ev->fingerprint)) ||
        set_new(alert, "tocsin", evidence_of(ev)))
        goto out;
    json_t *glabels = json_object();
    if (!glabels || set_new(glabels, "alertname",
                            json_string(tocsin_alertname(ev->kind))) ||
        set_new(glabels, "topic", json_string(ev->topic))) {
        json_decref(glabels);
        goto out;
    }
    if (set_new(body, "version", json_string("4")) ||
        set_new(body, "groupKey", json_string(gkey)) ||
        set_new(body, "truncatedAlerts", json_integer(0)) ||
        set_new(body, "status", json_string(status)) ||
        set_new(body, "receiver", json_string(receiver)) ||
        set_new(body, "groupLabels", glabels) ||
        set_new(body, "commonLabels", labels_of(ev)) ||
        set_new(body, "commonAnnotations", json_deep_copy(ann)) ||
        set_new(body, "externalURL", json_string(external_url)))
        goto out;
    int bad = json_array_append_new(alerts, alert);
    alert = NULL; /* the array owns it, or it was released */
    if (bad)
        goto out;
    bad = set_new(body, "alerts", alerts);
    alerts = NULL;
    if (bad)
        goto out;
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (text) {
        *out = text;
        err = TOCSIN_OK;
    }
out:
    json_decref(ann);
    json_decref(alert);
    json_decref(alerts);
    json_decref(body);
    return err;
}
