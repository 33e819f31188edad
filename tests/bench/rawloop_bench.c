/*
 * rawloop_bench.c: the baseline for tocsind's ingest throughput, and the
 * clock that times tocsind itself (tests/bench/run drives both).
 *
 *   rawloop_bench SOCK STREAM GROUP BATCH json|flat
 *       The least work a consumer can do: XREADGROUP COUNT BATCH on a
 *       fresh group (created at 0), parse each entry's `json` field with
 *       jansson (json) or touch every field (flat), XACK the batch; until
 *       the stream has nothing new.  Prints "entries N seconds S".
 *
 *   rawloop_bench --wait SOCK STREAM GROUP N TIMEOUT_S [PID]
 *       Poll XINFO GROUPS every 10 ms until GROUP has read N entries
 *       (entries-read, or lag 0) and has no pending entry.  Prints
 *       "read_s R acked_s A" (seconds since this program started), or
 *       exits 1 on timeout or as soon as process PID (the consumer being
 *       timed) is gone.
 *
 * Single-threaded; owns its one hiredis connection.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static redisContext *
connect_unix(const char *sock)
{
    redisContext *c = redisConnectUnix(sock);
    if (!c || c->err) {
        fprintf(stderr, "rawloop_bench: cannot connect to %s: %s\n", sock,
                c ? c->errstr : "out of memory");
        exit(2);
    }
    return c;
}

/* Consume the whole stream through a fresh group; returns entries read. */
static unsigned long long
consume(redisContext *c, const char *stream, const char *group, int batch,
        int json)
{
    redisReply *r =
        redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM", stream, group);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "rawloop_bench: XGROUP CREATE: %s\n",
                r ? r->str : c->errstr);
        exit(2);
    }
    freeReplyObject(r);
    const char **argv = malloc(((size_t)batch + 3) * sizeof *argv);
    size_t *lens = malloc(((size_t)batch + 3) * sizeof *lens);
    if (!argv || !lens)
        exit(2);
    argv[0] = "XACK";
    argv[1] = stream;
    argv[2] = group;
    for (int k = 0; k < 3; k++)
        lens[k] = strlen(argv[k]);
    unsigned long long entries = 0, touched = 0;
    for (;;) {
        r = redisCommand(c, "XREADGROUP GROUP %s bench COUNT %d STREAMS %s >",
                         group, batch, stream);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "rawloop_bench: XREADGROUP: %s\n",
                    r ? r->str : c->errstr);
            exit(2);
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            freeReplyObject(r);
            break;
        }
        const redisReply *es = r->element[0]->element[1];
        size_t n = 0;
        for (size_t i = 0; i < es->elements; i++) {
            const redisReply *e = es->element[i];
            const redisReply *f = e->element[1];
            argv[3 + n] = e->element[0]->str;
            lens[3 + n] = (size_t)e->element[0]->len;
            n++;
            if (f->type != REDIS_REPLY_ARRAY)
                continue;
            if (json) {
                if (f->elements != 2)
                    continue;
                json_error_t jerr;
                json_t *doc = json_loadb(f->element[1]->str,
                                         (size_t)f->element[1]->len,
                                         JSON_REJECT_DUPLICATES, &jerr);
                const char *key;
                json_t *v;
                json_object_foreach(doc, key, v)
                {
                    touched += (unsigned char)key[0];
                }
                json_decref(doc);
            } else {
                for (size_t k = 0; k < f->elements; k++)
                    touched += (unsigned char)f->element[k]->str[0] +
                               (size_t)f->element[k]->len;
            }
        }
        entries += n;
        redisReply *a = redisCommandArgv(c, (int)(n + 3), argv, lens);
        if (!a || a->type != REDIS_REPLY_INTEGER ||
            (size_t)a->integer != n) {
            fprintf(stderr, "rawloop_bench: XACK failed\n");
            exit(2);
        }
        freeReplyObject(a);
        freeReplyObject(r);
    }
    free(argv);
    free(lens);
    if (touched == 0 && entries)
        fprintf(stderr, "rawloop_bench: nothing touched?\n");
    return entries;
}

/* Reads GROUP's pending and entries-read/lag from XINFO GROUPS. */
static int
group_info(redisContext *c, const char *stream, const char *group,
           long long *pending, long long *read, long long *lag)
{
    redisReply *r = redisCommand(c, "XINFO GROUPS %s", stream);
    int found = 0;
    if (!r) {
        fprintf(stderr, "rawloop_bench: XINFO: %s\n", c->errstr);
        exit(2);
    }
    for (size_t g = 0; r->type == REDIS_REPLY_ARRAY && g < r->elements;
         g++) {
        const redisReply *kv = r->element[g];
        int mine = 0;
        long long p = -1, rd = -1, lg = -1;
        for (size_t i = 0; i + 1 < kv->elements; i += 2) {
            const char *k = kv->element[i]->str;
            const redisReply *v = kv->element[i + 1];
            if (strcmp(k, "name") == 0 && v->type == REDIS_REPLY_STRING)
                mine = strcmp(v->str, group) == 0;
            else if (strcmp(k, "pending") == 0)
                p = v->integer;
            else if (strcmp(k, "entries-read") == 0 &&
                     v->type == REDIS_REPLY_INTEGER)
                rd = v->integer;
            else if (strcmp(k, "lag") == 0 && v->type == REDIS_REPLY_INTEGER)
                lg = v->integer;
        }
        if (mine) {
            *pending = p;
            *read = rd;
            *lag = lg;
            found = 1;
        }
    }
    freeReplyObject(r);
    return found;
}

static int
wait_drained(const char *sock, const char *stream, const char *group,
             long long n, double timeout_s, long pid)
{
    double t0 = now();
    redisContext *c = connect_unix(sock);
    double read_s = -1;
    struct timespec ten_ms = {0, 10000000};
    for (;;) {
        long long pending = -1, rd = -1, lag = -1;
        double t = now() - t0;
        if (group_info(c, stream, group, &pending, &rd, &lag)) {
            int all_read = rd >= n || lag == 0;
            if (all_read && read_s < 0)
                read_s = t;
            if (all_read && pending == 0) {
                printf("read_s %.3f acked_s %.3f\n", read_s, t);
                redisFree(c);
                return 0;
            }
        }
        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            fprintf(stderr, "rawloop_bench: process %ld exited before %s "
                            "was drained\n", pid, group);
            redisFree(c);
            return 1;
        }
        if (t > timeout_s) {
            fprintf(stderr, "rawloop_bench: %s not drained after %.0f s\n",
                    group, timeout_s);
            redisFree(c);
            return 1;
        }
        nanosleep(&ten_ms, NULL);
    }
}

int
main(int argc, char **argv)
{
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "--wait") == 0)
        return wait_drained(argv[2], argv[3], argv[4], atoll(argv[5]),
                            atof(argv[6]), argc == 8 ? atol(argv[7]) : 0);
    if (argc != 6) {
        fprintf(stderr,
                "usage: rawloop_bench SOCK STREAM GROUP BATCH json|flat\n"
                "       rawloop_bench --wait SOCK STREAM GROUP N "
                "TIMEOUT_S [PID]\n");
        return 2;
    }
    int batch = atoi(argv[4]);
    if (batch < 1)
        batch = 1000;
    redisContext *c = connect_unix(argv[1]);
    double t0 = now();
    unsigned long long n =
        consume(c, argv[2], argv[3], batch, strcmp(argv[5], "json") == 0);
    double dt = now() - t0;
    printf("entries %llu seconds %.3f\n", n, dt);
    redisFree(c);
    return 0;
}
