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
};

/* Loads the names and classes; false when this kernel has no enum skb_drop_reason. */
bool drop_reason_init(void);
/* "NETFILTER_DROP", or NULL when unknown. */
const char *drop_reason_name(unsigned int reason);
/* enum drop_class by reason value, *n of them; NULL until drop_reason_init() found the enum. */
const __u8 *drop_reason_classes(__u32 *n);
void drop_reason_free(void);

#endif /* TCPTRACE_DROP_REASON_H */
