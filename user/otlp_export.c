// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "otlp_export.h"
#include "otlp_json.h"

#define URL_MAX			1024
#define RETRY_MAX_NS		(30 * 1000000000ULL)	/* backoff's ceiling */
#define RETRY_AFTER_MAX_S	60			/* a Retry-After past this is capped */
/* The last sends at exit. Under a service manager's stop timeout (systemd
 * 90 s, Kubernetes 30 s) with room left for detaching the programs. */
#define STOP_BUDGET_NS		1000000000ULL
#define LOG_FLUSH_NS		1000000000ULL

enum item_kind { ITEM_DIAGNOSIS, ITEM_CONN };

struct item {
	enum item_kind kind;
	union {
		struct diagnosis d;
		struct conn_record c;
	};
};

struct otlp_exporter {
	char logs_url[URL_MAX], metrics_url[URL_MAX];
	struct otlp_exporter_config cfg;
	struct otlp_resource res;
	char host[256];
	long long mono_to_unix_ns;
	__u64 start_unix_ns;
	CURL *curl;
	pthread_t thread;
	pthread_mutex_t lock;	/* the queue, the counts, the error, stop */
	pthread_cond_t wake;
	struct item *queue;
	size_t head, n;
	bool stop;
	__u64 stop_deadline_ns;	/* set with stop: the last sends' budget */
	struct otlp_counts counts;
	char error[256];
	bool error_new;
	/* The OTLP thread's: one deflate state and one output buffer for
	 * every request (see gzip_body). */
	z_stream z;
	bool z_ready;
	unsigned char *gz;
	size_t gz_cap;
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void set_error(struct otlp_exporter *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(struct otlp_exporter *x, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&x->lock);
	va_start(ap, fmt);
	vsnprintf(x->error, sizeof(x->error), fmt, ap);
	va_end(ap);
	x->error_new = true;
	pthread_mutex_unlock(&x->lock);
}

static void count(struct otlp_exporter *x, __u64 *field, __u64 n)
{
	pthread_mutex_lock(&x->lock);
	*field += n;
	pthread_mutex_unlock(&x->lock);
}

/*
 * The body, gzip'ed (Content-Encoding: gzip), into x->gz. The deflate
 * state (four 64 KiB blocks) and the output buffer live as long as the
 * exporter: made anew for each request, they were the thread heap's
 * largest churn, a second or two apart, and in a 10-minute soak that heap
 * grew from 316 to 724 KiB, 64 KiB at a time, where the other tracer's
 * stopped at 524.
 */
static int gzip_body(struct otlp_exporter *x, const char *in, size_t len, size_t *out_len)
{
	size_t need = compressBound(len) + 64;
	int ret;

	if (need > x->gz_cap) {
		unsigned char *p = realloc(x->gz, need);

		if (!p)
			return -ENOMEM;
		x->gz = p;
		x->gz_cap = need;
	}
	/* Speed over ratio: JSON shrinks ~10 times at level 1 already, and
	 * the thread must keep up with thousands of records a second. */
	if (x->z_ready) {
		if (deflateReset(&x->z) != Z_OK)
			return -EIO;
	} else {
		memset(&x->z, 0, sizeof(x->z));
		if (deflateInit2(&x->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		x->z_ready = true;
	}
	x->z.next_in = (unsigned char *)in;
	x->z.avail_in = len;
	x->z.next_out = x->gz;
	x->z.avail_out = x->gz_cap;
	ret = deflate(&x->z, Z_FINISH);
	*out_len = x->gz_cap - x->z.avail_out;
	return ret == Z_STREAM_END ? 0 : -EIO;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* curl's progress callback: a request in flight when the tracer is told to
 * stop gets only the stop budget, not the rest of its 10 s timeout (a
 * collector that accepted the connection and went quiet held the exit). */
static int abort_past_budget(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
			     curl_off_t ultotal, curl_off_t ulnow)
{
	struct otlp_exporter *x = ctx;
	bool late;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	pthread_mutex_lock(&x->lock);
	late = x->stop && mono_ns() >= x->stop_deadline_ns;
	pthread_mutex_unlock(&x->lock);
	return late;
}

/* Waits until deadline, or until stop (then only within the stop budget). */
static void sleep_until(struct otlp_exporter *x, __u64 deadline_ns)
{
	pthread_mutex_lock(&x->lock);
	while (!x->stop && mono_ns() < deadline_ns) {
		struct timespec ts;
		__u64 left = deadline_ns - mono_ns();

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += left / 1000000000ULL;
		ts.tv_nsec += left % 1000000000ULL;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&x->wake, &x->lock, &ts);
	}
	pthread_mutex_unlock(&x->lock);
}

static bool retryable(long code)
{
	return code == 429 || code == 502 || code == 503 || code == 504;
}

/*
 * POSTs body to url until the collector takes it, refuses it for good, or
 * the attempts run out. true when taken.
 */
static bool post(struct otlp_exporter *x, const char *url, const char *what,
		 const char *body, size_t len)
{
	__u64 backoff = x->cfg.retry_base_ns ? x->cfg.retry_base_ns : 1000000000ULL;
	struct curl_slist *hdr = NULL;
	size_t gz_len;
	bool ok = false;

	if (gzip_body(x, body, len, &gz_len)) {
		set_error(x, "OTLP %s: cannot compress the request", what);
		count(x, &x->counts.failed, 1);
		return false;
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Content-Encoding: gzip");
	/* No "Expect: 100-continue" (curl adds it to large bodies): a round
	 * trip, or a second's wait where a server does not answer it. */
	hdr = curl_slist_append(hdr, "Expect:");
	for (int attempt = 0; attempt < OTLP_ATTEMPTS; attempt++) {
		char errbuf[CURL_ERROR_SIZE] = "";
		curl_off_t retry_after = 0;
		long code = 0, timeout_ms = 10000;
		CURLcode rc;
		__u64 wait, now = mono_ns();
		bool stopping;

		pthread_mutex_lock(&x->lock);
		stopping = x->stop;
		if (stopping)	/* at exit: the budget left, not the usual 10 s */
			timeout_ms = x->stop_deadline_ns > now + 100000000ULL ?
				     (long)((x->stop_deadline_ns - now) / 1000000) : 100;
		pthread_mutex_unlock(&x->lock);
		curl_easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
		curl_easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
		curl_easy_setopt(x->curl, CURLOPT_URL, url);
		curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, x->gz);
		curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)gz_len);
		curl_easy_setopt(x->curl, CURLOPT_ERRORBUFFER, errbuf);
		rc = curl_easy_perform(x->curl);
		if (rc == CURLE_OK) {
			curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
			curl_easy_getinfo(x->curl, CURLINFO_RETRY_AFTER, &retry_after);
		}
		if (rc == CURLE_OK && code >= 200 && code < 300) {
			count(x, &x->counts.sent, 1);
			ok = true;
			break;
		}
		if (rc == CURLE_OK && !retryable(code)) {
			/* 400: the payload is wrong; sending it again changes nothing. */
			set_error(x, "the OTLP collector refused %s (HTTP %ld); not retried", what, code);
			count(x, &x->counts.failed, 1);
			goto out;
		}
		if (rc != CURLE_OK)
			set_error(x, "cannot reach the OTLP collector at %s: %s (retrying)", url,
				  errbuf[0] ? errbuf : curl_easy_strerror(rc));
		if (attempt + 1 == OTLP_ATTEMPTS)
			break;
		wait = retry_after > 0 ? (__u64)(retry_after < RETRY_AFTER_MAX_S ?
						 retry_after : RETRY_AFTER_MAX_S) * 1000000000ULL
				       : backoff;
		backoff = backoff * 2 < RETRY_MAX_NS ? backoff * 2 : RETRY_MAX_NS;
		/* At exit only what the budget allows. */
		pthread_mutex_lock(&x->lock);
		stopping = x->stop;
		if (stopping && mono_ns() + wait > x->stop_deadline_ns) {
			pthread_mutex_unlock(&x->lock);
			break;
		}
		pthread_mutex_unlock(&x->lock);
		count(x, &x->counts.retried, 1);
		if (stopping)
			usleep(wait / 1000);
		else
			sleep_until(x, mono_ns() + wait);
	}
	if (!ok) {
		set_error(x, "OTLP %s not delivered after %d attempts", what, OTLP_ATTEMPTS);
		count(x, &x->counts.failed, 1);
	}
out:
	curl_slist_free_all(hdr);
	return ok;
}

static __u64 unix_ns(const struct otlp_exporter *x, __u64 mono)
{
	return (__u64)((long long)mono + x->mono_to_unix_ns);
}

/* Up to OTLP_BATCH records off the queue, into one request. */
static void send_logs(struct otlp_exporter *x)
{
	struct otlp_owner owner = {};
	struct item *batch;
	size_t n, len = 0;
	char *body = NULL;
	struct json j;
	FILE *f;

	/* Only this thread takes from the queue: n records are there. */
	pthread_mutex_lock(&x->lock);
	n = x->n < OTLP_BATCH ? x->n : OTLP_BATCH;
	pthread_mutex_unlock(&x->lock);
	if (!n || !(batch = malloc(n * sizeof(*batch))))
		return;
	pthread_mutex_lock(&x->lock);
	for (size_t i = 0; i < n; i++) {
		batch[i] = x->queue[x->head];
		x->head = (x->head + 1) % OTLP_QUEUE_MAX;
		x->n--;
	}
	/*
	 * Emptied, the queue starts again at its first slot: the pages in
	 * use are those of the deepest backlog so far. A ring that went on
	 * round made its 2.3 MiB of zero pages resident one by one, a
	 * record at a time (the soak's diagnoses: 28 KiB in 5 minutes; its
	 * conn records with --otlp-conns, ~2.5 a second, would have taken
	 * all of it in half an hour).
	 */
	if (!x->n)
		x->head = 0;
	pthread_mutex_unlock(&x->lock);
	if (!(f = open_memstream(&body, &len))) {
		free(batch);
		return;
	}
	json_init(&j, f);
	/* A resource an owner: records of one process or container together. */
	for (size_t i = 0; i < n; i++) {
		__u64 observed = unix_ns(x, mono_ns());
		struct otlp_owner o = batch[i].kind == ITEM_DIAGNOSIS ?
			(struct otlp_owner){ batch[i].d.pid, batch[i].d.comm, batch[i].d.cgroup } :
			(struct otlp_owner){ batch[i].c.pid, batch[i].c.comm, batch[i].c.cgroup };

		if (!i)
			otlp_logs_begin(&j, &x->res, &o);
		else if (!otlp_owner_same(&o, &owner))
			otlp_logs_next_owner(&j, &x->res, &o);
		owner = o;

		if (batch[i].kind == ITEM_DIAGNOSIS)
			otlp_log_diagnosis(&j, &batch[i].d, unix_ns(x, batch[i].d.ts_ns), observed);
		else
			otlp_log_conn(&j, &batch[i].c, unix_ns(x, batch[i].c.ts_ns), observed);
	}
	otlp_logs_end(&j);
	fclose(f);
	if (!post(x, x->logs_url, "logs", body, len))
		count(x, &x->counts.dropped, n);
	free(body);
	free(batch);
}

static void send_metrics(struct otlp_exporter *x)
{
	char *body = NULL;
	size_t len = 0;
	struct json j;
	FILE *f;

	if (!x->cfg.metrics || !(f = open_memstream(&body, &len)))
		return;
	json_init(&j, f);
	x->cfg.metrics(&j, x->start_unix_ns, unix_ns(x, mono_ns()), x->cfg.metrics_ctx);
	fclose(f);
	post(x, x->metrics_url, "metrics", body, len);
	free(body);
}

static void *run(void *arg)
{
	struct otlp_exporter *x = arg;
	__u64 every = x->cfg.metrics_every_ns ? x->cfg.metrics_every_ns :
		      OTLP_METRICS_S * 1000000000ULL;
	__u64 next_metrics = mono_ns() + every, next_logs = mono_ns() + LOG_FLUSH_NS;

	for (;;) {
		bool stop, full;

		pthread_mutex_lock(&x->lock);
		while (!x->stop && x->n < OTLP_BATCH && mono_ns() < next_logs &&
		       mono_ns() < next_metrics) {
			struct timespec ts;
			__u64 until = next_logs < next_metrics ? next_logs : next_metrics;
			__u64 left = until > mono_ns() ? until - mono_ns() : 0;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += left / 1000000000ULL;
			ts.tv_nsec += left % 1000000000ULL;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&x->wake, &x->lock, &ts);
		}
		stop = x->stop;
		full = x->n >= OTLP_BATCH;
		pthread_mutex_unlock(&x->lock);
		if (stop)
			break;
		if (full || mono_ns() >= next_logs) {
			send_logs(x);
			next_logs = mono_ns() + LOG_FLUSH_NS;
		}
		if (mono_ns() >= next_metrics) {
			send_metrics(x);
			next_metrics = mono_ns() + every;
			/*
			 * A request's bodies, the collector's answers and
			 * curl's buffers come and go in this thread's heap,
			 * each a size of its own: the holes they leave are
			 * not at the heap's top, which alone is given back.
			 * Every metrics request (OTLP_METRICS_S) the free
			 * pages go back to the system, wherever they are.
			 */
			malloc_trim(0);
		}
	}
	/* The last records and the final counts, within the stop budget. */
	while (x->n && mono_ns() < x->stop_deadline_ns)
		send_logs(x);
	if (mono_ns() < x->stop_deadline_ns)
		send_metrics(x);
	return NULL;
}

struct otlp_exporter *otlp_exporter_new(const struct otlp_exporter_config *c,
					char *err, size_t errlen)
{
	struct otlp_exporter *x = calloc(1, sizeof(*x));
	struct timespec mono, real;

	if (!x || !(x->queue = calloc(OTLP_QUEUE_MAX, sizeof(*x->queue)))) {
		snprintf(err, errlen, "out of memory for the OTLP queue");
		free(x);
		return NULL;
	}
	if (!otlp_url_ok(c->url, x->logs_url, x->metrics_url, URL_MAX, err, errlen))
		goto fail;
	x->cfg = *c;
	if (gethostname(x->host, sizeof(x->host)))
		snprintf(x->host, sizeof(x->host), "unknown");
	x->res = (struct otlp_resource){ x->host, "tcptrace-bpf", TCPTRACE_VERSION };
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	x->mono_to_unix_ns = (real.tv_sec - mono.tv_sec) * 1000000000LL +
			     (real.tv_nsec - mono.tv_nsec);
	x->start_unix_ns = real.tv_sec * 1000000000ULL + real.tv_nsec;
	x->curl = curl_easy_init();
	if (!x->curl) {
		snprintf(err, errlen, "cannot start libcurl");
		goto fail;
	}
	curl_easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFOFUNCTION, abort_past_budget);
	curl_easy_setopt(x->curl, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(x->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->curl, CURLOPT_USERAGENT, "tcptrace-bpf/" TCPTRACE_VERSION);
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->wake, NULL);
	errno = pthread_create(&x->thread, NULL, run, x);
	if (errno) {
		snprintf(err, errlen, "cannot start the OTLP thread: %s", strerror(errno));
		curl_easy_cleanup(x->curl);
		goto fail;
	}
	return x;
fail:
	free(x->queue);
	free(x);
	return NULL;
}

static bool enqueue(struct otlp_exporter *x, const struct item *it)
{
	bool ok;

	pthread_mutex_lock(&x->lock);
	ok = x->n < OTLP_QUEUE_MAX;
	if (ok) {
		x->queue[(x->head + x->n) % OTLP_QUEUE_MAX] = *it;
		x->n++;
		if (x->n >= OTLP_BATCH)
			pthread_cond_signal(&x->wake);
	} else {
		x->counts.dropped++;
	}
	pthread_mutex_unlock(&x->lock);
	return ok;
}

bool otlp_enqueue_diagnosis(struct otlp_exporter *x, const struct diagnosis *d)
{
	struct item it = { .kind = ITEM_DIAGNOSIS, .d = *d };

	return enqueue(x, &it);
}

bool otlp_enqueue_conn(struct otlp_exporter *x, const struct conn_record *c)
{
	struct item it = { .kind = ITEM_CONN, .c = *c };

	if (!x->cfg.conns)
		return true;
	return enqueue(x, &it);
}

void otlp_exporter_counts(struct otlp_exporter *x, struct otlp_counts *c)
{
	pthread_mutex_lock(&x->lock);
	*c = x->counts;
	pthread_mutex_unlock(&x->lock);
}

bool otlp_exporter_error(struct otlp_exporter *x, char *buf, size_t len)
{
	bool fresh;

	pthread_mutex_lock(&x->lock);
	fresh = x->error_new;
	if (fresh)
		snprintf(buf, len, "%s", x->error);
	x->error_new = false;
	pthread_mutex_unlock(&x->lock);
	return fresh;
}

void otlp_exporter_stop(struct otlp_exporter *x)
{
	if (!x)
		return;
	pthread_mutex_lock(&x->lock);
	x->stop = true;
	x->stop_deadline_ns = mono_ns() + STOP_BUDGET_NS;
	pthread_cond_signal(&x->wake);
	pthread_mutex_unlock(&x->lock);
	pthread_join(x->thread, NULL);
	curl_easy_cleanup(x->curl);
	pthread_cond_destroy(&x->wake);
	pthread_mutex_destroy(&x->lock);
	if (x->z_ready)
		deflateEnd(&x->z);
	free(x->gz);
	free(x->queue);
	free(x);
}
