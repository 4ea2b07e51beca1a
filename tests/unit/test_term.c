// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the terminal-safe text (user/term.c): a comm or an
 * interface name printed in text mode must not reach the terminal as an
 * escape sequence, a cursor move or a bidirectional override.
 */
#include "term.h"
#include "harness.h"
#include "capture.h"

static void test_clean(struct test *t)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "peer", "peer" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },		/* UTF-8 stays */
		{ "\x1b]0;pwned\x07", "?]0;pwned?" },		/* OSC: retitle the terminal */
		{ "\x1b[2J\x1b[H", "?[2J?[H" },			/* clear the screen */
		{ "a\rb", "a?b" },				/* overwrite the line */
		{ "a\x08", "a?" },				/* backspace */
		{ "del\x7f", "del?" },
		{ "\x9b" "31m", "?31m" },			/* raw 8-bit CSI: not UTF-8 */
		{ "\xc2\x9b" "31m", "?31m" },			/* CSI as a UTF-8 C1 */
		{ "x\xe2\x80\xae" "gnp.exe", "x?gnp.exe" },	/* right-to-left override */
		{ "\xe2\x81\xa6" "i", "?i" },			/* left-to-right isolate */
		{ "\xff\xfe", "??" },				/* invalid bytes, one '?' each */
		{ "\xe2\x82", "??" },				/* a cut sequence */
		{ "line\n\ttab", "line\n\ttab" },		/* the layout we print ourselves */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64];

		term_clean(out, sizeof(out), cases[i].in);
		EXPECT(!strcmp(out, cases[i].want), "case %zu: got '%s' want '%s'", i, out,
		       cases[i].want);
	}
out:
	return;
}

/* A short buffer cuts at a character, never inside one. */
static void test_clean_cut(struct test *t)
{
	char out[5];

	term_clean(out, sizeof(out), "ab\xc3\xa9\xc3\xa9");
	EXPECT_STR(out, "ab\xc3\xa9");
	term_clean(out, sizeof(out), "abc\xc3\xa9");
	EXPECT_STR(out, "abc");
	term_clean(out, 1, "abc");
	EXPECT_STR(out, "");
out:
	return;
}

static void test_printf(struct test *t)
{
	struct capture c;

	term_printf(capture_open(&c), "process %u (%s)\n", 42, "\x1b[31mred");
	EXPECT_STR(capture_text(&c), "process 42 (?[31mred)\n");
out:
	capture_close(&c);
}

static const struct test_case tests[] = {
	TEST(test_clean),
	TEST(test_clean_cut),
	TEST(test_printf),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
