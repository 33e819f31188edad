/*
 * tokcache.h: bearer tokens the push receivers reuse between requests:
 * the OAuth2 access token an FCM service account gets from its token URI,
 * the APNs provider token (an ES256 JWT Apple wants reused for 20 to 60
 * minutes).  Keyed by a string (receiver name and key id); each entry has
 * the time it was issued and the time it expires.
 *
 * Process-wide and small (a few entries per receiver), guarded by one
 * mutex: the delivery thread fills it, tocsinctl test paths may read it.
 * Times are arguments (epoch ms), never read from the clock.  Values are
 * wiped when dropped.
 */
#ifndef TOCSIN_TOKCACHE_H
#define TOCSIN_TOKCACHE_H

#include <stdint.h>

#include "tocsin/err.h"

/*
 * A copy of the token under key (free()), if it is still valid at now_ms
 * for at least margin_ms more.  *issued_ms (may be NULL) receives when it
 * was issued.  TOCSIN_ENOENT when there is none (or it is too old);
 * *out is written only on success.
 */
tocsin_err tocsin_tokcache_get(const char *key, int64_t now_ms,
                               int64_t margin_ms, char **out,
                               int64_t *issued_ms);

/* Store (replace) the token under key. */
tocsin_err tocsin_tokcache_put(const char *key, const char *token,
                               int64_t issued_ms, int64_t expires_ms);

/* Forget the token under key (a gateway refused it). */
void tocsin_tokcache_drop(const char *key);

/* Forget every token (tests, configuration reload). */
void tocsin_tokcache_clear(void);

#endif
