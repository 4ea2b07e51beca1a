// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_receiver: a stand-in OpenTelemetry Collector for the tests. It
 * takes OTLP/HTTP POSTs on 127.0.0.1, checks what an OTLP/HTTP JSON
 * request must be on the wire (POST to /v1/logs or /v1/metrics,
 * Content-Type application/json, gzip when Content-Encoding says so),
 * saves each body, decompressed, as DIR/NNNN-logs.json or
 * NNNN-metrics.json, and answers as told: --answers 503,200 answers the
 * first request 503 (with Retry-After: --retry-after), the second 200,
 * and every later one 200. Each request is a line of DIR/requests.log:
 *   1 /v1/metrics gzip 503
 * The JSON itself is checked by the tests with jq. Prints its port and
 * runs until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define HEAD_MAX	16384
#define BODY_MAX	(64 << 20)
#define CONNS_MAX	64

static const char *dir = ".";
static int answers[64], n_answers;
static int retry_after = 1;

static int answer_for(int nth)
{
	return nth <= n_answers ? answers[nth - 1] : 200;
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Other";
	}
}

static void reply(int fd, int code, const char *why)
{
	char buf[512], retry[32] = "";
	int n;

	if (code == 503 || code == 429)
		snprintf(retry, sizeof(retry), "Retry-After: %d\r\n", retry_after);
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		     "%sContent-Length: %zu\r\n\r\n%s", code, reason(code), retry, strlen(why), why);
	if (write(fd, buf, n) != n)
		perror("otlp_receiver: write");
}

static const char *header(const char *head, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, name, len) && p[2 + len] == ':')
			return p + 3 + len + strspn(p + 3 + len, " ");
	return NULL;
}

static bool gunzip(const unsigned char *in, size_t len, unsigned char **out, size_t *out_len)
{
	z_stream z = {0};
	size_t cap = len * 8 + 4096;
	int ret;

	*out = malloc(cap);
	if (!*out || inflateInit2(&z, 15 + 16) != Z_OK)
		return false;
	z.next_in = (unsigned char *)in;
	z.avail_in = len;
	do {
		if (z.total_out == cap) {
			cap *= 2;
			*out = realloc(*out, cap);
		}
		z.next_out = *out + z.total_out;
		z.avail_out = cap - z.total_out;
		ret = inflate(&z, Z_NO_FLUSH);
	} while (ret == Z_OK);
	*out_len = z.total_out;
	inflateEnd(&z);
	return ret == Z_STREAM_END;
}

/* One request off a connection that has bytes to read; false when the
 * client closed it or broke the protocol. Connections are served side by
 * side (curl keeps each alive): two tracers pushing to one collector, as
 * the lab's two ends do, must not queue behind each other. */
static bool serve(int fd, int *nth, FILE *log)
{
	static char head[HEAD_MAX + 1];

	{
		size_t have = 0, clen, body_have;
		unsigned char *body, *plain = NULL;
		const char *cl, *ct, *ce, *end;
		char method[8], path[128], name[600];
		bool gz;
		size_t plain_len = 0;
		FILE *f;
		int code;

		while (!(end = have ? strstr(head, "\r\n\r\n") : NULL)) {
			ssize_t n = read(fd, head + have, HEAD_MAX - have);

			if (n <= 0)
				return false;
			have += n;
			head[have] = '\0';
			/* Headers that fill the buffer and never end: not HTTP. */
			if (have == HEAD_MAX && !strstr(head, "\r\n\r\n"))
				return false;
		}
		end += 4;
		if (sscanf(head, "%7s %127s", method, path) != 2)
			return false;
		/* A client that asks first is told to go on, as servers do. */
		if ((cl = header(head, "Expect")) && !strncasecmp(cl, "100-continue", 12) &&
		    write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 25)
			return false;
		cl = header(head, "Content-Length");
		ct = header(head, "Content-Type");
		ce = header(head, "Content-Encoding");
		clen = cl ? strtoul(cl, NULL, 10) : 0;
		if (clen > BODY_MAX)
			return false;
		body = malloc(clen + 1);
		body_have = have - (end - head);
		if (body_have > clen)
			body_have = clen;
		memcpy(body, end, body_have);
		while (body_have < clen) {
			ssize_t n = read(fd, body + body_have, clen - body_have);

			if (n <= 0) {
				free(body);
				return false;
			}
			body_have += n;
		}
		++*nth;
		gz = ce && !strncasecmp(ce, "gzip", 4);
		code = answer_for(*nth);
		if (strcmp(method, "POST") ||
		    (strcmp(path, "/v1/logs") && strcmp(path, "/v1/metrics")))
			code = 400;
		else if (!ct || strncasecmp(ct, "application/json", 16))
			code = 415;
		if (gz && !gunzip(body, clen, &plain, &plain_len))
			code = 400;
		fprintf(log, "%d %s %s %d\n", *nth, path, gz ? "gzip" : "plain", code);
		fflush(log);
		snprintf(name, sizeof(name), "%s/%04d-%s.json", dir, *nth,
			 strstr(path, "logs") ? "logs" : "metrics");
		f = fopen(name, "w");
		if (f) {
			fwrite(gz ? plain : body, 1, gz ? plain_len : clen, f);
			fclose(f);
		}
		reply(fd, code, code == 200 ? "{}" : "{\"code\":14,\"message\":\"as told\"}");
		free(body);
		free(plain);
		/* Bytes of a next request past this one's body: not expected
		 * from curl without pipelining; start the next read afresh. */
	}
	return true;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t sl = sizeof(a);
	int port = 0, s, one = 1, nth = 0, opt;
	struct pollfd fds[CONNS_MAX];
	nfds_t nfds = 1;
	char path[600];
	FILE *log;

	while ((opt = getopt(argc, argv, "p:d:a:r:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'd': dir = optarg; break;
		case 'r': retry_after = atoi(optarg); break;
		case 'a':
			for (char *t = strtok(optarg, ","); t && n_answers < 64; t = strtok(NULL, ","))
				answers[n_answers++] = atoi(t);
			break;
		default:
			fprintf(stderr, "usage: otlp_receiver [-p PORT] [-d DIR] [-a 503,200] "
				"[-r RETRY_AFTER_S]\n");
			return 2;
		}
	}
	snprintf(path, sizeof(path), "%s/requests.log", dir);
	log = fopen(path, "a");
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!log || s < 0)
		return 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16) ||
	    getsockname(s, (struct sockaddr *)&a, &sl)) {
		perror("otlp_receiver");
		return 1;
	}
	printf("%u\n", ntohs(a.sin_port));
	fflush(stdout);
	fds[0] = (struct pollfd){ .fd = s, .events = POLLIN };
	for (;;) {
		if (poll(fds, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (nfds_t i = nfds; i-- > 1;) {
			if (!fds[i].revents || serve(fds[i].fd, &nth, log))
				continue;
			close(fds[i].fd);
			fds[i] = fds[--nfds];
		}
		if (fds[0].revents & POLLIN) {
			int fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0 && errno != EINTR)
				return 1;
			if (fd >= 0 && nfds == CONNS_MAX)
				close(fd);
			else if (fd >= 0)
				fds[nfds++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		}
	}
}
