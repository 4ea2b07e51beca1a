/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A BPF object as libbpf sees it before load: its code sections, the
 * functions in them (programs and the subprograms they call), and the
 * CO-RE relocation records of .BTF.ext, each tied to its function.
 */
#ifndef CORE_OBJ_H
#define CORE_OBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <bpf/btf.h>

#define CORE_NONE ((size_t)-1)

/* An executable ELF section. */
struct core_sec {
	char *name;
	size_t shndx;
	struct bpf_insn *insns;
	size_t n_insns;
	/* Per instruction: */
	size_t *relo;		/* the CO-RE record patching it, or CORE_NONE */
	size_t *callee;		/* the function a pseudo call or func reference targets */
	bool *elf_rel;		/* an ELF relocation fills it in (a map, a global) */
};

/* A function: a program (an entry point) or a subprogram in .text. */
struct core_func {
	char *name;
	size_t sec;
	size_t start, end;	/* its instructions in the section, [start, end) */
	bool prog;
};

/* One CO-RE relocation record of .BTF.ext. */
struct core_rec {
	struct bpf_core_relo r;
	size_t sec;
	size_t insn;		/* index in the section */
	size_t func;		/* CORE_NONE: in no function (an eliminated weak one) */
};

struct core_obj {
	struct btf *btf;	/* the object's own (local) BTF */
	struct core_sec *secs;
	size_t n_secs;
	struct core_func *funcs;
	size_t n_funcs;
	struct core_rec *recs;	/* in .BTF.ext order, the order libbpf applies them */
	size_t n_recs;
};

/* Read path; on failure print why to stderr and return NULL. */
struct core_obj *core_obj_open(const char *path);
void core_obj_free(struct core_obj *o);

/* The function of that name, or CORE_NONE. */
size_t core_obj_func(const struct core_obj *o, const char *name);

/* The function holding instruction insn of section sec, or CORE_NONE. */
size_t core_obj_func_at(const struct core_obj *o, size_t sec, size_t insn);

#endif /* CORE_OBJ_H */
