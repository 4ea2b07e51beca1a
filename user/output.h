/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Outputs: a diagnosis, the tracer's health, an error — as text or JSON lines. */
#ifndef TCPTRACE_OUTPUT_H
#define TCPTRACE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "diagnose.h"
#include "health.h"
#include "hook_plan.h"
#include "json.h"

struct output {
	FILE *out;
	bool json;
	struct json j;
	long long mono_to_real_ns;	/* add to CLOCK_MONOTONIC to get wall time */
};

void output_init(struct output *o, FILE *out, bool json);
void output_diagnosis(struct output *o, const struct diagnosis *d);
/* A connection's statistics: a JSON record; in text mode a line when
 * text_lines (--conns), nothing otherwise. */
void output_conn(struct output *o, const struct conn_record *c, bool text_lines);
void output_health(struct output *o, __u64 now_ns, const struct health_report *h);
/* --check: what this kernel gives (a "check" record under -j). */
void output_check(struct output *o, const struct hook_plan *p, const char *release,
		  const char *machine, bool ok);
/* Under -j an error is a JSON record on stdout too; the one-line text stays on stderr. */
void output_error(struct output *o, const char *msg);
/* Records are buffered: the pipeline flushes once a round, and at the end. */
void output_flush(struct output *o);

#endif /* TCPTRACE_OUTPUT_H */
