/*
 * inhibit.c: inhibition rules.  Owns the rules; pure; read-only after
 * building.
 */
#include "tocsin/inhibit.h"

#include <stdlib.h>
#include <string.h>

struct rule {
    struct tocsin_matchers *source, *target;
    char **equal;
    size_t nequal;
};

struct tocsin_inhibit {
    struct rule *v;
    size_t n;
};

tocsin_err
tocsin_inhibit_new(struct tocsin_inhibit **out)
{
    if (!out)
        return TOCSIN_EINVAL;
    struct tocsin_inhibit *ih = calloc(1, sizeof *ih);
    if (!ih)
        return TOCSIN_ENOMEM;
    *out = ih;
    return TOCSIN_OK;
}

static void
rule_clear(struct rule *r)
{
    tocsin_matchers_free(r->source);
    tocsin_matchers_free(r->target);
    for (size_t i = 0; i < r->nequal; i++)
        free(r->equal[i]);
    free(r->equal);
}

void
tocsin_inhibit_free(struct tocsin_inhibit *ih)
{
    if (!ih)
        return;
    for (size_t i = 0; i < ih->n; i++)
        rule_clear(&ih->v[i]);
    free(ih->v);
    free(ih);
}

tocsin_err
tocsin_inhibit_add(struct tocsin_inhibit *ih, const char *const *source,
                   size_t nsource, const char *const *target, size_t ntarget,
                   const char *const *equal, size_t nequal, char *err,
                   size_t errlen)
{
    if (!ih || (nequal && !equal))
        return TOCSIN_EINVAL;
    struct rule r;
    memset(&r, 0, sizeof r);
    tocsin_err rc =
        tocsin_matchers_parse(&r.source, source, nsource, err, errlen);
    if (rc == TOCSIN_OK)
        rc = tocsin_matchers_parse(&r.target, target, ntarget, err, errlen);
    if (rc == TOCSIN_OK && nequal &&
        !(r.equal = calloc(nequal, sizeof(char *))))
        rc = TOCSIN_ENOMEM;
    for (size_t i = 0; rc == TOCSIN_OK && i < nequal; i++) {
        r.nequal = i + 1;
        if (!(r.equal[i] = strdup(equal[i])))
            rc = TOCSIN_ENOMEM;
    }
    struct rule *v = NULL;
    if (rc == TOCSIN_OK && !(v = realloc(ih->v, (ih->n + 1) * sizeof *v)))
        rc = TOCSIN_ENOMEM;
    if (rc != TOCSIN_OK) {
        rule_clear(&r);
        return rc;
    }
    ih->v = v;
    ih->v[ih->n++] = r;
    return TOCSIN_OK;
}

size_t
tocsin_inhibit_count(const struct tocsin_inhibit *ih)
{
    return ih ? ih->n : 0;
}

long
tocsin_inhibit_check(const struct tocsin_inhibit *ih,
                     const struct tocsin_labelset *target,
                     const struct tocsin_labelset *const *firing,
                     size_t nfiring)
{
    if (!ih || !target)
        return -1;
    for (size_t i = 0; i < ih->n; i++) {
        const struct rule *r = &ih->v[i];
        if (!tocsin_matchers_match(r->target, target))
            continue;
        for (size_t j = 0; j < nfiring; j++) {
            const struct tocsin_labelset *src = firing[j];
            if (src == target || !tocsin_matchers_match(r->source, src))
                continue;
            size_t k;
            for (k = 0; k < r->nequal; k++)
                if (strcmp(tocsin_labels_get(src, r->equal[k]),
                           tocsin_labels_get(target, r->equal[k])) != 0)
                    break;
            if (k == r->nequal)
                return (long)j;
        }
    }
    return -1;
}
