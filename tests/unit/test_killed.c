// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of PROCESS_KILLED: a process's death (its exit by a signal,
 * the OOM killer's choice) joined with the connections its exit closed,
 * in either order; the resets of those connections pointing at it; and
 * the healthy deaths that raise nothing (an exit with no signal, a kill
 * of a process that held no connection).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diagnose.h"
#include "catalogue.h"
#include "harness.h"
#include "words.h"

#define SEC	1000000000ULL
#define MSEC	1000000ULL
#define USEC	1000ULL
#define T0	(1000 * SEC)
#define NETNS	4026531840u
#define PID	777

static bool verbose;

struct sink {
	size_t n;
	struct diagnosis d[16];
	struct diag_words w[16];
};

static void sink_fn(const struct diagnosis *d, void *ctx)
{
	struct sink *s = ctx;

	if (s->n == 16)
		abort();
	s->d[s->n] = *d;
	diag_words(d, &s->w[s->n]);
	if (verbose) {
		fprintf(stderr, "  %s %s conns=%u pid=%u: %s\n", diag_code_name(d->code),
			diag_severity_name(d->severity), d->connections, d->pid,
			s->w[s->n].summary);
		for (unsigned int i = 0; i < d->n_evidence; i++)
			fprintf(stderr, "    %s=%lld\n", d->evidence[i].name, d->evidence[i].value);
		for (unsigned int i = 0; i < s->w[s->n].n_causes; i++)
			fprintf(stderr, "    likely: %s\n", s->w[s->n].causes[i]);
	}
	s->n++;
}

static const struct diagnosis *find(const struct sink *s, enum diag_code code, size_t *i)
{
	for (size_t k = 0; k < s->n; k++)
		if (s->d[k].code == code) {
			if (i)
				*i = k;
			return &s->d[k];
		}
	return NULL;
}

static size_t count(const struct sink *s, enum diag_code code)
{
	size_t n = 0;

	for (size_t k = 0; k < s->n; k++)
		n += s->d[k].code == code;
	return n;
}

static long long ev(const struct diagnosis *d, const char *name)
{
	long long v;

	return d && diag_evidence_get(d, name, &v) ? v : -1;
}

static struct flow_key server_key(const char *client, __u16 rport)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.netns = NETNS;
	k.family = TT_AF_INET;
	k.lport = 8080;
	k.rport = rport;
	inet_pton(AF_INET, "10.0.2.10", k.laddr);
	inet_pton(AF_INET, client, k.raddr);
	return k;
}

static struct flow_key mirror(const struct flow_key *k)
{
	struct flow_key m = *k;

	memcpy(m.laddr, k->raddr, 16);
	memcpy(m.raddr, k->laddr, 16);
	m.lport = k->rport;
	m.rport = k->lport;
	return m;
}

static struct tt_event mkev(__u32 type, __u64 ts, const struct flow_key *k)
{
	struct tt_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.ts_ns = ts;
	if (k)
		e.key = *k;
	return e;
}

static void feed_state(struct engine *e, __u64 ts, const struct flow_key *k, __u8 from,
		       __u8 to, __u8 side)
{
	struct tt_event x = mkev(EV_STATE, ts, k);

	x.old_state = from;
	x.state = to;
	x.side = side;
	engine_on_event(e, &x);
}

/* A connection accepted in softirq: no owner named. */
static void feed_server_open(struct engine *e, __u64 ts, const struct flow_key *k)
{
	feed_state(e, ts, k, TT_TCP_LISTEN, TT_TCP_SYN_RECV, TT_SIDE_SERVER);
	feed_state(e, ts + MSEC, k, TT_TCP_SYN_RECV, TT_TCP_ESTABLISHED, TT_SIDE_SERVER);
}

static void feed_client_open(struct engine *e, __u64 ts, const struct flow_key *k)
{
	struct tt_event x = mkev(EV_STATE, ts, k);

	x.old_state = TT_TCP_CLOSE;
	x.state = TT_TCP_SYN_SENT;
	x.side = TT_SIDE_CLIENT;
	x.flags = EVF_PROC;
	x.pid = 4242;
	snprintf(x.comm, sizeof(x.comm), "client");
	engine_on_event(e, &x);
	feed_state(e, ts + MSEC, k, TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED, TT_SIDE_CLIENT);
}

static void feed_exit(struct engine *e, __u64 ts, int sig)
{
	struct tt_event x = mkev(EV_PROC_EXIT, ts, NULL);

	x.key.netns = NETNS;
	x.pid = PID;
	x.cgroup_id = 99;
	snprintf(x.comm, sizeof(x.comm), "server");
	x.err = sig;
	x.reason = (__u32)sig;
	x.flags = EVF_PROC;
	engine_on_event(e, &x);
}

static void feed_oom(struct engine *e, __u64 ts)
{
	struct tt_event x = mkev(EV_OOM_VICTIM, ts, NULL);

	x.key.netns = NETNS;
	x.pid = PID;
	snprintf(x.comm, sizeof(x.comm), "server");
	engine_on_event(e, &x);
}

/*
 * The dying process's close of one connection, as the kernel orders it:
 * with unread data an abort (CLOSE, then the RST, then the close record),
 * else a FIN (FIN_WAIT1).
 */
static void feed_exit_close(struct engine *e, __u64 ts, const struct flow_key *k,
			    __u32 unread)
{
	struct tt_event x = mkev(EV_EXIT_CLOSE, ts, k);

	x.pid = PID;
	x.cgroup_id = 99;
	snprintf(x.comm, sizeof(x.comm), "server");
	x.flags = EVF_PROC;
	x.side = TT_SIDE_SERVER;
	x.old_state = TT_TCP_ESTABLISHED;
	x.state = unread ? TT_TCP_CLOSE : TT_TCP_FIN_WAIT1;
	x.unread = unread;
	engine_on_event(e, &x);
	if (!unread)
		return;
	x = mkev(EV_RST_TX, ts + USEC, k);
	x.state = TT_TCP_CLOSE;
	x.reason = TT_RST_ABORT_ON_CLOSE;
	x.unread = unread;
	x.side = TT_SIDE_SERVER;
	engine_on_event(e, &x);
	feed_state(e, ts + 2 * USEC, k, TT_TCP_ESTABLISHED, TT_TCP_CLOSE, TT_SIDE_SERVER);
}

static struct engine *new_engine(void)
{
	struct engine_config cfg;

	engine_config_default(&cfg);
	return engine_new(&cfg);
}

/* SIGKILL, then its files closed (the kernel's order): one diagnosis for
 * the death, the reset of the connection with unread data linked to it. */
static void test_sigkill_server(struct test *t)
{
	struct flow_key a = server_key("10.0.1.5", 40001), b = server_key("10.0.1.6", 40002);
	struct flow_key c = server_key("10.0.1.5", 40003);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	size_t i;

	feed_server_open(e, T0, &a);
	feed_server_open(e, T0, &b);
	feed_server_open(e, T0, &c);
	feed_exit(e, T0 + SEC, 9);
	feed_exit_close(e, T0 + SEC + 10 * USEC, &a, 64);
	feed_exit_close(e, T0 + SEC + 20 * USEC, &b, 0);
	feed_exit_close(e, T0 + SEC + 30 * USEC, &c, 0);
	engine_tick(e, T0 + SEC + 200 * MSEC, sink_fn, &s);
	EXPECT_EQ(count(&s, DIAG_PROCESS_KILLED), 1);
	d = find(&s, DIAG_PROCESS_KILLED, &i);
	EXPECT_EQ(d->severity, SEV_ERROR);
	EXPECT_EQ(d->pid, PID);
	EXPECT_STR(d->comm, "server");
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	EXPECT_EQ(d->connections, 3);
	EXPECT_EQ(ev(d, "signal"), 9);
	EXPECT_EQ(ev(d, "oom_killed"), 0);
	EXPECT_EQ(ev(d, "connections_closed"), 3);
	EXPECT_EQ(ev(d, "resets_sent"), 1);
	EXPECT_EQ(ev(d, "closed_with_fin"), 2);
	EXPECT_EQ(ev(d, "peers"), 2);
	EXPECT_EQ(ev(d, "cgroup_id"), 99);
	EXPECT_EQ(d->n_peers, 2);
	EXPECT_EQ(d->peers[0].connections, 2);
	EXPECT(strstr(s.w[i].summary, "SIGKILL") && strstr(s.w[i].summary, "10.0.1.5 (2)") &&
	       strstr(s.w[i].summary, "10.0.1.6 (1)") && strstr(s.w[i].summary, "server (pid 777)"),
	       "summary: %s", s.w[i].summary);
	/* The reset points at it, and names the dying process as the owner. */
	EXPECT_EQ(count(&s, DIAG_LOCAL_RESET), 1);
	d = find(&s, DIAG_LOCAL_RESET, &i);
	EXPECT_EQ(ev(d, "killed_pid"), PID);
	EXPECT_EQ(ev(d, "killed_signal"), 9);
	EXPECT_EQ(ev(d, "killed_here"), 1);
	EXPECT_EQ(d->pid, PID);
	EXPECT(strstr(s.w[i].summary, "see PROCESS_KILLED"), "summary: %s", s.w[i].summary);
	engine_tick(e, T0 + 5 * SEC, sink_fn, &s);
	EXPECT_EQ(count(&s, DIAG_PROCESS_KILLED), 1);
out:
	engine_free(e);
}

/* The files closed first and the exit's record last, across a tick: the
 * reset waits for the death to be told, and is linked all the same. */
static void test_closes_before_exit(struct test *t)
{
	struct flow_key a = server_key("10.0.1.5", 40001);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;

	feed_server_open(e, T0, &a);
	feed_exit_close(e, T0 + SEC, &a, 64);
	engine_tick(e, T0 + SEC + 10 * USEC, sink_fn, &s);
	EXPECT(s.n == 0, "said before the death was told: %s", diag_code_name(s.d[0].code));
	feed_exit(e, T0 + SEC + 20 * USEC, 9);
	engine_tick(e, T0 + SEC + 200 * MSEC, sink_fn, &s);
	EXPECT_EQ(count(&s, DIAG_PROCESS_KILLED), 1);
	d = find(&s, DIAG_LOCAL_RESET, NULL);
	EXPECT(d, "no LOCAL_RESET");
	EXPECT_EQ(ev(d, "killed_pid"), PID);
out:
	engine_free(e);
}

/* The OOM killer's choice, then its SIGKILL. */
static void test_oom_killed(struct test *t)
{
	struct flow_key a = server_key("10.0.1.5", 40001);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	size_t i;

	feed_server_open(e, T0, &a);
	feed_oom(e, T0 + SEC);
	feed_exit(e, T0 + SEC + 2 * MSEC, 9);
	feed_exit_close(e, T0 + SEC + 3 * MSEC, &a, 0);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	d = find(&s, DIAG_PROCESS_KILLED, &i);
	EXPECT(d, "no PROCESS_KILLED");
	EXPECT_EQ(ev(d, "oom_killed"), 1);
	EXPECT_EQ(ev(d, "resets_sent"), 0);
	EXPECT(strstr(s.w[i].summary, "OOM killer") && strstr(s.w[i].causes[0], "memory"),
	       "words: %s / %s", s.w[i].summary, s.w[i].causes[0]);
	/* Closed with FINs: nothing else to say. */
	EXPECT(s.n == 1, "%zu diagnoses", s.n);
out:
	engine_free(e);
}

/* A process that exits by itself with connections open (exit(0) with a
 * request unread): the reset is said as always, with no death in it. */
static void test_normal_exit(struct test *t)
{
	struct flow_key a = server_key("10.0.1.5", 40001), b = server_key("10.0.1.6", 40002);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;

	feed_server_open(e, T0, &a);
	feed_server_open(e, T0, &b);
	feed_exit_close(e, T0 + SEC, &a, 64);
	feed_exit_close(e, T0 + SEC, &b, 0);
	for (int k = 1; k <= 20; k++)
		engine_tick(e, T0 + SEC + k * 200 * MSEC, sink_fn, &s);
	EXPECT_EQ(count(&s, DIAG_PROCESS_KILLED), 0);
	d = find(&s, DIAG_LOCAL_RESET, NULL);
	EXPECT(d, "no LOCAL_RESET");
	EXPECT_EQ(ev(d, "killed_pid"), -1);
	EXPECT_EQ(s.n, 1);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT_EQ(count(&s, DIAG_PROCESS_KILLED), 0);
out:
	engine_free(e);
}

/* A stop it did not handle (SIGTERM), every connection ended by a FIN:
 * said, as a warning; with one cut off by a reset, an error. */
static void test_sigterm_severity(struct test *t)
{
	for (int cut = 0; cut < 2; cut++) {
		struct flow_key a = server_key("10.0.1.5", 40001);
		struct flow_key b = server_key("10.0.1.6", 40002);
		struct engine *e = new_engine();
		struct sink s = {0};
		const struct diagnosis *d;

		feed_server_open(e, T0, &a);
		feed_server_open(e, T0, &b);
		feed_exit(e, T0 + SEC, 15);
		feed_exit_close(e, T0 + SEC + 10 * USEC, &a, 0);
		feed_exit_close(e, T0 + SEC + 20 * USEC, &b, cut ? 64 : 0);
		engine_tick(e, T0 + SEC + 200 * MSEC, sink_fn, &s);
		d = find(&s, DIAG_PROCESS_KILLED, NULL);
		EXPECT(d, "no PROCESS_KILLED");
		EXPECT_EQ(ev(d, "signal"), 15);
		EXPECT(d->severity == (cut ? SEV_ERROR : SEV_WARNING), "%s with %d cut off",
		       diag_severity_name(d->severity), cut);
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* Killed with no connection open (a SIGTERM it did not handle): nothing. */
static void test_killed_without_connections(struct test *t)
{
	struct flow_key a = server_key("10.0.1.5", 40001);
	struct engine *e = new_engine();
	struct sink s = {0};

	feed_server_open(e, T0, &a);
	feed_exit(e, T0 + SEC, 15);
	feed_oom(e, T0 + 2 * SEC);
	for (int k = 1; k <= 10; k++)
		engine_tick(e, T0 + SEC + k * 200 * MSEC, sink_fn, &s);
	engine_finish(e, T0 + 5 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "%zu diagnoses, the first %s", s.n, diag_code_name(s.d[0].code));
out:
	engine_free(e);
}

/* Both ends on this host (one namespace): the client's PEER_RESET points
 * at the server's death too. */
static void test_peer_reset_linked(struct test *t)
{
	struct flow_key srv = server_key("10.0.1.5", 40001), cli = mirror(&srv);
	struct engine *e = new_engine();
	struct sink s = {0};
	struct tt_event x;
	const struct diagnosis *d;
	size_t i;

	feed_client_open(e, T0, &cli);
	feed_server_open(e, T0, &srv);
	feed_exit(e, T0 + SEC, 9);
	feed_exit_close(e, T0 + SEC + 10 * USEC, &srv, 64);
	x = mkev(EV_RST_RX, T0 + SEC + 50 * USEC, &cli);
	x.state = TT_TCP_ESTABLISHED;
	x.last_data = TT_LAST_SENT;
	engine_on_event(e, &x);
	feed_state(e, T0 + SEC + 60 * USEC, &cli, TT_TCP_ESTABLISHED, TT_TCP_CLOSE,
		   TT_SIDE_CLIENT);
	engine_tick(e, T0 + SEC + 300 * MSEC, sink_fn, &s);
	EXPECT_EQ(count(&s, DIAG_PROCESS_KILLED), 1);
	d = find(&s, DIAG_PEER_RESET, &i);
	EXPECT(d, "no PEER_RESET: %zu diagnoses", s.n);
	EXPECT_EQ(ev(d, "killed_pid"), PID);
	EXPECT_EQ(ev(d, "killed_here"), 0);
	EXPECT_EQ(d->pid, 4242);
	EXPECT(strstr(s.w[i].summary, "see PROCESS_KILLED"), "summary: %s", s.w[i].summary);
out:
	engine_free(e);
}

/* A pid used again long after: the new process's death is its own. */
static void test_pid_reused(struct test *t)
{
	struct flow_key a = server_key("10.0.1.5", 40001), b = server_key("10.0.1.6", 40002);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;

	feed_server_open(e, T0, &a);
	feed_exit_close(e, T0 + SEC, &a, 0);	/* an exit with no signal */
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	feed_server_open(e, T0 + 9 * SEC, &b);
	feed_exit(e, T0 + 10 * SEC, 9);
	feed_exit_close(e, T0 + 10 * SEC + USEC, &b, 0);
	engine_tick(e, T0 + 11 * SEC, sink_fn, &s);
	d = find(&s, DIAG_PROCESS_KILLED, NULL);
	EXPECT(d, "no PROCESS_KILLED");
	EXPECT_EQ(ev(d, "connections_closed"), 1);
	EXPECT_EQ(d->peers[0].addr[3], 6);
out:
	engine_free(e);
}

static const struct test_case tests[] = {
	TEST(test_sigkill_server),
	TEST(test_closes_before_exit),
	TEST(test_oom_killed),
	TEST(test_sigterm_severity),
	TEST(test_normal_exit),
	TEST(test_killed_without_connections),
	TEST(test_peer_reset_linked),
	TEST(test_pid_reused),
};

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "-v")) {
		verbose = true;
		argc--;
		argv++;
	}
	return RUN_TESTS(tests, argc, argv);
}
