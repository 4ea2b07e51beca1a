// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Two hosts' views of the same connections, joined: the seed article's
 * two-capture method, done on counts. Each client flow of one host is
 * paired with its server end on the other, by the mirrored 4-tuple or,
 * where a NAT rewrote the addresses, by the client's port, the time and
 * the SYN's initial sequence number (which a NAT leaves alone). Then the
 * handshake is followed from NIC to NIC: what left one host and never
 * reached the other was lost on the path; what reached a host's NIC and
 * was dropped by its own stack was that host's doing, with the kernel's
 * reason; a reply that came back from the server's own address went
 * around the NAT; a request that reached the server and got no answer is
 * the server application's; a reset is the side that sent it.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "correlate.h"
#include "words.h"

#define SEC			1000000000LL
/* A NAT-ed SYN reaches the server within this of leaving the client. */
#define NAT_WINDOW_NS		(3 * SEC)

const char *verdict_code_name(enum verdict_code c)
{
	static const char *const names[VERDICT_CODE_MAX] = {
		[VERDICT_PATH_DROP] = "PATH_DROP", [VERDICT_HOST_DROP] = "HOST_DROP",
		[VERDICT_NAT_MISMATCH] = "NAT_MISMATCH", [VERDICT_APP_STALL] = "APP_STALL",
		[VERDICT_RESET] = "RESET", [VERDICT_CLOCK] = "CLOCK",
	};

	return c < VERDICT_CODE_MAX ? names[c] : "UNKNOWN";
}

const char *verdict_where_name(enum verdict_where w)
{
	return w == WHERE_CLIENT ? "client" : w == WHERE_SERVER ? "server" : "network";
}

/* ---------------------------------------------------------------- clocks */

/*
 * Sums and differences of clock readings wrap rather than overflow: a
 * damaged or crafted recording may hold any time and any offset.
 */
static long long add_ns(long long a, long long b)
{
	return (long long)((unsigned long long)a + (unsigned long long)b);
}

static long long sub_ns(long long a, long long b)
{
	return (long long)((unsigned long long)a - (unsigned long long)b);
}

static long long abs_ns(long long a)
{
	return a >= 0 ? a : a == LLONG_MIN ? LLONG_MAX : -a;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * What one handshake says about the clocks (y = x + offset), NTP's way:
 * the SYN's trip x -> y and the SYN-ACK's y -> x take about as long, so
 * half the difference of the two apparent trips is the offset. Only
 * clean handshakes (one SYN, one SYN-ACK) are asked: a retransmitted one
 * adds a timeout to one trip.
 */
static bool handshake_offset(const struct cflow *c, const struct cflow *s, long long *off)
{
	long long t1, t2, t3, t4;

	if (!c->has_nic || !s->has_nic || c->nic.dir[NIC_OUT].syn != 1 ||
	    s->nic.dir[NIC_IN].syn != 1 || s->nic.dir[NIC_OUT].synack != 1 ||
	    c->nic.dir[NIC_IN].synack != 1)
		return false;
	t1 = c->nic.dir[NIC_OUT].first_ns;	/* the SYN leaves the client */
	t2 = s->nic.dir[NIC_IN].first_ns;	/* ... reaches the server */
	t3 = s->nic.dir[NIC_OUT].first_ns;	/* the SYN-ACK leaves the server */
	t4 = c->nic.dir[NIC_IN].first_ns;	/* ... reaches the client */
	if (!t1 || !t2 || !t3 || !t4)
		return false;
	*off = sub_ns(sub_ns(t2, t1), sub_ns(t4, t3)) / 2;
	return true;
}

static struct cflow *mirror(struct chost *y, const struct cflow *c)
{
	struct cflow *s = chost_find(y, c->key.family, c->key.raddr, c->key.rport,
				     c->key.laddr, c->key.lport);

	return s && s->side != TT_SIDE_CLIENT && !s->stray ? s : NULL;
}

/* The offset from every clean handshake found at both ends (B = A + offset). */
static unsigned int measure_clock(struct chost *a, struct chost *b, long long *median,
				  long long *spread)
{
	long long *v = NULL, off;
	size_t n = 0, cap = 0;

	for (int dir = 0; dir < 2; dir++) {
		struct chost *x = dir ? b : a, *y = dir ? a : b;

		for (size_t i = 0; i < x->n; i++) {
			struct cflow *c = &x->flows[i], *s;

			if (c->side != TT_SIDE_CLIENT || !(s = mirror(y, c)) ||
			    !handshake_offset(c, s, &off))
				continue;
			if (n == cap) {
				long long *nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));

				if (!nv)
					break;
				v = nv;
			}
			v[n++] = dir ? -off : off;
		}
	}
	if (n) {
		qsort(v, n, sizeof(*v), cmp_ll);
		*median = v[n / 2];
		*spread = sub_ns(v[n - 1], v[0]);
	}
	free(v);
	return n;
}

static void clock_align(struct chost *a, struct chost *b, struct corr_result *res)
{
	long long median = 0, spread = 0;

	res->handshakes = measure_clock(a, b, &median, &spread);
	res->offset_spread_ns = spread;
	if (a->hdr.boot_id[0] && !strcmp(a->hdr.boot_id, b->hdr.boot_id)) {
		/* One machine's boot (two namespaces, two containers): one
		 * monotonic clock. The handshakes are reported, not used. */
		res->clock_from = CLOCK_SAME_BOOT;
		res->offset_ns = 0;
	} else if (res->handshakes) {
		res->clock_from = CLOCK_HANDSHAKES;
		res->offset_ns = median;
	} else {
		/* Each host's boot-to-wall offset: as good as its NTP. */
		res->clock_from = CLOCK_WALL;
		res->offset_ns = sub_ns(a->hdr.mono_to_real_ns, b->hdr.mono_to_real_ns);
	}
	/* B's span on A's clock: do the two recordings share any time? */
	res->overlap = (long long)a->start_ns <= sub_ns(b->end_ns, res->offset_ns) &&
		       sub_ns(b->start_ns, res->offset_ns) <= (long long)a->end_ns;
}

/* ---------------------------------------------------------------- verdicts */

struct pair {
	struct chost *x, *y;		/* the client's host, the server's */
	struct cflow *c, *s;		/* s: NULL when the server end saw nothing */
	bool nat;			/* paired through a NAT */
	char caddr[TT_ADDR_STRLEN], saddr[TT_ADDR_STRLEN];	/* as each host is */
	char send[TT_ADDR_STRLEN + 8];	/* the server as the client addressed it */
};

static void evidence(struct verdict *v, const char *name, long long value)
{
	if (v->n_evidence < VERDICT_MAX_EVIDENCE)
		v->evidence[v->n_evidence++] = (struct diag_evidence_item){ name, value };
}

__attribute__((format(printf, 4, 5)))
static void verdict_say(struct verdict *v, enum verdict_code code, enum verdict_where where,
			const char *fmt, ...)
{
	va_list ap;

	v->code = code;
	v->where = where;
	va_start(ap, fmt);
	vsnprintf(v->summary, sizeof(v->summary), fmt, ap);
	va_end(ap);
}

static __u32 nic(const struct cflow *f, int dir, size_t field)
{
	if (!f || !f->has_nic)
		return 0;
	return *(const __u32 *)((const char *)&f->nic.dir[dir] + field);
}

#define NIC(f, dir, what)	nic(f, dir, offsetof(struct nic_dir_stats, what))

static __u64 nic_bytes(const struct cflow *f, int dir)
{
	return f && f->has_nic ? f->nic.dir[dir].data_bytes : 0;
}

/* "10.0.2.10's firewall dropped it (NETFILTER_DROP)": who, why in words, the reason's name. */
static const char *drop_words(const char *host, const struct cflow *f, char *buf, size_t len)
{
	const char *n = f->drop_named ? f->drop_name : "";

	if (strstr(n, "NETFILTER") || strstr(n, "NF_"))
		snprintf(buf, len, "%s's firewall dropped it (%s)", host, n);
	else if (strstr(n, "LISTEN_OVERFLOW") || strstr(n, "BACKLOG"))
		snprintf(buf, len, "%s's accept queue was full and its stack dropped it (%s)",
			 host, n);
	else if (n[0])
		snprintf(buf, len, "%s's own stack dropped it (%s)", host, n);
	else
		snprintf(buf, len, "%s's own stack dropped it (the kernel gave no reason)", host);
	return buf;
}

/* The handshake failed: where did it stop? */
static bool judge_handshake(const struct pair *p, struct verdict *v)
{
	const struct cflow *c = p->c, *s = p->s;
	__u32 syns = NIC(c, NIC_OUT, syn), syns_in = NIC(s, NIC_IN, syn);
	__u32 synacks = NIC(s, NIC_OUT, synack), synacks_in = NIC(c, NIC_IN, synack);
	__u32 rsts = s ? (s->rst_tx ? s->rst_tx : NIC(s, NIC_OUT, rst)) : 0;
	bool arrived;
	char why[160];

	/* Where a NIC hook is missing, the socket events count. */
	if (!synacks && s && s->synack_retrans)
		synacks = 1 + s->synack_retrans;
	arrived = syns_in || synacks || rsts || (s && (s->drops_in || s->established));
	evidence(v, "syns_sent", 1 + c->syn_retrans);
	evidence(v, "syns_left_client_nic", syns);
	if (c->drops_out && !syns) {
		evidence(v, "client_drops", c->drops_out);
		snprintf(v->reason, sizeof(v->reason), "%s", c->drop_name);
		verdict_say(v, VERDICT_HOST_DROP, WHERE_CLIENT, "the SYN never left %s: %s on "
			    "the way out; %s saw nothing of it", p->caddr,
			    drop_words(p->caddr, c, why, sizeof(why)), p->send);
		return true;
	}
	if (!syns)	/* no egress count (no NIC hook): the events count the attempts */
		syns = 1 + c->syn_retrans;
	evidence(v, "syns_at_server_nic", syns_in);
	if (s && s->drops_in && !synacks) {
		evidence(v, "server_drops", s->drops_in);
		snprintf(v->reason, sizeof(v->reason), "%s", s->drop_name);
		verdict_say(v, VERDICT_HOST_DROP, WHERE_SERVER, "SYN left %s and reached %s's NIC; "
			    "%s", p->caddr, p->saddr, drop_words(p->saddr, s, why, sizeof(why)));
		return true;
	}
	if (!arrived) {
		if (!p->y->hdr.nic_ingress)
			return false;	/* the server's recording counts no arrivals */
		verdict_say(v, VERDICT_PATH_DROP, WHERE_NETWORK, "%u SYN%s left %s's NIC for %s; "
			    "none reached %s's NIC: lost on the path between them (a router or "
			    "firewall in between)", syns, syns == 1 ? "" : "s", p->caddr, p->send,
			    p->saddr);
		return true;
	}
	evidence(v, "synacks_left_server_nic", synacks);
	evidence(v, "synacks_at_client_nic", synacks_in);
	if (!synacks && rsts) {
		evidence(v, "resets_sent", rsts);
		verdict_say(v, VERDICT_RESET, WHERE_SERVER, "SYN reached %s, which answered it "
			    "with RST: nothing listens on port %u there", p->saddr, s->key.lport);
		return true;
	}
	if (!synacks) {
		if (!s->has_nic)
			return false;	/* no count of what left it */
		verdict_say(v, VERDICT_HOST_DROP, WHERE_SERVER, "SYN left %s and reached %s's "
			    "NIC; %s never answered it: its own stack dropped it (no drop was "
			    "traced there)", p->caddr, p->saddr, p->saddr);
		return true;
	}
	if (p->nat && (c->nat_reply || !synacks_in)) {
		char real[TT_ADDR_STRLEN + 8];

		snprintf(real, sizeof(real), "%s:%u", p->saddr, s->key.lport);
		if (s->key.family == TT_AF_INET6)
			snprintf(real, sizeof(real), "[%s]:%u", p->saddr, s->key.lport);
		evidence(v, "stray_synacks", c->nat_reply ? synacks : 0);
		verdict_say(v, VERDICT_NAT_MISMATCH, WHERE_NETWORK, "the SYN to %s was translated "
			    "to %s and reached it; its SYN-ACK came back to %s from %s, "
			    "untranslated: the reply bypassed the NAT (an asymmetric return path)",
			    p->send, real, p->caddr, real);
		return true;
	}
	if (synacks_in && c->drops_in) {
		evidence(v, "client_drops", c->drops_in);
		snprintf(v->reason, sizeof(v->reason), "%s", c->drop_name);
		verdict_say(v, VERDICT_HOST_DROP, WHERE_CLIENT, "%s answered: its SYN-ACK left "
			    "%s and reached %s's NIC; %s", p->send, p->saddr, p->caddr,
			    drop_words(p->caddr, c, why, sizeof(why)));
		return true;
	}
	if (!synacks_in && c->has_nic && p->x->hdr.nic_ingress) {
		verdict_say(v, VERDICT_PATH_DROP, WHERE_NETWORK, "SYN reached %s, which answered "
			    "with %u SYN-ACK%s; none reached %s's NIC: lost on the way back",
			    p->saddr, synacks, synacks == 1 ? "" : "s", p->caddr);
		return true;
	}
	return false;
}

/* Who reset an established connection, and what it cut off. */
static bool judge_reset(const struct pair *p, struct verdict *v)
{
	const struct cflow *c = p->c, *s = p->s;
	const struct cflow *by = s->rst_tx && !s->rst_no_socket ? s :
				 c->rst_tx && !c->rst_no_socket ? c : NULL;
	const struct cflow *to;
	const char *who, *whom;
	char what[200];
	__u32 resets = (1u << DIAG_PEER_RESET) | (1u << DIAG_LOCAL_RESET);

	if (!by)
		return false;
	to = by == s ? c : s;
	/* An abortive close after a complete exchange (a pool's SO_LINGER 0)
	 * broke nothing: only a reset either end judged a fault, or one that
	 * cut data off, is a verdict. */
	if (!((c->serious | s->serious) & resets) && !by->rst_unread && !by->rst_unsent)
		return false;
	who = by == s ? p->saddr : p->caddr;
	whom = by == s ? p->caddr : p->saddr;
	evidence(v, "resets_sent", by->rst_tx);
	evidence(v, "resets_received", to->rst_rx);
	evidence(v, "unread_bytes", by->rst_unread);
	evidence(v, "unsent_bytes", by->rst_unsent);
	evidence(v, "rst_reason", by->rst_reason);
	if (by->rst_unread)
		snprintf(what, sizeof(what), "%s (%u bytes unread): its process exited or was "
			 "killed, or closed the socket early", tt_rst_reason_text(by->rst_reason),
			 by->rst_unread);
	else
		snprintf(what, sizeof(what), "%s", tt_rst_reason_text(by->rst_reason));
	verdict_say(v, VERDICT_RESET, by == s ? WHERE_SERVER : WHERE_CLIENT, "%s reset the "
		    "connection: %s; %s %s", who, what, whom,
		    to->rst_rx ? "received the RST" : "saw no RST arrive");
	return true;
}

/* The request reached the server; did an answer leave it? */
static bool judge_stall(const struct pair *p, struct verdict *v)
{
	const struct cflow *c = p->c, *s = p->s;
	__u64 req = nic_bytes(s, NIC_IN) ? nic_bytes(s, NIC_IN) : s->bytes_received;
	__u64 sent = nic_bytes(c, NIC_OUT);
	__u64 resp = nic_bytes(s, NIC_OUT) > s->bytes_sent ? nic_bytes(s, NIC_OUT) : s->bytes_sent;
	bool stalled = (c->serious & (1u << DIAG_PEER_APP_STALL)) ||
		       (s->serious & (1u << DIAG_LOCAL_APP_STALL)) ||
		       ((c->codes | s->codes) & ((1u << DIAG_PEER_APP_STALL) |
						 (1u << DIAG_LOCAL_APP_STALL)));
	long long waited = c->stall_ms > s->stall_ms ? c->stall_ms : s->stall_ms;
	char t[32];

	if (sent && !req && s->has_nic && p->y->hdr.nic_ingress) {
		evidence(v, "request_bytes", sent);
		verdict_say(v, VERDICT_PATH_DROP, WHERE_NETWORK, "the connection opened; %llu "
			    "bytes left %s's NIC for %s and none reached %s's NIC",
			    (unsigned long long)sent, p->caddr, p->send, p->saddr);
		return true;
	}
	if (!stalled || !req || resp)
		return false;
	evidence(v, "request_bytes", req);
	evidence(v, "response_bytes", 0);
	evidence(v, "read_by_server", s->bytes_received >= req);
	if (waited)
		evidence(v, "waited_ms", waited);
	verdict_say(v, VERDICT_APP_STALL, WHERE_SERVER, "the request (%llu bytes) left %s and "
		    "reached %s%s; no response left %s%s%s: its application hangs",
		    (unsigned long long)req, p->caddr, p->saddr,
		    s->bytes_received >= req ? ", whose application read it" : "", p->saddr,
		    waited ? " in " : "", waited ? words_duration(waited, t, sizeof(t)) : "");
	return true;
}

static void judge(const struct pair *p, struct corr_result *res, verdict_fn fn, void *ctx)
{
	const struct cflow *c = p->c;
	struct verdict v;
	bool said;

	memset(&v, 0, sizeof(v));
	v.family = c->key.family;
	memcpy(v.caddr, c->key.laddr, sizeof(v.caddr));
	memcpy(v.saddr, c->key.raddr, sizeof(v.saddr));
	v.cport = c->key.lport;
	v.sport = c->key.rport;
	v.wall_ns = add_ns(c->syn_ns ? c->syn_ns : c->first_ns, p->x->hdr.mono_to_real_ns);
	if (!c->established)
		said = judge_handshake(p, &v);
	else if (p->s)
		said = judge_reset(p, &v) || judge_stall(p, &v);
	else	/* it opened: its server end was not recorded (another port, namespace) */
		said = false;
	if (!said)
		return;
	res->verdicts++;
	fn(&v, ctx);
}

/* ---------------------------------------------------------------- pairing */

/*
 * The server end of a client whose SYN a NAT rewrote: same family, and
 * the SYN's sequence number (a NAT rewrites addresses and ports, not
 * sequence numbers), or the source port the NAT kept with the time, or
 * the address the reply came back from.
 */
static struct cflow *nat_end(struct chost *y, const struct cflow *c, long long to_y)
{
	struct cflow *best = NULL;
	long long best_dt = 0;
	int best_score = 0;
	long long t = add_ns(c->syn_ns ? c->syn_ns : c->first_ns, to_y);
	size_t alen = c->key.family == TT_AF_INET ? 4 : 16;

	for (size_t i = 0; i < y->n; i++) {
		struct cflow *s = &y->flows[i];
		long long dt = abs_ns(sub_ns(s->first_ns, t));
		int score = 0;

		if (s->side == TT_SIDE_CLIENT || s->stray || s->matched ||
		    s->key.family != c->key.family)
			continue;
		if (c->has_nic && s->has_nic && c->nic.syn_seq && c->nic.syn_seq == s->nic.syn_seq)
			score = 4;
		else if (c->nat_reply && !memcmp(s->key.laddr, c->nat_addr, alen) &&
			 s->key.lport == c->nat_port && s->key.rport == c->key.lport)
			score = 3;
		else if (s->key.rport == c->key.lport && dt <= NAT_WINDOW_NS)
			score = !memcmp(s->key.raddr, c->key.laddr, alen) ? 2 : 1;
		if (score > best_score || (score == best_score && score && dt < best_dt)) {
			best = s;
			best_score = score;
			best_dt = dt;
		}
	}
	return best_score >= 2 ? best : NULL;
}

static void join_side(struct chost *x, struct chost *y, long long to_y, struct corr_result *res,
		      verdict_fn fn, void *ctx)
{
	for (size_t i = 0; i < x->n; i++) {
		struct pair p = { .x = x, .y = y, .c = &x->flows[i] };
		const struct cflow *c = p.c;
		long long t = add_ns(c->syn_ns ? c->syn_ns : c->first_ns, to_y);

		if (c->side != TT_SIDE_CLIENT || c->stray)
			continue;
		p.s = mirror(y, c);
		if (!p.s && (p.s = nat_end(y, c, to_y)))
			p.nat = true;
		if (p.s) {
			p.s->matched = true;
			res->pairs++;
			res->nat_pairs += p.nat;
		} else if (t < (long long)y->start_ns || t > (long long)y->end_ns) {
			/* The other end was not recording then: nothing to say. */
			res->outside++;
			continue;
		} else {
			res->unmatched++;
		}
		tt_addr_str(c->key.family, c->key.laddr, p.caddr, sizeof(p.caddr));
		tt_addr_str(c->key.family, p.s ? p.s->key.laddr : c->key.raddr, p.saddr,
			    sizeof(p.saddr));
		{
			char a[TT_ADDR_STRLEN];

			tt_addr_str(c->key.family, c->key.raddr, a, sizeof(a));
			snprintf(p.send, sizeof(p.send), c->key.family == TT_AF_INET6 ? "[%s]:%u" :
				 "%s:%u", a, c->key.rport);
		}
		judge(&p, res, fn, ctx);
	}
}

void correlate_join(struct chost *a, struct chost *b, struct corr_result *res,
		    verdict_fn fn, void *ctx)
{
	memset(res, 0, sizeof(*res));
	clock_align(a, b, res);
	if (!res->overlap) {
		struct verdict v;

		memset(&v, 0, sizeof(v));
		v.code = VERDICT_CLOCK;
		v.where = WHERE_NETWORK;
		v.wall_ns = add_ns(a->start_ns, a->hdr.mono_to_real_ns);
		evidence(&v, "offset_ms", res->offset_ns / 1000000);
		evidence(&v, "a_span_ms", (long long)(a->end_ns - a->start_ns) / 1000000);
		evidence(&v, "b_span_ms", (long long)(b->end_ns - b->start_ns) / 1000000);
		snprintf(v.summary, sizeof(v.summary), "the two recordings do not overlap in "
			 "time (by %s): no connection can be followed from one host to the "
			 "other; record both ends at once", res->clock_from == CLOCK_SAME_BOOT ?
			 "their shared clock" : "the hosts' wall clocks");
		res->verdicts++;
		fn(&v, ctx);
		return;
	}
	join_side(a, b, res->offset_ns, res, fn, ctx);
	join_side(b, a, sub_ns(0, res->offset_ns), res, fn, ctx);
}
