/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Who holds the TCP sockets that were open before the tracer started: one
 * walk of /proc/PID/fd at start (a link "socket:[N]" names the socket's
 * inode N), kept to the inodes /proc/PID/net/tcp and tcp6 list for each
 * process's network namespace (read once a namespace). The kernel side
 * looks a socket's inode up in what this finds (inode_owners): sockets
 * are matched by identity, never by address or port.
 */
#ifndef TCPTRACE_PROC_OWNERS_H
#define TCPTRACE_PROC_OWNERS_H

#include <stddef.h>
#include <linux/types.h>

struct proc_owner {
	__u32 ino;
	__u32 pid;		/* 0: several processes hold it (fork, SCM_RIGHTS) */
	__u64 cgroup_id;	/* 0: unknown, or their cgroups differ */
	char comm[16];		/* "" when pid is 0 */
};

struct proc_owners {
	struct proc_owner *v;	/* sorted by inode, one each */
	size_t n;
	unsigned int procs;	/* processes whose fds were read */
	unsigned int netns;	/* namespaces whose TCP tables were read */
	unsigned int sockets;	/* socket links seen, TCP or not */
	double ms;		/* how long the walk took */
};

/*
 * Walk proc (normally "/proc"); cgroup_root: the cgroup2 mount, for the
 * owners' cgroup ids (NULL: none). 0, or -errno when proc cannot be read.
 * Processes that go away or deny access during the walk are skipped.
 */
int proc_owners_walk(struct proc_owners *po, const char *proc, const char *cgroup_root);
const struct proc_owner *proc_owners_find(const struct proc_owners *po, __u32 ino);
void proc_owners_free(struct proc_owners *po);

#endif /* TCPTRACE_PROC_OWNERS_H */
