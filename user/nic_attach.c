// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Attach the NIC programs to one interface: tcx or netlink TC, XDP links. */
#include <errno.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nic_attach.h"

/*
 * libbpf 1.1 predates tcx (kernel 6.6): neither the attach types nor a
 * wrapper. bpf_link_create() passes an unknown attach type through as
 * long as no type-specific option is set, and the kernel takes it.
 */
#define NIC_BPF_TCX_INGRESS	46
#define NIC_BPF_TCX_EGRESS	47
/* include/uapi/linux/bpf.h (6.6): with no relative program, go first. */
#define NIC_BPF_F_BEFORE	(1U << 3)

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *nic_hook_kind_name(enum nic_hook_kind k)
{
	switch (k) {
	case NIC_HOOK_TCX:		return "tcx";
	case NIC_HOOK_TC_NETLINK:	return "tc";
	case NIC_HOOK_XDP_GENERIC:	return "xdp-generic";
	case NIC_HOOK_XDP_NATIVE:	return "xdp-native";
	default:			return "none";
	}
}

/* The name of a loaded program by id, "" when it cannot be read. */
static void prog_name(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	int fd;

	name[0] = '\0';
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &ilen))
		snprintf(name, len, "%s", info.name);
	close(fd);
}

/* ARPHRD of an interface through SIOCGIFHWADDR; negative errno on failure. */
static int if_hwtype(const char *ifname)
{
	struct ifreq ifr = {};
	int s, ret;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ret = ioctl(s, SIOCGIFHWADDR, &ifr) ? -errno : ifr.ifr_hwaddr.sa_family;
	close(s);
	return ret;
}

/*
 * libbpf rejects options whose bytes past the last known field are not
 * zero, padding included: fill them in place after a memset, never
 * return them by value.
 */
static void tc_hook(struct bpf_tc_hook *h, int ifindex, bool ingress)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

static void tc_opts(struct bpf_tc_opts *o, __u32 handle)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->handle = handle;
	o->priority = NIC_TC_PRIORITY;
}

/* One cls_bpf filter of a hook, as the kernel lists it. */
struct tc_filter {
	__u32 handle;
	__u32 prio;
	__u32 prog_id;
	char name[BPF_OBJ_NAME_LEN];	/* its program's, from the filter; "" if not given */
};

/* The attributes of one rtnetlink message, indexed by type (up to max). */
static void rta_parse(struct rtattr *rta, int len, struct rtattr **tb, int max)
{
	memset(tb, 0, sizeof(*tb) * (max + 1));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type <= max)
			tb[rta->rta_type] = rta;
}

/*
 * Every bpf filter on an interface's clsact hook, by an RTM_GETTFILTER
 * dump: libbpf queries one handle at a time and cannot list them. Returns
 * how many were written (at most max), or a negative errno.
 */
static int tc_filters(int ifindex, bool ingress, struct tc_filter *out, int max)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
			.nlmsg_type = RTM_GETTFILTER,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex,
			.tcm_parent = TC_H_MAKE(TC_H_CLSACT,
						ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS) },
	};
	char buf[16384];
	int fd, n = 0, ret = 0;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		ret = -errno;
		goto out;
	}
	while (!done) {
		int len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len < 0) {
			ret = -errno;
			goto out;
		}
		for (nh = (void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			struct rtattr *tb[TCA_MAX + 1], *opt[TCA_BPF_MAX + 1];
			struct tcmsg *tc = NLMSG_DATA(nh);

			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				/* No clsact qdisc or no chain: no filters. */
				ret = e->error == -EINVAL || e->error == -ENOENT ? 0 : e->error;
				done = true;
				break;
			}
			if (nh->nlmsg_type != RTM_NEWTFILTER)
				continue;
			rta_parse(TCA_RTA(tc), nh->nlmsg_len - NLMSG_LENGTH(sizeof(*tc)), tb, TCA_MAX);
			if (!tb[TCA_KIND] || strcmp(RTA_DATA(tb[TCA_KIND]), "bpf") || !tb[TCA_OPTIONS])
				continue;
			rta_parse(RTA_DATA(tb[TCA_OPTIONS]), RTA_PAYLOAD(tb[TCA_OPTIONS]), opt,
				  TCA_BPF_MAX);
			/* A chain's head entry (handle 0) carries no program. */
			if (!tc->tcm_handle || !opt[TCA_BPF_ID] || n >= max)
				continue;
			out[n].handle = tc->tcm_handle;
			out[n].prio = TC_H_MAJ(tc->tcm_info) >> 16;
			out[n].prog_id = *(__u32 *)RTA_DATA(opt[TCA_BPF_ID]);
			/* "nic_tc_in:[42]", as libbpf names a filter it attaches:
			 * the program's name without the privilege of opening it
			 * by id (CAP_SYS_ADMIN), which the tracer may not hold. */
			out[n].name[0] = '\0';
			if (opt[TCA_BPF_NAME])
				snprintf(out[n].name, sizeof(out[n].name), "%.*s",
					 (int)strcspn(RTA_DATA(opt[TCA_BPF_NAME]), ":"),
					 (char *)RTA_DATA(opt[TCA_BPF_NAME]));
			n++;
		}
	}
out:
	close(fd);
	return ret ? ret : n;
}

/*
 * Is the tracer that put a filter at this handle (its pid) still running?
 * A pid that lives on as another program is a dead owner's too. (A pid of
 * another pid namespace reads as this one's: a tracer in a container is
 * seen as dead from the host when its pid means something else here.)
 */
static bool owner_alive(__u32 pid)
{
	char path[64], theirs[32] = "", ours[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(theirs, sizeof(theirs), f))
		theirs[0] = '\0';
	fclose(f);
	f = fopen("/proc/self/comm", "re");
	if (f) {
		if (!fgets(ours, sizeof(ours), f))
			ours[0] = '\0';
		fclose(f);
	}
	return theirs[0] && !strcmp(theirs, ours);
}

/*
 * Filters of ours at our priority whose tracer is gone (killed before it
 * could detach) are removed: beside a tcx link or a new filter they would
 * count every packet twice. Another running instance's stay, and so does
 * whatever another tool attached, whatever its handle.
 */
static int tc_remove_stale(const struct nic_attachment *a, bool ingress,
			   int our_fd, __u32 our_handle, char *err, size_t errlen)
{
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	struct tc_filter f[64];
	int n;

	n = tc_filters(a->ifindex, ingress, f, sizeof(f) / sizeof(f[0]));
	if (n <= 0)
		return 0;	/* none, or cannot tell: the attach will report it */
	if (bpf_obj_get_info_by_fd(our_fd, &info, &ilen))
		return -errno;
	for (int i = 0; i < n; i++) {
		char theirs[BPF_OBJ_NAME_LEN];
		struct bpf_tc_hook h;
		struct bpf_tc_opts d;
		int ret;

		if (f[i].prio != NIC_TC_PRIORITY)
			continue;
		if (f[i].name[0])
			snprintf(theirs, sizeof(theirs), "%s", f[i].name);
		else
			prog_name(f[i].prog_id, theirs, sizeof(theirs));
		if (strcmp(theirs, info.name)) {
			if (f[i].handle != our_handle)
				continue;
			say(err, errlen, "%s: TC %s filter handle %#x priority %#x belongs to "
			    "another program (id %u, \"%s\")", a->ifname,
			    ingress ? "ingress" : "egress", our_handle, NIC_TC_PRIORITY,
			    f[i].prog_id, theirs);
			return -EBUSY;
		}
		if (f[i].handle != our_handle && owner_alive(f[i].handle))
			continue;
		tc_hook(&h, a->ifindex, ingress);
		tc_opts(&d, f[i].handle);
		ret = bpf_tc_detach(&h, &d);
		if (ret && ret != -ENOENT) {
			say(err, errlen, "%s: cannot remove our stale TC filter: %s",
			    a->ifname, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int tc_netlink_attach(const struct nic_attachment *a, bool ingress,
			     int prog_fd, char *err, size_t errlen)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;
	int ret;

	tc_hook(&h, a->ifindex, ingress);
	tc_opts(&o, a->tc_handle);
	/* The clsact qdisc holds both hooks; EEXIST: someone made it already. */
	ret = bpf_tc_hook_create(&h);
	if (ret && ret != -EEXIST) {
		say(err, errlen, "%s: cannot create the clsact qdisc: %s",
		    a->ifname, strerror(-ret));
		return ret;
	}
	o.prog_fd = prog_fd;
	ret = bpf_tc_attach(&h, &o);
	if (ret)
		say(err, errlen, "%s: cannot attach the TC %s filter: %s", a->ifname,
		    ingress ? "ingress" : "egress", strerror(-ret));
	return ret;
}

/*
 * Detach our netlink filter. The clsact qdisc stays: other tools' filters
 * may hang from it, and an empty one costs nothing.
 */
static void tc_netlink_detach(int ifindex, bool ingress, __u32 handle)
{
	struct bpf_tc_hook h;
	struct bpf_tc_opts o;

	tc_hook(&h, ifindex, ingress);
	tc_opts(&o, handle);
	bpf_tc_detach(&h, &o);
}

/*
 * TC through a tcx link. Ingress goes first in the tcx chain, so a
 * program that drops does not hide from us what reached the NIC; egress
 * goes last (the default), nearest to what actually leaves.
 * Returns the link fd, -EINVAL/-EOPNOTSUPP where the kernel has no tcx.
 */
static int tcx_attach(int ifindex, bool ingress, int prog_fd)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	int type = ingress ? NIC_BPF_TCX_INGRESS : NIC_BPF_TCX_EGRESS;
	int fd;

	if (ingress) {
		lo.flags = NIC_BPF_F_BEFORE;
		fd = bpf_link_create(prog_fd, ifindex, type, &lo);
		if (fd >= 0)
			return fd;
	}
	fd = bpf_link_create(prog_fd, ifindex, type, NULL);
	return fd < 0 ? -errno : fd;
}

static int tc_attach(struct nic_attachment *a, bool ingress, int prog_fd,
		     bool no_tcx, char *err, size_t errlen)
{
	enum nic_hook_kind *kind = ingress ? &a->ingress_kind : &a->egress_kind;
	int *link = ingress ? &a->ingress_fd : &a->egress_fd;
	int ret;

	/* Stale netlink filters would count every packet twice beside a tcx link. */
	ret = tc_remove_stale(a, ingress, prog_fd, a->tc_handle, err, errlen);
	if (ret)
		return ret;
	if (!no_tcx) {
		ret = tcx_attach(a->ifindex, ingress, prog_fd);
		if (ret >= 0) {
			*link = ret;
			*kind = NIC_HOOK_TCX;
			return 0;
		}
		/* ERANGE: the hook holds tcx's most programs (64); netlink
		 * filters have no such bound. */
		if (ret != -EINVAL && ret != -EOPNOTSUPP && ret != -ERANGE) {
			say(err, errlen, "%s: cannot attach the tcx %s link: %s", a->ifname,
			    ingress ? "ingress" : "egress", strerror(-ret));
			return ret;
		}
	}
	ret = tc_netlink_attach(a, ingress, prog_fd, err, errlen);
	if (ret)
		return ret;
	*kind = NIC_HOOK_TC_NETLINK;
	return 0;
}

static int xdp_attach(struct nic_attachment *a, int prog_fd, bool native,
		      char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	char holder[BPF_OBJ_NAME_LEN];
	int ret, fd;

	ret = bpf_xdp_query(a->ifindex, 0, &q);
	if (ret) {
		say(err, errlen, "%s: cannot query the XDP hook: %s", a->ifname,
		    strerror(-ret));
		return ret;
	}
	if (q.attach_mode != XDP_ATTACHED_NONE) {
		/* The id of the busy mode; MULTI means more than one is. */
		a->xdp_holder_id = q.prog_id ? q.prog_id :
			q.drv_prog_id ? q.drv_prog_id :
			q.skb_prog_id ? q.skb_prog_id : q.hw_prog_id;
		goto busy;
	}
	lo.flags = native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	fd = bpf_link_create(prog_fd, a->ifindex, BPF_XDP, &lo);
	if (fd >= 0) {
		a->ingress_fd = fd;
		a->ingress_kind = native ? NIC_HOOK_XDP_NATIVE : NIC_HOOK_XDP_GENERIC;
		return 0;
	}
	ret = -errno;
	/* Taken between the query and now: EBUSY (same mode), EEXIST (other). */
	if (ret == -EBUSY || ret == -EEXIST) {
		bpf_xdp_query_id(a->ifindex, 0, &a->xdp_holder_id);
		goto busy;
	}
	if (native && ret == -EOPNOTSUPP)
		say(err, errlen, "%s: the driver has no native XDP", a->ifname);
	else
		say(err, errlen, "%s: cannot attach XDP (%s mode): %s", a->ifname,
		    native ? "native" : "generic", strerror(-ret));
	return ret;
busy:
	prog_name(a->xdp_holder_id, holder, sizeof(holder));
	say(err, errlen, "%s: the XDP hook is held by another program (id %u, \"%s\"); "
	    "not replacing it", a->ifname, a->xdp_holder_id, holder);
	return -EBUSY;
}

int nic_attach(int ifindex, const struct nic_attach_opts *o,
	       struct nic_attachment *a, char *err, size_t errlen)
{
	int ret;

	memset(a, 0, sizeof(*a));
	a->ifindex = ifindex;
	a->ingress_fd = -1;
	a->egress_fd = -1;
	a->tc_handle = o->owner ? o->owner : (__u32)getpid();
	if (!if_indextoname(ifindex, a->ifname)) {
		say(err, errlen, "no interface with index %d in this namespace", ifindex);
		return -ENODEV;
	}
	ret = if_hwtype(a->ifname);
	if (ret < 0) {
		say(err, errlen, "%s: %s", a->ifname, strerror(-ret));
		return ret;
	}
	if (ret != ARPHRD_ETHER) {
		say(err, errlen, "%s: not an Ethernet interface (type %d): the NIC "
		    "hooks parse Ethernet frames", a->ifname, ret);
		return -EOPNOTSUPP;
	}

	/* XDP first: the hook most likely to be refused, before anything else holds. */
	if (o->ingress == NIC_INGRESS_XDP_GENERIC || o->ingress == NIC_INGRESS_XDP_NATIVE) {
		ret = xdp_attach(a, o->xdp_fd, o->ingress == NIC_INGRESS_XDP_NATIVE,
				 err, errlen);
		if (ret)
			goto fail;
	} else if (o->ingress == NIC_INGRESS_TC) {
		ret = tc_attach(a, true, o->tc_in_fd, o->no_tcx, err, errlen);
		if (ret)
			goto fail;
	}
	if (o->egress) {
		ret = tc_attach(a, false, o->tc_out_fd, o->no_tcx, err, errlen);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	nic_detach(a);
	return ret;
}

void nic_detach(struct nic_attachment *a)
{
	/* Closing a link fd (tcx or XDP) is the detach. */
	if (a->ingress_kind == NIC_HOOK_TC_NETLINK)
		tc_netlink_detach(a->ifindex, true, a->tc_handle);
	if (a->egress_kind == NIC_HOOK_TC_NETLINK)
		tc_netlink_detach(a->ifindex, false, a->tc_handle);
	if (a->ingress_kind != NIC_HOOK_NONE && a->ingress_fd >= 0)
		close(a->ingress_fd);
	if (a->egress_kind != NIC_HOOK_NONE && a->egress_fd >= 0)
		close(a->egress_fd);
	a->ingress_kind = NIC_HOOK_NONE;
	a->egress_kind = NIC_HOOK_NONE;
	a->ingress_fd = -1;
	a->egress_fd = -1;
}

/* ------------------------------------------------- the default interface set */

/*
 * Every link of the namespace by an RTM_GETLINK dump: flags and type as
 * if_nameindex() cannot give them, and what stacks on what (master,
 * lower, kind), which the default set needs to count a packet once.
 */
int nic_list_links(struct nic_link **out, char *err, size_t errlen)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
			.nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	struct nic_link *links = NULL;
	int fd, n = 0, cap = 0, ret = 0;
	bool done = false;
	char *buf;

	*out = NULL;
	/* A dump part is at most a page or two of links; 32 KiB takes any. */
	buf = malloc(32768);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (!buf || fd < 0) {
		ret = -errno;
		say(err, errlen, "cannot list interfaces: %s", strerror(errno));
		goto out;
	}
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		ret = -errno;
		say(err, errlen, "cannot list interfaces: %s", strerror(errno));
		goto out;
	}
	while (!done) {
		int len = recv(fd, buf, 32768, 0);
		struct nlmsghdr *nh;

		if (len < 0) {
			ret = -errno;
			say(err, errlen, "cannot list interfaces: %s", strerror(errno));
			goto out;
		}
		for (nh = (void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			struct rtattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
			struct ifinfomsg *ifi = NLMSG_DATA(nh);
			struct nic_link *l;

			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				ret = e->error;
				say(err, errlen, "cannot list interfaces: %s", strerror(-ret));
				goto out;
			}
			if (nh->nlmsg_type != RTM_NEWLINK)
				continue;
			if (n == cap) {
				struct nic_link *more;

				cap = cap ? cap * 2 : 32;
				more = realloc(links, cap * sizeof(*links));
				if (!more) {
					ret = -ENOMEM;
					say(err, errlen, "cannot list interfaces: out of memory");
					goto out;
				}
				links = more;
			}
			l = &links[n];
			memset(l, 0, sizeof(*l));
			rta_parse(IFLA_RTA(ifi), nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)), tb,
				  IFLA_MAX);
			if (!tb[IFLA_IFNAME])
				continue;
			l->ifindex = ifi->ifi_index;
			l->type = ifi->ifi_type;
			l->flags = ifi->ifi_flags;
			snprintf(l->name, sizeof(l->name), "%s", (char *)RTA_DATA(tb[IFLA_IFNAME]));
			if (tb[IFLA_MASTER])
				l->master = *(__u32 *)RTA_DATA(tb[IFLA_MASTER]);
			/* A lower in another namespace (a veth's peer, a macvlan
			 * moved into a container) is no lower of ours. */
			if (tb[IFLA_LINK] && !tb[IFLA_LINK_NETNSID])
				l->lower = *(__u32 *)RTA_DATA(tb[IFLA_LINK]);
			if (tb[IFLA_LINKINFO]) {
				rta_parse(RTA_DATA(tb[IFLA_LINKINFO]), RTA_PAYLOAD(tb[IFLA_LINKINFO]),
					  info, IFLA_INFO_MAX);
				if (info[IFLA_INFO_KIND])
					snprintf(l->kind, sizeof(l->kind), "%.*s",
						 (int)RTA_PAYLOAD(info[IFLA_INFO_KIND]),
						 (char *)RTA_DATA(info[IFLA_INFO_KIND]));
			}
			n++;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	if (ret) {
		free(links);
		return ret;
	}
	*out = links;
	return n;
}

static int link_by_index(const struct nic_link *l, int n, int ifindex)
{
	for (int i = 0; ifindex && i < n; i++)
		if (l[i].ifindex == ifindex)
			return i;
	return -1;
}

static bool kind_is(const struct nic_link *l, const char *const *kinds)
{
	for (; *kinds; kinds++)
		if (!strcmp(l->kind, *kinds))
			return true;
	return false;
}

/* Masters every frame of a port passes (to or from this host) on its way. */
static const char *const aggregating[] = { "bridge", "bond", "team", NULL };
/* Devices stacked on a lower whose hooks every frame of theirs crosses. */
static const char *const stacked[] = { "vlan", "macvlan", "macvtap", "ipvlan", "ipvtap", NULL };

static bool candidate(const struct nic_link *l)
{
	return (l->flags & IFF_UP) && !(l->flags & IFF_LOOPBACK) && l->type == ARPHRD_ETHER;
}

/*
 * The hooked device that already counts a stacked device's frames: its
 * lower, or further down when the lower is stacked too (QinQ). -1: none,
 * the device counts for itself.
 */
static int counted_below(const struct nic_link *l, int n, int i, int depth)
{
	int lo = link_by_index(l, n, l[i].lower);

	if (lo < 0 || lo == i || depth > 8 || !candidate(&l[lo]))
		return -1;
	if (kind_is(&l[lo], stacked)) {
		int below = counted_below(l, n, lo, depth + 1);

		return below >= 0 ? below : lo;
	}
	/* A bridge port or bond slave under it: not hooked, so this counts. */
	return l[lo].counted_on ? -1 : lo;
}

int nic_pick_default(struct nic_link *l, int n)
{
	int hooked = 0;

	for (int i = 0; i < n; i++) {
		l[i].hooked = false;
		l[i].counted_on = 0;
	}
	/*
	 * A bridge port or a bond or team slave: a frame to or from this host
	 * crosses the port's hooks and the master's, and a frame the bridge
	 * floods crosses every port's. The master alone counts it once.
	 */
	for (int i = 0; i < n; i++) {
		int m = link_by_index(l, n, l[i].master);

		if (candidate(&l[i]) && m >= 0 && candidate(&l[m]) && kind_is(&l[m], aggregating))
			l[i].counted_on = l[m].ifindex;
	}
	/*
	 * A VLAN, macvlan or ipvlan device: its frames cross its lower's hooks
	 * too (tagged or not, the NIC programs parse through one 802.1Q tag),
	 * and the lower also carries its own untagged traffic. The lower
	 * alone counts both once.
	 */
	for (int i = 0; i < n; i++) {
		int below;

		if (!candidate(&l[i]) || l[i].counted_on || !kind_is(&l[i], stacked))
			continue;
		below = counted_below(l, n, i, 0);
		if (below >= 0)
			l[i].counted_on = l[below].ifindex;
	}
	for (int i = 0; i < n; i++) {
		l[i].hooked = candidate(&l[i]) && !l[i].counted_on;
		hooked += l[i].hooked;
	}
	return hooked;
}
