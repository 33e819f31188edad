/*
 * recv_fcm.c: Firebase Cloud Messaging, HTTP v1.  POST
 * <url>/v1/projects/<project>/messages:send with a Bearer OAuth2 access
 * token; the message goes to a registration token (device) or a topic,
 * with notification title/body, data (fingerprint, status, severity,
 * link), android priority high (normal when resolved) and APNs headers
 * (apns-priority 10, alert, collapse id, time-sensitive).
 *
 * The access token comes from the service account: a JWT signed RS256
 * (iss = client_email, scope firebase.messaging, aud = token URI, one
 * hour) POSTed to the token URI as a jwt-bearer grant.  That exchange is
 * an auxiliary request (receiver.h): when no cached token has five more
 * minutes to live (half its life, if shorter), step 0 is the exchange, its
 * answer is absorbed into the token cache (tokcache.h), and step 0 is built
 * again as the send.  A 401 from FCM drops the cached token.  Pure apart from
 * the token cache.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"
#include "tocsin/jose.h"
#include "tocsin/tokcache.h"

#define FCM_DEFAULT_URL "https://fcm.googleapis.com"
#define FCM_TOKEN_URL   "https://oauth2.googleapis.com/token"
#define FCM_SCOPE       "https://www.googleapis.com/auth/firebase.messaging"
#define FCM_REFRESH_MS  (5 * 60 * 1000) /* refresh this long before expiry */
#define FCM_TITLE_MAX   200
#define FCM_BODY_MAX    1000

struct sa {
    json_t *root;
    const char *email, *pem, *kid, *project, *token_uri;
};

static tocsin_err
sa_load(struct sa *sa, const struct tocsin_receiver_config *r)
{
    memset(sa, 0, sizeof *sa);
    if (!r->key)
        return TOCSIN_EINVAL;
    sa->root = json_loads(r->key, 0, NULL);
    if (!sa->root)
        return TOCSIN_EINVAL;
    sa->email = json_string_value(json_object_get(sa->root, "client_email"));
    sa->pem = json_string_value(json_object_get(sa->root, "private_key"));
    sa->kid = json_string_value(json_object_get(sa->root, "private_key_id"));
    sa->project =
        r->project_id
            ? r->project_id
            : json_string_value(json_object_get(sa->root, "project_id"));
    sa->token_uri =
        r->token_url
            ? r->token_url
            : json_string_value(json_object_get(sa->root, "token_uri"));
    if (!sa->token_uri)
        sa->token_uri = FCM_TOKEN_URL;
    if (!sa->email || !sa->pem || !sa->project) {
        json_decref(sa->root);
        return TOCSIN_EINVAL;
    }
    return TOCSIN_OK;
}

static void
cache_key(char *out, size_t n, const struct tocsin_receiver_config *r,
          const struct sa *sa)
{
    snprintf(out, n, "fcm:%s:%s", r->name ? r->name : "", sa->email);
}

void
recv_fcm_forget(const struct tocsin_receiver_config *r)
{
    struct sa sa;
    if (sa_load(&sa, r) != TOCSIN_OK)
        return;
    char key[512];
    cache_key(key, sizeof key, r, &sa);
    tocsin_tokcache_drop(key);
    json_decref(sa.root);
}

tocsin_err
recv_fcm_absorb(const struct tocsin_receiver_config *r, const char *resp,
                size_t len, int64_t now_ms)
{
    struct sa sa;
    tocsin_err err = sa_load(&sa, r);
    if (err)
        return err;
    json_t *j = json_loadb(resp, len, 0, NULL);
    const char *tok =
        j ? json_string_value(json_object_get(j, "access_token")) : NULL;
    json_t *ei = j ? json_object_get(j, "expires_in") : NULL;
    long long secs = json_is_integer(ei)  ? json_integer_value(ei)
                     : json_is_string(ei) ? atoll(json_string_value(ei))
                                          : 3600;
    err = TOCSIN_EPROTO;
    if (tok && tok[0] && secs > 0 && secs <= 86400 && !strpbrk(tok, " \r\n")) {
        char key[512];
        cache_key(key, sizeof key, r, &sa);
        /* Refresh FCM_REFRESH_MS before it expires, or at half its life
         * when it lives less than twice that. */
        int64_t life = secs * 1000;
        int64_t margin = life / 2 < FCM_REFRESH_MS ? life / 2 : FCM_REFRESH_MS;
        err = tocsin_tokcache_put(key, tok, now_ms, now_ms + life - margin);
    }
    json_decref(j);
    json_decref(sa.root);
    return err;
}

/* Step 0 as the token exchange. */
static tocsin_err
token_request(struct tocsin_request *q, const struct recv_ctx *c,
              const struct sa *sa)
{
    long long iat = c->now_ms / 1000;
    json_t *cl = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", sa->email,
                           "scope", FCM_SCOPE, "aud", sa->token_uri, "iat",
                           (json_int_t)iat, "exp", (json_int_t)(iat + 3600));
    char *claims =
        cl ? json_dumps(cl, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(cl);
    if (!claims)
        return TOCSIN_ENOMEM;
    char *jwt = NULL;
    tocsin_err err = tocsin_jwt_sign(&jwt, "RS256", sa->kid, claims, sa->pem);
    free(claims);
    if (err)
        return err;
    char *form = NULL;
    size_t len = 0;
    if ((err = recv_set_url(q, sa->token_uri, "")) ||
        (err = recv_form_add(&form, &len, "grant_type",
                             "urn:ietf:params:oauth:grant-type:jwt-bearer")) ||
        (err = recv_form_add(&form, &len, "assertion", jwt))) {
        free(form);
        free(jwt);
        return err;
    }
    free(jwt);
    q->body = form;
    q->body_len = len;
    q->aux = 1;
    return recv_header(q, "Content-Type: application/x-www-form-urlencoded");
}

tocsin_err
recv_fcm(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    const struct tocsin_message *m = c->m;
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!r->device && !r->topic)
        return TOCSIN_EINVAL;
    struct sa sa;
    tocsin_err err = sa_load(&sa, r);
    if (err)
        return err;
    char key[512];
    char *bearer = NULL, *title = NULL, *text = NULL;
    json_t *msg = NULL;
    cache_key(key, sizeof key, r, &sa);
    err = tocsin_tokcache_get(key, c->now_ms, 0, &bearer, NULL);
    if (err == TOCSIN_ENOENT) {
        err = token_request(q, c, &sa);
        goto out;
    }
    if (err)
        goto out;
    char path[600];
    snprintf(path, sizeof path, "/v1/projects/%s/messages:send", sa.project);
    if ((err = recv_set_url(q, r->url ? r->url : FCM_DEFAULT_URL, path)) ||
        (err = recv_header(q, "Authorization: Bearer %s", bearer)))
        goto out;
    err = TOCSIN_ENOMEM;
    title = tocsin_message_title(m, FCM_TITLE_MAX, TOCSIN_UNIT_CHARS);
    text = tocsin_message_text(m, 0, TOCSIN_MARKUP_PLAIN, 2, FCM_BODY_MAX,
                               TOCSIN_UNIT_CHARS);
    if (!title || !text)
        goto out;
    char ttl[32], fp[65];
    snprintf(ttl, sizeof ttl, "%ds", r->ttl_s > 0 ? r->ttl_s : 0);
    snprintf(fp, sizeof fp, "%.64s", m->fingerprint);
    msg = json_pack(
        "{s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}, "
        "s:{s:{s:s, s:s}, s:{s:{s:s, s:s}}}}",
        "notification", "title", title, "body", text[0] ? text : title, "data",
        "fingerprint", m->fingerprint, "status", m->status, "severity",
        m->severity, "link", m->link, "android", "priority",
        m->resolved ? "normal" : "high", "ttl", ttl, "apns", "headers",
        "apns-priority", m->resolved ? "5" : "10", "apns-push-type", "alert",
        "payload", "aps", "interruption-level",
        m->resolved ? "active" : "time-sensitive", "sound", "default");
    if (!msg)
        goto out;
    if (fp[0]) {
        json_t *android = json_object_get(msg, "android");
        json_t *headers =
            json_object_get(json_object_get(msg, "apns"), "headers");
        if (recv_set(android, "collapse_key", json_string(fp)) ||
            recv_set(headers, "apns-collapse-id", json_string(fp)))
            goto out;
    }
    if (recv_set(msg, r->device ? "token" : "topic",
                 json_string(r->device ? r->device : r->topic)))
        goto out;
    err = recv_json_body(q, json_pack("{s:o}", "message", msg));
    msg = NULL;
out:
    json_decref(msg);
    free(title);
    free(text);
    if (bearer) {
        explicit_bzero(bearer, strlen(bearer));
        free(bearer);
    }
    json_decref(sa.root);
    return err;
}
