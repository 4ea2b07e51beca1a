// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "term.h"
#include "utf8.h"

static bool acts_on_terminal(uint32_t cp)
{
	if (cp == '\n' || cp == '\t')
		return false;
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return true;
	/* Bidirectional embeddings, overrides and isolates reorder what
	 * follows them on the line (the "Trojan Source" trick). */
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *term_clean(char *dst, size_t len, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t left = strlen(src), out = 0;

	if (!len)
		return dst;
	while (left) {
		uint32_t cp;
		size_t n = utf8_next(p, left, &cp);

		if (!n || acts_on_terminal(cp)) {
			if (out + 1 >= len)
				break;
			dst[out++] = '?';
			n = n ? n : 1;
		} else {
			if (out + n >= len)
				break;
			memcpy(dst + out, p, n);
			out += n;
		}
		p += n;
		left -= n;
	}
	dst[out] = '\0';
	return dst;
}

void term_printf(FILE *f, const char *fmt, ...)
{
	char *raw = NULL, *clean;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&raw, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Cleaning never lengthens: '?' stands for at least one byte. */
	clean = malloc(n + 1);
	if (clean)
		fputs(term_clean(clean, n + 1, raw), f);
	free(clean);
	free(raw);
}
