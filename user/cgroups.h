/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A connection's owner by cgroup: the kernel gives a cgroup (v2) id, the
 * inode number of its directory under the cgroup2 mount; this finds the
 * directory and names the container or systemd unit from its path. No
 * runtime API is asked: the path is what docker, containerd, cri-o,
 * podman and kubelet make it, and a pod's name is read from kubelet's log
 * directories only where they exist.
 *
 * Live, an id is resolved on first sight by a walk of the mount (again at
 * most every CGROUP_REWALK_NS for one not found yet); a recording carries
 * each resolution (REC_CGROUP) so that a replay names what the live run
 * named, after the cgroup is gone.
 */
#ifndef TCPTRACE_CGROUPS_H
#define TCPTRACE_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define CGROUP_PATH_MAX		512
#define CGROUP_NAME_MAX		128
#define CGROUP_REWALK_NS	(100 * 1000 * 1000ULL)

/* What a cgroup's path says of its owner; "" where it says nothing. */
struct cgroup_name {
	__u64 id;
	char path[CGROUP_PATH_MAX];	/* under the cgroup2 mount, "/..."; "" not found */
	/*
	 * The name to show and to label metrics with: "<runtime>:<first 12
	 * of the id>" for a container, "pod:<uid>" for a pod's own cgroup,
	 * else the systemd unit ("nginx.service", "session-3.scope").
	 */
	char container[CGROUP_NAME_MAX];
	char container_id[72];		/* the runtime's full id */
	char runtime[16];		/* docker, containerd, cri-o, podman */
	char pod_uid[40];		/* Kubernetes pod UID, dashes restored */
	char pod[CGROUP_NAME_MAX];	/* "namespace/name", from kubelet's files */
	char unit[CGROUP_NAME_MAX];	/* the innermost systemd unit */
};

/* Names from a path alone (pod: what kubelet's files said, or NULL). */
void cgroup_name_parse(struct cgroup_name *n, const char *path, const char *pod);

/* path is dir or below it (both "/..." under the mount; "/" is everything). */
bool cgroup_path_under(const char *path, const char *dir);

/*
 * "namespace/name" of a pod from kubelet's /var/log/pods/<ns>_<name>_<uid>
 * directories under pods_dir; false when none is there.
 */
bool cgroup_pod_lookup(const char *pods_dir, const char *uid, char *out, size_t len);

/* The cgroup2 mount point (from /proc/self/mounts), or NULL. */
const char *cgroup2_mount(char *buf, size_t len);

struct cgroup_names;

/*
 * root: the cgroup2 mount to resolve ids under, NULL to learn names only
 * from cgroup_names_set (a replay). pods_dir: kubelet's log directory,
 * NULL for none.
 */
struct cgroup_names *cgroup_names_new(const char *root, const char *pods_dir);
void cgroup_names_free(struct cgroup_names *cn);

/*
 * The name of id, resolved now if it is new (or not found before and a
 * walk is due). *learned: a resolution happened that a recording must
 * carry. NULL for id 0.
 */
const struct cgroup_name *cgroup_names_resolve(struct cgroup_names *cn, __u64 id,
					       __u64 now_ns, bool *learned);
/* What a recording says (path "" : not found). */
void cgroup_names_set(struct cgroup_names *cn, __u64 id, const char *path, const char *pod);
/* Known so far, or NULL. */
const struct cgroup_name *cgroup_names_get(const struct cgroup_names *cn, __u64 id);

/*
 * --cgroup's PATH as a path under the cgroup2 mount (into out): a
 * directory of the mount, given whole or from the mount's root. A
 * recording's (live false) may name cgroups this machine lacks: any
 * absolute path is taken. False: *why says why not.
 */
bool cgroup_filter_resolve(const char *arg, const char *mount, bool live, char *out, size_t len,
			   const char **why);

/* The cgroup id (its directory's inode) of a path under root; 0: none. */
__u64 cgroup_id_of(const char *root, const char *path);

#endif /* TCPTRACE_CGROUPS_H */
