#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
marker_scan: does any file hold the lab's payload marker?

The lab's peers fill every payload byte with one 16-byte token, repeated
(tests/peer.c, PAYLOAD_MARKER). The tracer promises that no payload byte
leaves the kernel; this looks for the token in everything it wrote: its
JSON lines, stderr, gzip files (-o FILE.gz, also cut short by a SIGKILL),
recordings (-w: a 16-byte preamble, then a zlib stream), scrapes, OTLP
bodies, and `bpftool -j map dump` output of its maps while it ran.

Each file is searched as it is on disk and, when it is one, decompressed
(gzip members, or a recording's zlib stream, up to where it ends or
breaks). The token is looked for in every spelling an output or a dump
could give it: the bytes themselves, JSON's \\u00XX escapes, hex (bare,
"0x" prefixed, spaced or split across bpftool's arrays and lines, either
case), %XX and base64 (any alignment). In a bpftool dump the "key",
"value" and per-CPU "values" hex arrays are also turned back into bytes.

USAGE
  marker_scan.py --marker TOKEN PATH...      (directories are walked)

One line on stdout per finding: "FILE[ (how read)]: ... at offset N".
Exit 0: no file holds it; 1: some file does; 2: a file could not be read
or decompressed at all (then nothing is proven about it).
"""
import argparse
import base64
import gzip
import json
import os
import re
import sys
import zlib

TTR_MAGIC = b"\x89TTR\r\n\x1a\n"
TTR_PREAMBLE = 16


def spellings(marker):
    """One regular expression for the token in any byte-wise spelling,
    plus the base64 forms (which are not byte-wise)."""
    parts = []
    for b in marker:
        h = "%02x" % b
        alts = [re.escape(bytes([b])), rb"\\u00" + h.encode(),
                rb"(?:0x)?" + h.encode(), rb"%" + h.encode()]
        parts.append(rb"(?:" + rb"|".join(alts) + rb")")
    # separators a hex dump puts between bytes: spaces, newlines, commas,
    # quotes (JSON arrays of "0x6b" strings)
    bytewise = re.compile(rb"[\s,\"']*".join(parts), re.IGNORECASE)
    # base64 groups 3 bytes; whichever of the first three offsets a group
    # starts at, the 12 bytes after it are 4 whole groups
    b64 = [base64.b64encode(marker[k:k + 12]) for k in range(3)]
    return bytewise, b64


def find(blob, bytewise, b64):
    """(offset, spelling) of the first occurrence, or None."""
    m = bytewise.search(blob)
    if m:
        got = m.group(0)
        return m.start(), "as %r" % got[:48]
    for pat in b64:
        at = blob.find(pat)
        if at >= 0:
            return at, "in base64 (%s)" % pat.decode()
    return None


def gunzip(data):
    """Every gzip member's output, a cut-short last one up to its cut."""
    out = []
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out.append(d.decompress(data))
        except zlib.error:
            if not out:
                raise
            break
        data = d.unused_data
        if not d.eof:
            break
    return b"".join(out)


def inflate_ttr(data):
    """A recording's frames, up to where the stream ends or breaks."""
    d = zlib.decompressobj()
    return d.decompress(data[TTR_PREAMBLE:])


def hex_arrays(doc, out):
    """The byte strings of bpftool's hex arrays (["0x6b", "0x51", ...])."""
    if isinstance(doc, list):
        if doc and all(isinstance(x, str) and re.fullmatch(r"0x[0-9a-fA-F]{2}", x)
                       for x in doc):
            out.append(bytes(int(x, 16) for x in doc))
            return
        for x in doc:
            hex_arrays(x, out)
    elif isinstance(doc, dict):
        for x in doc.values():
            hex_arrays(x, out)


def views(path, data):
    """(how, bytes) of each way the file is read."""
    yield "", data
    if data[:2] == b"\x1f\x8b":
        yield " (gunzipped)", gunzip(data)
    if data[:len(TTR_MAGIC)] == TTR_MAGIC:
        yield " (recording inflated)", inflate_ttr(data)
    if path.endswith(".bpftool.json"):
        arrays = []
        hex_arrays(json.loads(data), arrays)
        for i, a in enumerate(arrays):
            yield " (map entry bytes, array %d)" % i, a


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for name in sorted(names):
                    yield os.path.join(root, name)
        else:
            yield p


def main():
    ap = argparse.ArgumentParser(description="look for the payload marker in files")
    ap.add_argument("--marker", required=True)
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    marker = args.marker.encode()
    if len(marker) < 12:
        print("marker_scan: the marker must be at least 12 bytes", file=sys.stderr)
        return 2
    bytewise, b64 = spellings(marker)
    rc = 0
    for path in files(args.paths):
        try:
            with open(path, "rb") as f:
                data = f.read()
            for how, blob in views(path, data):
                hit = find(blob, bytewise, b64)
                if hit:
                    print("%s%s: the payload marker %s at offset %d" %
                          (path, how, hit[1], hit[0]))
                    rc = max(rc, 1)
                    break
        except (OSError, zlib.error, EOFError, ValueError, gzip.BadGzipFile) as e:
            print("%s: cannot read it to look for the marker: %s" % (path, e))
            rc = 2
    return rc


if __name__ == "__main__":
    sys.exit(main())
