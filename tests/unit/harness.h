/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tier-1 unit test harness: a test is a function that fails at its
 * first broken expectation; the runner prints "PASS <name>" or
 * "FAIL <name>: <reason>" a test (what tests/run.sh counts) and exits
 * nonzero when any failed. Names given on the command line run alone.
 */
#ifndef TCPTRACE_TEST_HARNESS_H
#define TCPTRACE_TEST_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct test {
	const char *name;
	bool failed;
	char reason[512];
};

/* Keeps the first reason a test failed for, prefixed with its line. */
__attribute__((format(printf, 3, 4), unused))
static void fail_at(struct test *t, int line, const char *fmt, ...)
{
	int n;
	va_list ap;

	if (t->failed)
		return;
	t->failed = true;
	n = snprintf(t->reason, sizeof(t->reason), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(t->reason + n, sizeof(t->reason) - n, fmt, ap);
	va_end(ap);
}

/* Stop the test at the first broken expectation, saying where and what;
 * the test's cleanup follows its "out:" label. */
#define EXPECT(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fail_at(t, __LINE__, __VA_ARGS__);		\
			goto out;					\
		}							\
	} while (0)

#define EXPECT_EQ(a, b)							\
	EXPECT((long long)(a) == (long long)(b), "%s == %lld, want %lld", \
	       #a, (long long)(a), (long long)(b))

/* Strings compared whole: the message shows both. */
#define EXPECT_STR(got, want)						\
	EXPECT(!strcmp((got), (want)), "got\n    %s\n  want\n    %s", (got), (want))

struct test_case {
	const char *name;
	void (*fn)(struct test *t);
};

/* { "name", test_name }: the name is the function's without "test_". */
#define TEST(fn) { #fn + 5, fn }

__attribute__((unused))
static int run_tests(const struct test_case *tests, size_t n, int argc, char **argv)
{
	size_t i, failed = 0, run = 0;

	for (i = 0; i < n; i++) {
		struct test t = { .name = tests[i].name };
		bool want = argc < 2;

		for (int a = 1; a < argc; a++)
			want |= !strcmp(argv[a], t.name);
		if (!want)
			continue;
		tests[i].fn(&t);
		run++;
		if (t.failed) {
			failed++;
			printf("FAIL %s: %s\n", t.name, t.reason);
		} else {
			printf("PASS %s\n", t.name);
		}
		fflush(stdout);
	}
	fprintf(stderr, "%zu of %zu tests passed\n", run - failed, run);
	return failed ? 1 : 0;
}

#define RUN_TESTS(tests, argc, argv) \
	run_tests(tests, sizeof(tests) / sizeof(tests[0]), argc, argv)

#endif /* TCPTRACE_TEST_HARNESS_H */
