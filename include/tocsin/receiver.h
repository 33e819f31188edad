/*
 * receiver.h: receiver drivers, turning an outbox entry into the HTTP
 * request a gateway documents, and judging the gateway's answer.
 *
 * The outbox body is always the Alertmanager-v4 JSON (event.h).  A driver
 * per receiver type (src/recv_<type>.c) reads it back (message.h) and
 * builds the request: method, URL, headers, body.  Some events need more
 * than one request (a resolved Pushover emergency: cancel the retries,
 * then say it is resolved); the notifier sends them in order as steps
 * 0, 1, ... of one delivery, retrying the failed step only.
 *
 * The drivers are pure functions of (receiver config, body, delivery id,
 * step, time), unit-testable without a network.  Thread-safe.
 */
#ifndef TOCSIN_RECEIVER_H
#define TOCSIN_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/config.h"
#include "tocsin/err.h"

#define TOCSIN_REQUEST_MAX_HEADERS 8

struct tocsin_request {
    const char *method; /* "POST", "PUT" (static) */
    char *url;          /* http(s)://, or smtp(s):// for email */
    char *headers[TOCSIN_REQUEST_MAX_HEADERS]; /* "Name: value" lines */
    size_t nheaders;
    char *body; /* for smtp(s): the whole RFC 5322 message, CRLF lines */
    size_t body_len;
    int http2; /* speak HTTP/2 (APNs): ALPN on https, prior knowledge on
                  http:// (tests on loopback) */
    /* A token request (FCM's OAuth2 exchange) that the delivery is
     * waiting for: when it succeeds, its whole answer (up to
     * TOCSIN_REQUEST_MAX_ANSWER bytes) goes to tocsin_receiver_absorb and
     * the same step is built again; it does not count as the step. */
    int aux;
    /* The step's answer is wanted: once it succeeds, its whole answer goes
     * to tocsin_receiver_absorb, then the delivery goes on (Pushover keeps
     * an emergency's receipt, and reads back its acknowledgement). */
    int absorb;
    /* SMTP envelope (email); NULL for HTTP. */
    char *mail_from;
    char **rcpt;
    size_t nrcpt;
    char *user, *password; /* SMTP AUTH, or NULL */
    int starttls;          /* smtp://: require STARTTLS */
};

#define TOCSIN_REQUEST_MAX_ANSWER 65536

/* NULL does nothing.  Wipes the URL and headers (they may hold tokens). */
void tocsin_request_free(struct tocsin_request *q);

/*
 * Build request `step` (0 first) for the entry (delivery id, body) going
 * to receiver r, at wall time now_ms (for signatures).  *out is written
 * only on success.  TOCSIN_ENOENT when the event needs no request `step`
 * (delivery complete); TOCSIN_EINVAL when the body cannot be read (the
 * entry is dead-lettered); TOCSIN_ENOMEM.
 */
tocsin_err tocsin_receiver_request(struct tocsin_request **out,
                                   const struct tocsin_receiver_config *r,
                                   const char *delivery, const char *body,
                                   size_t len, unsigned step, int64_t now_ms);

enum tocsin_verdict {
    TOCSIN_VERDICT_OK = 0, /* delivered (this step) */
    TOCSIN_VERDICT_RETRY,  /* transient: try again later */
    TOCSIN_VERDICT_FAIL,   /* permanent: dead-letter */
};

/*
 * Judge an HTTP answer (status, the first bytes of the response body) to
 * step `step`.  2xx is OK; 5xx, 408 and 429 are retried; other answers
 * fail, unless the gateway documents otherwise.  *retry_after_ms (may be
 * NULL) receives a wait the gateway asked for in its body (Telegram's and
 * Discord's retry_after), or -1.
 */
enum tocsin_verdict
tocsin_receiver_verdict(const struct tocsin_receiver_config *r, unsigned step,
                        long status, const char *resp, size_t resp_len,
                        int64_t *retry_after_ms);

/*
 * Feed the answer to request `step` of the entry (body, body_len) to its
 * driver (q->aux or q->absorb), at wall time now_ms: FCM caches the access
 * token; Pushover keeps an emergency's receipt, or logs whether it was
 * acknowledged (NOTIFY-ACK).  TOCSIN_EPROTO when the answer is unusable
 * (an aux step is retried later).
 */
tocsin_err tocsin_receiver_absorb(const struct tocsin_receiver_config *r,
                                  const char *body, size_t body_len,
                                  unsigned step, const char *resp, size_t len,
                                  int64_t now_ms);

/*
 * On call's poll of Pushover emergencies (an outbox entry whose body has
 * tocsin_oncall.kind "poll" and the alert's fingerprint): a Pushover
 * receiver that kept the emergency's receipt reads it (GET
 * /1/receipts/<receipt>.json; nothing is sent without a receipt), and
 * when somebody acknowledged it in the app, the acknowledgement waits
 * here for the main thread: tocsin_receiver_take_ack gives "pushover
 * (<device>)" for fingerprint (a new string in *by) and forgets it, or
 * TOCSIN_ENOENT.  Thread-safe (the token cache's lock).
 */
tocsin_err tocsin_receiver_take_ack(const char *fingerprint, int64_t now_ms,
                                    char **by);

/*
 * Why the gateway refused for good (after a TOCSIN_VERDICT_FAIL), in words
 * for the dead outbox and the log: "device token unregistered (APNs 410
 * Unregistered)", "subscription gone (HTTP 410)".  Writes at most n bytes
 * to buf; returns buf, or NULL when the driver has nothing to add to
 * "HTTP <status>".
 */
const char *tocsin_receiver_reason(const struct tocsin_receiver_config *r,
                                   long status, const char *resp,
                                   size_t resp_len, char *buf, size_t n);

/* "webhook", "ntfy", ... */
const char *tocsin_receiver_type_name(enum tocsin_receiver_type t);

/* Parse a type name; 0 on success, -1 if unknown. */
int tocsin_receiver_type_parse(const char *name, enum tocsin_receiver_type *t);

/* The known type names, comma-separated, for error messages. */
const char *tocsin_receiver_type_list(void);

/*
 * A URL without the secrets it may carry, for logs: scheme, host and port,
 * and the path only for types whose path holds no secret (webhook, ntfy,
 * gotify).  Writes at most n bytes to buf; returns buf.
 */
char *tocsin_receiver_redact(const struct tocsin_receiver_config *r,
                             const char *url, char *buf, size_t n);

/*
 * Apprise-style URLs (ntfy://, ntfys://, pover://, gotify(s)://, slack://,
 * tgram://, discord://, mmost(s)://, pagerduty://, opsgenie://, json(s)://,
 * mailto(s)://),
 * parsed into the fields of a receiver.  Strings are new (free() them with
 * tocsin_apprise_fini); NULL when the URL gives none.
 */
struct tocsin_apprise {
    enum tocsin_receiver_type type;
    char *url; /* the http(s) endpoint */
    char *token, *user, *password, *topic, *chat_id, *device;
    char *from, *to; /* mailto: the sender, recipients comma-separated */
};

/*
 * 1 if url has an Apprise scheme (even a malformed one), else 0.
 */
int tocsin_apprise_scheme(const char *url);

/*
 * Parse url.  TOCSIN_OK and *out filled; TOCSIN_EINVAL with a reason in
 * why (cap bytes) when malformed; TOCSIN_ENOMEM.
 */
tocsin_err tocsin_apprise_parse(const char *url, struct tocsin_apprise *out,
                                char *why, size_t cap);

void tocsin_apprise_fini(struct tocsin_apprise *a);

#endif
