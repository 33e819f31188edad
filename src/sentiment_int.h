/*
 * sentiment_int.h: internals shared by sentiment_lex.c (loading, hash
 * table) and sentiment.c (tokeniser, scoring).  Not installed.
 *
 * All lexicons live in one open-addressing hash table keyed by the
 * normalised token (lower-cased UTF-8, typographic apostrophes folded to
 * ASCII).  Each entry carries a valence and word-class flags for English
 * and for French, so one probe answers both languages.  Multi-word
 * lexicon entries (idioms) are keyed by their words joined with one space;
 * their first word carries a phrase bit so that the scorer only tries a
 * phrase lookup where one can match.  The table is built
 * by tocsin_sentiment_new() and read-only afterwards.
 */
#ifndef TOCSIN_SENTIMENT_INT_H
#define TOCSIN_SENTIMENT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tocsin/err.h"

#define SENT_EN 0
#define SENT_FR 1

/* Word-class flags, per language. */
#define SF_NEG   0x01u /* negator: not, never, pas, jamais, sans ... */
#define SF_BOOST 0x02u /* booster or dampener, value in boost[] */
#define SF_BUT   0x04u /* contrast: but, mais */
#define SF_STOP  0x08u /* frequent function word, for language detection */
#define SF_NE    0x10u /* French "ne" / "n'" */
#define SF_NEGNE 0x20u /* negates only after "ne" (plus, que) */
#define SF_NO    0x40u /* English "no" */
#define SF_LEAST 0x80u /* English "least" */
/* English only, sharing the bits of the French-only SF_NE and SF_NEGNE: */
#define SF_SUBJ 0x10u /* pronoun or auxiliary: a following "like" is a verb */
#define SF_LIKE 0x20u /* "like": sentiment only as a verb */
/* French only, sharing the bit of the English-only SF_NO: */
#define SF_ROMANCE 0x40u /* Spanish/Italian/Portuguese function word */

/* sent_entry.emo bits.  Both mark a token that says how the author feels
 * about the whole text, so no negation, booster or emphasis applies. */
#define SENT_EMO_SYMBOL 0x1u /* emoji or emoticon */
#define SENT_EMO_INTERJ 0x2u /* laughter or reaction word: lol, haha, mdr */

/* sent_entry.phr: the phrase bits, and a bit for the few words that
 * rules in sentiment.c name ("of" in "kind of", "without" in "without
 * doubt", "so" ...), so that the scorer compares keys only where one of
 * them stands. */
#define SENT_PHR_MASK  0x0Fu
#define SENT_RULE_WORD 0x10u

/* Longest normalised token that is looked up. */
#define SENT_MAX_KEY 64
/* Phrases ("can't wait", "n' importe quoi") have at most this many words;
 * their key is the words' keys joined by one space. */
#define SENT_MAX_PHRASE 3

struct sent_entry {
    uint32_t hash;
    uint32_t key_off;
    uint16_t key_len;
    uint8_t has;      /* bit L set: val[L] is a lexicon valence */
    uint8_t emo;      /* SENT_EMO_* bits: no negation, boost or caps */
    uint8_t derived;  /* bit L set: val[L] came from an accented spelling */
    uint8_t flags[2]; /* SF_* for SENT_EN, SENT_FR */
    uint8_t phr;      /* bit L: starts a two-word phrase of language L,
                       * bit L + 2: starts a three-word phrase;
                       * SENT_RULE_WORD: a word a rule looks for */
    float val[2];     /* VADER scale, about -4 .. +4 */
    float boost[2];   /* booster increment when SF_BOOST */
};

struct tocsin_sentiment {
    struct sent_entry *ents;
    uint32_t nents, ents_cap;
    uint64_t *slots; /* hash << 32 | (entry index + 1); 0 = empty */
    uint32_t mask;
    char *keys;
    size_t keys_len, keys_cap;
};

/* FNV-1a, folded; the steps are macros so the tokeniser can hash while it
 * lower-cases. */
#define SENT_HASH_INIT       2166136261u
#define SENT_HASH_STEP(h, c) (((h) ^ (uint32_t)(c)) * 16777619u)
#define SENT_HASH_FINAL(h)   ((h) ^ ((h) >> 15))
uint32_t tocsin_sent_hash(const char *k, size_t n);
/* Lookup with the hash of k already computed. */
const struct sent_entry *tocsin_sent_get_h(const struct tocsin_sentiment *s,
                                           const char *k, size_t n, uint32_t h);

/* The same, inlined for the tokeniser's hot path. */
static inline const struct sent_entry *
sent_lookup(const struct tocsin_sentiment *s, const char *k, size_t n,
            uint32_t h)
{
    for (uint32_t i = h & s->mask;; i = (i + 1) & s->mask) {
        uint64_t sl = s->slots[i];
        if (sl == 0)
            return NULL;
        if ((uint32_t)(sl >> 32) != h)
            continue;
        const struct sent_entry *e = &s->ents[(uint32_t)sl - 1];
        if (e->key_len == n && memcmp(s->keys + e->key_off, k, n) == 0)
            return e;
    }
}
const struct sent_entry *tocsin_sent_get(const struct tocsin_sentiment *s,
                                         const char *k, size_t n);
/* Lower-case (ASCII and Latin-1/Latin Extended-A letters) and fold
 * typographic apostrophes; returns the output length, or 0 if it would
 * not fit in cap bytes. */
size_t tocsin_sent_norm(const char *in, size_t n, char *out, size_t cap);
/* Replace accented Latin letters by their base letters (lower case in,
 * lower case out); returns the output length, 0 if it would not fit. */
size_t tocsin_sent_unaccent(const char *in, size_t n, char *out, size_t cap);

#endif
