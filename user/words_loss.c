// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The words of lost segments: loss and a path MTU black hole. */
#include <stdio.h>
#include "words.h"

void words_packet_loss(const struct diagnosis *d, const struct words_names *n,
		       struct diag_words *w)
{
	long long rto = words_ev(d, "rto_retrans", 0), fast = words_ev(d, "fast_retrans", 0);
	long long segs = words_ev(d, "data_segs_out", 0), pm = words_ev(d, "loss_permille", 0);
	long long srtt = words_ev(d, "srtt_ms", 0), min_rtt = words_ev(d, "min_rtt_ms", 0);
	long long qdisc = words_ev(d, "qdisc_drops", 0);
	const char *how, *queue;
	char share[64];

	if (rto > fast)
		how = "mostly after retransmission timeouts (RTO): whole flights lost";
	else if (fast > rto)
		how = "mostly fast retransmits: isolated losses";
	else if (rto)
		how = "RTO and fast retransmits alike";
	else
		how = "by neither RTO nor fast retransmit (tail loss probes)";
	if (words_ev(d, "rtt_inflated", 0))
		queue = "RTT inflated above twice its minimum: queueing, a congested path";
	else
		queue = "RTT not inflated: loss without queueing";
	if (segs)
		snprintf(share, sizeof(share), " (%lld.%lld%% of %lld data segments)",
			 pm / 10, pm % 10, segs);
	else
		share[0] = '\0';
	if (qdisc)
		words_summary(w, "%lld segments to %s lost%s: %lld dropped by this host's "
			      "own queue (qdisc), %lld retransmits; %s (srtt %lldms, min %lldms)",
			      words_ev(d, "lost_segments", qdisc), n->rend, share, qdisc,
			      words_ev(d, "retransmits", 0), queue, srtt, min_rtt);
	else
		words_summary(w, "%lld retransmits to %s%s, %s; %s (srtt %lldms, min %lldms)",
			      words_ev(d, "retransmits", 0), n->rend, share, how, queue,
			      srtt, min_rtt);
	if (qdisc)
		words_cause(w, "congestion at this host: its own queueing discipline "
			    "dropped %lld of the connection's segments (a full "
			    "fq_codel/tbf/fq queue, or a shaper's rate) (5)", qdisc);
	words_cause(w, "congestion: a router or switch queue on the path to %s "
		    "overflows (5)", n->raddr);
	words_cause(w, "a lossy link: errors on a NIC, cable or radio hop (5)");
	words_cause(w, "a shaper or policer (tbf, QoS, a cloud bandwidth limit) "
		    "drops above its rate (5)");
	words_cause(w, "the receiver drops: %s's NIC ring or backlog overflows",
		    n->raddr);
	words_check(w, "mtr -T -P %u -c 100 %s", n->rport, n->raddr);
	words_check(w, "ip -s link");
	words_check(w, "tc -s qdisc");
	words_check(w, "ss -tni dst %s", n->raddr);
}

void words_pmtu_blackhole(const struct diagnosis *d, const struct words_names *n,
			  struct diag_words *w)
{
	long long ptb = words_ev(d, "icmp_too_big", 0);

	words_summary(w, "full-size segments (%lld bytes) to %s are retransmitted %lld "
		      "times with no progress while small ones got through: a hop with "
		      "a smaller MTU drops them%s", words_ev(d, "mss", 0), n->rend,
		      words_ev(d, "full_size_retrans", 0),
		      ptb ? " though its ICMP too-big did arrive" :
			    " and the ICMP that would say so never arrives");
	words_cause(w, "a link on the path has a smaller MTU (a tunnel, VPN or "
		    "overlay) and ICMP %s is blocked on the way back (5)",
		    n->v6 ? "packet-too-big" : "fragmentation-needed");
	words_cause(w, "a firewall drops all ICMP, breaking path MTU discovery (1, 5)");
	words_check(w, "ping%s -M do -s 1472 -c 3 %s   # the largest that passes",
		    n->v6 ? " -6" : "", n->raddr);
	words_check(w, "tracepath%s %s", n->v6 ? " -6" : "", n->raddr);
	words_check(w, "sysctl net.ipv4.tcp_mtu_probing   # 1 recovers from black holes");
}
