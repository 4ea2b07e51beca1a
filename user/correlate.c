// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcptrace-bpf correlate FILE_A FILE_B: read both recordings, join them,
 * print a verdict per broken connection (text, or JSON lines with -j) and
 * a last line (a "correlation" record) saying how the clocks were aligned
 * and how many connections were found at both ends.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "correlate.h"
#include "json.h"
#include "report.h"
#include "term.h"
#include "words.h"

struct corr_out {
	FILE *f;
	bool json;
	struct json j;
	struct verdict *v;	/* collected, printed in time order */
	size_t n, cap;
};

static void on_sigpipe(int sig)
{
	(void)sig;
}

static void rfc3339(long long wall_ns, char *buf, size_t len, bool date)
{
	time_t secs = wall_ns / 1000000000LL;
	struct tm tm;

	if (wall_ns <= 0 || !gmtime_r(&secs, &tm)) {
		snprintf(buf, len, date ? "1970-01-01T00:00:00.000Z" : "--:--:--.---Z");
		return;
	}
	if (date)
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (wall_ns % 1000000000LL) / 1000000);
	else
		snprintf(buf, len, "%02d:%02d:%02d.%03lldZ", tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (wall_ns % 1000000000LL) / 1000000);
}

static void endpoint(__u16 family, const __u8 addr[16], __u16 port, char *buf, size_t len)
{
	char a[TT_ADDR_STRLEN];

	tt_addr_str(family, addr, a, sizeof(a));
	snprintf(buf, len, family == TT_AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

static void keep_verdict(const struct verdict *v, void *ctx)
{
	struct corr_out *o = ctx;

	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 64;
		struct verdict *nv = realloc(o->v, cap * sizeof(*nv));

		if (!nv)
			return;
		o->v = nv;
		o->cap = cap;
	}
	o->v[o->n++] = *v;
}

static int by_time(const void *a, const void *b)
{
	const struct verdict *x = a, *y = b;

	return x->wall_ns < y->wall_ns ? -1 : x->wall_ns > y->wall_ns;
}

static void print_verdict(struct corr_out *o, const struct verdict *v)
{
	bool flow = v->code != VERDICT_CLOCK;
	char ts[80], a[TT_ADDR_STRLEN];

	if (!o->json) {
		char c[TT_ADDR_STRLEN + 8] = "", s[TT_ADDR_STRLEN + 8] = "";

		rfc3339(v->wall_ns, ts, sizeof(ts), false);
		if (flow) {
			endpoint(v->family, v->caddr, v->cport, c, sizeof(c));
			endpoint(v->family, v->saddr, v->sport, s, sizeof(s));
		}
		term_printf(o->f, "%s %-12s %-7s %s%s%s%s%s\n", ts, verdict_code_name(v->code),
			    verdict_where_name(v->where), c, flow ? " -> " : "", s,
			    flow ? "  " : "", v->summary);
		fflush(o->f);
		return;
	}
	rfc3339(v->wall_ns, ts, sizeof(ts), true);
	json_object_begin(&o->j);
	json_kv_string(&o->j, "type", "verdict");
	json_kv_string(&o->j, "ts", ts);
	json_kv_string(&o->j, "code", verdict_code_name(v->code));
	json_kv_string(&o->j, "where", verdict_where_name(v->where));
	json_kv_string(&o->j, "family", !flow ? NULL : v->family == TT_AF_INET6 ? "ipv6" : "ipv4");
	json_kv_string(&o->j, "caddr", flow ? tt_addr_str(v->family, v->caddr, a, sizeof(a)) : NULL);
	json_key(&o->j, "cport");
	flow ? json_uint(&o->j, v->cport) : json_null(&o->j);
	json_kv_string(&o->j, "saddr", flow ? tt_addr_str(v->family, v->saddr, a, sizeof(a)) : NULL);
	json_key(&o->j, "sport");
	flow ? json_uint(&o->j, v->sport) : json_null(&o->j);
	json_kv_string(&o->j, "summary", v->summary);
	json_kv_string(&o->j, "reason", v->reason[0] ? v->reason : NULL);
	json_key(&o->j, "evidence");
	json_object_begin(&o->j);
	for (unsigned int i = 0; i < v->n_evidence; i++)
		json_kv_int(&o->j, v->evidence[i].name, v->evidence[i].value);
	json_object_end(&o->j);
	json_object_end(&o->j);
	json_line_end(&o->j);
}

static const char *clock_name(const struct corr_result *r)
{
	return r->clock_from == CLOCK_SAME_BOOT ? "same_boot" :
	       r->clock_from == CLOCK_HANDSHAKES ? "handshakes" : "wall";
}

/* How the clocks were aligned, in words. */
static void clock_words(const struct corr_result *r, char *buf, size_t len)
{
	double off = r->offset_ns / 1e6, spread = r->offset_spread_ns / 1e6;

	switch (r->clock_from) {
	case CLOCK_SAME_BOOT:
		snprintf(buf, len, "one machine, one boot: one clock%s", "");
		if (r->handshakes)
			snprintf(buf + strlen(buf), len - strlen(buf), " (%u handshake%s "
				 "agree within %.1f ms)", r->handshakes,
				 r->handshakes == 1 ? "" : "s", spread);
		break;
	case CLOCK_HANDSHAKES:
		snprintf(buf, len, "B's clock reads A's %+.3f ms, from %u handshake%s (spread "
			 "%.1f ms)", off, r->handshakes, r->handshakes == 1 ? "" : "s", spread);
		break;
	default:
		snprintf(buf, len, "no handshake seen at both ends: the hosts' wall clocks "
			 "align them (B reads A's %+.3f ms), as well as their NTP does", off);
	}
}

static void print_result(struct corr_out *o, const struct corr_result *r,
			 const struct chost *a, const struct chost *b)
{
	char words[256], ts[80];
	struct timespec now;

	clock_words(r, words, sizeof(words));
	if (!o->json) {
		term_printf(o->f, "tcptrace-bpf: %u verdict%s; %u connection%s found at both ends "
			    "(%u through a NAT), %u seen at one end only, %u outside the other "
			    "recording; clocks: %s\n", r->verdicts, r->verdicts == 1 ? "" : "s",
			    r->pairs, r->pairs == 1 ? "" : "s", r->nat_pairs, r->unmatched,
			    r->outside, words);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	rfc3339(now.tv_sec * 1000000000LL + now.tv_nsec, ts, sizeof(ts), true);
	json_object_begin(&o->j);
	json_kv_string(&o->j, "type", "correlation");
	json_kv_string(&o->j, "ts", ts);
	json_kv_string(&o->j, "a", a->path);
	json_kv_string(&o->j, "a_host", a->hdr.hostname);
	json_kv_string(&o->j, "b", b->path);
	json_kv_string(&o->j, "b_host", b->hdr.hostname);
	json_kv_string(&o->j, "clock", clock_name(r));
	json_kv_int(&o->j, "offset_us", r->offset_ns / 1000);
	json_kv_int(&o->j, "spread_us", r->offset_spread_ns / 1000);
	json_kv_uint(&o->j, "handshakes", r->handshakes);
	json_key(&o->j, "overlap");
	json_bool(&o->j, r->overlap);
	json_kv_uint(&o->j, "pairs", r->pairs);
	json_kv_uint(&o->j, "nat_pairs", r->nat_pairs);
	json_kv_uint(&o->j, "one_end_only", r->unmatched);
	json_kv_uint(&o->j, "outside", r->outside);
	json_kv_uint(&o->j, "verdicts", r->verdicts);
	json_kv_string(&o->j, "summary", words);
	json_object_end(&o->j);
	json_line_end(&o->j);
}

static void on_error(const char *msg, void *ctx)
{
	struct corr_out *o = ctx;
	struct timespec now;
	char ts[80];

	clock_gettime(CLOCK_REALTIME, &now);
	rfc3339(now.tv_sec * 1000000000LL + now.tv_nsec, ts, sizeof(ts), true);
	json_object_begin(&o->j);
	json_kv_string(&o->j, "type", "error");
	json_kv_string(&o->j, "ts", ts);
	json_kv_string(&o->j, "message", msg);
	json_object_end(&o->j);
	json_line_end(&o->j);
}

/* A damaged recording is used up to its damage, and said. */
static bool damage_said(const struct chost *h)
{
	if (h->status == REC_TRUNCATED) {
		report_error("warning: %s is truncated: %s; correlating what precedes it",
			     h->path, h->why);
		return false;
	}
	if (h->status != REC_OK) {
		report_error("%s is damaged: %s; correlating what precedes it", h->path, h->why);
		return true;
	}
	return false;
}

int correlate_main(int argc, char **argv)
{
	struct chost h[2];
	struct corr_result res;
	struct corr_out out = { .f = stdout };
	struct options o;
	char why[512];
	bool damaged = false;

	cli_parse_mode(argc, argv, &o, CLI_CORRELATE);
	signal(SIGPIPE, on_sigpipe);
	out.json = o.json;
	json_init(&out.j, stdout);
	if (o.json)
		report_set_sink(on_error, &out);
	for (int i = 0; i < 2; i++) {
		if (chost_read(&h[i], o.files[i], argc, argv, why, sizeof(why)) < 0) {
			report_error("cannot correlate %s: %s", o.files[i], why);
			if (i)
				chost_free(&h[0]);
			return EXIT_RUNTIME;
		}
	}
	for (int i = 0; i < 2; i++) {
		char when[80];

		rfc3339((long long)(h[i].start_ns + (unsigned long long)h[i].hdr.mono_to_real_ns), when,
			sizeof(when), true);
		report_note("%s: %s (Linux %s), from %s, %zu connections", o.files[i],
			    h[i].hdr.hostname[0] ? h[i].hdr.hostname : "an unnamed host",
			    h[i].hdr.kernel[0] ? h[i].hdr.kernel : "?", when, h[i].n);
		damaged |= damage_said(&h[i]);
	}
	correlate_join(&h[0], &h[1], &res, keep_verdict, &out);
	if (out.n)
		qsort(out.v, out.n, sizeof(*out.v), by_time);
	for (size_t i = 0; i < out.n; i++)
		print_verdict(&out, &out.v[i]);
	print_result(&out, &res, &h[0], &h[1]);
	free(out.v);
	fflush(stdout);
	chost_free(&h[0]);
	chost_free(&h[1]);
	return damaged ? EXIT_RUNTIME : EXIT_DONE;
}
