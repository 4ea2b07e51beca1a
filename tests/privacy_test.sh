#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The lab's privacy check can fail. Every lab scenario ends with
# expect_no_payload (tests/lab/lib.sh): no file its tracers wrote may hold
# the payload marker the peers send. A check that never fails proves
# nothing, so here it is given files that do hold the marker, in each
# spelling and container an output could give it (a JSON string, its
# \u00XX escapes, hex bare, spaced and in bpftool's JSON arrays, base64 at
# each alignment, a gzip file whole and cut short, a recording's zlib
# stream), and must fail on each, naming the file; on the same files
# without the marker it must pass. Also: the marker the lab looks for is
# the one tests/peer.c sends. No root, no BPF, a few seconds.
#
# Prints "PASS privacy/..." or "FAIL privacy/...: why" a case.

set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$top/tests/lab/lib.sh"

fails=0
pass() { echo "PASS privacy/$1"; }
fail() { echo "FAIL privacy/$1: $2"; fails=$((fails + 1)); }

if ! command -v python3 >/dev/null; then
	echo "SKIP privacy: python3 is not installed (make deps)"
	exit 0
fi

LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tcptrace-privacy.XXXXXX") || exit 1
trap 'rm -rf "$LAB_DIR"' EXIT

# The peer's marker is the lab's.
peer_marker=$(sed -n 's/^#define PAYLOAD_MARKER[[:space:]]*"\(.*\)"$/\1/p' "$top/tests/peer.c")
if [ "$peer_marker" = "$LAB_MARKER" ]; then
	pass marker-is-the-peers
else
	fail marker-is-the-peers "tests/peer.c sends '$peer_marker', the lab looks for '$LAB_MARKER'"
fi

M=$LAB_MARKER
PAYLOAD=$M$M$M$M	# as a payload carries it: repeated

# fixture NAME CONTENT-WITH-@: writes NAME (in a test "case-NAME") twice:
# with the marker where @ is, and with as many other bytes instead.
# Each writer is a function of the text to embed.
w_json() { printf '{"type":"conn","summary":"%s"}\n' "$1"; }
w_uescape() { printf '{"summary":"%s"}\n' "$(printf '%s' "$1" | od -An -tx1 -v | tr -s ' \n' ' ' |
	sed 's/^ //; s/ $//; s/\([0-9a-f][0-9a-f]\)/\\u00\1/g; s/ //g')"; }
w_hex() { printf 'value: %s\n' "$(printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n')"; }
w_HEX() { w_hex "$1" | tr a-f A-F; }
w_spaced() { printf 'value:\n'; printf '%s' "$1" | od -An -tx1 -v; }
w_bpftool() {
	printf '%s' "$1" | od -An -tx1 -v | tr -s ' \n' '\n' | sed '/^$/d' |
		jq -R '"0x" + .' | jq -s '[{key: ["0x0a", "0x00", "0x01", "0x05"], value: .,
			formatted: {key: 1, value: {bytes_sent: 64}}}]'
}
w_b64_0() { printf '%s' "$1" | base64 -w 0; }
w_b64_1() { printf 'x%s' "$1" | base64 -w 0; }
w_b64_2() { printf 'xy%s' "$1" | base64 -w 0; }
w_gzip() { w_json "$1" | gzip -c; }
w_gzip_cut() {	# as a SIGKILLed tracer leaves it: sync-flushed, no trailer
	w_json "$1" | python3 -c '
import sys, zlib
z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
sys.stdout.buffer.write(z.compress(sys.stdin.buffer.read()) + z.flush(zlib.Z_SYNC_FLUSH))'
}
w_ttr() {	# record.h: 16-byte preamble, then one zlib stream
	w_json "$1" | python3 -c '
import struct, sys, zlib
body = sys.stdin.buffer.read()
frame = struct.pack("<HHIQ", 7, 0, len(body), 123456789) + body
z = zlib.compressobj(1)
sys.stdout.buffer.write(b"\x89TTR\r\n\x1a\n" + struct.pack("<II", 1, 0) +
			z.compress(frame) + z.flush(zlib.Z_SYNC_FLUSH))'
}

# Where the lab's tracers write: NAME.json, NAME.log, NAME.ttr, NAME.files/,
# NAME.otlp/NNNN-logs.json, NAME.maps/ID.flows.bpftool.json, scrapes.
for spec in json:json uescape:log hex:scrape.txt HEX:json spaced:log \
	    bpftool:maps/12.flows.bpftool.json b64_0:otlp/0001-logs.json b64_1:json \
	    b64_2:json gzip:files/conns.json.gz gzip_cut:files/conns.json.gz ttr:ttr; do
	kind=${spec%%:*}
	file=${spec#*:}
	for what in leak clean; do
		n="case-$kind-$what"
		mkdir -p "$(dirname "$LAB_DIR/$n.$file")"
		# the peers' own logs are no output of the tracer: never blamed
		printf 'peer client pool: %s\n' "$PAYLOAD" >"$LAB_DIR/$n.peer.log"
		if [ "$what" = leak ]; then
			"w_$kind" "pre$PAYLOAD" >"$LAB_DIR/$n.$file"
		else
			"w_$kind" "pre$(printf '%s' "$PAYLOAD" | tr 'A-Za-z0-9' 'N-ZA-Mn-za-m5-90-4')" \
				>"$LAB_DIR/$n.$file"
		fi
	done
	if why=$(expect_no_payload "case-$kind-leak"); then
		fail "catches/$kind" "a $file holding the marker passed the check"
	elif [[ "$why" != *"case-$kind-leak.$file"* ]]; then
		fail "catches/$kind" "the complaint does not name $file: $why"
	else
		pass "catches/$kind"
	fi
	if why=$(expect_no_payload "case-$kind-clean"); then
		pass "clean/$kind"
	else
		fail "clean/$kind" "a $file without the marker failed: $why"
	fi
done

# A file that cannot be read as what it claims proves nothing: a
# recording whose stream is damaged from its first byte fails the check.
n=case-broken
printf '\x89TTR\r\n\x1a\n\x01\0\0\0\0\0\0\0garbage, not zlib' >"$LAB_DIR/$n.ttr"
if why=$(expect_no_payload "$n"); then
	fail unreadable "a recording that does not inflate passed the check"
else
	pass unreadable
fi

[ "$fails" -eq 0 ]
