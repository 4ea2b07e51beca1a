/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small HTTP/1.x server for GET /metrics, on a thread of its own: a
 * slow, malformed or never-reading client holds that thread's poll loop
 * at most until its deadline, never the tracer. Every socket is
 * non-blocking; a request must arrive whole within HTTP_READ_MS and under
 * 8 KiB, a response be taken within HTTP_WRITE_MS; at most HTTP_CLIENTS
 * at once (more are turned away). One request a connection.
 */
#ifndef TCPTRACE_HTTP_SERVER_H
#define TCPTRACE_HTTP_SERVER_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#define HTTP_CLIENTS	16
#define HTTP_READ_MS	5000
#define HTTP_WRITE_MS	10000

struct http_server;

/* Writes the body of /metrics (called on the server's thread). */
typedef void (*http_body_fn)(FILE *out, void *ctx);

/*
 * Binds addr (an IPv4 or IPv6 literal) and port now, then serves from a
 * thread. NULL with a one-line reason in err, and *errnum set (EADDRINUSE,
 * EADDRNOTAVAIL: not an address of this host, EACCES, ...).
 */
struct http_server *http_server_start(const char *addr, __u16 port, const char *content_type,
				      http_body_fn body, void *ctx, int *errnum,
				      char *err, size_t errlen);
/* Stops the thread, closes every socket. */
void http_server_stop(struct http_server *s);
/* The port bound (useful with port 0 in tests). */
__u16 http_server_port(const struct http_server *s);

struct http_counts {
	__u64 served;		/* 200 responses sent whole */
	__u64 errors;		/* malformed, timed out, turned away, not found */
};
void http_server_counts(struct http_server *s, struct http_counts *c);

#endif /* TCPTRACE_HTTP_SERVER_H */
