/* tocsind_main.c: the daemon's entry point (being built up in issue 2). */
#include <stdio.h>

int
main(void)
{
    fprintf(stderr, "usage: tocsind -c FILE\n");
    return 2;
}
