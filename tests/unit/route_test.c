/*
 * route_test.c: the routing tree: matching, continue, inheritance, and
 * quiet hours that hold a warning and let a critical alert through.
 */
#include "tocsin/route.h"
#include "tocsin_test.h"

static struct tocsin_route *root;
static struct tocsin_timeint *quiet;

static void
build_tree(void)
{
    REQUIRE(tocsin_timeint_new(&quiet, "quiet") == TOCSIN_OK);
    const char *qt[] = {"22:00-24:00", "00:00-07:00"};
    struct tocsin_timeint_spec q = {.times = qt, .ntimes = 2};
    REQUIRE(tocsin_timeint_add(quiet, &q, NULL, 0) == TOCSIN_OK);

    struct tocsin_route_spec s;
    tocsin_route_spec_init(&s);
    s.receiver = "default";
    REQUIRE(tocsin_route_new(&root, &s, NULL, 0) == TOCSIN_OK);

    const char *crit[] = {"severity=\"critical\""};
    tocsin_route_spec_init(&s);
    s.matchers = crit;
    s.nmatchers = 1;
    s.receiver = "pager";
    s.escalation = "crisis";
    s.continue_ = 1;
    CHECK_OK(tocsin_route_add(root, &s, NULL, NULL, 0));

    const char *air[] = {"topic=~\"Air.*\""};
    const struct tocsin_timeint *mute[] = {quiet};
    struct tocsin_route *airr = NULL;
    tocsin_route_spec_init(&s);
    s.matchers = air;
    s.nmatchers = 1;
    s.receiver = "air-team";
    s.group_wait_s = 10;
    s.mute = mute;
    s.nmute = 1;
    s.mute_set = 1;
    CHECK_OK(tocsin_route_add(root, &s, &airr, NULL, 0));
    REQUIRE(airr);

    const char *neg[] = {"kind=\"negativity\""};
    const char *gb[] = {"topic"};
    tocsin_route_spec_init(&s);
    s.matchers = neg;
    s.nmatchers = 1;
    s.receiver = "air-neg";
    s.group_by = gb;
    s.ngroup_by = 1;
    s.group_by_set = 1;
    CHECK_OK(tocsin_route_add(airr, &s, NULL, NULL, 0));

    const char *blue[] = {"topic=\"BluePhone\""};
    tocsin_route_spec_init(&s);
    s.matchers = blue;
    s.nmatchers = 1;
    s.receiver = "schedule:blue";
    s.repeat_interval_s = 600;
    CHECK_OK(tocsin_route_add(root, &s, NULL, NULL, 0));
}

static size_t
route(const char *topic, const char *kind, const char *sev,
      const struct tocsin_route **out)
{
    struct tocsin_label l[] = {
        {"topic", topic}, {"kind", kind}, {"severity", sev}};
    struct tocsin_labelset ls = {l, 3};
    return tocsin_route_match(root, &ls, out, 8);
}

static void
test_route_matching_and_inheritance(void)
{
    build_tree();
    const struct tocsin_route *r[8];
    /* critical: pager (continue) and then the Air route */
    REQUIRE(route("AirNova", "volume", "critical", r) == 2);
    CHECK_STR(tocsin_route_receiver(r[0]), "pager");
    CHECK_STR(tocsin_route_escalation(r[0]), "crisis");
    CHECK_STR(tocsin_route_receiver(r[1]), "air-team");
    CHECK(tocsin_route_escalation(r[1]) == NULL);
    CHECK_STR(tocsin_route_id(r[1]), "root/1");
    CHECK(tocsin_route_group_wait(r[1]) == 10);
    CHECK(tocsin_route_group_interval(r[1]) == TOCSIN_ROUTE_GROUP_INTERVAL);
    /* the deepest match wins; settings inherited */
    REQUIRE(route("AirNova", "negativity", "warning", r) == 1);
    CHECK_STR(tocsin_route_receiver(r[0]), "air-neg");
    CHECK_STR(tocsin_route_id(r[0]), "root/1/0");
    CHECK(tocsin_route_group_wait(r[0]) == 10);
    size_t n;
    const char *const *gb = tocsin_route_group_by(r[0], &n);
    CHECK(n == 1 && strcmp(gb[0], "topic") == 0);
    /* no child: the root */
    REQUIRE(route("Other", "volume", "warning", r) == 1);
    CHECK_STR(tocsin_route_receiver(r[0]), "default");
    gb = tocsin_route_group_by(r[0], &n);
    CHECK(n == 2 && strcmp(gb[0], "alertname") == 0);
    CHECK(tocsin_route_repeat_interval(r[0]) == TOCSIN_ROUTE_REPEAT_INTERVAL);
    /* a route may target a schedule */
    REQUIRE(route("BluePhone", "volume", "warning", r) == 1);
    CHECK_STR(tocsin_route_receiver(r[0]), "schedule:blue");
    CHECK(tocsin_route_repeat_interval(r[0]) == 600);
    /* critical BluePhone: pager, then blue (continue) */
    REQUIRE(route("BluePhone", "volume", "critical", r) == 2);
    CHECK_STR(tocsin_route_receiver(r[1]), "schedule:blue");
    /* bad matcher */
    struct tocsin_route_spec s;
    tocsin_route_spec_init(&s);
    const char *bad[] = {"topic=~\"[\""};
    s.matchers = bad;
    s.nmatchers = 1;
    char err[128] = "";
    CHECK_ERR(tocsin_route_add(root, &s, NULL, err, sizeof err), TOCSIN_EINVAL);
    CHECK(strstr(err, "bad matcher") != NULL);
}

static void
test_quiet_hours_hold_warning_not_critical(void)
{
    const struct tocsin_route *r[8];
    REQUIRE(route("AirNova", "negativity", "warning", r) == 1);
    int64_t night = 1796426400LL; /* 2026-12-04T23:20:00Z */
    int64_t day = 1796390400LL;   /* 2026-12-04T13:20:00Z */
    const char *why = NULL;
    CHECK(tocsin_route_held(r[0], "warning", night, &why) == 1);
    CHECK_STR(why, "quiet"); /* inherited from the Air route */
    CHECK(tocsin_route_held(r[0], "warning", day, NULL) == 0);
    CHECK(tocsin_route_held(r[0], "critical", night, NULL) == 0);
    /* the root has no quiet hours */
    REQUIRE(route("Other", "volume", "warning", r) == 1);
    CHECK(tocsin_route_held(r[0], "warning", night, NULL) == 0);

    /* active intervals: outside office hours a warning waits */
    struct tocsin_timeint *office = NULL;
    REQUIRE(tocsin_timeint_new(&office, "office") == TOCSIN_OK);
    const char *ot[] = {"09:00-18:00"};
    struct tocsin_timeint_spec o = {.times = ot, .ntimes = 1};
    REQUIRE(tocsin_timeint_add(office, &o, NULL, 0) == TOCSIN_OK);
    const struct tocsin_timeint *act[] = {office};
    struct tocsin_route_spec s;
    tocsin_route_spec_init(&s);
    s.active = act;
    s.nactive = 1;
    s.active_set = 1;
    struct tocsin_route *office_root = NULL;
    REQUIRE(tocsin_route_new(&office_root, &s, NULL, 0) == TOCSIN_OK);
    CHECK(tocsin_route_held(office_root, "warning", night, &why) == 1);
    CHECK_STR(why, "office");
    CHECK(tocsin_route_held(office_root, "warning", day, NULL) == 0);
    CHECK(tocsin_route_held(office_root, "critical", night, NULL) == 0);
    tocsin_route_free(office_root);
    tocsin_timeint_free(office);
    tocsin_route_free(root);
    tocsin_timeint_free(quiet);
}

TOCSIN_TESTS(TOCSIN_TEST(test_route_matching_and_inheritance),
             TOCSIN_TEST(test_quiet_hours_hold_warning_not_critical))
