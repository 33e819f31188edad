/*
 * tocsin_test.h: a tiny test harness for tocsin's unit tests.
 *
 * A test file defines functions `static void test_x(void)` and lists them:
 *
 *     TOCSIN_TESTS(TOCSIN_TEST(test_x), TOCSIN_TEST(test_y));
 *
 * CHECK(expr) records a failure and goes on; REQUIRE(expr) stops the
 * current test; CHECK_OK(call) expects TOCSIN_OK and prints
 * tocsin_strerror otherwise.  The program ends with "N passed, N failed"
 * and exits non-zero when anything failed.  Single-threaded.
 */
#ifndef TOCSIN_TEST_H
#define TOCSIN_TEST_H

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "tocsin/err.h"

struct tocsin_test_case {
    const char *name;
    void (*fn)(void);
};

static int tocsin_test_failed_checks;
static jmp_buf tocsin_test_jmp;

#define TOCSIN_TEST(f)                                                         \
    {                                                                          \
#f, f                                                                  \
    }

#define CHECK(expr)                                                            \
    do {                                                                       \
        if (!(expr)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #expr);                                                    \
            tocsin_test_failed_checks++;                                       \
        }                                                                      \
    } while (0)

#define REQUIRE(expr)                                                          \
    do {                                                                       \
        if (!(expr)) {                                                         \
            fprintf(stderr, "%s:%d: requirement failed: %s\n", __FILE__,       \
                    __LINE__, #expr);                                          \
            tocsin_test_failed_checks++;                                       \
            longjmp(tocsin_test_jmp, 1);                                       \
        }                                                                      \
    } while (0)

#define CHECK_OK(call)                                                         \
    do {                                                                       \
        tocsin_err e_ = (call);                                                \
        if (e_ != TOCSIN_OK) {                                                 \
            fprintf(stderr, "%s:%d: %s returned %s\n", __FILE__, __LINE__,     \
                    #call, tocsin_strerror(e_));                               \
            tocsin_test_failed_checks++;                                       \
        }                                                                      \
    } while (0)

#define CHECK_ERR(call, want)                                                  \
    do {                                                                       \
        tocsin_err e_ = (call);                                                \
        if (e_ != (want)) {                                                    \
            fprintf(stderr, "%s:%d: %s returned %s, wanted %s\n", __FILE__,    \
                    __LINE__, #call, tocsin_strerror(e_),                      \
                    tocsin_strerror(want));                                    \
            tocsin_test_failed_checks++;                                       \
        }                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                               \
            fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,   \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                   \
            tocsin_test_failed_checks++;                                       \
        }                                                                      \
    } while (0)

#define CHECK_NEAR(a, b, eps)                                                  \
    do {                                                                       \
        double a_ = (a), b_ = (b);                                             \
        if (!(fabs(a_ - b_) <= (eps))) {                                       \
            fprintf(stderr, "%s:%d: %s = %g, wanted %g (+-%g)\n", __FILE__,    \
                    __LINE__, #a, a_, b_, (double)(eps));                      \
            tocsin_test_failed_checks++;                                       \
        }                                                                      \
    } while (0)

#define TOCSIN_TESTS(...)                                                      \
    int main(void)                                                             \
    {                                                                          \
        static const struct tocsin_test_case cases_[] = {__VA_ARGS__};         \
        volatile int passed = 0, failed = 0;                                            \
        for (volatile size_t i = 0; i < sizeof cases_ / sizeof cases_[0];      \
             i++) {        \
            int before = tocsin_test_failed_checks;                            \
            if (setjmp(tocsin_test_jmp) == 0)                                  \
                cases_[i].fn();                                                \
            if (tocsin_test_failed_checks == before) {                         \
                passed++;                                                      \
                printf("ok %s\n", cases_[i].name);                             \
            } else {                                                           \
                failed++;                                                      \
                printf("FAIL %s\n", cases_[i].name);                           \
            }                                                                  \
        }                                                                      \
        printf("%d passed, %d failed\n", passed, failed);                      \
        return failed ? 1 : 0;                                                 \
    }

#endif
