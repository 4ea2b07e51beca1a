// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * core_check: will this BPF object load on that kernel? Answered from the
 * kernel's BTF alone, without booting it.
 *
 * For each kernel and each plan (the set of programs the loader would
 * load there) it does what libbpf and the verifier would do, as far as
 * BTF tells: resolve every CO-RE relocation of the loaded programs and
 * their subprograms (core_relo.c), then find which instructions the
 * verifier will walk once the existence checks are constants
 * (core_flow.c). A relocation that cannot be resolved is fine where it is
 * dead code; where it is reachable, the load fails. So do, reachable, a
 * call to a helper the kernel does not have, a tp_btf program whose
 * tracepoint is missing or reads an argument the tracepoint does not
 * pass, and an iterator target the kernel lacks.
 *
 * One line per problem, then "PASS core/KERNEL/PLAN" or "FAIL ...: why",
 * the lines tests/run.sh counts.
 */
#include <argp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "core_load.h"
#include "hook_plan.h"

#define MAX_KERNELS	16
#define MAX_PLANS	64

struct kernel {
	char *name;
	char *path;
	struct btf *btf;
};

/* The programs a loader loads: a list, everything, or the loader's own choice. */
struct plan {
	char *name;
	char **progs;		/* NULL: every program (or the hook plan) */
	size_t n_progs;
	bool hook;		/* ask hook_plan, per kernel */
	bool classic;
};

static struct env {
	const char *obj;
	const char *prefix;
	struct kernel kernels[MAX_KERNELS];
	int n_kernels;
	struct plan plans[MAX_PLANS];
	int n_plans;
	char **skip;		/* never loaded, whatever the plan */
	size_t n_skip;
	bool verbose;
	bool list;
} env = { .prefix = "core" };

const char *argp_program_version = "core_check 0.1";
static const char doc[] =
"Check that a BPF object loads on other kernels: resolve its CO-RE relocations\n"
"against each kernel's BTF, and fail on any that is not guarded.\n"
"\n"
"A relocation that cannot be resolved is guarded when the verifier will not\n"
"reach it: its program is not loaded on that kernel, or an existence check\n"
"(bpf_core_field_exists and the like) that is false there cuts it off.\n"
"Reachable calls to helpers the kernel lacks, and tp_btf programs whose\n"
"tracepoint is missing or passes fewer arguments than they read, fail too.\n"
"\n"
"USAGE: core_check [-v] -k NAME=BTF... [-p PLAN[=PROG,...]]... OBJ\n"
"\n"
"EXAMPLES:\n"
"  core_check -k 5.10=build/kernels/5.10.btf build/tcptrace.bpf.o\n"
"  core_check -k host=/sys/kernel/btf/vmlinux -p classic build/tcptrace.bpf.o\n"
"  core_check -k old=old.btf -p only=fix_guarded fixture.bpf.o\n";

static const struct argp_option opts[] = {
	{ "kernel", 'k', "NAME=BTF", 0, "A kernel's BTF: raw (.btf, /sys/kernel/btf/vmlinux) "
	  "or an ELF with .BTF; repeatable", 0 },
	{ "plan", 'p', "PLAN[=PROG,...]", 0, "Programs loaded: the loader's plan 'tp_btf' or "
	  "'classic', or a named list; repeatable (default: every program)", 0 },
	{ "skip", 'x', "PROG,...", 0, "Programs never loaded, in every plan", 0 },
	{ "prefix", 'n', "NAME", 0, "Result lines are PREFIX/KERNEL/PLAN (default: core)", 0 },
	{ "list", 'l', NULL, 0, "List the object's functions and relocations", 0 },
	{ "verbose", 'v', NULL, 0, "Print every relocation's result", 0 },
	{},
};

static char **split(const char *list, size_t *n)
{
	char *copy = strdup(list), *save = NULL, **v = NULL;

	*n = 0;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		v = realloc(v, (*n + 1) * sizeof(*v));
		if (!v)
			exit(1);
		v[(*n)++] = strdup(p);
	}
	free(copy);
	return v;
}

static bool listed(char **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *eq;

	switch (key) {
	case 'k':
		eq = strchr(arg, '=');
		if (!eq || eq == arg || !eq[1] || env.n_kernels == MAX_KERNELS)
			argp_error(state, "-k wants NAME=PATH (at most %d)", MAX_KERNELS);
		env.kernels[env.n_kernels].name = strndup(arg, eq - arg);
		env.kernels[env.n_kernels++].path = strdup(eq + 1);
		break;
	case 'p': {
		struct plan *p = &env.plans[env.n_plans];

		if (env.n_plans == MAX_PLANS)
			argp_error(state, "at most %d plans", MAX_PLANS);
		eq = strchr(arg, '=');
		if (eq) {
			p->name = strndup(arg, eq - arg);
			p->progs = split(eq + 1, &p->n_progs);
		} else if (!strcmp(arg, "tp_btf") || !strcmp(arg, "classic")) {
			p->name = strdup(arg);
			p->hook = true;
			p->classic = !strcmp(arg, "classic");
		} else if (!strcmp(arg, "all")) {
			p->name = strdup(arg);
		} else {
			argp_error(state, "unknown plan '%s' (tp_btf, classic, all, or NAME=PROG,...)",
				   arg);
		}
		env.n_plans++;
		break;
	}
	case 'x':
		env.skip = split(arg, &env.n_skip);
		break;
	case 'n':
		env.prefix = arg;
		break;
	case 'l':
		env.list = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	case ARGP_KEY_ARG:
		if (env.obj)
			argp_usage(state);
		env.obj = arg;
		break;
	case ARGP_KEY_END:
		if (!env.obj || (!env.n_kernels && !env.list))
			argp_usage(state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* The section's hook name after its type: "tp_btf/tcp_send_reset" -> "tcp_send_reset". */
static const char *hook_of(const char *sec, const char *type)
{
	size_t n = strlen(type);

	return !strncmp(sec, type, n) && sec[n] == '/' ? sec + n + 1 : NULL;
}

static bool plan_loads(const struct plan *p, const struct hook_plan *hp, const char *prog)
{
	if (listed(env.skip, env.n_skip, prog))
		return false;
	if (p->hook)
		return hook_plan_loads(hp, prog);
	return !p->progs || listed(p->progs, p->n_progs, prog);
}

/* One (kernel, plan): the load, and what is wrong with it. */
struct run {
	const struct core_obj *o;
	const struct kernel *k;
	struct core_load l;
	int problems;
	bool *culprit;			/* per function: a program with a problem */
	const struct btf *names;	/* a BTF that names helpers, for kernels that lack one */
};

/* "count_icmp (.text +0x120, insn 36), run by nic_tc_in, nic_tc_out" */
static void where(const struct run *r, size_t func, size_t insn, char *buf, size_t size)
{
	const struct core_func *f = &r->o->funcs[func];
	size_t n;

	n = snprintf(buf, size, "%s (%s +0x%zx, insn %zu)", f->name, r->o->secs[f->sec].name,
		     insn * sizeof(struct bpf_insn), insn - f->start);
	if (f->prog || n >= size)
		return;
	n += snprintf(buf + n, size - n, ", run by");
	for (size_t p = 0, first = 1; p < r->o->n_funcs && n < size; p++) {
		if (!r->l.used[func][p])
			continue;
		n += snprintf(buf + n, size - n, "%s %s", first ? "" : ",", r->o->funcs[p].name);
		first = 0;
	}
}

/* One problem, one line: where (func CORE_NONE: the whole kernel), then what. */
__attribute__((format(printf, 5, 6)))
static void problem_at(struct run *r, const char *plan, size_t func, size_t insn,
		       const char *fmt, ...)
{
	char loc[512];
	va_list ap;

	printf("%s/%s/%s: ", env.prefix, r->k->name, plan);
	if (func != CORE_NONE) {
		where(r, func, insn, loc, sizeof(loc));
		printf("%s: ", loc);
	}
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	r->problems++;
	for (size_t p = 0; func != CORE_NONE && p < r->o->n_funcs; p++)
		if (r->l.used[func][p])
			r->culprit[p] = true;
}

/*
 * The rule a reader expects, "an existence check on the same thing that
 * is false here", as a hint next to a failure: if there is one in the
 * function, the access escaped the branch it guards.
 */
static bool false_check_covers(const struct run *r, size_t func, const struct core_rec *bad)
{
	const struct btf *btf = r->o->btf;
	const char *bad_acc = btf__name_by_offset(btf, bad->r.access_str_off);

	for (size_t i = 0; i < r->o->n_recs; i++) {
		const struct core_rec *c = &r->o->recs[i];
		const char *acc;
		size_t n;

		if (c->func != func || !r->l.resolved[i] || !core_relo_is_check(c->r.kind) ||
		    r->l.res[i].status != RELO_OK || r->l.res[i].val ||
		    c->r.type_id != bad->r.type_id)
			continue;
		acc = btf__name_by_offset(btf, c->r.access_str_off);
		n = strlen(acc);
		if (c->r.kind != BPF_CORE_FIELD_EXISTS ||
		    (!strncmp(acc, bad_acc, n) && (bad_acc[n] == ':' || !bad_acc[n])))
			return true;
	}
	return false;
}

/*
 * "bpf_task_pt_regs (#175)": the name from the running kernel's BTF, read
 * only when a helper is missing somewhere (it is the newest kernel here as
 * a rule), else from the newest kernel given.
 */
static void helper_name(const struct btf *fallback, __u32 id, char *buf, size_t size)
{
	static struct btf *host;
	static bool tried;
	const struct btf *btf;
	__s32 e;

	if (!tried) {
		tried = true;
		host = btf__load_vmlinux_btf();
	}
	btf = host ?: fallback;
	e = btf ? btf__find_by_name_kind(btf, "bpf_func_id", BTF_KIND_ENUM) : -1;
	snprintf(buf, size, "helper #%u", id);
	if (e <= 0)
		return;
	for (__u32 i = 0; i < btf_vlen(btf__type_by_id(btf, e)); i++) {
		const struct btf_enum *v = btf_enum(btf__type_by_id(btf, e)) + i;
		const char *n = btf__name_by_offset(btf, v->name_off);

		if ((__u32)v->val == id && !strncmp(n, "BPF_FUNC_", 9)) {
			snprintf(buf, size, "bpf_%s (#%u)", n + 9, id);
			return;
		}
	}
}

/* Is helper id one the kernel knows? Unknown when its BTF has no enum bpf_func_id. */
static bool kernel_has_helper(const struct btf *btf, __u32 id)
{
	__s32 e = btf__find_by_name_kind(btf, "bpf_func_id", BTF_KIND_ENUM);
	const struct btf_type *t;

	if (e <= 0)
		return true;
	t = btf__type_by_id(btf, e);
	for (__u32 i = 0; i < btf_vlen(t); i++) {
		const char *n = btf__name_by_offset(btf, btf_enum(t)[i].name_off);

		/* the last one is __BPF_FUNC_MAX_ID, no helper */
		if ((__u32)btf_enum(t)[i].val == id && strncmp(n, "__", 2))
			return true;
	}
	return false;
}

/* The number of arguments a tracepoint passes, from btf_trace_NAME; -1: no such tracepoint. */
static int tracepoint_args(const struct btf *btf, const char *tp)
{
	char name[256];
	const struct btf_type *t;
	__s32 id;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type);
	/* the first parameter is the tracepoint's private data, not an argument */
	return t && btf_is_func_proto(t) && btf_vlen(t) ? (int)btf_vlen(t) - 1 : -1;
}

static void check_relocations(struct run *r, const char *plan)
{
	const struct core_obj *o = r->o;
	const struct relo_res *res = r->l.res;
	char path[160];

	for (size_t i = 0; i < o->n_recs; i++) {
		const struct core_rec *c = &o->recs[i];

		if (!r->l.resolved[i])
			continue;
		core_relo_path(o->btf, &c->r, path, sizeof(path));
		if (env.verbose)
			printf("  %s +0x%zx %-14s %-60s %s%s%s\n", o->funcs[c->func].name,
			       c->insn * sizeof(struct bpf_insn), core_relo_kind_name(c->r.kind),
			       path, res[i].status == RELO_OK ? "ok" :
			       res[i].status == RELO_POISON ? "POISONED" : "ERROR",
			       res[i].status != RELO_POISON ? "" :
			       core_load_reaches(&r->l, c->func, c->insn) ? ", reachable" : ", dead code",
			       core_load_runs(&r->l, c->func) ? "" : " (not run)");
		/* A poisoned instruction the verifier never gets to is guarded. */
		if (!core_load_fails(&r->l, i))
			continue;
		problem_at(r, plan, c->func, c->insn, "%s (%s): %s%s%s", path,
			   core_relo_kind_name(c->r.kind), res[i].why,
			   res[i].status == RELO_ERROR ? " (libbpf fails the whole load)" : "",
			   res[i].status == RELO_POISON && false_check_covers(r, c->func, c) ?
			   " (an existence check on it is false here, but this access is outside "
			   "its branch)" : "");
	}
}

static void check_helpers(struct run *r, const char *plan)
{
	const struct core_obj *o = r->o;
	char name[96];

	for (size_t fi = 0; fi < o->n_funcs; fi++) {
		const struct core_func *f = &o->funcs[fi];
		const struct core_sec *s = &o->secs[f->sec];

		if (!core_load_runs(&r->l, fi))
			continue;
		for (size_t i = f->start; i < f->end; i++) {
			const struct bpf_insn *in = &s->insns[i];

			if (in->code != (BPF_JMP | BPF_CALL) || in->src_reg != 0 ||
			    !core_load_reaches(&r->l, fi, i) || kernel_has_helper(r->k->btf, in->imm))
				continue;
			helper_name(r->names, in->imm, name, sizeof(name));
			problem_at(r, plan, fi, i, "calls %s, which this kernel does not have", name);
		}
	}
}

/* Attach targets that BTF can vouch for, and the arguments a program reads. */
static void check_hooks(struct run *r, const char *plan)
{
	const struct core_obj *o = r->o;
	char iter[256];

	for (size_t fi = 0; fi < o->n_funcs; fi++) {
		const struct core_func *f = &o->funcs[fi];
		const char *sec = o->secs[f->sec].name, *tp;
		int nargs, reads = r->l.flow[fi].max_ctx_slot;

		if (!r->l.loaded[fi])
			continue;
		if ((tp = hook_of(sec, "iter"))) {
			snprintf(iter, sizeof(iter), "bpf_iter_%s", tp);
			if (btf__find_by_name_kind(r->k->btf, iter, BTF_KIND_FUNC) <= 0)
				problem_at(r, plan, fi, f->start, "the kernel has no iterator %s", tp);
			continue;
		}
		/* A classic tracepoint's event: the typedef exists for every trace
		 * event, though not for the syscall ones. */
		tp = hook_of(sec, "tp_btf") ?: hook_of(sec, "raw_tracepoint") ?: hook_of(sec, "raw_tp");
		if (!tp && (tp = hook_of(sec, "tracepoint") ?: hook_of(sec, "tp"))) {
			if (!strncmp(tp, "syscalls/", 9))
				continue;
			tp = strchr(tp, '/') ? strchr(tp, '/') + 1 : tp;
			reads = -1;	/* its context is a record CO-RE relocates */
		}
		if (!tp)
			continue;
		nargs = tracepoint_args(r->k->btf, tp);
		if (nargs < 0) {
			problem_at(r, plan, fi, f->start, "the kernel has no tracepoint %s", tp);
		} else if (reads >= nargs) {
			problem_at(r, plan, fi, f->start, "reads argument %d of %s, which passes %d here",
				   reads + 1, tp, nargs);
		}
	}
}

/*
 * The loader's own choice on this kernel. A hook it leaves without a
 * program is no failure (the tracer says what it loses), but worth a line;
 * a kernel where the tracer cannot start at all is.
 */
static void report_hook_plan(struct run *r, const struct plan *pl, const struct hook_plan *hp,
			     bool can_run)
{
	for (int h = 0; h < HOOK_MAX; h++) {
		if (hook_plan_variant(hp, h))
			continue;
		printf("%s/%s/%s: note: no %s (%s): %s loses %s\n", env.prefix, r->k->name,
		       pl->name, hook_desc(h)->name, hp->why[h] ?: "no variant fits",
		       hook_desc(h)->core ? "the tracer" : "it", hook_desc(h)->feeds);
	}
	if (!can_run)
		problem_at(r, pl->name, CORE_NONE, 0, "the tracer cannot run here: %s",
			   hp->has_ringbuf ? "no state-change hook" : "no BPF ring buffer");
}

static int check(const struct core_obj *o, const struct kernel *k, const struct plan *pl,
		 struct core_target *t, const struct btf *names)
{
	struct run r = { .o = o, .k = k, .names = names };
	struct hook_plan hp = {};
	bool *loaded = calloc(o->n_funcs + 1, sizeof(*loaded)), can_run = true;

	r.culprit = calloc(o->n_funcs + 1, sizeof(*r.culprit));
	if (!loaded || !r.culprit) {
		fprintf(stderr, "core_check: out of memory\n");
		exit(2);
	}
	if (pl->hook)
		can_run = hook_plan_make(&hp, k->btf, pl->classic);
	for (size_t i = 0; i < o->n_funcs; i++)
		loaded[i] = o->funcs[i].prog && plan_loads(pl, &hp, o->funcs[i].name);
	if (core_load_run(&r.l, o, t, loaded)) {
		fprintf(stderr, "core_check: out of memory\n");
		exit(2);
	}
	if (pl->hook)
		report_hook_plan(&r, pl, &hp, can_run);

	check_relocations(&r, pl->name);
	check_helpers(&r, pl->name);
	check_hooks(&r, pl->name);

	if (r.problems) {
		printf("FAIL %s/%s/%s: %d problem%s", env.prefix, k->name, pl->name,
		       r.problems, r.problems == 1 ? "" : "s");
		for (size_t i = 0, first = 1; i < o->n_funcs; i++) {
			if (!r.culprit[i])
				continue;
			printf("%s %s", first ? " in" : ",", o->funcs[i].name);
			first = 0;
		}
		printf("\n");
	} else {
		printf("PASS %s/%s/%s\n", env.prefix, k->name, pl->name);
	}
	fflush(stdout);
	core_load_free(&r.l);
	free(r.culprit);
	free(loaded);
	return r.problems ? 1 : 0;
}

static void list_object(const struct core_obj *o)
{
	char path[160];

	for (size_t i = 0; i < o->n_funcs; i++) {
		const struct core_func *f = &o->funcs[i];

		printf("%s %s [%s] insns %zu-%zu\n", f->prog ? "prog" : "subprog", f->name,
		       o->secs[f->sec].name, f->start, f->end);
	}
	for (size_t i = 0; i < o->n_recs; i++) {
		const struct core_rec *c = &o->recs[i];

		core_relo_path(o->btf, &c->r, path, sizeof(path));
		printf("relo %s +0x%x %s %s\n", o->secs[c->sec].name, c->r.insn_off,
		       core_relo_kind_name(c->r.kind), path);
	}
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc };
	const struct btf *names = NULL;
	struct core_obj *o;
	int rc = 0;

	argp_err_exit_status = 2;	/* usage errors exit 2, as everywhere in the project */
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return 2;
	libbpf_set_print(quiet_print);
	o = core_obj_open(env.obj);
	if (!o)
		return 2;
	if (env.list)
		list_object(o);
	if (!env.n_plans)
		env.plans[env.n_plans++] = (struct plan){ .name = "all" };
	for (int i = 0; i < env.n_kernels; i++) {
		env.kernels[i].btf = btf__parse(env.kernels[i].path, NULL);
		if (!env.kernels[i].btf) {
			fprintf(stderr, "core_check: %s: cannot read BTF: %s\n", env.kernels[i].path,
				strerror(errno));
			return 2;
		}
		/* helper names for a kernel that lacks them: the latest kernel's */
		if (btf__find_by_name_kind(env.kernels[i].btf, "bpf_func_id", BTF_KIND_ENUM) > 0)
			names = env.kernels[i].btf;
	}
	for (int i = 0; i < env.n_kernels; i++) {
		struct core_target *t = core_target_new(o->btf, env.kernels[i].btf);

		if (!t) {
			fprintf(stderr, "core_check: out of memory\n");
			return 2;
		}
		for (int p = 0; p < env.n_plans; p++)
			rc |= check(o, &env.kernels[i], &env.plans[p], t, names);
		core_target_free(t);
	}
	for (int i = 0; i < env.n_kernels; i++)
		btf__free(env.kernels[i].btf);
	core_obj_free(o);
	return rc;
}
