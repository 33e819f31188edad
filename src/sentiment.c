/*
 * sentiment.c: the sentiment scorer's hot path: tokeniser, language guess
 * and VADER-style rules, for English and French.
 *
 * Owns nothing: it reads the immutable lexicon table built by
 * sentiment_lex.c and keeps all per-text state on the stack (a block of at
 * most TOK_CAP tokens; longer texts are scored block by block with three
 * tokens of context carried over).  Pure and thread-safe; any thread may
 * call it (ingest workers in the daemon, the --score-text loop).
 */
#include "sentiment_int.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "tocsin/sentiment.h"

#define TOK_CAP        256 /* tokens per block */
#define CHUNK_MAX_TOKS 64  /* tokens kept from one whitespace-free run */
#define CHUNK_BUF      256 /* bytes of one run decoded at a time */

/* VADER's constants (Hutto & Gilbert 2014, vaderSentiment 3.3.2). */
#define C_INCR     0.733
#define N_SCALAR   (-0.74)
#define BUT_BEFORE 0.5
#define BUT_AFTER  1.5
#define EXCL_INCR  0.292
#define QM_INCR    0.18
#define QM_MAX     0.96
#define ALPHA      15.0
#define B_DECR_2W  (-0.293) /* "kind of", "sort of" */
/* Per-language calibration of the negative cut: vader_FR's translated
 * values run a little more negative than VADER's, so a French score is
 * moved up by this much (texts with no signal stay at 0).  Measured on
 * the DEV half (tests/bench/sentiment_eval.sh): the French F1 is flat
 * for a raw cut between -0.06 and -0.07. */
static const double neg_shift[2] = {0.0, 0.015};

/* Elongated words ("soooo good") get the same emphasis as a booster. */
#ifndef ELONG_INCR
#define ELONG_INCR 0.293
#endif

struct tok {
    const struct sent_entry *e; /* NULL: not in any lexicon or list */
    uint8_t caps;               /* ALL-CAPS word */
    uint8_t elong;              /* had a letter repeated 3+ times */
    uint8_t nt;                 /* English contraction ending in n't */
    uint8_t elis;               /* followed a French elision (l', d' ...) */
    uint8_t accent;             /* contained an accented letter */
    uint8_t after_i;            /* came right after the word "I" */
    uint8_t title;              /* Capitalised, not a hashtag part */
    uint8_t sstart;             /* first word of a sentence */
    uint8_t cstart;             /* first word after , ; : . ! ? */
};

struct scan {
    const unsigned char *p, *end;
    int excl, qm;
};

struct block {
    struct tok t[TOK_CAP];
    int n;       /* tokens in t */
    int limit;   /* emit() drops tokens at or past this index */
    int after_i; /* the last word read was "I" (not a token itself) */
    int sstart;  /* the next token starts a sentence */
    int cstart;  /* the next token follows clause punctuation */
    int ncaps;   /* ALL-CAPS tokens pushed so far */
    int ntitle;  /* Capitalised tokens pushed so far */
};

/* Decode one UTF-8 sequence at p (< end); sets *cp, returns its length
 * (1 with *cp = 0xFFFD for an invalid byte). */
static int
utf8_next(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    unsigned char c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1Fu;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0Fu;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07u;
        min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (end - p < n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return n;
}

static int
is_alnum(unsigned char c)
{
    return (unsigned)((c | 0x20) - 'a') < 26u || (unsigned)(c - '0') < 10u;
}

/* Letters of other scripts and accented Latin count as word characters;
 * Latin-1 punctuation (« » ¡ ¿ no-break space ...) and × ÷ do not. */
static int
is_word_cp(uint32_t cp)
{
    if (cp < 0x80)
        return is_alnum((unsigned char)cp);
    if (cp < 0xC0)
        return 0;
    if (cp == 0xD7 || cp == 0xF7)
        return 0;
    return cp < 0x2000;
}

static int
is_apostrophe(uint32_t cp)
{
    return cp == '\'' || cp == 0x2019 || cp == 0x2018 || cp == 0x2BC;
}

static void
push(struct block *b, const struct sent_entry *e, const struct tok *proto)
{
    if (b->n >= b->limit)
        return;
    struct tok *t = &b->t[b->n++];
    *t = *proto;
    b->ncaps += proto->caps;
    b->ntitle += proto->title;
    t->e = e;
    t->after_i = (uint8_t)b->after_i;
    t->sstart = (uint8_t)b->sstart;
    t->cstart = (uint8_t)b->cstart;
    b->cstart = 0;
    b->after_i = 0;
    b->sstart = 0;
}

/* Collapse runs of 3+ equal bytes to `keep` (1 or 2) bytes. */
static size_t
collapse(const char *in, size_t n, char *out, size_t keep)
{
    size_t o = 0, run = 0;
    for (size_t i = 0; i < n; i++) {
        run = (i > 0 && in[i] == in[i - 1]) ? run + 1 : 1;
        if (run <= keep || (unsigned char)in[i] >= 0x80)
            out[o++] = in[i];
    }
    return o;
}

static int
has_run3(const char *w, size_t n)
{
    for (size_t i = 2; i < n; i++)
        if (w[i] == w[i - 1] && w[i] == w[i - 2] &&
            (unsigned char)w[i] < 0x80 && !(w[i] >= '0' && w[i] <= '9'))
            return 1;
    return 0;
}

/* Length of a French elision prefix ("l'", "qu'", "jusqu'") or 0. */
static size_t
elision_len(const char *w, size_t n)
{
    static const char *const pre[] = {"qu'", "jusqu'", "lorsqu'", "puisqu'",
                                      "quoiqu'"};
    if (n >= 3 && w[1] == '\'') {
        switch (w[0]) {
        case 'c':
        case 'd':
        case 'j':
        case 'l':
        case 'm':
        case 'n':
        case 's':
        case 't':
            return 2;
        default:
            return 0;
        }
    }
    if (w[0] != 'q' && w[0] != 'j' && w[0] != 'l' && w[0] != 'p')
        return 0;
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
        size_t pl = strlen(pre[i]);
        if (n > pl && memcmp(w, pre[i], pl) == 0)
            return pl;
    }
    return 0;
}

/* Emit the tokens of one normalised word w: whole-word lookup first, then
 * French elision, elongation, accents and hyphens. */
#define H_JOIN 0x1u /* the word may hold an apostrophe or a hyphen */
#define H_RUN3 0x2u /* the word may hold a letter repeated 3+ times */
#define H_ALL  (H_JOIN | H_RUN3)

static void emit_norm_h(const struct tocsin_sentiment *s, struct block *b,
                        const char *w, size_t n, struct tok proto, int depth,
                        uint32_t h, unsigned hint);

static void
emit_norm(const struct tocsin_sentiment *s, struct block *b, const char *w,
          size_t n, struct tok proto, int depth)
{
    emit_norm_h(s, b, w, n, proto, depth, tocsin_sent_hash(w, n), H_ALL);
}

static void
emit_norm_h(const struct tocsin_sentiment *s, struct block *b, const char *w,
            size_t n, struct tok proto, int depth, uint32_t h, unsigned hint)
{
    const struct sent_entry *e = sent_lookup(s, w, n, h);
    if (e) {
        push(b, e, &proto);
        return;
    }
    if (depth > 2 || (hint == 0 && !proto.accent)) {
        push(b, NULL, &proto);
        return;
    }
    size_t el = elision_len(w, n);
    if (el) {
        if (w[0] == 'n' && el == 2)
            push(b, tocsin_sent_get(s, "n'", 2), &proto);
        else if (w[0] == 'q' && el == 3) /* "qu'un": for "ne ... que" */
            push(b, tocsin_sent_get(s, "que", 3), &proto);
        proto.elis = 1;
        emit_norm(s, b, w + el, n - el, proto, depth + 1);
        return;
    }
    char buf[SENT_MAX_KEY + 8];
    if (has_run3(w, n)) {
        proto.elong = 1;
        size_t cn = collapse(w, n, buf, 2);
        if ((e = tocsin_sent_get(s, buf, cn)) == NULL) {
            cn = collapse(w, n, buf, 1);
            e = tocsin_sent_get(s, buf, cn);
        }
        if (e) {
            push(b, e, &proto);
            return;
        }
    }
    if (proto.accent) {
        size_t un = tocsin_sent_unaccent(w, n, buf, sizeof buf);
        if (un && (e = tocsin_sent_get(s, buf, un)) != NULL) {
            push(b, e, &proto);
            return;
        }
    }
    const char *hy = memchr(w, '-', n);
    if (hy) {
        size_t a = (size_t)(hy - w);
        if (a > 1)
            emit_norm(s, b, w, a, proto, depth + 1);
        if (n - a - 1 > 1)
            emit_norm(s, b, hy + 1, n - a - 1, proto, depth + 1);
        return;
    }
    push(b, NULL, &proto);
}

static void emit_word(const struct tocsin_sentiment *s, struct block *b,
                      const char *w, size_t n, int hashtag);
static int split_camel(const struct tocsin_sentiment *s, struct block *b,
                       const char *w, size_t n);

/* Emit a plain ASCII word w (n <= SENT_MAX_KEY bytes), already lower-cased
 * into nb and hashed (h, not finalised), with its count of upper- and
 * lower-case letters. */
static void
emit_ascii(const struct tocsin_sentiment *s, struct block *b, const char *w,
           const char *nb, size_t n, uint32_t h, int upper, int lower,
           int hashtag, unsigned hint)
{
    struct tok proto = {0};
    proto.caps = upper >= 2 && lower == 0;
    proto.title =
        upper == 1 && lower > 0 && hashtag != 2 && w[0] >= 'A' && w[0] <= 'Z';
    proto.nt = n > 3 && memcmp(nb + n - 3, "n't", 3) == 0;
    uint32_t hf = SENT_HASH_FINAL(h);
    if (hint == 0) {
        /* Nothing to take apart if the word is unknown. */
        push(b, sent_lookup(s, nb, n, hf), &proto);
        return;
    }
    emit_norm_h(s, b, nb, n, proto, 0, hf, hint);
}

static void
emit_word(const struct tocsin_sentiment *s, struct block *b, const char *w,
          size_t n, int hashtag)
{
    if (n < 2) {
        /* VADER ignores one-character tokens; remember "I" for "like". */
        b->after_i = n == 1 && (w[0] | 0x20) == 'i';
        return;
    }
    if (hashtag && split_camel(s, b, w, n))
        return;
    struct tok proto = {0};
    int upper = 0, lower = 0;
    char nb[SENT_MAX_KEY + 8];
    if (n <= SENT_MAX_KEY) {
        /* Fast path for plain ASCII words: lower-case and hash at once. */
        uint32_t h = SENT_HASH_INIT;
        size_t i;
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)w[i];
            if (c >= 0x80)
                break;
            if (c >= 'A' && c <= 'Z') {
                upper++;
                c = (unsigned char)(c + 32);
            } else if (c >= 'a' && c <= 'z') {
                lower++;
            }
            nb[i] = (char)c;
            h = SENT_HASH_STEP(h, c);
        }
        if (i == n) {
            emit_ascii(s, b, w, nb, n, h, upper, lower, hashtag, H_ALL);
            return;
        }
        upper = lower = 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c >= 'A' && c <= 'Z')
            upper++;
        else if (c >= 'a' && c <= 'z')
            lower++;
        else if (c == 0xC3 && i + 1 < n) {
            unsigned char d = (unsigned char)w[i + 1];
            proto.accent = 1;
            if (d >= 0x80 && d <= 0x9E)
                upper++;
            else if (d >= 0x9F)
                lower++;
        }
    }
    proto.caps = upper >= 2 && lower == 0;
    proto.title =
        upper == 1 && lower > 0 && hashtag != 2 &&
        ((w[0] >= 'A' && w[0] <= 'Z') ||
         ((unsigned char)w[0] == 0xC3 && (unsigned char)w[1] <= 0x9E));
    size_t nn = tocsin_sent_norm(w, n, nb, sizeof nb);
    if (nn == 0 || nn > SENT_MAX_KEY) {
        push(b, NULL, &proto);
        return;
    }
    proto.nt = nn > 3 && memcmp(nb + nn - 3, "n't", 3) == 0;
    emit_norm(s, b, nb, nn, proto, 0);
}

/* "#EpicFail" -> "epic" "fail" when the whole tag is unknown; returns 1
 * if it split the tag. */
static int
split_camel(const struct tocsin_sentiment *s, struct block *b, const char *w,
            size_t n)
{
    size_t cuts = 0;
    for (size_t i = 1; i < n; i++)
        if (w[i] >= 'A' && w[i] <= 'Z' && w[i - 1] >= 'a' && w[i - 1] <= 'z')
            cuts++;
    if (cuts == 0)
        return 0;
    char nb[SENT_MAX_KEY + 8];
    size_t nn = tocsin_sent_norm(w, n, nb, sizeof nb);
    if (nn && tocsin_sent_get(s, nb, nn))
        return 0;
    size_t start = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i == n || (w[i] >= 'A' && w[i] <= 'Z' && w[i - 1] >= 'a' &&
                       w[i - 1] <= 'z')) {
            emit_word(s, b, w + start, i - start, 2);
            start = i;
        }
    }
    return 1;
}

/* Decode HTML entities (&amp; &lt; &gt; &quot; &apos; &#NN; &#xNN;). */
static size_t
decode_entities(const unsigned char *in, size_t n, char *out)
{
    static const struct {
        const char *name;
        char c;
    } ent[] = {{"amp;", '&'},  {"lt;", '<'},    {"gt;", '>'},
               {"quot;", '"'}, {"apos;", '\''}, {"nbsp;", ' '}};
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (in[i] != '&') {
            out[o++] = (char)in[i++];
            continue;
        }
        size_t rest = n - i - 1;
        const char *r = (const char *)in + i + 1;
        size_t k;
        for (k = 0; k < sizeof ent / sizeof ent[0]; k++) {
            size_t l = strlen(ent[k].name);
            if (rest >= l && memcmp(r, ent[k].name, l) == 0) {
                out[o++] = ent[k].c;
                i += 1 + l;
                break;
            }
        }
        if (k < sizeof ent / sizeof ent[0])
            continue;
        if (rest >= 3 && r[0] == '#') {
            uint32_t v = 0;
            size_t j = 1;
            int hex = r[1] == 'x' || r[1] == 'X';
            if (hex)
                j++;
            size_t digits = 0;
            for (; j < rest && digits < 7; j++, digits++) {
                char c = r[j];
                int d = (c >= '0' && c <= '9')        ? c - '0'
                        : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                      : -1;
                if (d < 0)
                    break;
                v = v * (hex ? 16u : 10u) + (uint32_t)d;
            }
            if (digits && j < rest && r[j] == ';' && v > 0 && v < 0x80) {
                out[o++] = (char)v;
                i += 1 + j + 1;
                continue;
            }
        }
        out[o++] = '&';
        i++;
    }
    return o;
}

static int
has_emoticon_punct(const char *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)c[i];
        if (x < 0x80 && !is_alnum(x) && x != '\'' && x != '-' && x != '#')
            return 1;
    }
    return 0;
}

/* A whole run that is an emoticon (":-(", "<3", ":D", "xD!!"). */
static const struct sent_entry *
emoticon(const struct tocsin_sentiment *s, const char *c, size_t n)
{
    while (n > 2 && (c[n - 1] == '.' || c[n - 1] == ',' || c[n - 1] == '!' ||
                     c[n - 1] == '?' || c[n - 1] == ';' || c[n - 1] == '"'))
        n--;
    if (n < 2 || n > 12 || !has_emoticon_punct(c, n))
        return NULL;
    const struct sent_entry *e = tocsin_sent_get(s, c, n);
    if (!e || !(e->emo & SENT_EMO_SYMBOL)) {
        char nb[SENT_MAX_KEY + 8];
        size_t nn = tocsin_sent_norm(c, n, nb, sizeof nb);
        e = nn ? tocsin_sent_get(s, nb, nn) : NULL;
    }
    return e && (e->emo & SENT_EMO_SYMBOL) ? e : NULL;
}

/* Tokenise one decoded run of non-blank bytes. */
static void
scan_run(const struct tocsin_sentiment *s, struct block *b, const char *c,
         size_t n, int punct)
{
    const struct sent_entry *e = punct ? emoticon(s, c, n) : NULL;
    if (e) {
        struct tok proto = {0};
        push(b, e, &proto);
        return;
    }
    const unsigned char *p = (const unsigned char *)c, *end = p + n;
    while (p < end) {
        uint32_t cp;
        int l;
        if (is_alnum(*p)) {
            /* Fast path: a plain ASCII word is lower-cased and hashed
             * while its end is found.  Anything else (accents, a
             * typographic apostrophe, a hashtag) goes the general way. */
            const unsigned char *w = p;
            char nb[CHUNK_BUF]; /* a run is at most CHUNK_BUF bytes */
            uint32_t h = SENT_HASH_INIT;
            int up = 0, lo = 0, run = 0;
            unsigned hint = 0;
            size_t k = 0;
            unsigned char prev = 0;
            for (;;) {
                unsigned char ch = *p;
                if ((unsigned)(ch - 'a') < 26u) {
                    lo++;
                } else if ((unsigned)(ch - 'A') < 26u) {
                    up++;
                    ch = (unsigned char)(ch + 32);
                } else if ((unsigned)(ch - '0') < 10u) {
                    ;
                } else if ((ch == '\'' || ch == '-') && p + 1 < end &&
                           is_alnum(p[1])) {
                    hint |= H_JOIN;
                } else {
                    break;
                }
                run = ch == prev ? run + 1 : 1;
                if (run >= 3 && ch > '9')
                    hint |= H_RUN3;
                prev = ch;
                nb[k++] = (char)ch;
                h = SENT_HASH_STEP(h, ch);
                if (++p == end)
                    break;
            }
            size_t wn = (size_t)(p - w);
            int hashtag = w > (const unsigned char *)c && w[-1] == '#';
            if (p < end && (*p >= 0x80 || ((*p == '\'' || *p == '-') &&
                                           p + 1 < end && p[1] >= 0x80))) {
                p = w; /* the word goes on beyond ASCII */
            } else if (wn < 2 || wn > SENT_MAX_KEY || hashtag) {
                emit_word(s, b, (const char *)w, wn, hashtag);
                continue;
            } else {
                emit_ascii(s, b, (const char *)w, nb, wn, h, up, lo, 0, hint);
                continue;
            }
        }
        if (*p < 0x80) {
            if (!is_alnum(*p)) {
                p++;
                continue;
            }
            cp = *p;
            l = 1;
        } else {
            l = utf8_next(p, end, &cp);
        }
        if (is_word_cp(cp)) {
            const unsigned char *w = p;
            p += l;
            while (p < end) {
                if (is_alnum(*p)) {
                    p++;
                    continue;
                }
                l = utf8_next(p, end, &cp);
                if (is_word_cp(cp)) {
                    p += l;
                    continue;
                }
                if (is_apostrophe(cp) || cp == '-') {
                    uint32_t nx;
                    if (p + l < end && (utf8_next(p + l, end, &nx), 1) &&
                        is_word_cp(nx)) {
                        p += l;
                        continue;
                    }
                }
                break;
            }
            emit_word(s, b, (const char *)w, (size_t)(p - w),
                      w > (const unsigned char *)c && w[-1] == '#');
            continue;
        }
        if (cp >= 0x2000 && cp != 0xFFFD) {
            /* Emoji and symbols: one token each, modifiers skipped. */
            if (!(cp == 0xFE0F || cp == 0x200D || cp == 0x20E3 ||
                  (cp >= 0x1F3FB && cp <= 0x1F3FF))) {
                const struct sent_entry *x =
                    tocsin_sent_get(s, (const char *)p, (size_t)l);
                if (x) {
                    struct tok proto = {0};
                    push(b, x, &proto);
                }
            }
        }
        p += l;
    }
}

/* Byte classes for the run scanner. */
#define C_SPACE 0x01u
#define C_EXCL  0x02u
#define C_QM    0x04u
#define C_AMP   0x08u
#define C_PUNCT 0x10u /* ASCII punctuation an emoticon may hold */
static const uint8_t byte_class[256] = {
    [' '] = C_SPACE,          ['\t'] = C_SPACE,        ['\n'] = C_SPACE,
    ['\r'] = C_SPACE,         ['\v'] = C_SPACE,        ['\f'] = C_SPACE,
    ['!'] = C_PUNCT | C_EXCL, ['"'] = C_PUNCT,         ['$'] = C_PUNCT,
    ['%'] = C_PUNCT,          ['&'] = C_PUNCT | C_AMP, ['('] = C_PUNCT,
    [')'] = C_PUNCT,          ['*'] = C_PUNCT,         ['+'] = C_PUNCT,
    [','] = C_PUNCT,          ['.'] = C_PUNCT,         ['/'] = C_PUNCT,
    [':'] = C_PUNCT,          [';'] = C_PUNCT,         ['<'] = C_PUNCT,
    ['='] = C_PUNCT,          ['>'] = C_PUNCT,         ['?'] = C_PUNCT | C_QM,
    ['@'] = C_PUNCT,          ['['] = C_PUNCT,         ['\\'] = C_PUNCT,
    [']'] = C_PUNCT,          ['^'] = C_PUNCT,         ['_'] = C_PUNCT,
    ['`'] = C_PUNCT,          ['{'] = C_PUNCT,         ['|'] = C_PUNCT,
    ['}'] = C_PUNCT,          ['~'] = C_PUNCT,
};

/* Fill b with tokens; returns 1 if text remains for another block. */
static int
fill(const struct tocsin_sentiment *s, struct scan *sc, struct block *b)
{
    char buf[CHUNK_BUF * 2];
    for (;;) {
        const unsigned char *q = sc->p, *qe = sc->end;
        while (q < qe && (byte_class[*q] & C_SPACE))
            q++;
        sc->p = q;
        if (q >= qe)
            return 0;
        if (b->n + CHUNK_MAX_TOKS > TOK_CAP)
            return 1;
        const unsigned char *r = q;
        int excl = 0, qm = 0;
        unsigned seen = 0;
        while (q < qe) {
            unsigned k = byte_class[*q];
            if (k) {
                if (k & C_SPACE)
                    break;
                seen |= k;
                excl += (k & C_EXCL) != 0;
                qm += (k & C_QM) != 0;
            }
            q++;
        }
        sc->p = q;
        int amp = (seen & C_AMP) != 0, punct = (seen & C_PUNCT) != 0;
        size_t n = (size_t)(q - r);
        if (r[0] == '@') {
            b->sstart = 1; /* "@user Great news": a new start */
            continue;      /* a mention */
        }
        if (n >= 4 && ((((r[0] | 0x20) == 'h' && (r[1] | 0x20) == 't' &&
                         (r[2] | 0x20) == 't' && (r[3] | 0x20) == 'p')) ||
                       ((r[0] | 0x20) == 'w' && (r[1] | 0x20) == 'w' &&
                        (r[2] | 0x20) == 'w' && r[3] == '.')))
            continue; /* a URL: its '?' and '!' do not count either */
        sc->excl += excl;
        sc->qm += qm;
        /* Does the run end a sentence, or at least a clause? */
        unsigned char last = r[n - 1];
        int ends = 0, clause = 0;
        if ((byte_class[last] & C_PUNCT) || last == '\'' || last >= 0x80) {
            if (n >= 2 && (last == '"' || last == ')' || last == '\''))
                last = r[n - 2];
            ends = last == '.' || last == '!' || last == '?' || last == ':' ||
                   (last == ';' && !amp) || /* not "&gt;" */
                   (n >= 3 && last == 0xA6 && r[n - 2] == 0x80 &&
                    r[n - 3] == 0xE2); /* "…" */
            clause = ends || last == ',';
        }
        if (!amp && n <= CHUNK_BUF) {
            b->limit = b->n + CHUNK_MAX_TOKS;
            scan_run(s, b, (const char *)r, n, punct);
            if (clause) {
                b->sstart |= ends;
                b->cstart = 1;
            }
            continue;
        }
        b->limit = b->n + CHUNK_MAX_TOKS;
        while (n > 0 && b->n < b->limit) {
            size_t take = n;
            if (take > CHUNK_BUF) {
                take = CHUNK_BUF;
                while (take > 1 && (r[take] & 0xC0) == 0x80)
                    take--;
            }
            size_t dn = decode_entities(r, take, buf);
            scan_run(s, b, buf, dn, 1);
            r += take;
            n -= take;
        }
        if (clause) {
            b->sstart |= ends;
            b->cstart = 1;
        }
    }
}

/* Evidence in half points: stopwords 2, elisions 2, accented words 1,
 * words only one lexicon knows 1; Spanish, Italian or Portuguese function
 * words ("el", "los", "del") take 2 from French, whose "la" and "de" they
 * share. */
static enum tocsin_lang
guess(const struct tok *t, int n)
{
    int en = 0, fr = 0;
    for (int i = 0; i < n; i++) {
        const struct sent_entry *e = t[i].e;
        fr += 2 * t[i].elis + t[i].accent;
        if (!e)
            continue;
        en += (e->flags[SENT_EN] & SF_STOP) ? 2 : 0;
        fr += (e->flags[SENT_FR] & (SF_STOP | SF_NE)) ? 2 : 0;
        fr -= (e->flags[SENT_FR] & SF_ROMANCE) ? 2 : 0;
        if (!(e->emo & SENT_EMO_SYMBOL)) {
            en += e->has == 1u << SENT_EN;
            fr += e->has == 1u << SENT_FR;
        }
    }
    return fr > en ? TOCSIN_LANG_FR : TOCSIN_LANG_EN;
}

struct acc {
    double pre, post; /* sums before / after the first but/mais */
    int seen_but;
};

static int
has_val(const struct tok *t, int L)
{
    return t->e && (t->e->has >> L & 1u);
}

static unsigned
flags_of(const struct tok *t, int L)
{
    return t->e ? t->e->flags[L] : 0u;
}

/* Whether toks[j] negates what follows, in language L. */
static int
negates(const struct tok *t, int j, int L)
{
    unsigned f = flags_of(&t[j], L);
    if (f & SF_NEG)
        return 1;
    if (L == SENT_EN)
        return t[j].nt;
    if (f & SF_NEGNE)
        for (int k = j - 1; k >= 0 && k >= j - 3; k--)
            if (flags_of(&t[k], L) & SF_NE)
                return 1;
    return 0;
}

/* Whether t is one of the words rules look for (SENT_RULE_WORD). */
static int
rule_word(const struct tok *t)
{
    return t->e && (t->e->phr & SENT_RULE_WORD);
}

static int
key_is(const struct tocsin_sentiment *s, const struct tok *t, const char *k)
{
    size_t n = strlen(k);
    return t->e && t->e->key_len == n &&
           memcmp(s->keys + t->e->key_off, k, n) == 0;
}

/* Whether t[i] (Capitalised, not starting a sentence) belongs to a run
 * of Capitalised words that holds a word no lexicon knows: "Foo
 * Fighters", "Taylor Swift", "Walking Dead", not "Good Luck". */
static int
in_name(const struct tok *t, int n, int i)
{
    int lo = i, hi = i;
    while (lo > 0 && t[lo - 1].title && !t[lo].sstart)
        lo--;
    while (hi + 1 < n && t[hi + 1].title && !t[hi + 1].sstart)
        hi++;
    if (lo == hi)
        return 0;
    for (int j = lo; j <= hi; j++)
        if (!t[j].e)
            return 1;
    return 0;
}

/* The phrase (idiom) starting at t[i] in language L, longest first, or
 * NULL; *span gets its number of words.  Only tokens whose entry carries
 * a phrase bit get here, so plain text pays one bit test per token. */
static const struct sent_entry *
phrase_at(const struct tocsin_sentiment *s, const struct tok *t, int to, int i,
          int L, int *span)
{
    unsigned phr = t[i].e->phr;
    for (int w = SENT_MAX_PHRASE; w >= 2; w--) {
        if (!(phr >> (L + (w == 3 ? 2 : 0)) & 1u) || i + w > to)
            continue;
        char k[SENT_MAX_PHRASE * (SENT_MAX_KEY + 1)];
        size_t n = 0;
        int j;
        for (j = 0; j < w; j++) {
            const struct sent_entry *x = t[i + j].e;
            if (!x)
                break;
            if (j)
                k[n++] = ' ';
            memcpy(k + n, s->keys + x->key_off, x->key_len);
            n += x->key_len;
        }
        if (j < w)
            continue;
        const struct sent_entry *p = tocsin_sent_get(s, k, n);
        if (p && (p->has >> L & 1u)) {
            *span = w;
            return p;
        }
    }
    return NULL;
}

/* VADER's two-word dampeners end at t[j]: "kind of", "sort of", "just
 * enough". */
static int
two_word_dampener(const struct tocsin_sentiment *s, const struct tok *t, int j)
{
    if (!rule_word(&t[j]))
        return 0;
    if (key_is(s, &t[j], "of"))
        return key_is(s, &t[j - 1], "kind") || key_is(s, &t[j - 1], "sort");
    return key_is(s, &t[j], "enough") && key_is(s, &t[j - 1], "just");
}

/* VADER: "no" three words back still negates across "or" ("no fun or
 * joy"); "nor" is a negator of its own. */
static int
no_x_or(const struct tocsin_sentiment *s, const struct tok *t, int i)
{
    return i > 2 && !t[i - 1].cstart && !t[i - 2].cstart &&
           (flags_of(&t[i - 3], SENT_EN) & SF_NO) && key_is(s, &t[i - 1], "or");
}

static int
so_this(const struct tocsin_sentiment *s, const struct tok *t)
{
    return key_is(s, t, "so") || key_is(s, t, "this");
}

/* French "si", "aussi", "tellement": "jamais été aussi heureux" is
 * VADER's "never been so happy". */
static int
si_aussi(const struct tocsin_sentiment *s, const struct tok *t)
{
    return key_is(s, t, "si") || key_is(s, t, "aussi") ||
           key_is(s, t, "tellement");
}

/* Whether the negator t[j] leaves t[i] alone: "without (a) doubt" and
 * "sans (aucun) doute" affirm (VADER's "without doubt"); French "ne ...
 * que" means "only" ("il ne fait que pleurer"). */
static int
not_negation(const struct tocsin_sentiment *s, const struct tok *t, int j,
             int i, int L)
{
    const char *w;
    if (L == SENT_FR && (flags_of(&t[j], L) & SF_NE))
        w = "que";
    else if (!rule_word(&t[j]))
        return 0;
    else if (L == SENT_EN)
        w = key_is(s, &t[j], "without") ? "doubt" : NULL;
    else
        w = key_is(s, &t[j], "sans") ? "doute" : NULL;
    if (w)
        for (int m = j + 1; m < i; m++)
            if (key_is(s, &t[m], w))
                return 1;
    return 0;
}

static void
score_range(const struct tocsin_sentiment *s, const struct tok *t, int n,
            int from, int to, int L, int capdiff, int names, struct acc *a)
{
    for (int i = from; i < to; i++) {
        const struct sent_entry *e = t[i].e;
        if (!e)
            continue;
        unsigned f = e->flags[L];
        if ((f & SF_BUT) && !a->seen_but) {
            a->seen_but = 1;
            continue;
        }
        int span = 1;
        if (e->phr & SENT_PHR_MASK) {
            const struct sent_entry *p = phrase_at(s, t, to, i, L, &span);
            if (p)
                e = p;
        }
        if (!(e->has >> L & 1u))
            continue;
        int next_val = span == 1 && i + 1 < n && has_val(&t[i + 1], L);
        /* A booster with its own valence ("super", "incredibly") boosts
         * the next sentiment word instead of counting itself. */
        if ((f & (SF_BOOST | SF_NO)) && next_val)
            continue;
        /* A Capitalised word inside a run of Capitalised words, not at
         * the start of a sentence, is part of a name ("Foo Fighters",
         * "Taylor Swift", "Grateful Dead"): no sentiment. */
        if (t[i].title && !t[i].sstart && names && in_name(t, n, i)) {
            i += span - 1;
            continue;
        }
        /* "like" is a sentiment word as a verb ("I like it", "they
         * don't like it"), not as a preposition or filler ("looks like
         * rain", "like, whatever"). */
        if ((f & SF_LIKE) && L == SENT_EN && span == 1 && !t[i].after_i &&
            !(i > 0 && (flags_of(&t[i - 1], L) & (SF_SUBJ | SF_NEG))) &&
            !(i > 0 && t[i - 1].nt))
            continue;
        double v = e->val[L];
        if (e->emo) {
            /* Emoji, emoticons and laughter ("lol", "haha", "mdr") say
             * how the author feels about the whole text: no negation or
             * boosting applies to them ("can never leave lmao"). */
            if (a->seen_but)
                a->post += v;
            else
                a->pre += v;
            continue;
        }
        if (L == SENT_EN && !t[i].cstart &&
            ((i > 0 && (flags_of(&t[i - 1], L) & SF_NO)) ||
             (i > 1 && !t[i - 1].cstart && (flags_of(&t[i - 2], L) & SF_NO)) ||
             no_x_or(s, t, i))) {
            v *= N_SCALAR;
        } else {
            if (t[i].caps && capdiff && !e->emo)
                v += v > 0 ? C_INCR : -C_INCR;
            if (t[i].elong && !e->emo)
                v += v > 0 ? ELONG_INCR : -ELONG_INCR;
        }
        /* A phrase that starts with its own negator ("can't wait", "pas
         * terrible") is not negated again by a "ne" before it. */
        int look = span > 1 && negates(t, i, L) ? 0 : 3, negated = 0;
        for (int k = 0; k < look; k++) {
            int j = i - k - 1;
            /* Negation and boosters do not reach across punctuation
             * ("Nope, still clueless"). */
            if (j < 0 || t[j + 1].cstart)
                break;
            unsigned fj = flags_of(&t[j], L);
            /* Sentiment words end VADER's look-back, except a booster
             * with its own valence right before this word. */
            if (has_val(&t[j], L) && !(k == 0 && (fj & SF_BOOST)))
                continue;
            int neg = negates(t, j, L) && !not_negation(s, t, j, i, L);
            if (L == SENT_EN && !neg && j > 0 && !t[j].cstart &&
                two_word_dampener(s, t, j)) {
                /* VADER: "kind of", "sort of", "just enough" dampen. */
                double sc = v < 0 ? -B_DECR_2W : B_DECR_2W;
                v += k == 1 ? sc * 0.95 : k == 2 ? sc * 0.9 : sc;
            }
            if ((fj & SF_BOOST) && !neg) {
                double sc = t[j].e->boost[L];
                if (v < 0)
                    sc = -sc;
                if (t[j].caps && capdiff)
                    sc += v > 0 ? C_INCR : -C_INCR;
                if (k == 1)
                    sc *= 0.95;
                else if (k == 2)
                    sc *= 0.9;
                v += sc;
            }
            if (k == 2 && L == SENT_EN && rule_word(&t[i - 1]) &&
                so_this(s, &t[i - 1])) {
                /* VADER: three words back, "so" or "this" right before
                 * the word makes it a degree ("haven't been this sore",
                 * "I am so happy"): x1.25 and no negation. */
                v *= 1.25;
                break;
            }
            if (neg && L == SENT_EN && key_is(s, &t[j], "never") &&
                (so_this(s, &t[j + 1]) ||
                 (j + 2 < i && so_this(s, &t[j + 2])))) {
                /* VADER: "never so good", "never felt so good" */
                v *= 1.25;
                negated = 1;
                break;
            }
            if (neg && L == SENT_FR && key_is(s, &t[j], "jamais") &&
                (si_aussi(s, &t[j + 1]) ||
                 (j + 2 < i && si_aussi(s, &t[j + 2])))) {
                /* The same in French: "jamais été aussi heureux". */
                v *= 1.25;
                negated = 1;
                break;
            }
            if (neg && (L == SENT_EN || !negated)) {
                v *= N_SCALAR;
                negated = 1;
            }
        }
        /* VADER: "the least funny" negates, "at least" and "the very
         * least" do not. */
        if (L == SENT_EN && i > 0 && (flags_of(&t[i - 1], L) & SF_LEAST) &&
            !(i > 1 &&
              (key_is(s, &t[i - 2], "at") || key_is(s, &t[i - 2], "very"))))
            v *= N_SCALAR;
        i += span - 1;
        if (a->seen_but)
            a->post += v;
        else
            a->pre += v;
    }
}

/* VADER's "some words but not all in ALL CAPS" (*capdiff), and whether
 * Capitalised runs read as names (*names): not when most words are
 * Capitalised, as in a Title Case Headline. */
static void
text_case(const struct block *b, int *capdiff, int *names)
{
    *capdiff = b->ncaps > 0 && b->ncaps < b->n;
    *names = b->ntitle * 2 < b->n;
}

enum tocsin_lang
tocsin_sentiment_detect(const struct tocsin_sentiment *s, const char *text,
                        size_t len)
{
    if (!s || !text)
        return TOCSIN_LANG_EN;
    struct scan sc = {(const unsigned char *)text,
                      (const unsigned char *)text + len, 0, 0};
    struct block b;
    b.n = 0;
    b.ncaps = 0;
    b.ntitle = 0;
    b.after_i = 0;
    b.sstart = 1;
    b.cstart = 1;
    fill(s, &sc, &b);
    return guess(b.t, b.n);
}

double
tocsin_sentiment_score(const struct tocsin_sentiment *s, const char *text,
                       size_t len, enum tocsin_lang lang)
{
    if (!s || !text || len == 0)
        return 0.0;
    struct scan sc = {(const unsigned char *)text,
                      (const unsigned char *)text + len, 0, 0};
    struct block b;
    struct acc a = {0, 0, 0};
    int from = 0, first = 1, L = SENT_EN, capdiff = 0, names = 0;
    b.n = 0;
    b.ncaps = 0;
    b.ntitle = 0;
    b.after_i = 0;
    b.sstart = 1;
    b.cstart = 1;
    for (;;) {
        int more = fill(s, &sc, &b);
        if (first) {
            if (lang == TOCSIN_LANG_AUTO)
                lang = guess(b.t, b.n);
            L = lang == TOCSIN_LANG_FR ? SENT_FR : SENT_EN;
            text_case(&b, &capdiff, &names);
            first = 0;
        }
        if (!more || b.n < 4) {
            score_range(s, b.t, b.n, from, b.n, L, capdiff, names, &a);
            if (!more)
                break;
            from = b.n;
            continue;
        }
        score_range(s, b.t, b.n, from, b.n - 1, L, capdiff, names, &a);
        memmove(b.t, b.t + b.n - 4, 4 * sizeof b.t[0]);
        b.n = 4;
        from = 3;
    }
    double sum = a.seen_but ? a.pre * BUT_BEFORE + a.post * BUT_AFTER : a.pre;
    if (sum != 0.0) {
        double amp =
            (sc.excl > 4 ? 4 : (sc.excl < 0 ? 0 : sc.excl)) * EXCL_INCR;
        if (sc.qm > 1)
            amp += sc.qm <= 3 ? sc.qm * QM_INCR : QM_MAX;
        sum += sum > 0 ? amp : -amp;
    }
    double c = sum / sqrt(sum * sum + ALPHA);
    if (c != 0.0)
        c += neg_shift[L];
    if (c > 1.0)
        c = 1.0;
    if (c < -1.0)
        c = -1.0;
    return c;
}

enum tocsin_lang
tocsin_lang_parse(const char *s)
{
    if (!s)
        return TOCSIN_LANG_AUTO;
    size_t n = strcspn(s, "-_.@");
    if ((n == 2 && strncasecmp(s, "en", 2) == 0) ||
        (n == 3 && strncasecmp(s, "eng", 3) == 0) ||
        strcasecmp(s, "english") == 0)
        return TOCSIN_LANG_EN;
    if ((n == 2 && strncasecmp(s, "fr", 2) == 0) ||
        (n == 3 &&
         (strncasecmp(s, "fra", 3) == 0 || strncasecmp(s, "fre", 3) == 0)) ||
        strcasecmp(s, "french") == 0 || strcasecmp(s, "francais") == 0 ||
        strcmp(s, "français") == 0 || strcmp(s, "Français") == 0)
        return TOCSIN_LANG_FR;
    return TOCSIN_LANG_AUTO;
}

const char *
tocsin_lang_name(enum tocsin_lang lang)
{
    switch (lang) {
    case TOCSIN_LANG_EN:
        return "en";
    case TOCSIN_LANG_FR:
        return "fr";
    case TOCSIN_LANG_AUTO:
        break;
    }
    return "auto";
}
