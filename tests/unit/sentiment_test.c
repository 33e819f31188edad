/*
 * sentiment_test.c: unit tests for the sentiment scorer (sentiment.h).
 * Sentences are written for these tests; no evaluation data is used.
 * Lexicons come from the source tree (TOCSIN_SOURCE_DATADIR/lexicons).
 */
#include "tocsin/sentiment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin_test.h"

static struct tocsin_sentiment *S;

static void
load(void)
{
    if (!S)
        CHECK_OK(tocsin_sentiment_new(&S, TOCSIN_SOURCE_DATADIR "/lexicons"));
    REQUIRE(S != NULL);
}

static double
en(const char *t)
{
    return tocsin_sentiment_score(S, t, strlen(t), TOCSIN_LANG_EN);
}

static double
fr(const char *t)
{
    return tocsin_sentiment_score(S, t, strlen(t), TOCSIN_LANG_FR);
}

static double
au(const char *t)
{
    return tocsin_sentiment_score(S, t, strlen(t), TOCSIN_LANG_AUTO);
}

static void
test_basic_polarity(void)
{
    load();
    CHECK(en("The new update is good") > 0.05);
    CHECK(en("The new update is terrible") < -0.05);
    CHECK(fr("Le service est excellent") > 0.05);
    CHECK(fr("Le service est horrible") < -0.05);
    CHECK_NEAR(en("The store opens at nine"), 0.0, 1e-9);
}

static void
test_negation(void)
{
    load();
    CHECK(en("this phone is not good") < -0.05);
    CHECK(en("this phone isn't good") < -0.05);
    CHECK(en("this phone is never good") < -0.05);
    CHECK(en("it was not bad at all") > 0.05);
    CHECK(fr("ce n'est pas bon") < -0.05);
    CHECK(fr("ce n’est pas bon") < -0.05); /* typographic apostrophe */
    CHECK(fr("c'est pas bon") < -0.05);
    CHECK(fr("je ne suis jamais content") < -0.05);
    CHECK(fr("ce n'est plus bon") < -0.05);
    /* "ne ... pas" negates once, not twice. */
    CHECK(fr("je n'aime pas ce produit") < -0.05);
    CHECK(fr("pas mal du tout") > 0.05);
    /* "plus" without "ne" is a booster, not a negator. */
    CHECK(fr("encore plus beau") > fr("encore beau") - 1e-9);
    CHECK(fr("sans espoir") < -0.05);
}

static void
test_boosters(void)
{
    load();
    CHECK(en("very good") > en("good"));
    CHECK(en("extremely bad") < en("bad"));
    CHECK(en("slightly good") < en("good"));
    CHECK(fr("très bon") > fr("bon"));
    CHECK(fr("vraiment nul") < fr("nul"));
    CHECK(fr("un peu triste") > fr("triste"));
}

static void
test_caps_and_exclamation(void)
{
    load();
    CHECK(en("this is GREAT news today") > en("this is great news today"));
    CHECK(en("this is TERRIBLE news today") <
          en("this is terrible news today"));
    CHECK(en("great!") > en("great"));
    CHECK(en("great!!!") > en("great!"));
    CHECK(en("awful!!") < en("awful"));
    /* No sentiment, no punctuation emphasis. */
    CHECK_NEAR(en("the table!!!"), 0.0, 1e-9);
}

static void
test_but_mais(void)
{
    load();
    CHECK(en("the food was good but the service was horrible") < -0.05);
    CHECK(en("the food was bad but the service was excellent") > 0.05);
    CHECK(fr("le produit est bon mais le service est horrible") < -0.05);
    CHECK(fr("le produit est mauvais mais le service est excellent") > 0.05);
}

static void
test_emoji_emoticons(void)
{
    load();
    CHECK(en("new phone ❤️") > 0.05);
    CHECK(en("new phone ❤") > 0.05);
    CHECK(en("new phone 😡😡") < -0.05);
    CHECK(en("new phone 😭😭😭") < -0.05);
    CHECK(en("new phone 👍🏽") > 0.05); /* skin tone modifier */
    CHECK(en("new phone :)") > 0.05);
    CHECK(en("new phone :(") < -0.05);
    CHECK(en("new phone :-(!!") < -0.05);
    CHECK(en("I &lt;3 it") > 0.05);
    CHECK(fr("mon nouveau téléphone 😡") < -0.05);
}

static void
test_tweet_features(void)
{
    load();
    CHECK(en("this is #fail") < -0.05);
    CHECK(en("this is an #EpicFail") < -0.05);
    CHECK(en("sooooo goooood") > en("so good"));
    CHECK(en("this is baaaad") < -0.05);
    /* URLs and mentions carry no sentiment. */
    CHECK_NEAR(en("@happy_love see https://good.example/great?love=1"), 0.0,
               1e-9);
    CHECK(en("bread &amp; butter are terrible") < -0.05);
}

static void
test_french_elision_accents(void)
{
    load();
    CHECK(fr("j'adore l'application") > 0.05);
    CHECK(fr("l'horrible service") < -0.05);
    CHECK(fr("qu'horrible") < -0.05);
    /* Accent-insensitive lookups and Latin-1 upper case. */
    CHECK_NEAR(fr("c'est genial"), fr("c'est génial"), 1e-9);
    CHECK(fr("c'est genial") > 0.05);
    CHECK(fr("TRÈS DÉÇU") < -0.05);
    CHECK(fr("très déçu") < -0.05);
    CHECK(fr("tres decu") < -0.05);
}

static void
test_language_detection(void)
{
    load();
    const char *f1 = "je ne suis pas content du service client";
    const char *f2 = "c'est vraiment très décevant, la livraison est en retard";
    const char *e1 = "I am not happy with the customer service";
    const char *e2 = "the delivery is late and the app keeps crashing";
    CHECK(tocsin_sentiment_detect(S, f1, strlen(f1)) == TOCSIN_LANG_FR);
    CHECK(tocsin_sentiment_detect(S, f2, strlen(f2)) == TOCSIN_LANG_FR);
    CHECK(tocsin_sentiment_detect(S, e1, strlen(e1)) == TOCSIN_LANG_EN);
    CHECK(tocsin_sentiment_detect(S, e2, strlen(e2)) == TOCSIN_LANG_EN);
    CHECK(tocsin_sentiment_detect(S, "", 0) == TOCSIN_LANG_EN);
    /* Spanish shares "la" and "de" with French but is not French. */
    const char *es = "la casa de los amigos del pueblo";
    CHECK(tocsin_sentiment_detect(S, es, strlen(es)) == TOCSIN_LANG_EN);
    const char *ya = "ya know";
    CHECK(tocsin_sentiment_detect(S, ya, strlen(ya)) == TOCSIN_LANG_EN);
    CHECK_NEAR(au(f1), fr(f1), 1e-12);
    CHECK_NEAR(au(e1), en(e1), 1e-12);
    CHECK(au("ce n'est pas bon du tout") < -0.05);
}

static void
test_idioms(void)
{
    load();
    /* Two- and three-word lexicon entries score as one word. */
    CHECK(en("I can't wait for the release") > 0.05);
    CHECK(en("who cares about the update") < -0.05);
    CHECK_NEAR(en("holy shit it arrived today"), 0.0, 1e-9);
    CHECK(en("this cake is to die for") > 0.05);
    CHECK(en("it was the kiss of death for the brand") < -0.05);
    CHECK_NEAR(en("it is kind of late"), 0.0, 1e-9);
    /* vader_FR's own multi-word entries and ours; a phrase that holds
     * its negator is not negated again by "ne". */
    CHECK(fr("c'est n'importe quoi") < -0.05);
    CHECK(fr("ce film n'est pas terrible") < -0.05);
    CHECK(fr("ce film est pas terrible") < -0.05);
    CHECK(fr("tant mieux pour eux") > 0.05);
}

static void
test_scope_rules(void)
{
    load();
    /* Emoji and emoticons are never negated. */
    CHECK(en("not going today :)") > 0.05);
    CHECK(en("never again 😡") < -0.05);
    /* Negation stops at clause punctuation. */
    CHECK(en("Nope, still clueless") < -0.05);
    CHECK(en("nope still clueless") > 0.05);
    CHECK(en("No, I love it") > 0.05);
    CHECK(en("no love for it") < -0.05);
    /* VADER: "never so good" is better than good. */
    CHECK(en("it was never so good") > en("it was good"));
    /* "pretty" boosts the next word instead of counting as "pretty". */
    CHECK(en("the update is pretty bad") < en("the update is bad"));
    CHECK(en("a pretty dress") > 0.05);
}

static void
test_like_and_names(void)
{
    load();
    /* "like" counts as a verb only. */
    CHECK_NEAR(en("it looks like rain tomorrow"), 0.0, 1e-9);
    CHECK(en("I like the new app") > 0.05);
    CHECK(en("they like the new app") > 0.05);
    CHECK(en("we don't like the new app") < -0.05);
    /* A sentiment word inside a Capitalised name carries none... */
    CHECK_NEAR(en("we saw Taylor Swift last night"), 0.0, 1e-9);
    CHECK_NEAR(en("tickets for the Walking Dead show"), 0.0, 1e-9);
    /* ...but counts at a sentence start, beside known words, or in a
     * Title Case text. */
    CHECK(en("Swift delivery today") > 0.05);
    CHECK(en("we wish you Good Luck today") > 0.05);
    CHECK(en("Taylor Swift Is Great") > 0.05);
}

static void
test_french_forms(void)
{
    load();
    /* Feminine and plural forms of lexicon entries. */
    CHECK(fr("une journée excellente") > 0.05);
    CHECK(fr("elles sont contentes") > 0.05);
    CHECK(fr("ils détestent la nouvelle version") < -0.05);
    /* A word of its own is not taken for a form of another one. */
    CHECK_NEAR(fr("plus"), 0.0, 1e-9);
    /* Texts with no signal stay at 0 after the French calibration. */
    CHECK_NEAR(fr("le train arrive à midi"), 0.0, 1e-9);
}

static void
test_empty_and_invalid(void)
{
    load();
    CHECK_NEAR(en(""), 0.0, 0.0);
    CHECK_NEAR(fr("   \t  "), 0.0, 0.0);
    CHECK_NEAR(au("\r\n"), 0.0, 0.0);
    CHECK_NEAR(tocsin_sentiment_score(S, NULL, 0, TOCSIN_LANG_EN), 0.0, 0.0);
    /* Not NUL-terminated: only len bytes are read. */
    char buf[4] = {'b', 'a', 'd', 'x'};
    CHECK(tocsin_sentiment_score(S, buf, 3, TOCSIN_LANG_EN) < -0.05);
    /* Invalid UTF-8: truncated sequences, stray continuation bytes,
     * overlongs, surrogates; must not crash and stays in range. */
    static const char *bad[] = {"\xC3",
                                "good \xE2\x82",
                                "\x80\x80 bad",
                                "\xC0\xAF\xED\xA0\x80 great",
                                "\xF4\x90\x80\x80",
                                "&#",
                                "&#x;",
                                "&amp",
                                "n'",
                                "qu'",
                                "l'-",
                                "#",
                                "--- ''' ---"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = au(bad[i]);
        CHECK(v >= -1.0 && v <= 1.0);
    }
    CHECK(en("good \xC3 day") > 0.05);
    /* Random bytes. */
    unsigned x = 12345;
    char rnd[300];
    for (int k = 0; k < 2000; k++) {
        for (size_t i = 0; i < sizeof rnd; i++) {
            x = x * 1103515245u + 12345u;
            rnd[i] = (char)(x >> 16);
        }
        double v = tocsin_sentiment_score(S, rnd, (size_t)(x % sizeof rnd),
                                          (enum tocsin_lang)(k % 3));
        CHECK(v >= -1.0 && v <= 1.0);
    }
}

static void
test_long_text(void)
{
    load();
    /* Longer than one token block: scored whole, stays in range. */
    size_t n = 0, cap = 20000;
    char *t = malloc(cap);
    REQUIRE(t != NULL);
    for (int i = 0; i < 1500 && n + 16 < cap; i++) {
        memcpy(t + n, "the table ", 10);
        n += 10;
    }
    memcpy(t + n, "is horrible", 11);
    n += 11;
    double v = tocsin_sentiment_score(S, t, n, TOCSIN_LANG_EN);
    CHECK(v < -0.05 && v >= -1.0);
    /* A long run without spaces. */
    memset(t, 'a', cap);
    v = tocsin_sentiment_score(S, t, cap, TOCSIN_LANG_AUTO);
    CHECK_NEAR(v, 0.0, 1e-9);
    free(t);
}

static void
test_range(void)
{
    load();
    double v = en("GOOD GREAT LOVE AMAZING EXCELLENT BEST WONDERFUL!!!!!!!");
    CHECK(v <= 1.0 && v > 0.9);
    v = en("worst horrible terrible awful hate disgusting!!!!");
    CHECK(v >= -1.0 && v < -0.9);
}

static void
test_lang_parse(void)
{
    CHECK(tocsin_lang_parse("en") == TOCSIN_LANG_EN);
    CHECK(tocsin_lang_parse("EN") == TOCSIN_LANG_EN);
    CHECK(tocsin_lang_parse("en-US") == TOCSIN_LANG_EN);
    CHECK(tocsin_lang_parse("en_GB.UTF-8") == TOCSIN_LANG_EN);
    CHECK(tocsin_lang_parse("english") == TOCSIN_LANG_EN);
    CHECK(tocsin_lang_parse("fr") == TOCSIN_LANG_FR);
    CHECK(tocsin_lang_parse("fr_FR") == TOCSIN_LANG_FR);
    CHECK(tocsin_lang_parse("FR-ca") == TOCSIN_LANG_FR);
    CHECK(tocsin_lang_parse("french") == TOCSIN_LANG_FR);
    CHECK(tocsin_lang_parse("auto") == TOCSIN_LANG_AUTO);
    CHECK(tocsin_lang_parse("de") == TOCSIN_LANG_AUTO);
    CHECK(tocsin_lang_parse("e") == TOCSIN_LANG_AUTO);
    CHECK(tocsin_lang_parse("enx") == TOCSIN_LANG_AUTO);
    CHECK(tocsin_lang_parse("") == TOCSIN_LANG_AUTO);
    CHECK(tocsin_lang_parse(NULL) == TOCSIN_LANG_AUTO);
    CHECK_STR(tocsin_lang_name(TOCSIN_LANG_FR), "fr");
    CHECK_STR(tocsin_lang_name(TOCSIN_LANG_AUTO), "auto");
}

static void
test_missing_lexdir(void)
{
    struct tocsin_sentiment *s = (struct tocsin_sentiment *)&s;
    struct tocsin_sentiment *const before = s;
    CHECK_ERR(tocsin_sentiment_new(&s, "/nonexistent/tocsin-lexicons"),
              TOCSIN_ENOENT);
    CHECK(s == before); /* out untouched on failure */
    CHECK_ERR(tocsin_sentiment_new(&s, NULL), TOCSIN_EINVAL);
    tocsin_sentiment_free(NULL);
    FILE *in = tmpfile(), *out = tmpfile();
    REQUIRE(in && out);
    CHECK(tocsin_score_text_run("/nonexistent/tocsin-lexicons", TOCSIN_LANG_EN,
                                in, out) != 0);
    fclose(in);
    fclose(out);
}

static void
test_score_text_run(void)
{
    FILE *in = tmpfile(), *out = tmpfile();
    REQUIRE(in && out);
    fputs("good\n\nbad\r\nc'est nul\nneutral table", in);
    rewind(in);
    CHECK(tocsin_score_text_run(TOCSIN_SOURCE_DATADIR "/lexicons",
                                TOCSIN_LANG_AUTO, in, out) == 0);
    rewind(out);
    char line[64];
    double v[5];
    int n = 0;
    while (n < 5 && fgets(line, sizeof line, out))
        v[n++] = strtod(line, NULL);
    CHECK(fgets(line, sizeof line, out) == NULL);
    REQUIRE(n == 5);
    CHECK(v[0] > 0.05);
    CHECK_NEAR(v[1], 0.0, 0.0);
    CHECK(v[2] < -0.05);
    CHECK(v[3] < -0.05);
    CHECK_NEAR(v[4], 0.0, 0.0);
    fclose(in);
    fclose(out);
}

/* Rules taken over from vaderSentiment 3.3.2, one check (or a few) per
 * rule; each fails without its rule. */
static void
test_vader_lexicon_duplicates(void)
{
    load();
    /* VADER's lexicon lists "lol" twice (2.9 among the acronyms, 1.8 in
     * the word list); VADER reads it into a dict, so 1.8 counts. */
    CHECK_NEAR(en("lol"), 1.8 / sqrt(1.8 * 1.8 + 15.0), 1e-4);
    CHECK_NEAR(en("ok"), 1.2 / sqrt(1.2 * 1.2 + 15.0), 1e-4);
    /* Emoticons keep their emoticon-section value: "D:" is dismay. */
    CHECK(en("D:") < -0.05);
}

static void
test_vader_degree_and_least(void)
{
    load();
    /* "so" or "this" right before a word three words after a negator
     * reads as a degree, not a negation: x1.25, as VADER does. */
    CHECK(en("I haven't been this sad in years") < -0.05);
    CHECK(en("they haven't been this happy in years") > 0.05);
    /* Two words back, "not so happy" stays negated. */
    CHECK(en("I am not so happy") < -0.05);
    /* "the least helpful" negates; "the very least" does not. */
    CHECK(en("the least helpful") < -0.05);
    CHECK(en("the very least helpful") > 0.05);
}

static void
test_vader_two_word_dampeners(void)
{
    load();
    CHECK(en("the food was kind of good") < en("the food was good") - 0.01);
    CHECK(en("the food was kind of bad") > en("the food was bad") + 0.01);
    CHECK(en("it was sort of good") < en("it was good") - 0.01);
    CHECK(en("it was just enough good") < en("it was good") - 0.01);
    CHECK(en("it was kind of good") > 0.05);
}

static void
test_vader_no_x_or_y(void)
{
    load();
    /* "no" negates across "or": "no sleep or fun" has no fun. */
    CHECK(en("no sleep or fun") < -0.05);
    CHECK(en("no sleep and fun") > en("no sleep or fun") + 0.1);
}

static void
test_without_doubt(void)
{
    load();
    /* "without (a) doubt" affirms what follows (VADER); so does French
     * "sans doute". */
    CHECK(en("without doubt the best") > 0.05);
    CHECK(en("without a doubt the best day") > 0.05);
    CHECK(en("without the best") < -0.05);
    CHECK(fr("sans doute le meilleur") > 0.05);
}

static void
test_french_ne_que(void)
{
    load();
    /* "ne ... que" means "only", not "not". */
    CHECK(fr("il n'y a qu'un problème") < -0.05);
    CHECK(fr("il n'y a que des problèmes") < -0.05);
    CHECK(fr("il ne fait que pleurer") < -0.05);
    CHECK(fr("il ne fait pas pleurer") > 0.05);
    CHECK(fr("il n'y a pas de problème") > 0.05);
}

static void
test_french_jamais_aussi(void)
{
    load();
    /* VADER's "never so good" in French: "jamais ... aussi/si" is a
     * degree, not a negation. */
    CHECK(fr("je n'ai jamais été aussi heureux") > 0.05);
    CHECK(fr("je ne suis jamais si content") > 0.05);
    CHECK(fr("je ne suis jamais content") < -0.05);
}

static void
test_laughter_not_negated(void)
{
    load();
    /* Laughter says how the author feels about the whole text, like an
     * emoticon: a negator before it does not turn it around. */
    CHECK(en("you can never leave lmao") > 0.05);
    CHECK(en("he didn't call haha") > 0.05);
    CHECK(fr("il n'a pas appelé mdr") > 0.05);
    /* nor does a booster or ALL CAPS make it stronger. */
    CHECK_NEAR(en("really lol"), en("lol"), 1e-9);
}

static void
test_free(void)
{
    tocsin_sentiment_free(S);
    S = NULL;
}

TOCSIN_TESTS(TOCSIN_TEST(test_basic_polarity), TOCSIN_TEST(test_negation),
             TOCSIN_TEST(test_boosters), TOCSIN_TEST(test_caps_and_exclamation),
             TOCSIN_TEST(test_but_mais), TOCSIN_TEST(test_emoji_emoticons),
             TOCSIN_TEST(test_tweet_features),
             TOCSIN_TEST(test_french_elision_accents),
             TOCSIN_TEST(test_language_detection), TOCSIN_TEST(test_idioms),
             TOCSIN_TEST(test_scope_rules), TOCSIN_TEST(test_like_and_names),
             TOCSIN_TEST(test_french_forms),
             TOCSIN_TEST(test_empty_and_invalid), TOCSIN_TEST(test_long_text),
             TOCSIN_TEST(test_range), TOCSIN_TEST(test_lang_parse),
             TOCSIN_TEST(test_missing_lexdir), TOCSIN_TEST(test_score_text_run),
             TOCSIN_TEST(test_vader_lexicon_duplicates),
             TOCSIN_TEST(test_vader_degree_and_least),
             TOCSIN_TEST(test_vader_two_word_dampeners),
             TOCSIN_TEST(test_vader_no_x_or_y),
             TOCSIN_TEST(test_without_doubt), TOCSIN_TEST(test_french_ne_que),
             TOCSIN_TEST(test_french_jamais_aussi),
             TOCSIN_TEST(test_laughter_not_negated),
             TOCSIN_TEST(test_free));
