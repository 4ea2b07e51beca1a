/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The file source: a recording (record.h) fed to a pipeline as the live
 * run fed it, record by record, ticking where it ticked, on its clock.
 */
#ifndef TCPTRACE_SOURCE_FILE_H
#define TCPTRACE_SOURCE_FILE_H

#include "pipeline.h"
#include "record.h"

/* NULL when out of memory. The reader stays the caller's. */
struct source *file_source_new(struct rec_reader *rd, struct pipeline *p);
void file_source_free(struct source *src);

/*
 * The engine's configuration and the options a recording was made with,
 * under what the command line (argv, parsed by cli_parse_mode already)
 * says: its thresholds win, the rest is the recording's.
 */
void file_source_options(const struct rec_header *h, int argc, char **argv,
			 struct options *o);
void file_source_config(const struct rec_header *h, const struct options *o,
			struct engine_config *cfg);

/* tcptrace-bpf replay FILE [options]: the exit code. */
int replay_main(int argc, char **argv);

#endif /* TCPTRACE_SOURCE_FILE_H */
