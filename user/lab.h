/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcptrace-bpf lab [SCENARIO...]: the test suite's lab as a first-run demo.
 * The topology, the faults and the peer program are tests/'s own; this
 * finds them beside the binary and hands over to their demo driver.
 */
#ifndef TCPTRACE_LAB_H
#define TCPTRACE_LAB_H

#include <stddef.h>

/*
 * Where the lab's scripts and peer are for the binary at exe: installed
 * (EXE_DIR/../share/tcptrace-bpf/lab, EXE_DIR/../libexec/tcptrace-bpf/peer)
 * or the build tree (a parent of EXE_DIR holding tests/lab, the peer
 * beside the binary or in that tree's build/). 0, or -1 with why said.
 */
int lab_locate(const char *exe, char *driver, size_t driver_len, char *peer, size_t peer_len,
	       char *why, size_t why_len);

/* The subcommand: on success it does not return (the driver runs in its place). */
int lab_main(int argc, char **argv);

#endif /* TCPTRACE_LAB_H */
