/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The catalogue: the map of the engine, one entry per diagnosis. An entry
 * says what the code is called, how severe it is, which judge decides it
 * (judge.h) and which words tell it (words.h). The entries stand in the
 * order flows are judged in: the handshake's failures, then broken
 * connections, then absence.
 *
 * A new diagnosis is a code in diagnose.h, an entry here, its judge and
 * its words.
 */
#ifndef TCPTRACE_CATALOGUE_H
#define TCPTRACE_CATALOGUE_H

#include "diagnose.h"
#include "judge.h"
#include "words.h"

struct diag_entry {
	enum diag_code code;
	const char *name;		/* the JSON "code", a metric label */
	enum diag_severity severity;	/* unless severity_of says otherwise */
	/* The severity of one diagnosis from its evidence; NULL: severity. */
	enum diag_severity (*severity_of)(const struct diagnosis *d);
	judge_flow_fn judge;		/* per flow; NULL: none */
	/*
	 * Once more, after judge said yes, when the story has an end the
	 * first verdict could only announce (the kernel gave up and the
	 * application got its error); NULL: said once and for all.
	 */
	judge_flow_fn judge_final;
	judge_listener_fn judge_listener;	/* per listening port; NULL: none */
	judge_event_fn judge_event;	/* per flowless event; NULL: none */
	/* Judged on absence: only on flows the last scan still reported
	 * (a judge with other evidence too reads judge_in.scan_current). */
	bool needs_scan;
	/*
	 * A refused handshake: one peer probing many ports of one host folds
	 * into one report by the pair of addresses (fold.c), since the port
	 * it names is then no service anyone needs.
	 */
	bool folds_port_scans;
	words_fn words;
};

extern const struct diag_entry diag_catalogue[DIAG_CODE_MAX];

/* The entry of a code, or NULL for a code this build does not know. */
const struct diag_entry *diag_entry_of(enum diag_code code);
/* The severity of d by its entry's rule. */
enum diag_severity diag_severity_of(const struct diagnosis *d);

#endif /* TCPTRACE_CATALOGUE_H */
