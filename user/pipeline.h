/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pipeline: records from a source in, the engine judging them, the
 * outputs printing what it says. A source is where records come from and
 * what its clock is: the live tracer (ring buffer, socket scans, NIC
 * counters: source_live.c) or, later, a recording; the pipeline does not
 * care which. No libbpf here.
 */
#ifndef TCPTRACE_PIPELINE_H
#define TCPTRACE_PIPELINE_H

#include <signal.h>
#include "cli.h"
#include "diagnose.h"
#include "health.h"
#include "output.h"

struct pipeline;
struct recorder;
struct source;

struct source_ops {
	/*
	 * Hand the pipeline the records that arrive until the source's clock
	 * reads until_ns (live: wait for them, briefly, so signals are seen).
	 * 0, or 1 when the source has no more (a recording read through), or
	 * a negative errno after reporting why.
	 */
	int (*poll)(struct source *src, __u64 until_ns);
	/* Hand over what has arrived already, without waiting. */
	void (*flush)(struct source *src);
	/* The source's clock: CLOCK_MONOTONIC live, the recording's in a replay. */
	__u64 (*now)(struct source *src);
	/* What is sampled each interval, taken and fed at now_ns: the socket
	 * scan and the NIC counters (a recording holds them as records). */
	void (*sample)(struct source *src, __u64 now_ns);
	/* Events the source lost so far (a caveat on every later diagnosis). */
	__u64 (*lost)(struct source *src);
	/* Its own health for the stats record; the pipeline adds the engine's. */
	void (*health)(struct source *src, struct health_report *r);
	/*
	 * Optional: whether the pipeline judges now. A recording says when
	 * the live run judged (its ticks are records); without this the
	 * pipeline ticks every interval of the source's clock.
	 */
	bool (*tick_due)(struct source *src);
};

struct source {
	const struct source_ops *ops;
};

/*
 * Where records go besides the main output (stdout): a file (-o), the
 * metrics (--metrics), a collector (--otlp). Each gets every diagnosis,
 * conn record and stats record, and a tick each interval (to flush,
 * rotate, expire). The pipeline does not own them.
 */
struct sink;

struct sink_ops {
	void (*diagnosis)(struct sink *s, const struct diagnosis *d);
	void (*conn)(struct sink *s, const struct conn_record *c);
	void (*health)(struct sink *s, __u64 now_ns, const struct health_report *h);
	void (*tick)(struct sink *s, __u64 now_ns);
};

struct sink {
	const struct sink_ops *ops;
	/* Stats records this often at least (metrics want fresh health);
	 * 0: with the others, every --conn-interval. */
	__u64 health_every_ns;
	__u64 last_health_ns;	/* the pipeline's */
	struct sink *next;	/* the pipeline's list */
};

/* The engine's configuration from the options: thresholds, fold window,
 * table size, conn records. What the kernel tells (drop reasons, NIC
 * ingress) the caller adds. */
void pipeline_engine_config(const struct options *o, struct engine_config *cfg);

/* NULL after reporting why (out of memory). */
struct pipeline *pipeline_new(const struct options *o, const struct engine_config *cfg,
			      struct output *out);
void pipeline_free(struct pipeline *p);
/* One more place records go (kept until pipeline_free; not freed by it). */
void pipeline_add_sink(struct pipeline *p, struct sink *s);

/* -w: everything the engine consumes is also written to rec (record.h). */
void pipeline_set_recorder(struct pipeline *p, struct recorder *rec);

/* What a source feeds. */
/*
 * Name owners' cgroups live: ids resolved under root (the cgroup2 mount),
 * pods named from pods_dir (kubelet's logs; NULL: none). Without it the
 * names are those a recording carries. -1: out of memory.
 */
int pipeline_resolve_cgroups(struct pipeline *p, const char *root, const char *pods_dir);
/* --cgroup: only owners in this cgroup (a path under the mount) or below. */
void pipeline_set_cgroup_filter(struct pipeline *p, const char *path);
/* A recording's REC_CGROUP: the name of an id. */
void pipeline_cgroup(struct pipeline *p, __u64 id, const char *path, const char *pod);
void pipeline_event(struct pipeline *p, const struct tt_event *ev);
void pipeline_socket(struct pipeline *p, const struct tt_sock_scan *s, __u64 now_ns);
void pipeline_nic(struct pipeline *p, const struct flow_key *key,
		  const struct nic_flow *nf, __u64 now_ns);
/* A scan is over: flows it did not report are gone from the kernel. */
void pipeline_scan_end(struct pipeline *p, __u64 now_ns);
/* A namespace's walk failed in this scan: nothing is held as unchanged.
 * Not recorded: a replay holds the flows a live run let go. */
void pipeline_scan_partial(struct pipeline *p);

/*
 * Runs until *stop, the duration, or the end of the source: judges every
 * interval, then flushes, judges what is pending and reports the health.
 * Returns the exit code.
 */
int pipeline_run(struct pipeline *p, struct source *src, volatile sig_atomic_t *stop);

#endif /* TCPTRACE_PIPELINE_H */
