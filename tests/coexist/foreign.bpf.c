// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Another tool's program, for tests/coexist_test.sh: it drops the TCP
 * segments to one port and counts them, and passes everything else on.
 * The same body as XDP, as a netlink cls_bpf filter and as a tcx link.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define IPPROTO_TCP	6
#define TC_ACT_UNSPEC	(-1)	/* cls_bpf: the next filter; tcx: TCX_NEXT */
#define TC_ACT_SHOT	2	/* both: drop */

const volatile __u16 drop_port = 0;	/* host order */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline bool to_drop(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct tcphdr *th;
	__u32 zero = 0;
	__u64 *n;

	if ((void *)(eth + 1) > end)
		return false;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP || ip->ihl < 5)
			return false;
		th = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_TCP)
			return false;
		th = (void *)(ip6 + 1);
	} else {
		return false;
	}
	if ((void *)(th + 1) > end || th->dest != bpf_htons(drop_port))
		return false;
	n = bpf_map_lookup_elem(&drops, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	return true;
}

SEC("xdp")
int foreign_xdp(struct xdp_md *ctx)
{
	return to_drop((void *)(long)ctx->data, (void *)(long)ctx->data_end) ?
		XDP_DROP : XDP_PASS;
}

SEC("tc")
int foreign_tc(struct __sk_buff *skb)
{
	return to_drop((void *)(long)skb->data, (void *)(long)skb->data_end) ?
		TC_ACT_SHOT : TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
