// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Judges of lost segments: loss the flow recovers from (PACKET_LOSS), and
 * a path MTU black hole, where full-size segments never get through.
 */
#include "judge.h"

/* How long the peer must have acknowledged nothing before full-size
 * retransmits without progress are a black hole. */
#define PMTU_STUCK_NS	NSEC_PER_SEC

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

bool judge_packet_loss(const struct judge_in *in, struct diagnosis *d)
{
	const struct engine_config *cfg = in->cfg;
	const struct flow *f = in->f;
	__u32 retrans, ratio_retrans, srtt_us, min_rtt_us = 0;
	bool inflated;

	if (!(f->flags & FF_ESTABLISHED) || maybe_blackhole(cfg, f))
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
		/* A segment a queue here dropped was lost as surely, and the
		 * sender may not retransmit it (it saw the drop: no loss). */
		if (f->qdisc_drops > ratio_retrans)
			ratio_retrans = f->qdisc_drops;
		/* Retransmits reported since that snapshot have no share in
		 * its data count: they wait for the next one. */
		if (ratio_retrans < cfg->loss_min_retrans || !f->data_segs_out ||
		    (__u64)ratio_retrans * 100 < (__u64)cfg->loss_pct * f->data_segs_out)
			return false;
		srtt_us = f->srtt_us;
		min_rtt_us = f->min_rtt_us;
	} else {
		/* No snapshot: an open flow gets one within an interval, so
		 * wait for the ratio; a flow already closed never will. */
		retrans = f->retrans;
		ratio_retrans = retrans > f->qdisc_drops ? retrans : f->qdisc_drops;
		if (!(f->flags & FF_CLOSED) || ratio_retrans < cfg->loss_min_retrans)
			return false;
		srtt_us = f->ev_srtt_us;
	}
	/* srtt far above the path's minimum: packets wait in a queue, the
	 * mark of congestion rather than of a lossy link. */
	inflated = min_rtt_us && srtt_us > 2 * min_rtt_us;

	evidence_add(d, "retransmits", retrans);
	if ((f->flags & (FF_SCANNED | FF_TOTALS)) && f->data_segs_out) {
		evidence_add(d, "data_segs_out", f->data_segs_out);
		evidence_add(d, "loss_permille",
			     (long long)ratio_retrans * 1000 / f->data_segs_out);
	}
	evidence_add(d, "rto_retrans", f->rto_retrans);
	evidence_add(d, "fast_retrans", f->fast_retrans);
	evidence_add(d, "srtt_ms", srtt_us / 1000);
	evidence_add(d, "min_rtt_ms", min_rtt_us / 1000);
	evidence_add(d, "rtt_inflated", inflated);
	if (f->qdisc_drops) {
		evidence_add(d, "qdisc_drops", f->qdisc_drops);
		evidence_add(d, "lost_segments", ratio_retrans);
	}
	return true;
}
