// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the streaming JSON writer (user/json.c): what reaches a
 * consumer like jq must be valid JSON whatever bytes a process name or a
 * message holds, and one record a line.
 */
#include <limits.h>
#include "json.h"
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
	TEST(test_key_escaping),
	TEST(test_nesting),
	TEST(test_records_per_line),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
