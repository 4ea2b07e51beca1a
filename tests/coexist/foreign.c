// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * foreign: another tool on the interface, for tests/coexist_test.sh. It
 * attaches foreign.bpf.c (drop the TCP segments to PORT, count them) to
 * IFACE of the current namespace's ingress the way other tools do:
 *
 *   xdp   XDP through netlink (as `ip link set dev IFACE xdp ...`), generic
 *   tc    a cls_bpf filter in the clsact qdisc (as `tc filter add ... bpf
 *         da`), priority 1 handle 1: ahead of ours, which sit at 0x7474
 *   tcx   a tcx link, appended after whatever is there (6.6 and later)
 *
 * It prints "attached PROG_ID" once in place and waits for SIGTERM or
 * SIGINT; then it prints "drops N attached yes|no" (whether its program is
 * still where it put it: nobody replaced or removed it), detaches what is
 * still its own, and exits 0 (1 on any failure, with a reason on stderr).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "foreign.skel.h"

#define TCX_INGRESS	46	/* BPF_TCX_INGRESS: libbpf 1.1 predates it */
#define TC_HANDLE	1
#define TC_PRIORITY	1

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static void tc_hook(struct bpf_tc_hook *h, int ifindex)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = BPF_TC_INGRESS;
}

static void tc_opts(struct bpf_tc_opts *o, int prog_fd)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->handle = TC_HANDLE;
	o->priority = TC_PRIORITY;
	o->prog_fd = prog_fd;
}

/* Is our program still at its place? */
static bool still_attached(const char *mode, int ifindex, __u32 id)
{
	if (!strcmp(mode, "xdp")) {
		__u32 now = 0;

		return !bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &now) && now == id;
	}
	if (!strcmp(mode, "tc")) {
		struct bpf_tc_hook h;
		struct bpf_tc_opts o;

		tc_hook(&h, ifindex);
		tc_opts(&o, 0);
		return !bpf_tc_query(&h, &o) && o.prog_id == id;
	}
	{
		__u32 ids[64], n = 64;

		if (bpf_prog_query(ifindex, TCX_INGRESS, 0, NULL, ids, &n))
			return false;
		for (__u32 i = 0; i < n; i++)
			if (ids[i] == id)
				return true;
		return false;
	}
}

int main(int argc, char **argv)
{
	struct foreign_bpf *s;
	int ifindex, fd, link = -1, err;
	const char *mode;
	__u64 drops = 0;
	__u32 zero = 0, id;
	bool there;

	if (argc != 4 || (strcmp(argv[1], "xdp") && strcmp(argv[1], "tc") &&
			  strcmp(argv[1], "tcx"))) {
		fprintf(stderr, "usage: foreign xdp|tc|tcx IFACE PORT\n");
		return 2;
	}
	mode = argv[1];
	ifindex = if_nametoindex(argv[2]);
	if (!ifindex) {
		fprintf(stderr, "foreign: no interface %s\n", argv[2]);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	s = foreign_bpf__open();
	if (!s)
		return 1;
	s->rodata->drop_port = atoi(argv[3]);
	if (foreign_bpf__load(s)) {
		fprintf(stderr, "foreign: cannot load: %s\n", strerror(errno));
		return 1;
	}
	fd = bpf_program__fd(!strcmp(mode, "xdp") ? s->progs.foreign_xdp : s->progs.foreign_tc);
	id = prog_id(fd);
	if (!strcmp(mode, "xdp")) {
		err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
				     NULL);
	} else if (!strcmp(mode, "tc")) {
		struct bpf_tc_hook h;
		struct bpf_tc_opts o;

		tc_hook(&h, ifindex);
		err = bpf_tc_hook_create(&h);
		if (err == -EEXIST)
			err = 0;
		tc_opts(&o, fd);
		if (!err)
			err = bpf_tc_attach(&h, &o);
	} else {
		link = bpf_link_create(fd, ifindex, TCX_INGRESS, NULL);
		err = link < 0 ? -errno : 0;
	}
	if (err) {
		fprintf(stderr, "foreign: cannot attach (%s): %s\n", mode, strerror(-err));
		foreign_bpf__destroy(s);
		return 1;
	}
	printf("attached %u\n", id);
	fflush(stdout);
	while (!stop)
		pause();

	there = still_attached(mode, ifindex, id);
	bpf_map_lookup_elem(bpf_map__fd(s->maps.drops), &zero, &drops);
	printf("drops %llu attached %s\n", (unsigned long long)drops, there ? "yes" : "no");
	fflush(stdout);
	if (there && !strcmp(mode, "xdp")) {
		bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	} else if (there && !strcmp(mode, "tc")) {
		struct bpf_tc_hook h;
		struct bpf_tc_opts o;

		tc_hook(&h, ifindex);
		tc_opts(&o, 0);
		bpf_tc_detach(&h, &o);
	}
	if (link >= 0)
		close(link);
	foreign_bpf__destroy(s);
	return 0;
}
