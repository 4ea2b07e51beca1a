// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcptrace-bpf lab [SCENARIO...]: build the test suite's two-service lab,
 * cause each fault in turn and show what the tracer said about it.
 *
 * Nothing of the lab is written twice: the topology and the faults are
 * tests/lab/lib.sh and scenarios.sh, the client and server are tests/peer.c,
 * and tests/lab/demo.sh drives them for a reader instead of a test runner.
 * This finds those files (installed by `make install`, or in the build tree)
 * and runs the driver in its place, with this very binary as the tracer.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "lab.h"
#include "report.h"

/* How many parents of the binary's directory may hold the source tree:
 * build/tcptrace-bpf and build/san/tcptrace-bpf (make san). */
#define LAB_TREE_DEPTH	3

static const char lab_doc[] =
"Build a two-service lab in network namespaces (service-a -- router -- service-b), "
"cause each fault in turn, run the tracer on the host that sees it, and print "
"the fault beside the diagnosis. Everything is removed on exit and on Ctrl-C.\n"
"\n"
"USAGE: tcptrace-bpf lab [--ipv6] [SCENARIO...]   every scenario unless named\n"
"       tcptrace-bpf lab --list                  the scenarios, one line each\n"
"\n"
"Exit status: 0 when every fault was diagnosed, 1 when one was not (or the lab "
"could not be built), 2 on a usage error.\n"
"\n"
"EXAMPLES:\n"
"    sudo tcptrace-bpf lab                # every fault the lab can cause\n"
"    sudo tcptrace-bpf lab refused crash  # two of them\n"
"    sudo tcptrace-bpf lab --ipv6 hang    # over IPv6\n"
"\vThe lab needs root, iproute2 (ip, tc), nftables and jq.";

static const struct argp_option lab_options[] = {
	{ "list", 'l', NULL, 0, "Name the scenarios and the fault each causes, and exit", 0 },
	{ "ipv6", '6', NULL, 0, "Run the scenarios over IPv6 (fd00:1::5 -- fd00:2::10)", 0 },
	{},
};

struct lab_args {
	bool list;
	bool ipv6;
	char **names;
	int n_names;
};

static error_t lab_parse(int key, char *arg, struct argp_state *state)
{
	struct lab_args *a = state->input;

	switch (key) {
	case 'l':
		a->list = true;
		break;
	case '6':
		a->ipv6 = true;
		break;
	case ARGP_KEY_ARGS:
		a->names = state->argv + state->next;
		a->n_names = state->argc - state->next;
		break;
	case ARGP_KEY_END:
		if (a->list && a->n_names)
			argp_error(state, "--list takes no scenario");
		break;
	default:
		(void)arg;
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static bool is_file(const char *path)
{
	return access(path, R_OK) == 0;
}

static bool is_exec(const char *path)
{
	return access(path, X_OK) == 0;
}

int lab_locate(const char *exe, char *driver, size_t driver_len, char *peer, size_t peer_len,
	       char *why, size_t why_len)
{
	char dir[PATH_MAX], tree[PATH_MAX];
	const char *slash = strrchr(exe, '/');
	size_t n;

	if (!slash) {
		snprintf(why, why_len, "'%s' is not a path", exe);
		return -1;
	}
	n = slash - exe;
	if (n >= sizeof(dir)) {
		snprintf(why, why_len, "the binary's path is too long");
		return -1;
	}
	memcpy(dir, exe, n);
	dir[n] = '\0';

	/* Installed: $(PREFIX)/sbin/tcptrace-bpf. */
	snprintf(driver, driver_len, "%s/../share/tcptrace-bpf/lab/demo.sh", dir);
	snprintf(peer, peer_len, "%s/../libexec/tcptrace-bpf/peer", dir);
	if (is_file(driver)) {
		if (is_exec(peer))
			return 0;
		snprintf(why, why_len, "the lab's peer program %s is missing (hint: make install "
			 "installs it with the scripts)", peer);
		return -1;
	}

	/* The build tree: TOP/build/tcptrace-bpf and TOP/build/peer. */
	snprintf(tree, sizeof(tree), "%s", dir);
	for (int depth = 1; depth <= LAB_TREE_DEPTH; depth++) {
		size_t len = strlen(tree);

		if (len + sizeof("/..") > sizeof(tree))
			break;
		strcat(tree, "/..");
		snprintf(driver, driver_len, "%s/tests/lab/demo.sh", tree);
		if (!is_file(driver))
			continue;
		snprintf(peer, peer_len, "%s/peer", dir);
		if (is_exec(peer))
			return 0;
		snprintf(peer, peer_len, "%s/build/peer", tree);
		if (is_exec(peer))
			return 0;
		snprintf(why, why_len, "the lab's peer program is not built (hint: make all)");
		return -1;
	}
	snprintf(why, why_len, "cannot find the lab beside %s: no %s/../share/tcptrace-bpf/lab "
		 "nor a source tree's tests/lab (hint: make install installs it with the binary)",
		 exe, dir);
	return -1;
}

int lab_main(int argc, char **argv)
{
	static const struct argp argp = { lab_options, lab_parse, "[SCENARIO...]", lab_doc,
					   NULL, NULL, NULL };
	struct lab_args a = { 0 };
	char exe[PATH_MAX], driver[PATH_MAX + 64], peer[PATH_MAX + 64], why[PATH_MAX * 2];
	char real[PATH_MAX];
	char **args;
	ssize_t n;
	int i = 0;

	argp_err_exit_status = EXIT_USAGE;
	argp_parse(&argp, argc, argv, 0, NULL, &a);

	/* The binary itself, not argv[0]: it is the tracer the lab runs. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		report_error("lab: cannot find this binary (/proc/self/exe: %s) (hint: is /proc "
			     "mounted?)", strerror(errno));
		return EXIT_RUNTIME;
	}
	exe[n] = '\0';
	if (lab_locate(exe, driver, sizeof(driver), peer, sizeof(peer), why, sizeof(why))) {
		report_error("lab: %s", why);
		return EXIT_RUNTIME;
	}
	/* Without the "sbin/../" the driver's messages would carry. */
	if (realpath(driver, real))
		snprintf(driver, sizeof(driver), "%s", real);
	if (realpath(peer, real))
		snprintf(peer, sizeof(peer), "%s", real);
	if (setenv("TCPTRACE", exe, 1) || setenv("PEER", peer, 1)) {
		report_error("lab: %s", strerror(errno));
		return EXIT_RUNTIME;
	}

	args = calloc(a.n_names + 5, sizeof(*args));
	if (!args) {
		report_error("lab: out of memory");
		return EXIT_RUNTIME;
	}
	args[i++] = "bash";
	args[i++] = driver;
	if (a.list)
		args[i++] = "--list";
	if (a.ipv6)
		args[i++] = "--ipv6";
	for (int k = 0; k < a.n_names; k++)
		args[i++] = a.names[k];
	args[i] = NULL;
	/*
	 * Ctrl-C and SIGTERM must reach the driver's traps, which remove the
	 * lab: a shell cannot trap a signal ignored when it started (as a
	 * background job of a script is started with SIGINT ignored). The
	 * tracer itself honours both whatever it inherits.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	/* Output so far goes out before the driver's. */
	fflush(NULL);
	execvp("bash", args);
	report_error("lab: cannot run bash: %s (hint: the lab's driver is a bash script)",
		     strerror(errno));
	free(args);
	return EXIT_RUNTIME;
}
