#!/usr/bin/env bash
# Export benchmark on a release-built runner (profile `local`) and moto: a lab's samples
# (SAMPLES, default 20,000) are written straight into the table, then the whole sample list
# is exported three times as CSV (and once as XLSX) through the queued worker: POST, poll
# until done, download through the presigned link and count the rows. Prints moto's and
# the runner's CPU seconds. Issue 20 asks for 100,000 rows in < 30 s locally; moto answers
# each Query page by walking every item of the table and sorting the partition, so an
# export's time grows with the square of the rows locally (3,000 in 2.5 s, 20,000 in 35 s;
# 100,000 would take about a quarter of an hour, after 11 minutes of seeding). The
# export's own work is measured apart (criterion, `export_100k_rows`).
set -euo pipefail
cd "$(dirname "$0")/../.."

API_PORT=${API_PORT:-3950}
EDGE_PORT=${EDGE_PORT:-4950}
MOTO_PORT=${MOTO_PORT:-4951}
WORK=target/export-bench
SAMPLES=${SAMPLES:-20000}
RUNNER_ARGS=()
source infra/scripts/bench-runner.sh
LAB=$(curl -fs "$API/api/users/me" -H "$AUTH" | json '["lab_id"]')

echo "$MACHINE"
"$VENV/bin/python" infra/scripts/seed_samples.py "http://127.0.0.1:$MOTO_PORT" tracseq-Table "$LAB" "$SAMPLES"

export_once() {
  local format=$1 started location status rows url
  started=$(date +%s.%N)
  location=$(curl -sS -D - -o "$WORK/started.json" -X POST "$API/api/samples/exports?format=$format" -H "$AUTH" \
    | awk 'tolower($1) == "location:" {print $2}' | tr -d '\r')
  [ -n "$location" ] || { echo "the export did not start: $(cat "$WORK/started.json")" >&2; exit 1; }
  while :; do
    curl -sS "$API$location" -H "$AUTH" -o "$WORK/status.json"
    read -r status rows url < <(python3 -c 'import sys, json; v = json.load(open(sys.argv[1])); print(v.get("status", "error"), v.get("rows", 0), v.get("url", "-"))' "$WORK/status.json")
    [ "$status" = running ] || break
    sleep 0.2
  done
  [ "$status" = done ] || { echo "export ended $status: $(cat "$WORK/status.json")" >&2; exit 1; }
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
