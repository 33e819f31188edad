/*
 * log.h: one line per event on stderr, with sd-daemon(3) priority prefixes.
 *
 * A line reads "<4>NOTIFY-FAIL receiver=oncall: HTTP 503 ..." : the
 * priority, a stable message id, then text.  journald strips the prefix and
 * stamps the time.  The level is checked before formatting.  Callers must
 * never pass secrets; tocsin_log_redact_url() helps for URLs.
 *
 * Thread-safe: each line is written with one write(2).  The level is a
 * process-wide setting changed only from the main thread (config swap).
 */
#ifndef TOCSIN_LOG_H
#define TOCSIN_LOG_H

#include <stddef.h>

enum tocsin_log_level {
    TOCSIN_LOG_ERR = 3,
    TOCSIN_LOG_WARNING = 4,
    TOCSIN_LOG_NOTICE = 5,
    TOCSIN_LOG_INFO = 6,
    TOCSIN_LOG_DEBUG = 7,
};

/* Lines above this level are skipped (default TOCSIN_LOG_INFO). */
void tocsin_log_set_level(enum tocsin_log_level level);
enum tocsin_log_level tocsin_log_get_level(void);
/* Parse "error|warning|notice|info|debug"; returns 0 on success, -1 if
 * unknown (out untouched). */
int tocsin_log_parse_level(const char *s, enum tocsin_log_level *out);

void tocsin_log(enum tocsin_log_level level, const char *msgid,
                const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define tocsin_log_err(id, ...)    tocsin_log(TOCSIN_LOG_ERR, id, __VA_ARGS__)
#define tocsin_log_warn(id, ...)   tocsin_log(TOCSIN_LOG_WARNING, id, __VA_ARGS__)
#define tocsin_log_notice(id, ...) tocsin_log(TOCSIN_LOG_NOTICE, id, __VA_ARGS__)
#define tocsin_log_info(id, ...)   tocsin_log(TOCSIN_LOG_INFO, id, __VA_ARGS__)
#define tocsin_log_debug(id, ...)  tocsin_log(TOCSIN_LOG_DEBUG, id, __VA_ARGS__)

/*
 * Copy url into buf (size n, always NUL-terminated) with credentials hidden:
 * userinfo ("user:pass@"), query values and path segments that look like
 * tokens (long runs of letters/digits) become "REDACTED".  Returns buf.
 */
char *tocsin_log_redact_url(const char *url, char *buf, size_t n);

#endif
