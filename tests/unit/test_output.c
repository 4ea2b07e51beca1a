// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the outputs (user/output.c): a diagnosis, a conn record,
 * the stats record and an error, as text and as JSON lines. The JSON
 * records are the tool's interface (jq filters, the lab, metrics
 * pipelines): their fields and order are compared whole.
 */
#include <arpa/inet.h>
#include <errno.h>
#include "cgroups.h"
#include "output.h"
#include "harness.h"
#include "capture.h"

/* 2024-01-02T03:04:05.678Z, with the monotonic clock taken as wall time. */
#define TS	1704164645678000000ULL
#define NETNS	4026531840u

static struct flow_key key(__u16 family, const char *laddr, const char *raddr)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.netns = NETNS;
	k.family = family;
	k.lport = 43122;
	k.rport = 8080;
	inet_pton(family == TT_AF_INET6 ? AF_INET6 : AF_INET, laddr, k.laddr);
	inet_pton(family == TT_AF_INET6 ? AF_INET6 : AF_INET, raddr, k.raddr);
	return k;
}

static void evidence(struct diagnosis *d, const char *name, long long value)
{
	d->evidence[d->n_evidence].name = name;
	d->evidence[d->n_evidence].value = value;
	d->n_evidence++;
}

/* An output writing into c, its clock pinned so timestamps are known. */
static void output_open(struct output *o, struct capture *c, bool json)
{
	output_init(o, capture_open(c), json);
	o->mono_to_real_ns = 0;
}

/* service-a's client saw 10.0.2.10:8080 reset it (the README's sample). */
static void peer_reset(struct diagnosis *d)
{
	memset(d, 0, sizeof(*d));
	d->code = DIAG_PEER_RESET;
	d->severity = SEV_ERROR;
	d->side = TT_SIDE_CLIENT;
	d->key = key(TT_AF_INET, "10.0.1.5", "10.0.2.10");
	d->pid = 7657;
	strcpy(d->comm, "peer");
	d->ts_ns = TS;
	d->connections = 1;
	d->app_error = ECONNRESET;
	evidence(d, "bytes_sent", 64);
	evidence(d, "bytes_received", 0);
	evidence(d, "unsent_bytes", 0);
	evidence(d, "unread_bytes", 0);
	evidence(d, "request_pending", 1);
	evidence(d, "age_ms", 301);
}

/* Three IPv6 connects nobody answered, folded, while events were lost. */
static void syn_unanswered_v6(struct diagnosis *d)
{
	memset(d, 0, sizeof(*d));
	d->code = DIAG_SYN_UNANSWERED;
	d->severity = SEV_ERROR;
	d->side = TT_SIDE_CLIENT;
	d->key = key(TT_AF_INET6, "fd00:1::5", "fd00:2::10");
	d->ts_ns = TS;
	d->connections = 3;
	d->events_lost = true;
	evidence(d, "syns_sent", 4);
	evidence(d, "syn_retrans", 3);
	evidence(d, "waited_ms", 3800);
}

static void test_diagnosis_text(struct test *t)
{
	struct diagnosis d;
	struct capture c;
	struct output o;

	output_open(&o, &c, false);
	peer_reset(&d);
	output_diagnosis(&o, &d);
	EXPECT_STR(capture_text(&c),
		"03:04:05.678Z PEER_RESET       10.0.1.5:43122 -> 10.0.2.10:8080  "
		"10.0.2.10:8080 reset the connection after 301ms (64 bytes sent, 0 received), "
		"cutting off a pending request\n"
		"  1 connection, process 7657 (peer)\n"
		"  the application saw: ECONNRESET (Connection reset by peer)\n"
		"  likely: the process on 10.0.2.10 crashed or was killed (OOM killer, a deploy) "
		"and its kernel reset its connections (7)\n"
		"     or: the application there closed the socket with unread data, or with "
		"SO_LINGER 0, or gave up waiting for an answer\n"
		"     or: a firewall, NAT or load balancer on the path lost the connection's state "
		"(idle timeout) and answered with RST (1, 4)\n"
		"   check: on 10.0.2.10: journalctl -k | grep -i -e oom -e 'killed process'\n"
		"       ; on 10.0.2.10: journalctl -p err --since -15min\n"
		"       ; ss -tni dst 10.0.2.10\n");
out:
	capture_close(&c);
}

/* The owner's container or unit follows its process; with no process, alone. */
static void test_diagnosis_text_container(struct test *t)
{
	static struct cgroup_name cg;
	struct diagnosis d;
	struct capture c;
	struct output o;

	output_open(&o, &c, false);
	peer_reset(&d);
	cgroup_name_parse(&cg, "/system.slice/web.service", NULL);
	d.cgroup = &cg;
	output_diagnosis(&o, &d);
	EXPECT(strstr(capture_text(&c), "\n  1 connection, process 7657 (peer) in web.service\n"),
	       "%s", capture_text(&c));
	capture_close(&c);
	output_open(&o, &c, false);
	d.pid = 0;
	d.comm[0] = '\0';
	output_diagnosis(&o, &d);
	EXPECT(strstr(capture_text(&c), "\n  1 connection in web.service\n"), "%s",
	       capture_text(&c));
out:
	capture_close(&c);
}

/* IPv6 endpoints in brackets, the fold count, the caveat of lost events. */
static void test_diagnosis_text_folded_v6(struct test *t)
{
	struct diagnosis d;
	struct capture c;
	struct output o;

	output_open(&o, &c, false);
	syn_unanswered_v6(&d);
	output_diagnosis(&o, &d);
	EXPECT_STR(capture_text(&c),
		"03:04:05.678Z SYN_UNANSWERED   [fd00:1::5]:43122 -> [fd00:2::10]:8080  "
		"4 SYNs left this host over 3.8s, nothing came back (no SYN-ACK or RST "
		"reached the socket) (3 connections)\n"
		"  3 connections\n"
		"  likely: a firewall silently drops SYNs to tcp/8080: on fd00:2::10, in this "
		"host's OUTPUT chain, or a security group between them (1)\n"
		"     or: a routing problem past the first hop: a router cannot forward to "
		"fd00:2::10 or back to this host (2)\n"
		"     or: fd00:2::10 is down, or its network interface is (3)\n"
		"     or: a NAT on the path rewrites the SYN and has no mapping for the reply (4)\n"
		"   check: traceroute -6 -T -p 8080 fd00:2::10\n"
		"       ; on fd00:2::10: ss -ltn 'sport = :8080'\n"
		"       ; nft list ruleset | grep -w 8080\n"
		"       ; ip route get fd00:2::10\n"
		"  caveat: the tracer lost events meanwhile; this may be incomplete\n");
out:
	capture_close(&c);
}

static void test_diagnosis_json(struct test *t)
{
	struct diagnosis d;
	struct capture c;
	struct output o;

	output_open(&o, &c, true);
	peer_reset(&d);
	output_diagnosis(&o, &d);
	EXPECT_STR(capture_text(&c),
		"{\"type\":\"diagnosis\",\"ts\":\"2024-01-02T03:04:05.678Z\","
		"\"code\":\"PEER_RESET\",\"severity\":\"error\",\"side\":\"client\","
		"\"family\":\"ipv4\",\"laddr\":\"10.0.1.5\",\"lport\":43122,"
		"\"raddr\":\"10.0.2.10\",\"rport\":8080,\"netns\":4026531840,"
		"\"pid\":7657,\"comm\":\"peer\",\"cgroup_id\":0,"
		"\"cgroup\":null,\"container\":null,\"container_id\":null,\"pod_uid\":null,\"pod\":null,"
		"\"summary\":\"10.0.2.10:8080 reset the connection after 301ms "
		"(64 bytes sent, 0 received), cutting off a pending request\","
		"\"evidence\":{\"bytes_sent\":64,\"bytes_received\":0,\"unsent_bytes\":0,"
		"\"unread_bytes\":0,\"request_pending\":1,\"age_ms\":301},"
		"\"causes\":[\"the process on 10.0.2.10 crashed or was killed (OOM killer, "
		"a deploy) and its kernel reset its connections (7)\",\"the application "
		"there closed the socket with unread data, or with SO_LINGER 0, or gave up "
		"waiting for an answer\",\"a "
		"firewall, NAT or load balancer on the path lost the connection's state "
		"(idle timeout) and answered with RST (1, 4)\"],"
		"\"checks\":[\"on 10.0.2.10: journalctl -k | grep -i -e oom -e 'killed "
		"process'\",\"on 10.0.2.10: journalctl -p err --since -15min\",\"ss -tni "
		"dst 10.0.2.10\"],"
		"\"app_error\":\"ECONNRESET\",\"connections\":1,\"events_lost\":false}\n");
out:
	capture_close(&c);
}

/* Unknown owner and error are null, not empty or zero. */
static void test_diagnosis_json_nulls(struct test *t)
{
	struct diagnosis d;
	struct capture c;
	struct output o;

	output_open(&o, &c, true);
	syn_unanswered_v6(&d);
	output_diagnosis(&o, &d);
	EXPECT_STR(capture_text(&c),
		"{\"type\":\"diagnosis\",\"ts\":\"2024-01-02T03:04:05.678Z\","
		"\"code\":\"SYN_UNANSWERED\",\"severity\":\"error\",\"side\":\"client\","
		"\"family\":\"ipv6\",\"laddr\":\"fd00:1::5\",\"lport\":43122,"
		"\"raddr\":\"fd00:2::10\",\"rport\":8080,\"netns\":4026531840,"
		"\"pid\":null,\"comm\":null,\"cgroup_id\":0,"
		"\"cgroup\":null,\"container\":null,\"container_id\":null,\"pod_uid\":null,\"pod\":null,"
		"\"summary\":\"4 SYNs left this host over 3.8s, nothing came back (no "
		"SYN-ACK or RST reached the socket) (3 connections)\","
		"\"evidence\":{\"syns_sent\":4,\"syn_retrans\":3,\"waited_ms\":3800},"
		"\"causes\":[\"a firewall silently drops SYNs to tcp/8080: on fd00:2::10, "
		"in this host's OUTPUT chain, or a security group between them (1)\",\"a "
		"routing problem past the first hop: a router cannot forward to fd00:2::10 "
		"or back to this host (2)\",\"fd00:2::10 is down, or its network interface "
		"is (3)\",\"a NAT on the path rewrites the SYN and has no mapping for the "
		"reply (4)\"],"
		"\"checks\":[\"traceroute -6 -T -p 8080 fd00:2::10\",\"on fd00:2::10: ss "
		"-ltn 'sport = :8080'\",\"nft list ruleset | grep -w 8080\",\"ip route get "
		"fd00:2::10\"],"
		"\"app_error\":null,\"connections\":3,\"events_lost\":true}\n");
out:
	capture_close(&c);
}

/* A process name is any bytes: the record stays valid JSON. */
static void test_diagnosis_json_comm_escaped(struct test *t)
{
	struct diagnosis d;
	struct capture c;
	struct output o;

	output_open(&o, &c, true);
	peer_reset(&d);
	strcpy(d.comm, "a\"b\x01");
	output_diagnosis(&o, &d);
	EXPECT(strstr(capture_text(&c), ",\"comm\":\"a\\\"b\\u0001\","),
	       "comm: %s", capture_text(&c));
out:
	capture_close(&c);
}

/* Invalid UTF-8 in a comm is escaped byte by byte: the line stays UTF-8. */
static void test_diagnosis_json_comm_not_utf8(struct test *t)
{
	struct diagnosis d;
	struct capture c;
	struct output o;

	output_open(&o, &c, true);
	peer_reset(&d);
	strcpy(d.comm, "x\xff\xc3");
	output_diagnosis(&o, &d);
	EXPECT(strstr(capture_text(&c), ",\"comm\":\"x\\u00ff\\u00c3\","),
	       "comm: %s", capture_text(&c));
out:
	capture_close(&c);
}

/* In text, a comm's escape sequence reaches the terminal as '?'s. */
static void test_diagnosis_text_comm_clean(struct test *t)
{
	struct diagnosis d;
	struct capture c;
	struct output o;

	output_open(&o, &c, false);
	peer_reset(&d);
	strcpy(d.comm, "\x1b]0;x\x07\x9b" "2J");
	output_diagnosis(&o, &d);
	EXPECT(strstr(capture_text(&c), "  1 connection, process 7657 (?]0;x??2J)\n"),
	       "text: %s", capture_text(&c));
	EXPECT(!strchr(capture_text(&c), '\x1b'), "raw ESC in: %s", capture_text(&c));
out:
	capture_close(&c);
}

static void conn_closed(struct conn_record *c)
{
	memset(c, 0, sizeof(*c));
	c->key = key(TT_AF_INET, "10.0.1.5", "10.0.2.10");
	c->side = TT_SIDE_CLIENT;
	c->pid = 4242;
	strcpy(c->comm, "svc-a");
	c->cgroup_id = 77;
	c->start_ns = TS - 2500000000ULL;
	c->ts_ns = TS;
	c->start_known = true;
	c->n_states = 4;
	c->states[0] = TT_TCP_SYN_SENT;
	c->states[1] = TT_TCP_ESTABLISHED;
	c->states[2] = TT_TCP_FIN_WAIT1;
	c->states[3] = TT_TCP_CLOSE;
	c->connect_ns = 1500000;
	c->bytes_sent = 120;
	c->bytes_received = 4000;
	c->segs_out = 10;
	c->segs_in = 12;
	c->data_segs_out = 2;
	c->data_segs_in = 3;
	c->retrans = 1;
	c->retrans_rto = 1;
	c->srtt_us = 1200;
	c->min_rtt_us = 800;
	c->close_reason = "fin";
	c->codes = (1u << DIAG_PACKET_LOSS) | (1u << DIAG_PEER_RESET);
}

static void test_conn_json(struct test *t)
{
	static struct cgroup_name cg;
	struct conn_record r;
	struct capture c;
	struct output o;

	output_open(&o, &c, true);
	conn_closed(&r);
	cgroup_name_parse(&cg, "/system.slice/docker-0123456789abcdef0123456789abcdef"
			  "0123456789abcdef0123456789abcdef.scope", NULL);
	r.cgroup = &cg;
	output_conn(&o, &r, false);
	EXPECT_STR(capture_text(&c),
		"{\"type\":\"conn\",\"ts\":\"2024-01-02T03:04:05.678Z\",\"side\":\"client\","
		"\"family\":\"ipv4\",\"laddr\":\"10.0.1.5\",\"lport\":43122,"
		"\"raddr\":\"10.0.2.10\",\"rport\":8080,\"netns\":4026531840,"
		"\"pid\":4242,\"comm\":\"svc-a\",\"cgroup_id\":77,"
		"\"cgroup\":\"/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\","
		"\"container\":\"docker:0123456789ab\","
		"\"container_id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
		"\"pod_uid\":null,\"pod\":null,"
		"\"start\":\"2024-01-02T03:04:03.178Z\",\"duration_ms\":2500,\"open\":false,"
		"\"state_path\":[\"SYN_SENT\",\"ESTABLISHED\",\"FIN_WAIT1\",\"CLOSE\"],"
		"\"connect_ms\":1,\"bytes_sent\":120,\"bytes_received\":4000,"
		"\"segs_out\":10,\"segs_in\":12,\"data_segs_out\":2,\"data_segs_in\":3,"
		"\"retransmits\":1,\"retransmits_rto\":1,\"retransmits_fast\":0,"
		"\"syn_retransmits\":0,\"srtt_us\":1200,\"min_rtt_us\":800,"
		"\"resets_received\":0,\"resets_sent\":0,\"close_reason\":\"fin\","
		"\"app_error\":null,\"codes\":[\"PACKET_LOSS\",\"PEER_RESET\"],"
		"\"events_lost\":false}\n");
out:
	capture_close(&c);
}

/* An open flow met mid-life: no start, no connect time, no codes yet. */
static void test_conn_json_open(struct test *t)
{
	struct conn_record r;
	struct capture c;
	struct output o;

	output_open(&o, &c, true);
	conn_closed(&r);
	r.key = key(TT_AF_INET6, "fd00:1::5", "fd00:2::10");
	r.start_known = false;
	r.open = true;
	r.connect_ns = 0;
	r.pid = 0;
	r.comm[0] = '\0';
	r.codes = 0;
	r.app_error = ETIMEDOUT;
	r.events_lost = true;
	r.close_reason = "open";
	output_conn(&o, &r, false);
	EXPECT_STR(capture_text(&c),
		"{\"type\":\"conn\",\"ts\":\"2024-01-02T03:04:05.678Z\",\"side\":\"client\","
		"\"family\":\"ipv6\",\"laddr\":\"fd00:1::5\",\"lport\":43122,"
		"\"raddr\":\"fd00:2::10\",\"rport\":8080,\"netns\":4026531840,"
		"\"pid\":null,\"comm\":null,\"cgroup_id\":77,"
		"\"cgroup\":null,\"container\":null,\"container_id\":null,\"pod_uid\":null,\"pod\":null,"
		"\"start\":null,\"duration_ms\":2500,\"open\":true,"
		"\"state_path\":[\"SYN_SENT\",\"ESTABLISHED\",\"FIN_WAIT1\",\"CLOSE\"],"
		"\"connect_ms\":null,\"bytes_sent\":120,\"bytes_received\":4000,"
		"\"segs_out\":10,\"segs_in\":12,\"data_segs_out\":2,\"data_segs_in\":3,"
		"\"retransmits\":1,\"retransmits_rto\":1,\"retransmits_fast\":0,"
		"\"syn_retransmits\":0,\"srtt_us\":1200,\"min_rtt_us\":800,"
		"\"resets_received\":0,\"resets_sent\":0,\"close_reason\":\"open\","
		"\"app_error\":\"ETIMEDOUT\",\"codes\":[],\"events_lost\":true}\n");
out:
	capture_close(&c);
}

/* In text a conn record is a line under -v, nothing otherwise. */
static void test_conn_text(struct test *t)
{
	struct conn_record r;
	struct capture c;
	struct output o;

	output_open(&o, &c, false);
	conn_closed(&r);
	output_conn(&o, &r, false);
	EXPECT_STR(capture_text(&c), "");
	output_conn(&o, &r, true);
	EXPECT_STR(capture_text(&c),
		   "conn 10.0.1.5:43122 -> 10.0.2.10:8080 client fin 2500ms "
		   "SYN_SENT>ESTABLISHED>FIN_WAIT1>CLOSE connect 1ms sent 120B/10 received "
		   "4000B/12 retrans 1 (rto 1 fast 0) syn-retrans 0 rtt 1.2/0.8ms rst in 0 out 0 "
		   "process 4242 (svc-a) codes PACKET_LOSS,PEER_RESET\n");
	capture_close(&c);
	/* IPv6 in brackets; a live one met mid-life: no connect time, no owner. */
	output_open(&o, &c, false);
	r.key = key(TT_AF_INET6, "fd00:1::5", "fd00:2::10");
	r.close_reason = "open";
	r.open = true;
	r.connect_ns = 0;
	r.pid = 0;
	r.codes = 0;
	r.n_states = 0;
	output_conn(&o, &r, true);
	EXPECT_STR(capture_text(&c),
		   "conn [fd00:1::5]:43122 -> [fd00:2::10]:8080 client open 2500ms - sent "
		   "120B/10 received 4000B/12 retrans 1 (rto 1 fast 0) syn-retrans 0 rtt "
		   "1.2/0.8ms rst in 0 out 0\n");
out:
	capture_close(&c);
}

static const struct prog_stat progs[] = {
	{ "set_state_btf", 100, 25000 },
	{ "nic_tc_in", 0, 0 },
};

static void health(struct health_report *h)
{
	memset(h, 0, sizeof(*h));
	h->events = 10;
	h->events_lost = 1;
	h->events_read = 12;
	h->flows_tracked = 1;
	h->flows_opened = 2;
	h->flows_evicted_kernel = 3;
	h->flows_evicted_table = 4;
	h->flow_map_full = 5;
	h->nic_flows_opened = 6;
	h->flows_evicted_nic = 7;
	h->nic_unparsed = 8;
	h->sockets_scanned = 9;
	h->netns_scanned = 12;
	h->scan_errors = 15;
	h->netns_unresolved = 13;
	h->netns_evicted = 14;
	h->diagnoses = 2;
	h->attach_us = 180500;
	h->progs = progs;
	h->n_progs = 2;
}

static void test_stats_json(struct test *t)
{
	struct health_report h;
	struct capture c;
	struct output o;

	output_open(&o, &c, true);
	health(&h);
	output_health(&o, TS, &h);
	h.scan_untracked = 11;
	h.classic = true;
	h.n_progs = 0;
	output_health(&o, TS, &h);
	EXPECT_STR(capture_text(&c),
		"{\"type\":\"stats\",\"ts\":\"2024-01-02T03:04:05.678Z\",\"events\":10,"
		"\"events_lost\":1,\"events_read\":12,\"flows_opened\":2,\"flows_tracked\":1,\"flows_evicted\":14,"
		"\"flows_evicted_kernel\":3,\"flows_evicted_table\":4,\"flow_map_full\":5,"
		"\"nic_flows_opened\":6,\"flows_evicted_nic\":7,\"nic_unparsed\":8,"
		"\"sockets_scanned\":9,\"sockets_unchanged\":0,\"scan_gap_ms\":0,\"sockets_untracked\":0,\"scan_errors\":15,"
		"\"netns_scanned\":12,"
		"\"netns_unresolved\":13,\"netns_evicted\":14,\"diagnoses\":2,"
		"\"attach_us\":180500,\"tracepoints\":\"tp_btf\",\"programs\":["
		"{\"name\":\"set_state_btf\",\"run_cnt\":100,\"avg_ns\":250},"
		"{\"name\":\"nic_tc_in\",\"run_cnt\":0,\"avg_ns\":0}]}\n"
		"{\"type\":\"stats\",\"ts\":\"2024-01-02T03:04:05.678Z\",\"events\":10,"
		"\"events_lost\":1,\"events_read\":12,\"flows_opened\":2,\"flows_tracked\":1,\"flows_evicted\":14,"
		"\"flows_evicted_kernel\":3,\"flows_evicted_table\":4,\"flow_map_full\":5,"
		"\"nic_flows_opened\":6,\"flows_evicted_nic\":7,\"nic_unparsed\":8,"
		"\"sockets_scanned\":9,\"sockets_unchanged\":0,\"scan_gap_ms\":0,\"sockets_untracked\":11,\"scan_errors\":15,"
		"\"netns_scanned\":12,"
		"\"netns_unresolved\":13,\"netns_evicted\":14,\"diagnoses\":2,"
		"\"attach_us\":180500,\"tracepoints\":\"classic\",\"programs\":[]}\n");
out:
	capture_close(&c);
}

static void test_stats_text(struct test *t)
{
	struct health_report h;
	struct capture c;
	struct output o;

	output_open(&o, &c, false);
	health(&h);
	output_health(&o, TS, &h);
	h.scan_untracked = 11;
	h.netns_unresolved = 0;
	output_health(&o, TS, &h);
	h.netns_unresolved = 1;
	output_health(&o, TS, &h);
	EXPECT_STR(capture_text(&c),
		"tcptrace-bpf: 10 events (1 lost), 2 flows opened, 1 tracked, 14 evicted "
		"(kernel map 3, NIC map 7, flow table 4, map full 5), 2 diagnoses; 13 network "
		"namespaces seen in events could not be scanned (no process or /run/netns "
		"name in them)\n"
		"tcptrace-bpf: 10 events (1 lost), 2 flows opened, 1 tracked, 14 evicted "
		"(kernel map 3, NIC map 7, flow table 4, map full 5), 2 diagnoses; the flow "
		"table was full: some sockets went unwatched (--max-flows)\n"
		"tcptrace-bpf: 10 events (1 lost), 2 flows opened, 1 tracked, 14 evicted "
		"(kernel map 3, NIC map 7, flow table 4, map full 5), 2 diagnoses; the flow "
		"table was full: some sockets went unwatched (--max-flows); 1 network "
		"namespace seen in events could not be scanned (no process or /run/netns "
		"name in it)\n");
out:
	capture_close(&c);
}

/* Under -j an error is a record too (stamped with the time it happened);
 * in text the one line on stderr is all, written by report.c. */
static void test_error(struct test *t)
{
	static const char tail[] = "\",\"message\":\"cannot \\\"attach\\\"\"}\n";
	struct capture c;
	struct output o;
	const char *s;

	output_open(&o, &c, false);
	output_error(&o, "cannot \"attach\"");
	EXPECT_STR(capture_text(&c), "");
	capture_close(&c);

	output_open(&o, &c, true);
	output_error(&o, "cannot \"attach\"");
	s = capture_text(&c);
	EXPECT(!strncmp(s, "{\"type\":\"error\",\"ts\":\"", 22), "record: %s", s);
	EXPECT(strlen(s) == 22 + 24 + strlen(tail) && !strcmp(s + 22 + 24, tail),
	       "record: %s", s);
out:
	capture_close(&c);
}

static const struct test_case tests[] = {
	TEST(test_diagnosis_text),
	TEST(test_diagnosis_text_folded_v6),
	TEST(test_diagnosis_text_container),
	TEST(test_diagnosis_json),
	TEST(test_diagnosis_json_nulls),
	TEST(test_diagnosis_json_comm_escaped),
	TEST(test_diagnosis_json_comm_not_utf8),
	TEST(test_diagnosis_text_comm_clean),
	TEST(test_conn_json),
	TEST(test_conn_json_open),
	TEST(test_conn_text),
	TEST(test_stats_json),
	TEST(test_stats_text),
	TEST(test_error),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
