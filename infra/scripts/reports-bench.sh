#!/usr/bin/env bash
# Reports benchmark on a release-built runner (profile `local`) and moto: the counters a
# lab's year of 100,000 samples leaves are written straight into the table (as the
# consumer would have folded them), then the year's `received` report is asked 50 times
# each by month, by week and by day, and `status` (running totals). Target (issue 20):
# a year's report < 100 ms locally. Prints moto's and the runner's CPU seconds: locally
# the data path is moto's (single-process Python).
set -euo pipefail
cd "$(dirname "$0")/../.."

API_PORT=${API_PORT:-3940}
EDGE_PORT=${EDGE_PORT:-4940}
MOTO_PORT=${MOTO_PORT:-4941}
WORK=target/reports-bench
SAMPLES=${SAMPLES:-100000}
RUNNER_ARGS=()
source infra/scripts/bench-runner.sh
LAB=$(curl -fs "$API/api/users/me" -H "$AUTH" | json '["lab_id"]')

echo "$MACHINE"
"$VENV/bin/python" infra/scripts/seed_report_counters.py "http://127.0.0.1:$MOTO_PORT" tracseq-Table "$LAB" "$SAMPLES"
TO=$(date -u +%F)
FROM=$(date -u -d "$TO - 364 days" +%F)
TOTAL=$(curl -fs "$API/api/reports/received?from=$FROM&to=$TO&group=month" -H "$AUTH" \
  | python3 -c 'import sys, json; print(int(sum(r["values"]["count"] for r in json.load(sys.stdin)["rows"])))')
[ "$TOTAL" = "$SAMPLES" ] || { echo "the year's report counts $TOTAL samples, not $SAMPLES" >&2; exit 1; }
echo "the year's report counts all $TOTAL samples"
RUNNER_CPU0=$(cpu "$RUNNER"); MOTO_CPU0=$( [ -n "$MOTO_PID" ] && cpu "$MOTO_PID" || echo 0)
for group in month week day; do
  echo "== GET /api/reports/received, $FROM to $TO by $group, 1 connection, 50 requests"
  "$OHA" --no-tui -n 50 -c 1 -H "$AUTH" "$API/api/reports/received?from=$FROM&to=$TO&group=$group" | grep -E "Slowest|Fastest|50.00%|90.00%|\[[0-9]{3}\]"
done
echo "== GET /api/reports/status (running totals), 1 connection, 50 requests"
"$OHA" --no-tui -n 50 -c 1 -H "$AUTH" "$API/api/reports/status" | grep -E "50.00%|90.00%|\[[0-9]{3}\]"
RUNNER_CPU1=$(cpu "$RUNNER"); MOTO_CPU1=$( [ -n "$MOTO_PID" ] && cpu "$MOTO_PID" || echo 0)
echo "CPU seconds over the 200 requests: runner $(python3 -c "print(round($RUNNER_CPU1 - $RUNNER_CPU0, 2))"), moto $(python3 -c "print(round($MOTO_CPU1 - $MOTO_CPU0, 2))")"
