/*
 * config_int.h: what config.c shares with config_oncall.c (internal).
 *
 * config.c owns the parsing context (struct ctx) and the error list; the
 * on-call sections are parsed by config_oncall.c after the rest of the
 * file, so receiver names can be checked.  Same thread as the loader.
 */
#ifndef TOCSIN_CONFIG_INT_H
#define TOCSIN_CONFIG_INT_H

#include <libconfig.h>

#include "tocsin/config.h"
#include "tocsin/oncall.h"

struct ctx;

/* Report "file:line: message" at setting s (NULL: no line). */
void tocsin_config_int_error(struct ctx *c, const config_setting_t *s,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Note an allocation failure (the load then fails with TOCSIN_ENOMEM). */
void tocsin_config_int_oom(struct ctx *c);

/* Read a secret file (relative to the config's directory); NULL after
 * reporting an error at s.  The caller frees (and wipes) the result. */
char *tocsin_config_int_secret_file(struct ctx *c, const config_setting_t *s,
                                    const char *path, const char *file);

/* Parse the on-call sections of root into cfg->oncall (config_oncall.c). */
void tocsin_config_oncall_parse(struct ctx *c, const config_setting_t *root,
                                struct tocsin_config *cfg);

#endif
