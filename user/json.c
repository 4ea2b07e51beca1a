// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "utf8.h"

void json_init(struct json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->need_comma[0] = false;
	j->after_key = false;
}

/* Every value starts here: the comma that separates it from its elder sibling. */
static void value_prefix(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->out);
	j->need_comma[j->depth] = true;
}

static void container_open(struct json *j, char c)
{
	value_prefix(j);
	fputc(c, j->out);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void container_close(struct json *j, char c)
{
	fputc(c, j->out);
	if (j->depth > 0)
		j->depth--;
}

void json_object_begin(struct json *j) { container_open(j, '{'); }
void json_object_end(struct json *j) { container_close(j, '}'); }
void json_array_begin(struct json *j) { container_open(j, '['); }
void json_array_end(struct json *j) { container_close(j, ']'); }

/*
 * JSON text is UTF-8 (RFC 8259): valid sequences pass as they are, the
 * characters JSON reserves and every control character are escaped, and a
 * byte that is no part of valid UTF-8 (a comm or an interface name holds
 * any bytes) goes out as the code point of the same value, \u00XX, so the
 * line stays valid and the byte can still be read back.
 */
static void write_escaped(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);

	fputc('"', out);
	while (left) {
		uint32_t cp;
		size_t n = utf8_next(p, left, &cp);

		if (!n) {
			fprintf(out, "\\u%04x", *p);
			p++;
			left--;
			continue;
		}
		switch (cp) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			/* C0 controls must be escaped; DEL and C1 may go raw,
			 * but a terminal showing the line would act on them. */
			if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
				fprintf(out, "\\u%04x", cp);
			else
				fwrite(p, 1, n, out);
		}
		p += n;
		left -= n;
	}
	fputc('"', out);
}

void json_key(struct json *j, const char *key)
{
	value_prefix(j);
	write_escaped(j->out, key);
	fputc(':', j->out);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	value_prefix(j);
	write_escaped(j->out, s);
}

void json_int(struct json *j, long long v)
{
	value_prefix(j);
	fprintf(j->out, "%lld", v);
}

void json_uint(struct json *j, unsigned long long v)
{
	value_prefix(j);
	fprintf(j->out, "%llu", v);
}

void json_double(struct json *j, double v)
{
	value_prefix(j);
	char buf[32];

	/* JSON has no NaN or infinity. The shortest of %.15g and %.17g that
	 * reads back as the same double: 0.003, not 0.0030000000000000001. */
	if (!isfinite(v)) {
		fputs("null", j->out);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, j->out);
}

void json_bool(struct json *j, bool v)
{
	value_prefix(j);
	fputs(v ? "true" : "false", j->out);
}

void json_null(struct json *j)
{
	value_prefix(j);
	fputs("null", j->out);
}

void json_line_end(struct json *j)
{
	fputc('\n', j->out);
	fflush(j->out);
	j->depth = 0;
	j->need_comma[0] = false;
	j->after_key = false;
}
