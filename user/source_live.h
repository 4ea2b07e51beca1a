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
/*
 * What bounds the socket scan's own CPU: scans come every interval_ns
 * (--interval) while they are cheap; one that cost more than
 * SCAN_CPU_PCT % of the time until the next delays the next, up to
 * max_gap_ns (what the judges' thresholds allow: half of --stall-ms).
 */
void live_source_scan_budget(struct source *src, __u64 interval_ns, __u64 max_gap_ns);

#endif /* TCPTRACE_SOURCE_LIVE_H */
