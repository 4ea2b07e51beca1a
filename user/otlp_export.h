/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --otlp URL: OTLP/HTTP JSON to an OpenTelemetry Collector, POSTed
 * gzip-encoded to URL/v1/logs and URL/v1/metrics (port 4318 when the URL
 * names none) by a thread of its own with libcurl.
 *
 * The pipeline hands records over through a bounded queue and never
 * waits: a full queue drops the record and counts it. Logs go out in
 * batches every second (or at OTLP_BATCH records), metrics every
 * OTLP_METRICS_S seconds. 429, 502, 503 and 504, and a collector that
 * cannot be reached (down at start-up, say), are retried with backoff,
 * Retry-After honoured; any other answer (400: the payload is wrong) is
 * never retried. Everything is counted for the metrics.
 */
#ifndef TCPTRACE_OTLP_EXPORT_H
#define TCPTRACE_OTLP_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include "diagnose.h"
#include "json.h"
#include "otlp_url.h"

#define OTLP_QUEUE_MAX		4096	/* records waiting for the collector */
#define OTLP_BATCH		1024	/* log records a request */
#define OTLP_METRICS_S		10	/* seconds between metric exports */
#define OTLP_ATTEMPTS		6	/* a request, retries included */

struct otlp_exporter;

/* The metrics body, written on the exporter's thread (the caller locks). */
typedef void (*otlp_metrics_fn)(struct json *j, __u64 start_unix_ns, __u64 now_unix_ns,
				void *ctx);

struct otlp_exporter_config {
	const char *url;		/* validated by otlp_url_ok() */
	bool conns;			/* conn records as logs too */
	otlp_metrics_fn metrics;	/* NULL: logs only */
	void *metrics_ctx;
	__u64 metrics_every_ns;		/* 0: OTLP_METRICS_S */
	__u64 retry_base_ns;		/* first backoff; 0: 1 s (tests shorten it) */
};

struct otlp_counts {
	__u64 sent;		/* requests the collector accepted */
	__u64 failed;		/* requests given up on, or refused for good */
	__u64 retried;		/* requests sent again */
	__u64 dropped;		/* records lost: queue full, or their request failed */
};

/* Starts the thread. NULL with a reason (out of memory, curl missing). */
struct otlp_exporter *otlp_exporter_new(const struct otlp_exporter_config *c,
					char *err, size_t errlen);
/* Never blocks on the network: false when the queue was full (counted). */
bool otlp_enqueue_diagnosis(struct otlp_exporter *x, const struct diagnosis *d);
bool otlp_enqueue_conn(struct otlp_exporter *x, const struct conn_record *c);
void otlp_exporter_counts(struct otlp_exporter *x, struct otlp_counts *c);
/*
 * The latest failure the thread met, once (for the main thread to report:
 * the thread writes nowhere). Copies it into buf and returns true.
 */
bool otlp_exporter_error(struct otlp_exporter *x, char *buf, size_t len);
/* Sends what is queued and the metrics once more (a few seconds at most), stops. */
void otlp_exporter_stop(struct otlp_exporter *x);

#endif /* TCPTRACE_OTLP_EXPORT_H */
