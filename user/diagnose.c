// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The diagnosis engine. Events update per-flow facts as they arrive; socket
 * snapshots add what events cannot show (a request nobody answers, a window
 * that stays shut); engine_tick() judges every flow against the rules and
 * folds repeats of one problem at one endpoint into one diagnosis.
 *
 * Time is only ever an event's ts_ns or a now_ns argument, so a replay of a
 * recording reaches the same verdicts as the live run that wrote it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diagnose.h"
#include "flowtable.h"
#include "catalogue.h"
#include "defaults.h"

#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL

/*
 * How long a closed flow is kept. Its story is not over at the close: the
 * kernel sets CLOSE before it sends the abort RST of a close with unread
 * data, and reports the error (ECONNREFUSED, ECONNRESET) after tcp_done().
 */
#define FLOW_LINGER_NS	(3 * NSEC_PER_SEC)
/* A flow absent from this many consecutive scans is gone from the kernel
 * (one miss can be a socket created after the iterator passed its bucket). */
#define SCANS_MISSED_GONE	2
/* How long an unanswered SYN waits for an ICMP error before it is called
 * unanswered: a router's ARP/ND gives up after 3 s, then tells. */
#define SYN_ICMP_GRACE_NS	(3500 * NSEC_PER_MSEC)

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
	FF_UNA_MOVED	= 1 << 9,  /* the latest snapshot saw snd_una advance */
	FF_ACKED_AFTER_RETRANS = 1 << 10, /* snd_una advanced after a retransmit: not a black hole */
};

/* Who speaks next in a request/response exchange, as seen from snapshots. */
enum flow_turn {
	TURN_NONE = 0,	/* nothing outstanding, or both sides spoke meanwhile */
	TURN_PEER,	/* we sent last: the peer owes an answer */
	TURN_LOCAL,	/* the peer sent last: our application owes one */
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
	__u32 scan_gen;		/* the scan that last reported it */
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
	__s32 app_error;	/* positive errno the application saw */
	__u32 syns_refused;	/* FF_PORT_CLOSED: SYNs answered by RST */
	__u32 retrans;		/* non-SYN retransmits seen as events */
	__u32 rto_retrans;	/* ... sent in CA_LOSS: a timeout fired */
	__u32 fast_retrans;	/* ... sent in CA_RECOVERY: duplicate ACKs/SACK */
	__u32 ev_srtt_us;	/* srtt at the latest event */

	/* The latest snapshot. */
	__u32 snd_una, snd_nxt, write_seq;
	__u32 rcv_nxt, copied_seq;
	__u32 snd_wnd, rcv_wnd;
	__u32 srtt_us, min_rtt_us;
	__u32 total_retrans, data_segs_out;
	__u64 bytes_sent, bytes_received;

	/* Derived from one snapshot to the next. */
	__u64 last_scan_ns;
	__u64 last_send_ns;	/* write_seq or snd_nxt advanced */
	__u64 last_recv_ns;	/* rcv_nxt advanced */
	__u64 unread_since_ns;	/* data waiting and copied_seq still; 0: none */
	__u64 zero_wnd_since_ns;/* snd_wnd == 0 since; 0: open window */
	__u64 turn_bytes;	/* bytes of the current turn (request size) */

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

	/* The NIC's view of the flow (the latest nic_flows record). */
	bool nic_seen;
	bool nat_mismatch;	/* our SYN's answer came from nat_raddr:nat_rport */
	__u32 nic_syn_out, nic_synack_in, nic_rst_in, nic_pkts_in;
	__u32 nic_max_seg_out;
	__u32 icmp[NIC_ICMP_KINDS];
	__u32 icmp_mtu;
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
};

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
	__u64 reported_ns;
	struct flow_key key;	/* laddr:lport of the listener, for the diagnosis */
};

/* One occurrence of a problem on one flow, before folding. */
struct diag_instance {
	enum diag_code code;
	enum tt_side side;
	struct flow_key key;
	__u32 pid;
	char comm[TT_COMM_LEN];
	int app_error;
	unsigned int n_evidence;
	struct diag_evidence_item evidence[DIAG_MAX_EVIDENCE];
	char reason[DIAG_REASON_LEN];
};

/* Repeats of one problem at one endpoint fold into one diagnosis. */
struct fold_key {
	__u32 code;
	__u32 netns;
	__u16 family;
	__u16 port;
	__u8 local;		/* addr:port is this host's (server end) */
	__u8 _pad[3];
	__u8 addr[16];
};

struct fold_group {
	__u64 last_emit_ns;
	bool emitted;		/* last_emit_ns is valid */
	__u32 pending;		/* instances waiting for the fold window */
	struct diag_instance first;
};

/* A batch pushed out of a full group table: emitted at the next tick. */
struct due_batch {
	struct diag_instance first;
	__u32 connections;
};

struct engine {
	struct engine_config cfg;
	conn_fn conn;
	void *conn_ctx;
	struct flowtable *flows;
	struct flowtable *listeners;
	struct flowtable *groups;
	struct due_batch *due;
	size_t n_due, cap_due;
	__u32 scan_gen;
	__u64 lost_total;
	__u64 events;
	__u64 scans;
	__u64 diagnoses;
	__u64 scan_untracked;	/* snapshots of sockets a full table did not take */
};

static const enum diag_severity code_severity[DIAG_CODE_MAX] = {
	[DIAG_SYN_UNANSWERED]	= SEV_ERROR,
	[DIAG_LOCAL_DROP]	= SEV_ERROR,
	[DIAG_NO_ROUTE]		= SEV_ERROR,
	[DIAG_HOST_UNREACHABLE]	= SEV_ERROR,
	[DIAG_FIREWALL_REJECT]	= SEV_ERROR,
	[DIAG_CONNECTION_REFUSED] = SEV_ERROR,
	[DIAG_PORT_CLOSED]	= SEV_ERROR,
	[DIAG_NAT_MISMATCH]	= SEV_ERROR,
	[DIAG_LISTEN_OVERFLOW]	= SEV_ERROR,
	[DIAG_PACKET_LOSS]	= SEV_WARNING,
	[DIAG_PMTU_BLACKHOLE]	= SEV_ERROR,
	[DIAG_PEER_APP_STALL]	= SEV_WARNING,
	[DIAG_LOCAL_APP_STALL]	= SEV_WARNING,
	[DIAG_ZERO_WINDOW]	= SEV_WARNING,
	[DIAG_PEER_RESET]	= SEV_ERROR,
	[DIAG_LOCAL_RESET]	= SEV_ERROR,
	[DIAG_PROCESS_KILLED]	= SEV_ERROR,
};

void engine_config_default(struct engine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->stall_ns = DEFAULT_STALL_MS * NSEC_PER_MSEC;
	cfg->loss_pct = DEFAULT_LOSS_PCT;
	cfg->loss_min_retrans = DEFAULT_LOSS_MIN_RETRANS;
	cfg->syn_retrans = DEFAULT_SYN_RETRANS;
	cfg->request_max_bytes = DEFAULT_REQUEST_MAX_BYTES;
	cfg->fold_ns = DEFAULT_FOLD_S * NSEC_PER_SEC;
	cfg->max_flows = DEFAULT_MAX_FLOWS;
	/* conn records only at close: periodic ones are the caller's choice. */
	cfg->conn_interval_ns = 0;
	cfg->nic_ingress = true;
}

/* ---- states ---------------------------------------------------------- */

/* States only reached after the three-way handshake completed. */
static bool state_synchronized(__u8 state)
{
	switch (state) {
	case TT_TCP_ESTABLISHED:
	case TT_TCP_FIN_WAIT1:
	case TT_TCP_FIN_WAIT2:
	case TT_TCP_CLOSE_WAIT:
	case TT_TCP_LAST_ACK:
	case TT_TCP_CLOSING:
	case TT_TCP_TIME_WAIT:
		return true;
	default:
		return false;
	}
}

/* States in which we may still hold data the peer has not accepted. */
static bool state_may_send(__u8 state)
{
	switch (state) {
	case TT_TCP_ESTABLISHED:
	case TT_TCP_CLOSE_WAIT:
	case TT_TCP_FIN_WAIT1:
	case TT_TCP_LAST_ACK:
	case TT_TCP_CLOSING:
		return true;
	default:
		return false;
	}
}

/* States whose rcv_nxt counts the peer's FIN (one sequence number). */
static bool state_fin_received(__u8 state)
{
	return state == TT_TCP_CLOSE_WAIT || state == TT_TCP_LAST_ACK ||
	       state == TT_TCP_CLOSING || state == TT_TCP_TIME_WAIT;
}

/* These aborts are only sent on a synchronized connection, so they prove
 * the handshake completed even for a flow opened before we started. */
static bool rst_reason_synchronized(__u32 reason)
{
	switch (reason) {
	case 8:		/* TCP_ABORT_ON_DATA */
	case 11:	/* TCP_ABORT_ON_CLOSE */
	case 12:	/* TCP_ABORT_ON_LINGER */
	case 13:	/* TCP_ABORT_ON_MEMORY */
		return true;
	default:
		return false;
	}
}

/* ---- listeners and sides ---------------------------------------------- */

static bool port_listened(const struct engine *e, __u32 netns, __u16 port)
{
	struct listen_key lk = { .netns = netns, .port = port };

	return flowtable_lookup(e->listeners, &lk) != NULL;
}

/*
 * The kernel's side when it saw the open; otherwise a flow whose local port
 * is listened on is the server end. Only that positive answer is kept: a
 * listener seen once makes the flow a server for good, even if it dies.
 */
static enum tt_side flow_side(const struct engine *e, const struct flow_key *key,
			      struct flow *f)
{
	if (f->side != TT_SIDE_UNKNOWN)
		return f->side;
	if (port_listened(e, key->netns, key->lport)) {
		f->side = TT_SIDE_SERVER;
		return TT_SIDE_SERVER;
	}
	return TT_SIDE_CLIENT;
}

/* ---- raising and folding ---------------------------------------------- */

static void ev_add(struct diag_instance *in, const char *name, long long value)
{
	if (in->n_evidence >= DIAG_MAX_EVIDENCE)
		return;
	in->evidence[in->n_evidence].name = name;
	in->evidence[in->n_evidence].value = value;
	in->n_evidence++;
}

static long long ns_to_ms(__u64 ns)
{
	return (long long)(ns / NSEC_PER_MSEC);
}

/* Durations from a start that may be after the end (out-of-order clocks
 * across CPUs are possible in a ring buffer): never negative. */
static __u64 elapsed(__u64 from, __u64 to)
{
	return to > from ? to - from : 0;
}

static void instance_init(struct diag_instance *in, enum diag_code code,
			  enum tt_side side, const struct flow_key *key,
			  __u32 pid, const char *comm, int app_error)
{
	memset(in, 0, sizeof(*in));
	in->code = code;
	in->side = side;
	in->key = *key;
	in->pid = pid;
	if (comm)
		memcpy(in->comm, comm, TT_COMM_LEN - 1);
	in->app_error = app_error;
}

/*
 * The endpoint a problem folds by: the server end of the connection, the
 * one many flows share. A client's ephemeral ports differ on every
 * connection; the service it calls does not. Whether that endpoint is ours
 * or the peer's is part of the key: when both ends run on this host (over
 * loopback, or a host-wide tracer), the client's and the server's view of
 * one service are two problems, not one.
 */
static void fold_key_of(const struct diag_instance *in, struct fold_key *fk)
{
	bool server = in->side == TT_SIDE_SERVER || in->code == DIAG_PORT_CLOSED;

	memset(fk, 0, sizeof(*fk));
	fk->code = in->code;
	fk->netns = in->key.netns;
	fk->family = in->key.family;
	fk->local = server;
	if (server) {
		fk->port = in->key.lport;
		memcpy(fk->addr, in->key.laddr, sizeof(fk->addr));
	} else {
		fk->port = in->key.rport;
		memcpy(fk->addr, in->key.raddr, sizeof(fk->addr));
	}
}

static void due_push(struct engine *e, const struct diag_instance *first,
		     __u32 connections)
{
	if (e->n_due == e->cap_due) {
		size_t cap = e->cap_due ? e->cap_due * 2 : 16;
		struct due_batch *d = realloc(e->due, cap * sizeof(*d));

		if (!d)
			return;	/* out of memory: the batch is lost, not a crash */
		e->due = d;
		e->cap_due = cap;
	}
	e->due[e->n_due].first = *first;
	e->due[e->n_due].connections = connections;
	e->n_due++;
}

/* A full group table gives up its oldest group; what it held is still
 * emitted, at the next tick, without waiting for its fold window. */
static void group_evicted(const void *key, void *value, void *ctx)
{
	struct fold_group *g = value;
	struct engine *e = ctx;

	(void)key;
	if (g->pending)
		due_push(e, &g->first, g->pending);
}

static void raise_instance(struct engine *e, const struct diag_instance *in)
{
	struct fold_group *g;
	struct fold_key fk;

	fold_key_of(in, &fk);
	g = flowtable_get(e->groups, &fk, NULL);
	if (!g)
		return;
	if (!g->pending)
		g->first = *in;
	g->pending++;
}

/* Raise code on flow f once in its life. */
static bool flow_raise(struct engine *e, const struct flow_key *key,
		       struct flow *f, enum diag_code code, enum tt_side side,
		       int app_error, struct diag_instance *in)
{
	if (f->reported & (1u << code))
		return false;
	f->reported |= 1u << code;
	in->code = code;
	in->side = side;
	in->key = *key;
	in->pid = f->pid;
	memcpy(in->comm, f->comm, TT_COMM_LEN);
	in->app_error = app_error;
	raise_instance(e, in);
	return true;
}

/* ---- rules ------------------------------------------------------------ */

/* Still connecting, or closed while connecting: never synchronized. */
static bool flow_in_syn_phase(const struct flow *f)
{
	if (f->flags & FF_ESTABLISHED)
		return false;
	if (f->flags & FF_CLOSED)
		return f->close_from == TT_TCP_SYN_SENT;
	return f->state == TT_TCP_SYN_SENT;
}

/* ICMP errors that end a connect: every kind but the MTU ones. */
static __u32 icmp_unreach_total(const struct flow *f)
{
	return f->icmp[NIC_ICMP_NET_UNREACH] + f->icmp[NIC_ICMP_HOST_UNREACH] +
	       f->icmp[NIC_ICMP_ADMIN_PROHIBITED] + f->icmp[NIC_ICMP_UNREACH_OTHER] +
	       f->icmp[NIC_ICMP_TIME_EXCEEDED];
}

/* The connect ended on an ICMP error the NIC did not show us (no hooks). */
static bool app_error_unreachable(const struct flow *f)
{
	return f->app_error == EHOSTUNREACH || f->app_error == ENETUNREACH ||
	       f->app_error == EACCES;
}

/*
 * tcpi_bytes_acked is a sequence-space delta: a client's count includes its
 * SYN (a server's child socket starts past its SYN-ACK), and an ACKed FIN
 * adds one more. Data bytes are what is left.
 */
static __u64 flow_data_acked(const struct flow *f)
{
	__u64 acked = f->bytes_acked, ctl = 0;
	bool fin_acked = false;

	if (f->side == TT_SIDE_CLIENT && (f->flags & FF_ESTABLISHED))
		ctl++;
	for (unsigned int i = 0; i < f->n_states; i++)
		if (f->states[i] == TT_TCP_FIN_WAIT2 || f->states[i] == TT_TCP_TIME_WAIT)
			fin_acked = true;
	if ((f->flags & FF_CLOSED) && f->close_from == TT_TCP_LAST_ACK)
		fin_acked = true;
	ctl += fin_acked;
	return acked > ctl ? acked - ctl : 0;
}

/*
 * tcpi_bytes_received is sequence space too: the peer's FIN adds one once
 * it is taken in order (a passive close, through CLOSE_WAIT, or a FIN
 * seen in a snapshot in CLOSE_WAIT or LAST_ACK).
 */
static __u64 flow_data_received(const struct flow *f)
{
	bool fin = state_fin_received(f->state) && f->state != TT_TCP_CLOSE;

	for (unsigned int i = 0; i < f->n_states; i++)
		if (f->states[i] == TT_TCP_CLOSE_WAIT)
			fin = true;
	return f->bytes_received > fin ? f->bytes_received - fin : 0;
}

/* This host's own stack refused the flow's segments (rule_local_drop speaks). */
static bool flow_dropped_here(const struct flow *f)
{
	return (f->drops_in || f->drops_out) &&
	       (f->drop_class == DROP_LOCAL || f->drop_class == DROP_NO_ROUTE);
}

/*
 * Our SYN got an answer, or this host's stack says why not: a reset, an
 * ICMP error, a SYN-ACK (seen at the NIC, or from the wrong address), a
 * local drop. Another rule tells which; SYN_UNANSWERED must stay quiet.
 */
static bool syn_answered(const struct flow *f)
{
	return f->rst_rx || f->app_error == ECONNREFUSED || app_error_unreachable(f) ||
	       f->nic_synack_in || f->nic_rst_in || icmp_unreach_total(f) ||
	       f->nat_mismatch || flow_dropped_here(f);
}

static __u64 flow_end(const struct flow *f, __u64 now)
{
	return (f->flags & FF_CLOSED) ? f->closed_ns : now;
}

static void rule_connection_refused(struct engine *e, const struct flow_key *key,
				    struct flow *f)
{
	struct diag_instance in = {0};
	bool rst = f->rst_rx && f->rst_rx_state == TT_TCP_SYN_SENT;

	/* An ICMP port-unreachable also ends a connect with ECONNREFUSED,
	 * without a RST: the error report is the only trace of it. */
	if (!flow_in_syn_phase(f) || (!rst && f->app_error != ECONNREFUSED))
		return;
	ev_add(&in, "syns_sent", 1 + f->syn_retrans);
	ev_add(&in, "rst_received", f->rst_rx);
	if (f->flags & FF_START_KNOWN)
		ev_add(&in, "connect_ms",
		       ns_to_ms(elapsed(f->start_ns,
					f->rst_ns ? f->rst_ns : f->closed_ns)));
	flow_raise(e, key, f, DIAG_CONNECTION_REFUSED, TT_SIDE_CLIENT,
		   ECONNREFUSED, &in);
}

static void rule_syn_unanswered(struct engine *e, const struct flow_key *key,
				struct flow *f, __u64 now)
{
	struct diag_instance in = {0};
	bool due;

	if (!flow_in_syn_phase(f) || syn_answered(f))
		return;
	if (!(f->flags & FF_CLOSED))
		/* A router that cannot reach the host says so (ICMP host
		 * unreachable) only when its neighbour resolution gives up,
		 * 3 s on Linux: give that answer the time to arrive. */
		due = f->syn_retrans >= e->cfg.syn_retrans &&
		      elapsed(f->start_ns, now) >= SYN_ICMP_GRACE_NS;
	else
		/* The kernel gave up (ETIMEDOUT), or the application did
		 * after as many retransmits as we would have waited for. */
		due = (f->app_error == ETIMEDOUT && f->syn_retrans >= 1) ||
		      f->syn_retrans >= e->cfg.syn_retrans;
	if (!due)
		return;
	ev_add(&in, "syns_sent", 1 + f->syn_retrans);
	ev_add(&in, "syn_retrans", f->syn_retrans);
	ev_add(&in, "waited_ms", ns_to_ms(elapsed(f->start_ns, flow_end(f, now))));
	if (f->nic_seen && e->cfg.nic_ingress) {
		/* The NIC saw them leave, and nothing of the flow come back. */
		ev_add(&in, "nic_syns_out", f->nic_syn_out);
		ev_add(&in, "nic_packets_in", f->nic_pkts_in);
	}
	flow_raise(e, key, f, DIAG_SYN_UNANSWERED, TT_SIDE_CLIENT, f->app_error,
		   &in);
}

/*
 * ICMP errors quoting a flow (net/host unreachable, administratively
 * prohibited) will come from the NIC hooks and make NO_ROUTE,
 * HOST_UNREACHABLE and FIREWALL_REJECT here, per flow. Until then NO_ROUTE
 * only comes from a connect() that failed before TCP ran (on_connect_err).
 */

/*
 * An ICMP error quoting our SYN: a router (or the host) said why. Over
 * IPv4 the application sees EHOSTUNREACH for all three; the type and code
 * the NIC saw tell them apart, and the sender names the router.
 */
static void rule_icmp_unreachable(struct engine *e, const struct flow_key *key,
				  struct flow *f)
{
	struct diag_instance in = {0};
	enum diag_code code;
	__u32 count;

	if (!flow_in_syn_phase(f))
		return;
	if (!icmp_unreach_total(f)) {
		/* No NIC view, but the kernel ended the connect on an ICMP
		 * error: say what the application saw, without the router. */
		if (!(f->flags & FF_CLOSED) || !app_error_unreachable(f) || f->nic_seen)
			return;
		code = f->app_error == ENETUNREACH ? DIAG_NO_ROUTE :
		       f->app_error == EACCES ? DIAG_FIREWALL_REJECT : DIAG_HOST_UNREACHABLE;
		ev_add(&in, "icmp_errors", 0);
		ev_add(&in, "syns_sent", 1 + f->syn_retrans);
		flow_raise(e, key, f, code, TT_SIDE_CLIENT, f->app_error, &in);
		return;
	}
	if (f->icmp[NIC_ICMP_ADMIN_PROHIBITED]) {
		code = DIAG_FIREWALL_REJECT;
		count = f->icmp[NIC_ICMP_ADMIN_PROHIBITED];
	} else if (f->icmp[NIC_ICMP_HOST_UNREACH] || f->icmp[NIC_ICMP_UNREACH_OTHER]) {
		code = DIAG_HOST_UNREACHABLE;
		count = f->icmp[NIC_ICMP_HOST_UNREACH] + f->icmp[NIC_ICMP_UNREACH_OTHER];
	} else if (f->icmp[NIC_ICMP_NET_UNREACH]) {
		code = DIAG_NO_ROUTE;
		count = f->icmp[NIC_ICMP_NET_UNREACH];
	} else {
		/* TTL expired on the way: a routing loop, a route problem too. */
		code = DIAG_NO_ROUTE;
		count = f->icmp[NIC_ICMP_TIME_EXCEEDED];
		ev_add(&in, "icmp_time_exceeded", count);
	}
	ev_add(&in, "icmp_errors", count);
	ev_add(&in, "syns_sent", 1 + f->syn_retrans);
	ev_add(&in, "nic_syns_out", f->nic_syn_out);
	tt_addr_str(key->family, f->icmp_from, in.reason, sizeof(in.reason));
	flow_raise(e, key, f, code, TT_SIDE_CLIENT, f->app_error, &in);
}

/* Our SYN went to one address, the SYN-ACK came back from another. */
static void rule_nat_mismatch(struct engine *e, const struct flow_key *key,
			      struct flow *f)
{
	struct diag_instance in = {0};
	char addr[TT_ADDR_STRLEN];

	if (!f->nat_mismatch || !flow_in_syn_phase(f))
		return;
	ev_add(&in, "syns_sent", 1 + f->syn_retrans);
	ev_add(&in, "stray_synacks", f->nat_synacks);
	ev_add(&in, "reply_rport", f->nat_rport);
	tt_addr_str(key->family, f->nat_raddr, addr, sizeof(addr));
	snprintf(in.reason, sizeof(in.reason), key->family == TT_AF_INET6 ?
		 "[%s]:%u" : "%s:%u", addr, f->nat_rport);
	flow_raise(e, key, f, DIAG_NAT_MISMATCH, TT_SIDE_CLIENT, f->app_error, &in);
}

/*
 * A SYN-ACK reached the NIC and the socket still sends SYNs: this host's
 * own stack dropped it between the two. The drop event names the reason
 * when the kernel gives one; the NIC alone already proves where.
 */
static void rule_synack_lost_inside(struct engine *e, const struct flow_key *key,
				    struct flow *f)
{
	struct diag_instance in = {0};

	__u32 answers = f->nic_synack_in + f->nic_rst_in;

	/* A SYN-ACK, or a RST, reached the NIC and never the socket. */
	if (!flow_in_syn_phase(f) || !answers || !f->syn_retrans || f->rst_rx ||
	    f->nat_mismatch || flow_dropped_here(f))
		return;
	ev_add(&in, "drops_inbound", answers);
	ev_add(&in, "drops_outbound", 0);
	ev_add(&in, "handshake_drops", answers);
	ev_add(&in, "nic_synacks_in", f->nic_synack_in);
	ev_add(&in, "nic_rsts_in", f->nic_rst_in);
	ev_add(&in, "syn_retrans", f->syn_retrans);
	snprintf(in.reason, sizeof(in.reason), "no drop reason reported");
	flow_raise(e, key, f, DIAG_LOCAL_DROP, TT_SIDE_CLIENT, f->app_error, &in);
}

/*
 * Full-size segments are retransmitted and never acknowledged while the
 * small ones got through: a hop with a smaller MTU drops them and the ICMP
 * that would say so is blocked (or arrives and is not acted on).
 */
#define PMTU_STUCK_NS	NSEC_PER_SEC

static bool pmtu_blackhole(const struct engine *e, const struct flow *f)
{
	/* Loss retransmits full-size segments too, but the peer's ACKs keep
	 * coming: a black hole is no progress at all. */
	return (f->flags & FF_ESTABLISHED) &&
	       f->stuck_rto_full >= e->cfg.loss_min_retrans && !f->stuck_small &&
	       /* Full-size segments that got through before (more than a
	        * couple of MSS acknowledged) say the path carries them: a
	        * long stall there is loss, not the MTU. */
	       flow_data_acked(f) < 2ULL * f->mss &&
	       f->mss && f->una_stuck_since_ns &&
	       elapsed(f->una_stuck_since_ns, f->last_scan_ns) >= PMTU_STUCK_NS;
}

static void rule_pmtu_blackhole(struct engine *e, const struct flow_key *key,
				struct flow *f, enum tt_side side)
{
	struct diag_instance in = {0};

	if (!pmtu_blackhole(e, f))
		return;
	ev_add(&in, "full_size_retrans", f->retrans_full);
	ev_add(&in, "small_retrans", f->retrans_small);
	ev_add(&in, "rto_retrans", f->rto_retrans);
	ev_add(&in, "mss", f->mss);
	ev_add(&in, "nic_max_seg_out", f->nic_max_seg_out);
	ev_add(&in, "bytes_acked", (long long)flow_data_acked(f));
	ev_add(&in, "icmp_too_big", f->icmp[NIC_ICMP_FRAG_NEEDED] + f->icmp[NIC_ICMP_PKT_TOO_BIG]);
	ev_add(&in, "icmp_mtu", f->icmp_mtu);
	flow_raise(e, key, f, DIAG_PMTU_BLACKHOLE, side, f->app_error, &in);
}

static void rule_port_closed(struct engine *e, const struct flow_key *key,
			     struct flow *f)
{
	struct diag_instance in = {0};

	if (!(f->flags & FF_PORT_CLOSED))
		return;
	ev_add(&in, "syns_refused", f->syns_refused);
	ev_add(&in, "rst_sent", f->rst_tx);
	flow_raise(e, key, f, DIAG_PORT_CLOSED, TT_SIDE_SERVER, 0, &in);
}

static void rule_peer_reset(struct engine *e, const struct flow_key *key,
			    struct flow *f, enum tt_side side)
{
	struct diag_instance in = {0};

	if (!(f->flags & FF_RST_RX) || !(f->flags & FF_ESTABLISHED))
		return;
	/* A connection shorter than a scan has only its close totals. */
	ev_add(&in, "bytes_sent", (long long)(f->bytes_sent > flow_data_acked(f) ?
					      f->bytes_sent : flow_data_acked(f)));
	ev_add(&in, "bytes_received", (long long)flow_data_received(f));
	if (f->flags & FF_START_KNOWN)
		ev_add(&in, "age_ms", ns_to_ms(elapsed(f->start_ns, f->rst_ns)));
	/* tcp_reset() reports EPIPE in CLOSE_WAIT, ECONNRESET elsewhere. */
	flow_raise(e, key, f, DIAG_PEER_RESET, side,
		   f->app_error ? f->app_error : ECONNRESET, &in);
}

static __u32 flow_unread(const struct flow *f)
{
	__u32 unread = seq_span(f->rcv_nxt, f->copied_seq);

	/* A FIN received and not yet read sits in the same span. */
	if (unread && state_fin_received(f->state))
		unread--;
	return unread;
}

static void rule_local_reset(struct engine *e, const struct flow_key *key,
			     struct flow *f, enum tt_side side)
{
	struct diag_instance in = {0};

	if (!(f->flags & FF_RST_TX) || !(f->flags & FF_ESTABLISHED))
		return;
	ev_add(&in, "rst_reason", f->rst_reason);
	if (f->flags & FF_SCANNED)
		ev_add(&in, "unread_bytes", flow_unread(f));
	if (f->flags & FF_START_KNOWN)
		ev_add(&in, "age_ms", ns_to_ms(elapsed(f->start_ns, f->rst_ns)));
	flow_raise(e, key, f, DIAG_LOCAL_RESET, side, f->app_error, &in);
}

static void rule_packet_loss(struct engine *e, const struct flow_key *key,
			     struct flow *f, enum tt_side side)
{
	struct diag_instance in = {0};
	__u32 retrans, ratio_retrans, srtt_us, min_rtt_us = 0;
	bool inflated = false;

	/*
	 * A black hole retransmits too: it is told as what it is. While only
	 * full-size segments are retransmitted and nothing is acknowledged,
	 * it may be one: wait until progress or a small retransmit says loss.
	 * (una_stuck_since_ns only says data is in flight: a moving transfer
	 * restarts it at every snapshot.)
	 */
	if (!(f->flags & FF_ESTABLISHED) || pmtu_blackhole(e, f) ||
	    (f->retrans_full && !f->retrans_small && f->una_stuck_since_ns &&
	     !(f->flags & FF_ACKED_AFTER_RETRANS) && !(f->flags & FF_CLOSED)))
		return;
	if (f->flags & (FF_SCANNED | FF_TOTALS)) {
		/*
		 * Judge the ratio on one snapshot's numbers: its retransmit
		 * count and its data segment count cover the same span (from
		 * the open, even if we started later). tcpi_total_retrans
		 * includes the handshake's retransmits: take them out.
		 */
		__u32 handshake = f->syn_retrans + f->synack_retrans;

		ratio_retrans = f->total_retrans > handshake ?
				f->total_retrans - handshake : 0;
		retrans = f->retrans > ratio_retrans ? f->retrans : ratio_retrans;
		if (retrans < e->cfg.loss_min_retrans ||
		    (__u64)ratio_retrans * 100 <
		    (__u64)e->cfg.loss_pct * f->data_segs_out)
			return;
		srtt_us = f->srtt_us;
		min_rtt_us = f->min_rtt_us;
	} else {
		/* No snapshot: an open flow gets one within an interval, so
		 * wait for the ratio; a flow already closed never will. */
		if (!(f->flags & FF_CLOSED) || f->retrans < e->cfg.loss_min_retrans)
			return;
		retrans = ratio_retrans = f->retrans;
		srtt_us = f->ev_srtt_us;
	}
	inflated = min_rtt_us && srtt_us > 2 * min_rtt_us;

	ev_add(&in, "retransmits", retrans);
	if ((f->flags & (FF_SCANNED | FF_TOTALS)) && f->data_segs_out) {
		ev_add(&in, "data_segs_out", f->data_segs_out);
		ev_add(&in, "loss_permille",
		       (long long)ratio_retrans * 1000 / f->data_segs_out);
	}
	ev_add(&in, "rto_retrans", f->rto_retrans);
	ev_add(&in, "fast_retrans", f->fast_retrans);
	ev_add(&in, "srtt_ms", srtt_us / 1000);
	ev_add(&in, "min_rtt_ms", min_rtt_us / 1000);
	/* srtt far above the path's minimum: packets wait in a queue, the
	 * mark of congestion rather than of a lossy link. */
	ev_add(&in, "rtt_inflated", inflated);
	flow_raise(e, key, f, DIAG_PACKET_LOSS, side, f->app_error, &in);
}

/*
 * The scan-based rules judge absence, so they only trust a flow the last
 * scan still reported, and measure time up to that scan, not to now: what
 * happened after it is not known yet.
 */
static bool flow_scan_current(const struct engine *e, const struct flow *f)
{
	/* Reported by the last completed scan, or already by the one under
	 * way (a tick between engine_on_scan() and engine_scan_end()). */
	return (f->flags & FF_SCANNED) && !(f->flags & FF_CLOSED) &&
	       f->scans_missed == 0 && f->scan_gen + 1 >= e->scan_gen;
}

static void rule_peer_app_stall(struct engine *e, const struct flow_key *key,
				struct flow *f, enum tt_side side)
{
	struct diag_instance in = {0};
	__u64 waited = elapsed(f->last_send_ns, f->last_scan_ns);

	/* Our request was delivered: everything written is sent and ACKed,
	 * so the peer's TCP has it and its application owes the answer. */
	if (side != TT_SIDE_CLIENT || f->state != TT_TCP_ESTABLISHED ||
	    f->turn != TURN_PEER || f->snd_una != f->snd_nxt ||
	    f->snd_nxt != f->write_seq)
		return;
	/* A bigger burst is a one-way stream, which owes no answer. */
	if (!f->turn_bytes || f->turn_bytes > e->cfg.request_max_bytes)
		return;
	if (waited < e->cfg.stall_ns)
		return;
	ev_add(&in, "request_bytes", (long long)f->turn_bytes);
	ev_add(&in, "waited_ms", ns_to_ms(waited));
	ev_add(&in, "srtt_ms", f->srtt_us / 1000);
	flow_raise(e, key, f, DIAG_PEER_APP_STALL, side, 0, &in);
}

static void rule_local_app_stall(struct engine *e, const struct flow_key *key,
				 struct flow *f, enum tt_side side)
{
	struct diag_instance in = {0};
	__u32 unread = flow_unread(f);

	/* Not reading: data waits in the receive queue, copied_seq still. */
	if (unread && f->unread_since_ns &&
	    (f->state == TT_TCP_ESTABLISHED || f->state == TT_TCP_CLOSE_WAIT) &&
	    elapsed(f->unread_since_ns, f->last_scan_ns) >= e->cfg.stall_ns) {
		ev_add(&in, "unread_bytes", unread);
		ev_add(&in, "rcv_wnd", f->rcv_wnd);
		ev_add(&in, "not_read_ms",
		       ns_to_ms(elapsed(f->unread_since_ns, f->last_scan_ns)));
		flow_raise(e, key, f, DIAG_LOCAL_APP_STALL, side, 0, &in);
		return;
	}

	/* Not answering: the request was read, nothing went back. */
	if (side != TT_SIDE_SERVER || f->state != TT_TCP_ESTABLISHED ||
	    f->turn != TURN_LOCAL || unread)
		return;
	if (!f->turn_bytes || f->turn_bytes > e->cfg.request_max_bytes)
		return;
	if (elapsed(f->last_recv_ns, f->last_scan_ns) < e->cfg.stall_ns)
		return;
	ev_add(&in, "request_bytes", (long long)f->turn_bytes);
	ev_add(&in, "waited_ms",
	       ns_to_ms(elapsed(f->last_recv_ns, f->last_scan_ns)));
	flow_raise(e, key, f, DIAG_LOCAL_APP_STALL, side, 0, &in);
}

static void rule_zero_window(struct engine *e, const struct flow_key *key,
			     struct flow *f, enum tt_side side)
{
	struct diag_instance in = {0};
	__u64 shut;

	/* Before the handshake snd_wnd is 0 and the SYN is unacked: only a
	 * synchronized flow's window means anything. */
	if (!(f->flags & FF_ESTABLISHED) || !state_may_send(f->state) ||
	    f->snd_wnd || !f->zero_wnd_since_ns || f->write_seq == f->snd_una)
		return;
	shut = elapsed(f->zero_wnd_since_ns, f->last_scan_ns);
	if (shut < e->cfg.stall_ns)
		return;
	ev_add(&in, "zero_window_ms", ns_to_ms(shut));
	ev_add(&in, "unsent_bytes", seq_span(f->write_seq, f->snd_una));
	ev_add(&in, "probes", f->probes_out);
	flow_raise(e, key, f, DIAG_ZERO_WINDOW, side, 0, &in);
}

static enum drop_class drop_class_of(const struct engine *e, __u32 reason)
{
	if (e->cfg.drop_class)
		return reason < e->cfg.n_drop_class ? e->cfg.drop_class[reason] :
						      DROP_LOCAL;
	/* No table: 0 not dropped, 1 consumed, 2 unspecified; the rest count. */
	return reason > 2 ? DROP_LOCAL : DROP_IGNORE;
}

static void reason_text(const struct engine *e, __u32 reason, char *buf, size_t len)
{
	const char *name = e->cfg.drop_reason_name ? e->cfg.drop_reason_name(reason) : NULL;

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "reason %u", reason);
}

/*
 * This host's own stack dropped the flow's segments. In the handshake one
 * drop is the whole story (a SYN-ACK that reached this host and never the
 * socket; a SYN this host's firewall refused). On an established flow a
 * lone discard is mended by a retransmit: only repeats are a problem.
 */
static void rule_local_drop(struct engine *e, const struct flow_key *key,
			    struct flow *f, enum tt_side side)
{
	struct diag_instance in = {0};
	__u32 drops = f->drops_in + f->drops_out;

	if (!flow_dropped_here(f))
		return;
	if (!f->syn_drops && drops < e->cfg.loss_min_retrans)
		return;
	ev_add(&in, "drops_inbound", f->drops_in);
	ev_add(&in, "drops_outbound", f->drops_out);
	ev_add(&in, "handshake_drops", f->syn_drops);
	ev_add(&in, "drop_reason", f->drop_reason);
	ev_add(&in, "syn_retrans", f->syn_retrans);
	ev_add(&in, "synack_retrans", f->synack_retrans);
	reason_text(e, f->drop_reason, in.reason, sizeof(in.reason));
	/* No route out (IP_OUTNOROUTES) is a routing problem, not a filter. */
	flow_raise(e, key, f, f->drop_class == DROP_NO_ROUTE ? DIAG_NO_ROUTE :
			      DIAG_LOCAL_DROP, side, f->app_error, &in);
}

/* A handshake dropped because the listener's accept queue was full. */
static void rule_listen_overflow(struct engine *e, const struct flow_key *key,
				 struct flow *f, __u64 now)
{
	struct diag_instance in = {0};

	if (!f->drops_in || f->drop_class != DROP_LISTEN_OVERFLOW)
		return;
	struct listen_key lk = { .netns = key->netns, .port = key->lport };
	struct listener *l = flowtable_lookup(e->listeners, &lk);

	ev_add(&in, "handshakes_dropped", f->drops_in);
	ev_add(&in, "synack_retrans", f->synack_retrans);
	reason_text(e, f->drop_reason, in.reason, sizeof(in.reason));
	/* The listener's own rule need not repeat it within the fold window,
	 * nor count these drops again after it. */
	if (flow_raise(e, key, f, DIAG_LISTEN_OVERFLOW, TT_SIDE_SERVER, 0, &in) && l) {
		l->reported = true;
		l->reported_ns = now;
		l->overflow_drops = l->synack_retrans = 0;
	}
}

/*
 * Without a drop reason (older kernels drop a SYN for a full queue
 * silently) the listener itself tells: its accept queue is full and
 * handshakes on its port go unfinished or are dropped.
 */
static void rule_listener_full(struct engine *e, struct listener *l, __u64 now)
{
	struct diag_instance in;

	if (l->reported && elapsed(l->reported_ns, now) < e->cfg.fold_ns)
		return;
	if (!l->full_scans || (!l->overflow_drops && !l->synack_retrans))
		return;
	instance_init(&in, DIAG_LISTEN_OVERFLOW, TT_SIDE_SERVER, &l->key, 0, NULL, 0);
	ev_add(&in, "accept_queue", l->ack_backlog);
	ev_add(&in, "backlog", l->max_ack_backlog);
	ev_add(&in, "handshakes_dropped", l->overflow_drops);
	ev_add(&in, "synack_retrans", l->synack_retrans);
	raise_instance(e, &in);
	l->reported = true;
	l->reported_ns = now;
	l->overflow_drops = l->synack_retrans = 0;
}

static void flow_evaluate(struct engine *e, const struct flow_key *key,
			  struct flow *f, __u64 now)
{
	enum tt_side side = flow_side(e, key, f);

	/* Handshake failures. */
	rule_connection_refused(e, key, f);
	rule_syn_unanswered(e, key, f, now);
	rule_port_closed(e, key, f);
	rule_local_drop(e, key, f, side);
	rule_listen_overflow(e, key, f, now);
	rule_icmp_unreachable(e, key, f);
	rule_nat_mismatch(e, key, f);
	rule_synack_lost_inside(e, key, f);
	rule_pmtu_blackhole(e, key, f, side);

	/* Broken connections. */
	rule_peer_reset(e, key, f, side);
	rule_local_reset(e, key, f, side);
	rule_packet_loss(e, key, f, side);

	/* Absence: judged on snapshots. */
	if (flow_scan_current(e, f)) {
		rule_peer_app_stall(e, key, f, side);
		rule_local_app_stall(e, key, f, side);
		rule_zero_window(e, key, f, side);
	}
}

/* ---- conn records ------------------------------------------------------ */

static const char *close_reason(const struct flow *f)
{
	if (!(f->flags & FF_CLOSED))
		return "open";
	if (f->rst_rx && f->rst_rx_state == TT_TCP_SYN_SENT)
		return "refused";
	if (f->flags & FF_RST_RX)
		return "reset_by_peer";
	if (f->flags & FF_RST_TX)
		return "reset_local";
	if (f->app_error == ETIMEDOUT)
		return "timeout";
	if (f->app_error == ECONNREFUSED)
		return "refused";
	if (f->app_error)
		return "error";
	if (!(f->flags & FF_ESTABLISHED))
		return "aborted";	/* closed while connecting */
	return "fin";
}

static void conn_emit(struct engine *e, const struct flow_key *key,
		      const struct flow *f, __u64 now)
{
	struct conn_record c;

	/* A refused SYN or a dropped one made no connection to report. */
	if (!e->conn || (f->flags & FF_PORT_CLOSED) ||
	    (!f->n_states && !(f->flags & FF_SCANNED)))
		return;
	memset(&c, 0, sizeof(c));
	c.key = *key;
	c.side = f->side;
	c.pid = f->pid;
	memcpy(c.comm, f->comm, TT_COMM_LEN);
	c.cgroup_id = f->cgroup_id;
	c.start_ns = f->start_ns;
	c.start_known = f->flags & FF_START_KNOWN;
	c.open = !(f->flags & FF_CLOSED);
	c.ts_ns = c.open ? now : f->closed_ns;
	c.n_states = f->n_states;
	memcpy(c.states, f->states, sizeof(c.states));
	if (c.start_known && f->established_ns && f->side == TT_SIDE_CLIENT)
		c.connect_ns = elapsed(f->start_ns, f->established_ns);
	c.bytes_sent = flow_data_acked(f);
	c.bytes_received = flow_data_received(f);
	c.segs_out = f->segs_out;
	c.segs_in = f->segs_in;
	c.data_segs_out = f->data_segs_out;
	c.data_segs_in = f->data_segs_in;
	/* Like the loss rule: the socket's own count covers its whole life
	 * (also before we started, or events we lost), less the handshake. */
	c.retrans = f->total_retrans > f->syn_retrans + f->synack_retrans ?
		    f->total_retrans - f->syn_retrans - f->synack_retrans : 0;
	if (f->retrans > c.retrans)
		c.retrans = f->retrans;
	c.syn_retrans = f->syn_retrans;
	c.srtt_us = f->srtt_us ? f->srtt_us : f->ev_srtt_us;
	c.min_rtt_us = f->min_rtt_us;
	c.rst_rx = f->rst_rx;
	c.rst_tx = f->rst_tx;
	c.app_error = f->app_error;
	c.close_reason = close_reason(f);
	c.codes = f->reported;
	c.events_lost = e->lost_total > 0;
	e->conn(&c, e->conn_ctx);
}

void engine_set_conn_sink(struct engine *e, conn_fn fn, void *ctx)
{
	e->conn = fn;
	e->conn_ctx = ctx;
}

/* ---- the flow table --------------------------------------------------- */

/* A flow pushed out of a full table is judged on what it has so far, so a
 * storm of failures that overflows the table still gets diagnosed. */
static void flow_evicted(const void *key, void *value, void *ctx)
{
	struct flow *f = value;

	flow_evaluate(ctx, key, f, f->updated_ns);
	conn_emit(ctx, key, f, f->updated_ns);
}

struct engine *engine_new(const struct engine_config *cfg)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (cfg)
		e->cfg = *cfg;
	else
		engine_config_default(&e->cfg);
	if (!e->cfg.max_flows)
		e->cfg.max_flows = 1;
	/* scan_gen starts at 1 so a zeroed flow is never "in this scan". */
	e->scan_gen = 1;
	e->flows = flowtable_new(sizeof(struct flow_key), sizeof(struct flow),
				 e->cfg.max_flows, flow_evicted, e);
	e->listeners = flowtable_new(sizeof(struct listen_key),
				     sizeof(struct listener), e->cfg.max_flows,
				     NULL, NULL);
	/* A group per problem endpoint: never more than there are flows. */
	e->groups = flowtable_new(sizeof(struct fold_key),
				  sizeof(struct fold_group), e->cfg.max_flows,
				  group_evicted, e);
	if (!e->flows || !e->listeners || !e->groups) {
		engine_free(e);
		return NULL;
	}
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	flowtable_free(e->flows);
	flowtable_free(e->listeners);
	flowtable_free(e->groups);
	free(e->due);
	free(e);
}

static void flow_take_owner(struct flow *f, const struct tt_event *ev)
{
	bool proc = ev->flags & EVF_PROC;

	/* Softirq-context events carry whatever task was running: keep the
	 * owner a process-context event named. */
	if (!ev->pid || ((f->flags & FF_PID_PROC) && !proc))
		return;
	if (f->pid && !proc)
		return;
	f->pid = ev->pid;
	memcpy(f->comm, ev->comm, TT_COMM_LEN);
	f->comm[TT_COMM_LEN - 1] = '\0';
	if (proc)
		f->flags |= FF_PID_PROC;
}

static bool event_opens_flow(const struct tt_event *ev)
{
	return ev->type == EV_STATE &&
	       ((ev->old_state == TT_TCP_CLOSE && ev->state == TT_TCP_SYN_SENT) ||
		(ev->old_state == TT_TCP_LISTEN && ev->state == TT_TCP_SYN_RECV));
}

/* Start a new life for a flow entry: the old one is judged first, since a
 * reused 4-tuple must not erase what happened on the previous connection. */
static void flow_reset(struct engine *e, const struct flow_key *key,
		       struct flow *f, __u64 now)
{
	flow_evaluate(e, key, f, now);
	conn_emit(e, key, f, now);
	memset(f, 0, sizeof(*f));
}

static struct flow *flow_for_event(struct engine *e, const struct tt_event *ev)
{
	bool created, opens = event_opens_flow(ev);
	struct flow *f;

	f = flowtable_get(e->flows, &ev->key, &created);
	if (!f)
		return NULL;
	/*
	 * An open event on a tuple we hold starts a new connection only if the
	 * old one closed: a snapshot may have met this one before its open
	 * event reached us, and that is the same connection.
	 */
	if (!created && opens && (f->flags & FF_CLOSED)) {
		flow_reset(e, &ev->key, f, ev->ts_ns);
		created = true;
	}
	if (!created && opens && !(f->flags & FF_START_KNOWN)) {
		f->start_ns = ev->ts_ns;
		f->flags |= FF_START_KNOWN;
	}
	if (created) {
		f->start_ns = ev->ts_ns;
		/* We know its start only if we saw it open; a flow first seen
		 * mid-life has the state the event reports. */
		if (opens)
			f->flags |= FF_START_KNOWN;
		f->state = ev->state;
	}
	if (ev->side != TT_SIDE_UNKNOWN && f->side == TT_SIDE_UNKNOWN)
		f->side = ev->side;
	if (state_synchronized(ev->state))
		f->flags |= FF_ESTABLISHED;
	flow_take_owner(f, ev);
	if (ev->cgroup_id && !f->cgroup_id)
		f->cgroup_id = ev->cgroup_id;
	f->updated_ns = ev->ts_ns;
	return f;
}

static void flow_push_state(struct flow *f, __u8 state)
{
	if (f->n_states && f->states[f->n_states - 1] == state)
		return;
	if (f->n_states < sizeof(f->states))
		f->states[f->n_states++] = state;
	else
		f->states[sizeof(f->states) - 1] = state;	/* keep how it ended */
}

/* The socket's own totals, read as it closed: a flow too short for any
 * snapshot has its statistics from here. */
static void flow_take_totals(struct flow *f, const struct tt_event *ev)
{
	if (!ev->segs_out && !ev->segs_in)
		return;
	f->bytes_acked = ev->bytes_acked;
	f->bytes_received = ev->bytes_received;
	f->segs_out = ev->segs_out;
	f->segs_in = ev->segs_in;
	f->data_segs_out = ev->data_segs_out;
	f->data_segs_in = ev->data_segs_in;
	f->total_retrans = ev->total_retrans;
	if (ev->srtt_us)
		f->srtt_us = ev->srtt_us;
	if (ev->min_rtt_us)
		f->min_rtt_us = ev->min_rtt_us;
	f->flags |= FF_TOTALS;
}

static void on_state(struct flow *f, const struct tt_event *ev)
{
	/* The close carries the whole path: the closing states before it
	 * sent no event of their own. */
	if (ev->state == TT_TCP_CLOSE && ev->path[0]) {
		/* From the open it is the whole story; from a socket adopted
		 * mid-life, the part after what its first event told. */
		if (ev->path[0] == TT_TCP_SYN_SENT || ev->path[0] == TT_TCP_SYN_RECV)
			f->n_states = 0;
		for (unsigned int i = 0; i < sizeof(ev->path) && ev->path[i]; i++)
			flow_push_state(f, ev->path[i]);
	}
	/* A flow first met mid-life: its path starts where we met it. */
	if (!f->n_states && ev->old_state != TT_TCP_CLOSE &&
	    ev->old_state != TT_TCP_LISTEN)
		flow_push_state(f, ev->old_state);
	flow_push_state(f, ev->state);
	if (ev->state == TT_TCP_ESTABLISHED && !f->established_ns)
		f->established_ns = ev->ts_ns;
	if (ev->state == TT_TCP_CLOSE)
		flow_take_totals(f, ev);
	f->state = ev->state;
	if (ev->old_state == TT_TCP_CLOSE && ev->state == TT_TCP_SYN_SENT &&
	    f->side == TT_SIDE_UNKNOWN)
		f->side = TT_SIDE_CLIENT;
	if (ev->old_state == TT_TCP_LISTEN && ev->state == TT_TCP_SYN_RECV &&
	    f->side == TT_SIDE_UNKNOWN)
		f->side = TT_SIDE_SERVER;
	if (state_synchronized(ev->old_state))
		f->flags |= FF_ESTABLISHED;
	if (ev->state == TT_TCP_CLOSE && !(f->flags & FF_CLOSED)) {
		f->flags |= FF_CLOSED;
		f->closed_ns = ev->ts_ns;
		f->close_from = ev->old_state;
	}
}

static void on_retrans(struct flow *f, const struct tt_event *ev)
{
	if (ev->srtt_us)
		f->ev_srtt_us = ev->srtt_us;
	if (ev->mss)
		f->mss = ev->mss;
	/* Within an eighth of the MSS counts as full-size: options and
	 * rounding keep full segments a few bytes short of it. */
	if (ev->state != TT_TCP_SYN_SENT && ev->seg_len && ev->mss) {
		if (ev->seg_len >= ev->mss - ev->mss / 8) {
			f->retrans_full++;
			if (ev->ca_state == TT_CA_LOSS)
				f->stuck_rto_full++;
		} else {
			f->retrans_small++;
			f->stuck_small++;
		}
	}
	if (ev->state == TT_TCP_SYN_SENT) {
		f->syn_retrans++;
		return;
	}
	f->retrans++;
	/* CA_LOSS: the retransmit timer fired. CA_RECOVERY: duplicate ACKs or
	 * SACK triggered a fast retransmit. Tail loss probes and the like in
	 * the other states are neither. */
	if (ev->ca_state == TT_CA_LOSS)
		f->rto_retrans++;
	else if (ev->ca_state == TT_CA_RECOVERY)
		f->fast_retrans++;
}

/* A SYN reached a port where no socket listens and this host answered RST.
 * The key is ours: laddr:lport is the probed port, raddr the client. */
static void on_port_closed(struct engine *e, const struct tt_event *ev)
{
	struct flow *f;
	bool created;

	f = flowtable_get(e->flows, &ev->key, &created);
	if (!f)
		return;
	if (!created && !(f->flags & FF_PORT_CLOSED)) {
		/* The tuple belonged to a connection that is gone now. */
		flow_reset(e, &ev->key, f, ev->ts_ns);
		created = true;
	}
	if (created) {
		f->start_ns = ev->ts_ns;
		f->flags |= FF_START_KNOWN | FF_PORT_CLOSED | FF_CLOSED;
		f->side = TT_SIDE_SERVER;
		f->state = TT_TCP_CLOSE;
		f->close_from = TT_TCP_LISTEN;
		f->rst_ns = ev->ts_ns;
	}
	/* It lingers from the latest refusal: a client retrying from the same
	 * port keeps adding to it. */
	f->closed_ns = ev->ts_ns;
	f->updated_ns = ev->ts_ns;
	f->syns_refused++;
	f->rst_tx++;
}

static void on_connect_err(struct engine *e, const struct tt_event *ev)
{
	struct diag_instance in;

	/*
	 * The route lookup in connect() refused before TCP's state machine
	 * ran: no socket state, no packet. Each failed call is its own
	 * occurrence, so it goes straight to folding without a flow entry
	 * (the local port is not even chosen yet: every attempt shares a key).
	 */
	if (ev->err != ENETUNREACH && ev->err != EHOSTUNREACH)
		return;
	instance_init(&in, DIAG_NO_ROUTE, TT_SIDE_CLIENT, &ev->key, ev->pid,
		      ev->comm, ev->err);
	ev_add(&in, "packets_sent", 0);
	raise_instance(e, &in);
}

/*
 * A segment this host's stack dropped. The flow may be one we know (a
 * SYN-ACK for our connect, data of an open connection) or none yet: an
 * inbound SYN refused before any socket saw it.
 */
static void on_drop(struct engine *e, const struct tt_event *ev)
{
	enum drop_class cls = drop_class_of(e, ev->reason);
	bool inbound = ev->flags & EVF_INBOUND;
	struct listener *l;
	struct flow *f;

	if (cls == DROP_IGNORE)
		return;
	f = flow_for_event(e, ev);
	if (!f)
		return;
	if (f->side == TT_SIDE_UNKNOWN && inbound && (ev->flags & EVF_SYN))
		f->side = TT_SIDE_SERVER;
	if (inbound)
		f->drops_in++;
	else
		f->drops_out++;
	if (ev->tcp_flags & TT_TCP_SYN)
		f->syn_drops++;
	f->drop_reason = ev->reason;
	f->drop_class = cls;
	if (cls == DROP_LISTEN_OVERFLOW) {
		struct listen_key lk = { .netns = ev->key.netns, .port = ev->key.lport };

		l = flowtable_lookup(e->listeners, &lk);
		if (l)
			l->overflow_drops++;
	}
}

void engine_on_event(struct engine *e, const struct tt_event *ev)
{
	struct flow *f;

	e->events++;
	switch (ev->type) {
	case EV_CONNECT_ERR:
		on_connect_err(e, ev);
		return;
	case EV_RST_TX:
		if (ev->flags & EVF_NO_SOCKET) {
			if (ev->flags & EVF_SYN) {
				on_port_closed(e, ev);
			} else {
				/* A stray segment for a connection this host no
				 * longer has: count it on a flow we still hold. */
				f = flowtable_lookup(e->flows, &ev->key);
				if (f)
					f->rst_tx++;
			}
			return;
		}
		break;
	case EV_DROP:
		on_drop(e, ev);
		return;
	case EV_STATE:
	case EV_RETRANS:
	case EV_SYNACK_RETRANS:
	case EV_RST_RX:
	case EV_SK_ERROR:
		break;
	default:
		return;	/* a newer recording's type: skip, never misread */
	}

	f = flow_for_event(e, ev);
	if (!f)
		return;

	switch (ev->type) {
	case EV_STATE:
		on_state(f, ev);
		break;
	case EV_RETRANS:
		on_retrans(f, ev);
		break;
	case EV_SYNACK_RETRANS: {
		struct listen_key lk = { .netns = ev->key.netns, .port = ev->key.lport };
		struct listener *l = flowtable_lookup(e->listeners, &lk);

		f->synack_retrans++;
		if (f->side == TT_SIDE_UNKNOWN)
			f->side = TT_SIDE_SERVER;
		/* The client's ACK did not complete the handshake: lost, or
		 * dropped because the accept queue was full. */
		if (l)
			l->synack_retrans++;
		break;
	}
	case EV_RST_RX:
		if (!f->rst_rx)
			f->rst_rx_state = ev->state;
		f->rst_rx++;
		f->flags |= FF_RST_RX;
		if (!f->rst_ns)
			f->rst_ns = ev->ts_ns;
		break;
	case EV_RST_TX:
		f->rst_tx++;
		f->flags |= FF_RST_TX;
		f->rst_reason = ev->reason;
		if (rst_reason_synchronized(ev->reason))
			f->flags |= FF_ESTABLISHED;
		if (!f->rst_ns)
			f->rst_ns = ev->ts_ns;
		break;
	case EV_SK_ERROR:
		if (ev->err > 0)
			f->app_error = ev->err;
		break;
	default:
		break;
	}
}

/* ---- snapshots -------------------------------------------------------- */

static void snapshot_first(struct flow *f, const struct tt_sock_scan *s,
			   __u64 now)
{
	/* Nothing is known of the past: every "last changed" time is now,
	 * which can delay a stall verdict but never invent one. */
	f->last_send_ns = now;
	f->last_recv_ns = now;
	f->zero_wnd_since_ns = s->snd_wnd ? 0 : now;
	f->unread_since_ns = seq_span(s->rcv_nxt, s->copied_seq) ? now : 0;

	/* Whose turn it is follows from the totals only when one direction
	 * never carried data; otherwise the order is unknown: assume none. */
	if (s->bytes_sent && !s->bytes_received) {
		f->turn = TURN_PEER;
		f->turn_bytes = s->bytes_sent;
	} else if (s->bytes_received && !s->bytes_sent) {
		f->turn = TURN_LOCAL;
		f->turn_bytes = s->bytes_received;
	} else {
		f->turn = TURN_NONE;
		f->turn_bytes = 0;
	}
}

static void snapshot_next(struct flow *f, const struct tt_sock_scan *s,
			  __u64 now)
{
	__u32 wrote = seq_span(s->write_seq, f->write_seq);
	__u32 got = seq_span(s->rcv_nxt, f->rcv_nxt);
	bool sent = wrote || seq_after(s->snd_nxt, f->snd_nxt);
	bool read = seq_after(s->copied_seq, f->copied_seq);

	if (sent)
		f->last_send_ns = now;
	if (got)
		f->last_recv_ns = now;

	if (wrote && got) {
		/* Both spoke within one interval: an exchange completed, or
		 * both stream. Either way nobody is provably waiting. */
		f->turn = TURN_NONE;
		f->turn_bytes = 0;
	} else if (wrote) {
		if (f->turn == TURN_PEER) {
			f->turn_bytes += wrote;
		} else {
			f->turn = TURN_PEER;
			f->turn_bytes = wrote;
		}
	} else if (got) {
		if (f->turn == TURN_LOCAL) {
			f->turn_bytes += got;
		} else {
			f->turn = TURN_LOCAL;
			f->turn_bytes = got;
		}
	}

	if (!seq_span(s->rcv_nxt, s->copied_seq))
		f->unread_since_ns = 0;
	else if (read || !f->unread_since_ns)
		/* The application is reading (slowly is not stalled), or data
		 * just started waiting. */
		f->unread_since_ns = now;

	if (s->snd_wnd)
		f->zero_wnd_since_ns = 0;
	else if (!f->zero_wnd_since_ns)
		f->zero_wnd_since_ns = now;
}

static bool scan_state_tracked(__u8 state)
{
	/* TIME_WAIT and request sockets carry no sequence state worth
	 * judging; CLOSE sockets are unhashed and never reported. */
	return state != TT_TCP_TIME_WAIT && state != TT_TCP_NEW_SYN_RECV &&
	       state != TT_TCP_CLOSE && state != TT_TCP_LISTEN &&
	       state > 0 && state < TT_TCP_STATE_MAX;
}

void engine_on_scan(struct engine *e, const struct tt_sock_scan *s,
		    __u64 now_ns)
{
	struct flow *f;
	bool created;

	e->scans++;
	if (s->state == TT_TCP_LISTEN) {
		struct listen_key lk = { .netns = s->key.netns,
					 .port = s->key.lport };
		struct listener *l = flowtable_get(e->listeners, &lk, NULL);

		if (l) {
			l->scan_gen = e->scan_gen;
			l->key = s->key;
			/* Drops counted since the last scan, while the queue was
			 * full: handshakes the accept queue had no room for. */
			if (l->drops_known && s->sk_drops > l->sk_drops &&
			    s->ack_backlog > s->max_ack_backlog)
				l->overflow_drops += s->sk_drops - l->sk_drops;
			l->sk_drops = s->sk_drops;
			l->drops_known = true;
			l->ack_backlog = s->ack_backlog;
			l->max_ack_backlog = s->max_ack_backlog;
			/* sk_acceptq_is_full(): more waiting than the backlog allows */
			l->full_scans = s->ack_backlog > s->max_ack_backlog ?
					l->full_scans + 1 : 0;
		}
		return;
	}
	if (!scan_state_tracked(s->state))
		return;

	/* Events are the authority on a close: a snapshot of a flow they
	 * closed was taken before the close reached us. */
	f = flowtable_lookup(e->flows, &s->key);
	if (f && (f->flags & FF_CLOSED))
		return;
	/*
	 * A full table makes room for flows that events speak of, not for
	 * sockets a scan merely met: with more sockets than the table holds,
	 * every scan would evict the last one's and start again. They are
	 * counted instead.
	 */
	if (!f && flowtable_count(e->flows) >= e->cfg.max_flows) {
		e->scan_untracked++;
		return;
	}

	f = flowtable_get(e->flows, &s->key, &created);
	if (!f)
		return;
	if (created)
		f->start_ns = now_ns;
	f->state = s->state;
	if (state_synchronized(s->state))
		f->flags |= FF_ESTABLISHED;

	if (f->flags & FF_SCANNED)
		snapshot_next(f, s, now_ns);
	else
		snapshot_first(f, s, now_ns);
	/* Progress: the peer acknowledges something new, or nothing waits. */
	if (s->snd_una == s->snd_nxt || !(f->flags & FF_SCANNED) ||
	    s->snd_una != f->snd_una)
		f->una_stuck_since_ns = s->snd_una == s->snd_nxt ? 0 : now_ns;
	if ((f->flags & FF_SCANNED) && seq_after(s->snd_una, f->snd_una)) {
		f->flags |= FF_UNA_MOVED;
		/* Small segments ACKed before the full-size ones were lost
		 * prove nothing; ACKs after a retransmit prove a path. */
		if (f->retrans_full || f->retrans_small)
			f->flags |= FF_ACKED_AFTER_RETRANS;
		/* Loss that recovers is no black hole: start counting again. */
		f->stuck_rto_full = f->stuck_small = 0;
	} else {
		f->flags &= ~FF_UNA_MOVED;
	}

	f->snd_una = s->snd_una;
	f->snd_nxt = s->snd_nxt;
	f->write_seq = s->write_seq;
	f->rcv_nxt = s->rcv_nxt;
	f->copied_seq = s->copied_seq;
	f->snd_wnd = s->snd_wnd;
	f->rcv_wnd = s->rcv_wnd;
	f->srtt_us = s->srtt_us;
	f->min_rtt_us = s->min_rtt_us;
	f->total_retrans = s->total_retrans;
	f->data_segs_out = s->data_segs_out;
	f->data_segs_in = s->data_segs_in;
	f->segs_out = s->segs_out;
	f->segs_in = s->segs_in;
	f->bytes_acked = s->bytes_acked;
	f->bytes_sent = s->bytes_sent;
	f->bytes_received = s->bytes_received;
	f->probes_out = s->probes_out;

	f->flags |= FF_SCANNED;
	f->last_scan_ns = now_ns;
	f->scan_gen = e->scan_gen;
	f->scans_missed = 0;
	f->updated_ns = now_ns;
}

/* The NIC's counters only grow: a record carries the flow's whole story. */
void engine_on_nic(struct engine *e, const struct flow_key *key,
		   const struct nic_flow *nf, __u64 now_ns)
{
	struct flow *f;

	(void)now_ns;
	/*
	 * A SYN-ACK for a local port whose SYN went elsewhere: the flow to
	 * blame is the one the SYN opened, named by where it went.
	 */
	if ((nf->flags & NIC_F_STRAY_SYNACK) && (nf->flags & NIC_F_SYN_MATCHED)) {
		struct flow_key syn_key = *key;

		memcpy(syn_key.raddr, nf->syn_raddr, sizeof(syn_key.raddr));
		syn_key.rport = nf->syn_rport;
		f = flowtable_lookup(e->flows, &syn_key);
		if (f && memcmp(&syn_key, key, sizeof(syn_key))) {
			f->nat_mismatch = true;
			memcpy(f->nat_raddr, key->raddr, sizeof(f->nat_raddr));
			f->nat_rport = key->rport;
			f->nat_synacks = nf->dir[NIC_IN].synack;
		}
		return;
	}
	f = flowtable_lookup(e->flows, key);
	if (!f)
		return;
	f->nic_seen = true;
	f->nic_syn_out = nf->dir[NIC_OUT].syn;
	f->nic_synack_in = nf->dir[NIC_IN].synack;
	f->nic_rst_in = nf->dir[NIC_IN].rst;
	f->nic_pkts_in = nf->dir[NIC_IN].pkts;
	f->nic_max_seg_out = nf->dir[NIC_OUT].max_seg;
	memcpy(f->icmp, nf->icmp.count, sizeof(f->icmp));
	f->icmp_mtu = nf->icmp.mtu;
	memcpy(f->icmp_from, nf->icmp.from, sizeof(f->icmp_from));
}

void engine_scan_end(struct engine *e, __u64 now_ns)
{
	struct listener *l, *lnext;
	struct flow *f;

	(void)now_ns;
	for (f = flowtable_first(e->flows); f; f = flowtable_next(e->flows, f)) {
		if (f->flags & FF_CLOSED)
			continue;
		if (f->scan_gen != e->scan_gen && f->scans_missed < 255)
			f->scans_missed++;
	}
	for (l = flowtable_first(e->listeners); l; l = lnext) {
		lnext = flowtable_next(e->listeners, l);
		if (l->scan_gen != e->scan_gen)
			flowtable_delete(e->listeners, l);
	}
	e->scan_gen++;
}

void engine_note_lost(struct engine *e, __u64 lost_total)
{
	if (lost_total > e->lost_total)
		e->lost_total = lost_total;
}

/* ---- emission --------------------------------------------------------- */

static void emit(struct engine *e, const struct diag_instance *in,
		 __u32 connections, __u64 now, diag_fn fn, void *ctx)
{
	struct diagnosis d;
	unsigned int i;

	memset(&d, 0, sizeof(d));
	d.code = in->code;
	d.severity = in->code < DIAG_CODE_MAX ? code_severity[in->code] :
						SEV_ERROR;
	d.side = in->side;
	d.key = in->key;
	d.pid = in->pid;
	memcpy(d.comm, in->comm, TT_COMM_LEN);
	d.comm[TT_COMM_LEN - 1] = '\0';
	d.ts_ns = now;
	d.connections = connections;
	d.app_error = in->app_error;
	/* Once any event was lost, a verdict may rest on a missing fact
	 * (a SYN-ACK, a reset): every later diagnosis says so. */
	d.events_lost = e->lost_total > 0;
	d.n_evidence = in->n_evidence;
	for (i = 0; i < in->n_evidence; i++)
		d.evidence[i] = in->evidence[i];
	memcpy(d.reason, in->reason, sizeof(d.reason));
	d.reason[sizeof(d.reason) - 1] = '\0';
	catalogue_fill(&d);
	e->diagnoses++;
	if (fn)
		fn(&d, ctx);
}

static void evaluate_all(struct engine *e, __u64 now)
{
	struct flow *f;

	for (f = flowtable_first(e->flows); f; f = flowtable_next(e->flows, f))
		flow_evaluate(e, flowtable_key(e->flows, f), f, now);
}

static void emit_due(struct engine *e, __u64 now, diag_fn fn, void *ctx)
{
	size_t i;

	for (i = 0; i < e->n_due; i++)
		emit(e, &e->due[i].first, e->due[i].connections, now, fn, ctx);
	e->n_due = 0;
}

static bool flow_retired(const struct flow *f, __u64 now)
{
	if (f->flags & FF_CLOSED)
		return elapsed(f->closed_ns, now) >= FLOW_LINGER_NS;
	return f->scans_missed >= SCANS_MISSED_GONE &&
	       elapsed(f->updated_ns, now) >= FLOW_LINGER_NS;
}

void engine_tick(struct engine *e, __u64 now_ns, diag_fn fn, void *ctx)
{
	struct fold_group *g, *gnext;
	struct flow *f, *fnext;
	struct listener *l;

	evaluate_all(e, now_ns);

	/* Judged above: the flows whose story is over can go now. */
	for (f = flowtable_first(e->flows); f; f = fnext) {
		fnext = flowtable_next(e->flows, f);
		if (flow_retired(f, now_ns)) {
			conn_emit(e, flowtable_key(e->flows, f), f, now_ns);
			flowtable_delete(e->flows, f);
		} else if (e->cfg.conn_interval_ns && !(f->flags & FF_CLOSED) &&
			   elapsed(f->last_conn_ns ? f->last_conn_ns : f->start_ns,
				   now_ns) >= e->cfg.conn_interval_ns) {
			/* Long-lived: report as it goes, not only at the end. */
			conn_emit(e, flowtable_key(e->flows, f), f, now_ns);
			f->last_conn_ns = now_ns;
		}
	}
	for (l = flowtable_first(e->listeners); l; l = flowtable_next(e->listeners, l))
		rule_listener_full(e, l, now_ns);

	emit_due(e, now_ns, fn, ctx);

	/*
	 * A problem not reported within the fold window is reported at once
	 * with whatever this tick found; repeats inside the window wait and
	 * go out together when it has passed.
	 */
	for (g = flowtable_first(e->groups); g; g = gnext) {
		gnext = flowtable_next(e->groups, g);
		if (g->emitted && elapsed(g->last_emit_ns, now_ns) < e->cfg.fold_ns)
			continue;
		if (!g->pending) {
			flowtable_delete(e->groups, g);
			continue;
		}
		emit(e, &g->first, g->pending, now_ns, fn, ctx);
		g->pending = 0;
		g->emitted = true;
		g->last_emit_ns = now_ns;
	}
}

void engine_finish(struct engine *e, __u64 now_ns, diag_fn fn, void *ctx)
{
	struct fold_group *g;
	struct flow *f;

	evaluate_all(e, now_ns);
	/* Every flow still held gets its record: closed ones as they ended,
	 * open ones as they stand. */
	for (f = flowtable_first(e->flows); f; f = flowtable_next(e->flows, f))
		conn_emit(e, flowtable_key(e->flows, f), f, now_ns);
	emit_due(e, now_ns, fn, ctx);
	for (g = flowtable_first(e->groups); g; g = flowtable_next(e->groups, g)) {
		if (!g->pending)
			continue;
		emit(e, &g->first, g->pending, now_ns, fn, ctx);
		g->pending = 0;
		g->emitted = true;
		g->last_emit_ns = now_ns;
	}
}

void engine_get_stats(const struct engine *e, struct engine_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->events = e->events;
	st->scans = e->scans;
	st->scan_untracked = e->scan_untracked;
	st->flows = flowtable_count(e->flows);
	st->flows_evicted = flowtable_evictions(e->flows);
	st->diagnoses = e->diagnoses;
}
