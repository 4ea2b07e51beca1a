// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the engine on everyday traffic that looks like a fault, and
 * on the faults that look like it (issue 7, misreadings and false alarms):
 * this host's own aborts, resets that cut nothing off, scans of closed
 * ports, firewalled SYNs nobody listens for, qdisc drops, one-way flows,
 * and where the lost-events caveat belongs. Each case runs for IPv4 and
 * IPv6. No root, no kernel, no clock.
 *
 * One line per test: "PASS <name>" or "FAIL <name>: <reason>"; the exit
 * status is nonzero when any test failed. -v prints every diagnosis.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "catalogue.h"
#include "diagnose.h"
#include "harness.h"
#include "words.h"

#define SEC	1000000000ULL
#define MSEC	1000000ULL
#define T0	(1000 * SEC)
#define NETNS	4026531840u

static bool verbose;

/* ---- what the engine emits -------------------------------------------- */

struct sink {
	size_t n;
	struct diagnosis d[64];
	struct diag_words w[64];
};

static void sink_fn(const struct diagnosis *d, void *ctx)
{
	struct sink *s = ctx;

	if (s->n == sizeof(s->d) / sizeof(s->d[0]))
		abort();
	s->d[s->n] = *d;
	diag_words(d, &s->w[s->n]);
	if (verbose)
		fprintf(stderr, "  %s %s conns=%u lost=%d: %s\n", diag_code_name(d->code),
			diag_severity_name(d->severity), d->connections, d->events_lost,
			s->w[s->n].summary);
	s->n++;
}

static const struct diagnosis *find_code(const struct sink *s, enum diag_code code)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->d[i].code == code)
			return &s->d[i];
	return NULL;
}

static size_t count_code(const struct sink *s, enum diag_code code)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->d[i].code == code;
	return n;
}

/* Diagnoses above info: what would wake someone. */
static size_t alarms(const struct sink *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->d[i].severity > SEV_INFO;
	return n;
}

static const char *sink_str(const struct sink *s)
{
	static char buf[512];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && off < sizeof(buf) - 48; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s/%s(x%u)",
				i ? "," : "", diag_code_name(s->d[i].code),
				diag_severity_name(s->d[i].severity), s->d[i].connections);
	return s->n ? buf : "nothing";
}

static long long ev_val(const struct diagnosis *d, const char *name)
{
	long long v;

	return d && diag_evidence_get(d, name, &v) ? v : -1;
}

/* ---- inputs ----------------------------------------------------------- */

/* The lab's two services in one family: a at .5, b at .10 (service port 8080). */
struct fam {
	const char *name;
	int af;
	const char *a, *b, *c, *router;
};

static const struct fam fams[] = {
	{ "v4", TT_AF_INET, "10.0.1.5", "10.0.2.10", "10.0.1.6", "10.0.2.1" },
	{ "v6", TT_AF_INET6, "fd00:1::5", "fd00:2::10", "fd00:1::6", "fd00:2::1" },
};

static struct flow_key mkkey(const struct fam *fm, const char *laddr, __u16 lport,
			     const char *raddr, __u16 rport)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.netns = NETNS;
	k.family = fm->af;
	k.lport = lport;
	k.rport = rport;
	inet_pton(fm->af == TT_AF_INET ? AF_INET : AF_INET6, laddr, k.laddr);
	inet_pton(fm->af == TT_AF_INET ? AF_INET : AF_INET6, raddr, k.raddr);
	return k;
}

/* service-a calling service-b:8080, and service-b's view of it. */
static struct flow_key client_key(const struct fam *fm, __u16 lport)
{
	return mkkey(fm, fm->a, lport, fm->b, 8080);
}

static struct flow_key server_key(const struct fam *fm, __u16 rport)
{
	return mkkey(fm, fm->b, 8080, fm->a, rport);
}

static struct tt_event mkev(__u32 type, __u64 ts, const struct flow_key *k)
{
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.ts_ns = ts;
	ev.key = *k;
	return ev;
}

static void feed_state(struct engine *e, __u64 ts, const struct flow_key *k,
		       __u8 from, __u8 to, __u8 side)
{
	struct tt_event ev = mkev(EV_STATE, ts, k);

	ev.old_state = from;
	ev.state = to;
	ev.side = side;
	engine_on_event(e, &ev);
}

static void feed_open(struct engine *e, __u64 ts, const struct flow_key *k, bool client)
{
	if (client) {
		feed_state(e, ts, k, TT_TCP_CLOSE, TT_TCP_SYN_SENT, TT_SIDE_CLIENT);
		feed_state(e, ts + MSEC, k, TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
			   TT_SIDE_CLIENT);
	} else {
		feed_state(e, ts, k, TT_TCP_LISTEN, TT_TCP_SYN_RECV, TT_SIDE_SERVER);
		feed_state(e, ts + MSEC, k, TT_TCP_SYN_RECV, TT_TCP_ESTABLISHED,
			   TT_SIDE_SERVER);
	}
}

/* The socket's close, with its totals (data bytes each way). */
static void feed_close(struct engine *e, __u64 ts, const struct flow_key *k, __u8 from,
		       __u64 acked, __u64 received, bool client)
{
	struct tt_event ev = mkev(EV_STATE, ts, k);

	ev.old_state = from;
	ev.state = TT_TCP_CLOSE;
	/* tcpi_bytes_acked counts a client's SYN */
	ev.bytes_acked = acked + (client ? 1 : 0);
	ev.bytes_received = received;
	ev.segs_out = ev.segs_in = 4;
	/* as feed_scan counts them */
	ev.data_segs_out = acked ? (__u32)(acked / 100) + 1 : 0;
	ev.data_segs_in = received ? (__u32)(received / 100) + 1 : 0;
	ev.path[0] = client ? TT_TCP_SYN_SENT : TT_TCP_SYN_RECV;
	ev.path[1] = TT_TCP_ESTABLISHED;
	ev.path[2] = from == TT_TCP_ESTABLISHED ? TT_TCP_CLOSE : from;
	engine_on_event(e, &ev);
}

/* A reset as the kernel reports it, with what it cut off. */
static void feed_rst(struct engine *e, __u32 type, __u64 ts, const struct flow_key *k,
		     __u8 state, __u32 reason, __u32 unsent, __u32 unread, __u8 last)
{
	struct tt_event ev = mkev(type, ts, k);

	ev.state = state;
	ev.reason = reason;
	ev.unsent = unsent;
	ev.unread = unread;
	ev.last_data = last;
	engine_on_event(e, &ev);
}

/* A snapshot: sent bytes written (unacked of them not acknowledged),
 * rcvd received of which read were read. */
struct view {
	__u8 state;
	__u64 sent, unacked, rcvd, read;
};

static void feed_scan(struct engine *e, __u64 now, const struct flow_key *k,
		      const struct view *v)
{
	struct tt_sock_scan s;

	memset(&s, 0, sizeof(s));
	s.key = *k;
	s.state = v->state ? v->state : TT_TCP_ESTABLISHED;
	s.write_seq = 1000 + (__u32)v->sent;
	s.snd_nxt = s.write_seq;
	s.snd_una = s.write_seq - (__u32)v->unacked;
	s.rcv_nxt = 5000 + (__u32)v->rcvd;
	s.copied_seq = 5000 + (__u32)v->read;
	s.snd_wnd = s.rcv_wnd = 65535;
	s.srtt_us = 1000;
	s.min_rtt_us = 800;
	s.data_segs_out = (__u32)(v->sent / 100) + 1;
	s.bytes_sent = v->sent;
	s.bytes_acked = v->sent - v->unacked + 1;
	s.bytes_received = v->rcvd;
	s.mss = 1448;
	engine_on_scan(e, &s, now);
}

/* One scan of one flow, closed and judged at now. */
static void scan_tick(struct engine *e, __u64 now, const struct flow_key *k,
		      const struct view *v, struct sink *s)
{
	feed_scan(e, now, k, v);
	engine_scan_end(e, now);
	engine_tick(e, now, sink_fn, s);
}

static void feed_listen(struct engine *e, __u64 now, const struct flow_key *k)
{
	struct tt_sock_scan s;

	memset(&s, 0, sizeof(s));
	s.key.netns = k->netns;
	s.key.family = k->family;
	s.key.lport = k->lport;
	memcpy(s.key.laddr, k->laddr, sizeof(s.key.laddr));
	s.state = TT_TCP_LISTEN;
	s.max_ack_backlog = 128;
	engine_on_scan(e, &s, now);
}

/* The NIC's record of a flow: packets in, of them RSTs. */
static void feed_nic(struct engine *e, __u64 now, const struct flow_key *k,
		     __u32 pkts_in, __u32 rst_in)
{
	struct nic_flow nf;

	memset(&nf, 0, sizeof(nf));
	nf.dir[NIC_IN].pkts = pkts_in;
	nf.dir[NIC_IN].rst = rst_in;
	nf.dir[NIC_OUT].pkts = pkts_in;
	engine_on_nic(e, k, &nf, now);
}

/* Drop reasons as main() names them from BTF: made-up values. */
enum { R_NETFILTER_DROP = 8, R_QDISC_DROP = 20, R_MAX = 32 };

static const __u8 drop_class[R_MAX] = {
	[R_NETFILTER_DROP] = DROP_LOCAL,
	[R_QDISC_DROP] = DROP_QDISC,
};

static const char *drop_name(unsigned int reason)
{
	return reason == R_NETFILTER_DROP ? "NETFILTER_DROP" :
	       reason == R_QDISC_DROP ? "QDISC_DROP" : NULL;
}

static struct engine *new_engine(void)
{
	struct engine_config cfg;

	engine_config_default(&cfg);
	cfg.drop_class = drop_class;
	cfg.n_drop_class = R_MAX;
	cfg.drop_reason_name = drop_name;
	return engine_new(&cfg);
}

static void feed_drop(struct engine *e, __u64 ts, const struct flow_key *k,
		      __u32 reason, bool inbound, __u8 tcp_flags)
{
	struct tt_event ev = mkev(EV_DROP, ts, k);

	ev.reason = reason;
	ev.tcp_flags = tcp_flags;
	if (inbound)
		ev.flags |= EVF_INBOUND;
	if ((tcp_flags & (TT_TCP_SYN | TT_TCP_ACK)) == TT_TCP_SYN) {
		ev.flags |= EVF_SYN;
		ev.side = TT_SIDE_SERVER;
	}
	engine_on_event(e, &ev);
}

/* ---- this host's own aborts ------------------------------------------- */

/*
 * The client shut both halves after its answer came; the server writes on
 * and the client's kernel aborts on the data: tcp_receive_reset fires (a
 * "received" reset), then the socket sends its own. how: 0 the reset's
 * reason given (6.10+), 1 none given (older kernels), 2 the socket's own
 * reset unseen but the NIC saw no RST arrive.
 */
static void abort_on_data(struct test *t, const struct fam *fm, int how)
{
	struct flow_key k = client_key(fm, 40001);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;

	feed_open(e, T0, &k, true);
	feed_rst(e, EV_RST_RX, T0 + 2 * SEC, &k, TT_TCP_FIN_WAIT2, 0, 0, 0,
		 TT_LAST_RECEIVED);
	feed_close(e, T0 + 2 * SEC, &k, TT_TCP_FIN_WAIT2, 64, 64, true);
	if (how == 0 || how == 1)
		feed_rst(e, EV_RST_TX, T0 + 2 * SEC, &k, TT_TCP_CLOSE,
			 how == 0 ? TT_RST_ABORT_ON_DATA : 0, 0, 0, TT_LAST_RECEIVED);
	else
		feed_nic(e, T0 + 3 * SEC, &k, 6, 0);
	engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(!find_code(&s, DIAG_PEER_RESET), "%s: its own abort told as the peer's: %s",
	       fm->name, sink_str(&s));
	d = find_code(&s, DIAG_LOCAL_RESET);
	EXPECT(d && s.n == 1, "%s: got %s", fm->name, sink_str(&s));
	EXPECT_EQ(d->severity, SEV_INFO);
	EXPECT_EQ(ev_val(d, "rst_reason"), TT_RST_ABORT_ON_DATA);
	EXPECT_EQ(ev_val(d, "request_pending"), 0);
out:
	engine_free(e);
}

static void test_local_abort_with_reason(struct test *t)
{
	for (size_t i = 0; i < 2; i++)
		abort_on_data(t, &fams[i], 0);
}

static void test_local_abort_without_reason(struct test *t)
{
	for (size_t i = 0; i < 2; i++)
		abort_on_data(t, &fams[i], 1);
}

static void test_local_abort_told_by_nic(struct test *t)
{
	for (size_t i = 0; i < 2; i++)
		abort_on_data(t, &fams[i], 2);
}

/* A reset that did arrive (the NIC counted it) stays the peer's. */
static void test_peer_reset_confirmed_by_nic(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key k = client_key(fm, 40002);
		struct engine *e = new_engine();
		struct sink s = {0};
		const struct diagnosis *d;

		feed_open(e, T0, &k, true);
		/* our request is out; the peer resets instead of answering */
		feed_rst(e, EV_RST_RX, T0 + 2 * SEC, &k, TT_TCP_ESTABLISHED, 0, 0, 0,
			 TT_LAST_SENT);
		feed_close(e, T0 + 2 * SEC, &k, TT_TCP_ESTABLISHED, 64, 0, true);
		feed_nic(e, T0 + 3 * SEC, &k, 3, 1);
		engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
		d = find_code(&s, DIAG_PEER_RESET);
		EXPECT(d && s.n == 1, "%s: got %s", fm->name, sink_str(&s));
		EXPECT_EQ(d->severity, SEV_ERROR);
		EXPECT_EQ(ev_val(d, "request_pending"), 1);
		EXPECT(strstr(s.w[0].summary, "cutting off a pending request"), "summary: %s",
		       s.w[0].summary);
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* Data after the close while the client still waited for an answer (it
 * gave up): the late answer's abort cut off a pending request. */
static void test_local_abort_on_pending_request(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key k = client_key(fm, 40003);
		struct engine *e = new_engine();
		struct sink s = {0};
		const struct diagnosis *d;

		feed_open(e, T0, &k, true);
		feed_rst(e, EV_RST_RX, T0 + 5 * SEC, &k, TT_TCP_FIN_WAIT2, 0, 0, 0,
			 TT_LAST_SENT);
		feed_close(e, T0 + 5 * SEC, &k, TT_TCP_FIN_WAIT2, 64, 0, true);
		feed_rst(e, EV_RST_TX, T0 + 5 * SEC, &k, TT_TCP_CLOSE, TT_RST_ABORT_ON_DATA,
			 0, 0, TT_LAST_SENT);
		engine_tick(e, T0 + 6 * SEC, sink_fn, &s);
		d = find_code(&s, DIAG_LOCAL_RESET);
		EXPECT(d && s.n == 1, "%s: got %s", fm->name, sink_str(&s));
		EXPECT_EQ(d->severity, SEV_ERROR);
		EXPECT_EQ(ev_val(d, "request_pending"), 1);
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/*
 * The client gives up on a delivered request and closes with SO_LINGER 0:
 * the kernel sets CLOSE, then sends the reset (TCP_STATE, or no reason
 * before 6.10). That reset is the close, cutting off the pending request:
 * an error, and no late answer (none came).
 */
static void test_linger0_give_up(struct test *t)
{
	for (size_t i = 0; i < 4; i++) {
		const struct fam *fm = &fams[i % 2];
		struct flow_key k = client_key(fm, 40005);
		struct view asked = { .sent = 64 };
		struct engine *e = new_engine();
		struct sink s = {0};
		const struct diagnosis *d;

		feed_open(e, T0, &k, true);
		scan_tick(e, T0 + 200 * MSEC, &k, &asked, &s);
		scan_tick(e, T0 + 400 * MSEC, &k, &asked, &s);
		feed_close(e, T0 + SEC, &k, TT_TCP_ESTABLISHED, 64, 0, true);
		feed_rst(e, EV_RST_TX, T0 + SEC + 20000, &k, TT_TCP_CLOSE,
			 i < 2 ? TT_RST_TCP_STATE : TT_RST_NOT_GIVEN, 0, 0, TT_LAST_SENT);
		engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
		d = find_code(&s, DIAG_LOCAL_RESET);
		EXPECT(d, "%s: the abortive close not told: %s", fm->name, sink_str(&s));
		EXPECT_EQ(d->severity, SEV_ERROR);
		EXPECT_EQ(ev_val(d, "request_pending"), 1);
		for (size_t j = 0; j < s.n; j++)
			EXPECT(ev_val(&s.d[j], "answered_late") <= 0,
			       "%s: %s says an answer came", fm->name,
			       diag_code_name(s.d[j].code));
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* A TIME_WAIT socket answering a stray segment resets no connection. */
static void test_timewait_reset_silent(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key k = client_key(fm, 40004);
		struct engine *e = new_engine();
		struct sink s = {0};
		struct tt_event ev;

		feed_open(e, T0, &k, true);
		feed_state(e, T0 + SEC, &k, TT_TCP_FIN_WAIT2, TT_TCP_CLOSE, 0);
		ev = mkev(EV_RST_TX, T0 + 2 * SEC, &k);
		ev.flags = EVF_NO_SOCKET;
		ev.state = TT_TCP_TIME_WAIT;
		ev.reason = TT_RST_TIMEWAIT_SOCKET;
		engine_on_event(e, &ev);
		engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
		engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
		EXPECT(s.n == 0, "%s: got %s", fm->name, sink_str(&s));
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* ---- resets that cut nothing off -------------------------------------- */

/*
 * A pooled connection ends with SO_LINGER 0 after its last answer: the
 * client's reset (TCP_STATE) and the server's view of it, whose last answer
 * the reset acknowledged in the client's stead. Both notes.
 */
static void test_pool_linger0_info(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key kc = client_key(fm, 40010), ks = server_key(fm, 40010);
		struct engine *ec = new_engine(), *es = new_engine();
		struct sink sc = {0}, ss = {0};

		feed_open(ec, T0, &kc, true);
		feed_close(ec, T0 + 10 * MSEC, &kc, TT_TCP_ESTABLISHED, 192, 192, true);
		/* the clocks tie within one tick: data both ways decides nothing */
		feed_rst(ec, EV_RST_TX, T0 + 10 * MSEC, &kc, TT_TCP_CLOSE, TT_RST_TCP_STATE,
			 0, 0, TT_LAST_UNKNOWN);
		feed_open(es, T0, &ks, false);
		feed_rst(es, EV_RST_RX, T0 + 10 * MSEC, &ks, TT_TCP_ESTABLISHED, 0, 0, 0,
			 TT_LAST_SENT);
		feed_close(es, T0 + 10 * MSEC, &ks, TT_TCP_ESTABLISHED, 128, 192, false);
		engine_tick(ec, T0 + SEC, sink_fn, &sc);
		engine_tick(es, T0 + SEC, sink_fn, &ss);
		EXPECT(sc.n == 1 && sc.d[0].code == DIAG_LOCAL_RESET &&
		       sc.d[0].severity == SEV_INFO, "%s client: %s", fm->name, sink_str(&sc));
		EXPECT(ss.n == 1 && ss.d[0].code == DIAG_PEER_RESET &&
		       ss.d[0].severity == SEV_INFO, "%s server: %s", fm->name, sink_str(&ss));
		EXPECT(strstr(ss.w[0].causes[0], "no fault"), "cause: %s", ss.w[0].causes[0]);
out:
		engine_free(ec);
		engine_free(es);
		if (t->failed)
			return;
	}
}

/* A TCP health check: connect, then an abortive close, no byte either way. */
static void test_health_check_info(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key ks = server_key(fm, 40011);
		struct engine *e = new_engine();
		struct sink s = {0};

		feed_open(e, T0, &ks, false);
		feed_rst(e, EV_RST_RX, T0 + 2 * MSEC, &ks, TT_TCP_ESTABLISHED, 0, 0, 0,
			 TT_LAST_UNKNOWN);
		feed_close(e, T0 + 2 * MSEC, &ks, TT_TCP_ESTABLISHED, 0, 0, false);
		engine_tick(e, T0 + SEC, sink_fn, &s);
		EXPECT(s.n == 1 && alarms(&s) == 0, "%s: got %s", fm->name, sink_str(&s));
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* Resets that do cut something off stay errors: data unread, data never
 * sent, a request the server had not answered, an answer the client's
 * FIN came before. */
static void test_reset_cut_off_error(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key k1 = server_key(fm, 40020), k2 = server_key(fm, 40021);
		struct flow_key k3 = server_key(fm, 40022), k4 = server_key(fm, 40023);
		struct view asked = { .rcvd = 64, .read = 64 };
		struct engine *e = new_engine();
		struct sink s = {0};

		/* 1. closed with a request unread (TCP_ABORT_ON_CLOSE) */
		feed_open(e, T0, &k1, false);
		feed_close(e, T0 + SEC, &k1, TT_TCP_ESTABLISHED, 0, 500, false);
		feed_rst(e, EV_RST_TX, T0 + SEC, &k1, TT_TCP_CLOSE, TT_RST_ABORT_ON_CLOSE,
			 0, 500, TT_LAST_RECEIVED);
		/* 2. the peer reset with our answer still unsent */
		feed_open(e, T0, &k2, false);
		feed_rst(e, EV_RST_RX, T0 + SEC, &k2, TT_TCP_ESTABLISHED, 0, 9000, 0,
			 TT_LAST_SENT);
		/* 3. the peer reset while we owed an answer (we sent nothing) */
		feed_open(e, T0, &k3, false);
		feed_rst(e, EV_RST_RX, T0 + SEC, &k3, TT_TCP_ESTABLISHED, 0, 0, 0,
			 TT_LAST_UNKNOWN);
		feed_close(e, T0 + SEC, &k3, TT_TCP_ESTABLISHED, 0, 64, false);
		/* 4. the client asked, waited, closed; our late answer met a reset */
		feed_open(e, T0, &k4, false);
		feed_scan(e, T0 + 200 * MSEC, &k4, &asked);
		engine_scan_end(e, T0 + 200 * MSEC);
		feed_rst(e, EV_RST_RX, T0 + SEC, &k4, TT_TCP_CLOSE_WAIT, 0, 0, 1,
			 TT_LAST_SENT);
		feed_close(e, T0 + SEC, &k4, TT_TCP_CLOSE_WAIT, 0, 64, false);
		engine_finish(e, T0 + 2 * SEC, sink_fn, &s);
		EXPECT(count_code(&s, DIAG_LOCAL_RESET) == 1 &&
		       count_code(&s, DIAG_PEER_RESET) == 1, "%s: got %s", fm->name,
		       sink_str(&s));
		EXPECT(alarms(&s) == s.n, "%s: a cut-off told as a note: %s", fm->name,
		       sink_str(&s));
		EXPECT_EQ(find_code(&s, DIAG_PEER_RESET)->connections, 3);
		EXPECT_EQ(ev_val(find_code(&s, DIAG_LOCAL_RESET), "unread_bytes"), 500);
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* The keep-alive race: the client closed an idle connection (its FIN came
 * first) while this server wrote an unsolicited line; nobody waited. */
static void test_keepalive_close_info(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key k = server_key(fm, 40030);
		struct view answered = { .sent = 64, .rcvd = 64, .read = 64 };
		struct view fin = { .state = TT_TCP_CLOSE_WAIT, .sent = 64, .rcvd = 65, .read = 64 };
		struct engine *e = new_engine();
		struct sink s = {0};

		feed_open(e, T0, &k, false);
		scan_tick(e, T0 + 200 * MSEC, &k, &answered, &s);
		/* the client's FIN: a sequence number, no request */
		scan_tick(e, T0 + 400 * MSEC, &k, &fin, &s);
		feed_rst(e, EV_RST_RX, T0 + SEC, &k, TT_TCP_CLOSE_WAIT, 0, 0, 1, TT_LAST_SENT);
		feed_close(e, T0 + SEC, &k, TT_TCP_CLOSE_WAIT, 64, 65, false);
		engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
		EXPECT(s.n == 1 && s.d[0].code == DIAG_PEER_RESET &&
		       s.d[0].severity == SEV_INFO, "%s: got %s", fm->name, sink_str(&s));
		EXPECT_EQ(ev_val(&s.d[0], "unread_bytes"), 0);
		EXPECT(strstr(s.w[0].causes[0], "its FIN came first"), "cause: %s",
		       s.w[0].causes[0]);
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* ---- closed ports and firewalled SYNs ---------------------------------- */

static void refuse(struct engine *e, __u64 ts, const struct flow_key *k)
{
	struct tt_event ev = mkev(EV_RST_TX, ts, k);

	ev.flags = EVF_NO_SOCKET | EVF_SYN;
	ev.reason = 1;
	engine_on_event(e, &ev);
}

/*
 * A scan knocks once from each of two sources: notes, folded. Then one
 * client retries three times: an error, said at once (the group had only
 * said a note), not after the fold window.
 */
static void test_port_closed_scan_and_retry(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key s1 = mkkey(fm, fm->b, 8080, fm->router, 50001);
		struct flow_key s2 = mkkey(fm, fm->b, 8080, fm->c, 50002);
		struct engine *e = new_engine();
		struct sink s = {0};
		const struct diagnosis *d;

		refuse(e, T0, &s1);
		refuse(e, T0 + MSEC, &s2);
		engine_tick(e, T0 + SEC, sink_fn, &s);
		EXPECT(s.n == 1 && s.d[0].severity == SEV_INFO && s.d[0].connections == 2,
		       "%s: scan: %s", fm->name, sink_str(&s));
		for (int r = 0; r < 3; r++) {
			struct flow_key k = server_key(fm, 50010 + r);

			refuse(e, T0 + 2 * SEC + r * MSEC, &k);
		}
		engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
		EXPECT(s.n == 2, "%s: the retries waited for the fold window: %s", fm->name,
		       sink_str(&s));
		d = &s.d[1];
		EXPECT_EQ(d->severity, SEV_ERROR);
		EXPECT_EQ(ev_val(d, "client_syns"), 3);
		EXPECT(strstr(s.w[1].summary, "tried 3 times"), "summary: %s", s.w[1].summary);
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* The first diagnosis of code whose evidence has (or lacks) "ports". */
static const struct diagnosis *find_scan(const struct sink *s, enum diag_code code,
					 bool scan, size_t *at)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->d[i].code == code && diag_evidence_get(&s->d[i], "ports", NULL) == scan) {
			if (at)
				*at = i;
			return &s->d[i];
		}
	return NULL;
}

/*
 * The router scans 50 closed ports of service-b over 2 s, one SYN each,
 * while three clients knock once on 8080: the clients fold by endpoint as
 * ever (one note, 3 connections), the scan into one note that waits for
 * the scan to end and says how many ports, which, over how long. Then the
 * scanner retries one scanned port: its third SYN is an error, told at
 * once on its own, never folded into (nor raised by) the scan.
 */
static void test_port_scan_one_note(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		const char *third = fm->af == TT_AF_INET ? "10.0.1.7" : "fd00:1::7";
		const char *knockers[3] = { fm->a, fm->c, third };
		struct engine *e = new_engine();
		struct sink s = {0};
		const struct diagnosis *d;
		size_t at = 0;
		int p;

		for (p = 0; p < 3; p++) {
			struct flow_key k = mkkey(fm, fm->b, 8080, knockers[p], 51000 + p);

			refuse(e, T0 + p * MSEC, &k);
		}
		for (p = 0; p < 50; p++) {
			struct flow_key k = mkkey(fm, fm->b, 20 + p, fm->router, 40000 + p);

			refuse(e, T0 + p * 40 * MSEC, &k);
			if (p == 24)	/* the scan goes on across ticks */
				engine_tick(e, T0 + SEC, sink_fn, &s);
		}
		engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
		EXPECT(s.n == 1, "%s: only the clients' note before the scan ends: %s",
		       fm->name, sink_str(&s));
		d = &s.d[0];
		EXPECT(d->code == DIAG_PORT_CLOSED && d->key.lport == 8080 &&
		       d->connections == 3 && d->severity == SEV_INFO &&
		       !diag_evidence_get(d, "ports", NULL),
		       "%s: the clients of 8080: %s", fm->name, sink_str(&s));
		engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
		EXPECT(s.n == 2, "%s: the scan in one line: %s", fm->name, sink_str(&s));
		d = &s.d[1];
		EXPECT_EQ(d->code, DIAG_PORT_CLOSED);
		EXPECT_EQ(d->severity, SEV_INFO);
		EXPECT_EQ(d->connections, 50);
		EXPECT_EQ(ev_val(d, "ports"), 50);
		EXPECT_EQ(ev_val(d, "port_lowest"), 20);
		EXPECT_EQ(ev_val(d, "port_highest"), 69);
		EXPECT_EQ(ev_val(d, "scan_ms"), 49 * 40);
		EXPECT(strstr(s.w[1].summary, "port scan: 50 closed ports of ") &&
		       strstr(s.w[1].summary, fm->router) && strstr(s.w[1].summary, "(20-69)"),
		       "%s: summary: %s", fm->name, s.w[1].summary);

		/* The scanner comes back to port 25 twice: the first is one
		 * more knock of the scan, the second its third SYN there. */
		for (p = 0; p < 2; p++) {
			struct flow_key k = mkkey(fm, fm->b, 25, fm->router, 41000 + p);

			refuse(e, T0 + 4 * SEC + p * MSEC, &k);
		}
		engine_tick(e, T0 + 5 * SEC, sink_fn, &s);
		EXPECT(s.n == 3, "%s: the retry told at once: %s", fm->name, sink_str(&s));
		d = &s.d[2];
		EXPECT(d->code == DIAG_PORT_CLOSED && d->severity == SEV_ERROR &&
		       d->key.lport == 25 && ev_val(d, "client_syns") == 3 &&
		       !diag_evidence_get(d, "ports", NULL),
		       "%s: retry: %s", fm->name, sink_str(&s));
		/* The scan's own repeat waits for its window, a note still. */
		engine_finish(e, T0 + 6 * SEC, sink_fn, &s);
		EXPECT(s.n == 4, "%s: finish: %s", fm->name, sink_str(&s));
		d = find_scan(&s, DIAG_PORT_CLOSED, true, &at);
		EXPECT(at == 1 && s.d[3].severity == SEV_INFO && s.d[3].connections == 1 &&
		       ev_val(&s.d[3], "ports") == 1, "%s: the scan's repeat: %s",
		       fm->name, sink_str(&s));
		EXPECT(alarms(&s) == 1, "%s: alarms: %s", fm->name, sink_str(&s));
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/*
 * A scan whose first ports fall on either side of a tick, after the
 * scanner knocked on 8080 a while ago (told then): the port before the
 * tick waits for it, and the scan takes it over; one line for 10 ports.
 * The lab's scan is timed so.
 */
static void test_scan_across_a_tick(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key k = mkkey(fm, fm->b, 8080, fm->router, 40000);
		struct engine *e = new_engine();
		struct sink s = {0};
		int p;

		refuse(e, T0, &k);
		engine_tick(e, T0 + SEC, sink_fn, &s);
		EXPECT(s.n == 1, "%s: the knock on 8080: %s", fm->name, sink_str(&s));
		for (p = 0; p < 10; p++) {
			k = mkkey(fm, fm->b, 20 + p, fm->router, 40000);
			refuse(e, T0 + 3 * SEC - MSEC + p * MSEC, &k);
			if (!p)
				engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
		}
		engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
		engine_tick(e, T0 + 5 * SEC, sink_fn, &s);
		EXPECT(s.n == 2, "%s: got %s", fm->name, sink_str(&s));
		EXPECT(ev_val(&s.d[1], "ports") == 10 && s.d[1].connections == 10 &&
		       ev_val(&s.d[1], "port_lowest") == 20,
		       "%s: the scan: %s", fm->name, sink_str(&s));
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/*
 * A scanner on a busy host pauses: 20 knocks, 200 ms ticks (the lab's
 * interval), 600 ms without a knock after the 12th (make test's lab
 * split such a scan 18 + 2 when a tick without a knock ended it). Still
 * one line, told once the scan has been quiet for a second.
 */
static void test_scan_paused(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct engine *e = new_engine();
		struct sink s = {0};
		struct flow_key k;
		__u64 now = T0, knock = T0;
		int p;

		for (p = 0; p < 20; p++) {
			knock += p == 12 ? 600 * MSEC : 20 * MSEC;
			while (now + 200 * MSEC <= knock) {
				now += 200 * MSEC;
				engine_tick(e, now, sink_fn, &s);
			}
			k = mkkey(fm, fm->b, 20 + p, fm->router, 40000);
			refuse(e, knock, &k);
		}
		for (p = 0; p < 10; p++) {
			now += 200 * MSEC;
			engine_tick(e, now, sink_fn, &s);
		}
		EXPECT(s.n == 1, "%s: got %s", fm->name, sink_str(&s));
		EXPECT(ev_val(&s.d[0], "ports") == 20 && s.d[0].connections == 20,
		       "%s: the scan: %s", fm->name, sink_str(&s));
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/*
 * Counting each knocking peer's ports must not crowd the groups out: with
 * a table of 64, a storm of 200 clients knocking once on a closed port is
 * one note, and another port's repeats, waiting for their fold window,
 * still wait for it rather than being pushed out early.
 */
static void test_knock_storm_keeps_groups(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct engine_config cfg;
		struct engine *e;
		struct sink s = {0};
		struct flow_key k;
		char addr[48];
		int c;

		engine_config_default(&cfg);
		cfg.max_flows = 64;
		e = engine_new(&cfg);
		k = mkkey(fm, fm->b, 9090, fm->a, 40000);
		refuse(e, T0, &k);
		engine_tick(e, T0 + SEC, sink_fn, &s);
		k = mkkey(fm, fm->b, 9090, fm->a, 40001);
		refuse(e, T0 + 2 * SEC, &k);
		for (c = 0; c < 200; c++) {
			snprintf(addr, sizeof(addr), fm->af == TT_AF_INET ? "10.0.3.%d" :
				 "fd00:3::%x", c + 1);
			k = mkkey(fm, fm->b, 8080, addr, 50000);
			refuse(e, T0 + 2 * SEC + c * MSEC, &k);
		}
		engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
		engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
		EXPECT(s.n == 2, "%s: got %s", fm->name, sink_str(&s));
		EXPECT(s.d[1].key.lport == 8080 && s.d[1].connections == 200 &&
		       !diag_evidence_get(&s.d[1], "ports", NULL),
		       "%s: the storm: %s", fm->name, sink_str(&s));
		engine_tick(e, T0 + 62 * SEC, sink_fn, &s);
		EXPECT(s.n == 3 && s.d[2].key.lport == 9090 && s.d[2].connections == 1,
		       "%s: the repeat after its window: %s", fm->name, sink_str(&s));
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* A connect refused by RST, as the client's kernel reports it. */
static void connect_refused(struct engine *e, __u64 ts, const struct flow_key *k)
{
	feed_state(e, ts, k, TT_TCP_CLOSE, TT_TCP_SYN_SENT, TT_SIDE_CLIENT);
	feed_rst(e, EV_RST_RX, ts + MSEC, k, TT_TCP_SYN_SENT, 0, 0, 0, 0);
	feed_state(e, ts + MSEC, k, TT_TCP_SYN_SENT, TT_TCP_CLOSE, TT_SIDE_CLIENT);
}

/*
 * service-a scans 50 ports of service-b: one CONNECTION_REFUSED that says
 * it was refused on 50 ports. Two ports of the router refused are two
 * services down, not a scan: a line each.
 */
static void test_refused_scan_one_error(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct engine *e = new_engine();
		struct sink s = {0};
		const struct diagnosis *d;
		size_t at = 0;
		int p;

		for (p = 0; p < 50; p++) {
			struct flow_key k = mkkey(fm, fm->a, 50000 + p, fm->b, 1000 + 2 * p);

			connect_refused(e, T0 + p * 10 * MSEC, &k);
		}
		for (p = 0; p < 2; p++) {
			struct flow_key k = mkkey(fm, fm->a, 50100 + p, fm->router, 8080 + p);

			connect_refused(e, T0 + p * MSEC, &k);
		}
		engine_tick(e, T0 + SEC, sink_fn, &s);
		engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
		EXPECT(s.n == 3, "%s: got %s", fm->name, sink_str(&s));
		EXPECT_EQ(count_code(&s, DIAG_CONNECTION_REFUSED), 3);
		d = find_scan(&s, DIAG_CONNECTION_REFUSED, true, &at);
		EXPECT(d, "%s: no scan: %s", fm->name, sink_str(&s));
		EXPECT_EQ(d->severity, SEV_ERROR);
		EXPECT_EQ(d->side, TT_SIDE_CLIENT);
		EXPECT_EQ(d->connections, 50);
		EXPECT_EQ(ev_val(d, "ports"), 50);
		EXPECT_EQ(ev_val(d, "port_lowest"), 1000);
		EXPECT_EQ(ev_val(d, "port_highest"), 1098);
		EXPECT(strstr(s.w[at].summary, "refused our SYNs on 50 of its ports") &&
		       strstr(s.w[at].summary, "(1000-1098)"),
		       "%s: summary: %s", fm->name, s.w[at].summary);
		for (size_t j = 0; j < s.n; j++)
			EXPECT(j == at || (s.d[j].connections == 1 &&
					   !diag_evidence_get(&s.d[j], "ports", NULL)),
			       "%s: the router's two ports: %s", fm->name, sink_str(&s));
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/*
 * Two scanners of service-b at once, and service-a scanning two hosts:
 * a line per scanner, and per host scanned.
 */
static void test_two_scanners_two_lines(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		const char *scanners[2] = { fm->router, fm->c };
		const char *hosts[2] = { fm->b, fm->router };
		struct engine *b = new_engine(), *a = new_engine();
		struct sink sb = {0}, sa = {0};
		int p, n;

		for (p = 0; p < 10; p++) {
			for (n = 0; n < 2; n++) {
				struct flow_key k = mkkey(fm, fm->b, 3000 + p + 100 * n,
							  scanners[n], 45000 + p);
				struct flow_key c = mkkey(fm, fm->a, 45000 + 20 * n + p,
							  hosts[n], 3000 + p);

				refuse(b, T0 + p * MSEC, &k);
				connect_refused(a, T0 + p * MSEC, &c);
			}
		}
		engine_tick(b, T0 + SEC, sink_fn, &sb);
		engine_tick(a, T0 + SEC, sink_fn, &sa);
		engine_tick(b, T0 + 2 * SEC, sink_fn, &sb);
		engine_tick(a, T0 + 2 * SEC, sink_fn, &sa);
		EXPECT(sb.n == 2 && sa.n == 2, "%s: got %s at b, %s at a", fm->name,
		       sink_str(&sb), sink_str(&sa));
		for (n = 0; n < 2; n++) {
			EXPECT(ev_val(&sb.d[n], "ports") == 10 && sb.d[n].connections == 10,
			       "%s: scanner %d: %s", fm->name, n, sink_str(&sb));
			EXPECT(ev_val(&sa.d[n], "ports") == 10 && sa.d[n].connections == 10,
			       "%s: host %d: %s", fm->name, n, sink_str(&sa));
		}
		EXPECT(memcmp(sb.d[0].key.raddr, sb.d[1].key.raddr, 16) != 0,
		       "%s: one scanner named twice", fm->name);
		EXPECT(memcmp(sa.d[0].key.raddr, sa.d[1].key.raddr, 16) != 0,
		       "%s: one host named twice", fm->name);
out:
		engine_free(b);
		engine_free(a);
		if (t->failed)
			return;
	}
}

/* SYNs this host's firewall dropped: no fault where nothing listens (a
 * scan, a policy doing its job), LOCAL_DROP where a service does. */
static void test_firewalled_syn_needs_listener(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key closed = mkkey(fm, fm->b, 8081, fm->router, 50020);
		struct flow_key open = mkkey(fm, fm->b, 8080, fm->router, 50021);
		struct engine *e = new_engine();
		struct sink s = {0};
		const struct diagnosis *d;

		feed_listen(e, T0, &open);
		feed_drop(e, T0 + MSEC, &closed, R_NETFILTER_DROP, true, TT_TCP_SYN);
		feed_drop(e, T0 + MSEC, &open, R_NETFILTER_DROP, true, TT_TCP_SYN);
		engine_tick(e, T0 + SEC, sink_fn, &s);
		engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
		d = find_code(&s, DIAG_LOCAL_DROP);
		EXPECT(s.n == 1 && d, "%s: got %s", fm->name, sink_str(&s));
		EXPECT_EQ(d->key.lport, 8080);
		EXPECT_EQ(d->severity, SEV_ERROR);
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* ---- qdisc drops ------------------------------------------------------ */

/*
 * A queue here drops under a burst: loss, told as PACKET_LOSS with the
 * drops as its evidence, no LOCAL_DROP. The same drops lasting past the
 * stall threshold: this host's bottleneck, LOCAL_DROP as a warning.
 */
static void qdisc(struct test *t, const struct fam *fm, bool persist)
{
	struct flow_key k = client_key(fm, persist ? 40041 : 40040);
	struct view v = { .sent = 100000 };
	__u64 span = persist ? 6 * SEC : 500 * MSEC;
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;

	feed_open(e, T0, &k, true);
	for (int i = 0; i < 40; i++)
		feed_drop(e, T0 + SEC + span * i / 39, &k, R_QDISC_DROP, false, TT_TCP_ACK);
	scan_tick(e, T0 + 8 * SEC, &k, &v, &s);
	engine_finish(e, T0 + 9 * SEC, sink_fn, &s);
	d = find_code(&s, DIAG_PACKET_LOSS);
	EXPECT(d, "%s: no loss told: %s", fm->name, sink_str(&s));
	EXPECT_EQ(ev_val(d, "qdisc_drops"), 40);
	EXPECT(strstr(s.w[d - s.d].causes[0], "queueing discipline"), "cause: %s",
	       s.w[d - s.d].causes[0]);
	d = find_code(&s, DIAG_LOCAL_DROP);
	if (!persist) {
		EXPECT(!d, "%s: a burst told as LOCAL_DROP: %s", fm->name, sink_str(&s));
	} else {
		EXPECT(d, "%s: lasting drops not told: %s", fm->name, sink_str(&s));
		EXPECT_EQ(d->severity, SEV_WARNING);
		EXPECT_EQ(ev_val(d, "qdisc_drops"), 40);
		EXPECT(strstr(s.w[d - s.d].summary, "QDISC_DROP"), "summary: %s",
		       s.w[d - s.d].summary);
	}
out:
	engine_free(e);
}

static void test_qdisc_burst_is_loss(struct test *t)
{
	for (size_t i = 0; i < 2 && !t->failed; i++)
		qdisc(t, &fams[i], false);
}

static void test_qdisc_lasting_is_local_drop(struct test *t)
{
	for (size_t i = 0; i < 2 && !t->failed; i++)
		qdisc(t, &fams[i], true);
}

/* ---- one-way flows ---------------------------------------------------- */

/*
 * A log shipper: lines written one snapshot after another, never answered,
 * then a pause longer than the threshold. Neither end may call it a stall;
 * and a second connection to the same service, paused after its first
 * line, is known one-way from the first.
 */
static void test_one_way_shipping(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key kc = client_key(fm, 40050), ks = server_key(fm, 40050);
		struct flow_key kc2 = client_key(fm, 40051), ks2 = server_key(fm, 40051);
		struct engine *ec = new_engine(), *es = new_engine();
		struct sink sc = {0}, ss = {0};
		__u64 now = T0;

		feed_open(ec, T0, &kc, true);
		feed_open(es, T0, &ks, false);
		for (int n = 1; n <= 4; n++) {
			struct view c = { .sent = 120 * n }, sv = { .rcvd = 120 * n, .read = 120 * n };

			now = T0 + n * SEC;
			scan_tick(ec, now, &kc, &c, &sc);
			scan_tick(es, now, &ks, &sv, &ss);
		}
		for (int n = 1; n <= 10; n++) {
			struct view c = { .sent = 480 }, sv = { .rcvd = 480, .read = 480 };

			scan_tick(ec, now + n * SEC, &kc, &c, &sc);
			scan_tick(es, now + n * SEC, &ks, &sv, &ss);
		}
		EXPECT(sc.n == 0 && ss.n == 0, "%s: client %s, server %s", fm->name,
		       sink_str(&sc), sink_str(&ss));
		/* the second connection: one line, then silence */
		now += 11 * SEC;
		feed_open(ec, now, &kc2, true);
		feed_open(es, now, &ks2, false);
		for (int n = 1; n <= 10; n++) {
			struct view c = { .sent = 120 }, sv = { .rcvd = 120, .read = 120 };

			scan_tick(ec, now + n * SEC, &kc2, &c, &sc);
			scan_tick(es, now + n * SEC, &ks2, &sv, &ss);
		}
		EXPECT(sc.n == 0 && ss.n == 0, "%s: second flow: client %s, server %s",
		       fm->name, sink_str(&sc), sink_str(&ss));
out:
		engine_free(ec);
		engine_free(es);
		if (t->failed)
			return;
	}
}

/*
 * A request/response service still stalls: the client's requests were
 * answered, its next one is not. One request written across a snapshot
 * (two parts, then the answer) does not make the flow one-way either.
 */
static void test_request_response_still_stalls(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key k = client_key(fm, 40060);
		static const struct view steps[] = {
			{ .sent = 50 },				/* a request's first part */
			{ .sent = 100 },			/* its second */
			{ .sent = 100, .rcvd = 80, .read = 80 },	/* the answer */
			{ .sent = 150, .rcvd = 80, .read = 80 },	/* the next request */
		};
		struct engine *e = new_engine();
		struct sink s = {0};
		int n;

		feed_open(e, T0, &k, true);
		for (n = 0; n < 4; n++)
			scan_tick(e, T0 + (n + 1) * SEC, &k, &steps[n], &s);
		for (; n < 12; n++)
			scan_tick(e, T0 + (n + 1) * SEC, &k, &steps[3], &s);
		EXPECT(s.n == 1 && s.d[0].code == DIAG_PEER_APP_STALL, "%s: got %s", fm->name,
		       sink_str(&s));
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* ---- the lost-events caveat ------------------------------------------- */

/*
 * Events lost early on: a connection refused long after carries no caveat;
 * one whose connect was under way while they were lost does.
 */
static void test_lost_events_scoped(struct test *t)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key early = client_key(fm, 40070), late = client_key(fm, 40071);
		struct flow_key other = mkkey(fm, fm->a, 40072, fm->router, 9090);
		struct engine *e = new_engine();
		struct sink s = {0};
		struct tt_event ev;

		/* a connect under way: its SYN left before the loss */
		feed_state(e, T0, &early, TT_TCP_CLOSE, TT_TCP_SYN_SENT, TT_SIDE_CLIENT);
		engine_tick(e, T0 + SEC, sink_fn, &s);
		engine_note_lost(e, 100);
		engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
		ev = mkev(EV_RST_RX, T0 + 2500 * MSEC, &early);
		ev.state = TT_TCP_SYN_SENT;
		engine_on_event(e, &ev);
		feed_state(e, T0 + 2500 * MSEC, &early, TT_TCP_SYN_SENT, TT_TCP_CLOSE, 0);
		/* a connect made later, the same counter */
		for (int n = 3; n < 8; n++) {
			engine_note_lost(e, 100);
			engine_tick(e, T0 + n * SEC, sink_fn, &s);
		}
		feed_state(e, T0 + 8 * SEC, &late, TT_TCP_CLOSE, TT_TCP_SYN_SENT, TT_SIDE_CLIENT);
		ev = mkev(EV_RST_RX, T0 + 8 * SEC + MSEC, &late);
		ev.state = TT_TCP_SYN_SENT;
		engine_on_event(e, &ev);
		feed_state(e, T0 + 8 * SEC + MSEC, &late, TT_TCP_SYN_SENT, TT_TCP_CLOSE, 0);
		/* ... to another service, so it does not fold with the first */
		feed_state(e, T0 + 8 * SEC, &other, TT_TCP_CLOSE, TT_TCP_SYN_SENT,
			   TT_SIDE_CLIENT);
		ev = mkev(EV_RST_RX, T0 + 8 * SEC + MSEC, &other);
		ev.state = TT_TCP_SYN_SENT;
		engine_on_event(e, &ev);
		feed_state(e, T0 + 8 * SEC + MSEC, &other, TT_TCP_SYN_SENT, TT_TCP_CLOSE, 0);
		engine_tick(e, T0 + 9 * SEC, sink_fn, &s);
		engine_finish(e, T0 + 70 * SEC, sink_fn, &s);
		EXPECT(s.n == 3, "%s: got %s", fm->name, sink_str(&s));
		EXPECT(s.d[0].key.lport == 40070 && s.d[0].events_lost,
		       "%s: the refusal across the loss has no caveat", fm->name);
		for (size_t j = 1; j < s.n; j++)
			EXPECT(!s.d[j].events_lost, "%s: %u -> %u: a caveat from an old loss",
			       fm->name, s.d[j].key.lport, s.d[j].key.rport);
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

/* ---- runner ----------------------------------------------------------- */

static const struct test_case tests[] = {
	TEST(test_local_abort_with_reason),
	TEST(test_local_abort_without_reason),
	TEST(test_local_abort_told_by_nic),
	TEST(test_peer_reset_confirmed_by_nic),
	TEST(test_local_abort_on_pending_request),
	TEST(test_linger0_give_up),
	TEST(test_timewait_reset_silent),
	TEST(test_pool_linger0_info),
	TEST(test_health_check_info),
	TEST(test_reset_cut_off_error),
	TEST(test_keepalive_close_info),
	TEST(test_port_closed_scan_and_retry),
	TEST(test_port_scan_one_note),
	TEST(test_scan_across_a_tick),
	TEST(test_scan_paused),
	TEST(test_refused_scan_one_error),
	TEST(test_knock_storm_keeps_groups),
	TEST(test_two_scanners_two_lines),
	TEST(test_firewalled_syn_needs_listener),
	TEST(test_qdisc_burst_is_loss),
	TEST(test_qdisc_lasting_is_local_drop),
	TEST(test_one_way_shipping),
	TEST(test_request_response_still_stalls),
	TEST(test_lost_events_scoped),
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
