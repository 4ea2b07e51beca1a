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
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "drop_reason.h"
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
static int mount_tracefs(void)
{
	if (access(TRACEFS "/events", F_OK) == 0)
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY)
		return -errno;
	return 0;
}

static int ensure_tracefs(void)
{
	int err = mount_tracefs();

	if (err)
		report_error("cannot mount tracefs on " TRACEFS ": %s "
			"(hint: mount -t tracefs tracefs " TRACEFS ")", strerror(-err));
	return err;
}

/*
 * connect()'s own tracepoints fire for that call alone; the raw sys_exit
 * hook runs on every system call of the host. Use them where tracefs can
 * be had and the kernel has syscall tracepoints.
 */
static bool have_connect_tracepoints(void)
{
	return mount_tracefs() == 0 &&
	       access(TRACEFS "/events/syscalls/sys_exit_connect/id", R_OK) == 0;
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
	bool per_call = have_connect_tracepoints();

	for (size_t i = 0; i < sizeof(btf) / sizeof(btf[0]); i++) {
		bpf_program__set_autoload(btf[i], !classic);
		bpf_program__set_autoload(tp[i], classic);
	}
	/* Attached by attach_connect_return(), which falls back in order. */
	bpf_program__set_autoload(s->progs.connect_exit_tp, per_call);
	bpf_program__set_autoattach(s->progs.connect_exit_tp, false);
	bpf_program__set_autoattach(s->progs.connect_exit_btf, false);
	bpf_program__set_autoattach(s->progs.connect_exit_raw, false);
}

/*
 * connect()'s exit tracepoint first; a classic tracepoint takes at most 64
 * programs host-wide (E2BIG past that), so then the raw sys_exit hook.
 */
static int attach_connect_return(struct tracer *t)
{
	struct bpf_program *order[] = {
		t->skel->progs.connect_exit_tp, t->skel->progs.connect_exit_btf,
		t->skel->progs.connect_exit_raw,
	};
	struct bpf_link **links[] = {
		&t->skel->links.connect_exit_tp, &t->skel->links.connect_exit_btf,
		&t->skel->links.connect_exit_raw,
	};
	int err = -ENOENT;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!bpf_program__autoload(order[i]))
			continue;
		*links[i] = bpf_program__attach(order[i]);
		if (*links[i])
			return 0;
		err = -errno;
		*links[i] = NULL;
	}
	report_error("cannot attach to connect()'s return: %s (hint: NO_ROUTE from a "
		     "failed connect() cannot be seen; run with -v for details)", strerror(-err));
	return err;
}

/* Load only the NIC programs that will be attached: each costs verify time. */
static void select_nic_programs(struct tcptrace_bpf *s, const struct options *o)
{
	bool ingress = !o->no_nic && !o->no_ingress;
	bool xdp = o->nic_kind == NIC_KIND_XDP || o->nic_kind == NIC_KIND_XDP_GENERIC;

	bpf_program__set_autoload(s->progs.nic_tc_out, !o->no_nic);
	/* TC ingress stays loaded beside XDP: the fallback when XDP is taken. */
	bpf_program__set_autoload(s->progs.nic_tc_in, ingress);
	bpf_program__set_autoload(s->progs.nic_xdp_in, ingress && xdp);
}

static __u32 own_netns_inum(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : st.st_ino;
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
	/* TC and XDP cannot read a packet's namespace: it is the one we hook. */
	s->rodata->nic_netns = t->netns_inum ? t->netns_inum : own_netns_inum();
	select_twins(s, t->classic);
	select_nic_programs(s, o);
	/* Only the drop reasons that can be evidence reach the ring buffer. */
	if (t->drop_class) {
		unsigned int words = sizeof(s->rodata->drop_reasons_wanted) /
				     sizeof(s->rodata->drop_reasons_wanted[0]);

		for (unsigned int r = 0; r < t->n_drop_class && r < words * 64; r++)
			if (t->drop_class[r] != DROP_IGNORE)
				s->rodata->drop_reasons_wanted[r / 64] |= 1ULL << (r % 64);
		s->rodata->drop_reasons_set = true;
	}
	t->skel = s;
	return 0;
}

static enum nic_ingress ingress_of(const struct options *o)
{
	if (o->no_ingress)
		return NIC_INGRESS_NONE;
	switch (o->nic_kind) {
	case NIC_KIND_XDP:
		return NIC_INGRESS_XDP_NATIVE;
	case NIC_KIND_XDP_GENERIC:
		return NIC_INGRESS_XDP_GENERIC;
	default:
		/* TC: on veth `make bench` measured it no dearer than generic
		 * XDP, and native XDP on veth costs the peer its GRO. */
		return NIC_INGRESS_TC;
	}
}

/* Attach to one interface, stepping down from XDP when it cannot be had. */
static int attach_one(struct tracer *t, int ifindex, struct nic_attach_opts *ao,
		      const char *ns_name, bool asked)
{
	struct nic_attachment *a = &t->nic[t->n_nics];
	char err[256] = "", name[IF_NAMESIZE] = "?";
	int ret;

	if_indextoname(ifindex, name);
	ret = nic_attach(ifindex, ao, a, err, sizeof(err));
	if (ret == -EOPNOTSUPP && ao->ingress == NIC_INGRESS_XDP_NATIVE) {
		struct nic_attach_opts generic = *ao;

		generic.ingress = NIC_INGRESS_XDP_GENERIC;
		ret = nic_attach(ifindex, &generic, a, err, sizeof(err));
	}
	if (ret == -EBUSY && ao->ingress != NIC_INGRESS_TC) {
		struct nic_attach_opts tc = *ao;

		/* Never replace another tool's XDP program: count with TC beside it. */
		fprintf(stderr, "tcptrace-bpf: note: another program (id %u) holds XDP on %s%s: "
			"counting its ingress with TC instead\n", a->xdp_holder_id, name, ns_name);
		tc.ingress = NIC_INGRESS_TC;
		ret = nic_attach(ifindex, &tc, a, err, sizeof(err));
	}
	/* nic_attach's reason already names the interface. */
	if (!err[0])
		snprintf(err, sizeof(err), "%s: %s", name, strerror(-ret));
	if (ret && asked) {
		report_error("cannot attach%s: %s (hint: --no-nic traces without "
			     "interface hooks)", ns_name, err);
		return ret;
	}
	if (ret) {
		/* Not named by the user: trace on without that interface's view. */
		fprintf(stderr, "tcptrace-bpf: note: cannot attach%s: %s; its packets "
			"are not counted\n", ns_name, err);
		return 0;
	}
	t->n_nics++;
	return 0;
}

static int attach_nics(struct tracer *t, const struct options *o)
{
	struct nic_attach_opts ao = {
		.tc_in_fd = bpf_program__fd(t->skel->progs.nic_tc_in),
		.tc_out_fd = bpf_program__fd(t->skel->progs.nic_tc_out),
		.xdp_fd = bpf_program__fd(t->skel->progs.nic_xdp_in),
		.ingress = ingress_of(o),
		.egress = true,
	};
	const char *ns_name = o->netns_path ? " in the traced namespace" : "";
	int ifindex[MAX_IFACES], n = 0, err = 0;
	char why[256] = "";

	if (o->no_nic)
		return 0;
	/* Interfaces are named, and hooked, inside the namespace they live in. */
	if (t->netns_fd >= 0 && setns(t->netns_fd, CLONE_NEWNET)) {
		report_error("cannot enter the traced namespace: %s", strerror(errno));
		return -errno;
	}
	if (o->n_ifaces) {
		for (; n < o->n_ifaces; n++) {
			ifindex[n] = if_nametoindex(o->ifaces[n]);
			if (!ifindex[n]) {
				report_error("no interface '%s'%s (hint: ip%s link lists them)",
					     o->ifaces[n], ns_name, o->netns_path ? " -n NS" : "");
				err = -ENODEV;
				goto out;
			}
		}
	} else {
		n = nic_default_ifindexes(ifindex, MAX_IFACES, why, sizeof(why));
		if (n < 0) {
			report_error("cannot list the interfaces: %s", why);
			err = n;
			goto out;
		}
		if (!n)
			fprintf(stderr, "tcptrace-bpf: note: no up interface%s to hook: "
				"packets are not counted, sockets still are\n", ns_name);
	}
	for (int i = 0; i < n && !err; i++)
		err = attach_one(t, ifindex[i], &ao, ns_name, o->n_ifaces > 0);
out:
	if (t->netns_fd >= 0 && setns(t->self_netns_fd, CLONE_NEWNET) && !err) {
		report_error("cannot return from the traced namespace: %s", strerror(errno));
		err = -errno;
	}
	return err;
}

static void detach_nics(struct tracer *t)
{
	/* Netlink filters are removed through a socket of their namespace. */
	bool in = t->netns_fd >= 0 && !setns(t->netns_fd, CLONE_NEWNET);

	for (int i = 0; i < t->n_nics; i++)
		nic_detach(&t->nic[i]);
	t->n_nics = 0;
	if (in)
		setns(t->self_netns_fd, CLONE_NEWNET);
}

int tracer_start(struct tracer *t, const struct options *o)
{
	double t0 = mono_ms();
	struct bpf_program *p;
	int err;

	t->stats_fd = -1;
	/* tp_btf first; where BTF attach is refused, the classic twins. */
	for (t->classic = o->classic;; t->classic = true) {
		err = t->classic ? ensure_tracefs() : 0;
		if (!err)
			err = open_and_configure(t, o);
		if (err)
			return err;
		err = tcptrace_bpf__load(t->skel);
		if (!err || t->classic)
			break;
		/* Said always: the fallback costs a probe read per field. */
		fprintf(stderr, "tcptrace-bpf: note: tp_btf programs refused (%s%s), using classic "
			"tracepoints\n", strerror(-err), o->verbose ? "" : "; -v shows why");
		tcptrace_bpf__destroy(t->skel);
		t->skel = NULL;
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
	err = attach_connect_return(t);
	if (err)
		return err;
	err = attach_nics(t, o);
	if (err)
		return err;
	if (o->prog_stats) {
		t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (t->stats_fd < 0)
			report_error("cannot enable BPF run-time statistics: %s "
				"(the stats record will show zero run times)", strerror(errno));
	}
	t->n_progs = 0;
	bpf_object__for_each_program(p, t->skel->obj)
		t->n_progs += bpf_program__autoload(p);
	t->attach_ms = mono_ms() - t0;
	return 0;
}

void tracer_stop(struct tracer *t)
{
	if (t->skel)
		detach_nics(t);
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
		h->flows_evicted = opened > live ? opened - live : 0;
	}
}

#define NIC_BATCH 256

int tracer_read_nic(const struct tracer *t, nic_record_fn fn, void *ctx)
{
	static struct flow_key keys[NIC_BATCH];
	static struct nic_flow vals[NIC_BATCH];
	int fd = bpf_map__fd(t->skel->maps.nic_flows);
	__u64 batch = 0;
	void *in = NULL;
	int total = 0, err;

	if (!t->n_nics)
		return 0;
	/* Batches: one syscall per 256 flows rather than two per flow. */
	do {
		__u32 count = NIC_BATCH;

		err = bpf_map_lookup_batch(fd, in, &batch, keys, vals, &count, NULL);
		if (err && errno != ENOENT)
			return -errno;
		for (__u32 i = 0; i < count; i++)
			fn(&keys[i], &vals[i], ctx);
		total += count;
		in = &batch;
	} while (!err);
	return total;
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
