/*
 * recv_gotify.c: Gotify: POST <base>/message with the application token
 * in X-Gotify-Key; title, message, priority by severity (critical 8) and a
 * click URL in extras.  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"

static const int prio_default[TOCSIN_PRIO_NSLOTS] = {8, 7, 5, 3, 2};

tocsin_err
recv_gotify(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    const struct tocsin_message *m = c->m;
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!r->url || !r->token)
        return TOCSIN_EINVAL;
    tocsin_err err;
    if ((err = recv_set_url(q, r->url, "/message")) ||
        (err = recv_header(q, "X-Gotify-Key: %s", r->token)))
        return err;
    char *title = tocsin_message_title(m, 250, TOCSIN_UNIT_CHARS);
    char *text = tocsin_message_text(m, 0, TOCSIN_MARKUP_PLAIN, 3, 4000,
                                     TOCSIN_UNIT_CHARS);
    json_t *o = NULL;
    err = TOCSIN_ENOMEM;
    if (!title || !text)
        goto out;
    o = json_pack("{s:s, s:s, s:i, s:{s:{s:s}}}", "title", title, "message",
                  text[0] ? text : title, "priority",
                  recv_priority(r, m, prio_default), "extras",
                  "client::display", "contentType", "text/plain");
    if (!o)
        goto out;
    if (m->link[0]) {
        json_t *ex = json_object_get(o, "extras");
        if (recv_set(ex, "client::notification",
                     json_pack("{s:{s:s}}", "click", "url", m->link)))
            goto out;
    }
    err = recv_json_body(q, o);
    o = NULL;
out:
    json_decref(o);
    free(title);
    free(text);
    return err;
}
