// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the diagnosis engine: hand-built kernel event sequences and
 * socket snapshots in, diagnoses out. No root, no kernel, no clock.
 *
 * One line per test: "PASS <name>" or "FAIL <name>: <reason>"; the exit
 * status is nonzero when any test failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diagnose.h"
#include "catalogue.h"
#include "harness.h"
#include "words.h"

#define SEC	1000000000ULL
#define MSEC	1000000ULL
#define T0	(1000 * SEC)	/* monotonic time of the first event */
#define NETNS	4026531840u

/* ---- harness ---------------------------------------------------------- */

/* -v: print every diagnosis, to read the texts. */
static bool verbose;

static void print_diagnosis(const struct diagnosis *d, const struct diag_words *w)
{
	unsigned int i;

	fprintf(stderr, "  %s %s %s conns=%u err=%d lost=%d\n    %s\n",
		diag_code_name(d->code), diag_severity_name(d->severity),
		tt_side_name(d->side), d->connections, d->app_error,
		d->events_lost, w->summary);
	for (i = 0; i < d->n_evidence; i++)
		fprintf(stderr, "    evidence %s=%lld\n", d->evidence[i].name,
			d->evidence[i].value);
	for (i = 0; i < w->n_causes; i++)
		fprintf(stderr, "    likely: %s\n", w->causes[i]);
	for (i = 0; i < w->n_checks; i++)
		fprintf(stderr, "    check: %s\n", w->checks[i]);
}

/* Every diagnosis the engine emits, copied, with the words the output
 * stage renders for it. */
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
	if (verbose)
		print_diagnosis(d, &s->w[s->n]);
	s->n++;
}

/* The words of a diagnosis the sink holds (NULL for none). */
static const struct diag_words *words_of(const struct sink *s,
					 const struct diagnosis *d)
{
	return d ? &s->w[d - s->d] : NULL;
}

static void sink_free(struct sink *s)
{
	free(s->d);
	free(s->w);
	memset(s, 0, sizeof(*s));
}

static size_t count_code(const struct sink *s, enum diag_code code)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		n += s->d[i].code == code;
	return n;
}

static const struct diagnosis *find_code(const struct sink *s,
					 enum diag_code code)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->d[i].code == code)
			return &s->d[i];
	return NULL;
}

static bool ev_is(const struct diagnosis *d, const char *name, long long want)
{
	long long v;

	return diag_evidence_get(d, name, &v) && v == want;
}

static long long ev_val(const struct diagnosis *d, const char *name)
{
	long long v;

	return diag_evidence_get(d, name, &v) ? v : -1;
}

static bool any_check_has(const struct diag_words *w, const char *needle)
{
	unsigned int i;

	for (i = 0; i < w->n_checks; i++)
		if (strstr(w->checks[i], needle))
			return true;
	return false;
}

/* A one-line description of what was emitted, for failure messages. */
static const char *sink_str(const struct sink *s)
{
	static char buf[256];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < s->n && off < sizeof(buf) - 32; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s(x%u)",
				i ? "," : "", diag_code_name(s->d[i].code),
				s->d[i].connections);
	return s->n ? buf : "nothing";
}

/* ---- building inputs -------------------------------------------------- */

static struct flow_key key4(const char *laddr, __u16 lport, const char *raddr,
			    __u16 rport)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.netns = NETNS;
	k.family = TT_AF_INET;
	k.lport = lport;
	k.rport = rport;
	inet_pton(AF_INET, laddr, k.laddr);
	inet_pton(AF_INET, raddr, k.raddr);
	return k;
}

static struct flow_key key6(const char *laddr, __u16 lport, const char *raddr,
			    __u16 rport)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.netns = NETNS;
	k.family = TT_AF_INET6;
	k.lport = lport;
	k.rport = rport;
	inet_pton(AF_INET6, laddr, k.laddr);
	inet_pton(AF_INET6, raddr, k.raddr);
	return k;
}

/* service-a (10.0.1.5) calling service-b (10.0.2.10:8080), from each end. */
static struct flow_key client_key(__u16 lport)
{
	return key4("10.0.1.5", lport, "10.0.2.10", 8080);
}

static struct flow_key server_key(__u16 rport)
{
	return key4("10.0.2.10", 8080, "10.0.1.5", rport);
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

/* connect() from process "svc-a" (pid 4242): the start of a client flow. */
static void feed_connect(struct engine *e, __u64 ts, const struct flow_key *k)
{
	struct tt_event ev = mkev(EV_STATE, ts, k);

	ev.old_state = TT_TCP_CLOSE;
	ev.state = TT_TCP_SYN_SENT;
	ev.side = TT_SIDE_CLIENT;
	ev.flags = EVF_PROC;
	ev.pid = 4242;
	snprintf(ev.comm, sizeof(ev.comm), "svc-a");
	engine_on_event(e, &ev);
}

static void feed_client_open(struct engine *e, __u64 ts, const struct flow_key *k)
{
	feed_connect(e, ts, k);
	feed_state(e, ts + 1 * MSEC, k, TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
		   TT_SIDE_CLIENT);
}

static void feed_server_open(struct engine *e, __u64 ts, const struct flow_key *k)
{
	feed_state(e, ts, k, TT_TCP_LISTEN, TT_TCP_SYN_RECV, TT_SIDE_SERVER);
	feed_state(e, ts + 1 * MSEC, k, TT_TCP_SYN_RECV, TT_TCP_ESTABLISHED,
		   TT_SIDE_SERVER);
}

static void feed_retrans(struct engine *e, __u64 ts, const struct flow_key *k,
			 __u8 state, __u8 ca_state)
{
	struct tt_event ev = mkev(EV_RETRANS, ts, k);

	ev.state = state;
	ev.ca_state = ca_state;
	ev.seg_len = state == TT_TCP_SYN_SENT ? 0 : 1448;
	ev.mss = 1448;
	ev.srtt_us = 20000;
	engine_on_event(e, &ev);
}

static void feed_rst_rx(struct engine *e, __u64 ts, const struct flow_key *k,
			__u8 state)
{
	struct tt_event ev = mkev(EV_RST_RX, ts, k);

	ev.state = state;
	engine_on_event(e, &ev);
}

static void feed_sk_error(struct engine *e, __u64 ts, const struct flow_key *k,
			  __u8 state, int err)
{
	struct tt_event ev = mkev(EV_SK_ERROR, ts, k);

	ev.state = state;
	ev.err = err;
	engine_on_event(e, &ev);
}

/* The kernel's order for a refused connect: tcp_reset() fires the receive
 * tracepoint, tcp_done() sets CLOSE, then the error is reported. */
static void feed_refused(struct engine *e, __u64 ts, const struct flow_key *k)
{
	feed_connect(e, ts, k);
	feed_rst_rx(e, ts + 1 * MSEC, k, TT_TCP_SYN_SENT);
	feed_state(e, ts + 1 * MSEC, k, TT_TCP_SYN_SENT, TT_TCP_CLOSE,
		   TT_SIDE_CLIENT);
	feed_sk_error(e, ts + 1 * MSEC, k, TT_TCP_CLOSE, ECONNREFUSED);
}

/* An orderly close from either end: FIN, FIN, CLOSE. */
static void feed_fin_close(struct engine *e, __u64 ts, const struct flow_key *k,
			   bool active)
{
	if (active) {
		feed_state(e, ts, k, TT_TCP_ESTABLISHED, TT_TCP_FIN_WAIT1, 0);
		feed_state(e, ts + MSEC, k, TT_TCP_FIN_WAIT1, TT_TCP_FIN_WAIT2, 0);
		feed_state(e, ts + 2 * MSEC, k, TT_TCP_FIN_WAIT2, TT_TCP_CLOSE, 0);
	} else {
		feed_state(e, ts, k, TT_TCP_ESTABLISHED, TT_TCP_CLOSE_WAIT, 0);
		feed_state(e, ts + MSEC, k, TT_TCP_CLOSE_WAIT, TT_TCP_LAST_ACK, 0);
		feed_state(e, ts + 2 * MSEC, k, TT_TCP_LAST_ACK, TT_TCP_CLOSE, 0);
	}
}

/*
 * A socket snapshot from byte counts: "sent" bytes written and all ACKed
 * unless unacked says otherwise, "rcvd" bytes received of which "read"
 * were read. Sequence numbers start at the given initial values.
 */
struct sockview {
	__u8 state;
	__u32 isn_tx, isn_rx;	/* sequence of the first data byte each way */
	__u64 sent, unacked, rcvd, read;
	bool zero_wnd;		/* the peer advertises a zero window */
	__u32 srtt_us, min_rtt_us;
	__u32 total_retrans, data_segs_out;
	__u8 probes;
	__u32 dsack_dups;	/* DSACKs the peer sent */
};

static void feed_scan(struct engine *e, __u64 now, const struct flow_key *k,
		      const struct sockview *v)
{
	struct tt_sock_scan s;

	memset(&s, 0, sizeof(s));
	s.key = *k;
	s.state = v->state ? v->state : TT_TCP_ESTABLISHED;
	s.write_seq = v->isn_tx + (__u32)v->sent;
	/* Behind a zero window the unacked data is not even sent. */
	s.snd_nxt = s.write_seq - (__u32)(v->zero_wnd ? v->unacked : 0);
	s.snd_una = s.write_seq - (__u32)v->unacked;
	s.rcv_nxt = v->isn_rx + (__u32)v->rcvd;
	s.copied_seq = v->isn_rx + (__u32)v->read;
	s.snd_wnd = v->zero_wnd ? 0 : 65535;
	s.rcv_wnd = 65535;
	s.srtt_us = v->srtt_us ? v->srtt_us : 1000;
	s.min_rtt_us = v->min_rtt_us ? v->min_rtt_us : 800;
	s.total_retrans = v->total_retrans;
	s.data_segs_out = v->data_segs_out ? v->data_segs_out :
			  (__u32)((v->sent + 1447) / 1448);
	s.bytes_sent = v->sent;
	/* tcp_snd_una_update() counts sequence space: our SYN is in it. */
	s.bytes_acked = v->sent - v->unacked + 1;
	s.bytes_received = v->rcvd;
	s.probes_out = v->probes;
	s.dsack_dups = v->dsack_dups;
	s.mss = 1448;
	engine_on_scan(e, &s, now);
}

/* One snapshot a second from T0 + 1 s to T0 + n s, each judged at once. */
static void scan_seconds(struct engine *e, const struct flow_key *k,
			 const struct sockview *v, int n, struct sink *s)
{
	for (int i = 1; i <= n; i++) {
		feed_scan(e, T0 + i * SEC, k, v);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, s);
	}
}

static void feed_listen(struct engine *e, __u64 now, __u16 port)
{
	struct tt_sock_scan s;

	memset(&s, 0, sizeof(s));
	s.key.netns = NETNS;
	s.key.family = TT_AF_INET;
	s.key.lport = port;
	s.state = TT_TCP_LISTEN;
	s.max_ack_backlog = 128;
	engine_on_scan(e, &s, now);
}

static struct engine *new_engine(void)
{
	struct engine_config cfg;

	engine_config_default(&cfg);
	return engine_new(&cfg);
}

/* ---- failures to connect ---------------------------------------------- */

static void test_syn_unanswered(struct test *t)
{
	struct flow_key k = client_key(43122);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_connect(e, T0, &k);
	feed_retrans(e, T0 + 1 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "one SYN retransmit is not yet a verdict, got %s",
	       sink_str(&s));

	feed_retrans(e, T0 + 3 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
	/* A router's ICMP host unreachable may still come (its ARP gives up
	 * after 3 s): no verdict before 3.5 s. */
	EXPECT(s.n == 0, "called unanswered within the ICMP grace: %s", sink_str(&s));
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "want one diagnosis, got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_SYN_UNANSWERED);
	EXPECT_EQ(d->severity, SEV_ERROR);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(!memcmp(&d->key, &k, sizeof(k)), "key is not the flow's");
	EXPECT_EQ(d->pid, 4242);
	EXPECT(!strcmp(d->comm, "svc-a"), "comm %s", d->comm);
	EXPECT_EQ(d->connections, 1);
	EXPECT_EQ(d->app_error, 0);
	EXPECT(ev_is(d, "syns_sent", 3), "syns_sent %lld", ev_val(d, "syns_sent"));
	EXPECT(ev_is(d, "syn_retrans", 2), "syn_retrans");
	EXPECT(ev_is(d, "waited_ms", 4000), "waited_ms %lld", ev_val(d, "waited_ms"));
	EXPECT(strstr(w->summary, "3 SYNs left this host over 4.0s, nothing came back"),
	       "summary: %s", w->summary);
	EXPECT(any_check_has(w, "traceroute -T -p 8080 10.0.2.10"), "checks: %s",
	       w->checks[0]);
	EXPECT(any_check_has(w, "on 10.0.2.10: ss -ltn 'sport = :8080'"),
	       "no listener check");
	EXPECT(w->n_causes >= 3, "causes %u", w->n_causes);
	EXPECT(!d->events_lost, "no event was lost");
out:
	sink_free(&s);
	engine_free(e);
}

/* The kernel gives up on its own: ETIMEDOUT after fewer retransmits than
 * our threshold still is an unanswered SYN. */
static void test_syn_unanswered_timeout(struct test *t)
{
	struct flow_key k = client_key(43123);
	struct engine_config cfg;
	struct engine *e;
	struct sink s = {0};
	const struct diagnosis *d;

	engine_config_default(&cfg);
	cfg.syn_retrans = 6;
	e = engine_new(&cfg);
	feed_connect(e, T0, &k);
	feed_retrans(e, T0 + 1 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	engine_tick(e, T0 + 1 * SEC + 500 * MSEC, sink_fn, &s);
	EXPECT(s.n == 0, "early: %s", sink_str(&s));
	feed_sk_error(e, T0 + 3 * SEC, &k, TT_TCP_SYN_SENT, ETIMEDOUT);
	feed_state(e, T0 + 3 * SEC, &k, TT_TCP_SYN_SENT, TT_TCP_CLOSE, 0);
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	EXPECT_EQ(d->code, DIAG_SYN_UNANSWERED);
	EXPECT_EQ(d->app_error, ETIMEDOUT);
	EXPECT(ev_is(d, "syns_sent", 2), "syns_sent %lld", ev_val(d, "syns_sent"));
	EXPECT(ev_is(d, "waited_ms", 3000), "waited_ms %lld", ev_val(d, "waited_ms"));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_connection_refused(struct test *t)
{
	struct flow_key k = client_key(43124);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_refused(e, T0, &k);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_SYN_UNANSWERED) == 0, "a RST is an answer");
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_CONNECTION_REFUSED);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT_EQ(d->app_error, ECONNREFUSED);
	EXPECT_EQ(d->connections, 1);
	EXPECT(!memcmp(&d->key, &k, sizeof(k)), "key");
	EXPECT(ev_is(d, "syns_sent", 1), "syns_sent");
	EXPECT(ev_is(d, "rst_received", 1), "rst_received");
	EXPECT(ev_is(d, "connect_ms", 1), "connect_ms %lld", ev_val(d, "connect_ms"));
	EXPECT(strstr(w->summary, "10.0.2.10:8080"), "summary: %s", w->summary);
	EXPECT(any_check_has(w, "on 10.0.2.10: ss -ltnp 'sport = :8080'"),
	       "checks: %s", w->checks[0]);
out:
	sink_free(&s);
	engine_free(e);
}

/* SYNs retransmitted, then a RST (the host came back, the service did
 * not): the RST answers, so it is refused, not unanswered. */
static void test_refused_after_retrans(struct test *t)
{
	struct flow_key k = client_key(43126);
	struct engine *e = new_engine();
	struct sink s = {0};

	feed_connect(e, T0, &k);
	feed_retrans(e, T0 + 1 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	feed_retrans(e, T0 + 3 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	feed_rst_rx(e, T0 + 3500 * MSEC, &k, TT_TCP_SYN_SENT);
	feed_state(e, T0 + 3500 * MSEC, &k, TT_TCP_SYN_SENT, TT_TCP_CLOSE, 0);
	feed_sk_error(e, T0 + 3500 * MSEC, &k, TT_TCP_CLOSE, ECONNREFUSED);
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && s.d[0].code == DIAG_CONNECTION_REFUSED, "got %s",
	       sink_str(&s));
	EXPECT(ev_is(&s.d[0], "syns_sent", 3), "syns_sent");
	EXPECT(ev_is(&s.d[0], "connect_ms", 3500), "connect_ms %lld",
	       ev_val(&s.d[0], "connect_ms"));
	EXPECT(strstr(s.w[0].summary, "after 3.5s"), "summary: %s", s.w[0].summary);
out:
	sink_free(&s);
	engine_free(e);
}

/* An ICMP port unreachable ends a connect with ECONNREFUSED and no RST. */
static void test_connection_refused_icmp(struct test *t)
{
	struct flow_key k = client_key(43125);
	struct engine *e = new_engine();
	struct sink s = {0};

	feed_connect(e, T0, &k);
	feed_sk_error(e, T0 + 2 * MSEC, &k, TT_TCP_SYN_SENT, ECONNREFUSED);
	feed_state(e, T0 + 2 * MSEC, &k, TT_TCP_SYN_SENT, TT_TCP_CLOSE, 0);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && s.d[0].code == DIAG_CONNECTION_REFUSED, "got %s",
	       sink_str(&s));
	EXPECT(ev_is(&s.d[0], "rst_received", 0), "rst_received");
	EXPECT_EQ(s.d[0].app_error, ECONNREFUSED);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_port_closed(struct test *t)
{
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	int i;

	/* Three clients knock on 10.0.2.10:8080 where nothing listens. */
	for (i = 0; i < 3; i++) {
		char client[24];
		struct flow_key k;
		struct tt_event ev;

		snprintf(client, sizeof(client), "10.0.1.%d", 5 + i);
		k = key4("10.0.2.10", 8080, client, 50000 + i);
		ev = mkev(EV_RST_TX, T0 + i * MSEC, &k);

		ev.flags = EVF_NO_SOCKET | EVF_SYN;
		ev.reason = 1;
		engine_on_event(e, &ev);
	}
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_PORT_CLOSED);
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	/* Each knocked once: a note, folded across the sources. */
	EXPECT_EQ(d->severity, SEV_INFO);
	EXPECT_EQ(d->connections, 3);
	EXPECT_EQ(d->key.lport, 8080);
	EXPECT_EQ(d->key.rport, 50000);
	EXPECT(ev_is(d, "syns_refused", 1), "syns_refused");
	EXPECT(ev_is(d, "client_syns", 1), "client_syns");
	EXPECT(ev_is(d, "rst_sent", 1), "rst_sent");
	EXPECT(strstr(w->summary, "10.0.2.10:8080"), "summary: %s", w->summary);
	EXPECT(strstr(w->summary, "(3 connections)"), "summary: %s", w->summary);
	EXPECT(any_check_has(w, "ss -ltnp 'sport = :8080'"), "checks");
out:
	sink_free(&s);
	engine_free(e);
}

static void test_no_route(struct test *t)
{
	struct flow_key k = key4("0.0.0.0", 0, "10.0.9.9", 80);
	struct engine *e = new_engine();
	struct sink s = {0};
	struct tt_event ev;
	const struct diagnosis *d;
	const struct diag_words *w;

	ev = mkev(EV_CONNECT_ERR, T0, &k);
	ev.err = ENETUNREACH;
	ev.pid = 77;
	ev.flags = EVF_PROC;
	snprintf(ev.comm, sizeof(ev.comm), "curl");
	engine_on_event(e, &ev);
	/* Errors that are not about routing say nothing here. */
	ev.err = EADDRNOTAVAIL;
	engine_on_event(e, &ev);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_NO_ROUTE);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT_EQ(d->app_error, ENETUNREACH);
	EXPECT_EQ(d->pid, 77);
	EXPECT(ev_is(d, "packets_sent", 0), "packets_sent");
	EXPECT(strstr(w->summary, "10.0.9.9:80") && strstr(w->summary, "ENETUNREACH"),
	       "summary: %s", w->summary);
	EXPECT(any_check_has(w, "ip route get 10.0.9.9"), "checks");
out:
	sink_free(&s);
	engine_free(e);
}

/* ---- broken connections ----------------------------------------------- */

static void test_peer_reset(struct test *t)
{
	struct flow_key k = client_key(43130);
	struct sockview v = { .sent = 100, .rcvd = 200, .read = 200 };
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	struct tt_event ev;

	feed_client_open(e, T0, &k);
	feed_scan(e, T0 + 1 * SEC, &k, &v);
	engine_scan_end(e, T0 + 1 * SEC);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	/* Our next request went out; the peer reset before answering. */
	ev = mkev(EV_RST_RX, T0 + 2 * SEC, &k);
	ev.state = TT_TCP_ESTABLISHED;
	ev.last_data = TT_LAST_SENT;
	engine_on_event(e, &ev);
	feed_state(e, T0 + 2 * SEC, &k, TT_TCP_ESTABLISHED, TT_TCP_CLOSE, 0);
	feed_sk_error(e, T0 + 2 * SEC, &k, TT_TCP_CLOSE, ECONNRESET);
	/* Judged once the moment's events are surely in. */
	engine_tick(e, T0 + 2 * SEC + 50 * MSEC, sink_fn, &s);
	EXPECT(s.n == 0, "judged before a reset of its own could follow: %s",
	       sink_str(&s));
	engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_PEER_RESET);
	EXPECT_EQ(d->severity, SEV_ERROR);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT_EQ(d->app_error, ECONNRESET);
	EXPECT(ev_is(d, "bytes_sent", 100), "bytes_sent");
	EXPECT(ev_is(d, "bytes_received", 200), "bytes_received");
	EXPECT(ev_is(d, "request_pending", 1), "request_pending");
	EXPECT(ev_is(d, "age_ms", 2000), "age_ms %lld", ev_val(d, "age_ms"));
	EXPECT(strstr(w->summary, "10.0.2.10:8080 reset the connection after 2.0s"),
	       "summary: %s", w->summary);
	EXPECT(strstr(w->summary, "cutting off a pending request"), "summary: %s",
	       w->summary);
out:
	sink_free(&s);
	engine_free(e);
}

/* The server closes with a request it never read: the kernel sets CLOSE,
 * then sends the abort RST (TCP_ABORT_ON_CLOSE). */
static void test_local_reset(struct test *t)
{
	struct flow_key k = server_key(43131);
	struct sockview v = { .rcvd = 500, .read = 0 };
	struct engine *e = new_engine();
	struct sink s = {0};
	struct tt_event ev;
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_server_open(e, T0, &k);
	feed_scan(e, T0 + 1 * SEC, &k, &v);
	engine_scan_end(e, T0 + 1 * SEC);
	feed_state(e, T0 + 1500 * MSEC, &k, TT_TCP_ESTABLISHED, TT_TCP_CLOSE, 0);
	ev = mkev(EV_RST_TX, T0 + 1500 * MSEC, &k);
	ev.state = TT_TCP_CLOSE;
	ev.reason = 11;
	ev.unread = 500;
	engine_on_event(e, &ev);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LOCAL_RESET);
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	EXPECT(ev_is(d, "rst_reason", 11), "rst_reason");
	EXPECT(ev_is(d, "unread_bytes", 500), "unread_bytes %lld",
	       ev_val(d, "unread_bytes"));
	EXPECT(ev_is(d, "age_ms", 1500), "age_ms %lld", ev_val(d, "age_ms"));
	EXPECT(strstr(w->summary, "closed the socket with unread data"),
	       "summary: %s", w->summary);
	EXPECT(strstr(w->summary, "10.0.1.5:43131"), "summary: %s", w->summary);
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * A pre-forked server: the listener's owner (pid 100, cgroup 7) is the
 * connection's until a worker (pid 200, cgroup 9) accept()s it; the
 * close and its reset then name the worker, its comm and its cgroup,
 * never a mix of the two.
 */
static void test_local_reset_accepted_by_worker(struct test *t)
{
	struct flow_key k = server_key(43133);
	struct engine *e = new_engine();
	struct sink s = {0};
	struct tt_event ev;
	const struct diagnosis *d;

	ev = mkev(EV_STATE, T0, &k);
	ev.old_state = TT_TCP_SYN_RECV;
	ev.state = TT_TCP_ESTABLISHED;
	ev.side = TT_SIDE_SERVER;
	ev.flags = EVF_PROC | EVF_SUMMARY;
	ev.pid = 100;
	ev.cgroup_id = 7;
	snprintf(ev.comm, sizeof(ev.comm), "master");
	engine_on_event(e, &ev);
	ev = mkev(EV_STATE, T0 + 1500 * MSEC, &k);
	ev.old_state = TT_TCP_ESTABLISHED;
	ev.state = TT_TCP_CLOSE;
	ev.side = TT_SIDE_SERVER;
	ev.flags = EVF_PROC | EVF_SUMMARY;
	ev.pid = 200;
	ev.cgroup_id = 9;
	snprintf(ev.comm, sizeof(ev.comm), "worker");
	engine_on_event(e, &ev);
	ev = mkev(EV_RST_TX, T0 + 1500 * MSEC, &k);
	ev.state = TT_TCP_CLOSE;
	ev.reason = 11;
	ev.unread = 500;
	ev.pid = 200;
	ev.cgroup_id = 9;
	engine_on_event(e, &ev);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	d = find_code(&s, DIAG_LOCAL_RESET);
	EXPECT(d, "no LOCAL_RESET: %s", sink_str(&s));
	EXPECT_EQ(d->pid, 200);
	EXPECT_STR(d->comm, "worker");
	EXPECT_EQ(d->cgroup_id, 9);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_packet_loss(struct test *t)
{
	struct flow_key k = client_key(43132);
	struct sockview v = { .sent = 144800, .data_segs_out = 100,
			      .total_retrans = 5, .srtt_us = 30000,
			      .min_rtt_us = 10000 };
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	int i;

	feed_client_open(e, T0, &k);
	for (i = 0; i < 3; i++)
		feed_retrans(e, T0 + (100 + i) * MSEC, &k, TT_TCP_ESTABLISHED,
			     TT_CA_LOSS);
	for (i = 0; i < 2; i++)
		feed_retrans(e, T0 + (200 + i) * MSEC, &k, TT_TCP_ESTABLISHED,
			     TT_CA_RECOVERY);
	/* Open and never scanned: the ratio is not known yet, so wait. */
	engine_tick(e, T0 + 500 * MSEC, sink_fn, &s);
	EXPECT(s.n == 0, "judged before any snapshot: %s", sink_str(&s));
	/* Under a second of the connection: the sample is a burst yet. */
	feed_scan(e, T0 + 900 * MSEC, &k, &v);
	engine_scan_end(e, T0 + 900 * MSEC);
	engine_tick(e, T0 + 900 * MSEC, sink_fn, &s);
	EXPECT(s.n == 0, "judged on 0.9 s: %s", sink_str(&s));
	feed_scan(e, T0 + 2 * SEC, &k, &v);
	engine_scan_end(e, T0 + 2 * SEC);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_PACKET_LOSS);
	EXPECT_EQ(d->severity, SEV_WARNING);
	EXPECT(ev_is(d, "retransmits", 5), "retransmits");
	EXPECT(ev_is(d, "data_segs_out", 100), "data_segs_out");
	EXPECT(ev_is(d, "loss_permille", 50), "loss_permille %lld",
	       ev_val(d, "loss_permille"));
	EXPECT(ev_is(d, "rto_retrans", 3), "rto_retrans");
	EXPECT(ev_is(d, "fast_retrans", 2), "fast_retrans");
	EXPECT(ev_is(d, "srtt_ms", 30), "srtt_ms");
	EXPECT(ev_is(d, "min_rtt_ms", 10), "min_rtt_ms");
	EXPECT(strstr(w->summary, "3 after timeouts (RTO), 2 fast retransmits"),
	       "summary: %s", w->summary);
	EXPECT(ev_is(d, "rtt_inflated", 1), "rtt_inflated");
	EXPECT(strstr(w->summary, "RTT inflated") && strstr(w->summary, "congestion"),
	       "summary: %s", w->summary);
	EXPECT(strstr(w->causes[0], "congestion"), "first cause: %s", w->causes[0]);
	EXPECT(any_check_has(w, "10.0.2.10"), "checks");
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * Loss on a sub-millisecond path whose RTT stays flat: random loss, told
 * as such; tail loss probes and DSACK-spurious retransmits counted apart.
 * srtt at nine times a 100 us minimum is still no queue (under 2 ms more).
 */
/*
 * Every retransmit spurious: the peer's DSACKs say it had them all (a slow
 * guest's RTT spikes fired the timers, 87 of 87 in the 6.1 VM's xdp
 * stream). Nothing was lost: no PACKET_LOSS.
 */
static void test_packet_loss_all_spurious(struct test *t)
{
	struct flow_key k = client_key(43136);
	struct sockview v = { .sent = 1448 * 2094, .data_segs_out = 2094,
			      .total_retrans = 87, .srtt_us = 2000, .min_rtt_us = 96,
			      .dsack_dups = 87 };
	struct engine *e = new_engine();
	struct sink s = {0};

	feed_client_open(e, T0, &k);
	feed_scan(e, T0 + 1 * SEC, &k, &v);
	engine_scan_end(e, T0 + 1 * SEC);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * Loss judged on the snapshots of a second or more: one slow moment of
 * the host (a 6.1 guest under TCG: srtt 7.1 ms once over a 0.06 ms
 * path) is no queue; a queue keeps srtt up at every snapshot the flow
 * sends in.
 */
static void loss_rtt_case(struct test *t, const __u32 *srtt_us, int n, bool want_inflated,
			  const char *want_rtt)
{
	struct flow_key k = client_key(43138);
	struct sockview v = { .min_rtt_us = 60 };
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	int i;

	feed_client_open(e, T0, &k);
	for (i = 0; i < n; i++) {
		__u64 now = T0 + (__u64)(i + 1) * 200 * MSEC;

		v.data_segs_out = 300 * (i + 1);
		v.sent = 1448ULL * v.data_segs_out;
		v.total_retrans = 30 * (i + 1);
		v.srtt_us = srtt_us[i];
		feed_scan(e, now, &k, &v);
		engine_scan_end(e, now);
		engine_tick(e, now, sink_fn, &s);
	}
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_PACKET_LOSS);
	EXPECT(ev_is(d, "rtt_inflated", want_inflated), "rtt_inflated %lld (mean %lld us)",
	       ev_val(d, "rtt_inflated"), ev_val(d, "srtt_mean_us"));
	EXPECT(strstr(w->summary, want_rtt), "summary: %s", w->summary);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_packet_loss_one_slow_moment(struct test *t)
{
	static const __u32 srtt[] = { 150, 7110, 200, 180, 170, 160 };

	loss_rtt_case(t, srtt, 6, false, "RTT flat (srtt 1.32ms on average, up to 7.11ms, min 60us)");
}

static void test_packet_loss_queue_held(struct test *t)
{
	static const __u32 srtt[] = { 9000, 24000, 26000, 25000, 24000, 25000 };

	loss_rtt_case(t, srtt, 6, true, "RTT inflated (srtt 22ms on average, up to 26ms, min 60us)");
}

static void test_packet_loss_kinds_random(struct test *t)
{
	struct flow_key k = client_key(43134);
	struct sockview v = { .sent = 1448 * 200, .data_segs_out = 200,
			      .total_retrans = 12, .srtt_us = 900, .min_rtt_us = 100,
			      .dsack_dups = 2 };
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	struct tt_event ev;
	int i;

	feed_client_open(e, T0, &k);
	for (i = 0; i < 8; i++)
		feed_retrans(e, T0 + (100 + i) * MSEC, &k, TT_TCP_ESTABLISHED, TT_CA_RECOVERY);
	feed_retrans(e, T0 + 300 * MSEC, &k, TT_TCP_ESTABLISHED, TT_CA_LOSS);
	for (i = 0; i < 3; i++) {
		ev = mkev(EV_RETRANS, T0 + (400 + i) * MSEC, &k);
		ev.state = TT_TCP_ESTABLISHED;
		ev.ca_state = TT_CA_OPEN;
		ev.flags = EVF_TLP;
		ev.seg_len = 100;
		ev.mss = 1448;
		engine_on_event(e, &ev);
	}
	feed_scan(e, T0 + 2 * SEC, &k, &v);
	engine_scan_end(e, T0 + 2 * SEC);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_PACKET_LOSS);
	EXPECT(ev_is(d, "fast_retrans", 8), "fast %lld", ev_val(d, "fast_retrans"));
	EXPECT(ev_is(d, "rto_retrans", 1), "rto %lld", ev_val(d, "rto_retrans"));
	EXPECT(ev_is(d, "tlp_retrans", 3), "tlp %lld", ev_val(d, "tlp_retrans"));
	EXPECT(ev_is(d, "spurious_retrans", 2), "spurious %lld", ev_val(d, "spurious_retrans"));
	EXPECT(ev_is(d, "rtt_inflated", 0), "rtt_inflated");
	EXPECT(ev_is(d, "srtt_peak_us", 900), "srtt_peak_us %lld", ev_val(d, "srtt_peak_us"));
	EXPECT(strstr(w->summary, "3 tail loss probes") && strstr(w->summary, "2 spurious") &&
	       strstr(w->summary, "RTT flat") && strstr(w->summary, "random loss") &&
	       strstr(w->summary, "0.90ms"), "summary: %s", w->summary);
	EXPECT(strstr(w->causes[0], "lossy link"), "first cause: %s", w->causes[0]);
out:
	sink_free(&s);
	engine_free(e);
}

/* A queue that filled for a while: the worst snapshot's srtt says so even
 * when the latest one, after the queue drained, is back near the minimum. */
static void test_packet_loss_peak_rtt(struct test *t)
{
	struct flow_key k = client_key(43135);
	struct sockview v = { .sent = 1448 * 100, .data_segs_out = 100,
			      .srtt_us = 40000, .min_rtt_us = 200 };
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;

	feed_client_open(e, T0, &k);
	feed_scan(e, T0 + 1 * SEC, &k, &v);
	engine_scan_end(e, T0 + 1 * SEC);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	for (int i = 0; i < 10; i++)
		feed_retrans(e, T0 + 1500 * MSEC + i * MSEC, &k, TT_TCP_ESTABLISHED,
			     TT_CA_RECOVERY);
	v.sent = 1448 * 200;
	v.data_segs_out = 200;
	v.total_retrans = 10;
	v.srtt_us = 300;
	feed_scan(e, T0 + 2 * SEC, &k, &v);
	engine_scan_end(e, T0 + 2 * SEC);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	EXPECT(ev_is(d, "rtt_inflated", 1), "rtt_inflated");
	EXPECT(ev_is(d, "srtt_peak_ms", 40), "peak %lld", ev_val(d, "srtt_peak_ms"));
	EXPECT(ev_is(d, "srtt_ms", 0), "srtt %lld", ev_val(d, "srtt_ms"));
out:
	sink_free(&s);
	engine_free(e);
}

/* The same retransmits over a long transfer are well under 2%: healthy. */
/*
 * A bulk sender's first tail-loss probes land right after a snapshot
 * taken before any data left: that snapshot's counts (no data segment,
 * no retransmit) say nothing of the probes' share. Seen in the lab as a
 * false PACKET_LOSS on a healthy stream; the next snapshot decides.
 */
static void test_packet_loss_waits_for_a_snapshot_with_data(struct test *t)
{
	struct flow_key k = client_key(43133);
	struct sockview before = { .srtt_us = 100, .min_rtt_us = 50 };
	struct sockview after = { .sent = 1448 * 4000, .data_segs_out = 4000,
				  .total_retrans = 3, .srtt_us = 300, .min_rtt_us = 50 };
	struct engine *e = new_engine();
	struct sink s = {0};

	feed_client_open(e, T0, &k);
	feed_scan(e, T0 + 10 * MSEC, &k, &before);
	engine_scan_end(e, T0 + 10 * MSEC);
	for (int i = 0; i < 3; i++)
		feed_retrans(e, T0 + (20 + i) * MSEC, &k, TT_TCP_ESTABLISHED, TT_CA_OPEN);
	engine_tick(e, T0 + 100 * MSEC, sink_fn, &s);
	EXPECT(s.n == 0, "judged on a snapshot without data: %s", sink_str(&s));
	feed_scan(e, T0 + 1 * SEC, &k, &after);
	engine_scan_end(e, T0 + 1 * SEC);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "3 of 4000 segments is no loss: %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_packet_loss_low_rate(struct test *t)
{
	struct flow_key k = client_key(43133);
	struct sockview v = { .sent = 14480000, .data_segs_out = 10000,
			      .total_retrans = 5 };
	struct engine *e = new_engine();
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &k);
	for (i = 0; i < 5; i++)
		feed_retrans(e, T0 + (100 + i) * MSEC, &k, TT_TCP_ESTABLISHED,
			     TT_CA_RECOVERY);
	feed_scan(e, T0 + 1 * SEC, &k, &v);
	engine_scan_end(e, T0 + 1 * SEC);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	feed_fin_close(e, T0 + 2 * SEC, &k, true);
	engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* ---- absence: stalls and windows -------------------------------------- */

static void test_peer_app_stall(struct test *t)
{
	struct flow_key k = client_key(43140);
	struct sockview v = { .isn_tx = 1000, .isn_rx = 5000, .sent = 120 };
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	int i;

	feed_client_open(e, T0, &k);
	/* Request written and ACKed; then nothing comes back, ever. */
	for (i = 1; i <= 8; i++) {
		feed_scan(e, T0 + i * SEC, &k, &v);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
		if (i < 6)
			EXPECT(s.n == 0, "at %ds: %s", i, sink_str(&s));
	}
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_PEER_APP_STALL);
	EXPECT_EQ(d->severity, SEV_WARNING);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(ev_is(d, "request_bytes", 120), "request_bytes %lld",
	       ev_val(d, "request_bytes"));
	EXPECT(ev_is(d, "waited_ms", 5000), "waited_ms %lld", ev_val(d, "waited_ms"));
	EXPECT(ev_is(d, "srtt_ms", 1), "srtt_ms");
	EXPECT(strstr(w->summary, "10.0.2.10:8080 ACKed our 120-byte request"),
	       "summary: %s", w->summary);
	EXPECT(any_check_has(w, "on 10.0.2.10: ss -tnp 'sport = :8080'"), "checks");
out:
	sink_free(&s);
	engine_free(e);
}

static void test_local_app_stall_not_answering(struct test *t)
{
	struct flow_key k = server_key(43141);
	struct sockview v = { .rcvd = 100, .read = 100 };
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_server_open(e, T0, &k);
	scan_seconds(e, &k, &v, 7, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LOCAL_APP_STALL);
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	EXPECT(ev_is(d, "request_bytes", 100), "request_bytes");
	EXPECT(ev_is(d, "waited_ms", 5000), "waited_ms %lld", ev_val(d, "waited_ms"));
	EXPECT(!diag_evidence_get(d, "unread_bytes", NULL), "wrong form");
	EXPECT(strstr(w->summary, "was read by the application here"),
	       "summary: %s", w->summary);
	EXPECT(any_check_has(w, "ss -tnp 'sport = :8080'"), "checks");
out:
	sink_free(&s);
	engine_free(e);
}

static void test_local_app_stall_not_reading(struct test *t)
{
	struct flow_key k = server_key(43142);
	struct sockview v = { .rcvd = 4000, .read = 0 };
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_server_open(e, T0, &k);
	scan_seconds(e, &k, &v, 7, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LOCAL_APP_STALL);
	EXPECT(ev_is(d, "unread_bytes", 4000), "unread_bytes");
	EXPECT(ev_is(d, "not_read_ms", 5000), "not_read_ms %lld",
	       ev_val(d, "not_read_ms"));
	EXPECT(ev_is(d, "rcv_wnd", 65535), "rcv_wnd");
	EXPECT(strstr(w->summary, "has not read 4000 bytes"), "summary: %s",
	       w->summary);
	/* Fold by the service's endpoint: this host's 10.0.2.10:8080. */
	EXPECT_EQ(d->key.lport, 8080);
out:
	sink_free(&s);
	engine_free(e);
}

/* An application that reads slowly but keeps reading is not stalled. */
static void test_slow_reader_healthy(struct test *t)
{
	struct flow_key k = server_key(43143);
	struct sockview v = { .rcvd = 0 };
	struct engine *e = new_engine();
	struct sink s = {0};
	int i;

	feed_server_open(e, T0, &k);
	for (i = 1; i <= 20; i++) {
		v.rcvd += 100000;
		v.read = v.rcvd - 50000;	/* always behind, always reading */
		feed_scan(e, T0 + i * SEC, &k, &v);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
	}
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_zero_window(struct test *t)
{
	struct flow_key k = client_key(43144);
	struct sockview v = { .sent = 70000, .unacked = 70000, .zero_wnd = true,
			      .probes = 3 };
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_client_open(e, T0, &k);
	scan_seconds(e, &k, &v, 7, &s);
	d = find_code(&s, DIAG_ZERO_WINDOW);
	w = words_of(&s, d);
	EXPECT(s.n == 1 && d, "got %s", sink_str(&s));
	EXPECT(ev_is(d, "zero_window_ms", 5000), "zero_window_ms %lld",
	       ev_val(d, "zero_window_ms"));
	EXPECT(ev_is(d, "unsent_bytes", 70000), "unsent_bytes");
	EXPECT(ev_is(d, "probes", 3), "probes");
	EXPECT(strstr(w->summary, "10.0.2.10:8080 has advertised a zero window"),
	       "summary: %s", w->summary);
out:
	sink_free(&s);
	engine_free(e);
}

/* A window that closes briefly and reopens is flow control at work. */
static void test_zero_window_brief_healthy(struct test *t)
{
	struct flow_key k = client_key(43145);
	struct sockview v = { .sent = 70000, .unacked = 70000 };
	struct engine *e = new_engine();
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &k);
	for (i = 1; i <= 30; i++) {
		v.zero_wnd = i % 4;	/* shut 3 s, open 1 s */
		v.sent += 10000;
		feed_scan(e, T0 + i * SEC, &k, &v);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
	}
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* ---- healthy traffic: not a word -------------------------------------- */

static void test_healthy_short_requests(struct test *t)
{
	struct engine *e = new_engine();
	struct sink s = {0};
	__u64 now = T0;
	int i;

	feed_listen(e, T0, 8080);
	for (i = 0; i < 200; i++) {
		struct flow_key ck = client_key(40000 + i);
		struct flow_key sk = server_key(40000 + i);
		struct sockview req = { .sent = 100 }, srv = { .rcvd = 100,
							       .read = 100 };

		now = T0 + i * 50 * MSEC;
		feed_client_open(e, now, &ck);
		feed_server_open(e, now, &sk);
		/* Some connections are caught mid-request by a scan. */
		if (i % 20 == 0) {
			feed_scan(e, now + 2 * MSEC, &ck, &req);
			feed_scan(e, now + 2 * MSEC, &sk, &srv);
			engine_scan_end(e, now + 2 * MSEC);
		}
		feed_fin_close(e, now + 10 * MSEC, &ck, true);
		feed_fin_close(e, now + 10 * MSEC, &sk, false);
		if (i % 20 == 19)
			engine_tick(e, now + 20 * MSEC, sink_fn, &s);
	}
	for (i = 1; i <= 70; i++) {
		feed_listen(e, now + i * SEC, 8080);
		engine_scan_end(e, now + i * SEC);
		engine_tick(e, now + i * SEC, sink_fn, &s);
	}
	engine_finish(e, now + 71 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* One request/response, then idle far past the stall threshold, whether
 * the exchange fell in one scan interval or across two. */
static void test_healthy_idle_keepalive(struct test *t)
{
	struct flow_key ck1 = client_key(41000), sk1 = server_key(41000);
	struct flow_key ck2 = client_key(41001), sk2 = server_key(41001);
	struct flow_key ck3 = client_key(41002), sk3 = server_key(41002);
	struct sockview c = { .sent = 100 }, sv = { .rcvd = 100, .read = 100 };
	struct sockview idle = {0};
	struct engine *e = new_engine();
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &ck1);
	feed_server_open(e, T0, &sk1);
	feed_client_open(e, T0, &ck2);
	feed_server_open(e, T0, &sk2);
	feed_client_open(e, T0, &ck3);
	feed_server_open(e, T0, &sk3);
	for (i = 1; i <= 120; i++) {
		struct sockview done_c = c, done_s = sv;
		__u64 now = T0 + i * SEC;

		done_c.rcvd = done_c.read = 100;
		done_s.sent = 100;
		feed_listen(e, now, 8080);
		/* Pair 1: request and response between two scans. */
		feed_scan(e, now, &ck1, &done_c);
		feed_scan(e, now, &sk1, &done_s);
		/* Pair 2: the request in scan 1, the response in scan 2. */
		feed_scan(e, now, &ck2, i == 1 ? &c : &done_c);
		feed_scan(e, now, &sk2, i == 1 ? &sv : &done_s);
		/* Pair 3: idle at the first scan, then the whole exchange
		 * between the first and the second. */
		feed_scan(e, now, &ck3, i == 1 ? &idle : &done_c);
		feed_scan(e, now, &sk3, i == 1 ? &idle : &done_s);
		engine_scan_end(e, now);
		engine_tick(e, now, sink_fn, &s);
	}
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* The client pushes megabytes, the server reads them and never answers;
 * then the stream pauses for a long time. */
static void test_healthy_one_way_stream(struct test *t)
{
	struct flow_key ck = client_key(42000), sk = server_key(42000);
	struct sockview c = {0}, sv = {0};
	struct engine *e = new_engine();
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &ck);
	feed_server_open(e, T0, &sk);
	for (i = 1; i <= 60; i++) {
		__u64 now = T0 + i * SEC;

		if (i <= 20) {
			c.sent += 3 * 1024 * 1024;
			sv.rcvd = sv.read = c.sent;
		}
		feed_listen(e, now, 8080);
		feed_scan(e, now, &ck, &c);
		feed_scan(e, now, &sk, &sv);
		engine_scan_end(e, now);
		engine_tick(e, now, sink_fn, &s);
	}
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* A slow server that answers each request after 3 s (stall is 5 s). */
static void test_healthy_slow_server(struct test *t)
{
	struct flow_key ck = client_key(42100), sk = server_key(42100);
	struct sockview c = {0}, sv = {0};
	struct engine *e = new_engine();
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &ck);
	feed_server_open(e, T0, &sk);
	for (i = 1; i <= 40; i++) {
		__u64 now = T0 + i * SEC;

		if (i % 4 == 1) {		/* a request goes out */
			c.sent += 200;
			sv.rcvd = sv.read = c.sent;
		} else if (i % 4 == 0) {	/* its answer, 3 s later */
			sv.sent += 5000;
			c.rcvd = c.read = sv.sent;
		}
		feed_listen(e, now, 8080);
		feed_scan(e, now, &ck, &c);
		feed_scan(e, now, &sk, &sv);
		engine_scan_end(e, now);
		engine_tick(e, now, sink_fn, &s);
	}
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* A normal close: the peer's FIN waits briefly in CLOSE_WAIT, the
 * application reads EOF and closes. A pooled connection the server closed
 * sits in CLOSE_WAIT, its FIN unread, until the pool next looks at it:
 * the FIN is not data left unread. */
static void test_healthy_fin_close(struct test *t)
{
	struct flow_key ck = client_key(42200), pooled = client_key(42201);
	struct sockview c = { .sent = 300, .rcvd = 900, .read = 900 };
	struct sockview p = { .sent = 300, .rcvd = 901, .read = 900,
			      .state = TT_TCP_CLOSE_WAIT };
	struct engine *e = new_engine();
	struct sink s = {0};
	const __u64 t1 = T0 + 40 * SEC;
	int i;

	feed_client_open(e, T0, &ck);
	feed_scan(e, T0 + 1 * SEC, &ck, &c);
	engine_scan_end(e, T0 + 1 * SEC);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	feed_state(e, T0 + 1500 * MSEC, &ck, TT_TCP_ESTABLISHED,
		   TT_TCP_CLOSE_WAIT, 0);
	c.state = TT_TCP_CLOSE_WAIT;
	c.rcvd = 901;			/* the FIN takes a sequence number */
	feed_scan(e, T0 + 2 * SEC, &ck, &c);
	engine_scan_end(e, T0 + 2 * SEC);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	feed_fin_close(e, T0 + 2100 * MSEC, &ck, false);
	engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));

	feed_client_open(e, t1, &pooled);
	feed_state(e, t1 + 10 * MSEC, &pooled, TT_TCP_ESTABLISHED,
		   TT_TCP_CLOSE_WAIT, 0);
	for (i = 1; i <= 20; i++) {
		feed_scan(e, t1 + i * SEC, &pooled, &p);
		engine_scan_end(e, t1 + i * SEC);
		engine_tick(e, t1 + i * SEC, sink_fn, &s);
	}
	engine_finish(e, t1 + 30 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "pooled: got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* A SYN-ACK retransmit is counted and says nothing on its own. */
static void test_synack_retrans_silent(struct test *t)
{
	struct flow_key k = server_key(42300);
	struct engine *e = new_engine();
	struct sink s = {0};
	struct tt_event ev = mkev(EV_SYNACK_RETRANS, T0 + 1 * SEC, &k);

	feed_state(e, T0, &k, TT_TCP_LISTEN, TT_TCP_SYN_RECV, TT_SIDE_SERVER);
	ev.state = TT_TCP_SYN_RECV;
	engine_on_event(e, &ev);
	engine_on_event(e, &ev);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 3 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* ---- folding, bounds, odd input --------------------------------------- */

static void test_fold_refused(struct test *t)
{
	struct flow_key other = key4("10.0.1.5", 39999, "10.0.2.11", 9090);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	int i;

	for (i = 0; i < 100; i++) {
		struct flow_key k = client_key(30000 + i);

		feed_refused(e, T0 + i * MSEC, &k);
	}
	feed_refused(e, T0 + 200 * MSEC, &other);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 2, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_CONNECTION_REFUSED);
	EXPECT_EQ(d->connections, 100);
	EXPECT_EQ(d->key.lport, 30000);	/* the first flow of the batch */
	EXPECT(strstr(w->summary, "(100 connections)"), "summary: %s", w->summary);
	EXPECT_EQ(s.d[1].connections, 1);
	EXPECT_EQ(s.d[1].key.rport, 9090);

	/* Ten more within the window wait for it to pass ... */
	for (i = 0; i < 10; i++) {
		struct flow_key k = client_key(31000 + i);

		feed_refused(e, T0 + 10 * SEC + i * MSEC, &k);
	}
	engine_tick(e, T0 + 11 * SEC, sink_fn, &s);
	engine_tick(e, T0 + 40 * SEC, sink_fn, &s);
	EXPECT(s.n == 2, "emitted inside the fold window: %s", sink_str(&s));
	engine_tick(e, T0 + 61 * SEC, sink_fn, &s);
	EXPECT(s.n == 3, "got %s", sink_str(&s));
	EXPECT_EQ(s.d[2].connections, 10);
	EXPECT_EQ(s.d[2].key.lport, 31000);

	/* ... and one more inside the next window goes out at finish. */
	{
		struct flow_key k = client_key(32000);

		feed_refused(e, T0 + 70 * SEC, &k);
	}
	engine_tick(e, T0 + 71 * SEC, sink_fn, &s);
	EXPECT(s.n == 3, "got %s", sink_str(&s));
	engine_finish(e, T0 + 72 * SEC, sink_fn, &s);
	EXPECT(s.n == 4, "finish: %s", sink_str(&s));
	EXPECT_EQ(s.d[3].connections, 1);
out:
	sink_free(&s);
	engine_free(e);
}

/* A refused connect by a given owner. */
static void feed_refused_by(struct engine *e, __u64 ts, const struct flow_key *k, __u32 pid,
			    __u64 cgroup_id)
{
	struct tt_event ev = mkev(EV_STATE, ts, k);

	ev.old_state = TT_TCP_CLOSE;
	ev.state = TT_TCP_SYN_SENT;
	ev.side = TT_SIDE_CLIENT;
	ev.flags = EVF_PROC;
	ev.pid = pid;
	ev.cgroup_id = cgroup_id;
	snprintf(ev.comm, sizeof(ev.comm), "p%u", pid);
	engine_on_event(e, &ev);
	feed_rst_rx(e, ts + 1 * MSEC, k, TT_TCP_SYN_SENT);
	feed_state(e, ts + 1 * MSEC, k, TT_TCP_SYN_SENT, TT_TCP_CLOSE, TT_SIDE_CLIENT);
}

/*
 * One endpoint refusing two services: a diagnosis each, named after its
 * own owner. One service's several processes fold into one diagnosis
 * that names no process (never one of them for all), its cgroup kept.
 */
static void test_fold_by_owner(struct test *t)
{
	struct engine *e = new_engine();
	struct sink s = {0};
	struct flow_key k;
	int i, web = -1, cron = -1;

	k = client_key(30000);
	feed_refused_by(e, T0, &k, 100, 7);
	k = client_key(30001);
	feed_refused_by(e, T0 + MSEC, &k, 100, 7);
	for (i = 0; i < 3; i++) {
		k = client_key(31000 + i);
		feed_refused_by(e, T0 + (10 + i) * MSEC, &k, 200 + i, 9);
	}
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 2, "got %s", sink_str(&s));
	for (i = 0; i < 2; i++) {
		if (s.d[i].cgroup_id == 7)
			web = i;
		if (s.d[i].cgroup_id == 9)
			cron = i;
	}
	EXPECT(web >= 0 && cron >= 0, "a diagnosis per cgroup: %s", sink_str(&s));
	EXPECT_EQ(s.d[web].connections, 2);
	EXPECT_EQ(s.d[web].pid, 100);
	EXPECT_STR(s.d[web].comm, "p100");
	EXPECT_EQ(s.d[cron].connections, 3);
	EXPECT_EQ(s.d[cron].pid, 0);
	EXPECT_STR(s.d[cron].comm, "");
out:
	sink_free(&s);
	engine_free(e);
}

/* A refused-connect storm larger than the flow table: flows are evicted
 * and counted, and the evicted ones are still diagnosed. */
static void test_flow_table_eviction(struct test *t)
{
	struct engine_config cfg;
	struct engine_stats st;
	struct engine *e;
	struct sink s = {0};
	int i;

	engine_config_default(&cfg);
	cfg.max_flows = 4;
	e = engine_new(&cfg);
	for (i = 0; i < 10; i++) {
		struct flow_key k = client_key(20000 + i);

		feed_refused(e, T0 + i * MSEC, &k);
	}
	engine_get_stats(e, &st);
	EXPECT_EQ(st.flows, 4);
	EXPECT_EQ(st.flows_evicted, 6);
	EXPECT_EQ(st.events, 40);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && s.d[0].connections == 10, "got %s", sink_str(&s));

	/* Closed flows linger, then go. */
	engine_tick(e, T0 + 5 * SEC, sink_fn, &s);
	engine_get_stats(e, &st);
	EXPECT_EQ(st.flows, 0);
	EXPECT_EQ(st.diagnoses, 1);
out:
	sink_free(&s);
	engine_free(e);
}

/* Sequence numbers crossing 2^32 are still ordered right. */
static void test_seq_wraparound(struct test *t)
{
	struct flow_key k = client_key(43150);
	struct flow_key k2 = server_key(43151);
	struct sockview v = { .isn_tx = 0xffffff00u, .isn_rx = 0xfffffff0u,
			      .sent = 0xa0 };
	struct sockview r = { .isn_rx = 0xfffffff0u, .rcvd = 0x20, .read = 0 };
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	int i;

	feed_client_open(e, T0, &k);
	feed_server_open(e, T0, &k2);
	/* An idle first scan just below the wrap, then a 256-byte request
	 * that carries write_seq across it (0xffffffa0 -> 0x000000a0). */
	for (i = 1; i <= 8; i++) {
		v.sent = i == 1 ? 0xa0 : 0x1a0;
		v.rcvd = v.read = 16;
		feed_scan(e, T0 + i * SEC, &k, &v);
		feed_scan(e, T0 + i * SEC, &k2, &r);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
	}
	d = find_code(&s, DIAG_PEER_APP_STALL);
	EXPECT(d, "got %s", sink_str(&s));
	EXPECT(ev_is(d, "request_bytes", 256), "request_bytes %lld",
	       ev_val(d, "request_bytes"));
	/* rcv_nxt wrapped past copied_seq: 32 bytes wait unread. */
	d = find_code(&s, DIAG_LOCAL_APP_STALL);
	EXPECT(d, "got %s", sink_str(&s));
	EXPECT(ev_is(d, "unread_bytes", 32), "unread_bytes %lld",
	       ev_val(d, "unread_bytes"));
	EXPECT(s.n == 2, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* Events for flows that opened before the tracer started. */
static void test_unknown_flow(struct test *t)
{
	struct flow_key ck = client_key(43160);
	struct flow_key sk = server_key(43161);
	struct flow_key quiet = client_key(43162);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	/* A listener on 8080 tells which end the unknown flows are. */
	feed_listen(e, T0, 8080);
	engine_scan_end(e, T0);
	feed_rst_rx(e, T0 + 1 * SEC, &ck, TT_TCP_ESTABLISHED);
	feed_rst_rx(e, T0 + 1 * SEC, &sk, TT_TCP_ESTABLISHED);
	feed_retrans(e, T0 + 1 * SEC, &quiet, TT_TCP_ESTABLISHED, TT_CA_LOSS);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(s.n == 2, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_PEER_RESET);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT_EQ(d->pid, 0);
	EXPECT_EQ(d->app_error, ECONNRESET);
	EXPECT(!diag_evidence_get(d, "age_ms", NULL), "age of an unknown flow");
	EXPECT(strstr(w->summary, "reset an established connection"),
	       "summary: %s", w->summary);
	d = &s.d[1];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_PEER_RESET);
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	EXPECT_EQ(d->key.rport, 43161);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_ipv6(struct test *t)
{
	struct flow_key k = key6("2001:db8:1::5", 43170, "2001:db8:2::10", 8080);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_refused(e, T0, &k);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	d = find_code(&s, DIAG_CONNECTION_REFUSED);
	w = words_of(&s, d);
	EXPECT(s.n == 1 && d, "got %s", sink_str(&s));
	EXPECT_EQ(d->key.family, TT_AF_INET6);
	EXPECT(strstr(w->summary, "[2001:db8:2::10]:8080"), "summary: %s",
	       w->summary);
	EXPECT(any_check_has(w, "on 2001:db8:2::10: ss -ltnp 'sport = :8080'"),
	       "checks: %s", w->checks[0]);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_ipv6_syn_unanswered(struct test *t)
{
	struct flow_key k = key6("2001:db8:1::5", 43171, "2001:db8:2::10", 443);
	struct engine *e = new_engine();
	struct sink s = {0};

	feed_connect(e, T0, &k);
	feed_retrans(e, T0 + 1 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	feed_retrans(e, T0 + 3 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && s.d[0].code == DIAG_SYN_UNANSWERED, "got %s",
	       sink_str(&s));
	EXPECT(any_check_has(&s.w[0], "traceroute -6 -T -p 443 2001:db8:2::10"),
	       "checks: %s", s.w[0].checks[0]);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_events_lost(struct test *t)
{
	struct engine *e = new_engine();
	struct sink s = {0};
	struct flow_key k1 = client_key(43180), k2 = key4("10.0.1.5", 43181,
							  "10.0.3.3", 80);

	engine_note_lost(e, 0);
	feed_refused(e, T0, &k1);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && !s.d[0].events_lost, "caveat without a loss");
	engine_note_lost(e, 5);
	feed_refused(e, T0 + 2 * SEC, &k2);
	engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
	EXPECT(s.n == 2 && s.d[1].events_lost, "no caveat after a loss: %s",
	       sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* A 4-tuple reused right after a refusal: the old connection is judged,
 * the new one that succeeds is not blamed. */
static void test_tuple_reuse(struct test *t)
{
	struct flow_key k = client_key(43190);
	struct engine *e = new_engine();
	struct sink s = {0};

	feed_refused(e, T0, &k);
	feed_client_open(e, T0 + 100 * MSEC, &k);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && s.d[0].code == DIAG_CONNECTION_REFUSED, "got %s",
	       sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* A socket that leaves the scans without a close event (the event was
 * lost) is not judged on its stale snapshot, and is retired. */
static void test_flow_gone_without_close(struct test *t)
{
	struct flow_key k = client_key(43192);
	struct sockview v = { .sent = 120 };
	struct engine_stats st;
	struct engine *e = new_engine();
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &k);
	for (i = 1; i <= 12; i++) {
		if (i <= 3)
			feed_scan(e, T0 + i * SEC, &k, &v);
		/* its close was among the events lost */
		if (i == 4)
			engine_note_lost(e, 1);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
	}
	EXPECT(s.n == 0, "judged a vanished socket: %s", sink_str(&s));
	engine_get_stats(e, &st);
	EXPECT_EQ(st.flows, 0);
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * The kernel leaves out of a scan a socket whose record would repeat its
 * last one (sock_scan.bpf.c): such a flow is as its last record said, as
 * of each scan, and a request nobody answers is still seen. The record of
 * test_peer_app_stall, sent once: the same verdict at the same time.
 */
static void test_scan_left_out_unchanged(struct test *t)
{
	struct flow_key k = client_key(43193);
	struct sockview v = { .isn_tx = 1000, .isn_rx = 5000, .sent = 120 };
	struct engine *e = new_engine();
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &k);
	for (i = 1; i <= 8; i++) {
		if (i == 1)
			feed_scan(e, T0 + i * SEC, &k, &v);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
		if (i < 6)
			EXPECT(s.n == 0, "at %ds: %s", i, sink_str(&s));
	}
	EXPECT(s.n == 1 && s.d[0].code == DIAG_PEER_APP_STALL, "got %s", sink_str(&s));
	EXPECT(ev_is(&s.d[0], "waited_ms", 5000), "waited_ms %lld", ev_val(&s.d[0], "waited_ms"));
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * A scan whose walk failed somewhere (engine_scan_partial) holds nothing
 * as unchanged: the request of test_scan_left_out_unchanged, reported
 * once, then only partial scans: no verdict on what nobody saw.
 */
static void test_scan_partial_holds_nothing(struct test *t)
{
	struct flow_key k = client_key(43196);
	struct sockview v = { .isn_tx = 1000, .isn_rx = 5000, .sent = 120 };
	struct engine *e = new_engine();
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &k);
	for (i = 1; i <= 8; i++) {
		if (i == 1)
			feed_scan(e, T0 + i * SEC, &k, &v);
		else
			engine_scan_partial(e);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
	}
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * The kernel reports an unchanged socket every SCAN_QUIET_ROUNDS rounds:
 * one missing longer vanished (a close nobody saw), and is retired
 * without a verdict after that; before, it is held as it was.
 */
static void test_scan_quiet_bound(struct test *t)
{
	struct flow_key k = client_key(43194);
	struct sockview v = { .isn_tx = 1000, .isn_rx = 5000, .sent = 120, .rcvd = 300,
			      .read = 300 };
	struct engine_stats st;
	struct engine *e = new_engine();
	struct sink s = {0};
	int i, held = 0;

	feed_client_open(e, T0, &k);
	for (i = 1; i <= SCAN_QUIET_ROUNDS + 8; i++) {
		if (i == 1)
			feed_scan(e, T0 + i * SEC, &k, &v);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
		engine_get_stats(e, &st);
		if (st.flows)
			held = i;
	}
	/* held through round SCAN_QUIET_ROUNDS, missed after, retired after
	 * two missed scans and the linger */
	EXPECT(held >= SCAN_QUIET_ROUNDS && held < SCAN_QUIET_ROUNDS + 6, "held until %d s", held);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* Each code at most once a flow, however long the condition lasts. */
static void test_once_per_flow(struct test *t)
{
	struct flow_key k = client_key(43195);
	struct engine *e = new_engine();
	struct sink s = {0};
	int i;

	feed_connect(e, T0, &k);
	for (i = 1; i <= 6; i++) {
		feed_retrans(e, T0 + i * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
	}
	engine_tick(e, T0 + 200 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 300 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_names(struct test *t)
{
	int c;

	for (c = 0; c < DIAG_CODE_MAX; c++)
		EXPECT(strcmp(diag_code_name(c), "UNKNOWN"), "code %d unnamed", c);
	EXPECT(!strcmp(diag_code_name(DIAG_ZERO_WINDOW), "ZERO_WINDOW"), "name");
	EXPECT(!strcmp(diag_code_name(DIAG_CODE_MAX), "UNKNOWN"), "out of range");
	EXPECT(!strcmp(diag_severity_name(SEV_WARNING), "warning"), "severity");
	EXPECT(!strcmp(tt_side_name(TT_SIDE_SERVER), "server"), "side");
out:
	return;
}

/* The catalogue is the engine's map: every code has exactly one entry,
 * with a name of its own, a judge in some scope and its words. */
static void test_catalogue(struct test *t)
{
	int entries[DIAG_CODE_MAX] = {0};

	for (size_t i = 0; i < DIAG_CODE_MAX; i++) {
		const struct diag_entry *en = &diag_catalogue[i];

		EXPECT(en->code < DIAG_CODE_MAX, "entry %zu: code %d", i, en->code);
		entries[en->code]++;
		EXPECT(en->name && en->words, "entry %zu: no name or words", i);
		/* PROCESS_KILLED is judged per death (judge_deaths), not by entry. */
		EXPECT(en->judge || en->judge_listener || en->judge_event ||
		       en->code == DIAG_PROCESS_KILLED, "%s: no judge", en->name);
		EXPECT(diag_entry_of(en->code) == en, "%s: not found by code", en->name);
		for (size_t j = 0; j < i; j++)
			EXPECT(strcmp(en->name, diag_catalogue[j].name),
			       "%s: named twice", en->name);
	}
	for (int c = 0; c < DIAG_CODE_MAX; c++)
		EXPECT(entries[c] == 1, "code %d has %d entries", c, entries[c]);
	EXPECT(!diag_entry_of(DIAG_CODE_MAX), "an entry for DIAG_CODE_MAX");
out:
	return;
}

/* ---- drops by this host's own stack ------------------------------------ */

/*
 * A stand-in for the running kernel's enum skb_drop_reason: the engine is
 * told what each value means through the config, as main() does from BTF.
 * The values are made up on purpose: nothing may depend on a kernel's
 * numbering but the table.
 */
enum {
	R_NOT_DROPPED_YET	= 0,
	R_CONSUMED		= 1,
	R_NOT_SPECIFIED		= 2,
	R_NO_SOCKET		= 3,
	R_NETFILTER_DROP	= 8,
	R_TCP_OLD_DATA		= 12,
	R_IP_RPFILTER		= 17,
	R_IP_OUTNOROUTES	= 30,
	R_TCP_LISTEN_OVERFLOW	= 40,
	R_MAX			= 48,
};

static const __u8 test_drop_class[R_MAX] = {
	[R_NETFILTER_DROP]	= DROP_LOCAL,
	[R_IP_RPFILTER]		= DROP_LOCAL,
	[R_IP_OUTNOROUTES]	= DROP_NO_ROUTE,
	[R_TCP_LISTEN_OVERFLOW]	= DROP_LISTEN_OVERFLOW,
	[R_NO_SOCKET]		= DROP_NO_SOCKET,
	/* everything else, R_NOT_SPECIFIED and R_TCP_OLD_DATA among them: DROP_IGNORE */
};

static const char *test_drop_name(unsigned int reason)
{
	switch (reason) {
	case R_NOT_SPECIFIED:		return "NOT_SPECIFIED";
	case R_NO_SOCKET:		return "NO_SOCKET";
	case R_NETFILTER_DROP:		return "NETFILTER_DROP";
	case R_TCP_OLD_DATA:		return "TCP_OLD_DATA";
	case R_IP_RPFILTER:		return "IP_RPFILTER";
	case R_IP_OUTNOROUTES:		return "IP_OUTNOROUTES";
	case R_TCP_LISTEN_OVERFLOW:	return "TCP_LISTEN_OVERFLOW";
	default:			return NULL;
	}
}

static void drop_config(struct engine_config *cfg)
{
	engine_config_default(cfg);
	cfg->drop_class = test_drop_class;
	cfg->n_drop_class = R_MAX;
	cfg->drop_reason_name = test_drop_name;
}

static struct engine *new_drop_engine(void)
{
	struct engine_config cfg;

	drop_config(&cfg);
	return engine_new(&cfg);
}

/*
 * A segment of k dropped by this host, as bpf/drops.bpf.c reports it: the
 * key from this host's side, EVF_SYN for a bare SYN, the socket's state
 * when the skb had one (0 otherwise), the side the flow map knew.
 */
static void feed_drop(struct engine *e, __u64 ts, const struct flow_key *k,
		      __u32 reason, bool inbound, __u8 tcp_flags, __u8 state,
		      __u8 side)
{
	struct tt_event ev = mkev(EV_DROP, ts, k);

	ev.reason = reason;
	ev.tcp_flags = tcp_flags;
	ev.state = state;
	ev.side = side;
	if (inbound)
		ev.flags |= EVF_INBOUND;
	if ((tcp_flags & (TT_TCP_SYN | TT_TCP_ACK)) == TT_TCP_SYN)
		ev.flags |= EVF_SYN;
	engine_on_event(e, &ev);
}

/* The SYN-ACK of our connect reached this host; INPUT dropped it. The
 * client keeps retransmitting its SYN and every answer is dropped again:
 * one problem, LOCAL_DROP, not also an unanswered SYN (answers came). */
/*
 * Before 6.10 the kernel traces no reset for a SYN no socket took: the
 * SYN's NO_SOCKET drop (which then reaches us) says the port is closed,
 * and a stray non-SYN segment of a gone connection says nothing.
 */
static void test_port_closed_from_drops(struct test *t)
{
	struct flow_key stray = server_key(50100);
	struct engine *e = new_drop_engine();
	struct sink s = {0};
	const struct diagnosis *d;

	for (int i = 0; i < 2; i++) {
		struct flow_key k = server_key(50000 + i);

		feed_drop(e, T0 + i * MSEC, &k, R_NO_SOCKET, true, TT_TCP_SYN, 0,
			  TT_SIDE_UNKNOWN);
	}
	feed_drop(e, T0 + 5 * MSEC, &stray, R_NO_SOCKET, true, TT_TCP_ACK | TT_TCP_FIN, 0,
		  TT_SIDE_UNKNOWN);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	EXPECT_EQ(d->code, DIAG_PORT_CLOSED);
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	EXPECT_EQ(d->connections, 2);
	EXPECT_EQ(d->key.lport, 8080);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_local_drop_synack(struct test *t)
{
	struct flow_key k = client_key(43300);
	struct engine *e = new_drop_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	int i;

	feed_connect(e, T0, &k);
	feed_drop(e, T0 + 1 * MSEC, &k, R_NETFILTER_DROP, true,
		  TT_TCP_SYN | TT_TCP_ACK, 0, TT_SIDE_CLIENT);
	engine_tick(e, T0 + 500 * MSEC, sink_fn, &s);
	EXPECT(s.n == 1, "one dropped SYN-ACK is the whole story, got %s",
	       sink_str(&s));
	/* The kernel retransmits the SYN (1s, 3s, 7s), the answers die alike. */
	for (i = 0; i < 3; i++) {
		__u64 at = T0 + ((2ULL << i) - 1) * SEC;

		feed_retrans(e, at, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
		feed_drop(e, at + 1 * MSEC, &k, R_NETFILTER_DROP, true,
			  TT_TCP_SYN | TT_TCP_ACK, 0, TT_SIDE_CLIENT);
		engine_tick(e, at + 500 * MSEC, sink_fn, &s);
	}
	engine_tick(e, T0 + 70 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 80 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "want LOCAL_DROP alone, got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LOCAL_DROP);
	EXPECT_EQ(d->severity, SEV_ERROR);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(!memcmp(&d->key, &k, sizeof(k)), "key is not the flow's");
	EXPECT_EQ(d->pid, 4242);
	EXPECT_EQ(d->connections, 1);
	EXPECT(ev_is(d, "drops_inbound", 1), "drops_inbound %lld",
	       ev_val(d, "drops_inbound"));
	EXPECT(ev_is(d, "drops_outbound", 0), "drops_outbound %lld",
	       ev_val(d, "drops_outbound"));
	EXPECT(ev_is(d, "handshake_drops", 1), "handshake_drops %lld",
	       ev_val(d, "handshake_drops"));
	EXPECT(ev_is(d, "drop_reason", R_NETFILTER_DROP), "drop_reason %lld",
	       ev_val(d, "drop_reason"));
	EXPECT(!strcmp(w->reason, "NETFILTER_DROP"), "reason \"%s\"", w->reason);
	EXPECT(strstr(w->summary, "NETFILTER_DROP"), "summary: %s", w->summary);
	EXPECT(strstr(w->summary, "SYN-ACK"), "summary: %s", w->summary);
out:
	sink_free(&s);
	engine_free(e);
}

/* SYNs from three clients dropped by this host's firewall before any socket
 * saw them: flows never seen, one problem at 10.0.2.10:8080. */
static void test_local_drop_inbound_syn(struct test *t)
{
	struct engine *e = new_drop_engine();
	struct engine_stats st;
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	int i;

	/* Something listens on the port the firewall guards. */
	feed_listen(e, T0, 8080);
	for (i = 0; i < 3; i++) {
		struct flow_key k = server_key(51000 + i);

		/* The kernel names the side; a recording of an older build
		 * may not, and a bare inbound SYN still makes it the server. */
		feed_drop(e, T0 + i * MSEC, &k, R_NETFILTER_DROP, true,
			  TT_TCP_SYN, 0, i == 1 ? TT_SIDE_UNKNOWN : TT_SIDE_SERVER);
	}
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LOCAL_DROP);
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	EXPECT_EQ(d->connections, 3);
	EXPECT_EQ(d->key.lport, 8080);
	EXPECT_EQ(d->key.rport, 51000);
	EXPECT(ev_is(d, "drops_inbound", 1), "drops_inbound");
	EXPECT(ev_is(d, "handshake_drops", 1), "handshake_drops");
	EXPECT(!strcmp(w->reason, "NETFILTER_DROP"), "reason \"%s\"", w->reason);
	EXPECT(strstr(w->summary, "NETFILTER_DROP"), "summary: %s", w->summary);
	EXPECT(strstr(w->summary, "(3 connections)"), "summary: %s", w->summary);
	engine_get_stats(e, &st);
	EXPECT_EQ(st.events, 3);
out:
	sink_free(&s);
	engine_free(e);
}

/* OUTPUT drops our SYN: nothing leaves, the drop says why. (The kernel's
 * retransmit tracepoint does not fire for a SYN the stack refused.) */
static void test_local_drop_outbound_syn(struct test *t)
{
	struct flow_key k = client_key(43301);
	struct engine *e = new_drop_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_connect(e, T0, &k);
	feed_drop(e, T0, &k, R_NETFILTER_DROP, false, TT_TCP_SYN,
		  TT_TCP_SYN_SENT, TT_SIDE_CLIENT);
	feed_drop(e, T0 + 1 * SEC, &k, R_NETFILTER_DROP, false, TT_TCP_SYN,
		  TT_TCP_SYN_SENT, TT_SIDE_CLIENT);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LOCAL_DROP);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(ev_is(d, "drops_outbound", 2), "drops_outbound %lld",
	       ev_val(d, "drops_outbound"));
	EXPECT(ev_is(d, "drops_inbound", 0), "drops_inbound");
	EXPECT(ev_is(d, "handshake_drops", 2), "handshake_drops");
	EXPECT(!strcmp(w->reason, "NETFILTER_DROP"), "reason \"%s\"", w->reason);
	EXPECT(strstr(w->summary, "outbound SYN"), "summary: %s", w->summary);
out:
	sink_free(&s);
	engine_free(e);
}

/* On an established flow a lone discard is mended by a retransmit; only
 * repeats (loss_min_retrans of them) are a problem. */
static void test_local_drop_established(struct test *t)
{
	struct flow_key k1 = client_key(43302), k2 = client_key(43303);
	struct engine *e = new_drop_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	int i;

	feed_client_open(e, T0, &k1);
	feed_client_open(e, T0, &k2);
	feed_drop(e, T0 + 100 * MSEC, &k1, R_IP_RPFILTER, true,
		  TT_TCP_ACK | TT_TCP_PSH, TT_TCP_ESTABLISHED, TT_SIDE_CLIENT);
	for (i = 0; i < 2; i++)
		feed_drop(e, T0 + (100 + i) * MSEC, &k2, R_IP_RPFILTER, true,
			  TT_TCP_ACK | TT_TCP_PSH, TT_TCP_ESTABLISHED,
			  TT_SIDE_CLIENT);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "below loss_min_retrans: %s", sink_str(&s));

	feed_drop(e, T0 + 1200 * MSEC, &k2, R_IP_RPFILTER, false,
		  TT_TCP_ACK, TT_TCP_ESTABLISHED, TT_SIDE_CLIENT);
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	feed_fin_close(e, T0 + 3 * SEC, &k1, true);
	feed_fin_close(e, T0 + 3 * SEC, &k2, true);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LOCAL_DROP);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(!memcmp(&d->key, &k2, sizeof(k2)), "not the flow with 3 drops");
	EXPECT(ev_is(d, "drops_inbound", 2), "drops_inbound");
	EXPECT(ev_is(d, "drops_outbound", 1), "drops_outbound");
	EXPECT(ev_is(d, "handshake_drops", 0), "handshake_drops");
	EXPECT(!strcmp(w->reason, "IP_RPFILTER"), "reason \"%s\"", w->reason);
out:
	sink_free(&s);
	engine_free(e);
}

/* Reasons the table calls noise are no evidence, however many: not even a
 * flow entry is made for them. */
static void test_local_drop_ignored(struct test *t)
{
	struct flow_key c = client_key(43304), c2 = client_key(43305);
	struct engine *e = new_drop_engine();
	struct engine_stats st;
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &c);
	for (i = 0; i < 5; i++) {
		struct flow_key k = server_key(52000 + i);

		feed_drop(e, T0 + i * MSEC, &k, R_NOT_SPECIFIED, true,
			  TT_TCP_SYN, 0, TT_SIDE_SERVER);
		feed_drop(e, T0 + i * MSEC, &c, R_TCP_OLD_DATA, true,
			  TT_TCP_ACK | TT_TCP_PSH, TT_TCP_ESTABLISHED,
			  TT_SIDE_CLIENT);
	}
	feed_connect(e, T0, &c2);
	feed_drop(e, T0 + 1 * MSEC, &c2, R_NOT_SPECIFIED, true,
		  TT_TCP_SYN | TT_TCP_ACK, 0, TT_SIDE_CLIENT);
	feed_drop(e, T0 + 2 * MSEC, &c2, R_CONSUMED, true,
		  TT_TCP_SYN | TT_TCP_ACK, 0, TT_SIDE_CLIENT);
	feed_state(e, T0 + 2 * MSEC, &c2, TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
		   TT_SIDE_CLIENT);
	engine_get_stats(e, &st);
	EXPECT_EQ(st.flows, 2);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* No table (no BTF for the enum): 0 not dropped, 1 consumed, 2 unspecified
 * are no drops; any higher value is. */
static void test_local_drop_no_table(struct test *t)
{
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	__u32 r;

	for (r = 0; r <= 2; r++) {
		struct flow_key k = client_key(43310 + r);

		feed_connect(e, T0, &k);
		feed_drop(e, T0 + 1 * MSEC, &k, r, true, TT_TCP_SYN | TT_TCP_ACK,
			  0, TT_SIDE_CLIENT);
	}
	engine_tick(e, T0 + 500 * MSEC, sink_fn, &s);
	EXPECT(s.n == 0, "reasons 0..2 counted: %s", sink_str(&s));

	{
		struct flow_key k = key4("10.0.1.5", 43313, "10.0.4.4", 443);

		feed_connect(e, T0 + 1 * SEC, &k);
		feed_drop(e, T0 + 1 * SEC + MSEC, &k, 3, true,
			  TT_TCP_SYN | TT_TCP_ACK, 0, TT_SIDE_CLIENT);
	}
	engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LOCAL_DROP);
	EXPECT_EQ(d->key.lport, 43313);
	EXPECT(ev_is(d, "drop_reason", 3), "drop_reason");
	/* No names either: the number stands in. */
	EXPECT(!strcmp(w->reason, "reason 3"), "reason \"%s\"", w->reason);
out:
	sink_free(&s);
	engine_free(e);
}

/* No route out (IP_OUTNOROUTES): a routing problem, not a filter. */
static void test_local_drop_no_route(struct test *t)
{
	struct flow_key k = client_key(43320);
	struct engine *e = new_drop_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_connect(e, T0, &k);
	feed_drop(e, T0, &k, R_IP_OUTNOROUTES, false, TT_TCP_SYN,
		  TT_TCP_SYN_SENT, TT_SIDE_CLIENT);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_NO_ROUTE);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(ev_is(d, "drops_outbound", 1), "drops_outbound");
	EXPECT(ev_is(d, "drop_reason", R_IP_OUTNOROUTES), "drop_reason");
	EXPECT(!strcmp(w->reason, "IP_OUTNOROUTES"), "reason \"%s\"", w->reason);
	EXPECT(strstr(w->summary, "IP_OUTNOROUTES"), "summary: %s", w->summary);
	EXPECT(any_check_has(w, "ip route get 10.0.2.10"), "checks");
out:
	sink_free(&s);
	engine_free(e);
}

/* ---- the accept queue -------------------------------------------------- */

/* A listener snapshot: port on 0.0.0.0, queue and drop counters as given. */
static void feed_listener(struct engine *e, __u64 now, __u16 port,
			  __u32 backlog, __u32 max_backlog, __u32 sk_drops)
{
	struct tt_sock_scan s;

	memset(&s, 0, sizeof(s));
	s.key.netns = NETNS;
	s.key.family = TT_AF_INET;
	s.key.lport = port;
	s.state = TT_TCP_LISTEN;
	s.ack_backlog = backlog;
	s.max_ack_backlog = max_backlog;
	s.sk_drops = sk_drops;
	engine_on_scan(e, &s, now);
}

/* The kernel names the reason: handshakes dropped for a full queue. */
static void test_listen_overflow_drops(struct test *t)
{
	struct engine *e = new_drop_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	int i;

	feed_listener(e, T0, 8080, 0, 128, 0);
	engine_scan_end(e, T0);
	for (i = 0; i < 2; i++) {
		struct flow_key k = server_key(53000 + i);

		feed_drop(e, T0 + 100 * MSEC + i * MSEC, &k,
			  R_TCP_LISTEN_OVERFLOW, true, TT_TCP_SYN,
			  TT_TCP_LISTEN, TT_SIDE_SERVER);
	}
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LISTEN_OVERFLOW);
	EXPECT_EQ(d->severity, SEV_ERROR);
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	EXPECT_EQ(d->connections, 2);
	EXPECT_EQ(d->key.lport, 8080);
	EXPECT(ev_is(d, "handshakes_dropped", 1), "handshakes_dropped %lld",
	       ev_val(d, "handshakes_dropped"));
	EXPECT(!strcmp(w->reason, "TCP_LISTEN_OVERFLOW"), "reason \"%s\"",
	       w->reason);
	EXPECT(any_check_has(w, "ss -ltn 'sport = :8080'"), "checks");
out:
	sink_free(&s);
	engine_free(e);
}

/* Both signs at once, the reasoned drops and the full queue the snapshot
 * shows: still one problem, said once. */
static void test_listen_overflow_drops_and_scan(struct test *t)
{
	struct engine *e = new_drop_engine();
	struct sink s = {0};
	int i;

	feed_listener(e, T0, 8080, 129, 128, 40);
	engine_scan_end(e, T0);
	engine_tick(e, T0, sink_fn, &s);
	for (i = 0; i < 3; i++) {
		struct flow_key k = server_key(53100 + i);

		feed_drop(e, T0 + 100 * MSEC + i * MSEC, &k,
			  R_TCP_LISTEN_OVERFLOW, true, TT_TCP_SYN,
			  TT_TCP_LISTEN, TT_SIDE_SERVER);
	}
	for (i = 1; i <= 10; i++) {
		feed_listener(e, T0 + i * SEC, 8080, 129, 128, 40 + 3 * i);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
	}
	engine_finish(e, T0 + 11 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_LISTEN_OVERFLOW) == 1 && s.n == 1,
	       "got %s", sink_str(&s));
	EXPECT_EQ(s.d[0].connections, 3);
out:
	sink_free(&s);
	engine_free(e);
}

/* An older kernel drops silently: the listener shows its queue full while
 * its drop count rises between two scans. */
static void test_listen_overflow_scan(struct test *t)
{
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	int i;

	/* The first sight of a counter is no rise. */
	feed_listener(e, T0, 8080, 129, 128, 10);
	engine_scan_end(e, T0);
	engine_tick(e, T0, sink_fn, &s);
	EXPECT(s.n == 0, "first scan: %s", sink_str(&s));
	feed_listener(e, T0 + 1 * SEC, 8080, 129, 128, 25);
	engine_scan_end(e, T0 + 1 * SEC);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LISTEN_OVERFLOW);
	EXPECT_EQ(d->side, TT_SIDE_SERVER);
	EXPECT_EQ(d->connections, 1);
	EXPECT_EQ(d->key.lport, 8080);
	EXPECT_EQ(d->key.rport, 0);
	EXPECT(ev_is(d, "accept_queue", 129), "accept_queue %lld",
	       ev_val(d, "accept_queue"));
	EXPECT(ev_is(d, "backlog", 128), "backlog");
	EXPECT(ev_is(d, "handshakes_dropped", 15), "handshakes_dropped %lld",
	       ev_val(d, "handshakes_dropped"));
	EXPECT(strstr(w->summary, "129 waiting, backlog 128"), "summary: %s",
	       w->summary);

	/* Still full, still dropping: not said again within the fold window. */
	for (i = 2; i <= 50; i++) {
		feed_listener(e, T0 + i * SEC, 8080, 129, 128, 25 + 5 * i);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
	}
	EXPECT(s.n == 1, "repeated within the fold window: %s", sink_str(&s));
	/* Past it, a problem that goes on is said again. */
	for (i = 51; i <= 70; i++) {
		feed_listener(e, T0 + i * SEC, 8080, 129, 128, 25 + 5 * i);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
	}
	EXPECT(s.n == 2, "an overflow lasting past the window: %s", sink_str(&s));
	EXPECT_EQ(s.d[1].code, DIAG_LISTEN_OVERFLOW);
	EXPECT(s.d[1].ts_ns - s.d[0].ts_ns >= 60 * SEC, "emitted %llus apart",
	       (unsigned long long)((s.d[1].ts_ns - s.d[0].ts_ns) / SEC));
out:
	sink_free(&s);
	engine_free(e);
}

/* A busy listener is not an overflowing one: drops while the queue has
 * room (some other listener drop), or a full queue that drops nothing. */
static void test_listen_overflow_healthy(struct test *t)
{
	struct flow_key k = key4("10.0.2.10", 7070, "10.0.1.5", 55000);
	struct engine *e = new_engine();
	struct sink s = {0};
	struct tt_event ev;
	int i;

	for (i = 0; i <= 10; i++) {
		/* Drops while there is room; then full, and no more drops:
		 * the earlier ones were not for a full queue. */
		feed_listener(e, T0 + i * SEC, 8080, i <= 5 ? 5 : 129, 128,
			      10 * (i <= 5 ? i : 5));
		feed_listener(e, T0 + i * SEC, 9090, 129, 128, 7);
		/* Exactly at the backlog is not over it (sk_acceptq_is_full),
		 * and a client whose ACK got lost is no overflow either. */
		feed_listener(e, T0 + i * SEC, 7070, 128, 128, 10 * i);
		if (i == 3) {
			ev = mkev(EV_SYNACK_RETRANS, T0 + i * SEC, &k);
			ev.state = TT_TCP_SYN_RECV;
			engine_on_event(e, &ev);
		}
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
	}
	engine_finish(e, T0 + 11 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* ---- conn records ------------------------------------------------------ */

/* Every conn record the engine emits, copied. */
struct conn_sink {
	size_t n, cap;
	struct conn_record *c;
};

static void conn_sink_fn(const struct conn_record *c, void *ctx)
{
	struct conn_sink *s = ctx;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct conn_record *nc = realloc(s->c, cap * sizeof(*nc));

		if (!nc)
			abort();
		s->c = nc;
		s->cap = cap;
	}
	s->c[s->n++] = *c;
	if (verbose)
		fprintf(stderr, "  conn %u->%u %s open=%d states=%u codes=%#x\n",
			c->key.lport, c->key.rport, c->close_reason, c->open,
			c->n_states, c->codes);
}

static void conn_sink_free(struct conn_sink *s)
{
	free(s->c);
	memset(s, 0, sizeof(*s));
}

static const struct conn_record *conn_of(const struct conn_sink *s,
					 const struct flow_key *k)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!memcmp(&s->c[i].key, k, sizeof(*k)))
			return &s->c[i];
	return NULL;
}

/* "SYN_SENT,ESTABLISHED,..." for a failure message. */
static const char *states_str(const struct conn_record *c)
{
	static char buf[160];
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < c->n_states && i < sizeof(c->states); i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "",
				tt_state_name(c->states[i]));
	return buf;
}

/* The socket's totals, as the kernel reads them while it goes to CLOSE. */
struct totals {
	__u64 acked, received;	/* data bytes: feed_close_totals() adds the SYN */
	__u32 segs_out, segs_in, data_out, data_in;
	__u32 srtt_us, min_rtt_us, total_retrans;
};

static void feed_close_totals(struct engine *e, __u64 ts,
			      const struct flow_key *k, __u8 from,
			      const struct totals *tot)
{
	struct tt_event ev = mkev(EV_STATE, ts, k);

	ev.old_state = from;
	ev.state = TT_TCP_CLOSE;
	/* The kernel's count is sequence space: a client's SYN, and our FIN
	 * once ACKed (closing from FIN_WAIT2, TIME_WAIT or LAST_ACK). */
	ev.bytes_acked = tot->acked + 1 +
			 (from == TT_TCP_FIN_WAIT2 || from == TT_TCP_TIME_WAIT ||
			  from == TT_TCP_LAST_ACK);
	ev.bytes_received = tot->received;
	ev.segs_out = tot->segs_out;
	ev.segs_in = tot->segs_in;
	ev.data_segs_out = tot->data_out;
	ev.data_segs_in = tot->data_in;
	ev.srtt_us = tot->srtt_us;
	ev.min_rtt_us = tot->min_rtt_us;
	ev.total_retrans = tot->total_retrans;
	engine_on_event(e, &ev);
}

static struct engine *new_conn_engine(struct conn_sink *cs, __u64 interval)
{
	struct engine_config cfg;
	struct engine *e;

	engine_config_default(&cfg);
	cfg.conn_interval_ns = interval;
	e = engine_new(&cfg);
	if (e)
		engine_set_conn_sink(e, conn_sink_fn, cs);
	return e;
}

/* A short request/response, closed before any snapshot: its record comes
 * once, after the linger, with the totals the close event carried. */
/*
 * The closing states ride on the CLOSE event's path. A connection adopted
 * mid-life (open before the tracer) tells its first state by event and the
 * rest by path: the record joins both; one seen from its open takes the
 * path whole.
 */
static void test_conn_record_path(struct test *t)
{
	struct flow_key adopted = client_key(43600), opened = client_key(43601);
	struct conn_sink cs = {0};
	struct engine *e = new_conn_engine(&cs, 0);
	struct tt_event ev;
	struct sink s = {0};
	static const __u8 want_adopted[] = { TT_TCP_ESTABLISHED, TT_TCP_FIN_WAIT1,
					     TT_TCP_FIN_WAIT2, TT_TCP_CLOSE };
	static const __u8 want_opened[] = { TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
					    TT_TCP_CLOSE_WAIT, TT_TCP_LAST_ACK,
					    TT_TCP_CLOSE };

	feed_state(e, T0, &adopted, TT_TCP_ESTABLISHED, TT_TCP_FIN_WAIT1, 0);
	ev = mkev(EV_STATE, T0 + 10 * MSEC, &adopted);
	ev.old_state = TT_TCP_FIN_WAIT2;
	ev.state = TT_TCP_CLOSE;
	ev.path[0] = TT_TCP_FIN_WAIT2;
	ev.path[1] = TT_TCP_CLOSE;
	engine_on_event(e, &ev);

	feed_connect(e, T0, &opened);
	feed_state(e, T0 + 1 * MSEC, &opened, TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
		   TT_SIDE_CLIENT);
	ev = mkev(EV_STATE, T0 + 20 * MSEC, &opened);
	ev.old_state = TT_TCP_LAST_ACK;
	ev.state = TT_TCP_CLOSE;
	memcpy(ev.path, want_opened, sizeof(want_opened));
	engine_on_event(e, &ev);

	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(cs.n == 2, "want two records, got %zu", cs.n);
	for (size_t i = 0; i < cs.n; i++) {
		const struct conn_record *c = &cs.c[i];
		bool is_adopted = c->key.lport == adopted.lport;
		const __u8 *want = is_adopted ? want_adopted : want_opened;
		unsigned int n = is_adopted ? sizeof(want_adopted) : sizeof(want_opened);

		EXPECT(c->n_states == n && !memcmp(c->states, want, n),
		       "%s path %u states", is_adopted ? "adopted" : "opened", c->n_states);
	}
out:
	conn_sink_free(&cs);
	sink_free(&s);
	engine_free(e);
}

/*
 * More sockets than the table holds: scans must not churn it (evicting
 * one scan's flows for the next's, a conn record for each), but skip and
 * count what does not fit; a flow events speak of still gets a place.
 */
static void test_scan_overflow(struct test *t)
{
	struct sockview v = { .state = TT_TCP_ESTABLISHED, .sent = 10, .rcvd = 10,
			      .read = 10 };
	struct engine_config cfg;
	struct engine_stats st;
	struct conn_sink cs = {0};
	struct flow_key k;
	struct engine *e;
	struct sink s = {0};

	engine_config_default(&cfg);
	cfg.max_flows = 4;
	e = engine_new(&cfg);
	engine_set_conn_sink(e, conn_sink_fn, &cs);
	for (int scan = 1; scan <= 5; scan++) {
		for (__u16 p = 0; p < 10; p++) {
			k = client_key(44000 + p);
			feed_scan(e, T0 + scan * SEC, &k, &v);
		}
		engine_scan_end(e, T0 + scan * SEC);
		engine_tick(e, T0 + scan * SEC, sink_fn, &s);
	}
	engine_get_stats(e, &st);
	EXPECT_EQ(st.flows, 4);
	EXPECT(st.flows_evicted == 0, "scans evicted %llu flows",
	       (unsigned long long)st.flows_evicted);
	EXPECT(st.scan_untracked == 30, "untracked %llu, want 6 a scan",
	       (unsigned long long)st.scan_untracked);
	EXPECT(cs.n == 0, "conn records from scan churn: %zu", cs.n);
	/* An event's flow still gets in, by evicting the oldest. */
	k = client_key(45000);
	feed_connect(e, T0 + 6 * SEC, &k);
	engine_get_stats(e, &st);
	EXPECT_EQ(st.flows_evicted, 1);
out:
	conn_sink_free(&cs);
	sink_free(&s);
	engine_free(e);
}

static void test_conn_record_fin(struct test *t)
{
	static const __u8 path[] = { TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
				     TT_TCP_FIN_WAIT1, TT_TCP_FIN_WAIT2,
				     TT_TCP_CLOSE };
	struct totals tot = { .acked = 1200, .received = 34000, .segs_out = 12,
			      .segs_in = 30, .data_out = 2, .data_in = 24,
			      .srtt_us = 1500, .min_rtt_us = 900,
			      .total_retrans = 1 };
	struct flow_key k = client_key(43400);
	struct conn_sink cs = {0};
	struct engine *e = new_conn_engine(&cs, 0);
	struct sink s = {0};
	const struct conn_record *c;
	unsigned int i;

	feed_connect(e, T0, &k);
	feed_state(e, T0 + 25 * MSEC, &k, TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
		   TT_SIDE_CLIENT);
	feed_state(e, T0 + 200 * MSEC, &k, TT_TCP_ESTABLISHED, TT_TCP_FIN_WAIT1, 0);
	feed_state(e, T0 + 201 * MSEC, &k, TT_TCP_FIN_WAIT1, TT_TCP_FIN_WAIT2, 0);
	feed_close_totals(e, T0 + 202 * MSEC, &k, TT_TCP_FIN_WAIT2, &tot);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(cs.n == 0, "a record before the linger is over: %zu", cs.n);
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	engine_tick(e, T0 + 5 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 6 * SEC, sink_fn, &s);
	EXPECT(cs.n == 1, "want one record, got %zu", cs.n);
	EXPECT(s.n == 0, "a healthy connection diagnosed: %s", sink_str(&s));
	c = &cs.c[0];
	EXPECT(!memcmp(&c->key, &k, sizeof(k)), "key is not the flow's");
	EXPECT_EQ(c->side, TT_SIDE_CLIENT);
	EXPECT_EQ(c->pid, 4242);
	EXPECT(!strcmp(c->comm, "svc-a"), "comm %s", c->comm);
	EXPECT(c->close_reason && !strcmp(c->close_reason, "fin"),
	       "close_reason %s", c->close_reason ? c->close_reason : "NULL");
	EXPECT(!c->open, "closed flow reported open");
	EXPECT(c->start_known, "start not known");
	EXPECT_EQ(c->start_ns, T0);
	EXPECT_EQ(c->ts_ns, T0 + 202 * MSEC);
	EXPECT(c->n_states == sizeof(path) && !memcmp(c->states, path, sizeof(path)),
	       "state path %s", states_str(c));
	EXPECT_EQ(c->connect_ns, 25 * MSEC);
	EXPECT_EQ(c->bytes_sent, 1200);
	EXPECT_EQ(c->bytes_received, 34000);
	EXPECT_EQ(c->segs_out, 12);
	EXPECT_EQ(c->segs_in, 30);
	EXPECT_EQ(c->data_segs_out, 2);
	EXPECT_EQ(c->data_segs_in, 24);
	EXPECT_EQ(c->srtt_us, 1500);
	EXPECT_EQ(c->min_rtt_us, 900);
	EXPECT_EQ(c->retrans, 1);
	EXPECT_EQ(c->syn_retrans, 0);
	EXPECT_EQ(c->rst_rx, 0);
	EXPECT_EQ(c->rst_tx, 0);
	EXPECT_EQ(c->app_error, 0);
	EXPECT_EQ(c->codes, 0);
	EXPECT(!c->events_lost, "events_lost");
	for (i = 0; i < cs.n; i++)
		EXPECT(cs.c[i].close_reason, "record %u has no close_reason", i);
out:
	sink_free(&s);
	conn_sink_free(&cs);
	engine_free(e);
}

static void test_conn_record_refused(struct test *t)
{
	struct flow_key k = client_key(43401);
	struct conn_sink cs = {0};
	struct engine *e = new_conn_engine(&cs, 0);
	struct sink s = {0};
	const struct conn_record *c;

	feed_refused(e, T0, &k);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	engine_tick(e, T0 + 5 * SEC, sink_fn, &s);
	EXPECT(cs.n == 1, "want one record, got %zu", cs.n);
	c = &cs.c[0];
	EXPECT(!strcmp(c->close_reason, "refused"), "close_reason %s",
	       c->close_reason);
	EXPECT(c->codes & (1u << DIAG_CONNECTION_REFUSED), "codes %#x", c->codes);
	EXPECT_EQ(c->codes, 1u << DIAG_CONNECTION_REFUSED);
	EXPECT_EQ(c->app_error, ECONNREFUSED);
	EXPECT_EQ(c->rst_rx, 1);
	EXPECT_EQ(c->connect_ns, 0);
	EXPECT(!c->open, "open");
	EXPECT(c->n_states == 2 && c->states[0] == TT_TCP_SYN_SENT &&
	       c->states[1] == TT_TCP_CLOSE, "state path %s", states_str(c));
out:
	sink_free(&s);
	conn_sink_free(&cs);
	engine_free(e);
}

/* A record whose diagnosis is only made at the tick that retires it still
 * carries its code: judged first, then reported. */
static void test_conn_record_peer_reset(struct test *t)
{
	struct flow_key k = client_key(43402);
	struct conn_sink cs = {0};
	struct engine *e = new_conn_engine(&cs, 0);
	struct sink s = {0};
	const struct conn_record *c;

	feed_client_open(e, T0, &k);
	feed_rst_rx(e, T0 + 2 * SEC, &k, TT_TCP_ESTABLISHED);
	feed_state(e, T0 + 2 * SEC, &k, TT_TCP_ESTABLISHED, TT_TCP_CLOSE, 0);
	feed_sk_error(e, T0 + 2 * SEC, &k, TT_TCP_CLOSE, ECONNRESET);
	engine_tick(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && s.d[0].code == DIAG_PEER_RESET, "got %s",
	       sink_str(&s));
	EXPECT(cs.n == 1, "want one record, got %zu", cs.n);
	c = &cs.c[0];
	EXPECT(!strcmp(c->close_reason, "reset_by_peer"), "close_reason %s",
	       c->close_reason);
	EXPECT_EQ(c->codes, 1u << DIAG_PEER_RESET);
	EXPECT_EQ(c->rst_rx, 1);
	EXPECT_EQ(c->app_error, ECONNRESET);
	EXPECT_EQ(c->connect_ns, 1 * MSEC);
	EXPECT_EQ(c->ts_ns, T0 + 2 * SEC);
out:
	sink_free(&s);
	conn_sink_free(&cs);
	engine_free(e);
}

/* A long-lived connection reports as it goes, every conn_interval, and
 * once more at exit; without an interval only at the end. */
static void test_conn_record_open(struct test *t)
{
	struct flow_key k = client_key(43403);
	struct conn_sink cs = {0}, cs0 = {0};
	struct engine *e = new_conn_engine(&cs, 10 * SEC);
	struct engine *e0 = new_conn_engine(&cs0, 0);
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &k);
	feed_client_open(e0, T0, &k);
	for (i = 1; i <= 25; i++) {
		/* 100 kB each way every second: a busy, healthy stream. */
		struct sockview v = { .sent = 100000ULL * i, .rcvd = 100000ULL * i,
				      .read = 100000ULL * i };

		feed_scan(e, T0 + i * SEC, &k, &v);
		engine_scan_end(e, T0 + i * SEC);
		engine_tick(e, T0 + i * SEC, sink_fn, &s);
		feed_scan(e0, T0 + i * SEC, &k, &v);
		engine_scan_end(e0, T0 + i * SEC);
		engine_tick(e0, T0 + i * SEC, sink_fn, &s);
	}
	EXPECT(cs.n == 2, "want records at 10s and 20s, got %zu", cs.n);
	EXPECT(cs0.n == 0, "no interval, still %zu records", cs0.n);
	EXPECT(cs.c[0].open && cs.c[1].open, "open flow reported closed");
	EXPECT(!strcmp(cs.c[0].close_reason, "open"), "close_reason %s",
	       cs.c[0].close_reason);
	EXPECT_EQ(cs.c[0].ts_ns, T0 + 10 * SEC);
	EXPECT_EQ(cs.c[1].ts_ns, T0 + 20 * SEC);
	EXPECT_EQ(cs.c[0].bytes_sent, 1000000);
	EXPECT_EQ(cs.c[1].bytes_sent, 2000000);
	EXPECT_EQ(cs.c[1].bytes_received, 2000000);
	EXPECT_EQ(cs.c[0].connect_ns, 1 * MSEC);
	engine_finish(e, T0 + 25 * SEC + 500 * MSEC, sink_fn, &s);
	engine_finish(e0, T0 + 25 * SEC + 500 * MSEC, sink_fn, &s);
	EXPECT(cs.n == 3, "want a last record at finish, got %zu", cs.n);
	EXPECT(cs.c[2].open, "still open at exit");
	EXPECT_EQ(cs.c[2].ts_ns, T0 + 25 * SEC + 500 * MSEC);
	EXPECT_EQ(cs.c[2].bytes_sent, 2500000);
	EXPECT(cs0.n == 1 && cs0.c[0].open, "no interval: %zu records at exit",
	       cs0.n);
	EXPECT(s.n == 0, "a healthy stream diagnosed: %s", sink_str(&s));
out:
	sink_free(&s);
	conn_sink_free(&cs);
	conn_sink_free(&cs0);
	engine_free(e);
	engine_free(e0);
}

/* No connection, no record: a SYN refused at a closed port, a connect()
 * that failed before TCP ran, a SYN dropped before any socket. */
static void test_conn_record_none(struct test *t)
{
	struct flow_key pc = server_key(54000), dr = server_key(54001);
	struct flow_key nr = key4("0.0.0.0", 0, "10.0.9.9", 80);
	struct engine_config cfg;
	struct conn_sink cs = {0};
	struct engine *e;
	struct sink s = {0};
	struct tt_event ev;

	drop_config(&cfg);
	e = engine_new(&cfg);
	engine_set_conn_sink(e, conn_sink_fn, &cs);
	ev = mkev(EV_RST_TX, T0, &pc);
	ev.flags = EVF_NO_SOCKET | EVF_SYN;
	engine_on_event(e, &ev);
	ev = mkev(EV_CONNECT_ERR, T0, &nr);
	ev.err = ENETUNREACH;
	engine_on_event(e, &ev);
	feed_listen(e, T0, 8080);
	feed_drop(e, T0, &dr, R_NETFILTER_DROP, true, TT_TCP_SYN, 0,
		  TT_SIDE_SERVER);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	engine_tick(e, T0 + 10 * SEC, sink_fn, &s);
	feed_drop(e, T0 + 11 * SEC, &dr, R_NETFILTER_DROP, true, TT_TCP_SYN, 0,
		  TT_SIDE_SERVER);
	engine_finish(e, T0 + 12 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_PORT_CLOSED) == 1 &&
	       count_code(&s, DIAG_NO_ROUTE) == 1 &&
	       count_code(&s, DIAG_LOCAL_DROP) == 1, "the events were not "
	       "taken: %s", sink_str(&s));
	EXPECT(cs.n == 0, "%zu records, first %u->%u %s", cs.n,
	       cs.n ? cs.c[0].key.lport : 0, cs.n ? cs.c[0].key.rport : 0,
	       cs.n ? cs.c[0].close_reason : "");
out:
	sink_free(&s);
	conn_sink_free(&cs);
	engine_free(e);
}

/* A table too small for the traffic: the flow pushed out still gets its
 * record, at once, with what it had; the others at their retirement. */
static void test_conn_record_evicted(struct test *t)
{
	struct totals tot = { .acked = 500, .received = 700, .segs_out = 5,
			      .segs_in = 6, .data_out = 1, .data_in = 1 };
	struct engine_config cfg;
	struct engine_stats st;
	struct conn_sink cs = {0};
	struct engine *e;
	struct sink s = {0};
	const struct conn_record *c;
	int i;

	engine_config_default(&cfg);
	cfg.max_flows = 2;
	e = engine_new(&cfg);
	engine_set_conn_sink(e, conn_sink_fn, &cs);
	for (i = 0; i < 2; i++) {
		struct flow_key k = client_key(43410 + i);

		feed_client_open(e, T0 + i * 10 * MSEC, &k);
		feed_state(e, T0 + i * 10 * MSEC + 2 * MSEC, &k,
			   TT_TCP_ESTABLISHED, TT_TCP_FIN_WAIT1, 0);
		feed_close_totals(e, T0 + i * 10 * MSEC + 3 * MSEC, &k,
				  TT_TCP_FIN_WAIT1, &tot);
	}
	EXPECT(cs.n == 0, "%zu records before any eviction", cs.n);
	{
		struct flow_key k = client_key(43412);

		feed_client_open(e, T0 + 20 * MSEC, &k);
	}
	engine_get_stats(e, &st);
	EXPECT_EQ(st.flows_evicted, 1);
	EXPECT(cs.n == 1, "want the evicted flow's record, got %zu", cs.n);
	{
		struct flow_key k = client_key(43410);

		c = conn_of(&cs, &k);
	}
	EXPECT(c, "the record is not the oldest flow's (%u)", cs.c[0].key.lport);
	EXPECT(!strcmp(c->close_reason, "fin"), "close_reason %s",
	       c->close_reason);
	EXPECT(!c->open, "open");
	EXPECT_EQ(c->bytes_sent, 500);
	EXPECT_EQ(c->bytes_received, 700);
	EXPECT_EQ(c->ts_ns, T0 + 3 * MSEC);

	engine_tick(e, T0 + 5 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 6 * SEC, sink_fn, &s);
	EXPECT(cs.n == 3, "want three records, got %zu", cs.n);
	for (i = 0; i < 3; i++) {
		struct flow_key k = client_key(43410 + i);
		size_t j, seen = 0;

		for (j = 0; j < cs.n; j++)
			seen += !memcmp(&cs.c[j].key, &k, sizeof(k));
		EXPECT(seen == 1, "port %d has %zu records", 43410 + i, seen);
	}
out:
	sink_free(&s);
	conn_sink_free(&cs);
	engine_free(e);
}

/* ---- loss from the close totals ---------------------------------------- */

/* A transfer over before the first snapshot: the socket's totals at close
 * are all there is, and they are enough. */
static void test_packet_loss_close_totals(struct test *t)
{
	struct totals tot = { .acked = 144800, .received = 300, .segs_out = 110,
			      .segs_in = 60, .data_out = 100, .data_in = 1,
			      .srtt_us = 40000, .min_rtt_us = 10000,
			      .total_retrans = 6 };
	struct flow_key k = client_key(43420);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_client_open(e, T0, &k);
	feed_state(e, T0 + 300 * MSEC, &k, TT_TCP_ESTABLISHED,
		   TT_TCP_FIN_WAIT1, 0);
	feed_close_totals(e, T0 + 301 * MSEC, &k, TT_TCP_FIN_WAIT1, &tot);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_PACKET_LOSS);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(ev_is(d, "retransmits", 6), "retransmits %lld",
	       ev_val(d, "retransmits"));
	EXPECT(ev_is(d, "data_segs_out", 100), "data_segs_out");
	EXPECT(ev_is(d, "loss_permille", 60), "loss_permille %lld",
	       ev_val(d, "loss_permille"));
	EXPECT(ev_is(d, "srtt_ms", 40), "srtt_ms %lld", ev_val(d, "srtt_ms"));
	EXPECT(ev_is(d, "min_rtt_ms", 10), "min_rtt_ms");
	EXPECT(ev_is(d, "rtt_inflated", 1), "rtt_inflated");
	EXPECT(strstr(w->summary, "6.0% of 100 data segments"), "summary: %s",
	       w->summary);
out:
	sink_free(&s);
	engine_free(e);
}

/* Below the rate, below the count, or only the handshake retransmitted:
 * healthy. */
static void test_packet_loss_close_totals_healthy(struct test *t)
{
	/* 6 of 1000: 0.6%. */
	struct totals low_rate = { .acked = 1448000, .segs_out = 1010,
				   .segs_in = 500, .data_out = 1000,
				   .total_retrans = 6 };
	/* 2 of 10: 20%, but two retransmits are not a pattern. */
	struct totals few = { .acked = 14480, .segs_out = 12, .segs_in = 8,
			      .data_out = 10, .total_retrans = 2 };
	/* 3 in total, of them 2 SYNs: 1 data retransmit in 20. */
	struct totals handshake = { .acked = 28960, .segs_out = 24,
				    .segs_in = 12, .data_out = 20,
				    .total_retrans = 3 };
	struct flow_key k1 = client_key(43421), k2 = client_key(43422);
	struct flow_key k3 = client_key(43423);
	struct conn_sink cs = {0};
	struct engine *e = new_conn_engine(&cs, 0);
	struct sink s = {0};
	const struct conn_record *c;

	feed_client_open(e, T0, &k1);
	feed_close_totals(e, T0 + 500 * MSEC, &k1, TT_TCP_ESTABLISHED, &low_rate);
	feed_client_open(e, T0, &k2);
	feed_close_totals(e, T0 + 500 * MSEC, &k2, TT_TCP_ESTABLISHED, &few);
	feed_connect(e, T0, &k3);
	feed_retrans(e, T0 + 1 * SEC, &k3, TT_TCP_SYN_SENT, TT_CA_LOSS);
	feed_retrans(e, T0 + 3 * SEC, &k3, TT_TCP_SYN_SENT, TT_CA_LOSS);
	feed_state(e, T0 + 3 * SEC + 20 * MSEC, &k3, TT_TCP_SYN_SENT,
		   TT_TCP_ESTABLISHED, TT_SIDE_CLIENT);
	feed_close_totals(e, T0 + 3500 * MSEC, &k3, TT_TCP_ESTABLISHED,
			  &handshake);
	/* Ticks are every interval; the SYN retransmits alone are not yet
	 * a verdict while the connect still goes on. */
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	engine_tick(e, T0 + 10 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 11 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_PACKET_LOSS) == 0, "got %s", sink_str(&s));
	/* The records count data retransmits the same way. */
	c = conn_of(&cs, &k3);
	EXPECT(c, "no record for the flow with SYN retransmits");
	EXPECT_EQ(c->syn_retrans, 2);
	EXPECT_EQ(c->retrans, 1);
	EXPECT_EQ(c->connect_ns, 3 * SEC + 20 * MSEC);
	c = conn_of(&cs, &k1);
	EXPECT(c && c->retrans == 6, "low-rate flow: retrans %u", c ? c->retrans : 0);
out:
	sink_free(&s);
	conn_sink_free(&cs);
	engine_free(e);
}

/* ---- the NIC's view ---------------------------------------------------- */

/*
 * A record of nic_flows as bpf/nic.bpf.c leaves it for a flow whose SYNs
 * left and nothing came back: "syns" SYNs out, a second apart from T0.
 */
static struct nic_flow nic_syns_out(__u32 syns)
{
	struct nic_flow nf;

	memset(&nf, 0, sizeof(nf));
	nf.dir[NIC_OUT].syn = syns;
	nf.dir[NIC_OUT].pkts = syns;
	if (syns) {
		nf.dir[NIC_OUT].first_ns = T0;
		nf.dir[NIC_OUT].last_ns = T0 + (syns - 1) * SEC;
	}
	return nf;
}

/* ... and "count" ICMP errors of one kind quoting them, sent by router. An
 * ICMP error is no TCP segment: the inbound counts stay as they are. */
static void nic_add_icmp(struct nic_flow *nf, __u16 family,
			 enum nic_icmp_kind kind, __u32 count, const char *router)
{
	nf->icmp.count[kind] += count;
	nf->icmp.last_ns = T0 + 3 * SEC;
	memset(nf->icmp.from, 0, sizeof(nf->icmp.from));
	inet_pton(family == TT_AF_INET6 ? AF_INET6 : AF_INET, router,
		  nf->icmp.from);
}

/* connect() at T0, then the SYN retransmitted once a second, n times. */
static void feed_syn_sent(struct engine *e, const struct flow_key *k, int n)
{
	int i;

	feed_connect(e, T0, k);
	for (i = 1; i <= n; i++)
		feed_retrans(e, T0 + i * SEC, k, TT_TCP_SYN_SENT, TT_CA_LOSS);
}

/* A data retransmit of seg_len bytes (the MSS is 1448) on an established flow. */
static void feed_retrans_seg(struct engine *e, __u64 ts, const struct flow_key *k,
			     __u8 ca_state, __u32 seg_len)
{
	struct tt_event ev = mkev(EV_RETRANS, ts, k);

	ev.state = TT_TCP_ESTABLISHED;
	ev.ca_state = ca_state;
	ev.seg_len = seg_len;
	ev.mss = 1448;
	ev.srtt_us = 20000;
	engine_on_event(e, &ev);
}

static bool same_key(const struct flow_key *a, const struct flow_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/*
 * An ICMP error of one kind answers the SYNs of a connect to k: SYNs at 0,
 * 1 and 2 s, the router's answer counted by the NIC at 3.05 s (its ARP/ND
 * gave up after 3 s). Want exactly one diagnosis, code "want", naming the
 * router, and never SYN_UNANSWERED, also long past the ICMP grace and
 * after the kernel ends the connect with EHOSTUNREACH.
 */
static void run_icmp_case(struct test *t, const struct flow_key *k,
			  enum nic_icmp_kind kind, __u32 count,
			  const char *router, enum diag_code want,
			  const char *summary_has)
{
	struct engine *e = new_engine();
	struct nic_flow nf = nic_syns_out(3);
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	char check[128];

	feed_syn_sent(e, k, 2);
	nic_add_icmp(&nf, k->family, kind, count, router);
	engine_on_nic(e, k, &nf, T0 + 3050 * MSEC);
	engine_tick(e, T0 + 3050 * MSEC, sink_fn, &s);
	EXPECT(s.n == 1, "want %s at once, got %s", diag_code_name(want),
	       sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT(d->code == want, "want %s, got %s", diag_code_name(want),
	       sink_str(&s));
	EXPECT_EQ(d->severity, SEV_ERROR);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(same_key(&d->key, k), "key is not the flow's");
	EXPECT_EQ(d->pid, 4242);
	EXPECT_EQ(d->connections, 1);
	EXPECT_EQ(d->app_error, 0);
	EXPECT(!strcmp(w->reason, router), "reason \"%s\", want \"%s\"",
	       w->reason, router);
	EXPECT(ev_is(d, "icmp_errors", count), "icmp_errors %lld",
	       ev_val(d, "icmp_errors"));
	EXPECT(ev_is(d, "syns_sent", 3), "syns_sent %lld", ev_val(d, "syns_sent"));
	EXPECT(ev_is(d, "nic_syns_out", 3), "nic_syns_out %lld",
	       ev_val(d, "nic_syns_out"));
	EXPECT(strstr(w->summary, router), "summary does not name %s: %s",
	       router, w->summary);
	EXPECT(strstr(w->summary, summary_has), "summary: %s", w->summary);
	snprintf(check, sizeof(check), "on %s: ", router);
	EXPECT(any_check_has(w, check), "no check on the router: %s", w->checks[0]);

	/* The connect is still open past the grace: the answer stands. */
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	engine_tick(e, T0 + 6 * SEC, sink_fn, &s);
	/* The kernel ends it (tcp_v4_err/tcp_v6_err: sk_err, then tcp_done). */
	feed_sk_error(e, T0 + 6100 * MSEC, k, TT_TCP_SYN_SENT, EHOSTUNREACH);
	feed_state(e, T0 + 6100 * MSEC, k, TT_TCP_SYN_SENT, TT_TCP_CLOSE, 0);
	engine_tick(e, T0 + 7 * SEC, sink_fn, &s);
	engine_tick(e, T0 + 70 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 80 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_SYN_UNANSWERED) == 0,
	       "an ICMP error is an answer: %s", sink_str(&s));
	EXPECT(s.n == 1, "want %s alone, got %s", diag_code_name(want),
	       sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_host_unreachable(struct test *t)
{
	struct flow_key k = client_key(43500);

	run_icmp_case(t, &k, NIC_ICMP_HOST_UNREACH, 1, "10.0.1.1",
		      DIAG_HOST_UNREACHABLE,
		      "router 10.0.1.1 answered our SYN to 10.0.2.10:8080 with "
		      "ICMP host unreachable (once)");
}

/* The usual order: the ICMP error aborts the connect at once, and the close
 * is among the events consumed before the NIC is read. */
static void test_host_unreachable_closed(struct test *t)
{
	struct flow_key k = client_key(43509);
	struct nic_flow nf = nic_syns_out(3);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_syn_sent(e, &k, 2);
	feed_sk_error(e, T0 + 3 * SEC, &k, TT_TCP_SYN_SENT, EHOSTUNREACH);
	feed_state(e, T0 + 3 * SEC, &k, TT_TCP_SYN_SENT, TT_TCP_CLOSE, 0);
	nic_add_icmp(&nf, TT_AF_INET, NIC_ICMP_HOST_UNREACH, 1, "10.0.1.1");
	engine_on_nic(e, &k, &nf, T0 + 3050 * MSEC);
	engine_tick(e, T0 + 3050 * MSEC, sink_fn, &s);
	engine_tick(e, T0 + 10 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 11 * SEC, sink_fn, &s);
	d = find_code(&s, DIAG_HOST_UNREACHABLE);
	w = words_of(&s, d);
	EXPECT(s.n == 1 && d, "want HOST_UNREACHABLE alone, got %s", sink_str(&s));
	EXPECT_EQ(d->app_error, EHOSTUNREACH);
	EXPECT(!strcmp(w->reason, "10.0.1.1"), "reason \"%s\"", w->reason);
	EXPECT(strstr(w->summary, "router 10.0.1.1 answered our SYN to "
		      "10.0.2.10:8080"), "summary: %s", w->summary);
	EXPECT(any_check_has(w, "on 10.0.1.1: ip neigh show 10.0.2.10"),
	       "checks: %s", w->checks[0]);
out:
	sink_free(&s);
	engine_free(e);
}

/* No NIC view: the connect closed on EHOSTUNREACH after SYN retransmits. An
 * ICMP error came back, so it is not "unanswered"; the router is unknown. */
static void test_host_unreachable_no_nic(struct test *t)
{
	struct flow_key k = client_key(43510);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_syn_sent(e, &k, 2);
	feed_sk_error(e, T0 + 3 * SEC, &k, TT_TCP_SYN_SENT, EHOSTUNREACH);
	feed_state(e, T0 + 3 * SEC, &k, TT_TCP_SYN_SENT, TT_TCP_CLOSE, 0);
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 11 * SEC, sink_fn, &s);
	d = find_code(&s, DIAG_HOST_UNREACHABLE);
	w = words_of(&s, d);
	EXPECT(s.n == 1 && d, "want HOST_UNREACHABLE alone, got %s", sink_str(&s));
	EXPECT_EQ(d->app_error, EHOSTUNREACH);
	EXPECT(!w->reason[0], "a router named without the NIC: \"%s\"", w->reason);
	EXPECT(strstr(w->summary, "ended on an ICMP host unreachable error"),
	       "summary: %s", w->summary);
out:
	sink_free(&s);
	engine_free(e);
}

/* Egress hooks only (--no-ingress): an empty inbound count proves nothing,
 * so the verdict does not claim that nothing reached the NIC. */
static void test_syn_unanswered_no_ingress(struct test *t)
{
	struct flow_key k = client_key(43520);
	struct nic_flow nf = nic_syns_out(3);
	struct engine_config cfg;
	struct engine *e;
	struct sink s = {0};

	engine_config_default(&cfg);
	cfg.nic_ingress = false;
	e = engine_new(&cfg);
	feed_syn_sent(e, &k, 2);
	engine_on_nic(e, &k, &nf, T0 + 3 * SEC);
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && s.d[0].code == DIAG_SYN_UNANSWERED, "got %s", sink_str(&s));
	EXPECT(!diag_evidence_get(&s.d[0], "nic_packets_in", NULL),
	       "NIC arrival evidence without ingress hooks");
	EXPECT(!strstr(s.w[0].summary, "NIC"), "summary: %s", s.w[0].summary);
out:
	sink_free(&s);
	engine_free(e);
}

static void test_host_unreachable_ipv6(struct test *t)
{
	struct flow_key k = key6("fd00:1::5", 43501, "fd00:2::10", 8080);

	run_icmp_case(t, &k, NIC_ICMP_HOST_UNREACH, 1, "fd00:1::1",
		      DIAG_HOST_UNREACHABLE,
		      "router fd00:1::1 answered our SYN to [fd00:2::10]:8080 "
		      "with ICMP host unreachable");
}

/* The same SYNs with no ICMP error: SYN_UNANSWERED, and no ICMP verdict. */
static void test_host_unreachable_healthy(struct test *t)
{
	struct flow_key k = client_key(43502);
	struct nic_flow nf = nic_syns_out(3);
	struct engine *e = new_engine();
	struct sink s = {0};

	feed_syn_sent(e, &k, 2);
	/* ICMP of the kinds that are not "unreachable" for a SYN say nothing
	 * of a router's route or neighbour. */
	nic_add_icmp(&nf, TT_AF_INET, NIC_ICMP_FRAG_NEEDED, 1, "10.0.1.1");
	engine_on_nic(e, &k, &nf, T0 + 3050 * MSEC);
	engine_tick(e, T0 + 3050 * MSEC, sink_fn, &s);
	EXPECT(s.n == 0, "within the ICMP grace: %s", sink_str(&s));
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 5 * SEC, sink_fn, &s);
	EXPECT(s.n == 1 && s.d[0].code == DIAG_SYN_UNANSWERED, "got %s",
	       sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_firewall_reject(struct test *t)
{
	struct flow_key k = client_key(43503);

	run_icmp_case(t, &k, NIC_ICMP_ADMIN_PROHIBITED, 2, "10.0.2.1",
		      DIAG_FIREWALL_REJECT,
		      "10.0.2.1 answered our SYN to 10.0.2.10:8080 with ICMP "
		      "administratively prohibited (2 times): a firewall there "
		      "rejects tcp/8080");
}

static void test_firewall_reject_ipv6(struct test *t)
{
	struct flow_key k = key6("fd00:1::5", 43504, "fd00:2::10", 8080);

	run_icmp_case(t, &k, NIC_ICMP_ADMIN_PROHIBITED, 1, "fd00:2::1",
		      DIAG_FIREWALL_REJECT,
		      "fd00:2::1 answered our SYN to [fd00:2::10]:8080 with ICMP "
		      "administratively prohibited (once)");
}

static void test_no_route_icmp(struct test *t)
{
	struct flow_key k = client_key(43505);

	run_icmp_case(t, &k, NIC_ICMP_NET_UNREACH, 1, "10.0.1.1", DIAG_NO_ROUTE,
		      "router 10.0.1.1 answered our SYN to 10.0.2.10:8080 with "
		      "ICMP network unreachable (once): it has no route to "
		      "10.0.2.10");
}

static void test_no_route_icmp_ipv6(struct test *t)
{
	struct flow_key k = key6("fd00:1::5", 43506, "fd00:2::10", 8080);

	run_icmp_case(t, &k, NIC_ICMP_NET_UNREACH, 3, "fd00:1::1", DIAG_NO_ROUTE,
		      "router fd00:1::1 answered our SYN to [fd00:2::10]:8080 "
		      "with ICMP network unreachable (3 times)");
}

/*
 * ICMP verdicts are about the handshake: an established flow that got an
 * ICMP error (a route flapped, the retransmit went through) gets none.
 * And when a router says both, "prohibited" is the more specific word.
 */
static void test_icmp_established_healthy(struct test *t)
{
	static const enum nic_icmp_kind kinds[] = {
		NIC_ICMP_NET_UNREACH, NIC_ICMP_HOST_UNREACH,
		NIC_ICMP_ADMIN_PROHIBITED,
	};
	struct flow_key k = client_key(43507), k2 = client_key(43508);
	struct sockview v = { .sent = 100, .rcvd = 200, .read = 200 };
	struct engine *e = new_engine();
	struct nic_flow nf;
	struct sink s = {0};
	unsigned int i;

	feed_client_open(e, T0, &k);
	feed_scan(e, T0 + 1 * SEC, &k, &v);
	engine_scan_end(e, T0 + 1 * SEC);
	memset(&nf, 0, sizeof(nf));
	nf.dir[NIC_OUT].syn = 1;
	nf.dir[NIC_IN].synack = 1;
	nf.dir[NIC_IN].pkts = 3;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		nic_add_icmp(&nf, TT_AF_INET, kinds[i], 1, "10.0.1.1");
	engine_on_nic(e, &k, &nf, T0 + 1 * SEC);
	engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 2 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "established flow diagnosed: %s", sink_str(&s));

	/* Prohibited and host unreachable on one connect: FIREWALL_REJECT. */
	engine_free(e);
	e = new_engine();
	feed_syn_sent(e, &k2, 1);
	nf = nic_syns_out(2);
	nic_add_icmp(&nf, TT_AF_INET, NIC_ICMP_HOST_UNREACH, 1, "10.0.1.1");
	nic_add_icmp(&nf, TT_AF_INET, NIC_ICMP_ADMIN_PROHIBITED, 1, "10.0.1.1");
	engine_on_nic(e, &k2, &nf, T0 + 1500 * MSEC);
	engine_tick(e, T0 + 1500 * MSEC, sink_fn, &s);
	EXPECT(s.n == 1 && s.d[0].code == DIAG_FIREWALL_REJECT, "got %s",
	       sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* The NIC saw every SYN leave and nothing of the flow come back. */
static void test_syn_unanswered_nic(struct test *t)
{
	struct flow_key k = client_key(43510);
	struct nic_flow nf = nic_syns_out(3);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_syn_sent(e, &k, 2);
	engine_on_nic(e, &k, &nf, T0 + 3 * SEC);
	engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "within the ICMP grace: %s", sink_str(&s));
	engine_on_nic(e, &k, &nf, T0 + 4 * SEC);
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_SYN_UNANSWERED);
	EXPECT(same_key(&d->key, &k), "key is not the flow's");
	EXPECT(ev_is(d, "syns_sent", 3), "syns_sent %lld", ev_val(d, "syns_sent"));
	EXPECT(ev_is(d, "nic_syns_out", 3), "nic_syns_out %lld",
	       ev_val(d, "nic_syns_out"));
	EXPECT(ev_is(d, "nic_packets_in", 0), "nic_packets_in %lld",
	       ev_val(d, "nic_packets_in"));
	EXPECT(strstr(w->summary, "(3 seen leaving the NIC)") &&
	       strstr(w->summary, "reached the NIC"), "summary: %s", w->summary);
out:
	sink_free(&s);
	engine_free(e);
}

/* Something came back to the NIC: whatever it was, the SYN was answered. */
static void test_syn_unanswered_nic_answered(struct test *t)
{
	static const char *what[] = { "RST", "SYN-ACK" };
	struct engine *e = NULL;
	struct sink s = {0};
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct flow_key k = client_key(43511 + i);
		struct nic_flow nf = nic_syns_out(3);

		sink_free(&s);
		engine_free(e);
		e = new_engine();
		feed_syn_sent(e, &k, 2);
		if (i == 0)
			nf.dir[NIC_IN].rst = 3;
		else
			nf.dir[NIC_IN].synack = 3;
		nf.dir[NIC_IN].pkts = 3;
		engine_on_nic(e, &k, &nf, T0 + 2500 * MSEC);
		engine_tick(e, T0 + 3 * SEC, sink_fn, &s);
		engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
		engine_tick(e, T0 + 10 * SEC, sink_fn, &s);
		engine_finish(e, T0 + 11 * SEC, sink_fn, &s);
		EXPECT(count_code(&s, DIAG_SYN_UNANSWERED) == 0,
		       "a %s reached the NIC, still %s", what[i], sink_str(&s));
	}
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * The SYN-ACKs reached the NIC and the socket still retransmits its SYN:
 * this host's own stack dropped them, even with no drop event to say why.
 */
static void test_local_drop_synack_nic(struct test *t)
{
	struct flow_key k = client_key(43520);
	struct nic_flow nf = nic_syns_out(2);
	struct engine *e = new_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;
	unsigned int i;

	feed_connect(e, T0, &k);
	/* The first SYN-ACK is at the NIC, the socket may not have it yet. */
	nf.dir[NIC_OUT].syn = 1;
	nf.dir[NIC_IN].synack = 1;
	nf.dir[NIC_IN].pkts = 1;
	engine_on_nic(e, &k, &nf, T0 + 500 * MSEC);
	engine_tick(e, T0 + 500 * MSEC, sink_fn, &s);
	EXPECT(s.n == 0, "no SYN retransmit yet: %s", sink_str(&s));

	feed_retrans(e, T0 + 1 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	nf.dir[NIC_OUT].syn = 2;
	nf.dir[NIC_IN].synack = 2;
	nf.dir[NIC_IN].pkts = 2;
	engine_on_nic(e, &k, &nf, T0 + 1500 * MSEC);
	engine_tick(e, T0 + 1500 * MSEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_LOCAL_DROP);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(same_key(&d->key, &k), "key is not the flow's");
	EXPECT_EQ(d->pid, 4242);
	EXPECT(ev_is(d, "nic_synacks_in", 2), "nic_synacks_in %lld",
	       ev_val(d, "nic_synacks_in"));
	EXPECT(ev_is(d, "syn_retrans", 1), "syn_retrans %lld",
	       ev_val(d, "syn_retrans"));
	EXPECT(!strcmp(w->reason, "no drop reason reported"), "reason \"%s\"",
	       w->reason);
	EXPECT(strstr(w->summary, "2 SYN-ACKs from 10.0.2.10:8080 reached this "
		      "host and were dropped by its own stack"),
	       "summary: %s", w->summary);
	for (i = 0; i < w->n_causes; i++)
		EXPECT(!strstr(w->causes[i], "with reason no drop reason"),
		       "cause reads: %s", w->causes[i]);
	/* More retransmits, more dropped answers: still the one diagnosis. */
	feed_retrans(e, T0 + 3 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	nf.dir[NIC_OUT].syn = 3;
	nf.dir[NIC_IN].synack = 3;
	engine_on_nic(e, &k, &nf, T0 + 4 * SEC);
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 80 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "want LOCAL_DROP alone, got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* A SYN-ACK lost inside once, the next one got through: the connect
 * completed, nothing to say. */
static void test_local_drop_synack_nic_established(struct test *t)
{
	struct flow_key k = client_key(43521);
	struct nic_flow nf = nic_syns_out(2);
	struct engine *e = new_engine();
	struct sink s = {0};

	feed_connect(e, T0, &k);
	feed_retrans(e, T0 + 1 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	feed_state(e, T0 + 1010 * MSEC, &k, TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
		   TT_SIDE_CLIENT);
	nf.dir[NIC_IN].synack = 2;
	nf.dir[NIC_IN].pkts = 2;
	engine_on_nic(e, &k, &nf, T0 + 1500 * MSEC);
	engine_tick(e, T0 + 1500 * MSEC, sink_fn, &s);
	engine_finish(e, T0 + 10 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "a completed connect diagnosed: %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* kfree_skb named the reason: one LOCAL_DROP, with that reason, not a
 * second one from the NIC's count. */
static void test_local_drop_synack_nic_and_drop(struct test *t)
{
	struct flow_key k = client_key(43522);
	struct nic_flow nf = nic_syns_out(2);
	struct engine *e = new_drop_engine();
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_connect(e, T0, &k);
	feed_drop(e, T0 + 1 * MSEC, &k, R_NETFILTER_DROP, true,
		  TT_TCP_SYN | TT_TCP_ACK, 0, TT_SIDE_CLIENT);
	feed_retrans(e, T0 + 1 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	feed_drop(e, T0 + 1001 * MSEC, &k, R_NETFILTER_DROP, true,
		  TT_TCP_SYN | TT_TCP_ACK, 0, TT_SIDE_CLIENT);
	nf.dir[NIC_IN].synack = 2;
	nf.dir[NIC_IN].pkts = 2;
	engine_on_nic(e, &k, &nf, T0 + 1500 * MSEC);
	engine_tick(e, T0 + 1500 * MSEC, sink_fn, &s);
	engine_tick(e, T0 + 70 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 80 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_LOCAL_DROP) == 1 && s.n == 1,
	       "want one LOCAL_DROP, got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT(!strcmp(w->reason, "NETFILTER_DROP"), "reason \"%s\"", w->reason);
	EXPECT(ev_is(d, "drop_reason", R_NETFILTER_DROP), "drop_reason %lld",
	       ev_val(d, "drop_reason"));
	EXPECT(ev_is(d, "drops_inbound", 2), "drops_inbound %lld",
	       ev_val(d, "drops_inbound"));
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * A connect to a DNAT'd address (10.0.2.100:80) whose backend's reply
 * (10.0.2.10:8080) comes back by a path that does not undo the
 * translation. The SYN-ACK's tuple matches no socket: the NIC hooks mark
 * its record stray and note where the port's latest SYN went.
 */
static void run_nat_mismatch(struct test *t, const struct flow_key *k,
			     const struct flow_key *reply, const char *want_reason,
			     const char *summary_has)
{
	struct engine *e = new_engine();
	struct nic_flow nf = nic_syns_out(3), stray;
	struct engine_stats st;
	struct tt_event ev;
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_syn_sent(e, k, 2);
	/* This host resets each stray SYN-ACK: no socket owns its tuple. */
	ev = mkev(EV_RST_TX, T0 + 1 * MSEC, reply);
	ev.flags = EVF_NO_SOCKET;
	engine_on_event(e, &ev);

	memset(&stray, 0, sizeof(stray));
	stray.flags = NIC_F_STRAY_SYNACK | NIC_F_SYN_MATCHED;
	memcpy(stray.syn_raddr, k->raddr, sizeof(stray.syn_raddr));
	stray.syn_rport = k->rport;
	stray.dir[NIC_IN].synack = 2;
	stray.dir[NIC_IN].pkts = 2;
	stray.dir[NIC_OUT].rst = 2;
	stray.dir[NIC_OUT].pkts = 2;
	/* A map walk has no order: the stray record first. */
	engine_on_nic(e, reply, &stray, T0 + 2500 * MSEC);
	engine_on_nic(e, k, &nf, T0 + 2500 * MSEC);
	engine_tick(e, T0 + 2500 * MSEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_NAT_MISMATCH);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(same_key(&d->key, k), "not the original flow's key");
	EXPECT_EQ(d->pid, 4242);
	EXPECT(!strcmp(w->reason, want_reason), "reason \"%s\", want \"%s\"",
	       w->reason, want_reason);
	EXPECT(ev_is(d, "stray_synacks", 2), "stray_synacks %lld",
	       ev_val(d, "stray_synacks"));
	EXPECT(ev_is(d, "reply_rport", 8080), "reply_rport %lld",
	       ev_val(d, "reply_rport"));
	EXPECT(ev_is(d, "syns_sent", 3), "syns_sent %lld", ev_val(d, "syns_sent"));
	EXPECT(strstr(w->summary, summary_has), "summary: %s", w->summary);
	engine_get_stats(e, &st);
	EXPECT(st.flows == 1, "the stray tuple made a flow: %llu flows",
	       (unsigned long long)st.flows);
	/* The connect times out later: still only the mismatch. */
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	engine_tick(e, T0 + 10 * SEC, sink_fn, &s);
	feed_sk_error(e, T0 + 20 * SEC, k, TT_TCP_SYN_SENT, ETIMEDOUT);
	feed_state(e, T0 + 20 * SEC, k, TT_TCP_SYN_SENT, TT_TCP_CLOSE, 0);
	engine_tick(e, T0 + 21 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 90 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_SYN_UNANSWERED) == 0,
	       "the SYN was answered, from elsewhere: %s", sink_str(&s));
	EXPECT(s.n == 1, "want NAT_MISMATCH alone, got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_nat_mismatch(struct test *t)
{
	struct flow_key k = key4("10.0.1.5", 43530, "10.0.2.100", 80);
	struct flow_key reply = key4("10.0.1.5", 43530, "10.0.2.10", 8080);

	run_nat_mismatch(t, &k, &reply, "10.0.2.10:8080",
			 "our SYN went to 10.0.2.100:80 but the SYN-ACK came back "
			 "from 10.0.2.10:8080 (2 times)");
}

static void test_nat_mismatch_ipv6(struct test *t)
{
	struct flow_key k = key6("fd00:1::5", 43531, "fd00:2::100", 80);
	struct flow_key reply = key6("fd00:1::5", 43531, "fd00:2::10", 8080);

	run_nat_mismatch(t, &k, &reply, "[fd00:2::10]:8080",
			 "our SYN went to [fd00:2::100]:80 but the SYN-ACK came "
			 "back from [fd00:2::10]:8080");
}

/*
 * Stray SYN-ACKs that name no SYN of a connect in progress say nothing: the
 * SYN is not known (left before the hooks, evicted), or it named a flow we
 * do not hold, or one that is established.
 */
static void test_nat_mismatch_healthy(struct test *t)
{
	struct flow_key k = key4("10.0.1.5", 43532, "10.0.2.100", 80);
	struct flow_key reply = key4("10.0.1.5", 43532, "10.0.2.10", 8080);
	struct flow_key est = key4("10.0.1.5", 43533, "10.0.2.100", 80);
	struct flow_key est_reply = key4("10.0.1.5", 43533, "10.0.2.10", 8080);
	struct flow_key gone_reply = key4("10.0.1.5", 43534, "10.0.2.10", 8080);
	struct engine *e = new_engine();
	struct engine_stats st;
	struct nic_flow nf;
	struct sink s = {0};

	feed_connect(e, T0, &k);
	feed_client_open(e, T0, &est);
	memset(&nf, 0, sizeof(nf));
	nf.dir[NIC_IN].synack = 2;
	nf.dir[NIC_IN].pkts = 2;
	/* Stray, SYN not known: without NIC_F_SYN_MATCHED syn_raddr and
	 * syn_rport mean nothing, even when they happen to name the connect. */
	nf.flags = NIC_F_STRAY_SYNACK;
	memcpy(nf.syn_raddr, k.raddr, sizeof(nf.syn_raddr));
	nf.syn_rport = k.rport;
	engine_on_nic(e, &reply, &nf, T0 + 500 * MSEC);
	/* Matched to a SYN whose flow is established. */
	nf.flags = NIC_F_STRAY_SYNACK | NIC_F_SYN_MATCHED;
	memcpy(nf.syn_raddr, est.raddr, sizeof(nf.syn_raddr));
	nf.syn_rport = 80;
	engine_on_nic(e, &est_reply, &nf, T0 + 500 * MSEC);
	/* Matched to a SYN of a flow we never saw. */
	engine_on_nic(e, &gone_reply, &nf, T0 + 500 * MSEC);
	engine_tick(e, T0 + 500 * MSEC, sink_fn, &s);
	EXPECT(s.n == 0, "got %s", sink_str(&s));
	engine_get_stats(e, &st);
	EXPECT(st.flows == 2, "stray records made flows: %llu",
	       (unsigned long long)st.flows);
	/* Not tied to it, the connect is judged on its own. */
	feed_retrans(e, T0 + 1 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	feed_retrans(e, T0 + 2 * SEC, &k, TT_TCP_SYN_SENT, TT_CA_LOSS);
	engine_tick(e, T0 + 4 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 5 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_NAT_MISMATCH) == 0, "got %s", sink_str(&s));
	EXPECT(s.n == 1 && s.d[0].code == DIAG_SYN_UNANSWERED, "got %s",
	       sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * A path MTU black hole: a 300-byte request header got through, the body's
 * first full-size segment never does. The RTO backs off (0.3, 0.7, 1.5 s)
 * and snd_una stays where it is. sent/unacked as in struct sockview.
 */
static struct sockview pmtu_view(__u32 total_retrans, __u64 unacked)
{
	struct sockview v = { .sent = 30000, .unacked = unacked,
			      .total_retrans = total_retrans };

	return v;
}

static void feed_pmtu_scan(struct engine *e, __u64 now, const struct flow_key *k,
			   const struct sockview *v, struct sink *s)
{
	feed_scan(e, now, k, v);
	engine_scan_end(e, now);
	engine_tick(e, now, sink_fn, s);
}

static void run_pmtu_blackhole(struct test *t, const struct flow_key *k,
			       const char *router, __u32 too_big)
{
	struct engine *e = new_engine();
	struct sockview v;
	struct nic_flow nf;
	struct sink s = {0};
	const struct diagnosis *d;
	const struct diag_words *w;

	feed_client_open(e, T0, k);
	feed_retrans_seg(e, T0 + 300 * MSEC, k, TT_CA_LOSS, 1448);
	feed_retrans_seg(e, T0 + 700 * MSEC, k, TT_CA_LOSS, 1448);
	v = pmtu_view(2, 29700);
	feed_pmtu_scan(e, T0 + 1 * SEC, k, &v, &s);
	EXPECT(s.n == 0, "judged before the black hole shows: %s", sink_str(&s));

	feed_retrans_seg(e, T0 + 1500 * MSEC, k, TT_CA_LOSS, 1448);
	memset(&nf, 0, sizeof(nf));
	nf.dir[NIC_OUT].syn = 1;
	nf.dir[NIC_OUT].pkts = 12;
	nf.dir[NIC_OUT].data_segs = 6;
	nf.dir[NIC_OUT].max_seg = 1448;
	nf.dir[NIC_IN].synack = 1;
	nf.dir[NIC_IN].pkts = 4;
	if (too_big)
		nic_add_icmp(&nf, k->family, k->family == TT_AF_INET6 ?
			     NIC_ICMP_PKT_TOO_BIG : NIC_ICMP_FRAG_NEEDED,
			     too_big, router);
	nf.icmp.mtu = too_big ? 1280 : 0;
	engine_on_nic(e, k, &nf, T0 + 2 * SEC);
	v = pmtu_view(3, 29700);
	feed_pmtu_scan(e, T0 + 2 * SEC, k, &v, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
	d = &s.d[0];
	w = words_of(&s, d);
	EXPECT_EQ(d->code, DIAG_PMTU_BLACKHOLE);
	EXPECT_EQ(d->severity, SEV_ERROR);
	EXPECT_EQ(d->side, TT_SIDE_CLIENT);
	EXPECT(same_key(&d->key, k), "key is not the flow's");
	EXPECT(ev_is(d, "full_size_retrans", 3), "full_size_retrans %lld",
	       ev_val(d, "full_size_retrans"));
	EXPECT(ev_is(d, "small_retrans", 0), "small_retrans");
	EXPECT(ev_is(d, "rto_retrans", 3), "rto_retrans %lld",
	       ev_val(d, "rto_retrans"));
	EXPECT(ev_is(d, "mss", 1448), "mss %lld", ev_val(d, "mss"));
	EXPECT(ev_is(d, "nic_max_seg_out", 1448), "nic_max_seg_out %lld",
	       ev_val(d, "nic_max_seg_out"));
	EXPECT(ev_is(d, "bytes_acked", 300), "bytes_acked %lld",
	       ev_val(d, "bytes_acked"));
	EXPECT(ev_is(d, "icmp_too_big", too_big), "icmp_too_big %lld",
	       ev_val(d, "icmp_too_big"));
	EXPECT(ev_is(d, "icmp_mtu", too_big ? 1280 : 0), "icmp_mtu %lld",
	       ev_val(d, "icmp_mtu"));
	EXPECT(strstr(w->summary, "full-size segments (1448 bytes)") &&
	       strstr(w->summary, "retransmitted 3 times with no progress"),
	       "summary: %s", w->summary);
	EXPECT(strstr(w->summary, too_big ? "though its ICMP too-big did arrive" :
				  "the ICMP that would say so never arrives"),
	       "summary: %s", w->summary);

	/* It goes on the same way until the application gives up: one
	 * diagnosis, and never also PACKET_LOSS. */
	feed_retrans_seg(e, T0 + 3100 * MSEC, k, TT_CA_LOSS, 1448);
	v = pmtu_view(4, 29700);
	feed_pmtu_scan(e, T0 + 3 * SEC, k, &v, &s);
	feed_pmtu_scan(e, T0 + 4 * SEC, k, &v, &s);
	feed_state(e, T0 + 5 * SEC, k, TT_TCP_ESTABLISHED, TT_TCP_CLOSE, 0);
	engine_tick(e, T0 + 5 * SEC, sink_fn, &s);
	engine_finish(e, T0 + 20 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_PACKET_LOSS) == 0, "got %s", sink_str(&s));
	EXPECT(s.n == 1, "want PMTU_BLACKHOLE alone, got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_pmtu_blackhole(struct test *t)
{
	struct flow_key k = client_key(43540);

	run_pmtu_blackhole(t, &k, "10.0.1.1", 0);
}

static void test_pmtu_blackhole_ipv6(struct test *t)
{
	struct flow_key k = key6("fd00:1::5", 43541, "fd00:2::10", 8080);

	run_pmtu_blackhole(t, &k, "fd00:1::1", 2);
}

/*
 * The first snapshot came before the body left (a loaded host scans late
 * after the open, or early in it): nothing was in flight then, and the
 * body's head has been stuck since. Still a black hole, not PACKET_LOSS
 * (the lab saw that under load).
 */
static void test_pmtu_blackhole_first_scan_idle(struct test *t)
{
	struct flow_key k = client_key(43543);
	struct engine *e = new_engine();
	struct sockview v;
	struct sink s = {0};

	feed_client_open(e, T0, &k);
	v = pmtu_view(0, 0);
	v.sent = 300;
	feed_pmtu_scan(e, T0 + 100 * MSEC, &k, &v, &s);
	feed_retrans_seg(e, T0 + 300 * MSEC, &k, TT_CA_LOSS, 1448);
	feed_retrans_seg(e, T0 + 700 * MSEC, &k, TT_CA_LOSS, 1448);
	v = pmtu_view(2, 29700);
	feed_pmtu_scan(e, T0 + 1 * SEC, &k, &v, &s);
	feed_retrans_seg(e, T0 + 1500 * MSEC, &k, TT_CA_LOSS, 1448);
	v = pmtu_view(3, 29700);
	feed_pmtu_scan(e, T0 + 2 * SEC, &k, &v, &s);
	feed_pmtu_scan(e, T0 + 3 * SEC, &k, &v, &s);
	engine_finish(e, T0 + 4 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_PACKET_LOSS) == 0, "got %s", sink_str(&s));
	EXPECT(s.n == 1 && s.d[0].code == DIAG_PMTU_BLACKHOLE, "got %s",
	       sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/* A small segment was retransmitted too: not the size, it is loss. */
static void test_pmtu_small_retrans(struct test *t)
{
	struct flow_key k = client_key(43542);
	struct engine *e = new_engine();
	struct sockview v;
	struct sink s = {0};

	feed_client_open(e, T0, &k);
	feed_retrans_seg(e, T0 + 300 * MSEC, &k, TT_CA_LOSS, 1448);
	feed_retrans_seg(e, T0 + 700 * MSEC, &k, TT_CA_LOSS, 1448);
	feed_retrans_seg(e, T0 + 800 * MSEC, &k, TT_CA_LOSS, 100);
	v = pmtu_view(3, 29700);
	feed_pmtu_scan(e, T0 + 1 * SEC, &k, &v, &s);
	feed_retrans_seg(e, T0 + 1500 * MSEC, &k, TT_CA_LOSS, 1448);
	v = pmtu_view(4, 29700);
	feed_pmtu_scan(e, T0 + 2 * SEC, &k, &v, &s);
	feed_pmtu_scan(e, T0 + 3 * SEC, &k, &v, &s);
	engine_finish(e, T0 + 4 * SEC, sink_fn, &s);
	EXPECT(count_code(&s, DIAG_PMTU_BLACKHOLE) == 0, "got %s", sink_str(&s));
	/* 4 retransmits of 21 data segments: above the loss thresholds,
	 * told on a second of the connection (all four by then). */
	EXPECT(s.n == 1 && s.d[0].code == DIAG_PACKET_LOSS, "got %s",
	       sink_str(&s));
	EXPECT(ev_is(&s.d[0], "rto_retrans", 4), "rto_retrans %lld",
	       ev_val(&s.d[0], "rto_retrans"));
out:
	sink_free(&s);
	engine_free(e);
}

/* Full-size retransmits, but the peer keeps acknowledging: loss on a
 * moving transfer, not a black hole. */
/*
 * Random loss times out on full-size segments too, one RTO at a time, with
 * the peer's ACKs coming back in between. Counted over the flow's life the
 * RTOs add up to a black hole's; counted since the last progress, they do
 * not: no PMTU_BLACKHOLE.
 */
static void test_pmtu_not_across_progress(struct test *t)
{
	struct flow_key k = client_key(43545);
	struct engine *e = new_engine();
	struct sockview v;
	struct sink s = {0};

	feed_client_open(e, T0, &k);
	v = pmtu_view(0, 29000);
	feed_pmtu_scan(e, T0 + 500 * MSEC, &k, &v, &s);
	feed_retrans_seg(e, T0 + 800 * MSEC, &k, TT_CA_LOSS, 1448);
	v = pmtu_view(1, 20000);
	feed_pmtu_scan(e, T0 + 1000 * MSEC, &k, &v, &s);
	feed_retrans_seg(e, T0 + 1300 * MSEC, &k, TT_CA_LOSS, 1448);
	v = pmtu_view(2, 10000);
	feed_pmtu_scan(e, T0 + 1500 * MSEC, &k, &v, &s);
	feed_retrans_seg(e, T0 + 1800 * MSEC, &k, TT_CA_LOSS, 1448);
	feed_retrans_seg(e, T0 + 2200 * MSEC, &k, TT_CA_LOSS, 1448);
	v = pmtu_view(4, 10000);
	for (int i = 0; i < 4; i++)
		feed_pmtu_scan(e, T0 + (2000 + 500 * i) * MSEC, &k, &v, &s);
	EXPECT(count_code(&s, DIAG_PMTU_BLACKHOLE) == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * A bulk stream that moved megabytes in full-size segments, then stalls
 * through three timeouts of the same segment (heavy random loss): the path
 * carries full-size segments, so it is not a black hole.
 */
static void test_pmtu_not_after_full_size_acked(struct test *t)
{
	struct flow_key k = client_key(43546);
	struct engine *e = new_engine();
	struct sockview v = { .sent = 40000000, .unacked = 60000, .total_retrans = 3 };
	struct sink s = {0};

	feed_client_open(e, T0, &k);
	feed_pmtu_scan(e, T0 + 500 * MSEC, &k, &v, &s);
	feed_retrans_seg(e, T0 + 700 * MSEC, &k, TT_CA_LOSS, 1448);
	feed_retrans_seg(e, T0 + 1100 * MSEC, &k, TT_CA_LOSS, 1448);
	feed_retrans_seg(e, T0 + 1900 * MSEC, &k, TT_CA_LOSS, 1448);
	for (int i = 1; i <= 4; i++)
		feed_pmtu_scan(e, T0 + (500 + 500 * i) * MSEC, &k, &v, &s);
	EXPECT(count_code(&s, DIAG_PMTU_BLACKHOLE) == 0, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

static void test_pmtu_progress(struct test *t)
{
	struct flow_key k = client_key(43543);
	struct engine *e = new_engine();
	struct sockview v;
	struct sink s = {0};

	feed_client_open(e, T0, &k);
	feed_retrans_seg(e, T0 + 300 * MSEC, &k, TT_CA_LOSS, 1448);
	feed_retrans_seg(e, T0 + 700 * MSEC, &k, TT_CA_LOSS, 1448);
	v = pmtu_view(2, 29700);
	feed_pmtu_scan(e, T0 + 1 * SEC, &k, &v, &s);
	feed_retrans_seg(e, T0 + 1500 * MSEC, &k, TT_CA_LOSS, 1448);
	v = pmtu_view(3, 20000);
	feed_pmtu_scan(e, T0 + 2 * SEC, &k, &v, &s);
	v = pmtu_view(3, 10000);
	feed_pmtu_scan(e, T0 + 3 * SEC, &k, &v, &s);
	EXPECT(count_code(&s, DIAG_PMTU_BLACKHOLE) == 0, "got %s", sink_str(&s));
	/* 3 retransmits of 21 data segments, while snd_una moves. */
	EXPECT(s.n == 1 && s.d[0].code == DIAG_PACKET_LOSS,
	       "loss with progress and data in flight: got %s", sink_str(&s));
	engine_finish(e, T0 + 4 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * Only full-size segments retransmitted (fast retransmits: never an RTO,
 * so never a black hole) and snd_una stuck: PACKET_LOSS waits. Once the
 * peer acknowledges again, with data still in flight, it is loss.
 */
static void test_packet_loss_held_until_progress(struct test *t)
{
	struct flow_key k = client_key(43544);
	struct engine *e = new_engine();
	struct sockview v;
	struct sink s = {0};
	int i;

	feed_client_open(e, T0, &k);
	for (i = 0; i < 4; i++)
		feed_retrans_seg(e, T0 + (200 + 10 * i) * MSEC, &k,
				 TT_CA_RECOVERY, 1448);
	v = pmtu_view(4, 29700);
	feed_pmtu_scan(e, T0 + 1 * SEC, &k, &v, &s);
	EXPECT(s.n == 0, "first snapshot, nothing acknowledged: %s", sink_str(&s));
	feed_pmtu_scan(e, T0 + 2 * SEC, &k, &v, &s);
	EXPECT(s.n == 0, "snd_una stuck: %s", sink_str(&s));
	v = pmtu_view(4, 15000);
	feed_pmtu_scan(e, T0 + 3 * SEC, &k, &v, &s);
	EXPECT(s.n == 1 && s.d[0].code == DIAG_PACKET_LOSS,
	       "progress resumed: want PACKET_LOSS, got %s", sink_str(&s));
	EXPECT(ev_is(&s.d[0], "fast_retrans", 4), "fast_retrans %lld",
	       ev_val(&s.d[0], "fast_retrans"));
	v = pmtu_view(4, 0);
	feed_pmtu_scan(e, T0 + 4 * SEC, &k, &v, &s);
	engine_finish(e, T0 + 5 * SEC, sink_fn, &s);
	EXPECT(s.n == 1, "want PACKET_LOSS once, got %s", sink_str(&s));

	/* Below the thresholds it stays quiet once progress resumes too. */
	sink_free(&s);
	engine_free(e);
	e = new_engine();
	feed_client_open(e, T0, &k);
	feed_retrans_seg(e, T0 + 200 * MSEC, &k, TT_CA_RECOVERY, 1448);
	v = pmtu_view(1, 29700);
	v.data_segs_out = 200;
	feed_pmtu_scan(e, T0 + 1 * SEC, &k, &v, &s);
	v = pmtu_view(1, 15000);
	v.data_segs_out = 200;
	feed_pmtu_scan(e, T0 + 2 * SEC, &k, &v, &s);
	engine_finish(e, T0 + 3 * SEC, sink_fn, &s);
	EXPECT(s.n == 0, "one retransmit in 200: got %s", sink_str(&s));
out:
	sink_free(&s);
	engine_free(e);
}

/*
 * The iterator met a connect() before its open event reached us (the event
 * was still in the ring buffer when the scan ran): the open event joins
 * the flow the snapshot made, one connection, one record with its start.
 */
static void test_conn_record_scan_before_open(struct test *t)
{
	static const __u8 path[] = { TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
				     TT_TCP_FIN_WAIT1, TT_TCP_FIN_WAIT2,
				     TT_TCP_CLOSE };
	struct totals tot = { .acked = 100, .received = 200, .segs_out = 6,
			      .segs_in = 5, .data_out = 1, .data_in = 1 };
	struct conn_sink cs = {0};
	struct engine *e = NULL;
	struct sink s = {0};
	const struct conn_record *c;
	struct engine_stats st;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		/* The snapshot saw it connecting, or already established. */
		struct sockview seen = { .state = i ? TT_TCP_ESTABLISHED :
						      TT_TCP_SYN_SENT };
		struct sockview later = { .sent = 100, .rcvd = 200, .read = 200 };
		__u64 at = T0 + (i ? 30 : 10) * MSEC;
		struct flow_key k = client_key(43550 + i);

		sink_free(&s);
		conn_sink_free(&cs);
		engine_free(e);
		e = new_conn_engine(&cs, 0);
		feed_scan(e, at, &k, &seen);
		engine_scan_end(e, at);
		engine_tick(e, at, sink_fn, &s);
		feed_connect(e, T0, &k);
		feed_state(e, T0 + 25 * MSEC, &k, TT_TCP_SYN_SENT,
			   TT_TCP_ESTABLISHED, TT_SIDE_CLIENT);
		engine_get_stats(e, &st);
		EXPECT(st.flows == 1, "%s: %llu flows", tt_state_name(seen.state),
		       (unsigned long long)st.flows);
		feed_scan(e, T0 + 1 * SEC, &k, &later);
		engine_scan_end(e, T0 + 1 * SEC);
		engine_tick(e, T0 + 1 * SEC, sink_fn, &s);
		feed_state(e, T0 + 1200 * MSEC, &k, TT_TCP_ESTABLISHED,
			   TT_TCP_FIN_WAIT1, 0);
		feed_state(e, T0 + 1201 * MSEC, &k, TT_TCP_FIN_WAIT1,
			   TT_TCP_FIN_WAIT2, 0);
		feed_close_totals(e, T0 + 1202 * MSEC, &k, TT_TCP_FIN_WAIT2, &tot);
		engine_tick(e, T0 + 2 * SEC, sink_fn, &s);
		engine_tick(e, T0 + 5 * SEC, sink_fn, &s);
		engine_finish(e, T0 + 6 * SEC, sink_fn, &s);
		EXPECT(s.n == 0, "%s: diagnosed %s", tt_state_name(seen.state),
		       sink_str(&s));
		EXPECT(cs.n == 1, "%s: want one record, got %zu",
		       tt_state_name(seen.state), cs.n);
		c = &cs.c[0];
		EXPECT(same_key(&c->key, &k), "key is not the flow's");
		EXPECT(c->start_known, "%s: start not known", tt_state_name(seen.state));
		EXPECT_EQ(c->start_ns, T0);
		EXPECT_EQ(c->side, TT_SIDE_CLIENT);
		EXPECT_EQ(c->pid, 4242);
		EXPECT(c->n_states == sizeof(path) &&
		       !memcmp(c->states, path, sizeof(path)),
		       "%s: state path %s", tt_state_name(seen.state), states_str(c));
		EXPECT_EQ(c->connect_ns, 25 * MSEC);
		EXPECT(c->close_reason && !strcmp(c->close_reason, "fin"),
		       "close_reason %s", c->close_reason ? c->close_reason : "NULL");
		EXPECT_EQ(c->bytes_sent, 100);
		EXPECT_EQ(c->bytes_received, 200);
	}
out:
	sink_free(&s);
	conn_sink_free(&cs);
	engine_free(e);
}

/* ---- runner ----------------------------------------------------------- */

static const struct test_case tests[] = {
	TEST(test_syn_unanswered),
	TEST(test_syn_unanswered_timeout),
	TEST(test_connection_refused),
	TEST(test_refused_after_retrans),
	TEST(test_connection_refused_icmp),
	TEST(test_port_closed),
	TEST(test_no_route),
	TEST(test_peer_reset),
	TEST(test_local_reset),
	TEST(test_local_reset_accepted_by_worker),
	TEST(test_packet_loss_kinds_random),
	TEST(test_packet_loss_one_slow_moment),
	TEST(test_packet_loss_queue_held),
	TEST(test_packet_loss_all_spurious),
	TEST(test_packet_loss_peak_rtt),
	TEST(test_packet_loss),
	TEST(test_packet_loss_waits_for_a_snapshot_with_data),
	TEST(test_packet_loss_low_rate),
	TEST(test_peer_app_stall),
	TEST(test_local_app_stall_not_answering),
	TEST(test_local_app_stall_not_reading),
	TEST(test_slow_reader_healthy),
	TEST(test_zero_window),
	TEST(test_zero_window_brief_healthy),
	TEST(test_healthy_short_requests),
	TEST(test_healthy_idle_keepalive),
	TEST(test_healthy_one_way_stream),
	TEST(test_healthy_slow_server),
	TEST(test_healthy_fin_close),
	TEST(test_synack_retrans_silent),
	TEST(test_fold_refused),
		TEST(test_fold_by_owner),
	TEST(test_flow_table_eviction),
	TEST(test_seq_wraparound),
	TEST(test_unknown_flow),
	TEST(test_ipv6),
	TEST(test_ipv6_syn_unanswered),
	TEST(test_events_lost),
	TEST(test_tuple_reuse),
	TEST(test_flow_gone_without_close),
	TEST(test_scan_left_out_unchanged),
	TEST(test_scan_quiet_bound),
	TEST(test_scan_partial_holds_nothing),
	TEST(test_once_per_flow),
	TEST(test_names),
	TEST(test_catalogue),
	TEST(test_port_closed_from_drops),
	TEST(test_local_drop_synack),
	TEST(test_local_drop_inbound_syn),
	TEST(test_local_drop_outbound_syn),
	TEST(test_local_drop_established),
	TEST(test_local_drop_ignored),
	TEST(test_local_drop_no_table),
	TEST(test_local_drop_no_route),
	TEST(test_listen_overflow_drops),
	TEST(test_listen_overflow_drops_and_scan),
	TEST(test_listen_overflow_scan),
	TEST(test_listen_overflow_healthy),
	TEST(test_conn_record_fin),
	TEST(test_conn_record_path),
	TEST(test_scan_overflow),
	TEST(test_conn_record_refused),
	TEST(test_conn_record_peer_reset),
	TEST(test_conn_record_open),
	TEST(test_conn_record_none),
	TEST(test_conn_record_evicted),
	TEST(test_packet_loss_close_totals),
	TEST(test_packet_loss_close_totals_healthy),
	TEST(test_host_unreachable),
	TEST(test_host_unreachable_closed),
	TEST(test_host_unreachable_no_nic),
	TEST(test_syn_unanswered_no_ingress),
	TEST(test_host_unreachable_ipv6),
	TEST(test_host_unreachable_healthy),
	TEST(test_firewall_reject),
	TEST(test_firewall_reject_ipv6),
	TEST(test_no_route_icmp),
	TEST(test_no_route_icmp_ipv6),
	TEST(test_icmp_established_healthy),
	TEST(test_syn_unanswered_nic),
	TEST(test_syn_unanswered_nic_answered),
	TEST(test_local_drop_synack_nic),
	TEST(test_local_drop_synack_nic_established),
	TEST(test_local_drop_synack_nic_and_drop),
	TEST(test_nat_mismatch),
	TEST(test_nat_mismatch_ipv6),
	TEST(test_nat_mismatch_healthy),
	TEST(test_pmtu_blackhole),
	TEST(test_pmtu_blackhole_ipv6),
	TEST(test_pmtu_blackhole_first_scan_idle),
	TEST(test_pmtu_small_retrans),
	TEST(test_pmtu_progress),
	TEST(test_pmtu_not_across_progress),
	TEST(test_pmtu_not_after_full_size_acked),
	TEST(test_packet_loss_held_until_progress),
	TEST(test_conn_record_scan_before_open),
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
