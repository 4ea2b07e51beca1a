// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Facts of processes that die: an end by a signal (EV_PROC_EXIT), the OOM
 * killer's choice (EV_OOM_VICTIM), and the connections an exiting
 * process's files closed (EV_EXIT_CLOSE), joined by pid into one death
 * whichever comes first. The flows closed so learn whose death it was;
 * so does their other end when it is on this host too.
 */
#include <string.h>
#include "engine.h"

/*
 * The records of one death come within microseconds of each other (the
 * OOM killer's choice, milliseconds before the victim exits). A pid met
 * again this long after its last record is another process.
 */
#define DEATH_SAME_NS	(2 * NSEC_PER_SEC)

struct death *facts_death(const struct engine *e, __u32 pid)
{
	return pid ? flowtable_lookup(e->deaths, &pid) : NULL;
}

static struct death *death_for(struct engine *e, const struct tt_event *ev)
{
	__u32 pid = ev->pid;
	struct death *dd;
	bool created;

	if (!pid)
		return NULL;
	dd = flowtable_get(e->deaths, &pid, &created);
	if (!dd)
		return NULL;
	if (!created && elapsed(dd->last_ns, ev->ts_ns) > DEATH_SAME_NS) {
		memset(dd, 0, sizeof(*dd));
		created = true;
	}
	if (created) {
		dd->pid = pid;
		dd->first_ns = ev->ts_ns;
	}
	if (ev->ts_ns > dd->last_ns)
		dd->last_ns = ev->ts_ns;
	/* The OOM record's name is the victim's too; the exit's and the
	 * closes' are the process's own, and win. */
	if (ev->comm[0] && (!dd->comm[0] || ev->type != EV_OOM_VICTIM)) {
		memcpy(dd->comm, ev->comm, TT_COMM_LEN);
		dd->comm[TT_COMM_LEN - 1] = '\0';
	}
	if (ev->cgroup_id)
		dd->cgroup_id = ev->cgroup_id;
	if (ev->key.netns && !dd->netns)
		dd->netns = ev->key.netns;
	return dd;
}

static void death_add_peer(struct death *dd, const struct flow_key *k)
{
	for (unsigned int i = 0; i < dd->n_peers; i++) {
		if (dd->peers[i].family == k->family &&
		    !memcmp(dd->peers[i].addr, k->raddr, sizeof(k->raddr))) {
			dd->peers[i].conns++;
			return;
		}
	}
	if (dd->n_peers == DEATH_PEERS) {
		dd->peers_other++;
		return;
	}
	dd->peers[dd->n_peers].family = k->family;
	memcpy(dd->peers[dd->n_peers].addr, k->raddr, sizeof(k->raddr));
	dd->peers[dd->n_peers].conns = 1;
	dd->n_peers++;
}

/* The same connection seen from its other end, in the same namespace. */
static void key_mirror(const struct flow_key *k, struct flow_key *m)
{
	*m = *k;
	memcpy(m->laddr, k->raddr, sizeof(m->laddr));
	memcpy(m->raddr, k->laddr, sizeof(m->raddr));
	m->lport = k->rport;
	m->rport = k->lport;
}

void facts_on_proc_event(struct engine *e, const struct tt_event *ev)
{
	struct death *dd = death_for(e, ev);

	if (!dd)
		return;
	if (ev->type == EV_PROC_EXIT) {
		dd->exit_ns = ev->ts_ns;
		dd->signal = ev->err;
		dd->exit_code = ev->reason;
	} else if (ev->type == EV_OOM_VICTIM) {
		dd->oom_ns = ev->ts_ns;
	}
}

/*
 * An exiting process closed this flow (f, already updated by the event
 * as any other). Counted in its death; the flow and its other end, if
 * this host holds it too, point at the death.
 */
void facts_exit_closed(struct engine *e, struct flow *f, const struct tt_event *ev)
{
	struct death *dd = death_for(e, ev);
	struct flow_key mirror;
	struct flow *other;

	f->flags |= FF_EXIT_CLOSED | FF_ESTABLISHED;
	f->exit_pid = ev->pid;
	f->exit_close_ns = ev->ts_ns;
	if (!dd)
		return;
	/* A FIN each, or one RST: the close counts once per connection. */
	dd->conns++;
	if (ev->state == TT_TCP_CLOSE)
		dd->resets++;
	dd->unread_bytes += ev->unread;
	dd->unsent_bytes += ev->unsent;
	if (f->side == TT_SIDE_SERVER ||
	    (f->side == TT_SIDE_UNKNOWN && facts_listener(e, ev->key.netns, ev->key.lport)))
		dd->servers++;
	if (dd->conns == 1) {
		dd->first_key = ev->key;
		dd->first_side = f->side != TT_SIDE_UNKNOWN ? f->side :
				 facts_listener(e, ev->key.netns, ev->key.lport) ?
				 TT_SIDE_SERVER : TT_SIDE_CLIENT;
	}
	death_add_peer(dd, &ev->key);
	key_mirror(&ev->key, &mirror);
	other = flowtable_lookup(e->flows, &mirror);
	if (other && !(other->flags & FF_EXIT_CLOSED)) {
		other->flags |= FF_PEER_EXIT_CLOSED;
		other->exit_pid = ev->pid;
		other->exit_close_ns = ev->ts_ns;
	}
}
