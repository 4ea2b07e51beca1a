// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tier 2, root: the NIC programs (bpf/nic.bpf.c).
 *
 * 1. BPF_PROG_TEST_RUN with crafted packets through the XDP, TC ingress and
 *    TC egress programs: the verdict is always "pass", the packet comes
 *    back byte for byte, and the flow map and counters hold exactly what
 *    the packet should have counted: a SYN or SYN-ACK opens a record, a
 *    RST or FIN adds to one, a data segment or a bare ACK touches none
 *    (on egress, it adds to one while a connection retransmits data).
 * 2. Real attachment (user/nic_attach.c) to a veth pair between two
 *    throwaway network namespaces, created in a child process so they die
 *    with it whatever happens: real SYN/RST counted, a foreign XDP program
 *    never replaced, nothing left attached after detach.
 *
 * One line a case: "PASS name" or "FAIL name: why"; not root: one SKIP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tcptrace.skel.h"
#include "events.h"
#include "nic.h"
/*
 * The attach code under test is compiled into this one translation unit:
 * the Makefile builds each test from its own source (-Iuser finds it, and
 * -MMD tracks it as a dependency).
 */
#include "nic_attach.c"

#define TEST_NETNS	4026531999u	/* any value: the programs just copy it */
#define XDP_PASS_RET	2u
#define TC_NEXT_RET	0xffffffffu	/* TCX_NEXT / TC_ACT_UNSPEC */

static int n_fail;
/* The netns of the records: TEST_NETNS, or the real one once attached. */
static __u32 key_netns = TEST_NETNS;

static void pass(const char *name)
{
	printf("PASS %s\n", name);
	fflush(stdout);
}

static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	n_fail++;
}

static int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_WARN && getenv("TEST_NIC_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* ------------------------------------------------------------ skeleton */

struct env {
	struct tcptrace_bpf *skel;
	int xdp, tc_in, tc_out;		/* program fds */
	int flows, syns, counters;	/* map fds */
	int ncpu;
};

/* Open the tracer's skeleton with only the NIC programs loaded. */
static int env_open(struct env *e, __u32 netns, __u16 port,
		    __u16 host_family, const __u8 *host_addr)
{
	struct bpf_program *p;
	int err;

	memset(e, 0, sizeof(*e));
	e->skel = tcptrace_bpf__open();
	if (!e->skel)
		return -errno;
	e->skel->rodata->nic_netns = netns;
	e->skel->rodata->filter_port = port;
	e->skel->rodata->filter_family = host_family;
	if (host_addr)
		memcpy((void *)e->skel->rodata->filter_addr, host_addr, 16);
	bpf_object__for_each_program(p, e->skel->obj) {
		const char *n = bpf_program__name(p);

		bpf_program__set_autoload(p, !strcmp(n, "nic_tc_in") ||
					  !strcmp(n, "nic_tc_out") ||
					  !strcmp(n, "nic_xdp_in"));
	}
	err = tcptrace_bpf__load(e->skel);
	if (err) {
		tcptrace_bpf__destroy(e->skel);
		e->skel = NULL;
		return err;
	}
	e->xdp = bpf_program__fd(e->skel->progs.nic_xdp_in);
	e->tc_in = bpf_program__fd(e->skel->progs.nic_tc_in);
	e->tc_out = bpf_program__fd(e->skel->progs.nic_tc_out);
	e->flows = bpf_map__fd(e->skel->maps.nic_flows);
	e->syns = bpf_map__fd(e->skel->maps.nic_syns);
	e->counters = bpf_map__fd(e->skel->maps.counters);
	e->ncpu = libbpf_num_possible_cpus();
	return 0;
}

static void map_clear(int fd, size_t key_size)
{
	__u8 key[64], next[64];

	while (!bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

static void env_reset(struct env *e)
{
	__u64 zero[e->ncpu];

	memset(zero, 0, sizeof(zero));
	map_clear(e->flows, sizeof(struct flow_key));
	map_clear(e->syns, sizeof(struct nic_syn_key));
	for (__u32 c = 0; c < CNT_MAX; c++)
		bpf_map_update_elem(e->counters, &c, zero, BPF_ANY);
}

static __u64 counter(const struct env *e, __u32 c)
{
	__u64 v[e->ncpu], sum = 0;

	if (bpf_map_lookup_elem(e->counters, &c, v))
		return ~0ull;
	for (int i = 0; i < e->ncpu; i++)
		sum += v[i];
	return sum;
}

static int map_count(int fd)
{
	__u8 key[64], next[64];
	int n = 0;

	if (bpf_map_get_next_key(fd, NULL, next))
		return 0;
	do {
		memcpy(key, next, sizeof(key));
		n++;
	} while (!bpf_map_get_next_key(fd, key, next) && n < 100000);
	return n;
}

/* ------------------------------------------------------------ packets */

enum {
	B_VLAN		= 1 << 0,	/* one 802.1Q tag */
	B_V4OPT		= 1 << 1,	/* 8 bytes of IPv4 options (ihl 7) */
	B_V6HOP		= 1 << 2,	/* hop-by-hop options, 8 bytes */
	B_V6DST		= 1 << 3,	/* destination options, 16 bytes */
	B_V6RT		= 1 << 4,	/* routing header, 8 bytes */
	B_FRAG1		= 1 << 5,	/* first fragment (v6: fragment header, offset 0) */
	B_FRAGN		= 1 << 6,	/* a later fragment: no TCP header in it */
	B_TCPOPT	= 1 << 7,	/* 12 bytes of TCP options (doff 8) */
	B_V6MANY	= 1 << 8,	/* five extension headers: more than walked */
};

#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_PSH	0x08
#define TH_ACK	0x10

struct tuple {
	int family;
	const char *src, *dst;
	__u16 sport, dport;
};

struct pkt {
	__u8 b[8192];
	size_t len;
	size_t l3, l4, il3, il4;	/* layer offsets, for cutting */
};

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static size_t put_eth(__u8 *b, __u16 ethertype, unsigned opt)
{
	static const __u8 macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	size_t off = 12;

	memcpy(b, macs, sizeof(macs));
	if (opt & B_VLAN) {
		put16(b + off, 0x8100);
		put16(b + off + 2, 42);
		off += 4;
	}
	put16(b + off, ethertype);
	return off + 2;
}

static void addr(int family, const char *s, __u8 *out)
{
	memset(out, 0, 16);
	if (inet_pton(family, s, out) != 1) {
		fprintf(stderr, "test_nic: bad address %s\n", s);
		exit(1);
	}
}

/* IP header (and extension headers) at off, claiming l4len bytes after it. */
static size_t put_ip(__u8 *b, size_t off, const struct tuple *t, __u8 proto,
		     size_t l4len, unsigned opt)
{
	__u8 a[16];

	if (t->family == AF_INET) {
		size_t hl = (opt & B_V4OPT) ? 28 : 20;

		memset(b + off, 0, hl);
		b[off] = 0x40 | (hl / 4);
		put16(b + off + 2, hl + l4len);
		put16(b + off + 4, 0x1234);
		if (opt & B_FRAGN)
			put16(b + off + 6, 185);		/* offset 1480 */
		else if (opt & B_FRAG1)
			put16(b + off + 6, 0x2000);		/* MF, offset 0 */
		else
			put16(b + off + 6, 0x4000);		/* DF */
		b[off + 8] = 64;
		b[off + 9] = proto;
		addr(AF_INET, t->src, a);
		memcpy(b + off + 12, a, 4);
		addr(AF_INET, t->dst, a);
		memcpy(b + off + 16, a, 4);
		if (opt & B_V4OPT)
			memset(b + off + 20, 1, 8);		/* NOPs */
		return off + hl;
	}

	/* The chain, in the order RFC 8200 recommends. */
	__u8 types[8];
	size_t lens[8], n = 0, ext = 0;

	if (opt & B_V6HOP) {
		types[n] = 0;
		lens[n++] = 8;
	}
	if (opt & B_V6DST) {
		types[n] = 60;
		lens[n++] = 16;
	}
	if (opt & B_V6RT) {
		types[n] = 43;
		lens[n++] = 8;
	}
	if (opt & (B_FRAG1 | B_FRAGN)) {
		types[n] = 44;
		lens[n++] = 8;
	}
	if (opt & B_V6MANY) {
		for (int i = 0; i < 5; i++) {
			types[n] = 60;
			lens[n++] = 8;
		}
	}
	for (size_t i = 0; i < n; i++)
		ext += lens[i];
	memset(b + off, 0, 40);
	b[off] = 0x60;
	put16(b + off + 4, ext + l4len);
	b[off + 6] = n ? types[0] : proto;
	b[off + 7] = 64;
	addr(AF_INET6, t->src, b + off + 8);
	addr(AF_INET6, t->dst, b + off + 24);
	off += 40;
	for (size_t i = 0; i < n; i++) {
		memset(b + off, 0, lens[i]);
		b[off] = i + 1 < n ? types[i + 1] : proto;
		if (types[i] == 44) {
			put16(b + off + 2, (opt & B_FRAGN) ? (1480 | 0) : 1);	/* offset / M */
			put32(b + off + 4, 0xabcd);
		} else {
			b[off + 1] = lens[i] / 8 - 1;
			if (types[i] != 43) {
				b[off + 2] = 1;		/* PadN option filling the rest */
				b[off + 3] = lens[i] - 4;
			}
		}
		off += lens[i];
	}
	return off;
}

static size_t tcp_hlen(unsigned opt)
{
	return (opt & B_TCPOPT) ? 32 : 20;
}

/* A TCP header at off (and payload bytes: 'x', never read by the programs). */
static size_t put_tcp(__u8 *b, size_t off, __u16 sport, __u16 dport, __u8 flags,
		      size_t payload, unsigned opt)
{
	size_t hl = tcp_hlen(opt);

	memset(b + off, 0, hl);
	put16(b + off, sport);
	put16(b + off + 2, dport);
	put32(b + off + 4, 1000);
	put32(b + off + 8, (flags & TH_ACK) ? 1001 : 0);	/* acks a SYN of seq 1000 */
	b[off + 12] = (hl / 4) << 4;
	b[off + 13] = flags;
	put16(b + off + 14, 64240);
	if (opt & B_TCPOPT)
		memset(b + off + 20, 1, 12);	/* NOPs */
	memset(b + off + hl, 'x', payload);
	return off + hl + payload;
}

static void build_tcp(struct pkt *p, const struct tuple *t, __u8 flags,
		      size_t payload, unsigned opt)
{
	memset(p, 0, sizeof(*p));
	p->l3 = put_eth(p->b, t->family == AF_INET ? 0x0800 : 0x86dd, opt);
	p->l4 = put_ip(p->b, p->l3, t, 6,
		       (opt & B_FRAGN) ? 100 : tcp_hlen(opt) + payload, opt);
	if (opt & B_FRAGN) {
		memset(p->b + p->l4, 'y', 100);		/* payload bytes, no header */
		p->len = p->l4 + 100;
	} else {
		p->len = put_tcp(p->b, p->l4, t->sport, t->dport, flags, payload, opt);
	}
}

static void build_udp(struct pkt *p, const struct tuple *t)
{
	memset(p, 0, sizeof(*p));
	p->l3 = put_eth(p->b, t->family == AF_INET ? 0x0800 : 0x86dd, 0);
	p->l4 = put_ip(p->b, p->l3, t, 17, 8 + 32, 0);
	put16(p->b + p->l4, t->sport);
	put16(p->b + p->l4 + 2, t->dport);
	put16(p->b + p->l4 + 4, 8 + 32);
	memset(p->b + p->l4 + 8, 'u', 32);
	p->len = p->l4 + 8 + 32;
}

static void build_arp(struct pkt *p)
{
	static const __u8 arp[28] = {
		0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
	};

	memset(p, 0, sizeof(*p));
	p->l3 = put_eth(p->b, 0x0806, 0);
	memcpy(p->b + p->l3, arp, sizeof(arp));
	p->len = p->l3 + sizeof(arp);
}

/*
 * An ICMP(v6) error from `sender` to the source of the quoted segment q.
 * IPv4 routers quote the IP header and 8 bytes (RFC 792); IPv6 ones as
 * much as fits: here the whole 20-byte TCP header. iopt shapes the quote.
 */
static void build_icmp(struct pkt *p, const char *sender, const struct tuple *q,
		       __u8 type, __u8 code, __u32 mtu, __u8 inner_proto,
		       unsigned iopt)
{
	struct tuple outer = { q->family, sender, q->src, 0, 0 };
	bool v4 = q->family == AF_INET;
	size_t quote = v4 ? 8 : 20, inner_len, off;

	memset(p, 0, sizeof(*p));
	p->l3 = put_eth(p->b, v4 ? 0x0800 : 0x86dd, 0);
	/* the quoted header's length: the original segment's, not the quote's */
	inner_len = (v4 ? 20 : 40) + quote;
	if (iopt & B_V4OPT)
		inner_len += 8;
	if (iopt & B_V6DST)
		inner_len += 16;
	p->l4 = put_ip(p->b, p->l3, &outer, v4 ? 1 : 58, 8 + inner_len, 0);
	off = p->l4;
	p->b[off] = type;
	p->b[off + 1] = code;
	if (v4)
		put16(p->b + off + 6, mtu);
	else
		put32(p->b + off + 4, mtu);
	p->il3 = off + 8;
	p->il4 = put_ip(p->b, p->il3, q, inner_proto, 20 + 1000, iopt);
	put_tcp(p->b, p->il4, q->sport, q->dport, TH_ACK, 0, 0);
	p->len = p->il4 + quote;
}

/* ------------------------------------------------------------ expectations */

static struct flow_key key_of(const struct tuple *t, bool ingress)
{
	struct flow_key k;
	__u8 s[16], d[16];

	memset(&k, 0, sizeof(k));
	addr(t->family, t->src, s);
	addr(t->family, t->dst, d);
	k.netns = key_netns;
	k.family = t->family;
	/* inbound: this host is the destination */
	memcpy(k.laddr, ingress ? d : s, 16);
	memcpy(k.raddr, ingress ? s : d, 16);
	k.lport = ingress ? t->dport : t->sport;
	k.rport = ingress ? t->sport : t->dport;
	return k;
}

/*
 * What one segment adds to the record: a data segment or a bare ACK
 * nothing, unless watched (egress while nic_watching) where its payload.
 */
static void expect_seg_watched(struct nic_flow *v, bool ingress, __u8 flags, __u32 payload,
			       bool watched)
{
	struct nic_dir_stats *d = &v->dir[ingress ? NIC_IN : NIC_OUT];

	if (!(flags & (TH_SYN | TH_RST | TH_FIN))) {
		if (watched && !ingress && payload) {
			d->data_segs++;
			d->data_bytes += payload;
			if (payload > d->max_seg)
				d->max_seg = payload;
		}
		return;
	}
	d->pkts++;
	if ((flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		d->syn++;
		v->syn_seq = 1000;	/* put_tcp's sequence number */
	}
	if ((flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK)) {
		d->synack++;
		if (ingress && !v->dir[NIC_OUT].syn)
			v->flags |= NIC_F_STRAY_SYNACK;
	}
	if (flags & TH_RST)
		d->rst++;
	if (flags & TH_FIN)
		d->fin++;
	if (payload) {
		d->data_segs++;
		d->data_bytes += payload;
		if (payload > d->max_seg)
			d->max_seg = payload;
	}
}

static void expect_seg(struct nic_flow *v, bool ingress, __u8 flags, __u32 payload)
{
	expect_seg_watched(v, ingress, flags, payload, false);
}

static void fmt_flow(char *buf, size_t len, const struct nic_flow *v)
{
	const struct nic_dir_stats *i = &v->dir[NIC_IN], *o = &v->dir[NIC_OUT];
	char from[INET6_ADDRSTRLEN] = "", sraddr[INET6_ADDRSTRLEN] = "";
	size_t n;

	inet_ntop(AF_INET6, v->icmp.from, from, sizeof(from));
	inet_ntop(AF_INET6, v->syn_raddr, sraddr, sizeof(sraddr));
	n = snprintf(buf, len,
		     "in{p%u syn%u sa%u rst%u fin%u d%u/%llu max%u} "
		     "out{p%u syn%u sa%u rst%u fin%u d%u/%llu max%u} icmp{",
		     i->pkts, i->syn, i->synack, i->rst, i->fin, i->data_segs,
		     (unsigned long long)i->data_bytes, i->max_seg,
		     o->pkts, o->syn, o->synack, o->rst, o->fin, o->data_segs,
		     (unsigned long long)o->data_bytes, o->max_seg);
	for (int k = 0; k < NIC_ICMP_KINDS && n < len; k++)
		n += snprintf(buf + n, len - n, "%u ", v->icmp.count[k]);
	if (n < len)
		snprintf(buf + n, len - n,
			 "mtu%u t%u c%u from %s} sent%u/%u/%u flags%#x syn %s:%u isn %u",
			 v->icmp.mtu, v->icmp.last_type, v->icmp.last_code, from,
			 v->icmp_sent, v->icmp_sent_type, v->icmp_sent_code,
			 v->flags, sraddr, v->syn_rport, v->syn_seq);
}

/*
 * The record for k must equal want apart from timestamps, which must be
 * set exactly where something was counted. Returns false with why.
 */
static bool check_flow(const struct env *e, const struct flow_key *k,
		       const struct nic_flow *want, char *why, size_t len)
{
	struct nic_flow got, w = *want;
	struct nic_flow_map m;
	char g[512], x[512];

	/* The map's layout, read as userspace reads it (a nic_flow). */
	if (bpf_map_lookup_elem(e->flows, k, &m)) {
		snprintf(why, len, "no record for the flow");
		return false;
	}
	nic_flow_of(&m, &got);
	for (int d = 0; d < NIC_DIRS; d++) {
		struct nic_dir_stats *s = &got.dir[d];

		if ((s->pkts != 0) != (s->first_ns != 0) || s->last_ns < s->first_ns ||
		    (s->pkts != 0) != (s->last_ns != 0)) {
			snprintf(why, len, "dir %d timestamps %llu..%llu with %u packets", d,
				 (unsigned long long)s->first_ns,
				 (unsigned long long)s->last_ns, s->pkts);
			return false;
		}
		s->first_ns = s->last_ns = 0;
	}
	bool any_icmp = false;

	for (int i = 0; i < NIC_ICMP_KINDS; i++)
		any_icmp |= got.icmp.count[i] != 0;
	if (any_icmp != (got.icmp.last_ns != 0)) {
		snprintf(why, len, "icmp.last_ns %llu with icmp counts %s",
			 (unsigned long long)got.icmp.last_ns, any_icmp ? "set" : "zero");
		return false;
	}
	got.icmp.last_ns = 0;
	if (memcmp(&got, &w, sizeof(got))) {
		fmt_flow(g, sizeof(g), &got);
		fmt_flow(x, sizeof(x), &w);
		snprintf(why, len, "record\n    got  %s\n    want %s", g, x);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ running */

struct prog {
	const char *name;
	bool ingress;
	bool xdp;
};

static const struct prog progs[] = {
	{ "xdp", true, true },
	{ "tc-in", true, false },
	{ "tc-out", false, false },
};

static int prog_fd(const struct env *e, const struct prog *p)
{
	return p->xdp ? e->xdp : p->ingress ? e->tc_in : e->tc_out;
}

/*
 * Run one packet; check the verdict and that it came back unchanged.
 * gso_segs/gso_size, when set, go in through ctx_in (TC only).
 */
static bool run_pkt(const struct env *e, const struct prog *pr, const __u8 *data,
		    size_t len, __u32 gso_segs, __u32 gso_size, char *why, size_t wlen)
{
	__u8 out[8192];
	struct __sk_buff ctx = {};
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = data,
		.data_size_in = len,
		.data_out = out,
		.data_size_out = sizeof(out),
		.repeat = 1,
	);
	__u32 want = pr->xdp ? XDP_PASS_RET : TC_NEXT_RET;
	int err;

	if (gso_segs) {
		ctx.gso_segs = gso_segs;
		ctx.gso_size = gso_size;
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(prog_fd(e, pr), &o);
	if (err) {
		snprintf(why, wlen, "BPF_PROG_TEST_RUN: %s", strerror(-err));
		return false;
	}
	if (o.retval != want) {
		snprintf(why, wlen, "verdict %#x, want %#x", o.retval, want);
		return false;
	}
	if (o.data_size_out != len || memcmp(out, data, len)) {
		snprintf(why, wlen, "packet changed (%u bytes out of %zu in)",
			 o.data_size_out, len);
		return false;
	}
	return true;
}

static bool check_counters(const struct env *e, __u64 flows_new, __u64 unparsed,
			   char *why, size_t len)
{
	__u64 n = counter(e, CNT_NIC_FLOWS_NEW), u = counter(e, CNT_NIC_UNPARSED);
	__u64 f = counter(e, CNT_NIC_FLOWS_FULL) + counter(e, CNT_NIC_SYNS_FULL);
	int live = map_count(e->flows);

	if (n != flows_new || u != unparsed || f || live != (int)flows_new) {
		snprintf(why, len, "counters: new %llu (want %llu), unparsed %llu (want %llu), "
			 "full %llu, records %d", (unsigned long long)n,
			 (unsigned long long)flows_new, (unsigned long long)u,
			 (unsigned long long)unparsed, (unsigned long long)f, live);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ cases */

static const struct tuple T4 = { AF_INET, "10.0.2.10", "10.0.1.5", 80, 41000 };
static const struct tuple T6 = { AF_INET6, "fd00:2::10", "fd00:1::5", 443, 42000 };
/* the segment this host sent that an ICMP error quotes */
static const struct tuple Q4 = { AF_INET, "10.0.1.5", "10.0.2.10", 41001, 80 };
static const struct tuple Q6 = { AF_INET6, "fd00:1::5", "fd00:2::10", 42001, 443 };
#define ROUTER4 "10.0.1.1"
#define ROUTER6 "fd00:1::1"

enum want {
	W_TCP,		/* one segment counted (a record only if it carries SYN) */
	W_ICMP,		/* one ICMP error counted */
	W_NONE,		/* nothing counted, nothing unparsed */
	W_UNPARSED,	/* nothing counted, CNT_NIC_UNPARSED + 1 */
};

enum layer { L_NONE, L_ETH, L_L3, L_L4, L_IL3, L_IL4 };

enum mangle {
	M_NONE,
	M_IHL4,		/* IPv4 ihl below 5 */
	M_DOFF3,	/* TCP data offset below 5 */
	M_TOTLEN,	/* IP length shorter than the IP + TCP headers */
	M_VERSION,	/* ethertype IPv4, version 6 */
	M_VLAN_ONLY,	/* a frame that ends right after an 802.1Q ethertype */
};

struct tcase {
	const char *name;
	const struct tuple *t;	/* TCP/UDP: the packet; ICMP: the quoted segment */
	unsigned opt;		/* B_*: outer shape (TCP), quote shape (ICMP) */
	__u8 flags;
	__u16 payload;
	enum want want;
	/* ICMP */
	bool icmp;
	__u8 type, code;
	__u32 mtu;
	int kind;		/* enum nic_icmp_kind */
	__u8 inner_proto;	/* 0: TCP */
	/* truncation / corruption */
	enum layer cut_layer;
	size_t cut_at;		/* bytes kept after the start of cut_layer */
	enum mangle mangle;
	bool udp, arp;
	/*
	 * BPF_PROG_TEST_RUN refuses an skb whose IP header is cut short
	 * (EINVAL): such a frame can only be fed to the XDP program.
	 */
	bool xdp_only;
};

#define TCP4(n, f, pl, o)	{ .name = n, .t = &T4, .opt = o, .flags = f, .payload = pl, .want = W_TCP }
#define TCP6(n, f, pl, o)	{ .name = n, .t = &T6, .opt = o, .flags = f, .payload = pl, .want = W_TCP }
#define ICMP4(n, ty, co, m, k, o) { .name = n, .t = &Q4, .opt = o, .want = W_ICMP, .icmp = true, \
				   .type = ty, .code = co, .mtu = m, .kind = k }
#define ICMP6(n, ty, co, m, k, o) { .name = n, .t = &Q6, .opt = o, .want = W_ICMP, .icmp = true, \
				   .type = ty, .code = co, .mtu = m, .kind = k }

static const struct tcase cases[] = {
	/* every flag combination that matters, both families */
	TCP4("v4/syn", TH_SYN, 0, 0),
	TCP4("v4/syn-ack", TH_SYN | TH_ACK, 0, 0),
	TCP4("v4/rst", TH_RST, 0, 0),
	TCP4("v4/rst-ack", TH_RST | TH_ACK, 0, 0),
	TCP4("v4/fin-ack", TH_FIN | TH_ACK, 0, 0),
	TCP4("v4/ack", TH_ACK, 0, 0),
	TCP4("v4/data", TH_PSH | TH_ACK, 1000, 0),
	TCP4("v4/fin-data", TH_FIN | TH_PSH | TH_ACK, 10, 0),
	TCP4("v4/syn-data", TH_SYN, 100, 0),
	TCP6("v6/syn", TH_SYN, 0, 0),
	TCP6("v6/syn-ack", TH_SYN | TH_ACK, 0, 0),
	TCP6("v6/rst", TH_RST, 0, 0),
	TCP6("v6/rst-ack", TH_RST | TH_ACK, 0, 0),
	TCP6("v6/fin-ack", TH_FIN | TH_ACK, 0, 0),
	TCP6("v6/ack", TH_ACK, 0, 0),
	TCP6("v6/data", TH_PSH | TH_ACK, 1200, 0),
	/* shapes */
	TCP4("v4/vlan-syn", TH_SYN, 0, B_VLAN),
	TCP6("v6/vlan-data", TH_ACK, 500, B_VLAN),
	TCP4("v4/ip-options-data", TH_ACK, 300, B_V4OPT),
	TCP4("v4/tcp-options-syn", TH_SYN, 0, B_TCPOPT),
	TCP4("v4/options-vlan-data", TH_ACK, 64, B_V4OPT | B_TCPOPT | B_VLAN),
	TCP4("v4/first-fragment", TH_ACK, 200, B_FRAG1),
	TCP6("v6/hop-dst-data", TH_ACK, 700, B_V6HOP | B_V6DST),
	TCP6("v6/hop-dst-rt-syn", TH_SYN, 0, B_V6HOP | B_V6DST | B_V6RT),
	TCP6("v6/first-fragment-syn-ack", TH_SYN | TH_ACK, 0, B_FRAG1),
	TCP6("v6/all-ext-fragment", TH_RST, 0, B_V6HOP | B_V6DST | B_V6RT | B_FRAG1),
	TCP6("v6/tcp-options-data", TH_ACK, 100, B_TCPOPT | B_V6HOP),
	{ .name = "v4/later-fragment", .t = &T4, .opt = B_FRAGN, .want = W_NONE },
	{ .name = "v6/later-fragment", .t = &T6, .opt = B_FRAGN | B_V6HOP, .want = W_NONE },
	{ .name = "v6/too-many-ext", .t = &T6, .opt = B_V6MANY, .flags = TH_SYN, .want = W_UNPARSED },

	/* ICMP errors quoting a segment of ours */
	ICMP4("icmp4/net-unreach", 3, 0, 0, NIC_ICMP_NET_UNREACH, 0),
	ICMP4("icmp4/host-unreach", 3, 1, 0, NIC_ICMP_HOST_UNREACH, 0),
	ICMP4("icmp4/port-unreach", 3, 3, 0, NIC_ICMP_PORT_UNREACH, 0),
	ICMP4("icmp4/admin-prohibited", 3, 13, 0, NIC_ICMP_ADMIN_PROHIBITED, 0),
	ICMP4("icmp4/host-prohibited", 3, 10, 0, NIC_ICMP_ADMIN_PROHIBITED, 0),
	ICMP4("icmp4/frag-needed", 3, 4, 1400, NIC_ICMP_FRAG_NEEDED, 0),
	ICMP4("icmp4/proto-unreach", 3, 2, 0, NIC_ICMP_UNREACH_OTHER, 0),
	ICMP4("icmp4/time-exceeded", 11, 0, 0, NIC_ICMP_TIME_EXCEEDED, 0),
	ICMP4("icmp4/host-unreach-quote-options", 3, 1, 0, NIC_ICMP_HOST_UNREACH, B_V4OPT),
	ICMP6("icmp6/no-route", 1, 0, 0, NIC_ICMP_NET_UNREACH, 0),
	ICMP6("icmp6/admin-prohibited", 1, 1, 0, NIC_ICMP_ADMIN_PROHIBITED, 0),
	ICMP6("icmp6/addr-unreach", 1, 3, 0, NIC_ICMP_HOST_UNREACH, 0),
	ICMP6("icmp6/port-unreach", 1, 4, 0, NIC_ICMP_PORT_UNREACH, 0),
	ICMP6("icmp6/reject-route", 1, 6, 0, NIC_ICMP_ADMIN_PROHIBITED, 0),
	ICMP6("icmp6/beyond-scope", 1, 2, 0, NIC_ICMP_UNREACH_OTHER, 0),
	ICMP6("icmp6/packet-too-big", 2, 0, 1280, NIC_ICMP_PKT_TOO_BIG, 0),
	ICMP6("icmp6/time-exceeded", 3, 0, 0, NIC_ICMP_TIME_EXCEEDED, 0),
	ICMP6("icmp6/addr-unreach-quote-dstopts", 1, 3, 0, NIC_ICMP_HOST_UNREACH, B_V6DST),

	/* truncated at every layer */
	{ .name = "cut/eth-vlan", .t = &T4, .flags = TH_SYN, .opt = B_VLAN, .want = W_UNPARSED,
	  .mangle = M_VLAN_ONLY },
	{ .name = "cut/v4-header", .t = &T4, .flags = TH_SYN, .want = W_UNPARSED,
	  .cut_layer = L_L3, .cut_at = 10, .xdp_only = true },
	{ .name = "cut/v4-options", .t = &T4, .flags = TH_SYN, .opt = B_V4OPT, .want = W_UNPARSED,
	  .cut_layer = L_L3, .cut_at = 24 },
	{ .name = "cut/v6-header", .t = &T6, .flags = TH_SYN, .want = W_UNPARSED,
	  .cut_layer = L_L3, .cut_at = 30, .xdp_only = true },
	{ .name = "cut/v6-hop-by-hop", .t = &T6, .flags = TH_SYN, .opt = B_V6HOP, .want = W_UNPARSED,
	  .cut_layer = L_L3, .cut_at = 41 },
	{ .name = "cut/v6-dst-opts-body", .t = &T6, .flags = TH_SYN, .opt = B_V6HOP | B_V6DST,
	  .want = W_UNPARSED, .cut_layer = L_L3, .cut_at = 40 + 8 + 10 },
	{ .name = "cut/v6-fragment-hdr", .t = &T6, .flags = TH_SYN, .opt = B_FRAG1, .want = W_UNPARSED,
	  .cut_layer = L_L3, .cut_at = 44 },
	{ .name = "cut/v4-tcp", .t = &T4, .flags = TH_SYN, .want = W_UNPARSED,
	  .cut_layer = L_L4, .cut_at = 12 },
	{ .name = "cut/v6-tcp", .t = &T6, .flags = TH_SYN, .want = W_UNPARSED,
	  .cut_layer = L_L4, .cut_at = 19 },
	{ .name = "cut/v4-tcp-options", .t = &T4, .flags = TH_SYN, .opt = B_TCPOPT, .want = W_UNPARSED,
	  .cut_layer = L_L4, .cut_at = 24 },
	{ .name = "cut/icmp4-header", .t = &Q4, .icmp = true, .type = 3, .code = 1, .want = W_UNPARSED,
	  .cut_layer = L_L4, .cut_at = 4 },
	{ .name = "cut/icmp4-inner-ip", .t = &Q4, .icmp = true, .type = 3, .code = 1, .want = W_UNPARSED,
	  .cut_layer = L_IL3, .cut_at = 12 },
	{ .name = "cut/icmp4-inner-options", .t = &Q4, .icmp = true, .type = 3, .code = 1,
	  .opt = B_V4OPT, .want = W_UNPARSED, .cut_layer = L_IL3, .cut_at = 22 },
	{ .name = "cut/icmp4-inner-ports", .t = &Q4, .icmp = true, .type = 3, .code = 1, .want = W_UNPARSED,
	  .cut_layer = L_IL4, .cut_at = 3 },
	{ .name = "cut/icmp6-header", .t = &Q6, .icmp = true, .type = 1, .code = 3, .want = W_UNPARSED,
	  .cut_layer = L_L4, .cut_at = 6 },
	{ .name = "cut/icmp6-inner-ip", .t = &Q6, .icmp = true, .type = 1, .code = 3, .want = W_UNPARSED,
	  .cut_layer = L_IL3, .cut_at = 39 },
	{ .name = "cut/icmp6-inner-ext", .t = &Q6, .icmp = true, .type = 1, .code = 3, .opt = B_V6DST,
	  .want = W_UNPARSED, .cut_layer = L_IL3, .cut_at = 41 },
	{ .name = "cut/icmp6-inner-ports", .t = &Q6, .icmp = true, .type = 2, .mtu = 1280,
	  .want = W_UNPARSED, .cut_layer = L_IL4, .cut_at = 2 },

	/* malformed */
	{ .name = "bad/v4-ihl-4", .t = &T4, .flags = TH_SYN, .want = W_UNPARSED, .mangle = M_IHL4 },
	{ .name = "bad/v4-doff-3", .t = &T4, .flags = TH_SYN, .want = W_UNPARSED, .mangle = M_DOFF3 },
	{ .name = "bad/v6-doff-3", .t = &T6, .flags = TH_SYN, .want = W_UNPARSED, .mangle = M_DOFF3 },
	{ .name = "bad/v4-length", .t = &T4, .flags = TH_ACK, .payload = 50, .want = W_UNPARSED,
	  .mangle = M_TOTLEN },
	{ .name = "bad/v6-length", .t = &T6, .flags = TH_ACK, .payload = 50, .want = W_UNPARSED,
	  .mangle = M_TOTLEN },
	{ .name = "bad/v4-version", .t = &T4, .flags = TH_SYN, .want = W_UNPARSED, .mangle = M_VERSION },

	/* not TCP: not counted, not an error */
	{ .name = "other/udp4", .t = &T4, .udp = true, .want = W_NONE },
	{ .name = "other/udp6", .t = &T6, .udp = true, .want = W_NONE },
	{ .name = "other/arp", .t = &T4, .arp = true, .want = W_NONE },
	{ .name = "other/icmp4-echo", .t = &Q4, .icmp = true, .type = 8, .want = W_NONE },
	{ .name = "other/icmp6-echo", .t = &Q6, .icmp = true, .type = 128, .want = W_NONE },
	{ .name = "other/icmp4-redirect", .t = &Q4, .icmp = true, .type = 5, .code = 1, .want = W_NONE },
	{ .name = "other/icmp4-quoting-udp", .t = &Q4, .icmp = true, .type = 3, .code = 3,
	  .inner_proto = 17, .want = W_NONE },
	{ .name = "other/icmp6-quoting-udp", .t = &Q6, .icmp = true, .type = 1, .code = 4,
	  .inner_proto = 17, .want = W_NONE },
};

static void build_case(const struct tcase *c, struct pkt *p)
{
	if (c->arp)
		build_arp(p);
	else if (c->udp)
		build_udp(p, c->t);
	else if (c->icmp)
		build_icmp(p, c->t->family == AF_INET ? ROUTER4 : ROUTER6, c->t,
			   c->type, c->code, c->mtu, c->inner_proto ? c->inner_proto : 6,
			   c->opt);
	else
		build_tcp(p, c->t, c->flags, c->payload, c->opt);

	switch (c->mangle) {
	case M_IHL4:
		p->b[p->l3] = 0x44;
		break;
	case M_DOFF3:
		p->b[p->l4 + 12] = 0x30;
		break;
	case M_TOTLEN:
		/* claims 10 payload-less bytes after the IP header: less than TCP's 20 */
		if (c->t->family == AF_INET)
			put16(p->b + p->l3 + 2, 20 + 10);
		else
			put16(p->b + p->l3 + 4, 10);
		break;
	case M_VERSION:
		p->b[p->l3] = 0x65;
		break;
	case M_VLAN_ONLY:
		p->len = 14;		/* dst, src, 0x8100: the tag is missing */
		break;
	case M_NONE:
		break;
	}
	switch (c->cut_layer) {
	case L_ETH:
		p->len = c->cut_at;
		break;
	case L_L3:
		p->len = p->l3 + c->cut_at;
		break;
	case L_L4:
		p->len = p->l4 + c->cut_at;
		break;
	case L_IL3:
		p->len = p->il3 + c->cut_at;
		break;
	case L_IL4:
		p->len = p->il4 + c->cut_at;
		break;
	case L_NONE:
		break;
	}
}

/* The record one packet of case c should leave, through program pr. */
static void expect_case(const struct tcase *c, const struct prog *pr,
			struct flow_key *k, struct nic_flow *v)
{
	memset(v, 0, sizeof(*v));
	if (c->want == W_TCP) {
		*k = key_of(c->t, pr->ingress);
		expect_seg(v, pr->ingress, c->flags, c->payload);
		return;
	}
	/* W_ICMP: the quoted segment was ours inbound, the peer's outbound */
	*k = key_of(c->t, !pr->ingress);
	if (!pr->ingress) {
		v->icmp_sent = 1;
		v->icmp_sent_type = c->type;
		v->icmp_sent_code = c->code;
		return;
	}
	v->icmp.count[c->kind] = 1;
	v->icmp.mtu = c->mtu;
	v->icmp.last_type = c->type;
	v->icmp.last_code = c->code;
	addr(c->t->family, c->t->family == AF_INET ? ROUTER4 : ROUTER6, v->icmp.from);
}

static void run_cases(struct env *e)
{
	char name[160], why[1200];
	struct pkt p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];

		build_case(c, &p);
		for (size_t j = 0; j < sizeof(progs) / sizeof(progs[0]); j++) {
			const struct prog *pr = &progs[j];
			/* only a SYN opens a record; an ICMP error does too */
			bool counted = (c->want == W_TCP && (c->flags & TH_SYN)) ||
				       c->want == W_ICMP;
			struct flow_key k;
			struct nic_flow v;

			if (c->xdp_only && !pr->xdp)
				continue;
			snprintf(name, sizeof(name), "%s/%s", c->name, pr->name);
			env_reset(e);
			if (!run_pkt(e, pr, p.b, p.len, 0, 0, why, sizeof(why)))
				goto bad;
			if (!check_counters(e, counted, c->want == W_UNPARSED, why, sizeof(why)))
				goto bad;
			if (counted) {
				expect_case(c, pr, &k, &v);
				if (!check_flow(e, &k, &v, why, sizeof(why)))
					goto bad;
			}
			if (map_count(e->syns) != (c->want == W_TCP && !pr->ingress &&
						   (c->flags & (TH_SYN | TH_ACK)) == TH_SYN)) {
				snprintf(why, sizeof(why), "nic_syns holds %d entries",
					 map_count(e->syns));
				goto bad;
			}
			pass(name);
			continue;
bad:
			fail(name, "%s", why);
		}
	}
}

/* ------------------------------------------------------------ sequences */

/* Run a packet through the program named pn, failing the case on error. */
static bool seq_run(struct env *e, const char *pn, const struct pkt *p,
		    __u32 gso_segs, __u32 gso_size, char *why, size_t len)
{
	for (size_t j = 0; j < sizeof(progs) / sizeof(progs[0]); j++)
		if (!strcmp(progs[j].name, pn))
			return run_pkt(e, &progs[j], p->b, p->len, gso_segs, gso_size,
				       why, len);
	snprintf(why, len, "no program %s", pn);
	return false;
}

static struct tuple reverse(const struct tuple *t)
{
	struct tuple r = { t->family, t->dst, t->src, t->dport, t->sport };

	return r;
}

/* Our SYN leaves, the SYN-ACK comes back on the same tuple: nothing stray. */
static void seq_handshake(struct env *e, const char *name, const struct tuple *out,
			  const char *in_prog)
{
	struct tuple back = reverse(out);
	struct flow_key k = key_of(out, false);
	struct nic_flow v = {};
	char why[1200];
	struct pkt p;

	env_reset(e);
	build_tcp(&p, out, TH_SYN, 0, 0);
	if (!seq_run(e, "tc-out", &p, 0, 0, why, sizeof(why)))
		goto bad;
	build_tcp(&p, &back, TH_SYN | TH_ACK, 0, 0);
	if (!seq_run(e, in_prog, &p, 0, 0, why, sizeof(why)))
		goto bad;
	build_tcp(&p, out, TH_ACK, 0, 0);
	if (!seq_run(e, "tc-out", &p, 0, 0, why, sizeof(why)))
		goto bad;
	expect_seg(&v, false, TH_SYN, 0);
	expect_seg(&v, true, TH_SYN | TH_ACK, 0);
	expect_seg(&v, false, TH_ACK, 0);
	if (!check_flow(e, &k, &v, why, sizeof(why)) ||
	    !check_counters(e, 1, 0, why, sizeof(why)))
		goto bad;
	pass(name);
	return;
bad:
	fail(name, "%s", why);
}

/*
 * DNAT with an asymmetric return: our SYN goes to the VIP, the SYN-ACK
 * comes from the real server. The stray SYN-ACK's record names the VIP.
 * Unless it acknowledges another sequence number (acks_our_syn false):
 * then it answers another connection from the same local port, to another
 * peer, and names nothing.
 */
static void seq_nat(struct env *e, const char *name, const struct tuple *syn,
		    const struct tuple *reply, const char *in_prog, bool acks_our_syn)
{
	struct flow_key k1 = key_of(syn, false), k2 = key_of(reply, true);
	struct nic_syn_key sk = {};
	struct nic_flow v1 = {}, v2 = {};
	struct nic_syn s;
	char why[1200];
	struct pkt p;

	env_reset(e);
	build_tcp(&p, syn, TH_SYN, 0, 0);
	if (!seq_run(e, "tc-out", &p, 0, 0, why, sizeof(why)))
		goto bad;
	build_tcp(&p, reply, TH_SYN | TH_ACK, 0, 0);
	if (!acks_our_syn)
		put32(p.b + p.l4 + 8, 5001);
	if (!seq_run(e, in_prog, &p, 0, 0, why, sizeof(why)))
		goto bad;
	expect_seg(&v1, false, TH_SYN, 0);
	expect_seg(&v2, true, TH_SYN | TH_ACK, 0);
	if (acks_our_syn) {
		v2.flags |= NIC_F_SYN_MATCHED;
		memcpy(v2.syn_raddr, k1.raddr, 16);
		v2.syn_rport = k1.rport;
	}
	if (!check_flow(e, &k1, &v1, why, sizeof(why)) ||
	    !check_flow(e, &k2, &v2, why, sizeof(why)) ||
	    !check_counters(e, 2, 0, why, sizeof(why)))
		goto bad;
	sk.netns = TEST_NETNS;
	sk.family = k1.family;
	sk.lport = k1.lport;
	memcpy(sk.laddr, k1.laddr, 16);
	if (bpf_map_lookup_elem(e->syns, &sk, &s) || memcmp(s.raddr, k1.raddr, 16) ||
	    s.rport != k1.rport || !s.ts_ns || s.isn != 1000) {
		snprintf(why, sizeof(why), "nic_syns has no entry for our SYN");
		goto bad;
	}
	pass(name);
	return;
bad:
	fail(name, "%s", why);
}

/* nic_watching, the kernel side's count of sockets that retransmitted data. */
static void set_watching(struct env *e, __u32 n)
{
	e->skel->bss->nic_watching = n;
}

/*
 * Our SYN opens the record; a GSO packet counts as the segments it stands
 * for. Outbound data while watched; inbound, a GRO packet that carries a
 * FIN (a counted segment, payload and all).
 */
static void seq_gso(struct env *e, const char *name, const struct tuple *t,
		    const char *pn, bool ingress)
{
	struct flow_key k = key_of(t, ingress);
	struct nic_flow v = {};
	struct nic_dir_stats *d = &v.dir[ingress ? NIC_IN : NIC_OUT];
	char why[1200];
	struct pkt p;

	env_reset(e);
	build_tcp(&p, t, TH_SYN | (ingress ? TH_ACK : 0), 0, 0);
	if (!seq_run(e, pn, &p, 0, 0, why, sizeof(why)))
		goto bad;
	expect_seg(&v, ingress, TH_SYN | (ingress ? TH_ACK : 0), 0);
	set_watching(e, 1);
	/* test runs take a page at most: 3 segments of 1000 */
	build_tcp(&p, t, TH_ACK | TH_PSH | (ingress ? TH_FIN : 0), 2900, 0);
	if (!seq_run(e, pn, &p, 3, 1000, why, sizeof(why)))
		goto bad;
	set_watching(e, 0);
	if (ingress)
		d->pkts += 3;
	if (ingress)
		d->fin++;
	d->data_segs = 3;
	d->data_bytes = 2900;
	d->max_seg = 1000;
	if (!check_flow(e, &k, &v, why, sizeof(why)) ||
	    !check_counters(e, 1, 0, why, sizeof(why)))
		goto bad;
	pass(name);
	return;
bad:
	set_watching(e, 0);
	fail(name, "%s", why);
}

/*
 * Outbound data segments after our SYN: not counted, then counted while
 * watched (the largest one kept, bytes add up), then not again. Inbound
 * data never is.
 */
static void seq_max_seg(struct env *e, const char *name, const struct tuple *t)
{
	static const __u16 sizes[] = { 500, 1200, 100 };
	struct tuple back = reverse(t);
	struct flow_key k = key_of(t, false);
	struct nic_flow v = {};
	char why[1200];
	struct pkt p;

	env_reset(e);
	build_tcp(&p, t, TH_SYN, 0, 0);
	if (!seq_run(e, "tc-out", &p, 0, 0, why, sizeof(why)))
		goto bad;
	expect_seg(&v, false, TH_SYN, 0);
	for (int watched = 0; watched <= 2; watched++) {
		set_watching(e, watched == 1 ? 2 : 0);
		for (size_t i = 0; i < 3; i++) {
			build_tcp(&p, t, TH_ACK, sizes[i], 0);
			if (!seq_run(e, "tc-out", &p, 0, 0, why, sizeof(why)))
				goto bad;
			expect_seg_watched(&v, false, TH_ACK, sizes[i], watched == 1);
			build_tcp(&p, &back, TH_ACK, sizes[i], 0);
			if (!seq_run(e, "tc-in", &p, 0, 0, why, sizeof(why)))
				goto bad;
		}
	}
	set_watching(e, 0);
	if (!check_flow(e, &k, &v, why, sizeof(why)) ||
	    !check_counters(e, 1, 0, why, sizeof(why)))
		goto bad;
	pass(name);
	return;
bad:
	set_watching(e, 0);
	fail(name, "%s", why);
}

/*
 * A connection's life at the NIC: its handshake opens the record, its
 * data and ACKs touch nothing, its FINs and a final RST are counted.
 */
static void seq_life(struct env *e, const char *name, const struct tuple *out,
		     const char *in_prog)
{
	static const struct { bool in; __u8 flags; __u16 payload; } segs[] = {
		{ false, TH_SYN, 0 }, { true, TH_SYN | TH_ACK, 0 }, { false, TH_ACK, 0 },
		{ false, TH_ACK | TH_PSH, 64 }, { true, TH_ACK, 0 }, { true, TH_ACK | TH_PSH, 64 },
		{ false, TH_ACK, 0 }, { true, TH_FIN | TH_ACK, 0 }, { false, TH_FIN | TH_ACK, 10 },
		{ true, TH_RST, 0 },
	};
	struct tuple back = reverse(out);
	struct flow_key k = key_of(out, false);
	struct nic_flow v = {};
	char why[1200];
	struct pkt p;

	env_reset(e);
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		build_tcp(&p, segs[i].in ? &back : out, segs[i].flags, segs[i].payload, 0);
		if (!seq_run(e, segs[i].in ? in_prog : "tc-out", &p, 0, 0, why, sizeof(why)))
			goto bad;
		expect_seg(&v, segs[i].in, segs[i].flags, segs[i].payload);
	}
	if (!check_flow(e, &k, &v, why, sizeof(why)) ||
	    !check_counters(e, 1, 0, why, sizeof(why)))
		goto bad;
	pass(name);
	return;
bad:
	fail(name, "%s", why);
}

/* A flow met mid-stream (its SYN before we attached): nothing opens a record. */
static void seq_mid_stream(struct env *e, const char *name, const struct tuple *out)
{
	static const __u8 flags[] = { TH_ACK | TH_PSH, TH_ACK, TH_FIN | TH_ACK, TH_RST };
	struct tuple back = reverse(out);
	char why[1200];
	struct pkt p;

	env_reset(e);
	set_watching(e, 1);
	for (size_t i = 0; i < sizeof(flags); i++) {
		build_tcp(&p, out, flags[i], 100, 0);
		if (!seq_run(e, "tc-out", &p, 0, 0, why, sizeof(why)))
			goto bad;
		build_tcp(&p, &back, flags[i], 100, 0);
		if (!seq_run(e, "tc-in", &p, 0, 0, why, sizeof(why)) ||
		    !seq_run(e, "xdp", &p, 0, 0, why, sizeof(why)))
			goto bad;
	}
	set_watching(e, 0);
	if (!check_counters(e, 0, 0, why, sizeof(why)))
		goto bad;
	pass(name);
	return;
bad:
	set_watching(e, 0);
	fail(name, "%s", why);
}

/*
 * A 4-tuple reused: the first connection's SYN, its answer and its end are
 * counted; a retransmitted SYN (the same sequence number) adds to them; a
 * SYN with a new initial sequence number starts the record afresh, in
 * place. From this host's side as the client (our SYN leaves) and as the
 * server (the peer's arrives).
 */
static void seq_reuse(struct env *e, const char *name, const struct tuple *out,
		      bool client)
{
	struct tuple back = reverse(out);
	const struct tuple *syn_t = client ? out : &back;
	const char *syn_prog = client ? "tc-out" : "tc-in";
	const char *ans_prog = client ? "tc-in" : "tc-out";
	struct flow_key k = key_of(out, false);
	struct nic_flow v = {};
	char why[1200];
	struct pkt p;

	env_reset(e);
	build_tcp(&p, syn_t, TH_SYN, 0, 0);
	if (!seq_run(e, syn_prog, &p, 0, 0, why, sizeof(why)))
		goto bad;
	build_tcp(&p, client ? &back : out, TH_SYN | TH_ACK, 0, 0);
	if (!seq_run(e, ans_prog, &p, 0, 0, why, sizeof(why)))
		goto bad;
	build_tcp(&p, &back, TH_RST | TH_ACK, 0, 0);
	if (!seq_run(e, "tc-in", &p, 0, 0, why, sizeof(why)))
		goto bad;
	/* the same SYN again: a retransmission, counted on */
	build_tcp(&p, syn_t, TH_SYN, 0, 0);
	if (!seq_run(e, syn_prog, &p, 0, 0, why, sizeof(why)))
		goto bad;
	expect_seg(&v, !client, TH_SYN, 0);
	expect_seg(&v, client, TH_SYN | TH_ACK, 0);
	expect_seg(&v, true, TH_RST | TH_ACK, 0);
	expect_seg(&v, !client, TH_SYN, 0);
	if (!check_flow(e, &k, &v, why, sizeof(why)))
		goto bad;
	/* a new connection: another initial sequence number */
	build_tcp(&p, syn_t, TH_SYN, 0, 0);
	put32(p.b + p.l4 + 4, 777777);
	if (!seq_run(e, syn_prog, &p, 0, 0, why, sizeof(why)))
		goto bad;
	memset(&v, 0, sizeof(v));
	expect_seg(&v, !client, TH_SYN, 0);
	v.syn_seq = 777777;
	if (!check_flow(e, &k, &v, why, sizeof(why)) ||
	    !check_counters(e, 1, 0, why, sizeof(why)))
		goto bad;
	pass(name);
	return;
bad:
	fail(name, "%s", why);
}

static void run_sequences(struct env *e)
{
	static const struct tuple syn4 = { AF_INET, "10.0.1.5", "10.0.2.100", 40000, 80 };
	static const struct tuple rep4 = { AF_INET, "10.0.2.10", "10.0.1.5", 8080, 40000 };
	static const struct tuple syn6 = { AF_INET6, "fd00:1::5", "fd00:2::100", 40000, 80 };
	static const struct tuple rep6 = { AF_INET6, "fd00:2::10", "fd00:1::5", 8080, 40000 };

	seq_handshake(e, "seq/v4-handshake-xdp", &Q4, "xdp");
	seq_handshake(e, "seq/v4-handshake-tc", &Q4, "tc-in");
	seq_handshake(e, "seq/v6-handshake-xdp", &Q6, "xdp");
	seq_handshake(e, "seq/v6-handshake-tc", &Q6, "tc-in");
	seq_nat(e, "seq/v4-nat-stray-syn-ack-xdp", &syn4, &rep4, "xdp", true);
	seq_nat(e, "seq/v4-nat-stray-syn-ack-tc", &syn4, &rep4, "tc-in", true);
	seq_nat(e, "seq/v6-nat-stray-syn-ack-xdp", &syn6, &rep6, "xdp", true);
	seq_nat(e, "seq/v6-nat-stray-syn-ack-tc", &syn6, &rep6, "tc-in", true);
	seq_nat(e, "seq/v4-syn-ack-of-another-connection-same-port", &syn4, &rep4, "tc-in", false);
	seq_nat(e, "seq/v6-syn-ack-of-another-connection-same-port", &syn6, &rep6, "xdp", false);
	seq_gso(e, "seq/v4-gso-tc-out", &Q4, "tc-out", false);
	seq_gso(e, "seq/v6-gro-fin-tc-in", &T6, "tc-in", true);
	seq_max_seg(e, "seq/v4-max-seg-watched", &Q4);
	seq_max_seg(e, "seq/v6-max-seg-watched", &Q6);
	seq_life(e, "seq/v4-life-tc", &Q4, "tc-in");
	seq_life(e, "seq/v6-life-xdp", &Q6, "xdp");
	seq_mid_stream(e, "seq/v4-mid-stream", &Q4);
	seq_mid_stream(e, "seq/v6-mid-stream", &Q6);
	seq_reuse(e, "seq/v4-reuse-client", &Q4, true);
	seq_reuse(e, "seq/v6-reuse-client", &Q6, true);
	seq_reuse(e, "seq/v4-reuse-server", &Q4, false);
	seq_reuse(e, "seq/v6-reuse-server", &Q6, false);
}

/* The rodata filters apply: a port filter and a host filter. */
static void run_filters(void)
{
	static const struct tuple other4 = { AF_INET, "10.0.2.99", "10.0.1.5", 80, 41000 };
	struct env e;
	char why[1200];
	struct pkt p;
	__u8 host[16];
	int err;

	err = env_open(&e, TEST_NETNS, 443, 0, NULL);
	if (err) {
		fail("filter/port", "cannot load: %s", strerror(-err));
		return;
	}
	env_reset(&e);
	build_tcp(&p, &T4, TH_SYN, 0, 0);		/* port 80/41000: filtered out */
	if (!seq_run(&e, "tc-in", &p, 0, 0, why, sizeof(why)) ||
	    !check_counters(&e, 0, 0, why, sizeof(why)))
		fail("filter/port-other", "%s", why);
	else
		pass("filter/port-other");
	build_tcp(&p, &T6, TH_SYN, 0, 0);		/* port 443: kept */
	if (!seq_run(&e, "tc-in", &p, 0, 0, why, sizeof(why)) ||
	    !check_counters(&e, 1, 0, why, sizeof(why)))
		fail("filter/port-match", "%s", why);
	else
		pass("filter/port-match");
	tcptrace_bpf__destroy(e.skel);

	addr(AF_INET, "10.0.2.10", host);
	err = env_open(&e, TEST_NETNS, 0, AF_INET, host);
	if (err) {
		fail("filter/host", "cannot load: %s", strerror(-err));
		return;
	}
	env_reset(&e);
	build_tcp(&p, &other4, TH_SYN, 0, 0);
	if (!seq_run(&e, "xdp", &p, 0, 0, why, sizeof(why)) ||
	    !check_counters(&e, 0, 0, why, sizeof(why)))
		fail("filter/host-other", "%s", why);
	else
		pass("filter/host-other");
	build_tcp(&p, &T4, TH_SYN, 0, 0);
	if (!seq_run(&e, "xdp", &p, 0, 0, why, sizeof(why)) ||
	    !check_counters(&e, 1, 0, why, sizeof(why)))
		fail("filter/host-match", "%s", why);
	else
		pass("filter/host-match");
	tcptrace_bpf__destroy(e.skel);
}

/* ------------------------------------------------------------ real attach */

#define VETH_A	"ttnic0"
#define VETH_B	"ttnic1"

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

/* connect() from a bound port to a closed one: a SYN out, an RST in. */
static int refused_connect(int family, const char *dst, __u16 *lport)
{
	struct sockaddr_storage ss = {};
	socklen_t sl;
	int s, ret;

	s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		sl = sizeof(*a);
	}
	if (bind(s, (struct sockaddr *)&ss, sl) || getsockname(s, (struct sockaddr *)&ss, &sl)) {
		ret = -errno;
		close(s);
		return ret;
	}
	*lport = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
		       ((struct sockaddr_in6 *)&ss)->sin6_port);
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(9);
		inet_pton(AF_INET, dst, &a->sin_addr);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(9);
		inet_pton(AF_INET6, dst, &a->sin6_addr);
	}
	ret = connect(s, (struct sockaddr *)&ss, sl) ? -errno : 0;
	close(s);
	return ret;
}

/* A refused connect over the veth, checked in the NIC record. */
static void check_refused(struct env *e, const char *name, int family,
			  const char *src, const char *dst)
{
	struct tuple t = { family, src, dst, 0, 9 };
	struct flow_key k;
	struct nic_flow_map m;
	struct nic_flow v;
	char why[200];
	int ret;

	ret = refused_connect(family, dst, &t.sport);
	if (ret != -ECONNREFUSED) {
		fail(name, "connect returned %s, want ECONNREFUSED", strerror(-ret));
		return;
	}
	k = key_of(&t, false);
	if (bpf_map_lookup_elem(e->flows, &k, &m)) {
		fail(name, "no record for port %u", t.sport);
		return;
	}
	nic_flow_of(&m, &v);
	if (v.dir[NIC_OUT].syn != 1 || v.dir[NIC_IN].rst != 1 || v.dir[NIC_IN].pkts != 1) {
		snprintf(why, sizeof(why), "out.syn %u in.rst %u in.pkts %u, want 1 1 1",
			 v.dir[NIC_OUT].syn, v.dir[NIC_IN].rst, v.dir[NIC_IN].pkts);
		fail(name, "%s", why);
		return;
	}
	pass(name);
}

static bool nothing_attached(int ifindex, char *why, size_t len)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = getpid(), .priority = NIC_TC_PRIORITY);
	__u32 cnt;

	if (bpf_xdp_query(ifindex, 0, &q) || q.attach_mode != XDP_ATTACHED_NONE) {
		snprintf(why, len, "XDP still attached (mode %u)", q.attach_mode);
		return false;
	}
	for (int type = 46; type <= 47; type++) {
		cnt = 0;
		if (bpf_prog_query(ifindex, type, 0, NULL, NULL, &cnt) || cnt) {
			snprintf(why, len, "tcx %s: %u programs left (%s)",
				 type == 46 ? "ingress" : "egress", cnt, strerror(errno));
			return false;
		}
	}
	for (int dir = BPF_TC_INGRESS; dir <= BPF_TC_EGRESS; dir <<= 1) {
		int ret;

		h.attach_point = dir;
		ret = bpf_tc_query(&h, &o);
		if (ret != -ENOENT && ret != -EINVAL) {
			snprintf(why, len, "netlink TC filter left (%s)", strerror(-ret));
			return false;
		}
		o.prog_id = 0;
	}
	return true;
}

static void attach_case(struct env *e, const char *name, int ifindex,
			enum nic_ingress ing, bool no_tcx, enum nic_hook_kind want_in,
			enum nic_hook_kind want_out)
{
	struct nic_attach_opts o = {
		.tc_in_fd = e->tc_in, .tc_out_fd = e->tc_out, .xdp_fd = e->xdp,
		.ingress = ing, .egress = true, .no_tcx = no_tcx,
	};
	struct nic_attachment a;
	char err[256], sub[160], why[200];
	int ret;

	ret = nic_attach(ifindex, &o, &a, err, sizeof(err));
	snprintf(sub, sizeof(sub), "%s/attach", name);
	if (ret) {
		fail(sub, "%s", err);
		return;
	}
	if (a.ingress_kind != want_in || a.egress_kind != want_out) {
		fail(sub, "attached %s/%s, want %s/%s", nic_hook_kind_name(a.ingress_kind),
		     nic_hook_kind_name(a.egress_kind), nic_hook_kind_name(want_in),
		     nic_hook_kind_name(want_out));
		nic_detach(&a);
		return;
	}
	pass(sub);
	snprintf(sub, sizeof(sub), "%s/v4-refused", name);
	check_refused(e, sub, AF_INET, "10.199.0.1", "10.199.0.2");
	snprintf(sub, sizeof(sub), "%s/v6-refused", name);
	check_refused(e, sub, AF_INET6, "fd00:199::1", "fd00:199::2");
	nic_detach(&a);
	snprintf(sub, sizeof(sub), "%s/detached", name);
	if (nothing_attached(ifindex, why, sizeof(why)))
		pass(sub);
	else
		fail(sub, "%s", why);
}

/* A trivial program of another tool: "return pass". */
static int foreign_prog(enum bpf_prog_type type, const char *name, int ret)
{
	struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = ret },	/* r0 = ret */
		{ .code = 0x95 },				/* exit */
	};

	return bpf_prog_load(type, name, "GPL", insns, 2, NULL);
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static void foreign_xdp_case(struct env *e, int ifindex)
{
	struct nic_attach_opts o = {
		.tc_in_fd = e->tc_in, .tc_out_fd = e->tc_out, .xdp_fd = e->xdp,
		.ingress = NIC_INGRESS_XDP_GENERIC, .egress = true,
	};
	struct nic_attachment a;
	__u32 id, now = 0;
	char err[256];
	int fd, ret;

	fd = foreign_prog(BPF_PROG_TYPE_XDP, "foreign_xdp", 2);
	if (fd < 0) {
		fail("attach/foreign-xdp", "cannot load a foreign program: %s", strerror(errno));
		return;
	}
	id = prog_id(fd);
	if (bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE, NULL)) {
		fail("attach/foreign-xdp", "cannot attach the foreign program: %s", strerror(errno));
		close(fd);
		return;
	}
	for (int native = 0; native <= 1; native++) {
		const char *n = native ? "attach/foreign-xdp-native-refused" :
			"attach/foreign-xdp-generic-refused";

		o.ingress = native ? NIC_INGRESS_XDP_NATIVE : NIC_INGRESS_XDP_GENERIC;
		ret = nic_attach(ifindex, &o, &a, err, sizeof(err));
		bpf_xdp_query_id(ifindex, 0, &now);
		if (ret != -EBUSY)
			fail(n, "returned %d (%s), want -EBUSY", ret, ret ? err : "attached");
		else if (a.xdp_holder_id != id || now != id)
			fail(n, "holder %u, hook holds %u, want %u", a.xdp_holder_id, now, id);
		else if (a.ingress_kind != NIC_HOOK_NONE || a.egress_kind != NIC_HOOK_NONE)
			fail(n, "left something attached");
		else
			pass(n);
		if (!ret)
			nic_detach(&a);
	}
	/* the caller's fallback: TC beside the foreign XDP program */
	o.ingress = NIC_INGRESS_TC;
	ret = nic_attach(ifindex, &o, &a, err, sizeof(err));
	bpf_xdp_query_id(ifindex, 0, &now);
	if (ret || a.ingress_kind != NIC_HOOK_TCX || now != id)
		fail("attach/foreign-xdp-tc-fallback", "%s", ret ? err : "wrong kind or XDP changed");
	else
		pass("attach/foreign-xdp-tc-fallback");
	if (!ret)
		nic_detach(&a);
	bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	close(fd);
}

/* bpf_tc_query() at an owner's handle and our priority, q reset first (it is an output). */
static int tc_query_owner(const struct bpf_tc_hook *h, struct bpf_tc_opts *q, __u32 owner)
{
	memset(q, 0, sizeof(*q));
	q->sz = sizeof(*q);
	q->handle = owner;
	q->priority = NIC_TC_PRIORITY;
	return bpf_tc_query(h, q);
}

/* ... at this process's handle: where a tracer's own filters go. */
static int tc_query(const struct bpf_tc_hook *h, struct bpf_tc_opts *q)
{
	return tc_query_owner(h, q, getpid());
}

/* The pid of a process that has exited: a killed tracer's handle. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

/* Another running instance of this program (same comm), until killed. */
static pid_t live_twin(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

/*
 * No filter at our handle and priority: ENOENT, or EINVAL once the last
 * filter took its chain with it ("Cannot find specified filter chain") or
 * there is no clsact qdisc at all.
 */
static bool tc_gone(const struct bpf_tc_hook *h)
{
	struct bpf_tc_opts q;
	int ret = tc_query(h, &q);

	return ret == -ENOENT || ret == -EINVAL;
}

/* Netlink TC: a stale filter of ours is replaced, someone else's is not. */
static void netlink_case(struct env *e, int ifindex)
{
	struct nic_attach_opts o = {
		.tc_in_fd = e->tc_in, .tc_out_fd = e->tc_out, .xdp_fd = e->xdp,
		.ingress = NIC_INGRESS_TC, .egress = true, .no_tcx = true,
	};
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = getpid(), .priority = NIC_TC_PRIORITY);
	struct nic_attachment a, stale, twin;
	char err[256], why[200];
	pid_t dead = dead_pid(), other = live_twin();
	int ret, fd;

	/* a killed tracer: filters attached under its pid, never detached */
	o.owner = dead;
	ret = nic_attach(ifindex, &o, &stale, err, sizeof(err));
	o.owner = 0;
	if (ret) {
		fail("attach/netlink-stale", "%s", err);
		goto twin;
	}
	ret = nic_attach(ifindex, &o, &a, err, sizeof(err));
	if (ret)
		fail("attach/netlink-stale", "second attach: %s", err);
	else if (tc_query(&h, &q) || q.prog_id != prog_id(e->tc_in))
		fail("attach/netlink-stale", "no filter of ours after re-attach");
	else if (tc_query_owner(&h, &q, dead) != -ENOENT)
		fail("attach/netlink-stale", "the dead tracer's filter stayed");
	else
		pass("attach/netlink-stale");
	if (!ret)
		nic_detach(&a);

	/* a stale netlink filter goes when tcx takes over */
	o.owner = dead;
	ret = nic_attach(ifindex, &o, &stale, err, sizeof(err));
	o.owner = 0;
	o.no_tcx = false;
	if (!ret)
		ret = nic_attach(ifindex, &o, &a, err, sizeof(err));
	q.prog_id = 0;
	if (ret)
		fail("attach/netlink-stale-then-tcx", "%s", err);
	else if (tc_query_owner(&h, &q, dead) != -ENOENT && !tc_gone(&h))
		fail("attach/netlink-stale-then-tcx", "the netlink filter stayed beside tcx");
	else
		pass("attach/netlink-stale-then-tcx");
	if (!ret)
		nic_detach(&a);
	o.no_tcx = true;

twin:
	/* a second instance that runs: its filter is not stale, both count */
	o.owner = other;
	ret = other > 0 ? nic_attach(ifindex, &o, &twin, err, sizeof(err)) : -ECHILD;
	o.owner = 0;
	if (ret) {
		fail("attach/netlink-twin-kept", "the twin's attach: %s", err);
	} else {
		int ours = nic_attach(ifindex, &o, &a, err, sizeof(err));

		if (ours)
			fail("attach/netlink-twin-kept", "%s", err);
		else if (tc_query_owner(&h, &q, other) || q.prog_id != prog_id(e->tc_in))
			fail("attach/netlink-twin-kept", "the running twin's filter was removed");
		else if (tc_query(&h, &q) || q.prog_id != prog_id(e->tc_in))
			fail("attach/netlink-twin-kept", "no filter of ours beside the twin's");
		else
			pass("attach/netlink-twin-kept");
		if (!ours)
			nic_detach(&a);
		nic_detach(&twin);
	}
	if (other > 0) {
		kill(other, SIGKILL);
		waitpid(other, NULL, 0);
	}

	/* another tool's filter at our handle and priority */
	fd = foreign_prog(BPF_PROG_TYPE_SCHED_CLS, "foreign_tc", -1);
	tc_query(&h, &q);	/* resets q */
	q.prog_fd = fd;
	q.prog_id = 0;
	q.flags = 0;
	if (fd < 0 || bpf_tc_attach(&h, &q)) {
		fail("attach/netlink-foreign-kept", "cannot attach a foreign filter");
	} else {
		__u32 fid = q.prog_id;

		o.no_tcx = true;
		ret = nic_attach(ifindex, &o, &a, err, sizeof(err));
		if (ret != -EBUSY)
			fail("attach/netlink-foreign-kept", "returned %d, want -EBUSY", ret);
		else if (tc_query(&h, &q) || q.prog_id != fid)
			fail("attach/netlink-foreign-kept", "the foreign filter is gone");
		else
			pass("attach/netlink-foreign-kept");
		if (!ret)
			nic_detach(&a);
		tc_query(&h, &q);	/* resets q for the detach */
		q.prog_id = 0;
		q.flags = 0;
		bpf_tc_detach(&h, &q);
	}
	if (fd >= 0)
		close(fd);
	if (nothing_attached(ifindex, why, sizeof(why)))
		pass("attach/netlink-detached");
	else
		fail("attach/netlink-detached", "%s", why);
}

/* The tracer's default set, as an array of ifindexes (the caller frees it). */
static int default_set(int **out, char *err, size_t errlen)
{
	struct nic_link *l;
	int n = nic_list_links(&l, err, errlen), k = 0;

	*out = NULL;
	if (n < 0)
		return n;
	nic_pick_default(l, n);
	*out = calloc(n ? n : 1, sizeof(int));
	for (int i = 0; *out && i < n; i++)
		if (l[i].hooked)
			(*out)[k++] = l[i].ifindex;
	free(l);
	return k;
}

static void misc_case(struct env *e, int ifindex)
{
	struct nic_attach_opts o = {
		.tc_in_fd = e->tc_in, .tc_out_fd = e->tc_out, .xdp_fd = e->xdp,
		.ingress = NIC_INGRESS_TC, .egress = true,
	};
	struct nic_attachment a;
	char err[256];
	int *idx = NULL, n, ret;

	n = default_set(&idx, err, sizeof(err));
	if (n == 1 && idx[0] == ifindex)
		pass("attach/default-interfaces");
	else
		fail("attach/default-interfaces", "got %d interfaces (%s), want only %s",
		     n, n < 0 ? err : "", VETH_A);
	free(idx);
	ret = nic_attach(1 /* lo */, &o, &a, err, sizeof(err));
	if (ret == -EOPNOTSUPP)
		pass("attach/loopback-refused");
	else
		fail("attach/loopback-refused", "returned %d, want -EOPNOTSUPP", ret);
	ret = nic_attach(99999, &o, &a, err, sizeof(err));
	if (ret == -ENODEV)
		pass("attach/no-such-interface");
	else
		fail("attach/no-such-interface", "returned %d, want -ENODEV", ret);
}

/* ------------------------------------------------- the default interface set */

#define UP	(IFF_UP | IFF_RUNNING)

static struct nic_link mklink(int ifindex, const char *name, const char *kind,
			      int master, int lower, unsigned int flags)
{
	struct nic_link l = { .ifindex = ifindex, .flags = flags, .type = ARPHRD_ETHER,
			      .master = master, .lower = lower };

	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.kind, sizeof(l.kind), "%s", kind);
	return l;
}

/* "name" or "name>upper" per link, hooked ones bare, in order. */
static void pick_string(struct nic_link *l, int n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	nic_pick_default(l, n);
	for (int i = 0; i < n && off < len; i++) {
		const char *on = "";

		for (int j = 0; j < n; j++)
			if (l[i].counted_on && l[j].ifindex == l[i].counted_on)
				on = l[j].name;
		if (l[i].hooked)
			off += snprintf(buf + off, len - off, "%s%s", off ? " " : "", l[i].name);
		else if (l[i].counted_on)
			off += snprintf(buf + off, len - off, "%s%s>%s", off ? " " : "",
					l[i].name, on);
	}
}

static void pick_expect(const char *name, struct nic_link *l, int n, const char *want)
{
	char got[512], sub[96];

	snprintf(sub, sizeof(sub), "pick/%s", name);
	pick_string(l, n, got, sizeof(got));
	if (strcmp(got, want))
		fail(sub, "got '%s', want '%s'", got, want);
	else
		pass(sub);
}

/*
 * Which links the default set hooks, from made-up link lists (no root):
 * each frame counted once, on the device every frame of its path crosses.
 */
static void pick_cases(void)
{
	struct nic_link l[400];
	int n;

	n = 0;
	l[n++] = mklink(1, "lo", "", 0, 0, UP | IFF_LOOPBACK);
	l[n++] = mklink(2, "eth0", "", 0, 0, UP);
	l[n++] = mklink(3, "eth1", "", 0, 0, 0);		/* down */
	l[n] = mklink(4, "ib0", "", 0, 0, UP);
	l[n++].type = ARPHRD_INFINIBAND;
	pick_expect("plain", l, n, "eth0");

	/* Bridge: ports left to the bridge, a port of a bridge that is down kept. */
	n = 0;
	l[n++] = mklink(2, "br0", "bridge", 0, 0, UP);
	l[n++] = mklink(3, "eth0", "", 2, 0, UP);
	l[n++] = mklink(4, "veth9", "veth", 2, 0, UP);
	l[n++] = mklink(5, "br1", "bridge", 0, 0, 0);
	l[n++] = mklink(6, "eth1", "", 5, 0, UP);
	pick_expect("bridge-ports", l, n, "br0 eth0>br0 veth9>br0 eth1");

	/* Bond and team slaves left to their master. */
	n = 0;
	l[n++] = mklink(2, "eth0", "", 4, 0, UP);
	l[n++] = mklink(3, "eth1", "", 4, 0, UP);
	l[n++] = mklink(4, "bond0", "bond", 0, 0, UP);
	l[n++] = mklink(5, "eth2", "", 6, 0, UP);
	l[n++] = mklink(6, "team0", "team", 0, 0, UP);
	pick_expect("bond-team-slaves", l, n, "eth0>bond0 eth1>bond0 bond0 eth2>team0 team0");

	/* A VRF or an OVS datapath is no aggregating master: its ports count. */
	n = 0;
	l[n++] = mklink(2, "vrf-blue", "vrf", 0, 0, UP);
	l[n++] = mklink(3, "eth0", "", 2, 0, UP);
	pick_expect("vrf-slave-kept", l, n, "vrf-blue eth0");

	/* VLAN, macvlan, ipvlan: the lower counts their frames and its own. */
	n = 0;
	l[n++] = mklink(2, "eth0", "", 0, 0, UP);
	l[n++] = mklink(3, "eth0.100", "vlan", 0, 2, UP);
	l[n++] = mklink(4, "mv0", "macvlan", 0, 2, UP);
	l[n++] = mklink(5, "ipv0", "ipvlan", 0, 2, UP);
	l[n++] = mklink(6, "eth1", "", 0, 0, 0);		/* down lower */
	l[n++] = mklink(7, "eth1.7", "vlan", 0, 6, UP);
	pick_expect("stacked-on-lower", l, n,
		    "eth0 eth0.100>eth0 mv0>eth0 ipv0>eth0 eth1.7");

	/* QinQ, and a VLAN on a bond: counted at the bottom that is hooked. */
	n = 0;
	l[n++] = mklink(2, "eth0", "", 0, 0, UP);
	l[n++] = mklink(3, "eth0.10", "vlan", 0, 2, UP);
	l[n++] = mklink(4, "eth0.10.20", "vlan", 0, 3, UP);
	l[n++] = mklink(5, "eth1", "", 7, 0, UP);
	l[n++] = mklink(7, "bond0", "bond", 0, 0, UP);
	l[n++] = mklink(8, "bond0.5", "vlan", 0, 7, UP);
	pick_expect("qinq-and-vlan-on-bond", l, n,
		    "eth0 eth0.10>eth0 eth0.10.20>eth0 eth1>bond0 bond0 bond0.5>bond0");

	/* A VLAN on a bridge port: the port is the bridge's, the VLAN counts. */
	n = 0;
	l[n++] = mklink(2, "br0", "bridge", 0, 0, UP);
	l[n++] = mklink(3, "eth0", "", 2, 0, UP);
	l[n++] = mklink(4, "eth0.9", "vlan", 0, 3, UP);
	pick_expect("vlan-on-bridge-port", l, n, "br0 eth0>br0 eth0.9");

	/* A veth pair in one namespace (each the other's IFLA_LINK): both count. */
	n = 0;
	l[n++] = mklink(2, "va", "veth", 0, 3, UP);
	l[n++] = mklink(3, "vb", "veth", 0, 2, UP);
	pick_expect("veth-pair-kept", l, n, "va vb");

	/* No cap: 300 interfaces (a node's pod veths) are all hooked. */
	for (n = 0; n < 300; n++)
		l[n] = mklink(n + 2, "veth", "veth", 0, 0, UP);
	nic_pick_default(l, n);
	{
		int hooked = 0;

		for (int i = 0; i < n; i++)
			hooked += l[i].hooked;
		if (hooked == 300)
			pass("pick/no-cap");
		else
			fail("pick/no-cap", "hooked %d of 300", hooked);
	}
}

/*
 * The default set on real links: a bridge with a port, a macvlan on a
 * veth, and more interfaces than the old cap of 16. Each packet of a
 * refused connect through the bridge and through the macvlan is counted
 * once: one SYN out, one RST in (hooking every Ethernet link counted them
 * twice). VLAN and bond need modules this machine may lack: said, not
 * silently skipped.
 */
static void default_set_case(struct env *e, pid_t holder)
{
	struct nic_attach_opts o = {
		.tc_in_fd = e->tc_in, .tc_out_fd = e->tc_out, .xdp_fd = e->xdp,
		.ingress = NIC_INGRESS_TC, .egress = true,
	};
	struct nic_attachment *att = NULL;
	int *idx = NULL, n, n_att = 0, want;
	char err[256], why[200];
	bool have_all = true;

	if (sh("ip link add ttbr type bridge && ip link set ttbr up"
	       " && ip link add ttbp0 type veth peer name ttbp1"
	       " && ip link set ttbp0 master ttbr up && ip link set ttbp1 netns %d"
	       " && ip addr add 10.198.0.1/24 dev ttbr && ip -6 addr add fd00:198::1/64 dev ttbr nodad"
	       " && ip link add ttml0 type veth peer name ttml1 && ip link set ttml0 up"
	       " && ip link set ttml1 netns %d"
	       " && ip link add link ttml0 name ttmv0 type macvlan mode bridge"
	       " && ip addr add 10.197.0.1/24 dev ttmv0 && ip -6 addr add fd00:197::1/64 dev ttmv0 nodad"
	       " && ip link set ttmv0 up"
	       " && nsenter --net=/proc/%d/ns/net sh -c '"
	       "ip addr add 10.198.0.2/24 dev ttbp1 && ip -6 addr add fd00:198::2/64 dev ttbp1 nodad"
	       " && ip link set ttbp1 up"
	       " && ip addr add 10.197.0.2/24 dev ttml1 && ip -6 addr add fd00:197::2/64 dev ttml1 nodad"
	       " && ip link set ttml1 up'", holder, holder, holder)) {
		fail("default-set/setup", "cannot build the bridge and the macvlan");
		goto out;
	}
	/* Ten veth pairs, both ends here: 20 more links, each its own. */
	for (int i = 0; i < 10; i++)
		if (sh("ip link add ttx%da type veth peer name ttx%db"
		       " && ip link set ttx%da up && ip link set ttx%db up", i, i, i, i)) {
			fail("default-set/setup", "cannot add veth pair %d", i);
			goto out;
		}
	if (sh("ip link add link ttml0 name ttml0.5 type vlan id 5 2>/dev/null"))
		have_all = false;
	else
		sh("ip link set ttml0.5 up");

	n = default_set(&idx, err, sizeof(err));
	/* VETH_A, ttbr, ttml0 and the twenty; not ttbp0, ttmv0 (nor ttml0.5). */
	want = 3 + 20;
	{
		bool ok = n == want;

		for (int i = 0; ok && i < n; i++) {
			char name[IF_NAMESIZE] = "";

			if_indextoname(idx[i], name);
			ok = strcmp(name, "ttbp0") && strcmp(name, "ttmv0") && strcmp(name, "ttml0.5");
		}
		if (ok)
			pass("default-set/which");
		else
			fail("default-set/which", "%d hooked (%s), want %d: every link but the "
			     "bridge port and the macvlan (and the VLAN)", n, n < 0 ? err : "", want);
		if (!ok)
			goto out;
	}
	if (have_all)
		pass("default-set/vlan-upper-left-to-lower");
	else
		printf("SKIP default-set/vlan-upper-left-to-lower: no 802.1Q module here "
		       "(pick/stacked-on-lower covers the choice)\n");
	printf("SKIP default-set/bond: no real bond here (bonding is a module); "
	       "pick/bond-team-slaves covers the choice\n");

	att = calloc(n, sizeof(*att));
	for (int i = 0; att && i < n; i++) {
		if (nic_attach(idx[i], &o, &att[n_att], err, sizeof(err))) {
			fail("default-set/attach", "%s", err);
			goto out;
		}
		n_att++;
	}
	if (!att) {
		fail("default-set/attach", "out of memory");
		goto out;
	}
	pass("default-set/attach-all");
	env_reset(e);
	check_refused(e, "default-set/bridge-v4-once", AF_INET, "10.198.0.1", "10.198.0.2");
	check_refused(e, "default-set/bridge-v6-once", AF_INET6, "fd00:198::1", "fd00:198::2");
	check_refused(e, "default-set/macvlan-v4-once", AF_INET, "10.197.0.1", "10.197.0.2");
	check_refused(e, "default-set/macvlan-v6-once", AF_INET6, "fd00:197::1", "fd00:197::2");
out:
	for (int i = 0; i < n_att; i++)
		nic_detach(&att[i]);
	free(att);
	free(idx);
	sh("ip link del ttbr 2>/dev/null; ip link del ttbp0 2>/dev/null;"
	   " ip link del ttmv0 2>/dev/null; ip link del ttml0.5 2>/dev/null;"
	   " ip link del ttml0 2>/dev/null;"
	   " for i in 0 1 2 3 4 5 6 7 8 9; do ip link del ttx${i}a 2>/dev/null; done");
	if (nothing_attached(if_nametoindex(VETH_A), why, sizeof(why)))
		pass("default-set/detached");
	else
		fail("default-set/detached", "%s", why);
}

/* The peer namespace: a process that holds it until we die. */
static pid_t spawn_peer_ns(void)
{
	int pfd[2];
	pid_t pid;
	char c;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		if (unshare(CLONE_NEWNET))
			_exit(1);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &c, 1) != 1) {
		close(pfd[0]);
		return -1;
	}
	close(pfd[0]);
	return pid;
}

/* Runs in a child process, in its own network namespace. */
static int attach_tests(void)
{
	char path[64];
	struct env e;
	struct stat st;
	int ifindex, self, peer, err;
	pid_t holder;

	if (unshare(CLONE_NEWNET)) {
		fail("attach/setup", "unshare: %s", strerror(errno));
		return 1;
	}
	holder = spawn_peer_ns();
	if (holder < 0) {
		fail("attach/setup", "cannot create the peer namespace");
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", holder);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	peer = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || peer < 0 ||
	    sh("ip link set lo up && ip link add " VETH_A " type veth peer name " VETH_B
	       " && ip link set " VETH_B " netns %d"
	       " && ip addr add 10.199.0.1/24 dev " VETH_A
	       " && ip -6 addr add fd00:199::1/64 dev " VETH_A " nodad"
	       " && ip link set " VETH_A " up", holder) ||
	    setns(peer, CLONE_NEWNET) ||
	    sh("ip link set lo up && ip addr add 10.199.0.2/24 dev " VETH_B
	       " && ip -6 addr add fd00:199::2/64 dev " VETH_B " nodad"
	       " && ip link set " VETH_B " up") ||
	    setns(self, CLONE_NEWNET)) {
		fail("attach/setup", "cannot build the veth pair");
		kill(holder, SIGKILL);
		return 1;
	}
	ifindex = if_nametoindex(VETH_A);
	if (fstat(self, &st) || !ifindex) {
		fail("attach/setup", "no %s", VETH_A);
		kill(holder, SIGKILL);
		return 1;
	}
	/* The records' namespace is this one, as the tracer would set it. */
	key_netns = st.st_ino;
	err = env_open(&e, key_netns, 0, 0, NULL);
	if (err) {
		fail("attach/setup", "cannot load: %s", strerror(-err));
		kill(holder, SIGKILL);
		return 1;
	}
	attach_case(&e, "attach/tcx", ifindex, NIC_INGRESS_TC, false,
		    NIC_HOOK_TCX, NIC_HOOK_TCX);
	attach_case(&e, "attach/netlink", ifindex, NIC_INGRESS_TC, true,
		    NIC_HOOK_TC_NETLINK, NIC_HOOK_TC_NETLINK);
	attach_case(&e, "attach/xdp-generic", ifindex, NIC_INGRESS_XDP_GENERIC, false,
		    NIC_HOOK_XDP_GENERIC, NIC_HOOK_TCX);
	attach_case(&e, "attach/xdp-native", ifindex, NIC_INGRESS_XDP_NATIVE, false,
		    NIC_HOOK_XDP_NATIVE, NIC_HOOK_TCX);
	foreign_xdp_case(&e, ifindex);
	netlink_case(&e, ifindex);
	misc_case(&e, ifindex);
	default_set_case(&e, holder);
	tcptrace_bpf__destroy(e.skel);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	return n_fail ? 1 : 0;
}

int main(void)
{
	struct env e;
	pid_t pid;
	int err, status;

	pick_cases();
	if (geteuid() != 0) {
		printf("SKIP test_nic: needs root\n");
		return 0;
	}
	libbpf_set_print(libbpf_quiet);
	err = env_open(&e, TEST_NETNS, 0, 0, NULL);
	if (err) {
		printf("FAIL test_nic/load: cannot load the NIC programs: %s\n", strerror(-err));
		return 1;
	}
	run_cases(&e);
	run_sequences(&e);
	tcptrace_bpf__destroy(e.skel);
	run_filters();

	/* The namespaces belong to a child: they go when it exits, however. */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(attach_tests());
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		printf("FAIL attach: cannot run the namespace tests\n");
		n_fail++;
	} else if (!WIFEXITED(status)) {
		printf("FAIL attach: the namespace tests died (signal %d)\n",
		       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		n_fail++;
	} else if (WEXITSTATUS(status)) {
		n_fail++;
	}
	return n_fail ? 1 : 0;
}
