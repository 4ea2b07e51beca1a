/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The flow key: how both sides name one TCP connection. */
#ifndef TCPTRACE_FLOW_H
#define TCPTRACE_FLOW_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define TT_AF_INET	2
#define TT_AF_INET6	10

/*
 * A connection seen from this host: "local" is the address of this host's
 * socket, "remote" the peer. IPv4 addresses sit in the first 4 bytes of the
 * 16-byte arrays (network order) and the rest is zero, so one key type and
 * one hash serve both families. Ports are in host byte order.
 */
struct flow_key {
	__u32 netns;		/* inode of the socket's network namespace */
	__u16 family;		/* TT_AF_INET or TT_AF_INET6 */
	__u16 lport;
	__u16 rport;
	__u16 _pad;		/* keep zero: the key is hashed as raw bytes */
	__u8 laddr[16];
	__u8 raddr[16];
};

/* TCP states as the kernel numbers them (include/net/tcp_states.h). */
enum tt_tcp_state {
	TT_TCP_ESTABLISHED = 1,
	TT_TCP_SYN_SENT,
	TT_TCP_SYN_RECV,
	TT_TCP_FIN_WAIT1,
	TT_TCP_FIN_WAIT2,
	TT_TCP_TIME_WAIT,
	TT_TCP_CLOSE,
	TT_TCP_CLOSE_WAIT,
	TT_TCP_LAST_ACK,
	TT_TCP_LISTEN,
	TT_TCP_CLOSING,
	TT_TCP_NEW_SYN_RECV,
	TT_TCP_STATE_MAX,
};

/* Congestion-avoidance states (icsk_ca_state): a retransmit in LOSS is an RTO. */
enum tt_ca_state {
	TT_CA_OPEN = 0,
	TT_CA_DISORDER,
	TT_CA_CWR,
	TT_CA_RECOVERY,
	TT_CA_LOSS,
};

#endif /* TCPTRACE_FLOW_H */
