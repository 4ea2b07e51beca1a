// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "drop_reason.h"

#define PREFIX "SKB_DROP_REASON_"
#define MAX_REASONS 1024	/* the enum has ~130 today */

static char *names[MAX_REASONS];

bool drop_reason_init(void)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	struct btf *btf;
	bool found = false;
	int id;

	btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id > 0) {
		t = btf__type_by_id(btf, id);
		e = btf_enum(t);
		for (int i = 0; i < btf_vlen(t); i++, e++) {
			const char *name = btf__name_by_offset(btf, e->name_off);

			if (!name || e->val < 0 || e->val >= MAX_REASONS)
				continue;
			if (!strncmp(name, PREFIX, strlen(PREFIX)))
				name += strlen(PREFIX);
			free(names[e->val]);
			names[e->val] = strdup(name);
		}
		found = true;
	}
	btf__free(btf);
	return found;
}

const char *drop_reason_name(unsigned int reason)
{
	return reason < MAX_REASONS ? names[reason] : NULL;
}

int drop_reason_value(const char *name)
{
	for (int i = 0; i < MAX_REASONS; i++)
		if (names[i] && !strcmp(names[i], name))
			return i;
	return -1;
}

void drop_reason_free(void)
{
	for (int i = 0; i < MAX_REASONS; i++) {
		free(names[i]);
		names[i] = NULL;
	}
}

/*
 * Where the kernel names no reason, the functions whose drops are
 * evidence, and the name each stands for (values of our own: 1, 2...).
 * netfilter's verdict is the one that matters most: a DROP rule or policy
 * of this host's firewall, in any chain, for either family.
 */
static const struct {
	const char *symbol;
	const char *reason;
} site_reasons[] = {
	{ "nf_hook_slow", "NETFILTER_DROP" },
};

int drop_reason_sites(struct drop_site *sites, int max)
{
	int n_sym = sizeof(site_reasons) / sizeof(site_reasons[0]);
	struct drop_site *open = NULL;
	char line[512], sym[256];
	unsigned long long addr;
	char type;
	int n = 0;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) != 3)
			continue;
		/* The core kernel's symbols come sorted: the next one ends it. */
		if (open && addr > open->start) {
			open->end = addr;
			open = NULL;
		}
		if (type != 'T' && type != 't')
			continue;
		for (int i = 0; i < n_sym && n < max; i++) {
			if (strcmp(sym, site_reasons[i].symbol))
				continue;
			/* Zero: kernel addresses are hidden from us (kptr_restrict). */
			if (!addr)
				break;
			free(names[i + 1]);
			names[i + 1] = strdup(site_reasons[i].reason);
			sites[n] = (struct drop_site){ addr, 0, i + 1 };
			open = &sites[n++];
		}
	}
	fclose(f);
	/* A site never closed by a next symbol is not one we can bound. */
	if (open)
		n--;
	return n;
}
