/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A thread that lives in the traced network namespace (--netns) and runs
 * calls there for the rest of the tracer.
 *
 * Two things must happen inside that namespace after the attach: each
 * socket scan's iterator is created there (iter/tcp walks the namespace of
 * the thread that creates it), and at the end our netlink TC filters are
 * removed through a socket of that namespace. Entering it takes
 * CAP_SYS_ADMIN (setns), which the tracer gives up once attached: this
 * thread enters once, while the tracer still holds it, and stays. Only
 * this thread's namespace changes; the main thread's stays the tracer's
 * own, so whatever else opens sockets (outputs, exporters) does it where
 * the tracer was started.
 *
 * Credentials are per thread in Linux: the thread drops its privileges
 * itself, as a call like any other (ns_thread_call(t, privs_drop_fn, ...)).
 * It blocks every signal: they are the main thread's.
 */
#ifndef TCPTRACE_NS_THREAD_H
#define TCPTRACE_NS_THREAD_H

#include <stddef.h>

struct ns_thread;

/*
 * Starts the thread and waits until it is in netns_fd's namespace.
 * Returns NULL with errno set (EPERM: no CAP_SYS_ADMIN) and a reason.
 */
struct ns_thread *ns_thread_start(int netns_fd, char *err, size_t errlen);

/* Runs fn(arg) on the thread, inside the namespace; returns what fn returned. */
int ns_thread_call(struct ns_thread *t, int (*fn)(void *arg), void *arg);

/* Ends the thread and frees it; NULL is fine. */
void ns_thread_stop(struct ns_thread *t);

#endif /* TCPTRACE_NS_THREAD_H */
