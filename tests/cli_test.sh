#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Bad input never crashes the tracer: each case gets one clear line on
# stderr naming what is wrong, and the brief's exit code (2 usage, 1 runtime).
# Prints PASS/FAIL/SKIP lines for tests/run.sh.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TCPTRACE:-$ROOT/build/tcptrace-bpf}
TMP=$(mktemp -d)
NS=tt-cli-$$	# a namespace of this run's own, for the tests that need one
cleanup() {
	[ -n "${server:-}" ] && kill "$server" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# expect NAME CODE PATTERN -- ARGS...: exit code CODE and stderr matching PATTERN.
expect() {
	local name=$1 code=$2 pattern=$3; shift 4
	local rc=0
	timeout 20 "$BIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
	if [ "$rc" -ne "$code" ]; then
		echo "FAIL cli-$name: exit $rc, expected $code; stderr: $(head -c 300 "$TMP/err")"
	elif [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$TMP/err"; then
		echo "FAIL cli-$name: stderr does not say /$pattern/: $(head -c 300 "$TMP/err")"
	elif [ "$rc" -ge 128 ]; then
		echo "FAIL cli-$name: killed by signal $((rc - 128))"
	else
		echo "PASS cli-$name"
	fi
}

# our_programs: how many more of the tracer's programs the kernel holds
# than before the test's tracer started ($baseline: another tracer may run
# beside the tests). It frees them after an RCU grace period: wait a moment.
count_programs() { bpftool prog show 2>/dev/null | grep -c 'set_state_btf\|sock_scan\|nic_tc_in'; }
our_programs() {
	local n=0
	for _ in $(seq 40); do
		n=$(( $(count_programs) - baseline ))
		[ "$n" -le 0 ] && { n=0; break; }
		sleep 0.05
	done
	echo "$n"
}
if [ ! -x "$BIN" ]; then
	echo "FAIL cli: $BIN is not built"
	exit 1
fi

expect unknown-option   2 'unrecognized option'            -- --bogus
expect stray-argument   2 "unexpected argument 'foo'"      -- foo
expect port-zero        2 "invalid port '0'"               -- -p 0
expect port-too-big     2 "invalid port '70000'"           -- -p 70000
expect port-not-number  2 "invalid port 'http'"            -- -p http
expect host-not-address 2 "invalid host 'service-b'"       -- -H service-b
expect duration-negative 2 "invalid duration '-5'"         -- -d -5
expect interval-too-small 2 "invalid interval '1'"         -- --interval 1
expect loss-over-100    2 "invalid loss-pct '101'"         -- --loss-pct 101
expect max-flows-tiny   2 "invalid max-flows '10'"         -- --max-flows 10
expect tc-and-xdp       2 'exclude each other'             -- --tc --xdp
expect no-nic-and-iface 2 'no-nic excludes'                -- --no-nic -i eth0
expect netns-missing    2 'no-such-ns: No such file'       -- --netns /run/netns/no-such-ns -d 1
expect netns-not-netns  2 'not a network namespace'        -- --netns /etc/hostname -d 1
expect output-unwritable 2 'cannot write /nonexistent/x.json.gz: No such file' -- -o /nonexistent/x.json.gz -d 1
expect rotate-without-o 2 'need -o FILE'                   -- --rotate 1M
expect cgroup-missing   2 'not a directory of the cgroup v2 hierarchy' -- --cgroup /nonexistent/x.service -d 1
expect cgroup-not-cgroup 2 'not a directory of the cgroup v2 hierarchy' -- --cgroup /etc -d 1
expect record-unwritable 2 'cannot write the recording /nonexistent/x.ttr: No such file' -- -w /nonexistent/x.ttr -d 1
expect replay-missing   1 'cannot replay /nonexistent/x.ttr: No such file' -- replay /nonexistent/x.ttr
expect replay-foreign   1 'cannot replay /etc/hostname: it is not a tcptrace-bpf recording' -- replay /etc/hostname
expect replay-no-file   2 'replay needs a recording'        -- replay -j
expect replay-live-only 2 'netns is for live tracing'      -- replay /etc/hostname --netns /run/netns/x
expect correlate-one    2 'correlate needs two recordings'  -- correlate /etc/hostname
expect correlate-foreign 1 'cannot correlate /etc/hostname: it is not a tcptrace-bpf recording' -- correlate /etc/hostname /etc/hostname
expect metrics-port-zero 2 "invalid metrics port '0'"      -- --metrics 0
expect metrics-port-big  2 "invalid metrics port '70000'"   -- --metrics 70000
expect metrics-bad-addr  2 "invalid metrics address 'localhost:9100'" -- --metrics localhost:9100
expect metrics-v6-brackets 2 'write IPv6 as \[ADDR\]:PORT' -- --metrics ::1:9100
expect metrics-endpoints-zero 2 "invalid metrics-max-endpoints '0'" -- --metrics 9100 --metrics-max-endpoints 0
expect otlp-not-http    2 "invalid OTLP URL 'ftp://collector': expected http:// or https://" -- --otlp ftp://collector
expect otlp-no-host     2 "invalid OTLP URL 'http:///v1'"  -- --otlp http:///v1
expect otlp-conns-alone 2 'otlp-conns needs --otlp URL'     -- --otlp-conns
expect help             0 ''                               -- --help
expect version          0 ''                               -- --version
grep -q "tcptrace-bpf [0-9]" "$TMP/out" || echo "FAIL cli-version-text: --version printed '$(cat "$TMP/out")'"

# This kernel takes tp_btf: a handler the verifier refuses would fall back
# to the classic twins unnoticed but for this check.
if [ "$(id -u)" -eq 0 ]; then
	if timeout 20 "$BIN" -d 1 -p 9 -j --no-nic 2>"$TMP/err" |
		jq -e 'select(.type == "stats") | .tracepoints == "tp_btf"' >/dev/null; then
		echo "PASS cli-tp-btf-loads"
	else
		echo "FAIL cli-tp-btf-loads: $(head -c 300 "$TMP/err")"
	fi
fi

# Under -j the fault is also a JSON record on stdout.
expect json-error 2 'not a network namespace' -- --netns /etc/hostname -j
if jq -e 'select(.type == "error") | .message | test("not a network namespace")' "$TMP/out" >/dev/null 2>&1; then
	echo "PASS cli-json-error-record"
else
	echo "FAIL cli-json-error-record: stdout was '$(head -c 300 "$TMP/out")'"
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP cli-runtime-faults: needs root"
	exit 0
fi

# An interface named by the user that cannot take the hook is fatal (one
# not named is skipped with a note): loopback is not Ethernet.
expect iface-loopback 1 'cannot attach: lo: not an Ethernet interface' -- -i lo -d 1
expect iface-missing  2 "no interface 'nosuch0'"                        -- -i nosuch0 -d 1

# --metrics on a port in use, or on an address of no interface here: one
# line, exit 2, before anything is loaded.
busy_port() {
	python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True)
sys.stdin.read()' 2>/dev/null
}
if command -v python3 >/dev/null; then
	coproc HOLDER { busy_port; }
	read -r held <&"${HOLDER[0]}"
	expect metrics-port-in-use 2 "cannot serve metrics on 127.0.0.1:$held: Address already in use" \
		-- --metrics "$held" -d 1
	kill "$HOLDER_PID" 2>/dev/null; wait "$HOLDER_PID" 2>/dev/null
else
	echo "SKIP cli-metrics-port-in-use: no python3 to hold a port"
fi
expect metrics-not-local 2 'cannot serve metrics on 192.0.2.1:9100: Cannot assign requested address' \
	-- --metrics 192.0.2.1:9100 -d 1

# No privileges: an unprivileged user, all capabilities dropped.
if command -v setpriv >/dev/null; then
	cp "$BIN" "$TMP/tt" && chmod 755 "$TMP" "$TMP/tt"
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$TMP/tt" -d 1 >"$TMP/out" 2>"$TMP/err" || rc=$?
	if [ "$rc" -eq 1 ] && grep -q 'not enough privileges' "$TMP/err"; then
		echo "PASS cli-no-privileges"
	else
		echo "FAIL cli-no-privileges: exit $rc: $(head -c 300 "$TMP/err")"
	fi
else
	echo "SKIP cli-no-privileges: setpriv missing"
fi

# No BTF: hide /sys/kernel/btf in a private mount namespace.
rc=0
unshare -m sh -c 'mount -t tmpfs none /sys/kernel/btf && exec "$0" -d 1' "$BIN" \
	>"$TMP/out" 2>"$TMP/err" || rc=$?
if [ "$rc" -eq 1 ] && grep -q 'no BTF' "$TMP/err"; then
	echo "PASS cli-no-btf"
else
	echo "FAIL cli-no-btf: exit $rc: $(head -c 300 "$TMP/err")"
fi

# tracefs missing: classic tracepoints need it, and the tracer mounts it.
# A private mount namespace keeps the mount from outliving the test.
rc=0
unshare -m sh -c 'umount /sys/kernel/tracing 2>/dev/null; exec "$0" --classic -d 1' "$BIN" \
	>"$TMP/out" 2>"$TMP/err" || rc=$?
if [ "$rc" -eq 0 ] && grep -q 'classic tracepoints' "$TMP/err"; then
	echo "PASS cli-tracefs-mounted-by-tracer"
else
	echo "FAIL cli-tracefs-mounted-by-tracer: exit $rc: $(head -c 300 "$TMP/err")"
fi

# start_tracer ARGS...: the tracer in the background ($pid), after noting
# the programs loaded before it ($baseline). False unless it says it is
# tracing within 5 s: a tracer that never attached proves nothing below.
start_tracer() {
	baseline=$(count_programs)
	# emptied before the start: the job's own redirection may come after
	# the first look, and an earlier run's "tracing" line pass for this one
	: >"$TMP/err"
	"$BIN" "$@" >"$TMP/out" 2>>"$TMP/err" &
	pid=$!
	for _ in $(seq 100); do
		grep -q 'tcptrace-bpf: tracing' "$TMP/err" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 1
}

# SIGINT detaches within a second and still prints the exit summary.
if start_tracer; then
	start=$(date +%s%N)
	kill -INT "$pid"
	rc=0; wait "$pid" || rc=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	if [ "$rc" -eq 0 ] && [ "$ms" -lt 1000 ] && grep -q 'events (' "$TMP/out"; then
		echo "# SIGINT to exit: $ms ms"
		echo "PASS cli-sigint-detaches"
	else
		echo "FAIL cli-sigint-detaches: exit $rc after $ms ms; stdout: $(head -c 200 "$TMP/out")"
	fi
	left=$(our_programs)
	if [ "$left" -eq 0 ]; then
		echo "PASS cli-nothing-left-attached"
	else
		echo "FAIL cli-nothing-left-attached: $left programs still loaded"
	fi
else
	echo "FAIL cli-sigint-detaches: the tracer did not start: $(head -c 200 "$TMP/err")"
fi

# SIGKILL: links die with the process, so nothing stays attached and the
# next start is clean.
if start_tracer; then
	kill -KILL "$pid"; wait "$pid" 2>/dev/null
	left=$(our_programs)
	if [ "$left" -eq 0 ] && timeout 10 "$BIN" -d 1 >/dev/null 2>"$TMP/err"; then
		echo "PASS cli-sigkill-leaves-nothing"
	else
		echo "FAIL cli-sigkill-leaves-nothing: $left programs left; restart: $(head -c 200 "$TMP/err")"
	fi
else
	echo "FAIL cli-sigkill-leaves-nothing: the tracer did not start: $(head -c 200 "$TMP/err")"
fi

# held_ids PID: the BPF programs and links the process holds, as
# "prog ID" / "link ID" lines, from its fds' fdinfo (Debian's bpftool
# does not show owning pids). Exact, whatever other tracers run beside.
held_ids() {
	grep -h '^prog_id:\|^link_id:' /proc/"$1"/fdinfo/* 2>/dev/null |
		sed 's/_id:[[:space:]]*/ /' | sort -u
}
# still_held FILE: those of FILE's ids the kernel still has, after the
# RCU grace period that frees them (up to 2 s). A netlink TC filter left
# behind keeps its program, so it shows here too.
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

# SIGHUP (the terminal closed) stops the tracer like SIGINT: detached,
# the exit summary flushed, exit 0.
if start_tracer -p 9 -j; then
	held_ids "$pid" >"$TMP/ids"
	kill -HUP "$pid"
	rc=0; wait "$pid" || rc=$?
	left=$(still_held "$TMP/ids")
	if [ "$rc" -eq 0 ] && [ -s "$TMP/ids" ] && [ -z "$left" ] &&
	   jq -e 'select(.type == "stats")' "$TMP/out" >/dev/null 2>&1; then
		echo "PASS cli-sighup-clean-exit"
	else
		echo "FAIL cli-sighup-clean-exit: exit $rc, held $(wc -l <"$TMP/ids"), left: $left; stdout: $(head -c 200 "$TMP/out")"
	fi
else
	echo "FAIL cli-sighup-clean-exit: the tracer did not start: $(head -c 200 "$TMP/err")"
fi

# SIGPIPE: the reader of stdout went away (| head -n1). The tracer's next
# write raises it; it must detach and exit 0, not die of the signal (141).
# --conn-interval 1: under -j a stats record each second, the writes that
# meet the closed pipe.
rm -f "$TMP/pid" "$TMP/rc"
( "$BIN" -p 9 -j --conn-interval 1 2>"$TMP/err" & echo $! >"$TMP/pid"; wait $!
  echo $? >"$TMP/rc" ) | head -n1 >"$TMP/first" &
piped=$!
for _ in $(seq 100); do
	grep -q 'tcptrace-bpf: tracing' "$TMP/err" 2>/dev/null && [ -s "$TMP/pid" ] && break
	sleep 0.05
done
held_ids "$(cat "$TMP/pid" 2>/dev/null)" >"$TMP/ids"
# head is gone after the first record; the tracer must follow within a
# few of its writes (the rc file is written once it has exited).
for _ in $(seq 200); do [ -s "$TMP/rc" ] && break; sleep 0.05; done
[ -s "$TMP/rc" ] || kill -KILL "$(cat "$TMP/pid" 2>/dev/null)" 2>/dev/null
wait "$piped" 2>/dev/null
for _ in $(seq 20); do [ -s "$TMP/rc" ] && break; sleep 0.05; done
rc=$(cat "$TMP/rc" 2>/dev/null || echo none)
left=$(still_held "$TMP/ids")
if [ "$rc" = 0 ] && [ -s "$TMP/ids" ] && [ -z "$left" ] &&
   jq -e '.type == "stats"' "$TMP/first" >/dev/null 2>&1; then
	echo "PASS cli-sigpipe-clean-exit"
else
	echo "FAIL cli-sigpipe-clean-exit: exit $rc, held $(wc -l <"$TMP/ids"), left: $left; first line: $(head -c 200 "$TMP/first"); stderr: $(head -c 200 "$TMP/err")"
fi

# A failed socket scan is retried with backoff, never switched off: the
# tracer in a namespace of its own, a listener there (each scan reports
# it), then no fd to spare for the scan's iterator (its soft RLIMIT_NOFILE
# lowered to its lowest free fd: bpf_iter_create fails with EMFILE, a real
# failure of the real scan), then the limit restored. sockets_scanned must
# grow again, the failure be said once, and the recovery said.
ip netns add "$NS" && ip -n "$NS" link set lo up
ip netns exec "$NS" "$ROOT/build/peer" server -l 127.0.0.1 -p 9 -m answer -d 20000 \
	--ready-file "$TMP/ready" 2>/dev/null &
server=$!
for _ in $(seq 100); do [ -e "$TMP/ready" ] && break; sleep 0.05; done
# scanned: the last stats record's sockets_scanned.
scanned() { jq -s '[.[] | select(.type == "stats")] | last | .sockets_scanned // 0' "$TMP/out" 2>/dev/null; }
# stats_after N: wait (up to 5 s) for a stats record that shows more than N scanned.
stats_after() {
	for _ in $(seq 100); do [ "$(scanned)" -gt "$1" ] && return 0; sleep 0.05; done
	return 1
}
if start_tracer --netns "/run/netns/$NS" -j --no-nic --interval 100 --conn-interval 1; then
	soft=$(prlimit --pid "$pid" --nofile --noheadings -o SOFT)
	stats_after 0
	free=$(ls /proc/"$pid"/fd | sort -n | awk 'BEGIN { e = 0 } $1 == e { e++ } END { print e }')
	prlimit --pid "$pid" --nofile="$free":
	for _ in $(seq 100); do grep -q 'socket scan failed' "$TMP/err" && break; sleep 0.05; done
	sleep 1.5	# a backoff's retry meets the same wall
	before=$(scanned)
	prlimit --pid "$pid" --nofile="$soft":
	stats_after "$before"; grown=$?
	for _ in $(seq 60); do grep -q 'scan works again' "$TMP/err" && break; sleep 0.05; done
	kill -INT "$pid"; rc=0; wait "$pid" || rc=$?
	fails=$(grep -c 'socket scan failed' "$TMP/err")
	errors=$(jq -s '[.[] | select(.type == "stats")] | last | .scan_errors' "$TMP/out")
	if [ "$rc" -eq 0 ] && [ "$grown" -eq 0 ] && [ "$fails" -eq 1 ] && [ "${errors:-0}" -ge 2 ] &&
	   grep -q 'scan works again' "$TMP/err"; then
		echo "# scan failed $errors times, then scanned again ($before -> $(scanned) sockets)"
		echo "PASS cli-scan-retried-after-failure"
	else
		echo "FAIL cli-scan-retried-after-failure: exit $rc, scanned $before -> $(scanned), failure said $fails times, scan_errors $errors; stderr: $(head -c 400 "$TMP/err")"
	fi
else
	echo "FAIL cli-scan-retried-after-failure: the tracer did not start: $(head -c 200 "$TMP/err")"
fi

# Host-wide, a namespace no event came from is scanned too: there, a
# client's request made before the tracer started waits unanswered (the
# server read it and never answers). No hook fires for it; only the scan
# of that namespace sees it, found by a walk of /proc and /run/netns.
ip netns exec "$NS" python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 7)); s.listen(4)
c = socket.create_connection(("127.0.0.1", 7)); a, _ = s.accept()
c.sendall(b"x" * 64); a.recv(64)
open(sys.argv[1], "w").close(); time.sleep(20)' "$TMP/quiet.ready" 2>/dev/null &
quiet=$!
for _ in $(seq 100); do [ -e "$TMP/quiet.ready" ] && break; sleep 0.05; done
rc=0
timeout 30 "$BIN" -p 7 -d 4 --stall-ms 1000 --interval 200 -j --no-nic \
	>"$TMP/out" 2>"$TMP/err" || rc=$?
kill "$quiet" 2>/dev/null; wait "$quiet" 2>/dev/null
got=$(jq -r 'select(.type == "diagnosis" and (.rport == 7 or .lport == 7)) | .code' \
	"$TMP/out" 2>/dev/null | sort -u | paste -sd, -)
case "$rc,$got" in
0,*PEER_APP_STALL*)
	echo "# a namespace no event named: $got"
	echo "PASS cli-hostwide-quiet-namespace" ;;
*)
	echo "FAIL cli-hostwide-quiet-namespace: exit $rc, diagnoses '${got}' (want PEER_APP_STALL); stderr: $(head -c 300 "$TMP/err")" ;;
esac

# --otlp: a collector that answers 400 is never asked again with the same
# request; one that is down costs nothing but its retries, counted, and
# the tracer still stops cleanly (its last sends have a few seconds).
RECV=$ROOT/build/otlp_receiver
if [ -x "$RECV" ]; then
	mkdir -p "$TMP/otlp400"
	"$RECV" -d "$TMP/otlp400" -a 400,400,400,400,400,400,400,400 >"$TMP/otlp400/port" &
	recv=$!
	for _ in $(seq 50); do [ -s "$TMP/otlp400/port" ] && break; sleep 0.05; done
	rc=0
	timeout 30 "$BIN" --no-nic -p 9 -d 2 --otlp "http://127.0.0.1:$(cat "$TMP/otlp400/port")" \
		>"$TMP/out" 2>"$TMP/err" || rc=$?
	sleep 0.2
	kill "$recv" 2>/dev/null; wait "$recv" 2>/dev/null
	if [ "$rc" -eq 0 ] && [ "$(wc -l <"$TMP/otlp400/requests.log")" -eq 1 ] &&
	   grep -q '/v1/metrics gzip 400' "$TMP/otlp400/requests.log"; then
		echo "PASS cli-otlp-400-not-retried"
	else
		echo "FAIL cli-otlp-400-not-retried: exit $rc, requests: $(tr '\n' ';' <"$TMP/otlp400/requests.log")"
	fi
	start=$(date +%s%N)
	rc=0
	timeout 30 "$BIN" --no-nic -p 9 -d 2 --otlp http://127.0.0.1:1 >"$TMP/out" 2>"$TMP/err" || rc=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	if [ "$rc" -eq 0 ] && [ "$ms" -lt 9000 ]; then
		echo "# collector down: the tracer ran 2 s and stopped in $ms ms in all"
		echo "PASS cli-otlp-collector-down"
	else
		echo "FAIL cli-otlp-collector-down: exit $rc after $ms ms: $(head -c 300 "$TMP/err")"
	fi
	# a collector that takes the connection and never answers: a send in
	# flight at SIGTERM gets the stop budget (1 s; curl checks about once a
	# second), not its 10 s timeout
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$TMP/silent.port" &
	silent=$!
	for _ in $(seq 50); do [ -s "$TMP/silent.port" ] && break; sleep 0.05; done
	# emptied here, not by the background job's redirection: an earlier
	# tracer's "Ctrl-C to stop" would otherwise pass for this one's
	: >"$TMP/err"
	"$BIN" --no-nic -p 9 --otlp "http://127.0.0.1:$(cat "$TMP/silent.port")" --otlp-conns \
		>"$TMP/out" 2>>"$TMP/err" &
	tracer=$!
	for _ in $(seq 200); do grep -q 'Ctrl-C to stop' "$TMP/err" && break; sleep 0.05; done
	# a refused connect: a diagnosis and a conn record, sent within 1 s
	(exec 3<>/dev/tcp/127.0.0.1/9) 2>/dev/null
	sleep 2.5
	start=$(date +%s%N)
	kill -TERM "$tracer"
	rc=0
	wait "$tracer" || rc=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	kill "$silent" 2>/dev/null; wait "$silent" 2>/dev/null
	if [ "$rc" -eq 0 ] && [ "$ms" -lt 3000 ] && grep -q 'CONNECTION_REFUSED' "$TMP/out"; then
		echo "# silent collector: stopped $ms ms after SIGTERM"
		echo "PASS cli-otlp-collector-silent"
	else
		echo "FAIL cli-otlp-collector-silent: exit $rc, $ms ms after SIGTERM: $(head -c 300 "$TMP/err")"
	fi
else
	echo "SKIP cli-otlp: $RECV not built"
fi
