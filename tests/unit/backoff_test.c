/* backoff_test.c: retry delay bounds and Retry-After parsing. */
#include "tocsin/backoff.h"
#include "tocsin_test.h"

static void
test_full_jitter_bounds(void)
{
    /* rnd 0 gives the floor, rnd = span - 1 the ceiling. */
    CHECK(tocsin_backoff_full(0, 100, 10000, 0) == 100);
    CHECK(tocsin_backoff_full(0, 100, 10000, 12345) == 100);
    CHECK(tocsin_backoff_full(1, 100, 10000, 100) == 200);
    CHECK(tocsin_backoff_full(3, 100, 10000, 700) == 800);
    CHECK(tocsin_backoff_full(3, 100, 10000, 701) == 100);
    /* Capped at max, even for huge attempts (no overflow). */
    CHECK(tocsin_backoff_full(10, 100, 1000, 900) == 1000);
    CHECK(tocsin_backoff_full(4000000000u, 100, 1000, 900) == 1000);
    for (uint64_t r = 0; r < 5000; r += 7) {
        int64_t d = tocsin_backoff_full(5, 50, 3000, r * 2654435761u);
        CHECK(d >= 50 && d <= 1600);
    }
    /* Degenerate settings are clamped. */
    CHECK(tocsin_backoff_full(2, 0, 0, 99) == 1);
    CHECK(tocsin_backoff_full(2, 500, 100, 99) == 500);
}

static void
test_decorrelated_bounds(void)
{
    CHECK(tocsin_backoff_decorrelated(0, 100, 10000, 0) == 100);
    CHECK(tocsin_backoff_decorrelated(0, 100, 10000, 200) == 300);
    CHECK(tocsin_backoff_decorrelated(1000, 100, 10000, 2900) == 3000);
    CHECK(tocsin_backoff_decorrelated(5000, 100, 10000, 9900) == 10000);
    CHECK(tocsin_backoff_decorrelated(INT64_MAX / 2, 100, 10000, 9900) ==
          10000);
    for (uint64_t r = 0; r < 5000; r += 13) {
        int64_t d = tocsin_backoff_decorrelated(400, 100, 1000, r * 40503u);
        CHECK(d >= 100 && d <= 1000);
    }
}

static void
test_retry_after_seconds(void)
{
    int64_t d = -1;
    CHECK_OK(tocsin_retry_after_parse("1", 0, &d));
    CHECK(d == 1000);
    CHECK_OK(tocsin_retry_after_parse(" 120 \r\n", 0, &d));
    CHECK(d == 120000);
    CHECK_OK(tocsin_retry_after_parse("0", 0, &d));
    CHECK(d == 0);
    d = 42;
    CHECK_ERR(tocsin_retry_after_parse("-1", 0, &d), TOCSIN_EINVAL);
    CHECK_ERR(tocsin_retry_after_parse("1.5", 0, &d), TOCSIN_EINVAL);
    CHECK_ERR(tocsin_retry_after_parse("", 0, &d), TOCSIN_EINVAL);
    CHECK_ERR(tocsin_retry_after_parse("99999999999999999999", 0, &d),
              TOCSIN_EINVAL);
    CHECK_ERR(tocsin_retry_after_parse(NULL, 0, &d), TOCSIN_EINVAL);
    CHECK(d == 42);
}

static void
test_http_dates(void)
{
    int64_t t = 0;
    /* date -u -d 'Sun, 06 Nov 1994 08:49:37 GMT' +%s = 784111777 */
    CHECK_OK(tocsin_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t));
    CHECK(t == 784111777);
    t = 0;
    CHECK_OK(tocsin_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t));
    CHECK(t == 784111777);
    t = 0;
    CHECK_OK(tocsin_http_date_parse("Sun Nov  6 08:49:37 1994", &t));
    CHECK(t == 784111777);
    /* date -u -d '2024-02-29 23:59:59' +%s = 1709251199 */
    CHECK_OK(tocsin_http_date_parse("Thu, 29 Feb 2024 23:59:59 GMT", &t));
    CHECK(t == 1709251199);
    t = 7;
    CHECK_ERR(tocsin_http_date_parse("Fri, 29 Feb 2023 00:00:00 GMT", &t),
              TOCSIN_EINVAL);
    CHECK_ERR(tocsin_http_date_parse("Sun, 06 Nov 1994 08:49:37 UTC", &t),
              TOCSIN_EINVAL);
    CHECK_ERR(tocsin_http_date_parse("Sun, 06 Foo 1994 08:49:37 GMT", &t),
              TOCSIN_EINVAL);
    CHECK_ERR(tocsin_http_date_parse("Sun, 06 Nov 1994 25:49:37 GMT", &t),
              TOCSIN_EINVAL);
    CHECK(t == 7);
}

static void
test_retry_after_date(void)
{
    int64_t now = 784111777LL * 1000;
    int64_t d = -1;
    CHECK_OK(
        tocsin_retry_after_parse("Sun, 06 Nov 1994 08:50:07 GMT", now, &d));
    CHECK(d == 30000);
    CHECK_OK(
        tocsin_retry_after_parse("Sun, 06 Nov 1994 08:49:00 GMT", now, &d));
    CHECK(d == 0);
}

TOCSIN_TESTS(TOCSIN_TEST(test_full_jitter_bounds),
             TOCSIN_TEST(test_decorrelated_bounds),
             TOCSIN_TEST(test_retry_after_seconds),
             TOCSIN_TEST(test_http_dates), TOCSIN_TEST(test_retry_after_date));
