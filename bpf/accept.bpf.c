// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Who accept()ed a server connection. A child socket is born in softirq
 * and takes its listener's owner (sk_owners, cloned); the process that
 * accept()s it is the one that serves it: a pre-forked worker, or a
 * daemon whose listen() caller is long gone. Seen where accept() returns,
 * in the accepting task, by the descriptor it returns: one run per
 * accept() call, nothing per packet.
 */
#include "tcptrace.bpf.h"
#include "sock_track.bpf.h"

/* __NR_accept and __NR_accept4 of the loader's architecture, for the raw hook. */
const volatile __u32 accept_nr = 0;
const volatile __u32 accept4_nr = 0;

static __always_inline int accept_exit(long fd)
{
	struct accept_owner a = {};
	struct sock *sk;
	__u64 id;

	if (fd < 0)
		return 0;
	sk = fd_to_sock(fd);
	if (!sk || !is_tcp(sk, false))
		return 0;
	if (filter_netns && BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) != filter_netns)
		return 0;
	/*
	 * Only a traced flow's taker is ever read: keep the map for those.
	 * The port filter by its two reads; the host filter needs the key.
	 */
	if (filter_port && BPF_CORE_READ(sk, __sk_common.skc_num) != filter_port &&
	    bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)) != filter_port)
		return 0;
	if (filter_family) {
		struct flow_key k;

		if (!flow_key_from_common(&sk->__sk_common, &k, false) || !flow_wanted(&k))
			return 0;
	}
	/*
	 * The host's init accept()s for the services it starts per
	 * connection (systemd's Accept=yes) and hands the socket over: the
	 * connection is not its. Unknown, then, as for its listen().
	 */
	if ((bpf_get_current_pid_tgid() >> 32) != 1)
		owner_current(&a.owner);
	id = (unsigned long)sk;
	if (!use_sk_storage) {
		/* By address: the state is this program's to reach. */
		struct sock_entry *se = bpf_map_lookup_elem(&socks, &id);

		if (se && !se->unwanted && se->info.side != TT_SIDE_CLIENT &&
		    se->key.rport == bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport))) {
			state_accept_own(se, &a.owner);
		}
		return 0;
	}
	a.ino = sock_ino(sk);
	bpf_map_update_elem(&accept_owners, &id, &a, BPF_ANY);
	return 0;
}

/*
 * accept4() and accept() have tracepoints of their own (args: the return,
 * the new descriptor). They need tracefs (mounted when missing).
 */
SEC("tracepoint/syscalls/sys_exit_accept4")
int accept4_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int accept_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret);
}

/*
 * Where those refuse one more program (64 at most on a classic
 * tracepoint, host-wide): the raw syscall exit, on every system call of
 * the host, so the call's number is tested first. It is in the task's
 * registers, where the architecture's entry code keeps it.
 */
static __always_inline long syscall_nr(const struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return regs->syscallno;
#else
	return -1;
#endif
}

SEC("tp_btf/sys_exit")
int BPF_PROG(accept_exit_raw, struct pt_regs *regs, long ret)
{
	long nr = syscall_nr(regs);

	if (nr != accept4_nr && nr != accept_nr)
		return 0;
	return accept_exit(ret);
}
