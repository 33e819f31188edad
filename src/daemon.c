/*
 * daemon.c: the service loop (see daemon.h).
 *
 * Owns the current config snapshot, the ingest state (main thread), the
 * sentiment scorer (read-only, shared), the notifier (its own thread, its
 * own Redis connection), the control and publish sockets (main thread,
 * served between ingest steps) and the HTTP probe (libmicrohttpd's
 * threads, fed a snapshot after each turn of the loop, handing back the
 * ack links people follow, which are used here on the main thread, where
 * the on-call state lives inside the ingest).  A slow receiver never
 * stalls ingestion: the two meet only through the outbox stream.
 *
 * systemd: READY=1 once Redis answers and the state is restored, STATUS=
 * lines, WATCHDOG=1 from the loop itself at half $WATCHDOG_USEC, so a loop
 * stuck in a call stops the pings and gets the service restarted.
 */
#include "tocsin/clock.h"
#include "tocsin/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tocsin/config.h"
#include "tocsin/control.h"
#include "tocsin/engine.h"
#include "tocsin/event.h"
#include "tocsin/ingest.h"
#include "tocsin/log.h"
#include "tocsin/notify.h"
#include "tocsin/oncall.h"
#include "tocsin/probe.h"
#include "tocsin/sdnotify.h"
#include "tocsin/sentiment.h"

/* The one global: the configuration in force (main thread swaps it). */
static const struct tocsin_config *tocsin_current_config;

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void
on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_requested = 1;
    else
        stop_requested = 1;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !stop_requested)
        ;
}

/* Load path; on failure log every error and, if errors is not NULL, hand
 * them back as one string (caller frees). */
static struct tocsin_config *
load(const char *path, char **errors)
{
    struct tocsin_config *cfg = NULL;
    struct tocsin_errbuf eb = {0};
    if (tocsin_config_load(&cfg, path, &eb) != TOCSIN_OK) {
        /* Each line is already "file:line: message". */
        const char *p = eb.text ? eb.text : "";
        while (*p) {
            const char *nl = strchr(p, '\n');
            int len = nl ? (int)(nl - p) : (int)strlen(p);
            tocsin_log_err("CONFIG-ERROR", "%.*s", len, p);
            p += len + (nl ? 1 : 0);
        }
        if (errors)
            *errors = strdup(eb.text ? eb.text : "configuration invalid\n");
        tocsin_errbuf_clear(&eb);
        return NULL;
    }
    tocsin_errbuf_clear(&eb);
    return cfg;
}

struct daemon {
    const char *config_path;
    struct tocsin_config *cfg;
    struct tocsin_sentiment *scorer;
    struct tocsin_ingest *ingest;
    struct tocsin_notifier *notifier;
    struct tocsin_control *control;
    struct tocsin_probe *probe;
    int64_t started_ms;
    int64_t last_stats_ms;
    int ready;
    int reloading; /* control requests wait until the reload is done */
    /* Counters of ingest objects freed by reloads, so that the metrics
     * never go backwards. */
    struct tocsin_ingest_stats carry;
    uint64_t events[2][2]; /* alert events by kind and status */
    uint64_t firing[2];    /* refreshed about once a second */
    int64_t firing_at_ms;
    int64_t watchdog_ms, last_watchdog_ms;
    int64_t last_status_ms;
};

static void
log_stats(struct daemon *d)
{
    struct tocsin_ingest_stats st;
    tocsin_ingest_get_stats(d->ingest, &st);
    tocsin_log_info("INGEST-STATS",
                    "entries=%llu dead=%llu topics=%llu late=%llu "
                    "duplicates=%llu firing=%llu events=%llu suppressed=%llu "
                    "past_crises=%llu checkpoints=%llu caught_up=%d",
                    (unsigned long long)st.entries, (unsigned long long)st.dead,
                    (unsigned long long)st.engine.topics,
                    (unsigned long long)st.engine.late,
                    (unsigned long long)st.engine.duplicates,
                    (unsigned long long)st.engine.firing,
                    (unsigned long long)st.engine.events,
                    (unsigned long long)st.engine.suppressed,
                    (unsigned long long)st.engine.past_crises,
                    (unsigned long long)st.checkpoints, st.caught_up);
}

/* The ingest publish hook: count, and publish on the PUB socket. */
static void
on_publish(void *arg, const char *topic, const char *alertname,
           const char *status, const char *json)
{
    struct daemon *d = arg;
    int kind = strcmp(alertname, tocsin_alertname(TOCSIN_ALERT_VOLUME)) == 0
                   ? TOCSIN_ALERT_VOLUME
                   : TOCSIN_ALERT_NEGATIVITY;
    d->events[kind][strcmp(status, "firing") == 0 ? 0 : 1]++;
    if (d->control)
        tocsin_control_publish(d->control, topic, alertname, status, json);
}

/* ReceiverDown events from the delivery thread: published only (they
 * are not engine alerts, so not counted with them). */
static void
on_receiver_event(void *arg, const char *topic, const char *alertname,
                  const char *status, const char *json)
{
    struct daemon *d = arg;
    if (d->control)
        tocsin_control_publish(d->control, topic, alertname, status, json);
}

static void
count_firing(void *arg, const struct tocsin_topic_info *t)
{
    uint64_t *firing = arg;
    firing[0] += t->firing[0] ? 1 : 0;
    firing[1] += t->firing[1] ? 1 : 0;
}

static void serve(struct daemon *d, int64_t now);

/* Connect the ingest side, waiting out a Redis that is not up yet (while
 * still answering tocsinctl and the probe). */
static int
start_ingest(struct daemon *d)
{
    int64_t backoff = 100;
    d->ready = 0;
    while (!stop_requested) {
        tocsin_err err = tocsin_ingest_new(&d->ingest, d->cfg, d->scorer);
        if (!err) {
            tocsin_ingest_set_publish(d->ingest, on_publish, d);
            return 0;
        }
        if (err != TOCSIN_EIO)
            return -1;
        tocsin_log_warn("INGEST-RECONNECT",
                        "redis not reachable; retrying in %lld ms",
                        (long long)backoff);
        char shown[256];
        tocsin_sd_status(
            "waiting for redis at %s",
            tocsin_log_redact_url(d->cfg->redis.url, shown, sizeof shown));
        for (int64_t waited = 0; waited < backoff && !stop_requested;
             waited += 100) {
            sleep_ms(100);
            serve(d, tocsin_wall_ms());
        }
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
    return -1;
}

static void
add_stats(struct tocsin_ingest_stats *acc, const struct tocsin_ingest_stats *s)
{
    acc->entries += s->entries;
    acc->dead += s->dead;
    acc->checkpoints += s->checkpoints;
    acc->outbox += s->outbox;
    acc->reconnects += s->reconnects;
    acc->claimed += s->claimed;
    acc->scored += s->scored;
}

static int swap_config(struct daemon *d, const char *path, char **errors);

/* Reload from d->config_path.  Returns 0, or -1 (the old configuration
 * keeps running) with the errors in *errors when errors is not NULL. */
static int
reload(struct daemon *d, char **errors)
{
    const char *path = d->config_path;
    tocsin_log_notice("CONFIG-RELOAD", "reloading %s", path);
    tocsin_sd_reloading();
    /* A test-receiver in progress borrows the old config. */
    tocsin_control_settle(d->control);
    d->reloading = 1;
    int rc = swap_config(d, path, errors);
    d->reloading = 0;
    return rc;
}

static int
swap_config(struct daemon *d, const char *path, char **errors)
{
    struct tocsin_config *next = load(path, errors);
    if (!next) {
        tocsin_log_err("CONFIG-RELOAD",
                       "new configuration rejected; keeping the old one");
        tocsin_sd_ready("configuration rejected; running the old one");
        return -1;
    }
    if (strcmp(next->control.listen, d->cfg->control.listen) ||
        strcmp(next->publish.listen, d->cfg->publish.listen) ||
        strcmp(next->http.listen, d->cfg->http.listen))
        tocsin_log_warn("CONFIG-RELOAD", "control, publish and http "
                                         "addresses change only at a restart");
    /* Commit the old pipeline's work, then rebuild it from Redis with the
     * new settings: the state saved a moment ago carries over. */
    struct tocsin_oncall *oc = NULL;
    if (d->ingest) {
        struct tocsin_ingest_stats st;
        /* On call goes on in memory (its groups' timers too) when all of
         * it is committed; else it is rebuilt from Redis with the rest. */
        if (tocsin_ingest_checkpoint(d->ingest, tocsin_wall_ms()) ==
                TOCSIN_OK &&
            next->oncall)
            oc = tocsin_ingest_take_oncall(d->ingest);
        tocsin_ingest_get_stats(d->ingest, &st);
        add_stats(&d->carry, &st);
    }
    tocsin_ingest_free(d->ingest);
    d->ingest = NULL;
    /* Before the old configuration, which it borrows, goes. */
    if (oc && tocsin_oncall_reconfigure(oc, next->oncall,
                                        tocsin_wall_ms() / 1000) != TOCSIN_OK) {
        tocsin_oncall_free(oc);
        oc = NULL;
    }
    tocsin_notifier_set_config(d->notifier, next);
    struct tocsin_config *old = d->cfg;
    d->cfg = next;
    tocsin_current_config = next;
    tocsin_log_set_level(next->log.level);
    tocsin_config_free(old);
    if (start_ingest(d) != 0) {
        tocsin_oncall_free(oc);
        tocsin_log_err("CONFIG-RELOAD", "cannot restart ingest");
        stop_requested = 1;
        return 0;
    }
    if (oc)
        tocsin_ingest_adopt_oncall(d->ingest, oc);
    d->ready = 1;
    tocsin_sd_ready("configuration reloaded");
    tocsin_log_notice("CONFIG-RELOAD", "configuration reloaded");
    return 0;
}

static int
reload_cb(void *arg, char **errors)
{
    struct daemon *d = arg;
    if (!d->ingest) {
        /* Still in start_ingest(), waiting for Redis: SIGHUP would be
         * handled once started; a reload now would start ingest twice. */
        *errors = strdup("tocsind is still waiting for redis; reload once "
                         "it is ready\n");
        return -1;
    }
    return reload(d, errors);
}

/* One followed ack link: its HTTP status and a line for the person. */
static unsigned
use_link(struct daemon *d, const char *token, int64_t now, char *text, size_t n)
{
    if (!d->cfg->oncall || !d->cfg->oncall->ack_secret) {
        snprintf(text, n, "Ack links are not enabled here.");
        return 404;
    }
    enum tocsin_ack_verdict verdict = TOCSIN_ACK_MALFORMED;
    struct tocsin_ack_claims cl;
    memset(&cl, 0, sizeof cl);
    tocsin_err err =
        tocsin_ingest_use_link(d->ingest, token, now, &verdict, &cl);
    const char *what =
        strcmp(cl.action, "resolve") == 0 ? "resolved" : "acknowledged";
    unsigned status;
    if (err == TOCSIN_OK) {
        status = 200;
        snprintf(text, n, "Alert %s %s. Thank you.", cl.alert, what);
    } else if (err == TOCSIN_ENOENT) {
        status = 410;
        snprintf(text, n, "Alert %s is no longer firing.", cl.alert);
    } else if (err == TOCSIN_EINVAL) {
        /* By verdict: valid here means the alert was acknowledged already. */
        static const struct {
            unsigned status;
            const char *text;
        } refusal[] = {
            [TOCSIN_ACK_VALID] = {409, "This alert was already acknowledged."},
            [TOCSIN_ACK_MALFORMED] = {404, "This is not an ack link."},
            [TOCSIN_ACK_FORGED] = {403, "This link is not valid."},
            [TOCSIN_ACK_EXPIRED] = {410, "This link has expired."},
            [TOCSIN_ACK_REUSED] = {409, "This link was already used."},
        };
        size_t v = (size_t)verdict < sizeof refusal / sizeof *refusal
                       ? (size_t)verdict
                       : (size_t)TOCSIN_ACK_MALFORMED;
        status = refusal[v].status;
        snprintf(text, n, "%s", refusal[v].text);
    } else {
        status = 503;
        snprintf(text, n,
                 "tocsind cannot record it now (%s); try again in "
                 "a moment.",
                 tocsin_strerror(err));
    }
    tocsin_log_notice("ONCALL-LINK", "%s link for alert %s: %u %s",
                      cl.action[0] ? cl.action : "ack",
                      cl.alert[0] ? cl.alert : "-", status,
                      tocsin_ack_verdict_name(verdict));
    return status;
}

/* Answer the ack links waiting in the probe (left waiting while Redis is
 * away: they are answered 503 after a while). */
static void
serve_links(struct daemon *d, int64_t now)
{
    char token[TOCSIN_ACK_TOKEN_MAX], text[TOCSIN_PROBE_TEXT_MAX];
    uint64_t ticket;
    while (d->probe && d->ingest &&
           tocsin_probe_next_link(d->probe, token, sizeof token, &ticket)) {
        unsigned status = use_link(d, token, now, text, sizeof text);
        tocsin_probe_link_done(d->probe, ticket, status, text);
    }
}

/* Between ingest steps: tocsinctl requests, the probe's snapshot, the
 * watchdog and the STATUS= line. */
static void
serve(struct daemon *d, int64_t now)
{
    if (d->control && !d->reloading) {
        struct tocsin_control_view v = {
            .cfg = d->cfg,
            .ingest = d->ingest,
            .notifier = d->notifier,
            .started_ms = d->started_ms,
            .ready = d->ready,
            .reload = reload_cb,
            .arg = d,
        };
        tocsin_control_poll(d->control, &v, now);
    }
    if (!d->reloading)
        serve_links(d, now);
    if (d->notifier)
        tocsin_notifier_take_published(d->notifier, on_receiver_event, d);
    struct tocsin_probe_state ps;
    memset(&ps, 0, sizeof ps);
    if (d->ingest) {
        tocsin_ingest_get_stats(d->ingest, &ps.ingest);
        if (now - d->firing_at_ms >= 1000) {
            d->firing_at_ms = now;
            memset(d->firing, 0, sizeof d->firing);
            tocsin_engine_foreach_topic(tocsin_ingest_engine(d->ingest),
                                        count_firing, d->firing);
        }
        if (!ps.ingest.caught_up && ps.ingest.last_entry_ms > 0 &&
            now > ps.ingest.last_entry_ms)
            ps.lag_seconds = (double)(now - ps.ingest.last_entry_ms) / 1000.0;
    }
    add_stats(&ps.ingest, &d->carry);
    memcpy(ps.firing, d->firing, sizeof ps.firing);
    memcpy(ps.events, d->events, sizeof ps.events);
    ps.ready = d->ready;
    ps.heartbeat_ms = now;
    if (d->probe)
        tocsin_probe_update(d->probe, &ps);
    /* The loop turned: the pipeline is not stuck. */
    if (d->watchdog_ms && now - d->last_watchdog_ms >= d->watchdog_ms) {
        d->last_watchdog_ms = now;
        tocsin_sd_watchdog();
    }
    if (d->ready && now - d->last_status_ms >= 5000) {
        d->last_status_ms = now;
        tocsin_sd_status("%s: %llu entries read, %llu topics, %llu alerts "
                         "firing, %llu dead letters",
                         ps.ingest.caught_up ? "live" : "catching up",
                         (unsigned long long)ps.ingest.entries,
                         (unsigned long long)ps.ingest.engine.topics,
                         (unsigned long long)(d->firing[0] + d->firing[1]),
                         (unsigned long long)ps.ingest.dead);
    }
}

int
tocsin_daemon_run(const char *config_path)
{
    struct daemon d;
    memset(&d, 0, sizeof d);
    d.config_path = config_path;
    d.started_ms = tocsin_wall_ms();
    d.cfg = load(config_path, NULL);
    if (!d.cfg)
        return 2;
    tocsin_current_config = d.cfg;
    tocsin_log_set_level(d.cfg->log.level);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    d.watchdog_ms = tocsin_sd_watchdog_interval_ms();

    int status = 1;
    /* The sockets first: a second tocsind stops here, before touching
     * Redis. */
    if (tocsin_control_new(&d.control, d.cfg) != TOCSIN_OK)
        goto out;
    tocsin_sd_status("loading sentiment lexicons");
    if (tocsin_sentiment_new(&d.scorer, d.cfg->sentiment.lexicons) != TOCSIN_OK)
        tocsin_log_warn("SENTIMENT-LEXICON",
                        "no built-in scorer (lexicons in %s); mentions "
                        "without a sentiment do not count for negativity",
                        d.cfg->sentiment.lexicons);

    if (tocsin_notifier_new(&d.notifier, d.cfg) != TOCSIN_OK ||
        tocsin_notifier_start(d.notifier) != TOCSIN_OK) {
        tocsin_log_err("NOTIFY-START", "cannot start the delivery thread");
        goto out;
    }
    if (tocsin_probe_new(&d.probe, d.cfg->http.listen, d.notifier,
                         d.started_ms) != TOCSIN_OK)
        goto out;
    tocsin_sd_status("connecting to redis");
    if (start_ingest(&d) != 0) {
        status = stop_requested ? 0 : 1;
        goto out;
    }
    d.ready = 1;
    tocsin_log_notice("DAEMON-START",
                      "tocsind %s running: %zu stream(s), "
                      "%zu receiver(s)",
                      TOCSIN_VERSION, d.cfg->redis.nstreams, d.cfg->nreceivers);
    tocsin_sd_ready("state restored; reading mentions");
    d.last_stats_ms = tocsin_wall_ms();
    while (!stop_requested) {
        if (reload_requested) {
            reload_requested = 0;
            reload(&d, NULL);
            continue;
        }
        int64_t now = tocsin_wall_ms();
        if (tocsin_ingest_step(d.ingest, now) == TOCSIN_EAGAIN) {
            d.ready = 0;
            sleep_ms(100);
        } else {
            d.ready = 1;
        }
        now = tocsin_wall_ms();
        serve(&d, now);
        if (now - d.last_stats_ms >= 60000) {
            d.last_stats_ms = now;
            log_stats(&d);
        }
    }
    /* Stop reading; commit the batch in hand; let delivery wind down. */
    tocsin_sd_stopping();
    if (d.ingest && tocsin_ingest_checkpoint(d.ingest, tocsin_wall_ms()) != TOCSIN_OK)
        tocsin_log_warn("DAEMON-STOP",
                        "final checkpoint failed; pending "
                        "entries will be read again at the next start");
    if (d.ingest)
        log_stats(&d);
    tocsin_log_notice("DAEMON-STOP", "stopped");
    status = 0;
out:
    tocsin_ingest_free(d.ingest);
    tocsin_probe_free(d.probe);
    tocsin_notifier_stop(d.notifier);
    tocsin_notifier_free(d.notifier);
    tocsin_control_free(d.control);
    tocsin_sentiment_free(d.scorer);
    tocsin_current_config = NULL;
    tocsin_config_free(d.cfg);
    return status;
}
