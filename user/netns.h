/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The network namespaces a host-wide tracer must scan. Tracepoints see
 * every namespace, but iter/tcp walks only the one the scanning thread is
 * in: so every namespace an event comes from is found (through a process
 * that lives in it). Only the path is kept, never an open fd: holding one
 * would keep a dead container's namespace, and its devices, alive.
 */
#ifndef TCPTRACE_NETNS_H
#define TCPTRACE_NETNS_H

#include <stdbool.h>
#include <linux/types.h>

#define NETNS_MAX	256
#define NETNS_PENDING	64

struct netns_set {
	__u32 self_inum;		/* our own namespace: scanned without setns */
	int n;
	__u32 inum[NETNS_MAX];
	char path[NETNS_MAX][64];	/* "" when no process could be found */
	int n_pending;
	__u32 pending[NETNS_PENDING];	/* seen in events, not opened yet */
	__u64 unresolved;		/* namespaces no process could be found in */
};

int netns_set_init(struct netns_set *s);
void netns_set_free(struct netns_set *s);
/* An event came from this namespace. Cheap: a lookup, no I/O. */
void netns_note(struct netns_set *s, __u32 inum);
/* Find what netns_note queued by walking /proc once; call once an interval. */
void netns_resolve(struct netns_set *s);
/*
 * An fd for namespace i, or -1 when it is gone (then it is forgotten, and
 * its next event looks for it again). The caller closes it.
 */
int netns_open(struct netns_set *s, int i);

#endif /* TCPTRACE_NETNS_H */
