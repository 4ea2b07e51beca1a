/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* -o FILE: every record as a JSON line into a file (file_out.c), a pipeline sink. */
#ifndef TCPTRACE_SINK_FILE_H
#define TCPTRACE_SINK_FILE_H

#include "cli.h"
#include "pipeline.h"

/* NULL with a one-line reason in err when the file cannot be written. */
struct sink *file_sink_new(const struct options *o, __u64 now_ns, char *err, size_t errlen);
/* The offset that makes the records' monotonic times wall times (a
 * replay's: the recording's, not this machine's now). */
void file_sink_set_clock(struct sink *s, long long mono_to_real_ns);
/* Finishes the file (the gzip trailer) and frees; 0 or a negative errno. */
int file_sink_free(struct sink *s);

#endif /* TCPTRACE_SINK_FILE_H */
