// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The words of what this host's own stack threw away: segments, and
 * handshakes a full accept queue had no room for.
 */
#include <stdio.h>
#include <string.h>
#include "words.h"

void words_local_drop(const struct diagnosis *d, const struct words_names *n,
		      struct diag_words *w)
{
	long long in = words_ev(d, "drops_inbound", 0), out = words_ev(d, "drops_outbound", 0);
	long long hs = words_ev(d, "handshake_drops", 0);
	bool server = d->side == TT_SIDE_SERVER;
	const char *why = w->reason;
	char t[32];

	/* Seen at the NIC and never at the socket, with no drop event. */
	if (!w->reason[0])
		snprintf(w->reason, sizeof(w->reason), "no drop reason reported");

	if (diag_evidence_get(d, "qdisc_drops", NULL))
		words_summary(w, "this host's own egress queue dropped %lld segments of the "
			      "connection with %s over %s (%s): it is the bottleneck",
			      out, n->rend, words_duration(words_ev(d, "dropping_ms", 0), t,
							   sizeof(t)), why);
	else if (hs && server && in)
		words_summary(w, "this host dropped %lld SYN%s from %s to port %u before "
			      "any socket saw %s (%s)", in, in == 1 ? "" : "s", n->raddr,
			      n->lport, in == 1 ? "it" : "them", why);
	else if (hs && in)
		words_summary(w, "%lld SYN-ACK%s from %s reached this host and %s dropped "
			      "by its own stack before the socket (%s): the connect "
			      "cannot complete", in, in == 1 ? "" : "s", n->rend,
			      in == 1 ? "was" : "were", why);
	else if (hs)
		words_summary(w, "this host's own stack dropped %lld outbound SYN%s to %s "
			      "(%s): nothing left for %s", out, out == 1 ? "" : "s",
			      n->rend, why, n->raddr);
	else
		words_summary(w, "this host's own stack dropped %lld segment%s of the "
			      "connection with %s (%lld arriving, %lld leaving; %s)",
			      in + out, in + out == 1 ? "" : "s", n->rend, in, out, why);

	if (strstr(why, "NETFILTER"))
		words_cause(w, "a firewall rule on this host (nftables or iptables %s "
			    "chain) drops %s tcp/%u (1)", in ? "INPUT" : "OUTPUT",
			    in ? "incoming" : "outgoing", server ? n->lport : n->rport);
	else if (strstr(why, "RPFILTER"))
		words_cause(w, "reverse-path filtering: replies from %s arrive on an "
			    "interface this host would not route back through "
			    "(asymmetric routing) (4)", n->raddr);
	else if (diag_evidence_get(d, "qdisc_drops", NULL))
		words_cause(w, "the egress queueing discipline (fq_codel, tbf, fq, cake) "
			    "has been full for that long: a shaper's rate, or this host "
			    "sends more than its link carries (5)");
	else if (strstr(why, "QDISC") || strstr(why, "TC_"))
		words_cause(w, "the egress queueing discipline or a tc filter drops "
			    "the traffic (a full queue, a policer)");
	else if (!diag_evidence_get(d, "drop_reason", NULL))
		/* Seen at the NIC, never at the socket, and no kfree_skb
		 * reason (an older kernel, or the drop hook is not attached):
		 * w->reason only says so. */
		words_cause(w, "a firewall rule on this host (nftables or iptables %s "
			    "chain) or reverse-path filtering drops %s tcp/%u; the "
			    "kernel named no drop reason (1, 4)", in ? "INPUT" : "OUTPUT",
			    in ? "incoming" : "outgoing", server ? n->lport : n->rport);
	else
		words_cause(w, "the kernel dropped it with reason %s", why);
	if (diag_evidence_get(d, "qdisc_drops", NULL)) {
		words_check(w, "tc -s qdisc");
		words_check(w, "ip -s link");
		return;
	}
	words_cause(w, "conntrack state: a connection-tracking table that is full or "
		    "marks the packets INVALID (4)");
	words_check(w, "nft list ruleset | grep -n -w %u", server ? n->lport : n->rport);
	words_check(w, "%s-save | grep -w %u", n->v6 ? "ip6tables" : "iptables",
		    server ? n->lport : n->rport);
	if (!n->v6)
		words_check(w, "sysctl net.ipv4.conf.all.rp_filter");
	words_check(w, "conntrack -S ; conntrack -L -p tcp --dport %u",
		    server ? n->lport : n->rport);
}

void words_listen_overflow(const struct diagnosis *d, const struct words_names *n,
			   struct diag_words *w)
{
	long long dropped = words_ev(d, "handshakes_dropped", 0);

	if (diag_evidence_get(d, "accept_queue", NULL))
		words_summary(w, "the accept queue of %s is full (%lld waiting, backlog "
			      "%lld): %lld connection attempt%s dropped; the "
			      "application is not calling accept() fast enough", n->lend,
			      words_ev(d, "accept_queue", 0), words_ev(d, "backlog", 0), dropped,
			      dropped == 1 ? " was" : "s were");
	else
		words_summary(w, "the accept queue of port %u is full: this host "
			      "dropped %lld handshake%s from %s (%s)", n->lport, dropped,
			      dropped == 1 ? "" : "s", n->raddr,
			      w->reason[0] ? w->reason : "listen overflow");
	words_cause(w, "the server application is stuck, overloaded or not "
		    "accepting: its accept loop does not keep up (6)");
	words_cause(w, "the listen() backlog is too small for bursts of connections "
		    "(it is capped by net.core.somaxconn)");
	words_check(w, "ss -ltn 'sport = :%u'   # Recv-Q waiting vs Send-Q backlog",
		    n->lport);
	words_check(w, "nstat -az TcpExtListenOverflows TcpExtListenDrops");
	words_check(w, "sysctl net.core.somaxconn net.ipv4.tcp_max_syn_backlog");
	words_check(w, "ss -ltnp 'sport = :%u'   # which process should accept", n->lport);
}
