/*
 * mention.h: decoding one mention from a stream entry or a JSON line.
 *
 * A mention arrives either as one field `json` holding a JSON object, or as
 * the same attributes in flat stream fields (no JSON to parse: the fast
 * path).  Decoding validates the contract and, when the entry breaks it,
 * says why in a short reason that goes to the dead-letter stream.
 *
 * The decoded struct borrows its strings from the input (the field buffers
 * or the JSON text) and, for JSON strings that held escapes, from the
 * caller's scratch buffer; it is valid while those live and until the
 * scratch is used again.  Nothing is allocated per entry (the scratch grows
 * once to the longest input).  Pure: no I/O, no clock.  Thread-safe with
 * one scratch per thread.
 */
#ifndef TOCSIN_MENTION_H
#define TOCSIN_MENTION_H

#include <stddef.h>
#include <stdint.h>

#include "tocsin/err.h"

#define TOCSIN_MENTION_MAX_TOPICS 16

/* A borrowed byte string (not necessarily NUL-terminated). */
struct tocsin_str {
    const char *p;
    size_t n;
};

struct tocsin_mention {
    struct tocsin_str topics[TOCSIN_MENTION_MAX_TOPICS];
    size_t ntopics;
    int64_t ts_ms;       /* event time, epoch ms */
    struct tocsin_str id, text, lang, source, author, url; /* n == 0: absent */
    int64_t followers;   /* -1 when unknown */
    double sentiment;    /* valid when has_sentiment */
    int has_sentiment;
    uint32_t count;      /* mentions this record stands for, >= 1 */
    uint32_t negative;   /* negatives among them, valid when has_negative */
    int has_negative;
};

/*
 * Where JSON strings with escapes are unescaped.  Owned by the caller:
 * tocsin_mention_scratch_init, then _fini when done (frees the buffer).
 */
struct tocsin_mention_scratch {
    char *buf;
    size_t cap;
};

void tocsin_mention_scratch_init(struct tocsin_mention_scratch *sc);
void tocsin_mention_scratch_fini(struct tocsin_mention_scratch *sc);

struct tocsin_mention_limits {
    size_t max_entry_bytes; /* whole entry */
    size_t max_field_bytes; /* any one field */
};

/*
 * Decode a stream entry given as nfields name/value pairs.  default_ts_ms is
 * used when there is no `ts` (the entry ID's time).  On success fills *m
 * and returns TOCSIN_OK; on a contract violation returns TOCSIN_EINVAL and
 * writes a reason such as "sentiment: 7 is outside [-1, 1]" into reason
 * (always NUL-terminated), leaving *m untouched.  TOCSIN_ENOMEM when the
 * scratch cannot grow.  sc is used for a `json` field.
 */
tocsin_err tocsin_mention_decode_fields(struct tocsin_mention *m,
                                        const struct tocsin_str *names,
                                        const struct tocsin_str *values,
                                        size_t nfields, int64_t default_ts_ms,
                                        const struct tocsin_mention_limits *lim,
                                        struct tocsin_mention_scratch *sc,
                                        char *reason, size_t reasonlen);

/*
 * Decode one JSON object given as text (a replay line or a `json` field).
 * Accepts the JSON documents jansson's json_loadb(JSON_REJECT_DUPLICATES)
 * accepts (duplicate keys are looked for among the first 256 keys of the
 * objects open at a time); a syntax error gives the reason
 * "not JSON: <what> at column <byte>" and wins over an attribute's error,
 * as when the whole document is parsed first.
 */
tocsin_err tocsin_mention_decode_json(struct tocsin_mention *m,
                                      const char *text, size_t len,
                                      int64_t default_ts_ms,
                                      const struct tocsin_mention_limits *lim,
                                      struct tocsin_mention_scratch *sc,
                                      char *reason, size_t reasonlen);

/*
 * Parse an event time: epoch milliseconds (digits, optionally with a
 * fraction) or RFC 3339 ("2026-11-22T07:45:00Z", "...+01:00", fractional
 * seconds allowed).  Returns TOCSIN_OK and writes *out, or TOCSIN_EINVAL.
 */
tocsin_err tocsin_parse_time(const char *s, size_t n, int64_t *out);

/* Format epoch ms as RFC 3339 UTC with milliseconds into buf (>= 25 bytes). */
void tocsin_format_time(int64_t ms, char *buf, size_t n);

#endif
