/* terms_test.c: emerging terms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/terms.h"
#include "tocsin_test.h"

static int
has(const char *const *v, size_t n, const char *w)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], w) == 0)
            return 1;
    return 0;
}

static void
learn(struct tocsin_terms *t, const char *s)
{
    tocsin_terms_learn(t, s, strlen(s), "AirNova");
}

static void
hot(struct tocsin_terms *t, const char *s)
{
    CHECK_OK(tocsin_terms_hot(t, s, strlen(s), "AirNova"));
}

/* A topic that has learned its usual talk, not hot. */
static struct tocsin_terms *
usual_talk(void)
{
    struct tocsin_terms *t = tocsin_terms_new();
    REQUIRE(t);
    for (int i = 0; i < 200; i++) {
        learn(t, "Vol AirNova Paris Nice ce matin, équipage sympa");
        learn(t, "Flight to Rome with @AirNova was fine https://x.y/z");
    }
    CHECK(!tocsin_terms_is_hot(t));
    return t;
}

/* NULL-terminated lists of hot talk, terms it must bring up, and terms
 * that must never show. */
struct talk_case {
    const char *const *talk, *const *want, *const *never;
};

/* Heats a topic with usual talk by each line of the case 30 times and
 * checks its top terms; then cools it. */
static void
check_talk(const struct talk_case *c)
{
    struct tocsin_terms *t = usual_talk();
    for (int i = 0; i < 30; i++)
        for (size_t j = 0; c->talk[j]; j++)
            hot(t, c->talk[j]);
    const char *top[TOCSIN_TERMS_MAX];
    size_t n = tocsin_terms_top(t, top);
    for (size_t j = 0; c->want[j]; j++)
        if (!has(top, n, c->want[j])) {
            fprintf(stderr, "missing from the top terms: %s\n", c->want[j]);
            CHECK(has(top, n, c->want[j]));
        }
    for (size_t j = 0; c->never[j]; j++)
        if (has(top, n, c->never[j])) {
            fprintf(stderr, "among the top terms: %s\n", c->never[j]);
            CHECK(!has(top, n, c->never[j]));
        }
    tocsin_terms_cool(t);
    CHECK(tocsin_terms_top(t, top) == 0);
    tocsin_terms_free(t);
}

static void
test_rising_words_emerge_and_usual_ones_do_not(void)
{
    static const char *const talk[] = {
        "AirNova en PANNE, vol Paris annulé, remboursement ?? #boycott",
        "Vol Nice annulé... AirNova ne répond pas #Boycott",
        "Vous êtes nuls, vous êtes vraiment nuls", NULL};
    static const char *const want[] = {"annulé", "panne", "#boycott",
                                       "remboursement", NULL};
    /* Usual words, stop words, the brand, links and handles stay out. */
    static const char *const never[] = {"vol", "paris", "airnova", "#airnova",
                                        "pas", "ne",    "êtes",    NULL};
    check_talk(&(struct talk_case){talk, want, never});
    tocsin_terms_free(NULL);
}

/* Apostrophes: French elisions and English possessives leave the word,
 * contractions are function words, other apostrophes stay in the word. */
static void
test_apostrophes_leave_whole_words(void)
{
    static const char *const talk[] = {
        "Aujourd'hui l'avion d'AirNova : 6h d\u2019attente",
        "L\u2019avion encore en retard aujourd\u2019hui, don't fly, we're "
        "stuck",
        "O'Brien: the company's crew isn't flying, O'Brien's crew", NULL};
    static const char *const want[] = {"avion", "crew", "o'brien", NULL};
    static const char *const never[] = {
        "hui", "aujourd", "aujourd'hui", "l'avion",   "don",   "don't",
        "isn", "we're",   "crew's",      "company's", "brien", NULL};
    check_talk(&(struct talk_case){talk, want, never});
}

struct buf {
    unsigned char b[8192];
    size_t n;
};

static int
put(void *arg, const void *p, size_t n)
{
    struct buf *b = arg;
    if (b->n + n > sizeof b->b)
        return -1;
    memcpy(b->b + b->n, p, n);
    b->n += n;
    return 0;
}

static void
test_save_and_load_give_the_same_answer(void)
{
    struct tocsin_terms *t = tocsin_terms_new();
    for (int i = 0; i < 50; i++)
        learn(t, "normal talk about seats and snacks");
    for (int i = 0; i < 10; i++)
        hot(t, "outage outage refund now #fail");
    struct buf b = {{0}, 0};
    CHECK(tocsin_terms_save(t, put, &b) == 0);
    const unsigned char *p = b.b;
    struct tocsin_terms *u = NULL;
    CHECK(tocsin_terms_load(&u, &p, b.b + b.n) == 0);
    REQUIRE(u);
    CHECK(p == b.b + b.n);
    const char *x[TOCSIN_TERMS_MAX], *y[TOCSIN_TERMS_MAX];
    size_t nx = tocsin_terms_top(t, x), ny = tocsin_terms_top(u, y);
    CHECK(nx == ny && nx >= 2);
    for (size_t i = 0; i < nx && i < ny; i++)
        CHECK_STR(x[i], y[i]);
    /* A truncated blob is refused. */
    p = b.b;
    struct tocsin_terms *bad = (struct tocsin_terms *)&b;
    CHECK(tocsin_terms_load(&bad, &p, b.b + b.n - 3) == -1);
    CHECK(bad == (struct tocsin_terms *)&b);
    tocsin_terms_free(t);
    tocsin_terms_free(u);
}

static void
test_odd_input_is_harmless(void)
{
    struct tocsin_terms *t = tocsin_terms_new();
    const char junk[] = "\xff\xfe #  ## @ & &amp; 12345 "
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for (int i = 0; i < 5; i++)
        hot(t, junk);
    hot(t, "");
    const char *top[TOCSIN_TERMS_MAX];
    CHECK(tocsin_terms_top(t, top) == 0);
    tocsin_terms_free(t);
}

TOCSIN_TESTS(TOCSIN_TEST(test_rising_words_emerge_and_usual_ones_do_not),
             TOCSIN_TEST(test_apostrophes_leave_whole_words),
             TOCSIN_TEST(test_save_and_load_give_the_same_answer),
             TOCSIN_TEST(test_odd_input_is_harmless));
