/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel's drop reasons: their names, read from the running kernel's
 * BTF (enum skb_drop_reason) rather than a table of ours, since the enum
 * grows and is renumbered between kernels; and what each one means as
 * evidence, decided by name.
 */
#ifndef TCPTRACE_DROP_REASON_H
#define TCPTRACE_DROP_REASON_H

#include <stdbool.h>
#include <linux/types.h>

/* What a drop says about a flow (the engine's drop_class table holds these). */
enum drop_class {
	DROP_IGNORE = 0,	/* not evidence: consumed, unspecified, TCP's own discards */
	DROP_LOCAL,		/* this host's stack refused it: firewall, rp_filter, qdisc... */
	DROP_LISTEN_OVERFLOW,	/* the accept queue was full */
	DROP_NO_ROUTE,		/* no route out */
	/*
	 * No socket took it: a SYN to a closed port, or a segment of a
	 * connection gone. Kernels before 6.10 trace no reset for a segment
	 * without a socket: there a SYN's drop says the port is closed.
	 */
	DROP_NO_SOCKET,
	/*
	 * A queueing discipline of this host dropped it (fq_codel, tbf, fq,
	 * cake): congestion at this host's egress, loss evidence.
	 */
	DROP_QDISC,
};

/* Loads the names; false when this kernel has no enum skb_drop_reason. */
bool drop_reason_init(void);
/* "NETFILTER_DROP", or NULL when unknown. */
const char *drop_reason_name(unsigned int reason);
/*
 * enum drop_class by reason value, *n of them, for every reason named so
 * far (by drop_reason_init() or drop_reason_sites()); NULL: none is.
 */
const __u8 *drop_reason_classes(__u32 *n);
void drop_reason_free(void);

/*
 * Before 5.17 the kernel gives no drop reason: the function that freed the
 * packet stands in. A range of kernel text and the reason it names.
 */
struct drop_site {
	unsigned long long start, end;
	unsigned int reason;
};

/*
 * On a kernel without enum skb_drop_reason: names reasons of our own for
 * the call sites that are evidence and finds those in /proc/kallsyms.
 * Returns how many sites were found (0: none can be told).
 */
int drop_reason_sites(struct drop_site *sites, int max);

#endif /* TCPTRACE_DROP_REASON_H */
