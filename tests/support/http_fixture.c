/*
 * http_fixture.c: a scripted, recording HTTP server for tests, built on
 * libmicrohttpd with a thread per connection.  Owns the daemon, the script
 * and the recorded requests, all behind one mutex.
 */
#include "http_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_BODY (1024 * 1024)

struct scripted {
    int status;
    int delay_ms;
    char *header;
    char *body;
};

struct tocsin_http_fixture {
    struct MHD_Daemon *daemon;
    int port;
    char url[64];
    atomic_int stopping;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct scripted *script;
    size_t nscript, script_head, script_cap;
    int default_status, default_delay_ms;
    struct tocsin_http_request **reqs;
    size_t nreqs, reqs_cap;
};

struct conn_state {
    int64_t arrived_ms;
    char *body;
    size_t len;
    int too_big;
};

int64_t
tocsin_http_fixture_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
dup_str(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void
request_free(struct tocsin_http_request *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->method);
    free(r->path);
    free(r->body);
    free(r);
}

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
               const char *value)
{
    (void)kind;
    struct tocsin_http_request *r = cls;
    struct tocsin_http_header *h =
        realloc(r->headers, (r->nheaders + 1) * sizeof *h);
    if (!h)
        return MHD_NO;
    r->headers = h;
    h[r->nheaders].name = dup_str(key);
    h[r->nheaders].value = dup_str(value ? value : "");
    r->nheaders++;
    return MHD_YES;
}

static void
sleep_ms(struct tocsin_http_fixture *f, int ms)
{
    int64_t end = tocsin_http_fixture_now_ms() + ms;
    while (!atomic_load(&f->stopping)) {
        int64_t left = end - tocsin_http_fixture_now_ms();
        if (left <= 0)
            break;
        if (left > 10)
            left = 10;
        struct timespec ts = {0, (long)left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
       const char *method, const char *version, const char *upload_data,
       size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct tocsin_http_fixture *f = cls;
    struct conn_state *cs = *con_cls;
    if (!cs) {
        cs = calloc(1, sizeof *cs);
        if (!cs)
            return MHD_NO;
        cs->arrived_ms = tocsin_http_fixture_now_ms();
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (cs->len + n > MAX_BODY) {
            cs->too_big = 1;
        } else {
            char *b = realloc(cs->body, cs->len + n + 1);
            if (!b)
                return MHD_NO;
            memcpy(b + cs->len, upload_data, n);
            cs->body = b;
            cs->len += n;
            b[cs->len] = '\0';
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    struct tocsin_http_request *r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    r->method = dup_str(method);
    r->path = dup_str(url);
    r->body = cs->body ? cs->body : dup_str("");
    r->body_len = cs->len;
    cs->body = NULL;
    r->received_ms = cs->arrived_ms;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, r);

    struct scripted resp = {0};
    pthread_mutex_lock(&f->mu);
    int ok = 1;
    if (f->nreqs == f->reqs_cap) {
        size_t cap = f->reqs_cap ? f->reqs_cap * 2 : 16;
        struct tocsin_http_request **v = realloc(f->reqs, cap * sizeof *v);
        if (v) {
            f->reqs = v;
            f->reqs_cap = cap;
        } else {
            ok = 0;
        }
    }
    if (ok)
        f->reqs[f->nreqs++] = r;
    if (f->script_head < f->nscript) {
        resp = f->script[f->script_head];
        f->script[f->script_head].header = NULL;
        f->script[f->script_head].body = NULL;
        f->script_head++;
    } else {
        resp.status = f->default_status;
        resp.delay_ms = f->default_delay_ms;
    }
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    if (!ok)
        request_free(r);
    if (cs->too_big)
        resp.status = 413;

    if (resp.delay_ms > 0)
        sleep_ms(f, resp.delay_ms);
    const char *body = resp.body ? resp.body : "";
    struct MHD_Response *mr = MHD_create_response_from_buffer(
        strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_NO;
    if (mr) {
        if (resp.header) {
            char *colon = strchr(resp.header, ':');
            if (colon) {
                *colon = '\0';
                const char *v = colon + 1;
                while (*v == ' ')
                    v++;
                MHD_add_response_header(mr, resp.header, v);
            }
        }
        ret = MHD_queue_response(conn, (unsigned)resp.status, mr);
        MHD_destroy_response(mr);
    }
    free(resp.header);
    free(resp.body);
    return ret;
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
          enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct conn_state *cs = *con_cls;
    if (cs) {
        free(cs->body);
        free(cs);
        *con_cls = NULL;
    }
}

tocsin_err
tocsin_http_fixture_start(struct tocsin_http_fixture **out, int port)
{
    struct tocsin_http_fixture *f = calloc(1, sizeof *f);
    if (!f)
        return TOCSIN_ENOMEM;
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cond, &ca);
    pthread_condattr_destroy(&ca);
    f->default_status = 200;

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, handle, f, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_NOTIFY_COMPLETED, completed, f,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!f->daemon) {
        pthread_cond_destroy(&f->cond);
        pthread_mutex_destroy(&f->mu);
        free(f);
        return TOCSIN_EIO;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT);
    f->port = di ? di->port : port;
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
    *out = f;
    return TOCSIN_OK;
}

int
tocsin_http_fixture_port(const struct tocsin_http_fixture *f)
{
    return f->port;
}

const char *
tocsin_http_fixture_url(const struct tocsin_http_fixture *f)
{
    return f->url;
}

tocsin_err
tocsin_http_fixture_script(struct tocsin_http_fixture *f, int status,
                           int delay_ms, const char *header, const char *body)
{
    tocsin_err err = TOCSIN_OK;
    pthread_mutex_lock(&f->mu);
    if (f->nscript == f->script_cap) {
        size_t cap = f->script_cap ? f->script_cap * 2 : 8;
        struct scripted *v = realloc(f->script, cap * sizeof *v);
        if (!v) {
            err = TOCSIN_ENOMEM;
            goto out;
        }
        f->script = v;
        f->script_cap = cap;
    }
    struct scripted *s = &f->script[f->nscript];
    s->status = status;
    s->delay_ms = delay_ms;
    s->header = dup_str(header);
    s->body = dup_str(body);
    f->nscript++;
out:
    pthread_mutex_unlock(&f->mu);
    return err;
}

void
tocsin_http_fixture_set_default(struct tocsin_http_fixture *f, int status,
                                int delay_ms)
{
    pthread_mutex_lock(&f->mu);
    f->default_status = status;
    f->default_delay_ms = delay_ms;
    pthread_mutex_unlock(&f->mu);
}

size_t
tocsin_http_fixture_count(struct tocsin_http_fixture *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->nreqs;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int
tocsin_http_fixture_wait(struct tocsin_http_fixture *f, size_t n,
                         int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->mu);
    while (f->nreqs < n) {
        if (pthread_cond_timedwait(&f->cond, &f->mu, &dl) == ETIMEDOUT)
            break;
    }
    int ok = f->nreqs >= n;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

const struct tocsin_http_request *
tocsin_http_fixture_request(struct tocsin_http_fixture *f, size_t i)
{
    pthread_mutex_lock(&f->mu);
    const struct tocsin_http_request *r = i < f->nreqs ? f->reqs[i] : NULL;
    pthread_mutex_unlock(&f->mu);
    return r;
}

const char *
tocsin_http_request_header(const struct tocsin_http_request *r,
                           const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void
tocsin_http_fixture_stop(struct tocsin_http_fixture *f)
{
    if (!f)
        return;
    atomic_store(&f->stopping, 1);
    MHD_stop_daemon(f->daemon);
    for (size_t i = 0; i < f->nreqs; i++)
        request_free(f->reqs[i]);
    free(f->reqs);
    for (size_t i = f->script_head; i < f->nscript; i++) {
        free(f->script[i].header);
        free(f->script[i].body);
    }
    free(f->script);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
