/*
 * config_test.c: the configuration loader.  One test per error message
 * (exact text, file and line), plus defaults, the shipped example file,
 * secrets from files and credentials, and the API contract.
 */
#include "tocsin/config.h"
#include "tocsin/engine.h"
#include "tocsin/tz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docs_fixture.h"
#include "tocsin_test.h"

#define SENTINEL ((struct tocsin_config *)(uintptr_t)0x1)

/* Loading text as "t.conf" must fail with exactly the error lines want. */
static void
expect_errors(int line, const char *text, const char *want)
{
    struct tocsin_errbuf eb = {0};
    struct tocsin_config *cfg = SENTINEL;
    tocsin_err e = tocsin_config_load_string(&cfg, text, "t.conf", &eb);
    if (e != TOCSIN_ECONFIG || cfg != SENTINEL || !eb.text ||
        strcmp(eb.text, want) != 0) {
        fprintf(stderr, "%s:%d: got %s, errors:\n%s-- wanted:\n%s--\n",
                __FILE__, line, tocsin_strerror(e),
                eb.text ? eb.text : "(none)\n", want);
        tocsin_test_failed_checks++;
    }
    tocsin_errbuf_clear(&eb);
}
#define EXPECT_ERRORS(text, want) expect_errors(__LINE__, text, want)

/* The config from text (as "t.conf") or, when text is NULL, from the file
 * path; NULL, after a failed check, when it did not load. */
static struct tocsin_config *
load_ok(int line, const char *text, const char *path)
{
    struct tocsin_errbuf eb = {0};
    struct tocsin_config *cfg = NULL;
    tocsin_err e = text ? tocsin_config_load_string(&cfg, text, "t.conf", &eb)
                        : tocsin_config_load(&cfg, path, &eb);
    if (e != TOCSIN_OK || !cfg) {
        fprintf(stderr, "%s:%d: load failed: %s\n%s", __FILE__, line,
                tocsin_strerror(e), eb.text ? eb.text : "");
        tocsin_test_failed_checks++;
    }
    tocsin_errbuf_clear(&eb);
    return cfg;
}
#define LOAD_OK(text)      load_ok(__LINE__, text, NULL)
#define LOAD_FILE_OK(path) load_ok(__LINE__, NULL, path)

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs(text, f);
    fclose(f);
}

static char *
make_tmpdir(void)
{
    char tmpl[] = "/tmp/tocsin-config-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    REQUIRE(d);
    return strdup(d);
}

static void
rm_tmpdir(char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    free(dir);
}

static const char minimal[] =
    "redis = { url = \"redis://127.0.0.1:6379\"; streams = [\"mentions\"];\n"
    "          group = \"tocsin\"; };\n"
    "detection = { bucket = 60; };\n"
    "receivers = ( { name = \"oncall\"; type = \"webhook\";\n"
    "                url = \"http://127.0.0.1:9009/hook\";\n"
    "                secret = \"s3cret\"; } );\n";

/* ---- loading that works ---- */

static void
test_minimal_defaults(void)
{
    struct tocsin_config *cfg = LOAD_OK(minimal);
    REQUIRE(cfg);
    CHECK_STR(cfg->path, "t.conf");
    CHECK_STR(cfg->redis.url, "redis://127.0.0.1:6379");
    CHECK(cfg->redis.password == NULL);
    REQUIRE(cfg->redis.nstreams == 1);
    CHECK_STR(cfg->redis.streams[0], "mentions");
    CHECK_STR(cfg->redis.group, "tocsin");
    char host[256] = "";
    gethostname(host, sizeof host);
    CHECK_STR(cfg->redis.consumer, host);
    CHECK_STR(cfg->redis.dead_suffix, ":dead");
    CHECK_STR(cfg->redis.prefix, "tocsin:");
    CHECK(cfg->redis.batch == 1000);
    CHECK(cfg->redis.block_ms == 1000);
    CHECK(cfg->redis.claim_idle_ms == 60000);
    CHECK(cfg->redis.connect_timeout_ms == 2000);
    CHECK(cfg->redis.checkpoint_ms == 1000);
    CHECK(cfg->redis.max_entry_bytes == 65536);
    CHECK(cfg->redis.max_field_bytes == 16384);
    CHECK(cfg->detection.bucket_s == 60);
    CHECK(cfg->detection.lateness_s == 30);
    CHECK_NEAR(cfg->detection.min_mentions, 10, 1e-9);
    CHECK_NEAR(cfg->detection.min_ratio, 3.0, 1e-9);
    CHECK_NEAR(cfg->detection.fire_score, 0.9, 1e-9);
    CHECK_NEAR(cfg->detection.resolve_score, 0.5, 1e-9);
    CHECK(cfg->detection.resolve_buckets == 5);
    CHECK(cfg->detection.min_negative == 5);
    CHECK_NEAR(cfg->detection.negative_threshold, -0.05, 1e-9);
    CHECK(cfg->detection.catchup_max_age_s == 900);
    CHECK(cfg->detection.warmup_buckets == 30);
    CHECK(cfg->detection.max_topics == 1000000);
    CHECK_NEAR(cfg->detection.sensitivity, 0.5, 1e-9);
    CHECK_STR(cfg->detection.timezone, "UTC");
    CHECK(cfg->detection.tz == NULL);
    CHECK(cfg->detection.dedup_window_s == 3600);
    REQUIRE(cfg->nreceivers == 1);
    const struct tocsin_receiver_config *r = &cfg->receivers[0];
    CHECK_STR(r->name, "oncall");
    CHECK(r->type == TOCSIN_RECEIVER_WEBHOOK);
    CHECK_STR(r->url, "http://127.0.0.1:9009/hook");
    CHECK_STR(r->secret, "s3cret");
    CHECK(r->timeout_ms == 10000);
    CHECK(r->backoff_min_ms == 1000);
    CHECK(r->backoff_max_ms == 300000);
    CHECK(r->give_up_s == 86400);
    CHECK(r->send_resolved == 1);
    CHECK(r->max_concurrency == 4);
    char url[300];
    snprintf(url, sizeof url, "http://%s:9797", host);
    CHECK_STR(cfg->alerts.external_url, url);
    CHECK(cfg->log.level == TOCSIN_LOG_INFO);
    CHECK_STR(cfg->publish.listen, "ipc:///run/tocsin/alerts.sock");
    CHECK_STR(cfg->control.listen, "ipc:///run/tocsin/control.sock");
    CHECK_STR(cfg->http.listen, "127.0.0.1:9797");
    CHECK_STR(cfg->sentiment.lexicons, TOCSIN_DATADIR "/lexicons");
    tocsin_config_free(cfg);
}

static void
test_empty_file_loads(void)
{
    struct tocsin_config *cfg = LOAD_OK("# nothing\n");
    REQUIRE(cfg);
    CHECK(cfg->nreceivers == 0 && cfg->receivers == NULL);
    CHECK_STR(cfg->redis.url, "redis://127.0.0.1:6379");
    tocsin_config_free(cfg);
    cfg = LOAD_OK("receivers = ();\n");
    CHECK(cfg && cfg->nreceivers == 0);
    tocsin_config_free(cfg);
}

static void
test_values_override(void)
{
    struct tocsin_config *cfg = LOAD_OK(
        "redis = { url = \"redis://:pw@db:6380/2\"; streams = \"s1\";\n"
        "  batch = 10L; };\n"
        "detection = { min_mentions = 4; fire_score = 1; sensitivity = 0.25;"
        " timezone = \"America/New_York\"; };\n"
        "receivers = ( { name = \"a\"; type = \"webhook\";\n"
        "  url = \"https://x.example/h\"; send_resolved = false; } );\n"
        "log = { level = \"debug\"; };\n"
        "publish = { listen = \"tcp://*:5555\"; };\n"
        "control = { listen = \"ws://127.0.0.1:5556/ctl\"; remote = true;"
        " };\n"
        "http = { listen = \"[::1]:8080\"; };\n"
        "sentiment = { lexicons = \"lex\"; };\n");
    REQUIRE(cfg);
    REQUIRE(cfg->redis.nstreams == 1);
    CHECK_STR(cfg->redis.streams[0], "s1");
    CHECK_STR(cfg->redis.password, "pw");
    CHECK(cfg->redis.batch == 10);
    CHECK_NEAR(cfg->detection.min_mentions, 4, 1e-9);
    CHECK_NEAR(cfg->detection.fire_score, 1, 1e-9);
    CHECK_NEAR(cfg->detection.sensitivity, 0.25, 1e-9);
    REQUIRE(cfg->detection.tz != NULL);
    CHECK_STR(tocsin_tz_name(cfg->detection.tz), "America/New_York");
    CHECK(tocsin_tz_utoff(cfg->detection.tz, 1700000000) == -5 * 3600);
    CHECK(cfg->receivers[0].send_resolved == 0);
    CHECK(cfg->receivers[0].secret == NULL);
    CHECK(cfg->log.level == TOCSIN_LOG_DEBUG);
    CHECK_STR(cfg->publish.listen, "tcp://*:5555");
    CHECK_STR(cfg->control.listen, "ws://127.0.0.1:5556/ctl");
    CHECK(cfg->control.remote == 1);
    CHECK_STR(cfg->http.listen, "[::1]:8080");
    CHECK_STR(cfg->sentiment.lexicons, "./lex");
    tocsin_config_free(cfg);
}

static void
test_example_file_loads(void)
{
    struct tocsin_config *cfg =
        LOAD_FILE_OK(TOCSIN_SOURCE_DATADIR "/tocsind.conf");
    REQUIRE(cfg);
    CHECK(cfg->nreceivers == 1);
    CHECK(tocsin_config_receiver(cfg, "oncall") != NULL);
    CHECK(cfg->redis.batch == 1000);
    CHECK(cfg->log.level == TOCSIN_LOG_INFO);
    tocsin_config_free(cfg);
}

/* The example file and the man page mention every key. */
static void
test_docs_list_every_key(void)
{
    static const char *const keys[] = {"url",
                                       "password",
                                       "password_file",
                                       "streams",
                                       "group",
                                       "consumer",
                                       "dead_suffix",
                                       "prefix",
                                       "batch",
                                       "block_ms",
                                       "claim_idle_ms",
                                       "connect_timeout_ms",
                                       "checkpoint_ms",
                                       "max_entry_bytes",
                                       "max_field_bytes",
                                       "bucket",
                                       "lateness",
                                       "min_mentions",
                                       "min_ratio",
                                       "fire_score",
                                       "resolve_score",
                                       "resolve_buckets",
                                       "min_negative",
                                       "negative_threshold",
                                       "catchup_max_age",
                                       "warmup_buckets",
                                       "max_topics",
                                       "sensitivity",
                                       "timezone",
                                       "dedup_window",
                                       "zones",
                                       "topics",
                                       "name",
                                       "type",
                                       "secret",
                                       "secret_file",
                                       "secret_credential",
                                       "timeout_ms",
                                       "backoff_min_ms",
                                       "backoff_max_ms",
                                       "give_up",
                                       "send_resolved",
                                       "max_concurrency",
                                       "tls_ca_file",
                                       "tls_client_cert",
                                       "tls_client_key",
                                       "rate",
                                       "burst",
                                       "down_after",
                                       "token_file",
                                       "routing_key_file",
                                       "api_key_file",
                                       "user_file",
                                       "topic",
                                       "chat_id",
                                       "device",
                                       "ack_url",
                                       "source",
                                       "priority_map",
                                       "retry",
                                       "expire",
                                       "from",
                                       "to",
                                       "starttls",
                                       "service_account_file",
                                       "project_id",
                                       "token_url",
                                       "key_file",
                                       "key_id",
                                       "team_id",
                                       "sound",
                                       "critical",
                                       "vapid_key_file",
                                       "vapid_subject",
                                       "p256dh",
                                       "auth_file",
                                       "ttl",
                                       "external_url",
                                       "level",
                                       "listen",
                                       "remote",
                                       "lexicons"};
    CHECK(tocsin_test_docs_missing(keys, sizeof keys / sizeof keys[0]) == 0);
}

static void
test_receiver_lookup(void)
{
    struct tocsin_config *cfg = LOAD_OK(
        "receivers = ( { name = \"a\"; type = \"webhook\";"
        " url = \"http://h/a\"; },\n"
        "  { name = \"b\"; type = \"webhook\"; url = \"http://h/b\"; } );\n");
    REQUIRE(cfg);
    const struct tocsin_receiver_config *r = tocsin_config_receiver(cfg, "b");
    REQUIRE(r);
    CHECK_STR(r->url, "http://h/b");
    CHECK(tocsin_config_receiver(cfg, "c") == NULL);
    CHECK(tocsin_config_receiver(cfg, NULL) == NULL);
    CHECK(tocsin_config_receiver(NULL, "a") == NULL);
    tocsin_config_free(cfg);
}

static void
test_free_null(void)
{
    tocsin_config_free(NULL);
    tocsin_errbuf_clear(NULL);
    tocsin_errbuf_addf(NULL, "x");
    CHECK(1);
}

static void
test_errbuf(void)
{
    struct tocsin_errbuf eb = {0};
    tocsin_errbuf_addf(&eb, "a %d", 1);
    tocsin_errbuf_addf(&eb, "b\n");
    for (int i = 0; i < 100; i++)
        tocsin_errbuf_addf(&eb, "%s", "0123456789");
    CHECK(eb.count == 102);
    CHECK(strncmp(eb.text, "a 1\nb\n0123456789\n", 17) == 0);
    CHECK(eb.len == strlen(eb.text));
    size_t len = eb.len;
    tocsin_errbuf_addf(&eb, "%s", ""); /* an empty message is an empty line */
    CHECK(eb.count == 103 && eb.len == len + 1 && eb.text[len] == '\n');
    tocsin_errbuf_clear(&eb);
    CHECK(eb.text == NULL && eb.count == 0 && eb.len == 0);
}

/* ---- secrets ---- */

static void
test_secret_file_relative(void)
{
    char *dir = make_tmpdir();
    char path[512], conf[512];
    snprintf(path, sizeof path, "%s/hook.secret", dir);
    write_file(path, "file-secret\n");
    snprintf(path, sizeof path, "%s/redis.pw", dir);
    write_file(path, "redis-pw\r\n");
    snprintf(conf, sizeof conf, "%s/tocsind.conf", dir);
    write_file(conf, "redis = { password_file = \"redis.pw\"; };\n"
                     "receivers = ( { name = \"a\"; type = \"webhook\";\n"
                     "  url = \"http://h/\"; secret_file = \"hook.secret\";"
                     " } );\n");
    struct tocsin_config *cfg = LOAD_FILE_OK(conf);
    REQUIRE(cfg);
    CHECK_STR(cfg->receivers[0].secret, "file-secret");
    CHECK_STR(cfg->redis.password, "redis-pw");
    CHECK_STR(cfg->path, conf);
    tocsin_config_free(cfg);
    rm_tmpdir(dir);
}

static void
test_secret_credential(void)
{
    char *dir = make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/hook", dir);
    write_file(path, "cred-secret");
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    struct tocsin_config *cfg =
        LOAD_OK("receivers = ( { name = \"a\"; type = \"webhook\";\n"
                "  url = \"http://h/\"; secret_credential = \"hook\"; } );\n");
    REQUIRE(cfg);
    CHECK_STR(cfg->receivers[0].secret, "cred-secret");
    tocsin_config_free(cfg);
    unsetenv("CREDENTIALS_DIRECTORY");
    rm_tmpdir(dir);
}

static void
test_err_credential_missing(void)
{
    char *dir = make_tmpdir();
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    char want[1024];
    snprintf(want, sizeof want,
             "t.conf:3: receivers[0].secret_credential: cannot read "
             "credential \"%s/nope\": No such file or directory\n",
             dir);
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"webhook\";\n"
                  "  url = \"http://h/\";\n"
                  "  secret_credential = \"nope\"; } );\n",
                  want);
    unsetenv("CREDENTIALS_DIRECTORY");
    rm_tmpdir(dir);
}

static void
test_err_credentials_directory_unset(void)
{
    unsetenv("CREDENTIALS_DIRECTORY");
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"webhook\";\n"
                  "  url = \"http://h/\";\n"
                  "  secret_credential = \"hook\"; } );\n",
                  "t.conf:3: receivers[0].secret_credential: "
                  "$CREDENTIALS_DIRECTORY is not set\n");
}

static void
test_err_credential_name(void)
{
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"webhook\";\n"
                  "  url = \"http://h/\";\n"
                  "  secret_credential = \"../etc/x\"; } );\n",
                  "t.conf:3: receivers[0].secret_credential: \"../etc/x\" "
                  "is not a credential name\n");
}

static void
test_err_secret_file_unreadable(void)
{
    EXPECT_ERRORS("redis = {\n"
                  "  password_file = \"/nonexistent/tocsin/pw\";\n"
                  "};\n",
                  "t.conf:2: redis.password_file: cannot read file "
                  "\"/nonexistent/tocsin/pw\": No such file or directory\n");
}

static void
test_err_secret_file_empty(void)
{
    char *dir = make_tmpdir();
    char path[512], text[1024], want[1024];
    snprintf(path, sizeof path, "%s/empty", dir);
    write_file(path, "\n");
    snprintf(text, sizeof text,
             "receivers = ( { name = \"a\"; type = \"webhook\";\n"
             "  url = \"http://h/\"; secret_file = \"%s\"; } );\n",
             path);
    snprintf(want, sizeof want,
             "t.conf:2: receivers[0].secret_file: file \"%s\" is empty\n",
             path);
    EXPECT_ERRORS(text, want);
    rm_tmpdir(dir);
}

/* A throwaway self-signed CA certificate (only parsed, never trusted). */
static const char test_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBkzCCATmgAwIBAgIULUJ/+Gs4nISSVsRzGHCdSowrdF8wCgYIKoZIzj0EAwIw\n"
    "HjEcMBoGA1UEAwwTdG9jc2luIHVuaXQgdGVzdCBDQTAgFw0yNjEyMDcwMDU4MTNa\n"
    "GA8yMTI2MTExMzAwNTgxM1owHjEcMBoGA1UEAwwTdG9jc2luIHVuaXQgdGVzdCBD\n"
    "QTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJXcMYbtCJ08B8qfBPeJzUUiP508\n"
    "OR1T7q0tSeXvEhUKBkfX9wwHhiAM/XTFcTvGH8CtydsONigXjt1GT9YNTY+jUzBR\n"
    "MB0GA1UdDgQWBBTlza4qi+qNJytPF8WZpZcwFee7yTAfBgNVHSMEGDAWgBTlza4q\n"
    "i+qNJytPF8WZpZcwFee7yTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gA\n"
    "MEUCIQDqkIGuP6rpcJDCWE+Gmgt+yDMj8bcBw1zEytEnBmD2IQIgXVLO8dqZtHfj\n"
    "PZwHe67xfPhPg7KvkfPjrVDar/661Xc=\n"
    "-----END CERTIFICATE-----\n";

/* The key of test_ca_pem, and another key (throwaway, test only). */
static const char test_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgI3bbd5CJ4Yo/sn9Y\n"
    "ulljUMKsTVHxtRCIsLihP7AuM5yhRANCAASV3DGG7QidPAfKnwT3ic1FIj+dPDkd\n"
    "U+6tLUnl7xIVCgZH1/cMB4YgDP10xXE7xh/ArcnbDjYoF47dRk/WDU2P\n"
    "-----END PRIVATE KEY-----\n";
static const char other_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSdzToQbw8wooeBgy\n"
    "l1hdluUMt/BzO9h9+T1ZdBCoBAmhRANCAASjVjgW6I2ZWUGKIgekYhS0QF6ItVJp\n"
    "vocLIiN2KIySXgBEi1bxRTC8XjnyKni6Kzw+BwSvxHS/A8ttldOxBYDi\n"
    "-----END PRIVATE KEY-----\n";

/* Load receivers[0] (a webhook) with the given extra keys from a file in
 * dir; the errors, or "" when it loaded. */
static char *
load_receiver(const char *dir, const char *keys)
{
    char conf[512], text[2048];
    snprintf(conf, sizeof conf, "%s/tocsind.conf", dir);
    snprintf(text, sizeof text,
             "receivers = ( { name = \"a\"; type = \"webhook\";\n"
             "  url = \"https://h/\";\n  %s } );\n",
             keys);
    write_file(conf, text);
    struct tocsin_errbuf eb = {0};
    struct tocsin_config *cfg = NULL;
    (void)tocsin_config_load(&cfg, conf, &eb);
    char *out = strdup(eb.text ? eb.text : "");
    if (cfg) {
        char want[512];
        snprintf(want, sizeof want, "%s/client.pem", dir);
        CHECK_STR(cfg->receivers[0].tls_client_cert, want);
        snprintf(want, sizeof want, "%s/client.key", dir);
        CHECK_STR(cfg->receivers[0].tls_client_key, want);
    }
    tocsin_config_free(cfg);
    tocsin_errbuf_clear(&eb);
    return out;
}

static void
test_tls_client_cert(void)
{
    char *dir = make_tmpdir();
    char want[1024];
    static const struct {
        const char *name, *text;
    } files[] = {
        {"client.pem", test_ca_pem},
        {"client.key", test_key_pem},
        {"other.key", other_key_pem},
        {"locked.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
                       "-----END ENCRYPTED PRIVATE KEY-----\n"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        write_file(path, files[i].text);
    }

    char *got = load_receiver(dir, "tls_client_cert = \"client.pem\";"
                                   " tls_client_key = \"client.key\";");
    CHECK_STR(got, "");
    free(got);

    got = load_receiver(dir, "tls_client_cert = \"client.pem\";");
    snprintf(want, sizeof want,
             "%s/tocsind.conf:3: receivers[0]: tls_client_cert and "
             "tls_client_key go together\n",
             dir);
    CHECK_STR(got, want);
    free(got);

    got = load_receiver(dir, "tls_client_cert = \"client.pem\";"
                             " tls_client_key = \"other.key\";");
    snprintf(want, sizeof want,
             "%s/tocsind.conf:3: receivers[0].tls_client_key: not the key "
             "of tls_client_cert\n",
             dir);
    CHECK_STR(got, want);
    free(got);

    got = load_receiver(dir, "tls_client_cert = \"client.pem\";"
                             " tls_client_key = \"locked.key\";");
    snprintf(want, sizeof want,
             "%s/tocsind.conf:3: receivers[0].tls_client_key: key "
             "\"%s/locked.key\" holds no unencrypted PEM private key\n",
             dir, dir);
    CHECK_STR(got, want);
    free(got);

    got = load_receiver(dir, "tls_client_cert = \"client.key\";"
                             " tls_client_key = \"client.key\";");
    snprintf(want, sizeof want,
             "%s/tocsind.conf:3: receivers[0].tls_client_cert: certificate "
             "\"%s/client.key\" holds no PEM certificate (\"-----BEGIN "
             "CERTIFICATE-----\")\n",
             dir, dir);
    CHECK_STR(got, want);
    free(got);
    rm_tmpdir(dir);
}

static void
test_tls_ca_file_relative(void)
{
    char *dir = make_tmpdir();
    char path[512], conf[512];
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    write_file(path, test_ca_pem);
    snprintf(conf, sizeof conf, "%s/tocsind.conf", dir);
    write_file(
        conf,
        "receivers = (\n"
        "  { name = \"a\"; type = \"webhook\"; url = \"https://h/\";"
        " tls_ca_file = \"ca.pem\"; },\n"
        "  { name = \"b\"; type = \"webhook\"; url = \"https://h/\"; } );\n");
    struct tocsin_config *cfg = LOAD_FILE_OK(conf);
    REQUIRE(cfg);
    CHECK_STR(cfg->receivers[0].tls_ca_file, path);
    CHECK(cfg->receivers[1].tls_ca_file == NULL); /* the system's CAs */
    tocsin_config_free(cfg);
    rm_tmpdir(dir);
}

static void
test_err_tls_ca_file_missing(void)
{
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"webhook\"; url = "
                  "\"https://h/\";\n"
                  "  tls_ca_file = \"/nonexistent/tocsin/ca.pem\"; } );\n",
                  "t.conf:2: receivers[0].tls_ca_file: cannot read CA file "
                  "\"/nonexistent/tocsin/ca.pem\": No such file or "
                  "directory\n");
}

static void
test_err_tls_ca_file_not_a_certificate(void)
{
    char *dir = make_tmpdir();
    char path[512], text[1024], want[1024];
    snprintf(path, sizeof path, "%s/key.pem", dir);
    write_file(path, "-----BEGIN PRIVATE KEY-----\nAAAA\n"
                     "-----END PRIVATE KEY-----\n");
    snprintf(text, sizeof text,
             "receivers = ( { name = \"a\"; type = \"email\";\n"
             "  url = \"smtp://h\"; from = \"a@b.c\"; to = [\"d@e.f\"];\n"
             "  tls_ca_file = \"%s\"; } );\n",
             path);
    snprintf(want, sizeof want,
             "t.conf:3: receivers[0].tls_ca_file: CA file \"%s\" holds no "
             "PEM certificate (\"-----BEGIN CERTIFICATE-----\")\n",
             path);
    EXPECT_ERRORS(text, want);
    /* A directory is not a CA file either. */
    snprintf(text, sizeof text,
             "receivers = ( { name = \"a\"; type = \"webhook\"; url = "
             "\"https://h/\";\n"
             "  tls_ca_file = \"%s\"; } );\n",
             dir);
    snprintf(want, sizeof want,
             "t.conf:2: receivers[0].tls_ca_file: cannot read CA file "
             "\"%s\": Is a directory\n",
             dir);
    EXPECT_ERRORS(text, want);
    rm_tmpdir(dir);
}

static void
test_err_in_included_file(void)
{
    char *dir = make_tmpdir();
    char path[512], want[1024];
    snprintf(path, sizeof path, "%s/detection.conf", dir);
    write_file(path, "detection = {\n  bucket = 0;\n};\n");
    snprintf(path, sizeof path, "%s/tocsind.conf", dir);
    write_file(path, "redis = { };\n@include \"detection.conf\"\n"
                     "log = { level = \"loud\"; };\n");
    snprintf(want, sizeof want,
             "%s/detection.conf:2: detection.bucket: 0 is below the minimum "
             "1\n"
             "%s/tocsind.conf:3: log.level: unknown level \"loud\" (known: "
             "error, warning, notice, info, debug)\n",
             dir, dir);
    struct tocsin_errbuf eb = {0};
    struct tocsin_config *cfg = SENTINEL;
    CHECK_ERR(tocsin_config_load(&cfg, path, &eb), TOCSIN_ECONFIG);
    CHECK(cfg == SENTINEL);
    CHECK_STR(eb.text, want);
    tocsin_errbuf_clear(&eb);
    rm_tmpdir(dir);
}

static void
test_err_secret_file_too_large(void)
{
    char *dir = make_tmpdir();
    char path[512], text[1024], want[1024];
    snprintf(path, sizeof path, "%s/big", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    for (int i = 0; i < 70000; i++)
        fputc('x', f);
    fclose(f);
    snprintf(text, sizeof text,
             "receivers = ( { name = \"a\"; type = \"webhook\";\n"
             "  url = \"http://h/\"; secret_file = \"%s\"; } );\n",
             path);
    snprintf(want, sizeof want,
             "t.conf:2: receivers[0].secret_file: file \"%s\" is larger "
             "than 65536 bytes\n",
             path);
    EXPECT_ERRORS(text, want);
    rm_tmpdir(dir);
}

static void
test_err_secret_conflict(void)
{
    char *dir = make_tmpdir();
    char path[512], text[1024];
    snprintf(path, sizeof path, "%s/s", dir);
    write_file(path, "x");
    snprintf(text, sizeof text,
             "receivers = ( { name = \"a\"; type = \"webhook\";\n"
             "  url = \"http://h/\"; secret = \"x\";\n"
             "  secret_file = \"%s\"; } );\n",
             path);
    EXPECT_ERRORS(text, "t.conf:3: receivers[0].secret_file: only one of "
                        "secret, secret_file and secret_credential may be "
                        "given\n");
    rm_tmpdir(dir);
}

/* ---- one test per error message ---- */

static void
test_err_syntax(void)
{
    EXPECT_ERRORS("redis = {\n  url = \"x\"\n  batch = ;\n};\n",
                  "t.conf:3: syntax error: syntax error\n");
}

static void
test_err_expected_integer_got_string(void)
{
    EXPECT_ERRORS("detection = {\n  bucket = \"60\";\n};\n",
                  "t.conf:2: detection.bucket: expected an integer, got a "
                  "string\n");
}

static void
test_err_expected_integer_got_float(void)
{
    EXPECT_ERRORS("detection = { bucket = 60.0; };\n",
                  "t.conf:1: detection.bucket: expected an integer, got a "
                  "float\n");
}

static void
test_err_expected_number(void)
{
    EXPECT_ERRORS("detection = {\n\n  min_ratio = true;\n};\n",
                  "t.conf:3: detection.min_ratio: expected a number, got a "
                  "boolean\n");
}

static void
test_err_expected_boolean(void)
{
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"webhook\";\n"
                  "  url = \"http://h/\"; send_resolved = 1; } );\n",
                  "t.conf:2: receivers[0].send_resolved: expected a boolean "
                  "(true or false), got an integer\n");
}

static void
test_err_control_remote(void)
{
    EXPECT_ERRORS("\ncontrol = {\n  listen = \"tcp://127.0.0.1:5556\"; };\n",
                  "t.conf:3: control.listen: \"tcp://127.0.0.1:5556\" is not "
                  "a local (ipc) socket; set control.remote = true to allow "
                  "control from the network\n");
}

static void
test_err_expected_group(void)
{
    EXPECT_ERRORS("\nredis = 5;\n",
                  "t.conf:2: redis: expected a group, got an integer\n");
}

static void
test_err_receivers_expected_list(void)
{
    EXPECT_ERRORS("receivers = { name = \"a\"; };\n",
                  "t.conf:1: receivers: expected a list, got a group\n");
}

static void
test_err_receiver_expected_group(void)
{
    EXPECT_ERRORS("receivers = (\n  \"oncall\" );\n",
                  "t.conf:2: receivers[0]: expected a group, got a string\n");
}

static void
test_err_below_minimum(void)
{
    EXPECT_ERRORS("detection = {\n  bucket = 0;\n};\n",
                  "t.conf:2: detection.bucket: 0 is below the minimum 1\n");
}

static void
test_err_above_maximum(void)
{
    EXPECT_ERRORS("redis = { batch = 100001; };\n",
                  "t.conf:1: redis.batch: 100001 is above the maximum "
                  "100000\n");
    EXPECT_ERRORS("detection = { sensitivity = 1.5; };\n",
                  "t.conf:1: detection.sensitivity: 1.5 is above the maximum "
                  "1\n");
}

static void
test_zones_per_topic(void)
{
    struct tocsin_config *cfg = LOAD_OK(
        "detection = { timezone = \"Europe/Paris\";\n"
        "  zones = ( { timezone = \"America/New_York\";\n"
        "              topics = [\"AirNova US\", \"*-us\"]; },\n"
        "            { timezone = \"UTC\"; topics = \"lab-*\"; } ); };\n");
    REQUIRE(cfg);
    CHECK_STR(tocsin_tz_name(cfg->detection.tz), "Europe/Paris");
    REQUIRE(cfg->detection.nzones == 2);
    const struct tocsin_topic_zone *z = cfg->detection.zones;
    REQUIRE(z[0].tz != NULL);
    CHECK_STR(tocsin_tz_name(z[0].tz), "America/New_York");
    REQUIRE(z[0].npatterns == 2);
    CHECK_STR(z[0].patterns[0], "AirNova US");
    CHECK_STR(z[0].patterns[1], "*-us");
    CHECK(z[1].tz == NULL);
    REQUIRE(z[1].npatterns == 1);
    CHECK_STR(z[1].patterns[0], "lab-*");
    tocsin_config_free(cfg);
    EXPECT_ERRORS(
        "detection = { zones = (\n"
        "  { timezone = \"America/New_York\"; topics = [\"a\"]; },\n"
        "  { timezone = \"Mars/Olympus\"; topics = [\"b\"]; },\n"
        "  { timezone = \"UTC\"; },\n"
        "  { timezone = \"UTC\"; topics = []; tpoics = 1; },\n"
        "  \"x\" ); };\n",
        "t.conf:3: detection.zones[1].timezone: unknown time zone "
        "\"Mars/Olympus\" (a name of the TZ database, e.g. "
        "\"Europe/Paris\")\n"
        "t.conf:4: detection.zones[2]: missing required key \"topics\"\n"
        "t.conf:5: detection.zones[3].topics: at least one topic pattern is "
        "required\n"
        "t.conf:5: detection.zones[3]: unknown key \"tpoics\" (did you mean "
        "\"topics\"?)\n"
        "t.conf:6: detection.zones[4]: expected a group, got a string\n");
}

static void
test_err_unknown_time_zone(void)
{
    EXPECT_ERRORS("detection = {\n  timezone = \"Mars/Olympus\";\n};\n",
                  "t.conf:2: detection.timezone: unknown time zone "
                  "\"Mars/Olympus\" (a name of the TZ database, e.g. "
                  "\"Europe/Paris\")\n");
    EXPECT_ERRORS("detection = { timezone = \"../etc/passwd\"; };\n",
                  "t.conf:1: detection.timezone: unknown time zone "
                  "\"../etc/passwd\" (a name of the TZ database, e.g. "
                  "\"Europe/Paris\")\n");
}

static void
test_err_float_below_minimum(void)
{
    EXPECT_ERRORS("detection = { negative_threshold = -2; };\n",
                  "t.conf:1: detection.negative_threshold: -2 is below the "
                  "minimum -1\n");
}

static void
test_err_must_be_greater(void)
{
    EXPECT_ERRORS("detection = { fire_score = 0.0; };\n",
                  "t.conf:1: detection.fire_score: 0 must be greater than "
                  "0\n");
}

static void
test_err_integer_wrapped_by_libconfig(void)
{
    /* libconfig 1.5 would store -1294967296: the real value is reported. */
    EXPECT_ERRORS("redis = {\n  batch = 3000000000;\n};\n",
                  "t.conf:2: redis.batch: 3000000000 is above the maximum "
                  "100000\n");
    EXPECT_ERRORS("redis = { batch = 99999999999999999999; };\n",
                  "t.conf:1: redis.batch: integer out of range\n");
}

static void
test_err_integer_out_of_range(void)
{
    EXPECT_ERRORS("redis = { batch = 5; block_ms = 3000000000; };\n",
                  "t.conf:1: redis.batch: integer out of range\n"
                  "t.conf:1: redis.block_ms: integer out of range\n");
}

static void
test_err_unknown_key_root(void)
{
    EXPECT_ERRORS("redis = { };\n\ndetecton = { bucket = 60; };\n",
                  "t.conf:3: unknown key \"detecton\" (did you mean "
                  "\"detection\"?)\n");
}

static void
test_err_unknown_key_nested(void)
{
    EXPECT_ERRORS("redis = {\n  bacth = 10;\n};\n",
                  "t.conf:2: redis: unknown key \"bacth\" (did you mean "
                  "\"batch\"?)\n");
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"webhook\";\n"
                  "  url = \"http://h/\"; timeout = 5; } );\n",
                  "t.conf:2: receivers[0]: unknown key \"timeout\" (did you "
                  "mean \"timeout_ms\"?)\n");
}

static void
test_err_unknown_key_no_suggestion(void)
{
    EXPECT_ERRORS("frobnicate = 1;\n",
                  "t.conf:1: unknown key \"frobnicate\"\n");
}

static void
test_err_unknown_receiver_type(void)
{
    EXPECT_ERRORS("receivers = ( {\n  name = \"a\";\n  type = \"slak\";\n"
                  "  url = \"http://h/\"; } );\n",
                  "t.conf:3: receivers[0].type: unknown receiver type "
                  "\"slak\" (did you mean \"slack\"?)\n");
}

static void
test_err_duplicate_receiver(void)
{
    EXPECT_ERRORS(
        "receivers = (\n"
        "  { name = \"oncall\"; type = \"webhook\"; url = \"http://h/\"; },\n"
        "  { name = \"oncall\"; type = \"webhook\"; url = \"http://h/\"; }\n"
        ");\n",
        "t.conf:3: receivers[1].name: duplicate receiver name \"oncall\"\n");
}

static void
test_err_receiver_name_chars(void)
{
    EXPECT_ERRORS("receivers = ( { name = \"on call\"; type = \"webhook\";"
                  " url = \"http://h/\"; } );\n",
                  "t.conf:1: receivers[0].name: \"on call\" may contain only "
                  "letters, digits, '_', '.' and '-'\n");
}

static void
test_err_missing_required_key(void)
{
    EXPECT_ERRORS("receivers = (\n  {\n    name = \"a\";\n"
                  "    type = \"webhook\";\n  }\n);\n",
                  "t.conf:2: receivers[0]: missing required key \"url\"\n");
}

static void
test_err_redis_url(void)
{
    EXPECT_ERRORS("redis = {\n  url = \"redis://:hunter2@db:notaport\";\n};\n",
                  "t.conf:2: redis.url: cannot parse "
                  "\"redis://REDACTED@db:notaport\" (expected "
                  "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or "
                  "unix:///PATH[?db=DB])\n");
}

static void
test_err_http_url(void)
{
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"webhook\";\n"
                  "  url = \"ftp://u:pw@h/x\"; } );\n",
                  "t.conf:2: receivers[0].url: \"ftp://REDACTED@h/x\" is not "
                  "an http:// or https:// URL\n");
    EXPECT_ERRORS("alerts = { external_url = \"localhost:9797\"; };\n",
                  "t.conf:1: alerts.external_url: \"localhost:9797\" is not "
                  "an http:// or https:// URL\n");
}

static void
test_err_no_streams(void)
{
    EXPECT_ERRORS("redis = { streams = []; };\n",
                  "t.conf:1: redis.streams: at least one stream is "
                  "required\n");
}

static void
test_err_duplicate_stream(void)
{
    EXPECT_ERRORS("redis = { streams = [\"a\",\n \"a\"]; };\n",
                  "t.conf:2: redis.streams[1]: duplicate stream \"a\"\n");
}

static void
test_err_streams_type(void)
{
    EXPECT_ERRORS("redis = { streams = 5; };\n",
                  "t.conf:1: redis.streams: expected a string or an array of "
                  "strings, got an integer\n");
    EXPECT_ERRORS("redis = { streams = (\"a\", 5); };\n",
                  "t.conf:1: redis.streams[1]: expected a string, got an "
                  "integer\n");
}

static void
test_err_empty_string(void)
{
    EXPECT_ERRORS("redis = { group = \"\"; };\n",
                  "t.conf:1: redis.group: must not be empty\n");
}

static void
test_err_resolve_not_below_fire(void)
{
    EXPECT_ERRORS("detection = {\n  fire_score = 0.8;\n"
                  "  resolve_score = 0.8;\n};\n",
                  "t.conf:3: detection.resolve_score: 0.8 must be below "
                  "detection.fire_score (0.8)\n");
}

static void
test_err_redis_password_conflict(void)
{
    EXPECT_ERRORS("redis = {\n  url = \"redis://:hunter2@db\";\n"
                  "  password = \"hunter3\";\n};\n",
                  "t.conf:3: redis.password: only one of a password in url, "
                  "password and password_file may be given\n");
}

static void
test_err_field_above_entry(void)
{
    EXPECT_ERRORS("redis = { max_entry_bytes = 1024;\n"
                  "  max_field_bytes = 2048; };\n",
                  "t.conf:2: redis.max_field_bytes: 2048 is above "
                  "redis.max_entry_bytes (1024)\n");
}

static void
test_err_backoff_max_below_min(void)
{
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"webhook\";\n"
                  "  url = \"http://h/\"; backoff_min_ms = 5000;\n"
                  "  backoff_max_ms = 1000; } );\n",
                  "t.conf:3: receivers[0].backoff_max_ms: 1000 is below "
                  "receivers[0].backoff_min_ms (5000)\n");
}

static void
test_err_log_level(void)
{
    EXPECT_ERRORS("log = { level = \"verbose\"; };\n",
                  "t.conf:1: log.level: unknown level \"verbose\" (known: "
                  "error, warning, notice, info, debug)\n");
}

static void
test_err_nn_address(void)
{
    EXPECT_ERRORS("publish = { listen = \"tcp://localhost\"; };\n",
                  "t.conf:1: publish.listen: cannot parse \"tcp://localhost\" "
                  "(expected ipc://PATH, tcp://HOST:PORT, "
                  "ws://HOST:PORT[/PATH] or inproc://NAME)\n");
}

static void
test_err_host_port(void)
{
    EXPECT_ERRORS("http = { listen = \"127.0.0.1:99999\"; };\n",
                  "t.conf:1: http.listen: cannot parse \"127.0.0.1:99999\" "
                  "(expected HOST:PORT)\n");
}

static void
test_err_missing_file(void)
{
    struct tocsin_errbuf eb = {0};
    struct tocsin_config *cfg = SENTINEL;
    CHECK_ERR(tocsin_config_load(&cfg, "/nonexistent/tocsind.conf", &eb),
              TOCSIN_EIO);
    CHECK(cfg == SENTINEL);
    CHECK_STR(eb.text, "/nonexistent/tocsind.conf: cannot open: No such file "
                       "or directory\n");
    tocsin_errbuf_clear(&eb);
}

static void
test_multiple_errors_all_reported(void)
{
    EXPECT_ERRORS("redis = { batch = 0; bach = 1; };\n"
                  "detection = { bucket = \"60\"; };\n"
                  "receivers = (\n"
                  "  { name = \"x\"; type = \"slak\"; url = \"http://h/\"; },\n"
                  "  { name = \"x\"; type = \"webhook\"; url = \"gopher://h\";"
                  " }\n"
                  ");\n"
                  "logg = { };\n",
                  "t.conf:1: redis.batch: 0 is below the minimum 1\n"
                  "t.conf:1: redis: unknown key \"bach\" (did you mean "
                  "\"batch\"?)\n"
                  "t.conf:2: detection.bucket: expected an integer, got a "
                  "string\n"
                  "t.conf:4: receivers[0].type: unknown receiver type "
                  "\"slak\" (did you mean \"slack\"?)\n"
                  "t.conf:5: receivers[1].url: \"gopher://h\" is not an "
                  "http:// or https:// URL\n"
                  "t.conf:5: receivers[1].name: duplicate receiver name "
                  "\"x\"\n"
                  "t.conf:7: unknown key \"logg\" (did you mean \"log\"?)\n");
}

/* Cross-key checks still run beside other errors, but not on a value that
 * was itself rejected. */
static void
test_cross_checks_beside_other_errors(void)
{
    EXPECT_ERRORS("detection = { bukcet = 60;\n"
                  "  fire_score = 0.5; resolve_score = 0.6; };\n",
                  "t.conf:1: detection: unknown key \"bukcet\" (did you mean "
                  "\"bucket\"?)\n"
                  "t.conf:2: detection.resolve_score: 0.6 must be below "
                  "detection.fire_score (0.5)\n");
    EXPECT_ERRORS("detection = { fire_score = 2;\n  resolve_score = 0.95; };\n",
                  "t.conf:1: detection.fire_score: 2 is above the maximum "
                  "1\n");
}

static void
test_secrets_never_echoed(void)
{
    struct tocsin_errbuf eb = {0};
    struct tocsin_config *cfg = NULL;
    tocsin_err e = tocsin_config_load_string(
        &cfg,
        "redis = { url = \"redis://:hunter2@h:x\"; password = \"hunter3\"; };"
        "\nreceivers = ( { name = \"a\"; type = \"webhook\";"
        " url = \"http://h/?token=hunter4\"; secret = \"\"; } );\n",
        "t.conf", &eb);
    CHECK(e == TOCSIN_ECONFIG);
    REQUIRE(eb.text);
    CHECK(strstr(eb.text, "hunter") == NULL);
    tocsin_errbuf_clear(&eb);
}

static void
test_receiver_types(void)
{
    struct tocsin_config *cfg = LOAD_OK(
        "receivers = (\n"
        "  { name = \"n\"; url = \"ntfys://tk_1@ntfy.example/crisis\";\n"
        "    priority_map = { critical = 5; resolved = 1; }; },\n"
        "  { name = \"p\"; type = \"pagerduty\";\n"
        "    routing_key = \"0123456789abcdef0123456789abcdef\"; },\n"
        "  { name = \"o\"; url = \"pover://ukey@atoken\"; retry = 30;"
        " expire = 600; },\n"
        "  { name = \"t\"; type = \"telegram\"; token = \"1:A\";"
        " chat_id = \"-5\"; rate = 0.5; burst = 2; down_after = 3; }\n"
        ");\n");
    REQUIRE(cfg && cfg->nreceivers == 4);
    const struct tocsin_receiver_config *r = &cfg->receivers[0];
    CHECK(r->type == TOCSIN_RECEIVER_NTFY);
    CHECK_STR(r->url, "https://ntfy.example");
    CHECK_STR(r->topic, "crisis");
    CHECK_STR(r->token, "tk_1");
    CHECK(r->priority_set ==
          ((1u << TOCSIN_PRIO_CRITICAL) | (1u << TOCSIN_PRIO_RESOLVED)));
    CHECK(r->priority[TOCSIN_PRIO_RESOLVED] == 1);
    r = &cfg->receivers[1];
    CHECK(r->type == TOCSIN_RECEIVER_PAGERDUTY && r->url == NULL);
    CHECK_STR(r->token, "0123456789abcdef0123456789abcdef");
    r = &cfg->receivers[2];
    CHECK(r->type == TOCSIN_RECEIVER_PUSHOVER);
    CHECK_STR(r->user, "ukey");
    CHECK_STR(r->token, "atoken");
    CHECK(r->retry_s == 30 && r->expire_s == 600);
    r = &cfg->receivers[3];
    CHECK(r->rate_per_s == 0.5 && r->burst == 2 && r->down_after == 3);
    CHECK(cfg->receivers[0].down_after == 5);
    tocsin_config_free(cfg);
}

static void
test_err_receiver_types(void)
{
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"ntfy\"; } );\n",
                  "t.conf:1: receivers[0]: missing required key \"topic\"\n");
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"slack\";\n"
                  "  url = \"http://h/\"; topic = \"x\"; } );\n",
                  "t.conf:2: receivers[0].topic: not used by type slack\n");
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"slack\";\n"
                  "  url = \"tgram://1:A/5\"; } );\n",
                  "t.conf:2: receivers[0].url: a telegram URL, but type is "
                  "\"slack\"\n");
    EXPECT_ERRORS("receivers = ( { name = \"a\";\n"
                  "  url = \"tgram://123:ABC\"; } );\n",
                  "t.conf:2: receivers[0].url: cannot parse "
                  "\"tgram://REDACTED\": expected tgram://BOTTOKEN/CHAT_ID\n");
    EXPECT_ERRORS("receivers = ( { name = \"a\"; url = \"pover://u@t\";\n"
                  "  token = \"x\"; } );\n",
                  "t.conf:2: receivers[0].token: also given in url\n");
    EXPECT_ERRORS("receivers = ( { name = \"a\"; url = \"pover://u@t\";\n"
                  "  priority_map = { critical = 5; }; } );\n",
                  "t.conf:2: receivers[0].priority_map.critical: 5 is not a "
                  "pushover priority (-2 to 2)\n");
    EXPECT_ERRORS("receivers = ( { name = \"a\"; url = \"ntfy://t\";\n"
                  "  priority_map = { urgent = 5; }; } );\n",
                  "t.conf:2: receivers[0].priority_map: unknown severity "
                  "\"urgent\" (known: critical, error, warning, info, "
                  "resolved)\n");
    EXPECT_ERRORS("receivers = ( { name = \"a\"; url = \"http://h/\"; } );\n",
                  "t.conf:1: receivers[0]: missing required key \"type\"\n");
    EXPECT_ERRORS("receivers = ( { name = \"a\"; type = \"pagerduty\";\n"
                  "  routing_key = \"k\"; api_key = \"k\"; } );\n",
                  "t.conf:2: receivers[0].api_key: only one of token, "
                  "routing_key and api_key (or their _file forms) may be "
                  "given\n"
                  "t.conf:2: receivers[0].api_key: not used by type "
                  "pagerduty\n");
}

TOCSIN_TESTS(
    TOCSIN_TEST(test_receiver_types), TOCSIN_TEST(test_err_receiver_types),
    TOCSIN_TEST(test_minimal_defaults), TOCSIN_TEST(test_empty_file_loads),
    TOCSIN_TEST(test_values_override), TOCSIN_TEST(test_example_file_loads),
    TOCSIN_TEST(test_docs_list_every_key), TOCSIN_TEST(test_receiver_lookup),
    TOCSIN_TEST(test_free_null), TOCSIN_TEST(test_errbuf),
    TOCSIN_TEST(test_secret_file_relative), TOCSIN_TEST(test_secret_credential),
    TOCSIN_TEST(test_err_credential_missing),
    TOCSIN_TEST(test_err_credentials_directory_unset),
    TOCSIN_TEST(test_err_credential_name),
    TOCSIN_TEST(test_err_secret_file_unreadable),
    TOCSIN_TEST(test_err_secret_file_empty),
    TOCSIN_TEST(test_tls_ca_file_relative), TOCSIN_TEST(test_tls_client_cert),
    TOCSIN_TEST(test_err_tls_ca_file_missing),
    TOCSIN_TEST(test_err_tls_ca_file_not_a_certificate),
    TOCSIN_TEST(test_err_secret_file_too_large),
    TOCSIN_TEST(test_err_in_included_file),
    TOCSIN_TEST(test_err_secret_conflict), TOCSIN_TEST(test_err_syntax),
    TOCSIN_TEST(test_err_expected_integer_got_string),
    TOCSIN_TEST(test_err_expected_integer_got_float),
    TOCSIN_TEST(test_err_expected_number),
    TOCSIN_TEST(test_err_expected_boolean),
    TOCSIN_TEST(test_err_control_remote), TOCSIN_TEST(test_err_expected_group),
    TOCSIN_TEST(test_err_receivers_expected_list),
    TOCSIN_TEST(test_err_receiver_expected_group),
    TOCSIN_TEST(test_err_below_minimum), TOCSIN_TEST(test_err_above_maximum),
    TOCSIN_TEST(test_err_unknown_time_zone),
    TOCSIN_TEST(test_zones_per_topic),
    TOCSIN_TEST(test_err_float_below_minimum),
    TOCSIN_TEST(test_err_must_be_greater),
    TOCSIN_TEST(test_err_integer_wrapped_by_libconfig),
    TOCSIN_TEST(test_err_integer_out_of_range),
    TOCSIN_TEST(test_err_unknown_key_root),
    TOCSIN_TEST(test_err_unknown_key_nested),
    TOCSIN_TEST(test_err_unknown_key_no_suggestion),
    TOCSIN_TEST(test_err_unknown_receiver_type),
    TOCSIN_TEST(test_err_duplicate_receiver),
    TOCSIN_TEST(test_err_receiver_name_chars),
    TOCSIN_TEST(test_err_missing_required_key), TOCSIN_TEST(test_err_redis_url),
    TOCSIN_TEST(test_err_http_url), TOCSIN_TEST(test_err_no_streams),
    TOCSIN_TEST(test_err_duplicate_stream), TOCSIN_TEST(test_err_streams_type),
    TOCSIN_TEST(test_err_empty_string),
    TOCSIN_TEST(test_err_resolve_not_below_fire),
    TOCSIN_TEST(test_err_redis_password_conflict),
    TOCSIN_TEST(test_err_field_above_entry),
    TOCSIN_TEST(test_err_backoff_max_below_min),
    TOCSIN_TEST(test_err_log_level), TOCSIN_TEST(test_err_nn_address),
    TOCSIN_TEST(test_err_host_port), TOCSIN_TEST(test_err_missing_file),
    TOCSIN_TEST(test_multiple_errors_all_reported),
    TOCSIN_TEST(test_cross_checks_beside_other_errors),
    TOCSIN_TEST(test_secrets_never_echoed))
