// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * load: the load generator of `make bench`, a small netperf.
 *
 *   load server -l ADDR -p PORT [-t SECONDS]
 *   load client -c ADDR -p PORT -m crr|rr|stream -t SECONDS [-s SIZE] [-u]
 *
 * Workloads (client side):
 *   crr     connect, SIZE-byte request (default 64), SIZE-byte response,
 *           close; repeated. Prints transactions/s.
 *   rr      SIZE-byte request / response on one connection. Transactions/s.
 *   stream  SIZE-byte writes (default 64 KiB) on one connection. MB/s
 *           (10^6 bytes a second).
 *
 * One number goes to stdout (with -u, a second one: the CPU seconds, user
 * plus system, the client itself used: a per-transaction cost that other
 * work on the machine does not inflate the way it does throughput); an error is one line on stderr with strerror
 * and a nonzero exit. The client stops after -t SECONDS; a watchdog makes
 * it fail (not hang) if the server stops answering.
 *
 * Protocol: the first bytes a client sends on a connection are a header,
 * { mode, size (4 bytes, network order) }, inside its first request (so a
 * request/response transaction is still SIZE bytes each way). The server
 * then serves the connection by mode:
 *   'R' echo everything (rr);
 *   'C' echo SIZE bytes, then close first (crr). The server's close comes
 *       first so that TIME_WAIT lands on the server, whose port is fixed:
 *       the client never runs out of ephemeral ports, and the connection
 *       ends with FINs, not the RST an SO_LINGER 0 close would send (the
 *       tracer would rightly report that as LOCAL_RESET);
 *   'S' discard everything (stream).
 *
 * The server is one thread on epoll with non-blocking sockets; it serves
 * any number of connections and does no work per byte beyond copying.
 */
#define _GNU_SOURCE		/* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HDR_LEN		5		/* mode byte + 32-bit size */
#define RR_SIZE		64
#define STREAM_SIZE	(64 * 1024)
#define MAX_SIZE	(16 * 1024 * 1024)
#define BUF_SIZE	(256 * 1024)
#define MAX_EVENTS	256
#define CONNECT_RETRY_S	3		/* a server still starting: ECONNREFUSED for this long is retried */
#define WATCHDOG_EXTRA_S 10		/* past -t, a client that still runs is stuck */

static const char *prog = "load";

struct opts {
	int server;
	const char *addr;
	int port;
	char mode;			/* 'C' crr, 'R' rr, 'S' stream */
	long seconds;
	long size;
	int cpu;			/* -u: print own CPU time too */
};

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static void usage(const char *why)
{
	fprintf(stderr, "%s: %s\n"
		"usage: load server -l ADDR -p PORT [-t SECONDS]\n"
		"       load client -c ADDR -p PORT -m crr|rr|stream -t SECONDS [-s SIZE] [-u]\n",
		prog, why);
	exit(2);
}

static long parse_num(const char *s, long lo, long hi, const char *name)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "%s: bad %s '%s' (want %ld..%ld)\n", prog, name, s, lo, hi);
		exit(2);
	}
	return v;
}

/* ADDR (IPv4 or IPv6 literal) and PORT into a sockaddr; returns its length. */
static socklen_t make_addr(const char *addr, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
	fprintf(stderr, "%s: bad address '%s' (want an IPv4 or IPv6 literal)\n", prog, addr);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ server */

struct conn {
	int fd;
	int hlen;			/* header bytes seen so far */
	unsigned char hdr[HDR_LEN];
	char mode;			/* 0 until the header is complete */
	uint32_t size;			/* 'C': bytes to echo before closing */
	uint64_t echoed;
};

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Write all of buf; the echo is small against the socket buffer, so a
 * short write only happens when the peer stops reading: wait for it. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };

				if (poll(&p, 1, -1) < 0 && errno != EINTR)
					return -1;
				continue;
			}
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Serve what is readable on c; returns 1 when the connection is done. */
static int conn_serve(struct conn *c, char *buf)
{
	for (;;) {
		ssize_t n = recv(c->fd, buf, BUF_SIZE, 0);
		ssize_t i = 0;

		if (n == 0)
			return 1;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN: drained; anything else (a reset): done */
			return !(errno == EAGAIN || errno == EWOULDBLOCK);
		}
		while (!c->mode && i < n) {
			c->hdr[c->hlen++] = buf[i++];
			if (c->hlen == HDR_LEN) {
				uint32_t sz;

				memcpy(&sz, c->hdr + 1, 4);
				c->size = ntohl(sz);
				c->mode = c->hdr[0];
				if (c->mode != 'R' && c->mode != 'C' && c->mode != 'S')
					return 1;
			}
		}
		if (c->mode == 'S')
			continue;
		/* rr and crr echo the whole request, header bytes included */
		if (write_all(c->fd, buf, n))
			return 1;
		c->echoed += n;
		if (c->mode == 'C' && c->echoed >= c->size)
			return 1;
	}
}

static int run_server(const struct opts *o)
{
	struct epoll_event evs[MAX_EVENTS], ev = { .events = EPOLLIN };
	struct sockaddr_storage ss;
	socklen_t sl = make_addr(o->addr, o->port, &ss);
	double deadline = o->seconds ? now_s() + o->seconds : 0;
	char *buf = malloc(BUF_SIZE);
	int one = 1, lfd, ep;

	if (!buf)
		die("malloc");
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("SO_REUSEADDR");
	if (bind(lfd, (struct sockaddr *)&ss, sl))
		die("bind");
	if (listen(lfd, 4096))
		die("listen");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	ev.data.ptr = NULL;		/* NULL: the listening socket */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		die("epoll_ctl");
	printf("listening %s %d\n", o->addr, o->port);
	fflush(stdout);

	for (;;) {
		int n, i, timeout = -1;

		if (deadline) {
			double left = deadline - now_s();

			if (left <= 0)
				break;
			timeout = (int)(left * 1000) + 1;
		}
		n = epoll_wait(ep, evs, MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c) {
				if (conn_serve(c, buf))
					conn_close(ep, c);
				continue;
			}
			/* accept everything pending */
			for (;;) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd < 0) {
					if (errno == EAGAIN || errno == EWOULDBLOCK)
						break;
					if (errno == EINTR || errno == ECONNABORTED)
						continue;
					if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
					    errno == ENOMEM)
						break;	/* retried on the next wakeup */
					die("accept");
				}
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				c = calloc(1, sizeof(*c));
				if (!c)
					die("calloc");
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
					die("epoll_ctl");
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------ client */

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void client_fail(const char *what)
{
	if (timed_out)
		fprintf(stderr, "%s: %s: no progress for %d s past the run time (server gone?)\n",
			prog, what, WATCHDOG_EXTRA_S);
	else
		fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

/* The request: header first, then filler. */
static void fill_request(char *buf, long size, char mode)
{
	uint32_t sz = htonl((uint32_t)size);

	memset(buf, 'x', size);
	buf[0] = mode;
	memcpy(buf + 1, &sz, 4);
}

static void send_all(int fd, const char *buf, long len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR && !timed_out)
				continue;
			client_fail("send");
		}
		buf += n;
		len -= n;
	}
}

static void recv_all(int fd, char *buf, long len)
{
	while (len) {
		ssize_t n = recv(fd, buf, len, 0);

		if (n == 0) {
			errno = ECONNRESET;
			client_fail("recv (server closed early)");
		}
		if (n < 0) {
			if (errno == EINTR && !timed_out)
				continue;
			client_fail("recv");
		}
		buf += n;
		len -= n;
	}
}

static int open_conn(const struct sockaddr_storage *ss, socklen_t sl, int retry)
{
	double give_up = now_s() + CONNECT_RETRY_S;
	int one = 1;

	for (;;) {
		int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			client_fail("socket");
		if (connect(fd, (const struct sockaddr *)ss, sl) == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		if (retry && errno == ECONNREFUSED && now_s() < give_up) {
			close(fd);
			usleep(20 * 1000);
			continue;
		}
		if (errno == EINTR && !timed_out) {
			close(fd);
			continue;
		}
		client_fail("connect");
	}
}

static int run_client(const struct opts *o)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART: a stuck call returns */
	struct sockaddr_storage ss;
	socklen_t sl = make_addr(o->addr, o->port, &ss);
	long size = o->size ? o->size : (o->mode == 'S' ? STREAM_SIZE : RR_SIZE);
	char *req, *resp;
	double t0, t1, end;
	uint64_t count = 0;
	int fd;

	if (size < HDR_LEN)
		usage("-s SIZE must be at least 5 bytes (the request header)");
	req = malloc(size);
	resp = malloc(size);
	if (!req || !resp)
		client_fail("malloc");
	fill_request(req, size, o->mode);
	sigaction(SIGALRM, &sa, NULL);
	alarm(o->seconds + WATCHDOG_EXTRA_S);

	/* The first connection may meet a server still starting. */
	fd = open_conn(&ss, sl, 1);
	t0 = now_s();
	end = t0 + o->seconds;

	switch (o->mode) {
	case 'C':
		do {
			char tail;
			ssize_t n;

			if (count)
				fd = open_conn(&ss, sl, 0);
			send_all(fd, req, size);
			recv_all(fd, resp, size);
			/* The server closes first: wait for its FIN, then close. */
			n = recv(fd, &tail, 1, 0);
			if (n < 0)
				client_fail("recv (waiting for the server's close)");
			if (n > 0) {
				errno = EPROTO;
				client_fail("recv (extra response bytes)");
			}
			close(fd);
			count++;
		} while (now_s() < end);
		break;
	case 'R':
		do {
			send_all(fd, req, size);
			recv_all(fd, resp, size);
			count++;
		} while (now_s() < end);
		close(fd);
		break;
	case 'S':
		do {
			send_all(fd, req, size);
			count += size;
		} while (now_s() < end);
		close(fd);
		break;
	}
	t1 = now_s();
	alarm(0);

	if (o->mode == 'S')
		printf("%.1f", count / 1e6 / (t1 - t0));
	else
		printf("%.1f", count / (t1 - t0));
	if (o->cpu) {
		struct rusage ru;

		if (getrusage(RUSAGE_SELF, &ru))
			client_fail("getrusage");
		printf(" %.3f", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	}
	printf("\n");
	free(req);
	free(resp);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	int c;

	if (argc < 2)
		usage("want 'server' or 'client'");
	if (!strcmp(argv[1], "server"))
		o.server = 1;
	else if (strcmp(argv[1], "client"))
		usage("want 'server' or 'client'");
	optind = 2;
	while ((c = getopt(argc, argv, "l:c:p:m:t:s:u")) != -1) {
		switch (c) {
		case 'l':
		case 'c':
			o.addr = optarg;
			break;
		case 'p':
			o.port = parse_num(optarg, 1, 65535, "port");
			break;
		case 'm':
			if (!strcmp(optarg, "crr"))
				o.mode = 'C';
			else if (!strcmp(optarg, "rr"))
				o.mode = 'R';
			else if (!strcmp(optarg, "stream"))
				o.mode = 'S';
			else
				usage("bad -m (want crr, rr or stream)");
			break;
		case 't':
			o.seconds = parse_num(optarg, 0, 86400, "seconds");
			break;
		case 'u':
			o.cpu = 1;
			break;
		case 's':
			o.size = parse_num(optarg, HDR_LEN, MAX_SIZE, "size");
			break;
		default:
			usage("bad option");
		}
	}
	if (optind != argc)
		usage("unexpected argument");
	if (!o.addr || !o.port)
		usage(o.server ? "server needs -l ADDR -p PORT" : "client needs -c ADDR -p PORT");
	if (o.server)
		return run_server(&o);
	if (!o.mode || o.seconds < 1)
		usage("client needs -m crr|rr|stream and -t SECONDS (>= 1)");
	return run_client(&o);
}
