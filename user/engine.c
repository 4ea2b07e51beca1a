// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The diagnosis engine. Events and snapshots update per-flow facts as
 * they arrive (facts_*.c); engine_tick() judges every flow through the
 * catalogue, retires the flows whose story is over and emits what folding
 * (fold.c) says is due.
 *
 * Time is only ever an event's ts_ns or a now_ns argument, so a replay of a
 * recording reaches the same verdicts as the live run that wrote it.
 */
#include <stdlib.h>
#include <string.h>
#include "catalogue.h"
#include "defaults.h"
#include "engine.h"

/*
 * How long a closed flow is kept. Its story is not over at the close: the
 * kernel sets CLOSE before it sends the abort RST of a close with unread
 * data, and reports the error (ECONNREFUSED, ECONNRESET) after tcp_done().
 */
#define FLOW_LINGER_NS	(3 * NSEC_PER_SEC)
/* A flow absent from this many consecutive scans is gone from the kernel
 * (one miss can be a socket created after the iterator passed its bucket). */
#define SCANS_MISSED_GONE	2
/* Dying processes remembered at once (facts_proc.c). */
#define DEATHS_MAX	1024

void engine_config_default(struct engine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->stall_ns = DEFAULT_STALL_MS * NSEC_PER_MSEC;
	cfg->loss_pct = DEFAULT_LOSS_PCT;
	cfg->loss_min_retrans = DEFAULT_LOSS_MIN_RETRANS;
	cfg->syn_retrans = DEFAULT_SYN_RETRANS;
	cfg->request_max_bytes = DEFAULT_REQUEST_MAX_BYTES;
	cfg->fold_ns = DEFAULT_FOLD_S * NSEC_PER_SEC;
	cfg->max_flows = DEFAULT_MAX_FLOWS;
	/* conn records only at close: periodic ones are the caller's choice. */
	cfg->conn_interval_ns = 0;
	cfg->nic_ingress = true;
}

/* ---- what judges fill in ---------------------------------------------- */

void evidence_add(struct diagnosis *d, const char *name, long long value)
{
	if (d->n_evidence >= DIAG_MAX_EVIDENCE)
		return;
	d->evidence[d->n_evidence].name = name;
	d->evidence[d->n_evidence].value = value;
	d->n_evidence++;
}

void verdict_drop_reason(struct diagnosis *d, const struct engine_config *cfg,
			 __u32 reason)
{
	const char *name = cfg->drop_reason_name ? cfg->drop_reason_name(reason) : NULL;

	d->has_drop_reason = true;
	d->drop_reason = reason;
	d->drop_reason_name[0] = '\0';
	if (name)
		strncat(d->drop_reason_name, name, sizeof(d->drop_reason_name) - 1);
}

void verdict_responder(struct diagnosis *d, const __u8 addr[16], __u16 port)
{
	d->has_responder = true;
	memcpy(d->responder, addr, sizeof(d->responder));
	d->responder_port = port;
}

/* ---- judging ---------------------------------------------------------- */

/*
 * The kernel's side when it saw the open; otherwise a flow whose local port
 * is listened on is the server end. Only that positive answer is kept: a
 * listener seen once makes the flow a server for good, even if it dies.
 */
static enum tt_side flow_side(struct flow *f, const struct listener *l)
{
	if (f->side != TT_SIDE_UNKNOWN)
		return f->side;
	if (l) {
		f->side = TT_SIDE_SERVER;
		return TT_SIDE_SERVER;
	}
	return TT_SIDE_CLIENT;
}

/* The scan-based judges trust only a flow the last scan still reported. */
static bool flow_scan_current(const struct engine *e, const struct flow *f)
{
	/* Reported by the last completed scan, or already by the one under
	 * way (a tick between engine_on_scan() and engine_scan_end()). */
	return (f->flags & FF_SCANNED) && !(f->flags & FF_CLOSED) &&
	       f->scans_missed == 0 && f->scan_gen + 1 >= e->scan_gen;
}

void facts_endpoint_key(const struct flow_key *key, enum tt_side side,
			struct endpoint_key *ek)
{
	bool server = side == TT_SIDE_SERVER;

	memset(ek, 0, sizeof(*ek));
	ek->netns = key->netns;
	ek->family = key->family;
	ek->local = server;
	ek->port = server ? key->lport : key->rport;
	memcpy(ek->addr, server ? key->laddr : key->raddr, sizeof(ek->addr));
}

/* ---- lost events ------------------------------------------------------ */

bool engine_lost_between(const struct engine *e, __u64 from_ns, __u64 to_ns)
{
	if (from_ns <= e->loss_before_ns && e->loss_before_ns)
		return true;
	for (unsigned int i = 0; i < e->n_loss; i++)
		if (e->loss[i].from_ns <= to_ns && from_ns <= e->loss[i].to_ns)
			return true;
	return false;
}

/* The events lost since the last tick were lost in (last tick, now]. */
static void loss_span_close(struct engine *e, __u64 now)
{
	struct loss_span *last = e->n_loss ? &e->loss[e->n_loss - 1] : NULL;

	if (!e->loss_pending)
		return;
	e->loss_pending = false;
	if (last && last->to_ns >= e->last_tick_ns) {
		last->to_ns = now;	/* losing on: one span */
		return;
	}
	if (e->n_loss == LOSS_SPANS) {
		e->loss_before_ns = e->loss[0].to_ns;
		memmove(e->loss, e->loss + 1, (LOSS_SPANS - 1) * sizeof(e->loss[0]));
		e->n_loss--;
	}
	e->loss[e->n_loss].from_ns = e->last_tick_ns;
	e->loss[e->n_loss].to_ns = now;
	e->n_loss++;
}

/* Would the entry's final judge say it now (on a scratch verdict)? */
static bool final_now(const struct diag_entry *entry, const struct judge_in *in)
{
	struct diagnosis scratch;

	memset(&scratch, 0, sizeof(scratch));
	scratch.code = entry->code;
	return entry->judge_final(in, &scratch);
}

/* Judge every diagnosis on one flow, raising what holds. */
static void judge_flow(struct engine *e, const struct flow_key *key,
		       struct flow *f, __u64 now, bool final)
{
	struct listener *l = facts_listener(e, key->netns, key->lport);
	struct judge_in in = {
		.cfg = &e->cfg, .key = key, .f = f, .now = now, .listener = l,
		.side = flow_side(f, l), .scan_current = flow_scan_current(e, f),
		.final = final,
	};
	struct endpoint_key ek;
	struct diagnosis d;

	facts_endpoint_key(key, in.side, &ek);
	in.endpoint = flowtable_lookup(e->endpoints, &ek);
	in.death = f->exit_pid ? facts_death(e, f->exit_pid) : NULL;

	for (size_t i = 0; i < DIAG_CODE_MAX; i++) {
		const struct diag_entry *entry = &diag_catalogue[i];
		__u32 bit = 1u << entry->code;
		judge_flow_fn judge = entry->judge;

		/* Each diagnosis is raised once in a flow's life, and once
		 * more at most when its end comes (judge_final). */
		if (f->reported & bit)
			judge = (f->reported_final & bit) ? NULL : entry->judge_final;
		if (!judge || (entry->needs_scan && !in.scan_current))
			continue;
		memset(&d, 0, sizeof(d));
		d.code = entry->code;
		d.key = *key;
		d.pid = f->pid;
		memcpy(d.comm, f->comm, TT_COMM_LEN);
		d.cgroup_id = f->cgroup_id;
		d.side = in.side;
		d.app_error = f->app_error;
		if (!judge(&in, &d))
			continue;
		/* A first verdict given once the end is known is the final
		 * one too. */
		if ((f->reported & bit) || (entry->judge_final && final_now(entry, &in)))
			f->reported_final |= bit;
		f->reported |= bit;
		d.events_lost = engine_lost_between(e, d.since_ns ? d.since_ns : f->start_ns,
						    now);
		fold_raise(e, &d);
	}
}

static void judge_listener(struct engine *e, struct listener *l, __u64 now)
{
	struct diagnosis d;

	for (size_t i = 0; i < DIAG_CODE_MAX; i++) {
		const struct diag_entry *entry = &diag_catalogue[i];

		if (!entry->judge_listener)
			continue;
		memset(&d, 0, sizeof(d));
		d.code = entry->code;
		d.key = l->key;
		d.side = TT_SIDE_SERVER;
		d.pid = l->pid;
		memcpy(d.comm, l->comm, TT_COMM_LEN);
		d.cgroup_id = l->cgroup_id;
		if (!entry->judge_listener(&e->cfg, l, now, &d))
			continue;
		/* Drops counted since the queue was last looked at. */
		d.events_lost = engine_lost_between(e, e->last_tick_ns, now);
		fold_raise(e, &d);
	}
}

void engine_judge_event(struct engine *e, const struct tt_event *ev)
{
	struct diagnosis d;

	for (size_t i = 0; i < DIAG_CODE_MAX; i++) {
		const struct diag_entry *entry = &diag_catalogue[i];

		if (!entry->judge_event)
			continue;
		memset(&d, 0, sizeof(d));
		d.code = entry->code;
		d.key = ev->key;
		d.pid = ev->pid;
		memcpy(d.comm, ev->comm, TT_COMM_LEN - 1);
		d.cgroup_id = ev->cgroup_id;
		if (!entry->judge_event(ev, &d))
			continue;
		/* One event, whole: only its own moment could have lost it a
		 * companion, and it is judged as it arrives. */
		d.events_lost = false;
		fold_raise(e, &d);
	}
}

void engine_flow_over(struct engine *e, const struct flow_key *key,
		      struct flow *f, __u64 now)
{
	judge_flow(e, key, f, now, true);
	conn_emit(e, key, f, now);
}

/* A flow pushed out of a full table is judged on what it has so far, so a
 * storm of failures that overflows the table still gets diagnosed. */
static void flow_evicted(const void *key, void *value, void *ctx)
{
	struct flow *f = value;

	engine_flow_over(ctx, key, f, f->updated_ns);
}

/* ---- the engine's life ------------------------------------------------ */

struct engine *engine_new(const struct engine_config *cfg)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (cfg)
		e->cfg = *cfg;
	else
		engine_config_default(&e->cfg);
	if (!e->cfg.max_flows)
		e->cfg.max_flows = 1;
	/* scan_gen starts at 1 so a zeroed flow is never "in this scan". */
	e->scan_gen = 1;
	e->flows = flowtable_new(sizeof(struct flow_key), sizeof(struct flow),
				 e->cfg.max_flows, flow_evicted, e);
	e->listeners = flowtable_new(sizeof(struct listen_key),
				     sizeof(struct listener), e->cfg.max_flows,
				     NULL, NULL);
	/* Both bounded like the flows: the oldest entries go first. */
	e->endpoints = flowtable_new(sizeof(struct endpoint_key),
				     sizeof(struct endpoint), e->cfg.max_flows,
				     NULL, NULL);
	e->refusals = flowtable_new(sizeof(struct refusal_key),
				    sizeof(struct refusal), e->cfg.max_flows,
				    NULL, NULL);
	/* Deaths with connections are rare; a storm of them keeps the latest. */
	e->deaths = flowtable_new(sizeof(__u32), sizeof(struct death), DEATHS_MAX,
				  NULL, NULL);
	if (!e->flows || !e->listeners || !e->endpoints || !e->refusals || !e->deaths ||
	    !fold_init(e)) {
		engine_free(e);
		return NULL;
	}
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	flowtable_free(e->flows);
	flowtable_free(e->listeners);
	flowtable_free(e->endpoints);
	flowtable_free(e->refusals);
	flowtable_free(e->deaths);
	fold_free(e);
	free(e);
}

void engine_set_conn_sink(struct engine *e, conn_fn fn, void *ctx)
{
	e->conn = fn;
	e->conn_ctx = ctx;
}

void engine_note_lost(struct engine *e, __u64 lost_total)
{
	if (lost_total > e->lost_total) {
		e->lost_total = lost_total;
		e->loss_pending = true;
	}
}

static bool flow_retired(const struct flow *f, __u64 now)
{
	if (f->flags & FF_CLOSED)
		return elapsed(f->closed_ns, now) >= FLOW_LINGER_NS;
	return f->scans_missed >= SCANS_MISSED_GONE &&
	       elapsed(f->updated_ns, now) >= FLOW_LINGER_NS;
}

/* Every flow; at the end of the run, or the tick that retires it, for the
 * last time. */
static void judge_all(struct engine *e, __u64 now, bool finish)
{
	struct flow *f;

	for (f = flowtable_first(e->flows); f; f = flowtable_next(e->flows, f))
		judge_flow(e, flowtable_key(e->flows, f), f, now,
			   finish || flow_retired(f, now));
}

void engine_tick(struct engine *e, __u64 now_ns, diag_fn fn, void *ctx)
{
	struct refusal *r, *rnext;
	struct flow *f, *fnext;
	struct listener *l;

	loss_span_close(e, now_ns);
	judge_deaths(e, now_ns, false);
	judge_all(e, now_ns, false);

	/* Judged above: the flows whose story is over can go now. */
	for (f = flowtable_first(e->flows); f; f = fnext) {
		fnext = flowtable_next(e->flows, f);
		if (flow_retired(f, now_ns)) {
			conn_emit(e, flowtable_key(e->flows, f), f, now_ns);
			flowtable_delete(e->flows, f);
		} else if (e->cfg.conn_interval_ns && !(f->flags & FF_CLOSED) &&
			   elapsed(f->last_conn_ns ? f->last_conn_ns : f->start_ns,
				   now_ns) >= e->cfg.conn_interval_ns) {
			/* Long-lived: report as it goes, not only at the end. */
			conn_emit(e, flowtable_key(e->flows, f), f, now_ns);
			f->last_conn_ns = now_ns;
		}
	}
	for (l = flowtable_first(e->listeners); l; l = flowtable_next(e->listeners, l))
		judge_listener(e, l, now_ns);
	/* A client that stopped knocking a fold window ago starts anew: its
	 * count goes, so a scanned host keeps only the recent ones. */
	for (r = flowtable_first(e->refusals); r; r = rnext) {
		rnext = flowtable_next(e->refusals, r);
		if (elapsed(r->last_ns, now_ns) > e->cfg.fold_ns)
			flowtable_delete(e->refusals, r);
	}

	fold_emit(e, now_ns, false, fn, ctx);
	e->last_tick_ns = now_ns;
}

void engine_finish(struct engine *e, __u64 now_ns, diag_fn fn, void *ctx)
{
	struct flow *f;

	loss_span_close(e, now_ns);
	judge_deaths(e, now_ns, true);
	judge_all(e, now_ns, true);
	/* Every flow still held gets its record: closed ones as they ended,
	 * open ones as they stand. */
	for (f = flowtable_first(e->flows); f; f = flowtable_next(e->flows, f))
		conn_emit(e, flowtable_key(e->flows, f), f, now_ns);
	fold_emit(e, now_ns, true, fn, ctx);
}

void engine_get_stats(const struct engine *e, struct engine_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->events = e->events;
	st->scans = e->scans;
	st->scan_untracked = e->scan_untracked;
	st->flows = flowtable_count(e->flows);
	st->flows_evicted = flowtable_evictions(e->flows);
	st->diagnoses = e->diagnoses;
}
