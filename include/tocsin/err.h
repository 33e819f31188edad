/*
 * err.h: tocsin's error codes.
 *
 * Every fallible function returns a tocsin_err; TOCSIN_OK is 0.  Codes are
 * appended, never renumbered (scripts and logs may quote the numbers).
 * Detail is logged where the failure happens; the code only says its kind.
 * Pure and thread-safe.
 */
#ifndef TOCSIN_ERR_H
#define TOCSIN_ERR_H

typedef enum {
    TOCSIN_OK = 0,
    TOCSIN_ENOMEM = 1,    /* allocation failed */
    TOCSIN_EINVAL = 2,    /* invalid argument or input */
    TOCSIN_EIO = 3,       /* I/O or system call failed */
    TOCSIN_EPROTO = 4,    /* peer answered something unexpected */
    TOCSIN_ETIMEDOUT = 5, /* gave up waiting */
    TOCSIN_ENOENT = 6,    /* no such thing */
    TOCSIN_ERANGE = 7,    /* value out of range or too large */
    TOCSIN_EAGAIN = 8,    /* try again later (transient) */
    TOCSIN_ECONFIG = 9,   /* configuration is invalid */
} tocsin_err;

/* A short English description of e (never NULL). */
const char *tocsin_strerror(tocsin_err e);

#endif
