/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --otlp URL: what the option takes, checked where the options are. */
#ifndef TCPTRACE_OTLP_URL_H
#define TCPTRACE_OTLP_URL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * "http://host[:port][/prefix]" or https: true, and the URLs of the two
 * endpoints, PREFIX/v1/logs and PREFIX/v1/metrics, with OTLP/HTTP's port
 * 4318 when the URL names none; false with a one-line reason otherwise.
 */
bool otlp_url_ok(const char *url, char *logs_url, char *metrics_url, size_t len,
		 char *err, size_t errlen);

#endif /* TCPTRACE_OTLP_URL_H */
