/*
 * redis.h: opening a hiredis connection from the config's redis.url.
 *
 * Accepted URLs: "redis://[[user]:password@]host[:port][/db]" and
 * "unix:///path/to/socket[?db=N]".  The password may also come from the
 * config's redis.password.  Each thread opens its own connection (a
 * redisContext is not thread-safe); the caller frees it with redisFree().
 */
#ifndef TOCSIN_REDIS_H
#define TOCSIN_REDIS_H

#include <hiredis/hiredis.h>

#include "tocsin/config.h"
#include "tocsin/err.h"

struct tocsin_redis_addr {
    char host[256];   /* empty for unix sockets */
    int port;         /* default 6379 */
    char path[256];   /* unix socket path, or empty */
    char user[128];   /* ACL user, or empty */
    char password[256];
    int db;
};

/* Parse url into *out (written only on success); TOCSIN_EINVAL if bad. */
tocsin_err tocsin_redis_parse_url(const char *url,
                                  struct tocsin_redis_addr *out);

/*
 * Connect (connect_timeout_ms from cfg), AUTH and SELECT as configured, and
 * set the socket timeout to timeout_ms for later commands (0 = none).  On
 * failure logs a REDIS-CONNECT warning (password never shown) and returns
 * TOCSIN_EIO; *out is written only on success.
 */
tocsin_err tocsin_redis_connect(redisContext **out,
                                const struct tocsin_config *cfg,
                                int timeout_ms);

/* Run a command given as argv (lengths may be NULL for C strings); returns
 * the reply (caller frees with freeReplyObject) or NULL on connection
 * failure.  A Redis error reply is returned as such. */
redisReply *tocsin_redis_cmd(redisContext *c, int argc, const char **argv,
                             const size_t *lens);

#endif
