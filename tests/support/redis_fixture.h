/*
 * redis_fixture.h: a throwaway redis-server for tests.
 *
 * Starts `redis-server --port 0 --unixsocket <tmpdir>/r.sock --save ''
 * --appendonly no` as a child process (binary from $TOCSIN_REDIS_SERVER,
 * default "redis-server" on $PATH), waits until it answers PING, and hands
 * out its "unix://" URL.  The fixture owns the child and the temporary
 * directory; stop kills the child and removes both.  Use from one thread.
 */
#ifndef TOCSIN_REDIS_FIXTURE_H
#define TOCSIN_REDIS_FIXTURE_H

#include <hiredis/hiredis.h>

#include "tocsin/err.h"

struct tocsin_redis_fixture;

/* Start a server; *out is written only on success.  TOCSIN_EIO if it could
 * not be started or did not answer PING within 5 s. */
tocsin_err tocsin_redis_fixture_start(struct tocsin_redis_fixture **out);

/* "unix:///tmp/tocsin-redis-XXXXXX/r.sock" (borrowed, valid until stop). */
const char *tocsin_redis_fixture_url(const struct tocsin_redis_fixture *f);

/* The socket path alone (borrowed). */
const char *tocsin_redis_fixture_socket(const struct tocsin_redis_fixture *f);

/* A new connection to the server (caller frees with redisFree), or NULL. */
redisContext *
tocsin_redis_fixture_connect(const struct tocsin_redis_fixture *f);

/*
 * Kill the server (SIGKILL, as in a crash) and start a new one on the same
 * socket.  With keep_data, the data set is first written with SAVE into
 * the fixture's directory and loaded again on start (streams, consumer
 * groups and pending lists survive); without it the new server is empty.
 * Returns once the new server answers PING.
 */
tocsin_err tocsin_redis_fixture_restart(struct tocsin_redis_fixture *f,
                                        int keep_data);

/* Kill the server, remove its directory, free f.  NULL does nothing. */
void tocsin_redis_fixture_stop(struct tocsin_redis_fixture *f);

#endif
