// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "flowtable.h"
#include "cgroups.h"
#include "metrics.h"
#include "words.h"

/* A record's weight in an endpoint's busyness halves in this time. */
#define ACTIVITY_HALF_LIFE_NS	(60 * 1000000000ULL)
/* Candidates replacing endpoints per tick: the busiest arrive fast, the
 * table does not churn. */
#define PROMOTIONS_PER_TICK	16
#define SEVERITIES		3
#define PROG_MAX		32

enum fail_reason {
	FAIL_REFUSED,
	FAIL_TIMED_OUT,
	FAIL_HOST_UNREACHABLE,
	FAIL_NET_UNREACHABLE,
	FAIL_REJECTED,
	FAIL_LOCAL_DROP,
	FAIL_NAT_MISMATCH,
	FAIL_LISTEN_OVERFLOW,
	FAIL_MAX,
	FAIL_NONE = FAIL_MAX,
};

/* Beyla's failed.connections reasons where they exist (OpenTelemetry's
 * spelling: hyphens), ours for the rest. */
static const char *const fail_names[FAIL_MAX] = {
	"refused", "timed-out", "host-unreachable", "net-unreachable", "rejected",
	"local-drop", "nat-mismatch", "listen-overflow",
};

enum retrans_kind { RETRANS_RTO, RETRANS_FAST, RETRANS_OTHER, RETRANS_MAX };
static const char *const retrans_names[RETRANS_MAX] = { "rto", "fast", "other" };

/* Connect: a SYN retransmit takes 1 s, a second one 3 s. */
static const double connect_bounds[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
static const double rtt_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
};
#define N_CONNECT	(sizeof(connect_bounds) / sizeof(connect_bounds[0]))
#define N_RTT		(sizeof(rtt_bounds) / sizeof(rtt_bounds[0]))

/* Longer names are cut: a pod's name fits, a label need not hold more. */
#define METRICS_CONTAINER_MAX	96

struct ep_key {
	__u8 side;		/* enum tt_side */
	__u8 family;
	__u16 rport;		/* the service's port when it is remote, else 0 */
	__u16 lport;		/* ... when it is local, else 0 */
	__u16 _pad;
	__u8 raddr[16];
	/* The owner's container or unit (cgroups.h), "" unknown: one per
	 * service a host runs, not per process; zero-padded, hashed whole. */
	char container[METRICS_CONTAINER_MAX];
};

struct histogram {
	__u64 buckets[16];	/* per bound, and +Inf last: not cumulative */
	double sum;
	__u64 count;
};

struct endpoint {
	double activity;	/* decayed count of records, at activity_ns */
	__u64 activity_ns;
	__u64 last_ns;		/* its latest record */
	/* Labels, rendered once. */
	char side[8];
	char raddr[TT_ADDR_STRLEN];
	char rport[8], lport[8];
	char container[METRICS_CONTAINER_MAX];
	__u64 diag[DIAG_CODE_MAX][SEVERITIES];
	__u64 opened;
	__u64 failed[FAIL_MAX];
	__u64 reset_rx, reset_tx;
	__u64 retrans[RETRANS_MAX];
	__u64 syn_retrans;
	__u64 bytes_sent, bytes_received;
	struct histogram connect, rtt;
};

/* A candidate endpoint: only how busy it is. */
struct candidate {
	double activity;
	__u64 activity_ns;
	__u64 last_ns;
};

/* What a connection's previous record said: its next one counts the difference. */
struct conn_seen {
	__u32 retrans, rto, fast, syn_retrans;
	__u64 bytes_sent, bytes_received;
	bool opened;
};

struct prog_copy {
	char name[64];
	__u64 run_cnt, run_time_ns;
};

struct metrics {
	struct metrics_config cfg;
	struct flowtable *endpoints;	/* ep_key -> endpoint, at most max_endpoints */
	struct flowtable *candidates;	/* ep_key -> candidate, LRU */
	struct flowtable *conns;	/* flow_key -> conn_seen */
	struct endpoint other;		/* everything past the cap */
	__u64 folded;			/* records counted in "other" */
	__u64 expired, demoted, promoted;
	struct health_report health;	/* the latest, progs copied below */
	bool have_health;
	struct prog_copy progs[PROG_MAX];
	int n_progs;
};

static double decayed(double activity, __u64 at_ns, __u64 now_ns)
{
	if (now_ns <= at_ns)
		return activity;
	return activity * exp2(-(double)(now_ns - at_ns) / ACTIVITY_HALF_LIFE_NS);
}

static void bump(double *activity, __u64 *at_ns, __u64 now_ns, double w)
{
	*activity = decayed(*activity, *at_ns, now_ns) + w;
	if (now_ns > *at_ns)
		*at_ns = now_ns;
}

struct metrics *metrics_new(const struct metrics_config *cfg)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->cfg = *cfg;
	m->endpoints = flowtable_new(sizeof(struct ep_key), sizeof(struct endpoint),
				     cfg->max_endpoints, NULL, NULL);
	m->candidates = flowtable_new(sizeof(struct ep_key), sizeof(struct candidate),
				      cfg->max_endpoints, NULL, NULL);
	m->conns = flowtable_new(sizeof(struct flow_key), sizeof(struct conn_seen),
				 cfg->max_flows, NULL, NULL);
	if (!m->endpoints || !m->candidates || !m->conns) {
		metrics_free(m);
		return NULL;
	}
	strcpy(m->other.raddr, "other");
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	flowtable_free(m->endpoints);
	flowtable_free(m->candidates);
	flowtable_free(m->conns);
	free(m);
}

/*
 * The endpoint of a flow: the peer's address and the service's port.
 * With the side unknown, the lower port stands for the service (an
 * ephemeral one is the higher on every system's default range).
 */
static void ep_key_of(const struct flow_key *k, enum tt_side side,
		      const struct cgroup_name *cg, struct ep_key *ek)
{
	memset(ek, 0, sizeof(*ek));
	if (cg)
		memcpy(ek->container, cg->container,
		       strnlen(cg->container, sizeof(ek->container) - 1));
	ek->side = side;
	ek->family = k->family;
	memcpy(ek->raddr, k->raddr, sizeof(ek->raddr));
	if (side == TT_SIDE_SERVER || (side == TT_SIDE_UNKNOWN && k->lport < k->rport))
		ek->lport = k->lport;
	else
		ek->rport = k->rport;
}

static void ep_labels(struct endpoint *e, const struct ep_key *k)
{
	snprintf(e->side, sizeof(e->side), "%s", k->side == TT_SIDE_UNKNOWN ? "unknown" :
		 tt_side_name(k->side));
	tt_addr_str(k->family, k->raddr, e->raddr, sizeof(e->raddr));
	if (k->rport)
		snprintf(e->rport, sizeof(e->rport), "%u", k->rport);
	if (k->lport)
		snprintf(e->lport, sizeof(e->lport), "%u", k->lport);
	memcpy(e->container, k->container, sizeof(e->container));
}

static struct endpoint *ep_create(struct metrics *m, const struct ep_key *k, __u64 now_ns)
{
	struct endpoint *e = flowtable_get(m->endpoints, k, NULL);

	if (!e)
		return NULL;
	ep_labels(e, k);
	e->last_ns = e->activity_ns = now_ns;
	return e;
}

/* Where a record counts: its endpoint's series, or "other" past the cap. */
static struct endpoint *endpoint_for(struct metrics *m, const struct ep_key *k, __u64 now_ns)
{
	struct endpoint *e = flowtable_lookup(m->endpoints, k);
	struct candidate *c;

	if (!e && flowtable_count(m->endpoints) < m->cfg.max_endpoints)
		e = ep_create(m, k, now_ns);
	if (e) {
		bump(&e->activity, &e->activity_ns, now_ns, 1);
		e->last_ns = now_ns;
		return e;
	}
	c = flowtable_get(m->candidates, k, NULL);
	if (c) {
		bump(&c->activity, &c->activity_ns, now_ns, 1);
		c->last_ns = now_ns;
	}
	m->folded++;
	m->other.last_ns = now_ns;
	return &m->other;
}

static enum fail_reason fail_reason_of(enum diag_code code)
{
	switch (code) {
	case DIAG_CONNECTION_REFUSED:
	case DIAG_PORT_CLOSED:		return FAIL_REFUSED;
	case DIAG_SYN_UNANSWERED:	return FAIL_TIMED_OUT;
	case DIAG_HOST_UNREACHABLE:	return FAIL_HOST_UNREACHABLE;
	case DIAG_NO_ROUTE:		return FAIL_NET_UNREACHABLE;
	case DIAG_FIREWALL_REJECT:	return FAIL_REJECTED;
	case DIAG_LOCAL_DROP:		return FAIL_LOCAL_DROP;
	case DIAG_NAT_MISMATCH:		return FAIL_NAT_MISMATCH;
	case DIAG_LISTEN_OVERFLOW:	return FAIL_LISTEN_OVERFLOW;
	default:			return FAIL_NONE;
	}
}

void metrics_diagnosis(struct metrics *m, const struct diagnosis *d, __u64 now_ns)
{
	unsigned int sev = d->severity < SEVERITIES ? d->severity : SEVERITIES - 1;
	enum fail_reason why = fail_reason_of(d->code);
	__u32 n = d->connections ? d->connections : 1;
	struct endpoint *e;
	struct ep_key k;

	if (d->code >= DIAG_CODE_MAX)
		return;
	ep_key_of(&d->key, d->side, d->cgroup, &k);
	/* A port scan's report (evidence "ports") is the peer's, not one
	 * port's: a series per port knocked on would be a series per scan
	 * probe, and the port it names is only the first. */
	if (diag_evidence_get(d, "ports", NULL))
		k.lport = k.rport = 0;
	e = endpoint_for(m, &k, now_ns);
	if (!e)
		return;
	/* A folded diagnosis stands for n occurrences: each counts. */
	e->diag[d->code][sev] += n;
	if (why != FAIL_NONE)
		e->failed[why] += n;
}

static void observe(struct histogram *h, const double *bounds, unsigned int n, double v)
{
	unsigned int i = 0;

	while (i < n && v > bounds[i])
		i++;
	h->buckets[i]++;
	h->sum += v;
	h->count++;
}

static __u64 grew(__u64 now, __u64 before)
{
	return now > before ? now - before : 0;
}

static bool established(const struct conn_record *c)
{
	for (unsigned int i = 0; i < c->n_states; i++)
		if (c->states[i] == TT_TCP_ESTABLISHED)
			return true;
	return c->connect_ns > 0;
}

void metrics_conn(struct metrics *m, const struct conn_record *c, __u64 now_ns)
{
	struct conn_seen *seen;
	struct endpoint *e;
	struct ep_key k;
	__u32 other, other_before;

	ep_key_of(&c->key, c->side, c->cgroup, &k);
	e = endpoint_for(m, &k, now_ns);
	seen = flowtable_get(m->conns, &c->key, NULL);
	if (!e || !seen)
		return;
	/* Opened while traced: one met mid-life opened before we looked. */
	if (!seen->opened && c->start_known && established(c)) {
		e->opened++;
		if (c->connect_ns)
			observe(&e->connect, connect_bounds, N_CONNECT, c->connect_ns / 1e9);
	}
	seen->opened = true;
	/* Periodic records carry totals so far: count what is new since. */
	other = c->retrans > c->retrans_rto + c->retrans_fast ?
		c->retrans - c->retrans_rto - c->retrans_fast : 0;
	other_before = seen->retrans > seen->rto + seen->fast ?
		       seen->retrans - seen->rto - seen->fast : 0;
	e->retrans[RETRANS_RTO] += grew(c->retrans_rto, seen->rto);
	e->retrans[RETRANS_FAST] += grew(c->retrans_fast, seen->fast);
	e->retrans[RETRANS_OTHER] += grew(other, other_before);
	e->syn_retrans += grew(c->syn_retrans, seen->syn_retrans);
	e->bytes_sent += grew(c->bytes_sent, seen->bytes_sent);
	e->bytes_received += grew(c->bytes_received, seen->bytes_received);
	seen->retrans = c->retrans;
	seen->rto = c->retrans_rto;
	seen->fast = c->retrans_fast;
	seen->syn_retrans = c->syn_retrans;
	seen->bytes_sent = c->bytes_sent;
	seen->bytes_received = c->bytes_received;
	if (c->open)
		return;
	if (c->close_reason && !strcmp(c->close_reason, "reset_by_peer"))
		e->reset_rx++;
	else if (c->close_reason && !strcmp(c->close_reason, "reset_local"))
		e->reset_tx++;
	if (c->srtt_us)
		observe(&e->rtt, rtt_bounds, N_RTT, c->srtt_us / 1e6);
	flowtable_delete(m->conns, seen);
}

void metrics_health(struct metrics *m, const struct health_report *h)
{
	m->health = *h;
	m->health.progs = NULL;
	m->health.plan = NULL;
	m->n_progs = h->n_progs < PROG_MAX ? h->n_progs : PROG_MAX;
	for (int i = 0; i < m->n_progs; i++) {
		snprintf(m->progs[i].name, sizeof(m->progs[i].name), "%s",
			 h->progs[i].name ? h->progs[i].name : "?");
		m->progs[i].run_cnt = h->progs[i].run_cnt;
		m->progs[i].run_time_ns = h->progs[i].run_time_ns;
	}
	m->have_health = true;
}

/* The least busy endpoint, or the busiest candidate, now. */
static void *extreme(struct flowtable *t, bool endpoints, bool want_max, __u64 now_ns,
		     double *activity)
{
	void *best = NULL;

	for (void *v = flowtable_first(t); v; v = flowtable_next(t, v)) {
		double a = endpoints ?
			decayed(((struct endpoint *)v)->activity, ((struct endpoint *)v)->activity_ns, now_ns) :
			decayed(((struct candidate *)v)->activity, ((struct candidate *)v)->activity_ns, now_ns);

		if (!best || (want_max ? a > *activity : a < *activity)) {
			best = v;
			*activity = a;
		}
	}
	return best;
}

void metrics_tick(struct metrics *m, __u64 now_ns)
{
	void *v, *next;

	for (v = flowtable_first(m->endpoints); v; v = next) {
		next = flowtable_next(m->endpoints, v);
		if (now_ns - ((struct endpoint *)v)->last_ns >= m->cfg.ttl_ns &&
		    now_ns > ((struct endpoint *)v)->last_ns) {
			flowtable_delete(m->endpoints, v);
			m->expired++;
		}
	}
	for (v = flowtable_first(m->candidates); v; v = next) {
		next = flowtable_next(m->candidates, v);
		if (now_ns > ((struct candidate *)v)->last_ns &&
		    now_ns - ((struct candidate *)v)->last_ns >= m->cfg.ttl_ns)
			flowtable_delete(m->candidates, v);
	}
	for (int i = 0; i < PROMOTIONS_PER_TICK; i++) {
		double best_a = 0, least_a = 0;
		struct candidate *best = extreme(m->candidates, false, true, now_ns, &best_a);
		struct endpoint *least = NULL, *e;
		struct ep_key k;

		if (!best)
			break;
		if (flowtable_count(m->endpoints) >= m->cfg.max_endpoints) {
			least = extreme(m->endpoints, true, false, now_ns, &least_a);
			/* Clearly busier, or the table would churn on noise. */
			if (!least || best_a <= 2 * least_a + 1)
				break;
			flowtable_delete(m->endpoints, least);
			m->demoted++;
		}
		memcpy(&k, flowtable_key(m->candidates, best), sizeof(k));
		e = ep_create(m, &k, now_ns);
		if (e) {
			e->activity = best_a;
			e->last_ns = best->last_ns;
		}
		flowtable_delete(m->candidates, best);
		m->promoted++;
	}
}

__u32 metrics_endpoints(const struct metrics *m)
{
	return flowtable_count(m->endpoints);
}

/* ------------------------------------------------------------------ walk */

struct walker {
	struct metrics *m;
	metrics_point_fn fn;
	void *ctx;
};

static void ep_point(struct walker *w, const struct endpoint *e, struct metrics_point *p,
		     const struct metrics_label *extra, int n_extra)
{
	struct metrics_label l[7];
	int n = 0;

	l[n++] = (struct metrics_label){ "side", e->side };
	l[n++] = (struct metrics_label){ "raddr", e->raddr };
	l[n++] = (struct metrics_label){ "rport", e->rport };
	l[n++] = (struct metrics_label){ "lport", e->lport };
	l[n++] = (struct metrics_label){ "container", e->container };
	for (int i = 0; i < n_extra && n < 7; i++)
		l[n++] = extra[i];
	p->labels = l;
	p->n_labels = n;
	w->fn(p, w->ctx);
}

typedef void (*ep_fn)(struct walker *w, const struct endpoint *e, struct metrics_point *p);

/* Every endpoint, "other" last (when anything went there). */
static void each_endpoint(struct walker *w, struct metrics_point *p, ep_fn fn)
{
	for (const struct endpoint *e = flowtable_first(w->m->endpoints); e;
	     e = flowtable_next(w->m->endpoints, e))
		fn(w, e, p);
	if (w->m->folded)
		fn(w, &w->m->other, p);
}

static void diag_points(struct walker *w, const struct endpoint *e, struct metrics_point *p)
{
	for (int code = 0; code < DIAG_CODE_MAX; code++)
		for (int sev = 0; sev < SEVERITIES; sev++) {
			struct metrics_label l[2] = {
				{ "code", diag_code_name(code) },
				{ "severity", diag_severity_name(sev) },
			};

			if (!e->diag[code][sev])
				continue;
			p->value = e->diag[code][sev];
			ep_point(w, e, p, l, 2);
		}
}

static void opened_points(struct walker *w, const struct endpoint *e, struct metrics_point *p)
{
	if (!e->opened)
		return;
	p->value = e->opened;
	ep_point(w, e, p, NULL, 0);
}

static void failed_points(struct walker *w, const struct endpoint *e, struct metrics_point *p)
{
	for (int r = 0; r < FAIL_MAX; r++) {
		struct metrics_label l = { "reason", fail_names[r] };

		if (!e->failed[r])
			continue;
		p->value = e->failed[r];
		ep_point(w, e, p, &l, 1);
	}
}

static void reset_points(struct walker *w, const struct endpoint *e, struct metrics_point *p)
{
	struct metrics_label rx = { "direction", "received" }, tx = { "direction", "sent" };

	if (e->reset_rx) {
		p->value = e->reset_rx;
		ep_point(w, e, p, &rx, 1);
	}
	if (e->reset_tx) {
		p->value = e->reset_tx;
		ep_point(w, e, p, &tx, 1);
	}
}

static void retrans_points(struct walker *w, const struct endpoint *e, struct metrics_point *p)
{
	for (int k = 0; k < RETRANS_MAX; k++) {
		struct metrics_label l = { "kind", retrans_names[k] };

		if (!e->retrans[k])
			continue;
		p->value = e->retrans[k];
		ep_point(w, e, p, &l, 1);
	}
}

static void syn_retrans_points(struct walker *w, const struct endpoint *e, struct metrics_point *p)
{
	if (!e->syn_retrans)
		return;
	p->value = e->syn_retrans;
	ep_point(w, e, p, NULL, 0);
}

static void sent_points(struct walker *w, const struct endpoint *e, struct metrics_point *p)
{
	if (!e->bytes_sent)
		return;
	p->value = e->bytes_sent;
	ep_point(w, e, p, NULL, 0);
}

static void received_points(struct walker *w, const struct endpoint *e, struct metrics_point *p)
{
	if (!e->bytes_received)
		return;
	p->value = e->bytes_received;
	ep_point(w, e, p, NULL, 0);
}

static void histogram_point(struct walker *w, const struct endpoint *e, struct metrics_point *p,
			    const struct histogram *h, const double *bounds, int n)
{
	if (!h->count)
		return;
	p->bounds = bounds;
	p->n_bounds = n;
	p->buckets = h->buckets;
	p->sum = h->sum;
	p->count = h->count;
	ep_point(w, e, p, NULL, 0);
}

static void connect_points(struct walker *w, const struct endpoint *e, struct metrics_point *p)
{
	histogram_point(w, e, p, &e->connect, connect_bounds, N_CONNECT);
}

static void rtt_points(struct walker *w, const struct endpoint *e, struct metrics_point *p)
{
	histogram_point(w, e, p, &e->rtt, rtt_bounds, N_RTT);
}

static void per_endpoint(struct walker *w, const char *name, const char *help,
			 const char *unit, char kind, ep_fn fn)
{
	struct metrics_point p = { .name = name, .help = help, .unit = unit, .kind = kind };

	each_endpoint(w, &p, fn);
}

/* One series with no labels, or one label. */
static void scalar(struct walker *w, const char *name, const char *help, const char *unit,
		   char kind, double value, const char *lkey, const char *lvalue)
{
	struct metrics_label l = { lkey, lvalue };
	struct metrics_point p = { .name = name, .help = help, .unit = unit, .kind = kind,
				   .value = value, .labels = lkey ? &l : NULL,
				   .n_labels = lkey ? 1 : 0 };

	w->fn(&p, w->ctx);
}

static void health_points(struct walker *w)
{
	const struct health_report *h = &w->m->health;
	struct metrics *m = w->m;

	if (!m->have_health)
		return;
	scalar(w, "tcptrace_events_total", "Kernel events read from the ring buffer.", "",
	       'c', h->events, NULL, NULL);
	scalar(w, "tcptrace_events_lost_total", "Kernel events lost: the ring buffer was full.",
	       "", 'c', h->events_lost, NULL, NULL);
	scalar(w, "tcptrace_flows_opened_total", "Flows inserted in the kernel flow map.", "",
	       'c', h->flows_opened, NULL, NULL);
	scalar(w, "tcptrace_flows_tracked", "Flows the engine holds now.", "", 'g',
	       h->flows_tracked, NULL, NULL);
	{
		struct metrics_point p = { .name = "tcptrace_flows_evicted_total",
			.help = "Flows dropped for room: the kernel map's LRU, the NIC map's, the engine's table.",
			.kind = 'c' };
		struct metrics_label l;

		p.labels = &l;
		p.n_labels = 1;
		l = (struct metrics_label){ "where", "kernel" };
		p.value = h->flows_evicted_kernel;
		w->fn(&p, w->ctx);
		l = (struct metrics_label){ "where", "nic" };
		p.value = h->flows_evicted_nic;
		w->fn(&p, w->ctx);
		l = (struct metrics_label){ "where", "table" };
		p.value = h->flows_evicted_table;
		w->fn(&p, w->ctx);
	}
	scalar(w, "tcptrace_flow_map_full_total", "Inserts the kernel flow maps refused.", "",
	       'c', h->flow_map_full, NULL, NULL);
	scalar(w, "tcptrace_sockets_scanned_total", "Sockets read by the socket scans.", "",
	       'c', h->sockets_scanned, NULL, NULL);
	scalar(w, "tcptrace_sockets_unchanged_total",
	       "Sockets the scans left out because nothing changed since their last record.",
	       "", 'c', h->sockets_unchanged, NULL, NULL);
	scalar(w, "tcptrace_sockets_untracked_total",
	       "Socket snapshots a full flow table did not take.", "", 'c', h->scan_untracked,
	       NULL, NULL);
	scalar(w, "tcptrace_scan_errors_total", "Socket scans that failed (retried with backoff).",
	       "", 'c', h->scan_errors, NULL, NULL);
	scalar(w, "tcptrace_netns_unresolved",
	       "Network namespaces seen in events that cannot be scanned now.", "", 'g',
	       h->netns_unresolved, NULL, NULL);
	scalar(w, "tcptrace_diagnoses_made_total", "Diagnoses made (a folded one counts once).",
	       "", 'c', h->diagnoses, NULL, NULL);
	for (int i = 0; i < m->n_progs; i++)
		scalar(w, "tcptrace_program_runs_total",
		       "Runs of each BPF program (with --prog-stats).", "", 'c',
		       m->progs[i].run_cnt, "program", m->progs[i].name);
	for (int i = 0; i < m->n_progs; i++)
		scalar(w, "tcptrace_program_run_seconds_total",
		       "Time in each BPF program (with --prog-stats).", "s", 'c',
		       m->progs[i].run_time_ns / 1e9, "program", m->progs[i].name);
}

static void self_points(struct walker *w, const struct metrics_self *self)
{
	struct metrics *m = w->m;

	scalar(w, "tcptrace_metrics_endpoints", "Remote endpoints with series of their own.", "",
	       'g', flowtable_count(m->endpoints), NULL, NULL);
	scalar(w, "tcptrace_metrics_endpoints_limit", "--metrics-max-endpoints.", "", 'g',
	       m->cfg.max_endpoints, NULL, NULL);
	scalar(w, "tcptrace_metrics_records_other_total",
	       "Records counted in raddr=\"other\": their endpoint was past the cap.", "", 'c',
	       m->folded, NULL, NULL);
	scalar(w, "tcptrace_metrics_endpoints_expired_total",
	       "Endpoints whose series went after --metrics-ttl without a record.", "", 'c',
	       m->expired, NULL, NULL);
	scalar(w, "tcptrace_metrics_endpoints_replaced_total",
	       "Endpoints that gave their place to a busier one.", "", 'c', m->demoted, NULL, NULL);
	if (!self)
		return;
	scalar(w, "tcptrace_metrics_scrapes_total", "Scrapes served.", "", 'c', self->scrapes,
	       NULL, NULL);
	scalar(w, "tcptrace_metrics_scrape_errors_total",
	       "Scrape connections dropped: malformed, too slow, or too many at once.", "", 'c',
	       self->scrape_errors, NULL, NULL);
	if (!self->otlp)
		return;
	scalar(w, "tcptrace_otlp_requests_total", "OTLP export requests the collector accepted.",
	       "", 'c', self->otlp_sent, "result", "ok");
	scalar(w, "tcptrace_otlp_requests_total", "OTLP export requests the collector accepted.",
	       "", 'c', self->otlp_failed, "result", "failed");
	scalar(w, "tcptrace_otlp_retries_total", "OTLP export requests sent again (429, 502-504).",
	       "", 'c', self->otlp_retried, NULL, NULL);
	scalar(w, "tcptrace_otlp_dropped_total",
	       "OTLP records dropped: the queue to the collector was full.", "", 'c',
	       self->otlp_dropped, NULL, NULL);
}

void metrics_walk(struct metrics *m, const struct metrics_self *self,
		  metrics_point_fn fn, void *ctx)
{
	struct walker w = { m, fn, ctx };

	per_endpoint(&w, "tcptrace_diagnoses_total",
		     "Diagnoses by code and severity, per remote endpoint (a folded one counts each connection).",
		     "", 'c', diag_points);
	per_endpoint(&w, "tcptrace_connections_opened_total",
		     "Connections that completed their handshake while traced.", "", 'c',
		     opened_points);
	per_endpoint(&w, "tcptrace_connections_failed_total",
		     "Connections that failed to open, by reason.", "", 'c', failed_points);
	per_endpoint(&w, "tcptrace_connections_reset_total",
		     "Connections that ended in a reset, by its direction.", "", 'c',
		     reset_points);
	per_endpoint(&w, "tcptrace_retransmits_total",
		     "Data segments retransmitted: after a timeout (rto), in fast recovery (fast), or not seen as an event (other).",
		     "", 'c', retrans_points);
	per_endpoint(&w, "tcptrace_syn_retransmits_total", "SYNs sent again.", "", 'c',
		     syn_retrans_points);
	per_endpoint(&w, "tcptrace_bytes_sent_total", "Data bytes the peer acknowledged.", "By",
		     'c', sent_points);
	per_endpoint(&w, "tcptrace_bytes_received_total", "Data bytes received in order.", "By",
		     'c', received_points);
	per_endpoint(&w, "tcptrace_connect_duration_seconds",
		     "Time from SYN to established, at the client.", "s", 'h', connect_points);
	per_endpoint(&w, "tcptrace_rtt_seconds", "Smoothed round-trip time at each connection's close.",
		     "s", 'h', rtt_points);
	health_points(&w);
	self_points(&w, self);
}

/* ------------------------------------------------------- Prometheus text */

struct prom {
	FILE *out;
	const char *last;	/* the metric whose HELP and TYPE were written */
};

static void label_value(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		if (*v == '\n') {
			fputs("\\n", out);
			continue;
		}
		fputc(*v, out);
	}
}

static void labels(FILE *out, const struct metrics_point *p, const char *le)
{
	bool any = p->n_labels || le;

	if (!any)
		return;
	fputc('{', out);
	for (int i = 0; i < p->n_labels; i++) {
		fprintf(out, "%s%s=\"", i ? "," : "", p->labels[i].key);
		label_value(out, p->labels[i].value);
		fputc('"', out);
	}
	if (le)
		fprintf(out, "%sle=\"%s\"", p->n_labels ? "," : "", le);
	fputc('}', out);
}

/* Integers exactly, the rest as Go's strconv would read them. */
static void number(FILE *out, double v)
{
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		fprintf(out, " %.0f\n", v);
	else
		fprintf(out, " %.9g\n", v);
}

static void prom_point(const struct metrics_point *p, void *ctx)
{
	struct prom *pr = ctx;
	FILE *out = pr->out;

	if (!pr->last || strcmp(pr->last, p->name)) {
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", p->name, p->help, p->name,
			p->kind == 'c' ? "counter" : p->kind == 'g' ? "gauge" : "histogram");
		pr->last = p->name;
	}
	if (p->kind != 'h') {
		fputs(p->name, out);
		labels(out, p, NULL);
		number(out, p->value);
		return;
	}
	{
		__u64 cum = 0;
		char le[32];

		for (int i = 0; i <= p->n_bounds; i++) {
			cum += p->buckets[i];
			if (i < p->n_bounds)
				snprintf(le, sizeof(le), "%g", p->bounds[i]);
			else
				strcpy(le, "+Inf");
			fprintf(out, "%s_bucket", p->name);
			labels(out, p, le);
			number(out, cum);
		}
		fprintf(out, "%s_sum", p->name);
		labels(out, p, NULL);
		number(out, p->sum);
		fprintf(out, "%s_count", p->name);
		labels(out, p, NULL);
		number(out, p->count);
	}
}

void metrics_render(struct metrics *m, const struct metrics_self *self, FILE *out)
{
	struct prom pr = { out, NULL };

	metrics_walk(m, self, prom_point, &pr);
}
