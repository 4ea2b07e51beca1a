/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The facts the engine keeps: per flow, what its events, socket snapshots
 * and NIC records added up to; per listening port, its accept queue. The
 * facts modules (facts_event.c, facts_scan.c) write them, the judges read
 * them. A fact knows no threshold: the numbers here are counts, times and
 * states, and the helpers below derive more of the same.
 */
#ifndef TCPTRACE_FACTS_H
#define TCPTRACE_FACTS_H

#include <stdbool.h>
#include <linux/types.h>
#include "events.h"
#include "nic.h"

#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL

enum flow_flag {
	FF_ESTABLISHED	= 1 << 0,  /* the handshake completed at some point */
	FF_CLOSED	= 1 << 1,  /* went to CLOSE: lingering */
	FF_START_KNOWN	= 1 << 2,  /* start_ns is the open we saw, not first sight */
	FF_SCANNED	= 1 << 3,  /* at least one snapshot */
	FF_RST_RX	= 1 << 4,  /* the peer reset us */
	FF_RST_TX	= 1 << 5,  /* we reset it, from a socket */
	FF_PORT_CLOSED	= 1 << 6,  /* a SYN to a port with no socket, answered by RST */
	FF_PID_PROC	= 1 << 7,  /* pid/comm came from process context */
	FF_TOTALS	= 1 << 8,  /* the close event carried the socket's totals */
	FF_ACKED_AFTER_RETRANS = 1 << 9, /* snd_una advanced after a retransmit: not a black hole */
	FF_ABORT_LOCAL	= 1 << 10, /* the "received" reset was this host's own abort (data after close) */
	FF_RST_CUT	= 1 << 11, /* rst_unsent/unread/last_data were read as the reset happened */
	FF_ONE_WAY_OUT	= 1 << 12, /* we write again without waiting for an answer */
	FF_ONE_WAY_IN	= 1 << 13, /* the peer writes again without waiting for ours */
	/* Closed by an exiting process (exit_pid): its files closed for it. */
	FF_EXIT_CLOSED	= 1 << 14,
	/* The other end, on this host too, was closed so (exit_pid is its). */
	FF_PEER_EXIT_CLOSED = 1 << 15,
};

/*
 * Who speaks next in a request/response exchange: from the socket's own
 * clocks (who sent data last), or where a snapshot has none, from what
 * changed since the one before.
 */
enum flow_turn {
	TURN_NONE = 0,	/* nothing outstanding, or who spoke last is not known */
	TURN_PEER,	/* we sent last: the peer owes an answer */
	TURN_LOCAL,	/* the peer sent last: our application owes one */
};

/* An application that stopped waiting for an answer and closed. */
enum flow_gave_up {
	GAVE_UP_NONE = 0,
	GAVE_UP_LOCAL,	/* ours closed with its request unanswered (a client) */
	GAVE_UP_PEER,	/* the peer closed with its request unanswered here */
};

struct flow {
	__u64 start_ns;		/* the open, or the first time we saw the flow */
	__u64 closed_ns;
	__u64 updated_ns;	/* last event or snapshot */
	__u64 rst_ns;		/* first reset, either direction */
	__u32 pid;
	char comm[TT_COMM_LEN];
	__u32 flags;		/* enum flow_flag */
	__u32 reported;		/* one bit per diag_code already raised */
	__u32 reported_final;	/* ... and raised again at its end (judge_final) */
	__u32 scan_gen;		/* the scan that last reported it, or vouched for it */
	__u32 report_gen;	/* the scan whose record of it is the latest */
	__u8 side;		/* enum tt_side; UNKNOWN: judged from listeners */
	__u8 state;		/* latest known TCP state */
	__u8 close_from;	/* the state it closed from */
	__u8 rst_rx_state;	/* our state when the peer's RST arrived */
	__u8 turn;		/* enum flow_turn */
	__u8 scans_missed;
	__u8 probes_out;
	__u8 _pad;
	__u16 syn_retrans;
	__u16 synack_retrans;
	__u16 rst_rx;
	__u16 rst_tx;
	__u32 rst_reason;	/* enum sk_rst_reason of our RST */
	/* What the first reset cut off (FF_RST_CUT): bytes written and never
	 * sent, received and never read, and who spoke last (enum tt_last_data). */
	__u32 rst_unsent, rst_unread;
	__u8 rst_last_data;
	__u8 rst_state;		/* our state when the first reset happened */
	/* Request/response or one-way, from one snapshot to the next: a write
	 * again while the peer owed an answer, or an answer (saturating). */
	__u8 out_unanswered, out_answers;	/* our writes */
	__u8 in_unanswered, in_answers;		/* the peer's */
	__u8 _pad2[2];
	__u32 client_syns;	/* FF_PORT_CLOSED: SYNs refused from this client address lately */
	__s32 app_error;	/* positive errno the application saw */
	__u32 syns_refused;	/* FF_PORT_CLOSED: SYNs answered by RST */
	__u32 retrans;		/* non-SYN retransmits seen as events */
	__u32 rto_retrans;	/* ... sent in CA_LOSS: a timeout fired */
	__u32 fast_retrans;	/* ... sent in CA_RECOVERY: duplicate ACKs/SACK */
	__u32 tlp_retrans;	/* ... tail loss probes (EVF_TLP) */
	__u32 dsack_dups;	/* retransmits the peer already had (DSACK): spurious */
	__u32 srtt_peak_us;	/* the highest srtt a snapshot showed */
	__u32 srtt_sends;	/* snapshots that found data sent since the one before */
	__u64 srtt_sum_us;	/* ... and the sum of their srtt */
	__u32 ev_srtt_us;	/* srtt at the latest event */

	/* The latest snapshot. */
	__u32 snd_una, snd_nxt, write_seq;
	__u32 rcv_nxt, copied_seq;
	__u32 snd_wnd, rcv_wnd;
	__u32 srtt_us, min_rtt_us;
	__u32 total_retrans, data_segs_out;
	__u64 bytes_sent, bytes_received;

	/* Derived from the socket clocks, or from one snapshot to the next. */
	__u64 last_scan_ns;
	__u64 last_send_ns;	/* our latest data left (lsndtime) */
	__u64 last_recv_ns;	/* the peer's latest data arrived (lrcvtime) */
	__u64 last_ack_ns;	/* the peer's latest ACK (rcv_tstamp); 0: not known */
	__u64 unread_since_ns;	/* data waiting and copied_seq still; 0: none */
	__u64 zero_wnd_since_ns;/* snd_wnd == 0 since; 0: open window */
	__u64 turn_bytes;	/* bytes of the current turn (request size) */
	/* Bytes each side sent since the other last did; when both spoke
	 * within one interval, the interval's mean per segment. */
	__u32 tx_since_rx, rx_since_tx;
	bool turn_bytes_mean;	/* turn_bytes is such a mean */

	/* Retransmission timeouts in a row with nothing acknowledged, and
	 * when the kernel gives up (the latest snapshot). */
	__u8 rto_count;		/* icsk_retransmits */
	__u8 retries2;		/* the namespace's tcp_retries2 */
	/* An application gave up on a pending request (enum flow_gave_up). */
	__u8 gave_up;
	__u32 rto_ms;
	__u32 user_timeout_ms;	/* TCP_USER_TIMEOUT, 0: none */
	__u32 rto_max_ms;
	__u32 rcv_ooopack;	/* segments that arrived after a gap */
	/* Retransmits and data segments when the peer last acknowledged
	 * something new: the loss the path showed while it still worked. */
	__u32 retrans_at_progress, segs_at_progress;
	__u64 rtx_start_ns;	/* the oldest unacked retransmitted segment first left */
	__u64 app_error_ns;	/* when the application's error came */

	/* The application that gave up: when, after how long, on what. */
	__u64 gave_up_ns;	/* it closed (ours), or its FIN arrived (the peer's) */
	__u64 late_answer_ns;	/* the answer came (to a client) or left (a server) after; 0: not seen */
	__u32 gave_up_waited_ms;/* from the request to then */
	__u32 gave_up_bytes;	/* the request */

	/* For the conn record. */
	__u64 cgroup_id;
	__u64 established_ns;
	__u64 last_conn_ns;	/* the last periodic record */
	__u64 bytes_acked;	/* raw tcpi_bytes_acked: see flow_data_acked() */
	__u32 segs_out, segs_in, data_segs_in;
	__u8 n_states;
	__u8 states[8];		/* the state path; the last slot keeps the latest */

	/* Segments this host's own stack dropped (significant reasons only). */
	__u32 drops_in, drops_out;
	__u32 syn_drops;	/* of them SYNs or SYN-ACKs: the handshake */
	__u32 drop_reason;	/* the latest */
	__u8 drop_class;	/* enum drop_class of the latest */
	/* Segments a queueing discipline here dropped (congestion): loss
	 * evidence, a fault of this host only when it persists. */
	__u32 qdisc_drops;
	__u32 qdisc_reason;	/* the latest one's drop reason */
	__u64 qdisc_first_ns, qdisc_last_ns;

	/* The NIC's view of the flow (the latest nic_flows record). */
	bool nic_seen;
	bool nat_mismatch;	/* our SYN's answer came from nat_raddr:nat_rport */
	__u32 nic_syn_out, nic_synack_in, nic_rst_in, nic_pkts_in;
	__u32 nic_max_seg_out;
	__u32 icmp[NIC_ICMP_KINDS];
	__u32 icmp_mtu;
	__s32 icmp_after_ms;	/* the latest ICMP error, after our first SYN left; -1: not known */
	__u8 icmp_from[16];	/* the router that sent the latest ICMP error */
	__u8 nat_raddr[16];
	__u16 nat_rport;
	__u32 nat_synacks;
	/* Retransmits of full-size segments vs small ones: a path MTU
	 * black hole passes the small and swallows the full-size. */
	__u32 retrans_full, retrans_small;
	/* ... and since the peer last acknowledged anything new (RTO only for
	 * the full-size): a black hole is all of them, in a row. */
	__u32 stuck_rto_full, stuck_small;
	__u32 mss;
	__u64 una_stuck_since_ns;	/* data in flight and snd_una still since */

	/* The process whose exit closed it (FF_EXIT_CLOSED), or closed the
	 * other end (FF_PEER_EXIT_CLOSED), and when: PROCESS_KILLED's link. */
	__u32 exit_pid;
	__u64 exit_close_ns;
};

/*
 * A process that closed connections as it exited, or died by a signal,
 * or was chosen by the OOM killer: what PROCESS_KILLED is made of. The
 * records of one death may come in either order (the kernel closes the
 * files after the exit tracepoint, but that is not relied on).
 */
#define DEATH_PEERS	4

struct death_peer {
	__u16 family;
	__u8 addr[16];
	__u32 conns;
};

struct death {
	__u32 pid;
	char comm[TT_COMM_LEN];
	__u64 cgroup_id;
	__u32 netns;
	__u64 first_ns, last_ns;	/* its first and latest record */
	__u64 exit_ns;		/* the signalled exit; 0: none seen */
	__u64 oom_ns;		/* the OOM killer chose it; 0: not */
	__s32 signal;		/* what ended it; 0: no signal seen */
	__u32 exit_code;
	__u32 conns;		/* connections its exit closed */
	__u32 resets;		/* ... with an abort (data unread: RST) */
	__u32 unread_bytes, unsent_bytes;
	__u32 servers;		/* ... of them server ends */
	struct flow_key first_key;	/* the first one, to name the diagnosis by */
	__u8 first_side;
	bool raised;		/* PROCESS_KILLED said */
	unsigned int n_peers;
	struct death_peer peers[DEATH_PEERS];
	__u32 peers_other;	/* connections to peers beyond the list */
};

/* The death ended by a signal (OOM included), and is known to have. */
static inline bool death_killed(const struct death *dd)
{
	return dd && dd->exit_ns && dd->signal;
}

/* A listening port in a network namespace: tells the server end of a flow
 * whose open we did not see. Wildcard and specific binds alike. */
struct listen_key {
	__u32 netns;
	__u16 port;
	__u16 _pad;
};

struct listener {
	__u32 scan_gen;
	__u32 ack_backlog;	/* connections waiting for accept() */
	__u32 max_ack_backlog;
	__u32 overflow_drops;	/* handshakes dropped for a full queue */
	__u32 full_scans;	/* consecutive scans that found the queue full */
	__u32 synack_retrans;	/* handshakes on this port that did not complete */
	__u32 sk_drops;		/* the listener's drop count at the last scan */
	bool drops_known;
	bool reported;		/* LISTEN_OVERFLOW raised (once a fold window) */
	/* Who listens, from the scan; pid 0 when unknown, or when listeners
	 * of different processes share the port (SO_REUSEPORT). */
	__u32 pid;
	char comm[TT_COMM_LEN];
	__u64 cgroup_id;
	__u64 reported_ns;
	struct flow_key key;	/* laddr:lport of the listener, for the diagnosis */
};

/* Sequence numbers wrap at 2^32: a is after b when the signed distance is
 * positive (RFC 1982 serial arithmetic, as the kernel's before()/after()). */
static inline bool seq_after(__u32 a, __u32 b)
{
	return (__s32)(a - b) > 0;
}

/* Bytes from b up to a, 0 unless a is after b. */
static inline __u32 seq_span(__u32 a, __u32 b)
{
	return seq_after(a, b) ? a - b : 0;
}

/* Durations from a start that may be after the end (out-of-order clocks
 * across CPUs are possible in a ring buffer): never negative. */
static inline __u64 elapsed(__u64 from, __u64 to)
{
	return to > from ? to - from : 0;
}

/* States only reached after the three-way handshake completed. */
bool state_synchronized(__u8 state);
/* States in which we may still hold data the peer has not accepted. */
bool state_may_send(__u8 state);
/* States whose rcv_nxt counts the peer's FIN (one sequence number). */
bool state_fin_received(__u8 state);

/* Still connecting, or closed while connecting: never synchronized. */
bool flow_in_syn_phase(const struct flow *f);
/* ICMP errors that end a connect: every kind but the MTU ones. */
__u32 flow_icmp_unreach(const struct flow *f);
/* The connect ended on an ICMP error the NIC did not show us (no hooks). */
bool flow_app_error_unreachable(const struct flow *f);
/* Data bytes the peer acknowledged, and received in order (no SYN, no FIN). */
__u64 flow_data_acked(const struct flow *f);
__u64 flow_data_received(const struct flow *f);
/* Bytes received and not read by the application (a FIN is no byte). */
__u32 flow_unread(const struct flow *f);
/* This host's own stack refused the flow's segments (a filter, no route). */
bool flow_dropped_here(const struct flow *f);
/*
 * Our SYN got an answer, or this host's stack says why not: a reset, an
 * ICMP error, a SYN-ACK (seen at the NIC, or from the wrong address), a
 * local drop.
 */
bool flow_syn_answered(const struct flow *f);
/* The close, or now while it is open. */
__u64 flow_end(const struct flow *f, __u64 now);
/*
 * The reset that tcp_receive_reset reported was this host's own abort, not
 * the peer's: the socket sent one of its own right after (data arriving
 * after the application closed), or the NIC, which watches the flow's
 * arrivals, saw no RST come in.
 */
bool flow_reset_ours(const struct flow *f, bool nic_ingress);
/*
 * When the connection was reset, a request was pending: the client had
 * spoken last and waited for the answer, or the server owed one.
 */
bool flow_reset_request_pending(const struct flow *f, enum tt_side side);
/* Queueing-discipline drops here that lasted: a bottleneck, not a burst. */
bool flow_qdisc_drops_persist(const struct flow *f, __u32 min_drops, __u64 span_ns);

/* A service endpoint (the server end of its flows), and what its flows
 * taught: whether its clients send without waiting for answers. */
struct endpoint_key {
	__u32 netns;
	__u16 family;
	__u16 port;
	__u8 local;		/* the service is this host's */
	__u8 _pad[3];
	__u8 addr[16];
};

struct endpoint {
	__u32 one_way_flows;	/* flows whose client wrote on, unanswered */
	__u32 answered_flows;	/* flows that got answers */
};

/* Clients of this endpoint send one way: judged from its other flows. */
static inline bool endpoint_one_way(const struct endpoint *ep)
{
	return ep && ep->one_way_flows && !ep->answered_flows;
}

/* A closed port and one client address: how often it was refused lately. */
struct refusal_key {
	__u32 netns;
	__u16 family;
	__u16 lport;
	__u8 laddr[16];
	__u8 raddr[16];
};

struct refusal {
	__u32 syns;
	__u64 last_ns;
};

/*
 * How long after its first unacknowledged retransmission the kernel gives
 * up on the connection (ETIMEDOUT): TCP_USER_TIMEOUT, or the time
 * tcp_retries2 exponentially backed-off timeouts take from the minimum RTO
 * (tcp_model_timeout). 0: not known (no snapshot).
 */
__u64 flow_kernel_timeout_ms(const struct flow *f);

#endif /* TCPTRACE_FACTS_H */
