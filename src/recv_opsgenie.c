/*
 * recv_opsgenie.c: Opsgenie Alert API: create with POST /v2/alerts
 * (message at most 130 characters, alias = the fingerprint, description,
 * priority P1-P5 by severity, tags, details, source, entity), close a
 * resolved alert with POST /v2/alerts/<alias>/close?identifierType=alias.
 * Auth: "Authorization: GenieKey <key>".  Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"

#define OPSGENIE_MESSAGE_MAX 130
#define OPSGENIE_DESC_MAX    15000

static const int prio_default[TOCSIN_PRIO_NSLOTS] = {1, 2, 3, 4, 5};

tocsin_err
recv_opsgenie(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    const struct tocsin_message *m = c->m;
    const char *base = r->url ? r->url : "https://api.opsgenie.com";
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!r->token)
        return TOCSIN_EINVAL;
    const char *alias = m->fingerprint[0] ? m->fingerprint : c->delivery;
    tocsin_err err = recv_header(q, "Authorization: GenieKey %s", r->token);
    if (err)
        return err;
    if (m->resolved) {
        char path[160];
        snprintf(path, sizeof path,
                 "/v2/alerts/%.64s/close?identifierType=alias", alias);
        if ((err = recv_set_url(q, base, path)))
            return err;
        return recv_json_body(q,
                              json_pack("{s:s, s:s}", "source", recv_source(r),
                                        "note", "Resolved by tocsin"));
    }
    if ((err = recv_set_url(q, base, "/v2/alerts")))
        return err;
    char prio[8];
    snprintf(prio, sizeof prio, "P%d", recv_priority(r, m, prio_default));
    char *msg =
        tocsin_message_title(m, OPSGENIE_MESSAGE_MAX, TOCSIN_UNIT_CHARS);
    char *desc = tocsin_message_text(m, TOCSIN_TEXT_SUMMARY | TOCSIN_TEXT_LINK,
                                     TOCSIN_MARKUP_PLAIN, 3, OPSGENIE_DESC_MAX,
                                     TOCSIN_UNIT_CHARS);
    json_t *o = NULL;
    err = TOCSIN_ENOMEM;
    if (!msg || !desc)
        goto out;
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s, s], s:{s:s, s:s, s:s}}",
                  "message", msg, "alias", alias, "description", desc,
                  "priority", prio, "source", recv_source(r), "tags",
                  m->severity, m->alertname[0] ? m->alertname : "tocsin",
                  "details", "topic", m->topic, "severity", m->severity, "link",
                  m->link);
    if (!o || (m->topic[0] && recv_set(o, "entity", json_string(m->topic))))
        goto out;
    err = recv_json_body(q, o);
    o = NULL;
out:
    json_decref(o);
    free(msg);
    free(desc);
    return err;
}
