// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the OTLP bodies (user/otlp_json.c) and URLs
 * (user/otlp_url.c): a diagnosis as a LogRecord in OpenTelemetry's
 * attribute names, a conn record, the metrics as OTLP sums and
 * histograms, and the Protobuf JSON mapping's rules (64-bit integers as
 * strings, enums as integers). The exporter's retries against a collector
 * are tested end to end (tests/cli_test.sh, the lab's otlp scenario).
 */
#include <arpa/inet.h>
#include <errno.h>
#include "cgroups.h"
#include "otlp_json.h"
#include "otlp_url.h"
#include "harness.h"
#include "capture.h"

static const struct otlp_resource res = { "node-1", "tcptrace-bpf", "0.1.0" };

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

static void test_urls(struct test *t)
{
	static const struct { const char *in, *logs, *metrics; } ok[] = {
		{ "http://collector", "http://collector:4318/v1/logs",
		  "http://collector:4318/v1/metrics" },
		{ "http://collector:4318/", "http://collector:4318/v1/logs",
		  "http://collector:4318/v1/metrics" },
		{ "https://otel.example:443/prefix", "https://otel.example:443/prefix/v1/logs",
		  "https://otel.example:443/prefix/v1/metrics" },
		{ "http://[fd00::1]", "http://[fd00::1]:4318/v1/logs",
		  "http://[fd00::1]:4318/v1/metrics" },
		{ "http://[fd00::1]:9999", "http://[fd00::1]:9999/v1/logs",
		  "http://[fd00::1]:9999/v1/metrics" },
	};
	static const char *const bad[] = {
		"ftp://collector", "collector:4318", "http://", "http:///v1", "http://[fd00::1",
		"http://?x", "grpc://collector:4317",
	};
	char logs[256], metrics[256], err[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		EXPECT(otlp_url_ok(ok[i].in, logs, metrics, sizeof(logs), err, sizeof(err)),
		       "%s refused: %s", ok[i].in, err);
		EXPECT(!strcmp(logs, ok[i].logs) && !strcmp(metrics, ok[i].metrics),
		       "%s: %s %s", ok[i].in, logs, metrics);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		EXPECT(!otlp_url_ok(bad[i], logs, metrics, sizeof(logs), err, sizeof(err)),
		       "%s taken", bad[i]);
		EXPECT(strstr(err, "invalid OTLP URL"), "%s: %s", bad[i], err);
	}
out:
	return;
}

static void test_log_diagnosis(struct test *t)
{
	struct capture c;
	struct diagnosis d;
	struct json j;
	const char *s;

	memset(&d, 0, sizeof(d));
	d.code = DIAG_CONNECTION_REFUSED;
	d.severity = SEV_ERROR;
	d.side = TT_SIDE_CLIENT;
	d.key = key4("10.0.1.5", 43122, "10.0.2.10", 8080);
	d.pid = 7657;
	strcpy(d.comm, "peer");
	d.connections = 3;
	d.app_error = ECONNREFUSED;
	d.evidence[0].name = "rst_rx";
	d.evidence[0].value = 1;
	d.n_evidence = 1;
	json_init(&j, capture_open(&c));
	otlp_logs_begin(&j, &res, NULL);
	otlp_log_diagnosis(&j, &d, 1704164645678000000ULL, 1704164645679000000ULL);
	otlp_logs_end(&j);
	s = capture_text(&c);
	EXPECT(!strncmp(s, "{\"resourceLogs\":[{\"resource\":{\"attributes\":["
			"{\"key\":\"host.name\",\"value\":{\"stringValue\":\"node-1\"}},"
			"{\"key\":\"service.name\",\"value\":{\"stringValue\":\"tcptrace-bpf\"}},"
			"{\"key\":\"service.version\",\"value\":{\"stringValue\":\"0.1.0\"}}]},"
			"\"scopeLogs\":[{\"scope\":{\"name\":\"tcptrace-bpf\",\"version\":\"0.1.0\"},"
			"\"logRecords\":[{\"timeUnixNano\":\"1704164645678000000\","
			"\"observedTimeUnixNano\":\"1704164645679000000\",\"severityNumber\":17,"
			"\"severityText\":\"ERROR\",\"eventName\":\"tcptrace.diagnosis\","
			"\"body\":{\"stringValue\":", 452), "head: %s", s);
#define ATTR(k, v) "{\"key\":\"" k "\",\"value\":" v "}"
	EXPECT(strstr(s, ATTR("error.type", "{\"stringValue\":\"CONNECTION_REFUSED\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("network.transport", "{\"stringValue\":\"tcp\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("network.type", "{\"stringValue\":\"ipv4\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("network.peer.address", "{\"stringValue\":\"10.0.2.10\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("network.peer.port", "{\"intValue\":\"8080\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("network.local.address", "{\"stringValue\":\"10.0.1.5\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("network.local.port", "{\"intValue\":\"43122\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("server.address", "{\"stringValue\":\"10.0.2.10\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("server.port", "{\"intValue\":\"8080\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("process.pid", "{\"intValue\":\"7657\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("process.executable.name", "{\"stringValue\":\"peer\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("tcptrace.connections", "{\"intValue\":\"3\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("tcptrace.app_error", "{\"stringValue\":\"ECONNREFUSED\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("tcptrace.evidence.rst_rx", "{\"intValue\":\"1\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("tcptrace.events_lost", "{\"boolValue\":false}")), "%s", s);
	EXPECT(strstr(s, "{\"key\":\"tcptrace.causes\",\"value\":{\"arrayValue\":{\"values\":"
			 "[{\"stringValue\":"), "%s", s);
	EXPECT(!strcmp(s + strlen(s) - 7, "]}]}]}\n"), "tail: %s", s + strlen(s) - 20);
out:
	capture_close(&c);
}

/*
 * Records grouped by owner: each owner a resource of its own with the
 * process and the container in OpenTelemetry's resource names.
 */
static void test_logs_by_owner(struct test *t)
{
	static struct cgroup_name web, pod;
	struct otlp_owner a, b;
	struct conn_record r;
	struct capture c;
	struct json j;
	const char *s, *second;

	cgroup_name_parse(&web, "/system.slice/docker-0123456789abcdef0123456789abcdef"
			  "0123456789abcdef0123456789abcdef.scope", NULL);
	cgroup_name_parse(&pod, "/kubepods.slice/kubepods-pod5f2b3c4d_1111_2222_3333_"
			  "444455556666.slice", "shop/cart-7d9f");
	a = (struct otlp_owner){ 4242, "web", &web };
	b = (struct otlp_owner){ 0, "", &pod };
	EXPECT(otlp_owner_same(&a, &a) && !otlp_owner_same(&a, &b), "same/differ");
	memset(&r, 0, sizeof(r));
	r.key = key4("10.0.2.10", 8080, "10.0.1.5", 43122);
	r.side = TT_SIDE_SERVER;
	r.close_reason = "fin";
	json_init(&j, capture_open(&c));
	otlp_logs_begin(&j, &res, &a);
	otlp_log_conn(&j, &r, 5, 6);
	otlp_logs_next_owner(&j, &res, &b);
	otlp_log_conn(&j, &r, 5, 6);
	otlp_logs_end(&j);
	s = capture_text(&c);
	second = strstr(s, "]}]},{\"resource\":{\"attributes\":[");
	EXPECT(second, "two resources: %s", s);
	EXPECT(strstr(s, ATTR("process.pid", "{\"intValue\":\"4242\"}")) < second, "%s", s);
	EXPECT(strstr(s, ATTR("container.id", "{\"stringValue\":\"0123456789abcdef0123456789abcdef"
				"0123456789abcdef0123456789abcdef\"}")) < second, "%s", s);
	EXPECT(strstr(s, ATTR("container.runtime", "{\"stringValue\":\"docker\"}")), "%s", s);
	EXPECT(strstr(second, ATTR("k8s.pod.uid",
				   "{\"stringValue\":\"5f2b3c4d-1111-2222-3333-444455556666\"}")),
	       "%s", s);
	EXPECT(strstr(second, ATTR("k8s.namespace.name", "{\"stringValue\":\"shop\"}")), "%s", s);
	EXPECT(strstr(second, ATTR("k8s.pod.name", "{\"stringValue\":\"cart-7d9f\"}")), "%s", s);
	EXPECT(!strstr(second, "process.pid"), "an unknown pid is no attribute: %s", s);
	EXPECT(!strcmp(s + strlen(s) - 7, "]}]}]}\n"), "tail: %s", s + strlen(s) - 20);
out:
	capture_close(&c);
}

/* At the server end, server.* is the local end; no owner: no process.*. */
static void test_log_conn_server(struct test *t)
{
	struct conn_record r;
	struct capture c;
	struct json j;
	const char *s;

	memset(&r, 0, sizeof(r));
	r.key = key4("10.0.2.10", 8080, "10.0.1.5", 43122);
	r.side = TT_SIDE_SERVER;
	r.start_ns = 1000000000ULL;
	r.ts_ns = 3500000000ULL;
	r.n_states = 2;
	r.states[0] = TT_TCP_SYN_RECV;
	r.states[1] = TT_TCP_CLOSE;
	r.bytes_received = 1000;
	r.close_reason = "fin";
	json_init(&j, capture_open(&c));
	otlp_logs_begin(&j, &res, NULL);
	otlp_log_conn(&j, &r, 5, 6);
	otlp_logs_end(&j);
	s = capture_text(&c);
	EXPECT(strstr(s, "\"severityNumber\":9,\"severityText\":\"INFO\",\"eventName\":"
			 "\"tcptrace.conn\",\"body\":{\"stringValue\":\"server 10.0.2.10:8080 -> "
			 "10.0.1.5:43122 fin\"}"), "%s", s);
	EXPECT(strstr(s, ATTR("server.address", "{\"stringValue\":\"10.0.2.10\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("server.port", "{\"intValue\":\"8080\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("tcptrace.duration_ms", "{\"intValue\":\"2500\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("tcptrace.state_path", "{\"stringValue\":\"SYN_RECV>CLOSE\"}")), "%s", s);
	EXPECT(strstr(s, ATTR("tcptrace.bytes_received", "{\"intValue\":\"1000\"}")), "%s", s);
	EXPECT(!strstr(s, "process.pid"), "%s", s);
#undef ATTR
out:
	capture_close(&c);
}

/* Sums cumulative and monotonic, "_total" dropped, histograms whole. */
static void test_metrics(struct test *t)
{
	struct metrics_config cfg = { .max_endpoints = 10, .ttl_ns = 300000000000ULL,
				      .max_flows = 64 };
	struct metrics *m = metrics_new(&cfg);
	struct capture c = {0};
	struct conn_record r;
	struct diagnosis d;
	struct json j;
	const char *s;

	EXPECT(m, "registry");
	memset(&d, 0, sizeof(d));
	d.code = DIAG_SYN_UNANSWERED;
	d.severity = SEV_ERROR;
	d.side = TT_SIDE_CLIENT;
	d.key = key4("10.0.1.5", 40000, "10.0.2.10", 8080);
	d.connections = 2;
	metrics_diagnosis(m, &d, 1);
	memset(&r, 0, sizeof(r));
	r.key = key4("10.0.1.5", 40001, "10.0.2.10", 8080);
	r.side = TT_SIDE_CLIENT;
	r.start_known = true;
	r.n_states = 1;
	r.states[0] = TT_TCP_ESTABLISHED;
	r.connect_ns = 2000000;
	r.srtt_us = 1500;
	r.close_reason = "fin";
	metrics_conn(m, &r, 1);
	json_init(&j, capture_open(&c));
	otlp_metrics(&j, &res, m, NULL, 100, 200);
	s = capture_text(&c);
	EXPECT(strstr(s, "{\"name\":\"tcptrace_diagnoses\",\"description\":"), "%s", s);
	EXPECT(strstr(s, "\"unit\":\"1\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,"
			 "\"dataPoints\":[{\"attributes\":[{\"key\":\"side\",\"value\":{\"stringValue\":"
			 "\"client\"}},{\"key\":\"raddr\",\"value\":{\"stringValue\":\"10.0.2.10\"}},"
			 "{\"key\":\"rport\",\"value\":{\"stringValue\":\"8080\"}},{\"key\":\"code\","
			 "\"value\":{\"stringValue\":\"SYN_UNANSWERED\"}},{\"key\":\"severity\",\"value\":"
			 "{\"stringValue\":\"error\"}}],\"startTimeUnixNano\":\"100\",\"timeUnixNano\":"
			 "\"200\",\"asInt\":\"2\"}]}}"), "%s", s);
	EXPECT(strstr(s, "{\"name\":\"tcptrace_connect_duration_seconds\""), "%s", s);
	EXPECT(strstr(s, "\"unit\":\"s\",\"histogram\":{\"aggregationTemporality\":2,"), "%s", s);
	EXPECT(strstr(s, "\"count\":\"1\",\"sum\":0.002,\"bucketCounts\":[\"0\",\"0\",\"1\",\"0\","),
	       "%s", s);
	EXPECT(strstr(s, "\"explicitBounds\":[0.0005,0.001,0.0025,"), "%s", s);
	/* A label with no value is no attribute (Prometheus reads it so). */
	EXPECT(!strstr(s, "\"key\":\"lport\""), "%s", s);
	EXPECT(!strstr(s, "_total\""), "a _total name: %s", s);
out:
	capture_close(&c);
	metrics_free(m);
}

static const struct test_case tests[] = {
	TEST(test_urls),
	TEST(test_log_diagnosis),
	TEST(test_logs_by_owner),
		TEST(test_log_conn_server),
	TEST(test_metrics),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
