/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracer's own health, as the stats record reports it: the loader
 * counts what the kernel side did, the engine what it holds, the outputs
 * print it. Shared here so none of them includes another.
 */
#ifndef TCPTRACE_HEALTH_H
#define TCPTRACE_HEALTH_H

#include <stdbool.h>
#include <linux/types.h>

struct hook_plan;

/* One BPF program's run count and time (from bpf_stats, with --prog-stats). */
struct prog_stat {
	const char *name;
	__u64 run_cnt;
	__u64 run_time_ns;
};

struct health_report {
	__u64 events;
	__u64 events_lost;
	__u64 events_read;		/* records userspace took from the ring buffer */
	__u64 flows_tracked;		/* in the engine's table now */
	__u64 flows_opened;		/* inserted in the kernel flow map */
	__u64 flows_evicted_kernel;	/* LRU evictions of the kernel map */
	__u64 flows_evicted_table;	/* evictions of the userspace table */
	__u64 scan_untracked;		/* socket snapshots a full table did not take */
	__u64 flow_map_full;		/* inserts the kernel maps refused */
	__u64 nic_flows_opened;		/* flows the NIC hooks started counting */
	__u64 flows_evicted_nic;	/* NIC records the LRU map evicted */
	__u64 nic_unparsed;		/* frames the NIC hooks could not parse */
	__u64 sockets_scanned;
	__u64 sockets_unchanged;	/* ... left out by the kernel: as their last record said */
	__u64 scan_gap_ms;		/* between the latest scan and the next (its cost's share) */
	__u64 scan_errors;		/* socket scans that failed (retried with backoff) */
	__u64 netns_scanned;		/* host-wide: other namespaces the scan enters */
	__u64 netns_unresolved;		/* ... seen in events, no way in found (yet) */
	__u64 netns_evicted;		/* ... dropped from a full table */
	__u64 diagnoses;
	__u64 attach_us;		/* load and attach; a recording's, as written */
	bool classic;			/* classic tracepoints in use */
	const struct prog_stat *progs;
	int n_progs;
	const struct hook_plan *plan;	/* the first record says what this kernel lacks */
};

#endif /* TCPTRACE_HEALTH_H */
