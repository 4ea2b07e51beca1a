// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of correlate (user/correlate_*.c) on recordings made by the
 * recorder: service-a (10.0.1.5) and service-b (10.0.2.10) each record
 * what their kernel would report of eight connections, one per client
 * port: the SYNs lost between them, dropped by service-b's firewall, the
 * SYN-ACK dropped by service-a's, a DNAT whose reply comes back
 * untranslated, a server that never answers, one that crashes with the
 * request unread, a healthy exchange, and a healthy one through a NAT
 * that rewrote both ends. The join must name each fault's place, pair
 * the NAT-ed ones, align the clocks (one boot; another boot whose clock
 * is 5 s ahead, measured from the handshakes) and say CLOCK when the two
 * recordings share no time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "correlate.h"
#include "pipeline.h"
#include "harness.h"

#define SEC	1000000000ULL
#define MSEC	1000000ULL
#define USEC	1000ULL
#define T0	(1000 * SEC)
#define WALL	(1700000000LL * 1000000000LL)
#define PORT	8080

enum flow_case {
	F_PATH_DROP = 41001,
	F_DROP_SERVER,
	F_DROP_CLIENT,
	F_NAT_BROKEN,
	F_STALL,
	F_CRASH,
	F_HEALTHY,
	F_NAT_OK,
};

static char dir[] = "/tmp/tcptrace-test-correlate.XXXXXX";

static const char *tmp_path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static const char *const reason_names[] = { NULL, "NOT_SPECIFIED", "NO_SOCKET",
					     "NETFILTER_DROP" };
static const __u8 reason_classes[] = { DROP_IGNORE, DROP_IGNORE, DROP_NO_SOCKET, DROP_LOCAL };

static const char *test_reason_name(unsigned int r)
{
	return r < 4 ? reason_names[r] : NULL;
}

static struct flow_key key(const char *laddr, __u16 lport, const char *raddr, __u16 rport)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.netns = 4026531840u;
	k.family = TT_AF_INET;
	k.lport = lport;
	k.rport = rport;
	inet_pton(AF_INET, laddr, k.laddr);
	inet_pton(AF_INET, raddr, k.raddr);
	return k;
}

/* The client's flow of a case, and the server's. */
static struct flow_key ckey(enum flow_case fc)
{
	if (fc == F_NAT_BROKEN)
		return key("10.0.1.5", fc, "10.0.2.100", PORT);
	if (fc == F_NAT_OK)
		return key("10.0.1.5", fc, "10.0.2.100", 80);
	return key("10.0.1.5", fc, "10.0.2.10", PORT);
}

static struct flow_key skey(enum flow_case fc)
{
	/* The rewritten one came through a NAT that changed both ends. */
	if (fc == F_NAT_OK)
		return key("10.0.2.10", PORT, "10.0.9.1", 52000);
	return key("10.0.2.10", PORT, "10.0.1.5", fc);
}

/* ---------------------------------------------------------------- recording a host */

struct host {
	struct recorder *r;
	bool server;		/* service-b */
	__u64 shift;		/* its clock reads the client's plus this */
	__u64 lost;
	__u64 tick_ns;
};

static void host_open(struct host *h, const char *path, bool server, const char *boot,
		      __u64 shift, long long mono_to_real)
{
	static char *argv[] = { "tcptrace-bpf", "-p", "8080", NULL };
	struct engine_config cfg;
	struct options o;
	struct rec_source_info info;

	memset(h, 0, sizeof(*h));
	h->server = server;
	h->shift = shift;
	cli_defaults(&o);
	o.stall_ms = 2000;
	o.port = PORT;
	pipeline_engine_config(&o, &cfg);
	cfg.drop_class = reason_classes;
	cfg.n_drop_class = 4;
	cfg.drop_reason_name = test_reason_name;
	cfg.nic_ingress = true;
	info = (struct rec_source_info){
		.opts = &o, .cfg = &cfg, .drop_reason_name = test_reason_name,
		.mono_to_real_ns = mono_to_real, .argc = 3, .argv = argv,
		.hostname = server ? "service-b" : "service-a", .boot_id = boot,
	};
	h->r = recorder_open(path);
	if (!h->r || recorder_begin(h->r, &info))
		abort();
	recorder_mark(h->r, REC_START, T0 + shift);
}

static struct tt_event ev(struct host *h, __u32 type, __u64 ts, const struct flow_key *k)
{
	struct tt_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.ts_ns = ts + h->shift;
	e.key = *k;
	return e;
}

static void put(struct host *h, const struct tt_event *e)
{
	recorder_event(h->r, e);
}

static void state(struct host *h, __u64 ts, const struct flow_key *k, __u8 from, __u8 to,
		  __u8 side)
{
	struct tt_event e = ev(h, EV_STATE, ts, k);

	e.old_state = from;
	e.state = to;
	e.side = side;
	put(h, &e);
}

/* What one case's client or server reports between T0 and the first tick. */
static void events_of(struct host *h, enum flow_case fc, __u64 t)
{
	struct flow_key c = ckey(fc), s = skey(fc);
	struct tt_event e;

	if (!h->server) {
		state(h, t, &c, TT_TCP_CLOSE, TT_TCP_SYN_SENT, TT_SIDE_CLIENT);
		switch (fc) {
		case F_PATH_DROP:
		case F_DROP_SERVER:
		case F_DROP_CLIENT:
		case F_NAT_BROKEN:
			for (int i = 1; i <= 2; i++) {
				e = ev(h, EV_RETRANS, t + i * SEC, &c);
				e.state = TT_TCP_SYN_SENT;
				put(h, &e);
			}
			if (fc == F_DROP_CLIENT) {
				e = ev(h, EV_DROP, t + 1 * MSEC, &c);
				e.flags = EVF_INBOUND;
				e.tcp_flags = TT_TCP_SYN | TT_TCP_ACK;
				e.reason = 3;
				put(h, &e);
			}
			break;
		default:
			state(h, t + 1 * MSEC, &c, TT_TCP_SYN_SENT, TT_TCP_ESTABLISHED,
			      TT_SIDE_CLIENT);
		}
		if (fc == F_CRASH) {
			e = ev(h, EV_RST_RX, t + 300 * MSEC, &c);
			e.state = TT_TCP_ESTABLISHED;
			put(h, &e);
		}
		return;
	}
	switch (fc) {
	case F_PATH_DROP:
		break;
	case F_DROP_SERVER:
		for (int i = 0; i <= 2; i++) {
			e = ev(h, EV_DROP, t + i * SEC + 300 * USEC, &s);
			e.flags = EVF_INBOUND;
			e.tcp_flags = TT_TCP_SYN;
			e.reason = 3;
			put(h, &e);
		}
		break;
	case F_DROP_CLIENT:
	case F_NAT_BROKEN:
		e = ev(h, EV_SYNACK_RETRANS, t + SEC, &s);
		put(h, &e);
		break;
	default:
		state(h, t + 400 * USEC, &s, TT_TCP_LISTEN, TT_TCP_SYN_RECV, TT_SIDE_SERVER);
		state(h, t + 700 * USEC, &s, TT_TCP_SYN_RECV, TT_TCP_ESTABLISHED, TT_SIDE_SERVER);
	}
	if (fc == F_CRASH) {
		e = ev(h, EV_RST_TX, t + 300 * MSEC, &s);
		e.state = TT_TCP_ESTABLISHED;
		e.reason = 11;
		e.unread = 64;
		put(h, &e);
	}
}

/*
 * The NIC's counts of a case at its host: the client's SYN leaves at t,
 * reaches the server 300 us later; the SYN-ACK leaves 100 us after that
 * and reaches the client 300 us later. Those four times, on each host's
 * clock, are what the clock is measured from.
 */
static bool nic_of(struct host *h, enum flow_case fc, __u64 t, struct flow_key *k,
		   struct nic_flow *nf)
{
	bool lost_on_path = fc == F_PATH_DROP;
	bool answered = fc != F_PATH_DROP && fc != F_DROP_SERVER;
	bool data = fc == F_STALL || fc == F_CRASH || fc == F_HEALTHY || fc == F_NAT_OK;
	__u32 syns = answered && fc != F_DROP_CLIENT && fc != F_NAT_BROKEN ? 1 : 3;

	memset(nf, 0, sizeof(*nf));
	nf->syn_seq = 1000000 + fc;
	if (!h->server) {
		*k = ckey(fc);
		nf->dir[NIC_OUT].syn = syns;
		nf->dir[NIC_OUT].pkts = syns + (data ? 2 : 0);
		nf->dir[NIC_OUT].first_ns = t + h->shift;
		nf->dir[NIC_OUT].last_ns = t + h->shift + SEC;
		if (data) {
			nf->dir[NIC_OUT].data_bytes = 64;
			nf->dir[NIC_OUT].data_segs = 1;
		}
		if (answered && fc != F_NAT_BROKEN) {
			nf->dir[NIC_IN].synack = syns;
			nf->dir[NIC_IN].pkts = syns;
			nf->dir[NIC_IN].first_ns = t + 700 * USEC + h->shift;
			nf->dir[NIC_IN].last_ns = nf->dir[NIC_IN].first_ns;
		}
		if (fc == F_HEALTHY || fc == F_NAT_OK) {
			nf->dir[NIC_IN].data_bytes = 100;
			nf->dir[NIC_IN].data_segs = 1;
		}
		return true;
	}
	if (lost_on_path)
		return false;
	*k = skey(fc);
	nf->dir[NIC_IN].syn = syns;
	nf->dir[NIC_IN].pkts = syns + (data ? 2 : 0);
	nf->dir[NIC_IN].first_ns = t + 300 * USEC + h->shift;
	nf->dir[NIC_IN].last_ns = nf->dir[NIC_IN].first_ns;
	if (data) {
		nf->dir[NIC_IN].data_bytes = 64;
		nf->dir[NIC_IN].data_segs = 1;
	}
	if (answered) {
		nf->dir[NIC_OUT].synack = syns;
		nf->dir[NIC_OUT].pkts = syns;
		nf->dir[NIC_OUT].first_ns = t + 400 * USEC + h->shift;
		nf->dir[NIC_OUT].last_ns = nf->dir[NIC_OUT].first_ns;
	}
	if (fc == F_HEALTHY || fc == F_NAT_OK) {
		nf->dir[NIC_OUT].data_bytes = 100;
		nf->dir[NIC_OUT].data_segs = 1;
	}
	if (fc == F_CRASH)
		nf->dir[NIC_OUT].rst = 1;
	return true;
}

/* The stray SYN-ACK of the broken DNAT, at the client: keyed by its source. */
static void stray_nic(struct host *h, __u64 t, struct flow_key *k, struct nic_flow *nf)
{
	memset(nf, 0, sizeof(*nf));
	*k = key("10.0.1.5", F_NAT_BROKEN, "10.0.2.10", PORT);
	nf->dir[NIC_IN].synack = 3;
	nf->dir[NIC_IN].pkts = 3;
	nf->dir[NIC_IN].first_ns = t + 700 * USEC + h->shift;
	nf->dir[NIC_IN].last_ns = nf->dir[NIC_IN].first_ns + 2 * SEC;
	nf->flags = NIC_F_STRAY_SYNACK | NIC_F_SYN_MATCHED;
	inet_pton(AF_INET, "10.0.2.100", nf->syn_raddr);
	nf->syn_rport = PORT;
}

/* The stalled client's socket: its 64-byte request ACKed, nothing back. */
static void stall_socket(struct host *h, __u64 now)
{
	struct tt_sock_scan s;

	memset(&s, 0, sizeof(s));
	s.key = h->server ? skey(F_STALL) : ckey(F_STALL);
	s.state = TT_TCP_ESTABLISHED;
	s.snd_wnd = s.rcv_wnd = 65535;
	s.srtt_us = 1000;
	s.min_rtt_us = 800;
	s.mss = 1448;
	if (h->server) {
		s.rcv_nxt = s.copied_seq = 5064;
		s.snd_una = s.snd_nxt = s.write_seq = 9000;
		s.bytes_received = 64;
	} else {
		s.snd_una = s.snd_nxt = s.write_seq = 1064;
		s.rcv_nxt = s.copied_seq = 9000;
		s.data_segs_out = 1;
		s.bytes_sent = 64;
		s.bytes_acked = 65;
	}
	recorder_socket(h->r, &s, now);
}

static const enum flow_case cases[] = { F_PATH_DROP, F_DROP_SERVER, F_DROP_CLIENT,
					 F_NAT_BROKEN, F_STALL, F_CRASH, F_HEALTHY, F_NAT_OK };
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* One host's recording of every case; the connections start 10 ms apart at T0 + 100 ms. */
static void record_host(const char *path, bool server, const char *boot, __u64 shift,
			long long mono_to_real, __u64 secs)
{
	struct host h;

	host_open(&h, path, server, boot, shift, mono_to_real);
	for (size_t i = 0; i < N_CASES; i++)
		events_of(&h, cases[i], T0 + 100 * MSEC + i * 10 * MSEC);
	for (__u64 s = 1; s <= secs; s++) {
		__u64 now = T0 + s * SEC + shift;

		if (s == secs)
			recorder_mark(h.r, REC_LOOP_END, now);
		recorder_mark(h.r, REC_TICK, now);
		if (s >= 2)
			stall_socket(&h, now);
		recorder_scan_end(h.r, now);
		for (size_t i = 0; i < N_CASES; i++) {
			struct flow_key k;
			struct nic_flow nf;

			if (nic_of(&h, cases[i], T0 + 100 * MSEC + i * 10 * MSEC, &k, &nf))
				recorder_nic(h.r, &k, &nf, now);
			if (!server && cases[i] == F_NAT_BROKEN) {
				stray_nic(&h, T0 + 100 * MSEC + i * 10 * MSEC, &k, &nf);
				recorder_nic(h.r, &k, &nf, now);
			}
		}
		recorder_lost(h.r, now, 0);
		if (s == secs)
			recorder_mark(h.r, REC_FINISH, now);
	}
	if (!recorder_close(h.r))
		abort();
}

/* ---------------------------------------------------------------- joining */

struct got {
	struct verdict v[32];
	size_t n;
};

static void keep(const struct verdict *v, void *ctx)
{
	struct got *g = ctx;

	if (g->n < sizeof(g->v) / sizeof(g->v[0]))
		g->v[g->n++] = *v;
}

static const struct verdict *verdict_for(const struct got *g, __u16 cport)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].cport == cport)
			return &g->v[i];
	return NULL;
}

static long long ev_of(const struct verdict *v, const char *name)
{
	for (unsigned int i = 0; i < v->n_evidence; i++)
		if (!strcmp(v->evidence[i].name, name))
			return v->evidence[i].value;
	return -1;
}

static int join(const char *pa, const char *pb, struct chost *a, struct chost *b,
		struct corr_result *res, struct got *g)
{
	char *argv[] = { "tcptrace-bpf correlate", (char *)pa, (char *)pb, NULL };
	char why[256];

	memset(g, 0, sizeof(*g));
	if (chost_read(a, pa, 3, argv, why, sizeof(why)) ||
	    chost_read(b, pb, 3, argv, why, sizeof(why))) {
		fprintf(stderr, "chost_read: %s\n", why);
		return -1;
	}
	correlate_join(a, b, res, keep, g);
	return 0;
}

#define EXPECT_VERDICT(g, port, c, w)						\
	do {									\
		const struct verdict *v_ = verdict_for(g, port);		\
		EXPECT(v_, "no verdict for client port %d", port);		\
		EXPECT(v_->code == (c) && v_->where == (w), "port %d: %s at %s: %s", \
		       port, verdict_code_name(v_->code),			\
		       verdict_where_name(v_->where), v_->summary);		\
	} while (0)

/* Every fault at its place, in either order of the files. */
static void check_verdicts(struct test *t, const struct got *g)
{
	const struct verdict *v;

	EXPECT_VERDICT(g, F_PATH_DROP, VERDICT_PATH_DROP, WHERE_NETWORK);
	v = verdict_for(g, F_PATH_DROP);
	EXPECT(strstr(v->summary, "3 SYNs left 10.0.1.5's NIC") &&
	       strstr(v->summary, "none reached 10.0.2.10's NIC"), "%s", v->summary);
	EXPECT_VERDICT(g, F_DROP_SERVER, VERDICT_HOST_DROP, WHERE_SERVER);
	v = verdict_for(g, F_DROP_SERVER);
	EXPECT_STR(v->reason, "NETFILTER_DROP");
	EXPECT(strstr(v->summary, "SYN left 10.0.1.5 and reached 10.0.2.10's NIC; 10.0.2.10's "
		      "firewall dropped it (NETFILTER_DROP)"), "%s", v->summary);
	EXPECT_EQ(ev_of(v, "server_drops"), 3);
	EXPECT_VERDICT(g, F_DROP_CLIENT, VERDICT_HOST_DROP, WHERE_CLIENT);
	EXPECT_STR(verdict_for(g, F_DROP_CLIENT)->reason, "NETFILTER_DROP");
	EXPECT_VERDICT(g, F_NAT_BROKEN, VERDICT_NAT_MISMATCH, WHERE_NETWORK);
	v = verdict_for(g, F_NAT_BROKEN);
	EXPECT(strstr(v->summary, "10.0.2.100:8080") && strstr(v->summary, "10.0.2.10:8080"),
	       "%s", v->summary);
	EXPECT_VERDICT(g, F_STALL, VERDICT_APP_STALL, WHERE_SERVER);
	EXPECT_EQ(ev_of(verdict_for(g, F_STALL), "request_bytes"), 64);
	EXPECT_VERDICT(g, F_CRASH, VERDICT_RESET, WHERE_SERVER);
	v = verdict_for(g, F_CRASH);
	EXPECT_EQ(ev_of(v, "unread_bytes"), 64);
	EXPECT(strstr(v->summary, "10.0.2.10 reset the connection"), "%s", v->summary);
	EXPECT(!verdict_for(g, F_HEALTHY), "healthy: %s", verdict_for(g, F_HEALTHY)->summary);
	EXPECT(!verdict_for(g, F_NAT_OK), "NAT-ed healthy: %s", verdict_for(g, F_NAT_OK)->summary);
	EXPECT_EQ(g->n, 6);
out:
	return;
}

static void test_verdicts_one_boot(struct test *t)
{
	const char *pa = tmp_path("a.ttr"), *pb = tmp_path("b.ttr");
	struct chost a = {0}, b = {0};
	struct corr_result res;
	struct got g;

	record_host(pa, false, "boot-1", 0, WALL, 8);
	record_host(pb, true, "boot-1", 0, WALL, 8);
	for (int order = 0; order < 2; order++) {
		EXPECT(!join(order ? pb : pa, order ? pa : pb, &a, &b, &res, &g), "read");
		check_verdicts(t, &g);
		if (t->failed)
			goto out;
		EXPECT_EQ(res.clock_from, CLOCK_SAME_BOOT);
		EXPECT_EQ(res.offset_ns, 0);
		EXPECT(res.overlap, "no overlap");
		/* Three clean handshakes (stall, crash, healthy): the four NIC
		 * times agree with one clock. */
		EXPECT_EQ(res.handshakes, 3);
		EXPECT_EQ(res.offset_spread_ns, 0);
		/* 7 found at both ends, the NAT-ed 2 among them; the path drop at one */
		EXPECT_EQ(res.pairs, 7);
		EXPECT_EQ(res.nat_pairs, 2);
		EXPECT_EQ(res.unmatched, 1);
		chost_free(&a);
		chost_free(&b);
	}
out:
	chost_free(&a);
	chost_free(&b);
}

/* Another machine, whose clock reads 5 s more: measured from the handshakes. */
static void test_clock_from_handshakes(struct test *t)
{
	const char *pa = tmp_path("a2.ttr"), *pb = tmp_path("b2.ttr");
	struct chost a = {0}, b = {0};
	struct corr_result res;
	struct got g;

	record_host(pa, false, "boot-a", 0, WALL, 8);
	/* Its wall clock is right: its monotonic clock started 5 s earlier. */
	record_host(pb, true, "boot-b", 5 * SEC, WALL - 5 * (long long)SEC, 8);
	EXPECT(!join(pa, pb, &a, &b, &res, &g), "read");
	EXPECT_EQ(res.clock_from, CLOCK_HANDSHAKES);
	EXPECT_EQ(res.handshakes, 3);
	EXPECT_EQ(res.offset_ns, 5 * SEC);
	check_verdicts(t, &g);
	chost_free(&a);
	chost_free(&b);
	EXPECT(!join(pb, pa, &a, &b, &res, &g), "read");
	EXPECT_EQ(res.offset_ns, -5 * (long long)SEC);
	check_verdicts(t, &g);
out:
	chost_free(&a);
	chost_free(&b);
}

/*
 * Recordings an hour apart by the hosts' wall clocks, with no handshake
 * seen at both ends: CLOCK, and nothing guessed.
 */
static void test_clock_no_overlap(struct test *t)
{
	const char *pa = tmp_path("a3.ttr"), *pb = tmp_path("b3.ttr");
	struct chost a = {0}, b = {0};
	struct corr_result res;
	struct got g;

	record_host(pa, false, "boot-a", 0, WALL, 8);
	record_host(pb, true, "boot-b", 0, WALL + 3600 * (long long)SEC, 8);
	EXPECT(!join(pa, pb, &a, &b, &res, &g), "read");
	/* The wall clocks say an hour apart, but the same connections are at
	 * both ends and their handshakes say 0: measured beats declared. */
	EXPECT_EQ(res.clock_from, CLOCK_HANDSHAKES);
	EXPECT_EQ(res.offset_ns, 0);
	EXPECT(res.overlap, "no overlap");
	chost_free(&a);
	chost_free(&b);
	/* A server that saw none of these connections, an hour later. */
	{
		struct host h;

		host_open(&h, pb, true, "boot-b", 0, WALL + 3600 * (long long)SEC);
		recorder_mark(h.r, REC_LOOP_END, T0 + 2 * SEC);
		recorder_mark(h.r, REC_TICK, T0 + 2 * SEC);
		recorder_lost(h.r, T0 + 2 * SEC, 0);
		recorder_mark(h.r, REC_FINISH, T0 + 2 * SEC);
		recorder_close(h.r);
	}
	EXPECT(!join(pa, pb, &a, &b, &res, &g), "read");
	EXPECT_EQ(res.clock_from, CLOCK_WALL);
	EXPECT(!res.overlap, "overlap");
	EXPECT_EQ(g.n, 1);
	EXPECT_EQ(g.v[0].code, VERDICT_CLOCK);
	EXPECT(strstr(g.v[0].summary, "do not overlap"), "%s", g.v[0].summary);
	EXPECT_EQ(res.offset_ns, -3600 * (long long)SEC);
out:
	chost_free(&a);
	chost_free(&b);
}

/* A recording cut short still joins what it holds. */
static void test_truncated_side(struct test *t)
{
	const char *pa = tmp_path("a4.ttr"), *pb = tmp_path("b4.ttr");
	struct chost a = {0}, b = {0};
	struct corr_result res;
	struct stat st;
	struct got g;

	record_host(pa, false, "boot-1", 0, WALL, 8);
	record_host(pb, true, "boot-1", 0, WALL, 8);
	EXPECT(!stat(pb, &st) && !truncate(pb, st.st_size - 60), "truncate: %s", strerror(errno));
	EXPECT(!join(pa, pb, &a, &b, &res, &g), "read");
	EXPECT_EQ(b.status, REC_TRUNCATED);
	EXPECT(!b.whole, "whole");
	/* its first ticks hold every connection's handshake */
	EXPECT_VERDICT(&g, F_DROP_SERVER, VERDICT_HOST_DROP, WHERE_SERVER);
out:
	chost_free(&a);
	chost_free(&b);
}

static const struct test_case tests[] = {
	TEST(test_verdicts_one_boot),
	TEST(test_clock_from_handshakes),
	TEST(test_clock_no_overlap),
	TEST(test_truncated_side),
};

int main(int argc, char **argv)
{
	int ret;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	ret = run_tests(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	for (const char *const *f = (const char *const[]){ "a.ttr", "b.ttr", "a2.ttr",
			"b2.ttr", "a3.ttr", "b3.ttr", "a4.ttr", "b4.ttr", NULL }; *f; f++)
		unlink(tmp_path(*f));
	rmdir(dir);
	return ret;
}
