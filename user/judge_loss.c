// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Judges of lost segments: loss the flow recovers from (PACKET_LOSS), seen
 * by the sender from its retransmits or by the receiver from the gaps in
 * what arrives; a path MTU black hole, where full-size segments never get
 * through; and a connection whose peer acknowledges nothing any more
 * (CONNECTION_TIMEOUT), until the kernel gives up on it.
 */
#include <errno.h>
#include "judge.h"

/*
 * Out-of-order arrivals that can be loss: fewer are the reordering of a
 * healthy path. One lost segment puts the rest of its flight out of
 * order, so their share is loss times the flight: a loss signal, not the
 * loss rate (which only the sender counts).
 */
#define RCV_LOSS_MIN_OOO	10
/*
 * ... so the receiver asks that share for several times the threshold: a
 * bulk stream over veth that lost 0.43 % of its segments in bursts (its
 * sender's count) had 2.0 % of them arrive out of order; 10 % random loss
 * on a slow path gave 5.2 %.
 */
#define RCV_LOSS_AMPLIFICATION	2
/*
 * Either side judges loss on at least a second of the connection (or on
 * all of it, once closed): a bulk stream's slow start overshoots the
 * path's queue once, and that one burst is the whole sample at first. A
 * healthy veth stream whose sender retransmitted 0.15 % had 687 of its
 * first 14494 segments (118 ms) out of order, 4.7 %; a second in, well
 * under 1 %. A sender on a busy host (make test's lab) retransmitted 18
 * of its first 78 segments; told then, its loss named no queue, though
 * the tbf it crossed dropped hundreds a few milliseconds later.
 */
#define LOSS_SETTLE_NS	NSEC_PER_SEC

/* How long the peer must have acknowledged nothing before full-size
 * retransmits without progress are a black hole. */
#define PMTU_STUCK_NS	NSEC_PER_SEC

/* Queueing that says congestion: srtt this far above the minimum (and twice
 * it); a bottleneck's queue adds tens of milliseconds. */
#define QUEUE_MIN_US	5000

/*
 * Full-size segments are retransmitted and never acknowledged while the
 * small ones got through: a hop with a smaller MTU drops them and the ICMP
 * that would say so is blocked (or arrives and is not acted on).
 */
static bool pmtu_blackhole(const struct engine_config *cfg, const struct flow *f)
{
	/* Loss retransmits full-size segments too, but the peer's ACKs keep
	 * coming: a black hole is no progress at all. */
	return (f->flags & FF_ESTABLISHED) &&
	       f->stuck_rto_full >= cfg->loss_min_retrans && !f->stuck_small &&
	       /* Full-size segments that got through before (more than a
	        * couple of MSS acknowledged) say the path carries them: a
	        * long stall there is loss, not the MTU. */
	       flow_data_acked(f) < 2ULL * f->mss &&
	       f->mss && f->una_stuck_since_ns &&
	       elapsed(f->una_stuck_since_ns, f->last_scan_ns) >= PMTU_STUCK_NS;
}

bool judge_pmtu_blackhole(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;

	if (!pmtu_blackhole(in->cfg, f))
		return false;
	evidence_add(d, "full_size_retrans", f->retrans_full);
	evidence_add(d, "small_retrans", f->retrans_small);
	evidence_add(d, "rto_retrans", f->rto_retrans);
	evidence_add(d, "mss", f->mss);
	evidence_add(d, "nic_max_seg_out", f->nic_max_seg_out);
	evidence_add(d, "bytes_acked", (long long)flow_data_acked(f));
	evidence_add(d, "icmp_too_big",
		     f->icmp[NIC_ICMP_FRAG_NEEDED] + f->icmp[NIC_ICMP_PKT_TOO_BIG]);
	evidence_add(d, "icmp_mtu", f->icmp_mtu);
	return true;
}

/*
 * A black hole retransmits too: it is told as what it is. While only
 * full-size segments are retransmitted and nothing is acknowledged, it
 * may be one: wait until progress or a small retransmit says loss.
 * (una_stuck_since_ns only says data is in flight: a moving transfer
 * restarts it at every snapshot.)
 */
static bool maybe_blackhole(const struct engine_config *cfg, const struct flow *f)
{
	return pmtu_blackhole(cfg, f) ||
	       (f->retrans_full && !f->retrans_small && f->una_stuck_since_ns &&
		!(f->flags & FF_ACKED_AFTER_RETRANS) && !(f->flags & FF_CLOSED));
}

/* A second of the connection, or all of it. */
static bool loss_settled(const struct flow *f)
{
	__u64 since = f->established_ns ? f->established_ns : f->start_ns;

	return (f->flags & FF_CLOSED) || elapsed(since, f->last_scan_ns) >= LOSS_SETTLE_NS;
}

/*
 * Loss on the way in, as the receiver sees it: segments that arrived
 * after a gap (rcv_ooopack). The sender's retransmits filled the gaps; it
 * has no tracepoint here.
 */
static bool loss_inbound(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;

	if (!(f->flags & FF_SCANNED) || f->rcv_ooopack < RCV_LOSS_MIN_OOO ||
	    !f->data_segs_in ||
	    !loss_settled(f) ||
	    (__u64)f->rcv_ooopack * 100 <
		    (__u64)in->cfg->loss_pct * RCV_LOSS_AMPLIFICATION * f->data_segs_in)
		return false;
	evidence_add(d, "inbound", 1);
	evidence_add(d, "out_of_order_in", f->rcv_ooopack);
	evidence_add(d, "data_segs_in", f->data_segs_in);
	evidence_add(d, "out_of_order_permille",
		     (long long)f->rcv_ooopack * 1000 / f->data_segs_in);
	evidence_add(d, "bytes_received", (long long)flow_data_received(f));
	evidence_add(d, "srtt_ms", f->srtt_us / 1000);
	return true;
}

/*
 * Timeouts in a row right now: the peer acknowledges nothing. That is
 * CONNECTION_TIMEOUT's to tell, or loss once the ACKs come back.
 */
static bool timing_out(const struct flow *f)
{
	return f->rto_count && (!(f->flags & FF_CLOSED) || f->app_error == ETIMEDOUT);
}

bool judge_packet_loss(const struct judge_in *in, struct diagnosis *d)
{
	const struct engine_config *cfg = in->cfg;
	const struct flow *f = in->f;
	__u32 retrans, ratio_retrans, srtt_us, peak_us, mean_us, min_rtt_us = 0;
	bool inflated;

	if (!(f->flags & FF_ESTABLISHED) || maybe_blackhole(cfg, f) || timing_out(f))
		return false;
	if (f->flags & (FF_SCANNED | FF_TOTALS)) {
		/*
		 * Judge the ratio on one snapshot's numbers: its retransmit
		 * count and its data segment count cover the same span (from
		 * the open, even if we started later). tcpi_total_retrans
		 * counts the handshake's retransmits too: take them out.
		 */
		__u32 handshake = f->syn_retrans + f->synack_retrans;

		ratio_retrans = f->total_retrans > handshake ?
				f->total_retrans - handshake : 0;
		retrans = f->retrans > ratio_retrans ? f->retrans : ratio_retrans;
		/* A retransmit the peer's DSACK says it already had lost
		 * nothing: a delay (a slow host, an RTT spike) fired it. */
		ratio_retrans -= f->dsack_dups < ratio_retrans ? f->dsack_dups : ratio_retrans;
		/* A segment a queue here dropped was lost as surely, and the
		 * sender may not retransmit it (it saw the drop: no loss). */
		if (f->qdisc_drops > ratio_retrans)
			ratio_retrans = f->qdisc_drops;
		/* Retransmits reported since that snapshot have no share in
		 * its data count: they wait for the next one. */
		if (ratio_retrans < cfg->loss_min_retrans || !f->data_segs_out || !loss_settled(f) ||
		    (__u64)ratio_retrans * 100 < (__u64)cfg->loss_pct * f->data_segs_out)
			return loss_inbound(in, d);
		srtt_us = f->srtt_us;
		min_rtt_us = f->min_rtt_us;
	} else {
		/* No snapshot: an open flow gets one within an interval, so
		 * wait for the ratio; a flow already closed never will. */
		retrans = f->retrans;
		ratio_retrans = retrans > f->qdisc_drops ? retrans : f->qdisc_drops;
		if (!(f->flags & FF_CLOSED) || ratio_retrans < cfg->loss_min_retrans)
			return loss_inbound(in, d);
		srtt_us = f->ev_srtt_us;
	}
	/*
	 * srtt far above the path's minimum while the flow sent: packets
	 * wait in a queue that overflows, the mark of congestion. A flat RTT
	 * with loss is a lossy link or a policer: random loss. On a
	 * sub-millisecond path a scheduling hiccup (a busy host) multiplies
	 * the RTT too: the queue must add QUEUE_MIN_US as well, and on
	 * average over the snapshots, not at one (a slow 6.1 guest's random
	 * loss showed srtt 7.1 ms once over a 0.06 ms path; a queue holds
	 * it there as long as the flow sends).
	 */
	if (f->srtt_peak_us > srtt_us)
		peak_us = f->srtt_peak_us;
	else
		peak_us = srtt_us;
	mean_us = f->srtt_sends ? (__u32)(f->srtt_sum_us / f->srtt_sends) : peak_us;
	inflated = min_rtt_us && mean_us > 2 * min_rtt_us && mean_us - min_rtt_us >= QUEUE_MIN_US;

	evidence_add(d, "retransmits", retrans);
	if ((f->flags & (FF_SCANNED | FF_TOTALS)) && f->data_segs_out) {
		evidence_add(d, "data_segs_out", f->data_segs_out);
		evidence_add(d, "loss_permille",
			     (long long)ratio_retrans * 1000 / f->data_segs_out);
	}
	evidence_add(d, "rto_retrans", f->rto_retrans);
	evidence_add(d, "fast_retrans", f->fast_retrans);
	evidence_add(d, "tlp_retrans", f->tlp_retrans);
	/* The peer's DSACKs: retransmits it had already (reordering, an
	 * RTO too short): no loss, as many of them. */
	evidence_add(d, "spurious_retrans", f->dsack_dups < retrans ? f->dsack_dups : retrans);
	evidence_add(d, "srtt_ms", srtt_us / 1000);
	evidence_add(d, "srtt_peak_ms", peak_us / 1000);
	evidence_add(d, "min_rtt_ms", min_rtt_us / 1000);
	/* Under a millisecond, the microseconds say whether it moved. */
	evidence_add(d, "srtt_peak_us", peak_us);
	evidence_add(d, "srtt_mean_us", mean_us);
	evidence_add(d, "min_rtt_us", min_rtt_us);
	evidence_add(d, "rtt_inflated", inflated);
	if (f->qdisc_drops) {
		evidence_add(d, "qdisc_drops", f->qdisc_drops);
		evidence_add(d, "lost_segments", ratio_retrans);
	}
	return true;
}

/*
 * Timeouts in a row that loss alone would hardly make. Each after the
 * first is a retransmission lost again: on a path that lost a share p of
 * the segments while it still worked, k timeouts in a row happen by chance
 * with p^(k-1). A clean path needs loss_min_retrans of them; a lossy one
 * more, until that chance is under one in a thousand (10% loss: 4, 20%:
 * 5), so a stream through heavy loss is PACKET_LOSS, not a dead peer.
 */
#define RTO_CHANCE_MAX	1e-3

static __u32 rto_in_a_row_needed(const struct engine_config *cfg, const struct flow *f,
				 __u32 *loss_permille)
{
	__u32 handshake = f->syn_retrans + f->synack_retrans, k = 1;
	__u32 retrans = f->retrans_at_progress > handshake ?
			f->retrans_at_progress - handshake : 0;
	double p = 0, chance = 1;

	if (f->segs_at_progress)
		p = (double)retrans / f->segs_at_progress;
	/* A path that loses half of everything is no path: cap the wait. */
	if (p > 0.5)
		p = 0.5;
	*loss_permille = (__u32)(p * 1000);
	while (k < cfg->loss_min_retrans || chance > RTO_CHANCE_MAX) {
		chance *= p;
		k++;
	}
	return k;
}

/*
 * The peer acknowledges nothing: retransmission timeouts in a row
 * (icsk_retransmits), nothing acknowledged for the threshold. The peer's
 * host is down, a middlebox forgot the connection, or the path went black.
 * Said while the kernel still retries, with when it will give up; or at
 * the close, when the kernel gave up first (a short TCP_USER_TIMEOUT) or
 * keepalive found the peer gone.
 */
bool judge_connection_timeout(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	__u64 since, silent, timeout;
	__u32 needed, loss_permille;

	/* This host's own stack dropping what came back is LOCAL_DROP's. */
	if (!(f->flags & FF_ESTABLISHED) || pmtu_blackhole(in->cfg, f) ||
	    (f->drops_in && flow_dropped_here(f)))
		return false;
	if (f->flags & FF_CLOSED) {
		if (f->app_error != ETIMEDOUT || ((f->flags & FF_SCANNED) && !f->snd_wnd))
			return false;
		return judge_connection_timed_out(in, d);
	}
	/* A shut window is probed, not retransmitted: ZERO_WINDOW's. */
	if (!in->scan_current || !state_may_send(f->state) || f->snd_una == f->snd_nxt ||
	    !f->snd_wnd)
		return false;
	needed = rto_in_a_row_needed(in->cfg, f, &loss_permille);
	if (f->rto_count < needed)
		return false;
	/* Since the peer's latest ACK, or since the data it has not
	 * acknowledged first left, if that is later (an idle connection's
	 * latest ACK is old news). */
	since = f->rtx_start_ns > f->last_ack_ns ? f->rtx_start_ns : f->last_ack_ns;
	if (!since)
		since = f->una_stuck_since_ns;
	silent = since ? elapsed(since, f->last_scan_ns) : 0;
	if (silent < in->cfg->stall_ns)
		return false;
	timeout = flow_kernel_timeout_ms(f);
	evidence_add(d, "rto_in_a_row", f->rto_count);
	evidence_add(d, "no_ack_ms", ns_to_ms(silent));
	evidence_add(d, "unacked_bytes", seq_span(f->snd_nxt, f->snd_una));
	evidence_add(d, "rto_ms", f->rto_ms);
	evidence_add(d, "retries2", f->retries2);
	if (f->user_timeout_ms)
		evidence_add(d, "user_timeout_ms", f->user_timeout_ms);
	/* A lossy path had to time out more often to be told. */
	if (loss_permille)
		evidence_add(d, "loss_permille_before", loss_permille);
	if (timeout && f->rtx_start_ns) {
		__u64 give_up = f->rtx_start_ns + timeout * NSEC_PER_MSEC;

		evidence_add(d, "kernel_timeout_ms", (long long)timeout);
		evidence_add(d, "gives_up_in_ms",
			     ns_to_ms(give_up > f->last_scan_ns ? give_up - f->last_scan_ns : 0));
	}
	return true;
}

/* The kernel gave up (the application got ETIMEDOUT): the end of a
 * CONNECTION_TIMEOUT, or all of it when it came before the threshold. */
bool judge_connection_timed_out(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	__u64 end = f->app_error_ns ? f->app_error_ns : f->closed_ns;

	if (!(f->flags & FF_CLOSED) || f->app_error != ETIMEDOUT)
		return false;
	evidence_add(d, "timed_out", 1);
	evidence_add(d, "rto_in_a_row", f->rto_count);
	evidence_add(d, "retries2", f->retries2);
	if (f->user_timeout_ms)
		evidence_add(d, "user_timeout_ms", f->user_timeout_ms);
	if (f->rtx_start_ns)
		evidence_add(d, "gave_up_after_ms", ns_to_ms(elapsed(f->rtx_start_ns, end)));
	else if (f->probes_out)
		evidence_add(d, "keepalive_probes", f->probes_out);
	d->app_error = ETIMEDOUT;
	return true;
}
