/* stats_test.c: the count and proportion tails the detectors read. */
#include <math.h>

#include "tocsin/stats.h"
#include "tocsin_test.h"

static void
test_poisson_tail_matches_closed_forms(void)
{
    /* P(X >= 1) = 1 - e^-l; P(X >= 3 | 2) = 1 - 5 e^-2. */
    CHECK_NEAR(tocsin_poisson_log_sf(1, 0.5), log(1 - exp(-0.5)), 1e-9);
    CHECK_NEAR(tocsin_poisson_log_sf(3, 2), log(1 - 5 * exp(-2)), 1e-9);
    CHECK_NEAR(tocsin_poisson_log_sf(0, 2), 0.0, 1e-12);
    /* A deep tail keeps its precision: P(X >= 40 | 2) is about 1e-37. */
    double lp = tocsin_poisson_log_sf(40, 2);
    CHECK(lp < -84 && lp > -87);
}

static void
test_count_tail_scales_by_the_dispersion(void)
{
    /* var = mean: Poisson. */
    CHECK_NEAR(tocsin_count_log_sf(30, 20, 20), tocsin_poisson_log_sf(30, 20),
               1e-12);
    /* Overdispersed (var = 2 mean): X/2 ~ Poisson(mean/2), a wider tail. */
    CHECK_NEAR(tocsin_count_log_sf(30, 20, 40), tocsin_poisson_log_sf(15, 10),
               1e-12);
    CHECK(tocsin_count_log_sf(30, 20, 40) > tocsin_poisson_log_sf(30, 20));
    /* A weighted sum (an exponential window: var about mean / 2) has a
     * narrower tail than a plain count of the same mean. */
    CHECK_NEAR(tocsin_count_log_sf(30, 20, 10), tocsin_poisson_log_sf(60, 40),
               1e-12);
    CHECK(tocsin_count_log_sf(30, 20, 10) < tocsin_poisson_log_sf(30, 20));
    /* ...down to a quarter of the mean; no variance reads as Poisson. */
    CHECK_NEAR(tocsin_count_log_sf(30, 20, 1), tocsin_poisson_log_sf(120, 80),
               1e-12);
    CHECK_NEAR(tocsin_count_log_sf(30, 20, 0), tocsin_poisson_log_sf(30, 20),
               1e-12);
}

static void
test_binomial_tail_matches_closed_forms(void)
{
    /* P(K >= 1 | n = 1) = p; P(K >= n) = p^n. */
    CHECK_NEAR(tocsin_binom_log_sf(1, 1, 0.2), log(0.2), 1e-9);
    CHECK_NEAR(tocsin_binom_log_sf(5, 5, 0.5), 5 * log(0.5), 1e-9);
    /* 10 of 12 is weaker evidence than 1,000 of 1,200 (usual 15 %). */
    CHECK(tocsin_binom_log_sf(10, 12, 0.15) > tocsin_binom_log_sf(1000, 1200, 0.15));
}

TOCSIN_TESTS(TOCSIN_TEST(test_poisson_tail_matches_closed_forms),
             TOCSIN_TEST(test_count_tail_scales_by_the_dispersion),
             TOCSIN_TEST(test_binomial_tail_matches_closed_forms));
