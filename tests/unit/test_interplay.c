// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of where issue 7's two halves meet: a verdict one half gives
 * that the other half's facts change. Resets are judged by what they cut
 * off (the false alarms) while a client's giving up is always told (the
 * misses): a client that gives up and closes with SO_LINGER 0 is both.
 * Each case runs for IPv4 and IPv6. No root, no kernel, no clock.
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
#define T0	(1000 * SEC)	/* monotonic time of the first event */
#define J0	5000000u	/* jiffies at T0 (HZ 1000: a jiffy a millisecond) */
#define NETNS	4026531840u
#define ISN_TX	1000u
#define ISN_RX	7000u

static bool verbose;

/* ---- what the engine says --------------------------------------------- */

struct sink {
	size_t n;
	struct diagnosis d[32];
	struct diag_words w[32];
	const char *close_reason;	/* the last conn record's */
};

static void sink_fn(const struct diagnosis *d, void *ctx)
{
	struct sink *s = ctx;

	if (s->n == sizeof(s->d) / sizeof(s->d[0]))
		abort();
	s->d[s->n] = *d;
	diag_words(d, &s->w[s->n]);
	if (verbose) {
		fprintf(stderr, "  %s %s %s: %s\n", diag_code_name(d->code),
			diag_severity_name(d->severity), tt_side_name(d->side),
			s->w[s->n].summary);
		for (unsigned int i = 0; i < d->n_evidence; i++)
			fprintf(stderr, "    evidence %s=%lld\n", d->evidence[i].name,
				d->evidence[i].value);
	}
	s->n++;
}

static void conn_fn_sink(const struct conn_record *c, void *ctx)
{
	struct sink *s = ctx;

	if (!c->open)
		s->close_reason = c->close_reason;
}

static const struct diagnosis *find_code(const struct sink *s, enum diag_code code)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->d[i].code == code)
			return &s->d[i];
	return NULL;
}

static const struct diag_words *words_of(const struct sink *s, const struct diagnosis *d)
{
	return &s->w[d - s->d];
}

static const char *sink_str(const struct sink *s)
{
	static char buf[512];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && off < sizeof(buf) - 48; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s/%s", i ? "," : "",
				diag_code_name(s->d[i].code),
				diag_severity_name(s->d[i].severity));
	return s->n ? buf : "nothing";
}

static long long ev_val(const struct diagnosis *d, const char *name)
{
	long long v;

	return d && diag_evidence_get(d, name, &v) ? v : -1;
}

/* ---- what it is told --------------------------------------------------- */

struct fam {
	const char *name;
	int af;
	const char *a, *b;
};

static const struct fam fams[] = {
	{ "v4", AF_INET, "10.0.1.5", "10.0.2.10" },
	{ "v6", AF_INET6, "fd00:1::5", "fd00:2::10" },
};

static struct flow_key mkkey(const struct fam *fm, const char *laddr, __u16 lport,
			     const char *raddr, __u16 rport)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.netns = NETNS;
	k.family = fm->af == AF_INET6 ? TT_AF_INET6 : TT_AF_INET;
	k.lport = lport;
	k.rport = rport;
	inet_pton(fm->af, laddr, k.laddr);
	inet_pton(fm->af, raddr, k.raddr);
	return k;
}

/* service-a calling service-b:8080. */
static struct flow_key client_key(const struct fam *fm, __u16 lport)
{
	return mkkey(fm, fm->a, lport, fm->b, 8080);
}

static struct engine *new_engine(struct sink *s)
{
	struct engine_config cfg;
	struct engine *e;

	engine_config_default(&cfg);
	cfg.stall_ns = 2 * SEC;
	cfg.hz = 1000;
	e = engine_new(&cfg);
	if (e)
		engine_set_conn_sink(e, conn_fn_sink, s);
	return e;
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

static void feed_client_open(struct engine *e, __u64 ts, const struct flow_key *k)
{
	struct tt_event ev = mkev(EV_STATE, ts, k);

	ev.old_state = TT_TCP_CLOSE;
	ev.state = TT_TCP_SYN_SENT;
	ev.side = TT_SIDE_CLIENT;
	engine_on_event(e, &ev);
	ev.ts_ns += MSEC;
	ev.old_state = TT_TCP_SYN_SENT;
	ev.state = TT_TCP_ESTABLISHED;
	engine_on_event(e, &ev);
}

/*
 * A client's socket after its request: sent bytes all acknowledged, the
 * peer's ACK (no data) at ack_ms, our data at lsnd_ms (ms after T0).
 */
static void feed_request_scan(struct engine *e, __u64 now, const struct flow_key *k,
			      __u32 sent, long lsnd_ms, long ack_ms)
{
	struct tt_sock_scan s;

	memset(&s, 0, sizeof(s));
	s.key = *k;
	s.state = TT_TCP_ESTABLISHED;
	s.write_seq = s.snd_nxt = s.snd_una = ISN_TX + sent;
	s.rcv_nxt = s.copied_seq = s.snd_wl1 = ISN_RX;
	s.snd_wnd = s.rcv_wnd = 65535;
	s.srtt_us = 1000;
	s.min_rtt_us = 800;
	s.mss = s.rcv_mss = 1448;
	s.data_segs_out = 1;
	s.bytes_sent = sent;
	s.bytes_acked = sent + 1;
	s.now_jiffies = J0 + (__u32)((now - T0) / MSEC);
	s.lsndtime = J0 + (__u32)lsnd_ms;
	s.lrcvtime = J0 + 1;
	s.rcv_tstamp = J0 + (__u32)ack_ms;
	s.rto_jiffies = 200;
	s.retries2 = 15;
	engine_on_scan(e, &s, now);
	engine_scan_end(e, now);
}

/* ---- a client that gives up and resets -------------------------------- */

/*
 * The client's request (64 bytes) is ACKed and never answered; after 1 s
 * its application gives up and closes with SO_LINGER 0: the socket goes
 * from ESTABLISHED straight to CLOSE, then sends its reset (TCP_STATE
 * since 6.10, no reason before). That reset is the close's, not one that
 * answered a late reply: the giving up is told (PEER_APP_STALL, no answer
 * came), and the reset, which cut the pending request off, is an error
 * (LOCAL_RESET) that says how long the application waited.
 */
static void gave_up_linger0(struct test *t, __u32 reason)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key k = client_key(fm, 40100);
		struct sink s = {0};
		struct engine *e = new_engine(&s);
		const struct diagnosis *stall, *rst;
		struct tt_event ev;

		feed_client_open(e, T0, &k);
		for (long ms = 200; ms <= 1000; ms += 200) {
			feed_request_scan(e, T0 + (__u64)ms * MSEC, &k, 64, 5, 6);
			engine_tick(e, T0 + (__u64)ms * MSEC, sink_fn, &s);
		}
		ev = mkev(EV_STATE, T0 + 1005 * MSEC, &k);
		ev.old_state = TT_TCP_ESTABLISHED;
		ev.state = TT_TCP_CLOSE;
		ev.path[0] = TT_TCP_SYN_SENT;
		ev.path[1] = TT_TCP_ESTABLISHED;
		ev.path[2] = TT_TCP_CLOSE;
		ev.data_segs_out = 1;
		ev.segs_out = 3;
		ev.segs_in = 2;
		ev.bytes_acked = 65;
		engine_on_event(e, &ev);
		/* the close's own reset, 5 ms after its CLOSE: a busy host
		 * (Debian 12's 6.1 under qemu) between the two */
		ev = mkev(EV_RST_TX, T0 + 1010 * MSEC, &k);
		ev.state = TT_TCP_CLOSE;
		ev.reason = reason;
		ev.last_data = TT_LAST_SENT;
		engine_on_event(e, &ev);
		for (long ms = 1200; ms <= 6000; ms += 200)
			engine_tick(e, T0 + (__u64)ms * MSEC, sink_fn, &s);
		engine_finish(e, T0 + 7 * SEC, sink_fn, &s);

		stall = find_code(&s, DIAG_PEER_APP_STALL);
		rst = find_code(&s, DIAG_LOCAL_RESET);
		EXPECT(s.n == 2 && stall && rst, "%s: want PEER_APP_STALL and LOCAL_RESET, got %s",
		       fm->name, sink_str(&s));
		EXPECT(ev_val(stall, "gave_up_after_ms") == 1000, "%s: gave_up_after_ms %lld",
		       fm->name, ev_val(stall, "gave_up_after_ms"));
		EXPECT(ev_val(stall, "answered_late") == 0, "%s: our own reset taken for "
		       "the late answer: %s", fm->name, words_of(&s, stall)->summary);
		EXPECT_EQ(ev_val(stall, "closed_with_reset"), 1);
		EXPECT(strstr(words_of(&s, stall)->summary, "reset"), "%s: %s", fm->name,
		       words_of(&s, stall)->summary);
		EXPECT(rst->severity == SEV_ERROR, "%s: LOCAL_RESET is %s", fm->name,
		       diag_severity_name(rst->severity));
		EXPECT_EQ(ev_val(rst, "request_pending"), 1);
		EXPECT_EQ(ev_val(rst, "gave_up_after_ms"), 1000);
		EXPECT(strstr(words_of(&s, rst)->causes[0], "gave up"), "%s: cause %s",
		       fm->name, words_of(&s, rst)->causes[0]);
		EXPECT(s.close_reason && !strcmp(s.close_reason, "reset_local"),
		       "%s: close_reason %s", fm->name, s.close_reason ? s.close_reason : "none");
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

static void test_gave_up_linger0(struct test *t)
{
	gave_up_linger0(t, TT_RST_TCP_STATE);
}

/* Before 6.10 the reset carries no reason: the close's path says it. */
static void test_gave_up_linger0_no_reason(struct test *t)
{
	gave_up_linger0(t, TT_RST_NOT_GIVEN);
}

/* ---- a stream through heavy loss -------------------------------------- */

/* service-b's end of a download service-a makes. */
static struct flow_key server_key(const struct fam *fm, __u16 rport)
{
	return mkkey(fm, fm->b, 8080, fm->a, rport);
}

static void feed_server_open(struct engine *e, __u64 ts, const struct flow_key *k)
{
	struct tt_event ev = mkev(EV_STATE, ts, k);

	ev.old_state = TT_TCP_LISTEN;
	ev.state = TT_TCP_SYN_RECV;
	ev.side = TT_SIDE_SERVER;
	engine_on_event(e, &ev);
	ev.ts_ns += MSEC;
	ev.old_state = TT_TCP_SYN_RECV;
	ev.state = TT_TCP_ESTABLISHED;
	engine_on_event(e, &ev);
}

/* A sender's socket: segments of 1448 bytes, of them unacked in flight;
 * its retransmits so far, and the timeouts in a row (each doubling the
 * RTO from 200 ms) since the peer last acknowledged anything, at ack_ms. */
struct stream {
	__u32 segs, unacked, retrans, rto_count;
	long ack_ms, rtx_since_ms;
};

static void feed_stream_scan(struct engine *e, __u64 now, const struct flow_key *k,
			     const struct stream *v)
{
	struct tt_sock_scan s;
	__u32 sent = v->segs * 1448;

	memset(&s, 0, sizeof(s));
	s.key = *k;
	s.state = TT_TCP_ESTABLISHED;
	s.write_seq = s.snd_nxt = ISN_TX + sent;
	s.snd_una = s.snd_nxt - v->unacked * 1448;
	s.rcv_nxt = s.copied_seq = s.snd_wl1 = ISN_RX;
	s.snd_wnd = s.rcv_wnd = 1 << 20;
	s.srtt_us = 1000;
	s.min_rtt_us = 300;
	s.mss = s.rcv_mss = 1448;
	s.data_segs_out = v->segs;
	s.total_retrans = v->retrans;
	s.bytes_sent = sent;
	s.bytes_acked = sent - v->unacked * 1448 + 1;
	s.now_jiffies = J0 + (__u32)((now - T0) / MSEC);
	s.lsndtime = s.now_jiffies;
	s.lrcvtime = J0 + 1;
	s.rcv_tstamp = J0 + (__u32)v->ack_ms;
	s.retransmits = (__u8)v->rto_count;
	s.rto_jiffies = 200u << v->rto_count;
	s.rtx_elapsed_ms = v->rtx_since_ms ?
			   (__u32)((now - T0) / MSEC - (__u64)v->rtx_since_ms) : 0;
	s.retries2 = 15;
	engine_on_scan(e, &s, now);
	engine_scan_end(e, now);
}

/*
 * A download through a path that drops 9% of the sender's segments: fast
 * retransmits and ACKs for 1 s, then the head's retransmission is lost
 * again and again: rto timeouts in a row and nothing acknowledged for
 * over the threshold (2 s). Three in a row are what 9% loss makes by
 * chance (one in a hundred each time the timer fires): PACKET_LOSS, and
 * no CONNECTION_TIMEOUT unless the path stays black for a fourth. On a
 * clean path three are enough.
 */
static void lossy_stream(struct test *t, __u32 rto_max, bool lossy, bool want_timeout)
{
	for (size_t i = 0; i < 2; i++) {
		const struct fam *fm = &fams[i];
		struct flow_key k = server_key(fm, 40200);
		struct sink s = {0};
		struct engine *e = new_engine(&s);
		struct stream v = {0};
		const struct diagnosis *d;
		long ms;

		feed_server_open(e, T0, &k);
		/* 1 s of streaming: 1000 segments a scan, 9% retransmitted */
		for (ms = 200; ms <= 1000; ms += 200) {
			v.segs += 1000;
			v.retrans = lossy ? v.segs * 9 / 100 : 0;
			v.unacked = 40;
			v.ack_ms = ms - 1;
			feed_stream_scan(e, T0 + (__u64)ms * MSEC, &k, &v);
			engine_tick(e, T0 + (__u64)ms * MSEC, sink_fn, &s);
		}
		/* the last ACK at 999 ms; timeouts at 1.2, 1.6, 2.4, 4.0 s */
		for (ms = 1200; ms <= 4600; ms += 200) {
			__u32 rto = ms >= 4000 ? 4 : ms >= 2400 ? 3 : ms >= 1600 ? 2 : 1;

			v.rto_count = rto < rto_max ? rto : rto_max;
			v.rtx_since_ms = 1200;
			v.retrans = (lossy ? (v.segs - v.rto_count) * 9 / 100 : 0) + v.rto_count;
			feed_stream_scan(e, T0 + (__u64)ms * MSEC, &k, &v);
			engine_tick(e, T0 + (__u64)ms * MSEC, sink_fn, &s);
			if (v.rto_count == rto_max && ms >= 3400)
				break;
		}
		/* ... and the path works again */
		v.rto_count = 0;
		v.rtx_since_ms = 0;
		v.segs += 200;
		v.ack_ms = ms + 150;
		feed_stream_scan(e, T0 + (__u64)(ms + 200) * MSEC, &k, &v);
		engine_tick(e, T0 + (__u64)(ms + 200) * MSEC, sink_fn, &s);
		engine_finish(e, T0 + 10 * SEC, sink_fn, &s);

		d = find_code(&s, DIAG_CONNECTION_TIMEOUT);
		EXPECT(!d == !want_timeout, "%s: %s CONNECTION_TIMEOUT, got %s", fm->name,
		       want_timeout ? "want" : "no", sink_str(&s));
		if (lossy)
			EXPECT(find_code(&s, DIAG_PACKET_LOSS), "%s: the loss not told: %s",
			       fm->name, sink_str(&s));
		if (d && lossy)
			EXPECT(ev_val(d, "loss_permille_before") >= 80 &&
			       ev_val(d, "loss_permille_before") <= 100,
			       "%s: loss_permille_before %lld", fm->name,
			       ev_val(d, "loss_permille_before"));
		if (d)
			EXPECT(ev_val(d, "rto_in_a_row") >= (lossy ? 4 : 3),
			       "%s: rto_in_a_row %lld", fm->name, ev_val(d, "rto_in_a_row"));
out:
		engine_free(e);
		if (t->failed)
			return;
	}
}

static void test_lossy_stream_three_timeouts(struct test *t)
{
	lossy_stream(t, 3, true, false);
}

static void test_lossy_stream_four_timeouts(struct test *t)
{
	lossy_stream(t, 4, true, true);
}

static void test_clean_stream_three_timeouts(struct test *t)
{
	lossy_stream(t, 3, false, true);
}

static const struct test_case tests[] = {
	TEST(test_gave_up_linger0),
	TEST(test_gave_up_linger0_no_reason),
	TEST(test_lossy_stream_three_timeouts),
	TEST(test_lossy_stream_four_timeouts),
	TEST(test_clean_stream_three_timeouts),
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
