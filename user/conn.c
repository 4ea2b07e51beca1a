// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A connection's statistics, from its facts: at close, or as it goes. */
#include <errno.h>
#include <string.h>
#include "engine.h"

static const char *close_reason(const struct flow *f)
{
	if (!(f->flags & FF_CLOSED))
		return "open";
	if (f->rst_rx && f->rst_rx_state == TT_TCP_SYN_SENT)
		return "refused";
	if (f->flags & FF_RST_RX)
		return "reset_by_peer";
	if (f->flags & FF_RST_TX)
		return "reset_local";
	if (f->app_error == ETIMEDOUT)
		return "timeout";
	if (f->app_error == ECONNREFUSED)
		return "refused";
	if (f->app_error)
		return "error";
	if (!(f->flags & FF_ESTABLISHED))
		return "aborted";	/* closed while connecting */
	return "fin";
}

void conn_emit(struct engine *e, const struct flow_key *key,
	       const struct flow *f, __u64 now)
{
	struct conn_record c;

	/* A refused SYN or a dropped one made no connection to report. */
	if (!e->conn || (f->flags & FF_PORT_CLOSED) ||
	    (!f->n_states && !(f->flags & FF_SCANNED)))
		return;
	memset(&c, 0, sizeof(c));
	c.key = *key;
	c.side = f->side;
	c.pid = f->pid;
	memcpy(c.comm, f->comm, TT_COMM_LEN);
	c.cgroup_id = f->cgroup_id;
	c.start_ns = f->start_ns;
	c.start_known = f->flags & FF_START_KNOWN;
	c.open = !(f->flags & FF_CLOSED);
	c.ts_ns = c.open ? now : f->closed_ns;
	c.n_states = f->n_states;
	memcpy(c.states, f->states, sizeof(c.states));
	if (c.start_known && f->established_ns && f->side == TT_SIDE_CLIENT)
		c.connect_ns = elapsed(f->start_ns, f->established_ns);
	c.bytes_sent = flow_data_acked(f);
	c.bytes_received = flow_data_received(f);
	c.segs_out = f->segs_out;
	c.segs_in = f->segs_in;
	c.data_segs_out = f->data_segs_out;
	c.data_segs_in = f->data_segs_in;
	/* Like the loss judge: the socket's own count covers its whole life
	 * (also before we started, or events we lost), less the handshake. */
	c.retrans = f->total_retrans > f->syn_retrans + f->synack_retrans ?
		    f->total_retrans - f->syn_retrans - f->synack_retrans : 0;
	if (f->retrans > c.retrans)
		c.retrans = f->retrans;
	c.retrans_rto = f->rto_retrans;
	c.retrans_fast = f->fast_retrans;
	c.syn_retrans = f->syn_retrans;
	c.srtt_us = f->srtt_us ? f->srtt_us : f->ev_srtt_us;
	c.min_rtt_us = f->min_rtt_us;
	c.rst_rx = f->rst_rx;
	c.rst_tx = f->rst_tx;
	c.app_error = f->app_error;
	c.close_reason = close_reason(f);
	c.codes = f->reported;
	c.events_lost = e->lost_total > 0;
	e->conn(&c, e->conn_ctx);
}
