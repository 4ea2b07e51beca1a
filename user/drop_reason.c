// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
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
