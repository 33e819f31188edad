/*
 * matcher_test.c: label matchers, time zones and time intervals (the
 * pure building blocks of routing).
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "tocsin/matcher.h"
#include "tocsin/timeint.h"
#include "tocsin/tz.h"
#include "tocsin_test.h"

static const struct tocsin_label L[] = {
    {"alertname", "MentionVolumeSpike"},
    {"topic", "AirNova"},
    {"severity", "critical"},
};
static const struct tocsin_labelset LS = {L, 3};

static int
m1(const char *expr)
{
    struct tocsin_matchers *m = NULL;
    if (tocsin_matchers_parse(&m, &expr, 1, NULL, 0) != TOCSIN_OK)
        return -1;
    int r = tocsin_matchers_match(m, &LS);
    tocsin_matchers_free(m);
    return r;
}

static void
test_matcher_ops(void)
{
    CHECK(m1("topic=\"AirNova\"") == 1);
    CHECK(m1("topic = AirNova") == 1);
    CHECK(m1("topic=\"Air\"") == 0);
    CHECK(m1("topic!=\"Air\"") == 1);
    CHECK(m1("topic!=AirNova") == 0);
    CHECK(m1("topic=~\"Air.*\"") == 1);
    CHECK(m1("topic=~\"Air\"") == 0); /* anchored */
    CHECK(m1("topic=~\"Nova\"") == 0);
    CHECK(m1("topic!~\"Air.*\"") == 0);
    CHECK(m1("severity=~\"warning|critical\"") == 1);
    CHECK(m1("team=\"\"") == 1); /* absent reads as "" */
    CHECK(m1("team!=\"\"") == 0);
}

static void
test_matcher_errors_and_text(void)
{
    char err[128] = "";
    struct tocsin_matchers *m = NULL;
    const char *bad[] = {"=x", "topic", "topic=~\"(\"", "topic=\"x"};
    for (size_t i = 0; i < 4; i++) {
        CHECK_ERR(tocsin_matchers_parse(&m, &bad[i], 1, err, sizeof err),
                  TOCSIN_EINVAL);
        CHECK(m == NULL);
        CHECK(strstr(err, "bad matcher") != NULL);
    }
    const char *good[] = {"topic=~ Air.*", "kind!=\"a\\\"b\""};
    CHECK_OK(tocsin_matchers_parse(&m, good, 2, err, sizeof err));
    REQUIRE(m);
    CHECK(tocsin_matchers_count(m) == 2);
    CHECK_STR(tocsin_matchers_text(m, 0), "topic=~\"Air.*\"");
    CHECK_STR(tocsin_matchers_text(m, 1), "kind!=\"a\\\"b\"");
    CHECK(tocsin_matchers_match(m, &LS) == 1); /* AND of both */
    tocsin_matchers_free(m);
    CHECK(tocsin_matchers_match(NULL, &LS) == 1);
}

/* Compare with glibc's localtime_r under TZ (this test is
 * single-threaded, so setenv is safe here). */
static void
check_zone(const char *name)
{
    struct tocsin_tz *tz = NULL;
    CHECK_OK(tocsin_tz_load(&tz, name));
    REQUIRE(tz);
    setenv("TZ", name, 1);
    tzset();
    int bad = 0;
    /* 1900 .. 2100 in odd steps, plus every hour around 2026's changes. */
    for (int64_t t = -2208988800LL; t < 4102444800LL && bad < 5;
         t += 86400LL * 3 + 3607) {
        time_t tt = (time_t)t;
        struct tm tm;
        localtime_r(&tt, &tm);
        struct tocsin_civil c;
        tocsin_tz_civil(tz, t, &c);
        if (c.year != tm.tm_year + 1900 || c.month != tm.tm_mon + 1 ||
            c.mday != tm.tm_mday || c.hour != tm.tm_hour ||
            c.min != tm.tm_min || c.wday != tm.tm_wday ||
            c.utoff != tm.tm_gmtoff) {
            fprintf(stderr, "%s at %lld: %d-%d-%d %d:%d off %d vs %d\n", name,
                    (long long)t, c.year, c.month, c.mday, c.hour, c.min,
                    c.utoff, (int)tm.tm_gmtoff);
            bad++;
        }
        int64_t back =
            tocsin_tz_mktime(tz, c.year, c.month, c.mday, c.hour, c.min, c.sec);
        if (!c.isdst && back != t && bad < 5) {
            /* only ambiguous local times may map elsewhere */
            struct tocsin_civil c2;
            tocsin_tz_civil(tz, back, &c2);
            if (c2.hour != c.hour || c2.mday != c.mday) {
                fprintf(stderr, "%s mktime(%lld) = %lld\n", name, (long long)t,
                        (long long)back);
                bad++;
            }
        }
    }
    CHECK(bad == 0);
    unsetenv("TZ");
    tzset();
    tocsin_tz_free(tz);
}

static void
test_tz_matches_libc(void)
{
    check_zone("Europe/Paris");
    check_zone("America/New_York");
    check_zone("Australia/Sydney"); /* southern hemisphere DST */
    check_zone("Asia/Kolkata");     /* half-hour offset */
    check_zone("America/Sao_Paulo");
    check_zone("UTC");
}

static void
test_tz_errors_and_gap(void)
{
    struct tocsin_tz *tz = NULL;
    CHECK_ERR(tocsin_tz_load(&tz, "Mars/Olympus"), TOCSIN_ENOENT);
    CHECK_ERR(tocsin_tz_load(&tz, "../etc/passwd"), TOCSIN_EINVAL);
    CHECK_ERR(tocsin_tz_load(&tz, "/etc/passwd"), TOCSIN_EINVAL);
    static const unsigned char junk[64] = "not a tzif file";
    CHECK_ERR(tocsin_tz_parse(&tz, "x", junk, sizeof junk), TOCSIN_EPROTO);
    CHECK(tz == NULL);
    CHECK_OK(tocsin_tz_load(&tz, "Europe/Paris"));
    REQUIRE(tz);
    CHECK_STR(tocsin_tz_name(tz), "Europe/Paris");
    /* 2026-03-29 02:30 does not exist in Paris: read with +01:00. */
    CHECK(tocsin_tz_mktime(tz, 2026, 3, 29, 2, 30, 0) == 1774747800LL);
    /* 2026-10-25 02:30 happens twice: the first one (+02:00). */
    CHECK(tocsin_tz_mktime(tz, 2026, 10, 25, 2, 30, 0) == 1792888200LL);
    /* Far future goes through the footer rule: 2300-07-01 is summer. */
    struct tocsin_civil c;
    tocsin_tz_civil(tz, tocsin_tz_mktime(tz, 2300, 7, 1, 12, 0, 0), &c);
    CHECK(c.utoff == 7200 && c.isdst == 1 && c.hour == 12);
    tocsin_tz_free(tz);
}

/* Every span tocsin_tz_span gives around instants from 1960 to 2300
 * holds one offset, and it changes at both ends. */
static void
check_spans(const char *name)
{
    struct tocsin_tz *tz = NULL;
    if (strcmp(name, "UTC"))
        REQUIRE(tocsin_tz_load(&tz, name) == TOCSIN_OK);
    int bad = 0;
    for (int64_t t = -315619200LL; t < 10413792000LL; t += 86400 * 13 + 3607) {
        int64_t from, until;
        int32_t off = tocsin_tz_span(tz, t, &from, &until);
        bad += off != tocsin_tz_utoff(tz, t) || from > t || until <= t;
        if (from != INT64_MIN)
            bad += tocsin_tz_utoff(tz, from) != off;
        if (until != INT64_MAX)
            bad += tocsin_tz_utoff(tz, until - 1) != off;
        /* Within a span the offset holds (a few probes). */
        for (int k = 1; k < 4; k++) {
            int64_t lo = from == INT64_MIN ? t - 86400 * 400 : from;
            int64_t hi = until == INT64_MAX ? t + 86400 * 400 : until;
            bad += tocsin_tz_utoff(tz, lo + (hi - lo) / 4 * k) != off;
        }
    }
    CHECK(bad == 0);
    if (bad)
        fprintf(stderr, "%s: %d bad spans\n", name, bad);
    tocsin_tz_free(tz);
}

static void
test_tz_spans_hold_one_offset(void)
{
    check_spans("Europe/Paris");
    check_spans("America/New_York");
    check_spans("Australia/Sydney"); /* DST across the new year */
    check_spans("Asia/Kolkata");
    check_spans("UTC");
    int64_t from, until;
    CHECK(tocsin_tz_span(NULL, 0, &from, &until) == 0);
    CHECK(from == INT64_MIN && until == INT64_MAX);
}

static struct tocsin_tz *paris;

static int64_t
at(int y, int mo, int d, int h, int mi)
{
    return tocsin_tz_mktime(paris, y, mo, d, h, mi, 0);
}

static void
test_timeint_semantics(void)
{
    REQUIRE(tocsin_tz_load(&paris, "Europe/Paris") == TOCSIN_OK);
    struct tocsin_timeint *quiet = NULL, *office = NULL;
    CHECK_OK(tocsin_timeint_new(&quiet, "quiet"));
    CHECK_OK(tocsin_timeint_new(&office, "office"));
    REQUIRE(quiet && office);
    /* quiet hours: 22:00-24:00 and 00:00-07:00 every day, Paris */
    const char *qt[] = {"22:00-24:00", "00:00-07:00"};
    struct tocsin_timeint_spec q = {
        .times = qt, .ntimes = 2, .location = paris};
    CHECK_OK(tocsin_timeint_add(quiet, &q, NULL, 0));
    const char *ot[] = {"09:00-17:30"}, *ow[] = {"monday:friday"};
    const char *om[] = {"january:november"}, *od[] = {"1:-1"};
    char err[128] = "";
    struct tocsin_timeint_spec o = {.times = ot,
                                    .ntimes = 1,
                                    .weekdays = ow,
                                    .nweekdays = 1,
                                    .months = om,
                                    .nmonths = 1,
                                    .location = paris};
    CHECK_OK(tocsin_timeint_add(office, &o, err, sizeof err));
    (void)od;
    /* 2026-12-04 is a Friday. */
    CHECK(tocsin_timeint_active(quiet, at(2026, 12, 4, 23, 10)));
    CHECK(tocsin_timeint_active(quiet, at(2026, 12, 5, 6, 59)));
    CHECK(!tocsin_timeint_active(quiet, at(2026, 12, 5, 7, 0))); /* end excl */
    CHECK(
        tocsin_timeint_active(quiet, at(2026, 12, 5, 22, 0))); /* start incl */
    CHECK(!tocsin_timeint_active(quiet, at(2026, 12, 5, 21, 59)));
    /* office: a weekday in November, not in December, not at weekends */
    CHECK(tocsin_timeint_active(office, at(2026, 11, 6, 9, 0)));
    CHECK(!tocsin_timeint_active(office, at(2026, 11, 6, 17, 30)));
    CHECK(!tocsin_timeint_active(office, at(2026, 11, 7, 10, 0)));
    CHECK(!tocsin_timeint_active(office, at(2026, 12, 4, 10, 0)));
    /* Same instant, UTC vs Paris location: 08:30 UTC is 09:30 Paris. */
    CHECK(tocsin_timeint_active(office, 1794213000LL)); /* 2026-11-09T08:30Z */

    struct tocsin_timeint *last = NULL;
    CHECK_OK(tocsin_timeint_new(&last, "month-end"));
    const char *ld[] = {"-2:-1"}, *yr[] = {"2026:2027"};
    struct tocsin_timeint_spec l = {
        .days_of_month = ld, .ndays_of_month = 1, .years = yr, .nyears = 1};
    CHECK_OK(tocsin_timeint_add(last, &l, NULL, 0));
    CHECK(tocsin_timeint_active(last, 1772236800LL));  /* 2026-02-28 UTC */
    CHECK(tocsin_timeint_active(last, 1772150400LL));  /* 2026-02-27 */
    CHECK(!tocsin_timeint_active(last, 1772064000LL)); /* 2026-02-26 */
    CHECK(!tocsin_timeint_active(last, 1835395200LL)); /* 2028-02-29 */

    const char *badw[] = {"funday"}, *badt[] = {"17:00-09:00"};
    struct tocsin_timeint_spec b1 = {.weekdays = badw, .nweekdays = 1};
    struct tocsin_timeint_spec b2 = {.times = badt, .ntimes = 1};
    CHECK_ERR(tocsin_timeint_add(last, &b1, err, sizeof err), TOCSIN_EINVAL);
    CHECK(strstr(err, "weekdays: \"funday\"") != NULL);
    CHECK_ERR(tocsin_timeint_add(last, &b2, err, sizeof err), TOCSIN_EINVAL);
    CHECK(strstr(err, "times:") != NULL);
    tocsin_timeint_free(quiet);
    tocsin_timeint_free(office);
    tocsin_timeint_free(last);
    tocsin_tz_free(paris);
}

TOCSIN_TESTS(TOCSIN_TEST(test_matcher_ops),
             TOCSIN_TEST(test_matcher_errors_and_text),
             TOCSIN_TEST(test_tz_matches_libc),
             TOCSIN_TEST(test_tz_errors_and_gap),
             TOCSIN_TEST(test_tz_spans_hold_one_offset),
             TOCSIN_TEST(test_timeint_semantics))
