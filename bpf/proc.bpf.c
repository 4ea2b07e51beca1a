// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Processes that die by a signal, and the OOM killer's choices: what
 * PROCESS_KILLED names. Both are rare, so each is one record; the
 * connections such a death closes are told by the state hook
 * (EV_EXIT_CLOSE, sock_events.bpf.c), and userspace joins them by pid.
 */
#include "tcptrace.bpf.h"
#include "compat.bpf.h"

/* The low 7 bits of an exit code: the signal that ended the task. */
#define EXIT_SIGNAL_MASK	0x7f

/* The network namespace a task lives in; 0 when it has none left. */
static __always_inline __u32 task_netns(const struct task_struct *task)
{
	return BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
}

/*
 * The end of a thread group by a signal. sched_process_exit runs in the
 * exiting task (current), right after do_exit() sets exit_code and before
 * exit_files() (the sockets' close comes later still, from
 * exit_task_work()): in 5.10 as in 6.18, where a 2025 change moved it
 * before exit_mm() and gave it group_dead. Userspace does not rely on the
 * order. exit(n) leaves the signal bits zero: no record. Only the group's
 * last thread counts (signal->live has reached 0): the process, not each
 * of its threads.
 */
static __always_inline int handle_proc_exit(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct flow_key k = {};
	struct tt_event *ev;
	__u32 code, tgid;

	code = BPF_CORE_READ(task, exit_code);
	if (!(code & EXIT_SIGNAL_MASK))
		return 0;
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	if (filter_tgid && tgid != filter_tgid)
		return 0;
	k.netns = task_netns(task);
	if (filter_netns && k.netns != filter_netns)
		return 0;
	ev = event_new(&k, EV_PROC_EXIT, NULL);
	if (!ev)
		return 0;
	ev->pid = tgid;
	ev->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->err = code & EXIT_SIGNAL_MASK;
	ev->reason = code;
	ev->flags = EVF_PROC;
	event_submit(ev);
	return 0;
}

/* The task is current: its arguments are not read (group_dead came in 2025). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit_btf)
{
	return handle_proc_exit();
}

SEC("tracepoint/sched/sched_process_exit")
int proc_exit_tp(void *ctx)
{
	return handle_proc_exit();
}

static __always_inline int emit_oom_victim(__u32 pid, __u32 netns, const char *comm)
{
	struct flow_key k = {};
	struct tt_event *ev;

	if (filter_tgid && pid != filter_tgid)
		return 0;
	if (filter_netns && netns && netns != filter_netns)
		return 0;
	k.netns = netns;
	ev = event_new(&k, EV_OOM_VICTIM, NULL);
	if (!ev)
		return 0;
	ev->pid = pid;
	if (comm)
		bpf_probe_read_kernel_str(ev->comm, sizeof(ev->comm), comm);
	event_submit(ev);
	return 0;
}

/*
 * mark_victim runs in the task that ran out of memory, not in the victim:
 * the victim is its argument. (task, uid) in every kernel checked
 * (5.10's Debian backport included); the classic record's pid is there
 * in all of them.
 */
SEC("tp_btf/mark_victim")
int BPF_PROG(oom_victim_btf, struct task_struct *task)
{
	return emit_oom_victim(BPF_CORE_READ(task, tgid), task_netns(task), task->comm);
}

/* The classic record names the victim's thread by pid alone: no namespace. */
SEC("tracepoint/oom/mark_victim")
int oom_victim_tp(struct trace_event_raw_mark_victim *ctx)
{
	return emit_oom_victim(ctx->pid, 0, NULL);
}
