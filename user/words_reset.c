// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The words of resets on an established connection, from either end. */
#include <stdio.h>
#include "words.h"

/* ", cutting off 120 unread bytes and a pending request", or "". */
static const char *cut_off(const struct diagnosis *d, char *buf, size_t len)
{
	long long unsent = words_ev(d, "unsent_bytes", 0), unread = words_ev(d, "unread_bytes", 0);
	bool pending = words_ev(d, "request_pending", 0);
	size_t n = 0;

	buf[0] = '\0';
	if (!unsent && !unread && !pending)
		return buf;
	n += snprintf(buf + n, len - n, ", cutting off");
	if (unsent && n < len)
		n += snprintf(buf + n, len - n, " %lld bytes never sent", unsent);
	if (unread && n < len)
		n += snprintf(buf + n, len - n, "%s %lld bytes never read",
			      unsent ? " and" : "", unread);
	if (pending && n < len)
		snprintf(buf + n, len - n, "%s a pending request",
			 unsent || unread ? " and" : "");
	return buf;
}

const char *words_signal(int sig, char *buf, size_t len)
{
	static const char *const names[] = {
		[1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL",
		[5] = "SIGTRAP", [6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE",
		[9] = "SIGKILL", [10] = "SIGUSR1", [11] = "SIGSEGV", [12] = "SIGUSR2",
		[13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM", [24] = "SIGXCPU",
		[25] = "SIGXFSZ", [31] = "SIGSYS",
	};

	if (sig > 0 && sig < (int)(sizeof(names) / sizeof(names[0])) && names[sig])
		return names[sig];
	snprintf(buf, len, "signal %d", sig);
	return buf;
}

/* "the OOM killer (SIGKILL)" or "SIGTERM", for a death's evidence. */
static const char *how_killed(const struct diagnosis *d, const char *sig_key,
			      char *buf, size_t len)
{
	char sb[24];
	const char *sig = words_signal((int)words_ev(d, sig_key, 0), sb, sizeof(sb));

	if (words_ev(d, "oom_killed", 0))
		snprintf(buf, len, "the OOM killer (%s)", sig);
	else
		snprintf(buf, len, "%s", sig);
	return buf;
}

/*
 * A reset that a killed process's death made, said short: the death is
 * PROCESS_KILLED's to tell. True when d is one.
 */
static bool reset_of_killed(const struct diagnosis *d, const struct words_names *n,
			    struct diag_words *w, bool local)
{
	long long pid = words_ev(d, "killed_pid", 0);
	char how[48], cut[128];

	if (!pid)
		return false;
	cut_off(d, cut, sizeof(cut));
	how_killed(d, "killed_signal", how, sizeof(how));
	if (words_ev(d, "killed_here", 0) && local)
		words_summary(w, "this host reset its connection with %s: process %lld "
			      "here was killed by %s (see PROCESS_KILLED)%s",
			      n->rend, pid, how, cut);
	else if (words_ev(d, "killed_here", 0))
		words_summary(w, "%s reset the connection after process %lld here was "
			      "killed by %s (see PROCESS_KILLED)%s", n->rend, pid, how, cut);
	else
		words_summary(w, "the connection with %s went down: its process %lld on "
			      "this host was killed by %s (see PROCESS_KILLED)%s",
			      n->rend, pid, how, cut);
	words_cause(w, "the process was killed with connections open; its kernel "
		    "closed them (7)");
	words_check(w, "journalctl -k --since -15min | grep -i -e oom -e 'killed process'");
	return true;
}

void words_process_killed(const struct diagnosis *d, const struct words_names *n,
			  struct diag_words *w)
{
	long long conns = words_ev(d, "connections_closed", 0);
	long long resets = words_ev(d, "resets_sent", 0);
	char how[48], sb[24], peers[160], addr[TT_ADDR_STRLEN];
	size_t off = 0;
	int sig = (int)words_ev(d, "signal", 0);

	how_killed(d, "signal", how, sizeof(how));
	peers[0] = '\0';
	for (unsigned int i = 0; i < d->n_peers && i < DIAG_MAX_PEERS && off < sizeof(peers); i++)
		off += snprintf(peers + off, sizeof(peers) - off, "%s%s (%u)", i ? ", " : "",
				tt_addr_str(d->peers[i].family, d->peers[i].addr, addr,
					    sizeof(addr)),
				d->peers[i].connections);
	if (d->peers_other && off < sizeof(peers))
		snprintf(peers + off, sizeof(peers) - off, ", %u more", d->peers_other);
	words_summary(w, "process %s was killed by %s and took down %lld connection%s "
		      "(%lld reset, %lld closed with FIN) with %s",
		      n->proc[0] ? n->proc : "(unknown)", how, conns, conns == 1 ? "" : "s",
		      resets, conns - resets, peers);
	if (words_ev(d, "oom_killed", 0)) {
		words_cause(w, "it ran out of memory: its cgroup's limit (a container's "
			    "memory limit, memory.max) or the host's memory (7)");
		words_cause(w, "a memory leak, or a load that needs more than the limit");
		words_check(w, "journalctl -k --since -15min | grep -i -e 'out of memory' "
			    "-e oom-kill -e 'killed process %u'", d->pid);
		words_check(w, "grep -e oom -e max /sys/fs/cgroup/<its cgroup>/memory.events");
	} else if (sig == 9 || sig == 15 || sig == 1 || sig == 2) {
		words_cause(w, "something killed it with %s: an operator, a deploy or "
			    "orchestrator stopping it (SIGKILL after a stop timeout), a "
			    "watchdog or health check (7)", words_signal(sig, sb, sizeof(sb)));
		words_check(w, "journalctl --since -15min | grep -w %u", d->pid);
	} else {
		words_cause(w, "it crashed (%s): a bug in the application or a library (7)",
			    words_signal(sig, sb, sizeof(sb)));
		words_check(w, "coredumpctl list %u", d->pid);
		words_check(w, "journalctl --since -15min | grep -w %u", d->pid);
	}
	words_cause(w, "its peers saw %s", resets ? "their connections reset (ECONNRESET)" :
		    "their connections closed (EOF) mid-use");
}

void words_peer_reset(const struct diagnosis *d, const struct words_names *n,
		      struct diag_words *w)
{
	char t[32], cut[128];

	if (reset_of_killed(d, n, w, false))
		return;
	cut_off(d, cut, sizeof(cut));
	if (diag_evidence_get(d, "age_ms", NULL))
		words_summary(w, "%s reset the connection after %s (%lld bytes sent, "
			      "%lld received)%s", n->rend,
			      words_duration(words_ev(d, "age_ms", 0), t, sizeof(t)),
			      words_ev(d, "bytes_sent", 0), words_ev(d, "bytes_received", 0),
			      cut);
	else
		words_summary(w, "%s reset an established connection (%lld bytes "
			      "sent, %lld received)%s", n->rend,
			      words_ev(d, "bytes_sent", 0), words_ev(d, "bytes_received", 0),
			      cut);
	if (d->severity == SEV_INFO) {
		/* Nothing was cut off: the reset is how it was meant to end. */
		if (words_ev(d, "after_peer_fin", 0))
			words_cause(w, "%s had closed the connection (its FIN came "
				    "first) and refused what this host wrote after: an "
				    "idle keep-alive it closed while this host still wrote; "
				    "no fault", n->raddr);
		else
			words_cause(w, "an abortive close with nothing outstanding either "
				    "way (SO_LINGER 0): a connection pool, a health checker "
				    "or a load balancer ending its connection; no fault");
		words_check(w, "ss -tni dst %s", n->raddr);
		return;
	}
	words_cause(w, "the process on %s crashed or was killed (OOM killer, a "
		    "deploy) and its kernel reset its connections (7)", n->raddr);
	words_cause(w, "the application there closed the socket with unread data, "
		    "or with SO_LINGER 0, or gave up waiting for an answer");
	words_cause(w, "a firewall, NAT or load balancer on the path lost the "
		    "connection's state (idle timeout) and answered with RST (1, 4)");
	words_check(w, "on %s: journalctl -k | grep -i -e oom -e 'killed process'",
		    n->raddr);
	words_check(w, "on %s: journalctl -p err --since -15min", n->raddr);
	words_check(w, "ss -tni dst %s", n->raddr);
}

/* Not a kernel reason: the application's own abort of a pending request. */
#define TT_RST_GAVE_UP	(-1)

void words_local_reset(const struct diagnosis *d, const struct words_names *n,
		       struct diag_words *w)
{
	long long reason = words_ev(d, "rst_reason", 0);
	char t[32], cut[128];

	if (reset_of_killed(d, n, w, true))
		return;
	cut_off(d, cut, sizeof(cut));
	if (diag_evidence_get(d, "age_ms", NULL))
		words_summary(w, "this host reset its connection with %s after %s: %s%s",
			      n->rend, words_duration(words_ev(d, "age_ms", 0), t, sizeof(t)),
			      tt_rst_reason_text((__u32)reason), cut);
	else
		words_summary(w, "this host reset its connection with %s: %s%s", n->rend,
			      tt_rst_reason_text((__u32)reason), cut);
	if (d->severity == SEV_INFO) {
		if (reason == TT_RST_ABORT_ON_DATA)
			words_cause(w, "%s wrote after the application here%s%s had "
				    "closed, when it waited for nothing more: a keep-alive "
				    "closed while the other end still wrote; no fault",
				    n->raddr, n->proc[0] ? " " : "", n->proc);
		else
			words_cause(w, "the application here%s%s ends its connections "
				    "with SO_LINGER 0 once done (a connection pool, a health "
				    "checker); nothing was outstanding either way; no fault",
				    n->proc[0] ? " " : "", n->proc);
		if (d->pid)
			words_check(w, "ps -o pid,etime,cmd -p %u", d->pid);
		words_check(w, "ss -tnp dst %s", n->raddr);
		return;
	}
	/* It gave up waiting for an answer: that silence is the fault. */
	if (diag_evidence_get(d, "gave_up_after_ms", NULL))
		reason = TT_RST_GAVE_UP;
	switch (reason) {
	case TT_RST_GAVE_UP:
		words_cause(w, "the application here%s%s gave up after %s waiting "
			    "for %s to answer its request, and aborted the connection "
			    "(SO_LINGER 0): the stall is %s's (PEER_APP_STALL)",
			    n->proc[0] ? " " : "", n->proc,
			    words_duration(words_ev(d, "gave_up_after_ms", 0), t, sizeof(t)),
			    n->raddr, n->raddr);
		break;
	case TT_RST_ABORT_ON_CLOSE:
	case TT_RST_DISCONNECT_WITH_DATA:
		words_cause(w, "the application here%s%s closed the socket without "
			    "reading all %s sent: an early close on an error path",
			    n->proc[0] ? " " : "", n->proc, n->raddr);
		words_cause(w, "the process exited or was killed (OOM killer or a "
			    "signal) with connections open (7)");
		break;
	case TT_RST_ABORT_ON_DATA:
		words_cause(w, "%s kept sending after the application here closed the "
			    "connection: a protocol mismatch, a pipelined request, or an "
			    "answer that came after the application here gave up",
			    n->raddr);
		break;
	case TT_RST_ABORT_ON_LINGER:
	case TT_RST_TCP_STATE:
		words_cause(w, "the application here%s%s aborts its connections "
			    "(SO_LINGER 0, or TCP_LINGER2 < 0) with something still "
			    "outstanding: it gave up",
			    n->proc[0] ? " " : "", n->proc);
		break;
	case TT_RST_ABORT_ON_MEMORY:
		words_cause(w, "memory pressure: orphaned sockets exceed tcp_mem or "
			    "tcp_max_orphans");
		break;
	case TT_RST_KEEPALIVE_TIMEOUT:
		words_cause(w, "%s stopped answering keepalive probes: it is gone, or "
			    "the path to it is", n->raddr);
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
	if (reason == TT_RST_ABORT_ON_MEMORY)
		words_check(w, "cat /proc/net/sockstat; sysctl net.ipv4.tcp_mem");
}
