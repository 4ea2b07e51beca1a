// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The catalogue of diagnoses (the brief's section 3): one entry each, in
 * the order a flow is judged, which is the order a flow's diagnoses of
 * one tick are raised in.
 */
#include <string.h>
#include "catalogue.h"

const struct diag_entry diag_catalogue[DIAG_CODE_MAX] = {
	/* The handshake failed. */
	{
		.code = DIAG_CONNECTION_REFUSED, .name = "CONNECTION_REFUSED",
		.severity = SEV_ERROR,
		.judge = judge_connection_refused,
		.folds_port_scans = true,
		.words = words_connection_refused,
	}, {
		.code = DIAG_SYN_UNANSWERED, .name = "SYN_UNANSWERED",
		.severity = SEV_ERROR,
		.judge = judge_syn_unanswered,
		.words = words_syn_unanswered,
	}, {
		/* A scan knocks once; a client that needs the port retries. */
		.code = DIAG_PORT_CLOSED, .name = "PORT_CLOSED",
		.severity = SEV_INFO, .severity_of = severity_of_port_closed,
		.judge = judge_port_closed,
		.folds_port_scans = true,
		.words = words_port_closed,
	}, {
		/* A queue here that keeps dropping is a bottleneck, no refusal. */
		.code = DIAG_LOCAL_DROP, .name = "LOCAL_DROP",
		.severity = SEV_ERROR, .severity_of = severity_of_local_drop,
		.judge = judge_local_drop,
		.words = words_local_drop,
	}, {
		.code = DIAG_NO_ROUTE, .name = "NO_ROUTE",
		.severity = SEV_ERROR,
		.judge = judge_no_route,
		.judge_event = judge_connect_no_route,
		.words = words_no_route,
	}, {
		.code = DIAG_LISTEN_OVERFLOW, .name = "LISTEN_OVERFLOW",
		.severity = SEV_ERROR,
		.judge = judge_listen_overflow,
		.judge_listener = judge_listener_full,
		.words = words_listen_overflow,
	}, {
		.code = DIAG_FIREWALL_REJECT, .name = "FIREWALL_REJECT",
		.severity = SEV_ERROR,
		.judge = judge_firewall_reject,
		.words = words_firewall_reject,
	}, {
		.code = DIAG_HOST_UNREACHABLE, .name = "HOST_UNREACHABLE",
		.severity = SEV_ERROR,
		.judge = judge_host_unreachable,
		.words = words_host_unreachable,
	}, {
		.code = DIAG_NAT_MISMATCH, .name = "NAT_MISMATCH",
		.severity = SEV_ERROR,
		.judge = judge_nat_mismatch,
		.words = words_nat_mismatch,
	},

	/* An established connection broke or suffers. */
	{
		.code = DIAG_PMTU_BLACKHOLE, .name = "PMTU_BLACKHOLE",
		.severity = SEV_ERROR,
		.judge = judge_pmtu_blackhole,
		.words = words_pmtu_blackhole,
	}, {
		.code = DIAG_CONNECTION_TIMEOUT, .name = "CONNECTION_TIMEOUT",
		.severity = SEV_ERROR,
		.judge = judge_connection_timeout,
		.judge_final = judge_connection_timed_out,
		.words = words_connection_timeout,
	}, {
		/* A note when it cut nothing off (a pool's SO_LINGER 0). */
		.code = DIAG_PEER_RESET, .name = "PEER_RESET",
		.severity = SEV_ERROR, .severity_of = severity_of_reset,
		.judge = judge_peer_reset,
		.words = words_peer_reset,
	}, {
		.code = DIAG_LOCAL_RESET, .name = "LOCAL_RESET",
		.severity = SEV_ERROR, .severity_of = severity_of_reset,
		.judge = judge_local_reset,
		.words = words_local_reset,
	}, {
		/* Raised per death, not per flow (judge_killed.c). */
		.code = DIAG_PROCESS_KILLED, .name = "PROCESS_KILLED",
		.severity = SEV_ERROR, .severity_of = severity_of_killed,
		.words = words_process_killed,
	}, {
		.code = DIAG_PACKET_LOSS, .name = "PACKET_LOSS",
		.severity = SEV_WARNING,
		.judge = judge_packet_loss,
		.words = words_packet_loss,
	},

	/* Absence, seen by comparing snapshots (and a request given up on). */
	{
		.code = DIAG_PEER_APP_STALL, .name = "PEER_APP_STALL",
		.severity = SEV_WARNING,
		.judge = judge_peer_app_stall,
		.words = words_peer_app_stall,
	}, {
		.code = DIAG_LOCAL_APP_STALL, .name = "LOCAL_APP_STALL",
		.severity = SEV_WARNING,
		.judge = judge_local_app_stall,
		.words = words_local_app_stall,
	}, {
		.code = DIAG_ZERO_WINDOW, .name = "ZERO_WINDOW",
		.severity = SEV_WARNING,
		.judge = judge_zero_window, .needs_scan = true,
		.words = words_zero_window,
	},
};

const struct diag_entry *diag_entry_of(enum diag_code code)
{
	for (size_t i = 0; i < DIAG_CODE_MAX; i++)
		if (diag_catalogue[i].code == code && diag_catalogue[i].name)
			return &diag_catalogue[i];
	return NULL;
}

const char *diag_code_name(enum diag_code code)
{
	const struct diag_entry *entry = diag_entry_of(code);

	return entry ? entry->name : "UNKNOWN";
}

enum diag_severity diag_severity_of(const struct diagnosis *d)
{
	const struct diag_entry *entry = diag_entry_of(d->code);

	if (!entry)
		return SEV_ERROR;
	return entry->severity_of ? entry->severity_of(d) : entry->severity;
}

const char *diag_severity_name(enum diag_severity sev)
{
	switch (sev) {
	case SEV_INFO:
		return "info";
	case SEV_WARNING:
		return "warning";
	case SEV_ERROR:
		return "error";
	}
	return "unknown";
}

bool diag_evidence_get(const struct diagnosis *d, const char *name,
		       long long *value)
{
	unsigned int i;

	for (i = 0; i < d->n_evidence && i < DIAG_MAX_EVIDENCE; i++) {
		if (d->evidence[i].name && !strcmp(d->evidence[i].name, name)) {
			if (value)
				*value = d->evidence[i].value;
			return true;
		}
	}
	return false;
}
