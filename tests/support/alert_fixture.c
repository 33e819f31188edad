/*
 * alert_fixture.c: a typical alert event's outbox body (alert_fixture.h).
 */
#include "alert_fixture.h"

#include <stdio.h>
#include <string.h>

#include "tocsin/event.h"

void
tocsin_test_alert_event(struct tocsin_alert_event *ev, int resolved,
                        const char *severity)
{
    memset(ev, 0, sizeof *ev);
    ev->topic = "AirNova";
    ev->kind = TOCSIN_ALERT_VOLUME;
    ev->status = resolved ? TOCSIN_ALERT_RESOLVED : TOCSIN_ALERT_FIRING;
    ev->severity = severity;
    ev->starts_ms = 1795000000000LL;
    ev->ends_ms = resolved ? 1795000600000LL : 0;
    ev->window_ms = 600000;
    ev->observed = 412;
    ev->expected = 42;
    ev->negatives = 290;
    ev->scored = 408;
    ev->negative_share = 0.711;
    ev->negative_baseline = 0.12;
    ev->score = 1;
    snprintf(ev->fingerprint, sizeof ev->fingerprint, "%s", TOCSIN_TEST_FP);
}

char *
tocsin_test_alert_body(int resolved, const char *severity,
                       const char *sample_text, const char *external_url)
{
    struct tocsin_alert_event ev;
    tocsin_test_alert_event(&ev, resolved, severity);
    ev.samples[0].text = sample_text;
    ev.samples[0].author = "@breaking_eu";
    ev.samples[0].url = "https://social.example/p/1";
    ev.samples[0].id = "1";
    ev.samples[0].followers = 140000;
    ev.samples[0].negative = 1;
    ev.nsamples = 1;
    char *body = NULL;
    if (tocsin_event_body(&body, &ev, "oncall", external_url) != TOCSIN_OK)
        return NULL;
    return body;
}
