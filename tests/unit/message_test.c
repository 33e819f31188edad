/*
 * message_test.c: UTF-8-safe truncation and the phone-sized texts built
 * from an outbox body.
 */
#include <jansson.h>
#include <stdlib.h>

#include "alert_fixture.h"
#include "tocsin/engine.h"
#include "tocsin/event.h"
#include "tocsin/message.h"
#include "tocsin_test.h"

/* "é" is 2 bytes, "€" 3, "😀" 4 (2 UTF-16 units). */
static void
test_prefix_never_cuts_a_character(void)
{
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"; /* aé€😀z */
    size_t len = strlen(s);
    CHECK(tocsin_utf8_prefix(s, len, 0, TOCSIN_UNIT_BYTES) == 0);
    CHECK(tocsin_utf8_prefix(s, len, 1, TOCSIN_UNIT_BYTES) == 1);
    CHECK(tocsin_utf8_prefix(s, len, 2, TOCSIN_UNIT_BYTES) == 1);
    CHECK(tocsin_utf8_prefix(s, len, 3, TOCSIN_UNIT_BYTES) == 3);
    CHECK(tocsin_utf8_prefix(s, len, 5, TOCSIN_UNIT_BYTES) == 3);
    CHECK(tocsin_utf8_prefix(s, len, 6, TOCSIN_UNIT_BYTES) == 6);
    CHECK(tocsin_utf8_prefix(s, len, 9, TOCSIN_UNIT_BYTES) == 6);
    CHECK(tocsin_utf8_prefix(s, len, 10, TOCSIN_UNIT_BYTES) == 10);
    CHECK(tocsin_utf8_prefix(s, len, 99, TOCSIN_UNIT_BYTES) == len);
    CHECK(tocsin_utf8_prefix(s, len, 4, TOCSIN_UNIT_CHARS) == 10);
    CHECK(tocsin_utf8_prefix(s, len, 3, TOCSIN_UNIT_UTF16) == 6);
    CHECK(tocsin_utf8_prefix(s, len, 4, TOCSIN_UNIT_UTF16) == 6);
    CHECK(tocsin_utf8_prefix(s, len, 5, TOCSIN_UNIT_UTF16) == 10);
    CHECK(tocsin_utf8_length(s, len, TOCSIN_UNIT_CHARS) == 5);
    CHECK(tocsin_utf8_length(s, len, TOCSIN_UNIT_UTF16) == 6);
    CHECK(tocsin_utf8_length(s, len, TOCSIN_UNIT_BYTES) == len);
    /* A stray continuation byte or truncated sequence counts as one. */
    CHECK(tocsin_utf8_length("\x80x", 2, TOCSIN_UNIT_CHARS) == 2);
    CHECK(tocsin_utf8_prefix("x\xe2\x82", 3, 2, TOCSIN_UNIT_CHARS) == 2);
}

static void
test_ellipsize(void)
{
    char *t = tocsin_utf8_ellipsize("hello", 5, TOCSIN_UNIT_CHARS);
    CHECK_STR(t, "hello");
    free(t);
    t = tocsin_utf8_ellipsize("hello world", 7, TOCSIN_UNIT_CHARS);
    CHECK_STR(t, "hello\xe2\x80\xa6"); /* the space is not kept */
    free(t);
    /* Every byte budget from 0 to 20 gives valid UTF-8 within it. */
    const char *s = "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2"
                    "\x82\xac\xe2\x82\xac"; /* €€€€€€ */
    for (size_t max = 0; max <= 20; max++) {
        t = tocsin_utf8_ellipsize(s, max, TOCSIN_UNIT_BYTES);
        REQUIRE(t);
        CHECK(strlen(t) <= max);
        CHECK(strlen(t) % 3 == 0); /* whole characters only */
        free(t);
    }
}

static void
test_reach(void)
{
    char b[16];
    tocsin_format_reach(87, b, sizeof b);
    CHECK_STR(b, "87");
    tocsin_format_reach(1234, b, sizeof b);
    CHECK_STR(b, "1.2k");
    tocsin_format_reach(140000, b, sizeof b);
    CHECK_STR(b, "140k");
    tocsin_format_reach(2500000, b, sizeof b);
    CHECK_STR(b, "2.5M");
    tocsin_format_reach(-1, b, sizeof b);
    CHECK_STR(b, "?");
}

/* A body as the engine's event.c builds it. */
static char *
make_body(int resolved, const char *long_text)
{
    struct tocsin_alert_event ev;
    tocsin_test_alert_event(&ev, resolved, "critical");
    const char *texts[3] = {
        "Stuck at the gate for 3 hours, no info \xf0\x9f\x98\xa1",
        long_text ? long_text : "Refunds? Anyone?", "third"};
    const char *authors[3] = {"@breaking_eu", "@jo", "@anon"};
    long long followers[3] = {140000, 1234, -1};
    for (int i = 0; i < 3; i++) {
        ev.samples[i].text = texts[i];
        ev.samples[i].author = authors[i];
        ev.samples[i].url = "https://social.example/p/1";
        ev.samples[i].id = "1";
        ev.samples[i].followers = followers[i];
        ev.samples[i].ts_ms = ev.starts_ms;
        ev.samples[i].negative = 1;
    }
    ev.nsamples = 3;
    if (long_text && strcmp(long_text, "with terms") == 0) {
        ev.terms[0] = "panne";
        ev.terms[1] = "#boycott";
        ev.nterms = 2;
    }
    snprintf(ev.delivery, sizeof ev.delivery, "d1");
    char *body = NULL;
    if (tocsin_event_body(&body, &ev, "oncall", "http://tocsin.example:9797") !=
        TOCSIN_OK)
        return NULL;
    return body;
}

static void
test_parse_and_title(void)
{
    char *body = make_body(0, NULL);
    REQUIRE(body);
    struct tocsin_message m;
    CHECK_OK(tocsin_message_parse(&m, body, strlen(body)));
    CHECK_STR(m.topic, "AirNova");
    CHECK_STR(m.severity, "critical");
    CHECK_STR(m.alertname, "MentionVolumeSpike");
    CHECK_STR(m.fingerprint, "5f0c1d2e3f405162");
    CHECK_STR(m.link, "http://tocsin.example:9797/alerts/5f0c1d2e3f405162");
    CHECK(!m.resolved);
    CHECK(m.nsamples == 3);
    char *t = tocsin_message_title(&m, 130, TOCSIN_UNIT_CHARS);
    CHECK_STR(t, "AirNova: volume 9.8\xc3\x97 normal, 71% negative");
    free(t);
    t = tocsin_message_text(&m, TOCSIN_TEXT_SUMMARY | TOCSIN_TEXT_LINK,
                            TOCSIN_MARKUP_PLAIN, 2, 4096, TOCSIN_UNIT_BYTES);
    CHECK_STR(t, "AirNova: volume 9.8\xc3\x97 normal, 71% negative\n"
                 "412 mentions in 10 min, 9.8\xc3\x97 the usual for this time "
                 "(42.0 expected); 71% negative (usual 12%)\n"
                 "\xe2\x80\xa2 @breaking_eu (140k): \xe2\x80\x9cStuck at the "
                 "gate for 3 hours, no info \xf0\x9f\x98\xa1\xe2\x80\x9d\n"
                 "\xe2\x80\xa2 @jo (1.2k): \xe2\x80\x9cRefunds? "
                 "Anyone?\xe2\x80\x9d\n"
                 "http://tocsin.example:9797/alerts/5f0c1d2e3f405162");
    free(t);
    tocsin_message_fini(&m);
    free(body);

    body = make_body(1, NULL);
    REQUIRE(body);
    CHECK_OK(tocsin_message_parse(&m, body, strlen(body)));
    CHECK(m.resolved);
    t = tocsin_message_title(&m, 130, TOCSIN_UNIT_CHARS);
    CHECK(strncmp(t, "Resolved: AirNova", 17) == 0);
    free(t);
    tocsin_message_fini(&m);
    free(body);

    /* The engine's emerging terms reach the message. */
    body = make_body(0, "with terms");
    REQUIRE(body);
    CHECK_OK(tocsin_message_parse(&m, body, strlen(body)));
    CHECK(m.nterms == 2);
    if (m.nterms == 2) {
        CHECK_STR(m.terms[0], "panne");
        CHECK_STR(m.terms[1], "#boycott");
    }
    tocsin_message_fini(&m);
    free(body);

    CHECK_ERR(tocsin_message_parse(&m, "{}", 2), TOCSIN_EINVAL);
    CHECK_ERR(tocsin_message_parse(&m, "nope", 4), TOCSIN_EINVAL);
}

/* A text shrinks to any budget, keeps the link while it can, and never
 * cuts a character. */
static void
test_text_fits_every_budget(void)
{
    char big[6000];
    size_t o = 0;
    while (o + 6 < sizeof big) { /* "é€" repeated */
        memcpy(big + o, "\xc3\xa9\xe2\x82\xac", 5);
        o += 5;
    }
    big[o] = '\0';
    char *body = make_body(0, big);
    REQUIRE(body);
    struct tocsin_message m;
    REQUIRE(tocsin_message_parse(&m, body, strlen(body)) == TOCSIN_OK);
    static const size_t budgets[] = {4096, 1024, 300, 130, 60, 10, 1};
    for (size_t k = 0; k < sizeof budgets / sizeof budgets[0]; k++)
        for (int u = 0; u < 3; u++) {
            enum tocsin_unit unit = (enum tocsin_unit)u;
            char *t =
                tocsin_message_text(&m, TOCSIN_TEXT_SUMMARY | TOCSIN_TEXT_LINK,
                                    TOCSIN_MARKUP_SLACK, 3, budgets[k], unit);
            REQUIRE(t);
            size_t len = strlen(t);
            CHECK(tocsin_utf8_length(t, len, unit) <= budgets[k]);
            /* No character is cut: in bytes, the whole text is a
             * complete prefix of itself, and nothing invalid precedes. */
            for (size_t i = 0; i < len;) {
                unsigned char ch = (unsigned char)t[i];
                size_t n = ch < 0x80 ? 1 : ch < 0xe0 ? 2 : ch < 0xf0 ? 3 : 4;
                CHECK((ch & 0xc0) != 0x80 && i + n <= len);
                i += n;
            }
            if (budgets[k] >= 300) /* room for the summary and the link */
                CHECK(strstr(t, "|Open in tocsin>") != NULL);
            free(t);
        }
    tocsin_message_fini(&m);
    free(body);
}

static void
test_slack_escapes(void)
{
    char *body = make_body(0, "a <b> & c");
    REQUIRE(body);
    struct tocsin_message m;
    REQUIRE(tocsin_message_parse(&m, body, strlen(body)) == TOCSIN_OK);
    char *t = tocsin_message_text(&m, 0, TOCSIN_MARKUP_SLACK, 2, 3000,
                                  TOCSIN_UNIT_CHARS);
    CHECK(strstr(t, "a &lt;b&gt; &amp; c") != NULL);
    free(t);
    tocsin_message_fini(&m);
    free(body);
}

/* On call's signed ack link: parsed, in every text while firing, kept
 * longer than the "Open" link when the budget is short. */
static void
test_ack_link_line(void)
{
    char *body = make_body(0, NULL);
    REQUIRE(body);
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    REQUIRE(o);
    json_object_set_new(
        json_array_get(json_object_get(o, "alerts"), 0), "tocsin_oncall",
        json_pack("{s:s}", "ack_url", "http://t.example/ack/T"));
    body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    struct tocsin_message m;
    REQUIRE(tocsin_message_parse(&m, body, strlen(body)) == TOCSIN_OK);
    CHECK_STR(m.ack_url, "http://t.example/ack/T");
    char *t = tocsin_message_text(&m, TOCSIN_TEXT_LINK, TOCSIN_MARKUP_PLAIN, 2,
                                  4096, TOCSIN_UNIT_BYTES);
    const char *tail = "/alerts/5f0c1d2e3f405162\n"
                       "Acknowledge: http://t.example/ack/T";
    CHECK(strlen(t) > strlen(tail) &&
          strcmp(t + strlen(t) - strlen(tail), tail) == 0);
    free(t);
    t = tocsin_message_text(&m, 0, TOCSIN_MARKUP_MARKDOWN, 0, 4096,
                            TOCSIN_UNIT_BYTES);
    CHECK(strstr(t, "[Acknowledge](http://t.example/ack/T)") != NULL);
    CHECK(strstr(t, "Open in tocsin") == NULL);
    free(t);
    /* Room for one link only: the ack link stays. */
    size_t budget = 40;
    t = tocsin_message_text(&m, TOCSIN_TEXT_LINK, TOCSIN_MARKUP_PLAIN, 2,
                            budget, TOCSIN_UNIT_BYTES);
    CHECK(strlen(t) <= budget);
    CHECK(strstr(t, "Acknowledge: http://t.example/ack/T") != NULL);
    CHECK(strstr(t, "/alerts/") == NULL);
    free(t);
    m.resolved = 1; /* nothing to acknowledge once resolved */
    t = tocsin_message_text(&m, TOCSIN_TEXT_LINK, TOCSIN_MARKUP_PLAIN, 2, 4096,
                            TOCSIN_UNIT_BYTES);
    CHECK(strstr(t, "Acknowledge") == NULL);
    free(t);
    tocsin_message_fini(&m);
    free(body);
}

/* A group's notification (on call): three alerts, each with its own ack
 * link, and two more truncated. */
static const char *group_body =
    "{\"version\":\"4\",\"status\":\"firing\",\"truncatedAlerts\":2,"
    "\"alerts\":["
    "{\"status\":\"firing\",\"fingerprint\":\"f1\",\"labels\":{\"topic\":"
    "\"acme\",\"severity\":\"critical\"},\"annotations\":{\"summary\":"
    "\"volume spike on acme\"},\"tocsin_oncall\":{\"ack_url\":"
    "\"https://t/ack/ONE\"}},"
    "{\"status\":\"firing\",\"fingerprint\":\"f2\",\"labels\":{\"topic\":"
    "\"acme\",\"severity\":\"warning\"},\"annotations\":{\"summary\":"
    "\"negativity on acme\"},\"tocsin_oncall\":{\"ack_url\":"
    "\"https://t/ack/TWO\"}},"
    "{\"status\":\"firing\",\"fingerprint\":\"f3\",\"labels\":{\"topic\":"
    "\"acme\",\"severity\":\"info\"},\"annotations\":{\"summary\":"
    "\"terms on acme\"},\"tocsin_oncall\":{\"ack_url\":"
    "\"https://t/ack/THREE\"}}]}";

static void
test_group_title_and_lines(void)
{
    struct tocsin_message m;
    REQUIRE(tocsin_message_parse(&m, group_body, strlen(group_body)) ==
            TOCSIN_OK);
    CHECK(m.nalerts == 3 && m.total == 5);
    CHECK_STR(m.alerts[1].ack_url, "https://t/ack/TWO");
    CHECK_STR(m.ack_url, "https://t/ack/ONE"); /* the most severe's */
    char *t = tocsin_message_title(&m, 200, TOCSIN_UNIT_CHARS);
    CHECK_STR(t, "5 alerts: volume spike on acme (critical), negativity on "
                 "acme (warning), terms on acme (info)");
    free(t);
    t = tocsin_message_title(&m, 30, TOCSIN_UNIT_CHARS);
    CHECK(strncmp(t, "5 alerts: volume spike", 22) == 0);
    free(t);
    t = tocsin_message_text(&m, 0, TOCSIN_MARKUP_PLAIN, 3, 4096,
                            TOCSIN_UNIT_BYTES);
    CHECK_STR(t, "\xe2\x80\xa2 volume spike on acme (critical)\n"
                 "  Acknowledge: https://t/ack/ONE\n"
                 "\xe2\x80\xa2 negativity on acme (warning)\n"
                 "  Acknowledge: https://t/ack/TWO\n"
                 "\xe2\x80\xa2 terms on acme (info)\n"
                 "  Acknowledge: https://t/ack/THREE\n"
                 "+2 more");
    free(t);
    t = tocsin_message_text(&m, TOCSIN_TEXT_SUMMARY, TOCSIN_MARKUP_SLACK, 3,
                            4096, TOCSIN_UNIT_CHARS);
    CHECK(strncmp(t, "5 alerts\n\xe2\x80\xa2 volume spike on acme (critical) "
                     "<https://t/ack/ONE|Acknowledge>",
                  strlen("5 alerts\n\xe2\x80\xa2 volume spike on acme "
                         "(critical) <https://t/ack/ONE|Acknowledge>")) == 0);
    free(t);
    /* short budgets: the last alerts' links go first, the first's stays */
    t = tocsin_message_text(&m, 0, TOCSIN_MARKUP_MARKDOWN, 3, 150,
                            TOCSIN_UNIT_CHARS);
    REQUIRE(t);
    CHECK(strlen(t) <= 150);
    CHECK(strstr(t, "(https://t/ack/ONE)") != NULL);
    CHECK(strstr(t, "THREE") == NULL);
    free(t);
    for (size_t max = 0; max < 260; max += 7) {
        t = tocsin_message_text(&m, 0, TOCSIN_MARKUP_PLAIN, 3, max,
                                TOCSIN_UNIT_CHARS);
        REQUIRE(t);
        CHECK(tocsin_utf8_length(t, strlen(t), TOCSIN_UNIT_CHARS) <= max);
        free(t);
    }
    tocsin_message_fini(&m);
}

TOCSIN_TESTS(TOCSIN_TEST(test_prefix_never_cuts_a_character),
             TOCSIN_TEST(test_ellipsize), TOCSIN_TEST(test_reach),
             TOCSIN_TEST(test_ack_link_line), TOCSIN_TEST(test_parse_and_title),
             TOCSIN_TEST(test_text_fits_every_budget),
             TOCSIN_TEST(test_slack_escapes),
             TOCSIN_TEST(test_group_title_and_lines));
