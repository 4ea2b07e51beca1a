// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * core_oracle: core_check against the real thing. For each kernel's BTF and
 * each program, libbpf (opened with btf_custom_path, so that it relocates
 * against that kernel) loads the program alone into the running kernel,
 * and its verdict is compared with core_load's:
 *
 * - the relocations it poisons (its debug log says which) are the ones
 *   core_relo poisons, for every program;
 * - where the load fails on a reached poisoned instruction (libbpf 1.1
 *   says "failed to resolve CO-RE relocation"), core_load says the
 *   program fails; where it loads, core_load says it does not.
 *
 * The running kernel's verifier judges with the other kernel's offsets,
 * so programs that load kernel memory directly (tp_btf, iter) may be
 * refused for that; such a verdict proves nothing and is only counted.
 * Needs root (or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN); nothing is
 * attached.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "core_load.h"

static char logbuf[1 << 22];
static size_t loglen;

static int collect(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	(void)level;
	if (loglen >= sizeof(logbuf) - 1)
		return 0;
	n = vsnprintf(logbuf + loglen, sizeof(logbuf) - loglen, fmt, ap);
	loglen += n > 0 ? (size_t)n : 0;
	if (loglen >= sizeof(logbuf))
		loglen = sizeof(logbuf) - 1;
	return 0;
}

/* Relocations libbpf poisoned in this load: distinct "prog 'X': relo #N: substituting". */
static int count_poisoned(void)
{
	char seen[512][80];
	int n = 0;

	for (const char *p = logbuf; (p = strstr(p, "prog '")); p++) {
		char prog[64], key[80];
		int relo, dup = 0, end = 0;

		/* (%n: the literal text must match too, not just the two fields) */
		if (sscanf(p, "prog '%63[^']': relo #%d: substituting%n", prog, &relo, &end) != 2 ||
		    !end)
			continue;
		snprintf(key, sizeof(key), "%s#%d", prog, relo);
		for (int i = 0; i < n && !dup; i++)
			dup = !strcmp(seen[i], key);
		if (!dup && n < 512)
			strcpy(seen[n++], key);
	}
	return n;
}

enum verdict { LOADS, BAD_RELO, RELOCATE_ERROR, OTHER, OPEN_ERROR };

static enum verdict libbpf_load(const char *obj, const char *btf, const char *prog,
				int *poisoned)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf);
	struct bpf_program *p;
	struct bpf_object *o;
	enum verdict v;
	int err;

	loglen = 0;
	logbuf[0] = 0;
	o = bpf_object__open_file(obj, &opts);
	if (!o)
		return OPEN_ERROR;
	bpf_object__for_each_program(p, o)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), prog));
	err = bpf_object__load(o);
	*poisoned = count_poisoned();
	if (!err)
		v = LOADS;
	else if (strstr(logbuf, "failed to resolve CO-RE relocation"))
		v = BAD_RELO;
	else if (strstr(logbuf, "failed to relocate"))
		v = RELOCATE_ERROR;
	else
		v = OTHER;
	bpf_object__close(o);
	return v;
}

static int oracle(const char *objpath, const struct core_obj *o, const char *name,
		  const char *btfpath)
{
	struct btf *btf = btf__parse(btfpath, NULL);
	struct core_target *t;
	bool *loaded = calloc(o->n_funcs + 1, sizeof(*loaded));
	int compared = 0, unproven = 0, wrong = 0;

	if (!btf || !loaded || !(t = core_target_new(o->btf, btf))) {
		printf("FAIL core/oracle/%s: cannot read %s\n", name, btfpath);
		return 1;
	}
	for (size_t fi = 0; fi < o->n_funcs; fi++) {
		const char *prog = o->funcs[fi].name;
		int lib_poisoned = 0, mine_poisoned = 0;
		bool mine_fails = false, mine_error = false;
		struct core_load l = {};
		enum verdict v;

		if (!o->funcs[fi].prog)
			continue;
		memset(loaded, 0, o->n_funcs * sizeof(*loaded));
		loaded[fi] = true;
		if (core_load_run(&l, o, t, loaded)) {
			fprintf(stderr, "core_oracle: out of memory\n");
			exit(2);
		}
		for (size_t i = 0; i < o->n_recs; i++) {
			mine_poisoned += l.resolved[i] && l.res[i].status == RELO_POISON;
			mine_error |= l.resolved[i] && l.res[i].status == RELO_ERROR;
			mine_fails |= core_load_fails(&l, i);
		}
		core_load_free(&l);

		v = libbpf_load(objpath, btfpath, prog, &lib_poisoned);
		if (v == OPEN_ERROR) {
			printf("FAIL core/oracle/%s: libbpf cannot open %s\n", name, objpath);
			return 1;
		}
		if (lib_poisoned != mine_poisoned) {
			printf("core/oracle/%s: %s: libbpf poisons %d relocations, core_check %d\n",
			       name, prog, lib_poisoned, mine_poisoned);
			wrong++;
		}
		if ((v == RELOCATE_ERROR) != mine_error ||
		    (v == BAD_RELO && !mine_fails) || (v == LOADS && mine_fails)) {
			printf("core/oracle/%s: %s: libbpf %s, core_check says it %s\n", name, prog,
			       v == LOADS ? "loads it" : v == BAD_RELO ? "reaches a poisoned relocation" :
			       v == RELOCATE_ERROR ? "fails to relocate" : "is refused for another reason",
			       mine_error ? "fails to relocate" : mine_fails ? "fails" : "loads");
			wrong++;
		}
		if (v == OTHER)
			unproven++;
		else
			compared++;
	}
	if (wrong)
		printf("FAIL core/oracle/%s: %d disagreement%s with libbpf\n", name, wrong,
		       wrong == 1 ? "" : "s");
	else
		printf("core/oracle/%s: %d programs agree; %d refused by this kernel for other "
		       "reasons, their relocations agree\nPASS core/oracle/%s\n", name, compared,
		       unproven, name);
	fflush(stdout);
	core_target_free(t);
	btf__free(btf);
	free(loaded);
	return wrong ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct core_obj *o;
	int rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: core_oracle OBJ NAME=BTF...\n");
		return 2;
	}
	o = core_obj_open(argv[1]);
	if (!o)
		return 2;
	libbpf_set_print(collect);
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq) {
			fprintf(stderr, "core_oracle: %s: want NAME=BTF\n", argv[i]);
			return 2;
		}
		*eq = 0;
		rc |= oracle(argv[1], o, argv[i], eq + 1);
	}
	core_obj_free(o);
	return rc;
}
