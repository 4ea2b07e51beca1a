/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Strict UTF-8 decoding (RFC 3629) for what the kernel hands us as bytes:
 * a comm is whatever a process set with prctl(PR_SET_NAME), an interface
 * name whatever its creator chose. Overlong forms, surrogates and code
 * points past U+10FFFF are invalid, as are truncated sequences, so a byte
 * string that passes is what a JSON parser or a terminal expects.
 */
#ifndef TCPTRACE_UTF8_H
#define TCPTRACE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length (1-4) of the valid sequence at p, with its code point in *cp,
 * or 0 when the byte at p starts no valid sequence within the n bytes left.
 */
static inline size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len;

	if (!n)
		return 0;
	c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2; c &= 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3; c &= 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4; c &= 0x07; min = 0x10000;
	} else {
		return 0;	/* a continuation byte, or a lead that is always overlong or too big */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

#endif /* TCPTRACE_UTF8_H */
