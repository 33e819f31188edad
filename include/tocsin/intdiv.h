/*
 * intdiv.h: floor division of 64-bit integers (C's `/` truncates toward
 * zero; times before the epoch, bucket and day indices need floor).
 *
 * Pure, no state: any thread.
 */
#ifndef TOCSIN_INTDIV_H
#define TOCSIN_INTDIV_H

#include <stdint.h>

/* floor(a / b), b != 0. */
static inline int64_t
tocsin_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && ((a < 0) != (b < 0)));
}

#endif
