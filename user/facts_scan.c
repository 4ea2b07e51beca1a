// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Facts from what the tracer samples each interval: the socket snapshots
 * (sequence numbers, queues, windows: absence becomes visible by comparing
 * two of them, and the socket's own clocks, facts_clock.c) and the NIC's
 * per-flow counters.
 */
#include <string.h>
#include "engine.h"

struct listener *facts_listener(const struct engine *e, __u32 netns, __u16 port)
{
	struct listen_key lk = { .netns = netns, .port = port };

	return flowtable_lookup(e->listeners, &lk);
}

/*
 * What a flow taught about its service endpoint: its client wrote on
 * without answers (one-way), or it got answers. A client's flow speaks
 * for the service it calls, a server's for the one it serves.
 */
void facts_learn_endpoint(struct engine *e, const struct flow_key *key,
			  const struct flow *f)
{
	enum tt_side side = f->side;
	struct endpoint_key ek;
	struct endpoint *ep;
	bool one_way;

	if (side == TT_SIDE_UNKNOWN)
		side = facts_listener(e, key->netns, key->lport) ? TT_SIDE_SERVER :
								  TT_SIDE_CLIENT;
	one_way = side == TT_SIDE_SERVER ? f->flags & FF_ONE_WAY_IN :
					   f->flags & FF_ONE_WAY_OUT;
	facts_endpoint_key(key, side, &ek);
	ep = flowtable_get(e->endpoints, &ek, NULL);
	if (!ep)
		return;
	if (one_way)
		ep->one_way_flows++;
	else if (f->out_answers || f->in_answers)
		ep->answered_flows++;
}

/*
 * What the socket clocks count on from (tx_since_rx, rx_since_tx), as the
 * turn inferred without them left it: the clocks may be known only from a
 * later snapshot (the tick rate is learned over the run's first second).
 */
static void turn_bytes_sync(struct flow *f)
{
	f->tx_since_rx = f->turn == TURN_PEER ? f->turn_bytes : 0;
	f->rx_since_tx = f->turn == TURN_LOCAL ? f->turn_bytes : 0;
}

/* clocked: the socket clocks said when each side spoke, and whose turn it
 * is (facts_clock.c); else it is inferred here from what changed. */
static void snapshot_first(struct flow *f, const struct tt_sock_scan *s,
			   __u64 now, bool clocked)
{
	f->zero_wnd_since_ns = s->snd_wnd ? 0 : now;
	f->unread_since_ns = seq_span(s->rcv_nxt, s->copied_seq) ? now : 0;
	if (clocked)
		return;
	/* Nothing is known of the past: every "last changed" time is now,
	 * which can delay a stall verdict but never invent one. */
	f->last_send_ns = now;
	f->last_recv_ns = now;

	/* Whose turn it is follows from the totals only when one direction
	 * never carried data; otherwise the order is unknown: assume none. */
	if (s->bytes_sent && !s->bytes_received) {
		f->turn = TURN_PEER;
		f->turn_bytes = s->bytes_sent;
	} else if (s->bytes_received && !s->bytes_sent) {
		f->turn = TURN_LOCAL;
		f->turn_bytes = s->bytes_received;
	} else {
		f->turn = TURN_NONE;
		f->turn_bytes = 0;
	}
	turn_bytes_sync(f);
}

static void count_up(__u8 *n)
{
	if (*n < 255)
		(*n)++;
}

/*
 * Request/response or one-way. The previous snapshot left one side owing
 * an answer, what it said delivered (our data acknowledged, or the peer's
 * read); now the other side answered, or the same side spoke again without
 * waiting for one: a log shipper, a metrics push. That makes the flow
 * one-way for as long as it never gets an answer: a request written in
 * two parts with a snapshot between them is answered afterwards, and an
 * answered flow is request/response again.
 */
static void learn_turns(struct engine *e, const struct flow_key *key,
			struct flow *f, __u32 wrote, __u32 got)
{
	bool out_was = f->flags & FF_ONE_WAY_OUT, in_was = f->flags & FF_ONE_WAY_IN;
	bool answered_before = f->out_answers || f->in_answers;

	if (f->turn == TURN_PEER && f->snd_una == f->write_seq) {
		if (got)
			count_up(&f->out_answers);
		else if (wrote)
			count_up(&f->out_unanswered);
	} else if (f->turn == TURN_LOCAL && f->copied_seq == f->rcv_nxt) {
		if (wrote)
			count_up(&f->in_answers);
		else if (got)
			count_up(&f->in_unanswered);
	}
	f->flags &= ~(FF_ONE_WAY_OUT | FF_ONE_WAY_IN);
	if (f->out_unanswered && !f->out_answers)
		f->flags |= FF_ONE_WAY_OUT;
	if (f->in_unanswered && !f->in_answers)
		f->flags |= FF_ONE_WAY_IN;
	/* Became one-way, or got its first answer: the endpoint learns. */
	if ((!out_was && (f->flags & FF_ONE_WAY_OUT)) || (!in_was && (f->flags & FF_ONE_WAY_IN)) ||
	    (!answered_before && (f->out_answers || f->in_answers)))
		facts_learn_endpoint(e, key, f);
}

/* What the peer sent since the last snapshot; its FIN takes a sequence
 * number and says nothing: a close is no request to answer. */
static __u32 scan_got(const struct flow *f, const struct tt_sock_scan *s,
		      bool fin_before)
{
	__u32 got = seq_span(s->rcv_nxt, f->rcv_nxt);

	if (got && !fin_before && state_fin_received(s->state))
		got--;
	return got;
}

static void turn_between_scans(struct flow *f, const struct tt_sock_scan *s,
			       __u64 now, __u32 got)
{
	__u32 wrote = seq_span(s->write_seq, f->write_seq);
	bool sent = wrote || seq_after(s->snd_nxt, f->snd_nxt);

	if (sent)
		f->last_send_ns = now;
	if (got)
		f->last_recv_ns = now;

	if (wrote && got) {
		/* Both spoke within one interval: an exchange completed, or
		 * both stream. Either way nobody is provably waiting. */
		f->turn = TURN_NONE;
		f->turn_bytes = 0;
	} else if (wrote) {
		if (f->turn == TURN_PEER) {
			f->turn_bytes += wrote;
		} else {
			f->turn = TURN_PEER;
			f->turn_bytes = wrote;
		}
	} else if (got) {
		if (f->turn == TURN_LOCAL) {
			f->turn_bytes += got;
		} else {
			f->turn = TURN_LOCAL;
			f->turn_bytes = got;
		}
	}
	turn_bytes_sync(f);
}

static void snapshot_next(struct flow *f, const struct tt_sock_scan *s,
			  __u64 now, bool clocked, __u32 got)
{
	bool read = seq_after(s->copied_seq, f->copied_seq);

	if (!clocked)
		turn_between_scans(f, s, now, got);
	if (!seq_span(s->rcv_nxt, s->copied_seq))
		f->unread_since_ns = 0;
	else if (read || !f->unread_since_ns)
		/* The application is reading (slowly is not stalled), or data
		 * just started waiting. */
		f->unread_since_ns = now;

	if (s->snd_wnd)
		f->zero_wnd_since_ns = 0;
	else if (!f->zero_wnd_since_ns)
		f->zero_wnd_since_ns = now;
}

static bool scan_state_tracked(__u8 state)
{
	/* TIME_WAIT and request sockets carry no sequence state worth
	 * judging; CLOSE sockets are unhashed and never reported. */
	return state != TT_TCP_TIME_WAIT && state != TT_TCP_NEW_SYN_RECV &&
	       state != TT_TCP_CLOSE && state != TT_TCP_LISTEN &&
	       state > 0 && state < TT_TCP_STATE_MAX;
}

/* A listening socket: its accept queue, and the drops it counted. */
static void on_listener(struct engine *e, const struct tt_sock_scan *s)
{
	struct listen_key lk = { .netns = s->key.netns, .port = s->key.lport };
	struct listener *l = flowtable_get(e->listeners, &lk, NULL);

	bool again;

	if (!l)
		return;
	again = l->scan_gen == e->scan_gen;
	l->scan_gen = e->scan_gen;
	l->key = s->key;
	if (!again) {
		l->pid = s->pid;
		memcpy(l->comm, s->comm, TT_COMM_LEN);
		l->comm[TT_COMM_LEN - 1] = '\0';
		l->cgroup_id = s->cgroup_id;
	} else if (l->pid != s->pid) {
		l->pid = 0;
		l->comm[0] = '\0';
	}
	if (again && l->cgroup_id != s->cgroup_id)
		l->cgroup_id = 0;
	/* Drops counted since the last scan, while the queue was full:
	 * handshakes the accept queue had no room for. */
	if (l->drops_known && s->sk_drops > l->sk_drops &&
	    s->ack_backlog > s->max_ack_backlog)
		l->overflow_drops += s->sk_drops - l->sk_drops;
	l->sk_drops = s->sk_drops;
	l->drops_known = true;
	l->ack_backlog = s->ack_backlog;
	l->max_ack_backlog = s->max_ack_backlog;
	/* sk_acceptq_is_full(): more waiting than the backlog allows */
	l->full_scans = s->ack_backlog > s->max_ack_backlog ? l->full_scans + 1 : 0;
}

void engine_on_scan(struct engine *e, const struct tt_sock_scan *s,
		    __u64 now_ns)
{
	struct flow *f;
	bool created, clocked, fin_before;
	__u32 got = 0;

	e->scans++;
	if (s->state == TT_TCP_LISTEN) {
		on_listener(e, s);
		return;
	}
	if (!scan_state_tracked(s->state))
		return;

	/* Events are the authority on a close: a snapshot of a flow they
	 * closed was taken before the close reached us. */
	f = flowtable_lookup(e->flows, &s->key);
	if (f && (f->flags & FF_CLOSED))
		return;
	/*
	 * A full table makes room for flows that events speak of, not for
	 * sockets a scan merely met: with more sockets than the table holds,
	 * every scan would evict the last one's and start again. They are
	 * counted instead.
	 */
	if (!f && flowtable_count(e->flows) >= e->cfg.max_flows) {
		e->scan_untracked++;
		return;
	}

	f = flowtable_get(e->flows, &s->key, &created);
	if (!f)
		return;
	if (created)
		f->start_ns = now_ns;
	/* The kernel side knows the socket's owner (connect, listen, the
	 * /proc walk at start): a flow met only by scans has it too. */
	if (s->pid && (!f->pid || !(f->flags & FF_PID_PROC))) {
		f->pid = s->pid;
		memcpy(f->comm, s->comm, TT_COMM_LEN);
		f->comm[TT_COMM_LEN - 1] = '\0';
		f->flags |= FF_PID_PROC;
	}
	if (s->cgroup_id && !f->cgroup_id)
		f->cgroup_id = s->cgroup_id;
	fin_before = state_fin_received(f->state);
	if (state_synchronized(s->state))
		f->flags |= FF_ESTABLISHED;

	/* One-way or request/response: against the turn the last snapshot
	 * left, before this one's clocks move it. */
	if (f->flags & FF_SCANNED) {
		got = scan_got(f, s, fin_before);
		learn_turns(e, &s->key, f, seq_span(s->write_seq, f->write_seq), got);
	}
	/* The socket's clocks say better what comparing snapshots infers. */
	clock_learn_hz(e, s, now_ns);
	clocked = clock_known(e, s);
	if (clocked)
		clock_snapshot(e, f, s, now_ns, !(f->flags & FF_SCANNED));
	if (f->flags & FF_SCANNED)
		snapshot_next(f, s, now_ns, clocked, got);
	else
		snapshot_first(f, s, now_ns, clocked);
	f->state = s->state;
	/* Progress: the peer acknowledges something new, or nothing waits.
	 * Data in flight after a snapshot with none starts the clock too: the
	 * first snapshot may come before the first byte left. */
	if (s->snd_una == s->snd_nxt)
		f->una_stuck_since_ns = 0;
	else if (!(f->flags & FF_SCANNED) || s->snd_una != f->snd_una ||
		 !f->una_stuck_since_ns)
		f->una_stuck_since_ns = now_ns;
	if ((f->flags & FF_SCANNED) && seq_after(s->snd_una, f->snd_una)) {
		/* Small segments ACKed before the full-size ones were lost
		 * prove nothing; ACKs after a retransmit prove a path. */
		if (f->retrans_full || f->retrans_small)
			f->flags |= FF_ACKED_AFTER_RETRANS;
		/* Loss that recovers is no black hole: start counting again. */
		f->stuck_rto_full = f->stuck_small = 0;
	}
	/* Acknowledged up to date, or further than before: the path works,
	 * and its loss so far is that of a working path. */
	if (s->snd_una == s->snd_nxt ||
	    ((f->flags & FF_SCANNED) && seq_after(s->snd_una, f->snd_una))) {
		f->retrans_at_progress = s->total_retrans;
		f->segs_at_progress = s->data_segs_out;
	}

	/* srtt moves only with data acknowledged: an idle flow's is old */
	if (s->data_segs_out != f->data_segs_out) {
		f->srtt_sends++;
		f->srtt_sum_us += s->srtt_us;
	}
	f->snd_una = s->snd_una;
	f->snd_nxt = s->snd_nxt;
	f->write_seq = s->write_seq;
	f->rcv_nxt = s->rcv_nxt;
	f->copied_seq = s->copied_seq;
	f->snd_wnd = s->snd_wnd;
	f->rcv_wnd = s->rcv_wnd;
	f->srtt_us = s->srtt_us;
	f->min_rtt_us = s->min_rtt_us;
	f->total_retrans = s->total_retrans;
	f->data_segs_out = s->data_segs_out;
	f->data_segs_in = s->data_segs_in;
	f->segs_out = s->segs_out;
	f->segs_in = s->segs_in;
	f->bytes_acked = s->bytes_acked;
	f->bytes_sent = s->bytes_sent;
	f->bytes_received = s->bytes_received;
	f->probes_out = s->probes_out;
	f->rcv_ooopack = s->rcv_ooopack;
	f->dsack_dups = s->dsack_dups;
	if (s->srtt_us > f->srtt_peak_us)
		f->srtt_peak_us = s->srtt_us;

	f->flags |= FF_SCANNED;
	f->last_scan_ns = now_ns;
	f->scan_gen = e->scan_gen;
	f->report_gen = e->scan_gen;
	f->scans_missed = 0;
	f->updated_ns = now_ns;
}

/* The NIC's counters only grow: a record carries the flow's whole story. */
void engine_on_nic(struct engine *e, const struct flow_key *key,
		   const struct nic_flow *nf, __u64 now_ns)
{
	struct flow *f;

	(void)now_ns;
	/*
	 * A SYN-ACK for a local port whose SYN went elsewhere: the flow to
	 * blame is the one the SYN opened, named by where it went.
	 */
	if ((nf->flags & NIC_F_STRAY_SYNACK) && (nf->flags & NIC_F_SYN_MATCHED)) {
		struct flow_key syn_key = *key;

		memcpy(syn_key.raddr, nf->syn_raddr, sizeof(syn_key.raddr));
		syn_key.rport = nf->syn_rport;
		f = flowtable_lookup(e->flows, &syn_key);
		if (f && memcmp(&syn_key, key, sizeof(syn_key))) {
			f->nat_mismatch = true;
			memcpy(f->nat_raddr, key->raddr, sizeof(f->nat_raddr));
			f->nat_rport = key->rport;
			f->nat_synacks = nf->dir[NIC_IN].synack;
		}
		return;
	}
	f = flowtable_lookup(e->flows, key);
	if (!f)
		return;
	f->nic_seen = true;
	f->nic_syn_out = nf->dir[NIC_OUT].syn;
	f->nic_synack_in = nf->dir[NIC_IN].synack;
	f->nic_rst_in = nf->dir[NIC_IN].rst;
	f->nic_pkts_in = nf->dir[NIC_IN].pkts;
	f->nic_max_seg_out = nf->dir[NIC_OUT].max_seg;
	memcpy(f->icmp, nf->icmp.count, sizeof(f->icmp));
	f->icmp_mtu = nf->icmp.mtu;
	/* Both on the NIC's clock. */
	f->icmp_after_ms = nf->icmp.last_ns && nf->dir[NIC_OUT].first_ns ?
			   (__s32)(elapsed(nf->dir[NIC_OUT].first_ns, nf->icmp.last_ns) /
				   NSEC_PER_MSEC) : -1;
	memcpy(f->icmp_from, nf->icmp.from, sizeof(f->icmp_from));
}

/*
 * A flow this scan did not report, which the kernel left out because its
 * record would have said what the last one did (sock_scan.bpf.c): it is
 * as the latest record says, as of now. The kernel reports every socket
 * at least every SCAN_QUIET_ROUNDS rounds; one missing longer is gone.
 * Events lost since the last scan may have been its close: then it is
 * not vouched for, and a scan it really missed counts as missed.
 */
static bool scan_left_out_unchanged(const struct engine *e, const struct flow *f,
				    __u64 now_ns)
{
	return !e->scan_partial && (f->flags & FF_SCANNED) && !f->scans_missed &&
	       f->scan_gen + 1 == e->scan_gen &&
	       e->scan_gen - f->report_gen < SCAN_QUIET_ROUNDS &&
	       !e->loss_pending && !engine_lost_between(e, f->last_scan_ns, now_ns);
}

void engine_scan_partial(struct engine *e)
{
	e->scan_partial = true;
}

void engine_scan_end(struct engine *e, __u64 now_ns)
{
	struct listener *l, *lnext;
	struct flow *f;

	for (f = flowtable_first(e->flows); f; f = flowtable_next(e->flows, f)) {
		if ((f->flags & FF_CLOSED) || f->scan_gen == e->scan_gen)
			continue;
		if (scan_left_out_unchanged(e, f, now_ns)) {
			f->scan_gen = e->scan_gen;
			f->last_scan_ns = now_ns;
			continue;
		}
		if (f->scans_missed < 255)
			f->scans_missed++;
	}
	for (l = flowtable_first(e->listeners); l; l = lnext) {
		lnext = flowtable_next(e->listeners, l);
		if (l->scan_gen != e->scan_gen)
			flowtable_delete(e->listeners, l);
	}
	e->scan_gen++;
	e->scan_partial = false;
}

