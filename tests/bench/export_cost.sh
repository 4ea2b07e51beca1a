#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What the outputs of issue 9 cost under a connection storm: build/load's
# connect/request/response/close (crr) between two namespaces over veth,
# as fast as it goes, with the tracer on the client's namespace in four
# arms: JSON to a file only, with --metrics, with --metrics and --otlp to
# the tests' stand-in collector, and with --otlp-conns as well (a log
# record a connection). For each: connections a second, the tracer's CPU
# (user + system, as a share of one core, from /proc/PID/stat), and at
# the end the scrape's series and bytes, the records the collector took.
# By hand (not in make test): sudo tests/bench/export_cost.sh [SECONDS]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LOAD=$ROOT/build/load TRACER=$ROOT/build/tcptrace-bpf RECV=$ROOT/build/otlp_receiver
SECS=${1:-20}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 2; }
for b in "$LOAD" "$TRACER" "$RECV"; do [ -x "$b" ] || { echo "$b missing: make all build/load" >&2; exit 2; }; done
id=$(printf '%06x' $(( ($$ * 32768 + RANDOM) % 16777216 )))
NSS=tes$id NSC=tec$id CADDR=10.254.78.1 SADDR=10.254.78.2 PORT=5201 MPORT=$((30000 + RANDOM % 2000))
work=$(mktemp -d "${TMPDIR:-/tmp}/tcptrace-export.XXXXXX") || exit 1
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for p in $(ip netns pids "$NSC" 2>/dev/null) $(ip netns pids "$NSS" 2>/dev/null); do kill -KILL "$p"; done
	ip netns del "$NSC" 2>/dev/null; ip netns del "$NSS" 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$NSS" && ip netns add "$NSC" &&
ip link add "v$NSC" netns "$NSC" type veth peer name "v$NSS" netns "$NSS" &&
ip -n "$NSC" addr add "$CADDR/24" dev "v$NSC" && ip -n "$NSS" addr add "$SADDR/24" dev "v$NSS" &&
ip -n "$NSC" link set lo up && ip -n "$NSS" link set lo up &&
ip -n "$NSC" link set "v$NSC" up && ip -n "$NSS" link set "v$NSS" up &&
ip netns exec "$NSC" sysctl -qw net.ipv4.tcp_tw_reuse=1 || { echo "setup failed" >&2; exit 1; }
ip netns exec "$NSS" "$LOAD" server -l "$SADDR" -p "$PORT" >"$work/server.out" 2>&1 &
pids+=($!)
mkdir -p "$work/otlp"
"$RECV" -d "$work/otlp" >"$work/otlp/port" 2>/dev/null &
pids+=($!)
sleep 0.5
OPORT=$(cat "$work/otlp/port")

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

arm() {
	local name=$1 tp t0 t1 c0 c1 rate hz secs cpu
	shift
	rm -f "$work/otlp/"*.json
	"$TRACER" --netns "/run/netns/$NSC" -j --conn-interval 10 -o "$work/out.json.gz" "$@" \
		>/dev/null 2>"$work/tracer.err" &
	tp=$!
	pids+=("$tp")
	for _ in $(seq 300); do grep -q 'tcptrace-bpf: tracing' "$work/tracer.err" && break; sleep 0.1; done
	c0=$(cpu_ticks "$tp"); t0=$(date +%s%N)
	rate=$(ip netns exec "$NSC" "$LOAD" client -c "$SADDR" -p "$PORT" -m crr -t "$SECS")
	c1=$(cpu_ticks "$tp"); t1=$(date +%s%N)
	hz=$(getconf CLK_TCK)
	secs=$(( (t1 - t0) / 1000000 ))
	cpu=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v ms="$secs" 'BEGIN { printf "%.1f", 100 * c / hz / (ms / 1000) }')
	if [ "$name" != file ] && [[ "$*" == *--metrics* ]]; then
		curl -s "http://127.0.0.1:$MPORT/metrics" >"$work/scrape.txt"
		scrape="scrape $(grep -vc '^#' "$work/scrape.txt") series, $(wc -c <"$work/scrape.txt") bytes"
		grep -q '^tcptrace_otlp_dropped_total' "$work/scrape.txt" &&
			scrape+=", OTLP dropped $(awk '/^tcptrace_otlp_dropped_total/ { print $2 }' "$work/scrape.txt")"
	else
		scrape=
	fi
	kill -TERM "$tp"; wait "$tp" 2>/dev/null
	logs=$(cat "$work/otlp/"*-logs.json 2>/dev/null | jq '[.resourceLogs[].scopeLogs[].logRecords[]] | length' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
	printf '%-22s %8.0f conn/s  tracer CPU %5s%% of a core  %s%s\n' "$name" "$rate" "$cpu" \
		"$scrape" "$([[ "$*" == *--otlp* ]] && echo "; collector took $logs log records, $(ls "$work/otlp/"*-metrics.json 2>/dev/null | wc -l) metric exports")"
}

echo "# crr over veth for ${SECS}s an arm, tracer on the client (host: $(nproc) CPUs)"
[ -n "${ONLY:-}" ] || arm file
[ -n "${ONLY:-}" ] || arm metrics --metrics "127.0.0.1:$MPORT"
[ -n "${ONLY:-}" ] || arm metrics+otlp --metrics "127.0.0.1:$MPORT" --otlp "http://127.0.0.1:$OPORT"
arm metrics+otlp-conns --metrics "127.0.0.1:$MPORT" --otlp "http://127.0.0.1:$OPORT" --otlp-conns
