/* strbuf_test.c: growable strings. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/strbuf.h"
#include "tocsin_test.h"

static void
test_appends_grow_and_take_gives_the_string(void)
{
    struct tocsin_strbuf b = {0};
    tocsin_strbuf_puts(&b, "tocsin ");
    tocsin_strbuf_add(&b, "ringing", 4);
    tocsin_strbuf_printf(&b, " %d%%", 99);
    for (int i = 0; i < 1000; i++) /* past the first allocation */
        tocsin_strbuf_puts(&b, ".");
    REQUIRE(b.len == strlen("tocsin ring 99%") + 1000);
    char *s = tocsin_strbuf_take(&b);
    REQUIRE(s);
    CHECK(strncmp(s, "tocsin ring 99%...", 18) == 0);
    CHECK(strlen(s) == strlen("tocsin ring 99%") + 1000);
    CHECK(b.s == NULL && b.len == 0 && b.cap == 0);
    free(s);
}

static void
test_empty_gives_an_empty_string_and_oom_gives_null(void)
{
    struct tocsin_strbuf b = {0};
    char *s = tocsin_strbuf_take(&b);
    REQUIRE(s);
    CHECK_STR(s, "");
    free(s);
    tocsin_strbuf_puts(&b, "lost");
    b.oom = 1; /* as after a failed realloc: it sticks */
    tocsin_strbuf_puts(&b, " and more");
    CHECK(b.len == 4);
    CHECK(tocsin_strbuf_take(&b) == NULL);
    CHECK(b.s == NULL && b.oom == 0);
}

static int vadd(struct tocsin_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
vadd(struct tocsin_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = tocsin_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return n;
}

static void
test_vprintf_says_how_much_it_added(void)
{
    struct tocsin_strbuf b = {0};
    CHECK(vadd(&b, "%s:%d: ", "f.conf", 12) == 11);
    CHECK(vadd(&b, "%s", "") == 0);
    CHECK(vadd(&b, "%0300d", 7) == 300); /* past the first allocation */
    CHECK(b.len == 311);
    b.oom = 1;
    CHECK(vadd(&b, "more") == -1);
    CHECK(b.len == 311);
    CHECK(tocsin_strbuf_take(&b) == NULL);
}

TOCSIN_TESTS(TOCSIN_TEST(test_appends_grow_and_take_gives_the_string),
             TOCSIN_TEST(test_empty_gives_an_empty_string_and_oom_gives_null),
             TOCSIN_TEST(test_vprintf_says_how_much_it_added));
