// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of recordings (user/record_*.c) and of replay
 * (user/source_file.c): recordings made by the writer are read back
 * record for record; a scripted live run recorded through the pipeline
 * replays to the same output; damaged files (cut at every offset, a byte
 * changed at every offset, empty, foreign, a future version) never crash
 * the reader, never deliver a record that was not written, and are told
 * apart in one line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "pipeline.h"
#include "record.h"
#include "source_file.h"
#include "harness.h"
#include "capture.h"

#define SEC	1000000000ULL
#define MSEC	1000000ULL
#define T0	(1000 * SEC)
#define NETNS	4026531840u
#define WALL	(1700000000LL * 1000000000LL)	/* the recorded clock offset */

static char dir[] = "/tmp/tcptrace-test-record.XXXXXX";

static const char *tmp_path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static const char *const reason_names[] = { NULL, "NOT_SPECIFIED", "NO_SOCKET",
					     "NETFILTER_DROP", "TCP_LISTEN_OVERFLOW" };
static const __u8 reason_classes[] = { DROP_IGNORE, DROP_IGNORE, DROP_NO_SOCKET,
				       DROP_LOCAL, DROP_LISTEN_OVERFLOW };

static const char *test_reason_name(unsigned int r)
{
	return r < 5 ? reason_names[r] : NULL;
}

static struct flow_key key4(const char *laddr, __u16 lport, const char *raddr, __u16 rport)
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

/* The writer's view of a live run: options, engine configuration. */
struct live_cfg {
	struct options o;
	struct engine_config cfg;
	struct rec_source_info info;
	char *argv[4];
};

static void live_cfg(struct live_cfg *l)
{
	cli_defaults(&l->o);
	l->o.json = true;
	l->o.stall_ms = 2000;
	l->o.port = 8080;
	pipeline_engine_config(&l->o, &l->cfg);
	l->cfg.drop_class = reason_classes;
	l->cfg.n_drop_class = 5;
	l->cfg.drop_reason_name = test_reason_name;
	l->cfg.nic_ingress = true;
	l->cfg.hz = 250;
	l->argv[0] = "tcptrace-bpf";
	l->argv[1] = "-p";
	l->argv[2] = "8080";
	l->info = (struct rec_source_info){
		.opts = &l->o, .cfg = &l->cfg, .drop_reason_name = test_reason_name,
		.mono_to_real_ns = WALL, .argc = 3, .argv = l->argv,
	};
}

/* ---------------------------------------------------------------- items */

struct items {
	struct rec_item *v;
	size_t n, cap;
};

static void items_push(struct items *x, const struct rec_item *it)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 256;
		x->v = realloc(x->v, x->cap * sizeof(*x->v));
		if (!x->v)
			abort();
	}
	x->v[x->n++] = *it;
}

static struct rec_item item(enum rec_type type, __u64 ts)
{
	struct rec_item it;

	memset(&it, 0, sizeof(it));
	it.type = type;
	it.ts_ns = ts;
	return it;
}

static bool item_eq(const struct rec_item *a, const struct rec_item *b)
{
	if (a->type != b->type || a->ts_ns != b->ts_ns)
		return false;
	switch (a->type) {
	case REC_EVENT:
		return !memcmp(&a->ev, &b->ev, sizeof(a->ev));
	case REC_SOCKET:
		return !memcmp(&a->sock, &b->sock, sizeof(a->sock));
	case REC_NIC:
		return !memcmp(&a->nic, &b->nic, sizeof(a->nic));
	case REC_LOST:
		return a->lost == b->lost;
	case REC_CGROUP:
		return a->cgroup.id == b->cgroup.id && !strcmp(a->cgroup.path, b->cgroup.path) &&
		       !strcmp(a->cgroup.pod, b->cgroup.pod);
	default:
		return true;
	}
}

/* Socket i of a sample: most stay the same; the tick count changes. */
static struct tt_sock_scan sock_of(int i, int tick)
{
	struct tt_sock_scan s;

	memset(&s, 0, sizeof(s));
	s.key = key4("10.0.2.10", 8080, "10.0.1.5", 30000 + i);
	s.state = TT_TCP_ESTABLISHED;
	s.snd_una = s.snd_nxt = s.write_seq = 1000 + i;
	s.rcv_nxt = s.copied_seq = 5000 + i;
	s.snd_wnd = s.rcv_wnd = 65535;
	s.srtt_us = 1000;
	s.mss = 1448;
	s.now_jiffies = 100000 + 250 * tick;
	/* Socket 3 is busy: it changes every tick. */
	if (i == 3)
		s.bytes_received = 100 * tick;
	return s;
}

/*
 * A recording written record by record, the way the pipeline writes one,
 * and what a reader must get back. Sockets come and go: socket n_sock
 * appears at tick 2, socket 1 is gone from tick 3 on.
 */
static void write_items(const char *path, int ticks, int n_sock, int n_nic, struct items *x)
{
	struct live_cfg l;
	struct recorder *r;
	struct rec_item it;
	__u64 now = T0, lost = 0;

	live_cfg(&l);
	r = recorder_open(path);
	if (!r || recorder_begin(r, &l.info))
		abort();
	recorder_mark(r, REC_START, now);
	items_push(x, &(struct rec_item){ .type = REC_START, .ts_ns = now });
	for (int t = 0; t <= ticks; t++) {
		/* events between ticks */
		for (int e = 0; e < 3; e++) {
			it = item(REC_EVENT, now + (e + 1) * 100 * MSEC);
			it.ev.ts_ns = it.ts_ns;
			it.ev.key = key4("10.0.1.5", 40000 + t, "10.0.2.10", 8080);
			it.ev.type = EV_STATE;
			it.ev.state = TT_TCP_SYN_SENT;
			it.ev.old_state = TT_TCP_CLOSE;
			snprintf(it.ev.comm, sizeof(it.ev.comm), "svc-%d", t);
			recorder_event(r, &it.ev);
			items_push(x, &it);
		}
		now += SEC;
		if (t == ticks) {
			recorder_mark(r, REC_LOOP_END, now);
			items_push(x, &(struct rec_item){ .type = REC_LOOP_END, .ts_ns = now });
		}
		recorder_mark(r, REC_TICK, now);
		items_push(x, &(struct rec_item){ .type = REC_TICK, .ts_ns = now });
		for (int i = 0; i <= n_sock; i++) {
			if ((i == n_sock && t < 2) || (i == 1 && t >= 3))
				continue;
			/*
			 * A cgroup named as a socket that needs it arrives: a
			 * frame in the middle of a sample, between repeats.
			 */
			if (i == 5 && (t == 1 || t == 4)) {
				it = item(REC_CGROUP, now);
				it.cgroup.id = 100 + t;
				snprintf(it.cgroup.path, sizeof(it.cgroup.path),
					 "/kubepods.slice/web-%d.scope", t);
				snprintf(it.cgroup.pod, sizeof(it.cgroup.pod), "%s",
					 t == 4 ? "shop/cart" : "");
				recorder_cgroup(r, now, it.cgroup.id, it.cgroup.path, it.cgroup.pod);
				items_push(x, &it);
			}
			it = item(REC_SOCKET, now);
			it.sock = sock_of(i, t);
			recorder_socket(r, &it.sock, now);
			items_push(x, &it);
		}
		recorder_scan_end(r, now);
		items_push(x, &(struct rec_item){ .type = REC_SCAN_END, .ts_ns = now });
		for (int i = 0; i < n_nic; i++) {
			it = item(REC_NIC, now);
			it.nic.key = key4("10.0.1.5", 40000 + i, "10.0.2.10", 8080);
			it.nic.nf.dir[NIC_OUT].syn = 1;
			it.nic.nf.dir[NIC_OUT].first_ns = T0 + i;
			/* the newest connection's counts still move */
			if (i == n_nic - 1)
				it.nic.nf.dir[NIC_IN].pkts = t;
			recorder_nic(r, &it.nic.key, &it.nic.nf, now);
			items_push(x, &it);
		}
		/* an event read in the sample itself */
		it = item(REC_EVENT, now - 1);
		it.ev.ts_ns = it.ts_ns;
		it.ev.type = EV_DROP;
		it.ev.reason = 3;
		recorder_event(r, &it.ev);
		items_push(x, &it);
		if (t == 2)
			lost += 7;
		recorder_lost(r, now, lost);
		it = item(REC_LOST, now);
		it.lost = lost;
		items_push(x, &it);
	}
	recorder_mark(r, REC_FINISH, now);
	items_push(x, &(struct rec_item){ .type = REC_FINISH, .ts_ns = now });
	if (!recorder_close(r))
		abort();
}

static void *slurp(const char *path, size_t *len)
{
	struct stat st;
	void *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		abort();
	buf = malloc(st.st_size + 1);
	if (!buf || read(fd, buf, st.st_size) != st.st_size)
		abort();
	close(fd);
	*len = st.st_size;
	return buf;
}

/*
 * Reads what a (maybe damaged) recording gives: how many items, whether
 * they are the first ones written, and the end's status. -1 when it did
 * not even open (*why says why).
 */
struct readout {
	long n;			/* items read; -1: not opened */
	long bad_at;		/* first item that differs from the written one, -1: none */
	enum rec_status status;
	bool finished;
	char why[512];
};

static void read_back(const void *buf, size_t len, const struct items *x, struct readout *o)
{
	struct rec_reader *r = rec_open_mem(buf, len, o->why, sizeof(o->why));
	struct rec_item it;

	o->n = -1;
	o->bad_at = -1;
	o->finished = false;
	if (!r)
		return;
	o->n = 0;
	while (rec_next(r, &it) > 0) {
		if (o->bad_at < 0 && ((size_t)o->n >= x->n || !item_eq(&it, &x->v[o->n])))
			o->bad_at = o->n;
		o->n++;
	}
	o->status = rec_status(r);
	o->finished = rec_finished(r);
	snprintf(o->why, sizeof(o->why), "%s", rec_why(r));
	rec_close(r);
}

static void test_items_round_trip(struct test *t)
{
	const char *path = tmp_path("items.ttr");
	struct items x = {0};
	struct rec_reader *r = NULL;
	const struct rec_header *h;
	struct rec_item it;
	char why[256];
	size_t n = 0;

	write_items(path, 10, 40, 20, &x);
	r = rec_open(path, why, sizeof(why));
	EXPECT(r, "rec_open: %s", why);
	h = rec_header(r);
	EXPECT_EQ(h->version, REC_VERSION);
	EXPECT(h->hostname[0] && h->kernel[0] && h->boot_id[0], "host %s kernel %s boot %s",
	       h->hostname, h->kernel, h->boot_id);
	EXPECT_STR(h->command, "tcptrace-bpf -p 8080");
	EXPECT_EQ(h->mono_to_real_ns, WALL);
	EXPECT_EQ(rec_option(h, OPT_REC_STALL_MS, 0), 2000);
	EXPECT_EQ(rec_option(h, OPT_REC_PORT, 0), 8080);
	EXPECT_EQ(rec_option(h, OPT_REC_MAX_FLOWS, 0), 65536);
	EXPECT(h->nic_ingress, "nic_ingress");
	EXPECT_EQ(h->hz, 250);
	EXPECT_EQ(h->n_drop, 5);
	EXPECT_STR(h->drop_name[3], "NETFILTER_DROP");
	EXPECT_STR(h->drop_name[0], "");
	EXPECT_EQ(h->drop_class[4], DROP_LISTEN_OVERFLOW);
	EXPECT_EQ(h->size_event, sizeof(struct tt_event));
	while (rec_next(r, &it) > 0) {
		EXPECT(n < x.n, "more records than written");
		EXPECT(item_eq(&it, &x.v[n]), "record %zu (type %d at %llu) differs from the "
		       "written one (type %d at %llu)", n, it.type, (unsigned long long)it.ts_ns,
		       x.v[n].type, (unsigned long long)x.v[n].ts_ns);
		n++;
	}
	EXPECT_EQ(rec_status(r), REC_OK);
	EXPECT_EQ(n, x.n);
	EXPECT(rec_finished(r), "no REC_FINISH");
out:
	rec_close(r);
	free(x.v);
}

/*
 * Samples that repeat cost next to nothing: 1000 idle sockets and 4000
 * NIC records over 30 ticks would be 9 MB as written; the file stays
 * under 64 KiB, and still reads back whole.
 */
static void test_repeats_shrink(struct test *t)
{
	const char *path = tmp_path("repeats.ttr");
	struct items x = {0};
	struct readout o;
	size_t len = 0;
	void *buf = NULL;

	write_items(path, 30, 1000, 4000, &x);
	buf = slurp(path, &len);
	EXPECT(len < 64 * 1024, "%zu bytes", len);
	read_back(buf, len, &x, &o);
	EXPECT(o.n >= 0, "did not open: %s", o.why);
	EXPECT(o.bad_at < 0, "record %ld differs", o.bad_at);
	EXPECT_EQ(o.n, x.n);
	EXPECT_EQ(o.status, REC_OK);
out:
	free(buf);
	free(x.v);
}

/*
 * A file cut at any offset: it opens (once its header is whole) and gives
 * the records written first, each as written, then says it is truncated;
 * never more records, never a crash.
 */
static void test_truncated_every_offset(struct test *t)
{
	const char *path = tmp_path("trunc.ttr");
	struct items x = {0};
	struct readout o;
	long prev = -1;
	size_t len = 0;
	void *buf = NULL;

	write_items(path, 3, 4, 3, &x);
	buf = slurp(path, &len);
	for (size_t cut = 0; cut < len; cut++) {
		read_back(buf, cut, &x, &o);
		if (o.n < 0) {
			EXPECT(o.why[0], "cut at %zu: no reason given", cut);
			EXPECT(prev < 0, "cut at %zu: does not open, a shorter cut did", cut);
			continue;
		}
		EXPECT(o.bad_at < 0, "cut at %zu: record %ld was never written", cut, o.bad_at);
		EXPECT(o.status == REC_TRUNCATED, "cut at %zu of %zu: status %d (%s)", cut,
		       len, o.status, o.why);
		EXPECT(strstr(o.why, "ends at byte"), "cut at %zu: %s", cut, o.why);
		EXPECT(o.n >= prev, "cut at %zu: %ld records, %ld from a shorter cut", cut,
		       o.n, prev);
		prev = o.n;
	}
	/* Cut before its end, a file still gives every tick it holds whole. */
	EXPECT(prev > 0 && (size_t)prev <= x.n, "%ld of %zu", prev, x.n);
	read_back(buf, len, &x, &o);
	EXPECT(o.n == (long)x.n && o.status == REC_OK && o.finished, "whole: %ld/%zu %s",
	       o.n, x.n, o.why);
out:
	free(buf);
	free(x.v);
}

/*
 * One byte changed, at every offset, three ways: no crash, no record
 * delivered that was not written (the CRC of each chunk, zlib's own
 * checks), and a clean end only when nothing was lost.
 */
static void test_flipped_bytes(struct test *t)
{
	static const unsigned char flips[] = { 0x01, 0x80, 0xff };
	const char *path = tmp_path("flip.ttr");
	struct items x = {0};
	struct readout o;
	size_t len = 0;
	unsigned char *buf = NULL;
	int damaged = 0;

	write_items(path, 3, 4, 3, &x);
	buf = slurp(path, &len);
	for (size_t at = 0; at < len; at++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			buf[at] ^= flips[f];
			read_back(buf, len, &x, &o);
			buf[at] ^= flips[f];
			if (o.n < 0) {
				EXPECT(o.why[0], "flip at %zu: no reason", at);
				damaged++;
				continue;
			}
			EXPECT(o.bad_at < 0, "flip 0x%02x at %zu: record %ld was never written",
			       flips[f], at, o.bad_at);
			if (o.status == REC_OK && o.finished) {
				EXPECT(o.n == (long)x.n, "flip at %zu: a clean end after %ld of "
				       "%zu records", at, o.n, x.n);
			} else {
				damaged++;
			}
		}
	}
	/*
	 * Unnoticed changes leave every record intact: the preamble's
	 * reserved bytes, and bits deflate does not read (the padding after
	 * a sync flush's empty stored block, unused Huffman code lengths).
	 */
	EXPECT(damaged >= (int)(3 * len * 9 / 10), "%d of %zu changes noticed", damaged, 3 * len);
out:
	free(buf);
	free(x.v);
}

/* What rec_open says about a file: NULL and why, or the reader. */
static bool open_says(const void *buf, size_t len, char *why, size_t why_len)
{
	struct rec_reader *r = rec_open_mem(buf, len, why, why_len);

	rec_close(r);
	return r != NULL;
}

static void test_bad_files(struct test *t)
{
	const char *path = tmp_path("bad.ttr");
	struct items x = {0};
	unsigned char *buf = NULL, *crlf = NULL;
	size_t len = 0, n = 0;
	char why[512];

	EXPECT(!open_says("", 0, why, sizeof(why)), "empty opened");
	EXPECT(strstr(why, "empty"), "empty: %s", why);
	EXPECT(!open_says("hello, world\n", 13, why, sizeof(why)), "text opened");
	EXPECT(strstr(why, "not a tcptrace-bpf recording"), "text: %s", why);
	EXPECT(!open_says("{\"type\":\"diagnosis\"}\n", 21, why, sizeof(why)), "JSON opened");
	EXPECT(strstr(why, "JSON lines"), "JSON: %s", why);
	EXPECT(!open_says("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8, why, sizeof(why)), "gzip");
	EXPECT(strstr(why, "gzip"), "gzip: %s", why);
	EXPECT(!open_says(REC_MAGIC "\x01\x00", 10, why, sizeof(why)), "10 bytes opened");
	EXPECT(strstr(why, "first 16 bytes"), "short: %s", why);

	write_items(path, 1, 2, 1, &x);
	buf = slurp(path, &len);
	/* A future version: said, with both numbers. */
	buf[8] = REC_VERSION + 1;
	EXPECT(!open_says(buf, len, why, sizeof(why)), "future version opened");
	EXPECT(strstr(why, "format 2 recording") && strstr(why, "reads format 1"), "%s", why);
	buf[8] = 0;
	EXPECT(!open_says(buf, len, why, sizeof(why)), "version 0 opened");
	EXPECT(strstr(why, "version is 0"), "%s", why);
	buf[8] = REC_VERSION;
	/* The preamble, then noise. */
	memset(buf + REC_PREAMBLE, 0x5a, len - REC_PREAMBLE);
	EXPECT(!open_says(buf, len, why, sizeof(why)), "noise opened");
	EXPECT(strstr(why, "damaged"), "noise: %s", why);
	/* Copied in text mode: CR LF became LF. */
	free(buf);
	buf = slurp(path, &len);
	crlf = malloc(len);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
			continue;
		crlf[n++] = buf[i];
	}
	EXPECT(!open_says(crlf, n, why, sizeof(why)), "text-mode copy opened");
	EXPECT(strstr(why, "altered"), "text-mode copy: %s", why);
	EXPECT(!rec_open(tmp_path("missing.ttr"), why, sizeof(why)), "a missing file opened");
	EXPECT(strstr(why, strerror(ENOENT)), "missing: %s", why);
out:
	free(crlf);
	free(buf);
	free(x.v);
}

/* ---------------------------------------------------------------- replay */

/*
 * A live run in miniature: events at their times, and at each tick a
 * socket scan (a client whose request is ACKed and never answered, idle
 * server sockets) and the NIC counters; events lost from the fourth tick.
 */
struct script {
	struct source base;	/* first: the pipeline sees a struct source */
	struct pipeline *pipe;
	const struct tt_event *events;
	size_t n, next;
	__u64 now, end;
	__u64 lost;
	int ticks;
};

static struct script *script(struct source *src)
{
	return (struct script *)src;
}

static int script_poll(struct source *src, __u64 until)
{
	struct script *s = script(src);

	while (s->next < s->n && s->events[s->next].ts_ns <= until)
		pipeline_event(s->pipe, &s->events[s->next++]);
	s->now = until;
	return s->now >= s->end;
}

static void script_flush(struct source *src)
{
	(void)src;
}

static __u64 script_now(struct source *src)
{
	return script(src)->now;
}

static void script_sample(struct source *src, __u64 now)
{
	struct script *s = script(src);
	struct tt_sock_scan sk;
	struct nic_flow nf;
	struct flow_key k;

	s->ticks++;
	memset(&sk, 0, sizeof(sk));
	sk.key = key4("10.0.1.5", 43140, "10.0.2.10", 8080);
	sk.state = TT_TCP_ESTABLISHED;
	sk.snd_una = sk.snd_nxt = sk.write_seq = 1120;
	sk.rcv_nxt = sk.copied_seq = 5000;
	sk.snd_wnd = sk.rcv_wnd = 65535;
	sk.srtt_us = 1000;
	sk.min_rtt_us = 800;
	sk.mss = 1448;
	sk.data_segs_out = 1;
	sk.bytes_sent = 120;
	sk.bytes_acked = 121;
	/* HZ 250, the same tick count as the idle sockets of the scan */
	sk.now_jiffies = 100000 + 250 * s->ticks;
	/* The socket's clocks: the request left at 0.2 s, its ACK came
	 * back at once (the engine reads whose turn it is from them). */
	sk.lrcvtime = 100000;
	sk.lsndtime = 100050;
	sk.rcv_tstamp = 100051;
	/* the peer's latest segment was that ACK, no data */
	sk.snd_wl1 = sk.rcv_nxt;
	if (now > T0 + SEC)
		pipeline_socket(s->pipe, &sk, now);
	for (int i = 0; i < 30; i++) {
		struct tt_sock_scan idle = sock_of(i, s->ticks);

		pipeline_socket(s->pipe, &idle, now);
	}
	pipeline_scan_end(s->pipe, now);
	memset(&nf, 0, sizeof(nf));
	k = key4("10.0.1.5", 43122, "10.0.2.10", 8080);
	nf.dir[NIC_OUT].syn = 1;
	nf.dir[NIC_OUT].pkts = 1;
	nf.dir[NIC_OUT].first_ns = nf.dir[NIC_OUT].last_ns = T0 + 500 * MSEC;
	nf.dir[NIC_IN].rst = 1;
	nf.dir[NIC_IN].pkts = 1;
	nf.dir[NIC_IN].first_ns = nf.dir[NIC_IN].last_ns = T0 + 501 * MSEC;
	pipeline_nic(s->pipe, &k, &nf, now);
	if (s->ticks == 4)
		s->lost = 3;
}

static __u64 script_lost(struct source *src)
{
	return script(src)->lost;
}

static void script_health(struct source *src, struct health_report *r)
{
	r->events = script(src)->next;
}

static const struct source_ops script_ops = {
	.poll = script_poll,
	.flush = script_flush,
	.now = script_now,
	.sample = script_sample,
	.lost = script_lost,
	.health = script_health,
};

static struct tt_event ev_at(__u32 type, __u64 ts, const struct flow_key *k)
{
	struct tt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.ts_ns = ts;
	ev.key = *k;
	return ev;
}

/* A refused connect at 0.5 s; a request at 0.2 s nobody answers. */
static size_t script_events(struct tt_event *ev)
{
	struct flow_key refused = key4("10.0.1.5", 43122, "10.0.2.10", 8080);
	struct flow_key stalled = key4("10.0.1.5", 43140, "10.0.2.10", 8080);
	size_t n = 0;

	ev[n] = ev_at(EV_STATE, T0 + 200 * MSEC, &stalled);
	ev[n].old_state = TT_TCP_CLOSE;
	ev[n].state = TT_TCP_SYN_SENT;
	ev[n].side = TT_SIDE_CLIENT;
	ev[n].flags = EVF_PROC;
	ev[n].pid = 4242;
	snprintf(ev[n++].comm, TT_COMM_LEN, "svc-a");
	ev[n] = ev_at(EV_STATE, T0 + 201 * MSEC, &stalled);
	ev[n].old_state = TT_TCP_SYN_SENT;
	ev[n++].state = TT_TCP_ESTABLISHED;
	ev[n] = ev_at(EV_STATE, T0 + 500 * MSEC, &refused);
	ev[n].old_state = TT_TCP_CLOSE;
	ev[n].state = TT_TCP_SYN_SENT;
	ev[n++].side = TT_SIDE_CLIENT;
	ev[n] = ev_at(EV_RST_RX, T0 + 501 * MSEC, &refused);
	ev[n++].state = TT_TCP_SYN_SENT;
	ev[n] = ev_at(EV_STATE, T0 + 501 * MSEC, &refused);
	ev[n].old_state = TT_TCP_SYN_SENT;
	ev[n++].state = TT_TCP_CLOSE;
	ev[n] = ev_at(EV_SK_ERROR, T0 + 501 * MSEC, &refused);
	ev[n].state = TT_TCP_CLOSE;
	ev[n++].err = ECONNREFUSED;
	return n;
}

/* Lines of text without the stats records (the health of a replay is its own). */
static char *without_stats(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p + 1) : strlen(p);
		char *line = strndup(p, l);

		if (!strstr(line, "\"type\":\"stats\"") && strncmp(line, "tcptrace-bpf: ", 14)) {
			memcpy(o, p, l);
			o += l;
		}
		free(line);
		p += l;
	}
	*o = '\0';
	return out;
}

/* The live run, recorded to path: its output. */
static char *live_run(const char *path, bool json, __u64 secs)
{
	static volatile sig_atomic_t stop;
	static struct tt_event ev[16];
	struct live_cfg l;
	struct capture cap;
	struct output out;
	struct script s = { .base.ops = &script_ops };
	struct recorder *r;
	char *text;

	live_cfg(&l);
	l.o.json = json;
	output_init(&out, capture_open(&cap), json);
	out.mono_to_real_ns = WALL;
	s.events = ev;
	s.n = script_events(ev);
	s.now = T0;
	s.end = T0 + secs * SEC;
	s.pipe = pipeline_new(&l.o, &l.cfg, &out);
	r = recorder_open(path);
	if (!s.pipe || !r || recorder_begin(r, &l.info))
		abort();
	pipeline_set_recorder(s.pipe, r);
	pipeline_run(s.pipe, &s.base, &stop);
	recorder_close(r);
	pipeline_free(s.pipe);
	text = strdup(capture_text(&cap));
	capture_close(&cap);
	return text;
}

/* The replay of path with extra command-line options: its output, and the reading's end. */
static char *replay_run(const char *path, const char *opt1, const char *opt2,
			enum rec_status *status)
{
	static volatile sig_atomic_t stop;
	char *argv[] = { "tcptrace-bpf replay", (char *)path, (char *)opt1, (char *)opt2, NULL };
	int argc = 2 + !!opt1 + !!opt2;
	struct engine_config cfg;
	struct capture cap;
	struct output out;
	struct options o;
	struct rec_reader *rd;
	struct pipeline *p;
	struct source *src;
	char why[256], *text;

	rd = rec_open(path, why, sizeof(why));
	if (!rd)
		return strdup(why);
	o.mode = CLI_REPLAY;
	file_source_options(rec_header(rd), argc, argv, &o);
	output_init(&out, capture_open(&cap), o.json);
	out.mono_to_real_ns = rec_header(rd)->mono_to_real_ns;
	file_source_config(rec_header(rd), &o, &cfg);
	p = pipeline_new(&o, &cfg, &out);
	src = file_source_new(rd, p);
	pipeline_run(p, src, &stop);
	*status = rec_status(rd);
	file_source_free(src);
	pipeline_free(p);
	rec_close(rd);
	text = strdup(capture_text(&cap));
	capture_close(&cap);
	return text;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/*
 * Replay says what the live run said: the same diagnoses (codes, flows,
 * evidence, times), conn records and stats records, in JSON and in text,
 * with the recording's thresholds.
 */
static void test_replay_equals_live(struct test *t)
{
	const char *path = tmp_path("live.ttr");
	enum rec_status st = REC_CORRUPT;
	char *live = NULL, *replay = NULL, *a = NULL, *b = NULL;

	for (int json = 1; json >= 0; json--) {
		live = live_run(path, json, 8);
		replay = replay_run(path, json ? "-j" : NULL, NULL, &st);
		a = without_stats(live);
		b = without_stats(replay);
		EXPECT_EQ(st, REC_OK);
		EXPECT(count(a, json ? "\"code\":\"CONNECTION_REFUSED\"" : "CONNECTION_REFUSED") == 1,
		       "live run:\n%s", live);
		EXPECT(count(a, json ? "\"code\":\"PEER_APP_STALL\"" : "PEER_APP_STALL") == 1,
		       "live run:\n%s", live);
		if (json)
			EXPECT(count(a, "\"type\":\"conn\"") >= 1, "no conn record:\n%s", live);
		EXPECT_STR(b, a);
		/* the stats records too: the live source's counts are recorded */
		EXPECT_STR(replay, live);
		free(live);
		free(replay);
		free(a);
		free(b);
		live = replay = a = b = NULL;
	}
out:
	free(live);
	free(replay);
	free(a);
	free(b);
}

/* Other thresholds answer "what if": a 60 s stall threshold sees no stall in 8 s. */
static void test_replay_other_threshold(struct test *t)
{
	const char *path = tmp_path("what-if.ttr");
	enum rec_status st = REC_CORRUPT;
	char *live = live_run(path, true, 8);
	char *replay = replay_run(path, "-j", "--stall-ms=60000", &st);

	EXPECT(count(live, "\"code\":\"PEER_APP_STALL\"") == 1, "live:\n%s", live);
	EXPECT(count(replay, "\"code\":\"PEER_APP_STALL\"") == 0, "replay:\n%s", replay);
	EXPECT(count(replay, "\"code\":\"CONNECTION_REFUSED\"") == 1, "replay:\n%s", replay);
out:
	free(live);
	free(replay);
}

/* ---------------------------------------------------------------- the command */

struct child {
	int status;
	char out[65536];
	char err[4096];
};

static void drain(int fd, char *buf, size_t len)
{
	size_t have = 0;
	ssize_t n;

	while (have + 1 < len && (n = read(fd, buf + have, len - 1 - have)) > 0)
		have += n;
	buf[have] = '\0';
}

/* replay_main in a child (it exits on usage errors), output caught. */
static void replay_cmd(struct child *c, const char *path, const char *opt)
{
	char *argv[] = { "tcptrace-bpf replay", (char *)path, (char *)opt, NULL };
	int out[2], err[2], ws;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	if (pipe(out) || pipe(err))
		abort();
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		_exit(replay_main(opt ? 3 : 2, argv));
	}
	close(out[1]);
	close(err[1]);
	drain(out[0], c->out, sizeof(c->out));
	drain(err[0], c->err, sizeof(c->err));
	close(out[0]);
	close(err[0]);
	waitpid(pid, &ws, 0);
	c->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
}

/*
 * tcptrace-bpf replay on damaged files: truncated gives the diagnoses
 * before the damage and a warning (exit 0); corrupt the same and exit 1;
 * empty, foreign and future-version files one line and exit 1.
 */
static void test_replay_command_damaged(struct test *t)
{
	const char *path = tmp_path("cmd.ttr"), *bad = tmp_path("cmd-bad.ttr");
	struct child c;
	char *live = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;

	free(live_run(path, true, 8));
	replay_cmd(&c, path, "-j");
	EXPECT(c.status == 0, "whole: status %d, stderr %s", c.status, c.err);
	EXPECT(count(c.out, "\"code\":\"CONNECTION_REFUSED\"") == 1, "whole:\n%s", c.out);
	EXPECT(count(c.err, "\n") == 1 && strstr(c.err, "replaying"), "whole: %s", c.err);

	buf = slurp(path, &len);
	/* Cut in its last tick: the refusal, made at the first, is still there. */
	write_file(bad, buf, len - 40);
	replay_cmd(&c, bad, "-j");
	EXPECT(c.status == 0, "truncated: status %d", c.status);
	EXPECT(count(c.out, "\"code\":\"CONNECTION_REFUSED\"") == 1, "truncated:\n%s", c.out);
	EXPECT(strstr(c.err, "warning: ") && strstr(c.err, "is truncated"), "truncated: %s",
	       c.err);

	/* A byte changed in the middle: exit 1, after what came before. */
	buf[len * 2 / 3] ^= 0x55;
	write_file(bad, buf, len);
	replay_cmd(&c, bad, "-j");
	buf[len * 2 / 3] ^= 0x55;
	EXPECT(c.status == 1, "corrupt: status %d, stderr %s", c.status, c.err);
	EXPECT(strstr(c.err, "is damaged"), "corrupt: %s", c.err);
	EXPECT(strstr(c.out, "\"type\":\"error\""), "corrupt: no error record:\n%s", c.out);

	write_file(bad, "", 0);
	replay_cmd(&c, bad, NULL);
	EXPECT(c.status == 1 && count(c.err, "\n") == 1 && strstr(c.err, "empty"),
	       "empty: %d %s", c.status, c.err);
	EXPECT(!c.out[0], "empty: stdout %s", c.out);

	write_file(bad, "GET / HTTP/1.1\r\n\r\n", 18);
	replay_cmd(&c, bad, NULL);
	EXPECT(c.status == 1 && count(c.err, "\n") == 1 &&
	       strstr(c.err, "not a tcptrace-bpf recording"), "foreign: %d %s", c.status, c.err);

	buf[8] = 9;
	write_file(bad, buf, len);
	replay_cmd(&c, bad, NULL);
	EXPECT(c.status == 1 && count(c.err, "\n") == 1 && strstr(c.err, "format 9"),
	       "future: %d %s", c.status, c.err);

	replay_cmd(&c, path, "--netns=/run/netns/x");
	EXPECT(c.status == 2, "a live option: status %d", c.status);
out:
	free(live);
	free(buf);
}

/* replay -o FILE: the same records in the file, with the recording's times. */
static void test_replay_output_file(struct test *t)
{
	const char *path = tmp_path("out.ttr"), *json = tmp_path("out.json");
	char opt[300], *a = NULL, *b = NULL, *file = NULL;
	struct child c;
	size_t len = 0;

	free(live_run(path, true, 8));
	snprintf(opt, sizeof(opt), "--output=%s", json);
	replay_cmd(&c, path, opt);
	EXPECT(c.status == 0, "status %d: %s", c.status, c.err);
	file = slurp(json, &len);
	file[len] = '\0';
	replay_cmd(&c, path, "-j");
	a = without_stats(file);
	b = without_stats(c.out);
	EXPECT(count(a, "\"code\":\"CONNECTION_REFUSED\"") == 1, "file:\n%s", file);
	EXPECT(strstr(a, "\"ts\":\"2023-11-14T22:30:01.000Z\""), "file's times:\n%s", file);
	EXPECT_STR(a, b);
out:
	free(a);
	free(b);
	free(file);
}

static const struct test_case tests[] = {
	TEST(test_items_round_trip),
	TEST(test_repeats_shrink),
	TEST(test_truncated_every_offset),
	TEST(test_flipped_bytes),
	TEST(test_bad_files),
	TEST(test_replay_equals_live),
	TEST(test_replay_other_threshold),
	TEST(test_replay_command_damaged),
	TEST(test_replay_output_file),
};

int main(int argc, char **argv)
{
	int ret;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	ret = run_tests(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	for (const char *const *f = (const char *const[]){ "items.ttr", "repeats.ttr",
			"trunc.ttr", "flip.ttr", "bad.ttr", "live.ttr", "what-if.ttr", "cmd.ttr",
			"cmd-bad.ttr", "out.ttr", "out.json", NULL }; *f; f++)
		unlink(tmp_path(*f));
	rmdir(dir);
	return ret;
}
