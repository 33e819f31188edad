/*
 * mention_test.c: decoding mentions from flat fields and from JSON, the
 * reasons given for bad entries, and the JSON reader against jansson.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/mention.h"
#include "tocsin_test.h"

static const struct tocsin_mention_limits lim = {65536, 16384};
static struct tocsin_mention_scratch sc;
static char reason[256];

static tocsin_err
dj(struct tocsin_mention *m, const char *json)
{
    return tocsin_mention_decode_json(m, json, strlen(json), 42, &lim, &sc,
                                      reason, sizeof reason);
}

static int
str_is(struct tocsin_str s, const char *want)
{
    return s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void
test_json_and_flat_decode_the_same(void)
{
    const char *json =
        "{\"id\":\"p1\",\"ts\":1700000000123,\"topic\":\"AirNova\","
        "\"source\":\"mastodon\",\"lang\":\"fr\",\"author\":\"@zoe\","
        "\"followers\":1200,\"text\":\"vol annul\\u00e9\",\"url\":\"https://"
        "x.example/1\",\"sentiment\":-0.5,\"count\":3,\"negative\":2,"
        "\"extra\":{\"nested\":[1,2,{\"a\":null}]}}";
    struct tocsin_mention a, b;
    REQUIRE(dj(&a, json) == TOCSIN_OK);
    static const char *nv[][2] = {
        {"id", "p1"},
        {"ts", "1700000000123"},
        {"topic", "AirNova"},
        {"source", "mastodon"},
        {"lang", "fr"},
        {"author", "@zoe"},
        {"followers", "1200"},
        {"text", "vol annul\xc3\xa9"},
        {"url", "https://x.example/1"},
        {"sentiment", "-0.5"},
        {"count", "3"},
        {"negative", "2"},
        {"extra", "ignored"},
    };
    size_t n = sizeof nv / sizeof nv[0];
    struct tocsin_str names[16], values[16];
    for (size_t i = 0; i < n; i++) {
        names[i] = (struct tocsin_str){nv[i][0], strlen(nv[i][0])};
        values[i] = (struct tocsin_str){nv[i][1], strlen(nv[i][1])};
    }
    REQUIRE(tocsin_mention_decode_fields(&b, names, values, n, 42, &lim, &sc,
                                         reason, sizeof reason) == TOCSIN_OK);
    const struct tocsin_mention *ms[2] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        const struct tocsin_mention *m = ms[k];
        CHECK(m->ntopics == 1 && str_is(m->topics[0], "AirNova"));
        CHECK(m->ts_ms == 1700000000123);
        CHECK(str_is(m->id, "p1"));
        CHECK(str_is(m->text, "vol annul\xc3\xa9"));
        CHECK(str_is(m->lang, "fr"));
        CHECK(str_is(m->source, "mastodon"));
        CHECK(str_is(m->author, "@zoe"));
        CHECK(str_is(m->url, "https://x.example/1"));
        CHECK(m->followers == 1200);
        CHECK(m->has_sentiment && m->sentiment == -0.5);
        CHECK(m->count == 3);
        CHECK(m->has_negative && m->negative == 2);
    }
}

static void
test_json_strings_borrowed_or_unescaped(void)
{
    const char *json = "{\"to\\u0070ic\":\"plain\",\"text\":\"a\\\"b\\\\c\\/"
                       "\\n\\t\\u00e9\\ud83d\\ude00 \xe2\x82\xac\","
                       "\"author\":\"caf\xc3\xa9\"}";
    struct tocsin_mention m;
    REQUIRE(dj(&m, json) == TOCSIN_OK);
    /* No escape: the bytes of the input itself. */
    CHECK(str_is(m.topics[0], "plain"));
    CHECK(m.topics[0].p > json && m.topics[0].p < json + strlen(json));
    CHECK(str_is(m.author, "caf\xc3\xa9"));
    CHECK(m.author.p > json && m.author.p < json + strlen(json));
    /* Escapes: unescaped into the scratch. */
    CHECK(str_is(m.text, "a\"b\\c/\n\t\xc3\xa9\xf0\x9f\x98\x80 \xe2\x82\xac"));
    CHECK(m.text.p >= sc.buf && m.text.p < sc.buf + sc.cap);
    CHECK(m.ts_ms == 42); /* the default */
    CHECK(m.followers == -1 && !m.has_sentiment && m.count == 1);
}

static void
test_topics_json_array_and_flat_list(void)
{
    struct tocsin_mention m;
    REQUIRE(dj(&m, "{\"topics\":[\"a\",\"b\",\"a\"],\"topic\":\"c\"}") ==
            TOCSIN_OK);
    CHECK(m.ntopics == 3 && str_is(m.topics[0], "a") &&
          str_is(m.topics[1], "b") && str_is(m.topics[2], "c"));
    struct tocsin_str names[1] = {{"topics", 6}}, values[1] = {{"x,y", 3}};
    REQUIRE(tocsin_mention_decode_fields(&m, names, values, 1, 7, &lim, &sc,
                                         reason, sizeof reason) == TOCSIN_OK);
    CHECK(m.ntopics == 2 && str_is(m.topics[1], "y") && m.ts_ms == 7);
}

/* Every reason a JSON entry can be refused with. */
static void
test_json_reasons(void)
{
    static const char *cases[][2] = {
        {"{not json", "not JSON: "},
        {"", "not JSON: '[' or '{' expected at column 1"},
        {"\"str\"", "not JSON: '[' or '{' expected"},
        {"[1,2]", "not a JSON object but an array"},
        {"{\"text\":\"no topic\"}", "missing topic"},
        {"{\"topic\":\"x\",\"ts\":\"yesterday\"}",
         "ts: cannot parse \"yesterday\""},
        {"{\"topic\":\"x\",\"ts\":-5}", "ts: -5 is out of range"},
        {"{\"topic\":\"x\",\"ts\":true}", "ts: expected epoch milliseconds or "
                                          "an RFC 3339 string, got a boolean"},
        {"{\"topic\":\"x\",\"sentiment\":7}",
         "sentiment: 7 is outside [-1, 1]"},
        {"{\"topic\":\"x\",\"sentiment\":\"-1\"}",
         "sentiment: expected a number, got a string"},
        {"{\"topic\":\"x\",\"followers\":\"many\"}",
         "followers: expected an integer, got a string"},
        {"{\"topic\":\"x\",\"followers\":1.5}",
         "followers: expected an integer, got a number"},
        {"{\"topic\":\"x\",\"followers\":-1}", "followers: -1 is negative"},
        {"{\"topic\":\"x\",\"count\":0}",
         "count: 0 is outside [1, 1000000000]"},
        {"{\"topic\":\"x\",\"count\":2,\"negative\":3}",
         "negative: 3 is more than count 2"},
        {"{\"topics\":\"x\"}",
         "topics: expected an array of strings, got a string"},
        {"{\"topics\":[\"a\",1]}",
         "topics[1]: expected a string, got an integer"},
        {"{\"topics\":[\"a\",[]]}",
         "topics[1]: expected a string, got an array"},
        {"{\"topic\":\"\"}", "topic: empty"},
        {"{\"topic\":{}}", "topic: expected a string, got an object"},
        {"{\"topic\":\"x\",\"text\":5}",
         "text: expected a string, got an integer"},
        {"{\"topic\":\"x\",\"topic\":\"y\"}", "not JSON: duplicate object key"},
        {"{\"topic\":\"x\",\"a\":1,\"a\":2}", "not JSON: duplicate object key"},
        {"{\"topic\":\"x\",\"t\\u0065xt\":\"a\",\"text\":\"b\"}",
         "not JSON: duplicate object key"},
        {"{\"topic\":\"x\",\"text\":\"a\\u0000b\"}", "not JSON: "},
        {"{\"topic\":\"x\",\"text\":\"\xff\"}", "not JSON: invalid UTF-8"},
        {"{\"topic\":\"x\",\"n\":123456789012345678901}",
         "not JSON: too big integer"},
        {"{\"topic\":\"x\",\"n\":1e999}", "not JSON: real number overflow"},
        /* The syntax error wins over an attribute's error before it. */
        {"{\"sentiment\":7,\"topic\":\"x\",}", "not JSON: "},
        {"{\"topic\":\"x\"} x", "not JSON: end of file expected at column 15"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tocsin_mention m;
        tocsin_err e = dj(&m, cases[i][0]);
        if (e != TOCSIN_EINVAL ||
            strncmp(reason, cases[i][1], strlen(cases[i][1])) != 0) {
            fprintf(stderr, "input %s: got %s \"%s\", wanted \"%s\"\n",
                    cases[i][0], tocsin_strerror(e), reason, cases[i][1]);
            CHECK(0);
        }
    }
    /* Over-long fields and entries. */
    char big[20100];
    memset(big, 'y', sizeof big);
    memcpy(big, "{\"topic\":\"x\",\"text\":\"", 21);
    memcpy(big + 21 + 20000, "\"}", 3);
    struct tocsin_mention m;
    CHECK(dj(&m, big) == TOCSIN_EINVAL);
    CHECK_STR(reason, "text: 20000 bytes is over the limit 16384");
    struct tocsin_mention_limits small = {64, 16};
    CHECK(tocsin_mention_decode_json(&m, big, strlen(big), 0, &small, &sc,
                                     reason, sizeof reason) == TOCSIN_EINVAL);
    CHECK_STR(reason, "entry: 20023 bytes is over the limit 64");
}

/* Whether jansson, as the daemon used it, reads text as a JSON object. */
static int
jansson_reads(const char *text, size_t n)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
    int ok = doc && json_is_object(doc);
    json_decref(doc);
    return ok;
}

static void
check_same_as_jansson(const char *text, size_t n)
{
    struct tocsin_mention m;
    tocsin_err e = tocsin_mention_decode_json(&m, text, n, 1, &lim, &sc, reason,
                                              sizeof reason);
    int ours =
        !(e == TOCSIN_EINVAL && (strncmp(reason, "not JSON", 8) == 0 ||
                                 strncmp(reason, "not a JSON", 10) == 0));
    if (ours != jansson_reads(text, n)) {
        fprintf(stderr, "input %.*s: jansson %s it, we %s (%s)\n",
                (int)(n > 200 ? 200 : n), text, ours ? "refuses" : "reads",
                ours ? "read" : "refuse", reason);
        CHECK(0);
    }
}

/* The JSON reader accepts and refuses what jansson does. */
static void
test_json_syntax_same_as_jansson(void)
{
    static const char *values[] = {
        "0",
        "-0",
        "1",
        "-1",
        "01",
        "1.",
        ".5",
        "1.5",
        "-1.5e3",
        "1e",
        "1e+",
        "1E-2",
        "+1",
        "--1",
        "0x10",
        "1.5.",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "1e308",
        "1e309",
        "1e-400",
        "true",
        "false",
        "null",
        "tru",
        "nul",
        "True",
        "NaN",
        "Infinity",
        "\"\"",
        "\"a\"",
        "\"\\\"\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u00e9\"",
        "\"\\uD83D\\uDE00\"",
        "\"\\uD83D\"",
        "\"\\uDE00\"",
        "\"\\uD83Dx\"",
        "\"\\u0000\"",
        "\"a\tb\"",
        "\"a\x01\"",
        "\"\xc3\xa9\"",
        "\"\xc3\"",
        "\"\xe2\x82\"",
        "\"\xed\xa0\x80\"",
        "\"\xc0\xaf\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xf0\x9f\x98\x80\"",
        "[]",
        "{}",
        "[1,]",
        "[,1]",
        "[1 2]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{1:2}",
        "{\"a\":1,\"a\":2}",
        "[[[]]]",
        "[{\"a\":[{}]}]",
        "[\"a\", {\"b\": [null, true, 1.0e-2]}]",
        "\"unterminated",
        "[",
        "{\"a\"",
        " [ 1 , 2 ] ",
        "[1]]",
        "{}}",
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char doc[256];
        int n =
            snprintf(doc, sizeof doc, "{\"topic\":\"t\",\"x\":%s}", values[i]);
        check_same_as_jansson(doc, (size_t)n);
        n = snprintf(doc, sizeof doc, "%s", values[i]);
        check_same_as_jansson(doc, (size_t)n);
    }
    static const char *docs[] = {
        " {\"topic\":\"t\"} ",
        "{\"topic\":\"t\"}\n",
        "{\"topic\":\"t\"}}",
        "{\"topic\":\"t\"",
        "{\"topic\"\n:\r\"t\"\t}",
        "{,\"topic\":\"t\"}",
        "\xef\xbb\xbf{\"topic\":\"t\"}",
        "{\"topic\":\"t\"}\0",
        "{\"topic\":\"t\",\"x\":[1,2,3],\"y\":{\"z\":{}}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        check_same_as_jansson(docs[i], strlen(docs[i]));
    check_same_as_jansson("{\"topic\":\"t\"}\0", 15); /* a NUL after it */
    /* The depth limit: jansson reads 2048 levels, not 2049. */
    for (int depth = 2046; depth <= 2050; depth++) {
        size_t n = 0;
        char *doc = malloc(30 + 2 * (size_t)depth);
        REQUIRE(doc);
        n += (size_t)sprintf(doc, "{\"topic\":\"t\",\"x\":");
        for (int k = 1; k < depth; k++)
            doc[n++] = '[';
        for (int k = 1; k < depth; k++)
            doc[n++] = ']';
        doc[n++] = '}';
        check_same_as_jansson(doc, n);
        /* And the same depth as a top-level array. */
        n = 0;
        for (int k = 0; k < depth; k++)
            doc[n++] = '[';
        for (int k = 0; k < depth; k++)
            doc[n++] = ']';
        check_same_as_jansson(doc, n);
        free(doc);
    }
}

static void
test_numbers_for_attributes(void)
{
    struct tocsin_mention m;
    REQUIRE(dj(&m, "{\"topic\":\"x\",\"ts\":1700000000000.9,\"followers\":1e3,"
                   "\"sentiment\":-1,\"count\":2.0}") == TOCSIN_OK);
    CHECK(m.ts_ms == 1700000000000);
    CHECK(m.followers == 1000);
    CHECK(m.has_sentiment && m.sentiment == -1.0);
    CHECK(m.count == 2);
    REQUIRE(dj(&m, "{\"topic\":\"x\",\"ts\":\"2026-11-22T07:45:00.5+01:00\","
                   "\"sentiment\":null,\"text\":null}") == TOCSIN_OK);
    CHECK(m.ts_ms == 1795329900500);
    CHECK(!m.has_sentiment && m.text.n == 0);
}

static void
test_flat_reasons(void)
{
    static const char *cases[][3] = {
        {"topic", "", "topic: empty"},
        {"sentiment", "bad", "sentiment: expected a number, got \"bad\""},
        {"followers", "1.5", "followers: expected an integer, got \"1.5\""},
        {"topics", "[\"a\"]", "topics: a JSON array needs the json field"},
        {"ts", "soon", "ts: cannot parse \"soon\""},
        {"text", "\xff", "text: invalid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tocsin_str names[2] = {{"topic", 5},
                                      {cases[i][0], strlen(cases[i][0])}};
        struct tocsin_str values[2] = {{"t", 1},
                                       {cases[i][1], strlen(cases[i][1])}};
        struct tocsin_mention m;
        CHECK(tocsin_mention_decode_fields(&m, names, values, 2, 0, &lim, &sc,
                                           reason,
                                           sizeof reason) == TOCSIN_EINVAL);
        CHECK_STR(reason, cases[i][2]);
    }
    struct tocsin_str names[2] = {{"json", 4}, {"topic", 5}};
    struct tocsin_str values[2] = {{"{}", 2}, {"t", 1}};
    struct tocsin_mention m;
    CHECK(tocsin_mention_decode_fields(&m, names, values, 2, 0, &lim, &sc,
                                       reason, sizeof reason) == TOCSIN_EINVAL);
    CHECK_STR(reason, "json: must be the only field of the entry");
}

/* Flat numbers read as strtod and strtoll read them. */
static void
test_flat_numbers_as_strtod(void)
{
    static const char *vals[] = {
        "0",
        "-0",
        "1",
        "-1",
        "0.5",
        "-0.05",
        "0.1",
        "-0.72",
        "0.333333",
        "1.000",
        "007",
        "0.123456789012345",
        "-0.1234567890123456",
        "1.",
        ".5",
        "1e-1",
        "+0.5",
        " 0.5",
        "0x0.8",
        "0.30000000000000004",
        "-0.999999999999999",
    };
    char buf[32];
    for (size_t i = 0; i < sizeof vals / sizeof vals[0] + 2000; i++) {
        const char *v = buf;
        if (i < sizeof vals / sizeof vals[0])
            v = vals[i];
        else
            snprintf(buf, sizeof buf, "%s0.%0*u", i % 2 ? "-" : "",
                     (int)(1 + i % 15),
                     (unsigned)(i * 2654435761u) % 1000000000u);
        struct tocsin_str names[2] = {{"topic", 5}, {"sentiment", 9}};
        struct tocsin_str values[2] = {{"t", 1}, {v, strlen(v)}};
        struct tocsin_mention m;
        double want = strtod(v, NULL);
        tocsin_err e = tocsin_mention_decode_fields(
            &m, names, values, 2, 0, &lim, &sc, reason, sizeof reason);
        if (want < -1 || want > 1)
            continue;
        if (e != TOCSIN_OK || memcmp(&m.sentiment, &want, sizeof want) != 0) {
            fprintf(stderr, "sentiment \"%s\": got %.17g, strtod %.17g\n", v,
                    e ? -9.0 : m.sentiment, want);
            CHECK(0);
        }
    }
    static const char *ints[][2] = {
        {"0", "0"},
        {"42", "42"},
        {"999999999999999999", "999999999999999999"},
        {"4611686018427387904", "4611686018427387904"}, /* 2^62: the max */
        {"007", "7"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        struct tocsin_str names[2] = {{"topic", 5}, {"followers", 9}};
        struct tocsin_str values[2] = {{"t", 1},
                                       {ints[i][0], strlen(ints[i][0])}};
        struct tocsin_mention m;
        CHECK_OK(tocsin_mention_decode_fields(&m, names, values, 2, 0, &lim,
                                              &sc, reason, sizeof reason));
        CHECK(m.followers == strtoll(ints[i][1], NULL, 10));
    }
    static const char *bad[] = {"-", "", "1.5", "4611686018427387905", "1x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tocsin_str names[2] = {{"topic", 5}, {"followers", 9}};
        struct tocsin_str values[2] = {{"t", 1}, {bad[i], strlen(bad[i])}};
        struct tocsin_mention m;
        CHECK(tocsin_mention_decode_fields(&m, names, values, 2, 0, &lim, &sc,
                                           reason,
                                           sizeof reason) == TOCSIN_EINVAL);
    }
}

static void
test_done(void)
{
    tocsin_mention_scratch_fini(&sc);
    tocsin_mention_scratch_fini(&sc); /* twice is fine */
    CHECK(sc.buf == NULL && sc.cap == 0);
}

TOCSIN_TESTS(TOCSIN_TEST(test_json_and_flat_decode_the_same),
             TOCSIN_TEST(test_json_strings_borrowed_or_unescaped),
             TOCSIN_TEST(test_topics_json_array_and_flat_list),
             TOCSIN_TEST(test_json_reasons),
             TOCSIN_TEST(test_json_syntax_same_as_jansson),
             TOCSIN_TEST(test_numbers_for_attributes),
             TOCSIN_TEST(test_flat_reasons),
             TOCSIN_TEST(test_flat_numbers_as_strtod), TOCSIN_TEST(test_done));
