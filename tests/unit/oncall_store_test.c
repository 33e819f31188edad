/*
 * oncall_store_test.c: the on-call state in a real redis-server: a
 * restart (a new tocsin_oncall, and Redis itself restarted from its dump)
 * continues an escalation at the right step; silences and used ack links
 * survive; a link used on one instance is refused on another.
 */
#include <stdlib.h>
#include <time.h>

#include "redis_fixture.h"
#include "tocsin/oncall_store.h"
#include "tocsin_test.h"

static struct tocsin_oncall_config *
make_config(void)
{
    struct tocsin_oncall_config *cfg = NULL;
    if (tocsin_oncall_config_new(&cfg) != TOCSIN_OK)
        return NULL;
    cfg->ack_secret = strdup("k");
    struct tocsin_escalation *p = NULL;
    tocsin_escalation_new(&p, "crisis", 0);
    const char *s0[] = {"first"}, *s1[] = {"second"}, *s2[] = {"third"};
    tocsin_escalation_add_step(p, s0, 1, 300);
    tocsin_escalation_add_step(p, s1, 1, 300);
    tocsin_escalation_add_step(p, s2, 1, 300);
    cfg->policies = calloc(1, sizeof(*cfg->policies));
    cfg->policies[0] = p;
    cfg->npolicies = 1;
    struct tocsin_route_spec rs;
    tocsin_route_spec_init(&rs);
    rs.escalation = "crisis";
    rs.group_wait_s = 0;
    tocsin_route_new(&cfg->route, &rs, NULL, 0);
    return cfg;
}

/* A new redis-server (*f), a connection to it (*c) and the on-call store
 * under "t:" (*st). */
static void
store_up(struct tocsin_redis_fixture **f, redisContext **c,
         struct tocsin_oncall_store **st)
{
    REQUIRE(tocsin_redis_fixture_start(f) == TOCSIN_OK);
    *c = tocsin_redis_fixture_connect(*f);
    REQUIRE(*c);
    CHECK_OK(tocsin_oncall_store_new(st, "t:"));
    REQUIRE(*st);
}

/* Read n pipelined replies; the type of the last one. */
static int
drain(redisContext *c, size_t n)
{
    int type = -1;
    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK)
            return -1;
        type = ((redisReply *)r)->type;
        freeReplyObject(r);
    }
    return type;
}

/* Record a used link as the ingest does: watch, check, then SET in a
 * transaction.  TOCSIN_EINVAL used already, TOCSIN_EAGAIN the watch fired
 * (EXEC nil). */
static tocsin_err
use_link(struct tocsin_oncall_store *st, redisContext *c,
         const struct tocsin_ack_claims *cl)
{
    tocsin_err rc = tocsin_oncall_store_ack_watch(st, c, cl);
    if (rc)
        return rc;
    size_t queued = 0;
    redisAppendCommand(c, "MULTI");
    rc = tocsin_oncall_store_ack_append(st, c, cl, &queued);
    redisAppendCommand(c, "EXEC");
    int last = drain(c, queued + 2);
    if (last < 0)
        return TOCSIN_EIO;
    return last == REDIS_REPLY_ARRAY ? rc : TOCSIN_EAGAIN;
}

static void
test_store_restart_continues(void)
{
    struct tocsin_redis_fixture *f = NULL;
    redisContext *c = NULL;
    struct tocsin_oncall_store *st = NULL;
    store_up(&f, &c, &st);
    struct tocsin_oncall_config *cfg = make_config();
    REQUIRE(cfg);
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    struct tocsin_label l[] = {{"topic", "AirNova"}, {"severity", "critical"}};
    struct tocsin_labelset ls = {l, 2};
    /* Redis expires used links on its own clock: start from it. */
    int64_t t0 = (int64_t)time(NULL);
    CHECK_OK(tocsin_oncall_on_alert(oc, "fp", &ls, 1, "AirNova", t0, &n));
    CHECK_OK(tocsin_oncall_on_alert(oc, "gone", &ls, 1, "AirNova", t0, &n));
    CHECK_OK(tocsin_oncall_on_alert(oc, "gone", &ls, 0, NULL, t0 + 1, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 300, &n));
    CHECK(n.n == 2); /* steps one and two */
    tocsin_notes_clear(&n);
    const char *m[] = {"topic=\"Quiet\""};
    CHECK_OK(tocsin_silences_add(tocsin_oncall_silences(oc), "maint", m, 1, t0,
                                 t0 + 7200, "planned", "lea", NULL, NULL, 0));
    tocsin_oncall_touch_silences(oc);
    char link[TOCSIN_ACK_TOKEN_MAX];
    CHECK_OK(tocsin_oncall_ack_link(oc, "fp", "ack", "marie", t0, link,
                                    sizeof link));
    struct tocsin_ack_claims cl;
    REQUIRE(tocsin_ack_verify("k", link, t0, &cl, NULL) == TOCSIN_OK);
    CHECK_OK(use_link(st, c, &cl));
    CHECK_OK(tocsin_oncall_store_save(st, c, oc));
    CHECK(tocsin_oncall_ndirty(oc) == 0);
    CHECK_OK(tocsin_oncall_store_save(st, c, oc)); /* nothing to do */
    /* forget the resolved one: the store deletes it */
    tocsin_oncall_gc(oc, t0 + 3 * 86400, 86400);
    CHECK_OK(tocsin_oncall_store_save(st, c, oc));
    tocsin_oncall_free(oc); /* the daemon dies ... */
    redisFree(c);
    /* ... and Redis restarts from its dump */
    REQUIRE(tocsin_redis_fixture_restart(f, 1) == TOCSIN_OK);
    c = tocsin_redis_fixture_connect(f);
    REQUIRE(c);

    struct tocsin_oncall *oc2 = NULL;
    REQUIRE(tocsin_oncall_new(&oc2, cfg) == TOCSIN_OK);
    size_t skipped = 99;
    CHECK_OK(tocsin_oncall_store_load(st, c, oc2, t0 + 400, &skipped));
    CHECK(skipped == 0);
    CHECK(tocsin_oncall_nalerts(oc2) == 1);
    const struct tocsin_esc_state *es = tocsin_oncall_escalation(oc2, "fp");
    REQUIRE(es);
    CHECK(es->step == 1 && es->status == TOCSIN_ESC_RUNNING);
    CHECK(tocsin_silences_count(tocsin_oncall_silences(oc2)) == 1);
    struct tocsin_label q[] = {{"topic", "Quiet"}};
    struct tocsin_labelset qs = {q, 1};
    const struct tocsin_silence *s =
        tocsin_silences_match(tocsin_oncall_silences(oc2), &qs, t0 + 10);
    REQUIRE(s);
    CHECK_STR(s->comment, "planned");
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 599, &n));
    CHECK(n.n == 0);
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 600, &n));
    REQUIRE(n.n == 1);
    CHECK_STR(n.v[0].receiver, "third");
    tocsin_notes_clear(&n);
    /* the link was used before the restart: refused now */
    CHECK_ERR(tocsin_oncall_store_ack_watch(st, c, &cl), TOCSIN_EINVAL);
    /* a bad record is skipped, not fatal */
    redisReply *r = redisCommand(c, "HSET t:oncall:alerts bad {");
    freeReplyObject(r);
    struct tocsin_oncall *oc3 = NULL;
    REQUIRE(tocsin_oncall_new(&oc3, cfg) == TOCSIN_OK);
    CHECK_OK(tocsin_oncall_store_load(st, c, oc3, t0 + 400, &skipped));
    CHECK(skipped == 1);
    tocsin_oncall_free(oc3);
    tocsin_oncall_free(oc2);
    /* Redis gone: save reports EIO and keeps the marks */
    struct tocsin_oncall *oc4 = NULL;
    REQUIRE(tocsin_oncall_new(&oc4, cfg) == TOCSIN_OK);
    CHECK_OK(tocsin_oncall_on_alert(oc4, "x", &ls, 1, NULL, t0, &n));
    redisFree(c);
    tocsin_redis_fixture_stop(f);
    f = NULL;
    redisContext *dead = redisConnectUnix("/nonexistent/r.sock");
    REQUIRE(dead);
    CHECK_ERR(tocsin_oncall_store_save(st, dead, oc4), TOCSIN_EIO);
    CHECK(tocsin_oncall_ndirty(oc4) == 1);
    redisFree(dead);
    tocsin_oncall_free(oc4);
    tocsin_oncall_store_free(st);
    tocsin_oncall_config_free(cfg);
}

/* Two instances follow the same link at once: both find it unused, the
 * first commits, the second's transaction is refused by the watch (and
 * writes nothing), after which the link is seen as used. */
static void
test_store_link_race_between_instances(void)
{
    struct tocsin_redis_fixture *f = NULL;
    redisContext *a = NULL;
    struct tocsin_oncall_store *st = NULL;
    store_up(&f, &a, &st);
    redisContext *b = tocsin_redis_fixture_connect(f);
    REQUIRE(b);
    int64_t t0 = (int64_t)time(NULL);
    char link[TOCSIN_ACK_TOKEN_MAX];
    REQUIRE(tocsin_ack_sign("k", "fp", "ack", t0 + 600, "marie", link,
                            sizeof link) == TOCSIN_OK);
    struct tocsin_ack_claims cl;
    REQUIRE(tocsin_ack_verify("k", link, t0, &cl, NULL) == TOCSIN_OK);
    CHECK_OK(tocsin_oncall_store_ack_watch(st, b, &cl)); /* b looks ... */
    CHECK_OK(use_link(st, a, &cl));                      /* a commits */
    size_t queued = 0;
    redisAppendCommand(b, "MULTI");
    redisAppendCommand(b, "HSET t:oncall:alerts fp acked-by-b");
    CHECK_OK(tocsin_oncall_store_ack_append(st, b, &cl, &queued));
    redisAppendCommand(b, "EXEC");
    CHECK(drain(b, queued + 3) == REDIS_REPLY_NIL); /* refused */
    redisReply *r = redisCommand(a, "HEXISTS t:oncall:alerts fp");
    REQUIRE(r);
    CHECK(r->integer == 0); /* b's ack was not written either */
    freeReplyObject(r);
    CHECK_ERR(tocsin_oncall_store_ack_watch(st, b, &cl), TOCSIN_EINVAL);
    CHECK_ERR(use_link(st, a, &cl), TOCSIN_EINVAL);
    /* a link never used, abandoned after the watch: unwatch, still usable */
    REQUIRE(tocsin_ack_sign("k", "fp2", "ack", t0 + 600, "paul", link,
                            sizeof link) == TOCSIN_OK);
    REQUIRE(tocsin_ack_verify("k", link, t0, &cl, NULL) == TOCSIN_OK);
    CHECK_OK(tocsin_oncall_store_ack_watch(st, b, &cl));
    tocsin_oncall_store_unwatch(b);
    CHECK_OK(use_link(st, b, &cl));
    redisFree(a);
    redisFree(b);
    tocsin_oncall_store_free(st);
    tocsin_redis_fixture_stop(f);
}

/* The writes queued inside a transaction of the caller's (the ingest
 * checkpoint): they commit with the caller's own commands, or not at
 * all; the marks stay until the caller clears them. */
static void
test_store_append_in_caller_transaction(void)
{
    struct tocsin_redis_fixture *f = NULL;
    redisContext *c = NULL;
    struct tocsin_oncall_store *st = NULL;
    store_up(&f, &c, &st);
    struct tocsin_oncall_config *cfg = make_config();
    REQUIRE(cfg);
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    struct tocsin_label l[] = {{"topic", "AirNova"}};
    struct tocsin_labelset ls = {l, 1};
    int64_t t0 = (int64_t)time(NULL);
    CHECK_OK(tocsin_oncall_on_alert(oc, "fp", &ls, 1, "AirNova", t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0, &n));
    tocsin_notes_clear(&n);
    free(n.v);
    const char *m[] = {"topic=\"X\""};
    CHECK_OK(tocsin_silences_add(tocsin_oncall_silences(oc), "s1", m, 1, t0,
                                 t0 + 60, "c", "me", NULL, NULL, 0));
    tocsin_oncall_touch_silences(oc);

    /* Abandoned: nothing written, the marks stay. */
    size_t queued = 0;
    redisAppendCommand(c, "MULTI");
    CHECK_OK(tocsin_oncall_store_append(st, c, oc, &queued));
    CHECK(queued == 4); /* HSET alert, HSET group, DEL + HSET silences */
    redisAppendCommand(c, "DISCARD");
    CHECK(drain(c, queued + 2) == REDIS_REPLY_STATUS);
    redisReply *r = redisCommand(c, "EXISTS t:oncall:alerts");
    REQUIRE(r);
    CHECK(r->integer == 0);
    freeReplyObject(r);
    CHECK(tocsin_oncall_ndirty(oc) == 1);
    CHECK(tocsin_oncall_silences_dirty(oc));

    /* Committed with the caller's own command. */
    queued = 0;
    redisAppendCommand(c, "MULTI");
    redisAppendCommand(c, "XADD t:outbox * receiver first");
    CHECK_OK(tocsin_oncall_store_append(st, c, oc, &queued));
    redisAppendCommand(c, "EXEC");
    CHECK(drain(c, queued + 3) == REDIS_REPLY_ARRAY);
    tocsin_oncall_clear_dirty(oc);
    r = redisCommand(c, "HGET t:oncall:alerts fp");
    REQUIRE(r);
    CHECK(r->type == REDIS_REPLY_STRING && strstr(r->str, "\"step\":0"));
    freeReplyObject(r);
    r = redisCommand(c, "HEXISTS t:oncall:silences s1");
    REQUIRE(r);
    CHECK(r->integer == 1);
    freeReplyObject(r);
    r = redisCommand(c, "XLEN t:outbox");
    REQUIRE(r);
    CHECK(r->integer == 1);
    freeReplyObject(r);
    /* Nothing changed since: nothing queued. */
    queued = 0;
    CHECK_OK(tocsin_oncall_store_append(st, c, oc, &queued));
    CHECK(queued == 0);
    CHECK_ERR(tocsin_oncall_store_append(st, c, oc, NULL), TOCSIN_EINVAL);

    tocsin_oncall_free(oc);
    redisFree(c);
    tocsin_redis_fixture_stop(f);
    tocsin_oncall_store_free(st);
    tocsin_oncall_config_free(cfg);
}

/* A group's timers, count and resolved members are saved with its alerts
 * and come back with them: the flush due before the restart happens when
 * it was due and lists the alert resolved before it; a record of a route
 * that is gone is dropped and deleted by the next save. */
static void
test_store_groups_survive_restart(void)
{
    struct tocsin_redis_fixture *f = NULL;
    redisContext *c = NULL;
    struct tocsin_oncall_store *st = NULL;
    store_up(&f, &c, &st);
    struct tocsin_oncall_config *cfg = NULL;
    REQUIRE(tocsin_oncall_config_new(&cfg) == TOCSIN_OK);
    struct tocsin_route_spec rs;
    tocsin_route_spec_init(&rs);
    const char *gb[] = {"topic"};
    rs.receiver = "team";
    rs.group_by = gb;
    rs.ngroup_by = 1;
    rs.group_by_set = 1;
    rs.group_wait_s = 30;
    rs.group_interval_s = 300;
    REQUIRE(tocsin_route_new(&cfg->route, &rs, NULL, 0) == TOCSIN_OK);
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    struct tocsin_label l1[] = {{"topic", "AirNova"}, {"severity", "critical"}};
    struct tocsin_label l2[] = {{"topic", "AirNova"}, {"severity", "warning"}};
    struct tocsin_labelset crit = {l1, 2}, warn = {l2, 2};
    int64_t t0 = 1800000000;
    CHECK_OK(tocsin_oncall_on_alert(oc, "r1", &crit, 1, "vol", t0, &n));
    CHECK_OK(tocsin_oncall_on_alert(oc, "r2", &warn, 1, "neg", t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    REQUIRE(n.n == 1 && n.v[0].seq == 1);
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_store_save(st, c, oc));
    CHECK_OK(tocsin_oncall_on_alert(oc, "r1", &crit, 0, NULL, t0 + 60, &n));
    CHECK_OK(tocsin_oncall_on_alert(oc, "r3", &warn, 1, "terms", t0 + 100, &n));
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_store_save(st, c, oc));
    CHECK(!tocsin_oncall_unsaved(oc));
    tocsin_oncall_free(oc); /* the daemon dies */
    redisReply *r = redisCommand(c, "HEXISTS t:oncall:groups %s",
                                 "root:{topic=\"AirNova\"}");
    REQUIRE(r);
    CHECK(r->integer == 1);
    freeReplyObject(r);
    /* a record of an older configuration's route */
    r = redisCommand(c, "HSET t:oncall:groups %s %s", "root/7:{}",
                     "{\"version\":1,\"key\":\"root/7:{}\",\"route\":"
                     "\"root/7\",\"receiver\":\"x\",\"members\":[{"
                     "\"fingerprint\":\"r2\",\"sent\":true}]}");
    freeReplyObject(r);

    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    size_t skipped = 99;
    CHECK_OK(tocsin_oncall_store_load(st, c, oc, t0 + 200, &skipped));
    CHECK(skipped == 0);
    CHECK(tocsin_oncall_next_due(oc) == t0 + 330);
    CHECK_OK(tocsin_oncall_store_save(st, c, oc)); /* deletes the old one */
    r = redisCommand(c, "HEXISTS t:oncall:groups %s", "root/7:{}");
    REQUIRE(r);
    CHECK(r->integer == 0);
    freeReplyObject(r);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 329, &n));
    CHECK(n.n == 0);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    REQUIRE(n.n == 1 && n.v[0].nalerts == 3);
    CHECK(n.v[0].seq == 2);
    CHECK_STR(n.v[0].alerts[2], "r1"); /* resolved, listed last */
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    redisFree(c);
    tocsin_redis_fixture_stop(f);
    tocsin_oncall_store_free(st);
    tocsin_oncall_config_free(cfg);
}

TOCSIN_TESTS(TOCSIN_TEST(test_store_restart_continues),
             TOCSIN_TEST(test_store_link_race_between_instances),
             TOCSIN_TEST(test_store_append_in_caller_transaction),
             TOCSIN_TEST(test_store_groups_survive_restart))
