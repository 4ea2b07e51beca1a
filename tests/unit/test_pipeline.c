// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the pipeline (user/pipeline.c) driven by a scripted
 * source: records at given times, the source's own clock, no kernel. This
 * is how a replay of a recording will drive it: the pipeline ticks on the
 * source's time and prints what the engine says.
 */
#include <arpa/inet.h>
#include <errno.h>
#include "pipeline.h"
#include "harness.h"
#include "capture.h"

#define SEC	1000000000ULL
#define MSEC	1000000ULL
#define T0	(1000 * SEC)
#define NETNS	4026531840u

/* A recording in miniature: events, each at its time, in order. */
struct script {
	struct source base;	/* first: the pipeline sees a struct source */
	struct pipeline *pipe;
	const struct tt_event *events;
	size_t n, next;
	__u64 now;		/* the script's clock */
	__u64 lost;		/* what it says it lost */
	unsigned int samples, flushes;
	__u64 sample_ns[16];
};

static struct script *script(struct source *src)
{
	return (struct script *)src;
}

/* Everything up to until, then the clock reads until. */
static int script_poll(struct source *src, __u64 until)
{
	struct script *s = script(src);

	while (s->next < s->n && s->events[s->next].ts_ns <= until)
		pipeline_event(s->pipe, &s->events[s->next++]);
	s->now = until;
	return s->next == s->n ? 1 : 0;
}

static void script_flush(struct source *src)
{
	script(src)->flushes++;
}

static __u64 script_now(struct source *src)
{
	return script(src)->now;
}

static void script_sample(struct source *src, __u64 now)
{
	struct script *s = script(src);

	if (s->samples < sizeof(s->sample_ns) / sizeof(s->sample_ns[0]))
		s->sample_ns[s->samples] = now;
	s->samples++;
	/* A scan that found no socket still ends. */
	pipeline_scan_end(s->pipe, now);
}

static __u64 script_lost(struct source *src)
{
	return script(src)->lost;
}

static void script_health(struct source *src, struct health_report *r)
{
	r->events = script(src)->next;
	r->events_lost = script(src)->lost;
}

static const struct source_ops script_ops = {
	.poll = script_poll,
	.flush = script_flush,
	.now = script_now,
	.sample = script_sample,
	.lost = script_lost,
	.health = script_health,
};

/* The defaults, under -j. */
static void options(struct options *o)
{
	cli_defaults(o);
	o->json = true;
}

/* service-a's connect to 10.0.2.10:8080, refused: the kernel's order. */
static size_t refused_connect(struct tt_event *ev, __u64 ts)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.netns = NETNS;
	k.family = TT_AF_INET;
	k.lport = 43122;
	k.rport = 8080;
	inet_pton(AF_INET, "10.0.1.5", k.laddr);
	inet_pton(AF_INET, "10.0.2.10", k.raddr);
	memset(ev, 0, 4 * sizeof(*ev));
	for (int i = 0; i < 4; i++) {
		ev[i].key = k;
		ev[i].ts_ns = ts + (i ? MSEC : 0);
	}
	ev[0].type = EV_STATE;
	ev[0].old_state = TT_TCP_CLOSE;
	ev[0].state = TT_TCP_SYN_SENT;
	ev[0].side = TT_SIDE_CLIENT;
	ev[1].type = EV_RST_RX;
	ev[1].state = TT_TCP_SYN_SENT;
	ev[2].type = EV_STATE;
	ev[2].old_state = TT_TCP_SYN_SENT;
	ev[2].state = TT_TCP_CLOSE;
	ev[3].type = EV_SK_ERROR;
	ev[3].state = TT_TCP_CLOSE;
	ev[3].err = ECONNREFUSED;
	return 4;
}

/* Counts the lines of a type, and copies the first (for a look). */
static int count_type(const char *text, const char *type, char *first, size_t len)
{
	char needle[64];
	int n = 0;

	snprintf(needle, sizeof(needle), "{\"type\":\"%s\",", type);
	for (const char *p = text; (p = strstr(p, needle)); p++) {
		if (!n && first) {
			const char *eol = strchr(p, '\n');
			size_t l = eol ? (size_t)(eol - p) : strlen(p);

			snprintf(first, len, "%.*s", (int)(l < len ? l : len - 1), p);
		}
		n++;
	}
	return n;
}

struct run {
	struct capture cap;
	struct output out;
	struct pipeline *pipe;
	struct script src;
	int ret;
};

/* Runs the script r->src holds from start, its output caught in r->cap,
 * records going to sink too when given. */
static void run_with(struct run *r, const struct options *o, __u64 start,
		     volatile sig_atomic_t *stop, struct sink *sink)
{
	struct engine_config cfg;

	output_init(&r->out, capture_open(&r->cap), o->json);
	r->out.mono_to_real_ns = 0;
	pipeline_engine_config(o, &cfg);
	r->pipe = pipeline_new(o, &cfg, &r->out);
	if (r->pipe && sink)
		pipeline_add_sink(r->pipe, sink);
	r->src.base.ops = &script_ops;
	r->src.pipe = r->pipe;
	r->src.now = start;
	r->ret = r->pipe ? pipeline_run(r->pipe, &r->src.base, stop) : -1;
}

static void run(struct run *r, const struct options *o, __u64 start,
		volatile sig_atomic_t *stop)
{
	run_with(r, o, start, stop, NULL);
}

static void script_of(struct run *r, const struct tt_event *ev, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->src.events = ev;
	r->src.n = n;
}

static void run_free(struct run *r)
{
	pipeline_free(r->pipe);
	capture_close(&r->cap);
}

/*
 * A refused connect, recorded: the pipeline ticks on the script's clock
 * (whole intervals from its start), prints the diagnosis, the conn record
 * at the end and the stats record last.
 */
static void test_refused_replayed(struct test *t)
{
	static volatile sig_atomic_t stop;
	struct tt_event ev[4];
	struct options o;
	struct run r;
	char first[2048];
	const char *text;

	options(&o);
	script_of(&r, ev, refused_connect(ev, T0 + 500 * MSEC));
	run(&r, &o, T0, &stop);
	text = capture_text(&r.cap);
	EXPECT_EQ(r.ret, EXIT_DONE);
	/* The last record came in the first interval: one tick at T0 + 1 s,
	 * then the end: a flush and a last tick at the clock's reading. */
	EXPECT_EQ(r.src.flushes, 1);
	EXPECT_EQ(r.src.samples, 2);
	EXPECT_EQ(r.src.sample_ns[0], T0 + 1 * SEC);
	EXPECT_EQ(r.src.sample_ns[1], T0 + 1 * SEC);
	EXPECT(count_type(text, "diagnosis", first, sizeof(first)) == 1, "%s", text);
	EXPECT(strstr(first, "\"code\":\"CONNECTION_REFUSED\""), "%s", first);
	EXPECT(strstr(first, "\"summary\":\"10.0.2.10:8080 answered our SYN with RST "
			     "after 1ms: the host is up but nothing listens on port 8080\""),
	       "%s", first);
	EXPECT(strstr(first, "\"app_error\":\"ECONNREFUSED\""), "%s", first);
	EXPECT(count_type(text, "conn", first, sizeof(first)) == 1, "%s", text);
	EXPECT(strstr(first, "\"close_reason\":\"refused\""), "%s", first);
	EXPECT(count_type(text, "stats", first, sizeof(first)) == 1, "%s", text);
	EXPECT(strstr(first, "\"events\":4,\"events_lost\":0,") &&
	       strstr(first, "\"diagnoses\":1,"), "%s", first);
	/* The stats record closes the run. */
	EXPECT(strstr(text, first) > strstr(text, "\"type\":\"conn\""), "%s", text);
out:
	run_free(&r);
}

/* Events the source lost are a caveat on what is said afterwards. */
static void test_lost_events_caveat(struct test *t)
{
	static volatile sig_atomic_t stop;
	struct tt_event ev[4];
	struct options o;
	struct run r;
	char first[2048];

	options(&o);
	script_of(&r, ev, refused_connect(ev, T0 + 500 * MSEC));
	r.src.lost = 3;
	run(&r, &o, T0, &stop);
	EXPECT(count_type(capture_text(&r.cap), "diagnosis", first, sizeof(first)) == 1,
	       "%s", capture_text(&r.cap));
	EXPECT(strstr(first, "\"events_lost\":true"), "%s", first);
out:
	run_free(&r);
}

/*
 * A source that goes on: --duration ends the run at the source's time, and
 * under -j the stats record comes every conn interval as well as at the end.
 */
static void test_duration_and_stats(struct test *t)
{
	static volatile sig_atomic_t stop;
	struct tt_event ev[4];
	struct options o;
	struct run r;

	options(&o);
	o.duration_ms = 3500;
	o.conn_interval_s = 1;
	/* Far past the end: never reached. */
	script_of(&r, ev, refused_connect(ev, T0 + 100 * SEC));
	run(&r, &o, T0, &stop);
	EXPECT_EQ(r.ret, EXIT_DONE);
	EXPECT_EQ(r.src.next, 0);
	/* Ticks at 1, 2, 3 s, and the last one at 3.5 s. */
	EXPECT_EQ(r.src.samples, 4);
	EXPECT_EQ(r.src.sample_ns[2], T0 + 3 * SEC);
	EXPECT_EQ(r.src.sample_ns[3], T0 + 3500 * MSEC);
	EXPECT_EQ(count_type(capture_text(&r.cap), "stats", NULL, 0), 4);
	EXPECT_EQ(count_type(capture_text(&r.cap), "diagnosis", NULL, 0), 0);
out:
	run_free(&r);
}

/* Stopped before it began (a signal): it still flushes and reports. */
static void test_stopped(struct test *t)
{
	static volatile sig_atomic_t stop = 1;
	struct tt_event ev[4];
	struct options o;
	struct run r;

	options(&o);
	o.json = false;
	script_of(&r, ev, refused_connect(ev, T0 + 500 * MSEC));
	run(&r, &o, T0, &stop);
	EXPECT_EQ(r.ret, EXIT_DONE);
	EXPECT_EQ(r.src.flushes, 1);
	EXPECT_EQ(r.src.samples, 1);
	EXPECT_STR(capture_text(&r.cap),
		   "tcptrace-bpf: 0 events (0 lost), 0 flows opened, 0 tracked, 0 evicted "
		   "(kernel map 0, NIC map 0, flow table 0, map full 0), 0 diagnoses\n");
out:
	run_free(&r);
}

/* The last occurrence of needle in text. */
static const char *strrstr_last(const char *text, const char *needle)
{
	const char *last = NULL;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		last = p;
	return last;
}

/* A sink that keeps what it was given, and when. */
struct tally {
	struct sink base;	/* first */
	int diagnoses, conns, healths, ticks;
	__u64 health_ns[8], last_tick_ns;
	__u64 events_seen;	/* the latest health's event count */
};

static void tally_diagnosis(struct sink *s, const struct diagnosis *d)
{
	(void)d;
	((struct tally *)s)->diagnoses++;
}

static void tally_conn(struct sink *s, const struct conn_record *c)
{
	(void)c;
	((struct tally *)s)->conns++;
}

static void tally_health(struct sink *s, __u64 now, const struct health_report *h)
{
	struct tally *t = (struct tally *)s;

	if (t->healths < 8)
		t->health_ns[t->healths] = now;
	t->healths++;
	t->events_seen = h->events;
}

static void tally_tick(struct sink *s, __u64 now)
{
	((struct tally *)s)->ticks++;
	((struct tally *)s)->last_tick_ns = now;
}

static const struct sink_ops tally_ops = {
	.diagnosis = tally_diagnosis,
	.conn = tally_conn,
	.health = tally_health,
	.tick = tally_tick,
};

/*
 * A sink (a file, the metrics, a collector) gets every diagnosis and conn
 * record, a tick each interval and one at the end, and the tracer's
 * health as often as it asks (here every 2 s, though stats records come
 * every 60 s); text stdout still prints its one summary at the end only.
 */
static void test_sinks(struct test *t)
{
	static volatile sig_atomic_t stop;
	struct tally tally = { .base = { .ops = &tally_ops, .health_every_ns = 2 * SEC } };
	struct tt_event ev[5];
	struct options o;
	struct run r;
	const char *text;

	options(&o);
	o.json = false;
	o.duration_ms = 5500;
	refused_connect(ev, T0 + 500 * MSEC);
	/* One more, past the end: the source goes on until the duration. */
	ev[4] = ev[3];
	ev[4].ts_ns = T0 + 100 * SEC;
	script_of(&r, ev, 5);
	run_with(&r, &o, T0, &stop, &tally.base);
	text = capture_text(&r.cap);
	EXPECT_EQ(r.ret, EXIT_DONE);
	EXPECT_EQ(tally.diagnoses, 1);
	EXPECT_EQ(tally.conns, 1);
	/* Ticks at 1..5 s, the last one at 5.5 s, and one more after the
	 * records the end brings (a file's gzip flushed behind them). */
	EXPECT_EQ(tally.ticks, 7);
	EXPECT_EQ(tally.last_tick_ns, T0 + 5500 * MSEC);
	/* Health at 1 s (none yet), 3 s, 5 s, and the final one. */
	EXPECT_EQ(tally.healths, 4);
	EXPECT_EQ(tally.health_ns[0], T0 + 1 * SEC);
	EXPECT_EQ(tally.health_ns[1], T0 + 3 * SEC);
	EXPECT_EQ(tally.health_ns[2], T0 + 5 * SEC);
	EXPECT_EQ(tally.health_ns[3], T0 + 5500 * MSEC);
	EXPECT_EQ(tally.events_seen, 4);
	EXPECT(strstr(text, "CONNECTION_REFUSED"), "%s", text);
	EXPECT_EQ(count_type(text, "stats", NULL, 0), 0);
	/* One summary, at the end. */
	EXPECT(strstr(text, "tcptrace-bpf: 4 events (0 lost)") &&
	       strstr(text, "tcptrace-bpf: ") == strrstr_last(text, "tcptrace-bpf: "), "%s", text);
out:
	run_free(&r);
}

static const struct test_case tests[] = {
	TEST(test_refused_replayed),
	TEST(test_lost_events_caveat),
	TEST(test_duration_and_stats),
	TEST(test_stopped),
	TEST(test_sinks),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
