#!/usr/bin/env bash
# Storage benchmark on a release-built runner (profile `local`) and moto: fill a 16 x 24
# plate with four racks of 96 (timing each bulk placement), then measure the box map of
# the full plate with oha. Targets (issue 5): map < 50 ms, a rack of 96 < 1 s.
set -euo pipefail
cd "$(dirname "$0")/../.."

API_PORT=${API_PORT:-3920}
EDGE_PORT=${EDGE_PORT:-4920}
MOTO_PORT=${MOTO_PORT:-4921}
WORK=target/storage-bench
RUNNER_ARGS=()
source infra/scripts/bench-runner.sh
post() { curl -fs "$API$1" -H "$AUTH" -H 'content-type: application/json' -d "$2"; }

UNIT=$(post /api/storage/locations '{"name":"FRZ-B","kind":"freezer","zone":"ultra_low"}' | json '["id"]')
RACK=$(post /api/storage/locations "{\"name\":\"R1\",\"kind\":\"rack\",\"parent_id\":\"$UNIT\"}" | json '["id"]')
PLATE=$(post /api/storage/locations "{\"name\":\"PL-384\",\"kind\":\"plate\",\"parent_id\":\"$RACK\",\"rows\":16,\"columns\":24}" | json '["id"]')

echo "$MACHINE"
echo "== four racks of 96 into a 16 x 24 plate (one request each, all or nothing)"
for rack in 1 2 3 4; do
  IDS=$(post /api/samples/batch "$(python3 -c 'import json; print(json.dumps({"samples": [{"sample_type": "DNA"}] * 96}))')" \
    | python3 -c 'import sys, json; print(" ".join(r["sample"]["id"] for r in json.load(sys.stdin)["results"]))')
  for id in $IDS; do
    curl -fs "$API/api/samples/$id/transitions" -H "$AUTH" -H 'content-type: application/json' -d '{"to":"validated"}' > /dev/null
  done
  BODY=$(python3 -c 'import json, sys; print(json.dumps({"location_id": sys.argv[1], "auto": True, "items": [{"sample_id": i} for i in sys.argv[2:]]}))' "$PLATE" $IDS)
  START=$(date +%s.%N)
  N=$(post /api/storage/placements "$BODY" | json '["items"].__len__()')
  END=$(date +%s.%N)
  echo "rack $rack: $N placed in $(python3 -c "print(round(($END - $START) * 1000))") ms"
done
echo "== GET /api/storage/locations/{plate}/map (384 of 384 taken), 1 connection, 100 requests"
"$OHA" --no-tui -n 100 -c 1 -H "$AUTH" "$API/api/storage/locations/$PLATE/map" | grep -E "Requests/sec|Slowest|Fastest|50.00%|99.00%|\[[0-9]{3}\]"
echo "== GET /api/storage/capacity, 1 connection, 100 requests"
"$OHA" --no-tui -n 100 -c 1 -H "$AUTH" "$API/api/storage/capacity" | grep -E "50.00%|99.00%|\[[0-9]{3}\]"
