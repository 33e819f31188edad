/*
 * sentiment_lex.c: loading the sentiment lexicons into the scorer's hash
 * table, and the word lists built into the rules (negators, boosters,
 * contrast words, stopwords) for English and French.
 *
 * Owns the struct tocsin_sentiment and everything it points to.  Runs once
 * on the thread that calls tocsin_sentiment_new(); the table is read-only
 * afterwards.  Lookups (tocsin_sent_get) are pure and thread-safe.
 */
#include "sentiment_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/log.h"
#include "tocsin/sentiment.h"

/* Emoji Sentiment Ranking scores are in -1 .. +1; VADER's scale is
 * about -4 .. +4 with most words within +-2.5. */
#ifndef EMOJI_SCALE
#define EMOJI_SCALE 3.0
#endif
#define EMOJI_MIN_OCCUR 5L

uint32_t
tocsin_sent_hash(const char *k, size_t n)
{
    uint32_t h = SENT_HASH_INIT;
    for (size_t i = 0; i < n; i++)
        h = SENT_HASH_STEP(h, (unsigned char)k[i]);
    return SENT_HASH_FINAL(h);
}

const struct sent_entry *
tocsin_sent_get(const struct tocsin_sentiment *s, const char *k, size_t n)
{
    return tocsin_sent_get_h(s, k, n, tocsin_sent_hash(k, n));
}

const struct sent_entry *
tocsin_sent_get_h(const struct tocsin_sentiment *s, const char *k, size_t n,
                  uint32_t h)
{
    return sent_lookup(s, k, n, h);
}

size_t
tocsin_sent_norm(const char *in, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (o + 2 > cap)
            return 0;
        if (c >= 'A' && c <= 'Z') {
            out[o++] = (char)(c + 32);
        } else if (c == 0xC3 && i + 1 < n && p[i + 1] >= 0x80 &&
                   p[i + 1] <= 0x9E && p[i + 1] != 0x97) {
            out[o++] = (char)c;
            out[o++] = (char)(p[++i] + 0x20);
        } else if (c == 0xC5 && i + 1 < n &&
                   (p[i + 1] == 0x92 || p[i + 1] == 0xA0 || p[i + 1] == 0xBD)) {
            out[o++] = (char)c; /* Œ Š Ž -> œ š ž */
            out[o++] = (char)(p[++i] + 1);
        } else if (c == 0xE2 && i + 2 < n && p[i + 1] == 0x80 &&
                   (p[i + 2] == 0x98 || p[i + 2] == 0x99)) {
            out[o++] = '\''; /* ' ' */
            i += 2;
        } else if (c == 0xCA && i + 1 < n && p[i + 1] == 0xBC) {
            out[o++] = '\''; /* modifier letter apostrophe */
            i += 1;
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

/* Base letters for U+00E0 .. U+00FF; 0 = keep as is. */
static const char unaccent_tab[32] = {
    'a', 'a', 'a', 'a', 'a', 'a', 0,   'c', 'e', 'e', 'e',
    'e', 'i', 'i', 'i', 'i', 0,   'n', 'o', 'o', 'o', 'o',
    'o', 0,   'o', 'u', 'u', 'u', 'u', 'y', 0,   'y',
};

size_t
tocsin_sent_unaccent(const char *in, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 3 > cap)
            return 0;
        if (p[i] == 0xC3 && i + 1 < n && p[i + 1] >= 0xA0 && p[i + 1] <= 0xBF) {
            unsigned char b = p[i + 1];
            if (b == 0xA6) { /* æ */
                out[o++] = 'a';
                out[o++] = 'e';
                i++;
                continue;
            }
            char r = unaccent_tab[b - 0xA0];
            if (r) {
                out[o++] = r;
                i++;
                continue;
            }
        } else if (p[i] == 0xC5 && i + 1 < n && p[i + 1] == 0x93) { /* œ */
            out[o++] = 'o';
            out[o++] = 'e';
            i++;
            continue;
        }
        out[o++] = (char)p[i];
    }
    return o;
}

static tocsin_err
grow_slots(struct tocsin_sentiment *s, uint32_t nslots)
{
    uint64_t *ns = calloc(nslots, sizeof *ns);
    if (!ns)
        return TOCSIN_ENOMEM;
    uint32_t mask = nslots - 1;
    for (uint32_t ix = 0; ix < s->nents; ix++) {
        uint32_t i = s->ents[ix].hash & mask;
        while (ns[i])
            i = (i + 1) & mask;
        ns[i] = (uint64_t)s->ents[ix].hash << 32 | (ix + 1);
    }
    free(s->slots);
    s->slots = ns;
    s->mask = mask;
    return TOCSIN_OK;
}

/* Find or add the entry for normalised key k; NULL on ENOMEM. */
static struct sent_entry *
intern(struct tocsin_sentiment *s, const char *k, size_t n)
{
    if (n == 0 || n > SENT_MAX_KEY)
        return NULL;
    const struct sent_entry *found = tocsin_sent_get(s, k, n);
    if (found)
        return (struct sent_entry *)found;
    if ((s->nents + 1) * 2 > s->mask + 1 &&
        grow_slots(s, (s->mask + 1) * 2) != TOCSIN_OK)
        return NULL;
    if (s->nents == s->ents_cap) {
        uint32_t nc = s->ents_cap ? s->ents_cap * 2 : 4096;
        struct sent_entry *ne = realloc(s->ents, nc * sizeof *ne);
        if (!ne)
            return NULL;
        s->ents = ne;
        s->ents_cap = nc;
    }
    if (s->keys_len + n > s->keys_cap) {
        size_t nc = s->keys_cap ? s->keys_cap * 2 : 65536;
        while (nc < s->keys_len + n)
            nc *= 2;
        char *nk = realloc(s->keys, nc);
        if (!nk)
            return NULL;
        s->keys = nk;
        s->keys_cap = nc;
    }
    struct sent_entry *e = &s->ents[s->nents];
    memset(e, 0, sizeof *e);
    e->hash = tocsin_sent_hash(k, n);
    e->key_off = (uint32_t)s->keys_len;
    e->key_len = (uint16_t)n;
    memcpy(s->keys + s->keys_len, k, n);
    s->keys_len += n;
    s->nents++;
    uint32_t i = e->hash & s->mask;
    while (s->slots[i])
        i = (i + 1) & s->mask;
    s->slots[i] = (uint64_t)e->hash << 32 | s->nents;
    return e;
}

/* Make every word of the phrase k (normalised, words separated by one
 * space) known to the table, and mark its first word.  Phrases of more
 * than SENT_MAX_PHRASE words are left as they are (never matched). */
static tocsin_err
mark_phrase(struct tocsin_sentiment *s, const char *k, size_t n, int lang)
{
    const char *w[SENT_MAX_PHRASE + 1];
    size_t wl[SENT_MAX_PHRASE + 1], nw = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && k[i] != ' ')
            continue;
        if (i == start || nw == SENT_MAX_PHRASE)
            return TOCSIN_OK; /* empty word or too many words */
        w[nw] = k + start;
        wl[nw++] = i - start;
        start = i + 1;
    }
    if (nw < 2)
        return TOCSIN_OK;
    for (size_t i = 0; i < nw; i++) {
        struct sent_entry *e = intern(s, w[i], wl[i]);
        if (!e)
            return TOCSIN_ENOMEM;
        if (i == 0)
            e->phr = (uint8_t)(e->phr | 1u << (lang + (nw == 3 ? 2 : 0)));
    }
    return TOCSIN_OK;
}

/* Set the valence of raw key k for lang.  Unless override, the first
 * value wins.  Also files the accent-free spelling when it is free, so
 * "genial" finds "génial".  Returns TOCSIN_ENOMEM or TOCSIN_OK. */
static tocsin_err
put_val(struct tocsin_sentiment *s, const char *k, size_t n, int lang,
        double val, int override, int emo)
{
    char nb[SENT_MAX_KEY + 8], ub[SENT_MAX_KEY + 8];
    size_t nn = tocsin_sent_norm(k, n, nb, sizeof nb);
    if (nn == 0 || nn > SENT_MAX_KEY)
        return TOCSIN_OK; /* too long to ever match a token */
    /* Phrase words first: interning moves entries. */
    if (!emo && memchr(nb, ' ', nn) && mark_phrase(s, nb, nn, lang))
        return TOCSIN_ENOMEM;
    struct sent_entry *e = intern(s, nb, nn);
    if (!e)
        return TOCSIN_ENOMEM;
    unsigned bit = 1u << lang;
    if (!(e->has & bit) || override || (e->derived & bit)) {
        e->has = (uint8_t)(e->has | bit);
        e->derived = (uint8_t)(e->derived & ~bit);
        e->val[lang] = (float)val;
        e->emo = (uint8_t)(e->emo | emo);
    }
    if (emo && (nn != n || memcmp(nb, k, n) != 0)) {
        /* Emoticons such as ":D" or "XD" are case-sensitive in VADER:
         * keep the exact spelling too. */
        struct sent_entry *x = intern(s, k, n);
        if (!x)
            return TOCSIN_ENOMEM;
        if (!(x->has & bit) || override) {
            x->has = (uint8_t)(x->has | bit);
            x->val[lang] = (float)val;
            x->emo = SENT_EMO_SYMBOL;
        }
    }
    size_t un = tocsin_sent_unaccent(nb, nn, ub, sizeof ub);
    if (un && (un != nn || memcmp(ub, nb, nn) != 0) && un <= SENT_MAX_KEY) {
        if (!emo && memchr(ub, ' ', un) && mark_phrase(s, ub, un, lang))
            return TOCSIN_ENOMEM;
        struct sent_entry *u = intern(s, ub, un);
        if (!u)
            return TOCSIN_ENOMEM;
        /* A word really spelt without accents keeps its own value; among
         * accented spellings the first (or an override) wins. */
        if (!(u->has & bit) || (override && (u->derived & bit))) {
            u->has = (uint8_t)(u->has | bit);
            u->derived = (uint8_t)(u->derived | bit);
            u->val[lang] = (float)val;
        }
    }
    return TOCSIN_OK;
}

static tocsin_err
put_flags(struct tocsin_sentiment *s, const char *k, int lang, unsigned flags,
          double boost)
{
    char nb[SENT_MAX_KEY + 8];
    size_t nn = tocsin_sent_norm(k, strlen(k), nb, sizeof nb);
    struct sent_entry *e = intern(s, nb, nn);
    if (!e)
        return TOCSIN_ENOMEM;
    e->flags[lang] = (uint8_t)(e->flags[lang] | flags);
    if (flags & SF_BOOST)
        e->boost[lang] = (float)boost;
    return TOCSIN_OK;
}

/* A key is emoticon-like when it has ASCII punctuation or digits but is
 * not a plain word (letters, apostrophes and hyphens). */
static int
emoticon_like(const char *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '\'' || c == '-' || c == ' ')
            continue;
        return 1;
    }
    return 0;
}

#define B_INCR 0.293
#define B_DECR (-0.293)

static const char *const en_incr[] = {
    "absolutely",    "amazingly",    "awfully",
    "completely",    "considerable", "considerably",
    "decidedly",     "deeply",       "effing",
    "enormous",      "enormously",   "entirely",
    "especially",    "exceptional",  "exceptionally",
    "extreme",       "extremely",    "fabulously",
    "flipping",      "flippin",      "frackin",
    "fracking",      "fricking",     "frickin",
    "frigging",      "friggin",      "fully",
    "fuckin",        "fucking",      "fuggin",
    "fugging",       "greatly",      "hella",
    "highly",        "hugely",       "incredible",
    "incredibly",    "intensely",    "major",
    "majorly",       "more",         "most",
    "particularly",  "purely",       "quite",
    "really",        "remarkably",   "so",
    "substantially", "thoroughly",   "total",
    "totally",       "tremendous",   "tremendously",
    "uber",          "unbelievably", "unusually",
    "utter",         "utterly",      "very",
    "sooo",          "soooo",        "super",
    "mega",          "ultra",        "freaking",
    "freakin",       "pretty",       NULL};
static const char *const en_decr[] = {
    "almost", "barely", "hardly",   "kinda",      "kindof",     "kind-of",
    "less",   "little", "marginal", "marginally", "occasional", "occasionally",
    "partly", "scarce", "scarcely", "slight",     "slightly",   "somewhat",
    "sorta",  "sortof", "sort-of",  NULL};
static const char *const en_neg[] = {
    "aint",    "arent",    "cannot",  "cant",     "couldnt",  "darent",
    "didnt",   "doesnt",   "ain't",   "aren't",   "can't",    "couldn't",
    "daren't", "didn't",   "doesn't", "dont",     "hadnt",    "hasnt",
    "havent",  "isnt",     "mightnt", "mustnt",   "neither",  "don't",
    "hadn't",  "hasn't",   "haven't", "isn't",    "mightn't", "mustn't",
    "neednt",  "needn't",  "never",   "none",     "nope",     "nor",
    "not",     "nothing",  "nowhere", "oughtnt",  "shant",    "shouldnt",
    "uhuh",    "wasnt",    "werent",  "oughtn't", "shan't",   "shouldn't",
    "uh-uh",   "wasn't",   "weren't", "without",  "wont",     "wouldnt",
    "won't",   "wouldn't", "rarely",  "seldom",   "despite",  NULL};
static const char *const en_stop[] = {
    "the",  "and",   "is",    "are",   "was",  "were", "to",     "of",
    "it",   "this",  "that",  "you",   "my",   "for",  "with",   "not",
    "have", "has",   "be",    "at",    "so",   "but",  "just",   "what",
    "they", "we",    "me",    "your",  "it's", "i'm",  "don't",  "can't",
    "will", "would", "from",  "about", "all",  "been", "he",     "she",
    "his",  "her",   "their", "our",   "an",   "or",   "if",     "when",
    "how",  "who",   "why",   "out",   "up",   "get",  "got",    "like",
    "no",   "do",    "does",  "did",   "too",  "very", "really", "than",
    "them", "there", "today", "going", NULL};

/* Laughter and reaction words of both lexicons: like emoticons they say
 * how the author feels about the whole text, so they are never negated or
 * boosted ("you can never leave lmao").  Marked after loading, where the
 * lexicons have them. */
static const char *const interjections[] = {
    "lol",  "lolz",   "lmao",    "lmfao", "rofl", "roflmao", "haha",
    "hahaha", "hehe", "xd",      "jk",    "mdr",  "ptdr",    NULL};

/* Before "like", these make it the verb (after "I", "we", "they" ...). */
static const char *const en_subj[] = {
    "you",  "we",     "they",  "u",      "ya",       "people",    "do",
    "does", "did",    "would", "i'd",    "we'd",     "you'd",     "they'd",
    "to",   "really", "also",  "still",  "just",     "actually",  "totally",
    "i'll", "we'll",  "gonna", "might",  "will",     "should",    "could",
    "who",  "fans",   "kids",  "guys",   "everyone", "everybody", "she",
    "he",   "dont",   "didnt", "doesnt", "wouldn't", "wouldnt",   NULL};

static const char *const fr_incr[] = {"très",
                                      "trop",
                                      "vraiment",
                                      "tellement",
                                      "si",
                                      "super",
                                      "hyper",
                                      "extrêmement",
                                      "totalement",
                                      "complètement",
                                      "absolument",
                                      "vachement",
                                      "énormément",
                                      "particulièrement",
                                      "carrément",
                                      "terriblement",
                                      "incroyablement",
                                      "profondément",
                                      "entièrement",
                                      "tout",
                                      "toute",
                                      "tous",
                                      "toutes",
                                      "plus",
                                      "aussi",
                                      "encore",
                                      "ultra",
                                      "méga",
                                      "fortement",
                                      "grandement",
                                      "sacrément",
                                      "franchement",
                                      NULL};
static const char *const fr_decr[] = {"peu",          "moins",      "assez",
                                      "plutôt",       "légèrement", "presque",
                                      "moyennement",  "quasiment",  "quasi",
                                      "relativement", "guère",      NULL};
static const char *const fr_neg[] = {"pas",    "jamais", "rien",      "aucun",
                                     "aucune", "aucuns", "aucunes",   "sans",
                                     "ni",     "non",    "nullement", "guère",
                                     "nan",    "ne",     "n'",        NULL};
static const char *const fr_stop[] = {
    "le",     "la",    "les",    "de",          "des",   "du",    "un",
    "une",    "et",    "est",    "je",          "tu",    "il",    "elle",
    "nous",   "vous",  "ils",    "elles",       "ne",    "pas",   "que",
    "qui",    "pour",  "dans",   "sur",         "avec",  "ce",    "ça",
    "cette",  "ces",   "mais",   "ou",          "au",    "aux",   "sont",
    "très",   "plus",  "mon",    "ma",          "mes",   "ses",   "leur",
    "leurs",  "tout",  "être",   "fait",        "c'est", "j'ai",  "aussi",
    "comme",  "quand", "bien",   "même",        "donc",  "alors", "moi",
    "toi",    "lui",   "ont",    "était",       "avoir", "faire", "sans",
    "encore", "notre", "votre",  "nos",         "vos",   "où",    "là",
    "déjà",   "rien",  "jamais", "aujourd'hui", "cest",  "suis",  "es",
    "y'a",    "par",   NULL};

/* Frequent function words of the other Romance languages that French
 * does not use; they count against French in language detection. */
static const char *const romance_stop[] = {
    "el",   "los",  "las",  "del",  "con",  "por", "para",
    "muy",  "pero", "como", "esta", "está", "gli", "della",
    "sono", "não",  "uma",  "os",   NULL};

static tocsin_err
put_list(struct tocsin_sentiment *s, const char *const *l, int lang,
         unsigned flags, double boost)
{
    for (; *l; l++) {
        tocsin_err e = put_flags(s, *l, lang, flags, boost);
        if (e)
            return e;
    }
    return TOCSIN_OK;
}

static void
mark_interjections(struct tocsin_sentiment *s)
{
    for (const char *const *w = interjections; *w; w++) {
        const struct sent_entry *c = tocsin_sent_get(s, *w, strlen(*w));
        if (c && c->has)
            s->ents[c - s->ents].emo |= SENT_EMO_INTERJ;
    }
}

/* Words the rules of sentiment.c look for beyond their flags: "kind of",
 * "sort of", "just enough"; "without doubt", "sans doute"; "so" and
 * "this" as degrees.  Marking them also gives "sort" and "enough", which
 * no list or lexicon has, an entry. */
static const char *const rule_words[] = {"of",   "sort", "enough", "without",
                                         "sans", "so",   "this",   NULL};

static tocsin_err
mark_rule_words(struct tocsin_sentiment *s)
{
    for (const char *const *w = rule_words; *w; w++) {
        struct sent_entry *c = intern(s, *w, strlen(*w));
        if (!c)
            return TOCSIN_ENOMEM;
        c->phr = (uint8_t)(c->phr | SENT_RULE_WORD);
    }
    return TOCSIN_OK;
}

static tocsin_err
put_builtins(struct tocsin_sentiment *s)
{
    tocsin_err e;
    if ((e = put_list(s, en_incr, SENT_EN, SF_BOOST, B_INCR)) ||
        (e = put_list(s, en_decr, SENT_EN, SF_BOOST, B_DECR)) ||
        (e = put_list(s, en_neg, SENT_EN, SF_NEG, 0)) ||
        (e = put_list(s, en_stop, SENT_EN, SF_STOP, 0)) ||
        (e = put_flags(s, "but", SENT_EN, SF_BUT, 0)) ||
        (e = put_flags(s, "no", SENT_EN, SF_NO, 0)) ||
        (e = put_flags(s, "least", SENT_EN, SF_LEAST, 0)) ||
        (e = mark_rule_words(s)) ||
        (e = put_list(s, en_subj, SENT_EN, SF_SUBJ, 0)) ||
        (e = put_flags(s, "like", SENT_EN, SF_LIKE, 0)) ||
        (e = put_list(s, fr_incr, SENT_FR, SF_BOOST, B_INCR)) ||
        (e = put_list(s, fr_decr, SENT_FR, SF_BOOST, B_DECR)) ||
        (e = put_list(s, fr_neg, SENT_FR, SF_NEG, 0)) ||
        (e = put_list(s, fr_stop, SENT_FR, SF_STOP, 0)) ||
        (e = put_list(s, romance_stop, SENT_FR, SF_ROMANCE, 0)) ||
        (e = put_flags(s, "ne", SENT_FR, SF_NE, 0)) ||
        (e = put_flags(s, "n'", SENT_FR, SF_NE, 0)) ||
        (e = put_flags(s, "plus", SENT_FR, SF_NEGNE, 0)) ||
        (e = put_flags(s, "mais", SENT_FR, SF_BUT, 0)))
        return e;
    return TOCSIN_OK;
}

/* Read a whole file; logs and maps errno on failure. */
static tocsin_err
slurp(const char *dir, const char *name, int required, char **buf, size_t *len)
{
    char path[4096];
    int pn = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pn < 0 || (size_t)pn >= sizeof path) {
        tocsin_log_warn("SENTIMENT-LEXICON", "%s/%s: path too long", dir, name);
        return TOCSIN_EINVAL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = errno;
        if (!required && err == ENOENT)
            return TOCSIN_ENOENT;
        tocsin_log_warn("SENTIMENT-LEXICON", "cannot open %s: %s", path,
                        strerror(err));
        return err == ENOENT ? TOCSIN_ENOENT : TOCSIN_EIO;
    }
    tocsin_err rc = TOCSIN_OK;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    if (!b) {
        rc = TOCSIN_ENOMEM;
        goto out;
    }
    for (;;) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) {
                rc = TOCSIN_ENOMEM;
                goto out;
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        tocsin_log_warn("SENTIMENT-LEXICON", "cannot read %s", path);
        rc = TOCSIN_EIO;
        goto out;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    b = NULL;
out:
    free(b);
    fclose(f);
    return rc;
}

static int
ends_with(const char *k, size_t n, const char *suf, size_t *stem)
{
    size_t l = strlen(suf);
    if (n <= l || memcmp(k + n - l, suf, l) != 0)
        return 0;
    *stem = n - l;
    return 1;
}

/* File form stem+suffix with value v unless the table already has a
 * French value for it. */
static tocsin_err
put_form(struct tocsin_sentiment *s, const char *k, size_t stem,
         const char *suf, double v)
{
    char f[SENT_MAX_KEY + 8];
    size_t l = strlen(suf);
    if (stem + l > SENT_MAX_KEY)
        return TOCSIN_OK;
    memcpy(f, k, stem);
    memcpy(f + stem, suf, l);
    if (tocsin_sent_get(s, f, stem + l))
        return TOCSIN_OK; /* a word of its own ("plus" is not "plu" + s) */
    return put_val(s, f, stem + l, SENT_FR, v, 0, 0);
}

/*
 * vader_FR lists mostly masculine singular adjectives and infinitives, as
 * translated from English; tweets use every form.  File the feminine and
 * plural forms of each French entry (and the frequent present, participle
 * and imperfect forms of -er verbs) with the entry's value, where the
 * lexicon has no value of its own for that spelling.
 */
static tocsin_err
put_french_forms(struct tocsin_sentiment *s)
{
    static const char *const er_forms[] = {"e",  "es",  "ent", "é",   "ée",
                                           "és", "ées", "ait", "ais", NULL};
    uint32_t nents = s->nents;
    for (uint32_t ix = 0; ix < nents; ix++) {
        const struct sent_entry *e = &s->ents[ix];
        if (!(e->has >> SENT_FR & 1u) || (e->derived >> SENT_FR & 1u) ||
            (e->emo & SENT_EMO_SYMBOL) || e->key_len < 3 || e->key_len > SENT_MAX_KEY)
            continue;
        char k[SENT_MAX_KEY + 8];
        size_t n = e->key_len, st;
        double v = e->val[SENT_FR];
        memcpy(k, s->keys + e->key_off, n);
        int plain = 1;
        for (size_t i = 0; i < n; i++)
            if (!((k[i] >= 'a' && k[i] <= 'z') || (unsigned char)k[i] >= 0x80))
                plain = 0;
        if (!plain)
            continue;
        const char *const *sufs;
        const char *const *extra = NULL;
        static const char *const s_e[] = {"e", "s", "es", NULL};
        static const char *const s_s[] = {"s", NULL};
        static const char *const s_eux[] = {"euse", "euses", NULL};
        static const char *const s_if[] = {"ive", "ives", "ifs", NULL};
        static const char *const s_al[] = {"ale", "ales", "aux", "als", NULL};
        static const char *const s_eur[] = {"euse", "euses", "eurs", NULL};
        static const char *const s_er[] = {"ère", "ères", "ers", NULL};
        if (ends_with(k, n, "eux", &st)) {
            sufs = s_eux;
        } else if (ends_with(k, n, "if", &st)) {
            sufs = s_if;
        } else if (ends_with(k, n, "al", &st)) {
            sufs = s_al;
        } else if (ends_with(k, n, "eur", &st)) {
            sufs = s_eur;
        } else if (ends_with(k, n, "er", &st)) {
            sufs = s_er;
            extra = er_forms;
        } else if (k[n - 1] == 'e') {
            st = n;
            sufs = s_s; /* triste -> tristes */
        } else if (k[n - 1] == 't' || k[n - 1] == 'd' || k[n - 1] == 'i' ||
                   k[n - 1] == 'u' || ends_with(k, n, "é", &st)) {
            st = n;
            sufs = s_e; /* excellent, laid, joli, déçu, raté */
        } else {
            continue;
        }
        for (; *sufs; sufs++) {
            tocsin_err r = put_form(s, k, st, *sufs, v);
            if (r)
                return r;
        }
        for (; extra && *extra; extra++) {
            tocsin_err r = put_form(s, k, st, *extra, v);
            if (r)
                return r;
        }
    }
    return TOCSIN_OK;
}

enum lex_format { FMT_VADER, FMT_ARROW, FMT_TSV, FMT_EMOJI };

/* Parse one lexicon file into the table; *count gets the entries used. */
static tocsin_err
parse_lexicon(struct tocsin_sentiment *s, const char *path, char *buf,
              size_t len, enum lex_format fmt, int lang, int override)
{
    size_t used = 0, lineno = 0;
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        char *line = p;
        p = nl ? nl + 1 : end;
        lineno++;
        if (le > line && le[-1] == '\r')
            le--;
        *le = '\0';
        if (line == le || (fmt == FMT_TSV && line[0] == '#'))
            continue;
        const char *key = line;
        size_t klen;
        double v;
        char *ve = NULL;
        if (fmt == FMT_VADER || fmt == FMT_TSV) {
            char *tab = strchr(line, '\t');
            if (!tab)
                goto bad;
            klen = (size_t)(tab - line);
            v = strtod(tab + 1, &ve);
            if (ve == tab + 1)
                goto bad;
        } else if (fmt == FMT_ARROW) {
            /* Split on the last "->": emoticons may contain one. */
            char *arrow = NULL;
            for (char *q = line; (q = strstr(q, "->")) != NULL; q++)
                arrow = q;
            if (!arrow || arrow == line)
                goto bad;
            klen = (size_t)(arrow - line);
            v = strtod(arrow + 2, &ve);
            if (ve == arrow + 2)
                goto bad;
        } else {
            /* Emoji,codepoint,Occurrences,Position,Neg,Neu,Pos,... */
            if (lineno == 1)
                continue;
            char *f[7];
            char *q = line;
            for (int i = 0; i < 7; i++) {
                f[i] = q;
                q = strchr(q, ',');
                if (!q)
                    goto bad;
                *q++ = '\0';
            }
            long occ = strtol(f[2], NULL, 10);
            long neg = strtol(f[4], NULL, 10);
            long pos = strtol(f[6], NULL, 10);
            if (occ < EMOJI_MIN_OCCUR)
                continue;
            /* Strip variation selector 16 (EF B8 8F). */
            char k[32];
            size_t kn = 0;
            for (const char *c = f[0]; *c && kn < sizeof k; c++) {
                if ((unsigned char)c[0] == 0xEF &&
                    (unsigned char)c[1] == 0xB8 &&
                    (unsigned char)c[2] == 0x8F) {
                    c += 2;
                    continue;
                }
                k[kn++] = *c;
            }
            double sc = (double)(pos - neg) / (double)occ * EMOJI_SCALE;
            for (int l = 0; l < 2; l++) {
                tocsin_err e = put_val(s, k, kn, l, sc, override, 1);
                if (e)
                    return e;
            }
            used++;
            continue;
        }
        if (klen == 0 || v < -5.0 || v > 5.0)
            goto bad;
        /* VADER's lexicon lists some words twice, first among the
         * emoticons and acronyms at its top, then in the alphabetical
         * word list; vaderSentiment reads it into a dict, so the later
         * value is the one VADER uses ("lol" 1.8, not 2.9). */
        int emo = emoticon_like(key, klen);
        tocsin_err e = put_val(s, key, klen, lang, v,
                               override || (fmt == FMT_VADER && !emo), emo);
        if (e)
            return e;
        used++;
        continue;
    bad:
        tocsin_log_debug("SENTIMENT-LEXICON", "%s:%zu: line skipped", path,
                         lineno);
    }
    if (used == 0) {
        tocsin_log_warn("SENTIMENT-LEXICON", "%s: no usable entry", path);
        return TOCSIN_EINVAL;
    }
    return TOCSIN_OK;
}

static tocsin_err
load_file(struct tocsin_sentiment *s, const char *dir, const char *name,
          enum lex_format fmt, int lang, int required)
{
    char *buf = NULL;
    size_t len = 0;
    tocsin_err e = slurp(dir, name, required, &buf, &len);
    if (e == TOCSIN_ENOENT && !required)
        return TOCSIN_OK;
    if (e)
        return e;
    e = parse_lexicon(s, name, buf, len, fmt, lang, !required);
    free(buf);
    return e;
}

tocsin_err
tocsin_sentiment_new(struct tocsin_sentiment **out, const char *lexdir)
{
    if (!out || !lexdir) {
        tocsin_log_warn("SENTIMENT-LEXICON", "no lexicon directory given");
        return TOCSIN_EINVAL;
    }
    struct tocsin_sentiment *s = calloc(1, sizeof *s);
    if (!s)
        return TOCSIN_ENOMEM;
    tocsin_err e = grow_slots(s, 1u << 15);
    if (e)
        goto out;
    /* Rules first so that their flags exist; values come from files. */
    if ((e = put_builtins(s)))
        goto out;
    if ((e = load_file(s, lexdir, "en/vader_lexicon.txt", FMT_VADER, SENT_EN,
                       1)) ||
        (e = load_file(s, lexdir, "fr/vader_fr_lexicon.txt", FMT_ARROW, SENT_FR,
                       1)) ||
        (e = load_file(s, lexdir, "emoji/Emoji_Sentiment_Data_v1.0.csv",
                       FMT_EMOJI, SENT_EN, 1)) ||
        (e = load_file(s, lexdir, "en/tocsin_en_overrides.txt", FMT_TSV,
                       SENT_EN, 0)) ||
        (e = load_file(s, lexdir, "fr/tocsin_fr_overrides.txt", FMT_TSV,
                       SENT_FR, 0)) ||
        (e = put_french_forms(s)))
        goto out;
    mark_interjections(s);
    *out = s;
    s = NULL;
out:
    if (e == TOCSIN_ENOMEM)
        tocsin_log_warn("SENTIMENT-LEXICON", "out of memory loading %s",
                        lexdir);
    tocsin_sentiment_free(s);
    return e;
}

void
tocsin_sentiment_free(struct tocsin_sentiment *s)
{
    if (!s)
        return;
    free(s->ents);
    free(s->slots);
    free(s->keys);
    free(s);
}
