#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The cross-built tracer on a real arm64 kernel: Debian's (the one
# vmlinux/arm64/vmlinux.h comes from) booted under qemu-system-aarch64
# (TCG: no arm64 CPU or KVM needed) with an initramfs of busybox, the
# tracer, test_nic and their arm64 libraries. There the verifier, the JIT
# and CO-RE meet arm64 for real: --check must attach every hook, test_nic
# must pass, and a refused, a good and an unroutable connection must be
# told, with tp_btf and with classic tracepoints.
#
# Slow (2-5 minutes of emulation), so not part of `make test`. Needs
# `make ARCH=arm64` (after `make deps ARCH=arm64`) and, once:
#   apt-get install --no-install-recommends qemu-system-arm cpio
# Prints PASS/FAIL/SKIP lines like the other tests.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1

case "$(uname -m)" in aarch64) ARM=build ;; *) ARM=build/arm64 ;; esac
CACHE=$ARM/vm			# the kernel and busybox, kept between runs
LIBDIR=/lib/aarch64-linux-gnu

for tool in qemu-system-aarch64 cpio jq; do
	command -v "$tool" >/dev/null ||
		{ echo "SKIP arm64-vm: no $tool (apt-get install --no-install-recommends qemu-system-arm cpio jq)"; exit 0; }
done
for f in "$ARM/tcptrace-bpf" "$ARM/test_nic"; do
	[ -x "$f" ] || { echo "SKIP arm64-vm: no $f (make ARCH=arm64)"; exit 0; }
done
[ -e /lib/ld-linux-aarch64.so.1 ] ||
	{ echo "SKIP arm64-vm: no arm64 C library (make deps ARCH=arm64)"; exit 0; }

mkdir -p "$CACHE"
if [ ! -s "$CACHE/Image" ]; then
	vmlinux/gen-arm64.sh --image "$CACHE/Image" >"$CACHE/image.log" 2>&1 ||
		{ echo "FAIL arm64-vm: no kernel Image: $(tail -n 1 "$CACHE/image.log")"; exit 1; }
fi
if [ ! -x "$CACHE/busybox" ]; then
	# a static busybox: the initramfs needs no library for its shell
	(cd "$CACHE" && rm -f busybox-static_*.deb && apt-get download -q busybox-static:arm64 >/dev/null 2>&1) &&
		dpkg-deb --fsys-tarfile "$CACHE"/busybox-static_*_arm64.deb |
		tar -xO ./bin/busybox >"$CACHE/busybox" && chmod +x "$CACHE/busybox" ||
		{ echo "SKIP arm64-vm: cannot download busybox-static:arm64 (make deps ARCH=arm64 adds the architecture)"; exit 0; }
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
root=$TMP/root
mkdir -p "$root"/{bin,lib,proc,sys,dev,tmp,run}
mkdir -p "$root/$LIBDIR"
cp "$CACHE/busybox" "$root/bin/"
for a in sh mount ip sleep cat grep nc kill poweroff; do ln -s busybox "$root/bin/$a"; done
cp "$ARM/tcptrace-bpf" "$ARM/test_nic" "$root/bin/"
cp -L /lib/ld-linux-aarch64.so.1 "$root/lib/"
for l in libbpf.so.1 libc.so.6 libelf.so.1 libz.so.1; do
	cp -L "$LIBDIR/$l" "$root/$LIBDIR/" ||
		{ echo "SKIP arm64-vm: no arm64 $l (make deps ARCH=arm64)"; exit 0; }
done

# The guest: each step between "@@ NAME" and "@@ end NAME RC" lines.
cat >"$root/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
ip link set lo up
echo "@@ uname"; cat /proc/version; echo "@@ end uname 0"
echo "@@ check"; tcptrace-bpf --check 2>&1; echo "@@ end check $?"
echo "@@ test_nic"; test_nic 2>&1; echo "@@ end test_nic $?"
# trace NAME ARGS...: once attached, a refused connection, a good one and
# one with no route; then SIGINT, which flushes the last records.
trace() {
	name=$1; shift
	echo "@@ $name"
	tcptrace-bpf -j --no-nic -d 300 "$@" >/tmp/out 2>&1 &
	pid=$!
	i=0
	while ! grep -q 'tracing every' /tmp/out && [ $i -lt 200 ]; do sleep 1; i=$((i+1)); done
	nc 127.0.0.1 9 </dev/null >/dev/null 2>&1
	nc -l -p 8080 >/dev/null 2>&1 &
	sleep 1
	echo hi | nc -w 1 127.0.0.1 8080 >/dev/null 2>&1
	nc 10.9.9.9 80 </dev/null >/dev/null 2>&1
	sleep 3
	kill -INT $pid
	wait $pid
	rc=$?
	cat /tmp/out
	echo "@@ end $name $rc"
}
trace tp_btf
trace classic --classic
# the serial console drains at its own pace: poweroff -f would cut it short
sleep 2
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$TMP/initrd.gz")

log=$TMP/console.log
timeout 900 qemu-system-aarch64 -M virt -cpu max -smp 2 -m 1024 -nographic -no-reboot \
	-kernel "$CACHE/Image" -initrd "$TMP/initrd.gz" \
	-append "console=ttyAMA0 rdinit=/init panic=-1 quiet" >"$log" 2>&1 </dev/null
# kept for a look after a failure
tr -d '\r' <"$log" >"$CACHE/console.log"
log=$CACHE/console.log

# step NAME: its output; step_rc NAME: its exit status ("" if it never ended).
step() { sed -n "/^@@ $1\$/,/^@@ end $1 /p" "$log" | sed '1d;$d'; }
step_rc() { sed -n "s/^@@ end $1 \([0-9]*\)\$/\1/p" "$log"; }

if [ -z "$(step_rc uname)" ]; then
	echo "FAIL arm64-vm-boot: the guest never ran its init: $(tail -c 300 "$log")"
	exit 1
fi
echo "PASS arm64-vm-boot ($(step uname | grep -o 'Linux version [^ ]*'))"

if [ "$(step_rc check)" = 0 ] && step check | grep -q 'every diagnosis is available'; then
	echo "PASS arm64-vm-check"
else
	echo "FAIL arm64-vm-check: exit $(step_rc check): $(step check | grep -v ' attached$' | tr '\n' ' ' | head -c 400)"
fi

# The veth pair is a module this initramfs does not carry: the attach
# cases that need it cannot run here, every other case must pass.
step test_nic >"$TMP/nic"
fails=$(grep '^FAIL ' "$TMP/nic" | grep -v '^FAIL attach/setup: cannot build the veth pair')
if [ -z "$(step_rc test_nic)" ] || ! grep -q '^PASS ' "$TMP/nic"; then
	echo "FAIL arm64-vm-test_nic: did not run: $(tail -c 300 "$TMP/nic")"
elif [ -n "$fails" ]; then
	echo "FAIL arm64-vm-test_nic: $(echo "$fails" | head -5 | tr '\n' ' ')"
else
	echo "PASS arm64-vm-test_nic ($(grep -c '^PASS ' "$TMP/nic") cases; no veth in the guest)"
fi

for mode in tp_btf classic; do
	step "$mode" | grep '^{' >"$TMP/$mode.json"
	codes=$(jq -r 'select(.type == "diagnosis") | .code' "$TMP/$mode.json" | sort -u | paste -sd' ' -)
	used=$(jq -r 'select(.type == "stats") | .tracepoints' "$TMP/$mode.json" | tail -n 1)
	missing=
	for c in CONNECTION_REFUSED PORT_CLOSED NO_ROUTE; do
		case " $codes " in *" $c "*) ;; *) missing="$missing $c" ;; esac
	done
	if [ "$(step_rc "$mode")" != 0 ]; then
		echo "FAIL arm64-vm-trace-$mode: exit $(step_rc "$mode"): $(step "$mode" | grep -v '^{' | tr '\n' ' ' | head -c 300)"
	elif [ "$used" != "$mode" ]; then
		echo "FAIL arm64-vm-trace-$mode: attached '$used' tracepoints"
	elif [ -n "$missing" ]; then
		echo "FAIL arm64-vm-trace-$mode: not told:$missing (told: $codes)"
	else
		echo "PASS arm64-vm-trace-$mode ($codes)"
	fi
done
