/*
 * config.h: tocsind's configuration, loaded from a libconfig file.
 *
 * tocsin_config_load() parses and validates a file into a fresh, immutable
 * struct tocsin_config; every error is reported as "file:line: message"
 * (unknown keys get a "did you mean"), not just the first.  The daemon keeps
 * the current snapshot in one global pointer and swaps it whole on reload
 * (main thread, loop boundary); nothing edits a loaded config.
 *
 * One key table gives each key its type, bounds and default.  Secrets may be
 * given inline (`secret`), from a file (`secret_file`), or from a systemd
 * credential (`secret_credential`, read from $CREDENTIALS_DIRECTORY).
 *
 * Pure apart from reading the file(s) it is given; thread-safe.
 */
#ifndef TOCSIN_CONFIG_H
#define TOCSIN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"
#include "tocsin/log.h"

struct tocsin_oncall_config;
struct tocsin_tz;
struct tocsin_topic_zone;

enum tocsin_receiver_type {
    TOCSIN_RECEIVER_WEBHOOK = 0,
    TOCSIN_RECEIVER_NTFY,
    TOCSIN_RECEIVER_SLACK,
    TOCSIN_RECEIVER_PAGERDUTY,
    TOCSIN_RECEIVER_TELEGRAM,
    TOCSIN_RECEIVER_PUSHOVER,
    TOCSIN_RECEIVER_DISCORD,
    TOCSIN_RECEIVER_MATTERMOST,
    TOCSIN_RECEIVER_MSTEAMS,
    TOCSIN_RECEIVER_GOTIFY,
    TOCSIN_RECEIVER_OPSGENIE,
    TOCSIN_RECEIVER_EMAIL,
    TOCSIN_RECEIVER_FCM,
    TOCSIN_RECEIVER_APNS,
    TOCSIN_RECEIVER_WEBPUSH,
    TOCSIN_RECEIVER_NTYPES /* not a type */
};

/* Indexes of tocsin_receiver_config.priority. */
enum tocsin_prio_slot {
    TOCSIN_PRIO_CRITICAL = 0,
    TOCSIN_PRIO_ERROR,
    TOCSIN_PRIO_WARNING,
    TOCSIN_PRIO_INFO,
    TOCSIN_PRIO_RESOLVED,
    TOCSIN_PRIO_NSLOTS
};

struct tocsin_receiver_config {
    char *name;                     /* unique, [A-Za-z0-9_.-]+ */
    enum tocsin_receiver_type type; /* "webhook", "ntfy", ... */
    char *url; /* http:// or https:// (an Apprise URL is turned into
                  one when loaded); for pagerduty, pushover, telegram and
                  opsgenie, the API base, defaulting to the public one */
    char *secret;        /* HMAC key for X-Tocsin-Signature, or NULL */
    int timeout_ms;      /* per request; default 10000, 100..600000 */
    int backoff_min_ms;  /* first retry delay; default 1000 */
    int backoff_max_ms;  /* cap on retry delay; default 300000 */
    int give_up_s;       /* then the event goes to the dead outbox;
                            default 86400, 60..2592000 */
    int send_resolved;   /* default 1 */
    int max_concurrency; /* in-flight requests to this receiver; default 4 */
    char *tls_ca_file;   /* PEM CA certificates trusted for this receiver's
                            TLS (https, smtps, STARTTLS) instead of the
                            system's (a private CA); absolute path, checked
                            to hold a certificate at load; NULL: system */
    char *tls_client_cert; /* PEM client certificate and its key (mutual */
    char *tls_client_key;  /* TLS), both or neither; absolute paths */

    /* Type-specific (issue 5); NULL / unset when not given.  See README
     * "Receivers" for which type uses which. */
    char *token;   /* ntfy access token, telegram bot token, pushover app
                      token, gotify app token, pagerduty routing_key,
                      opsgenie api_key (secret) */
    char *user;    /* pushover user key; ntfy basic-auth user */
    char *password; /* ntfy basic-auth password (secret) */
    char *topic;   /* ntfy topic */
    char *chat_id; /* telegram chat */
    char *device;  /* pushover device(s) */
    char *ack_url; /* ntfy "Acknowledge" button, pushover callback;
                      "{fingerprint}" is replaced, else "/<fp>" appended */
    char *source;  /* pagerduty payload.source, opsgenie source;
                      default "tocsin" */
    int priority[TOCSIN_PRIO_NSLOTS]; /* by severity (priority_map) */
    unsigned priority_set; /* bit i: priority[i] was given, else the
                              type's default */
    int retry_s;   /* pushover emergency retry, default 60, >= 30 */
    int expire_s;  /* pushover emergency expire, default 3600, <= 10800 */
    double rate_per_s; /* sustained requests per second; 0: the type's
                          default (slack 1, telegram 1, ntfy 0.2, ...) */
    int burst;     /* requests allowed at once; 0: the type's default */
    int down_after; /* failed attempts in a row that raise a ReceiverDown
                       alert through the other receivers; default 5
                       (0 in a hand-made config also means 5) */

    /* email: url is smtp://host[:port] or smtps://host[:port]; user and
     * password (SMTP AUTH) above. */
    char *from; /* "Display Name <addr@example.com>" or "addr@..." */
    char **to;  /* recipients (addr-specs) */
    size_t nto;
    int starttls; /* smtp://: require STARTTLS; default 1 */

    /* fcm, apns, webpush.  device: FCM registration token / APNs device
     * token; topic: FCM topic / APNs apns-topic (bundle id). */
    char *key;        /* secret: the FCM service-account JSON
                         (service_account_file), the APNs .p8 key
                         (key_file), the VAPID private key (vapid_key_file);
                         PEM or JSON text */
    char *key_id;     /* apns: the key's id (JWT kid) */
    char *team_id;    /* apns: the team id (JWT iss) */
    char *project_id; /* fcm: default the key's project_id */
    char *token_url;  /* fcm: OAuth2 token endpoint, default the key's
                         token_uri */
    char *p256dh;     /* webpush: the subscription's public key */
    char *auth;       /* webpush: the subscription's auth secret (secret) */
    char *subject;    /* webpush: VAPID sub, "mailto:..." or "https://..." */
    char *sound;      /* apns: default "default" */
    int critical;     /* apns: critical alerts as interruption-level
                         "critical" (needs Apple's entitlement); default 0 */
    int ttl_s;        /* apns-expiration, webpush TTL, fcm android.ttl;
                         default 86400 */
};

struct tocsin_config {
    char *path; /* the file this was loaded from */

    struct {
        char *url;           /* "redis://[:password@]host[:port][/db]" or
                                "unix:///path/to/redis.sock" */
        char *password;      /* from url, `password` or `password_file` */
        char **streams;      /* mention stream keys, at least one */
        size_t nstreams;
        char *group;         /* consumer group, default "tocsin" */
        char *consumer;      /* consumer name, default the host name */
        char *dead_suffix;   /* dead-letter stream = key + suffix,
                                default ":dead" */
        char *prefix;        /* prefix of tocsin's own keys (state,
                                outbox), default "tocsin:" */
        int batch;           /* XREADGROUP COUNT, default 1000, 1..100000 */
        int block_ms;        /* XREADGROUP BLOCK, default 1000, 10..60000 */
        int claim_idle_ms;   /* XAUTOCLAIM min idle, default 60000 */
        int connect_timeout_ms; /* default 2000 */
        int checkpoint_ms;   /* max time between checkpoints, default 1000,
                                10..60000 */
        int max_entry_bytes; /* an entry larger than this is dead-lettered;
                                default 65536, 256..16777216 */
        int max_field_bytes; /* any one field larger than this is
                                dead-lettered; default 16384 */
    } redis;

    struct {
        int bucket_s;          /* bucket width, default 60, 1..86400 */
        int lateness_s;        /* allowed lateness, default 30, 0..86400 */
        double min_mentions;   /* volume floor per window, default 10 */
        double min_ratio;      /* observed/expected floor, default 3.0 */
        double fire_score;     /* score that fires, default 0.9, (0,1] */
        double resolve_score;  /* score below which it may resolve,
                                  default 0.5, < fire_score */
        int resolve_buckets;   /* calm closed buckets to resolve, default 5 */
        int min_negative;      /* negatives floor per window, default 5 */
        double negative_threshold; /* sentiment <= this is negative,
                                      default -0.05, [-1, 1] */
        int catchup_max_age_s; /* events whose time is older than this when
                                  produced are counted, not sent;
                                  default 900 */
        int warmup_buckets;    /* buckets of history before a topic may
                                  alert, default 30 */
        int max_topics;        /* default 1000000 */
        double sensitivity;    /* issue 4; default 0.5, [0, 1] */
        char *timezone;        /* the audience's zone: hours of the day and
                                  weekends are theirs; default "UTC" */
        struct tocsin_tz *tz;  /* loaded from it; NULL for UTC */
        /* detection.zones: topics whose audience lives elsewhere, as the
         * engine reads them (zones, patterns and tz owned here). */
        struct tocsin_topic_zone *zones;
        size_t nzones;
        int dedup_window_s;    /* a mention id seen within one to two of
                                  these is a duplicate; default 3600,
                                  0 (off)..604800 */
    } detection;

    struct tocsin_receiver_config *receivers;
    size_t nreceivers;

    struct {
        char *external_url; /* Alertmanager's externalURL, default
                               "http://<hostname>:9797" */
    } alerts;

    struct {
        enum tocsin_log_level level; /* default info */
    } log;

    /* Issue 3: addresses of the daemon's sockets (parsed, validated). */
    struct {
        char *listen; /* default "ipc:///run/tocsin/alerts.sock" */
    } publish;
    struct {
        char *listen; /* default "ipc:///run/tocsin/control.sock" */
        int remote;   /* 1: listen may be tcp:// or ws:// (default 0) */
    } control;
    struct {
        char *listen; /* default "127.0.0.1:9797" */
    } http;

    struct {
        char *lexicons; /* directory of sentiment lexicons, default
                           TOCSIN_DATADIR "/lexicons" */
    } sentiment;

    /* Issue 6: route, inhibit_rules, time_intervals, people, schedules,
     * escalation_policies and oncall (config_oncall.c); NULL when none of
     * them is given.  See oncall.h. */
    struct tocsin_oncall_config *oncall;
};

/*
 * Load and validate path.  On success *out is a new config (free it with
 * tocsin_config_free) and TOCSIN_OK is returned.  On failure returns
 * TOCSIN_ECONFIG (or TOCSIN_EIO / TOCSIN_ENOMEM), leaves *out untouched and
 * writes every error to errs (may be NULL), one "file:line: message\n"
 * per error.
 */
struct tocsin_errbuf;
tocsin_err tocsin_config_load(struct tocsin_config **out, const char *path,
                              struct tocsin_errbuf *errs);

/* The same from a string; `name` stands for the file name in messages. */
tocsin_err tocsin_config_load_string(struct tocsin_config **out,
                                     const char *text, const char *name,
                                     struct tocsin_errbuf *errs);

/* NULL does nothing. */
void tocsin_config_free(struct tocsin_config *cfg);

/* The receiver named name, or NULL (borrowed). */
const struct tocsin_receiver_config *
tocsin_config_receiver(const struct tocsin_config *cfg, const char *name);

/* A growable list of error lines. */
struct tocsin_errbuf {
    char *text; /* NUL-terminated, lines end with '\n'; NULL when empty */
    size_t len;
    size_t cap;
    int count;
};
void tocsin_errbuf_addf(struct tocsin_errbuf *eb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tocsin_errbuf_clear(struct tocsin_errbuf *eb);

#endif
