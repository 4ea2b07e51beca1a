// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * PROCESS_KILLED: a process that held connections died by a signal (the
 * OOM killer's SIGKILL among them), and its kernel closed them. One
 * diagnosis per death, not per flow: it names the process, how it died
 * and the damage; the resets of those connections point at it (their
 * evidence's killed_pid) instead of telling it again.
 *
 * A process that exits by itself (exit(n), a SIGTERM it handles) closes
 * its connections the same way, and is no fault: only the signal tells.
 */
#include <signal.h>
#include <string.h>
#include "engine.h"
#include "judge.h"

/*
 * How long a death is remembered after its last record: a connection its
 * close left in FIN_WAIT may be reset a minute later (tcp_fin_timeout),
 * and that reset still points at it.
 */
#define DEATH_KEEP_NS	(120 * NSEC_PER_SEC)

/*
 * A stop request (SIGTERM from a deploy or an orchestrator, SIGINT, SIGHUP)
 * the program did not handle, whose connections all closed with a FIN and
 * nothing unsent or unread: its peers saw an orderly end, early. Worth
 * knowing, not a page. The OOM killer, SIGKILL, a crash, or data cut off
 * by resets are faults.
 */
enum diag_severity severity_of_killed(const struct diagnosis *d)
{
	long long sig = 0, oom = 0, resets = 0, unsent = 0, unread = 0;

	diag_evidence_get(d, "signal", &sig);
	diag_evidence_get(d, "oom_killed", &oom);
	diag_evidence_get(d, "resets_sent", &resets);
	diag_evidence_get(d, "unsent_bytes", &unsent);
	diag_evidence_get(d, "unread_bytes", &unread);
	if (!oom && (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) &&
	    !resets && !unsent && !unread)
		return SEV_WARNING;
	return SEV_ERROR;
}

static void raise_killed(struct engine *e, const struct death *dd, __u64 now)
{
	struct diagnosis d;

	memset(&d, 0, sizeof(d));
	d.code = DIAG_PROCESS_KILLED;
	d.key = dd->first_key;
	d.side = dd->first_side;
	d.pid = dd->pid;
	memcpy(d.comm, dd->comm, TT_COMM_LEN);
	d.comm[TT_COMM_LEN - 1] = '\0';
	evidence_add(&d, "signal", dd->signal);
	evidence_add(&d, "oom_killed", dd->oom_ns != 0);
	evidence_add(&d, "connections_closed", dd->conns);
	evidence_add(&d, "resets_sent", dd->resets);
	evidence_add(&d, "closed_with_fin", dd->conns - dd->resets);
	evidence_add(&d, "server_connections", dd->servers);
	evidence_add(&d, "unread_bytes", dd->unread_bytes);
	evidence_add(&d, "unsent_bytes", dd->unsent_bytes);
	evidence_add(&d, "peers", dd->n_peers + (dd->peers_other ? 1 : 0));
	evidence_add(&d, "exit_code", dd->exit_code);
	if (dd->cgroup_id)
		evidence_add(&d, "cgroup_id", (long long)dd->cgroup_id);
	for (unsigned int i = 0; i < dd->n_peers && i < DIAG_MAX_PEERS; i++) {
		d.peers[i].family = dd->peers[i].family;
		memcpy(d.peers[i].addr, dd->peers[i].addr, sizeof(d.peers[i].addr));
		d.peers[i].connections = dd->peers[i].conns;
		d.n_peers++;
	}
	d.peers_other = dd->peers_other;
	d.since_ns = dd->first_ns;
	d.events_lost = engine_lost_between(e, dd->first_ns, now);
	/* It stands for every connection it took down. */
	fold_raise_n(e, &d, dd->conns);
}

void judge_deaths(struct engine *e, __u64 now, bool finish)
{
	struct death *dd, *next;

	for (dd = flowtable_first(e->deaths); dd; dd = next) {
		next = flowtable_next(e->deaths, dd);
		/* The closes and the exit of one death come together, in
		 * either order: judged once they all are in. */
		if (!dd->raised && dd->conns && death_killed(dd) &&
		    (finish || elapsed(dd->last_ns, now) >= EVENTS_SETTLE_NS)) {
			raise_killed(e, dd, now);
			dd->raised = true;
		}
		if (!finish && elapsed(dd->last_ns, now) >= DEATH_KEEP_NS)
			flowtable_delete(e->deaths, dd);
	}
}
