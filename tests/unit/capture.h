/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What a writer printed, caught in memory for a test to compare. */
#ifndef TCPTRACE_TEST_CAPTURE_H
#define TCPTRACE_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>

struct capture {
	FILE *f;
	char *buf;
	size_t len;
};

__attribute__((unused))
static FILE *capture_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	return c->f;
}

/* Everything written so far, NUL-terminated (open_memstream keeps it so). */
__attribute__((unused))
static const char *capture_text(struct capture *c)
{
	fflush(c->f);
	return c->buf ? c->buf : "";
}

__attribute__((unused))
static void capture_close(struct capture *c)
{
	if (c->f)
		fclose(c->f);
	free(c->buf);
	c->f = NULL;
	c->buf = NULL;
}

#endif /* TCPTRACE_TEST_CAPTURE_H */
