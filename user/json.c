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
		fputc_unlocked(',', j->out);
	j->need_comma[j->depth] = true;
}

static void container_open(struct json *j, char c)
{
	value_prefix(j);
	fputc_unlocked(c, j->out);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void container_close(struct json *j, char c)
{
	fputc_unlocked(c, j->out);
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
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t left = strlen(s);

	/* Bytes that pass as they are go out in runs: a write a character
	 * was half the tracer's CPU under a connection storm. */
	fputc_unlocked('"', out);
	while (left) {
		const char *esc = NULL;
		uint32_t cp;
		size_t n;

		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
			p++;
			left--;
			continue;
		}
		n = utf8_next(p, left, &cp);
		/* C0 controls must be escaped; DEL and C1 may go raw, but a
		 * terminal showing the line would act on them. */
		if (n && cp >= 0xa0) {
			p += n;
			left -= n;
			continue;
		}
		fwrite_unlocked(run, 1, (size_t)(p - run), out);
		if (!n) {
			fprintf(out, "\\u%04x", *p);
			n = 1;
		} else {
			switch (cp) {
			case '"': esc = "\\\""; break;
			case '\\': esc = "\\\\"; break;
			case '\n': esc = "\\n"; break;
			case '\r': esc = "\\r"; break;
			case '\t': esc = "\\t"; break;
			default: fprintf(out, "\\u%04x", cp);
			}
			if (esc)
				fputs_unlocked(esc, out);
		}
		p += n;
		left -= n;
		run = p;
	}
	fwrite_unlocked(run, 1, (size_t)(p - run), out);
	fputc_unlocked('"', out);
}

void json_key(struct json *j, const char *key)
{
	value_prefix(j);
	write_escaped(j->out, key);
	fputc_unlocked(':', j->out);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	value_prefix(j);
	write_escaped(j->out, s);
}

/* Digits by hand: fprintf's format parsing was a tenth of the tracer's
 * CPU with a conn record a connection. */
static void write_uint(FILE *out, unsigned long long v, bool negative)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (negative)
		*--p = '-';
	fwrite_unlocked(p, 1, (size_t)(buf + sizeof(buf) - p), out);
}

void json_int(struct json *j, long long v)
{
	value_prefix(j);
	/* the magnitude of LLONG_MIN does not fit a long long */
	write_uint(j->out, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, v < 0);
}

void json_uint(struct json *j, unsigned long long v)
{
	value_prefix(j);
	write_uint(j->out, v, false);
}

void json_double(struct json *j, double v)
{
	value_prefix(j);
	char buf[32];

	/* JSON has no NaN or infinity. The shortest of %.15g and %.17g that
	 * reads back as the same double: 0.003, not 0.0030000000000000001. */
	if (!isfinite(v)) {
		fputs_unlocked("null", j->out);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs_unlocked(buf, j->out);
}

void json_bool(struct json *j, bool v)
{
	value_prefix(j);
	fputs_unlocked(v ? "true" : "false", j->out);
}

void json_null(struct json *j)
{
	value_prefix(j);
	fputs_unlocked("null", j->out);
}

void json_line_end(struct json *j)
{
	/* No flush: a record a connection would cost a write each; the
	 * pipeline flushes once a round (output_flush). */
	fputc_unlocked('\n', j->out);
	j->depth = 0;
	j->need_comma[0] = false;
	j->after_key = false;
}
