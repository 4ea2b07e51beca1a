/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Inside the engine: its state, and what its rooms ask of each other.
 *   facts_event.c, facts_scan.c  events, snapshots, NIC records -> facts
 *   engine.c                     judging every flow through the catalogue
 *   fold.c                       raised diagnoses -> folded, emitted ones
 *   conn.c                       a flow's facts -> its conn record
 */
#ifndef TCPTRACE_ENGINE_H
#define TCPTRACE_ENGINE_H

#include <stddef.h>
#include "diagnose.h"
#include "facts.h"
#include "flowtable.h"

struct due_batch;

/* Events were lost somewhere in [from_ns, to_ns] (between two ticks). */
struct loss_span {
	__u64 from_ns, to_ns;
};

#define LOSS_SPANS	16

struct engine {
	struct engine_config cfg;
	conn_fn conn;
	void *conn_ctx;
	struct flowtable *flows;	/* flow_key -> struct flow */
	struct flowtable *listeners;	/* listen_key -> struct listener */
	struct flowtable *groups;	/* fold.c's: one group per problem endpoint */
	struct due_batch *due;		/* fold.c's: groups a full table pushed out */
	/* fold.c's: (peer pair, port) -> struct scan_probe, the ports each
	 * peer probed lately; peer pair -> struct scan_state, its run and
	 * what its next report covers; the numbers of runs and reports. */
	struct flowtable *probes;
	struct flowtable *scan_runs;
	__u64 scan_ids;
	size_t n_due, cap_due;
	struct flowtable *endpoints;	/* endpoint_key -> struct endpoint */
	struct flowtable *refusals;	/* refusal_key -> struct refusal */
	struct flowtable *deaths;	/* pid -> struct death (facts_proc.c) */
	__u32 scan_gen;
	/* A namespace's walk failed in the scan under way: what it did not
	 * report may have changed, so nothing is held as unchanged. */
	bool scan_partial;
	/* The socket clocks' tick rate: cfg.hz, or learned from two scans
	 * (hz_ref_*) far enough apart; 0 until known. */
	__u32 hz;
	__u32 hz_ref_jiffies;
	__u64 hz_ref_ns;
	__u64 lost_total;
	/* Where events were lost, the latest LOSS_SPANS spans; anything up to
	 * loss_before_ns may have lost some (older spans let go of). */
	struct loss_span loss[LOSS_SPANS];
	unsigned int n_loss;
	__u64 loss_before_ns;
	bool loss_pending;	/* lost_total grew since the last tick */
	__u64 last_tick_ns;
	__u64 events;
	__u64 scans;
	__u64 diagnoses;
	__u64 scan_untracked;	/* snapshots of sockets a full table did not take */
};

/* The listener of a local port, or NULL. */
struct listener *facts_listener(const struct engine *e, __u32 netns, __u16 port);
/* A flow became one-way, or got its first answer: its endpoint learns it. */
void facts_learn_endpoint(struct engine *e, const struct flow_key *key,
			  const struct flow *f);
/* The service endpoint of a flow (its server end), for what its flows teach. */
void facts_endpoint_key(const struct flow_key *key, enum tt_side side,
			struct endpoint_key *ek);
/* Were events lost in [from_ns, to_ns]? */
bool engine_lost_between(const struct engine *e, __u64 from_ns, __u64 to_ns);

/* A flow's life is over (retired, evicted, its tuple reused): judge what
 * it has, and give its conn record. */
void engine_flow_over(struct engine *e, const struct flow_key *key,
		      struct flow *f, __u64 now);
/* An event that is an occurrence of its own, judged without a flow. */
void engine_judge_event(struct engine *e, const struct tt_event *ev);

bool fold_init(struct engine *e);
void fold_free(struct engine *e);
/* One occurrence of a problem: it folds with the others at its endpoint. */
void fold_raise(struct engine *e, const struct diagnosis *d);
/* Emit what is due: groups whose fold window passed, or with finish every
 * group with something pending. */
void fold_emit(struct engine *e, __u64 now, bool finish, diag_fn fn, void *ctx);

void conn_emit(struct engine *e, const struct flow_key *key,
	       const struct flow *f, __u64 now);

/* Processes that died (facts_proc.c): the death of pid, or NULL. */
struct death *facts_death(const struct engine *e, __u32 pid);
void facts_on_proc_event(struct engine *e, const struct tt_event *ev);
/* An exiting process closed flow f (EV_EXIT_CLOSE): its death, its link. */
void facts_exit_closed(struct engine *e, struct flow *f, const struct tt_event *ev);
/* One occurrence that stands for n connections (PROCESS_KILLED's damage). */
void fold_raise_n(struct engine *e, const struct diagnosis *d, __u32 n);
/* PROCESS_KILLED for the deaths whose story is in (judge_killed.c); the
 * deaths too old to matter go. */
void judge_deaths(struct engine *e, __u64 now, bool finish);

/* The socket clocks (facts_clock.c). The tick rate, from the config or
 * learned from the scans; known, for this snapshot. */
void clock_learn_hz(struct engine *e, const struct tt_sock_scan *s, __u64 now);
bool clock_known(const struct engine *e, const struct tt_sock_scan *s);
/* A snapshot's clocks: when each side last spoke, whose turn it is, an
 * application that gave up, the retransmission timeouts. first: the
 * flow's first snapshot. Before the flow takes the snapshot's numbers. */
void clock_snapshot(const struct engine *e, struct flow *f,
		    const struct tt_sock_scan *s, __u64 now, bool first);

#endif /* TCPTRACE_ENGINE_H */
