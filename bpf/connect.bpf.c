// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * connect() failures that never reach TCP's state machine: a local route
 * that says unreachable fails the call at once and no TCP tracepoint fires.
 * Caught where the system call returns, with the arguments its entry saw.
 */
#include "tcptrace.bpf.h"

#define EINPROGRESS	115

/* __NR_connect of the loader's architecture, for the raw syscall hooks. */
const volatile __u32 connect_nr = 0;

/*
 * The call in flight on this CPU (connect_calls, struct connect_call in
 * tcptrace.bpf.h). The exit tracepoint carries only the return value, so
 * the entry keeps the arguments; the state change to SYN_SENT inside the
 * call marks it as having reached TCP. A failure that never reached TCP
 * returns without sleeping, on the CPU it entered on; a call that slept
 * (a blocking connect) may come back elsewhere and find another thread's
 * slot, which it ignores: its outcome reaches TCP's tracepoints anyway. A
 * slot older than a call that did not sleep can be (CALL_FRESH_NS) was
 * left by one that did: it is no evidence. A call that does not sleep can
 * still wait for its CPU: a second, not less (Debian 12's kernel under
 * qemu, 8 tracers loading beside it, missed a NO_ROUTE at 100 ms); a slot
 * left by a call that slept is almost always marked as having reached
 * TCP anyway. One per-CPU slot costs an array lookup a call, where a map
 * keyed by thread would cost a hash insert and delete.
 */
#define CALL_FRESH_NS	(1000 * 1000 * 1000ULL)

/*
 * The destination the caller asked for, read no further than it said
 * (addrlen) and than the family needs: 8 bytes of a sockaddr_in, 24 of a
 * sockaddr_in6 (the kernel accepts a v6 address without sin6_scope_id).
 */
static __always_inline bool read_destination(const struct connect_call *c,
					     struct flow_key *k)
{
	const void *uaddr = (const void *)(unsigned long)c->uaddr;
	__u16 family;

	if (c->addrlen < sizeof(family) ||
	    bpf_probe_read_user(&family, sizeof(family), uaddr))
		return false;
	__builtin_memset(k->raddr, 0, sizeof(k->raddr));
	if (family == AF_INET) {
		struct sockaddr_in sin;

		if (c->addrlen < 8 || bpf_probe_read_user(&sin, 8, uaddr))
			return false;
		__builtin_memcpy(k->raddr, &sin.sin_addr, 4);
		k->rport = bpf_ntohs(sin.sin_port);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 sin6;

		if (c->addrlen < 24 || bpf_probe_read_user(&sin6, 24, uaddr))
			return false;
		__builtin_memcpy(k->raddr, &sin6.sin6_addr, 16);
		k->rport = bpf_ntohs(sin6.sin6_port);
	} else {
		return false;
	}
	return true;
}

static __always_inline void connect_enter(__s64 fd, __u64 uaddr, __u64 addrlen)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct connect_call *c;
	__u32 zero = 0;

	if (filter_tgid && (id >> 32) != filter_tgid)
		return;
	c = bpf_map_lookup_elem(&connect_calls, &zero);
	if (!c)
		return;
	c->tid = id;
	c->ts_ns = bpf_ktime_get_ns();
	c->uaddr = uaddr;
	c->fd = fd;
	c->addrlen = addrlen;
	c->reached_tcp = 0;
}

/* connect() returned ret in the current task. */
static __always_inline int connect_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct connect_call call, *c;
	struct flow_key k;
	struct tt_event *ev;
	struct sock *sk;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&connect_calls, &zero);
	if (!c || c->tid != id)
		return 0;
	call = *c;
	c->tid = 0;
	/*
	 * Connected, or under way (EINPROGRESS), or failed inside TCP (its
	 * socket entered SYN_SENT in this call): TCP's own hooks tell.
	 */
	if (ret == 0 || ret == -EINPROGRESS || call.reached_tcp ||
	    bpf_ktime_get_ns() - call.ts_ns > CALL_FRESH_NS)
		return 0;
	sk = fd_to_sock(call.fd);
	if (!sk || !is_tcp(sk, false) || !flow_key_from_common(&sk->__sk_common, &k, false))
		return 0;
	if (!read_destination(&call, &k))
		return 0;
	key_unmap_v4(&k);
	if (!flow_wanted(&k))
		return 0;

	ev = event_new(&k, EV_CONNECT_ERR, NULL);
	if (!ev)
		return 0;
	ev->err = -ret;
	ev->state = TCP_CLOSE;
	ev->side = TT_SIDE_CLIENT;
	ev->flags |= EVF_PROC;
	ev->pid = id >> 32;
	ev->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	event_submit(ev);
	return 0;
}

/*
 * connect()'s own tracepoints fire for that call alone, with its
 * arguments as the syscall tracepoint records them (args[0..2]: fd,
 * uservaddr, addrlen), whatever the architecture. They need tracefs
 * (mounted when missing).
 */
SEC("tracepoint/syscalls/sys_enter_connect")
int connect_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	connect_enter(ctx->args[0], ctx->args[1], ctx->args[2]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int connect_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	return connect_exit(ctx->ret);
}

/*
 * Where those refuse one more program (a classic tracepoint takes 64 at
 * most, host-wide), the raw syscall hooks: they run on every system call
 * of the host, so the entry tests the number first. The arguments come
 * from the task's registers through libbpf's per-architecture syscall
 * accessors.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(connect_enter_raw, struct pt_regs *regs, long nr)
{
	if (nr != connect_nr)
		return 0;
	connect_enter(PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),
		      PT_REGS_PARM3_CORE_SYSCALL(regs));
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(connect_exit_raw, struct pt_regs *regs, long ret)
{
	return connect_exit(ret);
}
