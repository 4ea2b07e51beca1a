// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the metrics (user/metrics.c) and their HTTP server
 * (user/http_server.c): the series a diagnosis and a conn record make,
 * that no label carries an ephemeral port, that cardinality stays at the
 * cap plus "other" with the busiest kept and the idle expired, that
 * promtool accepts the text, and that a slow or broken scrape client
 * delays nobody.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "cgroups.h"
#include "http_server.h"
#include "metrics.h"
#include "harness.h"
#include "capture.h"

#define SEC	1000000000ULL

static struct flow_key key4(const char *laddr, __u16 lport, const char *raddr, __u16 rport)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = TT_AF_INET;
	k.netns = 4026531840u;
	k.lport = lport;
	k.rport = rport;
	inet_pton(AF_INET, laddr, k.laddr);
	inet_pton(AF_INET, raddr, k.raddr);
	return k;
}

static struct diagnosis diag(enum diag_code code, enum tt_side side, struct flow_key k,
			     __u32 connections)
{
	struct diagnosis d;

	memset(&d, 0, sizeof(d));
	d.code = code;
	d.severity = SEV_ERROR;
	d.side = side;
	d.key = k;
	d.connections = connections;
	return d;
}

static struct metrics *registry(__u32 max_endpoints, __u64 ttl_ns)
{
	struct metrics_config cfg = { .max_endpoints = max_endpoints, .ttl_ns = ttl_ns,
				      .max_flows = 1024 };

	return metrics_new(&cfg);
}

static char *render(struct metrics *m, struct capture *c)
{
	metrics_render(m, NULL, capture_open(c));
	return (char *)capture_text(c);
}

/* Lines of text that start with prefix. */
static int count_lines(const char *text, const char *prefix)
{
	int n = 0;
	size_t len = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, len);
	return n;
}

static void test_diagnosis_series(struct test *t)
{
	static struct cgroup_name cg;
	struct metrics *m = registry(500, 300 * SEC);
	struct diagnosis d;
	struct capture c = {0};
	const char *text;

	EXPECT(m, "registry");
	/* Three refused connects from ephemeral ports, folded into one. */
	d = diag(DIAG_CONNECTION_REFUSED, TT_SIDE_CLIENT,
		 key4("10.0.1.5", 43122, "10.0.2.10", 8080), 3);
	metrics_diagnosis(m, &d, SEC);
	/* A scan of a closed port here, seen from the server end. */
	d = diag(DIAG_PORT_CLOSED, TT_SIDE_SERVER, key4("10.0.2.10", 9999, "10.0.1.7", 51515), 1);
	d.severity = SEV_INFO;
	metrics_diagnosis(m, &d, SEC);
	text = render(m, &c);
	EXPECT(strstr(text, "tcptrace_diagnoses_total{side=\"client\",raddr=\"10.0.2.10\","
			    "rport=\"8080\",lport=\"\",container=\"\",code=\"CONNECTION_REFUSED\","
			    "severity=\"error\"} 3\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_diagnoses_total{side=\"server\",raddr=\"10.0.1.7\","
			    "rport=\"\",lport=\"9999\",container=\"\",code=\"PORT_CLOSED\","
			    "severity=\"info\"} 1\n"), "%s", text);
	/* The owner's container is a label, its pid never: the same endpoint
	 * from another unit is a series of its own. */
	cgroup_name_parse(&cg, "/system.slice/web.service", NULL);
	d = diag(DIAG_PORT_CLOSED, TT_SIDE_SERVER, key4("10.0.2.10", 9999, "10.0.1.7", 51515), 1);
	d.severity = SEV_INFO;
	d.pid = 4242;
	d.cgroup = &cg;
	metrics_diagnosis(m, &d, SEC);
	capture_close(&c);
	text = render(m, &c);
	EXPECT(strstr(text, "tcptrace_diagnoses_total{side=\"server\",raddr=\"10.0.1.7\","
			    "rport=\"\",lport=\"9999\",container=\"web.service\",code=\"PORT_CLOSED\","
			    "severity=\"info\"} 1\n"), "%s", text);
	EXPECT(!strstr(text, "4242"), "%s", text);
	EXPECT(strstr(text, "tcptrace_connections_failed_total{side=\"client\",raddr=\"10.0.2.10\","
			    "rport=\"8080\",lport=\"\",container=\"\",reason=\"refused\"} 3\n"), "%s", text);
	/* The clients' ephemeral ports are nowhere. */
	EXPECT(!strstr(text, "43122") && !strstr(text, "51515"), "ephemeral port in %s", text);
	EXPECT(strstr(text, "# TYPE tcptrace_diagnoses_total counter\n"), "%s", text);
out:
	capture_close(&c);
	metrics_free(m);
}

/* A port scan's report (evidence "ports"), at either end: one series per
 * peer, no port label, however many ports and scans. */
static void test_scan_series_portless(struct test *t)
{
	struct metrics *m = registry(500, 300 * SEC);
	struct diagnosis d;
	struct capture c = {0};
	const char *text;

	EXPECT(m, "registry");
	for (int i = 0; i < 2; i++) {
		/* the scanned host, twice (the scan goes on) ... */
		d = diag(DIAG_PORT_CLOSED, TT_SIDE_SERVER,
			 key4("10.0.2.10", 20 + i, "10.0.1.7", 51515), i ? 1 : 50);
		d.severity = SEV_INFO;
		d.evidence[0].name = "ports";
		d.evidence[0].value = i ? 1 : 50;
		d.n_evidence = 1;
		metrics_diagnosis(m, &d, SEC);
		/* ... and the scanner */
		d = diag(DIAG_CONNECTION_REFUSED, TT_SIDE_CLIENT,
			 key4("10.0.1.7", 51515, "10.0.2.10", 20 + i), i ? 1 : 50);
		d.evidence[0].name = "ports";
		d.evidence[0].value = i ? 1 : 50;
		d.n_evidence = 1;
		metrics_diagnosis(m, &d, SEC);
	}
	text = render(m, &c);
	EXPECT(strstr(text, "tcptrace_diagnoses_total{side=\"server\",raddr=\"10.0.1.7\","
			    "rport=\"\",lport=\"\",container=\"\",code=\"PORT_CLOSED\","
			    "severity=\"info\"} 51\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_diagnoses_total{side=\"client\",raddr=\"10.0.2.10\","
			    "rport=\"\",lport=\"\",container=\"\",code=\"CONNECTION_REFUSED\","
			    "severity=\"error\"} 51\n"), "%s", text);
	EXPECT_EQ(count_lines(text, "tcptrace_diagnoses_total{"), 2);
out:
	capture_close(&c);
	metrics_free(m);
}

static struct conn_record conn(struct flow_key k, enum tt_side side, bool open)
{
	struct conn_record c;

	memset(&c, 0, sizeof(c));
	c.key = k;
	c.side = side;
	c.open = open;
	c.start_known = true;
	c.n_states = open ? 2 : 4;
	c.states[0] = TT_TCP_SYN_SENT;
	c.states[1] = TT_TCP_ESTABLISHED;
	c.states[2] = TT_TCP_FIN_WAIT1;
	c.states[3] = TT_TCP_CLOSE;
	c.close_reason = open ? "open" : "fin";
	return c;
}

/* A periodic record, then the final one: counters grow by the difference. */
static void test_conn_deltas(struct test *t)
{
	struct flow_key k = key4("10.0.1.5", 40000, "10.0.2.10", 8080);
	struct metrics *m = registry(500, 300 * SEC);
	struct capture c = {0};
	struct conn_record r;
	const char *text;

	EXPECT(m, "registry");
	r = conn(k, TT_SIDE_CLIENT, true);
	r.connect_ns = 3 * 1000000ULL;		/* 3 ms: the 0.005 bucket */
	r.bytes_sent = 100;
	r.bytes_received = 1000;
	r.retrans = 2;
	r.retrans_rto = 1;
	metrics_conn(m, &r, SEC);
	r.open = false;
	r.close_reason = "reset_by_peer";
	r.bytes_sent = 250;
	r.bytes_received = 1500;
	r.retrans = 5;
	r.retrans_rto = 1;
	r.retrans_fast = 3;
	r.srtt_us = 1500;			/* 1.5 ms: the 0.0025 bucket */
	metrics_conn(m, &r, 2 * SEC);
	text = render(m, &c);
#define EP "side=\"client\",raddr=\"10.0.2.10\",rport=\"8080\",lport=\"\",container=\"\""
	EXPECT(strstr(text, "tcptrace_connections_opened_total{" EP "} 1\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_bytes_sent_total{" EP "} 250\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_bytes_received_total{" EP "} 1500\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_retransmits_total{" EP ",kind=\"rto\"} 1\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_retransmits_total{" EP ",kind=\"fast\"} 3\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_retransmits_total{" EP ",kind=\"other\"} 1\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_connections_reset_total{" EP ",direction=\"received\"} 1\n"),
	       "%s", text);
	EXPECT(strstr(text, "tcptrace_connect_duration_seconds_bucket{" EP ",le=\"0.0025\"} 0\n"),
	       "%s", text);
	EXPECT(strstr(text, "tcptrace_connect_duration_seconds_bucket{" EP ",le=\"0.005\"} 1\n"),
	       "%s", text);
	EXPECT(strstr(text, "tcptrace_connect_duration_seconds_bucket{" EP ",le=\"+Inf\"} 1\n"),
	       "%s", text);
	EXPECT(strstr(text, "tcptrace_connect_duration_seconds_sum{" EP "} 0.003\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_rtt_seconds_bucket{" EP ",le=\"0.001\"} 0\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_rtt_seconds_bucket{" EP ",le=\"0.0025\"} 1\n"), "%s", text);
	EXPECT(strstr(text, "tcptrace_rtt_seconds_count{" EP "} 1\n"), "%s", text);
	EXPECT(!strstr(text, "40000"), "ephemeral port in %s", text);
#undef EP
out:
	capture_close(&c);
	metrics_free(m);
}

/* 2,000 endpoints through a cap of 50: 50 of their own and "other". */
static void test_cardinality_cap(struct test *t)
{
	struct metrics *m = registry(50, 300 * SEC);
	struct capture c = {0};
	const char *text;
	char other[256];

	EXPECT(m, "registry");
	for (int i = 0; i < 2000; i++) {
		struct diagnosis d = diag(DIAG_CONNECTION_REFUSED, TT_SIDE_CLIENT,
					  key4("10.0.1.5", 40000, "10.0.2.10", 20000 + i), 1);

		metrics_diagnosis(m, &d, SEC + i);
		if (i % 100 == 0)
			metrics_tick(m, SEC + i);
	}
	metrics_tick(m, 3 * SEC);
	EXPECT_EQ(metrics_endpoints(m), 50);
	text = render(m, &c);
	EXPECT_EQ(count_lines(text, "tcptrace_diagnoses_total{"), 51);
	EXPECT_EQ(count_lines(text, "tcptrace_connections_failed_total{"), 51);
	snprintf(other, sizeof(other), "tcptrace_diagnoses_total{side=\"\",raddr=\"other\","
		 "rport=\"\",lport=\"\",container=\"\",code=\"CONNECTION_REFUSED\",severity=\"error\"} 1950\n");
	EXPECT(strstr(text, other), "no '%s' in the text", other);
out:
	capture_close(&c);
	metrics_free(m);
}

/* A busy endpoint that came after the cap was full takes a quiet one's place. */
static void test_busiest_kept(struct test *t)
{
	struct flow_key busy = key4("10.0.1.5", 40000, "10.9.9.9", 443);
	struct metrics *m = registry(5, 300 * SEC);
	struct capture c = {0};
	struct diagnosis d;
	const char *text;

	EXPECT(m, "registry");
	for (int i = 0; i < 5; i++) {
		d = diag(DIAG_PEER_RESET, TT_SIDE_CLIENT,
			 key4("10.0.1.5", 40000, "10.0.2.10", 8000 + i), 1);
		metrics_diagnosis(m, &d, SEC);
	}
	for (int i = 0; i < 50; i++) {
		d = diag(DIAG_PACKET_LOSS, TT_SIDE_CLIENT, busy, 1);
		metrics_diagnosis(m, &d, 2 * SEC);
	}
	metrics_tick(m, 3 * SEC);
	EXPECT_EQ(metrics_endpoints(m), 5);
	d = diag(DIAG_PACKET_LOSS, TT_SIDE_CLIENT, busy, 1);
	metrics_diagnosis(m, &d, 4 * SEC);
	text = render(m, &c);
	/* Its own series from its promotion on; what came before is in "other". */
	EXPECT(strstr(text, "raddr=\"10.9.9.9\",rport=\"443\",lport=\"\",container=\"\",code=\"PACKET_LOSS\","
			    "severity=\"error\"} 1\n"), "%s", text);
	EXPECT(strstr(text, "raddr=\"other\",rport=\"\",lport=\"\",container=\"\",code=\"PACKET_LOSS\","
			    "severity=\"error\"} 50\n"), "%s", text);
	EXPECT_EQ(count_lines(text, "tcptrace_diagnoses_total{side=\"client\""), 5);
out:
	capture_close(&c);
	metrics_free(m);
}

/* An endpoint without a record for the TTL loses its series. */
static void test_ttl(struct test *t)
{
	struct metrics *m = registry(500, 60 * SEC);
	struct capture c = {0};
	struct diagnosis d;
	const char *text;

	EXPECT(m, "registry");
	d = diag(DIAG_PEER_RESET, TT_SIDE_CLIENT, key4("10.0.1.5", 1, "10.0.2.10", 8080), 1);
	metrics_diagnosis(m, &d, SEC);
	d = diag(DIAG_PEER_RESET, TT_SIDE_CLIENT, key4("10.0.1.5", 1, "10.0.2.11", 8080), 1);
	metrics_diagnosis(m, &d, 50 * SEC);
	metrics_tick(m, 60 * SEC);
	EXPECT_EQ(metrics_endpoints(m), 2);
	metrics_tick(m, 61 * SEC);
	EXPECT_EQ(metrics_endpoints(m), 1);
	text = render(m, &c);
	EXPECT(!strstr(text, "10.0.2.10\""), "expired series still there: %s", text);
	EXPECT(strstr(text, "10.0.2.11\""), "live series gone: %s", text);
	EXPECT(strstr(text, "tcptrace_metrics_endpoints_expired_total 1\n"), "%s", text);
out:
	capture_close(&c);
	metrics_free(m);
}

/* The whole text, health and histograms included, as Prometheus' own checker sees it. */
static void test_promtool(struct test *t)
{
	struct metrics *m = registry(500, 300 * SEC);
	struct prog_stat progs[] = { { "set_state_btf", 10, 2500 } };
	struct health_report h = { .events = 5, .progs = progs, .n_progs = 1 };
	struct capture c = {0};
	struct conn_record r;
	struct diagnosis d;
	const char *text;
	FILE *p;

	EXPECT(m, "registry");
	if (system("command -v promtool >/dev/null 2>&1")) {
		printf("SKIP promtool: not installed (apt-get install prometheus)\n");
		goto out;
	}
	d = diag(DIAG_SYN_UNANSWERED, TT_SIDE_CLIENT, key4("10.0.1.5", 1, "10.0.2.10", 8080), 2);
	metrics_diagnosis(m, &d, SEC);
	r = conn(key4("10.0.1.5", 40001, "10.0.2.10", 8080), TT_SIDE_CLIENT, false);
	r.connect_ns = 1000000;
	r.srtt_us = 300;
	r.bytes_sent = 10;
	metrics_conn(m, &r, SEC);
	metrics_health(m, &h);
	text = render(m, &c);
	p = popen("promtool check metrics >/tmp/test_metrics.promtool 2>&1", "w");
	EXPECT(p, "popen");
	fputs(text, p);
	EXPECT(pclose(p) == 0, "promtool check metrics failed: %s",
	       system("cat /tmp/test_metrics.promtool >&2") ? "" : "(above)");
out:
	unlink("/tmp/test_metrics.promtool");
	capture_close(&c);
	metrics_free(m);
}

/* ---------------------------------------------------------------- server */

static void body(FILE *out, void *ctx)
{
	fprintf(out, "tcptrace_up %d\n", *(int *)ctx);
}

static int dial(__u16 port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends req, reads the whole answer (the server closes), within 2 s. */
static int ask(__u16 port, const char *req, char *resp, size_t len)
{
	struct pollfd p;
	size_t have = 0;
	int fd = dial(port);
	ssize_t n;

	if (fd < 0)
		return -1;
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		close(fd);
		return -1;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	/* 5 s: a server blocked behind another client never answers; a
	 * sanitizer build on a loaded machine answers within seconds. */
	while (have + 1 < len && poll(&p, 1, 5000) == 1 &&
	       (n = recv(fd, resp + have, len - 1 - have, 0)) > 0)
		have += n;
	resp[have] = '\0';
	close(fd);
	return have ? 0 : -1;
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void test_server(struct test *t)
{
	struct http_server *s = NULL, *twin = NULL;
	int value = 7, errnum, stalled[HTTP_CLIENTS - 2];
	char resp[4096], err[256];
	struct http_counts hc;
	long long t0;
	__u16 port;

	for (int i = 0; i < HTTP_CLIENTS - 2; i++)
		stalled[i] = -1;
	s = http_server_start("127.0.0.1", 0, "text/plain; version=0.0.4", body, &value,
			      &errnum, err, sizeof(err));
	EXPECT(s, "start: %s", err);
	port = http_server_port(s);
	EXPECT(!ask(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof(resp)), "ask");
	EXPECT(!strncmp(resp, "HTTP/1.1 200 OK\r\n", 17), "%s", resp);
	EXPECT(strstr(resp, "Content-Type: text/plain; version=0.0.4\r\n"), "%s", resp);
	EXPECT(strstr(resp, "\r\n\r\ntcptrace_up 7\n"), "%s", resp);
	EXPECT(!ask(port, "GET /nope HTTP/1.1\r\n\r\n", resp, sizeof(resp)), "ask");
	EXPECT(!strncmp(resp, "HTTP/1.1 404", 12), "%s", resp);
	EXPECT(!ask(port, "POST /metrics HTTP/1.1\r\n\r\n", resp, sizeof(resp)), "ask");
	EXPECT(!strncmp(resp, "HTTP/1.1 405", 12), "%s", resp);
	EXPECT(!ask(port, "\x16\x03\x01 garbage\r\n\r\n", resp, sizeof(resp)), "ask");
	EXPECT(!strncmp(resp, "HTTP/1.1 400", 12), "%s", resp);

	/* Clients that connect and say nothing, or half a request: the
	 * next scrape is answered at once all the same. */
	for (int i = 0; i < HTTP_CLIENTS - 2; i++) {
		stalled[i] = dial(port);
		EXPECT(stalled[i] >= 0, "dial");
		if (i % 2)
			EXPECT(send(stalled[i], "GET /met", 8, 0) == 8, "send");
	}
	t0 = ms_now();
	EXPECT(!ask(port, "GET /metrics HTTP/1.0\r\n\r\n", resp, sizeof(resp)), "ask");
	EXPECT(strstr(resp, "tcptrace_up 7\n"), "%s", resp);
	EXPECT(ms_now() - t0 < 500, "a scrape behind stalled clients took %lld ms", ms_now() - t0);
	http_server_counts(s, &hc);
	EXPECT_EQ(hc.served, 2);
	EXPECT(hc.errors >= 3, "errors %llu", (unsigned long long)hc.errors);

	/* The port is taken: said, with the errno the caller tells apart. */
	twin = http_server_start("127.0.0.1", port, "text/plain", body, &value, &errnum, err,
				 sizeof(err));
	EXPECT(!twin && errnum == EADDRINUSE, "second bind: errno %d", errnum);
	EXPECT(strstr(err, "Address already in use"), "%s", err);
	/* An address of no interface here. */
	twin = http_server_start("192.0.2.1", 0, "text/plain", body, &value, &errnum, err,
				 sizeof(err));
	EXPECT(!twin && errnum == EADDRNOTAVAIL, "foreign address: errno %d (%s)", errnum, err);
out:
	for (int i = 0; i < HTTP_CLIENTS - 2; i++)
		if (stalled[i] >= 0)
			close(stalled[i]);
	http_server_stop(twin);
	http_server_stop(s);
}

/* A client that asks and never reads a large answer holds only its own slot. */
static void big_body(FILE *out, void *ctx)
{
	(void)ctx;
	for (int i = 0; i < 200000; i++)
		fprintf(out, "tcptrace_filler{n=\"%d\"} 1\n", i);
}

static void test_never_reading_client(struct test *t)
{
	struct http_server *s;
	char resp[512], err[256];
	int errnum, lazy = -1, rcvbuf = 4096;
	long long t0;

	s = http_server_start("127.0.0.1", 0, "text/plain", big_body, NULL, &errnum, err,
			      sizeof(err));
	EXPECT(s, "start: %s", err);
	lazy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lazy, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	{
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(http_server_port(s)) };

		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		EXPECT(!connect(lazy, (struct sockaddr *)&a, sizeof(a)), "connect");
	}
	EXPECT(send(lazy, "GET /metrics HTTP/1.1\r\n\r\n", 25, 0) == 25, "send");
	usleep(200000);		/* its answer fills the socket buffers and waits */
	t0 = ms_now();
	EXPECT(!ask(http_server_port(s), "GET / HTTP/1.1\r\n\r\n", resp, sizeof(resp)), "ask");
	EXPECT(!strncmp(resp, "HTTP/1.1 200", 12), "%s", resp);
	EXPECT(ms_now() - t0 < 3000, "took %lld ms behind a client that does not read",
	       ms_now() - t0);
out:
	if (lazy >= 0)
		close(lazy);
	http_server_stop(s);
}

static const struct test_case tests[] = {
	TEST(test_diagnosis_series),
	TEST(test_scan_series_portless),
	TEST(test_conn_deltas),
	TEST(test_cardinality_cap),
	TEST(test_busiest_kept),
	TEST(test_ttl),
	TEST(test_promtool),
	TEST(test_server),
	TEST(test_never_reading_client),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
