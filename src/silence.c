/*
 * silence.c: a set of silences.  Owns them; pure; one thread.
 */
#include "tocsin/silence.h"

#include "tocsin/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tocsin_silences {
    struct tocsin_silence *v;
    size_t n, cap;
    uint64_t seq;
};

tocsin_err
tocsin_silences_new(struct tocsin_silences **out)
{
    if (!out)
        return TOCSIN_EINVAL;
    struct tocsin_silences *s = calloc(1, sizeof *s);
    if (!s)
        return TOCSIN_ENOMEM;
    *out = s;
    return TOCSIN_OK;
}

static void
clear(struct tocsin_silence *sl)
{
    tocsin_matchers_free(sl->matchers);
    free(sl->comment);
    free(sl->created_by);
}

void
tocsin_silences_free(struct tocsin_silences *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        clear(&s->v[i]);
    free(s->v);
    free(s);
}

static int
valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= TOCSIN_SILENCE_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}


static struct tocsin_silence *
find(const struct tocsin_silences *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].id, id) == 0)
            return &s->v[i];
    return NULL;
}

tocsin_err
tocsin_silences_add(struct tocsin_silences *s, const char *id,
                    const char *const *matchers, size_t nmatchers,
                    int64_t starts, int64_t ends, const char *comment,
                    const char *created_by, char *id_out, char *err,
                    size_t errlen)
{
    if (!s)
        return TOCSIN_EINVAL;
    if (nmatchers == 0 || ends <= starts || (id && !valid_id(id))) {
        if (err && errlen)
            snprintf(err, errlen, "%s",
                     nmatchers == 0   ? "a silence needs at least one matcher"
                     : ends <= starts ? "a silence must end after it starts"
                                      : "a silence id is 1 to 63 of "
                                        "[A-Za-z0-9_-]");
        return TOCSIN_EINVAL;
    }
    struct tocsin_silence n;
    memset(&n, 0, sizeof n);
    tocsin_err rc =
        tocsin_matchers_parse(&n.matchers, matchers, nmatchers, err, errlen);
    if (rc != TOCSIN_OK)
        return rc;
    n.starts = starts;
    n.ends = ends;
    n.comment = strdup(comment ? comment : "");
    n.created_by = strdup(created_by ? created_by : "");
    if (!n.comment || !n.created_by) {
        clear(&n);
        return TOCSIN_ENOMEM;
    }
    if (id) {
        snprintf(n.id, sizeof n.id, "%s", id);
    } else {
        do {
            uint64_t h = TOCSIN_FNV_OFFSET;
            for (size_t i = 0; i < nmatchers; i++)
                h = tocsin_fnv1a(h, matchers[i], strlen(matchers[i]) + 1);
            h = tocsin_fnv1a(h, &starts, sizeof starts);
            h = tocsin_fnv1a(h, n.created_by, strlen(n.created_by));
            s->seq++;
            h = tocsin_fnv1a(h, &s->seq, sizeof s->seq);
            snprintf(n.id, sizeof n.id, "s%016llx", (unsigned long long)h);
        } while (find(s, n.id));
    }
    struct tocsin_silence *old = find(s, n.id);
    if (old) {
        clear(old);
        *old = n;
    } else {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 8;
            struct tocsin_silence *v = realloc(s->v, cap * sizeof *v);
            if (!v) {
                clear(&n);
                return TOCSIN_ENOMEM;
            }
            s->v = v;
            s->cap = cap;
        }
        s->v[s->n++] = n;
    }
    if (id_out)
        memcpy(id_out, n.id, sizeof n.id);
    return TOCSIN_OK;
}

tocsin_err
tocsin_silences_expire(struct tocsin_silences *s, const char *id, int64_t now)
{
    struct tocsin_silence *sl = s && id ? find(s, id) : NULL;
    if (!sl)
        return TOCSIN_ENOENT;
    if (sl->ends > now)
        sl->ends = now;
    if (sl->starts > sl->ends)
        sl->starts = sl->ends;
    return TOCSIN_OK;
}

const struct tocsin_silence *
tocsin_silences_match(const struct tocsin_silences *s,
                      const struct tocsin_labelset *ls, int64_t now)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        const struct tocsin_silence *sl = &s->v[i];
        if (now >= sl->starts && now < sl->ends &&
            tocsin_matchers_match(sl->matchers, ls))
            return sl;
    }
    return NULL;
}

void
tocsin_silences_gc(struct tocsin_silences *s, int64_t now, int64_t retention)
{
    if (!s)
        return;
    size_t j = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].ends + retention < now)
            clear(&s->v[i]);
        else
            s->v[j++] = s->v[i];
    }
    s->n = j;
}

size_t
tocsin_silences_count(const struct tocsin_silences *s)
{
    return s ? s->n : 0;
}

const struct tocsin_silence *
tocsin_silences_get(const struct tocsin_silences *s, size_t i)
{
    return s && i < s->n ? &s->v[i] : NULL;
}

const char *
tocsin_silence_state(const struct tocsin_silence *sl, int64_t now)
{
    if (now < sl->starts)
        return "pending";
    return now < sl->ends ? "active" : "expired";
}
