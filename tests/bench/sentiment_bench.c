/*
 * sentiment_bench.c: throughput of tocsin_sentiment_score() on generated
 * tweet-like texts, and a --score-text mode for the evaluation script.
 *
 *   sentiment_bench [-n N] [LEXDIR]            benchmark (default 200000)
 *   sentiment_bench --score-text [--lang L] [LEXDIR]
 *                                              stdin lines -> scores
 *
 * The texts are built from lexicon words, filler words, emoji, hashtags,
 * mentions and URLs with a fixed-seed PRNG; no evaluation data is used.
 * Speeds are thread CPU time, best of 5 runs, and are also reported
 * against a plain byte scan (counting spaces) over the same texts in the
 * same run, since machines are noisy.
 * Single-threaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tocsin/sentiment.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* CPU time of this thread: "per core" speed, not disturbed by other
 * processes taking the core away (the machine may be shared). */
static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Read the first column of a lexicon ("word<TAB>..." or "word->...");
 * keeps plain words only. */
static char **
read_words(const char *path, const char *sep, size_t *count)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 1024, n = 0;
    char **w = malloc(cap * sizeof *w);
    char line[512];
    while (w && fgets(line, sizeof line, f)) {
        char *p = strstr(line, sep);
        if (!p || p == line)
            continue;
        *p = '\0';
        if (strchr(line, ' ') != NULL)
            continue;
        if (!((line[0] >= 'a' && line[0] <= 'z') ||
              (unsigned char)line[0] >= 0xC3))
            continue;
        if (n == cap) {
            char **nw = realloc(w, cap * 2 * sizeof *w);
            if (!nw)
                break;
            w = nw;
            cap *= 2;
        }
        w[n++] = strdup(line);
    }
    fclose(f);
    *count = n;
    return w;
}

static const char *const filler_en[] = {
    "the",   "a",     "this",   "is",    "was",   "my",      "i",
    "you",   "we",    "to",     "of",    "and",   "it",      "with",
    "for",   "on",    "today",  "new",   "phone", "app",     "service",
    "again", "just",  "really", "not",   "very",  "but",     "so",
    "don't", "never", "update", "store", "order", "customer"};
static const char *const filler_fr[] = {
    "le",          "la",      "les",      "de",     "des",      "un",
    "une",         "et",      "est",      "je",     "c'est",    "pas",
    "ne",          "n'est",   "très",     "mais",   "trop",     "j'ai",
    "pour",        "avec",    "service",  "client", "commande", "encore",
    "aujourd'hui", "l'appli", "vraiment", "jamais", "ça",       "sur"};
static const char *const extras[] = {"😂",
                                     "❤️",
                                     "😡",
                                     "👍",
                                     "😭",
                                     "🔥",
                                     ":)",
                                     ":(",
                                     "!!!",
                                     "#fail",
                                     "#love",
                                     "@support",
                                     "https://t.co/abc123",
                                     "&amp;",
                                     "LOL",
                                     "sooo",
                                     "TERRIBLE",
                                     "?",
                                     "!"};

#define N_EN (sizeof filler_en / sizeof filler_en[0])
#define N_FR (sizeof filler_fr / sizeof filler_fr[0])
#define N_EX (sizeof extras / sizeof extras[0])

static void
gen(char *buf, size_t *off, size_t ntexts, char **wen, size_t nwen, char **wfr,
    size_t nwfr)
{
    size_t o = 0;
    for (size_t t = 0; t < ntexts; t++) {
        off[t] = o;
        int fr = (rnd() % 3) == 0;
        int ntok = 10 + (int)(rnd() % 14);
        for (int k = 0; k < ntok; k++) {
            const char *w;
            uint32_t r = rnd() % 100;
            if (r < 18)
                w = fr ? wfr[rnd() % nwfr] : wen[rnd() % nwen];
            else if (r < 28)
                w = extras[rnd() % N_EX];
            else
                w = fr ? filler_fr[rnd() % N_FR] : filler_en[rnd() % N_EN];
            size_t l = strlen(w);
            if (o + l + 2 > (size_t)ntexts * 256)
                break;
            memcpy(buf + o, w, l);
            o += l;
            buf[o++] = ' ';
        }
        buf[o++] = '\n';
    }
    off[ntexts] = o;
}

static int
bench(const char *lexdir, size_t ntexts)
{
    char path[4096];
    size_t nwen = 0, nwfr = 0;
    snprintf(path, sizeof path, "%s/en/vader_lexicon.txt", lexdir);
    char **wen = read_words(path, "\t", &nwen);
    snprintf(path, sizeof path, "%s/fr/vader_fr_lexicon.txt", lexdir);
    char **wfr = read_words(path, "->", &nwfr);
    struct tocsin_sentiment *s = NULL;
    if (!wen || !wfr || nwen == 0 || nwfr == 0 ||
        tocsin_sentiment_new(&s, lexdir) != TOCSIN_OK) {
        fprintf(stderr, "cannot load lexicons from %s\n", lexdir);
        return 1;
    }
    char *buf = malloc(ntexts * 256);
    size_t *off = malloc((ntexts + 1) * sizeof *off);
    if (!buf || !off)
        return 1;
    gen(buf, off, ntexts, wen, nwen, wfr, nwfr);
    size_t bytes = off[ntexts];
    printf("%zu texts, %.1f bytes/text on average\n", ntexts,
           (double)bytes / (double)ntexts);

    /* Baseline: count spaces, text by text. */
    double best_base = 1e9;
    volatile size_t sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        size_t spaces = 0;
        for (size_t t = 0; t < ntexts; t++) {
            const char *p = buf + off[t];
            size_t n = off[t + 1] - off[t];
            for (size_t i = 0; i < n; i++)
                spaces += p[i] == ' ';
        }
        sink += spaces;
        double dt = now() - t0;
        if (dt < best_base)
            best_base = dt;
    }
    double base_rate = (double)ntexts / best_base;
    printf("%-22s %12.0f texts/s\n", "baseline (count ' ')", base_rate);

    static const enum tocsin_lang langs[] = {TOCSIN_LANG_EN, TOCSIN_LANG_FR,
                                             TOCSIN_LANG_AUTO};
    volatile double dsink = 0;
    for (size_t li = 0; li < 3; li++) {
        double best = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now(), acc = 0;
            for (size_t t = 0; t < ntexts; t++)
                acc += tocsin_sentiment_score(
                    s, buf + off[t], off[t + 1] - off[t] - 1, langs[li]);
            dsink += acc;
            double dt = now() - t0;
            if (dt < best)
                best = dt;
        }
        double rate = (double)ntexts / best;
        printf("score lang=%-11s %12.0f texts/s  %6.1f MB/s  ratio to "
               "baseline %.3f\n",
               tocsin_lang_name(langs[li]), rate, (double)bytes / best / 1e6,
               rate / base_rate);
    }
    (void)sink;
    (void)dsink;
    tocsin_sentiment_free(s);
    free(buf);
    free(off);
    for (size_t i = 0; i < nwen; i++)
        free(wen[i]);
    for (size_t i = 0; i < nwfr; i++)
        free(wfr[i]);
    free(wen);
    free(wfr);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *lexdir = TOCSIN_SOURCE_DATADIR "/lexicons";
    enum tocsin_lang lang = TOCSIN_LANG_AUTO;
    int score_text = 0;
    size_t ntexts = 200000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--score-text") == 0)
            score_text = 1;
        else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
            lang = tocsin_lang_parse(argv[++i]);
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            ntexts = strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "usage: %s [-n N] [--score-text [--lang en|fr|auto]] "
                    "[LEXDIR]\n",
                    argv[0]);
            return 2;
        } else
            lexdir = argv[i];
    }
    if (score_text)
        return tocsin_score_text_run(lexdir, lang, stdin, stdout);
    if (ntexts == 0)
        ntexts = 1;
    return bench(lexdir, ntexts);
}
