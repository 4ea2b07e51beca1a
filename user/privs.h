/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Least privilege. To load and attach, the tracer needs CAP_BPF (programs,
 * maps, BTF), CAP_PERFMON (tracing programs, which read kernel memory) and,
 * for the interface hooks, CAP_NET_ADMIN (TC and XDP); to enter a --netns
 * other than its own, CAP_SYS_ADMIN (setns). Root has them all. Once
 * attached it keeps only what the rest of its life needs:
 *
 *   CAP_BPF        where this kernel refuses bpf() on our own map and link
 *                  fds without it (before 5.19 with unprivileged BPF off, as
 *                  Debian and most distributions ship): found by trying
 *   CAP_NET_ADMIN  where the interface hooks are netlink TC filters (no
 *                  tcx, before 6.6): removing them at exit is a netlink
 *                  request that needs it. Links (tcx, XDP) go with their fds
 *   CAP_SYS_ADMIN, host-wide only, when held: entering the other
 *   CAP_SYS_PTRACE namespaces to scan their sockets (setns), and finding
 *                  them through /proc/PID/ns/net of processes not ours
 *
 * With --netns, the namespace is entered once, before the drop, by a
 * thread that stays there (ns_thread.h). With --user NAME the tracer then
 * becomes that user (groups, gid, uid), keeping across the switch only the
 * capabilities above. Everything else goes, from the bounding set too, and
 * no_new_privs is set: nothing exec'ed could get any of it back.
 */
#ifndef TCPTRACE_PRIVS_H
#define TCPTRACE_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct tracer;
struct options;

#define PRIVS_CAP(c)	(1ULL << (c))

/* What the tracer does after attaching that privilege may guard. */
struct privs_need {
	bool bpf_fds_need_cap;	/* this kernel refused bpf() on our fds without CAP_BPF */
	bool netlink_filters;	/* netlink TC filters to remove at exit */
	bool scan_other_netns;	/* host-wide: other namespaces' sockets are scanned */
};

/* The capabilities to keep, of those held (a mask of PRIVS_CAP bits). Pure. */
__u64 privs_keep(const struct privs_need *n, __u64 held);

/*
 * The capabilities a start with these options needs and the calling
 * thread lacks (a mask), raising into the effective set those it is
 * permitted. nic: interface hooks; enter_netns: a --netns to enter;
 * switch_user: --user names another uid.
 */
__u64 privs_missing(bool nic, bool enter_netns, bool switch_user);

/*
 * "CAP_BPF (to load BPF programs), CAP_NET_ADMIN (...)": the missing
 * capabilities, each with what it is for.
 */
void privs_describe(__u64 missing, char *buf, size_t len);

/* Is cap in the calling thread's effective set? */
bool privs_effective(int cap);

/* "CAP_NET_ADMIN, CAP_SYS_ADMIN" or "none". */
void privs_names(__u64 caps, char *buf, size_t len);

/*
 * After the attach: keep what the tracer needs (above), become --user,
 * drop the rest, in every thread of the tracer. Says what it kept in one
 * note. Returns 0, or a negative errno after one line naming the failure.
 */
int privs_drop_after_attach(struct tracer *t, const struct options *o);

#endif /* TCPTRACE_PRIVS_H */
