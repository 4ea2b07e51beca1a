// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <string.h>
#include "cgroups.h"
#include "otlp_json.h"
#include "words.h"

/* SeverityNumber (logs data model): INFO 9, WARN 13, ERROR 17. */
static int severity_number(enum diag_severity s)
{
	return s == SEV_ERROR ? 17 : s == SEV_WARNING ? 13 : 9;
}

static const char *severity_text(enum diag_severity s)
{
	return s == SEV_ERROR ? "ERROR" : s == SEV_WARNING ? "WARN" : "INFO";
}

/* fixed64 and int64: decimal strings in the JSON mapping. */
static void json_u64_string(struct json *j, unsigned long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", v);
	json_string(j, buf);
}

static void kv_u64_string(struct json *j, const char *key, unsigned long long v)
{
	json_key(j, key);
	json_u64_string(j, v);
}

/* {"key":k,"value":{"stringValue":v}}, nothing for an empty v. */
static void attr_string(struct json *j, const char *k, const char *v)
{
	if (!v || !*v)
		return;
	json_object_begin(j);
	json_kv_string(j, "key", k);
	json_key(j, "value");
	json_object_begin(j);
	json_kv_string(j, "stringValue", v);
	json_object_end(j);
	json_object_end(j);
}

static void attr_int(struct json *j, const char *k, long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", v);
	json_object_begin(j);
	json_kv_string(j, "key", k);
	json_key(j, "value");
	json_object_begin(j);
	json_kv_string(j, "intValue", buf);
	json_object_end(j);
	json_object_end(j);
}

static void attr_bool(struct json *j, const char *k, bool v)
{
	json_object_begin(j);
	json_kv_string(j, "key", k);
	json_key(j, "value");
	json_object_begin(j);
	json_key(j, "boolValue");
	json_bool(j, v);
	json_object_end(j);
	json_object_end(j);
}

static void attr_strings(struct json *j, const char *k, unsigned int n, const char *first,
			 size_t stride)
{
	json_object_begin(j);
	json_kv_string(j, "key", k);
	json_key(j, "value");
	json_object_begin(j);
	json_key(j, "arrayValue");
	json_object_begin(j);
	json_key(j, "values");
	json_array_begin(j);
	for (unsigned int i = 0; i < n; i++) {
		json_object_begin(j);
		json_kv_string(j, "stringValue", first + i * stride);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
	json_object_end(j);
	json_object_end(j);
}

/* A cgroup's names in OpenTelemetry's resource conventions where they exist. */
static void owner_attrs(struct json *j, const struct otlp_owner *o)
{
	const struct cgroup_name *cg = o->cg;
	char name[TT_COMM_LEN + 1];

	if (o->pid) {
		attr_int(j, "process.pid", o->pid);
		snprintf(name, sizeof(name), "%.*s", TT_COMM_LEN, o->comm);
		attr_string(j, "process.executable.name", name);
	}
	if (!cg || !cg->path[0])
		return;
	attr_string(j, "tcptrace.cgroup", cg->path);
	if (cg->container[0])
		attr_string(j, "tcptrace.container", cg->container);
	if (cg->container_id[0]) {
		attr_string(j, "container.id", cg->container_id);
		attr_string(j, "container.runtime", cg->runtime);
	}
	if (cg->pod_uid[0])
		attr_string(j, "k8s.pod.uid", cg->pod_uid);
	if (cg->pod[0]) {
		const char *slash = strchr(cg->pod, '/');

		if (slash) {
			char ns[CGROUP_NAME_MAX];

			snprintf(ns, sizeof(ns), "%.*s", (int)(slash - cg->pod), cg->pod);
			attr_string(j, "k8s.namespace.name", ns);
			attr_string(j, "k8s.pod.name", slash + 1);
		}
	}
	if (cg->unit[0])
		attr_string(j, "tcptrace.systemd_unit", cg->unit);
}

static void resource(struct json *j, const struct otlp_resource *r, const struct otlp_owner *o)
{
	json_key(j, "resource");
	json_object_begin(j);
	json_key(j, "attributes");
	json_array_begin(j);
	attr_string(j, "host.name", r->host_name);
	attr_string(j, "service.name", r->service_name);
	attr_string(j, "service.version", r->service_version);
	if (o)
		owner_attrs(j, o);
	json_array_end(j);
	json_object_end(j);
}

bool otlp_owner_same(const struct otlp_owner *a, const struct otlp_owner *b)
{
	return a->pid == b->pid && a->cg == b->cg &&
	       (!a->pid || !strncmp(a->comm, b->comm, TT_COMM_LEN));
}

static void scope(struct json *j, const struct otlp_resource *r)
{
	json_key(j, "scope");
	json_object_begin(j);
	json_kv_string(j, "name", r->service_name);
	json_kv_string(j, "version", r->service_version);
	json_object_end(j);
}

static void resource_logs_begin(struct json *j, const struct otlp_resource *r,
				const struct otlp_owner *o)
{
	json_object_begin(j);
	resource(j, r, o);
	json_key(j, "scopeLogs");
	json_array_begin(j);
	json_object_begin(j);
	scope(j, r);
	json_key(j, "logRecords");
	json_array_begin(j);
}

static void resource_logs_end(struct json *j)
{
	json_array_end(j);	/* logRecords */
	json_object_end(j);
	json_array_end(j);	/* scopeLogs */
	json_object_end(j);
}

void otlp_logs_begin(struct json *j, const struct otlp_resource *r, const struct otlp_owner *o)
{
	json_object_begin(j);
	json_key(j, "resourceLogs");
	json_array_begin(j);
	resource_logs_begin(j, r, o);
}

void otlp_logs_next_owner(struct json *j, const struct otlp_resource *r,
			  const struct otlp_owner *o)
{
	resource_logs_end(j);
	resource_logs_begin(j, r, o);
}

void otlp_logs_end(struct json *j)
{
	resource_logs_end(j);
	json_array_end(j);	/* resourceLogs */
	json_object_end(j);
	json_line_end(j);
}

/*
 * The connection's ends, in OpenTelemetry's names: network.peer.* is the
 * other end, network.local.* ours, server.* whichever end is the server.
 */
static void flow_attrs(struct json *j, const struct flow_key *k, enum tt_side side)
{
	char la[TT_ADDR_STRLEN], ra[TT_ADDR_STRLEN];
	bool server_is_local = side == TT_SIDE_SERVER;

	tt_addr_str(k->family, k->laddr, la, sizeof(la));
	tt_addr_str(k->family, k->raddr, ra, sizeof(ra));
	attr_string(j, "network.transport", "tcp");
	attr_string(j, "network.type", k->family == TT_AF_INET6 ? "ipv6" : "ipv4");
	attr_string(j, "network.peer.address", ra);
	attr_int(j, "network.peer.port", k->rport);
	attr_string(j, "network.local.address", la);
	attr_int(j, "network.local.port", k->lport);
	attr_string(j, "server.address", server_is_local ? la : ra);
	attr_int(j, "server.port", server_is_local ? k->lport : k->rport);
	attr_string(j, "tcptrace.side", tt_side_name(side));
	attr_int(j, "tcptrace.netns", k->netns);
}

static void process_attrs(struct json *j, __u32 pid, const char *comm)
{
	char name[TT_COMM_LEN + 1];

	if (!pid)
		return;
	attr_int(j, "process.pid", pid);
	snprintf(name, sizeof(name), "%.*s", TT_COMM_LEN, comm);
	attr_string(j, "process.executable.name", name);
}

static void record_head(struct json *j, __u64 time_unix_ns, __u64 observed_unix_ns,
			enum diag_severity sev, const char *event)
{
	json_object_begin(j);
	kv_u64_string(j, "timeUnixNano", time_unix_ns);
	kv_u64_string(j, "observedTimeUnixNano", observed_unix_ns);
	json_kv_int(j, "severityNumber", severity_number(sev));
	json_kv_string(j, "severityText", severity_text(sev));
	json_kv_string(j, "eventName", event);
}

static void body_string(struct json *j, const char *text)
{
	json_key(j, "body");
	json_object_begin(j);
	json_kv_string(j, "stringValue", text);
	json_object_end(j);
}

void otlp_log_diagnosis(struct json *j, const struct diagnosis *d, __u64 time_unix_ns,
			__u64 observed_unix_ns)
{
	const char *err = d->app_error ? strerrorname_np(d->app_error) : NULL;
	struct diag_words w;
	char name[96];

	diag_words(d, &w);
	record_head(j, time_unix_ns, observed_unix_ns, d->severity, "tcptrace.diagnosis");
	body_string(j, w.summary);
	json_key(j, "attributes");
	json_array_begin(j);
	attr_string(j, "error.type", diag_code_name(d->code));
	flow_attrs(j, &d->key, d->side);
	process_attrs(j, d->pid, d->comm);
	if (d->cgroup_id)
		attr_int(j, "tcptrace.cgroup_id", d->cgroup_id);
	if (d->cgroup && d->cgroup->container[0])
		attr_string(j, "tcptrace.container", d->cgroup->container);
	attr_string(j, "tcptrace.severity", diag_severity_name(d->severity));
	attr_int(j, "tcptrace.connections", d->connections);
	attr_string(j, "tcptrace.app_error", err);
	attr_bool(j, "tcptrace.events_lost", d->events_lost);
	for (unsigned int i = 0; i < d->n_evidence; i++) {
		snprintf(name, sizeof(name), "tcptrace.evidence.%s", d->evidence[i].name);
		attr_int(j, name, d->evidence[i].value);
	}
	if (w.n_causes)
		attr_strings(j, "tcptrace.causes", w.n_causes, w.causes[0], sizeof(w.causes[0]));
	if (w.n_checks)
		attr_strings(j, "tcptrace.checks", w.n_checks, w.checks[0], sizeof(w.checks[0]));
	json_array_end(j);
	json_object_end(j);
}

void otlp_log_conn(struct json *j, const struct conn_record *c, __u64 time_unix_ns,
		   __u64 observed_unix_ns)
{
	char body[256], la[TT_ADDR_STRLEN], ra[TT_ADDR_STRLEN], path[160] = "";
	const char *err = c->app_error ? strerrorname_np(c->app_error) : NULL;
	size_t off = 0;

	tt_addr_str(c->key.family, c->key.laddr, la, sizeof(la));
	tt_addr_str(c->key.family, c->key.raddr, ra, sizeof(ra));
	snprintf(body, sizeof(body), "%s %s:%u -> %s:%u %s", tt_side_name(c->side), la,
		 c->key.lport, ra, c->key.rport, c->close_reason);
	record_head(j, time_unix_ns, observed_unix_ns, SEV_INFO, "tcptrace.conn");
	body_string(j, body);
	json_key(j, "attributes");
	json_array_begin(j);
	flow_attrs(j, &c->key, c->side);
	process_attrs(j, c->pid, c->comm);
	if (c->cgroup_id)
		attr_int(j, "tcptrace.cgroup_id", c->cgroup_id);
	if (c->cgroup && c->cgroup->container[0])
		attr_string(j, "tcptrace.container", c->cgroup->container);
	attr_bool(j, "tcptrace.open", c->open);
	attr_int(j, "tcptrace.duration_ms", (c->ts_ns - c->start_ns) / 1000000);
	for (unsigned int i = 0; i < c->n_states && off < sizeof(path); i++)
		off += snprintf(path + off, sizeof(path) - off, "%s%s", i ? ">" : "",
				tt_state_name(c->states[i]));
	attr_string(j, "tcptrace.state_path", path);
	if (c->connect_ns)
		attr_int(j, "tcptrace.connect_ms", c->connect_ns / 1000000);
	attr_int(j, "tcptrace.bytes_sent", c->bytes_sent);
	attr_int(j, "tcptrace.bytes_received", c->bytes_received);
	attr_int(j, "tcptrace.segs_out", c->segs_out);
	attr_int(j, "tcptrace.segs_in", c->segs_in);
	attr_int(j, "tcptrace.retransmits", c->retrans);
	attr_int(j, "tcptrace.retransmits_rto", c->retrans_rto);
	attr_int(j, "tcptrace.retransmits_fast", c->retrans_fast);
	attr_int(j, "tcptrace.syn_retransmits", c->syn_retrans);
	attr_int(j, "tcptrace.srtt_us", c->srtt_us);
	attr_int(j, "tcptrace.min_rtt_us", c->min_rtt_us);
	attr_int(j, "tcptrace.resets_received", c->rst_rx);
	attr_int(j, "tcptrace.resets_sent", c->rst_tx);
	attr_string(j, "tcptrace.close_reason", c->close_reason);
	attr_string(j, "tcptrace.app_error", err);
	if (c->codes) {
		const char *codes[DIAG_CODE_MAX];
		unsigned int n = 0;

		for (int code = 0; code < DIAG_CODE_MAX; code++)
			if (c->codes & (1u << code))
				codes[n++] = diag_code_name(code);
		json_object_begin(j);
		json_kv_string(j, "key", "tcptrace.codes");
		json_key(j, "value");
		json_object_begin(j);
		json_key(j, "arrayValue");
		json_object_begin(j);
		json_key(j, "values");
		json_array_begin(j);
		for (unsigned int i = 0; i < n; i++) {
			json_object_begin(j);
			json_kv_string(j, "stringValue", codes[i]);
			json_object_end(j);
		}
		json_array_end(j);
		json_object_end(j);
		json_object_end(j);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

/* ---------------------------------------------------------------- metrics */

struct metric_writer {
	struct json *j;
	const char *open;	/* the metric whose dataPoints are open */
	char kind;
	bool as_double;
	__u64 start_ns, now_ns;
};

/* "tcptrace_diagnoses_total" -> "tcptrace_diagnoses": OpenTelemetry
 * names carry no "_total" (an exporter to Prometheus adds it back). */
static void otel_name(const char *prom, char *buf, size_t len)
{
	size_t n = strlen(prom);

	if (n > 6 && !strcmp(prom + n - 6, "_total"))
		n -= 6;
	snprintf(buf, len, "%.*s", (int)n, prom);
}

static void metric_close(struct metric_writer *w)
{
	if (!w->open)
		return;
	json_array_end(w->j);	/* dataPoints */
	json_object_end(w->j);	/* sum / gauge / histogram */
	json_object_end(w->j);	/* the metric */
	w->open = NULL;
}

static void metric_open(struct metric_writer *w, const struct metrics_point *p)
{
	struct json *j = w->j;
	char name[128];

	metric_close(w);
	otel_name(p->name, name, sizeof(name));
	json_object_begin(j);
	json_kv_string(j, "name", name);
	json_kv_string(j, "description", p->help);
	json_kv_string(j, "unit", p->unit && *p->unit ? p->unit : "1");
	json_key(j, p->kind == 'c' ? "sum" : p->kind == 'g' ? "gauge" : "histogram");
	json_object_begin(j);
	if (p->kind != 'g')
		json_kv_int(j, "aggregationTemporality", 2);	/* CUMULATIVE */
	if (p->kind == 'c') {
		json_key(j, "isMonotonic");
		json_bool(j, true);
	}
	json_key(j, "dataPoints");
	json_array_begin(j);
	w->open = p->name;
	w->kind = p->kind;
	/* Seconds are fractions; everything else counts. */
	w->as_double = p->unit && !strcmp(p->unit, "s");
}

static void metric_point(const struct metrics_point *p, void *ctx)
{
	struct metric_writer *w = ctx;
	struct json *j = w->j;

	if (!w->open || strcmp(w->open, p->name))
		metric_open(w, p);
	json_object_begin(j);
	json_key(j, "attributes");
	json_array_begin(j);
	for (int i = 0; i < p->n_labels; i++)
		attr_string(j, p->labels[i].key, p->labels[i].value);
	json_array_end(j);
	if (p->kind != 'g')
		kv_u64_string(j, "startTimeUnixNano", w->start_ns);
	kv_u64_string(j, "timeUnixNano", w->now_ns);
	if (p->kind == 'h') {
		kv_u64_string(j, "count", p->count);
		json_key(j, "sum");
		json_double(j, p->sum);
		json_key(j, "bucketCounts");
		json_array_begin(j);
		for (int i = 0; i <= p->n_bounds; i++)
			json_u64_string(j, p->buckets[i]);
		json_array_end(j);
		json_key(j, "explicitBounds");
		json_array_begin(j);
		for (int i = 0; i < p->n_bounds; i++)
			json_double(j, p->bounds[i]);
		json_array_end(j);
	} else if (w->as_double) {
		json_key(j, "asDouble");
		json_double(j, p->value);
	} else {
		kv_u64_string(j, "asInt", (unsigned long long)llround(p->value));
	}
	json_object_end(j);
}

void otlp_metrics(struct json *j, const struct otlp_resource *r, struct metrics *m,
		  const struct metrics_self *self, __u64 start_unix_ns, __u64 now_unix_ns)
{
	struct metric_writer w = { .j = j, .start_ns = start_unix_ns, .now_ns = now_unix_ns };

	json_object_begin(j);
	json_key(j, "resourceMetrics");
	json_array_begin(j);
	json_object_begin(j);
	resource(j, r, NULL);
	json_key(j, "scopeMetrics");
	json_array_begin(j);
	json_object_begin(j);
	scope(j, r);
	json_key(j, "metrics");
	json_array_begin(j);
	metrics_walk(m, self, metric_point, &w);
	metric_close(&w);
	json_array_end(j);	/* metrics */
	json_object_end(j);
	json_array_end(j);	/* scopeMetrics */
	json_object_end(j);
	json_array_end(j);	/* resourceMetrics */
	json_object_end(j);
	json_line_end(j);
}
