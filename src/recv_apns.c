/*
 * recv_apns.c: Apple Push Notification service over HTTP/2.  POST
 * <url>/3/device/<device token> with a provider token (an ES256 JWT, kid =
 * key id, iss = team id, iat), apns-topic (the app's bundle id),
 * apns-push-type alert, apns-priority 10 (5 when resolved), apns-expiration
 * (now + ttl), apns-collapse-id (the alert fingerprint, so the resolved
 * notice replaces the firing one); payload aps.alert title/body,
 * interruption-level time-sensitive (critical with `critical = true`,
 * which needs Apple's entitlement; active when resolved), sound,
 * thread-id.
 *
 * Apple wants the provider token reused: refreshed no more than once per
 * 20 minutes and at least once per 60.  It is kept in the token cache
 * (tokcache.h) and signed again after 50 minutes, or when Apple answers
 * 403 ExpiredProviderToken / InvalidProviderToken.  410 Unregistered means
 * the device token is gone: the event is given up with that reason.  Pure
 * apart from the token cache.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"
#include "tocsin/jose.h"
#include "tocsin/tokcache.h"

#define APNS_DEFAULT_URL "https://api.push.apple.com"
#define APNS_TOKEN_LIFE  (50LL * 60 * 1000) /* Apple: 20 to 60 minutes */
#define APNS_TITLE_MAX   200
#define APNS_BODY_MAX    1500

static void
cache_key(char *out, size_t n, const struct tocsin_receiver_config *r)
{
    snprintf(out, n, "apns:%s:%s:%s", r->name ? r->name : "",
             r->team_id ? r->team_id : "", r->key_id ? r->key_id : "");
}

void
recv_apns_forget(const struct tocsin_receiver_config *r)
{
    char key[512];
    cache_key(key, sizeof key, r);
    tocsin_tokcache_drop(key);
}

/* The cached provider token, or a new one (signed at now_ms). */
static tocsin_err
provider_token(const struct tocsin_receiver_config *r, int64_t now_ms,
               char **out)
{
    char key[512];
    cache_key(key, sizeof key, r);
    tocsin_err err = tocsin_tokcache_get(key, now_ms, 0, out, NULL);
    if (err != TOCSIN_ENOENT)
        return err;
    long long iat = now_ms / 1000;
    json_t *cl =
        json_pack("{s:s, s:I}", "iss", r->team_id, "iat", (json_int_t)iat);
    char *claims =
        cl ? json_dumps(cl, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(cl);
    if (!claims)
        return TOCSIN_ENOMEM;
    char *jwt = NULL;
    err = tocsin_jwt_sign(&jwt, "ES256", r->key_id, claims, r->key);
    free(claims);
    if (err)
        return err;
    err = tocsin_tokcache_put(key, jwt, now_ms, now_ms + APNS_TOKEN_LIFE);
    if (err) {
        free(jwt);
        return err;
    }
    *out = jwt;
    return TOCSIN_OK;
}

tocsin_err
recv_apns(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    const struct tocsin_message *m = c->m;
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!r->device || !r->topic || !r->key || !r->key_id || !r->team_id)
        return TOCSIN_EINVAL;
    char *jwt = NULL, *title = NULL, *text = NULL;
    json_t *o = NULL;
    tocsin_err err = provider_token(r, c->now_ms, &jwt);
    if (err)
        return err;
    char path[400];
    snprintf(path, sizeof path, "/3/device/%.300s", r->device);
    q->http2 = 1;
    if ((err = recv_set_url(q, r->url ? r->url : APNS_DEFAULT_URL, path)) ||
        (err = recv_header(q, "authorization: bearer %s", jwt)) ||
        (err = recv_header(q, "apns-topic: %s", r->topic)) ||
        (err = recv_header(q, "apns-push-type: alert")) ||
        (err = recv_header(q, "apns-priority: %s", m->resolved ? "5" : "10")) ||
        (err = recv_header(
             q, "apns-expiration: %lld",
             r->ttl_s > 0 ? (long long)(c->now_ms / 1000 + r->ttl_s) : 0LL)))
        goto out;
    if (m->fingerprint[0] &&
        (err = recv_header(q, "apns-collapse-id: %.64s", m->fingerprint)))
        goto out;
    err = TOCSIN_ENOMEM;
    title = tocsin_message_title(m, APNS_TITLE_MAX, TOCSIN_UNIT_CHARS);
    text = tocsin_message_text(m, 0, TOCSIN_MARKUP_PLAIN, 2, APNS_BODY_MAX,
                               TOCSIN_UNIT_BYTES);
    if (!title || !text)
        goto out;
    int crit = !m->resolved && strcmp(m->severity, "critical") == 0;
    const char *level = m->resolved           ? "active"
                        : crit && r->critical ? "critical"
                                              : "time-sensitive";
    const char *snd = r->sound ? r->sound : "default";
    json_t *sound = crit && r->critical
                        ? json_pack("{s:i, s:s, s:f}", "critical", 1, "name",
                                    snd, "volume", 1.0)
                        : json_string(snd);
    o = json_pack("{s:{s:{s:s, s:s}, s:s, s:o}, s:s, s:s, s:s}", "aps", "alert",
                  "title", title, "body", text[0] ? text : title,
                  "interruption-level", level, "sound", sound, "fingerprint",
                  m->fingerprint, "status", m->status, "link", m->link);
    if (!o)
        goto out;
    if (m->fingerprint[0] && recv_set(json_object_get(o, "aps"), "thread-id",
                                      json_string(m->fingerprint)))
        goto out;
    err = recv_json_body(q, o);
    o = NULL;
out:
    json_decref(o);
    free(title);
    free(text);
    explicit_bzero(jwt, strlen(jwt));
    free(jwt);
    return err;
}
