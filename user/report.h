/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Fault reporting: one line on stderr (control characters shown as '?'), and the same message to a sink
 * when one is set (the JSON output under -j). Any module may report; none
 * needs to know where it goes.
 */
#ifndef TCPTRACE_REPORT_H
#define TCPTRACE_REPORT_H

typedef void (*report_sink_fn)(const char *msg, void *ctx);

/* Where every later report goes too; NULL: stderr alone. */
void report_set_sink(report_sink_fn fn, void *ctx);
/* Prints "tcptrace-bpf: <message>" and a newline. */
void report_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "tcptrace-bpf: <message>" on stderr alone: a note, no fault. */
void report_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* TCPTRACE_REPORT_H */
