/*
 * recv_pushover.c: Pushover (pushover.net/api): POST /1/messages.json,
 * form-encoded token, user, title (at most 250 characters), message (at
 * most 1,024), priority by severity, url.  Priority 2 (emergency, the
 * default for critical) adds retry, expire and the fingerprint as a tag;
 * a resolved event first cancels those retries (POST
 * /1/receipts/cancel_by_tag/<fingerprint>.json), then says it resolved.
 * On call's signed ack link (or else an ack_url) becomes the emergency
 * callback; while there is a signed link it is also the message's url
 * ("Acknowledge").
 *
 * The receipt of an emergency is kept (token cache, until it expires): a
 * resolved event reads it back after the "Resolved" message (GET
 * /1/receipts/<receipt>.json) and logs whether and when it was
 * acknowledged, on which device (NOTIFY-ACK), or that nobody did
 * (NOTIFY-NOACK).  While on call escalates, its "poll" entries read the
 * receipt too, and an acknowledgement made in the app is left in the
 * cache for the main thread (tocsin_receiver_take_ack).  Pure apart from
 * that cache and log line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recv_int.h"
#include "tocsin/log.h"
#include "tocsin/tokcache.h"

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

static void
receipt_key(char *out, size_t n, const struct tocsin_receiver_config *r,
            const struct tocsin_message *m)
{
    snprintf(out, n, "pushover:%s:%.64s", r->name ? r->name : "",
             m->fingerprint);
}

/* Where an acknowledgement seen by a poll waits for the main thread. */
static void
ack_key(char *out, size_t n, const char *fingerprint)
{
    snprintf(out, n, "pushover-ack:%.64s", fingerprint);
}

static int
is_poll(const struct tocsin_message *m)
{
    return strcmp(m->oncall_kind, "poll") == 0;
}

tocsin_err
tocsin_receiver_take_ack(const char *fingerprint, int64_t now_ms, char **by)
{
    char key[128];
    ack_key(key, sizeof key, fingerprint);
    tocsin_err err = tocsin_tokcache_get(key, now_ms, 0, by, NULL);
    if (!err)
        tocsin_tokcache_drop(key);
    return err;
}

/* Step 2 of a resolved emergency: read back the receipt, if kept. */
static tocsin_err
read_back(struct tocsin_request *q, const struct recv_ctx *c, const char *base)
{
    char key[256], *receipt = NULL;
    receipt_key(key, sizeof key, c->r, c->m);
    tocsin_err err = tocsin_tokcache_get(key, c->now_ms, 0, &receipt, NULL);
    if (err)
        return err; /* TOCSIN_ENOENT: no receipt kept, no step */
    char *form = NULL;
    size_t len = 0;
    char path[160];
    snprintf(path, sizeof path, "/1/receipts/%.64s.json?", receipt);
    free(receipt);
    if ((err = recv_form_add(&form, &len, "token", c->r->token)))
        return err;
    size_t pl = strlen(path);
    char *full = malloc(pl + len + 1);
    if (!full) {
        free(form);
        return TOCSIN_ENOMEM;
    }
    memcpy(full, path, pl);
    memcpy(full + pl, form, len + 1);
    free(form);
    err = recv_set_url(q, base, full);
    free(full);
    q->method = "GET";
    q->absorb = 1;
    return err;
}

static long long
jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

tocsin_err
recv_pushover_absorb(const struct tocsin_receiver_config *r,
                     const struct tocsin_message *m, unsigned step,
                     const char *resp, size_t len, int64_t now_ms)
{
    char key[256];
    receipt_key(key, sizeof key, r, m);
    json_t *j = json_loadb(resp, len, 0, NULL);
    if (!j)
        return TOCSIN_EPROTO;
    tocsin_err err = TOCSIN_OK;
    if (is_poll(m)) { /* on call asks: acknowledged in the app yet? */
        const char *dev =
            json_string_value(json_object_get(j, "acknowledged_by_device"));
        if (jint(j, "acknowledged") && m->fingerprint[0]) {
            char akey[128], who[96];
            ack_key(akey, sizeof akey, m->fingerprint);
            snprintf(who, sizeof who, "pushover (%.40s)",
                     dev && dev[0] ? dev : "app");
            err =
                tocsin_tokcache_put(akey, who, now_ms, now_ms + 86400 * 1000LL);
            tocsin_tokcache_drop(key); /* nothing more to poll */
            tocsin_log_notice("NOTIFY-ACK",
                              "receiver=%s alert=%s: emergency acknowledged "
                              "on device %.40s",
                              r->name ? r->name : "?", m->fingerprint,
                              dev && dev[0] ? dev : "?");
        }
    } else if (!m->resolved && step == 0) { /* the emergency's receipt */
        const char *rc = json_string_value(json_object_get(j, "receipt"));
        int64_t keep =
            (int64_t)(r->expire_s > 0 ? r->expire_s : 3600) + 7 * 86400;
        if (rc && rc[0] && strlen(rc) <= 64 && !strpbrk(rc, "/?#&% "))
            err = tocsin_tokcache_put(key, rc, now_ms, now_ms + keep * 1000);
        else
            err = TOCSIN_EPROTO;
    } else if (m->resolved && step == 2) { /* its read-back */
        const char *dev =
            json_string_value(json_object_get(j, "acknowledged_by_device"));
        long long at = jint(j, "acknowledged_at");
        if (jint(j, "acknowledged")) {
            char when[32] = "?";
            time_t t = (time_t)at;
            struct tm tm;
            if (at > 0 && gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            tocsin_log_notice("NOTIFY-ACK",
                              "receiver=%s alert=%s: emergency acknowledged "
                              "at %s on device %.40s",
                              r->name ? r->name : "?", m->fingerprint, when,
                              dev && dev[0] ? dev : "?");
        } else {
            tocsin_log_notice("NOTIFY-NOACK",
                              "receiver=%s alert=%s: emergency resolved "
                              "without acknowledgement%s",
                              r->name ? r->name : "?", m->fingerprint,
                              jint(j, "expired") ? " (its retries expired)"
                                                 : "");
        }
        tocsin_tokcache_drop(key);
    }
    json_decref(j);
    return err;
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
    if (is_poll(m)) /* read the receipt, if one is kept; else nothing */
        return c->step == 0 ? read_back(q, c, base) : TOCSIN_ENOENT;
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
    if (cancel && step == 2)
        return read_back(q, c, base);
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
    /* The emergency callback: on call's signed link, else the template. */
    char *ack = prio == 2 && (m->ack_url[0] || r->ack_url)
                    ? recv_ack_url(r, m, &oom)
                    : NULL;
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
        q->absorb = !m->resolved && m->fingerprint[0]; /* keep the receipt */
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
    /* The one supplementary link: acknowledge while on call has a link
     * for it, else open in tocsin. */
    if (m->ack_url[0] && !m->resolved) {
        if ((err = recv_form_add(&form, &len, "url", m->ack_url)) ||
            (err = recv_form_add(&form, &len, "url_title", "Acknowledge")))
            goto out2;
    } else if (m->link[0] &&
               ((err = recv_form_add(&form, &len, "url", m->link)) ||
                (err = recv_form_add(&form, &len, "url_title",
                                     "Open in tocsin")))) {
        goto out2;
    }
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
