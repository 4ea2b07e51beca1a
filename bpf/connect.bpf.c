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
	__u64 id = bpf_get_current_pid_tgid();
	struct sockaddr_in6 sa = {};
	struct flow_info info;
	struct flow_key k;
	__u64 *mark;
	struct tt_event *ev;
	struct sock *sk;

	mark = bpf_map_lookup_elem(&connect_reached_tcp, &id);
	if (mark) {
		/* Reached TCP. A non-blocking connect returns with the SYN just
		 * sent: name the flow now, so that what happens to the SYN's
		 * answer is counted against it. */
		flow_of_sock((const struct sock *)*mark, &k, &info);
		bpf_map_delete_elem(&connect_reached_tcp, &id);
		return 0;
	}
	if (ret >= 0 || ret == -EINPROGRESS)
		return 0;
	if (filter_tgid && (id >> 32) != filter_tgid)
		return 0;

	sk = fd_to_sock(fd);
	if (!sk || !is_tcp(sk) || !flow_key_from_common(&sk->__sk_common, &k))
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
 * The per-syscall tracepoints fire for connect() alone, where a raw
 * sys_exit program would run on every system call of the host. They need
 * tracefs (mounted when missing); without it, the raw hook below.
 */
struct connect_call {
	__u64 uaddr;
	__s64 fd;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);	/* connect() calls in flight at once */
	__type(key, __u64);		/* pid_tgid */
	__type(value, struct connect_call);
} connect_calls SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_connect")
int connect_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct connect_call c = { .uaddr = ctx->args[1], .fd = (int)ctx->args[0] };

	if (filter_tgid && (id >> 32) != filter_tgid)
		return 0;
	bpf_map_update_elem(&connect_calls, &id, &c, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int connect_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct connect_call *c = bpf_map_lookup_elem(&connect_calls, &id);
	struct connect_call call;

	if (!c)
		return 0;
	call = *c;
	bpf_map_delete_elem(&connect_calls, &id);
	return handle_connect_return(call.fd, (const void *)call.uaddr, ctx->ret);
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
