// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of least privilege (user/privs.c) and of the thread that
 * lives in the traced namespace (user/ns_thread.c): which capabilities a
 * run keeps after attaching, what a missing one is called, and that the
 * namespace thread is in its namespace while the caller stays in its own,
 * and its credentials are its own. The tracer's end to end behaviour with
 * few capabilities is tests/privs_test.sh's.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "ns_thread.h"
#include "privs.h"
#include "harness.h"

/* privs.c asks the tracer for its fds: not called by these tests. */
int tracer_ringbuf_fd(const struct tracer *t);
int tracer_scan_link_fd(const struct tracer *t);
int tracer_ringbuf_fd(const struct tracer *t) { (void)t; return -1; }
int tracer_scan_link_fd(const struct tracer *t) { (void)t; return -1; }

#define ALL	(~0ULL)
#define C(x)	PRIVS_CAP(CAP_##x)

static void test_keep_nothing_on_a_modern_kernel(struct test *t)
{
	struct privs_need n = { 0 };

	/* --netns, tcx links, bpf() that checks nothing on held fds. */
	EXPECT_EQ(privs_keep(&n, ALL), 0);
out:;
}

static void test_keep_net_admin_for_netlink_filters(struct test *t)
{
	struct privs_need n = { .netlink_filters = true };

	EXPECT_EQ(privs_keep(&n, ALL), C(NET_ADMIN));
	/* Never more than held: a start without it had none to keep. */
	EXPECT_EQ(privs_keep(&n, C(BPF) | C(PERFMON)), 0);
out:;
}

static void test_keep_bpf_where_the_kernel_wants_it(struct test *t)
{
	struct privs_need n = { .bpf_fds_need_cap = true, .netlink_filters = true };

	EXPECT_EQ(privs_keep(&n, C(BPF) | C(PERFMON) | C(NET_ADMIN)), C(BPF) | C(NET_ADMIN));
out:;
}

static void test_keep_host_wide_namespace_entry(struct test *t)
{
	struct privs_need n = { .scan_other_netns = true };

	EXPECT_EQ(privs_keep(&n, ALL), C(SYS_ADMIN) | C(SYS_PTRACE));
	/* Without CAP_SYS_ADMIN no namespace can be entered: CAP_SYS_PTRACE
	 * alone would only find them. */
	EXPECT_EQ(privs_keep(&n, C(BPF) | C(PERFMON) | C(NET_ADMIN) | C(SYS_PTRACE)), 0);
	EXPECT_EQ(privs_keep(&n, C(SYS_ADMIN)), C(SYS_ADMIN));
out:;
}

static void test_describe_names_each_missing_one(struct test *t)
{
	char buf[512];

	privs_describe(C(NET_ADMIN), buf, sizeof(buf));
	EXPECT_STR(buf, "CAP_NET_ADMIN (to hook the interfaces; --no-nic needs none)");
	privs_describe(C(BPF) | C(SYS_ADMIN), buf, sizeof(buf));
	EXPECT_STR(buf, "CAP_BPF (to load BPF programs and maps), "
		   "CAP_SYS_ADMIN (to enter the --netns namespace)");
	privs_names(C(SYS_PTRACE) | C(NET_ADMIN), buf, sizeof(buf));
	EXPECT_STR(buf, "CAP_NET_ADMIN, CAP_SYS_PTRACE");
	privs_names(0, buf, sizeof(buf));
	EXPECT_STR(buf, "none");
	/* A buffer too small is cut, never overrun. */
	privs_describe(ALL, buf, 40);
	EXPECT_EQ(strlen(buf), 39);
out:;
}

/* The calling thread's namespace, by inode. */
static int netns_inode(void *arg)
{
	struct stat st;

	(void)arg;
	return stat("/proc/thread-self/ns/net", &st) ? -errno : (int)st.st_ino;
}

/* The calling thread's effective capabilities, low word; then none at all. */
static int drop_effective(void *arg)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {};

	(void)arg;
	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[0].effective = d[1].effective = 0;
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

static bool has_effective(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {};

	return !syscall(SYS_capget, &h, d) && (d[cap / 32].effective & (1u << (cap % 32)));
}

static void test_ns_thread_lives_in_the_namespace(struct test *t)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), other = -1;
	struct ns_thread *th = NULL;
	int self_ino = netns_inode(NULL), other_ino;
	char err[128];

	EXPECT(self >= 0, "open: %s", strerror(errno));
	/* A namespace of the test's own, left at once: the fd holds it. */
	EXPECT(!unshare(CLONE_NEWNET), "unshare: %s", strerror(errno));
	other = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	other_ino = netns_inode(NULL);
	EXPECT(!setns(self, CLONE_NEWNET), "setns back: %s", strerror(errno));
	EXPECT(other >= 0 && other_ino != self_ino, "no namespace of our own");

	th = ns_thread_start(other, err, sizeof(err));
	EXPECT(th, "ns_thread_start: %s", err);
	EXPECT_EQ(ns_thread_call(th, netns_inode, NULL), other_ino);
	EXPECT_EQ(netns_inode(NULL), self_ino);
	/* Credentials are the thread's: its drop leaves the caller's. */
	EXPECT_EQ(ns_thread_call(th, drop_effective, NULL), 0);
	EXPECT(has_effective(CAP_SYS_ADMIN), "the caller lost CAP_SYS_ADMIN with the thread");
	EXPECT_EQ(ns_thread_call(th, netns_inode, NULL), other_ino);
out:
	ns_thread_stop(th);
	if (other >= 0)
		close(other);
	if (self >= 0)
		close(self);
}

static void test_ns_thread_refused_says_why(struct test *t)
{
	char err[128] = "";
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct ns_thread *th = ns_thread_start(fd, err, sizeof(err));

	EXPECT(!th, "a thread entered /dev/null");
	EXPECT(errno == EINVAL, "errno %d", errno);
	EXPECT(strstr(err, "cannot enter the traced namespace: "), "err: %s", err);
out:
	ns_thread_stop(th);
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct test_case pure[] = {
		TEST(test_keep_nothing_on_a_modern_kernel),
		TEST(test_keep_net_admin_for_netlink_filters),
		TEST(test_keep_bpf_where_the_kernel_wants_it),
		TEST(test_keep_host_wide_namespace_entry),
		TEST(test_describe_names_each_missing_one),
		TEST(test_ns_thread_refused_says_why),
	};
	static const struct test_case root[] = {
		TEST(test_ns_thread_lives_in_the_namespace),
	};
	int ret = RUN_TESTS(pure, argc, argv);

	if (geteuid() != 0 || !has_effective(CAP_SYS_ADMIN)) {
		printf("SKIP ns_thread_lives_in_the_namespace: needs CAP_SYS_ADMIN\n");
		return ret;
	}
	return RUN_TESTS(root, argc, argv) || ret;
}
