// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
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
 * Drops that are no evidence: a socket's own teardown, or traffic not
 * meant for this host.
 */
static const char *const ignored[] = {
	"NOT_SPECIFIED", "SOCKET_CLOSE", "QUEUE_PURGE", "OTHERHOST",
	"SOCKET_RCVBUFF", "DUP_FRAG",
};

static enum drop_class classify(const char *name)
{
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (!strcmp(name, ignored[i]))
			return DROP_IGNORE;
	if (!strcmp(name, "TCP_LISTEN_OVERFLOW"))
		return DROP_LISTEN_OVERFLOW;
	if (!strcmp(name, "NO_SOCKET"))
		return DROP_NO_SOCKET;
	if (!strcmp(name, "IP_OUTNOROUTES") || !strcmp(name, "IP_INNOROUTES"))
		return DROP_NO_ROUTE;
	/* A queue full, a flow over its share: what a qdisc does under load. */
	if (!strncmp(name, "QDISC_", 6) || !strncmp(name, "FQ_", 3) ||
	    !strncmp(name, "CAKE_", 5))
		return DROP_QDISC;
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
	return found;
}

const char *drop_reason_name(unsigned int reason)
{
	return reason < MAX_REASONS ? names[reason] : NULL;
}

const __u8 *drop_reason_classes(__u32 *n)
{
	/* Values nothing names stay DROP_IGNORE (0). */
	n_classes = 0;
	for (__u32 r = 0; r < MAX_REASONS; r++) {
		classes[r] = names[r] ? classify(names[r]) : DROP_IGNORE;
		if (names[r])
			n_classes = r + 1;
	}
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
	/* TCP's receive path frees what no socket took (a SYN to a closed
	 * port) there; checksum failures too, but those are no SYN's. */
	{ "tcp_v4_rcv", "NO_SOCKET" },
	{ "tcp_v6_rcv", "NO_SOCKET" },
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
			/* Every site bounded: the rest (~100k lines, seconds
			 * under emulation) has nothing for us. */
			if (n == n_sym)
				break;
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
