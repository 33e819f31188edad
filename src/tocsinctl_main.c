/* tocsinctl_main.c: the operator CLI (issue 3). */
#include <stdio.h>

int
main(void)
{
    fprintf(stderr, "usage: tocsinctl [-c FILE | -s ADDRESS] COMMAND\n");
    return 2;
}
