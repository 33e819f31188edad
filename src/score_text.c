/*
 * score_text.c: the --score-text mode: one text per input line, one score
 * per output line.  Used by `tocsind --score-text` and by evaluation tools.
 *
 * Owns the scorer it loads and one line buffer (getline), both freed before
 * returning.  Runs on the calling thread; blocking stdio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "tocsin/log.h"
#include "tocsin/sentiment.h"

int
tocsin_score_text_run(const char *lexdir, enum tocsin_lang lang, FILE *in,
                      FILE *out)
{
    struct tocsin_sentiment *s = NULL;
    tocsin_err e = tocsin_sentiment_new(&s, lexdir);
    if (e != TOCSIN_OK) {
        tocsin_log_err("SENTIMENT-LEXICON", "cannot load lexicons from %s: %s",
                       lexdir ? lexdir : "(null)", tocsin_strerror(e));
        return 1;
    }
    int rc = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        double v = tocsin_sentiment_score(s, line, len, lang);
        if (fprintf(out, "%.4f\n", v) < 0) {
            rc = 1;
            break;
        }
    }
    if (rc == 0 && ferror(in)) {
        tocsin_log_err("SENTIMENT-SCORE-TEXT", "error reading input");
        rc = 1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        if (rc == 0)
            tocsin_log_err("SENTIMENT-SCORE-TEXT", "error writing output");
        rc = 1;
    }
    free(line);
    tocsin_sentiment_free(s);
    return rc;
}
