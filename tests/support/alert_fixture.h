/*
 * alert_fixture.h: the outbox body of a typical alert event for receiver
 * tests: AirNova, a volume spike 9.8x normal, 71% negative, one sample post
 * by @breaking_eu (140k followers), fingerprint TOCSIN_TEST_FP.  Built by
 * event.c as the daemon builds it.  Pure.
 */
#ifndef TOCSIN_ALERT_FIXTURE_H
#define TOCSIN_ALERT_FIXTURE_H

#define TOCSIN_TEST_FP "5f0c1d2e3f405162"

/*
 * The body (free() it), firing or resolved, with this severity, sample
 * text and externalURL; NULL when out of memory.
 */
char *tocsin_test_alert_body(int resolved, const char *severity,
                             const char *sample_text, const char *external_url);

#endif
