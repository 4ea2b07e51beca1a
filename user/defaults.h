/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every default the user can change, in one place: the options start from
 * them, --help states them (as text: they are plain numbers so the
 * preprocessor can spell them), and the engine's own defaults (a replay,
 * the unit tests) are the same.
 */
#ifndef TCPTRACE_DEFAULTS_H
#define TCPTRACE_DEFAULTS_H

#define DEFAULT_INTERVAL_MS		1000	/* socket scan and judging */
#define DEFAULT_STALL_MS		5000	/* no answer / no read / zero window */
#define DEFAULT_LOSS_PCT		2	/* retransmitted share of data segments */
#define DEFAULT_SYN_RETRANS		2	/* SYN retransmits that make SYN_UNANSWERED */
#define DEFAULT_FOLD_S			60	/* repeats within it fold into one report */
#define DEFAULT_CONN_INTERVAL_S		60	/* conn and stats records of open flows */
#define DEFAULT_MAX_FLOWS		65536	/* flows the engine holds */
#define DEFAULT_METRICS_ADDR		"127.0.0.1"	/* --metrics PORT binds here */
#define DEFAULT_METRICS_MAX_ENDPOINTS	500	/* remote endpoints with series */
#define DEFAULT_METRICS_TTL_S		300	/* an endpoint's series outlive its last record */

/* Not options (yet): what the loss and stall judges also need. */
#define DEFAULT_LOSS_MIN_RETRANS	3	/* fewer retransmits are never loss */
#define DEFAULT_REQUEST_MAX_BYTES	65536	/* a larger send burst is a stream */

#define DEFAULT_STR_(x)	#x
/* A default as text, for --help: DEFAULT_STR(DEFAULT_STALL_MS) is "5000". */
#define DEFAULT_STR(x)	DEFAULT_STR_(x)

#endif /* TCPTRACE_DEFAULTS_H */
