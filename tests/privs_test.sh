#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Least privilege, with the real tracer in a namespace of the test's own:
#   - CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN are enough: a non-root user
#     holding just those (ambient, as systemd's AmbientCapabilities= gives
#     them) attaches, diagnoses a refused connection and scans sockets;
#   - once attached, every thread of the tracer holds only what the rest
#     of its run needs (on a kernel with tcx and bpf() that checks no
#     capability on fds already held: nothing), from the bounding set too,
#     with no_new_privs; with --user it runs as that user;
#   - events keep flowing after the drop, and SIGINT still detaches:
#     exit 0, and no program or link of the tracer's left in the kernel;
#   - a missing capability is one line naming it, exit 1.
# Prints PASS/FAIL/SKIP lines for tests/run.sh.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TCPTRACE:-$ROOT/build/tcptrace-bpf}
PEER=${PEER:-$ROOT/build/peer}
# The port the tracer is filtered to: a listener on 127.0.0.1, and nothing
# on 127.0.0.2 (a refusal).
PORT=9207
TMP=$(mktemp -d)
NS=tt-privs-$$
cleanup() {
	[ -n "${server:-}" ] && kill "$server" 2>/dev/null
	[ -n "${pid:-}" ] && kill -KILL "$pid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP privs: needs root (namespaces, and capabilities to hand out)"
	exit 0
fi
for tool in setpriv jq bpftool; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP privs: $tool is not installed"
		exit 0
	fi
done
if [ ! -x "$BIN" ] || [ ! -x "$PEER" ]; then
	echo "FAIL privs: $BIN or $PEER is not built"
	exit 1
fi

# A user other than root must be able to run the binary wherever it is.
cp "$BIN" "$TMP/tcptrace-bpf" && chmod 755 "$TMP" "$TMP/tcptrace-bpf"
BIN=$TMP/tcptrace-bpf
NOBODY=$(id -u nobody 2>/dev/null || echo 65534)

# The namespace: a veth pair for the interface hooks (CAP_NET_ADMIN),
# loopback for the traffic, a listener for the socket scan to find.
ip netns add "$NS" && ip -n "$NS" link set lo up &&
	ip -n "$NS" link add tp0 type veth peer name tp1 &&
	ip -n "$NS" link set tp0 up && ip -n "$NS" link set tp1 up || {
	echo "FAIL privs: cannot build the namespace"
	exit 1
}
ip netns exec "$NS" "$PEER" server -l 127.0.0.1 -p "$PORT" -m answer -d 3600000 \
	--ready-file "$TMP/ready" 2>/dev/null &
server=$!
for _ in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.05; done

# Before 5.11 BPF maps are charged to RLIMIT_MEMLOCK, which the three
# capabilities cannot raise (CAP_SYS_RESOURCE could): raised for them, as
# systemd's LimitMEMLOCK=infinity or a container runtime does.
MEMLOCK=()
v=$(uname -r); maj=${v%%.*}; min=${v#*.}; min=${min%%[!0-9]*}
if [ "$maj" -lt 5 ] || { [ "$maj" -eq 5 ] && [ "$min" -lt 11 ]; }; then
	MEMLOCK=(prlimit --memlock=unlimited:unlimited --)
fi
# The three capabilities, as a non-root user gets them.
# shellcheck disable=SC2054 # commas inside setpriv's values
AS_NOBODY=(${MEMLOCK[@]+"${MEMLOCK[@]}"} setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups
	--inh-caps=-all,+bpf,+perfmon,+net_admin --ambient-caps=-all,+bpf,+perfmon,+net_admin)
# The same three, as root in a container gets them (its bounding set).
# shellcheck disable=SC2054
AS_CONTAINER=(${MEMLOCK[@]+"${MEMLOCK[@]}"} setpriv --bounding-set=-all,+bpf,+perfmon,+net_admin --inh-caps=-all)

# ------------------------------------------------------------ missing ones

# missing NAME WANT NOTWANT -- CMD...: exit 1 and one line on stderr that
# names WANT (an ERE) and none of NOTWANT.
missing() {
	local name=$1 want=$2 notwant=$3 rc=0
	shift 4

	timeout 20 "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
	if [ "$rc" -ne 1 ]; then
		echo "FAIL privs-$name: exit $rc, expected 1; stderr: $(head -c 300 "$TMP/err")"
	elif [ "$(wc -l <"$TMP/err")" -ne 1 ]; then
		echo "FAIL privs-$name: $(wc -l <"$TMP/err") lines on stderr: $(head -c 300 "$TMP/err")"
	elif ! grep -Eq -- "$want" "$TMP/err" || grep -Eq -- "$notwant" "$TMP/err"; then
		echo "FAIL privs-$name: stderr does not name /$want/ alone: $(cat "$TMP/err")"
	else
		echo "PASS privs-$name"
	fi
}

missing missing-net-admin 'missing CAP_NET_ADMIN \(' 'CAP_BPF|CAP_PERFMON|CAP_SYS' -- \
	setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups \
	--inh-caps=-all,+bpf,+perfmon --ambient-caps=-all,+bpf,+perfmon "$BIN" -d 1
missing missing-perfmon 'missing CAP_PERFMON \(' 'CAP_BPF|CAP_NET|CAP_SYS' -- \
	setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups \
	--inh-caps=-all,+bpf,+net_admin --ambient-caps=-all,+bpf,+net_admin "$BIN" -d 1
# Entering another namespace is setns(), which takes CAP_SYS_ADMIN.
missing missing-sys-admin 'missing CAP_SYS_ADMIN \(.*--netns' 'CAP_BPF|CAP_PERFMON|CAP_NET' -- \
	"${AS_NOBODY[@]}" "$BIN" --netns "/run/netns/$NS" -d 1
missing missing-setuid 'missing CAP_SETUID \(.*CAP_SETGID \(' 'CAP_BPF|CAP_PERFMON|CAP_NET|CAP_SYS' -- \
	"${AS_CONTAINER[@]}" "$BIN" --user nobody -d 1

# Before 5.11, the limit left as it is: the refusal looks like a missing
# capability (EPERM); the line must name the limit instead.
if [ "${#MEMLOCK[@]}" -gt 0 ]; then
	missing memlock-hint 'RLIMIT_MEMLOCK' 'missing CAP' -- \
		setpriv --bounding-set=-all,+bpf,+perfmon,+net_admin --inh-caps=-all \
		prlimit --memlock=65536:65536 -- "$BIN" --no-nic -d 1
else
	echo "SKIP privs-memlock-hint: this kernel charges BPF maps to its memory cgroup (5.11 and later)"
fi

# ------------------------------------------------------------ attached

# expected_caps TRACER_STDERR: the capability mask (CapPrm) the tracer
# should keep here: CAP_NET_ADMIN (12) where its interface hooks are
# netlink TC filters (no tcx, before 6.6), CAP_BPF (39) where bpf() wants
# it on every call (before 5.19, unprivileged BPF off).
expected_caps() {
	local mask=0 v maj min

	grep -q 'tracing .*interfaces*: .*\(tc/\|/tc\b\)' "$1" && mask=$((mask | 1 << 12))
	v=$(uname -r); maj=${v%%.*}; min=${v#*.}; min=${min%%[!0-9]*}
	if [ "$maj" -lt 5 ] || { [ "$maj" -eq 5 ] && [ "$min" -lt 19 ]; }; then
		[ "$(cat /proc/sys/kernel/unprivileged_bpf_disabled 2>/dev/null || echo 1)" != 0 ] &&
			mask=$((mask | 1 << 39))
	fi
	printf '%016x' "$mask"
}

# task_creds PID: one line a thread: "Uid CapPrm CapEff CapBnd CapAmb NoNewPrivs".
task_creds() {
	local t
	for t in /proc/"$1"/task/*; do
		awk '/^Uid:/ { u = $2 } /^CapPrm:/ { p = $2 } /^CapEff:/ { e = $2 }
		     /^CapBnd:/ { b = $2 } /^CapAmb:/ { a = $2 } /^NoNewPrivs:/ { n = $2 }
		     END { print u, p, e, b, a, n }' "$t/status"
	done
}

# held_ids PID: its BPF programs and links, from its fds' fdinfo.
held_ids() {
	grep -h '^prog_id:\|^link_id:' /proc/"$1"/fdinfo/* 2>/dev/null |
		sed 's/_id:[[:space:]]*/ /' | sort -u
}
# still_held FILE: those of FILE's ids the kernel still has after the RCU
# grace period that frees them (up to 2 s); a netlink filter left behind
# keeps its program.
still_held() {
	local left
	for _ in $(seq 40); do
		left=$(while read -r kind id; do
			bpftool "$kind" show id "$id" >/dev/null 2>&1 && echo "$kind $id"
		done <"$1")
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	echo "$left" | tr '\n' ' '
}

# refused FILE: a CONNECTION_REFUSED diagnosis in the JSON lines (any
# line: jq -e alone would judge the last).
refused() {
	jq -n -e 'any(inputs; .type == "diagnosis" and .code == "CONNECTION_REFUSED")' \
		"$1" >/dev/null 2>&1
}

# scanned FILE: sockets_scanned of the last stats record.
scanned() {
	local n
	n=$(jq -s '[.[] | select(.type == "stats")] | last | .sockets_scanned // 0' "$1" 2>/dev/null)
	echo "${n:-0}"
}

# attached NAME UID BOUNDING THREADS -- CMD...: the tracer started by CMD
# attaches; then every thread (THREADS of them) runs as UID with only the
# expected capabilities, the bounding set BOUNDING ("kept": the same as
# the kept ones; "any": not ours to drop) and no_new_privs; a refused
# connection is diagnosed and the listener scanned after the drop;
# SIGINT ends it with exit 0 and nothing of it left in the kernel.
attached() {
	local name=$1 uid=$2 bounding=$3 threads=$4 why=() want creds rc left
	shift 5

	"$@" >"$TMP/$name.json" 2>"$TMP/$name.err" </dev/null &
	pid=$!
	for _ in $(seq 200); do
		grep -q 'tcptrace-bpf: tracing' "$TMP/$name.err" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q 'tcptrace-bpf: tracing' "$TMP/$name.err"; then
		kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
		echo "FAIL privs-$name: did not attach: $(head -c 400 "$TMP/$name.err")"
		return
	fi
	held_ids "$pid" >"$TMP/$name.ids"
	want=$(expected_caps "$TMP/$name.err")
	creds=$(task_creds "$pid")
	[ "$(echo "$creds" | wc -l)" -eq "$threads" ] ||
		why+=("$(echo "$creds" | wc -l) threads, expected $threads")
	while read -r u p e b a n; do
		[ "$u" = "$uid" ] || why+=("a thread runs as uid $u")
		[ "$p" = "$want" ] && [ "$e" = "$want" ] ||
			why+=("a thread holds CapPrm $p CapEff $e, expected $want")
		[ "$bounding" = any ] || [ "$b" = "$want" ] || why+=("bounding set $b, expected $want")
		[ "$a" = 0000000000000000 ] || why+=("ambient set $a")
		[ "$n" = 1 ] || why+=("no_new_privs not set")
	done <<<"$creds"
	# after the drop: an event (the refusal), and a scan (the listener)
	ip netns exec "$NS" "$PEER" client -c 127.0.0.2 -p "$PORT" -m request \
		--expect ECONNREFUSED 2>/dev/null || why+=("the client was not refused")
	for _ in $(seq 100); do refused "$TMP/$name.json" && break; sleep 0.05; done
	# a stats record (one a second) that counts the listener: a scan ran
	for _ in $(seq 100); do [ "$(scanned "$TMP/$name.json")" -gt 0 ] && break; sleep 0.05; done
	kill -INT "$pid"
	rc=0; wait "$pid" || rc=$?
	pid=
	left=$(still_held "$TMP/$name.ids")
	[ "$rc" -eq 0 ] || why+=("exit $rc after SIGINT")
	[ -s "$TMP/$name.ids" ] || why+=("held no BPF program or link")
	[ -z "$left" ] || why+=("left in the kernel: $left")
	refused "$TMP/$name.json" || why+=("no CONNECTION_REFUSED after the drop")
	[ "$(scanned "$TMP/$name.json")" -gt 0 ] || why+=("no socket scanned after the drop")
	grep -q 'scan failed' "$TMP/$name.err" && why+=("$(grep -m1 'scan failed' "$TMP/$name.err")")
	if [ "${#why[@]}" -eq 0 ]; then
		echo "# privs-$name: kept $want; $(grep -c . "$TMP/$name.ids") programs and links, all gone after SIGINT"
		echo "PASS privs-$name"
	else
		echo "FAIL privs-$name: $(printf '%s; ' "${why[@]}")stderr: $(head -c 300 "$TMP/$name.err")"
	fi
}

# A non-root user with the three capabilities, started inside the
# namespace (it cannot enter one): tracefs is root's, so connect()'s
# classic tracepoint gives way to the raw syscall hooks, said at start.
attached three-caps "$NOBODY" any 1 -- \
	ip netns exec "$NS" "${AS_NOBODY[@]}" "$BIN" --netns "/run/netns/$NS" \
	-p "$PORT" -j --interval 100 --conn-interval 1
# Root in a container: the same three, its bounding set.
attached container-caps 0 any 1 -- \
	ip netns exec "$NS" "${AS_CONTAINER[@]}" "$BIN" --netns "/run/netns/$NS" \
	-p "$PORT" -j --interval 100 --conn-interval 1
# Root, another namespace, --user: the namespace's thread and the main one
# both become nobody, and hold nothing the run does not need.
attached root-user "$NOBODY" kept 2 -- \
	"$BIN" --netns "/run/netns/$NS" --user nobody -p "$PORT" -j --interval 100 \
	--conn-interval 1
# The netlink TC filters of kernels before 6.6 (forced here): the run
# keeps CAP_NET_ADMIN, and needs it, to remove them at exit as nobody.
attached root-user-netlink "$NOBODY" kept 2 -- \
	env TCPTRACE_NO_TCX=1 "$BIN" --netns "/run/netns/$NS" --user nobody -p "$PORT" -j \
	--interval 100 --conn-interval 1

# A killed tracer's netlink filters (before 6.6 nothing detaches them) are
# removed by the next start, even one holding the three capabilities
# alone: the program's name comes from the filter dump, not from opening
# the program by id, which takes CAP_SYS_ADMIN.
stale_removed() {
	local why=() a b handle rc

	env TCPTRACE_NO_TCX=1 "$BIN" --netns "/run/netns/$NS" -p "$PORT" \
		>/dev/null 2>"$TMP/stale-a.err" </dev/null &
	a=$!
	for _ in $(seq 200); do
		grep -q 'tcptrace-bpf: tracing' "$TMP/stale-a.err" 2>/dev/null && break
		kill -0 "$a" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$a" 2>/dev/null
	wait "$a" 2>/dev/null
	handle=$(printf '%x' "$a")
	if ! tc -n "$NS" filter show dev tp0 ingress | grep -q "handle 0x$handle "; then
		echo "FAIL privs-stale-filter-removed: the killed tracer left no filter: $(head -c 300 "$TMP/stale-a.err")"
		return
	fi
	ip netns exec "$NS" env TCPTRACE_NO_TCX=1 "${AS_NOBODY[@]}" "$BIN" \
		--netns "/run/netns/$NS" -p "$PORT" >/dev/null 2>"$TMP/stale-b.err" </dev/null &
	b=$!
	pid=$b
	for _ in $(seq 200); do
		grep -q 'tcptrace-bpf: tracing' "$TMP/stale-b.err" 2>/dev/null && break
		kill -0 "$b" 2>/dev/null || break
		sleep 0.05
	done
	grep -q 'tcptrace-bpf: tracing' "$TMP/stale-b.err" ||
		why+=("the second did not attach: $(head -c 300 "$TMP/stale-b.err")")
	for dev in tp0 tp1; do
		for dir in ingress egress; do
			tc -n "$NS" filter show dev "$dev" "$dir" | grep -q "handle 0x$handle " &&
				why+=("the killed tracer's $dev $dir filter is still there")
		done
	done
	kill -INT "$b"
	rc=0; wait "$b" || rc=$?
	pid=
	[ "$rc" -eq 0 ] || why+=("the second exited with $rc")
	if [ "${#why[@]}" -eq 0 ]; then
		echo "PASS privs-stale-filter-removed"
	else
		echo "FAIL privs-stale-filter-removed: $(printf '%s; ' "${why[@]}")"
	fi
}
stale_removed
