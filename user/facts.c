// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Facts derived from a flow's facts: what TCP's states imply, and the
 * kernel's counters corrected for what they count besides data.
 */
#include <errno.h>
#include "drop_reason.h"
#include "facts.h"

bool state_synchronized(__u8 state)
{
	switch (state) {
	case TT_TCP_ESTABLISHED:
	case TT_TCP_FIN_WAIT1:
	case TT_TCP_FIN_WAIT2:
	case TT_TCP_CLOSE_WAIT:
	case TT_TCP_LAST_ACK:
	case TT_TCP_CLOSING:
	case TT_TCP_TIME_WAIT:
		return true;
	default:
		return false;
	}
}

bool state_may_send(__u8 state)
{
	switch (state) {
	case TT_TCP_ESTABLISHED:
	case TT_TCP_CLOSE_WAIT:
	case TT_TCP_FIN_WAIT1:
	case TT_TCP_LAST_ACK:
	case TT_TCP_CLOSING:
		return true;
	default:
		return false;
	}
}

bool state_fin_received(__u8 state)
{
	return state == TT_TCP_CLOSE_WAIT || state == TT_TCP_LAST_ACK ||
	       state == TT_TCP_CLOSING || state == TT_TCP_TIME_WAIT;
}

bool flow_in_syn_phase(const struct flow *f)
{
	if (f->flags & FF_ESTABLISHED)
		return false;
	if (f->flags & FF_CLOSED)
		return f->close_from == TT_TCP_SYN_SENT;
	return f->state == TT_TCP_SYN_SENT;
}

__u32 flow_icmp_unreach(const struct flow *f)
{
	return f->icmp[NIC_ICMP_NET_UNREACH] + f->icmp[NIC_ICMP_HOST_UNREACH] +
	       f->icmp[NIC_ICMP_ADMIN_PROHIBITED] + f->icmp[NIC_ICMP_UNREACH_OTHER] +
	       f->icmp[NIC_ICMP_TIME_EXCEEDED];
}

bool flow_app_error_unreachable(const struct flow *f)
{
	return f->app_error == EHOSTUNREACH || f->app_error == ENETUNREACH ||
	       f->app_error == EACCES;
}

/*
 * tcpi_bytes_acked is a sequence-space delta: a client's count includes its
 * SYN (a server's child socket starts past its SYN-ACK), and an ACKed FIN
 * adds one more. Data bytes are what is left.
 */
__u64 flow_data_acked(const struct flow *f)
{
	__u64 acked = f->bytes_acked, ctl = 0;
	bool fin_acked = false;

	if (f->side == TT_SIDE_CLIENT && (f->flags & FF_ESTABLISHED))
		ctl++;
	for (unsigned int i = 0; i < f->n_states; i++)
		if (f->states[i] == TT_TCP_FIN_WAIT2 || f->states[i] == TT_TCP_TIME_WAIT)
			fin_acked = true;
	if ((f->flags & FF_CLOSED) && f->close_from == TT_TCP_LAST_ACK)
		fin_acked = true;
	ctl += fin_acked;
	return acked > ctl ? acked - ctl : 0;
}

/*
 * tcpi_bytes_received is sequence space too: the peer's FIN adds one once
 * it is taken in order (a passive close, through CLOSE_WAIT, or a FIN
 * seen in a snapshot in CLOSE_WAIT or LAST_ACK).
 */
__u64 flow_data_received(const struct flow *f)
{
	bool fin = state_fin_received(f->state) && f->state != TT_TCP_CLOSE;

	for (unsigned int i = 0; i < f->n_states; i++)
		if (f->states[i] == TT_TCP_CLOSE_WAIT)
			fin = true;
	return f->bytes_received > fin ? f->bytes_received - fin : 0;
}

__u32 flow_unread(const struct flow *f)
{
	__u32 unread = seq_span(f->rcv_nxt, f->copied_seq);

	/* A FIN received and not yet read sits in the same span. */
	if (unread && state_fin_received(f->state))
		unread--;
	return unread;
}

bool flow_dropped_here(const struct flow *f)
{
	return (f->drops_in || f->drops_out) &&
	       (f->drop_class == DROP_LOCAL || f->drop_class == DROP_NO_ROUTE);
}

bool flow_syn_answered(const struct flow *f)
{
	return f->rst_rx || f->app_error == ECONNREFUSED || flow_app_error_unreachable(f) ||
	       f->nic_synack_in || f->nic_rst_in || flow_icmp_unreach(f) ||
	       f->nat_mismatch || flow_dropped_here(f);
}

__u64 flow_end(const struct flow *f, __u64 now)
{
	return (f->flags & FF_CLOSED) ? f->closed_ns : now;
}

bool flow_reset_ours(const struct flow *f, bool nic_ingress)
{
	if (!(f->flags & FF_RST_RX))
		return false;
	if (f->flags & FF_ABORT_LOCAL)
		return true;
	/* The NIC counts every segment that arrived for the flow, an RST
	 * too, before TCP sees it: arrivals and no RST among them. */
	return nic_ingress && f->nic_seen && f->nic_pkts_in && !f->nic_rst_in;
}

/* Data each way over the connection's life, as its counters last said. */
static bool flow_sent_data(const struct flow *f)
{
	return flow_data_acked(f) || f->bytes_sent || f->rst_unsent;
}

bool flow_reset_request_pending(const struct flow *f, enum tt_side side)
{
	enum tt_last_data last = f->rst_last_data;
	bool sent = flow_sent_data(f), received = flow_data_received(f) || f->rst_unread;

	/* The socket's clocks tie within one tick: then only a direction
	 * that never carried data says who spoke last. */
	if (last == TT_LAST_UNKNOWN) {
		if (sent && !received)
			last = TT_LAST_SENT;
		else if (received && !sent)
			last = TT_LAST_RECEIVED;
	}
	if (side == TT_SIDE_SERVER)
		/* The peer asked last; or it had closed (its FIN came first)
		 * while we owed it an answer: what we sent after was late. */
		return last == TT_LAST_RECEIVED ||
		       ((f->rst_state == TT_TCP_CLOSE_WAIT || f->rst_state == TT_TCP_LAST_ACK ||
			 f->rst_state == TT_TCP_CLOSING) && f->turn == TURN_LOCAL);
	return last == TT_LAST_SENT;
}

bool flow_qdisc_drops_persist(const struct flow *f, __u32 min_drops, __u64 span_ns)
{
	return f->qdisc_drops >= min_drops &&
	       elapsed(f->qdisc_first_ns, f->qdisc_last_ns) >= span_ns;
}

/* TCP_RTO_MIN: the base of the kernel's model of a connection's timeout. */
#define TCP_RTO_MIN_MS	200
#define TCP_RTO_MAX_MS	120000

__u64 flow_kernel_timeout_ms(const struct flow *f)
{
	__u64 rto_max = f->rto_max_ms ? f->rto_max_ms : TCP_RTO_MAX_MS;
	unsigned int linear = 0, boundary = f->retries2;

	if (f->user_timeout_ms)
		return f->user_timeout_ms;
	if (!(f->flags & FF_SCANNED) || !boundary)
		return 0;
	/* Doubling from the minimum RTO until it reaches the ceiling
	 * (ilog2(rto_max / rto_min)), then at the ceiling. */
	while (((__u64)TCP_RTO_MIN_MS << (linear + 1)) <= rto_max && linear < 31)
		linear++;
	if (boundary <= linear)
		return ((2ULL << boundary) - 1) * TCP_RTO_MIN_MS;
	return ((2ULL << linear) - 1) * TCP_RTO_MIN_MS + (boundary - linear) * rto_max;
}
