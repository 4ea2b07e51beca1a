# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What an OTLP/HTTP JSON body breaks of the Protobuf JSON mapping the OTLP
# spec requires, one line a problem (nothing: it complies):
#  - every object key lowerCamelCase (attribute names are values, not keys);
#  - 64-bit integers (fixed64 times, int64/uint64 values and counts, every
#    histogram bucket count) as decimal strings;
#  - enums (aggregationTemporality, severityNumber) as integers.
def int64: ["timeUnixNano", "startTimeUnixNano", "observedTimeUnixNano", "asInt", "count",
	    "intValue"];
def enums: ["aggregationTemporality", "severityNumber"];
(
	[paths | .[-1] | select(type == "string")] | unique[] |
	select(test("^[a-z][a-zA-Z0-9]*$") | not) | "key not lowerCamelCase: \(.)"
),
(
	paths(scalars) as $p | getpath($p) as $v | $p[-1] as $k |
	if ($k | type) == "string" and (int64 | index($k)) != null then
		if ($v | type) != "string" or ($v | test("^-?[0-9]+$") | not)
		then "\($k) is not a decimal string: \($v | tojson)" else empty end
	elif ($k | type) == "number" and $p[-2] == "bucketCounts" then
		if ($v | type) != "string" or ($v | test("^[0-9]+$") | not)
		then "a bucketCounts item is not a decimal string: \($v | tojson)" else empty end
	elif ($k | type) == "string" and (enums | index($k)) != null then
		if ($v | type) != "number" or ($v | floor) != $v
		then "\($k) is not an integer: \($v | tojson)" else empty end
	else empty end
)
