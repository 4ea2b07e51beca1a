/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Fault reporting: one line on stderr, and a JSON record too under -j. */
#ifndef TCPTRACE_REPORT_H
#define TCPTRACE_REPORT_H

struct output;

void report_to_json(struct output *o);
/* Prints "tcptrace-bpf: <message>" and a newline. */
void report_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* TCPTRACE_REPORT_H */
