/*
 * ack.h: signed acknowledgement links.
 *
 * A token binds one alert id, one action ("ack", "resolve", ...) and an
 * expiry: base64url("1|<alert>|<action>|<expires>|<nonce>") "." base64url(
 * HMAC-SHA256(secret, that payload)).  It goes in the link of every
 * message (e.g. <external_url>/ack/<token>).  Verification refuses a token
 * whose signature does not match (forged or altered), whose expiry has
 * passed, or (through a ledger) that was already used: a link works once.
 *
 * tocsin_ack_sign/verify are pure (OpenSSL only, time is an argument) and
 * thread-safe.  A ledger owns the used tokens' ids until they expire; it
 * is not thread-safe.  The Redis side of one-use across instances is
 * tocsin_oncall_store_ack_watch/_append (oncall_store.h).
 */
#ifndef TOCSIN_ACK_H
#define TOCSIN_ACK_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"

#define TOCSIN_ACK_TOKEN_MAX 512
#define TOCSIN_ACK_FIELD_MAX 128

enum tocsin_ack_verdict {
    TOCSIN_ACK_VALID = 0,
    TOCSIN_ACK_MALFORMED, /* not a token at all */
    TOCSIN_ACK_FORGED,    /* signature does not match */
    TOCSIN_ACK_EXPIRED,   /* expiry has passed */
    TOCSIN_ACK_REUSED,    /* already used (ledger) */
};

/* "valid", "malformed", "forged", "expired", "reused". */
const char *tocsin_ack_verdict_name(enum tocsin_ack_verdict v);

struct tocsin_ack_claims {
    char alert[TOCSIN_ACK_FIELD_MAX];
    char action[TOCSIN_ACK_FIELD_MAX];
    int64_t expires; /* epoch seconds */
    char nonce[TOCSIN_ACK_FIELD_MAX];
    char id[33]; /* hex of the first 16 bytes of the MAC: the token's
                    identity for one-use bookkeeping */
};

/*
 * Write a token for alert/action expiring at `expires` into out (outlen
 * bytes, NUL-terminated; TOCSIN_ACK_TOKEN_MAX is always enough).  alert,
 * action and nonce are 1..127 bytes without '|' (nonce may be "").
 * TOCSIN_EINVAL for bad arguments or an empty secret, TOCSIN_ERANGE if out
 * is too small, TOCSIN_EIO if OpenSSL fails.
 */
tocsin_err tocsin_ack_sign(const char *secret, const char *alert,
                           const char *action, int64_t expires,
                           const char *nonce, char *out, size_t outlen);

/*
 * Check token at time now.  *verdict is always written.  Returns
 * TOCSIN_OK and fills *claims (may be NULL) when the token is valid;
 * TOCSIN_EINVAL when it is refused (the verdict says why); TOCSIN_EIO if
 * OpenSSL fails.
 */
tocsin_err tocsin_ack_verify(const char *secret, const char *token, int64_t now,
                             struct tocsin_ack_claims *claims,
                             enum tocsin_ack_verdict *verdict);

struct tocsin_ack_ledger;

tocsin_err tocsin_ack_ledger_new(struct tocsin_ack_ledger **out);
void tocsin_ack_ledger_free(struct tocsin_ack_ledger *l);

/*
 * Verify token and, when valid, record it as used: a second call with the
 * same token gets TOCSIN_ACK_REUSED (TOCSIN_EINVAL).  Entries are dropped
 * once expired.  Otherwise as tocsin_ack_verify.
 */
tocsin_err tocsin_ack_ledger_use(struct tocsin_ack_ledger *l,
                                 const char *secret, const char *token,
                                 int64_t now, struct tocsin_ack_claims *claims,
                                 enum tocsin_ack_verdict *verdict);

/* Mark a token id as used until expires (e.g. loaded from Redis). */
tocsin_err tocsin_ack_ledger_mark(struct tocsin_ack_ledger *l, const char *id,
                                  int64_t expires);

#endif
