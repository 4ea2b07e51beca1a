// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include "hook_plan.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Each hook's variants, richest first. A tp_btf variant names the
 * tracepoint and how many of its arguments it reads; the kernel's
 * btf_trace_<tracepoint> typedef says how many it passes.
 */
#define TP_BTF(prog, tp, args, ...) \
	{ .progs = { prog }, .attach = "tp_btf/" tp, .tracepoint = tp, .min_args = args, __VA_ARGS__ }
#define TP_CLASSIC(prog, category, tp, ...) \
	{ .progs = { prog }, .attach = "tracepoint/" category "/" tp, .tracepoint = tp, \
	  .classic = true, __VA_ARGS__ }
#define OTHER(prog, what) { .progs = { prog }, .attach = what }

static const struct hook_variant set_state[] = {
	TP_BTF("set_state_btf", "inet_sock_set_state", 3),
	TP_CLASSIC("set_state_tp", "sock", "inet_sock_set_state"),
};

static const struct hook_variant retransmit[] = {
	/* Since a 2025 change the result of the attempt comes too: failed ones fire. */
	TP_BTF("retransmit_err_btf", "tcp_retransmit_skb", 3),
	TP_BTF("retransmit_btf", "tcp_retransmit_skb", 2),
	TP_CLASSIC("retransmit_tp", "tcp", "tcp_retransmit_skb"),
};

static const struct hook_variant synack_retransmit[] = {
	TP_BTF("retransmit_synack_btf", "tcp_retransmit_synack", 2),
	TP_CLASSIC("retransmit_synack_tp", "tcp", "tcp_retransmit_synack"),
};

static const struct hook_variant receive_reset[] = {
	TP_BTF("receive_reset_btf", "tcp_receive_reset", 1),
	TP_CLASSIC("receive_reset_tp", "tcp", "tcp_receive_reset"),
};

static const struct hook_variant send_reset[] = {
	TP_BTF("send_reset_reason_btf", "tcp_send_reset", 3),
	TP_BTF("send_reset_btf", "tcp_send_reset", 2,
	       .caveat = "no reset reason: the kernel gives it from 6.10"),
	TP_CLASSIC("send_reset_tp", "tcp", "tcp_send_reset"),
};

static const struct hook_variant sk_error[] = {
	TP_BTF("sk_error_btf", "inet_sk_error_report", 1),
	TP_CLASSIC("sk_error_tp", "sock", "inet_sk_error_report",
		   .caveat = "its record has no namespace: only errors of flows seen opening are named"),
};

/*
 * connect()'s own tracepoints fire for that call alone; a classic
 * tracepoint takes 64 programs at most, host-wide, so the raw syscall
 * hooks are loaded beside them and attached when they refuse one more.
 * (The syscall events have no btf_trace_ typedef; raw sys_enter stands
 * for the kernel having syscall tracepoints at all.)
 */
static const struct hook_variant connect_return[] = {
	{ .progs = { "connect_enter_tp", "connect_exit_tp" },
	  .attach = "tracepoint/syscalls/sys_{enter,exit}_connect", .tracepoint = "sys_enter",
	  .classic = true, .standby_next = true },
	{ .progs = { "connect_enter_raw", "connect_exit_raw" }, .attach = "tp_btf/sys_{enter,exit}",
	  .tracepoint = "sys_enter", .min_args = 2,
	  .caveat = "the raw syscall hooks: they run on every system call of the host" },
};

static const struct hook_variant drop[] = {
	TP_BTF("kfree_skb_btf", "kfree_skb", 3),
	TP_BTF("kfree_skb_site_btf", "kfree_skb", 2,
	       .caveat = "no drop reasons before 5.17: netfilter's drops alone, told by call site"),
	TP_CLASSIC("kfree_skb_tp", "skb", "kfree_skb"),
};

static const struct hook_variant sock_scan[] = { OTHER("sock_scan", "iter/tcp") };
static const struct hook_variant nic_tc_in[] = { OTHER("nic_tc_in", "tc ingress") };
static const struct hook_variant nic_tc_out[] = { OTHER("nic_tc_out", "tc egress") };
static const struct hook_variant nic_xdp[] = { OTHER("nic_xdp_in", "xdp") };

/* The exiting task is current: neither reads the tracepoint's arguments. */
static const struct hook_variant proc_exit[] = {
	TP_BTF("proc_exit_btf", "sched_process_exit", 0),
	TP_CLASSIC("proc_exit_tp", "sched", "sched_process_exit"),
};

static const struct hook_variant oom_victim[] = {
	TP_BTF("oom_victim_btf", "mark_victim", 2),
	TP_CLASSIC("oom_victim_tp", "oom", "mark_victim",
		   .caveat = "its record names the victim's thread: a thread other than the "
			     "process's first is told as a kill by SIGKILL"),
};

/*
 * accept4() and accept() each have a return tracepoint; the raw syscall
 * exit stands by as for connect().
 */
static const struct hook_variant accept_return[] = {
	{ .progs = { "accept4_exit_tp", "accept_exit_tp" },
	  .attach = "tracepoint/syscalls/sys_exit_accept{4,}", .tracepoint = "sys_exit",
	  .classic = true, .standby_next = true },
	{ .progs = { "accept_exit_raw" }, .attach = "tp_btf/sys_exit",
	  .tracepoint = "sys_exit", .min_args = 2,
	  .caveat = "the raw syscall exit: it runs on every system call of the host" },
};

#define VARIANTS(v) v, ARRAY_LEN(v)

static const struct hook_desc hooks[HOOK_MAX] = {
	[HOOK_SET_STATE] = { "state changes", "every diagnosis", true, VARIANTS(set_state) },
	[HOOK_RETRANSMIT] = { "retransmissions",
		"PACKET_LOSS, PMTU_BLACKHOLE; SYN_UNANSWERED from the NIC's SYN count alone",
		false, VARIANTS(retransmit) },
	[HOOK_SYNACK_RETRANSMIT] = { "SYN-ACK retransmissions",
		"LISTEN_OVERFLOW from unanswered SYN-ACKs", false, VARIANTS(synack_retransmit) },
	[HOOK_RECEIVE_RESET] = { "resets received", "PEER_RESET, CONNECTION_REFUSED",
		false, VARIANTS(receive_reset) },
	[HOOK_SEND_RESET] = { "resets sent", "LOCAL_RESET, PORT_CLOSED", false,
		VARIANTS(send_reset) },
	[HOOK_SK_ERROR] = { "socket errors",
		"the application's error (app_error); ICMP verdicts without the NIC view",
		false, VARIANTS(sk_error) },
	[HOOK_CONNECT_RETURN] = { "connect() failures", "NO_ROUTE from a local route",
		false, VARIANTS(connect_return) },
	[HOOK_DROP] = { "drops", "LOCAL_DROP, LISTEN_OVERFLOW from drop reasons", false,
		VARIANTS(drop) },
	[HOOK_SOCK_SCAN] = { "socket scan",
		"PEER_APP_STALL, LOCAL_APP_STALL, ZERO_WINDOW, LISTEN_OVERFLOW from queues; "
		"CONNECTION_TIMEOUT before the kernel gives up; PACKET_LOSS at the receiver",
		false, VARIANTS(sock_scan) },
	[HOOK_NIC_INGRESS_TC] = { "interface ingress (TC)",
		"NAT_MISMATCH, HOST_UNREACHABLE, FIREWALL_REJECT, NO_ROUTE from ICMP",
		false, VARIANTS(nic_tc_in) },
	[HOOK_NIC_EGRESS_TC] = { "interface egress (TC)", "the NIC's SYN and RST counts", false,
		VARIANTS(nic_tc_out) },
	[HOOK_NIC_INGRESS_XDP] = { "interface ingress (XDP)", "nothing: TC ingress stands in",
		false, VARIANTS(nic_xdp) },
	[HOOK_PROC_EXIT] = { "process deaths", "PROCESS_KILLED", false, VARIANTS(proc_exit) },
	[HOOK_OOM_VICTIM] = { "OOM killer", "PROCESS_KILLED names the OOM killer (else the signal alone)",
		false, VARIANTS(oom_victim) },
	[HOOK_ACCEPT_RETURN] = { "accept() returns",
		"the owner of a server connection accepted by another process than the "
		"listener's (the listener's is named instead)", false, VARIANTS(accept_return) },
};

const struct hook_desc *hook_desc(enum hook h)
{
	return h < HOOK_MAX ? &hooks[h] : NULL;
}

static bool enum_has(const struct btf *btf, const char *type, const char *value)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM);

	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, e++)
		if (!strcmp(btf__name_by_offset(btf, e->name_off), value))
			return true;
	return false;
}

/*
 * Arguments the kernel passes a tp_btf program of this tracepoint: its
 * btf_trace_<name> typedef is a pointer to a prototype whose first
 * parameter is the tracepoint's own context. -1: no such tracepoint.
 */
static int tracepoint_args(const struct btf *btf, const char *tp)
{
	const struct btf_type *t;
	char name[128];
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 1)
		return -1;
	return btf_vlen(t) - 1;
}

/* Can this kernel take the variant? false with why filled when not. */
static bool variant_fits(const struct btf *btf, const struct hook_variant *v,
			 char *why, size_t len)
{
	int args;

	if (!strcmp(v->attach, "iter/tcp")) {
		if (btf__find_by_name_kind(btf, "bpf_iter__tcp", BTF_KIND_STRUCT) > 0)
			return true;
		snprintf(why, len, "the kernel has no iter/tcp (5.9 and later have it)");
		return false;
	}
	if (!v->tracepoint)
		return true;
	args = tracepoint_args(btf, v->tracepoint);
	if (args < 0) {
		snprintf(why, len, "the kernel has no %s tracepoint", v->tracepoint);
		return false;
	}
	if (!v->classic && (unsigned int)args < v->min_args) {
		snprintf(why, len, "the kernel's %s passes %d arguments, not %u",
			 v->tracepoint, args, v->min_args);
		return false;
	}
	return true;
}

/* The first variant from index `from` the kernel can take, or -1. */
static int first_fit(struct hook_plan *p, const struct btf *btf, enum hook h, unsigned int from)
{
	const struct hook_desc *d = &hooks[h];

	for (unsigned int i = from; i < d->n_variants; i++) {
		/* Classic first when asked: skip BTF variants that have a twin. */
		if (p->classic && !d->variants[i].classic && d->variants[d->n_variants - 1].classic)
			continue;
		if (!btf || variant_fits(btf, &d->variants[i], p->why_buf[h], sizeof(p->why_buf[h])))
			return i;
		p->why[h] = p->why_buf[h];
	}
	return -1;
}

bool hook_plan_make(struct hook_plan *p, const struct btf *vmlinux, bool classic)
{
	memset(p, 0, sizeof(*p));
	p->classic = classic;
	p->has_tcx = enum_has(vmlinux, "bpf_attach_type", "BPF_TCX_INGRESS");
	p->has_xdp_link = enum_has(vmlinux, "bpf_link_type", "BPF_LINK_TYPE_XDP");
	p->has_ringbuf = enum_has(vmlinux, "bpf_map_type", "BPF_MAP_TYPE_RINGBUF");
	p->has_coarse_clock = enum_has(vmlinux, "bpf_func_id", "BPF_FUNC_ktime_get_coarse_ns");
	p->has_drop_reasons = btf__find_by_name_kind(vmlinux, "skb_drop_reason", BTF_KIND_ENUM) > 0;
	/* The helper's tracing flavour came with the change that allowed it. */
	p->has_sk_storage_tracing =
		btf__find_by_name_kind(vmlinux, "bpf_sk_storage_get_tracing", BTF_KIND_FUNC) > 0;
	p->resets_without_socket = tracepoint_args(vmlinux, "tcp_send_reset") >= 3;
	for (int h = 0; h < HOOK_MAX; h++) {
		p->variant[h] = first_fit(p, vmlinux, h, 0);
		/* A fit after a refusal: the first one's reason is history. */
		if (p->variant[h] >= 0)
			p->why[h] = NULL;
	}
	return p->has_ringbuf && p->variant[HOOK_SET_STATE] >= 0;
}

bool hook_plan_sock_storage(const struct hook_plan *p)
{
	/* The hooks whose programs read or keep a socket's state. */
	static const enum hook readers[] = {
		HOOK_SET_STATE, HOOK_RETRANSMIT, HOOK_RECEIVE_RESET, HOOK_SEND_RESET,
		HOOK_SK_ERROR,
	};

	if (!p->has_sk_storage_tracing)
		return false;
	for (unsigned int i = 0; i < ARRAY_LEN(readers); i++) {
		const struct hook_variant *v = hook_plan_variant(p, readers[i]);

		if (v && v->classic)
			return false;
	}
	return true;
}

void hook_plan_off(struct hook_plan *p, enum hook h)
{
	p->off[h] = true;
}

const struct hook_variant *hook_plan_variant(const struct hook_plan *p, enum hook h)
{
	if (h >= HOOK_MAX || p->off[h] || p->variant[h] < 0)
		return NULL;
	return &hooks[h].variants[p->variant[h]];
}

static bool variant_has(const struct hook_variant *v, const char *prog)
{
	for (int i = 0; i < HOOK_VARIANT_PROGS && v->progs[i]; i++)
		if (!strcmp(v->progs[i], prog))
			return true;
	return false;
}

bool hook_plan_loads(const struct hook_plan *p, const char *prog)
{
	for (int h = 0; h < HOOK_MAX; h++) {
		const struct hook_variant *v = hook_plan_variant(p, h);

		if (!v)
			continue;
		if (variant_has(v, prog) || (v->standby_next && variant_has(v + 1, prog)))
			return true;
	}
	return false;
}

int hook_plan_refused(struct hook_plan *p, const char *prog, const char *why)
{
	for (int h = 0; h < HOOK_MAX; h++) {
		const struct hook_variant *v = hook_plan_variant(p, h);
		int next;

		if (!v || !variant_has(v, prog))
			continue;
		snprintf(p->why_buf[h], sizeof(p->why_buf[h]), "%s refused: %s", v->attach, why);
		/* Without BTF to judge by, the next variant is simply tried. */
		next = first_fit(p, NULL, h, p->variant[h] + 1);
		p->variant[h] = next;
		p->why[h] = p->why_buf[h];
		return h;
	}
	return -1;
}

void hook_plan_missing(struct hook_plan *p, enum hook h, const char *why)
{
	snprintf(p->why_buf[h], sizeof(p->why_buf[h]), "%s", why);
	p->why[h] = p->why_buf[h];
	p->variant[h] = -1;
}
