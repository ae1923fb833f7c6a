#!/usr/bin/env bash
# Backup and restore benchmark on a release-built runner (profile `local`) and moto:
# seed 100,000 sample-shaped items, run the backup function (as its schedule would) three
# times, then restore the backup three times with `tracseq-local restore` into new tables,
# each verified item by item. Prints durations and items per second.
set -euo pipefail
cd "$(dirname "$0")/../.."

API_PORT=${API_PORT:-3930}
EDGE_PORT=${EDGE_PORT:-4930}
MOTO_PORT=${MOTO_PORT:-4931}
ITEMS=${ITEMS:-100000}
RUNS=${RUNS:-3}
WORK=target/backup-bench
RUNNER_ARGS=()
source infra/scripts/bench-runner.sh
MOTO="http://127.0.0.1:$MOTO_PORT"
EDGE="http://127.0.0.1:$EDGE_PORT"

echo "$MACHINE"
"$VENV/bin/python" infra/scripts/seed_items.py "$MOTO" tracseq-Table "$ITEMS"
ms() { python3 -c "print(round(($2 - $1) * 1000))"; }

echo "== backup of tracseq-Table ($ITEMS seeded items plus the seed), $RUNS runs"
for run in $(seq 1 "$RUNS"); do
  START=$(date +%s.%N)
  curl -fs -X POST "$EDGE/_runner/schedules/tracseq-BackupFunction" > "$WORK/manifest.json"
  END=$(date +%s.%N)
  N=$(json '["tables"][0]["items"]' < "$WORK/manifest.json")
  FILES=$(json '["tables"][0]["files"].__len__()' < "$WORK/manifest.json")
  BYTES=$(python3 -c "import json; m=json.load(open('$WORK/manifest.json')); print(sum(f['bytes'] for f in m['tables'][0]['files']))")
  T=$(ms "$START" "$END")
  echo "backup $run: $N items, $FILES files, $BYTES bytes gzip in $T ms ($(python3 -c "print(round($N / ($T / 1000)))") items/s)"
  ID=$(json '["id"]' < "$WORK/manifest.json")
  sleep 1
done

echo "== restore of backup $ID into a new table (created, written, read back and compared), $RUNS runs"
for run in $(seq 1 "$RUNS"); do
  START=$(date +%s.%N)
  RUST_LOG=error target/local/tracseq-local restore "$ID" --target "bench-restored-$run" --endpoint "$MOTO" > "$WORK/restore.json"
  END=$(date +%s.%N)
  T=$(ms "$START" "$END")
  N=$(json '["items"]' < "$WORK/restore.json")
  echo "restore $run: $N items, exact=$(json '["exact"]' < "$WORK/restore.json") in $T ms ($(python3 -c "print(round($N / ($T / 1000)))") items/s)"
done
