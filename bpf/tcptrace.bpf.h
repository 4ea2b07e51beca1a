/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every kernel program shares: config, maps, the flow key, the filter. */
#ifndef TCPTRACE_BPF_H
#define TCPTRACE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "scan.h"

#define AF_INET		2
#define AF_INET6	10
#define IPPROTO_TCP	6

/* Sized so that all maps together stay under 8 MiB of kernel memory. */
#define FLOW_MAP_ENTRIES	8192
#define RINGBUF_BYTES		(1 << 21)	/* 2 MiB: ~16k events of backlog */

/* Set by userspace through .rodata before load; defined in state.bpf.c. */
extern const volatile __u32 filter_netns;	/* 0: every namespace */
extern const volatile __u16 filter_port;	/* 0: every port; else lport or rport */
extern const volatile __u16 filter_family;	/* 0: no host filter */
extern const volatile __u8 filter_addr[16];	/* laddr or raddr must equal it */
extern const volatile __u32 filter_tgid;	/* 0: every process */
/*
 * Per-socket state lives in the socket's own storage (sk_states): freed
 * with the socket, no churn evicts it. tp_btf programs may use it from
 * 5.11 on; before (5.10), or with classic tracepoints, it lives in the
 * socks map keyed by socket address. Userspace decides for the whole
 * object (hook_plan.c): every socket hook must see the same state.
 */
extern const volatile bool use_sk_storage;

/* Map types are named so that one definition (state.bpf.c) and the extern
 * declarations every other object links against are the same type. */
struct flows_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FLOW_MAP_ENTRIES);
	__type(key, struct flow_key);
	__type(value, struct flow_info);
};

struct events_map {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_BYTES);
};

struct counters_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
};

/*
 * What the kernel side keeps of a connection until it closes. A client
 * socket has no local port when it enters SYN_SENT (the port is picked
 * right after) and has lost it again by the time it reaches CLOSE
 * (unhashed first): the key is completed at the first hook after, and
 * kept. A healthy connection sends one record, at CLOSE, built from this
 * (start, handshake, owner, path of states, totals).
 */
struct sock_entry {
	struct flow_key key;	/* lport 0 until the socket has its port */
	/* The socket scan's last record of it (sock_scan.bpf.c): a digest of
	 * what it said, and the low bits of the round it went out in. Both in
	 * room the layout had spare: a socket's storage stays 112 bytes. */
	__u32 scan_digest;
	struct flow_info info;
	__u64 established_ns;	/* the handshake's end; 0: not (yet) */
	__u8 told;		/* the socket scan announced it (a summary so far went out) */
	__u8 unwanted;		/* its completed key fails the filters: not traced */
	__u8 named;		/* in the flows map (drops told by the key alone) */
	__u8 nic_watch;		/* counted in nic_watching: it retransmitted data */
	/* Two bits of one byte: the layout has no byte spare (scan_round). */
	__u8 owner_proc:1;	/* info names the process that connect()ed */
	__u8 accepted:1;	/* info names the process that accept()ed it */
	__u8 n_path;
	__u16 scan_round;
	__u8 path[8];		/* states so far, for the CLOSE record */
};

/* 5.11+, tp_btf: the socket's own storage. */
struct sk_states_map {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_entry);
};

/* 5.10 or classic tracepoints: by socket address, deleted at close. */
struct socks_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FLOW_MAP_ENTRIES);
	__type(key, __u64);	/* struct sock address */
	__type(value, struct sock_entry);
};

/*
 * Who listen()ed on a listener (5.11+, tp_btf): set in process context at
 * CLOSE -> LISTEN, or by the socket scan for a listener that was already
 * there (from inode_owners). BPF_F_CLONE copies it into every child the
 * listener makes (sk_clone_lock, before the child's first state change),
 * so a server connection, born in softirq, knows its owner by its own
 * socket, not by a port that another process may hold next.
 */
struct sk_owners_map {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct flow_info);
};

/*
 * The owners of the sockets that were open when the tracer started, by
 * socket inode, from userspace's walk of /proc/PID/fd. Filled before
 * attach, read-only after; sized by userspace to what it found.
 */
struct inode_owners_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_info);
};

/*
 * connect() in flight on this CPU: its entry keeps the arguments for its
 * return (see connect.bpf.c), and the state change to SYN_SENT, which
 * runs inside the call, says it reached TCP.
 */
struct connect_call {
	__u64 tid;		/* bpf_get_current_pid_tgid(); 0: free */
	__u64 ts_ns;		/* when it entered */
	__u64 uaddr;		/* const struct sockaddr __user * */
	__s32 fd;
	__u32 addrlen;
	__u64 reached_tcp;	/* the socket (address) that entered SYN_SENT in it; 0: none */
};

struct connect_calls_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct connect_call);
};

/*
 * Who accept()ed a server connection, left by accept()'s return for the
 * socket's state (5.11+, socket storage: no program that sees the
 * descriptor may reach the storage; see accept.bpf.c), by socket address.
 * The socket's inode, numbered when accept() gave it a file, proves the
 * taker holds the same socket and not a later one at that address. Taken
 * (and deleted) by the first hook that meets the socket after accept():
 * an entry waits microseconds, or, for a socket no hook traces, until the
 * LRU evicts it.
 */
struct accept_owner {
	struct flow_info owner;	/* pid 0: not to be named (init's) */
	__u32 ino;
	__u32 _pad;
};

#define ACCEPT_PENDING_ENTRIES	1024

struct accept_owners_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ACCEPT_PENDING_ENTRIES);
	__type(key, __u64);	/* struct sock address */
	__type(value, struct accept_owner);
};

extern struct flows_map flows SEC(".maps");
extern struct sk_states_map sk_states SEC(".maps");
extern struct socks_map socks SEC(".maps");
extern struct connect_calls_map connect_calls SEC(".maps");
extern struct sk_owners_map sk_owners SEC(".maps");
extern struct inode_owners_map inode_owners SEC(".maps");
extern struct accept_owners_map accept_owners SEC(".maps");

/*
 * Live sockets that retransmitted data (sock_entry.nic_watch): while there
 * are any, TC egress counts data segments into the flows' NIC records (the
 * largest segment that left: PMTU_BLACKHOLE's evidence); otherwise a data
 * segment touches no map.
 */
extern __u32 nic_watching;
extern struct events_map events SEC(".maps");
extern struct counters_map counters SEC(".maps");

static __always_inline void count(enum tt_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);

	if (v)
		*v += 1;	/* per-CPU slot: no atomic needed */
}

/*
 * tp_btf hands a handler BTF-typed pointers: the verifier lets it load a
 * field directly, one instruction that the JIT guards with an exception
 * entry. A classic tracepoint's pointer is a bare number that only
 * bpf_probe_read_kernel may follow, a helper call per field. Handlers take
 * `btf` as a compile-time constant; after inlining one arm is left.
 */
#define KREAD(btf, p, field) ((btf) ? (p)->field : BPF_CORE_READ(p, field))

/* ::ffff:a.b.c.d, an IPv4 address in an IPv6 socket. */
static __always_inline bool v4_mapped(const __u8 *a)
{
	const __u32 *w = (const void *)a;

	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

/*
 * A dual-stack socket talking IPv4 (::ffff:a.b.c.d): its packets are IPv4
 * on the wire, so the NIC and drop views name the flow as IPv4. Name it
 * the same way from the socket.
 */
static __always_inline void key_unmap_v4(struct flow_key *k)
{
	if (k->family != AF_INET6 || !v4_mapped(k->raddr))
		return;
	k->family = AF_INET;
	__builtin_memcpy(k->laddr, k->laddr + 12, 4);
	__builtin_memcpy(k->raddr, k->raddr + 12, 4);
	__builtin_memset(k->laddr + 4, 0, 12);
	__builtin_memset(k->raddr + 4, 0, 12);
}

/*
 * Fill a flow key from any socket (full, request or timewait: all start
 * with struct sock_common). Copies are sized by the source field, so an
 * IPv4 address never drags neighbouring bytes into the key. False: not a
 * flow we can name, or not in the traced namespace.
 */
static __always_inline bool flow_key_from_common(const struct sock_common *skc,
						 struct flow_key *k, bool btf)
{
	__u16 family = KREAD(btf, skc, skc_family);

	if (family != AF_INET && family != AF_INET6)
		return false;
	__builtin_memset(k, 0, sizeof(*k));
	k->family = family;
	k->netns = btf ? skc->skc_net.net->ns.inum : BPF_CORE_READ(skc, skc_net.net, ns.inum);
	/* Most hits of a --netns tracer are other namespaces': leave first. */
	if (filter_netns && k->netns != filter_netns)
		return false;
	k->lport = KREAD(btf, skc, skc_num);
	k->rport = bpf_ntohs(KREAD(btf, skc, skc_dport));
	if (family == AF_INET) {
		__u32 l = KREAD(btf, skc, skc_rcv_saddr), r = KREAD(btf, skc, skc_daddr);

		__builtin_memcpy(k->laddr, &l, 4);
		__builtin_memcpy(k->raddr, &r, 4);
	} else if (btf) {
		__builtin_memcpy(k->laddr, &skc->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(k->raddr, &skc->skc_v6_daddr, 16);
	} else {
		bpf_core_read(k->laddr, bpf_core_field_size(skc->skc_v6_rcv_saddr),
			      &skc->skc_v6_rcv_saddr);
		bpf_core_read(k->raddr, bpf_core_field_size(skc->skc_v6_daddr),
			      &skc->skc_v6_daddr);
	}
	key_unmap_v4(k);
	return true;
}

static __always_inline bool addr_eq(const __u8 *a, const volatile __u8 *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* The cheap in-kernel filters; constants fold away when they are unset. */
static __always_inline bool flow_wanted(const struct flow_key *k)
{
	if (filter_netns && k->netns != filter_netns)
		return false;
	if (filter_port && k->lport != filter_port && k->rport != filter_port)
		return false;
	if (filter_family) {
		int n = filter_family == AF_INET ? 4 : 16;

		if (k->family != filter_family)
			return false;
		if (!addr_eq(k->raddr, filter_addr, n) &&
		    !addr_eq(k->laddr, filter_addr, n))
			return false;
	}
	return true;
}

static __always_inline bool is_tcp(const struct sock *sk, bool btf)
{
	return KREAD(btf, sk, sk_protocol) == IPPROTO_TCP &&
	       KREAD(btf, sk, sk_type) == 1 /* SOCK_STREAM */;
}

/*
 * The socket behind a file descriptor of the current task, or NULL. A
 * probed pointer: the verifier lets no BTF walk index the task's file
 * table, so it reaches no socket storage either.
 */
static __always_inline struct sock *fd_to_sock(int fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fdtable *fdt;
	struct file **fds;
	struct file *file;
	struct socket *sock;
	unsigned int max;

	fdt = BPF_CORE_READ(task, files, fdt);
	fds = BPF_CORE_READ(fdt, fd);
	max = BPF_CORE_READ(fdt, max_fds);
	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	/* Callers ask of descriptors that connect() or accept() took: sockets,
	 * whose private_data is their struct socket. */
	sock = BPF_CORE_READ(file, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

/* Reserve an event with the key and the flow's owner (info may be NULL). */
static __always_inline struct tt_event *event_new(const struct flow_key *k,
						  enum tt_event_type type,
						  const struct flow_info *info)
{
	struct tt_event *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(CNT_EVENTS_LOST);
		return NULL;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	ev->key = *k;
	ev->type = type;
	if (info) {
		ev->pid = info->pid;
		ev->cgroup_id = info->cgroup_id;
		ev->side = info->side;
		__builtin_memcpy(ev->comm, info->comm, sizeof(ev->comm));
	}
	return ev;
}

/*
 * The reader drains the ring at least every 100 ms and judges once an
 * interval: waking it for every event buys nothing and costs an irq_work
 * each. Wake it when a sixteenth of the ring waits (~860 events), early
 * enough that a busy reader still empties it before it fills.
 */
static __always_inline void event_submit(struct tt_event *ev)
{
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > RINGBUF_BYTES / 16 ?
		      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;

	count(CNT_EVENTS);
	bpf_ringbuf_submit(ev, flags);
}

#endif /* TCPTRACE_BPF_H */
