// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Folding: repeats of one problem at one endpoint become one diagnosis
 * that says how many connections it covers. A problem not reported
 * within the fold window goes out at the next tick; repeats inside the
 * window wait and go out together when it has passed.
 *
 * A port scan has no one endpoint: every knock is on another port. A
 * refused handshake (catalogue: folds_port_scans) that is one peer's knock
 * on its SCAN_MIN_PORTS-th distinct port of one host within the fold
 * window folds by the pair of addresses instead, and the report says how
 * many ports, which range, over how long.
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
	__u16 port;		/* the service's; a scan group's: 0 */
	__u8 local;		/* addr:port is this host's (server end) */
	__u8 scan;		/* one peer's knocks across ports of addr */
	__u8 _pad[2];
	__u8 addr[16];
	__u8 peer[16];		/* a scan group's: the other end; else zero */
};

/*
 * Why 3 distinct ports make a scan: a client that needs a host's services
 * knocks on one port, two at most (a service and its TLS or admin twin,
 * both down with their host's deployment); those stay told by endpoint,
 * each service with its own checks. A third closed port of the same host
 * from the same peer within one fold window is a sweep: a scanner,
 * service discovery, a health check of a host whose services are all
 * down. One line for it says what it is; a line per port drowns what
 * else happened.
 */
#define SCAN_MIN_PORTS	3

/*
 * A scan has ended, or paused, when no knock came, and none reached us,
 * for this long: its report then covers it whole. Not a tick: under load
 * (make test's lab) a scanner's 20 knocks paused for more than one 200 ms
 * interval and were told as 18 ports and 2 more. Reached us: knocks read
 * late (a busy consumer) are as good as new ones. A second port's knock
 * waits as long for a third before it is told alone.
 */
#define SCAN_QUIET_NS	NSEC_PER_SEC

/*
 * One peer's knocks on one host (engine.scan_runs, by its scan group's key).
 * Apart from the groups: every peer that knocks has one, and a storm of
 * clients on one closed port must not push that port's group out.
 */
struct scan_state {
	/* The run: knocks no more than a fold window apart. */
	__u64 run;		/* its number (engine.scan_ids); 0: none yet */
	__u64 run_last_ns;	/* its latest knock */
	__u32 run_ports;	/* distinct ports it knocked on */
	/* Its first ports: their knocks went to their endpoints' groups
	 * until the run became a scan, which then takes them over. */
	__u16 early[SCAN_MIN_PORTS - 1];
	/* What the next report covers. */
	__u64 batch;		/* its number (engine.scan_ids); 0: nothing yet */
	__u32 ports;		/* distinct ports among its connections */
	__u16 port_lowest, port_highest;
	__u64 first_ns, last_ns;	/* its first and latest knock */
	__u64 raised_ns;	/* the latest knock raised: the tick before */
};

/* A port one peer knocked on lately (engine.probes). */
struct scan_probe {
	__u64 last_ns;
	__u64 run;		/* the run that counted it */
	__u64 batch;		/* the report that counted it */
};

struct fold_group {
	__u64 last_emit_ns;
	bool emitted;		/* last_emit_ns is valid */
	__u8 emitted_severity;	/* of the last one emitted */
	__u32 pending;		/* occurrences waiting for the fold window */
	/* Their processes differ: the report names none (the cgroup stays). */
	bool owners_differ;
	/* The other end of the pending ones (server: the client address,
	 * client: our own), or several: a scan takes over an endpoint's
	 * pending knocks only when they are all its peer's. */
	bool peers_differ;
	__u8 peer[16];
	/* A knock on a peer's second port of a host, at held_ns, waits
	 * SCAN_QUIET_NS: a third in the meantime makes it a scan's. */
	bool held;
	__u64 held_ns;
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

/* The other end of a diagnosis, as seen from its endpoint. */
static const __u8 *peer_of(const struct diagnosis *d)
{
	return d->side == TT_SIDE_SERVER ? d->key.raddr : d->key.laddr;
}

/*
 * The group of one peer's knocks on one host, and the port d knocked on.
 * Both addresses are in it: who probes whom; two scanners, or one host's
 * two addresses scanned, are two reports.
 */
static __u16 scan_key_of(const struct diagnosis *d, struct fold_key *sk)
{
	__u16 port;

	fold_key_of(d, sk);
	port = sk->port;
	sk->port = 0;
	sk->scan = 1;
	memcpy(sk->peer, peer_of(d), sizeof(sk->peer));
	return port;
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

/* What a group says: its gravest member, owned by no one process when
 * several were; a scan's, with the ports it covers. */
static struct diagnosis group_report(struct engine *e, const struct fold_key *fk,
				     const struct fold_group *g)
{
	struct scan_state *s = fk->scan ? flowtable_lookup(e->scan_runs, fk) : NULL;
	struct diagnosis d = g->first;

	if (g->owners_differ) {
		d.pid = 0;
		d.comm[0] = '\0';
	}
	if (s && s->batch) {
		evidence_add(&d, "ports", s->ports);
		evidence_add(&d, "port_lowest", s->port_lowest);
		evidence_add(&d, "port_highest", s->port_highest);
		evidence_add(&d, "scan_ms", ns_to_ms(elapsed(s->first_ns, s->last_ns)));
		/* Told: the next knocks make the next report. */
		s->batch = 0;
	}
	return d;
}

/* A full group table gives up its oldest group; what it held is still
 * emitted, at the next tick, without waiting for its fold window. */
static void group_evicted(const void *key, void *value, void *ctx)
{
	struct fold_group *g = value;
	struct diagnosis d;

	if (g->pending) {
		d = group_report(ctx, key, g);
		due_push(ctx, &d, g->pending);
	}
}

bool fold_init(struct engine *e)
{
	/* A group per problem endpoint: never more than there are flows. */
	e->groups = flowtable_new(sizeof(struct fold_key), sizeof(struct fold_group),
				  e->cfg.max_flows, group_evicted, e);
	/* A probe per knocked port, one flow each at least: as bounded. One
	 * evicted costs a port counted twice, nothing more. */
	e->probes = flowtable_new(sizeof(struct fold_key), sizeof(struct scan_probe),
				  e->cfg.max_flows, NULL, NULL);
	/* A peer's knocks on a host: no more than there are probes. One
	 * evicted starts its count anew. */
	e->scan_runs = flowtable_new(sizeof(struct fold_key), sizeof(struct scan_state),
				 e->cfg.max_flows, NULL, NULL);
	return e->groups && e->probes && e->scan_runs;
}

void fold_free(struct engine *e)
{
	flowtable_free(e->groups);
	flowtable_free(e->probes);
	flowtable_free(e->scan_runs);
	free(e->due);
}

void fold_raise(struct engine *e, const struct diagnosis *d)
{
	fold_raise_n(e, d, 1);
}

/* n occurrences like d join g; owners_differ: they had several owners. */
static void group_add(struct fold_group *g, const struct diagnosis *d, __u32 n,
		      bool owners_differ)
{
	bool lost = g->pending && g->first.events_lost;

	if (!g->pending) {
		g->owners_differ = false;
		g->peers_differ = false;
		memcpy(g->peer, peer_of(d), sizeof(g->peer));
	} else {
		if (d->pid != g->first.pid)
			g->owners_differ = true;
		if (memcmp(g->peer, peer_of(d), sizeof(g->peer)))
			g->peers_differ = true;
	}
	g->owners_differ |= owners_differ;
	/* The group speaks with its gravest member's voice: a client that
	 * keeps retrying among scanners is what it reports. */
	if (!g->pending || diag_severity_of(d) > diag_severity_of(&g->first))
		g->first = *d;
	g->first.events_lost |= lost || d->events_lost;
	g->pending += n ? n : 1;
}

/* A knock and no more: a scan's, or its first ports'. A graver one (a
 * client retrying one closed port) is told by its port, at once. */
static bool plain_knock(const struct diagnosis *d)
{
	const struct diag_entry *entry = diag_entry_of(d->code);

	return entry && entry->folds_port_scans && diag_severity_of(d) <= entry->severity;
}

/* The knock on port at t is in the scan's next report. */
static void scan_count(struct engine *e, struct scan_state *s,
		       struct scan_probe *p, __u16 port, __u64 t)
{
	if (!s->batch) {
		s->batch = ++e->scan_ids;
		s->ports = 0;
		s->port_lowest = s->port_highest = port;
		s->first_ns = s->last_ns = t;
	}
	if (p && p->batch != s->batch) {
		p->batch = s->batch;
		s->ports++;
	}
	if (port < s->port_lowest)
		s->port_lowest = port;
	if (port > s->port_highest)
		s->port_highest = port;
	if (t < s->first_ns)
		s->first_ns = t;
	if (t > s->last_ns)
		s->last_ns = t;
}

/*
 * The run just became a scan: its first ports' knocks wait in their
 * endpoints' groups, told alone unless taken over before the next tick.
 * A group is taken over only with nothing in it but this peer's knocks,
 * none graver than a knock: other clients of that port, or this peer
 * retrying it (PORT_CLOSED's error), keep their own report.
 */
static void scan_take_over(struct engine *e, const struct fold_key *sk,
			   struct scan_state *s, struct fold_group *g)
{
	for (unsigned int i = 0; i < SCAN_MIN_PORTS - 1; i++) {
		struct fold_key ek = *sk, pk = *sk;
		struct fold_group *eg;

		ek.scan = 0;
		ek.port = s->early[i];
		memset(ek.peer, 0, sizeof(ek.peer));
		eg = flowtable_lookup(e->groups, &ek);
		if (!eg || !eg->pending || eg->peers_differ ||
		    memcmp(eg->peer, sk->peer, sizeof(eg->peer)) || !plain_knock(&eg->first))
			continue;
		pk.port = ek.port;
		scan_count(e, s, flowtable_lookup(e->probes, &pk), ek.port,
			   eg->first.since_ns ? eg->first.since_ns : e->last_tick_ns);
		group_add(g, &eg->first, eg->pending, eg->owners_differ);
		/* Nothing left to tell: a group never told goes at the next
		 * emit, one told keeps its window. */
		eg->pending = 0;
	}
}

/*
 * A knock (d) that is part of a scan joins the scan's group; true when it
 * did. Every knock of a peer counts toward its run, so the third port
 * finds the first two. *hold: it is not (yet), but its peer knocked on
 * another port of the host lately: told alone, it waits a tick for a
 * third. A peer's first port is told at once, the usual case of a
 * service down; a second is rare enough to cost its report a tick.
 */
static bool fold_scan(struct engine *e, const struct diagnosis *d, __u32 n, bool *hold,
		      __u64 *t_out)
{
	/* The knock's time, for the run and the span it reports: its SYN. */
	__u64 t = d->since_ns ? d->since_ns : e->last_tick_ns;
	struct fold_key sk, pk;
	struct scan_probe *p;
	struct fold_group *g;
	struct scan_state *s;
	bool became_scan = false;
	__u16 port;

	/* A scan never raises a severity, nor hides one raised. */
	if (!plain_knock(d))
		return false;
	port = scan_key_of(d, &sk);
	s = flowtable_get(e->scan_runs, &sk, NULL);
	if (!s)
		return false;
	if (!s->run || elapsed(s->run_last_ns, t) > e->cfg.fold_ns) {
		s->run = ++e->scan_ids;
		s->run_ports = 0;
	}
	if (t > s->run_last_ns)
		s->run_last_ns = t;
	pk = sk;
	pk.port = port;
	p = flowtable_get(e->probes, &pk, NULL);
	if (p) {
		if (t > p->last_ns)
			p->last_ns = t;
		if (p->run != s->run) {
			p->run = s->run;
			if (s->run_ports < SCAN_MIN_PORTS - 1)
				s->early[s->run_ports] = port;
			s->run_ports++;
			became_scan = s->run_ports == SCAN_MIN_PORTS;
		}
	}
	if (s->run_ports < SCAN_MIN_PORTS) {
		*hold = s->run_ports > 1;
		*t_out = t > e->last_tick_ns ? t : e->last_tick_ns;
		return false;
	}
	g = flowtable_get(e->groups, &sk, NULL);
	if (!g)
		return false;
	if (became_scan)
		scan_take_over(e, &sk, s, g);
	scan_count(e, s, p, port, t);
	group_add(g, d, n, false);
	s->raised_ns = e->last_tick_ns;
	return true;
}

void fold_raise_n(struct engine *e, const struct diagnosis *d, __u32 n)
{
	struct fold_group *g;
	struct fold_key fk;
	bool hold = false;
	__u64 t = 0;

	if (fold_scan(e, d, n, &hold, &t))
		return;
	fold_key_of(d, &fk);
	g = flowtable_get(e->groups, &fk, NULL);
	if (!g)
		return;
	group_add(g, d, n, false);
	if (hold) {
		g->held = true;
		g->held_ns = t;
	}
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

/*
 * A scan's group waits on top of the window: for the scan to end
 * (SCAN_QUIET_NS without a knock), so that one report covers it whole,
 * or for a window from its first knock, so that one that never ends is
 * still told.
 */
static bool scan_waits(const struct engine *e, const struct fold_key *fk, __u64 now)
{
	const struct scan_state *s = flowtable_lookup(e->scan_runs, fk);

	return s && s->batch &&
	       elapsed(s->last_ns > s->raised_ns ? s->last_ns : s->raised_ns, now) < SCAN_QUIET_NS &&
	       elapsed(s->first_ns, now) < e->cfg.fold_ns;
}

/* Probes and runs a fold window old are over (the oldest first); a run
 * with knocks not yet told stays for its report. */
static void scans_expire(struct engine *e, __u64 now)
{
	struct scan_probe *p, *pnext;
	struct scan_state *s, *snext;

	for (p = flowtable_first(e->probes); p; p = pnext) {
		pnext = flowtable_next(e->probes, p);
		if (elapsed(p->last_ns, now) <= e->cfg.fold_ns)
			break;
		flowtable_delete(e->probes, p);
	}
	for (s = flowtable_first(e->scan_runs); s; s = snext) {
		snext = flowtable_next(e->scan_runs, s);
		if (elapsed(s->run_last_ns, now) <= e->cfg.fold_ns)
			break;
		if (!s->batch)
			flowtable_delete(e->scan_runs, s);
	}
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
		const struct fold_key *fk = flowtable_key(e->groups, g);

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
		if (!finish && fk->scan && scan_waits(e, fk, now))
			continue;
		if (!finish && g->held && elapsed(g->held_ns, now) < SCAN_QUIET_NS &&
		    plain_knock(&g->first))
			continue;
		g->held = false;
		report = group_report(e, fk, g);
		emit(e, &report, g->pending, now, fn, ctx);
		g->emitted_severity = diag_severity_of(&g->first);
		g->pending = 0;
		g->emitted = true;
		g->last_emit_ns = now;
	}
	if (!finish)
		scans_expire(e, now);
}
