// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the host-wide namespace table (user/netns.c): a host where
 * containers come and go must never fill it with dead namespaces, a live
 * one seen after thousands of dead ones is still scanned, and what could
 * not be resolved is counted. Namespaces are stood in for by plain files
 * in a temporary directory: the table knows a namespace by the inode its
 * path stats to, as it knows a real one by /proc/PID/ns/net's.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "netns.h"
#include "harness.h"

#define SEC	1000000000ULL

struct fixture {
	char root[64];
	char named[96], proc[96], spare[96];
};

static int fixture_open(struct fixture *f, struct netns_set *s)
{
	snprintf(f->root, sizeof(f->root), "/tmp/test_netns.XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->named, sizeof(f->named), "%s/named", f->root);
	snprintf(f->proc, sizeof(f->proc), "%s/proc", f->root);
	snprintf(f->spare, sizeof(f->spare), "%s/spare", f->root);
	if (mkdir(f->named, 0700) || mkdir(f->proc, 0700) || mkdir(f->spare, 0700))
		return -1;
	netns_set_init(s);
	s->named_dir = f->named;
	s->proc_dir = f->proc;
	return 0;
}

static void fixture_close(struct fixture *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", f->root);
}

/* A file at path standing for a namespace: its inode. 0 on failure. */
static __u32 make_ns(const char *path)
{
	struct stat st;
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0)
		return 0;
	close(fd);
	return stat(path, &st) ? 0 : st.st_ino;
}

/* "proc/<pid>/ns/net", as a process in the namespace shows it. */
static __u32 make_proc_ns(struct fixture *f, int pid)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%d", f->proc, pid);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/ns", f->proc, pid);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%d/ns/net", f->proc, pid);
	return make_ns(path);
}

static int find(const struct netns_set *s, __u32 inum)
{
	for (int i = 0; i < s->n; i++)
		if (s->e[i].inum == inum)
			return i;
	return -1;
}

/* Opens inum's entry; true when it opened. */
static bool opens(struct netns_set *s, __u32 inum)
{
	int i = find(s, inum), fd;

	if (i < 0)
		return false;
	fd = netns_open(s, i);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_resolve_named_and_proc(struct test *t)
{
	struct netns_set s;
	struct fixture f;
	char path[160];
	__u32 a, b;

	EXPECT(!fixture_open(&f, &s), "fixture");
	snprintf(path, sizeof(path), "%s/svc-a", f.named);
	a = make_ns(path);
	b = make_proc_ns(&f, 4242);
	EXPECT(a && b, "files");
	netns_note(&s, a, 1 * SEC);
	netns_note(&s, b, 1 * SEC);
	netns_note(&s, a, 1 * SEC);
	netns_note(&s, s.self_inum, 1 * SEC);	/* ours: scanned without entering */
	EXPECT_EQ(s.n, 2);
	netns_resolve(&s, 2 * SEC);
	EXPECT(opens(&s, a), "the named namespace does not open");
	EXPECT(opens(&s, b), "the process's namespace does not open");
	EXPECT_STR(s.e[find(&s, b)].path + strlen(f.proc), "/4242/ns/net");
	EXPECT_EQ(netns_unresolved(&s), 0);
out:
	fixture_close(&f);
}

/* Namespaces no event named (connections older than the tracer, or
 * quiet ones) are found where they live: each once, however many
 * processes share it, ours never; a table filled by discovery still
 * takes an event's namespace. */
static void test_discover(struct test *t)
{
	struct netns_set s;
	struct fixture f;
	char path[160], path2[160];
	__u32 a, b, c, live;

	EXPECT(!fixture_open(&f, &s), "fixture");
	snprintf(path, sizeof(path), "%s/svc-a", f.named);
	a = make_ns(path);
	b = make_proc_ns(&f, 4242);
	c = make_proc_ns(&f, 4343);
	/* a second process in b's namespace */
	snprintf(path, sizeof(path), "%s/4244", f.proc);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/4244/ns", f.proc);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/4244/ns/net", f.proc);
	snprintf(path2, sizeof(path2), "%s/4242/ns/net", f.proc);
	EXPECT(a && b && c && !link(path2, path), "files");
	netns_note(&s, c, SEC);
	netns_discover(&s, 2 * SEC);
	EXPECT_EQ(s.n, 3);
	EXPECT_EQ(s.discovered, 2);
	EXPECT(opens(&s, a), "the named namespace was not found");
	EXPECT(opens(&s, b), "the process's namespace was not found");
	netns_discover(&s, 3 * SEC);
	EXPECT_EQ(s.n, 3);
	/* Full of discovered ones: an event's namespace still gets in. */
	for (int pid = 5000; pid < 5000 + NETNS_MAX - 3; pid++)
		EXPECT(make_proc_ns(&f, pid), "file");
	netns_discover(&s, 4 * SEC);
	EXPECT_EQ(s.n, NETNS_MAX);
	live = make_proc_ns(&f, 9999);
	netns_discover(&s, 5 * SEC);
	EXPECT(find(&s, live) < 0, "discovery went past a full table");
	netns_note(&s, live, 6 * SEC);
	netns_resolve(&s, 6 * SEC);
	EXPECT(opens(&s, live), "an event's namespace lost to discovered ones");
out:
	fixture_close(&f);
}

/* Containers that die before the tracer looks, thousands of them: the
 * table stays bounded, and a live namespace seen afterwards still gets
 * scanned. What could not be resolved is counted. */
static void test_dead_never_fill(struct test *t)
{
	struct netns_set s;
	struct fixture f;
	__u64 now = SEC;
	__u32 live;

	EXPECT(!fixture_open(&f, &s), "fixture");
	for (__u32 dead = 1; dead <= 5000; dead++) {
		netns_note(&s, 0x70000000 + dead, now);
		EXPECT(s.n <= NETNS_MAX, "table holds %d", s.n);
		if (dead % 20 == 0) {
			netns_resolve(&s, now);
			now += SEC;
		}
	}
	EXPECT(netns_unresolved(&s) > 0, "nothing unresolved");
	EXPECT(s.resolve_failed >= 5000 - NETNS_MAX, "resolve_failed %llu",
	       (unsigned long long)s.resolve_failed);
	live = make_proc_ns(&f, 77);
	EXPECT(live, "file");
	netns_note(&s, live, now);
	netns_resolve(&s, now + SEC / 2);
	EXPECT(opens(&s, live), "a live namespace seen after 5000 dead is not scanned");
	/* With events from the dead gone quiet, they are forgotten. */
	netns_resolve(&s, now + NETNS_IDLE_NS + SEC);
	EXPECT_EQ(netns_unresolved(&s), 0);
	EXPECT_EQ(s.n, 1);
out:
	fixture_close(&f);
}

/* A full table makes room from the unresolvable first: a quiet namespace
 * that is scanned stays. */
static void test_evicts_unresolved_first(struct test *t)
{
	struct netns_set s;
	struct fixture f;
	__u32 live;

	EXPECT(!fixture_open(&f, &s), "fixture");
	live = make_proc_ns(&f, 5);
	netns_note(&s, live, 1 * SEC);		/* the oldest entry */
	netns_resolve(&s, 1 * SEC);
	for (__u32 i = 1; i < NETNS_MAX; i++)
		netns_note(&s, 0x70000000 + i, 2 * SEC + i);
	netns_resolve(&s, 3 * SEC);
	EXPECT_EQ(s.n, NETNS_MAX);
	netns_note(&s, 0x7fff0000, 4 * SEC);
	EXPECT_EQ(s.n, NETNS_MAX);
	EXPECT_EQ(s.evicted, 1);
	EXPECT(find(&s, 0x7fff0000) >= 0, "the new namespace was not taken");
	EXPECT(find(&s, 0x70000001) < 0, "the oldest unresolved one is still there");
	EXPECT(opens(&s, live), "the scanned namespace was evicted");
out:
	fixture_close(&f);
}

/* Unresolved now is looked for again, with backoff: a namespace whose
 * process showed up (or whose name was added) late is found. */
static void test_retry_backoff(struct test *t)
{
	char spare[160], named[160];
	struct netns_set s;
	struct fixture f;
	__u32 ns;

	EXPECT(!fixture_open(&f, &s), "fixture");
	snprintf(spare, sizeof(spare), "%s/late", f.spare);
	snprintf(named, sizeof(named), "%s/late", f.named);
	ns = make_ns(spare);		/* exists, but nowhere the table looks */
	netns_note(&s, ns, 10 * SEC);
	netns_resolve(&s, 10 * SEC);
	EXPECT_EQ(netns_unresolved(&s), 1);
	EXPECT_EQ(s.resolve_failed, 1);
	EXPECT(!link(spare, named), "link");	/* same inode, now named */
	netns_note(&s, ns, 11 * SEC);
	netns_resolve(&s, 11 * SEC);		/* inside the backoff: not looked for */
	EXPECT_EQ(netns_unresolved(&s), 1);
	EXPECT_EQ(s.resolve_failed, 1);
	netns_note(&s, ns, 15 * SEC);
	netns_resolve(&s, 10 * SEC + NETNS_RETRY_NS);
	EXPECT_EQ(netns_unresolved(&s), 0);
	EXPECT(opens(&s, ns), "found late, but does not open");
out:
	fixture_close(&f);
}

/* Backoff doubles while nobody is found, up to its cap. */
static void test_backoff_doubles(struct test *t)
{
	struct netns_set s;
	struct fixture f;
	__u64 now = SEC;
	int i;

	EXPECT(!fixture_open(&f, &s), "fixture");
	netns_note(&s, 0x71234567, now);
	for (int round = 0; round < 12; round++) {
		netns_resolve(&s, now);
		i = find(&s, 0x71234567);
		EXPECT(i >= 0, "forgotten while its events go on");
		EXPECT(s.e[i].backoff_ns == (NETNS_RETRY_NS << round > NETNS_RETRY_MAX_NS ?
					     NETNS_RETRY_MAX_NS : NETNS_RETRY_NS << round),
		       "round %d: backoff %llu", round, (unsigned long long)s.e[i].backoff_ns);
		now = s.e[i].retry_ns;
		netns_note(&s, 0x71234567, now);
	}
	EXPECT_EQ(s.resolve_failed, 12);
out:
	fixture_close(&f);
}

/* A scanned namespace whose path stops opening it is forgotten, and its
 * next event looks for it again. */
static void test_gone_forgotten(struct test *t)
{
	struct netns_set s;
	struct fixture f;
	char path[160];
	__u32 ns;

	EXPECT(!fixture_open(&f, &s), "fixture");
	snprintf(path, sizeof(path), "%s/short", f.named);
	ns = make_ns(path);
	netns_note(&s, ns, SEC);
	netns_resolve(&s, SEC);
	EXPECT(opens(&s, ns), "does not open");
	unlink(path);
	EXPECT(!opens(&s, ns), "opens after its file is gone");
	EXPECT_EQ(s.n, 0);
	EXPECT_EQ(s.gone, 1);
out:
	fixture_close(&f);
}

/* A namespace whose scan failed is skipped for a backoff, then looked
 * for and scanned again: one failure never switches it off. */
static void test_scan_failed_backs_off(struct test *t)
{
	struct netns_set s;
	struct fixture f;
	__u32 ns;
	int i;

	EXPECT(!fixture_open(&f, &s), "fixture");
	ns = make_proc_ns(&f, 9);
	netns_note(&s, ns, SEC);
	netns_resolve(&s, SEC);
	i = find(&s, ns);
	EXPECT(i >= 0 && s.e[i].state == NETNS_RESOLVED, "not resolved");
	netns_scan_failed(&s, i, 2 * SEC);
	EXPECT_EQ(netns_unresolved(&s), 1);
	EXPECT(!opens(&s, ns), "opened inside its backoff");
	netns_note(&s, ns, 3 * SEC);
	netns_resolve(&s, 3 * SEC);
	EXPECT_EQ(netns_unresolved(&s), 1);
	netns_resolve(&s, 2 * SEC + NETNS_RETRY_NS);
	EXPECT_EQ(netns_unresolved(&s), 0);
	EXPECT(opens(&s, ns), "not scanned again after its backoff");
	/* Failing again backs off longer; a scan that works resets it. */
	i = find(&s, ns);
	netns_scan_failed(&s, i, 10 * SEC);
	EXPECT_EQ(s.e[find(&s, ns)].backoff_ns, 2 * NETNS_RETRY_NS);
	netns_note(&s, ns, 10 * SEC + 2 * NETNS_RETRY_NS);
	netns_resolve(&s, 10 * SEC + 2 * NETNS_RETRY_NS);
	i = find(&s, ns);
	netns_scan_ok(&s, i);
	netns_scan_failed(&s, i, 40 * SEC);
	EXPECT_EQ(s.e[find(&s, ns)].backoff_ns, NETNS_RETRY_NS);
out:
	fixture_close(&f);
}

static const struct test_case tests[] = {
	TEST(test_resolve_named_and_proc),
	TEST(test_discover),
	TEST(test_dead_never_fill),
	TEST(test_evicts_unresolved_first),
	TEST(test_retry_backoff),
	TEST(test_backoff_doubles),
	TEST(test_gone_forgotten),
	TEST(test_scan_failed_backs_off),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
