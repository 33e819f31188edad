/*
 * redis.c: hiredis connections from a tocsin URL.  Owns nothing beyond the
 * contexts it returns.  Called from whichever thread will use the context.
 */
#include "tocsin/redis.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "tocsin/log.h"

static int
copy_part(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int
parse_int(const char *s, size_t n, int min, int max, int *out)
{
    char buf[16];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    if (*end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

tocsin_err
tocsin_redis_parse_url(const char *url, struct tocsin_redis_addr *out)
{
    struct tocsin_redis_addr a;
    memset(&a, 0, sizeof a);
    a.port = 6379;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7;
        const char *q = strchr(p, '?');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || p[0] != '/' || copy_part(a.path, sizeof a.path, p, n))
            return TOCSIN_EINVAL;
        if (q) {
            if (strncmp(q, "?db=", 4) != 0 ||
                parse_int(q + 4, strlen(q + 4), 0, 65535, &a.db))
                return TOCSIN_EINVAL;
        }
        *out = a;
        return TOCSIN_OK;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return TOCSIN_EINVAL;
    const char *p = url + 8;
    const char *slash = strchr(p, '/');
    const char *hostend = slash ? slash : p + strlen(p);
    const char *at = memchr(p, '@', (size_t)(hostend - p));
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (copy_part(a.user, sizeof a.user, p, (size_t)(colon - p)) ||
                copy_part(a.password, sizeof a.password, colon + 1,
                          (size_t)(at - colon - 1)))
                return TOCSIN_EINVAL;
        } else if (copy_part(a.password, sizeof a.password, p,
                             (size_t)(at - p))) {
            return TOCSIN_EINVAL;
        }
        p = at + 1;
    }
    const char *colon = memchr(p, ':', (size_t)(hostend - p));
    const char *hend = colon ? colon : hostend;
    if (hend == p || copy_part(a.host, sizeof a.host, p, (size_t)(hend - p)))
        return TOCSIN_EINVAL;
    if (colon &&
        parse_int(colon + 1, (size_t)(hostend - colon - 1), 1, 65535, &a.port))
        return TOCSIN_EINVAL;
    if (slash && slash[1] &&
        parse_int(slash + 1, strlen(slash + 1), 0, 65535, &a.db))
        return TOCSIN_EINVAL;
    *out = a;
    return TOCSIN_OK;
}

redisReply *
tocsin_redis_cmd(redisContext *c, int argc, const char **argv,
                 const size_t *lens)
{
    return redisCommandArgv(c, argc, argv, lens);
}

static struct timeval
ms_tv(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

tocsin_err
tocsin_redis_connect(redisContext **out, const struct tocsin_config *cfg,
                     int timeout_ms)
{
    struct tocsin_redis_addr a;
    char shown[512];
    tocsin_log_redact_url(cfg->redis.url, shown, sizeof shown);
    if (tocsin_redis_parse_url(cfg->redis.url, &a) != TOCSIN_OK) {
        tocsin_log_err("REDIS-CONNECT", "bad redis url %s", shown);
        return TOCSIN_EINVAL;
    }
    struct timeval ct =
        ms_tv(cfg->redis.connect_timeout_ms > 0 ? cfg->redis.connect_timeout_ms
                                                : 2000);
    redisContext *c = a.path[0] ? redisConnectUnixWithTimeout(a.path, ct)
                                : redisConnectWithTimeout(a.host, a.port, ct);
    if (!c || c->err) {
        tocsin_log_warn("REDIS-CONNECT", "cannot connect to %s: %s", shown,
                        c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return TOCSIN_EIO;
    }
    const char *password = a.password[0] ? a.password : cfg->redis.password;
    redisReply *r;
    if (password && password[0]) {
        if (a.user[0])
            r = redisCommand(c, "AUTH %s %s", a.user, password);
        else
            r = redisCommand(c, "AUTH %s", password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            tocsin_log_warn("REDIS-CONNECT", "AUTH failed at %s: %s", shown,
                            r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            redisFree(c);
            return TOCSIN_EIO;
        }
        freeReplyObject(r);
    }
    if (a.db) {
        r = redisCommand(c, "SELECT %d", a.db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            tocsin_log_warn("REDIS-CONNECT", "SELECT %d failed at %s", a.db,
                            shown);
            if (r)
                freeReplyObject(r);
            redisFree(c);
            return TOCSIN_EIO;
        }
        freeReplyObject(r);
    }
    if (timeout_ms > 0)
        redisSetTimeout(c, ms_tv(timeout_ms));
    *out = c;
    return TOCSIN_OK;
}
