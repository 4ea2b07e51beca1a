// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Facts from the socket's own clocks, which every snapshot reads: when it
 * last sent data (lsndtime), last received data (icsk_ack.lrcvtime) and
 * last heard an ACK (rcv_tstamp), in jiffies. They say who spoke last even
 * when both spoke between two snapshots, as on a busy pooled connection;
 * how long each side has waited since; when an application closed with a
 * request unanswered; and how long the peer has acknowledged nothing.
 */
#include "engine.h"

/* Two scans this far apart measure the tick rate well enough to round. */
#define HZ_LEARN_NS	NSEC_PER_SEC

/* Jiffies compare with wrap-around, as the kernel's time_after(). */
static bool jiffies_after(__u32 a, __u32 b)
{
	return (__s32)(b - a) < 0;
}

/* The kernel's usual CONFIG_HZ values: a measured rate near one is it. */
static __u32 hz_round(__u64 rate)
{
	static const __u32 known[] = { 100, 250, 300, 1000 };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (rate * 20 >= known[i] * 19ULL && rate * 20 <= known[i] * 21ULL)
			return known[i];
	return (__u32)rate;
}

void clock_learn_hz(struct engine *e, const struct tt_sock_scan *s, __u64 now)
{
	__u64 span;

	if (e->cfg.hz) {
		e->hz = e->cfg.hz;
		return;
	}
	if (e->hz || !s->now_jiffies)
		return;
	if (!e->hz_ref_ns) {
		e->hz_ref_ns = now;
		e->hz_ref_jiffies = s->now_jiffies;
		return;
	}
	span = elapsed(e->hz_ref_ns, now);
	if (span >= HZ_LEARN_NS)
		e->hz = hz_round((__u64)(__u32)(s->now_jiffies - e->hz_ref_jiffies) *
				 NSEC_PER_SEC / span);
}

bool clock_known(const struct engine *e, const struct tt_sock_scan *s)
{
	return e->hz && s->now_jiffies;
}

/* A socket clock reading as monotonic time (the snapshot's, now). */
static __u64 clock_ns(const struct engine *e, const struct tt_sock_scan *s,
		      __u32 at, __u64 now)
{
	__s32 ago = (__s32)(s->now_jiffies - at);
	__u64 ns = ago > 0 ? (__u64)ago * NSEC_PER_SEC / e->hz : 0;

	return ns < now ? now - ns : 1;
}

static __u32 jiffies_ms(const struct engine *e, __u32 j)
{
	return (__u32)((__u64)j * 1000 / e->hz);
}

/*
 * Who spoke last, by the socket's clocks; *tied when both clocks read the
 * same tick (a fast network) and the segments had to tell.
 */
static enum flow_turn clock_turn(const struct engine *e, const struct tt_sock_scan *s,
				 bool *tied)
{
	*tied = false;
	/* A clock that data never moved reads the connection's start. */
	if (!s->data_segs_out && !s->data_segs_in)
		return TURN_NONE;
	if (!s->data_segs_in)
		return TURN_PEER;
	if (!s->data_segs_out)
		return TURN_LOCAL;
	if (jiffies_after(s->lsndtime, s->lrcvtime))
		return TURN_PEER;
	if (jiffies_after(s->lrcvtime, s->lsndtime))
		return TURN_LOCAL;
	*tied = true;
	/* Ours not all acknowledged: its ACK (or answer) will tell. */
	if (s->snd_una != s->snd_nxt)
		return TURN_NONE;
	/*
	 * The peer's latest segment carried no data (it starts at rcv_nxt):
	 * an ACK of ours, after its own last data, and nothing since. Long
	 * after ours it is no such ACK (a keepalive's answer acknowledges
	 * nothing new), so the ACK must follow within a second and an RTO.
	 */
	if (s->snd_wl1 == s->rcv_nxt)
		return (__u32)(s->rcv_tstamp - s->lsndtime) <= e->hz + s->rto_jiffies ?
		       TURN_PEER : TURN_NONE;
	/* Its latest segment carried data and all of ours was acknowledged
	 * by then: it spoke after us. */
	return TURN_LOCAL;
}

/* Bytes each side sent since the other last did, and so the turn's. */
static void clock_turn_bytes(struct flow *f, const struct tt_sock_scan *s,
			     __u32 wrote, __u32 got, enum flow_turn turn)
{
	__u32 segs_out = s->data_segs_out - f->data_segs_out;
	__u32 segs_in = s->data_segs_in - f->data_segs_in;

	if (wrote && got) {
		/* Both spoke since the last snapshot, several turns maybe:
		 * how the bytes split is not known; the last turn is taken
		 * for the mean segment of its side. Who spoke last may not
		 * be known yet either (our request still unacknowledged):
		 * then both are kept, for the next snapshot to choose. */
		f->tx_since_rx = turn != TURN_LOCAL ? wrote / (segs_out ? segs_out : 1) : 0;
		f->rx_since_tx = turn != TURN_PEER ? got / (segs_in ? segs_in : 1) : 0;
		f->turn_bytes_mean = true;
	} else if (wrote) {
		if (!f->tx_since_rx)
			f->turn_bytes_mean = false;
		f->tx_since_rx += wrote;
		f->rx_since_tx = 0;
	} else if (got) {
		if (!f->rx_since_tx)
			f->turn_bytes_mean = false;
		f->rx_since_tx += got;
		f->tx_since_rx = 0;
	}
	f->turn = turn;
	f->turn_bytes = turn == TURN_PEER ? f->tx_since_rx :
			turn == TURN_LOCAL ? f->rx_since_tx : 0;
}

static __u32 ns_to_ms_u32(__u64 ns)
{
	__u64 ms = ns / NSEC_PER_MSEC;

	return ms > 0xffffffffULL ? 0xffffffffu : (__u32)ms;
}

/*
 * An application closed while a request waited for its answer, as a
 * snapshot shows it: the peer's FIN arrived while ours was owed (it gave
 * up on us), or we closed first while the peer owed us (we gave up; the
 * close event usually says it first, see facts_event.c).
 */
static void clock_gave_up(const struct engine *e, struct flow *f,
			  const struct tt_sock_scan *s, __u64 now,
			  enum flow_turn was, __u64 was_bytes, bool was_acked)
{
	bool peer_closed = state_fin_received(s->state);
	bool we_closed = s->state == TT_TCP_FIN_WAIT1 || s->state == TT_TCP_FIN_WAIT2;
	/* Our answer left after its FIN (its latest segment: rcv_tstamp). */
	bool late = s->data_segs_out != f->data_segs_out &&
		    jiffies_after(s->lsndtime, s->rcv_tstamp);

	if (f->gave_up || f->state != TT_TCP_ESTABLISHED || !was_bytes)
		return;
	/* An answer that went (came) before the close is no giving up:
	 * the turn must not have passed since the last snapshot. */
	if (peer_closed && was == TURN_LOCAL && (f->turn == TURN_LOCAL || late)) {
		f->gave_up = GAVE_UP_PEER;
		f->gave_up_ns = clock_ns(e, s, s->rcv_tstamp, now);
		if (late)
			f->late_answer_ns = clock_ns(e, s, s->lsndtime, now);
	} else if (we_closed && was == TURN_PEER && was_acked && f->turn == TURN_PEER) {
		f->gave_up = GAVE_UP_LOCAL;
		f->gave_up_ns = now;
	} else {
		return;
	}
	f->gave_up_waited_ms = ns_to_ms_u32(elapsed(peer_closed ? f->last_recv_ns :
						    f->last_send_ns, f->gave_up_ns));
	f->gave_up_bytes = (__u32)was_bytes;
}

/* The answer left after the peer gave up on it. */
static void clock_late_answer(const struct engine *e, struct flow *f,
			      const struct tt_sock_scan *s, __u64 now)
{
	if (f->gave_up == GAVE_UP_PEER && !f->late_answer_ns &&
	    s->data_segs_out != f->data_segs_out)
		f->late_answer_ns = clock_ns(e, s, s->lsndtime, now);
}

void clock_snapshot(const struct engine *e, struct flow *f,
		    const struct tt_sock_scan *s, __u64 now, bool first)
{
	__u32 wrote = first ? 0 : seq_span(s->write_seq, f->write_seq);
	__u32 got = first ? 0 : seq_span(s->rcv_nxt, f->rcv_nxt);
	enum flow_turn was = f->turn, turn;
	__u64 was_bytes = f->turn_bytes;
	bool was_acked = f->snd_una == f->write_seq, tied;

	/* The peer's FIN takes a sequence number and is no data. */
	if (got && state_fin_received(s->state) && !state_fin_received(f->state))
		got--;

	if (s->data_segs_out)
		f->last_send_ns = clock_ns(e, s, s->lsndtime, now);
	if (s->data_segs_in)
		f->last_recv_ns = clock_ns(e, s, s->lrcvtime, now);
	f->last_ack_ns = clock_ns(e, s, s->rcv_tstamp, now);

	turn = clock_turn(e, s, &tied);
	/* After the peer's FIN the segments no longer tell a tie: its
	 * latest one is the FIN. */
	if (tied && state_fin_received(s->state) && !first)
		turn = was;
	if (first) {
		/* Nothing is known of the past but the totals. */
		f->tx_since_rx = turn == TURN_PEER && !s->data_segs_in ? (__u32)s->bytes_sent : 0;
		f->rx_since_tx = turn == TURN_LOCAL && !s->data_segs_out ?
				 (__u32)s->bytes_received : 0;
		f->turn = turn;
		f->turn_bytes = turn == TURN_PEER ? f->tx_since_rx :
				turn == TURN_LOCAL ? f->rx_since_tx : 0;
	} else {
		clock_turn_bytes(f, s, wrote, got, turn);
		clock_gave_up(e, f, s, now, was, was_bytes, was_acked);
		clock_late_answer(e, f, s, now);
	}

	/* Timeouts in a row, and what decides when the kernel gives up. */
	f->rto_count = s->retransmits;
	f->retries2 = s->retries2;
	f->rto_ms = jiffies_ms(e, s->rto_jiffies);
	f->user_timeout_ms = s->user_timeout_ms;
	f->rto_max_ms = s->rto_max_jiffies ? jiffies_ms(e, s->rto_max_jiffies) : 0;
	f->rtx_start_ns = s->rtx_elapsed_ms && (__u64)s->rtx_elapsed_ms * NSEC_PER_MSEC < now ?
			  now - (__u64)s->rtx_elapsed_ms * NSEC_PER_MSEC : 0;
}
