/*
 * log.c: stderr logging with sd-daemon priority prefixes and message ids.
 * Owns only the current level (an atomic int).  Any thread may log.
 */
#include "tocsin/log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_int log_level = TOCSIN_LOG_INFO;

void
tocsin_log_set_level(enum tocsin_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum tocsin_log_level
tocsin_log_get_level(void)
{
    return (enum tocsin_log_level)atomic_load(&log_level);
}

int
tocsin_log_parse_level(const char *s, enum tocsin_log_level *out)
{
    static const struct {
        const char *name;
        enum tocsin_log_level level;
    } names[] = {
        {"error", TOCSIN_LOG_ERR},     {"warning", TOCSIN_LOG_WARNING},
        {"notice", TOCSIN_LOG_NOTICE}, {"info", TOCSIN_LOG_INFO},
        {"debug", TOCSIN_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -1;
}

void
tocsin_log(enum tocsin_log_level level, const char *msgid, const char *fmt, ...)
{
    if ((int)level > atomic_load(&log_level))
        return;
    char line[2048];
    int n = snprintf(line, sizeof line, "<%d>%s ", (int)level, msgid);
    if (n < 0)
        return;
    size_t len = (size_t)n;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + len, sizeof line - len - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    len += (size_t)m;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    /* One event, one line: fold embedded newlines. */
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

static int
looks_like_token(const char *s, size_t n)
{
    size_t alnum = 0;
    for (size_t i = 0; i < n; i++)
        if (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_')
            alnum++;
    return n >= 16 && alnum == n;
}

char *
tocsin_log_redact_url(const char *url, char *buf, size_t n)
{
    static const char red[] = "REDACTED";
    size_t o = 0;
#define PUT(c)                                                                 \
    do {                                                                       \
        char c_ = (c);                                                         \
        if (o + 1 < n)                                                         \
            buf[o++] = c_;                                                     \
    } while (0)
#define PUTS(s)                                                                \
    do {                                                                       \
        for (const char *p_ = (s); *p_; p_++)                                  \
            PUT(*p_);                                                          \
    } while (0)
    if (n == 0)
        return buf;
    const char *p = url;
    const char *scheme = strstr(url, "://");
    if (scheme) {
        for (; p < scheme + 3; p++)
            PUT(*p);
        const char *slash = strchr(p, '/');
        const char *at = strchr(p, '@');
        if (at && (!slash || at < slash)) {
            PUTS(red);
            PUT('@');
            p = at + 1;
        }
    }
    int in_query = 0;
    while (*p) {
        if (!in_query && (*p == '/' || *p == '?')) {
            in_query = (*p == '?');
            PUT(*p++);
            size_t seg = strcspn(p, "/?#");
            if (!in_query && looks_like_token(p, seg)) {
                PUTS(red);
                p += seg;
            }
            continue;
        }
        if (in_query && *p == '=') {
            PUT(*p++);
            size_t v = strcspn(p, "&#");
            if (v > 0)
                PUTS(red);
            p += v;
            continue;
        }
        PUT(*p++);
    }
    buf[o] = '\0';
    return buf;
#undef PUT
#undef PUTS
}
