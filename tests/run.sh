#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The whole test suite, as `make test` runs it:
#   1. every unit test binary build/test_* (tier 1 and 2), and again as
#      built with the sanitizers (build/san/test_*, tests/san_run.sh),
#   1a. a short fuzzing pass over the recording reader, tests/fuzz/fuzz.sh,
#   1b. the lab's privacy check against files that hold the payload
#       marker, tests/privacy_test.sh, the CLI's fault handling,
#       tests/cli_test.sh, least privilege,
#       tests/privs_test.sh, coexistence with other tools' programs and
#       a second tracer, tests/coexist_test.sh, and the fleet manifests,
#       tests/deploy_test.sh and tests/deploy_caps_test.sh,
#   1c. the CO-RE check, tests/core/run.sh: the BPF object against the BTF
#       of every kernel we support (fetched once from distribution packages),
#   1d. the arm64 build, tests/arm64_test.sh,
#   2. the lab, tests/lab/scenarios.sh (tier 3; root only, else skipped),
#      a few scenarios' tracers the sanitizers' build (LAB_SAN_SCENARIOS),
#      and beside it the demo, `tcptrace-bpf lab`, tests/demo_test.sh,
#   3. a cleanup check: the lab left no namespace, link, nft table, process
#      or run directory behind,
#   3b. the bench's quick version, tests/bench.sh with BENCH_QUICK=1 (root only),
#   4. the tracer and the lab on Debian's 6.1 kernel under qemu (and with
#      VMTEST_510=1 a shorter set on Debian 11's 5.10, the support floor),
#      tests/vm/vmtest.sh (root only, else skipped; VMTEST=0 skips it).
#
# A test reports one line: "PASS name", "FAIL name: why" or "SKIP name: why".
# This script collects them, prints the failures again at the end, and its
# last line is "N passed, N failed, N skipped". Exit 0 iff nothing failed.
#
# USAGE
#   sudo tests/run.sh            everything
#   sudo tests/run.sh crash      unit tests, then the lab's crash scenario only
#
# Environment: TEST_TIMEOUT (seconds per unit binary, default 120),
# CORE_KERNELS (where kernels' BTF is kept, default build/kernels), the
# lab's (see tests/lab/scenarios.sh) and the VM's (tests/vm/vmtest.sh).

set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1

results=$(mktemp "${TMPDIR:-/tmp}/tcptrace-tests.XXXXXX") || exit 1
trap 'rm -f "$results"' EXIT
t0=$SECONDS

# section TITLE: a section's header, with when it started (where the
# suite's minutes go)
section() {
	echo "== $* (at $((SECONDS - t0)) s)"
}

# run NAME CMD...: run one test program, show its output, keep its result
# lines; a program that fails without saying so, or says nothing, fails.
run() {
	local name=$1 out rc
	shift

	out=$(mktemp "${TMPDIR:-/tmp}/tcptrace-test-out.XXXXXX")
	# shown as it runs, kept for the count
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	grep -E '^(PASS|FAIL|SKIP) ' "$out" >>"$results"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out"; then
		if [ "$rc" -eq 124 ]; then
			echo "FAIL $name: timed out" | tee -a "$results"
		else
			echo "FAIL $name: exited with status $rc and no FAIL line" | tee -a "$results"
		fi
	elif ! grep -qE '^(PASS|FAIL|SKIP) ' "$out"; then
		echo "FAIL $name: reported no result" | tee -a "$results"
	fi
	rm -f "$out"
}

# ------------------------------------------------------------ unit tests
found=
for t in build/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case "$t" in *.o | *.d) continue ;; esac
	found=1
	section "$t"
	run "$(basename "$t")" timeout "${TEST_TIMEOUT:-120}" "$t"
done
[ -n "$found" ] || echo "SKIP unit: no build/test_* binary (run make first)" | tee -a "$results"

# ------------------------------------------------------------ fuzzing
# The recording reader, replay and correlate's view, fed mutated
# recordings under ASan and UBSan for FUZZ_SECONDS (20; make fuzz: 600).
section "tests/fuzz/fuzz.sh"
run fuzz tests/fuzz/fuzz.sh

# ------------------------------------------------------------ sanitizers
# The same unit tests built with ASan, LSan and UBSan (make san), each
# stopping at its first report; their results are named san/NAME. The lab
# below runs a few scenarios with the tracer of that build.
found=
for t in build/san/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	case "$t" in *.o | *.d) continue ;; esac
	found=1
	section "$t"
	run "san/$(basename "$t")" tests/san_run.sh "$(basename "$t")" \
		timeout "${SAN_TIMEOUT:-300}" "$t"
done
[ -n "$found" ] || echo "SKIP san: no build/san/test_* binary (make san builds them)" |
	tee -a "$results"
if [ -x build/san/tcptrace-bpf ]; then
	# Representative: resets seen from both ends (events), a stall (scans
	# over time), a drop at the NIC (NIC counters, drop reasons), periodic
	# connection records. They run among the others, in the same lab.
	export LAB_SAN_TRACER=${LAB_SAN_TRACER:-$top/build/san/tcptrace-bpf}
	export LAB_SAN_SCENARIOS=${LAB_SAN_SCENARIOS:-crash hang drop-synack conn-record}
fi

# ------------------------------------------------------------ privacy check
# The lab's check that no output holds a payload byte must be able to
# fail: it is shown files that hold the peers' marker, in every spelling.
section "tests/privacy_test.sh"
run privacy tests/privacy_test.sh

# ------------------------------------------------------------ CLI faults
# Before the lab: it checks that nothing of ours stays attached, which
# the lab's own tracers would make untrue while they run.
section "tests/cli_test.sh"
run cli tests/cli_test.sh

# ------------------------------------------------------------ safe to leave running
# Side by side (each in namespaces of its own, each accounting for exactly
# the programs its tracers hold; after the CLI test, which counts every
# program of ours on the machine):
#   privileges: the three capabilities suffice, the tracer drops what it
#     no longer needs (--user too), events flow on and SIGINT detaches; a
#     missing one is named;
#   coexistence: other tools' XDP, TC and tcx programs on our interface,
#     and a second tracer: nothing of theirs replaced or removed, their
#     drops still happen;
#   deployment: the fleet manifests lint and parse (deploy_test.sh); the
#     minimal DaemonSet has no privileged container, and its capability
#     list alone runs the tracer (deploy_caps_test.sh).
section "tests/privs_test.sh, tests/coexist_test.sh, tests/deploy_test.sh, tests/deploy_caps_test.sh (side by side)"
side=()
run privs tests/privs_test.sh & side+=($!)
run coexist tests/coexist_test.sh & side+=($!)
run deploy tests/deploy_test.sh & side+=($!)
run deploy-caps tests/deploy_caps_test.sh & side+=($!)
wait "${side[@]}"	# these four: nothing else started in the background

# ------------------------------------------------------------ other kernels
# Would the object load on 5.10 ... 6.12? Decided from their BTF, no boot.
section "tests/core/run.sh"
run core tests/core/run.sh

# ------------------------------------------------------------ arm64
# The kernel side built for arm64 (clang only), and the cross-built loader
# where Debian's cross packages are installed (make deps ARCH=arm64).
section "tests/arm64_test.sh"
run arm64 tests/arm64_test.sh

# ------------------------------------------------------------ demo
# `tcptrace-bpf lab`, the lab as a first-run demo (tests/demo_test.sh):
# two scenarios end to end and two interrupted ones, in namespaces and
# with ids of their own, beside the lab (its ~30 s hide in the lab's
# minutes).
section "tests/demo_test.sh (beside the lab)"
run demo tests/demo_test.sh &
demo_job=$!

# ------------------------------------------------------------ lab
section "tests/lab/scenarios.sh"
if [ "$(id -u)" -ne 0 ]; then
	# the lab lists what it skips, one line a variant
	run lab tests/lab/scenarios.sh "$@"
else
	# The lab names everything after LAB_ID; knowing it, the check below
	# can look for leftovers of this run and of no other.
	export LAB_ID
	LAB_ID=${LAB_ID:-$(printf '%06x' $(( ($$ * 32768 + RANDOM) % 16777216 )))}
	nft_before=$(nft list tables 2>/dev/null | sort)
	run lab tests/lab/scenarios.sh "$@"

	# ---------------------------------------------------- cleanup check
	left=()
	ns=$(ip netns list 2>/dev/null | awk -v id="$LAB_ID" 'index($1, id) { print $1 }')
	[ -n "$ns" ] && left+=("namespaces: $(echo "$ns" | paste -sd' ' -)")
	links=$(ip -o link show 2>/dev/null | awk -F': ' -v id="tt$LAB_ID" 'index($2, id) { print $2 }')
	[ -n "$links" ] && left+=("links in the root namespace: $(echo "$links" | paste -sd' ' -)")
	nft_after=$(nft list tables 2>/dev/null | sort)
	[ "$nft_before" != "$nft_after" ] &&
		left+=("nft tables changed in the root namespace: $(diff <(echo "$nft_before") <(echo "$nft_after") | grep '^[<>]' | paste -sd' ' -)")
	# tracers name the namespace in their arguments, servers the run directory
	procs=$(pgrep -f -- "$LAB_ID" | grep -vx "$$" | paste -sd' ' -)
	[ -n "$procs" ] && left+=("processes: $procs ($(ps -o comm= -p "${procs// /,}" | paste -sd, -))")
	dirs=$(ls -d "${TMPDIR:-/tmp}"/tcptrace-lab."$LAB_ID".* 2>/dev/null)
	[ -n "$dirs" ] && [ -z "${LAB_KEEP:-}" ] && left+=("run directory: $dirs")
	if [ "${#left[@]}" -eq 0 ]; then
		echo "PASS lab/cleanup" | tee -a "$results"
	else
		why=$(printf '%s; ' "${left[@]}")
		echo "FAIL lab/cleanup: left behind: ${why%; }" | tee -a "$results"
	fi
fi
wait "$demo_job"

# ------------------------------------------------------------ bench smoke
# `make bench` in its quick version (~35 s): its sections still measure,
# and what holds at any length holds (every event read or counted lost,
# delivery resumed after a stopped reader). Root only, after the lab: its
# load would be the lab's noise.
section "tests/bench.sh (BENCH_QUICK=1)"
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP bench/smoke: needs root" | tee -a "$results"
elif [ ! -x build/load ]; then
	echo "SKIP bench/smoke: build/load missing (make test builds it)" | tee -a "$results"
else
	run bench/smoke env BENCH_QUICK=1 tests/bench.sh
fi

# ------------------------------------------------------------ another kernel
# Last, alone: the guest's lab is its own (the check above looks at this
# machine's namespaces alone). Beside the host's tests it ran 1.3-2.6
# times slower, and one of its tracers once took 254 s to attach (the
# guest allows 240): no margin left for a slower machine.
section "tests/vm/vmtest.sh"
run vm tests/vm/vmtest.sh "$@"
# The support floor, 5.10 (Debian 11): the check, and the scenarios whose
# hooks differ most there (drops told by call site, PORT_CLOSED from the
# SYN's drop, netlink TC). VMTEST_510=1 adds it (81 s): off by default to
# keep the suite within its 10 minutes on 2 cores.
if [ "${VMTEST_510:-0}" != 0 ]; then
	section "tests/vm/vmtest.sh (5.10)"
	if [ "$#" -gt 0 ]; then
		VM_KERNEL=5.10 run vm5.10 tests/vm/vmtest.sh "$@"
	else
		VM_KERNEL=5.10 VM_SCENARIOS="refused drop-synack crash nat" run vm5.10 tests/vm/vmtest.sh
	fi
fi

# ------------------------------------------------------------ summary
passed=$(grep -c '^PASS ' "$results")
failed=$(grep -c '^FAIL ' "$results")
skipped=$(grep -c '^SKIP ' "$results")
echo
echo "== $((SECONDS - t0)) s"
if [ "$failed" -gt 0 ]; then
	echo "== failures"
	grep '^FAIL ' "$results"
fi
if [ "$skipped" -gt 0 ]; then
	echo "== skipped"
	grep '^SKIP ' "$results"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
