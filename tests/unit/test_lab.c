// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of where `tcptrace-bpf lab` finds the lab (user/lab.c): the
 * scripts and the peer that `make install` puts beside the binary, or the
 * source tree's when it runs from build/ (or build/san/), and a clear
 * reason when neither is there. The layouts are built in a temporary
 * directory.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "lab.h"
#include "harness.h"

struct fixture {
	char root[64];
	char driver[PATH_MAX + 64], peer[PATH_MAX + 64], why[PATH_MAX * 2];
};

static int fixture_open(struct fixture *f)
{
	snprintf(f->root, sizeof(f->root), "/tmp/test_lab.XXXXXX");
	return mkdtemp(f->root) ? 0 : -1;
}

static void fixture_close(struct fixture *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", f->root);
}

/* ROOT/REL as a file with MODE, its directories made. */
static int put(struct fixture *f, const char *rel, mode_t mode)
{
	char path[PATH_MAX], cmd[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	if (system(cmd))
		return -1;
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	close(fd);
	return chmod(path, mode);
}

static int locate(struct fixture *f, const char *exe_rel)
{
	char exe[PATH_MAX];

	snprintf(exe, sizeof(exe), "%s/%s", f->root, exe_rel);
	f->driver[0] = f->peer[0] = f->why[0] = '\0';
	return lab_locate(exe, f->driver, sizeof(f->driver), f->peer, sizeof(f->peer), f->why,
			  sizeof(f->why));
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && !strcmp(s + n - m, tail);
}

/* make install: $(PREFIX)/sbin, share/tcptrace-bpf/lab, libexec/tcptrace-bpf. */
static void test_installed(struct test *t)
{
	struct fixture f;

	EXPECT(!fixture_open(&f), "mkdtemp");
	EXPECT(!put(&f, "usr/sbin/tcptrace-bpf", 0755) &&
	       !put(&f, "usr/share/tcptrace-bpf/lab/demo.sh", 0644) &&
	       !put(&f, "usr/libexec/tcptrace-bpf/peer", 0755), "layout");
	EXPECT_EQ(locate(&f, "usr/sbin/tcptrace-bpf"), 0);
	EXPECT(ends_with(f.driver, "/usr/sbin/../share/tcptrace-bpf/lab/demo.sh"), "driver %s",
	       f.driver);
	EXPECT(ends_with(f.peer, "/usr/sbin/../libexec/tcptrace-bpf/peer"), "peer %s", f.peer);
out:
	fixture_close(&f);
}

/* build/tcptrace-bpf beside build/peer, the scripts in tests/lab. */
static void test_build_tree(struct test *t)
{
	struct fixture f;

	EXPECT(!fixture_open(&f), "mkdtemp");
	EXPECT(!put(&f, "src/build/tcptrace-bpf", 0755) &&
	       !put(&f, "src/build/peer", 0755) &&
	       !put(&f, "src/tests/lab/demo.sh", 0644), "layout");
	EXPECT_EQ(locate(&f, "src/build/tcptrace-bpf"), 0);
	EXPECT(ends_with(f.driver, "/src/build/../tests/lab/demo.sh"), "driver %s", f.driver);
	EXPECT(ends_with(f.peer, "/src/build/peer"), "peer %s", f.peer);
out:
	fixture_close(&f);
}

/* make san's build/san/tcptrace-bpf: the tree two levels up, its build/peer. */
static void test_san_build(struct test *t)
{
	struct fixture f;

	EXPECT(!fixture_open(&f), "mkdtemp");
	EXPECT(!put(&f, "src/build/san/tcptrace-bpf", 0755) &&
	       !put(&f, "src/build/peer", 0755) &&
	       !put(&f, "src/tests/lab/demo.sh", 0644), "layout");
	EXPECT_EQ(locate(&f, "src/build/san/tcptrace-bpf"), 0);
	EXPECT(ends_with(f.driver, "/src/build/san/../../tests/lab/demo.sh"), "driver %s",
	       f.driver);
	EXPECT(ends_with(f.peer, "/src/build/san/../../build/peer"), "peer %s", f.peer);
out:
	fixture_close(&f);
}

/* The scripts without a runnable peer: "not built", not a wrong path. */
static void test_no_peer(struct test *t)
{
	struct fixture f;

	EXPECT(!fixture_open(&f), "mkdtemp");
	EXPECT(!put(&f, "src/build/tcptrace-bpf", 0755) &&
	       !put(&f, "src/build/peer", 0644) &&
	       !put(&f, "src/tests/lab/demo.sh", 0644), "layout");
	EXPECT_EQ(locate(&f, "src/build/tcptrace-bpf"), -1);
	EXPECT(strstr(f.why, "peer program is not built"), "why: %s", f.why);
out:
	fixture_close(&f);
}

/* An install without its peer: the missing file named. */
static void test_installed_no_peer(struct test *t)
{
	struct fixture f;

	EXPECT(!fixture_open(&f), "mkdtemp");
	EXPECT(!put(&f, "opt/bin/tcptrace-bpf", 0755) &&
	       !put(&f, "opt/share/tcptrace-bpf/lab/demo.sh", 0644), "layout");
	EXPECT_EQ(locate(&f, "opt/bin/tcptrace-bpf"), -1);
	EXPECT(strstr(f.why, "libexec/tcptrace-bpf/peer is missing"), "why: %s", f.why);
out:
	fixture_close(&f);
}

/* A binary copied alone: said so. */
static void test_alone(struct test *t)
{
	struct fixture f;

	EXPECT(!fixture_open(&f), "mkdtemp");
	EXPECT(!put(&f, "opt/bin/tcptrace-bpf", 0755), "layout");
	EXPECT_EQ(locate(&f, "opt/bin/tcptrace-bpf"), -1);
	EXPECT(strstr(f.why, "cannot find the lab beside") && strstr(f.why, "make install"),
	       "why: %s", f.why);
	EXPECT_EQ(lab_locate("tcptrace-bpf", f.driver, sizeof(f.driver), f.peer,
			     sizeof(f.peer), f.why, sizeof(f.why)), -1);
	EXPECT(strstr(f.why, "not a path"), "why: %s", f.why);
out:
	fixture_close(&f);
}

static const struct test_case tests[] = {
	TEST(test_installed),
	TEST(test_build_tree),
	TEST(test_san_build),
	TEST(test_no_peer),
	TEST(test_installed_no_peer),
	TEST(test_alone),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
