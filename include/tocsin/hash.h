/*
 * hash.h: FNV-1a, 64 bits: the one non-cryptographic hash of the project
 * (topic index, fingerprints, dedup ids, silence and note ids).
 *
 * Pure, no state: any thread.
 */
#ifndef TOCSIN_HASH_H
#define TOCSIN_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TOCSIN_FNV_OFFSET 0xcbf29ce484222325ULL

/* h (TOCSIN_FNV_OFFSET to start) carried over n bytes at p. */
static inline uint64_t
tocsin_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#endif
