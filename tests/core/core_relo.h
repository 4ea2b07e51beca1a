/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Resolving one CO-RE relocation against a kernel's BTF, by libbpf's rules
 * (libbpf 1.1, relo_core.c): candidates by essential name and kind, the
 * access string walked by member names through anonymous members, field
 * compatibility, and what becomes of a relocation that finds nothing.
 */
#ifndef CORE_RELO_H
#define CORE_RELO_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <bpf/btf.h>

enum relo_status {
	RELO_OK,	/* patched: val is the value the instruction gets */
	RELO_POISON,	/* the instruction is poisoned: fatal if it is reachable */
	RELO_ERROR,	/* libbpf refuses the whole object (ambiguity, bad record) */
};

struct relo_res {
	enum relo_status status;
	__u64 val;
	char why[256];	/* for POISON and ERROR: what the kernel lacks */
};

/* A kernel to resolve against, with libbpf's per-load candidate cache. */
struct core_target;

struct core_target *core_target_new(const struct btf *local, const struct btf *kernel);
void core_target_free(struct core_target *t);
/* Forget the candidate cache, as a new bpf_object__load() would. */
void core_target_reset(struct core_target *t);
const struct btf *core_target_btf(const struct core_target *t);

/*
 * Resolve relocation r of the instruction insn (for ld_imm64, the first of
 * its two halves). The candidate cache is updated as libbpf updates it, so
 * records must come in .BTF.ext order, for loaded programs only.
 */
void core_resolve(struct core_target *t, const struct bpf_core_relo *r,
		  const struct bpf_insn *insn, struct relo_res *res);

/* "struct sock.__sk_common.skc_state", "enum x::X_Y": what r accesses. */
void core_relo_path(const struct btf *local, const struct bpf_core_relo *r,
		    char *buf, size_t size);

const char *core_relo_kind_name(__u32 kind);

/* An existence check: its value says whether something is there. */
bool core_relo_is_check(__u32 kind);

#endif /* CORE_RELO_H */
