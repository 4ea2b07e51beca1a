# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# The sanitizers' options for the `make san` builds (build/san), sourced by
# tests/san_run.sh and tests/run.sh; exported, so every program a test
# starts (the lab's tracers too) gets them. Programs built without the
# sanitizers ignore them.
#
# halt_on_error: the first report ends the program with a nonzero status
# (a leak report with 23): the tracer is a daemon left running for days,
# and a leak is a failure like an overflow. detect_stack_use_after_return
# stays off: its fake stacks double the tracer's memory for little here.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# tests/lsan.supp says why it holds no suppression of our own code.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lsan.supp:print_suppressions=0}

# san_report FILE...: the first sanitizer report in the files, or nothing:
# "ERROR: AddressSanitizer: heap-buffer-overflow on ..." or
# "file.c:12:5: runtime error: signed integer overflow ...".
san_report() {
	grep -h -m1 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$@" 2>/dev/null | head -n 1
}
