// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include "http_server.h"
#include "sink_metrics.h"

/* Tracer health in the metrics this fresh, whatever --conn-interval says. */
#define METRICS_HEALTH_NS	(5 * 1000000000ULL)

struct metrics_sink {
	struct sink base;	/* first: a struct sink * is one of these */
	pthread_mutex_t lock;
	struct metrics *m;
	struct metrics_self self;
	struct http_server *http;
};

static struct metrics_sink *ms(struct sink *s)
{
	return (struct metrics_sink *)s;
}

static void on_diagnosis(struct sink *s, const struct diagnosis *d)
{
	pthread_mutex_lock(&ms(s)->lock);
	metrics_diagnosis(ms(s)->m, d, d->ts_ns);
	pthread_mutex_unlock(&ms(s)->lock);
}

static void on_conn(struct sink *s, const struct conn_record *c)
{
	pthread_mutex_lock(&ms(s)->lock);
	metrics_conn(ms(s)->m, c, c->ts_ns);
	pthread_mutex_unlock(&ms(s)->lock);
}

static void on_health(struct sink *s, __u64 now_ns, const struct health_report *h)
{
	(void)now_ns;
	pthread_mutex_lock(&ms(s)->lock);
	metrics_health(ms(s)->m, h);
	pthread_mutex_unlock(&ms(s)->lock);
}

static void on_tick(struct sink *s, __u64 now_ns)
{
	pthread_mutex_lock(&ms(s)->lock);
	metrics_tick(ms(s)->m, now_ns);
	pthread_mutex_unlock(&ms(s)->lock);
}

static const struct sink_ops metrics_sink_ops = {
	.diagnosis = on_diagnosis,
	.conn = on_conn,
	.health = on_health,
	.tick = on_tick,
};

/* The server thread: rendered into memory under the lock, sent after. */
static void body(FILE *out, void *ctx)
{
	struct metrics_sink *s = ctx;
	struct http_counts hc;

	pthread_mutex_lock(&s->lock);
	http_server_counts(s->http, &hc);	/* s->http is set: it serves */
	s->self.scrapes = hc.served;
	s->self.scrape_errors = hc.errors;
	metrics_render(s->m, &s->self, out);
	pthread_mutex_unlock(&s->lock);
}

struct sink *metrics_sink_new(const struct options *o, bool *usage, char *err, size_t errlen)
{
	struct metrics_config cfg = {
		.max_endpoints = o->metrics_max_endpoints,
		.ttl_ns = o->metrics_ttl_s * 1000000000ULL,
		.max_flows = o->max_flows,
	};
	struct metrics_sink *s = calloc(1, sizeof(*s));
	int errnum = 0;

	*usage = false;
	if (!s || !(s->m = metrics_new(&cfg))) {
		snprintf(err, errlen, "out of memory for the metrics");
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->base.ops = &metrics_sink_ops;
	s->base.health_every_ns = METRICS_HEALTH_NS;
	if (!o->metrics_port)	/* the registry alone, for --otlp */
		return &s->base;
	/* The server may call body() at once: the sink is whole before. */
	s->http = http_server_start(o->metrics_addr, o->metrics_port,
				    "text/plain; version=0.0.4; charset=utf-8", body, s,
				    &errnum, err, errlen);
	if (!s->http) {
		*usage = errnum == EADDRINUSE || errnum == EADDRNOTAVAIL || errnum == EACCES ||
			 errnum == EINVAL;
		metrics_free(s->m);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	return &s->base;
}

void metrics_sink_free(struct sink *s)
{
	if (!s)
		return;
	http_server_stop(ms(s)->http);
	metrics_free(ms(s)->m);
	pthread_mutex_destroy(&ms(s)->lock);
	free(s);
}

struct metrics *metrics_sink_registry(struct sink *s)
{
	return ms(s)->m;
}

void metrics_sink_lock(struct sink *s)
{
	pthread_mutex_lock(&ms(s)->lock);
}

void metrics_sink_unlock(struct sink *s)
{
	pthread_mutex_unlock(&ms(s)->lock);
}

struct metrics_self *metrics_sink_self(struct sink *s)
{
	return &ms(s)->self;
}
