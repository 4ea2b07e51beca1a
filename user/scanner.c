// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "scanner.h"

int scanner_run(int link_fd, int netns_fd, int self_netns_fd, scan_fn fn, void *ctx)
{
	int iter_fd, err = 0;

	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET))
		return -errno;
	iter_fd = bpf_iter_create(link_fd);
	if (iter_fd < 0)
		err = -errno;
	if (netns_fd >= 0 && setns(self_netns_fd, CLONE_NEWNET) && !err)
		err = -errno;
	if (err) {
		if (iter_fd >= 0)
			close(iter_fd);
		return err;
	}
	return scanner_read(iter_fd, fn, ctx);
}

int scanner_read(int iter_fd, scan_fn fn, void *ctx)
{
	/* A whole number of records plus room for one that a read() split. */
	char buf[sizeof(struct tt_sock_scan) * 64];
	size_t have = 0;
	int n = 0, err = 0;
	ssize_t got;

	if (iter_fd < 0)
		return iter_fd;
	while ((got = read(iter_fd, buf + have, sizeof(buf) - have)) > 0) {
		size_t off = 0;

		have += got;
		for (; have - off >= sizeof(struct tt_sock_scan); off += sizeof(struct tt_sock_scan)) {
			struct tt_sock_scan s;

			memcpy(&s, buf + off, sizeof(s));
			fn(&s, ctx);
			n++;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	if (got < 0)
		err = -errno;
	close(iter_fd);
	return err ? err : n;
}
