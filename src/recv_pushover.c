/*
 * recv_pushover.c: Pushover (pushover.net/api): POST /1/messages.json,
 * form-encoded token, user, title (at most 250 characters), message (at
 * most 1,024), priority by severity, url.  Priority 2 (emergency, the
 * default for critical) adds retry, expire and the fingerprint as a tag;
 * a resolved event first cancels those retries (POST
 * /1/receipts/cancel_by_tag/<fingerprint>.json), then says it resolved.
 * An ack_url becomes the emergency callback.  Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"

#define PUSHOVER_TITLE_MAX   250
#define PUSHOVER_MESSAGE_MAX 1024

static const int prio_default[TOCSIN_PRIO_NSLOTS] = {2, 1, 0, -1, 0};

/* The priority the firing event of m was sent with. */
static int
firing_priority(const struct tocsin_receiver_config *r,
                const struct tocsin_message *m)
{
    struct tocsin_message f = *m;
    f.resolved = 0;
    return recv_priority(r, &f, prio_default);
}

static tocsin_err
form_body(struct tocsin_request *q, char *form, size_t len)
{
    free(q->body);
    q->body = form;
    q->body_len = len;
    return recv_header(q, "Content-Type: application/x-www-form-urlencoded");
}

tocsin_err
recv_pushover(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    const struct tocsin_message *m = c->m;
    const char *base = r->url ? r->url : "https://api.pushover.net";
    if (!r->token || !r->user)
        return TOCSIN_EINVAL;
    int cancel = m->resolved && m->fingerprint[0] && firing_priority(r, m) == 2;
    unsigned step = c->step;
    char *form = NULL;
    size_t len = 0;
    tocsin_err err;
    if (cancel && step == 0) {
        char path[128];
        snprintf(path, sizeof path, "/1/receipts/cancel_by_tag/%.64s.json",
                 m->fingerprint);
        if ((err = recv_set_url(q, base, path)) ||
            (err = recv_form_add(&form, &len, "token", r->token)))
            goto out;
        return form_body(q, form, len);
    }
    if (step != (unsigned)cancel)
        return TOCSIN_ENOENT;
    if ((err = recv_set_url(q, base, "/1/messages.json")))
        return err;
    int prio = recv_priority(r, m, prio_default);
    char num[32];
    char *title =
        tocsin_message_title(m, PUSHOVER_TITLE_MAX, TOCSIN_UNIT_CHARS);
    char *text = tocsin_message_text(m, 0, TOCSIN_MARKUP_PLAIN, 2,
                                     PUSHOVER_MESSAGE_MAX, TOCSIN_UNIT_CHARS);
    int oom = 0;
    char *ack = prio == 2 && r->ack_url ? recv_ack_url(r, m, &oom) : NULL;
    err = TOCSIN_ENOMEM;
    if (!title || !text || oom)
        goto out2;
    snprintf(num, sizeof num, "%d", prio);
    if ((err = recv_form_add(&form, &len, "token", r->token)) ||
        (err = recv_form_add(&form, &len, "user", r->user)) ||
        (err = recv_form_add(&form, &len, "title", title)) ||
        (err = recv_form_add(&form, &len, "message", text[0] ? text : title)) ||
        (err = recv_form_add(&form, &len, "priority", num)))
        goto out2;
    if (prio == 2) {
        snprintf(num, sizeof num, "%d", r->retry_s > 0 ? r->retry_s : 60);
        if ((err = recv_form_add(&form, &len, "retry", num)))
            goto out2;
        snprintf(num, sizeof num, "%d", r->expire_s > 0 ? r->expire_s : 3600);
        if ((err = recv_form_add(&form, &len, "expire", num)))
            goto out2;
        if (m->fingerprint[0] &&
            (err = recv_form_add(&form, &len, "tags", m->fingerprint)))
            goto out2;
        if (ack && (err = recv_form_add(&form, &len, "callback", ack)))
            goto out2;
    }
    if (m->link[0] &&
        ((err = recv_form_add(&form, &len, "url", m->link)) ||
         (err = recv_form_add(&form, &len, "url_title", "Open in tocsin"))))
        goto out2;
    if (r->device && (err = recv_form_add(&form, &len, "device", r->device)))
        goto out2;
    free(title);
    free(text);
    free(ack);
    return form_body(q, form, len);
out2:
    free(title);
    free(text);
    free(ack);
out:
    free(form);
    return err;
}
