// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Replaying a recording through the pipeline. The recording holds the
 * records in the order the live engine took them, with the live run's
 * ticks as records of their own: polling feeds events until the next
 * tick, a tick's sample feeds what the live sample fed (socket
 * snapshots, NIC counters, the events read meanwhile) up to the count of
 * lost events that closes it. The engine cannot tell the difference, and
 * says what it said live.
 */
#include <stdlib.h>
#include <string.h>
#include "source_file.h"

struct file_source {
	struct source base;	/* first: a struct source * is one of these */
	struct pipeline *pipe;
	struct rec_reader *rd;
	__u64 now;
	__u64 lost;
	bool tick;		/* a REC_TICK was read: the pipeline judges now */
	bool tick_read;		/* ... and its sample is next */
	bool ended;
	__u64 events, sockets;
	bool has_health;	/* the recording carries the live source's counts */
	struct rec_health health;
};

static struct file_source *fsrc(struct source *src)
{
	return (struct file_source *)src;
}

/* A record that is part of the data the engine takes. */
static void feed(struct file_source *fs, const struct rec_item *it)
{
	switch (it->type) {
	case REC_EVENT:
		fs->events++;
		pipeline_event(fs->pipe, &it->ev);
		break;
	case REC_SOCKET:
		fs->sockets++;
		pipeline_socket(fs->pipe, &it->sock, it->ts_ns);
		break;
	case REC_SCAN_END:
		pipeline_scan_end(fs->pipe, it->ts_ns);
		break;
	case REC_NIC:
		pipeline_nic(fs->pipe, &it->nic.key, &it->nic.nf, it->ts_ns);
		break;
	case REC_LOST:
		fs->lost = it->lost;
		break;
	case REC_HEALTH:
		fs->health = it->health;
		fs->has_health = true;
		break;
	case REC_CGROUP:
		pipeline_cgroup(fs->pipe, it->cgroup.id, it->cgroup.path, it->cgroup.pod);
		break;
	default:
		break;
	}
}

/* Events up to the next tick (the time asked for is the live run's own). */
static int file_poll(struct source *src, __u64 until)
{
	struct file_source *fs = fsrc(src);
	struct rec_item it;

	(void)until;
	while (!fs->ended) {
		if (rec_next(fs->rd, &it) <= 0) {
			fs->ended = true;
			break;
		}
		switch (it.type) {
		case REC_TICK:
			fs->now = it.ts_ns;
			fs->tick = fs->tick_read = true;
			return 0;
		case REC_LOOP_END:
		case REC_FINISH:
			fs->now = it.ts_ns;
			fs->ended = true;
			break;
		case REC_START:
			fs->now = it.ts_ns;
			break;
		default:
			feed(fs, &it);
		}
	}
	return 1;
}

static bool file_tick_due(struct source *src)
{
	struct file_source *fs = fsrc(src);
	bool due = fs->tick;

	fs->tick = false;
	return due;
}

static void file_flush(struct source *src)
{
	(void)src;
}

static __u64 file_now(struct source *src)
{
	return fsrc(src)->now;
}

/*
 * What the live sample fed, up to the lost count that ends it. The last
 * tick's REC_TICK comes after REC_LOOP_END, read here.
 */
static void file_sample(struct source *src, __u64 now)
{
	struct file_source *fs = fsrc(src);
	struct rec_item it;

	(void)now;
	while (rec_next(fs->rd, &it) > 0) {
		if (it.type == REC_TICK && !fs->tick_read) {
			fs->tick_read = true;
			continue;
		}
		if (it.type == REC_TICK || it.type == REC_START || it.type == REC_LOOP_END ||
		    it.type == REC_FINISH) {
			/* Out of place: a sample that never ended. Stop here. */
			break;
		}
		feed(fs, &it);
		if (it.type == REC_LOST)
			break;
	}
	fs->tick_read = false;
}

static __u64 file_lost(struct source *src)
{
	return fsrc(src)->lost;
}

/* What the live source counted at the tick replayed last, or (a recording
 * without them) what the replay fed. */
static void file_health(struct source *src, struct health_report *r)
{
	struct file_source *fs = fsrc(src);
	const struct rec_health *h = &fs->health;

	r->events = fs->events;
	r->events_lost = fs->lost;
	r->sockets_scanned = fs->sockets;
	if (!fs->has_health)
		return;
	r->events = h->events;
	r->events_lost = h->events_lost;
	r->flows_opened = h->flows_opened;
	r->flows_evicted_kernel = h->flows_evicted_kernel;
	r->flow_map_full = h->flow_map_full;
	r->nic_flows_opened = h->nic_flows_opened;
	r->flows_evicted_nic = h->flows_evicted_nic;
	r->nic_unparsed = h->nic_unparsed;
	r->sockets_scanned = h->sockets_scanned;
	r->scan_errors = h->scan_errors;
	r->netns_scanned = h->netns_scanned;
	r->netns_unresolved = h->netns_unresolved;
	r->netns_evicted = h->netns_evicted;
	r->attach_us = h->attach_us;
	r->classic = h->classic;
}

static const struct source_ops file_ops = {
	.poll = file_poll,
	.flush = file_flush,
	.now = file_now,
	.sample = file_sample,
	.lost = file_lost,
	.health = file_health,
	.tick_due = file_tick_due,
};

struct source *file_source_new(struct rec_reader *rd, struct pipeline *p)
{
	struct file_source *fs = calloc(1, sizeof(*fs));
	struct rec_item it;

	if (!fs)
		return NULL;
	fs->base.ops = &file_ops;
	fs->pipe = p;
	fs->rd = rd;
	fs->now = rec_last_ts(rd);
	/* The pipeline reads its clock before anything else: the start. */
	if (rec_next(rd, &it) > 0) {
		fs->now = it.ts_ns;
		if (it.type != REC_START)
			feed(fs, &it);
	} else {
		fs->ended = true;
	}
	return &fs->base;
}

void file_source_free(struct source *src)
{
	free(src);
}

/* ---------------------------------------------------------------- options */

void file_source_options(const struct rec_header *h, int argc, char **argv,
			 struct options *o)
{
	enum cli_mode mode = o->mode;

	cli_defaults(o);
	o->mode = mode;
	o->interval_ms = rec_option(h, OPT_REC_INTERVAL_MS, o->interval_ms);
	o->stall_ms = rec_option(h, OPT_REC_STALL_MS, o->stall_ms);
	o->loss_pct = rec_option(h, OPT_REC_LOSS_PCT, o->loss_pct);
	o->syn_retrans = rec_option(h, OPT_REC_SYN_RETRANS, o->syn_retrans);
	o->fold_s = rec_option(h, OPT_REC_FOLD_S, o->fold_s);
	o->conn_interval_s = rec_option(h, OPT_REC_CONN_INTERVAL_S, o->conn_interval_s);
	o->max_flows = rec_option(h, OPT_REC_MAX_FLOWS, o->max_flows);
	/* A damaged header's numbers must not make a table nobody can hold. */
	if (o->max_flows < 64 || o->max_flows > 10000000)
		o->max_flows = 65536;
	cli_apply(argc, argv, o);
	/* The recording's end is the end; its ticks are its own. */
	o->duration_ms = 0;
}

/* The names of the recording's drop reasons, for the words. */
static const struct rec_header *names_of;

static const char *recorded_reason_name(unsigned int reason)
{
	if (!names_of || reason >= names_of->n_drop || !names_of->drop_name[reason][0])
		return NULL;
	return names_of->drop_name[reason];
}

void file_source_config(const struct rec_header *h, const struct options *o,
			struct engine_config *cfg)
{
	pipeline_engine_config(o, cfg);
	cfg->nic_ingress = h->nic_ingress;
	/* A damaged header's rate must not divide by zero or make nonsense:
	 * the kernel's are 100 to 1000. */
	cfg->hz = h->hz >= 24 && h->hz <= 10000 ? h->hz : 0;
	names_of = h;
	cfg->drop_class = h->n_drop ? h->drop_class : NULL;
	cfg->n_drop_class = h->n_drop;
	cfg->drop_reason_name = h->n_drop ? recorded_reason_name : NULL;
}
