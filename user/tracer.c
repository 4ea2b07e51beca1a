// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "drop_reason.h"
#include "ns_thread.h"
#include "privs.h"
#include "report.h"
#include "tracer.h"
#include "cgroups.h"
#include "tcptrace.skel.h"

#define TRACEFS "/sys/kernel/tracing"

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int tracer_check_environment(const struct tracer *t, const struct options *o)
{
	__u64 missing;
	char what[512];

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		report_error("this kernel exposes no BTF (/sys/kernel/btf/vmlinux: %s) "
			"(hint: it needs a kernel built with CONFIG_DEBUG_INFO_BTF=y)",
			strerror(errno));
		return -ENOENT;
	}
	/* --check loads the NIC programs too (CAP_NET_ADMIN), attaches
	 * nothing in another namespace and switches to no user. */
	missing = privs_missing(!o->no_nic, t->netns_fd >= 0 && !t->netns_own && !o->check,
				o->user && !o->check && o->uid != getuid());
	if (missing) {
		privs_describe(missing, what, sizeof(what));
		report_error("not enough privileges: missing %s (hint: run it as root, or grant "
			     "%s: setpriv --ambient-caps, systemd's AmbientCapabilities=, a "
			     "container's capabilities)", what,
			     missing & (missing - 1) ? "them" : "it");
		return -EPERM;
	}
	return 0;
}

static __u32 own_netns_inum(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : st.st_ino;
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
	/* Already there (started inside it): nothing to enter, no CAP_SYS_ADMIN. */
	t->netns_own = st.st_ino == own_netns_inum();
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
	/* Mounted, but root's alone (mode 0700): a non-root user with
	 * capabilities cannot use it, and mounting it again would not help. */
	if (errno == EACCES)
		return -EACCES;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY)
		return -errno;
	return 0;
}

/* The NIC programs the options want: each loaded one costs verify time. */
static void plan_nic(struct hook_plan *p, const struct options *o)
{
	bool ingress = !o->no_nic && !o->no_ingress;
	bool xdp = o->nic_kind == NIC_KIND_XDP || o->nic_kind == NIC_KIND_XDP_GENERIC;

	if (o->no_nic)
		hook_plan_off(p, HOOK_NIC_EGRESS_TC);
	/* TC ingress stays loaded beside XDP: the fallback when XDP is taken. */
	if (!ingress)
		hook_plan_off(p, HOOK_NIC_INGRESS_TC);
	if (!ingress || !xdp)
		hook_plan_off(p, HOOK_NIC_INGRESS_XDP);
}

/*
 * The kernel's drop reasons that can be evidence, one bit each; before
 * 5.17 the call sites that stand in for them.
 */
static void configure_drops(struct tcptrace_bpf *s, const struct tracer *t)
{
	unsigned int words = sizeof(s->rodata->drop_reasons_wanted) /
			     sizeof(s->rodata->drop_reasons_wanted[0]);
	unsigned int n_sites = sizeof(s->rodata->drop_site_start) /
			       sizeof(s->rodata->drop_site_start[0]);

	if (!t->drop_class)
		return;
	for (unsigned int r = 0; r < t->n_drop_class && r < words * 64; r++) {
		enum drop_class c = t->drop_class[r];

		/* Where the reset for it is traced, a closed port's drop repeats it. */
		if (c == DROP_IGNORE || (c == DROP_NO_SOCKET && t->plan.resets_without_socket))
			continue;
		s->rodata->drop_reasons_wanted[r / 64] |= 1ULL << (r % 64);
	}
	s->rodata->drop_reasons_set = true;
	for (unsigned int i = 0; i < t->n_drop_sites && i < n_sites; i++) {
		s->rodata->drop_site_start[i] = t->drop_sites[i].start;
		s->rodata->drop_site_end[i] = t->drop_sites[i].end;
		s->rodata->drop_site_reason[i] = t->drop_sites[i].reason;
	}
}

static int open_and_configure(struct tracer *t, const struct options *o)
{
	struct tcptrace_bpf *s;
	struct bpf_program *p;

	LIBBPF_OPTS(bpf_object_open_opts, oo);

	/*
	 * CO-RE relocations against vmlinux alone. A type this kernel lacks
	 * (one a guarded read names for another kernel) makes libbpf look
	 * through the modules' BTF, which it lists by id: CAP_SYS_ADMIN.
	 * Without it the whole load failed with EPERM (6.1 with CAP_BPF,
	 * CAP_PERFMON and CAP_NET_ADMIN). A vmlinux BTF given by path is
	 * never searched past; nothing of ours lives in a module.
	 */
	if (!privs_effective(CAP_SYS_ADMIN))
		oo.btf_custom_path = "/sys/kernel/btf/vmlinux";
	s = tcptrace_bpf__open_opts(&oo);
	if (!s) {
		report_error("cannot open the BPF object: %s", strerror(errno));
		return -errno;
	}
	s->rodata->filter_netns = t->netns_inum;
	s->rodata->filter_port = o->port;
	s->rodata->filter_family = o->host_family;
	memcpy((void *)s->rodata->filter_addr, o->host_addr, sizeof(o->host_addr));
	s->rodata->filter_tgid = o->pid;
	s->rodata->connect_nr = __NR_connect;
	s->rodata->accept_nr = __NR_accept;
	s->rodata->accept4_nr = __NR_accept4;
	/* Each socket's state in its own storage, or by address in socks: the
	 * map not used takes no room. */
	s->rodata->use_sk_storage = hook_plan_sock_storage(&t->plan);
	if (s->rodata->use_sk_storage)
		bpf_map__set_max_entries(s->maps.socks, 1);
	else	/* accept()'s return reaches the state by address itself */
		bpf_map__set_max_entries(s->maps.accept_owners, 1);
	bpf_map__set_max_entries(s->maps.inode_owners, t->owners.n ? t->owners.n : 1);
	/* TC and XDP cannot read a packet's namespace: it is the one we hook. */
	s->rodata->nic_netns = t->netns_inum ? t->netns_inum : own_netns_inum();
	configure_drops(s, t);
	/* Each hook's program for this kernel, and nothing else: a program
	 * the kernel cannot take would fail the whole load. */
	bpf_object__for_each_program(p, s->obj) {
		bpf_program__set_autoload(p, hook_plan_loads(&t->plan, bpf_program__name(p)));
		bpf_program__set_autoattach(p, false);
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
		report_note("note: another program (id %u) holds XDP on %s%s: "
			"counting its ingress with TC instead", a->xdp_holder_id, name, ns_name);
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
		report_note("note: cannot attach%s: %s; its packets "
			"are not counted", ns_name, err);
		return 0;
	}
	t->n_nics++;
	return 0;
}

/*
 * The links the default set leaves to another's hooks, named once at start
 * so that a user looking for eth1's packets knows they are on bond0's.
 */
static void note_counted_elsewhere(const struct nic_link *l, int n, const char *ns_name)
{
	char *list = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);
	int skipped = 0;

	if (!f)
		return;
	for (int i = 0; i < n; i++) {
		const char *upper = "?";

		if (!l[i].counted_on)
			continue;
		for (int j = 0; j < n; j++)
			if (l[j].ifindex == l[i].counted_on)
				upper = l[j].name;
		fprintf(f, "%s%s (on %s)", skipped++ ? ", " : "", l[i].name, upper);
	}
	fclose(f);
	if (skipped)
		report_note("note: not hooked%s, so that each packet is counted once: %s",
			    ns_name, list);
	free(list);
}

static int attach_nics(struct tracer *t, const struct options *o)
{
	struct nic_attach_opts ao = {
		.tc_in_fd = bpf_program__fd(t->skel->progs.nic_tc_in),
		.tc_out_fd = bpf_program__fd(t->skel->progs.nic_tc_out),
		.xdp_fd = bpf_program__fd(t->skel->progs.nic_xdp_in),
		.ingress = ingress_of(o),
		.egress = true,
		/* Tests only: the netlink filters of kernels before 6.6 on this one. */
		.no_tcx = getenv("TCPTRACE_NO_TCX") != NULL,
	};
	const char *ns_name = o->netns_path ? " in the traced namespace" : "";
	struct nic_link *links = NULL;
	int *ifindex = NULL, n = 0, err = 0;
	char why[256] = "";

	if (o->no_nic)
		return 0;
	/* Interfaces are named, and hooked, inside the namespace they live in. */
	if (t->netns_fd >= 0 && !t->netns_own && setns(t->netns_fd, CLONE_NEWNET)) {
		report_error("cannot enter the traced namespace: %s", strerror(errno));
		return -errno;
	}
	if (o->n_ifaces) {
		ifindex = calloc(o->n_ifaces, sizeof(*ifindex));
		if (!ifindex) {
			err = -ENOMEM;
			report_error("out of memory");
			goto out;
		}
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
		int all = nic_list_links(&links, why, sizeof(why));

		if (all < 0) {
			report_error("%s", why);
			err = all;
			goto out;
		}
		nic_pick_default(links, all);
		ifindex = calloc(all ? all : 1, sizeof(*ifindex));
		if (!ifindex) {
			err = -ENOMEM;
			report_error("out of memory");
			goto out;
		}
		for (int i = 0; i < all; i++)
			if (links[i].hooked)
				ifindex[n++] = links[i].ifindex;
		note_counted_elsewhere(links, all, ns_name);
		if (!n)
			report_note("note: no up interface%s to hook: "
				"packets are not counted, sockets still are", ns_name);
	}
	t->nic = calloc(n ? n : 1, sizeof(*t->nic));
	if (!t->nic) {
		err = -ENOMEM;
		report_error("out of memory");
		goto out;
	}
	for (int i = 0; i < n && !err; i++)
		err = attach_one(t, ifindex[i], &ao, ns_name, o->n_ifaces > 0);
out:
	free(links);
	free(ifindex);
	if (t->netns_fd >= 0 && !t->netns_own && setns(t->self_netns_fd, CLONE_NEWNET) && !err) {
		report_error("cannot return from the traced namespace: %s", strerror(errno));
		err = -errno;
	}
	return err;
}

static int detach_all(void *arg)
{
	struct tracer *t = arg;

	for (int i = 0; i < t->n_nics; i++)
		nic_detach(&t->nic[i]);
	return 0;
}

static void detach_nics(struct tracer *t)
{
	/* Netlink filters are removed through a socket of their namespace:
	 * its thread's, which entered it while the tracer could. */
	if (t->ns_thread) {
		ns_thread_call(t->ns_thread, detach_all, t);
	} else {
		bool in = t->netns_fd >= 0 && !t->netns_own && !setns(t->netns_fd, CLONE_NEWNET);

		detach_all(t);
		if (in)
			setns(t->self_netns_fd, CLONE_NEWNET);
	}
	t->n_nics = 0;
	free(t->nic);
	t->nic = NULL;
}

/*
 * Which of the kernel's hooks serve, and by which program: read from the
 * kernel's own BTF before anything is loaded, so a hook that differs on
 * this kernel costs neither a failed load nor the rest of the tracer.
 */
static int plan_hooks(struct tracer *t, const struct options *o)
{
	struct btf *btf = t->vmlinux ? t->vmlinux : btf__load_vmlinux_btf();
	bool ok;

	t->vmlinux = NULL;
	if (!btf) {
		report_error("cannot read the kernel's BTF: %s (hint: it needs a kernel built "
			     "with CONFIG_DEBUG_INFO_BTF=y)", strerror(errno));
		return -ENOENT;
	}
	ok = hook_plan_make(&t->plan, btf, o->classic);
	btf__free(btf);
	malloc_trim(0);
	if (!ok) {
		report_error("this kernel cannot be traced: %s (hint: tcptrace-bpf needs Linux 5.10 "
			     "or later)", !t->plan.has_ringbuf ?
			     "it has no BPF ring buffer" : t->plan.why[HOOK_SET_STATE]);
		return -EOPNOTSUPP;
	}
	plan_nic(&t->plan, o);
	if (!t->plan.has_drop_reasons && !t->n_drop_sites)
		hook_plan_missing(&t->plan, HOOK_DROP, "the kernel gives no drop reasons (before "
				  "5.17) and hides the addresses of its functions");
	return 0;
}

/*
 * A planned classic tracepoint program whose event tracefs does not show
 * (no tracefs to be had, or a kernel built without that event), or NULL.
 */
static const char *classic_unavailable(const struct tracer *t, char *why, size_t len)
{
	struct bpf_program *p;
	bool mounted = false;
	int err = 0;

	bpf_object__for_each_program(p, t->skel->obj) {
		const char *sec = bpf_program__section_name(p);
		char path[256];

		if (!bpf_program__autoload(p) || strncmp(sec, "tracepoint/", 11))
			continue;
		if (!mounted) {
			err = mount_tracefs();
			mounted = true;
		}
		if (err) {
			snprintf(why, len, err == -EACCES ? "tracefs on " TRACEFS " is root's alone" :
				 "cannot mount tracefs on " TRACEFS ": %s", strerror(-err));
			return bpf_program__name(p);
		}
		snprintf(path, sizeof(path), TRACEFS "/events/%s", sec + 11);
		if (access(path, F_OK)) {
			snprintf(why, len, "tracefs has no %s", sec + 11);
			return bpf_program__name(p);
		}
	}
	return NULL;
}

/*
 * libbpf names the program the kernel refused in its warning, and nowhere
 * else: the load of the whole object fails with one errno. Its messages
 * are read on their way to the user's print callback.
 */
static libbpf_print_fn_t print_next;
static char refused_prog[64];

static int print_capture(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN && !refused_prog[0]) {
		const char *p, *q;
		char line[256];
		va_list copy;

		va_copy(copy, args);
		vsnprintf(line, sizeof(line), fmt, copy);
		va_end(copy);
		p = strstr(line, "prog '");
		q = p ? strchr(p + 6, '\'') : NULL;
		if (q)
			snprintf(refused_prog, sizeof(refused_prog), "%.*s", (int)(q - p - 6), p + 6);
	}
	return print_next ? print_next(level, fmt, args) : 0;
}

/*
 * Before 5.11 the kernel charges BPF maps to RLIMIT_MEMLOCK, and a map
 * past it is refused with EPERM, as if a capability were missing. libbpf
 * raises the limit to infinity on such kernels: one still bounded after
 * a failed load is why.
 */
static bool memlock_bound(void)
{
	struct utsname u;
	struct rlimit r;
	int major, minor;

	if (getrlimit(RLIMIT_MEMLOCK, &r) || r.rlim_cur == RLIM_INFINITY || uname(&u) ||
	    sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major < 5 || (major == 5 && minor < 11);
}

/* At most one step down per program: the plan cannot loop. */
#define MAX_LOAD_ATTEMPTS	32

/*
 * Load the planned programs. A program this kernel refuses anyway steps
 * its hook down to the next variant (or leaves it missing) and the object
 * is loaded again: one hook is lost, never the tracer.
 */
static int load_as_planned(struct tracer *t, const struct options *o)
{
	const struct hook_desc *d;
	const char *refused;
	char why[160];
	int err, h;

	for (int attempt = 0;; attempt++) {
		err = open_and_configure(t, o);
		if (err)
			return err;
		refused = classic_unavailable(t, why, sizeof(why));
		if (refused) {
			/* The name is the object's, and the object goes next. */
			snprintf(refused_prog, sizeof(refused_prog), "%s", refused);
			refused = refused_prog;
		} else {
			refused_prog[0] = '\0';
			print_next = libbpf_set_print(print_capture);
			err = tcptrace_bpf__load(t->skel);
			libbpf_set_print(print_next);
			if (!err)
				return 0;
			refused = refused_prog[0] ? refused_prog : NULL;
			snprintf(why, sizeof(why), "%s", strerror(-err));
		}
		tcptrace_bpf__destroy(t->skel);
		t->skel = NULL;
		if (err == -EPERM || !refused || attempt >= MAX_LOAD_ATTEMPTS)
			break;
		h = hook_plan_refused(&t->plan, refused, why);
		if (h < 0)
			break;
		d = hook_desc(h);
		if (o->verbose)
			report_note("note: %s: %s", d->name, t->plan.why[h]);
		if (d->core && !hook_plan_served(&t->plan, h)) {
			report_error("cannot trace on this kernel: %s (hint: run with -v to see "
				     "the verifier's log)", t->plan.why[h]);
			return -EOPNOTSUPP;
		}
	}
	if (!err)
		err = -EINVAL;
	report_error("cannot load the BPF programs: %s%s%s (hint: %s)", refused ? refused : "",
		     refused ? ": " : "", why, err != -EPERM ?
		     "the verifier refused a program on this kernel; run with -v to see its log" :
		     memlock_bound() ?
		     "this kernel charges BPF maps to RLIMIT_MEMLOCK (before 5.11) and libbpf could "
		     "not raise it: ulimit -l unlimited, systemd's LimitMEMLOCK=infinity, or "
		     "CAP_SYS_RESOURCE" :
		     "run as root, or with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN");
	return err;
}

/* Attach the programs of one variant; on failure, what was attached of it goes. */
static int attach_variant(struct tracer *t, const struct hook_variant *v, char *why, size_t len)
{
	int first = t->n_links;

	for (int i = 0; i < HOOK_VARIANT_PROGS && v->progs[i]; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(t->skel->obj, v->progs[i]);
		struct bpf_link *l = p ? bpf_program__attach(p) : NULL;
		int err = p ? -errno : -ENOENT;

		if (!l || t->n_links >= MAX_LINKS) {
			snprintf(why, len, "%s refused: %s", v->attach, strerror(-err));
			bpf_link__destroy(l);
			while (t->n_links > first)
				bpf_link__destroy(t->links[--t->n_links]);
			return err;
		}
		t->links[t->n_links++] = l;
	}
	return 0;
}

/*
 * Every planned socket hook. One that refuses to attach falls back to its
 * standby (connect()'s tracepoints take 64 programs, host-wide) or goes
 * missing; only the core is fatal.
 */
static int attach_hooks(struct tracer *t)
{
	char why[160];

	for (int h = 0; h < HOOK_MAX; h++) {
		const struct hook_variant *v = hook_plan_variant(&t->plan, h);
		int err;

		if (!v || !strncmp(v->attach, "tc ", 3) || !strcmp(v->attach, "xdp"))
			continue;
		err = attach_variant(t, v, why, sizeof(why));
		if (err && v->standby_next) {
			hook_plan_refused(&t->plan, v->progs[0], why);
			v = hook_plan_variant(&t->plan, h);
			err = attach_variant(t, v, why, sizeof(why));
		}
		if (!err) {
			if (h == HOOK_SOCK_SCAN)
				t->scan_link = t->links[t->n_links - 1];
			t->plan.attached[h] = true;
			continue;
		}
		if (hook_desc(h)->core) {
			report_error("cannot attach the BPF programs: %s (hint: run with -v for "
				     "details)", why);
			return err;
		}
		hook_plan_missing(&t->plan, h, why);
	}
	return 0;
}

/*
 * The owners of the sockets already open, found before the load (the
 * map is sized to them) and handed to the kernel side before any hook
 * runs. A socket opened between the walk and the attach has no owner:
 * said as unknown, never guessed.
 */
static void find_owners(struct tracer *t, const struct options *o)
{
	char root[256];
	const char *cg = cgroup2_mount(root, sizeof(root));
	int err = proc_owners_walk(&t->owners, "/proc", cg);

	if (err) {
		report_error("cannot walk /proc for the owners of open sockets: %s "
			     "(their pid will say null)", strerror(-err));
		return;
	}
	if (o->verbose)
		report_note("note: /proc walk: %zu TCP sockets owned (%u socket links, "
			    "%u processes, %u namespaces) in %.1f ms", t->owners.n,
			    t->owners.sockets, t->owners.procs, t->owners.netns, t->owners.ms);
}

static void give_owners(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.inode_owners);

	for (size_t i = 0; i < t->owners.n; i++) {
		const struct proc_owner *po = &t->owners.v[i];
		struct flow_info info = { .pid = po->pid, .cgroup_id = po->cgroup_id };

		memcpy(info.comm, po->comm, sizeof(info.comm));
		bpf_map_update_elem(fd, &po->ino, &info, BPF_ANY);
	}
	free(t->owners.v);
	t->owners.v = NULL;
}

int tracer_start(struct tracer *t, const struct options *o)
{
	double t0 = mono_ms();
	struct bpf_program *p;
	int err;

	double t1 = 0, t2 = 0, t3 = 0;

	t->stats_fd = -1;
	if (!o->check)
		find_owners(t, o);
	err = plan_hooks(t, o);
	if (!err) {
		t1 = mono_ms();
		err = load_as_planned(t, o);
	}
	if (!err) {
		give_owners(t);
		t2 = mono_ms();
		err = attach_hooks(t);
	}
	if (!err && !o->check) {
		t3 = mono_ms();
		err = attach_nics(t, o);
	}
	if (!err && !o->check && t->netns_fd >= 0 && !t->netns_own) {
		char why[128];

		/* Scans and the detach happen in the namespace long after the
		 * privilege to enter it is gone: a thread enters it now, and stays. */
		t->ns_thread = ns_thread_start(t->netns_fd, why, sizeof(why));
		if (!t->ns_thread) {
			err = -errno;
			report_error("%s", why);
		}
	}
	if (err)
		return err;
	if (o->verbose)
		fprintf(stderr, "tcptrace-bpf: note: planned in %.0f ms, loaded (verified) in %.0f ms, "
			"hooks attached in %.0f ms, interfaces in %.0f ms\n", t1 - t0, t2 - t1,
			(t3 ? t3 : mono_ms()) - t2, t3 ? mono_ms() - t3 : 0);
	if (o->prog_stats) {
		t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (t->stats_fd < 0)
			report_error("cannot enable BPF run-time statistics: %s "
				"(the stats record will show zero run times)", strerror(errno));
	}
	for (int i = 0; i < t->n_nics; i++) {
		t->plan.attached[HOOK_NIC_EGRESS_TC] |= t->nic[i].egress_kind != NIC_HOOK_NONE;
		t->plan.attached[HOOK_NIC_INGRESS_TC] |= t->nic[i].ingress_kind == NIC_HOOK_TCX ||
							 t->nic[i].ingress_kind == NIC_HOOK_TC_NETLINK;
		t->plan.attached[HOOK_NIC_INGRESS_XDP] |= t->nic[i].ingress_kind != NIC_HOOK_NONE &&
							  t->nic[i].ingress_kind != NIC_HOOK_TCX &&
							  t->nic[i].ingress_kind != NIC_HOOK_TC_NETLINK;
	}
	t->n_progs = 0;
	bpf_object__for_each_program(p, t->skel->obj)
		t->n_progs += bpf_program__autoload(p);
	t->classic = false;
	for (int h = 0; h < HOOK_MAX; h++) {
		const struct hook_variant *v = hook_plan_variant(&t->plan, h);

		t->classic |= v && v->classic && hook_desc(h)->variants[0].classic == false;
	}
	t->attach_ms = mono_ms() - t0;
	return 0;
}

void tracer_stop(struct tracer *t)
{
	if (t->skel)
		detach_nics(t);
	ns_thread_stop(t->ns_thread);
	t->ns_thread = NULL;
	/* Links close with their fds: nothing stays attached behind us. */
	while (t->n_links > 0)
		bpf_link__destroy(t->links[--t->n_links]);
	t->scan_link = NULL;
	tcptrace_bpf__destroy(t->skel);
	t->skel = NULL;
	proc_owners_free(&t->owners);
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
	return t->scan_link ? bpf_link__fd(t->scan_link) : -1;
}

static int iter_create(void *arg)
{
	int fd = bpf_iter_create(*(const int *)arg);

	return fd < 0 ? -errno : fd;
}

int tracer_scan_iter(const struct tracer *t)
{
	int link = tracer_scan_link_fd(t);

	if (link < 0)
		return -ENOENT;
	/* iter/tcp walks the namespace of the thread that makes the iterator. */
	if (t->ns_thread)
		return ns_thread_call(t->ns_thread, iter_create, &link);
	return iter_create(&link);
}

void tracer_scan_round(struct tracer *t, __u32 round)
{
	if (t->skel->bss)
		t->skel->bss->scan_round = round;
}

void tracer_scan_full(struct tracer *t, bool full)
{
	if (t->skel->bss)
		t->skel->bss->scan_full = full;
}

__u64 tracer_scan_unchanged(const struct tracer *t)
{
	return t->skel->bss ? t->skel->bss->scan_unchanged : 0;
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
	 * Socket states by address live in an LRU map, which evicts silently:
	 * opened minus closed minus present is what it evicted. Counting the
	 * map costs a syscall per entry, so only when it can be more than half
	 * full. A socket's own storage is never evicted.
	 */
	opened = h->counters[CNT_FLOWS_NEW] - h->counters[CNT_FLOWS_CLOSED];
	if (!t->skel->rodata->use_sk_storage &&
	    opened > bpf_map__max_entries(t->skel->maps.socks) / 2) {
		live = count_map_entries(bpf_map__fd(t->skel->maps.socks), sizeof(__u64));
		h->flows_evicted = opened > live ? opened - live : 0;
	}
}

#define NIC_BATCH 256

int tracer_read_nic(const struct tracer *t, nic_record_fn fn, void *ctx)
{
	static struct flow_key keys[NIC_BATCH];
	static struct nic_flow_map vals[NIC_BATCH];
	struct nic_flow nf;
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
		for (__u32 i = 0; i < count; i++) {
			nic_flow_of(&vals[i], &nf);
			fn(&keys[i], &nf, ctx);
		}
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
