// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ns_thread.h"

struct ns_thread {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int netns_fd;
	int entered;		/* 0 waiting, 1 in, -errno could not enter */
	/* One call at a time: the main thread waits for each. */
	int (*fn)(void *arg);
	void *arg;
	int ret;
	bool pending;		/* fn set, not run yet */
	bool quit;
};

static void *ns_thread_main(void *p)
{
	struct ns_thread *t = p;
	int entered = setns(t->netns_fd, CLONE_NEWNET) ? -errno : 1;

	pthread_mutex_lock(&t->mu);
	t->entered = entered;
	pthread_cond_broadcast(&t->cv);
	while (entered > 0 && !t->quit) {
		if (!t->pending) {
			pthread_cond_wait(&t->cv, &t->mu);
			continue;
		}
		/* The caller waits on the result: nothing else runs meanwhile. */
		pthread_mutex_unlock(&t->mu);
		t->ret = t->fn(t->arg);
		pthread_mutex_lock(&t->mu);
		t->pending = false;
		pthread_cond_broadcast(&t->cv);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

struct ns_thread *ns_thread_start(int netns_fd, char *err, size_t errlen)
{
	struct ns_thread *t = calloc(1, sizeof(*t));
	sigset_t all, old;
	int ret;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->netns_fd = netns_fd;
	/* Signals stay the main thread's: the thread starts with all blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&t->tid, NULL, ns_thread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(ret));
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
		free(t);
		errno = ret;
		return NULL;
	}
	pthread_mutex_lock(&t->mu);
	while (!t->entered)
		pthread_cond_wait(&t->cv, &t->mu);
	ret = t->entered;
	pthread_mutex_unlock(&t->mu);
	if (ret < 0) {
		snprintf(err, errlen, "cannot enter the traced namespace: %s", strerror(-ret));
		ns_thread_stop(t);
		errno = -ret;
		return NULL;
	}
	return t;
}

int ns_thread_call(struct ns_thread *t, int (*fn)(void *arg), void *arg)
{
	int ret;

	pthread_mutex_lock(&t->mu);
	t->fn = fn;
	t->arg = arg;
	t->pending = true;
	pthread_cond_broadcast(&t->cv);
	while (t->pending)
		pthread_cond_wait(&t->cv, &t->mu);
	ret = t->ret;
	pthread_mutex_unlock(&t->mu);
	return ret;
}

void ns_thread_stop(struct ns_thread *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	t->quit = true;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->tid, NULL);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}
