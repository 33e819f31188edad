/*
 * receiver_test.c: each receiver driver builds the request its gateway
 * documents (method, URL, headers, body fields), judges answers as the
 * gateway documents, and Apprise URLs and log redaction work.  Pure: no
 * network (notify_test sends through real HTTP servers).
 */
#include <jansson.h>
#include <stdlib.h>

#include "alert_fixture.h"
#include "request_fixture.h"
#include "tocsin/engine.h"
#include "tocsin/event.h"
#include "tocsin/message.h"
#include "tocsin/receiver.h"
#include "tocsin/sign.h"
#include "tocsin_test.h"

#define FP  TOCSIN_TEST_FP
#define EXT "http://tocsin.example:9797"

static char *
make_body(int resolved, const char *severity)
{
    return tocsin_test_alert_body(resolved, severity,
                                  "Stuck at the gate <3 hours> & no info", EXT);
}

static struct tocsin_receiver_config
rcfg(enum tocsin_receiver_type t, const char *url)
{
    struct tocsin_receiver_config r;
    memset(&r, 0, sizeof r);
    r.name = "r";
    r.type = t;
    r.url = (char *)url;
    return r;
}

/* A Pushover receiver with its application token and user key. */
static struct tocsin_receiver_config
pushover_cfg(void)
{
    struct tocsin_receiver_config r = rcfg(TOCSIN_RECEIVER_PUSHOVER, NULL);
    r.token = "apptoken";
    r.user = "userkey";
    return r;
}

/* Build step `step` for body; the parsed JSON body (or NULL) in *json. */
static struct tocsin_request *
build(const struct tocsin_receiver_config *r, const char *body, unsigned step,
      json_t **json)
{
    struct tocsin_request *q = NULL;
    tocsin_err e = tocsin_receiver_request(&q, r, "d-1", body, strlen(body),
                                           step, 1795000000123LL);
    if (e != TOCSIN_OK) {
        fprintf(stderr, "build: %s\n", tocsin_strerror(e));
        return NULL;
    }
    if (json) {
        json_error_t je;
        *json = json_loadb(q->body, q->body_len, 0, &je);
    }
    return q;
}

static const char *
jstr(json_t *o, const char *path)
{
    /* "a.b.0.c" */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = o;
    for (char *tok = strtok(buf, "."); tok && v; tok = strtok(NULL, ".")) {
        if (json_is_array(v))
            v = json_array_get(v, (size_t)atoi(tok));
        else
            v = json_object_get(v, tok);
    }
    return json_string_value(v);
}

static long long
jint(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static int
no_step(const struct tocsin_receiver_config *r, const char *body, unsigned step)
{
    struct tocsin_request *q = NULL;
    return tocsin_receiver_request(&q, r, "d-1", body, strlen(body), step, 0) ==
           TOCSIN_ENOENT;
}

static void
test_webhook_unchanged_and_signed(void)
{
    struct tocsin_receiver_config r =
        rcfg(TOCSIN_RECEIVER_WEBHOOK, "http://h:1/hook");
    r.secret = "s3cret";
    const char *body = "{\"not\":\"an alert\"}";
    struct tocsin_request *q = build(&r, body, 0, NULL);
    REQUIRE(q);
    CHECK_STR(q->method, "POST");
    CHECK_STR(q->url, "http://h:1/hook");
    CHECK_STR(q->body, body);
    CHECK_STR(tocsin_test_header(q, "Content-Type"), "application/json");
    CHECK_STR(tocsin_test_header(q, "X-Tocsin-Delivery"), "d-1");
    char want[TOCSIN_SIGN_MAX];
    CHECK_OK(tocsin_sign_webhook("s3cret", 1795000000, body, strlen(body), want,
                                 sizeof want));
    CHECK_STR(tocsin_test_header(q, "X-Tocsin-Signature"), want);
    tocsin_request_free(q);
    CHECK(no_step(&r, body, 1));
}

static void
test_ntfy(void)
{
    struct tocsin_receiver_config r =
        rcfg(TOCSIN_RECEIVER_NTFY, "https://ntfy.example/");
    r.topic = "crisis";
    r.token = "tk_abc";
    char *body = make_body(0, "critical");
    json_t *j = NULL;
    struct tocsin_request *q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(q->url, "https://ntfy.example");
    CHECK_STR(tocsin_test_header(q, "Authorization"), "Bearer tk_abc");
    CHECK_STR(tocsin_test_header(q, "Content-Type"), "application/json");
    CHECK_STR(jstr(j, "topic"), "crisis");
    CHECK_STR(jstr(j, "title"), "AirNova: volume 9.8\xc3\x97 normal, 71% "
                                "negative");
    CHECK(jint(j, "priority") == 5);
    CHECK_STR(jstr(j, "tags.0"), "rotating_light");
    CHECK_STR(jstr(j, "click"), EXT "/alerts/" FP);
    CHECK_STR(jstr(j, "actions.0.action"), "view");
    CHECK_STR(jstr(j, "actions.1.action"), "http");
    CHECK_STR(jstr(j, "actions.1.label"), "Acknowledge");
    CHECK_STR(jstr(j, "actions.1.url"), EXT "/ack/" FP);
    CHECK_STR(jstr(j, "actions.1.method"), "POST");
    CHECK_STR(jstr(j, "sequence_id"), FP);
    CHECK(strstr(jstr(j, "message"), "@breaking_eu (140k)") != NULL);
    CHECK(strlen(jstr(j, "message")) <= 4096);
    json_decref(j);
    tocsin_request_free(q);

    /* ack_url with a placeholder; priority_map; basic auth; resolved */
    r.token = NULL;
    r.user = "u";
    r.password = "p";
    r.ack_url = "https://ack.example/a?fp={fingerprint}&x=1";
    r.priority[TOCSIN_PRIO_WARNING] = 3;
    r.priority_set = 1u << TOCSIN_PRIO_WARNING;
    free(body);
    body = make_body(0, "warning");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(tocsin_test_header(q, "Authorization"), "Basic dTpw");
    CHECK(jint(j, "priority") == 3);
    CHECK_STR(jstr(j, "tags.0"), "warning");
    CHECK_STR(jstr(j, "actions.1.url"), "https://ack.example/a?fp=" FP "&x=1");
    json_decref(j);
    tocsin_request_free(q);
    free(body);
    body = make_body(1, "critical");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK(jint(j, "priority") == 2);
    CHECK_STR(jstr(j, "tags.0"), "white_check_mark");
    CHECK(strncmp(jstr(j, "title"), "Resolved: ", 10) == 0);
    CHECK(json_array_size(json_object_get(j, "actions")) == 1); /* no ack */
    /* The same sequence id as the firing event: ntfy updates it in place. */
    CHECK_STR(jstr(j, "sequence_id"), FP);
    json_decref(j);
    tocsin_request_free(q);
    free(body);
}

static void
test_slack(void)
{
    struct tocsin_receiver_config r = rcfg(
        TOCSIN_RECEIVER_SLACK, "https://hooks.slack.com/services/T1/B2/X3");
    char *body = make_body(0, "critical");
    json_t *j = NULL;
    struct tocsin_request *q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(q->url, "https://hooks.slack.com/services/T1/B2/X3");
    CHECK_STR(jstr(j, "text"), "AirNova: volume 9.8\xc3\x97 normal, 71% "
                               "negative");
    CHECK_STR(jstr(j, "blocks.0.type"), "header");
    CHECK_STR(jstr(j, "blocks.0.text.type"), "plain_text");
    CHECK(strstr(jstr(j, "blocks.0.text.text"), "AirNova") != NULL);
    CHECK_STR(jstr(j, "blocks.1.type"), "section");
    CHECK_STR(jstr(j, "blocks.1.text.type"), "mrkdwn");
    CHECK(strstr(jstr(j, "blocks.1.text.text"),
                 "&lt;3 hours&gt; &amp; no info") != NULL);
    CHECK_STR(jstr(j, "blocks.2.type"), "context");
    CHECK_STR(jstr(j, "blocks.3.elements.0.type"), "button");
    CHECK_STR(jstr(j, "blocks.3.elements.0.url"), EXT "/alerts/" FP);
    json_decref(j);
    tocsin_request_free(q);
    free(body);
}

static void
test_pagerduty_trigger_and_resolve(void)
{
    struct tocsin_receiver_config r = rcfg(TOCSIN_RECEIVER_PAGERDUTY, NULL);
    r.token = "0123456789abcdef0123456789abcdef";
    char *body = make_body(0, "critical");
    json_t *j = NULL;
    struct tocsin_request *q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(q->url, "https://events.pagerduty.com/v2/enqueue");
    CHECK_STR(jstr(j, "routing_key"), "0123456789abcdef0123456789abcdef");
    CHECK_STR(jstr(j, "event_action"), "trigger");
    CHECK_STR(jstr(j, "dedup_key"), FP);
    CHECK_STR(jstr(j, "payload.summary"),
              "AirNova: volume 9.8\xc3\x97 normal, 71% negative");
    CHECK_STR(jstr(j, "payload.source"), "tocsin");
    CHECK_STR(jstr(j, "payload.severity"), "critical");
    CHECK_STR(jstr(j, "payload.component"), "AirNova");
    CHECK_STR(jstr(j, "payload.class"), "MentionVolumeSpike");
    CHECK_STR(jstr(j, "payload.timestamp"), "2026-11-18T11:06:40.000Z");
    CHECK_STR(jstr(j, "payload.custom_details.samples.0.author"),
              "@breaking_eu");
    CHECK_STR(jstr(j, "links.0.href"), EXT "/alerts/" FP);
    CHECK_STR(jstr(j, "client_url"), EXT);
    json_decref(j);
    tocsin_request_free(q);
    free(body);

    body = make_body(1, "critical");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(jstr(j, "event_action"), "resolve");
    CHECK_STR(jstr(j, "dedup_key"), FP);
    CHECK(json_object_size(j) == 3);
    json_decref(j);
    tocsin_request_free(q);
    free(body);
    /* An unknown severity becomes one PagerDuty knows. */
    body = make_body(0, "page-me");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(jstr(j, "payload.severity"), "warning");
    json_decref(j);
    tocsin_request_free(q);
    free(body);
}

static void
test_telegram(void)
{
    struct tocsin_receiver_config r =
        rcfg(TOCSIN_RECEIVER_TELEGRAM, "http://127.0.0.1:9");
    r.token = "123:ABC";
    r.chat_id = "-100200";
    char *body = make_body(0, "critical");
    json_t *j = NULL;
    struct tocsin_request *q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(q->url, "http://127.0.0.1:9/bot123:ABC/sendMessage");
    CHECK(json_integer_value(json_object_get(j, "chat_id")) == -100200);
    const char *text = jstr(j, "text");
    CHECK(strncmp(text, "AirNova: volume", 15) == 0);
    CHECK(strstr(text, EXT "/alerts/" FP) != NULL);
    CHECK(json_is_true(json_object_get(
        json_object_get(j, "link_preview_options"), "is_disabled")));
    CHECK(json_is_false(json_object_get(j, "disable_notification")));
    json_decref(j);
    tocsin_request_free(q);
    r.chat_id = "@channel";
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(jstr(j, "chat_id"), "@channel");
    json_decref(j);
    tocsin_request_free(q);
    free(body);
}

static void
test_pushover_emergency_and_cancel(void)
{
    struct tocsin_receiver_config r = pushover_cfg();
    r.ack_url = "https://tocsin.example/ack";
    char *body = make_body(0, "critical");
    struct tocsin_request *q = build(&r, body, 0, NULL);
    REQUIRE(q);
    CHECK_STR(q->url, "https://api.pushover.net/1/messages.json");
    CHECK_STR(tocsin_test_header(q, "Content-Type"),
              "application/x-www-form-urlencoded");
    CHECK(strncmp(q->body,
                  "token=apptoken&user=userkey&title=AirNova%3A%20volume%20"
                  "9.8%C3%97%20normal%2C%2071%25%20negative&message=",
                  100) == 0);
    CHECK(strstr(q->body, "&priority=2&retry=60&expire=3600&tags=" FP
                          "&callback=https%3A%2F%2Ftocsin.example%2Fack%2F" FP
                          "&url=") != NULL);
    CHECK(no_step(&r, body, 1));
    tocsin_request_free(q);
    free(body);

    /* Resolved: step 0 cancels the emergency retries, step 1 says so. */
    body = make_body(1, "critical");
    q = build(&r, body, 0, NULL);
    REQUIRE(q);
    CHECK_STR(q->url,
              "https://api.pushover.net/1/receipts/cancel_by_tag/" FP ".json");
    CHECK_STR(q->body, "token=apptoken");
    tocsin_request_free(q);
    q = build(&r, body, 1, NULL);
    REQUIRE(q);
    CHECK_STR(q->url, "https://api.pushover.net/1/messages.json");
    CHECK(strstr(q->body, "title=Resolved%3A%20AirNova") != NULL);
    CHECK(strstr(q->body, "&priority=0") != NULL);
    CHECK(strstr(q->body, "retry=") == NULL);
    tocsin_request_free(q);
    CHECK(no_step(&r, body, 2));
    /* A cancel that finds nothing to cancel does not stop the message. */
    CHECK(tocsin_receiver_verdict(&r, 0, 400, "", 0, NULL) ==
          TOCSIN_VERDICT_OK);
    CHECK(tocsin_receiver_verdict(&r, 1, 400, "", 0, NULL) ==
          TOCSIN_VERDICT_FAIL);
    free(body);

    /* A warning is not an emergency: one step, no cancel. */
    body = make_body(1, "warning");
    q = build(&r, body, 0, NULL);
    REQUIRE(q);
    CHECK_STR(q->url, "https://api.pushover.net/1/messages.json");
    tocsin_request_free(q);
    CHECK(no_step(&r, body, 1));
    free(body);
}

/* A body as on call makes it: alerts[0].tocsin_oncall.ack_url is the
 * alert's signed link. */
#define SIGNED EXT "/ack/eyJhbGVydCI.c2lnbmVk"

static char *
make_oncall_body(int resolved, const char *severity)
{
    char *body = make_body(resolved, severity);
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    json_t *al = json_array_get(json_object_get(o, "alerts"), 0);
    json_object_set_new(
        al, "tocsin_oncall",
        json_pack("{s:s,s:s}", "kind", "escalation", "ack_url", SIGNED));
    body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return body;
}

static void
test_oncall_ack_link(void)
{
    /* ntfy: the Acknowledge action uses the signed link, not the template. */
    struct tocsin_receiver_config r =
        rcfg(TOCSIN_RECEIVER_NTFY, "https://ntfy.example/");
    r.topic = "crisis";
    r.ack_url = "https://ack.example/a?fp={fingerprint}";
    char *body = make_oncall_body(0, "critical");
    json_t *j = NULL;
    struct tocsin_request *q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(jstr(j, "actions.1.label"), "Acknowledge");
    CHECK_STR(jstr(j, "actions.1.url"), SIGNED);
    CHECK_STR(jstr(j, "actions.1.method"), "POST");
    json_decref(j);
    tocsin_request_free(q);

    /* Pushover: the emergency callback and the url, without any ack_url
     * in the receiver's configuration. */
    r = pushover_cfg();
    q = build(&r, body, 0, NULL);
    REQUIRE(q);
    CHECK(strstr(q->body, "&callback=http%3A%2F%2Ftocsin.example%3A9797%2Fack"
                          "%2FeyJhbGVydCI.c2lnbmVk") != NULL);
    CHECK(strstr(q->body,
                 "&url=http%3A%2F%2Ftocsin.example%3A9797%2Fack%2F"
                 "eyJhbGVydCI.c2lnbmVk&url_title=Acknowledge") != NULL);
    tocsin_request_free(q);
    free(body);
    body = make_oncall_body(0, "warning"); /* not an emergency: no callback */
    q = build(&r, body, 0, NULL);
    REQUIRE(q);
    CHECK(strstr(q->body, "callback=") == NULL);
    CHECK(strstr(q->body, "url_title=Acknowledge") != NULL);
    tocsin_request_free(q);
    free(body);

    /* A chat message carries the link as a line of its own. */
    r = rcfg(TOCSIN_RECEIVER_MATTERMOST, "https://mm.example/hooks/xyz");
    body = make_oncall_body(0, "critical");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK(strstr(jstr(j, "text"), "[Acknowledge](" SIGNED ")") != NULL);
    json_decref(j);
    tocsin_request_free(q);
    /* Even where the text has no "Open" link (Slack has a button). */
    r = rcfg(TOCSIN_RECEIVER_SLACK, "https://hooks.slack.com/services/T/B/X");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK(strstr(jstr(j, "blocks.1.text.text"), "<" SIGNED "|Acknowledge>") !=
          NULL);
    json_decref(j);
    tocsin_request_free(q);
    free(body);
    /* Resolved: nothing left to acknowledge. */
    body = make_oncall_body(1, "critical");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK(strstr(q->body, "Acknowledge") == NULL);
    json_decref(j);
    tocsin_request_free(q);
    free(body);
}

/* A group's message from on call: ntfy gets one Acknowledge button per
 * alert (three at most, most severe first) and no sequence_id; Pushover's
 * emergency callback acknowledges the most severe; a chat lists them. */
static void
test_oncall_group_message(void)
{
    const char *body =
        "{\"version\":\"4\",\"status\":\"firing\",\"truncatedAlerts\":0,"
        "\"externalURL\":\"http://t\",\"alerts\":["
        "{\"status\":\"firing\",\"fingerprint\":\"f1\",\"labels\":{\"topic\":"
        "\"acme\",\"severity\":\"critical\"},\"annotations\":{\"summary\":"
        "\"acme: volume 9x\"},\"tocsin_oncall\":{\"ack_url\":\"http://t/ack/1\"}},"
        "{\"status\":\"firing\",\"fingerprint\":\"f2\",\"labels\":{\"topic\":"
        "\"acme\",\"severity\":\"warning\"},\"annotations\":{\"summary\":"
        "\"acme: 60% negative\"},\"tocsin_oncall\":{\"ack_url\":\"http://t/ack/2\"}},"
        "{\"status\":\"firing\",\"fingerprint\":\"f3\",\"labels\":{\"topic\":"
        "\"bolt\",\"severity\":\"info\"},\"annotations\":{\"summary\":"
        "\"bolt: terms\"},\"tocsin_oncall\":{\"ack_url\":\"http://t/ack/3\"}},"
        "{\"status\":\"firing\",\"fingerprint\":\"f4\",\"labels\":{\"topic\":"
        "\"bolt\",\"severity\":\"info\"},\"annotations\":{\"summary\":"
        "\"bolt: more\"},\"tocsin_oncall\":{\"ack_url\":\"http://t/ack/4\"}}]}";
    struct tocsin_receiver_config r =
        rcfg(TOCSIN_RECEIVER_NTFY, "https://ntfy.example/");
    r.topic = "crisis";
    json_t *j = NULL;
    struct tocsin_request *q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    json_t *acts = json_object_get(j, "actions");
    CHECK(json_array_size(acts) == 3);
    CHECK_STR(jstr(j, "actions.0.label"), "Ack acme (critical)");
    CHECK_STR(jstr(j, "actions.0.url"), "http://t/ack/1");
    CHECK_STR(jstr(j, "actions.1.url"), "http://t/ack/2");
    CHECK_STR(jstr(j, "actions.2.url"), "http://t/ack/3");
    CHECK(json_object_get(j, "sequence_id") == NULL);
    CHECK(strncmp(jstr(j, "title"), "4 alerts: acme: volume 9x (critical)",
                  36) == 0);
    CHECK(strstr(jstr(j, "message"), "Acknowledge: http://t/ack/4") != NULL);
    json_decref(j);
    tocsin_request_free(q);

    r = pushover_cfg();
    q = build(&r, body, 0, NULL);
    REQUIRE(q);
    CHECK(strstr(q->body, "&callback=http%3A%2F%2Ft%2Fack%2F1&") != NULL);
    tocsin_request_free(q);

    r = rcfg(TOCSIN_RECEIVER_SLACK, "https://hooks.slack.com/services/T/B/X");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK(strstr(q->body, "<http://t/ack/2|Acknowledge>") != NULL);
    json_decref(j);
    tocsin_request_free(q);
}

/* On call's poll of a Pushover emergency: reads the kept receipt; an
 * acknowledgement in the app waits for the main thread, once. */
static void
test_pushover_poll_takes_app_acks(void)
{
    struct tocsin_receiver_config r = pushover_cfg();
    r.name = "pager";
    const char *poll = "{\"alerts\":[{\"status\":\"firing\",\"fingerprint\":"
                       "\"" FP "\",\"labels\":{},\"tocsin_oncall\":{\"kind\":"
                       "\"poll\"}}]}";
    char *by = NULL;
    CHECK(no_step(&r, poll, 0)); /* no receipt kept: nothing to read */
    char *body = make_body(0, "critical");
    const char *sent = "{\"status\":1,\"receipt\":\"rcpt9\"}";
    CHECK_OK(tocsin_receiver_absorb(&r, body, strlen(body), 0, sent,
                                    strlen(sent), 1795000000000LL));
    struct tocsin_request *q = build(&r, poll, 0, NULL);
    REQUIRE(q);
    CHECK_STR(q->method, "GET");
    CHECK_STR(q->url,
              "https://api.pushover.net/1/receipts/rcpt9.json?token=apptoken");
    CHECK(q->absorb);
    tocsin_request_free(q);
    CHECK(no_step(&r, poll, 1));
    const char *no = "{\"status\":1,\"acknowledged\":0}";
    CHECK_OK(tocsin_receiver_absorb(&r, poll, strlen(poll), 0, no, strlen(no),
                                    1795000001000LL));
    CHECK_ERR(tocsin_receiver_take_ack(FP, 1795000001000LL, &by),
              TOCSIN_ENOENT);
    const char *yes = "{\"status\":1,\"acknowledged\":1,"
                      "\"acknowledged_by_device\":\"pixel-7\"}";
    CHECK_OK(tocsin_receiver_absorb(&r, poll, strlen(poll), 0, yes, strlen(yes),
                                    1795000002000LL));
    CHECK_OK(tocsin_receiver_take_ack(FP, 1795000002000LL, &by));
    CHECK_STR(by, "pushover (pixel-7)");
    free(by);
    CHECK_ERR(tocsin_receiver_take_ack(FP, 1795000002000LL, &by),
              TOCSIN_ENOENT);
    CHECK(no_step(&r, poll, 0)); /* acknowledged: no more reads */
    free(body);
}

static void
test_discord_mattermost_teams_gotify(void)
{
    char *body = make_body(0, "critical");
    json_t *j = NULL;
    struct tocsin_receiver_config r =
        rcfg(TOCSIN_RECEIVER_DISCORD, "https://discord.com/api/webhooks/1/tok");
    struct tocsin_request *q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(q->url, "https://discord.com/api/webhooks/1/tok");
    CHECK(strncmp(jstr(j, "content"), "AirNova", 7) == 0);
    CHECK(strncmp(jstr(j, "embeds.0.title"), "AirNova", 7) == 0);
    CHECK_STR(jstr(j, "embeds.0.url"), EXT "/alerts/" FP);
    CHECK(jint(json_array_get(json_object_get(j, "embeds"), 0), "color") ==
          0xE01E5A);
    CHECK(json_array_size(json_object_get(
              json_object_get(j, "allowed_mentions"), "parse")) == 0);
    json_decref(j);
    tocsin_request_free(q);

    r = rcfg(TOCSIN_RECEIVER_MATTERMOST, "https://mm.example/hooks/xyz");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK(strncmp(jstr(j, "text"), "#### AirNova", 12) == 0);
    CHECK(strstr(jstr(j, "text"), "[Open in tocsin](" EXT) != NULL);
    json_decref(j);
    tocsin_request_free(q);

    r = rcfg(TOCSIN_RECEIVER_MSTEAMS, "https://prod.example/workflows/x");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(jstr(j, "type"), "message");
    CHECK_STR(jstr(j, "attachments.0.contentType"),
              "application/vnd.microsoft.card.adaptive");
    CHECK(json_is_null(json_object_get(
        json_array_get(json_object_get(j, "attachments"), 0), "contentUrl")));
    CHECK_STR(jstr(j, "attachments.0.content.type"), "AdaptiveCard");
    CHECK_STR(jstr(j, "attachments.0.content.body.0.type"), "TextBlock");
    CHECK_STR(jstr(j, "attachments.0.content.actions.0.type"),
              "Action.OpenUrl");
    json_decref(j);
    tocsin_request_free(q);

    r = rcfg(TOCSIN_RECEIVER_GOTIFY, "https://gotify.example/sub/");
    r.token = "AppTok";
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(q->url, "https://gotify.example/sub/message");
    CHECK_STR(tocsin_test_header(q, "X-Gotify-Key"), "AppTok");
    CHECK(jint(j, "priority") == 8);
    CHECK_STR(jstr(j, "extras.client::notification.click.url"),
              EXT "/alerts/" FP);
    json_decref(j);
    tocsin_request_free(q);
    free(body);
}

static void
test_opsgenie_create_and_close(void)
{
    struct tocsin_receiver_config r =
        rcfg(TOCSIN_RECEIVER_OPSGENIE, "https://api.eu.opsgenie.com");
    r.token = "genie";
    char *body = make_body(0, "critical");
    json_t *j = NULL;
    struct tocsin_request *q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(q->url, "https://api.eu.opsgenie.com/v2/alerts");
    CHECK_STR(tocsin_test_header(q, "Authorization"), "GenieKey genie");
    CHECK_STR(jstr(j, "alias"), FP);
    CHECK_STR(jstr(j, "priority"), "P1");
    CHECK(tocsin_utf8_length(jstr(j, "message"), strlen(jstr(j, "message")),
                             TOCSIN_UNIT_CHARS) <= 130);
    CHECK_STR(jstr(j, "entity"), "AirNova");
    json_decref(j);
    tocsin_request_free(q);
    free(body);
    body = make_body(1, "critical");
    q = build(&r, body, 0, &j);
    REQUIRE(q && j);
    CHECK_STR(q->url, "https://api.eu.opsgenie.com/v2/alerts/" FP
                      "/close?identifierType=alias");
    CHECK_STR(jstr(j, "source"), "tocsin");
    json_decref(j);
    tocsin_request_free(q);
    free(body);
}

/* The chat webhooks post once, to their url as it is; no url, no post. */
static void
test_chat_webhooks_one_post_to_their_url(void)
{
    static const enum tocsin_receiver_type types[] = {
        TOCSIN_RECEIVER_SLACK, TOCSIN_RECEIVER_DISCORD,
        TOCSIN_RECEIVER_MATTERMOST, TOCSIN_RECEIVER_MSTEAMS};
    char *body = make_body(0, "critical");
    REQUIRE(body);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        struct tocsin_receiver_config r = rcfg(types[i], "https://chat.x/h/");
        struct tocsin_request *q = build(&r, body, 0, NULL);
        REQUIRE(q);
        CHECK_STR(q->url, "https://chat.x/h");
        CHECK_STR(q->method, "POST");
        tocsin_request_free(q);
        CHECK(no_step(&r, body, 1));
        r.url = NULL;
        q = NULL;
        CHECK_ERR(
            tocsin_receiver_request(&q, &r, "d-1", body, strlen(body), 0, 0),
            TOCSIN_EINVAL);
        CHECK(q == NULL);
    }
    free(body);
}

static void
test_bad_body_is_einval(void)
{
    struct tocsin_receiver_config r = rcfg(TOCSIN_RECEIVER_SLACK, "http://h/");
    struct tocsin_request *q = NULL;
    CHECK_ERR(tocsin_receiver_request(&q, &r, "d", "{}", 2, 0, 0),
              TOCSIN_EINVAL);
    CHECK(q == NULL);
}

static void
test_verdicts(void)
{
    struct tocsin_receiver_config r = rcfg(TOCSIN_RECEIVER_TELEGRAM, NULL);
    int64_t wait = 0;
    const char *tg = "{\"ok\":false,\"error_code\":429,\"description\":"
                     "\"Too Many Requests: retry after 35\",\"parameters\":"
                     "{\"retry_after\":35}}";
    CHECK(tocsin_receiver_verdict(&r, 0, 429, tg, strlen(tg), &wait) ==
          TOCSIN_VERDICT_RETRY);
    CHECK(wait == 35000);
    r.type = TOCSIN_RECEIVER_DISCORD;
    const char *dc = "{\"message\": \"You are being rate limited.\", "
                     "\"retry_after\": 1.5, \"global\": false}";
    CHECK(tocsin_receiver_verdict(&r, 0, 429, dc, strlen(dc), &wait) ==
          TOCSIN_VERDICT_RETRY);
    CHECK(wait == 1500);
    CHECK(tocsin_receiver_verdict(&r, 0, 204, "", 0, &wait) ==
          TOCSIN_VERDICT_OK);
    CHECK(wait == -1);
    CHECK(tocsin_receiver_verdict(&r, 0, 503, "", 0, &wait) ==
          TOCSIN_VERDICT_RETRY);
    CHECK(tocsin_receiver_verdict(&r, 0, 404, "", 0, &wait) ==
          TOCSIN_VERDICT_FAIL);
}

/* What an Apprise URL parses into; a NULL part is not checked. */
static const struct {
    const char *in;
    enum tocsin_receiver_type type;
    const char *url, *topic, *token, *user, *password, *device, *chat_id;
} apprise_ok[] = {
    {"ntfys://tk_1@ntfy.example/alerts", TOCSIN_RECEIVER_NTFY,
     .url = "https://ntfy.example", .topic = "alerts", .token = "tk_1"},
    {"ntfy://u:p@host:8080/t", TOCSIN_RECEIVER_NTFY, .url = "http://host:8080",
     .user = "u", .password = "p"},
    {"ntfy://mytopic", TOCSIN_RECEIVER_NTFY, .url = "https://ntfy.sh",
     .topic = "mytopic"},
    {"pover://ukey@atoken/phone", TOCSIN_RECEIVER_PUSHOVER, .user = "ukey",
     .token = "atoken", .device = "phone"},
    {"gotifys://g.example/sub/Tok", TOCSIN_RECEIVER_GOTIFY,
     .url = "https://g.example/sub", .token = "Tok"},
    {"slack://T1/B2/X3/#ops", TOCSIN_RECEIVER_SLACK,
     .url = "https://hooks.slack.com/services/T1/B2/X3"},
    {"tgram://123:ABC/-100200", TOCSIN_RECEIVER_TELEGRAM, .token = "123:ABC",
     .chat_id = "-100200"},
    {"discord://111/tok", TOCSIN_RECEIVER_DISCORD,
     .url = "https://discord.com/api/webhooks/111/tok"},
    {"pagerduty://ikey@akey", TOCSIN_RECEIVER_PAGERDUTY, .token = "ikey"},
    {"mmosts://mm.example/abc", TOCSIN_RECEIVER_MATTERMOST,
     .url = "https://mm.example/hooks/abc"},
    {"opsgenie://key", TOCSIN_RECEIVER_OPSGENIE,
     .url = "https://api.opsgenie.com"},
    {"json://h:81/x/y", TOCSIN_RECEIVER_WEBHOOK, .url = "http://h:81/x/y"},
};

static void
test_apprise_urls(void)
{
    struct tocsin_apprise a;
    char why[160];
    for (size_t i = 0; i < sizeof apprise_ok / sizeof apprise_ok[0]; i++) {
        int before = tocsin_test_failed_checks;
        REQUIRE(tocsin_apprise_parse(apprise_ok[i].in, &a, why, sizeof why) ==
                TOCSIN_OK);
        CHECK(a.type == apprise_ok[i].type);
        const char *got[] = {a.url,      a.topic,  a.token,  a.user,
                             a.password, a.device, a.chat_id};
        const char *want[] = {apprise_ok[i].url,      apprise_ok[i].topic,
                              apprise_ok[i].token,    apprise_ok[i].user,
                              apprise_ok[i].password, apprise_ok[i].device,
                              apprise_ok[i].chat_id};
        for (size_t k = 0; k < sizeof got / sizeof got[0]; k++)
            if (want[k])
                CHECK_STR(got[k], want[k]);
        if (tocsin_test_failed_checks != before)
            fprintf(stderr, "  in %s\n", apprise_ok[i].in);
        tocsin_apprise_fini(&a);
    }
    CHECK_ERR(tocsin_apprise_parse("tgram://onlytoken", &a, why, 160),
              TOCSIN_EINVAL);
    CHECK_STR(why, "expected tgram://BOTTOKEN/CHAT_ID");
    CHECK(!tocsin_apprise_scheme("https://h/"));
    CHECK(tocsin_apprise_scheme("PoVeR://u@t"));
}

static void
test_redaction(void)
{
    char b[256];
    struct tocsin_receiver_config r = rcfg(TOCSIN_RECEIVER_SLACK, NULL);
    tocsin_receiver_redact(&r, "https://hooks.slack.com/services/T1/B2/X3", b,
                           sizeof b);
    CHECK_STR(b, "https://hooks.slack.com/REDACTED");
    r.type = TOCSIN_RECEIVER_TELEGRAM;
    tocsin_receiver_redact(&r, "https://u:p@api.telegram.org/bot1:A/x", b,
                           sizeof b);
    CHECK_STR(b, "https://api.telegram.org/REDACTED");
    r.type = TOCSIN_RECEIVER_NTFY;
    tocsin_receiver_redact(&r, "https://ntfy.example", b, sizeof b);
    CHECK_STR(b, "https://ntfy.example");
    tocsin_receiver_redact(&r, "tgram://123:ABC/5", b, sizeof b);
    CHECK_STR(b, "tgram://REDACTED");
}

TOCSIN_TESTS(TOCSIN_TEST(test_webhook_unchanged_and_signed),
             TOCSIN_TEST(test_ntfy), TOCSIN_TEST(test_slack),
             TOCSIN_TEST(test_pagerduty_trigger_and_resolve),
             TOCSIN_TEST(test_telegram),
             TOCSIN_TEST(test_pushover_emergency_and_cancel),
             TOCSIN_TEST(test_oncall_ack_link),
             TOCSIN_TEST(test_oncall_group_message),
             TOCSIN_TEST(test_pushover_poll_takes_app_acks),
             TOCSIN_TEST(test_discord_mattermost_teams_gotify),
             TOCSIN_TEST(test_opsgenie_create_and_close),
             TOCSIN_TEST(test_chat_webhooks_one_post_to_their_url),
             TOCSIN_TEST(test_bad_body_is_einval), TOCSIN_TEST(test_verdicts),
             TOCSIN_TEST(test_apprise_urls), TOCSIN_TEST(test_redaction));
