/*
 * matcher.h: Alertmanager-style label matchers (=, !=, =~, !~).
 *
 * A matcher reads `name OP value`, e.g. severity="critical",
 * topic=~"Air.*", kind!="negativity".  Regular expressions are POSIX
 * extended and anchored at both ends, as in Alertmanager.  A label that
 * is absent reads as "".  A tocsin_matchers list matches when every one of
 * its matchers does (an empty list matches everything).
 *
 * Owns its compiled expressions and the source text of each matcher (kept
 * so a silence can be shown and stored as written).  Pure; a list is
 * immutable after parsing and may be read by several threads.
 */
#ifndef TOCSIN_MATCHER_H
#define TOCSIN_MATCHER_H

#include <stddef.h>

#include "tocsin/err.h"

/* One label (borrowed strings). */
struct tocsin_label {
    const char *name, *value;
};

/* A set of labels (borrowed array). */
struct tocsin_labelset {
    const struct tocsin_label *v;
    size_t n;
};

/* The value of label name in ls, or "" when absent (never NULL). */
const char *tocsin_labels_get(const struct tocsin_labelset *ls,
                              const char *name);

struct tocsin_matchers;

/*
 * Parse n matcher expressions into a new list (*out written only on
 * success).  On TOCSIN_EINVAL a message naming the bad expression is put
 * in err (errlen bytes, may be NULL).  TOCSIN_ENOMEM on allocation failure.
 */
tocsin_err tocsin_matchers_parse(struct tocsin_matchers **out,
                                 const char *const *exprs, size_t n, char *err,
                                 size_t errlen);

/* NULL does nothing. */
void tocsin_matchers_free(struct tocsin_matchers *m);

/* 1 when every matcher of m matches ls (m NULL or empty: 1), else 0. */
int tocsin_matchers_match(const struct tocsin_matchers *m,
                          const struct tocsin_labelset *ls);

/* The number of matchers in m (0 for NULL). */
size_t tocsin_matchers_count(const struct tocsin_matchers *m);

/* The i-th matcher normalised as name OP "value" (borrowed). */
const char *tocsin_matchers_text(const struct tocsin_matchers *m, size_t i);

#endif
