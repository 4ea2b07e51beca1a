// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reachability as the verifier will see it, approximated from above: a
 * forward data flow over the function's instructions that knows a register
 * (or a spilled stack slot) only when it holds a constant, a stack address
 * or the context. A conditional jump between constants goes one way, the
 * way the verifier's exact scalar tracking sends it; anything this does
 * not know goes both ways. So an instruction found unreachable is dead for
 * the verifier too, and a relocation poisoned there cannot fail the load;
 * the converse may not hold (the verifier also knows .rodata constants,
 * map value ranges, and walks paths rather than merging them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core_flow.h"

#define MAX_SLOTS	32	/* spilled values remembered per state */

enum vkind { V_UNK, V_CONST, V_STACK, V_CTX };

struct val {
	enum vkind k;
	__u64 v;		/* V_CONST: the value; V_STACK: offset from r10 */
};

struct slot {
	__s64 off;
	__u32 size;
	struct val v;
};

struct state {
	bool live;
	struct val r[MAX_BPF_REG];
	struct slot s[MAX_SLOTS];
	int n;
};

static const struct val UNK = { V_UNK, 0 };

static bool val_eq(struct val a, struct val b)
{
	return a.k == b.k && (a.k == V_UNK || a.k == V_CTX || a.v == b.v);
}

/* Join b into a; true when a changed. */
static bool join(struct state *a, const struct state *b)
{
	bool changed = false;
	int n = 0;

	if (!b->live)
		return false;
	if (!a->live) {
		*a = *b;
		return true;
	}
	for (int i = 0; i < MAX_BPF_REG; i++) {
		if (a->r[i].k != V_UNK && !val_eq(a->r[i], b->r[i])) {
			a->r[i] = UNK;
			changed = true;
		}
	}
	/* keep the slots both sides know alike */
	for (int i = 0; i < a->n; i++) {
		bool keep = false;

		for (int j = 0; j < b->n && !keep; j++)
			keep = a->s[i].off == b->s[j].off && a->s[i].size == b->s[j].size &&
			       val_eq(a->s[i].v, b->s[j].v);
		if (keep)
			a->s[n++] = a->s[i];
		else
			changed = true;
	}
	a->n = n;
	return changed;
}

/* Forget what the stack held from offset off upwards (a pointer there went out). */
static void stack_forget_from(struct state *st, __s64 off)
{
	int n = 0;

	for (int i = 0; i < st->n; i++)
		if (st->s[i].off + (__s64)st->s[i].size <= off)
			st->s[n++] = st->s[i];
	st->n = n;
}

static void stack_store(struct state *st, __s64 off, __u32 size, struct val v)
{
	int n = 0;

	for (int i = 0; i < st->n; i++)
		if (st->s[i].off + (__s64)st->s[i].size <= off || st->s[i].off >= off + (__s64)size)
			st->s[n++] = st->s[i];
	st->n = n;
	if (v.k != V_UNK && st->n < MAX_SLOTS)
		st->s[st->n++] = (struct slot){ off, size, v };
}

static struct val stack_load(const struct state *st, __s64 off, __u32 size)
{
	for (int i = 0; i < st->n; i++)
		if (st->s[i].off == off && st->s[i].size == size)
			return st->s[i].v;
	return UNK;
}

static __u32 size_bytes(__u8 code)
{
	switch (BPF_SIZE(code)) {
	case BPF_DW: return 8;
	case BPF_W: return 4;
	case BPF_H: return 2;
	default: return 1;
	}
}

/* dst op src for constants; false when the result is not known. */
static bool alu(__u8 op, bool is64, __u64 d, __u64 s, __u64 *out)
{
	if (!is64) {
		d = (__u32)d;
		s = (__u32)s;
	}
	switch (op) {
	case BPF_ADD: d += s; break;
	case BPF_SUB: d -= s; break;
	case BPF_MUL: d *= s; break;
	case BPF_DIV: d = s ? d / s : 0; break;	/* the BPF rule for 0 */
	case BPF_MOD: d = s ? d % s : d; break;
	case BPF_OR: d |= s; break;
	case BPF_AND: d &= s; break;
	case BPF_XOR: d ^= s; break;
	case BPF_LSH: d <<= s & (is64 ? 63 : 31); break;
	case BPF_RSH: d >>= s & (is64 ? 63 : 31); break;
	case BPF_ARSH:
		d = is64 ? (__u64)((__s64)d >> (s & 63)) : (__u32)((__s32)d >> (s & 31));
		break;
	case BPF_NEG: d = -d; break;
	default: return false;
	}
	*out = is64 ? d : (__u32)d;
	return true;
}

/* Does the jump go? -1: not known. */
static int cond(__u8 op, bool is64, __u64 d, __u64 s)
{
	__s64 sd, ss;

	if (!is64) {
		d = (__u32)d;
		s = (__u32)s;
		sd = (__s32)d;
		ss = (__s32)s;
	} else {
		sd = (__s64)d;
		ss = (__s64)s;
	}
	switch (op) {
	case BPF_JEQ: return d == s;
	case BPF_JNE: return d != s;
	case BPF_JGT: return d > s;
	case BPF_JGE: return d >= s;
	case BPF_JLT: return d < s;
	case BPF_JLE: return d <= s;
	case BPF_JSET: return (d & s) != 0;
	case BPF_JSGT: return sd > ss;
	case BPF_JSGE: return sd >= ss;
	case BPF_JSLT: return sd < ss;
	case BPF_JSLE: return sd <= ss;
	default: return -1;
	}
}

/* A call: r0-r5 are clobbered, and what a stack pointer argument points to may change. */
static void call_clobbers(struct state *st)
{
	__s64 low = 1;

	for (int i = BPF_REG_1; i <= BPF_REG_5; i++)
		if (st->r[i].k == V_STACK && (__s64)st->r[i].v < low)
			low = (__s64)st->r[i].v;
	if (low <= 0)
		stack_forget_from(st, low);
	for (int i = BPF_REG_0; i <= BPF_REG_5; i++)
		st->r[i] = UNK;
}

/*
 * The immediate an instruction has once relocated: the record's value
 * when it resolved, unknown when poisoned (the walk goes on past it, so
 * that every poisoned instruction is reported, not just the first).
 */
static bool relocated_imm(const struct core_sec *s, size_t i, const struct relo_res *res,
			  __u64 *imm)
{
	size_t rec = s->relo[i];

	if (rec == CORE_NONE)
		return true;
	if (res[rec].status != RELO_OK)
		return false;
	*imm = res[rec].val;
	return true;
}

/* Apply instruction i to st; fill the successors. Returns their count. */
static int step(const struct core_sec *s, size_t i, const struct relo_res *res,
		struct state *st, size_t succ[2], int *max_ctx_slot)
{
	const struct bpf_insn *in = &s->insns[i];
	__u8 class = BPF_CLASS(in->code), op = BPF_OP(in->code);
	struct val *dst = &st->r[in->dst_reg % MAX_BPF_REG];
	struct val src;
	__u64 imm = (__u64)(__s64)in->imm;

	succ[0] = i + 1;
	switch (class) {
	case BPF_ALU:
	case BPF_ALU64: {
		bool is64 = class == BPF_ALU64, known = relocated_imm(s, i, res, &imm);
		__u64 out;

		src = BPF_SRC(in->code) == BPF_X ? st->r[in->src_reg % MAX_BPF_REG] :
		      known ? (struct val){ V_CONST, imm } : UNK;
		if (op == BPF_MOV && !in->off) {
			if (is64 || src.k == V_CONST)
				*dst = src.k == V_CONST && !is64 ?
				       (struct val){ V_CONST, (__u32)src.v } : src;
			else
				*dst = UNK;
		} else if (op == BPF_END || in->off) {
			*dst = UNK;	/* byte swaps, signed division, sign-extending moves */
		} else if (dst->k == V_STACK && is64 && src.k == V_CONST &&
			   (op == BPF_ADD || op == BPF_SUB)) {
			dst->v = op == BPF_ADD ? dst->v + src.v : dst->v - src.v;
		} else if (dst->k == V_CONST && (op == BPF_NEG || src.k == V_CONST) &&
			   alu(op, is64, dst->v, src.v, &out)) {
			dst->v = out;
		} else {
			*dst = UNK;
		}
		return 1;
	}
	case BPF_LD:
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW)) {
			succ[0] = i + 2;
			imm = (__u64)(__u32)in->imm |
			      (i + 1 < s->n_insns ? (__u64)(__u32)in[1].imm << 32 : 0);
			/* a map, a global or a callback: an address, no constant */
			if (in->src_reg || s->elf_rel[i] || !relocated_imm(s, i, res, &imm))
				*dst = UNK;
			else
				*dst = (struct val){ V_CONST, imm };
			return 1;
		}
		call_clobbers(st);	/* legacy packet loads */
		return 1;
	case BPF_LDX: {
		struct val base = st->r[in->src_reg % MAX_BPF_REG];

		if (BPF_MODE(in->code) == BPF_MEM && base.k == V_STACK)
			*dst = stack_load(st, (__s64)base.v + in->off, size_bytes(in->code));
		else
			*dst = UNK;
		if (base.k == V_CTX && in->off >= 0 && in->off / 8 > *max_ctx_slot)
			*max_ctx_slot = in->off / 8;
		return 1;
	}
	case BPF_ST:
	case BPF_STX: {
		struct val base = *dst;
		__u32 size;

		src = class == BPF_ST ? (struct val){ V_CONST, imm } :
					st->r[in->src_reg % MAX_BPF_REG];
		if (BPF_MODE(in->code) == BPF_ATOMIC) {
			/* fetching atomics write the old value back to a register */
			if (in->imm & BPF_FETCH)
				st->r[in->imm == BPF_CMPXCHG ? BPF_REG_0 : in->src_reg % MAX_BPF_REG] = UNK;
			src = UNK;
		}
		if (base.k != V_STACK)
			return 1;	/* memory other than the stack is not followed */
		size = size_bytes(in->code);
		/* a narrow store keeps a constant's low bytes, and no address */
		if (size < 8)
			src = src.k == V_CONST ?
			      (struct val){ V_CONST, src.v & ((1ULL << (size * 8)) - 1) } : UNK;
		stack_store(st, (__s64)base.v + in->off, size, src);
		return 1;
	}
	case BPF_JMP:
	case BPF_JMP32: {
		bool is64 = class == BPF_JMP;
		int go;

		if (op == BPF_EXIT && class == BPF_JMP)
			return 0;
		if (op == BPF_CALL && class == BPF_JMP) {
			call_clobbers(st);
			return 1;
		}
		if (op == BPF_JA) {
			succ[0] = i + 1 + (class == BPF_JMP ? in->off : in->imm);
			return 1;
		}
		src = BPF_SRC(in->code) == BPF_X ? st->r[in->src_reg % MAX_BPF_REG] :
						   (struct val){ V_CONST, imm };
		succ[1] = i + 1 + in->off;
		go = dst->k == V_CONST && src.k == V_CONST ? cond(op, is64, dst->v, src.v) : -1;
		if (go < 0)
			return 2;
		succ[0] = go ? succ[1] : i + 1;
		return 1;
	}
	default:
		call_clobbers(st);
		return 1;
	}
}

int flow_walk(const struct core_obj *o, size_t func, const struct relo_res *res,
	      struct flow_fn *out)
{
	const struct core_func *f = &o->funcs[func];
	const struct core_sec *s = &o->secs[f->sec];
	size_t n = f->end - f->start, *work, top = 0;
	struct state *in, cur;
	bool *queued;

	out->max_ctx_slot = -1;
	out->reach = calloc(n ? n : 1, sizeof(*out->reach));
	in = calloc(n ? n : 1, sizeof(*in));
	work = calloc(n ? n : 1, sizeof(*work));
	queued = calloc(n ? n : 1, sizeof(*queued));
	if (!out->reach || !in || !work || !queued) {
		free(in);
		free(work);
		free(queued);
		return -ENOMEM;
	}
	if (n) {
		in[0].live = true;
		in[0].r[BPF_REG_10] = (struct val){ V_STACK, 0 };
		if (f->prog)
			in[0].r[BPF_REG_1] = (struct val){ V_CTX, 0 };
		work[top++] = 0;
		queued[0] = true;
	}
	while (top) {
		size_t i = work[--top], succ[2];
		int ns;

		queued[i] = false;
		out->reach[i] = true;
		cur = in[i];
		ns = step(s, f->start + i, res, &cur, succ, &out->max_ctx_slot);
		for (int k = 0; k < ns; k++) {
			size_t j = succ[k] - f->start;

			/* a jump out of the function (malformed): nothing to follow */
			if (succ[k] < f->start || j >= n)
				continue;
			if (join(&in[j], &cur) && !queued[j]) {
				queued[j] = true;
				work[top++] = j;
			}
		}
	}
	free(in);
	free(work);
	free(queued);
	return 0;
}

void flow_fn_free(struct flow_fn *f)
{
	free(f->reach);
	f->reach = NULL;
}
