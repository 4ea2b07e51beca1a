// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of attribution in userspace: naming a container or unit from
 * a cgroup path (user/cgroups.c), and matching the sockets open at start
 * to the processes that hold them (user/proc_owners.c). The /proc walk
 * runs on a made-up /proc in a temporary directory: pid directories with
 * fd links "socket:[N]", a namespace file and its net/tcp tables, comm and
 * cgroup; a made-up cgroup mount beside it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cgroups.h"
#include "proc_owners.h"
#include "harness.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "5f2b3c4d-1111-2222-3333-444455556666"

static void test_name_systemd_units(struct test *t)
{
	struct cgroup_name n;

	cgroup_name_parse(&n, "/system.slice/nginx.service", NULL);
	EXPECT_STR(n.container, "nginx.service");
	EXPECT_STR(n.unit, "nginx.service");
	EXPECT_STR(n.container_id, "");
	cgroup_name_parse(&n, "/user.slice/user-1000.slice/session-3.scope", NULL);
	EXPECT_STR(n.container, "session-3.scope");
	/* A unit's own sub-cgroup: the unit is still the name. */
	cgroup_name_parse(&n, "/system.slice/postgresql.service/workers", NULL);
	EXPECT_STR(n.container, "postgresql.service");
	/* The root and a slice alone name nothing. */
	cgroup_name_parse(&n, "/", NULL);
	EXPECT_STR(n.container, "");
	cgroup_name_parse(&n, "/system.slice", NULL);
	EXPECT_STR(n.container, "");
	cgroup_name_parse(&n, "", NULL);
	EXPECT_STR(n.container, "");
out:
	;
}

static void test_name_containers(struct test *t)
{
	struct cgroup_name n;

	cgroup_name_parse(&n, "/system.slice/docker-" ID64 ".scope", NULL);
	EXPECT_STR(n.runtime, "docker");
	EXPECT_STR(n.container_id, ID64);
	EXPECT_STR(n.container, "docker:0123456789ab");
	/* cgroupfs driver */
	cgroup_name_parse(&n, "/docker/" ID64, NULL);
	EXPECT_STR(n.container, "docker:0123456789ab");
	cgroup_name_parse(&n, "/system.slice/cri-containerd-" ID64 ".scope", NULL);
	EXPECT_STR(n.runtime, "containerd");
	cgroup_name_parse(&n, "/machine.slice/crio-" ID64 ".scope", NULL);
	EXPECT_STR(n.container, "cri-o:0123456789ab");
	cgroup_name_parse(&n, "/machine.slice/libpod-" ID64 ".scope/container", NULL);
	EXPECT_STR(n.container, "podman:0123456789ab");
	/* conmon is cri-o's monitor, no container: named as the unit it is. */
	cgroup_name_parse(&n, "/machine.slice/crio-conmon-" ID64 ".scope", NULL);
	EXPECT_STR(n.container_id, "");
	EXPECT_STR(n.container, "crio-conmon-" ID64 ".scope");
	/* Not hex, or too short: a unit that happens to start with docker-. */
	cgroup_name_parse(&n, "/system.slice/docker-compose.scope", NULL);
	EXPECT_STR(n.container_id, "");
	EXPECT_STR(n.container, "docker-compose.scope");
	cgroup_name_parse(&n, "/system.slice/docker.service", NULL);
	EXPECT_STR(n.container, "docker.service");
out:
	;
}

static void test_name_pods(struct test *t)
{
	struct cgroup_name n;

	/* systemd driver: the UID's dashes are underscores in the slice. */
	cgroup_name_parse(&n, "/kubepods.slice/kubepods-burstable.slice/"
			  "kubepods-burstable-pod5f2b3c4d_1111_2222_3333_444455556666.slice/"
			  "cri-containerd-" ID64 ".scope", NULL);
	EXPECT_STR(n.pod_uid, UID);
	EXPECT_STR(n.container_id, ID64);
	EXPECT_STR(n.container, "containerd:0123456789ab");
	/* kubelet's files name it: the pod's name is the one shown. */
	cgroup_name_parse(&n, "/kubepods.slice/kubepods-pod5f2b3c4d_1111_2222_3333_444455556666"
			  ".slice/cri-containerd-" ID64 ".scope", "shop/cart-7d9f");
	EXPECT_STR(n.pod, "shop/cart-7d9f");
	EXPECT_STR(n.container, "shop/cart-7d9f");
	/* cgroupfs driver, the pod's own cgroup */
	cgroup_name_parse(&n, "/kubepods/besteffort/pod" UID, NULL);
	EXPECT_STR(n.pod_uid, UID);
	EXPECT_STR(n.container, "pod:" UID);
	cgroup_name_parse(&n, "/kubepods/besteffort/pod" UID "/" ID64, NULL);
	EXPECT_STR(n.container, "container:0123456789ab");
	/* "pod..." outside kubepods is no pod. */
	cgroup_name_parse(&n, "/podcast/pod" UID, NULL);
	EXPECT_STR(n.pod_uid, "");
out:
	;
}

static void test_path_under(struct test *t)
{
	EXPECT(cgroup_path_under("/system.slice/a.service", "/system.slice"), "below");
	EXPECT(cgroup_path_under("/system.slice", "/system.slice"), "itself");
	EXPECT(cgroup_path_under("/system.slice", "/system.slice/"), "trailing slash");
	EXPECT(!cgroup_path_under("/system.slicex/a", "/system.slice"), "a prefix is not a parent");
	EXPECT(!cgroup_path_under("/user.slice", "/system.slice"), "elsewhere");
	EXPECT(cgroup_path_under("/anything", "/"), "the root holds all");
out:
	;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void test_pod_lookup(struct test *t)
{
	char root[] = "/tmp/test_owners.XXXXXX", path[256], out[128] = "";

	EXPECT(mkdtemp(root), "mkdtemp");
	snprintf(path, sizeof(path), "%s/shop_cart-7d9f_" UID, root);
	EXPECT(mkdir(path, 0700) == 0, "mkdir");
	EXPECT(cgroup_pod_lookup(root, UID, out, sizeof(out)), "found");
	EXPECT_STR(out, "shop/cart-7d9f");
	EXPECT(!cgroup_pod_lookup(root, "ffffffff-1111-2222-3333-444455556666", out, sizeof(out)),
	       "another pod");
	EXPECT(!cgroup_pod_lookup("/nonexistent/pods", UID, out, sizeof(out)), "no kubelet");
out:
	rmdir(path);
	rmdir(root);
}

/* ------------------------------------------------------------ the /proc walk */

struct fake {
	char root[64];
	char proc[96], cg[96];
};

/* A process: its fds (socket inodes, 0: a file), namespace, TCP table. */
static int fake_pid(struct fake *f, int pid, const char *comm, const char *cgroup,
		    const char *netns, const unsigned int *socks, int n, const char *tcp)
{
	char p[256], target[64];

	snprintf(p, sizeof(p), "%s/%d", f->proc, pid);
	if (mkdir(p, 0700))
		return -1;
	snprintf(p, sizeof(p), "%s/%d/fd", f->proc, pid);
	if (mkdir(p, 0700))
		return -1;
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%d/fd/%d", f->proc, pid, i + 3);
		if (socks[i])
			snprintf(target, sizeof(target), "socket:[%u]", socks[i]);
		else
			snprintf(target, sizeof(target), "/var/log/app.log");
		if (symlink(target, p))
			return -1;
	}
	snprintf(p, sizeof(p), "%s/%d/ns", f->proc, pid);
	if (mkdir(p, 0700))
		return -1;
	/* Processes of one namespace share its file: hard links, one inode. */
	snprintf(p, sizeof(p), "%s/%d/ns/net", f->proc, pid);
	if (link(netns, p))
		return -1;
	snprintf(p, sizeof(p), "%s/%d/net", f->proc, pid);
	if (mkdir(p, 0700))
		return -1;
	snprintf(p, sizeof(p), "%s/%d/net/tcp", f->proc, pid);
	if (write_file(p, tcp))
		return -1;
	snprintf(p, sizeof(p), "%s/%d/comm", f->proc, pid);
	snprintf(target, sizeof(target), "%s\n", comm);
	if (write_file(p, target))
		return -1;
	snprintf(p, sizeof(p), "%s/%d/cgroup", f->proc, pid);
	snprintf(target, sizeof(target), "0::%s\n", cgroup);
	return write_file(p, target);
}

#define TCP_HDR "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when " \
		"retrnsmt   uid  timeout inode\n"
#define TCP_LINE(ino) "   0: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 " \
		"00000000     0        0 " #ino " 1 0000000000000000 20 4 30 10 -1\n"

#define NS1_TCP TCP_HDR TCP_LINE(5001) TCP_LINE(5002) TCP_LINE(5003)
#define NS2_TCP TCP_HDR TCP_LINE(6001)

static void test_proc_walk(struct test *t)
{
	struct fake f;
	struct proc_owners po = {};
	const struct proc_owner *o;
	char ns1[128], ns2[128], cgdir[160];
	struct stat st;
	/* pid 100: a client socket 5001 and a unix socket 7777 (not TCP);
	 * pid 200: the listener 5002, and 5003 shared with pid 300 (forked);
	 * pid 400, another namespace: 6001 (its table only lists it). */
	const unsigned int s100[] = { 5001, 0, 7777 }, s200[] = { 5002, 5003 };
	const unsigned int s300[] = { 5003 }, s400[] = { 6001 }, s500[] = { 5001 };

	snprintf(f.root, sizeof(f.root), "/tmp/test_owners.XXXXXX");
	EXPECT(mkdtemp(f.root), "mkdtemp");
	snprintf(f.proc, sizeof(f.proc), "%s/proc", f.root);
	snprintf(f.cg, sizeof(f.cg), "%s/cg", f.root);
	snprintf(ns1, sizeof(ns1), "%s/ns1", f.root);
	snprintf(ns2, sizeof(ns2), "%s/ns2", f.root);
	snprintf(cgdir, sizeof(cgdir), "%s/cg/app.service", f.root);
	EXPECT(mkdir(f.proc, 0700) == 0 && mkdir(f.cg, 0700) == 0 && mkdir(cgdir, 0700) == 0,
	       "mkdir");
	EXPECT(write_file(ns1, "") == 0 && write_file(ns2, "") == 0, "ns files");
	/* One namespace, one table, whichever process it is read through. */
	EXPECT(fake_pid(&f, 100, "client", "/app.service", ns1, s100, 3, NS1_TCP) == 0, "pid 100");
	EXPECT(fake_pid(&f, 200, "server", "/app.service", ns1, s200, 2, NS1_TCP) == 0, "pid 200");
	EXPECT(fake_pid(&f, 300, "worker", "/app.service", ns1, s300, 1, NS1_TCP) == 0, "pid 300");
	/* The other namespace's table lists 6001 only; 5001 held there by
	 * pid 500 as well is a socket passed across: no single owner. */
	EXPECT(fake_pid(&f, 400, "other", "/", ns2, s400, 1, NS2_TCP) == 0, "pid 400");
	EXPECT(fake_pid(&f, 500, "receiver", "/", ns2, s500, 1, NS2_TCP) == 0, "pid 500");
	EXPECT(stat(cgdir, &st) == 0, "stat");

	EXPECT_EQ(proc_owners_walk(&po, f.proc, f.cg), 0);
	EXPECT_EQ(po.procs, 5);
	EXPECT_EQ(po.netns, 2);
	EXPECT_EQ(po.sockets, 7);
	/* 7777 is no TCP socket: left out. */
	EXPECT_EQ(po.n, 4);
	EXPECT(!proc_owners_find(&po, 7777), "a unix socket has no entry");
	o = proc_owners_find(&po, 5002);
	EXPECT(o, "the listener");
	EXPECT_EQ(o->pid, 200);
	EXPECT_STR(o->comm, "server");
	EXPECT_EQ(o->cgroup_id, st.st_ino);
	/* Held by two processes: no pid, no comm; their common cgroup stays. */
	o = proc_owners_find(&po, 5003);
	EXPECT(o, "the shared socket");
	EXPECT_EQ(o->pid, 0);
	EXPECT_STR(o->comm, "");
	EXPECT_EQ(o->cgroup_id, st.st_ino);
	/* ... and with different cgroups, no cgroup either. */
	o = proc_owners_find(&po, 5001);
	EXPECT(o, "the passed socket");
	EXPECT_EQ(o->pid, 0);
	EXPECT_EQ(o->cgroup_id, 0);
	o = proc_owners_find(&po, 6001);
	EXPECT(o, "the other namespace's");
	EXPECT_EQ(o->pid, 400);
	EXPECT_STR(o->comm, "other");
	EXPECT_EQ(o->cgroup_id, cgroup_id_of(f.cg, "/"));
out:
	proc_owners_free(&po);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", f.root);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", f.root);
	}
}

/* A walk of a /proc that is not there is an error, not an empty answer. */
static void test_proc_walk_missing(struct test *t)
{
	struct proc_owners po;

	EXPECT(proc_owners_walk(&po, "/nonexistent/proc", NULL) < 0, "an error");
out:
	;
}

/* ------------------------------------------------------------ the id table */

static void test_names_resolve(struct test *t)
{
	char root[] = "/tmp/test_owners.XXXXXX", dir[160], svc[200];
	struct cgroup_names *cn = NULL;
	const struct cgroup_name *n;
	__u64 id;
	bool learned;

	EXPECT(mkdtemp(root), "mkdtemp");
	snprintf(dir, sizeof(dir), "%s/system.slice", root);
	snprintf(svc, sizeof(svc), "%s/system.slice/web.service", root);
	EXPECT(mkdir(dir, 0700) == 0 && mkdir(svc, 0700) == 0, "mkdir");
	id = cgroup_id_of(root, "/system.slice/web.service");
	EXPECT(id, "an id");
	cn = cgroup_names_new(root, NULL);
	EXPECT(cn, "table");
	n = cgroup_names_resolve(cn, id, 1000, &learned);
	EXPECT(n && learned, "resolved on first sight");
	EXPECT_STR(n->path, "/system.slice/web.service");
	EXPECT_STR(n->container, "web.service");
	n = cgroup_names_resolve(cn, id, 2000, &learned);
	EXPECT(n && !learned, "known: nothing new to record");
	/* An id no directory has: known as not found, said once. */
	n = cgroup_names_resolve(cn, 424242424242ULL, 3000, &learned);
	EXPECT(n && learned && !n->path[0], "not found, recorded so");
	n = cgroup_names_resolve(cn, 424242424242ULL, 4000, &learned);
	EXPECT(n && !learned, "not tried again at once");
	/* A replay's table: names only from the recording. */
	cgroup_names_free(cn);
	cn = cgroup_names_new(NULL, NULL);
	EXPECT(cn, "table");
	EXPECT(!cgroup_names_resolve(cn, id, 1000, &learned) && !learned, "nothing to resolve");
	cgroup_names_set(cn, id, "/system.slice/docker-" ID64 ".scope", "");
	n = cgroup_names_get(cn, id);
	EXPECT(n, "set");
	EXPECT_STR(n->container, "docker:0123456789ab");
out:
	cgroup_names_free(cn);
	rmdir(svc);
	rmdir(dir);
	rmdir(root);
}

static void test_filter_resolve(struct test *t)
{
	char root[] = "/tmp/test_owners.XXXXXX", dir[160], out[256], arg[256];
	const char *why;

	EXPECT(mkdtemp(root), "mkdtemp");
	snprintf(dir, sizeof(dir), "%s/lab.slice", root);
	EXPECT(mkdir(dir, 0700) == 0, "mkdir");
	EXPECT(cgroup_filter_resolve(dir, root, true, out, sizeof(out), &why), "whole path");
	EXPECT_STR(out, "/lab.slice");
	EXPECT(cgroup_filter_resolve("/lab.slice", root, true, out, sizeof(out), &why),
	       "from the mount's root");
	EXPECT_STR(out, "/lab.slice");
	EXPECT(cgroup_filter_resolve(root, root, true, out, sizeof(out), &why), "the mount");
	EXPECT_STR(out, "/");
	snprintf(arg, sizeof(arg), "%s/missing", root);
	EXPECT(!cgroup_filter_resolve(arg, root, true, out, sizeof(out), &why) && why,
	       "no such cgroup");
	EXPECT(!cgroup_filter_resolve("/tmp", root, true, out, sizeof(out), &why), "not a cgroup");
	/* A recording may name cgroups this host lacks. */
	EXPECT(cgroup_filter_resolve("/system.slice/gone.service", root, false, out,
				     sizeof(out), &why), "replay");
	EXPECT_STR(out, "/system.slice/gone.service");
out:
	rmdir(dir);
	rmdir(root);
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = {
		TEST(test_name_systemd_units),
		TEST(test_name_containers),
		TEST(test_name_pods),
		TEST(test_path_under),
		TEST(test_pod_lookup),
		TEST(test_proc_walk),
		TEST(test_proc_walk_missing),
		TEST(test_names_resolve),
		TEST(test_filter_resolve),
	};

	return RUN_TESTS(tests, argc, argv);
}
