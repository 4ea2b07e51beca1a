// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The words of resets on an established connection, from either end. */
#include "words.h"

void words_peer_reset(const struct diagnosis *d, const struct words_names *n,
		      struct diag_words *w)
{
	char t[32];

	if (diag_evidence_get(d, "age_ms", NULL))
		words_summary(w, "%s reset the connection after %s (%lld bytes sent, "
			      "%lld received)", n->rend,
			      words_duration(words_ev(d, "age_ms", 0), t, sizeof(t)),
			      words_ev(d, "bytes_sent", 0), words_ev(d, "bytes_received", 0));
	else
		words_summary(w, "%s reset an established connection (%lld bytes "
			      "sent, %lld received)", n->rend,
			      words_ev(d, "bytes_sent", 0), words_ev(d, "bytes_received", 0));
	words_cause(w, "the process on %s crashed or was killed (OOM killer, a "
		    "deploy) and its kernel reset its connections (7)", n->raddr);
	words_cause(w, "the application there closed the socket with unread data, "
		    "or with SO_LINGER 0");
	words_cause(w, "a firewall, NAT or load balancer on the path lost the "
		    "connection's state (idle timeout) and answered with RST (1, 4)");
	words_check(w, "on %s: journalctl -k | grep -i -e oom -e 'killed process'",
		    n->raddr);
	words_check(w, "on %s: journalctl -p err --since -15min", n->raddr);
	words_check(w, "ss -tni dst %s", n->raddr);
}

void words_local_reset(const struct diagnosis *d, const struct words_names *n,
		       struct diag_words *w)
{
	long long reason = words_ev(d, "rst_reason", 0);
	char t[32];

	if (diag_evidence_get(d, "age_ms", NULL))
		words_summary(w, "this host reset its connection with %s after %s: %s",
			      n->rend, words_duration(words_ev(d, "age_ms", 0), t, sizeof(t)),
			      tt_rst_reason_text((__u32)reason));
	else
		words_summary(w, "this host reset its connection with %s: %s", n->rend,
			      tt_rst_reason_text((__u32)reason));
	switch (reason) {
	case 11:
	case 16:
		words_cause(w, "the application here%s%s closed the socket without "
			    "reading all %s sent: an early close on an error path",
			    n->proc[0] ? " " : "", n->proc, n->raddr);
		words_cause(w, "the process exited or was killed (OOM killer or a "
			    "signal) with connections open (7)");
		break;
	case 8:
		words_cause(w, "%s kept sending after the application here closed the "
			    "connection: a protocol mismatch or a pipelined request",
			    n->raddr);
		break;
	case 12:
	case 14:
		words_cause(w, "the application here%s%s aborts its connections "
			    "(SO_LINGER 0, or TCP_LINGER2 < 0)",
			    n->proc[0] ? " " : "", n->proc);
		break;
	case 13:
		words_cause(w, "memory pressure: orphaned sockets exceed tcp_mem or "
			    "tcp_max_orphans");
		break;
	default:
		words_cause(w, "the process here exited or was killed with "
			    "connections open (7)");
		break;
	}
	words_check(w, "journalctl -k | grep -i -e oom -e 'killed process'");
	if (d->pid)
		words_check(w, "ps -o pid,etime,cmd -p %u", d->pid);
	words_check(w, "ss -tnp dst %s", n->raddr);
	if (reason == 13)
		words_check(w, "cat /proc/net/sockstat; sysctl net.ipv4.tcp_mem");
}
