/*
 * daemon.c: the service loop (see daemon.h).
 *
 * Owns the current config snapshot, the ingest state (main thread), the
 * sentiment scorer (read-only, shared) and the notifier (its own thread,
 * its own Redis connection).  A slow receiver therefore never stalls
 * ingestion: the two meet only through the outbox stream in Redis.
 */
#include "tocsin/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tocsin/config.h"
#include "tocsin/ingest.h"
#include "tocsin/log.h"
#include "tocsin/notify.h"
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

static int64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !stop_requested)
        ;
}

static struct tocsin_config *
load(const char *path)
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
        tocsin_errbuf_clear(&eb);
        return NULL;
    }
    tocsin_errbuf_clear(&eb);
    return cfg;
}

struct daemon {
    struct tocsin_config *cfg;
    struct tocsin_sentiment *scorer;
    struct tocsin_ingest *ingest;
    struct tocsin_notifier *notifier;
    int64_t last_stats_ms;
};

static void
log_stats(struct daemon *d)
{
    struct tocsin_ingest_stats st;
    tocsin_ingest_get_stats(d->ingest, &st);
    tocsin_log_info("INGEST-STATS",
                    "entries=%llu dead=%llu topics=%llu late=%llu "
                    "firing=%llu events=%llu suppressed=%llu "
                    "past_crises=%llu checkpoints=%llu caught_up=%d",
                    (unsigned long long)st.entries,
                    (unsigned long long)st.dead,
                    (unsigned long long)st.engine.topics,
                    (unsigned long long)st.engine.late,
                    (unsigned long long)st.engine.firing,
                    (unsigned long long)st.engine.events,
                    (unsigned long long)st.engine.suppressed,
                    (unsigned long long)st.engine.past_crises,
                    (unsigned long long)st.checkpoints, st.caught_up);
}

/* Connect the ingest side, waiting out a Redis that is not up yet. */
static int
start_ingest(struct daemon *d)
{
    int64_t backoff = 100;
    while (!stop_requested) {
        tocsin_err err = tocsin_ingest_new(&d->ingest, d->cfg, d->scorer);
        if (!err)
            return 0;
        if (err != TOCSIN_EIO)
            return -1;
        tocsin_log_warn("INGEST-RECONNECT",
                        "redis not reachable; retrying in %lld ms",
                        (long long)backoff);
        sleep_ms((long)backoff);
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
    }
    return -1;
}

static void
reload(struct daemon *d, const char *path)
{
    tocsin_log_notice("CONFIG-RELOAD", "reloading %s", path);
    struct tocsin_config *next = load(path);
    if (!next) {
        tocsin_log_err("CONFIG-RELOAD",
                       "new configuration rejected; keeping the old one");
        return;
    }
    /* Commit the old pipeline's work, then rebuild it from Redis with the
     * new settings: the state saved a moment ago carries over. */
    tocsin_ingest_checkpoint(d->ingest, wall_ms());
    tocsin_ingest_free(d->ingest);
    d->ingest = NULL;
    tocsin_notifier_set_config(d->notifier, next);
    struct tocsin_config *old = d->cfg;
    d->cfg = next;
    tocsin_current_config = next;
    tocsin_log_set_level(next->log.level);
    if (start_ingest(d) != 0) {
        tocsin_log_err("CONFIG-RELOAD", "cannot restart ingest");
        stop_requested = 1;
    }
    tocsin_config_free(old);
    tocsin_log_notice("CONFIG-RELOAD", "configuration reloaded");
}

int
tocsin_daemon_run(const char *config_path)
{
    struct daemon d;
    memset(&d, 0, sizeof d);
    d.cfg = load(config_path);
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

    if (tocsin_sentiment_new(&d.scorer, d.cfg->sentiment.lexicons) !=
        TOCSIN_OK)
        tocsin_log_warn("SENTIMENT-LEXICON",
                        "no built-in scorer (lexicons in %s); mentions "
                        "without a sentiment do not count for negativity",
                        d.cfg->sentiment.lexicons);

    int status = 1;
    if (tocsin_notifier_new(&d.notifier, d.cfg) != TOCSIN_OK ||
        tocsin_notifier_start(d.notifier) != TOCSIN_OK) {
        tocsin_log_err("NOTIFY-START", "cannot start the delivery thread");
        goto out;
    }
    if (start_ingest(&d) != 0) {
        status = stop_requested ? 0 : 1;
        goto out;
    }
    tocsin_log_notice("DAEMON-START", "tocsind %s running: %zu stream(s), "
                      "%zu receiver(s)",
                      TOCSIN_VERSION, d.cfg->redis.nstreams,
                      d.cfg->nreceivers);
    d.last_stats_ms = wall_ms();
    while (!stop_requested) {
        if (reload_requested) {
            reload_requested = 0;
            reload(&d, config_path);
            continue;
        }
        int64_t now = wall_ms();
        if (tocsin_ingest_step(d.ingest, now) == TOCSIN_EAGAIN)
            sleep_ms(100);
        if (now - d.last_stats_ms >= 60000) {
            d.last_stats_ms = now;
            log_stats(&d);
        }
    }
    /* Stop reading; commit the batch in hand; let delivery wind down. */
    if (d.ingest && tocsin_ingest_checkpoint(d.ingest, wall_ms()) != TOCSIN_OK)
        tocsin_log_warn("DAEMON-STOP", "final checkpoint failed; pending "
                        "entries will be read again at the next start");
    if (d.ingest)
        log_stats(&d);
    tocsin_log_notice("DAEMON-STOP", "stopped");
    status = 0;
out:
    tocsin_ingest_free(d.ingest);
    tocsin_notifier_stop(d.notifier);
    tocsin_notifier_free(d.notifier);
    tocsin_sentiment_free(d.scorer);
    tocsin_current_config = NULL;
    tocsin_config_free(d.cfg);
    return status;
}
