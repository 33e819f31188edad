/*
 * http_fixture.h: a real HTTP receiver on 127.0.0.1 for tests.
 *
 * libmicrohttpd serves on its own threads (one per connection, so a
 * delayed answer does not hold up other connections).  Every request is
 * recorded whole (method, path, headers, body, arrival time) and answered
 * from a script: each scripted response is used by one request, in order;
 * when the script is empty the default response (200, no delay) is used.
 *
 * The fixture owns the recorded requests; pointers returned by
 * tocsin_http_fixture_request stay valid until tocsin_http_fixture_stop.
 * All functions are thread-safe.
 */
#ifndef TOCSIN_HTTP_FIXTURE_H
#define TOCSIN_HTTP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"

struct tocsin_http_header {
    char *name;
    char *value;
};

struct tocsin_http_request {
    char *method;
    char *path;
    struct tocsin_http_header *headers;
    size_t nheaders;
    char *body; /* NUL-terminated copy of the body */
    size_t body_len;
    int64_t received_ms; /* tocsin_http_fixture_now_ms() when it arrived */
};

struct tocsin_http_fixture;

/* Listen on 127.0.0.1:port (0 picks a free port).  *out is written only on
 * success; TOCSIN_EIO if the daemon could not start. */
tocsin_err tocsin_http_fixture_start(struct tocsin_http_fixture **out,
                                     int port);

int tocsin_http_fixture_port(const struct tocsin_http_fixture *f);

/* "http://127.0.0.1:<port>" (borrowed). */
const char *tocsin_http_fixture_url(const struct tocsin_http_fixture *f);

/*
 * Append a response to the script: HTTP status, a delay before answering
 * (ms; the connection stays open meanwhile), an optional extra header line
 * ("Retry-After: 1", or NULL) and an optional body (NULL for empty).
 */
tocsin_err tocsin_http_fixture_script(struct tocsin_http_fixture *f, int status,
                                      int delay_ms, const char *header,
                                      const char *body);

/* The response used when the script is empty (initially 200, no delay). */
void tocsin_http_fixture_set_default(struct tocsin_http_fixture *f, int status,
                                     int delay_ms);

/* Requests recorded so far. */
size_t tocsin_http_fixture_count(struct tocsin_http_fixture *f);

/* Wait until at least n requests are recorded; 1 if so, 0 on timeout. */
int tocsin_http_fixture_wait(struct tocsin_http_fixture *f, size_t n,
                             int timeout_ms);

/* The i-th recorded request (borrowed), or NULL if there is none yet. */
const struct tocsin_http_request *
tocsin_http_fixture_request(struct tocsin_http_fixture *f, size_t i);

/* A header's value by case-insensitive name, or NULL. */
const char *tocsin_http_request_header(const struct tocsin_http_request *r,
                                       const char *name);

/* CLOCK_MONOTONIC in milliseconds (the clock of received_ms). */
int64_t tocsin_http_fixture_now_ms(void);

/* Stop listening, cut delayed answers short, free everything.  NULL does
 * nothing. */
void tocsin_http_fixture_stop(struct tocsin_http_fixture *f);

#endif
