// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcptrace-bpf: trace TCP connections in the kernel and say, in plain words,
 * why two services cannot talk. main() is the tool's story: parse, open,
 * configure, load, attach, run the pipeline, detach.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cgroups.h"
#include "cli.h"
#include "drop_reason.h"
#include "kernel_report.h"
#include "output.h"
#include "correlate.h"
#include "lab.h"
#include "pipeline.h"
#include "record.h"
#include "privs.h"
#include "report.h"
#include "sink_file.h"
#include "sink_metrics.h"
#include "sink_otlp.h"
#include "source_file.h"
#include "source_live.h"
#include "tracer.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
	/* A second Ctrl-C kills at once. */
	signal(sig, SIG_DFL);
}

/*
 * The reader of our output went away (`| head`, a closed log shipper):
 * stop as on SIGINT, so the links are detached and a file output
 * flushed, and exit 0, not killed by the signal. The handler stays: the
 * last records written on the way out raise it again, and their writes
 * fail with EPIPE instead.
 */
static void on_sigpipe(int sig)
{
	(void)sig;
	exiting = 1;
}

static bool verbose;

/*
 * The kernel's tick (CONFIG_HZ), the unit of the socket clocks the scan
 * reads: the coarse clock advances one tick at a time, and says so as its
 * resolution. 0: not known (the engine measures it from the scans).
 */
static __u32 kernel_hz(void)
{
	struct timespec res;

	if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) || res.tv_sec || !res.tv_nsec)
		return 0;
	return (__u32)((1000000000L + res.tv_nsec / 2) / res.tv_nsec);
}

/* Quiet unless -v: libbpf's warnings surface as our own one-line errors. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	return verbose ? vfprintf(stderr, fmt, args) : 0;
}

static void on_error(const char *msg, void *ctx)
{
	output_error(ctx, msg);
}

/* Before 5.17: the call sites that stand in for reasons (drop_reason.h). */
static struct drop_site drop_sites[4];

/*
 * The kernel's drop reasons by name (or, before 5.17, by the call sites
 * that stand in for them): the tracer keeps only those that are evidence.
 */
static void name_drop_reasons(struct tracer *t)
{
	if (!drop_reason_init(t->vmlinux))
		t->n_drop_sites = drop_reason_sites(drop_sites,
						    sizeof(drop_sites) / sizeof(drop_sites[0]));
	t->drop_sites = drop_sites;
	t->drop_class = drop_reason_classes(&t->n_drop_class);
}

/*
 * ": eth0 tcx/tcx, eth1 xdp-native/tcx" — ingress/egress kind per
 * interface; on a host with hundreds (a pod's veths each), the first few
 * and how many more.
 */
#define NIC_SUMMARY_NAMED	8
static const char *nic_summary(const struct tracer *t, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < t->n_nics && i < NIC_SUMMARY_NAMED && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s %s/%s", i ? ", " : ": ",
				t->nic[i].ifname, nic_hook_kind_name(t->nic[i].ingress_kind),
				nic_hook_kind_name(t->nic[i].egress_kind));
	if (t->n_nics > NIC_SUMMARY_NAMED && off < len)
		snprintf(buf + off, len - off, " and %d more", t->n_nics - NIC_SUMMARY_NAMED);
	return buf;
}

/*
 * --check: what this kernel gives, before a rollout. Exit 0 when the core
 * attached (the tracer can trace, maybe without some diagnoses), 1 when not.
 */
static int check_report(const struct tracer *t, struct output *out, int err)
{
	struct utsname u;

	if (err && !t->plan.has_ringbuf && t->plan.variant[HOOK_SET_STATE] < 0)
		return EXIT_RUNTIME;	/* nothing planned: the error said why */
	uname(&u);
	output_check(out, &t->plan, u.release, u.machine, !err);
	return err ? EXIT_RUNTIME : EXIT_DONE;
}

int main(int argc, char **argv)
{
	struct tracer tracer = { .netns_fd = -1, .self_netns_fd = -1, .stats_fd = -1 };
	struct pipeline *pipe = NULL;
	struct recorder *rec = NULL;
	struct source *src = NULL;
	struct sink *file = NULL, *metrics = NULL, *otlp = NULL;
	struct engine_config cfg;
	struct options opts;
	struct output out;
	char nics[512], note[1024];
	char cg_root_buf[256], cg_filter[CGROUP_PATH_MAX];
	const char *cg_root, *why_cg;
	int err, ret = EXIT_RUNTIME;

	/*
	 * Freed memory goes back to the system. Left to itself, glibc raises
	 * its mmap threshold to the largest block freed, and its trim
	 * threshold to twice that: the kernel's BTF (a 5.3 MB block) freed at
	 * the start made them 5.3 and 10.5 MB, so every later block under
	 * 5.3 MB came from a heap, and a heap gave nothing back under 10.5 MB
	 * free. The threads' heaps (the /metrics server's, OTLP's) kept the
	 * largest body they had built, ever: in the soak, 0.6 MiB of RSS in
	 * 5 minutes, free memory all of it. Fixed at glibc's defaults, the
	 * thresholds stay: a block of 128 KiB or more is mapped and unmapped,
	 * a heap is trimmed past 128 KiB free.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);

	/* The subcommands: recordings, no kernel. Their argv[0] names them
	 * in argp's messages ("tcptrace-bpf replay: ..."). */
	if (argc > 1 && !strcmp(argv[1], "replay")) {
		static char name[] = "tcptrace-bpf replay";

		argv[1] = name;
		return replay_main(argc - 1, argv + 1);
	}
	if (argc > 1 && !strcmp(argv[1], "correlate")) {
		static char name[] = "tcptrace-bpf correlate";

		argv[1] = name;
		return correlate_main(argc - 1, argv + 1);
	}
	/* The lab: tests/'s topology and faults, this binary as their tracer. */
	if (argc > 1 && !strcmp(argv[1], "lab")) {
		static char name[] = "tcptrace-bpf lab";

		argv[1] = name;
		return lab_main(argc - 1, argv + 1);
	}
	cli_parse(argc, argv, &opts);
	verbose = opts.verbose;
	output_init(&out, stdout, opts.json);
	if (opts.json)
		report_set_sink(on_error, &out);
	libbpf_set_print(libbpf_print);
	/* From the start: a stop asked for while the programs load (it can
	 * take a second) is kept and honoured once they are attached, on the
	 * one cleanup path. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* The terminal or the session went away: a clean stop, like Ctrl-C. */
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, on_sigpipe);

	/* What the user typed is checked first: a wrong path is a usage error
	 * whoever runs it. */
	err = tracer_resolve_netns(&tracer, &opts);
	if (err)
		return err == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	cg_root = cgroup2_mount(cg_root_buf, sizeof(cg_root_buf));
	if (opts.cgroup && !cgroup_filter_resolve(opts.cgroup, cg_root, true, cg_filter,
						  sizeof(cg_filter), &why_cg)) {
		report_error("--cgroup %s: %s (hint: a directory under %s)", opts.cgroup, why_cg,
			     cg_root ? cg_root : "/sys/fs/cgroup");
		return EXIT_USAGE;
	}
	if (opts.output_path) {
		struct timespec now;
		char why[512];

		clock_gettime(CLOCK_MONOTONIC, &now);
		file = file_sink_new(&opts, now.tv_sec * 1000000000ULL + now.tv_nsec, why,
				     sizeof(why));
		if (!file) {
			report_error("%s (hint: -o needs a writable path)", why);
			return EXIT_USAGE;
		}
	}
	/* A recording that cannot be written is the user's to fix, said
	 * before anything loads. */
	if (opts.record_path && !opts.check && !(rec = recorder_open(opts.record_path))) {
		file_sink_free(file);
		return EXIT_USAGE;
	}
	/* The metrics registry serves --metrics and feeds --otlp. */
	if (opts.metrics_port || opts.otlp_url) {
		char why[512];
		bool usage;

		metrics = metrics_sink_new(&opts, &usage, why, sizeof(why));
		if (!metrics) {
			report_error("%s%s", why, usage ? " (hint: another port, or an address "
				     "of this host)" : "");
			file_sink_free(file);
			recorder_close(rec);
			return usage ? EXIT_USAGE : EXIT_RUNTIME;
		}
	}
	/* A collector that is down now is no reason to stop: it is retried. */
	if (opts.otlp_url) {
		char why[512];

		otlp = otlp_sink_new(&opts, metrics, why, sizeof(why));
		if (!otlp) {
			report_error("%s", why);
			metrics_sink_free(metrics);
			file_sink_free(file);
			recorder_close(rec);
			return EXIT_RUNTIME;
		}
	}
	if (tracer_check_environment(&tracer, &opts))
		goto cleanup;

	/* Parsed once (~6 MB) for the drop reasons and the hook plan, which
	 * frees it; libbpf's own parse for the load goes back to the system
	 * once tracing starts. */
	tracer.vmlinux = btf__load_vmlinux_btf();
	name_drop_reasons(&tracer);
	err = tracer_start(&tracer, &opts);
	btf__free(tracer.vmlinux);	/* a start that failed before planning */
	tracer.vmlinux = NULL;
	malloc_trim(0);
	if (opts.check) {
		ret = check_report(&tracer, &out, err);
		goto cleanup;
	}
	if (err) {
		/* An interface that does not exist is the user's to fix. */
		ret = err == -ENODEV ? EXIT_USAGE : EXIT_RUNTIME;
		goto cleanup;
	}
	kernel_report_note(&tracer.plan, note, sizeof(note));
	if (note[0])
		report_note("note: on this kernel %s", note);

	pipeline_engine_config(&opts, &cfg);
	cfg.drop_class = tracer.drop_class;
	cfg.n_drop_class = tracer.n_drop_class;
	cfg.drop_reason_name = tracer.drop_class ? drop_reason_name : NULL;
	/* "Nothing came back to the NIC" is only said where arrivals are counted. */
	cfg.nic_ingress = false;
	for (int i = 0; i < tracer.n_nics; i++)
		cfg.nic_ingress |= tracer.nic[i].ingress_kind != NIC_HOOK_NONE;
	cfg.hz = kernel_hz();
	pipe = pipeline_new(&opts, &cfg, &out);
	/* Containers named from this host's cgroups, pods from kubelet's files. */
	if (pipe && cg_root && pipeline_resolve_cgroups(pipe, cg_root, "/var/log/pods")) {
		report_error("out of memory");
		goto cleanup;
	}
	if (pipe && opts.cgroup)
		pipeline_set_cgroup_filter(pipe, cg_filter);
	src = pipe ? live_source_new(&tracer, pipe) : NULL;
	if (!src)
		goto cleanup;
	live_source_scan_budget(src, opts.interval_ms * 1000000ULL, cfg.stall_ns / 2);
	if (file)
		pipeline_add_sink(pipe, file);
	if (metrics)
		pipeline_add_sink(pipe, metrics);
	if (otlp)
		pipeline_add_sink(pipe, otlp);
	if (rec) {
		struct rec_source_info info = {
			.opts = &opts, .cfg = &cfg, .drop_reason_name = cfg.drop_reason_name,
			.mono_to_real_ns = out.mono_to_real_ns, .argc = argc, .argv = argv,
		};

		if (recorder_begin(rec, &info))
			goto cleanup;
		pipeline_set_recorder(pipe, rec);
	}
	/* Everything that needed privilege is open: keep only what the run needs. */
	if (privs_drop_after_attach(&tracer, &opts))
		goto cleanup;

	report_note("tracing %s%s (%d programs%s, %d interface%s%s, attached in %.0f ms); "
		"Ctrl-C to stop",
		opts.netns_path ? "network namespace " : "every network namespace",
		opts.netns_path ? opts.netns_path : "", tracer.n_progs,
		tracer.classic ? ", classic tracepoints" : "", tracer.n_nics,
		tracer.n_nics == 1 ? "" : "s", nic_summary(&tracer, nics, sizeof(nics)),
		tracer.attach_ms);
	ret = pipeline_run(pipe, src, &exiting);

cleanup:
	if (!recorder_close(rec) && ret == EXIT_DONE)
		ret = EXIT_RUNTIME;
	live_source_free(src);
	tracer_stop(&tracer);
	/* After the last records: a gzip file gets its trailer. */
	if (file_sink_free(file) && ret == EXIT_DONE)
		ret = EXIT_RUNTIME;
	/* The exporter's last metrics read the registry: it goes first. */
	otlp_sink_free(otlp);
	metrics_sink_free(metrics);
	/* Records queued in the sinks point at its cgroup names: it goes last. */
	pipeline_free(pipe);
	drop_reason_free();
	return ret;
}
