#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The soak (`make soak`, not part of `make test`): the lab's topology
# (tests/lab/lib.sh) for SOAK_SECONDS (600), healthy traffic at a steady
# rate beside faults injected one after another, both ends traced (a tracer
# on service-a's namespace, one on service-b's, every port) with every
# export on: JSON on stdout, -o gzip rotated, -w recording, --metrics,
# --otlp to the stand-in collector (build/otlp_receiver), --conns.
#
# Traffic (tests/peer.c, every payload byte the lab's marker):
#   healthy   two pooled connections, IPv4 and IPv6, an exchange every
#             200 ms each, and two short connections a second (IPv4 and
#             IPv6 in turn), all to service-b:7000, for the whole run;
#   faults    one every SOAK_FAULT_EVERY (6) seconds, in turn: refused (no
#             listener), crash (the server dies with the request unread:
#             PEER_RESET), syn (the router drops the SYNs: SYN_UNANSWERED),
#             loss (the router drops 10% of the data segments of a 3 s
#             push: PACKET_LOSS), hang (the server reads the request and
#             never answers: PEER_APP_STALL); a round in IPv4, the next in
#             IPv6. Each injection has a port of its own (KIND_BASE + its
#             number): no two fold into one diagnosis, and each diagnosis
#             names the injection it belongs to.
#
# It samples each tracer every SOAK_SAMPLE_S (10) seconds: RSS, open fds,
# the entries of each of its hash maps (bpftool map dump), and /metrics.
# At the end it asserts (a "FAIL soak/..." line each, else "PASS"):
#   flat      after the warm-up (the sample at 60 s, "minute 1"; a third of
#             a run shorter than 3 minutes), at the end:
#               RSS  its anonymous part (RssAnon: the tracer's own memory)
#                    <= minute 1 + max(10 %, 2 MiB). The whole RSS (less
#                    the pages of mmapped BPF maps: the ring buffer, kernel
#                    memory of a fixed size resident as the ring wraps) is
#                    reported, not held: ~11-15 MiB of it are the shared
#                    libraries' file pages, which the kernel takes back and
#                    brings in again as memory is short or code runs (3.2
#                    MiB taken back in one run: an end lower than minute
#                    1, a leak hidden; or the other way, a false alarm)
#               fds  <= minute 1 + 2
#               the maps' kernel memory <= minute 1 + max(10 %, 256 KiB)
#               each hash map's entries <= minute 1 + max(10 %, 64), but
#                    the NIC maps, which only their LRU empties (they fill
#                    with every new flow by design): <= their max_entries,
#                    their growth a minute reported
#   lost      no event lost (the stats records' events_lost, both ends),
#             and every event sent was read;
#   healthy   no warning or error for port 7000 at either end, and the
#             healthy clients saw every exchange succeed;
#   faults    each injection that happened (its client saw the fault) is
#             diagnosed with its code at the client end, and at the server
#             end where the server can see it (refused: PORT_CLOSED, crash:
#             LOCAL_RESET, hang: LOCAL_APP_STALL), by a diagnosis of its own
#             port; no warning or error the injections do not explain;
#   exports   the gzip files are whole and hold every conn record stdout
#             has, once; the recording replays to what was said live; the
#             collector took every OTLP request and nothing was dropped;
#             every scrape answered; no output holds the payload marker.
# Then one summary table. Exit 0 iff every assertion holds. Everything is
# removed on exit and Ctrl-C (lib.sh's lab_cleanup); LAB_KEEP=1 keeps the
# run directory. The table also goes to build/soak-summary.txt.
#
# USAGE
#   sudo make soak
#   sudo SOAK_SECONDS=60 tests/soak.sh        a short run, to try it
#
# Environment: SOAK_SECONDS (600), SOAK_SAMPLE_S (10), SOAK_FAULT_EVERY (6),
# SOAK_METRICS_PORT (19101: service-a's tracer; service-b's +1, on
# 127.0.0.1), TCPTRACE, PEER, LAB_KEEP.

set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab/lib.sh"

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_SAMPLE_S=${SOAK_SAMPLE_S:-10}
SOAK_FAULT_EVERY=${SOAK_FAULT_EVERY:-6}
SOAK_METRICS_PORT=${SOAK_METRICS_PORT:-19101}
if [ "$SOAK_SECONDS" -ge 180 ]; then WARMUP=60; else WARMUP=$((SOAK_SECONDS / 3)); fi
RECEIVER=$LAB_ROOT/build/otlp_receiver
SUMMARY_COPY=$LAB_ROOT/build/soak-summary.txt

HEALTHY_PORT=7000
KINDS=(refused crash syn loss hang)
declare -A KIND_BASE=([refused]=7100 [crash]=7200 [syn]=7300 [loss]=7400 [hang]=7500)
# the diagnosis each fault must get at the client (a) and at the server (b)
declare -A CODE_A=([refused]=CONNECTION_REFUSED [crash]=PEER_RESET [syn]=SYN_UNANSWERED
		   [loss]=PACKET_LOSS [hang]=PEER_APP_STALL)
declare -A CODE_B=([refused]=PORT_CLOSED [crash]=LOCAL_RESET [syn]="" [loss]=""
		   [hang]=LOCAL_APP_STALL)
# Maps nothing deletes from but their LRU (source_live.c: "Nothing deletes
# a NIC record"): their entries grow with every new flow until the LRU is
# full, by design; they are held to their size, not to flatness.
LRU_ONLY=(nic_flows nic_syns)
GROWTH=()
# what else an injection may rightly raise on its own port: the server of
# a lossy path sees the loss on its side too
declare -A ALSO_OK=([refused]="" [crash]="" [syn]="" [loss]=PACKET_LOSS [hang]="")

FAILS=0
RESULTS=()
result() {	# result PASS|FAIL NAME [WHY]
	RESULTS+=("$1 soak/$2${3:+: $3}")
	[ "$1" = FAIL ] && FAILS=$((FAILS + 1))
	return 0
}

now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

tracer_pid() { local var="TRACER_PID_soak_$1"; echo "${!var:-}"; }

# ------------------------------------------------------------ faults

# soak_inject K KIND FAM: one fault on its own port; one line in
# injections.tsv: number, kind, family, port, start (ms), the client's
# status (0: the fault happened as meant).
soak_inject() {
	local k=$1 kind=$2 fam=$3 port b t0 rc=1 name="inj$1"

	port=$((KIND_BASE[$kind] + k % 100))
	b=$(lab_addr "$fam" b)
	t0=$(now_ms)
	SERVER_PID=
	case "$kind" in
	refused)
		lab_client "$name" "$b" "$port" request --timeout-ms 3000 --expect ECONNREFUSED
		rc=$? ;;
	crash)
		lab_server "$name" "$b" "$port" crash --delay-ms 300 -d 30000 &&
			lab_client "$name" "$b" "$port" request --timeout-ms 5000 --expect ECONNRESET
		rc=$? ;;
	syn)
		lab_client "$name" "$b" "$port" request --timeout-ms 6000 --expect timeout
		rc=$? ;;
	loss)
		lab_server "$name" "$b" "$port" sink -d 30000 &&
			lab_client "$name" "$b" "$port" push -d 3000
		rc=$? ;;
	hang)
		lab_server "$name" "$b" "$port" hang -d 30000 &&
			lab_client "$name" "$b" "$port" request --timeout-ms 5000 --expect timeout
		rc=$? ;;
	esac
	# A server killed with the connection still open would reset it:
	# a fault of the harness's making. A lossy push's tail can still be
	# in flight when the client is done: wait for the server to read its
	# end (10 s at most).
	if [ -n "$SERVER_PID" ] && [ "$kind" != crash ]; then
		for _ in $(seq 100); do
			grep -q 'closed by client' "$LAB_DIR/$name.peer.log" 2>/dev/null && break
			sleep 0.1
		done
	fi
	lab_server_stop
	echo "$k $kind $fam $port $t0 $rc" >>"$LAB_DIR/injections.tsv"
}

# The router's faults, each on its kind's port range.
soak_nft() {
	local syn=${KIND_BASE[syn]} loss=${KIND_BASE[loss]}

	ip netns exec "$NS_R" nft -f - <<-EOF
	table inet soak {
		chain fault {
			type filter hook forward priority filter; policy accept;
			tcp dport $syn-$((syn + 99)) tcp flags & (syn | ack) == syn counter drop
			tcp dport $loss-$((loss + 99)) tcp flags & syn == 0 numgen random mod 100 < 10 counter drop
		}
	}
	EOF
}

# ------------------------------------------------------------ healthy traffic

# Two short connections a second, the families in turn, until END (ms).
soak_short_loop() {
	local end=$1 i=0 fam next

	next=$(now_ms)
	while [ "$(now_ms)" -lt "$end" ]; do
		fam=v4; [ $((i % 2)) -eq 1 ] && fam=v6
		if lab_client healthy-short "$(lab_addr "$fam" b)" "$HEALTHY_PORT" many -n 2 \
			--timeout-ms 5000; then
			echo ok >>"$LAB_DIR/healthy-short.tsv"
		else
			echo "fail $fam $(now_ms)" >>"$LAB_DIR/healthy-short.tsv"
		fi
		i=$((i + 1))
		next=$((next + 1000))
		while [ "$(now_ms)" -lt "$next" ]; do sleep 0.05; done
	done
}

# ------------------------------------------------------------ sampling

# soak_sample LABEL: one line a tracer in samples.tsv: label, seconds since
# tracing began, side, RSS less mmapped BPF maps (KiB), fds, the mmapped
# maps' resident KiB, the maps' kernel memory (KiB, bpftool's
# bytes_memlock), RssAnon (KiB), then NAME=ENTRIES for each hash map.
soak_sample() {
	local label=$1 side pid rss anon bpf kmem fds maps id type name n t

	t=$(( ($(now_ms) - T0) / 1000 ))
	for side in a b; do
		pid=$(tracer_pid "$side")
		[ -n "$pid" ] && [ -d "/proc/$pid" ] || continue
		# the ring buffer's pages (and other mmapped maps) are kernel
		# memory of a fixed size, resident as the ring wraps: apart
		read -r rss bpf <<<"$(awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 }
			$1 == "Rss:" { all += $2; if (name ~ /^anon_inode:bpf/) bpf += $2 }
			END { print all - bpf, bpf + 0 }' "/proc/$pid/smaps")"
		anon=$(awk '$1 == "RssAnon:" { print $2 }' "/proc/$pid/status")
		fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
		maps=
		kmem=0
		while read -r id type name _; do
			# the kernel's figure: what the map holds now where it
			# allocates as it fills, its whole size where preallocated
			n=$(bpftool -j map show id "$id" 2>/dev/null | jq '.bytes_memlock // 0' 2>/dev/null)
			kmem=$((kmem + ${n:-0}))
			case "$type" in *hash*) ;; *) continue ;; esac
			n=$(bpftool -j map dump id "$id" 2>/dev/null | jq length 2>/dev/null)
			maps+=" $name=${n:-?}"
		done <"$LAB_DIR/soak-$side.maplist"
		echo "$label $t $side $rss $fds $bpf $((kmem / 1024)) ${anon:-?}$maps" >>"$LAB_DIR/samples.tsv"
		if curl -s --max-time 2 "http://127.0.0.1:$(metrics_port "$side")/metrics" \
			>"$LAB_DIR/soak-$side.scrape.tmp" 2>/dev/null &&
		   grep -q '^tcptrace_events_total ' "$LAB_DIR/soak-$side.scrape.tmp"; then
			mv "$LAB_DIR/soak-$side.scrape.tmp" "$LAB_DIR/soak-$side.scrape.txt"
			echo ok >>"$LAB_DIR/scrapes-$side"
		else
			echo "fail $t" >>"$LAB_DIR/scrapes-$side"
		fi
	done
}

metrics_port() { [ "$1" = a ] && echo "$SOAK_METRICS_PORT" || echo $((SOAK_METRICS_PORT + 1)); }

# sample_value LABEL|first-after-warmup SIDE FIELD: a figure of one sample
# (FIELD: rss, fds, bpfmaps, kmem, anon, t (its time), or a map's name).
sample_value() {
	local which=$1 side=$2 field=$3

	awk -v which="$which" -v side="$side" -v field="$field" -v warm="$WARMUP" '
		$3 != side { next }
		which == "minute1" && ($1 != "run" || $2 < warm) { next }
		which != "minute1" && $1 != which { next }
		{
			if (field == "rss") v = $4
			else if (field == "fds") v = $5
			else if (field == "bpfmaps") v = $6
			else if (field == "kmem") v = $7
			else if (field == "anon") v = $8
			else if (field == "t") v = $2
			else for (i = 9; i <= NF; i++) { split($i, kv, "="); if (kv[1] == field) v = kv[2] }
			print v; exit
		}' "$LAB_DIR/samples.tsv"
}

# ------------------------------------------------------------ checks

# flat NAME SIDE FIELD PCT SLACK UNIT: end <= minute 1 + max(PCT %, SLACK).
check_flat() {
	local what=$1 side=$2 field=$3 pct=$4 slack=$5 m1 end allow

	m1=$(sample_value minute1 "$side" "$field")
	end=$(sample_value end "$side" "$field")
	if ! [[ "$m1" =~ ^[0-9]+$ && "$end" =~ ^[0-9]+$ ]]; then
		result FAIL "flat/$what/$side" "no figures (minute 1: '${m1}', end: '${end}')"
		return
	fi
	allow=$(( m1 * pct / 100 ))
	[ "$allow" -lt "$slack" ] && allow=$slack
	if [ "$end" -le $((m1 + allow)) ]; then
		result PASS "flat/$what/$side"
	else
		result FAIL "flat/$what/$side" "$end at the end, $m1 at minute 1: more than $allow above"
	fi
}

# check_bounded NAME SIDE MAP: a map nothing empties but its LRU: at most
# max_entries at the end (its memory is preallocated: kernel-memory
# covers it), and how fast it fills, said.
check_bounded() {
	local what=$1 side=$2 map=$3 m1 end max rate secs

	m1=$(sample_value minute1 "$side" "$map")
	end=$(sample_value end "$side" "$map")
	max=$(awk -v m="$map" '$3 == m { print $4 }' "$LAB_DIR/soak-$side.maplist")
	if ! [[ "$m1" =~ ^[0-9]+$ && "$end" =~ ^[0-9]+$ && "$max" =~ ^[0-9]+$ ]]; then
		result FAIL "bounded/$what/$side" "no figures (minute 1: '${m1}', end: '${end}', max '${max}')"
		return
	fi
	secs=$(( $(sample_value end "$side" t) - $(sample_value minute1 "$side" t) ))
	rate=$(( (end - m1) * 60 / (secs > 0 ? secs : 1) ))
	GROWTH+=("$side: $map $m1 -> $end of $max entries (+$rate a minute$([ "$rate" -gt 0 ] &&
		echo ", full after ~$(( (max - m1) / rate + WARMUP / 60 )) min at this rate, then the LRU evicts, counted"))")
	if [ "$end" -le "$max" ]; then
		result PASS "bounded/$what/$side"
	else
		result FAIL "bounded/$what/$side" "$end entries, more than its $max"
	fi
}

# The diagnoses of one side as TSV: code, severity, side, lport, rport, ts,
# connections, and a port scan's lowest and highest port (else its own).
# One family's refusals, each on a new port, come 60 s apart, right at the
# fold window: a little closer, and the third folds into a scan's line.
diag_tsv() {
	jq -r 'select(.type == "diagnosis") |
		(if .side == "server" then .lport else .rport end) as $p |
		[.code, .severity, .side, .lport, .rport, .ts, .connections,
		 (.evidence.port_lowest // $p), (.evidence.port_highest // $p)] | @tsv' \
		"$LAB_DIR/soak-$1.json"
}

# kind_of PORT: the fault kind whose range holds PORT, "healthy", or "-".
kind_of() {
	local p=$1 k

	[ "$p" = "$HEALTHY_PORT" ] && { echo healthy; return; }
	for k in "${KINDS[@]}"; do
		if [ "$p" -ge "${KIND_BASE[$k]}" ] && [ "$p" -lt $((KIND_BASE[$k] + 100)) ]; then
			echo "$k"
			return
		fi
	done
	echo -
}

analyse() {
	local side kind k fam port t0 rc code want n
	local -A injected=() lab_bad=() got_a=() got_b=()
	local unexplained=() healthy_alarms=()

	diag_tsv a >"$LAB_DIR/diag-a.tsv"
	diag_tsv b >"$LAB_DIR/diag-b.tsv"
	for kind in "${KINDS[@]}"; do
		injected[$kind]=0 lab_bad[$kind]=0 got_a[$kind]=0 got_b[$kind]=0
	done

	# every injection, matched by its port to its own diagnosis (after
	# its start: a diagnosis of an earlier use of the port is not it)
	while read -r k kind fam port t0 rc; do
		if [ "$rc" -ne 0 ]; then
			lab_bad[$kind]=$((lab_bad[$kind] + 1))
			continue
		fi
		injected[$kind]=$((injected[$kind] + 1))
		if awk -F'\t' -v c="${CODE_A[$kind]}" -v p="$port" \
			'$1 == c && $3 == "client" && $8 <= p && p <= $9 { f = 1 } END { exit !f }' "$LAB_DIR/diag-a.tsv"; then
			got_a[$kind]=$((got_a[$kind] + 1))
		else
			echo "$kind #$k ($fam, port $port): no ${CODE_A[$kind]} at service-a" >>"$LAB_DIR/missed"
		fi
		[ -n "${CODE_B[$kind]}" ] || continue
		if awk -F'\t' -v c="${CODE_B[$kind]}" -v p="$port" \
			'$1 == c && $3 == "server" && $8 <= p && p <= $9 { f = 1 } END { exit !f }' "$LAB_DIR/diag-b.tsv"; then
			got_b[$kind]=$((got_b[$kind] + 1))
		else
			echo "$kind #$k ($fam, port $port): no ${CODE_B[$kind]} at service-b" >>"$LAB_DIR/missed"
		fi
	done <"$LAB_DIR/injections.tsv"

	# every warning and error: explained by the injection on its port?
	for side in a b; do
		while IFS=$'\t' read -r code sev dside lport rport _; do
			[ "$sev" = info ] && continue
			port=$rport
			[ "$dside" = server ] && port=$lport
			kind=$(kind_of "$port")
			if [ "$kind" = healthy ]; then
				healthy_alarms+=("$side:$code/$sev")
				continue
			fi
			want=" ${CODE_A[$kind]:-} ${CODE_B[$kind]:-} ${ALSO_OK[$kind]:-} "
			[ "$kind" != - ] && [[ "$want" == *" $code "* ]] && continue
			unexplained+=("$side:$code/$sev:$dside:$lport->$rport")
		done <"$LAB_DIR/diag-$side.tsv"
	done

	for kind in "${KINDS[@]}"; do
		n=${injected[$kind]}
		if [ "${lab_bad[$kind]}" -gt 0 ]; then
			result FAIL "fault/$kind/injected" "${lab_bad[$kind]} injections did not happen as meant (the client did not see the fault: see the inj*.peer.log)"
		fi
		if [ "$n" -eq 0 ]; then
			result FAIL "fault/$kind" "never injected"
		elif [ "${got_a[$kind]}" -ne "$n" ]; then
			result FAIL "fault/$kind" "${got_a[$kind]} of $n injections diagnosed ${CODE_A[$kind]} at service-a: $(grep "^$kind " "$LAB_DIR/missed" | head -n 3 | paste -sd';' -)"
		elif [ -n "${CODE_B[$kind]}" ] && [ "${got_b[$kind]}" -ne "$n" ]; then
			result FAIL "fault/$kind" "${got_b[$kind]} of $n injections diagnosed ${CODE_B[$kind]} at service-b: $(grep "^$kind " "$LAB_DIR/missed" | head -n 3 | paste -sd';' -)"
		else
			result PASS "fault/$kind"
		fi
		FAULT_ROWS+=("$(printf '%-8s %8d %8d   %-20s %8s   %-16s %6d' "$kind" "$n" "${got_a[$kind]}" \
			"${CODE_A[$kind]}" "$([ -n "${CODE_B[$kind]}" ] && echo "${got_b[$kind]}" || echo -)" \
			"${CODE_B[$kind]:--}" "${lab_bad[$kind]}")")
	done
	if [ "${#healthy_alarms[@]}" -eq 0 ]; then
		result PASS healthy/no-alarm
	else
		result FAIL healthy/no-alarm "$(printf '%s\n' "${healthy_alarms[@]}" | sort | uniq -c | awk '{ printf "%s x%s ", $2, $1 }')"
	fi
	if [ "${#unexplained[@]}" -eq 0 ]; then
		result PASS faults/nothing-else
	else
		result FAIL faults/nothing-else "warnings or errors no injection explains: $(printf '%s\n' "${unexplained[@]}" | head -n 5 | paste -sd' ' -)"
	fi
	HEALTHY_ALARMS=${#healthy_alarms[@]}
	UNEXPLAINED=${#unexplained[@]}
}

# The last stats record of a side: events, read, lost.
last_stats() {
	jq -r 'select(.type == "stats") | "\(.events) \(.events_read) \(.events_lost) \(.flows_tracked) \(.flow_map_full)"' \
		"$LAB_DIR/soak-$1.json" | tail -n 1
}

check_exports() {
	local side files stdout_n files_n f bad dropped failed got

	for side in a b; do
		# -o: every rotated file and the last one whole, the same conn
		# records as stdout, each once
		files=$(find "$LAB_DIR/soak-$side.files" -name '*.json.gz' | sort)
		bad=
		for f in $files; do gzip -t "$f" 2>/dev/null || bad+=" $(basename "$f")"; done
		# compared without ts and start: the file's and stdout's copy of a record
		# may differ there by a millisecond (counted and reported)
		jq -c 'select(.type == "conn" and .open == false)' "$LAB_DIR/soak-$side.json" |
			sort >"$LAB_DIR/conns-stdout-$side"
		for f in $files; do zcat "$f"; done | jq -c 'select(.type == "conn" and .open == false)' |
			sort >"$LAB_DIR/conns-files-$side"
		stdout_n=$(jq -c 'del(.ts, .start)' "$LAB_DIR/conns-stdout-$side" | sort | md5sum)
		files_n=$(jq -c 'del(.ts, .start)' "$LAB_DIR/conns-files-$side" | sort | md5sum)
		TS_DIFF[$side]=$(comm -23 "$LAB_DIR/conns-stdout-$side" "$LAB_DIR/conns-files-$side" | wc -l)
		got=$(jq -c 'select(.type == "conn" and .open == false)' "$LAB_DIR/soak-$side.json" | wc -l)
		FILES_INFO[$side]="$(echo "$files" | wc -w) files, $got final conn records"
		if [ -n "$bad" ]; then
			result FAIL "export/files/$side" "not whole gzip:$bad"
		elif [ "$(echo "$files" | wc -w)" -lt 2 ] && [ "$SOAK_SECONDS" -ge 240 ]; then
			result FAIL "export/files/$side" "no rotation: $(echo "$files" | wc -w) file"
		elif [ "$stdout_n" != "$files_n" ] || [ "$got" -eq 0 ]; then
			result FAIL "export/files/$side" "the files' final conn records differ from stdout's ($got there)"
		else
			result PASS "export/files/$side"
		fi
		# /metrics: every sample's scrape answered, nothing dropped on
		# the way to the collector
		failed=$(grep -c '^fail' "$LAB_DIR/scrapes-$side")
		dropped=$(awk '$1 == "tcptrace_otlp_dropped_total" { print $2 }' "$LAB_DIR/soak-$side.scrape.txt")
		got=$(awk '$1 == "tcptrace_otlp_requests_total{result=\"failed\"}" { print $2 }' "$LAB_DIR/soak-$side.scrape.txt")
		if [ "$failed" -ne 0 ]; then
			result FAIL "export/metrics/$side" "$failed scrapes failed"
		else
			result PASS "export/metrics/$side"
		fi
		if [ "${dropped:-x}" != 0 ] || [ "${got:-x}" != 0 ]; then
			result FAIL "export/otlp/$side" "dropped ${dropped:-?}, failed requests ${got:-?} (tcptrace_otlp_*)"
		else
			result PASS "export/otlp/$side"
		fi
	done
	OTLP_INFO=
	for side in a b; do
		f=$LAB_DIR/otlp-$side/requests.log
		got=$(awk '$4 != 200' "$f" | wc -l)
		OTLP_INFO+="$side: $(wc -l <"$f") requests ($(grep -c /v1/logs "$f") logs, $(grep -c /v1/metrics "$f") metrics) "
		if [ "$got" -ne 0 ] || ! grep -q /v1/metrics "$f" || ! grep -q /v1/logs "$f"; then
			result FAIL "export/otlp/collector-$side" "$OTLP_INFO, $got not taken"
		else
			result PASS "export/otlp/collector-$side"
		fi
	done
	# no payload byte anywhere
	if got=$(lab_marker_scan "$LAB_DIR"/soak-a.* "$LAB_DIR"/soak-b.* "$LAB_DIR"/otlp-?); then
		result PASS export/no-payload
	else
		result FAIL export/no-payload "$(echo "$got" | head -n 3 | sed "s|$LAB_DIR/||" | paste -sd';' -)"
	fi
}

# ------------------------------------------------------------ main

main() {
	local side end k=0 kind fam next_inject next_sample now healthy_pids=() inj_pids=()
	local rpids=() pid i stats
	declare -gA FILES_INFO=() TS_DIFF=()
	FAULT_ROWS=()

	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP soak: needs root (network namespaces, BPF)"
		return 0
	fi
	for i in "$TCPTRACE" "$PEER" "$RECEIVER"; do
		[ -x "$i" ] || { echo "FAIL soak: $i is not built (make all)"; return 1; }
	done
	for i in jq nft ip bpftool curl python3; do
		command -v "$i" >/dev/null || { echo "FAIL soak: $i is not installed (make deps)"; return 1; }
	done
	lab_trap
	lab_up || { echo "FAIL soak: cannot build the namespaces"; return 1; }
	lab_ping || { echo "FAIL soak: TCP from service-a to service-b does not work"; return 1; }
	soak_nft || { echo "FAIL soak: cannot install the router's faults"; return 1; }
	: >"$LAB_DIR/injections.tsv"
	: >"$LAB_DIR/samples.tsv"
	: >"$LAB_DIR/missed"
	: >"$LAB_DIR/healthy-short.tsv"
	: >"$LAB_DIR/scrapes-a"
	: >"$LAB_DIR/scrapes-b"

	# A collector each: the stand-in serves one connection at a time, and
	# one tracer's keep-alive connection would hold the other's off.
	for side in a b; do
		mkdir -p "$LAB_DIR/otlp-$side"
		"$RECEIVER" -d "$LAB_DIR/otlp-$side" >"$LAB_DIR/otlp-$side/port" \
			2>"$LAB_DIR/otlp-$side/err" &
		rpids+=($!)
		lab_track "$!"
		for i in $(seq 50); do [ -s "$LAB_DIR/otlp-$side/port" ] && break; sleep 0.1; done
	done

	for side in a b; do
		mkdir -p "$LAB_DIR/soak-$side.files"
		lab_tracer_start "soak-$side" "$side" - $((SOAK_SECONDS + 600)) --conns \
			--conn-interval 10 -o "$LAB_DIR/soak-$side.files/records.json.gz" \
			--rotate 512k --rotate-s 120 --metrics "127.0.0.1:$(metrics_port "$side")" \
			--otlp "http://127.0.0.1:$(cat "$LAB_DIR/otlp-$side/port")"
	done
	for side in a b; do
		if ! lab_tracer_wait "soak-$side"; then
			echo "FAIL soak: ${LAB_FAILS[*]}"
			sed 's/^/    | /' "$LAB_DIR/soak-$side.log" | tail -n 20
			return 1
		fi
		lab_tracer_maps "$(tracer_pid "$side")" | while read -r id type name; do
			echo "$id $type $name $(bpftool -j map show id "$id" | jq .max_entries)"
		done >"$LAB_DIR/soak-$side.maplist"
	done
	lab_log "tracing both ends; soak of ${SOAK_SECONDS}s begins (warm-up ${WARMUP}s, a fault every ${SOAK_FAULT_EVERY}s)"

	T0=$(now_ms)
	end=$((T0 + SOAK_SECONDS * 1000))
	for fam in v4 v6; do
		lab_server "healthy-$fam" "$(lab_addr "$fam" b)" "$HEALTHY_PORT" answer \
			-d $(( (SOAK_SECONDS + 300) * 1000 )) ||
			{ echo "FAIL soak: ${LAB_FAILS[*]}"; return 1; }
	done
	SERVER_PID=	# the healthy servers live until the cleanup
	for fam in v4 v6; do
		lab_client "healthy-pool-$fam" "$(lab_addr "$fam" b)" "$HEALTHY_PORT" pool \
			-d $((SOAK_SECONDS * 1000)) --think-ms 200 --timeout-ms 5000 &
		healthy_pids+=($!)
	done
	soak_short_loop "$end" &
	healthy_pids+=($!)

	next_inject=$((T0 + 2000))
	next_sample=$T0
	while now=$(now_ms) && [ "$now" -lt "$end" ]; do
		# the last injection must be over by the end (the syn fault
		# takes 6 s)
		if [ "$now" -ge "$next_inject" ] && [ $((now + 8000)) -le "$end" ]; then
			kind=${KINDS[$((k % ${#KINDS[@]}))]}
			fam=v4
			[ $(( (k / ${#KINDS[@]}) % 2 )) -eq 1 ] && fam=v6
			soak_inject "$k" "$kind" "$fam" &
			inj_pids+=($!)
			k=$((k + 1))
			next_inject=$((next_inject + SOAK_FAULT_EVERY * 1000))
		fi
		if [ "$now" -ge "$next_sample" ]; then
			soak_sample run
			next_sample=$((next_sample + SOAK_SAMPLE_S * 1000))
		fi
		sleep 0.2
	done
	# Each injection says its outcome in its own files; the wait is only
	# for them to end. bash keeps the statuses of so many finished jobs
	# only up to a limit, and forgets the oldest ("not a child").
	for pid in "${inj_pids[@]}"; do wait "$pid" 2>/dev/null; done
	HEALTHY_POOL_FAILS=0
	for pid in "${healthy_pids[@]}"; do
		wait "$pid" || HEALTHY_POOL_FAILS=$((HEALTHY_POOL_FAILS + 1))
	done
	# the last diagnoses (a stall is told --stall-ms after it began)
	sleep 3
	soak_sample end
	for side in a b; do
		LAB_FAILS=()
		lab_tracer_stop "soak-$side"
		if [ "${#LAB_FAILS[@]}" -eq 0 ]; then
			result PASS "stop-and-replay/$side"
		else
			result FAIL "stop-and-replay/$side" "${LAB_FAILS[*]}"
		fi
	done
	for pid in "${rpids[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done

	# ---------------------------------------------------- assertions
	for side in a b; do
		check_flat rss-anon "$side" anon 10 2048
		check_flat fds "$side" fds 0 2
		check_flat kernel-memory "$side" kmem 10 256
		for i in $(awk '{ for (i = 9; i <= NF; i++) { split($i, kv, "="); print kv[1] } }' \
				"$LAB_DIR/samples.tsv" | sort -u); do
			if [[ " ${LRU_ONLY[*]} " == *" $i "* ]]; then
				check_bounded "map-$i" "$side" "$i"
			else
				check_flat "map-$i" "$side" "$i" 10 64
			fi
		done
		stats=$(last_stats "$side")
		read -r ev rd lost _ _ <<<"$stats"
		if [ -z "$stats" ]; then
			result FAIL "events/$side" "no stats record"
		elif [ "$lost" -ne 0 ] || [ "$rd" -ne "$ev" ]; then
			result FAIL "events/$side" "$ev sent, $rd read, $lost lost"
		else
			result PASS "events/$side"
		fi
	done
	analyse
	i=$(grep -c '^fail' "$LAB_DIR/healthy-short.tsv")
	if [ "$HEALTHY_POOL_FAILS" -ne 0 ] || [ "$i" -ne 0 ]; then
		result FAIL healthy/clients "$HEALTHY_POOL_FAILS pooled clients and $i rounds of short connections failed (see healthy-*.peer.log)"
	else
		result PASS healthy/clients
	fi
	check_exports
	report | tee "$SUMMARY_COPY"
	[ "$FAILS" -eq 0 ]
}

report() {
	local side f line stats
	local fields=(rss anon bpfmaps kmem fds)

	echo
	echo "soak: ${SOAK_SECONDS} s on $(uname -r), a sample every ${SOAK_SAMPLE_S} s, minute 1 = the first sample at >= ${WARMUP} s, a fault every ${SOAK_FAULT_EVERY} s"
	for f in $(awk '{ for (i = 9; i <= NF; i++) { split($i, kv, "="); print kv[1] } }' \
			"$LAB_DIR/samples.tsv" | sort -u); do
		fields+=("$f")
	done
	printf '%-22s %12s %12s %12s %12s\n' "" "a: minute 1" "a: end" "b: minute 1" "b: end"
	for f in "${fields[@]}"; do
		case "$f" in
		rss) line="RSS (KiB)" ;;
		anon) line="of it anonymous (KiB)" ;;
		bpfmaps) line="+ mmapped maps (KiB)" ;;
		kmem) line="maps' kernel mem (KiB)" ;;
		fds) line="open fds" ;;
		*) line="map $f (entries)" ;;
		esac
		printf '%-22s %12s %12s %12s %12s\n' "$line" \
			"$(sample_value minute1 a "$f")" "$(sample_value end a "$f")" \
			"$(sample_value minute1 b "$f")" "$(sample_value end b "$f")"
	done
	echo
	printf '%-8s %8s %8s   %-20s %8s   %-16s %6s\n' fault injected "a: diag" "a: code" "b: diag" "b: code" "lab-ko"
	printf '%s\n' "${FAULT_ROWS[@]}"
	echo
	for side in a b; do
		read -r ev rd lost tracked full <<<"$(last_stats "$side")"
		echo "service-$side tracer: events $ev sent, $rd read, $lost lost; flows tracked $tracked, map full $full; -o ${FILES_INFO[$side]:-?} (${TS_DIFF[$side]:-?} with another ts or start than stdout's, by 1 ms); diagnoses $(wc -l <"$LAB_DIR/diag-$side.tsv")"
	done
	echo "healthy: $(grep -c '^ok' "$LAB_DIR/healthy-short.tsv") rounds of 2 short connections, 2 pooled connections; warnings or errors on them: ${HEALTHY_ALARMS:-?}; unexplained warnings or errors: ${UNEXPLAINED:-?}"
	echo "otlp: ${OTLP_INFO:-?}"
	[ "${#GROWTH[@]}" -eq 0 ] || printf 'LRU-only map %s\n' "${GROWTH[@]}"
	# a plateau and a slow leak end alike at one minute: the whole curve
	for side in a b; do
		for f in 4 8; do
			echo "$([ "$f" = 4 ] && echo RSS || echo "anonymous RSS") by minute, service-$side (KiB): $(awk -v side="$side" -v f="$f" '
				$1 == "run" && $3 == side && $2 >= 60 * (m + 1) { printf "%s%d:%s", sep, ++m, $f; sep = " " }
				$1 == "end" && $3 == side { printf "%send:%s", sep, $f }' "$LAB_DIR/samples.tsv")"
		done
	done
	echo
	printf '%s\n' "${RESULTS[@]}"
	if [ "$FAILS" -eq 0 ]; then
		echo "soak: PASS (${#RESULTS[@]} assertions)"
	else
		echo "soak: FAIL ($FAILS of ${#RESULTS[@]} assertions failed)"
	fi
}

main "$@"
