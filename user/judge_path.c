// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Judges of the path: no route (here, or at a router that says so), a
 * host a router cannot reach, a firewall that rejects with ICMP, a NAT
 * that answers from another address than we called.
 *
 * Over IPv4 the application sees EHOSTUNREACH for host unreachable,
 * administratively prohibited and net unreachable alike; the type and
 * code the NIC saw tell them apart, and the sender names the router.
 */
#include <errno.h>
#include "drop_reason.h"
#include "judge.h"

/*
 * A router says host unreachable when its ARP (ND) for the host went
 * unanswered, which takes seconds (3 probes a second apart by default,
 * never under one); sooner than that, it never asked: its own route table
 * rejects the address (an unreachable route, or a reject rule saying
 * host-unreachable). Measured from our first SYN.
 */
#define NEIGH_GIVE_UP_MIN_NS	NSEC_PER_SEC

/* How long after our first SYN the latest ICMP error came; -1: not known
 * (without interface hooks, from when the application got the error). */
static long long icmp_after_ms(const struct flow *f)
{
	if (f->nic_seen && f->icmp_after_ms >= 0)
		return f->icmp_after_ms;
	if (!f->nic_seen && f->app_error_ns && (f->flags & FF_START_KNOWN))
		return ns_to_ms(elapsed(f->start_ns, f->app_error_ns));
	return -1;
}

static bool icmp_at_once(const struct flow *f)
{
	long long ms = icmp_after_ms(f);

	return ms >= 0 && ms * NSEC_PER_MSEC < NEIGH_GIVE_UP_MIN_NS;
}

/* Which diagnosis the ICMP errors quoting our SYN make, and how many of
 * them say it; the most specific kind wins. */
static enum diag_code icmp_code(const struct flow *f, __u32 *count)
{
	if (f->icmp[NIC_ICMP_ADMIN_PROHIBITED]) {
		*count = f->icmp[NIC_ICMP_ADMIN_PROHIBITED];
		return DIAG_FIREWALL_REJECT;
	}
	if (f->icmp[NIC_ICMP_HOST_UNREACH] || f->icmp[NIC_ICMP_UNREACH_OTHER]) {
		*count = f->icmp[NIC_ICMP_HOST_UNREACH] + f->icmp[NIC_ICMP_UNREACH_OTHER];
		return icmp_at_once(f) ? DIAG_NO_ROUTE : DIAG_HOST_UNREACHABLE;
	}
	if (f->icmp[NIC_ICMP_NET_UNREACH]) {
		*count = f->icmp[NIC_ICMP_NET_UNREACH];
		return DIAG_NO_ROUTE;
	}
	/* TTL expired on the way: a routing loop, a route problem too. */
	*count = f->icmp[NIC_ICMP_TIME_EXCEEDED];
	return DIAG_NO_ROUTE;
}

/* The diagnosis of an ICMP error known only from the error it gave the
 * application (EHOSTUNREACH at once: a route, as above). */
static enum diag_code app_error_code(const struct flow *f)
{
	int err = f->app_error;

	return err == ENETUNREACH ? DIAG_NO_ROUTE :
	       err == EACCES ? DIAG_FIREWALL_REJECT :
	       icmp_at_once(f) ? DIAG_NO_ROUTE : DIAG_HOST_UNREACHABLE;
}

/* An ICMP error quoting our SYN: a router (or the host) said why. */
static bool judge_icmp(const struct judge_in *in, struct diagnosis *d,
		       enum diag_code code)
{
	const struct flow *f = in->f;
	__u32 count;

	if (!flow_in_syn_phase(f))
		return false;
	d->side = TT_SIDE_CLIENT;
	if (!flow_icmp_unreach(f)) {
		/* No NIC view, but the kernel ended the connect on an ICMP
		 * error: say what the application saw, without the router. */
		if (!(f->flags & FF_CLOSED) || !flow_app_error_unreachable(f) ||
		    f->nic_seen || app_error_code(f) != code)
			return false;
		evidence_add(d, "icmp_errors", 0);
		evidence_add(d, "syns_sent", 1 + f->syn_retrans);
		if (icmp_after_ms(f) >= 0)
			evidence_add(d, "icmp_after_ms", icmp_after_ms(f));
		return true;
	}
	if (icmp_code(f, &count) != code)
		return false;
	if (code == DIAG_NO_ROUTE && f->icmp[NIC_ICMP_HOST_UNREACH] + f->icmp[NIC_ICMP_UNREACH_OTHER])
		evidence_add(d, "icmp_host_unreach", count);
	else if (code == DIAG_NO_ROUTE && !f->icmp[NIC_ICMP_NET_UNREACH])
		evidence_add(d, "icmp_time_exceeded", count);
	evidence_add(d, "icmp_errors", count);
	evidence_add(d, "syns_sent", 1 + f->syn_retrans);
	evidence_add(d, "nic_syns_out", f->nic_syn_out);
	if (icmp_after_ms(f) >= 0)
		evidence_add(d, "icmp_after_ms", icmp_after_ms(f));
	verdict_responder(d, f->icmp_from, 0);
	return true;
}

/* This host dropped the flow's segments for want of a route out
 * (IP_OUTNOROUTES), or a router said it has none. */
bool judge_no_route(const struct judge_in *in, struct diagnosis *d)
{
	return judge_dropped_here(in, d, DROP_NO_ROUTE) ||
	       judge_icmp(in, d, DIAG_NO_ROUTE);
}

/*
 * The route lookup in connect() refused before TCP's state machine ran:
 * no socket state, no packet. Each failed call is its own occurrence,
 * with no flow (the local port is not even chosen yet: every attempt
 * shares a key).
 */
bool judge_connect_no_route(const struct tt_event *ev, struct diagnosis *d)
{
	if (ev->type != EV_CONNECT_ERR ||
	    (ev->err != ENETUNREACH && ev->err != EHOSTUNREACH))
		return false;
	evidence_add(d, "packets_sent", 0);
	d->side = TT_SIDE_CLIENT;
	d->app_error = ev->err;
	return true;
}

bool judge_host_unreachable(const struct judge_in *in, struct diagnosis *d)
{
	return judge_icmp(in, d, DIAG_HOST_UNREACHABLE);
}

bool judge_firewall_reject(const struct judge_in *in, struct diagnosis *d)
{
	return judge_icmp(in, d, DIAG_FIREWALL_REJECT);
}

/* Our SYN went to one address, the SYN-ACK came back from another. */
bool judge_nat_mismatch(const struct judge_in *in, struct diagnosis *d)
{
	const struct flow *f = in->f;

	if (!f->nat_mismatch || !flow_in_syn_phase(f))
		return false;
	evidence_add(d, "syns_sent", 1 + f->syn_retrans);
	evidence_add(d, "stray_synacks", f->nat_synacks);
	evidence_add(d, "reply_rport", f->nat_rport);
	verdict_responder(d, f->nat_raddr, f->nat_rport);
	d->side = TT_SIDE_CLIENT;
	return true;
}
