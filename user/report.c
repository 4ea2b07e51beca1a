// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "report.h"
#include "term.h"

static report_sink_fn sink;
static void *sink_ctx;

void report_set_sink(report_sink_fn fn, void *ctx)
{
	sink = fn;
	sink_ctx = ctx;
}

void report_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* An interface name in the message may hold escape sequences. */
	term_printf(stderr, "tcptrace-bpf: %s\n", msg);
	if (sink)
		sink(msg, sink_ctx);
}

void report_note(const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n >= 0)
		term_printf(stderr, "tcptrace-bpf: %s\n", msg);
	free(msg);
}
