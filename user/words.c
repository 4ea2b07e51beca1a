// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rendering a diagnosis' words, and the toolbox the words of each code
 * share. The causes follow the seven common causes of a broken call
 * between two services: (1) a firewall drops it, (2) routing, (3) the
 * host is down or nothing listens, (4) NAT, (5) congestion and loss, (6)
 * the application hangs, (7) the application crashed or was killed.
 * Every check is a command with this diagnosis' addresses and ports.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "catalogue.h"
#include "words.h"

const char *tt_addr_str(__u16 family, const __u8 addr[16], char *buf, size_t len)
{
	int af = family == TT_AF_INET6 ? AF_INET6 : AF_INET;

	if (!inet_ntop(af, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
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

const char *words_errno(int err)
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

long long words_ev(const struct diagnosis *d, const char *name, long long dflt)
{
	long long v;

	return diag_evidence_get(d, name, &v) ? v : dflt;
}

const char *words_duration(long long ms, char *buf, size_t len)
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

const char *words_times(long long n, char *buf, size_t len)
{
	if (n == 1)
		return "once";
	snprintf(buf, len, "%lld times", n);
	return buf;
}

void words_summary(struct diag_words *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->summary, sizeof(w->summary), fmt, ap);
	va_end(ap);
}

void words_cause(struct diag_words *w, const char *fmt, ...)
{
	va_list ap;

	if (w->n_causes >= DIAG_MAX_CAUSES)
		return;
	va_start(ap, fmt);
	vsnprintf(w->causes[w->n_causes++], DIAG_TEXT_LEN, fmt, ap);
	va_end(ap);
}

void words_check(struct diag_words *w, const char *fmt, ...)
{
	va_list ap;

	if (w->n_checks >= DIAG_MAX_CHECKS)
		return;
	va_start(ap, fmt);
	vsnprintf(w->checks[w->n_checks++], DIAG_TEXT_LEN, fmt, ap);
	va_end(ap);
}

static void names_init(struct words_names *n, const struct diagnosis *d)
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

/* The party a diagnosis names: a drop reason by its kernel name (its
 * number when this kernel has none), a responder by address. */
static void reason_init(struct diag_words *w, const struct diagnosis *d)
{
	char addr[TT_ADDR_STRLEN];

	if (d->has_drop_reason && d->drop_reason_name[0]) {
		snprintf(w->reason, sizeof(w->reason), "%s", d->drop_reason_name);
	} else if (d->has_drop_reason) {
		snprintf(w->reason, sizeof(w->reason), "reason %u", d->drop_reason);
	} else if (d->has_responder && d->responder_port) {
		tt_addr_str(d->key.family, d->responder, addr, sizeof(addr));
		snprintf(w->reason, sizeof(w->reason),
			 d->key.family == TT_AF_INET6 ? "[%s]:%u" : "%s:%u",
			 addr, d->responder_port);
	} else if (d->has_responder) {
		tt_addr_str(d->key.family, d->responder, w->reason, sizeof(w->reason));
	}
}

void diag_words(const struct diagnosis *d, struct diag_words *w)
{
	const struct diag_entry *entry = diag_entry_of(d->code);
	struct words_names n;
	size_t len;

	memset(w, 0, sizeof(*w));
	if (!entry || !entry->words)
		return;
	names_init(&n, d);
	reason_init(w, d);
	entry->words(d, &n, w);

	/* The summary tells one flow's story; say how many shared it (a
	 * death's tells its whole damage itself). */
	len = strlen(w->summary);
	if (d->connections > 1 && d->code != DIAG_PROCESS_KILLED && len < sizeof(w->summary))
		snprintf(w->summary + len, sizeof(w->summary) - len,
			 " (%u connections)", d->connections);
}
