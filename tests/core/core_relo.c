// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CO-RE relocation, as libbpf 1.1 performs it at load time, but against any
 * kernel's BTF and without loading anything. The rules (relo_core.c and
 * libbpf.c's candidate search) in short:
 *
 * - Candidates for a local type are the kernel's types of a compatible kind
 *   (enum and enum64 are one) whose "essential" name, the name without a
 *   ___flavour suffix, is the local one's. libbpf keeps, per local type and
 *   per load, the candidates that matched so far: later relocations of the
 *   same type see only those.
 * - A field access string "0:1:2" is an index on the root pointer, then
 *   member (or array element) indexes in the local type. Named members are
 *   looked up by name in the candidate, searching anonymous structs and
 *   unions recursively; the field types must be compatible (structs and
 *   unions match each other; ints ignore size and sign; pointers match any
 *   pointer; enums and forward declarations compare essential names;
 *   arrays compare element types).
 * - Several matching candidates must agree on the offset and the value,
 *   else the object fails to load. No matching candidate makes an existence
 *   check 0 (and a type size or type id 0); any other relocation poisons
 *   its instruction, which the verifier rejects only if it is reachable.
 * - A load or store whose field changed size is resized only for unsigned
 *   integers and pointers; otherwise the instruction is poisoned too.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core_relo.h"

#define SPEC_MAX	64	/* libbpf's BPF_CORE_SPEC_MAX_LEN */

/* A turning point of an access: a named member, or an array index. */
struct access {
	__u32 type_id;		/* the composite holding the member, or the element type */
	__u32 idx;
	const char *name;	/* NULL for an array index */
};

struct spec {
	const struct btf *btf;
	__u32 root_id;
	struct access acc[SPEC_MAX];
	int len;
	__u32 raw[SPEC_MAX];	/* every step, anonymous members included */
	int raw_len;
	__u32 bit_off;
};

/* Why the deepest candidate did not match, for the report. */
struct miss {
	int depth;
	char why[192];
};

struct cands {
	__u32 *ids;
	size_t n;
	bool known;
};

struct core_target {
	const struct btf *local;
	const struct btf *kernel;
	struct cands *cache;	/* by local type id */
	size_t n_cache;
};

/* What one candidate (or none) makes of a relocation. */
struct calc {
	__u64 orig, new;
	bool poison;
	bool validate;		/* the instruction must hold orig already */
	bool bad_resize;	/* a load/store of this field cannot be resized */
	__u32 orig_sz, new_sz;
	__u32 orig_tid, new_tid;
};

static bool is_field_kind(__u32 k)
{
	return k <= BPF_CORE_FIELD_RSHIFT_U64;
}

static bool is_type_kind(__u32 k)
{
	return k == BPF_CORE_TYPE_ID_LOCAL || k == BPF_CORE_TYPE_ID_TARGET ||
	       k == BPF_CORE_TYPE_EXISTS || k == BPF_CORE_TYPE_SIZE ||
	       k == BPF_CORE_TYPE_MATCHES;
}

static bool is_enum_kind(__u32 k)
{
	return k == BPF_CORE_ENUMVAL_EXISTS || k == BPF_CORE_ENUMVAL_VALUE;
}

bool core_relo_is_check(__u32 k)
{
	return k == BPF_CORE_FIELD_EXISTS || k == BPF_CORE_TYPE_EXISTS ||
	       k == BPF_CORE_ENUMVAL_EXISTS || k == BPF_CORE_TYPE_MATCHES;
}

const char *core_relo_kind_name(__u32 k)
{
	static const char *const names[] = {
		[BPF_CORE_FIELD_BYTE_OFFSET] = "byte_off",
		[BPF_CORE_FIELD_BYTE_SIZE] = "byte_sz",
		[BPF_CORE_FIELD_EXISTS] = "field_exists",
		[BPF_CORE_FIELD_SIGNED] = "signed",
		[BPF_CORE_FIELD_LSHIFT_U64] = "lshift_u64",
		[BPF_CORE_FIELD_RSHIFT_U64] = "rshift_u64",
		[BPF_CORE_TYPE_ID_LOCAL] = "local_type_id",
		[BPF_CORE_TYPE_ID_TARGET] = "target_type_id",
		[BPF_CORE_TYPE_EXISTS] = "type_exists",
		[BPF_CORE_TYPE_SIZE] = "type_size",
		[BPF_CORE_ENUMVAL_EXISTS] = "enumval_exists",
		[BPF_CORE_ENUMVAL_VALUE] = "enumval_value",
		[BPF_CORE_TYPE_MATCHES] = "type_matches",
	};

	return k < sizeof(names) / sizeof(names[0]) && names[k] ? names[k] : "unknown";
}

static const char *kind_word(const struct btf_type *t)
{
	switch (btf_kind(t)) {
	case BTF_KIND_STRUCT: return "struct";
	case BTF_KIND_UNION: return "union";
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64: return "enum";
	case BTF_KIND_TYPEDEF: return "typedef";
	case BTF_KIND_FWD: return btf_kflag(t) ? "union" : "struct";
	case BTF_KIND_INT: return "int";
	case BTF_KIND_PTR: return "pointer";
	case BTF_KIND_ARRAY: return "array";
	case BTF_KIND_FUNC_PROTO: return "function";
	default: return "type";
	}
}

static const char *name_of(const struct btf *btf, const struct btf_type *t)
{
	const char *n = btf__name_by_offset(btf, t->name_off);

	return n && *n ? n : "(anon)";
}

static void say(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* Past const/volatile/restrict/type tags and typedefs. */
static const struct btf_type *skip_mods(const struct btf *btf, __u32 id, __u32 *res)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (res)
		*res = id;
	return t;
}

/* The length of a name without its ___flavour: "sock___old" -> 4. */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = n >= 4 ? n - 4 : 0; i > 0; i--)
		if (!strncmp(name + i, "___", 3) && name[i - 1] != '_' &&
		    name[i + 3] && name[i + 3] != '_')
			return i;
	return n;
}

static bool essential_eq(const char *a, const char *b)
{
	size_t la = essential_len(a), lb = essential_len(b);

	return la == lb && !strncmp(a, b, la);
}

/* A zero-length array as the last member of its struct may be indexed freely. */
static bool is_flex(const struct btf *btf, const struct access *holder,
		    const struct btf_array *a)
{
	const struct btf_type *t;

	if (!holder->name || a->nelems)
		return false;
	t = btf__type_by_id(btf, holder->type_id);
	return holder->idx == btf_vlen(t) - 1u;
}

static const char *enumerator(const struct btf *btf, const struct btf_type *t, __u32 i)
{
	__u32 off = btf_is_enum(t) ? btf_enum(t)[i].name_off : btf_enum64(t)[i].name_off;

	return btf__name_by_offset(btf, off);
}

/* Turn a record into its access: every step, and the named turning points. */
static int parse_spec(const struct btf *btf, const struct bpf_core_relo *r, struct spec *s)
{
	const char *str = btf__name_by_offset(btf, r->access_str_off);
	const struct btf_type *t;
	__u32 id;
	__s64 sz;

	memset(s, 0, sizeof(*s));
	s->btf = btf;
	s->root_id = r->type_id;
	if (!str || !*str || *str == ':')
		return -EINVAL;
	if (is_type_kind(r->kind))
		return strcmp(str, "0") ? -EINVAL : 0;
	while (*str) {
		char *end;

		if (*str == ':')
			str++;
		if (!isdigit((unsigned char)*str))
			return -EINVAL;
		if (s->raw_len == SPEC_MAX)
			return -E2BIG;
		s->raw[s->raw_len++] = strtoul(str, &end, 10);
		str = end;
	}
	t = skip_mods(btf, r->type_id, &id);
	if (!t || !s->raw_len)
		return -EINVAL;
	s->acc[0] = (struct access){ .type_id = id, .idx = s->raw[0] };
	s->len = 1;
	if (is_enum_kind(r->kind)) {
		if (!btf_is_any_enum(t) || s->raw_len > 1 || s->raw[0] >= btf_vlen(t))
			return -EINVAL;
		s->acc[0].name = enumerator(btf, t, s->raw[0]);
		return 0;
	}
	if (!is_field_kind(r->kind))
		return -EINVAL;
	sz = btf__resolve_size(btf, id);
	if (sz < 0)
		return (int)sz;
	s->bit_off = s->raw[0] * sz * 8;
	for (int i = 1; i < s->raw_len; i++) {
		__u32 idx = s->raw[i];

		t = skip_mods(btf, id, &id);
		if (!t)
			return -EINVAL;
		if (btf_is_composite(t)) {
			const struct btf_member *m = btf_members(t) + idx;

			if (idx >= btf_vlen(t))
				return -EINVAL;
			s->bit_off += btf_member_bit_offset(t, idx);
			if (m->name_off) {
				s->acc[s->len++] = (struct access){
					.type_id = id, .idx = idx,
					.name = btf__name_by_offset(btf, m->name_off),
				};
			}
			id = m->type;
		} else if (btf_is_array(t)) {
			const struct btf_array *a = btf_array(t);
			bool flex = is_flex(btf, &s->acc[s->len - 1], a);

			if (!skip_mods(btf, a->type, &id) || (!flex && idx >= a->nelems))
				return -EINVAL;
			s->acc[s->len++] = (struct access){ .type_id = id, .idx = idx };
			sz = btf__resolve_size(btf, id);
			if (sz < 0)
				return (int)sz;
			s->bit_off += idx * sz * 8;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

/* Can a field of local type lid be read as the kernel's field of type tid? */
static int fields_compat(const struct btf *lb, __u32 lid, const struct btf *tb, __u32 tid)
{
	for (int depth = 0; depth < 32; depth++) {
		const struct btf_type *l = skip_mods(lb, lid, &lid);
		const struct btf_type *t = skip_mods(tb, tid, &tid);

		if (!l || !t)
			return -EINVAL;
		if (btf_is_composite(l) && btf_is_composite(t))
			return 1;
		if (!btf_kind_core_compat(l, t))
			return 0;
		switch (btf_kind(l)) {
		case BTF_KIND_PTR:
		case BTF_KIND_FLOAT:
			return 1;
		case BTF_KIND_FWD:
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64: {
			const char *ln = btf__name_by_offset(lb, l->name_off);
			const char *tn = btf__name_by_offset(tb, t->name_off);

			/* either anonymous, or the same essential name */
			return !*ln || !*tn || essential_eq(ln, tn);
		}
		case BTF_KIND_INT:
			/* size and sign may differ; old bitfield-style ints may not */
			return btf_int_offset(l) == 0 && btf_int_offset(t) == 0;
		case BTF_KIND_ARRAY:
			lid = btf_array(l)->type;
			tid = btf_array(t)->type;
			continue;
		default:
			return 0;
		}
	}
	return -EINVAL;
}

/* Type compatibility for type-based relocations (the root names matched). */
static int types_compat(const struct btf *lb, __u32 lid, const struct btf *tb, __u32 tid,
			int level)
{
	const struct btf_type *l = btf__type_by_id(lb, lid), *t = btf__type_by_id(tb, tid);

	if (!l || !t || !btf_kind_core_compat(l, t))
		return 0;
	for (int depth = 0; depth < 32; depth++) {
		l = skip_mods(lb, lid, &lid);
		t = skip_mods(tb, tid, &tid);
		if (!l || !t)
			return -EINVAL;
		if (!btf_kind_core_compat(l, t))
			return 0;
		switch (btf_kind(l)) {
		case BTF_KIND_UNKN:
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64:
		case BTF_KIND_FWD:
			return 1;
		case BTF_KIND_INT:
			return btf_int_offset(l) == 0 && btf_int_offset(t) == 0;
		case BTF_KIND_PTR:
			lid = l->type;
			tid = t->type;
			continue;
		case BTF_KIND_ARRAY:
			lid = btf_array(l)->type;
			tid = btf_array(t)->type;
			continue;
		case BTF_KIND_FUNC_PROTO: {
			const struct btf_param *lp = btf_params(l), *tp = btf_params(t);

			if (btf_vlen(l) != btf_vlen(t))
				return 0;
			for (__u32 i = 0; i < btf_vlen(l); i++) {
				__u32 a, b;
				int ok;

				if (level <= 0)
					return -EINVAL;
				skip_mods(lb, lp[i].type, &a);
				skip_mods(tb, tp[i].type, &b);
				ok = types_compat(lb, a, tb, b, level - 1);
				if (ok <= 0)
					return ok;
			}
			lid = l->type;
			tid = t->type;
			continue;
		}
		default:
			return 0;
		}
	}
	return -EINVAL;
}

static bool names_match(const struct btf *lb, __u32 loff, const struct btf *tb, __u32 toff)
{
	const char *l = btf__name_by_offset(lb, loff), *t = btf__name_by_offset(tb, toff);

	if (!t || !*t)
		return !l || !*l;
	return l && essential_eq(l, t);
}

/* bpf_core_type_matches(): the stricter test (libbpf 1.0+). */
static int types_match(const struct btf *lb, __u32 lid, const struct btf *tb, __u32 tid,
		       bool behind_ptr, int level)
{
	if (level <= 0)
		return -EINVAL;
	for (int depth = 0; depth < 32; depth++) {
		const struct btf_type *l = skip_mods(lb, lid, &lid);
		const struct btf_type *t = skip_mods(tb, tid, &tid);
		__u16 lk, tk;

		if (!l || !t)
			return -EINVAL;
		if (!names_match(lb, l->name_off, tb, t->name_off))
			return 0;
		lk = btf_kind(l);
		tk = btf_kind(t);
		switch (lk) {
		case BTF_KIND_UNKN:
			return lk == tk;
		case BTF_KIND_FWD:
			if (lk == tk)
				return btf_kflag(l) == btf_kflag(t);
			/* a declaration behind a pointer matches the definition */
			return behind_ptr && ((tk == BTF_KIND_STRUCT && !btf_kflag(l)) ||
					      (tk == BTF_KIND_UNION && btf_kflag(l)));
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64:
			if (!btf_is_any_enum(t) || l->size != t->size || btf_vlen(l) > btf_vlen(t))
				return 0;
			for (__u32 i = 0; i < btf_vlen(l); i++) {
				__u32 lo = btf_is_enum(l) ? btf_enum(l)[i].name_off :
							   btf_enum64(l)[i].name_off;
				bool found = false;

				for (__u32 j = 0; j < btf_vlen(t) && !found; j++)
					found = names_match(lb, lo, tb, btf_is_enum(t) ?
							    btf_enum(t)[j].name_off :
							    btf_enum64(t)[j].name_off);
				if (!found)
					return 0;
			}
			return 1;
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
			if (behind_ptr)
				return lk == tk || (tk == BTF_KIND_FWD &&
						    (lk == BTF_KIND_UNION) == btf_kflag(t));
			if (lk != tk || btf_vlen(l) > btf_vlen(t))
				return 0;
			for (__u32 i = 0; i < btf_vlen(l); i++) {
				const struct btf_member *lm = btf_members(l) + i;
				int found = 0;

				for (__u32 j = 0; j < btf_vlen(t) && !found; j++) {
					const struct btf_member *tm = btf_members(t) + j;

					if (!names_match(lb, lm->name_off, tb, tm->name_off))
						continue;
					found = types_match(lb, lm->type, tb, tm->type, false, level - 1);
					if (found < 0)
						return found;
				}
				if (!found)
					return 0;
			}
			return 1;
		case BTF_KIND_INT:
			return lk == tk && l->size == t->size &&
			       (btf_int_encoding(l) & BTF_INT_SIGNED) ==
			       (btf_int_encoding(t) & BTF_INT_SIGNED);
		case BTF_KIND_PTR:
			if (lk != tk)
				return 0;
			behind_ptr = true;
			lid = l->type;
			tid = t->type;
			continue;
		case BTF_KIND_ARRAY:
			if (lk != tk || btf_array(l)->nelems != btf_array(t)->nelems)
				return 0;
			lid = btf_array(l)->type;
			tid = btf_array(t)->type;
			continue;
		case BTF_KIND_FUNC_PROTO:
			if (lk != tk || btf_vlen(l) != btf_vlen(t))
				return 0;
			for (__u32 i = 0; i < btf_vlen(l); i++) {
				int ok = types_match(lb, btf_params(l)[i].type, tb,
						     btf_params(t)[i].type, behind_ptr, level - 1);

				if (ok <= 0)
					return ok;
			}
			lid = l->type;
			tid = t->type;
			continue;
		default:
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * Find the local accessor's member in kernel type tid, descending into
 * anonymous members; extends the kernel spec as it goes. 1: found and
 * compatible; 0: not there, or there with an incompatible type (*clash).
 */
static int match_member(const struct spec *ls, const struct access *la,
			const struct btf *tb, __u32 tid, struct spec *ts, __u32 *next,
			bool *clash)
{
	const struct btf_type *t = skip_mods(tb, tid, &tid), *lt;
	const struct btf_member *lm, *m;

	if (!t)
		return -EINVAL;
	if (!btf_is_composite(t))
		return 0;
	lt = btf__type_by_id(ls->btf, la->type_id);
	lm = btf_members(lt) + la->idx;
	m = btf_members(t);
	for (__u32 i = 0; i < btf_vlen(t); i++, m++) {
		__u32 off = btf_member_bit_offset(t, i);
		const char *name = btf__name_by_offset(tb, m->name_off);
		int found;

		if (ts->raw_len == SPEC_MAX)
			return -E2BIG;
		ts->bit_off += off;
		ts->raw[ts->raw_len++] = i;
		if (!name || !*name) {
			found = match_member(ls, la, tb, m->type, ts, next, clash);
			if (found)
				return found;
		} else if (!strcmp(name, la->name)) {
			ts->acc[ts->len++] = (struct access){ .type_id = tid, .idx = i, .name = name };
			*next = m->type;
			found = fields_compat(ls->btf, lm->type, tb, m->type);
			if (!found) {
				ts->len--;
				*clash = true;
			}
			return found;
		}
		ts->bit_off -= off;
		ts->raw_len--;
	}
	return 0;
}

/* Does kernel type tid hold what the local spec accesses? 1 yes, 0 no, <0 error. */
static int spec_match(const struct spec *ls, __u32 kind, const struct btf *tb, __u32 tid,
		      struct spec *ts, struct miss *miss)
{
	const struct btf_type *t;
	char why[sizeof(miss->why)];
	int depth = 0, ok;

	memset(ts, 0, sizeof(*ts));
	ts->btf = tb;
	ts->root_id = tid;
	t = btf__type_by_id(tb, tid);
	if (is_type_kind(kind)) {
		ok = kind == BPF_CORE_TYPE_MATCHES ?
		     types_match(ls->btf, ls->root_id, tb, tid, false, 32) :
		     types_compat(ls->btf, ls->root_id, tb, tid, 32);
		say(why, sizeof(why), "the kernel's %s %s %s", kind_word(t), name_of(tb, t),
		    kind == BPF_CORE_TYPE_MATCHES ? "does not match the local definition" :
						    "is not compatible");
		goto out;
	}
	if (is_enum_kind(kind)) {
		t = skip_mods(tb, tid, &tid);
		ok = 0;
		for (__u32 i = 0; t && btf_is_any_enum(t) && i < btf_vlen(t) && !ok; i++) {
			if (!essential_eq(ls->acc[0].name, enumerator(tb, t, i)))
				continue;
			ts->acc[0] = (struct access){ .type_id = tid, .idx = i,
						      .name = enumerator(tb, t, i) };
			ts->len = 1;
			ts->raw[ts->raw_len++] = i;
			ok = 1;
		}
		say(why, sizeof(why), "the kernel's enum %s has no value %s",
		    t ? name_of(tb, t) : "?", ls->acc[0].name);
		goto out;
	}
	for (depth = 0; depth < ls->len; depth++) {
		const struct access *la = &ls->acc[depth];
		__s64 sz;

		t = skip_mods(tb, tid, &tid);
		if (!t)
			return -EINVAL;
		if (la->name) {
			bool clash = false;

			ok = match_member(ls, la, tb, tid, ts, &tid, &clash);
			if (ok <= 0) {
				say(why, sizeof(why), clash ?
				    "the kernel's %s %s has field %s with an incompatible type" :
				    "the kernel's %s %s has no field %s",
				    kind_word(t), name_of(tb, t), la->name);
				goto out;
			}
			continue;
		}
		/* An index: the root's [0], or an array element. */
		if (depth > 0) {
			const struct btf_array *a;

			ok = 0;
			if (!btf_is_array(t)) {
				say(why, sizeof(why), "%s is no array in the kernel",
				    ls->acc[depth - 1].name ?: "the field");
				goto out;
			}
			a = btf_array(t);
			if (!is_flex(tb, &ts->acc[ts->len - 1], a) && la->idx >= a->nelems) {
				say(why, sizeof(why), "index %u is past the kernel's %u elements",
				    la->idx, a->nelems);
				goto out;
			}
			if (!skip_mods(tb, a->type, &tid))
				return -EINVAL;
		}
		if (ts->raw_len == SPEC_MAX)
			return -E2BIG;
		ts->acc[ts->len++] = (struct access){ .type_id = tid, .idx = la->idx };
		ts->raw[ts->raw_len++] = la->idx;
		sz = btf__resolve_size(tb, tid);
		if (sz < 0)
			return (int)sz;
		ts->bit_off += la->idx * sz * 8;
	}
	return 1;
out:
	if (ok == 0 && depth > miss->depth) {
		miss->depth = depth;
		memcpy(miss->why, why, sizeof(why));
	}
	return ok;
}

/* A field relocation's value for one spec (NULL: nothing matched). */
static int calc_field(__u32 kind, const struct spec *s, __u64 *val, __u32 *field_sz,
		      __u32 *type_id, bool *validate)
{
	const struct access *acc;
	const struct btf_type *t, *mt;
	const struct btf_member *m;
	__u32 byte_off, byte_sz, bit_off, bit_sz, ftid, elem;
	bool bitfield;
	__s64 sz;

	*field_sz = 0;
	if (kind == BPF_CORE_FIELD_EXISTS) {
		*val = s != NULL;
		return 0;
	}
	if (!s)
		return -EUCLEAN;	/* poison */
	acc = &s->acc[s->len - 1];
	t = btf__type_by_id(s->btf, acc->type_id);
	if (!acc->name) {
		/* &p[n] or &a[n]: the element's offset or the whole size */
		if (kind == BPF_CORE_FIELD_BYTE_OFFSET) {
			*val = s->bit_off / 8;
			t = skip_mods(s->btf, acc->type_id, &elem);
			while (t && btf_is_array(t))
				t = skip_mods(s->btf, btf_array(t)->type, &elem);
			sz = btf__resolve_size(s->btf, elem);
			if (sz < 0)
				return -EINVAL;
			*field_sz = sz;
			*type_id = acc->type_id;
		} else if (kind == BPF_CORE_FIELD_BYTE_SIZE) {
			sz = btf__resolve_size(s->btf, acc->type_id);
			if (sz < 0)
				return -EINVAL;
			*val = sz;
		} else {
			return -EINVAL;
		}
		if (validate)
			*validate = true;
		return 0;
	}
	m = btf_members(t) + acc->idx;
	mt = skip_mods(s->btf, m->type, &ftid);
	bit_off = s->bit_off;
	bit_sz = btf_member_bitfield_size(t, acc->idx);
	bitfield = bit_sz > 0;
	if (bitfield) {
		/* the smallest aligned load that covers the bits */
		byte_sz = mt->size;
		byte_off = bit_off / 8 / byte_sz * byte_sz;
		while (bit_off + bit_sz - byte_off * 8 > byte_sz * 8) {
			if (byte_sz >= 8)
				return -E2BIG;
			byte_sz *= 2;
			byte_off = bit_off / 8 / byte_sz * byte_sz;
		}
	} else {
		sz = btf__resolve_size(s->btf, ftid);
		if (sz < 0)
			return -EINVAL;
		byte_sz = sz;
		byte_off = bit_off / 8;
		bit_sz = byte_sz * 8;
	}
	/* The compiler's guess at a bitfield is not checked, except its sign and shift. */
	if (validate)
		*validate = !bitfield || kind == BPF_CORE_FIELD_SIGNED ||
			    kind == BPF_CORE_FIELD_RSHIFT_U64;
	switch (kind) {
	case BPF_CORE_FIELD_BYTE_OFFSET:
		*val = byte_off;
		if (!bitfield) {
			t = skip_mods(s->btf, ftid, &elem);
			while (t && btf_is_array(t))
				t = skip_mods(s->btf, btf_array(t)->type, &elem);
			sz = btf__resolve_size(s->btf, elem);
			if (sz < 0)
				return -EINVAL;
			*field_sz = sz;
			*type_id = ftid;
		}
		return 0;
	case BPF_CORE_FIELD_BYTE_SIZE:
		*val = byte_sz;
		return 0;
	case BPF_CORE_FIELD_SIGNED:
		*val = (btf_is_any_enum(mt) && btf_kflag(mt)) ||
		       (btf_is_int(mt) && (btf_int_encoding(mt) & BTF_INT_SIGNED));
		return 0;
	case BPF_CORE_FIELD_LSHIFT_U64:
		*val = 64 - (bit_off + bit_sz - byte_off * 8);	/* little endian */
		return 0;
	case BPF_CORE_FIELD_RSHIFT_U64:
		*val = 64 - bit_sz;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int calc_type(__u32 kind, const struct spec *s, __u64 *val, bool *validate)
{
	__s64 sz;

	if (validate)
		*validate = kind != BPF_CORE_TYPE_ID_TARGET;	/* ids move when linking */
	if (!s) {
		*val = 0;	/* every type-based relocation is 0 for a missing type */
		return 0;
	}
	switch (kind) {
	case BPF_CORE_TYPE_ID_TARGET:
		*val = s->root_id;
		return 0;
	case BPF_CORE_TYPE_EXISTS:
	case BPF_CORE_TYPE_MATCHES:
		*val = 1;
		return 0;
	case BPF_CORE_TYPE_SIZE:
		sz = btf__resolve_size(s->btf, s->root_id);
		if (sz < 0)
			return -EINVAL;
		*val = sz;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int calc_enum(__u32 kind, const struct spec *s, __u64 *val)
{
	const struct btf_type *t;

	if (kind == BPF_CORE_ENUMVAL_EXISTS) {
		*val = s != NULL;
		return 0;
	}
	if (!s)
		return -EUCLEAN;
	t = btf__type_by_id(s->btf, s->acc[0].type_id);
	*val = btf_is_enum(t) ? (__u64)(__s64)btf_enum(t)[s->acc[0].idx].val :
				btf_enum64_value(btf_enum64(t) + s->acc[0].idx);
	return 0;
}

/* Original and kernel values of one relocation, for one candidate or none. */
static int calc(__u32 kind, const struct spec *ls, const struct spec *ts, struct calc *c)
{
	int err = -EOPNOTSUPP;

	memset(c, 0, sizeof(*c));
	c->validate = true;
	if (is_field_kind(kind)) {
		err = calc_field(kind, ls, &c->orig, &c->orig_sz, &c->orig_tid, &c->validate);
		if (!err)
			err = calc_field(kind, ts, &c->new, &c->new_sz, &c->new_tid, NULL);
		if (!err && c->orig_sz != c->new_sz) {
			const struct btf_type *o = btf__type_by_id(ls->btf, c->orig_tid);
			const struct btf_type *n = btf__type_by_id(ts->btf, c->new_tid);

			/* zero extension keeps pointers and unsigned integers right */
			c->bad_resize = !(btf_is_ptr(o) && btf_is_ptr(n)) &&
					!(btf_is_int(o) && btf_is_int(n) &&
					  btf_int_encoding(o) != BTF_INT_SIGNED &&
					  btf_int_encoding(n) != BTF_INT_SIGNED);
		}
	} else if (is_type_kind(kind)) {
		err = calc_type(kind, ls, &c->orig, &c->validate);
		if (!err)
			err = calc_type(kind, ts, &c->new, NULL);
	} else if (is_enum_kind(kind)) {
		err = calc_enum(kind, ls, &c->orig);
		if (!err)
			err = calc_enum(kind, ts, &c->new);
	}
	if (err == -EUCLEAN) {
		c->poison = true;
		err = 0;
	}
	return err;
}

static int bpf_size_bytes(const struct bpf_insn *insn)
{
	switch (BPF_SIZE(insn->code)) {
	case BPF_DW: return 8;
	case BPF_W: return 4;
	case BPF_H: return 2;
	default: return 1;
	}
}

/* What patching the instruction makes of the result (libbpf's bpf_core_patch_insn). */
static void patch(const struct bpf_insn *insn, const struct calc *c, const char *path,
		  struct relo_res *res)
{
	__u8 class = BPF_CLASS(insn->code);

	if (c->poison) {
		res->status = RELO_POISON;
		return;
	}
	res->status = RELO_OK;
	res->val = c->new;
	switch (class) {
	case BPF_ALU:
	case BPF_ALU64:
		if (BPF_SRC(insn->code) != BPF_K)
			goto bad_insn;
		if (c->validate && (__u64)(__u32)insn->imm != (c->orig & 0xffffffffULL))
			goto bad_value;
		return;
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX:
		if (c->validate && (__u64)insn->off != c->orig)
			goto bad_value;
		if (c->new > SHRT_MAX) {
			res->status = RELO_ERROR;
			say(res->why, sizeof(res->why), "%s is at offset %llu: too far for an instruction",
			    path, (unsigned long long)c->new);
			return;
		}
		if (c->bad_resize) {
			res->status = RELO_POISON;
			say(res->why, sizeof(res->why),
			    "%s is %u bytes in the kernel, %u in the object, and not an unsigned "
			    "integer or pointer: the load cannot be resized", path, c->new_sz, c->orig_sz);
			return;
		}
		if (c->new_sz != c->orig_sz &&
		    (bpf_size_bytes(insn) != (int)c->orig_sz ||
		     (c->new_sz != 1 && c->new_sz != 2 && c->new_sz != 4 && c->new_sz != 8))) {
			res->status = RELO_ERROR;
			say(res->why, sizeof(res->why), "%s: a %d-byte access cannot become %u bytes",
			    path, bpf_size_bytes(insn), c->new_sz);
		}
		return;
	case BPF_LD:
		if (insn->code != (BPF_LD | BPF_IMM | BPF_DW) || insn->src_reg || insn->off ||
		    insn[1].code || insn[1].src_reg || insn[1].dst_reg || insn[1].off)
			goto bad_insn;
		if (c->validate &&
		    ((__u64)(__u32)insn[0].imm | ((__u64)(__u32)insn[1].imm << 32)) != c->orig)
			goto bad_value;
		return;
	default:
		goto bad_insn;
	}
bad_insn:
	res->status = RELO_ERROR;
	say(res->why, sizeof(res->why), "%s: relocation on an instruction libbpf cannot patch "
	    "(code 0x%02x)", path, insn->code);
	return;
bad_value:
	res->status = RELO_ERROR;
	say(res->why, sizeof(res->why), "%s: the instruction does not hold the value the object's "
	    "BTF gives (%llu): libbpf refuses it", path, (unsigned long long)c->orig);
}

static struct cands *cands_of(struct core_target *t, __u32 local_id)
{
	const struct btf_type *lt = btf__type_by_id(t->local, local_id), *kt;
	const char *lname = btf__name_by_offset(t->local, lt->name_off);
	struct cands *c = &t->cache[local_id];
	__u32 n = btf__type_cnt(t->kernel);
	size_t cap = 0;

	if (c->known)
		return c;
	c->known = true;
	for (__u32 id = 1; id < n; id++) {
		const char *name;

		kt = btf__type_by_id(t->kernel, id);
		if (!btf_kind_core_compat(kt, lt))
			continue;
		name = btf__name_by_offset(t->kernel, kt->name_off);
		if (!name || !*name || !essential_eq(lname, name))
			continue;
		if (c->n == cap) {
			__u32 *ids = realloc(c->ids, (cap = cap ? cap * 2 : 4) * sizeof(*ids));

			if (!ids) {
				perror("core_check");
				exit(1);
			}
			c->ids = ids;
		}
		c->ids[c->n++] = id;
	}
	return c;
}

struct core_target *core_target_new(const struct btf *local, const struct btf *kernel)
{
	struct core_target *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->local = local;
	t->kernel = kernel;
	t->n_cache = btf__type_cnt(local);
	t->cache = calloc(t->n_cache, sizeof(*t->cache));
	if (!t->cache) {
		free(t);
		return NULL;
	}
	return t;
}

void core_target_reset(struct core_target *t)
{
	for (size_t i = 0; i < t->n_cache; i++)
		free(t->cache[i].ids);
	memset(t->cache, 0, t->n_cache * sizeof(*t->cache));
}

void core_target_free(struct core_target *t)
{
	if (!t)
		return;
	core_target_reset(t);
	free(t->cache);
	free(t);
}

const struct btf *core_target_btf(const struct core_target *t)
{
	return t->kernel;
}

void core_relo_path(const struct btf *btf, const struct bpf_core_relo *r, char *buf,
		    size_t size)
{
	const struct btf_type *t = btf__type_by_id(btf, r->type_id);
	struct spec s;
	size_t n;

	if (!t) {
		say(buf, size, "[%u]?", r->type_id);
		return;
	}
	n = snprintf(buf, size, "%s %s", kind_word(t), name_of(btf, t));
	if (n >= size || parse_spec(btf, r, &s))
		return;
	if (is_enum_kind(r->kind)) {
		snprintf(buf + n, size - n, "::%s", s.acc[0].name);
		return;
	}
	for (int i = 0; i < s.len && n < size; i++) {
		if (s.acc[i].name)
			n += snprintf(buf + n, size - n, ".%s", s.acc[i].name);
		else if (i > 0 || s.acc[i].idx > 0)
			n += snprintf(buf + n, size - n, "[%u]", s.acc[i].idx);
	}
}

void core_resolve(struct core_target *t, const struct bpf_core_relo *r,
		  const struct bpf_insn *insn, struct relo_res *res)
{
	const struct btf_type *lt = btf__type_by_id(t->local, r->type_id);
	struct spec *ls, *cs, *ts;
	struct miss miss = { .depth = -1 };
	struct calc c, first = {};
	struct cands *cands;
	char path[160];
	size_t matched = 0;
	int err;

	memset(res, 0, sizeof(*res));
	core_relo_path(t->local, r, path, sizeof(path));
	/* three specs of 64 accessors: on the heap, not the stack */
	ls = calloc(3, sizeof(*ls));
	if (!ls || !lt) {
		res->status = RELO_ERROR;
		say(res->why, sizeof(res->why), "bad relocation record (type [%u])", r->type_id);
		free(ls);
		return;
	}
	cs = ls + 1;
	ts = ls + 2;
	if (parse_spec(t->local, r, ls)) {
		res->status = RELO_ERROR;
		say(res->why, sizeof(res->why), "%s: cannot parse access string '%s'", path,
		    btf__name_by_offset(t->local, r->access_str_off));
		goto out;
	}
	if (r->kind == BPF_CORE_TYPE_ID_LOCAL) {
		/* needs no kernel; its value is not checked either (ids move when linking) */
		res->status = RELO_OK;
		res->val = r->type_id;
		goto out;
	}
	if (!lt->name_off || !*btf__name_by_offset(t->local, lt->name_off)) {
		res->status = RELO_ERROR;
		say(res->why, sizeof(res->why), "%s: libbpf cannot relocate an anonymous type", path);
		goto out;
	}
	cands = cands_of(t, r->type_id);
	for (size_t i = 0; i < cands->n; i++) {
		err = spec_match(ls, r->kind, t->kernel, cands->ids[i], cs, &miss);
		if (err < 0) {
			res->status = RELO_ERROR;
			say(res->why, sizeof(res->why), "%s: kernel type [%u] cannot be matched (%d)",
			    path, cands->ids[i], err);
			goto out;
		}
		if (!err)
			continue;
		if (calc(r->kind, ls, cs, &c)) {
			res->status = RELO_ERROR;
			say(res->why, sizeof(res->why), "%s: %s cannot be computed", path,
			    core_relo_kind_name(r->kind));
			goto out;
		}
		if (!matched) {
			first = c;
			*ts = *cs;
		} else if (cs->bit_off != ts->bit_off || c.poison != first.poison || c.new != first.new) {
			res->status = RELO_ERROR;
			say(res->why, sizeof(res->why), "%s: ambiguous, kernel types [%u] and [%u] "
			    "disagree (bit offset %u vs %u, value %llu vs %llu)", path,
			    ts->root_id, cands->ids[i], ts->bit_off, cs->bit_off,
			    (unsigned long long)first.new, (unsigned long long)c.new);
			goto out;
		}
		/* libbpf keeps only the candidates that matched, for the next relocation */
		cands->ids[matched++] = cands->ids[i];
	}
	if (matched) {
		cands->n = matched;
	} else if (calc(r->kind, ls, NULL, &first)) {
		res->status = RELO_ERROR;
		say(res->why, sizeof(res->why), "%s: %s cannot be computed", path,
		    core_relo_kind_name(r->kind));
		goto out;
	}
	patch(insn, &first, path, res);
	if (res->status == RELO_POISON && !res->why[0]) {
		if (!cands->n)
			say(res->why, sizeof(res->why), "the kernel has no %s %.*s", kind_word(lt),
			    (int)essential_len(btf__name_by_offset(t->local, lt->name_off)),
			    btf__name_by_offset(t->local, lt->name_off));
		else
			say(res->why, sizeof(res->why), "%s", miss.why);
	}
out:
	free(ls);
}
