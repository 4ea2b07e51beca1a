// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "otlp_export.h"
#include "otlp_json.h"
#include "report.h"
#include "sink_metrics.h"
#include "sink_otlp.h"

struct otlp_sink {
	struct sink base;	/* first: a struct sink * is one of these */
	struct otlp_exporter *x;
	struct sink *metrics;
	struct otlp_resource res;
	char host[256];
	char said[256];		/* the last failure reported */
};

static struct otlp_sink *os(struct sink *s)
{
	return (struct otlp_sink *)s;
}

static void on_diagnosis(struct sink *s, const struct diagnosis *d)
{
	otlp_enqueue_diagnosis(os(s)->x, d);
}

static void on_conn(struct sink *s, const struct conn_record *c)
{
	otlp_enqueue_conn(os(s)->x, c);
}

/* Main thread, each interval: the exporter's counts into the metrics,
 * and a new kind of failure said once. */
static void on_tick(struct sink *s, __u64 now_ns)
{
	struct otlp_sink *o = os(s);
	struct metrics_self *self = metrics_sink_self(o->metrics);
	struct otlp_counts c;
	char msg[256];

	(void)now_ns;
	otlp_exporter_counts(o->x, &c);
	metrics_sink_lock(o->metrics);
	self->otlp = true;
	self->otlp_sent = c.sent;
	self->otlp_failed = c.failed;
	self->otlp_retried = c.retried;
	self->otlp_dropped = c.dropped;
	metrics_sink_unlock(o->metrics);
	if (otlp_exporter_error(o->x, msg, sizeof(msg)) && strcmp(msg, o->said)) {
		report_error("%s", msg);
		snprintf(o->said, sizeof(o->said), "%s", msg);
	}
}

static const struct sink_ops otlp_sink_ops = {
	.diagnosis = on_diagnosis,
	.conn = on_conn,
	.tick = on_tick,
};

/* The exporter's thread: the registry rendered under its lock. */
static void metrics_body(struct json *j, __u64 start_unix_ns, __u64 now_unix_ns, void *ctx)
{
	struct otlp_sink *o = ctx;

	metrics_sink_lock(o->metrics);
	otlp_metrics(j, &o->res, metrics_sink_registry(o->metrics), metrics_sink_self(o->metrics),
		     start_unix_ns, now_unix_ns);
	metrics_sink_unlock(o->metrics);
}

struct sink *otlp_sink_new(const struct options *o, struct sink *metrics, char *err,
			   size_t errlen)
{
	struct otlp_sink *s = calloc(1, sizeof(*s));
	struct otlp_exporter_config c = {
		.url = o->otlp_url,
		.conns = o->otlp_conns,
		.metrics = metrics_body,
	};

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->metrics = metrics;
	if (gethostname(s->host, sizeof(s->host)))
		snprintf(s->host, sizeof(s->host), "unknown");
	s->res = (struct otlp_resource){ s->host, "tcptrace-bpf", TCPTRACE_VERSION };
	c.metrics_ctx = s;
	s->x = otlp_exporter_new(&c, err, errlen);
	if (!s->x) {
		free(s);
		return NULL;
	}
	s->base.ops = &otlp_sink_ops;
	return &s->base;
}

void otlp_sink_free(struct sink *s)
{
	if (!s)
		return;
	otlp_exporter_stop(os(s)->x);
	free(s);
}
