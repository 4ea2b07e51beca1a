// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the hook plan: which program serves each hook, decided
 * from a kernel's BTF. The kernels are built here, in memory, with only
 * what the plan reads (btf_trace_* typedefs of the tracepoints with their
 * argument counts, a few enums, struct bpf_iter__tcp), shaped like the
 * kernels the tracer supports: 5.10, 6.1, 6.18. No root, no kernel.
 */
#include <bpf/btf.h>
#include "harness.h"
#include "hook_plan.h"
#include "kernel_report.h"

/* A tracepoint and how many arguments it passes a tp_btf program. */
struct tp {
	const char *name;
	int args;
};

struct kernel {
	const struct tp *tps;
	bool iter_tcp, ringbuf, tcx, coarse_clock, drop_reasons;
	bool sk_storage_tracing;	/* bpf_sk_storage_get_tracing (5.11) */
};

/* The tracepoints every supported kernel has, as 5.10 has them. */
#define TPS_COMMON							\
	{ "inet_sock_set_state", 3 }, { "tcp_retransmit_synack", 2 },	\
	{ "tcp_receive_reset", 1 }, { "sys_enter", 2 }, { "sys_exit", 2 },	\
	{ "sched_process_exit", 1 }, { "mark_victim", 2 }

static const struct tp tps_5_10[] = {
	TPS_COMMON, { "tcp_retransmit_skb", 2 }, { "tcp_send_reset", 2 }, { "kfree_skb", 2 }, {}
};
static const struct tp tps_6_1[] = {
	TPS_COMMON, { "tcp_retransmit_skb", 2 }, { "tcp_send_reset", 2 }, { "kfree_skb", 3 },
	{ "inet_sk_error_report", 1 }, {}
};
static const struct tp tps_6_18[] = {
	TPS_COMMON, { "tcp_retransmit_skb", 3 }, { "tcp_send_reset", 3 }, { "kfree_skb", 4 },
	{ "inet_sk_error_report", 1 }, {}
};

static const struct kernel k5_10 = { tps_5_10, true, true, false, false, false, false };
static const struct kernel k6_1 = { tps_6_1, true, true, false, true, true, true };
static const struct kernel k6_18 = { tps_6_18, true, true, true, true, true, true };

static void add_enum(struct btf *b, const char *name, const char *value, bool has)
{
	btf__add_enum(b, name, 4);
	btf__add_enum_value(b, has ? value : "SOMETHING_ELSE", 1);
}

static struct btf *kernel_btf(const struct kernel *k)
{
	struct btf *b = btf__new_empty();
	int ptr;

	ptr = btf__add_ptr(b, 0);	/* void *: every argument's type will do */
	for (const struct tp *tp = k->tps; tp->name; tp++) {
		char name[128];
		int proto = btf__add_func_proto(b, 0);

		/* The first parameter is the tracepoint's own context. */
		for (int i = 0; i <= tp->args; i++)
			btf__add_func_param(b, "", ptr);
		snprintf(name, sizeof(name), "btf_trace_%s", tp->name);
		btf__add_typedef(b, name, btf__add_ptr(b, proto));
	}
	if (k->iter_tcp)
		btf__add_struct(b, "bpf_iter__tcp", 24);
	if (k->drop_reasons)
		add_enum(b, "skb_drop_reason", "SKB_DROP_REASON_NETFILTER_DROP", true);
	add_enum(b, "bpf_map_type", "BPF_MAP_TYPE_RINGBUF", k->ringbuf);
	add_enum(b, "bpf_attach_type", "BPF_TCX_INGRESS", k->tcx);
	add_enum(b, "bpf_link_type", "BPF_LINK_TYPE_XDP", true);
	add_enum(b, "bpf_func_id", "BPF_FUNC_ktime_get_coarse_ns", k->coarse_clock);
	btf__add_func(b, k->sk_storage_tracing ? "bpf_sk_storage_get_tracing" : "bpf_sk_storage_get",
		      BTF_FUNC_STATIC, btf__add_func_proto(b, 0));
	return b;
}

static const char *prog_of(const struct hook_plan *p, enum hook h)
{
	const struct hook_variant *v = hook_plan_variant(p, h);

	return v ? v->progs[0] : "-";
}

static bool plan(const struct kernel *k, bool classic, struct hook_plan *p)
{
	struct btf *b = kernel_btf(k);
	bool ok = hook_plan_make(p, b, classic);

	btf__free(b);
	return ok;
}

static void test_plan_6_18_richest_variants(struct test *t)
{
	struct hook_plan p;

	EXPECT(plan(&k6_18, false, &p), "6.18 cannot be traced");
	EXPECT_STR(prog_of(&p, HOOK_SET_STATE), "set_state_btf");
	/* The err argument: failed attempts are told apart. */
	EXPECT_STR(prog_of(&p, HOOK_RETRANSMIT), "retransmit_err_btf");
	EXPECT_STR(prog_of(&p, HOOK_SEND_RESET), "send_reset_reason_btf");
	EXPECT_STR(prog_of(&p, HOOK_DROP), "kfree_skb_btf");
	EXPECT_STR(prog_of(&p, HOOK_SK_ERROR), "sk_error_btf");
	EXPECT_STR(prog_of(&p, HOOK_CONNECT_RETURN), "connect_enter_tp");
	EXPECT_STR(prog_of(&p, HOOK_PROC_EXIT), "proc_exit_btf");
	EXPECT_STR(prog_of(&p, HOOK_OOM_VICTIM), "oom_victim_btf");
	EXPECT_STR(prog_of(&p, HOOK_ACCEPT_RETURN), "accept4_exit_tp");
	EXPECT(p.has_tcx && p.has_coarse_clock && p.has_drop_reasons, "features misread");
	EXPECT(kernel_report_complete(&p), "6.18 should lack nothing");
out:;
}

/* Debian 12's own kernel: the failing start. */
static void test_plan_6_1_no_reset_reason(struct test *t)
{
	struct hook_plan p;
	char note[512];

	EXPECT(plan(&k6_1, false, &p), "6.1 cannot be traced");
	EXPECT_STR(prog_of(&p, HOOK_SEND_RESET), "send_reset_btf");
	EXPECT_STR(prog_of(&p, HOOK_RETRANSMIT), "retransmit_btf");
	EXPECT_STR(prog_of(&p, HOOK_DROP), "kfree_skb_btf");
	EXPECT(!p.has_tcx, "6.1 has no tcx");
	EXPECT(kernel_report_complete(&p), "6.1 misses no hook");
	kernel_report_note(&p, note, sizeof(note));
	EXPECT(strstr(note, "no reset reason"), "the caveat is not said: '%s'", note);
out:;
}

static void test_plan_5_10_degrades(struct test *t)
{
	struct hook_plan p;
	char note[1024];

	EXPECT(plan(&k5_10, false, &p), "5.10 cannot be traced");
	EXPECT_STR(prog_of(&p, HOOK_SK_ERROR), "-");
	EXPECT(strstr(p.why[HOOK_SK_ERROR], "inet_sk_error_report"), "why: %s",
	       p.why[HOOK_SK_ERROR]);
	EXPECT_STR(prog_of(&p, HOOK_DROP), "kfree_skb_site_btf");
	EXPECT(!p.has_coarse_clock && !p.has_drop_reasons, "features misread");
	EXPECT(!kernel_report_complete(&p), "a missing hook went unsaid");
	kernel_report_note(&p, note, sizeof(note));
	EXPECT(strstr(note, "socket errors missing") && strstr(note, "app_error"),
	       "the note does not name the loss: '%s'", note);
out:;
}

static void test_plan_classic_twins(struct test *t)
{
	struct hook_plan p;

	EXPECT(plan(&k6_1, true, &p), "6.1 classic cannot be traced");
	EXPECT_STR(prog_of(&p, HOOK_SET_STATE), "set_state_tp");
	EXPECT_STR(prog_of(&p, HOOK_SEND_RESET), "send_reset_tp");
	EXPECT_STR(prog_of(&p, HOOK_DROP), "kfree_skb_tp");
	/* No twin: the only program there is. */
	EXPECT_STR(prog_of(&p, HOOK_SOCK_SCAN), "sock_scan");
	EXPECT(hook_plan_loads(&p, "set_state_tp") && !hook_plan_loads(&p, "set_state_btf"),
	       "both twins planned");
out:;
}

/* A program the kernel refuses anyway steps its hook down, one at a time. */
static void test_plan_refused_steps_down(struct test *t)
{
	struct hook_plan p;

	EXPECT(plan(&k6_18, false, &p), "6.18 cannot be traced");
	EXPECT_EQ(hook_plan_refused(&p, "send_reset_reason_btf", "Permission denied"),
		  HOOK_SEND_RESET);
	EXPECT_STR(prog_of(&p, HOOK_SEND_RESET), "send_reset_btf");
	EXPECT(strstr(p.why[HOOK_SEND_RESET], "Permission denied"), "why: %s",
	       p.why[HOOK_SEND_RESET]);
	hook_plan_refused(&p, "send_reset_btf", "refused");
	EXPECT_STR(prog_of(&p, HOOK_SEND_RESET), "send_reset_tp");
	hook_plan_refused(&p, "send_reset_tp", "refused");
	EXPECT_STR(prog_of(&p, HOOK_SEND_RESET), "-");
	EXPECT(!hook_plan_served(&p, HOOK_SEND_RESET), "a hook with nothing left is served");
	/* Unknown programs belong to no hook. */
	EXPECT_EQ(hook_plan_refused(&p, "no_such_prog", "x"), -1);
out:;
}

/* connect()'s classic tracepoints take 64 programs: the raw hooks stand by. */
static void test_plan_connect_standby(struct test *t)
{
	struct hook_plan p;

	EXPECT(plan(&k6_1, false, &p), "6.1 cannot be traced");
	EXPECT(hook_plan_loads(&p, "connect_enter_tp") && hook_plan_loads(&p, "connect_exit_tp"),
	       "the classic pair is not loaded");
	EXPECT(hook_plan_loads(&p, "connect_enter_raw") && hook_plan_loads(&p, "connect_exit_raw"),
	       "the standby pair is not loaded");
	hook_plan_refused(&p, "connect_exit_tp", "Argument list too long");
	EXPECT_STR(prog_of(&p, HOOK_CONNECT_RETURN), "connect_enter_raw");
	EXPECT(!hook_plan_loads(&p, "connect_enter_tp"), "the refused pair still loads");
out:;
}

/*
 * accept()'s return tracepoints are classic too: the raw syscall exit
 * stands by, and takes over when they refuse, on every kernel from 5.10.
 */
static void test_plan_accept_standby(struct test *t)
{
	struct hook_plan p;

	EXPECT(plan(&k5_10, false, &p), "5.10 cannot be traced");
	EXPECT_STR(prog_of(&p, HOOK_ACCEPT_RETURN), "accept4_exit_tp");
	EXPECT(plan(&k6_1, false, &p), "6.1 cannot be traced");
	EXPECT(hook_plan_loads(&p, "accept4_exit_tp") && hook_plan_loads(&p, "accept_exit_tp"),
	       "the classic pair is not loaded");
	EXPECT(hook_plan_loads(&p, "accept_exit_raw"), "the raw standby is not loaded");
	hook_plan_refused(&p, "accept_exit_tp", "Argument list too long");
	EXPECT_STR(prog_of(&p, HOOK_ACCEPT_RETURN), "accept_exit_raw");
	EXPECT(!hook_plan_loads(&p, "accept4_exit_tp"), "the refused pair still loads");
	EXPECT(hook_plan_served(&p, HOOK_ACCEPT_RETURN), "the raw exit does not serve it");
	/* it keeps no state of its own: storage stays */
	EXPECT(hook_plan_sock_storage(&p), "6.1: not in storage");
out:;
}

/*
 * Socket state in the socket's own storage only where tp_btf may use it
 * and every hook that keeps the state is tp_btf: one state, not two.
 */
static void test_plan_sock_storage(struct test *t)
{
	struct hook_plan p;

	EXPECT(plan(&k6_18, false, &p), "6.18 cannot be traced");
	EXPECT(p.has_sk_storage_tracing && hook_plan_sock_storage(&p), "6.18: not in storage");
	/* a refused program steps its hook down to a classic twin: by address */
	hook_plan_refused(&p, "retransmit_err_btf", "refused");
	EXPECT(hook_plan_sock_storage(&p), "a tp_btf twin left: storage still");
	hook_plan_refused(&p, "retransmit_btf", "refused");
	EXPECT_STR(prog_of(&p, HOOK_RETRANSMIT), "retransmit_tp");
	EXPECT(!hook_plan_sock_storage(&p), "a classic reader beside storage");
	/* connect() and drops keep no state: their classic programs do not count */
	EXPECT(plan(&k6_1, false, &p), "6.1 cannot be traced");
	EXPECT_STR(prog_of(&p, HOOK_CONNECT_RETURN), "connect_enter_tp");
	EXPECT(hook_plan_sock_storage(&p), "6.1: not in storage");
	EXPECT(plan(&k6_1, true, &p), "6.1 classic cannot be traced");
	EXPECT(!hook_plan_sock_storage(&p), "--classic in storage");
	EXPECT(plan(&k5_10, false, &p), "5.10 cannot be traced");
	EXPECT(!p.has_sk_storage_tracing && !hook_plan_sock_storage(&p), "5.10 in storage");
out:;
}

/*
 * A kernel without the exit tracepoint loses PROCESS_KILLED alone, and
 * says so; one whose mark_victim passes the pid alone (before its 2023
 * change) has the classic record serve it.
 */
static void test_plan_no_process_exit(struct test *t)
{
	static const struct tp tps[] = {
		{ "inet_sock_set_state", 3 }, { "tcp_retransmit_synack", 2 },
		{ "tcp_receive_reset", 1 }, { "sys_enter", 2 }, { "sys_exit", 2 },
		{ "tcp_retransmit_skb", 2 }, { "tcp_send_reset", 2 }, { "kfree_skb", 3 },
		{ "inet_sk_error_report", 1 }, { "mark_victim", 1 }, {}
	};
	struct kernel k = { tps, true, true, false, true, true, true };
	struct hook_plan p;
	char note[1024];

	EXPECT(plan(&k, false, &p), "cannot be traced");
	EXPECT_STR(prog_of(&p, HOOK_PROC_EXIT), "-");
	EXPECT_STR(prog_of(&p, HOOK_OOM_VICTIM), "oom_victim_tp");
	EXPECT_STR(prog_of(&p, HOOK_SET_STATE), "set_state_btf");
	EXPECT(!kernel_report_complete(&p), "a missing hook went unsaid");
	kernel_report_note(&p, note, sizeof(note));
	EXPECT(strstr(note, "process deaths missing") && strstr(note, "PROCESS_KILLED"),
	       "the note does not name the loss: '%s'", note);
out:;
}

static void test_plan_no_core(struct test *t)
{
	static const struct tp tps[] = { { "tcp_receive_reset", 1 }, {} };
	struct kernel k = { tps, true, true, false, false, false, false };
	struct kernel no_ringbuf = k6_1;
	struct hook_plan p;

	no_ringbuf.ringbuf = false;
	EXPECT(!plan(&k, false, &p), "a kernel without inet_sock_set_state was planned");
	EXPECT(p.why[HOOK_SET_STATE], "no reason given");
	EXPECT(!plan(&no_ringbuf, false, &p), "a kernel without a ring buffer was planned");
out:;
}

/* Options that want no interface hooks: not loaded, and not missing either. */
static void test_plan_off_is_not_missing(struct test *t)
{
	struct hook_plan p;

	EXPECT(plan(&k6_18, false, &p), "6.18 cannot be traced");
	hook_plan_off(&p, HOOK_NIC_INGRESS_XDP);
	EXPECT(!hook_plan_loads(&p, "nic_xdp_in"), "an unwanted program loads");
	EXPECT(hook_plan_served(&p, HOOK_NIC_INGRESS_XDP), "off counted as missing");
	EXPECT(kernel_report_complete(&p), "off counted as missing");
out:;
}

static const struct test_case tests[] = {
	TEST(test_plan_6_18_richest_variants),
	TEST(test_plan_6_1_no_reset_reason),
	TEST(test_plan_5_10_degrades),
	TEST(test_plan_no_process_exit),
	TEST(test_plan_classic_twins),
	TEST(test_plan_refused_steps_down),
	TEST(test_plan_connect_standby),
	TEST(test_plan_accept_standby),
	TEST(test_plan_sock_storage),
	TEST(test_plan_no_core),
	TEST(test_plan_off_is_not_missing),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
