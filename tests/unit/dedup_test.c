#include <stdio.h>
#include <string.h>

#include "tocsin/dedup.h"
#include "tocsin_test.h"

#define HOUR 3600000LL

static int
seen(struct tocsin_dedup *d, const char *id, int64_t ts)
{
    return tocsin_dedup_seen(d, id, strlen(id), ts);
}

static void
test_an_id_is_seen_once(void)
{
    struct tocsin_dedup *d = NULL;
    CHECK_OK(tocsin_dedup_new(&d, HOUR, 100));
    CHECK(seen(d, "tw:1", 1000) == 0);
    CHECK(seen(d, "tw:2", 2000) == 0);
    CHECK(seen(d, "tw:1", 3000) == 1);
    CHECK(seen(d, "tw:1", 500) == 1); /* late, same answer */
    CHECK(seen(d, "tw:10", 4000) == 0);
    CHECK(seen(d, "tw:", 4000) == 0);
    CHECK(tocsin_dedup_size(d) == 4);
    tocsin_dedup_free(d);
    tocsin_dedup_free(NULL);
}

static void
test_ids_are_remembered_one_to_two_windows(void)
{
    struct tocsin_dedup *d = NULL;
    CHECK_OK(tocsin_dedup_new(&d, HOUR, 100));
    CHECK(seen(d, "early", 10) == 0);            /* window [0, 1 h) */
    CHECK(seen(d, "late", HOUR - 10) == 0);      /* same window */
    CHECK(seen(d, "next", HOUR + 10) == 0);      /* [1 h, 2 h) */
    CHECK(seen(d, "early", HOUR + 20) == 1);     /* previous window */
    CHECK(seen(d, "x", 2 * HOUR + 5) == 0);      /* [2 h, 3 h) */
    CHECK(seen(d, "early", 2 * HOUR + 6) == 0);  /* forgotten: new again */
    CHECK(seen(d, "next", 2 * HOUR + 7) == 1);   /* still the previous */
    /* A jump of more than a window forgets everything before it. */
    CHECK(seen(d, "y", 10 * HOUR) == 0);
    CHECK(seen(d, "next", 10 * HOUR + 1) == 0);
    CHECK(seen(d, "x", 10 * HOUR + 2) == 0);
    tocsin_dedup_free(d);
}

static void
test_a_full_window_starts_the_next(void)
{
    /* Memory is bounded: at max_ids the current window becomes the
     * previous one; the oldest ids go. */
    struct tocsin_dedup *d = NULL;
    CHECK_OK(tocsin_dedup_new(&d, HOUR, 1000));
    char id[32];
    for (int i = 0; i < 2500; i++) {
        snprintf(id, sizeof id, "m%d", i);
        CHECK(seen(d, id, 1000 + i) == 0);
    }
    CHECK(tocsin_dedup_size(d) <= 2000);
    CHECK(seen(d, "m2499", 5000) == 1);
    CHECK(seen(d, "m1500", 5000) == 1);
    CHECK(seen(d, "m0", 5000) == 0);
    tocsin_dedup_free(d);
}

static void
test_bad_arguments(void)
{
    struct tocsin_dedup *d = (struct tocsin_dedup *)&d;
    CHECK_ERR(tocsin_dedup_new(&d, 0, 10), TOCSIN_EINVAL);
    CHECK_ERR(tocsin_dedup_new(&d, HOUR, 0), TOCSIN_EINVAL);
    CHECK(d == (struct tocsin_dedup *)&d);
}

TOCSIN_TESTS(TOCSIN_TEST(test_an_id_is_seen_once),
             TOCSIN_TEST(test_ids_are_remembered_one_to_two_windows),
             TOCSIN_TEST(test_a_full_window_starts_the_next),
             TOCSIN_TEST(test_bad_arguments));
