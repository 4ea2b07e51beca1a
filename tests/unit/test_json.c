// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the streaming JSON writer (user/json.c): what reaches a
 * consumer like jq must be valid JSON whatever bytes a process name or a
 * message holds, and one record a line.
 */
#include <limits.h>
#include "json.h"
#include "utf8.h"
#include "harness.h"
#include "capture.h"

static void test_empty_object(struct test *t)
{
	struct capture c;
	struct json j;

	json_init(&j, capture_open(&c));
	json_object_begin(&j);
	json_object_end(&j);
	json_line_end(&j);
	EXPECT_STR(capture_text(&c), "{}\n");
out:
	capture_close(&c);
}

static void test_scalars(struct test *t)
{
	struct capture c;
	struct json j;

	json_init(&j, capture_open(&c));
	json_object_begin(&j);
	json_kv_string(&j, "s", "x");
	json_kv_string(&j, "none", NULL);
	json_kv_int(&j, "neg", -42);
	json_kv_int(&j, "min", LLONG_MIN);
	json_kv_uint(&j, "max", ULLONG_MAX);
	json_key(&j, "yes");
	json_bool(&j, true);
	json_key(&j, "no");
	json_bool(&j, false);
	json_key(&j, "nil");
	json_null(&j);
	json_object_end(&j);
	json_line_end(&j);
	EXPECT_STR(capture_text(&c),
		   "{\"s\":\"x\",\"none\":null,\"neg\":-42,"
		   "\"min\":-9223372036854775808,\"max\":18446744073709551615,"
		   "\"yes\":true,\"no\":false,\"nil\":null}\n");
out:
	capture_close(&c);
}

/* The characters JSON requires escaped, and the ones it does not. */
static void test_escaping(struct test *t)
{
	struct capture c;
	struct json j;

	json_init(&j, capture_open(&c));
	json_object_begin(&j);
	json_kv_string(&j, "q", "say \"hi\"");
	json_kv_string(&j, "bs", "C:\\path");
	json_kv_string(&j, "ws", "a\nb\rc\td");
	json_kv_string(&j, "slash", "/run/netns/a");
	json_kv_string(&j, "utf8", "caf\xc3\xa9");
	json_object_end(&j);
	json_line_end(&j);
	EXPECT_STR(capture_text(&c),
		   "{\"q\":\"say \\\"hi\\\"\",\"bs\":\"C:\\\\path\","
		   "\"ws\":\"a\\nb\\rc\\td\",\"slash\":\"/run/netns/a\","
		   "\"utf8\":\"caf\xc3\xa9\"}\n");
out:
	capture_close(&c);
}

/* A comm is whatever bytes a process set with prctl(PR_SET_NAME): other
 * control characters and DEL go out as \u escapes. */
static void test_control_bytes(struct test *t)
{
	struct capture c;
	struct json j;

	json_init(&j, capture_open(&c));
	json_string(&j, "\x01\x1f\x7f" "end");
	json_line_end(&j);
	EXPECT_STR(capture_text(&c), "\"\\u0001\\u001f\\u007fend\"\n");
out:
	capture_close(&c);
}

/* A comm or an interface name is bytes, not UTF-8: each byte of an
 * invalid sequence goes out as \u00XX, valid multibyte characters as they
 * are, C1 controls (valid UTF-8, but a terminal acts on them) escaped. */
static void test_invalid_utf8(struct test *t)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "a\xff" "b", "\"a\\u00ffb\"" },			/* never in UTF-8 */
		{ "\x80" "x", "\"\\u0080x\"" },			/* lone continuation */
		{ "end\xc3", "\"end\\u00c3\"" },			/* cut at the end */
		{ "\xc3(", "\"\\u00c3(\"" },				/* lead, no continuation */
		{ "\xc0\xaf", "\"\\u00c0\\u00af\"" },		/* overlong '/' */
		{ "\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"" },	/* overlong, 3 bytes */
		{ "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"" },	/* a surrogate */
		{ "\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"" }, /* past U+10FFFF */
		{ "\xc2\x9b" "31m", "\"\\u009b31m\"" },		/* C1 CSI, encoded */
		{ "\xe2\x82\xac\xf0\x9f\x90\xa7", "\"\xe2\x82\xac\xf0\x9f\x90\xa7\"" }, /* euro, penguin */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct capture c;
		struct json j;
		char want[128];
		bool ok;

		json_init(&j, capture_open(&c));
		json_string(&j, cases[i].in);
		json_line_end(&j);
		snprintf(want, sizeof(want), "%s\n", cases[i].want);
		ok = !strcmp(capture_text(&c), want);
		if (!ok)
			fail_at(t, __LINE__, "case %zu: got %s want %s", i, capture_text(&c), want);
		capture_close(&c);
		if (!ok)
			return;
	}
}

/* Whatever bytes come in, what goes out is valid UTF-8 with no raw
 * control byte: every 2-byte string, and a pseudo-random sample of
 * 16-byte comms. */
static void test_any_bytes_valid_output(struct test *t)
{
	unsigned int seed = 7;

	for (int round = 0; round < 65536 + 20000; round++) {
		unsigned char in[17];
		struct capture c;
		struct json j;
		const unsigned char *p;
		size_t left, n;
		uint32_t cp;
		bool bad = false;

		if (round < 65536) {
			in[0] = round >> 8 ? round >> 8 : 1;
			in[1] = round & 0xff;
			in[2] = 0;
		} else {
			for (int k = 0; k < 16; k++) {
				seed = seed * 1103515245 + 12345;
				in[k] = (seed >> 16) & 0xff ? (seed >> 16) & 0xff : 0x80;
			}
			in[16] = 0;
		}
		json_init(&j, capture_open(&c));
		json_string(&j, (const char *)in);
		p = (const unsigned char *)capture_text(&c);
		left = strlen((const char *)p);
		for (; left; p += n, left -= n) {
			n = utf8_next(p, left, &cp);
			if (!n || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
				bad = true;
				break;
			}
		}
		if (bad)
			fail_at(t, __LINE__, "input %02x %02x...: output %s is not clean UTF-8",
				in[0], in[1], capture_text(&c));
		capture_close(&c);
		if (bad)
			return;
	}
}

/* Doubles: the shortest text that reads back the same; no NaN in JSON. */
static void test_doubles(struct test *t)
{
	struct capture c;
	struct json j;

	json_init(&j, capture_open(&c));
	json_array_begin(&j);
	json_double(&j, 0.003);
	json_double(&j, 1.5);
	json_double(&j, 10);
	json_double(&j, 0.1 + 0.2);
	json_double(&j, 1e300 * 1e300);
	json_double(&j, 0.0 / 0.0);
	json_array_end(&j);
	json_line_end(&j);
	EXPECT_STR(capture_text(&c), "[0.003,1.5,10,0.30000000000000004,null,null]\n");
out:
	capture_close(&c);
}

/* Keys are strings too: escaped the same way. */
static void test_key_escaping(struct test *t)
{
	struct capture c;
	struct json j;

	json_init(&j, capture_open(&c));
	json_object_begin(&j);
	json_kv_uint(&j, "a\"b", 1);
	json_object_end(&j);
	json_line_end(&j);
	EXPECT_STR(capture_text(&c), "{\"a\\\"b\":1}\n");
out:
	capture_close(&c);
}

/* Commas between siblings at every depth, none after an opening. */
static void test_nesting(struct test *t)
{
	struct capture c;
	struct json j;

	json_init(&j, capture_open(&c));
	json_object_begin(&j);
	json_kv_string(&j, "type", "stats");
	json_key(&j, "programs");
	json_array_begin(&j);
	for (int i = 0; i < 2; i++) {
		json_object_begin(&j);
		json_kv_uint(&j, "run_cnt", i);
		json_key(&j, "tags");
		json_array_begin(&j);
		json_string(&j, "a");
		json_int(&j, -1);
		json_array_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "empty");
	json_array_begin(&j);
	json_array_end(&j);
	json_key(&j, "evidence");
	json_object_begin(&j);
	json_object_end(&j);
	json_kv_uint(&j, "last", 7);
	json_object_end(&j);
	json_line_end(&j);
	EXPECT_STR(capture_text(&c),
		   "{\"type\":\"stats\",\"programs\":[{\"run_cnt\":0,\"tags\":[\"a\",-1]},"
		   "{\"run_cnt\":1,\"tags\":[\"a\",-1]}],\"empty\":[],\"evidence\":{},"
		   "\"last\":7}\n");
out:
	capture_close(&c);
}

/* A record ends its line and the next one starts clean: no comma carried
 * over, even after a record left open by a writer's mistake. */
static void test_records_per_line(struct test *t)
{
	struct capture c;
	struct json j;

	json_init(&j, capture_open(&c));
	json_object_begin(&j);
	json_kv_uint(&j, "n", 1);
	json_object_end(&j);
	json_line_end(&j);
	json_object_begin(&j);
	json_kv_uint(&j, "n", 2);
	json_line_end(&j);
	json_object_begin(&j);
	json_kv_uint(&j, "n", 3);
	json_object_end(&j);
	json_line_end(&j);
	EXPECT_STR(capture_text(&c), "{\"n\":1}\n{\"n\":2\n{\"n\":3}\n");
out:
	capture_close(&c);
}

static const struct test_case tests[] = {
	TEST(test_empty_object),
	TEST(test_scalars),
	TEST(test_escaping),
	TEST(test_control_bytes),
	TEST(test_doubles),
	TEST(test_invalid_utf8),
	TEST(test_any_bytes_valid_output),
	TEST(test_key_escaping),
	TEST(test_nesting),
	TEST(test_records_per_line),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
