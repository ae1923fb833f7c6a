#!/usr/bin/env bash
# Export benchmark on a release-built runner (profile `local`) and moto: a lab's 100,000
# samples are written straight into the table, then the whole sample list is exported
# three times as CSV (and once as XLSX) through the queued worker: POST, poll until done,
# download through the presigned link and count the rows. Target (issue 20): a
# 100,000-row CSV export < 30 s locally. Prints moto's and the runner's CPU seconds: locally
# the data path is moto's (single-process Python).
set -euo pipefail
cd "$(dirname "$0")/../.."

API_PORT=${API_PORT:-3950}
EDGE_PORT=${EDGE_PORT:-4950}
MOTO_PORT=${MOTO_PORT:-4951}
WORK=target/export-bench
SAMPLES=${SAMPLES:-100000}
RUNNER_ARGS=()
source infra/scripts/bench-runner.sh
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
MOTO_PID=$(pgrep -P "$RUNNER" -f moto || true)
LAB=$(curl -fs "$API/api/users/me" -H "$AUTH" | json '["lab_id"]')

echo "$MACHINE"
"$VENV/bin/python" infra/scripts/seed_samples.py "http://127.0.0.1:$MOTO_PORT" tracseq-Table "$LAB" "$SAMPLES"

export_once() {
  local format=$1 started location status rows url
  started=$(date +%s.%N)
  location=$(curl -fs -D - -o /dev/null -X POST "$API/api/samples/exports?format=$format" -H "$AUTH" \
    | awk 'tolower($1) == "location:" {print $2}' | tr -d '\r')
  while :; do
    read -r status rows url < <(curl -fs "$API$location" -H "$AUTH" \
      | python3 -c 'import sys, json; v = json.load(sys.stdin); print(v["status"], v["rows"], v.get("url", "-"))')
    [ "$status" = running ] || break
    sleep 0.2
  done
  [ "$status" = done ] || { echo "export ended $status" >&2; exit 1; }
  local secs
  secs=$(python3 -c "import time; print(round(time.time() - $started, 2))")
  curl -fs "$url" -o "$WORK/export.$format"
  if [ "$format" = csv ]; then
    local lines
    lines=$(python3 -c "import csv, sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline='', encoding='utf-8'))) - 1)" "$WORK/export.csv")
    [ "$lines" = "$SAMPLES" ] || { echo "the file holds $lines rows, not $SAMPLES" >&2; exit 1; }
  fi
  echo "$format export of $rows rows: ${secs} s ($(du -h "$WORK/export.$format" | cut -f1))"
}

RUNNER_CPU0=$(cpu "$RUNNER"); MOTO_CPU0=$( [ -n "$MOTO_PID" ] && cpu "$MOTO_PID" || echo 0)
for _ in 1 2 3; do export_once csv; done
RUNNER_CPU1=$(cpu "$RUNNER"); MOTO_CPU1=$( [ -n "$MOTO_PID" ] && cpu "$MOTO_PID" || echo 0)
echo "CPU seconds over the three CSV exports: runner $(python3 -c "print(round($RUNNER_CPU1 - $RUNNER_CPU0, 2))"), moto $(python3 -c "print(round($MOTO_CPU1 - $MOTO_CPU0, 2))")"
export_once xlsx
