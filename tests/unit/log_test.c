/* log_test.c: URL redaction and level parsing. */
#include "tocsin/log.h"
#include "tocsin_test.h"

static void
test_redact_userinfo(void)
{
    char buf[256];
    CHECK_STR(tocsin_log_redact_url("redis://:hunter2@db:6379/0", buf,
                                    sizeof buf),
              "redis://REDACTED@db:6379/0");
}

static void
test_redact_query_and_token_path(void)
{
    char buf[256];
    CHECK_STR(tocsin_log_redact_url(
                  "https://hooks.example.com/services/T000/B000/"
                  "XXXXXXXXXXXXXXXXXXXXXXXX?token=abc&x=1",
                  buf, sizeof buf),
              "https://hooks.example.com/services/T000/B000/REDACTED"
              "?token=REDACTED&x=REDACTED");
    CHECK_STR(tocsin_log_redact_url("http://127.0.0.1:9009/hook", buf,
                                    sizeof buf),
              "http://127.0.0.1:9009/hook");
}

static void
test_redact_truncates_safely(void)
{
    char buf[8];
    tocsin_log_redact_url("http://user:pw@host/x", buf, sizeof buf);
    CHECK(strlen(buf) == 7);
}

static void
test_parse_level(void)
{
    enum tocsin_log_level l = TOCSIN_LOG_INFO;
    CHECK(tocsin_log_parse_level("debug", &l) == 0 && l == TOCSIN_LOG_DEBUG);
    CHECK(tocsin_log_parse_level("loud", &l) == -1 && l == TOCSIN_LOG_DEBUG);
}

TOCSIN_TESTS(TOCSIN_TEST(test_redact_userinfo),
             TOCSIN_TEST(test_redact_query_and_token_path),
             TOCSIN_TEST(test_redact_truncates_safely),
             TOCSIN_TEST(test_parse_level));
