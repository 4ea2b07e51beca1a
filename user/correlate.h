/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tcptrace-bpf correlate FILE_A FILE_B: the recordings of the two ends of
 * the same connections, joined: where did the packets stop?
 */
#ifndef TCPTRACE_CORRELATE_H
#define TCPTRACE_CORRELATE_H

/* The exit code. */
int correlate_main(int argc, char **argv);

#endif /* TCPTRACE_CORRELATE_H */
