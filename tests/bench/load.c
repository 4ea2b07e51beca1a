// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * load: the load generator of `make bench`, a small netperf.
 *
 *   load server -l ADDR -p PORT [-k PORTS] [-t SECONDS]
 *   load client -c ADDR -p PORT -m MODE -t SECONDS [-s SIZE] [-P PROCS] [-u]
 *   load hold -c ADDR -p PORT -n CONNS [-k PORTS] -t SECONDS
 *
 * Workloads (client side):
 *   crr     connect, SIZE-byte request (default 64), SIZE-byte response,
 *           close; repeated. Prints transactions/s.
 *   rr      SIZE-byte request / response on one connection. Transactions/s.
 *   stream  SIZE-byte writes (default 64 KiB) on one connection. MB/s
 *           (10^6 bytes a second).
 *   connect socket(), connect(), close(): the client closes first and sends
 *           nothing. Connects/s.
 *   refused socket(), connect() to a port where nothing listens (refused),
 *           close(): the storm of a client hammering a dead service.
 *           Attempts/s.
 *   getppid the cheapest system call, in a tight loop (no server needed):
 *           what every process on the host pays when a hook slows the
 *           system call path. Calls/s.
 * -P PROCS runs the mode in that many processes at once (a connect storm)
 * and prints their sum.
 *
 * hold opens CONNS connections spread over PORTS consecutive server ports
 * (one client address reaches ~64k ports per destination), prints
 * "held N" once all are established, keeps them open and idle for -t
 * SECONDS (or until SIGTERM/SIGINT), then closes them. The server listens
 * on as many ports with -k.
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
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
#define MAX_PORTS	64		/* -k: listening ports of one server */
#define MAX_PROCS	64		/* -P */
#define MAX_HOLD	(1 << 20)	/* -n */
/*
 * Descriptors one process may hold: a root without CAP_SYS_RESOURCE cannot
 * raise its hard limit (often 20000 in a container), so the server runs a
 * process per port and hold a process per HOLD_PER_PROC connections.
 */
#define HOLD_PER_PROC	15000

static const char *prog = "load";

struct opts {
	int server;
	int hold;
	const char *addr;
	int port;
	int ports;			/* -k: consecutive ports from port */
	char mode;			/* 'C' crr, 'R' rr, 'S' stream, 'N' connect,
					 * 'F' refused, 'G' getppid */
	long seconds;
	long size;
	long conns;			/* hold -n */
	int procs;			/* -P */
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
		"usage: load server -l ADDR -p PORT [-k PORTS] [-t SECONDS]\n"
		"       load client -c ADDR -p PORT -m crr|rr|stream|connect|refused|getppid\n"
		"                   -t SECONDS [-s SIZE] [-P PROCS] [-u]\n"
		"       load hold -c ADDR -p PORT -n CONNS [-k PORTS] -t SECONDS\n",
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

/*
 * Thousands of sockets (hold) need as many descriptors: take what the
 * limits allow (with CAP_SYS_RESOURCE up to fs.nr_open, else the hard limit).
 */
static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* A listening socket on port; its conn has mode 'L'. */
static struct conn *listen_on(const struct opts *o, int port, int ep)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_storage ss;
	socklen_t sl = make_addr(o->addr, port, &ss);
	struct conn *l = calloc(1, sizeof(*l));
	int one = 1;

	if (!l)
		die("calloc");
	l->mode = 'L';
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		die("socket");
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("SO_REUSEADDR");
	if (bind(l->fd, (struct sockaddr *)&ss, sl))
		die("bind");
	if (listen(l->fd, 4096))
		die("listen");
	ev.data.ptr = l;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, l->fd, &ev))
		die("epoll_ctl");
	return l;
}

/* Accept everything pending on a listener. */
static void accept_all(struct conn *l, int ep)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1;

	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				return;	/* retried on the next wakeup */
			die("accept");
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c)
			die("calloc");
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			die("epoll_ctl");
	}
}

/* Serve the listeners on ep until the deadline (0: for ever). */
static void serve(int ep, double deadline)
{
	struct epoll_event evs[MAX_EVENTS];
	char *buf = malloc(BUF_SIZE);

	if (!buf)
		die("malloc");
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

			if (c->mode == 'L')
				accept_all(c, ep);
			else if (conn_serve(c, buf))
				conn_close(ep, c);
		}
	}
	free(buf);
}

/*
 * One process per port (-k): each holds its own connections' descriptors.
 * The children go with the parent (PR_SET_PDEATHSIG); "listening" is
 * printed once every port listens.
 */
static int run_server(const struct opts *o)
{
	double deadline = o->seconds ? now_s() + o->seconds : 0;
	pid_t parent = getpid();
	int ready[2];

	raise_nofile(MAX_HOLD + 1024);
	if (pipe(ready))
		die("pipe");
	for (int i = 0; i < o->ports; i++) {
		pid_t pid = o->ports > 1 ? fork() : 0;
		int ep;

		if (pid < 0)
			die("fork");
		if (pid > 0)
			continue;
		if (o->ports > 1 && (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent))
			_exit(1);
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0)
			die("epoll_create1");
		listen_on(o, o->port + i, ep);
		if (write(ready[1], "", 1) != 1)
			die("write");
		if (o->ports == 1) {
			printf("listening %s %d\n", o->addr, o->port);
			fflush(stdout);
		}
		serve(ep, deadline);
		if (o->ports > 1)
			_exit(0);
		return 0;
	}
	for (int i = 0; i < o->ports; i++) {
		char b;

		if (read(ready[0], &b, 1) != 1)
			die("a server process did not start");
	}
	printf("listening %s %d..%d\n", o->addr, o->port, o->port + o->ports - 1);
	fflush(stdout);
	while (wait(NULL) > 0 || errno == EINTR)
		;
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

/* The work of one client process: how much it did, over how long. */
struct client_result {
	double work;			/* transactions, connects, calls, or bytes (stream) */
	double seconds;
};

static void client_loop(const struct opts *o, struct client_result *r)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART: a stuck call returns */
	struct sockaddr_storage ss;
	socklen_t sl = o->mode == 'G' ? 0 : make_addr(o->addr, o->port, &ss);
	long size = o->size ? o->size : (o->mode == 'S' ? STREAM_SIZE : RR_SIZE);
	char *req, *resp;
	double t0, end;
	uint64_t count = 0;
	int fd = -1;

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
	if (o->mode == 'C' || o->mode == 'R' || o->mode == 'S')
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
	case 'N':
		do {
			close(open_conn(&ss, sl, !count));
			count++;
		} while (now_s() < end);
		break;
	case 'F':
		do {
			int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

			if (fd < 0)
				client_fail("socket");
			if (connect(fd, (const struct sockaddr *)&ss, sl) == 0) {
				errno = EISCONN;
				client_fail("connect (the port should refuse)");
			}
			if (errno != ECONNREFUSED && !(errno == EINTR && !timed_out))
				client_fail("connect");
			close(fd);
			count++;
		} while (now_s() < end);
		break;
	case 'G':
		/* The clock is read once every 4096 calls: the loop is the syscall. */
		do {
			for (int i = 0; i < 4096; i++)
				syscall(SYS_getppid);
			count += 4096;
		} while (now_s() < end);
		break;
	}
	r->seconds = now_s() - t0;
	r->work = count;
	alarm(0);
	free(req);
	free(resp);
}

static double cpu_seconds(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru))
		client_fail("getrusage");
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * -P: the loop in PROCS processes started together; each reports its
 * result through a pipe. The rate is the sum of the processes' rates.
 */
static int run_client(const struct opts *o)
{
	struct client_result r = { 0 };
	double rate = 0;
	int fds[2];

	if (o->procs <= 1) {
		client_loop(o, &r);
		rate = r.seconds > 0 ? r.work / r.seconds : 0;
	} else {
		pid_t pids[MAX_PROCS];
		int failed = 0;

		if (pipe(fds))
			client_fail("pipe");
		for (int i = 0; i < o->procs; i++) {
			pids[i] = fork();
			if (pids[i] < 0)
				client_fail("fork");
			if (pids[i] == 0) {
				close(fds[0]);
				client_loop(o, &r);
				if (write(fds[1], &r, sizeof(r)) != sizeof(r))
					_exit(1);
				_exit(0);
			}
		}
		close(fds[1]);
		for (int i = 0; i < o->procs; i++) {
			int st;

			if (read(fds[0], &r, sizeof(r)) == sizeof(r) && r.seconds > 0)
				rate += r.work / r.seconds;
			if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
				failed = 1;
		}
		if (failed) {
			fprintf(stderr, "%s: a client process failed\n", prog);
			exit(1);
		}
	}
	if (o->mode == 'S')
		printf("%.1f", rate / 1e6);
	else
		printf("%.1f", rate);
	if (o->cpu)
		printf(" %.3f", cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN));
	printf("\n");
	return 0;
}

/* ------------------------------------------------------------ hold */

static volatile sig_atomic_t hold_stop;

static void on_hold_stop(int sig)
{
	(void)sig;
	hold_stop = 1;
}

/*
 * Connections first .. first+count-1 of a hold, kept until SIGTERM. Port
 * by index: spread evenly over the server's ports. One byte on ready
 * says they are all established.
 */
static void hold_part(const struct opts *o, long first, long count, int ready)
{
	int *fds = calloc(count, sizeof(int));

	if (!fds)
		client_fail("calloc");
	raise_nofile(count + 64);
	for (long i = 0; i < count && !hold_stop; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = make_addr(o->addr, o->port + (int)((first + i) % o->ports), &ss);
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			client_fail("socket");
		while (connect(fd, (const struct sockaddr *)&ss, sl)) {
			if (errno != EINTR || hold_stop) {
				fprintf(stderr, "%s: connect %ld of %ld: %s\n", prog, first + i + 1,
					o->conns, strerror(errno));
				exit(1);
			}
		}
		fds[i] = fd;
	}
	if (write(ready, "", 1) != 1)
		client_fail("write");
	while (!hold_stop)
		usleep(100 * 1000);
	for (long i = 0; i < count; i++)
		close(fds[i]);
	free(fds);
}

/*
 * Many idle connections at once, for the tracer's memory at scale:
 * processes of HOLD_PER_PROC connections each, blocking connects (the
 * server's accept queues pace them). "held N" once all are up; after -t
 * SECONDS or SIGTERM/SIGINT every process closes its connections.
 */
static int run_hold(const struct opts *o)
{
	struct sigaction sa = { .sa_handler = on_hold_stop };
	long procs = (o->conns + HOLD_PER_PROC - 1) / HOLD_PER_PROC;
	pid_t *pids = calloc(procs, sizeof(pid_t));
	int ready[2], failed = 0;
	double end;

	if (!pids || pipe(ready))
		client_fail("hold setup");
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (long p = 0; p < procs; p++) {
		long first = p * HOLD_PER_PROC;
		long count = o->conns - first < HOLD_PER_PROC ? o->conns - first : HOLD_PER_PROC;

		pids[p] = fork();
		if (pids[p] < 0)
			client_fail("fork");
		if (pids[p] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			hold_part(o, first, count, ready[1]);
			_exit(0);
		}
	}
	close(ready[1]);
	for (long p = 0; p < procs; p++) {
		char b;

		if (read(ready[0], &b, 1) != 1) {
			fprintf(stderr, "%s: a hold process failed\n", prog);
			failed = 1;
			break;
		}
	}
	if (!failed) {
		printf("held %ld\n", o->conns);
		fflush(stdout);
		end = now_s() + o->seconds;
		while (!hold_stop && now_s() < end)
			usleep(50 * 1000);
	}
	for (long p = 0; p < procs; p++)
		kill(pids[p], SIGTERM);
	for (long p = 0; p < procs; p++) {
		int st;

		if (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			failed = 1;
	}
	free(pids);
	return failed;
}

int main(int argc, char **argv)
{
	struct opts o = { .ports = 1, .procs = 1 };
	int c;

	if (argc < 2)
		usage("want 'server', 'client' or 'hold'");
	if (!strcmp(argv[1], "server"))
		o.server = 1;
	else if (!strcmp(argv[1], "hold"))
		o.hold = 1;
	else if (strcmp(argv[1], "client"))
		usage("want 'server', 'client' or 'hold'");
	optind = 2;
	while ((c = getopt(argc, argv, "l:c:p:m:t:s:uk:n:P:")) != -1) {
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
			else if (!strcmp(optarg, "connect"))
				o.mode = 'N';
			else if (!strcmp(optarg, "refused"))
				o.mode = 'F';
			else if (!strcmp(optarg, "getppid"))
				o.mode = 'G';
			else
				usage("bad -m (want crr, rr, stream, connect, refused or getppid)");
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
		case 'k':
			o.ports = parse_num(optarg, 1, MAX_PORTS, "ports");
			break;
		case 'n':
			o.conns = parse_num(optarg, 1, MAX_HOLD, "connections");
			break;
		case 'P':
			o.procs = parse_num(optarg, 1, MAX_PROCS, "processes");
			break;
		default:
			usage("bad option");
		}
	}
	if (optind != argc)
		usage("unexpected argument");
	if (o.port + o.ports - 1 > 65535)
		usage("-p PORT -k PORTS runs past port 65535");
	if (o.server) {
		if (!o.addr || !o.port)
			usage("server needs -l ADDR -p PORT");
		return run_server(&o);
	}
	if (o.hold) {
		if (!o.addr || !o.port || !o.conns)
			usage("hold needs -c ADDR -p PORT -n CONNS");
		return run_hold(&o);
	}
	if (!o.mode || o.seconds < 1)
		usage("client needs -m MODE and -t SECONDS (>= 1)");
	if (o.mode != 'G' && (!o.addr || !o.port))
		usage("client needs -c ADDR -p PORT");
	return run_client(&o);
}
