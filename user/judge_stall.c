// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Judges of absence: an answer that does not come, data nobody reads, a
 * window that stays shut. No event marks these; the socket snapshots do,
 * and they measure time up to the last scan, not to now: what happened
 * after it is not known yet. A request given up on is the exception: its
 * close is the evidence, and it is told after the flow's last scan too.
 */
#include "judge.h"

/*
 * A close this soon after the request is no giving up: a client that
 * writes and closes without waiting for an answer (one-way) does it at
 * once, and a timeout this short is rare.
 */
#define GIVE_UP_MIN_MS	200

/*
 * An application stopped waiting for an answer and closed. Told once the
 * story is known: the answer came after all, or the flow's judging ends,
 * or the threshold passed without it.
 */
static bool gave_up(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;

	if (f->gave_up_waited_ms < GIVE_UP_MIN_MS || !f->gave_up_bytes ||
	    f->gave_up_bytes > in->cfg->request_max_bytes)
		return false;
	if (!f->late_answer_ns && !in->final &&
	    elapsed(f->gave_up_ns, in->now) < in->cfg->stall_ns)
		return false;
	evidence_add(d, "request_bytes", (long long)f->gave_up_bytes);
	evidence_add(d, "gave_up_after_ms", f->gave_up_waited_ms);
	/* It closed with SO_LINGER 0: the reset is judged on its own
	 * (LOCAL_RESET, a pending request cut off). */
	if (f->gave_up == GAVE_UP_LOCAL && (f->flags & FF_RST_TX))
		evidence_add(d, "closed_with_reset", 1);
	evidence_add(d, "answered_late", f->late_answer_ns != 0);
	if (f->late_answer_ns)
		evidence_add(d, "answer_after_ms",
			     ns_to_ms(elapsed(f->gave_up_ns, f->late_answer_ns)));
	if (f->srtt_us)
		evidence_add(d, "srtt_ms", f->srtt_us / 1000);
	d->app_error = 0;
	return true;
}

bool judge_peer_app_stall(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	__u64 waited = elapsed(f->last_send_ns, f->last_scan_ns);

	if (in->side != TT_SIDE_CLIENT)
		return false;
	if (f->gave_up == GAVE_UP_LOCAL)
		return gave_up(in, d);
	/* Our request was delivered: everything written is sent and ACKed,
	 * so the peer's TCP has it and its application owes the answer. */
	if (!in->scan_current || f->state != TT_TCP_ESTABLISHED ||
	    f->turn != TURN_PEER || f->snd_una != f->snd_nxt ||
	    f->snd_nxt != f->write_seq)
		return false;
	/* A bigger burst is a one-way stream, which owes no answer. */
	if (!f->turn_bytes || f->turn_bytes > in->cfg->request_max_bytes)
		return false;
	/* So is a flow whose writes never wait for one, or any flow of a
	 * service whose clients only ever push (logs, metrics). */
	if ((f->flags & FF_ONE_WAY_OUT) || endpoint_one_way(in->endpoint))
		return false;
	if (waited < in->cfg->stall_ns)
		return false;
	evidence_add(d, "request_bytes", (long long)f->turn_bytes);
	if (f->turn_bytes_mean)
		evidence_add(d, "request_bytes_mean", 1);
	evidence_add(d, "waited_ms", ns_to_ms(waited));
	evidence_add(d, "srtt_ms", f->srtt_us / 1000);
	d->app_error = 0;
	d->since_ns = f->last_send_ns;
	return true;
}

bool judge_local_app_stall(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	__u32 unread = flow_unread(f);

	d->app_error = 0;
	if (in->side == TT_SIDE_SERVER && f->gave_up == GAVE_UP_PEER)
		return gave_up(in, d);
	if (!in->scan_current)
		return false;
	/* Not reading: data waits in the receive queue, copied_seq still. */
	if (unread && f->unread_since_ns &&
	    (f->state == TT_TCP_ESTABLISHED || f->state == TT_TCP_CLOSE_WAIT) &&
	    elapsed(f->unread_since_ns, f->last_scan_ns) >= in->cfg->stall_ns) {
		evidence_add(d, "unread_bytes", unread);
		evidence_add(d, "rcv_wnd", f->rcv_wnd);
		evidence_add(d, "not_read_ms",
			     ns_to_ms(elapsed(f->unread_since_ns, f->last_scan_ns)));
		d->since_ns = f->unread_since_ns;
		return true;
	}

	/* Not answering: the request was read, nothing went back. */
	if (in->side != TT_SIDE_SERVER || f->state != TT_TCP_ESTABLISHED ||
	    f->turn != TURN_LOCAL || unread)
		return false;
	if (!f->turn_bytes || f->turn_bytes > in->cfg->request_max_bytes)
		return false;
	/* What a client pushes one way asks for nothing. */
	if ((f->flags & FF_ONE_WAY_IN) || endpoint_one_way(in->endpoint))
		return false;
	if (elapsed(f->last_recv_ns, f->last_scan_ns) < in->cfg->stall_ns)
		return false;
	evidence_add(d, "request_bytes", (long long)f->turn_bytes);
	if (f->turn_bytes_mean)
		evidence_add(d, "request_bytes_mean", 1);
	evidence_add(d, "waited_ms", ns_to_ms(elapsed(f->last_recv_ns, f->last_scan_ns)));
	d->since_ns = f->last_recv_ns;
	return true;
}

bool judge_zero_window(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	__u64 shut;

	/* Before the handshake snd_wnd is 0 and the SYN is unacked: only a
	 * synchronized flow's window means anything. */
	if (!(f->flags & FF_ESTABLISHED) || !state_may_send(f->state) ||
	    f->snd_wnd || !f->zero_wnd_since_ns || f->write_seq == f->snd_una)
		return false;
	shut = elapsed(f->zero_wnd_since_ns, f->last_scan_ns);
	if (shut < in->cfg->stall_ns)
		return false;
	evidence_add(d, "zero_window_ms", ns_to_ms(shut));
	evidence_add(d, "unsent_bytes", seq_span(f->write_seq, f->snd_una));
	evidence_add(d, "probes", f->probes_out);
	d->app_error = 0;
	d->since_ns = f->zero_wnd_since_ns;
	return true;
}
