#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# vmlinux/arm64/vmlinux.h from a Debian arm64 kernel's BTF, on any host.
# `make vmlinux ARCH=arm64` runs it.
#
# An arm64 kernel package ships no ELF vmlinux (that is the huge -dbg
# package): only the boot Image, gzip-compressed in older packages
# (/boot/vmlinuz-*), raw in newer ones (/usr/lib/modules/*/vmlinuz*). The
# kernel's .BTF section is in that Image as it is, a blob that starts with
# the BTF header (magic 0xeB9F, version 1, hdr_len 24, then type_off,
# type_len, str_off, str_len): it is found, cut out, checked by bpftool
# and dumped as C.
#
# USAGE
#   vmlinux/gen-arm64.sh [OUT]          the pinned package below (default OUT:
#                                       vmlinux/arm64/vmlinux.h)
#   LATEST=1 vmlinux/gen-arm64.sh       the newest generic arm64 kernel of
#                                       $SUITE (default sid), from its index
#   KERNEL=FILE vmlinux/gen-arm64.sh    a local .deb, vmlinuz (gzip) or Image
#   vmlinux/gen-arm64.sh --image FILE   no header: the kernel's boot Image,
#                                       uncompressed, to boot under qemu
#   vmlinux/gen-arm64.sh --btf FILE     no header: the raw BTF blob (for
#                                       tests/core's core_check -k)
#
# The pinned package makes the header reproducible: the same bytes give the
# same header. Debian's pool drops a package once its successor is in, so
# when the download fails, LATEST=1 moves to the current one (then update
# the pin and the README's layout).
set -euo pipefail

MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-sid}
PIN_PKG=linux-binary-unsigned-7.2.13+deb14-arm64
PIN_VER=7.2.13-1
PIN_FILE=pool/main/l/linux/linux-binary-unsigned-7.2.13+deb14-arm64_7.2.13-1_arm64.deb
PIN_SHA256=3df0d307696ef1e8c0c47b958a0d328fd0c133bd63eece3e8ffb4781a55f5270

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image_out= btf_out=
case "${1:-}" in
--image) image_out=${2:?--image needs a file name}; set -- ;;
--btf) btf_out=${2:?--btf needs a file name}; set -- ;;
esac
out=${1:-$top/vmlinux/arm64/vmlinux.h}
BPFTOOL=${BPFTOOL:-bpftool}

die() { echo "gen-arm64: $*" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcptrace-vmlinux.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fetch() {	# URL FILE
	if command -v curl >/dev/null; then
		curl -fsSL -o "$2" "$1"
	elif command -v wget >/dev/null; then
		wget -q -O "$2" "$1"
	else
		die "neither curl nor wget (hint: make deps ARCH=arm64)"
	fi
}

# latest: print "package version filename sha256" of the newest generic
# arm64 kernel in $SUITE. Two names: linux-image-VER-arm64-unsigned held
# the Image until Debian split it into linux-binary-unsigned-VER-arm64.
latest() {
	fetch "$MIRROR/dists/$SUITE/main/binary-arm64/Packages.xz" "$tmp/Packages.xz" ||
		die "cannot fetch the $SUITE arm64 index from $MIRROR"
	xz -dc "$tmp/Packages.xz" | awk '
		/^Package: /  { p = $2 }
		/^Version: /  { v = $2 }
		/^Filename: / { f = $2 }
		/^SHA256: /   { s = $2 }
		/^$/ {
			if (p ~ /^linux-binary-unsigned-[0-9][^-]*-arm64$/ ||
			    p ~ /^linux-image-[0-9][^-]*-arm64-unsigned$/)
				print p, v, f, s
			p = v = f = s = ""
		}' >"$tmp/candidates"
	[ -s "$tmp/candidates" ] || die "no generic arm64 kernel in $SUITE's index"
	# the newest by Debian's own version order
	local best= bv= p v f s
	while read -r p v f s; do
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$bv"; then
			best="$p $v $f $s"
			bv=$v
		fi
	done <"$tmp/candidates"
	echo "$best"
}

# ------------------------------------------------------------ the kernel
if [ -n "${KERNEL:-}" ]; then
	[ -r "$KERNEL" ] || die "cannot read $KERNEL"
	src="$(basename "$KERNEL")"
	case "$KERNEL" in
	*.deb) deb=$KERNEL ;;
	*) image_in=$KERNEL ;;
	esac
else
	if [ -n "${LATEST:-}" ]; then
		newest=$(latest) || exit 1
		read -r pkg ver file sha <<<"$newest"
	else
		pkg=$PIN_PKG ver=$PIN_VER file=$PIN_FILE sha=$PIN_SHA256
	fi
	echo "  FETCH    $pkg $ver"
	deb=$tmp/kernel.deb
	fetch "$MIRROR/$file" "$deb" ||
		die "cannot fetch $MIRROR/$file (gone from the pool? LATEST=1 takes the current kernel)"
	echo "$sha  $deb" | sha256sum -c --quiet - >/dev/null 2>&1 ||
		die "$file: SHA256 is not $sha"
	src="Debian $pkg $ver"
fi

if [ -n "${deb:-}" ]; then
	dpkg-deb -x "$deb" "$tmp/deb" || die "$deb: not a Debian package"
	image_in=$(find "$tmp/deb" -type f \( -path '*/boot/vmlinuz*' -o \
		-path '*/lib/modules/*/vmlinuz*' \) | head -n 1)
	[ -n "$image_in" ] || die "$deb holds no vmlinuz (boot/ or usr/lib/modules/)"
fi

# gzip (older packages) or the raw Image. An EFI zboot image (a PE whose
# payload is compressed, "zimg" at offset 4) is not what Debian ships.
case "$(od -An -tx1 -N2 "$image_in" | tr -d ' \n')" in
1f8b) gzip -dc "$image_in" >"$tmp/Image" || die "$image_in: bad gzip stream" ;;
*) cp "$image_in" "$tmp/Image" ;;
esac
bytes_at() { od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }	# FILE OFFSET COUNT, in hex
[ "$(bytes_at "$tmp/Image" 4 4)" != 7a696d67 ] ||
	die "$image_in is an EFI zboot image (\"zimg\"): not supported"
# arm64's Image header: "ARM\x64" at offset 56 (Documentation/arch/arm64/booting.rst)
[ "$(bytes_at "$tmp/Image" 56 4)" = 41524d64 ] ||
	die "$image_in is not an arm64 kernel Image"
if [ -n "$image_out" ]; then
	mv "$tmp/Image" "$image_out"
	echo "  IMAGE    $image_out ($src)"
	exit 0
fi

# ------------------------------------------------------------ the BTF blob
# Every candidate header is checked for sizes that hold together inside the
# file; exactly one must: a second would mean we cannot tell which is the
# kernel's own.
perl -e '
	my ($in, $out) = @ARGV;
	open(my $fh, "<:raw", $in) or die "gen-arm64: $in: $!\n";
	local $/;
	my $img = <$fh>;
	my @found;
	my $magic = "\x9f\xeb\x01";	# 0xeB9F little-endian, then version 1
	for (my $at = index($img, $magic); $at >= 0; $at = index($img, $magic, $at + 1)) {
		my ($flags, $hdr_len, $type_off, $type_len, $str_off, $str_len) =
			unpack("x3 C V5", substr($img, $at, 24));
		next unless defined $str_len && $hdr_len == 24 && $flags == 0;
		# the string section follows the types: both inside the blob
		next unless $type_off + $type_len <= $str_off && $str_len > 0;
		my $size = $hdr_len + $str_off + $str_len;
		next if $at + $size > length($img);
		# a string section starts with the empty string and ends with a NUL
		next unless substr($img, $at + $hdr_len + $str_off, 1) eq "\0" &&
			    substr($img, $at + $size - 1, 1) eq "\0";
		push @found, [$at, $size];
	}
	die "gen-arm64: no BTF blob in the Image\n" unless @found;
	die sprintf("gen-arm64: %d BTF blobs in the Image, cannot tell which\n", scalar @found)
		if @found > 1;
	my ($at, $size) = @{$found[0]};
	open(my $o, ">:raw", $out) or die "gen-arm64: $out: $!\n";
	print $o substr($img, $at, $size);
	close($o) or die "gen-arm64: $out: $!\n";
	printf "  BTF      %d bytes at offset 0x%x of the Image\n", $size, $at;
' "$tmp/Image" "$tmp/btf"

if [ -n "$btf_out" ]; then
	"$BPFTOOL" btf dump file "$tmp/btf" >/dev/null || die "bpftool refuses the BTF cut from $image_in"
	mv "$tmp/btf" "$btf_out"
	echo "  BTF      $btf_out ($src)"
	exit 0
fi

# bpftool parses every type: a blob cut at the wrong place does not survive it.
"$BPFTOOL" btf dump file "$tmp/btf" format c >"$tmp/vmlinux.h" ||
	die "bpftool refuses the BTF cut from $image_in"
# and it is arm64's: its pt_regs carries the syscall's first argument twice
grep -q 'orig_x0;' "$tmp/vmlinux.h" || die "the BTF has no arm64 struct pt_regs"

mkdir -p "$(dirname "$out")"
{
	echo "/* Generated by vmlinux/gen-arm64.sh from $src (arm64). */"
	cat "$tmp/vmlinux.h"
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "  GEN      $out"
