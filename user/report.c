// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include "output.h"
#include "report.h"

static struct output *json_sink;

void report_to_json(struct output *o)
{
	json_sink = o;
}

void report_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tcptrace-bpf: %s\n", msg);
	if (json_sink)
		output_error(json_sink, msg);
}
