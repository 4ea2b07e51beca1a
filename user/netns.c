// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "netns.h"

int netns_set_init(struct netns_set *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->named_dir = "/run/netns";
	s->proc_dir = "/proc";
	if (stat("/proc/self/ns/net", &st))
		return -1;
	s->self_inum = st.st_ino;
	return 0;
}

void netns_set_free(struct netns_set *s)
{
	s->n = 0;
	s->n_pending = 0;
}

static void forget(struct netns_set *s, int i)
{
	if (s->e[i].state == NETNS_PENDING)
		s->n_pending--;
	s->e[i] = s->e[--s->n];
	s->last_hit = 0;
}

/*
 * Room for one more: the entry that has been quiet longest goes, among
 * those nobody could be found in if there are any (most likely dead), else
 * among the scanned ones (a quiet one comes back with its next event).
 */
static void make_room(struct netns_set *s)
{
	int victim = -1;

	for (int pass = 0; pass < 3 && victim < 0; pass++) {
		enum netns_state want = pass == 0 ? NETNS_UNRESOLVED :
					pass == 1 ? NETNS_RESOLVED : NETNS_PENDING;

		for (int i = 0; i < s->n; i++)
			if (s->e[i].state == want &&
			    (victim < 0 || s->e[i].last_ns < s->e[victim].last_ns))
				victim = i;
	}
	forget(s, victim);
	s->evicted++;
}

void netns_note(struct netns_set *s, __u32 inum, __u64 now_ns)
{
	struct netns_entry *e;

	if (!inum || inum == s->self_inum)
		return;
	if (s->last_hit < s->n && s->e[s->last_hit].inum == inum) {
		s->e[s->last_hit].last_ns = now_ns;
		return;
	}
	for (int i = 0; i < s->n; i++) {
		if (s->e[i].inum == inum) {
			s->e[i].last_ns = now_ns;
			s->last_hit = i;
			return;
		}
	}
	if (s->n == NETNS_MAX)
		make_room(s);
	e = &s->e[s->n];
	memset(e, 0, sizeof(*e));
	e->inum = inum;
	e->state = NETNS_PENDING;
	e->last_ns = now_ns;
	s->last_hit = s->n++;
	s->n_pending++;
}

int netns_open(struct netns_set *s, int i)
{
	struct stat st;
	int fd;

	if (i >= s->n || s->e[i].state != NETNS_RESOLVED)
		return -1;
	fd = open(s->e[i].path, O_RDONLY | O_CLOEXEC);
	/* The process may have exited, or its pid been reused elsewhere. */
	if (fd >= 0 && (fstat(fd, &st) || st.st_ino != s->e[i].inum)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		forget(s, i);
		s->gone++;
	}
	return fd;
}

/* Nobody found in it, or could not be scanned: look again after a backoff. */
static void back_off(struct netns_set *s, struct netns_entry *e, __u64 now_ns)
{
	if (e->state == NETNS_PENDING)
		s->n_pending--;
	e->backoff_ns = e->backoff_ns ? e->backoff_ns * 2 : NETNS_RETRY_NS;
	if (e->backoff_ns > NETNS_RETRY_MAX_NS)
		e->backoff_ns = NETNS_RETRY_MAX_NS;
	e->retry_ns = now_ns + e->backoff_ns;
	e->state = NETNS_UNRESOLVED;
}

void netns_scan_ok(struct netns_set *s, int i)
{
	if (i < s->n)
		s->e[i].backoff_ns = 0;
}

void netns_scan_failed(struct netns_set *s, int i, __u64 now_ns)
{
	if (i < s->n && s->e[i].state == NETNS_RESOLVED)
		back_off(s, &s->e[i], now_ns);
}

/* Named namespaces first (cheap, and they may hold no process), then /proc. */
static void resolve_dir(struct netns_set *s, const char *dir, const char *suffix,
			bool numeric)
{
	char path[NETNS_PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return;
	while (s->n_pending && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (numeric && !isdigit((unsigned char)de->d_name[0])))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s%s", dir, de->d_name, suffix) >=
		    (int)sizeof(path) || stat(path, &st))
			continue;
		for (int i = 0; i < s->n; i++) {
			struct netns_entry *e = &s->e[i];

			if (e->state != NETNS_PENDING || e->inum != st.st_ino)
				continue;
			memcpy(e->path, path, sizeof(path));
			e->state = NETNS_RESOLVED;
			s->n_pending--;
			break;
		}
	}
	closedir(d);
}

/* Every namespace named in dir (or a process's, numeric: dir/PID/suffix)
 * that the table lacks, while it has room. */
static void discover_dir(struct netns_set *s, const char *dir, const char *suffix,
			 bool numeric, __u64 now_ns)
{
	char path[NETNS_PATH_MAX];
	__u32 last = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return;
	while (s->n < NETNS_MAX && (de = readdir(d))) {
		struct netns_entry *e;
		bool known = false;

		if (de->d_name[0] == '.' || (numeric && !isdigit((unsigned char)de->d_name[0])))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s%s", dir, de->d_name, suffix) >=
		    (int)sizeof(path) || stat(path, &st))
			continue;
		/* Processes of one namespace come in runs (a container's). */
		if (st.st_ino == last || st.st_ino == s->self_inum)
			continue;
		last = st.st_ino;
		for (int i = 0; i < s->n && !known; i++)
			known = s->e[i].inum == st.st_ino;
		if (known)
			continue;
		e = &s->e[s->n++];
		memset(e, 0, sizeof(*e));
		e->inum = st.st_ino;
		e->state = NETNS_RESOLVED;
		e->last_ns = now_ns;
		memcpy(e->path, path, sizeof(path));
		s->discovered++;
	}
	closedir(d);
}

void netns_discover(struct netns_set *s, __u64 now_ns)
{
	discover_dir(s, s->named_dir, "", false, now_ns);
	discover_dir(s, s->proc_dir, "/ns/net", true, now_ns);
}

void netns_resolve(struct netns_set *s, __u64 now_ns)
{
	char proc_suffix[] = "/ns/net";

	/* Downwards: forget() moves the last entry into the hole. */
	for (int i = s->n - 1; i >= 0; i--) {
		struct netns_entry *e = &s->e[i];

		if (e->state != NETNS_UNRESOLVED)
			continue;
		if (now_ns > e->last_ns && now_ns - e->last_ns >= NETNS_IDLE_NS) {
			forget(s, i);	/* no events for long: most likely gone */
		} else if (now_ns >= e->retry_ns) {
			e->state = NETNS_PENDING;
			s->n_pending++;
		}
	}
	if (!s->n_pending)
		return;
	resolve_dir(s, s->named_dir, "", false);
	resolve_dir(s, s->proc_dir, proc_suffix, true);
	/* Nobody in it (a short-lived container gone before we looked, or one
	 * kept alive by its sockets alone): not scannable for now. Its events
	 * do not walk /proc again before the backoff is over. */
	for (int i = 0; i < s->n; i++) {
		if (s->e[i].state != NETNS_PENDING)
			continue;
		back_off(s, &s->e[i], now_ns);
		s->resolve_failed++;
	}
}

int netns_unresolved(const struct netns_set *s)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		n += s->e[i].state == NETNS_UNRESOLVED;
	return n;
}
