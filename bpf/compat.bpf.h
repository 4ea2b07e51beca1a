/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What moved between the kernels we run on (5.10 to today), in one place.
 * vmlinux.h is one kernel's view; the shapes other kernels had are declared
 * here as CO-RE flavours (a `___suffix` that libbpf strips when it matches
 * the running kernel's types), and every use is behind a bpf_core_*_exists
 * check, so the verifier drops the branch a kernel cannot take.
 */
#ifndef TCPTRACE_COMPAT_BPF_H
#define TCPTRACE_COMPAT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/*
 * Up to v6.9 tcp_send_reset, and up to v6.17 tcp_retransmit_skb, were
 * events of the tcp_event_sk_skb class: one record layout for both. v6.10
 * (commit 5cb2cb3cb271, the reset reason) gave tcp_send_reset a class of
 * its own, and a 2025 change gave tcp_retransmit_skb its own with `err`;
 * the class, gone from new kernels, is declared here.
 */
struct trace_event_raw_tcp_event_sk_skb___old {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
} __attribute__((preserve_access_index));

/*
 * bpf_ktime_get_coarse_ns came with v5.11. A helper's id is an enumerator
 * of the running kernel's enum bpf_func_id: where this one is missing, the
 * precise clock stands in.
 */
static __always_inline __u64 ktime_coarse_ns(void)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_coarse_ns))
		return bpf_ktime_get_coarse_ns();
	return bpf_ktime_get_ns();
}

#endif /* TCPTRACE_COMPAT_BPF_H */
