/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * OTLP/HTTP JSON bodies (opentelemetry-proto 1.x, the Protobuf JSON
 * mapping the OTLP spec requires): lowerCamelCase keys, 64-bit integers
 * (times, counts, intValue) as decimal strings, enums as integers.
 *
 * Logs: each diagnosis, and each conn record when asked, is one
 * LogRecord with an eventName ("tcptrace.diagnosis", "tcptrace.conn"),
 * OpenTelemetry's attribute names where they exist (network.peer.address,
 * network.peer.port, network.local.*, network.transport, network.type,
 * server.address, server.port, error.type = the code, process.pid,
 * process.executable.name) and tcptrace.* for the rest. Metrics: the
 * registry's series (metrics.c), cumulative sums, gauges and explicit-
 * bucket histograms, named as in Prometheus less the "_total" suffix.
 *
 * Pure: no sockets, no clock; times come in as Unix nanoseconds.
 */
#ifndef TCPTRACE_OTLP_JSON_H
#define TCPTRACE_OTLP_JSON_H

#include "diagnose.h"
#include "json.h"
#include "metrics.h"

struct otlp_resource {
	const char *host_name;
	const char *service_name;
	const char *service_version;
};

/*
 * Who owns the connections a resource's log records speak of: the
 * process (pid 0: unknown) and its cgroup's names (NULL: unknown).
 */
struct otlp_owner {
	__u32 pid;
	const char *comm;
	const struct cgroup_name *cg;
};

/* {"resourceLogs":[{"resource":...,"scopeLogs":[{"scope":...,"logRecords":[
 * (owner NULL: the tracer's own attributes alone) */
void otlp_logs_begin(struct json *j, const struct otlp_resource *r, const struct otlp_owner *o);
/* ]}]}, then a resource of another owner: {"resource":...,"logRecords":[ */
void otlp_logs_next_owner(struct json *j, const struct otlp_resource *r,
			  const struct otlp_owner *o);
/* Whether two owners are the same resource. */
bool otlp_owner_same(const struct otlp_owner *a, const struct otlp_owner *b);
void otlp_log_diagnosis(struct json *j, const struct diagnosis *d, __u64 time_unix_ns,
			__u64 observed_unix_ns);
void otlp_log_conn(struct json *j, const struct conn_record *c, __u64 time_unix_ns,
		   __u64 observed_unix_ns);
/* ]}]}]} and the line's end. */
void otlp_logs_end(struct json *j);

/* One ExportMetricsServiceRequest with every series of m, whole. */
void otlp_metrics(struct json *j, const struct otlp_resource *r, struct metrics *m,
		  const struct metrics_self *self, __u64 start_unix_ns, __u64 now_unix_ns);

#endif /* TCPTRACE_OTLP_JSON_H */
