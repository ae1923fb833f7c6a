#!/usr/bin/env bash
# Submission saga benchmark on a release-built runner (profile `local`) and moto's Step
# Functions: a 96-sample and a 384-sample submission, each stored into an empty 16 x 24
# plate, three times; total time (accepted → completed record) and time per step, medians
# of three. It also prints the runner's and moto's CPU seconds over the whole run: locally
# most of the time is moto's (single-process Python), not ours.
set -euo pipefail
cd "$(dirname "$0")/../.."

API_PORT=${API_PORT:-3930}
EDGE_PORT=${EDGE_PORT:-4930}
MOTO_PORT=${MOTO_PORT:-4931}
WORK=target/saga-bench
RUNNER_ARGS=()
source infra/scripts/bench-runner.sh
post() { curl -fs "$API$1" -H "$AUTH" -H 'content-type: application/json' -d "$2"; }

UNIT=$(post /api/storage/locations '{"name":"FRZ-SAGA","kind":"freezer","zone":"freezer"}' | json '["id"]')
RACK=$(post /api/storage/locations "{\"name\":\"R1\",\"kind\":\"rack\",\"parent_id\":\"$UNIT\"}" | json '["id"]')

echo "$MACHINE"
RUNNER_CPU0=$(cpu "$RUNNER"); MOTO_CPU0=$( [ -n "$MOTO_PID" ] && cpu "$MOTO_PID" || echo 0)
for n in 96 384; do
  for run in 1 2 3; do
    PLATE=$(post /api/storage/locations "{\"name\":\"PL-$n-$run\",\"kind\":\"plate\",\"parent_id\":\"$RACK\",\"rows\":16,\"columns\":24}" | json '["id"]')
    BODY=$(python3 -c 'import json, sys; n = int(sys.argv[1]); print(json.dumps({"samples": [{"sample_type": "DNA", "name": f"B{i}"} for i in range(n)], "storage": {"location_ids": [sys.argv[2]]}}))' "$n" "$PLATE")
    ID=$(post /api/submissions "$BODY" | json '["id"]')
    while :; do
      STATE=$(curl -fs "$API/api/submissions/$ID" -H "$AUTH")
      [ "$(echo "$STATE" | json '["status"]')" != running ] && break
      sleep 0.2
    done
    echo "$STATE" > "$WORK/sub-$n-$run.json"
  done
done
RUNNER_CPU1=$(cpu "$RUNNER"); MOTO_CPU1=$( [ -n "$MOTO_PID" ] && cpu "$MOTO_PID" || echo 0)
python3 - "$WORK" <<'PY'
import json, re, statistics, sys
from datetime import datetime
def t(s):  # RFC 3339 with up to nanoseconds; Python takes microseconds
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", s).replace("Z", "+00:00"))
work = sys.argv[1]
for n in (96, 384):
    runs = [json.load(open(f"{work}/sub-{n}-{r}.json")) for r in (1, 2, 3)]
    assert all(r["status"] == "completed" for r in runs), [r["status"] for r in runs]
    total = statistics.median((t(r["ended_at"]) - t(r["created_at"])).total_seconds() for r in runs)
    steps = {}
    for r in runs:
        for s in r["steps"]:
            steps.setdefault(s["name"], []).append((t(s["ended_at"]) - t(s["started_at"])).total_seconds())
    per = ", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in steps.items())
    print(f"{n} samples: total {total:.2f} s (median of 3); {per}")
PY
echo "CPU seconds over all six submissions: runner $(python3 -c "print(round($RUNNER_CPU1 - $RUNNER_CPU0, 1))"), moto $(python3 -c "print(round($MOTO_CPU1 - $MOTO_CPU0, 1))")"
