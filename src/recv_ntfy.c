/*
 * recv_ntfy.c: ntfy (docs/publish.md), JSON publishing to the server's
 * root URL: topic, title, message (at most 4,096 bytes), priority by
 * severity, tags, click link, an "Acknowledge" http action pointing at
 * the ack URL (a group's message from on call: one per alert, up to the
 * three actions ntfy allows, most severe first), and the alert
 * fingerprint as sequence_id so that the resolved event updates the
 * firing notification (ntfy >= 2.16; not for a group's message).  Auth:
 * Bearer token, or Basic user:password.  Pure.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"

#define NTFY_MESSAGE_MAX 4096
#define NTFY_TITLE_MAX   250
#define NTFY_MAX_ACTIONS 3  /* ntfy refuses more */
#define NTFY_LABEL_MAX   40

static const int prio_default[TOCSIN_PRIO_NSLOTS] = {5, 4, 4, 3, 2};

static const char *
tag_of(const struct tocsin_message *m)
{
    if (m->resolved)
        return "white_check_mark";
    return strcmp(m->severity, "critical") == 0 ? "rotating_light" : "warning";
}

static tocsin_err
basic_auth(struct tocsin_request *q, const char *user, const char *pass)
{
    size_t n = strlen(user) + strlen(pass) + 1;
    unsigned char *plain = malloc(n + 1);
    unsigned char *enc = malloc(4 * ((n + 2) / 3) + 1);
    tocsin_err err = TOCSIN_ENOMEM;
    if (plain && enc) {
        memcpy(plain, user, strlen(user));
        plain[strlen(user)] = ':';
        memcpy(plain + strlen(user) + 1, pass, strlen(pass));
        EVP_EncodeBlock(enc, plain, (int)n);
        err = recv_header(q, "Authorization: Basic %s", (char *)enc);
    }
    if (plain)
        memset(plain, 0, n);
    free(plain);
    free(enc);
    return err;
}

tocsin_err
recv_ntfy(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    const struct tocsin_message *m = c->m;
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!r->topic)
        return TOCSIN_EINVAL;
    tocsin_err err = recv_set_url(q, r->url ? r->url : "https://ntfy.sh", "");
    if (err)
        return err;
    if (r->token &&
        (err = recv_header(q, "Authorization: Bearer %s", r->token)))
        return err;
    if (!r->token && r->user &&
        (err = basic_auth(q, r->user, r->password ? r->password : "")))
        return err;

    int oom = 0;
    char *title = tocsin_message_title(m, NTFY_TITLE_MAX, TOCSIN_UNIT_CHARS);
    char *text = tocsin_message_text(m, 0, TOCSIN_MARKUP_PLAIN, 3,
                                     NTFY_MESSAGE_MAX, TOCSIN_UNIT_BYTES);
    char *ack = m->resolved ? NULL : recv_ack_url(r, m, &oom);
    json_t *o = json_object();
    json_t *tags = json_array();
    json_t *actions = json_array();
    err = TOCSIN_ENOMEM;
    if (!title || !text || oom || !o || !tags || !actions)
        goto out;
    if (json_array_append_new(tags, json_string(tag_of(m))) ||
        (m->alertname[0] &&
         json_array_append_new(tags, json_string(m->alertname))))
        goto out;
    /* A group's message: one Acknowledge button per alert, most severe
     * first, as many as ntfy allows (3); "Open" if room is left. */
    size_t nack = 0;
    for (size_t i = 0; m->total > 1 && !m->resolved && i < m->nalerts &&
                       nack < NTFY_MAX_ACTIONS;
         i++) {
        const struct tocsin_message_alert *x = &m->alerts[i];
        if (!x->ack_url[0] || x->resolved)
            continue;
        char label[64];
        snprintf(label, sizeof label, "Ack %s (%s)",
                 x->topic[0] ? x->topic : x->fingerprint, x->severity);
        char *l = tocsin_utf8_ellipsize(label, NTFY_LABEL_MAX,
                                        TOCSIN_UNIT_CHARS);
        json_t *a = l ? json_pack("{s:s, s:s, s:s, s:s, s:b}", "action",
                                  "http", "label", l, "url", x->ack_url,
                                  "method", "POST", "clear", 0)
                      : NULL;
        free(l);
        if (!a || json_array_append_new(actions, a))
            goto out;
        nack++;
    }
    if (nack) {
        free(ack); /* the buttons above replace the single one */
        ack = NULL;
    }
    if (m->link[0] && json_array_size(actions) < NTFY_MAX_ACTIONS) {
        json_t *view = json_pack("{s:s, s:s, s:s}", "action", "view", "label",
                                 "Open", "url", m->link);
        if (!view || json_array_append_new(actions, view))
            goto out;
    }
    if (ack) {
        json_t *a =
            json_pack("{s:s, s:s, s:s, s:s, s:b}", "action", "http", "label",
                      "Acknowledge", "url", ack, "method", "POST", "clear", 1);
        if (!a || json_array_append_new(actions, a))
            goto out;
    }
    if (recv_set(o, "topic", json_string(r->topic)) ||
        recv_set(o, "title", json_string(title)) ||
        recv_set(o, "message", json_string(text)) ||
        recv_set(o, "priority",
                 json_integer(recv_priority(r, m, prio_default))) ||
        recv_set(o, "tags", tags))
        goto out;
    tags = NULL;
    if (m->link[0] && recv_set(o, "click", json_string(m->link)))
        goto out;
    /* ntfy >= 2.16 updates a notification in place when a message carries
     * its sequence id: the resolved event replaces the firing one on the
     * phone.  Older servers ignore the field and show a new notification. */
    char seq[65];
    size_t k = 0;
    for (const char *p = m->fingerprint; *p && k + 1 < sizeof seq; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
            seq[k++] = *p;
    seq[k] = '\0';
    /* Not for a group's message: one alert's resolution would replace
     * the notification that lists the others. */
    if (k && m->total <= 1 && recv_set(o, "sequence_id", json_string(seq)))
        goto out;
    if (json_array_size(actions) > 0) {
        int bad = recv_set(o, "actions", actions);
        actions = NULL;
        if (bad)
            goto out;
    }
    err = recv_json_body(q, o);
    o = NULL;
out:
    json_decref(o);
    json_decref(tags);
    json_decref(actions);
    free(title);
    free(text);
    free(ack);
    return err;
}
