/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Naming a socket's flow across its life. A client socket has no local port
 * when it enters SYN_SENT and has lost it again at CLOSE, so the complete
 * key and the owner are kept by socket address (the socks map) and the
 * connect is announced once the key is whole.
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
 * The SYN_SENT of a client socket, sent late: only now that the socket has
 * its port can the flow be named. The event keeps the time connect() ran.
 */
static __always_inline void announce_connect(struct sock_entry *se)
{
	struct tt_event *ev;

	se->announced = 1;
	if (bpf_map_update_elem(&flows, &se->key, &se->info, BPF_NOEXIST) == 0)
		count(CNT_FLOWS_NEW);
	ev = event_new(&se->key, EV_STATE, &se->info);
	if (!ev)
		return;
	ev->ts_ns = se->info.start_ns;
	ev->old_state = TCP_CLOSE;
	ev->state = TCP_SYN_SENT;
	ev->flags |= EVF_PROC;
	event_submit(ev);
}

/*
 * Start keeping a socket's entry. A client's flow is named (announced)
 * once its port is known; a server child's, or a socket met mid-life, is
 * named now and enters the flows map at once. first_state: where its path
 * starts, 0 when we did not see its open.
 */
static __always_inline void sock_track(const struct sock *sk, const struct flow_key *k,
				       enum tt_side side, __u8 first_state, bool in_process)
{
	struct sock_entry se = {};
	__u64 id = (unsigned long)sk;

	se.key = *k;
	se.info.start_ns = bpf_ktime_get_ns();
	se.info.side = side;
	if (first_state) {
		se.path[0] = first_state;
		se.n_path = 1;
	}
	if (in_process) {
		se.info.pid = bpf_get_current_pid_tgid() >> 32;
		se.info.cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(se.info.comm, sizeof(se.info.comm));
	}
	if (side != TT_SIDE_CLIENT) {
		se.announced = 1;
		if (bpf_map_update_elem(&flows, k, &se.info, BPF_NOEXIST) == 0)
			count(CNT_FLOWS_NEW);
	}
	if (bpf_map_update_elem(&socks, &id, &se, BPF_ANY))
		count(CNT_FLOWS_FULL);
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
 * Name the flow of a socket: its key as the socket has it now, completed
 * from what we kept when the socket has lost or not yet got its port.
 * Copies the owner into *info. False when the flow is not wanted.
 */
static __always_inline bool flow_of_sock_entry(const struct sock *sk, struct flow_key *k,
					       struct flow_info *info, bool btf,
					       struct sock_entry **sep)
{
	__u64 id = (unsigned long)sk;
	struct sock_entry *se;

	*sep = NULL;
	__builtin_memset(info, 0, sizeof(*info));
	if (!flow_key_from_common(&sk->__sk_common, k, btf))
		return false;
	if (!k->lport && k->rport) {
		/*
		 * Closing unhashes the socket and zeroes its bound port (skc_num)
		 * before the tracepoint fires; the port it sent from (inet_sport)
		 * stays, and names the flow even when we never saw it whole.
		 */
		const struct tcp_sock *tp = tcp_sk_of(sk, btf);

		if (tp)
			k->lport = bpf_ntohs(KREAD(btf, tp, inet_conn.icsk_inet.inet_sport));
	}
	se = bpf_map_lookup_elem(&socks, &id);
	/*
	 * An entry that disagrees with what the socket still says is a stale
	 * one: a socket address is recycled, maybe in another namespace by a
	 * socket we never tracked. A complete key must match whole; a partial
	 * one (the local port gone or not yet chosen) in what it still has.
	 */
	if (se && (key_complete(k) && se->announced ? !key_eq(k, &se->key) :
						      !key_same_peer(k, &se->key)))
		se = NULL;
	if (!se) {
		/* --pid: an owner we never saw is not the one asked for. */
		if (filter_tgid || !flow_wanted(k))
			return false;
		/* Opened before we started: adopt it, so its close can be named too. */
		if (key_complete(k) && KREAD(btf, sk, __sk_common.skc_state) != TCP_LISTEN)
			sock_track(sk, k, TT_SIDE_UNKNOWN, 0, false);
		return true;
	}
	if (!key_complete(k)) {
		*k = se->key;
	} else if (!se->announced) {
		se->key = *k;
		if (!flow_wanted(k))
			return false;
		announce_connect(se);
	}
	*info = se->info;
	if (filter_tgid && se->info.pid != filter_tgid)
		return false;
	*sep = se;
	return flow_wanted(k);
}

static __always_inline bool flow_of_sock(const struct sock *sk, struct flow_key *k,
					 struct flow_info *info, bool btf)
{
	struct sock_entry *se;

	return flow_of_sock_entry(sk, k, info, btf, &se);
}

/* Note a state on the socket's path: the CLOSE event carries it. */
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

#endif /* TCPTRACE_SOCK_TRACK_BPF_H */
