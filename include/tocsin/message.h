/*
 * message.h: an alert event as a person reads it on a phone.
 *
 * The outbox body is the Alertmanager-v4 JSON built by event.c.  The
 * receiver drivers parse it back into a struct tocsin_message and render
 * short texts from it: a title ("KLM: volume 9.8× normal, 71% negative"),
 * then the description, the emerging terms when there are any, two or three
 * sample posts with their authors' reach, and a link.  Every text is made
 * to fit a gateway's limit, counted in bytes, characters (code points) or
 * UTF-16 units, and is never cut in the middle of a character.
 *
 * Pure; thread-safe.  A parsed message owns its JSON; its strings are
 * borrowed from it and live until tocsin_message_fini().
 */
#ifndef TOCSIN_MESSAGE_H
#define TOCSIN_MESSAGE_H

#include <stddef.h>

#include "tocsin/err.h"

/* How a gateway counts the length of a text. */
enum tocsin_unit {
    TOCSIN_UNIT_BYTES = 0, /* UTF-8 bytes (ntfy) */
    TOCSIN_UNIT_CHARS,     /* Unicode code points (Slack, Opsgenie, ...) */
    TOCSIN_UNIT_UTF16,     /* UTF-16 code units (Telegram, Discord) */
};

/*
 * The length in bytes of the longest prefix of s[0..len) that holds at
 * most max units and does not end inside a UTF-8 sequence.  Bytes that are
 * not valid UTF-8 count as one unit each.
 */
size_t tocsin_utf8_prefix(const char *s, size_t len, size_t max,
                          enum tocsin_unit unit);

/* The length of s[0..len) in unit. */
size_t tocsin_utf8_length(const char *s, size_t len, enum tocsin_unit unit);

/*
 * s shortened to at most max units as a new string (free()): unchanged if
 * it fits, else a prefix ending with "…" (which counts).  NULL when out of
 * memory.
 */
char *tocsin_utf8_ellipsize(const char *s, size_t max, enum tocsin_unit unit);

#define TOCSIN_MESSAGE_MAX_SAMPLES 5
#define TOCSIN_MESSAGE_MAX_TERMS   8
#define TOCSIN_MESSAGE_MAX_ALERTS  10

/* One alert of a group's notification (on call: several alerts[]). */
struct tocsin_message_alert {
    const char *summary;     /* annotations.summary (never NULL) */
    const char *severity;    /* ("warning") */
    const char *fingerprint; /* "" if absent */
    const char *ack_url;     /* its own signed ack link, "" if absent */
    const char *topic;       /* "" if absent */
    int resolved;
};

struct tocsin_message_sample {
    const char *text;    /* "" when absent */
    const char *author;  /* "" when absent */
    const char *url;     /* "" when absent */
    long long followers; /* -1 when unknown */
    int negative;
};

struct tocsin_message {
    void *root; /* the parsed JSON (json_t *), owned */
    int resolved;
    const char *status;       /* "firing" or "resolved" */
    const char *alertname;    /* "MentionVolumeSpike", ... ("" if absent) */
    const char *topic;        /* the brand or topic ("" if absent) */
    const char *severity;     /* "critical", "warning", ... ("warning") */
    const char *summary;      /* annotations.summary (never NULL) */
    const char *description;  /* annotations.description ("" if absent) */
    const char *fingerprint;  /* "" if absent */
    const char *link;         /* generatorURL ("" if absent) */
    const char *external_url; /* "" if absent */
    const char *ack_url;      /* the signed ack link of on call,
                                 tocsin_oncall.ack_url ("" if absent) */
    const char *oncall_kind;  /* tocsin_oncall.kind: "escalation", ...,
                                 "poll" ("" if absent) */
    const char *starts_at;    /* RFC 3339 ("" if absent) */
    const char *ends_at;
    const char *terms[TOCSIN_MESSAGE_MAX_TERMS];
    size_t nterms;
    struct tocsin_message_sample samples[TOCSIN_MESSAGE_MAX_SAMPLES];
    size_t nsamples;
    /* Every alert of the body (the fields above are alerts[0]'s, the most
     * severe of a group), the first TOCSIN_MESSAGE_MAX_ALERTS of them, and
     * how many the notification is about (listed + truncatedAlerts):
     * more than one makes it a group's message. */
    struct tocsin_message_alert alerts[TOCSIN_MESSAGE_MAX_ALERTS];
    size_t nalerts;
    size_t total;
};

/*
 * Parse an outbox body into *m.  TOCSIN_EINVAL if it is not JSON with an
 * alerts[0] object; TOCSIN_ENOMEM.  On failure *m needs no fini.
 */
tocsin_err tocsin_message_parse(struct tocsin_message *m, const char *body,
                                size_t len);

/* Release what parse allocated.  Safe on a zeroed struct. */
void tocsin_message_fini(struct tocsin_message *m);

/* How the texts are marked up. */
enum tocsin_markup {
    TOCSIN_MARKUP_PLAIN = 0, /* no markup at all */
    TOCSIN_MARKUP_SLACK,     /* Slack mrkdwn: &, <, > escaped, <url|text> */
    TOCSIN_MARKUP_MARKDOWN,  /* Discord, Mattermost, Teams: [text](url) */
};

/*
 * The title: the summary, prefixed with "Resolved: " for a resolved event,
 * at most max units (ellipsized); for a group's message "3 alerts: s1
 * (critical), s2 (warning), ...".  New string; NULL when out of memory.
 */
char *tocsin_message_title(const struct tocsin_message *m, size_t max,
                           enum tocsin_unit unit);

/* What tocsin_message_text includes. */
#define TOCSIN_TEXT_SUMMARY 1u /* the summary as the first line */
#define TOCSIN_TEXT_LINK    2u /* the link as the last line */

/*
 * The body text, at most max units: [summary], description, "Emerging:
 * terms", up to max_samples sample posts ("• @author (140k): “text”"),
 * [link], and, while firing, on call's signed ack link ("Acknowledge:
 * URL") when the body has one (always, TOCSIN_TEXT_LINK or not).  When it
 * does not fit, samples are shortened then dropped, and the description
 * last; the links are kept whenever they fit (the ack link longest).
 *
 * A group's message instead lists its alerts, one line each ("• summary
 * (severity)") with the alert's own ack link, then "+N more" for those not
 * listed; to fit, the open link goes first, then the ack links from the
 * last alert up (the most severe's is kept longest), then the last lines.
 * New string; NULL when out of memory.
 */
char *tocsin_message_text(const struct tocsin_message *m, unsigned what,
                          enum tocsin_markup markup, size_t max_samples,
                          size_t max, enum tocsin_unit unit);

/* "140k", "1.2M", "87": an audience size for humans. */
void tocsin_format_reach(long long n, char *buf, size_t cap);

#endif
