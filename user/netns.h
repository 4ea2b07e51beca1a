/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The network namespaces a host-wide tracer must scan. Tracepoints see
 * every namespace, but iter/tcp walks only the one the scanning thread is
 * in: so every namespace an event comes from is found (a name in
 * /run/netns, or a process that lives in it). Only the path is kept, never
 * an open fd: holding one would keep a dead container's namespace, and its
 * devices, alive.
 *
 * The table is bounded and never fills up with the dead: a namespace whose
 * path stops opening is forgotten at the next scan; one nobody could be
 * found in (a short-lived container gone before we looked) is tried again
 * with backoff while its events go on, and forgotten once they stop; when
 * the table is full the least recently active entry makes room, the
 * unresolvable ones first. What it cannot resolve and what it had to drop
 * is counted for the stats record.
 */
#ifndef TCPTRACE_NETNS_H
#define TCPTRACE_NETNS_H

#include <stdbool.h>
#include <linux/types.h>

#define NETNS_MAX		256
#define NETNS_PATH_MAX		128
/* An unresolved namespace is looked for again after this, doubling... */
#define NETNS_RETRY_NS		(5ULL * 1000000000ULL)
/* ...up to this. */
#define NETNS_RETRY_MAX_NS	(300ULL * 1000000000ULL)
/* How often a host-wide tracer looks for namespaces no event named yet. */
#define NETNS_DISCOVER_NS	(10ULL * 1000000000ULL)
/* An unresolved namespace with no event for this long is forgotten. */
#define NETNS_IDLE_NS		(120ULL * 1000000000ULL)

enum netns_state {
	NETNS_PENDING,		/* seen in events, not looked for yet */
	NETNS_RESOLVED,		/* path opens it */
	NETNS_UNRESOLVED,	/* nobody found in it; looked for again at retry_ns */
};

struct netns_entry {
	__u32 inum;
	enum netns_state state;
	__u64 last_ns;		/* its last event (or when it was first seen) */
	__u64 retry_ns;		/* unresolved: when to look again */
	__u64 backoff_ns;
	/* The previous scan round walked it whole: the kernel may leave its
	 * unchanged sockets out of this one (source_live.c). */
	bool walked;
	char path[NETNS_PATH_MAX];
};

struct netns_set {
	__u32 self_inum;	/* our own namespace: scanned without setns */
	int n;
	int n_pending;
	int last_hit;		/* the entry of the previous note: events come in runs */
	struct netns_entry e[NETNS_MAX];
	/* Where names are looked for: "/run/netns" and "/proc" (tests point elsewhere). */
	const char *named_dir;
	const char *proc_dir;
	__u64 resolve_failed;	/* lookups that found nobody (each retry counts) */
	__u64 evicted;		/* entries dropped to make room in a full table */
	__u64 discovered;	/* entries netns_discover added */
	__u64 gone;		/* resolved namespaces whose path stopped opening them */
};

int netns_set_init(struct netns_set *s);
void netns_set_free(struct netns_set *s);
/* An event at now_ns came from this namespace. Cheap: a lookup, no I/O. */
void netns_note(struct netns_set *s, __u32 inum, __u64 now_ns);
/*
 * Look for what netns_note queued and what is due a retry (one walk of
 * /run/netns and /proc), and forget idle unresolvable ones; call once an
 * interval.
 */
void netns_resolve(struct netns_set *s, __u64 now_ns);
/*
 * Every namespace that exists now (named in /run/netns, or a process's),
 * added while the table has room: connections opened before the tracer
 * started, or that send nothing an event sees (a request never answered),
 * are scanned though no event came from their namespace. Events keep
 * precedence: a full table makes room for their namespaces, not these.
 * One walk of /run/netns and /proc; call at start and now and then.
 */
void netns_discover(struct netns_set *s, __u64 now_ns);
/*
 * An fd for entry i, or -1 when it has no path or is gone (then it is
 * forgotten, and entry i now holds what was the last one: walk downwards).
 * The caller closes it.
 */
int netns_open(struct netns_set *s, int i);
/*
 * Scanning entry i failed: it is not scanned again before a backoff (the
 * same as a namespace nobody was found in), then looked for and retried.
 */
void netns_scan_failed(struct netns_set *s, int i, __u64 now_ns);
/* Scanning entry i worked: its next failure backs off from the start. */
void netns_scan_ok(struct netns_set *s, int i);
/* Namespaces seen in events that cannot be scanned now (no path found,
 * or a scan of it failed). */
int netns_unresolved(const struct netns_set *s);

#endif /* TCPTRACE_NETNS_H */
