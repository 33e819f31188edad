/*
 * control_oncall.h: the on-call commands of the control socket.
 *
 *   {"cmd":"silence-add","matchers":["topic=\"X\"",...],"duration":S,
 *    "comment":TEXT,"author":NAME}        -> {"id":ID}
 *   {"cmd":"silence-query"}              -> {"silences":[{id, matchers,
 *                                           starts, ends, state, comment,
 *                                           created_by}]}
 *   {"cmd":"silence-expire","id":ID}
 *   {"cmd":"routes-test","labels":{"topic":..,"kind":..}}
 *                                        -> {"text": which routes and
 *                                           receivers it would reach}
 *   {"cmd":"oncall"}                     -> {"text": who is on call now
 *                                           and next, per schedule}
 *   {"cmd":"ack","id":FINGERPRINT,"by":NAME}
 *   {"cmd":"oncall-alerts"}              -> {"alerts":[alert JSON: labels,
 *                                           status, escalation, acked_by,
 *                                           history]}
 *
 * Changes (silences, acknowledgements) are committed to Redis with the
 * notifications they cause before the reply goes out.  Main thread only
 * (the on-call state belongs to the ingest); borrowed arguments.
 */
#ifndef TOCSIN_CONTROL_ONCALL_H
#define TOCSIN_CONTROL_ONCALL_H

#include <jansson.h>
#include <stdint.h>

struct tocsin_ingest;

/* A failure reply {"ok":false,"error":TEXT} (control.c), or NULL. */
json_t *tocsin_control_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* 1 when cmd is one of the commands above. */
int tocsin_control_oncall_is(const char *cmd);

/*
 * Serve on-call command cmd with request req (in may be NULL while Redis
 * is unreachable): a new reply object {"ok":true,...} or {"ok":false,
 * "error":...}, or NULL when out of memory.
 */
json_t *tocsin_control_oncall(struct tocsin_ingest *in, const char *cmd,
                              json_t *req, int64_t now_ms);

#endif
