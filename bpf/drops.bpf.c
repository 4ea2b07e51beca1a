// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Segments of our flows that this host's own stack dropped, with the
 * kernel's reason: a SYN-ACK that reached the NIC but never the socket, an
 * inbound SYN dropped by this host's firewall, an outbound SYN dropped by
 * OUTPUT. kfree_skb fires for every dropped packet of the host, so the
 * filter is early and cheap: TCP only, then a flow we know or a bare SYN.
 */
#include "tcptrace.bpf.h"
#include "sock_track.bpf.h"

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define SKB_CONSUMED	1	/* not a drop; pre-6.3 kernels still trace it here */
#define DROP_REASON_WORDS	16	/* room for 1024 reasons; the enum has ~130 */

/*
 * The reasons that can be evidence, one bit each, set by userspace from
 * the names in the running kernel's BTF. kfree_skb fires for every drop
 * on the host (a closed socket's queue purge, TCP discarding old data):
 * those are dismissed here, before any packet is parsed.
 */
const volatile __u64 drop_reasons_wanted[DROP_REASON_WORDS] = {};
const volatile bool drop_reasons_set = false;

static __always_inline bool reason_wanted(__u32 reason)
{
	__u32 word = reason / 64;

	if (!drop_reasons_set)
		return reason != SKB_CONSUMED;
	/* Keep the compiler from folding the check into the index: the
	 * verifier must see the bound on the register that indexes. */
	barrier_var(word);
	if (word >= DROP_REASON_WORDS)
		return true;	/* newer than our table: look at it */
	return drop_reasons_wanted[word] & (1ULL << (reason % 64));
}

/* The segment's addresses and ports, as seen leaving (src = local). */
struct seg {
	struct flow_key out;
	__u8 flags;
	__u32 len;
};

static __always_inline bool parse_tcp(const struct sk_buff *skb, struct seg *g, bool btf)
{
	unsigned char *head = KREAD(btf, skb, head);
	__u16 nh = KREAD(btf, skb, network_header);
	__u16 proto = bpf_ntohs(KREAD(btf, skb, protocol));
	struct tcphdr tcp;
	__u32 th;

	/* ~0 marks an unset header offset. */
	if (nh == (__u16)~0U)
		return false;
	__builtin_memset(&g->out, 0, sizeof(g->out));
	if (proto == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) || ip.protocol != IPPROTO_TCP)
			return false;
		th = nh + ip.ihl * 4;
		g->out.family = AF_INET;
		__builtin_memcpy(g->out.laddr, &ip.saddr, 4);
		__builtin_memcpy(g->out.raddr, &ip.daddr, 4);
		g->len = bpf_ntohs(ip.tot_len) - ip.ihl * 4;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		/* Extension headers are not walked: TCP must follow at once. */
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh) || ip6.nexthdr != IPPROTO_TCP)
			return false;
		th = nh + sizeof(ip6);
		g->out.family = AF_INET6;
		__builtin_memcpy(g->out.laddr, &ip6.saddr, 16);
		__builtin_memcpy(g->out.raddr, &ip6.daddr, 16);
		g->len = bpf_ntohs(ip6.payload_len);
	} else {
		return false;
	}
	if (bpf_probe_read_kernel(&tcp, sizeof(tcp), head + th))
		return false;
	g->out.lport = bpf_ntohs(tcp.source);
	g->out.rport = bpf_ntohs(tcp.dest);
	g->flags = ((__u8 *)&tcp)[13];
	g->len = g->len > tcp.doff * 4 ? g->len - tcp.doff * 4 : 0;
	return true;
}

static __always_inline void turn_round(const struct flow_key *out, struct flow_key *in)
{
	*in = *out;
	__builtin_memcpy(in->laddr, out->raddr, 16);
	__builtin_memcpy(in->raddr, out->laddr, 16);
	in->lport = out->rport;
	in->rport = out->lport;
}

static __always_inline int handle_drop(const struct sk_buff *skb, __u32 reason, bool btf)
{
	const struct sock *sk;
	struct flow_info info = {}, *fi;
	struct flow_key k, in;
	struct tt_event *ev;
	struct seg g;
	bool inbound;

	if (!reason_wanted(reason) || !parse_tcp(skb, &g, btf))
		return 0;

	/*
	 * skb->sk loaded directly is an RCU pointer the socket helpers refuse;
	 * a drop is rare, so the socket is followed with probed reads (and so
	 * its state is out of reach where it lives in the socket's storage:
	 * the flow is named by its key, the owner comes from its other records).
	 */
	sk = BPF_CORE_READ(skb, sk);
	if (sk && BPF_CORE_READ(sk, __sk_common.skc_num) == g.out.lport) {
		/* Leaving from one of our sockets (OUTPUT, qdisc, no route). */
		if (!flow_of_sock(sk, &k, &info, false))
			return 0;
		inbound = false;
	} else {
		/* Arriving: name it from our side, in the device's namespace. */
		__u32 netns = btf ? skb->dev->nd_net.net->ns.inum :
				    BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
		__u8 state = sk ? BPF_CORE_READ(sk, __sk_common.skc_state) : 0;

		g.out.netns = netns;
		turn_round(&g.out, &in);
		inbound = true;
		/*
		 * The socket the stack matched it to before the firewall's INPUT
		 * (early demux: ESTABLISHED and SYN_SENT sockets, on by
		 * default) names it; a flow in trouble is named by its key (its
		 * SYN was retransmitted); a bare SYN has no flow yet.
		 */
		if (sk && state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV &&
		    BPF_CORE_READ(sk, __sk_common.skc_num) == in.lport &&
		    bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)) == in.rport) {
			if (!flow_of_sock(sk, &k, &info, false))
				return 0;
		} else if ((fi = bpf_map_lookup_elem(&flows, &in))) {
			k = in;
			info = *fi;
		} else if ((g.flags & (TT_TCP_SYN | TT_TCP_ACK)) == TT_TCP_SYN) {
			/* A SYN to this host: no flow exists yet to know it by. */
			k = in;
			info.side = TT_SIDE_SERVER;
		} else {
			return 0;
		}
		if (!flow_wanted(&k))
			return 0;
	}

	ev = event_new(&k, EV_DROP, &info);
	if (!ev)
		return 0;
	ev->reason = reason;
	ev->tcp_flags = g.flags;
	ev->seg_len = g.len;
	if (inbound)
		ev->flags |= EVF_INBOUND;
	if ((g.flags & (TT_TCP_SYN | TT_TCP_ACK)) == TT_TCP_SYN)
		ev->flags |= EVF_SYN;
	if (sk)
		ev->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	event_submit(ev);
	return 0;
}

/*
 * Before v5.17 (commit c504e5c2f964) kfree_skb gave no reason. The call
 * site that freed the packet stands in for one: userspace finds in
 * /proc/kallsyms the functions whose drops are evidence (netfilter's
 * verdict, nf_hook_slow) and names each range with a reason value of its
 * own table. A drop anywhere else is not looked at.
 */
#define DROP_SITES	4
const volatile __u64 drop_site_start[DROP_SITES] = {};
const volatile __u64 drop_site_end[DROP_SITES] = {};
const volatile __u32 drop_site_reason[DROP_SITES] = {};

static __always_inline __u32 reason_of_site(__u64 location)
{
	for (int i = 0; i < DROP_SITES; i++)
		if (location >= drop_site_start[i] && location < drop_site_end[i])
			return drop_site_reason[i];
	return 0;
}

/*
 * Twins by the kernel's arguments: (skb, location, reason) since v5.17,
 * (skb, location) before; userspace loads the one that matches.
 */
SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_btf, struct sk_buff *skb, void *location, int reason)
{
	return handle_drop(skb, reason, true);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_site_btf, struct sk_buff *skb, void *location)
{
	__u32 reason = reason_of_site((unsigned long)location);

	return reason ? handle_drop(skb, reason, true) : 0;
}

SEC("tracepoint/skb/kfree_skb")
int kfree_skb_tp(struct trace_event_raw_kfree_skb *ctx)
{
	__u32 reason;

	if (bpf_core_field_exists(ctx->reason))
		reason = ctx->reason;
	else
		reason = reason_of_site((unsigned long)ctx->location);
	return reason ? handle_drop(ctx->skbaddr, reason, false) : 0;
}
