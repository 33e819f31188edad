/*
 * silence_test.c: silences (match, expire, gc) and inhibition rules.
 */
#include "tocsin/inhibit.h"
#include "tocsin/silence.h"
#include "tocsin_test.h"

static const struct tocsin_label VOL[] = {{"alertname", "MentionVolumeSpike"},
                                          {"topic", "AirNova"},
                                          {"severity", "critical"}};
static const struct tocsin_label NEG[] = {{"alertname", "NegativityShift"},
                                          {"topic", "AirNova"},
                                          {"severity", "warning"}};
static const struct tocsin_label NEG2[] = {{"alertname", "NegativityShift"},
                                           {"topic", "BluePhone"},
                                           {"severity", "warning"}};
static const struct tocsin_labelset vol = {VOL, 3}, neg = {NEG, 3},
                                    neg2 = {NEG2, 3};

static void
test_silence_matches_and_expires(void)
{
    struct tocsin_silences *s = NULL;
    CHECK_OK(tocsin_silences_new(&s));
    REQUIRE(s);
    const char *m[] = {"topic=\"AirNova\"", "alertname=~\"Negativity.*\""};
    char id[TOCSIN_SILENCE_ID_MAX] = "", err[128] = "";
    CHECK_OK(tocsin_silences_add(s, NULL, m, 2, 1000, 5000, "known issue",
                                 "marie", id, err, sizeof err));
    CHECK(id[0] == 's' && strlen(id) == 17);
    CHECK(tocsin_silences_match(s, &neg, 999) == NULL); /* pending */
    const struct tocsin_silence *hit = tocsin_silences_match(s, &neg, 1000);
    REQUIRE(hit);
    CHECK_STR(hit->id, id);
    CHECK_STR(hit->comment, "known issue");
    CHECK_STR(hit->created_by, "marie");
    CHECK_STR(tocsin_silence_state(hit, 1000), "active");
    CHECK(tocsin_silences_match(s, &vol, 2000) == NULL);  /* other alert */
    CHECK(tocsin_silences_match(s, &neg2, 2000) == NULL); /* other topic */
    CHECK(tocsin_silences_match(s, &neg, 5000) == NULL);  /* end exclusive */
    /* expire early */
    CHECK_OK(tocsin_silences_expire(s, id, 3000));
    CHECK(tocsin_silences_match(s, &neg, 2999) != NULL);
    CHECK(tocsin_silences_match(s, &neg, 3000) == NULL);
    CHECK_STR(tocsin_silence_state(tocsin_silences_get(s, 0), 3000), "expired");
    CHECK_ERR(tocsin_silences_expire(s, "nope", 3000), TOCSIN_ENOENT);
    /* a given id replaces */
    CHECK_OK(
        tocsin_silences_add(s, "maint-1", m, 1, 0, 10, "", "", NULL, NULL, 0));
    CHECK_OK(tocsin_silences_add(s, "maint-1", m, 1, 0, 20, "again", "", NULL,
                                 NULL, 0));
    CHECK(tocsin_silences_count(s) == 2);
    CHECK(tocsin_silences_get(s, 1)->ends == 20);
    /* errors */
    CHECK_ERR(tocsin_silences_add(s, NULL, m, 0, 0, 10, "", "", NULL, err,
                                  sizeof err),
              TOCSIN_EINVAL);
    CHECK(strstr(err, "at least one matcher") != NULL);
    CHECK_ERR(tocsin_silences_add(s, NULL, m, 1, 10, 10, "", "", NULL, err,
                                  sizeof err),
              TOCSIN_EINVAL);
    CHECK(strstr(err, "end after") != NULL);
    CHECK_ERR(tocsin_silences_add(s, "a b", m, 1, 0, 10, "", "", NULL, err,
                                  sizeof err),
              TOCSIN_EINVAL);
    const char *bad[] = {"topic=~\"(\""};
    CHECK_ERR(tocsin_silences_add(s, NULL, bad, 1, 0, 10, "", "", NULL, err,
                                  sizeof err),
              TOCSIN_EINVAL);
    CHECK(tocsin_silences_count(s) == 2);
    /* gc drops what ended long ago */
    tocsin_silences_gc(s, 3000 + 100, 50);
    CHECK(tocsin_silences_count(s) == 0);
    tocsin_silences_free(s);
    tocsin_silences_free(NULL);
}

static void
test_inhibit_rules(void)
{
    struct tocsin_inhibit *ih = NULL;
    CHECK_OK(tocsin_inhibit_new(&ih));
    REQUIRE(ih);
    const char *src[] = {"alertname=\"MentionVolumeSpike\"",
                         "severity=\"critical\""};
    const char *tgt[] = {"severity=\"warning\""};
    const char *eq[] = {"topic"};
    CHECK_OK(tocsin_inhibit_add(ih, src, 2, tgt, 1, eq, 1, NULL, 0));
    CHECK(tocsin_inhibit_count(ih) == 1);
    const struct tocsin_labelset *firing[] = {&vol, &neg, &neg2};
    /* the volume spike hides AirNova's negativity warning */
    CHECK(tocsin_inhibit_check(ih, &neg, firing, 3) == 0);
    /* not BluePhone's: the topic differs */
    CHECK(tocsin_inhibit_check(ih, &neg2, firing, 3) == -1);
    /* the critical source is not itself a target */
    CHECK(tocsin_inhibit_check(ih, &vol, firing, 3) == -1);
    /* no source firing: nothing inhibited */
    const struct tocsin_labelset *only[] = {&neg, &neg2};
    CHECK(tocsin_inhibit_check(ih, &neg, only, 2) == -1);
    /* an alert never inhibits itself */
    struct tocsin_inhibit *self = NULL;
    CHECK_OK(tocsin_inhibit_new(&self));
    const char *any[] = {"topic=~\".+\""};
    CHECK_OK(tocsin_inhibit_add(self, any, 1, any, 1, NULL, 0, NULL, 0));
    const struct tocsin_labelset *one[] = {&neg};
    CHECK(tocsin_inhibit_check(self, &neg, one, 1) == -1);
    char err[128] = "";
    const char *bad[] = {"9severity=\"x\""};
    CHECK_ERR(
        tocsin_inhibit_add(self, bad, 1, any, 1, NULL, 0, err, sizeof err),
        TOCSIN_EINVAL);
    CHECK(tocsin_inhibit_count(self) == 1);
    tocsin_inhibit_free(self);
    tocsin_inhibit_free(ih);
}

TOCSIN_TESTS(TOCSIN_TEST(test_silence_matches_and_expires),
             TOCSIN_TEST(test_inhibit_rules))
