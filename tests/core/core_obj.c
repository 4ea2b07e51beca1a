// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading a BPF object the way libbpf does before it loads anything: code
 * sections, the functions the symbol table names in them, the calls between
 * them (through ELF relocations, as libbpf resolves them), and the CO-RE
 * records of .BTF.ext. The .BTF.ext layout is the documented one
 * (Documentation/bpf/btf.rst, "BTF.ext section"): a header, then per
 * subsection a record size and, for each code section, {sec_name_off,
 * num_info} followed by that many records.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core_obj.h"

#define BTF_EXT_MAGIC	0xeB9F

/* The .BTF.ext header up to the CO-RE subsection (all offsets follow hdr_len). */
struct ext_hdr {
	__u16 magic;
	__u8 version;
	__u8 flags;
	__u32 hdr_len;
	__u32 func_info_off, func_info_len;
	__u32 line_info_off, line_info_len;
	__u32 core_relo_off, core_relo_len;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	void *q;

	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	q = realloc(p, *cap * size);
	if (!q) {
		perror("core_check");
		exit(1);
	}
	return q;
}

static void *zalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		perror("core_check");
		exit(1);
	}
	return p;
}

static size_t sec_by_shndx(const struct core_obj *o, size_t shndx)
{
	for (size_t i = 0; i < o->n_secs; i++)
		if (o->secs[i].shndx == shndx)
			return i;
	return CORE_NONE;
}

static size_t sec_by_name(const struct core_obj *o, const char *name)
{
	for (size_t i = 0; i < o->n_secs; i++)
		if (!strcmp(o->secs[i].name, name))
			return i;
	return CORE_NONE;
}

size_t core_obj_func(const struct core_obj *o, const char *name)
{
	for (size_t i = 0; i < o->n_funcs; i++)
		if (!strcmp(o->funcs[i].name, name))
			return i;
	return CORE_NONE;
}

size_t core_obj_func_at(const struct core_obj *o, size_t sec, size_t insn)
{
	for (size_t i = 0; i < o->n_funcs; i++) {
		const struct core_func *f = &o->funcs[i];

		if (f->sec == sec && insn >= f->start && insn < f->end)
			return i;
	}
	return CORE_NONE;
}

static int cmp_func(const void *a, const void *b)
{
	const struct core_func *x = a, *y = b;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static bool is_pseudo_call(const struct bpf_insn *insn)
{
	return insn->code == (BPF_JMP | BPF_CALL) && insn->src_reg == BPF_PSEUDO_CALL;
}

static bool is_pseudo_func(const struct bpf_insn *insn)
{
	return insn->code == (BPF_LD | BPF_IMM | BPF_DW) && insn->src_reg == BPF_PSEUDO_FUNC;
}

/* The code sections, with a copy of their instructions. */
static int read_sections(struct core_obj *o, Elf *elf, size_t shstrndx)
{
	size_t cap = 0;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		struct core_sec *s;
		GElf_Shdr sh;
		Elf_Data *d;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) || !sh.sh_size)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		d = elf_getdata(scn, NULL);
		if (!name || !d || d->d_size % sizeof(struct bpf_insn))
			return -EINVAL;
		o->secs = grow(o->secs, &cap, o->n_secs, sizeof(*o->secs));
		s = &o->secs[o->n_secs++];
		memset(s, 0, sizeof(*s));
		s->name = strdup(name);
		s->shndx = elf_ndxscn(scn);
		s->n_insns = d->d_size / sizeof(struct bpf_insn);
		s->insns = zalloc(s->n_insns, sizeof(*s->insns));
		memcpy(s->insns, d->d_buf, d->d_size);
		s->relo = zalloc(s->n_insns, sizeof(*s->relo));
		s->callee = zalloc(s->n_insns, sizeof(*s->callee));
		s->elf_rel = zalloc(s->n_insns, sizeof(*s->elf_rel));
		for (size_t i = 0; i < s->n_insns; i++)
			s->relo[i] = s->callee[i] = CORE_NONE;
	}
	return 0;
}

/*
 * Functions from the symbol table. As in libbpf, every function outside
 * .text is a program and every function in .text a subprogram; a code
 * section without function symbols is one function named after it.
 */
static int read_functions(struct core_obj *o, Elf *elf, Elf_Scn *symtab, size_t strndx)
{
	Elf_Data *d = elf_getdata(symtab, NULL);
	size_t cap = 0, n = 0;
	GElf_Sym sym;

	while (d && gelf_getsym(d, (int)n++, &sym)) {
		struct core_func *f;
		const char *name;
		size_t sec;

		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		sec = sec_by_shndx(o, sym.st_shndx);
		name = elf_strptr(elf, strndx, sym.st_name);
		if (sec == CORE_NONE || !name)
			continue;
		o->funcs = grow(o->funcs, &cap, o->n_funcs, sizeof(*o->funcs));
		f = &o->funcs[o->n_funcs++];
		f->name = strdup(name);
		f->sec = sec;
		f->start = sym.st_value / sizeof(struct bpf_insn);
		f->end = f->start + sym.st_size / sizeof(struct bpf_insn);
		f->prog = strcmp(o->secs[sec].name, ".text") != 0;
	}
	for (size_t s = 0; s < o->n_secs; s++) {
		bool named = false;

		for (size_t i = 0; i < o->n_funcs; i++)
			named |= o->funcs[i].sec == s;
		if (named)
			continue;
		o->funcs = grow(o->funcs, &cap, o->n_funcs, sizeof(*o->funcs));
		o->funcs[o->n_funcs++] = (struct core_func){
			.name = strdup(o->secs[s].name), .sec = s, .start = 0,
			.end = o->secs[s].n_insns, .prog = strcmp(o->secs[s].name, ".text") != 0,
		};
	}
	qsort(o->funcs, o->n_funcs, sizeof(*o->funcs), cmp_func);
	/* A symbol without a size runs to the next function or the section's end. */
	for (size_t i = 0; i < o->n_funcs; i++) {
		struct core_func *f = &o->funcs[i];
		size_t limit = o->secs[f->sec].n_insns;

		if (i + 1 < o->n_funcs && o->funcs[i + 1].sec == f->sec)
			limit = o->funcs[i + 1].start;
		if (f->end <= f->start || f->end > limit)
			f->end = limit;
	}
	return 0;
}

/*
 * ELF relocations: which instructions the loader fills in (maps, globals:
 * their immediate is no constant), and where calls go. libbpf's rule: a
 * call relocated against a symbol lands at st_value / 8 + imm + 1; a
 * function reference (ld_imm64 of a callback) at (st_value + imm) / 8.
 */
static int read_relocations(struct core_obj *o, Elf *elf, Elf_Scn *symtab)
{
	Elf_Data *syms = elf_getdata(symtab, NULL);
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		struct core_sec *s;
		GElf_Shdr sh;
		Elf_Data *d;
		size_t sec;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_REL)
			continue;
		sec = sec_by_shndx(o, sh.sh_info);
		d = elf_getdata(scn, NULL);
		if (sec == CORE_NONE || !d)
			continue;
		s = &o->secs[sec];
		for (size_t i = 0; i < d->d_size / sh.sh_entsize; i++) {
			size_t insn, tsec, tinsn;
			struct bpf_insn *in;
			GElf_Sym sym;
			GElf_Rel rel;

			if (!gelf_getrel(d, (int)i, &rel))
				return -EINVAL;
			insn = rel.r_offset / sizeof(struct bpf_insn);
			if (insn >= s->n_insns)
				return -EINVAL;
			s->elf_rel[insn] = true;
			in = &s->insns[insn];
			if (!is_pseudo_call(in) && !is_pseudo_func(in))
				continue;
			if (!syms || !gelf_getsym(syms, (int)GELF_R_SYM(rel.r_info), &sym))
				return -EINVAL;
			tsec = sec_by_shndx(o, sym.st_shndx);
			if (tsec == CORE_NONE)
				continue;	/* a kfunc or an extern: no code here */
			tinsn = is_pseudo_call(in) ?
				sym.st_value / sizeof(*in) + in->imm + 1 :
				(sym.st_value + in->imm) / sizeof(*in);
			s->callee[insn] = core_obj_func_at(o, tsec, tinsn);
		}
	}
	/* A call within a section has no relocation: imm is relative. */
	for (size_t sec = 0; sec < o->n_secs; sec++) {
		struct core_sec *s = &o->secs[sec];

		for (size_t i = 0; i < s->n_insns; i++)
			if (is_pseudo_call(&s->insns[i]) && !s->elf_rel[i])
				s->callee[i] = core_obj_func_at(o, sec, i + s->insns[i].imm + 1);
	}
	return 0;
}

/*
 * The CO-RE records, each placed at its section, instruction and function.
 * (Read from the ELF section: libbpf 1.1 declares btf_ext__raw_data() but
 * does not export it.)
 */
static int read_core_relos(struct core_obj *o, const Elf_Data *d)
{
	const struct ext_hdr *h;
	const __u8 *p, *end;
	__u32 size, rec_size;
	size_t cap = 0;

	if (!d)
		return 0;	/* no .BTF.ext: nothing to relocate */
	h = d->d_buf;
	size = d->d_size;
	if (size < offsetof(struct ext_hdr, core_relo_off) || h->magic != BTF_EXT_MAGIC ||
	    h->hdr_len > size)
		return -EINVAL;
	if (h->hdr_len < sizeof(*h) || !h->core_relo_len)
		return 0;	/* written by a compiler that recorded no CO-RE */
	p = (const __u8 *)h + h->hdr_len + h->core_relo_off;
	end = p + h->core_relo_len;
	if (end > (const __u8 *)h + size || h->core_relo_len < 4)
		return -EINVAL;
	rec_size = *(const __u32 *)p;
	p += 4;
	if (rec_size < sizeof(struct bpf_core_relo))
		return -EINVAL;
	while (p + 8 <= end) {
		__u32 name_off = ((const __u32 *)p)[0], n = ((const __u32 *)p)[1];
		const char *name = btf__name_by_offset(o->btf, name_off);
		size_t sec = name ? sec_by_name(o, name) : CORE_NONE;

		p += 8;
		if (p + (size_t)n * rec_size > end)
			return -EINVAL;
		if (sec == CORE_NONE) {
			fprintf(stderr, "core_check: .BTF.ext names section '%s' that has no code\n",
				name ? name : "?");
			return -EINVAL;
		}
		for (__u32 i = 0; i < n; i++, p += rec_size) {
			struct core_rec *r;

			o->recs = grow(o->recs, &cap, o->n_recs, sizeof(*o->recs));
			r = &o->recs[o->n_recs];
			memcpy(&r->r, p, sizeof(r->r));
			r->sec = sec;
			r->insn = r->r.insn_off / sizeof(struct bpf_insn);
			if (r->r.insn_off % sizeof(struct bpf_insn) || r->insn >= o->secs[sec].n_insns)
				return -EINVAL;
			r->func = core_obj_func_at(o, sec, r->insn);
			o->secs[sec].relo[r->insn] = o->n_recs++;
		}
	}
	return 0;
}

struct core_obj *core_obj_open(const char *path)
{
	struct core_obj *o = zalloc(1, sizeof(*o));
	Elf_Scn *scn = NULL, *symtab = NULL;
	Elf_Data *ext = NULL;
	size_t shstrndx, strndx = 0;
	Elf *elf = NULL;
	int fd, err = -EINVAL;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "core_check: %s: %s\n", path, strerror(errno));
		free(o);
		return NULL;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx)) {
		fprintf(stderr, "core_check: %s: not an ELF object\n", path);
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
			strndx = sh.sh_link;
		}
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".BTF.ext"))
			ext = elf_getdata(scn, NULL);
	}
	o->btf = btf__parse_elf(path, NULL);
	if (!o->btf || !symtab) {
		fprintf(stderr, "core_check: %s: no BTF or no symbol table (built with clang -g?)\n",
			path);
		goto out;
	}
	err = read_sections(o, elf, shstrndx);
	err = err ?: read_functions(o, elf, symtab, strndx);
	err = err ?: read_relocations(o, elf, symtab);
	err = err ?: read_core_relos(o, ext);
	if (err)
		fprintf(stderr, "core_check: %s: malformed BPF object\n", path);
out:
	if (elf)
		elf_end(elf);
	close(fd);
	if (err) {
		core_obj_free(o);
		return NULL;
	}
	return o;
}

void core_obj_free(struct core_obj *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n_secs; i++) {
		free(o->secs[i].name);
		free(o->secs[i].insns);
		free(o->secs[i].relo);
		free(o->secs[i].callee);
		free(o->secs[i].elf_rel);
	}
	for (size_t i = 0; i < o->n_funcs; i++)
		free(o->funcs[i].name);
	free(o->secs);
	free(o->funcs);
	free(o->recs);
	btf__free(o->btf);
	free(o);
}
