/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One socket's snapshot, written by the iter/tcp program every interval. */
#ifndef TCPTRACE_SCAN_H
#define TCPTRACE_SCAN_H

#include "flow.h"

/*
 * A socket whose record would say what its last one said goes out only
 * every this many scan rounds (sock_scan.bpf.c); userspace holds such a
 * flow current meanwhile, and takes one missing longer for gone.
 */
#define SCAN_QUIET_ROUNDS	8

/*
 * Absence (a request nobody answers, a window that stays shut) leaves no
 * event behind; it is seen by comparing these snapshots over time.
 * Sequence numbers are raw 32-bit values: compare them with wrap-around.
 */
struct tt_sock_scan {
	struct flow_key key;
	__u8 state;		/* enum tt_tcp_state */
	__u8 ca_state;		/* enum tt_ca_state */
	__u8 probes_out;	/* unanswered zero-window / keepalive probes */
	__u8 backoff;		/* RTO exponential backoff */
	__u32 snd_una;		/* first byte the peer has not ACKed */
	__u32 snd_nxt;		/* next byte we will send */
	__u32 write_seq;	/* end of what the app has written */
	__u32 rcv_nxt;		/* next byte we expect from the peer */
	__u32 copied_seq;	/* end of what the app has read */
	__u32 snd_wnd;		/* window the peer advertises to us */
	__u32 rcv_wnd;		/* window we advertise */
	__u32 srtt_us;		/* smoothed RTT, microseconds */
	__u32 min_rtt_us;
	__u32 mss;
	__u32 total_retrans;
	__u32 retrans_out;
	__u32 packets_out;
	__u32 lost_out;
	__u32 segs_in;
	__u32 segs_out;
	__u32 data_segs_in;
	__u32 data_segs_out;
	__u32 ack_backlog;	/* LISTEN: connections waiting for accept() */
	__u32 max_ack_backlog;	/* LISTEN: the listen() backlog */
	__u64 bytes_acked;	/* data bytes we sent that the peer ACKed */
	__u64 bytes_received;	/* data bytes we received in order */
	__u64 bytes_sent;	/* data bytes we sent, retransmits included */
	__u32 uid;
	__u32 sk_drops;		/* LISTEN: SYNs and handshakes it dropped (queue full...) */
	/*
	 * The socket's own clocks, in jiffies (the kernel's tick, HZ a
	 * second), beside the tick count at the scan: how long since it last
	 * sent or received data, or heard an ACK, without inferring turns
	 * from snapshots (a busy connection changes between two of them).
	 */
	__u32 now_jiffies;	/* jiffies when this socket was read (low 32 bits) */
	__u32 lsndtime;		/* our last data segment sent */
	__u32 lrcvtime;		/* the peer's last data segment received */
	__u32 rcv_tstamp;	/* the peer's last ACK received */
	__u32 rto_jiffies;	/* the retransmission timeout now (icsk_rto) */
	__u8 retransmits;	/* icsk_retransmits: RTOs in a row, nothing ACKed since */
	__u8 _pad2[3];
	__u32 rcv_ooopack;	/* segments that arrived out of order: loss on the way in */
	__u32 dsack_dups;	/* DSACK blocks the peer sent: our retransmits it already had */
	__u32 delivered;	/* segments the peer has received, by its ACKs */
	__u64 bytes_retrans;	/* data bytes we sent again */
	/*
	 * The peer's segment that last updated our send window starts here
	 * (tcp_update_wl): rcv_nxt when it carried no data. Tells who spoke
	 * last when both did within one tick of the socket clocks.
	 */
	__u32 snd_wl1;
	__u16 rcv_mss;		/* the peer's segment size, as we receive them */
	/* When the kernel gives up on unacknowledged data (tcp_write_timeout). */
	__u8 retries2;		/* net.ipv4.tcp_retries2 of the socket's namespace */
	__u8 _pad3;
	__u32 user_timeout_ms;	/* TCP_USER_TIMEOUT; 0: none, retries2 decides */
	__u32 rto_max_jiffies;	/* the socket's RTO ceiling (v6.15); 0: the fixed 120 s */
	__u32 rtx_elapsed_ms;	/* since the oldest unacknowledged retransmitted
				 * segment first left (retrans_stamp); 0: none */
	__u32 ino;		/* the socket's inode (socket:[ino] in /proc/PID/fd); 0: none */
	/*
	 * Its owner, where known: the process that connect()ed it, the one
	 * that listen()ed on its listener, or the one holding it in the
	 * /proc walk at start. pid 0: unknown.
	 */
	__u64 cgroup_id;
	__u32 pid;
	__u32 _pad5;
	char comm[16];
};

#endif /* TCPTRACE_SCAN_H */
