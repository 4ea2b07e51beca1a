// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Judges of resets on an established connection: the peer's, and this
 * host's own (a close with unread data, a linger-0 abort, a process that
 * died with its connections open). A refused SYN is the handshake's.
 */
#include <errno.h>
#include "judge.h"

bool judge_peer_reset(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	__u64 acked = flow_data_acked(f);

	if (!(f->flags & FF_RST_RX) || !(f->flags & FF_ESTABLISHED))
		return false;
	/* A connection shorter than a scan has only its close totals. */
	evidence_add(d, "bytes_sent", (long long)(f->bytes_sent > acked ? f->bytes_sent : acked));
	evidence_add(d, "bytes_received", (long long)flow_data_received(f));
	if (f->flags & FF_START_KNOWN)
		evidence_add(d, "age_ms", ns_to_ms(elapsed(f->start_ns, f->rst_ns)));
	/* tcp_reset() reports EPIPE in CLOSE_WAIT, ECONNRESET elsewhere. */
	d->app_error = f->app_error ? f->app_error : ECONNRESET;
	return true;
}

bool judge_local_reset(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;

	if (!(f->flags & FF_RST_TX) || !(f->flags & FF_ESTABLISHED))
		return false;
	evidence_add(d, "rst_reason", f->rst_reason);
	if (f->flags & FF_SCANNED)
		evidence_add(d, "unread_bytes", flow_unread(f));
	if (f->flags & FF_START_KNOWN)
		evidence_add(d, "age_ms", ns_to_ms(elapsed(f->start_ns, f->rst_ns)));
	return true;
}
