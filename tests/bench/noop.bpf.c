// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Empty programs on the tracer's hooks, for `make bench` to measure what
 * bpf_stats itself adds to every run (the clock read twice, the dispatch):
 * the floor under every handler cost it reports.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tc")
int noop_tc(struct __sk_buff *skb)
{
	return -1;	/* TCX_NEXT / TC_ACT_UNSPEC: pass it on */
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(noop_set_state, const struct sock *sk, int oldstate, int newstate)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
