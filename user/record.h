/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Recordings (-w FILE): every record the engine consumes, in the order it
 * consumed them, so that `replay` can feed the same engine the same
 * things and get the same diagnoses, and `correlate` can join two hosts'.
 *
 * The file: 16 bytes in clear, then one zlib stream.
 *
 *   preamble  8-byte magic "\x89TTR\r\n\x1a\n" (PNG's trick: a text-mode
 *             copy or a 7-bit channel damages it visibly), format version
 *             (u32, little-endian), 4 reserved bytes (zero)
 *   stream    frames: u16 type, u16 zero, u32 payload length, u64 time
 *             (CLOCK_MONOTONIC ns of the recording host), then the payload
 *
 * The first frame is REC_HEADER (who, where, with which options). Every
 * body record carries its time: an event its kernel timestamp, a scan or
 * NIC record the time of the sample it belongs to. A REC_CHECK frame ends
 * each chunk of frames with the CRC-32 of the chunk's bytes; the writer
 * ends a chunk and sync-flushes the stream at every tick, so a tracer
 * killed mid-run leaves a file that reads up to its last tick, and a
 * reader feeds nothing it has not checked.
 *
 * Payloads are the structs of include/ as they are in memory, little-
 * endian on every CPU the tracer supports. A reader copies the length it
 * knows and zeroes the rest, so fields appended to tt_event, tt_sock_scan
 * or nic_flow keep the format; any other layout change is a new version.
 */
#ifndef TCPTRACE_RECORD_H
#define TCPTRACE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "cgroups.h"
#include "cli.h"
#include "diagnose.h"
#include "health.h"

#define REC_MAGIC	"\x89TTR\r\n\x1a\n"
#define REC_MAGIC_LEN	8
#define REC_PREAMBLE	16
#define REC_VERSION	1

enum rec_type {
	REC_HEADER = 1,	/* tag-length-value fields (enum rec_tag) */
	REC_START,	/* the pipeline starts: its clock now */
	REC_EVENT,	/* struct tt_event */
	REC_SOCKET,	/* struct tt_sock_scan, at the sample's time */
	REC_SCAN_END,	/* a socket scan is over */
	REC_NIC,	/* struct flow_key + struct nic_flow */
	REC_TICK,	/* the pipeline judges at this time: a sample follows */
	REC_LOST,	/* u64: events lost so far; ends the sample */
	REC_LOOP_END,	/* the run stops; a last tick and REC_FINISH follow */
	REC_FINISH,	/* everything pending was judged: a complete recording */
	REC_CHECK,	/* struct rec_check: ends a chunk */
	REC_REPEAT,	/* struct rec_repeat: records the previous sample had */
	REC_HEALTH,	/* struct rec_health: the live source's own counts, each tick */
	/*
	 * struct rec_cgroup, then the path and the pod name: what the live
	 * run named a cgroup id (path length 0: not found), before the first
	 * record that needs it. A reader older than it skips it.
	 */
	REC_CGROUP,
	REC_TYPE_MAX,
};

/* What the live source counted of itself (health.h), for a replay's stats. */
struct rec_health {
	__u64 events, events_lost;
	__u64 flows_opened, flows_evicted_kernel, flow_map_full;
	__u64 nic_flows_opened, flows_evicted_nic, nic_unparsed;
	__u64 sockets_scanned, scan_errors;
	__u64 netns_scanned, netns_unresolved, netns_evicted;
	__u64 attach_us;
	__u32 classic;
	__u32 _pad;
};

/*
 * A sample is mostly what the one before it held: idle sockets and a NIC
 * map whose records are never deleted (8192 of them after a busy hour)
 * are read again every tick. A run of records unchanged since the
 * previous sample, in the same order, is written as one REC_REPEAT:
 * "records start .. start + count - 1 of the previous sample again"; a
 * socket's snapshot differs only by the tick count it was read at,
 * carried here. The previous sample is what came between the two REC_LOST
 * before this one.
 */
struct rec_repeat {
	__u16 type;		/* REC_SOCKET or REC_NIC */
	__u16 _pad;
	__u32 start;
	__u32 count;
	__u32 now_jiffies;	/* REC_SOCKET: tt_sock_scan.now_jiffies of each */
};

struct rec_cgroup {
	__u64 id;
	__u16 path_len, pod_len;
	__u32 _pad;
};

struct rec_check {
	__u32 crc;		/* CRC-32 (zlib's) of the chunk's frames before this one */
	__u32 frames;		/* how many */
};

/* REC_HEADER fields: u16 tag, u16 length, value. Unknown tags are skipped. */
enum rec_tag {
	TAG_HOSTNAME = 1,	/* string */
	TAG_KERNEL,		/* string: uname release */
	TAG_MACHINE,		/* string: uname machine */
	TAG_BOOT_ID,		/* string: /proc/sys/kernel/random/boot_id */
	TAG_VERSION,		/* string: the tracer's version */
	TAG_COMMAND,		/* string: its command line */
	TAG_MONO_TO_REAL,	/* s64: add to a frame's time for wall time (ns) */
	TAG_OPTION,		/* u32 enum rec_opt, u64 value */
	TAG_NIC_INGRESS,	/* u8: the NIC hooks counted arrivals */
	TAG_DROP_REASON,	/* u32 value, u8 enum drop_class, the kernel's name */
	TAG_NETNS,		/* string: --netns, when given */
	TAG_SIZES,		/* u32 x3: sizeof tt_event, tt_sock_scan, nic_flow */
	TAG_WALL_START,		/* s64: CLOCK_REALTIME ns when recording began */
	TAG_HZ,			/* u32: the kernel's tick rate, the socket clocks' unit (0: learned) */
};

/* The options that change what the engine concludes, by number. */
enum rec_opt {
	OPT_REC_INTERVAL_MS = 1,
	OPT_REC_STALL_MS,
	OPT_REC_LOSS_PCT,
	OPT_REC_SYN_RETRANS,
	OPT_REC_FOLD_S,
	OPT_REC_CONN_INTERVAL_S,
	OPT_REC_MAX_FLOWS,
	OPT_REC_DURATION_MS,
	OPT_REC_PORT,
	OPT_REC_MAX,
};

#define REC_STR_MAX	256

/* What a recording says about itself. */
struct rec_header {
	__u32 version;
	char hostname[REC_STR_MAX];
	char kernel[REC_STR_MAX];
	char machine[64];
	char boot_id[64];
	char tracer_version[64];
	char command[1024];
	char netns[REC_STR_MAX];
	long long mono_to_real_ns;
	long long wall_start_ns;
	unsigned long opt[OPT_REC_MAX];
	__u32 opt_set;			/* 1 << enum rec_opt present */
	bool nic_ingress;
	__u32 hz;			/* 0: not recorded, the engine learns it */
	__u32 n_drop;			/* drop reasons known: values 0 .. n_drop - 1 */
	__u8 *drop_class;		/* enum drop_class by value */
	char (*drop_name)[DIAG_REASON_LEN];	/* "" where unnamed */
	__u32 size_event, size_sock, size_nic;
};

/* ---------------------------------------------------------------- writer */

struct recorder;

/* What the header says, from the live run. */
struct rec_source_info {
	const struct options *opts;
	const struct engine_config *cfg;	/* drop classes, NIC ingress, HZ */
	const char *(*drop_reason_name)(unsigned int reason);
	long long mono_to_real_ns;		/* the output's, so replay prints the same times */
	int argc;
	char **argv;
	/* Tests: another machine's (NULL: this one's). */
	const char *hostname, *boot_id;
};

/* Creates path (the user's to fix when it cannot be: NULL after saying so). */
struct recorder *recorder_open(const char *path);
/* Writes the preamble and the header; -errno after saying why. */
int recorder_begin(struct recorder *r, const struct rec_source_info *info);
/* Ends the stream and closes the file; false when data was lost (said). */
bool recorder_close(struct recorder *r);
/* Bytes written to the file so far (compressed). */
__u64 recorder_bytes(const struct recorder *r);

/* What the pipeline feeds the engine, as it feeds it. */
void recorder_event(struct recorder *r, const struct tt_event *ev);
void recorder_socket(struct recorder *r, const struct tt_sock_scan *s, __u64 now_ns);
void recorder_scan_end(struct recorder *r, __u64 now_ns);
void recorder_nic(struct recorder *r, const struct flow_key *key,
		  const struct nic_flow *nf, __u64 now_ns);
/* REC_START, REC_TICK, REC_LOOP_END, REC_FINISH. */
void recorder_mark(struct recorder *r, enum rec_type type, __u64 now_ns);
/* The source's own counts at this tick (before its sample ends). */
void recorder_health(struct recorder *r, __u64 now_ns, const struct health_report *h);
/* The name of a cgroup id (path "": not found; pod "": none). */
void recorder_cgroup(struct recorder *r, __u64 now_ns, __u64 id, const char *path,
		     const char *pod);
/* The sample is over with this many events lost so far: the chunk is
 * checked and the stream flushed to the file. */
void recorder_lost(struct recorder *r, __u64 now_ns, __u64 lost);

/* ---------------------------------------------------------------- reader */

struct rec_reader;

/* One record as the engine takes it. */
struct rec_item {
	enum rec_type type;	/* REC_START .. REC_FINISH; never CHECK or REPEAT */
	__u64 ts_ns;
	union {
		struct tt_event ev;
		struct tt_sock_scan sock;
		struct {
			struct flow_key key;
			struct nic_flow nf;
		} nic;
		__u64 lost;
		struct rec_health health;
		struct {
			__u64 id;
			char path[CGROUP_PATH_MAX];
			char pod[CGROUP_NAME_MAX];
		} cgroup;
	};
};

enum rec_status {
	REC_OK = 0,		/* so far so good */
	REC_TRUNCATED,		/* the file ends mid-stream: a tracer killed or a copy cut short */
	REC_CORRUPT,		/* a checksum or the stream's structure is wrong */
	REC_UNREADABLE,		/* empty, foreign, a future version, unreadable */
};

/*
 * Opens a recording and reads its header. NULL when the file cannot be
 * replayed at all: *why (static or in the reader's buffer) says why in
 * one line without the file's name.
 */
struct rec_reader *rec_open(const char *path, char *why, size_t why_len);
/* The same over bytes in memory (tests, the fuzzer); the caller keeps buf. */
struct rec_reader *rec_open_mem(const void *buf, size_t len, char *why, size_t why_len);
const struct rec_header *rec_header(const struct rec_reader *r);
/*
 * The next record: 1, or 0 at the end of what can be read. At the end,
 * rec_status says whether the recording was whole, and rec_why why not.
 */
int rec_next(struct rec_reader *r, struct rec_item *it);
enum rec_status rec_status(const struct rec_reader *r);
const char *rec_why(const struct rec_reader *r);
/* Frames delivered, and the time of the last: where a damage sits. */
__u64 rec_last_ts(const struct rec_reader *r);
/* A complete recording: REC_FINISH was read. */
bool rec_finished(const struct rec_reader *r);
void rec_close(struct rec_reader *r);

/* The recorded value of an option, or dflt when the header lacks it. */
unsigned long rec_option(const struct rec_header *h, enum rec_opt opt, unsigned long dflt);

/* ---------------------------------------------------------------- the header (record_header.c) */

/* The header's fields for a live run, malloc'ed in *buf; -ENOMEM. */
int rec_header_build(const struct rec_source_info *in, unsigned char **buf, size_t *len);
/* Reads them into h (its drop tables allocated); REC_OK, or why not in *why. */
enum rec_status rec_header_parse(struct rec_header *h, const unsigned char *p, size_t n,
				 const char **why);
void rec_header_free(struct rec_header *h);

#endif /* TCPTRACE_RECORD_H */
