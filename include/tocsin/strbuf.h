/*
 * strbuf.h: a growable NUL-terminated string for building texts (message
 * bodies, /metrics, on-call views, mail, config error lines).  Running out
 * of memory sticks: later appends do nothing and tocsin_strbuf_take gives
 * NULL, so callers check once at the end.  Owned by its user; no locking.
 */
#ifndef TOCSIN_STRBUF_H
#define TOCSIN_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct tocsin_strbuf {
    char *s; /* NULL until something is added */
    size_t len, cap;
    int oom;
};

/* Append n bytes of s. */
void tocsin_strbuf_add(struct tocsin_strbuf *b, const char *s, size_t n);

/* Append the string s. */
void tocsin_strbuf_puts(struct tocsin_strbuf *b, const char *s);

/* Append printf-formatted text. */
void tocsin_strbuf_printf(struct tocsin_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same with a va_list.  Returns how many bytes were added, or -1 when
 * none could be (out of memory, or a formatting error). */
int tocsin_strbuf_vprintf(struct tocsin_strbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The string built ("" when nothing was added; the caller frees it), or
 * NULL when memory ran out.  Either way b is empty again. */
char *tocsin_strbuf_take(struct tocsin_strbuf *b);

#endif
