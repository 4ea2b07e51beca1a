/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --metrics [ADDR:]PORT: the metrics registry (metrics.c) fed as a
 * pipeline sink, served at /metrics in Prometheus' text format by the
 * HTTP thread (http_server.c). One lock between them: the pipeline holds
 * it to count a record, the server to render into memory; a scrape
 * client's pace is the server thread's alone.
 */
#ifndef TCPTRACE_SINK_METRICS_H
#define TCPTRACE_SINK_METRICS_H

#include "cli.h"
#include "metrics.h"
#include "pipeline.h"

/*
 * Binds and starts serving now (before the programs load: a port in use
 * is said at once); with no --metrics port, the registry alone (--otlp
 * exports it). NULL with a one-line reason in err; *usage is true
 * when it is the user's to fix (a port in use, an address not of this
 * host).
 */
struct sink *metrics_sink_new(const struct options *o, bool *usage, char *err, size_t errlen);
void metrics_sink_free(struct sink *s);
/* The OTLP exporter counts itself into the same registry's metrics. */
struct metrics *metrics_sink_registry(struct sink *s);
void metrics_sink_lock(struct sink *s);
void metrics_sink_unlock(struct sink *s);
struct metrics_self *metrics_sink_self(struct sink *s);

#endif /* TCPTRACE_SINK_METRICS_H */
