/*
 * terms.h: emerging terms, the words and hashtags whose frequency rose most
 * in a topic's hot window against the topic's usual talk.
 *
 * Per topic (only for topics whose mentions carry text) a struct
 * tocsin_terms keeps a small sketch of usual term frequencies (two rows of
 * 64 decayed counters, 256 bytes) and, only while the topic runs hot, a
 * table of the terms of the hot window with their spelling.  Words are
 * lower-cased, stop words (English and French) and links, @handles and very
 * short words are skipped, and so are the words of the topic's own name.
 *
 * Pure and deterministic; the owner (the engine) serialises it with the
 * topic.  Not thread-safe: one topic, one thread.
 */
#ifndef TOCSIN_TERMS_H
#define TOCSIN_TERMS_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"

#define TOCSIN_TERMS_MAX     5  /* terms reported */
#define TOCSIN_TERM_BYTES    24 /* longest term kept */

struct tocsin_terms;

/* A new, empty state; NULL when out of memory. */
struct tocsin_terms *tocsin_terms_new(void);
void tocsin_terms_free(struct tocsin_terms *t);

/* Learn one text as usual talk (when the topic is calm). */
void tocsin_terms_learn(struct tocsin_terms *t, const char *text, size_t len,
                        const char *topic);

/* Count one text into the hot window (allocating the table on first use);
 * returns TOCSIN_ENOMEM when the table cannot be had. */
tocsin_err tocsin_terms_hot(struct tocsin_terms *t, const char *text,
                            size_t len, const char *topic);

/* Forget the hot window (the episode is over). */
void tocsin_terms_cool(struct tocsin_terms *t);

/* 1 while a hot window is being counted. */
int tocsin_terms_is_hot(const struct tocsin_terms *t);

/*
 * The emerging terms of the hot window, strongest first, into out[0..n)
 * (pointers valid until the next call on t).  A term needs at least 3
 * mentions and twice its usual share.
 */
size_t tocsin_terms_top(struct tocsin_terms *t,
                        const char *out[TOCSIN_TERMS_MAX]);

/* Serialise into a caller-growable buffer through put(); restore from the
 * bytes at *p (advancing it).  Returns 0, or -1 on a short/invalid input. */
int tocsin_terms_save(const struct tocsin_terms *t,
                      int (*put)(void *arg, const void *p, size_t n),
                      void *arg);
int tocsin_terms_load(struct tocsin_terms **out, const unsigned char **p,
                      const unsigned char *end);

#endif
