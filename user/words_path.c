// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The words of the path: no route, an unreachable host, a rejecting
 * firewall, a NAT answering from elsewhere. The ICMP verdicts name the
 * router that said it (w->reason); without interface hooks they are
 * known only from the error the application saw.
 */
#include <errno.h>
#include <stdio.h>
#include "words.h"

/* ICMP-based verdicts: w->reason holds the address of the router that said it. */
static void icmp_checks(const struct words_names *n, struct diag_words *w)
{
	words_check(w, "traceroute%s -T -p %u %s", n->v6 ? " -6" : "", n->rport, n->raddr);
	if (w->reason[0])
		words_check(w, "on %s: ip route get %s", w->reason, n->raddr);
	words_check(w, "ip route get %s", n->raddr);
}

/* The kernel ended the connect on an ICMP error the tracer did not see. */
static bool icmp_unnamed(const struct diagnosis *d, const struct words_names *n,
			 struct diag_words *w, const char *what)
{
	if (w->reason[0])
		return false;
	words_summary(w, "the connect to %s ended on an ICMP %s error (the application "
		      "saw %s); without interface hooks the router that sent it is "
		      "not known", n->rend, what, words_errno(d->app_error));
	words_cause(w, "a router on the path, or %s itself, answered the SYN with "
		    "ICMP %s (1, 2, 3)", n->raddr, what);
	icmp_checks(n, w);
	return true;
}

/* ", 3ms after our SYN" where the tracer timed it. */
static const char *icmp_when(const struct diagnosis *d, char *buf, size_t len)
{
	char t[32];

	if (diag_evidence_get(d, "icmp_after_ms", NULL))
		snprintf(buf, len, ", %s after our first SYN",
			 words_duration(words_ev(d, "icmp_after_ms", 0), t, sizeof(t)));
	else
		buf[0] = '\0';
	return buf;
}

/* Host unreachable before any ARP/ND could have given up. */
static void no_route_host_unreach(const struct diagnosis *d, const struct words_names *n,
				  struct diag_words *w)
{
	char t[32], when[64];

	if (!w->reason[0]) {
		words_summary(w, "the connect to %s ended on an ICMP unreachable error "
			      "(the application saw %s)%s, too soon for a router's ARP/ND "
			      "to have given up: a route table rejects %s (no interface "
			      "hooks: the router is not known)", n->rend,
			      words_errno(d->app_error), icmp_when(d, when, sizeof(when)),
			      n->raddr);
	} else {
		words_summary(w, "router %s answered our SYN to %s with ICMP host "
			      "unreachable (%s)%s, too soon for an ARP/ND attempt (that "
			      "takes seconds): its own route table rejects %s",
			      w->reason, n->rend,
			      words_times(words_ev(d, "icmp_errors", 1), t, sizeof(t)),
			      icmp_when(d, when, sizeof(when)), n->raddr);
	}
	words_cause(w, "%s has a route of type unreachable (a null route) for %s, "
		    "or a policy rule selects one (2)", w->reason[0] ? w->reason : "a router",
		    n->raddr);
	words_cause(w, "a firewall there rejects with icmp host-unreachable (1)");
	icmp_checks(n, w);
	if (w->reason[0])
		words_check(w, "on %s: ip route show type unreachable", w->reason);
}

static void no_route_icmp(const struct diagnosis *d, const struct words_names *n,
			  struct diag_words *w)
{
	char t[32];

	if (diag_evidence_get(d, "icmp_host_unreach", NULL) ||
	    (!w->reason[0] && d->app_error == EHOSTUNREACH)) {
		no_route_host_unreach(d, n, w);
		return;
	}
	if (icmp_unnamed(d, n, w, "network unreachable"))
		return;
	if (diag_evidence_get(d, "icmp_time_exceeded", NULL)) {
		words_summary(w, "router %s answered our SYN to %s with ICMP time "
			      "exceeded (%s): the SYN looped until its TTL ran out",
			      w->reason, n->rend,
			      words_times(words_ev(d, "icmp_errors", 1), t, sizeof(t)));
		words_cause(w, "a routing loop between %s and its neighbours: each sends "
			    "%s's traffic back to the other (2)", w->reason, n->raddr);
		icmp_checks(n, w);
		return;
	}
	words_summary(w, "router %s answered our SYN to %s with ICMP network "
		      "unreachable (%s): it has no route to %s",
		      w->reason, n->rend,
		      words_times(words_ev(d, "icmp_errors", 1), t, sizeof(t)), n->raddr);
	words_cause(w, "router %s lacks a route to %s's network, or the route there "
		    "is of type unreachable (2)", w->reason, n->raddr);
	words_cause(w, "a link or peering past %s is down (2)", w->reason);
	icmp_checks(n, w);
}

static void no_route_here(const struct diagnosis *d, const struct words_names *n,
			  struct diag_words *w)
{
	if (diag_evidence_get(d, "drop_reason", NULL))
		words_summary(w, "this host dropped %lld segment%s to %s for want of a "
			      "route (%s)", words_ev(d, "drops_outbound", 0) + words_ev(d, "drops_inbound", 0),
			      words_ev(d, "drops_outbound", 0) + words_ev(d, "drops_inbound", 0) == 1 ? "" : "s",
			      n->rend, w->reason[0] ? w->reason : "no route");
	else
		words_summary(w, "connect() to %s failed at once with %s: this host has no "
			      "usable route to %s, no packet left", n->rend,
			      words_errno(d->app_error), n->raddr);
	words_cause(w, "the routing table has no route to %s: a missing default "
		    "route or subnet route (2)", n->raddr);
	words_cause(w, "the route to %s is of type unreachable, prohibit or "
		    "blackhole, or a policy rule selects such a table (2)", n->raddr);
	words_cause(w, "the interface that route uses is down or lost its address");
	words_check(w, "ip route get %s", n->raddr);
	words_check(w, "ip %sroute show", n->v6 ? "-6 " : "");
	words_check(w, "ip rule show");
	words_check(w, "ip -br addr");
}

void words_no_route(const struct diagnosis *d, const struct words_names *n,
		    struct diag_words *w)
{
	if (diag_evidence_get(d, "icmp_errors", NULL))
		no_route_icmp(d, n, w);
	else
		no_route_here(d, n, w);
}

void words_host_unreachable(const struct diagnosis *d, const struct words_names *n,
			    struct diag_words *w)
{
	char t[32], when[64];

	if (icmp_unnamed(d, n, w, "host unreachable"))
		return;
	words_summary(w, "router %s answered our SYN to %s with ICMP host "
		      "unreachable (%s)%s: the last hop could not reach %s%s",
		      w->reason, n->rend,
		      words_times(words_ev(d, "icmp_errors", 1), t, sizeof(t)),
		      icmp_when(d, when, sizeof(when)), n->raddr,
		      diag_evidence_get(d, "icmp_after_ms", NULL) ?
		      " (its ARP/ND for it went unanswered)" : "");
	words_cause(w, "%s is down, or not on its subnet any more (no ARP/ND answer "
		    "to router %s) (3)", n->raddr, w->reason);
	words_cause(w, "the address is wrong: nothing was ever at %s (3)", n->raddr);
	icmp_checks(n, w);
	words_check(w, "on %s: ip neigh show %s", w->reason, n->raddr);
}

void words_firewall_reject(const struct diagnosis *d, const struct words_names *n,
			   struct diag_words *w)
{
	char t[32];

	if (icmp_unnamed(d, n, w, "administratively prohibited"))
		return;
	words_summary(w, "%s answered our SYN to %s with ICMP administratively "
		      "prohibited (%s): a firewall there rejects tcp/%u",
		      w->reason, n->rend,
		      words_times(words_ev(d, "icmp_errors", 1), t, sizeof(t)), n->rport);
	words_cause(w, "a firewall rule on %s (or on %s itself) rejects tcp/%u "
		    "from this host (1)", w->reason, n->raddr, n->rport);
	words_cause(w, "a security group or ACL denies this source (1)");
	words_check(w, "on %s: nft list ruleset | grep -n -w %u", w->reason, n->rport);
	words_check(w, "on %s: nft list ruleset | grep -n reject", w->reason);
	icmp_checks(n, w);
}

void words_nat_mismatch(const struct diagnosis *d, const struct words_names *n,
			struct diag_words *w)
{
	char t[32];

	words_summary(w, "our SYN went to %s but the SYN-ACK came back from %s "
		      "(%s): a NAT translated one way and not the other",
		      n->rend, w->reason, words_times(words_ev(d, "stray_synacks", 1), t, sizeof(t)));
	words_cause(w, "a DNAT (load balancer, port forward) rewrites the SYN to its "
		    "backend, and the backend's reply returns by another path that "
		    "does not undo the translation (asymmetric routing) (4)");
	words_cause(w, "the backend's default route bypasses the NAT box: replies "
		    "must go back through it (4)");
	words_check(w, "on the NAT: conntrack -L -p tcp --dport %u", n->rport);
	words_check(w, "on the backend: ip route get %s", n->laddr);
	words_check(w, "traceroute%s -T -p %u %s", n->v6 ? " -6" : "", n->rport, n->raddr);
}
