/*
 * recv_webhook.c: the generic webhook (and Apprise json://): the outbox
 * body as is, with X-Tocsin-Delivery and, with a secret, the
 * X-Tocsin-Signature HMAC.  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"
#include "tocsin/sign.h"

tocsin_err
recv_webhook(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    tocsin_err err;
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!r->url)
        return TOCSIN_EINVAL;
    if ((err = recv_set_url(q, r->url, "")))
        return err;
    q->body = malloc(c->len + 1);
    if (!q->body)
        return TOCSIN_ENOMEM;
    memcpy(q->body, c->body, c->len);
    q->body[c->len] = '\0';
    q->body_len = c->len;
    if ((err = recv_header(q, "Content-Type: application/json")) ||
        (err = recv_header(q, "X-Tocsin-Delivery: %s", c->delivery)))
        return err;
    if (r->secret && r->secret[0]) {
        char sig[TOCSIN_SIGN_MAX];
        err = tocsin_sign_webhook(r->secret, (long long)(c->now_ms / 1000),
                                  c->body, c->len, sig, sizeof sig);
        if (err || (err = recv_header(q, "X-Tocsin-Signature: %s", sig)))
            return err;
    }
    return TOCSIN_OK;
}
