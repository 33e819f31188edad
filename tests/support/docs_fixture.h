/*
 * docs_fixture.h: whether the shipped configuration docs (conf/tocsind.conf,
 * the annotated example, and conf/tocsin.conf.5, the manual page) mention
 * every configuration key a test lists.  Reads the source tree; pure
 * otherwise.
 */
#ifndef TOCSIN_DOCS_FIXTURE_H
#define TOCSIN_DOCS_FIXTURE_H

#include <stddef.h>

/*
 * How many (file, key) pairs are missing, each printed to stderr as
 * "<file> does not mention <key>"; -1 (printed too) when a file cannot be
 * read.
 */
int tocsin_test_docs_missing(const char *const *keys, size_t n);

#endif
