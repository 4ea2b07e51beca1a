// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "cli.h"
#include "ns_thread.h"
#include "privs.h"
#include "report.h"
#include "tracer.h"

/* Both 32-bit words of each set (_LINUX_CAPABILITY_VERSION_3). */
struct caps {
	__u64 effective, permitted, inheritable;
};

static int caps_get(struct caps *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d))
		return -errno;
	c->effective = d[0].effective | (__u64)d[1].effective << 32;
	c->permitted = d[0].permitted | (__u64)d[1].permitted << 32;
	c->inheritable = d[0].inheritable | (__u64)d[1].inheritable << 32;
	return 0;
}

/* The calling thread's sets: capabilities are per thread. */
static int caps_set(const struct caps *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (__u32)c->effective, (__u32)c->permitted, (__u32)c->inheritable },
		{ c->effective >> 32, c->permitted >> 32, c->inheritable >> 32 },
	};

	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* The highest capability this kernel knows (40 on 5.10 .. 6.18). */
static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &n) != 1 || n < 0 || n > 63)
			n = CAP_LAST_CAP;
		fclose(f);
	}
	return n;
}

static const struct {
	int cap;
	const char *name;
	const char *start;	/* what loading and attaching needs it for */
	const char *kept;	/* what the rest of the run does with it */
} cap_table[] = {
	{ CAP_BPF, "CAP_BPF", "to load BPF programs and maps",
	  "this kernel's bpf() asks for it on every call" },
	{ CAP_PERFMON, "CAP_PERFMON", "to load tracing programs", "" },
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN", "to hook the interfaces; --no-nic needs none",
	  "to remove the netlink TC filters at exit" },
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN", "to enter the --netns namespace",
	  "to enter other network namespaces and scan their sockets" },
	{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE", "",
	  "to find those namespaces through /proc" },
	{ CAP_SETUID, "CAP_SETUID", "to become the --user", "" },
	{ CAP_SETGID, "CAP_SETGID", "to take the --user's group", "" },
};

enum why { WHY_NONE, WHY_START, WHY_KEPT };

static void describe(__u64 caps, enum why why, char *buf, size_t len)
{
	size_t off = 0;
	int n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(cap_table) / sizeof(cap_table[0]) && off < len; i++) {
		const char *w = why == WHY_START ? cap_table[i].start :
				why == WHY_KEPT ? cap_table[i].kept : "";

		if (!(caps & PRIVS_CAP(cap_table[i].cap)))
			continue;
		off += snprintf(buf + off, len - off, "%s%s%s%s%s", n++ ? ", " : "",
				cap_table[i].name, *w ? " (" : "", w, *w ? ")" : "");
	}
	if (!n)
		snprintf(buf, len, "none");
}

void privs_describe(__u64 missing, char *buf, size_t len)
{
	describe(missing, WHY_START, buf, len);
}

void privs_names(__u64 caps, char *buf, size_t len)
{
	describe(caps, WHY_NONE, buf, len);
}

bool privs_effective(int cap)
{
	struct caps c;

	return !caps_get(&c) && (c.effective & PRIVS_CAP(cap));
}

__u64 privs_keep(const struct privs_need *n, __u64 held)
{
	__u64 keep = 0;

	if (n->bpf_fds_need_cap)
		keep |= PRIVS_CAP(CAP_BPF);
	if (n->netlink_filters)
		keep |= PRIVS_CAP(CAP_NET_ADMIN);
	/* Without CAP_SYS_ADMIN no other namespace can be entered: /proc
	 * lookups alone would be no use. */
	if (n->scan_other_netns && (held & PRIVS_CAP(CAP_SYS_ADMIN)))
		keep |= PRIVS_CAP(CAP_SYS_ADMIN) | PRIVS_CAP(CAP_SYS_PTRACE);
	return keep & held;
}

__u64 privs_missing(bool nic, bool enter_netns, bool switch_user)
{
	__u64 want = PRIVS_CAP(CAP_BPF) | PRIVS_CAP(CAP_PERFMON), have;
	struct caps c;

	if (nic)
		want |= PRIVS_CAP(CAP_NET_ADMIN);
	if (enter_netns)
		want |= PRIVS_CAP(CAP_SYS_ADMIN);
	if (switch_user)
		want |= PRIVS_CAP(CAP_SETUID) | PRIVS_CAP(CAP_SETGID);
	if (caps_get(&c))
		return 0;	/* cannot tell: the load will say */
	/* Permitted but not effective (file capabilities without +e, or a
	 * launcher that left them so): ours to raise. */
	if ((c.permitted & want) & ~c.effective) {
		c.effective |= c.permitted & want;
		if (!caps_set(&c))
			caps_get(&c);
	}
	have = c.effective;
	/* The kernel's bpf_capable() and perfmon_capable() take it for both. */
	if (have & PRIVS_CAP(CAP_SYS_ADMIN))
		have |= PRIVS_CAP(CAP_BPF) | PRIVS_CAP(CAP_PERFMON);
	return want & ~have;
}

/*
 * Does this kernel refuse bpf() on fds we already hold without CAP_BPF?
 * Before 5.19 every bpf() command checks it when unprivileged BPF is off
 * (the sysctl kernel.unprivileged_bpf_disabled, on by default in most
 * distributions); since, only creating maps and loading programs do.
 * Tried with an empty effective set, then restored: the two commands the
 * tracer's life is made of, an object's info and a new scan iterator.
 */
static bool bpf_fds_need_cap(int map_fd, int link_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct caps saved, lowered;
	bool refused;
	int fd;

	if (caps_get(&saved))
		return true;
	lowered = saved;
	lowered.effective = 0;
	if (caps_set(&lowered))
		return true;
	refused = bpf_obj_get_info_by_fd(map_fd, &info, &len) && errno == EPERM;
	if (!refused && link_fd >= 0) {
		fd = bpf_iter_create(link_fd);
		refused = fd < 0 && errno == EPERM;
		if (fd >= 0)
			close(fd);
	}
	caps_set(&saved);
	return refused;
}

struct privs_drop {
	__u64 keep;
	bool set_user;
	uid_t uid;
	gid_t gid;
	char err[160];
};

/*
 * The calling thread keeps d->keep and nothing else, as d's user. Raw
 * system calls: glibc's setuid() family would change every thread at once
 * and abort if one failed; each thread here changes its own.
 */
static int drop_self(struct privs_drop *d)
{
	struct caps c, now;
	int last = last_cap(), err;

	/* While CAP_SETPCAP may still be held: what the bounding set lacks,
	 * no exec can give back. Without it (a non-root start) EPERM, and
	 * no_new_privs below bars the way instead. */
	for (int cap = 0; cap <= last; cap++)
		if (!(d->keep & PRIVS_CAP(cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (d->set_user) {
		/* Across the uid change the permitted set survives only so;
		 * the effective set is emptied and raised again below. */
		if (d->keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) {
			err = -errno;
			snprintf(d->err, sizeof(d->err), "cannot keep capabilities across the "
				 "user switch: %s", strerror(-err));
			return err;
		}
		if (syscall(SYS_setgroups, 1, &d->gid) ||
		    syscall(SYS_setresgid, d->gid, d->gid, d->gid) ||
		    syscall(SYS_setresuid, d->uid, d->uid, d->uid)) {
			err = -errno;
			snprintf(d->err, sizeof(d->err), "cannot become uid %u gid %u: %s",
				 (unsigned)d->uid, (unsigned)d->gid, strerror(-err));
			return err;
		}
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	err = caps_get(&c);
	if (err) {
		snprintf(d->err, sizeof(d->err), "cannot read capabilities: %s", strerror(-err));
		return err;
	}
	c.permitted &= d->keep;
	c.effective = c.permitted;
	c.inheritable = 0;
	err = caps_set(&c);
	if (!err)
		err = caps_get(&now);
	if (!err && now.permitted != c.permitted)
		err = -EPERM;
	if (err) {
		snprintf(d->err, sizeof(d->err), "cannot drop capabilities: %s", strerror(-err));
		return err;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		err = -errno;
		snprintf(d->err, sizeof(d->err), "cannot set no_new_privs: %s", strerror(-err));
		return err;
	}
	return 0;
}

static int drop_thread(void *arg)
{
	return drop_self(arg);
}

int privs_drop_after_attach(struct tracer *t, const struct options *o)
{
	struct privs_drop d = { .set_user = o->user != NULL, .uid = o->uid, .gid = o->gid };
	struct privs_need need = {
		.netlink_filters = false,
		.scan_other_netns = t->netns_fd < 0,
	};
	char kept[256];
	struct caps c;
	int err;

	err = caps_get(&c);
	if (err) {
		report_error("cannot read the tracer's capabilities: %s", strerror(-err));
		return err;
	}
	need.bpf_fds_need_cap = bpf_fds_need_cap(tracer_ringbuf_fd(t), tracer_scan_link_fd(t));
	for (int i = 0; i < t->n_nics; i++)
		need.netlink_filters |= t->nic[i].ingress_kind == NIC_HOOK_TC_NETLINK ||
					t->nic[i].egress_kind == NIC_HOOK_TC_NETLINK;
	d.keep = privs_keep(&need, c.permitted);
	/* The namespace's thread first: it must still be able to, and the
	 * main thread's own drop is the last word. */
	err = t->ns_thread ? ns_thread_call(t->ns_thread, drop_thread, &d) : 0;
	if (!err)
		err = drop_self(&d);
	if (err) {
		report_error("cannot drop privileges after attaching: %s (hint: %s)", d.err,
			     d.set_user ? "--user needs CAP_SETUID and CAP_SETGID" :
			     "run it with fewer capabilities to start with");
		return err;
	}
	if (need.scan_other_netns && !(d.keep & PRIVS_CAP(CAP_SYS_ADMIN))) {
		t->scan_own_netns_only = true;
		report_note("note: without CAP_SYS_ADMIN the socket scan covers this network "
			    "namespace alone (the others' events are still traced)");
	}
	describe(d.keep, WHY_KEPT, kept, sizeof(kept));
	if (d.keep)
		report_note("note: attached; capabilities kept: %s%s%s", kept,
			    d.set_user ? "; now running as " : "", d.set_user ? o->user : "");
	else if (d.set_user)
		report_note("note: attached; now running as %s, with no capability", o->user);
	return 0;
}
