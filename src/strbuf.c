/*
 * strbuf.c: growable strings (see strbuf.h).  Owns nothing beyond each
 * buffer's bytes; any thread, one buffer per thread.
 */
#include "tocsin/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL; 0, or -1 (oom set). */
static int
reserve(struct tocsin_strbuf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void
tocsin_strbuf_add(struct tocsin_strbuf *b, const char *s, size_t n)
{
    if (reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void
tocsin_strbuf_puts(struct tocsin_strbuf *b, const char *s)
{
    tocsin_strbuf_add(b, s, strlen(s));
}

int
tocsin_strbuf_vprintf(struct tocsin_strbuf *b, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int need = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (need < 0 || reserve(b, (size_t)need))
        return -1;
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)need;
    return need;
}

void
tocsin_strbuf_printf(struct tocsin_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tocsin_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *
tocsin_strbuf_take(struct tocsin_strbuf *b)
{
    if (!b->s && !b->oom)
        reserve(b, 0);
    char *s = b->oom ? NULL : b->s;
    if (s)
        s[b->len] = '\0';
    else
        free(b->s);
    memset(b, 0, sizeof *b);
    return s;
}
