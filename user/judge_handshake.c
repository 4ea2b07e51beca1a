// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Judges of the three-way handshake: a SYN nobody answered, a SYN answered
 * by a reset (from the client's side, and from the server's: a port where
 * nothing listens).
 */
#include <errno.h>
#include "judge.h"

/* How long an unanswered SYN waits for an ICMP error before it is called
 * unanswered: a router's ARP/ND gives up after 3 s, then tells. */
#define SYN_ICMP_GRACE_NS	(3500 * NSEC_PER_MSEC)
/*
 * A connect the application abandons after this long had its SYN out for
 * the kernel's own first SYN timeout (1 s): a shorter attempt is a race
 * called off (Happy Eyeballs cancels the slower family after 250 ms).
 */
#define SYN_GIVE_UP_MIN_NS	(900 * NSEC_PER_MSEC)

bool judge_connection_refused(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	bool rst = f->rst_rx && f->rst_rx_state == TT_TCP_SYN_SENT;

	/* An ICMP port-unreachable also ends a connect with ECONNREFUSED,
	 * without a RST: the error report is the only trace of it. */
	if (!flow_in_syn_phase(f) || (!rst && f->app_error != ECONNREFUSED))
		return false;
	evidence_add(d, "syns_sent", 1 + f->syn_retrans);
	evidence_add(d, "rst_received", f->rst_rx);
	if (f->flags & FF_START_KNOWN)
		evidence_add(d, "connect_ms",
			     ns_to_ms(elapsed(f->start_ns,
					      f->rst_ns ? f->rst_ns : f->closed_ns)));
	d->side = TT_SIDE_CLIENT;
	d->app_error = ECONNREFUSED;
	/* When it knocked: a scan's reports span its first to last knock. */
	d->since_ns = f->start_ns;
	return true;
}

/*
 * The application closed its connect before the kernel retransmitted the
 * SYN much (a connect timeout of a second or two): nothing came back for
 * it, at the NIC where arrivals are counted, or by the kernel's own
 * timeout (a retransmitted SYN). A router's ICMP may still come after
 * the close: it gets the same time to arrive as for an open connect.
 */
static bool syn_given_up(const struct judge_in *in)
{
	const struct flow *f = in->f;
	bool nothing_back = f->syn_retrans >= 1 ||
			    (f->nic_seen && in->cfg->nic_ingress && f->nic_syn_out &&
			     !f->nic_pkts_in);

	return !f->app_error && (f->flags & FF_START_KNOWN) && nothing_back &&
	       elapsed(f->start_ns, f->closed_ns) >= SYN_GIVE_UP_MIN_NS &&
	       (in->final || elapsed(f->start_ns, in->now) >= SYN_ICMP_GRACE_NS);
}

bool judge_syn_unanswered(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;
	bool due, abandoned = false;

	if (!flow_in_syn_phase(f) || flow_syn_answered(f))
		return false;
	if (!(f->flags & FF_CLOSED)) {
		/* A router that cannot reach the host says so (ICMP host
		 * unreachable) only when its neighbour resolution gives up,
		 * 3 s on Linux: give that answer the time to arrive. */
		due = f->syn_retrans >= in->cfg->syn_retrans &&
		      elapsed(f->start_ns, in->now) >= SYN_ICMP_GRACE_NS;
	} else {
		/* The kernel gave up (ETIMEDOUT), or the application did
		 * after as many retransmits as we would have waited for,
		 * or after a connect timeout of its own. */
		due = (f->app_error == ETIMEDOUT && f->syn_retrans >= 1) ||
		      f->syn_retrans >= in->cfg->syn_retrans;
		if (!due)
			due = abandoned = syn_given_up(in);
	}
	if (!due)
		return false;
	evidence_add(d, "syns_sent", 1 + f->syn_retrans);
	evidence_add(d, "syn_retrans", f->syn_retrans);
	evidence_add(d, "waited_ms", ns_to_ms(elapsed(f->start_ns, flow_end(f, in->now))));
	if (abandoned)
		evidence_add(d, "app_gave_up", 1);
	if (f->nic_seen && in->cfg->nic_ingress) {
		/* The NIC saw them leave, and nothing of the flow come back. */
		evidence_add(d, "nic_syns_out", f->nic_syn_out);
		evidence_add(d, "nic_packets_in", f->nic_pkts_in);
	}
	d->side = TT_SIDE_CLIENT;
	return true;
}

bool judge_port_closed(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;

	if (!(f->flags & FF_PORT_CLOSED))
		return false;
	evidence_add(d, "syns_refused", f->syns_refused);
	evidence_add(d, "rst_sent", f->rst_tx);
	evidence_add(d, "client_syns", f->client_syns);
	d->side = TT_SIDE_SERVER;
	d->app_error = 0;
	/* The first SYN: a scan's reports span its first to last knock. */
	d->since_ns = f->start_ns;
	return true;
}

/* SYNs from one client address on a closed port that make it one that
 * needs the service, not a scanner passing by. */
#define PORT_CLOSED_CLIENT_RETRIES	3

enum diag_severity severity_of_port_closed(const struct diagnosis *d)
{
	long long syns = 0;

	/* Without the count (an older recording), as before: a fault. */
	if (!diag_evidence_get(d, "client_syns", &syns))
		return SEV_ERROR;
	return syns >= PORT_CLOSED_CLIENT_RETRIES ? SEV_ERROR : SEV_INFO;
}
