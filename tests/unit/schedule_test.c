/*
 * schedule_test.c: on-call schedules (a two-person weekend rotation with an
 * override) and escalation policies.  Time is an argument: no sleeping.
 */
#include "tocsin/escalation.h"
#include "tocsin/schedule.h"
#include "tocsin_test.h"

static struct tocsin_tz *paris;

static int64_t
at(int y, int mo, int d, int h, int mi)
{
    return tocsin_tz_mktime(paris, y, mo, d, h, mi, 0);
}

static void
test_weekend_rotation_with_override(void)
{
    REQUIRE(tocsin_tz_load(&paris, "Europe/Paris") == TOCSIN_OK);
    struct tocsin_timeint *weekend = NULL;
    REQUIRE(tocsin_timeint_new(&weekend, "weekend") == TOCSIN_OK);
    const char *wd[] = {"saturday:sunday"};
    struct tocsin_timeint_spec ws = {
        .weekdays = wd, .nweekdays = 1, .location = paris};
    REQUIRE(tocsin_timeint_add(weekend, &ws, NULL, 0) == TOCSIN_OK);

    struct tocsin_schedule *s = NULL;
    CHECK_OK(tocsin_schedule_new(&s, "primary", paris));
    REQUIRE(s);
    const char *week[] = {"lea"}, *two[] = {"marie", "paul"};
    struct tocsin_schedule_layer base = {
        "weekdays",   week,    1,   TOCSIN_ROTATION_DAILY,
        "2026-11-30", "09:00", NULL};
    struct tocsin_schedule_layer we = {
        "weekends",   two,     2,      TOCSIN_ROTATION_WEEKLY,
        "2026-12-05", "09:00", weekend};
    CHECK_OK(tocsin_schedule_add_layer(s, &base, NULL, 0));
    CHECK_OK(tocsin_schedule_add_layer(s, &we, NULL, 0));
    /* 2026-12-05 is a Saturday. */
    CHECK_STR(tocsin_schedule_oncall(s, at(2026, 12, 4, 15, 0)), "lea");
    CHECK_STR(tocsin_schedule_oncall(s, at(2026, 12, 5, 10, 0)), "marie");
    CHECK_STR(tocsin_schedule_oncall(s, at(2026, 12, 6, 23, 0)), "marie");
    CHECK_STR(tocsin_schedule_oncall(s, at(2026, 12, 7, 10, 0)), "lea");
    /* before Saturday's hand-off, last week's shift still runs */
    CHECK_STR(tocsin_schedule_oncall(s, at(2026, 12, 5, 8, 59)), "paul");
    CHECK_STR(tocsin_schedule_oncall(s, at(2026, 12, 12, 10, 0)), "paul");
    CHECK_STR(tocsin_schedule_oncall(s, at(2026, 12, 19, 10, 0)), "marie");
    /* a year on, across DST changes: the weekly count holds */
    CHECK_STR(tocsin_schedule_oncall(s, at(2027, 7, 3, 9, 0)), "marie");
    CHECK_STR(tocsin_schedule_oncall(s, at(2027, 7, 10, 9, 0)), "paul");

    /* Marie swaps in for Paul's Saturday evening and night. */
    CHECK_OK(tocsin_schedule_add_override(s, "marie", at(2026, 12, 12, 18, 0),
                                          at(2026, 12, 13, 9, 0)));
    CHECK_STR(tocsin_schedule_oncall(s, at(2026, 12, 12, 17, 59)), "paul");
    CHECK_STR(tocsin_schedule_oncall(s, at(2026, 12, 12, 20, 0)), "marie");
    CHECK_STR(tocsin_schedule_oncall(s, at(2026, 12, 13, 9, 0)), "paul");
    CHECK_ERR(tocsin_schedule_add_override(s, "x", 10, 10), TOCSIN_EINVAL);

    /* who is next */
    int64_t when = 0;
    const char *who = NULL;
    CHECK_OK(tocsin_schedule_next(s, at(2026, 12, 12, 10, 0), 14 * 86400, &when,
                                  &who));
    CHECK(when == at(2026, 12, 12, 18, 0));
    CHECK_STR(who, "marie");
    CHECK_OK(tocsin_schedule_next(s, at(2026, 12, 11, 12, 0), 14 * 86400, &when,
                                  &who));
    CHECK(when == at(2026, 12, 12, 0, 0)); /* the weekend layer begins */
    CHECK_STR(who, "marie");               /* last week's shift until 09:00 */
    CHECK_OK(tocsin_schedule_next(s, when, 14 * 86400, &when, &who));
    CHECK(when == at(2026, 12, 12, 9, 0));
    CHECK_STR(who, "paul");

    /* nobody: a layer restricted to weekends alone */
    struct tocsin_schedule *only = NULL;
    CHECK_OK(tocsin_schedule_new(&only, "weekend-only", paris));
    CHECK_OK(tocsin_schedule_add_layer(only, &we, NULL, 0));
    CHECK(tocsin_schedule_oncall(only, at(2026, 12, 8, 12, 0)) == NULL);
    CHECK_OK(tocsin_schedule_next(only, at(2026, 12, 8, 12, 0), 7 * 86400,
                                  &when, &who));
    CHECK(when == at(2026, 12, 12, 0, 0));
    CHECK_ERR(
        tocsin_schedule_next(only, at(2026, 12, 8, 12, 0), 3600, &when, &who),
        TOCSIN_ENOENT);

    char err[128] = "";
    struct tocsin_schedule_layer bad = we;
    bad.start = "2026-02-30";
    CHECK_ERR(tocsin_schedule_add_layer(only, &bad, err, sizeof err),
              TOCSIN_EINVAL);
    CHECK(strstr(err, "start") != NULL);
    bad = we;
    bad.handoff = "25:00";
    CHECK_ERR(tocsin_schedule_add_layer(only, &bad, err, sizeof err),
              TOCSIN_EINVAL);
    bad = we;
    bad.nusers = 0;
    CHECK_ERR(tocsin_schedule_add_layer(only, &bad, err, sizeof err),
              TOCSIN_EINVAL);
    tocsin_schedule_free(only);
    tocsin_schedule_free(s);
    tocsin_timeint_free(weekend);
    tocsin_tz_free(paris);
}

static void
test_escalation_three_steps_and_repeat(void)
{
    struct tocsin_escalation *p = NULL;
    CHECK_OK(tocsin_escalation_new(&p, "crisis", 1));
    REQUIRE(p);
    const char *s0[] = {"schedule:primary"}, *s1[] = {"receiver:emergency"};
    const char *s2[] = {"schedule:secondary", "receiver:team-chat"};
    CHECK_OK(tocsin_escalation_add_step(p, s0, 1, 300));
    CHECK_OK(tocsin_escalation_add_step(p, s1, 1, 600));
    CHECK_OK(tocsin_escalation_add_step(p, s2, 2, 900));
    CHECK(tocsin_escalation_nsteps(p) == 3);
    size_t n;
    int w;
    CHECK_STR(tocsin_escalation_step(p, 2, &n, &w)[1], "receiver:team-chat");
    CHECK(n == 2 && w == 900);
    CHECK(tocsin_escalation_step(p, 3, &n, &w) == NULL);

    struct tocsin_esc_state st;
    int step = -9, round = -9;
    tocsin_esc_start(&st, 1000);
    CHECK(tocsin_esc_advance(p, &st, 1000, &step, &round) == 1);
    CHECK(step == 0 && round == 0);
    CHECK(tocsin_esc_advance(p, &st, 1000, &step, &round) == 0);
    CHECK(tocsin_esc_advance(p, &st, 1299, &step, &round) == 0);
    CHECK(tocsin_esc_advance(p, &st, 1300, &step, &round) == 1);
    CHECK(step == 1);
    CHECK(tocsin_esc_advance(p, &st, 1899, &step, &round) == 0);
    CHECK(tocsin_esc_advance(p, &st, 1900, &step, &round) == 1);
    CHECK(step == 2 && round == 0);
    /* a late look still runs steps at their due times, one by one */
    int ran = 0;
    while (tocsin_esc_advance(p, &st, 100000, &step, &round))
        ran++;
    CHECK(ran == 3); /* the repeat: steps 0, 1, 2 of round 1 */
    CHECK(step == 2 && round == 1);
    CHECK(st.status == TOCSIN_ESC_EXHAUSTED);
    CHECK_STR(tocsin_esc_status_name(st.status), "exhausted");
    /* ack after exhaustion still records who has it */
    CHECK_OK(tocsin_esc_ack(&st, "marie", 100001));
    CHECK_ERR(tocsin_esc_ack(&st, "paul", 100002), TOCSIN_EINVAL);
    CHECK_STR(st.acked_by, "marie");

    /* ack at step two stops it */
    tocsin_esc_start(&st, 0);
    CHECK(tocsin_esc_advance(p, &st, 0, &step, &round) == 1);
    CHECK(tocsin_esc_advance(p, &st, 300, &step, &round) == 1);
    CHECK(step == 1);
    CHECK_OK(tocsin_esc_ack(&st, "marie", 400));
    CHECK(tocsin_esc_advance(p, &st, 100000, &step, &round) == 0);
    CHECK(st.status == TOCSIN_ESC_ACKED && st.acked_at == 400);
    /* resolve stops too */
    tocsin_esc_start(&st, 0);
    tocsin_esc_resolve(&st);
    CHECK(tocsin_esc_advance(p, &st, 0, &step, &round) == 0);
    CHECK_ERR(tocsin_esc_ack(&st, "x", 1), TOCSIN_EINVAL);
    CHECK_ERR(tocsin_escalation_add_step(p, s0, 0, 1), TOCSIN_EINVAL);
    tocsin_escalation_free(p);
}

TOCSIN_TESTS(TOCSIN_TEST(test_weekend_rotation_with_override),
             TOCSIN_TEST(test_escalation_three_steps_and_repeat))
