#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# `make bench`: what tracing costs, measured (BRIEF.md section 6, issue 8).
#
# Two network namespaces joined by a veth pair; build/load serves in one
# and drives the workloads from the other (the traced "host"). Sections:
#
#   throughput  crr (connect / 64 B request / 64 B response / close),
#               rr (64 B request / response on one connection) and stream
#               (64 KiB writes) under every arm, as ratios to no tracer;
#               the tracer's own CPU during them (user + system time of its
#               process, per second of traffic and per 1k connections)
#   cost        handler cost per program from the kernel's bpf_stats
#               (--prog-stats), in runs of their own (bpf_stats costs time)
#   syscalls    what every process on the host pays: a tight getppid()
#               loop and a connect() loop to loopback, with and without
#               the tracer
#   storm       the load generator at full rate (crr from one process per
#               CPU, and connects to a port that refuses): events per
#               second delivered and lost, and whether every event sent
#               was read or counted lost
#   flows       many concurrent idle connections (100k): the tracer's RSS,
#               its kernel maps, its CPU while they are open
#   stop        the tracer stopped (SIGSTOP) under load, then resumed:
#               memory stays bounded, losses are counted, delivery resumes
#   footprint   attach time, kernel maps by name, RSS
#
# Arms (the throughput and cost sections run all of them):
#   none              nothing attached
#   tracer            build/tcptrace-bpf --netns <client namespace>, all defaults
#   tcpdump           tcpdump -w on the client's veth (what the tracer replaces)
#   tracer-nonic      the tracer with socket tracepoints only (--no-nic)
#   tracer-xdp        the tracer with generic XDP ingress (--xdp-generic)
#   tracer-xdp-native the tracer with --xdp (native where the driver can:
#                     veth's native XDP, the trap the brief warns about)
#                     each when the tracer has the option
# The syscalls section runs none and the stress arms, the storm, flows and
# stop sections the stress arms: the tracer and every extra arm
# (BENCH_EXTRA_ARMS, e.g. another build to compare with).
#
# Within a round the arms are interleaved, their order rotated each round,
# so drift (thermal, other tenants) spreads over all arms; a figure is the
# median of the rounds with the spread (min..max) beside it.
#
# The end is one table (every figure, a column per arm) and the same as
# JSON (BENCH_JSON, default build/bench.json, printed as its last line).
# Each target of the brief gets a PASS or FAIL line; exit 1 if any failed.
#
# BENCH_QUICK=1 is the smoke version (`make test` runs it, ~30 s alone on
# the machine, up to a minute beside other work): one round, short runs,
# crr alone with the handler costs taken in it, 2000 flows, a 2 s stop, no
# syscall loops, no footprint run. Targets are then only shown
# (their figures mean little that short); what fails it is a broken
# measurement or a broken promise that holds at any length (an event
# neither read nor counted lost, delivery that does not resume). It ends
# with one line, PASS bench/smoke or FAIL bench/smoke: why.
#
# A full `make bench` takes about 30 min on this project's 2-core VM with the
# six arms (throughput ~6 min, cost ~4, syscalls ~2, storm ~6, flows ~4,
# stop ~4): each extra arm adds ~8 min.
#
# USAGE
#   sudo make bench
#   sudo BENCH_ROUNDS=9 BENCH_SECONDS=3 tests/bench.sh
#   sudo BENCH_QUICK=1 tests/bench.sh
#
# Environment:
#   BENCH_QUICK            1: the smoke version (defaults below in brackets)
#   BENCH_ROUNDS           rounds of every section (5 [1])
#   BENCH_SECONDS          seconds per throughput run (2 [1])
#   BENCH_WORKLOADS        subset of "crr rr stream" ([crr])
#   BENCH_ARMS             subset of the arm names below (none is always run) ([tracer])
#   BENCH_SECTIONS         subset of "throughput cost syscalls storm flows stop footprint"
#                          ([throughput storm flows stop])
#   BENCH_COST_ROUNDS      rounds of the bpf_stats runs (3 [1])
#   BENCH_SYSCALL_SECONDS  seconds per syscall loop (2 [1])
#   BENCH_STORM_SECONDS    seconds per storm (30 [2])
#   BENCH_FLOWS            concurrent connections of the flows section (100000 [2000])
#   BENCH_STOP_SECONDS     how long the tracer stays stopped (30 [2])
#   BENCH_STRESS_ARMS      the arms of the syscalls, storm, flows and stop
#                          sections (tracer and the extra arms)
#   BENCH_JSON             where the JSON goes (build/bench.json)
#   BENCH_TRACER_ARGS      extra options for every tracer arm
#   BENCH_EXTRA_ARMS       more arm lines (format below), separated by ';', e.g.
#                          to compare two builds in one interleaved run:
#                          "tracer-old|tracer:/tmp/old/build/tcptrace-bpf||"
#
# Adding an arm: one line in ARMS below, "name|kind|option|arguments":
# kind is none, tracer (tracer:PATH for another build of it) or tcpdump;
# option is the tracer option the arm needs (looked up in --help, the arm
# is skipped and said so when absent); arguments are added to the tracer's
# command line. @IF@ stands for the client's veth inside its namespace.

set -u

# The median of a[1..n], for every awk summary below.
# shellcheck disable=SC2016 # awk code, expanded by awk
AWK_MEDIAN='
		function median(a, n,   i, j, t) {
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
'
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1

ARMS=(
	"none|none||"
	"tracer|tracer||"
	"tcpdump|tcpdump||"
	# socket tracepoints alone: the NIC hooks' share of the cost
	"tracer-nonic|tracer|--no-nic|--no-nic"
	# TC ingress is the tracer's default (the tracer arm); these force XDP
	"tracer-xdp|tracer|--xdp-generic|--xdp-generic -i @IF@"
	"tracer-xdp-native|tracer|--xdp|--xdp -i @IF@"
)

# The brief's targets.
declare -A TARGET=([crr]=0.97 [rr]=0.98 [stream]=0.99)
TP_NS_MAX=150		# mean ns per tracepoint hit
NIC_NS_MAX=50		# mean ns per packet on a NIC hook
HOT_RUNS=1000		# a program run fewer times in a run is listed, not judged
MAPS_MIB_MAX=8
RSS_MIB_MAX=30
ATTACH_MS_MAX=500
CPU_PCT_MAX=5		# the tracer's own CPU at 10k connections/s, % of one core
STORM_EVENTS_MIN=100000	# events/s with no loss
SYSCALL_SLOWDOWN_PCT=2	# "no measurable slowdown": less than this, or not in every round

QUICK=${BENCH_QUICK:-0}
case "$QUICK" in 0 | 1) ;; *) echo "bench: BENCH_QUICK must be 0 or 1" >&2; exit 2 ;; esac
if [ "$QUICK" = 1 ]; then
	d_rounds=1 d_secs=1 d_workloads=crr d_arms=tracer d_cost=1 d_sys=1 d_storm=2 d_flows=2000 d_stop=2
	# the handler costs come from the throughput run (--prog-stats there);
	# syscall loops of a second say nothing on a shared machine
	d_sections="throughput storm flows stop" d_storms=crr d_settle=1
else
	d_rounds=5 d_secs=2 d_workloads="crr rr stream" d_arms= d_cost=3 d_sys=2 d_storm=30 d_flows=100000 d_stop=30
	d_sections="throughput cost syscalls storm flows stop footprint" d_storms="crr refused" d_settle=3
fi
ROUNDS=${BENCH_ROUNDS:-$d_rounds}
SECS=${BENCH_SECONDS:-$d_secs}
WORKLOADS=${BENCH_WORKLOADS:-$d_workloads}
COST_ROUNDS=${BENCH_COST_ROUNDS:-$d_cost}
SYS_SECS=${BENCH_SYSCALL_SECONDS:-$d_sys}
STORM_SECS=${BENCH_STORM_SECONDS:-$d_storm}
FLOWS=${BENCH_FLOWS:-$d_flows}
STOP_SECS=${BENCH_STOP_SECONDS:-$d_stop}
SECTIONS=${BENCH_SECTIONS:-$d_sections}
STORMS=$d_storms	# the refused storm too, in the full run
SETTLE=$d_settle	# seconds of load around the flows' and the stop's samples
TRACER_ARGS=${BENCH_TRACER_ARGS:-}
JSON_OUT=${BENCH_JSON:-$top/build/bench.json}
LOAD=$top/build/load
NOOP=$top/build/noop	# empty programs: bpf_stats' floor (optional)
TRACER=$top/build/tcptrace-bpf
PORT=5001		# the server listens on PORT .. PORT+HOLD_PORTS-1
HOLD_PORTS=8		# 100k connections from one address need several server ports,
			# and a server process per port holds 12.5k descriptors
REFUSED_PORT=5099	# nothing listens there
LO_PORT=5101		# the loopback server inside the client namespace
NCPU=$(nproc)

die() {
	echo "bench: $*" >&2
	[ "$QUICK" = 1 ] && echo "FAIL bench/smoke: $*"
	exit 1
}

for v in ROUNDS SECS COST_ROUNDS SYS_SECS STORM_SECS FLOWS STOP_SECS; do
	case "${!v}" in '' | *[!0-9]*) die "BENCH_${v}: want a whole number, got '${!v}'" ;; esac
done
[ "$ROUNDS" -ge 1 ] && [ "$SECS" -ge 1 ] || die "BENCH_ROUNDS and BENCH_SECONDS must be at least 1"
[ "$SYS_SECS" -ge 1 ] && [ "$STORM_SECS" -ge 1 ] && [ "$STOP_SECS" -ge 1 ] && [ "$FLOWS" -ge 1 ] ||
	die "the syscall, storm and stop seconds and BENCH_FLOWS must be at least 1"
for w in $WORKLOADS; do
	[ -n "${TARGET[$w]:-}" ] || die "unknown workload '$w' in BENCH_WORKLOADS (want crr, rr, stream)"
done
for s in $SECTIONS; do
	case " throughput cost syscalls storm flows stop footprint " in *" $s "*) ;;
	*) die "unknown section '$s' in BENCH_SECTIONS" ;; esac
done
want() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }
# The quick version takes the handler costs from its one throughput run.
QUICK_STATS=$([ "$QUICK" = 1 ] && ! want cost && echo 1)
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, BPF): sudo make bench"
[ -x "$LOAD" ] && [ -x "$TRACER" ] || die "build/load or build/tcptrace-bpf missing: run make bench"
for c in ip jq; do
	command -v "$c" >/dev/null || die "$c not found (make deps installs it)"
done

# ------------------------------------------------------------ setup

id=$(printf '%06x' $(( ($$ * 32768 + RANDOM) % 16777216 )))
NSS=tbs$id		# server namespace
NSC=tbc$id		# client namespace (the traced host)
VC=tbc$id		# client's veth end (inside NSC)
VS=tbs$id		# server's veth end (inside NSS)
CADDR=10.254.77.1
SADDR=10.254.77.2
work=$(mktemp -d "${TMPDIR:-/tmp}/tcptrace-bench.XXXXXX") || exit 1
started=()		# pids of everything this script started in the background
t_start=$SECONDS

cleanup() {
	local p

	trap - EXIT INT TERM
	for p in "${started[@]}"; do
		kill -CONT "$p" 2>/dev/null	# a stopped tracer cannot die of TERM
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${started[@]}"; do
		wait "$p" 2>/dev/null
	done
	# anything still inside our namespaces is ours too
	for p in $(ip netns pids "$NSC" 2>/dev/null) $(ip netns pids "$NSS" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	ip netns del "$NSC" 2>/dev/null
	ip netns del "$NSS" 2>/dev/null
	# a veth end left in the root namespace by a setup that failed halfway
	ip link del "$VC" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

inc() { ip netns exec "$NSC" "$@"; }
ins() { ip netns exec "$NSS" "$@"; }

ip netns add "$NSS" || die "cannot create namespace $NSS"
ip netns add "$NSC" || die "cannot create namespace $NSC"
ip link add "$VC" netns "$NSC" type veth peer name "$VS" netns "$NSS" ||
	die "cannot create veth pair $VC/$VS"
inc ip addr add "$CADDR/24" dev "$VC"
ins ip addr add "$SADDR/24" dev "$VS"
inc ip link set lo up
ins ip link set lo up
inc ip link set "$VC" up
ins ip link set "$VS" up
# The server closes crr connections first, so TIME_WAIT is on its side;
# tcp_tw_reuse on the client is a second line against port exhaustion,
# and the connect() loop (client closes first) needs it. The flows
# section's connections take local ports from the widest range.
inc sysctl -qw net.ipv4.tcp_tw_reuse=1
inc sysctl -qw net.ipv4.ip_local_port_range="1024 65000"

# wait_for FILE PATTERN PID SECONDS: until PATTERN appears in FILE; fails
# if PID dies first or time runs out.
wait_for() {
	local file=$1 pat=$2 pid=$3 n=$(( $4 * 100 ))

	while [ "$n" -gt 0 ]; do
		grep -q -- "$pat" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.01
		n=$((n - 1))
	done
	return 1
}

# stop PID: SIGTERM, then SIGKILL if it has not gone within 5 s. (Not
# SIGINT: a non-interactive shell starts background jobs with SIGINT
# ignored, and a program that does not install its own handler keeps it.)
stop() {
	local pid=$1 n=50

	kill -TERM "$pid" 2>/dev/null
	while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		n=$((n - 1))
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# Not through inc/ins: a function in the background is a subshell, and $!
# must be the process itself (ip netns exec execs it, no fork) so that
# stop and cleanup reach it.
ip netns exec "$NSS" "$LOAD" server -l "$SADDR" -p "$PORT" -k "$HOLD_PORTS" >"$work/server.out" 2>&1 &
spid=$!
started+=("$spid")
wait_for "$work/server.out" listening "$spid" 5 ||
	die "load server did not start: $(cat "$work/server.out")"
ip netns exec "$NSC" "$LOAD" server -l 127.0.0.1 -p "$LO_PORT" >"$work/lo-server.out" 2>&1 &
lpid=$!
started+=("$lpid")
wait_for "$work/lo-server.out" listening "$lpid" 5 ||
	die "loopback load server did not start: $(cat "$work/lo-server.out")"

# ------------------------------------------------------------ records

# Every figure is one line of $work/rec: "section metric arm round value";
# the table and the JSON are made from it.
: >"$work/rec"
rec() { echo "$1 $2 $3 $4 $5" >>"$work/rec"; }

fails=0
passes=0
broken=()		# what fails the smoke version
: >"$work/verdicts"	# "ok text", for the JSON
# target OK TEXT: one of the brief's targets, met or not.
target() {
	echo "$1 $2" >>"$work/verdicts"
	if [ "$QUICK" = 1 ]; then
		echo "  target $([ "$1" = 1 ] && echo met || echo missed): $2"
		return
	fi
	if [ "$1" = 1 ]; then
		echo "PASS $2"
		passes=$((passes + 1))
	else
		echo "FAIL $2"
		fails=$((fails + 1))
	fi
}
# sane OK TEXT: a promise that holds at any length (quick or not).
sane() {
	echo "$1 $2" >>"$work/verdicts"
	if [ "$1" = 1 ]; then
		[ "$QUICK" = 1 ] && echo "  ok: $2" || { echo "PASS $2"; passes=$((passes + 1)); }
	else
		[ "$QUICK" = 1 ] && echo "  broken: $2" || { echo "FAIL $2"; fails=$((fails + 1)); }
		broken+=("$2")
	fi
}

# ------------------------------------------------------------ arms

# has_option BINARY OPTION: whether the tracer's --help lists OPTION.
has_option() {
	"$1" --help 2>&1 | grep -qE -- "(^|[ ,])$2([ =,[]|$)"
}

# Extra arms are asked for by name already: BENCH_ARMS does not filter them.
IFS=';' read -r -a extra <<<"${BENCH_EXTRA_ARMS:-}"
want_arms=${BENCH_ARMS:-$d_arms}
extra_names=()
for a in "${extra[@]}"; do
	[ -n "$a" ] || continue
	ARMS+=("$a")
	extra_names+=("${a%%|*}")
	[ -n "$want_arms" ] && want_arms+=" ${a%%|*}"
done

declare -A KIND ARGS BIN
arms=()
skipped=()
for a in "${ARMS[@]}"; do
	case "$a" in "#"*) continue ;; esac
	IFS='|' read -r name kind opt args <<<"$a"
	if [ -n "$want_arms" ] && [ "$name" != none ] && ! grep -qw -- "$name" <<<"$want_arms"; then
		continue
	fi
	bin=$TRACER
	case "$kind" in
	none | tracer | tcpdump) ;;
	tracer:*)
		bin=${kind#tracer:}
		kind=tracer
		[ -x "$bin" ] || die "arm $name: no executable $bin"
		;;
	*) die "arm $name: unknown kind '$kind' (want none, tracer, tracer:PATH or tcpdump)" ;;
	esac
	if [ -n "$opt" ] && ! has_option "$bin" "$opt"; then
		skipped+=("$name (tracer has no $opt)")
		continue
	fi
	if [ "$kind" = tcpdump ] && ! command -v tcpdump >/dev/null; then
		skipped+=("$name (tcpdump not installed: make deps)")
		continue
	fi
	arms+=("$name")
	KIND[$name]=$kind
	BIN[$name]=$bin
	ARGS[$name]=${args//@IF@/$VC}
done

# The stress arms: the tracer as users run it, and what it is compared with.
stress_arms=()
for a in ${BENCH_STRESS_ARMS:-tracer ${extra_names[*]}}; do
	[ "${KIND[$a]:-}" = tracer ] && stress_arms+=("$a")
done

apid=			# the running arm's process
arm_wall_ms=		# start to "tracing" line, ms (tracer arms)
arm_t0=

# footprint: one line per tracer run, "arm workload attach_us wall_ms maps_bytes hwm_kb rss_kb"
: >"$work/footprint"
: >"$work/diagnoses"

# cpu_ms PID: CPU time of a process so far (every thread, user + system),
# in ms (0: gone). /proc/PID/stat has it in ticks (10 ms); schedstat's
# nanoseconds of each thread make a 2 s run's figure exact enough.
cpu_ms() {
	[ -n "$1" ] || { echo 0; return; }
	if [ -r /proc/"$1"/schedstat ]; then
		cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print int(s / 1e6) }'
	else
		awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' /proc/"$1"/stat 2>/dev/null || echo 0
	fi
}

# start_tracer BINARY ARGS...: the tracer on the client namespace, attached.
start_tracer() {
	local bin=$1 t0 t1

	shift
	: >"$work/tr.err"
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	"$bin" --netns "/run/netns/$NSC" -j -d 86400 $TRACER_ARGS "$@" \
		>"$work/tr.out" 2>"$work/tr.err" &
	apid=$!
	started+=("$apid")
	if ! wait_for "$work/tr.err" 'tracing' "$apid" 10; then
		stop "$apid"
		die "tracer did not attach ($*): $(head -3 "$work/tr.err")"
	fi
	t1=$(date +%s%N)
	arm_wall_ms=$(( (t1 - t0) / 1000000 ))
	arm_t0=$t1
	arm_cpu0=$(cpu_ms "$apid")	# loading and attaching are not the steady state
}

# maps_bytes PID: kernel memory of the BPF maps the process holds (their
# fdinfo says memlock and map_id; a map held by two fds counts once).
# Through cat: an fd the tracer closes meanwhile (a scan's) would stop awk.
maps_bytes() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null |
		awk '/^memlock:/ { m = $2 } /^map_id:/ { if (!($2 in seen)) { seen[$2]; sum += m } }
			END { print sum + 0 }'
}

# maps_list PID: "name type bytes" of each map (names through bpftool, by id).
maps_list() {
	local ids

	ids=$(cat /proc/"$1"/fdinfo/* 2>/dev/null |
		awk '/^memlock:/ { m = $2 } /^map_id:/ { if (!($2 in seen)) { seen[$2]; print $2, m } }')
	while read -r mid bytes; do
		[ -n "$mid" ] || continue
		printf '%s %s\n' "$(bpftool -j map show id "$mid" 2>/dev/null |
			jq -r '"\(.name // "?") \(.type // "?")"')" "$bytes"
	done <<<"$ids"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status 2>/dev/null; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' /proc/"$1"/status 2>/dev/null; }

# stop_tracer ARM WORKLOAD: sample the footprint, stop, keep the stats record.
stop_tracer() {
	local arm=$1 w=$2 hwm rss maps

	hwm=$(hwm_kb "$apid")
	rss=$(rss_kb "$apid")
	maps=$(maps_bytes "$apid")
	[ "$arm" = footprint ] && maps_list "$apid" >"$work/maps"
	# the tracer's own CPU time since it attached, in ms
	arm_cpu_ms=$(( $(cpu_ms "$apid") - arm_cpu0 ))
	arm_dur_ns=$(( $(date +%s%N) - arm_t0 ))
	stop "$apid"
	grep '"type":"stats"' "$work/tr.out" | tail -1 >"$work/stats.json"
	[ -s "$work/stats.json" ] || die "tracer ($arm) wrote no stats record: $(tail -3 "$work/tr.err")"
	echo "$arm $w $(jq -r '.attach_us // -1' "$work/stats.json") $arm_wall_ms ${maps:-0} ${hwm:-0} ${rss:-0}" \
		>>"$work/footprint"
	# a diagnosis on healthy bench traffic is a false alarm worth showing
	grep '"type":"diagnosis"' "$work/tr.out" |
		jq -r --arg a "$arm" --arg w "$w" '"diagnosis during \($a) \($w): \(.code) \(.summary)"' 2>/dev/null |
		sort | uniq -c | head -5 >>"$work/diagnoses"
}

# stats_field FIELD: a number from the last stats record ("null" when absent:
# an older build).
stats_field() { jq -r ".$1 // \"null\"" "$work/stats.json"; }

# start_arm ARM [TRACER-OPTIONS...]
start_arm() {
	local arm=$1

	shift
	apid=
	case "${KIND[$arm]}" in
	none) ;;
	tracer)
		# shellcheck disable=SC2086
		start_tracer "${BIN[$arm]}" ${ARGS[$arm]} "$@"
		;;
	tcpdump)
		rm -f "$work"/cap.pcap*
		: >"$work/td.err"
		# -C/-W: a ring of two files bounds the disk a stream run fills;
		# -Z root: write into our private work directory.
		ip netns exec "$NSC" tcpdump -i "$VC" -n -w "$work/cap.pcap" -C 256 -W 2 -Z root \
			>/dev/null 2>"$work/td.err" &
		apid=$!
		started+=("$apid")
		wait_for "$work/td.err" 'listening on' "$apid" 10 ||
			die "tcpdump did not start: $(head -3 "$work/td.err")"
		;;
	esac
}

stop_arm() {
	local arm=$1 w=$2

	case "${KIND[$arm]}" in
	none) ;;
	tracer) stop_tracer "$arm" "$w" ;;
	tcpdump)
		stop "$apid"
		rm -f "$work"/cap.pcap*
		;;
	esac
}

# client MODE SECONDS [ARGS...]: one run of the load client in the client
# namespace against the server; prints its number (and CPU with -u).
client() {
	local mode=$1 secs=$2 v

	shift 2
	v=$(inc "$LOAD" client -c "$SADDR" -p "$PORT" -m "$mode" -t "$secs" "$@" 2>"$work/client.err") ||
		die "load client ($mode) failed: $(cat "$work/client.err")"
	echo "$v"
}

# measure MODE: one measured run under the running arm; prints "VALUE
# CPU_MS ARM_MS". CPU_MS is what the client, the server and the arm's own
# process (the tracer, tcpdump) used during it, ARM_MS the arm's share.
# CPU per unit of work is a second view of the cost, one that other work
# on the machine does not inflate the way it inflates throughput (their
# time waiting for a CPU is not counted).
measure() {
	local s0 a0 s1 a1 out

	s0=$(cpu_ms "$spid")
	a0=$(cpu_ms "$apid")
	out=$(client "$1" "$SECS" -u) || exit 1
	s1=$(cpu_ms "$spid")
	a1=$(cpu_ms "$apid")
	read -r v c <<<"$out"
	echo "$v $(awk -v c="$c" -v s=$((s1 - s0)) -v a=$((a1 - a0)) 'BEGIN { print int(c * 1000 + s + a) }') $((a1 - a0))"
}

# order ROUND ARM...: the arms rotated by the round, one a line.
order() {
	local r=$1 i n

	shift
	n=$#
	for i in $(seq 0 $((n - 1))); do
		local k=$(( (i + r - 1) % n + 1 ))
		echo "${!k}"
	done
}

load_avg() { cut -d' ' -f1 /proc/loadavg; }

# section NAME TEXT: a section's header; the time each took is shown at the end.
sec_name= sec_t0= times=
section() {
	[ -n "$sec_name" ] && times+="$sec_name $((SECONDS - sec_t0)) s, "
	sec_name=$1 sec_t0=$SECONDS
	echo
	echo "== $2"
}

echo "tcptrace-bpf bench$([ "$QUICK" = 1 ] && echo " (quick)"): $ROUNDS rounds, $NCPU CPUs, kernel $(uname -r), load average $(load_avg)"
if awk -v l="$(load_avg)" -v n="$NCPU" 'BEGIN { exit !(l > n / 2) }'; then
	echo "warning: this machine is busy (load average $(load_avg) on $NCPU CPUs): other work adds noise to every arm"
fi
echo "arms: ${arms[*]}; stress arms: ${stress_arms[*]:-none}; sections: $SECTIONS"
for s in "${skipped[@]}"; do
	echo "skipped arm: $s"
done

# class NAME: nic (per packet), walk (the socket iterator, once an interval:
# no per-hit target) or tp (per tracepoint hit).
prog_class() {
	if [[ "$1" =~ (^|_)(tc|tcx|xdp|nic) ]]; then
		echo nic
	elif [[ "$1" =~ (scan|iter) ]]; then
		echo walk
	else
		echo tp
	fi
}

# cost_records ROUND ARM WORKLOAD VALUE: the bpf_stats of the tracer run just
# stopped (with --prog-stats) into the records; the first round's listed.
cost_records() {
	local r=$1 a=$2 w=$3 v=$4

	jq -r '.programs[] | "\(.name) \(.run_cnt) \(.avg_ns)"' "$work/stats.json" |
	while read -r name cnt ns; do
		echo "$r $a $w $name $cnt $ns $(prog_class "$name") $arm_dur_ns"
	done >"$work/cost.run"
	# the brief's figure is the mean per hit over the hot programs
	awk -v r="$r" -v a="$a" -v w="$w" -v hot="$HOT_RUNS" '
		$7 != "walk" { t[$7] += $5 * $6; c[$7] += $5 }
		$7 != "walk" && $5 >= hot { printf "cost %s_%s %s %s %d\n", $4, w, a, r, $6 }
		END { for (k in c) if (c[k]) printf "cost %s_mean_%s %s %s %.0f\n", k, w, a, r, t[k] / c[k] }
	' "$work/cost.run" >>"$work/rec"
	if [ "$r" = 1 ]; then
		echo "-- $a, $w ($v $([ "$w" = stream ] && echo MB/s || echo tr/s)): $(( arm_dur_ns / 1000000 )) ms traced, tracer process CPU ${arm_cpu_ms:-?} ms"
		# "% of 1 CPU": run_cnt x avg_ns over the traced wall time
		awk -v hot="$HOT_RUNS" -v tp="$TP_NS_MAX" -v nic="$NIC_NS_MAX" '
			BEGIN { printf "   %-24s %10s %9s %7s %9s  %s\n", "program", "runs", "runs/s", "avg_ns", "% of 1 CPU", "target" }
			{
				if ($7 == "nic") what = "<= " nic " ns/packet"
				else if ($7 == "tp") what = "<= " tp " ns/hit"
				else what = "none (socket walk, once an interval)"
				if ($7 != "walk" && $5 < hot) what = what ($5 ? ", too few runs to judge" : ", not run")
				printf "   %-24s %10d %9.0f %7d %9.2f%%  %s\n", $4, $5, $5 / ($8 / 1e9), $6, 100 * $5 * $6 / $8, what
				if ($7 != "walk") { t[$7] += $5 * $6; c[$7] += $5 }
			}
			END {
				if (c["tp"]) printf "   mean over all %d tracepoint hits: %.0f ns\n", c["tp"], t["tp"] / c["tp"]
				if (c["nic"]) printf "   mean over all %d NIC hook packets: %.0f ns\n", c["nic"], t["nic"] / c["nic"]
			}' "$work/cost.run"
	fi
}

# ------------------------------------------------------------ throughput

if want throughput; then
	section throughput "throughput: $ROUNDS rounds x ${SECS} s per arm"
	for w in $WORKLOADS; do
		echo "-- $w"
		client "$w" 1 >/dev/null	# warm-up: caches, ARP, the server's pages
		for r in $(seq 1 "$ROUNDS"); do
			line="  round $r/$ROUNDS:"
			for arm in $(order "$r" "${arms[@]}"); do
				start_arm "$arm" ${QUICK_STATS:+--prog-stats}
				read -r v c a <<<"$(measure "$w")"
				[ -n "$v" ] || exit 1
				stop_arm "$arm" "$w"
				[ -n "$QUICK_STATS" ] && [ "${KIND[$arm]}" = tracer ] && cost_records "$r" "$arm" "$w" "$v"
				rec throughput "$w" "$arm" "$r" "$v"
				# CPU per unit of work: µs per transaction, or per MB
				awk -v v="$v" -v c="$c" -v s="$SECS" 'BEGIN { if (v > 0) printf "%.3f\n", c * 1000 / (v * s) }' |
					while read -r x; do rec throughput "${w}_cpu_us_per_unit" "$arm" "$r" "$x"; done
				if [ "${KIND[$arm]}" = tracer ]; then
					rec tracer_cpu "${w}_pct" "$arm" "$r" \
						"$(awk -v a="$a" -v s="$SECS" 'BEGIN { printf "%.2f", a / (s * 10) }')"
					[ "$w" = crr ] && rec tracer_cpu crr_ms_per_1k_conn "$arm" "$r" \
						"$(awk -v a="$a" -v v="$v" -v s="$SECS" 'BEGIN { printf "%.3f", a / (v * s / 1000) }')"
					rec throughput "${w}_events_lost" "$arm" "$r" "$(stats_field events_lost)"
				fi
				line+=" $arm $v"
			done
			echo "$line"
		done
	done
fi

# ------------------------------------------------------------ handler cost

# floor_run WORKLOAD ROUND: what bpf_stats reports for programs that do
# nothing (build/noop: TC egress of the client's veth, inet_sock_set_state),
# recorded in the none column: every handler figure stands on it.
floor_run() {
	local w=$1 r=$2 npid

	ip netns exec "$NSC" "$NOOP" "$VC" >"$work/noop.out" 2>&1 &
	npid=$!
	started+=("$npid")
	wait_for "$work/noop.out" ready "$npid" 10 || die "noop did not attach: $(cat "$work/noop.out")"
	client "$w" "$SECS" >/dev/null
	stop "$npid"
	awk -v w="$w" -v r="$r" -v hot="$HOT_RUNS" '
		$1 == "noop_tc" && $2 >= hot { printf "cost floor_tc_%s none %s %d\n", w, r, $3 }
		$1 == "noop_set_state" && $2 >= hot { printf "cost floor_tp_%s none %s %d\n", w, r, $3 }
	' "$work/noop.out" >>"$work/rec"
	[ "$r" = 1 ] && echo "-- empty programs, $w: $(awk '$1 ~ /^noop/ { printf "%s %d runs %d ns; ", $1, $2, $3 }' "$work/noop.out")"
}

if want cost; then
	cost_arms=()
	for a in "${arms[@]}"; do
		[ "${KIND[$a]}" = tracer ] && cost_arms+=("$a")
	done
	section cost "handler cost: bpf_stats (--prog-stats), $COST_ROUNDS rounds of ${SECS} s runs"
	echo "   (bpf_stats inflates every figure: it reads the clock twice a run; the empty programs of build/noop measure that floor, in the none column)"
	for r in $(seq 1 "$COST_ROUNDS"); do
		# the floor: empty programs on the same hooks, no tracer
		[ -x "$NOOP" ] && for w in $WORKLOADS; do
			floor_run "$w" "$r"
		done
		for a in $(order "$r" "${cost_arms[@]}"); do
			# rr too: the most system calls a second, so what a hook on every
			# system call's return costs shows there first
			for w in $WORKLOADS; do
				# shellcheck disable=SC2086
				start_tracer "${BIN[$a]}" ${ARGS[$a]} --prog-stats
				v=$(client "$w" "$SECS")
				stop_tracer "cost:$a" "$w"
				cost_records "$r" "$a" "$w" "$v"
			done
		done
	done
fi

# ------------------------------------------------------------ syscalls

if want syscalls && [ "${#stress_arms[@]}" -gt 0 ]; then
	section syscalls "syscalls: $ROUNDS rounds x ${SYS_SECS} s per loop: getppid() in the root namespace, connect() to loopback in the traced one"
	for r in $(seq 1 "$ROUNDS"); do
		line="  round $r/$ROUNDS:"
		for arm in $(order "$r" none "${stress_arms[@]}"); do
			start_arm "$arm"
			# Any syscall tracepoint puts every task of the host on the
			# slow system call path: others' (a lab's tracers) spoil the
			# none arm. Counted while none runs.
			[ "$arm" = none ] && rec syscalls others_hooking none "$r" \
				"$(bpftool perf 2>/dev/null | grep -cE 'tracepoint +sys_(enter|exit)')"
			g=$("$LOAD" client -m getppid -t "$SYS_SECS" 2>"$work/client.err") ||
				die "getppid loop failed: $(cat "$work/client.err")"
			c=$(inc "$LOAD" client -c 127.0.0.1 -p "$LO_PORT" -m connect -t "$SYS_SECS" 2>"$work/client.err") ||
				die "connect loop failed: $(cat "$work/client.err")"
			stop_arm "$arm" syscalls
			rec syscalls getppid_ns "$arm" "$r" "$(awk -v g="$g" 'BEGIN { printf "%.1f", 1e9 / g }')"
			rec syscalls connect_us "$arm" "$r" "$(awk -v c="$c" 'BEGIN { printf "%.2f", 1e6 / c }')"
			line+=" $arm $(awk -v g="$g" 'BEGIN { printf "%.0f", 1e9 / g }') ns/getppid $(awk -v c="$c" 'BEGIN { printf "%.1f", 1e6 / c }') us/connect;"
		done
		echo "${line%;}"
	done
fi

# ------------------------------------------------------------ storm

# storm_run ARM KIND R: the tracer under a storm of KIND (crr, refused).
storm_run() {
	local arm=$1 kind=$2 r=$3 v a0 a1 ev lost rd

	# shellcheck disable=SC2086
	start_tracer "${BIN[$arm]}" ${ARGS[$arm]}
	a0=$(cpu_ms "$apid")
	if [ "$kind" = crr ]; then
		v=$(client crr "$STORM_SECS" -P "$NCPU")
	else
		v=$(inc "$LOAD" client -c "$SADDR" -p "$REFUSED_PORT" -m refused -t "$STORM_SECS" \
			-P "$NCPU" 2>"$work/client.err") || die "refused storm failed: $(cat "$work/client.err")"
	fi
	a1=$(cpu_ms "$apid")
	stop_tracer "storm:$arm" "$kind"
	ev=$(stats_field events) lost=$(stats_field events_lost) rd=$(stats_field events_read)
	[ "$rd" = null ] && rd=$ev	# an older build does not say: take what it sent
	rec storm "${kind}_conn_per_s" "$arm" "$r" "$v"
	rec storm "${kind}_events_per_s" "$arm" "$r" "$(( (ev + lost) / STORM_SECS ))"
	rec storm "${kind}_delivered_per_s" "$arm" "$r" "$(( rd / STORM_SECS ))"
	rec storm "${kind}_lost" "$arm" "$r" "$lost"
	rec storm "${kind}_unaccounted" "$arm" "$r" "$(( ev - rd ))"
	rec storm "${kind}_events_per_conn" "$arm" "$r" \
		"$(awk -v e="$((ev + lost))" -v v="$v" -v s="$STORM_SECS" 'BEGIN { printf "%.2f", e / (v * s) }')"
	rec storm "${kind}_tracer_cpu_pct" "$arm" "$r" \
		"$(awk -v a="$((a1 - a0))" -v s="$STORM_SECS" 'BEGIN { printf "%.1f", a / (s * 10) }')"
	echo "  round $r/$ROUNDS $arm $kind: $v conn/s, $(( (ev + lost) / STORM_SECS )) events/s sent, $(( rd / STORM_SECS )) read, $lost lost, $((ev - rd)) unaccounted"
}

if want storm && [ "${#stress_arms[@]}" -gt 0 ]; then
	section storm "storm: $ROUNDS rounds x ${STORM_SECS} s, $NCPU client processes at full rate"
	for r in $(seq 1 "$ROUNDS"); do
		for arm in $(order "$r" "${stress_arms[@]}"); do
			for kind in $STORMS; do
				storm_run "$arm" "$kind" "$r"
			done
		done
	done
fi

# ------------------------------------------------------------ flows

if want flows && [ "${#stress_arms[@]}" -gt 0 ]; then
	section flows "flows: $ROUNDS rounds of $FLOWS concurrent idle connections"
	for r in $(seq 1 "$ROUNDS"); do
		for arm in $(order "$r" "${stress_arms[@]}"); do
			# shellcheck disable=SC2086
			start_tracer "${BIN[$arm]}" ${ARGS[$arm]}
			t0=$(date +%s%N)
			ip netns exec "$NSC" "$LOAD" hold -c "$SADDR" -p "$PORT" -k "$HOLD_PORTS" -n "$FLOWS" \
				-t 3600 >"$work/hold.out" 2>&1 &
			hpid=$!
			started+=("$hpid")
			wait_for "$work/hold.out" held "$hpid" $(( FLOWS / 500 + 60 )) ||
				die "could not hold $FLOWS connections: $(tail -2 "$work/hold.out")"
			open_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
			# socket scans (one a second) take them all in
			sleep $((SETTLE > 1 ? SETTLE : 2))
			c0=$(cpu_ms "$apid")
			sleep "$SETTLE"
			c1=$(cpu_ms "$apid")
			rss=$(rss_kb "$apid") hwm=$(hwm_kb "$apid") maps=$(maps_bytes "$apid")
			stop "$hpid"
			stop_tracer "flows:$arm" flows
			rec flows rss_mib "$arm" "$r" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')"
			rec flows hwm_mib "$arm" "$r" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')"
			rec flows maps_mib "$arm" "$r" "$(awk -v b="$maps" 'BEGIN { printf "%.2f", b / 1048576 }')"
			rec flows idle_cpu_pct "$arm" "$r" "$(awk -v c="$((c1 - c0))" -v s="$SETTLE" 'BEGIN { printf "%.1f", c / (s * 10) }')"
			rec flows open_s "$arm" "$r" "$(awk -v m="$open_ms" 'BEGIN { printf "%.1f", m / 1000 }')"
			rec flows tracked "$arm" "$r" "$(stats_field flows_tracked)"
			rec flows untracked_sockets "$arm" "$r" "$(stats_field sockets_untracked)"
			rec flows evicted "$arm" "$r" "$(stats_field flows_evicted)"
			rec flows events_lost "$arm" "$r" "$(stats_field events_lost)"
			echo "  round $r/$ROUNDS $arm: opened in ${open_ms} ms; RSS $(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB (peak $(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')), kernel maps $(awk -v b="$maps" 'BEGIN { printf "%.2f", b / 1048576 }') MiB, tracer CPU $(awk -v c="$((c1 - c0))" -v s="$SETTLE" 'BEGIN { printf "%.1f", c / (s * 10) }')% while they idle; $(stats_field flows_tracked) tracked at exit, $(stats_field sockets_untracked) sockets untracked, $(stats_field flows_evicted) evicted, $(stats_field events_lost) events lost"
		done
	done
fi

# ------------------------------------------------------------ stop

# The stats record every second (--conn-interval 1) is the timeline: what
# was read before the stop, and whether reading goes on after it.
if want stop && [ "${#stress_arms[@]}" -gt 0 ]; then
	section stop "stop: $ROUNDS rounds, the tracer stopped ${STOP_SECS} s under crr load"
	for r in $(seq 1 "$ROUNDS"); do
		for arm in $(order "$r" "${stress_arms[@]}"); do
			# shellcheck disable=SC2086
			start_tracer "${BIN[$arm]}" ${ARGS[$arm]} --conn-interval 1
			inc "$LOAD" client -c "$SADDR" -p "$PORT" -m crr -t $((STOP_SECS + 2 * SETTLE + 2)) \
				>"$work/stop-load.out" 2>&1 &
			lpid2=$!
			started+=("$lpid2")
			sleep "$SETTLE"
			rss0=$(rss_kb "$apid")
			kill -STOP "$apid"
			n_before=$(grep -c '"type":"stats"' "$work/tr.out")
			read_before=$(grep '"type":"stats"' "$work/tr.out" | tail -1 | jq -r '.events_read // .events // 0')
			sleep "$STOP_SECS"
			rss_stopped=$(rss_kb "$apid")
			kill -CONT "$apid"
			sleep $((SETTLE + 1))
			rss1=$(rss_kb "$apid") hwm=$(hwm_kb "$apid")
			n_after=$(grep -c '"type":"stats"' "$work/tr.out")
			read_after=$(grep '"type":"stats"' "$work/tr.out" | tail -1 | jq -r '.events_read // .events // 0')
			wait "$lpid2" || die "crr load of the stop section failed: $(cat "$work/stop-load.out")"
			stop_tracer "stop:$arm" stop
			ev=$(stats_field events) lost=$(stats_field events_lost) rd=$(stats_field events_read)
			[ "$rd" = null ] && rd=$ev
			rec stop lost "$arm" "$r" "$lost"
			rec stop unaccounted "$arm" "$r" "$((ev - rd))"
			rec stop read_after_resume "$arm" "$r" "$((read_after - read_before))"
			rec stop stats_after_resume "$arm" "$r" "$((n_after - n_before))"
			rec stop rss_before_mib "$arm" "$r" "$(awk -v k="$rss0" 'BEGIN { printf "%.1f", k / 1024 }')"
			rec stop rss_after_mib "$arm" "$r" "$(awk -v k="$rss1" 'BEGIN { printf "%.1f", k / 1024 }')"
			rec stop hwm_mib "$arm" "$r" "$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')"
			echo "  round $r/$ROUNDS $arm: $lost lost (counted), $((ev - rd)) unaccounted; after SIGCONT $((n_after - n_before)) stats records, $((read_after - read_before)) events read; RSS $(awk -v k="$rss0" 'BEGIN { printf "%.1f", k / 1024 }') MiB before, $(awk -v k="${rss_stopped:-0}" 'BEGIN { printf "%.1f", k / 1024 }') stopped, $(awk -v k="$rss1" 'BEGIN { printf "%.1f", k / 1024 }') after (peak $(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }'))"
		done
	done
fi

# ------------------------------------------------------------ footprint

if want footprint; then
	section footprint "footprint"
	# A run of its own so that the map list is taken with the tracer under load.
	start_tracer "$TRACER"
	client crr "$SECS" >/dev/null
	stop_tracer footprint crr
	echo "kernel maps of the tracer (fdinfo memlock, during crr):"
	awk '{ printf "  %-24s %-14s %8.2f MiB\n", $1, $2, $3 / 1048576 }' "$work/maps"
fi
# Every tracer start of the run counts for attach time; maps and RSS from
# the runs that are not stress (those have their own rows).
awk '{ n = split($1, part, ":"); arm = part[n] == "footprint" ? "tracer" : part[n]
	if ($3 >= 0) printf "footprint attach_ms %s 0 %.1f\n", arm, $3 / 1000
	printf "footprint start_to_tracing_ms %s 0 %d\n", arm, $4 }
	$1 !~ /:/ { arm = $1 == "footprint" ? "tracer" : $1
	printf "footprint maps_mib %s 0 %.2f\n", arm, $5 / 1048576
	printf "footprint hwm_mib %s 0 %.1f\n", arm, $6 / 1024 }' "$work/footprint" >>"$work/rec"

# ------------------------------------------------------------ the table

# summary SECTION METRIC ARM: "median min max n" of a figure ("" if none).
# One awk pass makes them all (a pass per figure took seconds).
section summary "summary"
declare -A SUM
while read -r s m a rest; do
	SUM["$s $m $a"]=$rest
done < <(awk "$AWK_MEDIAN"'
	$5 != "null" { k = $1 " " $2 " " $3; if (!(k in n)) keys[++nk] = k; v[k, ++n[k]] = $5
		if (!(k in lo) || $5 < lo[k]) lo[k] = $5; if (!(k in hi) || $5 > hi[k]) hi[k] = $5 }
	END { for (i = 1; i <= nk; i++) { k = keys[i]; for (j = 1; j <= n[k]; j++) x[j] = v[k, j]
		print k, median(x, n[k]), lo[k], hi[k], n[k]; delete x } }' "$work/rec")
summary() { echo "${SUM["$1 $2 $3"]:-}"; }

# The rows: "section metric label" (ratio rows are made below).
ROWS=(
	"tracer_cpu crr_pct|tracer CPU during crr, % of 1 core"
	"tracer_cpu rr_pct|tracer CPU during rr, % of 1 core"
	"tracer_cpu stream_pct|tracer CPU during stream, % of 1 core"
	"tracer_cpu crr_ms_per_1k_conn|tracer CPU per 1k conn (ms) = % of 1 core at 10k conn/s"
	"cost floor_tp_crr|empty tp_btf on set_state: bpf_stats' floor, ns/hit (crr)"
	"cost floor_tc_crr|empty TC egress: bpf_stats' floor, ns/packet (crr)"
	"cost floor_tc_stream|empty TC egress: bpf_stats' floor, ns/packet (stream)"
	"cost tp_mean_crr|tracepoint handler, mean ns/hit (crr)"
	"cost set_state_btf_crr|set_state handler, ns/hit (crr)"
	"cost nic_mean_crr|NIC hooks, mean ns/packet (crr)"
	"cost nic_mean_rr|NIC hooks, mean ns/packet (rr)"
	"cost nic_mean_stream|NIC hooks, mean ns/packet (stream)"
	"cost nic_tc_in_crr|TC ingress, ns/packet (crr)"
	"cost nic_tc_out_crr|TC egress, ns/packet (crr)"
	"cost nic_tc_out_stream|TC egress, ns/packet (stream)"
	"cost connect_exit_tp_rr|connect() exit hook, ns/hit (rr)"
	"syscalls getppid_ns|getppid(), ns/call"
	"syscalls connect_us|connect() to loopback, us/call"
	"syscalls others_hooking|others' syscall tracepoint programs (none arm)"
	"storm crr_conn_per_s|storm crr: connections/s"
	"storm crr_events_per_s|storm crr: events/s sent (+ lost)"
	"storm crr_delivered_per_s|storm crr: events/s read"
	"storm crr_lost|storm crr: events lost"
	"storm crr_unaccounted|storm crr: events neither read nor lost"
	"storm crr_events_per_conn|storm crr: events per connection"
	"storm crr_tracer_cpu_pct|storm crr: tracer CPU, % of 1 core"
	"storm refused_conn_per_s|storm refused: connects/s"
	"storm refused_events_per_s|storm refused: events/s sent (+ lost)"
	"storm refused_lost|storm refused: events lost"
	"storm refused_unaccounted|storm refused: events neither read nor lost"
	"storm refused_tracer_cpu_pct|storm refused: tracer CPU, % of 1 core"
	"flows rss_mib|$FLOWS flows: RSS, MiB"
	"flows hwm_mib|$FLOWS flows: peak RSS, MiB"
	"flows maps_mib|$FLOWS flows: kernel maps, MiB"
	"flows idle_cpu_pct|$FLOWS flows: tracer CPU while idle, %"
	"flows tracked|$FLOWS flows: tracked at exit"
	"flows untracked_sockets|$FLOWS flows: sockets the table did not take"
	"flows open_s|$FLOWS flows: seconds to open them"
	"stop lost|stopped ${STOP_SECS} s: events lost"
	"stop unaccounted|stopped: events neither read nor lost"
	"stop read_after_resume|stopped: events read after SIGCONT"
	"stop rss_before_mib|stopped: RSS before, MiB"
	"stop rss_after_mib|stopped: RSS after, MiB"
	"footprint attach_ms|attach (stats attach_us), ms"
	"footprint start_to_tracing_ms|start to \"tracing\" line, ms"
	"footprint maps_mib|kernel maps, MiB"
	"footprint hwm_mib|peak RSS (throughput and syscall runs), MiB"
)

# cell MEDIAN MIN MAX N: "median [min..max]", or the median alone for one run.
# num X: three significant digits, whole numbers from 100 up.
num() {
	case "$1" in
	*.*) if [ "${1%%.*}" -ge 100 ] 2>/dev/null || [ "${1%%.*}" -le -100 ] 2>/dev/null; then
		printf '%.0f' "$1"
	else
		printf '%.3g' "$1"
	fi ;;
	*) printf '%s' "$1" ;;
	esac
}
cell() {
	if [ -z "$1" ]; then
		echo -
	elif [ "${4:-1}" -gt 1 ] && [ "$2" != "$3" ]; then
		echo "$(num "$1") [$(num "$2")..$(num "$3")]"
	else
		num "$1"
		echo
	fi
}

echo "medians of $ROUNDS rounds [min..max] ($(date -u +%FT%TZ), $NCPU CPUs, load average $(load_avg))"
{
	printf '%s' "what"
	for a in "${arms[@]}"; do printf '\t%s' "$a"; done
	echo
	# throughput as ratios of medians to none, the rounds' ratios as the spread
	for w in $WORKLOADS; do
		grep -q "^throughput $w " "$work/rec" || continue
		printf '%s' "$w throughput / none"
		for a in "${arms[@]}"; do
			printf '\t%s' "$(awk -v w="$w" -v a="$a" "$AWK_MEDIAN"'
				$1 == "throughput" && $2 == w && $3 == "none" { n0[++k0] = $5; base[$4] = $5 }
				$1 == "throughput" && $2 == w && $3 == a { n1[++k1] = $5; v[$4] = $5 }
				END {
					if (!k0 || !k1) { print "-"; exit }
					m = median(n1, k1) / median(n0, k0); lo = ""; hi = ""
					for (r in v) if (r in base) { q = v[r] / base[r]; if (lo == "" || q < lo) lo = q; if (hi == "" || q > hi) hi = q }
					if (k1 > 1) printf "%.3f [%.3f..%.3f]\n", m, lo, hi; else printf "%.3f\n", m
				}' "$work/rec")"
		done
		echo
		printf '%s' "$w CPU per unit / none"
		for a in "${arms[@]}"; do
			read -r m0 _ <<<"$(summary throughput "${w}_cpu_us_per_unit" none)"
			read -r m1 _ <<<"$(summary throughput "${w}_cpu_us_per_unit" "$a")"
			printf '\t%s' "$(awk -v a="${m1:-}" -v b="${m0:-}" 'BEGIN { if (a == "" || b == "" || !b) print "-"; else printf "%.3f\n", a / b }')"
		done
		echo
	done
	for row in "${ROWS[@]}"; do
		IFS='|' read -r key label <<<"$row"
		read -r s m <<<"$key"
		line=$label
		any=
		for a in "${arms[@]}"; do
			read -r med lo hi n <<<"$(summary "$s" "$m" "$a")"
			[ -n "${med:-}" ] && any=1
			line+=$'\t'"$(cell "${med:-}" "${lo:-}" "${hi:-}" "${n:-}")"
		done
		[ -n "$any" ] && echo "$line"
	done
} >"$work/table"
column -t -s $'\t' "$work/table" 2>/dev/null || cat "$work/table"
if [ -s "$work/diagnoses" ]; then
	echo "diagnoses on bench traffic (false alarms? the refused storm and the stop are expected to have some):"
	sort "$work/diagnoses" | uniq | head -20
fi

# ------------------------------------------------------------ verdicts

echo
echo "== targets"
med() { summary "$@" | cut -d' ' -f1; }
for w in $WORKLOADS; do
	ratio=$(awk -v w="$w" "$AWK_MEDIAN"'
		$1 == "throughput" && $2 == w && $3 == "none" { a[++na] = $5 }
		$1 == "throughput" && $2 == w && $3 == "tracer" { b[++nb] = $5 }
		END { if (na && nb) printf "%.3f", median(b, nb) / median(a, na) }' "$work/rec")
	[ -n "$ratio" ] || continue
	target "$(awk -v r="$ratio" -v t="${TARGET[$w]}" 'BEGIN { print (r >= t) ? 1 : 0 }')" \
		"throughput $w: tracer/none $ratio (target >= ${TARGET[$w]})"
	if [ "$w" = crr ] && [ -n "$(med throughput crr tcpdump)" ]; then
		td=$(awk -v a="$(med throughput crr tcpdump)" -v b="$(med throughput crr none)" 'BEGIN { printf "%.3f", a / b }')
		target "$(awk -v r="$ratio" -v t="$td" 'BEGIN { print (r > t) ? 1 : 0 }')" \
			"throughput crr: tracer $ratio above tcpdump -w $td"
	fi
done
x=$(med tracer_cpu crr_ms_per_1k_conn tracer)
[ -n "$x" ] && target "$(awk -v x="$x" -v m="$CPU_PCT_MAX" 'BEGIN { print (x <= m) ? 1 : 0 }')" \
	"tracer CPU at 10k connections/s: $x% of one core ($x ms per 1k connections during crr; target <= $CPU_PCT_MAX%)"
for k in tp nic; do
	for w in $WORKLOADS; do
		x=$(med cost "${k}_mean_$w" tracer)
		[ -n "$x" ] || continue
		max=$([ "$k" = tp ] && echo "$TP_NS_MAX" || echo "$NIC_NS_MAX")
		target "$(awk -v x="$x" -v m="$max" 'BEGIN { print (x <= m) ? 1 : 0 }')" \
			"handler mean, all $([ "$k" = tp ] && echo "tracepoint hits" || echo "NIC hook packets") (tracer, $w): $x ns (target <= $max)"
	done
done
for m in getppid_ns connect_us; do
	a=$(med syscalls "$m" none) b=$(med syscalls "$m" tracer)
	[ -n "$a" ] && [ -n "$b" ] || continue
	# measurable: slower by SYSCALL_SLOWDOWN_PCT in the medians, and in every round
	every=$(awk -v m="$m" '$1 == "syscalls" && $2 == m && $3 == "none" { n[$4] = $5 }
		$1 == "syscalls" && $2 == m && $3 == "tracer" { t[$4] = $5 }
		END { s = 1; k = 0; for (r in t) if (r in n) { k++; if (t[r] <= n[r]) s = 0 } print k ? s : 0 }' "$work/rec")
	pct=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (b / a - 1) * 100 }')
	others=$(med syscalls others_hooking none)
	if [ "${others:-0}" != 0 ] && [ "$m" = getppid_ns ]; then
		echo "  unrelated syscalls (getppid): $a ns without, $b ns with the tracer ($pct%): not a measurement of" \
			"the tracer: $others programs of other processes hooked syscall tracepoints during the none arm" \
			"(bpftool perf), so every arm paid the slow system call path"
	elif [ "$m" = getppid_ns ]; then
		target "$(awk -v p="$pct" -v e="$every" -v lim="$SYSCALL_SLOWDOWN_PCT" 'BEGIN { print (p < lim || !e) ? 1 : 0 }')" \
			"unrelated syscalls (getppid): $a ns without, $b ns with the tracer ($pct%, slower in every round: $([ "$every" = 1 ] && echo yes || echo no); target: no measurable slowdown, < $SYSCALL_SLOWDOWN_PCT% or not in every round)"
	else
		echo "  connect() to loopback: $a us without, $b us with the tracer ($pct%): a traced connection's own cost"
	fi
done
for kind in crr refused; do
	rate=$(med storm "${kind}_events_per_s" tracer)
	[ -n "$rate" ] || continue
	lost=$(awk -v k="${kind}_lost" '$1 == "storm" && $2 == k && $3 == "tracer" { s += $5 } END { print s + 0 }' "$work/rec")
	if [ "$lost" -eq 0 ]; then
		target "$(awk -v r="$rate" -v m="$STORM_EVENTS_MIN" 'BEGIN { print (r >= m) ? 1 : 0 }')" \
			"storm $kind: no event lost at $rate events/s (target: none lost at $STORM_EVENTS_MIN/s$(awk -v r="$rate" -v m="$STORM_EVENTS_MIN" 'BEGIN { if (r < m) printf "; this machine made only %d/s", r }'))"
	else
		target "$(awk -v r="$rate" -v m="$STORM_EVENTS_MIN" 'BEGIN { print (r > m) ? 1 : 0 }')" \
			"storm $kind: $lost events lost at $rate events/s (target: none lost up to $STORM_EVENTS_MIN/s)"
	fi
done
for a in "${stress_arms[@]}"; do
	for s in "storm crr_unaccounted" "storm refused_unaccounted" "stop unaccounted"; do
		read -r sec m <<<"$s"
		u=$(awk -v s="$sec" -v m="$m" -v a="$a" '$1 == s && $2 == m && $3 == a { t += ($5 < 0 ? -$5 : $5); n++ } END { if (n) print t }' "$work/rec")
		[ -n "$u" ] || continue
		sane "$([ "$u" -eq 0 ] && echo 1 || echo 0)" \
			"$a, $sec ${m%_unaccounted}: every event the kernel sent was read or counted lost ($u unaccounted)"
	done
	x=$(awk -v a="$a" '$1 == "stop" && $2 == "read_after_resume" && $3 == a { if (min == "" || $5 < min) min = $5 } END { print min }' "$work/rec")
	[ -n "$x" ] && sane "$([ "$x" -gt 0 ] && echo 1 || echo 0)" \
		"$a, stopped consumer: delivery resumes after SIGCONT (fewest events read after it in a round: $x)"
	x=$(med stop hwm_mib "$a")
	[ -n "$x" ] && target "$(awk -v x="$x" -v m="$RSS_MIB_MAX" 'BEGIN { print (x <= m) ? 1 : 0 }')" \
		"$a, stopped consumer: memory bounded, peak RSS $x MiB (target <= $RSS_MIB_MAX MiB)"
done
x=$(med flows hwm_mib tracer)
[ -n "$x" ] && target "$(awk -v x="$x" -v m="$RSS_MIB_MAX" 'BEGIN { print (x <= m) ? 1 : 0 }')" \
	"RSS at $FLOWS flows: peak $x MiB (target <= $RSS_MIB_MAX MiB at 100k)"
x=$(awk '$1 == "footprint" && $2 == "maps_mib" && $3 == "tracer" { if ($5 > m) m = $5 } END { if (m != "") print m }' "$work/rec")
[ -n "$x" ] && target "$(awk -v x="$x" -v m="$MAPS_MIB_MAX" 'BEGIN { print (x <= m) ? 1 : 0 }')" \
	"kernel maps, default options: $x MiB at most (target <= $MAPS_MIB_MAX MiB)"
x=$(awk '$1 == "footprint" && $2 == "start_to_tracing_ms" && $3 == "tracer" { if ($5 > m) m = $5 } END { if (m != "") print m }' "$work/rec")
y=$(med footprint attach_ms tracer)
[ -n "$x" ] && target "$(awk -v x="$y" -v m="$ATTACH_MS_MAX" 'BEGIN { print (x < m) ? 1 : 0 }')" \
	"attach: median $y ms (the tracer's attach_us), slowest start to \"tracing\" line $x ms (target < $ATTACH_MS_MAX ms)"
lost=$(awk '$1 == "throughput" && $2 ~ /_events_lost$/ { s += $5 } END { print s + 0 }' "$work/rec")
want throughput && sane "$([ "$lost" -eq 0 ] && echo 1 || echo 0)" "no lost event during the throughput runs ($lost lost)"

# ------------------------------------------------------------ JSON

mkdir -p "$(dirname "$JSON_OUT")"
jq -n -R --arg kernel "$(uname -r)" --argjson cpus "$NCPU" --arg load "$(load_avg)" \
	--argjson rounds "$ROUNDS" --argjson quick "$QUICK" --arg commit "$(git -C "$top" describe --always --dirty 2>/dev/null)" \
	--arg date "$(date -u +%FT%TZ)" --arg arms "${arms[*]}" --arg sections "$SECTIONS" \
	--argjson flows "$FLOWS" --argjson stop_s "$STOP_SECS" --argjson storm_s "$STORM_SECS" \
	--rawfile rec "$work/rec" --rawfile verdicts "$work/verdicts" '
	def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	{
		meta: { date: $date, kernel: $kernel, cpus: $cpus, load_average: ($load | tonumber),
			commit: $commit, quick: ($quick == 1), rounds: $rounds, arms: ($arms | split(" ")),
			sections: ($sections | split(" ")), flows: $flows, stop_s: $stop_s, storm_s: $storm_s },
		results: ([$rec | split("\n")[] | select(length > 0) | split(" ")
				| select(.[4] != "null") | { s: .[0], m: .[1], a: .[2], v: (.[4] | tonumber) }]
			| group_by([.s, .m, .a])
			| map({ s: .[0].s, m: .[0].m, a: .[0].a, vals: map(.v) })
			| reduce .[] as $g ({}; .[$g.s][$g.m][$g.a] = { median: ($g.vals | med),
				min: ($g.vals | min), max: ($g.vals | max), n: ($g.vals | length), values: $g.vals })),
		verdicts: [$verdicts | split("\n")[] | select(length > 0)
			| { ok: (.[0:1] == "1"), what: .[2:] }]
	}' >"$JSON_OUT.tmp" && mv "$JSON_OUT.tmp" "$JSON_OUT" || die "could not write $JSON_OUT"
# the smoke version checks that every section it ran made its figures
for s in $SECTIONS; do
	case "$s" in syscalls | storm | flows | stop) [ "${#stress_arms[@]}" -gt 0 ] || continue ;; esac
	sane "$(jq --arg s "$s" 'if .results[$s] then 1 else 0 end' "$JSON_OUT")" \
		"section $s has figures in the JSON"
done

[ -n "$sec_name" ] && times+="$sec_name $((SECONDS - sec_t0)) s"
echo
echo "load average at the end: $(load_avg) (1 min); took $((SECONDS - t_start)) s ($times)"
echo "json ($JSON_OUT):"
jq -c . "$JSON_OUT"
if [ "$QUICK" = 1 ]; then
	if [ "${#broken[@]}" -eq 0 ]; then
		echo "PASS bench/smoke"
	else
		echo "FAIL bench/smoke: $(printf '%s; ' "${broken[@]}")"
		exit 1
	fi
	exit 0
fi
echo "bench: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
