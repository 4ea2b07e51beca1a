/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * -o FILE: JSON lines into a file, gzip-compressed when the name ends in
 * ".gz", rotated by size (--rotate) or age (--rotate-s).
 *
 * The JSON writer writes into file_out_stream(), an ordinary FILE * that
 * lands here; it flushes at the end of every record, so a chunk that ends
 * in a newline ends a record, and only there is a file rotated. gzip
 * output is held in memory between ticks: file_out_tick() compresses with
 * Z_SYNC_FLUSH and writes it all, so the file always ends at a tick's
 * record boundary and a tracer killed with SIGKILL leaves a file zcat
 * reads up to its last tick (then says "unexpected end of file": the
 * gzip trailer is written at a clean close only).
 *
 * Rotation keeps the name the user gave for the live file: the finished
 * one is renamed NAME-<its start, UTC>-<its number>.EXT (conns.json.gz ->
 * conns-20260103T101500Z-0001.json.gz), the next opened under NAME. The new
 * file is opened before the old is touched, so a failure (disk full,
 * permissions) leaves the records going to the old one, said once.
 */
#ifndef TCPTRACE_FILE_OUT_H
#define TCPTRACE_FILE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

struct file_out;

struct file_out_opts {
	const char *path;
	__u64 rotate_bytes;	/* 0: never by size (bytes as written: compressed for .gz) */
	__u64 rotate_ns;	/* 0: never by age */
};

/*
 * Opens (creates or truncates) the file. NULL with a one-line reason in
 * err when it cannot be written.
 */
struct file_out *file_out_open(const struct file_out_opts *o, __u64 now_ns,
			       char *err, size_t errlen);
/* Where records are written (fflush after each). */
FILE *file_out_stream(struct file_out *f);
/* Once an interval: make what was written readable (gzip: Z_SYNC_FLUSH),
 * and rotate when the file is older than rotate_ns. */
void file_out_tick(struct file_out *f, __u64 now_ns);
/* Flush, finish (the gzip trailer) and close. 0, or a negative errno. */
int file_out_close(struct file_out *f);
/* Files finished by rotation so far. */
unsigned int file_out_rotations(const struct file_out *f);

#endif /* TCPTRACE_FILE_OUT_H */
