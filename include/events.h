/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Rare per-connection events, sent from the kernel through the ring buffer. */
#ifndef TCPTRACE_EVENTS_H
#define TCPTRACE_EVENTS_H

#include "flow.h"

#define TT_COMM_LEN 16

enum tt_event_type {
	EV_STATE = 1,		/* inet_sock_set_state: old_state -> state */
	EV_RETRANS,		/* tcp_retransmit_skb (a SYN when state is SYN_SENT) */
	EV_SYNACK_RETRANS,	/* tcp_retransmit_synack: our SYN-ACK got no ACK */
	EV_RST_RX,		/* tcp_receive_reset: the peer reset us */
	EV_RST_TX,		/* tcp_send_reset: this host sent a reset */
	EV_SK_ERROR,		/* inet_sk_error_report: the error the app sees */
	EV_CONNECT_ERR,		/* connect() failed before TCP's state machine ran */
	EV_DROP,		/* this host's stack dropped a segment of the flow: reason */
	/*
	 * A process's death, for PROCESS_KILLED. No flow: key holds the
	 * process's network namespace alone (0: not known); pid, comm and
	 * cgroup_id name the process.
	 */
	EV_PROC_EXIT,		/* a thread group ended by a signal: err the signal, reason the exit code */
	EV_OOM_VICTIM,		/* the OOM killer chose this process (oom:mark_victim) */
	/*
	 * A connection closed (FIN or abort) by a task that is exiting: its
	 * files are being closed for it (do_exit). pid, comm and cgroup_id
	 * are that task's, not the flow's recorded owner; unsent and unread
	 * what the close found in its queues.
	 */
	EV_EXIT_CLOSE,
	EV_TYPE_MAX,
};

/* TCP header flag bits, as in the header's 13th byte. */
#define TT_TCP_FIN	0x01
#define TT_TCP_SYN	0x02
#define TT_TCP_RST	0x04
#define TT_TCP_PSH	0x08
#define TT_TCP_ACK	0x10

/*
 * Which way data went last on a connection, from the socket's own clocks
 * (the last data segment sent, the last received), which tick in jiffies:
 * both within one tick is a tie, and says nothing.
 */
enum tt_last_data {
	TT_LAST_UNKNOWN = 0,	/* a tie, or not read */
	TT_LAST_SENT,		/* this host spoke last */
	TT_LAST_RECEIVED,	/* the peer spoke last */
};

/*
 * The kernel's reasons for a reset this host sent (enum sk_rst_reason,
 * EV_RST_TX's reason, from 6.10; the same values in every kernel since):
 * those the engine tells apart.
 */
enum tt_rst_reason {
	TT_RST_NOT_GIVEN = 0,
	TT_RST_ABORT_ON_DATA = 8,	/* data arrived after the application closed */
	TT_RST_TIMEWAIT_SOCKET = 9,	/* a TIME_WAIT socket answered a stray segment */
	TT_RST_ABORT_ON_CLOSE = 11,	/* closed with data unread */
	TT_RST_ABORT_ON_LINGER = 12,	/* an orphan's FIN_WAIT2 ran out (linger2) */
	TT_RST_ABORT_ON_MEMORY = 13,	/* too many orphans, or tcp_mem */
	TT_RST_TCP_STATE = 14,		/* an abortive close (SO_LINGER 0) or disconnect */
	TT_RST_KEEPALIVE_TIMEOUT = 15,	/* keepalive probes went unanswered */
	TT_RST_DISCONNECT_WITH_DATA = 16,	/* a disconnect with data unsent */
};

enum tt_event_flags {
	EVF_NO_SOCKET	= 1 << 0, /* RST sent for a segment no socket owned */
	EVF_SYN		= 1 << 1, /* the segment concerned carried SYN */
	EVF_PROC	= 1 << 2, /* pid/comm are the current task (process context) */
	EVF_INBOUND	= 1 << 3, /* EV_DROP: the segment was arriving (else leaving) */
	/*
	 * EV_STATE: a connection's story in one record (start_ns,
	 * established_ns, path). To CLOSE: the whole connection, the only
	 * record a healthy one sends. To another state: the story so far, of
	 * a connection the socket scan met before anything else named it.
	 * The reader turns it into the open, established and close events it
	 * stands for (see source_live.c).
	 */
	EVF_SUMMARY	= 1 << 4,
	/*
	 * EV_RETRANS: a tail loss probe (the probe timer sent it, outside
	 * recovery): the last segment sent again to draw an ACK, not a
	 * segment known lost.
	 */
	EVF_TLP		= 1 << 5,
	/*
	 * EV_RST_TX: the reset answers a segment that arrived (the stack's
	 * reply, tcp_v{4,6}_send_reset); without it the socket sent its own
	 * (tcp_send_active_reset: a close with data unread or SO_LINGER 0,
	 * an abort). What the reason says from 6.10, on every kernel.
	 */
	EVF_RST_REPLY	= 1 << 6,
};

/*
 * One fixed-size record for every event type, so a recording is a flat
 * array and replay needs no per-type framing. Fields that an event type
 * does not use are zero.
 */
struct tt_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cgroup_id;	/* cgroup of the owner, 0 when unknown */
	struct flow_key key;
	__u32 type;		/* enum tt_event_type */
	__u32 pid;		/* tgid that owns the flow, 0 when unknown */
	char comm[TT_COMM_LEN];
	__u8 state;		/* TCP state at the event (the new one for EV_STATE) */
	__u8 old_state;		/* EV_STATE only */
	__u8 ca_state;		/* icsk_ca_state at a retransmit */
	__u8 flags;		/* enum tt_event_flags */
	__s32 err;		/* positive errno: sk_err, or connect()'s return */
	__u32 reason;		/* EV_RST_TX: enum sk_rst_reason; EV_DROP: enum skb_drop_reason */
	__u32 srtt_us;		/* smoothed RTT at the event, microseconds */
	union {
		struct {
			__u32 seg_len;	/* EV_RETRANS, EV_DROP: payload bytes of the segment */
			__u32 mss;	/* EV_RETRANS: the sender's current MSS */
		};
		/*
		 * EV_RST_RX, EV_RST_TX from a socket: what the reset cut off,
		 * read as it happened (the queues are purged right after).
		 */
		struct {
			__u32 unsent;	/* written by the application, never sent */
			__u32 unread;	/* received in order, not read (a FIN counts one) */
		};
	};
	__u32 total_retrans;	/* the socket's retransmit count so far */
	__u8 side;		/* enum tt_side, as the kernel saw the flow open */
	__u8 tcp_flags;		/* EV_DROP: flags of the dropped segment (TT_TCP_*) */
	__u8 last_data;		/* EV_RST_*: enum tt_last_data, who spoke last */
	__u8 _pad;		/* explicit: a recording holds no stray bytes */
	/*
	 * The connection's totals, read from the socket as it goes to CLOSE
	 * (EV_STATE only): a connection shorter than the scan interval is
	 * never snapshotted, and these are its statistics.
	 */
	__u32 min_rtt_us;
	__u64 bytes_acked;	/* data bytes we sent that the peer ACKed */
	__u64 bytes_received;	/* data bytes we received in order */
	__u32 segs_out;
	__u32 segs_in;
	__u32 data_segs_out;
	__u32 data_segs_in;
	/*
	 * EV_STATE to CLOSE: the states the socket went through, oldest first,
	 * zero-padded (the last slot keeps the latest when there were more).
	 * The closing states in between (FIN_WAIT1, CLOSE_WAIT, LAST_ACK...)
	 * send no event of their own: they live here.
	 */
	__u8 path[8];
	/* EVF_SUMMARY: when connect() or the SYN started it, and when the
	 * handshake ended (0: it did not, or we did not see it). */
	__u64 start_ns;
	__u64 established_ns;
};

#ifndef __bpf__
_Static_assert(sizeof(struct tt_event) == 176, "tt_event layout is part of the recording format");
#endif

/* The tracer's own health, one slot each in a per-CPU array. */
enum tt_counter {
	CNT_EVENTS = 0,		/* records submitted to the ring buffer */
	CNT_EVENTS_LOST,	/* records dropped: ring buffer full */
	CNT_FLOWS_NEW,		/* connections whose socket the kernel side keeps state for */
	CNT_FLOWS_CLOSED,	/* ... that closed (their summary went out, or was lost) */
	CNT_FLOWS_FULL,		/* socket states or flow-map entries the kernel refused */
	CNT_NIC_FLOWS_NEW,	/* records inserted in nic_flows (minus live ones: evicted) */
	CNT_NIC_FLOWS_FULL,	/* inserts nic_flows refused */
	CNT_NIC_SYNS_FULL,	/* inserts nic_syns refused */
	CNT_NIC_UNPARSED,	/* IP frames the NIC hooks could not parse: truncated or malformed */
	CNT_MAX,
};

/* Per-flow context kept in the kernel: who owns it, since when. */
struct flow_info {
	__u64 start_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u8 side;		/* TT_SIDE_CLIENT / TT_SIDE_SERVER */
	__u8 _pad[3];
	char comm[TT_COMM_LEN];
};

enum tt_side {
	TT_SIDE_UNKNOWN = 0,
	TT_SIDE_CLIENT,
	TT_SIDE_SERVER,
};

#endif /* TCPTRACE_EVENTS_H */
