// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The NIC view: per-flow counts of the TCP segments that reached and left
 * an interface, and the ICMP errors that quote them. Three entry points
 * (TC ingress, TC egress, XDP ingress) share one parser and counter body.
 *
 * Per-packet work is a parse and a test of the TCP flags: a data segment
 * or a bare ACK touches no map and reads no clock. Only segments with SYN,
 * RST or FIN and ICMP errors reach the flow map, and only a SYN (or an
 * ICMP error) creates a record (see nic.h). Every program passes every
 * packet unmodified.
 */
#include "tcptrace.bpf.h"
#include "compat.bpf.h"
#include "nic.h"

#define ETH_HLEN		14
#define ETH_P_IP		0x0800
#define ETH_P_IPV6		0x86DD
#define ETH_P_8021Q		0x8100
#define ETH_P_8021AD		0x88A8
#define IPPROTO_ICMP		1
#define IPPROTO_ICMPV6		58
#define NEXTHDR_HOP		0
#define NEXTHDR_ROUTING		43
#define NEXTHDR_FRAGMENT	44
#define NEXTHDR_AUTH		51
#define NEXTHDR_DEST		60
#define ICMP_DEST_UNREACH	3
#define ICMP_TIME_EXCEEDED	11
#define ICMPV6_DEST_UNREACH	1
#define ICMPV6_PKT_TOOBIG	2
#define ICMPV6_TIME_EXCEED	3
#define TCP_FL_FIN		0x01
#define TCP_FL_SYN		0x02
#define TCP_FL_RST		0x04
#define TCP_FL_ACK		0x10

/*
 * IPv6 extension headers walked before giving up (and counting the packet
 * unparsed). Four covers hop-by-hop + routing + fragment + dest-opts, the
 * usual worst case, and keeps the verifier's packet offset bounded.
 */
#define IPV6_EXT_MAX		4

/*
 * "Not my business, carry on": TCX_NEXT for a tcx link, and for a netlink
 * cls_bpf filter TC_ACT_UNSPEC (the same -1) moves on to the next filter.
 * TC_ACT_OK would be a verdict: it ends the chain, so tcx programs attached
 * after ours and every netlink filter (another tool's) would not run.
 */
#define TC_PASS_ON		TCX_NEXT

/* Inode of the namespace whose interfaces the hooks sit on (see nic.h). */
const volatile __u32 nic_netns = 0;

/*
 * LRU_HASH rather than LRU_PERCPU_HASH:
 *  - memory: a per-CPU value costs 208 bytes times every possible CPU; the
 *    shared one fits 8192 flows in ~2.5 MiB whatever the CPU count, within
 *    the tracer's 8 MiB budget;
 *  - the timestamps, MTU, ICMP sender and flags want one copy per flow,
 *    and userspace reads one value, not one per CPU;
 *  - a flow's packets stay on one CPU at a time per direction (RSS, the
 *    socket lock), so the counters take plain adds (count_into).
 * Lookups only set the LRU reference bit; the common LRU lock is taken on
 * insert, once per flow. Evictions are silent, so inserts are counted
 * (CNT_NIC_FLOWS_NEW): inserts minus live records = evicted.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NIC_FLOW_ENTRIES);
	__type(key, struct flow_key);
	__type(value, struct nic_flow_map);
} nic_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NIC_SYN_ENTRIES);
	__type(key, struct nic_syn_key);
	__type(value, struct nic_syn);
} nic_syns SEC(".maps");

/* Scratch for a new flow's first record: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nic_flow_map);
} nic_scratch SEC(".maps");

struct l3_info {
	void *l4;		/* first byte after the IP header and its extensions */
	const void *saddr;	/* the addresses in the packet: copied into a key */
	const void *daddr;	/* only for a segment that is counted */
	__u32 l4_len;		/* bytes from l4 to the end of the IP packet; 0: unknown */
	__u16 family;
	__u8 proto;		/* the upper-layer protocol */
	__u8 later_frag;	/* a non-first fragment: no upper-layer header */
};

/*
 * The flow key of a packet from this host's point of view: src_local when
 * the packet's source is this host. Ports are the caller's. The bounds are
 * checked again: past the parse, the verifier no longer ties the family
 * to how much of the header was checked.
 */
static __always_inline bool key_of(struct flow_key *k, const struct l3_info *l,
				   void *end, bool src_local)
{
	const void *local = src_local ? l->saddr : l->daddr;
	const void *remote = src_local ? l->daddr : l->saddr;

	__builtin_memset(k, 0, sizeof(*k));
	k->netns = nic_netns;
	k->family = l->family;
	if (l->family == AF_INET) {
		if (local + 4 > end || remote + 4 > end)
			return false;
		__builtin_memcpy(k->laddr, local, 4);
		__builtin_memcpy(k->raddr, remote, 4);
	} else {
		if (local + 16 > end || remote + 16 > end)
			return false;
		__builtin_memcpy(k->laddr, local, 16);
		__builtin_memcpy(k->raddr, remote, 16);
	}
	return true;
}

/*
 * An IPv4 header at p, options included (ihl). False when the header is
 * cut short or is not a sane IPv4 header.
 */
static __always_inline bool parse_ipv4(void *p, void *end, struct l3_info *l)
{
	struct iphdr *ip = p;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > end)
		return false;
	if (ip->version != 4 || ip->ihl < 5)
		return false;
	hlen = ip->ihl * 4;
	if (p + hlen > end)
		return false;
	l->family = AF_INET;
	l->saddr = &ip->saddr;
	l->daddr = &ip->daddr;
	l->proto = ip->protocol;
	l->later_frag = (bpf_ntohs(ip->frag_off) & 0x1fff) != 0;
	l->l4 = p + hlen;
	/* tot_len is 0 in a BIG TCP GSO packet: length unknown here. */
	tot = bpf_ntohs(ip->tot_len);
	if (tot && tot < hlen)
		return false;
	l->l4_len = tot ? tot - hlen : 0;
	return true;
}

/*
 * Make the verifier forget what it knows of v, which keeps its value.
 * Every path through the IPv6 extension-header walk leaves the offset
 * known differently (one constant per header length formula), so without
 * this the states never match and each of the 4^IPV6_EXT_MAX paths
 * verifies the rest of the program on its own, times those of the walk in
 * an ICMPv6 quote: "program too large". XORing twice with packet bytes it
 * cannot know leaves an unknown scalar; the bound check that follows gives
 * every path the same state, and they prune.
 */
static __always_inline __u64 forget(__u64 v, __u64 noise)
{
	asm volatile("%0 ^= %1\n\t%0 ^= %1" : "+r"(v) : "r"(noise));
	return v;
}

/* Bytes of IPv6 header plus extension headers we accept. */
#define IPV6_HDRS_MAX		1024

/*
 * An IPv6 header at p and the extension headers after it: hop-by-hop,
 * routing, destination options, fragment, AH. The walk is bounded
 * (IPV6_EXT_MAX); a longer chain is reported unparsed.
 */
static __always_inline bool parse_ipv6(void *p, void *end, struct l3_info *l)
{
	struct ipv6hdr *ip6 = p;
	/* 64-bit: a 32-bit result would be zero-extended after the bound
	 * check, into a register the check never bounded. */
	__u64 off = sizeof(*ip6), noise;
	__u32 plen;
	__u8 next;

	if ((void *)(ip6 + 1) > end)
		return false;
	if (ip6->version != 6)
		return false;
	l->family = AF_INET6;
	l->saddr = &ip6->saddr;
	l->daddr = &ip6->daddr;
	next = ip6->nexthdr;
	noise = *(__u32 *)ip6;		/* version, class, flow label */
	l->later_frag = 0;
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr *h = p + off;
		struct frag_hdr *fh = p + off;
		__u32 len;

		if (next == NEXTHDR_HOP || next == NEXTHDR_ROUTING ||
		    next == NEXTHDR_DEST) {
			if ((void *)(h + 1) > end)
				return false;
			len = ((__u32)h->hdrlen + 1) * 8;
		} else if (next == NEXTHDR_AUTH) {
			if ((void *)(h + 1) > end)
				return false;
			len = ((__u32)h->hdrlen + 2) * 4;
		} else if (next == NEXTHDR_FRAGMENT) {
			if ((void *)(fh + 1) > end)
				return false;
			len = sizeof(*fh);
			if (bpf_ntohs(fh->frag_off) & 0xfff8)
				l->later_frag = 1;
		} else {
			break;
		}
		next = h->nexthdr;	/* first byte of every one of them */
		off = forget(off + len, noise);
		if (off > IPV6_HDRS_MAX)
			return false;
	}
	if (next == NEXTHDR_HOP || next == NEXTHDR_ROUTING ||
	    next == NEXTHDR_DEST || next == NEXTHDR_AUTH ||
	    next == NEXTHDR_FRAGMENT)
		return false;	/* chain longer than we walk */
	if (p + off > end)
		return false;
	l->proto = next;
	l->l4 = p + off;
	/* payload_len 0: a jumbogram or BIG TCP GSO packet, length unknown. */
	plen = bpf_ntohs(ip6->payload_len);
	off -= sizeof(*ip6);
	if (plen && plen < off)
		return false;
	l->l4_len = plen ? plen - off : 0;
	return true;
}

static __always_inline bool parse_ip(__u16 proto, void *p, void *end, struct l3_info *l)
{
	if (proto == ETH_P_IP)
		return parse_ipv4(p, end, l);
	return parse_ipv6(p, end, l);
}

/*
 * The clock of every nic_flows timestamp: CLOCK_MONOTONIC at tick
 * resolution (bpf_ktime_get_coarse_ns, a plain read of the timekeeper's
 * last tick), the same time base as bpf_ktime_get_ns at a few ms of
 * precision for a fraction of its cost. Read for the rare segments only.
 */
static __always_inline __u64 nic_now(void)
{
	return ktime_coarse_ns();
}

/* The flow's record, created zeroed (ICMP errors: rare, not per packet). */
static __always_inline struct nic_flow_map *flow_get(const struct flow_key *k)
{
	struct nic_flow_map *f, *zero;
	__u32 idx = 0;
	long err;

	f = bpf_map_lookup_elem(&nic_flows, k);
	if (f)
		return f;
	zero = bpf_map_lookup_elem(&nic_scratch, &idx);
	if (!zero)
		return NULL;
	__builtin_memset(zero, 0, sizeof(*zero));
	err = bpf_map_update_elem(&nic_flows, k, zero, BPF_NOEXIST);
	if (!err)
		count(CNT_NIC_FLOWS_NEW);
	else if (err != -17 /* EEXIST: another CPU inserted it first */) {
		count(CNT_NIC_FLOWS_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&nic_flows, k);
}

/* An outbound SYN: remember where it went, for a stray SYN-ACK later. */
static __always_inline void syn_remember(const struct flow_key *k, __u64 now, __u32 isn)
{
	struct nic_syn_key sk = {};
	struct nic_syn s = {};

	sk.netns = k->netns;
	sk.family = k->family;
	sk.lport = k->lport;
	__builtin_memcpy(sk.laddr, k->laddr, sizeof(sk.laddr));
	s.ts_ns = now;
	__builtin_memcpy(s.raddr, k->raddr, sizeof(s.raddr));
	s.rport = k->rport;
	s.isn = isn;
	if (bpf_map_update_elem(&nic_syns, &sk, &s, BPF_ANY))
		count(CNT_NIC_SYNS_FULL);
}

/*
 * Did a SYN of ours leave from this flow's local address and port, one
 * that a SYN-ACK acknowledging ack answers? (Another connection from the
 * same port to another peer is no NAT's doing.)
 */
static __noinline bool syn_sent_from(const struct flow_key *k, __u32 ack)
{
	struct nic_syn_key sk = {};
	struct nic_syn *s;

	sk.netns = k->netns;
	sk.family = k->family;
	sk.lport = k->lport;
	__builtin_memcpy(sk.laddr, k->laddr, sizeof(sk.laddr));
	s = bpf_map_lookup_elem(&nic_syns, &sk);
	return s && s->isn + 1 == ack;
}

/* A SYN-ACK came in for a flow no SYN of ours left for (see nic.h). */
static __always_inline void synack_stray(struct nic_flow_map *f,
					 const struct flow_key *k, __u32 ack)
{
	struct nic_syn_key sk = {};
	struct nic_syn *s;
	__u16 flags = NIC_F_STRAY_SYNACK;

	sk.netns = k->netns;
	sk.family = k->family;
	sk.lport = k->lport;
	__builtin_memcpy(sk.laddr, k->laddr, sizeof(sk.laddr));
	s = bpf_map_lookup_elem(&nic_syns, &sk);
	if (s && s->isn + 1 == ack) {
		__builtin_memcpy(f->syn_raddr, s->raddr, sizeof(f->syn_raddr));
		f->syn_rport = s->rport;
		flags |= NIC_F_SYN_MATCHED;
	}
	/* Rare and idempotent: a plain store is enough. */
	f->flags |= flags;
}

/* What one TCP segment (or GSO/GRO packet) adds to its flow. */
struct seg_info {
	__u64 now;
	__u32 segs;		/* >= 1 */
	__u32 payload;		/* TCP payload bytes of the whole packet */
	__u32 seg;		/* payload of one segment */
	__be32 seq;		/* the sequence number, as on the wire */
	__be32 ack_seq;		/* the acknowledgment number, as on the wire */
	__u8 fl;		/* TCP flags */
};

/*
 * A segment with SYN, RST or FIN into its flow's record: f is the map's
 * record or, from flow_new, the scratch one not yet inserted. Atomic adds
 * for the flags (two CPUs may count one direction: a retransmitted SYN
 * and a timer's RST), plain ones for the rest: rare, and benign if a
 * count of two racing segments is lost.
 */
static __always_inline void count_into(struct nic_flow_map *f, const struct flow_key *k,
				       const struct seg_info *s, bool ingress)
{
	struct nic_dir_stats *d = &f->dir[ingress ? NIC_IN : NIC_OUT].s;
	__u8 fl = s->fl;

	if ((fl & (TCP_FL_SYN | TCP_FL_ACK)) == TCP_FL_SYN) {
		__u32 isn = bpf_ntohl(s->seq);

		/*
		 * A SYN with a new initial sequence number opens a new
		 * connection on the 4-tuple (a client reusing its port, a
		 * tuple out of TIME_WAIT): what the record holds was the
		 * previous one's. Counted afresh from this packet on.
		 */
		if (isn != f->syn_seq &&
		    (f->dir[NIC_IN].s.pkts || f->dir[NIC_OUT].s.pkts || f->icmp_sent))
			__builtin_memset(f, 0, sizeof(*f));
		f->syn_seq = isn;
	}
	if (!d->first_ns)
		d->first_ns = s->now;
	d->last_ns = s->now;
	d->pkts += s->segs;
	if (s->payload) {
		d->data_segs += s->segs;
		d->data_bytes += s->payload;
		if (s->seg > d->max_seg)
			d->max_seg = s->seg;
	}
	if (fl & TCP_FL_SYN) {
		if (fl & TCP_FL_ACK) {
			__sync_fetch_and_add(&d->synack, 1);
			if (ingress && !f->dir[NIC_OUT].s.syn)
				synack_stray(f, k, bpf_ntohl(s->ack_seq));
		} else {
			__sync_fetch_and_add(&d->syn, 1);
			if (!ingress)
				syn_remember(k, s->now, bpf_ntohl(s->seq));
		}
	}
	if (fl & TCP_FL_RST)
		__sync_fetch_and_add(&d->rst, 1);
	if (fl & TCP_FL_FIN)
		__sync_fetch_and_add(&d->fin, 1);
}

/*
 * A SYN or SYN-ACK of a flow without a record: its record is built in the
 * scratch with this segment already counted and inserted with one update
 * (BPF_NOEXIST), not inserted zeroed and looked up again. Another CPU
 * inserting the same flow first (EEXIST) is rare: count into its record.
 */
static __always_inline void flow_new(const struct flow_key *k, const struct seg_info *s,
				     bool ingress)
{
	struct nic_flow_map *init, *f;
	__u32 idx = 0;
	long err;

	init = bpf_map_lookup_elem(&nic_scratch, &idx);
	if (!init)
		return;
	__builtin_memset(init, 0, sizeof(*init));
	count_into(init, k, s, ingress);
	err = bpf_map_update_elem(&nic_flows, k, init, BPF_NOEXIST);
	if (!err) {
		count(CNT_NIC_FLOWS_NEW);
		return;
	}
	if (err != -17 /* EEXIST */) {
		count(CNT_NIC_FLOWS_FULL);
		return;
	}
	f = bpf_map_lookup_elem(&nic_flows, k);
	if (f)
		count_into(f, k, s, ingress);
}

/*
 * The rare segment (SYN, RST, FIN): out of line, so the per-packet code
 * stays short. Only a SYN (or SYN-ACK) creates a record: a FIN or RST of
 * a flow we never saw open, a mid-stream flow, adds nothing to count.
 */
static __noinline void count_flagged(struct l3_info *l, void *end, struct tcphdr *th,
				     struct seg_info *s, bool ingress)
{
	struct flow_key k;
	struct nic_flow_map *f;

	if (!key_of(&k, l, end, !ingress))
		return;
	if (ingress) {
		k.lport = bpf_ntohs(th->dest);
		k.rport = bpf_ntohs(th->source);
	} else {
		k.lport = bpf_ntohs(th->source);
		k.rport = bpf_ntohs(th->dest);
	}
	/*
	 * A filter names the flow by where our SYN went. The answer to it may
	 * come from elsewhere (a NAT that rewrote the address or the port):
	 * let a SYN-ACK through when this local address and port sent a SYN
	 * the filter let pass, so the mismatch can be told.
	 */
	if (!flow_wanted(&k) &&
	    !(ingress && (s->fl & (TCP_FL_SYN | TCP_FL_ACK)) == (TCP_FL_SYN | TCP_FL_ACK) &&
	      syn_sent_from(&k, bpf_ntohl(s->ack_seq))))
		return;
	s->now = nic_now();
	f = bpf_map_lookup_elem(&nic_flows, &k);
	if (f)
		count_into(f, &k, s, ingress);
	else if (s->fl & TCP_FL_SYN)
		flow_new(&k, s, ingress);
}

/*
 * An outbound data segment while some connection retransmits data
 * (nic_watching): into its flow's record if it has one, never a new one.
 * The largest segment that left tells a path MTU black hole from loss.
 */
static __noinline void count_watched(struct l3_info *l, void *end, struct tcphdr *th,
				     const struct seg_info *s)
{
	struct nic_dir_stats *d;
	struct flow_key k;
	struct nic_flow_map *f;

	if (!key_of(&k, l, end, true))
		return;
	k.lport = bpf_ntohs(th->source);
	k.rport = bpf_ntohs(th->dest);
	if (!flow_wanted(&k))
		return;
	f = bpf_map_lookup_elem(&nic_flows, &k);
	if (!f)
		return;
	d = &f->dir[NIC_OUT].s;
	/* Egress of one flow runs under its socket's lock: plain adds. */
	d->data_segs += s->segs;
	d->data_bytes += s->payload;
	if (s->seg > d->max_seg)
		d->max_seg = s->seg;
}

/*
 * A TCP segment. The flags are tested first: a data segment or a bare ACK
 * (nearly every packet) is parsed and left, unless egress is watched.
 * segs/seg_size describe a GSO/GRO packet (segs > 1): it counts as the
 * segments it will be (or was) on the wire.
 */
static __always_inline void count_tcp(struct l3_info *l, void *data, void *end,
				      struct __sk_buff *skb, bool ingress)
{
	struct tcphdr *th = l->l4;
	__u32 thlen, ip_len, segs = 1;
	struct seg_info s;

	if ((void *)(th + 1) > end)
		goto bad;
	thlen = th->doff * 4;
	if (thlen < sizeof(*th) || l->l4 + thlen > end)
		goto bad;
	/* No IP length (BIG TCP): the skb's, or what XDP was handed. */
	ip_len = l->l4_len;
	if (!ip_len)
		ip_len = skb ? skb->len - (__u32)(l->l4 - data) : (__u32)(end - l->l4);
	if (ip_len < thlen)
		goto bad;
	s.fl = ((__u8 *)th)[13];
	s.seq = th->seq;
	if (!(s.fl & (TCP_FL_SYN | TCP_FL_RST | TCP_FL_FIN)) && (ingress || !nic_watching))
		return;
	s.ack_seq = th->ack_seq;	/* read past the data path's exit */
	s.payload = ip_len - thlen;
	s.seg = s.payload;
	if (skb && skb->gso_segs > 1) {
		segs = skb->gso_segs;
		s.seg = skb->gso_size;
	}
	s.segs = segs;
	if (s.fl & (TCP_FL_SYN | TCP_FL_RST | TCP_FL_FIN))
		count_flagged(l, end, th, &s, ingress);
	else if (s.payload)
		count_watched(l, end, th, &s);
	return;
bad:
	count(CNT_NIC_UNPARSED);
}

/* Fold an ICMP(v6) type/code into a kind; -1: not an error we map. */
static __always_inline int icmp_kind(__u16 family, __u8 type, __u8 code)
{
	if (family == AF_INET) {
		if (type == ICMP_TIME_EXCEEDED)
			return NIC_ICMP_TIME_EXCEEDED;
		if (type != ICMP_DEST_UNREACH)
			return -1;
		switch (code) {
		case 0: case 6: case 11:
			return NIC_ICMP_NET_UNREACH;
		case 1: case 7: case 12:
			return NIC_ICMP_HOST_UNREACH;
		case 3:
			return NIC_ICMP_PORT_UNREACH;
		case 9: case 10: case 13:
			return NIC_ICMP_ADMIN_PROHIBITED;
		case 4:
			return NIC_ICMP_FRAG_NEEDED;
		default:
			return NIC_ICMP_UNREACH_OTHER;
		}
	}
	if (type == ICMPV6_TIME_EXCEED)
		return NIC_ICMP_TIME_EXCEEDED;
	if (type == ICMPV6_PKT_TOOBIG)
		return NIC_ICMP_PKT_TOO_BIG;
	if (type != ICMPV6_DEST_UNREACH)
		return -1;
	switch (code) {
	case 0:
		return NIC_ICMP_NET_UNREACH;
	case 3:
		return NIC_ICMP_HOST_UNREACH;
	case 4:
		return NIC_ICMP_PORT_UNREACH;
	case 1: case 5: case 6:
		return NIC_ICMP_ADMIN_PROHIBITED;
	default:
		return NIC_ICMP_UNREACH_OTHER;
	}
}

/*
 * An ICMP(v6) error quoting a TCP segment. Inbound, the quoted segment is
 * one this host sent (its source is our side of the flow) and the outer
 * source is whoever complained; outbound, this host complains about a
 * segment the peer sent. Both ICMP headers are 8 bytes with the MTU of
 * frag-needed (v4, bytes 6-7) and packet-too-big (v6, bytes 4-7) inside.
 */
static __always_inline void count_icmp(void *data, void *end, __u32 l3_off, __u32 l4_off,
				       __u16 family, bool ingress)
{
	struct flow_key k;
	struct l3_info in = {};
	struct nic_flow_map *f;
	__u8 *icmp, *saddr;
	__u16 *ports;
	__u32 mtu = 0;
	__u8 type, code;
	int kind;

	/*
	 * Offsets from the caller (always within the first 2 KiB: the IP
	 * walk stops at IPV6_HDRS_MAX), bounded again for the verifier: a
	 * global function knows nothing of its arguments. Masks, which the
	 * compiler may not fold into a compare it then widens.
	 */
	barrier_var(l3_off);
	barrier_var(l4_off);
	l3_off &= 1023;
	l4_off &= 2047;
	icmp = data + l4_off;
	saddr = data + l3_off + (family == AF_INET ? 12 : 8);
	if ((void *)(icmp + 8) > end)
		goto bad;
	type = icmp[0];
	code = icmp[1];
	kind = icmp_kind(family, type, code);
	if (kind < 0)
		return;
	if (kind == NIC_ICMP_FRAG_NEEDED)
		mtu = bpf_ntohs(*(__be16 *)(icmp + 6));
	else if (kind == NIC_ICMP_PKT_TOO_BIG)
		mtu = bpf_ntohl(*(__be32 *)(icmp + 4));

	if (!parse_ip(family == AF_INET ? ETH_P_IP : ETH_P_IPV6, icmp + 8, end, &in))
		goto bad;
	if (in.proto != IPPROTO_TCP || in.later_frag)
		return;
	if (!key_of(&k, &in, end, ingress))
		goto bad;
	ports = in.l4;
	if ((void *)(ports + 2) > end)
		goto bad;
	if (ingress) {
		k.lport = bpf_ntohs(ports[0]);
		k.rport = bpf_ntohs(ports[1]);
	} else {
		k.lport = bpf_ntohs(ports[1]);
		k.rport = bpf_ntohs(ports[0]);
	}
	if (!flow_wanted(&k))
		return;
	f = flow_get(&k);
	if (!f)
		return;
	if (!ingress) {
		__sync_fetch_and_add(&f->icmp_sent, 1);
		f->icmp_sent_type = type;
		f->icmp_sent_code = code;
		return;
	}
	/* Rare: the fields of the latest error are plain stores. */
	if (kind >= 0 && kind < NIC_ICMP_KINDS)
		__sync_fetch_and_add(&f->icmp.count[kind], 1);
	f->icmp.last_ns = nic_now();
	f->icmp.last_type = type;
	f->icmp.last_code = code;
	if (mtu)
		f->icmp.mtu = mtu;
	/* The complainer: the outer source, zero-padded like a key's address. */
	__builtin_memset(f->icmp.from, 0, sizeof(f->icmp.from));
	if (family == AF_INET && (void *)(saddr + 4) <= end)
		__builtin_memcpy(f->icmp.from, saddr, 4);
	else if (family == AF_INET6 && (void *)(saddr + 16) <= end)
		__builtin_memcpy(f->icmp.from, saddr, 16);
	return;
bad:
	count(CNT_NIC_UNPARSED);
}

/*
 * The ICMP path as global functions: the verifier checks a global
 * function once, on its own, where a static one is checked again for
 * every state its callers reach it in (each path through the IPv6
 * extension-header walk: ~100k instructions verified and 150 ms more to
 * load). The packet is found again from the context and offsets.
 */
__noinline int nic_icmp_skb(struct __sk_buff *skb, __u32 l3_off, __u32 l4_off, __u32 how)
{
	count_icmp((void *)(long)skb->data, (void *)(long)skb->data_end, l3_off, l4_off,
		   how & 0xffff, how >> 16);
	return 0;
}

__noinline int nic_icmp_xdp(struct xdp_md *ctx, __u32 l3_off, __u32 l4_off, __u32 how)
{
	count_icmp((void *)(long)ctx->data, (void *)(long)ctx->data_end, l3_off, l4_off,
		   how & 0xffff, how >> 16);
	return 0;
}

/*
 * The shared body. skb is NULL for XDP (no GSO there), xdp NULL for TC:
 * the constants fold the other's reads and calls away.
 */
static __always_inline void nic_packet(void *data, void *end, struct __sk_buff *skb,
				       struct xdp_md *xdp, bool ingress)
{
	struct ethhdr *eth = data;
	struct l3_info l = {};
	__u16 proto;
	void *p;

	if ((void *)(eth + 1) > end)
		goto bad;
	proto = bpf_ntohs(eth->h_proto);
	p = eth + 1;
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
		struct vlan_hdr *vh = p;

		if ((void *)(vh + 1) > end)
			goto bad;
		proto = bpf_ntohs(vh->h_vlan_encapsulated_proto);
		p = vh + 1;
	}
	if (proto != ETH_P_IP && proto != ETH_P_IPV6)
		return;
	if (!parse_ip(proto, p, end, &l))
		goto bad;
	if (l.later_frag)
		return;
	if (l.proto == IPPROTO_TCP) {
		count_tcp(&l, data, end, skb, ingress);
	} else if (l.proto == IPPROTO_ICMP || l.proto == IPPROTO_ICMPV6) {
		if ((l.proto == IPPROTO_ICMP) == (l.family == AF_INET)) {
			__u32 l3_off = p - data, l4_off = l.l4 - data;
			__u32 how = l.family | (ingress ? 1 << 16 : 0);

			/* One of skb, xdp is a NULL constant per program: only the
			 * other's function is linked in. */
			if (xdp && !skb)
				nic_icmp_xdp(xdp, l3_off, l4_off, how);
			else if (skb && !xdp)
				nic_icmp_skb(skb, l3_off, l4_off, how);
		}
	}
	return;
bad:
	count(CNT_NIC_UNPARSED);
}

SEC("tc")
int nic_tc_in(struct __sk_buff *skb)
{
	nic_packet((void *)(long)skb->data, (void *)(long)skb->data_end, skb, NULL, true);
	return TC_PASS_ON;
}

SEC("tc")
int nic_tc_out(struct __sk_buff *skb)
{
	nic_packet((void *)(long)skb->data, (void *)(long)skb->data_end, skb, NULL, false);
	return TC_PASS_ON;
}

SEC("xdp")
int nic_xdp_in(struct xdp_md *ctx)
{
	nic_packet((void *)(long)ctx->data, (void *)(long)ctx->data_end, NULL, ctx, true);
	return XDP_PASS;
}
