/*
 * docs_fixture.c: keys in the configuration docs (docs_fixture.h).
 */
#include "docs_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole file (free() it), or NULL. */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

int
tocsin_test_docs_missing(const char *const *keys, size_t n)
{
    static const char *const files[] = {TOCSIN_SOURCE_DATADIR "/tocsind.conf",
                                        TOCSIN_SOURCE_DATADIR "/tocsin.conf.5"};
    int missing = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char *text = slurp(files[f]);
        if (!text) {
            fprintf(stderr, "cannot read %s\n", files[f]);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if (!strstr(text, keys[i])) {
                fprintf(stderr, "%s does not mention %s\n", files[f], keys[i]);
                missing++;
            }
        free(text);
    }
    return missing;
}
