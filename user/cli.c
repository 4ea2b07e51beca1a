// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "defaults.h"
#include "otlp_url.h"

const char *argp_program_version = "tcptrace-bpf " TCPTRACE_VERSION;
const char *argp_program_bug_address = NULL;

static const char doc[] =
"Trace TCP connections in the kernel and say why two services cannot talk.\n"
"\n"
"USAGE: tcptrace-bpf [OPTIONS]\n"
"       tcptrace-bpf replay FILE [OPTIONS]        diagnose a recording (-w) again\n"
"       tcptrace-bpf correlate FILE_A FILE_B [-j]  join the recordings of both ends\n"
"       tcptrace-bpf lab [SCENARIO...]            show each fault diagnosed, in a lab of its own\n"
"\n"
"EXAMPLES:\n"
"    tcptrace-bpf                         # every connection on this host\n"
"    tcptrace-bpf -p 8080                 # connections to or from port 8080\n"
"    tcptrace-bpf -H 10.0.2.10 -j         # one peer, JSON lines\n"
"    tcptrace-bpf --netns /run/netns/a    # one network namespace\n"
"    tcptrace-bpf -d 30 --stall-ms 2000   # 30 s, stalls after 2 s\n"
"    tcptrace-bpf -i eth0 --xdp           # eth0 counted by native XDP\n"
"    tcptrace-bpf -j --no-nic | jq 'select(.type == \"diagnosis\")'\n"
"    tcptrace-bpf -o /var/log/tcptrace.json.gz --rotate 100M   # gzip JSON lines\n"
"    tcptrace-bpf --metrics 9100          # Prometheus at http://127.0.0.1:9100/metrics\n"
"    tcptrace-bpf --otlp http://otel-collector:4318 --otlp-conns   # to a collector\n"
"    tcptrace-bpf --check                 # what this kernel gives, before a rollout\n"
"    tcptrace-bpf -p 8080 -w a.ttr        # trace and record, for replay and correlate\n"
"    tcptrace-bpf replay a.ttr --stall-ms 500   # what if the threshold were 500 ms\n"
"    tcptrace-bpf correlate a.ttr b.ttr   # where did the packets stop?\n"
"    tcptrace-bpf lab                     # first run: faults caused in namespaces, diagnosed\n"
"    tcptrace-bpf --user nobody           # become nobody once attached\n";

enum {
	OPT_NETNS = 0x100,
	OPT_INTERVAL,
	OPT_STALL,
	OPT_LOSS,
	OPT_SYN_RETRANS,
	OPT_FOLD,
	OPT_PID,
	OPT_PROG_STATS,
	OPT_CLASSIC,
	OPT_CONN_INTERVAL,
	OPT_NO_INGRESS,
	OPT_NO_NIC,
	OPT_TC,
	OPT_XDP,
	OPT_XDP_GENERIC,
	OPT_MAX_FLOWS,
	OPT_CHECK,
	OPT_CONNS,
	OPT_ROTATE,
	OPT_ROTATE_S,
	OPT_METRICS,
	OPT_METRICS_MAX_ENDPOINTS,
	OPT_METRICS_TTL,
	OPT_OTLP,
	OPT_OTLP_CONNS,
	OPT_USER,
	OPT_CGROUP,
};

/* Options of the live tracer alone: a recording was made with them. */
static const char *live_only(int key)
{
	switch (key) {
	case OPT_NETNS: return "--netns";
	case 'p': return "-p/--port";
	case 'H': return "-H/--host";
	case OPT_PID: return "--pid";
	case 'i': return "-i/--interface";
	case OPT_NO_INGRESS: return "--no-ingress";
	case OPT_NO_NIC: return "--no-nic";
	case OPT_TC: return "--tc";
	case OPT_XDP: return "--xdp";
	case OPT_XDP_GENERIC: return "--xdp-generic";
	case OPT_CLASSIC: return "--classic";
	case OPT_CHECK: return "--check";
	case OPT_PROG_STATS: return "--prog-stats";
	case OPT_INTERVAL: return "--interval";
	case 'd': return "-d/--duration";
	case 'w': return "-w/--record";
	case OPT_METRICS: return "--metrics";
	case OPT_METRICS_MAX_ENDPOINTS: return "--metrics-max-endpoints";
	case OPT_METRICS_TTL: return "--metrics-ttl";
	case OPT_OTLP: return "--otlp";
	case OPT_OTLP_CONNS: return "--otlp-conns";
	default: return NULL;
	}
}

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "What to trace:", 1 },
	{ "netns", OPT_NETNS, "PATH", 0, "Trace only this network namespace (e.g. /run/netns/NAME)", 1 },
	{ "port", 'p', "PORT", 0, "Only flows with this local or remote port", 1 },
	{ "host", 'H', "ADDR", 0, "Only flows with this local or remote IPv4/IPv6 address", 1 },
	{ "pid", OPT_PID, "PID", 0, "Only connections this process owns: opened, listened for, or held when the tracer started", 1 },
	{ "cgroup", OPT_CGROUP, "PATH", 0, "Only connections whose owner is in this cgroup (v2) directory or below it (e.g. /sys/fs/cgroup/system.slice/nginx.service)", 1 },

	{ NULL, 0, NULL, 0, "Interfaces (packet counting):", 2 },
	{ "interface", 'i', "IFACE", 0, "Count packets on this interface (repeatable; default: every up, non-loopback one, bridge ports, bond slaves and VLANs left to the device that sees their packets too)", 2 },
	{ "no-ingress", OPT_NO_INGRESS, NULL, 0, "No ingress hook on the interfaces (egress counting only)", 2 },
	{ "no-nic", OPT_NO_NIC, NULL, 0, "No interface hooks at all: socket tracepoints only", 2 },
	{ "tc", OPT_TC, NULL, 0, "Ingress through TC (tcx where the kernel has it; the default)", 2 },
	{ "xdp", OPT_XDP, NULL, 0, "Ingress through XDP, native where the driver supports it", 2 },
	{ "xdp-generic", OPT_XDP_GENERIC, NULL, 0, "Ingress through generic (skb) XDP", 2 },

	{ NULL, 0, NULL, 0, "Output:", 3 },
	{ "json", 'j', NULL, 0, "JSON lines on stdout", 3 },
	{ "duration", 'd', "SECONDS", 0, "Stop after this long (default: until Ctrl-C)", 3 },
	{ "conn-interval", OPT_CONN_INTERVAL, "SECONDS", 0, "A conn record for each open connection, and a stats record, this often (default " DEFAULT_STR(DEFAULT_CONN_INTERVAL_S) "; 0: at close / exit only)", 3 },
	{ "fold-s", OPT_FOLD, "SECONDS", 0, "Repeats of one problem within this window fold into one report (default " DEFAULT_STR(DEFAULT_FOLD_S) ")", 3 },
	{ "prog-stats", OPT_PROG_STATS, NULL, 0, "Enable the kernel's BPF run-time statistics for the stats record", 3 },
	{ "output", 'o', "FILE", 0, "Also write every record as JSON lines into FILE; gzip when it ends in .gz (readable up to the last interval even after a crash)", 3 },
	{ "rotate", OPT_ROTATE, "SIZE", 0, "With -o: start a new file past SIZE bytes (k, M, G: binary units); the full one is renamed NAME-<start>.EXT", 3 },
	{ "rotate-s", OPT_ROTATE_S, "SECONDS", 0, "With -o: start a new file every SECONDS", 3 },
	{ "metrics", OPT_METRICS, "[ADDR:]PORT", 0, "Serve Prometheus metrics at http://ADDR:PORT/metrics (ADDR " DEFAULT_METRICS_ADDR " unless given; [::] or 0.0.0.0 for every address)", 3 },
	{ "metrics-max-endpoints", OPT_METRICS_MAX_ENDPOINTS, "N", 0, "Remote endpoints with series of their own, the busiest kept; the rest are summed as raddr=\"other\" (default " DEFAULT_STR(DEFAULT_METRICS_MAX_ENDPOINTS) ")", 3 },
	{ "metrics-ttl", OPT_METRICS_TTL, "SECONDS", 0, "An endpoint's series go this long after its last record (default " DEFAULT_STR(DEFAULT_METRICS_TTL_S) ")", 3 },
	{ "otlp", OPT_OTLP, "URL", 0, "Push diagnoses (logs) and the metrics to an OpenTelemetry Collector: OTLP/HTTP JSON, gzip, to URL/v1/logs and URL/v1/metrics (port 4318 unless given)", 3 },
	{ "otlp-conns", OPT_OTLP_CONNS, NULL, 0, "With --otlp: each conn record as a log record too", 3 },
	{ "record", 'w', "FILE", 0, "Record what the tracer sees to FILE (compressed), for `replay` and `correlate`", 3 },
	{ "conns", OPT_CONNS, NULL, 0, "In text mode, a line of statistics for each connection at close and every --conn-interval (JSON output always has these conn records)", 3 },
	{ "verbose", 'v', NULL, 0, "Verbose: libbpf's messages on stderr", 3 },

	{ NULL, 0, NULL, 0, "Thresholds:", 4 },
	{ "interval", OPT_INTERVAL, "MS", 0, "Socket scan and diagnosis interval (default " DEFAULT_STR(DEFAULT_INTERVAL_MS) "); a scan costing over 5 % of it puts the next off, up to half of --stall-ms", 4 },
	{ "stall-ms", OPT_STALL, "MS", 0, "Unanswered request / unread data / zero window for this long is a stall (default " DEFAULT_STR(DEFAULT_STALL_MS) ")", 4 },
	{ "loss-pct", OPT_LOSS, "PCT", 0, "Retransmitted share of data segments that is loss (default " DEFAULT_STR(DEFAULT_LOSS_PCT) ")", 4 },
	{ "syn-retrans", OPT_SYN_RETRANS, "N", 0, "SYN retransmits without reply that make SYN_UNANSWERED (default " DEFAULT_STR(DEFAULT_SYN_RETRANS) ")", 4 },
	{ "max-flows", OPT_MAX_FLOWS, "N", 0, "Flows held in memory, ~500 bytes each; the oldest idle one is evicted and counted (default " DEFAULT_STR(DEFAULT_MAX_FLOWS) ")", 4 },

	{ NULL, 0, NULL, 0, "Kernel:", 5 },
	{ "classic", OPT_CLASSIC, NULL, 0, "Attach classic tracepoints (tracefs) instead of tp_btf", 5 },
	{ "check", OPT_CHECK, NULL, 0, "Load and attach, print which hooks this kernel has and which diagnoses are unavailable, and exit (0: it can trace, 1: it cannot)", 5 },
	{ "user", OPT_USER, "USER", 0, "Once attached, run as this user (a name or a uid), keeping only the capabilities still needed (see README: Privileges)", 5 },
	{},
};

/* A number in [min, max], or a usage error naming the option. */
static unsigned long parse_num(struct argp_state *state, const char *what,
			       const char *arg, unsigned long min, unsigned long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < (long long)min || v > (long long)max)
		argp_error(state, "invalid %s '%s': expected a number from %lu to %lu",
			   what, arg, min, max);
	return v;
}

/* "100M", "1G", "512k", "65536": bytes (binary units, an optional "iB"/"B"). */
static bool parse_size(const char *s, __u64 *bytes)
{
	unsigned long long v, mult = 1;
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': mult = 1ULL << 10; end++; break;
	case 'm': case 'M': mult = 1ULL << 20; end++; break;
	case 'g': case 'G': mult = 1ULL << 30; end++; break;
	default: break;
	}
	if (mult > 1 && *end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (*end || v > ~0ULL / mult)
		return false;
	*bytes = v * mult;
	return true;
}

/*
 * --metrics [ADDR:]PORT: "9100", "0.0.0.0:9100", "[::1]:9100", "[::]:9100".
 * An address is a literal: a name would need a resolver at start.
 */
static void parse_metrics(struct argp_state *state, struct options *o, const char *arg)
{
	const char *colon = strrchr(arg, ':'), *port = arg;
	char addr[64];
	__u8 buf[16];

	snprintf(o->metrics_addr, sizeof(o->metrics_addr), "%s", DEFAULT_METRICS_ADDR);
	if (colon) {
		size_t len = colon - arg;

		port = colon + 1;
		if (arg[0] == '[') {
			if (len < 2 || arg[len - 1] != ']')
				argp_error(state, "invalid metrics address '%s': expected [IPv6]:PORT", arg);
			snprintf(addr, sizeof(addr), "%.*s", (int)(len - 2), arg + 1);
			if (inet_pton(AF_INET6, addr, buf) != 1)
				argp_error(state, "invalid metrics address '%s': not an IPv6 address", arg);
		} else {
			snprintf(addr, sizeof(addr), "%.*s", (int)len, arg);
			if (strchr(addr, ':'))
				argp_error(state, "invalid metrics address '%s': write IPv6 as [ADDR]:PORT", arg);
			if (inet_pton(AF_INET, addr, buf) != 1)
				argp_error(state, "invalid metrics address '%s': expected an IPv4 or [IPv6] "
					   "address", arg);
		}
		snprintf(o->metrics_addr, sizeof(o->metrics_addr), "%s", addr);
	}
	o->metrics_port = parse_num(state, "metrics port", port, 1, 65535);
}

/*
 * --user: a name, or a uid that may have no name (a container's); its
 * primary group from the password database, else the group of the same
 * number.
 */
static void parse_user(struct argp_state *state, const char *arg, struct options *o)
{
	struct passwd *pw = getpwnam(arg);
	char *end;
	unsigned long uid;

	if (!pw) {
		errno = 0;
		uid = strtoul(arg, &end, 10);
		if (!*arg || *end || errno || uid >= UINT_MAX)
			argp_error(state, "unknown user '%s' (hint: a name from the password "
				   "database, or a number)", arg);
		pw = getpwuid(uid);
		o->uid = uid;
		o->gid = pw ? pw->pw_gid : uid;
	} else {
		o->uid = pw->pw_uid;
		o->gid = pw->pw_gid;
	}
	o->user = arg;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct options *o = state->input;

	if (o->mode != CLI_LIVE && live_only(key))
		argp_error(state, "%s is for live tracing: a %s takes what the recording%s hold%s",
			   live_only(key), o->mode == CLI_REPLAY ? "replay" : "correlation",
			   o->mode == CLI_REPLAY ? "" : "s", o->mode == CLI_REPLAY ? "s" : "");
	switch (key) {
	case OPT_NETNS:
		o->netns_path = arg;
		break;
	case 'p':
		o->port = parse_num(state, "port", arg, 1, 65535);
		break;
	case 'H':
		if (inet_pton(AF_INET, arg, o->host_addr) == 1)
			o->host_family = AF_INET;
		else if (inet_pton(AF_INET6, arg, o->host_addr) == 1)
			o->host_family = AF_INET6;
		else
			argp_error(state, "invalid host '%s': expected an IPv4 or IPv6 address", arg);
		o->host_str = arg;
		break;
	case OPT_PID:
		o->pid = parse_num(state, "pid", arg, 1, INT_MAX);
		break;
	case OPT_CGROUP:
		o->cgroup = arg;
		break;
	case 'j':
		o->json = true;
		break;
	case 'd':
		o->duration_ms = parse_num(state, "duration", arg, 1, 100L * 365 * 86400) * 1000;
		break;
	case OPT_INTERVAL:
		o->interval_ms = parse_num(state, "interval", arg, 10, 600000);
		break;
	case OPT_STALL:
		o->stall_ms = parse_num(state, "stall-ms", arg, 1, 86400000);
		break;
	case OPT_LOSS:
		o->loss_pct = parse_num(state, "loss-pct", arg, 0, 100);
		break;
	case OPT_SYN_RETRANS:
		o->syn_retrans = parse_num(state, "syn-retrans", arg, 1, 100);
		break;
	case OPT_FOLD:
		o->fold_s = parse_num(state, "fold-s", arg, 0, 86400);
		break;
	case 'i':
		if (o->n_ifaces >= MAX_IFACES)
			argp_error(state, "too many interfaces: at most %d", MAX_IFACES);
		if (!*arg || strlen(arg) >= 16)
			argp_error(state, "invalid interface name '%s'", arg);
		o->ifaces[o->n_ifaces++] = arg;
		break;
	case OPT_NO_INGRESS:
		o->no_ingress = true;
		break;
	case OPT_NO_NIC:
		o->no_nic = true;
		break;
	case OPT_TC:
	case OPT_XDP:
	case OPT_XDP_GENERIC: {
		enum nic_kind_opt k = key == OPT_TC ? NIC_KIND_TC :
				      key == OPT_XDP ? NIC_KIND_XDP : NIC_KIND_XDP_GENERIC;

		if (o->nic_kind && o->nic_kind != k)
			argp_error(state, "--tc, --xdp and --xdp-generic exclude each other");
		o->nic_kind = k;
		break;
	}
	case OPT_MAX_FLOWS:
		o->max_flows = parse_num(state, "max-flows", arg, 64, 10000000);
		break;
	case OPT_CONN_INTERVAL:
		o->conn_interval_s = parse_num(state, "conn-interval", arg, 0, 86400);
		break;
	case OPT_PROG_STATS:
		o->prog_stats = true;
		break;
	case OPT_CLASSIC:
		o->classic = true;
		break;
	case OPT_CHECK:
		o->check = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	case OPT_CONNS:
		o->conns = true;
		break;
	case 'o':
		if (!*arg)
			argp_error(state, "invalid output file ''");
		o->output_path = arg;
		break;
	case OPT_ROTATE:
		if (!parse_size(arg, &o->rotate_bytes) || o->rotate_bytes < 4096)
			argp_error(state, "invalid rotate size '%s': expected bytes, at least 4096, "
				   "with k, M or G (e.g. 100M)", arg);
		break;
	case OPT_METRICS:
		parse_metrics(state, o, arg);
		break;
	case OPT_METRICS_MAX_ENDPOINTS:
		o->metrics_max_endpoints = parse_num(state, "metrics-max-endpoints", arg, 1, 1000000);
		break;
	case OPT_METRICS_TTL:
		o->metrics_ttl_s = parse_num(state, "metrics-ttl", arg, 1, 100L * 365 * 86400);
		break;
	case OPT_OTLP: {
		char logs[1024], metrics[1024], why[1200];

		if (!otlp_url_ok(arg, logs, metrics, sizeof(logs), why, sizeof(why)))
			argp_error(state, "%s", why);
		o->otlp_url = arg;
		break;
	}
	case OPT_OTLP_CONNS:
		o->otlp_conns = true;
		break;
	case OPT_ROTATE_S:
		o->rotate_s = parse_num(state, "rotate-s", arg, 1, 100L * 365 * 86400);
		break;
	case 'w':
		if (!*arg)
			argp_error(state, "-w needs a file name");
		o->record_path = arg;
		break;
	case OPT_USER:
		parse_user(state, arg, o);
		break;
	case ARGP_KEY_ARG:
		if (o->mode == CLI_LIVE ||
		    o->n_files >= (o->mode == CLI_REPLAY ? 1 : 2))
			argp_error(state, "unexpected argument '%s'", arg);
		o->files[o->n_files++] = arg;
		break;
	case ARGP_KEY_END:
		if (o->mode == CLI_REPLAY && o->n_files < 1)
			argp_error(state, "replay needs a recording: tcptrace-bpf replay FILE");
		if (o->mode == CLI_CORRELATE && o->n_files < 2)
			argp_error(state, "correlate needs two recordings: tcptrace-bpf correlate "
				   "FILE_A FILE_B");
		if (o->no_nic && (o->n_ifaces || o->nic_kind || o->no_ingress))
			argp_error(state, "--no-nic excludes -i, --tc, --xdp and --no-ingress");
		if (o->no_ingress && o->nic_kind && o->nic_kind != NIC_KIND_TC)
			argp_error(state, "--no-ingress excludes --xdp: XDP is ingress only");
		if ((o->rotate_bytes || o->rotate_s) && !o->output_path)
			argp_error(state, "--rotate and --rotate-s need -o FILE");
		if (o->otlp_conns && !o->otlp_url)
			argp_error(state, "--otlp-conns needs --otlp URL");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

void cli_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->interval_ms = DEFAULT_INTERVAL_MS;
	o->stall_ms = DEFAULT_STALL_MS;
	o->loss_pct = DEFAULT_LOSS_PCT;
	o->syn_retrans = DEFAULT_SYN_RETRANS;
	o->fold_s = DEFAULT_FOLD_S;
	o->conn_interval_s = DEFAULT_CONN_INTERVAL_S;
	o->max_flows = DEFAULT_MAX_FLOWS;
	o->metrics_max_endpoints = DEFAULT_METRICS_MAX_ENDPOINTS;
	o->metrics_ttl_s = DEFAULT_METRICS_TTL_S;
}

static const struct argp argp = { options, parse_opt, NULL, doc, NULL, NULL, NULL };

void cli_parse(int argc, char **argv, struct options *o)
{
	cli_parse_mode(argc, argv, o, CLI_LIVE);
}

void cli_parse_mode(int argc, char **argv, struct options *o, enum cli_mode mode)
{
	cli_defaults(o);
	o->mode = mode;
	cli_apply(argc, argv, o);
}

void cli_apply(int argc, char **argv, struct options *o)
{
	o->n_files = 0;
	/* argp exits with argp_err_exit_status on a usage error. */
	argp_err_exit_status = EXIT_USAGE;
	argp_parse(&argp, argc, argv, 0, NULL, o);
}
