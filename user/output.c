// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <string.h>
#include <time.h>
#include "kernel_report.h"
#include "cgroups.h"
#include "output.h"
#include "term.h"
#include "words.h"

void output_init(struct output *o, FILE *out, bool json)
{
	struct timespec mono, real;

	o->out = out;
	o->json = json;
	json_init(&o->j, out);
	/* Kernel timestamps are CLOCK_MONOTONIC; records carry wall time. */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	o->mono_to_real_ns = (real.tv_sec - mono.tv_sec) * 1000000000LL +
			     (real.tv_nsec - mono.tv_nsec);
}

/* The flow's names, shared by every record about one connection. */
static void json_flow(struct json *j, const struct flow_key *k, __u32 pid, const char *comm,
		      __u64 cgroup_id, const struct cgroup_name *cg)
{
	char addr[TT_ADDR_STRLEN];

	json_kv_string(j, "family", k->family == TT_AF_INET6 ? "ipv6" : "ipv4");
	json_kv_string(j, "laddr", tt_addr_str(k->family, k->laddr, addr, sizeof(addr)));
	json_kv_uint(j, "lport", k->lport);
	json_kv_string(j, "raddr", tt_addr_str(k->family, k->raddr, addr, sizeof(addr)));
	json_kv_uint(j, "rport", k->rport);
	json_kv_uint(j, "netns", k->netns);
	json_key(j, "pid");
	if (pid)
		json_uint(j, pid);
	else
		json_null(j);
	json_kv_string(j, "comm", comm[0] ? comm : NULL);
	json_kv_uint(j, "cgroup_id", cgroup_id);
	/* What the cgroup's path says; null where it says nothing. */
	json_kv_string(j, "cgroup", cg && cg->path[0] ? cg->path : NULL);
	json_kv_string(j, "container", cg && cg->container[0] ? cg->container : NULL);
	json_kv_string(j, "container_id", cg && cg->container_id[0] ? cg->container_id : NULL);
	json_kv_string(j, "pod_uid", cg && cg->pod_uid[0] ? cg->pod_uid : NULL);
	json_kv_string(j, "pod", cg && cg->pod[0] ? cg->pod : NULL);
}

/* RFC 3339, UTC, milliseconds. */
static void rfc3339(const struct output *o, __u64 mono_ns, char *buf, size_t len)
{
	/* Wraps rather than overflows: a damaged recording's replay may
	 * carry any time and offset. */
	long long real = (long long)(mono_ns + (unsigned long long)o->mono_to_real_ns);
	time_t secs = real / 1000000000LL;
	struct tm tm;

	if (!gmtime_r(&secs, &tm))
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (real % 1000000000LL) / 1000000);
}

static void record_begin(struct output *o, const char *type, __u64 mono_ns)
{
	char ts[64];

	rfc3339(o, mono_ns, ts, sizeof(ts));
	json_object_begin(&o->j);
	json_kv_string(&o->j, "type", type);
	json_kv_string(&o->j, "ts", ts);
}

static const char *errno_name(int err)
{
	const char *name = err ? strerrorname_np(err) : NULL;

	return name;
}

static void diagnosis_json(struct output *o, const struct diagnosis *d,
			   const struct diag_words *w)
{
	struct json *j = &o->j;

	record_begin(o, "diagnosis", d->ts_ns);
	json_kv_string(j, "code", diag_code_name(d->code));
	json_kv_string(j, "severity", diag_severity_name(d->severity));
	json_kv_string(j, "side", tt_side_name(d->side));
	json_flow(j, &d->key, d->pid, d->comm, d->cgroup_id, d->cgroup);
	json_kv_string(j, "summary", w->summary);
	json_key(j, "evidence");
	json_object_begin(j);
	for (unsigned int i = 0; i < d->n_evidence; i++)
		json_kv_int(j, d->evidence[i].name, d->evidence[i].value);
	json_object_end(j);
	json_key(j, "causes");
	json_array_begin(j);
	for (unsigned int i = 0; i < w->n_causes; i++)
		json_string(j, w->causes[i]);
	json_array_end(j);
	json_key(j, "checks");
	json_array_begin(j);
	for (unsigned int i = 0; i < w->n_checks; i++)
		json_string(j, w->checks[i]);
	json_array_end(j);
	if (d->n_peers) {
		char addr[TT_ADDR_STRLEN];

		/* PROCESS_KILLED: whom it cut off. */
		json_key(j, "peers");
		json_array_begin(j);
		for (unsigned int i = 0; i < d->n_peers && i < DIAG_MAX_PEERS; i++) {
			json_object_begin(j);
			json_kv_string(j, "addr", tt_addr_str(d->peers[i].family,
							      d->peers[i].addr, addr,
							      sizeof(addr)));
			json_kv_uint(j, "connections", d->peers[i].connections);
			json_object_end(j);
		}
		json_array_end(j);
		json_kv_uint(j, "peers_other_connections", d->peers_other);
	}
	json_kv_string(j, "app_error", errno_name(d->app_error));
	json_kv_uint(j, "connections", d->connections);
	json_key(j, "events_lost");
	json_bool(j, d->events_lost);
	json_object_end(j);
	json_line_end(j);
}

static void diagnosis_text(struct output *o, const struct diagnosis *d,
			   const struct diag_words *w)
{
	char la[TT_ADDR_STRLEN], ra[TT_ADDR_STRLEN], ts[64];
	bool v6 = d->key.family == TT_AF_INET6;
	const char *container = d->cgroup && d->cgroup->container[0] ? d->cgroup->container : NULL;
	FILE *f = o->out;

	rfc3339(o, d->ts_ns, ts, sizeof(ts));
	tt_addr_str(d->key.family, d->key.laddr, la, sizeof(la));
	tt_addr_str(d->key.family, d->key.raddr, ra, sizeof(ra));
	term_printf(f, "%s %-16s %s%s%s:%u -> %s%s%s:%u  %s\n", ts + 11,
		diag_code_name(d->code), v6 ? "[" : "", la, v6 ? "]" : "", d->key.lport,
		v6 ? "[" : "", ra, v6 ? "]" : "", d->key.rport, w->summary);
	if (d->connections > 1 || d->pid || container)
		term_printf(f, "  %u connection%s", d->connections, d->connections == 1 ? "" : "s");
	if (d->pid)
		term_printf(f, ", process %u (%s)", d->pid, d->comm);
	if (container)
		term_printf(f, " in %s", container);
	if (d->connections > 1 || d->pid || container)
		term_printf(f, "\n");
	if (d->app_error)
		term_printf(f, "  the application saw: %s (%s)\n", errno_name(d->app_error),
			strerror(d->app_error));
	for (unsigned int i = 0; i < w->n_causes; i++)
		term_printf(f, "  %s %s\n", i ? "   or:" : "likely:", w->causes[i]);
	for (unsigned int i = 0; i < w->n_checks; i++)
		term_printf(f, "  %s %s\n", i ? "     ;" : " check:", w->checks[i]);
	if (d->events_lost)
		term_printf(f, "  caveat: the tracer lost events meanwhile; this may be incomplete\n");
	fflush(f);
}

void output_diagnosis(struct output *o, const struct diagnosis *d)
{
	struct diag_words w;

	diag_words(d, &w);
	if (o->json)
		diagnosis_json(o, d, &w);
	else
		diagnosis_text(o, d, &w);
}

/*
 * One line a connection (--conns), its fields in the JSON record's order:
 *   conn 10.0.1.5:43122 -> 10.0.2.10:8080 client fin 2500ms
 *     SYN_SENT>ESTABLISHED>FIN_WAIT1>CLOSE connect 1ms sent 120B/10 received 4000B/12
 *     retrans 1 (rto 0 fast 1) syn-retrans 0 rtt 1.2/0.8ms rst in 0 out 0
 *     process 4242 (svc-a) codes PACKET_LOSS,PEER_RESET
 * (one line in fact; "open" for the periodic line of a live connection).
 */
static void conn_text(struct output *o, const struct conn_record *c)
{
	char la[TT_ADDR_STRLEN], ra[TT_ADDR_STRLEN], path[160] = "", codes[256] = "";
	bool v6 = c->key.family == TT_AF_INET6;
	size_t off = 0;

	tt_addr_str(c->key.family, c->key.laddr, la, sizeof(la));
	tt_addr_str(c->key.family, c->key.raddr, ra, sizeof(ra));
	for (unsigned int i = 0; i < c->n_states && off < sizeof(path); i++)
		off += snprintf(path + off, sizeof(path) - off, "%s%s", i ? ">" : "",
				tt_state_name(c->states[i]));
	off = 0;
	for (int code = 0; code < DIAG_CODE_MAX && off < sizeof(codes); code++)
		if (c->codes & (1u << code))
			off += snprintf(codes + off, sizeof(codes) - off, "%s%s", off ? "," : " codes ",
					diag_code_name(code));
	term_printf(o->out, "conn %s%s%s:%u -> %s%s%s:%u %s %s %llums %s",
		    v6 ? "[" : "", la, v6 ? "]" : "", c->key.lport,
		    v6 ? "[" : "", ra, v6 ? "]" : "", c->key.rport, tt_side_name(c->side),
		    c->close_reason, (unsigned long long)((c->ts_ns - c->start_ns) / 1000000),
		    path[0] ? path : "-");
	if (c->connect_ns)
		term_printf(o->out, " connect %llums", (unsigned long long)(c->connect_ns / 1000000));
	term_printf(o->out, " sent %lluB/%u received %lluB/%u retrans %u (rto %u fast %u) "
		    "syn-retrans %u rtt %.1f/%.1fms rst in %u out %u",
		    (unsigned long long)c->bytes_sent, c->segs_out,
		    (unsigned long long)c->bytes_received, c->segs_in, c->retrans,
		    c->retrans_rto, c->retrans_fast, c->syn_retrans, c->srtt_us / 1000.0,
		    c->min_rtt_us / 1000.0, c->rst_rx, c->rst_tx);
	if (c->pid)
		term_printf(o->out, " process %u (%s)", c->pid, c->comm);
	if (c->cgroup && c->cgroup->container[0])
		term_printf(o->out, " in %s", c->cgroup->container);
	term_printf(o->out, "%s\n", codes);
}

void output_conn(struct output *o, const struct conn_record *c, bool text_lines)
{
	char ts[64];
	struct json *j = &o->j;

	if (!o->json) {
		if (text_lines)
			conn_text(o, c);
		return;
	}
	record_begin(o, "conn", c->ts_ns);
	json_kv_string(j, "side", tt_side_name(c->side));
	json_flow(j, &c->key, c->pid, c->comm, c->cgroup_id, c->cgroup);
	rfc3339(o, c->start_ns, ts, sizeof(ts));
	/* A flow met mid-life has no known start: say so rather than guess. */
	json_kv_string(j, "start", c->start_known ? ts : NULL);
	json_kv_uint(j, "duration_ms", (c->ts_ns - c->start_ns) / 1000000);
	json_key(j, "open");
	json_bool(j, c->open);
	json_key(j, "state_path");
	json_array_begin(j);
	for (unsigned int i = 0; i < c->n_states; i++)
		json_string(j, tt_state_name(c->states[i]));
	json_array_end(j);
	json_key(j, "connect_ms");
	if (c->connect_ns)
		json_uint(j, c->connect_ns / 1000000);
	else
		json_null(j);
	json_kv_uint(j, "bytes_sent", c->bytes_sent);
	json_kv_uint(j, "bytes_received", c->bytes_received);
	json_kv_uint(j, "segs_out", c->segs_out);
	json_kv_uint(j, "segs_in", c->segs_in);
	json_kv_uint(j, "data_segs_out", c->data_segs_out);
	json_kv_uint(j, "data_segs_in", c->data_segs_in);
	json_kv_uint(j, "retransmits", c->retrans);
	json_kv_uint(j, "retransmits_rto", c->retrans_rto);
	json_kv_uint(j, "retransmits_fast", c->retrans_fast);
	json_kv_uint(j, "syn_retransmits", c->syn_retrans);
	json_kv_uint(j, "srtt_us", c->srtt_us);
	json_kv_uint(j, "min_rtt_us", c->min_rtt_us);
	json_kv_uint(j, "resets_received", c->rst_rx);
	json_kv_uint(j, "resets_sent", c->rst_tx);
	json_kv_string(j, "close_reason", c->close_reason);
	json_kv_string(j, "app_error", errno_name(c->app_error));
	json_key(j, "codes");
	json_array_begin(j);
	for (int code = 0; code < DIAG_CODE_MAX; code++)
		if (c->codes & (1u << code))
			json_string(j, diag_code_name(code));
	json_array_end(j);
	json_key(j, "events_lost");
	json_bool(j, c->events_lost);
	json_object_end(j);
	json_line_end(j);
}

void output_health(struct output *o, __u64 now_ns, const struct health_report *h)
{
	struct json *j = &o->j;

	if (!o->json) {
		char netns[160] = "";

		if (h->netns_unresolved)
			snprintf(netns, sizeof(netns), "; %llu network namespace%s seen in events "
				 "could not be scanned (no process or /run/netns name in %s)",
				 (unsigned long long)h->netns_unresolved,
				 h->netns_unresolved == 1 ? "" : "s",
				 h->netns_unresolved == 1 ? "it" : "them");
		term_printf(o->out, "tcptrace-bpf: %llu events (%llu lost), %llu flows opened, "
			"%llu tracked, %llu evicted (kernel map %llu, NIC map %llu, flow table %llu, map full %llu), "
			"%llu diagnoses%s%s\n",
			(unsigned long long)h->events, (unsigned long long)h->events_lost,
			(unsigned long long)h->flows_opened, (unsigned long long)h->flows_tracked,
			(unsigned long long)(h->flows_evicted_kernel + h->flows_evicted_table +
					     h->flows_evicted_nic),
			(unsigned long long)h->flows_evicted_kernel,
			(unsigned long long)h->flows_evicted_nic,
			(unsigned long long)h->flows_evicted_table,
			(unsigned long long)h->flow_map_full, (unsigned long long)h->diagnoses,
			h->scan_untracked ? "; the flow table was full: some sockets went "
					    "unwatched (--max-flows)" : "", netns);
		fflush(o->out);
		return;
	}
	record_begin(o, "stats", now_ns);
	json_kv_uint(j, "events", h->events);
	json_kv_uint(j, "events_lost", h->events_lost);
	json_kv_uint(j, "events_read", h->events_read);
	json_kv_uint(j, "flows_opened", h->flows_opened);
	json_kv_uint(j, "flows_tracked", h->flows_tracked);
	json_kv_uint(j, "flows_evicted", h->flows_evicted_kernel + h->flows_evicted_table +
					 h->flows_evicted_nic);
	json_kv_uint(j, "flows_evicted_kernel", h->flows_evicted_kernel);
	json_kv_uint(j, "flows_evicted_table", h->flows_evicted_table);
	json_kv_uint(j, "flow_map_full", h->flow_map_full);
	json_kv_uint(j, "nic_flows_opened", h->nic_flows_opened);
	json_kv_uint(j, "flows_evicted_nic", h->flows_evicted_nic);
	json_kv_uint(j, "nic_unparsed", h->nic_unparsed);
	json_kv_uint(j, "sockets_scanned", h->sockets_scanned);
	json_kv_uint(j, "sockets_unchanged", h->sockets_unchanged);
	json_kv_uint(j, "scan_gap_ms", h->scan_gap_ms);
	json_kv_uint(j, "sockets_untracked", h->scan_untracked);
	json_kv_uint(j, "scan_errors", h->scan_errors);
	json_kv_uint(j, "netns_scanned", h->netns_scanned);
	json_kv_uint(j, "netns_unresolved", h->netns_unresolved);
	json_kv_uint(j, "netns_evicted", h->netns_evicted);
	json_kv_uint(j, "diagnoses", h->diagnoses);
	json_kv_uint(j, "attach_us", h->attach_us);
	json_kv_string(j, "tracepoints", h->classic ? "classic" : "tp_btf");
	if (h->plan)
		kernel_report_json(j, h->plan);
	json_key(j, "programs");
	json_array_begin(j);
	for (int i = 0; i < h->n_progs; i++) {
		const struct prog_stat *p = &h->progs[i];

		json_object_begin(j);
		json_kv_string(j, "name", p->name);
		json_kv_uint(j, "run_cnt", p->run_cnt);
		json_kv_uint(j, "avg_ns", p->run_cnt ? p->run_time_ns / p->run_cnt : 0);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
	json_line_end(j);
}

void output_check(struct output *o, const struct hook_plan *p, const char *release,
		  const char *machine, bool ok)
{
	struct json *j = &o->j;
	struct timespec now;
	char kernel[192];

	if (!o->json) {
		snprintf(kernel, sizeof(kernel), "%s (%s)", release, machine);
		kernel_report_text(o->out, p, kernel);
		fflush(o->out);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	record_begin(o, "check", now.tv_sec * 1000000000ULL + now.tv_nsec);
	json_kv_string(j, "kernel", release);
	json_kv_string(j, "machine", machine);
	json_key(j, "ok");
	json_bool(j, ok);
	kernel_report_json(j, p);
	json_object_end(j);
	json_line_end(j);
	fflush(o->out);
}

void output_flush(struct output *o)
{
	fflush(o->out);
}

void output_error(struct output *o, const char *msg)
{
	struct timespec now;

	if (!o->json)
		return;
	/* Now, by the wall clock: a replay's records carry the recording's
	 * offset, which would put an error of the replay itself at a time
	 * that never was. */
	clock_gettime(CLOCK_REALTIME, &now);
	record_begin(o, "error", now.tv_sec * 1000000000ULL + now.tv_nsec - o->mono_to_real_ns);
	json_kv_string(&o->j, "message", msg);
	json_object_end(&o->j);
	json_line_end(&o->j);
	fflush(o->out);
}
