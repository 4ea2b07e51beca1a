/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One load of a BPF object on one kernel, as libbpf and the verifier would
 * see it: the CO-RE records of the loaded programs and of every subprogram
 * resolved in order with one candidate cache, each function walked for
 * what the verifier reaches, and which program may run which function.
 */
#ifndef CORE_LOAD_H
#define CORE_LOAD_H

#include "core_flow.h"
#include "core_obj.h"
#include "core_relo.h"

struct core_load {
	const struct core_obj *o;
	struct relo_res *res;	/* per record, where resolved[] says it was */
	bool *resolved;		/* libbpf relocates it in this load */
	bool *loaded;		/* per function: a program this load loads */
	bool **used;		/* [func][prog]: the loaded program may run the function */
	struct flow_fn *flow;	/* per function, walked if loaded or a subprogram */
};

/* loaded: per function of o, whether the load loads that program. 0 or -ENOMEM. */
int core_load_run(struct core_load *l, const struct core_obj *o, struct core_target *t,
		  const bool *loaded);
void core_load_free(struct core_load *l);

/* Does any loaded program run this function? */
bool core_load_runs(const struct core_load *l, size_t func);

/* Will the verifier reach instruction insn (section index) of function func? */
bool core_load_reaches(const struct core_load *l, size_t func, size_t insn);

/* Does record rec fail the load: a poisoned instruction reached, or a libbpf error? */
bool core_load_fails(const struct core_load *l, size_t rec);

#endif /* CORE_LOAD_H */
