// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Folding: repeats of one problem at one endpoint become one diagnosis
 * that says how many connections it covers. A problem not reported
 * within the fold window goes out at the next tick; repeats inside the
 * window wait and go out together when it has passed.
 */
#include <stdlib.h>
#include <string.h>
#include "catalogue.h"
#include "engine.h"

/*
 * Repeats of one problem at one endpoint, by one container or unit, fold
 * into one diagnosis: two services' troubles are told apart, as in the
 * metrics; a service's many processes (workers, cron runs) are not.
 */
struct fold_key {
	__u64 cgroup_id;
	__u32 code;
	__u32 netns;
	__u16 family;
	__u16 port;
	__u8 local;		/* addr:port is this host's (server end) */
	__u8 _pad[3];
	__u8 addr[16];
};

struct fold_group {
	__u64 last_emit_ns;
	bool emitted;		/* last_emit_ns is valid */
	__u8 emitted_severity;	/* of the last one emitted */
	__u32 pending;		/* occurrences waiting for the fold window */
	/* Their processes differ: the report names none (the cgroup stays). */
	bool owners_differ;
	struct diagnosis first;	/* the most severe of them, the first of those */
};

/* A group pushed out of a full group table: emitted at the next tick. */
struct due_batch {
	struct diagnosis first;
	__u32 connections;
};

/*
 * The endpoint a problem folds by: the server end of the connection, the
 * one many flows share. A client's ephemeral ports differ on every
 * connection; the service it calls does not. Whether that endpoint is ours
 * or the peer's is part of the key: when both ends run on this host (over
 * loopback, or a host-wide tracer), the client's and the server's view of
 * one service are two problems, not one.
 */
static void fold_key_of(const struct diagnosis *d, struct fold_key *fk)
{
	bool server = d->side == TT_SIDE_SERVER;

	memset(fk, 0, sizeof(*fk));
	fk->cgroup_id = d->cgroup_id;
	fk->code = d->code;
	fk->netns = d->key.netns;
	fk->family = d->key.family;
	fk->local = server;
	if (server) {
		fk->port = d->key.lport;
		memcpy(fk->addr, d->key.laddr, sizeof(fk->addr));
	} else {
		fk->port = d->key.rport;
		memcpy(fk->addr, d->key.raddr, sizeof(fk->addr));
	}
}

static void due_push(struct engine *e, const struct diagnosis *first,
		     __u32 connections)
{
	if (e->n_due == e->cap_due) {
		size_t cap = e->cap_due ? e->cap_due * 2 : 16;
		struct due_batch *b = realloc(e->due, cap * sizeof(*b));

		if (!b)
			return;	/* out of memory: the batch is lost, not a crash */
		e->due = b;
		e->cap_due = cap;
	}
	e->due[e->n_due].first = *first;
	e->due[e->n_due].connections = connections;
	e->n_due++;
}

/* A full group table gives up its oldest group; what it held is still
 * emitted, at the next tick, without waiting for its fold window. */
/* What a group says: its gravest member, owned by no one process when
 * several were. */
static struct diagnosis group_report(const struct fold_group *g)
{
	struct diagnosis d = g->first;

	if (g->owners_differ) {
		d.pid = 0;
		d.comm[0] = '\0';
	}
	return d;
}

static void group_evicted(const void *key, void *value, void *ctx)
{
	struct fold_group *g = value;
	struct diagnosis d;

	(void)key;
	if (g->pending) {
		d = group_report(g);
		due_push(ctx, &d, g->pending);
	}
}

bool fold_init(struct engine *e)
{
	/* A group per problem endpoint: never more than there are flows. */
	e->groups = flowtable_new(sizeof(struct fold_key), sizeof(struct fold_group),
				  e->cfg.max_flows, group_evicted, e);
	return e->groups != NULL;
}

void fold_free(struct engine *e)
{
	flowtable_free(e->groups);
	free(e->due);
}

void fold_raise(struct engine *e, const struct diagnosis *d)
{
	fold_raise_n(e, d, 1);
}

void fold_raise_n(struct engine *e, const struct diagnosis *d, __u32 n)
{
	struct fold_group *g;
	struct fold_key fk;

	fold_key_of(d, &fk);
	bool lost;

	g = flowtable_get(e->groups, &fk, NULL);
	if (!g)
		return;
	lost = g->pending && g->first.events_lost;
	if (!g->pending)
		g->owners_differ = false;
	else if (d->pid != g->first.pid)
		g->owners_differ = true;
	/* The group speaks with its gravest member's voice: a client that
	 * keeps retrying among scanners is what it reports. */
	if (!g->pending || diag_severity_of(d) > diag_severity_of(&g->first))
		g->first = *d;
	g->first.events_lost |= lost || d->events_lost;
	g->pending += n ? n : 1;
}

static void emit(struct engine *e, const struct diagnosis *first,
		 __u32 connections, __u64 now, diag_fn fn, void *ctx)
{
	struct diagnosis d = *first;

	d.comm[TT_COMM_LEN - 1] = '\0';
	d.drop_reason_name[sizeof(d.drop_reason_name) - 1] = '\0';
	d.ts_ns = now;
	d.connections = connections;
	/* events_lost was set as it was raised: only a verdict whose
	 * evidence reaches into a time events were lost may rest on a
	 * missing fact (a SYN-ACK, a reset). */
	d.severity = diag_severity_of(&d);
	e->diagnoses++;
	if (fn)
		fn(&d, ctx);
}

void fold_emit(struct engine *e, __u64 now, bool finish, diag_fn fn, void *ctx)
{
	struct fold_group *g, *gnext;
	struct diagnosis report;
	size_t i;

	for (i = 0; i < e->n_due; i++)
		emit(e, &e->due[i].first, e->due[i].connections, now, fn, ctx);
	e->n_due = 0;

	for (g = flowtable_first(e->groups); g; g = gnext) {
		gnext = flowtable_next(e->groups, g);
		/* Within the window repeats wait, unless they are graver than
		 * what was said (a scan's note, then a client that retries). */
		if (!finish && g->emitted && elapsed(g->last_emit_ns, now) < e->cfg.fold_ns &&
		    !(g->pending && diag_severity_of(&g->first) > g->emitted_severity))
			continue;
		if (!g->pending) {
			/* Quiet for a whole window: the problem is over. */
			if (!finish)
				flowtable_delete(e->groups, g);
			continue;
		}
		report = group_report(g);
		emit(e, &report, g->pending, now, fn, ctx);
		g->emitted_severity = diag_severity_of(&g->first);
		g->pending = 0;
		g->emitted = true;
		g->last_emit_ns = now;
	}
}
