/*
 * config_oncall_test.c: the on-call sections of tocsind.conf: a full
 * example loads and behaves; each error message is reported as
 * file:line, all of them at once; `tocsind -t` exits 2 on them; every key
 * is documented.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docs_fixture.h"
#include "tocsin/config.h"
#include "tocsin/oncall.h"
#include "tocsin/oncall_view.h"
#include "tocsin_test.h"

#define RECEIVERS                                                              \
    "receivers = (\n"                                                          \
    " { name = \"team-chat\"; type = \"webhook\"; url = "                      \
    "\"http://127.0.0.1:1/t\"; },\n"                                           \
    " { name = \"ntfy-marie\"; type = \"webhook\"; url = "                     \
    "\"http://127.0.0.1:1/m\"; },\n"                                           \
    " { name = \"ntfy-paul\"; type = \"webhook\"; url = "                      \
    "\"http://127.0.0.1:1/p\"; },\n"                                           \
    " { name = \"emergency\"; type = \"webhook\"; url = "                      \
    "\"http://127.0.0.1:1/e\"; } );\n"

static const char full[] = RECEIVERS
    "oncall = { timezone = \"Europe/Paris\"; ack_secret = \"s3cret\";\n"
    "           ack_ttl = 3600; silence_retention = 86400; };\n"
    "time_intervals = (\n"
    "  { name = \"quiet\"; time_intervals = (\n"
    "      { times = ( { start_time = \"22:00\"; end_time = \"24:00\"; },\n"
    "                  { start_time = \"00:00\"; end_time = \"07:00\"; } );\n"
    "        location = \"Europe/Paris\"; } ); },\n"
    "  { name = \"weekend\"; time_intervals = (\n"
    "      { weekdays = [\"saturday\", \"sunday\"]; months = [\"1:12\"];\n"
    "        days_of_month = [\"1:31\"]; years = [\"2026:2030\"];\n"
    "        location = \"Europe/Paris\"; } ); } );\n"
    "people = (\n"
    "  { name = \"marie\"; full_name = \"Marie\"; receivers = "
    "[\"ntfy-marie\"]; },\n"
    "  { name = \"paul\"; receivers = [\"ntfy-paul\"]; },\n"
    "  { name = \"lea\"; receivers = [\"team-chat\"]; } );\n"
    "schedules = (\n"
    "  { name = \"primary\"; timezone = \"Europe/Paris\";\n"
    "    layers = (\n"
    "      { name = \"weekdays\"; users = [\"lea\"]; rotation = \"daily\";\n"
    "        start = \"2026-11-30\"; handoff = \"09:00\"; },\n"
    "      { name = \"weekends\"; users = [\"marie\", \"paul\"];\n"
    "        rotation = \"weekly\"; start = \"2026-12-05\"; handoff = "
    "\"09:00\";\n"
    "        restriction = \"weekend\"; } );\n"
    "    overrides = ( { user = \"marie\"; start = \"2026-12-12T18:00\";\n"
    "                    end = \"2026-12-13T09:00\"; } ); } );\n"
    "escalation_policies = (\n"
    "  { name = \"crisis\"; repeat = 1; announce = [\"receiver:team-chat\"];\n"
    "    steps = ( { notify = [\"schedule:primary\"]; wait = 300; },\n"
    "              { notify = [\"emergency\"]; wait = 300; },\n"
    "              { notify = [\"user:paul\", \"team-chat\"]; wait = 600; } ); "
    "} );\n"
    "route = {\n"
    "  receiver = \"team-chat\"; group_by = [\"alertname\", \"topic\"];\n"
    "  group_wait = 30; group_interval = 300; repeat_interval = 14400;\n"
    "  mute_time_intervals = [\"quiet\"];\n"
    "  routes = (\n"
    "    { matchers = [\"severity=\\\"critical\\\"\"]; escalation = "
    "\"crisis\";\n"
    "      continue = true; },\n"
    "    { matchers = [\"topic=~\\\"Blue.*\\\"\"]; receiver = "
    "\"schedule:primary\";\n"
    "      active_time_intervals = [\"weekend\"]; } ); };\n"
    "inhibit_rules = (\n"
    "  { source_matchers = [\"alertname=\\\"MentionVolumeSpike\\\"\",\n"
    "                       \"severity=\\\"critical\\\"\"];\n"
    "    target_matchers = [\"severity=\\\"warning\\\"\"];\n"
    "    equal = [\"topic\"]; } );\n";

static void
test_full_example_loads(void)
{
    struct tocsin_config *cfg = NULL;
    struct tocsin_errbuf eb = {0};
    CHECK_OK(tocsin_config_load_string(&cfg, full, "t.conf", &eb));
    if (eb.text)
        fprintf(stderr, "%s", eb.text);
    REQUIRE(cfg && cfg->oncall);
    struct tocsin_oncall_config *oc = cfg->oncall;
    CHECK(oc->nintervals == 2 && oc->npeople == 3 && oc->nschedules == 1 &&
          oc->npolicies == 1);
    CHECK_STR(oc->ack_secret, "s3cret");
    CHECK(oc->ack_ttl_s == 3600 && oc->silence_retention_s == 86400);
    CHECK_STR(tocsin_tz_name(oc->tz), "Europe/Paris");
    CHECK_STR(oc->people[0].full_name, "Marie");
    CHECK_STR(oc->people[1].full_name, "paul");
    const struct tocsin_schedule *s =
        tocsin_oncall_config_schedule(oc, "primary");
    REQUIRE(s);
    int64_t sat = tocsin_tz_mktime(oc->tz, 2026, 12, 12, 20, 0, 0);
    CHECK_STR(tocsin_schedule_oncall(s, sat), "marie"); /* override */
    CHECK_STR(tocsin_schedule_oncall(s, sat - 3 * 3600), "paul");
    CHECK_STR(tocsin_schedule_oncall(s, sat - 2 * 86400), "lea");

    struct tocsin_oncall *on = NULL;
    REQUIRE(tocsin_oncall_new(&on, oc) == TOCSIN_OK);
    struct tocsin_label l[] = {{"alertname", "MentionVolumeSpike"},
                               {"topic", "BluePhone"},
                               {"severity", "critical"}};
    struct tocsin_labelset ls = {l, 3};
    char *txt = NULL;
    CHECK_OK(tocsin_oncall_routes_test(on, &ls, sat, &txt));
    REQUIRE(txt);
    CHECK(strstr(txt, "route root/0: escalation crisis") != NULL);
    CHECK(strstr(txt, "step 1: schedule:primary (now marie: ntfy-marie)") !=
          NULL);
    CHECK(strstr(txt, "route root/1: schedule:primary") != NULL);
    free(txt);
    /* a warning on a weekday is held outside the weekend interval */
    l[2].value = "warning";
    CHECK_OK(tocsin_oncall_routes_test(on, &ls, sat - 2 * 86400, &txt));
    CHECK(strstr(txt, "held now by quiet hours (weekend)") != NULL);
    CHECK(strstr(txt, "route root/0") == NULL);
    free(txt);
    tocsin_oncall_free(on);
    tocsin_config_free(cfg);
    tocsin_errbuf_clear(&eb);

    /* no on-call keys: no on-call config */
    CHECK_OK(tocsin_config_load_string(&cfg, RECEIVERS, "t.conf", NULL));
    REQUIRE(cfg);
    CHECK(cfg->oncall == NULL);
    tocsin_config_free(cfg);
}

/* Load text, expect failure, and that every wanted line is reported. */
static void
expect_errors(const char *text, const char *const *want, size_t n)
{
    struct tocsin_config *cfg = NULL;
    struct tocsin_errbuf eb = {0};
    CHECK_ERR(tocsin_config_load_string(&cfg, text, "t.conf", &eb),
              TOCSIN_ECONFIG);
    CHECK(cfg == NULL);
    for (size_t i = 0; i < n; i++)
        if (!eb.text || !strstr(eb.text, want[i])) {
            fprintf(stderr, "missing \"%s\" in:\n%s\n", want[i],
                    eb.text ? eb.text : "(nothing)");
            tocsin_test_failed_checks++;
        }
    tocsin_errbuf_clear(&eb);
}

static void
test_errors_all_reported_with_lines(void)
{
    static const char bad[] = RECEIVERS
        "oncall = { timezone = \"Mars/Base\"; ack_ttl = 5; colour = 1; };\n"
        "time_intervals = ( { name = \"q\"; time_intervals = (\n"
        "  { weekdays = [\"funday\"]; } ); },\n"
        "  { name = \"q\"; time_intervals = ( ); } );\n"
        "people = ( { name = \"marie\"; receivers = [\"pager\"]; } );\n"
        "schedules = ( { name = \"s\"; layers = (\n"
        "  { users = [\"bob\"]; rotation = \"monthly\"; start = \"x\"; } );\n"
        "  overrides = ( { user = \"marie\"; start = \"2026-12-12T18:00\";\n"
        "                  end = \"2026-12-12T17:00\"; } ); } );\n"
        "escalation_policies = ( { name = \"p\"; steps = (\n"
        "  { notify = [\"schedule:nope\", \"user:ghost\"]; wait = -1; } ); } "
        ");\n"
        "route = { receiver = \"nobody\"; escalation = \"none\";\n"
        "  mute_time_intervals = [\"never\"];\n"
        "  routes = ( { matchers = [\"topic=~\\\"(\\\"\"]; } ); };\n"
        "inhibit_rules = ( { source_matchers = [\"a=b\"]; } );\n";
    const char *want[] = {
        "t.conf:6: oncall.timezone: unknown time zone \"Mars/Base\"",
        "t.conf:6: oncall.ack_ttl: 5 is outside [60, 2592000]",
        "t.conf:6: oncall: unknown key \"colour\"",
        "t.conf:8: time_intervals[0].time_intervals[0].weekdays: "
        "\"funday\" is not a valid value or range",
        "t.conf:9: time_intervals[1].name: duplicate time interval \"q\"",
        "t.conf:10: people[0].receivers: no receiver named \"pager\"",
        "t.conf:12: schedules[0].layers[0].users: no person named \"bob\"",
        "t.conf:12: schedules[0].layers[0].rotation: \"monthly\" is not "
        "daily or weekly",
        "t.conf:14: schedules[0].overrides[0].end: must be after start",
        "t.conf:16: escalation_policies[0].steps[0]: no schedule named "
        "\"nope\"",
        "escalation_policies[0].steps[0]: no person named \"ghost\"",
        "escalation_policies[0].steps[0].wait: -1 is outside",
        "t.conf:17: route receiver: no receiver named \"nobody\"",
        "t.conf:17: route.escalation: no escalation policy named \"none\"",
        "t.conf:18: route.mute_time_intervals: no time interval named "
        "\"never\"",
        "t.conf:19: route.routes[0].matchers: bad matcher",
        "t.conf:20: inhibit_rules[0]: needs source_matchers and "
        "target_matchers",
    };
    expect_errors(bad, want, sizeof want / sizeof want[0]);

    const char *w2[] = {"t.conf:1: route.matchers: the root route matches "
                        "every alert",
                        "t.conf:1: route.group_wait: expected an integer"};
    expect_errors("route = { matchers = [\"a=b\"]; group_wait = \"x\"; };\n",
                  w2, 2);
    const char *w3[] = {"t.conf:1: schedules[0].layers: expected a list of "
                        "at least one layer",
                        "t.conf:2: escalation_policies: expected a list"};
    expect_errors("schedules = ( { name = \"s\"; } );\n"
                  "escalation_policies = 3;\n",
                  w3, 2);
    const char *w4[] = {"oncall: give ack_secret or ack_secret_file, not "
                        "both"};
    expect_errors("oncall = { ack_secret = \"a\"; ack_secret_file = \"f\"; };",
                  w4, 1);
    /* every list inside an item holds groups with known keys */
    const char *w5[] = {
        "t.conf:1: time_intervals[0].time_intervals[0]: expected a group",
        "t.conf:2: schedules[0].layers[0]: expected a group",
        "t.conf:3: schedules[0].overrides[0]: unknown key \"colour\"",
        "t.conf:4: escalation_policies[0].steps[0]: expected a group",
        "t.conf:5: escalation_policies[0].steps[1]: unknown key \"colour\"",
    };
    expect_errors(
        "time_intervals = ( { name = \"q\"; time_intervals = ( 1 ); } );\n"
        "schedules = ( { name = \"s\"; layers = ( 2 );\n"
        "  overrides = ( { colour = 1; } ); } );\n"
        "escalation_policies = ( { name = \"p\"; steps = ( \"x\",\n"
        "  { notify = [\"y\"]; colour = 1; } ); } );\n",
        w5, 5);
    const char *w6[] = {"t.conf:1: escalation_policies[0].steps: expected a "
                        "list of at least one step"};
    expect_errors("escalation_policies = ( { name = \"p\"; steps = ( ); } );\n",
                  w6, 1);
}

static void
test_tocsind_t_exits_2(void)
{
    const char *bdir = getenv("TOCSIN_BUILD_DIR");
    if (!bdir) {
        fprintf(stderr, "TOCSIN_BUILD_DIR unset: run through ctest\n");
        tocsin_test_failed_checks++;
        return;
    }
    char path[] = "/tmp/tocsin-oncall-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    const char *text = "route = { receiver = \"nobody\"; };\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/tocsind -t -c %s 2>&1", bdir, path);
    FILE *p = popen(cmd, "r");
    REQUIRE(p);
    char out[1024] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    CHECK(strstr(out, ":1: route receiver: no receiver named \"nobody\"") !=
          NULL);
    unlink(path);
}

static void
test_docs_list_every_oncall_key(void)
{
    static const char *const keys[] = {"oncall",
                                       "timezone",
                                       "ack_secret",
                                       "ack_secret_file",
                                       "ack_ttl",
                                       "silence_retention",
                                       "time_intervals",
                                       "start_time",
                                       "end_time",
                                       "weekdays",
                                       "days_of_month",
                                       "months",
                                       "years",
                                       "location",
                                       "people",
                                       "full_name",
                                       "receivers",
                                       "schedules",
                                       "layers",
                                       "users",
                                       "rotation",
                                       "start",
                                       "handoff",
                                       "restriction",
                                       "overrides",
                                       "user",
                                       "end",
                                       "escalation_policies",
                                       "steps",
                                       "notify",
                                       "wait",
                                       "repeat",
                                       "announce",
                                       "route",
                                       "matchers",
                                       "receiver",
                                       "escalation",
                                       "group_by",
                                       "group_wait",
                                       "group_interval",
                                       "repeat_interval",
                                       "continue",
                                       "mute_time_intervals",
                                       "active_time_intervals",
                                       "routes",
                                       "inhibit_rules",
                                       "source_matchers",
                                       "target_matchers",
                                       "equal"};
    CHECK(tocsin_test_docs_missing(keys, sizeof keys / sizeof keys[0]) == 0);
}

TOCSIN_TESTS(TOCSIN_TEST(test_full_example_loads),
             TOCSIN_TEST(test_errors_all_reported_with_lines),
             TOCSIN_TEST(test_tocsind_t_exits_2),
             TOCSIN_TEST(test_docs_list_every_oncall_key))
