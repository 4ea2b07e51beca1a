// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pipeline's loop: wait for records until the next tick, sample, judge,
 * print; at the end flush everything. Time is the source's: the loop never
 * reads a clock of its own, so a replay ticks at the recording's pace.
 */
#include <stdlib.h>
#include <string.h>
#include "pipeline.h"
#include "record.h"
#include "report.h"
#include "cgroups.h"

struct pipeline {
	struct engine *engine;
	struct output *out;
	struct sink *sinks;
	bool conn_lines;	/* --conns: conn records as text lines too */
	__u64 interval_ns;
	__u64 duration_ns;	/* 0: until stopped */
	__u64 stats_every_ns;	/* stats records while running; 0: at the end only */
	__u64 conn_interval_ns;
	__u64 last_stats_ns;
	bool stats_sent;	/* the first stats record also says what the kernel lacks */
	struct recorder *rec;	/* -w, or NULL */
	/* Owners' cgroups by id: resolved live, or learned from a recording. */
	struct cgroup_names *cgroups;
	__u64 last_cgroup;	/* the id the last record had: most repeat it */
	const char *cgroup_filter;	/* --cgroup, under the mount; NULL: all */
};

void pipeline_engine_config(const struct options *o, struct engine_config *cfg)
{
	engine_config_default(cfg);
	cfg->stall_ns = o->stall_ms * 1000000ULL;
	cfg->loss_pct = o->loss_pct;
	cfg->syn_retrans = o->syn_retrans;
	cfg->fold_ns = o->fold_s * 1000000000ULL;
	cfg->conn_interval_ns = o->conn_interval_s * 1000000000ULL;
	cfg->max_flows = o->max_flows;
}

/* --cgroup: an owner in that cgroup or below it; an unknown one is not. */
static bool cgroup_wanted(const struct pipeline *p, const struct cgroup_name *cg)
{
	return !p->cgroup_filter || (cg && cg->path[0] && cgroup_path_under(cg->path,
									   p->cgroup_filter));
}

static void on_diagnosis(const struct diagnosis *dg, void *ctx)
{
	struct pipeline *p = ctx;
	struct diagnosis d = *dg;

	d.cgroup = cgroup_names_get(p->cgroups, d.cgroup_id);
	if (!cgroup_wanted(p, d.cgroup))
		return;
	output_diagnosis(p->out, &d);
	for (struct sink *s = p->sinks; s; s = s->next)
		if (s->ops->diagnosis)
			s->ops->diagnosis(s, &d);
}

static void on_conn(const struct conn_record *cr, void *ctx)
{
	struct pipeline *p = ctx;
	struct conn_record c = *cr;

	c.cgroup = cgroup_names_get(p->cgroups, c.cgroup_id);
	if (!cgroup_wanted(p, c.cgroup))
		return;
	output_conn(p->out, &c, p->conn_lines);
	for (struct sink *s = p->sinks; s; s = s->next)
		if (s->ops->conn)
			s->ops->conn(s, &c);
}

/*
 * A cgroup id on its way into the engine: named now, live, and the name
 * recorded before the record that carries it, so that a replay knows it
 * by the time the live run used it.
 */
static void learn_cgroup(struct pipeline *p, __u64 id, __u64 now_ns)
{
	const struct cgroup_name *cg;
	bool learned;

	if (!id || id == p->last_cgroup)
		return;
	cg = cgroup_names_resolve(p->cgroups, id, now_ns, &learned);
	/* One not found yet is tried again as its records come. */
	p->last_cgroup = cg && cg->path[0] ? id : 0;
	if (learned && cg && p->rec)
		recorder_cgroup(p->rec, now_ns, cg->id, cg->path, cg->pod);
}

int pipeline_resolve_cgroups(struct pipeline *p, const char *root, const char *pods_dir)
{
	struct cgroup_names *cn = cgroup_names_new(root, pods_dir);

	if (!cn)
		return -1;
	cgroup_names_free(p->cgroups);
	p->cgroups = cn;
	return 0;
}

void pipeline_set_cgroup_filter(struct pipeline *p, const char *path)
{
	p->cgroup_filter = path;
}

void pipeline_cgroup(struct pipeline *p, __u64 id, const char *path, const char *pod)
{
	if (p->rec)
		recorder_cgroup(p->rec, 0, id, path, pod);
	cgroup_names_set(p->cgroups, id, path, pod);
}

void pipeline_add_sink(struct pipeline *p, struct sink *s)
{
	struct sink **tail = &p->sinks;

	while (*tail)
		tail = &(*tail)->next;
	s->next = NULL;
	*tail = s;
	/* A file or a collector takes the stats records a JSON stdout would. */
	if (!p->stats_every_ns)
		p->stats_every_ns = p->conn_interval_ns;
}

struct pipeline *pipeline_new(const struct options *o, const struct engine_config *cfg,
			      struct output *out)
{
	struct pipeline *p = calloc(1, sizeof(*p));

	if (p) {
		p->engine = engine_new(cfg);
		p->cgroups = cgroup_names_new(NULL, NULL);
	}
	if (!p || !p->engine || !p->cgroups) {
		report_error("out of memory for the flow table");
		if (p)
			engine_free(p->engine);
		free(p);
		return NULL;
	}
	engine_set_conn_sink(p->engine, on_conn, p);
	p->out = out;
	p->conn_lines = o->conns;
	p->interval_ns = o->interval_ms * 1000000ULL;
	p->duration_ns = o->duration_ms * 1000000ULL;
	/* A monitoring pipeline reading -j sees the losses as they happen. */
	p->conn_interval_ns = o->conn_interval_s * 1000000000ULL;
	p->stats_every_ns = o->json ? p->conn_interval_ns : 0;
	return p;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	engine_free(p->engine);
	cgroup_names_free(p->cgroups);
	free(p);
}

void pipeline_set_recorder(struct pipeline *p, struct recorder *rec)
{
	p->rec = rec;
}

void pipeline_event(struct pipeline *p, const struct tt_event *ev)
{
	learn_cgroup(p, ev->cgroup_id, ev->ts_ns);
	if (p->rec)
		recorder_event(p->rec, ev);
	engine_on_event(p->engine, ev);
}

void pipeline_socket(struct pipeline *p, const struct tt_sock_scan *s, __u64 now_ns)
{
	learn_cgroup(p, s->cgroup_id, now_ns);
	if (p->rec)
		recorder_socket(p->rec, s, now_ns);
	engine_on_scan(p->engine, s, now_ns);
}

void pipeline_nic(struct pipeline *p, const struct flow_key *key,
		  const struct nic_flow *nf, __u64 now_ns)
{
	if (p->rec)
		recorder_nic(p->rec, key, nf, now_ns);
	engine_on_nic(p->engine, key, nf, now_ns);
}

void pipeline_scan_partial(struct pipeline *p)
{
	engine_scan_partial(p->engine);
}

void pipeline_scan_end(struct pipeline *p, __u64 now_ns)
{
	if (p->rec)
		recorder_scan_end(p->rec, now_ns);
	engine_scan_end(p->engine, now_ns);
}

/* A mark in the recording: where the run started, ticked, stopped. */
static void mark(struct pipeline *p, enum rec_type type, __u64 now)
{
	if (p->rec)
		recorder_mark(p->rec, type, now);
}

/* The source's health and the engine's, together. */
static void build_health(struct pipeline *p, struct source *src, struct health_report *r)
{
	struct engine_stats es;

	memset(r, 0, sizeof(*r));
	src->ops->health(src, r);
	engine_get_stats(p->engine, &es);
	r->flows_tracked = es.flows;
	r->flows_evicted_table = es.flows_evicted;
	r->scan_untracked = es.scan_untracked;
	r->diagnoses = es.diagnoses;
}

static void report_health(struct pipeline *p, struct source *src, __u64 now, bool final)
{
	struct health_report r;

	build_health(p, src, &r);
	if (p->stats_sent)
		r.plan = NULL;
	/* Text stdout has the one summary at the end; JSON every interval. */
	if (final || p->out->json)
		output_health(p->out, now, &r);
	for (struct sink *s = p->sinks; s; s = s->next) {
		if (!s->ops->health)
			continue;
		s->ops->health(s, now, &r);
		s->last_health_ns = now;
	}
	p->stats_sent = true;
	p->last_stats_ns = now;
}

/* A sink that wants its health fresher than the stats records come. */
static void health_for_sinks(struct pipeline *p, struct source *src, __u64 now)
{
	struct health_report r;
	bool built = false;

	for (struct sink *s = p->sinks; s; s = s->next) {
		if (!s->ops->health || !s->health_every_ns ||
		    now - s->last_health_ns < s->health_every_ns)
			continue;
		if (!built) {
			build_health(p, src, &r);
			r.plan = NULL;
			built = true;
		}
		s->ops->health(s, now, &r);
		s->last_health_ns = now;
	}
}

static void tick_sinks(struct pipeline *p, __u64 now)
{
	for (struct sink *s = p->sinks; s; s = s->next)
		if (s->ops->tick)
			s->ops->tick(s, now);
}

static void tick(struct pipeline *p, struct source *src, __u64 now)
{
	__u64 lost;

	mark(p, REC_TICK, now);
	src->ops->sample(src, now);
	lost = src->ops->lost(src);
	if (p->rec) {
		struct health_report h;

		/* A replay's stats say what the live source counted. */
		memset(&h, 0, sizeof(h));
		src->ops->health(src, &h);
		recorder_health(p->rec, now, &h);
		recorder_lost(p->rec, now, lost);
	}
	engine_note_lost(p->engine, lost);
	engine_tick(p->engine, now, on_diagnosis, p);
	if (p->stats_every_ns && now - p->last_stats_ns >= p->stats_every_ns)
		report_health(p, src, now, false);
	health_for_sinks(p, src, now);
	tick_sinks(p, now);
}

int pipeline_run(struct pipeline *p, struct source *src, volatile sig_atomic_t *stop)
{
	__u64 now = src->ops->now(src);
	__u64 next_tick = now + p->interval_ns;
	__u64 end = p->duration_ns ? now + p->duration_ns : 0;
	int ret = 0;

	p->last_stats_ns = now;
	mark(p, REC_START, now);
	while (!*stop && ret == 0) {
		ret = src->ops->poll(src, end && end < next_tick ? end : next_tick);
		if (ret < 0) {
			output_flush(p->out);
			return EXIT_RUNTIME;
		}
		now = src->ops->now(src);
		if (src->ops->tick_due ? src->ops->tick_due(src) : now >= next_tick) {
			tick(p, src, now);
			next_tick += p->interval_ns;
			if (next_tick <= now)
				next_tick = now + p->interval_ns;
		}
		/* What this round wrote goes out in one write, at most
		 * POLL_MAX_MS of the source after it happened. */
		output_flush(p->out);
		if (end && now >= end)
			break;
	}
	/* What the source still holds, a last look, what is pending. */
	src->ops->flush(src);
	now = src->ops->now(src);
	mark(p, REC_LOOP_END, now);
	tick(p, src, now);
	engine_finish(p->engine, now, on_diagnosis, p);
	mark(p, REC_FINISH, now);
	report_health(p, src, now, true);
	tick_sinks(p, now);
	output_flush(p->out);
	return EXIT_DONE;
}
