#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The BTF of the kernels we support, for the CO-RE check (tests/core/run.sh):
# the newest kernel image package of each series is taken from the
# distribution's own package index (by URL: the host's apt sources are
# never touched), its bzImage is unpacked to the vmlinux ELF inside it, and
# that ELF's .BTF section is kept as DIR/NAME.btf. A kernel already in DIR
# is not fetched again (--refresh does), so a second run needs no network.
#
# USAGE
#   tests/core/kernels.sh [-d DIR] [--refresh] [NAME...]
#
# NAME is one of the series below (default: all). One line a kernel on
# stdout, for the runner to read:
#   kernel NAME PATH      the BTF is at PATH
#   SKIP core/NAME: why   an optional kernel that could not be had
#   FAIL core/NAME: why   a required one that could not be had
# Progress goes to stderr. Exit 0 unless a required kernel failed.

set -u -o pipefail

dir=build/kernels
refresh=
names=()
while [ $# -gt 0 ]; do
	case $1 in
	-d) dir=$2; shift 2 ;;
	--refresh) refresh=1; shift ;;
	-h | --help) sed -n '3,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "kernels.sh: unknown option $1" >&2; exit 2 ;;
	*) names+=("$1"); shift ;;
	esac
done

DEBIAN=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
UBUNTU=http://archive.ubuntu.com/ubuntu

# NAME  required|optional  package regex  mirror|suite...
# Debian's signed and unsigned images carry the same vmlinux; the newest
# version over all the suites listed wins. Ubuntu's archive may be out of
# reach (CI): its kernels are optional. RHEL 9's 5.14 has no mirror that
# can be reached from here; Ubuntu's 5.15 is the nearest stand-in.
KERNELS=(
	"5.10 required ^linux-image-5\.10\.0-[0-9]+-amd64-unsigned\$ $SECURITY|bullseye-security $DEBIAN|bullseye"
	"5.15 optional ^linux-image-unsigned-5\.15\.0-[0-9]+-generic\$ $UBUNTU|jammy-updates $UBUNTU|jammy-security"
	"6.1 required ^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?\$ $DEBIAN|bookworm $SECURITY|bookworm-security"
	"6.8 optional ^linux-image-unsigned-6\.8\.0-[0-9]+-generic\$ $UBUNTU|noble-updates $UBUNTU|noble-security"
	"6.12 required ^linux-image-6\.12\.[0-9]+\+deb13-amd64(-unsigned)?\$ $DEBIAN|trixie $SECURITY|trixie-security"
)

mkdir -p "$dir" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/tcptrace-kernels.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

say() { echo "  $*" >&2; }

# fetch URL FILE: quietly, with a bound on time; false on any failure.
fetch() {
	curl -fsSL --connect-timeout 10 --max-time 600 --retry 2 -o "$2" "$1" 2>/dev/null
}

# newest TAG REGEX MIRROR|SUITE...: print "version url sha256" of the newest
# amd64 package whose name matches, over every suite's index (TAG keeps
# the files of kernels fetched side by side apart).
newest() {
	local tag=$1 regex=$2 src mirror suite idx n=0
	shift 2
	for src in "$@"; do
		mirror=${src%%|*}
		suite=${src#*|}
		idx=$work/$tag.index.$((n++))
		fetch "$mirror/dists/$suite/main/binary-amd64/Packages.xz" "$idx.xz" || continue
		# One stanza a package; keep the fields we need, prefixed by the mirror.
		# (The regex goes through the environment: awk -v would eat its backslashes.)
		xz -dc "$idx.xz" | RE=$regex awk -v m="$mirror" '
			BEGIN { re = ENVIRON["RE"] }
			/^Package: / { p = $2 }
			/^Version: / { v = $2 }
			/^Filename: / { f = $2 }
			/^SHA256: / { s = $2 }
			/^$/ { if (p ~ re && f != "") print v, m "/" f, s; p = f = "" }
			END { if (p ~ re && f != "") print v, m "/" f, s }'
	done | sort -V -k1,1 | tail -n 1
}

# vmlinux BZIMAGE OUT: the ELF inside an x86 bzImage. Its setup header
# says where the compressed payload starts (boot protocol 2.08+:
# setup_sects at 0x1f1, payload_offset at 0x248); the payload's own magic
# says how it is compressed. Without a header, look for each magic.
vmlinux() {
	local img=$1 out=$2 sects off cand
	local -a offsets=()

	if [ "$(dd if="$img" bs=1 skip=$((0x202)) count=4 2>/dev/null)" = HdrS ]; then
		sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$img" | tr -d ' ')
		[ "$sects" = 0 ] && sects=4
		off=$(od -An -tu4 -j $((0x248)) -N4 "$img" | tr -d ' ')
		offsets+=($(((sects + 1) * 512 + off)))
	fi
	# xz, zstd, gzip: every place the magic occurs, for when the header
	# is missing or lies.
	offsets+=($(LC_ALL=C grep -aboP '\xfd7zXZ\x00|\x28\xb5\x2f\xfd|\x1f\x8b\x08' "$img" |
		cut -d: -f1 | head -n 20))
	for cand in "${offsets[@]}"; do
		# The payload is followed by the rest of the image: decompress
		# the first stream and ignore what trails it.
		case $(od -An -tx1 -j "$cand" -N4 "$img" | tr -d ' ') in
		fd377a58) tail -c +$((cand + 1)) "$img" | xz -dc --single-stream >"$out" 2>/dev/null ;;
		28b52ffd) tail -c +$((cand + 1)) "$img" | zstd -dcq >"$out" 2>/dev/null ;;
		1f8b08*) tail -c +$((cand + 1)) "$img" | gzip -dc >"$out" 2>/dev/null ;;
		*) continue ;;
		esac
		[ "$(head -c 4 "$out")" = $'\x7fELF' ] && return 0
	done
	return 1
}

# one NAME REQUIRED REGEX SOURCES...: make DIR/NAME.btf, print its line.
one() {
	local name=$1 need=$2 regex=$3 btf=$dir/$1.btf line ver url sum deb img
	shift 3
	local fail=FAIL
	[ "$need" = optional ] && fail=SKIP

	if [ -s "$btf" ] && [ -z "$refresh" ]; then
		echo "kernel $name $btf"
		return 0
	fi
	line=$(newest "$name" "$regex" "$@")
	if [ -z "$line" ]; then
		echo "$fail core/$name: no package index reachable, or no package matches $regex"
		return 1
	fi
	read -r ver url sum <<<"$line"
	say "FETCH    $name: ${url##*/}"
	deb=$work/$name.deb
	if ! fetch "$url" "$deb"; then
		echo "$fail core/$name: cannot download $url"
		return 1
	fi
	if [ -n "$sum" ] && [ "$(sha256sum "$deb" | cut -d' ' -f1)" != "$sum" ]; then
		echo "$fail core/$name: $url does not match the index's SHA256"
		return 1
	fi
	# The image comes first in the package: stop reading at it.
	img=$work/$name.vmlinuz
	dpkg-deb --fsys-tarfile "$deb" 2>/dev/null |
		tar -xO --occurrence=1 --wildcards './boot/vmlinuz-*' >"$img" 2>/dev/null
	rm -f "$deb"
	if ! [ -s "$img" ] || ! vmlinux "$img" "$work/$name.vmlinux"; then
		echo "$fail core/$name: no vmlinux found in ${url##*/}"
		return 1
	fi
	if ! objcopy -O binary --only-section=.BTF "$work/$name.vmlinux" "$work/$name.btf" ||
	   ! [ -s "$work/$name.btf" ]; then
		echo "$fail core/$name: ${url##*/} has no .BTF (a kernel without CONFIG_DEBUG_INFO_BTF)"
		return 1
	fi
	rm -f "$work/$name.vmlinux" "$img"
	chmod 644 "$work/$name.btf" && mv "$work/$name.btf" "$btf" &&
		echo "$ver ${url##*/}" >"$dir/$name.src" || return 1
	echo "kernel $name $btf"
}

# Each kernel in the background: one's download overlaps another's unpacking.
pids=()
wanted=()
for k in "${KERNELS[@]}"; do
	read -r -a f <<<"$k"
	if [ ${#names[@]} -gt 0 ] && [[ " ${names[*]} " != *" ${f[0]} "* ]]; then
		continue
	fi
	one "${f[@]}" >"$work/${f[0]}.result" &
	pids+=($!)
	wanted+=("${f[0]}:${f[1]}")
done
rc=0
for i in "${!pids[@]}"; do
	name=${wanted[$i]%%:*}
	if ! wait "${pids[$i]}" && [ "${wanted[$i]#*:}" = required ]; then
		rc=1
	fi
	cat "$work/$name.result"
done
exit $rc
