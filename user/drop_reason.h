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

#endif /* TCPTRACE_DROP_REASON_H */
