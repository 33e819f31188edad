/*
 * ack_test.c: signed acknowledgement links: valid once, refused when
 * forged, altered, expired or reused.
 */
#include "tocsin/ack.h"
#include "tocsin_test.h"

static void
test_ack_round_trip(void)
{
    char tok[TOCSIN_ACK_TOKEN_MAX];
    CHECK_OK(tocsin_ack_sign("k3y", "5f0c1a2b3c4d5e6f", "ack", 2000, "n1", tok,
                             sizeof tok));
    CHECK(strchr(tok, '.') != NULL);
    CHECK(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-_.") == strlen(tok)); /* URL-safe */
    struct tocsin_ack_claims c;
    enum tocsin_ack_verdict v;
    CHECK_OK(tocsin_ack_verify("k3y", tok, 1999, &c, &v));
    CHECK(v == TOCSIN_ACK_VALID);
    CHECK_STR(c.alert, "5f0c1a2b3c4d5e6f");
    CHECK_STR(c.action, "ack");
    CHECK_STR(c.nonce, "n1");
    CHECK(c.expires == 2000);
    CHECK(strlen(c.id) == 32);
    CHECK_STR(tocsin_ack_verdict_name(v), "valid");
}

static void
test_ack_refusals(void)
{
    char tok[TOCSIN_ACK_TOKEN_MAX], other[TOCSIN_ACK_TOKEN_MAX];
    enum tocsin_ack_verdict v;
    REQUIRE(tocsin_ack_sign("k3y", "fp1", "ack", 2000, "", tok, sizeof tok) ==
            TOCSIN_OK);
    /* expired: at or after the expiry */
    CHECK_ERR(tocsin_ack_verify("k3y", tok, 2000, NULL, &v), TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_EXPIRED);
    /* forged: another secret */
    CHECK_ERR(tocsin_ack_verify("other", tok, 1000, NULL, &v), TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_FORGED);
    /* altered: someone's payload with the signature of another */
    REQUIRE(tocsin_ack_sign("k3y", "fp2", "ack", 2000, "", other,
                            sizeof other) == TOCSIN_OK);
    char mixed[2 * TOCSIN_ACK_TOKEN_MAX];
    snprintf(mixed, sizeof mixed, "%.*s%s", (int)(strchr(other, '.') - other),
             other, strchr(tok, '.'));
    CHECK_ERR(tocsin_ack_verify("k3y", mixed, 1000, NULL, &v), TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_FORGED);
    /* altered expiry, re-encoded by hand, keeps the old MAC: forged */
    char forged[TOCSIN_ACK_TOKEN_MAX];
    REQUIRE(tocsin_ack_sign("guess", "fp1", "ack", 9999, "", forged,
                            sizeof forged) == TOCSIN_OK);
    CHECK_ERR(tocsin_ack_verify("k3y", forged, 1000, NULL, &v), TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_FORGED);
    /* malformed */
    const char *junk[] = {"", "abc", "abc.def", "!!!.???", "a.b.c"};
    for (size_t i = 0; i < 5; i++) {
        CHECK_ERR(tocsin_ack_verify("k3y", junk[i], 1000, NULL, &v),
                  TOCSIN_EINVAL);
        CHECK(v == TOCSIN_ACK_MALFORMED || v == TOCSIN_ACK_FORGED);
    }
    /* bad arguments to sign */
    CHECK_ERR(tocsin_ack_sign("", "fp", "ack", 1, "", tok, sizeof tok),
              TOCSIN_EINVAL);
    CHECK_ERR(tocsin_ack_sign("k", "a|b", "ack", 1, "", tok, sizeof tok),
              TOCSIN_EINVAL);
    CHECK_ERR(tocsin_ack_sign("k", "fp", "ack", 1, "", tok, 8), TOCSIN_ERANGE);
}

static void
test_ack_ledger_one_use(void)
{
    struct tocsin_ack_ledger *l = NULL;
    CHECK_OK(tocsin_ack_ledger_new(&l));
    REQUIRE(l);
    char a[TOCSIN_ACK_TOKEN_MAX], b[TOCSIN_ACK_TOKEN_MAX];
    REQUIRE(tocsin_ack_sign("k", "fp1", "ack", 2000, "m1", a, sizeof a) ==
            TOCSIN_OK);
    REQUIRE(tocsin_ack_sign("k", "fp1", "ack", 2000, "m2", b, sizeof b) ==
            TOCSIN_OK);
    enum tocsin_ack_verdict v;
    struct tocsin_ack_claims c;
    CHECK_OK(tocsin_ack_ledger_use(l, "k", a, 1000, &c, &v));
    CHECK(v == TOCSIN_ACK_VALID);
    CHECK_ERR(tocsin_ack_ledger_use(l, "k", a, 1001, &c, &v), TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_REUSED);
    /* another message's link for the same alert still works once */
    CHECK_OK(tocsin_ack_ledger_use(l, "k", b, 1002, NULL, &v));
    CHECK_ERR(tocsin_ack_ledger_use(l, "k", b, 1003, NULL, &v), TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_REUSED);
    /* a forged token is not recorded and stays forged */
    CHECK_ERR(tocsin_ack_ledger_use(l, "wrong", a, 1000, NULL, &v),
              TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_FORGED);
    /* ids marked from elsewhere (Redis) count as used */
    char d[TOCSIN_ACK_TOKEN_MAX];
    REQUIRE(tocsin_ack_sign("k", "fp9", "resolve", 3000, "", d, sizeof d) ==
            TOCSIN_OK);
    REQUIRE(tocsin_ack_verify("k", d, 0, &c, &v) == TOCSIN_OK);
    CHECK_OK(tocsin_ack_ledger_mark(l, c.id, c.expires));
    CHECK_ERR(tocsin_ack_ledger_use(l, "k", d, 1000, NULL, &v), TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_REUSED);
    tocsin_ack_ledger_free(l);
}

TOCSIN_TESTS(TOCSIN_TEST(test_ack_round_trip), TOCSIN_TEST(test_ack_refusals),
             TOCSIN_TEST(test_ack_ledger_one_use))
