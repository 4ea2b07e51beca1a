/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Command line: what the user asked for, validated, before anything touches the kernel. */
#ifndef TCPTRACE_CLI_H
#define TCPTRACE_CLI_H

#include <stdbool.h>
#include <linux/types.h>

/* Exit codes of the brief. */
#define EXIT_DONE	0
#define EXIT_RUNTIME	1
#define EXIT_USAGE	2

#define MAX_IFACES	16

enum nic_kind_opt {
	NIC_KIND_AUTO = 0,	/* the kind make bench shows cheaper (TC) */
	NIC_KIND_TC,		/* --tc */
	NIC_KIND_XDP,		/* --xdp: native where the driver has it, else generic */
	NIC_KIND_XDP_GENERIC,	/* --xdp-generic */
};

struct options {
	const char *netns_path;	/* --netns: trace this namespace alone */
	__u16 port;		/* -p: 0 = any */
	__u16 host_family;	/* -H: 0 = any host */
	__u8 host_addr[16];
	const char *host_str;
	__u32 pid;		/* --pid: 0 = any */
	bool json;
	bool verbose;
	bool conns;		/* --conns: conn records as text lines (JSON has them always) */
	bool prog_stats;	/* --prog-stats: enable the kernel's bpf_stats */
	bool classic;		/* --classic: classic tracepoints even where tp_btf works */
	bool check;		/* --check: load, attach, report what this kernel gives, exit */
	unsigned long duration_ms;	/* 0 = until interrupted */
	unsigned long interval_ms;
	unsigned long stall_ms;
	unsigned long loss_pct;
	unsigned long syn_retrans;
	unsigned long fold_s;
	unsigned long conn_interval_s;	/* conn records of open flows; 0: at close only */
	unsigned long max_flows;	/* flows the engine holds; the oldest idle is evicted */
	const char *ifaces[MAX_IFACES];	/* -i: NIC hooks here; none: every up interface */
	int n_ifaces;
	bool no_ingress;	/* --no-ingress: egress counting only */
	bool no_nic;		/* --no-nic: no NIC hooks at all */
	enum nic_kind_opt nic_kind;
};

/* The options of a command line that names none. */
void cli_defaults(struct options *o);
/* Parses argv; on a usage error prints one line and exits EXIT_USAGE. */
void cli_parse(int argc, char **argv, struct options *opts);

#endif /* TCPTRACE_CLI_H */
