#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The vmtest guest's tests, run by tests/vm/init (chrooted into this
# machine's root, shared read-only over 9p) on the kernel under test:
#   1. the tracer's own report of what this kernel gives it (--check), or,
#      where the build has no --check yet, a short host-wide run: does it
#      load and attach at all;
#   2. the lab, tests/lab/scenarios.sh, on the guest's namespaces.
#
# USAGE (by init, not by hand)
#   guest.sh RUN NAME JOBS FAMILIES KEEP SCENARIO...
#   RUN: the run directory (the host's, writable here through its share);
#   NAME: the run's label (vm6.1); FAMILIES: comma-separated (v4,v6);
#   KEEP: 1 to copy the lab's run directory into RUN, 0 not to
#
# Result lines ("PASS check", "FAIL lab/crash/v4: why" and the lab's
# indented details) are appended to RUN/results one write a line, for
# the host to prefix and print as they come; everything else goes to
# RUN/guest.log and the console. RUN/done, written last, says the
# tests ran to their end (their status inside).

set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1

run=$1 name=$2 jobs=$3 families=${4//,/ } keep=$5
shift 5
results=$run/results
log=$run/guest.log
bin=build/tcptrace-bpf
t0=$SECONDS

# result LINE: one result line, for the host (one write) and the console
result() {
	printf '%s\n' "$1" >>"$results"
	printf '%s\n' "$1"
}

# note TEXT: the guest log and the console
note() {
	printf '%s\n' "$*" >>"$log"
	printf '%s\n' "$*"
}

note "# $name: $(uname -r), $(nproc) CPUs, up $(cut -d' ' -f1 /proc/uptime) s"

# ------------------------------------------------------------ tracer
# Its loading is what differs most between kernels (tracepoint arguments,
# hooks that do not exist): say why in the result line.
t=$SECONDS
if "$bin" --help 2>&1 | grep -q -- '--check'; then
	timeout 180 "$bin" --check >"/tmp/check.out" 2>&1
	rc=$?
	cat /tmp/check.out >>"$log"
	cat /tmp/check.out
	if [ "$rc" -eq 0 ]; then
		result "PASS check"
	else
		why=$(grep -m 1 -i -E 'error|fail|cannot|refus' /tmp/check.out ||
		      tail -n 1 /tmp/check.out)
		result "FAIL check: --check exited with status $rc: $why"
	fi
else
	# no --check in this build: a host-wide run of 2 s must attach
	# (the guest has no NIC: no interface hook, only the tracepoints)
	timeout 180 "$bin" -d 2 >"/tmp/load.out" 2>&1
	rc=$?
	cat /tmp/load.out >>"$log"
	cat /tmp/load.out
	if [ "$rc" -eq 0 ] && grep -q 'tcptrace-bpf: tracing' /tmp/load.out; then
		result "PASS load"
	else
		# the error, not the notes before it
		why=$(grep -E '^tcptrace-bpf: ' /tmp/load.out | grep -v -E '^tcptrace-bpf: (note|tracing)' |
		      tail -n 1)
		result "FAIL load: the tracer exited with status $rc: ${why:-$(tail -n 1 /tmp/load.out)}"
		# why, for whoever reads the guest log (the verifier's log)
		note "# $name: the same with -v:"
		# the verifier's logs and the errors, not libbpf's chatter
		timeout 180 "$bin" -v -d 1 2>&1 | awk '
			/BEGIN PROG LOAD LOG/ { inlog = 1 }
			inlog || !/^libbpf: / || /failed|refused/ { print }
			/END PROG LOAD LOG/ { inlog = 0 }' | head -n 300 >>"$log"
	fi
fi
note "# $name: tracer check took $((SECONDS - t)) s"

# ------------------------------------------------------------ other tests
# VM_TESTS (vmtest.sh's): scripts whose PASS/FAIL/SKIP lines are results,
# the privilege test's for one (what a kernel before 6.5/6.6 keeps).
for test in ${VM_TESTS:-}; do
	t=$SECONDS
	timeout 600 "$test" 2>>"$log" | while IFS= read -r line; do
		case "$line" in
		PASS* | FAIL* | SKIP*) result "$line" ;;
		*) note "$line" ;;
		esac
	done
	note "# $name: $test took $((SECONDS - t)) s"
done

# ------------------------------------------------------------ lab
t=$SECONDS
rc=0
if [ "$#" -gt 0 ]; then
	# stdout: results and their indented details; stderr: the lab's log
	# Under TCG a tracer verifies ~20x slower than on the host: 8 loading
	# at once on 5.10 take ~50 s each, past the host's 90 s budget with
	# their servers' start.
	# LAB_EMULATED: checks that need a real CPU's timing skip themselves.
	LAB_EMULATED=1 LAB_READY_TIMEOUT=240 LAB_FAMILIES=$families LAB_JOBS=$jobs LAB_KEEP=${keep#0} \
		tests/lab/scenarios.sh "$@" 2>>"$log" |
		while IFS= read -r line; do
			result "$line"
		done
	rc=${PIPESTATUS[0]}
	note "# $name: lab ($*, $families, $jobs at once) took $((SECONDS - t)) s, status $rc"
	if [ "$keep" = 1 ]; then
		# the guest's /tmp dies with it: the lab's files go to the host
		cp -r /tmp/tcptrace-lab.* "$run/" 2>/dev/null
	fi
fi

note "# $name: guest tests took $((SECONDS - t0)) s"
echo "$rc" >"$run/done"
