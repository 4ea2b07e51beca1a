/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The words of a diagnosis, rendered at the output stage from its code,
 * flow, evidence and named party: a one-sentence summary, the likely
 * causes (the seven common causes of a broken service-to-service call)
 * and concrete commands to check them, with the diagnosis' addresses and
 * ports filled in. Pure string work: no I/O.
 *
 * Each code's words live in the words_*.c file of its family, named by
 * its catalogue entry; this header is their toolbox too.
 */
#ifndef TCPTRACE_WORDS_H
#define TCPTRACE_WORDS_H

#include <stdbool.h>
#include <stddef.h>
#include "diagnose.h"

#define DIAG_MAX_CAUSES		4
#define DIAG_MAX_CHECKS		4
#define DIAG_TEXT_LEN		256

/* Longest address text: an IPv6 address with an IPv4 tail, plus NUL. */
#define TT_ADDR_STRLEN	46

struct diag_words {
	/* What it names besides the flow: the kernel's drop reason, the
	 * router that answered, where a NAT-ed reply came from; "" if none. */
	char reason[DIAG_REASON_LEN];
	char summary[DIAG_TEXT_LEN];
	unsigned int n_causes;
	char causes[DIAG_MAX_CAUSES][DIAG_TEXT_LEN];
	unsigned int n_checks;
	char checks[DIAG_MAX_CHECKS][DIAG_TEXT_LEN];
};

/* The words of d. */
void diag_words(const struct diagnosis *d, struct diag_words *w);

/* "10.0.2.10" or "2001:db8::10" for the first 4 or 16 bytes of addr. */
const char *tt_addr_str(__u16 family, const __u8 addr[16], char *buf, size_t len);
const char *tt_side_name(enum tt_side side);
const char *tt_state_name(__u8 state);
/* What a kernel enum sk_rst_reason value means, in words. */
const char *tt_rst_reason_text(__u32 reason);

/* ---- for the words of each diagnosis ---------------------------------- */

/* Everything a text needs of the flow, formatted once. */
struct words_names {
	bool v6;
	unsigned int lport, rport;
	char laddr[TT_ADDR_STRLEN];
	char raddr[TT_ADDR_STRLEN];
	char lend[TT_ADDR_STRLEN + 8];	/* "10.0.2.10:8080", "[2001:db8::1]:80" */
	char rend[TT_ADDR_STRLEN + 8];
	char proc[TT_COMM_LEN + 24];	/* "curl (pid 1234)" or "" */
};

/* Fills w's summary, causes and checks; w->reason is already set, and
 * may be given a default here. */
typedef void (*words_fn)(const struct diagnosis *d, const struct words_names *n,
			 struct diag_words *w);

void words_summary(struct diag_words *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void words_cause(struct diag_words *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void words_check(struct diag_words *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The named evidence of d, or dflt when d does not carry it. */
long long words_ev(const struct diagnosis *d, const char *name, long long dflt);
/* "250ms", "3.0s", "2m05s": durations as a person reads them. */
const char *words_duration(long long ms, char *buf, size_t len);
/* "once", "3 times". */
const char *words_times(long long n, char *buf, size_t len);
/* "ECONNREFUSED" for the errors a connection gives; "an error" otherwise. */
const char *words_errno(int err);

/* The words of each code, by family (named in catalogue.c). */
void words_syn_unanswered(const struct diagnosis *d, const struct words_names *n,
			  struct diag_words *w);
void words_connection_refused(const struct diagnosis *d, const struct words_names *n,
			      struct diag_words *w);
void words_port_closed(const struct diagnosis *d, const struct words_names *n,
		       struct diag_words *w);

void words_no_route(const struct diagnosis *d, const struct words_names *n,
		    struct diag_words *w);
void words_host_unreachable(const struct diagnosis *d, const struct words_names *n,
			    struct diag_words *w);
void words_firewall_reject(const struct diagnosis *d, const struct words_names *n,
			   struct diag_words *w);
void words_nat_mismatch(const struct diagnosis *d, const struct words_names *n,
			struct diag_words *w);

void words_packet_loss(const struct diagnosis *d, const struct words_names *n,
		       struct diag_words *w);
void words_pmtu_blackhole(const struct diagnosis *d, const struct words_names *n,
			  struct diag_words *w);
void words_connection_timeout(const struct diagnosis *d, const struct words_names *n,
			      struct diag_words *w);

void words_peer_app_stall(const struct diagnosis *d, const struct words_names *n,
			  struct diag_words *w);
void words_local_app_stall(const struct diagnosis *d, const struct words_names *n,
			   struct diag_words *w);
void words_zero_window(const struct diagnosis *d, const struct words_names *n,
		       struct diag_words *w);

void words_peer_reset(const struct diagnosis *d, const struct words_names *n,
		      struct diag_words *w);
void words_local_reset(const struct diagnosis *d, const struct words_names *n,
		       struct diag_words *w);

void words_process_killed(const struct diagnosis *d, const struct words_names *n,
			  struct diag_words *w);
/* "SIGKILL" for a signal number; "signal N" for one without a name here. */
const char *words_signal(int sig, char *buf, size_t len);

void words_local_drop(const struct diagnosis *d, const struct words_names *n,
		      struct diag_words *w);
void words_listen_overflow(const struct diagnosis *d, const struct words_names *n,
			   struct diag_words *w);

#endif /* TCPTRACE_WORDS_H */
