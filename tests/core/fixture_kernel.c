// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Two made-up kernels for core_check's own test, so that it runs without
 * any download: only the types fixture.bpf.c touches, as Linux 5.10 has
 * them (-DOLD) and as 5.17+ has them. Compiled with clang -g, the object's
 * .BTF is a kernel BTF as far as CO-RE is concerned: candidates are found
 * by name, and nothing else is looked at.
 */
typedef unsigned int u32;
typedef struct { int counter; } atomic_t;

#ifndef OLD
struct numa_drop_counters {
	atomic_t drops0;
	atomic_t drops1;
};
#endif

struct sock {
	int sk_rcvbuf;
	atomic_t sk_drops;
#ifndef OLD
	u32 sk_reserved_mem;
	struct numa_drop_counters *sk_drop_counters;
#endif
};

struct sk_buff {
	unsigned int len;
};

#ifndef OLD
enum skb_drop_reason {
	SKB_NOT_DROPPED_YET = 0,
	SKB_CONSUMED,
	SKB_DROP_REASON_NOT_SPECIFIED,
};
#endif

enum bpf_func_id {
	BPF_FUNC_unspec,
	BPF_FUNC_map_lookup_elem,
	BPF_FUNC_ktime_get_ns = 5,
	BPF_FUNC_probe_read_kernel = 113,
#ifndef OLD
	BPF_FUNC_ktime_get_coarse_ns = 160,
#endif
	__BPF_FUNC_MAX_ID,
};

/* Tracepoints as the kernel declares them for tp_btf: the first argument is private. */
typedef void (*btf_trace_inet_sock_set_state)(void *, const struct sock *, int, int);
#ifdef OLD
typedef void (*btf_trace_kfree_skb)(void *, struct sk_buff *, void *);
#else
typedef void (*btf_trace_kfree_skb)(void *, struct sk_buff *, void *, enum skb_drop_reason);
#endif

/* Variables make clang emit the types into .BTF. */
struct sock *kernel_sock;
enum bpf_func_id kernel_helpers;
btf_trace_inet_sock_set_state kernel_set_state;
btf_trace_kfree_skb kernel_kfree_skb;
#ifndef OLD
enum skb_drop_reason kernel_reason;
#endif
