#!/usr/bin/env bash
# End-to-end import benchmark on a release-built runner (profile `local`) and moto:
# upload a 10,000-row manifest through a presigned URL, import it, time until the import
# reports `completed`, then measure listing pages of 1,000 and 50 samples with oha.
set -euo pipefail
cd "$(dirname "$0")/../.."

API_PORT=${API_PORT:-3910}
EDGE_PORT=${EDGE_PORT:-4910}
MOTO_PORT=${MOTO_PORT:-4911}
ROWS=${ROWS:-10000}
WORK=target/import-bench
RUNNER_ARGS=()
source infra/scripts/bench-runner.sh

TEMPLATE=$(python3 - <<'PY'
import json
print(json.dumps({"name": "Bench manifest", "fields": [
  {"name": "sample_id", "label": "Sample_ID", "type": "text", "required": True, "maps_to": "barcode"},
  {"name": "patient_id", "label": "Patient_ID", "type": "text", "required": True, "rules": {"pattern": "P[0-9]{5}"}},
  {"name": "sample_type", "label": "Sample_Type", "type": "select", "required": True, "maps_to": "sample_type", "options": ["Blood", "Saliva", "Tissue", "Urine"]},
  {"name": "collection_date", "label": "Collection_Date", "type": "date", "required": True, "maps_to": "collection_date"},
  {"name": "submitter", "label": "Submitter", "type": "text", "required": True, "maps_to": "submitter"},
  {"name": "priority", "label": "Priority", "type": "select", "maps_to": "priority", "options": ["low", {"value": "normal", "aliases": ["Medium"]}, "high", "urgent"]},
  {"name": "volume", "label": "Volume_mL", "type": "number", "maps_to": "volume", "rules": {"unit": "mL"}},
  {"name": "concentration", "label": "Concentration_ng_uL", "type": "number", "maps_to": "concentration", "rules": {"unit": "ng/µL"}},
  {"name": "notes", "label": "Notes", "type": "text", "maps_to": "notes"}]}))
PY
)
TID=$(curl -fs "$API/api/templates" -H "$AUTH" -H 'content-type: application/json' -d "$TEMPLATE" | json '["id"]')
curl -fs -X POST "$API/api/templates/$TID/publish" -H "$AUTH" > /dev/null

python3 - "$ROWS" > "$WORK/manifest.csv" <<'PY'
import sys
rows = int(sys.argv[1])
print("Sample_ID,Patient_ID,Sample_Type,Collection_Date,Submitter,Priority,Volume_mL,Concentration_ng_uL,Notes")
for i in range(rows):
    kind = ["Blood", "Saliva", "Tissue", "Urine"][i % 4]
    print(f"BENCH{i:07d},P{i % 100000:05d},{kind},2024-01-15,Dr. Smith,{['High', 'Medium', 'Low'][i % 3]},2.5,250.5,Standard processing")
PY
UPLOAD=$(curl -fs "$API/api/uploads" -H "$AUTH" -H 'content-type: application/json' \
  -d '{"filename":"manifest.csv","content_type":"text/csv"}')
curl -fs -X PUT "$(echo "$UPLOAD" | json '["url"]')" -H 'content-type: text/csv' --data-binary "@$WORK/manifest.csv" > /dev/null
KEY=$(echo "$UPLOAD" | json '["object_key"]')

echo "$MACHINE"
START=$(date +%s.%N)
IMPORT=$(curl -fs "$API/api/imports" -H "$AUTH" -H 'content-type: application/json' \
  -d "{\"template_id\":\"$TID\",\"object_key\":\"$KEY\"}" | json '["id"]')
while :; do
  STATUS=$(curl -fs "$API/api/imports/$IMPORT" -H "$AUTH" | json '["status"]')
  case "$STATUS" in completed|failed) break ;; esac
  sleep 0.2
done
END=$(date +%s.%N)
echo "== import of $ROWS rows: $STATUS in $(python3 -c "print(round($END - $START, 1))") s (upload excluded)"
# Let the sample.created events finish before measuring reads.
while [ "$(curl -fs "$API/api/imports/$IMPORT" -H "$AUTH" | json '["events_written"]')" != "$ROWS" ]; do sleep 0.5; done
echo
echo "== GET /api/samples?limit=1000 (a page of 1,000 of $ROWS), 1 connection, 30 requests"
"$OHA" --no-tui -n 30 -c 1 -H "$AUTH" "$API/api/samples?limit=1000" | grep -E "Requests/sec|Slowest|Fastest|50.00%|99.00%|\[[0-9]{3}\]"
echo "== GET /api/samples?limit=50, 1 connection, 100 requests"
"$OHA" --no-tui -n 100 -c 1 -H "$AUTH" "$API/api/samples?limit=50" | grep -E "Requests/sec|50.00%|99.00%|\[[0-9]{3}\]"
echo "== GET /api/samples/by-barcode/BENCH0005000, 1 connection, 200 requests"
"$OHA" --no-tui -n 200 -c 1 -H "$AUTH" "$API/api/samples/by-barcode/BENCH0005000" | grep -E "Requests/sec|50.00%|99.00%|\[[0-9]{3}\]"
