/*
 * redis_fixture.c: runs redis-server as a child process for tests.  Owns
 * the child's pid and its temporary directory.  Used from the test's main
 * thread.
 */
#include "redis_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct tocsin_redis_fixture {
    pid_t pid;
    char dir[64];
    char sock[128];
    char url[160];
};

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int
ping(const char *sock)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectUnixWithTimeout(sock, tv);
    int ok = 0;
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

static void
kill_child(struct tocsin_redis_fixture *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        while (waitpid(f->pid, NULL, 0) == -1 && errno == EINTR)
            ;
        f->pid = 0;
    }
    unlink(f->sock);
}

static tocsin_err
spawn(struct tocsin_redis_fixture *f)
{
    const char *bin = getenv("TOCSIN_REDIS_SERVER");
    char logpath[128];
    if (!bin || !bin[0])
        bin = "redis-server";
    snprintf(logpath, sizeof logpath, "%s/redis.log", f->dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return TOCSIN_EIO;
    if (pid == 0) {
        /* Do not outlive a test that crashes or is killed. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execlp(bin, bin, "--port", "0", "--unixsocket", f->sock,
               "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
               "--dir", f->dir, "--dbfilename", "dump.rdb", (char *)NULL);
        _exit(127);
    }
    f->pid = pid;
    for (int i = 0; i < 500; i++) {
        if (ping(f->sock))
            return TOCSIN_OK;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            f->pid = 0;
            fprintf(stderr, "redis_fixture: %s exited (see %s)\n", bin,
                    logpath);
            return TOCSIN_EIO;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "redis_fixture: no PING answer on %s\n", f->sock);
    kill_child(f);
    return TOCSIN_EIO;
}

static void
remove_dir(struct tocsin_redis_fixture *f)
{
    static const char *const names[] = {"r.sock", "redis.log", "dump.rdb"};
    char p[192];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", f->dir, names[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

tocsin_err
tocsin_redis_fixture_start(struct tocsin_redis_fixture **out)
{
    struct tocsin_redis_fixture *f = calloc(1, sizeof *f);
    if (!f)
        return TOCSIN_ENOMEM;
    snprintf(f->dir, sizeof f->dir, "/tmp/tocsin-redis-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return TOCSIN_EIO;
    }
    snprintf(f->sock, sizeof f->sock, "%s/r.sock", f->dir);
    snprintf(f->url, sizeof f->url, "unix://%s", f->sock);
    tocsin_err err = spawn(f);
    if (err != TOCSIN_OK) {
        remove_dir(f);
        free(f);
        return err;
    }
    *out = f;
    return TOCSIN_OK;
}

const char *
tocsin_redis_fixture_url(const struct tocsin_redis_fixture *f)
{
    return f->url;
}

const char *
tocsin_redis_fixture_socket(const struct tocsin_redis_fixture *f)
{
    return f->sock;
}

redisContext *
tocsin_redis_fixture_connect(const struct tocsin_redis_fixture *f)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectUnixWithTimeout(f->sock, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    if (c)
        redisSetTimeout(c, tv);
    return c;
}

tocsin_err
tocsin_redis_fixture_restart(struct tocsin_redis_fixture *f, int keep_data)
{
    char dump[192];
    snprintf(dump, sizeof dump, "%s/dump.rdb", f->dir);
    unlink(dump);
    if (keep_data) {
        redisContext *c = tocsin_redis_fixture_connect(f);
        redisReply *r = c ? redisCommand(c, "SAVE") : NULL;
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
        if (!ok)
            return TOCSIN_EIO;
    }
    kill_child(f);
    return spawn(f);
}

void
tocsin_redis_fixture_stop(struct tocsin_redis_fixture *f)
{
    if (!f)
        return;
    kill_child(f);
    remove_dir(f);
    free(f);
}
