/*
 * jsonparse_bench.c: the baseline for `tocsind --replay` throughput.
 *
 *   jsonparse_bench FILE
 *
 * Reads FILE line by line (getline, as replay does) and parses each line
 * with jansson (json_loadb, JSON_REJECT_DUPLICATES, as the mention decoder
 * does), visits the object's keys and frees it.  Prints
 * "lines N parsed P seconds S".  Single-threaded.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: jsonparse_bench FILE\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    double t0 = now();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long long lines = 0, parsed = 0, keys = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        lines++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        json_error_t jerr;
        json_t *doc =
            json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc)
            continue;
        parsed++;
        const char *key;
        json_t *v;
        json_object_foreach(doc, key, v)
        {
            keys += (unsigned char)key[0];
        }
        json_decref(doc);
    }
    double dt = now() - t0;
    free(line);
    fclose(in);
    printf("lines %llu parsed %llu seconds %.3f\n", lines, parsed, dt);
    return keys || !parsed ? 0 : 1;
}
