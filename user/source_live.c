// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "netns.h"
#include "report.h"
#include "scanner.h"
#include "source_live.h"

#define POLL_MAX_MS	100	/* upper bound on how late a signal or tick is seen */
#define MAX_PROGS	32
/* The socket scan's CPU, as a share of the time between two scans. */
#define SCAN_CPU_PCT		5
/* A failed socket scan is tried again after this, doubling... */
#define SCAN_RETRY_NS		1000000000ULL
/* ...up to this. */
#define SCAN_RETRY_MAX_NS	(60 * 1000000000ULL)

struct live_source {
	struct source base;	/* first: a struct source * is one of these */
	struct tracer *tracer;
	struct pipeline *pipe;
	struct ring_buffer *rb;
	struct netns_set netns;	/* host-wide: the namespaces events came from */
	__u64 now_ns;		/* time of the sample being fed */
	__u64 sockets_scanned;
	__u64 events_read;	/* records taken from the ring: events - events_read is in flight */
	__u64 nic_records;	/* live nic_flows records at the last read */
	unsigned int scan_fails;	/* failed attempts in a row of the main scan */
	__u64 scan_backoff_ns;
	__u64 scan_retry_ns;	/* no main scan before this */
	__u64 scan_errors;	/* scans that failed, any namespace */
	__u32 scan_round;	/* the kernel's number for the latest round (never 0) */
	__u64 scan_interval_ns;	/* the ticks' interval: scans come on ticks */
	__u64 scan_gap_max_ns;	/* 0: a scan every tick */
	__u64 scan_next_ns;	/* no scan before this (its cost's share) */
	__u64 discover_next_ns;	/* host-wide: look for new namespaces then */
	__u64 scan_gap_ns;	/* between the latest scan and the next */
	bool scan_partial;	/* a namespace's walk failed in the latest round */
	bool nic_failed;
	struct prog_stat progs[MAX_PROGS];
};

static struct live_source *live(struct source *src)
{
	return (struct live_source *)src;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * A summary record (EVF_SUMMARY) stands for what a connection's open, the
 * handshake's end and its close used to send one by one: the engine gets
 * those events, in order, each at its own time. To CLOSE it is the whole
 * connection; to another state, its story so far.
 */
static void feed_summary(struct live_source *ls, const struct tt_event *ev)
{
	__u8 first = ev->path[0];
	struct tt_event e = *ev;

	e.flags &= ~(EVF_SUMMARY | EVF_PROC);
	if (first == TT_TCP_SYN_SENT || first == TT_TCP_SYN_RECV) {
		struct tt_event open = e;

		/* The open as connect() (or the handshake) saw it: no totals yet. */
		memset(&open.min_rtt_us, 0, sizeof(open) - offsetof(struct tt_event, min_rtt_us));
		open.srtt_us = open.total_retrans = 0;
		open.ts_ns = ev->start_ns;
		open.old_state = first == TT_TCP_SYN_SENT ? TT_TCP_CLOSE : TT_TCP_LISTEN;
		open.state = first;
		open.flags |= ev->flags & EVF_PROC;
		pipeline_event(ls->pipe, &open);
		if (ev->established_ns) {
			open.ts_ns = ev->established_ns;
			open.old_state = first;
			open.state = TT_TCP_ESTABLISHED;
			open.flags &= ~EVF_PROC;
			pipeline_event(ls->pipe, &open);
		}
	}
	/* The close carries its path and totals; a story so far, where it is now. */
	if (ev->state == TT_TCP_CLOSE ||
	    (ev->state != first && !(ev->state == TT_TCP_ESTABLISHED && ev->established_ns)))
		pipeline_event(ls->pipe, &e);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct live_source *ls = ctx;
	struct tt_event ev;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	ls->events_read++;
	netns_note(&ls->netns, ev.key.netns, ev.ts_ns);
	if (ev.type == EV_STATE && (ev.flags & EVF_SUMMARY))
		feed_summary(ls, &ev);
	else
		pipeline_event(ls->pipe, &ev);
	return 0;
}

static int live_poll(struct source *src, __u64 until)
{
	struct live_source *ls = live(src);
	__u64 now = mono_ns();
	int timeout = until > now ? (int)((until - now + 999999) / 1000000) : 0;
	int err;

	err = ring_buffer__poll(ls->rb, timeout < POLL_MAX_MS ? timeout : POLL_MAX_MS);
	/* The kernel side wakes us only when the ring fills: drain it. */
	if (err >= 0 || err == -EINTR)
		err = ring_buffer__consume(ls->rb);
	if (err < 0 && err != -EINTR) {
		report_error("reading kernel events failed: %s", strerror(-err));
		return err;
	}
	return 0;
}

static void live_flush(struct source *src)
{
	ring_buffer__consume(live(src)->rb);
}

static __u64 live_now(struct source *src)
{
	(void)src;
	return mono_ns();
}

static void on_socket(const struct tt_sock_scan *sock, void *ctx)
{
	struct live_source *ls = ctx;

	pipeline_socket(ls->pipe, sock, ls->now_ns);
	ls->sockets_scanned++;
}

/*
 * The traced namespace's scan (or, host-wide, our own's) failed: this
 * round is dropped (nothing is concluded from a partial view: the judges
 * measure up to the last scan that worked) and the next attempts come
 * after 1 s, 2 s, 4 s... up to a minute; scanning is never switched off. Said once per run of
 * failures, and again when it works.
 */
static void scan_failed(struct live_source *ls, int err)
{
	ls->scan_errors++;
	ls->scan_backoff_ns = ls->scan_backoff_ns ? ls->scan_backoff_ns * 2 : SCAN_RETRY_NS;
	if (ls->scan_backoff_ns > SCAN_RETRY_MAX_NS)
		ls->scan_backoff_ns = SCAN_RETRY_MAX_NS;
	ls->scan_retry_ns = ls->now_ns + ls->scan_backoff_ns;
	if (ls->scan_fails++)
		return;
	report_error("socket scan failed: %s (hint: until it works again, stalls and zero "
		     "windows cannot be seen; resets, refusals and losses still are; "
		     "retrying with backoff)", strerror(-err));
}

static void scan_worked(struct live_source *ls)
{
	if (ls->scan_fails)
		report_note("note: the socket scan works again, after %u failed attempt%s",
			    ls->scan_fails, ls->scan_fails == 1 ? "" : "s");
	ls->scan_fails = 0;
	ls->scan_backoff_ns = 0;
}

/* The start's scan: what it meets is for the kernel side alone. */
static void on_socket_primed(const struct tt_sock_scan *sock, void *ctx)
{
	(void)sock;
	(void)ctx;
}

static void scan_sockets_with(struct live_source *ls, scan_fn fn, bool primed)
{
	struct netns_set *ns = &ls->netns;
	const struct tracer *t = ls->tracer;
	int link = tracer_scan_link_fd(t), n;

	if (ls->now_ns < ls->scan_retry_ns)
		return;
	/*
	 * The start's scan is round 0, which leaves nothing out and marks
	 * nothing as told: the first real round reports every socket. Each
	 * later attempt is a round, whether it works or not: the kernel
	 * counts SCAN_QUIET_ROUNDS no slower than the engine's scans.
	 */
	if (!primed && !++ls->scan_round)
		ls->scan_round = 1;
	tracer_scan_round(ls->tracer, primed ? 0 : ls->scan_round);
	/* A round after a partial one reports everything: the engine held
	 * nothing then, and what the kernel leaves out now would be missed. */
	tracer_scan_full(ls->tracer, ls->scan_partial);
	n = scanner_read(tracer_scan_iter(t), fn, ls);
	if (n < 0 && primed)
		return;
	if (n < 0) {
		/* Records it wrote may not have reached us: the kernel counts
		 * them as told. */
		ls->scan_partial = true;
		scan_failed(ls, n);
		return;
	}
	scan_worked(ls);
	if (t->netns_fd < 0 && !t->scan_own_netns_only) {
		bool full = ls->scan_partial;

		if (!primed)
			ls->scan_partial = false;
		if (ls->now_ns >= ls->discover_next_ns) {
			netns_discover(ns, ls->now_ns);
			ls->discover_next_ns = ls->now_ns + NETNS_DISCOVER_NS;
		}
		netns_resolve(ns, ls->now_ns);
		for (int i = 0; i < ns->n; i++)
			if (ns->e[i].state != NETNS_RESOLVED)
				ns->e[i].walked = false;
		for (int i = ns->n - 1; i >= 0; i--) {	/* downwards: netns_open may forget i */
			int fd = netns_open(ns, i);

			if (fd < 0)
				continue;
			/* A namespace the last round did not walk whole (new, or
			 * back after a failure) is reported whole. */
			tracer_scan_full(ls->tracer, full || !ns->e[i].walked);
			n = scanner_run(link, fd, t->self_netns_fd, fn, ls);
			close(fd);
			ns->e[i].walked = n >= 0 && !primed;
			if (primed)
				continue;
			/* One namespace's failure is that namespace's: it backs
			 * off (counted as unresolved meanwhile), the others go on,
			 * and its flows miss this scan like an unscanned one's
			 * (none is held as unchanged, and the next round reports
			 * every socket). */
			if (n < 0) {
				ls->scan_errors++;
				netns_scan_failed(ns, i, ls->now_ns);
				pipeline_scan_partial(ls->pipe);
				ls->scan_partial = true;
			} else {
				netns_scan_ok(ns, i);
			}
		}
	} else if (!primed) {
		ls->scan_partial = false;
	}
	if (!primed)
		pipeline_scan_end(ls->pipe, ls->now_ns);
}

static __u64 thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * The walk costs the kernel a visit to every socket of the namespace,
 * changed or not (sock_scan.bpf.c leaves the unchanged out of what it
 * reports, not out of the walk): ~1-2 us each, 100k sockets a fifth of a
 * core at a scan a second. A scan that cost more than SCAN_CPU_PCT % of
 * the interval pushes the next one out until it is that share, never
 * past scan_gap_max_ns: the judges measure from the scans, and a verdict
 * then comes up to that much later than its threshold. The gap follows
 * each scan's own cost, so it shrinks again with the sockets.
 */
static void scan_sockets(struct live_source *ls)
{
	__u64 cpu0, cost, gap;

	if (ls->now_ns < ls->scan_next_ns)
		return;
	cpu0 = thread_cpu_ns();
	scan_sockets_with(ls, on_socket, false);
	cost = thread_cpu_ns() - cpu0;
	gap = cost * (100 / SCAN_CPU_PCT);
	if (gap > ls->scan_gap_max_ns)
		gap = ls->scan_gap_max_ns;
	if (gap < ls->scan_interval_ns)
		gap = ls->scan_interval_ns;
	ls->scan_gap_ns = gap;
	/* Scans come on ticks: the first tick from half an interval early. */
	ls->scan_next_ns = gap > ls->scan_interval_ns ?
			   ls->now_ns + gap - ls->scan_interval_ns / 2 : 0;
}

void live_source_scan_budget(struct source *src, __u64 interval_ns, __u64 max_gap_ns)
{
	struct live_source *ls = live(src);

	ls->scan_interval_ns = interval_ns;
	ls->scan_gap_max_ns = max_gap_ns > interval_ns ? max_gap_ns : 0;
}

static void on_nic_record(const struct flow_key *key, const struct nic_flow *nf, void *ctx)
{
	struct live_source *ls = ctx;

	pipeline_nic(ls->pipe, key, nf, ls->now_ns);
}

static void read_nic(struct live_source *ls)
{
	int n;

	if (ls->nic_failed)
		return;
	n = tracer_read_nic(ls->tracer, on_nic_record, ls);
	if (n >= 0) {
		ls->nic_records = n;
		return;
	}
	report_error("reading the NIC counters failed: %s (hint: diagnoses go on "
		     "from socket events alone)", strerror(-n));
	ls->nic_failed = true;
}

static void live_sample(struct source *src, __u64 now)
{
	struct live_source *ls = live(src);

	ls->now_ns = now;
	scan_sockets(ls);
	read_nic(ls);
	/*
	 * The events of what the counters just showed: a SYN-ACK counted at
	 * the NIC is dropped by the stack microseconds later, and its drop
	 * event must be in before the two are judged together.
	 */
	ring_buffer__consume(ls->rb);
}

static __u64 live_lost(struct source *src)
{
	struct tracer_health h;

	tracer_health(live(src)->tracer, &h);
	return h.counters[CNT_EVENTS_LOST];
}

static void live_health(struct source *src, struct health_report *r)
{
	struct live_source *ls = live(src);
	struct tracer_health th;

	tracer_health(ls->tracer, &th);
	r->events = th.counters[CNT_EVENTS];
	r->events_lost = th.counters[CNT_EVENTS_LOST];
	r->events_read = ls->events_read;
	r->flows_opened = th.counters[CNT_FLOWS_NEW];
	r->flow_map_full = th.counters[CNT_FLOWS_FULL] + th.counters[CNT_NIC_FLOWS_FULL];
	r->nic_unparsed = th.counters[CNT_NIC_UNPARSED];
	r->nic_flows_opened = th.counters[CNT_NIC_FLOWS_NEW];
	/* Nothing deletes a NIC record: inserted minus present is what the LRU evicted. */
	if (r->nic_flows_opened > ls->nic_records)
		r->flows_evicted_nic = r->nic_flows_opened - ls->nic_records;
	r->flows_evicted_kernel = th.flows_evicted;
	r->sockets_scanned = ls->sockets_scanned;
	r->sockets_unchanged = tracer_scan_unchanged(ls->tracer);
	r->scan_gap_ms = ls->scan_gap_ns / 1000000;
	r->scan_errors = ls->scan_errors;
	r->netns_scanned = ls->netns.n - netns_unresolved(&ls->netns);
	r->netns_unresolved = netns_unresolved(&ls->netns);
	r->netns_evicted = ls->netns.evicted;
	r->attach_us = (__u64)(ls->tracer->attach_ms * 1000);
	r->classic = ls->tracer->classic;
	r->progs = ls->progs;
	r->n_progs = tracer_prog_stats(ls->tracer, ls->progs, MAX_PROGS);
	r->plan = &ls->tracer->plan;
}

static const struct source_ops live_ops = {
	.poll = live_poll,
	.flush = live_flush,
	.now = live_now,
	.sample = live_sample,
	.lost = live_lost,
	.health = live_health,
};

struct source *live_source_new(struct tracer *t, struct pipeline *p)
{
	struct live_source *ls = calloc(1, sizeof(*ls));

	if (!ls) {
		report_error("out of memory");
		return NULL;
	}
	ls->base.ops = &live_ops;
	ls->tracer = t;
	ls->pipe = p;
	netns_set_init(&ls->netns);
	/* A host-wide scan steps into other namespaces: it needs the way back. */
	if (t->netns_fd < 0 && t->self_netns_fd < 0)
		t->self_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ls->rb = ring_buffer__new(tracer_ringbuf_fd(t), on_event, ls, NULL);
	if (!ls->rb) {
		report_error("cannot read the event ring buffer: %s", strerror(errno));
		live_source_free(&ls->base);
		return NULL;
	}
	/*
	 * A listener that predates us gets its owner (the /proc walk's) into
	 * its storage when a scan meets it: scan once now, before tracing is
	 * said to start, so that the children it makes from here on are
	 * born knowing their owner. Nothing of this scan reaches the engine.
	 */
	scan_sockets_with(ls, on_socket_primed, true);
	return &ls->base;
}

void live_source_free(struct source *src)
{
	struct live_source *ls = live(src);

	if (!ls)
		return;
	ring_buffer__free(ls->rb);
	netns_set_free(&ls->netns);
	free(ls);
}
