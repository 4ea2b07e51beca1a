// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A snapshot of every TCP socket, taken each interval through iter/tcp.
 * Absence leaves no event: a request never answered, a window that stays
 * shut, a queue nobody drains are seen by comparing snapshots.
 */
#include "tcptrace.bpf.h"
#include "sock_track.bpf.h"

/*
 * A connection the kernel side keeps state for and nothing has named yet
 * (a healthy one sends its only record at CLOSE): a scan that meets it
 * tells its story so far, so that a long-lived connection has its owner
 * and its start within an interval. Each once.
 */
static __always_inline void announce(const struct sock *sk, struct sock_entry *se,
				     __u8 state)
{
	struct tt_event *ev;

	/*
	 * The reader is busy reading this very scan and cannot drain the ring
	 * meanwhile: a scan that meets 100k new connections would fill it and
	 * lose the rest. Past half full, the others wait for the next scan.
	 */
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > RINGBUF_BYTES / 2)
		return;
	se->told = 1;
	if (se->unwanted || !key_complete(&se->key))
		return;
	ev = summary_new(&se->key, se, se->n_path > 1 ? se->path[(se->n_path - 2) & 7] : 0,
			 state);
	if (!ev)
		return;
	/*
	 * No wakeup: the reader takes the ring right after the scan, and a
	 * forced wakeup a record (event_submit's, past 1/16 full) is an
	 * interrupt each, 100k of them when the scan meets 100k new flows.
	 */
	count(CNT_EVENTS);
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

/*
 * What decides when the kernel gives up on unacknowledged data: the
 * namespace's tcp_retries2, or the socket's TCP_USER_TIMEOUT, counted
 * from retrans_stamp (tcp_write_timeout, retransmits_timed_out).
 */
static __always_inline void read_give_up(const struct sock_common *skc,
					 const struct tcp_sock *tp,
					 struct tt_sock_scan *rec)
{
	const struct inet_connection_sock *icsk = &tp->inet_conn;
	__u32 stamp, now;

	rec->user_timeout_ms = icsk->icsk_user_timeout;
	/* A per-socket RTO ceiling (TCP_RTO_MAX_MS) came after v6.12. */
	if (bpf_core_field_exists(icsk->icsk_rto_max))
		rec->rto_max_jiffies = BPF_CORE_READ(icsk, icsk_rto_max);
	rec->retries2 = BPF_CORE_READ(skc, skc_net.net, ipv4.sysctl_tcp_retries2);
	stamp = tp->retrans_stamp;
	if (!stamp || !rec->retransmits)
		return;
	/* retrans_stamp is on TCP's own clock: CLOCK_MONOTONIC in ms, or in
	 * us on a connection with usec timestamps (tcp_usec_ts, v6.7). */
	if (bpf_core_field_exists(tp->tcp_usec_ts) &&
	    BPF_CORE_READ_BITFIELD(tp, tcp_usec_ts)) {
		now = bpf_ktime_get_ns() / 1000;
		rec->rtx_elapsed_ms = (now - stamp) / 1000;
	} else {
		now = bpf_ktime_get_ns() / 1000000;
		rec->rtx_elapsed_ms = now - stamp;
	}
	/* a zero would read as none */
	if (!rec->rtx_elapsed_ms)
		rec->rtx_elapsed_ms = 1;
}

static __always_inline void scan_owner(struct tt_sock_scan *rec, const struct flow_info *o)
{
	rec->pid = o->pid;
	rec->cgroup_id = o->cgroup_id;
	__builtin_memcpy(rec->comm, o->comm, sizeof(rec->comm));
}

/*
 * A listener's owner: who listen()ed while we ran, or who held it at
 * start. The latter is put in its storage the first time a scan meets
 * it, so that the children it makes from then on inherit it.
 */
static __always_inline const struct flow_info *listener_owner(const struct sock *sk)
{
	const struct flow_info *io;
	struct flow_info *o;

	if (!use_sk_storage)
		return inode_owner(sk);
	o = bpf_sk_storage_get(&sk_owners, (void *)sk, 0, 0);
	if (o)
		return o;
	io = inode_owner(sk);
	if (!io)
		return NULL;
	o = bpf_sk_storage_get(&sk_owners, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (o)
		*o = *io;
	return io;
}

/*
 * Userspace numbers its scan rounds (every namespace's walk in one round
 * has the same number) and reads how many sockets each round left out.
 */
volatile __u32 scan_round = 0;
/* Report every socket of this walk: userspace could not hold the flows
 * the last round left out (its walk failed, or it did not walk there). */
volatile __u32 scan_full = 0;
volatile __u64 scan_unchanged = 0;

/*
 * A digest of what a record says, less what changes without the socket
 * doing anything: the tick count it was read at (and the time since its
 * retransmit, read after the digest with the rest of read_give_up(): its
 * start, retrans_stamp, moves with retransmits and total_retrans, which
 * are in the digest, and userspace keeps that start).
 * FNV-1a over 32-bit words, folded to 32 bits: a change it misses (one in
 * 2^32) is seen SCAN_QUIET_ROUNDS rounds later at most.
 */
static __always_inline __u32 scan_digest(const struct tt_sock_scan *rec)
{
	const __u32 *w = (const __u32 *)rec;
	__u64 h = 0xcbf29ce484222325ULL;
	__u32 skip1 = offsetof(struct tt_sock_scan, now_jiffies) / 4;
	__u32 skip2 = offsetof(struct tt_sock_scan, rtx_elapsed_ms) / 4;

#pragma unroll
	for (__u32 i = 0; i < sizeof(*rec) / 4; i++) {
		if (i == skip1 || i == skip2)
			continue;
		h ^= w[i];
		h *= 0x100000001b3ULL;
	}
	return (__u32)(h ^ (h >> 32));
}

/*
 * Most sockets of a busy host sit idle (pools, keep-alive): a record of
 * one that says what its last one said teaches userspace nothing, and
 * 100k of them a second cost more than all else the tracer does. Such a
 * socket is left out, and counted, unless SCAN_QUIET_ROUNDS rounds went
 * by since its last record. Sockets the kernel side keeps no state for
 * (there before the tracer, and not yet met by an event) always go out.
 */
static __always_inline bool scan_unchanged_since(struct sock_entry *se,
						 const struct tt_sock_scan *rec)
{
	__u32 d = scan_digest(rec);
	__u16 round = scan_round;

	/*
	 * Met again in the same round: a record that did not fit the read's
	 * buffer can be dropped and its socket shown again at the next
	 * read() (bpf_seq_read): the second record must go out too.
	 */
	if (!scan_full && se->scan_digest == d && se->scan_round &&
	    se->scan_round != round &&
	    (__u16)(round - se->scan_round) < SCAN_QUIET_ROUNDS) {
		__sync_fetch_and_add(&scan_unchanged, 1);
		return true;
	}
	se->scan_digest = d;
	se->scan_round = round;
	return false;
}

SEC("iter/tcp")
int sock_scan(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct seq_file *seq = ctx->meta->seq;
	struct tt_sock_scan rec = {};
	struct sock_entry *se = NULL;
	const struct inet_connection_sock *icsk;
	struct tcp_sock *tp;
	__u8 state;

	if (!skc)
		return 0;
	state = skc->skc_state;
	/* Request and timewait minisocks have no queues or windows to read. */
	if (state == TCP_NEW_SYN_RECV || state == TCP_TIME_WAIT)
		return 0;
	if (!flow_key_from_common(skc, &rec.key, true) || !flow_wanted(&rec.key))
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	if (state != TCP_LISTEN) {
		const struct sock *sk = &tp->inet_conn.icsk_inet.sk;
		const struct flow_info *o;

		se = state_of(sk, true);

		/* By address, an entry of another socket once at this address. */
		if (se && !use_sk_storage && !key_eq(&se->key, &rec.key))
			se = NULL;
		if (se)
			state_accepted(sk, se, true);
		o = se && (se->info.pid || se->info.cgroup_id) ? &se->info : inode_owner(sk);
		/* Sockets carry no owner: keep those we know that process holds. */
		if (filter_tgid && (!o || o->pid != filter_tgid))
			return 0;
		if (o)
			scan_owner(&rec, o);
		if (se && !se->told)
			announce(sk, se, state);
	} else {
		const struct sock *sk = &tp->inet_conn.icsk_inet.sk;
		const struct flow_info *o = listener_owner(sk);

		if (filter_tgid && (!o || o->pid != filter_tgid))
			return 0;
		if (o)
			scan_owner(&rec, o);
	}
	icsk = &tp->inet_conn;
	rec.state = state;
	rec.uid = ctx->uid;
	if (state == TCP_LISTEN) {
		struct sock *sk = &tp->inet_conn.icsk_inet.sk;

		rec.ack_backlog = sk->sk_ack_backlog;
		rec.max_ack_backlog = sk->sk_max_ack_backlog;
		/* tcp_listendrop() counts every SYN or handshake the listener
		 * dropped, a full accept queue first among them. */
		rec.sk_drops = BPF_CORE_READ(sk, sk_drops.counter);
		/* Per-NUMA drop counters arrived with v6.17 (commit c51613fa276f);
		 * TCP listeners do not use them today, but count them if set. */
		if (bpf_core_field_exists(sk->sk_drop_counters)) {
			struct numa_drop_counters *nd = BPF_CORE_READ(sk, sk_drop_counters);

			if (nd)
				rec.sk_drops += BPF_CORE_READ(nd, drops0.counter) +
						BPF_CORE_READ(nd, drops1.counter);
		}
		rec.ino = sock_ino(sk);
		goto out;
	}
	rec.ca_state = BPF_CORE_READ_BITFIELD(icsk, icsk_ca_state);
	rec.probes_out = icsk->icsk_probes_out;
	rec.backoff = icsk->icsk_backoff;
	rec.snd_una = tp->snd_una;
	rec.snd_nxt = tp->snd_nxt;
	rec.write_seq = tp->write_seq;
	rec.rcv_nxt = tp->rcv_nxt;
	rec.copied_seq = tp->copied_seq;
	rec.snd_wnd = tp->snd_wnd;
	rec.rcv_wnd = tp->rcv_wnd;
	rec.srtt_us = tp->srtt_us >> 3;
	rec.min_rtt_us = tp->rtt_min.s[0].v;
	rec.mss = tp->mss_cache;
	rec.total_retrans = tp->total_retrans;
	rec.retrans_out = tp->retrans_out;
	rec.packets_out = tp->packets_out;
	rec.lost_out = tp->lost_out;
	rec.segs_in = tp->segs_in;
	rec.segs_out = tp->segs_out;
	rec.data_segs_in = tp->data_segs_in;
	rec.data_segs_out = tp->data_segs_out;
	rec.bytes_acked = tp->bytes_acked;
	rec.bytes_received = tp->bytes_received;
	if (bpf_core_field_exists(tp->bytes_sent))	/* v5.5, commit ba113c3aa79a */
		rec.bytes_sent = tp->bytes_sent;
	rec.now_jiffies = bpf_jiffies64();
	rec.lsndtime = tp->lsndtime;
	rec.lrcvtime = icsk->icsk_ack.lrcvtime;
	rec.rcv_tstamp = tp->rcv_tstamp;
	rec.rto_jiffies = icsk->icsk_rto;
	rec.retransmits = icsk->icsk_retransmits;
	rec.rcv_ooopack = tp->rcv_ooopack;
	/* DSACKs the peer sent: retransmits it already had (spurious). */
	if (bpf_core_field_exists(tp->dsack_dups))
		rec.dsack_dups = tp->dsack_dups;
	rec.delivered = tp->delivered;
	rec.bytes_retrans = tp->bytes_retrans;
	rec.snd_wl1 = tp->snd_wl1;
	rec.rcv_mss = icsk->icsk_ack.rcv_mss;
	/*
	 * What follows is read through pointer chains (the inode: socket,
	 * file, inode, three cache misses; the namespace's sysctl) and
	 * changes only when someone configures it: it stays out of the
	 * digest, and an idle socket is spared reading it. A change there
	 * alone goes out with the next record, SCAN_QUIET_ROUNDS rounds
	 * later at most.
	 */
	if (se && scan_unchanged_since(se, &rec))
		return 0;
	rec.ino = sock_ino(&tp->inet_conn.icsk_inet.sk);
	read_give_up(skc, tp, &rec);
out:
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
