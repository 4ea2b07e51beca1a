// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "core_load.h"

/* What each loaded program may run: itself and, through reachable calls, subprograms. */
static int mark_used(struct core_load *l)
{
	const struct core_obj *o = l->o;
	size_t *stack = calloc(o->n_funcs + 1, sizeof(*stack));

	if (!stack)
		return -ENOMEM;
	for (size_t p = 0; p < o->n_funcs; p++) {
		size_t top = 0;

		if (!l->loaded[p])
			continue;
		l->used[p][p] = true;
		stack[top++] = p;
		while (top) {
			size_t fi = stack[--top];
			const struct core_func *f = &o->funcs[fi];
			const struct core_sec *s = &o->secs[f->sec];

			for (size_t i = f->start; i < f->end; i++) {
				size_t callee = s->callee[i];

				if (callee == CORE_NONE || !core_load_reaches(l, fi, i) ||
				    l->used[callee][p])
					continue;
				l->used[callee][p] = true;
				stack[top++] = callee;
			}
		}
	}
	free(stack);
	return 0;
}

int core_load_run(struct core_load *l, const struct core_obj *o, struct core_target *t,
		  const bool *loaded)
{
	int err = 0;

	l->o = o;
	l->res = calloc(o->n_recs + 1, sizeof(*l->res));
	l->resolved = calloc(o->n_recs + 1, sizeof(*l->resolved));
	l->loaded = calloc(o->n_funcs + 1, sizeof(*l->loaded));
	l->used = calloc(o->n_funcs + 1, sizeof(*l->used));
	l->flow = calloc(o->n_funcs + 1, sizeof(*l->flow));
	if (!l->res || !l->resolved || !l->loaded || !l->used || !l->flow)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_funcs; i++) {
		l->loaded[i] = o->funcs[i].prog && loaded[i];
		l->used[i] = calloc(o->n_funcs, sizeof(**l->used));
		if (!l->used[i])
			return -ENOMEM;
	}
	/*
	 * As bpf_object__load() does: one candidate cache, records in .BTF.ext
	 * order, none for programs not loaded; subprograms' always (libbpf
	 * relocates them before it knows who calls them).
	 */
	core_target_reset(t);
	for (size_t i = 0; i < o->n_recs; i++) {
		const struct core_rec *c = &o->recs[i];

		if (c->func == CORE_NONE || (o->funcs[c->func].prog && !l->loaded[c->func]))
			continue;
		core_resolve(t, &c->r, &o->secs[c->sec].insns[c->insn], &l->res[i]);
		l->resolved[i] = true;
	}
	for (size_t i = 0; i < o->n_funcs && !err; i++)
		if (l->loaded[i] || !o->funcs[i].prog)
			err = flow_walk(o, i, l->res, &l->flow[i]);
	return err ?: mark_used(l);
}

void core_load_free(struct core_load *l)
{
	for (size_t i = 0; l->o && i < l->o->n_funcs; i++) {
		if (l->flow)
			flow_fn_free(&l->flow[i]);
		if (l->used)
			free(l->used[i]);
	}
	free(l->flow);
	free(l->used);
	free(l->loaded);
	free(l->resolved);
	free(l->res);
}

bool core_load_runs(const struct core_load *l, size_t func)
{
	for (size_t p = 0; p < l->o->n_funcs; p++)
		if (l->used[func][p])
			return true;
	return false;
}

bool core_load_reaches(const struct core_load *l, size_t func, size_t insn)
{
	const struct core_func *f = &l->o->funcs[func];

	return l->flow[func].reach && insn >= f->start && insn < f->end &&
	       l->flow[func].reach[insn - f->start];
}

bool core_load_fails(const struct core_load *l, size_t rec)
{
	const struct core_rec *c = &l->o->recs[rec];

	if (!l->resolved[rec] || !core_load_runs(l, c->func))
		return false;
	return l->res[rec].status == RELO_ERROR ||
	       (l->res[rec].status == RELO_POISON && core_load_reaches(l, c->func, c->insn));
}
