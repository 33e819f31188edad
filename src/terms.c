/*
 * terms.c: emerging terms (see terms.h).
 *
 * Owns a topic's usual-term sketch and, while hot, its hot-window table
 * (Space-Saving: a full table replaces its rarest entry).  Runs on the
 * engine's thread.
 */
#include "tocsin/terms.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ROWS      2
#define COLS      64
#define HOT_MAX   32
#define DECAY_AT  16384u /* halve the sketch past this many terms */
#define MIN_COUNT 3
#define VERSION   1

struct hot_term {
    uint32_t hash;
    uint32_t count;
    char text[TOCSIN_TERM_BYTES + 1];
};

struct tocsin_terms {
    uint16_t cm[ROWS][COLS];
    uint32_t base_total;
    uint32_t hot_total;
    uint32_t nhot;
    struct hot_term *hot; /* HOT_MAX entries while hot, else NULL */
    struct hot_term ranked[TOCSIN_TERMS_MAX]; /* the last top() answer */
};

static const char *const stop_words[] = {
    /* English */
    "the", "and", "for", "are", "but", "not", "you", "all", "any", "can",
    "had", "her", "was", "one", "our", "out", "get", "has", "him", "his",
    "how", "now", "see", "two", "who", "did", "its", "let", "put", "say",
    "she", "too", "use", "that", "with", "have", "this", "will", "your",
    "from", "they", "know", "want", "been", "good", "much", "some", "time",
    "very", "when", "come", "here", "just", "like", "make", "many", "more",
    "only", "over", "such", "take", "than", "them", "well", "were", "what",
    "about", "there", "their", "would", "these", "into", "also", "after",
    "back", "could", "even", "because", "those", "while", "where", "which",
    "should", "still", "being", "again", "then", "why", "don", "didn",
    "doesn", "isn", "wasn", "can't", "won", "off", "via", "amp", "quot",
    "http", "https", "www", "com",
    /* French */
    "les", "des", "une", "est", "pas", "pour", "que", "qui", "dans", "sur",
    "par", "plus", "avec", "son", "ses", "aux", "mais", "sont", "ont",
    "été", "tout", "tous", "toute", "cette", "ces", "leur", "leurs", "nous",
    "vous", "elle", "elles", "ils", "lui", "comme", "fait", "faire", "bien",
    "encore", "aussi", "très", "sans", "être", "avoir", "même", "deux",
    "peu", "trop", "ici", "car", "donc", "alors", "chez", "entre", "vers",
    "quand", "toujours", "rien", "depuis", "avant", "après", "moi", "toi",
    "ça", "cela", "ceci", "dont", "suis", "était", "avait", "sera", "mon",
    "ton", "mes", "tes", "notre", "votre", "nos", "vos", "quoi", "oui",
    "non", "ont", "aussi", "juste", "déjà", "the", "aujourd'hui",
    "quelqu'un", "today", "êtes", "avez", "avons", "peut", "peux", "faut",
    "vont", "vais", "fais", "font", "dit",
};

static uint32_t
hash32(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* The stop words by hash (index + 1; 0: empty), built once. */
#define STOP_SLOTS 512
static uint16_t stop_slot[STOP_SLOTS];
static uint32_t stop_hash[STOP_SLOTS];
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

static void
stop_init(void)
{
    for (size_t i = 0; i < sizeof stop_words / sizeof stop_words[0]; i++) {
        uint32_t h = hash32(stop_words[i], strlen(stop_words[i]));
        uint32_t k = h % STOP_SLOTS;
        while (stop_slot[k])
            k = (k + 1) % STOP_SLOTS;
        stop_slot[k] = (uint16_t)(i + 1);
        stop_hash[k] = h;
    }
}

static int
is_stop(const char *w, size_t n)
{
    pthread_once(&stop_once, stop_init);
    uint32_t h = hash32(w, n);
    for (uint32_t k = h % STOP_SLOTS; stop_slot[k]; k = (k + 1) % STOP_SLOTS) {
        const char *s = stop_words[stop_slot[k] - 1];
        if (stop_hash[k] == h && strncmp(s, w, n) == 0 && s[n] == '\0')
            return 1;
    }
    return 0;
}

/* Separators among multi-byte characters: ’ … « » “ ” */
static size_t
utf8_separator(const unsigned char *p, const unsigned char *end)
{
    if (end - p >= 3 && p[0] == 0xE2 && p[1] == 0x80 &&
        (p[2] == 0x99 || p[2] == 0xA6 || p[2] == 0x9C || p[2] == 0x9D ||
         p[2] == 0x98))
        return 3;
    if (end - p >= 2 && p[0] == 0xC2 && (p[1] == 0xAB || p[1] == 0xBB ||
                                         p[1] == 0xA0))
        return 2;
    return 0;
}

/* Length of an apostrophe at p (' or ’), else 0. */
static size_t
apostrophe(const unsigned char *p, const unsigned char *end)
{
    if (*p == '\'')
        return 1;
    if (end - p >= 3 && p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0x99)
        return 3;
    return 0;
}

static int
is_letter(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* French elided words before an apostrophe: l', d', qu', jusqu'... */
static int
is_elision(const char *w, size_t n)
{
    static const char *const long_ones[] = {"qu", "jusqu", "lorsqu", "puisqu",
                                            "quoiqu"};
    if (n == 1)
        return strchr("cdjlmnst", w[0]) != NULL;
    for (size_t i = 0; i < sizeof long_ones / sizeof *long_ones; i++)
        if (strlen(long_ones[i]) == n && memcmp(w, long_ones[i], n) == 0)
            return 1;
    return 0;
}

/* English contraction endings: n't, 're, 've, 'll, 'd, 'm. */
static int
is_contraction(const unsigned char *q, size_t k)
{
    char a = k > 0 ? (char)(q[0] | 0x20) : 0;
    char b = k > 1 ? (char)(q[1] | 0x20) : 0;
    if (k == 1)
        return a == 't' || a == 'd' || a == 'm';
    if (k == 2)
        return (a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
               (a == 'l' && b == 'l');
    return 0;
}

enum apos { APOS_END, APOS_DROP_BEFORE, APOS_KEEP, APOS_CUT, APOS_WORDLESS };

/*
 * What an apostrophe after the n bytes of w does to the token: the end of
 * it (nothing word-like follows), an elision to drop ("l'avion": avion), a
 * possessive to cut ("company's": company), a contraction that makes the
 * token a function word ("don't", "we're"), or part of the word
 * ("aujourd'hui", "o'brien").  *skip is what to step over.
 */
static enum apos
at_apostrophe(const char *w, size_t n, const unsigned char *p,
              const unsigned char *end, size_t ap, size_t *skip)
{
    const unsigned char *q = p + ap;
    if (n == 0 || q >= end || !is_letter(*q) || utf8_separator(q, end))
        return APOS_END;
    if (is_elision(w, n)) {
        *skip = ap;
        return APOS_DROP_BEFORE;
    }
    size_t k = 0;
    while (q + k < end && ((q[k] | 0x20) >= 'a' && (q[k] | 0x20) <= 'z'))
        k++;
    int last =
        q + k >= end || !(is_letter(q[k]) || (q[k] >= '0' && q[k] <= '9'));
    if (last && k == 1 && (q[0] | 0x20) == 's') {
        *skip = ap + 1;
        return APOS_CUT;
    }
    if (last && is_contraction(q, k)) {
        *skip = ap + k;
        return APOS_WORDLESS;
    }
    *skip = ap;
    return APOS_KEEP;
}

/*
 * Call cb for each term of text: lower-cased, at most TOCSIN_TERM_BYTES,
 * not a stop word, not a link or @handle, at least 3 bytes (a hashtag: 3
 * with its '#'), not all digits.  French elisions are dropped ("l'avion":
 * avion), English possessives cut ("company's": company), contractions
 * left out ("don't"), other apostrophes kept ("aujourd'hui").
 */
static void
each_term(const char *text, size_t len,
          void (*cb)(void *arg, const char *w, size_t n), void *arg)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    char w[TOCSIN_TERM_BYTES + 8];
    while (p < end) {
        size_t sep = utf8_separator(p, end);
        if (sep) {
            p += sep;
            continue;
        }
        unsigned c = *p;
        int word_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c >= 0x80 || c == '#' ||
                        c == '@';
        if (!word_char) {
            p++;
            continue;
        }
        /* One token: up to the next separator. */
        const unsigned char *s = p;
        size_t n = 0;
        int too_long = 0, digits = 1, first = 1, wordless = 0;
        char lead = (char)c;
        while (p < end) {
            unsigned d = *p;
            size_t ap = apostrophe(p, end), skip = 0;
            if (ap) {
                enum apos a = at_apostrophe(w, n, p, end, ap, &skip);
                p += skip;
                if (a == APOS_DROP_BEFORE) {
                    n = 0;
                    digits = 1;
                    continue;
                }
                if (a == APOS_KEEP) {
                    if (n < sizeof w - 1)
                        w[n++] = '\'';
                    digits = 0;
                    continue;
                }
                wordless = a == APOS_WORDLESS;
                break;
            }
            if (utf8_separator(p, end))
                break;
            int ok = (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') ||
                     (d >= '0' && d <= '9') || d >= 0x80 || d == '_' ||
                     d == '-' || (first && (d == '#' || d == '@'));
            if (!ok)
                break;
            if (n < sizeof w - 1) {
                char o = (char)d;
                if (d >= 'A' && d <= 'Z')
                    o = (char)(d + 32);
                /* Latin-1 capitals in UTF-8: C3 80..9E (not C3 97) */
                if (n > 0 && (unsigned char)w[n - 1] == 0xC3 && d >= 0x80 &&
                    d <= 0x9E && d != 0x97)
                    o = (char)(d + 0x20);
                w[n++] = o;
            } else {
                too_long = 1;
            }
            if (!(d >= '0' && d <= '9') && !(first && d == '#'))
                digits = 0;
            first = 0;
            p++;
        }
        (void)s;
        if (lead == '@' || too_long || n > TOCSIN_TERM_BYTES || digits ||
            wordless)
            continue;
        if (n >= 4 && (memcmp(w, "http", 4) == 0 || memcmp(w, "www", 3) == 0))
            continue;
        /* Trim trailing '-' or '_'. */
        while (n > 0 && (w[n - 1] == '-' || w[n - 1] == '_'))
            n--;
        size_t core = w[0] == '#' ? n - 1 : n;
        if (n < 3 || core < 2)
            continue;
        if (w[0] != '#' && is_stop(w, n))
            continue;
        cb(arg, w, n);
    }
}

struct name_words {
    uint32_t h[8];
    int n;
};

static void
collect_name(void *arg, const char *w, size_t n)
{
    struct name_words *nw = arg;
    if (nw->n < 8) {
        const char *s = w[0] == '#' ? w + 1 : w;
        size_t k = w[0] == '#' ? n - 1 : n;
        nw->h[nw->n++] = hash32(s, k);
    }
}

/* The words of the topic's name (and their hashtags) are not news. */
static int
in_name(const struct name_words *nw, const char *w, size_t n)
{
    const char *s = w[0] == '#' ? w + 1 : w;
    size_t k = w[0] == '#' ? n - 1 : n;
    uint32_t h = hash32(s, k);
    for (int i = 0; i < nw->n; i++)
        if (nw->h[i] == h)
            return 1;
    return 0;
}

struct tocsin_terms *
tocsin_terms_new(void)
{
    return calloc(1, sizeof(struct tocsin_terms));
}

void
tocsin_terms_free(struct tocsin_terms *t)
{
    if (!t)
        return;
    free(t->hot);
    free(t);
}

struct walk {
    struct tocsin_terms *t;
    struct name_words name;
    int hot;
};

static void
decay(struct tocsin_terms *t)
{
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
            t->cm[r][c] = (uint16_t)(t->cm[r][c] / 2);
    t->base_total /= 2;
}

static void
learn_one(void *arg, const char *w, size_t n)
{
    struct walk *k = arg;
    struct tocsin_terms *t = k->t;
    if (in_name(&k->name, w, n))
        return;
    uint32_t h = hash32(w, n);
    if (t->base_total >= DECAY_AT || t->cm[0][h % COLS] == UINT16_MAX ||
        t->cm[1][(h >> 16) % COLS] == UINT16_MAX)
        decay(t);
    t->cm[0][h % COLS]++;
    t->cm[1][(h >> 16) % COLS]++;
    t->base_total++;
}

static void
hot_one(void *arg, const char *w, size_t n)
{
    struct walk *k = arg;
    struct tocsin_terms *t = k->t;
    if (in_name(&k->name, w, n))
        return;
    uint32_t h = hash32(w, n);
    t->hot_total++;
    uint32_t min_i = 0;
    for (uint32_t i = 0; i < t->nhot; i++) {
        struct hot_term *e = &t->hot[i];
        if (e->hash == h && strlen(e->text) == n &&
            memcmp(e->text, w, n) == 0) {
            e->count++;
            return;
        }
        if (e->count < t->hot[min_i].count)
            min_i = i;
    }
    struct hot_term *e;
    uint32_t base = 0;
    if (t->nhot < HOT_MAX) {
        e = &t->hot[t->nhot++];
    } else {
        e = &t->hot[min_i]; /* Space-Saving: inherit the evicted count */
        base = e->count;
    }
    e->hash = h;
    e->count = base + 1;
    memcpy(e->text, w, n);
    e->text[n] = '\0';
}

static void
walk_init(struct walk *k, struct tocsin_terms *t, const char *topic)
{
    memset(k, 0, sizeof *k);
    k->t = t;
    if (topic)
        each_term(topic, strlen(topic), collect_name, &k->name);
}

void
tocsin_terms_learn(struct tocsin_terms *t, const char *text, size_t len,
                   const char *topic)
{
    struct walk k;
    walk_init(&k, t, topic);
    each_term(text, len, learn_one, &k);
}

tocsin_err
tocsin_terms_hot(struct tocsin_terms *t, const char *text, size_t len,
                 const char *topic)
{
    if (!t->hot) {
        t->hot = calloc(HOT_MAX, sizeof *t->hot);
        if (!t->hot)
            return TOCSIN_ENOMEM;
        t->nhot = 0;
        t->hot_total = 0;
    }
    struct walk k;
    walk_init(&k, t, topic);
    each_term(text, len, hot_one, &k);
    return TOCSIN_OK;
}

void
tocsin_terms_cool(struct tocsin_terms *t)
{
    free(t->hot);
    t->hot = NULL;
    t->nhot = 0;
    t->hot_total = 0;
}

int
tocsin_terms_is_hot(const struct tocsin_terms *t)
{
    return t && t->hot != NULL;
}

static double
strength(const struct tocsin_terms *t, const struct hot_term *e)
{
    if (e->count < MIN_COUNT || !t->hot_total)
        return -1;
    uint32_t b0 = t->cm[0][e->hash % COLS], b1 = t->cm[1][(e->hash >> 16) % COLS];
    double usual = (double)(b0 < b1 ? b0 : b1) /
                   (t->base_total ? (double)t->base_total : 1.0);
    double now = (double)e->count / (double)t->hot_total;
    if (now < 2.0 * usual)
        return -1;
    return (double)e->count * log((now + 0.001) / (usual + 0.001));
}

size_t
tocsin_terms_top(struct tocsin_terms *t, const char *out[TOCSIN_TERMS_MAX])
{
    if (!t || !t->hot)
        return 0;
    struct tocsin_terms *mt = t; /* keeps the answer in t->ranked */
    double best[TOCSIN_TERMS_MAX];
    size_t n = 0;
    for (uint32_t i = 0; i < t->nhot; i++) {
        const struct hot_term *e = &t->hot[i];
        double s = strength(t, e);
        if (s <= 0)
            continue;
        size_t pos = n;
        while (pos > 0 &&
               (s > best[pos - 1] ||
                (s == best[pos - 1] &&
                 strcmp(e->text, mt->ranked[pos - 1].text) < 0)))
            pos--;
        if (pos >= TOCSIN_TERMS_MAX)
            continue;
        size_t last = n < TOCSIN_TERMS_MAX ? n : TOCSIN_TERMS_MAX - 1;
        for (size_t j = last; j > pos; j--) {
            best[j] = best[j - 1];
            mt->ranked[j] = mt->ranked[j - 1];
        }
        best[pos] = s;
        mt->ranked[pos] = *e;
        if (n < TOCSIN_TERMS_MAX)
            n++;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = mt->ranked[i].text;
    return n;
}

int
tocsin_terms_save(const struct tocsin_terms *t,
                  int (*put)(void *arg, const void *p, size_t n), void *arg)
{
    uint8_t v = VERSION;
    if (put(arg, &v, 1) || put(arg, t->cm, sizeof t->cm) ||
        put(arg, &t->base_total, 4) || put(arg, &t->hot_total, 4))
        return -1;
    uint32_t nhot = t->hot ? t->nhot : UINT32_MAX;
    if (put(arg, &nhot, 4))
        return -1;
    for (uint32_t i = 0; t->hot && i < t->nhot; i++) {
        const struct hot_term *e = &t->hot[i];
        uint8_t len = (uint8_t)strlen(e->text);
        if (put(arg, &e->hash, 4) || put(arg, &e->count, 4) ||
            put(arg, &len, 1) || put(arg, e->text, len))
            return -1;
    }
    return 0;
}

static int
take(const unsigned char **p, const unsigned char *end, void *out, size_t n)
{
    if ((size_t)(end - *p) < n)
        return -1;
    memcpy(out, *p, n);
    *p += n;
    return 0;
}

int
tocsin_terms_load(struct tocsin_terms **out, const unsigned char **p,
                  const unsigned char *end)
{
    struct tocsin_terms *t = tocsin_terms_new();
    uint8_t v;
    uint32_t nhot;
    if (!t)
        return -1;
    if (take(p, end, &v, 1) || v != VERSION ||
        take(p, end, t->cm, sizeof t->cm) ||
        take(p, end, &t->base_total, 4) || take(p, end, &t->hot_total, 4) ||
        take(p, end, &nhot, 4) || (nhot != UINT32_MAX && nhot > HOT_MAX))
        goto bad;
    if (nhot != UINT32_MAX) {
        t->hot = calloc(HOT_MAX, sizeof *t->hot);
        if (!t->hot)
            goto bad;
        t->nhot = nhot;
        for (uint32_t i = 0; i < nhot; i++) {
            struct hot_term *e = &t->hot[i];
            uint8_t len;
            if (take(p, end, &e->hash, 4) || take(p, end, &e->count, 4) ||
                take(p, end, &len, 1) || len > TOCSIN_TERM_BYTES ||
                take(p, end, e->text, len))
                goto bad;
            e->text[len] = '\0';
        }
    }
    *out = t;
    return 0;
bad:
    tocsin_terms_free(t);
    return -1;
}
