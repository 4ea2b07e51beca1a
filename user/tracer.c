// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "report.h"
#include "tracer.h"
#include "tcptrace.skel.h"

#define TRACEFS "/sys/kernel/tracing"

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

int tracer_check_environment(const struct options *o)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2] = {};

	(void)o;
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		report_error("this kernel exposes no BTF (/sys/kernel/btf/vmlinux: %s) "
			"(hint: it needs a kernel built with CONFIG_DEBUG_INFO_BTF=y)",
			strerror(errno));
		return -ENOENT;
	}
	if (syscall(SYS_capget, &hdr, caps) == 0 && !has_cap(caps, CAP_SYS_ADMIN) &&
	    !(has_cap(caps, CAP_BPF) && has_cap(caps, CAP_PERFMON) &&
	      has_cap(caps, CAP_NET_ADMIN))) {
		report_error("not enough privileges to load BPF programs "
			"(hint: run it with sudo, or grant CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN)");
		return -EPERM;
	}
	return 0;
}

int tracer_resolve_netns(struct tracer *t, const struct options *o)
{
	struct statfs sfs;
	struct stat st;
	int fd;

	t->netns_fd = -1;
	t->self_netns_fd = -1;
	t->netns_inum = 0;
	if (!o->netns_path)
		return 0;

	fd = open(o->netns_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		report_error("--netns %s: %s (hint: 'ip netns list' shows the named namespaces)",
			o->netns_path, strerror(errno));
		return -EINVAL;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != NSFS_MAGIC ||
	    ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET || fstat(fd, &st)) {
		report_error("--netns %s: not a network namespace "
			"(hint: use /run/netns/NAME or /proc/PID/ns/net)", o->netns_path);
		close(fd);
		return -EINVAL;
	}
	t->netns_fd = fd;
	t->netns_inum = st.st_ino;
	t->self_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (t->self_netns_fd < 0) {
		report_error("cannot open /proc/self/ns/net: %s (hint: is /proc mounted?)",
			strerror(errno));
		return -errno;
	}
	return 0;
}

/* Classic tracepoints need tracefs; a fresh machine may not have it mounted. */
static int ensure_tracefs(void)
{
	if (access(TRACEFS "/events", F_OK) == 0)
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
		report_error("cannot mount tracefs on " TRACEFS ": %s "
			"(hint: mount -t tracefs tracefs " TRACEFS ")", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Every BTF-typed program and the classic twin that stands in for it. */
static void select_twins(struct tcptrace_bpf *s, bool classic)
{
	struct bpf_program *btf[] = {
		s->progs.set_state_btf, s->progs.retransmit_btf,
		s->progs.retransmit_synack_btf, s->progs.receive_reset_btf,
		s->progs.send_reset_btf, s->progs.sk_error_btf,
		s->progs.connect_exit_btf, s->progs.kfree_skb_btf,
	};
	struct bpf_program *tp[] = {
		s->progs.set_state_tp, s->progs.retransmit_tp,
		s->progs.retransmit_synack_tp, s->progs.receive_reset_tp,
		s->progs.send_reset_tp, s->progs.sk_error_tp,
		s->progs.connect_exit_raw, s->progs.kfree_skb_tp,
	};

	for (size_t i = 0; i < sizeof(btf) / sizeof(btf[0]); i++) {
		bpf_program__set_autoload(btf[i], !classic);
		bpf_program__set_autoload(tp[i], classic);
	}
}

static int open_and_configure(struct tracer *t, const struct options *o)
{
	struct tcptrace_bpf *s;

	s = tcptrace_bpf__open();
	if (!s) {
		report_error("cannot open the BPF object: %s", strerror(errno));
		return -errno;
	}
	s->rodata->filter_netns = t->netns_inum;
	s->rodata->filter_port = o->port;
	s->rodata->filter_family = o->host_family;
	memcpy((void *)s->rodata->filter_addr, o->host_addr, sizeof(o->host_addr));
	s->rodata->filter_tgid = o->pid;
	select_twins(s, t->classic);
	t->skel = s;
	return 0;
}

int tracer_start(struct tracer *t, const struct options *o)
{
	double t0 = mono_ms();
	int err;

	t->stats_fd = -1;
	t->classic = o->classic;
	err = t->classic ? ensure_tracefs() : 0;
	if (err)
		return err;
	err = open_and_configure(t, o);
	if (err)
		return err;
	err = tcptrace_bpf__load(t->skel);
	if (err && !t->classic) {
		/* tp_btf refused (no BTF attach on this kernel): use the classic twins. */
		if (o->verbose)
			fprintf(stderr, "tcptrace-bpf: note: tp_btf load failed (%s), trying classic tracepoints\n",
				strerror(-err));
		tcptrace_bpf__destroy(t->skel);
		t->skel = NULL;
		t->classic = true;
		err = ensure_tracefs();
		if (err)
			return err;
		err = open_and_configure(t, o);
		if (err)
			return err;
		err = tcptrace_bpf__load(t->skel);
	}
	if (err) {
		report_error("cannot load the BPF programs: %s (hint: %s)",
			strerror(-err), err == -EPERM ?
			"run as root, or with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN" :
			"the verifier refused a program on this kernel; run with -v to see its log");
		return err;
	}
	err = tcptrace_bpf__attach(t->skel);
	if (err) {
		report_error("cannot attach the BPF programs: %s (hint: run with -v for details)",
			strerror(-err));
		return err;
	}
	if (o->prog_stats) {
		t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (t->stats_fd < 0)
			report_error("cannot enable BPF run-time statistics: %s "
				"(the stats record will show zero run times)", strerror(errno));
	}
	t->n_links = 0;
	struct bpf_program *p;
	bpf_object__for_each_program(p, t->skel->obj)
		t->n_links += bpf_program__autoload(p);
	t->attach_ms = mono_ms() - t0;
	return 0;
}

void tracer_stop(struct tracer *t)
{
	/* Links close with the skeleton: nothing stays attached behind us. */
	tcptrace_bpf__destroy(t->skel);
	t->skel = NULL;
	if (t->stats_fd >= 0)
		close(t->stats_fd);
	if (t->netns_fd >= 0)
		close(t->netns_fd);
	if (t->self_netns_fd >= 0)
		close(t->self_netns_fd);
	t->stats_fd = t->netns_fd = t->self_netns_fd = -1;
}

int tracer_scan_link_fd(const struct tracer *t)
{
	return bpf_link__fd(t->skel->links.sock_scan);
}

int tracer_ringbuf_fd(const struct tracer *t)
{
	return bpf_map__fd(t->skel->maps.events);
}

static __u64 count_map_entries(int fd, size_t key_size)
{
	char key[64], next[64];
	void *prev = NULL;
	__u64 n = 0;

	if (key_size > sizeof(key))
		return 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

void tracer_health(const struct tracer *t, struct tracer_health *h)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(t->skel->maps.counters);
	__u64 values[ncpu > 0 ? ncpu : 1];
	__u64 opened, live;

	memset(h, 0, sizeof(*h));
	for (__u32 c = 0; c < CNT_MAX && ncpu > 0; c++) {
		if (bpf_map_lookup_elem(fd, &c, values))
			continue;
		for (int i = 0; i < ncpu; i++)
			h->counters[c] += values[i];
	}
	/*
	 * An LRU map evicts silently. Flows opened minus flows closed minus
	 * flows present is what it evicted; counting the map costs a syscall
	 * per entry, so only when it can be more than half full.
	 */
	opened = h->counters[CNT_FLOWS_NEW] - h->counters[CNT_FLOWS_CLOSED];
	if (opened > bpf_map__max_entries(t->skel->maps.flows) / 2) {
		live = count_map_entries(bpf_map__fd(t->skel->maps.flows),
					 sizeof(struct flow_key));
		h->flows_in_map = live;
		h->flows_evicted = opened > live ? opened - live : 0;
	} else {
		h->flows_in_map = opened;
	}
}

int tracer_prog_stats(const struct tracer *t, struct prog_stat *out, int max)
{
	struct bpf_program *p;
	int n = 0;

	bpf_object__for_each_program(p, t->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (n >= max || fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		out[n].name = bpf_program__name(p);
		out[n].run_cnt = info.run_cnt;
		out[n].run_time_ns = info.run_time_ns;
		n++;
	}
	return n;
}
