/*
 * backoff.h: retry delays for webhook deliveries, and Retry-After parsing.
 *
 * Pure: randomness and the current time are arguments, so every result is
 * reproducible in tests.  Thread-safe.
 */
#ifndef TOCSIN_BACKOFF_H
#define TOCSIN_BACKOFF_H

#include <stdint.h>

#include "tocsin/err.h"

/*
 * Exponential backoff with full jitter, floored at min_ms: the ceiling is
 * min_ms * 2^attempt capped at max_ms (attempt 0 is the first retry), and
 * the delay is uniform in [min_ms, ceiling], drawn from rnd (any 64-bit
 * random value).  min_ms <= 0 counts as 1; max_ms < min_ms counts as
 * min_ms.
 */
int64_t tocsin_backoff_full(unsigned attempt, int64_t min_ms, int64_t max_ms,
                            uint64_t rnd);

/*
 * Decorrelated jitter: uniform in [min_ms, 3 * prev_ms] capped at max_ms,
 * where prev_ms is the previous delay (0 or less on the first retry, which
 * then uses min_ms).  Same clamping of min_ms and max_ms as above.
 */
int64_t tocsin_backoff_decorrelated(int64_t prev_ms, int64_t min_ms,
                                    int64_t max_ms, uint64_t rnd);

/*
 * Parse an HTTP-date (RFC 9110 5.6.7: IMF-fixdate "Sun, 06 Nov 1994
 * 08:49:37 GMT", and the obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT"
 * and asctime "Sun Nov  6 08:49:37 1994" forms) into seconds since the
 * epoch.  *out is written only on success; TOCSIN_EINVAL otherwise.
 */
tocsin_err tocsin_http_date_parse(const char *s, int64_t *out);

/*
 * Parse a Retry-After value, either delta-seconds ("120") or an HTTP-date,
 * into a delay in milliseconds from now_ms (epoch ms).  A date in the past
 * gives 0.  Surrounding blanks are allowed.  *delay_ms is written only on
 * success; TOCSIN_EINVAL for anything else (the caller then falls back to
 * its computed backoff).
 */
tocsin_err tocsin_retry_after_parse(const char *value, int64_t now_ms,
                                    int64_t *delay_ms);

#endif
