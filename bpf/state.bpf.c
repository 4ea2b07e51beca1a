// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The objects every program shares: configuration, flow map, ring buffer, counters. */
#include "tcptrace.bpf.h"

const volatile __u32 filter_netns = 0;
const volatile __u16 filter_port = 0;
const volatile __u16 filter_family = 0;
const volatile __u8 filter_addr[16] = {};
const volatile __u32 filter_tgid = 0;
const volatile bool use_sk_storage = false;

__u32 nic_watching = 0;

struct flows_map flows SEC(".maps");
struct sk_states_map sk_states SEC(".maps");
struct socks_map socks SEC(".maps");
struct connect_calls_map connect_calls SEC(".maps");
struct sk_owners_map sk_owners SEC(".maps");
struct inode_owners_map inode_owners SEC(".maps");
struct accept_owners_map accept_owners SEC(".maps");
struct events_map events SEC(".maps");
struct counters_map counters SEC(".maps");

char LICENSE[] SEC("license") = "Dual BSD/GPL";
