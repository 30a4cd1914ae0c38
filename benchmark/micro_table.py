#!/usr/bin/python3
"""Turns Google Benchmark JSON (stdin) into a Markdown table with each cleori
row's ratio to its baseline in the same run."""
import json
import sys

data = json.load(sys.stdin)
# A benchmark that reported an error (a baseline whose result differs from
# cleori's) has no time worth printing.
errors = ["%s: %s" % (b["name"], b.get("error_message", "")) for b in data["benchmarks"] if b.get("error_occurred")]
if errors:
    sys.exit("micro_table.py: " + "; ".join(errors))
rows = {b["name"]: b["cpu_time"] for b in data["benchmarks"]}
pairs = [("encode_telemetry_cleori", "encode_telemetry_nlohmann", "encode one telemetry sample"),
         ("decode_activations_cleori/1", "decode_activations_nlohmann/1", "decode a poll page, 1 activation"),
         ("decode_activations_cleori/20", "decode_activations_nlohmann/20", "decode a poll page, 20 activations"),
         ("rfc3339_format", "rfc3339_format_strftime", "format an RFC 3339 timestamp"),
         ("rfc3339_parse", "rfc3339_parse_strptime", "parse an RFC 3339 timestamp")]
print("| operation | cleori (ns) | baseline | baseline (ns) | cleori ÷ baseline |")
print("|---|---|---|---|---|")
for ours, theirs, what in pairs:
    base = "nlohmann/json" if "nlohmann" in theirs else ("strftime" if "strftime" in theirs else "strptime + timegm")
    print("| %s | %.0f | %s | %.0f | %.2f |" % (what, rows[ours], base, rows[theirs], rows[ours] / rows[theirs]))
