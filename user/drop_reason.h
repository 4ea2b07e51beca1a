/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names of the kernel's drop reasons, read from the running kernel's BTF
 * (enum skb_drop_reason) rather than a table of ours: the enum grows and
 * is renumbered between kernels.
 */
#ifndef TCPTRACE_DROP_REASON_H
#define TCPTRACE_DROP_REASON_H

#include <stdbool.h>

/* Loads the names; false when this kernel has no enum skb_drop_reason. */
bool drop_reason_init(void);
/* "NETFILTER_DROP", or NULL when unknown. */
const char *drop_reason_name(unsigned int reason);
/* The value of a reason by name (without the SKB_DROP_REASON_ prefix), or -1. */
int drop_reason_value(const char *name);
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
