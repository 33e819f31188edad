/*
 * recv_webpush.c: Web Push (RFC 8030) to one browser subscription: POST
 * to its endpoint (url) the event as JSON (title, body, link, tag =
 * fingerprint, status, severity), encrypted for the subscription's p256dh
 * key and auth secret with aes128gcm (RFC 8291, jose.h), signed with VAPID
 * (RFC 8292: Authorization: vapid t=<ES256 JWT, aud = the endpoint's
 * origin, exp 12 h, sub>, k=<public key>).  Headers TTL (ttl), Urgency
 * (high for critical, normal, low when resolved) and Topic (from the
 * fingerprint, so a newer message replaces an undelivered older one).
 * 404 and 410 mean the subscription is gone: the event is given up with
 * that reason.  Pure apart from the random key and salt of each message.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"
#include "tocsin/jose.h"

#define WEBPUSH_TITLE_MAX 200
#define WEBPUSH_BODY_MAX  2000
#define VAPID_LIFE_S      (12 * 3600)

/* "scheme://host[:port]" of url, at most n bytes. */
static int
origin_of(const char *url, char *out, size_t n)
{
    const char *p = strstr(url, "://");
    if (!p)
        return -1;
    p += 3;
    size_t hl = strcspn(p, "/?#");
    int k = snprintf(out, n, "%.*s", (int)(p - url) + (int)hl, url);
    return k > 0 && (size_t)k < n ? 0 : -1;
}

static tocsin_err
vapid(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    char origin[512];
    if (origin_of(r->url, origin, sizeof origin))
        return TOCSIN_EINVAL;
    long long exp = c->now_ms / 1000 + VAPID_LIFE_S;
    json_t *cl = json_pack("{s:s, s:I, s:s}", "aud", origin, "exp",
                           (json_int_t)exp, "sub", r->subject);
    char *claims =
        cl ? json_dumps(cl, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(cl);
    if (!claims)
        return TOCSIN_ENOMEM;
    char *jwt = NULL, *k = NULL;
    unsigned char pub[TOCSIN_P256_PUBLIC_LEN];
    tocsin_err err = tocsin_jwt_sign(&jwt, "ES256", NULL, claims, r->key);
    free(claims);
    if (!err)
        err = tocsin_p256_public(r->key, pub);
    if (!err) {
        k = tocsin_b64url_encode(pub, sizeof pub);
        err = k ? recv_header(q, "Authorization: vapid t=%s, k=%s", jwt, k)
                : TOCSIN_ENOMEM;
    }
    free(jwt);
    free(k);
    return err;
}

tocsin_err
recv_webpush(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    const struct tocsin_message *m = c->m;
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!r->url || !r->p256dh || !r->auth || !r->key || !r->subject)
        return TOCSIN_EINVAL;
    unsigned char *ua = NULL, *auth = NULL, *enc = NULL;
    size_t ual = 0, authl = 0, encl = 0;
    char *title = NULL, *text = NULL, *plain = NULL;
    tocsin_err err;
    if ((err = tocsin_b64url_decode(r->p256dh, &ua, &ual)) ||
        (err = tocsin_b64url_decode(r->auth, &auth, &authl)))
        goto out;
    if ((err = recv_set_url(q, r->url, "")) || (err = vapid(q, c)) ||
        (err = recv_header(q, "TTL: %d", r->ttl_s)) ||
        (err = recv_header(q, "Urgency: %s",
                           m->resolved                            ? "low"
                           : strcmp(m->severity, "critical") == 0 ? "high"
                                                                  : "normal")))
        goto out;
    if (m->fingerprint[0]) {
        /* Topic: at most 32 characters of the URL-safe base64 alphabet. */
        char topic[33];
        size_t k = 0;
        for (const char *p = m->fingerprint; *p && k < 32; p++)
            if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
                topic[k++] = *p;
        topic[k] = '\0';
        if (k && (err = recv_header(q, "Topic: %s", topic)))
            goto out;
    }
    if ((err = recv_header(q, "Content-Encoding: aes128gcm")) ||
        (err = recv_header(q, "Content-Type: application/octet-stream")))
        goto out;
    err = TOCSIN_ENOMEM;
    title = tocsin_message_title(m, WEBPUSH_TITLE_MAX, TOCSIN_UNIT_CHARS);
    text = tocsin_message_text(m, 0, TOCSIN_MARKUP_PLAIN, 2, WEBPUSH_BODY_MAX,
                               TOCSIN_UNIT_BYTES);
    if (!title || !text)
        goto out;
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "title", title, "body",
                  text[0] ? text : title, "url", m->link, "tag", m->fingerprint,
                  "status", m->status, "severity", m->severity);
    plain = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!plain)
        goto out;
    err = tocsin_ece_encrypt(&enc, &encl, (const unsigned char *)plain,
                             strlen(plain), ua, ual, auth, authl, NULL, NULL);
    if (err)
        goto out;
    free(q->body);
    q->body = (char *)enc;
    q->body_len = encl;
    enc = NULL;
out:
    free(ua);
    if (auth) {
        explicit_bzero(auth, authl);
        free(auth);
    }
    free(enc);
    free(title);
    free(text);
    free(plain);
    return err;
}
