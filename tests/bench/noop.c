// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * noop: the floor of `make bench`'s handler costs. Attaches the empty
 * programs of noop.bpf.c (TC egress of IFACE in the current namespace,
 * and tp_btf/inet_sock_set_state), turns bpf_stats on, prints "ready",
 * and at SIGTERM/SIGINT prints one line a program:
 *
 *   NAME RUN_CNT AVG_NS
 *
 *   noop IFACE
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "noop.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void print_stats(struct bpf_program *p)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return;
	printf("%s %llu %llu\n", bpf_program__name(p), (unsigned long long)info.run_cnt,
	       (unsigned long long)(info.run_cnt ? info.run_time_ns / info.run_cnt : 0));
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
	struct bpf_link *link = NULL;
	struct noop_bpf *skel;
	int stats_fd, err = 1;

	if (argc != 2 || !(hook.ifindex = if_nametoindex(argv[1]))) {
		fprintf(stderr, "usage: noop IFACE (an interface of this namespace)\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	skel = noop_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "noop: cannot load: %s\n", strerror(errno));
		return 1;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "noop: cannot enable bpf_stats: %s\n", strerror(errno));
		goto out;
	}
	/* clsact may exist already (EEXIST): ours is the filter, not the qdisc */
	bpf_tc_hook_create(&hook);
	opts.prog_fd = bpf_program__fd(skel->progs.noop_tc);
	if (bpf_tc_attach(&hook, &opts)) {
		fprintf(stderr, "noop: cannot attach to %s egress: %s\n", argv[1], strerror(errno));
		goto out;
	}
	link = bpf_program__attach(skel->progs.noop_set_state);
	if (!link) {
		fprintf(stderr, "noop: cannot attach to inet_sock_set_state: %s\n", strerror(errno));
		goto detach;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	print_stats(skel->progs.noop_tc);
	print_stats(skel->progs.noop_set_state);
	err = 0;
	bpf_link__destroy(link);
detach:
	opts.flags = opts.prog_fd = opts.prog_id = 0;
	bpf_tc_detach(&hook, &opts);
out:
	if (stats_fd >= 0)
		close(stats_fd);
	noop_bpf__destroy(skel);
	return err;
}
