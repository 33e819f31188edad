/*
 * oncall_store.c: on-call alerts, groups, silences and used ack links in
 * Redis.
 * Runs on the thread that owns the tocsin_oncall, on a borrowed hiredis
 * connection; owns only its key names.
 */
#include "tocsin/oncall_store.h"
#include "tocsin/oncall_view.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/log.h"
#include "tocsin/redis.h"

struct tocsin_oncall_store {
    char alerts[256], groups[256], silences[256], ack[256];
};

tocsin_err
tocsin_oncall_store_new(struct tocsin_oncall_store **out, const char *prefix)
{
    if (!out)
        return TOCSIN_EINVAL;
    if (!prefix)
        prefix = "tocsin:";
    if (strlen(prefix) > 200)
        return TOCSIN_EINVAL;
    struct tocsin_oncall_store *st = calloc(1, sizeof *st);
    if (!st)
        return TOCSIN_ENOMEM;
    snprintf(st->alerts, sizeof st->alerts, "%soncall:alerts", prefix);
    snprintf(st->groups, sizeof st->groups, "%soncall:groups", prefix);
    snprintf(st->silences, sizeof st->silences, "%soncall:silences", prefix);
    snprintf(st->ack, sizeof st->ack, "%soncall:ack:", prefix);
    *out = st;
    return TOCSIN_OK;
}

void
tocsin_oncall_store_free(struct tocsin_oncall_store *st)
{
    free(st);
}

static char *
silence_json(const struct tocsin_silence *s)
{
    json_t *m = json_array();
    for (size_t i = 0; m && i < tocsin_matchers_count(s->matchers); i++)
        json_array_append_new(
            m, json_string(tocsin_matchers_text(s->matchers, i)));
    json_t *o =
        json_pack("{s:s,s:o,s:I,s:I,s:s,s:s}", "id", s->id, "matchers", m,
                  "starts", (json_int_t)s->starts, "ends", (json_int_t)s->ends,
                  "comment", s->comment, "created_by", s->created_by);
    char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return txt;
}

/* Queue one command (pipelined); 0 on success. */
static int
append(redisContext *c, int argc, const char **argv)
{
    return redisAppendCommandArgv(c, argc, argv, NULL) == REDIS_OK ? 0 : -1;
}

/* Queue HSET key name <record> (or HDEL key name when there is none). */
static int
append_record(redisContext *c, const char *key, const char *name, tocsin_err e,
              char *json, size_t *queued)
{
    int bad;
    if (e == TOCSIN_OK) {
        const char *argv[] = {"HSET", key, name, json};
        bad = append(c, 4, argv);
        free(json);
    } else if (e == TOCSIN_ENOENT) {
        const char *argv[] = {"HDEL", key, name};
        bad = append(c, 3, argv);
    } else {
        return -1;
    }
    if (bad)
        return -1;
    (*queued)++;
    return 0;
}

/* Queue the HSET/HDEL commands of what changed (no MULTI/EXEC); adds
 * the number queued to *queued.  -1 when a command could not be queued
 * (the connection is then unusable) or built (out of memory). */
static int
append_changes(struct tocsin_oncall_store *st, redisContext *c,
               struct tocsin_oncall *oc, size_t *queued)
{
    for (size_t i = 0; i < tocsin_oncall_ndirty(oc); i++) {
        const char *fp = tocsin_oncall_dirty_at(oc, i);
        char *json = NULL;
        tocsin_err e = tocsin_oncall_alert_json(oc, fp, &json);
        if (append_record(c, st->alerts, fp, e, json, queued))
            return -1;
    }
    /* A group's record goes with its alerts' (same transaction): a
     * restart finds both as they were. */
    for (size_t i = 0; i < tocsin_oncall_ngroups_dirty(oc); i++) {
        const char *key = tocsin_oncall_group_dirty_at(oc, i);
        char *json = NULL;
        tocsin_err e = tocsin_oncall_group_json(oc, key, &json);
        if (append_record(c, st->groups, key, e, json, queued))
            return -1;
    }
    if (tocsin_oncall_silences_dirty(oc)) {
        struct tocsin_silences *s = tocsin_oncall_silences(oc);
        const char *del[] = {"DEL", st->silences};
        if (append(c, 2, del))
            return -1;
        (*queued)++;
        for (size_t i = 0; i < tocsin_silences_count(s); i++) {
            const struct tocsin_silence *sl = tocsin_silences_get(s, i);
            char *json = silence_json(sl);
            if (!json)
                return -1;
            const char *argv[] = {"HSET", st->silences, sl->id, json};
            int bad = append(c, 4, argv);
            free(json);
            if (bad)
                return -1;
            (*queued)++;
        }
    }
    return 0;
}

tocsin_err
tocsin_oncall_store_append(struct tocsin_oncall_store *st, redisContext *c,
                           struct tocsin_oncall *oc, size_t *queued)
{
    if (!st || !c || !oc || !queued)
        return TOCSIN_EINVAL;
    return append_changes(st, c, oc, queued) ? TOCSIN_EIO : TOCSIN_OK;
}

tocsin_err
tocsin_oncall_store_save(struct tocsin_oncall_store *st, redisContext *c,
                         struct tocsin_oncall *oc)
{
    if (!st || !c || !oc)
        return TOCSIN_EINVAL;
    if (!tocsin_oncall_unsaved(oc))
        return TOCSIN_OK;
    tocsin_err rc = TOCSIN_OK;
    size_t queued = 0;
    const char *multi[] = {"MULTI"};
    if (append(c, 1, multi))
        return TOCSIN_EIO;
    queued++;
    const char *exec[] = {"EXEC"}, *discard[] = {"DISCARD"};
    if (append_changes(st, c, oc, &queued)) {
        rc = TOCSIN_EIO; /* give up the transaction */
        if (c->err || append(c, 1, discard))
            return TOCSIN_EIO;
    } else if (append(c, 1, exec)) {
        return TOCSIN_EIO;
    }
    queued++;
    for (size_t i = 0; i < queued; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK) {
            rc = TOCSIN_EIO;
            break;
        }
        redisReply *rep = r;
        if (i == queued - 1 && rc == TOCSIN_OK &&
            (!rep || rep->type != REDIS_REPLY_ARRAY))
            rc = TOCSIN_EIO; /* EXEC failed */
        freeReplyObject(r);
    }
    if (rc == TOCSIN_OK)
        tocsin_oncall_clear_dirty(oc);
    else
        tocsin_log_warn("ONCALL-STORE", "saving on-call state failed: %s",
                        c->err ? c->errstr : tocsin_strerror(rc));
    return rc;
}

static int
load_silence(struct tocsin_oncall *oc, const char *txt)
{
    json_t *o = json_loads(txt, 0, NULL), *m = json_object_get(o, "matchers");
    const char *id = json_string_value(json_object_get(o, "id"));
    size_t n = json_array_size(m);
    int rc = -1;
    if (!id || n == 0 || n > 64)
        goto out;
    const char *exprs[64];
    for (size_t i = 0; i < n; i++)
        if (!(exprs[i] = json_string_value(json_array_get(m, i))))
            goto out;
    if (tocsin_silences_add(tocsin_oncall_silences(oc), id, exprs, n,
                            json_integer_value(json_object_get(o, "starts")),
                            json_integer_value(json_object_get(o, "ends")),
                            json_string_value(json_object_get(o, "comment")),
                            json_string_value(json_object_get(o, "created_by")),
                            NULL, NULL, 0) == TOCSIN_OK)
        rc = 0;
out:
    json_decref(o);
    return rc;
}

enum record { SILENCE, ALERT, GROUP };

/* HGETALL key, loading each value as a record of kind; counts failures in
 * *bad. */
static tocsin_err
load_hash(redisContext *c, const char *key, struct tocsin_oncall *oc,
          int64_t now, enum record kind, size_t *bad)
{
    const char *argv[] = {"HGETALL", key};
    redisReply *r = tocsin_redis_cmd(c, 2, argv, NULL);
    if (!r)
        return TOCSIN_EIO;
    tocsin_err rc = TOCSIN_OK;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = TOCSIN_EIO;
        goto out;
    }
    for (size_t i = 1; i < r->elements; i += 2) {
        const redisReply *v = r->element[i];
        if (v->type != REDIS_REPLY_STRING) {
            (*bad)++;
            continue;
        }
        tocsin_err e =
            kind == SILENCE
                ? (load_silence(oc, v->str) ? TOCSIN_EPROTO : TOCSIN_OK)
            : kind == ALERT ? tocsin_oncall_import_alert(oc, v->str, now)
                            : tocsin_oncall_import_group(oc, v->str, now);
        if (e == TOCSIN_ENOENT) { /* a group of an older configuration */
            tocsin_log_info("ONCALL-STORE",
                            "group %s is not one of the routes now: dropped",
                            r->element[i - 1]->type == REDIS_REPLY_STRING
                                ? r->element[i - 1]->str
                                : "?");
        } else if (e != TOCSIN_OK) {
            tocsin_log_warn("ONCALL-STORE", "skipping a bad record in %s", key);
            (*bad)++;
        }
    }
out:
    freeReplyObject(r);
    return rc;
}

tocsin_err
tocsin_oncall_store_load(struct tocsin_oncall_store *st, redisContext *c,
                         struct tocsin_oncall *oc, int64_t now, size_t *skipped)
{
    if (!st || !c || !oc)
        return TOCSIN_EINVAL;
    size_t bad = 0;
    tocsin_err rc = load_hash(c, st->silences, oc, now, SILENCE, &bad);
    if (rc == TOCSIN_OK)
        rc = load_hash(c, st->alerts, oc, now, ALERT, &bad);
    if (rc == TOCSIN_OK) {
        tocsin_oncall_clear_dirty(oc); /* just loaded: nothing to write */
        /* Groups after their alerts; those dropped are marked changed,
         * so the next save deletes (or rewrites) their records. */
        rc = load_hash(c, st->groups, oc, now, GROUP, &bad);
    }
    if (rc == TOCSIN_OK && skipped)
        *skipped = bad;
    return rc;
}

/* The key of a used link. */
static int
ack_key(const struct tocsin_oncall_store *st, const struct tocsin_ack_claims *cl,
        char *key, size_t n)
{
    if (strlen(cl->id) != 32)
        return -1;
    snprintf(key, n, "%s%s", st->ack, cl->id);
    return 0;
}

tocsin_err
tocsin_oncall_store_ack_watch(struct tocsin_oncall_store *st, redisContext *c,
                              const struct tocsin_ack_claims *cl)
{
    char key[300];
    if (!st || !c || !cl || ack_key(st, cl, key, sizeof key))
        return TOCSIN_EINVAL;
    const char *watch[] = {"WATCH", key}, *exists[] = {"EXISTS", key};
    redisReply *r = tocsin_redis_cmd(c, 2, watch, NULL);
    if (!r)
        return TOCSIN_EIO;
    int ok = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (!ok)
        return TOCSIN_EIO;
    r = tocsin_redis_cmd(c, 2, exists, NULL);
    if (!r)
        return TOCSIN_EIO;
    tocsin_err rc = r->type != REDIS_REPLY_INTEGER ? TOCSIN_EIO
                    : r->integer                   ? TOCSIN_EINVAL
                                                   : TOCSIN_OK;
    freeReplyObject(r);
    if (rc != TOCSIN_OK)
        tocsin_oncall_store_unwatch(c);
    return rc;
}

tocsin_err
tocsin_oncall_store_ack_append(struct tocsin_oncall_store *st, redisContext *c,
                               const struct tocsin_ack_claims *cl,
                               size_t *queued)
{
    char key[300], exat[32];
    if (!st || !c || !cl || !queued || ack_key(st, cl, key, sizeof key))
        return TOCSIN_EINVAL;
    snprintf(exat, sizeof exat, "%lld", (long long)cl->expires);
    const char *argv[] = {"SET", key, cl->alert, "EXAT", exat};
    if (append(c, 5, argv))
        return TOCSIN_EIO;
    (*queued)++;
    return TOCSIN_OK;
}

void
tocsin_oncall_store_unwatch(redisContext *c)
{
    const char *argv[] = {"UNWATCH"};
    redisReply *r = c ? tocsin_redis_cmd(c, 1, argv, NULL) : NULL;
    if (r)
        freeReplyObject(r);
}
