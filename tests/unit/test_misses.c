// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the faults the engine used to miss, and of the healthy
 * traffic that looks like them: a busy pooled connection that stops being
 * answered, a peer that stops acknowledging (CONNECTION_TIMEOUT), a client
 * that gives up, a connect abandoned early, loss seen by the receiver, and
 * an ICMP host unreachable that comes too soon to be ARP's.
 *
 * The socket snapshots here carry the socket's own clocks (lsndtime,
 * lrcvtime, rcv_tstamp) in jiffies, with HZ 1000: a jiffy is a millisecond.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "catalogue.h"
#include "diagnose.h"
#include "facts.h"
#include "harness.h"
#include "words.h"

#define SEC	1000000000ULL
#define MSEC	1000000ULL
#define T0	(1000 * SEC)	/* monotonic time of the first event */
#define J0	5000000u	/* jiffies at T0 */
#define NETNS	4026531840u
#define ISN_TX	1000u		/* sequence of our first data byte */
#define ISN_RX	7000u		/* ... and of the peer's */

static bool verbose;

/* ---- what the engine says --------------------------------------------- */

struct sink {
	size_t n, cap;
	struct diagnosis *d;
	struct diag_words *w;
};

static void sink_fn(const struct diagnosis *d, void *ctx)
{
	struct sink *s = ctx;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct diagnosis *nd = realloc(s->d, cap * sizeof(*nd));
		struct diag_words *nw = nd ? realloc(s->w, cap * sizeof(*nw)) : NULL;

		if (!nd || !nw)
			abort();
		s->d = nd;
		s->w = nw;
		s->cap = cap;
	}
	s->d[s->n] = *d;
	diag_words(d, &s->w[s->n]);
	if (verbose) {
		fprintf(stderr, "  %s %s %s err=%d\n    %s\n", diag_code_name(d->code),
			diag_severity_name(d->severity), tt_side_name(d->side),
			d->app_error, s->w[s->n].summary);
		for (unsigned int i = 0; i < d->n_evidence; i++)
			fprintf(stderr, "    evidence %s=%lld\n", d->evidence[i].name,
				d->evidence[i].value);
	}
	s->n++;
}

static void sink_free(struct sink *s)
{
	free(s->d);
	free(s->w);
	memset(s, 0, sizeof(*s));
}

static size_t count_code(const struct sink *s, enum diag_code code)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->d[i].code == code;
	return n;
}

/* The nth (from 0) diagnosis of a code, or NULL. */
static const struct diagnosis *nth_code(const struct sink *s, enum diag_code code,
					size_t nth)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->d[i].code == code && nth-- == 0)
			return &s->d[i];
	return NULL;
}

static const struct diag_words *words_of(const struct sink *s, const struct diagnosis *d)
{
	return &s->w[d - s->d];
}

static long long ev_val(const struct diagnosis *d, const char *name)
{
	long long v;

	return diag_evidence_get(d, name, &v) ? v : -1;
}

static const char *sink_str(const struct sink *s)
{
	static char buf[256];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && off < sizeof(buf) - 32; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "",
				diag_code_name(s->d[i].code));
	return s->n ? buf : "nothing";
}

/* ---- what it is told --------------------------------------------------- */

static struct flow_key key_of(int family, const char *laddr, __u16 lport,
			      const char *raddr, __u16 rport)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.netns = NETNS;
	k.family = family == AF_INET6 ? TT_AF_INET6 : TT_AF_INET;
	k.lport = lport;
	k.rport = rport;
	inet_pton(family, laddr, k.laddr);
	inet_pton(family, raddr, k.raddr);
	return k;
}

/* service-a calling service-b:8080, from each end, in each family. */
static struct flow_key client_key(int family, __u16 lport)
{
	return family == AF_INET6 ? key_of(AF_INET6, "fd00:1::5", lport, "fd00:2::10", 8080) :
				    key_of(AF_INET, "10.0.1.5", lport, "10.0.2.10", 8080);
}

static struct flow_key server_key(int family, __u16 rport)
{
	return family == AF_INET6 ? key_of(AF_INET6, "fd00:2::10", 8080, "fd00:1::5", rport) :
				    key_of(AF_INET, "10.0.2.10", 8080, "10.0.1.5", rport);
}

static struct engine *new_engine(void)
{
	struct engine_config cfg;

	engine_config_default(&cfg);
	cfg.stall_ns = 2 * SEC;
	cfg.hz = 1000;
	return engine_new(&cfg);
}

static void feed_state(struct engine *e, __u64 ts, const struct flow_key *k,
		       __u8 from, __u8 to)
{
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = EV_STATE;
	ev.ts_ns = ts;
	ev.key = *k;
	ev.old_state = from;
	ev.state = to;
	if (from == TT_TCP_CLOSE && to == TT_TCP_SYN_SENT)
		ev.side = TT_SIDE_CLIENT;
	if (from == TT_TCP_LISTEN && to == TT_TCP_SYN_RECV)
		ev.side = TT_SIDE_SERVER;
	engine_on_event(e, &ev);
}

static void feed_open(struct engine *e, __u64 ts, const struct flow_key *k, bool client)
{
	if (client) {
		feed_state(e, ts, k, TT_TCP_CLOSE, TT_TCP_SYN_SENT);
		feed_state(e, ts + MSEC, k, TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED);
	} else {
		feed_state(e, ts, k, TT_TCP_LISTEN, TT_TCP_SYN_RECV);
		feed_state(e, ts + MSEC, k, TT_TCP_SYN_RECV, TT_TCP_ESTABLISHED);
	}
}

/* The close event: its path and the socket's totals. */
static void feed_close(struct engine *e, __u64 ts, const struct flow_key *k,
		       const __u8 *path, size_t n, __u32 segs_out, __u32 segs_in,
		       __u64 acked, __u64 rcvd)
{
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = EV_STATE;
	ev.ts_ns = ts;
	ev.key = *k;
	ev.old_state = path[n - 1];
	ev.state = TT_TCP_CLOSE;
	memcpy(ev.path, path, n);
	ev.path[n] = TT_TCP_CLOSE;
	ev.data_segs_out = segs_out;
	ev.data_segs_in = segs_in;
	ev.segs_out = segs_out + 2;
	ev.segs_in = segs_in + 2;
	ev.bytes_acked = acked;
	ev.bytes_received = rcvd;
	engine_on_event(e, &ev);
}

static void feed_simple(struct engine *e, __u32 type, __u64 ts, const struct flow_key *k,
			__u8 state, int err, __u8 flags)
{
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.ts_ns = ts;
	ev.key = *k;
	ev.state = state;
	ev.err = err;
	ev.flags = flags;
	if (type == EV_RETRANS) {
		ev.ca_state = state == TT_TCP_SYN_SENT ? TT_CA_OPEN : TT_CA_LOSS;
		ev.seg_len = state == TT_TCP_SYN_SENT ? 0 : 64;
		ev.mss = 1448;
	}
	engine_on_event(e, &ev);
}

/*
 * A socket as a snapshot sees it, from byte counts and the times (ms
 * after T0) its clocks last moved.
 */
struct sk {
	__u8 state;		/* 0: ESTABLISHED */
	__u64 sent, unacked, rcvd, read;
	__u32 segs_out, segs_in;	/* data segments each way */
	long lsnd, lrcv, rcvts;		/* the clocks, ms after T0 */
	bool peer_pure;		/* the peer's latest segment carried no data */
	bool fin_in;		/* the peer's FIN is in rcv_nxt */
	__u8 rto_count;
	__u32 rto_ms, rtx_ms, user_timeout_ms;
	__u32 ooo;
	bool noclock;		/* a snapshot without the clocks (older recordings) */
};

static void feed_scan(struct engine *e, __u64 now, const struct flow_key *k,
		      const struct sk *v)
{
	struct tt_sock_scan s;

	memset(&s, 0, sizeof(s));
	s.key = *k;
	s.state = v->state ? v->state : TT_TCP_ESTABLISHED;
	s.write_seq = s.snd_nxt = ISN_TX + (__u32)v->sent;
	s.snd_una = s.write_seq - (__u32)v->unacked;
	s.rcv_nxt = ISN_RX + (__u32)v->rcvd + v->fin_in;
	s.copied_seq = ISN_RX + (__u32)v->read;
	/* a data segment starts before rcv_nxt, an ACK at it */
	s.snd_wl1 = v->peer_pure ? s.rcv_nxt : s.rcv_nxt - v->fin_in - 64;
	s.snd_wnd = s.rcv_wnd = 65535;
	s.srtt_us = 1000;
	s.min_rtt_us = 800;
	s.mss = s.rcv_mss = 1448;
	s.data_segs_out = v->segs_out;
	s.data_segs_in = v->segs_in;
	s.bytes_sent = v->sent;
	s.bytes_acked = v->sent - v->unacked + 1;
	s.bytes_received = v->rcvd + v->fin_in;
	s.now_jiffies = v->noclock ? 0 : J0 + (__u32)((now - T0) / MSEC);
	s.lsndtime = J0 + (__u32)v->lsnd;
	s.lrcvtime = J0 + (__u32)v->lrcv;
	s.rcv_tstamp = J0 + (__u32)v->rcvts;
	s.rto_jiffies = v->rto_ms ? v->rto_ms : 200;
	s.retransmits = v->rto_count;
	s.total_retrans = v->rto_count;
	s.rtx_elapsed_ms = v->rtx_ms;
	s.user_timeout_ms = v->user_timeout_ms;
	s.retries2 = 15;
	s.rcv_ooopack = v->ooo;
	engine_on_scan(e, &s, now);
}

/* A scan of one socket at now, then the tick that judges it. */
static void scan_tick(struct engine *e, __u64 now, const struct flow_key *k,
		      const struct sk *v, struct sink *out)
{
	feed_scan(e, now, k, v);
	engine_scan_end(e, now);
	engine_tick(e, now, sink_fn, out);
}

/* The same socket, unchanged, every 200 ms from..to (ms after T0). */
static void scan_still(struct engine *e, long from, long to, const struct flow_key *k,
		       const struct sk *v, struct sink *out)
{
	for (long ms = from; ms <= to; ms += 200)
		scan_tick(e, T0 + (__u64)ms * MSEC, k, v, out);
}

/* ---- a busy pooled connection that stops being answered ---------------- */

/*
 * The client's view: 500 exchanges of 64 bytes between two scans, the
 * last answer and the next request within one jiffy; then only the
 * server's delayed ACK of that request (a segment without data) comes.
 */
static void pool_client(struct test *t, int family, bool clocks, bool unacked_first)
{
	struct engine *e = new_engine();
	struct flow_key k = client_key(family, 40001);
	struct sink s = {0};
	const struct diagnosis *d;
	struct sk v = { .sent = 64, .rcvd = 0, .segs_out = 1, .lsnd = 10, .lrcv = 1,
			.rcvts = 10 };

	feed_open(e, T0, &k, true);
	scan_tick(e, T0 + 200 * MSEC, &k, &v, &s);
	/* busy: 500 exchanges, then request 502 leaves in the answer's tick */
	v = (struct sk){ .sent = 64 * 502, .rcvd = 64 * 501, .read = 64 * 501,
			 .segs_out = 502, .segs_in = 501, .lsnd = 390, .lrcv = 390,
			 .rcvts = 390 };
	if (unacked_first) {
		/* the snapshot catches the request before its delayed ACK */
		v.unacked = 64;
		scan_tick(e, T0 + 400 * MSEC, &k, &v, &s);
		v.unacked = 0;
	}
	v.peer_pure = true;
	v.rcvts = 430;		/* the delayed ACK, 40 ms later */
	if (!clocks) {
		/* without the clocks: the snapshots alone cannot tell */
		struct sk first = { .sent = 64, .segs_out = 1, .noclock = true };

		engine_free(e);
		e = new_engine();
		feed_open(e, T0, &k, true);
		scan_tick(e, T0 + 200 * MSEC, &k, &first, &s);
		v.noclock = true;
	}
	scan_still(e, unacked_first ? 600 : 400, 3000, &k, &v, &s);
	if (!clocks) {
		/* what main did: nobody waits, as far as it could tell */
		EXPECT(s.n == 0, "without clocks, want nothing (the old miss), got %s",
		       sink_str(&s));
		goto out;
	}
	EXPECT(s.n == 1 && (d = nth_code(&s, DIAG_PEER_APP_STALL, 0)),
	       "want PEER_APP_STALL, got %s", sink_str(&s));
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT_EQ(ev_val(d, "request_bytes"), 64);
	EXPECT_EQ(ev_val(d, "request_bytes_mean"), 1);
	/* from the request's own clock, 390 ms, not from a snapshot */
	EXPECT(ev_val(d, "waited_ms") >= 2000 && ev_val(d, "waited_ms") < 2200,
	       "waited_ms %lld", ev_val(d, "waited_ms"));
	EXPECT(strstr(words_of(&s, d)->summary, "~64-byte request"),
	       "summary: %s", words_of(&s, d)->summary);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_pool_hang_client(struct test *t)
{
	pool_client(t, AF_INET, true, false);
}

static void test_pool_hang_client_ipv6(struct test *t)
{
	pool_client(t, AF_INET6, true, false);
}

/* A snapshot between the request and its ACK does not lose the request. */
static void test_pool_hang_client_unacked_first(struct test *t)
{
	pool_client(t, AF_INET, true, true);
}

static void test_pool_hang_client_without_clocks(struct test *t)
{
	pool_client(t, AF_INET, false, false);
}

/* The server's view: its answer and the next request within one jiffy;
 * the request is data, and it acknowledged all of the answer. */
static void pool_server(struct test *t, int family)
{
	struct engine *e = new_engine();
	struct flow_key k = server_key(family, 40002);
	struct sink s = {0};
	const struct diagnosis *d;
	struct sk v = { .rcvd = 64, .read = 64, .segs_in = 1, .lsnd = 1, .lrcv = 10,
			.rcvts = 10 };

	feed_open(e, T0, &k, false);
	scan_tick(e, T0 + 200 * MSEC, &k, &v, &s);
	v = (struct sk){ .sent = 64 * 501, .rcvd = 64 * 502, .read = 64 * 502,
			 .segs_out = 501, .segs_in = 502, .lsnd = 390, .lrcv = 390,
			 .rcvts = 390 };
	scan_still(e, 400, 3000, &k, &v, &s);
	EXPECT(s.n == 1 && (d = nth_code(&s, DIAG_LOCAL_APP_STALL, 0)),
	       "want LOCAL_APP_STALL, got %s", sink_str(&s));
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	EXPECT_EQ(ev_val(d, "request_bytes"), 64);
	EXPECT(ev_val(d, "waited_ms") >= 2000, "waited_ms %lld", ev_val(d, "waited_ms"));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_pool_hang_server(struct test *t)
{
	pool_server(t, AF_INET);
}

static void test_pool_hang_server_ipv6(struct test *t)
{
	pool_server(t, AF_INET6);
}

/*
 * Healthy: the same busy pool, every request answered, then idle. At the
 * client the answer was the last data (and a keepalive's answer much
 * later changes nothing); at the server the client's delayed ACK of the
 * answer is the last segment.
 */
static void test_pool_idle_healthy(struct test *t)
{
	struct engine *e = new_engine();
	struct flow_key kc = client_key(AF_INET, 40003), ks = server_key(AF_INET, 40003);
	struct sink s = {0};
	struct sk c = { .sent = 64 * 500, .rcvd = 64 * 500, .read = 64 * 500,
			.segs_out = 500, .segs_in = 500, .lsnd = 390, .lrcv = 390,
			.rcvts = 390 };
	struct sk srv = { .sent = 64 * 500, .rcvd = 64 * 500, .read = 64 * 500,
			  .segs_out = 500, .segs_in = 500, .lsnd = 390, .lrcv = 390,
			  .rcvts = 430, .peer_pure = true };

	feed_open(e, T0, &kc, true);
	feed_open(e, T0, &ks, false);
	for (long ms = 400; ms <= 8000; ms += 200) {
		if (ms == 5000) {
			/* a keepalive probe's answer: a pure ACK, 4.6 s later */
			c.peer_pure = true;
			c.rcvts = 4990;
		}
		feed_scan(e, T0 + (__u64)ms * MSEC, &kc, &c);
		feed_scan(e, T0 + (__u64)ms * MSEC, &ks, &srv);
		engine_scan_end(e, T0 + (__u64)ms * MSEC);
		engine_tick(e, T0 + (__u64)ms * MSEC, sink_fn, &s);
	}
	engine_finish(e, T0 + 9 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "an idle pool owes nothing, got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* With a network slower than a jiffy the clocks alone decide, both ways. */
static void test_pool_clocks_apart(struct test *t)
{
	struct engine *e = new_engine();
	struct flow_key k = client_key(AF_INET, 40004);
	struct sink s = {0};
	struct sk v = { .sent = 64 * 20, .rcvd = 64 * 20, .read = 64 * 20,
			.segs_out = 20, .segs_in = 20, .lsnd = 300, .lrcv = 330,
			.rcvts = 330 };

	feed_open(e, T0, &k, true);
	/* the answer came 30 ms after the request: healthy, idle */
	scan_still(e, 400, 3000, &k, &v, &s);
	EXPECT(s.n == 0, "answered, got %s", sink_str(&s));
	/* the next request 10 ms after an answer, then nothing */
	v.sent += 64;
	v.segs_out++;
	v.lsnd = 3100;
	v.rcvts = 3140;
	v.peer_pure = true;
	scan_still(e, 3200, 5400, &k, &v, &s);
	EXPECT(count_code(&s, DIAG_PEER_APP_STALL) == 1, "got %s", sink_str(&s));
	EXPECT_EQ(ev_val(&s.d[0], "request_bytes"), 64);
	EXPECT_EQ(ev_val(&s.d[0], "request_bytes_mean"), -1);
out:
	sink_free(&s);
	engine_free(e);
}

/* HZ is learned from the scans when the config does not say it. */
static void test_clock_hz_learned(struct test *t)
{
	struct engine_config cfg;
	struct engine *e;
	struct flow_key k = client_key(AF_INET, 40005);
	struct sink s = {0};
	struct sk v = { .sent = 64, .rcvd = 64, .read = 64, .segs_out = 1, .segs_in = 1,
			.lsnd = 100, .lrcv = 120, .rcvts = 120 };

	engine_config_default(&cfg);
	cfg.stall_ns = 2 * SEC;
	e = engine_new(&cfg);
	feed_open(e, T0, &k, true);
	/* jiffies advance 1000 a second in feed_scan: HZ 1000, once 1 s passed */
	scan_still(e, 200, 1400, &k, &v, &s);
	v = (struct sk){ .sent = 64 * 502, .rcvd = 64 * 501, .read = 64 * 501,
			 .segs_out = 502, .segs_in = 501, .lsnd = 1590, .lrcv = 1590,
			 .rcvts = 1630, .peer_pure = true };
	scan_still(e, 1600, 4000, &k, &v, &s);
	EXPECT(count_code(&s, DIAG_PEER_APP_STALL) == 1, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* ---- CONNECTION_TIMEOUT ------------------------------------------------ */

/* The kernel's give-up times: tcp_model_timeout() and TCP_USER_TIMEOUT. */
static void test_kernel_timeout_model(struct test *t)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.flags = FF_SCANNED;
	f.retries2 = 15;
	EXPECT_EQ(flow_kernel_timeout_ms(&f), 924600);	/* the classic ~15.4 min */
	f.retries2 = 5;
	EXPECT_EQ(flow_kernel_timeout_ms(&f), 12600);
	f.retries2 = 15;
	f.rto_max_ms = 60000;		/* a lower ceiling: 8 doublings, then 60 s */
	EXPECT_EQ(flow_kernel_timeout_ms(&f), 511 * 200 + 7 * 60000);
	f.user_timeout_ms = 4000;
	EXPECT_EQ(flow_kernel_timeout_ms(&f), 4000);
out:
	;
}

/*
 * A request into a path gone black: timeouts in a row, nothing ACKed;
 * said with when the kernel gives up (tcp_retries2 15: 924.6 s after the
 * first retransmission), and again when it does (ETIMEDOUT).
 */
static void blackhole(struct test *t, int family)
{
	struct engine *e = new_engine();
	struct flow_key k = client_key(family, 40010);
	struct sink s = {0};
	const struct diagnosis *d;
	struct sk v = { .sent = 64 * 10, .rcvd = 64 * 10, .read = 64 * 10,
			.segs_out = 10, .segs_in = 10, .lsnd = 150, .lrcv = 151,
			.rcvts = 151 };

	feed_open(e, T0, &k, true);
	scan_tick(e, T0 + 200 * MSEC, &k, &v, &s);
	/* request 11 at 300 ms is never acknowledged: RTOs at 0.5, 0.9, 1.7, 3.3 s */
	v.sent += 64;
	v.unacked = 64;
	v.lsnd = 300;
	for (long ms = 400; ms <= 3400; ms += 200) {
		v.rto_count = ms >= 3300 ? 4 : ms >= 1700 ? 3 : ms >= 900 ? 2 : ms >= 500 ? 1 : 0;
		v.segs_out = 11 + v.rto_count;
		v.rto_ms = 200 << v.rto_count;
		v.rtx_ms = v.rto_count ? (__u32)ms - 300 : 0;
		if (ms == 500 || ms == 900 || ms == 1700 || ms == 3300)
			feed_simple(e, EV_RETRANS, T0 + (__u64)ms * MSEC, &k,
				    TT_TCP_ESTABLISHED, 0, 0);
		scan_tick(e, T0 + (__u64)ms * MSEC, &k, &v, &s);
	}
	EXPECT(s.n == 1 && (d = nth_code(&s, DIAG_CONNECTION_TIMEOUT, 0)),
	       "want CONNECTION_TIMEOUT once, got %s", sink_str(&s));
	EXPECT_EQ(d->severity, SEV_ERROR);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT_EQ(d->app_error, 0);
	EXPECT(ev_val(d, "rto_in_a_row") >= 3, "rto_in_a_row %lld", ev_val(d, "rto_in_a_row"));
	EXPECT(ev_val(d, "no_ack_ms") >= 2000, "no_ack_ms %lld", ev_val(d, "no_ack_ms"));
	EXPECT_EQ(ev_val(d, "unacked_bytes"), 64);
	EXPECT_EQ(ev_val(d, "retries2"), 15);
	EXPECT_EQ(ev_val(d, "kernel_timeout_ms"), 924600);
	EXPECT(ev_val(d, "gives_up_in_ms") > 920000 && ev_val(d, "gives_up_in_ms") < 924600,
	       "gives_up_in_ms %lld", ev_val(d, "gives_up_in_ms"));
	EXPECT(strstr(words_of(&s, d)->summary, "tcp_retries2 15"),
	       "summary: %s", words_of(&s, d)->summary);

	/* the kernel gives up: the error, then the close */
	feed_simple(e, EV_SK_ERROR, T0 + 925 * SEC, &k, TT_TCP_ESTABLISHED, ETIMEDOUT, 0);
	feed_state(e, T0 + 925 * SEC, &k, TT_TCP_ESTABLISHED, TT_TCP_CLOSE);
	engine_tick(e, T0 + 926 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 990 * SEC, sink_fn, &s);
	EXPECT(s.n == 2 && (d = nth_code(&s, DIAG_CONNECTION_TIMEOUT, 1)),
	       "want the kernel's giving up told too, got %s", sink_str(&s));
	EXPECT_EQ(d->app_error, ETIMEDOUT);
	EXPECT_EQ(ev_val(d, "timed_out"), 1);
	EXPECT(ev_val(d, "gave_up_after_ms") > 924000, "gave_up_after_ms %lld",
	       ev_val(d, "gave_up_after_ms"));
	EXPECT(count_code(&s, DIAG_PACKET_LOSS) == 0, "no loss: %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_connection_timeout(struct test *t)
{
	blackhole(t, AF_INET);
}

static void test_connection_timeout_ipv6(struct test *t)
{
	blackhole(t, AF_INET6);
}

/* TCP_USER_TIMEOUT shorter than the threshold: the kernel's ETIMEDOUT is
 * the first word, and the only one. */
static void test_connection_timeout_user_timeout(struct test *t)
{
	struct engine *e = new_engine();
	struct flow_key k = client_key(AF_INET, 40011);
	struct sink s = {0};
	const struct diagnosis *d;
	struct sk v = { .sent = 128, .unacked = 64, .rcvd = 64, .read = 64, .segs_out = 4,
			.segs_in = 1, .lsnd = 300, .lrcv = 100, .rcvts = 100,
			.rto_count = 2, .rto_ms = 800, .rtx_ms = 900, .user_timeout_ms = 1500 };

	feed_open(e, T0, &k, true);
	scan_tick(e, T0 + 1200 * MSEC, &k, &v, &s);
	feed_simple(e, EV_SK_ERROR, T0 + 1800 * MSEC, &k, TT_TCP_ESTABLISHED, ETIMEDOUT, 0);
	feed_state(e, T0 + 1800 * MSEC, &k, TT_TCP_ESTABLISHED, TT_TCP_CLOSE);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && (d = nth_code(&s, DIAG_CONNECTION_TIMEOUT, 0)),
	       "want one CONNECTION_TIMEOUT, got %s", sink_str(&s));
	EXPECT_EQ(d->app_error, ETIMEDOUT);
	EXPECT_EQ(ev_val(d, "user_timeout_ms"), 1500);
	EXPECT(strstr(words_of(&s, d)->summary, "TCP_USER_TIMEOUT"),
	       "summary: %s", words_of(&s, d)->summary);
out:
	sink_free(&s);
	engine_free(e);
}

/* What comes back dropped by this host's own firewall: LOCAL_DROP says
 * it, not a peer that stopped acknowledging. */
static void test_connection_timeout_local_drop(struct test *t)
{
	struct flow_key k = client_key(AF_INET, 40013);
	struct sink s = {0};
	struct tt_event ev;
	struct sk v = { .sent = 64 * 11, .unacked = 64, .rcvd = 640, .read = 640,
			.segs_out = 14, .segs_in = 10, .lsnd = 300, .lrcv = 150, .rcvts = 150,
			.rto_count = 4, .rto_ms = 3200, .rtx_ms = 2900 };

	for (int dropped = 0; dropped <= 1; dropped++) {
		struct engine *e = new_engine();

		feed_open(e, T0, &k, true);
		memset(&ev, 0, sizeof(ev));
		ev.type = EV_DROP;
		ev.ts_ns = T0 + 600 * MSEC;
		ev.key = k;
		ev.state = TT_TCP_ESTABLISHED;
		ev.flags = EVF_INBOUND;
		ev.tcp_flags = TT_TCP_ACK;
		ev.reason = 8;	/* a netfilter drop, by the engine's default classes */
		if (dropped)
			engine_on_event(e, &ev);
		scan_still(e, 3200, 4000, &k, &v, &s);
		engine_finish(e, T0 + 5 * SEC, sink_fn, &s);
		engine_free(e);
		/* the same socket without the drops: the peer's silence */
		EXPECT(count_code(&s, DIAG_CONNECTION_TIMEOUT) == (size_t)!dropped,
		       "dropped here %d: got %s", dropped, sink_str(&s));
		sink_free(&s);
	}
out:
	sink_free(&s);
}

/* Timeouts that end with an ACK are loss, not a dead peer. */
static void test_connection_timeout_recovers(struct test *t)
{
	struct engine *e = new_engine();
	struct flow_key k = client_key(AF_INET, 40012);
	struct sink s = {0};
	struct sk v = { .sent = 640, .unacked = 64, .rcvd = 640, .read = 640, .segs_out = 12,
			.segs_in = 10, .lsnd = 300, .lrcv = 150, .rcvts = 150,
			.rto_count = 2, .rto_ms = 800, .rtx_ms = 600 };

	feed_open(e, T0, &k, true);
	scan_still(e, 900, 1500, &k, &v, &s);
	/* acknowledged after 1.4 s: the counter resets */
	v.unacked = 0;
	v.rto_count = 0;
	v.rtx_ms = 0;
	v.rcvts = 1700;
	scan_still(e, 1700, 6000, &k, &v, &s);
	engine_finish(e, T0 + 7 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_CONNECTION_TIMEOUT) == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* ---- a client that gives up ------------------------------------------ */

static const __u8 path_client_fin[] = { TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
					TT_TCP_FIN_WAIT1, TT_TCP_FIN_WAIT2 };

/*
 * The client waits 1 s on a request its peer ACKed, closes (FIN); 1.5 s
 * later the answer reaches its closed socket, which resets it.
 */
static void gave_up_client(struct test *t, int family, bool answer_late)
{
	struct engine *e = new_engine();
	struct flow_key k = client_key(family, 40020);
	struct sink s = {0};
	const struct diagnosis *d;
	struct sk v = { .sent = 64, .segs_out = 1, .lsnd = 5, .lrcv = 1, .rcvts = 45,
			.peer_pure = true };

	feed_open(e, T0, &k, true);
	scan_still(e, 200, 1000, &k, &v, &s);
	feed_close(e, T0 + 1010 * MSEC, &k, path_client_fin, sizeof(path_client_fin),
		   1, 0, 66, 0);
	if (answer_late)
		/* the TIME_WAIT socket resets the late answer */
		feed_simple(e, EV_RST_TX, T0 + 2500 * MSEC, &k, TT_TCP_TIME_WAIT, 0,
			    EVF_NO_SOCKET);
	for (long ms = 1200; ms <= 6000; ms += 200)
		engine_tick(e, T0 + (__u64)ms * MSEC, sink_fn, &s);
	EXPECT(s.n == 1 && (d = nth_code(&s, DIAG_PEER_APP_STALL, 0)),
	       "want PEER_APP_STALL alone, got %s", sink_str(&s));
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT_EQ(ev_val(d, "request_bytes"), 64);
	EXPECT(ev_val(d, "gave_up_after_ms") >= 1000 && ev_val(d, "gave_up_after_ms") < 1100,
	       "gave_up_after_ms %lld", ev_val(d, "gave_up_after_ms"));
	EXPECT_EQ(ev_val(d, "answered_late"), answer_late);
	if (answer_late)
		EXPECT(ev_val(d, "answer_after_ms") == 1490, "answer_after_ms %lld",
		       ev_val(d, "answer_after_ms"));
	EXPECT(strstr(words_of(&s, d)->summary, "gave up"), "summary: %s",
	       words_of(&s, d)->summary);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_gave_up_client(struct test *t)
{
	gave_up_client(t, AF_INET, true);
}

static void test_gave_up_client_ipv6(struct test *t)
{
	gave_up_client(t, AF_INET6, true);
}

static void test_gave_up_client_no_answer(struct test *t)
{
	gave_up_client(t, AF_INET, false);
}

/*
 * A client that gives up with an abortive close (SO_LINGER 0): its own
 * reset is the close, no late answer; LOCAL_RESET says the reset, the
 * give-up why.
 */
static void test_gave_up_client_linger0(struct test *t)
{
	static const __u8 path_abort[] = { TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED };
	struct engine *e = new_engine();
	struct flow_key k = client_key(AF_INET, 40024);
	struct sink s = {0};
	const struct diagnosis *d;
	struct tt_event ev;
	struct sk v = { .sent = 64, .segs_out = 1, .lsnd = 5, .lrcv = 1, .rcvts = 45,
			.peer_pure = true };

	feed_open(e, T0, &k, true);
	scan_still(e, 200, 1000, &k, &v, &s);
	/* the kernel sets CLOSE, then sends the abort's reset */
	feed_close(e, T0 + 1010 * MSEC, &k, path_abort, sizeof(path_abort), 1, 0, 65, 0);
	memset(&ev, 0, sizeof(ev));
	ev.type = EV_RST_TX;
	ev.ts_ns = T0 + 1010 * MSEC;
	ev.key = k;
	ev.state = TT_TCP_CLOSE;
	ev.reason = 14;		/* an abortive close */
	engine_on_event(e, &ev);
	for (long ms = 1200; ms <= 6000; ms += 200)
		engine_tick(e, T0 + (__u64)ms * MSEC, sink_fn, &s);
	EXPECT(s.n == 2 && nth_code(&s, DIAG_LOCAL_RESET, 0) &&
	       (d = nth_code(&s, DIAG_PEER_APP_STALL, 0)),
	       "want LOCAL_RESET and PEER_APP_STALL, got %s", sink_str(&s));
	EXPECT_EQ(ev_val(d, "answered_late"), 0);
	EXPECT(ev_val(d, "gave_up_after_ms") >= 1000, "gave_up_after_ms %lld",
	       ev_val(d, "gave_up_after_ms"));
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * The same before 6.10 (no reset reason): the abortive close's reset is
 * the socket's own (no segment it answers), however long after the CLOSE
 * it goes; the answer that comes 1.5 s later meets no socket, and the
 * stack's reply to it (EVF_RST_REPLY) is the late answer.
 */
static void test_gave_up_client_linger0_no_reason(struct test *t)
{
	static const __u8 path_abort[] = { TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED };
	struct engine *e = new_engine();
	struct flow_key k = client_key(AF_INET, 40025);
	struct sink s = {0};
	const struct diagnosis *d;
	struct sk v = { .sent = 64, .segs_out = 1, .lsnd = 5, .lrcv = 1, .rcvts = 45,
			.peer_pure = true };

	feed_open(e, T0, &k, true);
	scan_still(e, 200, 1000, &k, &v, &s);
	feed_close(e, T0 + 1010 * MSEC, &k, path_abort, sizeof(path_abort), 1, 0, 65, 0);
	feed_simple(e, EV_RST_TX, T0 + 1015 * MSEC, &k, TT_TCP_CLOSE, 0, 0);
	feed_simple(e, EV_RST_TX, T0 + 2510 * MSEC, &k, 0, 0,
		    EVF_NO_SOCKET | EVF_RST_REPLY);
	for (long ms = 1200; ms <= 6000; ms += 200)
		engine_tick(e, T0 + (__u64)ms * MSEC, sink_fn, &s);
	EXPECT(nth_code(&s, DIAG_LOCAL_RESET, 0) &&
	       (d = nth_code(&s, DIAG_PEER_APP_STALL, 0)),
	       "want LOCAL_RESET and PEER_APP_STALL, got %s", sink_str(&s));
	EXPECT_EQ(ev_val(d, "answered_late"), 1);
	EXPECT_EQ(ev_val(d, "closed_with_reset"), 1);
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * Healthy: the answer came after the last snapshot and the client closed
 * right after reading it (a slow server within the timeout); and a client
 * that writes and closes at once (one-way), waiting for nothing.
 */
static void test_gave_up_healthy(struct test *t)
{
	struct engine *e = new_engine();
	struct flow_key k1 = client_key(AF_INET, 40021), k2 = client_key(AF_INET, 40022);
	struct sink s = {0};
	struct sk v = { .sent = 64, .segs_out = 1, .lsnd = 5, .lrcv = 1, .rcvts = 45,
			.peer_pure = true };

	feed_open(e, T0, &k1, true);
	scan_still(e, 200, 800, &k1, &v, &s);
	/* the answer at 810 ms, read, then the close */
	feed_close(e, T0 + 811 * MSEC, &k1, path_client_fin, sizeof(path_client_fin),
		   1, 1, 66, 65);
	/* one-way: write, close 20 ms later */
	feed_open(e, T0 + 2 * SEC, &k2, true);
	feed_close(e, T0 + 2020 * MSEC, &k2, path_client_fin, sizeof(path_client_fin),
		   1, 0, 66, 0);
	for (long ms = 1000; ms <= 9000; ms += 200)
		engine_tick(e, T0 + (__u64)ms * MSEC, sink_fn, &s);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "nobody gave up, got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * The server's view: a request read, then the client's FIN 1 s later with
 * no answer sent; the answer leaves 1.5 s after that.
 */
static void gave_up_server(struct test *t, int family)
{
	struct engine *e = new_engine();
	struct flow_key k = server_key(family, 40023);
	struct sink s = {0};
	const struct diagnosis *d;
	struct sk v = { .rcvd = 64, .read = 64, .segs_in = 1, .lsnd = 1, .lrcv = 5,
			.rcvts = 5 };

	feed_open(e, T0, &k, false);
	scan_still(e, 200, 1000, &k, &v, &s);
	v.state = TT_TCP_CLOSE_WAIT;
	v.fin_in = true;
	v.peer_pure = true;
	v.rcvts = 1005;
	scan_still(e, 1200, 2400, &k, &v, &s);
	EXPECT(s.n == 0, "wait for the answer or the threshold, got %s", sink_str(&s));
	v.sent = 64;
	v.segs_out = 1;
	v.lsnd = 2500;
	scan_tick(e, T0 + 2600 * MSEC, &k, &v, &s);
	EXPECT(s.n == 1 && (d = nth_code(&s, DIAG_LOCAL_APP_STALL, 0)),
	       "want LOCAL_APP_STALL, got %s", sink_str(&s));
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	EXPECT_EQ(ev_val(d, "request_bytes"), 64);
	EXPECT(ev_val(d, "gave_up_after_ms") == 1000, "gave_up_after_ms %lld",
	       ev_val(d, "gave_up_after_ms"));
	EXPECT_EQ(ev_val(d, "answered_late"), 1);
	EXPECT(ev_val(d, "answer_after_ms") == 1495, "answer_after_ms %lld",
	       ev_val(d, "answer_after_ms"));
	EXPECT(strstr(words_of(&s, d)->summary, "too late"), "summary: %s",
	       words_of(&s, d)->summary);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_gave_up_server(struct test *t)
{
	gave_up_server(t, AF_INET);
}

static void test_gave_up_server_ipv6(struct test *t)
{
	gave_up_server(t, AF_INET6);
}

/* ---- a connect given up early ----------------------------------------- */

static struct nic_flow nic_syns(__u32 syns)
{
	struct nic_flow nf;

	memset(&nf, 0, sizeof(nf));
	nf.dir[NIC_OUT].syn = syns;
	nf.dir[NIC_OUT].pkts = syns;
	nf.dir[NIC_OUT].first_ns = T0;
	return nf;
}

/* A 1.5 s connect timeout, one SYN retransmitted, nothing back at the NIC. */
static void syn_given_up(struct test *t, int family)
{
	struct engine *e = new_engine();
	struct flow_key k = client_key(family, 40030);
	struct nic_flow nf = nic_syns(2);
	struct sink s = {0};
	const struct diagnosis *d;

	feed_state(e, T0, &k, TT_TCP_CLOSE, TT_TCP_SYN_SENT);
	feed_simple(e, EV_RETRANS, T0 + SEC, &k, TT_TCP_SYN_SENT, 0, EVF_SYN);
	engine_on_nic(e, &k, &nf, T0 + 1400 * MSEC);
	feed_state(e, T0 + 1500 * MSEC, &k, TT_TCP_SYN_SENT, TT_TCP_CLOSE);
	engine_tick(e, T0 + 1600 * MSEC, sink_fn, &s);
	/* a router's late ICMP gets its time first */
	EXPECT(s.n == 0, "too soon, got %s", sink_str(&s));
	engine_tick(e, T0 + 3600 * MSEC, sink_fn, &s);
	EXPECT(s.n == 1 && (d = nth_code(&s, DIAG_SYN_UNANSWERED, 0)),
	       "want SYN_UNANSWERED, got %s", sink_str(&s));
	EXPECT_EQ(ev_val(d, "app_gave_up"), 1);
	EXPECT_EQ(ev_val(d, "syns_sent"), 2);
	EXPECT_EQ(ev_val(d, "nic_packets_in"), 0);
	EXPECT(ev_val(d, "waited_ms") == 1500, "waited_ms %lld", ev_val(d, "waited_ms"));
	EXPECT(strstr(words_of(&s, d)->summary, "gave up its connect"), "summary: %s",
	       words_of(&s, d)->summary);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_syn_given_up(struct test *t)
{
	syn_given_up(t, AF_INET);
}

static void test_syn_given_up_ipv6(struct test *t)
{
	syn_given_up(t, AF_INET6);
}

/* A race called off (Happy Eyeballs' 250 ms), or an answer at the NIC: no. */
static void test_syn_given_up_healthy(struct test *t)
{
	struct engine *e = new_engine();
	struct flow_key k1 = client_key(AF_INET6, 40031), k2 = client_key(AF_INET, 40032);
	struct nic_flow nf = nic_syns(1);
	struct sink s = {0};

	feed_state(e, T0, &k1, TT_TCP_CLOSE, TT_TCP_SYN_SENT);
	engine_on_nic(e, &k1, &nf, T0 + 200 * MSEC);
	feed_state(e, T0 + 250 * MSEC, &k1, TT_TCP_SYN_SENT, TT_TCP_CLOSE);
	/* something came back for this one (counted, not understood) */
	feed_state(e, T0, &k2, TT_TCP_CLOSE, TT_TCP_SYN_SENT);
	nf.dir[NIC_IN].pkts = 1;
	engine_on_nic(e, &k2, &nf, T0 + 1400 * MSEC);
	feed_state(e, T0 + 1500 * MSEC, &k2, TT_TCP_SYN_SENT, TT_TCP_CLOSE);
	for (long ms = 200; ms <= 6000; ms += 200)
		engine_tick(e, T0 + (__u64)ms * MSEC, sink_fn, &s);
	engine_finish(e, T0 + 7 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* ---- loss seen by the receiver ---------------------------------------- */

static void loss_inbound(struct test *t, int family)
{
	struct engine *e = new_engine();
	struct flow_key k = client_key(family, 40040);
	struct sink s = {0};
	const struct diagnosis *d;
	/* a download: 2729 data segments in, 304 of them after a gap */
	struct sk v = { .sent = 64, .segs_out = 1, .rcvd = 3859744, .read = 3859744,
			.segs_in = 2729, .lsnd = 5, .lrcv = 3000, .rcvts = 3000, .ooo = 304 };

	feed_open(e, T0, &k, true);
	scan_tick(e, T0 + 3 * SEC, &k, &v, &s);
	EXPECT(s.n == 1 && (d = nth_code(&s, DIAG_PACKET_LOSS, 0)),
	       "want PACKET_LOSS, got %s", sink_str(&s));
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT_EQ(ev_val(d, "inbound"), 1);
	EXPECT_EQ(ev_val(d, "out_of_order_in"), 304);
	EXPECT_EQ(ev_val(d, "out_of_order_permille"), 111);
	EXPECT(strstr(words_of(&s, d)->summary, "arrived out of order (11.1%)"),
	       "summary: %s", words_of(&s, d)->summary);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_loss_inbound(struct test *t)
{
	loss_inbound(t, AF_INET);
}

static void test_loss_inbound_ipv6(struct test *t)
{
	loss_inbound(t, AF_INET6);
}

/* A healthy bulk receive reorders a little (veth: 235 of 453891), a
 * short transfer with one reordering is no loss, and a fast stream whose
 * sender lost 0.43 % in bursts (lab xdp under load: 4797 of 234031 after
 * a gap at the first snapshot) is below the threshold too. */
static void test_loss_inbound_healthy(struct test *t)
{
	struct engine *e = new_engine();
	struct flow_key k1 = client_key(AF_INET, 40041), k2 = client_key(AF_INET, 40042);
	struct flow_key k3 = client_key(AF_INET, 40043);
	struct sink s = {0};
	struct sk v1 = { .rcvd = 655885584, .read = 655885584, .segs_in = 453891,
			 .lrcv = 2900, .rcvts = 2900, .ooo = 235 };
	struct sk v2 = { .rcvd = 70000, .read = 70000, .segs_in = 50, .lrcv = 2900,
			 .rcvts = 2900, .ooo = 5 };
	struct sk v3 = { .rcvd = 331781120, .read = 331781120, .segs_in = 234031,
			 .lrcv = 2900, .rcvts = 2900, .ooo = 4797 };

	feed_open(e, T0, &k1, true);
	feed_open(e, T0, &k2, true);
	feed_open(e, T0, &k3, true);
	feed_scan(e, T0 + 3 * SEC, &k1, &v1);
	feed_scan(e, T0 + 3 * SEC, &k2, &v2);
	feed_scan(e, T0 + 3 * SEC, &k3, &v3);
	engine_scan_end(e, T0 + 3 * SEC);
	engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 4 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* A bulk stream's slow start overshoots the queue once: its first
 * snapshot (lab stream under make test: 687 of 14494 out of order at
 * 118 ms, 4.7 %) is that burst alone. A second in, the share is the
 * stream's (0.8 %): no loss to tell. */
static void test_loss_inbound_slow_start(struct test *t)
{
	struct engine *e = new_engine();
	struct flow_key k = client_key(AF_INET, 40044);
	struct sink s = {0};
	struct sk v = { .rcvd = 20791984, .read = 20791984, .segs_in = 14494,
			.lrcv = 118, .rcvts = 118, .ooo = 687 };

	feed_open(e, T0, &k, true);
	scan_tick(e, T0 + 118 * MSEC, &k, &v, &s);
	v = (struct sk){ .rcvd = 130000000, .read = 130000000, .segs_in = 90000,
			 .lrcv = 1118, .rcvts = 1118, .ooo = 700 };
	scan_tick(e, T0 + 1118 * MSEC, &k, &v, &s);
	engine_finish(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* ---- ICMP host unreachable: at once, or after ARP -------------------- */

static void icmp_case(struct test *t, int family, long after_ms, bool nic,
		      enum diag_code want)
{
	struct engine *e = new_engine();
	struct flow_key k = client_key(family, 40050);
	struct nic_flow nf = nic_syns(1);
	struct sink s = {0};
	const struct diagnosis *d;
	const char *router = family == AF_INET6 ? "fd00:1::1" : "10.0.1.1";

	feed_state(e, T0, &k, TT_TCP_CLOSE, TT_TCP_SYN_SENT);
	nf.icmp.count[NIC_ICMP_HOST_UNREACH] = 1;
	nf.icmp.last_ns = T0 + (__u64)after_ms * MSEC;
	inet_pton(family, router, nf.icmp.from);
	if (nic)
		engine_on_nic(e, &k, &nf, T0 + (__u64)after_ms * MSEC + 10 * MSEC);
	feed_simple(e, EV_SK_ERROR, T0 + (__u64)after_ms * MSEC, &k, TT_TCP_SYN_SENT,
		    EHOSTUNREACH, 0);
	feed_state(e, T0 + (__u64)after_ms * MSEC, &k, TT_TCP_SYN_SENT, TT_TCP_CLOSE);
	engine_tick(e, T0 + (__u64)after_ms * MSEC + 200 * MSEC, sink_fn, &s);
	engine_finish(e, T0 + 20 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && (d = nth_code(&s, want, 0)), "want %s, got %s",
	       diag_code_name(want), sink_str(&s));
	if (!nic)
		goto out;
	EXPECT(ev_val(d, "icmp_after_ms") == after_ms, "icmp_after_ms %lld",
	       ev_val(d, "icmp_after_ms"));
	EXPECT(strstr(words_of(&s, d)->summary, router), "summary: %s",
	       words_of(&s, d)->summary);
	if (want == DIAG_NO_ROUTE) {
		EXPECT_EQ(ev_val(d, "icmp_host_unreach"), 1);
		EXPECT(strstr(words_of(&s, d)->summary, "own route table"),
		       "summary: %s", words_of(&s, d)->summary);
	} else {
		EXPECT(strstr(words_of(&s, d)->summary, "ARP/ND"), "summary: %s",
		       words_of(&s, d)->summary);
	}
out:
	sink_free(&s);
	engine_free(e);
}

/* 2 ms after the SYN: the router's route table (a null route). */
static void test_icmp_host_unreach_at_once(struct test *t)
{
	icmp_case(t, AF_INET, 2, true, DIAG_NO_ROUTE);
}

static void test_icmp_host_unreach_at_once_ipv6(struct test *t)
{
	icmp_case(t, AF_INET6, 2, true, DIAG_NO_ROUTE);
}

/* 3 s after: the router's ARP gave up, the host is not there. */
static void test_icmp_host_unreach_after_arp(struct test *t)
{
	icmp_case(t, AF_INET, 3010, true, DIAG_HOST_UNREACHABLE);
}

/* Without interface hooks, the application's error says when. */
static void test_icmp_host_unreach_no_nic(struct test *t)
{
	icmp_case(t, AF_INET, 3, false, DIAG_NO_ROUTE);
	if (t->failed)
		return;
	icmp_case(t, AF_INET, 3010, false, DIAG_HOST_UNREACHABLE);
}

static const struct test_case tests[] = {
	TEST(test_pool_hang_client),
	TEST(test_pool_hang_client_ipv6),
	TEST(test_pool_hang_client_unacked_first),
	TEST(test_pool_hang_client_without_clocks),
	TEST(test_pool_hang_server),
	TEST(test_pool_hang_server_ipv6),
	TEST(test_pool_idle_healthy),
	TEST(test_pool_clocks_apart),
	TEST(test_clock_hz_learned),
	TEST(test_kernel_timeout_model),
	TEST(test_connection_timeout),
	TEST(test_connection_timeout_ipv6),
	TEST(test_connection_timeout_user_timeout),
	TEST(test_connection_timeout_recovers),
	TEST(test_connection_timeout_local_drop),
	TEST(test_gave_up_client),
	TEST(test_gave_up_client_ipv6),
	TEST(test_gave_up_client_no_answer),
	TEST(test_gave_up_client_linger0),
	TEST(test_gave_up_client_linger0_no_reason),
	TEST(test_gave_up_healthy),
	TEST(test_gave_up_server),
	TEST(test_gave_up_server_ipv6),
	TEST(test_syn_given_up),
	TEST(test_syn_given_up_ipv6),
	TEST(test_syn_given_up_healthy),
	TEST(test_loss_inbound),
	TEST(test_loss_inbound_ipv6),
	TEST(test_loss_inbound_healthy),
	TEST(test_loss_inbound_slow_start),
	TEST(test_icmp_host_unreach_at_once),
	TEST(test_icmp_host_unreach_at_once_ipv6),
	TEST(test_icmp_host_unreach_after_arp),
	TEST(test_icmp_host_unreach_no_nic),
};

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "-v")) {
		verbose = true;
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	return RUN_TESTS(tests, argc, argv);
}
