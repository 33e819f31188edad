/*
 * request_fixture.c: headers of built requests (request_fixture.h).
 */
#include "request_fixture.h"

#include <string.h>
#include <strings.h>

const char *
tocsin_test_header(const struct tocsin_request *q, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < q->nheaders; i++)
        if (strncasecmp(q->headers[i], name, n) == 0 && q->headers[i][n] == ':')
            return q->headers[i] + n + 2;
    return NULL;
}
