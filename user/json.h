/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A small streaming JSON writer: one object a line, commas and escapes handled here only. */
#ifndef TCPTRACE_JSON_H
#define TCPTRACE_JSON_H

#include <stdbool.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *out;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool after_key;
};

void json_init(struct json *j, FILE *out);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);
void json_int(struct json *j, long long v);
void json_uint(struct json *j, unsigned long long v);
void json_double(struct json *j, double v);	/* null when not finite */
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* Ends the current top-level record: newline and flush, so a reader sees it at once. */
void json_line_end(struct json *j);

static inline void json_kv_string(struct json *j, const char *k, const char *v)
{
	json_key(j, k);
	if (v)
		json_string(j, v);
	else
		json_null(j);
}

static inline void json_kv_int(struct json *j, const char *k, long long v)
{
	json_key(j, k);
	json_int(j, v);
}

static inline void json_kv_uint(struct json *j, const char *k, unsigned long long v)
{
	json_key(j, k);
	json_uint(j, v);
}

#endif /* TCPTRACE_JSON_H */
