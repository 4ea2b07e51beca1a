// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Judges of what this host's own stack threw away: a flow's segments
 * (a firewall, rp_filter, a qdisc), and handshakes a full accept queue
 * had no room for.
 */
#include "drop_reason.h"
#include "judge.h"

/*
 * A SYN-ACK (or a RST) reached the NIC and the socket still sends SYNs:
 * this host's own stack dropped it between the two, and no drop event
 * said so (an older kernel, or the drop hook is not attached). The NIC
 * alone proves where.
 */
static bool answer_lost_inside(const struct flow *f, struct diagnosis *d)
{
	__u32 answers = f->nic_synack_in + f->nic_rst_in;

	if (!flow_in_syn_phase(f) || !answers || !f->syn_retrans || f->rst_rx ||
	    f->nat_mismatch)
		return false;
	evidence_add(d, "drops_inbound", answers);
	evidence_add(d, "drops_outbound", 0);
	evidence_add(d, "handshake_drops", answers);
	evidence_add(d, "nic_synacks_in", f->nic_synack_in);
	evidence_add(d, "nic_rsts_in", f->nic_rst_in);
	evidence_add(d, "syn_retrans", f->syn_retrans);
	d->side = TT_SIDE_CLIENT;
	return true;
}

/*
 * This host's own stack dropped the flow's segments, and said why (the
 * reason's class tells LOCAL_DROP from NO_ROUTE). In the handshake one
 * drop is the whole story (a SYN-ACK that reached this host and never the
 * socket; a SYN this host's firewall refused). On an established flow a
 * lone discard is mended by a retransmit: only repeats are a problem.
 */
bool judge_dropped_here(const struct judge_in *in, struct diagnosis *d,
			enum drop_class cls)
{
	const struct flow *f = in->f;

	if (!flow_dropped_here(f) || f->drop_class != cls)
		return false;
	if (!f->syn_drops && f->drops_in + f->drops_out < in->cfg->loss_min_retrans)
		return false;
	/*
	 * A SYN this host's firewall dropped before any socket matters only
	 * where something listens: to a port nobody serves, it is a scan or
	 * a client knocking at the wrong door, and the policy did its job.
	 */
	if (cls == DROP_LOCAL && f->drops_in && !f->drops_out && f->syn_drops &&
	    !(f->flags & FF_ESTABLISHED) && in->side == TT_SIDE_SERVER && !in->listener)
		return false;
	evidence_add(d, "drops_inbound", f->drops_in);
	evidence_add(d, "drops_outbound", f->drops_out);
	evidence_add(d, "handshake_drops", f->syn_drops);
	evidence_add(d, "drop_reason", f->drop_reason);
	evidence_add(d, "syn_retrans", f->syn_retrans);
	evidence_add(d, "synack_retrans", f->synack_retrans);
	verdict_drop_reason(d, in->cfg, f->drop_reason);
	return true;
}

/*
 * A queueing discipline here dropped the flow's segments: under congestion
 * that is loss (PACKET_LOSS tells it); lasting over a stall threshold, the
 * queue is this host's own bottleneck.
 */
static bool qdisc_bottleneck(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;

	if (!flow_qdisc_drops_persist(f, in->cfg->loss_min_retrans, in->cfg->stall_ns))
		return false;
	evidence_add(d, "drops_inbound", 0);
	evidence_add(d, "drops_outbound", f->qdisc_drops);
	evidence_add(d, "handshake_drops", 0);
	evidence_add(d, "drop_reason", f->qdisc_reason);
	evidence_add(d, "qdisc_drops", f->qdisc_drops);
	evidence_add(d, "dropping_ms", ns_to_ms(elapsed(f->qdisc_first_ns, f->qdisc_last_ns)));
	verdict_drop_reason(d, in->cfg, f->qdisc_reason);
	d->since_ns = f->qdisc_first_ns;
	return true;
}

bool judge_local_drop(const struct judge_in *in, struct diagnosis *d)
{
	if (flow_dropped_here(in->f))
		return judge_dropped_here(in, d, DROP_LOCAL);
	if (answer_lost_inside(in->f, d))
		return true;
	return qdisc_bottleneck(in, d);
}

/* A queue's drops degrade, the rest (a firewall, a lost handshake) break. */
enum diag_severity severity_of_local_drop(const struct diagnosis *d)
{
	return diag_evidence_get(d, "qdisc_drops", NULL) ? SEV_WARNING : SEV_ERROR;
}

/* Marks a listener as told: its own judge need not repeat it within the
 * fold window, nor count the drops it was told from again. */
static void listener_told(struct listener *l, __u64 now)
{
	l->reported = true;
	l->reported_ns = now;
	l->overflow_drops = l->synack_retrans = 0;
}

/* A handshake dropped because the listener's accept queue was full. */
bool judge_listen_overflow(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;

	if (!f->drops_in || f->drop_class != DROP_LISTEN_OVERFLOW)
		return false;
	evidence_add(d, "handshakes_dropped", f->drops_in);
	evidence_add(d, "synack_retrans", f->synack_retrans);
	verdict_drop_reason(d, in->cfg, f->drop_reason);
	d->side = TT_SIDE_SERVER;
	d->app_error = 0;
	if (in->listener)
		listener_told(in->listener, in->now);
	return true;
}

/*
 * Without a drop reason (older kernels drop a SYN for a full queue
 * silently) the listener itself tells: its accept queue is full and
 * handshakes on its port go unfinished or are dropped.
 */
bool judge_listener_full(const struct engine_config *cfg, struct listener *l,
			 __u64 now, struct diagnosis *d)
{
	if (l->reported && elapsed(l->reported_ns, now) < cfg->fold_ns)
		return false;
	if (!l->full_scans || (!l->overflow_drops && !l->synack_retrans))
		return false;
	evidence_add(d, "accept_queue", l->ack_backlog);
	evidence_add(d, "backlog", l->max_ack_backlog);
	evidence_add(d, "handshakes_dropped", l->overflow_drops);
	evidence_add(d, "synack_retrans", l->synack_retrans);
	listener_told(l, now);
	return true;
}
