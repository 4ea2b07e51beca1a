// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <string.h>
#include "json.h"
#include "kernel_report.h"

static const char *hook_status(const struct hook_plan *p, enum hook h)
{
	if (p->off[h])
		return "off";
	if (p->variant[h] < 0)
		return "missing";
	return p->attached[h] ? "attached" : "loaded";
}

bool kernel_report_complete(const struct hook_plan *p)
{
	for (int h = 0; h < HOOK_MAX; h++)
		if (!hook_plan_served(p, h))
			return false;
	return true;
}

/* Appends to buf like snprintf, never past len. */
static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

void kernel_report_note(const struct hook_plan *p, char *buf, size_t len)
{
	const char *sep = "";

	buf[0] = '\0';
	for (int h = 0; h < HOOK_MAX; h++) {
		if (hook_plan_served(p, h))
			continue;
		append(buf, len, "%s%s missing (%s), so without %s", sep, hook_desc(h)->name, p->why[h],
		       hook_desc(h)->feeds);
		sep = "; ";
	}
	for (int h = 0; h < HOOK_MAX; h++) {
		const struct hook_variant *v = hook_plan_variant(p, h);

		if (!v || !v->caveat)
			continue;
		append(buf, len, "%s%s: %s", sep, hook_desc(h)->name, v->caveat);
		sep = "; ";
	}
}

void kernel_report_json(struct json *j, const struct hook_plan *p)
{
	json_key(j, "hooks");
	json_array_begin(j);
	for (int h = 0; h < HOOK_MAX; h++) {
		const struct hook_variant *v = hook_plan_variant(p, h);

		json_object_begin(j);
		json_kv_string(j, "hook", hook_desc(h)->name);
		json_kv_string(j, "status", hook_status(p, h));
		json_kv_string(j, "attach", v ? v->attach : NULL);
		json_kv_string(j, "program", v ? v->progs[0] : NULL);
		json_kv_string(j, "caveat", v ? v->caveat : NULL);
		json_kv_string(j, "why", p->why[h]);
		json_kv_string(j, "unavailable", hook_plan_served(p, h) ? NULL : hook_desc(h)->feeds);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "kernel_features");
	json_object_begin(j);
	json_key(j, "ringbuf");
	json_bool(j, p->has_ringbuf);
	json_key(j, "tcx");
	json_bool(j, p->has_tcx);
	json_key(j, "xdp_link");
	json_bool(j, p->has_xdp_link);
	json_key(j, "coarse_clock");
	json_bool(j, p->has_coarse_clock);
	json_key(j, "drop_reasons");
	json_bool(j, p->has_drop_reasons);
	json_key(j, "socket_storage");
	json_bool(j, hook_plan_sock_storage(p));
	json_object_end(j);
}

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

void kernel_report_text(FILE *out, const struct hook_plan *p, const char *kernel)
{
	bool complete = kernel_report_complete(p);

	fprintf(out, "tcptrace-bpf on Linux %s\n", kernel);
	for (int h = 0; h < HOOK_MAX; h++) {
		const struct hook_variant *v = hook_plan_variant(p, h);

		fprintf(out, "  %-24s %-46s %s", hook_desc(h)->name,
			v ? v->attach : "-", hook_status(p, h));
		if (v && v->caveat)
			fprintf(out, " (%s)", v->caveat);
		else if (!hook_plan_served(p, h))
			fprintf(out, ": %s", p->why[h]);
		fputc('\n', out);
	}
	fprintf(out, "  kernel: ring buffer %s, tcx %s%s, XDP link %s, coarse clock %s, "
		"drop reasons %s, socket storage %s\n", yes(p->has_ringbuf), yes(p->has_tcx),
		p->has_tcx ? "" : " (netlink clsact instead)", yes(p->has_xdp_link),
		yes(p->has_coarse_clock), yes(p->has_drop_reasons),
		hook_plan_sock_storage(p) ? "yes" :
		p->has_sk_storage_tracing ? "no (classic tracepoints: socket states by address)" :
		"no (before 5.11: socket states by address)");
	if (complete) {
		fprintf(out, "every diagnosis is available\n");
		return;
	}
	fprintf(out, "unavailable on this kernel:");
	for (int h = 0; h < HOOK_MAX; h++)
		if (!hook_plan_served(p, h))
			fprintf(out, "\n  %s (no %s)", hook_desc(h)->feeds, hook_desc(h)->name);
	fputc('\n', out);
}
