/*
 * ops_test.c: the operator-facing modules on their own: the control
 * socket's requests and replies (control.c), the publisher (a real
 * nanomsg SUB socket receives), the /metrics text (probe.c, checked line by
 * line; promtool checks a live daemon's in tests/integ/test_ops.py), the
 * ack links the probe hands to the main thread (a real HTTP request on
 * loopback) and the sd_notify messages (sdnotify.c, read from a real
 * datagram socket).
 */
#include <errno.h>
#include <jansson.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tocsin/config.h"
#include "tocsin/control.h"
#include "tocsin/probe.h"
#include "tocsin/sdnotify.h"
#include "tocsin_test.h"

static char dir[64];

static struct tocsin_config *
test_config(void)
{
    char text[1024];
    snprintf(text, sizeof text,
             "redis = { url = \"unix://%s/no-redis.sock\"; "
             "connect_timeout_ms = 100; };\n"
             "receivers = ( { name = \"a\"; type = \"webhook\"; "
             "url = \"http://127.0.0.1:1/\"; } );\n"
             "publish = { listen = \"ipc://%s/pub.sock\"; };\n"
             "control = { listen = \"ipc://%s/ctl.sock\"; };\n",
             dir, dir, dir);
    struct tocsin_config *cfg = NULL;
    struct tocsin_errbuf eb = {0};
    tocsin_err e = tocsin_config_load_string(&cfg, text, "t.conf", &eb);
    if (e)
        fprintf(stderr, "%s", eb.text ? eb.text : "");
    tocsin_errbuf_clear(&eb);
    return cfg;
}

static int reload_result;

static int
fake_reload(void *arg, char **errors)
{
    (void)arg;
    if (reload_result == 0)
        return 0;
    *errors = strdup("t.conf:3: unknown key \"x\"\n");
    return -1;
}

/* handle() on request, parsed. */
static json_t *
ask(struct tocsin_control *c, const struct tocsin_control_view *v,
    const char *request)
{
    char *rep = tocsin_control_handle(c, v, request, 1000000);
    json_t *j = rep ? json_loads(rep, 0, NULL) : NULL;
    free(rep);
    return j;
}

static int
error_is(json_t *j, const char *want)
{
    const char *e = json_string_value(json_object_get(j, "error"));
    int ok =
        json_is_false(json_object_get(j, "ok")) && e && strcmp(e, want) == 0;
    if (!ok)
        fprintf(stderr, "error %s, wanted %s\n", e ? e : "(none)", want);
    return ok;
}

static void
test_control_requests(void)
{
    struct tocsin_config *cfg = test_config();
    REQUIRE(cfg);
    struct tocsin_control *c = NULL;
    CHECK_OK(tocsin_control_new(&c, cfg));
    REQUIRE(c);
    struct tocsin_control_view v = {
        .cfg = cfg, .started_ms = 1000000 - 5000, .reload = fake_reload};
    json_t *j = ask(c, &v, "not json");
    CHECK(json_is_false(json_object_get(j, "ok")));
    CHECK(strncmp(json_string_value(json_object_get(j, "error")),
                  "request is not a JSON object: ", 30) == 0);
    json_decref(j);
    static const char *const cases[][2] = {
        {"{}", "request has no \"cmd\""},
        {"{\"cmd\":\"explode\"}", "unknown command \"explode\""},
        {"{\"cmd\":\"topics\",\"top\":0}", "top: expected a positive integer"},
        {"{\"cmd\":\"topics\"}", "redis is unreachable; no topics loaded"},
        {"{\"cmd\":\"alerts\"}", "redis is unreachable; no alert state loaded"},
        {"{\"cmd\":\"test-receiver\"}",
         "test-receiver: a receiver name is needed"},
        {"{\"cmd\":\"test-receiver\",\"name\":\"zz\"}",
         "no receiver called \"zz\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        j = ask(c, &v, cases[i][0]);
        CHECK(error_is(j, cases[i][1]));
        json_decref(j);
    }

    /* status works without Redis: it says so. */
    j = ask(c, &v, "{\"cmd\":\"status\"}");
    CHECK(json_is_true(json_object_get(j, "ok")));
    CHECK(json_is_false(json_object_get(j, "ready")));
    CHECK(json_number_value(json_object_get(j, "uptime_seconds")) == 5.0);
    json_t *in = json_object_get(j, "ingest");
    CHECK(json_is_false(json_object_get(in, "connected")));
    json_t *r0 = json_array_get(json_object_get(j, "receivers"), 0);
    CHECK_STR(json_string_value(json_object_get(r0, "name")), "a");
    CHECK(json_integer_value(json_object_get(r0, "sent")) == 0);
    CHECK(json_array_size(json_object_get(j, "streams")) == 0);
    json_decref(j);

    reload_result = 0;
    j = ask(c, &v, "{\"cmd\":\"reload\"}");
    CHECK(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    reload_result = -1;
    j = ask(c, &v, "{\"cmd\":\"reload\"}");
    CHECK(error_is(j, "t.conf:3: unknown key \"x\"\n"));
    json_decref(j);

    /* The control socket is ours alone, and taken. */
    char path[128];
    snprintf(path, sizeof path, "%s/ctl.sock", dir);
    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    struct tocsin_control *c2 = (struct tocsin_control *)1;
    CHECK_ERR(tocsin_control_new(&c2, cfg), TOCSIN_EIO);
    CHECK(c2 == (struct tocsin_control *)1);
    tocsin_control_free(c);
    CHECK(stat(path, &st) != 0); /* removed */
    tocsin_control_free(NULL);
    tocsin_config_free(cfg);
}

static void
test_control_over_the_socket(void)
{
    struct tocsin_config *cfg = test_config();
    REQUIRE(cfg);
    struct tocsin_control *c = NULL;
    CHECK_OK(tocsin_control_new(&c, cfg));
    REQUIRE(c);
    int s = nn_socket(AF_SP, NN_REQ);
    REQUIRE(s >= 0);
    REQUIRE(nn_connect(s, cfg->control.listen) >= 0);
    const char req[] = "{\"cmd\":\"nothing\"}";
    REQUIRE(nn_send(s, req, sizeof req - 1, 0) == (int)sizeof req - 1);
    struct tocsin_control_view v = {.cfg = cfg};
    char *buf = NULL;
    int n = -1;
    for (int i = 0; i < 500 && n < 0; i++) {
        tocsin_control_poll(c, &v, 0);
        n = nn_recv(s, &buf, NN_MSG, NN_DONTWAIT);
        if (n < 0)
            usleep(10000);
    }
    REQUIRE(n > 0);
    CHECK(strncmp(buf, "{\"ok\":false,\"error\":\"unknown command", 36) == 0);
    nn_freemsg(buf);
    nn_close(s);
    tocsin_control_free(c);
    tocsin_config_free(cfg);
}

static void
test_publish_prefixes_the_topic(void)
{
    struct tocsin_config *cfg = test_config();
    REQUIRE(cfg);
    struct tocsin_control *c = NULL;
    CHECK_OK(tocsin_control_new(&c, cfg));
    REQUIRE(c);
    int sub = nn_socket(AF_SP, NN_SUB);
    REQUIRE(sub >= 0);
    REQUIRE(nn_setsockopt(sub, NN_SUB, NN_SUB_SUBSCRIBE, "AirNova\t", 8) == 0);
    REQUIRE(nn_connect(sub, cfg->publish.listen) >= 0);
    char *buf = NULL;
    int n = -1;
    /* Publish until the subscriber is connected and gets one. */
    for (int i = 0; i < 500 && n < 0; i++) {
        tocsin_control_publish(c, "Other", "MentionVolumeSpike", "firing",
                               "{\"x\":0}");
        tocsin_control_publish(c, "AirNova", "MentionVolumeSpike", "firing",
                               "{\"x\":1}");
        usleep(10000);
        n = nn_recv(sub, &buf, NN_MSG, NN_DONTWAIT);
    }
    REQUIRE(n > 0);
    CHECK(n == 15 && memcmp(buf, "AirNova\t{\"x\":1}", 15) == 0);
    nn_freemsg(buf);
    nn_close(sub);
    tocsin_control_free(c);
    tocsin_config_free(cfg);
}

static int
has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    fprintf(stderr, "no line \"%s\"\n", line);
    return 0;
}

static void
test_metrics_text(void)
{
    struct tocsin_probe_state st;
    memset(&st, 0, sizeof st);
    st.ingest.entries = 1234;
    st.ingest.dead = 5;
    st.ingest.engine.topics = 3;
    st.ingest.engine.late = 7;
    st.lag_seconds = 1.5;
    st.firing[0] = 2;
    st.events[1][1] = 4;
    st.ready = 1;
    char *t = NULL;
    CHECK_OK(tocsin_probe_metrics(&t, &st, NULL, 1700000000123));
    REQUIRE(t);
    CHECK(has_line(t, "# TYPE tocsin_mentions_ingested_total counter"));
    CHECK(has_line(t, "tocsin_mentions_ingested_total 1234"));
    CHECK(has_line(t, "tocsin_mentions_dead_lettered_total 5"));
    CHECK(has_line(t, "tocsin_mentions_late_total 7"));
    CHECK(has_line(t, "tocsin_topics 3"));
    CHECK(has_line(t, "tocsin_ingest_lag_seconds 1.500"));
    CHECK(has_line(t, "tocsin_ready 1"));
    CHECK(has_line(t, "tocsin_start_time_seconds 1700000000.123"));
    CHECK(has_line(t, "tocsin_alerts{alertname=\"MentionVolumeSpike\","
                      "state=\"firing\"} 2"));
    CHECK(has_line(t, "tocsin_alert_events_total{alertname="
                      "\"NegativityShift\",status=\"resolved\"} 4"));
    CHECK(has_line(t, "tocsin_build_info{version=\"" TOCSIN_VERSION "\"} 1"));
    CHECK(has_line(t, "tocsin_outbox_depth 0"));
    CHECK(has_line(t, "# TYPE tocsin_notification_latency_seconds "
                      "histogram"));
    free(t);
}

static void
test_probe_listen_errors(void)
{
    struct tocsin_probe *p = (struct tocsin_probe *)1;
    CHECK_ERR(tocsin_probe_new(&p, "no-port", NULL, 0), TOCSIN_EIO);
    CHECK_ERR(tocsin_probe_new(&p, "256.1.1.1:80", NULL, 0), TOCSIN_EIO);
    CHECK(p == (struct tocsin_probe *)1);
    struct tocsin_probe *a = NULL;
    CHECK_OK(tocsin_probe_new(&a, "127.0.0.1:0", NULL, 0));
    REQUIRE(a);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", tocsin_probe_port(a));
    CHECK(tocsin_probe_port(a) > 0);
    CHECK_ERR(tocsin_probe_new(&p, addr, NULL, 0), TOCSIN_EIO); /* taken */
    tocsin_probe_free(a);
    tocsin_probe_free(NULL);
}

struct http_call {
    int port;
    const char *request;
    char answer[2048];
};

/* One HTTP/1.0 request on loopback; the whole answer in c->answer. */
static void *
http_call(void *arg)
{
    struct http_call *c = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)c->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        send(fd, c->request, strlen(c->request), 0) < 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    size_t n = 0;
    ssize_t r;
    while (n + 1 < sizeof c->answer &&
           (r = recv(fd, c->answer + n, sizeof c->answer - 1 - n, 0)) > 0)
        n += (size_t)r;
    c->answer[n] = '\0';
    close(fd);
    return NULL;
}

static void
test_probe_ack_links_go_to_the_main_thread(void)
{
    struct tocsin_probe *p = NULL;
    CHECK_OK(tocsin_probe_new(&p, "127.0.0.1:0", NULL, 0));
    REQUIRE(p);
    char token[TOCSIN_ACK_TOKEN_MAX];
    uint64_t ticket = 0;
    CHECK(tocsin_probe_next_link(p, token, sizeof token, &ticket) == 0);

    /* A POST with a body, as ntfy's http action sends it. */
    struct http_call c = {tocsin_probe_port(p),
                          "POST /ack/tok.en-1_x HTTP/1.0\r\n"
                          "Content-Length: 3\r\n\r\nabc",
                          ""};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, http_call, &c) == 0);
    /* The request waits for the main thread (us) to take it. */
    while (!tocsin_probe_next_link(p, token, sizeof token, &ticket))
        usleep(1000);
    CHECK_STR(token, "tok.en-1_x");
    CHECK(tocsin_probe_next_link(p, token, sizeof token, &ticket) == 0);
    tocsin_probe_link_done(p, ticket + 100, 200, "not this one"); /* ignored */
    tocsin_probe_link_done(p, ticket, 409, "Link <b>used</b> & gone.");
    pthread_join(th, NULL);
    CHECK(strncmp(c.answer, "HTTP/1.1 409", 12) == 0 ||
          strncmp(c.answer, "HTTP/1.0 409", 12) == 0);
    CHECK(strstr(c.answer, "text/html") != NULL);
    CHECK(strstr(c.answer, "Link &lt;b&gt;used&lt;/b&gt; &amp; gone.") != NULL);

    /* Not a link: answered at once, the main thread never sees it. */
    struct http_call e = {tocsin_probe_port(p), "GET /ack/ HTTP/1.0\r\n\r\n",
                          ""};
    http_call(&e);
    CHECK(strstr(e.answer, " 404 ") != NULL);
    CHECK(tocsin_probe_next_link(p, token, sizeof token, &ticket) == 0);
    /* Other methods are still refused. */
    struct http_call d = {tocsin_probe_port(p),
                          "DELETE /ack/x HTTP/1.0\r\n\r\n", ""};
    http_call(&d);
    CHECK(strstr(d.answer, " 405 ") != NULL);
    tocsin_probe_free(p);
}

static void
test_sd_notify_messages(void)
{
    char path[96];
    snprintf(path, sizeof path, "%.60s/notify.sock", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    REQUIRE(bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0);

    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    CHECK(tocsin_sd_watchdog_interval_ms() == 0);
    tocsin_sd_ready("ignored: no socket"); /* does nothing, no crash */
    setenv("WATCHDOG_USEC", "3000000", 1);
    CHECK(tocsin_sd_watchdog_interval_ms() == 1500);
    setenv("NOTIFY_SOCKET", path, 1);
    tocsin_sd_status("waiting for %s", "redis");
    tocsin_sd_ready("state restored");
    tocsin_sd_watchdog();
    tocsin_sd_stopping();
    const char *want[] = {"STATUS=waiting for redis",
                          "READY=1\nSTATUS=state restored", "WATCHDOG=1",
                          ("STOPPING=1\nSTATUS=stopping: committing the "
                           "batch in hand")};
    for (size_t i = 0; i < 4; i++) {
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
        REQUIRE(n > 0);
        buf[n] = '\0';
        CHECK_STR(buf, want[i]);
    }
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    close(fd);
    unlink(path);
}

static void
setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/tocsin-ops-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

/* The unix-socket probe: a listener accepts; no file, a file nobody
 * listens on, and a path too long for a socket address are told apart. */
static void
test_ipc_probe(void)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/probe.sock", dir);
    const char *path = sun.sun_path;
    CHECK(tocsin_control_ipc_probe(path) == ENOENT);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    REQUIRE(bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0);
    CHECK(tocsin_control_ipc_probe(path) == ECONNREFUSED); /* not listening */
    REQUIRE(listen(fd, 1) == 0);
    CHECK(tocsin_control_ipc_probe(path) == 0);
    close(fd);
    unlink(path);
    char longp[sizeof sun.sun_path + 8];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    CHECK(tocsin_control_ipc_probe(longp) == ENAMETOOLONG);
}

static void
test_setup(void)
{
    setup();
}

static void
test_cleanup(void)
{
    rmdir(dir);
}

TOCSIN_TESTS(TOCSIN_TEST(test_setup), TOCSIN_TEST(test_control_requests),
             TOCSIN_TEST(test_control_over_the_socket),
             TOCSIN_TEST(test_ipc_probe),
             TOCSIN_TEST(test_publish_prefixes_the_topic),
             TOCSIN_TEST(test_metrics_text),
             TOCSIN_TEST(test_probe_listen_errors),
             TOCSIN_TEST(test_probe_ack_links_go_to_the_main_thread),
             TOCSIN_TEST(test_sd_notify_messages), TOCSIN_TEST(test_cleanup));
