#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The kernel side is not x86-only: `make bpf ARCH=arm64` (clang and
# bpftool, nothing of arm64 needed) must give an ELF BPF object built
# against vmlinux/arm64 with every program and map the x86 one has. Where
# Debian's cross compiler and arm64 libraries are installed (make deps
# ARCH=arm64), the loader must come out as an aarch64 executable, and
# where qemu-user is, it must start and the unit tests that need no kernel
# pass on it.
#
# Prints PASS/FAIL/SKIP lines for tests/run.sh.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OBJDUMP=${LLVM_OBJDUMP:-llvm-objdump}

# Where make puts an architecture's build: build/ for the host's own,
# build/ARCH for a cross build (see the Makefile).
case "$(uname -m)" in
x86_64) host=x86 ;;
aarch64) host=arm64 ;;
*) host=$(uname -m) ;;
esac
out_of() { if [ "$1" = "$host" ]; then echo build; else echo "build/$1"; fi; }
X86=$(out_of x86)
ARM=$(out_of arm64)

# elf_kind FILE: "CLASS DATA TYPE MACHINE" from the ELF header, in decimal
# (64-bit little-endian: 2 1; REL 1, EXEC 2, DYN 3; EM_BPF 247, EM_AARCH64 183).
elf_kind() {
	[ "$(od -An -c -N4 "$1" | tr -d ' \n')" = '177ELF' ] || { echo "not-ELF"; return; }
	echo "$(od -An -tu1 -j4 -N2 "$1" | xargs) $(od -An -tu2 -j16 -N4 "$1" | xargs)"
}

# programs OBJ / maps OBJ: "section name" of each program, the name of each map.
programs() { "$OBJDUMP" -t "$1" | awk '$2 == "g" && $3 == "F" { print $4, $6 }' | sort; }
maps() { "$OBJDUMP" -t "$1" | awk '$2 == "g" && $3 == "O" && $4 == ".maps" { print $6 }' | sort; }

# ------------------------------------------------------------ the BPF object
if ! make -s ARCH=arm64 bpf >"$TMP/arm.log" 2>&1; then
	echo "FAIL arm64-bpf-build: make bpf ARCH=arm64: $(grep -m3 -E 'error|Error' "$TMP/arm.log" | tr '\n' ' ')"
	exit 1
fi
if ! make -s ARCH=x86 bpf >"$TMP/x86.log" 2>&1; then
	echo "FAIL arm64-bpf-build: the x86 object to compare with does not build: $(grep -m3 -E 'error|Error' "$TMP/x86.log" | tr '\n' ' ')"
	exit 1
fi
obj=$ARM/tcptrace.bpf.o
kind=$(elf_kind "$obj")
if [ "$kind" = "2 1 1 247" ]; then
	echo "PASS arm64-bpf-object"
else
	echo "FAIL arm64-bpf-object: $obj is not a 64-bit little-endian relocatable BPF ELF (class data type machine: $kind)"
fi

# Built against arm64's kernel types: the compiler's dependency files say
# which vmlinux.h each object read.
wrong=$({ grep -L 'vmlinux/arm64/vmlinux.h' "$ARM"/bpf/*.bpf.d
	  grep -l 'vmlinux/x86/' "$ARM"/bpf/*.bpf.d; } 2>/dev/null | sort -u | tr '\n' ' ')
if ! ls "$ARM"/bpf/*.bpf.d >/dev/null 2>&1; then
	echo "FAIL arm64-bpf-headers: no dependency files in $ARM/bpf"
elif [ -n "$wrong" ]; then
	echo "FAIL arm64-bpf-headers: not built against vmlinux/arm64 alone: $wrong"
else
	echo "PASS arm64-bpf-headers"
fi

# CO-RE: the relocations that let the loader fit field offsets to the
# running kernel live in .BTF.ext.
sections=$("$OBJDUMP" -h "$obj" | awk '{ print $2 }')
if echo "$sections" | grep -qx '.BTF' && echo "$sections" | grep -qx '.BTF.ext'; then
	echo "PASS arm64-bpf-btf"
else
	echo "FAIL arm64-bpf-btf: $obj lacks .BTF or .BTF.ext (no CO-RE relocations)"
fi

# Every program, in the same section (its attach point), and every map.
programs "$X86/tcptrace.bpf.o" >"$TMP/x86.progs"
programs "$obj" >"$TMP/arm.progs"
maps "$X86/tcptrace.bpf.o" >"$TMP/x86.maps"
maps "$obj" >"$TMP/arm.maps"
if [ ! -s "$TMP/x86.progs" ] || [ ! -s "$TMP/x86.maps" ]; then
	echo "FAIL arm64-bpf-programs: no program or map found in the x86 object ($OBJDUMP -t)"
elif ! diff -q "$TMP/x86.progs" "$TMP/arm.progs" >/dev/null ||
     ! diff -q "$TMP/x86.maps" "$TMP/arm.maps" >/dev/null; then
	echo "FAIL arm64-bpf-programs: arm64 and x86 objects differ (< x86, > arm64): $(
		diff "$TMP/x86.progs" "$TMP/arm.progs" | grep '^[<>]' | tr '\n' ' ')$(
		diff "$TMP/x86.maps" "$TMP/arm.maps" | grep '^[<>]' | tr '\n' ' ')"
else
	echo "PASS arm64-bpf-programs ($(wc -l <"$TMP/arm.progs") programs, $(wc -l <"$TMP/arm.maps") maps)"
fi

# ------------------------------------------------------------ the loader
# A cross build needs the cross compiler and arm64's libbpf: without them
# the loader is skipped, said so, never passed.
if [ "$host" = arm64 ]; then cc=${CC:-cc}; else cc=${CROSS_COMPILE:-aarch64-linux-gnu-}gcc; fi
if ! command -v "$cc" >/dev/null; then
	echo "SKIP arm64-loader: no $cc (make deps ARCH=arm64 installs it)"
	exit 0
fi
if [ "$("$cc" -print-file-name=libbpf.so)" = libbpf.so ]; then
	echo "SKIP arm64-loader: no arm64 libbpf for $cc (make deps ARCH=arm64 installs libbpf-dev:arm64)"
	exit 0
fi
if [ "$("$cc" -print-file-name=libcurl.so)" = libcurl.so ]; then
	echo "SKIP arm64-loader: no arm64 libcurl for $cc (make deps ARCH=arm64 installs libcurl4-openssl-dev:arm64)"
	exit 0
fi
if ! make -s ARCH=arm64 all >"$TMP/ld.log" 2>&1; then
	echo "FAIL arm64-loader: make ARCH=arm64: $(grep -m3 -E 'error|Error' "$TMP/ld.log" | tr '\n' ' ')"
	exit 1
fi
bin=$ARM/tcptrace-bpf
kind=$(elf_kind "$bin")
if [ "${kind% *}" != "2 1 3" ] && [ "${kind% *}" != "2 1 2" ] || [ "${kind##* }" != 183 ]; then
	echo "FAIL arm64-loader: $bin is not a 64-bit aarch64 executable (class data type machine: $kind)"
elif command -v file >/dev/null && ! file -b "$bin" | grep -q 'ARM aarch64'; then
	echo "FAIL arm64-loader: file says $(file -b "$bin")"
else
	echo "PASS arm64-loader"
fi

# Run on an arm64 CPU: natively, or through qemu-user with the arm64
# libraries multiarch installed (their loader is /lib/ld-linux-aarch64.so.1).
if [ "$host" = arm64 ]; then
	run=()
elif command -v qemu-aarch64 >/dev/null; then
	run=(qemu-aarch64)
else
	echo "SKIP arm64-loader-runs: no qemu-aarch64 (apt-get install --no-install-recommends qemu-user)"
	exit 0
fi
if out=$(timeout 60 "${run[@]}" "$bin" --version 2>&1) && [[ "$out" == "tcptrace-bpf "[0-9]* ]]; then
	echo "PASS arm64-loader-runs"
else
	echo "FAIL arm64-loader-runs: --version said: $(echo "$out" | head -c 300)"
fi
# The unit tests that need no kernel (the engine, the hook plan) on arm64,
# each folded into one line. qemu-user has no bpf(): test_nic, which runs
# the programs in the kernel, is left to an arm64 machine.
for t in "$ARM"/test_*; do
	name=$(basename "$t")
	case "$name" in *.d | *.o) continue ;; esac
	[ -x "$t" ] || continue
	if [ "$name" = test_nic ] && [ "$host" != arm64 ]; then
		echo "SKIP arm64-$name: runs BPF programs in the kernel; qemu-user has no bpf()"
		continue
	fi
	timeout 300 "${run[@]}" "$t" >"$TMP/unit.out" 2>&1
	rc=$?
	fails=$(grep '^FAIL ' "$TMP/unit.out" | head -5 | tr '\n' ' ')
	if [ "$rc" -eq 0 ] && [ -z "$fails" ] && grep -q '^PASS ' "$TMP/unit.out"; then
		echo "PASS arm64-$name ($(grep -c '^PASS ' "$TMP/unit.out") cases)"
	else
		echo "FAIL arm64-$name: exit $rc; ${fails:-$(tail -c 300 "$TMP/unit.out")}"
	fi
done
