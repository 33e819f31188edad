/*
 * ingest.c: mention streams -> engine -> durable checkpoint (see ingest.h).
 *
 * Owns the hiredis context of the ingest loop, the engine, the on-call
 * state when on call is configured (tocsin_oncall and its store, rebuilt
 * from Redis with the engine), and the work in hand since the last
 * checkpoint (ids to acknowledge, outbox entries, dead letters).  Runs on
 * the daemon's main thread.
 */
#include "tocsin/clock.h"
#include "tocsin/ingest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tocsin/event.h"
#include "tocsin/log.h"
#include "tocsin/mention.h"
#include "tocsin/oncall.h"
#include "tocsin/oncall_view.h"
#include "tocsin/oncall_store.h"
#include "tocsin/receiver.h"
#include "tocsin/redis.h"
#include "tocsin/sdnotify.h"
#include "tocsin/sentiment.h"

#define MAX_FUTURE_MS   300000 /* event time this far ahead is refused */
#define ACK_FLUSH       50000  /* checkpoint when this many are unacked */
#define HSET_CHUNK      512
#define XACK_CHUNK      4096
#define DEAD_VALUE_MAX  4096
#define BACKOFF_MIN_MS  100
#define BACKOFF_MAX_MS  5000
#define READ_BLOCK      (256 * 1024)
#define ONCALL_GC_S     3600        /* forget old on-call alerts hourly */
#define ONCALL_KEEP_S   (7 * 86400) /* resolved alerts kept this long */
#define ONCALL_POLL_S   15 /* Pushover receipts read while escalating */

/* A growable list of owned byte strings (a command's arguments). */
struct strvec {
    char **v;
    size_t *len;
    size_t n, cap;
};

static int
sv_push(struct strvec *sv, const void *p, size_t n)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v)
            return -1;
        sv->v = v;
        size_t *len = realloc(sv->len, cap * sizeof *len);
        if (!len)
            return -1;
        sv->len = len;
        sv->cap = cap;
    }
    char *c = malloc(n + 1);
    if (!c)
        return -1;
    if (n)
        memcpy(c, p, n);
    c[n] = '\0';
    sv->v[sv->n] = c;
    sv->len[sv->n++] = n;
    return 0;
}

static int
sv_pushs(struct strvec *sv, const char *s)
{
    return sv_push(sv, s, strlen(s));
}

static void
sv_clear(struct strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    sv->n = 0;
}

static void
sv_free(struct strvec *sv)
{
    sv_clear(sv);
    free(sv->v);
    free(sv->len);
    memset(sv, 0, sizeof *sv);
}

/*
 * Entry ids to acknowledge, packed in one buffer (no allocation per id):
 * id k is buf[off[k], off[k] + len[k]).
 */
struct idlist {
    char *buf;
    size_t used, cap;
    uint32_t *off;
    uint8_t *len;
    size_t n, capn;
};

static int
ids_push(struct idlist *l, const char *id, size_t n)
{
    if (n > 255 || l->used + n > UINT32_MAX)
        return -1;
    if (l->used + n > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16384;
        while (cap < l->used + n)
            cap *= 2;
        char *b = realloc(l->buf, cap);
        if (!b)
            return -1;
        l->buf = b;
        l->cap = cap;
    }
    if (l->n == l->capn) {
        size_t cap = l->capn ? l->capn * 2 : 1024;
        uint32_t *off = realloc(l->off, cap * sizeof *off);
        if (!off)
            return -1;
        l->off = off;
        uint8_t *len = realloc(l->len, cap);
        if (!len)
            return -1;
        l->len = len;
        l->capn = cap;
    }
    memcpy(l->buf + l->used, id, n);
    l->off[l->n] = (uint32_t)l->used;
    l->len[l->n++] = (uint8_t)n;
    l->used += n;
    return 0;
}

static void
ids_free(struct idlist *l)
{
    free(l->buf);
    free(l->off);
    free(l->len);
    memset(l, 0, sizeof *l);
}

/*
 * Replies to XREADGROUP are built in an arena instead of one allocation
 * per element (hiredis's default): a batch is thousands of small objects.
 * The arena is reset before the next read reply is parsed, so a reply
 * lives until then; it is never given to freeReplyObject.
 */
#define ARENA_CHUNK (1u << 20)

struct arena_chunk {
    struct arena_chunk *next;
    size_t cap, used;
    max_align_t data[];
};

struct arena {
    struct arena_chunk *head, *cur;
};

static void *
arena_alloc(struct arena *a, size_t n)
{
    /* Only replies and pointer arrays live here. */
    const size_t align = _Alignof(redisReply);
    n = (n + align - 1) / align * align;
    for (;;) {
        struct arena_chunk *c = a->cur;
        if (c && c->cap - c->used >= n) {
            void *p = (char *)c->data + c->used;
            c->used += n;
            return p;
        }
        if (c && c->next) {
            a->cur = c->next;
            a->cur->used = 0;
            continue;
        }
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        struct arena_chunk *k = malloc(sizeof *k + cap);
        if (!k)
            return NULL;
        k->cap = cap;
        k->used = 0;
        /* A chunk sized for one large object goes first, so a later reset
         * reuses it rather than ever growing. */
        k->next = c ? c->next : NULL;
        if (c)
            c->next = k;
        else
            a->head = k;
        a->cur = k;
    }
}

static void
arena_reset(struct arena *a)
{
    a->cur = a->head;
    if (a->cur)
        a->cur->used = 0;
}

static void
arena_free(struct arena *a)
{
    while (a->head) {
        struct arena_chunk *n = a->head->next;
        free(a->head);
        a->head = n;
    }
    a->cur = NULL;
}

static void *
arena_object(const redisReadTask *task, int type)
{
    redisReply *r = arena_alloc(task->privdata, sizeof *r);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->type = type;
    if (task->parent) {
        redisReply *parent = task->parent->obj;
        parent->element[task->idx] = r;
    }
    return r;
}

static void *
arena_string(const redisReadTask *task, char *str, size_t len)
{
    redisReply *r = arena_object(task, task->type);
    char *s = r ? arena_alloc(task->privdata, len + 1) : NULL;
    if (!s)
        return NULL;
    memcpy(s, str, len);
    s[len] = '\0';
    r->str = s;
    r->len = len;
    return r;
}

static void *
arena_array(const redisReadTask *task, int elements)
{
    redisReply *r = arena_object(task, REDIS_REPLY_ARRAY);
    if (!r)
        return NULL;
    if (elements > 0) {
        r->element =
            arena_alloc(task->privdata, (size_t)elements * sizeof *r->element);
        if (!r->element)
            return NULL;
        memset(r->element, 0, (size_t)elements * sizeof *r->element);
    }
    r->elements = (size_t)elements;
    return r;
}

static void *
arena_integer(const redisReadTask *task, long long value)
{
    redisReply *r = arena_object(task, REDIS_REPLY_INTEGER);
    if (r)
        r->integer = value;
    return r;
}

static void *
arena_nil(const redisReadTask *task)
{
    return arena_object(task, REDIS_REPLY_NIL);
}

static void
arena_nofree(void *obj)
{
    (void)obj; /* the arena's reset frees */
}

static redisReplyObjectFunctions arena_fns = {
    .createString = arena_string,
    .createArray = arena_array,
    .createInteger = arena_integer,
    .createNil = arena_nil,
    .freeObject = arena_nofree,
};

struct tocsin_ingest {
    const struct tocsin_config *cfg;
    const struct tocsin_sentiment *scorer;
    redisContext *rc;
    struct tocsin_engine *eng;
    struct tocsin_engine_opts eopts;
    int live;              /* 0 while re-reading our own pending entries */
    char (*pend_id)[48];   /* per stream: where the pending re-read stands */
    struct idlist *acks;   /* per stream: ids to XACK */
    struct arena arena;    /* the XREADGROUP reply in hand */
    redisReply *ahead;     /* a read reply received, not processed yet */
    int inflight;          /* an XREADGROUP sent ahead, reply not read */
    char *rbuf;            /* READ_BLOCK bytes for reading replies */
    struct strvec *cmds;   /* XADDs for the checkpoint (outbox, dead) */
    size_t ncmds, capcmds;
    size_t unacked;
    int64_t last_checkpoint_ms;
    int64_t last_claim_ms;
    int64_t retry_at_ms;
    int64_t backoff_ms;
    int64_t now_ms;
    int failed;            /* a hook could not queue its work */
    struct tocsin_mention_scratch scratch; /* for decoding JSON entries */
    struct tocsin_ingest_stats st;
    /* Events to hand to the publish hook once committed: 4 strings each
     * (topic, alertname, status, JSON body). */
    struct strvec pubq;
    tocsin_ingest_publish_fn publish;
    void *publish_arg;
    char key_state[256], key_meta[256], key_outbox[256];
    /* On call (NULL without an on-call configuration). */
    struct tocsin_oncall *oc;
    struct tocsin_oncall_store *ocst;
    struct tocsin_notes notes;
    int64_t oncall_gc_s;
    int64_t oncall_poll_s;
    /* A followed ack link being committed: its used-link record goes in
     * the checkpoint's transaction (watched since before it was used). */
    const struct tocsin_ack_claims *link;
};

void
tocsin_engine_opts_from_config(struct tocsin_engine_opts *o,
                               const struct tocsin_config *cfg)
{
    tocsin_engine_opts_default(o);
    o->bucket_ms = (int64_t)cfg->detection.bucket_s * 1000;
    o->lateness_ms = (int64_t)cfg->detection.lateness_s * 1000;
    if (o->lateness_ms > 8 * o->bucket_ms)
        o->lateness_ms = 8 * o->bucket_ms;
    o->min_mentions = cfg->detection.min_mentions;
    o->min_ratio = cfg->detection.min_ratio;
    o->fire_score = cfg->detection.fire_score;
    o->resolve_score = cfg->detection.resolve_score;
    o->resolve_buckets = cfg->detection.resolve_buckets;
    o->min_negative = cfg->detection.min_negative;
    o->negative_threshold = cfg->detection.negative_threshold;
    o->warmup_buckets = cfg->detection.warmup_buckets;
    o->catchup_max_age_ms = (int64_t)cfg->detection.catchup_max_age_s * 1000;
    o->max_topics = (size_t)cfg->detection.max_topics;
    o->sensitivity = cfg->detection.sensitivity;
    o->tz = cfg->detection.tz;
    o->zones = cfg->detection.zones;
    o->nzones = cfg->detection.nzones;
    o->dedup_window_ms = (int64_t)cfg->detection.dedup_window_s * 1000;
}

/* ---- checkpoint work in hand ---- */

static struct strvec *
new_cmd(struct tocsin_ingest *in)
{
    if (in->ncmds == in->capcmds) {
        size_t cap = in->capcmds ? in->capcmds * 2 : 16;
        struct strvec *v = realloc(in->cmds, cap * sizeof *v);
        if (!v)
            return NULL;
        memset(v + in->capcmds, 0, (cap - in->capcmds) * sizeof *v);
        in->cmds = v;
        in->capcmds = cap;
    }
    return &in->cmds[in->ncmds++];
}

static void
drop_work(struct tocsin_ingest *in)
{
    for (size_t i = 0; i < in->ncmds; i++)
        sv_clear(&in->cmds[i]);
    in->ncmds = 0;
    for (size_t i = 0; i < in->cfg->redis.nstreams; i++) {
        in->acks[i].n = 0;
        in->acks[i].used = 0;
    }
    in->unacked = 0;
    sv_clear(&in->pubq);
}

/* Queue ev for the publish hook (called once the checkpoint commits). */
static void
queue_publish(struct tocsin_ingest *in, const struct tocsin_alert_event *ev)
{
    if (!in->publish)
        return;
    char *body = NULL;
    if (tocsin_event_body(&body, ev, "publish",
                          in->cfg->alerts.external_url)) {
        in->failed = 1;
        return;
    }
    if (sv_pushs(&in->pubq, ev->topic) ||
        sv_pushs(&in->pubq, tocsin_alertname(ev->kind)) ||
        sv_pushs(&in->pubq, ev->status == TOCSIN_ALERT_FIRING ? "firing"
                                                             : "resolved") ||
        sv_pushs(&in->pubq, body))
        in->failed = 1;
    free(body);
}

/* One outbox entry for the checkpoint. */
static void
add_outbox(struct tocsin_ingest *in, const char *delivery, const char *key,
           const char *receiver, const char *body)
{
    char created[24];
    snprintf(created, sizeof created, "%lld", (long long)in->now_ms);
    struct strvec *c = new_cmd(in);
    if (!c || sv_pushs(c, "XADD") || sv_pushs(c, in->key_outbox) ||
        sv_pushs(c, "*") || sv_pushs(c, "delivery") || sv_pushs(c, delivery) ||
        sv_pushs(c, "key") || sv_pushs(c, key) || sv_pushs(c, "receiver") ||
        sv_pushs(c, receiver) || sv_pushs(c, "body") || sv_pushs(c, body) ||
        sv_pushs(c, "created") || sv_pushs(c, created))
        in->failed = 1;
    in->st.outbox++;
}

/* Whether receiver name takes one event per alert (its API deduplicates
 * and resolves per alert): PagerDuty, Opsgenie. */
static int
per_alert_receiver(const struct tocsin_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nreceivers; i++)
        if (strcmp(cfg->receivers[i].name, name) == 0)
            return cfg->receivers[i].type == TOCSIN_RECEIVER_PAGERDUTY ||
                   cfg->receivers[i].type == TOCSIN_RECEIVER_OPSGENIE;
    return 0;
}

/* One outbox entry for note n; 0, or -1 when out of memory. */
static int
queue_note(struct tocsin_ingest *in, const struct tocsin_note *n)
{
    char *body = NULL, id[33];
    tocsin_err err = tocsin_oncall_note_body(in->oc, n,
                                             in->cfg->alerts.external_url,
                                             &body);
    if (err == TOCSIN_ENOENT)
        return 0; /* the alert is gone: nothing to say */
    if (err)
        return -1;
    tocsin_note_delivery(n, id);
    tocsin_log_info("ONCALL-NOTIFY", "%s receiver=%s alert=%s%s%s: %s",
                    tocsin_note_kind_name(n->kind), n->receiver,
                    n->fingerprint, n->user ? " user=" : "",
                    n->user ? n->user : "", n->text ? n->text : "");
    add_outbox(in, id, n->fingerprint, n->receiver, body);
    free(body);
    return 0;
}

/* The on-call notifications in in->notes become outbox entries: one per
 * note, or, for a group's note to PagerDuty or Opsgenie, one per alert. */
static void
queue_notes(struct tocsin_ingest *in)
{
    int bad = 0;
    for (size_t i = 0; i < in->notes.n && !bad; i++) {
        const struct tocsin_note *n = &in->notes.v[i];
        if (n->nalerts < 2 || !per_alert_receiver(in->cfg, n->receiver)) {
            bad = queue_note(in, n);
            continue;
        }
        for (size_t k = 0; k < n->nalerts && !bad; k++) {
            struct tocsin_note one = *n;
            one.fingerprint = n->alerts[k];
            one.alerts = &n->alerts[k];
            one.nalerts = 1;
            bad = queue_note(in, &one);
        }
    }
    if (bad)
        in->failed = 1;
    tocsin_notes_clear(&in->notes);
}

static void
on_event(void *arg, const struct tocsin_alert_event *ev)
{
    struct tocsin_ingest *in = arg;
    const struct tocsin_config *cfg = in->cfg;
    char summary[512];
    tocsin_event_summary(ev, summary, sizeof summary);
    tocsin_log_notice(ev->status == TOCSIN_ALERT_FIRING ? "ALERT-FIRING"
                                                        : "ALERT-RESOLVED",
                      "%s %s severity=%s delivery=%s",
                      tocsin_alertname(ev->kind), summary, ev->severity,
                      ev->delivery);
    queue_publish(in, ev);
    if (in->oc) {
        /* Routing, grouping and escalation decide who hears of it. */
        if (tocsin_oncall_on_event(in->oc, ev, in->now_ms / 1000, &in->notes) !=
            TOCSIN_OK)
            in->failed = 1;
        queue_notes(in);
        return;
    }
    for (size_t i = 0; i < cfg->nreceivers; i++) {
        const struct tocsin_receiver_config *r = &cfg->receivers[i];
        if (ev->status == TOCSIN_ALERT_RESOLVED && !r->send_resolved)
            continue;
        char *body = NULL;
        if (tocsin_event_body(&body, ev, r->name, cfg->alerts.external_url)) {
            in->failed = 1;
            return;
        }
        add_outbox(in, ev->delivery, ev->fingerprint, r->name, body);
        free(body);
    }
}

static void
engine_hooks(struct tocsin_ingest *in, struct tocsin_engine_hooks *h)
{
    h->on_event = on_event;
    h->on_score = NULL;
    h->arg = in;
}

/* ---- connection and state ---- */

static int
reply_ok(const redisReply *r)
{
    return r && r->type != REDIS_REPLY_ERROR;
}

static tocsin_err
create_groups(struct tocsin_ingest *in)
{
    const struct tocsin_config *cfg = in->cfg;
    for (size_t i = 0; i < cfg->redis.nstreams; i++) {
        redisReply *r = redisCommand(in->rc, "XGROUP CREATE %s %s 0 MKSTREAM",
                                     cfg->redis.streams[i], cfg->redis.group);
        if (!r)
            return TOCSIN_EIO;
        int ok = r->type != REDIS_REPLY_ERROR ||
                 strncmp(r->str, "BUSYGROUP", 9) == 0;
        if (!ok)
            tocsin_log_err("INGEST-GROUP", "XGROUP CREATE %s %s: %s",
                           cfg->redis.streams[i], cfg->redis.group, r->str);
        freeReplyObject(r);
        if (!ok)
            return TOCSIN_EPROTO;
    }
    return TOCSIN_OK;
}

/* Build a fresh on-call state from Redis: it matches the outbox entries
 * committed with it, so work lost with a failed checkpoint is redone. */
static tocsin_err
restore_oncall(struct tocsin_ingest *in)
{
    if (!in->cfg->oncall)
        return TOCSIN_OK;
    struct tocsin_oncall *oc = NULL;
    tocsin_err err = tocsin_oncall_new(&oc, in->cfg->oncall);
    if (err)
        return err;
    size_t skipped = 0;
    err = tocsin_oncall_store_load(in->ocst, in->rc, oc, in->now_ms / 1000,
                                   &skipped);
    if (err) {
        tocsin_oncall_free(oc);
        return err;
    }
    if (skipped)
        tocsin_log_warn("ONCALL-RESTORE",
                        "%zu unreadable on-call records "
                        "skipped",
                        skipped);
    tocsin_log_info("ONCALL-RESTORE", "restored %zu on-call alerts",
                    tocsin_oncall_nalerts(oc));
    tocsin_notes_clear(&in->notes);
    tocsin_oncall_free(in->oc);
    in->oc = oc;
    return TOCSIN_OK;
}

/* ---- rebuilding the state from the streams' history ---- */

/*
 * When the saved state cannot be used (saved by another version, or topics
 * that do not read back), the engine is rebuilt from the history still in
 * the mention streams instead of starting blind: every entry the group has
 * delivered (up to its last-delivered id), less those still pending (the
 * group re-reads them as usual afterwards), is read with XRANGE, not
 * through the group, so pending entries and acks are untouched.  The engine
 * runs in catch-up mode meanwhile: it learns, counts old crises and pages
 * nobody for them.  An alert still active at the end of the history gets
 * the delivery id it had before (ids derive from the topic, kind and start
 * time), so the notifier's delivered set keeps it from being sent twice.
 * The rebuilt state is then checkpointed.  Entries already trimmed from
 * the streams cannot be relearned.
 */

static int64_t id_time(const char *id);
static void score_text(struct tocsin_ingest *in, struct tocsin_mention *m);

#define REBUILD_CATCHUP_MS   (900 * 1000) /* if the config pages everything */
#define REBUILD_PENDING_PAGE 10000
#define REBUILD_LOG_EVERY    100000
#define REBUILD_SD_EVERY     10000 /* entries between systemd keep-alives */
#define REBUILD_SD_EXTEND    60000000ULL /* usec asked for at each one */

/* A stream entry id, comparable. */
struct sid {
    uint64_t ms, seq;
};

static int
sid_parse(const char *s, struct sid *out)
{
    char *end;
    errno = 0;
    unsigned long long ms = strtoull(s, &end, 10), seq = 0;
    if (end == s || errno)
        return -1;
    if (*end == '-') {
        const char *p = end + 1;
        seq = strtoull(p, &end, 10);
        if (end == p || errno)
            return -1;
    }
    if (*end)
        return -1;
    out->ms = ms;
    out->seq = seq;
    return 0;
}

static int
sid_cmp(const struct sid *a, const struct sid *b)
{
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

struct rebuild_stream {
    char upto[48];    /* the group's last-delivered id */
    char from[50];    /* start of the next XRANGE */
    struct sid *pend; /* ids pending in the group, ascending */
    size_t npend, ipend, cappend;
    int done;
};

struct rebuild {
    struct tocsin_engine *eng;
    int64_t now_ms;
    size_t entries, used, pending, bad;
};

/* The group's last-delivered id on stream si ("0-0" if none). */
static tocsin_err
rebuild_upto(struct tocsin_ingest *in, size_t si, struct rebuild_stream *rs)
{
    const struct tocsin_config *cfg = in->cfg;
    snprintf(rs->upto, sizeof rs->upto, "0-0");
    redisReply *r =
        redisCommand(in->rc, "XINFO GROUPS %s", cfg->redis.streams[si]);
    if (!r)
        return TOCSIN_EIO;
    if (r->type != REDIS_REPLY_ARRAY) {
        tocsin_log_err("STATE-REBUILD", "XINFO GROUPS %s: %s",
                       cfg->redis.streams[si],
                       r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        freeReplyObject(r);
        return TOCSIN_EPROTO;
    }
    for (size_t g = 0; g < r->elements; g++) {
        const redisReply *kv = r->element[g];
        const char *name = NULL, *last = NULL;
        for (size_t i = 0;
             kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements; i += 2) {
            const redisReply *k = kv->element[i], *v = kv->element[i + 1];
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(k->str, "name") == 0)
                name = v->str;
            else if (strcmp(k->str, "last-delivered-id") == 0)
                last = v->str;
        }
        if (name && last && strcmp(name, cfg->redis.group) == 0)
            snprintf(rs->upto, sizeof rs->upto, "%s", last);
    }
    freeReplyObject(r);
    return TOCSIN_OK;
}

/* The ids pending in the group on stream si, in order. */
static tocsin_err
rebuild_pending(struct tocsin_ingest *in, size_t si, struct rebuild_stream *rs)
{
    const struct tocsin_config *cfg = in->cfg;
    char start[50] = "-";
    for (;;) {
        redisReply *r = redisCommand(in->rc, "XPENDING %s %s %s + %d",
                                     cfg->redis.streams[si], cfg->redis.group,
                                     start, REBUILD_PENDING_PAGE);
        if (!r)
            return TOCSIN_EIO;
        if (r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return TOCSIN_EPROTO;
        }
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *p = r->element[i];
            struct sid id;
            if (p->type != REDIS_REPLY_ARRAY || p->elements < 1 ||
                p->element[0]->type != REDIS_REPLY_STRING ||
                sid_parse(p->element[0]->str, &id))
                continue;
            if (rs->npend == rs->cappend) {
                size_t cap = rs->cappend ? rs->cappend * 2 : 256;
                struct sid *v = realloc(rs->pend, cap * sizeof *v);
                if (!v) {
                    freeReplyObject(r);
                    return TOCSIN_ENOMEM;
                }
                rs->pend = v;
                rs->cappend = cap;
            }
            rs->pend[rs->npend++] = id;
            snprintf(start, sizeof start, "(%s", p->element[0]->str);
        }
        size_t n = r->elements;
        freeReplyObject(r);
        if (n < REBUILD_PENDING_PAGE)
            return TOCSIN_OK;
    }
}

/* Feed one history entry to the engine (no ack, no dead letter: it had
 * both when it was first read). */
static void
rebuild_entry(struct tocsin_ingest *in, struct rebuild *rb,
              struct rebuild_stream *rs, const redisReply *entry)
{
    const struct tocsin_config *cfg = in->cfg;
    struct sid id;
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING ||
        sid_parse(entry->element[0]->str, &id))
        return;
    rb->entries++;
    while (rs->ipend < rs->npend && sid_cmp(&rs->pend[rs->ipend], &id) < 0)
        rs->ipend++;
    if (rs->ipend < rs->npend && sid_cmp(&rs->pend[rs->ipend], &id) == 0) {
        rb->pending++; /* read again through the group afterwards */
        return;
    }
    const redisReply *fields = entry->element[1];
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements / 2 > 64) {
        rb->bad++;
        return;
    }
    struct tocsin_str names[64], values[64];
    size_t n = fields->elements / 2;
    for (size_t i = 0; i < n; i++) {
        names[i].p = fields->element[2 * i]->str;
        names[i].n = (size_t)fields->element[2 * i]->len;
        values[i].p = fields->element[2 * i + 1]->str;
        values[i].n = (size_t)fields->element[2 * i + 1]->len;
    }
    struct tocsin_mention m;
    struct tocsin_mention_limits lim = {(size_t)cfg->redis.max_entry_bytes,
                                        (size_t)cfg->redis.max_field_bytes};
    char reason[256];
    int64_t at = id_time(entry->element[0]->str);
    if (tocsin_mention_decode_fields(&m, names, values, n, at, &lim,
                                     &in->scratch, reason, sizeof reason) ||
        m.ts_ms > at + MAX_FUTURE_MS) {
        rb->bad++; /* a dead letter when first read */
        return;
    }
    score_text(in, &m);
    if (tocsin_engine_add(rb->eng, &m, rb->now_ms) != TOCSIN_OK)
        rb->bad++;
    else
        rb->used++;
}

/* One XRANGE batch of stream si; sets rs->done at the end. */
static tocsin_err
rebuild_batch(struct tocsin_ingest *in, struct rebuild *rb, size_t si,
              struct rebuild_stream *rs)
{
    const struct tocsin_config *cfg = in->cfg;
    redisReply *r =
        redisCommand(in->rc, "XRANGE %s %s %s COUNT %d", cfg->redis.streams[si],
                     rs->from, rs->upto, cfg->redis.batch);
    if (!r)
        return TOCSIN_EIO;
    if (r->type != REDIS_REPLY_ARRAY) {
        tocsin_log_err("STATE-REBUILD", "XRANGE %s: %s", cfg->redis.streams[si],
                       r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        freeReplyObject(r);
        return TOCSIN_EPROTO;
    }
    for (size_t i = 0; i < r->elements; i++)
        rebuild_entry(in, rb, rs, r->element[i]);
    if (r->elements) {
        const redisReply *last = r->element[r->elements - 1];
        if (last->type == REDIS_REPLY_ARRAY && last->elements == 2 &&
            last->element[0]->type == REDIS_REPLY_STRING)
            snprintf(rs->from, sizeof rs->from, "(%s", last->element[0]->str);
    }
    rs->done = r->elements < (size_t)cfg->redis.batch;
    freeReplyObject(r);
    return TOCSIN_OK;
}

static void
rebuild_streams_free(struct rebuild_stream *rs, size_t n)
{
    if (!rs)
        return;
    for (size_t i = 0; i < n; i++)
        free(rs[i].pend);
    free(rs);
}

/*
 * Rebuild the engine from history into *out (a new engine, caller frees).
 * *out stays untouched when the group has read nothing yet (a new group
 * learns the history through the group itself).
 */
static tocsin_err
rebuild(struct tocsin_ingest *in, const char *why, struct tocsin_engine **out)
{
    const struct tocsin_config *cfg = in->cfg;
    size_t ns = cfg->redis.nstreams, unread = 0;
    struct rebuild_stream *rs = calloc(ns, sizeof *rs);
    if (!rs)
        return TOCSIN_ENOMEM;
    tocsin_err err = TOCSIN_OK;
    for (size_t si = 0; si < ns && !err; si++) {
        snprintf(rs[si].from, sizeof rs[si].from, "-");
        err = rebuild_upto(in, si, &rs[si]);
        rs[si].done = strcmp(rs[si].upto, "0-0") == 0;
        if (!err && !rs[si].done) {
            unread++;
            err = rebuild_pending(in, si, &rs[si]);
        }
    }
    if (err || !unread) {
        rebuild_streams_free(rs, ns);
        return err;
    }
    struct rebuild rb = {0};
    rb.now_ms = in->now_ms;
    if (!rb.now_ms)
        rb.now_ms = tocsin_wall_ms();
    struct tocsin_engine_hooks h;
    engine_hooks(in, &h);
    err = tocsin_engine_new(&rb.eng, &in->eopts, &h);
    if (err) {
        rebuild_streams_free(rs, ns);
        return err;
    }
    if (in->eopts.catchup_max_age_ms <= 0)
        tocsin_engine_set_catchup(rb.eng, REBUILD_CATCHUP_MS);
    for (size_t si = 0; si < ns; si++)
        if (!rs[si].done)
            tocsin_log_notice("STATE-REBUILD",
                              "%s; rebuilding from stream=%s up to id %s "
                              "(%zu entries pending stay with the group)",
                              why, cfg->redis.streams[si], rs[si].upto,
                              rs[si].npend);
    /* Round robin, a batch per stream, as XREADGROUP reads them. */
    size_t next_log = REBUILD_LOG_EVERY, next_sd = 0;
    while (unread && !err) {
        if (rb.entries >= next_sd) {
            next_sd = rb.entries + REBUILD_SD_EVERY;
            tocsin_sd_progress(REBUILD_SD_EXTEND,
                               "rebuilding state from history: %zu entries",
                               rb.entries);
        }
        unread = 0;
        for (size_t si = 0; si < ns && !err; si++) {
            if (rs[si].done)
                continue;
            err = rebuild_batch(in, &rb, si, &rs[si]);
            unread += !rs[si].done;
        }
        if (rb.entries >= next_log) {
            next_log = rb.entries + REBUILD_LOG_EVERY;
            tocsin_log_info(
                "STATE-REBUILD", "%zu entries read, event time up to %lld",
                rb.entries, (long long)tocsin_engine_watermark(rb.eng));
        }
    }
    rebuild_streams_free(rs, ns);
    if (err) {
        tocsin_engine_free(rb.eng);
        return err;
    }
    tocsin_engine_set_catchup(rb.eng, in->eopts.catchup_max_age_ms);
    struct tocsin_engine_stats st;
    tocsin_engine_get_stats(rb.eng, &st);
    tocsin_log_notice(
        "STATE-REBUILD",
        "rebuilt %llu topics from %zu entries (%zu used, %zu pending left to "
        "the group, %zu unusable); past_crises=%llu firing=%llu",
        (unsigned long long)st.topics, rb.entries, rb.used, rb.pending, rb.bad,
        (unsigned long long)st.past_crises, (unsigned long long)st.firing);
    if (in->now_ms == 0)
        in->now_ms = rb.now_ms;
    *out = rb.eng;
    return TOCSIN_OK;
}

/* Replace the saved state with the rebuilt engine's: the old topics go
 * (they would not read back), then one checkpoint saves all.  Dying in
 * between leaves the old meta, so the next start rebuilds again. */
static tocsin_err
rebuild_commit(struct tocsin_ingest *in)
{
    redisReply *r = redisCommand(in->rc, "DEL %s", in->key_state);
    if (!r)
        return TOCSIN_EIO;
    int ok = reply_ok(r);
    freeReplyObject(r);
    if (!ok)
        return TOCSIN_EPROTO;
    return tocsin_ingest_checkpoint(in, in->now_ms);
}

/* Build a fresh engine from the state saved in Redis (or, when it cannot
 * be used, from the streams' history). */
static tocsin_err
restore(struct tocsin_ingest *in)
{
    tocsin_err oerr = restore_oncall(in);
    if (oerr)
        return oerr;
    struct tocsin_engine_hooks h;
    engine_hooks(in, &h);
    struct tocsin_engine *eng = NULL;
    tocsin_err err = tocsin_engine_new(&eng, &in->eopts, &h);
    if (err)
        return err;
    redisReply *r = redisCommand(in->rc, "GET %s", in->key_meta);
    if (!r) {
        tocsin_engine_free(eng);
        return TOCSIN_EIO;
    }
    int fresh = r->type != REDIS_REPLY_STRING;
    const char *why = "no saved state";
    if (!fresh &&
        tocsin_engine_restore_meta(eng, r->str, (size_t)r->len) != TOCSIN_OK) {
        tocsin_log_warn("STATE-RESTORE",
                        "saved state is from another version, or was "
                        "learned with another detection.bucket or "
                        "detection.timezone; rebuilding");
        fresh = 1;
        why = "saved state from another version or other settings";
    }
    freeReplyObject(r);
    size_t topics = 0, skipped = 0;
    if (!fresh) {
        char cursor[32] = "0";
        do {
            r = redisCommand(in->rc, "HSCAN %s %s COUNT 1000", in->key_state,
                             cursor);
            if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
                if (r)
                    freeReplyObject(r);
                tocsin_engine_free(eng);
                return TOCSIN_EIO;
            }
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            redisReply *kv = r->element[1];
            for (size_t i = 0; i + 1 < kv->elements; i += 2) {
                if (tocsin_engine_restore_topic(eng, kv->element[i]->str,
                                                kv->element[i + 1]->str,
                                                (size_t)kv->element[i + 1]
                                                    ->len) == TOCSIN_OK)
                    topics++;
                else
                    skipped++;
            }
            freeReplyObject(r);
        } while (strcmp(cursor, "0") != 0);
        tocsin_engine_restore_done(eng);
    }
    if (skipped)
        tocsin_log_warn("STATE-RESTORE", "%zu topics had unreadable state",
                        skipped);
    tocsin_log_info("STATE-RESTORE", "restored %zu topics%s", topics,
                    fresh ? " (fresh start)" : "");
    struct tocsin_engine *rebuilt = NULL;
    if (fresh || skipped) {
        err = rebuild(in, skipped && !fresh ? "saved topics unreadable" : why,
                      &rebuilt);
        if (err) {
            tocsin_engine_free(eng);
            return err;
        }
    }
    if (rebuilt) {
        tocsin_engine_free(eng);
        eng = rebuilt;
    }
    tocsin_engine_free(in->eng);
    in->eng = eng;
    return rebuilt ? rebuild_commit(in) : TOCSIN_OK;
}

static void
disconnect(struct tocsin_ingest *in)
{
    if (in->rc)
        redisFree(in->rc);
    in->rc = NULL;
    /* A reply read ahead is dropped: its entries stay pending in the group
     * and are read again after reconnecting. */
    in->ahead = NULL;
    in->inflight = 0;
    arena_reset(&in->arena);
}

/* Connect and rebuild everything from Redis. */
static tocsin_err
reconnect(struct tocsin_ingest *in)
{
    disconnect(in);
    drop_work(in);
    int timeout = in->cfg->redis.block_ms + 10000;
    tocsin_err err = tocsin_redis_connect(&in->rc, in->cfg, timeout);
    if (!err)
        err = create_groups(in);
    if (!err)
        err = restore(in);
    if (err) {
        disconnect(in);
        return err;
    }
    in->live = 0;
    for (size_t i = 0; i < in->cfg->redis.nstreams; i++)
        strcpy(in->pend_id[i], "0");
    in->last_claim_ms = 0;
    return TOCSIN_OK;
}

static void
schedule_retry(struct tocsin_ingest *in, int64_t now_ms, const char *reason)
{
    char why[256]; /* reason may live in the context we are about to free */
    snprintf(why, sizeof why, "%s", reason);
    disconnect(in);
    in->backoff_ms = in->backoff_ms ? in->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (in->backoff_ms > BACKOFF_MAX_MS)
        in->backoff_ms = BACKOFF_MAX_MS;
    in->retry_at_ms = now_ms + in->backoff_ms;
    in->st.reconnects++;
    tocsin_log_warn("INGEST-RECONNECT", "%s; retrying in %lld ms", why,
                    (long long)in->backoff_ms);
}

tocsin_err
tocsin_ingest_new(struct tocsin_ingest **out, const struct tocsin_config *cfg,
                  const struct tocsin_sentiment *scorer)
{
    struct tocsin_ingest *in = calloc(1, sizeof *in);
    if (!in)
        return TOCSIN_ENOMEM;
    in->cfg = cfg;
    in->scorer = scorer;
    tocsin_mention_scratch_init(&in->scratch);
    tocsin_engine_opts_from_config(&in->eopts, cfg);
    snprintf(in->key_state, sizeof in->key_state, "%sstate:topics",
             cfg->redis.prefix);
    snprintf(in->key_meta, sizeof in->key_meta, "%sstate:meta",
             cfg->redis.prefix);
    snprintf(in->key_outbox, sizeof in->key_outbox, "%soutbox",
             cfg->redis.prefix);
    in->pend_id = calloc(cfg->redis.nstreams, sizeof *in->pend_id);
    in->acks = calloc(cfg->redis.nstreams, sizeof *in->acks);
    in->now_ms = tocsin_wall_ms();
    if (cfg->oncall &&
        tocsin_oncall_store_new(&in->ocst, cfg->redis.prefix) != TOCSIN_OK) {
        tocsin_ingest_free(in);
        return TOCSIN_ENOMEM;
    }
    if (!in->pend_id || !in->acks) {
        tocsin_ingest_free(in);
        return TOCSIN_ENOMEM;
    }
    tocsin_err err = reconnect(in);
    if (err) {
        tocsin_ingest_free(in);
        return err;
    }
    *out = in;
    return TOCSIN_OK;
}

void
tocsin_ingest_free(struct tocsin_ingest *in)
{
    if (!in)
        return;
    disconnect(in);
    tocsin_engine_free(in->eng);
    tocsin_notes_clear(&in->notes);
    free(in->notes.v);
    tocsin_oncall_free(in->oc);
    tocsin_oncall_store_free(in->ocst);
    if (in->acks)
        for (size_t i = 0; i < in->cfg->redis.nstreams; i++)
            ids_free(&in->acks[i]);
    arena_free(&in->arena);
    free(in->rbuf);
    for (size_t i = 0; i < in->capcmds; i++)
        sv_free(&in->cmds[i]);
    free(in->cmds);
    sv_free(&in->pubq);
    free(in->acks);
    free(in->pend_id);
    tocsin_mention_scratch_fini(&in->scratch);
    free(in);
}

/* ---- processing entries ---- */

static int64_t
id_time(const char *id)
{
    return strtoll(id, NULL, 10);
}

static void
dead_letter(struct tocsin_ingest *in, size_t si, const redisReply *id,
            const redisReply *fields, const char *reason)
{
    const struct tocsin_config *cfg = in->cfg;
    char key[512];
    snprintf(key, sizeof key, "%s%s", cfg->redis.streams[si],
             cfg->redis.dead_suffix);
    struct strvec *c = new_cmd(in);
    if (!c || sv_pushs(c, "XADD") || sv_pushs(c, key) || sv_pushs(c, "*") ||
        sv_pushs(c, "tocsin_reason") || sv_pushs(c, reason) ||
        sv_pushs(c, "tocsin_source_id") || sv_push(c, id->str, id->len)) {
        in->failed = 1;
        return;
    }
    /* The original fields, each value cut to a readable size (the entry
     * itself stays in its stream). */
    if (fields && fields->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < fields->elements; i += 2) {
            const redisReply *n = fields->element[i], *v = fields->element[i + 1];
            size_t vl = (size_t)v->len < DEAD_VALUE_MAX ? (size_t)v->len
                                                        : DEAD_VALUE_MAX;
            if (sv_push(c, n->str, (size_t)n->len) || sv_push(c, v->str, vl)) {
                in->failed = 1;
                return;
            }
        }
    in->st.dead++;
    tocsin_log_warn("INGEST-DEAD", "stream=%s id=%s: %s",
                    cfg->redis.streams[si], id->str, reason);
}

static void
score_text(struct tocsin_ingest *in, struct tocsin_mention *m)
{
    if (!in->scorer || m->has_sentiment || m->has_negative || !m->text.n)
        return;
    char lang[16] = "";
    if (m->lang.n && m->lang.n < sizeof lang) {
        memcpy(lang, m->lang.p, m->lang.n);
        lang[m->lang.n] = '\0';
    }
    m->sentiment = tocsin_sentiment_score(in->scorer, m->text.p, m->text.n,
                                          tocsin_lang_parse(lang));
    m->has_sentiment = 1;
    in->st.scored++;
}

static void
process_entry(struct tocsin_ingest *in, size_t si, const redisReply *entry)
{
    const struct tocsin_config *cfg = in->cfg;
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
        return;
    const redisReply *id = entry->element[0], *fields = entry->element[1];
    if (ids_push(&in->acks[si], id->str, (size_t)id->len)) {
        in->failed = 1;
        return;
    }
    in->unacked++;
    in->st.entries++;
    in->st.last_entry_ms = id_time(id->str);
    if (fields->type != REDIS_REPLY_ARRAY) {
        /* Deleted from the stream while pending: nothing left to read. */
        tocsin_log_warn("INGEST-GONE", "stream=%s id=%s was deleted",
                        cfg->redis.streams[si], id->str);
        return;
    }
    struct tocsin_str names[64], values[64];
    size_t n = fields->elements / 2;
    char reason[256];
    struct tocsin_mention m;
    struct tocsin_mention_limits lim = {(size_t)cfg->redis.max_entry_bytes,
                                        (size_t)cfg->redis.max_field_bytes};
    if (n > 64) {
        dead_letter(in, si, id, fields, "entry: more than 64 fields");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        names[i].p = fields->element[2 * i]->str;
        names[i].n = (size_t)fields->element[2 * i]->len;
        values[i].p = fields->element[2 * i + 1]->str;
        values[i].n = (size_t)fields->element[2 * i + 1]->len;
    }
    tocsin_err de = tocsin_mention_decode_fields(
        &m, names, values, n, id_time(id->str), &lim, &in->scratch, reason,
        sizeof reason);
    if (de == TOCSIN_ENOMEM) {
        in->failed = 1;
        return;
    }
    if (de) {
        dead_letter(in, si, id, fields, reason);
        return;
    }
    if (m.ts_ms > in->now_ms + MAX_FUTURE_MS) {
        snprintf(reason, sizeof reason,
                 "ts: %lld s in the future (more than %d s)",
                 (long long)((m.ts_ms - in->now_ms) / 1000),
                 MAX_FUTURE_MS / 1000);
        dead_letter(in, si, id, fields, reason);
        return;
    }
    score_text(in, &m);
    tocsin_err err = tocsin_engine_add(in->eng, &m, in->now_ms);
    if (err == TOCSIN_ERANGE) {
        snprintf(reason, sizeof reason, "topic limit reached (max_topics %d)",
                 cfg->detection.max_topics);
        dead_letter(in, si, id, fields, reason);
    }
}

/* Handle an XREADGROUP reply; returns the number of entries seen. */
static size_t
process_read(struct tocsin_ingest *in, const redisReply *r, int pending)
{
    size_t seen = 0;
    if (r->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t k = 0; k < r->elements; k++) {
        const redisReply *s = r->element[k];
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2)
            continue;
        size_t si = 0;
        while (si < in->cfg->redis.nstreams &&
               strcmp(in->cfg->redis.streams[si], s->element[0]->str) != 0)
            si++;
        if (si == in->cfg->redis.nstreams)
            continue;
        const redisReply *entries = s->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            process_entry(in, si, entries->element[i]);
            if (pending && entries->element[i]->type == REDIS_REPLY_ARRAY)
                snprintf(in->pend_id[si], sizeof in->pend_id[si], "%s",
                         entries->element[i]->element[0]->str);
        }
        seen += entries->elements;
    }
    return seen;
}

/* Queue an XREADGROUP for the next batch and send it to Redis now. */
static tocsin_err
send_read(struct tocsin_ingest *in, int block)
{
    const struct tocsin_config *cfg = in->cfg;
    size_t ns = cfg->redis.nstreams;
    const char **argv = calloc(10 + 2 * ns, sizeof *argv);
    if (!argv)
        return TOCSIN_ENOMEM;
    char count[16], blockms[16];
    snprintf(count, sizeof count, "%d", cfg->redis.batch);
    snprintf(blockms, sizeof blockms, "%d", cfg->redis.block_ms);
    int argc = 0;
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = cfg->redis.group;
    argv[argc++] = cfg->redis.consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    if (block) {
        argv[argc++] = "BLOCK";
        argv[argc++] = blockms;
    }
    argv[argc++] = "STREAMS";
    for (size_t i = 0; i < ns; i++)
        argv[argc++] = cfg->redis.streams[i];
    for (size_t i = 0; i < ns; i++)
        argv[argc++] = in->live ? ">" : in->pend_id[i];
    int rc = redisAppendCommandArgv(in->rc, argc, argv, NULL);
    free(argv);
    int done = 0;
    while (rc == REDIS_OK && !done)
        rc = redisBufferWrite(in->rc, &done);
    if (rc != REDIS_OK)
        return TOCSIN_EIO;
    in->inflight = 1;
    return TOCSIN_OK;
}

/*
 * Like redisGetReply, reading the socket in blocks of READ_BLOCK bytes
 * (hiredis reads 16 KiB at a time: 25 reads and buffer moves for a batch of
 * 1000 entries).  The socket's timeout applies as for hiredis.
 */
static int
read_error(redisContext *c, int err, const char *what)
{
    c->err = err;
    snprintf(c->errstr, sizeof c->errstr, "%s", what);
    return REDIS_ERR;
}

static int
read_reply(struct tocsin_ingest *in, void **out)
{
    redisContext *c = in->rc;
    void *rp = NULL;
    if (c->err || redisGetReplyFromReader(c, &rp) != REDIS_OK)
        return REDIS_ERR;
    while (!rp) {
        if (!in->rbuf && !(in->rbuf = malloc(READ_BLOCK))) {
            return read_error(c, REDIS_ERR_OOM, "out of memory");
        }
        ssize_t n = read(c->fd, in->rbuf, READ_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            return read_error(c, REDIS_ERR_EOF, "server closed the connection");
        if (n < 0)
            return read_error(c, REDIS_ERR_IO, strerror(errno));
        if (redisReaderFeed(c->reader, in->rbuf, (size_t)n) != REDIS_OK ||
            redisGetReplyFromReader(c, &rp) != REDIS_OK) {
            return read_error(c, c->reader->err, c->reader->errstr);
        }
    }
    *out = rp;
    return REDIS_OK;
}

/* Receive the reply to the XREADGROUP in flight, built in the arena (which
 * drops the reply before it). */
static tocsin_err
recv_read(struct tocsin_ingest *in, redisReply **out)
{
    redisReader *rd = in->rc->reader;
    redisReplyObjectFunctions *fn = rd->fn;
    void *priv = rd->privdata;
    arena_reset(&in->arena);
    rd->fn = &arena_fns;
    rd->privdata = &in->arena;
    void *rp = NULL;
    int rc = read_reply(in, &rp);
    rd->fn = fn;
    rd->privdata = priv;
    in->inflight = 0;
    if (rc != REDIS_OK || !rp)
        return TOCSIN_EIO;
    *out = rp;
    return TOCSIN_OK;
}

/*
 * Before any other command on the connection: receive the reply of a read
 * sent ahead and keep it for the next step.
 */
static tocsin_err
settle(struct tocsin_ingest *in)
{
    if (!in->inflight)
        return TOCSIN_OK;
    return recv_read(in, &in->ahead);
}

/* Entries in an XREADGROUP reply. */
static size_t
reply_entries(const redisReply *r)
{
    size_t n = 0;
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t k = 0; k < r->elements; k++) {
            const redisReply *s = r->element[k];
            if (s->type == REDIS_REPLY_ARRAY && s->elements == 2 &&
                s->element[1]->type == REDIS_REPLY_ARRAY)
                n += s->element[1]->elements;
        }
    return n;
}

/*
 * Read a batch and process it.  Reading ahead: when a live read brings a
 * full batch, more is probably waiting, so the next XREADGROUP (without
 * BLOCK) is sent before this batch is processed, and Redis prepares it
 * meanwhile.  The entries it brings are not acknowledged before they are
 * processed and checkpointed like any other; if the process dies first,
 * they are pending and read again.
 */
static tocsin_err
read_batch(struct tocsin_ingest *in, size_t *seen)
{
    redisReply *r = in->ahead;
    int was_ahead = r || in->inflight; /* a read without BLOCK */
    in->ahead = NULL;
    tocsin_err err = TOCSIN_OK;
    if (!r && !in->inflight)
        err = send_read(in, in->live);
    if (!r && !err)
        err = recv_read(in, &r);
    if (!err && was_ahead && r->type != REDIS_REPLY_ERROR &&
        reply_entries(r) == 0) {
        /* The read ahead found nothing yet: wait for more, as usual. */
        err = send_read(in, 1);
        if (!err)
            err = recv_read(in, &r);
    }
    if (err)
        return err;
    if (r->type == REDIS_REPLY_ERROR) {
        tocsin_log_err("INGEST-READ", "XREADGROUP: %s", r->str);
        return TOCSIN_EPROTO;
    }
    if (in->live && reply_entries(r) >= (size_t)in->cfg->redis.batch)
        err = send_read(in, 0);
    *seen = process_read(in, r, !in->live);
    if (!in->live && *seen == 0) {
        in->live = 1;
        tocsin_log_info("INGEST-LIVE", "pending entries re-read; reading new");
    }
    return err;
}

/* Take over entries left pending by consumers that died. */
static tocsin_err
claim(struct tocsin_ingest *in)
{
    const struct tocsin_config *cfg = in->cfg;
    tocsin_err err = settle(in);
    if (err)
        return err;
    for (size_t si = 0; si < cfg->redis.nstreams; si++) {
        char start[48] = "0-0";
        for (int rounds = 0; rounds < 100; rounds++) {
            redisReply *r = redisCommand(
                in->rc, "XAUTOCLAIM %s %s %s %d %s COUNT %d",
                cfg->redis.streams[si], cfg->redis.group, cfg->redis.consumer,
                cfg->redis.claim_idle_ms, start, cfg->redis.batch);
            if (!r)
                return TOCSIN_EIO;
            if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
                freeReplyObject(r);
                return TOCSIN_EPROTO;
            }
            const redisReply *entries = r->element[1];
            for (size_t i = 0; i < entries->elements; i++)
                process_entry(in, si, entries->element[i]);
            in->st.claimed += entries->elements;
            if (entries->elements)
                tocsin_log_info("INGEST-CLAIM",
                                "stream=%s: took over %zu pending entries",
                                cfg->redis.streams[si], entries->elements);
            snprintf(start, sizeof start, "%s", r->element[0]->str);
            freeReplyObject(r);
            if (strcmp(start, "0-0") == 0)
                break;
        }
    }
    return TOCSIN_OK;
}

/*
 * Whether entries are pending for other consumers (a dead one's backlog
 * not claimable yet).  While they are, time must not move on by the wall
 * clock, or that backlog would count as late once claimed.
 */
static int
others_pending(struct tocsin_ingest *in, tocsin_err *err)
{
    const struct tocsin_config *cfg = in->cfg;
    long long total = 0;
    if ((*err = settle(in)) != TOCSIN_OK)
        return 1;
    for (size_t si = 0; si < cfg->redis.nstreams; si++) {
        redisReply *r = redisCommand(in->rc, "XPENDING %s %s",
                                     cfg->redis.streams[si],
                                     cfg->redis.group);
        if (!r) {
            *err = TOCSIN_EIO;
            return 1;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
            r->element[0]->type == REDIS_REPLY_INTEGER)
            total += r->element[0]->integer;
        freeReplyObject(r);
    }
    return total > (long long)in->unacked;
}

/* ---- checkpoint ---- */

struct hset_ctx {
    struct tocsin_ingest *in;
    struct strvec args;
    size_t pairs;
    size_t queued; /* HSET commands queued */
};

static int
queue(struct tocsin_ingest *in, const struct strvec *sv)
{
    return redisAppendCommandArgv(in->rc, (int)sv->n, (const char **)sv->v,
                                  sv->len) == REDIS_OK
               ? 0
               : -1;
}

static int
flush_hset(struct hset_ctx *h)
{
    if (!h->pairs)
        return 0;
    int r = queue(h->in, &h->args);
    sv_clear(&h->args);
    h->pairs = 0;
    h->queued++;
    return r;
}

static int
put_topic(void *arg, const char *topic, const void *blob, size_t len)
{
    struct hset_ctx *h = arg;
    if (!h->args.n &&
        (sv_pushs(&h->args, "HSET") || sv_pushs(&h->args, h->in->key_state)))
        return -1;
    if (sv_pushs(&h->args, topic) || sv_push(&h->args, blob, len))
        return -1;
    if (++h->pairs == HSET_CHUNK && flush_hset(h))
        return -1;
    return 0;
}

tocsin_err
tocsin_ingest_checkpoint(struct tocsin_ingest *in, int64_t now_ms)
{
    if (!in->rc)
        return TOCSIN_EAGAIN;
    if (in->failed)
        return TOCSIN_ENOMEM;
    tocsin_err err = settle(in);
    if (err)
        return err;
    const struct tocsin_config *cfg = in->cfg;
    size_t queued = 0;
    const char *multi[] = {"MULTI"};
    if (redisAppendCommandArgv(in->rc, 1, multi, NULL) != REDIS_OK)
        return TOCSIN_EIO;
    queued++;
    struct hset_ctx h = {in, {0}, 0, 0};
    err = tocsin_engine_save_dirty(in->eng, put_topic, &h);
    if (!err && flush_hset(&h))
        err = TOCSIN_EIO;
    sv_free(&h.args);
    queued += h.queued;
    if (err)
        return err;
    char meta[1024];
    size_t mlen;
    err = tocsin_engine_save_meta(in->eng, meta, sizeof meta, &mlen);
    if (err)
        return err;
    const char *set[] = {"SET", in->key_meta, meta};
    size_t setlen[] = {3, strlen(in->key_meta), mlen};
    if (redisAppendCommandArgv(in->rc, 3, set, setlen) != REDIS_OK)
        return TOCSIN_EIO;
    queued++;
    for (size_t i = 0; i < in->ncmds; i++) {
        if (queue(in, &in->cmds[i]))
            return TOCSIN_EIO;
        queued++;
    }
    for (size_t si = 0; si < cfg->redis.nstreams; si++) {
        struct idlist *a = &in->acks[si];
        for (size_t off = 0; off < a->n; off += XACK_CHUNK) {
            size_t n = a->n - off < XACK_CHUNK ? a->n - off : XACK_CHUNK;
            const char **argv = malloc((n + 3) * sizeof *argv);
            size_t *lens = malloc((n + 3) * sizeof *lens);
            if (!argv || !lens) {
                free(argv);
                free(lens);
                return TOCSIN_ENOMEM;
            }
            argv[0] = "XACK";
            argv[1] = cfg->redis.streams[si];
            argv[2] = cfg->redis.group;
            for (int k = 0; k < 3; k++)
                lens[k] = strlen(argv[k]);
            for (size_t k = 0; k < n; k++) {
                argv[3 + k] = a->buf + a->off[off + k];
                lens[3 + k] = a->len[off + k];
            }
            int r = redisAppendCommandArgv(in->rc, (int)(n + 3), argv, lens);
            free(argv);
            free(lens);
            if (r != REDIS_OK)
                return TOCSIN_EIO;
            queued++;
        }
    }
    /* The on-call state commits with the notifications it caused, so a
     * crash cannot leave a step sent but not recorded (or recorded but
     * not sent). */
    if (in->oc && tocsin_oncall_store_append(in->ocst, in->rc, in->oc,
                                             &queued) != TOCSIN_OK)
        return TOCSIN_EIO;
    /* A followed link is marked used with the ack it made: both or
     * neither (EXEC is nil if another instance used it meanwhile). */
    if (in->link && tocsin_oncall_store_ack_append(in->ocst, in->rc, in->link,
                                                   &queued) != TOCSIN_OK)
        return TOCSIN_EIO;
    const char *exec[] = {"EXEC"};
    if (redisAppendCommandArgv(in->rc, 1, exec, NULL) != REDIS_OK)
        return TOCSIN_EIO;
    queued++;
    /* Read every reply; the last one (EXEC) says whether it all applied. */
    int ok = 1;
    for (size_t i = 0; i < queued; i++) {
        void *rp = NULL;
        if (redisGetReply(in->rc, &rp) != REDIS_OK)
            return TOCSIN_EIO;
        redisReply *r = rp;
        if (i == queued - 1)
            ok = r->type == REDIS_REPLY_ARRAY;
        if (!reply_ok(r)) {
            tocsin_log_err("CHECKPOINT-FAIL", "%s", r->str);
            ok = 0;
        }
        freeReplyObject(r);
    }
    if (!ok)
        return TOCSIN_EPROTO;
    if (in->oc)
        tocsin_oncall_clear_dirty(in->oc);
    for (size_t i = 0; in->publish && i + 3 < in->pubq.n; i += 4)
        in->publish(in->publish_arg, in->pubq.v[i], in->pubq.v[i + 1],
                    in->pubq.v[i + 2], in->pubq.v[i + 3]);
    drop_work(in);
    in->last_checkpoint_ms = now_ms;
    in->st.checkpoints++;
    return TOCSIN_OK;
}

static int
checkpoint_due(const struct tocsin_ingest *in, int64_t now_ms)
{
    if (in->oc && tocsin_oncall_unsaved(in->oc))
        return 1;
    return in->ncmds > 0 || in->unacked >= ACK_FLUSH ||
           now_ms - in->last_checkpoint_ms >= in->cfg->redis.checkpoint_ms;
}

/* Whether alert fp still waits for somebody to acknowledge it. */
static int
awaiting_ack(const struct tocsin_oncall *oc, const char *fp)
{
    const struct tocsin_esc_state *es = tocsin_oncall_escalation(oc, fp);
    return es && (es->status == TOCSIN_ESC_RUNNING ||
                  es->status == TOCSIN_ESC_EXHAUSTED);
}

/* An outbox entry asking Pushover receiver r whether alert fp's emergency
 * was acknowledged in the app (the notifier reads the receipt it kept). */
static void
poll_pushover(struct tocsin_ingest *in, const char *fp, const char *r)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a of fp and r */
    for (const char *p = fp; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (const char *p = r; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    char delivery[33], body[512];
    snprintf(delivery, sizeof delivery, "%016llx%016llx",
             (unsigned long long)in->now_ms, (unsigned long long)h);
    snprintf(body, sizeof body,
             "{\"version\":\"4\",\"status\":\"firing\",\"receiver\":"
             "\"%.100s\",\"alerts\":[{\"status\":\"firing\","
             "\"fingerprint\":\"%.64s\",\"labels\":{},"
             "\"tocsin_oncall\":{\"kind\":\"poll\"}}]}",
             r, fp);
    add_outbox(in, delivery, fp, r, body);
}

/* Emergencies acknowledged in the Pushover app: take what the notifier's
 * reads found, and every ONCALL_POLL_S ask again for the others. */
static void
pushover_acks(struct tocsin_ingest *in, int64_t now_ms)
{
    int64_t now = now_ms / 1000;
    int poll = now - in->oncall_poll_s >= ONCALL_POLL_S;
    if (poll)
        in->oncall_poll_s = now;
    for (size_t i = 0; i < tocsin_oncall_nalerts(in->oc); i++) {
        char fp[128];
        snprintf(fp, sizeof fp, "%s", tocsin_oncall_alert_at(in->oc, i));
        if (!awaiting_ack(in->oc, fp))
            continue;
        char *by = NULL;
        if (tocsin_receiver_take_ack(fp, now_ms, &by) == TOCSIN_OK) {
            tocsin_log_notice("ONCALL-ACK", "alert %s acknowledged by %s", fp,
                              by);
            if (tocsin_oncall_ack(in->oc, fp, by, now, &in->notes) ==
                TOCSIN_ENOMEM)
                in->failed = 1;
            free(by);
            continue;
        }
        for (size_t r = 0; poll && r < in->cfg->nreceivers; r++)
            if (in->cfg->receivers[r].type == TOCSIN_RECEIVER_PUSHOVER)
                poll_pushover(in, fp, in->cfg->receivers[r].name);
    }
    queue_notes(in);
}

/* Escalation steps, group flushes and repeats that are due. */
static void
oncall_tick(struct tocsin_ingest *in, int64_t now_ms)
{
    if (!in->oc)
        return;
    int64_t now = now_ms / 1000;
    if (tocsin_oncall_next_due(in->oc) <= now) {
        if (tocsin_oncall_tick(in->oc, now, &in->notes) != TOCSIN_OK)
            in->failed = 1;
        queue_notes(in);
    }
    pushover_acks(in, now_ms);
    if (now - in->oncall_gc_s >= ONCALL_GC_S) {
        in->oncall_gc_s = now;
        tocsin_oncall_gc(in->oc, now, ONCALL_KEEP_S);
    }
}

tocsin_err
tocsin_ingest_step(struct tocsin_ingest *in, int64_t now_ms)
{
    in->now_ms = now_ms;
    if (!in->rc) {
        if (now_ms < in->retry_at_ms)
            return TOCSIN_EAGAIN;
        if (reconnect(in)) {
            schedule_retry(in, now_ms, "redis unavailable");
            return TOCSIN_EAGAIN;
        }
        tocsin_log_notice("INGEST-RECONNECT", "connected to redis again");
        in->backoff_ms = 0;
    }
    size_t seen = 0;
    tocsin_err err = TOCSIN_OK;
    if (in->live && now_ms - in->last_claim_ms >= in->cfg->redis.claim_idle_ms / 2) {
        in->last_claim_ms = now_ms;
        err = claim(in);
    }
    int was_live = in->live;
    if (!err)
        err = read_batch(in, &seen);
    if (!err && was_live && seen == 0 && !others_pending(in, &err)) {
        /* Idle: time passes for every topic, so quiet ones resolve. */
        tocsin_engine_advance(in->eng, now_ms - in->eopts.lateness_ms,
                              now_ms);
    }
    in->st.caught_up = in->live && seen < (size_t)in->cfg->redis.batch;
    if (!err)
        oncall_tick(in, now_ms);
    if (!err && in->failed)
        err = TOCSIN_ENOMEM;
    if (!err && checkpoint_due(in, now_ms))
        err = tocsin_ingest_checkpoint(in, now_ms);
    if (err) {
        in->failed = 0;
        schedule_retry(in, now_ms,
                       in->rc && in->rc->err ? in->rc->errstr
                                             : tocsin_strerror(err));
        return TOCSIN_EAGAIN;
    }
    return TOCSIN_OK;
}

void
tocsin_ingest_get_stats(const struct tocsin_ingest *in,
                        struct tocsin_ingest_stats *out)
{
    *out = in->st;
    if (in->eng)
        tocsin_engine_get_stats(in->eng, &out->engine);
}

const struct tocsin_engine *
tocsin_ingest_engine(const struct tocsin_ingest *in)
{
    return in->eng;
}

void
tocsin_ingest_set_publish(struct tocsin_ingest *in, tocsin_ingest_publish_fn fn,
                          void *arg)
{
    in->publish = fn;
    in->publish_arg = arg;
}

struct tocsin_oncall *
tocsin_ingest_oncall(struct tocsin_ingest *in)
{
    return in->rc ? in->oc : NULL;
}

struct tocsin_oncall *
tocsin_ingest_take_oncall(struct tocsin_ingest *in)
{
    struct tocsin_oncall *oc = in->oc;
    if (!oc || !in->rc || in->failed || in->notes.n > 0 ||
        tocsin_oncall_unsaved(oc))
        return NULL;
    in->oc = NULL;
    return oc;
}

void
tocsin_ingest_adopt_oncall(struct tocsin_ingest *in, struct tocsin_oncall *oc)
{
    /* The state just loaded must be untouched: if the rebuild of the
     * engine already fed it events, it is the one to go on with.  (Its
     * groups may be marked: records of routes gone, dropped at the load;
     * oc's reconfiguration marked those keys too.) */
    if (!in->oc || in->notes.n > 0 || tocsin_oncall_ndirty(in->oc) > 0 ||
        tocsin_oncall_silences_dirty(in->oc)) {
        tocsin_oncall_free(oc);
        return;
    }
    tocsin_oncall_free(in->oc);
    in->oc = oc;
    tocsin_log_notice("ONCALL-RELOAD",
                      "on-call state kept in memory across the reload: "
                      "%zu alert(s)",
                      tocsin_oncall_nalerts(oc));
}

tocsin_err
tocsin_ingest_deliver(struct tocsin_ingest *in, struct tocsin_notes *notes,
                      int64_t now_ms)
{
    if (!in->oc || !in->rc) {
        tocsin_notes_clear(notes);
        return TOCSIN_EAGAIN;
    }
    in->now_ms = now_ms;
    for (size_t i = 0; i < notes->n; i++) {
        /* Move each note over (the list keeps nothing it owns). */
        struct tocsin_notes *q = &in->notes;
        if (q->n == q->cap) {
            size_t cap = q->cap ? q->cap * 2 : 8;
            struct tocsin_note *v = realloc(q->v, cap * sizeof *v);
            if (!v) {
                in->failed = 1;
                break;
            }
            q->v = v;
            q->cap = cap;
        }
        q->v[q->n++] = notes->v[i];
        memset(&notes->v[i], 0, sizeof notes->v[i]);
    }
    tocsin_notes_clear(notes);
    queue_notes(in);
    tocsin_err err = tocsin_ingest_checkpoint(in, now_ms);
    if (err)
        schedule_retry(in, now_ms,
                       in->rc && in->rc->err ? in->rc->errstr
                                             : tocsin_strerror(err));
    return err;
}

tocsin_err
tocsin_ingest_use_link(struct tocsin_ingest *in, const char *token,
                       int64_t now_ms, enum tocsin_ack_verdict *verdict,
                       struct tocsin_ack_claims *claims)
{
    *verdict = TOCSIN_ACK_MALFORMED;
    const char *secret = in->cfg->oncall ? in->cfg->oncall->ack_secret : NULL;
    if (!secret)
        return TOCSIN_EINVAL;
    /* The signature is checked first: a bad link gets its verdict even
     * while Redis is away or the state is being rebuilt. */
    int64_t now = now_ms / 1000;
    struct tocsin_ack_claims cl;
    tocsin_err err = tocsin_ack_verify(secret, token, now, &cl, verdict);
    if (err)
        return err;
    if (claims)
        *claims = cl;
    if (!in->oc || !in->rc)
        return TOCSIN_EAGAIN;
    /* One use across instances (and across restarts of this one): watch
     * the link's key, check it is unused, act in memory, then commit the
     * ack, its announcements and the used-link record in one transaction.
     * A read sent ahead is received first: one command at a time. */
    err = settle(in);
    if (!err)
        err = tocsin_oncall_store_ack_watch(in->ocst, in->rc, &cl);
    if (err == TOCSIN_EINVAL) {
        *verdict = TOCSIN_ACK_REUSED;
        return TOCSIN_EINVAL;
    }
    if (err) {
        schedule_retry(in, now_ms, "checking an ack link failed");
        return err;
    }
    struct tocsin_notes notes = {0};
    err = tocsin_oncall_use_link(in->oc, token, now, &notes, NULL, verdict);
    if (err) {
        tocsin_notes_clear(&notes);
        free(notes.v);
        tocsin_oncall_store_unwatch(in->rc);
        if (err != TOCSIN_EINVAL && err != TOCSIN_ENOENT) /* half done */
            schedule_retry(in, now_ms, tocsin_strerror(err));
        return err;
    }
    in->link = &cl;
    /* A failed commit drops the connection: the state is rebuilt from
     * Redis, without this ack, and the link still works. */
    err = tocsin_ingest_deliver(in, &notes, now_ms);
    in->link = NULL;
    free(notes.v);
    return err;
}
