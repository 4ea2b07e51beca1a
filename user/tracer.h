/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The loader: open, configure, load, attach and detach the kernel programs. */
#ifndef TCPTRACE_TRACER_H
#define TCPTRACE_TRACER_H

#include <stdbool.h>
#include <linux/types.h>
#include "cli.h"
#include "drop_reason.h"
#include "events.h"
#include "health.h"
#include "hook_plan.h"
#include "proc_owners.h"
#include "nic.h"
#include "nic_attach.h"

struct tcptrace_bpf;
struct bpf_link;
struct ns_thread;
struct btf;

#define MAX_LINKS	16

struct tracer {
	struct tcptrace_bpf *skel;
	/* The kernel's BTF, parsed once for the drop reasons and the plan,
	 * which frees it before libbpf parses its own for the load (the two
	 * would double the peak of memory); NULL: the plan parses it. */
	struct btf *vmlinux;
	__u32 netns_inum;	/* traced namespace, 0 = every one */
	int netns_fd;		/* --netns target, -1 if none */
	int self_netns_fd;	/* where we came from, to return after a scan */
	bool classic;		/* classic tracepoints: tp_btf was refused */
	int stats_fd;		/* bpf_stats enabler, -1 when off */
	int n_progs;		/* loaded (some only as fallbacks) */
	double attach_ms;
	const __u8 *drop_class;	/* enum drop_class by reason value, or NULL */
	unsigned int n_drop_class;
	const struct drop_site *drop_sites;	/* before 5.17: call sites for reasons */
	unsigned int n_drop_sites;
	struct hook_plan plan;	/* which program serves each hook here */
	struct bpf_link *links[MAX_LINKS];	/* the socket hooks' */
	int n_links;
	struct bpf_link *scan_link;	/* iter/tcp, one of links[] */
	int n_nics;		/* interfaces with NIC hooks */
	struct nic_attachment *nic;	/* as many as there are to hook: no cap */
	bool netns_own;		/* --netns names the namespace we are in: no setns */
	struct ns_thread *ns_thread;	/* --netns elsewhere: a thread inside it */
	bool scan_own_netns_only;	/* host-wide, other namespaces cannot be entered */
	struct proc_owners owners;	/* who held the sockets open at start */
};

struct tracer_health {
	__u64 counters[CNT_MAX];	/* summed over CPUs */
	__u64 flows_evicted;		/* LRU evictions seen in the kernel map */
};

/*
 * Each returns 0 or a negative errno after printing one line that names
 * what went wrong and what to do.
 */
int tracer_check_environment(const struct tracer *t, const struct options *o);
int tracer_resolve_netns(struct tracer *t, const struct options *o);
int tracer_start(struct tracer *t, const struct options *o);
void tracer_stop(struct tracer *t);

/* The iter/tcp link, for the socket scanner. */
int tracer_scan_link_fd(const struct tracer *t);
/*
 * A new iterator over the traced namespace's sockets (with --netns, made
 * inside it; host-wide, over our own), or a negative errno.
 */
int tracer_scan_iter(const struct tracer *t);
/*
 * Numbers the scan round about to start (every namespace walked in it):
 * the kernel leaves out a socket whose record would repeat its last one,
 * up to SCAN_QUIET_ROUNDS rounds (include/scan.h). Rounds start at 1.
 */
void tracer_scan_round(struct tracer *t, __u32 round);
/* The next walks report every socket, changed or not (true) or not. */
void tracer_scan_full(struct tracer *t, bool full);
/* Sockets the scans left out so far as unchanged. */
__u64 tracer_scan_unchanged(const struct tracer *t);
int tracer_ringbuf_fd(const struct tracer *t);
void tracer_health(const struct tracer *t, struct tracer_health *h);

/* Hands every nic_flows record to fn; returns how many, or a negative errno. */
typedef void (*nic_record_fn)(const struct flow_key *key, const struct nic_flow *nf, void *ctx);
int tracer_read_nic(const struct tracer *t, nic_record_fn fn, void *ctx);

/* Fills up to max entries for the programs that are loaded; returns how many. */
int tracer_prog_stats(const struct tracer *t, struct prog_stat *out, int max);

#endif /* TCPTRACE_TRACER_H */
