// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcptrace-bpf replay FILE: the pipeline and the engine of a live run, fed
 * from its recording. The thresholds are the recording's unless the
 * command line names others, so a replay says what the live run said, or
 * what it would have said with another --stall-ms.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cgroups.h"
#include "output.h"
#include "report.h"
#include "sink_file.h"
#include "source_file.h"

static volatile sig_atomic_t stop;

/* `replay FILE | head`: stop reading, exit 0, as the live tracer does. */
static void on_sigpipe(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_error(const char *msg, void *ctx)
{
	output_error(ctx, msg);
}

static void wall_str(long long ns, char *buf, size_t len)
{
	time_t secs = ns / 1000000000LL;
	struct tm tm;

	if (!ns || !gmtime_r(&secs, &tm)) {
		snprintf(buf, len, "an unknown time");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What the end of the reading says about the file: the exit code. */
static int reading_end(struct rec_reader *rd, const char *path)
{
	struct rec_item it;

	/* What the last tick left unread: the final record, if it is there. */
	while (!stop && rec_next(rd, &it) > 0)
		;
	switch (rec_status(rd)) {
	case REC_OK:
		if (!rec_finished(rd) && !stop)
			report_error("warning: %s: %s", path, rec_why(rd));
		return EXIT_DONE;
	case REC_TRUNCATED:
		report_error("warning: %s is truncated: %s; the diagnoses above are "
			     "those before the damage", path, rec_why(rd));
		return EXIT_DONE;
	default:
		report_error("%s is damaged: %s; the diagnoses above are those before "
			     "the damage", path, rec_why(rd));
		return EXIT_RUNTIME;
	}
}

int replay_main(int argc, char **argv)
{
	struct pipeline *pipe = NULL;
	struct source *src = NULL;
	struct sink *file = NULL;
	const struct rec_header *h;
	struct rec_reader *rd;
	struct engine_config cfg;
	struct options o;
	struct output out;
	char why[512], when[64], cg_filter[CGROUP_PATH_MAX], cg_root[256];
	const char *why_cg;
	int ret = EXIT_RUNTIME;

	cli_parse_mode(argc, argv, &o, CLI_REPLAY);
	signal(SIGPIPE, on_sigpipe);
	/* The recording names the cgroups: any path is one it may hold. */
	if (o.cgroup && !cgroup_filter_resolve(o.cgroup, cgroup2_mount(cg_root, sizeof(cg_root)),
					       false, cg_filter, sizeof(cg_filter), &why_cg)) {
		report_error("--cgroup %s: %s", o.cgroup, why_cg);
		return EXIT_USAGE;
	}
	rd = rec_open(o.files[0], why, sizeof(why));
	if (!rd) {
		report_error("cannot replay %s: %s", o.files[0], why);
		return EXIT_RUNTIME;
	}
	h = rec_header(rd);
	file_source_options(h, argc, argv, &o);
	output_init(&out, stdout, o.json);
	/* The live run's clock offset: the same records carry the same times. */
	out.mono_to_real_ns = h->mono_to_real_ns;
	if (o.json)
		report_set_sink(on_error, &out);
	file_source_config(h, &o, &cfg);
	wall_str(h->wall_start_ns, when, sizeof(when));
	report_note("replaying %s: recorded on %s (Linux %s) from %s, stall %lu ms, loss %lu%%",
		    o.files[0], h->hostname[0] ? h->hostname : "an unnamed host",
		    h->kernel[0] ? h->kernel : "?", when, o.stall_ms, o.loss_pct);
	/* -o: the records into a file too, on the recording's clock. */
	if (o.output_path) {
		file = file_sink_new(&o, rec_last_ts(rd), why, sizeof(why));
		if (!file) {
			report_error("%s (hint: -o needs a writable path)", why);
			rec_close(rd);
			return EXIT_USAGE;
		}
		file_sink_set_clock(file, h->mono_to_real_ns);
	}
	pipe = pipeline_new(&o, &cfg, &out);
	if (pipe && o.cgroup)
		pipeline_set_cgroup_filter(pipe, cg_filter);
	src = pipe ? file_source_new(rd, pipe) : NULL;
	if (src) {
		if (file)
			pipeline_add_sink(pipe, file);
		pipeline_run(pipe, src, &stop);
		ret = reading_end(rd, o.files[0]);
	} else if (pipe) {
		report_error("out of memory");
	}
	fflush(stdout);
	if (file_sink_free(file) && ret == EXIT_DONE)
		ret = EXIT_RUNTIME;
	file_source_free(src);
	pipeline_free(pipe);
	rec_close(rd);
	return ret;
}
