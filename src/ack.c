/*
 * ack.c: HMAC-signed, expiring, one-use acknowledgement tokens.  Signing
 * and verification own nothing between calls (any thread); a ledger owns
 * its used ids (one thread).
 */
#include "tocsin/ack.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_LEN 32

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t
b64url_enc(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = b64[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = b64[v & 63];
    }
    out[o] = '\0';
    return o;
}

/* Decode n chars; returns the byte count or -1. */
static long
b64url_dec(const char *in, size_t n, unsigned char *out, size_t cap)
{
    uint32_t v = 0;
    int bits = 0;
    size_t o = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(b64, in[i], 64);
        if (!p || !in[i])
            return -1;
        v = v << 6 | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -1;
            out[o++] = (unsigned char)(v >> bits);
        }
    }
    return (long)o;
}

static int
mac(const char *secret, const char *data, size_t n, unsigned char *md)
{
    size_t len = 0;
    return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret),
                     (const unsigned char *)data, n, md, MAC_LEN, &len) &&
                   len == MAC_LEN
               ? 0
               : -1;
}

static int
good_field(const char *s, int may_be_empty)
{
    size_t n = s ? strlen(s) : 0;
    return s && (n || may_be_empty) && n < TOCSIN_ACK_FIELD_MAX &&
           !strchr(s, '|');
}

const char *
tocsin_ack_verdict_name(enum tocsin_ack_verdict v)
{
    static const char *const names[] = {"valid", "malformed", "forged",
                                        "expired", "reused"};
    return (unsigned)v < 5 ? names[v] : "?";
}

tocsin_err
tocsin_ack_sign(const char *secret, const char *alert, const char *action,
                int64_t expires, const char *nonce, char *out, size_t outlen)
{
    if (!secret || !secret[0] || !good_field(alert, 0) ||
        !good_field(action, 0) || !good_field(nonce, 1) || !out)
        return TOCSIN_EINVAL;
    char payload[4 * TOCSIN_ACK_FIELD_MAX];
    int n = snprintf(payload, sizeof payload, "1|%s|%s|%lld|%s", alert, action,
                     (long long)expires, nonce);
    if (n < 0 || (size_t)n >= sizeof payload)
        return TOCSIN_EINVAL;
    unsigned char md[MAC_LEN];
    if (mac(secret, payload, (size_t)n, md))
        return TOCSIN_EIO;
    char tok[TOCSIN_ACK_TOKEN_MAX + 8];
    size_t o = b64url_enc((const unsigned char *)payload, (size_t)n, tok);
    tok[o++] = '.';
    o += b64url_enc(md, MAC_LEN, tok + o);
    if (o + 1 > outlen)
        return TOCSIN_ERANGE;
    memcpy(out, tok, o + 1);
    return TOCSIN_OK;
}

/* Split "a|b|c" fields of payload into claims; -1 if malformed. */
static int
parse_payload(char *p, struct tocsin_ack_claims *c)
{
    char *f[5];
    int nf = 0;
    f[nf++] = p;
    for (char *q = p; *q; q++)
        if (*q == '|') {
            if (nf == 5)
                return -1;
            *q = '\0';
            f[nf++] = q + 1;
        }
    if (nf != 5 || strcmp(f[0], "1") != 0 || !f[1][0] || !f[2][0])
        return -1;
    char *end;
    long long e = strtoll(f[3], &end, 10);
    if (!f[3][0] || *end)
        return -1;
    snprintf(c->alert, sizeof c->alert, "%s", f[1]);
    snprintf(c->action, sizeof c->action, "%s", f[2]);
    snprintf(c->nonce, sizeof c->nonce, "%s", f[4]);
    c->expires = e;
    return 0;
}

tocsin_err
tocsin_ack_verify(const char *secret, const char *token, int64_t now,
                  struct tocsin_ack_claims *claims,
                  enum tocsin_ack_verdict *verdict)
{
    enum tocsin_ack_verdict dummy;
    if (!verdict)
        verdict = &dummy;
    *verdict = TOCSIN_ACK_MALFORMED;
    if (!secret || !secret[0] || !token)
        return TOCSIN_EINVAL;
    size_t tl = strnlen(token, TOCSIN_ACK_TOKEN_MAX + 1);
    const char *dot = memchr(token, '.', tl);
    if (tl > TOCSIN_ACK_TOKEN_MAX || !dot)
        return TOCSIN_EINVAL;
    char payload[TOCSIN_ACK_TOKEN_MAX];
    unsigned char got[MAC_LEN + 4], want[MAC_LEN];
    long pl = b64url_dec(token, (size_t)(dot - token), (unsigned char *)payload,
                         sizeof payload - 1);
    long ml =
        b64url_dec(dot + 1, tl - (size_t)(dot + 1 - token), got, sizeof got);
    if (pl <= 0 || ml != MAC_LEN || memchr(payload, '\0', (size_t)pl))
        return TOCSIN_EINVAL;
    payload[pl] = '\0';
    if (mac(secret, payload, (size_t)pl, want))
        return TOCSIN_EIO;
    if (CRYPTO_memcmp(got, want, MAC_LEN) != 0) {
        *verdict = TOCSIN_ACK_FORGED;
        return TOCSIN_EINVAL;
    }
    struct tocsin_ack_claims c;
    memset(&c, 0, sizeof c);
    if (parse_payload(payload, &c))
        return TOCSIN_EINVAL;
    for (int i = 0; i < 16; i++)
        snprintf(c.id + 2 * i, 3, "%02x", want[i]);
    if (now >= c.expires) {
        *verdict = TOCSIN_ACK_EXPIRED;
        return TOCSIN_EINVAL;
    }
    *verdict = TOCSIN_ACK_VALID;
    if (claims)
        *claims = c;
    return TOCSIN_OK;
}

struct used {
    char id[33];
    int64_t expires;
};

struct tocsin_ack_ledger {
    struct used *v;
    size_t n, cap;
};

tocsin_err
tocsin_ack_ledger_new(struct tocsin_ack_ledger **out)
{
    if (!out)
        return TOCSIN_EINVAL;
    struct tocsin_ack_ledger *l = calloc(1, sizeof *l);
    if (!l)
        return TOCSIN_ENOMEM;
    *out = l;
    return TOCSIN_OK;
}

void
tocsin_ack_ledger_free(struct tocsin_ack_ledger *l)
{
    if (!l)
        return;
    free(l->v);
    free(l);
}

static void
ledger_gc(struct tocsin_ack_ledger *l, int64_t now)
{
    size_t j = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].expires > now)
            l->v[j++] = l->v[i];
    l->n = j;
}

tocsin_err
tocsin_ack_ledger_mark(struct tocsin_ack_ledger *l, const char *id,
                       int64_t expires)
{
    if (!l || !id || strlen(id) != 32)
        return TOCSIN_EINVAL;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].id, id) == 0)
            return TOCSIN_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct used *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return TOCSIN_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    memcpy(l->v[l->n].id, id, 33);
    l->v[l->n++].expires = expires;
    return TOCSIN_OK;
}

tocsin_err
tocsin_ack_ledger_use(struct tocsin_ack_ledger *l, const char *secret,
                      const char *token, int64_t now,
                      struct tocsin_ack_claims *claims,
                      enum tocsin_ack_verdict *verdict)
{
    enum tocsin_ack_verdict dummy;
    if (!verdict)
        verdict = &dummy;
    if (!l) {
        *verdict = TOCSIN_ACK_MALFORMED;
        return TOCSIN_EINVAL;
    }
    struct tocsin_ack_claims c;
    tocsin_err rc = tocsin_ack_verify(secret, token, now, &c, verdict);
    if (rc != TOCSIN_OK)
        return rc;
    ledger_gc(l, now);
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].id, c.id) == 0) {
            *verdict = TOCSIN_ACK_REUSED;
            return TOCSIN_EINVAL;
        }
    rc = tocsin_ack_ledger_mark(l, c.id, c.expires);
    if (rc != TOCSIN_OK)
        return rc;
    if (claims)
        *claims = c;
    return TOCSIN_OK;
}
