#!/usr/bin/env bash
# One short run of every JMH benchmark in benchmarks/target/benchmarks.jar (small maps, no
# warm-up, one half-second iteration, uniform keys only): checks that each one runs, not how fast.
# Fails if any benchmark fails.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=java25.sh
. scripts/java25.sh
java=$(find_java) || exit 2
out="$(mktemp -d)"
count=$("$java" -jar benchmarks/target/benchmarks.jar -l | grep -c '^io\.hashkernel')
"$java" -jar benchmarks/target/benchmarks.jar -f 1 -wi 0 -i 1 -r 200ms -foe true \
    -p entries=200000 -p mib=64 -p dist=uniform -rf json -rff "$out/jmh.json" > "$out/jmh.log" 2>&1 \
    || { tail -40 "$out/jmh.log"; exit 1; }
ran=$(grep -o '"benchmark" : "[^"]*"' "$out/jmh.json" | sort -u | wc -l)
if [ "$ran" -ne "$count" ]; then
  echo "FAIL: $ran of $count benchmarks produced a result" >&2; tail -40 "$out/jmh.log"; exit 1
fi
echo "jmh: all $count benchmarks ran ($(grep -c '"benchmark"' "$out/jmh.json") parameter sets; log $out/jmh.log)"
