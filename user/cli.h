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

/* What the command line asks for: live tracing, or one of the subcommands. */
enum cli_mode {
	CLI_LIVE = 0,
	CLI_REPLAY,		/* tcptrace-bpf replay FILE */
	CLI_CORRELATE,		/* tcptrace-bpf correlate FILE_A FILE_B */
};

struct options {
	const char *netns_path;	/* --netns: trace this namespace alone */
	__u16 port;		/* -p: 0 = any */
	__u16 host_family;	/* -H: 0 = any host */
	__u8 host_addr[16];
	const char *host_str;
	__u32 pid;		/* --pid: 0 = any */
	const char *cgroup;	/* --cgroup: as typed; NULL = any */
	bool json;
	bool verbose;
	bool conns;		/* --conns: conn records as text lines (JSON has them always) */
	const char *output_path;	/* -o: JSON lines into this file (.gz: gzip) */
	__u64 rotate_bytes;	/* --rotate: a new file past this size; 0: never */
	unsigned long rotate_s;	/* --rotate-s: a new file past this age; 0: never */
	char metrics_addr[64];	/* --metrics: "" when off; else an address literal */
	__u16 metrics_port;
	unsigned long metrics_max_endpoints;
	unsigned long metrics_ttl_s;
	const char *otlp_url;	/* --otlp: push to this collector */
	bool otlp_conns;	/* --otlp-conns: conn records as log records too */
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
	const char *record_path;	/* -w: record what the engine consumes */
	enum cli_mode mode;
	const char *files[2];	/* replay's recording, correlate's two */
	int n_files;
	const char *user;	/* --user: become this user once attached, or NULL */
	__u32 uid, gid;		/* its uid and primary group */
};

/* The options of a command line that names none. */
void cli_defaults(struct options *o);
/* Parses argv; on a usage error prints one line and exits EXIT_USAGE. */
void cli_parse(int argc, char **argv, struct options *opts);
/* The same for a subcommand, argv[0] being its name ("replay"). */
void cli_parse_mode(int argc, char **argv, struct options *opts, enum cli_mode mode);
/*
 * Parses argv again over o as it stands, defaults not restored: a replay
 * starts from the recording's options, and what the command line says
 * wins. argv has passed cli_parse_mode already.
 */
void cli_apply(int argc, char **argv, struct options *o);

#endif /* TCPTRACE_CLI_H */
