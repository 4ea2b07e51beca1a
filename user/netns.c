// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
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

static bool known(const struct netns_set *s, __u32 inum)
{
	if (inum == s->self_inum)
		return true;
	for (int i = 0; i < s->n; i++)
		if (s->inum[i] == inum)
			return true;
	for (int i = 0; i < s->n_pending; i++)
		if (s->pending[i] == inum)
			return true;
	return false;
}

void netns_note(struct netns_set *s, __u32 inum)
{
	if (!inum || known(s, inum))
		return;
	if (s->n_pending < NETNS_PENDING && s->n + s->n_pending < NETNS_MAX)
		s->pending[s->n_pending++] = inum;
}

static void adopt(struct netns_set *s, int idx, const char *path)
{
	s->inum[s->n] = s->pending[idx];
	snprintf(s->path[s->n++], sizeof(s->path[0]), "%s", path);
	s->pending[idx] = s->pending[--s->n_pending];
}

static void forget(struct netns_set *s, int i)
{
	s->n--;
	s->inum[i] = s->inum[s->n];
	memcpy(s->path[i], s->path[s->n], sizeof(s->path[0]));
}

int netns_open(struct netns_set *s, int i)
{
	struct stat st;
	int fd;

	if (i >= s->n || !s->path[i][0])
		return -1;
	fd = open(s->path[i], O_RDONLY | O_CLOEXEC);
	/* The process may have exited, or its pid been reused elsewhere. */
	if (fd >= 0 && (fstat(fd, &st) || st.st_ino != s->inum[i])) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		forget(s, i);
	return fd;
}

/* Named namespaces first (cheap, and they may hold no process), then /proc. */
static void resolve_dir(struct netns_set *s, const char *dir, const char *suffix)
{
	char path[64];
	struct dirent *de;
	struct stat st;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return;
	while (s->n_pending && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%.32s%s", dir, de->d_name, suffix) >=
		    (int)sizeof(path) || stat(path, &st))
			continue;
		for (int i = 0; i < s->n_pending; i++) {
			if (s->pending[i] == st.st_ino) {
				adopt(s, i, path);
				break;
			}
		}
	}
	closedir(d);
}

void netns_resolve(struct netns_set *s)
{
	if (!s->n_pending)
		return;
	resolve_dir(s, "/run/netns", "");
	resolve_dir(s, "/proc", "/ns/net");
	/* Gone before we looked (a short-lived container): count it, and keep
	 * it known with no fd so that its events do not walk /proc again. */
	while (s->n_pending) {
		s->unresolved++;
		adopt(s, 0, "");
	}
}
