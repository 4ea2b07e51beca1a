// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * connect() failures that never reach TCP's state machine: a local route
 * that says unreachable fails the call at once and no TCP tracepoint fires.
 * Caught where the system call returns.
 */
#include "tcptrace.bpf.h"
#include "sock_track.bpf.h"

#define NR_CONNECT	42	/* x86_64 */
#define EINPROGRESS	115

/* The socket behind a file descriptor of the current task, or NULL. */
static __always_inline struct sock *fd_to_sock(int fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct file **fds;
	struct file *file;
	struct socket *sock;
	unsigned int max;

	fds = BPF_CORE_READ(task, files, fdt, fd);
	max = BPF_CORE_READ(task, files, fdt, max_fds);
	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	/* Only a socket file yields ENETUNREACH from connect(): private_data is its socket. */
	sock = BPF_CORE_READ(file, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

/* connect(fd, uaddr, ...) returned ret in the current task. */
static __always_inline int handle_connect_return(int fd, const void *uaddr, long ret)
{
	__u64 id = bpf_get_current_pid_tgid(), sk_addr;
	struct sockaddr_in6 sa = {};
	struct sock_entry *se;
	struct flow_info info;
	struct flow_key k;
	struct tt_event *ev;
	struct sock *sk;

	/* Connected (a blocking call): ESTABLISHED has named the flow. */
	if (ret == 0 || (filter_tgid && (id >> 32) != filter_tgid))
		return 0;
	sk = fd_to_sock(fd);
	if (!sk || !is_tcp(sk, false))
		return 0;
	/*
	 * The call reached TCP when this process's socket was tracked entering
	 * SYN_SENT. A non-blocking connect returns with the SYN just sent:
	 * name the flow now, so that what happens to its answer is counted.
	 */
	sk_addr = (unsigned long)sk;
	se = bpf_map_lookup_elem(&socks, &sk_addr);
	if (se && se->info.pid == (id >> 32)) {
		if (ret == -EINPROGRESS && !se->announced)
			flow_of_sock(sk, &k, &info, false);
		return 0;
	}
	if (ret == -EINPROGRESS || !flow_key_from_common(&sk->__sk_common, &k, false))
		return 0;
	if (bpf_probe_read_user(&sa, sizeof(sa), uaddr))
		return 0;
	if (sa.sin6_family == AF_INET) {
		struct sockaddr_in *sin = (void *)&sa;

		__builtin_memset(k.raddr, 0, sizeof(k.raddr));
		__builtin_memcpy(k.raddr, &sin->sin_addr, 4);
	} else if (sa.sin6_family == AF_INET6) {
		__builtin_memcpy(k.raddr, &sa.sin6_addr, 16);
	} else {
		return 0;
	}
	/* sin_port and sin6_port share an offset. */
	k.rport = bpf_ntohs(sa.sin6_port);
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
 * connect()'s own exit tracepoint fires for that call alone, where a raw
 * sys_exit program runs on every system call of the host. It needs tracefs
 * (mounted when missing); without it, the raw hook below. The call's
 * arguments are still in the task's saved user registers.
 */
SEC("tracepoint/syscalls/sys_exit_connect")
int connect_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	return handle_connect_return(regs->di, (const void *)regs->si, ctx->ret);
}

static __always_inline int handle_sys_exit(struct pt_regs *regs, long ret)
{
	/* pt_regs still hold the call's arguments when it returns. */
	if (BPF_CORE_READ(regs, orig_ax) != NR_CONNECT)
		return 0;
	return handle_connect_return(BPF_CORE_READ(regs, di),
				     (const void *)BPF_CORE_READ(regs, si), ret);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(connect_exit_btf, struct pt_regs *regs, long ret)
{
	return handle_sys_exit(regs, ret);
}

/* The raw (non-BTF) twin: same arguments, read from the context array. */
SEC("raw_tracepoint/sys_exit")
int connect_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return handle_sys_exit((struct pt_regs *)ctx->args[0], (long)ctx->args[1]);
}
