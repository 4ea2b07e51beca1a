// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading a recording (record.h has the format). Nothing read is trusted:
 * a chunk is delivered only once its CRC matched, every length is checked
 * against what is left and against bounds no writer exceeds, and a repeat
 * may only name records the reader holds. Damage ends the reading there,
 * with what came before it delivered and a one-line reason.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "record.h"

#define FRAME_HDR	16
#define FRAME_MAX	(1u << 20)	/* the header is the largest a writer makes: ~10 KiB */
#define CHUNK_MAX	(64u << 20)	/* a writer ends a chunk past 1 MiB */
#define SAMPLE_MAX	(4u << 20)	/* records of one type in one sample */
#define IN_BUF		(16u * 1024)

struct frame {
	__u16 type;
	__u16 zero;
	__u32 len;
	__u64 ts;
};

struct nic_rec {
	struct flow_key key;
	struct nic_flow nf;
};

/* One type's records of the previous sample and of the one being read. */
struct sample {
	void *prev, *cur;
	__u32 n_prev, n_cur, cap_prev, cap_cur;
	size_t size;
};

struct rec_reader {
	FILE *f;
	const unsigned char *mem;
	size_t mem_len, mem_pos;
	__u64 consumed;			/* compressed bytes read, preamble included */
	z_stream z;
	bool z_ready, stream_end, input_eof;
	unsigned char *buf;		/* decompressed */
	size_t len, cap;
	size_t pos;			/* next frame to deliver */
	size_t ok_end;			/* [pos, ok_end): checked, deliverable */
	size_t chunk;			/* the unchecked chunk starts here */
	size_t scan;			/* ... and its frames are walked up to here */
	__u32 scan_frames;
	bool in_repeat;
	struct rec_repeat rep;
	__u64 rep_ts;
	__u32 rep_done;
	struct sample sock, nic;
	struct rec_header hdr;
	enum rec_status status;
	/* What the input did, ahead of the walk: said once the walk gets
	 * there, so the checked chunks before it are still delivered. */
	enum rec_status in_status;
	char in_why[256];
	bool finished;
	__u64 last_ts;
	char why[256];
	unsigned char in[IN_BUF];
};

__attribute__((format(printf, 3, 4)))
static int damage(struct rec_reader *r, enum rec_status st, const char *fmt, ...)
{
	va_list ap;

	if (r->status != REC_OK)
		return 0;
	r->status = st;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return 0;
}

/* The input stops here; the walk says so when it gets there. */
__attribute__((format(printf, 3, 4)))
static bool input_ends(struct rec_reader *r, enum rec_status st, const char *fmt, ...)
{
	va_list ap;

	if (r->in_status != REC_OK)
		return false;
	r->in_status = st;
	va_start(ap, fmt);
	vsnprintf(r->in_why, sizeof(r->in_why), fmt, ap);
	va_end(ap);
	return false;
}

static size_t read_in(struct rec_reader *r, void *dst, size_t n)
{
	size_t got;

	if (r->f) {
		got = fread(dst, 1, n, r->f);
	} else {
		got = r->mem_len - r->mem_pos < n ? r->mem_len - r->mem_pos : n;
		if (got)
			memcpy(dst, r->mem + r->mem_pos, got);
		r->mem_pos += got;
	}
	r->consumed += got;
	return got;
}

static bool grow(struct rec_reader *r, size_t need)
{
	size_t cap = r->cap ? r->cap : 64 * 1024;
	unsigned char *b;

	if (need <= r->cap)
		return true;
	while (cap < need)
		cap *= 2;
	b = realloc(r->buf, cap);
	if (!b)
		return damage(r, REC_UNREADABLE, "out of memory reading it");
	r->buf = b;
	r->cap = cap;
	return true;
}

/* More decompressed bytes at the end of buf: true when some came. */
static bool inflate_more(struct rec_reader *r)
{
	size_t before = r->len;

	if (r->stream_end || r->in_status != REC_OK)
		return false;
	if (r->len - r->chunk >= CHUNK_MAX)
		return input_ends(r, REC_CORRUPT, "a chunk without a checksum runs past %u MiB "
				  "(no writer makes one)", CHUNK_MAX >> 20);
	if (!grow(r, r->len + IN_BUF))
		return false;
	while (r->len == before) {
		int ret;

		if (!r->z.avail_in && !r->input_eof) {
			r->z.next_in = r->in;
			r->z.avail_in = read_in(r, r->in, sizeof(r->in));
			if (!r->z.avail_in) {
				r->input_eof = true;
				if (r->f && ferror(r->f))
					return input_ends(r, REC_UNREADABLE, "reading it failed: %s",
							  strerror(errno));
			}
		}
		r->z.next_out = r->buf + r->len;
		r->z.avail_out = r->cap - r->len;
		ret = inflate(&r->z, Z_NO_FLUSH);
		r->len = r->cap - r->z.avail_out;
		if (ret == Z_STREAM_END) {
			r->stream_end = true;
			break;
		}
		if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT)
			return input_ends(r, REC_CORRUPT, "the compressed stream is damaged before "
					  "byte %llu (zlib: %s)",
					  (unsigned long long)(r->consumed - r->z.avail_in),
					  r->z.msg ? r->z.msg : "bad data") || r->len > before;
		if (ret == Z_MEM_ERROR)
			return input_ends(r, REC_UNREADABLE, "out of memory reading it");
		if (r->len == before && r->input_eof && !r->z.avail_in)
			return input_ends(r, REC_TRUNCATED, "it ends at byte %llu, in the middle "
					  "of its stream (the tracer was killed, or the copy is "
					  "short): what came after its last complete tick is lost",
					  (unsigned long long)r->consumed);
	}
	return r->len > before;
}

/*
 * Walks the unchecked chunk's frames until its REC_CHECK: true when a
 * checked chunk is ready to deliver, false at the end or on damage.
 */
static bool next_chunk(struct rec_reader *r)
{
	/* What was delivered goes; the unchecked rest moves to the front. */
	if (r->chunk) {
		memmove(r->buf, r->buf + r->chunk, r->len - r->chunk);
		r->len -= r->chunk;
		r->scan -= r->chunk;
		r->chunk = r->pos = r->ok_end = 0;
	}
	while (r->status == REC_OK) {
		struct frame fr;
		struct rec_check c;

		if (r->len - r->scan >= FRAME_HDR) {
			memcpy(&fr, r->buf + r->scan, sizeof(fr));
			if (fr.zero || fr.len > FRAME_MAX || !fr.type)
				return damage(r, REC_CORRUPT, "a record's frame is malformed (type "
					      "%u, length %u)", fr.type, fr.len);
		}
		if (r->len - r->scan < FRAME_HDR || r->len - r->scan - FRAME_HDR < fr.len) {
			if (inflate_more(r))
				continue;
			if (r->in_status != REC_OK)
				return damage(r, r->in_status, "%s", r->in_why);
			break;
		}
		if (fr.type != REC_CHECK) {
			r->scan += FRAME_HDR + fr.len;
			r->scan_frames++;
			continue;
		}
		if (fr.len < sizeof(c))
			return damage(r, REC_CORRUPT, "a checksum record is short");
		memcpy(&c, r->buf + r->scan + FRAME_HDR, sizeof(c));
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
		/* A fuzzer cannot forge checksums: let it past them, to what they guard. */
		c.crc = (__u32)crc32(0L, r->buf, r->scan);
		c.frames = r->scan_frames;
#endif
		if (c.crc != (__u32)crc32(0L, r->buf, r->scan) || c.frames != r->scan_frames)
			return damage(r, REC_CORRUPT, "a chunk's checksum does not match its "
				      "contents (%u records)", r->scan_frames);
		r->ok_end = r->scan;
		r->scan += FRAME_HDR + fr.len;
		r->chunk = r->scan;
		r->scan_frames = 0;
		return true;
	}
	if (r->status != REC_OK)
		return false;
	/* The stream ended whole: nothing may dangle after the last check. */
	if (r->len > r->chunk)
		return damage(r, REC_CORRUPT, "it ends with %zu bytes no checksum covers",
			      r->len - r->chunk);
	return false;
}

/* ---------------------------------------------------------------- samples */

static void *sample_push(struct rec_reader *r, struct sample *s)
{
	if (s->n_cur >= SAMPLE_MAX) {
		damage(r, REC_CORRUPT, "a sample holds more than %u records (no writer "
		       "makes one)", SAMPLE_MAX);
		return NULL;
	}
	if (s->n_cur == s->cap_cur) {
		__u32 cap = s->cap_cur ? s->cap_cur * 2 : 256;
		void *v = realloc(s->cur, (size_t)cap * s->size);

		if (!v) {
			damage(r, REC_UNREADABLE, "out of memory reading it");
			return NULL;
		}
		s->cur = v;
		s->cap_cur = cap;
	}
	return (char *)s->cur + (size_t)s->n_cur++ * s->size;
}

static void sample_rotate(struct sample *s)
{
	void *t = s->prev;
	__u32 cap = s->cap_prev;

	s->prev = s->cur;
	s->cap_prev = s->cap_cur;
	s->n_prev = s->n_cur;
	s->cur = t;
	s->cap_cur = cap;
	s->n_cur = 0;
}

/* The next record of the REPEAT being expanded. */
static int repeat_next(struct rec_reader *r, struct rec_item *it)
{
	struct sample *s = r->rep.type == REC_SOCKET ? &r->sock : &r->nic;
	const void *from = (const char *)s->prev + (size_t)(r->rep.start + r->rep_done) * s->size;
	void *to = sample_push(r, s);

	if (!to)
		return 0;
	memcpy(to, from, s->size);
	memset(it, 0, sizeof(*it));
	it->type = r->rep.type;
	it->ts_ns = r->rep_ts;
	if (it->type == REC_SOCKET) {
		memcpy(&it->sock, from, sizeof(it->sock));
		it->sock.now_jiffies = r->rep.now_jiffies;
		((struct tt_sock_scan *)to)->now_jiffies = r->rep.now_jiffies;
	} else {
		memcpy(&it->nic, from, sizeof(it->nic));
	}
	if (++r->rep_done == r->rep.count)
		r->in_repeat = false;
	return 1;
}

/* Copies what the writer wrote of a struct, zeroing what it did not know. */
static void copy_payload(void *dst, size_t size, const unsigned char *p, __u32 len)
{
	memset(dst, 0, size);
	memcpy(dst, p, len < size ? len : size);
}

/* One checked frame as an item: 1, 0 to skip it, -1 on damage. */
static int take_frame(struct rec_reader *r, const struct frame *fr, const unsigned char *p,
		      struct rec_item *it)
{
	memset(it, 0, sizeof(*it));
	it->type = fr->type;
	it->ts_ns = fr->ts;
	switch (fr->type) {
	case REC_EVENT:
		copy_payload(&it->ev, sizeof(it->ev), p, fr->len);
		return 1;
	case REC_SOCKET: {
		void *to = sample_push(r, &r->sock);

		if (!to)
			return -1;
		copy_payload(&it->sock, sizeof(it->sock), p, fr->len);
		memcpy(to, &it->sock, sizeof(it->sock));
		return 1;
	}
	case REC_NIC: {
		void *to;

		if (fr->len < sizeof(struct flow_key))
			return damage(r, REC_CORRUPT, "a NIC record is short") - 1;
		to = sample_push(r, &r->nic);
		if (!to)
			return -1;
		memcpy(&it->nic.key, p, sizeof(it->nic.key));
		copy_payload(&it->nic.nf, sizeof(it->nic.nf), p + sizeof(it->nic.key),
			     fr->len - sizeof(it->nic.key));
		memcpy(to, &it->nic, sizeof(it->nic));
		return 1;
	}
	case REC_LOST:
		if (fr->len < sizeof(it->lost))
			return damage(r, REC_CORRUPT, "a lost-events record is short") - 1;
		memcpy(&it->lost, p, sizeof(it->lost));
		sample_rotate(&r->sock);
		sample_rotate(&r->nic);
		return 1;
	case REC_HEALTH:
		copy_payload(&it->health, sizeof(it->health), p, fr->len);
		return 1;
	case REC_CGROUP: {
		struct rec_cgroup c;

		if (fr->len < sizeof(c))
			return damage(r, REC_CORRUPT, "a cgroup record is short") - 1;
		memcpy(&c, p, sizeof(c));
		if (c.path_len >= sizeof(it->cgroup.path) || c.pod_len >= sizeof(it->cgroup.pod) ||
		    fr->len != sizeof(c) + c.path_len + c.pod_len)
			return damage(r, REC_CORRUPT, "a cgroup record's lengths disagree") - 1;
		it->cgroup.id = c.id;
		memcpy(it->cgroup.path, p + sizeof(c), c.path_len);
		memcpy(it->cgroup.pod, p + sizeof(c) + c.path_len, c.pod_len);
		return 1;
	}
	case REC_REPEAT: {
		struct rec_repeat rep;
		const struct sample *s;

		if (fr->len < sizeof(rep))
			return damage(r, REC_CORRUPT, "a repeat record is short") - 1;
		memcpy(&rep, p, sizeof(rep));
		s = rep.type == REC_SOCKET ? &r->sock : rep.type == REC_NIC ? &r->nic : NULL;
		if (!s || !rep.count || rep.start > s->n_prev || rep.count > s->n_prev - rep.start)
			return damage(r, REC_CORRUPT, "a repeat record names records the sample "
				      "before it does not have") - 1;
		r->rep = rep;
		r->rep_ts = fr->ts;
		r->rep_done = 0;
		r->in_repeat = true;
		return repeat_next(r, it) ? 1 : -1;
	}
	case REC_FINISH:
		r->finished = true;
		/* fall through */
	case REC_START:
	case REC_SCAN_END:
	case REC_TICK:
	case REC_LOOP_END:
		return 1;
	case REC_HEADER:
		return damage(r, REC_CORRUPT, "a second header in its body") - 1;
	default:	/* a later writer's record this reader needs not */
		return 0;
	}
}

int rec_next(struct rec_reader *r, struct rec_item *it)
{
	for (;;) {
		struct frame fr;
		int n;

		if (r->status != REC_OK)
			return 0;
		if (r->in_repeat) {
			if (!repeat_next(r, it))
				return 0;
			r->last_ts = it->ts_ns;
			return 1;
		}
		if (r->pos >= r->ok_end && !next_chunk(r))
			return 0;
		if (r->pos >= r->ok_end)
			continue;
		memcpy(&fr, r->buf + r->pos, sizeof(fr));
		n = take_frame(r, &fr, r->buf + r->pos + FRAME_HDR, it);
		r->pos += FRAME_HDR + fr.len;
		if (n < 0)
			return 0;
		if (n > 0) {
			r->last_ts = it->ts_ns;
			return 1;
		}
	}
}

/* ---------------------------------------------------------------- open */

static struct rec_reader *fail_open(struct rec_reader *r, char *why, size_t len, const char *msg)
{
	snprintf(why, len, "%s", msg);
	rec_close(r);
	return NULL;
}

/* The preamble, then the header frame. */
static struct rec_reader *open_common(struct rec_reader *r, char *why, size_t why_len)
{
	unsigned char pre[REC_PREAMBLE];
	size_t got = read_in(r, pre, sizeof(pre));
	__u32 version;
	struct frame fr;

	r->sock.size = sizeof(struct tt_sock_scan);
	r->nic.size = sizeof(struct nic_rec);
	if (r->f && ferror(r->f))
		return fail_open(r, why, why_len, strerror(errno));
	if (!got)
		return fail_open(r, why, why_len, "it is empty: not a recording (a tracer "
				 "that could not start writes nothing)");
	if (got >= 2 && pre[0] == 0x1f && pre[1] == 0x8b)
		return fail_open(r, why, why_len, "it is gzip data, not a tcptrace-bpf recording "
				 "(-w writes recordings; -o FILE.gz writes gzipped output)");
	if (memcmp(pre, REC_MAGIC, got < REC_MAGIC_LEN ? got : REC_MAGIC_LEN)) {
		if (got >= 4 && !memcmp(pre, REC_MAGIC, 4))
			return fail_open(r, why, why_len, "its first bytes were altered (a copy "
					 "made in text mode?): not readable as a recording");
		return fail_open(r, why, why_len, pre[0] == '{' ?
				 "it is JSON lines (tcptrace-bpf -j output?), not a recording "
				 "(make one with -w FILE)" :
				 "it is not a tcptrace-bpf recording (make one with -w FILE)");
	}
	if (got < sizeof(pre))
		return fail_open(r, why, why_len, "it ends inside its first 16 bytes: a "
				 "recording cut short before its header");
	memcpy(&version, pre + REC_MAGIC_LEN, sizeof(version));
	r->hdr.version = version;
	if (version > REC_VERSION) {
		snprintf(why, why_len, "it is a format %u recording; this tcptrace-bpf (%s) "
			 "reads format %u and older (hint: replay it with the version that "
			 "wrote it, or a newer one)", version, TCPTRACE_VERSION, REC_VERSION);
		rec_close(r);
		return NULL;
	}
	if (version == 0)
		return fail_open(r, why, why_len, "its format version is 0: damaged");
	if (inflateInit(&r->z) != Z_OK)
		return fail_open(r, why, why_len, "out of memory");
	r->z_ready = true;
	if (!next_chunk(r) || r->ok_end - r->pos < FRAME_HDR) {
		snprintf(why, why_len, "%s", r->status != REC_OK ? r->why :
			 "it has no header: not a complete recording");
		if (r->status == REC_TRUNCATED)
			snprintf(why, why_len, "it is cut short before the end of its header: "
				 "nothing to replay");
		rec_close(r);
		return NULL;
	}
	memcpy(&fr, r->buf, sizeof(fr));
	if (fr.type != REC_HEADER)
		return fail_open(r, why, why_len, "its first record is not a header: damaged");
	{
		const char *bad;

		if (rec_header_parse(&r->hdr, r->buf + FRAME_HDR, fr.len, &bad) != REC_OK)
			return fail_open(r, why, why_len, bad);
	}
	r->pos = FRAME_HDR + fr.len;
	r->last_ts = fr.ts;
	return r;
}

struct rec_reader *rec_open(const char *path, char *why, size_t why_len)
{
	struct rec_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	r->f = fopen(path, "re");
	if (!r->f) {
		snprintf(why, why_len, "%s", strerror(errno));
		free(r);
		return NULL;
	}
	return open_common(r, why, why_len);
}

struct rec_reader *rec_open_mem(const void *buf, size_t len, char *why, size_t why_len)
{
	struct rec_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	r->mem = buf;
	r->mem_len = len;
	return open_common(r, why, why_len);
}

const struct rec_header *rec_header(const struct rec_reader *r)
{
	return &r->hdr;
}

enum rec_status rec_status(const struct rec_reader *r)
{
	return r->status;
}

const char *rec_why(const struct rec_reader *r)
{
	if (r->status != REC_OK)
		return r->why;
	return r->finished ? "" : "it ends without its final record (the tracer stopped "
		"on an error): the last tick's diagnoses may be missing";
}

__u64 rec_last_ts(const struct rec_reader *r)
{
	return r->last_ts;
}

bool rec_finished(const struct rec_reader *r)
{
	return r->finished;
}

void rec_close(struct rec_reader *r)
{
	if (!r)
		return;
	if (r->z_ready)
		inflateEnd(&r->z);
	if (r->f)
		fclose(r->f);
	free(r->buf);
	free(r->sock.prev);
	free(r->sock.cur);
	free(r->nic.prev);
	free(r->nic.cur);
	rec_header_free(&r->hdr);
	free(r);
}
