// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Judges of resets on an established connection: the peer's, and this
 * host's own (a close with unread data, a linger-0 abort, a process that
 * died with its connections open, data after the application closed). A
 * refused SYN is the handshake's.
 *
 * Each carries what the reset cut off: bytes never sent, bytes never read,
 * a request pending. None of those is the usual end of a pooled connection
 * or a health check (SO_LINGER 0 after a complete exchange): the catalogue
 * makes such a reset a note, not an error.
 */
#include <errno.h>
#include "judge.h"

/* What the reset cut off, for the severity rule and the words. */
static void evidence_cut_off(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	__u32 unread = f->flags & FF_RST_CUT ? f->rst_unread :
		       f->flags & FF_SCANNED ? flow_unread(f) : 0;

	evidence_add(d, "unsent_bytes", f->rst_unsent);
	evidence_add(d, "unread_bytes", unread);
	evidence_add(d, "request_pending", flow_reset_request_pending(f, in->side));
	if (f->flags & FF_START_KNOWN)
		evidence_add(d, "age_ms", ns_to_ms(elapsed(f->start_ns, f->rst_ns)));
	d->since_ns = f->rst_ns;
}

/*
 * A connection an exiting process closed (its own end or, on this host,
 * the other): its reset is that death's, if the death was a kill. The
 * exit's record may follow the closes: wait for it, or for the moment
 * to pass (an exit with no signal sends none).
 */
static bool death_settled(const struct judge_in *in)
{
	const struct flow *f = in->f;

	if (!(f->flags & (FF_EXIT_CLOSED | FF_PEER_EXIT_CLOSED)))
		return true;
	if (in->death && in->death->exit_ns)
		return true;
	return judge_settled(in, f->exit_close_ns);
}

/* Point at PROCESS_KILLED rather than tell the death again. */
static void evidence_killed(const struct judge_in *in, struct diagnosis *d)
{
	const struct death *dd = in->death;

	if (!death_killed(dd) || !(in->f->flags & (FF_EXIT_CLOSED | FF_PEER_EXIT_CLOSED)))
		return;
	evidence_add(d, "killed_pid", dd->pid);
	evidence_add(d, "killed_signal", dd->signal);
	evidence_add(d, "oom_killed", dd->oom_ns != 0);
	/* 1: the process here died; 0: the one at the other end (on this host). */
	evidence_add(d, "killed_here", !!(in->f->flags & FF_EXIT_CLOSED));
}

bool judge_peer_reset(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	__u64 acked = flow_data_acked(f);

	if (!(f->flags & FF_RST_RX) || !(f->flags & FF_ESTABLISHED))
		return false;
	/* tcp_receive_reset fires for this host's own aborts too: the
	 * reset it sends right after, or the NIC, says whose it was. */
	if (!judge_settled(in, f->rst_ns) || flow_reset_ours(f, in->cfg->nic_ingress) ||
	    !death_settled(in))
		return false;
	/* A connection shorter than a scan has only its close totals. */
	evidence_add(d, "bytes_sent", (long long)(f->bytes_sent > acked ? f->bytes_sent : acked));
	evidence_add(d, "bytes_received", (long long)flow_data_received(f));
	evidence_cut_off(in, d);
	/* Its FIN came first: it had closed, and refused what we wrote after. */
	if (f->rst_state == TT_TCP_CLOSE_WAIT || f->rst_state == TT_TCP_LAST_ACK ||
	    f->rst_state == TT_TCP_CLOSING)
		evidence_add(d, "after_peer_fin", 1);
	evidence_killed(in, d);
	/* tcp_reset() reports EPIPE in CLOSE_WAIT, ECONNRESET elsewhere. */
	d->app_error = f->app_error ? f->app_error : ECONNRESET;
	return true;
}

bool judge_local_reset(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	bool aborted = flow_reset_ours(f, in->cfg->nic_ingress);

	if (!(f->flags & (FF_RST_TX | FF_RST_RX)) || !(f->flags & FF_ESTABLISHED))
		return false;
	if (!(f->flags & FF_RST_TX) &&
	    (!judge_settled(in, f->rst_ns) || !aborted))
		return false;
	if (!death_settled(in))
		return false;
	/* An abort on data whose own reset we did not see (no reason, or
	 * the event lost) is still that abort. */
	evidence_add(d, "rst_reason", f->rst_reason ? f->rst_reason :
				      aborted ? TT_RST_ABORT_ON_DATA : 0);
	evidence_cut_off(in, d);
	/* The application gave up waiting and aborted: how long it waited
	 * ties this reset to the stall it ended (PEER_APP_STALL). */
	if (f->gave_up == GAVE_UP_LOCAL && (f->flags & FF_RST_TX))
		evidence_add(d, "gave_up_after_ms", f->gave_up_waited_ms);
	evidence_killed(in, d);
	return true;
}

/*
 * A reset is an error when it cut something off (data never sent or never
 * read, a request pending) or said the peer was gone or memory ran out;
 * otherwise it is how the connection was meant to end.
 */
enum diag_severity severity_of_reset(const struct diagnosis *d)
{
	long long reason = 0;

	diag_evidence_get(d, "rst_reason", &reason);
	if (reason == TT_RST_ABORT_ON_MEMORY || reason == TT_RST_KEEPALIVE_TIMEOUT ||
	    reason == TT_RST_ABORT_ON_CLOSE || reason == TT_RST_DISCONNECT_WITH_DATA)
		return SEV_ERROR;
	if (diag_evidence_get(d, "unsent_bytes", &reason) && reason)
		return SEV_ERROR;
	if (diag_evidence_get(d, "unread_bytes", &reason) && reason)
		return SEV_ERROR;
	if (diag_evidence_get(d, "request_pending", &reason) && reason)
		return SEV_ERROR;
	/* Without what it cut off (an older recording), as before: a fault. */
	if (!diag_evidence_get(d, "request_pending", NULL))
		return SEV_ERROR;
	return SEV_INFO;
}
