/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live source: the tracer's ring buffer, its socket scans (in every
 * namespace events come from, or the one --netns names) and its NIC
 * counters, fed to a pipeline on the monotonic clock.
 */
#ifndef TCPTRACE_SOURCE_LIVE_H
#define TCPTRACE_SOURCE_LIVE_H

#include "pipeline.h"
#include "tracer.h"

/* NULL after reporting why. The tracer must be started. */
struct source *live_source_new(struct tracer *t, struct pipeline *p);
void live_source_free(struct source *src);

#endif /* TCPTRACE_SOURCE_LIVE_H */
