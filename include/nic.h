/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The NIC view: what crossed this host's interfaces, per flow, counted by
 * the TC and XDP programs of bpf/nic.bpf.c without copying a packet.
 *
 * Records are keyed by struct flow_key from THIS host's point of view:
 * laddr/lport are this host's side whichever way the packet went (inbound:
 * the destination; outbound: the source). The key's netns is the rodata
 * constant nic_netns, set by userspace to the inode of the namespace whose
 * interfaces the hooks are attached to (TC/XDP programs cannot read it), so
 * the same flow has the same key here as in the socket tracepoints' maps.
 */
#ifndef TCPTRACE_NIC_H
#define TCPTRACE_NIC_H

#include "flow.h"
#ifndef __bpf__
#include <stddef.h>
#include <string.h>
#endif

/*
 * nic_flows: 8192 records of 256 bytes, about 2.9 MiB of kernel memory with
 * the LRU hash's per-element overhead. nic_syns: small, ~0.1 MiB. With the
 * socket maps and the ring buffer, all maps stay under 8 MiB.
 *
 * What reaches a record: segments with SYN, RST or FIN (a SYN or SYN-ACK
 * creates it; nothing else does) and ICMP errors. A data segment or a bare
 * ACK touches no map: it is parsed, its flags tested, and that is all,
 * except on egress while some connection of the host retransmits data
 * (nic_watching), when it is counted into its flow's existing record.
 */
#define NIC_FLOW_ENTRIES	8192
#define NIC_SYN_ENTRIES		1024

enum nic_dir {
	NIC_IN = 0,		/* arrived at the interface (TC ingress or XDP) */
	NIC_OUT,		/* left through the interface (TC egress) */
	NIC_DIRS,
};

/*
 * One direction of one flow. A GSO/GRO packet counts as the segments it
 * stands for (skb gso_segs), so counts match the wire, not the skb.
 */
struct nic_dir_stats {
	/*
	 * CLOCK_MONOTONIC at tick resolution (bpf_ktime_get_coarse_ns: the
	 * bpf_ktime_get_ns time base, up to one jiffy behind it), read for
	 * segments with SYN, RST or FIN only: no clock on the data path.
	 */
	__u64 first_ns;		/* the first counted segment; 0: none */
	__u64 last_ns;		/* the latest counted segment */
	__u64 data_bytes;	/* TCP payload bytes of the counted segments */
	__u32 pkts;		/* segments with SYN, RST or FIN */
	__u32 syn;		/* SYN without ACK */
	__u32 synack;		/* SYN with ACK */
	__u32 rst;		/* RST, with or without ACK */
	__u32 fin;		/* FIN (usually FIN-ACK) */
	__u32 data_segs;	/* counted segments carrying payload (egress data while watched) */
	__u32 max_seg;		/* largest payload of one of them (the GSO size of a GSO packet) */
	__u32 _pad;
};

/* What an ICMP/ICMPv6 error said, folded across the two families. */
enum nic_icmp_kind {
	NIC_ICMP_NET_UNREACH = 0,	/* v4 unreach code 0, 6, 11; v6 unreach code 0 (no route) */
	NIC_ICMP_HOST_UNREACH,		/* v4 unreach code 1, 7, 12; v6 unreach code 3 (address) */
	NIC_ICMP_PORT_UNREACH,		/* v4 unreach code 3; v6 unreach code 4 */
	NIC_ICMP_ADMIN_PROHIBITED,	/* v4 unreach code 9, 10, 13; v6 unreach code 1, 5, 6 */
	NIC_ICMP_FRAG_NEEDED,		/* v4 unreach code 4, with the next-hop MTU */
	NIC_ICMP_UNREACH_OTHER,		/* any other destination-unreachable code */
	NIC_ICMP_TIME_EXCEEDED,		/* v4 type 11, v6 type 3 (TTL / hop limit, reassembly) */
	NIC_ICMP_PKT_TOO_BIG,		/* v6 type 2, with the MTU */
	NIC_ICMP_KINDS,
};

/* ICMP errors received that quote a segment this host sent on the flow. */
struct nic_icmp {
	__u32 count[NIC_ICMP_KINDS];
	__u64 last_ns;		/* when the latest one arrived (coarse clock, as above) */
	__u32 mtu;		/* MTU announced by the latest frag-needed / packet-too-big */
	__u8 last_type;		/* raw ICMP(v6) type and code of the latest error */
	__u8 last_code;
	__u8 _pad[2];
	__u8 from[16];		/* its sender: the router (or host) that said it */
};

enum nic_flow_flags {
	/*
	 * A SYN-ACK arrived for this flow while no SYN of ours had left for
	 * it: the reply came from another address/port than our SYN went to
	 * (a NAT on an asymmetric path), or the SYN left before the hooks
	 * were attached, or its record was evicted.
	 */
	NIC_F_STRAY_SYNACK	= 1 << 0,
	/* ... and nic_syns knew the latest SYN from this local address and
	 * port: syn_raddr/syn_rport say where it went. */
	NIC_F_SYN_MATCHED	= 1 << 1,
};

/* What a record holds after its two directions, in both layouts below. */
#define NIC_FLOW_TAIL							\
	struct nic_icmp icmp;						\
	__u8 syn_raddr[16];	/* NIC_F_SYN_MATCHED: our SYN's destination address */ \
	__u16 syn_rport;	/* ... and port, host order */		\
	__u16 flags;		/* enum nic_flow_flags */		\
	__u32 icmp_sent;	/* ICMP errors this host sent quoting the peer's segment */ \
	__u8 icmp_sent_type;	/* raw type and code of the latest one */ \
	__u8 icmp_sent_code;						\
	__u8 _pad[2];							\
	/*								\
	 * The sequence number of the connection's SYN (host order): a SYN \
	 * with another one opens a new connection on the same 4-tuple, and \
	 * the record starts afresh; a retransmitted SYN has the same.	\
	 */								\
	__u32 syn_seq;

/* A flow's NIC record as userspace, the engine and recordings know it. */
struct nic_flow {
	struct nic_dir_stats dir[NIC_DIRS];
	NIC_FLOW_TAIL
};

/*
 * ... and as the kernel side keeps it in nic_flows: each direction on a
 * cache line of its own (inbound segments are counted on the CPU of the
 * receive queue, outbound ones on the sender's). Userspace turns it into
 * a nic_flow as it reads the map (nic_flow_of).
 */
struct nic_dir_line {
	struct nic_dir_stats s;
	__u8 _pad[8];
} __attribute__((aligned(64)));

struct nic_flow_map {
	struct nic_dir_line dir[NIC_DIRS];
	NIC_FLOW_TAIL
};

/*
 * nic_syns: the latest outbound SYN from each local address and port, so a
 * SYN-ACK that matches no flow of ours can be traced to the SYN it answers.
 * A connect() through a DNAT sends SYN to (VIP, 80) and, on an asymmetric
 * return path, gets a SYN-ACK from (real server, 8080) to the same local
 * address and port. TC egress writes one entry per outbound SYN (a SYN is
 * rare: no per-packet cost); the ingress hooks look it up only for a SYN-ACK
 * whose flow has no outbound SYN and copy it into the flow record (flags
 * above). Userspace can read the map too. LRU: old entries go first; a
 * local port reused for another peer simply overwrites its entry. A local
 * port may have SYNs out to two peers at once (connect() reuses an
 * ephemeral port for another destination): the SYN-ACK is traced to the
 * SYN only if it acknowledges that SYN's sequence number.
 */
struct nic_syn_key {
	__u32 netns;		/* nic_netns */
	__u16 family;		/* TT_AF_INET or TT_AF_INET6 */
	__u16 lport;		/* host order */
	__u8 laddr[16];
};

struct nic_syn {
	__u64 ts_ns;		/* when the SYN left (bpf_ktime_get_ns: precise) */
	__u8 raddr[16];		/* where it went */
	__u16 rport;		/* host order */
	__u8 _pad[2];
	__u32 isn;		/* its sequence number (host order): the SYN-ACK acks isn + 1 */
};

#ifndef __bpf__
_Static_assert(sizeof(struct nic_dir_stats) == 56, "nic_dir_stats layout");
_Static_assert(sizeof(struct nic_icmp) == 64, "nic_icmp layout");
_Static_assert(sizeof(struct nic_flow) == 208, "nic_flow layout: part of the recording format");
_Static_assert(sizeof(struct nic_flow_map) == 256, "nic_flow_map layout");
_Static_assert(sizeof(struct nic_flow) - offsetof(struct nic_flow, icmp) ==
	       sizeof(struct nic_flow_map) - offsetof(struct nic_flow_map, icmp) - 32,
	       "the two layouts share their tail");
_Static_assert(sizeof(struct nic_syn_key) == 24, "nic_syn_key layout");
_Static_assert(sizeof(struct nic_syn) == 32, "nic_syn layout");
#endif

#ifndef __bpf__
/* The map's record in the layout userspace keeps. */
static inline void nic_flow_of(const struct nic_flow_map *m, struct nic_flow *f)
{
	f->dir[NIC_IN] = m->dir[NIC_IN].s;
	f->dir[NIC_OUT] = m->dir[NIC_OUT].s;
	memcpy(&f->icmp, &m->icmp, sizeof(*f) - offsetof(struct nic_flow, icmp));
}
#endif

#endif /* TCPTRACE_NIC_H */
