// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * core_check's own test object (tests/core/selftest.sh): pairs of programs
 * that use something Linux 5.10 lacks, once unguarded (core_check must
 * flag it there) and once behind the check that makes it dead code (it
 * must not). Built for the test only.
 *
 *   struct sock.sk_reserved_mem     v5.17, commit 2bb2f5fb21b0 (SO_RESERVE_MEM)
 *   struct numa_drop_counters       v6.17, commit c51613fa276f
 *   enum skb_drop_reason            v5.17, commit c504e5c2f964
 *   bpf_ktime_get_coarse_ns()       v5.11, commit d05512618056
 *   kfree_skb's reason argument     v5.17, commit c504e5c2f964
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

__u64 out;

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fix_unguarded, const struct sock *sk)
{
	out = BPF_CORE_READ(sk, sk_reserved_mem);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fix_guarded, const struct sock *sk)
{
	if (bpf_core_field_exists(sk->sk_reserved_mem))
		out = BPF_CORE_READ(sk, sk_reserved_mem);
	return 0;
}

/* The check is there, but the read does not depend on it. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fix_escaped, const struct sock *sk)
{
	__u64 v = 0;

	if (bpf_core_field_exists(sk->sk_reserved_mem))
		v = 1;
	out = v + BPF_CORE_READ(sk, sk_reserved_mem);
	return 0;
}

/* A subprogram: guarded or not by the call site, program by program. */
static __noinline __u64 reserved_of(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_reserved_mem);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fix_sub_unguarded, const struct sock *sk)
{
	out = reserved_of(sk);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fix_sub_guarded, const struct sock *sk)
{
	if (bpf_core_field_exists(sk->sk_reserved_mem))
		out = reserved_of(sk);
	return 0;
}

/* A type check guards the fields of that type, and the pointer to it. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fix_type_guarded, const struct sock *sk)
{
	if (bpf_core_type_exists(struct numa_drop_counters)) {
		struct numa_drop_counters *nd = BPF_CORE_READ(sk, sk_drop_counters);

		if (nd)
			out = BPF_CORE_READ(nd, drops0.counter);
	}
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fix_enum_unguarded, const struct sock *sk)
{
	out = bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fix_enum_guarded, const struct sock *sk)
{
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		out = bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fix_helper_unguarded, const struct sock *sk)
{
	out = bpf_ktime_get_coarse_ns();
	return 0;
}

/* libbpf-tools' way to use a newer helper where there is one. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fix_helper_guarded, const struct sock *sk)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_coarse_ns))
		out = bpf_ktime_get_coarse_ns();
	else
		out = bpf_ktime_get_ns();
	return 0;
}

/* Reads an argument the tracepoint does not pass before v5.17. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(fix_args, struct sk_buff *skb, void *location, int reason)
{
	out = reason;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
