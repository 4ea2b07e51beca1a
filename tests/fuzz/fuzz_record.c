// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target for recordings: whatever the bytes, the reader, replay
 * through the pipeline and the engine, and correlate's view of a host
 * must not crash, leak or read out of bounds.
 *
 * The first byte picks what the rest is:
 *   0    a file, as it is on disk (preamble, zlib stream)
 *   else the stream's contents, decompressed: frames. The harness adds
 *        the preamble and compresses them, and the build skips the
 *        chunk checksums (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION), so
 *        mutations reach the frame parser, the repeats and the engine
 *        instead of stopping at zlib or a CRC.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include "correlate.h"
#include "output.h"
#include "pipeline.h"
#include "record.h"
#include "report.h"
#include "source_file.h"

static FILE *devnull;

static void replay(const unsigned char *buf, size_t len)
{
	static volatile sig_atomic_t stop;
	/* small tables: a fuzzer runs thousands of these a second */
	char *argv[] = { "tcptrace-bpf replay", "x", "-j", "--max-flows=256", NULL };
	struct engine_config cfg;
	struct rec_reader *rd;
	struct pipeline *p;
	struct source *src;
	struct output out;
	struct options o;
	char why[256];

	rd = rec_open_mem(buf, len, why, sizeof(why));
	if (!rd)
		return;
	o.mode = CLI_REPLAY;
	file_source_options(rec_header(rd), 4, argv, &o);
	output_init(&out, devnull, true);
	out.mono_to_real_ns = rec_header(rd)->mono_to_real_ns;
	file_source_config(rec_header(rd), &o, &cfg);
	p = pipeline_new(&o, &cfg, &out);
	src = p ? file_source_new(rd, p) : NULL;
	if (src)
		pipeline_run(p, src, &stop);
	file_source_free(src);
	pipeline_free(p);
	rec_close(rd);
}

static void no_verdict(const struct verdict *v, void *ctx)
{
	(void)v;
	(void)ctx;
}

/* correlate's view of the same bytes, as a file (a memfd by its path). */
static void view(const unsigned char *buf, size_t len)
{
	char *argv[] = { "tcptrace-bpf correlate", "x", "y", "--max-flows=256", NULL };
	char path[64], why[256];
	struct chost h;
	int fd = memfd_create("rec", MFD_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, buf, len) == (ssize_t)len) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (!chost_read(&h, path, 4, argv, why, sizeof(why))) {
			/* a host joined with itself walks the join's code too */
			struct corr_result res;

			correlate_join(&h, &h, &res, no_verdict, NULL);
			chost_free(&h);
		}
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *file = NULL;
	size_t len;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (!size)
		return 0;
	if (data[0] == 0) {
		file = malloc(size - 1 + 1);
		memcpy(file, data + 1, size - 1);
		len = size - 1;
	} else {
		uLongf zlen = compressBound(size - 1);
		__u32 version = REC_VERSION;

		file = malloc(REC_PREAMBLE + zlen);
		memset(file, 0, REC_PREAMBLE);
		memcpy(file, REC_MAGIC, REC_MAGIC_LEN);
		memcpy(file + REC_MAGIC_LEN, &version, sizeof(version));
		if (compress2(file + REC_PREAMBLE, &zlen, data + 1, size - 1, 1) != Z_OK) {
			free(file);
			return 0;
		}
		len = REC_PREAMBLE + zlen;
	}
	replay(file, len);
	view(file, len);
	free(file);
	return 0;
}
