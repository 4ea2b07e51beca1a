// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The owners of the sockets open at start, from /proc (proc_owners.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cgroups.h"
#include "proc_owners.h"

struct vec {
	void *v;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		void *p = realloc(v->v, cap * v->size);

		if (!p)
			return NULL;
		v->v = p;
		v->cap = cap;
	}
	return memset((char *)v->v + v->n++ * v->size, 0, v->size);
}

static int u32_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct proc_owner *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The inodes of a namespace's TCP sockets: the 10th field of each line. */
static void read_tcp_table(const char *path, struct vec *inodes)
{
	char line[512];
	FILE *f = fopen(path, "re");
	unsigned long ino;

	if (!f)
		return;
	if (!fgets(line, sizeof(line), f)) {	/* the header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		__u32 *p;

		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu", &ino) != 1 || !ino)
			continue;
		p = vec_push(inodes);
		if (p)
			*p = ino;
	}
	fclose(f);
}

static void read_comm(const char *proc, const char *pid, char *comm, size_t len)
{
	char path[300];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/comm", proc, pid);
	comm[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, len - 1);
	close(fd);
	if (n < 0)
		n = 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* The cgroup (v2) of a process: the "0::PATH" line, PATH's inode. */
static __u64 read_cgroup(const char *proc, const char *pid, const char *cgroup_root)
{
	char path[300], line[CGROUP_PATH_MAX + 8];
	__u64 id = 0;
	FILE *f;

	if (!cgroup_root)
		return 0;
	snprintf(path, sizeof(path), "%s/%s/cgroup", proc, pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!id && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			id = cgroup_id_of(cgroup_root, line + 3);
		}
	fclose(f);
	return id;
}

/* One process: its socket links; its namespace's TCP table once; its name. */
static void walk_pid(const char *proc, const char *pid, const char *cgroup_root,
		     struct proc_owners *po, struct vec *cand, struct vec *tcp, struct vec *netns)
{
	char path[300], link[64];
	size_t first = cand->n;
	struct dirent *de;
	struct stat st;
	__u64 cg;
	char comm[16];
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s/fd", proc, pid);
	d = opendir(path);
	if (!d)
		return;
	po->procs++;
	while ((de = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		unsigned long ino;
		struct proc_owner *o;

		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		po->sockets++;
		o = vec_push(cand);
		if (!o)
			break;
		o->ino = ino;
		o->pid = strtoul(pid, NULL, 10);
	}
	closedir(d);
	if (cand->n == first)
		return;
	snprintf(path, sizeof(path), "%s/%s/ns/net", proc, pid);
	if (stat(path, &st) == 0) {
		bool seen = false;

		for (size_t i = 0; i < netns->n && !seen; i++)
			seen = ((__u64 *)netns->v)[i] == st.st_ino;
		if (!seen) {
			__u64 *p = vec_push(netns);

			if (p)
				*p = st.st_ino;
			po->netns++;
			snprintf(path, sizeof(path), "%s/%s/net/tcp", proc, pid);
			read_tcp_table(path, tcp);
			snprintf(path, sizeof(path), "%s/%s/net/tcp6", proc, pid);
			read_tcp_table(path, tcp);
		}
	}
	read_comm(proc, pid, comm, sizeof(comm));
	cg = read_cgroup(proc, pid, cgroup_root);
	for (size_t i = first; i < cand->n; i++) {
		struct proc_owner *o = (struct proc_owner *)cand->v + i;

		o->cgroup_id = cg;
		memcpy(o->comm, comm, sizeof(o->comm));
	}
}

int proc_owners_walk(struct proc_owners *po, const char *proc, const char *cgroup_root)
{
	struct vec cand = { .size = sizeof(struct proc_owner) };
	struct vec tcp = { .size = sizeof(__u32) }, netns = { .size = sizeof(__u64) };
	struct proc_owner *c;
	double t0 = now_ms();
	struct dirent *de;
	size_t out = 0;
	DIR *d;

	memset(po, 0, sizeof(*po));
	d = opendir(proc);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		walk_pid(proc, de->d_name, cgroup_root, po, &cand, &tcp, &netns);
	}
	closedir(d);
	qsort(tcp.v, tcp.n, sizeof(__u32), u32_cmp);
	qsort(cand.v, cand.n, sizeof(struct proc_owner), owner_cmp);
	c = cand.v;
	/* One owner an inode, TCP sockets only; held by several: no pid. */
	for (size_t i = 0; i < cand.n; i++) {
		struct proc_owner *o;

		if (!tcp.n || !bsearch(&c[i].ino, tcp.v, tcp.n, sizeof(__u32), u32_cmp))
			continue;
		if (out && c[out - 1].ino == c[i].ino) {
			o = &c[out - 1];
			if (o->pid != c[i].pid) {
				o->pid = 0;
				o->comm[0] = '\0';
			}
			if (o->cgroup_id != c[i].cgroup_id)
				o->cgroup_id = 0;
			continue;
		}
		c[out++] = c[i];
	}
	po->v = cand.v;
	po->n = out;
	free(tcp.v);
	free(netns.v);
	po->ms = now_ms() - t0;
	return 0;
}

const struct proc_owner *proc_owners_find(const struct proc_owners *po, __u32 ino)
{
	struct proc_owner key = { .ino = ino };
	size_t lo = 0, hi = po->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (po->v[mid].ino == key.ino)
			return &po->v[mid];
		if (po->v[mid].ino < key.ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void proc_owners_free(struct proc_owners *po)
{
	free(po->v);
	memset(po, 0, sizeof(*po));
}
