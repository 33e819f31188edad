/*
 * alert_fixture.h: a typical alert event for receiver and delivery tests:
 * AirNova, a volume spike 9.8x normal, 71% negative, fingerprint
 * TOCSIN_TEST_FP; and its outbox body with one sample post by @breaking_eu
 * (140k followers), built by event.c as the daemon builds it.  Pure.
 */
#ifndef TOCSIN_ALERT_FIXTURE_H
#define TOCSIN_ALERT_FIXTURE_H

#define TOCSIN_TEST_FP "5f0c1d2e3f405162"

struct tocsin_alert_event;

/*
 * Fill ev with the typical alert, firing or resolved, with this severity:
 * no sample posts, terms or delivery id (the caller adds them).
 */
void tocsin_test_alert_event(struct tocsin_alert_event *ev, int resolved,
                             const char *severity);

/*
 * The body (free() it), firing or resolved, with this severity, sample
 * text and externalURL; NULL when out of memory.
 */
char *tocsin_test_alert_body(int resolved, const char *severity,
                             const char *sample_text, const char *external_url);

#endif
