/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The words of a diagnosis: a one-sentence summary, the likely causes (the
 * seven common causes of a broken service-to-service call) and concrete
 * commands to check them, with this diagnosis' addresses and ports filled
 * in. Pure string work: no I/O.
 */
#ifndef TCPTRACE_CATALOGUE_H
#define TCPTRACE_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include "diagnose.h"

/* Longest address text: an IPv6 address with an IPv4 tail, plus NUL. */
#define TT_ADDR_STRLEN	46

/* Fill d->summary, d->causes and d->checks from d's code, key, evidence,
 * connections and app_error. */
void catalogue_fill(struct diagnosis *d);

/* The named evidence value of d; false when d does not carry it. */
bool diag_evidence_get(const struct diagnosis *d, const char *name,
		       long long *value);

/* "10.0.2.10" or "2001:db8::10" for the first 4 or 16 bytes of addr. */
const char *tt_addr_str(__u16 family, const __u8 addr[16], char *buf,
			size_t len);

/* What a kernel enum sk_rst_reason value means, in words. */
const char *tt_rst_reason_text(__u32 reason);

#endif /* TCPTRACE_CATALOGUE_H */
