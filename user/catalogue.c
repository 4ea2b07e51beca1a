// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-code texts. The causes follow the seven common causes of a broken
 * call between two services: (1) a firewall drops it, (2) routing, (3) the
 * host is down or nothing listens, (4) NAT, (5) congestion and loss, (6) the
 * application hangs, (7) the application crashed or was killed. Every check
 * is a command with this diagnosis' addresses and ports filled in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "catalogue.h"

static const char *const code_names[DIAG_CODE_MAX] = {
	[DIAG_SYN_UNANSWERED]	= "SYN_UNANSWERED",
	[DIAG_LOCAL_DROP]	= "LOCAL_DROP",
	[DIAG_NO_ROUTE]		= "NO_ROUTE",
	[DIAG_HOST_UNREACHABLE]	= "HOST_UNREACHABLE",
	[DIAG_FIREWALL_REJECT]	= "FIREWALL_REJECT",
	[DIAG_CONNECTION_REFUSED] = "CONNECTION_REFUSED",
	[DIAG_PORT_CLOSED]	= "PORT_CLOSED",
	[DIAG_NAT_MISMATCH]	= "NAT_MISMATCH",
	[DIAG_LISTEN_OVERFLOW]	= "LISTEN_OVERFLOW",
	[DIAG_PACKET_LOSS]	= "PACKET_LOSS",
	[DIAG_PMTU_BLACKHOLE]	= "PMTU_BLACKHOLE",
	[DIAG_PEER_APP_STALL]	= "PEER_APP_STALL",
	[DIAG_LOCAL_APP_STALL]	= "LOCAL_APP_STALL",
	[DIAG_ZERO_WINDOW]	= "ZERO_WINDOW",
	[DIAG_PEER_RESET]	= "PEER_RESET",
	[DIAG_LOCAL_RESET]	= "LOCAL_RESET",
	[DIAG_PROCESS_KILLED]	= "PROCESS_KILLED",
};

const char *diag_code_name(enum diag_code code)
{
	if ((unsigned int)code >= DIAG_CODE_MAX || !code_names[code])
		return "UNKNOWN";
	return code_names[code];
}

const char *diag_severity_name(enum diag_severity sev)
{
	switch (sev) {
	case SEV_WARNING:
		return "warning";
	case SEV_ERROR:
		return "error";
	}
	return "unknown";
}

const char *tt_state_name(__u8 state)
{
	static const char *const names[TT_TCP_STATE_MAX] = {
		[TT_TCP_ESTABLISHED] = "ESTABLISHED", [TT_TCP_SYN_SENT] = "SYN_SENT",
		[TT_TCP_SYN_RECV] = "SYN_RECV", [TT_TCP_FIN_WAIT1] = "FIN_WAIT1",
		[TT_TCP_FIN_WAIT2] = "FIN_WAIT2", [TT_TCP_TIME_WAIT] = "TIME_WAIT",
		[TT_TCP_CLOSE] = "CLOSE", [TT_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[TT_TCP_LAST_ACK] = "LAST_ACK", [TT_TCP_LISTEN] = "LISTEN",
		[TT_TCP_CLOSING] = "CLOSING", [TT_TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
	};

	return state < TT_TCP_STATE_MAX && names[state] ? names[state] : "UNKNOWN";
}

const char *tt_side_name(enum tt_side side)
{
	switch (side) {
	case TT_SIDE_CLIENT:
		return "client";
	case TT_SIDE_SERVER:
		return "server";
	case TT_SIDE_UNKNOWN:
		break;
	}
	return "unknown";
}

/* enum sk_rst_reason (include/net/rstreason.h), the values of the kernels
 * whose tcp_send_reset tracepoint carries a reason. */
const char *tt_rst_reason_text(__u32 reason)
{
	switch (reason) {
	case 0:
		return "reason not given by the kernel";
	case 1:
		return "no socket owned the segment";
	case 2:
		return "an ACK for data never sent (invalid ACK sequence)";
	case 3:
		return "a segment failed the PAWS timestamp check";
	case 4:
		return "an ACK too old for the connection";
	case 5:
		return "an ACK for data not sent yet";
	case 6:
		return "a segment with invalid flags";
	case 7:
		return "an old ACK";
	case 8:
		return "data arrived after the application closed the socket";
	case 9:
		return "a segment for a TIME_WAIT socket";
	case 10:
		return "an invalid SYN";
	case 11:
		return "the application closed the socket with unread data";
	case 12:
		return "the FIN_WAIT2 linger time ran out";
	case 13:
		return "the kernel ran out of memory for orphaned sockets";
	case 14:
		return "an abortive close (SO_LINGER 0 or a disconnect)";
	case 15:
		return "keepalive probes went unanswered";
	case 16:
		return "a disconnect with unread data";
	default:
		return "a reason this build does not know";
	}
}

const char *tt_addr_str(__u16 family, const __u8 addr[16], char *buf,
			size_t len)
{
	int af = family == TT_AF_INET6 ? AF_INET6 : AF_INET;

	if (!inet_ntop(af, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

bool diag_evidence_get(const struct diagnosis *d, const char *name,
		       long long *value)
{
	unsigned int i;

	for (i = 0; i < d->n_evidence && i < DIAG_MAX_EVIDENCE; i++) {
		if (d->evidence[i].name && !strcmp(d->evidence[i].name, name)) {
			if (value)
				*value = d->evidence[i].value;
			return true;
		}
	}
	return false;
}

static long long evd(const struct diagnosis *d, const char *name, long long dflt)
{
	long long v;

	return diag_evidence_get(d, name, &v) ? v : dflt;
}

static const char *errno_name(int err)
{
	switch (err) {
	case ECONNREFUSED:	return "ECONNREFUSED";
	case ETIMEDOUT:		return "ETIMEDOUT";
	case ECONNRESET:	return "ECONNRESET";
	case EHOSTUNREACH:	return "EHOSTUNREACH";
	case ENETUNREACH:	return "ENETUNREACH";
	case EPIPE:		return "EPIPE";
	case ECONNABORTED:	return "ECONNABORTED";
	case EACCES:		return "EACCES";
	default:		return "an error";
	}
}

/* Everything a text needs, formatted once. */
struct names {
	bool v6;
	unsigned int lport, rport;
	char laddr[TT_ADDR_STRLEN];
	char raddr[TT_ADDR_STRLEN];
	char lend[TT_ADDR_STRLEN + 8];	/* "10.0.2.10:8080", "[2001:db8::1]:80" */
	char rend[TT_ADDR_STRLEN + 8];
	char proc[TT_COMM_LEN + 24];	/* "curl (pid 1234)" or "" */
};

static void names_init(struct names *n, const struct diagnosis *d)
{
	n->v6 = d->key.family == TT_AF_INET6;
	n->lport = d->key.lport;
	n->rport = d->key.rport;
	tt_addr_str(d->key.family, d->key.laddr, n->laddr, sizeof(n->laddr));
	tt_addr_str(d->key.family, d->key.raddr, n->raddr, sizeof(n->raddr));
	snprintf(n->lend, sizeof(n->lend), n->v6 ? "[%s]:%u" : "%s:%u",
		 n->laddr, n->lport);
	snprintf(n->rend, sizeof(n->rend), n->v6 ? "[%s]:%u" : "%s:%u",
		 n->raddr, n->rport);
	if (d->pid && d->comm[0])
		snprintf(n->proc, sizeof(n->proc), "%.*s (pid %u)",
			 TT_COMM_LEN, d->comm, d->pid);
	else if (d->pid)
		snprintf(n->proc, sizeof(n->proc), "pid %u", d->pid);
	else
		n->proc[0] = '\0';
}

/* "250ms", "3.0s", "2m05s": durations as a person reads them. */
static const char *dur(long long ms, char *buf, size_t len)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(buf, len, "%lldms", ms);
	else if (ms < 120000)
		snprintf(buf, len, "%lld.%llds", ms / 1000, ms % 1000 / 100);
	else
		snprintf(buf, len, "%lldm%02llds", ms / 60000, ms % 60000 / 1000);
	return buf;
}

__attribute__((format(printf, 2, 3)))
static void summary(struct diagnosis *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->summary, sizeof(d->summary), fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static void cause(struct diagnosis *d, const char *fmt, ...)
{
	va_list ap;

	if (d->n_causes >= DIAG_MAX_CAUSES)
		return;
	va_start(ap, fmt);
	vsnprintf(d->causes[d->n_causes++], DIAG_TEXT_LEN, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static void check(struct diagnosis *d, const char *fmt, ...)
{
	va_list ap;

	if (d->n_checks >= DIAG_MAX_CHECKS)
		return;
	va_start(ap, fmt);
	vsnprintf(d->checks[d->n_checks++], DIAG_TEXT_LEN, fmt, ap);
	va_end(ap);
}

static void fill_syn_unanswered(struct diagnosis *d, const struct names *n)
{
	long long syns = evd(d, "syns_sent", 1);
	char t[32];

	if (diag_evidence_get(d, "nic_syns_out", NULL))
		summary(d, "%lld SYN%s left this host over %s (%lld seen leaving "
			"the NIC), nothing came back to it (no SYN-ACK, RST or ICMP "
			"for the flow reached the NIC)", syns, syns == 1 ? "" : "s",
			dur(evd(d, "waited_ms", 0), t, sizeof(t)),
			evd(d, "nic_syns_out", 0));
	else
		summary(d, "%lld SYN%s left this host over %s, nothing came back "
			"(no SYN-ACK or RST reached the socket)",
			syns, syns == 1 ? "" : "s", dur(evd(d, "waited_ms", 0), t, sizeof(t)));
	cause(d, "a firewall silently drops SYNs to tcp/%u: on %s, in this "
	      "host's OUTPUT chain, or a security group between them (1)",
	      n->rport, n->raddr);
	cause(d, "a routing problem past the first hop: a router cannot "
	      "forward to %s or back to this host (2)", n->raddr);
	cause(d, "%s is down, or its network interface is (3)", n->raddr);
	cause(d, "a NAT on the path rewrites the SYN and has no mapping for "
	      "the reply (4)");
	check(d, "traceroute%s -T -p %u %s", n->v6 ? " -6" : "", n->rport,
	      n->raddr);
	check(d, "on %s: ss -ltn 'sport = :%u'", n->raddr, n->rport);
	check(d, "nft list ruleset | grep -w %u", n->rport);
	check(d, "ip route get %s", n->raddr);
}

static void fill_connection_refused(struct diagnosis *d, const struct names *n)
{
	char t[32];

	if (evd(d, "rst_received", 0) > 0 && diag_evidence_get(d, "connect_ms", NULL))
		summary(d, "%s answered our SYN with RST after %s: the host is "
			"up but nothing listens on port %u", n->rend,
			dur(evd(d, "connect_ms", 0), t, sizeof(t)), n->rport);
	else if (evd(d, "rst_received", 0) > 0)
		summary(d, "%s answered our SYN with RST: the host is up but "
			"nothing listens on port %u", n->rend, n->rport);
	else
		summary(d, "the connect to %s was refused (ECONNREFUSED without "
			"a RST: an ICMP port unreachable): nothing listens on "
			"port %u", n->rend, n->rport);
	cause(d, "the service on %s is not running, crashed, or is still "
	      "starting (3)", n->raddr);
	cause(d, "it listens on another port, or only on another address "
	      "(such as 127.0.0.1) (3)");
	cause(d, "this client is configured with the wrong address or port "
	      "for it");
	cause(d, "a firewall rejects tcp/%u with a reset (1)", n->rport);
	check(d, "on %s: ss -ltnp 'sport = :%u'", n->raddr, n->rport);
	check(d, "on %s: journalctl -p err --since -15min", n->raddr);
	check(d, "on %s: nft list ruleset | grep -w %u", n->raddr, n->rport);
}

static void fill_port_closed(struct diagnosis *d, const struct names *n)
{
	long long syns = evd(d, "syns_refused", 1);

	summary(d, "this host answered %lld SYN%s from %s with RST: nothing "
		"listens on %s", syns, syns == 1 ? "" : "s", n->raddr, n->lend);
	cause(d, "the service that should listen on port %u here is not "
	      "running, crashed, or has not started yet (3)", n->lport);
	cause(d, "it listens on another port, or only on another address "
	      "than %s (3)", n->laddr);
	cause(d, "the client %s uses a stale address or port for this "
	      "service", n->raddr);
	cause(d, "a health check or scanner probes a port meant to be closed");
	check(d, "ss -ltnp 'sport = :%u'", n->lport);
	check(d, "systemctl --failed");
	check(d, "journalctl -p err --since -15min");
}

/* "once", "3 times". */
static const char *times(long long n, char *buf, size_t len)
{
	if (n == 1)
		return "once";
	snprintf(buf, len, "%lld times", n);
	return buf;
}

/* ICMP-based verdicts: d->reason holds the address of the router that said it. */
static void fill_icmp_common_checks(struct diagnosis *d, const struct names *n)
{
	check(d, "traceroute%s -T -p %u %s", n->v6 ? " -6" : "", n->rport, n->raddr);
	if (d->reason[0])
		check(d, "on %s: ip route get %s", d->reason, n->raddr);
	check(d, "ip route get %s", n->raddr);
}

/* The kernel ended the connect on an ICMP error the tracer did not see. */
static bool fill_icmp_unnamed(struct diagnosis *d, const struct names *n,
			      const char *what)
{
	if (d->reason[0])
		return false;
	summary(d, "the connect to %s ended on an ICMP %s error (the application "
		"saw %s); without interface hooks the router that sent it is "
		"not known", n->rend, what, errno_name(d->app_error));
	cause(d, "a router on the path, or %s itself, answered the SYN with "
	      "ICMP %s (1, 2, 3)", n->raddr, what);
	fill_icmp_common_checks(d, n);
	return true;
}

static void fill_no_route_icmp(struct diagnosis *d, const struct names *n)
{
	char t[32];

	if (fill_icmp_unnamed(d, n, "network unreachable"))
		return;
	if (diag_evidence_get(d, "icmp_time_exceeded", NULL)) {
		summary(d, "router %s answered our SYN to %s with ICMP time "
			"exceeded (%s): the SYN looped until its TTL ran out",
			d->reason, n->rend, times(evd(d, "icmp_errors", 1), t, sizeof(t)));
		cause(d, "a routing loop between %s and its neighbours: each sends "
		      "%s's traffic back to the other (2)", d->reason, n->raddr);
		fill_icmp_common_checks(d, n);
		return;
	}
	summary(d, "router %s answered our SYN to %s with ICMP network "
		"unreachable (%s): it has no route to %s",
		d->reason, n->rend, times(evd(d, "icmp_errors", 1), t, sizeof(t)), n->raddr);
	cause(d, "router %s lacks a route to %s's network, or the route there "
	      "is of type unreachable (2)", d->reason, n->raddr);
	cause(d, "a link or peering past %s is down (2)", d->reason);
	fill_icmp_common_checks(d, n);
}

static void fill_host_unreachable(struct diagnosis *d, const struct names *n)
{
	char t[32];

	if (fill_icmp_unnamed(d, n, "host unreachable"))
		return;
	summary(d, "router %s answered our SYN to %s with ICMP host "
		"unreachable (%s): the last hop could not reach %s",
		d->reason, n->rend, times(evd(d, "icmp_errors", 1), t, sizeof(t)), n->raddr);
	cause(d, "%s is down, or not on its subnet any more (no ARP/ND answer "
	      "to router %s) (3)", n->raddr, d->reason);
	cause(d, "the address is wrong: nothing was ever at %s (3)", n->raddr);
	fill_icmp_common_checks(d, n);
	check(d, "on %s: ip neigh show %s", d->reason, n->raddr);
}

static void fill_firewall_reject(struct diagnosis *d, const struct names *n)
{
	char t[32];

	if (fill_icmp_unnamed(d, n, "administratively prohibited"))
		return;
	summary(d, "%s answered our SYN to %s with ICMP administratively "
		"prohibited (%s): a firewall there rejects tcp/%u",
		d->reason, n->rend, times(evd(d, "icmp_errors", 1), t, sizeof(t)), n->rport);
	cause(d, "a firewall rule on %s (or on %s itself) rejects tcp/%u "
	      "from this host (1)", d->reason, n->raddr, n->rport);
	cause(d, "a security group or ACL denies this source (1)");
	check(d, "on %s: nft list ruleset | grep -n -w %u", d->reason, n->rport);
	check(d, "on %s: nft list ruleset | grep -n reject", d->reason);
	fill_icmp_common_checks(d, n);
}

static void fill_nat_mismatch(struct diagnosis *d, const struct names *n)
{
	char t[32];

	summary(d, "our SYN went to %s but the SYN-ACK came back from %s "
		"(%s): a NAT translated one way and not the other",
		n->rend, d->reason, times(evd(d, "stray_synacks", 1), t, sizeof(t)));
	cause(d, "a DNAT (load balancer, port forward) rewrites the SYN to its "
	      "backend, and the backend's reply returns by another path that "
	      "does not undo the translation (asymmetric routing) (4)");
	cause(d, "the backend's default route bypasses the NAT box: replies "
	      "must go back through it (4)");
	check(d, "on the NAT: conntrack -L -p tcp --dport %u", n->rport);
	check(d, "on the backend: ip route get %s", n->laddr);
	check(d, "traceroute%s -T -p %u %s", n->v6 ? " -6" : "", n->rport, n->raddr);
}

static void fill_pmtu_blackhole(struct diagnosis *d, const struct names *n)
{
	long long ptb = evd(d, "icmp_too_big", 0);

	summary(d, "full-size segments (%lld bytes) to %s are retransmitted %lld "
		"times with no progress while small ones got through: a hop with "
		"a smaller MTU drops them%s", evd(d, "mss", 0), n->rend,
		evd(d, "full_size_retrans", 0),
		ptb ? " though its ICMP too-big did arrive" :
		      " and the ICMP that would say so never arrives");
	cause(d, "a link on the path has a smaller MTU (a tunnel, VPN or "
	      "overlay) and ICMP %s is blocked on the way back (5)",
	      n->v6 ? "packet-too-big" : "fragmentation-needed");
	cause(d, "a firewall drops all ICMP, breaking path MTU discovery (1, 5)");
	check(d, "ping%s -M do -s 1472 -c 3 %s   # the largest that passes", n->v6 ? " -6" : "",
	      n->raddr);
	check(d, "tracepath%s %s", n->v6 ? " -6" : "", n->raddr);
	check(d, "sysctl net.ipv4.tcp_mtu_probing   # 1 recovers from black holes");
}

static void fill_no_route(struct diagnosis *d, const struct names *n)
{
	if (diag_evidence_get(d, "drop_reason", NULL))
		summary(d, "this host dropped %lld segment%s to %s for want of a "
			"route (%s)", evd(d, "drops_outbound", 0) + evd(d, "drops_inbound", 0),
			evd(d, "drops_outbound", 0) + evd(d, "drops_inbound", 0) == 1 ? "" : "s",
			n->rend, d->reason[0] ? d->reason : "no route");
	else
		summary(d, "connect() to %s failed at once with %s: this host has no "
			"usable route to %s, no packet left", n->rend,
			errno_name(d->app_error), n->raddr);
	cause(d, "the routing table has no route to %s: a missing default "
	      "route or subnet route (2)", n->raddr);
	cause(d, "the route to %s is of type unreachable, prohibit or "
	      "blackhole, or a policy rule selects such a table (2)", n->raddr);
	cause(d, "the interface that route uses is down or lost its address");
	check(d, "ip route get %s", n->raddr);
	check(d, "ip %sroute show", n->v6 ? "-6 " : "");
	check(d, "ip rule show");
	check(d, "ip -br addr");
}

static void fill_peer_reset(struct diagnosis *d, const struct names *n)
{
	char t[32];

	if (diag_evidence_get(d, "age_ms", NULL))
		summary(d, "%s reset the connection after %s (%lld bytes sent, "
			"%lld received)", n->rend,
			dur(evd(d, "age_ms", 0), t, sizeof(t)),
			evd(d, "bytes_sent", 0), evd(d, "bytes_received", 0));
	else
		summary(d, "%s reset an established connection (%lld bytes "
			"sent, %lld received)", n->rend,
			evd(d, "bytes_sent", 0), evd(d, "bytes_received", 0));
	cause(d, "the process on %s crashed or was killed (OOM killer, a "
	      "deploy) and its kernel reset its connections (7)", n->raddr);
	cause(d, "the application there closed the socket with unread data, "
	      "or with SO_LINGER 0");
	cause(d, "a firewall, NAT or load balancer on the path lost the "
	      "connection's state (idle timeout) and answered with RST (1, 4)");
	check(d, "on %s: journalctl -k | grep -i -e oom -e 'killed process'",
	      n->raddr);
	check(d, "on %s: journalctl -p err --since -15min", n->raddr);
	check(d, "ss -tni dst %s", n->raddr);
}

static void fill_local_reset(struct diagnosis *d, const struct names *n)
{
	long long reason = evd(d, "rst_reason", 0);
	char t[32];

	if (diag_evidence_get(d, "age_ms", NULL))
		summary(d, "this host reset its connection with %s after %s: %s",
			n->rend, dur(evd(d, "age_ms", 0), t, sizeof(t)),
			tt_rst_reason_text((__u32)reason));
	else
		summary(d, "this host reset its connection with %s: %s", n->rend,
			tt_rst_reason_text((__u32)reason));
	switch (reason) {
	case 11:
	case 16:
		cause(d, "the application here%s%s closed the socket without "
		      "reading all %s sent: an early close on an error path",
		      n->proc[0] ? " " : "", n->proc, n->raddr);
		cause(d, "the process exited or was killed (OOM killer or a "
		      "signal) with connections open (7)");
		break;
	case 8:
		cause(d, "%s kept sending after the application here closed the "
		      "connection: a protocol mismatch or a pipelined request",
		      n->raddr);
		break;
	case 12:
	case 14:
		cause(d, "the application here%s%s aborts its connections "
		      "(SO_LINGER 0, or TCP_LINGER2 < 0)",
		      n->proc[0] ? " " : "", n->proc);
		break;
	case 13:
		cause(d, "memory pressure: orphaned sockets exceed tcp_mem or "
		      "tcp_max_orphans");
		break;
	default:
		cause(d, "the process here exited or was killed with "
		      "connections open (7)");
		break;
	}
	check(d, "journalctl -k | grep -i -e oom -e 'killed process'");
	if (d->pid)
		check(d, "ps -o pid,etime,cmd -p %u", d->pid);
	check(d, "ss -tnp dst %s", n->raddr);
	if (reason == 13)
		check(d, "cat /proc/net/sockstat; sysctl net.ipv4.tcp_mem");
}

static void fill_packet_loss(struct diagnosis *d, const struct names *n)
{
	long long rto = evd(d, "rto_retrans", 0), fast = evd(d, "fast_retrans", 0);
	long long segs = evd(d, "data_segs_out", 0), pm = evd(d, "loss_permille", 0);
	long long srtt = evd(d, "srtt_ms", 0), min_rtt = evd(d, "min_rtt_ms", 0);
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
	if (evd(d, "rtt_inflated", 0))
		queue = "RTT inflated above twice its minimum: queueing, a congested path";
	else
		queue = "RTT not inflated: loss without queueing";
	if (segs)
		snprintf(share, sizeof(share), " (%lld.%lld%% of %lld data segments)",
			 pm / 10, pm % 10, segs);
	else
		share[0] = '\0';
	summary(d, "%lld retransmits to %s%s, %s; %s (srtt %lldms, min %lldms)",
		evd(d, "retransmits", 0), n->rend, share, how, queue, srtt, min_rtt);
	cause(d, "congestion: a router or switch queue on the path to %s "
	      "overflows (5)", n->raddr);
	cause(d, "a lossy link: errors on a NIC, cable or radio hop (5)");
	cause(d, "a shaper or policer (tbf, QoS, a cloud bandwidth limit) "
	      "drops above its rate (5)");
	cause(d, "the receiver drops: %s's NIC ring or backlog overflows",
	      n->raddr);
	check(d, "mtr -T -P %u -c 100 %s", n->rport, n->raddr);
	check(d, "ip -s link");
	check(d, "tc -s qdisc");
	check(d, "ss -tni dst %s", n->raddr);
}

static void fill_peer_app_stall(struct diagnosis *d, const struct names *n)
{
	char t[32];

	summary(d, "%s ACKed our %lld-byte request %s ago and has not "
		"answered: its application got it and is not responding "
		"(srtt %lldms)", n->rend, evd(d, "request_bytes", 0),
		dur(evd(d, "waited_ms", 0), t, sizeof(t)), evd(d, "srtt_ms", 0));
	cause(d, "the application on %s is busy, deadlocked, or waiting on a "
	      "dependency of its own (a database, another service) (6)",
	      n->raddr);
	cause(d, "it is overloaded: its workers or event loop are saturated (6)");
	cause(d, "it waits for more of the request than was sent (framing, "
	      "a length header, a missing newline)");
	check(d, "on %s: ss -tnp 'sport = :%u'", n->raddr, n->rport);
	check(d, "on %s: top -H", n->raddr);
	check(d, "on %s: journalctl -p warning --since -15min", n->raddr);
	check(d, "ss -tni dst %s", n->raddr);
}

static void fill_local_app_stall(struct diagnosis *d, const struct names *n)
{
	bool server = d->side == TT_SIDE_SERVER;
	char t[32];

	if (diag_evidence_get(d, "unread_bytes", NULL)) {
		summary(d, "the application here has not read %lld bytes from "
			"%s waiting in its receive queue for %s (receive window "
			"%lld)", evd(d, "unread_bytes", 0), n->rend,
			dur(evd(d, "not_read_ms", 0), t, sizeof(t)),
			evd(d, "rcv_wnd", 0));
		cause(d, "the application%s%s stopped reading this socket: its "
		      "event loop is blocked or it lost track of the socket (6)",
		      n->proc[0] ? " " : "", n->proc);
		cause(d, "it is overloaded and reads slower than %s sends (6)",
		      n->raddr);
		cause(d, "it waits on something else (a lock, a dependency) "
		      "before it reads again (6)");
	} else {
		summary(d, "a %lld-byte request from %s was read by the "
			"application here %s ago and nothing was sent back",
			evd(d, "request_bytes", 0), n->rend,
			dur(evd(d, "waited_ms", 0), t, sizeof(t)));
		cause(d, "the application%s%s is busy, deadlocked, or waiting "
		      "on a dependency of its own (6)",
		      n->proc[0] ? " " : "", n->proc);
		cause(d, "its workers are all taken: the request waits in its "
		      "own queue (6)");
		cause(d, "it waits for more of the request than arrived "
		      "(framing, a length header, a missing newline)");
	}
	if (server)
		check(d, "ss -tnp 'sport = :%u'", n->lport);
	else
		check(d, "ss -tnp dst %s", n->raddr);
	if (d->pid) {
		check(d, "top -H -p %u", d->pid);
		check(d, "gdb -p %u -batch -ex 'thread apply all bt'", d->pid);
	}
}

static void fill_zero_window(struct diagnosis *d, const struct names *n)
{
	char t[32];

	summary(d, "%s has advertised a zero window for %s while %lld bytes "
		"wait to be delivered (%lld window probes unanswered): its "
		"application is not reading", n->rend,
		dur(evd(d, "zero_window_ms", 0), t, sizeof(t)),
		evd(d, "unsent_bytes", 0), evd(d, "probes", 0));
	cause(d, "the application on %s stopped reading: blocked, "
	      "deadlocked or overloaded (6)", n->raddr);
	cause(d, "it reads slower than this host sends and its receive "
	      "buffer filled up (6)");
	cause(d, "its receive buffer is small for the rate (SO_RCVBUF, "
	      "net.ipv4.tcp_rmem)");
	check(d, "on %s: ss -tnpm 'sport = :%u'", n->raddr, n->rport);
	check(d, "on %s: top -H", n->raddr);
	check(d, "ss -tni dst %s", n->raddr);
}

static void fill_local_drop(struct diagnosis *d, const struct names *n)
{
	long long in = evd(d, "drops_inbound", 0), out = evd(d, "drops_outbound", 0);
	long long hs = evd(d, "handshake_drops", 0);
	const char *why = d->reason[0] ? d->reason : "an unnamed reason";
	bool server = d->side == TT_SIDE_SERVER;

	if (hs && server && in)
		summary(d, "this host dropped %lld SYN%s from %s to port %u before "
			"any socket saw %s (%s)", in, in == 1 ? "" : "s", n->raddr,
			n->lport, in == 1 ? "it" : "them", why);
	else if (hs && in)
		summary(d, "%lld SYN-ACK%s from %s reached this host and %s dropped "
			"by its own stack before the socket (%s): the connect "
			"cannot complete", in, in == 1 ? "" : "s", n->rend,
			in == 1 ? "was" : "were", why);
	else if (hs)
		summary(d, "this host's own stack dropped %lld outbound SYN%s to %s "
			"(%s): nothing left for %s", out, out == 1 ? "" : "s",
			n->rend, why, n->raddr);
	else
		summary(d, "this host's own stack dropped %lld segment%s of the "
			"connection with %s (%lld arriving, %lld leaving; %s)",
			in + out, in + out == 1 ? "" : "s", n->rend, in, out, why);

	if (strstr(why, "NETFILTER"))
		cause(d, "a firewall rule on this host (nftables or iptables %s "
		      "chain) drops %s tcp/%u (1)", in ? "INPUT" : "OUTPUT",
		      in ? "incoming" : "outgoing", server ? n->lport : n->rport);
	else if (strstr(why, "RPFILTER"))
		cause(d, "reverse-path filtering: replies from %s arrive on an "
		      "interface this host would not route back through "
		      "(asymmetric routing) (4)", n->raddr);
	else if (strstr(why, "QDISC") || strstr(why, "TC_"))
		cause(d, "the egress queueing discipline or a tc filter drops "
		      "the traffic (a full queue, a policer)");
	else if (!diag_evidence_get(d, "drop_reason", NULL))
		/* Seen at the NIC, never at the socket, and no kfree_skb
		 * reason (an older kernel, or the drop hook is not attached):
		 * d->reason only says so. */
		cause(d, "a firewall rule on this host (nftables or iptables %s "
		      "chain) or reverse-path filtering drops %s tcp/%u; the "
		      "kernel named no drop reason (1, 4)", in ? "INPUT" : "OUTPUT",
		      in ? "incoming" : "outgoing", server ? n->lport : n->rport);
	else
		cause(d, "the kernel dropped it with reason %s", why);
	cause(d, "conntrack state: a connection-tracking table that is full or "
	      "marks the packets INVALID (4)");
	check(d, "nft list ruleset | grep -n -w %u", server ? n->lport : n->rport);
	check(d, "%s-save | grep -w %u", n->v6 ? "ip6tables" : "iptables",
	      server ? n->lport : n->rport);
	if (!n->v6)
		check(d, "sysctl net.ipv4.conf.all.rp_filter");
	check(d, "conntrack -S ; conntrack -L -p tcp --dport %u",
	      server ? n->lport : n->rport);
}

static void fill_listen_overflow(struct diagnosis *d, const struct names *n)
{
	long long dropped = evd(d, "handshakes_dropped", 0);

	if (diag_evidence_get(d, "accept_queue", NULL))
		summary(d, "the accept queue of %s is full (%lld waiting, backlog "
			"%lld): %lld connection attempt%s dropped; the "
			"application is not calling accept() fast enough", n->lend,
			evd(d, "accept_queue", 0), evd(d, "backlog", 0), dropped,
			dropped == 1 ? " was" : "s were");
	else
		summary(d, "the accept queue of port %u is full: this host "
			"dropped %lld handshake%s from %s (%s)", n->lport, dropped,
			dropped == 1 ? "" : "s", n->raddr,
			d->reason[0] ? d->reason : "listen overflow");
	cause(d, "the server application is stuck, overloaded or not "
	      "accepting: its accept loop does not keep up (6)");
	cause(d, "the listen() backlog is too small for bursts of connections "
	      "(it is capped by net.core.somaxconn)");
	check(d, "ss -ltn 'sport = :%u'   # Recv-Q waiting vs Send-Q backlog",
	      n->lport);
	check(d, "nstat -az TcpExtListenOverflows TcpExtListenDrops");
	check(d, "sysctl net.core.somaxconn net.ipv4.tcp_max_syn_backlog");
	check(d, "ss -ltnp 'sport = :%u'   # which process should accept", n->lport);
}

void catalogue_fill(struct diagnosis *d)
{
	struct names n;
	size_t len;

	d->summary[0] = '\0';
	d->n_causes = 0;
	d->n_checks = 0;
	names_init(&n, d);

	switch (d->code) {
	case DIAG_SYN_UNANSWERED:
		fill_syn_unanswered(d, &n);
		break;
	case DIAG_CONNECTION_REFUSED:
		fill_connection_refused(d, &n);
		break;
	case DIAG_PORT_CLOSED:
		fill_port_closed(d, &n);
		break;
	case DIAG_NO_ROUTE:
		if (diag_evidence_get(d, "icmp_errors", NULL))
			fill_no_route_icmp(d, &n);
		else
			fill_no_route(d, &n);
		break;
	case DIAG_PEER_RESET:
		fill_peer_reset(d, &n);
		break;
	case DIAG_LOCAL_RESET:
		fill_local_reset(d, &n);
		break;
	case DIAG_PACKET_LOSS:
		fill_packet_loss(d, &n);
		break;
	case DIAG_PEER_APP_STALL:
		fill_peer_app_stall(d, &n);
		break;
	case DIAG_LOCAL_APP_STALL:
		fill_local_app_stall(d, &n);
		break;
	case DIAG_ZERO_WINDOW:
		fill_zero_window(d, &n);
		break;
	case DIAG_LOCAL_DROP:
		fill_local_drop(d, &n);
		break;
	case DIAG_HOST_UNREACHABLE:
		fill_host_unreachable(d, &n);
		break;
	case DIAG_FIREWALL_REJECT:
		fill_firewall_reject(d, &n);
		break;
	case DIAG_NAT_MISMATCH:
		fill_nat_mismatch(d, &n);
		break;
	case DIAG_PMTU_BLACKHOLE:
		fill_pmtu_blackhole(d, &n);
		break;
	case DIAG_LISTEN_OVERFLOW:
		fill_listen_overflow(d, &n);
		break;
	default:
		/* Codes whose rules have not landed yet still read sensibly. */
		summary(d, "%s on the connection %s -> %s", diag_code_name(d->code),
			n.lend, n.rend);
		check(d, "ss -tni dst %s", n.raddr);
		break;
	}

	/* The summary tells one flow's story; say how many shared it. */
	len = strlen(d->summary);
	if (d->connections > 1 && len < sizeof(d->summary))
		snprintf(d->summary + len, sizeof(d->summary) - len,
			 " (%u connections)", d->connections);
}
