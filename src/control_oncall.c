/*
 * control_oncall.c: silences, routes test, who is on call, acknowledge and
 * the on-call alerts, for the control socket (see control_oncall.h).
 *
 * Owns nothing: it works on the ingest's tocsin_oncall on the main thread,
 * between ingest steps, and commits through tocsin_ingest_deliver.
 */
#include "tocsin/control_oncall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/ingest.h"
#include "tocsin/log.h"
#include "tocsin/oncall.h"
#include "tocsin/oncall_view.h"

#define MAX_MATCHERS 32
#define MAX_LABELS   32

static const char *const commands[] = {
    "silence-add", "silence-query", "silence-expire", "routes-test",
    "oncall",      "ack",           "oncall-alerts",
};

int
tocsin_control_oncall_is(const char *cmd)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(cmd, commands[i]) == 0)
            return 1;
    return 0;
}

/* Commit a change (and the notes it made); an error reply or NULL. */
static json_t *
commit(struct tocsin_ingest *in, struct tocsin_notes *notes, int64_t now_ms)
{
    tocsin_err err = tocsin_ingest_deliver(in, notes, now_ms);
    free(notes->v);
    memset(notes, 0, sizeof *notes);
    if (err)
        return tocsin_control_error("could not save to redis (%s); not done",
                                    tocsin_strerror(err));
    return NULL;
}

static json_t *
silence_add(struct tocsin_ingest *in, struct tocsin_oncall *oc, json_t *req,
            int64_t now_ms)
{
    json_t *m = json_object_get(req, "matchers");
    json_t *dur = json_object_get(req, "duration");
    const char *comment = json_string_value(json_object_get(req, "comment"));
    const char *author = json_string_value(json_object_get(req, "author"));
    size_t n = json_array_size(m);
    if (n == 0 || n > MAX_MATCHERS)
        return tocsin_control_error("silence add: 1 to %d matchers are needed",
                                    MAX_MATCHERS);
    if (!json_is_integer(dur) || json_integer_value(dur) < 1)
        return tocsin_control_error(
            "silence add: duration: expected a positive number of "
            "seconds");
    if (!comment || !comment[0])
        return tocsin_control_error(
            "silence add: a comment is needed (--comment)");
    const char *exprs[MAX_MATCHERS];
    for (size_t i = 0; i < n; i++)
        if (!(exprs[i] = json_string_value(json_array_get(m, i))))
            return tocsin_control_error(
                "silence add: matchers must be strings");
    int64_t now = now_ms / 1000;
    char id[TOCSIN_SILENCE_ID_MAX], err[256] = "";
    if (tocsin_silences_add(tocsin_oncall_silences(oc), NULL, exprs, n, now,
                            now + json_integer_value(dur), comment,
                            author && author[0] ? author : "tocsinctl", id, err,
                            sizeof err) != TOCSIN_OK)
        return tocsin_control_error("silence add: %s",
                                    err[0] ? err : "refused");
    tocsin_oncall_touch_silences(oc);
    struct tocsin_notes notes = {0};
    json_t *e = commit(in, &notes, now_ms);
    if (e)
        return e;
    tocsin_log_notice("ONCALL-SILENCE", "silence %s added by %s: %s", id,
                      author && author[0] ? author : "tocsinctl", comment);
    return json_pack("{s:b,s:s,s:I}", "ok", 1, "id", id, "ends",
                     (json_int_t)(now + json_integer_value(dur)));
}

static json_t *
silence_query(struct tocsin_oncall *oc, int64_t now_ms)
{
    struct tocsin_silences *s = tocsin_oncall_silences(oc);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < tocsin_silences_count(s); i++) {
        const struct tocsin_silence *sl = tocsin_silences_get(s, i);
        json_t *m = json_array();
        for (size_t k = 0; m && k < tocsin_matchers_count(sl->matchers); k++)
            json_array_append_new(
                m, json_string(tocsin_matchers_text(sl->matchers, k)));
        json_t *o = json_pack(
            "{s:s,s:o*,s:I,s:I,s:s,s:s,s:s}", "id", sl->id, "matchers", m,
            "starts", (json_int_t)sl->starts, "ends", (json_int_t)sl->ends,
            "state", tocsin_silence_state(sl, now_ms / 1000), "comment",
            sl->comment ? sl->comment : "", "created_by",
            sl->created_by ? sl->created_by : "");
        if (o)
            json_array_append_new(arr, o);
    }
    return json_pack("{s:b,s:o*}", "ok", 1, "silences", arr);
}

static json_t *
silence_expire(struct tocsin_ingest *in, struct tocsin_oncall *oc, json_t *req,
               int64_t now_ms)
{
    const char *id = json_string_value(json_object_get(req, "id"));
    if (!id)
        return tocsin_control_error("silence expire: which silence?");
    if (tocsin_silences_expire(tocsin_oncall_silences(oc), id, now_ms / 1000) !=
        TOCSIN_OK)
        return tocsin_control_error("no silence \"%s\"", id);
    tocsin_oncall_touch_silences(oc);
    struct tocsin_notes notes = {0};
    json_t *e = commit(in, &notes, now_ms);
    if (e)
        return e;
    tocsin_log_notice("ONCALL-SILENCE", "silence %s expired", id);
    return json_pack("{s:b,s:s}", "ok", 1, "id", id);
}

static json_t *
routes_test(struct tocsin_oncall *oc, json_t *req, int64_t now_ms)
{
    json_t *labels = json_object_get(req, "labels");
    if (!json_is_object(labels) || json_object_size(labels) == 0 ||
        json_object_size(labels) > MAX_LABELS)
        return tocsin_control_error(
            "routes test: labels are needed, e.g. topic=AirNova "
            "kind=volume");
    struct tocsin_label l[MAX_LABELS + 1];
    size_t n = 0;
    const char *k;
    json_t *v;
    int has_alertname = 0;
    json_object_foreach(labels, k, v)
    {
        if (!json_is_string(v))
            return tocsin_control_error(
                "routes test: label %s: expected a string", k);
        l[n].name = k;
        l[n++].value = json_string_value(v);
        has_alertname |= strcmp(k, "alertname") == 0;
    }
    /* The engine's alerts always carry alertname: derive it from kind. */
    const char *kind = json_string_value(json_object_get(labels, "kind"));
    if (!has_alertname && kind) {
        l[n].name = "alertname";
        l[n++].value = strcmp(kind, "negativity") == 0 ? "NegativityShift"
                                                       : "MentionVolumeSpike";
    }
    struct tocsin_labelset ls = {l, n};
    char *text = NULL;
    if (tocsin_oncall_routes_test(oc, &ls, now_ms / 1000, &text) != TOCSIN_OK)
        return NULL;
    json_t *r = json_pack("{s:b,s:s}", "ok", 1, "text", text);
    free(text);
    return r;
}

static json_t *
who(struct tocsin_oncall *oc, int64_t now_ms)
{
    char *text = NULL;
    if (tocsin_oncall_who(oc, now_ms / 1000, &text) != TOCSIN_OK)
        return NULL;
    json_t *r = json_pack("{s:b,s:s}", "ok", 1, "text", text);
    free(text);
    return r;
}

static json_t *
ack(struct tocsin_ingest *in, struct tocsin_oncall *oc, json_t *req,
    int64_t now_ms)
{
    const char *id = json_string_value(json_object_get(req, "id"));
    const char *by = json_string_value(json_object_get(req, "by"));
    if (!id)
        return tocsin_control_error("ack: which alert (its fingerprint)?");
    if (!by || !by[0])
        by = "tocsinctl";
    struct tocsin_notes notes = {0};
    tocsin_err err = tocsin_oncall_ack(oc, id, by, now_ms / 1000, &notes);
    if (err) {
        tocsin_notes_clear(&notes);
        free(notes.v);
        if (err == TOCSIN_ENOENT)
            return tocsin_control_error("no firing alert \"%s\"", id);
        if (err == TOCSIN_EINVAL)
            return tocsin_control_error("alert \"%s\" was already acknowledged",
                                        id);
        return tocsin_control_error("ack: %s", tocsin_strerror(err));
    }
    json_t *e = commit(in, &notes, now_ms);
    if (e)
        return e;
    tocsin_log_notice("ONCALL-ACK", "alert %s acknowledged by %s", id, by);
    return json_pack("{s:b,s:s,s:s}", "ok", 1, "id", id, "by", by);
}

static json_t *
alerts(struct tocsin_oncall *oc)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < tocsin_oncall_nalerts(oc); i++) {
        char *txt = NULL;
        if (tocsin_oncall_alert_json(oc, tocsin_oncall_alert_at(oc, i), &txt) !=
            TOCSIN_OK)
            continue;
        json_t *o = json_loads(txt, 0, NULL);
        free(txt);
        if (o) {
            json_object_del(o, "alert"); /* the evidence: too long here */
            json_array_append_new(arr, o);
        }
    }
    return json_pack("{s:b,s:o*}", "ok", 1, "alerts", arr);
}

json_t *
tocsin_control_oncall(struct tocsin_ingest *in, const char *cmd, json_t *req,
                      int64_t now_ms)
{
    struct tocsin_oncall *oc = in ? tocsin_ingest_oncall(in) : NULL;
    if (!oc)
        return tocsin_control_error(
            in ? "on call is not configured (no oncall, route or "
                 "schedules in the configuration)"
               : "redis is unreachable; no on-call state loaded");
    if (strcmp(cmd, "silence-add") == 0)
        return silence_add(in, oc, req, now_ms);
    if (strcmp(cmd, "silence-query") == 0)
        return silence_query(oc, now_ms);
    if (strcmp(cmd, "silence-expire") == 0)
        return silence_expire(in, oc, req, now_ms);
    if (strcmp(cmd, "routes-test") == 0)
        return routes_test(oc, req, now_ms);
    if (strcmp(cmd, "oncall") == 0)
        return who(oc, now_ms);
    if (strcmp(cmd, "ack") == 0)
        return ack(in, oc, req, now_ms);
    return alerts(oc);
}
