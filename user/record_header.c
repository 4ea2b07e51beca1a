// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A recording's header (record.h): who recorded, where, with which
 * options, and the kernel's drop reasons by value, class and name, as
 * tag-length-value fields, written by the recorder and read back by a
 * reader. A reader skips tags it does not know: a later writer may add
 * fields without a new version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "record.h"

#define DROP_MAX	4096		/* drop reason values: the kernel has ~100 */

/* ---------------------------------------------------------------- writing */


struct tlv {
	unsigned char *b;
	size_t len, cap;
	bool oom;
};

static void tlv_put(struct tlv *t, __u16 tag, const void *a, size_t alen, const void *b, size_t blen)
{
	__u16 h[2] = { tag, (__u16)(alen + blen) };

	if (alen + blen > 0xffff || t->oom)
		return;
	if (t->len + sizeof(h) + alen + blen > t->cap) {
		size_t cap = (t->cap ? t->cap * 2 : 4096) + alen + blen;
		unsigned char *n = realloc(t->b, cap);

		if (!n) {
			t->oom = true;
			return;
		}
		t->b = n;
		t->cap = cap;
	}
	memcpy(t->b + t->len, h, sizeof(h));
	memcpy(t->b + t->len + sizeof(h), a, alen);
	if (blen)
		memcpy(t->b + t->len + sizeof(h) + alen, b, blen);
	t->len += sizeof(h) + alen + blen;
}

static void tlv_str(struct tlv *t, __u16 tag, const char *s)
{
	size_t n = strlen(s);

	if (n > 4095)		/* the reader keeps at most 1023 of any string */
		n = 4095;

	tlv_put(t, tag, s, n, NULL, 0);
}

static void tlv_s64(struct tlv *t, __u16 tag, long long v)
{
	tlv_put(t, tag, &v, sizeof(v), NULL, 0);
}

static void tlv_opt(struct tlv *t, enum rec_opt opt, unsigned long v)
{
	__u32 id = opt;
	__u64 val = v;

	tlv_put(t, TAG_OPTION, &id, sizeof(id), &val, sizeof(val));
}

static void read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void header_fields(struct tlv *t, const struct rec_source_info *in)
{
	const struct options *o = in->opts;
	char host[256] = "", boot[64], cmd[1024] = "";
	__u32 sizes[3] = { sizeof(struct tt_event), sizeof(struct tt_sock_scan),
			   sizeof(struct nic_flow) };
	struct utsname u;
	struct timespec real;
	size_t off = 0;
	__u8 ingress = in->cfg->nic_ingress;

	gethostname(host, sizeof(host) - 1);
	tlv_str(t, TAG_HOSTNAME, in->hostname ? in->hostname : host);
	if (!uname(&u)) {
		tlv_str(t, TAG_KERNEL, u.release);
		tlv_str(t, TAG_MACHINE, u.machine);
	}
	read_line("/proc/sys/kernel/random/boot_id", boot, sizeof(boot));
	tlv_str(t, TAG_BOOT_ID, in->boot_id ? in->boot_id : boot);
	tlv_str(t, TAG_VERSION, TCPTRACE_VERSION);
	for (int i = 0; i < in->argc && off < sizeof(cmd); i++)
		off += snprintf(cmd + off, sizeof(cmd) - off, "%s%s", i ? " " : "", in->argv[i]);
	tlv_str(t, TAG_COMMAND, cmd);
	tlv_s64(t, TAG_MONO_TO_REAL, in->mono_to_real_ns);
	clock_gettime(CLOCK_REALTIME, &real);
	tlv_s64(t, TAG_WALL_START, real.tv_sec * 1000000000LL + real.tv_nsec);
	tlv_put(t, TAG_SIZES, sizes, sizeof(sizes), NULL, 0);
	if (o->netns_path)
		tlv_str(t, TAG_NETNS, o->netns_path);
	tlv_opt(t, OPT_REC_INTERVAL_MS, o->interval_ms);
	tlv_opt(t, OPT_REC_STALL_MS, o->stall_ms);
	tlv_opt(t, OPT_REC_LOSS_PCT, o->loss_pct);
	tlv_opt(t, OPT_REC_SYN_RETRANS, o->syn_retrans);
	tlv_opt(t, OPT_REC_FOLD_S, o->fold_s);
	tlv_opt(t, OPT_REC_CONN_INTERVAL_S, o->conn_interval_s);
	tlv_opt(t, OPT_REC_MAX_FLOWS, o->max_flows);
	tlv_opt(t, OPT_REC_DURATION_MS, o->duration_ms);
	tlv_opt(t, OPT_REC_PORT, o->port);
	tlv_put(t, TAG_NIC_INGRESS, &ingress, 1, NULL, 0);
	/* Every engine setting the live run took from the kernel rather than
	 * the options is here, or a replay would judge differently. */
	tlv_put(t, TAG_HZ, &in->cfg->hz, sizeof(in->cfg->hz), NULL, 0);
	/* Every value the table covers, named or not: the replay's table has
	 * the same length, and what lies past it is judged the same way. */
	for (__u32 v = 0; in->cfg->drop_class && v < in->cfg->n_drop_class; v++) {
		const char *name = in->drop_reason_name ? in->drop_reason_name(v) : NULL;
		unsigned char fixed[5];

		memcpy(fixed, &v, 4);
		fixed[4] = in->cfg->drop_class[v];
		tlv_put(t, TAG_DROP_REASON, fixed, sizeof(fixed), name ? name : "",
			name ? strnlen(name, DIAG_REASON_LEN - 1) : 0);
	}
}

int rec_header_build(const struct rec_source_info *in, unsigned char **buf, size_t *len)
{
	struct tlv t = { 0 };

	header_fields(&t, in);
	if (t.oom) {
		free(t.b);
		return -ENOMEM;
	}
	*buf = t.b;
	*len = t.len;
	return 0;
}

void rec_header_free(struct rec_header *h)
{
	free(h->drop_class);
	free(h->drop_name);
	h->drop_class = NULL;
	h->drop_name = NULL;
	h->n_drop = 0;
}

/* ---------------------------------------------------------------- reading */


static void copy_str(char *dst, size_t cap, const unsigned char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	/* A NUL inside stays the end: the rest is unseen, never unread. */
}

static enum rec_status drop_reason_set(struct rec_header *h, __u32 value, __u8 class,
				       const unsigned char *name, size_t n, const char **why)
{
	if (value >= DROP_MAX) {
		*why = "its header names a drop reason past any kernel's";
		return REC_CORRUPT;
	}
	if (value >= h->n_drop) {
		__u8 *c = realloc(h->drop_class, value + 1);
		char (*nm)[DIAG_REASON_LEN];

		*why = "out of memory reading it";
		if (!c)
			return REC_UNREADABLE;
		h->drop_class = c;
		nm = realloc(h->drop_name, (value + 1) * sizeof(*nm));
		if (!nm)
			return REC_UNREADABLE;
		h->drop_name = nm;
		memset(h->drop_class + h->n_drop, 0, value + 1 - h->n_drop);
		memset(h->drop_name + h->n_drop, 0, (value + 1 - h->n_drop) * sizeof(*nm));
		h->n_drop = value + 1;
	}
	h->drop_class[value] = class;
	copy_str(h->drop_name[value], DIAG_REASON_LEN, name, n);
	return REC_OK;
}

enum rec_status rec_header_parse(struct rec_header *h, const unsigned char *p, size_t n,
				 const char **why)
{
	while (n) {
		enum rec_status st;
		__u16 th[2];
		const unsigned char *v;

		*why = "its header is malformed";
		if (n < sizeof(th))
			return REC_CORRUPT;
		memcpy(th, p, sizeof(th));
		if (n - sizeof(th) < th[1])
			return REC_CORRUPT;
		v = p + sizeof(th);
		switch (th[0]) {
		case TAG_HOSTNAME:
			copy_str(h->hostname, sizeof(h->hostname), v, th[1]);
			break;
		case TAG_KERNEL:
			copy_str(h->kernel, sizeof(h->kernel), v, th[1]);
			break;
		case TAG_MACHINE:
			copy_str(h->machine, sizeof(h->machine), v, th[1]);
			break;
		case TAG_BOOT_ID:
			copy_str(h->boot_id, sizeof(h->boot_id), v, th[1]);
			break;
		case TAG_VERSION:
			copy_str(h->tracer_version, sizeof(h->tracer_version), v, th[1]);
			break;
		case TAG_COMMAND:
			copy_str(h->command, sizeof(h->command), v, th[1]);
			break;
		case TAG_NETNS:
			copy_str(h->netns, sizeof(h->netns), v, th[1]);
			break;
		case TAG_MONO_TO_REAL:
			if (th[1] >= 8)
				memcpy(&h->mono_to_real_ns, v, 8);
			break;
		case TAG_WALL_START:
			if (th[1] >= 8)
				memcpy(&h->wall_start_ns, v, 8);
			break;
		case TAG_NIC_INGRESS:
			if (th[1] >= 1)
				h->nic_ingress = v[0];
			break;
		case TAG_HZ:
			if (th[1] >= 4)
				memcpy(&h->hz, v, 4);
			break;
		case TAG_SIZES:
			if (th[1] >= 12) {
				memcpy(&h->size_event, v, 4);
				memcpy(&h->size_sock, v + 4, 4);
				memcpy(&h->size_nic, v + 8, 4);
			}
			break;
		case TAG_OPTION:
			if (th[1] >= 12) {
				__u32 id;
				__u64 val;

				memcpy(&id, v, 4);
				memcpy(&val, v + 4, 8);
				if (id < OPT_REC_MAX) {
					h->opt[id] = val;
					h->opt_set |= 1u << id;
				}
			}
			break;
		case TAG_DROP_REASON:
			if (th[1] >= 5) {
				__u32 value;

				memcpy(&value, v, 4);
				st = drop_reason_set(h, value, v[4], v + 5, th[1] - 5, why);
				if (st != REC_OK)
					return st;
			}
			break;
		default:	/* a later writer's: not needed to replay */
			break;
		}
		p += sizeof(th) + th[1];
		n -= sizeof(th) + th[1];
	}
	return REC_OK;
}

unsigned long rec_option(const struct rec_header *h, enum rec_opt opt, unsigned long dflt)
{
	return opt < OPT_REC_MAX && (h->opt_set & (1u << opt)) ? h->opt[opt] : dflt;
}

