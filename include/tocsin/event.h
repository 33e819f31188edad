/*
 * event.h: an alert event as the webhook body (Alertmanager webhook v4).
 *
 * The body carries Alertmanager's fields (version "4", status, receiver,
 * groupKey, groupLabels, commonLabels, commonAnnotations, externalURL,
 * alerts[]) so existing receivers understand it, and an object `tocsin` per
 * alert with the evidence.  The text is deterministic: the same event gives
 * the same bytes (replay relies on it).  Pure; thread-safe.
 */
#ifndef TOCSIN_EVENT_H
#define TOCSIN_EVENT_H

#include <stddef.h>

#include "tocsin/engine.h"
#include "tocsin/err.h"

/* "MentionVolumeSpike" or "NegativityShift". */
const char *tocsin_alertname(enum tocsin_alert_kind kind);

/*
 * The JSON body for receiver `receiver`, compact, as a new NUL-terminated
 * string in *out (caller frees with free()).  external_url may be "".
 */
tocsin_err tocsin_event_body(char **out, const struct tocsin_alert_event *ev,
                             const char *receiver, const char *external_url);

/* The one-line summary, e.g. "AirNova: volume 9.8x normal, 71% negative". */
void tocsin_event_summary(const struct tocsin_alert_event *ev, char *buf,
                          size_t n);

#endif
