/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The diagnosis engine: kernel events and socket snapshots in, diagnoses
 * out. Pure: no I/O, no clock (time is an argument), no libbpf. The live
 * tracer, replay and the unit tests drive it the same way.
 *
 * A diagnosis is a verdict and its evidence, not text: the words (summary,
 * causes, checks) are rendered from it at the output stage (words.h). What
 * each code means, how severe it is, which judge decides it and which
 * words tell it is one entry of the catalogue (catalogue.c).
 */
#ifndef TCPTRACE_DIAGNOSE_H
#define TCPTRACE_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include "drop_reason.h"
#include "events.h"
#include "nic.h"
#include "scan.h"

/* Stable identifiers: the JSON "code" and a metric label. */
enum diag_code {
	DIAG_SYN_UNANSWERED = 0,
	DIAG_LOCAL_DROP,
	DIAG_NO_ROUTE,
	DIAG_HOST_UNREACHABLE,
	DIAG_FIREWALL_REJECT,
	DIAG_CONNECTION_REFUSED,
	DIAG_PORT_CLOSED,
	DIAG_NAT_MISMATCH,
	DIAG_LISTEN_OVERFLOW,
	DIAG_PACKET_LOSS,
	DIAG_PMTU_BLACKHOLE,
	DIAG_PEER_APP_STALL,
	DIAG_LOCAL_APP_STALL,
	DIAG_ZERO_WINDOW,
	DIAG_PEER_RESET,
	DIAG_LOCAL_RESET,
	DIAG_CONNECTION_TIMEOUT,
	DIAG_PROCESS_KILLED,
	DIAG_CODE_MAX,
};

enum diag_severity {
	SEV_INFO = 0,		/* worth knowing, not a fault */
	SEV_WARNING,		/* degraded: loss, a slow peer */
	SEV_ERROR,		/* the connection failed or broke */
};

#define DIAG_MAX_EVIDENCE	20
#define DIAG_REASON_LEN		48
#define DIAG_MAX_PEERS		4

/* A peer a diagnosis names by address, and how many of its connections. */
struct diag_peer {
	__u16 family;
	__u8 addr[16];
	__u32 connections;
};

/* Evidence is a list of named numbers; a name ending in _ms is a duration. */
struct cgroup_name;

struct diag_evidence_item {
	const char *name;	/* static string */
	long long value;
};

struct diagnosis {
	enum diag_code code;
	enum diag_severity severity;
	enum tt_side side;
	struct flow_key key;	/* the first flow folded into it */
	__u32 pid;		/* 0 when unknown */
	char comm[TT_COMM_LEN];	/* "" when unknown */
	__u64 cgroup_id;	/* the owner's cgroup (v2); 0 when unknown */
	/* Its name, filled by the pipeline as it goes out (NULL: unknown). */
	const struct cgroup_name *cgroup;
	__u64 ts_ns;		/* monotonic time it was made */
	__u32 connections;	/* flows folded into this diagnosis */
	int app_error;		/* positive errno the app saw, 0 for none */
	bool events_lost;	/* events were lost within its evidence window: treat with care */
	/* Where its evidence starts (monotonic); 0: the flow's start. */
	__u64 since_ns;
	unsigned int n_evidence;
	struct diag_evidence_item evidence[DIAG_MAX_EVIDENCE];
	/* The kernel's reason for dropping the flow's segments, when a drop
	 * is the evidence, and its name in the running kernel ("" unnamed). */
	bool has_drop_reason;
	__u32 drop_reason;
	char drop_reason_name[DIAG_REASON_LEN];
	/* Who answered in the peer's stead: the router that sent an ICMP
	 * error, or where a SYN-ACK came from after a NAT rewrote our SYN
	 * (then with its port). Same family as key. */
	bool has_responder;
	__u8 responder[16];
	__u16 responder_port;	/* 0: an address alone */
	/* PROCESS_KILLED: the peers of the connections it took down (the
	 * first DIAG_MAX_PEERS addresses), and the connections to the rest. */
	unsigned int n_peers;
	struct diag_peer peers[DIAG_MAX_PEERS];
	__u32 peers_other;
};

struct engine_config {
	__u64 stall_ns;		/* no answer / no read / zero window for this long */
	__u32 loss_pct;		/* retransmitted share of data segments, percent */
	__u32 loss_min_retrans;	/* and at least this many retransmits */
	__u32 syn_retrans;	/* SYN retransmits that make SYN_UNANSWERED */
	__u64 request_max_bytes;/* a send burst larger than this is a stream, not a request */
	__u64 fold_ns;		/* repeats of one problem within this fold into one */
	__u32 max_flows;	/* flow table bound; the oldest idle flow is evicted */
	__u64 conn_interval_ns;	/* conn records for open flows this often; 0: at close only */
	bool nic_ingress;	/* NIC hooks count arrivals: absence at the NIC is evidence */
	/* The kernel's tick (CONFIG_HZ), the unit of the socket clocks in
	 * snapshots; 0: learned from the snapshots themselves. */
	__u32 hz;
	/*
	 * What each kernel drop reason means here, indexed by its value in
	 * the running kernel's enum skb_drop_reason (the caller reads the
	 * names from BTF). NULL: every reason above NOT_SPECIFIED is a drop.
	 */
	const __u8 *drop_class;	/* enum drop_class */
	__u32 n_drop_class;
	/* Name of a drop reason for the words of a diagnosis; may be NULL. */
	const char *(*drop_reason_name)(unsigned int reason);
};

/* A connection's statistics: at close, or every conn_interval while open. */
struct conn_record {
	struct flow_key key;
	enum tt_side side;
	__u32 pid;
	char comm[TT_COMM_LEN];
	__u64 cgroup_id;
	const struct cgroup_name *cgroup;	/* filled by the pipeline; NULL: unknown */
	__u64 start_ns;		/* monotonic: the open, or when first seen */
	__u64 ts_ns;		/* monotonic: the close, or now while open */
	bool start_known;	/* start_ns is the open itself */
	bool open;
	unsigned int n_states;
	__u8 states[8];		/* the state path, oldest first */
	__u64 connect_ns;	/* SYN_SENT to ESTABLISHED; 0 when not seen */
	__u64 bytes_sent;	/* delivered: ACKed by the peer */
	__u64 bytes_received;
	__u32 segs_out, segs_in;
	__u32 data_segs_out, data_segs_in;
	__u32 retrans;		/* data retransmits */
	__u32 retrans_rto;	/* of those seen as events: sent after a timeout */
	__u32 retrans_fast;	/* ... sent in fast recovery (duplicate ACKs, SACK) */
	__u32 syn_retrans;
	__u32 srtt_us, min_rtt_us;
	__u32 rst_rx, rst_tx;
	int app_error;
	const char *close_reason;	/* "fin", "reset_by_peer", ... (static) */
	__u32 codes;		/* 1 << enum diag_code for each diagnosis it got */
	bool events_lost;
};

typedef void (*conn_fn)(const struct conn_record *c, void *ctx);

struct engine_stats {
	__u64 events;		/* events consumed */
	__u64 scans;		/* socket snapshots consumed */
	__u64 flows;		/* flows tracked now */
	__u64 flows_evicted;	/* flows dropped because the table was full */
	__u64 scan_untracked;	/* snapshots a full table did not take (counted each scan) */
	__u64 diagnoses;	/* diagnoses emitted (folded ones count once) */
};

typedef void (*diag_fn)(const struct diagnosis *d, void *ctx);

struct engine;

void engine_config_default(struct engine_config *cfg);
struct engine *engine_new(const struct engine_config *cfg);
void engine_free(struct engine *e);

/* Feed a ring-buffer event. */
void engine_on_event(struct engine *e, const struct tt_event *ev);
/* Feed one socket of a scan taken at now_ns ... */
void engine_on_scan(struct engine *e, const struct tt_sock_scan *s, __u64 now_ns);
/* Feed the NIC's counters of one flow (a nic_flows record), read at now_ns. */
void engine_on_nic(struct engine *e, const struct flow_key *key,
		   const struct nic_flow *nf, __u64 now_ns);
/* A namespace's walk failed in the scan under way (host-wide scans). */
void engine_scan_partial(struct engine *e);
/* ... and close the scan: flows it did not report are gone from the kernel,
 * or were left out as unchanged (sock_scan.bpf.c) when the scan was whole. */
void engine_scan_end(struct engine *e, __u64 now_ns);
/* The tracer has lost this many events in total so far: the diagnoses whose
 * evidence reaches back before the next tick carry the caveat. */
void engine_note_lost(struct engine *e, __u64 lost_total);
/* Evaluate timers and emit what is due. Call every interval. */
void engine_tick(struct engine *e, __u64 now_ns, diag_fn fn, void *ctx);
/* Emit everything still pending (exit, end of a replay). */
void engine_finish(struct engine *e, __u64 now_ns, diag_fn fn, void *ctx);
void engine_get_stats(const struct engine *e, struct engine_stats *st);
/* Where conn records go (at retirement, every conn_interval, at finish); none by default. */
void engine_set_conn_sink(struct engine *e, conn_fn fn, void *ctx);

const char *diag_code_name(enum diag_code code);
const char *diag_severity_name(enum diag_severity sev);
/* The named evidence value of d; false when d does not carry it. */
bool diag_evidence_get(const struct diagnosis *d, const char *name,
		       long long *value);

#endif /* TCPTRACE_DIAGNOSE_H */
