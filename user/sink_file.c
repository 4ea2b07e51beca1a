// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include "file_out.h"
#include "output.h"
#include "sink_file.h"

struct file_sink {
	struct sink base;	/* first: a struct sink * is one of these */
	struct file_out *file;
	struct output out;	/* the JSON writer, into the file */
};

static struct file_sink *fs(struct sink *s)
{
	return (struct file_sink *)s;
}

static void on_diagnosis(struct sink *s, const struct diagnosis *d)
{
	output_diagnosis(&fs(s)->out, d);
}

static void on_conn(struct sink *s, const struct conn_record *c)
{
	output_conn(&fs(s)->out, c, false);
}

static void on_health(struct sink *s, __u64 now_ns, const struct health_report *h)
{
	output_health(&fs(s)->out, now_ns, h);
}

static void on_tick(struct sink *s, __u64 now_ns)
{
	file_out_tick(fs(s)->file, now_ns);
}

static const struct sink_ops file_sink_ops = {
	.diagnosis = on_diagnosis,
	.conn = on_conn,
	.health = on_health,
	.tick = on_tick,
};

struct sink *file_sink_new(const struct options *o, __u64 now_ns, char *err, size_t errlen)
{
	struct file_out_opts fo = {
		.path = o->output_path,
		.rotate_bytes = o->rotate_bytes,
		.rotate_ns = o->rotate_s * 1000000000ULL,
	};
	struct file_sink *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->file = file_out_open(&fo, now_ns, err, errlen);
	if (!s->file) {
		free(s);
		return NULL;
	}
	s->base.ops = &file_sink_ops;
	output_init(&s->out, file_out_stream(s->file), true);
	return &s->base;
}

void file_sink_set_clock(struct sink *s, long long mono_to_real_ns)
{
	fs(s)->out.mono_to_real_ns = mono_to_real_ns;
}

int file_sink_free(struct sink *s)
{
	int ret;

	if (!s)
		return 0;
	ret = file_out_close(fs(s)->file);
	free(s);
	return ret;
}
