/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Text for a terminal. A comm or an interface name is any bytes, and
 * printed raw an escape sequence in one could retitle the terminal, move
 * the cursor over earlier lines or hide a diagnosis: every byte a terminal
 * would act on is shown as '?' instead.
 */
#ifndef TCPTRACE_TERM_H
#define TCPTRACE_TERM_H

#include <stddef.h>
#include <stdio.h>

/*
 * Copies src into dst (len bytes, NUL-terminated, cut at a character
 * boundary) with each control character (C0 but newline and tab, DEL, C1),
 * each bidirectional override and each byte of invalid UTF-8 replaced by
 * '?'. Returns dst.
 */
char *term_clean(char *dst, size_t len, const char *src);

/* fprintf through term_clean: what it prints is safe on a terminal. */
void term_printf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* TCPTRACE_TERM_H */
