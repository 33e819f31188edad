/*
 * stats.c: tail probabilities for counts and proportions.  Pure functions,
 * any thread.  The series and continued fractions follow the classic
 * Numerical Recipes formulation (Lentz's method), written afresh here.
 */
#include "tocsin/stats.h"

#include <float.h>
#include <math.h>

#define ITMAX 300
#define EPS   1e-14
#define FPMIN 1e-300
#define COUNT_D_MIN 0.25 /* see tocsin_count_log_sf */

/* ln P(a, x) by its series, good for x < a + 1. */
static double
log_gamma_p_series(double a, double x)
{
    double ap = a, sum = 1.0 / a, del = sum;
    for (int n = 0; n < ITMAX; n++) {
        ap += 1.0;
        del *= x / ap;
        sum += del;
        if (fabs(del) < fabs(sum) * EPS)
            break;
    }
    return log(sum) - x + a * log(x) - lgamma(a);
}

/* ln Q(a, x) by its continued fraction, good for x >= a + 1. */
static double
log_gamma_q_cf(double a, double x)
{
    double b = x + 1.0 - a, c = 1.0 / FPMIN, d = 1.0 / b, h = d;
    for (int i = 1; i <= ITMAX; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < FPMIN)
            d = FPMIN;
        c = b + an / c;
        if (fabs(c) < FPMIN)
            c = FPMIN;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < EPS)
            break;
    }
    return log(h) - x + a * log(x) - lgamma(a);
}

/* ln P(a, x), the regularised lower incomplete gamma function. */
static double
log_gamma_p(double a, double x)
{
    if (x <= 0)
        return -INFINITY;
    if (x < a + 1.0)
        return log_gamma_p_series(a, x);
    double lq = log_gamma_q_cf(a, x);
    return log1p(-exp(lq));
}

double
tocsin_gamma_p(double a, double x)
{
    return exp(log_gamma_p(a, x));
}

double
tocsin_poisson_log_sf(double x, double lambda)
{
    if (x <= 0)
        return 0.0;
    if (lambda <= 0)
        return -INFINITY;
    /* P(X >= x) = P(x, lambda) for integer x; continuous in x. */
    return log_gamma_p(x, lambda);
}

double
tocsin_count_log_sf(double x, double mean, double var)
{
    if (mean <= 0)
        return x > 0 ? -INFINITY : 0.0;
    double d = var > 0 ? var / mean : 1.0;
    d = d > COUNT_D_MIN ? d : COUNT_D_MIN;
    return tocsin_poisson_log_sf(x / d, mean / d);
}

/* Continued fraction for the incomplete beta function. */
static double
betacf(double a, double b, double x)
{
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < FPMIN)
        d = FPMIN;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= ITMAX; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < FPMIN)
            d = FPMIN;
        c = 1.0 + aa / c;
        if (fabs(c) < FPMIN)
            c = FPMIN;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < FPMIN)
            d = FPMIN;
        c = 1.0 + aa / c;
        if (fabs(c) < FPMIN)
            c = FPMIN;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < EPS)
            break;
    }
    return h;
}

/* ln I_x(a, b). */
static double
log_beta_i(double a, double b, double x)
{
    if (x <= 0)
        return -INFINITY;
    if (x >= 1)
        return 0.0;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) +
                 b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0))
        return lbt + log(betacf(a, b, x)) - log(a);
    double other = exp(lbt) * betacf(b, a, 1.0 - x) / b;
    return log1p(-other);
}

double
tocsin_beta_i(double a, double b, double x)
{
    return exp(log_beta_i(a, b, x));
}

double
tocsin_binom_log_sf(double k, double n, double p)
{
    if (k <= 0)
        return 0.0;
    if (k > n)
        return -INFINITY;
    if (p <= 0)
        return -INFINITY;
    if (p >= 1)
        return 0.0;
    /* P(K >= k) = I_p(k, n - k + 1). */
    return log_beta_i(k, n - k + 1.0, p);
}

double
tocsin_score_from_log_p(double log_p, double decades)
{
    if (!(log_p < 0))
        return 0.0;
    double s = -log_p / log(10.0) / decades;
    return s >= 1.0 ? 1.0 : s;
}
