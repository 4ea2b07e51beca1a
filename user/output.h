/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Outputs: a diagnosis, the tracer's health, an error — as text or JSON lines. */
#ifndef TCPTRACE_OUTPUT_H
#define TCPTRACE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "diagnose.h"
#include "hook_plan.h"
#include "json.h"

struct output {
	FILE *out;
	bool json;
	struct json j;
	long long mono_to_real_ns;	/* add to CLOCK_MONOTONIC to get wall time */
};

struct prog_stat;

struct health_report {
	__u64 events;
	__u64 events_lost;
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
	__u64 diagnoses;
	double attach_ms;
	bool classic;			/* classic tracepoints in use */
	const struct prog_stat *progs;
	int n_progs;
	const struct hook_plan *plan;	/* the first record says what this kernel lacks */
};

void output_init(struct output *o, FILE *out, bool json);
void output_diagnosis(struct output *o, const struct diagnosis *d);
/* A connection's statistics: a JSON record; a line in text mode when verbose. */
void output_conn(struct output *o, const struct conn_record *c, bool verbose);
void output_health(struct output *o, __u64 now_ns, const struct health_report *h);
/* --check: what this kernel gives (a "check" record under -j). */
void output_check(struct output *o, const struct hook_plan *p, const char *release,
		  const char *machine, bool ok);
/* Under -j an error is a JSON record on stdout too; the one-line text stays on stderr. */
void output_error(struct output *o, const char *msg);

#endif /* TCPTRACE_OUTPUT_H */
