/*
 * oncall_test.c: the on-call core end to end, as the issue asks: an
 * escalation through three steps; an ack at step two stops it and is
 * announced to the team channel; quiet hours hold a warning and let a
 * critical alert through; a silence matches and expires; inhibition; a
 * restart mid-escalation continues at the right step; forged, expired or
 * reused ack links are refused.  Time is an argument: nothing sleeps.
 */
#include <jansson.h>
#include <stdlib.h>

#include "tocsin/oncall.h"
#include "tocsin/oncall_view.h"
#include "tocsin_test.h"

static struct tocsin_oncall_config *cfg;
static const struct tocsin_tz *paris;

static char **
strv(const char *const *v, size_t n)
{
    char **d = calloc(n, sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = strdup(v[i]);
    return d;
}

static void
add_person(const char *name, const char *full, const char *const *rcv, size_t n)
{
    cfg->people =
        realloc(cfg->people, (cfg->npeople + 1) * sizeof(*cfg->people));
    struct tocsin_person *p = &cfg->people[cfg->npeople++];
    p->name = strdup(name);
    p->full_name = strdup(full);
    p->receivers = strv(rcv, n);
    p->nreceivers = n;
}

static void
add_schedule(const char *name, const char *user)
{
    struct tocsin_schedule *s = NULL;
    REQUIRE(tocsin_schedule_new(&s, name, paris) == TOCSIN_OK);
    const char *u[] = {user};
    struct tocsin_schedule_layer l = {
        "l", u, 1, TOCSIN_ROTATION_DAILY, "2026-01-01", "09:00", NULL};
    REQUIRE(tocsin_schedule_add_layer(s, &l, NULL, 0) == TOCSIN_OK);
    cfg->schedules = realloc(cfg->schedules,
                             (cfg->nschedules + 1) * sizeof(*cfg->schedules));
    cfg->schedules[cfg->nschedules++] = s;
}

static void
setup(void)
{
    REQUIRE(tocsin_oncall_config_new(&cfg) == TOCSIN_OK);
    REQUIRE(tocsin_oncall_config_zone(cfg, "Europe/Paris", &paris) ==
            TOCSIN_OK);
    cfg->tz = (struct tocsin_tz *)paris;
    cfg->ack_secret = strdup("s3cret");
    cfg->ack_ttl_s = 3600;

    struct tocsin_timeint *quiet = NULL;
    REQUIRE(tocsin_timeint_new(&quiet, "quiet") == TOCSIN_OK);
    const char *qt[] = {"22:00-24:00", "00:00-07:00"};
    struct tocsin_timeint_spec q = {
        .times = qt, .ntimes = 2, .location = paris};
    REQUIRE(tocsin_timeint_add(quiet, &q, NULL, 0) == TOCSIN_OK);
    cfg->intervals = calloc(1, sizeof(*cfg->intervals));
    cfg->intervals[0] = quiet;
    cfg->nintervals = 1;

    const char *rm[] = {"ntfy-marie"}, *rp[] = {"ntfy-paul", "pushover-paul"};
    add_person("marie", "Marie", rm, 1);
    add_person("paul", "Paul", rp, 2);
    add_schedule("primary", "marie");
    add_schedule("secondary", "paul");

    struct tocsin_escalation *p = NULL;
    REQUIRE(tocsin_escalation_new(&p, "crisis", 0) == TOCSIN_OK);
    const char *s0[] = {"schedule:primary"}, *s1[] = {"receiver:emergency"};
    const char *s2[] = {"schedule:secondary", "receiver:team-chat"};
    const char *ann[] = {"receiver:team-chat"};
    REQUIRE(tocsin_escalation_add_step(p, s0, 1, 300) == TOCSIN_OK);
    REQUIRE(tocsin_escalation_add_step(p, s1, 1, 300) == TOCSIN_OK);
    REQUIRE(tocsin_escalation_add_step(p, s2, 2, 600) == TOCSIN_OK);
    REQUIRE(tocsin_escalation_set_announce(p, ann, 1) == TOCSIN_OK);
    cfg->policies = calloc(1, sizeof(*cfg->policies));
    cfg->policies[0] = p;
    cfg->npolicies = 1;

    struct tocsin_route_spec rs;
    tocsin_route_spec_init(&rs);
    const struct tocsin_timeint *mute[] = {quiet};
    rs.receiver = "team-chat";
    rs.group_wait_s = 30;
    rs.mute = mute;
    rs.nmute = 1;
    rs.mute_set = 1;
    REQUIRE(tocsin_route_new(&cfg->route, &rs, NULL, 0) == TOCSIN_OK);
    const char *crit[] = {"severity=\"critical\""};
    tocsin_route_spec_init(&rs);
    rs.matchers = crit;
    rs.nmatchers = 1;
    rs.escalation = "crisis";
    REQUIRE(tocsin_route_add(cfg->route, &rs, NULL, NULL, 0) == TOCSIN_OK);

    REQUIRE(tocsin_inhibit_new(&cfg->inhibit) == TOCSIN_OK);
    const char *src[] = {"alertname=\"MentionVolumeSpike\"",
                         "severity=\"critical\""};
    const char *tgt[] = {"severity=\"warning\""}, *eq[] = {"topic"};
    REQUIRE(tocsin_inhibit_add(cfg->inhibit, src, 2, tgt, 1, eq, 1, NULL, 0) ==
            TOCSIN_OK);
}

static void
teardown(void)
{
    tocsin_oncall_config_free(cfg);
    cfg = NULL;
}

static int64_t
at(int d, int h, int mi, int s)
{
    return tocsin_tz_mktime(paris, 2026, 12, d, h, mi, s);
}

static tocsin_err
fire(struct tocsin_oncall *oc, const char *fp, const char *name,
     const char *topic, const char *sev, int firing, int64_t now,
     struct tocsin_notes *out)
{
    struct tocsin_label l[] = {
        {"alertname", name},
        {"topic", topic},
        {"kind", name[0] == 'M' ? "volume" : "negativity"},
        {"severity", sev}};
    struct tocsin_labelset ls = {l, 4};
    char summary[128];
    snprintf(summary, sizeof summary, "%s: %s", topic, name);
    return tocsin_oncall_on_alert(oc, fp, &ls, firing, summary, now, out);
}

/* The note to receiver r of kind k, or NULL. */
static const struct tocsin_note *
note(const struct tocsin_notes *n, enum tocsin_note_kind k, const char *r)
{
    for (size_t i = 0; i < n->n; i++)
        if (n->v[i].kind == k && strcmp(n->v[i].receiver, r) == 0)
            return &n->v[i];
    return NULL;
}

static int
history_has(struct tocsin_oncall *oc, const char *fp, const char *text)
{
    char *j = NULL;
    if (tocsin_oncall_alert_json(oc, fp, &j) != TOCSIN_OK)
        return 0;
    int r = strstr(j, text) != NULL;
    free(j);
    return r;
}

/* The JSON body of note nt (links under ext), parsed; json_decref it. */
static json_t *
note_json(struct tocsin_oncall *oc, const struct tocsin_note *nt,
          const char *ext)
{
    char *body = NULL;
    CHECK_OK(tocsin_oncall_note_body(oc, nt, ext, &body));
    REQUIRE(body);
    json_t *o = json_loads(body, 0, NULL);
    free(body);
    REQUIRE(o);
    return o;
}

static void
test_escalation_three_steps(void)
{
    setup();
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(5, 14, 0, 0);
    CHECK_OK(fire(oc, "fp1", "MentionVolumeSpike", "AirNova", "critical", 1, t0,
                  &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 29, &n));
    CHECK(n.n == 0); /* group_wait */
    CHECK(tocsin_oncall_next_due(oc) == t0 + 30);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    REQUIRE(n.n == 1);
    CHECK(n.v[0].kind == TOCSIN_NOTE_ESCALATION);
    CHECK_STR(n.v[0].receiver, "ntfy-marie");
    CHECK_STR(n.v[0].user, "marie");
    CHECK(n.v[0].step == 0);
    CHECK(strstr(n.v[0].text, "escalation step 1/3") != NULL);
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 329, &n));
    CHECK(n.n == 0);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    REQUIRE(n.n == 1);
    CHECK_STR(n.v[0].receiver, "emergency");
    CHECK(n.v[0].step == 1);
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 630, &n));
    CHECK(n.n == 3); /* paul's two receivers and the team channel */
    CHECK(note(&n, TOCSIN_NOTE_ESCALATION, "ntfy-paul") != NULL);
    CHECK(note(&n, TOCSIN_NOTE_ESCALATION, "pushover-paul") != NULL);
    CHECK(note(&n, TOCSIN_NOTE_ESCALATION, "team-chat") != NULL);
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 100000, &n));
    CHECK(n.n == 0); /* repeat 0: exhausted */
    CHECK(tocsin_oncall_escalation(oc, "fp1")->status == TOCSIN_ESC_EXHAUSTED);
    CHECK(history_has(oc, "fp1",
                      "escalation step 1/3 (round 1): sent to "
                      "marie via ntfy-marie"));
    CHECK(history_has(oc, "fp1",
                      "escalation step 2/3 (round 1): sent to "
                      "emergency"));
    CHECK(history_has(oc, "fp1",
                      "escalation step 3/3 (round 1): sent to "
                      "paul via ntfy-paul and others"));
    CHECK(history_has(oc, "fp1", "exhausted without an ack"));
    /* resolution tells whoever was notified */
    CHECK_OK(fire(oc, "fp1", "MentionVolumeSpike", "AirNova", "critical", 0,
                  t0 + 100001, &n));
    CHECK(note(&n, TOCSIN_NOTE_RESOLVED, "ntfy-marie") != NULL);
    CHECK(note(&n, TOCSIN_NOTE_RESOLVED, "emergency") != NULL);
    CHECK(note(&n, TOCSIN_NOTE_RESOLVED, "pushover-paul") != NULL);
    CHECK(note(&n, TOCSIN_NOTE_RESOLVED, "team-chat") != NULL);
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    teardown();
}

static void
test_ack_at_step_two_stops_and_is_announced(void)
{
    setup();
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(5, 20, 58, 20); /* + 30 + 300 + 10 = 21:04:00 */
    CHECK_OK(fire(oc, "fp1", "MentionVolumeSpike", "AirNova", "critical", 1, t0,
                  &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    CHECK(n.n == 2);
    CHECK(tocsin_oncall_escalation(oc, "fp1")->step == 1);
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_ack(oc, "fp1", "marie", t0 + 340, &n));
    const struct tocsin_note *a = note(&n, TOCSIN_NOTE_ACK, "team-chat");
    REQUIRE(a);
    CHECK_STR(a->text, "AirNova: MentionVolumeSpike: acknowledged by Marie "
                       "at 21:04");
    CHECK(note(&n, TOCSIN_NOTE_ACK, "ntfy-marie") != NULL);
    CHECK(note(&n, TOCSIN_NOTE_ACK, "emergency") != NULL);
    tocsin_notes_clear(&n);
    /* stopped everywhere: no step three, no repeat */
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 100000, &n));
    CHECK(n.n == 0);
    const struct tocsin_esc_state *st = tocsin_oncall_escalation(oc, "fp1");
    CHECK(st->status == TOCSIN_ESC_ACKED);
    CHECK_STR(st->acked_by, "marie");
    CHECK(history_has(oc, "fp1", "acknowledged by Marie at 21:04"));
    /* a second ack is refused, remembered who had it */
    CHECK_ERR(tocsin_oncall_ack(oc, "fp1", "paul", t0 + 400, &n),
              TOCSIN_EINVAL);
    CHECK_ERR(tocsin_oncall_ack(oc, "nope", "paul", t0 + 400, &n),
              TOCSIN_ENOENT);
    CHECK(n.n == 0);
    tocsin_oncall_free(oc);
    teardown();
}

static void
test_quiet_hours_hold_warning_not_critical(void)
{
    setup();
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t night = at(5, 23, 0, 0);
    CHECK_OK(fire(oc, "w", "NegativityShift", "Calm", "warning", 1, night, &n));
    CHECK_OK(
        fire(oc, "c", "MentionVolumeSpike", "Storm", "critical", 1, night, &n));
    CHECK_OK(tocsin_oncall_tick(oc, night + 30, &n));
    REQUIRE(n.n == 1); /* the critical one, through its escalation */
    CHECK_STR(n.v[0].fingerprint, "c");
    CHECK_STR(n.v[0].receiver, "ntfy-marie");
    CHECK(history_has(oc, "w", "held back by quiet hours (quiet)"));
    tocsin_notes_clear(&n);
    /* a warning that turns critical in the night goes through at once */
    CHECK_OK(fire(oc, "w2", "MentionVolumeSpike", "Rising", "warning", 1, night,
                  &n));
    CHECK_OK(tocsin_oncall_tick(oc, night + 30, &n));
    CHECK(n.n == 0);
    CHECK_OK(fire(oc, "w2", "MentionVolumeSpike", "Rising", "critical", 1,
                  night + 40, &n));
    CHECK_OK(tocsin_oncall_tick(oc, night + 69, &n));
    CHECK(n.n == 0); /* its new route's group_wait */
    CHECK_OK(tocsin_oncall_tick(oc, night + 70, &n));
    CHECK(n.n == 1 && note(&n, TOCSIN_NOTE_ESCALATION, "ntfy-marie"));
    CHECK(history_has(oc, "w2", "now critical"));
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_ack(oc, "w2", "marie", night + 80, &n));
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_ack(oc, "c", "marie", night + 60, &n));
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, at(6, 6, 59, 0), &n));
    CHECK(n.n == 0); /* still quiet */
    CHECK_OK(tocsin_oncall_tick(oc, at(6, 7, 0, 0), &n));
    REQUIRE(n.n == 1); /* the warning goes out when quiet hours end */
    CHECK_STR(n.v[0].fingerprint, "w");
    CHECK_STR(n.v[0].receiver, "team-chat");
    CHECK(n.v[0].kind == TOCSIN_NOTE_FIRING);
    tocsin_notes_clear(&n);
    /* and then repeats every repeat_interval (4 h) until acknowledged */
    CHECK_OK(tocsin_oncall_tick(oc, at(6, 11, 0, 0), &n));
    CHECK(n.n == 1 && n.v[0].kind == TOCSIN_NOTE_REPEAT);
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_ack(oc, "w", "paul", at(6, 11, 1, 0), &n));
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, at(6, 16, 0, 0), &n));
    CHECK(n.n == 0);
    tocsin_oncall_free(oc);
    teardown();
}

static void
test_silence_matches_and_expires(void)
{
    setup();
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(7, 10, 0, 0);
    const char *m[] = {"topic=\"Hushed\""};
    char id[TOCSIN_SILENCE_ID_MAX];
    CHECK_OK(tocsin_silences_add(tocsin_oncall_silences(oc), NULL, m, 1, t0,
                                 t0 + 3600, "maintenance", "lea", id, NULL, 0));
    tocsin_oncall_touch_silences(oc);
    CHECK(tocsin_oncall_silences_dirty(oc));
    CHECK_OK(fire(oc, "h", "NegativityShift", "Hushed", "warning", 1, t0, &n));
    CHECK_OK(fire(oc, "o", "NegativityShift", "Other", "warning", 1, t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    REQUIRE(n.n == 1);
    CHECK_STR(n.v[0].fingerprint, "o");
    CHECK(history_has(oc, "h", "silenced by s"));
    tocsin_notes_clear(&n);
    /* the silence ends: the alert, still firing, is sent */
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 3599, &n));
    CHECK(n.n == 0);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 3600, &n));
    REQUIRE(n.n == 1);
    CHECK_STR(n.v[0].fingerprint, "h");
    tocsin_notes_clear(&n);
    /* expired by hand: a new alert goes straight through */
    CHECK_OK(tocsin_silences_add(tocsin_oncall_silences(oc), "s2", m, 1,
                                 t0 + 4000, t0 + 90000, "", "lea", NULL, NULL,
                                 0));
    CHECK_OK(fire(oc, "h2", "MentionVolumeSpike", "Hushed", "warning", 1,
                  t0 + 4000, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 4030, &n));
    CHECK(n.n == 0);
    CHECK_OK(
        tocsin_silences_expire(tocsin_oncall_silences(oc), "s2", t0 + 4040));
    tocsin_oncall_touch_silences(oc);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 4090, &n));
    CHECK(n.n == 1);
    tocsin_notes_clear(&n);
    char *txt = NULL;
    struct tocsin_label l[] = {{"topic", "Hushed"}, {"severity", "warning"}};
    struct tocsin_labelset ls = {l, 2};
    CHECK_OK(tocsin_oncall_routes_test(oc, &ls, t0 + 10, &txt));
    REQUIRE(txt);
    CHECK(strstr(txt, "route root: team-chat") != NULL);
    CHECK(strstr(txt, "silenced now by") != NULL);
    free(txt);
    tocsin_oncall_free(oc);
    teardown();
}

static void
test_inhibition(void)
{
    setup();
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(7, 10, 0, 0);
    CHECK_OK(
        fire(oc, "v", "MentionVolumeSpike", "AirNova", "critical", 1, t0, &n));
    CHECK_OK(
        fire(oc, "neg", "NegativityShift", "AirNova", "warning", 1, t0, &n));
    CHECK_OK(
        fire(oc, "neg2", "NegativityShift", "BluePhone", "warning", 1, t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    CHECK(note(&n, TOCSIN_NOTE_ESCALATION, "ntfy-marie") != NULL);
    int neg = 0, neg2 = 0;
    for (size_t i = 0; i < n.n; i++) {
        neg += strcmp(n.v[i].fingerprint, "neg") == 0;
        neg2 += strcmp(n.v[i].fingerprint, "neg2") == 0;
    }
    CHECK(neg == 0 && neg2 == 1);
    CHECK(history_has(oc, "neg", "inhibited"));
    tocsin_notes_clear(&n);
    /* the source resolves: the target is no longer hidden */
    CHECK_OK(fire(oc, "v", "MentionVolumeSpike", "AirNova", "critical", 0,
                  t0 + 100, &n));
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 100 + 60, &n));
    REQUIRE(n.n == 1);
    CHECK_STR(n.v[0].fingerprint, "neg");
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    teardown();
}

static void
test_restart_mid_escalation_continues(void)
{
    setup();
    struct tocsin_oncall *oc = NULL, *oc2 = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(8, 3, 0, 0);
    CHECK_OK(
        fire(oc, "fp", "MentionVolumeSpike", "AirNova", "critical", 1, t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    CHECK(n.n == 2);
    tocsin_notes_clear(&n);
    CHECK(tocsin_oncall_ndirty(oc) == 1);
    CHECK_STR(tocsin_oncall_dirty_at(oc, 0), "fp");
    char *json = NULL;
    CHECK_OK(tocsin_oncall_alert_json(oc, "fp", &json));
    REQUIRE(json);
    tocsin_oncall_free(oc); /* the daemon dies */

    REQUIRE(tocsin_oncall_new(&oc2, cfg) == TOCSIN_OK);
    CHECK_OK(tocsin_oncall_import_alert(oc2, json, t0 + 400));
    free(json);
    const struct tocsin_esc_state *st = tocsin_oncall_escalation(oc2, "fp");
    REQUIRE(st);
    CHECK(st->status == TOCSIN_ESC_RUNNING && st->step == 1);
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 400, &n));
    CHECK(n.n == 0); /* nothing sent twice, nothing early */
    CHECK(tocsin_oncall_next_due(oc2) == t0 + 630);
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 630, &n));
    CHECK(n.n == 3); /* step three */
    for (size_t i = 0; i < n.n; i++)
        CHECK(n.v[i].step == 2);
    tocsin_notes_clear(&n);
    /* an ack after the restart is announced to all, old and new */
    CHECK_OK(tocsin_oncall_ack(oc2, "fp", "paul", t0 + 700, &n));
    CHECK(note(&n, TOCSIN_NOTE_ACK, "ntfy-marie") != NULL);
    CHECK(note(&n, TOCSIN_NOTE_ACK, "pushover-paul") != NULL);
    tocsin_notes_clear(&n);
    CHECK_ERR(tocsin_oncall_import_alert(oc2, "{\"x\":1}", t0), TOCSIN_EPROTO);
    CHECK_ERR(tocsin_oncall_import_alert(oc2, "not json", t0), TOCSIN_EPROTO);
    tocsin_oncall_free(oc2);
    teardown();
}

static void
test_ack_links(void)
{
    setup();
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(9, 12, 0, 0);
    CHECK_OK(
        fire(oc, "fp", "MentionVolumeSpike", "AirNova", "critical", 1, t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    tocsin_notes_clear(&n);
    char link[TOCSIN_ACK_TOKEN_MAX], old[TOCSIN_ACK_TOKEN_MAX];
    CHECK_OK(tocsin_oncall_ack_link(oc, "fp", "ack", "marie", t0 + 30, link,
                                    sizeof link));
    CHECK_OK(tocsin_oncall_ack_link(oc, "fp", "ack", "paul", t0 - 4000, old,
                                    sizeof old));
    enum tocsin_ack_verdict v;
    struct tocsin_ack_claims c;
    /* expired */
    CHECK_ERR(tocsin_oncall_use_link(oc, old, t0 + 60, &n, &c, &v),
              TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_EXPIRED);
    /* forged: one character of the signature changed */
    char forged[TOCSIN_ACK_TOKEN_MAX];
    snprintf(forged, sizeof forged, "%s", link);
    size_t last = strlen(forged) - 2;
    forged[last] = forged[last] == 'A' ? 'B' : 'A';
    CHECK_ERR(tocsin_oncall_use_link(oc, forged, t0 + 60, &n, &c, &v),
              TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_FORGED);
    CHECK(n.n == 0);
    CHECK(tocsin_oncall_escalation(oc, "fp")->status == TOCSIN_ESC_RUNNING);
    /* the real one works once */
    CHECK_OK(tocsin_oncall_use_link(oc, link, t0 + 60, &n, &c, &v));
    CHECK(v == TOCSIN_ACK_VALID);
    CHECK_STR(c.alert, "fp");
    CHECK(tocsin_oncall_escalation(oc, "fp")->status == TOCSIN_ESC_ACKED);
    CHECK(note(&n, TOCSIN_NOTE_ACK, "team-chat") != NULL);
    tocsin_notes_clear(&n);
    CHECK_ERR(tocsin_oncall_use_link(oc, link, t0 + 61, &n, &c, &v),
              TOCSIN_EINVAL);
    CHECK(v == TOCSIN_ACK_REUSED);
    /* a resolve link ends the alert */
    char res[TOCSIN_ACK_TOKEN_MAX];
    CHECK_OK(tocsin_oncall_ack_link(oc, "fp", "resolve", "marie", t0 + 70, res,
                                    sizeof res));
    CHECK_OK(tocsin_oncall_use_link(oc, res, t0 + 80, &n, &c, &v));
    CHECK(note(&n, TOCSIN_NOTE_RESOLVED, "team-chat") != NULL);
    CHECK(history_has(oc, "fp", "resolved by Marie"));
    tocsin_notes_clear(&n);
    /* who is on call */
    char *who = NULL;
    CHECK_OK(tocsin_oncall_who(oc, t0, &who));
    REQUIRE(who);
    CHECK(strstr(who, "primary: marie now") != NULL);
    CHECK(strstr(who, "secondary: paul now") != NULL);
    free(who);
    tocsin_oncall_gc(oc, t0 + 90 + 86400 * 2, 86400);
    CHECK(tocsin_oncall_nalerts(oc) == 0);
    tocsin_oncall_free(oc);
    teardown();
}

static void
test_note_body_and_links(void)
{
    setup();
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(10, 12, 0, 0);
    struct tocsin_alert_event ev;
    memset(&ev, 0, sizeof ev);
    ev.topic = "AirNova";
    ev.kind = TOCSIN_ALERT_VOLUME;
    ev.status = TOCSIN_ALERT_FIRING;
    ev.severity = "critical";
    ev.starts_ms = ev.at_ms = t0 * 1000;
    ev.window_ms = 600000;
    ev.observed = 412;
    ev.expected = 42;
    ev.negative_share = -1;
    snprintf(ev.fingerprint, sizeof ev.fingerprint, "5f0c1a2b3c4d5e6f");
    snprintf(ev.delivery, sizeof ev.delivery, "d1");
    CHECK_OK(tocsin_oncall_on_event(oc, &ev, t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    REQUIRE(n.n == 1);
    json_t *o = note_json(oc, &n.v[0], "http://x:9797");
    json_t *al = json_array_get(json_object_get(o, "alerts"), 0);
    CHECK_STR(json_string_value(json_object_get(o, "receiver")), "ntfy-marie");
    CHECK_STR(json_string_value(json_object_get(o, "version")), "4");
    CHECK_STR(json_string_value(json_object_get(al, "status")), "firing");
    CHECK(json_real_value(json_object_get(json_object_get(al, "tocsin"),
                                          "observed")) == 412.0);
    json_t *t = json_object_get(al, "tocsin_oncall");
    CHECK_STR(json_string_value(json_object_get(t, "kind")), "escalation");
    CHECK_STR(json_string_value(json_object_get(t, "user")), "marie");
    const char *url = json_string_value(json_object_get(t, "ack_url"));
    REQUIRE(url && strncmp(url, "http://x:9797/ack/", 18) == 0);
    CHECK(json_string_value(json_object_get(t, "resolve_url")) != NULL);
    char d1[33], d2[33];
    tocsin_note_delivery(&n.v[0], d1);
    tocsin_note_delivery(&n.v[0], d2);
    CHECK(strlen(d1) == 32 && strcmp(d1, d2) == 0);
    /* the link in the message acknowledges, as marie */
    char token[TOCSIN_ACK_TOKEN_MAX];
    snprintf(token, sizeof token, "%s", url + 18);
    json_decref(o);
    struct tocsin_notes n2 = {0};
    enum tocsin_ack_verdict v;
    CHECK_OK(tocsin_oncall_use_link(oc, token, t0 + 60, &n2, NULL, &v));
    const struct tocsin_note *a = note(&n2, TOCSIN_NOTE_ACK, "team-chat");
    REQUIRE(a);
    CHECK(strstr(a->text, "acknowledged by Marie at 12:01") != NULL);
    tocsin_note_delivery(a, d2);
    CHECK(strcmp(d1, d2) != 0);
    /* after the ack, bodies carry no links and say who has it */
    o = note_json(oc, a, "http://x:9797");
    t = json_object_get(json_array_get(json_object_get(o, "alerts"), 0),
                        "tocsin_oncall");
    CHECK(json_object_get(t, "ack_url") == NULL);
    CHECK_STR(json_string_value(json_object_get(t, "acked_by")), "marie");
    json_decref(o);
    /* the evidence survives export and import */
    char *js = NULL;
    CHECK_OK(tocsin_oncall_alert_json(oc, "5f0c1a2b3c4d5e6f", &js));
    struct tocsin_oncall *oc2 = NULL;
    REQUIRE(tocsin_oncall_new(&oc2, cfg) == TOCSIN_OK);
    CHECK_OK(tocsin_oncall_import_alert(oc2, js, t0 + 70));
    free(js);
    char *body = NULL;
    CHECK_OK(tocsin_oncall_note_body(oc2, &n.v[0], "", &body));
    CHECK(body && strstr(body, "\"observed\":412") != NULL);
    free(body);
    tocsin_oncall_free(oc2);
    tocsin_notes_clear(&n);
    tocsin_notes_clear(&n2);
    tocsin_oncall_free(oc);
    teardown();
}

static void
test_reconfigure_keeps_state(void)
{
    setup();
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(11, 12, 0, 0);
    CHECK_OK(
        fire(oc, "fp", "MentionVolumeSpike", "AirNova", "critical", 1, t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    CHECK(n.n == 1);
    tocsin_notes_clear(&n);
    /* a new configuration, same policy: the escalation goes on */
    struct tocsin_oncall_config *old = cfg;
    cfg = NULL;
    setup();
    CHECK_OK(tocsin_oncall_reconfigure(oc, cfg, t0 + 100));
    tocsin_oncall_config_free(old);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 100, &n));
    CHECK(n.n == 0); /* nothing sent again */
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    CHECK(n.n == 1 && note(&n, TOCSIN_NOTE_ESCALATION, "emergency"));
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    teardown();
}

/* Count of notes of kind k. */
static size_t
count(const struct tocsin_notes *n, enum tocsin_note_kind k)
{
    size_t c = 0;
    for (size_t i = 0; i < n->n; i++)
        c += n->v[i].kind == k;
    return c;
}

/* fp fires critical at t0 and reaches step one (Marie) at t0 + 30; the
 * next step is due at t0 + 330. */
static struct tocsin_oncall *
escalating(int64_t t0)
{
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    CHECK_OK(
        fire(oc, "fp", "MentionVolumeSpike", "AirNova", "critical", 1, t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    CHECK(n.n == 1 && note(&n, TOCSIN_NOTE_ESCALATION, "ntfy-marie"));
    tocsin_notes_clear(&n);
    return oc;
}

static void
test_silence_holds_escalation_and_expiry_resumes_same_step(void)
{
    setup();
    int64_t t0 = at(12, 14, 0, 0);
    struct tocsin_oncall *oc = escalating(t0);
    struct tocsin_notes n = {0};
    const char *m[] = {"topic=\"AirNova\""};
    CHECK_OK(tocsin_silences_add(tocsin_oncall_silences(oc), "hush", m, 1,
                                 t0 + 100, t0 + 1000, "on it", "lea", NULL,
                                 NULL, 0));
    tocsin_oncall_touch_silences(oc);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n)); /* step two due: held */
    CHECK(n.n == 0);
    CHECK(history_has(oc, "fp", "escalation held by silence hush (on it)"));
    CHECK(tocsin_oncall_escalation(oc, "fp")->step == 0);
    CHECK(tocsin_oncall_next_due(oc) == t0 + 1000); /* the silence's end */
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 999, &n));
    CHECK(n.n == 0);
    /* it ends: resumes at step one, whose 300 s wait starts again */
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 1000, &n));
    CHECK(n.n == 0);
    CHECK(history_has(oc, "fp",
                      "escalation resumed at step 1/3, next step in 300 s"));
    CHECK(tocsin_oncall_next_due(oc) == t0 + 1300);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 1299, &n));
    CHECK(n.n == 0);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 1300, &n));
    CHECK(n.n == 1 && note(&n, TOCSIN_NOTE_ESCALATION, "emergency"));
    CHECK(n.v[0].step == 1);
    tocsin_notes_clear(&n);
    /* a silence that ends before the next step is due changes nothing */
    CHECK_OK(tocsin_silences_add(tocsin_oncall_silences(oc), "brief", m, 1,
                                 t0 + 1400, t0 + 1500, "", "lea", NULL, NULL,
                                 0));
    tocsin_oncall_touch_silences(oc);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 1450, &n));
    CHECK(n.n == 0);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 1600, &n));
    CHECK(count(&n, TOCSIN_NOTE_ESCALATION) == 3); /* step three */
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    teardown();
}

static void
test_silence_expired_by_hand_resumes(void)
{
    setup();
    int64_t t0 = at(12, 15, 0, 0);
    struct tocsin_oncall *oc = escalating(t0);
    struct tocsin_notes n = {0};
    const char *m[] = {"topic=\"AirNova\""};
    CHECK_OK(tocsin_silences_add(tocsin_oncall_silences(oc), "s", m, 1, t0,
                                 t0 + 86400, "", "lea", NULL, NULL, 0));
    tocsin_oncall_touch_silences(oc);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    CHECK(n.n == 0);
    /* the state (held) survives an export and import */
    char *js = NULL;
    CHECK_OK(tocsin_oncall_alert_json(oc, "fp", &js));
    REQUIRE(js);
    CHECK(strstr(js, "\"held\":true") != NULL);
    free(js);
    CHECK_OK(tocsin_silences_expire(tocsin_oncall_silences(oc), "s", t0 + 500));
    tocsin_oncall_touch_silences(oc);
    CHECK(tocsin_oncall_next_due(oc) <= t0 + 500);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 500, &n));
    CHECK(n.n == 0);
    CHECK(history_has(oc, "fp", "escalation resumed at step 1/3"));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 800, &n));
    CHECK(n.n == 1 && note(&n, TOCSIN_NOTE_ESCALATION, "emergency"));
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    teardown();
}

static void
test_inhibition_holds_escalation_and_resumes(void)
{
    setup();
    const char *src[] = {"alertname=\"Outage\""};
    const char *tgt[] = {"alertname=\"MentionVolumeSpike\""}, *eq[] = {"topic"};
    REQUIRE(tocsin_inhibit_add(cfg->inhibit, src, 1, tgt, 1, eq, 1, NULL, 0) ==
            TOCSIN_OK);
    int64_t t0 = at(12, 16, 0, 0);
    struct tocsin_oncall *oc = escalating(t0);
    struct tocsin_notes n = {0};
    CHECK_OK(fire(oc, "out", "Outage", "AirNova", "info", 1, t0 + 100, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    CHECK(count(&n, TOCSIN_NOTE_ESCALATION) == 0);
    CHECK(history_has(oc, "fp", "escalation held by inhibition"));
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 480, &n));
    CHECK(count(&n, TOCSIN_NOTE_ESCALATION) == 0);
    /* the source resolves: resumes, step two 300 s later */
    CHECK_OK(fire(oc, "out", "Outage", "AirNova", "info", 0, t0 + 500, &n));
    tocsin_notes_clear(&n);
    CHECK(tocsin_oncall_next_due(oc) <= t0 + 500);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 500, &n));
    CHECK(count(&n, TOCSIN_NOTE_ESCALATION) == 0);
    CHECK(history_has(oc, "fp", "escalation resumed at step 1/3"));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 799, &n));
    CHECK(count(&n, TOCSIN_NOTE_ESCALATION) == 0);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 800, &n));
    CHECK(count(&n, TOCSIN_NOTE_ESCALATION) == 1 &&
          note(&n, TOCSIN_NOTE_ESCALATION, "emergency"));
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    teardown();
}

static void
test_ack_during_silence_ends_escalation(void)
{
    setup();
    int64_t t0 = at(12, 17, 0, 0);
    struct tocsin_oncall *oc = escalating(t0);
    struct tocsin_notes n = {0};
    const char *m[] = {"topic=\"AirNova\""};
    CHECK_OK(tocsin_silences_add(tocsin_oncall_silences(oc), "s", m, 1, t0,
                                 t0 + 1000, "", "lea", NULL, NULL, 0));
    tocsin_oncall_touch_silences(oc);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    CHECK(n.n == 0);
    CHECK_OK(tocsin_oncall_ack(oc, "fp", "marie", t0 + 400, &n));
    CHECK(note(&n, TOCSIN_NOTE_ACK, "team-chat") != NULL);
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 1000, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 100000, &n));
    CHECK(n.n == 0);
    CHECK(tocsin_oncall_escalation(oc, "fp")->status == TOCSIN_ESC_ACKED);
    CHECK(!history_has(oc, "fp", "resumed"));
    CHECK(tocsin_oncall_next_due(oc) > t0 + 100000);
    tocsin_oncall_free(oc);
    teardown();
}

/* A reload that removes the policy of a running escalation: it stops at
 * once (written in the history), the alert stays firing and can be
 * acked. */
static void
test_reconfigure_policy_removed_stops_escalation(void)
{
    setup();
    int64_t t0 = at(13, 12, 0, 0);
    struct tocsin_oncall *oc = escalating(t0);
    struct tocsin_notes n = {0};
    struct tocsin_oncall_config *old = cfg;
    cfg = NULL;
    setup();
    for (size_t i = 0; i < cfg->npolicies; i++)
        tocsin_escalation_free(cfg->policies[i]);
    cfg->npolicies = 0;
    tocsin_route_free(cfg->route);
    struct tocsin_route_spec rs;
    tocsin_route_spec_init(&rs);
    rs.receiver = "team-chat";
    rs.group_wait_s = 30;
    REQUIRE(tocsin_route_new(&cfg->route, &rs, NULL, 0) == TOCSIN_OK);
    CHECK_OK(tocsin_oncall_reconfigure(oc, cfg, t0 + 100));
    tocsin_oncall_config_free(old);
    /* stopped at the reload */
    CHECK(tocsin_oncall_escalation(oc, "fp")->status == TOCSIN_ESC_EXHAUSTED);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    CHECK(count(&n, TOCSIN_NOTE_ESCALATION) == 0);
    CHECK(history_has(oc, "fp", "escalation crisis stopped: the policy is "
                                "no longer configured"));
    CHECK(tocsin_oncall_escalation(oc, "fp")->status == TOCSIN_ESC_EXHAUSTED);
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 100000, &n));
    CHECK(count(&n, TOCSIN_NOTE_ESCALATION) == 0);
    tocsin_notes_clear(&n);
    CHECK(tocsin_oncall_next_due(oc) > t0 + 100000 - 1);
    CHECK_OK(tocsin_oncall_ack(oc, "fp", "paul", t0 + 100001, &n));
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    teardown();
}

/* A reload while a group waits for its group_wait (or group_interval):
 * the flush stays due when it was, nothing is lost or sent twice; the
 * same from Redis (export and import, as after a restart). */
static void
test_reconfigure_keeps_pending_flush(void)
{
    setup();
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(13, 14, 0, 0);
    CHECK_OK(fire(oc, "w1", "NegativityShift", "Calm", "warning", 1, t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    CHECK(n.n == 1); /* w1 to team-chat */
    tocsin_notes_clear(&n);
    CHECK_OK(fire(oc, "w2", "NegativityShift", "Calm", "warning", 1, t0 + 40,
                  &n)); /* waits for group_interval: t0 + 30 + 300 */
    char *j1 = NULL, *j2 = NULL;
    CHECK_OK(tocsin_oncall_alert_json(oc, "w1", &j1));
    CHECK_OK(tocsin_oncall_alert_json(oc, "w2", &j2));
    struct tocsin_oncall_config *old = cfg;
    cfg = NULL;
    setup();
    CHECK_OK(tocsin_oncall_reconfigure(oc, cfg, t0 + 50));
    tocsin_oncall_config_free(old);
    CHECK(tocsin_oncall_next_due(oc) == t0 + 330);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 329, &n));
    CHECK(n.n == 0);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    REQUIRE(n.n == 1);
    CHECK_STR(n.v[0].receiver, "team-chat");
    CHECK(n.v[0].kind == TOCSIN_NOTE_FIRING);
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    /* rebuilt from Redis: w2 had not been sent, it is sent (once) */
    struct tocsin_oncall *oc2 = NULL;
    REQUIRE(tocsin_oncall_new(&oc2, cfg) == TOCSIN_OK);
    CHECK_OK(tocsin_oncall_import_alert(oc2, j1, t0 + 50));
    CHECK_OK(tocsin_oncall_import_alert(oc2, j2, t0 + 50));
    free(j1);
    free(j2);
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 50 + 300, &n));
    REQUIRE(n.n == 1);
    CHECK(strstr(n.v[0].text, "Calm") != NULL);
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 3600, &n));
    CHECK(n.n == 0);
    tocsin_oncall_free(oc2);
    teardown();
}

/* cfg's routes replaced by one: to receiver rcv, grouped by topic. */
static void
route_by_topic(const char *rcv, int wait_s)
{
    tocsin_route_free(cfg->route);
    struct tocsin_route_spec rs;
    tocsin_route_spec_init(&rs);
    const char *gb[] = {"topic"};
    rs.receiver = rcv;
    rs.group_by = gb;
    rs.ngroup_by = 1;
    rs.group_by_set = 1;
    rs.group_wait_s = wait_s;
    REQUIRE(tocsin_route_new(&cfg->route, &rs, NULL, 0) == TOCSIN_OK);
}

/* setup(), with one route instead: to team-chat, grouped by topic. */
static void
group_by_topic(int wait_s)
{
    setup();
    route_by_topic("team-chat", wait_s);
}

/* group_by_topic(30) and a new on-call core with two alerts on AirNova
 * at *t0, December `day` at 12:00 in Paris (known once set up): r1 a
 * critical volume spike, r2 a negativity shift. */
static struct tocsin_oncall *
airnova_volume_and_negativity(int day, int64_t *t0_out, struct tocsin_notes *n)
{
    group_by_topic(30);
    int64_t t0 = *t0_out = at(day, 12, 0, 0);
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    CHECK_OK(
        fire(oc, "r1", "MentionVolumeSpike", "AirNova", "critical", 1, t0, n));
    CHECK_OK(fire(oc, "r2", "NegativityShift", "AirNova", "error", 1, t0, n));
    return oc;
}

/* A route grouping by topic: a flush sends ONE notification per group and
 * receiver listing every alert of the group (most severe first, each with
 * its own ack link), under one delivery id per group notification. */
static void
test_group_flush_is_one_notification(void)
{
    group_by_topic(30);
    tocsin_inhibit_free(cfg->inhibit);
    cfg->inhibit = NULL;
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(14, 10, 0, 0);
    CHECK_OK(fire(oc, "a1", "NegativityShift", "AirNova", "warning", 1, t0, &n));
    CHECK_OK(
        fire(oc, "a2", "MentionVolumeSpike", "AirNova", "critical", 1, t0, &n));
    CHECK_OK(fire(oc, "a3", "TermBurst", "AirNova", "info", 1, t0, &n));
    CHECK_OK(fire(oc, "b1", "TermBurst", "Other", "info", 1, t0, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    REQUIRE(n.n == 2); /* one per group */
    const struct tocsin_note *g = NULL;
    for (size_t i = 0; i < n.n; i++)
        if (n.v[i].nalerts == 3)
            g = &n.v[i];
    REQUIRE(g);
    CHECK(g->kind == TOCSIN_NOTE_FIRING);
    CHECK_STR(g->receiver, "team-chat");
    CHECK_STR(g->fingerprint, "a2"); /* the most severe */
    CHECK_STR(g->alerts[0], "a2");
    CHECK_STR(g->alerts[1], "a1");
    CHECK_STR(g->alerts[2], "a3");
    CHECK_STR(g->text, "3 alerts: AirNova: MentionVolumeSpike (critical), "
                       "AirNova: NegativityShift (warning), AirNova: "
                       "TermBurst (info)");
    CHECK(history_has(oc, "a1", "notified: sent to team-chat (with 2 other "
                                "alerts)"));
    json_t *o = note_json(oc, g, "http://x");
    json_t *arr = json_object_get(o, "alerts");
    REQUIRE(json_array_size(arr) == 3);
    CHECK_STR(json_string_value(json_object_get(o, "status")), "firing");
    CHECK(json_integer_value(json_object_get(o, "truncatedAlerts")) == 0);
    CHECK_STR(json_string_value(json_object_get(o, "groupKey")),
              "root:{topic=\"AirNova\"}");
    json_t *cl = json_object_get(o, "commonLabels");
    CHECK(json_object_size(cl) == 1);
    CHECK_STR(json_string_value(json_object_get(cl, "topic")), "AirNova");
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(o, "groupLabels"), "topic")),
              "AirNova");
    const char *urls[3];
    for (size_t i = 0; i < 3; i++) {
        json_t *al = json_array_get(arr, i);
        CHECK_STR(json_string_value(json_object_get(al, "fingerprint")),
                  g->alerts[i]);
        json_t *t = json_object_get(al, "tocsin_oncall");
        urls[i] = json_string_value(json_object_get(t, "ack_url"));
        REQUIRE(urls[i]);
    }
    CHECK(strcmp(urls[0], urls[1]) != 0 && strcmp(urls[1], urls[2]) != 0);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(json_array_get(arr, 1), "annotations"),
                  "summary")),
              "AirNova: NegativityShift");
    /* each link acknowledges its own alert */
    enum tocsin_ack_verdict v;
    struct tocsin_ack_claims c;
    struct tocsin_notes n2 = {0};
    CHECK_OK(tocsin_oncall_use_link(oc, strstr(urls[2], "/ack/") + 5, t0 + 40,
                                    &n2, &c, &v));
    CHECK_STR(c.alert, "a3");
    tocsin_notes_clear(&n2);
    json_decref(o);
    char d1[33], d2[33];
    tocsin_note_delivery(g, d1);
    tocsin_notes_clear(&n);
    /* a new alert joins: after group_interval, one notification listing
     * the group's unacknowledged alerts, under a new delivery id */
    CHECK_OK(fire(oc, "a4", "NegativityShift", "AirNova", "critical", 1,
                  t0 + 60, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 329, &n));
    CHECK(n.n == 0);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    REQUIRE(n.n == 1);
    CHECK(n.v[0].nalerts == 3); /* a2, a4, a1 (a3 was acknowledged) */
    CHECK(n.v[0].seq == 2);
    CHECK(strncmp(n.v[0].text, "3 alerts: ", 10) == 0);
    tocsin_note_delivery(&n.v[0], d2);
    CHECK(strcmp(d1, d2) != 0);
    tocsin_notes_clear(&n);
    /* repeat_interval: one notification again */
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330 + 4 * 3600, &n));
    REQUIRE(n.n == 2); /* this group and the other one */
    for (size_t i = 0; i < n.n; i++)
        CHECK(n.v[i].kind == TOCSIN_NOTE_REPEAT);
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    teardown();
}

/* More alerts than a body lists: truncatedAlerts counts the rest. */
static void
test_group_body_truncated(void)
{
    group_by_topic(0);
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    int64_t t0 = at(14, 11, 0, 0);
    for (int i = 0; i < TOCSIN_NOTE_MAX_ALERTS + 5; i++) {
        char fp[16], name[32];
        snprintf(fp, sizeof fp, "x%d", i);
        snprintf(name, sizeof name, "Burst%d", i);
        CHECK_OK(fire(oc, fp, name, "Big", "info", 1, t0, &n));
    }
    CHECK_OK(tocsin_oncall_tick(oc, t0, &n));
    REQUIRE(n.n == 1);
    json_t *o = note_json(oc, &n.v[0], "");
    CHECK(json_array_size(json_object_get(o, "alerts")) ==
          TOCSIN_NOTE_MAX_ALERTS);
    CHECK(json_integer_value(json_object_get(o, "truncatedAlerts")) == 5);
    json_decref(o);
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    teardown();
}

/* An alert resolved since the group's last notification is listed in the
 * next one, as resolved (after the firing ones), then no more. */
static void
test_group_lists_resolved_since_last_flush(void)
{
    struct tocsin_notes n = {0};
    int64_t t0;
    struct tocsin_oncall *oc = airnova_volume_and_negativity(14, &t0, &n);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    REQUIRE(n.n == 1 && n.v[0].nalerts == 2);
    tocsin_notes_clear(&n);
    /* r1 resolves: told at once, to whoever was notified */
    CHECK_OK(fire(oc, "r1", "MentionVolumeSpike", "AirNova", "critical", 0,
                  t0 + 60, &n));
    CHECK(n.n == 1 && note(&n, TOCSIN_NOTE_RESOLVED, "team-chat"));
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 330, &n));
    CHECK(n.n == 0); /* nothing new to flush */
    /* r3 joins: the next notification lists r3, r2 firing and r1 resolved */
    CHECK_OK(fire(oc, "r3", "TermBurst", "AirNova", "critical", 1, t0 + 400,
                  &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 400 + 300, &n));
    REQUIRE(n.n == 1 && n.v[0].nalerts == 3);
    CHECK_STR(n.v[0].alerts[0], "r3");
    CHECK_STR(n.v[0].alerts[1], "r2");
    CHECK_STR(n.v[0].alerts[2], "r1");
    CHECK(strstr(n.v[0].text, "AirNova: MentionVolumeSpike (critical, "
                              "resolved)") != NULL);
    json_t *o = note_json(oc, &n.v[0], "");
    CHECK_STR(json_string_value(json_object_get(o, "status")), "firing");
    json_t *r1 = json_array_get(json_object_get(o, "alerts"), 2);
    CHECK_STR(json_string_value(json_object_get(r1, "status")), "resolved");
    CHECK(json_object_get(json_object_get(r1, "tocsin_oncall"), "ack_url") ==
          NULL);
    json_decref(o);
    tocsin_notes_clear(&n);
    /* and only once */
    CHECK_OK(fire(oc, "r4", "TermBurst", "AirNova", "info", 1, t0 + 800, &n));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 700 + 300, &n));
    REQUIRE(n.n == 1 && n.v[0].nalerts == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(strcmp(n.v[0].alerts[i], "r1") != 0);
    tocsin_notes_clear(&n);
    /* r1 fires again (a new episode) and is forgotten later: no dangling
     * member */
    CHECK_OK(fire(oc, "r2", "NegativityShift", "AirNova", "error", 0,
                  t0 + 1100, &n));
    CHECK_OK(fire(oc, "r2", "NegativityShift", "AirNova", "error", 1,
                  t0 + 1200, &n));
    tocsin_notes_clear(&n);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 1500, &n));
    REQUIRE(n.n == 1);
    tocsin_notes_clear(&n);
    tocsin_oncall_gc(oc, t0 + 10 * 86400, 86400);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 10 * 86400, &n));
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc);
    teardown();
}

/* Every alert and group of oc as records, as the store keeps them. */
struct records {
    char *v[16];
    size_t nalerts, ngroups;
};

static void
export_all(const struct tocsin_oncall *oc, struct records *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < tocsin_oncall_nalerts(oc) && r->nalerts < 8; i++)
        CHECK_OK(tocsin_oncall_alert_json(oc, tocsin_oncall_alert_at(oc, i),
                                          &r->v[r->nalerts++]));
    for (size_t i = 0; i < tocsin_oncall_ngroups(oc) && r->ngroups < 8; i++)
        CHECK_OK(tocsin_oncall_group_json(oc, tocsin_oncall_group_at(oc, i),
                                          &r->v[8 + r->ngroups++]));
}

/* A new oncall on cfg with r imported (alerts last first, then groups);
 * the groups' import results in rc[]. */
static struct tocsin_oncall *
import_all(const struct records *r, int64_t now, tocsin_err *rc)
{
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    for (size_t i = r->nalerts; i-- > 0;)
        CHECK_OK(tocsin_oncall_import_alert(oc, r->v[i], now));
    for (size_t i = 0; i < r->ngroups; i++)
        rc[i] = tocsin_oncall_import_group(oc, r->v[8 + i], now);
    return oc;
}

static void
records_free(struct records *r)
{
    for (size_t i = 0; i < 16; i++)
        free(r->v[i]);
}

/* Two alerts flushed together, one resolves, a third joins (its flush
 * due group_interval after the first): the daemon dies.  Rebuilt from its
 * records, the group flushes when it was due, lists the resolved alert
 * once, and counts on (a new delivery id). */
static void
test_group_state_survives_restart(void)
{
    struct tocsin_notes n = {0};
    int64_t t0;
    struct tocsin_oncall *oc = airnova_volume_and_negativity(15, &t0, &n);
    CHECK(tocsin_oncall_ngroups_dirty(oc) == 1);
    CHECK_STR(tocsin_oncall_group_dirty_at(oc, 0), "root:{topic=\"AirNova\"}");
    CHECK(tocsin_oncall_unsaved(oc));
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n));
    REQUIRE(n.n == 1 && n.v[0].seq == 1);
    char d1[33], d2[33];
    tocsin_note_delivery(&n.v[0], d1);
    tocsin_notes_clear(&n);
    tocsin_oncall_clear_dirty(oc);
    CHECK(!tocsin_oncall_unsaved(oc));
    CHECK_OK(fire(oc, "r1", "MentionVolumeSpike", "AirNova", "critical", 0,
                  t0 + 60, &n));
    CHECK(tocsin_oncall_ngroups_dirty(oc) == 1); /* r1 gone from it */
    CHECK_OK(
        fire(oc, "r3", "TermBurst", "AirNova", "warning", 1, t0 + 100, &n));
    tocsin_notes_clear(&n);
    CHECK(tocsin_oncall_next_due(oc) == t0 + 330);
    struct records r;
    export_all(oc, &r);
    REQUIRE(r.nalerts == 3 && r.ngroups == 1);
    tocsin_oncall_free(oc); /* the daemon dies */

    tocsin_err rc[8];
    struct tocsin_oncall *oc2 = import_all(&r, t0 + 200, rc);
    CHECK_OK(rc[0]);
    CHECK(tocsin_oncall_next_due(oc2) == t0 + 330); /* not t0 + 200 + ... */
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 329, &n));
    CHECK(n.n == 0);
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 330, &n));
    REQUIRE(n.n == 1 && n.v[0].nalerts == 3);
    CHECK(n.v[0].kind == TOCSIN_NOTE_FIRING);
    CHECK_STR(n.v[0].alerts[0], "r2");
    CHECK_STR(n.v[0].alerts[1], "r3");
    CHECK_STR(n.v[0].alerts[2], "r1");
    CHECK(strstr(n.v[0].text, "(critical, resolved)") != NULL);
    CHECK(n.v[0].seq == 2); /* counts on */
    tocsin_note_delivery(&n.v[0], d2);
    CHECK(strcmp(d1, d2) != 0);
    tocsin_notes_clear(&n);
    /* r1 listed once: the next flush is about r4, r2, r3 */
    CHECK_OK(fire(oc2, "r4", "TermBurst", "AirNova", "info", 1, t0 + 400, &n));
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 630, &n));
    REQUIRE(n.n == 1 && n.v[0].nalerts == 3 && n.v[0].seq == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(strcmp(n.v[0].alerts[i], "r1") != 0);
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc2);

    /* Restarted after the due time: flushed at once. */
    oc2 = import_all(&r, t0 + 900, rc);
    CHECK(tocsin_oncall_next_due(oc2) == t0 + 330);
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 900, &n));
    REQUIRE(n.n == 1 && n.v[0].nalerts == 3 && n.v[0].seq == 2);
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc2);

    /* Bad records are refused; a later version too. */
    struct tocsin_oncall *oc3 = NULL;
    REQUIRE(tocsin_oncall_new(&oc3, cfg) == TOCSIN_OK);
    CHECK_ERR(tocsin_oncall_import_group(oc3, "not json", t0), TOCSIN_EPROTO);
    CHECK_ERR(tocsin_oncall_import_group(oc3, "{\"key\":\"k\"}", t0),
              TOCSIN_EPROTO);
    char *later = strdup(r.v[8]);
    char *v = strstr(later, "\"version\":1");
    REQUIRE(v);
    v[10] = '9';
    CHECK_ERR(tocsin_oncall_import_group(oc3, later, t0), TOCSIN_EPROTO);
    free(later);
    tocsin_oncall_free(oc3);

    /* A new configuration whose route sends elsewhere: the record is
     * dropped (and marked, so the store deletes or rewrites it); the
     * alerts are grouped by the new routes and wait for their flush. */
    struct tocsin_oncall_config *old = cfg;
    cfg = NULL;
    group_by_topic(30);
    route_by_topic("ntfy-marie", 30);
    oc2 = import_all(&r, t0 + 200, rc);
    CHECK_ERR(rc[0], TOCSIN_ENOENT);
    CHECK(tocsin_oncall_ngroups_dirty(oc2) == 1);
    CHECK_OK(tocsin_oncall_tick(oc2, t0 + 330, &n));
    for (size_t i = 0; i < n.n; i++)
        for (size_t k = 0; k < n.v[i].nalerts; k++)
            CHECK(strcmp(n.v[i].alerts[k], "r1") != 0);
    tocsin_notes_clear(&n);
    tocsin_oncall_free(oc2);
    /* ... and one whose route is gone (a root grouping by default) */
    tocsin_route_free(cfg->route);
    struct tocsin_route_spec rs;
    tocsin_route_spec_init(&rs);
    rs.receiver = "team-chat";
    REQUIRE(tocsin_route_new(&cfg->route, &rs, NULL, 0) == TOCSIN_OK);
    oc2 = import_all(&r, t0 + 200, rc);
    CHECK_ERR(rc[0], TOCSIN_ENOENT);
    CHECK(tocsin_oncall_ngroups(oc2) == 2); /* by alertname and topic */
    for (size_t i = 0; i < tocsin_oncall_ngroups(oc2); i++)
        CHECK(strcmp(tocsin_oncall_group_at(oc2, i),
                     "root:{topic=\"AirNova\"}") != 0);
    tocsin_oncall_free(oc2);
    records_free(&r);
    tocsin_oncall_config_free(old);
    teardown();
}

/* A store that writes only the groups marked changed (as oncall_store
 * does), checked after each step against every group's record: a change
 * left unmarked would leave a record stale. */
struct mirror {
    char *key[16], *rec[16];
    size_t n;
};

static void
mirror_sync(struct mirror *mi, struct tocsin_oncall *oc)
{
    for (size_t i = 0; i < tocsin_oncall_ngroups_dirty(oc); i++) {
        const char *k = tocsin_oncall_group_dirty_at(oc, i);
        size_t j;
        for (j = 0; j < mi->n && strcmp(mi->key[j], k) != 0; j++)
            ;
        char *rec = NULL;
        tocsin_err e = tocsin_oncall_group_json(oc, k, &rec);
        if (j == mi->n && e == TOCSIN_OK) { /* HSET, new */
            REQUIRE(mi->n < 16);
            mi->key[mi->n] = strdup(k);
            mi->rec[mi->n++] = rec;
        } else if (e == TOCSIN_OK) { /* HSET */
            free(mi->rec[j]);
            mi->rec[j] = rec;
        } else if (j < mi->n) { /* HDEL */
            CHECK_ERR(e, TOCSIN_ENOENT);
            free(mi->key[j]);
            free(mi->rec[j]);
            mi->key[j] = mi->key[--mi->n];
            mi->rec[j] = mi->rec[mi->n];
        }
    }
    tocsin_oncall_clear_dirty(oc);
    CHECK(mi->n == tocsin_oncall_ngroups(oc));
    for (size_t i = 0; i < tocsin_oncall_ngroups(oc); i++) {
        const char *k = tocsin_oncall_group_at(oc, i);
        char *rec = NULL;
        CHECK_OK(tocsin_oncall_group_json(oc, k, &rec));
        size_t j;
        for (j = 0; j < mi->n && strcmp(mi->key[j], k) != 0; j++)
            ;
        CHECK(j < mi->n && rec && strcmp(mi->rec[j], rec) == 0);
        free(rec);
    }
}

static void
test_group_changes_are_all_marked(void)
{
    group_by_topic(30);
    struct tocsin_oncall *oc = NULL;
    REQUIRE(tocsin_oncall_new(&oc, cfg) == TOCSIN_OK);
    struct tocsin_notes n = {0};
    struct mirror mi = {0};
    int64_t t0 = at(16, 12, 0, 0);
    CHECK_OK(fire(oc, "a", "NegativityShift", "AirNova", "warning", 1, t0, &n));
    CHECK_OK(fire(oc, "b", "TermBurst", "AirNova", "info", 1, t0, &n));
    CHECK_OK(fire(oc, "c", "TermBurst", "Other", "info", 1, t0, &n));
    mirror_sync(&mi, oc);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 30, &n)); /* flushes */
    mirror_sync(&mi, oc);
    CHECK_OK(fire(oc, "a", "NegativityShift", "AirNova", "warning", 0, t0 + 40,
                  &n)); /* resolved: gone */
    mirror_sync(&mi, oc);
    CHECK_OK(fire(oc, "d", "TermBurst", "AirNova", "info", 1, t0 + 50, &n));
    mirror_sync(&mi, oc);
    const char *m[] = {"topic=\"AirNova\""};
    CHECK_OK(tocsin_silences_add(tocsin_oncall_silences(oc), "s", m, 1, t0,
                                 t0 + 600, "c", "me", NULL, NULL, 0));
    tocsin_oncall_touch_silences(oc); /* the group looks again at once */
    mirror_sync(&mi, oc);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 60, &n)); /* held: due at its end */
    mirror_sync(&mi, oc);
    CHECK_OK(tocsin_oncall_resolve(oc, "b", "me", t0 + 70, &n));
    mirror_sync(&mi, oc);
    CHECK_OK(fire(oc, "c", "TermBurst", "Other", "critical", 1, t0 + 80,
                  &n)); /* relabelled */
    mirror_sync(&mi, oc);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 600, &n));
    mirror_sync(&mi, oc);
    CHECK_OK(tocsin_oncall_ack(oc, "d", "me", t0 + 700, &n));
    mirror_sync(&mi, oc);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 600 + 4 * 3600, &n)); /* repeats */
    mirror_sync(&mi, oc);
    CHECK_OK(fire(oc, "a", "NegativityShift", "AirNova", "warning", 1,
                  t0 + 20000, &n)); /* fires again */
    mirror_sync(&mi, oc);
    struct tocsin_oncall_config *old = cfg;
    cfg = NULL;
    group_by_topic(10);
    CHECK_OK(tocsin_oncall_reconfigure(oc, cfg, t0 + 20001));
    tocsin_oncall_config_free(old);
    mirror_sync(&mi, oc);
    CHECK_OK(
        fire(oc, "c", "TermBurst", "Other", "critical", 0, t0 + 20002, &n));
    CHECK_OK(fire(oc, "d", "TermBurst", "AirNova", "info", 0, t0 + 20003, &n));
    mirror_sync(&mi, oc);
    tocsin_oncall_gc(oc, t0 + 10 * 86400, 86400); /* groups emptied go */
    mirror_sync(&mi, oc);
    CHECK_OK(tocsin_oncall_tick(oc, t0 + 10 * 86400, &n));
    mirror_sync(&mi, oc);
    CHECK(n.n > 0);
    tocsin_notes_clear(&n);
    for (size_t i = 0; i < mi.n; i++) {
        free(mi.key[i]);
        free(mi.rec[i]);
    }
    tocsin_oncall_free(oc);
    teardown();
}

TOCSIN_TESTS(TOCSIN_TEST(test_escalation_three_steps),
             TOCSIN_TEST(test_reconfigure_keeps_state),
             TOCSIN_TEST(test_note_body_and_links),
             TOCSIN_TEST(test_ack_at_step_two_stops_and_is_announced),
             TOCSIN_TEST(test_quiet_hours_hold_warning_not_critical),
             TOCSIN_TEST(test_silence_matches_and_expires),
             TOCSIN_TEST(test_inhibition),
             TOCSIN_TEST(test_restart_mid_escalation_continues),
             TOCSIN_TEST(test_ack_links),
             TOCSIN_TEST(test_silence_holds_escalation_and_expiry_resumes_same_step),
             TOCSIN_TEST(test_silence_expired_by_hand_resumes),
             TOCSIN_TEST(test_inhibition_holds_escalation_and_resumes),
             TOCSIN_TEST(test_ack_during_silence_ends_escalation),
             TOCSIN_TEST(test_reconfigure_policy_removed_stops_escalation),
             TOCSIN_TEST(test_reconfigure_keeps_pending_flush),
             TOCSIN_TEST(test_group_flush_is_one_notification),
             TOCSIN_TEST(test_group_body_truncated),
             TOCSIN_TEST(test_group_lists_resolved_since_last_flush),
             TOCSIN_TEST(test_group_state_survives_restart),
             TOCSIN_TEST(test_group_changes_are_all_marked))
