/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Attach the NIC programs (bpf/nic.bpf.c) to one interface of the calling
 * thread's current network namespace, and detach them again.
 *
 *   TC ingress/egress: a tcx bpf_link where the kernel has tcx (6.6+), so a
 *   killed tracer leaves nothing behind; else a clsact qdisc and a cls_bpf
 *   filter through netlink, our own stale filter of an earlier run removed
 *   first (found by handle, priority and program name) and other tools'
 *   filters never touched.
 *   XDP ingress: a bpf_link in generic (skb) or native (driver) mode. A hook
 *   another program already holds is never replaced: -EBUSY, nothing left
 *   attached, and the caller says so and uses TC instead.
 *
 * No printing, no exit: errors are negative errno values with a one-line
 * reason in the caller's buffer.
 */
#ifndef TCPTRACE_NIC_ATTACH_H
#define TCPTRACE_NIC_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include <linux/types.h>

/*
 * Our netlink TC filters sit at this priority ("tt": unlikely in other
 * tools), each at a handle of its own: the pid of the tracer that
 * attached it. Where tcx is missing (before 6.6) nothing detaches a
 * killed tracer's filter; the handle tells whether its owner still runs,
 * so a second instance keeps the first one's and removes only the dead's.
 */
#define NIC_TC_PRIORITY		0x7474

enum nic_hook_kind {
	NIC_HOOK_NONE = 0,
	NIC_HOOK_TCX,		/* TC through a tcx bpf_link */
	NIC_HOOK_TC_NETLINK,	/* TC through clsact + cls_bpf (netlink) */
	NIC_HOOK_XDP_GENERIC,	/* XDP bpf_link, skb mode */
	NIC_HOOK_XDP_NATIVE,	/* XDP bpf_link, driver mode */
};

enum nic_ingress {
	NIC_INGRESS_NONE = 0,	/* --no-ingress */
	NIC_INGRESS_TC,
	NIC_INGRESS_XDP_GENERIC,
	NIC_INGRESS_XDP_NATIVE,
};

struct nic_attach_opts {
	int tc_in_fd;		/* bpf_program__fd(skel->progs.nic_tc_in) */
	int tc_out_fd;		/* ... nic_tc_out */
	int xdp_fd;		/* ... nic_xdp_in */
	enum nic_ingress ingress;
	bool egress;		/* attach nic_tc_out */
	bool no_tcx;		/* use netlink TC even where tcx exists */
	__u32 owner;		/* netlink filter handle; 0: this process's pid */
};

/* One interface's attachments; zero-initialise, then nic_attach() fills it. */
struct nic_attachment {
	int ifindex;
	char ifname[IF_NAMESIZE];
	enum nic_hook_kind ingress_kind;	/* NONE: not attached */
	enum nic_hook_kind egress_kind;
	int ingress_fd;		/* link fd (tcx, XDP); -1 for netlink or none */
	int egress_fd;
	__u32 xdp_holder_id;	/* -EBUSY: id of the XDP program holding the hook */
	__u32 tc_handle;	/* our netlink filters' handle (the owner) */
};

/*
 * Attach to ifindex as o asks. Returns 0, or a negative errno with nothing
 * attached and a reason in err:
 *   -EBUSY       the XDP hook is held by another program (a->xdp_holder_id)
 *   -EOPNOTSUPP  native XDP not supported by the driver, or the interface
 *                has no Ethernet header (the parser expects one)
 *   -ENODEV      no such interface
 *   others       from the kernel (EPERM: not root)
 */
int nic_attach(int ifindex, const struct nic_attach_opts *o,
	       struct nic_attachment *a, char *err, size_t errlen);

/* Remove what nic_attach() attached; safe on a zeroed or detached one. */
void nic_detach(struct nic_attachment *a);

/* "tcx", "tc", "xdp-generic", "xdp-native", "none". */
const char *nic_hook_kind_name(enum nic_hook_kind k);

/* One link of the namespace, as the default interface set is chosen from. */
struct nic_link {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned int flags;	/* IFF_* */
	unsigned short type;	/* ARPHRD_* */
	int master;		/* IFLA_MASTER: the bridge, bond or team it is a port of */
	int lower;		/* IFLA_LINK in this namespace: what a VLAN etc. sits on */
	char kind[16];		/* IFLA_INFO_KIND: "bridge", "bond", "vlan", "veth", ... */
	/* nic_pick_default()'s choice: */
	bool hooked;
	int counted_on;		/* not hooked: the ifindex whose hooks count its frames */
};

/*
 * Every link of the current namespace, in a malloc'ed array the caller
 * frees. Returns how many, or a negative errno with a reason in err.
 */
int nic_list_links(struct nic_link **links, char *err, size_t errlen);

/*
 * The default interfaces: every up, non-loopback, Ethernet-type link, and
 * no cap, but each frame counted once: a bridge port or a bond or team
 * slave is left to its hooked master, a VLAN, macvlan or ipvlan device to
 * its hooked lower (l->counted_on says which). Sets hooked and counted_on;
 * returns how many are hooked.
 */
int nic_pick_default(struct nic_link *links, int n);

#endif /* TCPTRACE_NIC_ATTACH_H */
