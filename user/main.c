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
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "drop_reason.h"
#include "kernel_report.h"
#include "output.h"
#include "pipeline.h"
#include "report.h"
#include "source_live.h"
#include "tracer.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
	/* A second Ctrl-C kills at once. */
	signal(sig, SIG_DFL);
}

static bool verbose;

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

/* ": eth0 tcx/tcx, eth1 xdp-native/tcx" — ingress/egress kind per interface. */
static const char *nic_summary(const struct tracer *t, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < t->n_nics && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s %s/%s", i ? ", " : ": ",
				t->nic[i].ifname, nic_hook_kind_name(t->nic[i].ingress_kind),
				nic_hook_kind_name(t->nic[i].egress_kind));
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
	struct source *src = NULL;
	struct engine_config cfg;
	struct options opts;
	struct output out;
	char nics[256], note[1024];
	int err, ret = EXIT_RUNTIME;

	cli_parse(argc, argv, &opts);
	verbose = opts.verbose;
	output_init(&out, stdout, opts.json);
	if (opts.json)
		report_set_sink(on_error, &out);
	libbpf_set_print(libbpf_print);

	/* What the user typed is checked first: a wrong path is a usage error
	 * whoever runs it. */
	err = tracer_resolve_netns(&tracer, &opts);
	if (err)
		return err == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	if (tracer_check_environment(&opts))
		return EXIT_RUNTIME;

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
		fprintf(stderr, "tcptrace-bpf: note: on this kernel %s\n", note);

	pipeline_engine_config(&opts, &cfg);
	cfg.drop_class = tracer.drop_class;
	cfg.n_drop_class = tracer.n_drop_class;
	cfg.drop_reason_name = tracer.drop_class ? drop_reason_name : NULL;
	/* "Nothing came back to the NIC" is only said where arrivals are counted. */
	cfg.nic_ingress = false;
	for (int i = 0; i < tracer.n_nics; i++)
		cfg.nic_ingress |= tracer.nic[i].ingress_kind != NIC_HOOK_NONE;
	pipe = pipeline_new(&opts, &cfg, &out);
	src = pipe ? live_source_new(&tracer, pipe) : NULL;
	if (!src)
		goto cleanup;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	fprintf(stderr, "tcptrace-bpf: tracing %s%s (%d programs%s, %d interface%s%s, attached in %.0f ms); "
		"Ctrl-C to stop\n",
		opts.netns_path ? "network namespace " : "every network namespace",
		opts.netns_path ? opts.netns_path : "", tracer.n_progs,
		tracer.classic ? ", classic tracepoints" : "", tracer.n_nics,
		tracer.n_nics == 1 ? "" : "s", nic_summary(&tracer, nics, sizeof(nics)),
		tracer.attach_ms);
	ret = pipeline_run(pipe, src, &exiting);

cleanup:
	live_source_free(src);
	pipeline_free(pipe);
	tracer_stop(&tracer);
	drop_reason_free();
	return ret;
}
