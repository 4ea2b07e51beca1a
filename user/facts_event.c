// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Facts from kernel events: a flow's open, its states, retransmits, resets,
 * the error its application saw, and the segments this host dropped. A
 * connect() the route lookup refused has no flow: it goes to its judge.
 */
#include <string.h>
#include "drop_reason.h"
#include "engine.h"

/* These aborts are only sent on a synchronized connection, so they prove
 * the handshake completed even for a flow opened before we started. */
static bool rst_reason_synchronized(__u32 reason)
{
	switch (reason) {
	case TT_RST_ABORT_ON_DATA:
	case TT_RST_ABORT_ON_CLOSE:
	case TT_RST_ABORT_ON_LINGER:
	case TT_RST_ABORT_ON_MEMORY:
		return true;
	default:
		return false;
	}
}

static void flow_take_owner(struct flow *f, const struct tt_event *ev)
{
	bool proc = ev->flags & EVF_PROC;

	/* Softirq-context events carry whatever task was running: keep the
	 * owner a process-context event named. */
	if (!ev->pid || ((f->flags & FF_PID_PROC) && !proc))
		return;
	if (f->pid && !proc)
		return;
	/*
	 * A process-context owner that differs from the one held (the
	 * listener's, then the worker that accept()ed the connection) brings
	 * its own cgroup: pid, comm and container name one process.
	 */
	if (proc && ev->cgroup_id && f->pid != ev->pid)
		f->cgroup_id = ev->cgroup_id;
	f->pid = ev->pid;
	memcpy(f->comm, ev->comm, TT_COMM_LEN);
	f->comm[TT_COMM_LEN - 1] = '\0';
	if (proc)
		f->flags |= FF_PID_PROC;
}

static bool event_opens_flow(const struct tt_event *ev)
{
	return ev->type == EV_STATE &&
	       ((ev->old_state == TT_TCP_CLOSE && ev->state == TT_TCP_SYN_SENT) ||
		(ev->old_state == TT_TCP_LISTEN && ev->state == TT_TCP_SYN_RECV));
}

/* Start a new life for a flow entry: the old one is judged first, since a
 * reused 4-tuple must not erase what happened on the previous connection. */
static void flow_reset(struct engine *e, const struct flow_key *key,
		       struct flow *f, __u64 now)
{
	engine_flow_over(e, key, f, now);
	memset(f, 0, sizeof(*f));
}

static struct flow *flow_for_event(struct engine *e, const struct tt_event *ev)
{
	bool created, opens = event_opens_flow(ev);
	struct flow *f;

	f = flowtable_get(e->flows, &ev->key, &created);
	if (!f)
		return NULL;
	/*
	 * An open event on a tuple we hold starts a new connection only if the
	 * old one closed: a snapshot may have met this one before its open
	 * event reached us, and that is the same connection.
	 */
	if (!created && opens && (f->flags & FF_CLOSED)) {
		flow_reset(e, &ev->key, f, ev->ts_ns);
		created = true;
	}
	if (!created && opens && !(f->flags & FF_START_KNOWN)) {
		f->start_ns = ev->ts_ns;
		f->flags |= FF_START_KNOWN;
	}
	if (created) {
		f->start_ns = ev->ts_ns;
		/* We know its start only if we saw it open; a flow first seen
		 * mid-life has the state the event reports. */
		if (opens)
			f->flags |= FF_START_KNOWN;
		f->state = ev->state;
	}
	if (ev->side != TT_SIDE_UNKNOWN && f->side == TT_SIDE_UNKNOWN)
		f->side = ev->side;
	if (state_synchronized(ev->state))
		f->flags |= FF_ESTABLISHED;
	flow_take_owner(f, ev);
	if (ev->cgroup_id && !f->cgroup_id)
		f->cgroup_id = ev->cgroup_id;
	f->updated_ns = ev->ts_ns;
	return f;
}

static void flow_push_state(struct flow *f, __u8 state)
{
	if (f->n_states && f->states[f->n_states - 1] == state)
		return;
	if (f->n_states < sizeof(f->states))
		f->states[f->n_states++] = state;
	else
		f->states[sizeof(f->states) - 1] = state;	/* keep how it ended */
}

/* The socket's own totals, read as it closed: a flow too short for any
 * snapshot has its statistics from here. */
static void flow_take_totals(struct flow *f, const struct tt_event *ev)
{
	if (!ev->segs_out && !ev->segs_in)
		return;
	f->bytes_acked = ev->bytes_acked;
	f->bytes_received = ev->bytes_received;
	f->segs_out = ev->segs_out;
	f->segs_in = ev->segs_in;
	f->data_segs_out = ev->data_segs_out;
	f->data_segs_in = ev->data_segs_in;
	f->total_retrans = ev->total_retrans;
	if (ev->srtt_us)
		f->srtt_us = ev->srtt_us;
	if (ev->min_rtt_us)
		f->min_rtt_us = ev->min_rtt_us;
	f->flags |= FF_TOTALS;
}

/* This end closed first with a FIN, not a reset. */
static bool flow_closed_by_fin(const struct flow *f)
{
	for (unsigned int i = 0; i < f->n_states; i++)
		if (f->states[i] == TT_TCP_FIN_WAIT1)
			return true;
	return false;
}

/* Of a close's path: this end closed first (FIN_WAIT1), or aborted. */
static bool path_closed_here(const struct tt_event *ev)
{
	bool established = false;

	for (unsigned int i = 0; i < sizeof(ev->path) && ev->path[i]; i++) {
		if (ev->path[i] == TT_TCP_ESTABLISHED) {
			established = true;
			continue;
		}
		if (established)
			return ev->path[i] == TT_TCP_FIN_WAIT1 || ev->path[i] == TT_TCP_CLOSE;
	}
	return false;
}

/*
 * Our application closed while the peer owed the answer to a request the
 * peer had acknowledged: it stopped waiting. The latest snapshot says the
 * request was pending; a connection closed before any snapshot, one that
 * never received a byte, says it by its totals.
 */
static void client_gave_up(struct flow *f, const struct tt_event *ev)
{
	bool pending;
	__u64 sent;

	if (f->gave_up || !(f->flags & FF_ESTABLISHED) || (f->flags & FF_RST_RX) ||
	    !path_closed_here(ev))
		return;
	/* Pending at the last snapshot, and no data came after it (the
	 * close's totals: an answer read just before the close is none). */
	if (f->flags & FF_SCANNED)
		pending = f->state == TT_TCP_ESTABLISHED && f->turn == TURN_PEER &&
			  f->turn_bytes && f->snd_una == f->write_seq &&
			  ev->data_segs_in == f->data_segs_in &&
			  ev->bytes_received == f->bytes_received;
	else
		pending = ev->data_segs_out && !ev->data_segs_in && f->established_ns;
	if (!pending)
		return;
	f->gave_up = GAVE_UP_LOCAL;
	f->gave_up_ns = ev->ts_ns;
	if (f->flags & FF_SCANNED) {
		f->gave_up_waited_ms = (__u32)(elapsed(f->last_send_ns, ev->ts_ns) / NSEC_PER_MSEC);
		f->gave_up_bytes = (__u32)f->turn_bytes;
	} else {
		/* sent when the connection opened, at the latest */
		f->gave_up_waited_ms = (__u32)(elapsed(f->established_ns, ev->ts_ns) /
					       NSEC_PER_MSEC);
		/* the SYN and our FIN count in bytes_acked */
		sent = ev->bytes_acked;
		for (unsigned int i = 0; i < sizeof(ev->path); i++)
			if (ev->path[i] == TT_TCP_FIN_WAIT2 && sent)
				sent--;
		f->gave_up_bytes = sent > 1 ? (__u32)(sent - 1) : 0;
	}
}

static void on_state(struct flow *f, const struct tt_event *ev)
{
	/* The close carries the whole path: the closing states before it
	 * sent no event of their own. */
	if (ev->state == TT_TCP_CLOSE && ev->path[0]) {
		/* From the open it is the whole story; from a socket adopted
		 * mid-life, the part after what its first event told. */
		if (ev->path[0] == TT_TCP_SYN_SENT || ev->path[0] == TT_TCP_SYN_RECV)
			f->n_states = 0;
		for (unsigned int i = 0; i < sizeof(ev->path) && ev->path[i]; i++)
			flow_push_state(f, ev->path[i]);
	}
	/* A flow first met mid-life: its path starts where we met it. */
	if (!f->n_states && ev->old_state != TT_TCP_CLOSE &&
	    ev->old_state != TT_TCP_LISTEN)
		flow_push_state(f, ev->old_state);
	flow_push_state(f, ev->state);
	if (ev->state == TT_TCP_ESTABLISHED && !f->established_ns)
		f->established_ns = ev->ts_ns;
	if (ev->state == TT_TCP_CLOSE) {
		client_gave_up(f, ev);
		/* The peer gave up on us, and our answer left after the last
		 * snapshot: the close's totals say so. */
		if (f->gave_up == GAVE_UP_PEER && !f->late_answer_ns &&
		    ev->data_segs_out > f->data_segs_out)
			f->late_answer_ns = ev->ts_ns;
		flow_take_totals(f, ev);
	}
	f->state = ev->state;
	if (ev->old_state == TT_TCP_CLOSE && ev->state == TT_TCP_SYN_SENT &&
	    f->side == TT_SIDE_UNKNOWN)
		f->side = TT_SIDE_CLIENT;
	if (ev->old_state == TT_TCP_LISTEN && ev->state == TT_TCP_SYN_RECV &&
	    f->side == TT_SIDE_UNKNOWN)
		f->side = TT_SIDE_SERVER;
	if (state_synchronized(ev->old_state))
		f->flags |= FF_ESTABLISHED;
	if (ev->state == TT_TCP_CLOSE && !(f->flags & FF_CLOSED)) {
		f->flags |= FF_CLOSED;
		f->closed_ns = ev->ts_ns;
		f->close_from = ev->old_state;
	}
}

static void on_retrans(struct flow *f, const struct tt_event *ev)
{
	if (ev->srtt_us)
		f->ev_srtt_us = ev->srtt_us;
	if (ev->mss)
		f->mss = ev->mss;
	/* Within an eighth of the MSS counts as full-size: options and
	 * rounding keep full segments a few bytes short of it. */
	if (ev->state != TT_TCP_SYN_SENT && ev->seg_len && ev->mss) {
		if (ev->seg_len >= ev->mss - ev->mss / 8) {
			f->retrans_full++;
			if (ev->ca_state == TT_CA_LOSS)
				f->stuck_rto_full++;
		} else {
			f->retrans_small++;
			f->stuck_small++;
		}
	}
	if (ev->state == TT_TCP_SYN_SENT) {
		f->syn_retrans++;
		return;
	}
	f->retrans++;
	/* CA_LOSS: the retransmit timer fired. CA_RECOVERY: duplicate ACKs or
	 * SACK triggered a fast retransmit. A tail loss probe the kernel side
	 * tells (EVF_TLP); other retransmits outside both are neither. */
	if (ev->flags & EVF_TLP)
		f->tlp_retrans++;
	else if (ev->ca_state == TT_CA_LOSS)
		f->rto_retrans++;
	else if (ev->ca_state == TT_CA_RECOVERY)
		f->fast_retrans++;
}

/*
 * SYNs refused on one port from one client address, lately (within a fold
 * window of the previous one): a scanner knocks once, a client that needs
 * the service keeps trying, each time from a new port.
 */
static __u32 client_refused(struct engine *e, const struct tt_event *ev)
{
	struct refusal_key rk;
	struct refusal *r;
	bool created;

	memset(&rk, 0, sizeof(rk));
	rk.netns = ev->key.netns;
	rk.family = ev->key.family;
	rk.lport = ev->key.lport;
	memcpy(rk.laddr, ev->key.laddr, sizeof(rk.laddr));
	memcpy(rk.raddr, ev->key.raddr, sizeof(rk.raddr));
	r = flowtable_get(e->refusals, &rk, &created);
	if (!r)
		return 1;
	if (!created && elapsed(r->last_ns, ev->ts_ns) > e->cfg.fold_ns)
		r->syns = 0;
	r->syns++;
	r->last_ns = ev->ts_ns;
	return r->syns;
}

/* A SYN reached a port where no socket listens and this host answered RST.
 * The key is ours: laddr:lport is the probed port, raddr the client. */
static void on_port_closed(struct engine *e, const struct tt_event *ev)
{
	struct flow *f;
	bool created;

	f = flowtable_get(e->flows, &ev->key, &created);
	if (!f)
		return;
	if (!created && !(f->flags & FF_PORT_CLOSED)) {
		/* The tuple belonged to a connection that is gone now. */
		flow_reset(e, &ev->key, f, ev->ts_ns);
		created = true;
	}
	if (created) {
		f->start_ns = ev->ts_ns;
		f->flags |= FF_START_KNOWN | FF_PORT_CLOSED | FF_CLOSED;
		f->side = TT_SIDE_SERVER;
		f->state = TT_TCP_CLOSE;
		f->close_from = TT_TCP_LISTEN;
		f->rst_ns = ev->ts_ns;
	}
	/* It lingers from the latest refusal: a client retrying from the same
	 * port keeps adding to it. */
	f->closed_ns = ev->ts_ns;
	f->updated_ns = ev->ts_ns;
	f->syns_refused++;
	f->rst_tx++;
	f->client_syns = client_refused(e, ev);
}

static enum drop_class drop_class_of(const struct engine *e, __u32 reason)
{
	if (e->cfg.drop_class)
		return reason < e->cfg.n_drop_class ? e->cfg.drop_class[reason] :
						      DROP_LOCAL;
	/* No table: 0 not dropped, 1 consumed, 2 unspecified; the rest count. */
	return reason > 2 ? DROP_LOCAL : DROP_IGNORE;
}

/*
 * A segment this host's stack dropped. The flow may be one we know (a
 * SYN-ACK for our connect, data of an open connection) or none yet: an
 * inbound SYN refused before any socket saw it.
 */
static void on_drop(struct engine *e, const struct tt_event *ev)
{
	enum drop_class cls = drop_class_of(e, ev->reason);
	bool inbound = ev->flags & EVF_INBOUND;
	struct listener *l;
	struct flow *f;

	if (cls == DROP_IGNORE)
		return;
	/* A queue here full under congestion: loss, judged as such. */
	if (cls == DROP_QDISC) {
		f = flowtable_lookup(e->flows, &ev->key);
		if (!f)
			return;
		if (!f->qdisc_drops++)
			f->qdisc_first_ns = ev->ts_ns;
		f->qdisc_last_ns = ev->ts_ns;
		f->qdisc_reason = ev->reason;
		return;
	}
	/* Such drops reach us only where no reset is traced for them: a
	 * bare SYN nobody took is a closed port; the rest is no news. */
	if (cls == DROP_NO_SOCKET) {
		if (inbound && (ev->tcp_flags & (TT_TCP_SYN | TT_TCP_ACK)) == TT_TCP_SYN)
			on_port_closed(e, ev);
		return;
	}
	f = flow_for_event(e, ev);
	if (!f)
		return;
	if (f->side == TT_SIDE_UNKNOWN && inbound && (ev->flags & EVF_SYN))
		f->side = TT_SIDE_SERVER;
	if (inbound)
		f->drops_in++;
	else
		f->drops_out++;
	if (ev->tcp_flags & TT_TCP_SYN)
		f->syn_drops++;
	f->drop_reason = ev->reason;
	f->drop_class = cls;
	if (cls == DROP_LISTEN_OVERFLOW) {
		l = facts_listener(e, ev->key.netns, ev->key.lport);
		if (l)
			l->overflow_drops++;
	}
}

/* A reset for a segment no socket owned: a SYN to a closed port, or a
 * stray segment of a connection this host no longer has, counted on a
 * flow we still hold. */
static void on_rst_no_socket(struct engine *e, const struct tt_event *ev)
{
	struct flow *f;

	if (ev->flags & EVF_SYN) {
		on_port_closed(e, ev);
		return;
	}
	f = flowtable_lookup(e->flows, &ev->key);
	if (!f)
		return;
	f->rst_tx++;
	/* The answer it gave up on came after all, to a closed socket. */
	if (f->gave_up == GAVE_UP_LOCAL && !f->late_answer_ns)
		f->late_answer_ns = ev->ts_ns;
}

static void on_synack_retrans(struct engine *e, struct flow *f,
			      const struct tt_event *ev)
{
	struct listener *l = facts_listener(e, ev->key.netns, ev->key.lport);

	f->synack_retrans++;
	if (f->side == TT_SIDE_UNKNOWN)
		f->side = TT_SIDE_SERVER;
	/* The client's ACK did not complete the handshake: lost, or
	 * dropped because the accept queue was full. */
	if (l)
		l->synack_retrans++;
}

/* What the connection's first reset cut off, as the socket had it then. */
static void rst_cut(struct flow *f, const struct tt_event *ev)
{
	if (f->rst_ns)
		return;
	f->rst_ns = ev->ts_ns;
	f->rst_state = ev->state;
	f->rst_unsent = ev->unsent;
	/* rcv_nxt counts the peer's FIN, which is no byte to read. */
	f->rst_unread = ev->unread && (ev->state == TT_TCP_CLOSE_WAIT ||
				       ev->state == TT_TCP_LAST_ACK ||
				       ev->state == TT_TCP_CLOSING) ?
			ev->unread - 1 : ev->unread;
	f->rst_last_data = ev->last_data;
	f->flags |= FF_RST_CUT;
}

static void on_rst_rx(struct flow *f, const struct tt_event *ev)
{
	if (!f->rst_rx)
		f->rst_rx_state = ev->state;
	f->rst_rx++;
	f->flags |= FF_RST_RX;
	rst_cut(f, ev);
}

static void on_rst_tx(struct flow *f, const struct tt_event *ev)
{
	/*
	 * The answer our application gave up on came after its close, and
	 * this host answered it with a reset (from the TIME_WAIT socket, or
	 * the orphan): the late answer, not an abort of a live connection.
	 * Unless the reset is that close itself: SO_LINGER 0 sets CLOSE,
	 * then sends it (TCP_STATE; before 6.10 no reason, but a reset the
	 * socket sent of its own carries no arriving segment), and no answer
	 * came at all (the time between the two, microseconds on a quiet
	 * host, is no guide on a busy one). After a close by FIN, any reset
	 * of ours is the late answer's.
	 */
	if (f->gave_up == GAVE_UP_LOCAL && (f->flags & FF_CLOSED) &&
	    (flow_closed_by_fin(f) || ev->reason == TT_RST_ABORT_ON_DATA ||
	     (ev->reason == TT_RST_NOT_GIVEN && (ev->flags & EVF_RST_REPLY)))) {
		if (!f->late_answer_ns)
			f->late_answer_ns = ev->ts_ns;
		f->rst_tx++;
		return;
	}
	f->rst_tx++;
	f->flags |= FF_RST_TX;
	f->rst_reason = ev->reason;
	if (rst_reason_synchronized(ev->reason))
		f->flags |= FF_ESTABLISHED;
	/*
	 * A received reset is never answered with one: a socket that resets
	 * after tcp_reset() ran on it aborted itself (data arrived after its
	 * application closed), and the kernel says so from 6.10 on.
	 */
	if ((f->flags & FF_RST_RX) || ev->reason == TT_RST_ABORT_ON_DATA)
		f->flags |= FF_ABORT_LOCAL;
	rst_cut(f, ev);
}

void engine_on_event(struct engine *e, const struct tt_event *ev)
{
	struct flow *f;

	e->events++;
	switch (ev->type) {
	case EV_CONNECT_ERR:
		engine_judge_event(e, ev);
		return;
	case EV_PROC_EXIT:
	case EV_OOM_VICTIM:
		facts_on_proc_event(e, ev);
		return;
	case EV_DROP:
		on_drop(e, ev);
		return;
	case EV_RST_TX:
		if (ev->flags & EVF_NO_SOCKET) {
			on_rst_no_socket(e, ev);
			return;
		}
		break;
	case EV_STATE:
	case EV_RETRANS:
	case EV_SYNACK_RETRANS:
	case EV_RST_RX:
	case EV_SK_ERROR:
	case EV_EXIT_CLOSE:
		break;
	default:
		return;	/* a newer recording's type: skip, never misread */
	}

	f = flow_for_event(e, ev);
	if (!f)
		return;
	switch (ev->type) {
	case EV_STATE:
		on_state(f, ev);
		break;
	case EV_RETRANS:
		on_retrans(f, ev);
		break;
	case EV_SYNACK_RETRANS:
		on_synack_retrans(e, f, ev);
		break;
	case EV_RST_RX:
		on_rst_rx(f, ev);
		break;
	case EV_RST_TX:
		on_rst_tx(f, ev);
		break;
	case EV_EXIT_CLOSE:
		facts_exit_closed(e, f, ev);
		break;
	case EV_SK_ERROR:
		if (ev->err > 0) {
			f->app_error = ev->err;
			f->app_error_ns = ev->ts_ns;
		}
		break;
	}
}
