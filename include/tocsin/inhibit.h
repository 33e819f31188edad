/*
 * inhibit.h: inhibition rules (Alertmanager inhibit_rules).
 *
 * A rule mutes a target alert while a source alert fires, when the source
 * matches source_matchers, the target matches target_matchers and both
 * have the same value for every label in `equal` (absent reads as "").
 * An alert never inhibits itself.  Example: a topic's critical volume
 * spike hides its warning-level negativity shift.
 *
 * The list owns its rules.  Pure; immutable once built, so threads may
 * share it.
 */
#ifndef TOCSIN_INHIBIT_H
#define TOCSIN_INHIBIT_H

#include <stddef.h>

#include "tocsin/err.h"
#include "tocsin/matcher.h"

struct tocsin_inhibit;

tocsin_err tocsin_inhibit_new(struct tocsin_inhibit **out);
void tocsin_inhibit_free(struct tocsin_inhibit *ih);

/* Add a rule.  TOCSIN_EINVAL with a message in err for a bad matcher. */
tocsin_err tocsin_inhibit_add(struct tocsin_inhibit *ih,
                              const char *const *source, size_t nsource,
                              const char *const *target, size_t ntarget,
                              const char *const *equal, size_t nequal,
                              char *err, size_t errlen);

size_t tocsin_inhibit_count(const struct tocsin_inhibit *ih);

/*
 * Whether target is inhibited by one of the nfiring firing alerts.
 * Returns the index in firing of the first inhibiting source, or -1.
 * An entry of firing whose labelset pointer is target is skipped.
 */
long tocsin_inhibit_check(const struct tocsin_inhibit *ih,
                          const struct tocsin_labelset *target,
                          const struct tocsin_labelset *const *firing,
                          size_t nfiring);

#endif
