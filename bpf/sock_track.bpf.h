/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A socket's state across its life (struct sock_entry): where it lives
 * (the socket's storage, or the socks map before 5.11), how a socket's
 * flow is named from it, and the one record a healthy connection sends.
 */
#ifndef TCPTRACE_SOCK_TRACK_BPF_H
#define TCPTRACE_SOCK_TRACK_BPF_H

#include "tcptrace.bpf.h"

/*
 * The tcp_sock around a socket. A tp_btf pointer is typed struct sock, and
 * the verifier refuses loads past its end: the helper retypes it (NULL
 * unless it is a full TCP socket). A probed pointer is just cast.
 */
static __always_inline const struct tcp_sock *tcp_sk_of(const struct sock *sk, bool btf)
{
	return btf ? bpf_skc_to_tcp_sock((void *)sk) : (const struct tcp_sock *)sk;
}

static __always_inline bool key_complete(const struct flow_key *k)
{
	return k->lport && k->rport;
}

/*
 * The socket's state, or NULL. In the socket's storage only from a tp_btf
 * program (a probed pointer is no socket to the helper); a probed caller
 * in that mode has none to read.
 */
static __always_inline struct sock_entry *state_of(const struct sock *sk, bool btf)
{
	__u64 id = (unsigned long)sk;

	if (use_sk_storage)
		return btf ? bpf_sk_storage_get(&sk_states, (void *)sk, 0, 0) : NULL;
	return bpf_map_lookup_elem(&socks, &id);
}

/* A new state for the socket, from init (a reused socket's is replaced). */
static __always_inline struct sock_entry *state_new(const struct sock *sk,
						    const struct sock_entry *init, bool btf)
{
	struct sock_entry *se;
	__u64 id = (unsigned long)sk;

	if (use_sk_storage) {
		se = btf ? bpf_sk_storage_get(&sk_states, (void *)sk, 0,
					      BPF_SK_STORAGE_GET_F_CREATE) : NULL;
		if (se)
			*se = *init;
	} else {
		se = bpf_map_update_elem(&socks, &id, init, BPF_ANY) ? NULL :
		     bpf_map_lookup_elem(&socks, &id);
	}
	if (se)
		count(CNT_FLOWS_NEW);
	else
		count(CNT_FLOWS_FULL);
	return se;
}

/*
 * Start keeping a socket's state. first_state: where its path starts, 0
 * when we did not see its open. in_process: the current task opened it.
 */
static __always_inline void state_init(struct sock_entry *se, const struct flow_key *k,
				       enum tt_side side, __u8 first_state, bool in_process)
{
	se->key = *k;
	se->info.start_ns = bpf_ktime_get_ns();
	se->info.side = side;
	if (first_state) {
		se->path[0] = first_state;
		se->n_path = 1;
	}
	if (in_process) {
		se->info.pid = bpf_get_current_pid_tgid() >> 32;
		se->info.cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(se->info.comm, sizeof(se->info.comm));
		se->owner_proc = 1;
	}
}

/*
 * The socket's inode, the number /proc/PID/fd links name (socket:[N]):
 * 0 for a socket no file holds yet (a child before accept()). Inode
 * numbers of sockets come from get_next_ino(), 32 bits.
 */
static __always_inline __u32 sock_ino(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
}

/* Who held the socket when the tracer started (/proc walk), or NULL. */
static __always_inline const struct flow_info *inode_owner(const struct sock *sk)
{
	__u32 ino = sock_ino(sk);

	return ino ? bpf_map_lookup_elem(&inode_owners, &ino) : NULL;
}

/* The owner of the current task, in process context. */
static __always_inline void owner_current(struct flow_info *o)
{
	o->pid = bpf_get_current_pid_tgid() >> 32;
	o->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* Copy an owner (pid, comm, cgroup) into info, leaving its flow fields. */
static __always_inline void owner_copy(struct flow_info *info, const struct flow_info *o)
{
	info->pid = o->pid;
	info->cgroup_id = o->cgroup_id;
	__builtin_memcpy(info->comm, o->comm, sizeof(info->comm));
}

/*
 * A state's owner known other than from the current task: its listener's,
 * or the /proc walk's. As sure as connect()'s (pid 0: several processes
 * held it; the cgroup alone is said).
 */
static __always_inline void state_own(struct sock_entry *se, const struct flow_info *o)
{
	owner_copy(&se->info, o);
	se->owner_proc = o->pid != 0;
}

/*
 * --pid: a connection whose owner turned out to be another process (a
 * worker accept()ed it) is no longer traced. What the kernel side holds
 * for it goes now, since its close will not be seen.
 */
static __always_inline void state_unwanted(struct sock_entry *se)
{
	if (se->named)
		bpf_map_delete_elem(&flows, &se->key);
	if (se->nic_watch)
		__sync_fetch_and_add(&nic_watching, -1);	/* XADD: no atomic sub before v3 */
	se->named = se->nic_watch = 0;
	se->unwanted = 1;
}

/* The process that accept()ed the connection owns it from now on. */
static __always_inline void state_accept_own(struct sock_entry *se, const struct flow_info *o)
{
	state_own(se, o);
	se->accepted = 1;
	if (filter_tgid && o->pid != filter_tgid)
		state_unwanted(se);
}

/*
 * A server connection accept()ed since a hook last met it takes the
 * accepting process as its owner, left by accept()'s return (see
 * accept_owners). Until then it is its listener's. Only a socket a file
 * holds (sk_socket: accept() grafted it; not yet, or closed and orphaned)
 * costs a lookup; a client's owner is its connect()'s.
 */
static __always_inline void state_accepted(const struct sock *sk, struct sock_entry *se,
					   bool btf)
{
	struct accept_owner *a;
	__u64 id = (unsigned long)sk;

	if (!use_sk_storage || se->accepted || se->info.side == TT_SIDE_CLIENT ||
	    !KREAD(btf, sk, sk_socket))
		return;
	a = bpf_map_lookup_elem(&accept_owners, &id);
	if (!a)
		return;
	if (a->ino == sock_ino(sk))
		state_accept_own(se, &a->owner);
	bpf_map_delete_elem(&accept_owners, &id);
}

static __always_inline struct sock_entry *sock_track(const struct sock *sk,
						     const struct flow_key *k,
						     enum tt_side side, __u8 first_state,
						     bool in_process, bool btf)
{
	struct sock_entry init = {}, *se;

	/* In the socket's storage: built in place, no copy through the stack. */
	if (use_sk_storage && btf) {
		se = bpf_sk_storage_get(&sk_states, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!se) {
			count(CNT_FLOWS_FULL);
			return NULL;
		}
		__builtin_memset(se, 0, sizeof(*se));	/* a reused socket's old state */
		state_init(se, k, side, first_state, in_process);
		count(CNT_FLOWS_NEW);
		return se;
	}
	state_init(&init, k, side, first_state, in_process);
	return state_new(sk, &init, btf);
}

static __always_inline bool key_same_peer(const struct flow_key *a,
					  const struct flow_key *b)
{
	const __u32 *x = (const void *)a->raddr, *y = (const void *)b->raddr;

	if (a->netns != b->netns || a->family != b->family || a->rport != b->rport)
		return false;
	for (int i = 0; i < 4; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

static __always_inline bool key_eq(const struct flow_key *a, const struct flow_key *b)
{
	const __u32 *x = (const void *)a, *y = (const void *)b;

	for (int i = 0; i < sizeof(*a) / 4; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

/*
 * The local port of a socket: bound (skc_num), or, once closing unhashed
 * it and zeroed skc_num before the tracepoint fired, the port it sent
 * from (inet_sport), which stays.
 */
static __always_inline __u16 sock_lport(const struct sock *sk, bool btf)
{
	const struct tcp_sock *tp;
	__u16 port = KREAD(btf, sk, __sk_common.skc_num);

	if (port)
		return port;
	tp = tcp_sk_of(sk, btf);
	return tp ? bpf_ntohs(KREAD(btf, tp, inet_conn.icsk_inet.inet_sport)) : 0;
}

/*
 * A listener's child is told of (LISTEN -> SYN_RECV) before its peer's
 * address and port are set: inet_csk_clone_lock() sets the state first,
 * up to 6.x (6.1, and 5.10's socks map alike); later kernels set them
 * first. Its state holds the listener's half of the key until then.
 */
static __always_inline bool key_awaits_peer(const struct flow_key *k)
{
	return !k->rport;
}

/*
 * The key of a state completed by the socket's port, now that it has one,
 * or by its peer, now that it has one, and the filters applied to the
 * whole key. False: not traced.
 */
static __always_inline bool state_key_complete(const struct sock *sk, struct sock_entry *se,
					       bool btf)
{
	if (se->unwanted)
		return false;
	if (key_awaits_peer(&se->key)) {
		struct flow_key k;

		if (flow_key_from_common(&sk->__sk_common, &k, btf) && k.rport) {
			if (!k.lport)
				k.lport = se->key.lport;
			se->key = k;
			if (!flow_wanted(&k)) {
				se->unwanted = 1;
				return false;
			}
		}
	}
	if (!se->key.lport) {
		se->key.lport = sock_lport(sk, btf);
		if (se->key.lport && !flow_wanted(&se->key)) {
			se->unwanted = 1;
			return false;
		}
	}
	return true;
}

/*
 * Name the flow of a socket, fill *info with its owner and *sep with its
 * state (NULL when it has none). A socket met mid-life gets a state now,
 * so that its close can be named too. False when the flow is not traced.
 */
static __always_inline bool flow_of_sock_entry(const struct sock *sk, struct flow_key *k,
					       struct flow_info *info, bool btf,
					       struct sock_entry **sep)
{
	struct sock_entry *se = state_of(sk, btf);

	*sep = NULL;
	__builtin_memset(info, 0, sizeof(*info));
	if (se && use_sk_storage) {
		/* The socket's own storage: no other socket's state to mistake. */
		state_accepted(sk, se, btf);
		if (!state_key_complete(sk, se, btf))
			return false;
		*k = se->key;
		*info = se->info;
		if (filter_tgid && se->info.pid != filter_tgid)
			return false;
		*sep = se;
		return true;
	}
	if (!is_tcp(sk, btf) || !flow_key_from_common(&sk->__sk_common, k, btf))
		return false;
	if (!k->lport && k->rport)
		k->lport = sock_lport(sk, btf);
	/*
	 * By address, an entry that disagrees with what the socket still says
	 * is a stale one: a socket address is recycled, maybe in another
	 * namespace by a socket we never tracked. A complete key must match
	 * whole; a partial one (the local port gone or not yet chosen) in what
	 * it still has.
	 */
	if (se && (key_complete(k) && key_complete(&se->key) ? !key_eq(k, &se->key) :
		   key_awaits_peer(&se->key) && se->info.side == TT_SIDE_SERVER ?
		   se->key.lport != k->lport || se->key.netns != k->netns :
		   !key_same_peer(k, &se->key)))
		se = NULL;
	if (!se) {
		__u8 state = KREAD(btf, sk, __sk_common.skc_state);
		const struct flow_info *o = inode_owner(sk);

		/* --pid: an owner we never saw is not the one asked for. */
		if ((filter_tgid && (!o || o->pid != filter_tgid)) || !flow_wanted(k))
			return false;
		if (o)
			owner_copy(info, o);
		/*
		 * Opened before we started: adopt it, so its close can be named
		 * too, with the owner the /proc walk found. Not a closed one (its
		 * state went with its close, or it never had one) nor a listener.
		 * A probed caller in storage mode has no storage to adopt it
		 * into: named by its key alone.
		 */
		if (key_complete(k) && state != TCP_LISTEN && state != TCP_CLOSE &&
		    (btf || !use_sk_storage)) {
			*sep = sock_track(sk, k, TT_SIDE_UNKNOWN, 0, false, btf);
			if (*sep && o)
				state_own(*sep, o);
		}
		return true;
	}
	if (!key_complete(k))
		*k = se->key;
	else if (!key_complete(&se->key)) {
		se->key = *k;
		if (!flow_wanted(k))
			se->unwanted = 1;
	}
	if (se->unwanted)
		return false;
	*info = se->info;
	if (filter_tgid && se->info.pid != filter_tgid)
		return false;
	*sep = se;
	return flow_wanted(k);
}

/*
 * ... for an event that goes out at once: the flow is told of now, and
 * its handshake's end will be too (handle_set_state).
 */
static __always_inline bool flow_of_sock(const struct sock *sk, struct flow_key *k,
					 struct flow_info *info, bool btf)
{
	struct sock_entry *se;

	if (!flow_of_sock_entry(sk, k, info, btf, &se))
		return false;
	if (se)
		se->told = 1;
	return true;
}

/* Note a state on the socket's path: the CLOSE record carries it. */
static __always_inline void path_push(struct sock_entry *se, __u8 state)
{
	__u8 n = se->n_path;

	if (n && se->path[(n - 1) & 7] == state)
		return;
	if (n < sizeof(se->path))
		se->n_path = n + 1;
	else
		n = sizeof(se->path) - 1;	/* full: keep how it ends */
	se->path[n & 7] = state;
}

/*
 * A connection's story in one record (EVF_SUMMARY): its open, handshake,
 * owner and path. At CLOSE the whole of it; from the socket scan, the
 * part so far of one nothing else has named (userspace expands it into
 * the events it stands for).
 */
static __always_inline struct tt_event *summary_new(const struct flow_key *k,
						    const struct sock_entry *se,
						    __u8 old_state, __u8 state)
{
	struct tt_event *ev = event_new(k, EV_STATE, &se->info);

	if (!ev)
		return NULL;
	ev->old_state = old_state;
	ev->state = state;
	ev->flags |= EVF_SUMMARY;
	if (se->owner_proc)
		ev->flags |= EVF_PROC;
	ev->start_ns = se->info.start_ns;
	ev->established_ns = se->established_ns;
	__builtin_memcpy(ev->path, se->path, sizeof(ev->path));
	return ev;
}

#endif /* TCPTRACE_SOCK_TRACK_BPF_H */
