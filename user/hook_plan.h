/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which program serves each kernel hook on a given kernel. Kernels from
 * 5.10 on differ in which tracepoints exist and in the arguments they
 * pass, and the verifier refuses a program that reads an argument its
 * kernel does not pass: one program per shape, and the plan picks, hook
 * by hook, the first the kernel's BTF says it can take. A hook left with
 * none is missing, and the diagnoses it feeds are said to be unavailable;
 * the rest of the tracer goes on.
 *
 * Pure: a kernel's BTF in, a plan out, so other kernels can be planned
 * without booting them (tests/core does) and --check can say why.
 */
#ifndef TCPTRACE_HOOK_PLAN_H
#define TCPTRACE_HOOK_PLAN_H

#include <stdbool.h>
#include <stddef.h>

struct btf;

enum hook {
	HOOK_SET_STATE = 0,	/* sock:inet_sock_set_state: the core */
	HOOK_RETRANSMIT,	/* tcp:tcp_retransmit_skb */
	HOOK_SYNACK_RETRANSMIT,	/* tcp:tcp_retransmit_synack */
	HOOK_RECEIVE_RESET,	/* tcp:tcp_receive_reset */
	HOOK_SEND_RESET,	/* tcp:tcp_send_reset */
	HOOK_SK_ERROR,		/* sock:inet_sk_error_report */
	HOOK_CONNECT_RETURN,	/* connect()'s entry and return */
	HOOK_DROP,		/* skb:kfree_skb */
	HOOK_SOCK_SCAN,		/* iter/tcp */
	HOOK_NIC_INGRESS_TC,	/* TC ingress (tcx or clsact) */
	HOOK_NIC_EGRESS_TC,	/* TC egress */
	HOOK_NIC_INGRESS_XDP,	/* XDP */
	HOOK_PROC_EXIT,		/* sched:sched_process_exit: a death by a signal */
	HOOK_OOM_VICTIM,	/* oom:mark_victim: the OOM killer's choice */
	HOOK_ACCEPT_RETURN,	/* accept()'s return: who serves a server connection */
	HOOK_MAX,
};

#define HOOK_VARIANT_PROGS	2

/* One way of serving a hook: the programs that do it together. */
struct hook_variant {
	const char *progs[HOOK_VARIANT_PROGS];	/* NULL-terminated when fewer */
	const char *attach;	/* "tp_btf/tcp_send_reset": what it hangs on */
	const char *tracepoint;	/* its kernel tracepoint, for the BTF test; NULL: none */
	unsigned int min_args;	/* tp_btf: arguments it reads (the kernel must pass them) */
	bool classic;		/* a classic tracepoint: tracefs, probed reads */
	bool standby_next;	/* the next variant is loaded beside it: attach falls back */
	const char *caveat;	/* what it cannot tell, or NULL */
};

struct hook_desc {
	const char *name;	/* "resets sent" */
	const char *feeds;	/* what is lost without it: "LOCAL_RESET, PORT_CLOSED" */
	bool core;		/* without it there is nothing to trace */
	const struct hook_variant *variants;
	unsigned int n_variants;
};

struct hook_plan {
	int variant[HOOK_MAX];		/* index into the hook's variants; -1: missing */
	const char *why[HOOK_MAX];	/* missing or stepped down: why (static or why_buf) */
	char why_buf[HOOK_MAX][160];
	bool off[HOOK_MAX];		/* not wanted (options): neither loaded nor missing */
	bool attached[HOOK_MAX];	/* loaded and attached (else only loaded: --check) */
	bool classic;			/* classic tracepoints preferred */
	/* What the kernel has beside its hooks, for the report. */
	bool has_tcx;			/* BPF_TCX_INGRESS: v6.6 */
	bool has_xdp_link;		/* BPF_LINK_TYPE_XDP: v5.9 */
	bool has_ringbuf;		/* BPF_MAP_TYPE_RINGBUF: v5.8 */
	bool has_coarse_clock;		/* bpf_ktime_get_coarse_ns: v5.11 */
	bool has_drop_reasons;		/* enum skb_drop_reason: v5.17 */
	/* bpf_sk_storage_get from tp_btf and iter programs: v5.11 (commit 8e4597c627fb) */
	bool has_sk_storage_tracing;
	/*
	 * tcp_send_reset fires for a segment no socket took (a SYN to a
	 * closed port) since the change that gave it its reason (v6.10);
	 * before, that reset is seen only as the SYN's NO_SOCKET drop.
	 */
	bool resets_without_socket;
};

const struct hook_desc *hook_desc(enum hook h);

/*
 * Plans every hook against a kernel's BTF. classic: classic tracepoint
 * twins wherever a hook has one. Returns false when the core cannot be
 * served (no ring buffer, no state-change tracepoint): nothing to trace.
 */
bool hook_plan_make(struct hook_plan *p, const struct btf *vmlinux, bool classic);

/* The options do not want this hook (--no-nic...): it loads nothing. */
void hook_plan_off(struct hook_plan *p, enum hook h);

/* The variant serving h, or NULL when it is missing or off. */
const struct hook_variant *hook_plan_variant(const struct hook_plan *p, enum hook h);

/* Is this program loaded under the plan (its hook's variant, or that
 * variant's standby)? Programs the plan does not know are not. */
bool hook_plan_loads(const struct hook_plan *p, const char *prog);

/*
 * The kernel refused this program (load or attach): its hook steps down
 * to the next variant the kernel may take, or goes missing. Returns the
 * hook, or -1 when no hook has the program. why is copied.
 */
int hook_plan_refused(struct hook_plan *p, const char *prog, const char *why);

/* The kernel refused the hook where no other variant is loaded: missing. */
void hook_plan_missing(struct hook_plan *p, enum hook h, const char *why);

/*
 * Where the kernel side keeps each socket's state: in the socket's own
 * storage when the kernel lets tp_btf programs use it and every hook that
 * reads the state is served by tp_btf (the state must be one), else by
 * socket address in an LRU map.
 */
bool hook_plan_sock_storage(const struct hook_plan *p);

/* Is the hook served? (Core hooks must be.) */
static inline bool hook_plan_served(const struct hook_plan *p, enum hook h)
{
	return p->off[h] || p->variant[h] >= 0;
}

#endif /* TCPTRACE_HOOK_PLAN_H */
