// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcptrace-bpf: trace TCP connections in the kernel and say, in plain words,
 * why two services cannot talk. main() is the tool's story: parse, open,
 * configure, load, attach, loop, detach.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "diagnose.h"
#include "drop_reason.h"
#include "kernel_report.h"
#include "netns.h"
#include "output.h"
#include "report.h"
#include "scanner.h"
#include "tracer.h"

#define POLL_MAX_MS	100	/* upper bound on how late a signal or tick is seen */
#define MAX_PROGS	32

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

struct session {
	const struct options *opts;
	struct tracer *tracer;
	struct engine *engine;
	struct output *out;
	struct ring_buffer *rb;
	__u64 now_ns;		/* time of the scan being fed */
	struct netns_set netns;	/* host-wide: the namespaces events came from */
	__u64 sockets_scanned;
	bool scan_failed;	/* reported once, then tracing goes on without scans */
	bool nic_failed;
	__u64 nic_records;	/* live nic_flows records at the last read */
	__u64 last_stats_ns;	/* JSON: the tracer's health goes out as it runs too */
	bool stats_sent;	/* the first stats record also says what the kernel lacks */
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	struct tt_event ev;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	netns_note(&s->netns, ev.key.netns);
	engine_on_event(s->engine, &ev);
	return 0;
}

static void on_socket(const struct tt_sock_scan *sock, void *ctx)
{
	struct session *s = ctx;

	engine_on_scan(s->engine, sock, s->now_ns);
	s->sockets_scanned++;
}

static void on_diagnosis(const struct diagnosis *d, void *ctx)
{
	struct session *s = ctx;

	output_diagnosis(s->out, d);
}

static void on_conn(const struct conn_record *c, void *ctx)
{
	struct session *s = ctx;

	output_conn(s->out, c, s->opts->verbose);
}

/*
 * What each of this kernel's drop reasons means to us, by name: the enum's
 * values move between kernels, its names are the stable part.
 */
static __u8 drop_classes[1024];

/*
 * Drops that are no evidence: NO_SOCKET is a closed port or a gone
 * connection, told by the reset this host answers with; the others are a
 * socket's own teardown or traffic not meant for this host.
 */
static const char *const ignored_drops[] = {
	"NOT_SPECIFIED", "NO_SOCKET", "SOCKET_CLOSE", "QUEUE_PURGE", "OTHERHOST",
	"SOCKET_RCVBUFF", "DUP_FRAG",
};

/* Before 5.17: the call sites that stand in for reasons (drop_reason.h). */
static struct drop_site drop_sites[4];
static int n_drop_sites;

static bool drop_classes_init(struct engine_config *cfg)
{
	unsigned int n = 0;

	if (!drop_reason_init()) {
		n_drop_sites = drop_reason_sites(drop_sites, sizeof(drop_sites) / sizeof(drop_sites[0]));
		if (!n_drop_sites)
			return false;
	}
	for (unsigned int r = 0; r < sizeof(drop_classes); r++) {
		const char *name = drop_reason_name(r);
		__u8 cls = DROP_LOCAL;

		if (!name)
			continue;
		n = r + 1;
		/* TCP's own discards (old data, out of window, a reset) are the
		 * protocol at work, not this host refusing the flow. */
		if (!strncmp(name, "TCP_", 4))
			cls = DROP_IGNORE;
		if (!strcmp(name, "TCP_LISTEN_OVERFLOW"))
			cls = DROP_LISTEN_OVERFLOW;
		else if (!strcmp(name, "TCP_CSUM") || !strncmp(name, "TCP_MD5", 7) ||
			 !strncmp(name, "TCP_AO", 6))
			cls = DROP_LOCAL;
		else if (!strcmp(name, "IP_OUTNOROUTES") || !strcmp(name, "IP_INNOROUTES"))
			cls = DROP_NO_ROUTE;
		for (size_t i = 0; i < sizeof(ignored_drops) / sizeof(ignored_drops[0]); i++)
			if (!strcmp(name, ignored_drops[i]))
				cls = DROP_IGNORE;
		drop_classes[r] = cls;
	}
	cfg->drop_class = drop_classes;
	cfg->n_drop_class = n;
	cfg->drop_reason_name = drop_reason_name;
	return true;
}

static bool scan_one(struct session *s, int netns_fd, int self_fd)
{
	int n = scanner_run(tracer_scan_link_fd(s->tracer), netns_fd, self_fd, on_socket, s);

	if (n >= 0)
		return true;
	report_error("socket scan failed: %s (hint: stalls and zero windows cannot be seen; "
		     "resets, refusals and losses still are)", strerror(-n));
	s->scan_failed = true;
	return false;
}

static void scan_sockets(struct session *s, __u64 now)
{
	struct netns_set *ns = &s->netns;

	if (s->scan_failed)
		return;
	s->now_ns = now;
	if (s->tracer->netns_fd >= 0) {
		if (!scan_one(s, s->tracer->netns_fd, s->tracer->self_netns_fd))
			return;
	} else {
		netns_resolve(ns);
		if (!scan_one(s, -1, -1))
			return;
		for (int i = ns->n - 1; i >= 0; i--) {	/* downwards: netns_open may forget i */
			int fd = netns_open(ns, i);
			bool ok;

			if (fd < 0)
				continue;
			ok = scan_one(s, fd, s->tracer->self_netns_fd);
			close(fd);
			if (!ok)
				return;
		}
	}
	engine_scan_end(s->engine, now);
}

static void on_nic_record(const struct flow_key *key, const struct nic_flow *nf, void *ctx)
{
	struct session *s = ctx;

	engine_on_nic(s->engine, key, nf, s->now_ns);
}

static void read_nic(struct session *s, __u64 now)
{
	int n;

	if (s->nic_failed)
		return;
	s->now_ns = now;
	n = tracer_read_nic(s->tracer, on_nic_record, s);
	if (n >= 0)
		s->nic_records = n;
	if (n < 0) {
		report_error("reading the NIC counters failed: %s (hint: diagnoses go on "
			     "from socket events alone)", strerror(-n));
		s->nic_failed = true;
	}
}

static void report_health(struct session *s, __u64 now);

static void tick(struct session *s, __u64 now)
{
	__u64 every = s->opts->conn_interval_s * 1000000000ULL;
	struct tracer_health h;

	scan_sockets(s, now);
	read_nic(s, now);
	/*
	 * The events of what the counters just showed: a SYN-ACK counted at
	 * the NIC is dropped by the stack microseconds later, and its drop
	 * event must be in before the two are judged together.
	 */
	ring_buffer__consume(s->rb);
	tracer_health(s->tracer, &h);
	engine_note_lost(s->engine, h.counters[CNT_EVENTS_LOST]);
	engine_tick(s->engine, now, on_diagnosis, s);
	/* A monitoring pipeline reading -j sees the losses as they happen. */
	if (s->opts->json && every && now - s->last_stats_ns >= every) {
		report_health(s, now);
		s->last_stats_ns = now;
	}
}

static void report_health(struct session *s, __u64 now)
{
	struct prog_stat progs[MAX_PROGS];
	struct engine_stats es;
	struct tracer_health th;
	struct health_report r = {};

	tracer_health(s->tracer, &th);
	engine_get_stats(s->engine, &es);
	r.events = th.counters[CNT_EVENTS];
	r.events_lost = th.counters[CNT_EVENTS_LOST];
	r.flows_opened = th.counters[CNT_FLOWS_NEW];
	r.flow_map_full = th.counters[CNT_FLOWS_FULL] + th.counters[CNT_NIC_FLOWS_FULL];
	r.nic_unparsed = th.counters[CNT_NIC_UNPARSED];
	r.nic_flows_opened = th.counters[CNT_NIC_FLOWS_NEW];
	/* Nothing deletes a NIC record: inserted minus present is what the LRU evicted. */
	if (r.nic_flows_opened > s->nic_records)
		r.flows_evicted_nic = r.nic_flows_opened - s->nic_records;
	r.flows_evicted_kernel = th.flows_evicted;
	r.flows_tracked = es.flows;
	r.flows_evicted_table = es.flows_evicted;
	r.scan_untracked = es.scan_untracked;
	r.sockets_scanned = s->sockets_scanned;
	r.diagnoses = es.diagnoses;
	r.attach_ms = s->tracer->attach_ms;
	r.classic = s->tracer->classic;
	r.progs = progs;
	r.n_progs = tracer_prog_stats(s->tracer, progs, MAX_PROGS);
	r.plan = s->stats_sent ? NULL : &s->tracer->plan;
	output_health(s->out, now, &r);
	s->stats_sent = true;
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

static int trace_loop(struct session *s, struct ring_buffer *rb)
{
	__u64 interval = s->opts->interval_ms * 1000000ULL;
	__u64 now = mono_ns();
	__u64 next_tick = now + interval;
	__u64 end = s->opts->duration_ms ? now + s->opts->duration_ms * 1000000ULL : 0;
	int err;

	s->last_stats_ns = now;
	while (!exiting) {
		__u64 until = end && end < next_tick ? end : next_tick;
		int timeout = until > now ? (int)((until - now + 999999) / 1000000) : 0;

		err = ring_buffer__poll(rb, timeout < POLL_MAX_MS ? timeout : POLL_MAX_MS);
		/* The kernel side wakes us only when the ring fills: drain it. */
		if (err >= 0 || err == -EINTR)
			err = ring_buffer__consume(rb);
		if (err < 0 && err != -EINTR) {
			report_error("reading kernel events failed: %s", strerror(-err));
			return EXIT_RUNTIME;
		}
		now = mono_ns();
		if (now >= next_tick) {
			tick(s, now);
			next_tick += interval;
			if (next_tick <= now)
				next_tick = now + interval;
		}
		if (end && now >= end)
			break;
	}
	/* Flush: what the kernel queued, a last look at the sockets, what is pending. */
	ring_buffer__consume(rb);
	now = mono_ns();
	tick(s, now);
	engine_finish(s->engine, now, on_diagnosis, s);
	report_health(s, now);
	return EXIT_DONE;
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

static void engine_config_from(const struct options *o, struct engine_config *cfg)
{
	engine_config_default(cfg);
	cfg->stall_ns = o->stall_ms * 1000000ULL;
	cfg->loss_pct = o->loss_pct;
	cfg->syn_retrans = o->syn_retrans;
	cfg->fold_ns = o->fold_s * 1000000000ULL;
	cfg->conn_interval_ns = o->conn_interval_s * 1000000000ULL;
	cfg->max_flows = o->max_flows;
}

int main(int argc, char **argv)
{
	struct tracer tracer = { .netns_fd = -1, .self_netns_fd = -1, .stats_fd = -1 };
	struct ring_buffer *rb = NULL;
	struct engine_config cfg;
	struct options opts;
	struct output out;
	struct session s = {};
	char nics[256], note[1024];
	int err, ret = EXIT_RUNTIME;

	cli_parse(argc, argv, &opts);
	verbose = opts.verbose;
	output_init(&out, stdout, opts.json);
	if (opts.json)
		report_to_json(&out);
	libbpf_set_print(libbpf_print);

	/* What the user typed is checked first: a wrong path is a usage error
	 * whoever runs it. */
	err = tracer_resolve_netns(&tracer, &opts);
	if (err)
		return err == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	if (tracer_check_environment(&opts))
		return EXIT_RUNTIME;

	engine_config_from(&opts, &cfg);
	drop_classes_init(&cfg);
	s.opts = &opts;
	s.tracer = &tracer;
	s.out = &out;
	netns_set_init(&s.netns);
	if (!opts.netns_path && s.tracer->self_netns_fd < 0)
		s.tracer->self_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	tracer.drop_class = cfg.drop_class;
	tracer.n_drop_class = cfg.n_drop_class;
	tracer.drop_sites = drop_sites;
	tracer.n_drop_sites = n_drop_sites;
	err = tracer_start(&tracer, &opts);
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
	/* "Nothing came back to the NIC" is only said where arrivals are counted. */
	cfg.nic_ingress = false;
	for (int i = 0; i < tracer.n_nics; i++)
		cfg.nic_ingress |= tracer.nic[i].ingress_kind != NIC_HOOK_NONE;
	s.engine = engine_new(&cfg);
	if (!s.engine) {
		report_error("out of memory for the flow table");
		goto cleanup;
	}
	engine_set_conn_sink(s.engine, on_conn, &s);
	rb = ring_buffer__new(tracer_ringbuf_fd(&tracer), on_event, &s, NULL);
	s.rb = rb;
	if (!rb) {
		report_error("cannot read the event ring buffer: %s", strerror(errno));
		goto cleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	fprintf(stderr, "tcptrace-bpf: tracing %s%s (%d programs%s, %d interface%s%s, attached in %.0f ms); "
		"Ctrl-C to stop\n",
		opts.netns_path ? "network namespace " : "every network namespace",
		opts.netns_path ? opts.netns_path : "", tracer.n_progs,
		tracer.classic ? ", classic tracepoints" : "", tracer.n_nics,
		tracer.n_nics == 1 ? "" : "s", nic_summary(&tracer, nics, sizeof(nics)),
		tracer.attach_ms);
	ret = trace_loop(&s, rb);

cleanup:
	ring_buffer__free(rb);
	tracer_stop(&tracer);
	engine_free(s.engine);
	netns_set_free(&s.netns);
	drop_reason_free();
	return ret;
}
