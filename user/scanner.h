/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The socket scanner: run the iter/tcp program and hand each snapshot on. */
#ifndef TCPTRACE_SCANNER_H
#define TCPTRACE_SCANNER_H

#include "scan.h"

typedef void (*scan_fn)(const struct tt_sock_scan *s, void *ctx);

/*
 * Walks the sockets of netns_fd's namespace (or the caller's when -1):
 * iter/tcp walks the namespace the thread is in when it creates the
 * iterator, so the thread steps in, creates it, and steps back to
 * self_netns_fd. Returns the number of sockets or a negative errno.
 */
int scanner_run(int link_fd, int netns_fd, int self_netns_fd, scan_fn fn, void *ctx);

/*
 * Reads an iterator made elsewhere (tracer_scan_iter) to its end and
 * closes it; a negative iter_fd is returned as it is (the error).
 */
int scanner_read(int iter_fd, scan_fn fn, void *ctx);

#endif /* TCPTRACE_SCANNER_H */
