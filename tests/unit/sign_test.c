/* sign_test.c: webhook signatures against vectors computed with
 * `printf '%s' "<t>.<body>" | openssl dgst -sha256 -hmac <secret>`. */
#include "tocsin/sign.h"
#include "tocsin_test.h"

static void
test_known_vector_empty_object(void)
{
    char out[TOCSIN_SIGN_MAX];
    CHECK_OK(
        tocsin_sign_webhook("secret", 1700000000LL, "{}", 2, out, sizeof out));
    CHECK_STR(out, "t=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282"
                   "abd07c37ae5e8e7d79a5f163");
}

static void
test_known_vector_json(void)
{
    const char *body = "{\"event\":\"fire\",\"topic\":\"acme\"}";
    char out[TOCSIN_SIGN_MAX];
    CHECK_OK(tocsin_sign_webhook("whsec_k3y", 1700000000LL, body, strlen(body),
                                 out, sizeof out));
    CHECK_STR(out, "t=1700000000,v1=0da4c5d368c8abc131f56b46e3bdd7c818e5d5d0"
                   "a39a939e82e9bdf283018fbe");
}

static void
test_length_not_nul(void)
{
    /* Only len bytes of body are signed. */
    char a[TOCSIN_SIGN_MAX], b[TOCSIN_SIGN_MAX];
    CHECK_OK(tocsin_sign_webhook("secret", 1700000000LL, "{}garbage", 2, a,
                                 sizeof a));
    CHECK_OK(tocsin_sign_webhook("secret", 1700000000LL, "{}", 2, b, sizeof b));
    CHECK_STR(a, b);
}

static void
test_errors_leave_out_untouched(void)
{
    char out[8] = "keep";
    CHECK_ERR(tocsin_sign_webhook("secret", 1, "{}", 2, out, sizeof out),
              TOCSIN_ERANGE);
    CHECK_STR(out, "keep");
    CHECK_ERR(tocsin_sign_webhook("", 1, "{}", 2, out, sizeof out),
              TOCSIN_EINVAL);
    CHECK_ERR(tocsin_sign_webhook(NULL, 1, "{}", 2, out, sizeof out),
              TOCSIN_EINVAL);
    CHECK_STR(out, "keep");
}

TOCSIN_TESTS(TOCSIN_TEST(test_known_vector_empty_object),
             TOCSIN_TEST(test_known_vector_json),
             TOCSIN_TEST(test_length_not_nul),
             TOCSIN_TEST(test_errors_leave_out_untouched));
