/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Judges: each reads facts and decides whether its diagnosis holds, and
 * if so fills the diagnosis' evidence. A judge formats no text (the words
 * do, at the output stage) and raises nothing itself: it answers, the
 * engine raises. The catalogue (catalogue.c) names the judge of each code.
 *
 * Three scopes, one judge each at most per diagnosis:
 *   flow      every flow, every tick (most diagnoses)
 *   listener  every listening port, every tick (a full accept queue)
 *   event     an event that is an occurrence of its own, with no flow
 *             (connect() refused by the route lookup)
 */
#ifndef TCPTRACE_JUDGE_H
#define TCPTRACE_JUDGE_H

#include "diagnose.h"
#include "facts.h"

/* What a flow's judge reads. */
struct judge_in {
	const struct engine_config *cfg;
	const struct flow_key *key;
	const struct flow *f;
	enum tt_side side;	/* the kernel's, or told by a listener on the port */
	__u64 now;
	/* The last scan still reported the flow: its snapshot facts are
	 * the socket as it is, and absence up to that scan is evidence. */
	bool scan_current;
	/* The flow's local port's listener, NULL if none: the judges of the
	 * listen queue keep there what one of them already said. */
	struct listener *listener;
	/* The flow's service endpoint, NULL if it taught nothing yet. */
	const struct endpoint *endpoint;
	/*
	 * The flow's last judgement (it is retired, evicted, reused, or the
	 * run ends): no later event can change what its events say now,
	 * and a judge that waits for more of the story decides now.
	 */
	bool final;
	/* The process whose exit closed the flow (or its other end on this
	 * host), if the flow has one and it is still remembered. */
	const struct death *death;
};

/*
 * Events of one kernel moment (a reset and the abort that follows it)
 * reach the ring buffer within microseconds, but may straddle a tick: a
 * judge that reads them together waits this long after the first.
 */
#define EVENTS_SETTLE_NS	(100 * NSEC_PER_MSEC)

/* The moment's events are all in, or will never be. */
static inline bool judge_settled(const struct judge_in *in, __u64 since_ns)
{
	return in->final || elapsed(since_ns, in->now) >= EVENTS_SETTLE_NS;
}

/*
 * d arrives with the flow's code, key, owner, side and app_error set;
 * a judge that says yes fills its evidence (and changes side or
 * app_error where its diagnosis has its own).
 */
typedef bool (*judge_flow_fn)(const struct judge_in *in, struct diagnosis *d);
/* d arrives with code and key (the listener's) set; side is the server. */
typedef bool (*judge_listener_fn)(const struct engine_config *cfg,
				  struct listener *l, __u64 now,
				  struct diagnosis *d);
/* d arrives with code, key and owner set from the event. */
typedef bool (*judge_event_fn)(const struct tt_event *ev, struct diagnosis *d);

void evidence_add(struct diagnosis *d, const char *name, long long value);
/* The kernel's drop reason, named when the running kernel names it. */
void verdict_drop_reason(struct diagnosis *d, const struct engine_config *cfg,
			 __u32 reason);
/* Who answered in the peer's stead (port 0: an address alone). */
void verdict_responder(struct diagnosis *d, const __u8 addr[16], __u16 port);

static inline long long ns_to_ms(__u64 ns)
{
	return (long long)(ns / NSEC_PER_MSEC);
}

/* Handshake (judge_handshake.c). */
bool judge_connection_refused(const struct judge_in *in, struct diagnosis *d);
bool judge_syn_unanswered(const struct judge_in *in, struct diagnosis *d);
bool judge_port_closed(const struct judge_in *in, struct diagnosis *d);

/* Path and ICMP (judge_path.c). */
bool judge_no_route(const struct judge_in *in, struct diagnosis *d);
bool judge_connect_no_route(const struct tt_event *ev, struct diagnosis *d);
bool judge_host_unreachable(const struct judge_in *in, struct diagnosis *d);
bool judge_firewall_reject(const struct judge_in *in, struct diagnosis *d);
bool judge_nat_mismatch(const struct judge_in *in, struct diagnosis *d);

/* Loss, timeouts and PMTU (judge_loss.c). */
bool judge_pmtu_blackhole(const struct judge_in *in, struct diagnosis *d);
bool judge_packet_loss(const struct judge_in *in, struct diagnosis *d);
bool judge_connection_timeout(const struct judge_in *in, struct diagnosis *d);
bool judge_connection_timed_out(const struct judge_in *in, struct diagnosis *d);

/* Stalls and windows (judge_stall.c). */
bool judge_peer_app_stall(const struct judge_in *in, struct diagnosis *d);
bool judge_local_app_stall(const struct judge_in *in, struct diagnosis *d);
bool judge_zero_window(const struct judge_in *in, struct diagnosis *d);

/* Resets (judge_reset.c). */
bool judge_peer_reset(const struct judge_in *in, struct diagnosis *d);
bool judge_local_reset(const struct judge_in *in, struct diagnosis *d);

/* The severity rules of the catalogue entries whose severity depends on
 * the evidence (beside their judges). */
enum diag_severity severity_of_reset(const struct diagnosis *d);
enum diag_severity severity_of_port_closed(const struct diagnosis *d);
enum diag_severity severity_of_killed(const struct diagnosis *d);
enum diag_severity severity_of_local_drop(const struct diagnosis *d);

/* Drops and listen queues (judge_drop.c). */
bool judge_dropped_here(const struct judge_in *in, struct diagnosis *d,
			enum drop_class cls);
bool judge_local_drop(const struct judge_in *in, struct diagnosis *d);
bool judge_listen_overflow(const struct judge_in *in, struct diagnosis *d);
bool judge_listener_full(const struct engine_config *cfg, struct listener *l,
			 __u64 now, struct diagnosis *d);

#endif /* TCPTRACE_JUDGE_H */
