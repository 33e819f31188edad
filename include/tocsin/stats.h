/*
 * stats.h: the count and proportion statistics the detectors use.
 *
 * Upper-tail probabilities for counts (Poisson, and quasi-Poisson with a
 * dispersion factor for overdispersed counts) and for proportions
 * (binomial), computed through the regularised incomplete gamma and beta
 * functions.  Results are returned as natural logs so that tiny tails keep
 * their precision.  Pure, deterministic, thread-safe.
 */
#ifndef TOCSIN_STATS_H
#define TOCSIN_STATS_H

/* ln P(X >= x) for X ~ Poisson(lambda); x may be fractional (continuous
 * extension through the incomplete gamma function).  0 when x <= 0. */
double tocsin_poisson_log_sf(double x, double lambda);

/* ln P(X >= x) for a count with mean `mean` and variance `var`:
 * X/d ~ Poisson(mean/d) with d = var/mean.  d > 1 for overdispersed
 * counts; d < 1 for a weighted sum of counts (an exponential window's
 * squared weights shrink its variance to about half its mean), down to
 * 0.25. */
double tocsin_count_log_sf(double x, double mean, double var);

/* ln P(K >= k) for K ~ Binomial(n, p); k and n may be fractional. */
double tocsin_binom_log_sf(double k, double n, double p);

/* Map a log tail probability to a score in [0, 1]: 0 for ln p = 0, 1 for
 * p <= 10^-decades, linear in -log10 p in between. */
double tocsin_score_from_log_p(double log_p, double decades);

/* Regularised incomplete functions, exposed for tests. */
double tocsin_gamma_p(double a, double x); /* P(a, x) */
double tocsin_beta_i(double a, double b, double x); /* I_x(a, b) */

#endif
