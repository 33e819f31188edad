/*
 * tokcache.c: the process-wide cache of bearer tokens (tokcache.h).  A
 * small array under one mutex; owns copies of the keys and tokens.  Used
 * by the delivery thread through the receiver drivers.
 */
#include "tocsin/tokcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TOKCACHE_MAX 256

struct entry {
    char *key, *token;
    int64_t issued, expires;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry cache[TOKCACHE_MAX];
static size_t ncache;

static void
wipe(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = '\0';
        free(s);
    }
}

static void
drop_at(size_t i)
{
    free(cache[i].key);
    wipe(cache[i].token);
    cache[i] = cache[--ncache];
    memset(&cache[ncache], 0, sizeof cache[ncache]);
}

static long
find(const char *key)
{
    for (size_t i = 0; i < ncache; i++)
        if (strcmp(cache[i].key, key) == 0)
            return (long)i;
    return -1;
}

tocsin_err
tocsin_tokcache_get(const char *key, int64_t now_ms, int64_t margin_ms,
                    char **out, int64_t *issued_ms)
{
    if (!key || !out)
        return TOCSIN_EINVAL;
    tocsin_err err = TOCSIN_ENOENT;
    pthread_mutex_lock(&mu);
    long i = find(key);
    if (i >= 0 && cache[i].expires - margin_ms > now_ms) {
        char *t = strdup(cache[i].token);
        if (!t) {
            err = TOCSIN_ENOMEM;
        } else {
            *out = t;
            if (issued_ms)
                *issued_ms = cache[i].issued;
            err = TOCSIN_OK;
        }
    }
    pthread_mutex_unlock(&mu);
    return err;
}

tocsin_err
tocsin_tokcache_put(const char *key, const char *token, int64_t issued_ms,
                    int64_t expires_ms)
{
    if (!key || !token)
        return TOCSIN_EINVAL;
    char *k = strdup(key), *t = strdup(token);
    if (!k || !t) {
        free(k);
        wipe(t);
        return TOCSIN_ENOMEM;
    }
    pthread_mutex_lock(&mu);
    long i = find(key);
    if (i >= 0)
        drop_at((size_t)i);
    if (ncache == TOKCACHE_MAX) {
        size_t old = 0; /* evict the entry that expires first */
        for (size_t j = 1; j < ncache; j++)
            if (cache[j].expires < cache[old].expires)
                old = j;
        drop_at(old);
    }
    cache[ncache++] = (struct entry){k, t, issued_ms, expires_ms};
    pthread_mutex_unlock(&mu);
    return TOCSIN_OK;
}

void
tocsin_tokcache_drop(const char *key)
{
    if (!key)
        return;
    pthread_mutex_lock(&mu);
    long i = find(key);
    if (i >= 0)
        drop_at((size_t)i);
    pthread_mutex_unlock(&mu);
}

void
tocsin_tokcache_clear(void)
{
    pthread_mutex_lock(&mu);
    while (ncache > 0)
        drop_at(ncache - 1);
    pthread_mutex_unlock(&mu);
}
