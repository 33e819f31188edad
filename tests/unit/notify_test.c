/*
 * notify_test.c: the delivery thread against a real redis-server and real
 * HTTP receivers on loopback (tests/support fixtures); no mocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "alert_fixture.h"
#include "http_fixture.h"
#include "redis_fixture.h"
#include "tocsin/engine.h"
#include "tocsin/event.h"
#include "tocsin/notify.h"
#include "tocsin/sign.h"
#include "tocsin_test.h"

#define OUTBOX    "t:outbox"
#define DEAD      "t:outbox:dead"
#define DELIVERED "t:delivered"
#define GROUP     "g-notify"

struct env {
    struct tocsin_redis_fixture *redis;
    struct tocsin_http_fixture *http[2];
    char redis_url[256];
    char names[2][32];
    char urls[2][128];
    char secret[32];
    char prefix[8], group[8], consumer[16];
    struct tocsin_receiver_config recv[2];
    struct tocsin_config cfg;
    struct tocsin_notifier *n;
    redisContext *rc;
};

static struct env E;

static int64_t
now_ms(void)
{
    return tocsin_http_fixture_now_ms();
}

static int64_t
epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void
env_down(void)
{
    tocsin_notifier_free(E.n);
    if (E.rc)
        redisFree(E.rc);
    for (int i = 0; i < 2; i++)
        tocsin_http_fixture_stop(E.http[i]);
    tocsin_redis_fixture_stop(E.redis);
    memset(&E, 0, sizeof E);
}

/* Reserve a loopback port nobody listens on (start a receiver, stop it). */
static int
dead_port(void)
{
    struct tocsin_http_fixture *h;
    if (tocsin_http_fixture_start(&h, 0) != TOCSIN_OK)
        return 0;
    int port = tocsin_http_fixture_port(h);
    tocsin_http_fixture_stop(h);
    return port;
}

/*
 * Redis, plus nrecv receivers "r0", "r1": receiver i listens on a new
 * fixture, or on a closed port when ports[i] is given.
 */
static void
env_up(int nrecv, const int *ports)
{
    env_down();
    REQUIRE(tocsin_redis_fixture_start(&E.redis) == TOCSIN_OK);
    E.rc = tocsin_redis_fixture_connect(E.redis);
    REQUIRE(E.rc);
    snprintf(E.redis_url, sizeof E.redis_url, "%s",
             tocsin_redis_fixture_url(E.redis));
    snprintf(E.secret, sizeof E.secret, "s3cret");
    snprintf(E.prefix, sizeof E.prefix, "t:");
    snprintf(E.group, sizeof E.group, "g");
    snprintf(E.consumer, sizeof E.consumer, "live");
    for (int i = 0; i < nrecv; i++) {
        snprintf(E.names[i], sizeof E.names[i], "r%d", i);
        if (ports && ports[i]) {
            snprintf(E.urls[i], sizeof E.urls[i], "http://127.0.0.1:%d/hook",
                     ports[i]);
        } else {
            REQUIRE(tocsin_http_fixture_start(&E.http[i], 0) == TOCSIN_OK);
            snprintf(E.urls[i], sizeof E.urls[i], "%s/hook",
                     tocsin_http_fixture_url(E.http[i]));
        }
        struct tocsin_receiver_config *r = &E.recv[i];
        r->name = E.names[i];
        r->type = TOCSIN_RECEIVER_WEBHOOK;
        r->url = E.urls[i];
        r->secret = E.secret;
        r->timeout_ms = 5000;
        r->backoff_min_ms = 50;
        r->backoff_max_ms = 200;
        r->give_up_s = 60;
        r->send_resolved = 1;
        r->max_concurrency = 2;
    }
    E.cfg.redis.url = E.redis_url;
    E.cfg.redis.prefix = E.prefix;
    E.cfg.redis.group = E.group;
    E.cfg.redis.consumer = E.consumer;
    E.cfg.redis.batch = 100;
    E.cfg.redis.block_ms = 100;
    E.cfg.redis.claim_idle_ms = 60000;
    E.cfg.redis.connect_timeout_ms = 1000;
    E.cfg.receivers = E.recv;
    E.cfg.nreceivers = (size_t)nrecv;
}

static void
start(void)
{
    REQUIRE(tocsin_notifier_new(&E.n, &E.cfg) == TOCSIN_OK);
    REQUIRE(tocsin_notifier_start(E.n) == TOCSIN_OK);
}

static void
reconnect_test_client(void)
{
    if (E.rc)
        redisFree(E.rc);
    E.rc = tocsin_redis_fixture_connect(E.redis);
    REQUIRE(E.rc);
}

static void
xadd(const char *delivery, const char *receiver, const char *body,
     int64_t created)
{
    char c[24];
    snprintf(c, sizeof c, "%lld", (long long)created);
    redisReply *r = redisCommand(E.rc,
                                 "XADD %s * delivery %s receiver %s body %s "
                                 "created %s",
                                 OUTBOX, delivery, receiver, body, c);
    REQUIRE(r && r->type == REDIS_REPLY_STRING);
    freeReplyObject(r);
}

static long long
xlen(const char *key)
{
    redisReply *r = redisCommand(E.rc, "XLEN %s", key);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    return v;
}

/* Entries pending in the notifier's group (-1 if no such group). */
static long long
pending(void)
{
    redisReply *r = redisCommand(E.rc, "XPENDING %s %s", OUTBOX, GROUP);
    long long v = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        r->element[0]->type == REDIS_REPLY_INTEGER)
        v = r->element[0]->integer;
    if (r)
        freeReplyObject(r);
    return v;
}

static int
is_delivered(const char *delivery)
{
    redisReply *r = redisCommand(E.rc, "ZSCORE %s %s", DELIVERED, delivery);
    int yes = r && r->type == REDIS_REPLY_STRING;
    if (r)
        freeReplyObject(r);
    return yes;
}

static int
wait_xlen(const char *key, long long want, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    do {
        if (xlen(key) == want)
            return 1;
        sleep_ms(10);
    } while (now_ms() < end);
    return xlen(key) == want;
}

static struct tocsin_receiver_stats
stats_of(int i)
{
    struct tocsin_receiver_stats st[4], none;
    size_t n = 0;
    memset(&none, 0, sizeof none);
    if (tocsin_notifier_stats(E.n, st, 4, &n, NULL) != TOCSIN_OK)
        return none;
    for (size_t k = 0; k < n && k < 4; k++)
        if (strcmp(st[k].name, E.names[i]) == 0)
            return st[k];
    return none;
}

/* Field value of the first entry of a stream, copied into buf. */
static const char *
first_field(const char *key, const char *name, char *buf, size_t cap)
{
    redisReply *r = redisCommand(E.rc, "XRANGE %s - + COUNT 1", key);
    buf[0] = '\0';
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *f = r->element[0]->element[1];
        for (size_t i = 0; i + 1 < f->elements; i += 2)
            if (strcmp(f->element[i]->str, name) == 0)
                snprintf(buf, cap, "%s", f->element[i + 1]->str);
    }
    if (r)
        freeReplyObject(r);
    return buf;
}

static void
test_delivered_once_signed(void)
{
    env_up(1, NULL);
    const char *body = "{\"event\":\"fire\",\"topic\":\"acme\"}";
    xadd("d-1", "r0", body, epoch_ms());
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 1, 5000));
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    CHECK(pending() == 0);
    CHECK(is_delivered("d-1"));

    const struct tocsin_http_request *q =
        tocsin_http_fixture_request(E.http[0], 0);
    CHECK_STR(q->method, "POST");
    CHECK_STR(q->path, "/hook");
    CHECK_STR(q->body, body);
    CHECK_STR(tocsin_http_request_header(q, "Content-Type"),
              "application/json");
    CHECK_STR(tocsin_http_request_header(q, "User-Agent"),
              "tocsin/" TOCSIN_VERSION);
    CHECK_STR(tocsin_http_request_header(q, "X-Tocsin-Delivery"), "d-1");

    /* The signature verifies, and is recent. */
    const char *sig = tocsin_http_request_header(q, "X-Tocsin-Signature");
    REQUIRE(sig);
    long long t = 0;
    REQUIRE(sscanf(sig, "t=%lld,", &t) == 1);
    CHECK(llabs(t - epoch_ms() / 1000) <= 5);
    char want[TOCSIN_SIGN_MAX];
    CHECK_OK(tocsin_sign_webhook("s3cret", t, body, strlen(body), want,
                                 sizeof want));
    CHECK_STR(sig, want);

    sleep_ms(300); /* nothing else may arrive */
    CHECK(tocsin_http_fixture_count(E.http[0]) == 1);
    struct tocsin_receiver_stats st = stats_of(0);
    CHECK(st.sent == 1 && st.failed == 0 && st.last_status == 200);
    env_down();
}

static void
test_no_secret_no_signature(void)
{
    env_up(1, NULL);
    E.recv[0].secret = NULL;
    xadd("d-ns", "r0", "{}", epoch_ms());
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 1, 5000));
    const struct tocsin_http_request *q =
        tocsin_http_fixture_request(E.http[0], 0);
    CHECK(tocsin_http_request_header(q, "X-Tocsin-Signature") == NULL);
    CHECK_STR(tocsin_http_request_header(q, "X-Tocsin-Delivery"), "d-ns");
    env_down();
}

static void
test_500_then_200(void)
{
    env_up(1, NULL);
    CHECK_OK(tocsin_http_fixture_script(E.http[0], 500, 0, NULL, "oops"));
    xadd("d-2", "r0", "{\"n\":2}", epoch_ms());
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 2, 5000));
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    CHECK(pending() == 0);
    CHECK(is_delivered("d-2"));
    const struct tocsin_http_request *a =
        tocsin_http_fixture_request(E.http[0], 0);
    const struct tocsin_http_request *b =
        tocsin_http_fixture_request(E.http[0], 1);
    CHECK_STR(tocsin_http_request_header(a, "X-Tocsin-Delivery"), "d-2");
    CHECK_STR(tocsin_http_request_header(b, "X-Tocsin-Delivery"), "d-2");
    CHECK_STR(b->body, "{\"n\":2}");
    sleep_ms(300);
    CHECK(tocsin_http_fixture_count(E.http[0]) == 2);
    struct tocsin_receiver_stats st = stats_of(0);
    CHECK(st.sent == 1 && st.failed == 1 && st.retried == 1 && st.dead == 0);
    env_down();
}

static void
test_429_retry_after(void)
{
    env_up(1, NULL);
    E.recv[0].backoff_max_ms = 5000; /* Retry-After is capped by this */
    CHECK_OK(
        tocsin_http_fixture_script(E.http[0], 429, 0, "Retry-After: 1", NULL));
    xadd("d-3", "r0", "{}", epoch_ms());
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 2, 5000));
    const struct tocsin_http_request *a =
        tocsin_http_fixture_request(E.http[0], 0);
    const struct tocsin_http_request *b =
        tocsin_http_fixture_request(E.http[0], 1);
    /* backoff alone would have retried within 200 ms */
    CHECK(b->received_ms - a->received_ms >= 1000);
    CHECK(b->received_ms - a->received_ms < 2500);
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    env_down();
}

static void
test_400_dead_lettered(void)
{
    env_up(1, NULL);
    CHECK_OK(tocsin_http_fixture_script(E.http[0], 400, 0, NULL,
                                        "{\"error\":\"bad payload\"}"));
    xadd("d-4", "r0", "{\"bad\":1}", 1700000000000LL + 5);
    start();
    CHECK(wait_xlen(DEAD, 1, 5000));
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    CHECK(pending() == 0);
    char buf[128];
    CHECK_STR(first_field(DEAD, "delivery", buf, sizeof buf), "d-4");
    CHECK_STR(first_field(DEAD, "receiver", buf, sizeof buf), "r0");
    CHECK_STR(first_field(DEAD, "body", buf, sizeof buf), "{\"bad\":1}");
    CHECK_STR(first_field(DEAD, "created", buf, sizeof buf), "1700000000005");
    CHECK_STR(first_field(DEAD, "reason", buf, sizeof buf), "HTTP 400");
    CHECK_STR(first_field(DEAD, "status", buf, sizeof buf), "400");
    CHECK(!is_delivered("d-4"));
    sleep_ms(400); /* not retried */
    CHECK(tocsin_http_fixture_count(E.http[0]) == 1);
    struct tocsin_receiver_stats st = stats_of(0);
    CHECK(st.dead == 1 && st.retried == 0 && st.last_status == 400);
    env_down();
}

static void
test_unknown_receiver_dead_lettered(void)
{
    env_up(1, NULL);
    xadd("d-5", "gone", "{}", epoch_ms());
    start();
    CHECK(wait_xlen(DEAD, 1, 5000));
    char buf[128];
    CHECK_STR(first_field(DEAD, "reason", buf, sizeof buf), "unknown receiver");
    CHECK_STR(first_field(DEAD, "receiver", buf, sizeof buf), "gone");
    CHECK(wait_xlen(OUTBOX, 0, 1000));
    CHECK(tocsin_http_fixture_count(E.http[0]) == 0);
    env_down();
}

static void
test_receiver_down_then_up(void)
{
    int ports[1] = {dead_port()};
    REQUIRE(ports[0] > 0);
    env_up(1, ports);
    xadd("d-6", "r0", "{}", epoch_ms());
    start();
    int64_t end = now_ms() + 5000;
    while (stats_of(0).failed < 2 && now_ms() < end)
        sleep_ms(10);
    CHECK(stats_of(0).failed >= 2);
    CHECK(xlen(OUTBOX) == 1 && pending() == 1); /* kept, not acked */
    REQUIRE(tocsin_http_fixture_start(&E.http[0], ports[0]) == TOCSIN_OK);
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 1, 5000));
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    CHECK(is_delivered("d-6"));
    CHECK(xlen(DEAD) == 0);
    const struct tocsin_http_request *q =
        tocsin_http_fixture_request(E.http[0], 0);
    CHECK_STR(tocsin_http_request_header(q, "X-Tocsin-Delivery"), "d-6");
    env_down();
}

static void
test_give_up_after_give_up_s(void)
{
    int ports[1] = {dead_port()};
    REQUIRE(ports[0] > 0);
    env_up(1, ports);
    E.recv[0].give_up_s = 1;
    xadd("d-7", "r0", "{}", epoch_ms());
    start();
    CHECK(wait_xlen(DEAD, 1, 4000));
    CHECK(wait_xlen(OUTBOX, 0, 1000));
    CHECK(pending() == 0);
    char buf[128];
    CHECK(strncmp(first_field(DEAD, "reason", buf, sizeof buf),
                  "gave up after 1 s", 17) == 0);
    CHECK_STR(first_field(DEAD, "status", buf, sizeof buf), "0");
    struct tocsin_receiver_stats st = stats_of(0);
    CHECK(st.failed >= 2 && st.dead == 1); /* retried before giving up */
    env_down();
}

static void
test_claims_entry_of_crashed_consumer(void)
{
    env_up(1, NULL);
    E.cfg.redis.claim_idle_ms = 100;
    redisReply *r =
        redisCommand(E.rc, "XGROUP CREATE %s %s 0 MKSTREAM", OUTBOX, GROUP);
    REQUIRE(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    xadd("d-8", "r0", "{}", epoch_ms());
    r = redisCommand(E.rc, "XREADGROUP GROUP %s crashed COUNT 10 STREAMS %s >",
                     GROUP, OUTBOX);
    REQUIRE(r && r->type == REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    REQUIRE(pending() == 1);
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 1, 5000));
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    CHECK(pending() == 0);
    CHECK(is_delivered("d-8"));
    sleep_ms(300);
    CHECK(tocsin_http_fixture_count(E.http[0]) == 1);
    env_down();
}

static void
test_held_entries_not_claimable_by_others(void)
{
    int ports[1] = {dead_port()};
    REQUIRE(ports[0] > 0);
    env_up(1, ports);
    /* Held entries are touched every claim_idle_ms / 2: a second idle
     * leaves half a second of slack on a loaded machine. */
    E.cfg.redis.claim_idle_ms = 1000;
    xadd("d-held", "r0", "{}", epoch_ms());
    start();
    int64_t end = now_ms() + 10000;
    while (stats_of(0).failed < 1 && now_ms() < end)
        sleep_ms(10);
    REQUIRE(stats_of(0).failed >= 1);
    /* Held for retries well past claim_idle_ms, yet never idle that long. */
    for (int i = 0; i < 4; i++) {
        sleep_ms(400);
        redisReply *r = redisCommand(
            E.rc, "XAUTOCLAIM %s %s other 1000 0-0 JUSTID", OUTBOX, GROUP);
        REQUIRE(r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2);
        CHECK(r->element[1]->elements == 0);
        freeReplyObject(r);
    }
    CHECK(pending() == 1);
    env_down();
}

static void
test_already_delivered_not_resent(void)
{
    env_up(1, NULL);
    redisReply *r = redisCommand(E.rc, "ZADD %s %lld d-dup", DELIVERED,
                                 (long long)epoch_ms());
    REQUIRE(r && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    xadd("d-dup", "r0", "{}", epoch_ms());
    xadd("d-new", "r0", "{}", epoch_ms());
    start();
    CHECK(wait_xlen(OUTBOX, 0, 5000));
    CHECK(pending() == 0);
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 1, 3000));
    sleep_ms(200);
    CHECK(tocsin_http_fixture_count(E.http[0]) == 1);
    const struct tocsin_http_request *q =
        tocsin_http_fixture_request(E.http[0], 0);
    CHECK_STR(tocsin_http_request_header(q, "X-Tocsin-Delivery"), "d-new");
    env_down();
}

static void
test_slow_receiver_does_not_delay_others_and_stop_is_prompt(void)
{
    env_up(2, NULL);
    tocsin_http_fixture_set_default(E.http[0], 200, 2000); /* r0 is slow */
    E.recv[0].max_concurrency = 1;
    E.recv[0].timeout_ms = 10000;
    xadd("slow-1", "r0", "{}", epoch_ms());
    xadd("slow-2", "r0", "{}", epoch_ms());
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 1, 3000));
    int64_t t0 = now_ms();
    xadd("fast-1", "r1", "{}", epoch_ms());
    REQUIRE(tocsin_http_fixture_wait(E.http[1], 1, 3000));
    const struct tocsin_http_request *q =
        tocsin_http_fixture_request(E.http[1], 0);
    CHECK(q->received_ms - t0 < 500);
    int64_t end = now_ms() + 1000;
    while (!is_delivered("fast-1") && now_ms() < end)
        sleep_ms(5);
    CHECK(is_delivered("fast-1"));
    CHECK(!is_delivered("slow-1")); /* still waiting for r0 */
    /* max_concurrency 1: the second slow entry has not been sent yet */
    CHECK(tocsin_http_fixture_count(E.http[0]) == 1);

    /* Stop while r0 holds a request: prompt, and both entries stay. */
    int64_t s0 = now_ms();
    tocsin_notifier_stop(E.n);
    CHECK(now_ms() - s0 < 1000);
    CHECK(xlen(OUTBOX) == 2);
    CHECK(pending() == 2);

    /* After a restart they are sent (r0 now answers at once). */
    tocsin_http_fixture_set_default(E.http[0], 200, 0);
    REQUIRE(tocsin_notifier_start(E.n) == TOCSIN_OK);
    CHECK(wait_xlen(OUTBOX, 0, 5000));
    CHECK(is_delivered("slow-1") && is_delivered("slow-2"));
    env_down();
}

static void
test_redis_restart_survived(void)
{
    env_up(1, NULL);
    tocsin_http_fixture_set_default(E.http[0], 200, 400);
    xadd("d-r1", "r0", "{}", epoch_ms());
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 1, 3000));
    /* The request is in flight: crash redis (keeping its data). */
    REQUIRE(tocsin_redis_fixture_restart(E.redis, 1) == TOCSIN_OK);
    reconnect_test_client();
    CHECK(wait_xlen(OUTBOX, 0, 5000));
    CHECK(pending() == 0);
    CHECK(is_delivered("d-r1"));
    /* New entries flow again. */
    tocsin_http_fixture_set_default(E.http[0], 200, 0);
    xadd("d-r2", "r0", "{}", epoch_ms());
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 2, 5000));
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    sleep_ms(200);
    CHECK(tocsin_http_fixture_count(E.http[0]) == 2);
    const struct tocsin_http_request *q =
        tocsin_http_fixture_request(E.http[0], 1);
    CHECK_STR(tocsin_http_request_header(q, "X-Tocsin-Delivery"), "d-r2");
    uint64_t depth = 99;
    CHECK_OK(tocsin_notifier_stats(E.n, NULL, 0, NULL, &depth));
    env_down();
}

static void
test_redis_empty_after_restart(void)
{
    /* A restart that loses everything: the group is recreated. */
    env_up(1, NULL);
    start();
    sleep_ms(100);
    REQUIRE(tocsin_redis_fixture_restart(E.redis, 0) == TOCSIN_OK);
    reconnect_test_client();
    xadd("d-e1", "r0", "{}", epoch_ms());
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 1, 5000));
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    env_down();
}

static void
test_test_receiver(void)
{
    env_up(1, NULL);
    char err[256] = "";
    CHECK_OK(tocsin_notifier_test_receiver(&E.cfg, "r0", "{\"test\":true}", err,
                                           sizeof err));
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 1, 1000));
    const struct tocsin_http_request *q =
        tocsin_http_fixture_request(E.http[0], 0);
    CHECK_STR(q->body, "{\"test\":true}");
    CHECK(tocsin_http_request_header(q, "X-Tocsin-Signature") != NULL);
    CHECK_OK(tocsin_http_fixture_script(E.http[0], 503, 0, NULL, "down"));
    CHECK_ERR(
        tocsin_notifier_test_receiver(&E.cfg, "r0", "{}", err, sizeof err),
        TOCSIN_EPROTO);
    CHECK(strstr(err, "503") != NULL);
    CHECK_ERR(
        tocsin_notifier_test_receiver(&E.cfg, "nope", "{}", err, sizeof err),
        TOCSIN_ENOENT);
    env_down();
}

static void
test_set_config_and_stop_idempotent(void)
{
    env_up(2, NULL);
    /* Start with r0 only; r1 arrives with a reload. */
    E.cfg.nreceivers = 1;
    start();
    struct tocsin_config cfg2 = E.cfg;
    cfg2.nreceivers = 2;
    tocsin_notifier_set_config(E.n, &cfg2);
    xadd("d-c1", "r1", "{}", epoch_ms());
    REQUIRE(tocsin_http_fixture_wait(E.http[1], 1, 3000));
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    CHECK(xlen(DEAD) == 0);
    tocsin_notifier_stop(E.n);
    tocsin_notifier_stop(E.n);
    tocsin_notifier_free(E.n);
    E.n = NULL;
    tocsin_notifier_free(NULL);
    env_down();
}

/* Queue the typical alert (alert_fixture.h), as the engine writes it, for
 * r0 as delivery `delivery`. */
static void
xadd_alert(const char *delivery, int resolved, const char *severity)
{
    struct tocsin_alert_event ev;
    tocsin_test_alert_event(&ev, resolved, severity);
    char *body = NULL;
    REQUIRE(tocsin_event_body(&body, &ev, "r0", "http://tocsin.example") ==
            TOCSIN_OK);
    xadd(delivery, "r0", body, epoch_ms());
    free(body);
}

/* Receiver r0 at the root of its server: gateways add their own paths. */
static void
r0_at_root(void)
{
    snprintf(E.urls[0], sizeof E.urls[0], "%s",
             tocsin_http_fixture_url(E.http[0]));
}

static void
test_ntfy_receiver_end_to_end(void)
{
    env_up(1, NULL);
    r0_at_root();
    E.recv[0].type = TOCSIN_RECEIVER_NTFY;
    E.recv[0].topic = "crisis";
    E.recv[0].token = "tk_secret";
    xadd_alert("d-ntfy", 0, "critical");
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 1, 5000));
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    CHECK(is_delivered("d-ntfy"));
    const struct tocsin_http_request *q =
        tocsin_http_fixture_request(E.http[0], 0);
    CHECK_STR(q->method, "POST");
    CHECK_STR(q->path, "/");
    CHECK_STR(tocsin_http_request_header(q, "Authorization"),
              "Bearer tk_secret");
    CHECK_STR(tocsin_http_request_header(q, "Content-Type"),
              "application/json");
    CHECK(tocsin_http_request_header(q, "X-Tocsin-Signature") == NULL);
    CHECK(strstr(q->body, "\"topic\":\"crisis\"") != NULL);
    CHECK(strstr(q->body, "\"priority\":5") != NULL);
    CHECK(strstr(q->body, "\"label\":\"Acknowledge\"") != NULL);
    CHECK(strstr(q->body, "http://tocsin.example/ack/5f0c1d2e3f405162") !=
          NULL);
    env_down();
}

/* A resolved critical Pushover alert: cancel the emergency, then say it
 * resolved; a failure of the second request retries only that one. */
static void
test_pushover_two_steps(void)
{
    env_up(1, NULL);
    r0_at_root();
    E.recv[0].type = TOCSIN_RECEIVER_PUSHOVER;
    E.recv[0].token = "apptoken";
    E.recv[0].user = "userkey";
    CHECK_OK(tocsin_http_fixture_script(E.http[0], 200, 0, NULL,
                                        "{\"status\":1}"));
    CHECK_OK(tocsin_http_fixture_script(E.http[0], 500, 0, NULL, "oops"));
    xadd_alert("d-po", 1, "critical");
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 3, 5000));
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    CHECK(is_delivered("d-po"));
    const struct tocsin_http_request *a =
        tocsin_http_fixture_request(E.http[0], 0);
    const struct tocsin_http_request *b =
        tocsin_http_fixture_request(E.http[0], 1);
    const struct tocsin_http_request *c =
        tocsin_http_fixture_request(E.http[0], 2);
    CHECK_STR(a->path, "/1/receipts/cancel_by_tag/5f0c1d2e3f405162.json");
    CHECK_STR(a->body, "token=apptoken");
    CHECK_STR(b->path, "/1/messages.json");
    CHECK_STR(c->path, "/1/messages.json");
    CHECK(strstr(c->body, "title=Resolved%3A%20AirNova") != NULL);
    sleep_ms(200);
    CHECK(tocsin_http_fixture_count(E.http[0]) == 3);
    struct tocsin_receiver_stats st = stats_of(0);
    CHECK(st.sent == 1 && st.failed == 1);
    env_down();
}

/* Slack's pace: with rate 4/s and burst 1, three alerts are spread out. */
static void
test_rate_limit(void)
{
    env_up(1, NULL);
    E.recv[0].type = TOCSIN_RECEIVER_SLACK;
    E.recv[0].rate_per_s = 4;
    E.recv[0].burst = 1;
    xadd_alert("d-s1", 0, "warning");
    xadd_alert("d-s2", 0, "warning");
    xadd_alert("d-s3", 0, "warning");
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 3, 5000));
    const struct tocsin_http_request *a =
        tocsin_http_fixture_request(E.http[0], 0);
    const struct tocsin_http_request *c =
        tocsin_http_fixture_request(E.http[0], 2);
    CHECK(c->received_ms - a->received_ms >= 450);
    CHECK(c->received_ms - a->received_ms < 1500);
    CHECK(strstr(a->body, "\"blocks\"") != NULL);
    env_down();
}

/* Telegram says how long to wait in its JSON body, not in a header. */
static void
test_telegram_retry_after_in_body(void)
{
    env_up(1, NULL);
    r0_at_root();
    E.recv[0].type = TOCSIN_RECEIVER_TELEGRAM;
    E.recv[0].token = "123:ABC";
    E.recv[0].chat_id = "42";
    E.recv[0].backoff_max_ms = 5000;
    CHECK_OK(tocsin_http_fixture_script(
        E.http[0], 429, 0, NULL,
        "{\"ok\":false,\"error_code\":429,\"parameters\":"
        "{\"retry_after\":1}}"));
    xadd_alert("d-tg", 0, "critical");
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[0], 2, 5000));
    const struct tocsin_http_request *a =
        tocsin_http_fixture_request(E.http[0], 0);
    const struct tocsin_http_request *b =
        tocsin_http_fixture_request(E.http[0], 1);
    CHECK_STR(a->path, "/bot123:ABC/sendMessage");
    CHECK(b->received_ms - a->received_ms >= 1000);
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    env_down();
}

struct taken {
    int n;
    char topic[2][64], status[2][16];
    int receiver_is_publish[2];
};

static void
take(void *arg, const char *topic, const char *alertname, const char *status,
     const char *json)
{
    struct taken *t = arg;
    if (t->n < 2 && strcmp(alertname, "ReceiverDown") == 0) {
        snprintf(t->topic[t->n], sizeof t->topic[0], "%s", topic);
        snprintf(t->status[t->n], sizeof t->status[0], "%s", status);
        t->receiver_is_publish[t->n] =
            strstr(json, "\"receiver\":\"publish\"") != NULL;
    }
    t->n++;
}

/* r0 keeps failing: r1 hears "ReceiverDown"; when r0 answers again r1
 * hears that it resolved.  Both events are handed over for publishing. */
static void
test_receiver_down_alert(void)
{
    int ports[2] = {dead_port(), 0};
    REQUIRE(ports[0] > 0);
    env_up(2, ports);
    E.recv[0].down_after = 2;
    E.recv[1].type = TOCSIN_RECEIVER_SLACK;
    E.recv[1].rate_per_s = 100;
    xadd("d-down", "r0", "{}", epoch_ms());
    start();
    REQUIRE(tocsin_http_fixture_wait(E.http[1], 1, 5000));
    const struct tocsin_http_request *q =
        tocsin_http_fixture_request(E.http[1], 0);
    CHECK(strstr(q->body, "Receiver r0 is down") != NULL);
    REQUIRE(tocsin_http_fixture_start(&E.http[0], ports[0]) == TOCSIN_OK);
    REQUIRE(tocsin_http_fixture_wait(E.http[1], 2, 5000));
    q = tocsin_http_fixture_request(E.http[1], 1);
    CHECK(strstr(q->body, "Resolved: Receiver r0 is delivering again") !=
          NULL);
    CHECK(wait_xlen(OUTBOX, 0, 3000));
    CHECK(is_delivered("d-down"));
    sleep_ms(300); /* one alert, one resolution */
    CHECK(tocsin_http_fixture_count(E.http[1]) == 2);
    /* Queued before r1 read them from the outbox. */
    struct taken tk;
    memset(&tk, 0, sizeof tk);
    tocsin_notifier_take_published(E.n, take, &tk);
    CHECK(tk.n == 2);
    CHECK_STR(tk.topic[0], "r0");
    CHECK_STR(tk.status[0], "firing");
    CHECK_STR(tk.status[1], "resolved");
    CHECK(tk.receiver_is_publish[0] && tk.receiver_is_publish[1]);
    memset(&tk, 0, sizeof tk);
    tocsin_notifier_take_published(E.n, take, &tk);
    CHECK(tk.n == 0); /* taken once */
    env_down();
}

static void
test_unreadable_body_dead_lettered(void)
{
    env_up(1, NULL);
    E.recv[0].type = TOCSIN_RECEIVER_MATTERMOST;
    xadd("d-bad", "r0", "{\"not\":\"an alert\"}", epoch_ms());
    start();
    CHECK(wait_xlen(DEAD, 1, 5000));
    char buf[128];
    CHECK_STR(first_field(DEAD, "reason", buf, sizeof buf),
              "cannot build the request from the body");
    CHECK(tocsin_http_fixture_count(E.http[0]) == 0);
    env_down();
}

TOCSIN_TESTS(
    TOCSIN_TEST(test_ntfy_receiver_end_to_end),
    TOCSIN_TEST(test_pushover_two_steps), TOCSIN_TEST(test_rate_limit),
    TOCSIN_TEST(test_telegram_retry_after_in_body),
    TOCSIN_TEST(test_receiver_down_alert),
    TOCSIN_TEST(test_unreadable_body_dead_lettered),
    TOCSIN_TEST(test_delivered_once_signed),
    TOCSIN_TEST(test_no_secret_no_signature), TOCSIN_TEST(test_500_then_200),
    TOCSIN_TEST(test_429_retry_after), TOCSIN_TEST(test_400_dead_lettered),
    TOCSIN_TEST(test_unknown_receiver_dead_lettered),
    TOCSIN_TEST(test_receiver_down_then_up),
    TOCSIN_TEST(test_give_up_after_give_up_s),
    TOCSIN_TEST(test_claims_entry_of_crashed_consumer),
    TOCSIN_TEST(test_held_entries_not_claimable_by_others),
    TOCSIN_TEST(test_already_delivered_not_resent),
    TOCSIN_TEST(test_slow_receiver_does_not_delay_others_and_stop_is_prompt),
    TOCSIN_TEST(test_redis_restart_survived),
    TOCSIN_TEST(test_redis_empty_after_restart),
    TOCSIN_TEST(test_test_receiver),
    TOCSIN_TEST(test_set_config_and_stop_idempotent));
