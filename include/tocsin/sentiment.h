/*
 * sentiment.h: tocsin's built-in sentiment scorer (English and French).
 *
 * Job: give a mention's text a VADER-style "compound" score in [-1, 1]
 * when it arrives without an upstream score.  The scorer is lexicon based
 * (VADER for English, vader_FR plus tocsin's French corrections, the Emoji
 * Sentiment Ranking for emoji) with VADER's rules: negation, boosters and
 * dampeners, ALL-CAPS emphasis, "!" amplification, "but"/"mais" contrast,
 * plus elongated words, hashtags, HTML entities, French elision and
 * accent-insensitive lookups, idioms (multi-word lexicon entries),
 * negation bounded by punctuation, emoji, emoticons and laughter never
 * negated, "like" as a verb only, sentiment words inside names left out,
 * French inflected forms, VADER's special cases carried over to French
 * ("ne ... que", "jamais aussi", "sans doute") and a per-language
 * calibration of the negative cut.  URLs and @mentions are ignored.
 *
 * Ownership: tocsin_sentiment_new() loads every lexicon into one
 * open-addressing hash table owned by the returned object; the caller frees
 * it with tocsin_sentiment_free().  The object is immutable after _new, so
 * any number of threads may call tocsin_sentiment_score() on it at once.
 * Scoring is pure and does not allocate.
 */
#ifndef TOCSIN_SENTIMENT_H
#define TOCSIN_SENTIMENT_H

#include <stddef.h>
#include <stdio.h>

#include "tocsin/err.h"

enum tocsin_lang { TOCSIN_LANG_AUTO = 0, TOCSIN_LANG_EN, TOCSIN_LANG_FR };

/* Score at or below which a text counts as negative (VADER's convention). */
#define TOCSIN_SENTIMENT_NEG_THRESHOLD (-0.05)

struct tocsin_sentiment;

/*
 * Load the lexicons found under lexdir (borrowed):
 *   en/vader_lexicon.txt, fr/vader_fr_lexicon.txt,
 *   emoji/Emoji_Sentiment_Data_v1.0.csv           (all required)
 *   fr/tocsin_fr_overrides.txt, en/tocsin_en_overrides.txt  (optional)
 * On success *out owns the scorer.  A missing or unreadable file is logged
 * (SENTIMENT-LEXICON) and gives TOCSIN_ENOENT or TOCSIN_EIO; a lexicon with
 * no usable line gives TOCSIN_EINVAL; allocation failure TOCSIN_ENOMEM.
 */
tocsin_err tocsin_sentiment_new(struct tocsin_sentiment **out,
                                const char *lexdir);

/* Free s and everything it owns.  NULL is a no-op. */
void tocsin_sentiment_free(struct tocsin_sentiment *s);

/*
 * Parse a language tag: "en", "EN", "en-US", "en_GB", "english", "fr",
 * "fr_FR", "fr-CA", "french", "français", "auto".  NULL, "" and anything
 * else give TOCSIN_LANG_AUTO.
 */
enum tocsin_lang tocsin_lang_parse(const char *s);

/* "en", "fr" or "auto". */
const char *tocsin_lang_name(enum tocsin_lang lang);

/*
 * Guess the language of text (len bytes of UTF-8, need not be
 * NUL-terminated) from stopwords, French elisions and accented letters.
 * Never returns TOCSIN_LANG_AUTO; defaults to TOCSIN_LANG_EN.  Pure.
 */
enum tocsin_lang tocsin_sentiment_detect(const struct tocsin_sentiment *s,
                                         const char *text, size_t len);

/*
 * Score text (len bytes of UTF-8, need not be NUL-terminated; invalid
 * sequences are skipped) in [-1, 1] with VADER "compound" semantics: the
 * text is negative when the score is <= TOCSIN_SENTIMENT_NEG_THRESHOLD.
 * lang TOCSIN_LANG_AUTO detects English vs French first.  Text with no
 * sentiment signal (including empty text) scores 0.  Only the first 4096
 * tokens of a very long text are read.  Pure, thread-safe, no allocation.
 */
double tocsin_sentiment_score(const struct tocsin_sentiment *s,
                              const char *text, size_t len,
                              enum tocsin_lang lang);

/*
 * The --score-text contract: load the lexicons from lexdir, then read one
 * text per line from in (LF or CRLF, any length) and write one score per
 * line to out ("%.4f\n"), in the same order.  Returns 0 on success and
 * non-zero if the lexicons cannot be loaded or a read or write fails (the
 * reason is logged).
 */
int tocsin_score_text_run(const char *lexdir, enum tocsin_lang lang, FILE *in,
                          FILE *out);

#endif
