/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcptrace-bpf correlate FILE_A FILE_B: the recordings of the two ends of
 * the same connections, joined. What one capture alone cannot say (did
 * the SYN that left here reach there? whose firewall dropped it? who
 * stopped answering?) is read off the two hosts' counts of the same flow.
 *
 *   correlate_view.c  a recording -> one host's flows: NIC counts, events,
 *                     drops, resets, snapshots, the engine's diagnoses
 *   correlate_join.c  two hosts' flows -> pairs (mirrored 4-tuple, or a
 *                     NAT's: ports, time, initial sequence number), the
 *                     clock offset, a verdict per broken pair
 *   correlate.c       the command: options, the two views, the output
 */
#ifndef TCPTRACE_CORRELATE_H
#define TCPTRACE_CORRELATE_H

#include "cli.h"
#include "diagnose.h"
#include "record.h"

struct flowtable;

enum verdict_code {
	VERDICT_PATH_DROP = 0,	/* left one host's NIC, never reached the other's */
	VERDICT_HOST_DROP,	/* reached that host's NIC, dropped by its own stack */
	VERDICT_NAT_MISMATCH,	/* the reply came back untranslated */
	VERDICT_APP_STALL,	/* the server got the request, no response left it */
	VERDICT_RESET,		/* one side reset it: which and why */
	VERDICT_CLOCK,		/* the recordings do not overlap in time */
	VERDICT_CODE_MAX,
};

enum verdict_where {
	WHERE_CLIENT = 0,
	WHERE_SERVER,
	WHERE_NETWORK,
};

#define VERDICT_MAX_EVIDENCE	12
#define VERDICT_TEXT		320

struct verdict {
	enum verdict_code code;
	enum verdict_where where;
	__u16 family;
	__u8 caddr[16], saddr[16];	/* as the client addressed it, as the server is */
	__u16 cport, sport;
	long long wall_ns;		/* the client's first SYN (wall clock); 0: unknown */
	char summary[VERDICT_TEXT];
	char reason[DIAG_REASON_LEN];	/* the kernel's drop reason, when one is the evidence */
	unsigned int n_evidence;
	struct diag_evidence_item evidence[VERDICT_MAX_EVIDENCE];
};

/* ---------------------------------------------------------------- one host */

/* One connection (4-tuple) as one host saw it, from its point of view. */
struct cflow {
	struct flow_key key;		/* netns zero: hosts are joined on the tuple */
	enum tt_side side;
	bool has_nic;
	struct nic_flow nic;		/* the latest NIC record */
	__u64 first_ns, last_ns;	/* this host's clock: first and last record */
	__u64 syn_ns;			/* client: the first SYN left (event or NIC) */
	__u32 syn_retrans;		/* SYNs sent again */
	__u32 synack_retrans;
	bool established;
	bool closed;
	/* the handshake's drops by this host's stack */
	__u32 drops_in, drops_out;
	__u32 drop_reason;		/* of the first */
	__u8 drop_flags;		/* TCP flags of the first dropped segment */
	bool drop_named;
	char drop_name[DIAG_REASON_LEN];
	/* resets */
	__u32 rst_rx, rst_tx;
	__u32 rst_reason;		/* of the last RST sent */
	__u32 rst_unread, rst_unsent;	/* what the RST sent cut off */
	bool rst_no_socket;		/* the RST answered a segment no socket took */
	__u8 rst_state;			/* the state the RST was sent in */
	int app_error;			/* the error the application saw */
	/* a NAT: a SYN-ACK came back from elsewhere (from the NIC's stray record) */
	bool nat_reply;
	__u8 nat_addr[16];
	__u16 nat_port;
	bool stray;			/* it is such a reply's record itself: no flow of its own */
	/* snapshots */
	__u64 bytes_sent, bytes_received;	/* the latest totals */
	/* the engine's verdicts on this flow at this host */
	__u32 codes;			/* 1 << enum diag_code */
	__u32 serious;			/* ... of those, warning or error */
	long long stall_ms;		/* the longest stall evidence (waited_ms) */
	bool matched;
};

struct chost {
	const char *path;
	struct rec_header hdr;		/* copied; drop names owned here */
	__u64 start_ns, end_ns;		/* the recording's span, its clock */
	bool whole;			/* read to its end without damage */
	enum rec_status status;
	char why[256];
	struct cflow *flows;
	size_t n, cap;
	struct flowtable *index;	/* tuple -> position in flows + 1 */
	__u64 events_lost;
};

/*
 * Reads a recording into a host view; -1 when it cannot be read at all
 * (why says why). A damaged one gives what precedes the damage
 * (h->status, h->why). Thresholds are the recording's under what the
 * command line (argc, argv, parsed by cli_parse_mode) says.
 */
int chost_read(struct chost *h, const char *path, int argc, char **argv,
	       char *why, size_t why_len);
void chost_free(struct chost *h);
/* The flow with this tuple (this host's view), or NULL. */
struct cflow *chost_find(struct chost *h, __u16 family, const __u8 laddr[16], __u16 lport,
			 const __u8 raddr[16], __u16 rport);

/* ---------------------------------------------------------------- the join */

struct corr_result {
	/* B's clock = A's clock + offset_ns */
	long long offset_ns;
	enum {
		CLOCK_SAME_BOOT,	/* one machine's boot: one clock */
		CLOCK_HANDSHAKES,	/* measured from the handshakes */
		CLOCK_WALL,		/* the hosts' wall clocks, unchecked */
	} clock_from;
	long long offset_spread_ns;	/* handshakes: how far they disagree */
	unsigned int handshakes;	/* used for the offset */
	bool overlap;
	unsigned int pairs, nat_pairs;	/* flows found at both ends */
	unsigned int unmatched;		/* clients whose server end is in neither */
	unsigned int outside;		/* clients outside the other recording's time */
	unsigned int verdicts;
};

typedef void (*verdict_fn)(const struct verdict *v, void *ctx);

/* Joins a and b (either may hold clients and servers), calls fn per verdict. */
void correlate_join(struct chost *a, struct chost *b, struct corr_result *res,
		    verdict_fn fn, void *ctx);

const char *verdict_code_name(enum verdict_code c);
const char *verdict_where_name(enum verdict_where w);

/* The exit code. */
int correlate_main(int argc, char **argv);

#endif /* TCPTRACE_CORRELATE_H */
