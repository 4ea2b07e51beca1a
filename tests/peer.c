// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * peer: the lab's client and server. One small program that behaves like a
 * healthy or a broken service so the tracer has real kernel events to
 * diagnose: a server that answers, answers late, never answers, never reads,
 * dies with unread data, never accepts, or streams; a client that makes one
 * request, many, keeps a connection idle, pushes a stream, or keeps one
 * pooled connection busy.
 *
 * Every mode is bounded in time and exits by itself. Each outcome is one line
 * on stderr; the exit code is 0 when the outcome is the expected one (the
 * healthy one, or the one named with --expect), 1 otherwise, 2 on bad usage.
 * The server says "listening" (and writes --ready-file) once it listens, so
 * a harness waits for that instead of sleeping.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS	256
#define CHUNK		65536
/*
 * Every byte of payload either end sends is this token, repeated (requests,
 * responses, pushed and streamed data, lines), so the lab can prove that no
 * output of the tracer holds a payload byte: none may contain it
 * (tests/lab/lib.sh's LAB_MARKER is the same string). Random-looking, so it
 * cannot occur in an output by chance; no newline, which ends a message.
 */
#define PAYLOAD_MARKER	"kQ7vZr2XwP9mTb4L"

struct opts {
	bool server;
	const char *addr;
	long port;
	const char *mode;
	long delay_ms;		/* answer: before each response; crash: before dying */
	long rcvbuf;		/* SO_RCVBUF, 0 = kernel default */
	long sndbuf;		/* SO_SNDBUF, 0 = kernel default */
	long backlog;
	long syncnt;		/* client: TCP_SYNCNT, 0 = the netns's tcp_syn_retries */
	long duration_ms;	/* how long the mode runs */
	long timeout_ms;	/* client: bound on one request (connect included) */
	long count;		/* client many: connections */
	long size;		/* bytes of a request / response, newline included */
	long answer_ms;		/* answer: stop answering this long after the accept */
	long think_ms;		/* client pool: pause between exchanges */
	long idle_ms;		/* client pool: idle this long after the last exchange */
	long user_timeout_ms;	/* client: TCP_USER_TIMEOUT, 0 = none */
	const char *ready_file;
	const char *expect;	/* client: comma-separated acceptable outcomes */
	bool linger0;		/* client: close with SO_LINGER 0 (an RST, not a FIN) */
	const char *bind_addr;	/* client: source address */
	long lport;		/* client: source port, 0 = the kernel's choice */
	const char *gaps;	/* client ship: ms before each further write */
	bool shutdown;		/* client idle: shutdown(SHUT_RDWR) first, close later */
	bool fork_accept;	/* server: listen, then a forked worker accepts and serves */
	long notify_ms;		/* server notify: an unsolicited line this long after an answer */
	long hog_mb;		/* server answer: MiB each request leaks (the OOM killer's prey) */
};

static struct opts o = {
	.port = -1,
	.backlog = 128,
	.duration_ms = 30000,
	.timeout_ms = 5000,
	.count = 1,
	.size = 64,
};

static const char *role = "peer";

static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write per line: concurrent peers sharing a log do not interleave */
	dprintf(STDERR_FILENO, "%s %s: %s\n", role, o.mode ? o.mode : "-", line);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The outcomes a lab scenario expects, by name. */
static const struct {
	int err;
	const char *name;
} errnames[] = {
	{ ECONNREFUSED, "ECONNREFUSED" }, { ECONNRESET, "ECONNRESET" },
	{ ETIMEDOUT, "ETIMEDOUT" }, { ENETUNREACH, "ENETUNREACH" },
	{ EHOSTUNREACH, "EHOSTUNREACH" }, { EPIPE, "EPIPE" },
	{ EACCES, "EACCES" }, { EPERM, "EPERM" }, { EINVAL, "EINVAL" },
	{ EADDRNOTAVAIL, "EADDRNOTAVAIL" }, { ECONNABORTED, "ECONNABORTED" },
	{ EPROTO, "EPROTO" }, { EMSGSIZE, "EMSGSIZE" },
};

static const char *errname(int err)
{
	static char buf[24];
	size_t i;

	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/* Is outcome one of the comma-separated names in list? */
static bool outcome_in(const char *outcome, const char *list)
{
	size_t n = strlen(outcome);
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && strncmp(p, outcome, n) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

static int finish(const char *outcome, const char *detail)
{
	const char *want = o.expect ? o.expect : "ok";
	bool good = outcome_in(outcome, want);

	say("outcome %s%s%s%s", outcome, detail && *detail ? ": " : "",
	    detail ? detail : "", good ? "" : " (unexpected)");
	return good ? 0 : 1;
}

static long parse_num(const char *name, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "peer: bad %s '%s' (want %ld..%ld)\n", name, s, min, max);
		exit(2);
	}
	return v;
}

/* The address literal decides the family. */
static socklen_t make_addr(struct sockaddr_storage *ss, const char *addr, long port)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		return sizeof(*s6);
	}
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		return sizeof(*s4);
	}
	fprintf(stderr, "peer: '%s' is not an IPv4 or IPv6 address literal\n", addr);
	exit(2);
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	}
	return buf;
}

static void set_bufs(int fd)
{
	int v;

	/* Set before listen()/connect(): the window scale is fixed at the SYN. */
	if (o.rcvbuf > 0) {
		v = (int)o.rcvbuf;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)))
			say("warning: SO_RCVBUF %d: %s", v, strerror(errno));
	}
	if (o.sndbuf > 0) {
		v = (int)o.sndbuf;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)))
			say("warning: SO_SNDBUF %d: %s", v, strerror(errno));
	}
	/* A client that keeps trying long enough for a slow ICMP error (a
	 * router's ARP/ND gives up after ~3 s) whatever the netns says. */
	if (!o.server && o.syncnt > 0) {
		v = (int)o.syncnt;
		if (setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &v, sizeof(v)))
			say("warning: TCP_SYNCNT %d: %s", v, strerror(errno));
	}
	/* A client that gives up on unacknowledged data sooner than
	 * tcp_retries2 would (ETIMEDOUT in seconds, not minutes). */
	if (!o.server && o.user_timeout_ms > 0) {
		v = (int)o.user_timeout_ms;
		if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)))
			say("warning: TCP_USER_TIMEOUT %d: %s", v, strerror(errno));
	}
}

/* Payload: the marker over and over, the last one cut short. */
static void fill_payload(char *p, size_t len)
{
	static const char marker[] = PAYLOAD_MARKER;

	for (size_t i = 0; i < len; i++)
		p[i] = marker[i % (sizeof(marker) - 1)];
}

/* A request or a response: size-1 payload bytes and a newline. */
static char *make_message(void)
{
	char *m = malloc((size_t)o.size);

	if (!m) {
		fprintf(stderr, "peer: out of memory\n");
		exit(1);
	}
	fill_payload(m, (size_t)o.size - 1);
	m[o.size - 1] = '\n';
	return m;
}

/* ---------------------------------------------------------------- server */

struct conn {
	int fd;
	char name[64];
	unsigned long long rx;		/* bytes read */
	unsigned long long tx;		/* bytes written */
	long requests;			/* complete requests read */
	long pending;			/* answer: responses owed */
	long long due;			/* answer: when the next one may leave; crash: when to die */
	long cur_left;			/* bytes of the response being written */
	long long notify_due;		/* notify: when the unsolicited line leaves; -1 none */
	bool peer_done;			/* notify: the client's EOF came first */
	long long accepted;		/* when accept() returned it */
	bool mute;			/* answer --answer-ms: stopped answering */
	bool eof;			/* answer: the client closed with answers owed */
};

static struct conn conns[MAX_CONNS];
static int nconns;
static char *response;

static void write_ready(const char *what)
{
	char tmp[PATH_MAX];
	FILE *f;

	say("%s", what);
	if (!o.ready_file)
		return;
	/* write then rename: whoever sees the file sees it complete */
	snprintf(tmp, sizeof(tmp), "%s.tmp", o.ready_file);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) ||
	    rename(tmp, o.ready_file)) {
		fprintf(stderr, "peer: cannot write %s: %s\n", o.ready_file, strerror(errno));
		exit(1);
	}
}

static void conn_close(int i, const char *why)
{
	struct conn *c = &conns[i];

	say("%s %s: read %llu bytes, %ld requests, wrote %llu bytes", c->name, why,
	    c->rx, c->requests, c->tx);
	close(c->fd);
	conns[i] = conns[--nconns];
}

/*
 * A leak: each request takes --hog-mb MiB more and writes every page, so
 * the memory is charged at once (to a cgroup's limit: the OOM killer).
 */
/* What hog() holds, where the compiler must keep it: a leak it may not elide. */
char *peer_hog_held[64];

static void hog(void)
{
	static long total_mb;
	static int n_held;
	size_t n = (size_t)o.hog_mb << 20;
	char *p = malloc(n);

	if (!p) {
		say("cannot take %ld MiB more", o.hog_mb);
		return;
	}
	for (size_t i = 0; i < n; i += 4096)
		((volatile char *)p)[i] = 'h';
	peer_hog_held[n_held++ % 64] = p;
	total_mb += o.hog_mb;
	say("holding %ld MiB", total_mb);
}

/* Read what is there; answer and hang count requests, sink and bulk discard. */
static int conn_read(int i, long long now)
{
	struct conn *c = &conns[i];
	char buf[CHUNK];
	ssize_t n;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			c->rx += (unsigned long long)n;
			for (ssize_t k = 0; k < n; k++) {
				if (buf[k] != '\n')
					continue;
				c->requests++;
				if (strcmp(o.mode, "answer") == 0 && o.answer_ms &&
				    now - c->accepted >= o.answer_ms) {
					if (!c->mute)
						say("%s request %ld arrived, answering no more",
						    c->name, c->requests);
					c->mute = true;
				} else if (strcmp(o.mode, "answer") == 0 ||
					   strcmp(o.mode, "notify") == 0) {
					if (o.hog_mb)
						hog();
					if (c->pending++ == 0)
						c->due = now + o.delay_ms;
				} else if (strcmp(o.mode, "hang") == 0 && c->requests == 1) {
					say("%s request arrived, never answering", c->name);
				}
			}
			continue;
		}
		if (n == 0 && strcmp(o.mode, "answer") == 0 && (c->pending || c->cur_left)) {
			/* like most servers, it finds out when it writes */
			if (!c->eof)
				say("%s closed by client with %ld answers owed", c->name,
				    c->pending);
			c->eof = true;
			return 0;
		}
		if (n == 0) {
			/* A push server that has not yet noticed the client left
			 * still writes what it meant to (the race it stands for). */
			if (c->notify_due >= 0) {
				c->peer_done = true;
				return 0;
			}
			conn_close(i, "closed by client");
			return -1;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		conn_close(i, strerror(errno));
		return -1;
	}
}

/* Write owed responses (answer) or an endless stream (bulk). */
static int conn_write(int i, long long now)
{
	struct conn *c = &conns[i];
	static char stream[CHUNK];
	ssize_t n;

	for (;;) {
		const char *p;
		size_t len;

		if (strcmp(o.mode, "bulk") == 0) {
			if (!stream[0])
				fill_payload(stream, sizeof(stream));
			p = stream;
			len = sizeof(stream);
		} else {
			if (c->cur_left == 0) {
				if (c->pending == 0 || now < c->due)
					return 0;
				c->cur_left = o.size;
			}
			p = response + (o.size - c->cur_left);
			len = (size_t)c->cur_left;
		}
		n = write(c->fd, p, len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			conn_close(i, strerror(errno));
			return -1;
		}
		c->tx += (unsigned long long)n;
		if (strcmp(o.mode, "bulk") == 0)
			continue;
		c->cur_left -= n;
		if (c->cur_left == 0) {
			if (strcmp(o.mode, "notify") == 0)
				c->notify_due = now + o.notify_ms;
			c->pending--;
			/* the next one waits its own delay, counted from now */
			if (c->pending > 0)
				c->due = now + o.delay_ms;
			if (c->eof && c->pending == 0) {
				conn_close(i, "answered after the client closed");
				return -1;
			}
		}
	}
}

/*
 * notify: the unsolicited line (a keep-alive ping, a goodbye) of a server
 * that pushes. A client that already left makes its kernel answer with RST.
 */
static int notify(int i)
{
	struct conn *c = &conns[i];
	static const char line[] = PAYLOAD_MARKER "\n";
	ssize_t n = write(c->fd, line, sizeof(line) - 1);

	c->notify_due = -1;
	if (n < 0) {
		conn_close(i, strerror(errno));
		return -1;
	}
	c->tx += (unsigned long long)n;
	say("%s notified%s", c->name, c->peer_done ? " after the client left" : "");
	if (c->peer_done) {
		conn_close(i, "closed by client");
		return -1;
	}
	return 0;
}

static void accept_all(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	for (;;) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				say("accept: %s", strerror(errno));
			return;
		}
		if (nconns == MAX_CONNS) {
			say("too many connections, closing a new one");
			close(fd);
			continue;
		}
		struct conn *c = &conns[nconns++];

		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->due = -1;
		c->notify_due = -1;
		c->accepted = now_ms();
		addr_str(&ss, c->name, sizeof(c->name));
		say("%s accepted", c->name);
	}
}

static int run_server(void)
{
	static const char *modes[] = { "answer", "hang", "noread", "crash",
				       "slowaccept", "sink", "bulk", "notify" };
	struct pollfd pfd[MAX_CONNS + 1];
	struct sockaddr_storage ss;
	socklen_t sl;
	long long start, deadline;
	bool known = false;
	int lfd, one = 1;
	char name[80];

	for (size_t k = 0; k < sizeof(modes) / sizeof(modes[0]); k++)
		known |= strcmp(o.mode, modes[k]) == 0;
	if (!known) {
		fprintf(stderr, "peer: unknown server mode '%s'\n", o.mode);
		return 2;
	}
	if (strcmp(o.mode, "slowaccept") == 0 && o.backlog == 128)
		o.backlog = 1;

	sl = make_addr(&ss, o.addr, o.port);
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		say("socket: %s", strerror(errno));
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* A v6 address listens for v6 alone; "::" is the dual-stack wildcard
	 * and takes IPv4 too (as ::ffff:a.b.c.d). */
	if (ss.ss_family == AF_INET6 && strcmp(o.addr, "::"))
		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* accepted sockets inherit the listener's buffer sizes */
	set_bufs(lfd);
	if (bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, (int)o.backlog)) {
		say("cannot listen on %s: %s", addr_str(&ss, name, sizeof(name)), strerror(errno));
		return 1;
	}
	response = make_message();

	snprintf(name, sizeof(name), "listening on ");
	addr_str(&ss, name + strlen(name), sizeof(name) - strlen(name));
	write_ready(name);
	if (o.fork_accept) {
		pid_t master = getpid(), worker = fork();
		int status;

		if (worker < 0) {
			say("fork: %s", strerror(errno));
			return 1;
		}
		if (worker > 0) {
			/* The pre-fork server's master: it listened, it accepts nothing. */
			say("worker %d accepting", (int)worker);
			while (waitpid(worker, &status, 0) < 0)
				if (errno != EINTR)
					return 1;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		}
		/* The worker goes with its master (the lab stops the master), and
		 * has a name of its own to be told apart by. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != master)
			_exit(1);
		prctl(PR_SET_NAME, "peer-worker");
	}

	start = now_ms();
	deadline = start + o.duration_ms;
	for (;;) {
		long long now = now_ms(), next = deadline;
		int npfd = 0, timeout;

		if (now >= deadline)
			break;
		/* slowaccept never accepts: the queue fills, then SYNs are dropped */
		if (strcmp(o.mode, "slowaccept") != 0)
			pfd[npfd++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];
			short ev = 0;

			if (strcmp(o.mode, "noread") == 0) {
				ev = 0;	/* never read: the receive window closes */
			} else if (strcmp(o.mode, "crash") == 0) {
				/* watch for the request, but never read it */
				ev = c->due < 0 ? POLLIN : 0;
				if (c->due >= 0 && c->due < next)
					next = c->due;
			} else if (strcmp(o.mode, "bulk") == 0) {
				ev = POLLIN | POLLOUT;
			} else if (c->peer_done) {
				ev = 0;	/* notify: EOF seen, only the line is left */
				if (c->notify_due < next)
					next = c->notify_due;
			} else {
				/* after the client's FIN there is only EOF to read */
				ev = c->eof ? 0 : POLLIN;
				if (c->cur_left > 0)
					ev |= POLLOUT;
				else if (c->pending > 0 && c->due < next)
					next = c->due;
				if (c->notify_due >= 0 && c->notify_due < next)
					next = c->notify_due;
			}
			pfd[npfd++] = (struct pollfd){ .fd = c->fd, .events = ev };
		}
		timeout = (int)(next > now ? next - now : 0);
		if (poll(pfd, (nfds_t)npfd, timeout) < 0 && errno != EINTR) {
			say("poll: %s", strerror(errno));
			return 1;
		}
		now = now_ms();

		/*
		 * Connections first, by fd (accepting or closing reorders conns[]),
		 * then the listener.
		 */
		for (int k = 0; k < npfd; k++) {
			int i;

			if (pfd[k].fd == lfd || !pfd[k].revents)
				continue;
			for (i = 0; i < nconns && conns[i].fd != pfd[k].fd; i++)
				;
			if (i == nconns)
				continue;
			if (strcmp(o.mode, "crash") == 0) {
				int unread = 0;

				ioctl(conns[i].fd, FIONREAD, &unread);
				if (unread > 0 && conns[i].due < 0) {
					conns[i].due = now + o.delay_ms;
					say("%s request arrived (%d bytes), leaving it unread",
					    conns[i].name, unread);
				} else if (unread == 0 && (pfd[k].revents & (POLLHUP | POLLERR | POLLIN))) {
					conn_close(i, "closed by client before a request");
				}
				continue;
			}
			if ((pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    conn_read(i, now) < 0)
				continue;
			if (strcmp(o.mode, "sink") == 0 || strcmp(o.mode, "hang") == 0)
				continue;
			conn_write(i, now);
		}
		if (strcmp(o.mode, "notify") == 0)
			for (int i = 0; i < nconns; i++)
				if (conns[i].notify_due >= 0 && now >= conns[i].notify_due &&
				    notify(i) < 0)
					i--;
		/* owed responses whose delay has passed, with no poll event of their own */
		if (strcmp(o.mode, "answer") == 0 || strcmp(o.mode, "notify") == 0)
			for (int i = 0; i < nconns; i++)
				if (conns[i].cur_left == 0 && conns[i].pending > 0 &&
				    now >= conns[i].due && conn_write(i, now) < 0)
					i--;
		if (strcmp(o.mode, "crash") == 0) {
			for (int i = 0; i < nconns; i++) {
				int unread = 0;

				if (conns[i].due < 0 || now < conns[i].due)
					continue;
				ioctl(conns[i].fd, FIONREAD, &unread);
				/*
				 * Dying with unread data: the kernel answers the close
				 * with an RST instead of a FIN (RFC 2525, 2.17).
				 */
				say("%s crashing with %d unread bytes", conns[i].name, unread);
				_exit(0);
			}
		}
		if (npfd > 0 && pfd[0].fd == lfd && pfd[0].revents)
			accept_all(lfd);
	}
	say("duration over after %lld ms, %d connections open", now_ms() - start, nconns);
	while (nconns > 0)
		conn_close(nconns - 1, "closed at end");
	close(lfd);
	return 0;
}

/* ---------------------------------------------------------------- client */

/* Wait for events on fd until the absolute deadline; 0 = timed out. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	for (;;) {
		long long left = deadline - now_ms();

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
		if (r == 0 || (r < 0 && errno == EINTR))
			continue;	/* the deadline decides */
		return r < 0 ? -1 : 1;
	}
}

/* Outcome of a step: "ok", "timeout", "EOF" or an errno name. */
struct result {
	const char *outcome;
	char detail[160];
};

static void fail_errno(struct result *r, const char *step, int err)
{
	r->outcome = errname(err);
	snprintf(r->detail, sizeof(r->detail), "%s: %s", step, strerror(err));
}

static void fail_timeout(struct result *r, const char *step, long long since)
{
	r->outcome = "timeout";
	snprintf(r->detail, sizeof(r->detail), "no %s within %lld ms", step, now_ms() - since);
}

/*
 * What a client socket needs before connect(): an abortive close
 * (--linger0: close() sends RST, as connection pools and health checkers
 * do), a source address (--bind) or port (--lport, reused at once).
 */
static int client_prepare(struct result *r, int fd, int family)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_storage src;
	int one = 1;

	if (o.linger0 && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) {
		fail_errno(r, "SO_LINGER", errno);
		return -1;
	}
	if (!o.bind_addr && !o.lport)
		return 0;
	if (o.bind_addr) {
		make_addr(&src, o.bind_addr, o.lport);
	} else {
		memset(&src, 0, sizeof(src));
		src.ss_family = family;
		if (family == AF_INET6)
			((struct sockaddr_in6 *)&src)->sin6_port = htons((unsigned short)o.lport);
		else
			((struct sockaddr_in *)&src)->sin_port = htons((unsigned short)o.lport);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&src,
		 src.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					     sizeof(struct sockaddr_in))) {
		fail_errno(r, "bind", errno);
		return -1;
	}
	return 0;
}

/* A non-blocking connect bounded by deadline; returns the fd or -1. */
static int do_connect(struct result *r, long long deadline)
{
	struct sockaddr_storage ss;
	socklen_t sl = make_addr(&ss, o.addr, o.port);
	long long t0 = now_ms();
	int fd, err = 0;
	socklen_t el = sizeof(err);

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail_errno(r, "socket", errno);
		return -1;
	}
	set_bufs(fd);
	if (client_prepare(r, fd, ss.ss_family)) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		/* e.g. a local unreachable route: no SYN ever leaves */
		fail_errno(r, "connect", errno);
		close(fd);
		return -1;
	}
	switch (wait_fd(fd, POLLOUT, deadline)) {
	case 0:
		fail_timeout(r, "connection", t0);
		close(fd);
		return -1;
	case -1:
		fail_errno(r, "poll", errno);
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
		fail_errno(r, "connect", err ? err : errno);
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(struct result *r, int fd, const char *p, size_t len, long long deadline)
{
	long long t0 = now_ms();

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fail_errno(r, "write", errno);
			return -1;
		}
		if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			fail_timeout(r, "room to send the request", t0);
			return -1;
		}
	}
	return 0;
}

/* Read until the response's newline. */
static int read_response(struct result *r, int fd, long long deadline, size_t *got)
{
	long long t0 = now_ms();
	char buf[CHUNK];

	*got = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			*got += (size_t)n;
			if (memchr(buf, '\n', (size_t)n))
				return 0;
			continue;
		}
		if (n == 0) {
			r->outcome = "EOF";
			snprintf(r->detail, sizeof(r->detail),
				 "connection closed by the server before a response");
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			fail_errno(r, "read", errno);
			return -1;
		}
		switch (wait_fd(fd, POLLIN, deadline)) {
		case 0:
			fail_timeout(r, "response", t0);
			return -1;
		case -1:
			fail_errno(r, "poll", errno);
			return -1;
		}
	}
}

/* connect, send one request, read one response; the fd stays open on success */
static int one_exchange(struct result *r, const char *request)
{
	long long t0 = now_ms(), deadline = t0 + o.timeout_ms, t1;
	size_t got;
	int fd;

	r->outcome = "ok";
	r->detail[0] = 0;
	fd = do_connect(r, deadline);
	if (fd < 0)
		return -1;
	t1 = now_ms();
	if (write_all(r, fd, request, (size_t)o.size, deadline) ||
	    read_response(r, fd, deadline, &got)) {
		close(fd);
		return -1;
	}
	snprintf(r->detail, sizeof(r->detail), "%zu-byte response, connect %lld ms, total %lld ms",
		 got, t1 - t0, now_ms() - t0);
	return fd;
}

static int client_request(const char *request)
{
	struct result r;
	int fd = one_exchange(&r, request);

	if (fd >= 0)
		close(fd);
	return finish(r.outcome, r.detail);
}

static int client_many(const char *request)
{
	long long t0 = now_ms();
	const char *first_bad = NULL;
	char detail[200];
	long ok = 0;

	for (long i = 0; i < o.count; i++) {
		struct result r;
		int fd = one_exchange(&r, request);

		if (fd >= 0) {
			close(fd);
			ok++;
			continue;
		}
		say("connection %ld: %s: %s", i + 1, r.outcome, r.detail);
		if (!first_bad)
			first_bad = r.outcome;
	}
	snprintf(detail, sizeof(detail), "%ld/%ld exchanges ok in %lld ms", ok, o.count,
		 now_ms() - t0);
	return finish(first_bad ? first_bad : "ok", detail);
}

/*
 * storm: one connect to each of --count consecutive addresses from -c ADDR
 * up (the address's last 32 bits counting), non-blocking, each given
 * --timeout-ms at most: many endpoints, not many connections to one.
 * "ok" once every attempt has ended, however it ended.
 */
static int client_storm(void)
{
	struct sockaddr_storage ss;
	long long t0 = now_ms();
	long refused = 0, failed = 0, connected = 0;
	socklen_t sl = make_addr(&ss, o.addr, o.port);
	char detail[200];

	for (long i = 0; i < o.count; i++) {
		struct sockaddr_storage to = ss;
		uint32_t *low = to.ss_family == AF_INET6 ?
			(uint32_t *)&((struct sockaddr_in6 *)&to)->sin6_addr.s6_addr[12] :
			(uint32_t *)&((struct sockaddr_in *)&to)->sin_addr.s_addr;
		int fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		*low = htonl(ntohl(*low) + (uint32_t)i);
		if (fd < 0) {
			failed++;
			continue;
		}
		if (connect(fd, (struct sockaddr *)&to, sl) == 0) {
			connected++;
		} else if (errno == EINPROGRESS) {
			int err = 0;
			socklen_t el = sizeof(err);

			if (wait_fd(fd, POLLOUT, now_ms() + o.timeout_ms) &&
			    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) && !err)
				connected++;
			else if (err == ECONNREFUSED)
				refused++;
			else
				failed++;
		} else {
			failed++;
		}
		close(fd);
	}
	snprintf(detail, sizeof(detail), "%ld endpoints in %lld ms: %ld connected, %ld refused, "
		 "%ld failed", o.count, now_ms() - t0, connected, refused, failed);
	return finish("ok", detail);
}

static int client_idle(const char *request)
{
	long long t0 = now_ms(), end = t0 + o.duration_ms;
	struct pollfd p;
	struct result r;
	char detail[200];
	int fd = one_exchange(&r, request);

	if (fd < 0)
		return finish(r.outcome, r.detail);
	say("exchange %s; now idle", r.detail);
	/* idle, but notice at once if the server closes or resets */
	p = (struct pollfd){ .fd = fd, .events = POLLIN | POLLRDHUP };
	for (;;) {
		long long left = end - now_ms();
		int n;

		if (left <= 0)
			break;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 0) {
			int err = 0;
			socklen_t el = sizeof(err);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			close(fd);
			if (err) {
				fail_errno(&r, "while idle", err);
				return finish(r.outcome, r.detail);
			}
			return finish("EOF", "server closed the idle connection");
		}
	}
	if (o.shutdown) {
		/*
		 * Both halves shut, the socket still open (what some runtimes
		 * do before close()): data that arrives now makes the kernel
		 * abort the connection. Wait for that, or the peer's FIN.
		 */
		long long until = now_ms() + o.timeout_ms;

		shutdown(fd, SHUT_RDWR);
		/* poll() says "hung up" at once: ask TCP for its state. */
		while (now_ms() < until) {
			struct tcp_info ti;
			socklen_t tl = sizeof(ti);
			int err = 0;
			socklen_t el = sizeof(err);

			if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
			    ti.tcpi_state == TCP_CLOSE) {
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err)
					say("aborted by the kernel after our shutdown: %s",
					    errname(err));
				break;
			}
			usleep(20000);
		}
	}
	close(fd);
	snprintf(detail, sizeof(detail), "idle %lld ms after one exchange", now_ms() - t0);
	return finish("ok", detail);
}

static int client_push(void)
{
	long long t0 = now_ms(), end = t0 + o.duration_ms, last = t0, longest = 0;
	unsigned long long sent = 0;
	static char chunk[CHUNK];
	struct result r;
	char detail[200];
	int fd;

	fill_payload(chunk, sizeof(chunk));
	r.outcome = "ok";
	fd = do_connect(&r, t0 + o.timeout_ms);
	if (fd < 0)
		return finish(r.outcome, r.detail);
	for (;;) {
		long long now = now_ms();
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (now >= end)
			break;
		n = write(fd, chunk, sizeof(chunk));
		if (n > 0) {
			sent += (unsigned long long)n;
			if (now - last > longest)
				longest = now - last;
			last = now;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fail_errno(&r, "write", errno);
			close(fd);
			return finish(r.outcome, r.detail);
		}
		if (poll(&p, 1, (int)(end - now)) < 0 && errno != EINTR) {
			fail_errno(&r, "poll", errno);
			close(fd);
			return finish(r.outcome, r.detail);
		}
	}
	if (end - last > longest)
		longest = end - last;
	close(fd);
	snprintf(detail, sizeof(detail), "pushed %llu bytes in %lld ms, longest wait to send %lld ms",
		 sent, now_ms() - t0, longest);
	return finish("ok", detail);
}

/* Written once the client is under way (a pooled connection's first answer),
 * so a harness can change the network under it then. */
static void client_ready(void)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (!o.ready_file)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", o.ready_file);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) || rename(tmp, o.ready_file))
		say("warning: cannot write %s: %s", o.ready_file, strerror(errno));
}

/*
 * One pooled connection kept busy: request, response, the next request at
 * once (or after --think-ms), for --duration; each exchange bounded by
 * --timeout-ms. The outcome is the first exchange that failed, or ok.
 */
static int client_pool(const char *request)
{
	long long t0 = now_ms(), end = t0 + o.duration_ms;
	struct result r;
	char detail[256];
	long ok = 0;
	size_t got;
	int fd;

	r.outcome = "ok";
	fd = do_connect(&r, t0 + o.timeout_ms);
	if (fd < 0)
		return finish(r.outcome, r.detail);
	while (now_ms() < end) {
		long long t1 = now_ms();

		if (write_all(&r, fd, request, (size_t)o.size, t1 + o.timeout_ms) ||
		    read_response(&r, fd, t1 + o.timeout_ms, &got)) {
			close(fd);
			snprintf(detail, sizeof(detail), "%s after %ld exchanges ok in %lld ms",
				 r.detail, ok, now_ms() - t0);
			return finish(r.outcome, detail);
		}
		if (ok++ == 0)
			client_ready();
		if (o.think_ms)
			usleep((useconds_t)o.think_ms * 1000);
	}
	/* a pool keeps its connection open, idle, until it closes it */
	if (o.idle_ms)
		usleep((useconds_t)o.idle_ms * 1000);
	close(fd);
	snprintf(detail, sizeof(detail), "%ld exchanges ok in %lld ms", ok, now_ms() - t0);
	return finish("ok", detail);
}

/* connect, then read and discard whatever comes (a bulk server) for --duration */
static int client_recv(void)
{
	long long t0 = now_ms(), end = t0 + o.duration_ms;
	unsigned long long got = 0;
	static char buf[CHUNK];
	struct result r;
	char detail[200];
	int fd;

	r.outcome = "ok";
	fd = do_connect(&r, t0 + o.timeout_ms);
	if (fd < 0)
		return finish(r.outcome, r.detail);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			got += (unsigned long long)n;
			continue;
		}
		if (n == 0) {
			close(fd);
			return finish("EOF", "the server closed the stream");
		}
		if (errno != EAGAIN && errno != EINTR) {
			fail_errno(&r, "read", errno);
			close(fd);
			return finish(r.outcome, r.detail);
		}
		if (wait_fd(fd, POLLIN, end) == 0)
			break;
	}
	/*
	 * An orderly end: closing with the stream's unread tail would make the
	 * kernel answer with RST (RFC 2525, 2.17). Send our FIN, read on to
	 * the server's (a bulk server closes when it reads our EOF). The tail
	 * its send buffer still holds can be megabytes behind a lossy path,
	 * so --timeout-ms bounds a silence, not the whole tail.
	 */
	shutdown(fd, SHUT_WR);
	end = now_ms() + o.timeout_ms;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			got += (unsigned long long)n;
			end = now_ms() + o.timeout_ms;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			fail_errno(&r, "read after our FIN", errno);
			close(fd);
			return finish(r.outcome, r.detail);
		}
		if (wait_fd(fd, POLLIN, end) == 0) {
			close(fd);
			return finish("timeout", "no FIN from the server after ours");
		}
	}
	close(fd);
	snprintf(detail, sizeof(detail), "received %llu bytes in %lld ms", got, now_ms() - t0);
	return finish("ok", detail);
}

/* One connection, --count exchanges on it one after the other (a pooled
 * connection, or long polls answered within their time), then close. */
static int client_exchanges(const char *request)
{
	long long t0 = now_ms();
	char detail[200];
	struct result r;
	size_t got;
	long i;
	int fd = one_exchange(&r, request);

	if (fd < 0)
		return finish(r.outcome, r.detail);
	for (i = 1; i < o.count; i++) {
		long long deadline = now_ms() + o.timeout_ms;

		if (write_all(&r, fd, request, (size_t)o.size, deadline) ||
		    read_response(&r, fd, deadline, &got)) {
			close(fd);
			say("exchange %ld of %ld failed", i + 1, o.count);
			return finish(r.outcome, r.detail);
		}
	}
	close(fd);
	snprintf(detail, sizeof(detail), "%ld exchanges on one connection in %lld ms%s",
		 o.count, now_ms() - t0, o.linger0 ? ", closed with RST" : "");
	return finish("ok", detail);
}

/* A health checker: --count connections opened and closed at once, no
 * byte exchanged (with --linger0 each ends with an RST). */
static int client_check(void)
{
	long long t0 = now_ms();
	const char *first_bad = NULL;
	char detail[200];
	long ok = 0;

	for (long i = 0; i < o.count; i++) {
		struct result r = { .outcome = "ok" };
		int fd = do_connect(&r, now_ms() + o.timeout_ms);

		if (fd >= 0) {
			close(fd);
			ok++;
			continue;
		}
		say("check %ld: %s: %s", i + 1, r.outcome, r.detail);
		if (!first_bad)
			first_bad = r.outcome;
	}
	snprintf(detail, sizeof(detail), "%ld/%ld checks connected in %lld ms", ok,
		 o.count, now_ms() - t0);
	return finish(first_bad ? first_bad : "ok", detail);
}

/*
 * One-way: a line at once, then one after each gap of --gaps (ms, comma
 * separated), no answer expected (log shipping, metrics push); then an
 * orderly close, reading on to the server's FIN.
 */
static int client_ship(void)
{
	long long t0 = now_ms();
	const char *g = o.gaps ? o.gaps : "";
	char *line = make_message();
	char detail[200], buf[512];
	struct result r = { .outcome = "ok" };
	long lines = 0;
	int fd;

	fd = do_connect(&r, t0 + o.timeout_ms);
	if (fd < 0)
		return finish(r.outcome, r.detail);
	for (;;) {
		char *end;
		long gap;

		if (write_all(&r, fd, line, (size_t)o.size, now_ms() + o.timeout_ms)) {
			close(fd);
			return finish(r.outcome, r.detail);
		}
		lines++;
		if (!*g)
			break;
		gap = strtol(g, &end, 10);
		g = *end == ',' ? end + 1 : end;
		/* the server never speaks: anything readable is its end */
		if (wait_fd(fd, POLLIN, now_ms() + gap) != 0) {
			close(fd);
			return finish("EOF", "the server spoke or left during a gap");
		}
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n == 0)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fail_errno(&r, "read after our FIN", errno);
			close(fd);
			return finish(r.outcome, r.detail);
		}
		if (n < 0 && wait_fd(fd, POLLIN, now_ms() + o.timeout_ms) == 0) {
			close(fd);
			return finish("timeout", "no FIN from the server after ours");
		}
	}
	close(fd);
	snprintf(detail, sizeof(detail), "shipped %ld lines in %lld ms", lines, now_ms() - t0);
	return finish("ok", detail);
}

static int run_client(void)
{
	char *request;

	request = make_message();
	if (strcmp(o.mode, "request") == 0)
		return client_request(request);
	if (strcmp(o.mode, "many") == 0)
		return client_many(request);
	if (strcmp(o.mode, "storm") == 0)
		return client_storm();
	if (strcmp(o.mode, "idle") == 0)
		return client_idle(request);
	if (strcmp(o.mode, "push") == 0)
		return client_push();
	if (strcmp(o.mode, "recv") == 0)
		return client_recv();
	if (strcmp(o.mode, "pool") == 0)
		return client_pool(request);
	if (strcmp(o.mode, "exchanges") == 0)
		return client_exchanges(request);
	if (strcmp(o.mode, "check") == 0)
		return client_check();
	if (strcmp(o.mode, "ship") == 0)
		return client_ship();
	fprintf(stderr, "peer: unknown client mode '%s'\n", o.mode);
	return 2;
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f,
"USAGE\n"
"  peer server -l ADDR -p PORT -m MODE [options]\n"
"  peer client -c ADDR -p PORT -m MODE [options]\n"
"\n"
"Server modes: answer (respond to each request, --delay-ms before each; with\n"
"--answer-ms, only for that long after the accept), hang (read, never answer),\n"
"noread (never read; use --rcvbuf), crash (let a request arrive unread, wait\n"
"--delay-ms, die: the kernel sends RST), slowaccept (never accept; --backlog,\n"
"default 1), sink (read and discard), bulk (send forever), notify (answer, then\n"
"write one unsolicited line --notify-ms after each answer, even when the client\n"
"left meanwhile).\n"
"Client modes: request (one exchange), many (--count sequential exchanges),\n"
"idle (one exchange, then idle until --duration), push (write for --duration),\n"
"recv (read and discard for --duration, then FIN and read on to the server's FIN),\n"
"pool (one connection, request after request for --duration, --think-ms apart),\n"
"exchanges (--count exchanges on one connection), check (--count connections\n"
"opened and closed, no data), ship (a line, then one after each gap of --gaps,\n"
"no answer), storm (one connect to each of --count addresses from ADDR up,\n"
"--timeout-ms each).\n"
"\n"
"Options:\n"
"  -l, --listen ADDR      server address (IPv4 or IPv6 literal)\n"
"  -c, --connect ADDR     client destination (IPv4 or IPv6 literal)\n"
"  -p, --port PORT\n"
"  -m, --mode MODE\n"
"  -d, --duration MS      how long the mode runs (default 30000)\n"
"  -t, --timeout-ms MS    client: bound on one exchange (default 5000)\n"
"  -n, --count N          client many: exchanges (default 1)\n"
"  -s, --size BYTES       request/response size, newline included (default 64)\n"
"      --delay-ms MS      answer: delay each response; crash: delay the crash\n"
"      --rcvbuf BYTES     SO_RCVBUF\n"
"      --sndbuf BYTES     SO_SNDBUF\n"
"      --backlog N        listen backlog\n"
"      --syn-count N      client: SYN retransmits before giving up (TCP_SYNCNT)\n"
"      --linger0          client: close with SO_LINGER 0 (RST instead of FIN)\n"
"      --bind ADDR        client: source address\n"
"      --lport PORT       client: source port (SO_REUSEADDR)\n"
"      --gaps MS,MS...    client ship: pauses between the lines\n"
"      --notify-ms MS     server notify: delay of the unsolicited line\n"
"      --shutdown         client idle: shutdown(SHUT_RDWR) at the end, then wait\n"
"                         (--timeout-ms) for the server's FIN or an abort, then close\n"
"      --ready-file FILE  server: created once listening\n"
"      --user-timeout-ms MS  client: TCP_USER_TIMEOUT\n"
"      --answer-ms MS     server answer: stop answering MS after the accept\n"
"      --hog-mb N         server answer: each request leaks N MiB, written at once\n"
"                         (in a memory-limited cgroup: the OOM killer's victim)\n"
"      --fork-accept      server: listen, then fork a worker (comm peer-worker) that\n"
"                         accepts and serves; the master only waits for it\n"
"      --think-ms MS      client pool: pause between exchanges\n"
"      --idle-ms MS       client pool: idle after the last exchange, then close\n"
"      --ready-file FILE  server: created once listening; client pool: once the\n"
"                         first exchange is done\n"
"      --expect LIST      client: outcomes that count as success, comma-separated\n"
"                         (ok, timeout, EOF, ECONNREFUSED, ECONNRESET, ...)\n"
"\n"
"EXAMPLES\n"
"  peer server -l 10.0.2.10 -p 8080 -m answer --delay-ms 800 -d 10000\n"
"  peer client -c 10.0.2.10 -p 8080 -m request --expect ECONNREFUSED\n"
"  peer client -c fd00:2::10 -p 8081 -m push -d 3000 --sndbuf 4096\n");
}

int main(int argc, char **argv)
{
	enum { O_DELAY = 256, O_RCVBUF, O_SNDBUF, O_BACKLOG, O_READY, O_EXPECT,
	       O_SYNCNT, O_LINGER0, O_BIND, O_LPORT, O_GAPS, O_NOTIFY, O_SHUTDOWN,
	       O_USER_TIMEOUT, O_ANSWER_MS, O_THINK_MS, O_IDLE_MS, O_HOG_MB, O_FORK_ACCEPT };
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 'd' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "delay-ms", required_argument, NULL, O_DELAY },
		{ "rcvbuf", required_argument, NULL, O_RCVBUF },
		{ "sndbuf", required_argument, NULL, O_SNDBUF },
		{ "backlog", required_argument, NULL, O_BACKLOG },
		{ "ready-file", required_argument, NULL, O_READY },
		{ "expect", required_argument, NULL, O_EXPECT },
		{ "syn-count", required_argument, NULL, O_SYNCNT },
		{ "linger0", no_argument, NULL, O_LINGER0 },
		{ "bind", required_argument, NULL, O_BIND },
		{ "lport", required_argument, NULL, O_LPORT },
		{ "gaps", required_argument, NULL, O_GAPS },
		{ "notify-ms", required_argument, NULL, O_NOTIFY },
		{ "shutdown", no_argument, NULL, O_SHUTDOWN },
		{ "user-timeout-ms", required_argument, NULL, O_USER_TIMEOUT },
		{ "answer-ms", required_argument, NULL, O_ANSWER_MS },
		{ "think-ms", required_argument, NULL, O_THINK_MS },
		{ "idle-ms", required_argument, NULL, O_IDLE_MS },
		{ "hog-mb", required_argument, NULL, O_HOG_MB },
		{ "fork-accept", no_argument, NULL, O_FORK_ACCEPT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
		usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	o.server = strcmp(argv[1], "server") == 0;
	role = o.server ? "peer-server" : "peer-client";
	argv[1] = argv[0];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "l:c:p:m:d:t:n:s:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'l':
		case 'c':
			o.addr = optarg;
			break;
		case 'p':
			o.port = parse_num("port", optarg, 1, 65535);
			break;
		case 'm':
			o.mode = optarg;
			break;
		case 'd':
			o.duration_ms = parse_num("duration", optarg, 0, 3600000);
			break;
		case 't':
			o.timeout_ms = parse_num("timeout", optarg, 1, 3600000);
			break;
		case 'n':
			o.count = parse_num("count", optarg, 1, 1000000);
			break;
		case 's':
			o.size = parse_num("size", optarg, 1, 16 << 20);
			break;
		case O_DELAY:
			o.delay_ms = parse_num("delay", optarg, 0, 3600000);
			break;
		case O_RCVBUF:
			o.rcvbuf = parse_num("rcvbuf", optarg, 1, INT_MAX);
			break;
		case O_SNDBUF:
			o.sndbuf = parse_num("sndbuf", optarg, 1, INT_MAX);
			break;
		case O_BACKLOG:
			o.backlog = parse_num("backlog", optarg, 0, 65535);
			break;
		case O_READY:
			o.ready_file = optarg;
			break;
		case O_EXPECT:
			o.expect = optarg;
			break;
		case O_SYNCNT:
			o.syncnt = parse_num("syn-count", optarg, 1, 127);
			break;
		case O_LINGER0:
			o.linger0 = true;
			break;
		case O_BIND:
			o.bind_addr = optarg;
			break;
		case O_LPORT:
			o.lport = parse_num("lport", optarg, 1, 65535);
			break;
		case O_GAPS:
			o.gaps = optarg;
			break;
		case O_FORK_ACCEPT:
			o.fork_accept = true;
			break;
		case O_SHUTDOWN:
			o.shutdown = true;
			break;
		case O_NOTIFY:
			o.notify_ms = parse_num("notify-ms", optarg, 0, 3600000);
			break;
		case O_USER_TIMEOUT:
			o.user_timeout_ms = parse_num("user-timeout-ms", optarg, 1, INT_MAX);
			break;
		case O_ANSWER_MS:
			o.answer_ms = parse_num("answer-ms", optarg, 1, 3600000);
			break;
		case O_THINK_MS:
			o.think_ms = parse_num("think-ms", optarg, 0, 3600000);
			break;
		case O_IDLE_MS:
			o.idle_ms = parse_num("idle-ms", optarg, 0, 3600000);
			break;
		case O_HOG_MB:
			o.hog_mb = parse_num("hog-mb", optarg, 1, 4096);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !o.addr || o.port < 0 || !o.mode) {
		fprintf(stderr, "peer: %s needs an address, -p PORT and -m MODE (see --help)\n",
			o.server ? "server" : "client");
		return 2;
	}
	/* a write to a reset connection is an outcome to report, not a death */
	signal(SIGPIPE, SIG_IGN);
	return o.server ? run_server() : run_client();
}
