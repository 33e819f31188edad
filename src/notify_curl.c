/*
 * notify_curl.c: the delivery thread, reading the Redis outbox and POSTing
 * each entry to its webhook receiver with libcurl's multi interface.
 *
 * Owns: the thread, its Redis connection, the curl multi handle, and the
 * entries it holds in memory (struct job: waiting for a retry, in flight,
 * or answered but not yet acked in Redis).  Every entry it holds stays
 * pending in the consumer group until the ack/dead-letter transaction has
 * succeeded, so a crash or stop loses nothing; the `delivered` set keeps an
 * entry seen again from being sent twice.
 *
 * The thread is the only user of the job list, the Redis connection and
 * the multi handle.  The mutex guards the config hand-over and the
 * counters read by tocsin_notifier_stats().
 */
#include "tocsin/clock.h"
#include "tocsin/notify.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tocsin/backoff.h"
#include "tocsin/log.h"
#include "tocsin/mention.h"
#include "tocsin/receiver.h"
#include "tocsin/redis.h"

#ifndef TOCSIN_VERSION
#define TOCSIN_VERSION "0"
#endif

#define MAX_HELD        2048 /* entries held in memory at most */
#define RESP_KEEP       200  /* response body bytes kept for the log */
#define REDIS_TIMEOUT   5000 /* socket timeout, above any BLOCK we use */
#define MAX_BLOCK_MS    250  /* longest XREADGROUP BLOCK (stop latency) */
#define MAX_POLL_MS     100  /* longest curl poll while Redis is polled */
#define DELIVERED_KEEP  (7LL * 24 * 3600 * 1000)
#define REDIS_RETRY_MIN 100
#define REDIS_RETRY_MAX 5000

enum finish {
    FIN_NONE = 0,
    FIN_ACK,  /* delivered (or already delivered): ack, delete, record */
    FIN_DEAD, /* dead-letter, ack, delete */
    FIN_DROP, /* entry gone from the stream: ack only */
};

struct xfer {
    CURL *easy;
    struct curl_slist *hdrs;
    struct tocsin_request *req; /* what is being sent (owned) */
    char resp[RESP_KEEP + 1];
    size_t resp_len;
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *rcpt; /* SMTP recipients */
    size_t up_off;           /* SMTP: bytes of the message sent */
    int aux;                 /* the request is a token fetch (receiver.h) */
    int absorb;              /* its answer goes to the driver (receiver.h) */
    char *answer;            /* aux: the whole answer, for absorb */
    size_t answer_len;
};

struct job {
    char id[48]; /* stream entry id */
    char *delivery, *receiver, *body, *created;
    char *key; /* ordering key (the alert's fingerprint), may be "" */
    size_t body_len;
    int64_t created_ms; /* epoch ms */
    unsigned attempts;
    unsigned step;      /* the driver's request being sent (receiver.h) */
    int64_t due;        /* monotonic ms of the next attempt */
    int64_t prev_delay; /* for the backoff */
    int inflight;
    enum finish finish;
    char reason[96];
    int status;
    struct xfer x;
};

struct rstat {
    struct tocsin_receiver_stats st; /* under mu */
    int inflight;                    /* thread only */
    double tokens;                   /* rate limit bucket, thread only */
    int64_t refill_ms;               /* monotonic ms of the last refill */
    int fails;                       /* failed attempts in a row */
    int down;                        /* a ReceiverDown alert is firing */
    int64_t down_since;              /* epoch ms it started */
};

/* A ReceiverDown event to write to the outbox for the other receivers. */
struct notice {
    char receiver[64];
    int firing;
    char reason[128];
    int64_t at_ms; /* epoch ms */
    int64_t since_ms; /* epoch ms the alert started */
};

/* A ReceiverDown event for the PUB socket, taken by the main thread. */
struct published {
    char topic[64];
    int firing;
    char *json;
};
#define MAX_PUBLISHED 64

struct tocsin_notifier {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    const struct tocsin_config *cfg;    /* thread's (or caller's if idle) */
    const struct tocsin_config *newcfg; /* handed over, under mu */
    unsigned long gen_req, gen_done;    /* under mu */
    struct rstat *stats;                /* under mu (array may grow) */
    size_t nstats;
    uint64_t depth;
    int running; /* under mu */
    struct published pubq[MAX_PUBLISHED]; /* under mu, oldest first */
    size_t npubq;
    atomic_int stop;
    pthread_t thread;
    CURLM *multi;

    /* Thread only. */
    redisContext *rc;
    char *key, *dead_key, *delivered_key, *group, *consumer;
    struct job **jobs;
    size_t njobs;
    int need_pending;
    char pending_cursor[48];
    char claim_cursor[48];
    int64_t next_claim, next_depth, redis_retry_at, redis_backoff;
    int redis_down_logged;
    uint64_t rng;
    struct notice *notices;
    size_t nnotices;
};

/* ---- small helpers ---------------------------------------------------- */

static uint64_t
next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static char *
dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *
dup_s(const char *s)
{
    return dup_n(s, strlen(s));
}

static char *
concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *d = malloc(na + nb + 1);
    if (d) {
        memcpy(d, a, na);
        memcpy(d + na, b, nb + 1);
    }
    return d;
}

static int
same_str(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static int
or_default(int v, int def)
{
    return v > 0 ? v : def;
}

static const char *
cfg_prefix(const struct tocsin_config *cfg)
{
    return cfg->redis.prefix ? cfg->redis.prefix : "tocsin:";
}

static const char *
cfg_group(const struct tocsin_config *cfg)
{
    return cfg->redis.group ? cfg->redis.group : "tocsin";
}

static const char *
cfg_consumer(const struct tocsin_config *cfg)
{
    return cfg->redis.consumer && cfg->redis.consumer[0] ? cfg->redis.consumer
                                                         : "tocsind";
}

static const struct tocsin_receiver_config *
find_receiver(const struct tocsin_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nreceivers; i++)
        if (cfg->receivers[i].name && strcmp(cfg->receivers[i].name, name) == 0)
            return &cfg->receivers[i];
    return NULL;
}

/* Copy s into a log-safe excerpt of at most n bytes (printable ASCII). */
static void
excerpt(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
    }
    dst[o] = '\0';
}

static int
has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* ---- counters --------------------------------------------------------- */

/* The stats slot for name; call with mu held.  NULL if out of memory. */
static struct rstat *
stat_slot(struct tocsin_notifier *n, const char *name)
{
    for (size_t i = 0; i < n->nstats; i++)
        if (strncmp(n->stats[i].st.name, name, sizeof n->stats[i].st.name) == 0)
            return &n->stats[i];
    struct rstat *v = realloc(n->stats, (n->nstats + 1) * sizeof *v);
    if (!v)
        return NULL;
    n->stats = v;
    struct rstat *s = &v[n->nstats++];
    memset(s, 0, sizeof *s);
    snprintf(s->st.name, sizeof s->st.name, "%s", name);
    return s;
}

enum stat_event { EV_SENT, EV_FAIL, EV_RETRY, EV_DEAD };

const double tocsin_latency_bounds[TOCSIN_LATENCY_NBOUNDS] = {
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

const char *
tocsin_fail_reason_name(enum tocsin_fail_reason r)
{
    static const char *const names[] = {"network", "timeout", "http_4xx",
                                        "http_429", "http_5xx"};
    return (unsigned)r < TOCSIN_FAIL_NREASONS ? names[r] : "unknown";
}

static enum tocsin_fail_reason
fail_reason(int status, const char *error)
{
    if (status == 408 || status == 429)
        return TOCSIN_FAIL_HTTP_429;
    if (status >= 400 && status < 500)
        return TOCSIN_FAIL_HTTP_4XX;
    if (status > 0)
        return TOCSIN_FAIL_HTTP_5XX;
    if (error && strstr(error, "timed out"))
        return TOCSIN_FAIL_TIMEOUT;
    return TOCSIN_FAIL_NETWORK;
}

/* Record a delivery's latency (creation of its outbox entry to 2xx). */
static void
observe_latency(struct tocsin_notifier *n, const char *receiver,
                int64_t created_ms)
{
    double s = (double)(tocsin_wall_ms() - created_ms) / 1000.0;
    if (s < 0)
        s = 0;
    size_t b = 0;
    while (b < TOCSIN_LATENCY_NBOUNDS && s > tocsin_latency_bounds[b])
        b++;
    pthread_mutex_lock(&n->mu);
    struct rstat *r = stat_slot(n, receiver);
    if (r) {
        r->st.latency[b]++;
        r->st.latency_sum_s += s;
    }
    pthread_mutex_unlock(&n->mu);
}

static void
count(struct tocsin_notifier *n, const char *receiver, enum stat_event ev,
      int status, const char *error)
{
    pthread_mutex_lock(&n->mu);
    struct rstat *s = stat_slot(n, receiver);
    if (s) {
        switch (ev) {
        case EV_SENT:
            s->st.sent++;
            s->st.last_success_ms = tocsin_wall_ms();
            break;
        case EV_FAIL:
            s->st.failed++;
            s->st.last_failure_ms = tocsin_wall_ms();
            snprintf(s->st.last_error, sizeof s->st.last_error, "%s",
                     error ? error : "");
            s->st.failed_by[fail_reason(status, error)]++;
            break;
        case EV_RETRY:
            s->st.retried++;
            break;
        case EV_DEAD:
            s->st.dead++;
            break;
        }
        if (status)
            s->st.last_status = status;
    }
    pthread_mutex_unlock(&n->mu);
}

/* Requests in flight to receiver (thread only; the slot array is only
 * resized by this thread, under mu). */
static int *
inflight_slot(struct tocsin_notifier *n, const char *receiver)
{
    pthread_mutex_lock(&n->mu);
    struct rstat *s = stat_slot(n, receiver);
    pthread_mutex_unlock(&n->mu);
    return s ? &s->inflight : NULL;
}

/* ---- rate limits and receiver health ---------------------------------- */

static redisReply *cmd(struct tocsin_notifier *n, int argc, const char **argv,
                       const size_t *lens);
static void redis_drop(struct tocsin_notifier *n, const char *what);

/* The type's documented pace: requests per second and burst. */
static void
default_rate(enum tocsin_receiver_type t, double *rate, int *burst)
{
    switch (t) {
    case TOCSIN_RECEIVER_SLACK: /* about 1 per second per channel */
        *rate = 1;
        *burst = 2;
        break;
    case TOCSIN_RECEIVER_TELEGRAM: /* about 1 per second per chat */
        *rate = 1;
        *burst = 3;
        break;
    case TOCSIN_RECEIVER_DISCORD: /* 5 per 2 s per webhook */
        *rate = 2.5;
        *burst = 5;
        break;
    case TOCSIN_RECEIVER_NTFY: /* burst of 60, then 1 per 5 s */
        *rate = 0.2;
        *burst = 60;
        break;
    case TOCSIN_RECEIVER_PAGERDUTY: /* about 120 per minute per key */
        *rate = 2;
        *burst = 10;
        break;
    default:
        *rate = 0; /* no limit */
        *burst = 0;
        break;
    }
}

/*
 * Take a token from the receiver's bucket: 0 if taken, else the
 * milliseconds until one is there (the job waits that long).
 */
static int64_t
rate_take(struct tocsin_notifier *n, const char *receiver,
          const struct tocsin_receiver_config *r, int64_t now)
{
    double rate = r->rate_per_s;
    int burst = r->burst;
    double drate;
    int dburst;
    default_rate(r->type, &drate, &dburst);
    if (rate <= 0)
        rate = drate;
    if (burst <= 0)
        burst = dburst > 0 ? dburst : 1;
    if (rate <= 0)
        return 0;
    pthread_mutex_lock(&n->mu);
    struct rstat *s = stat_slot(n, receiver);
    pthread_mutex_unlock(&n->mu);
    if (!s)
        return 0;
    if (s->refill_ms == 0) {
        s->tokens = burst;
        s->refill_ms = now;
    }
    s->tokens += (double)(now - s->refill_ms) * rate / 1000.0;
    s->refill_ms = now;
    if (s->tokens > burst)
        s->tokens = burst;
    if (s->tokens < 1)
        return 1 + (int64_t)((1 - s->tokens) * 1000.0 / rate);
    s->tokens -= 1;
    return 0;
}

/* Record an attempt's outcome; a receiver failing down_after times in a
 * row raises ReceiverDown through the others, its next success resolves
 * it. */
static void
health(struct tocsin_notifier *n, const char *receiver, int ok, int status,
       const char *error)
{
    const struct tocsin_receiver_config *r = find_receiver(n->cfg, receiver);
    int limit = or_default(r ? r->down_after : 0, 5);
    pthread_mutex_lock(&n->mu);
    struct rstat *s = stat_slot(n, receiver);
    pthread_mutex_unlock(&n->mu);
    if (!s || !r)
        return;
    int change = 0;
    if (ok) {
        s->fails = 0;
        change = s->down;
        s->down = 0;
    } else if (++s->fails >= limit && !s->down) {
        s->down = 1;
        s->down_since = tocsin_wall_ms();
        change = 1;
    }
    if (!change)
        return;
    struct notice *v = realloc(n->notices, (n->nnotices + 1) * sizeof *v);
    if (!v)
        return;
    n->notices = v;
    struct notice *t = &v[n->nnotices++];
    memset(t, 0, sizeof *t);
    snprintf(t->receiver, sizeof t->receiver, "%s", receiver);
    t->firing = !ok;
    t->at_ms = tocsin_wall_ms();
    t->since_ms = s->down_since;
    if (!ok) {
        if (status)
            snprintf(t->reason, sizeof t->reason, "HTTP %d", status);
        else
            snprintf(t->reason, sizeof t->reason, "%.100s",
                     error ? error : "no answer");
        tocsin_log_err("NOTIFY-DOWN",
                       "receiver=%s: %d failed attempts in a row (%s); "
                       "alerting the other receivers",
                       receiver, s->fails, t->reason);
    } else {
        tocsin_log_notice("NOTIFY-UP", "receiver=%s answers again",
                          receiver);
    }
}

/* The Alertmanager-v4 body of a ReceiverDown notice for target. */
static char *
notice_body(const struct tocsin_notifier *n, const struct notice *t,
            const char *target, const char *fingerprint)
{
    char summary[256], desc[512], starts[40], ends[40], gkey[160];
    if (t->firing) {
        snprintf(summary, sizeof summary, "Receiver %s is down: %s",
                 t->receiver, t->reason);
        snprintf(desc, sizeof desc,
                 "Alerts for receiver %s cannot be delivered; they stay in "
                 "the outbox and are retried until it answers again.",
                 t->receiver);
    } else {
        snprintf(summary, sizeof summary, "Receiver %s is delivering again",
                 t->receiver);
        snprintf(desc, sizeof desc,
                 "Receiver %s answered again; alerts held for it are being "
                 "delivered.",
                 t->receiver);
    }
    tocsin_format_time(t->since_ms, starts, sizeof starts);
    if (t->firing)
        snprintf(ends, sizeof ends, "0001-01-01T00:00:00Z");
    else
        tocsin_format_time(t->at_ms, ends, sizeof ends);
    snprintf(gkey, sizeof gkey, "{}:{alertname=\"ReceiverDown\", "
                                "receiver=\"%s\"}",
             t->receiver);
    const char *ext = n->cfg->alerts.external_url
                          ? n->cfg->alerts.external_url
                          : "";
    const char *status = t->firing ? "firing" : "resolved";
    json_t *labels = json_pack("{s:s, s:s, s:s, s:s}", "alertname",
                               "ReceiverDown", "topic", t->receiver,
                               "receiver", t->receiver, "severity",
                               "critical");
    json_t *ann = json_pack("{s:s, s:s}", "summary", summary, "description",
                            desc);
    if (!labels || !ann) {
        json_decref(labels);
        json_decref(ann);
        return NULL;
    }
    json_t *body = json_pack(
        "{s:s, s:s, s:i, s:s, s:s, s:{s:s, s:s}, s:O, s:O, s:s,"
        " s:[{s:s, s:O, s:O, s:s, s:s, s:s, s:s}]}",
        "version", "4", "groupKey", gkey, "truncatedAlerts", 0, "status",
        status, "receiver", target, "groupLabels", "alertname",
        "ReceiverDown", "receiver", t->receiver, "commonLabels", labels,
        "commonAnnotations", ann, "externalURL", ext, "alerts", "status",
        status, "labels", labels, "annotations", ann, "startsAt", starts,
        "endsAt", ends, "generatorURL", "", "fingerprint", fingerprint);
    json_decref(labels);
    json_decref(ann);
    if (!body)
        return NULL;
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/* Queue notice t for tocsin_notifier_take_published(); when nobody takes
 * them, the oldest is dropped. */
static void
queue_published(struct tocsin_notifier *n, const struct notice *t,
                const char *fingerprint)
{
    char *json = notice_body(n, t, "publish", fingerprint);
    if (!json)
        return;
    pthread_mutex_lock(&n->mu);
    if (n->npubq == MAX_PUBLISHED) {
        free(n->pubq[0].json);
        memmove(&n->pubq[0], &n->pubq[1],
                (MAX_PUBLISHED - 1) * sizeof n->pubq[0]);
        n->npubq--;
    }
    struct published *p = &n->pubq[n->npubq++];
    snprintf(p->topic, sizeof p->topic, "%s", t->receiver);
    p->firing = t->firing;
    p->json = json;
    pthread_mutex_unlock(&n->mu);
}

/* Write the queued ReceiverDown notices to the outbox, one entry per other
 * receiver.  Call with Redis up. */
static void
flush_notices(struct tocsin_notifier *n)
{
    while (n->nnotices > 0 && n->rc) {
        struct notice *t = &n->notices[0];
        char fp[96], created[24];
        snprintf(fp, sizeof fp, "receiver-down-%.64s", t->receiver);
        snprintf(created, sizeof created, "%lld", (long long)t->at_ms);
        for (size_t i = 0; i < n->cfg->nreceivers; i++) {
            const struct tocsin_receiver_config *o = &n->cfg->receivers[i];
            if (!o->name || strcmp(o->name, t->receiver) == 0 ||
                (!t->firing && !o->send_resolved))
                continue;
            char *body = notice_body(n, t, o->name, fp);
            if (!body)
                continue;
            char delivery[200];
            snprintf(delivery, sizeof delivery, "%s-%s-%lld-%s", fp,
                     t->firing ? "f" : "r", (long long)t->at_ms, o->name);
            const char *argv[] = {"XADD",   n->key,  "*",      "delivery",
                                  delivery, "receiver", o->name, "body",
                                  body,     "created",  created, "key",
                                  fp};
            redisReply *r = cmd(n, 13, argv, NULL);
            free(body);
            if (!r) {
                redis_drop(n, "XADD ReceiverDown");
                return;
            }
            freeReplyObject(r);
        }
        queue_published(n, t, fp);
        memmove(&n->notices[0], &n->notices[1],
                (n->nnotices - 1) * sizeof n->notices[0]);
        n->nnotices--;
    }
}

/* Whether the driver has a request `step` for job j. */
static int
has_step(const struct tocsin_receiver_config *r, const struct job *j,
         unsigned step)
{
    struct tocsin_request *q = NULL;
    tocsin_err err = tocsin_receiver_request(&q, r, j->delivery, j->body,
                                             j->body_len, step, tocsin_wall_ms());
    tocsin_request_free(q);
    return err != TOCSIN_ENOENT;
}

/* ---- HTTP requests ---------------------------------------------------- */

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    size_t room = RESP_KEEP - x->resp_len;
    size_t take = n < room ? n : room;
    memcpy(x->resp + x->resp_len, ptr, take);
    x->resp_len += take;
    x->resp[x->resp_len] = '\0';
    if ((x->aux || x->absorb) &&
        x->answer_len + n <= TOCSIN_REQUEST_MAX_ANSWER) {
        char *a = realloc(x->answer, x->answer_len + n + 1);
        if (!a)
            return 0;
        memcpy(a + x->answer_len, ptr, n);
        x->answer = a;
        x->answer_len += n;
        a[x->answer_len] = '\0';
    }
    return n;
}

/* SMTP upload of the message. */
static size_t
on_read(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    const struct tocsin_request *q = x->req;
    size_t room = size * nmemb;
    size_t left = q && q->body ? q->body_len - x->up_off : 0;
    size_t take = left < room ? left : room;
    if (take)
        memcpy(ptr, q->body + x->up_off, take);
    x->up_off += take;
    return take;
}

static size_t
on_header(char *ptr, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
        x->retry_after[0] = '\0'; /* a new response (after 100 Continue) */
    if (n > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
        const char *v = ptr + sizeof name - 1;
        size_t vn = n - (sizeof name - 1);
        while (vn > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vn--;
        }
        while (vn > 0 &&
               (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
            vn--;
        if (vn < sizeof x->retry_after) {
            memcpy(x->retry_after, v, vn);
            x->retry_after[vn] = '\0';
        }
    }
    return n;
}

static void
xfer_cleanup(struct xfer *x)
{
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->hdrs);
    curl_slist_free_all(x->rcpt);
    tocsin_request_free(x->req);
    x->easy = NULL;
    x->hdrs = NULL;
    x->rcpt = NULL;
    x->req = NULL;
}

static tocsin_err
add_header(struct curl_slist **l, const char *line)
{
    struct curl_slist *t = curl_slist_append(*l, line);
    if (!t)
        return TOCSIN_ENOMEM;
    *l = t;
    return TOCSIN_OK;
}

/*
 * TLS for every request of receiver r: peer and host name verified
 * (libcurl's default, never turned off), a private CA trusted instead of
 * the system's when the receiver names one (tls_ca_file), and a client
 * certificate when the gateway wants one (tls_client_cert/_key).
 */
static int
tls_setup(CURL *e, const struct tocsin_receiver_config *r)
{
    return curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) ||
           curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) ||
           (r->tls_ca_file &&
            curl_easy_setopt(e, CURLOPT_CAINFO, r->tls_ca_file)) ||
           (r->tls_client_cert &&
            (curl_easy_setopt(e, CURLOPT_SSLCERT, r->tls_client_cert) ||
             curl_easy_setopt(e, CURLOPT_SSLKEY, r->tls_client_key)));
}

/* What to do about a TLS failure, for the log ("" for other errors). */
static const char *
tls_hint(CURLcode res)
{
    switch (res) {
    case CURLE_PEER_FAILED_VERIFICATION:
        return " (a gateway with a private CA needs its tls_ca_file)";
    case CURLE_USE_SSL_FAILED:
        return " (mail is never sent in plain text: use smtps:// or, on a "
               "trusted network only, starttls = false)";
    default:
        return "";
    }
}

/*
 * Prepare x->easy for request `step` of the entry (delivery, body) to
 * receiver r, built by the receiver's driver (receiver.h).  TOCSIN_ENOENT
 * when the delivery needs no such step; TOCSIN_EINVAL when the driver
 * cannot build it (the entry is dead-lettered).
 */
static tocsin_err
xfer_setup(struct xfer *x, const struct tocsin_receiver_config *r,
           const char *delivery, const char *body, size_t len, unsigned step)
{
    tocsin_err err;
    x->resp_len = 0;
    x->resp[0] = '\0';
    x->retry_after[0] = '\0';
    x->errbuf[0] = '\0';
    x->up_off = 0;
    free(x->answer);
    x->answer = NULL;
    x->answer_len = 0;
    tocsin_request_free(x->req);
    x->req = NULL;
    err = tocsin_receiver_request(&x->req, r, delivery, body, len, step,
                                  tocsin_wall_ms());
    if (err)
        return err;
    const struct tocsin_request *q = x->req;
    x->aux = q->aux;
    x->absorb = q->absorb;
    err = TOCSIN_ENOMEM;
    x->easy = curl_easy_init();
    if (!x->easy)
        goto out;
    if (q->mail_from) { /* email: SMTP */
        for (size_t i = 0; i < q->nrcpt; i++)
            if ((err = add_header(&x->rcpt, q->rcpt[i])))
                goto out;
        CURL *e = x->easy;
        err = TOCSIN_EINVAL;
        if (curl_easy_setopt(e, CURLOPT_URL, q->url) ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") ||
            curl_easy_setopt(e, CURLOPT_MAIL_FROM, q->mail_from) ||
            curl_easy_setopt(e, CURLOPT_MAIL_RCPT, x->rcpt) ||
            curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) ||
            curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read) ||
            curl_easy_setopt(e, CURLOPT_READDATA, x) ||
            curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                             (curl_off_t)q->body_len) ||
            (q->starttls && strncasecmp(q->url, "smtp://", 7) == 0 &&
             curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL)) ||
            (q->user && curl_easy_setopt(e, CURLOPT_USERNAME, q->user)) ||
            (q->password &&
             curl_easy_setopt(e, CURLOPT_PASSWORD, q->password)) ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                             (long)or_default(r->timeout_ms, 10000)) ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) ||
            tls_setup(e, r))
            goto out;
        err = TOCSIN_OK;
        goto out;
    }
    for (size_t i = 0; i < q->nheaders; i++)
        if ((err = add_header(&x->hdrs, q->headers[i])))
            goto out;
    if ((err = add_header(&x->hdrs, "User-Agent: tocsin/" TOCSIN_VERSION)) ||
        (err = add_header(&x->hdrs, "Expect:")))
        goto out;
    CURL *e = x->easy;
    err = TOCSIN_EINVAL;
    if (curl_easy_setopt(e, CURLOPT_URL, q->url) ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs) ||
        curl_easy_setopt(e, CURLOPT_POST, 1L) ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body ? q->body : "") ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)q->body_len) ||
        (strcmp(q->method, "POST") != 0 &&
         curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method)) ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                         (long)or_default(r->timeout_ms, 10000)) ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, x) ||
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) ||
        curl_easy_setopt(e, CURLOPT_HEADERDATA, x) ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) ||
        tls_setup(e, r) ||
        (strcmp(q->method, "GET") == 0 &&
         curl_easy_setopt(e, CURLOPT_HTTPGET, 1L)) ||
        (q->http2 &&
         curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                          strncasecmp(q->url, "http://", 7) == 0
                              ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                              : (long)CURL_HTTP_VERSION_2TLS)))
        goto out;
    /* libcurl 7.88.1 (Debian 12) breaks a reused prior-knowledge HTTP/2
     * connection ("Error in the HTTP2 framing layer", curl#10634, fixed in
     * 8.0): h2c over plain http:// (tests on loopback) gets a connection
     * per request.  TLS with ALPN, as APNs speaks it, is not affected. */
    if (q->http2 && strncasecmp(q->url, "http://", 7) == 0 &&
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L))
        goto out;
    /* Over TLS, requests due together wait for the connection being opened
     * and multiplex on it rather than opening more (APNs wants few,
     * long-lived connections). */
    if (q->http2 && strncasecmp(q->url, "https://", 8) == 0 &&
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L))
        goto out;
    err = TOCSIN_OK;
out:
    if (err)
        xfer_cleanup(x);
    return err;
}

static int
retryable_status(long status)
{
    return status >= 500 || status == 408 || status == 429;
}

/* ---- jobs --------------------------------------------------------------- */

static void
job_free(struct job *j)
{
    if (!j)
        return;
    xfer_cleanup(&j->x);
    free(j->x.answer);
    free(j->delivery);
    free(j->receiver);
    free(j->body);
    free(j->created);
    free(j->key);
    free(j);
}

static struct job *
job_find(struct tocsin_notifier *n, const char *id)
{
    for (size_t i = 0; i < n->njobs; i++)
        if (strcmp(n->jobs[i]->id, id) == 0)
            return n->jobs[i];
    return NULL;
}

static void
job_remove(struct tocsin_notifier *n, size_t i)
{
    job_free(n->jobs[i]);
    memmove(&n->jobs[i], &n->jobs[i + 1],
            (n->njobs - i - 1) * sizeof n->jobs[0]);
    n->njobs--;
}

static void
set_finish(struct job *j, enum finish f, const char *reason, int status)
{
    j->finish = f;
    j->status = status;
    snprintf(j->reason, sizeof j->reason, "%s", reason ? reason : "");
}

/* Dead-letter j: log, count, and queue the transaction. */
static void
give_up(struct tocsin_notifier *n, struct job *j, const char *reason,
        int status)
{
    char body[RESP_KEEP + 1];
    excerpt(body, sizeof body, j->x.resp, j->x.resp_len);
    tocsin_log_err("NOTIFY-GIVEUP",
                   "receiver=%s delivery=%s entry=%s: %s (status %d, %u "
                   "attempts) response: %s",
                   j->receiver ? j->receiver : "?",
                   j->delivery ? j->delivery : "?", j->id, reason, status,
                   j->attempts, body);
    count(n, j->receiver ? j->receiver : "?", EV_DEAD, status, NULL);
    set_finish(j, FIN_DEAD, reason, status);
}

/* ---- Redis -------------------------------------------------------------- */

static void
redis_drop(struct tocsin_notifier *n, const char *what)
{
    if (n->rc) {
        tocsin_log_warn("NOTIFY-REDIS", "%s failed: %s; reconnecting", what,
                        n->rc->err ? n->rc->errstr : "error reply");
        redisFree(n->rc);
        n->rc = NULL;
    }
    n->redis_backoff =
        n->redis_backoff ? n->redis_backoff * 2 : REDIS_RETRY_MIN;
    if (n->redis_backoff > REDIS_RETRY_MAX)
        n->redis_backoff = REDIS_RETRY_MAX;
    n->redis_retry_at = tocsin_mono_ms() + n->redis_backoff;
}

static redisReply *
cmd(struct tocsin_notifier *n, int argc, const char **argv, const size_t *lens)
{
    return tocsin_redis_cmd(n->rc, argc, argv, lens);
}

static void
redis_open(struct tocsin_notifier *n)
{
    redisContext *c;
    if (tocsin_redis_connect(&c, n->cfg, REDIS_TIMEOUT) != TOCSIN_OK) {
        if (!n->redis_down_logged)
            tocsin_log_warn("NOTIFY-REDIS",
                            "cannot reach redis; outbox deliveries wait");
        n->redis_down_logged = 1;
        n->rc = NULL;
        redis_drop(n, "connect");
        return;
    }
    n->rc = c;
    const char *argv[] = {"XGROUP", "CREATE", n->key,
                          n->group, "0",      "MKSTREAM"};
    redisReply *r = cmd(n, 6, argv, NULL);
    if (!r || (r->type == REDIS_REPLY_ERROR &&
               strncmp(r->str, "BUSYGROUP", 9) != 0)) {
        if (r)
            tocsin_log_err("NOTIFY-REDIS", "XGROUP CREATE %s %s: %s", n->key,
                           n->group, r->str);
        if (r)
            freeReplyObject(r);
        redis_drop(n, "XGROUP CREATE");
        return;
    }
    freeReplyObject(r);
    if (n->redis_down_logged)
        tocsin_log_notice("NOTIFY-REDIS", "redis is back; resuming outbox");
    n->redis_down_logged = 0;
    n->redis_backoff = 0;
    n->need_pending = 1;
    snprintf(n->pending_cursor, sizeof n->pending_cursor, "0");
    snprintf(n->claim_cursor, sizeof n->claim_cursor, "0-0");
    n->next_claim = 0;
    n->next_depth = 0;
}

static const redisReply *
field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1];
    }
    return NULL;
}

/* 1 if delivery is in the delivered set, 0 if not, -1 on Redis failure. */
static int
already_delivered(struct tocsin_notifier *n, const char *delivery)
{
    const char *argv[] = {"ZSCORE", n->delivered_key, delivery};
    redisReply *r = cmd(n, 3, argv, NULL);
    if (!r)
        return -1;
    int yes = r->type == REDIS_REPLY_STRING;
    freeReplyObject(r);
    return yes;
}

/* Take one stream entry [id, fields|nil] into memory.  Returns -1 when
 * Redis failed (the caller drops the connection). */
static int
ingest(struct tocsin_notifier *n, const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[0]->len >= sizeof(((struct job *)0)->id))
        return 0;
    const char *id = e->element[0]->str;
    if (job_find(n, id))
        return 0;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return 0; /* stays pending; seen again on the next re-read */
    snprintf(j->id, sizeof j->id, "%s", id);
    j->due = tocsin_mono_ms();
    const redisReply *f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY) {
        /* Deleted from the stream while pending: just ack it. */
        set_finish(j, FIN_DROP, "entry deleted", 0);
    } else {
        const redisReply *d = field(f, "delivery");
        const redisReply *rv = field(f, "receiver");
        const redisReply *b = field(f, "body");
        const redisReply *c = field(f, "created");
        const redisReply *k = field(f, "key");
        j->key = dup_s(k ? k->str : "");
        j->delivery = dup_s(d ? d->str : "");
        j->receiver = dup_s(rv ? rv->str : "");
        j->body = b ? dup_n(b->str, b->len) : dup_s("");
        j->body_len = b ? b->len : 0;
        j->created = dup_s(c ? c->str : "");
        if (!j->key || !j->delivery || !j->receiver || !j->body ||
            !j->created) {
            job_free(j);
            return 0;
        }
        char *end;
        long long cm = strtoll(j->created, &end, 10);
        j->created_ms = (c && *end == '\0' && cm > 0) ? cm : tocsin_wall_ms();
        if (!d || !rv || !b || !d->len || !rv->len || has_ctl(j->delivery) ||
            d->len > 200) {
            give_up(n, j, "malformed entry", 0);
        } else {
            int seen = already_delivered(n, j->delivery);
            if (seen < 0) {
                job_free(j);
                return -1;
            }
            if (seen) {
                tocsin_log_info("NOTIFY-SENT",
                                "receiver=%s delivery=%s already delivered; "
                                "acking entry %s",
                                j->receiver, j->delivery, j->id);
                set_finish(j, FIN_ACK, "already delivered", 0);
            }
        }
    }
    struct job **v = realloc(n->jobs, (n->njobs + 1) * sizeof *v);
    if (!v) {
        job_free(j);
        return 0;
    }
    n->jobs = v;
    n->jobs[n->njobs++] = j;
    return 0;
}

/* Ingest the entries of an XREADGROUP reply; returns how many, or -1 on
 * failure.  *last receives the last id seen. */
static long
ingest_read(struct tocsin_notifier *n, const redisReply *r, char *last,
            size_t lastcap)
{
    long got = 0;
    if (r->type != REDIS_REPLY_ARRAY)
        return 0; /* nil: nothing new */
    for (size_t s = 0; s < r->elements; s++) {
        const redisReply *st = r->element[s];
        if (st->type != REDIS_REPLY_ARRAY || st->elements < 2 ||
            st->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        const redisReply *entries = st->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            const redisReply *e = entries->element[i];
            if (ingest(n, e) < 0)
                return -1;
            if (e->type == REDIS_REPLY_ARRAY && e->elements > 0 &&
                e->element[0]->type == REDIS_REPLY_STRING)
                snprintf(last, lastcap, "%s", e->element[0]->str);
            got++;
        }
    }
    return got;
}

static int
room(const struct tocsin_notifier *n)
{
    int batch = or_default(n->cfg->redis.batch, 100);
    long left = MAX_HELD - (long)n->njobs;
    return left < batch ? (int)left : batch;
}

/* XREADGROUP from id ("0": our pending entries, ">": new ones). */
static void
read_group(struct tocsin_notifier *n, const char *id, int block_ms)
{
    char countbuf[16], blockbuf[16];
    snprintf(countbuf, sizeof countbuf, "%d", room(n));
    snprintf(blockbuf, sizeof blockbuf, "%d", block_ms);
    const char *argv[12] = {"XREADGROUP", "GROUP", n->group,
                            n->consumer,  "COUNT", countbuf};
    int argc = 6;
    if (block_ms > 0) {
        argv[argc++] = "BLOCK";
        argv[argc++] = blockbuf;
    }
    argv[argc++] = "STREAMS";
    argv[argc++] = n->key;
    argv[argc++] = id;
    redisReply *r = cmd(n, argc, argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r) {
            tocsin_log_warn("NOTIFY-REDIS", "XREADGROUP %s: %s", n->key,
                            r->str);
            freeReplyObject(r);
        }
        redis_drop(n, "XREADGROUP");
        return;
    }
    char last[48] = "";
    long got = ingest_read(n, r, last, sizeof last);
    freeReplyObject(r);
    if (got < 0) {
        redis_drop(n, "ZSCORE");
        return;
    }
    if (strcmp(id, ">") != 0) {
        if (got == 0)
            n->need_pending = 0;
        else
            snprintf(n->pending_cursor, sizeof n->pending_cursor, "%s", last);
    }
}

/*
 * Reset the idle time of the entries we hold (XCLAIM to ourselves with
 * JUSTID, which leaves the delivery counter alone), so that another
 * consumer's XAUTOCLAIM does not take an entry we are still retrying.
 */
static void
touch_held(struct tocsin_notifier *n)
{
    enum { CHUNK = 100 };
    const char *argv[5 + CHUNK + 1];
    argv[0] = "XCLAIM";
    argv[1] = n->key;
    argv[2] = n->group;
    argv[3] = n->consumer;
    argv[4] = "0";
    for (size_t i = 0; i < n->njobs && n->rc;) {
        int argc = 5;
        for (; i < n->njobs && argc < 5 + CHUNK; i++)
            if (n->jobs[i]->finish == FIN_NONE)
                argv[argc++] = n->jobs[i]->id;
        if (argc == 5)
            break;
        argv[argc++] = "JUSTID";
        redisReply *r = cmd(n, argc, argv, NULL);
        if (!r) {
            redis_drop(n, "XCLAIM");
            return;
        }
        freeReplyObject(r);
    }
}

static void
autoclaim(struct tocsin_notifier *n)
{
    int idle = or_default(n->cfg->redis.claim_idle_ms, 60000);
    char idlebuf[16], countbuf[16];
    snprintf(idlebuf, sizeof idlebuf, "%d", idle);
    snprintf(countbuf, sizeof countbuf, "%d", room(n));
    if (strcmp(n->claim_cursor, "0-0") == 0) {
        touch_held(n);
        if (!n->rc)
            return;
    }
    const char *argv[] = {"XAUTOCLAIM", n->key,          n->group, n->consumer,
                          idlebuf,      n->claim_cursor, "COUNT",  countbuf};
    redisReply *r = cmd(n, 8, argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r) {
            tocsin_log_warn("NOTIFY-REDIS", "XAUTOCLAIM %s: %s", n->key,
                            r->str);
            freeReplyObject(r);
        }
        redis_drop(n, "XAUTOCLAIM");
        return;
    }
    int64_t now = tocsin_mono_ms();
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_ARRAY) {
        const redisReply *entries = r->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            if (ingest(n, entries->element[i]) < 0) {
                freeReplyObject(r);
                redis_drop(n, "ZSCORE");
                return;
            }
        }
        if (entries->elements > 0)
            tocsin_log_info("NOTIFY-CLAIM", "claimed %zu idle outbox entries",
                            entries->elements);
        snprintf(n->claim_cursor, sizeof n->claim_cursor, "%s",
                 r->element[0]->str);
    }
    freeReplyObject(r);
    /* Walk the whole pending list in pages, then wait half the idle time. */
    int more = strcmp(n->claim_cursor, "0-0") != 0;
    n->next_claim = now + (more ? 0 : (idle / 2 > 100 ? idle / 2 : 100));
}

static void
update_depth(struct tocsin_notifier *n)
{
    const char *argv[] = {"XLEN", n->key};
    redisReply *r = cmd(n, 2, argv, NULL);
    if (!r) {
        redis_drop(n, "XLEN");
        return;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        pthread_mutex_lock(&n->mu);
        n->depth = r->integer > 0 ? (uint64_t)r->integer : 0;
        pthread_mutex_unlock(&n->mu);
    }
    freeReplyObject(r);
    n->next_depth = tocsin_mono_ms() + 1000;
}

/* Run the queued ack / dead-letter transaction of j.  0 when done, -1 when
 * Redis failed (the job stays queued). */
static int
finish_one(struct tocsin_notifier *n, struct job *j)
{
    char nowbuf[24], trimbuf[32], statusbuf[16];
    int64_t now = tocsin_wall_ms();
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    snprintf(trimbuf, sizeof trimbuf, "(%lld",
             (long long)(now - DELIVERED_KEEP));
    snprintf(statusbuf, sizeof statusbuf, "%d", j->status);
    int ncmd = 0;
    redisAppendCommand(n->rc, "MULTI");
    ncmd++;
    if (j->finish == FIN_DEAD) {
        const char *argv[] = {"XADD",      n->dead_key, "*",         "delivery",
                              j->delivery, "receiver",  j->receiver, "body",
                              j->body,     "created",   j->created,  "reason",
                              j->reason,   "status",    statusbuf};
        size_t lens[15];
        for (int i = 0; i < 15; i++)
            lens[i] = strlen(argv[i]);
        lens[8] = j->body_len;
        redisAppendCommandArgv(n->rc, 15, argv, lens);
        ncmd++;
    }
    const char *ack[] = {"XACK", n->key, n->group, j->id};
    redisAppendCommandArgv(n->rc, 4, ack, NULL);
    ncmd++;
    if (j->finish != FIN_DROP) {
        const char *del[] = {"XDEL", n->key, j->id};
        redisAppendCommandArgv(n->rc, 3, del, NULL);
        ncmd++;
    }
    if (j->finish == FIN_ACK) {
        const char *zadd[] = {"ZADD", n->delivered_key, nowbuf, j->delivery};
        const char *trim[] = {"ZREMRANGEBYSCORE", n->delivered_key, "-inf",
                              trimbuf};
        redisAppendCommandArgv(n->rc, 4, zadd, NULL);
        redisAppendCommandArgv(n->rc, 4, trim, NULL);
        ncmd += 2;
    }
    redisAppendCommand(n->rc, "EXEC");
    ncmd++;
    int ok = 1;
    for (int i = 0; i < ncmd; i++) {
        void *rv = NULL;
        if (redisGetReply(n->rc, &rv) != REDIS_OK || !rv)
            return -1; /* connection broken: the rest is lost with it */
        redisReply *r = rv;
        if (i == ncmd - 1 && r->type != REDIS_REPLY_ARRAY) {
            tocsin_log_warn("NOTIFY-REDIS", "ack of entry %s: %s", j->id,
                            r->type == REDIS_REPLY_ERROR ? r->str : "aborted");
            ok = 0;
        }
        freeReplyObject(r);
    }
    return ok ? 0 : -1;
}

static void
flush_finishes(struct tocsin_notifier *n)
{
    for (size_t i = 0; i < n->njobs && n->rc;) {
        struct job *j = n->jobs[i];
        if (j->finish == FIN_NONE || j->inflight) {
            i++;
            continue;
        }
        if (finish_one(n, j) < 0) {
            redis_drop(n, "ack transaction");
            return;
        }
        job_remove(n, i);
    }
}

/* ---- the delivery loop -------------------------------------------------- */

/* Events of one alert reach a receiver in order: a job waits while an
 * earlier entry with the same key for the same receiver is unfinished
 * (a resolved event never overtakes its firing event). */
static int
held_back(const struct tocsin_notifier *n, size_t i)
{
    const struct job *j = n->jobs[i];
    if (!j->key || !j->key[0])
        return 0;
    for (size_t k = 0; k < i; k++) {
        const struct job *p = n->jobs[k];
        if (p->finish == FIN_NONE && p->key && strcmp(p->key, j->key) == 0 &&
            strcmp(p->receiver, j->receiver) == 0)
            return 1;
    }
    return 0;
}

static void
start_due(struct tocsin_notifier *n)
{
    int64_t now = tocsin_mono_ms();
    for (size_t i = 0; i < n->njobs; i++) {
        struct job *j = n->jobs[i];
        if (j->inflight || j->finish != FIN_NONE || j->due > now)
            continue;
        const struct tocsin_receiver_config *r =
            find_receiver(n->cfg, j->receiver);
        int *inflight = r ? inflight_slot(n, j->receiver) : NULL;
        /* A receiver at its concurrency limit is skipped before the
         * ordering check, which is linear in the jobs held: a slow
         * receiver's backlog must not cost the others CPU. */
        if (r && (!inflight || *inflight >= or_default(r->max_concurrency, 4)))
            continue;
        if (held_back(n, i))
            continue;
        if (!r) {
            j->x.resp_len = 0;
            give_up(n, j, "unknown receiver", 0);
            continue;
        }
        int64_t wait = rate_take(n, j->receiver, r, now);
        if (wait > 0) {
            j->due = now + wait; /* the gateway's pace */
            continue;
        }
        tocsin_err err = xfer_setup(&j->x, r, j->delivery, j->body,
                                    j->body_len, j->step);
        if (err == TOCSIN_ENOENT) { /* nothing (more) to send */
            set_finish(j, FIN_ACK, NULL, j->status);
            continue;
        }
        if (err == TOCSIN_EINVAL) {
            j->x.resp_len = 0;
            give_up(n, j, "cannot build the request from the body", 0);
            continue;
        }
        if (err || curl_easy_setopt(j->x.easy, CURLOPT_PRIVATE, j) ||
            curl_multi_add_handle(n->multi, j->x.easy)) {
            xfer_cleanup(&j->x);
            j->due = now + 1000; /* out of memory: try again later */
            continue;
        }
        j->attempts++;
        j->inflight = 1;
        (*inflight)++;
    }
}

static void
schedule_retry(struct tocsin_notifier *n, struct job *j,
               const struct tocsin_receiver_config *r, int status)
{
    int64_t min = or_default(r ? r->backoff_min_ms : 0, 1000);
    int64_t max = or_default(r ? r->backoff_max_ms : 0, 300000);
    int64_t delay;
    j->prev_delay = tocsin_backoff_decorrelated(j->prev_delay, min, max,
                                                next_rand(&n->rng));
    delay = j->prev_delay;
    int64_t ra;
    if (j->x.retry_after[0] &&
        tocsin_retry_after_parse(j->x.retry_after, tocsin_wall_ms(), &ra) == TOCSIN_OK)
        delay = ra < max ? ra : max;
    j->due = tocsin_mono_ms() + delay;
    count(n, j->receiver, EV_RETRY, status, NULL);
    tocsin_log_info("NOTIFY-RETRY",
                    "receiver=%s delivery=%s: attempt %u failed, retry in "
                    "%lld ms%s",
                    j->receiver, j->delivery, j->attempts, (long long)delay,
                    j->x.retry_after[0] ? " (Retry-After)" : "");
}

static void
on_done(struct tocsin_notifier *n, CURLMsg *m)
{
    char *priv = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
    struct job *j = (void *)priv;
    if (!j)
        return;
    long status = 0;
    CURLcode res = m->data.result;
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(n->multi, m->easy_handle);
    xfer_cleanup(&j->x);
    j->inflight = 0;
    int *inflight = inflight_slot(n, j->receiver);
    if (inflight && *inflight > 0)
        (*inflight)--;

    const struct tocsin_receiver_config *r = find_receiver(n->cfg, j->receiver);
    char shown[256] = "?";
    if (r && r->url)
        tocsin_receiver_redact(r, r->url, shown, sizeof shown);
    int st = (int)status;
    int64_t body_wait = -1;
    enum tocsin_verdict v = TOCSIN_VERDICT_RETRY;
    if (res == CURLE_OK && r)
        v = tocsin_receiver_verdict(r, j->step, status, j->x.resp,
                                    j->x.resp_len, &body_wait);
    else if (res == CURLE_OK && status >= 200 && status < 300)
        v = TOCSIN_VERDICT_OK;
    else if (res == CURLE_OK && !retryable_status(status))
        v = TOCSIN_VERDICT_FAIL;
    else if (r && r->type == TOCSIN_RECEIVER_EMAIL && status >= 400 &&
             res != CURLE_LOGIN_DENIED) /* an SMTP refusal: 4xx or 5xx */
        v = tocsin_receiver_verdict(r, j->step, status, NULL, 0, NULL);

    if (v == TOCSIN_VERDICT_OK && j->x.aux && r) {
        /* A token fetch: keep the token, then build the step again. */
        tocsin_err ae = tocsin_receiver_absorb(r, j->body, j->body_len, j->step,
                                               j->x.answer ? j->x.answer : "",
                                               j->x.answer_len, tocsin_wall_ms());
        free(j->x.answer);
        j->x.answer = NULL;
        j->x.answer_len = 0;
        if (ae == TOCSIN_OK) {
            j->due = tocsin_mono_ms();
            return;
        }
        v = TOCSIN_VERDICT_RETRY;
    }
    if (v == TOCSIN_VERDICT_OK && j->x.absorb && r) {
        (void)tocsin_receiver_absorb(r, j->body, j->body_len, j->step,
                                     j->x.answer ? j->x.answer : "",
                                     j->x.answer_len, tocsin_wall_ms());
        free(j->x.answer);
        j->x.answer = NULL;
        j->x.answer_len = 0;
    }
    if (v == TOCSIN_VERDICT_OK) {
        health(n, j->receiver, 1, st, NULL);
        j->status = st;
        if (r && has_step(r, j, j->step + 1)) {
            j->step++; /* the next request of this delivery, at once */
            j->due = tocsin_mono_ms();
            j->prev_delay = 0;
            return;
        }
        tocsin_log_info("NOTIFY-SENT",
                        "receiver=%s delivery=%s: HTTP %d after %u "
                        "attempt(s)",
                        j->receiver, j->delivery, st, j->attempts);
        count(n, j->receiver, EV_SENT, st, NULL);
        observe_latency(n, j->receiver, j->created_ms);
        set_finish(j, FIN_ACK, NULL, st);
        return;
    }
    if (body_wait >= 0 && !j->x.retry_after[0])
        snprintf(j->x.retry_after, sizeof j->x.retry_after, "%lld",
                 (long long)((body_wait + 999) / 1000));
    char err[128];
    if (res != CURLE_OK) {
        snprintf(err, sizeof err, "%.127s",
                 j->x.errbuf[0] ? j->x.errbuf : curl_easy_strerror(res));
        size_t el = strlen(err);
        snprintf(err + el, sizeof err - el, "%s", tls_hint(res));
    } else
        snprintf(err, sizeof err, "HTTP %d", st);
    tocsin_log_warn("NOTIFY-FAIL", "receiver=%s url=%s delivery=%s: %s",
                    j->receiver, shown, j->delivery, err);
    count(n, j->receiver, EV_FAIL, st, err);
    health(n, j->receiver, 0, st, err);

    if (v == TOCSIN_VERDICT_FAIL) {
        char reason[96];
        if (!r || !tocsin_receiver_reason(r, status, j->x.resp, j->x.resp_len,
                                          reason, sizeof reason))
            snprintf(reason, sizeof reason, "HTTP %d", st);
        give_up(n, j, reason, st);
        return;
    }
    int give_up_s = or_default(r ? r->give_up_s : 0, 86400);
    if (tocsin_wall_ms() - j->created_ms >= (int64_t)give_up_s * 1000) {
        char reason[96];
        snprintf(reason, sizeof reason, "gave up after %d s: %.60s", give_up_s,
                 err);
        give_up(n, j, reason, st);
        return;
    }
    schedule_retry(n, j, r, st);
}

/* Apply a config handed over by set_config. */
static void
adopt_config(struct tocsin_notifier *n)
{
    pthread_mutex_lock(&n->mu);
    if (n->gen_done == n->gen_req) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    const struct tocsin_config *old = n->cfg, *cfg = n->newcfg;
    int same = same_str(old->redis.url, cfg->redis.url) &&
               same_str(old->redis.password, cfg->redis.password) &&
               strcmp(cfg_prefix(old), cfg_prefix(cfg)) == 0 &&
               strcmp(cfg_group(old), cfg_group(cfg)) == 0 &&
               strcmp(cfg_consumer(old), cfg_consumer(cfg)) == 0;
    n->cfg = cfg;
    n->gen_done = n->gen_req;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
    if (same)
        return;
    tocsin_log_notice("NOTIFY-RELOAD", "outbox location changed; "
                                       "reconnecting");
    /* Stop using the old keys: everything held stays pending there. */
    while (n->njobs > 0) {
        struct job *j = n->jobs[n->njobs - 1];
        if (j->inflight) {
            curl_multi_remove_handle(n->multi, j->x.easy);
            int *inflight = inflight_slot(n, j->receiver);
            if (inflight && *inflight > 0)
                (*inflight)--;
        }
        job_remove(n, n->njobs - 1);
    }
    if (n->rc)
        redisFree(n->rc);
    n->rc = NULL;
    n->redis_retry_at = 0;
}

static tocsin_err
make_keys(struct tocsin_notifier *n)
{
    const struct tocsin_config *cfg = n->cfg;
    free(n->key);
    free(n->dead_key);
    free(n->delivered_key);
    free(n->group);
    free(n->consumer);
    n->key = concat(cfg_prefix(cfg), "outbox");
    n->dead_key = concat(cfg_prefix(cfg), "outbox:dead");
    n->delivered_key = concat(cfg_prefix(cfg), "delivered");
    n->group = concat(cfg_group(cfg), "-notify");
    n->consumer = dup_s(cfg_consumer(cfg));
    if (!n->key || !n->dead_key || !n->delivered_key || !n->group ||
        !n->consumer)
        return TOCSIN_ENOMEM;
    return TOCSIN_OK;
}

static int
inflight_total(const struct tocsin_notifier *n)
{
    int k = 0;
    for (size_t i = 0; i < n->njobs; i++)
        k += n->jobs[i]->inflight;
    return k;
}

/* Milliseconds until the next job is due (capped at cap), 0 if one is. */
static int64_t
until_due(const struct tocsin_notifier *n, int64_t now, int64_t cap)
{
    int64_t w = cap;
    for (size_t i = 0; i < n->njobs; i++) {
        const struct job *j = n->jobs[i];
        if (j->inflight)
            continue;
        if (j->finish != FIN_NONE)
            return n->rc ? 0 : w;
        int64_t d = j->due - now;
        if (d < w)
            w = d < 0 ? 0 : d;
    }
    return w;
}

static void *
run(void *arg)
{
    struct tocsin_notifier *n = arg;
    /* A Redis restart makes hiredis write to a dead socket: take EPIPE
     * rather than a process-killing SIGPIPE (curl guards its own). */
    sigset_t sigpipe_set;
    sigemptyset(&sigpipe_set);
    sigaddset(&sigpipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe_set, NULL);
    while (!atomic_load(&n->stop)) {
        const struct tocsin_config *before = n->cfg;
        adopt_config(n);
        if (n->cfg != before && make_keys(n) != TOCSIN_OK) {
            tocsin_log_err("NOTIFY-REDIS", "out of memory");
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        int64_t now = tocsin_mono_ms();
        if (!n->rc && now >= n->redis_retry_at)
            redis_open(n);
        if (n->rc)
            flush_finishes(n);
        if (n->rc && n->need_pending && room(n) > 0)
            read_group(n, n->pending_cursor, 0);
        if (n->rc && now >= n->next_claim && room(n) > 0)
            autoclaim(n);
        if (n->rc && now >= n->next_depth)
            update_depth(n);

        now = tocsin_mono_ms();
        int busy = inflight_total(n) > 0;
        int64_t wait = until_due(n, now, busy ? MAX_POLL_MS : MAX_BLOCK_MS);
        if (!n->rc) {
            int64_t r = n->redis_retry_at - now;
            wait = r < wait ? (r < 0 ? 0 : r) : wait;
        }
        if (n->rc && room(n) > 0 && !n->need_pending) {
            /* Block in Redis only while no transfer needs curl. */
            read_group(n, ">", busy || wait < 1 ? 0 : (int)wait);
            if (!busy)
                wait = 0;
        }
        start_due(n);
        int still;
        curl_multi_perform(n->multi, &still);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(n->multi, &left)))
            if (m->msg == CURLMSG_DONE)
                on_done(n, m);
        if (n->rc)
            flush_finishes(n);
        if (n->rc && n->nnotices)
            flush_notices(n);
        now = tocsin_mono_ms();
        int64_t w2 = until_due(n, now, wait);
        if (!atomic_load(&n->stop))
            curl_multi_poll(n->multi, NULL, 0, (int)w2, NULL);
    }
    /* Abandon transfers in flight (their entries stay pending), but write
     * the acks we already owe if Redis is there. */
    for (size_t i = 0; i < n->njobs; i++) {
        struct job *j = n->jobs[i];
        if (j->inflight) {
            curl_multi_remove_handle(n->multi, j->x.easy);
            j->inflight = 0;
            int *inflight = inflight_slot(n, j->receiver);
            if (inflight && *inflight > 0)
                (*inflight)--;
        }
    }
    if (n->rc)
        flush_finishes(n);
    while (n->njobs > 0)
        job_remove(n, n->njobs - 1);
    if (n->rc)
        redisFree(n->rc);
    n->rc = NULL;
    return NULL;
}

/* ---- public API --------------------------------------------------------- */

tocsin_err
tocsin_notifier_new(struct tocsin_notifier **out,
                    const struct tocsin_config *cfg)
{
    if (!out || !cfg)
        return TOCSIN_EINVAL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return TOCSIN_EIO;
    struct tocsin_notifier *n = calloc(1, sizeof *n);
    if (!n) {
        curl_global_cleanup();
        return TOCSIN_ENOMEM;
    }
    n->multi = curl_multi_init();
    if (!n->multi) {
        free(n);
        curl_global_cleanup();
        return TOCSIN_ENOMEM;
    }
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cond, NULL);
    n->cfg = cfg;
    n->rng = (uint64_t)tocsin_wall_ms() ^ ((uint64_t)getpid() << 32) ^
             (uint64_t)(uintptr_t)n;
    if (!n->rng)
        n->rng = 0x9E3779B97F4A7C15ULL;
    *out = n;
    return TOCSIN_OK;
}

tocsin_err
tocsin_notifier_start(struct tocsin_notifier *n)
{
    if (!n || !n->cfg->redis.url)
        return TOCSIN_EINVAL;
    pthread_mutex_lock(&n->mu);
    if (n->running) {
        pthread_mutex_unlock(&n->mu);
        return TOCSIN_EINVAL;
    }
    tocsin_err err = make_keys(n);
    if (err) {
        pthread_mutex_unlock(&n->mu);
        return err;
    }
    atomic_store(&n->stop, 0);
    n->redis_retry_at = 0;
    n->redis_backoff = 0;
    if (pthread_create(&n->thread, NULL, run, n) != 0) {
        pthread_mutex_unlock(&n->mu);
        return TOCSIN_EIO;
    }
    n->running = 1;
    pthread_mutex_unlock(&n->mu);
    return TOCSIN_OK;
}

void
tocsin_notifier_set_config(struct tocsin_notifier *n,
                           const struct tocsin_config *cfg)
{
    if (!n || !cfg)
        return;
    pthread_mutex_lock(&n->mu);
    if (!n->running) {
        n->cfg = cfg;
        n->gen_done = n->gen_req;
        pthread_mutex_unlock(&n->mu);
        return;
    }
    n->newcfg = cfg;
    unsigned long want = ++n->gen_req;
    curl_multi_wakeup(n->multi);
    while (n->running && n->gen_done < want)
        pthread_cond_wait(&n->cond, &n->mu);
    if (!n->running)
        n->cfg = cfg;
    pthread_mutex_unlock(&n->mu);
}

void
tocsin_notifier_stop(struct tocsin_notifier *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    int running = n->running;
    pthread_mutex_unlock(&n->mu);
    if (!running)
        return;
    atomic_store(&n->stop, 1);
    curl_multi_wakeup(n->multi);
    pthread_join(n->thread, NULL);
    pthread_mutex_lock(&n->mu);
    n->running = 0;
    /* A set_config racing with the stop adopts its config here. */
    if (n->gen_done != n->gen_req) {
        n->cfg = n->newcfg;
        n->gen_done = n->gen_req;
    }
    pthread_cond_broadcast(&n->cond);
    for (size_t i = 0; i < n->nstats; i++)
        n->stats[i].inflight = 0;
    pthread_mutex_unlock(&n->mu);
}

void
tocsin_notifier_free(struct tocsin_notifier *n)
{
    if (!n)
        return;
    tocsin_notifier_stop(n);
    curl_multi_cleanup(n->multi);
    free(n->jobs);
    free(n->stats);
    free(n->notices);
    for (size_t i = 0; i < n->npubq; i++)
        free(n->pubq[i].json);
    free(n->key);
    free(n->dead_key);
    free(n->delivered_key);
    free(n->group);
    free(n->consumer);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->mu);
    free(n);
    curl_global_cleanup();
}

tocsin_err
tocsin_notifier_stats(struct tocsin_notifier *n,
                      struct tocsin_receiver_stats *out, size_t max,
                      size_t *nout, uint64_t *outbox_depth)
{
    if (!n)
        return TOCSIN_EINVAL;
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; out && i < n->nstats && i < max; i++)
        out[i] = n->stats[i].st;
    if (nout)
        *nout = n->nstats;
    if (outbox_depth)
        *outbox_depth = n->depth;
    pthread_mutex_unlock(&n->mu);
    return TOCSIN_OK;
}

void
tocsin_notifier_take_published(struct tocsin_notifier *n,
                               tocsin_notifier_publish_fn fn, void *arg)
{
    struct published q[MAX_PUBLISHED];
    pthread_mutex_lock(&n->mu);
    size_t k = n->npubq;
    memcpy(q, n->pubq, k * sizeof q[0]);
    n->npubq = 0;
    pthread_mutex_unlock(&n->mu);
    for (size_t i = 0; i < k; i++) {
        fn(arg, q[i].topic, "ReceiverDown", q[i].firing ? "firing" : "resolved",
           q[i].json);
        free(q[i].json);
    }
}

static void errf(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (!errbuf || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

tocsin_err
tocsin_notifier_test_receiver(const struct tocsin_config *cfg, const char *name,
                              const char *body, char *errbuf, size_t errlen)
{
    if (!cfg || !name || !body) {
        errf(errbuf, errlen, "missing argument");
        return TOCSIN_EINVAL;
    }
    const struct tocsin_receiver_config *r = find_receiver(cfg, name);
    if (!r) {
        errf(errbuf, errlen, "no receiver called \"%s\"", name);
        return TOCSIN_ENOENT;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        errf(errbuf, errlen, "libcurl initialisation failed");
        return TOCSIN_EIO;
    }
    struct xfer *x = calloc(1, sizeof *x);
    tocsin_err err = TOCSIN_ENOMEM;
    char delivery[48], shown[256];
    tocsin_receiver_redact(r, r->url, shown, sizeof shown);
    snprintf(delivery, sizeof delivery, "test-%lld", (long long)tocsin_wall_ms());
    if (!x) {
        errf(errbuf, errlen, "out of memory");
        goto out;
    }
    CURLcode res = CURLE_OK;
    long status = 0;
    for (unsigned step = 0;; step++) {
        tocsin_err e = xfer_setup(x, r, delivery, body, strlen(body), step);
        if (e == TOCSIN_ENOENT && step > 0)
            break;
        if (e != TOCSIN_OK) {
            errf(errbuf, errlen, "cannot prepare the request%s",
                 e == TOCSIN_EINVAL ? " (is the body an alert event?)" : "");
            err = e == TOCSIN_ENOMEM ? TOCSIN_ENOMEM : TOCSIN_EINVAL;
            goto out;
        }
        res = curl_easy_perform(x->easy);
        status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        if (res != CURLE_OK ||
            tocsin_receiver_verdict(r, step, status, x->resp, x->resp_len,
                                    NULL) != TOCSIN_VERDICT_OK)
            break;
        int again = (x->aux || x->absorb) &&
                    tocsin_receiver_absorb(
                        r, body, strlen(body), step, x->answer ? x->answer : "",
                        x->answer_len, tocsin_wall_ms()) == TOCSIN_OK &&
                    x->aux;
        if (x->aux && !again) {
            errf(errbuf, errlen, "%s: unusable token answer", shown);
            err = TOCSIN_EPROTO;
            goto out;
        }
        curl_easy_cleanup(x->easy);
        curl_slist_free_all(x->hdrs);
        curl_slist_free_all(x->rcpt);
        x->easy = NULL;
        x->hdrs = NULL;
        x->rcpt = NULL;
        if (again)
            step--; /* the same step, now with its token */
    }
    if (res != CURLE_OK) {
        errf(errbuf, errlen, "%s: %s%s", shown,
             x->errbuf[0] ? x->errbuf : curl_easy_strerror(res),
             tls_hint(res));
        err = res == CURLE_OPERATION_TIMEDOUT ? TOCSIN_ETIMEDOUT : TOCSIN_EIO;
    } else if (status < 200 || status >= 300) {
        char ex[RESP_KEEP + 1];
        excerpt(ex, sizeof ex, x->resp, x->resp_len);
        errf(errbuf, errlen, "%s answered HTTP %ld: %s", shown, status, ex);
        err = TOCSIN_EPROTO;
    } else {
        errf(errbuf, errlen, "%s answered HTTP %ld", shown, status);
        err = TOCSIN_OK;
    }
out:
    if (x) {
        xfer_cleanup(x);
        free(x->answer);
    }
    free(x);
    curl_global_cleanup();
    return err;
}
