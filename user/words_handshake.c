// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The words of the handshake's failures: no answer, a refusal, a port where
 * nothing listens here. */
#include <stdio.h>
#include "words.h"

void words_syn_unanswered(const struct diagnosis *d, const struct words_names *n,
			  struct diag_words *w)
{
	long long syns = words_ev(d, "syns_sent", 1);
	char t[32];

	if (words_ev(d, "app_gave_up", 0))
		words_summary(w, "the application gave up its connect to %s after %s: "
			      "%lld SYN%s left this host (%lld seen leaving the NIC) and "
			      "nothing came back for it", n->rend,
			      words_duration(words_ev(d, "waited_ms", 0), t, sizeof(t)),
			      syns, syns == 1 ? "" : "s", words_ev(d, "nic_syns_out", 0));
	else if (diag_evidence_get(d, "nic_syns_out", NULL))
		words_summary(w, "%lld SYN%s left this host over %s (%lld seen leaving "
			      "the NIC), nothing came back to it (no SYN-ACK, RST or ICMP "
			      "for the flow reached the NIC)", syns, syns == 1 ? "" : "s",
			      words_duration(words_ev(d, "waited_ms", 0), t, sizeof(t)),
			      words_ev(d, "nic_syns_out", 0));
	else
		words_summary(w, "%lld SYN%s left this host over %s, nothing came back "
			      "(no SYN-ACK or RST reached the socket)",
			      syns, syns == 1 ? "" : "s",
			      words_duration(words_ev(d, "waited_ms", 0), t, sizeof(t)));
	words_cause(w, "a firewall silently drops SYNs to tcp/%u: on %s, in this "
		    "host's OUTPUT chain, or a security group between them (1)",
		    n->rport, n->raddr);
	words_cause(w, "a routing problem past the first hop: a router cannot "
		    "forward to %s or back to this host (2)", n->raddr);
	words_cause(w, "%s is down, or its network interface is (3)", n->raddr);
	words_cause(w, "a NAT on the path rewrites the SYN and has no mapping for "
		    "the reply (4)");
	words_check(w, "traceroute%s -T -p %u %s", n->v6 ? " -6" : "", n->rport,
		    n->raddr);
	words_check(w, "on %s: ss -ltn 'sport = :%u'", n->raddr, n->rport);
	words_check(w, "nft list ruleset | grep -w %u", n->rport);
	words_check(w, "ip route get %s", n->raddr);
}

/*
 * A scan's report (fold.c): how many ports, their range, over how long.
 * The flow it names is only its first; the ports are the story.
 */
static bool words_scan(const struct diagnosis *d, long long *ports, char *range,
		       size_t range_len, char *span, size_t span_len)
{
	long long lo, hi;

	if (!diag_evidence_get(d, "ports", ports))
		return false;
	lo = words_ev(d, "port_lowest", 0);
	hi = words_ev(d, "port_highest", 0);
	if (lo == hi)
		snprintf(range, range_len, "%lld", lo);
	else
		snprintf(range, range_len, "%lld-%lld", lo, hi);
	words_duration(words_ev(d, "scan_ms", 0), span, span_len);
	return true;
}

/* This host knocked on many ports of one host, all refused. */
static void words_refused_scan(const struct diagnosis *d, long long ports,
			       const char *range, const char *span,
			       const struct words_names *n, struct diag_words *w)
{
	if (ports == 1)
		words_summary(w, "port scan of %s goes on: one more SYN of ours refused "
			      "(port %s): the host is up, nothing listens there",
			      n->raddr, range);
	else
		words_summary(w, "port scan: %s refused our SYNs on %lld of its ports (%s) "
			      "in %s: the host is up, nothing listens on them", n->raddr,
			      ports, range, span);
	words_cause(w, "a scanner, service discovery or a health check on this host "
		    "probes ports of %s, most of them meant to be closed", n->raddr);
	words_cause(w, "the services on %s are all down while the host is up "
		    "(a failed deployment, a restart) (3)", n->raddr);
	words_cause(w, "this host is configured with a wrong address for them: "
		    "%s serves none of them", n->raddr);
	if (d->pid)
		words_check(w, "who knocks: ps -o pid,args -p %u", d->pid);
	else
		words_check(w, "who knocks, while it does: ss -tnp state syn-sent dst %s",
			    n->raddr);
	words_check(w, "on %s: ss -ltnp", n->raddr);
	words_check(w, "on %s: systemctl --failed", n->raddr);
}

void words_connection_refused(const struct diagnosis *d, const struct words_names *n,
			      struct diag_words *w)
{
	char t[32], range[16];
	long long ports;

	if (words_scan(d, &ports, range, sizeof(range), t, sizeof(t))) {
		words_refused_scan(d, ports, range, t, n, w);
		return;
	}
	if (words_ev(d, "rst_received", 0) > 0 && diag_evidence_get(d, "connect_ms", NULL))
		words_summary(w, "%s answered our SYN with RST after %s: the host is "
			      "up but nothing listens on port %u", n->rend,
			      words_duration(words_ev(d, "connect_ms", 0), t, sizeof(t)), n->rport);
	else if (words_ev(d, "rst_received", 0) > 0)
		words_summary(w, "%s answered our SYN with RST: the host is up but "
			      "nothing listens on port %u", n->rend, n->rport);
	else
		words_summary(w, "the connect to %s was refused (ECONNREFUSED without "
			      "a RST: an ICMP port unreachable): nothing listens on "
			      "port %u", n->rend, n->rport);
	words_cause(w, "the service on %s is not running, crashed, or is still "
		    "starting (3)", n->raddr);
	words_cause(w, "it listens on another port, or only on another address "
		    "(such as 127.0.0.1) (3)");
	words_cause(w, "this client is configured with the wrong address or port "
		    "for it");
	words_cause(w, "a firewall rejects tcp/%u with a reset (1)", n->rport);
	words_check(w, "on %s: ss -ltnp 'sport = :%u'", n->raddr, n->rport);
	words_check(w, "on %s: journalctl -p err --since -15min", n->raddr);
	words_check(w, "on %s: nft list ruleset | grep -w %u", n->raddr, n->rport);
}

void words_port_closed(const struct diagnosis *d, const struct words_names *n,
		       struct diag_words *w)
{
	long long syns = words_ev(d, "syns_refused", 1), client = words_ev(d, "client_syns", 0);
	long long ports;
	char range[16], span[32];

	if (words_scan(d, &ports, range, sizeof(range), span, sizeof(span))) {
		/* A scan told before goes on: what came since its report. */
		if (ports == 1)
			words_summary(w, "port scan by %s goes on: one more SYN to a closed "
				      "port of %s (%s), answered with RST", n->raddr,
				      n->laddr, range);
		else
			words_summary(w, "port scan: %lld closed ports of %s probed by %s "
				      "in %s (%s): this host answered each SYN with RST",
				      ports, n->laddr, n->raddr, span, range);
		words_cause(w, "a scanner, service discovery or a monitoring system at %s "
			    "probes this host's ports", n->raddr);
		words_cause(w, "a client of several services here that are all down (3); "
			    "one it keeps retrying is told on its own, as an error");
		words_check(w, "who is %s: getent hosts %s", n->raddr, n->raddr);
		words_check(w, "ss -ltnp");
		words_check(w, "systemctl --failed");
		return;
	}
	if (d->severity == SEV_INFO) {
		words_summary(w, "this host answered %lld SYN%s from %s with RST: nothing "
			      "listens on %s (a knock, not retried)", syns,
			      syns == 1 ? "" : "s", n->raddr, n->lend);
		words_cause(w, "a scanner or a health check probes a port meant to "
			    "be closed");
	} else {
		words_summary(w, "this host answered %lld SYN%s from %s with RST: nothing "
			      "listens on %s, and that client has tried %lld times lately",
			      syns, syns == 1 ? "" : "s", n->raddr, n->lend,
			      client ? client : syns);
	}
	words_cause(w, "the service that should listen on port %u here is not "
		    "running, crashed, or has not started yet (3)", n->lport);
	words_cause(w, "it listens on another port, or only on another address "
		    "than %s (3)", n->laddr);
	words_cause(w, "the client %s uses a stale address or port for this "
		    "service", n->raddr);
	if (d->severity != SEV_INFO)
		words_cause(w, "a health check or scanner probes a port meant to be "
			    "closed");
	words_check(w, "ss -ltnp 'sport = :%u'", n->lport);
	words_check(w, "systemctl --failed");
	words_check(w, "journalctl -p err --since -15min");
}
