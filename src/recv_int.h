/*
 * recv_int.h: what the receiver drivers (src/recv_*.c) share; internal to
 * receiver.c and the drivers.  Pure helpers, thread-safe.
 */
#ifndef TOCSIN_RECV_INT_H
#define TOCSIN_RECV_INT_H

#include <jansson.h>
#include <stdint.h>

#include "tocsin/message.h"
#include "tocsin/receiver.h"

struct recv_ctx {
    const struct tocsin_receiver_config *r;
    const struct tocsin_message *m; /* NULL for the webhook type */
    const char *body;               /* the outbox body, as is */
    size_t len;
    const char *delivery;
    unsigned step;
    int64_t now_ms;
};

/*
 * A driver fills q (method preset to "POST", no URL, no headers) for
 * c->step.  TOCSIN_ENOENT when there is no such step.
 */
typedef tocsin_err (*recv_build_fn)(struct tocsin_request *q,
                                    const struct recv_ctx *c);

tocsin_err recv_webhook(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_ntfy(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_slack(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_pagerduty(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_telegram(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_pushover(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_discord(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_mattermost(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_msteams(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_gotify(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_opsgenie(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_email(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_fcm(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_apns(struct tocsin_request *q, const struct recv_ctx *c);
tocsin_err recv_webpush(struct tocsin_request *q, const struct recv_ctx *c);

/* FCM: cache the access token of an OAuth2 answer; forget it. */
tocsin_err recv_fcm_absorb(const struct tocsin_receiver_config *r,
                           const char *resp, size_t len, int64_t now_ms);
void recv_fcm_forget(const struct tocsin_receiver_config *r);
/* Pushover: keep an emergency's receipt; log its acknowledgement. */
tocsin_err recv_pushover_absorb(const struct tocsin_receiver_config *r,
                                const struct tocsin_message *m, unsigned step,
                                const char *resp, size_t len, int64_t now_ms);
/* APNs: forget the provider token (refused by Apple). */
void recv_apns_forget(const struct tocsin_receiver_config *r);

/* q->url = base (trailing '/' dropped) + path. */
tocsin_err recv_set_url(struct tocsin_request *q, const char *base,
                        const char *path);

/*
 * The one request of a driver that posts to the configured url as it is
 * (Slack, Discord, Mattermost, Teams): q->url = that url.  TOCSIN_ENOENT
 * past step 0, TOCSIN_EINVAL when no url is configured.
 */
tocsin_err recv_post_to_url(struct tocsin_request *q, const struct recv_ctx *c);

/* Add a header line (formatted); TOCSIN_ERANGE when full. */
tocsin_err recv_header(struct tocsin_request *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* q->body = the compact JSON of v (steals v), plus the Content-Type. */
tocsin_err recv_json_body(struct tocsin_request *q, json_t *v);

/* json_object_set_new that tolerates NULL values (returns -1). */
int recv_set(json_t *o, const char *key, json_t *v);

/* The priority for the event: priority_map if given, else dflt[slot]. */
int recv_priority(const struct tocsin_receiver_config *r,
                  const struct tocsin_message *m, const int *dflt);

/* The severity slot of m (resolved events use TOCSIN_PRIO_RESOLVED). */
enum tocsin_prio_slot recv_slot(const struct tocsin_message *m);

/*
 * The acknowledgement URL for m: on call's signed link for this alert
 * when the body carries one (tocsin_oncall.ack_url), else ack_url with
 * "{fingerprint}" replaced
 * (or "/<fingerprint>" appended), else "<externalURL>/ack/<fingerprint>",
 * or NULL when there is no fingerprint or no base.  New string; *oom set
 * when allocation failed.
 */
char *recv_ack_url(const struct tocsin_receiver_config *r,
                   const struct tocsin_message *m, int *oom);

/* application/x-www-form-urlencoded "k=v" pairs appended to *buf. */
tocsin_err recv_form_add(char **buf, size_t *len, const char *key,
                         const char *value);

const char *recv_source(const struct tocsin_receiver_config *r);

#endif
