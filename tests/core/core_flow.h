/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which instructions of a function the verifier will walk on a given
 * kernel: a poisoned relocation is fatal only there. Existence checks
 * become constants once relocated, and the verifier does not follow a
 * branch that a known constant rules out.
 */
#ifndef CORE_FLOW_H
#define CORE_FLOW_H

#include "core_obj.h"
#include "core_relo.h"

struct flow_fn {
	bool *reach;		/* per instruction of the function, from its start */
	int max_ctx_slot;	/* highest 8-byte context slot read (tp_btf arguments), -1: none */
};

/*
 * Walk function func of o with every CO-RE record's result in res (indexed
 * like o->recs). prog: the function is an entry point, its r1 the context.
 * Returns 0, or -ENOMEM.
 */
int flow_walk(const struct core_obj *o, size_t func, const struct relo_res *res,
	      struct flow_fn *out);
void flow_fn_free(struct flow_fn *f);

#endif /* CORE_FLOW_H */
