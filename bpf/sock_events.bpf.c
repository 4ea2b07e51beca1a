// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TCP's rare events: state changes, retransmits, resets and the errors the
 * application sees. Each comes from a tracepoint, first as tp_btf (raw
 * dispatch, no tracefs) and as a classic tracepoint twin that userspace
 * enables only where BTF attach is refused. Both call one handler, told by
 * `btf` whether it may load kernel fields directly (see KREAD).
 */
#include "tcptrace.bpf.h"
#include "compat.bpf.h"
#include "sock_track.bpf.h"

/* A connection's statistics, taken as it closes. */
static __always_inline void read_totals(const struct tcp_sock *tp, struct tt_event *ev,
					bool btf)
{
	ev->srtt_us = KREAD(btf, tp, srtt_us) >> 3;
	ev->min_rtt_us = KREAD(btf, tp, rtt_min.s[0].v);
	ev->total_retrans = KREAD(btf, tp, total_retrans);
	ev->bytes_acked = KREAD(btf, tp, bytes_acked);
	ev->bytes_received = KREAD(btf, tp, bytes_received);
	ev->segs_out = KREAD(btf, tp, segs_out);
	ev->segs_in = KREAD(btf, tp, segs_in);
	ev->data_segs_out = KREAD(btf, tp, data_segs_out);
	ev->data_segs_in = KREAD(btf, tp, data_segs_in);
}

/* connect() runs in the caller's context: tell its return the call reached TCP. */
static __always_inline void connect_reached_tcp(const struct sock *sk)
{
	struct connect_call *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&connect_calls, &zero);
	if (c && c->tid == bpf_get_current_pid_tgid())
		c->reached_tcp = (unsigned long)sk;
}

/*
 * The socket closed: the connection's one record, with its totals and
 * path, and what the kernel side held for it goes. Its storage stays with
 * the socket (the error report of a reset comes after CLOSE); by address,
 * the entry goes now and that report names the flow by its key.
 */
static __always_inline void sock_closed(const struct sock *sk, const struct flow_key *k,
					const struct flow_info *info, struct sock_entry *se,
					int oldstate, bool btf)
{
	const struct tcp_sock *tp = tcp_sk_of(sk, btf);
	__u64 id = (unsigned long)sk;
	struct tt_event *ev;

	if (se) {
		ev = summary_new(k, se, oldstate, TCP_CLOSE);
	} else {
		ev = event_new(k, EV_STATE, info);
		if (ev) {
			ev->old_state = oldstate;
			ev->state = TCP_CLOSE;
		}
	}
	if (ev) {
		if (tp)
			read_totals(tp, ev, btf);
		event_submit(ev);
	}
	if (!se)
		return;
	count(CNT_FLOWS_CLOSED);
	if (se->named)
		bpf_map_delete_elem(&flows, k);
	if (se->nic_watch)
		__sync_fetch_and_add(&nic_watching, -1);	/* XADD: no atomic sub before v3 */
	se->named = se->nic_watch = 0;
	if (!use_sk_storage)
		bpf_map_delete_elem(&socks, &id);
}

static __always_inline void read_cut_off(const struct tcp_sock *tp, struct tt_event *ev,
					 bool btf);

#define PF_EXITING	0x00000004	/* the task is in do_exit() */

/*
 * The application's close of a connection (a FIN, or an abort with
 * unread data), seen in the state change it makes: synchronized to
 * FIN_WAIT1, LAST_ACK or CLOSE with the socket locked by its user
 * (lock_sock: tcp_close in process context; softirq never changes the
 * state of a socket a task holds). When that task is exiting, its files
 * are being closed for it: the record names it, so a death by a signal
 * can be joined with the connections it took down, even those of a
 * server whose owner no connect() named.
 */
static __always_inline void exit_close_check(const struct sock *sk, const struct flow_key *k,
					     const struct flow_info *info, int oldstate,
					     int newstate, bool btf)
{
	const struct tcp_sock *tp;
	struct task_struct *task;
	struct tt_event *ev;

	if (newstate != TCP_FIN_WAIT1 && newstate != TCP_LAST_ACK && newstate != TCP_CLOSE)
		return;
	if (oldstate != TCP_ESTABLISHED && oldstate != TCP_CLOSE_WAIT)
		return;
	if (!KREAD(btf, sk, sk_lock.owned))
		return;
	task = (struct task_struct *)bpf_get_current_task();
	if (!(BPF_CORE_READ(task, flags) & PF_EXITING))
		return;
	ev = event_new(k, EV_EXIT_CLOSE, info);
	if (!ev)
		return;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->flags = EVF_PROC;
	ev->old_state = oldstate;
	ev->state = newstate;
	tp = tcp_sk_of(sk, btf);
	if (tp)
		read_cut_off(tp, ev, btf);
	event_submit(ev);
}

/* A tracked socket changed state: its path, its handshake, its close. */
static __always_inline void sock_moved(const struct sock *sk, const struct flow_key *k,
				       const struct flow_info *info, struct sock_entry *se,
				       int oldstate, int newstate, bool btf)
{
	exit_close_check(sk, k, info, oldstate, newstate, btf);
	path_push(se, newstate);
	if (newstate == TCP_ESTABLISHED && !se->established_ns) {
		se->established_ns = bpf_ktime_get_ns();
		if (se->told) {
			struct tt_event *ev = summary_new(k, se, oldstate, newstate);

			if (ev)
				event_submit(ev);
		}
	}
	if (newstate == TCP_CLOSE)
		sock_closed(sk, k, info, se, oldstate, btf);
}

/*
 * Every state change of every TCP socket on the host: kept short. A
 * connection's open and its states only go into its state; the one
 * record goes out at CLOSE (sock_closed). A connection already told of
 * (it retransmitted, was reset...) has its handshake's end told at once.
 */
static __always_inline int handle_set_state(const struct sock *sk, int oldstate,
					    int newstate, bool btf)
{
	struct sock_entry *se;
	struct flow_info info;
	struct flow_key k;

	/* A listener's own life (listen(), close()) is no connection. */
	if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE)
		return 0;
	/*
	 * --netns: most hits are other namespaces' sockets. Three loads say
	 * so, before any helper call (a socket storage lookup that misses
	 * costs more).
	 */
	if (btf && filter_netns && sk->__sk_common.skc_net.net->ns.inum != filter_netns)
		return 0;
	if (newstate == TCP_LISTEN) {
		/*
		 * listen() runs in the caller's context: its children, cloned
		 * in softirq, inherit this owner with the listener's storage.
		 * Without socket storage (5.10, classic tracepoints) a child's
		 * owner stays unknown: no port-keyed guess.
		 */
		if (oldstate == TCP_CLOSE && use_sk_storage && btf) {
			struct flow_info *o = bpf_sk_storage_get(&sk_owners, (void *)sk, 0,
								 BPF_SK_STORAGE_GET_F_CREATE);

			/*
			 * The host's init listens for the services it starts on
			 * demand (systemd socket activation) and hands them the
			 * socket: it owns none of the connections. Unknown, then.
			 */
			if (o && (bpf_get_current_pid_tgid() >> 32) != 1)
				owner_current(o);
			else if (o)
				__builtin_memset(o, 0, sizeof(*o));
		}
		return 0;
	}

	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
		/* connect() runs in the caller's context: the owner is current. */
		if (filter_tgid && (bpf_get_current_pid_tgid() >> 32) != filter_tgid)
			return 0;
		if (!is_tcp(sk, btf) || !flow_key_from_common(&sk->__sk_common, &k, btf))
			return 0;
		/* The port filter may match the remote port already; the local one comes later. */
		if (key_complete(&k) && !flow_wanted(&k))
			return 0;
		connect_reached_tcp(sk);
		sock_track(sk, &k, TT_SIDE_CLIENT, TCP_SYN_SENT, true, btf);
		return 0;
	}
	if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV) {
		/*
		 * A child cloned from a listener in softirq: the current task
		 * is whoever ran; its owner is its listener's, cloned with the
		 * storage (none: the listener predates us and no scan has
		 * met it yet, or no socket storage here).
		 */
		const struct flow_info *o = NULL;

		if (use_sk_storage && btf)
			o = bpf_sk_storage_get(&sk_owners, (void *)sk, 0, 0);
		/* The filters wait for the peer's half of the key where it comes
		 * later (key_awaits_peer). */
		if ((filter_tgid && (!o || o->pid != filter_tgid)) || !is_tcp(sk, btf) ||
		    !flow_key_from_common(&sk->__sk_common, &k, btf) ||
		    (!key_awaits_peer(&k) && !flow_wanted(&k)))
			return 0;
		se = sock_track(sk, &k, TT_SIDE_SERVER, TCP_SYN_RECV, false, btf);
		if (se && o)
			state_own(se, o);
		return 0;
	}

	/*
	 * A socket with state in its storage (every traced connection's
	 * hits after its open): worked on in place, nothing copied out until
	 * a record goes.
	 */
	if (use_sk_storage && btf) {
		se = bpf_sk_storage_get(&sk_states, (void *)sk, 0, 0);
		if (se) {
			state_accepted(sk, se, btf);
			if (!state_key_complete(sk, se, btf) ||
			    (filter_tgid && se->info.pid != filter_tgid))
				return 0;
			sock_moved(sk, &se->key, &se->info, se, oldstate, newstate, btf);
			return 0;
		}
	}
	if (!flow_of_sock_entry(sk, &k, &info, btf, &se))
		return 0;
	if (!se) {
		/* No state to keep it in (refused): its close alone. */
		if (newstate == TCP_CLOSE)
			sock_closed(sk, &k, &info, NULL, oldstate, btf);
		return 0;
	}
	sock_moved(sk, &k, &info, se, oldstate, newstate, btf);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(set_state_btf, const struct sock *sk, int oldstate, int newstate)
{
	return handle_set_state(sk, oldstate, newstate, true);
}

SEC("tracepoint/sock/inet_sock_set_state")
int set_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	return handle_set_state(ctx->skaddr, ctx->oldstate, ctx->newstate, false);
}

static __always_inline int handle_retransmit(const struct sock *sk,
					     const struct sk_buff *skb, int err, bool btf)
{
	const struct tcp_sock *tp = tcp_sk_of(sk, btf);
	const struct inet_connection_sock *icsk;
	struct sock_entry *se;
	struct flow_info info;
	struct flow_key k;
	struct tt_event *ev;
	__u32 mss, seg_len;
	__u8 state, ca_state;

	/*
	 * Kernels that pass the attempt's result (err, 2025) fire for attempts
	 * that sent nothing too (-EBUSY: the segment still sat in a queue
	 * below): no segment left again, no retransmission.
	 */
	if (err || !tp || !flow_of_sock_entry(sk, &k, &info, btf, &se))
		return 0;
	icsk = &tp->inet_conn;
	state = KREAD(btf, sk, __sk_common.skc_state);
	ca_state = btf ? BPF_CORE_READ_BITFIELD(icsk, icsk_ca_state) :
			 BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state);
	mss = KREAD(btf, tp, mss_cache);
	/* skb->len of a write-queue skb is its payload: headers are pushed on a clone. */
	seg_len = skb ? KREAD(btf, skb, len) : 0;
	if (se) {
		se->told = 1;
		/*
		 * A SYN retransmitted: the handshake is in trouble, name the
		 * flow by its key for drops the stack did not match to the
		 * socket. A full-size segment retransmitted by the timer (a
		 * path MTU black hole's mark; tail loss probes and fast
		 * retransmits are not): have TC egress count the data segments
		 * that leave (nic_watching), for as long as it lives.
		 */
		if (state == TCP_SYN_SENT && !se->named && key_complete(&k)) {
			if (bpf_map_update_elem(&flows, &k, &se->info, BPF_ANY) == 0)
				se->named = 1;
			else
				count(CNT_FLOWS_FULL);
		} else if (state != TCP_SYN_SENT && !se->nic_watch && ca_state == 4 /* TCP_CA_Loss */ &&
			   mss && seg_len >= mss - mss / 8) {
			se->nic_watch = 1;
			__sync_fetch_and_add(&nic_watching, 1);
		}
	}
	ev = event_new(&k, EV_RETRANS, &info);
	if (!ev)
		return 0;
	/*
	 * The probe timer's event stays in icsk_pending while its handler
	 * runs (tcp_write_timer_handler clears it only for the RTO and the
	 * zero-window probe): a retransmit then, outside recovery, is a tail
	 * loss probe. RTOs run in CA_LOSS, fast retransmits in CA_RECOVERY.
	 */
	if (ca_state < 3 /* TCP_CA_Recovery */ &&
	    KREAD(btf, icsk, icsk_pending) == 5 /* ICSK_TIME_LOSS_PROBE */)
		ev->flags |= EVF_TLP;
	ev->state = state;
	ev->ca_state = ca_state;
	ev->srtt_us = KREAD(btf, tp, srtt_us) >> 3;
	ev->mss = mss;
	ev->total_retrans = KREAD(btf, tp, total_retrans);
	ev->seg_len = seg_len;
	if (ev->state == TCP_SYN_SENT)
		ev->flags |= EVF_SYN;
	event_submit(ev);
	return 0;
}

/*
 * Two BTF twins: the tracepoint's arguments are (sk, skb) up to v6.17 and
 * (sk, skb, err) since. The verifier refuses a program that reads an
 * argument the kernel does not pass, so userspace loads the one that
 * matches the running kernel's btf_trace_tcp_retransmit_skb (hook_plan.c).
 */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retransmit_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return handle_retransmit(sk, skb, 0, true);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retransmit_err_btf, const struct sock *sk, const struct sk_buff *skb, int err)
{
	return handle_retransmit(sk, skb, err, true);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int retransmit_tp(void *ctx)
{
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb)) {
		struct trace_event_raw_tcp_retransmit_skb *e = ctx;
		int err = 0;

		if (bpf_core_field_exists(e->err))
			err = e->err;
		return handle_retransmit(e->skaddr, e->skbaddr, err, false);
	} else {
		struct trace_event_raw_tcp_event_sk_skb___old *e = ctx;

		return handle_retransmit(e->skaddr, e->skbaddr, 0, false);
	}
}

static __always_inline int handle_retransmit_synack(const struct request_sock *req,
						    bool btf)
{
	struct flow_key k;
	struct tt_event *ev;

	if (filter_tgid || !flow_key_from_common(&req->__req_common, &k, btf) ||
	    !flow_wanted(&k))
		return 0;
	ev = event_new(&k, EV_SYNACK_RETRANS, NULL);
	if (!ev)
		return 0;
	ev->state = TCP_SYN_RECV;
	ev->side = TT_SIDE_SERVER;
	event_submit(ev);
	return 0;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(retransmit_synack_btf, const struct sock *sk,
	     const struct request_sock *req)
{
	return handle_retransmit_synack(req, true);
}

SEC("tracepoint/tcp/tcp_retransmit_synack")
int retransmit_synack_tp(struct trace_event_raw_tcp_retransmit_synack *ctx)
{
	return handle_retransmit_synack(ctx->req, false);
}

/*
 * What a reset cuts off, read from the socket before TCP purges its queues:
 * data the application wrote and TCP never sent, data received and never
 * read, and which way data went last (tcp_reset() fires the receive
 * tracepoint first thing; a reset this host sends leaves the sequence
 * numbers alone until after the send tracepoint).
 */
static __always_inline void read_cut_off(const struct tcp_sock *tp, struct tt_event *ev,
					 bool btf)
{
	__u32 write_seq = KREAD(btf, tp, write_seq), snd_nxt = KREAD(btf, tp, snd_nxt);
	__u32 rcv_nxt = KREAD(btf, tp, rcv_nxt), copied = KREAD(btf, tp, copied_seq);
	__u32 sent = KREAD(btf, tp, lsndtime);
	__u32 rcvd = KREAD(btf, tp, inet_conn.icsk_ack.lrcvtime);

	ev->unsent = (__s32)(write_seq - snd_nxt) > 0 ? write_seq - snd_nxt : 0;
	ev->unread = (__s32)(rcv_nxt - copied) > 0 ? rcv_nxt - copied : 0;
	if ((__s32)(sent - rcvd) > 0)
		ev->last_data = TT_LAST_SENT;
	else if ((__s32)(rcvd - sent) > 0)
		ev->last_data = TT_LAST_RECEIVED;
}

/*
 * tcp_reset() runs for a reset that arrived, and also when this host's own
 * stack aborts: data arriving after the application closed (then the
 * kernel sends a reset of its own right after, TCP_ABORT_ON_DATA).
 * Userspace tells the two apart from what follows.
 */
static __always_inline int handle_receive_reset(const struct sock *sk, bool btf)
{
	const struct tcp_sock *tp = tcp_sk_of(sk, btf);
	struct flow_info info;
	struct flow_key k;
	struct tt_event *ev;

	if (!flow_of_sock(sk, &k, &info, btf))
		return 0;
	ev = event_new(&k, EV_RST_RX, &info);
	if (!ev)
		return 0;
	ev->state = KREAD(btf, sk, __sk_common.skc_state);
	if (tp)
		read_cut_off(tp, ev, btf);
	event_submit(ev);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(receive_reset_btf, const struct sock *sk)
{
	return handle_receive_reset(sk, true);
}

SEC("tracepoint/tcp/tcp_receive_reset")
int receive_reset_tp(struct trace_event_raw_tcp_event_sk *ctx)
{
	return handle_receive_reset(ctx->skaddr, false);
}

/*
 * A reset for a segment no socket owns: name the flow from the segment
 * itself, turned round to this host's point of view (its destination is
 * our address). Bounds: both header offsets come from the kernel's skb.
 */
static __always_inline bool flow_key_from_rx_skb(const struct sk_buff *skb,
						 struct flow_key *k, bool *syn, bool btf)
{
	unsigned char *head = KREAD(btf, skb, head);
	__u16 nh = KREAD(btf, skb, network_header);
	__u16 th = KREAD(btf, skb, transport_header);
	struct tcphdr tcp;
	__u8 version;

	if (bpf_probe_read_kernel(&version, 1, head + nh))
		return false;
	if (bpf_probe_read_kernel(&tcp, sizeof(tcp), head + th))
		return false;
	__builtin_memset(k, 0, sizeof(*k));
	if ((version >> 4) == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return false;
		k->family = AF_INET;
		__builtin_memcpy(k->laddr, &ip.daddr, 4);
		__builtin_memcpy(k->raddr, &ip.saddr, 4);
	} else if ((version >> 4) == 6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return false;
		k->family = AF_INET6;
		__builtin_memcpy(k->laddr, &ip6.daddr, 16);
		__builtin_memcpy(k->raddr, &ip6.saddr, 16);
	} else {
		return false;
	}
	k->lport = bpf_ntohs(tcp.dest);
	k->rport = bpf_ntohs(tcp.source);
	k->netns = btf ? skb->dev->nd_net.net->ns.inum :
			 BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	*syn = tcp.syn && !tcp.ack;
	return true;
}

static __always_inline int handle_send_reset(const struct sock *sk,
					     const struct sk_buff *skb, __u32 reason,
					     bool btf)
{
	struct flow_info info = {};
	const struct tcp_sock *tp = NULL;
	struct flow_key k;
	struct tt_event *ev;
	bool syn = false, mini = false;
	__u8 state = 0;

	if (sk) {
		state = KREAD(btf, sk, __sk_common.skc_state);
		/*
		 * A TIME_WAIT (or request) mini socket answering a stray
		 * segment: the connection it stands for is over, and the
		 * socket is no full one to adopt. Named, not tracked.
		 */
		mini = state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV;
		if (mini) {
			if (filter_tgid || !flow_key_from_common(&sk->__sk_common, &k, btf) ||
			    !flow_wanted(&k))
				return 0;
		} else if (!flow_of_sock(sk, &k, &info, btf)) {
			return 0;
		} else {
			tp = tcp_sk_of(sk, btf);
		}
	} else if (filter_tgid || !skb || !flow_key_from_rx_skb(skb, &k, &syn, btf) ||
		   !flow_wanted(&k)) {
		return 0;
	}
	ev = event_new(&k, EV_RST_TX, &info);
	if (!ev)
		return 0;
	ev->reason = reason;
	ev->state = state;
	if (!sk || mini)
		ev->flags |= EVF_NO_SOCKET;
	if (!sk)
		ev->side = TT_SIDE_SERVER;
	if (tp)
		read_cut_off(tp, ev, btf);
	if (syn)
		ev->flags |= EVF_SYN;
	if (skb)
		ev->flags |= EVF_RST_REPLY;
	event_submit(ev);
	return 0;
}

/*
 * Two BTF twins again: (sk, skb) up to v6.9, (sk, skb, reason) since v6.10
 * (commit 5cb2cb3cb271). Without the reason, 0: "not given by the kernel".
 */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(send_reset_btf, const struct sock *sk, const struct sk_buff *skb)
{
	return handle_send_reset(sk, skb, 0, true);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(send_reset_reason_btf, const struct sock *sk, const struct sk_buff *skb,
	     int reason)
{
	return handle_send_reset(sk, skb, reason, true);
}

SEC("tracepoint/tcp/tcp_send_reset")
int send_reset_tp(void *ctx)
{
	if (bpf_core_type_exists(struct trace_event_raw_tcp_send_reset)) {
		struct trace_event_raw_tcp_send_reset *e = ctx;

		return handle_send_reset(e->skaddr, e->skbaddr, e->reason, false);
	} else {
		struct trace_event_raw_tcp_event_sk_skb___old *e = ctx;

		return handle_send_reset(e->skaddr, e->skbaddr, 0, false);
	}
}

static __always_inline int emit_sk_error(const struct flow_key *k,
					 const struct flow_info *info, int err, int state)
{
	struct tt_event *ev;

	if (!err)
		return 0;
	ev = event_new(k, EV_SK_ERROR, info);
	if (!ev)
		return 0;
	ev->err = err;
	ev->state = state;
	event_submit(ev);
	return 0;
}

SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(sk_error_btf, const struct sock *sk)
{
	struct flow_info info;
	struct flow_key k;

	if (!is_tcp(sk, true) || !flow_of_sock(sk, &k, &info, true))
		return 0;
	return emit_sk_error(&k, &info, sk->sk_err, sk->__sk_common.skc_state);
}

/*
 * The classic event carries no socket pointer, hence no namespace: name the
 * flow in the traced namespace and speak only for flows we saw open there.
 */
SEC("tracepoint/sock/inet_sk_error_report")
int sk_error_tp(struct trace_event_raw_inet_sk_error_report *ctx)
{
	struct flow_info *info;
	struct flow_key k = {};

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	k.netns = filter_netns;
	k.family = ctx->family;
	k.lport = ctx->sport;
	k.rport = ctx->dport;
	/* The verifier allows only fixed-offset context loads: copy by helper. */
	if (ctx->family == AF_INET) {
		bpf_probe_read_kernel(k.laddr, 4, ctx->saddr);
		bpf_probe_read_kernel(k.raddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(k.laddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(k.raddr, 16, ctx->daddr_v6);
	}
	info = bpf_map_lookup_elem(&flows, &k);
	if (!info || !flow_wanted(&k))
		return 0;
	return emit_sk_error(&k, info, ctx->error, 0);
}
