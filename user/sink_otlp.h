/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --otlp URL: diagnoses (and, with --otlp-conns, conn records) as OTLP
 * log records, and the metrics registry's series as OTLP metrics, pushed
 * by the exporter's thread (otlp_export.c). A pipeline sink.
 */
#ifndef TCPTRACE_SINK_OTLP_H
#define TCPTRACE_SINK_OTLP_H

#include "cli.h"
#include "pipeline.h"

/* metrics: the registry's sink (sink_metrics.c), whose series it exports. */
struct sink *otlp_sink_new(const struct options *o, struct sink *metrics, char *err,
			   size_t errlen);
/* Sends what is queued (a few seconds at most) and frees. */
void otlp_sink_free(struct sink *s);

#endif /* TCPTRACE_SINK_OTLP_H */
