// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include "drop_reason.h"

#define PREFIX "SKB_DROP_REASON_"
#define MAX_REASONS 1024	/* the enum has ~130 today */

static char *names[MAX_REASONS];
static __u8 classes[MAX_REASONS];
static __u32 n_classes;

/*
 * Drops that are no evidence: NO_SOCKET is a closed port or a gone
 * connection, told by the reset this host answers with; the others are a
 * socket's own teardown or traffic not meant for this host.
 */
static const char *const ignored[] = {
	"NOT_SPECIFIED", "NO_SOCKET", "SOCKET_CLOSE", "QUEUE_PURGE", "OTHERHOST",
	"SOCKET_RCVBUFF", "DUP_FRAG",
};

static enum drop_class classify(const char *name)
{
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (!strcmp(name, ignored[i]))
			return DROP_IGNORE;
	if (!strcmp(name, "TCP_LISTEN_OVERFLOW"))
		return DROP_LISTEN_OVERFLOW;
	if (!strcmp(name, "IP_OUTNOROUTES") || !strcmp(name, "IP_INNOROUTES"))
		return DROP_NO_ROUTE;
	/* A segment that fails its checksum or signature was refused here. */
	if (!strcmp(name, "TCP_CSUM") || !strncmp(name, "TCP_MD5", 7) ||
	    !strncmp(name, "TCP_AO", 6))
		return DROP_LOCAL;
	/* TCP's own discards (old data, out of window, a reset) are the
	 * protocol at work, not this host refusing the flow. */
	if (!strncmp(name, "TCP_", 4))
		return DROP_IGNORE;
	return DROP_LOCAL;
}

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
	if (!found)
		return false;
	/* Values the enum does not name stay DROP_IGNORE (0). */
	for (__u32 r = 0; r < MAX_REASONS; r++) {
		if (!names[r])
			continue;
		classes[r] = classify(names[r]);
		n_classes = r + 1;
	}
	return true;
}

const char *drop_reason_name(unsigned int reason)
{
	return reason < MAX_REASONS ? names[reason] : NULL;
}

const __u8 *drop_reason_classes(__u32 *n)
{
	*n = n_classes;
	return n_classes ? classes : NULL;
}

void drop_reason_free(void)
{
	for (int i = 0; i < MAX_REASONS; i++) {
		free(names[i]);
		names[i] = NULL;
	}
	memset(classes, 0, sizeof(classes));
	n_classes = 0;
}
