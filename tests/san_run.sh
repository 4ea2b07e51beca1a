#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Run a test under the sanitizers (the `make san` builds in build/san):
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer all stop at
# their first report, and the environment carries their options to every
# program the test starts (the lab's tracers too). Each result line is
# renamed "san/<name>", so tests/run.sh counts it beside the plain run's,
# and a report, which the test itself cannot see, becomes a FAIL line
# naming the first error.
#
# USAGE
#   tests/san_run.sh NAME CMD...
#
# Prints the test's output; exit status: the test's.

set -u
name=$1
shift

# shellcheck source=tests/san_env.sh
. "$(dirname "$0")/san_env.sh"

out=$(mktemp "${TMPDIR:-/tmp}/tcptrace-san.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

"$@" 2>&1 | tee "$out" | sed -E 's/^(PASS|FAIL|SKIP) /\1 san\//'
rc=${PIPESTATUS[0]}

report=$(san_report "$out")
if [ -n "$report" ]; then
	echo "FAIL san/$name: ${report#*: }"
	[ "$rc" -eq 0 ] && rc=1
fi
exit "$rc"
