// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include "otlp_url.h"

#define URL_MAX	1024

bool otlp_url_ok(const char *url, char *logs_url, char *metrics_url, size_t len,
		 char *err, size_t errlen)
{
	const char *auth, *path, *close_br, *port;
	char base[URL_MAX];
	size_t n;

	if (!strncmp(url, "http://", 7))
		auth = url + 7;
	else if (!strncmp(url, "https://", 8))
		auth = url + 8;
	else {
		snprintf(err, errlen, "invalid OTLP URL '%s': expected http:// or https://", url);
		return false;
	}
	path = auth + strcspn(auth, "/?#");
	if (path == auth || strlen(url) >= URL_MAX - 32 || *path == '?' || *path == '#') {
		snprintf(err, errlen, "invalid OTLP URL '%s': expected http(s)://HOST[:PORT][/PATH]",
			 url);
		return false;
	}
	/* A port of its own, or OTLP/HTTP's 4318 ([v6]:port counts after ']'). */
	close_br = auth[0] == '[' ? memchr(auth, ']', path - auth) : NULL;
	if (auth[0] == '[' && !close_br) {
		snprintf(err, errlen, "invalid OTLP URL '%s': unclosed '['", url);
		return false;
	}
	port = memchr(close_br ? close_br : auth, ':', path - (close_br ? close_br : auth));
	n = snprintf(base, sizeof(base), "%.*s%s%s", (int)(path - url), url,
		     port ? "" : ":4318", path);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	snprintf(logs_url, len, "%s/v1/logs", base);
	snprintf(metrics_url, len, "%s/v1/metrics", base);
	return true;
}
