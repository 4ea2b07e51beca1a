// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writing a recording (record.h has the format). The pipeline hands over
 * each record as the engine takes it; that costs a copy into the chunk
 * buffer, nothing more. Compression and the write happen once a tick,
 * when the sample ends, or when a busy tick's chunk grows past
 * CHUNK_FLUSH: never once an event.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "record.h"
#include "report.h"

#define CHUNK_FLUSH	(1u << 20)	/* compress a chunk this large before the tick */
#define OUT_BUF		(64u * 1024)
/*
 * zlib's fastest level: a tick's chunk is compressed on the tracer's own
 * thread, between two ring buffer polls. Level 6 made files ~10% smaller
 * and cost several times the CPU on connection-heavy recordings.
 */
#define REC_ZLEVEL	Z_BEST_SPEED

/* One record of the previous sample: its key and a hash of the rest. */
struct seen {
	struct flow_key key;
	__u64 hash;
};

/*
 * The writer's side of REC_REPEAT for one record type: the previous
 * sample (keys and content hashes, in order), an index by key into it,
 * the sample being written, and the run of unchanged records not yet
 * written out.
 */
struct repeats {
	__u16 type;
	struct seen *prev, *cur;
	__u32 n_prev, n_cur, cap_prev, cap_cur;
	__u32 *index;		/* open addressing: position in prev + 1, 0 empty */
	__u32 index_cap;	/* a power of two, at least twice n_prev */
	bool run;
	struct rec_repeat rep;
	__u64 run_ts;
};

struct recorder {
	FILE *f;
	char *path;
	z_stream z;
	bool z_ready;
	bool failed;		/* a write failed: said once, recording stopped */
	unsigned char *buf;	/* the chunk: frames since the last REC_CHECK */
	size_t len, cap;
	__u32 frames;
	__u64 bytes;
	struct repeats sock, nic;
	unsigned char out[OUT_BUF];
};

/* 64-bit FNV-1a: content hashes of records whose equality saves a copy. */
static __u64 hash_bytes(const void *p, size_t n, __u64 h)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define HASH_SEED	0xcbf29ce484222325ULL

static void rec_fail(struct recorder *r, const char *what, int err)
{
	if (r->failed)
		return;
	r->failed = true;
	report_error("recording to %s stopped: %s: %s (hint: tracing goes on; the "
		     "file holds what was written before)", r->path, what, strerror(err));
}

static void write_out(struct recorder *r, size_t n)
{
	if (r->failed || !n)
		return;
	if (fwrite(r->out, 1, n, r->f) != n) {
		rec_fail(r, "write", errno ? errno : EIO);
		return;
	}
	r->bytes += n;
}

/* Compresses the chunk into the file; flush is Z_NO_FLUSH, Z_SYNC_FLUSH or Z_FINISH. */
static void deflate_chunk(struct recorder *r, int flush)
{
	int ret;

	if (r->failed)
		return;
	r->z.next_in = r->buf;
	r->z.avail_in = r->len;
	do {
		r->z.next_out = r->out;
		r->z.avail_out = sizeof(r->out);
		ret = deflate(&r->z, flush);
		if (ret == Z_STREAM_ERROR) {
			rec_fail(r, "compression", EINVAL);
			return;
		}
		write_out(r, sizeof(r->out) - r->z.avail_out);
	} while (r->z.avail_out == 0 && !r->failed);
	r->len = 0;
	if (flush != Z_NO_FLUSH && !r->failed && fflush(r->f))
		rec_fail(r, "write", errno);
}

static bool reserve(struct recorder *r, size_t more)
{
	size_t cap = r->cap ? r->cap : 64 * 1024;
	unsigned char *b;

	if (r->len + more <= r->cap)
		return true;
	while (cap < r->len + more)
		cap *= 2;
	b = realloc(r->buf, cap);
	if (!b) {
		rec_fail(r, "memory", ENOMEM);
		return false;
	}
	r->buf = b;
	r->cap = cap;
	return true;
}

static void put_frame(struct recorder *r, __u16 type, __u64 ts, const void *a, __u32 alen,
		      const void *b, __u32 blen)
{
	struct {
		__u16 type, zero;
		__u32 len;
		__u64 ts;
	} h = { type, 0, alen + blen, ts };

	if (r->failed || !reserve(r, sizeof(h) + alen + blen))
		return;
	memcpy(r->buf + r->len, &h, sizeof(h));
	if (alen)
		memcpy(r->buf + r->len + sizeof(h), a, alen);
	if (blen)
		memcpy(r->buf + r->len + sizeof(h) + alen, b, blen);
	r->len += sizeof(h) + alen + blen;
	r->frames++;
}

/* Ends the chunk with its checksum; the stream is flushed as asked. */
static void end_chunk(struct recorder *r, int flush)
{
	struct rec_check c = { (__u32)crc32(0L, r->buf, r->len), r->frames };

	put_frame(r, REC_CHECK, 0, &c, sizeof(c), NULL, 0);
	r->frames = 0;
	deflate_chunk(r, flush);
}

/* A busy tick: compress what is there, without waiting for its end. */
static void maybe_compress(struct recorder *r)
{
	if (r->len >= CHUNK_FLUSH && !r->sock.run && !r->nic.run)
		end_chunk(r, Z_NO_FLUSH);
}

/* ---------------------------------------------------------------- repeats */

static __u32 key_slot(const struct flow_key *k, __u32 cap)
{
	__u64 h = hash_bytes(k, sizeof(*k), HASH_SEED);

	/* FNV's low bits are weak on keys that differ in their ports alone. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (__u32)h & (cap - 1);
}

/* Position of key in the previous sample, or -1. */
static long prev_find(const struct repeats *s, const struct flow_key *k)
{
	if (!s->index_cap)
		return -1;
	for (__u32 i = key_slot(k, s->index_cap);; i = (i + 1) & (s->index_cap - 1)) {
		__u32 v = s->index[i];

		if (!v)
			return -1;
		if (!memcmp(&s->prev[v - 1].key, k, sizeof(*k)))
			return v - 1;
	}
}

static void flush_run(struct recorder *r, struct repeats *s)
{
	if (!s->run)
		return;
	s->run = false;
	put_frame(r, REC_REPEAT, s->run_ts, &s->rep, sizeof(s->rep), NULL, 0);
}

/* Before any other frame: the runs still open go first, in order. */
static void flush_runs(struct recorder *r)
{
	flush_run(r, &r->sock);
	flush_run(r, &r->nic);
}

static bool push_seen(struct recorder *r, struct repeats *s, const struct flow_key *k, __u64 h)
{
	if (s->n_cur == s->cap_cur) {
		__u32 cap = s->cap_cur ? s->cap_cur * 2 : 256;
		struct seen *v = realloc(s->cur, cap * sizeof(*v));

		if (!v) {
			rec_fail(r, "memory", ENOMEM);
			return false;
		}
		s->cur = v;
		s->cap_cur = cap;
	}
	s->cur[s->n_cur].key = *k;
	s->cur[s->n_cur].hash = h;
	s->n_cur++;
	return true;
}

/*
 * One record of a sample (a, then b, make its payload): part of a run
 * when the previous sample had it unchanged right after the run's last
 * one, else written whole. The key is not hashed into h: equal keys are
 * compared whole.
 */
static void sample_record(struct recorder *r, struct repeats *s, const struct flow_key *k,
			  __u64 h, __u32 jiffies, __u64 ts, const void *a, __u32 alen,
			  const void *b, __u32 blen)
{
	long at;

	if (r->failed || !push_seen(r, s, k, h))
		return;
	at = prev_find(s, k);
	if (at >= 0 && s->prev[at].hash == h) {
		if (s->run && (__u32)at == s->rep.start + s->rep.count &&
		    s->rep.now_jiffies == jiffies && s->run_ts == ts) {
			s->rep.count++;
			return;
		}
		flush_runs(r);
		s->run = true;
		s->rep = (struct rec_repeat){ .type = s->type, .start = at, .count = 1,
					      .now_jiffies = jiffies };
		s->run_ts = ts;
		return;
	}
	flush_runs(r);
	put_frame(r, s->type, ts, a, alen, b, blen);
	maybe_compress(r);
}

/* The sample is over: it becomes the previous one. */
static void rotate(struct recorder *r, struct repeats *s)
{
	struct seen *t = s->prev;
	__u32 tcap = s->cap_prev, cap = 16;

	s->prev = s->cur;
	s->cap_prev = s->cap_cur;
	s->n_prev = s->n_cur;
	s->cur = t;
	s->cap_cur = tcap;
	s->n_cur = 0;
	while (cap < 2 * s->n_prev)
		cap *= 2;
	if (cap != s->index_cap) {
		__u32 *idx = realloc(s->index, cap * sizeof(*idx));

		if (!idx) {
			rec_fail(r, "memory", ENOMEM);
			return;
		}
		s->index = idx;
		s->index_cap = cap;
	}
	memset(s->index, 0, s->index_cap * sizeof(*s->index));
	for (__u32 n = 0; n < s->n_prev; n++) {
		__u32 i = key_slot(&s->prev[n].key, s->index_cap);

		/* A key twice in one sample (a socket moving between two
		 * scans' namespaces): the first is found; the reader goes by
		 * positions, not keys, so either way it gets what was written. */
		while (s->index[i])
			i = (i + 1) & (s->index_cap - 1);
		s->index[i] = n + 1;
	}
}

static void repeats_free(struct repeats *s)
{
	free(s->prev);
	free(s->cur);
	free(s->index);
}

/* ---------------------------------------------------------------- records */

void recorder_event(struct recorder *r, const struct tt_event *ev)
{
	flush_runs(r);
	put_frame(r, REC_EVENT, ev->ts_ns, ev, sizeof(*ev), NULL, 0);
	maybe_compress(r);
}

void recorder_socket(struct recorder *r, const struct tt_sock_scan *s, __u64 now_ns)
{
	struct tt_sock_scan t = *s;
	__u64 h;

	/* The tick count it was read at changes every scan; the rest only
	 * when the socket did something. */
	t.now_jiffies = 0;
	h = hash_bytes((const char *)&t + sizeof(t.key), sizeof(t) - sizeof(t.key), HASH_SEED);
	sample_record(r, &r->sock, &s->key, h, s->now_jiffies, now_ns, s, sizeof(*s), NULL, 0);
}

void recorder_scan_end(struct recorder *r, __u64 now_ns)
{
	flush_runs(r);
	put_frame(r, REC_SCAN_END, now_ns, NULL, 0, NULL, 0);
}

void recorder_nic(struct recorder *r, const struct flow_key *key,
		  const struct nic_flow *nf, __u64 now_ns)
{
	sample_record(r, &r->nic, key, hash_bytes(nf, sizeof(*nf), HASH_SEED), 0, now_ns,
		      key, sizeof(*key), nf, sizeof(*nf));
}

void recorder_mark(struct recorder *r, enum rec_type type, __u64 now_ns)
{
	flush_runs(r);
	put_frame(r, type, now_ns, NULL, 0, NULL, 0);
	/* The run is over: what it recorded reads to the end. */
	if (type == REC_FINISH || type == REC_START)
		end_chunk(r, Z_SYNC_FLUSH);
}

void recorder_cgroup(struct recorder *r, __u64 now_ns, __u64 id, const char *path,
		     const char *pod)
{
	struct rec_cgroup c = { .id = id };
	char buf[CGROUP_PATH_MAX + CGROUP_NAME_MAX];

	c.path_len = strnlen(path, CGROUP_PATH_MAX - 1);
	c.pod_len = strnlen(pod, CGROUP_NAME_MAX - 1);
	memcpy(buf, path, c.path_len);
	memcpy(buf + c.path_len, pod, c.pod_len);
	flush_runs(r);
	put_frame(r, REC_CGROUP, now_ns, &c, sizeof(c), buf, c.path_len + c.pod_len);
	maybe_compress(r);
}

void recorder_health(struct recorder *r, __u64 now_ns, const struct health_report *h)
{
	struct rec_health rh = {
		.events = h->events, .events_lost = h->events_lost,
		.flows_opened = h->flows_opened, .flows_evicted_kernel = h->flows_evicted_kernel,
		.flow_map_full = h->flow_map_full, .nic_flows_opened = h->nic_flows_opened,
		.flows_evicted_nic = h->flows_evicted_nic, .nic_unparsed = h->nic_unparsed,
		.sockets_scanned = h->sockets_scanned, .scan_errors = h->scan_errors,
		.netns_scanned = h->netns_scanned, .netns_unresolved = h->netns_unresolved,
		.netns_evicted = h->netns_evicted, .attach_us = h->attach_us,
		.classic = h->classic,
	};

	flush_runs(r);
	put_frame(r, REC_HEALTH, now_ns, &rh, sizeof(rh), NULL, 0);
}

void recorder_lost(struct recorder *r, __u64 now_ns, __u64 lost)
{
	flush_runs(r);
	put_frame(r, REC_LOST, now_ns, &lost, sizeof(lost), NULL, 0);
	rotate(r, &r->sock);
	rotate(r, &r->nic);
	end_chunk(r, Z_SYNC_FLUSH);
}

/* ---------------------------------------------------------------- file */

struct recorder *recorder_open(const char *path)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r || !(r->path = strdup(path))) {
		report_error("out of memory");
		free(r);
		return NULL;
	}
	r->f = fopen(path, "we");
	if (!r->f) {
		report_error("cannot write the recording %s: %s (hint: a directory you can "
			     "write, and a file name)", path, strerror(errno));
		free(r->path);
		free(r);
		return NULL;
	}
	r->sock.type = REC_SOCKET;
	r->nic.type = REC_NIC;
	return r;
}

int recorder_begin(struct recorder *r, const struct rec_source_info *info)
{
	unsigned char pre[REC_PREAMBLE] = { 0 };
	__u32 version = REC_VERSION;
	struct timespec mono;
	unsigned char *fields;
	size_t len;

	memcpy(pre, REC_MAGIC, REC_MAGIC_LEN);
	memcpy(pre + REC_MAGIC_LEN, &version, sizeof(version));
	if (fwrite(pre, 1, sizeof(pre), r->f) != sizeof(pre)) {
		rec_fail(r, "write", errno ? errno : EIO);
		return -EIO;
	}
	r->bytes = sizeof(pre);
	if (deflateInit(&r->z, REC_ZLEVEL) != Z_OK) {
		rec_fail(r, "compression", ENOMEM);
		return -ENOMEM;
	}
	r->z_ready = true;
	if (rec_header_build(info, &fields, &len)) {
		rec_fail(r, "memory", ENOMEM);
		return -ENOMEM;
	}
	clock_gettime(CLOCK_MONOTONIC, &mono);
	put_frame(r, REC_HEADER, mono.tv_sec * 1000000000ULL + mono.tv_nsec, fields, len, NULL, 0);
	free(fields);
	end_chunk(r, Z_SYNC_FLUSH);
	return r->failed ? -EIO : 0;
}

bool recorder_close(struct recorder *r)
{
	bool ok;

	if (!r)
		return true;
	if (r->z_ready) {
		flush_runs(r);
		if (r->len)
			end_chunk(r, Z_NO_FLUSH);
		deflate_chunk(r, Z_FINISH);
		deflateEnd(&r->z);
	}
	ok = !r->failed;
	if (fclose(r->f) && ok) {
		report_error("recording to %s: closing failed: %s", r->path, strerror(errno));
		ok = false;
	}
	/* The tracer never started: no file beats an empty one. */
	if (!r->z_ready)
		unlink(r->path);
	repeats_free(&r->sock);
	repeats_free(&r->nic);
	free(r->buf);
	free(r->path);
	free(r);
	return ok;
}

__u64 recorder_bytes(const struct recorder *r)
{
	return r->bytes;
}
