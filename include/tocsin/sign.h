/*
 * sign.h: the X-Tocsin-Signature header of outgoing webhooks.
 *
 * The value reads "t=<unix seconds>,v1=<hex>", where <hex> is the
 * lower-case hex HMAC-SHA256 of "<t>.<body>" keyed with the receiver's
 * secret.  A receiver recomputes it, compares in constant time and rejects
 * stale t values (replay).  Pure (OpenSSL only) and thread-safe.
 */
#ifndef TOCSIN_SIGN_H
#define TOCSIN_SIGN_H

#include <stddef.h>

#include "tocsin/err.h"

/* Room for "t=" + 20 digits + ",v1=" + 64 hex digits + NUL. */
#define TOCSIN_SIGN_MAX 96

/*
 * Write the signature of body (len bytes; need not be NUL-terminated) at
 * time t into out (outlen bytes, NUL-terminated).  out is written only on
 * success.  TOCSIN_EINVAL for a NULL or empty secret, TOCSIN_ERANGE if out
 * is too small, TOCSIN_EIO if OpenSSL fails.
 */
tocsin_err tocsin_sign_webhook(const char *secret, long long t,
                               const char *body, size_t len, char *out,
                               size_t outlen);

#endif
