// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Cgroup ids to paths, paths to container and unit names (cgroups.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cgroups.h"

/* A walk's finding: a directory's inode and its path under the mount. */
struct cg_dir {
	__u64 ino;
	char *path;
};

struct cg_slot {
	struct cgroup_name *n;	/* NULL: free */
	__u64 tried_ns;		/* last resolution attempt */
	unsigned int tries;
};

struct cgroup_names {
	char *root;		/* NULL: names only from a recording */
	char *pods_dir;
	struct cg_slot *slots;
	size_t cap, used;	/* open addressing, cap a power of two */
	struct cg_dir *dirs;	/* the last walk, sorted by inode */
	size_t n_dirs;
	__u64 walked_ns;
	bool walked;
};

/* A cgroup never found is tried again at most this often, this many times
 * (a deleted one stays unfound: its sockets can outlive it). */
#define CG_RETRY_NS	(1000 * 1000 * 1000ULL)
#define CG_RETRIES	5

static bool all_hex(const char *s, size_t n)
{
	if (n < 12)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static void copy_n(char *dst, size_t len, const char *src, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool ends_with(const char *c, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !strncmp(c + len - n, suffix, n);
}

/* "<prefix><hex id>.scope": the scope systemd makes for a container. */
static bool scope_id(const char *c, size_t len, const char *prefix, char *id, size_t id_len)
{
	size_t pl = strlen(prefix), n;

	if (len <= pl + 6 || strncmp(c, prefix, pl) || !ends_with(c, len, ".scope"))
		return false;
	n = len - pl - 6;
	if (!all_hex(c + pl, n) || n >= id_len)
		return false;
	copy_n(id, id_len, c + pl, n);
	return true;
}

/*
 * A pod's UID in a component: "kubepods-burstable-pod<uid>.slice" (the
 * systemd driver writes its dashes as underscores) or "pod<uid>" (the
 * cgroupfs driver, below a kubepods directory).
 */
static bool pod_uid_of(const char *c, size_t len, bool in_kubepods, char *uid, size_t uid_len)
{
	const char *p = NULL;
	size_t n;

	if (!strncmp(c, "kubepods", 8) && ends_with(c, len, ".slice")) {
		for (const char *q = c; q + 3 < c + len; q++)
			if (!strncmp(q, "-pod", 4))
				p = q + 4;
		if (!p)
			return false;
		n = c + len - 6 - p;
	} else if (in_kubepods && len > 3 && !strncmp(c, "pod", 3)) {
		p = c + 3;
		n = len - 3;
	} else {
		return false;
	}
	if (n < 32 || n > 36 || n >= uid_len)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];

		if (!isxdigit((unsigned char)ch) && ch != '-' && ch != '_')
			return false;
		uid[i] = ch == '_' ? '-' : ch;
	}
	uid[n] = '\0';
	return true;
}

void cgroup_name_parse(struct cgroup_name *n, const char *path, const char *pod)
{
	const char *comp[64];
	size_t clen[64], nc = 0;
	bool kubepods = false;
	const char *s = path;

	n->container[0] = n->container_id[0] = n->runtime[0] = '\0';
	n->pod_uid[0] = n->pod[0] = n->unit[0] = '\0';
	if (path != n->path)
		snprintf(n->path, sizeof(n->path), "%s", path);
	while (*s && nc < 64) {
		const char *e;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = strchr(s, '/');
		if (!e)
			e = s + strlen(s);
		comp[nc] = s;
		clen[nc++] = e - s;
		s = e;
	}
	for (size_t i = 0; i < nc; i++) {
		const char *c = comp[i];
		size_t len = clen[i];

		if (!strncmp(c, "kubepods", 8))
			kubepods = true;
		if (!n->pod_uid[0])
			pod_uid_of(c, len, kubepods, n->pod_uid, sizeof(n->pod_uid));
	}
	/* The innermost container and unit: the leaf's side wins. */
	for (size_t i = nc; i-- > 0;) {
		const char *c = comp[i];
		size_t len = clen[i];

		if (!n->container_id[0]) {
			static const struct { const char *prefix, *runtime; } scopes[] = {
				{ "docker-", "docker" },
				{ "cri-containerd-", "containerd" },
				{ "crio-", "cri-o" },
				{ "libpod-", "podman" },
			};

			for (size_t k = 0; k < sizeof(scopes) / sizeof(scopes[0]); k++)
				if (scope_id(c, len, scopes[k].prefix, n->container_id,
					     sizeof(n->container_id))) {
					snprintf(n->runtime, sizeof(n->runtime), "%s",
						 scopes[k].runtime);
					break;
				}
			/* The cgroupfs drivers: /docker/<id>, /kubepods/.../pod<uid>/<id>. */
			if (!n->container_id[0] && i > 0 && len == 64 && all_hex(c, len)) {
				bool docker = clen[i - 1] == 6 && !strncmp(comp[i - 1], "docker", 6);

				if (docker || kubepods) {
					copy_n(n->container_id, sizeof(n->container_id), c, len);
					snprintf(n->runtime, sizeof(n->runtime), "%s",
						 docker ? "docker" : "container");
				}
			}
		}
		if (!n->unit[0] && (ends_with(c, len, ".service") || ends_with(c, len, ".scope")))
			copy_n(n->unit, sizeof(n->unit), c, len);
	}
	if (pod && *pod)
		snprintf(n->pod, sizeof(n->pod), "%s", pod);
	if (n->pod[0])
		snprintf(n->container, sizeof(n->container), "%s", n->pod);
	else if (n->container_id[0])
		snprintf(n->container, sizeof(n->container), "%s:%.12s", n->runtime,
			 n->container_id);
	else if (n->pod_uid[0])
		snprintf(n->container, sizeof(n->container), "pod:%s", n->pod_uid);
	else
		snprintf(n->container, sizeof(n->container), "%s", n->unit);
}

bool cgroup_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

bool cgroup_pod_lookup(const char *pods_dir, const char *uid, char *out, size_t len)
{
	size_t ul = strlen(uid);
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (!pods_dir || !ul)
		return false;
	d = opendir(pods_dir);
	if (!d)
		return false;
	/* <namespace>_<name>_<uid>: neither a namespace nor a name has '_'. */
	while (!found && (de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		const char *sep;

		if (nl <= ul + 1 || strcmp(de->d_name + nl - ul, uid) ||
		    de->d_name[nl - ul - 1] != '_')
			continue;
		sep = strchr(de->d_name, '_');
		if (!sep || sep >= de->d_name + nl - ul - 1)
			continue;
		snprintf(out, len, "%.*s/%.*s", (int)(sep - de->d_name), de->d_name,
			 (int)(de->d_name + nl - ul - 1 - sep - 1), sep + 1);
		found = true;
	}
	closedir(d);
	return found;
}

const char *cgroup2_mount(char *buf, size_t len)
{
	char line[1024], dev[256], dir[768], type[64];
	const char *found = NULL;
	FILE *f = fopen("/proc/self/mounts", "re");

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %767s %63s", dev, dir, type) == 3 &&
		    !strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			found = buf;
		}
	fclose(f);
	return found;
}

bool cgroup_filter_resolve(const char *arg, const char *mount, bool live, char *out, size_t len,
			   const char **why)
{
	char real[4096], joined[4096];
	size_t ml = mount ? strlen(mount) : 0;
	struct stat st;

	*why = NULL;
	if (mount && realpath(arg, real) && !strncmp(real, mount, ml) &&
	    (real[ml] == '\0' || real[ml] == '/')) {
		snprintf(out, len, "%s", real[ml] ? real + ml : "/");
	} else if (mount && arg[0] == '/' && snprintf(joined, sizeof(joined), "%s%s", mount, arg) &&
		   realpath(joined, real) && !strncmp(real, mount, ml)) {
		snprintf(out, len, "%s", real[ml] ? real + ml : "/");
	} else if (!live && arg[0] == '/') {
		snprintf(out, len, "%s", arg);
		return true;
	} else {
		*why = mount ? "not a directory of the cgroup v2 hierarchy" :
			       "this host has no cgroup v2 hierarchy mounted";
		return false;
	}
	snprintf(joined, sizeof(joined), "%s%s", mount, out);
	if (live && (stat(joined, &st) || !S_ISDIR(st.st_mode))) {
		*why = "not a directory of the cgroup v2 hierarchy";
		return false;
	}
	return true;
}

__u64 cgroup_id_of(const char *root, const char *path)
{
	char full[CGROUP_PATH_MAX + 256];
	struct stat st;

	snprintf(full, sizeof(full), "%s%s", root, path);
	return stat(full, &st) == 0 && S_ISDIR(st.st_mode) ? st.st_ino : 0;
}

/* ------------------------------------------------------------ the walk */

static struct {
	struct cg_dir *v;
	size_t n, cap, root_len;
} walk_acc;

static int walk_one(const char *fpath, const struct stat *st, int flag, struct FTW *ftw)
{
	struct cg_dir *v;

	(void)ftw;
	if (flag != FTW_D)
		return 0;
	if (walk_acc.n == walk_acc.cap) {
		size_t cap = walk_acc.cap ? walk_acc.cap * 2 : 256;

		v = realloc(walk_acc.v, cap * sizeof(*v));
		if (!v)
			return 1;
		walk_acc.v = v;
		walk_acc.cap = cap;
	}
	v = &walk_acc.v[walk_acc.n];
	v->ino = st->st_ino;
	v->path = strdup(fpath[walk_acc.root_len] ? fpath + walk_acc.root_len : "/");
	if (!v->path)
		return 1;
	walk_acc.n++;
	return 0;
}

static int dir_cmp(const void *a, const void *b)
{
	const struct cg_dir *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void dirs_free(struct cgroup_names *cn)
{
	for (size_t i = 0; i < cn->n_dirs; i++)
		free(cn->dirs[i].path);
	free(cn->dirs);
	cn->dirs = NULL;
	cn->n_dirs = 0;
}

static void walk(struct cgroup_names *cn, __u64 now_ns)
{
	memset(&walk_acc, 0, sizeof(walk_acc));
	walk_acc.root_len = strlen(cn->root);
	/* Cgroup directories hold no symlinks; a mount inside is not ours. */
	nftw(cn->root, walk_one, 16, FTW_PHYS | FTW_MOUNT);
	dirs_free(cn);
	cn->dirs = walk_acc.v;
	cn->n_dirs = walk_acc.n;
	qsort(cn->dirs, cn->n_dirs, sizeof(*cn->dirs), dir_cmp);
	cn->walked = true;
	cn->walked_ns = now_ns;
}

static const char *walk_find(const struct cgroup_names *cn, __u64 id)
{
	struct cg_dir key = { .ino = id }, *d;

	d = cn->n_dirs ? bsearch(&key, cn->dirs, cn->n_dirs, sizeof(key), dir_cmp) : NULL;
	return d ? d->path : NULL;
}

/* ------------------------------------------------------------ the table */

struct cgroup_names *cgroup_names_new(const char *root, const char *pods_dir)
{
	struct cgroup_names *cn = calloc(1, sizeof(*cn));

	if (!cn)
		return NULL;
	cn->cap = 64;
	cn->slots = calloc(cn->cap, sizeof(*cn->slots));
	cn->root = root ? strdup(root) : NULL;
	cn->pods_dir = pods_dir ? strdup(pods_dir) : NULL;
	if (!cn->slots || (root && !cn->root) || (pods_dir && !cn->pods_dir)) {
		cgroup_names_free(cn);
		return NULL;
	}
	return cn;
}

void cgroup_names_free(struct cgroup_names *cn)
{
	if (!cn)
		return;
	for (size_t i = 0; i < cn->cap; i++)
		free(cn->slots[i].n);
	free(cn->slots);
	dirs_free(cn);
	free(cn->root);
	free(cn->pods_dir);
	free(cn);
}

static size_t slot_of(__u64 id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 32) & (cap - 1);
}

static struct cg_slot *find(const struct cgroup_names *cn, __u64 id)
{
	for (size_t i = slot_of(id, cn->cap);; i = (i + 1) & (cn->cap - 1)) {
		if (!cn->slots[i].n)
			return NULL;
		if (cn->slots[i].n->id == id)
			return &cn->slots[i];
	}
}

static struct cg_slot *insert(struct cgroup_names *cn, __u64 id)
{
	size_t i;

	if ((cn->used + 1) * 2 > cn->cap) {
		size_t cap = cn->cap * 2;
		struct cg_slot *s = calloc(cap, sizeof(*s));

		if (!s)
			return NULL;
		for (size_t k = 0; k < cn->cap; k++) {
			if (!cn->slots[k].n)
				continue;
			for (i = slot_of(cn->slots[k].n->id, cap); s[i].n; i = (i + 1) & (cap - 1))
				;
			s[i] = cn->slots[k];
		}
		free(cn->slots);
		cn->slots = s;
		cn->cap = cap;
	}
	for (i = slot_of(id, cn->cap); cn->slots[i].n; i = (i + 1) & (cn->cap - 1))
		;
	cn->slots[i].n = calloc(1, sizeof(struct cgroup_name));
	if (!cn->slots[i].n)
		return NULL;
	cn->slots[i].n->id = id;
	cn->used++;
	return &cn->slots[i];
}

const struct cgroup_name *cgroup_names_get(const struct cgroup_names *cn, __u64 id)
{
	const struct cg_slot *s = id && cn ? find(cn, id) : NULL;

	return s ? s->n : NULL;
}

void cgroup_names_set(struct cgroup_names *cn, __u64 id, const char *path, const char *pod)
{
	struct cg_slot *s;

	if (!cn || !id)
		return;
	s = find(cn, id);
	if (!s)
		s = insert(cn, id);
	if (s)
		cgroup_name_parse(s->n, path, pod);
}

const struct cgroup_name *cgroup_names_resolve(struct cgroup_names *cn, __u64 id,
					       __u64 now_ns, bool *learned)
{
	struct cg_slot *s;
	const char *path;
	char pod[CGROUP_NAME_MAX] = "";

	*learned = false;
	if (!cn || !id)
		return NULL;
	s = find(cn, id);
	if (s && (s->n->path[0] || !cn->root || s->tries >= CG_RETRIES ||
		  now_ns - s->tried_ns < CG_RETRY_NS))
		return s->n;
	if (!cn->root)
		return NULL;
	/* A new cgroup is likely newer than the last walk. */
	path = cn->walked ? walk_find(cn, id) : NULL;
	if (!path && (!cn->walked || now_ns - cn->walked_ns >= CGROUP_REWALK_NS)) {
		walk(cn, now_ns);
		path = walk_find(cn, id);
	}
	if (!s) {
		s = insert(cn, id);
		if (!s)
			return NULL;
	} else if (!path) {
		s->tried_ns = now_ns;
		s->tries++;
		return s->n;
	}
	s->tried_ns = now_ns;
	s->tries++;
	if (path) {
		struct cgroup_name probe;

		cgroup_name_parse(&probe, path, NULL);
		if (probe.pod_uid[0])
			cgroup_pod_lookup(cn->pods_dir, probe.pod_uid, pod, sizeof(pod));
	}
	cgroup_name_parse(s->n, path ? path : "", pod);
	*learned = true;
	return s->n;
}
