// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "file_out.h"
#include "report.h"

/* Compressed output held between ticks; past this it is written at the
 * next record's end, so memory stays bounded under a flood of records. */
#define GZ_PENDING_MAX	(1U << 20)
#define STREAM_BUF	65536

struct file_out {
	char *path;
	bool gz;
	int fd;
	FILE *stream;
	z_stream z;
	bool z_ready;
	unsigned char *pending;		/* compressed, not written yet */
	size_t n_pending, cap_pending;
	__u64 written;			/* bytes of the current file, pending included */
	__u64 records;			/* records in the current file */
	__u64 opened_ns;		/* the source's clock: for --rotate-s */
	time_t opened_wall;		/* for the finished file's name */
	__u64 rotate_bytes, rotate_ns;
	__u64 now_ns;			/* the latest tick */
	bool rotate_failed;		/* said once; tried again at the next tick */
	bool write_failed;		/* said once */
	unsigned int rotations;
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static void write_failed(struct file_out *f, int err)
{
	if (f->write_failed)
		return;
	f->write_failed = true;
	report_error("cannot write %s: %s (hint: records are lost until it works again)",
		     f->path, strerror(-err));
}

/* Writes what deflate produced so far. */
static void pending_write(struct file_out *f)
{
	int err;

	if (!f->n_pending)
		return;
	err = write_all(f->fd, f->pending, f->n_pending);
	if (err)
		write_failed(f, err);
	else
		f->write_failed = false;
	f->n_pending = 0;
}

/* Runs deflate over in (may be empty) with flush, keeping its output pending. */
static int deflate_into_pending(struct file_out *f, const void *in, size_t len, int flush)
{
	f->z.next_in = (unsigned char *)in;
	f->z.avail_in = len;
	do {
		int ret;
		size_t before;

		if (f->cap_pending - f->n_pending < 16384) {
			size_t cap = f->cap_pending ? f->cap_pending * 2 : 65536;
			unsigned char *p = realloc(f->pending, cap);

			if (!p)
				return -ENOMEM;
			f->pending = p;
			f->cap_pending = cap;
		}
		f->z.next_out = f->pending + f->n_pending;
		f->z.avail_out = f->cap_pending - f->n_pending;
		before = f->z.avail_out;
		ret = deflate(&f->z, flush);
		if (ret == Z_STREAM_ERROR)
			return -EIO;
		f->n_pending += before - f->z.avail_out;
		f->written += before - f->z.avail_out;
		if (flush == Z_FINISH && ret == Z_STREAM_END)
			break;
		/* Done when deflate left output room: nothing more to give. */
		if (f->z.avail_out && !f->z.avail_in && flush != Z_FINISH)
			break;
	} while (1);
	return 0;
}

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static int z_begin(struct file_out *f)
{
	/* 15 + 16: a gzip header and trailer around the deflate stream.
	 * Level 1: 85k conn records (56 MB) took 0.21 s of CPU and came to
	 * 1.7 MB, against 0.30 s and 1.1 MB at zlib's default, the tracer's
	 * CPU that counts at 10k connections a second. */
	if (f->z_ready)
		return deflateReset(&f->z) == Z_OK ? 0 : -EIO;
	memset(&f->z, 0, sizeof(f->z));
	if (deflateInit2(&f->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	f->z_ready = true;
	return 0;
}

/* Everything of the current file out, its gzip trailer included. */
static void finish_file(struct file_out *f)
{
	if (f->gz && f->z_ready && deflate_into_pending(f, NULL, 0, Z_FINISH))
		write_failed(f, -EIO);
	pending_write(f);
}

/*
 * "dir/conns" + "-20260103T101500Z-0001" + ".json.gz": the file's start
 * and its number in this run, so that names sort as the files follow
 * each other (two may start within a second); -N if that name is taken.
 */
static char *archive_name(const struct file_out *f)
{
	const char *slash = strrchr(f->path, '/');
	const char *base = slash ? slash + 1 : f->path, *dot;
	char stamp[32], *name = NULL;
	struct tm tm;

	while (*base == '.')
		base++;
	dot = strchr(base, '.');
	if (!dot)
		dot = f->path + strlen(f->path);
	gmtime_r(&f->opened_wall, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int n = 0; n < 1000; n++) {
		char suffix[16] = "";

		if (n)
			snprintf(suffix, sizeof(suffix), "-%d", n);
		free(name);
		if (asprintf(&name, "%.*s-%s-%04u%s%s", (int)(dot - f->path), f->path, stamp,
			     f->rotations + 1, suffix, dot) < 0)
			return NULL;
		if (access(name, F_OK))
			return name;
	}
	return name;
}

/*
 * At a record's end: the next file is opened first (under a temporary
 * name), then the current one finished and renamed, then the new one
 * takes the name. Nothing is written meanwhile: no record is lost, and a
 * failure leaves the current file in use.
 */
static void rotate(struct file_out *f)
{
	char *archive = archive_name(f), *tmp = NULL;
	int fd = -1;

	errno = ENOMEM;
	if (archive && asprintf(&tmp, "%s.rotating", f->path) >= 0)
		fd = open_file(tmp);
	else
		tmp = NULL;
	if (fd < 0) {
		if (!f->rotate_failed)
			report_error("cannot rotate %s: %s (hint: records go on into it)", f->path,
				     strerror(errno));
		f->rotate_failed = true;
		if (tmp)
			unlink(tmp);
		goto out;
	}
	finish_file(f);
	close(f->fd);
	if (rename(f->path, archive) || rename(tmp, f->path))
		report_error("cannot rename %s on rotation: %s", f->path, strerror(errno));
	f->fd = fd;
	f->written = 0;
	f->records = 0;
	f->opened_ns = f->now_ns;
	f->opened_wall = time(NULL);
	f->rotate_failed = false;
	f->rotations++;
	if (f->gz && z_begin(f))
		write_failed(f, -ENOMEM);
out:
	free(archive);
	free(tmp);
}

static ssize_t stream_write(void *cookie, const char *buf, size_t len)
{
	struct file_out *f = cookie;
	bool record_end = len && buf[len - 1] == '\n';
	int err;

	if (f->gz) {
		err = deflate_into_pending(f, buf, len, Z_NO_FLUSH);
		if (err)
			write_failed(f, err);
		if (record_end && f->n_pending > GZ_PENDING_MAX) {
			if (deflate_into_pending(f, NULL, 0, Z_SYNC_FLUSH))
				write_failed(f, -EIO);
			pending_write(f);
		}
	} else {
		err = write_all(f->fd, buf, len);
		if (err)
			write_failed(f, err);
		else
			f->write_failed = false;
		f->written += len;
	}
	if (record_end) {
		f->records++;
		if (f->rotate_bytes && f->written >= f->rotate_bytes && !f->rotate_failed)
			rotate(f);
	}
	/* Taken either way: a disk that fills loses records, said above, and
	 * must not wedge the stream in an error state. */
	return len;
}

static int stream_close(void *cookie)
{
	(void)cookie;
	return 0;
}

struct file_out *file_out_open(const struct file_out_opts *o, __u64 now_ns,
			       char *err, size_t errlen)
{
	static const cookie_io_functions_t io = { .write = stream_write, .close = stream_close };
	struct file_out *f = calloc(1, sizeof(*f));
	size_t len = strlen(o->path);

	if (!f || !(f->path = strdup(o->path))) {
		snprintf(err, errlen, "out of memory");
		free(f);
		return NULL;
	}
	f->gz = len > 3 && !strcmp(o->path + len - 3, ".gz");
	f->rotate_bytes = o->rotate_bytes;
	f->rotate_ns = o->rotate_ns;
	f->opened_ns = f->now_ns = now_ns;
	f->opened_wall = time(NULL);
	f->fd = open_file(o->path);
	if (f->fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", o->path, strerror(errno));
		goto fail;
	}
	if (f->gz && z_begin(f)) {
		snprintf(err, errlen, "%s: cannot start gzip: out of memory", o->path);
		goto fail;
	}
	f->stream = fopencookie(f, "w", io);
	if (!f->stream) {
		snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		goto fail;
	}
	/* A record goes down in one piece as a rule (the writer flushes at
	 * its end either way). */
	setvbuf(f->stream, NULL, _IOFBF, STREAM_BUF);
	return f;
fail:
	if (f->fd >= 0)
		close(f->fd);
	if (f->z_ready)
		deflateEnd(&f->z);
	free(f->path);
	free(f);
	return NULL;
}

FILE *file_out_stream(struct file_out *f)
{
	return f->stream;
}

void file_out_tick(struct file_out *f, __u64 now_ns)
{
	f->now_ns = now_ns;
	fflush(f->stream);
	if (f->gz) {
		/* Everything so far decodable, written: what a SIGKILL leaves. */
		if (deflate_into_pending(f, NULL, 0, Z_SYNC_FLUSH))
			write_failed(f, -EIO);
		pending_write(f);
	}
	f->rotate_failed = false;
	if (f->rotate_ns && f->records && now_ns - f->opened_ns >= f->rotate_ns)
		rotate(f);
}

int file_out_close(struct file_out *f)
{
	int ret = 0;

	if (!f)
		return 0;
	fclose(f->stream);
	finish_file(f);
	if (f->write_failed)
		ret = -EIO;
	if (close(f->fd) && !ret)
		ret = -errno;
	if (f->z_ready)
		deflateEnd(&f->z);
	free(f->pending);
	free(f->path);
	free(f);
	return ret;
}

unsigned int file_out_rotations(const struct file_out *f)
{
	return f->rotations;
}
