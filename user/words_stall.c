// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The words of absence: an answer that does not come, data nobody reads,
 * a window that stays shut. */
#include <stdio.h>
#include "words.h"

/* "64-byte", or "~64-byte" where it is the mean of a busy interval. */
static const char *request_size(const struct diagnosis *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s%lld-byte", words_ev(d, "request_bytes_mean", 0) ? "~" : "",
		 words_ev(d, "request_bytes", 0));
	return buf;
}

/* What became of the answer given up on. */
static const char *late_answer(const struct diagnosis *d, bool client, char *buf,
			       size_t len)
{
	char t[32];

	if (!words_ev(d, "answered_late", 0))
		snprintf(buf, len, "no answer %s since", client ? "came" : "left");
	else
		snprintf(buf, len, "the answer %s %s later%s", client ? "came" : "left",
			 words_duration(words_ev(d, "answer_after_ms", 0), t, sizeof(t)),
			 client ? ", to a closed socket (reset)" : ", too late");
	return buf;
}

void words_peer_app_stall(const struct diagnosis *d, const struct words_names *n,
			  struct diag_words *w)
{
	char t[32], size[32], late[96];

	if (diag_evidence_get(d, "gave_up_after_ms", NULL))
		words_summary(w, "the application here gave up on its %s request to %s "
			      "after %s and %s the connection: %s had ACKed it and "
			      "not answered; %s", request_size(d, size, sizeof(size)),
			      n->rend, words_duration(words_ev(d, "gave_up_after_ms", 0),
						      t, sizeof(t)),
			      words_ev(d, "closed_with_reset", 0) ?
			      "reset (SO_LINGER 0)" : "closed",
			      n->raddr, late_answer(d, true, late, sizeof(late)));
	else
		words_summary(w, "%s ACKed our %s request %s ago and has not "
			      "answered: its application got it and is not responding "
			      "(srtt %lldms)", n->rend, request_size(d, size, sizeof(size)),
			      words_duration(words_ev(d, "waited_ms", 0), t, sizeof(t)),
			      words_ev(d, "srtt_ms", 0));
	words_cause(w, "the application on %s is busy, deadlocked, or waiting on a "
		    "dependency of its own (a database, another service) (6)",
		    n->raddr);
	words_cause(w, "it is overloaded: its workers or event loop are saturated (6)");
	words_cause(w, "it waits for more of the request than was sent (framing, "
		    "a length header, a missing newline)");
	if (diag_evidence_get(d, "gave_up_after_ms", NULL))
		words_cause(w, "the timeout here is shorter than %s's normal latency",
			    n->raddr);
	words_check(w, "on %s: ss -tnp 'sport = :%u'", n->raddr, n->rport);
	words_check(w, "on %s: top -H", n->raddr);
	words_check(w, "on %s: journalctl -p warning --since -15min", n->raddr);
	words_check(w, "ss -tni dst %s", n->raddr);
}

void words_local_app_stall(const struct diagnosis *d, const struct words_names *n,
			   struct diag_words *w)
{
	bool server = d->side == TT_SIDE_SERVER;
	char t[32], size[32], late[96];

	if (diag_evidence_get(d, "unread_bytes", NULL)) {
		words_summary(w, "the application here has not read %lld bytes from "
			      "%s waiting in its receive queue for %s (receive window "
			      "%lld)", words_ev(d, "unread_bytes", 0), n->rend,
			      words_duration(words_ev(d, "not_read_ms", 0), t, sizeof(t)),
			      words_ev(d, "rcv_wnd", 0));
		words_cause(w, "the application%s%s stopped reading this socket: its "
			    "event loop is blocked or it lost track of the socket (6)",
			    n->proc[0] ? " " : "", n->proc);
		words_cause(w, "it is overloaded and reads slower than %s sends (6)",
			    n->raddr);
		words_cause(w, "it waits on something else (a lock, a dependency) "
			    "before it reads again (6)");
	} else if (diag_evidence_get(d, "gave_up_after_ms", NULL)) {
		words_summary(w, "%s gave up on its %s request after %s and closed "
			      "the connection: the application here had not answered; %s",
			      n->rend, request_size(d, size, sizeof(size)),
			      words_duration(words_ev(d, "gave_up_after_ms", 0), t, sizeof(t)),
			      late_answer(d, false, late, sizeof(late)));
		words_cause(w, "the application%s%s answers slower than %s waits: "
			    "busy, overloaded, or waiting on a dependency (6)",
			    n->proc[0] ? " " : "", n->proc, n->raddr);
		words_cause(w, "the client's timeout is shorter than this service's "
			    "normal latency");
	} else {
		words_summary(w, "a %s request from %s was read by the "
			      "application here %s ago and nothing was sent back",
			      request_size(d, size, sizeof(size)), n->rend,
			      words_duration(words_ev(d, "waited_ms", 0), t, sizeof(t)));
		words_cause(w, "the application%s%s is busy, deadlocked, or waiting "
			    "on a dependency of its own (6)",
			    n->proc[0] ? " " : "", n->proc);
		words_cause(w, "its workers are all taken: the request waits in its "
			    "own queue (6)");
		words_cause(w, "it waits for more of the request than arrived "
			    "(framing, a length header, a missing newline)");
	}
	if (server)
		words_check(w, "ss -tnp 'sport = :%u'", n->lport);
	else
		words_check(w, "ss -tnp dst %s", n->raddr);
	if (d->pid) {
		words_check(w, "top -H -p %u", d->pid);
		words_check(w, "gdb -p %u -batch -ex 'thread apply all bt'", d->pid);
	}
}

void words_zero_window(const struct diagnosis *d, const struct words_names *n,
		       struct diag_words *w)
{
	char t[32];

	words_summary(w, "%s has advertised a zero window for %s while %lld bytes "
		      "wait to be delivered (%lld window probes unanswered): its "
		      "application is not reading", n->rend,
		      words_duration(words_ev(d, "zero_window_ms", 0), t, sizeof(t)),
		      words_ev(d, "unsent_bytes", 0), words_ev(d, "probes", 0));
	words_cause(w, "the application on %s stopped reading: blocked, "
		    "deadlocked or overloaded (6)", n->raddr);
	words_cause(w, "it reads slower than this host sends and its receive "
		    "buffer filled up (6)");
	words_cause(w, "its receive buffer is small for the rate (SO_RCVBUF, "
		    "net.ipv4.tcp_rmem)");
	words_check(w, "on %s: ss -tnpm 'sport = :%u'", n->raddr, n->rport);
	words_check(w, "on %s: top -H", n->raddr);
	words_check(w, "ss -tni dst %s", n->raddr);
}
