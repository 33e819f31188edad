/*
 * replay.h: `tocsind --replay`: mentions as JSON lines in, alert events
 * (the webhook body, one per line) and optionally per-bucket scores out.
 *
 * Runs the same engine as the daemon with the clock taken out: nothing is
 * suppressed as "old", and at the end of the input the buckets that hold
 * data are closed.  Same input and config give byte-identical output.
 * Runs on the calling thread.
 */
#ifndef TOCSIN_REPLAY_H
#define TOCSIN_REPLAY_H

#include <stdio.h>

#include "tocsin/config.h"
#include "tocsin/err.h"

struct tocsin_sentiment;

struct tocsin_replay_result {
    unsigned long long lines, mentions, rejected, events, rows;
};

/*
 * Read in to the end; write events (and with scores, one line per topic
 * and closed bucket) to out; report each rejected line on err as
 * "<name>:<line>: <reason>".  scorer may be NULL.
 */
tocsin_err tocsin_replay_run(const struct tocsin_config *cfg, FILE *in,
                             const char *name, FILE *out, FILE *err,
                             int scores,
                             const struct tocsin_sentiment *scorer,
                             struct tocsin_replay_result *res);

#endif
