// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include "http_server.h"

#define REQUEST_MAX	8192

struct client {
	int fd;			/* -1: free slot */
	long long deadline_ms;
	bool writing;
	char req[REQUEST_MAX];
	size_t req_len;
	char *resp;		/* malloc'ed header + body */
	size_t resp_len, resp_off;
	bool ok;		/* a 200: counted as served once sent whole */
};

struct http_server {
	int listen_fd;
	int wake_fd;		/* eventfd: stop */
	__u16 port;
	const char *content_type;
	http_body_fn body;
	void *ctx;
	pthread_t thread;
	atomic_ullong served, errors;
	struct client clients[HTTP_CLIENTS];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void client_close(struct http_server *s, struct client *c, bool error)
{
	if (error)
		atomic_fetch_add(&s->errors, 1);
	close(c->fd);
	free(c->resp);
	c->resp = NULL;
	c->fd = -1;
}

static void respond(struct client *c, int code, const char *reason, const char *type,
		    const char *body, size_t body_len, bool head)
{
	char *hdr = NULL;
	int n = asprintf(&hdr, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", code, reason, type, body_len);

	c->resp = NULL;
	c->resp_len = c->resp_off = 0;
	if (n < 0)
		return;
	c->resp = malloc(n + (head ? 0 : body_len));
	if (!c->resp) {
		free(hdr);
		return;
	}
	memcpy(c->resp, hdr, n);
	if (!head)
		memcpy(c->resp + n, body, body_len);
	c->resp_len = n + (head ? 0 : body_len);
	free(hdr);
	c->ok = code == 200;
	c->writing = true;
	c->deadline_ms = now_ms() + HTTP_WRITE_MS;
}

static void respond_text(struct client *c, int code, const char *reason, const char *text)
{
	respond(c, code, reason, "text/plain; charset=utf-8", text, strlen(text), false);
}

/* A whole request head arrived: answer it. */
static void handle(struct http_server *s, struct client *c)
{
	char method[8], path[256], version[16];
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	c->req[c->req_len] = '\0';
	if (sscanf(c->req, "%7s %255s %15s", method, path, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		atomic_fetch_add(&s->errors, 1);
		respond_text(c, 400, "Bad Request", "bad request\n");
		return;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		atomic_fetch_add(&s->errors, 1);
		respond_text(c, 405, "Method Not Allowed", "GET /metrics\n");
		return;
	}
	/* A query string (Prometheus sends none, curl users might) is ignored. */
	path[strcspn(path, "?")] = '\0';
	if (!strcmp(path, "/")) {
		respond_text(c, 200, "OK", "tcptrace-bpf: metrics at /metrics\n");
		c->ok = false;
		return;
	}
	if (strcmp(path, "/metrics")) {
		atomic_fetch_add(&s->errors, 1);
		respond_text(c, 404, "Not Found", "not found: try /metrics\n");
		return;
	}
	f = open_memstream(&body, &len);
	if (!f) {
		respond_text(c, 500, "Internal Server Error", "out of memory\n");
		return;
	}
	s->body(f, s->ctx);
	fclose(f);
	respond(c, 200, "OK", s->content_type, body, len, !strcmp(method, "HEAD"));
	free(body);
}

static void client_read(struct http_server *s, struct client *c)
{
	ssize_t n = recv(c->fd, c->req + c->req_len, REQUEST_MAX - 1 - c->req_len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(s, c, true);	/* gone before asking anything */
		return;
	}
	c->req_len += n;
	c->req[c->req_len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
		handle(s, c);
		if (!c->resp)
			client_close(s, c, true);
	} else if (c->req_len >= REQUEST_MAX - 1) {
		atomic_fetch_add(&s->errors, 1);
		respond_text(c, 431, "Request Header Fields Too Large", "request too large\n");
		c->ok = false;
		if (!c->resp)
			client_close(s, c, false);
	}
}

static void client_write(struct http_server *s, struct client *c)
{
	ssize_t n = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		client_close(s, c, true);
		return;
	}
	c->resp_off += n;
	if (c->resp_off < c->resp_len)
		return;
	if (c->ok)
		atomic_fetch_add(&s->served, 1);
	client_close(s, c, false);
}

static void accept_all(struct http_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c = NULL;

		if (fd < 0)
			return;
		for (int i = 0; i < HTTP_CLIENTS && !c; i++)
			if (s->clients[i].fd < 0)
				c = &s->clients[i];
		if (!c) {
			/* Full: turned away at once, never queued behind the slow. */
			atomic_fetch_add(&s->errors, 1);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->req_len = 0;
		c->writing = false;
		c->ok = false;
		c->deadline_ms = now_ms() + HTTP_READ_MS;
	}
}

static void *serve(void *arg)
{
	struct http_server *s = arg;
	struct pollfd pfd[HTTP_CLIENTS + 2];
	struct client *who[HTTP_CLIENTS + 2];

	for (;;) {
		long long now = now_ms(), next = now + 1000;
		int n = 0, ready;

		pfd[n] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
		who[n++] = NULL;
		pfd[n] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		who[n++] = NULL;
		for (int i = 0; i < HTTP_CLIENTS; i++) {
			struct client *c = &s->clients[i];

			if (c->fd < 0)
				continue;
			if (now >= c->deadline_ms) {
				client_close(s, c, true);	/* too slow: dropped */
				continue;
			}
			if (c->deadline_ms < next)
				next = c->deadline_ms;
			pfd[n] = (struct pollfd){ .fd = c->fd,
						  .events = c->writing ? POLLOUT : POLLIN };
			who[n++] = c;
		}
		ready = poll(pfd, n, (int)(next - now));
		if (ready < 0 && errno != EINTR)
			break;
		if (ready <= 0)
			continue;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & POLLIN)
			accept_all(s);
		for (int i = 2; i < n; i++) {
			struct client *c = who[i];

			if (!pfd[i].revents || c->fd != pfd[i].fd)
				continue;
			if (c->writing)
				client_write(s, c);
			else
				client_read(s, c);
		}
	}
	return NULL;
}

struct http_server *http_server_start(const char *addr, __u16 port, const char *content_type,
				      http_body_fn body, void *ctx, int *errnum,
				      char *err, size_t errlen)
{
	struct sockaddr_storage ss = {0};
	struct http_server *s;
	socklen_t sl;
	int one = 1, family;

	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		family = a->sin_family = AF_INET;
		a->sin_port = htons(port);
		sl = sizeof(*a);
	} else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		family = a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		sl = sizeof(*a);
	} else {
		*errnum = EINVAL;
		snprintf(err, errlen, "invalid metrics address '%s'", addr);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*errnum = ENOMEM;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < HTTP_CLIENTS; i++)
		s->clients[i].fd = -1;
	s->content_type = content_type;
	s->body = body;
	s->ctx = ctx;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->listen_fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->wake_fd < 0 || s->listen_fd < 0)
		goto fail;
	setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)	/* [::] is IPv6 and IPv4, as users expect */
		setsockopt(s->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){0}, sizeof(int));
	if (bind(s->listen_fd, (struct sockaddr *)&ss, sl) || listen(s->listen_fd, 64))
		goto fail;
	if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &sl) == 0)
		s->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
				((struct sockaddr_in6 *)&ss)->sin6_port);
	errno = pthread_create(&s->thread, NULL, serve, s);
	if (errno)
		goto fail;
	return s;
fail:
	*errnum = errno;
	snprintf(err, errlen, "cannot serve metrics on %s%s%s:%u: %s",
		 family == AF_INET6 ? "[" : "", addr, family == AF_INET6 ? "]" : "", port,
		 strerror(errno));
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s);
	return NULL;
}

void http_server_stop(struct http_server *s)
{
	__u64 one = 1;

	if (!s)
		return;
	if (write(s->wake_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(s->thread, NULL);
	for (int i = 0; i < HTTP_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			client_close(s, &s->clients[i], false);
	close(s->listen_fd);
	close(s->wake_fd);
	free(s);
}

__u16 http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_counts(struct http_server *s, struct http_counts *c)
{
	c->served = atomic_load(&s->served);
	c->errors = atomic_load(&s->errors);
}
