/*
 * recv_pagerduty.c: PagerDuty Events API v2 (developer-docs): POST
 * /v2/enqueue with routing_key, event_action trigger|resolve, dedup_key =
 * the alert fingerprint, and for a trigger payload.{summary (at most 1,024
 * characters), source, severity, timestamp, component, class,
 * custom_details}, links, client, client_url.  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"

#define PD_SUMMARY_MAX 1024
#define PD_DEDUP_MAX   255

static const char *
pd_severity(const char *s)
{
    static const char *const ok[] = {"critical", "error", "warning", "info"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(s, ok[i]) == 0)
            return ok[i];
    return "warning";
}

static json_t *
details_of(const struct tocsin_message *m)
{
    json_t *d = json_object();
    json_t *samples = json_array();
    if (!d || !samples)
        goto fail;
    for (size_t i = 0; i < m->nsamples && i < 3; i++) {
        const struct tocsin_message_sample *s = &m->samples[i];
        json_t *j = json_pack("{s:s, s:s, s:s}", "author", s->author, "text",
                              s->text, "url", s->url);
        if (!j ||
            (s->followers >= 0 &&
             recv_set(j, "followers", json_integer(s->followers))) ||
            json_array_append_new(samples, j))
            goto fail;
    }
    json_t *terms = json_array();
    for (size_t i = 0; terms && i < m->nterms; i++)
        if (json_array_append_new(terms, json_string(m->terms[i])))
            break;
    if (recv_set(d, "description", json_string(m->description)) ||
        recv_set(d, "topic", json_string(m->topic)) ||
        (m->nterms && recv_set(d, "terms", terms)) ||
        (!m->nterms && (json_decref(terms), 0)) ||
        recv_set(d, "samples", samples))
        goto fail_d;
    return d;
fail:
    json_decref(samples);
fail_d:
    json_decref(d);
    return NULL;
}

tocsin_err
recv_pagerduty(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    const struct tocsin_message *m = c->m;
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!r->token)
        return TOCSIN_EINVAL;
    tocsin_err err = recv_set_url(
        q, r->url ? r->url : "https://events.pagerduty.com/v2/enqueue", "");
    if (err)
        return err;
    const char *dedup = m->fingerprint[0] ? m->fingerprint : c->delivery;
    char key[PD_DEDUP_MAX + 1];
    size_t kn = tocsin_utf8_prefix(dedup, strlen(dedup), PD_DEDUP_MAX,
                                   TOCSIN_UNIT_BYTES);
    memcpy(key, dedup, kn);
    key[kn] = '\0';
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "routing_key", r->token, "event_action",
                  m->resolved ? "resolve" : "trigger", "dedup_key", key);
    if (!o)
        return TOCSIN_ENOMEM;
    if (m->resolved)
        return recv_json_body(q, o);
    err = TOCSIN_ENOMEM;
    char *summary = tocsin_message_title(m, PD_SUMMARY_MAX, TOCSIN_UNIT_CHARS);
    json_t *payload = summary ? json_pack("{s:s, s:s, s:s}", "summary", summary,
                                          "source", recv_source(r), "severity",
                                          pd_severity(m->severity))
                              : NULL;
    if (!payload)
        goto out;
    if ((m->starts_at[0] &&
         recv_set(payload, "timestamp", json_string(m->starts_at))) ||
        (m->topic[0] &&
         recv_set(payload, "component", json_string(m->topic))) ||
        (m->alertname[0] &&
         recv_set(payload, "class", json_string(m->alertname))) ||
        recv_set(payload, "custom_details", details_of(m)))
        goto out;
    int bad = recv_set(o, "payload", payload);
    payload = NULL;
    if (bad || recv_set(o, "client", json_string("tocsin")))
        goto out;
    if (m->external_url[0] &&
        recv_set(o, "client_url", json_string(m->external_url)))
        goto out;
    if (m->link[0] && recv_set(o, "links",
                               json_pack("[{s:s, s:s}]", "href", m->link,
                                         "text", "Open in tocsin")))
        goto out;
    err = recv_json_body(q, o);
    o = NULL;
out:
    json_decref(payload);
    json_decref(o);
    free(summary);
    return err;
}
