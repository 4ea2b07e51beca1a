#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# A fuzzing pass over the recording reader, replay and correlate's view
# (build/fuzz_record, libFuzzer with ASan and UBSan), starting from the
# seed corpus in tests/fuzz/corpus. One result line: PASS with the runs
# done, or FAIL with the input that crashed (kept in build/fuzz-crashes).
#
# Environment: FUZZ_SECONDS (default 20; make fuzz: 600).

set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$top/build/fuzz_record
secs=${FUZZ_SECONDS:-20}

if [ ! -x "$bin" ]; then
	echo "SKIP fuzz/record: $bin is not built (make build/fuzz_record: clang with libFuzzer)"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/tcptrace-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$top/build/fuzz-crashes"
cp "$top"/tests/fuzz/corpus/* "$work/corpus/"
# No leak checks on exit paths that are not leaks: none are expected, so
# leaks count (detect_leaks=1, the default under ASan).
"$bin" -max_total_time="$secs" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$top/build/fuzz-crashes/" "$work/corpus" \
	>"$work/log" 2>&1
rc=$?
runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$work/log")
if [ "$rc" -eq 0 ]; then
	echo "PASS fuzz/record: ${runs:-?} inputs in ${secs} s, no crash, leak or undefined behaviour"
	exit 0
fi
crash=$(grep -o "$top/build/fuzz-crashes/[a-z]*-[0-9a-f]*" "$work/log" | tail -n 1)
echo "FAIL fuzz/record: exit $rc after ${runs:-?} inputs; input kept in ${crash:-build/fuzz-crashes}"
grep -m 20 -E 'ERROR|SUMMARY|#[0-9]+ 0x' "$work/log" | sed 's/^/    | /'
exit 1
