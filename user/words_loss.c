// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The words of lost segments: loss (seen sending or receiving), a path MTU
 * black hole, and a peer that acknowledges nothing any more. */
#include <stdio.h>
#include "words.h"

/* Loss on the way in, from the gaps in what arrived. */
static void packet_loss_inbound(const struct diagnosis *d, const struct words_names *n,
				struct diag_words *w)
{
	long long pm = words_ev(d, "out_of_order_permille", 0);

	words_summary(w, "%lld of %lld data segments from %s arrived out of order "
		      "(%lld.%lld%%): segments before them were lost on the way in "
		      "and the sender retransmitted them (the exact loss share is "
		      "the sender's to count)", words_ev(d, "out_of_order_in", 0),
		      words_ev(d, "data_segs_in", 0), n->rend, pm / 10, pm % 10);
	words_cause(w, "congestion: a router or switch queue on the path from %s "
		    "overflows (5)", n->raddr);
	words_cause(w, "a lossy link: errors on a NIC, cable or radio hop (5)");
	words_cause(w, "a shaper or policer on the way in drops above its rate (5)");
	words_cause(w, "the path reorders segments (per-packet load balancing): "
		    "out of order without loss");
	words_check(w, "mtr -T -P %u -c 100 %s", n->rport, n->raddr);
	words_check(w, "ip -s link");
	words_check(w, "ss -tni dst %s   # rcv_ooopack", n->raddr);
	words_check(w, "nstat -az TcpExtTCPOFOQueue TcpExtTCPDSACKOldSent");
}

/* "12ms", "0.35ms" under 10 ms, "8us" under 0.1 ms (veth, loopback: "0.00ms"
 * would read as no RTT at all). */
static const char *rtt_text(const struct diagnosis *d, const char *ms_key, const char *us_key,
			    char *buf, size_t len)
{
	long long us = words_ev(d, us_key, -1);

	if (us >= 0 && us < 100)
		snprintf(buf, len, "%lldus", us);
	else if (us >= 0 && us < 10000)
		snprintf(buf, len, "%lld.%02lldms", us / 1000, us % 1000 / 10);
	else
		snprintf(buf, len, "%lldms", words_ev(d, ms_key, us >= 0 ? us / 1000 : 0));
	return buf;
}

void words_packet_loss(const struct diagnosis *d, const struct words_names *n,
		       struct diag_words *w)
{
	long long rto = words_ev(d, "rto_retrans", 0), fast = words_ev(d, "fast_retrans", 0);
	long long tlp = words_ev(d, "tlp_retrans", 0), spurious = words_ev(d, "spurious_retrans", 0);
	long long segs = words_ev(d, "data_segs_out", 0), pm = words_ev(d, "loss_permille", 0);
	long long qdisc = words_ev(d, "qdisc_drops", 0);
	bool inflated = words_ev(d, "rtt_inflated", 0);
	char share[64], kinds[160], rtt[160], peak[24], mean[24], min[24];
	size_t k = 0;

	if (words_ev(d, "inbound", 0)) {
		packet_loss_inbound(d, n, w);
		return;
	}
	/* How the kernel found them lost: each kind it told. */
	kinds[0] = '\0';
	if (rto)
		k += snprintf(kinds + k, sizeof(kinds) - k, ", %lld after timeouts (RTO)", rto);
	if (fast && k < sizeof(kinds))
		k += snprintf(kinds + k, sizeof(kinds) - k, ", %lld fast retransmit%s", fast,
			      fast == 1 ? "" : "s");
	if (tlp && k < sizeof(kinds))
		k += snprintf(kinds + k, sizeof(kinds) - k, ", %lld tail loss probe%s", tlp,
			      tlp == 1 ? "" : "s");
	if (spurious && k < sizeof(kinds))
		snprintf(kinds + k, sizeof(kinds) - k, ", %lld spurious (the peer had them: DSACK)",
			 spurious);
	rtt_text(d, "srtt_peak_ms", "srtt_peak_us", peak, sizeof(peak));
	rtt_text(d, "min_rtt_ms", "min_rtt_us", min, sizeof(min));
	rtt_text(d, "srtt_mean_ms", "srtt_mean_us", mean, sizeof(mean));
	if (inflated)
		snprintf(rtt, sizeof(rtt), "RTT inflated (srtt %s on average, up to %s, min %s): "
			 "queueing, congestion", mean, peak, min);
	else
		snprintf(rtt, sizeof(rtt), "RTT flat (srtt %s on average, up to %s, min %s): "
			 "random loss, no queueing", mean, peak, min);
	if (segs)
		snprintf(share, sizeof(share), " (%lld.%lld%% of %lld data segments)",
			 pm / 10, pm % 10, segs);
	else
		share[0] = '\0';
	if (qdisc)
		words_summary(w, "%lld segments to %s lost%s: %lld dropped by this host's "
			      "own queue (qdisc), %lld retransmits%s; %s",
			      words_ev(d, "lost_segments", qdisc), n->rend, share, qdisc,
			      words_ev(d, "retransmits", 0), kinds, rtt);
	else
		words_summary(w, "%lld retransmits to %s%s%s; %s",
			      words_ev(d, "retransmits", 0), n->rend, share, kinds, rtt);
	if (spurious * 2 > words_ev(d, "retransmits", 0))
		words_cause(w, "most retransmits were not needed: the path reorders "
			    "segments, or the RTO is too short for its delay");
	if (qdisc)
		words_cause(w, "congestion at this host: its own queueing discipline "
			    "dropped %lld of the connection's segments (a full "
			    "fq_codel/tbf/fq queue, or a shaper's rate) (5)", qdisc);
	/* The RTT says which comes first: a queue that fills, or loss that
	 * is there whatever the load. */
	if (inflated) {
		words_cause(w, "congestion: a bottleneck on the path to %s (a router "
			    "or switch queue, a shaper with a queue) fills and overflows (5)",
			    n->raddr);
		words_cause(w, "this flow, or others sharing the bottleneck, send faster "
			    "than it drains: bufferbloat");
	} else {
		words_cause(w, "a lossy link: errors on a NIC, cable or radio hop, or a "
			    "policer dropping above its rate without queueing (5)");
		words_cause(w, "a firewall or overloaded middlebox dropping at random, "
			    "or the receiver's NIC ring or backlog overflowing");
	}
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

void words_connection_timeout(const struct diagnosis *d, const struct words_names *n,
			      struct diag_words *w)
{
	char t[32], t2[32], when[160];
	long long user = words_ev(d, "user_timeout_ms", 0);

	if (words_ev(d, "timed_out", 0)) {
		if (diag_evidence_get(d, "gave_up_after_ms", NULL))
			words_summary(w, "the kernel gave up on the connection to %s after "
				      "%s of unacknowledged retransmissions (%s): the "
				      "application got ETIMEDOUT", n->rend,
				      words_duration(words_ev(d, "gave_up_after_ms", 0), t, sizeof(t)),
				      user ? "its TCP_USER_TIMEOUT" : "tcp_retries2");
		else
			words_summary(w, "the kernel gave up on the connection to %s: %s "
				      "acknowledged nothing (%lld keepalive probes unanswered), "
				      "the application got ETIMEDOUT", n->rend, n->raddr,
				      words_ev(d, "keepalive_probes", 0));
	} else {
		if (diag_evidence_get(d, "gives_up_in_ms", NULL))
			snprintf(when, sizeof(when), "the kernel gives up in about %s "
				 "(%s after the first retransmission: %s %lld)",
				 words_duration(words_ev(d, "gives_up_in_ms", 0), t2, sizeof(t2)),
				 words_duration(words_ev(d, "kernel_timeout_ms", 0), t, sizeof(t)),
				 user ? "TCP_USER_TIMEOUT" : "tcp_retries2",
				 user ? user : words_ev(d, "retries2", 0));
		else
			snprintf(when, sizeof(when), "the kernel gives up after tcp_retries2 "
				 "= %lld timeouts", words_ev(d, "retries2", 0));
		words_summary(w, "%s has acknowledged nothing for %s: %lld retransmission "
			      "timeouts in a row for %lld bytes (RTO now %s); %s", n->rend,
			      words_duration(words_ev(d, "no_ack_ms", 0), t, sizeof(t)),
			      words_ev(d, "rto_in_a_row", 0), words_ev(d, "unacked_bytes", 0),
			      words_duration(words_ev(d, "rto_ms", 0), t2, sizeof(t2)), when);
	}
	words_cause(w, "%s is down or was cut off: it crashed, lost power, or its "
		    "network went away mid-connection (3)", n->raddr);
	words_cause(w, "a firewall, NAT or load balancer on the path forgot the "
		    "connection (idle timeout, failover, restart) and drops its "
		    "segments (1, 4)");
	words_cause(w, "the path went black: a route or link between the hosts "
		    "failed and nothing reports it (2)");
	words_check(w, "ss -tnoi dst %s   # timer:(on,...) and retrans", n->raddr);
	words_check(w, "traceroute%s -T -p %u %s", n->v6 ? " -6" : "", n->rport, n->raddr);
	words_check(w, "on %s: ss -tn 'sport = :%u'   # does it still know the connection?",
		    n->raddr, n->rport);
	words_check(w, "sysctl net.ipv4.tcp_retries2");
}
