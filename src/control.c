/*
 * control.c: the control (REP) and publish (PUB) nanomsg sockets, and the
 * operator commands served on the first (see control.h).
 *
 * Owns the two sockets, the cache of active alerts and at most one
 * test-receiver worker thread.  Runs on the main thread, between ingest
 * steps; reads the ingest state and the notifier's counters (thread-safe)
 * and, for per-stream figures, opens its own short Redis connection.  A
 * test-receiver request is sent by a short-lived worker thread (its own
 * curl handle), so ingestion goes on meanwhile; its reply is sent by the
 * main thread once the worker is done.
 */
#include "tocsin/control.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tocsin/control_oncall.h"
#include "tocsin/engine.h"
#include "tocsin/event.h"
#include "tocsin/ingest.h"
#include "tocsin/log.h"
#include "tocsin/notify.h"
#include "tocsin/redis.h"

#define MAX_RECEIVER_STATS 256
#define DEFAULT_TOP        20
#define RATE_SAMPLE_MS     10000

struct active {
    char *topic, *alertname, *json; /* the last firing event */
};

/* A test-receiver request in progress, run by its own worker thread. */
struct test_job {
    pthread_t thread;
    const struct tocsin_config *cfg; /* borrowed: see tocsin_control_settle */
    char *name, *body;
    char err[256]; /* worker's until done */
    tocsin_err result;
    atomic_int done;
};

struct tocsin_control {
    int rep, pub;
    struct test_job *test; /* its reply is owed on rep, or NULL */
    char rep_path[256]; /* ipc socket file to remove, or "" */
    char pub_path[256];
    struct active *act;
    size_t nact;
    /* Ingest rate: entries counted at rate_t, and the last rate. */
    int64_t rate_t;
    uint64_t rate_entries;
    double rate;
};

/* ---- sockets ---- */

int
tocsin_control_ipc_probe(const char *path)
{
    struct sockaddr_un sun;
    if (strlen(path) >= sizeof sun.sun_path)
        return ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path));
    int e = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0 ? 0 : errno;
    close(fd);
    return e;
}

static int
bind_socket(int protocol, const char *addr, char *path, size_t pathlen)
{
    /* Checked first: libnanomsg 1.1.5 leaks when an ipc bind fails. */
    if (strncmp(addr, "ipc://", 6) == 0 &&
        tocsin_control_ipc_probe(addr + 6) == 0) {
        tocsin_log_err("CONTROL-BIND",
                       "cannot listen on %s: in use (is another tocsind "
                       "running?)",
                       addr);
        return -1;
    }
    int s = nn_socket(AF_SP, protocol);
    if (s < 0) {
        tocsin_log_err("CONTROL-BIND", "nn_socket: %s",
                       nn_strerror(nn_errno()));
        return -1;
    }
    int linger = 0;
    nn_setsockopt(s, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger);
    if (protocol == NN_REP) {
        int max = TOCSIN_CONTROL_MAX_REQUEST;
        nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof max);
    }
    if (nn_bind(s, addr) < 0) {
        int e = nn_errno();
        tocsin_log_err("CONTROL-BIND", "cannot listen on %s: %s%s", addr,
                       nn_strerror(e),
                       e == EADDRINUSE ? " (is another tocsind running?)" : "");
        nn_close(s);
        return -1;
    }
    path[0] = '\0';
    if (strncmp(addr, "ipc://", 6) == 0 && strlen(addr + 6) < pathlen) {
        snprintf(path, pathlen, "%s", addr + 6);
        /* Only our own user may talk to the control socket. */
        if (protocol == NN_REP && chmod(path, 0600) != 0) {
            tocsin_log_err("CONTROL-BIND", "chmod %s: %s", path,
                           strerror(errno));
            nn_close(s);
            return -1;
        }
    }
    return s;
}

tocsin_err
tocsin_control_new(struct tocsin_control **out, const struct tocsin_config *cfg)
{
    struct tocsin_control *c = calloc(1, sizeof *c);
    if (!c)
        return TOCSIN_ENOMEM;
    c->rep = c->pub = -1;
    c->rep = bind_socket(NN_REP, cfg->control.listen, c->rep_path,
                         sizeof c->rep_path);
    if (c->rep >= 0)
        c->pub = bind_socket(NN_PUB, cfg->publish.listen, c->pub_path,
                             sizeof c->pub_path);
    if (c->rep < 0 || c->pub < 0) {
        tocsin_control_free(c);
        return TOCSIN_EIO;
    }
    tocsin_log_info("CONTROL-LISTEN", "control on %s, alerts published on %s",
                    cfg->control.listen, cfg->publish.listen);
    *out = c;
    return TOCSIN_OK;
}

static char *finish_test(struct tocsin_control *c);

void
tocsin_control_free(struct tocsin_control *c)
{
    if (!c)
        return;
    free(finish_test(c));
    if (c->rep >= 0) {
        nn_close(c->rep);
        if (c->rep_path[0])
            unlink(c->rep_path);
    }
    if (c->pub >= 0) {
        nn_close(c->pub);
        if (c->pub_path[0])
            unlink(c->pub_path);
    }
    for (size_t i = 0; i < c->nact; i++) {
        free(c->act[i].topic);
        free(c->act[i].alertname);
        free(c->act[i].json);
    }
    free(c->act);
    free(c);
}

/* ---- publishing and the active-alert cache ---- */

static struct active *
find_active(struct tocsin_control *c, const char *topic, const char *name)
{
    for (size_t i = 0; i < c->nact; i++)
        if (strcmp(c->act[i].topic, topic) == 0 &&
            strcmp(c->act[i].alertname, name) == 0)
            return &c->act[i];
    return NULL;
}

static void
remember(struct tocsin_control *c, const char *topic, const char *alertname,
         const char *status, const char *json)
{
    struct active *a = find_active(c, topic, alertname);
    if (strcmp(status, "firing") != 0) {
        if (a) {
            free(a->topic);
            free(a->alertname);
            free(a->json);
            *a = c->act[--c->nact];
        }
        return;
    }
    char *j = strdup(json);
    if (!j)
        return;
    if (a) {
        free(a->json);
        a->json = j;
        return;
    }
    struct active *v = realloc(c->act, (c->nact + 1) * sizeof *v);
    if (!v) {
        free(j);
        return;
    }
    c->act = v;
    struct active *n = &v[c->nact];
    n->topic = strdup(topic);
    n->alertname = strdup(alertname);
    n->json = j;
    if (!n->topic || !n->alertname) {
        free(n->topic);
        free(n->alertname);
        free(j);
        return;
    }
    c->nact++;
}

void
tocsin_control_publish(struct tocsin_control *c, const char *topic,
                       const char *alertname, const char *status,
                       const char *json)
{
    remember(c, topic, alertname, status, json);
    size_t tl = strlen(topic), jl = strlen(json);
    char *msg = malloc(tl + 1 + jl);
    if (!msg)
        return;
    memcpy(msg, topic, tl);
    msg[tl] = TOCSIN_PUBLISH_SEP;
    memcpy(msg + tl + 1, json, jl);
    if (nn_send(c->pub, msg, tl + 1 + jl, NN_DONTWAIT) < 0 &&
        nn_errno() != EAGAIN)
        tocsin_log_warn("PUBLISH-FAIL", "topic=%s: %s", topic,
                        nn_strerror(nn_errno()));
    free(msg);
}

/* ---- commands ---- */

json_t *
tocsin_control_error(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return json_pack("{s:b,s:s}", "ok", 0, "error", buf);
}

/* XINFO GROUPS / XLEN figures of each stream, from a connection of our
 * own (the ingest connection may be in the middle of a blocking read). */
static json_t *
streams_info(const struct tocsin_config *cfg)
{
    json_t *arr = json_array();
    redisContext *rc = NULL;
    if (!arr || tocsin_redis_connect(&rc, cfg, 2000) != TOCSIN_OK)
        return arr;
    for (size_t si = 0; si < cfg->redis.nstreams; si++) {
        const char *key = cfg->redis.streams[si];
        json_t *o = json_pack("{s:s}", "stream", key);
        if (!o)
            continue;
        const char *xlen[] = {"XLEN", key};
        redisReply *r = tocsin_redis_cmd(rc, 2, xlen, NULL);
        if (r && r->type == REDIS_REPLY_INTEGER)
            json_object_set_new(o, "length", json_integer(r->integer));
        freeReplyObject(r);
        char dead[512];
        snprintf(dead, sizeof dead, "%s%s", key, cfg->redis.dead_suffix);
        const char *dlen[] = {"XLEN", dead};
        r = tocsin_redis_cmd(rc, 2, dlen, NULL);
        if (r && r->type == REDIS_REPLY_INTEGER)
            json_object_set_new(o, "dead_letters", json_integer(r->integer));
        freeReplyObject(r);
        const char *xi[] = {"XINFO", "GROUPS", key};
        r = tocsin_redis_cmd(rc, 3, xi, NULL);
        for (size_t g = 0; r && r->type == REDIS_REPLY_ARRAY && g < r->elements;
             g++) {
            const redisReply *m = r->element[g];
            if (m->type != REDIS_REPLY_ARRAY)
                continue;
            const redisReply *name = NULL, *pending = NULL, *lag = NULL;
            for (size_t k = 0; k + 1 < m->elements; k += 2) {
                const char *f = m->element[k]->str;
                if (!f)
                    continue;
                if (strcmp(f, "name") == 0)
                    name = m->element[k + 1];
                else if (strcmp(f, "pending") == 0)
                    pending = m->element[k + 1];
                else if (strcmp(f, "lag") == 0)
                    lag = m->element[k + 1];
            }
            if (!name || !name->str || strcmp(name->str, cfg->redis.group))
                continue;
            if (pending && pending->type == REDIS_REPLY_INTEGER)
                json_object_set_new(o, "pending",
                                    json_integer(pending->integer));
            if (lag && lag->type == REDIS_REPLY_INTEGER)
                json_object_set_new(o, "lag", json_integer(lag->integer));
        }
        freeReplyObject(r);
        json_array_append_new(arr, o);
    }
    redisFree(rc);
    return arr;
}

static json_t *
receivers_info(const struct tocsin_control_view *v)
{
    json_t *arr = json_array();
    struct tocsin_receiver_stats *st = calloc(MAX_RECEIVER_STATS, sizeof *st);
    size_t n = 0;
    if (st && v->notifier)
        tocsin_notifier_stats(v->notifier, st, MAX_RECEIVER_STATS, &n, NULL);
    if (n > MAX_RECEIVER_STATS)
        n = MAX_RECEIVER_STATS;
    for (size_t i = 0; arr && i < v->cfg->nreceivers; i++) {
        const char *name = v->cfg->receivers[i].name;
        const struct tocsin_receiver_stats *s = NULL;
        for (size_t k = 0; k < n && !s; k++)
            if (strcmp(st[k].name, name) == 0)
                s = &st[k];
        json_t *o = json_pack(
            "{s:s,s:I,s:I,s:I,s:I,s:I,s:i,s:s}", "name", name, "sent",
            (json_int_t)(s ? s->sent : 0), "failed",
            (json_int_t)(s ? s->failed : 0), "dead",
            (json_int_t)(s ? s->dead : 0), "last_success_ms",
            (json_int_t)(s ? s->last_success_ms : 0), "last_failure_ms",
            (json_int_t)(s ? s->last_failure_ms : 0), "last_status",
            s ? s->last_status : 0, "last_error", s ? s->last_error : "");
        if (o)
            json_array_append_new(arr, o);
    }
    free(st);
    return arr;
}

static json_t *
cmd_status(struct tocsin_control *c, const struct tocsin_control_view *v,
           int64_t now_ms)
{
    struct tocsin_ingest_stats st;
    memset(&st, 0, sizeof st);
    if (v->ingest)
        tocsin_ingest_get_stats(v->ingest, &st);
    double lag_s = 0;
    if (!st.caught_up && st.last_entry_ms > 0 && now_ms > st.last_entry_ms)
        lag_s = (double)(now_ms - st.last_entry_ms) / 1000.0;
    uint64_t depth = 0;
    if (v->notifier)
        tocsin_notifier_stats(v->notifier, NULL, 0, NULL, &depth);
    json_t *ingest = json_pack(
        "{s:b,s:I,s:I,s:f,s:f,s:I,s:I,s:b,s:I,s:I,s:I,s:I,s:I}", "connected",
        v->ingest != NULL, "entries", (json_int_t)st.entries, "dead",
        (json_int_t)st.dead, "rate_per_second", c->rate, "lag_seconds", lag_s,
        "checkpoints", (json_int_t)st.checkpoints, "reconnects",
        (json_int_t)st.reconnects, "caught_up", st.caught_up, "topics",
        (json_int_t)st.engine.topics, "firing", (json_int_t)st.engine.firing,
        "late", (json_int_t)st.engine.late, "duplicates",
        (json_int_t)st.engine.duplicates, "events",
        (json_int_t)st.engine.events);
    return json_pack(
        "{s:b,s:s,s:i,s:I,s:f,s:b,s:s,s:s,s:s,s:s,s:o,s:o,s:I,"
        "s:o}",
        "ok", 1, "version", TOCSIN_VERSION, "pid", (int)getpid(), "started_ms",
        (json_int_t)v->started_ms, "uptime_seconds",
        (double)(now_ms - v->started_ms) / 1000.0, "ready", v->ready, "config",
        v->cfg->path ? v->cfg->path : "", "control", v->cfg->control.listen,
        "publish", v->cfg->publish.listen, "http", v->cfg->http.listen,
        "ingest", ingest, "streams", streams_info(v->cfg), "outbox_depth",
        (json_int_t)depth, "receivers", receivers_info(v));
}

struct topic_rows {
    json_t *arr;
};

/* jansson refuses NaN and infinities. */
static double
fin(double x)
{
    return isfinite(x) ? x : 0.0;
}

static void
add_topic(void *arg, const struct tocsin_topic_info *t)
{
    struct topic_rows *rows = arg;
    json_t *o = json_pack(
        "{s:s,s:f,s:f,s:f,s:f,s:b,s:b}", "topic", t->name, "rate_per_min",
        fin(t->rate_per_min), "baseline_per_min", fin(t->baseline_per_min),
        "volume_score", fin(t->volume_score), "negativity_score",
        fin(t->negativity_score), "volume_firing",
        t->firing[TOCSIN_ALERT_VOLUME], "negativity_firing",
        t->firing[TOCSIN_ALERT_NEGATIVITY]);
    if (!o)
        return;
    json_object_set_new(o, "negative_share",
                        t->negative_share < 0
                            ? json_null()
                            : json_real(fin(t->negative_share)));
    json_object_set_new(o, "negative_baseline",
                        json_real(fin(t->negative_baseline)));
    json_array_append_new(rows->arr, o);
}

static double
topic_key(json_t *o)
{
    double a = json_real_value(json_object_get(o, "volume_score"));
    double b = json_real_value(json_object_get(o, "negativity_score"));
    return a > b ? a : b;
}

static int
cmp_topics(const void *pa, const void *pb)
{
    json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    double ka = topic_key(a), kb = topic_key(b);
    if (ka != kb)
        return ka > kb ? -1 : 1;
    double ra = json_real_value(json_object_get(a, "rate_per_min"));
    double rb = json_real_value(json_object_get(b, "rate_per_min"));
    if (ra != rb)
        return ra > rb ? -1 : 1;
    return strcmp(json_string_value(json_object_get(a, "topic")),
                  json_string_value(json_object_get(b, "topic")));
}

static json_t *
cmd_topics(const struct tocsin_control_view *v, json_t *req)
{
    json_int_t top = DEFAULT_TOP;
    json_t *t = json_object_get(req, "top");
    if (t) {
        if (!json_is_integer(t) || json_integer_value(t) < 1)
            return tocsin_control_error("top: expected a positive integer");
        top = json_integer_value(t);
    }
    if (!v->ingest)
        return tocsin_control_error("redis is unreachable; no topics loaded");
    struct topic_rows rows = {json_array()};
    if (!rows.arr)
        return NULL;
    tocsin_engine_foreach_topic(tocsin_ingest_engine(v->ingest), add_topic,
                                &rows);
    size_t n = json_array_size(rows.arr);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    json_t *out = json_array();
    if (items && out) {
        for (size_t i = 0; i < n; i++)
            items[i] = json_array_get(rows.arr, i);
        qsort(items, n, sizeof *items, cmp_topics);
        for (size_t i = 0; i < n && (json_int_t)i < top; i++)
            json_array_append(out, items[i]);
    }
    free(items);
    json_decref(rows.arr);
    return json_pack("{s:b,s:I,s:o}", "ok", 1, "total", (json_int_t)n, "topics",
                     out ? out : json_array());
}

struct alert_rows {
    struct tocsin_control *c;
    json_t *arr;
};

static void
add_alerts(void *arg, const struct tocsin_topic_info *t)
{
    struct alert_rows *rows = arg;
    static const enum tocsin_alert_kind kinds[] = {TOCSIN_ALERT_VOLUME,
                                                   TOCSIN_ALERT_NEGATIVITY};
    for (size_t k = 0; k < 2; k++) {
        if (!t->firing[kinds[k]])
            continue;
        const char *name = tocsin_alertname(kinds[k]);
        json_t *o =
            json_pack("{s:s,s:s,s:f,s:f}", "topic", t->name, "alertname", name,
                      "volume_score", fin(t->volume_score), "negativity_score",
                      fin(t->negativity_score));
        if (!o)
            continue;
        /* Details from the event that fired it, when this process saw it
         * (after a restart, the alert state comes from Redis alone). */
        struct active *a = find_active(rows->c, t->name, name);
        json_t *ev = a ? json_loads(a->json, 0, NULL) : NULL;
        json_t *al = json_array_get(json_object_get(ev, "alerts"), 0);
        json_t *lab = json_object_get(al, "labels");
        json_t *ann = json_object_get(al, "annotations");
        if (al) {
            json_object_set(o, "severity", json_object_get(lab, "severity"));
            json_object_set(o, "startsAt", json_object_get(al, "startsAt"));
            json_object_set(o, "summary", json_object_get(ann, "summary"));
            json_object_set(o, "fingerprint",
                            json_object_get(al, "fingerprint"));
        }
        json_decref(ev);
        json_array_append_new(rows->arr, o);
    }
}

static json_t *
cmd_alerts(struct tocsin_control *c, const struct tocsin_control_view *v)
{
    if (!v->ingest)
        return tocsin_control_error(
            "redis is unreachable; no alert state loaded");
    struct alert_rows rows = {c, json_array()};
    if (!rows.arr)
        return NULL;
    tocsin_engine_foreach_topic(tocsin_ingest_engine(v->ingest), add_alerts,
                                &rows);
    json_t *rep = json_pack("{s:b,s:o}", "ok", 1, "alerts", rows.arr);
    if (rep && tocsin_ingest_oncall(v->ingest)) {
        /* Acknowledgement and escalation state of each alert. */
        json_t *oc = tocsin_control_oncall(v->ingest, "oncall-alerts", NULL, 0);
        json_object_set(rep, "oncall", json_object_get(oc, "alerts"));
        json_decref(oc);
    }
    return rep;
}

static void *
test_worker(void *arg)
{
    struct test_job *t = arg;
    t->result = tocsin_notifier_test_receiver(t->cfg, t->name, t->body, t->err,
                                              sizeof t->err);
    atomic_store(&t->done, 1);
    return NULL;
}

static void
free_test(struct test_job *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->body);
    free(t);
}

/* Wait for the test in progress (if any) and make its reply (a new JSON
 * string), or NULL when there is none. */
static char *
finish_test(struct tocsin_control *c)
{
    struct test_job *t = c->test;
    if (!t)
        return NULL;
    c->test = NULL;
    pthread_join(t->thread, NULL);
    tocsin_log_notice("CONTROL-TEST-RECEIVER", "receiver=%s: %s", t->name,
                      t->result == TOCSIN_OK ? "delivered" : t->err);
    json_t *rep =
        t->result != TOCSIN_OK
            ? json_pack("{s:b,s:s,s:s}", "ok", 0, "receiver", t->name,
                        "error", t->err[0] ? t->err : tocsin_strerror(t->result))
            : json_pack("{s:b,s:s,s:s}", "ok", 1, "receiver", t->name,
                        "result", "delivered");
    free_test(t);
    char *s = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
    json_decref(rep);
    return s ? s : strdup("{\"ok\":false,\"error\":\"out of memory\"}");
}

/* Start sending a test notification through the named receiver on a
 * worker thread: NULL once started (c->test is set), else an error
 * reply. */
static json_t *
cmd_test_receiver(struct tocsin_control *c, const struct tocsin_control_view *v,
                  json_t *req, int64_t now_ms)
{
    const char *name = json_string_value(json_object_get(req, "name"));
    if (!name)
        return tocsin_control_error("test-receiver: a receiver name is needed");
    if (!tocsin_config_receiver(v->cfg, name))
        return tocsin_control_error("no receiver called \"%s\"", name);
    struct tocsin_alert_event ev;
    memset(&ev, 0, sizeof ev);
    ev.topic = "tocsin-test";
    ev.kind = TOCSIN_ALERT_VOLUME;
    ev.status = TOCSIN_ALERT_FIRING;
    ev.severity = "warning";
    ev.starts_ms = ev.at_ms = now_ms;
    ev.window_ms = 60000;
    ev.negative_share = -1;
    snprintf(ev.fingerprint, sizeof ev.fingerprint, "tocsintest");
    snprintf(ev.delivery, sizeof ev.delivery, "test-%lld", (long long)now_ms);
    char *body = NULL;
    if (tocsin_event_body(&body, &ev, name, v->cfg->alerts.external_url))
        return tocsin_control_error("cannot build the test event");
    struct test_job *t = calloc(1, sizeof *t);
    if (t) {
        t->cfg = v->cfg;
        t->name = strdup(name);
        t->body = body;
        body = NULL;
    }
    if (!t || !t->name || pthread_create(&t->thread, NULL, test_worker, t)) {
        free(body);
        free_test(t);
        return tocsin_control_error("cannot start the test");
    }
    c->test = t;
    return NULL;
}

static json_t *
cmd_reload(const struct tocsin_control_view *v)
{
    char *errors = NULL;
    if (!v->reload)
        return tocsin_control_error("reload is not available");
    if (v->reload(v->arg, &errors) == 0) {
        free(errors);
        return json_pack("{s:b,s:s}", "ok", 1, "result", "reloaded");
    }
    json_t *r = json_pack("{s:b,s:s}", "ok", 0, "error",
                          errors ? errors : "reload failed");
    free(errors);
    return r;
}

/* Reply to request (a new string), or NULL when a test-receiver was
 * started (c->test): its reply comes from finish_test(). */
static char *
handle(struct tocsin_control *c, const struct tocsin_control_view *v,
       const char *request, int64_t now_ms)
{
    json_error_t jerr;
    json_t *req = json_loads(request, 0, &jerr);
    json_t *rep = NULL;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!req || !json_is_object(req))
        rep =
            tocsin_control_error("request is not a JSON object: %s", jerr.text);
    else if (!cmd)
        rep = tocsin_control_error("request has no \"cmd\"");
    else if (strcmp(cmd, "status") == 0)
        rep = cmd_status(c, v, now_ms);
    else if (strcmp(cmd, "topics") == 0)
        rep = cmd_topics(v, req);
    else if (strcmp(cmd, "alerts") == 0)
        rep = cmd_alerts(c, v);
    else if (strcmp(cmd, "test-receiver") == 0)
        rep = cmd_test_receiver(c, v, req, now_ms);
    else if (strcmp(cmd, "reload") == 0)
        rep = cmd_reload(v);
    else if (tocsin_control_oncall_is(cmd))
        rep = tocsin_control_oncall(v->ingest, cmd, req, now_ms);
    else
        rep = tocsin_control_error("unknown command \"%s\"", cmd);
    json_decref(req);
    if (!rep && c->test)
        return NULL;
    char *s = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
    json_decref(rep);
    if (!s)
        s = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
    return s;
}

char *
tocsin_control_handle(struct tocsin_control *c,
                      const struct tocsin_control_view *v, const char *request,
                      int64_t now_ms)
{
    free(finish_test(c));
    char *s = handle(c, v, request, now_ms);
    return s ? s : finish_test(c);
}

static void
send_reply(struct tocsin_control *c, char *rep)
{
    if (rep && nn_send(c->rep, rep, strlen(rep), NN_DONTWAIT) < 0)
        tocsin_log_warn("CONTROL-SEND", "%s", nn_strerror(nn_errno()));
    free(rep);
}

void
tocsin_control_settle(struct tocsin_control *c)
{
    if (c && c->test)
        send_reply(c, finish_test(c));
}

/* Entries read per second, over the last RATE_SAMPLE_MS or more. */
static void
sample_rate(struct tocsin_control *c, struct tocsin_ingest *in, int64_t now_ms)
{
    struct tocsin_ingest_stats st;
    tocsin_ingest_get_stats(in, &st);
    if (c->rate_t == 0 || st.entries < c->rate_entries) {
        /* First sample, or a new ingest after a reload. */
        c->rate_t = now_ms;
        c->rate_entries = st.entries;
    } else if (now_ms - c->rate_t >= RATE_SAMPLE_MS) {
        c->rate = (double)(st.entries - c->rate_entries) * 1000.0 /
                  (double)(now_ms - c->rate_t);
        c->rate_t = now_ms;
        c->rate_entries = st.entries;
    }
}

void
tocsin_control_poll(struct tocsin_control *c,
                    const struct tocsin_control_view *v, int64_t now_ms)
{
    if (v->ingest)
        sample_rate(c, v->ingest, now_ms);
    /* One request at a time on a REP socket: none is read while a test's
     * reply is owed. */
    if (c->test) {
        if (!atomic_load(&c->test->done))
            return;
        send_reply(c, finish_test(c));
    }
    for (;;) {
        char *buf = NULL;
        int n = nn_recv(c->rep, &buf, NN_MSG, NN_DONTWAIT);
        if (n < 0) {
            int e = nn_errno();
            if (e != EAGAIN && e != EINTR)
                tocsin_log_warn("CONTROL-RECV", "%s", nn_strerror(e));
            return;
        }
        char *req = malloc((size_t)n + 1);
        if (req) {
            memcpy(req, buf, (size_t)n);
            req[n] = '\0';
        }
        nn_freemsg(buf);
        char *rep = req ? handle(c, v, req, now_ms) : NULL;
        int reload = req && strstr(req, "\"reload\"") != NULL;
        free(req);
        if (c->test)
            return; /* replied to once the test is done */
        send_reply(c, rep);
        /* After a reload the view's ingest is stale: let the caller make
         * a new view before serving more. */
        if (reload)
            return;
    }
}
