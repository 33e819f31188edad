/*
 * probe.c: /metrics, /-/healthy, /-/ready and /ack/<token> over HTTP (see
 * probe.h).
 *
 * Owns the listening socket, a libmicrohttpd daemon (a thread per
 * connection, so that an ack request can wait for the main thread without
 * holding up /metrics), the latest snapshot of the main thread's figures
 * and the queue of ack links waiting for the main thread (all under mu).
 * Builds the Prometheus text format by hand: it is a handful of lines,
 * and every name is ours.
 */
#include "tocsin/clock.h"
#include "tocsin/probe.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tocsin/engine.h"
#include "tocsin/event.h"
#include "tocsin/log.h"
#include "tocsin/notify.h"
#include "tocsin/strbuf.h"

#define MAX_RECEIVERS  256
#define HEALTHY_MAX_MS 30000 /* main loop silent longer: unhealthy */
#define LINK_SLOTS     16    /* ack requests waiting at once */
#define LINK_WAIT_S    15    /* an ack request waits this long for an answer */

/* An ack link handed to the main thread, and its answer. */
struct link_slot {
    int used, taken, done;
    uint64_t ticket;
    char token[TOCSIN_ACK_TOKEN_MAX];
    unsigned status;
    char text[TOCSIN_PROBE_TEXT_MAX];
};

struct tocsin_probe {
    struct MHD_Daemon *mhd;
    int fd;
    int port;
    struct tocsin_notifier *notifier;
    int64_t started_ms;
    pthread_mutex_t mu;
    struct tocsin_probe_state st;       /* under mu */
    pthread_cond_t answered;            /* a link slot is done, or closing */
    struct link_slot links[LINK_SLOTS]; /* under mu */
    uint64_t next_ticket;
    int closing;
};

static void
header(struct tocsin_strbuf *b, const char *name, const char *type,
       const char *help)
{
    tocsin_strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                         type);
}

/* A label value with \, " and newline escaped. */
static void
label_value(char *out, size_t n, const char *v)
{
    size_t o = 0;
    for (; *v && o + 3 < n; v++) {
        if (*v == '\\' || *v == '"') {
            out[o++] = '\\';
            out[o++] = *v;
        } else if (*v == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *v;
        }
    }
    out[o] = '\0';
}

static void
receiver_metrics(struct tocsin_strbuf *b, struct tocsin_notifier *notifier)
{
    struct tocsin_receiver_stats *rs = calloc(MAX_RECEIVERS, sizeof *rs);
    size_t n = 0;
    uint64_t depth = 0;
    if (rs && notifier)
        tocsin_notifier_stats(notifier, rs, MAX_RECEIVERS, &n, &depth);
    if (n > MAX_RECEIVERS)
        n = MAX_RECEIVERS;
    char name[160];

    header(b, "tocsin_outbox_depth", "gauge",
           "Alert notifications waiting in the outbox stream.");
    tocsin_strbuf_printf(b, "tocsin_outbox_depth %llu\n",
                         (unsigned long long)depth);

    header(b, "tocsin_notifications_sent_total", "counter",
           "Notifications a receiver accepted (2xx).");
    for (size_t i = 0; i < n; i++) {
        label_value(name, sizeof name, rs[i].name);
        tocsin_strbuf_printf(
            b, "tocsin_notifications_sent_total{receiver=\"%s\"} %llu\n", name,
            (unsigned long long)rs[i].sent);
    }
    header(b, "tocsin_notifications_failed_total", "counter",
           "Failed delivery attempts, by receiver and reason.");
    for (size_t i = 0; i < n; i++) {
        label_value(name, sizeof name, rs[i].name);
        for (int r = 0; r < TOCSIN_FAIL_NREASONS; r++)
            tocsin_strbuf_printf(
                b,
                "tocsin_notifications_failed_total{receiver=\"%s\","
                "reason=\"%s\"} %llu\n",
                name, tocsin_fail_reason_name((enum tocsin_fail_reason)r),
                (unsigned long long)rs[i].failed_by[r]);
    }
    header(b, "tocsin_notifications_dead_total", "counter",
           "Notifications given up and moved to the dead outbox.");
    for (size_t i = 0; i < n; i++) {
        label_value(name, sizeof name, rs[i].name);
        tocsin_strbuf_printf(
            b, "tocsin_notifications_dead_total{receiver=\"%s\"} %llu\n", name,
            (unsigned long long)rs[i].dead);
    }
    header(b, "tocsin_notification_latency_seconds", "histogram",
           "Time from an alert event's outbox entry to its delivery.");
    for (size_t i = 0; i < n; i++) {
        label_value(name, sizeof name, rs[i].name);
        uint64_t cum = 0;
        for (int k = 0; k < TOCSIN_LATENCY_NBOUNDS; k++) {
            cum += rs[i].latency[k];
            tocsin_strbuf_printf(
                b,
                "tocsin_notification_latency_seconds_bucket{receiver="
                "\"%s\",le=\"%g\"} %llu\n",
                name, tocsin_latency_bounds[k], (unsigned long long)cum);
        }
        cum += rs[i].latency[TOCSIN_LATENCY_NBOUNDS];
        tocsin_strbuf_printf(
            b,
            "tocsin_notification_latency_seconds_bucket{receiver=\"%s\","
            "le=\"+Inf\"} %llu\n",
            name, (unsigned long long)cum);
        tocsin_strbuf_printf(
            b,
            "tocsin_notification_latency_seconds_sum{receiver=\"%s\"} "
            "%.6f\n",
            name, rs[i].latency_sum_s);
        tocsin_strbuf_printf(
            b,
            "tocsin_notification_latency_seconds_count{receiver=\"%s\"} "
            "%llu\n",
            name, (unsigned long long)cum);
    }
    free(rs);
}

tocsin_err
tocsin_probe_metrics(char **out, const struct tocsin_probe_state *st,
                     struct tocsin_notifier *notifier, int64_t started_ms)
{
    struct tocsin_strbuf b = {0};
    const struct tocsin_ingest_stats *in = &st->ingest;

    header(&b, "tocsin_build_info", "gauge", "tocsind's version.");
    tocsin_strbuf_printf(&b, "tocsin_build_info{version=\"%s\"} 1\n",
                         TOCSIN_VERSION);
    header(&b, "tocsin_start_time_seconds", "gauge",
           "When tocsind started, in seconds since the epoch.");
    tocsin_strbuf_printf(&b, "tocsin_start_time_seconds %.3f\n",
                         (double)started_ms / 1000.0);
    header(&b, "tocsin_ready", "gauge",
           "1 once Redis answers and the state is restored.");
    tocsin_strbuf_printf(&b, "tocsin_ready %d\n", st->ready ? 1 : 0);

    header(&b, "tocsin_mentions_ingested_total", "counter",
           "Stream entries read and processed.");
    tocsin_strbuf_printf(&b, "tocsin_mentions_ingested_total %llu\n",
                         (unsigned long long)in->entries);
    header(&b, "tocsin_mentions_dead_lettered_total", "counter",
           "Entries that broke the contract, put in the dead-letter stream.");
    tocsin_strbuf_printf(&b, "tocsin_mentions_dead_lettered_total %llu\n",
                         (unsigned long long)in->dead);
    header(&b, "tocsin_mentions_late_total", "counter",
           "Mentions too late for their bucket (counted, not tested).");
    tocsin_strbuf_printf(&b, "tocsin_mentions_late_total %llu\n",
                         (unsigned long long)in->engine.late);
    header(&b, "tocsin_mentions_duplicate_total", "counter",
           "Mentions whose id was seen within detection.dedup_window "
           "(dropped).");
    tocsin_strbuf_printf(&b, "tocsin_mentions_duplicate_total %llu\n",
                         (unsigned long long)in->engine.duplicates);
    header(&b, "tocsin_ingest_lag_seconds", "gauge",
           "How far reading is behind the stream (0 when caught up).");
    tocsin_strbuf_printf(&b, "tocsin_ingest_lag_seconds %.3f\n",
                         st->lag_seconds);
    header(&b, "tocsin_checkpoints_total", "counter",
           "Checkpoints committed to Redis.");
    tocsin_strbuf_printf(&b, "tocsin_checkpoints_total %llu\n",
                         (unsigned long long)in->checkpoints);
    header(&b, "tocsin_redis_reconnects_total", "counter",
           "Times the ingest side lost Redis and reconnected.");
    tocsin_strbuf_printf(&b, "tocsin_redis_reconnects_total %llu\n",
                         (unsigned long long)in->reconnects);
    header(&b, "tocsin_topics", "gauge", "Topics tracked.");
    tocsin_strbuf_printf(&b, "tocsin_topics %llu\n",
                         (unsigned long long)in->engine.topics);

    static const enum tocsin_alert_kind kinds[] = {TOCSIN_ALERT_VOLUME,
                                                   TOCSIN_ALERT_NEGATIVITY};
    header(&b, "tocsin_alerts", "gauge", "Alerts by kind and state.");
    for (size_t k = 0; k < 2; k++)
        tocsin_strbuf_printf(
            &b, "tocsin_alerts{alertname=\"%s\",state=\"firing\"} %llu\n",
            tocsin_alertname(kinds[k]),
            (unsigned long long)st->firing[kinds[k]]);
    header(&b, "tocsin_alert_events_total", "counter",
           "Alert events produced, by kind and status.");
    for (size_t k = 0; k < 2; k++)
        for (int s = 0; s < 2; s++)
            tocsin_strbuf_printf(&b,
                                 "tocsin_alert_events_total{alertname=\"%s\","
                                 "status=\"%s\"} %llu\n",
                                 tocsin_alertname(kinds[k]),
                                 s ? "resolved" : "firing",
                                 (unsigned long long)st->events[kinds[k]][s]);
    receiver_metrics(&b, notifier);
    char *text = tocsin_strbuf_take(&b);
    if (!text)
        return TOCSIN_ENOMEM;
    *out = text;
    return TOCSIN_OK;
}

/* ---- HTTP ---- */

static enum MHD_Result
answer(struct MHD_Connection *conn, unsigned status, const char *type,
       char *body, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A small page for a person who followed a link on a phone. */
static enum MHD_Result
page(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct tocsin_strbuf b = {0};
    tocsin_strbuf_puts(&b, "<!doctype html>\n<html><head><meta "
                           "charset=\"utf-8\"><meta name=\"viewport\" "
                           "content=\"width=device-width\"><title>tocsin"
                           "</title></head>\n<body><p>");
    for (const char *c = text; *c; c++) {
        if (*c == '<')
            tocsin_strbuf_puts(&b, "&lt;");
        else if (*c == '>')
            tocsin_strbuf_puts(&b, "&gt;");
        else if (*c == '&')
            tocsin_strbuf_puts(&b, "&amp;");
        else if (*c == '"')
            tocsin_strbuf_puts(&b, "&quot;");
        else
            tocsin_strbuf_add(&b, c, 1);
    }
    tocsin_strbuf_puts(&b, "</p></body></html>\n");
    char *html = tocsin_strbuf_take(&b);
    if (!html)
        return MHD_NO;
    return answer(conn, status, "text/html; charset=utf-8", html,
                  MHD_RESPMEM_MUST_FREE);
}

/* Hand token to the main thread and wait for its answer. */
static enum MHD_Result
ack_link(struct tocsin_probe *p, struct MHD_Connection *conn, const char *token)
{
    if (!token[0] || strlen(token) >= TOCSIN_ACK_TOKEN_MAX)
        return page(conn, MHD_HTTP_NOT_FOUND, "This is not an ack link.");
    pthread_mutex_lock(&p->mu);
    struct link_slot *s = NULL;
    for (size_t i = 0; i < LINK_SLOTS && !s; i++)
        if (!p->links[i].used)
            s = &p->links[i];
    if (!s || p->closing) {
        pthread_mutex_unlock(&p->mu);
        return page(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                    "tocsind is busy; try the link again in a moment.");
    }
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->ticket = ++p->next_ticket;
    snprintf(s->token, sizeof s->token, "%s", token);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += LINK_WAIT_S;
    while (!s->done && !p->closing)
        if (pthread_cond_timedwait(&p->answered, &p->mu, &until) == ETIMEDOUT)
            break;
    unsigned status = MHD_HTTP_SERVICE_UNAVAILABLE;
    char text[TOCSIN_PROBE_TEXT_MAX] = "tocsind did not answer in time; try "
                                       "the link again in a moment.";
    if (s->done) {
        status = s->status;
        memcpy(text, s->text, sizeof text);
    }
    s->used = 0;
    pthread_mutex_unlock(&p->mu);
    return page(conn, status, text);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_data_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    struct tocsin_probe *p = cls;
    static const char text[] = "text/plain; charset=utf-8";
    static int started;
    if (strncmp(url, "/ack/", 5) == 0 &&
        (strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0)) {
        /* A POST (ntfy's http action) may carry a body: read it, ignore
         * it, and answer once it is all in. */
        if (!*req_cls) {
            *req_cls = &started;
            return MHD_YES;
        }
        if (*upload_data_size) {
            *upload_data_size = 0;
            return MHD_YES;
        }
        return ack_link(p, conn, url + 5);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text,
                      (char *)"method not allowed\n", MHD_RESPMEM_PERSISTENT);
    pthread_mutex_lock(&p->mu);
    struct tocsin_probe_state st = p->st;
    pthread_mutex_unlock(&p->mu);
    if (strcmp(url, "/metrics") == 0) {
        char *body = NULL;
        if (tocsin_probe_metrics(&body, &st, p->notifier, p->started_ms))
            return MHD_NO;
        return answer(conn, MHD_HTTP_OK,
                      "text/plain; version=0.0.4; "
                      "charset=utf-8",
                      body, MHD_RESPMEM_MUST_FREE);
    }
    if (strcmp(url, "/-/healthy") == 0) {
        int ok =
            st.heartbeat_ms > 0 && tocsin_wall_ms() - st.heartbeat_ms < HEALTHY_MAX_MS;
        return answer(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                      text,
                      (char *)(ok ? "tocsind is healthy.\n"
                                  : "tocsind's main loop is stuck.\n"),
                      MHD_RESPMEM_PERSISTENT);
    }
    if (strcmp(url, "/-/ready") == 0)
        return answer(
            conn, st.ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, text,
            (char *)(st.ready ? "tocsind is ready.\n"
                              : "tocsind is not ready.\n"),
            MHD_RESPMEM_PERSISTENT);
    return answer(conn, MHD_HTTP_NOT_FOUND, text, (char *)"not found\n",
                  MHD_RESPMEM_PERSISTENT);
}

/* Split "HOST:PORT" / "[V6]:PORT" / "*:PORT" and open a listening socket. */
static int
listen_on(const char *addr, int *port_out)
{
    char host[256], port[16];
    const char *colon = strrchr(addr, ':');
    if (!colon || strlen(colon + 1) >= sizeof port)
        return -1;
    size_t hl = (size_t)(colon - addr);
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
        addr++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return -1;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    snprintf(port, sizeof port, "%s", colon + 1);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(strcmp(host, "*") == 0 || !host[0] ? NULL : host,
                          port, &hints, &res);
    if (gai != 0) {
        tocsin_log_err("HTTP-BIND", "%s: %s", addr, gai_strerror(gai));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd =
            socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 32) == 0) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
                *port_out = ntohs(ss.ss_family == AF_INET6
                                      ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                      : ((struct sockaddr_in *)&ss)->sin_port);
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        tocsin_log_err("HTTP-BIND", "cannot listen on %s: %s", addr,
                       strerror(err));
    return fd;
}

tocsin_err
tocsin_probe_new(struct tocsin_probe **out, const char *listen_addr,
                 struct tocsin_notifier *notifier, int64_t started_ms)
{
    struct tocsin_probe *p = calloc(1, sizeof *p);
    if (!p)
        return TOCSIN_ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->answered, NULL);
    p->notifier = notifier;
    p->started_ms = started_ms;
    p->fd = listen_on(listen_addr, &p->port);
    if (p->fd < 0) {
        pthread_cond_destroy(&p->answered);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return TOCSIN_EIO;
    }
    p->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, p, MHD_OPTION_LISTEN_SOCKET, p->fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!p->mhd) {
        tocsin_log_err("HTTP-BIND", "cannot start the HTTP server on %s",
                       listen_addr);
        close(p->fd);
        pthread_cond_destroy(&p->answered);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return TOCSIN_EIO;
    }
    tocsin_log_info("HTTP-LISTEN", "metrics on http://%s/metrics", listen_addr);
    *out = p;
    return TOCSIN_OK;
}

void
tocsin_probe_free(struct tocsin_probe *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu); /* waiting ack requests give up */
    p->closing = 1;
    pthread_cond_broadcast(&p->answered);
    pthread_mutex_unlock(&p->mu);
    MHD_stop_daemon(p->mhd);
    close(p->fd);
    pthread_cond_destroy(&p->answered);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void
tocsin_probe_update(struct tocsin_probe *p, const struct tocsin_probe_state *st)
{
    pthread_mutex_lock(&p->mu);
    p->st = *st;
    pthread_mutex_unlock(&p->mu);
}

int
tocsin_probe_port(const struct tocsin_probe *p)
{
    return p->port;
}

int
tocsin_probe_next_link(struct tocsin_probe *p, char *token, size_t n,
                       uint64_t *ticket)
{
    int found = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < LINK_SLOTS && !found; i++) {
        struct link_slot *s = &p->links[i];
        if (s->used && !s->taken && strlen(s->token) < n) {
            s->taken = 1;
            memcpy(token, s->token, strlen(s->token) + 1);
            *ticket = s->ticket;
            found = 1;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}

void
tocsin_probe_link_done(struct tocsin_probe *p, uint64_t ticket, unsigned status,
                       const char *text)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < LINK_SLOTS; i++) {
        struct link_slot *s = &p->links[i];
        if (s->used && s->ticket == ticket) {
            s->done = 1;
            s->status = status;
            snprintf(s->text, sizeof s->text, "%s", text);
        }
    }
    pthread_cond_broadcast(&p->answered);
    pthread_mutex_unlock(&p->mu);
}
