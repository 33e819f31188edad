/*
 * err.c: descriptions of tocsin's error codes.  Pure, thread-safe.
 */
#include "tocsin/err.h"

const char *
tocsin_strerror(tocsin_err e)
{
    switch (e) {
    case TOCSIN_OK:
        return "success";
    case TOCSIN_ENOMEM:
        return "out of memory";
    case TOCSIN_EINVAL:
        return "invalid argument";
    case TOCSIN_EIO:
        return "input/output error";
    case TOCSIN_EPROTO:
        return "protocol error";
    case TOCSIN_ETIMEDOUT:
        return "timed out";
    case TOCSIN_ENOENT:
        return "not found";
    case TOCSIN_ERANGE:
        return "out of range";
    case TOCSIN_EAGAIN:
        return "temporarily unavailable";
    case TOCSIN_ECONFIG:
        return "invalid configuration";
    }
    return "unknown error";
}
