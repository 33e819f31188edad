/*
 * clock.h: the process's clocks, for the edges only (daemon loop, delivery
 * thread, HTTP listener, ingest's idle watermark).  The detection and
 * on-call cores never call these: time is their argument.  Thread-safe.
 */
#ifndef TOCSIN_CLOCK_H
#define TOCSIN_CLOCK_H

#include <stdint.h>

/* Wall-clock time, epoch milliseconds (CLOCK_REALTIME). */
int64_t tocsin_wall_ms(void);

/* Monotonic milliseconds for timeouts and intervals (CLOCK_MONOTONIC). */
int64_t tocsin_mono_ms(void);

#endif
