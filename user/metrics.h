/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The metrics registry: diagnoses, conn records and the tracer's health
 * become counters and histograms per remote endpoint, rendered in the
 * Prometheus text format (version 0.0.4). No sockets, no threads, no
 * clock: the caller serialises and passes time (sink_metrics.c serves it).
 *
 * An endpoint is what the labels name: the peer's address and the
 * service's port, which is the remote port where this host is the client
 * and the local port where it is the server. A client's ephemeral port is
 * never a label.
 *
 * Cardinality is bounded by design: at most max_endpoints endpoints have
 * series of their own. A new endpoint past the cap is counted in
 * raddr="other" (its ports blank) and watched as a candidate; every tick
 * the busiest candidate (decayed count of its records) replaces the least
 * busy endpoint when it is clearly busier (twice), so the busiest stay.
 * An endpoint with no record for ttl_ns loses its series.
 */
#ifndef TCPTRACE_METRICS_H
#define TCPTRACE_METRICS_H

#include <stdio.h>
#include "diagnose.h"
#include "health.h"

struct metrics;

struct metrics_config {
	__u32 max_endpoints;	/* endpoints with series of their own */
	__u64 ttl_ns;		/* an endpoint unseen this long is dropped */
	__u32 max_flows;	/* open connections whose last counts are kept (deltas) */
};

/* Counts about the registry and its server, for its own metrics. */
struct metrics_self {
	__u64 scrapes;
	__u64 scrape_errors;	/* malformed, timed out, refused (too many at once) */
	__u64 otlp_sent, otlp_failed, otlp_retried, otlp_dropped;
	bool otlp;		/* --otlp: say its counters */
};

struct metrics *metrics_new(const struct metrics_config *cfg);
void metrics_free(struct metrics *m);

void metrics_diagnosis(struct metrics *m, const struct diagnosis *d, __u64 now_ns);
void metrics_conn(struct metrics *m, const struct conn_record *c, __u64 now_ns);
void metrics_health(struct metrics *m, const struct health_report *h);
/* Expire idle endpoints, promote busy candidates: once an interval. */
void metrics_tick(struct metrics *m, __u64 now_ns);

/* Everything, in the text format. */
void metrics_render(struct metrics *m, const struct metrics_self *self, FILE *out);

/* Endpoints with series of their own now (the "other" bucket not counted). */
__u32 metrics_endpoints(const struct metrics *m);

/*
 * Walk the series of the metrics as name, labels and value, as the OTLP
 * exporter needs them: kind is 'c' (monotonic counter), 'g' (gauge) or
 * 'h' (one histogram: bounds, bucket counts, sum, count).
 */
struct metrics_label {
	const char *key;
	const char *value;
};

struct metrics_point {
	const char *name;
	const char *help;
	const char *unit;
	char kind;
	const struct metrics_label *labels;
	int n_labels;
	double value;			/* 'c', 'g' */
	const double *bounds;		/* 'h': n_bounds upper bounds */
	int n_bounds;
	const __u64 *buckets;		/* 'h': n_bounds + 1 counts, not cumulative */
	double sum;
	__u64 count;
};

typedef void (*metrics_point_fn)(const struct metrics_point *p, void *ctx);
void metrics_walk(struct metrics *m, const struct metrics_self *self,
		  metrics_point_fn fn, void *ctx);

#endif /* TCPTRACE_METRICS_H */
